"""Tests of ecgsk/neural/_losses.py: FocalLoss against closed forms, loss weights."""

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight

from ecgsk.neural import FocalLoss
from ecgsk.neural import _losses
from ecgsk.neural._losses import balanced_loss_weights


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_binary_focal_loss_matches_hand_computation():
    z = np.array([2.0, -1.0, 0.5, -3.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    alpha, gamma = 0.25, 2.0
    p = _sigmoid(z)
    p_t = np.where(y == 1, p, 1 - p)
    a_t = np.where(y == 1, alpha, 1 - alpha)
    expected = -a_t * (1 - p_t) ** gamma * np.log(p_t)
    loss = FocalLoss(alpha=alpha, gamma=gamma, mode="binary", reduction="none")
    out = loss(torch.tensor(z), torch.tensor(y))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)
    mean = FocalLoss(alpha=alpha, gamma=gamma)(torch.tensor(z), torch.tensor(y))
    assert float(mean) == pytest.approx(expected.mean(), rel=1e-10)
    total = FocalLoss(alpha=alpha, gamma=gamma, reduction="sum")(torch.tensor(z), torch.tensor(y))
    assert float(total) == pytest.approx(expected.sum(), rel=1e-10)


def test_gamma_zero_is_alpha_weighted_bce():
    torch.manual_seed(0)
    z = torch.randn(6, 3)
    y = (torch.rand(6, 3) > 0.5).float()
    alpha = 0.3
    weights = torch.where(y == 1, torch.tensor(alpha), torch.tensor(1 - alpha))
    expected = F.binary_cross_entropy_with_logits(z, y, weight=weights)
    out = FocalLoss(alpha=alpha, gamma=0.0, mode="multilabel")(z, y)
    assert float(out) == pytest.approx(float(expected), rel=1e-6)


def test_gamma_zero_alpha_none_equals_bce_with_pos_weight_and_weight():
    torch.manual_seed(1)
    z = torch.randn(8, 4)
    y = (torch.rand(8, 4) > 0.6).float()
    pos_weight = torch.tensor([1.0, 2.0, 3.0, 0.5])
    weight = torch.tensor([0.5, 1.0, 1.5, 2.0])
    expected = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, weight=weight)(z, y)
    out = FocalLoss(alpha=None, gamma=0.0, mode="multilabel", pos_weight=pos_weight,
                    weight=weight)(z, y)
    assert float(out) == pytest.approx(float(expected), rel=1e-6)


def test_multiclass_focal_loss_matches_hand_computation():
    z = np.array([[2.0, 0.0, -1.0], [0.1, 0.2, 0.3], [-2.0, 3.0, 0.0]])
    y = np.array([0, 2, 0])
    gamma = 1.5
    alpha = np.array([0.2, 0.3, 0.5])
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    p_y = p[np.arange(3), y]
    expected = -alpha[y] * (1 - p_y) ** gamma * np.log(p_y)
    loss = FocalLoss(alpha=alpha, gamma=gamma, mode="multiclass", reduction="none")
    np.testing.assert_allclose(loss(torch.tensor(z), torch.tensor(y)).numpy().astype(float),
                               expected, rtol=1e-6)
    scalar = FocalLoss(alpha=0.5, gamma=gamma, mode="multiclass", reduction="none")
    np.testing.assert_allclose(
        scalar(torch.tensor(z), torch.tensor(y)).numpy(),
        -0.5 * (1 - p_y) ** gamma * np.log(p_y), rtol=1e-6)


def test_multiclass_gamma_zero_equals_weighted_cross_entropy():
    torch.manual_seed(2)
    z = torch.randn(10, 4)
    y = torch.randint(0, 4, (10,))
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0])
    expected = F.cross_entropy(z, y, weight=weight)
    out = FocalLoss(alpha=None, gamma=0.0, mode="multiclass", weight=weight)(z, y)
    assert float(out) == pytest.approx(float(expected), rel=1e-6)
    assert float(FocalLoss(alpha=None, gamma=0.0, mode="multiclass")(z, y)) == \
        pytest.approx(float(F.cross_entropy(z, y)), rel=1e-6)


def test_focusing_down_weights_easy_examples():
    easy, hard = torch.tensor([4.0]), torch.tensor([-1.0])
    target = torch.tensor([1.0])
    loss = FocalLoss(alpha=None, gamma=2.0)
    bce = torch.nn.BCEWithLogitsLoss()
    assert float(loss(easy, target)) / float(bce(easy, target)) < 1e-3
    assert float(loss(hard, target)) / float(bce(hard, target)) > 0.5


