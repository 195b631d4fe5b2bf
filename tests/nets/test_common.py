"""Behaviour every network of ecgsk.nets shares, checked on tiny configurations."""

import io
import pickle
import re

import pytest
import torch

import ecgsk.nets

#: Full-batch Adam steps (lr 1e-2) each tiny network gets on the toy problem.
TOY_STEPS = {
    "SEResNeXt1d": 40,
    "TimmNet": 30,
    "InceptionTime1d": 25,
    "IncepSE": 25,
    "DualNet": 40,
    "ResNet1d": 25,
    "ECGCNN": 40,
}


def test_public_names():
    assert sorted(ecgsk.nets.__all__) == sorted([
        "SEBlock", "SEResNeXt1d", "TimmNet", "InceptionTime1d", "IncepSE",
        "DualNet", "ResNet1d", "ECGCNN",
    ])
    for name in ecgsk.nets.__all__:
        cls = getattr(ecgsk.nets, name)
        assert issubclass(cls, torch.nn.Module)
        assert "Examples" in cls.__doc__, name


@pytest.mark.parametrize("leads", [1, 2, 12])
def test_logits_shape_for_leads_and_lengths(net_name, leads, build_tiny):
    net = build_tiny(net_name, leads, 3).eval()
    with torch.no_grad():
        for samples in (250, 1000, 1250, 4096):
            out = net(torch.randn(2, leads, samples))
            assert out.shape == (2, 3), (net_name, leads, samples)
            assert out.dtype == torch.float32
            assert torch.isfinite(out).all()


def test_training_mode_batch_shape(net_name, build_tiny):
    net = build_tiny(net_name, 2, 4).train()
    assert net(torch.randn(5, 2, 300)).shape == (5, 4)


def test_gradients_reach_every_parameter(net_name, build_tiny):
    net = build_tiny(net_name, 2, 3).train()
    if net_name == "TimmNet":
        # timm ResNets zero-initialise the last batch norm of every residual
        # branch, so the branch's convolutions get exactly zero gradient on the
        # first step; switch that off to see the gradient reach them.
        torch.manual_seed(0)
        net = ecgsk.nets.TimmNet("test_resnet", 2, 3, min_height=8,
                                 zero_init_last=False).train()
    x = torch.randn(4, 2, 256, generator=torch.Generator().manual_seed(0))
    net(x).logsumexp(dim=1).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, f"{net_name}.{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{net_name}.{name} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{net_name}.{name} got an all-zero gradient"


def test_eval_mode_is_deterministic(net_name, build_tiny):
    net = build_tiny(net_name, 2, 3)
    net.train()
    net(torch.randn(8, 2, 256))  # move the batch-norm statistics off their start
    net.eval()
    x = torch.randn(3, 2, 256)
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)
        # A record's logits do not depend on the rest of the batch in eval mode.
        torch.testing.assert_close(net(x[:1]), net(x)[:1])


def test_state_dict_round_trip(net_name, build_tiny):
    net = build_tiny(net_name, 2, 3, seed=0)
    net.train()
    net(torch.randn(8, 2, 256))
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    other = build_tiny(net_name, 2, 3, seed=1)
    x = torch.randn(3, 2, 256)
    net.eval()
    other.eval()
    with torch.no_grad():
        assert not torch.allclose(net(x), other(x))  # different seeds differ
        other.load_state_dict(torch.load(buffer, weights_only=True))
        torch.testing.assert_close(other(x), net(x), rtol=0, atol=0)


def test_pickle_round_trip(net_name, build_tiny):
    # skorch pickles the estimator together with its module.
    net = build_tiny(net_name, 2, 3).eval()
    clone = pickle.loads(pickle.dumps(net))
    x = torch.randn(2, 2, 256)
    with torch.no_grad():
        torch.testing.assert_close(clone(x), net(x), rtol=0, atol=0)


@pytest.mark.parametrize("arg", ["in_channels", "n_classes"])
@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_bad_constructor_args_name_the_parameter(net_name, net_classes, arg, bad):
    with pytest.raises(ValueError, match=rf"{arg} must be a positive integer"):
        net_classes[net_name](**{arg: bad})


def test_empty_time_axis_is_refused(net_name, build_tiny):
    net = build_tiny(net_name, 2, 3).eval()
    with pytest.raises(ValueError, match=re.escape("at least one sample per lead; got "
                                                   "input of shape (2, 2, 0)")):
        net(torch.randn(2, 2, 0))


def test_wrong_input_rank_names_expected_shape(net_name, build_tiny):
    net = build_tiny(net_name, 1, 3)
    expected = re.escape("expects input of shape (batch, leads, samples) = (B, 1, T)")
    with pytest.raises(ValueError, match=expected):
        net(torch.randn(2, 250))
    with pytest.raises(ValueError, match=r"4-D tensor"):
        net(torch.randn(2, 1, 1, 250))
    with pytest.raises(TypeError, match=r"torch.Tensor"):
        net([[0.0] * 250])


def test_lead_count_mismatch_is_explained(net_name, build_tiny):
    net = build_tiny(net_name, 12, 3)
    msg = re.escape("in_channels=12 leads but the input has 3 leads (shape (2, 3, 250))")
    with pytest.raises(ValueError, match=msg):
        net(torch.randn(2, 3, 250))


def test_learns_separable_toy_problem(net_name, build_tiny, train_toy):
    # Sine vs square waves, 64 training records, held-out accuracy on 128.
    net = build_tiny(net_name, 2, 2)
    accuracy = train_toy(net, steps=TOY_STEPS[net_name])
    assert accuracy >= 0.9, f"{net_name}: held-out accuracy {accuracy:.3f}"


#: Every on/off switch of a network's constructor.
SWITCHES = [("SEResNeXt1d", "se"), ("InceptionTime1d", "se"), ("InceptionTime1d", "residual"),
            ("IncepSE", "se"), ("IncepSE", "residual"), ("DualNet", "se"),
            ("TimmNet", "pretrained")]


@pytest.mark.parametrize("name, switch", SWITCHES)
@pytest.mark.parametrize("bad", ["false", "no", 0, 1, None])
def test_switches_take_only_true_or_false(net_classes, name, switch, bad):
    # bool("false") is True: an SE ablation given se="false" kept its SE blocks.
    with pytest.raises(ValueError, match=rf"{switch} must be True or False, got {bad!r}"):
        net_classes[name](**{switch: bad})


@pytest.mark.parametrize("name, switch", [s for s in SWITCHES if s[1] != "pretrained"])
def test_switches_take_numpy_bools(net_classes, name, switch):
    import numpy as np

    small = {"preset": "small"} if name == "SEResNeXt1d" else {}
    on = net_classes[name](**small, **{switch: np.True_})
    off = net_classes[name](**small, **{switch: np.False_})
    assert getattr(on, switch) is True and getattr(off, switch) is False
