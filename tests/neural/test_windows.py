"""Tests of ecgsk/neural/_windows.py: random crops, sliding windows, aggregation."""

import doctest

import numpy as np
import pytest
import torch

from ecgsk.neural import _windows
from ecgsk.neural._windows import (
    aggregate_window_logits,
    random_crop,
    sliding_windows,
    window_starts,
)


@pytest.mark.parametrize("n, length, stride, expected", [
    (10, 4, 3, [0, 3, 6]),
    (11, 4, 3, [0, 3, 6, 7]),
    (10, 10, 5, [0]),
    (1000, 250, 125, [0, 125, 250, 375, 500, 625, 750]),
    (1000, 300, 300, [0, 300, 600, 700]),
])
def test_window_starts_cover_the_record(n, length, stride, expected):
    assert window_starts(n, length, stride) == expected


def test_sliding_windows_are_the_slices():
    x = torch.randn(3, 2, 23)
    windows = sliding_windows(x, 8, 5)
    starts = window_starts(23, 8, 5)
    assert starts == [0, 5, 10, 15]
    assert windows.shape == (3, 4, 2, 8)
    for w, s in enumerate(starts):
        torch.testing.assert_close(windows[:, w], x[..., s:s + 8])
    x = torch.randn(2, 1, 25)  # one extra window aligned to the end
    windows = sliding_windows(x, 8, 5)
    assert windows.shape[1] == 5
    torch.testing.assert_close(windows[:, -1], x[..., 17:])


def test_windows_longer_than_record_raise():
    with pytest.raises(ValueError, match="crop_length=12 is longer than the records \\(10"):
        sliding_windows(torch.zeros(1, 1, 10), 12, 1)
    with pytest.raises(ValueError, match="crop_length=12 is longer"):
        random_crop(torch.zeros(1, 1, 10), 12)


def test_random_crop_takes_contiguous_slices_at_random_offsets():
    n, t, length = 64, 40, 10
    x = torch.arange(t, dtype=torch.float32).repeat(n, 3, 1)  # value == position
    x[:, 1] += 100.0  # leads stay aligned
    crops = random_crop(x, length, torch.Generator().manual_seed(0))
    assert crops.shape == (n, 3, length)
    offsets = crops[:, 0, 0]
    torch.testing.assert_close(crops[:, 0], offsets[:, None] + torch.arange(length))
    torch.testing.assert_close(crops[:, 1], crops[:, 0] + 100.0)
    assert offsets.min() >= 0 and offsets.max() <= t - length
    assert len(torch.unique(offsets)) > 10  # offsets differ between records
    again = random_crop(x, length, torch.Generator().manual_seed(0))
    torch.testing.assert_close(again, crops)
    assert random_crop(x, t) is x
    # Every offset is drawn, the last one too: without it no crop held a record's last sample.
    short = random_crop(x[:, :, : length + 2], length, torch.Generator().manual_seed(0))
    assert set(short[:, 0, 0].tolist()) == {0.0, 1.0, 2.0}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_aggregate_sigmoid_by_hand():
    z = np.array([[[0.0, -2.0], [2.0, -1.0], [1.0, 3.0]]])  # 1 record, 3 windows, 2 labels
    p = _sigmoid(z)
    zt = torch.tensor(z)
    torch.testing.assert_close(torch.sigmoid(aggregate_window_logits(zt, "max")),
                               torch.tensor(p.max(1)))
    torch.testing.assert_close(torch.sigmoid(aggregate_window_logits(zt, "mean")),
                               torch.tensor(p.mean(1)))


def test_aggregate_softmax_by_hand():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (4, 5, 3))
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    zt = torch.tensor(z)
    mean = torch.softmax(aggregate_window_logits(zt, "mean", "softmax"), -1)
    torch.testing.assert_close(mean, torch.tensor(p.mean(1)))
    mx = torch.softmax(aggregate_window_logits(zt, "max", "softmax"), -1)
    expected = p.max(1) / p.max(1).sum(-1, keepdims=True)
    torch.testing.assert_close(mx, torch.tensor(expected))


def test_aggregate_is_stable_for_extreme_logits():
    z = torch.tensor([[[80.0], [-80.0]]], dtype=torch.float32)
    out = torch.sigmoid(aggregate_window_logits(z, "mean"))
    torch.testing.assert_close(out, torch.tensor([[0.5]]))
    z = torch.tensor([[[500.0, -500.0], [-500.0, 500.0]]])
    out = torch.softmax(aggregate_window_logits(z, "mean", "softmax"), -1)
    torch.testing.assert_close(out, torch.tensor([[0.5, 0.5]]))


def test_aggregate_rejects_unknown_options():
    with pytest.raises(ValueError, match="window_aggregate must be 'max' or 'mean'"):
        aggregate_window_logits(torch.zeros(1, 2, 1), "median")
    with pytest.raises(ValueError, match="activation must be"):
        aggregate_window_logits(torch.zeros(1, 2, 1), "max", "relu")


def test_docstring_examples():
    result = doctest.testmod(_windows, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
