"""Tests of ecgsk/neural/_classifier.py: targets, losses, steps, windows, devices."""

import doctest
import io
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import get_scorer, roc_auc_score
from sklearn.utils.class_weight import compute_class_weight
from skorch.callbacks import Callback, EpochScoring
from skorch.utils import to_numpy
from torch import nn

from ecgsk.neural import ECGNetClassifier, FocalLoss
from ecgsk.neural import _classifier, _windows
from ecgsk.preprocessing import Augmenter

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="CUDA paths need a GPU; CI has none")


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models train faster on one thread, and CI has 2 shared cores.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class TinyNet(nn.Module):
    """Conv -> ReLU -> global average and max pooling -> linear."""

    def __init__(self, in_channels=1, n_classes=2, hidden=8):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, hidden, kernel_size=5, padding=2)
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.head(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1))


class MeanNet(nn.Module):
    """Logits are known functions of the window: ``scale * mean(x) * signs``.

    With ``n_classes=1`` the logit is the window mean; with 3 classes the
    logits are ``(m, -m, 0)``.
    """

    def __init__(self, in_channels=1, n_classes=1):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        signs = torch.tensor([1.0, -1.0, 0.0])[:n_classes] if n_classes <= 3 else None
        self.register_buffer("signs", signs)
        self.seen_lengths = []

    def forward(self, x):
        self.seen_lengths.append((self.training, tuple(x.shape)))
        m = self.scale * x.mean(dim=(1, 2))
        return m[:, None] * self.signs


