"""Tests of ecgsk/nets/_inception.py: InceptionTime1d and IncepSE."""

import pytest
import torch

from ecgsk.nets import IncepSE, InceptionTime1d, SEBlock


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_default_is_the_benchmark_inception1d():
    net = InceptionTime1d(12, 5)
    assert net.kernel_sizes == (39, 19, 9)
    assert len(net.inception_modules) == 6 and len(net.shortcuts) == 2
    first = net.inception_modules[0]
    assert [c.kernel_size[0] for c in first.convs] == [39, 19, 9]
    assert first.bottleneck.out_channels == 32
    assert net.out_features == 128
    # Head: concat pool (256) -> BN -> Dropout(.25) -> 128 -> ReLU -> BN -> Dropout(.5) -> 5.
    kinds = [type(m).__name__ for m in net.head]
    assert kinds == ["AdaptiveConcatPool1d", "BatchNorm1d", "Dropout", "Linear", "ReLU",
                     "BatchNorm1d", "Dropout", "Linear"]
    assert (net.head[3].in_features, net.head[3].out_features) == (256, 128)
    assert (net.head[2].p, net.head[6].p) == (0.25, 0.5)
    assert _count(net) == 507_653
    assert not any(isinstance(m, SEBlock) for m in net.modules())


def test_kernel_size_int_follows_the_benchmark():
    assert InceptionTime1d(12, 5, kernel_sizes=40).kernel_sizes == (39, 19, 9)
    assert InceptionTime1d(12, 5, kernel_sizes=20).kernel_sizes == (19, 9, 5)
    assert InceptionTime1d(12, 5, kernel_sizes=(7, 4)).kernel_sizes == (7, 4)


def test_incepse_adds_one_se_block_per_module():
    plain = InceptionTime1d(12, 5)
    incep_se = IncepSE(12, 5)
    assert isinstance(incep_se, InceptionTime1d) and incep_se.se
    ses = [m for m in incep_se.modules() if isinstance(m, SEBlock)]
    assert len(ses) == 6
    assert all(m.channels == 128 and m.hidden == 8 for m in ses)
    assert incep_se.n_se_parameters == 6 * (2 * 128 * 8 + 128 + 8) == 13_104
    assert _count(incep_se) - _count(plain) == incep_se.n_se_parameters
    assert _count(IncepSE(12, 5, se=False)) == _count(plain)


def test_se_acts_before_the_residual_addition():
    torch.manual_seed(0)
    net = IncepSE(2, 3, n_filters=4, depth=3, kernel_sizes=(5, 3), bottleneck=4)
    order = []
    net.inception_modules[2].se.register_forward_hook(lambda *a: order.append("se"))
    net.shortcuts[0].register_forward_hook(lambda *a: order.append("shortcut"))
    net(torch.randn(2, 2, 50))
    assert order == ["se", "shortcut"]


def test_single_lead_first_module_has_no_bottleneck():
    net = InceptionTime1d(1, 2, n_filters=4, depth=3, kernel_sizes=(5, 3), bottleneck=4)
    assert isinstance(net.inception_modules[0].bottleneck, torch.nn.Identity)
    assert isinstance(net.inception_modules[1].bottleneck, torch.nn.Conv1d)
    no_bottleneck = InceptionTime1d(2, 2, n_filters=4, depth=3, kernel_sizes=(5, 3),
                                    bottleneck=0)
    assert all(isinstance(m.bottleneck, torch.nn.Identity)
               for m in no_bottleneck.inception_modules)


@pytest.mark.parametrize("depth, residual, n_shortcuts", [
    (6, True, 2), (4, True, 1), (2, True, 0), (6, False, 0),
])
def test_shortcuts_close_groups_of_three(depth, residual, n_shortcuts):
    net = InceptionTime1d(2, 2, n_filters=4, depth=depth, kernel_sizes=(5, 3),
                          bottleneck=4, residual=residual)
    assert len(net.shortcuts) == n_shortcuts
    assert net(torch.randn(2, 2, 40)).shape == (2, 2)


def test_time_axis_is_kept_until_the_head():
    net = InceptionTime1d(3, 2, n_filters=4, depth=3, kernel_sizes=(8, 5), bottleneck=4)
    assert net.features(torch.randn(2, 3, 77)).shape == (2, 12, 77)
    # Checked as forward checks it, not left to a convolution's error.
    with pytest.raises(ValueError, match="built with in_channels=3 leads but the input has "
                                         "4 leads"):
        net.features(torch.randn(2, 4, 77))


def test_one_layer_head():
    net = InceptionTime1d(2, 4, n_filters=4, depth=3, kernel_sizes=(5, 3), head_hidden=0)
    assert [type(m).__name__ for m in net.head] == [
        "AdaptiveConcatPool1d", "BatchNorm1d", "Dropout", "Linear"]
    assert net.head[-1].in_features == 2 * 12


@pytest.mark.parametrize("kwargs, match", [
    ({"depth": 0}, r"depth must be a positive integer"),
    ({"n_filters": 0}, r"n_filters must be a positive integer"),
    ({"kernel_sizes": 3}, r"kernel_sizes as an int must be >= 4"),
    ({"kernel_sizes": (9, 0)}, r"kernel_sizes must hold"),
    ({"bottleneck": -1}, r"bottleneck must be an integer >= 0"),
    ({"head_dropout": -0.1}, r"head_dropout must be a number in \[0, 1\)"),
    ({"reduction": 0}, r"reduction must be a positive integer"),
])
def test_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        IncepSE(12, 5, **kwargs)
