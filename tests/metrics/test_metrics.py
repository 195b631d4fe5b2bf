"""Metrics, bootstrap and paired tests against known cases."""

import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from ecgsk.metrics import (
    bootstrap_ci,
    challenge_f1,
    delong_test,
    macro_auroc,
    mcnemar_test,
    paired_bootstrap,
    per_class_auroc,
    sensitivity_specificity,
    tune_thresholds,
)


@pytest.mark.parametrize("labels", [[0, 1, 2, 3, 0], ["n", "a", "o", "~", "n"]])
def test_challenge_f1_refuses_labels_it_would_not_score(labels):
    """Perfect predictions in other label names would silently score 0."""
    with pytest.raises(ValueError, match=r"no label of y_true or y_pred is one of "
                                         r"classes=\('N', 'A', 'O'\)"):
        challenge_f1(labels, labels)
    assert challenge_f1(labels, labels, classes=labels[:3]) == 1.0


def test_challenge_f1_by_hand():
    # F1(N) = 2/3 (one O called N), F1(A) = 1, F1(O) = 0; noisy is not averaged.
    assert challenge_f1(["N", "A", "O", "~"], ["N", "A", "N", "~"]) == pytest.approx(5 / 9)
    assert challenge_f1(list("NAO"), list("NAO")) == 1.0


def test_challenge_f1_leaves_out_a_class_neither_true_nor_predicted():
    # A test set (or a bootstrap resample) without AF: perfect predictions scored 2/3.
    assert challenge_f1(list("NNOO~"), list("NNOO~")) == 1.0
    assert challenge_f1(list("NNOO"), list("NNOA")) == pytest.approx((1 + 2 / 3 + 0) / 3)
    y = np.array(["N"] * 30 + ["O"] * 10 + ["A"] * 2)
    assert bootstrap_ci(challenge_f1, y, y, n_boot=300, random_state=0) == (1.0, 1.0, 1.0)


def test_macro_auroc_skips_absent_class():
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    s = np.array([[0.9, 0.1, 0.3], [0.2, 0.8, 0.1], [0.7, 0.6, 0.2], [0.1, 0.3, 0.4]])
    with pytest.warns(UserWarning, match="1 class"):
        value = macro_auroc(y, s)
    assert value == pytest.approx(np.mean([roc_auc_score(y[:, j], s[:, j]) for j in (0, 1)]))
    assert np.isnan(per_class_auroc(y, s)[2])


def test_macro_auroc_binary_with_two_column_proba():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
    assert macro_auroc(y, proba) == pytest.approx(roc_auc_score(y, proba[:, 1])) == 0.75


def test_macro_auroc_undefined():
    with pytest.raises(ValueError, match="undefined"):
        macro_auroc(np.ones((3, 2)), np.random.rand(3, 2))


def test_sensitivity_specificity_names_y_pred_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"y_true has shape \(4, 2\) but y_pred has shape "
                                         r"\(4, 3\)"):
        sensitivity_specificity(np.zeros((4, 2)), np.zeros((4, 3)))


@pytest.mark.parametrize("metric", [macro_auroc, per_class_auroc, tune_thresholds,
                                    sensitivity_specificity,
                                    lambda y, p: bootstrap_ci(macro_auroc, y, p, n_boot=5)])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_score_that_is_not_finite_is_named_with_its_record(metric, bad):
    y = np.array([0, 1] * 5)
    score = np.linspace(0, 1, 10)
    score[3] = bad
    with pytest.raises(ValueError, match=r"holds NaN or infinite values in 1 record\(s\), the "
                                         r"first at record 3"):
        metric(y, score)


def test_sensitivity_specificity_by_hand():
    y = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    p = np.array([[1, 0], [0, 1], [0, 1], [0, 1]])
    sens, spec = sensitivity_specificity(y, p)
    np.testing.assert_allclose(sens, [0.5, 1.0])
    np.testing.assert_allclose(spec, [1.0, 0.5])


def test_tune_thresholds_separates():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    (thr,) = tune_thresholds(y, s)
    assert 0.3 < thr <= 0.6
    assert ((s >= thr) == y).all()