def make_signals(n=120, n_leads=2, n_samples=64, n_classes=2, seed=0):
    """Records whose lead-0 offset encodes the class (separable)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % n_classes)
    X = rng.normal(0.0, 1.0, (n, n_leads, n_samples))
    X[:, 0, :] += 2.0 * (y[:, None] - (n_classes - 1) / 2)
    return X.astype(np.float32), y


def make_multilabel(n=160, n_labels=3, n_samples=64, seed=0):
    """Label k is on when lead k carries a positive offset."""
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, n_labels)) < 0.4).astype(np.int64)
    X = rng.normal(0.0, 1.0, (n, n_labels, n_samples))
    X += 2.0 * Y[:, :, None]
    return X.astype(np.float32), Y


def fast(**params):
    base = dict(max_epochs=12, lr=1e-2, batch_size=32, random_state=0)
    base.update(params)
    return ECGNetClassifier(TinyNet, **base)


# ---------------------------------------------------------------------------
# target types
# ---------------------------------------------------------------------------
def test_binary_01_labels_learns_above_chance():
    X, y = make_signals(200)
    clf = fast().fit(X[:150], y[:150])
    assert clf.target_type_ == "binary"
    assert clf.n_outputs_ == 1 and clf.module_.head.out_features == 1
    assert isinstance(clf.criterion_, nn.BCEWithLogitsLoss)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    proba = clf.predict_proba(X[150:])
    assert proba.shape == (50, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    pred = clf.predict(X[150:])
    assert pred.dtype == y.dtype
    np.testing.assert_array_equal(pred, (proba[:, 1] >= 0.5).astype(int))
    assert np.mean(pred == y[150:]) >= 0.9


def test_binary_string_labels_and_threshold():
    X, y01 = make_signals(160)
    y = np.where(y01 == 1, "N", "AF")
    clf = fast().fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["AF", "N"])
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), np.where(proba[:, 1] >= 0.5, "N", "AF"))
    assert np.mean(clf.predict(X) == y) >= 0.9
    clf.set_params(threshold=0.0)
    assert (clf.predict(X) == "N").all()
    clf.set_params(threshold=[0.5])
    with pytest.raises(ValueError, match="threshold must be a scalar"):
        clf.predict(X)


def test_binary_with_cross_entropy_uses_two_logits():
    X, y = make_signals(120)
    clf = fast(criterion="ce", max_epochs=2).fit(X, y)
    assert clf.n_outputs_ == 2 and clf.module_.head.out_features == 2
    assert isinstance(clf.criterion_, nn.CrossEntropyLoss)
    proba = clf.predict_proba(X)
    logits = clf.forward(X)
    np.testing.assert_allclose(proba, torch.softmax(logits, 1).numpy(), rtol=1e-5)
    # The threshold decides with two logits as with one, in predict and in valid_acc.
    for threshold in (0.0, 0.3, 1.0):
        clf.set_params(threshold=threshold)
        np.testing.assert_array_equal(clf.predict(X), (proba[:, 1] >= threshold).astype(int))
        assert _classifier.valid_accuracy(clf, X, y) == np.mean((proba[:, 1] >= threshold) == y)


def test_multiclass_string_labels_learns():
    X, y_idx = make_signals(240, n_classes=3)
    names = np.array(["normal", "AF", "other"])
    y = names[y_idx]
    clf = fast().fit(X[:180], y[:180])
    assert clf.target_type_ == "multiclass" and clf.n_outputs_ == 3
    np.testing.assert_array_equal(clf.classes_, ["AF", "normal", "other"])
    assert isinstance(clf.criterion_, nn.CrossEntropyLoss)
    proba = clf.predict_proba(X[180:])
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    pred = clf.predict(X[180:])
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(1)])
    assert np.mean(pred == y[180:]) >= 0.85  # chance is 1/3


def test_multilabel_indicator_and_dataframe_names():
    X, Y = make_multilabel(200)
    cols = ["NORM", "MI", "STTC"]
    clf = fast(max_epochs=15).fit(X[:150], pd.DataFrame(Y[:150], columns=cols))
    assert clf.target_type_ == "multilabel-indicator" and clf.n_outputs_ == 3
    np.testing.assert_array_equal(clf.classes_, cols)
    proba = clf.predict_proba(X[150:])
    assert proba.shape == (50, 3)
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent sigmoids
    pred = clf.predict(X[150:])
    assert pred.shape == (50, 3) and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (proba >= 0.5).astype(int))
    assert roc_auc_score(Y[150:], proba, average="macro") >= 0.9
    # a plain indicator matrix names the labels by column index
    clf2 = fast(max_epochs=1).fit(X, Y)
    np.testing.assert_array_equal(clf2.classes_, [0, 1, 2])


def test_named_label_columns_are_matched_by_name_after_the_first_fit():
    # partial_fit and warm fits took the columns by position: MI's labels trained AF's output.
    X, Y = make_multilabel(200)
    cols = ["AF", "NORM", "MI"]
    frame = pd.DataFrame(Y[:150], columns=cols)
    clf = fast(max_epochs=1).fit(X[:150], frame)
    reordered = frame[["MI", "AF", "NORM"]]
    for _ in range(15):
        clf.partial_fit(X[:150], reordered)
    auc = roc_auc_score(Y[150:], clf.predict_proba(X[150:]), average=None)
    assert (auc >= 0.9).all(), auc
    clf.set_params(warm_start=True, max_epochs=1).fit(X[:150], reordered)
    with pytest.raises(ValueError, match=re.escape(
            "y's columns ['a', 'b', 'c'] are not the labels of the first fit "
            "['AF', 'NORM', 'MI']")):
        clf.partial_fit(X[:150], pd.DataFrame(Y[:150], columns=["a", "b", "c"]))


def test_label_columns_named_by_integers_are_matched_by_name_and_so_is_score():
    # Integer names (SNOMED codes) were taken by position: a reordered frame trained each
    # output on another label, and another set of codes was accepted. score never matched.
    X, Y = make_multilabel(120)
    codes = [426783006, 164889003, 270492004]
    frame = pd.DataFrame(Y, columns=codes)
    clf = fast(max_epochs=1).fit(X, frame)
    reordered = frame[[codes[2], codes[0], codes[1]]]
    assert clf.score(X, reordered) == clf.score(X, frame) == clf.score(X, Y)
    with pytest.raises(ValueError, match=re.escape(
            "y's columns ['1', '2', '3'] are not the labels of the first fit "
            "['426783006', '164889003', '270492004']")):
        clf.partial_fit(X, pd.DataFrame(Y, columns=[1, 2, 3]))
    before = {key: value.clone() for key, value in clf.module_.state_dict().items()}
    torch.manual_seed(0)
    clf.partial_fit(X, reordered)
    torch.manual_seed(0)
    same = clone(clf).fit(X, frame)  # the same first fit...
    same.partial_fit(X, frame)  # ...then the columns in order: the same weights
    for key, value in clf.module_.state_dict().items():
        assert torch.equal(value, same.module_.state_dict()[key]), key
    assert any(not torch.equal(v, before[k]) for k, v in clf.module_.state_dict().items())
    # A first fit without names: later frames are read by position, whatever their names.
    unnamed = fast(max_epochs=1).fit(X, Y)
    unnamed.partial_fit(X, pd.DataFrame(Y, columns=["x", "y", "z"]))
    assert unnamed.score(X, pd.DataFrame(Y, columns=["x", "y", "z"])) == unnamed.score(X, Y)


def test_sparse_and_nullable_boolean_label_matrices_are_read_as_indicators():
    # Both were refused: "y has a scalar" (np.asarray of a sparse matrix), and "Unknown label
    # type: unknown" (a "boolean" frame became objects); sklearn reads both as indicators.
    import scipy.sparse

    X, Y = make_multilabel(40)
    clf = fast(max_epochs=1).fit(X, scipy.sparse.csr_matrix(Y))
    assert clf.target_type_ == "multilabel-indicator" and clf.n_outputs_ == 3
    frame = pd.DataFrame(Y.astype(bool), columns=["a", "b", "c"]).astype("boolean")
    clf = fast(max_epochs=1).fit(X, frame)
    assert clf.target_type_ == "multilabel-indicator" and list(clf.classes_) == ["a", "b", "c"]
    assert clf.predict_proba(X).shape == (40, 3)


def test_multilabel_threshold_per_label():
    X, Y = make_multilabel(100)
    clf = fast(max_epochs=3).fit(X, Y)
    proba = clf.predict_proba(X)
    thr = np.array([0.0, 0.7, 1.0])
    clf.set_params(threshold=thr)
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, (proba >= thr).astype(int))
    assert pred[:, 0].all()
    clf.set_params(threshold=[0.5, 0.5])
    with pytest.raises(ValueError, match="threshold has shape \\(2,\\).*3 labels"):
        clf.predict(X)
    clf.set_params(threshold=1.5)
    with pytest.raises(ValueError, match="threshold must hold probabilities"):
        clf.predict(X)


class NaNNet(TinyNet):
    """TinyNet whose logits turn NaN: in training (``when="train"``) or in evaluation."""

    def __init__(self, in_channels=1, n_classes=2, hidden=8, when="train"):
        super().__init__(in_channels, n_classes, hidden)
        self.when = when

    def forward(self, x):
        out = super().forward(x)
        return out * float("nan") if self.training == (self.when == "train") else out


@pytest.mark.parametrize("when, key", [("train", "train_loss"), ("eval", "valid_loss")])
def test_a_diverged_training_fails_and_leaves_the_net_unfitted(when, key):
    X, y = make_signals(n=40)
    net = ECGNetClassifier(NaNNet, module__when=when, max_epochs=5, lr=1e-2, batch_size=32,
                           random_state=0)
    with pytest.raises(ValueError, match=f"the training diverged: {key} is nan at epoch 1. "
                                         "Lower lr, set grad_clip"):
        net.fit(X, y)
    assert len(net.history) == 1  # stopped at once, not trained on to max_epochs
    with pytest.raises(NotFittedError):
        net.predict(X)
    # A fitted net that diverges when trained on is unfitted too: not its NaN weights.
    fitted = fast(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="the training diverged"):
        fitted.partial_fit(X * np.float32(1e37), y)  # finite, but overflows in the net
    with pytest.raises(NotFittedError):
        fitted.predict(X)
    # Without the check (as asked), the same fit "succeeds" with NaN probabilities.
    net.set_params(callbacks__finite_loss=None, max_epochs=1).fit(X, y)
    assert np.isnan(net.predict_proba(X)).all()


def test_fit_rejects_threshold_of_wrong_length():
    X, Y = make_multilabel(40)
    with pytest.raises(ValueError, match="threshold has shape \\(4,\\)"):
        fast(threshold=[0.5] * 4, max_epochs=1).fit(X, Y)


def test_module_kwargs_are_filled_and_user_values_win():
    X, y = make_signals(60, n_leads=3, n_classes=3)
    clf = fast(module__hidden=5, max_epochs=1).fit(X, y)
    assert clf.module_.conv.in_channels == 3
    assert clf.module_.conv.out_channels == 5
    assert clf.module_.head.out_features == 3
    assert "module__n_classes" not in clf.get_params()
    # a user-set n_classes wins, and a wrong one is reported clearly
    with pytest.raises(ValueError, match="module returned logits of shape.*module__n_classes"):
        fast(module__n_classes=5, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="module__in_channels=12 but X has 3 lead"):
        fast(module__in_channels=12, max_epochs=1).fit(X, y)


def test_a_module_without_n_classes_is_not_told_to_set_module__n_classes():
    # Its advice, module__n_classes=3, then failed with "unexpected keyword argument".
    class OtherNames(nn.Module):
        def __init__(self, n_leads=3, num_classes=2):
            super().__init__()
            self.head = nn.Linear(n_leads, num_classes)

        def forward(self, x):
            return self.head(x.mean(dim=-1))

    X, y = make_signals(30, n_leads=3, n_classes=3)
    with pytest.raises(ValueError, match=r"logits of shape \(\d+, 2\), but \(batch, 3\) is "
                                         r"needed .*; OtherNames takes no n_classes, which fit "
                                         r"fills from the data: give it 3 outputs through its "
                                         r"own parameter \(module__<name>\)"):
        ECGNetClassifier(OtherNames, max_epochs=1, device="cpu").fit(X, y)
    ECGNetClassifier(OtherNames, module__num_classes=3, max_epochs=1, device="cpu").fit(X, y)
    # An instance is built already: neither module__n_classes nor its own parameter applies.
    with pytest.raises(ValueError, match=r"; module is a OtherNames instance: build it with 3 "
                                         r"outputs, or pass its class"):
        ECGNetClassifier(OtherNames(), max_epochs=1, device="cpu").fit(X, y)


def test_a_module_without_in_channels_is_told_the_lead_count_on_a_channel_mismatch():
    # torch's raw "expected input[...] to have 12 channels, but got 1" named no remedy.
    class LeadNames(nn.Module):
        def __init__(self, n_leads=12, n_classes=2):
            super().__init__()
            self.conv = nn.Conv1d(n_leads, 4, 5)
            self.head = nn.Linear(4, n_classes)

        def forward(self, x):
            return self.head(self.conv(x).mean(dim=-1))

    X, y = make_signals(30, n_leads=3, n_classes=3)
    with pytest.raises(ValueError, match=r"module failed on a batch of shape \(\d+, 3, \d+\): .*"
                                         r"to have 12 channels.*; LeadNames takes no "
                                         r"in_channels, which fit fills from the data: give it "
                                         r"3 lead\(s\) through its own parameter"):
        ECGNetClassifier(LeadNames, module__n_classes=3, max_epochs=1, device="cpu").fit(X, y)
    ECGNetClassifier(LeadNames, module__n_leads=3, module__n_classes=3, max_epochs=1,
                     device="cpu").fit(X, y)
    with pytest.raises(ValueError, match=r"; module is a LeadNames instance: build it for 3 "
                                         r"lead\(s\), or pass its class"):
        ECGNetClassifier(LeadNames(n_classes=3), max_epochs=1, device="cpu").fit(X, y)

    class Told(LeadNames):  # told the lead count: its error is its own
        def __init__(self, in_channels=3, n_classes=3):
            super().__init__(n_leads=12, n_classes=n_classes)

    with pytest.raises(RuntimeError, match="to have 12 channels"):
        ECGNetClassifier(Told, max_epochs=1, device="cpu").fit(X, y)

    class Inner(LeadNames):  # built for the 3 leads; its second layer is wrong
        def __init__(self, n_leads=12, n_classes=3):
            super().__init__(n_leads=n_leads, n_classes=n_classes)
            self.conv = nn.Sequential(nn.Conv1d(n_leads, 4, 5), nn.Conv1d(8, 4, 5))

    with pytest.raises(RuntimeError, match="to have 8 channels, but got 4"):
        ECGNetClassifier(Inner, module__n_leads=3, max_epochs=1, device="cpu").fit(X, y)


def test_a_net_of_a_module_class_defined_in_a_function_pickles():
    # As MLflow stores a model, with cloudpickle: the net's inner stream, skorch's plain
    # pickle, refused a class defined in a function ("Can't pickle local object"), and
    # named one of a pipeline file by its module (tests/compare/test_registry.py).
    import pickle

    import cloudpickle

    def make():
        class Local(nn.Module):
            def __init__(self, in_channels=3, n_classes=2):
                super().__init__()
                self.head = nn.Linear(in_channels, n_classes)

            def forward(self, x):
                return self.head(x.mean(dim=-1))

        return Local

    X, y = make_signals(20, n_leads=3)
    net = ECGNetClassifier(make(), max_epochs=1, device="cpu").fit(X, y)
    back = pickle.loads(cloudpickle.dumps(net))
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))


def _weights(module):
    return [p.detach().clone() for p in module.parameters()]


def test_a_module_instance_is_where_every_fit_starts_and_never_changes():
    """A copy is trained: a refit, a clone and each CV fold start from the instance alike."""
    X, y = make_signals(60)
    module = TinyNet(in_channels=2, n_classes=1, hidden=3)
    start = _weights(module)
    clf = ECGNetClassifier(module, max_epochs=2, lr=1e-2, random_state=0).fit(X, y)
    assert clf.module_ is not module and type(clf.module_) is TinyNet
    assert all(torch.equal(a, b) for a, b in zip(start, _weights(module)))
    assert not all(torch.equal(a, b) for a, b in zip(start, _weights(clf.module_)))
    first = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.fit(X, y).predict_proba(X), first)  # not trained on
    np.testing.assert_array_equal(clone(clf).fit(X, y).predict_proba(X), first)


def test_rebuilding_the_module_of_a_fitted_net_unfits_it():
    """skorch builds the module anew on set_params(module__*): no prediction from it."""
    X, y = make_signals(60)
    clf = fast(max_epochs=1).fit(X, y)
    proba = clf.predict_proba(X)
    clf.set_params(lr=1e-3, batch_size=16)  # no module rebuilt: still fitted, same model
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    clf.set_params(module__hidden=8)  # TinyNet's default: the same network, untrained
    with pytest.raises(NotFittedError):
        clf.predict_proba(X)
    assert clf.fit(X, y).predict_proba(X).shape == proba.shape


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("X, message", [
    (np.zeros((4, 2, 3, 10), np.float32), "must be 3-D"),
    (np.zeros(10, np.float32), "must be 3-D"),
])
def test_wrong_rank(X, message):
    with pytest.raises(ValueError, match=message):
        fast(max_epochs=1).fit(X, np.arange(len(X)) % 2)


def test_nan_input_names_record():
    X, y = make_signals(20)
    X[7, 1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite.*first at index 7"):
        fast(max_epochs=1).fit(X, y)
    clf = fast(max_epochs=1).fit(*make_signals(20))
    with pytest.raises(ValueError, match="first at index 7"):
        clf.predict(X)


def test_y_of_wrong_length():
    X, y = make_signals(20)
    with pytest.raises(ValueError, match="X has 20 records but y has 19 labels"):
        fast(max_epochs=1).fit(X, y[:-1])


def test_label_matrix_of_wrong_width_at_partial_fit():
    X, Y = make_multilabel(40)
    clf = fast(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="y has 2 label columns but .* fitted on 3 labels"):
        clf.partial_fit(X, Y[:, :2])
    clf.set_params(warm_start=True)
    with pytest.raises(ValueError, match="y has 4 label columns"):
        clf.fit(X, np.hstack([Y, Y[:, :1]]))
    # without warm_start, a new fit starts over with the new width
    clf.set_params(warm_start=False)
    clf.fit(X, Y[:, :2])
    assert clf.n_outputs_ == 2 and clf.predict_proba(X).shape == (40, 2)


def test_unseen_labels_and_leads():
    X, y = make_signals(30, n_classes=3)
    clf = fast(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="labels not seen in the first fit: \\[7\\]"):
        clf.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="X has 3 lead\\(s\\), but .* fitted on 2"):
        clf.predict(np.zeros((2, 3, 64), np.float32))
    with pytest.raises(ValueError, match="X has 50 samples per record, but .* fitted on 64"):
        clf.predict(np.zeros((2, 2, 50), np.float32))
    # with crop_length, records of any length >= crop_length are predicted by windows
    clf = fast(max_epochs=1, crop_length=32).fit(X, y)
    assert clf.predict_proba(np.zeros((2, 2, 50), np.float32)).shape == (2, 3)


def test_sliding_windows_pass_through_the_network_a_batch_at_a_time():
    # Every window of a batch went through the network at once: 64 records of 60 s took
    # 2.2 GB, and a GPU that trained at that batch size ran out of memory predicting.
    X, y = make_signals(60)
    clf = fast(max_epochs=1, crop_length=16, window_stride=4, batch_size=8).fit(X, y)
    seen = []
    hook = clf.module_.register_forward_pre_hook(lambda m, args: seen.append(len(args[0])))
    long = np.random.default_rng(1).normal(size=(20, 2, 200)).astype(np.float32)
    proba = clf.predict_proba(long)  # 47 windows per record, batches of 8 records
    hook.remove()
    assert max(seen) <= 8 and sum(seen) == 20 * 47
    # the same probabilities as one pass over every window of each record
    with torch.no_grad():
        windows = torch.as_tensor(long).unfold(2, 16, 4).permute(0, 2, 1, 3)
        logits = clf.module_(windows.reshape(-1, 2, 16)).reshape(20, 47, -1)
    expected = clf._logits_to_proba(_windows.aggregate_window_logits(
        logits, clf.window_aggregate, clf._loss_activation())).numpy()
    np.testing.assert_allclose(proba, expected, atol=1e-6)


def test_set_params_reaches_a_warm_start_and_partial_fit():
    # The default callbacks and the class weights were built at the first fit
    # only: a warm start trained on without early stopping, clipping or weights.
    X, y = make_signals(40)
    y = (np.arange(40) % 4 == 0).astype(int)
    clf = fast(max_epochs=1, patience=None, grad_clip=None, lr_patience=None).fit(X, y)
    names = {name for name, _ in clf.callbacks_}
    assert not {"early_stopping", "grad_clip", "lr_scheduler"} & names
    assert clf.class_weight_ is None
    clf.set_params(patience=1, grad_clip=1e-3, lr_patience=0, class_weight="balanced",
                   warm_start=True)
    assert {"early_stopping", "grad_clip", "lr_scheduler"} <= {n for n, _ in clf.callbacks_}
    assert dict(clf.callbacks_)["grad_clip"].gradient_clip_value == 1e-3
    clf.fit(X, y)
    assert len(clf.history) == 2  # warm: trained on
    np.testing.assert_allclose(clf.class_weight_, [2 / 3, 2])
    assert clf.criterion_.pos_weight.item() == pytest.approx(3.0)
    clf.set_params(patience=None)
    clf.partial_fit(X, y)
    assert "early_stopping" not in dict(clf.callbacks_) and len(clf.history) == 3


def test_partial_fit_follows_class_weight_set_after_the_first_call():
    # partial_fit kept the first call's weights: get_params said "balanced", the loss
    # weighed nothing.
    X, y = make_signals(40)
    y = (np.arange(40) % 4 == 0).astype(int)
    clf = fast(max_epochs=1).partial_fit(X, y)
    assert clf.class_weight_ is None and clf.criterion_.pos_weight is None
    clf.set_params(class_weight="balanced").partial_fit(X, y)
    np.testing.assert_allclose(clf.class_weight_, [2 / 3, 2])
    assert clf.criterion_.pos_weight.item() == pytest.approx(3.0)
    # "balanced" stays the weights it was computed as, whatever a later batch holds.
    clf.partial_fit(X[:20], np.r_[np.ones(10, int), np.zeros(10, int)])
    np.testing.assert_allclose(clf.class_weight_, [2 / 3, 2])
    clf.set_params(class_weight={0: 1.0, 1: 5.0}).partial_fit(X, y)
    np.testing.assert_allclose(clf.class_weight_, [1, 5])
    assert clf.criterion_.pos_weight.item() == pytest.approx(5.0)
    clf.set_params(class_weight=None).partial_fit(X, y)
    assert clf.class_weight_ is None and clf.criterion_.pos_weight is None


def test_a_warm_start_puts_the_rebuilt_criterion_on_the_nets_device(monkeypatch):
    # The criterion rebuilt for new class weights stayed on the CPU: its pos_weight would
    # meet CUDA logits at the first loss. skorch moves what it builds with to_device.
    import skorch.net
    X, y = make_signals(40)
    y = (np.arange(40) % 4 == 0).astype(int)
    clf = fast(max_epochs=1).fit(X, y)
    moved = []
    real = skorch.net.to_device
    monkeypatch.setattr(skorch.net, "to_device",
                        lambda obj, device: moved.append((obj, device)) or real(obj, device))
    clf.set_params(class_weight="balanced", warm_start=True).fit(X, y)
    assert any(obj is clf.criterion_ and device == clf.device for obj, device in moved)
    assert clf.criterion_.pos_weight.item() == pytest.approx(3.0)


def test_partial_fit_with_classes_and_continuation():
    X, y = make_signals(60, n_classes=3)
    clf = fast(max_epochs=1)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.n_outputs_ == 3
    w = clf.module_.head.weight.detach().clone()
    clf.partial_fit(X, y)
    assert not torch.equal(w, clf.module_.head.weight)  # trained on, same module
    assert len(clf.history) == 2


def test_partial_fit_of_a_label_matrix_takes_its_labels_or_its_values_as_classes():
    # The first call took any classes and the second compared them with the labels, so
    # learning_curve's incremental fits (classes=np.unique(Y), [0, 1]) failed on a matrix.
    from sklearn.model_selection import learning_curve

    X, Y = make_multilabel(40)
    for classes in ([0, 1], [0, 1, 2]):
        clf = fast(max_epochs=1).partial_fit(X, Y, classes=classes)
        clf.partial_fit(X, Y, classes=classes)
        assert len(clf.history) == 2 and clf.classes_.tolist() == [0, 1, 2]
    for bad in (["junk"], [0, 5]):
        with pytest.raises(ValueError, match=r"is neither the labels \[0, 1, 2\] of the label "
                                             r"matrix y nor its values 0 and 1"):
            fast(max_epochs=1).partial_fit(X, Y, classes=bad)
    sizes, train, test = learning_curve(fast(max_epochs=1), X, Y, cv=2, train_sizes=[0.5, 1.0],
                                        exploit_incremental_learning=True)
    assert train.shape == test.shape == (2, 2)
    # A DataFrame of mixed column names: np.unique could not sort them (a review's find).
    frame = pd.DataFrame(Y, columns=["a", 1, 2.5])
    clf = fast(max_epochs=1).partial_fit(X, frame, classes=[0, 1])
    clf.partial_fit(X, frame, classes=["a", 1, 2.5])
    assert clf.classes_.tolist() == ["a", 1, 2.5]


@pytest.mark.parametrize("params, message", [
    ({"criterion": "hinge"}, "criterion must be one of .*'hinge'"),
    ({"criterion": 3}, "criterion must be one of"),
    ({"patience": 0}, "patience must be an integer >= 1"),
    ({"batch_size": 0}, r"batch_size must be an integer >= 1, or -1 for one batch of every "
                        r"record, got 0"),
    ({"batch_size": -1.0}, r"batch_size must be an integer >= 1, or -1 .* got -1.0"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"valid_size": 1.5}, "valid_size must be"),
    ({"class_weight": "auto"}, "class_weight must be None, 'balanced' or a dict"),
    ({"class_weight": {0: 1.0, 5: 2.0}}, "class_weight has keys \\[5\\] that are not classes"),
    ({"class_weight": {0: -1.0}}, "class_weight values must be positive"),
    # 0 in float32, and an infinite pos_weight: it read as a diverged training
    ({"class_weight": {0: 1e-45}}, r"class_weight values \{0: 1e-45\} do not fit in float32"),
    ({"class_weight": {0: 1e-20, 1: 1e20}}, "do not fit in float32"),
    ({"class_weight": {0: "a"}}, r"class_weight values must be positive numbers, got \{0: 'a'\}"),
    ({"threshold": ["a"]}, r"threshold must hold probabilities in \[0, 1\], got \['a'\]"),
    ({"threshold": True}, r"threshold must hold probabilities in \[0, 1\], got True"),
    ({"threshold": [0.5, True]}, r"threshold must hold probabilities .* got \[0.5, True\]"),
    # the DataLoader read "false" as on: a RandomSampler
    ({"iterator_train__shuffle": "false"}, "iterator_train__shuffle must be True or False, "
                                           "got 'false'"),
    ({"optimizer": "adam"}, "optimizer must be a torch.optim.Optimizer class .* got 'adam'"),
    ({"window_aggregate": "median", "crop_length": 16}, "window_aggregate must be"),
    ({"window_stride": 4}, "window_stride is set but crop_length is None"),
    ({"crop_length": 100}, "X has 64 samples per record, fewer than crop_length=100; pad"),
    ({"amp_dtype": "float8"}, "amp_dtype must be"),
    ({"crop_length": 16, "window_stride": 32}, "window_stride=32 is longer than "
                                               "crop_length=16: the windows would skip"),
    ({"augment": 3}, "augment must be None, an object with augment_batch"),
    ({"augment": Augmenter}, r"augment must be an instance, such as Augmenter\(\), not the "
                             "class Augmenter"),
    ({"augment": [lambda x, generator=None: x, Augmenter]},  # a TypeError inside training
     r"augment\[1\] must be an instance, such as Augmenter\(\), not the class Augmenter"),
    ({"train_split": "holdout"}, "train_split must be 'auto', None or a callable"),
    ({"random_state": "abc"},
     r"random_state must be None, an int or a numpy RandomState, got 'abc'"),
    ({"verbose": "loud"}, "verbose must be an integer >= 0, got 'loud'"),
    ({"dataset": 3}, "dataset must be a Dataset class or callable, got 3"),
    ({"device": "tpu"}, "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, "
                        "got 'tpu'"),
])
def test_bad_parameters_raise_clear_errors(params, message):
    X, y = make_signals(20)
    with pytest.raises(ValueError, match=message):
        fast(max_epochs=1, **params).fit(X, y)


def test_numpy_integer_batch_sizes_train_and_predict():
    # torch's sampler refuses anything but an int: GridSearchCV over np.array([8, 16]) failed
    # with "batch_size should be a positive integer value, but got batch_size=8".
    X, y = make_signals(20)
    clf = fast(max_epochs=1, batch_size=np.int64(8)).fit(X, y)
    assert clf.predict_proba(X).shape == (20, 2)
    clf.set_params(batch_size=np.int32(4))
    before = clf.predict_proba(X)
    assert before.shape == (20, 2)
    # skorch alone raised "Something went wrong, please open an issue" on a fitted net
    clf.set_params(iterator_valid__batch_size=np.int64(3))
    assert clf.get_params()["iterator_valid__batch_size"] == 3
    assert clf.get_iterator(clf.get_dataset(X)).batch_size == 3
    np.testing.assert_allclose(clf.predict_proba(X), before, rtol=1e-5, atol=1e-6)
    assert fast(max_epochs=1, batch_size=-1).fit(X, y).predict(X).shape == (20,)


def test_predict_nonlinearity_none_is_refused_by_name_and_a_callable_is_used():
    # skorch's None makes predict_proba return logits: predict failed with an IndexError on
    # a binary target, and thresholded logits at 0.5 on a multi-label one.
    X, Y = make_multilabel(40)
    message = ("predict_nonlinearity must be 'auto' or a callable that turns the module's "
               "output into probabilities, got None; for the logits, call "
               "ECGNetClassifier.forward(X).")
    with pytest.raises(ValueError, match=re.escape(message)):
        fast(max_epochs=1, predict_nonlinearity=None).fit(X, Y)
    clf = fast(max_epochs=1).fit(X, Y)
    clf.set_params(predict_nonlinearity=None)
    with pytest.raises(ValueError, match=re.escape(message)):
        clf.predict(X)
    clf.set_params(predict_nonlinearity=lambda logits: torch.sigmoid(logits / 2))
    logits = clf.forward(X).numpy()
    np.testing.assert_allclose(clf.predict_proba(X), 1 / (1 + np.exp(-logits / 2)), rtol=1e-5)


def test_check_builds_builds_without_weights_what_fit_would_build():
    from ecgsk.nets import ResNet1d

    built = []

    class Needs(nn.Module):  # in_channels has no default: fit fills it from the data
        def __init__(self, in_channels, n_classes=2):
            super().__init__()
            self.head = nn.Linear(in_channels, n_classes)
            built.append(in_channels)

    ECGNetClassifier(Needs)._check_builds()
    assert built == []
    ECGNetClassifier(Needs, module__in_channels=3)._check_builds()
    assert built == [3]
    ECGNetClassifier(ResNet1d, module__channels=8)._check_builds()
    with pytest.raises(ValueError, match="layers"):
        ECGNetClassifier(ResNet1d, module__layers=(0,))._check_builds()
    with pytest.raises(ValueError, match="Invalid weight_decay value: -1"):
        ECGNetClassifier(ResNet1d, optimizer__weight_decay=-1)._check_builds()
    # The meta device: no weights were made, so a huge network costs nothing.
    ECGNetClassifier(ResNet1d, module__channels=100_000)._check_builds()


def test_a_criterion_class_fits_the_target_or_is_refused_by_name():
    X, y = make_signals(60, n_classes=3)
    Xm, Y = make_multilabel(60)
    # CrossEntropyLoss trained one softmax over the labels; predict gave sigmoids.
    with pytest.raises(ValueError, match="criterion=CrossEntropyLoss needs a binary or "
                                         "multiclass target; use 'bce' or 'focal'"):
        fast(max_epochs=1, criterion=nn.CrossEntropyLoss).fit(Xm, Y)
    # BCEWithLogitsLoss against class indices failed inside torch on shapes.
    with pytest.raises(ValueError, match="criterion=BCEWithLogitsLoss needs a binary or "
                                         "multi-label target; use 'ce' or 'focal'"):
        fast(max_epochs=1, criterion=nn.BCEWithLogitsLoss).fit(X, y)
    assert fast(max_epochs=1, criterion=nn.BCEWithLogitsLoss).fit(X, y % 2).n_outputs_ == 1
    # The FocalLoss class takes its mode from the target, as criterion="focal" does
    # (it failed in the first batch on shapes (27, 3) and (27,)).
    for target, mode in ((y, "multiclass"), (Y, "multilabel"), (y % 2, "binary")):
        data = Xm if target is Y else X
        clf = fast(max_epochs=1, criterion=FocalLoss).fit(data, target)
        assert clf.criterion_.mode == mode
    assert fast(max_epochs=1, criterion=FocalLoss).fit(X, y).criterion_.alpha is None
    kept = fast(max_epochs=1, criterion=FocalLoss, criterion__mode="multiclass",
                criterion__alpha=[1.0, 2.0, 3.0]).fit(X, y).criterion_
    assert kept.mode == "multiclass" and kept.alpha is not None  # a user's wins
    with pytest.raises(ValueError, match=r"criterion is a FocalLoss\(mode='binary'\) but this "
                                         r"multiclass target needs mode='multiclass'"):
        fast(max_epochs=1, criterion=FocalLoss(mode="binary")).fit(X, y)


@pytest.mark.parametrize("module", [None, "resnet"])
def test_a_module_that_is_no_torch_module_is_refused_by_name(module):
    X, y = make_signals(20)
    with pytest.raises(ValueError, match=f"module must be a torch.nn.Module class .*, got "
                                         f"{module!r}"):
        ECGNetClassifier(module, max_epochs=1).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_cuda_on_a_machine_without_it_is_refused_by_name():
    X, y = make_signals(20)
    with pytest.raises(ValueError, match="device='cuda' needs a CUDA GPU, and torch finds none"):
        fast(max_epochs=1, device="cuda").fit(X, y)


def test_criterion_incompatible_with_target():
    X, y = make_signals(30, n_classes=3)
    with pytest.raises(ValueError, match="criterion='bce' needs a binary or multi-label"):
        fast(criterion="bce", max_epochs=1).fit(X, y)
    X, Y = make_multilabel(30)
    with pytest.raises(ValueError, match="criterion='ce' needs a binary or multiclass"):
        fast(criterion="ce", max_epochs=1).fit(X, Y)


def test_continuous_and_single_class_targets_are_rejected():
    X, _ = make_signals(20)
    with pytest.raises(ValueError, match="Unknown label type"):
        fast(max_epochs=1).fit(X, np.linspace(0, 1, 20))
    with pytest.raises(ValueError, match="only 1 class"):
        fast(max_epochs=1).fit(X, np.zeros(20))


def test_unfitted_predict_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        fast().predict_proba(np.zeros((2, 2, 64), np.float32))


# ---------------------------------------------------------------------------
# criteria and class weights
# ---------------------------------------------------------------------------
def test_focal_criterion_modes():
    X, y = make_signals(60, n_classes=3)
    clf = fast(criterion="focal", max_epochs=1).fit(X, y)
    assert isinstance(clf.criterion_, FocalLoss) and clf.criterion_.mode == "multiclass"
    assert clf.criterion_.alpha is None  # plain multiclass focal loss by default
    clf = fast(criterion="focal", criterion__alpha=0.5, max_epochs=1).fit(X, y)
    assert float(clf.criterion_.alpha) == 0.5
    X, Y = make_multilabel(60)
    clf = fast(criterion="focal", criterion__gamma=1.0, max_epochs=1).fit(X, Y)
    assert clf.criterion_.mode == "multilabel" and clf.criterion_.gamma == 1.0
    assert float(clf.criterion_.alpha) == 0.25
    X, y = make_signals(60)
    clf = fast(criterion="focal", max_epochs=1).fit(X, y)
    assert clf.criterion_.mode == "binary"


def test_custom_criterion_class():
    X, y = make_signals(60, n_classes=3)
    clf = fast(criterion=nn.CrossEntropyLoss, criterion__label_smoothing=0.1,
               max_epochs=1).fit(X, y)
    assert clf.criterion_.label_smoothing == 0.1
    clf = fast(criterion=nn.CrossEntropyLoss, criterion__label_smoothing=0.1,
               class_weight="balanced", max_epochs=1).fit(X, y)
    assert clf.criterion_.label_smoothing == 0.1 and clf.criterion_.weight is not None


def test_instances_that_would_be_rebuilt_without_their_settings_are_refused():
    # skorch builds type(instance)(**kwargs): the settings (and weights) of the instance
    # were lost without a word, for class weights and module__* parameters.
    X, y = make_signals(60, n_classes=3)
    smoothing = nn.CrossEntropyLoss(label_smoothing=0.2)
    with pytest.raises(ValueError, match=r"criterion is a CrossEntropyLoss instance, so "
                                         r"class_weight's weight cannot be given to it .* "
                                         r"\(criterion=CrossEntropyLoss, "
                                         r"criterion__label_smoothing"):
        fast(criterion=smoothing, class_weight="balanced", max_epochs=1).fit(X, y)
    assert fast(criterion=smoothing, max_epochs=1).fit(X, y).criterion_.label_smoothing == 0.2
    net = TinyNet(in_channels=2, n_classes=3, hidden=4)
    with pytest.raises(ValueError, match=r"module is a TinyNet instance, so module__hidden cannot "
                                         r"be applied to it"):
        ECGNetClassifier(net, module__hidden=6, max_epochs=1).fit(X, y)
    assert ECGNetClassifier(net, max_epochs=1).fit(X, y).module_.head.in_features == 8


def test_a_class_weight_the_criterion_cannot_take_in_full_is_refused():
    class WeightOnly(nn.Module):  # BCE with per-sample weights only: no pos_weight
        def __init__(self, weight=None):
            super().__init__()
            self.loss = nn.BCEWithLogitsLoss(weight=weight)

        def forward(self, logits, target):
            return self.loss(logits, target)

    X, y = make_signals(60)
    with pytest.raises(ValueError, match=r"class_weight passes weight and pos_weight to the "
                                         r"criterion, which WeightOnly does not accept "
                                         r"\(pos_weight\)"):
        fast(criterion=WeightOnly, class_weight={0: 1.0, 1: 5.0}, max_epochs=1).fit(X, y)


def test_class_weight_balanced_binary_multiclass_multilabel():
    X, y = make_signals(100)
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:10]]  # 50 vs 10
    clf = fast(class_weight="balanced", max_epochs=1, train_split=None).fit(X[keep], y[keep])
    # negatives weigh n / (2 * 50), positives n / (2 * 10): pos_weight is their ratio
    np.testing.assert_allclose(clf.criterion_.weight.numpy(), [0.6])
    np.testing.assert_allclose(clf.criterion_.pos_weight.numpy(), [5.0])
    clf = fast(class_weight="balanced", criterion="focal", max_epochs=1,
               train_split=None).fit(X[keep], y[keep])
    np.testing.assert_allclose(clf.criterion_.pos_weight.numpy(), [5.0])

    X3, y3 = make_signals(90, n_classes=3)
    keep = np.r_[np.flatnonzero(y3 == 0), np.flatnonzero(y3 == 1)[:10],
                 np.flatnonzero(y3 == 2)[:5]]
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y3[keep])
    clf = fast(class_weight="balanced", max_epochs=1, train_split=None).fit(X3[keep], y3[keep])
    np.testing.assert_allclose(clf.criterion_.weight.numpy(), expected, rtol=1e-6)
    clf = fast(class_weight="balanced", criterion="focal", max_epochs=1,
               train_split=None).fit(X3[keep], y3[keep])
    np.testing.assert_allclose(clf.criterion_.weight.numpy(), expected, rtol=1e-6)

    XM, YM = make_multilabel(80)
    n_pos = YM.sum(axis=0)
    clf = fast(class_weight="balanced", max_epochs=1, train_split=None).fit(XM, YM)
    np.testing.assert_allclose(clf.criterion_.pos_weight.numpy(), (80 - n_pos) / n_pos,
                               rtol=1e-6)
    # user-set criterion parameters win over the computed ones
    clf = fast(class_weight="balanced", criterion__pos_weight=torch.ones(3),
               max_epochs=1, train_split=None).fit(XM, YM)
    np.testing.assert_array_equal(clf.criterion_.pos_weight.numpy(), [1, 1, 1])


def test_balanced_class_weights_leave_the_validation_records_out(capsys):
    # They counted the labels of the validation split too, which the network then validated
    # (early stopping, best epoch) on.
    from ecgsk.neural import set_validation

    X, y = make_signals(100, n_classes=3)
    valid = np.zeros(100, dtype=bool)
    valid[np.flatnonzero(y == 2)[:25]] = True  # most of class 2 validates
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y[~valid])
    every = compute_class_weight("balanced", classes=np.arange(3), y=y)
    assert not np.allclose(expected, every)
    for criterion in ("ce", "focal"):
        clf = fast(class_weight="balanced", criterion=criterion, max_epochs=1, verbose=1)
        set_validation(clf, valid)
        clf.fit(X, y)
        np.testing.assert_allclose(clf.class_weight_, expected, rtol=1e-6)
        np.testing.assert_allclose(clf.criterion_.weight.numpy(), expected, rtol=1e-6)
    assert "Re-initializing" not in capsys.readouterr().out  # part of the fit, not a change
    # the split made by the network itself too: the weights of its training records
    clf = fast(class_weight="balanced", max_epochs=1, valid_size=0.3).fit(X, y)
    assert not np.allclose(clf.class_weight_, every)
    # partial_fit keeps the first call's weights, as documented
    first = clf.class_weight_.copy()
    clf.partial_fit(X[:30], y[:30])
    np.testing.assert_allclose(clf.class_weight_, first)
    assert not clf._weights_from_split_  # nothing pending in a fitted net or its pickle
    # A warm start on the same records has the same weights: nothing is rebuilt or said.
    clf.set_params(warm_start=True, verbose=1)
    capsys.readouterr()
    criterion = clf.criterion_
    clf.fit(X, y)
    assert clf.criterion_ is criterion and "Re-initializing" not in capsys.readouterr().out


def test_balanced_weights_reach_a_criterion_with_parameters_of_its_own():
    # The criterion was rebuilt after the optimizer, in skorch's fit loop: its parameter was
    # no longer optimised (it stayed at its initial 0.0).
    class Tempered(torch.nn.CrossEntropyLoss):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.log_t = torch.nn.Parameter(torch.zeros(()))

        def forward(self, logits, target):
            return super().forward(logits * torch.exp(self.log_t), target)

    X, y = make_signals(90, n_classes=3)
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:10],
                 np.flatnonzero(y == 2)[:8]]
    clf = fast(criterion=Tempered, class_weight="balanced", max_epochs=3, valid_size=0.3)
    clf.fit(X[keep], y[keep])
    optimised = {id(p) for group in clf.optimizer_.param_groups for p in group["params"]}
    assert id(clf.criterion_.log_t) in optimised
    assert clf.criterion_.log_t.item() != 0.0


def test_class_weight_dict_shifts_predictions():
    X, y_idx = make_signals(200, n_classes=3)
    y = np.array(["a", "b", "c"])[y_idx]
    clf = fast(class_weight={"a": 4.0, "c": 0.5}, max_epochs=1).fit(X, y)
    np.testing.assert_allclose(clf.criterion_.weight.numpy(), [4.0, 1.0, 0.5])
    # binary: negatives weigh w0, positives w1 -> weight=w0, pos_weight=w1/w0
    Xb, yb = make_signals(200)
    clf = fast(class_weight={0: 1000.0, 1: 1e-4}).fit(Xb, yb)
    np.testing.assert_allclose(clf.criterion_.weight.numpy(), [1000.0])
    np.testing.assert_allclose(clf.criterion_.pos_weight.numpy(), [1e-7], rtol=1e-5)
    assert np.mean(clf.predict(Xb) == 0) > 0.9  # the heavy class wins
    XM, YM = make_multilabel(40)
    with pytest.raises(ValueError, match="dict is for single-label targets"):
        fast(class_weight={0: 2.0}, max_epochs=1).fit(XM, YM)


# ---------------------------------------------------------------------------
# callbacks, validation, logging
# ---------------------------------------------------------------------------
def test_default_callbacks_and_disabling_them():
    X, y = make_signals(40)
    clf = fast(max_epochs=1).fit(X, y)
    names = [name for name, _ in clf.callbacks_]
    assert names == ["epoch_timer", "train_loss", "valid_loss", "finite_loss", "valid_acc",
                     "lr_scheduler", "early_stopping", "grad_clip", "print_log"]
    cbs = dict(clf.callbacks_)
    assert cbs["early_stopping"].monitor == "valid_loss" and cbs["early_stopping"].load_best
    assert cbs["lr_scheduler"].monitor == "valid_loss"
    assert cbs["lr_scheduler"].policy is torch.optim.lr_scheduler.ReduceLROnPlateau
    clf = fast(max_epochs=1, patience=None, lr_patience=None, grad_clip=None,
               train_split=None).fit(X, y)
    assert [n for n, _ in clf.callbacks_] == [
        "epoch_timer", "train_loss", "valid_loss", "finite_loss", "valid_acc", "print_log"]
    assert "valid_loss" not in clf.history[-1]
    clf = fast(max_epochs=1, train_split=None).fit(X, y)
    assert dict(clf.callbacks_)["early_stopping"].monitor == "train_loss"


class ConstNet(nn.Module):
    """Constant logits: the loss can never improve."""

    def __init__(self, in_channels=1, n_classes=1):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(n_classes))

    def forward(self, x):
        return torch.zeros(x.shape[0], self.p.shape[0]) + 0.0 * self.p


class TinyBNNet(nn.Module):
    """A module with batch normalisation, which cannot train on a batch of one record."""

    def __init__(self, in_channels=1, n_classes=2, stride=1):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, 4, 3, stride=stride)
        self.norm = nn.BatchNorm1d(4)
        self.head = nn.Linear(4, n_classes)

    def forward(self, x):  # BatchNorm1d on (batch, features): one record fails in training
        return self.head(self.norm(self.conv(x).mean(-1)))


class TinyConvBNNet(TinyBNNet):
    """Batch normalisation over time, as SE-ResNeXt's: it trains on one record."""

    def forward(self, x):
        return self.head(self.norm(self.conv(x)).mean(-1))


