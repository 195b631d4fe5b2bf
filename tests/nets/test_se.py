"""Tests of ecgsk/nets/_se.py: the squeeze-and-excitation block."""

import math

import pytest
import torch

from ecgsk.nets import SEBlock


def test_zero_weights_give_gate_one_half_exactly():
    se = SEBlock(8, reduction=2)
    for p in se.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(3, 8, 50)
    torch.testing.assert_close(se.gate(x), torch.full((3, 8), 0.5), rtol=0, atol=0)
    torch.testing.assert_close(se(x), 0.5 * x, rtol=0, atol=0)


def test_hand_set_weights_give_known_gates():
    # C=4, r=4 -> one hidden unit reading channel 0's mean.
    se = SEBlock(4, reduction=4)
    with torch.no_grad():
        se.fc1.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
        se.fc1.bias.zero_()
        se.fc2.weight.copy_(torch.tensor([[1.0], [-1.0], [0.0], [2.0]]))
        se.fc2.bias.copy_(torch.tensor([0.0, 0.0, 1.0, 0.0]))
    x = torch.randn(2, 4, 10)
    x[0, 0] = torch.linspace(1.0, 3.0, 10)   # mean 2 -> hidden = relu(2) = 2
    x[1, 0] = torch.linspace(-3.0, -1.0, 10)  # mean -2 -> hidden = relu(-2) = 0
    sig = lambda v: 1 / (1 + math.exp(-v))
    expected = torch.tensor([[sig(2), sig(-2), sig(1), sig(4)],
                             [0.5, 0.5, sig(1), 0.5]])
    torch.testing.assert_close(se.gate(x), expected)
    torch.testing.assert_close(se(x), x * expected[:, :, None])


def test_gate_is_per_channel_in_open_unit_interval():
    torch.manual_seed(0)
    se = SEBlock(32, reduction=4)
    x = 10 * torch.randn(5, 32, 40)
    g = se.gate(x)
    assert g.shape == (5, 32)
    assert ((g > 0) & (g < 1)).all()
    # Each channel is scaled by one number: the ratio output / input is
    # constant along time.
    out = se(x)
    torch.testing.assert_close(out, x * g[:, :, None])
    # The gate depends on the input only through the channel means.
    shuffled = x[:, :, torch.randperm(40)]
    torch.testing.assert_close(se.gate(shuffled), g)


def test_hidden_width_is_guarded_and_parameter_count():
    assert SEBlock(64, reduction=16).hidden == 4
    assert SEBlock(4, reduction=16).hidden == 1  # C // r == 0 -> 1
    assert SEBlock(1, reduction=16).hidden == 1
    se = SEBlock(128, reduction=16)
    assert sum(p.numel() for p in se.parameters()) == 2 * 128 * 8 + 128 + 8


def test_two_dimensional_maps():
    se = SEBlock(6, reduction=2)
    x = torch.randn(2, 6, 5, 7)
    g = se.gate(x)
    torch.testing.assert_close(se(x), x * g[:, :, None, None])
    torch.testing.assert_close(g, se.gate(x.flatten(2)))


@pytest.mark.parametrize("kwargs, name", [
    ({"channels": 0}, "channels"),
    ({"channels": 8, "reduction": 0}, "reduction"),
    ({"channels": 8, "reduction": 2.0}, "reduction"),
])
def test_bad_args(kwargs, name):
    with pytest.raises(ValueError, match=rf"{name} must be a positive integer"):
        SEBlock(**kwargs)


def test_wrong_channel_count():
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, 8, \.\.\.\)"):
        SEBlock(8)(torch.randn(2, 4, 10))
    with pytest.raises(ValueError, match=r"got shape \(2, 8\)"):
        SEBlock(8)(torch.randn(2, 8))