@pytest.mark.parametrize("scale", [1.0, 10.0, -1.0])
def test_tune_thresholds_of_scores_that_are_not_probabilities(scale):
    """Logits and decision_function values: the threshold is not cut at 1."""
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) * scale
    (thr,) = tune_thresholds(y, s)
    if scale > 0:
        assert thr == 4.0 * scale and ((s >= thr) == y).all()
    else:  # the higher score, the more negative: best to call every record negative
        assert thr > s.max() and not (s >= thr).any()
    (thr,) = tune_thresholds(y, np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1]))
    assert thr == 1.0  # probabilities: at most 1


def test_a_threshold_of_1_is_not_taken_where_it_calls_a_negative_record_positive():
    # Capped at 1, "no record positive" called the negative scored 1.0 positive: J of
    # -0.333, below that of calling every record positive (0).
    y, s = np.array([0, 1, 0, 1, 0, 1]), np.array([1.0, 0.2, 0.9, 0.1, 0.8, 0.3])
    (thr,) = tune_thresholds(y, s)
    called = s >= thr
    j = called[y == 1].mean() - called[y == 0].mean()
    assert thr <= 1.0 and j == 0.0


def test_bootstrap_ci_covers_and_narrows():
    rng = np.random.default_rng(0)
    def sample(n):
        y = rng.integers(0, 2, n)
        return y, np.where(rng.random(n) < 0.8, y, 1 - y)
    y, p = sample(200)
    point, low, high = bootstrap_ci(accuracy_score, y, p, n_boot=300, random_state=1)
    assert low <= point <= high and point == accuracy_score(y, p)
    y2, p2 = sample(5000)
    _, low2, high2 = bootstrap_ci(accuracy_score, y2, p2, n_boot=300, random_state=1)
    assert high2 - low2 < (high - low) / 2
    assert low2 < 0.8 < high2
    # Reproducible with a seed.
    assert bootstrap_ci(accuracy_score, y, p, n_boot=50, random_state=3) == \
        bootstrap_ci(accuracy_score, y, p, n_boot=50, random_state=3)


@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_bootstrap_ci_is_the_percentile_interval_at_its_confidence(confidence):
    # No test compared the interval with one computed apart: a 90 % interval called 95 %
    # passed every one.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 150)
    p = np.where(rng.random(150) < 0.7, y, 1 - y)
    draws = np.random.RandomState(4)
    stats = [accuracy_score(y[i], p[i]) for i in
             (draws.randint(0, 150, size=150) for _ in range(400))]
    tail = (1 - confidence) / 2
    expected = np.quantile(stats, [tail, 1 - tail])
    _, low, high = bootstrap_ci(accuracy_score, y, p, n_boot=400, confidence=confidence,
                                random_state=4)
    np.testing.assert_allclose([low, high], expected)
    result = paired_bootstrap(accuracy_score, y, p, y, n_boot=400, confidence=confidence,
                              random_state=4)
    np.testing.assert_allclose([result["low"], result["high"]], expected - 1)


def test_a_metric_warning_is_given_once_not_per_resample():
    # macro_auroc leaving out a class without positives warned n_boot + 1 times.
    y = np.zeros((60, 3), int)
    y[::2, 0], y[::3, 1] = 1, 1
    score = np.random.RandomState(0).rand(60, 3)
    for run in (lambda: bootstrap_ci(macro_auroc, y, score, n_boot=30),
                lambda: paired_bootstrap(macro_auroc, y, score, 1 - score, n_boot=30)):
        with pytest.warns(UserWarning) as caught:
            run()
        messages = [str(w.message) for w in caught]
        assert len(messages) == 1 and "left out" in messages[0], messages
        assert caught[0].filename == __file__


def test_bootstrap_ci_says_when_few_resamples_are_left():
    # 25 labels, each positive in one record: nearly every resample loses one,
    # and is drawn again until the draws run out. Silent, the "interval" was
    # the metric of one or two resamples.
    import warnings

    n, k = 200, 25
    y = np.zeros((n, k), int)
    y[np.random.RandomState(0).choice(n, k, replace=False), np.arange(k)] = 1
    score = np.random.RandomState(0).rand(n, k)
    with pytest.warns(UserWarning, match=r"bootstrap_ci: the interval rests on \d of 20 "
                                         r"resamples; the others lost a class of y_true"):
        bootstrap_ci(macro_auroc, y, score, n_boot=20)
    y = (np.arange(n) % 2)[:, None] * np.ones(2, int)  # every resample keeps both classes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bootstrap_ci(macro_auroc, y, score[:, :2], n_boot=20)