def test_score_names_labels_of_another_shape():
    X, Y = make_multilabel(30)
    clf = fast(max_epochs=1).fit(X, Y)
    assert 0.0 <= clf.score(X, Y) <= 1.0
    with pytest.raises(ValueError, match=rf"y must be a label matrix of {Y.shape[1]} columns, "
                                         rf"as the net was fitted on; got shape \(30, 2\)"):
        clf.score(X, Y[:, :2])
    X, y = make_signals(30)
    binary = fast(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"y must be 1-D binary labels, as the net was fitted "
                                         r"on; got shape \(30, 2\)"):
        binary.score(X, np.c_[y, 1 - y])
    assert binary.score(X, y[:, None]) == binary.score(X, y)  # a column, as fit takes it


@pytest.mark.parametrize("balanced", [False, True])
def test_a_last_batch_of_one_record_is_dropped_only_where_batch_norm_needs_it(balanced):
    X, y = make_signals(65)  # 64 + 1 with batch_size=64
    clf = ECGNetClassifier(TinyBNNet, max_epochs=2, batch_size=64, train_split=None,
                           balanced_sampling=balanced, random_state=0)
    clf.fit(X, y)  # torch: "Expected more than 1 value per channel when training"
    assert len(clf.history) == 2
    dataset = clf.get_dataset(X, np.asarray(y))
    assert clf.get_iterator(dataset, training=True).drop_last
    assert not clf.get_iterator(dataset, training=False).drop_last  # every record predicted
    plain = fast(max_epochs=1, batch_size=64, train_split=None,
                 balanced_sampling=balanced).fit(X, y)  # TinyNet: no batch normalisation
    assert not plain.get_iterator(dataset, training=True).drop_last
    over_time = ECGNetClassifier(TinyConvBNNet, max_epochs=1, batch_size=64, train_split=None,
                                 balanced_sampling=balanced, random_state=0).fit(X, y)
    assert not over_time.get_iterator(dataset, training=True).drop_last  # keeps every record
    assert over_time.module_.training  # the probe of its layers left it as it was
    even = ECGNetClassifier(TinyBNNet, max_epochs=1, batch_size=32, train_split=None,
                            balanced_sampling=balanced, random_state=0).fit(X[:64], y[:64])
    assert not even.get_iterator(even.get_dataset(X[:64], np.asarray(y[:64])),
                                 training=True).drop_last
    # Over a time axis strided down to one sample (SE-ResNeXt on crops of 32 samples):
    # as on vectors, torch refuses one record.
    short = ECGNetClassifier(TinyConvBNNet, max_epochs=1, batch_size=64, train_split=None,
                             balanced_sampling=balanced, random_state=0,
                             module__stride=64).fit(X, y)
    assert short.get_iterator(dataset, training=True).drop_last


