"""Tests of ecgsk/nets/_baselines.py: ResNet1d (resnet1d_wang) and ECGCNN."""

import pytest
import torch

from ecgsk.nets import ECGCNN, ResNet1d


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_resnet1d_parameter_count_matches_resnet1d_wang():
    # Hand count of the benchmark's resnet1d_wang for 12 leads, 5 classes.
    stem = 12 * 128 * 7 + 2 * 128
    block = 128 * 128 * 5 + 128 * 128 * 3 + 2 * 2 * 128
    downsample = 128 * 128 + 2 * 128
    head = 2 * 256 + (256 * 128 + 128) + 2 * 128 + (128 * 5 + 5)
    assert _count(ResNet1d(12, 5)) == stem + 3 * block + 2 * downsample + head == 473_349


def test_resnet1d_layout():
    net = ResNet1d(12, 5)
    stem_conv = net.stem[0]
    assert (stem_conv.kernel_size, stem_conv.stride) == ((7,), (1,))
    assert [b.conv1.stride[0] for b in net.blocks] == [1, 2, 2]
    assert all((b.conv1.kernel_size, b.conv2.kernel_size) == ((5,), (3,))
               for b in net.blocks)
    # Strides 1, 2, 2: a quarter of the samples reach the head.
    assert net.blocks(net.stem(torch.randn(1, 12, 1000))).shape == (1, 128, 250)
    assert [type(m).__name__ for m in net.head] == [
        "AdaptiveConcatPool1d", "BatchNorm1d", "Dropout", "Linear", "ReLU",
        "BatchNorm1d", "Dropout", "Linear"]


def test_concat_pool_is_max_then_mean():
    net = ResNet1d(1, 2, channels=4)
    x = torch.tensor([[[1.0, 5.0, 3.0], [-2.0, -4.0, 0.0]]])
    torch.testing.assert_close(net.head[0](x),
                               torch.tensor([[5.0, 0.0, 3.0, -2.0]]))


def test_ecgcnn_layout_and_same_padding():
    net = ECGCNN(12, 5)
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [
        (64, 15), (128, 10), (256, 5), (512, 3)]
    linears = [m for m in net.head if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (512, 256), (256, 128), (128, 5)]
    # Every convolution keeps the length (even kernels too); pools halve it.
    lengths, x = [], torch.randn(1, 12, 100)
    for m in net.features:
        x = m(x)
        if isinstance(m, torch.nn.Conv1d):
            lengths.append(x.shape[-1])
    assert lengths == [100, 50, 25, 13]
    assert x.shape == (1, 512)


def test_ecgcnn_without_dense_layers():
    net = ECGCNN(1, 3, filters=(4, 8), kernel_sizes=(5, 4), dense=())
    assert [type(m).__name__ for m in net.head] == ["Linear"]
    assert net(torch.randn(2, 1, 30)).shape == (2, 3)


@pytest.mark.parametrize("cls, kwargs, match", [
    (ResNet1d, {"channels": 0}, r"channels must be a positive integer"),
    (ResNet1d, {"kernel_size": (5, 3, 3)}, r"kernel_size must be two odd integers"),
    # An even size made every forward pass fail at the residual add (999 vs 1000 samples).
    (ResNet1d, {"kernel_size": (4, 3)}, r"kernel_size must be two odd integers, so that a "
                                        r"block's output keeps the length of its shortcut"),
    (ResNet1d, {"layers": (1, -1)}, r"layers must hold"),
    # An even stem cut a sample off; a one-sample record then failed inside the convolution.
    (ResNet1d, {"stem_kernel_size": 8}, r"stem_kernel_size must be odd, so that the stem "
                                        r"keeps the record's length; got 8"),
    (ResNet1d, {"head_dropout": 1.5}, r"head_dropout must be a number in \[0, 1\)"),
    (ECGCNN, {"kernel_sizes": (15, 10)}, r"kernel_sizes must have one entry per block"),
    (ECGCNN, {"filters": ()}, r"filters must hold at least 1 integer"),
    (ECGCNN, {"dense": (0,)}, r"dense must hold"),
    (ECGCNN, {"conv_dropout": "0.2"}, r"conv_dropout must be a number"),
])
def test_bad_args(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(12, 5, **kwargs)
