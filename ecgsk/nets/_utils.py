"""Building blocks shared by the networks of :mod:`ecgsk.nets`.

Constructor-argument checks, the forward-time input check, the PTB-XL
benchmark's concat-pooling head and its weight initialisation.
"""

import numbers

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_positive_int


def check_non_negative_int(value, *, name):
    """Validate an integer ``>= 0`` (``0`` usually switches a part off)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}.")
    return int(value)


def check_probability(value, *, name):
    """Validate a dropout probability in ``[0, 1)``."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 0.0 <= float(value) < 1.0):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}.")
    return float(value)


def check_int_tuple(value, *, name, min_len=1, min_value=1):
    """Validate a non-empty sequence of integers ``>= min_value``; return a tuple."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be a sequence of integers, got {value!r}.")
    out = tuple(value)
    if len(out) < min_len or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < min_value
        for v in out
    ):
        raise ValueError(
            f"{name} must hold at least {min_len} integer(s) >= {min_value}, got {value!r}."
        )
    return tuple(int(v) for v in out)


def check_io_args(in_channels, n_classes):
    """Validate the two arguments every network shares; return them as ints."""
    return (check_positive_int(in_channels, name="in_channels"),
            check_positive_int(n_classes, name="n_classes"))


def check_input(x, in_channels, net):
    """Fail early and clearly on a batch that does not fit the network.

    Only the rank, the lead count and a non-empty time axis are checked:
    they are cheap and cover the mistakes that otherwise surface as an
    opaque convolution error.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{net} expects a torch.Tensor of shape (batch, leads, samples), "
            f"got {type(x).__name__}."
        )
    if x.ndim != 3:
        raise ValueError(
            f"{net} expects input of shape (batch, leads, samples) = "
            f"(B, {in_channels}, T); got a {x.ndim}-D tensor of shape "
            f"{tuple(x.shape)}. Add the lead axis with x.unsqueeze(1) for "
            "single-lead signals."
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{net} was built with in_channels={in_channels} leads but the "
            f"input has {x.shape[1]} leads (shape {tuple(x.shape)}). Rebuild "
            f"the network with in_channels={x.shape[1]} or select leads first."
        )
    if x.shape[2] < 1:
        raise ValueError(
            f"{net} needs at least one sample per lead; got input of shape "
            f"{tuple(x.shape)}."
        )


class SameConv1d(nn.Conv1d):
    """Stride-1 ``Conv1d`` that keeps the length, for odd and even kernels.

    Odd kernels pad ``k // 2`` on both sides; even kernels pad ``(k - 1) // 2``
    on the left and ``k // 2`` on the right (Keras' "same"), without the copy
    and warning of ``padding="same"``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, bias=False):
        odd = kernel_size % 2 == 1
        super().__init__(in_channels, out_channels, kernel_size,
                         padding=kernel_size // 2 if odd else 0, bias=bias)
        self._pad = None if odd else ((kernel_size - 1) // 2, kernel_size // 2)

    def forward(self, x):
        if self._pad is not None:
            x = F.pad(x, self._pad)
        return super().forward(x)


class AdaptiveConcatPool1d(nn.Module):
    """Concatenate global max and global average pooling over time.

    ``(B, C, T) -> (B, 2 * C)``; max first, as in fastai and the PTB-XL
    benchmark code.
    """

    def forward(self, x):
        return torch.cat([x.amax(dim=-1), x.mean(dim=-1)], dim=1)


def concat_pool_head(n_features, n_classes, hidden=128, dropout=0.5):
    """The PTB-XL benchmark head (``create_head1d`` with ``lin_ftrs=[hidden]``).

    Concat pooling, then ``BN -> Dropout(dropout / 2) -> Linear -> ReLU ->
    BN -> Dropout(dropout) -> Linear``. ``hidden=0`` gives the one-layer head
    ``BN -> Dropout(dropout) -> Linear``.
    """
    layers = [AdaptiveConcatPool1d()]
    width = 2 * n_features
    if hidden:
        layers += [nn.BatchNorm1d(width), nn.Dropout(dropout / 2),
                   nn.Linear(width, hidden), nn.ReLU(inplace=True)]
        width = hidden
    layers += [nn.BatchNorm1d(width), nn.Dropout(dropout), nn.Linear(width, n_classes)]
    return nn.Sequential(*layers)


def kaiming_init(module):
    """The PTB-XL benchmark's ``weight_init``: He-normal convs/linears, unit BN."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