def test_paired_bootstrap_detects_difference_and_no_difference():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    good = y + rng.normal(0, 0.5, 400)
    bad = y + rng.normal(0, 3.0, 400)
    res = paired_bootstrap(roc_auc_score, y, good, bad, n_boot=300)
    assert res["diff"] > 0 and res["low"] > 0 and res["p_value"] < 0.01
    same = paired_bootstrap(roc_auc_score, y, good, good, n_boot=100)
    assert same["diff"] == 0 and same["p_value"] == 1.0
    # The worse model first: the same p-value, the difference and interval mirrored.
    swapped = paired_bootstrap(roc_auc_score, y, bad, good, n_boot=300)
    assert swapped["p_value"] == res["p_value"] and swapped["diff"] == -res["diff"]
    assert (swapped["low"], swapped["high"]) == pytest.approx((-res["high"], -res["low"]))


def test_paired_bootstrap_of_no_difference_is_symmetric():
    # The same score on all records, a lower one on the resamples without record 0 (a
    # third of them): with a first, p was 1.0, with b first, 0.64. The observed difference
    # 0 is no evidence either way.
    y = np.array([1, 0] * 10)
    a, b = np.r_[1.0, np.zeros(19)], np.r_[1.0, np.full(19, 0.9)]

    def best(t, s):
        return float(np.max(s))

    for first, second in ((a, b), (b, a)):
        result = paired_bootstrap(best, y, first, second, n_boot=200, random_state=0)
        assert result["diff"] == 0.0 and result["p_value"] == 1.0


def test_paired_bootstrap_counts_a_tied_resample_half():
    # Only two records can differ: many resamples tie at 0, and each counts half.
    y = np.array([1, 0] * 10)
    a, b = y.copy(), y.copy()
    b[0] = 0
    result = paired_bootstrap(accuracy_score, y, a, b, n_boot=200, random_state=0)
    draws = np.random.RandomState(0)
    diffs = np.array([accuracy_score(y[i], a[i]) - accuracy_score(y[i], b[i])
                      for i in (draws.randint(0, 20, size=20) for _ in range(200))])
    assert (diffs == 0).any() and (diffs > 0).any() and not (diffs < 0).any()
    expected = 2 * (0.5 * np.sum(diffs == 0) + 1) / (200 + 1)
    assert result["p_value"] == pytest.approx(min(1.0, expected))
    # b first (a negative difference): each tie counts half on that side too.
    swapped = paired_bootstrap(accuracy_score, y, b, a, n_boot=200, random_state=0)
    assert swapped["diff"] < 0 and swapped["p_value"] == pytest.approx(min(1.0, expected))


def test_label_matrix_resamples_that_lose_a_class_are_drawn_again():
    # Classes A and B are ranked perfectly, C (one positive) worst: every macro AUROC over
    # all three is 2/3. Resamples without C's positive (38 %) scored 1 over A and B only.
    y = np.zeros((100, 3), int)
    y[:50, 0], y[::2, 1], y[7, 2] = 1, 1, 1
    score = np.c_[y[:, :2].astype(float), np.ones(100)]
    score[7, 2] = 0.0
    point, low, high = bootstrap_ci(macro_auroc, y, score, n_boot=200, random_state=0)
    assert point == low == high == pytest.approx(2 / 3)
    result = paired_bootstrap(macro_auroc, y, score, 1 - score, n_boot=200, random_state=0)
    assert result["n_boot"] == 200  # each drawn until it keeps C's positive
    assert result["low"] == result["high"] == pytest.approx(2 / 3 - 1 / 3)