def test_batches_of_one_record_are_refused_by_name_where_batch_norm_needs_two():
    # torch's "Expected more than 1 value per channel when training" named no batch_size.
    X, y = make_signals(21)
    with pytest.raises(ValueError, match=r"batch_size=1 with 21 training record\(s\): every "
                                         r"batch holds one record, and TinyBNNet has batch "
                                         r"normalisation over one value per channel"):
        ECGNetClassifier(TinyBNNet, max_epochs=1, batch_size=1, train_split=None).fit(X, y)
    with pytest.raises(ValueError, match=r"batch_size=8 with 1 training record\(s\)"):
        ECGNetClassifier(TinyBNNet, max_epochs=1, batch_size=8, train_split=None).partial_fit(
            X[:1], y[:1], classes=np.unique(y))
    # Batch normalisation over a time axis trains on one record, as it always did.
    over_time = ECGNetClassifier(TinyConvBNNet, max_epochs=1, batch_size=1, train_split=None,
                                 random_state=0).fit(X, y)
    assert len(over_time.history) == 1


@pytest.mark.parametrize("fitted_before", [False, True])
def test_a_fit_that_fails_leaves_the_net_unfitted(fitted_before):
    """The classes and module are set up before the split fails: no untrained net predicts."""
    X, y = make_signals(40)
    clf = fast(max_epochs=1)
    if fitted_before:
        clf.fit(X, y)
    clf.set_params(valid_size=40)
    with pytest.raises(ValueError, match="valid_size=40 leaves no training records"):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_") and not clf.initialized_
    with pytest.raises(NotFittedError):
        clf.predict_proba(X)
    with pytest.raises(NotFittedError, match="is not initialized: fit it"):
        clf.save_params(f_params=io.BytesIO())  # skorch's own check refuses it too
    assert clf.set_params(valid_size=0.25).fit(X, y).predict_proba(X).shape == (40, 2)


