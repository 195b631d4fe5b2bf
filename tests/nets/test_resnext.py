"""Tests of ecgsk/nets/_resnext.py: the 1-D SE-ResNeXt."""

import pytest
import torch

from ecgsk.nets import SEBlock, SEResNeXt1d
from ecgsk.nets._resnext import _Bottleneck1d


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _se_params(channels, reduction):
    hidden = max(1, channels // reduction)
    return 2 * channels * hidden + channels + hidden


@pytest.mark.parametrize("preset, total, total_plain", [
    ("50", 24_574_005, 22_043_013),
    ("small", 293_049, 248_509),
])
def test_preset_parameter_counts(preset, total, total_plain):
    se = SEResNeXt1d(12, 5, preset=preset)
    plain = SEResNeXt1d(12, 5, preset=preset, se=False)
    assert _count(se) == total
    assert _count(plain) == total_plain
    # The two differ by exactly the SE blocks, one per bottleneck.
    ses = [m for m in se.modules() if isinstance(m, SEBlock)]
    assert len(ses) == sum(se.layers)
    assert not any(isinstance(m, SEBlock) for m in plain.modules())
    assert se.n_se_parameters == sum(_count(m) for m in ses) == total - total_plain
    assert plain.n_se_parameters == 0
    expected = sum(n * _se_params(4 * se.stem_channels * 2 ** i, 16)
                   for i, n in enumerate(se.layers))
    assert se.n_se_parameters == expected


def test_preset_50_mirrors_seresnext50_32x4d():
    net = SEResNeXt1d(12, 5)
    assert (net.layers, net.cardinality, net.base_width, net.stem_channels) == \
        ((3, 4, 6, 3), 32, 4, 64)
    first = net.stages[0][0]
    assert first.conv2.groups == 32
    assert first.conv2.in_channels == 128  # 32 groups x 4 channels
    assert first.conv3.out_channels == 256
    last = net.stages[3][0]
    assert (last.conv2.in_channels, last.conv3.out_channels) == (1024, 2048)
    assert last.se.hidden == 2048 // 16
    assert net.out_features == 2048


def test_explicit_arguments_override_the_preset():
    net = SEResNeXt1d(1, 2, preset="small", layers=(2, 1), cardinality=4)
    assert net.layers == (2, 1)
    assert net.cardinality == 4
    assert net.base_width == 4 and net.stem_channels == 16  # from the preset
    assert len(net.stages) == 2 and len(net.stages[0]) == 2


def test_se_sits_on_the_residual_branch_before_the_addition():
    torch.manual_seed(0)
    block = _Bottleneck1d(32, 8, cardinality=4, base_width=16, stride=1,
                          kernel_size=3, se=True, reduction=4).eval()
    x = torch.randn(2, 32, 20)
    with torch.no_grad():
        for p in block.se.parameters():
            p.zero_()  # gate 0.5 everywhere
        branch = block.bn3(block.conv3(block.relu(block.bn2(block.conv2(
            block.relu(block.bn1(block.conv1(x))))))))
        torch.testing.assert_close(block(x), torch.relu(0.5 * branch + x))


def test_time_is_reduced_32_fold():
    net = SEResNeXt1d(12, 5, preset="small")
    feats = net.stages(net.stem(torch.randn(1, 12, 1024)))
    assert feats.shape == (1, net.out_features, 32)


def test_dropout_before_classifier():
    net = SEResNeXt1d(2, 3, preset="small", dropout=0.3)
    assert isinstance(net.head[2], torch.nn.Dropout) and net.head[2].p == 0.3


@pytest.mark.parametrize("kwargs, match", [
    ({"preset": "101"}, r"preset must be one of \['26', '50', 'small'\]"),
    # A list is unhashable: the lookup raised "TypeError: unhashable type: 'list'".
    ({"preset": ["50"]}, r"preset must be one of \['26', '50', 'small'\], got \['50'\]"),
    ({"layers": ()}, r"layers must hold at least 1 integer"),
    ({"layers": (1, 0)}, r"layers must hold"),
    ({"cardinality": 0}, r"cardinality must be a positive integer"),
    ({"stem_channels": 8, "base_width": 4}, r"stem_channels \* base_width must be >= 64"),
    ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    ({"reduction": 0}, r"reduction must be a positive integer"),
    # An even size made every forward pass fail at the residual add (251 vs 250 samples).
    ({"kernel_size": 4}, r"kernel_size must be odd, so that a block's output keeps the length "
                         r"of its shortcut; got 4"),
])
def test_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SEResNeXt1d(12, 5, **kwargs)