def test_a_label_matrix_no_resample_of_which_keeps_every_class_is_given_up_and_said():
    # 30 labels of one positive each: every draw loses one, and the whole cap of 1,000
    # draws per resample was drawn (15 s for 50 resamples) to return NaN without a word.
    from ecgsk.metrics import _bootstrap

    y = np.zeros((200, 31), int)
    y[np.arange(30), np.arange(30)] = 1
    y[::2, 30] = 1
    score = np.random.default_rng(0).random(y.shape)
    draws = []

    class Counting(np.random.RandomState):
        def randint(self, *args, **kwargs):
            draws.append(1)
            return super().randint(*args, **kwargs)

    with pytest.warns(UserWarning, match=r"bootstrap_ci: none of the 50 resamples could be "
                                         r"scored"):
        point, low, high = bootstrap_ci(macro_auroc, y, score, n_boot=50,
                                        random_state=Counting(0))
    assert np.isfinite(point) and np.isnan(low) and np.isnan(high)
    assert len(draws) == _bootstrap._HOPELESS_DRAWS  # not 50,000


def test_paired_bootstrap_without_a_defined_resample_gives_nan():
    """As bootstrap_ci does: no interval, not numpy's IndexError of an empty percentile."""
    y = np.r_[1, np.zeros(9, int)]  # one positive: most resamples lack it
    a, b = np.linspace(1, 0, 10), np.linspace(0, 1, 10)
    res = paired_bootstrap(roc_auc_score, y, a, b, n_boot=0)
    assert res["diff"] == 1.0 and res["n_boot"] == 0
    assert np.isnan(res["low"]) and np.isnan(res["high"]) and np.isnan(res["p_value"])

    def distinct_only(y_true, score):  # defined on the records, never on a resample of them
        if len(np.unique(score)) < len(score):
            raise ValueError("a record drawn twice")
        return float(score[0])

    with pytest.warns(UserWarning, match=r"paired_bootstrap: none of the 50 resamples could "
                                         r"be scored .*, so there is no interval"):
        drawn = paired_bootstrap(distinct_only, y, a, b, n_boot=50)
    assert drawn["diff"] == 1.0 and drawn["n_boot"] == 0 and np.isnan(drawn["p_value"])
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 95"):
        paired_bootstrap(roc_auc_score, y, a, b, confidence=95)


def test_delong_with_a_single_record_of_a_class_warns_and_gives_nan():
    y = np.r_[1, np.zeros(9, int)]
    a, b = np.linspace(1, 0, 10), np.r_[0.5, np.linspace(0, 1, 9)]
    with pytest.warns(UserWarning, match="1 positive and 9 negative records; the variance "
                                         "of the AUROCs needs two of each"):
        res = delong_test(y, a, b)
    assert res["auc_a"] == pytest.approx(roc_auc_score(y, a))
    assert res["auc_b"] == pytest.approx(roc_auc_score(y, b))
    assert np.isnan(res["z"]) and np.isnan(res["p_value"])


