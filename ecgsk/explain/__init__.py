"""Why a pipeline predicts what it does: relevance of each lead and sample of a record.

- :func:`saliency`: gradient of a class logit with respect to every input
  sample (lead-resolved), for the networks of :mod:`ecgsk.nets`;
- :func:`grad_cam`: 1-D Grad-CAM on the feature map a network pools
  globally (found by :func:`find_cam_layer`; see
  :mod:`ecgsk.explain._gradients` for where it looks in each network and
  how 2-D maps go back to leads and samples);
- :func:`permutation_importance_signal`: model-agnostic importance of
  every lead × time segment (the score drop when it is shuffled across
  records), for the classic baselines and any other pipeline;
- :func:`explain`: any of them on a fitted ecgsk pipeline (a network's
  preceding steps are applied first), as an :class:`Explanation`;
- :func:`log_explanations`: one PNG per record, the record drawn one panel
  per lead with its relevance behind (:func:`ecgsk.plots.plot_relevance`),
  logged to the active MLflow run. ``python -m ecgsk.compare --explain N``
  logs them for N test records of every pipeline under ``explain/``.

Examples
--------
>>> import numpy as np
>>> from ecgsk.nets import ECGCNN
>>> from ecgsk.explain import grad_cam
>>> from ecgsk.plots import plot_relevance
>>> net = ECGCNN(in_channels=12, n_classes=5, filters=(8, 16), kernel_sizes=(7, 5))
>>> X = np.random.randn(2, 12, 1000).astype("float32")
>>> relevance, explained_class = grad_cam(net, X)
>>> fig = plot_relevance(X[0], relevance[0], sampling_rate=100)
"""

from ._explain import METHODS, Explanation, explain, log_explanations
from ._gradients import find_cam_layer, grad_cam, saliency, target_classes
from ._permutation import (
    SignalPermutationImportance,
    auroc_score,
    permutation_importance_signal,
)

__all__ = [
    "saliency",
    "grad_cam",
    "find_cam_layer",
    "target_classes",
    "permutation_importance_signal",
    "SignalPermutationImportance",
    "auroc_score",
    "explain",
    "Explanation",
    "log_explanations",
    "METHODS",
]
