"""InceptionTime for ECGs, and IncepSE: InceptionTime with squeeze-and-excitation.

The layout follows the PTB-XL benchmark's ``inception1d`` (Strodthoff et al.,
2020), itself after Fawaz et al.'s InceptionTime: modules of a 1x1
bottleneck and three long convolutions in parallel with a max-pool branch,
a residual shortcut every third module, and the concat-pooling head.
"""

import numbers

import torch
from torch import nn

from .._validation import check_bool, check_positive_int
from ._se import SEBlock
from ._utils import (
    SameConv1d,
    check_input,
    check_int_tuple,
    check_io_args,
    check_non_negative_int,
    check_probability,
    concat_pool_head,
    kaiming_init,
)

__all__ = ["InceptionTime1d", "IncepSE"]


def _kernel_sizes(value):
    """``int k`` -> the benchmark's odd ``(k, k // 2, k // 4)``; a sequence as is."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 4:
            raise ValueError(
                f"kernel_sizes as an int must be >= 4 (it gives k, k // 2, k // 4), "
                f"got {value!r}."
            )
        return tuple(k - 1 if k % 2 == 0 else k for k in (value, value // 2, value // 4))
    return check_int_tuple(value, name="kernel_sizes")


class _InceptionModule1d(nn.Module):
    """Bottleneck -> parallel convolutions + max-pool branch -> BN -> ReLU [-> SE]."""

    def __init__(self, in_channels, n_filters, kernel_sizes, bottleneck, se, reduction):
        super().__init__()
        # As in Fawaz et al.: no bottleneck on a single-channel input.
        use_bottleneck = bottleneck > 0 and in_channels > 1
        self.bottleneck = (nn.Conv1d(in_channels, bottleneck, 1, bias=False)
                           if use_bottleneck else nn.Identity())
        conv_in = bottleneck if use_bottleneck else in_channels
        self.convs = nn.ModuleList(
            SameConv1d(conv_in, n_filters, k)
            for k in kernel_sizes
        )
        self.pool_branch = nn.Sequential(
            nn.MaxPool1d(3, stride=1, padding=1),
            nn.Conv1d(in_channels, n_filters, 1, bias=False),
        )
        out_channels = n_filters * (len(kernel_sizes) + 1)
        self.bn = nn.BatchNorm1d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.se = SEBlock(out_channels, reduction) if se else nn.Identity()

    def forward(self, x):
        z = self.bottleneck(x)
        out = torch.cat([conv(z) for conv in self.convs] + [self.pool_branch(x)], dim=1)
        return self.se(self.relu(self.bn(out)))


class _Shortcut1d(nn.Module):
    """``ReLU(out + BN(conv1x1(input)))`` closing a group of three modules."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm1d(out_channels)

    def forward(self, inp, out):
        return torch.relu(out + self.bn(self.conv(inp)))