def _delong_bruteforce(y, a, b):
    """DeLong by its definition: O(m n) placement values."""
    def comps(s):
        pos, neg = s[y == 1], s[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        return psi.mean(), psi.mean(axis=1), psi.mean(axis=0)
    auc_a, v10a, v01a = comps(a)
    auc_b, v10b, v01b = comps(b)
    m, n = (y == 1).sum(), (y == 0).sum()
    s10 = np.cov(np.vstack([v10a, v10b]))
    s01 = np.cov(np.vstack([v01a, v01b]))
    cov = s10 / m + s01 / n
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    return auc_a, auc_b, (auc_a - auc_b) / np.sqrt(var)


def test_delong_matches_definition():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 150)
    a = np.round(y + rng.normal(0, 1.0, 150), 1)  # rounding makes ties
    b = np.round(y + rng.normal(0, 1.5, 150), 1)
    res = delong_test(y, a, b)
    auc_a, auc_b, z = _delong_bruteforce(y, a, b)
    assert res["auc_a"] == pytest.approx(roc_auc_score(y, a)) == pytest.approx(auc_a)
    assert res["auc_b"] == pytest.approx(auc_b)
    assert res["z"] == pytest.approx(z)
    assert res["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))  # two-sided normal
    assert delong_test(y, a, a)["p_value"] == 1.0


def test_delong_without_variance_but_with_a_difference_gives_nan():
    # A perfect score against a constant one: p = 1 read as "no evidence of a difference".
    y = np.array([0, 0, 0, 1, 1, 1])
    with pytest.warns(UserWarning, match=r"the AUROCs differ \(1 against 0.5\) but the "
                                         r"variance of their difference is 0"):
        res = delong_test(y, y.astype(float), np.full(6, 0.5))
    assert (res["auc_a"], res["auc_b"]) == (1.0, 0.5)
    assert np.isnan(res["z"]) and np.isnan(res["p_value"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert delong_test(y, y.astype(float), 2.0 * y)["p_value"] == 1.0  # both perfect


@pytest.mark.timeout(60)  # a NaN score used to loop for ever in the midranks
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_delong_names_a_score_that_is_not_finite(bad):
    y = np.arange(10) % 2
    a = np.linspace(0, 1, 10)
    with pytest.raises(ValueError, match="score_b holds 1 NaN or infinite scores, the first at "
                                         "record 3"):
        delong_test(y, a, np.where(np.arange(10) == 3, bad, a))


@pytest.mark.parametrize("y", [np.array([0, 0.7, 1, 0.2, 1, 0, 1.9, 0]),
                               np.array(list("nanananan"))[:8],
                               np.array([-1, 1, -1, 1, -1, 1, -1, 1])])
def test_delong_refuses_labels_other_than_0_and_1(y):
    with pytest.raises(ValueError, match="delong_test needs binary y_true, the labels 0 and 1"):
        delong_test(y, np.linspace(0, 1, 8), np.linspace(1, 0, 8))


def test_the_paired_tests_name_mismatched_inputs():
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match=r"score_b must hold one score per record of y_true, "
                                         r"shape \(10,\); got shape \(9,\)"):
        delong_test(y, y * 0.5, y[:9] * 0.5)
    with pytest.raises(ValueError, match=r"y_true must be 1-D, got shape \(10, 2\); test "
                                         "each label's column apart"):
        delong_test(np.c_[y, 1 - y], y, y)
    with pytest.raises(ValueError, match=r"pred_a must have the shape of y_true"):
        mcnemar_test(y, y[:5], y)


def test_mcnemar_by_hand():
    y = np.zeros(20, int)
    a = np.zeros(20, int)
    b = np.r_[np.ones(10, int), np.zeros(10, int)]  # b wrong on 10 records a gets right
    res = mcnemar_test(y, a, b)
    assert (res["b"], res["c"]) == (10, 0)
    assert res["p_value"] == pytest.approx(2 * 0.5 ** 10)
    assert mcnemar_test(y, a, a)["p_value"] == 1.0


def test_length_mismatch():
    with pytest.raises(ValueError, match="records"):
        bootstrap_ci(accuracy_score, [0, 1], [0])
    with pytest.raises(ValueError, match="binary"):
        delong_test([1, 1], [0.1, 0.2], [0.3, 0.4])


@pytest.mark.parametrize("y", [np.array(["normal", "af", "normal", "af"]),
                               np.array([0, 1, 2, 1]), np.array([-1, 1, -1, 1])])
def test_auroc_refuses_labels_whose_positive_class_it_would_guess(y):
    score = np.array([0.9, 0.1, 0.8, 0.2])  # of "af": the string case used to give 0.0
    with pytest.raises(ValueError, match="y_true must hold 0/1 labels .*label_binarize"):
        macro_auroc(y, score)
    with pytest.raises(ValueError, match="y_true must hold 0/1 labels"):
        per_class_auroc(y, score)
    assert macro_auroc(y == "af" if y.dtype.kind == "U" else y == 1, 1 - score) == 1.0


@pytest.mark.parametrize("options, message", [
    ({"n_boot": -5}, "n_boot must be a non-negative integer .*got -5"),  # used to give NaN bounds
    ({"n_boot": 1.5}, "n_boot must be a non-negative integer .*got 1.5"),
    ({"n_boot": "10"}, "n_boot must be a non-negative integer .*got '10'"),
    ({"confidence": "0.95"}, r"confidence must be in \(0, 1\), got '0.95'"),
])
def test_the_bootstraps_name_a_bad_option(options, message):
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match=message):
        bootstrap_ci(roc_auc_score, y, y * 0.5, **options)
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(roc_auc_score, y, y * 0.5, y * 0.2, **options)


def test_mcnemar_on_label_matrices_needs_every_label_right():
    from scipy.stats import binomtest

    # A record counts as right only when all its labels are; "any label right" passed
    # every test, which were all 1-D.
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 3)
    a = y.copy()
    b = y.copy()
    b[:6, 1] = 1 - b[:6, 1]  # one label wrong on six records: those records are wrong
    a[6, 0] = 1 - a[6, 0]  # one label only, so that "any label right" fails here too
    res = mcnemar_test(y, a, b)
    assert (res["b"], res["c"]) == (6, 1)
    assert res["p_value"] == pytest.approx(binomtest(6, 7, 0.5).pvalue)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_challenge_f1_names_a_missing_label(missing):
    # None or NaN among strings (a pandas column with a gap) failed inside numpy's sort.
    pred = np.array(["N", "A", "O", "N", "~", missing], dtype=object)
    with pytest.raises(ValueError, match=r"y_pred holds 1 missing label\(s\) \(None or NaN\), "
                                         r"the first at position 5"):
        challenge_f1(list("NAON~N"), pred)
    with pytest.raises(ValueError, match=r"y_true holds 1 missing label\(s\)"):
        challenge_f1(pred, list("NAON~N"))