@pytest.mark.parametrize("gamma", [0.0, 0.2, 0.5, 1.0, 2.0])
def test_extreme_logits_give_finite_loss_and_gradients(gamma):
    """Also for gamma < 1, where pow's gradient at a probability of exactly 0 or 1 was NaN."""
    z = torch.tensor([[100.0, -100.0, 0.0], [30.0, 0.0, 0.0]], requires_grad=True)
    for mode, target in [("multilabel", torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])),
                         ("multiclass", torch.tensor([1, 0]))]:
        loss = FocalLoss(mode=mode, gamma=gamma,
                         alpha=None if mode == "multiclass" else 0.25)(z, target)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(z.grad).all(), (mode, z.grad)
        z.grad = None


def test_buffers_move_with_module():
    loss = FocalLoss(mode="multiclass", alpha=[0.2, 0.8], weight=[1.0, 2.0])
    names = {name for name, _ in loss.named_buffers()}
    assert names == {"alpha", "weight"}
    assert loss.double().weight.dtype == torch.float64


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "softmax"}, "mode must be one of"),
    ({"reduction": "max"}, "reduction must be one of"),
    ({"gamma": -1.0}, "gamma must be a finite number >= 0"),
    ({"alpha": 1.5}, "alpha must be None or a float in \\[0, 1\\]"),
    ({"alpha": [0.1, 0.2]}, "alpha must be None or a float"),
    ({"mode": "multiclass", "pos_weight": [1.0]}, "pos_weight applies to the sigmoid"),
    ({"weight": [[1.0]]}, "weight must be a scalar or a 1-D array"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FocalLoss(**kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError, match="same shape"):
        FocalLoss()(torch.zeros(4, 1), torch.zeros(4))
    with pytest.raises(ValueError, match="class indices of shape"):
        FocalLoss(mode="multiclass")(torch.zeros(4, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="alpha has 2 per-class values but the logits have 3"):
        FocalLoss(mode="multiclass", alpha=[0.5, 0.5])(torch.zeros(4, 3),
                                                      torch.zeros(4, dtype=torch.long))


def test_sigmoid_weights_of_another_length_are_refused():
    # An empty pos_weight gave a NaN loss, three for one output a (6, 3) loss, and two for
    # three labels torch's "The size of tensor a (3) must match the size of tensor b (2)".
    x, y = torch.randn(6, 1), torch.randint(0, 2, (6, 1)).float()
    for kwargs, n in [({"pos_weight": []}, 0), ({"weight": []}, 0),
                      ({"pos_weight": [1.0, 2.0, 3.0], "reduction": "none"}, 3)]:
        with pytest.raises(ValueError, match=rf"FocalLoss\(mode='binary'\) needs "
                                             rf"{next(iter(kwargs))} of one value or one per "
                                             rf"output \(1\), got {n} values"):
            FocalLoss(**kwargs)(x, y)
    with pytest.raises(ValueError, match=r"needs weight of one value or one per output \(3\), "
                                         r"got 2 values"):
        FocalLoss(mode="multilabel", weight=[1.0, 2.0])(torch.randn(6, 3), torch.ones(6, 3))
    per_label = FocalLoss(mode="multilabel", pos_weight=[1.0, 2.0, 3.0], weight=[2.0])
    assert per_label(torch.randn(6, 3), torch.ones(6, 3)).ndim == 0


def test_balanced_loss_weights():
    y = np.array([0] * 30 + [1] * 6)
    assert balanced_loss_weights(y, "pos_weight", 1).tolist() == [5.0]
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    np.testing.assert_allclose(balanced_loss_weights(Y, "pos_weight", 2).numpy(), [1.0, 3.0])
    # a label that is 1 in every record keeps weight 1: 0 would leave it untrained, and a
    # label that is never 1 has no positive term to weigh
    Y1 = np.array([[1, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1]])
    np.testing.assert_allclose(balanced_loss_weights(Y1, "pos_weight", 3).numpy(),
                               [3.0, 1.0, 1.0])
    y3 = np.array([0] * 10 + [1] * 5 + [2] * 2)
    np.testing.assert_allclose(
        balanced_loss_weights(y3, "weight", 3).numpy(),
        compute_class_weight("balanced", classes=np.arange(3), y=y3), rtol=1e-6)
    # absent classes get weight 1; present ones keep n / (n_classes * count)
    np.testing.assert_allclose(balanced_loss_weights(np.array([0, 0, 2]), "weight", 3).numpy(),
                               [3 / (3 * 2), 1.0, 3 / (3 * 1)], rtol=1e-6)
    with pytest.raises(ValueError, match="kind must be"):
        balanced_loss_weights(y, "alpha", 1)


def test_docstring_examples():
    result = doctest.testmod(_losses, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
