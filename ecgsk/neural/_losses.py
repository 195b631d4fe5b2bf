"""Losses on logits for ECG classification, and balanced loss weights.

:class:`FocalLoss` is the focal loss of Lin et al. (2017), as used by SE-ECGNet
for imbalanced ECG classes, in three modes: ``"binary"`` and ``"multilabel"``
(a sigmoid per output) and ``"multiclass"`` (a softmax over the outputs).
:func:`balanced_loss_weights` turns training labels into the ``pos_weight`` /
``weight`` tensors that ``class_weight="balanced"`` passes to the criterion.
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FocalLoss", "balanced_loss_weights"]

_MODES = ("binary", "multilabel", "multiclass")
_REDUCTIONS = ("mean", "sum", "none")


def _as_float_tensor(value, name):
    if value is None:
        return None
    try:
        tensor = torch.as_tensor(np.asarray(value, dtype=np.float32))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be None or an array of numbers, got {value!r}.") from None
    if tensor.ndim > 1 or not torch.isfinite(tensor).all() or (tensor < 0).any():
        raise ValueError(
            f"{name} must be a scalar or a 1-D array of finite, non-negative "
            f"numbers, got {value!r}."
        )
    return tensor


class FocalLoss(nn.Module):
    r"""Focal loss on logits (Lin et al., 2017).

    The focal loss down-weights well-classified examples by a factor
    :math:`(1 - p_t)^\gamma`, so that training concentrates on the hard
    ones; SE-ECGNet uses it, with balanced sampling, against the imbalance of
    normal and abnormal records.

    With :math:`p = \sigma(z)` for a logit :math:`z` and a target
    :math:`y \in [0, 1]`, the sigmoid modes (``"binary"``, ``"multilabel"``)
    compute, per output,

    .. math::

        \ell = -\alpha\, w_+\, y\, (1 - p)^\gamma \log p
               - (1 - \alpha)(1 - y)\, p^\gamma \log(1 - p),

    which for hard labels is :math:`-\alpha_t (1 - p_t)^\gamma \log p_t`.
    The ``"multiclass"`` mode uses :math:`p = \mathrm{softmax}(z)` and
    :math:`\ell = -\alpha_y\, w_y\, (1 - p_y)^\gamma \log p_y`.
    With ``gamma=0`` the loss is the (alpha-weighted) binary cross-entropy or
    the (weighted) cross-entropy.

    Parameters
    ----------
    alpha : float, array-like or None, default=0.25
        Class balance factor.

        - Sigmoid modes: a float in [0, 1], the weight of the positive term
          (the negative term gets ``1 - alpha``); ``None`` weights both by 1.
        - ``"multiclass"``: ``None`` (no weighting), a float (a constant
          factor on every class, i.e. a rescaling of the loss) or an array of
          ``n_classes`` per-class factors :math:`\alpha_y`.
    gamma : float, default=2.0
        Focusing parameter, ``>= 0``. ``0`` gives the cross-entropy.
    mode : {"binary", "multilabel", "multiclass"}, default="binary"
        ``"binary"``: logits of shape ``(n,)`` or ``(n, 1)`` and targets of the
        same shape. ``"multilabel"``: logits and 0/1 targets of shape
        ``(n, n_labels)``. ``"multiclass"``: logits ``(n, n_classes)`` and
        integer class indices ``(n,)``.
    reduction : {"mean", "sum", "none"}, default="mean"
        ``"mean"`` averages over all outputs in the sigmoid modes and divides
        by the summed weights of the targets in ``"multiclass"`` mode (as
        :class:`torch.nn.CrossEntropyLoss` does).
    weight : array-like or None, default=None
        Sigmoid modes: a rescaling per label (broadcast over the last axis).
        ``"multiclass"``: a weight per class, as in
        :class:`torch.nn.CrossEntropyLoss`.
    pos_weight : array-like or None, default=None
        Sigmoid modes only: a weight :math:`w_+` of the positive term per
        label, as in :class:`torch.nn.BCEWithLogitsLoss`.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.neural import FocalLoss
    >>> loss = FocalLoss(alpha=0.25, gamma=2.0, mode="binary")
    >>> logits = torch.tensor([2.0, -1.0, 0.5])
    >>> target = torch.tensor([1.0, 0.0, 0.0])
    >>> round(float(loss(logits, target)), 4)
    0.1002
    >>> FocalLoss(alpha=None, gamma=1.0, mode="multiclass")(
    ...     torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([0])).shape
    torch.Size([])
    """

    def __init__(self, alpha=0.25, gamma=2.0, mode="binary", reduction="mean",
                 weight=None, pos_weight=None):
        super().__init__()
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}.")
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}.")
        if (isinstance(gamma, bool) or not isinstance(gamma, numbers.Real)
                or not np.isfinite(gamma) or gamma < 0):
            raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}.")
        if mode != "multiclass":
            if alpha is not None and (
                    isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
                    or not 0 <= alpha <= 1):
                raise ValueError(
                    f"alpha must be None or a float in [0, 1] in mode={mode!r}, "
                    f"got {alpha!r}."
                )
        elif pos_weight is not None:
            raise ValueError("pos_weight applies to the sigmoid modes only; "
                             "use weight= in mode='multiclass'.")
        self.mode = mode
        self.gamma = float(gamma)
        self.reduction = reduction
        alpha_t = _as_float_tensor(alpha, "alpha")
        # Registered as buffers so that .to(device) moves them with the module.
        self.register_buffer("alpha", alpha_t)
        self.register_buffer("weight", _as_float_tensor(weight, "weight"))
        self.register_buffer("pos_weight", _as_float_tensor(pos_weight, "pos_weight"))

    def extra_repr(self):
        alpha = None if self.alpha is None else self.alpha.tolist()
        return (f"mode={self.mode!r}, alpha={alpha}, gamma={self.gamma}, "
                f"reduction={self.reduction!r}")

    def forward(self, input, target):  # noqa: A002 (torch's argument names)
        """Return the focal loss of ``input`` logits against ``target``."""
        if self.mode == "multiclass":
            return self._multiclass(input, target)
        return self._sigmoid(input, target)

    def _reduce(self, loss, denominator=None):
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        if denominator is not None:
            return loss.sum() / denominator
        return loss.mean()

    def _sigmoid(self, logits, target):
        if logits.shape != target.shape:
            raise ValueError(
                f"FocalLoss(mode={self.mode!r}) needs logits and targets of the same "
                f"shape, got {tuple(logits.shape)} and {tuple(target.shape)}."
            )
        n_outputs = 1 if self.mode == "binary" else logits.shape[-1]
        for name in ("weight", "pos_weight"):
            w = getattr(self, name)
            if w is not None and w.ndim == 1 and w.shape[0] not in (1, n_outputs):
                # An empty one gave a NaN loss (read as a diverged training), one per
                # record of a binary target a loss per record and output.
                raise ValueError(
                    f"FocalLoss(mode={self.mode!r}) needs {name} of one value or one per "
                    f"output ({n_outputs}), got {w.shape[0]} values.")
        target = target.to(logits.dtype)
        log_p = F.logsigmoid(logits)
        log_1mp = F.logsigmoid(-logits)
        # (1 - p)**gamma and p**gamma from the logs: pow's gradient at a saturated p of
        # exactly 0 or 1 is infinite for gamma < 1, and times 0 it was NaN.
        pos = target * torch.exp(self.gamma * log_1mp) * log_p
        neg = (1 - target) * torch.exp(self.gamma * log_p) * log_1mp
        if self.pos_weight is not None:
            pos = pos * self.pos_weight
        if self.alpha is not None:
            pos = self.alpha * pos
            neg = (1 - self.alpha) * neg
        loss = -(pos + neg)
        if self.weight is not None:
            loss = loss * self.weight
        return self._reduce(loss)

    def _multiclass(self, logits, target):
        if logits.ndim != 2 or target.ndim != 1 or target.shape[0] != logits.shape[0]:
            raise ValueError(
                "FocalLoss(mode='multiclass') needs logits of shape (n, n_classes) "
                f"and class indices of shape (n,), got {tuple(logits.shape)} and "
                f"{tuple(target.shape)}."
            )
        n_classes = logits.shape[1]
        target = target.long()
        log_prob = F.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]
        if self.gamma:
            # log(1 - p_y) from the other classes' logits, exact where p_y rounds to 1
            # (there pow's gradient made NaN for gamma < 1).
            others = logits.masked_fill(F.one_hot(target, n_classes).bool(), float("-inf"))
            log_rest = torch.logsumexp(others, dim=1) - torch.logsumexp(logits, dim=1)
            loss = -torch.exp(self.gamma * log_rest) * log_prob
        else:
            loss = -log_prob
        if self.alpha is not None:
            if self.alpha.ndim == 0:
                loss = self.alpha * loss
            else:
                if self.alpha.shape[0] != n_classes:
                    raise ValueError(
                        f"alpha has {self.alpha.shape[0]} per-class values but the "
                        f"logits have {n_classes} classes."
                    )
                loss = self.alpha[target] * loss
        denominator = None
        if self.weight is not None:
            if self.weight.ndim != 1 or self.weight.shape[0] != n_classes:
                raise ValueError(
                    f"weight must hold one value per class ({n_classes}), got shape "
                    f"{tuple(self.weight.shape)}."
                )
            w = self.weight[target]
            loss = loss * w
            denominator = w.sum()
        return self._reduce(loss, denominator)


def balanced_loss_weights(y, kind, n_outputs):
    """Balanced loss weights computed from encoded training labels.

    Parameters
    ----------
    y : ndarray
        Encoded labels: ``(n,)`` 0/1 for ``kind="pos_weight"`` with one
        output, ``(n, n_labels)`` 0/1 for multi-label, or ``(n,)`` class
        indices for ``kind="weight"``.
    kind : {"pos_weight", "weight"}
        ``"pos_weight"``: per output, the ratio of negatives to positives
        (``n_neg / n_pos``), for sigmoid losses; an output that is 0 in
        every record or 1 in every record gets weight 1 (with no negatives
        the ratio would be 0, and no loss would train it).
        ``"weight"``: per class, ``n / (n_classes * count)`` as
        :func:`sklearn.utils.class_weight.compute_class_weight` with
        ``"balanced"``; a class absent from ``y`` gets weight 1.
    n_outputs : int
        Number of outputs (labels) or classes.

    Returns
    -------
    weights : torch.Tensor of shape (n_outputs,)

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.neural._losses import balanced_loss_weights
    >>> balanced_loss_weights(np.array([0, 0, 0, 1]), "pos_weight", 1)
    tensor([3.])
    >>> balanced_loss_weights(np.array([0, 0, 0, 1]), "weight", 2)
    tensor([0.6667, 2.0000])
    """
    y = np.asarray(y)
    if kind == "pos_weight":
        y2 = y.reshape(len(y), -1) > 0.5
        n_pos = y2.sum(axis=0).astype(np.float64)
        n_neg = len(y2) - n_pos
        one_valued = (n_pos == 0) | (n_neg == 0)
        weights = np.where(one_valued, 1.0, n_neg / np.maximum(n_pos, 1.0))
        weights = np.broadcast_to(weights, (n_outputs,))
    elif kind == "weight":
        from sklearn.utils.class_weight import compute_class_weight

        classes = np.arange(n_outputs)
        y_int = y.astype(np.int64)
        present = np.isin(classes, y_int)
        weights = np.ones(n_outputs)
        # sklearn needs every class it weights to occur in y.
        weights[present] = compute_class_weight(
            "balanced", classes=classes[present], y=y_int)
        if not present.all():
            # Keep sklearn's formula n / (n_classes * count) over all classes.
            weights[present] *= present.sum() / n_outputs
    else:
        raise ValueError(f"kind must be 'pos_weight' or 'weight', got {kind!r}.")
    return torch.tensor(np.array(weights, dtype=np.float32))