def test_challenge_f1_and_mcnemar_name_what_they_cannot_use():
    for classes in (None, "NAO"):  # None was a TypeError; a string is read as its letters
        with pytest.raises(ValueError, match=r"classes must be a sequence of the scored labels"):
            challenge_f1(["N", "A"], ["N", "A"], classes=classes)
    with pytest.raises(ValueError, match=r"mcnemar_test needs at least one record; y_true has "
                                         r"shape \(0,\)"):
        mcnemar_test([], [], [])


@pytest.mark.parametrize("pred, message", [
    (["0", "1", "0", "1"], r"pred_a holds labels written otherwise than y_true's \(<U1 against "
                           r"int64\): each would count as an error"),
    ([0.1, 0.9, 0.2, 0.8], r"pred_a holds scores \(non-integer values such as 0\.1\), not "
                           r"predicted labels: threshold them first"),
    ([0, 1, np.nan, 1], r"y_true or pred_a holds NaN, which equals no label"),
])
def test_mcnemar_refuses_predictions_that_could_never_be_right(pred, message):
    # Perfect predictions as strings counted all wrong; two sets of scores gave p = 1.
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=message):
        mcnemar_test(y, pred, y)
    assert mcnemar_test(y, [0.0, 1.0, 0.0, 0.0], y) == {"b": 0, "c": 1, "p_value": 1.0}
    as_objects = y.astype(object)  # ints as pandas may hold them: numbers all the same
    assert mcnemar_test(as_objects, [0, 1, 0, 0], y) == {"b": 0, "c": 1, "p_value": 1.0}


def test_challenge_f1_reads_classes_once_each():
    # A generator was used up by the label check (NaN); a class named twice counted twice.
    assert challenge_f1(list("NAO"), list("NAA"), classes=(c for c in "NAO")) == pytest.approx(
        challenge_f1(list("NAO"), list("NAA")))
    assert challenge_f1(list("NAO"), list("NAA"), classes=("N", "N", "A", "O")) == pytest.approx(
        5 / 9)


@pytest.mark.parametrize("y", [np.zeros((2, 2, 2)), np.int64(1)])
def test_auroc_refuses_y_true_of_more_or_fewer_dimensions(y):
    # 3-D labels gave a number; a scalar, numpy's AxisError.
    with pytest.raises(ValueError, match=r"y_true must be 1-D \(n,\) or 2-D \(n, n_classes\); "
                                         r"got [03]-D"):
        macro_auroc(y, np.random.default_rng(0).random((2, 2, 2)))


