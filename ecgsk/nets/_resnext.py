"""1-D SE-ResNeXt: the SE-ResNeXt-50 (32x4d) design on ECG time series."""

from torch import nn

from .._validation import check_bool, check_positive_int
from ._se import SEBlock
from ._utils import (
    check_input,
    check_int_tuple,
    check_io_args,
    check_probability,
)

__all__ = ["SEResNeXt1d"]

#: Architecture presets: (layers, cardinality, base_width, stem_channels).
_PRESETS = {
    "50": ((3, 4, 6, 3), 32, 4, 64),
    "26": ((2, 2, 2, 2), 32, 4, 64),
    "small": ((1, 1, 1, 1), 8, 4, 16),
}


class _Bottleneck1d(nn.Module):
    """ResNeXt bottleneck ``1x1 -> grouped k -> 1x1`` with SE before the addition."""

    expansion = 4

    def __init__(self, in_channels, planes, *, cardinality, base_width, stride,
                 kernel_size, se, reduction):
        super().__init__()
        width = (planes * base_width // 64) * cardinality
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv1d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(width)
        self.conv2 = nn.Conv1d(width, width, kernel_size, stride=stride,
                               padding=kernel_size // 2, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm1d(width)
        self.conv3 = nn.Conv1d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm1d(out_channels)
        self.se = SEBlock(out_channels, reduction) if se else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm1d(out_channels),
            )
        else:
            self.downsample = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.se(self.bn3(self.conv3(out)))
        return self.relu(out + self.downsample(x))


class SEResNeXt1d(nn.Module):
    """1-D SE-ResNeXt for ECG classification; the default is SE-ResNeXt-50 (32x4d).

    A stem (``conv k=7, stride 2 -> BN -> ReLU -> max-pool 3, stride 2``),
    four stages of ResNeXt bottleneck blocks (``1x1 conv -> grouped conv of
    size kernel_size with `cardinality` groups -> 1x1 conv``, each followed
    by batch norm) with a squeeze-and-excitation block on the residual
    branch before the addition, as in SE-ResNeXt-50 (32x4d), then global
    average pooling over time, dropout and a linear layer. Stage ``i`` has
    ``stem_channels * 2**i`` planes, a grouped width of
    ``planes * base_width // 64 * cardinality`` and ``4 * planes`` output
    channels; stages 2-4 halve the time axis, so the whole net reduces time
    by 32. Global pooling makes it work for any length and lead count.

    Parameters
    ----------
    in_channels : int, default=12
        Number of leads of the input.
    n_classes : int, default=5
        Number of output logits.
    preset : {"50", "26", "small"}, default="50"
        Architecture preset that fills ``layers``, ``cardinality``,
        ``base_width`` and ``stem_channels`` when they are left as None:

        - ``"50"``: ``(3, 4, 6, 3)``, 32 groups, width 4, stem 64: the
          SE-ResNeXt-50 (32x4d) layout (24.6 M parameters for 12 leads and
          5 classes);
        - ``"26"``: ``(2, 2, 2, 2)``, 32x4d, stem 64 (SE-ResNeXt-26);
        - ``"small"``: ``(1, 1, 1, 1)``, 8 groups, width 4, stem 16: a CPU
          preset of 0.29 M parameters.

        A string keeps the network configurable through skorch
        (``module__preset="small"``) and sklearn's ``set_params``.
    layers : sequence of int, optional
        Number of blocks per stage (any number of stages >= 1).
    cardinality : int, optional
        Number of groups of the grouped convolution.
    base_width : int, optional
        Width per group for 64 planes.
    stem_channels : int, optional
        Output channels of the stem and planes of the first stage.
    kernel_size : int, default=3
        Size of the grouped convolution; odd, so that a block's output keeps
        the length of its shortcut.
    reduction : int, default=16
        Reduction ratio of the SE blocks.
    se : bool, default=True
        Put an SE block in every bottleneck. ``se=False`` gives the plain
        ResNeXt with exactly the same layers otherwise: it has fewer
        parameters by exactly the SE blocks' ``2 * C * (C // r) + C + C // r``
        per block: 2.53 M of 24.57 M (10.3 %) for the ``"50"`` preset, 44.5 k
        of 0.29 M (15.2 %) for ``"small"`` (12 leads, 5 classes). The exact
        count is in the ``n_se_parameters`` attribute; to compare at equal
        size, widen the plain net (e.g. ``base_width``) or report both counts.
    dropout : float, default=0.0
        Dropout before the final linear layer.

    Attributes
    ----------
    n_se_parameters : int
        Number of parameters in the SE blocks (0 when ``se=False``).
    out_features : int
        Number of pooled features fed to the classifier.

    Notes
    -----
    Input is ``(batch, leads, samples)``; the output is logits ``(batch,
    n_classes)`` (no softmax). A wrong rank or lead count raises a
    ``ValueError`` that names the expected shape.

    References
    ----------
    .. [1] S. Xie et al., "Aggregated Residual Transformations for Deep Neural
       Networks", CVPR 2017.
    .. [2] J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks", CVPR 2018.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.nets import SEResNeXt1d
    >>> net = SEResNeXt1d(in_channels=12, n_classes=5, preset="small")
    >>> net(torch.randn(4, 12, 1000)).shape
    torch.Size([4, 5])
    >>> plain = SEResNeXt1d(in_channels=12, n_classes=5, preset="small", se=False)
    >>> n = lambda m: sum(p.numel() for p in m.parameters())
    >>> n(net) - n(plain) == net.n_se_parameters
    True
    """

    def __init__(self, in_channels=12, n_classes=5, *, preset="50", layers=None,
                 cardinality=None, base_width=None, stem_channels=None,
                 kernel_size=3, reduction=16, se=True, dropout=0.0):
        super().__init__()
        self.in_channels, self.n_classes = check_io_args(in_channels, n_classes)
        if not isinstance(preset, str) or preset not in _PRESETS:
            raise ValueError(
                f"preset must be one of {sorted(_PRESETS)}, got {preset!r}."
            )
        p_layers, p_card, p_width, p_stem = _PRESETS[preset]
        self.preset = preset
        self.layers = check_int_tuple(p_layers if layers is None else layers, name="layers")
        self.cardinality = check_positive_int(
            p_card if cardinality is None else cardinality, name="cardinality")
        self.base_width = check_positive_int(
            p_width if base_width is None else base_width, name="base_width")
        self.stem_channels = check_positive_int(
            p_stem if stem_channels is None else stem_channels, name="stem_channels")
        self.kernel_size = check_positive_int(kernel_size, name="kernel_size")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, so that a block's output keeps the "
                             f"length of its shortcut; got {kernel_size!r}.")
        self.reduction = check_positive_int(reduction, name="reduction")
        self.se = check_bool(se, name="se")
        self.dropout = check_probability(dropout, name="dropout")
        if self.stem_channels * self.base_width // 64 < 1:
            raise ValueError(
                f"stem_channels * base_width must be >= 64 so that every group has "
                f"at least one channel; got stem_channels={self.stem_channels}, "
                f"base_width={self.base_width}."
            )

        self.stem = nn.Sequential(
            nn.Conv1d(self.in_channels, self.stem_channels, 7, stride=2, padding=3,
                      bias=False),
            nn.BatchNorm1d(self.stem_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages, channels = [], self.stem_channels
        for i, n_blocks in enumerate(self.layers):
            planes = self.stem_channels * 2 ** i
            blocks = []
            for b in range(n_blocks):
                blocks.append(_Bottleneck1d(
                    channels, planes, cardinality=self.cardinality,
                    base_width=self.base_width, stride=2 if (b == 0 and i > 0) else 1,
                    kernel_size=self.kernel_size, se=self.se, reduction=self.reduction,
                ))
                channels = planes * _Bottleneck1d.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.out_features = channels
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(self.dropout),
            nn.Linear(channels, self.n_classes),
        )
        self.n_se_parameters = sum(
            p.numel() for m in self.modules() if isinstance(m, SEBlock)
            for p in m.parameters()
        )

    def forward(self, x):
        check_input(x, self.in_channels, type(self).__name__)
        return self.head(self.stages(self.stem(x)))
