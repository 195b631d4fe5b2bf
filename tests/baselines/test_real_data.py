"""The classic baselines on real data (``ECGSK_DATA``): they must beat chance clearly.

The thresholds sit well below the values measured on the shared data
(bench/results/baselines.md and the comments below), so that they fail
on a broken pipeline, not on a library update.
"""

import warnings

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

from ecgsk.baselines import make_feature_baseline, predict_scores
from ecgsk.datasets import load_cinc2017, load_ptbxl
from ecgsk.preprocessing import WFDBLoader

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF",
                  "V1", "V2", "V3", "V4", "V5", "V6")


def test_ptbxl_superdiagnostic_feature_baseline_beats_chance(ptbxl_root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # records without a superdiagnostic label
        ds = load_ptbxl(ptbxl_root, task="superdiagnostic")
    train, test = ds.folds <= 8, ds.folds == 10
    loader = WFDBLoader(n_jobs=2)
    X_train, X_test = loader.fit_transform(ds.X[train]), loader.transform(ds.X[test])
    assert X_train.shape[1:] == (12, 1000)
    model = make_feature_baseline("logreg", sampling_rate=100, multilabel=True,
                                  lead_names=STANDARD_LEADS, rhythm_lead="II",
                                  n_jobs=2, random_state=0)
    model.fit(X_train, ds.y[train])
    scores = predict_scores(model, X_test)
    assert scores.shape == (test.sum(), len(ds.classes))
    # Measured 0.829 with 1,103 training and 192 test records (bootstrap 95 %
    # intervals are about +-0.04 wide at this size); chance is 0.5.
    assert roc_auc_score(ds.y[test], scores, average="macro") > 0.75


def test_cinc2017_af_f1_of_a_feature_baseline(cinc_root):
    ds = load_cinc2017(cinc_root)
    y = np.asarray(ds.y)
    # A few hundred records: every AF record among the first 1,000, and the
    # first non-AF records up to 300 in all.
    first = np.arange(1000)
    af = first[y[first] == "A"]
    others = first[y[first] != "A"][:300 - len(af)]
    subset = np.sort(np.concatenate([af, others]))
    X = WFDBLoader(length=9000, n_jobs=2).fit_transform(ds.X[subset])  # 30 s at 300 Hz
    y_sub = y[subset]
    idx_train, idx_test = train_test_split(np.arange(len(subset)), test_size=1 / 3,
                                           stratify=y_sub, random_state=0)
    model = make_feature_baseline("logreg", features=("rhythm", "statistical"),
                                  sampling_rate=300, class_weight="balanced", n_jobs=2,
                                  random_state=0)
    model.fit(X[idx_train], y_sub[idx_train])
    pred = model.predict(X[idx_test])
    n_af = int((y_sub[idx_test] == "A").sum())
    assert n_af >= 20
    f1_af = f1_score(y_sub[idx_test], pred, labels=["A"], average="macro")
    # Measured 0.84 (32 AF records among 100 test records). Always predicting
    # "A" would score 2 n_af / (n_test + n_af) = 0.48.
    chance = 2 * n_af / (len(idx_test) + n_af)
    assert f1_af > 0.65 > chance