def test_bootstrap_names_a_bad_seed_or_records():
    # numpy's "Seed must be between 0 and 2**32 - 1" named no parameter; a scalar gave
    # "len() of unsized object".
    y = np.array([0, 1] * 10)
    for run in (lambda **kw: bootstrap_ci(accuracy_score, y, y, n_boot=5, **kw),
                lambda **kw: paired_bootstrap(accuracy_score, y, y, y, n_boot=5, **kw)):
        with pytest.raises(ValueError, match=r"random_state must be None, an int in "
                                             r"\[0, 2\*\*32 - 1\] or a numpy RandomState, "
                                             r"got -1"):
            run(random_state=-1)
        with pytest.raises(ValueError, match=r"random_state must be None, an int or a numpy "
                                             r"RandomState, got 'a'"):
            run(random_state="a")
    with pytest.raises(ValueError, match=r"y_score must be an array of records, got the "
                                         r"scalar array\(1\)"):
        bootstrap_ci(accuracy_score, y, 1)
    with pytest.raises(ValueError, match=r"y_true, score_a and score_b must have the same "
                                         r"number of records; got 20, 20 and 19"):
        paired_bootstrap(accuracy_score, y, y, y[1:])


def test_scores_given_as_predictions_are_refused_by_sensitivity_specificity():
    # predict_proba passed by mistake: 0.2 counted as positive, sensitivity 1, specificity 0.
    with pytest.raises(ValueError, match=r"y_pred must hold 0/1 predictions, got values such "
                                         r"as 0.2: threshold scores first"):
        sensitivity_specificity([0, 1, 0, 1], [0.2, 0.9, 0.3, 0.4])
    sens, spec = sensitivity_specificity([0, 1, 0, 1], [False, True, True, True])
    assert sens.tolist() == [1.0] and spec.tolist() == [0.5]


def test_zero_one_labels_in_an_object_array_are_read_as_numbers():
    # As pandas holds them in a mixed frame; mcnemar_test took them, AUROC and DeLong said
    # "must hold 0/1 labels ... got the values 0, 1".
    y = np.array([0, 1, 0, 1, 1, 0], dtype=object)
    score = np.array([0.1, 0.8, 0.3, 0.2, 0.9, 0.4])
    assert macro_auroc(y, score) == roc_auc_score(y.astype(int), score)
    assert delong_test(y, score, score[::-1])["auc_a"] == pytest.approx(
        roc_auc_score(y.astype(int), score))
    with pytest.raises(ValueError, match="0/1 labels"):
        macro_auroc(np.array(["0", "1", "0"], dtype=object), score[:3])


def test_a_sparse_label_matrix_is_read_as_its_dense_one():
    # np.asarray made it a 0-d object array: "got 0-D", and mcnemar_test said that 4
    # records were none ("needs at least one record").
    import scipy.sparse as sp

    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    S = np.array([[0.9, 0.2], [0.3, 0.7], [0.6, 0.4], [0.2, 0.1]])
    P = (S >= 0.5).astype(int)
    assert macro_auroc(sp.csr_matrix(Y), S) == macro_auroc(Y, S)
    assert mcnemar_test(sp.csr_matrix(Y), sp.csr_matrix(P), Y) == mcnemar_test(Y, P, Y)
    assert bootstrap_ci(macro_auroc, sp.csr_matrix(Y), S, n_boot=5) == \
        bootstrap_ci(macro_auroc, Y, S, n_boot=5)
    # Other inputs reach the metric as they are: integer labels of a DataFrame stay integers.
    import pandas as pd

    labels = pd.DataFrame({"label": np.arange(30) % 3})
    proba = np.full((30, 3), 0.2)
    proba[np.arange(30), labels["label"]] = 0.6
    nll = lambda y, s: -np.log(s[np.arange(len(y)), y[:, 0]]).mean()  # noqa: E731
    assert bootstrap_ci(nll, labels, proba, n_boot=5)[0] == pytest.approx(-np.log(0.6))


def test_an_interval_on_fewer_than_half_the_resamples_warns():
    # Pins the "fewer than half" rule: a mutant warning below a quarter survived every test.
    y = np.arange(100)

    def metric(t, s):  # defined on about 40% of resamples: those that keep records 0 and 1
        if not (np.isin(0, t) and np.isin(1, t)):
            raise ValueError("undefined")
        return float(np.mean(s))

    with pytest.warns(UserWarning, match="rests on"):
        bootstrap_ci(metric, y, y.astype(float), n_boot=200)
