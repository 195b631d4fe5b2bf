"""Validation metrics for skorch's epoch log, and a stop for a diverged training.

:class:`~ecgsk.neural.ECGNetClassifier` logs one validation metric per epoch
next to the losses: the accuracy (``valid_acc``) for single-label targets and
the macro ROC AUC over labels (``valid_auroc``) for multi-label targets.
Both are used through :class:`skorch.callbacks.EpochScoring` with skorch's
prediction caching, so they cost no extra forward pass: ``net.forward_iter``
then replays the logits of the validation steps.

Those two read the targets as the net trains on them (class indices). A
user's own scoring callback, such as ``EpochScoring("accuracy")``, compares
them with ``predict``, which gives labels: :class:`DecodedTargets` turns the
targets back into labels for it, and :class:`LabelledTestData` finds them
when the callback does not cache predictions (``use_caching=False``).
"""

import math
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.utils import to_numpy

from ._sampling import dataset_labels

__all__ = ["valid_accuracy", "valid_macro_auroc", "DecodedTargets", "LabelledTestData",
           "FiniteLoss", "TrainingDiverged"]


def _proba(net, X):
    # On the CPU: skorch's cached replay yields the logits on net.device unless told,
    # and a GPU's cannot become numpy arrays (every validated fit on CUDA failed).
    logits = torch.cat([yp.float() for yp in
                        net.forward_iter(X, training=False, device="cpu")])
    return net._logits_to_proba(logits).numpy()


def valid_accuracy(net, X, y):
    """Accuracy of ``net`` on ``X`` against encoded single-label targets ``y``.

    ``y`` holds the targets as the net trains on them (class indices, or 0/1
    for a binary target with one logit); the binary decision uses the net's
    ``threshold``, with one logit or two.
    """
    proba = _proba(net, X)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if net.target_type_ == "binary":
        pred = (proba[:, 1] >= net._binary_threshold()).astype(np.int64)
    else:
        pred = proba.argmax(axis=1)
    return float(np.mean(pred == y))


def valid_macro_auroc(net, X, y):
    """Macro ROC AUC of ``net`` on ``X`` over the labels of a 0/1 matrix ``y``.

    Labels that are all positive or all negative in ``y`` (common in small
    validation splits) have no ROC AUC; they are left out of the average, and
    the score is NaN when no label is left.
    """
    from sklearn.metrics import roc_auc_score

    proba = _proba(net, X)
    y = np.asarray(y).reshape(len(proba), -1) > 0.5
    keep = y.any(axis=0) & (~y).any(axis=0)
    if not keep.any():
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(roc_auc_score(y[:, keep], proba[:, keep], average="macro"))


class TrainingDiverged(ValueError):
    """A training or validation loss became NaN or infinite."""


class DecodedTargets:
    """A scoring callback's ``target_extractor``: encoded targets back to labels.

    For single-label targets, the class indices the net trains on become the
    labels of ``net.classes_``, as ``predict`` gives them; a multi-label 0/1
    matrix is its own label matrix and is returned as it is.

    Parameters
    ----------
    net : ECGNetClassifier
        The net whose ``classes_`` and ``target_type_`` are read at each call.
    """

    def __init__(self, net):
        self.net = net

    def __call__(self, y):
        y = to_numpy(y)
        if self.net.target_type_ == "multilabel-indicator":
            return y
        return self.net.classes_[np.asarray(y).astype(np.int64).reshape(-1)]


class LabelledTestData:
    """An ``EpochScoring``'s ``get_test_data`` that finds the labels of ecgsk's datasets.

    Without prediction caching (``use_caching=False``) skorch reads the
    labels only from its own ``skorch.dataset.Dataset``, so the scorer would
    get ``y=None`` for ecgsk's datasets. This reads them from the dataset's
    ``.y`` (through ``Subset``\\ s) and passes them through the callback's
    ``target_extractor``.

    Parameters
    ----------
    callback : skorch.callbacks.EpochScoring
        The callback (a copy the net owns) whose class's ``get_test_data``
        is wrapped.
    """

    def __init__(self, callback):
        self.callback = callback

    def __call__(self, dataset_train, dataset_valid, use_caching):
        # The class's method: the instance's attribute is this object.
        X_test, y_test, y_pred = type(self.callback).get_test_data(
            self.callback, dataset_train, dataset_valid, use_caching)
        if y_test is None and not use_caching:
            y = dataset_labels(X_test)
            if y is not None:
                y_test = self.callback.target_extractor(y)
        return X_test, y_test, y_pred


class FiniteLoss(Callback):
    """Stop the training, with an error, at the first epoch whose loss is not finite.

    A diverged network (a learning rate too high, an input of extreme
    values) would otherwise train on to ``max_epochs`` and predict NaN
    probabilities, which ``predict`` reads as the first class for every
    record. As scikit-learn's ``MLPClassifier``, the fit fails instead.
    With float16 mixed precision a batch whose loss overflows is skipped by
    the loss scaler; its epoch's training loss is then not finite although
    the weights are, which is not a divergence.
    """

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        for key in ("train_loss", "valid_loss"):
            value = row.get(key)
            if value is None or math.isfinite(value):
                continue
            if (key == "train_loss" and getattr(net, "grad_scaler_", None) is not None
                    and all(torch.isfinite(p).all() for p in net.module_.parameters())):
                continue  # float16 overflowed in a batch, and the scaler skipped its step
            raise TrainingDiverged(
                f"{type(net).__name__}: the training diverged: {key} is {value} at epoch "
                f"{row['epoch']}. Lower lr, set grad_clip, or check the input for extreme "
                "values.")