def test_valid_size_none_disables_validation_and_verbose_2_adds_progress_bar(capsys):
    X, y = make_signals(40)
    clf = fast(max_epochs=1, valid_size=None, verbose=2).fit(X, y)
    assert "valid_loss" not in clf.history[-1]
    assert "progress_bar" in dict(clf.callbacks_)
    assert dict(clf.callbacks_)["early_stopping"].monitor == "train_loss"
    assert "train_loss" in capsys.readouterr().out


def test_early_stopping_stops_without_improvement():
    X, y = make_signals(40)
    clf = ECGNetClassifier(ConstNet, patience=2, lr_patience=None, max_epochs=20).fit(X, y)
    assert len(clf.history) == 3  # the best epoch, then 2 without improvement
    clf = ECGNetClassifier(ConstNet, patience=2, lr_patience=None, max_epochs=20,
                           train_split=None).fit(X, y)
    assert len(clf.history) == 3
    assert "valid_loss" not in clf.history[-1]


def test_early_stopping_restores_best_weights():
    X, y = make_signals(80)
    snapshots = {}

    class Snapshot(Callback):
        def on_epoch_end(self, net, **kwargs):
            snapshots[len(net.history)] = net.module_.head.weight.detach().clone()

    clf = fast(patience=3, max_epochs=6, lr=0.5, callbacks=[Snapshot()]).fit(X, y)
    losses = clf.history[:, "valid_loss"]
    best = int(np.argmin(losses)) + 1
    assert torch.equal(clf.module_.head.weight, snapshots[best])


