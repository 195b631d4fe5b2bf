"""ECGNetClassifier inside sklearn: Pipeline, cross-validation, grid search,
with ecgsk's transformers and networks, on synthetic and real ECGs."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from torch import nn

from ecgsk.datasets import load_cinc2017, load_ptbxl, make_synthetic_ecg
from ecgsk.datasets._synthetic import SYNTHETIC_CLASSES
from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import AddGaussianNoise, Augmenter, RandomShift, Standardizer, WFDBLoader


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models train faster on one thread, and CI has 2 shared cores.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class TinyNet(nn.Module):
    def __init__(self, in_channels=1, n_classes=2, hidden=16):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, hidden, kernel_size=15, stride=2, padding=7)
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.head(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1))


@pytest.fixture(scope="module")
def synthetic():
    # normal sinus rhythm vs ST elevation, 12 leads, 100 Hz, 4 s
    X, y = make_synthetic_ecg(n_records=150, n_leads=12, sampling_rate=100, seconds=4,
                              n_classes=2, random_state=0)
    return X, np.array(["normal", "STE"])[y]


def _pipe(**net_params):
    params = dict(max_epochs=15, lr=1e-2, batch_size=32, random_state=0)
    params.update(net_params)
    return Pipeline([("std", Standardizer()), ("net", ECGNetClassifier(TinyNet, **params))])


def test_pipeline_fit_predict_score_and_pickle(synthetic):
    X, y = synthetic
    pipe = _pipe().fit(X[:100], y[:100])
    assert pipe.score(X[100:], y[100:]) >= 0.9
    proba = pipe.predict_proba(X[100:])
    assert proba.shape == (50, 2)
    np.testing.assert_array_equal(pipe.classes_, ["STE", "normal"])
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(X[100:]), proba)
    cloned = clone(pipe)
    assert not hasattr(cloned.named_steps["net"], "classes_")
    assert cloned.named_steps["net"].get_params()["device"] == "auto"


def test_cross_val_score_with_balanced_sampling_and_augmenter(synthetic):
    X, y = synthetic
    aug = Augmenter([RandomShift(p=0.5, max_shift=0.05), AddGaussianNoise(p=0.5, std=0.01)])
    pipe = _pipe(balanced_sampling=True, augment=aug)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, y, cv=cv)
    assert scores.shape == (3,)
    assert scores.min() >= 0.8
    again = cross_val_score(pipe, X, y, cv=cv)  # seeded: same folds, same nets
    np.testing.assert_array_equal(scores, again)


def test_grid_search_over_module_and_lr(synthetic):
    X, y = synthetic
    grid = GridSearchCV(
        _pipe(max_epochs=5),
        {"net__module__hidden": [4, 16], "net__lr": [1e-5, 1e-2]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    grid.fit(X, y)
    results = pd.DataFrame(grid.cv_results_["params"]).assign(
        score=grid.cv_results_["mean_test_score"])
    assert len(results) == 4
    # 5 epochs at lr=1e-5 learn nothing; at 1e-2 both widths learn
    for hidden in (4, 16):
        rows = results[results["net__module__hidden"] == hidden].set_index("net__lr")
        assert rows.loc[1e-2, "score"] > rows.loc[1e-5, "score"] + 0.2
    assert grid.best_params_["net__lr"] == 1e-2
    best = grid.best_estimator_.named_steps["net"]
    assert best.module_.conv.out_channels == grid.best_params_["net__module__hidden"]
    assert best.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-2)
    assert grid.predict(X[:5]).shape == (5,)


def test_multilabel_with_crops_and_windows():
    # every synthetic class is a set of patterns: a natural multi-label target
    patterns = SYNTHETIC_CLASSES[1:5]
    X, y = make_synthetic_ecg(n_records=200, n_leads=12, sampling_rate=100, seconds=5,
                              n_classes=len(SYNTHETIC_CLASSES), random_state=0)
    Y = pd.DataFrame([[p in SYNTHETIC_CLASSES[c] for p in patterns] for c in y],
                     columns=["STE", "AF", "QRS", "tachy"]).astype(int)
    net = ECGNetClassifier(TinyNet, module__hidden=32, crop_length=250, max_epochs=20,
                           lr=1e-2, batch_size=32, patience=None, random_state=0)
    pipe = Pipeline([("std", Standardizer()), ("net", net)]).fit(X[:150], Y[:150])
    proba = pipe.predict_proba(X[150:])
    assert proba.shape == (50, 4)
    np.testing.assert_array_equal(net.classes_, Y.columns)
    assert "valid_auroc" in net.history[-1]
    assert roc_auc_score(Y[150:], proba, average="macro") >= 0.85


@pytest.mark.slow
def test_ptbxl_superdiagnostic_with_loader_and_windows(ptbxl_root):
    ds = load_ptbxl(ptbxl_root)
    n_train, n_test = 200, 60
    Y = pd.DataFrame(ds.y, columns=ds.classes)
    net = ECGNetClassifier(ECGCNN, module__filters=(16, 16, 32, 32),
                           module__dense=(32,), crop_length=250, max_epochs=4, lr=1e-3,
                           batch_size=32, patience=None, random_state=0)
    pipe = Pipeline([("load", WFDBLoader()), ("std", Standardizer()), ("net", net)])
    pipe.fit(ds.X[:n_train], Y[:n_train])
    assert net.n_leads_in_ == 12 and net.n_samples_in_ == 1000
    np.testing.assert_array_equal(net.classes_, ds.classes)
    losses = net.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    proba = pipe.predict_proba(ds.X[n_train:n_train + n_test])
    assert proba.shape == (n_test, len(ds.classes))
    assert ((proba >= 0) & (proba <= 1)).all()
    pred = pipe.predict(ds.X[n_train:n_train + n_test])
    assert set(np.unique(pred)) <= {0, 1} and pred.shape == proba.shape


@pytest.mark.slow
def test_cinc2017_string_labels_single_lead(cinc_root):
    ds = load_cinc2017(cinc_root)
    y = np.asarray(ds.y)
    idx = np.r_[np.flatnonzero(y == "N")[:60], np.flatnonzero(y == "A")[:30],
                np.flatnonzero(y == "O")[:30]]
    X = WFDBLoader(length=3000).fit_transform(np.asarray(ds.X)[idx])  # 10 s at 300 Hz
    net = ECGNetClassifier(ECGCNN, module__filters=(8, 16, 16, 16), module__dense=(16,),
                           balanced_sampling=True, crop_length=1500, max_epochs=2,
                           batch_size=32, random_state=0)
    net.fit(X, y[idx])
    np.testing.assert_array_equal(net.classes_, ["A", "N", "O"])
    pred = net.predict(X[:10])
    assert set(pred) <= {"A", "N", "O"}
    assert net.predict_proba(X[:10]).shape == (10, 3)
