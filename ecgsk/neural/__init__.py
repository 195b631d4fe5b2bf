"""The skorch estimator for ECG networks, and its loss.

:class:`ECGNetClassifier` trains any torch module that maps ECG batches
``(batch, n_leads, n_samples)`` to logits as a scikit-learn classifier for
binary, multiclass and multi-label targets. :class:`FocalLoss` is the focal
loss used by ``criterion="focal"``. :func:`set_validation` makes the
networks of any estimator validate on chosen records (PTB-XL's fold 9).
:func:`checkpoints` makes every network fitted in a block checkpoint its
training at each epoch, so that the same fit, run again after a crash or
Ctrl-C, resumes where it stopped.

Importing this package imports torch and skorch.
"""

from ._checkpoint import checkpoints
from ._classifier import ECGNetClassifier
from ._losses import FocalLoss
from ._split import MarkedSplit, set_validation

__all__ = ["ECGNetClassifier", "FocalLoss", "set_validation", "MarkedSplit", "checkpoints"]