class InceptionTime1d(nn.Module):
    """InceptionTime for ECG classification (the PTB-XL benchmark's ``inception1d``).

    ``depth`` inception modules, each a 1x1 bottleneck followed by
    convolutions of every size in ``kernel_sizes`` in parallel with a
    ``max-pool 3 -> 1x1 conv`` branch, concatenated (``n_filters`` channels
    per branch), batch-normalised and ReLU-activated. With ``residual`` a
    shortcut (``1x1 conv -> BN``) from the input of every group of three
    modules is added after the third. The time axis is never reduced; the
    head pools it globally (concatenated max and mean), then
    ``BN -> Dropout -> Linear(head_hidden) -> ReLU -> BN -> Dropout ->
    Linear(n_classes)``, so any length works.

    Parameters
    ----------
    in_channels : int, default=12
        Number of leads of the input.
    n_classes : int, default=5
        Number of output logits.
    n_filters : int, default=32
        Filters per branch; a module outputs ``n_filters * (len(kernel_sizes)
        + 1)`` channels (128 by default).
    depth : int, default=6
        Number of inception modules. With ``residual`` a shortcut closes
        every complete group of three; modules after the last complete group
        have none.
    kernel_sizes : sequence of int or int, default=(39, 19, 9)
        Sizes of the parallel convolutions. An int ``k`` gives the benchmark's
        ``(k, k // 2, k // 4)`` made odd: ``40 -> (39, 19, 9)``.
    bottleneck : int, default=32
        Channels of the 1x1 bottleneck; 0 switches it off. As in Fawaz et al.
        a single-lead input (``in_channels=1``) skips it in the first module.
    residual : bool, default=True
        Use the residual shortcuts.
    se : bool, default=False
        Put a squeeze-and-excitation block after every inception module (see
        :class:`IncepSE`).
    reduction : int, default=16
        Reduction ratio of the SE blocks (8 hidden units for 128 channels).
    head_hidden : int, default=128
        Width of the hidden head layer (the benchmark's ``lin_ftrs_head``);
        0 gives a single linear layer after pooling.
    head_dropout : float, default=0.5
        Dropout before the last linear layer; half of it before the hidden one
        (the benchmark's ``ps_head``).

    Attributes
    ----------
    n_se_parameters : int
        Number of parameters in the SE blocks (0 when ``se=False``).

    Notes
    -----
    Weights are initialised like the benchmark's ``weight_init``
    (He-normal convolutions and linear layers, unit batch norms). Input is
    ``(batch, leads, samples)``; the output is logits ``(batch, n_classes)``.

    References
    ----------
    .. [1] H. Ismail Fawaz et al., "InceptionTime: Finding AlexNet for Time
       Series Classification", Data Min. Knowl. Disc. 34, 2020.
    .. [2] N. Strodthoff, P. Wagner, T. Schaeffter, W. Samek, "Deep Learning
       for ECG Analysis: Benchmarks and Insights from PTB-XL", IEEE JBHI 25,
       2021 (code: helme/ecg_ptbxl_benchmarking).

    Examples
    --------
    >>> import torch
    >>> from ecgsk.nets import InceptionTime1d
    >>> net = InceptionTime1d(in_channels=12, n_classes=5)
    >>> net(torch.randn(2, 12, 1000)).shape
    torch.Size([2, 5])
    >>> tiny = InceptionTime1d(in_channels=1, n_classes=2, n_filters=8, depth=3)
    >>> tiny(torch.randn(2, 1, 250)).shape
    torch.Size([2, 2])
    """

    def __init__(self, in_channels=12, n_classes=5, *, n_filters=32, depth=6,
                 kernel_sizes=(39, 19, 9), bottleneck=32, residual=True, se=False,
                 reduction=16, head_hidden=128, head_dropout=0.5):
        super().__init__()
        self.in_channels, self.n_classes = check_io_args(in_channels, n_classes)
        self.n_filters = check_positive_int(n_filters, name="n_filters")
        self.depth = check_positive_int(depth, name="depth")
        self.kernel_sizes = _kernel_sizes(kernel_sizes)
        self.bottleneck = check_non_negative_int(bottleneck, name="bottleneck")
        self.residual = check_bool(residual, name="residual")
        self.se = check_bool(se, name="se")
        self.reduction = check_positive_int(reduction, name="reduction")
        self.head_hidden = check_non_negative_int(head_hidden, name="head_hidden")
        self.head_dropout = check_probability(head_dropout, name="head_dropout")

        width = self.n_filters * (len(self.kernel_sizes) + 1)
        self.inception_modules = nn.ModuleList(
            _InceptionModule1d(self.in_channels if d == 0 else width, self.n_filters,
                               self.kernel_sizes, self.bottleneck, self.se,
                               self.reduction)
            for d in range(self.depth)
        )
        n_shortcuts = self.depth // 3 if self.residual else 0
        self.shortcuts = nn.ModuleList(
            _Shortcut1d(self.in_channels if s == 0 else width, width)
            for s in range(n_shortcuts)
        )
        self.out_features = width
        self.head = concat_pool_head(width, self.n_classes, self.head_hidden,
                                     self.head_dropout)
        kaiming_init(self)
        self.n_se_parameters = sum(
            p.numel() for m in self.modules() if isinstance(m, SEBlock)
            for p in m.parameters()
        )

    def features(self, x):
        """The last module's feature map, shape ``(batch, out_features, samples)``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, samples)
            The signals; a tensor of another shape is refused by name, as in
            ``forward``.

        Returns
        -------
        torch.Tensor of shape (batch, out_features, samples)
            The output of the last inception module (after its shortcut, if
            one closes it), before the pooling head; ``out_features`` is
            ``n_filters * (len(kernel_sizes) + 1)`` and the time axis keeps
            the input's length.
        """
        check_input(x, self.in_channels, type(self).__name__)
        res = x
        for d, module in enumerate(self.inception_modules):
            x = module(x)
            if d % 3 == 2 and d // 3 < len(self.shortcuts):
                x = self.shortcuts[d // 3](res, x)
                res = x
        return x

    def forward(self, x):
        return self.head(self.features(x))


class IncepSE(InceptionTime1d):
    """IncepSE: InceptionTime with a squeeze-and-excitation block after every module.

    :class:`InceptionTime1d` with ``se=True`` by default (Cao, Tran, Nguyen,
    Pham, Nguyen, SoICT 2023). Each inception module's output (after its
    batch norm and ReLU) is rescaled channel-wise by an SE block before it
    goes on, so on every third module the SE acts *before* the residual
    addition, as in SE-ResNet. Every parameter is that of
    :class:`InceptionTime1d`; ``IncepSE(se=False)`` is plain InceptionTime.
    With the defaults SE adds 6 blocks of ``128 -> 8 -> 128`` with biases:
    13,104 parameters (2.5 % of 0.52 M for 12 leads, 5 classes).

    Parameters
    ----------
    in_channels : int, default=12
        Number of leads of the input.
    n_classes : int, default=5
        Number of output logits.
    se : bool, default=True
        Put a squeeze-and-excitation block after every inception module;
        False gives plain InceptionTime.
    **kwargs
        Any other keyword argument of :class:`InceptionTime1d`.

    References
    ----------
    .. [1] T. M. Cao, N. H. Tran, L. P. Nguyen, H. H. Pham, H. T. Nguyen,
       "IncepSE: Leveraging InceptionTime's performance with Squeeze and
       Excitation mechanism in ECG analysis", SoICT 2023,
       doi:10.1145/3628797.3628987.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.nets import IncepSE
    >>> net = IncepSE(in_channels=12, n_classes=5)
    >>> net(torch.randn(2, 12, 1000)).shape
    torch.Size([2, 5])
    >>> net.n_se_parameters
    13104
    """

    def __init__(self, in_channels=12, n_classes=5, *, se=True, **kwargs):
        super().__init__(in_channels, n_classes, se=se, **kwargs)
