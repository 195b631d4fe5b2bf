"""Tests of ecgsk/neural/_sampling.py and of balanced sampling in the estimator."""

import doctest

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import Subset

from ecgsk.neural import ECGNetClassifier
from ecgsk.neural import _sampling
from ecgsk.neural._classifier import SignalDataset
from ecgsk.neural._sampling import (
    balanced_sample_weights,
    dataset_labels,
    make_balanced_sampler,
)


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models train faster on one thread, and CI has 2 shared cores.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_single_label_weights_are_inverse_class_counts():
    w = balanced_sample_weights(np.array(["a"] * 6 + ["b"] * 3 + ["c"]))
    np.testing.assert_allclose(w, [1 / 6] * 6 + [1 / 3] * 3 + [1.0])
    # every class gets the same total weight
    assert w[:6].sum() == pytest.approx(w[6:9].sum()) == pytest.approx(w[9])


def test_multilabel_weights_follow_the_rarest_positive_label():
    Y = np.array([
        [1, 0, 0],  # label 0 (frequency 4)
        [1, 0, 0],
        [1, 1, 0],  # rarest positive: label 1 (frequency 2)
        [1, 0, 1],  # rarest positive: label 2 (frequency 1)
        [0, 1, 0],  # label 1
        [0, 0, 0],  # no positive label: its own group
    ])
    w = balanced_sample_weights(Y)
    np.testing.assert_allclose(w, [1 / 2, 1 / 2, 1 / 2, 1.0, 1 / 2, 1.0])


def test_sampler_rebalances_a_90_10_subset():
    y = np.array([0] * 900 + [1] * 100)
    sampler = make_balanced_sampler(y, generator=torch.Generator().manual_seed(0))
    idx = np.array(list(sampler))
    assert len(idx) == 1000  # an epoch's worth
    share = np.mean(y[idx] == 1)
    assert 0.45 <= share <= 0.55  # 10 % without rebalancing; 4 sd = 0.063
    again = np.array(list(make_balanced_sampler(y, generator=torch.Generator().manual_seed(0))))
    np.testing.assert_array_equal(idx, again)


def test_dataset_labels_follow_nested_subsets():
    ds = SignalDataset(np.zeros((10, 1, 4), np.float32), np.arange(10) * 10)
    sub = Subset(Subset(ds, np.array([9, 7, 5, 3, 1])), [0, 2])
    np.testing.assert_array_equal(dataset_labels(sub), [90, 50])
    assert dataset_labels(torch.utils.data.TensorDataset(torch.zeros(3))) is None


class IndexNet(nn.Module):
    """Predicts from the mean; records the record ids of training batches."""

    def __init__(self, in_channels=1, n_classes=1):
        super().__init__()
        self.lin = nn.Linear(1, n_classes)

    def forward(self, x):
        return self.lin(x.mean(dim=(1, 2))[:, None])


class Record(Callback):
    """Collects the record ids (encoded as the signal value) of training
    batches and the indices of the validation subset."""

    def initialize(self):
        self.train_ids, self.valid_idx = [], None
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.train_ids.extend(batch[0][:, 0, 0].long().tolist())

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if dataset_valid is not None:
            self.valid_idx = np.asarray(dataset_valid.indices)


def test_balanced_sampling_draws_training_records_only_and_balances_them():
    n = 200
    y = np.array([0] * 180 + [1] * 20)
    X = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], (n, 1, 8)).copy()
    rec = Record()
    ECGNetClassifier(IndexNet, balanced_sampling=True, valid_size=0.2, max_epochs=6,
                     patience=None, random_state=0, callbacks=[rec]).fit(X, y)
    ids = np.array(rec.train_ids)
    assert len(ids) == 6 * 160  # an epoch's worth of draws per epoch
    valid = set(rec.valid_idx.tolist())
    assert len(valid) == 40 and np.bincount(y[rec.valid_idx]).tolist() == [36, 4]
    assert not valid & set(ids.tolist())  # validation records are never drawn
    share = np.mean(y[ids] == 1)
    assert 0.43 <= share <= 0.57  # 10 % of the training records are positive
    # with replacement, the 16 training positives are drawn again and again
    assert len(set(ids[y[ids] == 1].tolist())) == 16


def test_shuffled_training_without_balancing_keeps_class_shares():
    n = 200
    y = np.array([0] * 180 + [1] * 20)
    X = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], (n, 1, 8)).copy()
    rec = Record()
    ECGNetClassifier(IndexNet, valid_size=0.2, max_epochs=2, patience=None,
                     random_state=0, callbacks=[rec]).fit(X, y)
    ids = np.array(rec.train_ids)
    assert sorted(ids[:160].tolist()) == sorted(set(range(n)) - set(rec.valid_idx.tolist()))
    assert not np.array_equal(ids[:160], np.sort(ids[:160]))  # shuffled
    assert np.mean(y[ids] == 1) == pytest.approx(0.1)


def test_balanced_sampling_with_multilabel_target():
    rng = np.random.default_rng(0)
    n = 300
    Y = np.zeros((n, 2), int)
    Y[:, 0] = 1
    Y[rng.choice(n, 15, replace=False), 1] = 1  # label 1 is rare (5 %)
    X = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], (n, 1, 8)).copy()
    rec = Record()
    ECGNetClassifier(IndexNet, balanced_sampling=True, train_split=None, max_epochs=3,
                     random_state=0, callbacks=[rec]).fit(X, Y)
    share = np.mean(Y[np.array(rec.train_ids), 1])
    assert 0.42 <= share <= 0.58


def test_sampler_from_get_iterator_is_built_on_the_subset_given():
    y = np.array([0] * 90 + [1] * 10)
    X = np.zeros((100, 1, 8), np.float32)
    net = ECGNetClassifier(IndexNet, balanced_sampling=True, max_epochs=1, random_state=0)
    net.fit(X, y)
    ds = SignalDataset(X, y.astype(np.float32))
    train_idx = np.r_[0:45, 90:95]  # a 45 / 5 training subset
    loader = net.get_iterator(Subset(ds, train_idx), training=True)
    assert isinstance(loader.sampler, torch.utils.data.WeightedRandomSampler)
    positions = np.array(list(loader.sampler))
    assert len(positions) == 50 and positions.max() < 50  # positions inside the subset
    drawn = train_idx[np.concatenate([list(loader.sampler) for _ in range(20)])]
    assert 0.44 <= np.mean(y[drawn] == 1) <= 0.56
    # the validation iterator is never resampled
    valid = net.get_iterator(Subset(ds, np.arange(45, 90)), training=False)
    assert isinstance(valid.sampler, torch.utils.data.SequentialSampler)


def test_balanced_sampling_rejects_a_user_sampler():
    y = np.array([0, 1] * 10)
    X = np.zeros((20, 1, 8), np.float32)
    sampler = torch.utils.data.SequentialSampler(range(20))
    with pytest.raises(ValueError, match="do not also pass iterator_train__sampler"):
        ECGNetClassifier(IndexNet, balanced_sampling=True, iterator_train__sampler=sampler,
                         max_epochs=1).fit(X, y)


def test_docstring_examples():
    result = doctest.testmod(_sampling, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
