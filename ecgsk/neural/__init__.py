"""The skorch estimator for ECG networks, and its loss.

:class:`ECGNetClassifier` trains any torch module that maps ECG batches
``(batch, n_leads, n_samples)`` to logits as a scikit-learn classifier for
binary, multiclass and multi-label targets. :class:`FocalLoss` is the focal
loss used by ``criterion="focal"``. :func:`set_validation` makes the
networks of any estimator validate on chosen records (PTB-XL's fold 9).

Importing this package imports torch and skorch.
"""

from ._classifier import ECGNetClassifier
from ._losses import FocalLoss
from ._split import MarkedSplit, set_validation

__all__ = ["ECGNetClassifier", "FocalLoss", "set_validation", "MarkedSplit"]
