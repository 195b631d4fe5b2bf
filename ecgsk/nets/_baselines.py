"""Baseline ECG networks: the PTB-XL benchmark's ``resnet1d_wang`` and a 4-block CNN."""

from torch import nn

from .._validation import check_positive_int
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

__all__ = ["ResNet1d", "ECGCNN"]


class _BasicBlock1d(nn.Module):
    """``conv k0 (stride) -> BN -> ReLU -> conv k1 -> BN`` + shortcut -> ReLU."""

    def __init__(self, in_channels, channels, kernel_size, stride):
        super().__init__()
        k0, k1 = kernel_size
        self.conv1 = nn.Conv1d(in_channels, channels, k0, stride=stride,
                               padding=(k0 - 1) // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(channels)
        self.conv2 = nn.Conv1d(channels, channels, k1, padding=(k1 - 1) // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(channels)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv1d(in_channels, channels, 1, stride=stride, bias=False),
                nn.BatchNorm1d(channels),
            )
        else:
            self.downsample = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class ResNet1d(nn.Module):
    """Wang et al.'s 1-D ResNet as ``resnet1d_wang`` of the PTB-XL benchmark.

    The configuration the benchmark trains (``fastai_resnet1d_wang``): a
    stem ``conv k=7, stride 1 -> BN -> ReLU`` (no pooling) to ``channels``
    filters, three stages of one basic block each (``conv k=5 -> BN -> ReLU
    -> conv k=3 -> BN`` plus shortcut), the first at stride 1 and the others
    at stride 2, all with the same ``channels`` (``fix_feature_dim``), then
    the concat-pooling head ``[max, mean] -> BN -> Dropout(0.25) ->
    Linear(2 * channels, 128) -> ReLU -> BN -> Dropout(0.5) ->
    Linear(128, n_classes)``. About 0.5 M parameters for 12 leads.

    Parameters
    ----------
    in_channels : int, default=12
        Number of leads of the input.
    n_classes : int, default=5
        Number of output logits.
    channels : int, default=128
        Filters of every convolution (the benchmark's ``inplanes``).
    layers : sequence of int, default=(1, 1, 1)
        Basic blocks per stage; stages after the first halve the time axis.
    kernel_size : (int, int), default=(5, 3)
        Sizes of the two convolutions of a basic block, odd, so that a
        block's output keeps the length of its shortcut. The benchmark passes
        ``kernel_size=5``, which its blocks expand to ``(5, 5 // 2 + 1)``.
    stem_kernel_size : int, default=7
        Size of the stem convolution; odd, so that the stem keeps the length.
    head_hidden : int, default=128
        Width of the hidden head layer (``lin_ftrs_head=[128]``); 0 gives a
        single linear layer.
    head_dropout : float, default=0.5
        Dropout before the last linear layer, half of it before the hidden
        one (``ps_head=0.5``).

    Notes
    -----
    Weights are initialised like the benchmark's ``weight_init`` (He-normal
    convolutions and linear layers). In the benchmark only the first block
    of a stage uses ``kernel_size`` (later ones use 3, 3); with the default
    one block per stage this makes no difference, and here every block uses
    ``kernel_size``.

    References
    ----------
    .. [1] Z. Wang, W. Yan, T. Oates, "Time Series Classification from Scratch
       with Deep Neural Networks: A Strong Baseline", IJCNN 2017.
    .. [2] N. Strodthoff et al., "Deep Learning for ECG Analysis: Benchmarks
       and Insights from PTB-XL", IEEE JBHI 25, 2021.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.nets import ResNet1d
    >>> net = ResNet1d(in_channels=12, n_classes=5)
    >>> net(torch.randn(2, 12, 1000)).shape
    torch.Size([2, 5])
    """

    def __init__(self, in_channels=12, n_classes=5, *, channels=128, layers=(1, 1, 1),
                 kernel_size=(5, 3), stem_kernel_size=7, head_hidden=128,
                 head_dropout=0.5):
        super().__init__()
        self.in_channels, self.n_classes = check_io_args(in_channels, n_classes)
        self.channels = check_positive_int(channels, name="channels")
        self.layers = check_int_tuple(layers, name="layers")
        self.kernel_size = check_int_tuple(kernel_size, name="kernel_size", min_len=2)
        if len(self.kernel_size) != 2 or any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"kernel_size must be two odd integers, so that a block's output "
                             f"keeps the length of its shortcut; got {kernel_size!r}.")
        self.stem_kernel_size = check_positive_int(stem_kernel_size,
                                                   name="stem_kernel_size")
        if self.stem_kernel_size % 2 == 0:  # its padding (k - 1) // 2 cut a sample off
            raise ValueError(f"stem_kernel_size must be odd, so that the stem keeps the "
                             f"record's length; got {stem_kernel_size!r}.")
        self.head_hidden = check_non_negative_int(head_hidden, name="head_hidden")
        self.head_dropout = check_probability(head_dropout, name="head_dropout")

        k = self.stem_kernel_size
        self.stem = nn.Sequential(
            nn.Conv1d(self.in_channels, self.channels, k, padding=(k - 1) // 2, bias=False),
            nn.BatchNorm1d(self.channels),
            nn.ReLU(inplace=True),
        )
        blocks = []
        for i, n_blocks in enumerate(self.layers):
            for b in range(n_blocks):
                stride = 2 if (i > 0 and b == 0) else 1
                blocks.append(_BasicBlock1d(self.channels, self.channels,
                                            self.kernel_size, stride))
        self.blocks = nn.Sequential(*blocks)
        self.head = concat_pool_head(self.channels, self.n_classes, self.head_hidden,
                                     self.head_dropout)
        kaiming_init(self)

    def forward(self, x):
        check_input(x, self.in_channels, type(self).__name__)
        return self.head(self.blocks(self.stem(x)))


class ECGCNN(nn.Module):
    """A plain 4-block 1-D CNN with a two-layer dense head.

    Blocks 1-3: ``Conv1d(k) -> BN -> ReLU -> MaxPool(2) -> Dropout``; block 4:
    ``Conv1d(k) -> BN -> ReLU -> global average pool -> Dropout``; head:
    ``Linear(256) -> BN -> ReLU -> Dropout -> Linear(128) -> BN -> ReLU ->
    Dropout -> Linear(n_classes)``. Defaults: 64, 128, 256 and 512 filters of
    sizes 15, 10, 5 and 3. Convolutions keep the length ("same" padding;
    an even kernel gets one more zero on the right, as in Keras) and the
    max-pools round up, so even very short inputs keep at least one sample.

    Parameters
    ----------
    in_channels : int, default=12
        Number of leads of the input.
    n_classes : int, default=5
        Number of output logits (no softmax).
    filters : sequence of int, default=(64, 128, 256, 512)
        Filters per block; the last block is the one pooled globally.
    kernel_sizes : sequence of int, default=(15, 10, 5, 3)
        Kernel size per block (same length as ``filters``).
    dense : sequence of int, default=(256, 128)
        Widths of the hidden dense layers (may be empty).
    conv_dropout : float, default=0.2
        Dropout after each convolutional block.
    dense_dropout : float, default=0.5
        Dropout after each hidden dense layer.

    Notes
    -----
    Batch norm comes before the ReLU (the more common order in PyTorch);
    convolutions have no bias since batch norm follows.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.nets import ECGCNN
    >>> net = ECGCNN(in_channels=12, n_classes=5)
    >>> net(torch.randn(2, 12, 1000)).shape
    torch.Size([2, 5])
    """

    def __init__(self, in_channels=12, n_classes=5, *, filters=(64, 128, 256, 512),
                 kernel_sizes=(15, 10, 5, 3), dense=(256, 128), conv_dropout=0.2,
                 dense_dropout=0.5):
        super().__init__()
        self.in_channels, self.n_classes = check_io_args(in_channels, n_classes)
        self.filters = check_int_tuple(filters, name="filters")
        self.kernel_sizes = check_int_tuple(kernel_sizes, name="kernel_sizes")
        if len(self.kernel_sizes) != len(self.filters):
            raise ValueError(
                f"kernel_sizes must have one entry per block of filters "
                f"({len(self.filters)}), got {kernel_sizes!r}."
            )
        self.dense = check_int_tuple(dense, name="dense", min_len=0)
        self.conv_dropout = check_probability(conv_dropout, name="conv_dropout")
        self.dense_dropout = check_probability(dense_dropout, name="dense_dropout")

        layers, c_in = [], self.in_channels
        for i, (c, k) in enumerate(zip(self.filters, self.kernel_sizes)):
            layers += [SameConv1d(c_in, c, k), nn.BatchNorm1d(c), nn.ReLU(inplace=True)]
            if i < len(self.filters) - 1:
                layers.append(nn.MaxPool1d(2, ceil_mode=True))
            else:
                layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten()]
            layers.append(nn.Dropout(self.conv_dropout))
            c_in = c
        self.features = nn.Sequential(*layers)
        head = []
        for width in self.dense:
            head += [nn.Linear(c_in, width, bias=False), nn.BatchNorm1d(width),
                     nn.ReLU(inplace=True), nn.Dropout(self.dense_dropout)]
            c_in = width
        head.append(nn.Linear(c_in, self.n_classes))
        self.head = nn.Sequential(*head)

    def forward(self, x):
        check_input(x, self.in_channels, type(self).__name__)
        return self.head(self.features(x))