def test_plateau_scheduler_reduces_lr():
    X, y = make_signals(40)
    clf = ECGNetClassifier(ConstNet, lr=1e-3, patience=None, lr_patience=1, max_epochs=4,
                           callbacks__lr_scheduler__factor=0.5).fit(X, y)
    # epoch 1 is the best; epochs 2 and 3 do not improve -> one reduction
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.5e-3)
    # the lr in use during each epoch
    assert clf.history[:, "event_lr"] == pytest.approx([1e-3, 1e-3, 1e-3, 0.5e-3])


def test_default_plateau_waits_for_the_fourth_epoch_without_progress():
    # README and se_ecgnet's docstring: lr_patience=3 tolerates 3 such epochs.
    X, y = make_signals(40)
    clf = ECGNetClassifier(ConstNet, lr=1e-3, patience=None, max_epochs=6).fit(X, y)
    assert clf.history[:, "event_lr"] == pytest.approx([1e-3] * 5 + [1e-4])


class GradNormRecorder(Callback):
    def initialize(self):
        self.norms = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad.norm() for _, p in named_parameters if p.grad is not None]
        self.norms.append(float(torch.norm(torch.stack(grads))))


def test_gradient_clipping_applies_and_can_be_disabled():
    X, y = make_signals(64)
    rec = GradNormRecorder()
    fast(grad_clip=1e-3, max_epochs=2, callbacks=[rec]).fit(X, y)
    assert max(rec.norms) <= 1e-3 * 1.0001
    rec = GradNormRecorder()
    fast(grad_clip=None, max_epochs=2, callbacks=[rec]).fit(X, y)
    assert max(rec.norms) > 1e-2


