"""Quality of the classic baselines of ecgsk.baselines on the shared data.

Baselines (``ecgsk.baselines``):

- ``features_logreg``: ``make_feature_baseline("logreg")``: statistical, rhythm
  and wavelet features, StandardScaler, LogisticRegression(C=0.01);
- ``features_hgb``: the same features, HistGradientBoostingClassifier;
- ``randomconv_ridge``: ``make_randomconv_ridge()``: 9,996 MiniRocket
  features, StandardScaler, RidgeClassifierCV.

Splits and metrics:

- PTB-XL (``superdiagnostic``, multi-label, and ``binary``, normal vs
  abnormal), 100 Hz, 12 leads: trained on ``strat_fold`` 1-8, tested on fold
  10 (fold 9, the benchmark's validation fold, is not used: nothing is
  tuned). Metric: macro AUROC over the labels (``roc_auc_score`` of the
  classifier's probabilities, or ridge decision scores), as in Strodthoff et
  al. 2021. Rhythm features on lead II.
- CinC 2017 (4 classes N, A, O, ~): a stratified 20 % hold-out
  (``train_test_split(stratify=y, test_size=0.2, random_state=0)``). Records
  (9-61 s) are centre-cropped or end-padded with zeros to 30 s (9,000 samples
  at 300 Hz) by ``WFDBLoader(length=9000)``; the MiniRocket baseline reads
  them resampled to 100 Hz (3,000 samples), which cuts its PPV pooling cost
  by three. Metric: the challenge score, the mean of the F1 of N, A and O
  (``f1_score(labels=["N", "A", "O"], average="macro")``, the challenge's
  formula); the F1 of A alone is shown too.

Every test metric comes with a 95 % bootstrap interval: 1,000 resamples of
the test records with replacement (seed 0), 2.5th and 97.5th percentiles.
The two feature baselines share their fitted feature step through the
pipeline's ``memory`` cache.

Usage, from the repository root::

    python bench/bench_baselines.py --data ../shared/data [--out bench/results/baselines.md]
        [--only ptbxl|cinc]
    python bench/bench_baselines.py --data ../shared/data --only select-c

The last form runs the study behind the ``C`` of ``features_logreg``
(cross-validation on the training records of both datasets only).
"""

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Memory
from sklearn.base import clone
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import (
    GroupKFold,
    StratifiedKFold,
    cross_val_predict,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import add_data_argument, cpu_name, require_data  # noqa: E402

from ecgsk.baselines import make_feature_baseline, make_randomconv_ridge, predict_scores
from ecgsk.datasets import load_cinc2017, load_ptbxl
from ecgsk.preprocessing import WFDBLoader

N_BOOT = 1000
STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def machine():
    cpu = cpu_name()
    import sklearn
    import torch

    return (f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, numpy {np.__version__}, "
            f"scikit-learn {sklearn.__version__}, torch {torch.__version__}")


def load_average():
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def bootstrap_ci(metric, y_true, y_score, n_boot=N_BOOT, seed=0):
    """Point estimate and 95 % percentile bootstrap interval over test records.

    Resamples where the metric is undefined (a label with one class only)
    are skipped and counted.
    """
    rng = np.random.default_rng(seed)
    n = len(y_true)
    values, skipped = [], 0
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        try:
            values.append(metric(y_true[idx], y_score[idx]))
        except ValueError:
            skipped += 1
    low, high = np.percentile(values, [2.5, 97.5])
    return metric(y_true, y_score), low, high, skipped


def macro_auroc(y_true, scores):
    return roc_auc_score(y_true, scores, average="macro")


def challenge_f1(y_true, y_pred):
    return f1_score(y_true, y_pred, labels=["N", "A", "O"], average="macro")


def f1_af(y_true, y_pred):
    return f1_score(y_true, y_pred, labels=["A"], average="macro")


def baselines(sampling_rate, multilabel, rhythm_lead, lead_names, memory):
    common = dict(sampling_rate=sampling_rate, multilabel=multilabel, random_state=0,
                  n_jobs=2, rhythm_lead=rhythm_lead, lead_names=lead_names)
    logreg = make_feature_baseline("logreg", **common)
    hgb = make_feature_baseline("hgb", **common)
    for model in (logreg, hgb):
        model.set_params(memory=memory)
    ridge = make_randomconv_ridge(random_state=0, n_jobs=2)
    return [("features_logreg", logreg), ("features_hgb", hgb), ("randomconv_ridge", ridge)]


def fit_and_predict(model, X_train, y_train, X_test, method):
    """Fit, then ``predict_scores`` (method="scores") or ``predict`` the test records."""
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    out = predict_scores(model, X_test) if method == "scores" else model.predict(X_test)
    return out, fit_s, time.perf_counter() - start


def run_ptbxl(data, memory, lines):
    root = Path(data) / "ptb-xl"
    loader = WFDBLoader(n_jobs=2)
    for task in ("superdiagnostic", "binary"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = load_ptbxl(root, task=task)
        train, test = ds.folds <= 8, ds.folds == 10
        X = loader.fit_transform(ds.X)
        y = np.asarray(ds.y)
        multilabel = y.ndim == 2
        lines.append(f"| PTB-XL {task} | {train.sum()} / {test.sum()} | "
                     f"{'macro AUROC' if multilabel else 'AUROC'} | | | | |")
        for name, model in baselines(100, multilabel, "II", STANDARD_LEADS, memory):
            scores, fit_s, pred_s = fit_and_predict(model, X[train], y[train], X[test], "scores")
            value, low, high, skipped = bootstrap_ci(macro_auroc, y[test], scores)
            note = f" ({skipped} resamples skipped)" if skipped else ""
            lines.append(f"| | | {name} | **{value:.3f}** | [{low:.3f}, {high:.3f}]{note} | "
                         f"{fit_s:.0f} | {pred_s:.0f} |")
            print(lines[-1], file=sys.stderr, flush=True)


def run_cinc(data, memory, lines):
    ds = load_cinc2017(Path(data) / "cinc2017")
    y = np.asarray(ds.y)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y,
                                           random_state=0)
    counts = ", ".join(f"{c} {int((y[idx_test] == c).sum())}" for c in ds.classes)
    X300 = WFDBLoader(length=9000, n_jobs=2).fit_transform(ds.X)
    X100 = WFDBLoader(sampling_rate=100, length=3000, n_jobs=2).fit_transform(ds.X)
    lines.append(f"| CinC 2017 (test records: {counts}) | {len(idx_train)} / {len(idx_test)} | "
                 "challenge F1 (N, A, O) / F1 of A | | | | |")
    for name, model in baselines(300, False, 0, None, memory):
        X = X100 if name == "randomconv_ridge" else X300
        pred, fit_s, pred_s = fit_and_predict(model, X[idx_train], y[idx_train], X[idx_test],
                                              "predict")
        value, low, high, _ = bootstrap_ci(challenge_f1, y[idx_test], pred)
        af, af_low, af_high, _ = bootstrap_ci(f1_af, y[idx_test], pred)
        lines.append(f"| | | {name} | **{value:.3f}** / {af:.3f} | [{low:.3f}, {high:.3f}] / "
                     f"[{af_low:.3f}, {af_high:.3f}] | {fit_s:.0f} | {pred_s:.0f} |")
        print(lines[-1], file=sys.stderr, flush=True)


def run_select_c(data, lines):
    """Scores of features_logreg for several C, by CV on the training records only.

    PTB-XL superdiagnostic: 4-fold cross-validation on folds 1-8 grouped by
    ``strat_fold`` (a patient never spans two folds), macro AUROC. CinC 2017:
    stratified 4-fold cross-validation on the 80 % training split of
    :func:`run_cinc`, challenge F1. The test records (PTB-XL fold 10, the CinC
    hold-out) are not read. Each feature table is computed once on the
    training records (its imputation medians too); the scaler and the
    classifier are refitted in every CV split.
    """
    Cs = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ptb = load_ptbxl(Path(data) / "ptb-xl", task="superdiagnostic")
    train = ptb.folds <= 8
    model = make_feature_baseline("logreg", sampling_rate=100, multilabel=True, n_jobs=2,
                                  rhythm_lead="II", lead_names=STANDARD_LEADS, random_state=0)
    F_ptb = model.named_steps["features"].fit_transform(
        WFDBLoader(n_jobs=2).fit_transform(ptb.X[train]))
    y_ptb, groups = np.asarray(ptb.y)[train], ptb.folds[train]
    ptb_scores = []
    for C in Cs:
        clf = make_pipeline(StandardScaler(), clone(model[-1]).set_params(estimator__C=C))
        scores = cross_val_predict(clf, F_ptb, y_ptb, cv=GroupKFold(4), groups=groups,
                                   method="predict_proba")
        ptb_scores.append(macro_auroc(y_ptb, scores))
        print(f"PTB-XL C={C:g}: {ptb_scores[-1]:.4f}", file=sys.stderr, flush=True)

    cinc = load_cinc2017(Path(data) / "cinc2017")
    y = np.asarray(cinc.y)
    idx_train, _ = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y,
                                    random_state=0)
    model = make_feature_baseline("logreg", sampling_rate=300, n_jobs=2, random_state=0)
    F_cinc = model.named_steps["features"].fit_transform(
        WFDBLoader(length=9000, n_jobs=2).fit_transform(cinc.X[idx_train]))
    y_cinc = y[idx_train]
    cinc_scores = []
    for C in Cs:
        clf = make_pipeline(StandardScaler(), clone(model[-1]).set_params(C=C))
        pred = cross_val_predict(clf, F_cinc, y_cinc,
                                 cv=StratifiedKFold(4, shuffle=True, random_state=0))
        cinc_scores.append(challenge_f1(y_cinc, pred))
        print(f"CinC C={C:g}: {cinc_scores[-1]:.4f}", file=sys.stderr, flush=True)

    lines += ["## LogisticRegression C: cross-validation on the training records only", "",
              f"PTB-XL superdiagnostic: folds 1-8 ({len(y_ptb)} records, "
              f"{F_ptb.shape[1]} features), 4-fold CV grouped by strat_fold, macro AUROC. "
              f"CinC 2017: the 80 % training split ({len(y_cinc)} records, "
              f"{F_cinc.shape[1]} features), stratified 4-fold CV, challenge F1.", "",
              "| C | PTB-XL CV macro AUROC | CinC CV challenge F1 |", "|---:|---:|---:|"]
    lines += [f"| {C:g} | {a:.4f} | {b:.4f} |" for C, a, b in zip(Cs, ptb_scores, cinc_scores)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--only", choices=("ptbxl", "cinc", "select-c"), default=None,
                        help="run one part; select-c: the LogisticRegression C study on "
                             "the training records (not run by default)")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args()
    require_data(parser, args)

    lines = []
    if args.only != "select-c":
        lines += ["## Classic baselines: test metrics with 95 % bootstrap intervals", "",
                  "| data | train / test records | baseline | metric | 95 % CI | fit s | "
                  "predict s |", "|---|---|---|---:|---|---:|---:|"]
    load_start = load_average()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        memory = Memory(cache, verbose=0)
        if args.only in (None, "ptbxl"):
            run_ptbxl(args.data, memory, lines)
        if args.only in (None, "cinc"):
            run_cinc(args.data, memory, lines)
        if args.only == "select-c":
            run_select_c(args.data, lines)
    lines += ["", f"Total wall time {time.perf_counter() - start:.0f} s (including loading "
              "the records)."]
    if args.only != "select-c":
        lines[-1] += (" Fit and predict times are wall seconds; predict includes the feature "
                      "extraction of the test records.")
    lines += ["",
              f"Machine: {machine()}; load average (1/5/15 min) {load_start} at the start, "
              f"{load_average()} at the end.", "",
              f"Command: `python {' '.join(sys.argv)}`"]
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n")


if __name__ == "__main__":
    main()
