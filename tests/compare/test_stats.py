"""Pairwise tests of pipelines on the same test records."""

import re

import numpy as np
import pytest

from ecgsk.compare._stats import holm, pairwise_comparison
from ecgsk.metrics import challenge_f1


def test_holm_adjusts_in_the_input_order():
    # Sorted 0.01, 0.02, 0.04 times 3, 2, 1 -> 0.03, 0.04, 0.04 (kept monotone).
    np.testing.assert_allclose(holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])  # capped at 1
    assert holm([]).size == 0


def test_holm_counts_only_the_tests_made():
    # A NaN p-value (an AUROC undefined on the test records) is no test: the other two
    # form the family, as if it were absent.
    np.testing.assert_allclose(holm([0.04, np.nan, 0.01]), [0.04, np.nan, 0.02])
    np.testing.assert_allclose(holm([0.04, 0.01]), [0.04, 0.02])
    assert np.isnan(holm([np.nan, np.nan])).all()


def _cinc(rng, n=400):
    classes = ["A", "N", "O", "~"]
    y = rng.integers(0, 4, n)
    good = np.eye(4)[y] * 2 + rng.random((n, 4))          # mostly right
    noisy = np.eye(4)[y] * 0.3 + rng.random((n, 4))       # often wrong
    results = {name: (p / p.sum(1, keepdims=True), p.argmax(1))
               for name, p in (("good", good), ("noisy", noisy))}
    return classes, y, results


def test_cinc_pairs_are_also_tested_on_the_challenge_f1(rng):
    classes, y, results = _cinc(rng)
    table = pairwise_comparison(y, results, "cinc", 4, n_boot=200, seed=0, classes=classes)
    (row,) = table.to_dict("records")
    scored = [1, 0, 2]  # N, A and O; noise is not averaged in
    assert row["challenge_f1_a"] == pytest.approx(challenge_f1(y, results["good"][1], scored))
    assert row["challenge_f1_b"] == pytest.approx(challenge_f1(y, results["noisy"][1], scored))
    assert row["challenge_f1_a"] > row["challenge_f1_b"] + 0.2
    assert row["p_challenge_f1"] < 0.01 and row["winner"] == "good"
    # Two equal pipelines: no difference, no winner.
    same = pairwise_comparison(y, {"a": results["noisy"], "b": results["noisy"]}, "cinc", 4,
                               n_boot=200, classes=classes)
    assert same["p_challenge_f1"].iloc[0] == 1.0 and same["winner"].iloc[0].startswith("none")


def test_other_tasks_have_no_challenge_f1(rng):
    classes, y, results = _cinc(rng)
    table = pairwise_comparison(y, results, "multiclass", 4, n_boot=50, classes=classes)
    assert "p_challenge_f1" not in table.columns and "p_mcnemar" in table.columns
    binary = (y == 0).astype(int)
    scores = {k: (np.c_[1 - p[:, 0], p[:, 0]], (p[:, 0] > 0.5).astype(int))
              for k, (p, _) in results.items()}
    table = pairwise_comparison(binary, scores, "binary", 2, n_boot=50)
    assert {"p_delong", "p_mcnemar"} <= set(table.columns)
    assert "p_challenge_f1" not in table.columns


@pytest.mark.timeout(60)
def test_a_pipeline_with_nan_scores_gets_undefined_tests_not_a_hang(rng):
    y = np.arange(40) % 2
    p1 = np.clip(y + rng.normal(0, 0.4, 40), 0, 1)
    good = (np.c_[1 - p1, p1], (p1 > 0.5).astype(int))
    diverged = (np.full((40, 2), np.nan), np.zeros(40, int))
    (row,) = pairwise_comparison(y, {"good": good, "nan": diverged}, "binary", 2,
                                 n_boot=50).to_dict("records")
    assert np.isnan(row["p_delong"]) and np.isnan(row["p_bootstrap"])
    assert row["winner"] == "undefined"


@pytest.mark.parametrize("task_type, shown, absent", [
    ("multilabel", [], ["DeLong", "McNemar"]),
    ("binary", ["DeLong (unadjusted)", "McNemar on accuracy (unadjusted)"], ["challenge"]),
])
def test_the_report_names_only_the_tests_its_table_shows(rng, task_type, shown, absent):
    # A multi-label table was headed "DeLong for binary; McNemar on accuracy", and had
    # neither column.
    import io

    from ecgsk.compare._compare import _write_pairwise

    y = (rng.random((60, 3)) < 0.5).astype(int) if task_type == "multilabel" else \
        np.arange(60) % 2
    results = {}
    for name, noise in (("a", 0.3), ("b", 1.0)):
        p = np.clip(y + rng.normal(0, noise, y.shape), 0, 1)
        results[name] = ((p, (p > 0.5).astype(int)) if task_type == "multilabel"
                         else (np.c_[1 - p, p], (p > 0.5).astype(int)))
    table = pairwise_comparison(y, results, task_type, 2 if task_type == "binary" else 3,
                                n_boot=20)
    report = io.StringIO()
    _write_pairwise(report, table, "")
    header = report.getvalue().splitlines()[1]
    assert header.startswith("Pairwise tests (paired bootstrap of the AUROC difference, "
                             "Holm-adjusted over pairs")
    assert all(text in header for text in shown)
    assert not any(text in header for text in absent)
    assert ("p_delong" in table) == ("DeLong" in header)
    # Scores and differences at 4 decimals, p-values at 3 digits: "%.4g" printed 0.2833
    # beside -0.04167 and 0.01199 in one row.
    row = report.getvalue().splitlines()[3].split()
    columns = report.getvalue().splitlines()[2].split()
    for column, text in zip(columns, row):
        if column in ("value_a", "value_b", "diff", "diff_ci_low", "diff_ci_high"):
            assert re.fullmatch(r"-?\d\.\d{4}", text), (column, text)
        elif column.startswith("p_") and text != "NaN":
            assert len(text.lstrip("0.").replace(".", "").split("e")[0]) <= 3, (column, text)


def test_an_adjusted_p_equal_to_alpha_names_no_winner():
    # Pins "p < 0.05": a mutant with "<=" declared a winner at p = 0.05, against its own
    # label "none (p >= 0.05)".
    y = np.arange(100) % 2
    good = np.column_stack([1 - y * 0.8 - 0.1, y * 0.8 + 0.1])  # AUROC 1 on every resample
    flat = np.full((100, 2), 0.5)  # AUROC 0.5
    row = pairwise_comparison(y, {"good": (good, y), "flat": (flat, y * 0)}, "binary",
                              n_classes=2, n_boot=39).iloc[0]
    assert row["p_holm"] == 0.05  # 2 * (0 + 1) / (39 + 1): no resample on the other side
    assert row["winner"] == "none (p >= 0.05)"