def test_epoch_log_shows_metric_per_target(capsys):
    X, y = make_signals(40)
    fast(max_epochs=2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "valid_loss" in out and "valid_acc" in out
    X, Y = make_multilabel(60)
    clf = fast(max_epochs=2, verbose=1).fit(X, Y)
    out = capsys.readouterr().out
    assert "valid_auroc" in out and "valid_acc" not in out
    auroc = clf.history[:, "valid_auroc"]
    assert all(0.0 <= a <= 1.0 or np.isnan(a) for a in auroc)
    fast(max_epochs=1, verbose=0).fit(X, Y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("valid_size", [0.25, 20])
def test_valid_acc_matches_predictions_on_validation_split(valid_size):
    X, y = make_signals(80)
    seen = {}

    class Grab(Callback):
        def on_epoch_end(self, net, dataset_valid=None, **kwargs):
            seen["idx"] = np.asarray(dataset_valid.indices)

    clf = fast(max_epochs=2, patience=None, valid_size=valid_size,
               callbacks=[Grab()]).fit(X, y)
    idx = seen["idx"]
    assert len(idx) == 20
    assert np.bincount(y[idx]).tolist() == [10, 10]  # stratified
    acc = np.mean(clf.predict(X[idx]) == y[idx])
    assert clf.history[-1, "valid_acc"] == pytest.approx(acc)


class GrabValid(Callback):
    """Keeps the indices of the validation records."""

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        self.indices_ = np.asarray(dataset_valid.indices)


def _validated(clf):
    return next(cb for _, cb in clf.callbacks_ if isinstance(cb, GrabValid)).indices_


def test_missing_and_mixed_labels_are_named():
    # numpy's "'<' not supported between instances of 'NoneType' and 'str'" named neither y
    # nor the record.
    X, _ = make_signals(6)
    for y, message in [(["a", "b", None, "a", "b", "a"], r"y holds 1 missing label\(s\) \(None "
                                                          r"or NaN\), the first at position 2"),
                       (["a", "b", float("nan"), "a", "b", "a"], "y holds 1 missing label"),
                       (["a", "b", 1, "a", "b", "a"], r"y mixes labels of types number \(1\), "
                                                      r"str \('a'\)")]:
        with pytest.raises(ValueError, match=message):
            fast(max_epochs=1).fit(X, np.array(y, dtype=object))


def test_sample_weight_is_refused_naming_what_to_use_instead():
    # It went to the module's forward: "forward() got an unexpected keyword argument".
    X, y = make_signals(20)
    for method in ("fit", "partial_fit"):
        clf = fast(max_epochs=1)
        with pytest.raises(ValueError, match=r"does not take sample_weight; weight the classes "
                                             r"with class_weight='balanced'"):
            getattr(clf, method)(X, y, sample_weight=np.ones(20))
        assert not hasattr(clf, "classes_")


def test_groups_hold_whole_patients_out_of_the_validation_split():
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from skorch.dataset import ValidSplit

    X, y = make_signals(60)
    groups = np.arange(60) // 3  # 20 patients of 3 records
    plain = fast(max_epochs=1, callbacks=[GrabValid()]).fit(X, y)
    assert len(set(groups[_validated(plain)])) > 2  # records of 6 patients: leaked
    clf = fast(max_epochs=1, callbacks=[GrabValid()]).fit(X, y, groups=groups)
    valid = _validated(clf)
    assert len(valid) == 6 and len(set(groups[valid])) == 2  # valid_size=0.1 of the patients
    assert not set(groups[valid]) & set(np.delete(groups, valid))
    assert "_fit_groups" not in clf.__dict__  # nothing of the fit's groups is kept
    mine = fast(max_epochs=1, callbacks=[GrabValid()],  # a train_split callable gets them
                train_split=ValidSplit(GroupKFold(5))).fit(X, y, groups=groups)
    assert not set(groups[_validated(mine)]) & set(np.delete(groups, _validated(mine)))
    pipe = make_pipeline(fast(max_epochs=1, callbacks=[GrabValid()]))  # routed by name
    pipe.fit(X, y, ecgnetclassifier__groups=groups)
    np.testing.assert_array_equal(_validated(pipe[-1]), valid)
    partial = fast(max_epochs=1, callbacks=[GrabValid()]).partial_fit(X, y, groups=groups)
    np.testing.assert_array_equal(_validated(partial), valid)
    with pytest.raises(ValueError, match=r"groups must hold one group per record \(60\), got "
                                         r"shape \(5,\)"):
        fast(max_epochs=1).fit(X, y, groups=groups[:5])
    with pytest.raises(ValueError, match="valid_size=20 leaves no training groups out of 20"):
        fast(max_epochs=1, valid_size=20).fit(X, y, groups=groups)


@pytest.mark.parametrize("use_caching", [True, False])  # without caching skorch finds no y
@pytest.mark.parametrize("labels", [np.array(["A", "N", "O"]), np.array([5, 7, 9]), None])
def test_a_users_scoring_callback_sees_labels_as_predict_gives_them(labels, use_caching):
    X, y = make_signals(90, n_classes=3)
    if labels is None:  # multi-label: the 0/1 matrix is its own label matrix
        X, y = make_multilabel(160)  # each label both on and off in the validation records
        scorers = ["roc_auc", "f1_macro"]
    else:
        y = labels[y]
        scorers = ["accuracy", "roc_auc_ovr", "f1_macro"]
    mine = [EpochScoring(name, lower_is_better=False, use_caching=use_caching)
            for name in scorers]
    clf = fast(max_epochs=2, patience=None, callbacks=[*mine, GrabValid()]).fit(X, y)
    idx = next(cb for _, cb in clf.callbacks_ if isinstance(cb, GrabValid)).indices_
    for name in scorers:  # each as sklearn scores the predictions of the validation records
        expected = get_scorer(name)(clf, X[idx], y[idx])
        assert 0 < expected <= 1 and clf.history[-1, name] == pytest.approx(expected), name
    if labels is not None:
        assert clf.history[-1, "accuracy"] == pytest.approx(clf.history[-1, "valid_acc"])
    assert all(cb.target_extractor is to_numpy for cb in mine)  # the parameters unchanged
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict(X[:5]), clf.predict(X[:5]))
    assert clone(clf).fit(X, y).history[-1, scorers[0]] == clf.history[-1, scorers[0]]


# ---------------------------------------------------------------------------
# randomness, augmentation, windows
# ---------------------------------------------------------------------------
class AddConstant:
    """An augmentation op that records its calls and adds a huge constant."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, generator=None):
        noise = torch.rand(x.shape[0], 1, 1, generator=generator, device=x.device)
        self.calls.append(x.shape[0])
        return x + 1000.0 + noise


def test_random_state_makes_fits_identical_and_restores_global_rng():
    X, y = make_signals(96)
    params = dict(balanced_sampling=True, crop_length=48, augment=[AddConstant()],
                  max_epochs=3)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    clf = fast(**params).fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    a = clf.predict_proba(X)
    b = fast(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = fast(random_state=1, **params).fit(X, y).predict_proba(X)
    assert not np.allclose(a, c)


def test_augment_applies_to_training_batches_only():
    X, y = make_signals(100)
    op = AddConstant()
    clf = fast(augment=[op], max_epochs=3, patience=None, valid_size=0.2).fit(X, y)
    # every epoch augments the 80 training records once; never the 20 validation ones
    assert sum(op.calls) == 3 * 80
    before = clf.predict_proba(X)
    assert sum(op.calls) == 3 * 80
    clf.set_params(augment=None)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_augmenter_object_interface():
    X, y = make_signals(40)

    class Recorder:
        def __init__(self):
            self.generators = []

        def augment_batch(self, x, generator=None):
            self.generators.append(generator)
            return x.flip(-1)

    aug = Recorder()
    fast(augment=aug, max_epochs=2, train_split=None).fit(X, y)
    assert len(aug.generators) == 4  # 2 epochs x 2 batches of 32/8
    assert all(isinstance(g, torch.Generator) for g in aug.generators)


def test_each_partial_fit_draws_anew_and_a_sequence_of_calls_repeats():
    # An int random_state re-seeded every call alike: the second, third... partial_fit
    # (or warm fit) saw the same crops, augmentations, shuffles and balanced draws.
    X, y = make_signals(16, n_samples=30)

    class FirstDraw:
        def __init__(self):
            self.draws = []

        def augment_batch(self, x, generator=None):
            self.draws.append(float(torch.rand(1, generator=generator)))
            return x

    def run(method, **params):
        aug = FirstDraw()
        clf = fast(augment=aug, max_epochs=1, train_split=None, batch_size=16, crop_length=10,
                   **params)
        for _ in range(4):
            getattr(clf, method)(X, y)
        return aug.draws

    for method, params in (("partial_fit", {}), ("fit", {"warm_start": True})):
        draws = run(method, **params)
        assert len(draws) == 4 and len(set(draws)) == 4, draws
        assert run(method, **params) == draws  # the same calls, the same draws


@pytest.mark.parametrize("random_state", [None, "RandomState"])
@pytest.mark.parametrize("method", ["partial_fit", "warm fit"])
def test_later_calls_validate_on_the_first_calls_records(random_state, method):
    # Without an int random_state each call drew a new split: records trained on in one
    # call became the next call's validation records, and early stopping watched them.
    X, y = make_signals(40, n_samples=16)
    np.random.seed(0)  # random_state=None draws from numpy's global generator: repeatable
    seed = np.random.RandomState(0) if random_state else None
    clf = fast(max_epochs=1, random_state=seed, warm_start=method == "warm fit")
    held_out = []
    for _ in range(3):
        clf.partial_fit(X, y) if method == "partial_fit" else clf.fit(X, y)
        held_out.append(sorted(clf.get_split_datasets(X, y)[1].indices))
    assert len(held_out[0]) == 4 and held_out[1] == held_out[0] and held_out[2] == held_out[0]
    if method == "warm fit":  # a fit that starts afresh draws a new split
        clf.set_params(warm_start=False).fit(X, y)
        assert sorted(clf.get_split_datasets(X, y)[1].indices) != held_out[0]


def test_device_none_trains_with_crops_augmentation_and_amp():
    # device=None (skorch: leave tensors where they are) passed validation, then crops and
    # augmentations raised torch's "device() received an invalid combination of arguments".
    X, y = make_signals(16, n_samples=30)
    clf = fast(device=None, max_epochs=1, crop_length=10, amp=True,
               augment=lambda x, generator=None: x.flip(-1)).fit(X, y)
    assert clf.predict_proba(X).shape == (16, 2) and len(clf.history) == 1


def test_predict_refuses_windows_set_after_fit_that_skip_samples():
    # set_params(window_stride=...) after fit was used as it was: windows 0-10 and 20-30 of
    # a 30-sample record, the middle never seen.
    X, y = make_signals(16, n_samples=30)
    clf = fast(max_epochs=1, crop_length=10, train_split=None).fit(X, y)
    clf.set_params(window_stride=20)
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(ValueError, match="window_stride=20 is longer than crop_length=10"):
            method(X)
    clf.set_params(window_stride=10, window_aggregate="median")
    with pytest.raises(ValueError, match="window_aggregate must be 'max' or 'mean'"):
        clf.predict_proba(X)
    assert clf.set_params(window_aggregate="mean").predict_proba(X).shape == (16, 2)


def test_predict_on_a_cuda_device_without_one_names_the_parameter(monkeypatch):
    X, y = make_signals(16, n_samples=30)
    clf = fast(max_epochs=1, train_split=None).fit(X, y)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    clf.set_params(device="cuda")
    with pytest.raises(ValueError, match="device='cuda' needs a CUDA GPU"):
        clf.predict(X)


def test_augment_returning_wrong_shape_is_reported():
    X, y = make_signals(20)
    with pytest.raises(ValueError, match="augment must return a tensor"):
        fast(augment=lambda x, generator=None: x[:, :1], max_epochs=1).fit(X, y)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("how", ["max", "mean"])
def test_sliding_window_prediction_binary(how):
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (6, 2, 40)).astype(np.float32)
    y = np.array([0, 1] * 3)
    clf = ECGNetClassifier(MeanNet, crop_length=16, window_stride=10, window_aggregate=how,
                           max_epochs=1, train_split=None, random_state=0)
    clf.fit(X, y)
    with torch.no_grad():
        clf.module_.scale.fill_(1.0)
    clf.module_.seen_lengths.clear()
    proba = clf.predict_proba(X)[:, 1]
    starts = [0, 10, 20, 24]  # the last window is aligned to the end
    window_p = _sigmoid(np.stack([X[:, :, s:s + 16].mean(axis=(1, 2)) for s in starts], 1))
    expected = window_p.max(1) if how == "max" else window_p.mean(1)
    np.testing.assert_allclose(proba, expected, rtol=1e-5)
    # the 4 windows of 6 records in one pass: fewer than a training batch (batch_size)
    assert clf.module_.seen_lengths == [(False, (6 * 4, 2, 16))]


@pytest.mark.parametrize("how", ["max", "mean"])
def test_sliding_window_prediction_multiclass(how):
    rng = np.random.default_rng(1)
    X = (rng.normal(0, 1, (5, 1, 30)) * 3).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1])
    clf = ECGNetClassifier(MeanNet, crop_length=10, window_aggregate=how, max_epochs=1,
                           train_split=None, random_state=0).fit(X, y)
    with torch.no_grad():
        clf.module_.scale.fill_(1.0)
    proba = clf.predict_proba(X)
    starts = [0, 5, 10, 15, 20]  # default stride: crop_length // 2
    m = np.stack([X[:, :, s:s + 10].mean(axis=(1, 2)) for s in starts], 1)
    logits = np.stack([m, -m, np.zeros_like(m)], axis=-1)  # (records, windows, 3)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    agg = p.max(1) if how == "max" else p.mean(1)
    np.testing.assert_allclose(proba, agg / agg.sum(1, keepdims=True), rtol=1e-5)


def test_random_crops_in_training_and_windows_in_validation():
    X, y = make_signals(40, n_samples=50)
    clf = ECGNetClassifier(MeanNet, crop_length=20, max_epochs=1, batch_size=16,
                           valid_size=0.25, random_state=0).fit(X, y)
    seen = clf.module_.seen_lengths
    train_shapes = [s for training, s in seen if training]
    valid_shapes = [s for training, s in seen if not training]
    assert train_shapes == [(16, 2, 20), (14, 2, 20)]
    # 10 validation records x windows starting at 0, 10, 20, 30, batch_size=16 a pass
    assert valid_shapes == [(16, 2, 20), (16, 2, 20), (8, 2, 20)]


# ---------------------------------------------------------------------------
# device, precision, persistence
# ---------------------------------------------------------------------------
def test_device_auto_resolves_but_get_params_keeps_auto():
    clf = fast()
    assert clf.get_params()["device"] == "auto"
    assert clf.device == ("cuda" if CUDA else "cpu")
    cloned = clone(clf)
    assert cloned.get_params()["device"] == "auto"
    clf.set_params(device="cpu")
    assert clf.get_params()["device"] == "cpu" and clf.device == "cpu"


def test_get_params_gives_the_callback_settings_fit_uses():
    # skorch let the default callbacks, rebuilt from lr_patience and patience, hide the
    # user's settings: get_params gave factor 0.1, so its round trip (and the params
    # logged to MLflow) undid callbacks__lr_scheduler__factor=0.5.
    X, y = make_signals(40)
    clf = fast(max_epochs=1, patience=2, callbacks__lr_scheduler__factor=0.5,
               callbacks__early_stopping__threshold=0.01)

    def settings(net):
        p = net.get_params(deep=True)
        return (p["callbacks__lr_scheduler__factor"], p["callbacks__early_stopping__threshold"],
                p["callbacks__early_stopping__patience"])

    assert settings(clf) == (0.5, 0.01, 2)
    twin = clone(clf).set_params(**clf.get_params(deep=True)).fit(X, y)
    used = dict(twin.callbacks_)
    assert used["lr_scheduler"].kwargs["factor"] == 0.5
    assert (used["early_stopping"].threshold, used["early_stopping"].patience) == (0.01, 2)
    assert settings(twin) == (0.5, 0.01, 2)
    fitted = clone(clf).fit(X, y)  # not the twin: its round trip set every callback param
    assert settings(fitted) == (0.5, 0.01, 2)
    fitted.set_params(callbacks__lr_scheduler__factor=0.3, patience=4)
    assert settings(fitted) == (0.3, 0.01, 4)
    used = dict(fitted.callbacks_)
    assert (used["lr_scheduler"].kwargs["factor"], used["early_stopping"].patience) == (0.3, 4)
    off = fast(callbacks__lr_scheduler=None)
    assert off.get_params()["callbacks__lr_scheduler"] is None
    assert "callbacks__lr_scheduler__factor" not in off.get_params()


def test_pickle_round_trip_gives_identical_predictions():
    X, y = make_signals(60, n_classes=3)
    clf = fast(max_epochs=2, crop_length=32).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.get_params()["device"] == "auto"
    np.testing.assert_array_equal(restored.classes_, clf.classes_)
    restored.partial_fit(X, y)  # still trainable
    assert len(restored.history) == 4  # 2 + max_epochs more


def test_a_net_pickled_as_on_a_gpu_loads_on_a_cpu_only_machine(monkeypatch):
    # The LR scheduler callback held the optimizer: its tensors were pickled apart from
    # skorch's map_location stream, so a GPU's net raised "Attempting to deserialize
    # object on a CUDA device" here. Pickling with every storage tagged "cuda:0" does
    # what a GPU machine does.
    import torch.serialization

    X, y = make_signals(60)
    clf = fast(max_epochs=2).fit(X, y)
    expected = clf.predict_proba(X)
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        blob = pickle.dumps(clf)
    restored = pickle.loads(blob)
    assert restored.device == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    assert dict(clf.callbacks_)["lr_scheduler"].lr_scheduler_ is not None  # kept in use
    assert dict(restored.callbacks_)["lr_scheduler"].lr_scheduler_ is None
    restored.partial_fit(X, y)  # the scheduler is built anew
    assert dict(restored.callbacks_)["lr_scheduler"].lr_scheduler_ is not None
    # A scheduler given as a parameter is the same object as the fitted one: it held the
    # optimizer in the pickle all the same.
    from skorch.callbacks import LRScheduler

    for params in ({"callbacks__lr_scheduler": LRScheduler("StepLR", step_size=1)},
                   {"callbacks": [("cos", LRScheduler("CosineAnnealingLR", T_max=2))]}):
        clf = fast(max_epochs=2, **params).fit(X, y)
        with monkeypatch.context() as patch:
            patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
            blob = pickle.dumps(clf)
        restored = pickle.loads(blob)
        np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
        name = "lr_scheduler" if "callbacks__lr_scheduler" in params else "cos"
        fitted = dict(restored.callbacks_)[name]
        given = (restored.callbacks__lr_scheduler if name == "lr_scheduler"
                 else dict(restored.callbacks)[name])
        assert fitted is given and fitted.lr_scheduler_ is None  # still one object


def test_a_device_named_without_its_index_is_the_current_gpu(monkeypatch):
    # A CUDA generator reports "cuda:0", and torch.device("cuda") != "cuda:0": the
    # training generator was drawn anew at every batch on a GPU.
    from ecgsk.neural._classifier import _same_device

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    D = torch.device
    assert _same_device(D("cuda:0"), D("cuda")) and _same_device(D("cuda"), D("cuda:0"))
    assert not _same_device(D("cuda:1"), D("cuda"))
    assert not _same_device(D("cuda:0"), D("cpu")) and _same_device(D("cpu"), D("cpu"))


def test_random_state_none_follows_torch_global_seed():
    X, y = make_signals(60)
    torch.manual_seed(3)
    a = fast(random_state=None, max_epochs=2, train_split=None).fit(X, y).predict_proba(X)
    torch.manual_seed(3)
    b = fast(random_state=None, max_epochs=2, train_split=None).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = fast(random_state=None, max_epochs=2, train_split=None).fit(X, y).predict_proba(X)
    assert not np.allclose(a, c)


def test_trim_for_prediction_and_weights_round_trip(tmp_path):
    X, y = make_signals(60, n_classes=3)
    clf = fast(max_epochs=2).fit(X, y)
    expected = clf.predict_proba(X)
    other = fast(max_epochs=1, random_state=5).fit(X, y)
    clf.save_params(f_params=tmp_path / "w.pt")
    other.load_params(f_params=tmp_path / "w.pt")
    np.testing.assert_array_equal(other.predict_proba(X), expected)
    assert other.get_params()["device"] == "auto"
    clf.trim_for_prediction()
    assert clf.optimizer_ is None
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected)


def test_clone_of_fitted_net_is_unfitted_with_same_params():
    X, y = make_signals(40)
    clf = fast(max_epochs=1, module__hidden=4).fit(X, y)
    cloned = clone(clf)
    assert not hasattr(cloned, "classes_") and not cloned.initialized_
    assert cloned.get_params(deep=False).keys() == clf.get_params(deep=False).keys()
    assert cloned.module__hidden == 4


def test_augment_parameters_are_set_as_nested_estimator_parameters():
    # skorch stored augment__operations as an attribute of the net: the Augmenter kept
    # its operations, get_params reported the new ones, and every later fit (of a clone
    # too, so GridSearchCV and seed_ensemble) raised "unexpected argument(s)".
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from ecgsk.ensemble import seed_ensemble
    from ecgsk.preprocessing import AddGaussianNoise

    X, y = make_signals(40)
    net = fast(max_epochs=1, augment=Augmenter([AddGaussianNoise(p=1.0, std=5.0)]))
    assert net.set_params(augment__operations=[], augment__random_state=3) is net
    assert net.augment.operations == [] and net.augment.random_state == 3
    assert net.get_params()["augment__operations"] == []
    assert "augment__operations" not in vars(net)
    net.fit(X, y)
    clone(net).fit(X, y)
    noise = AddGaussianNoise(p=1.0, std=0.1)
    search = GridSearchCV(make_pipeline(net), {"ecgnetclassifier__augment__operations":
                                               [[], [noise]]}, cv=2).fit(X, y)
    assert search.best_estimator_[-1].augment.operations in ([], [noise])
    seed_ensemble(make_pipeline(net), seeds=(0, 1)).fit(X, y)  # net__augment__random_state
    with pytest.raises(ValueError, match=r"augment__p is set, but augment=None has no "
                                         r"set_params: set augment itself"):
        fast(max_epochs=1).set_params(augment__p=0.5)


def test_amp_on_cpu_runs_in_bfloat16():
    dtypes = []

    class DtypeNet(TinyNet):
        def forward(self, x):
            out = super().forward(x)
            dtypes.append(out.dtype)
            return out

    X, y = make_signals(64)
    clf = ECGNetClassifier(DtypeNet, amp=True, device="cpu", max_epochs=2, lr=1e-2,
                           random_state=0).fit(X, y)
    assert set(dtypes) == {torch.bfloat16}
    assert clf.grad_scaler_ is None
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32 and np.isfinite(proba).all()
    assert np.isfinite(clf.history[:, "train_loss"]).all()


@needs_cuda
@pytest.mark.parametrize("amp_dtype", ["float16", "bfloat16"])
def test_cuda_amp_trains_and_predicts(amp_dtype):
    X, y = make_signals(200, n_classes=3)
    clf = fast(amp=True, amp_dtype=amp_dtype).fit(X[:150], y[:150])
    assert clf.device == "cuda" and next(clf.module_.parameters()).is_cuda
    assert (clf.grad_scaler_ is not None) == (amp_dtype == "float16")
    assert np.mean(clf.predict(X[150:]) == y[150:]) >= 0.8


@needs_cuda
def test_cuda_fp16_gradients_are_unscaled_before_clipping():
    X, y = make_signals(64)
    rec = GradNormRecorder()
    fast(amp=True, grad_clip=1e-3, max_epochs=2, callbacks=[rec]).fit(X, y)
    finite = [n for n in rec.norms if np.isfinite(n)]
    assert finite and max(finite) <= 1e-3 * 1.001


@needs_cuda
def test_cuda_net_pickled_loads_on_cpu_only_machine(monkeypatch):
    X, y = make_signals(60)
    clf = fast(amp=True, max_epochs=2).fit(X, y)
    assert clf.grad_scaler_ is not None
    blob = pickle.dumps(clf)
    clf.set_params(amp=False)
    expected = clf.predict_proba(X)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "auto" resolves to CPU: no DeviceWarning
        restored = pickle.loads(blob)
    assert restored.device == "cpu" and restored.get_params()["device"] == "auto"
    assert not next(restored.module_.parameters()).is_cuda
    assert restored.grad_scaler_ is None  # no float16 scaling on CPU
    restored.set_params(amp=False)
    np.testing.assert_allclose(restored.predict_proba(X), expected, atol=1e-5)


def test_docstring_examples():
    result = doctest.testmod(_classifier, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize("groups, message", [
    (np.array(["p1", None] * 3, dtype=object),
     r"groups holds 3 missing group\(s\) \(None or NaN\), the first at position 1; drop "
     r"those records or give each its group"),
    (np.array([1.0, np.nan] * 3), r"groups holds 3 missing group\(s\)"),
    (np.array(["p1", 2] * 3, dtype=object),
     r"groups mixes groups of types number \(2\), str \('p1'\)"),
])
def test_missing_and_mixed_groups_are_named(groups, message):
    # groups with a None failed inside numpy: "'<' not supported between instances of
    # 'NoneType' and 'str'", naming neither groups nor the record.
    X, y = make_signals(6)
    with pytest.raises(ValueError, match=message):
        fast(max_epochs=1).fit(X, y, groups=groups)


def test_the_epoch_table_has_no_colour_codes_where_stdout_is_no_terminal(capsys):
    # skorch colours the table always: log files and CI's output held "\x1b[36m1.1361\x1b[0m".
    X, y = make_signals(20)
    fast(max_epochs=1, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "valid_loss" in out and "\x1b[" not in out
    fast(max_epochs=1, verbose=0).fit(X, y)
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing
