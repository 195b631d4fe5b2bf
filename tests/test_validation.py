"""ecgsk._validation: signal input refused in ecgsk's words, naming what to do."""

import numpy as np
import pytest

from ecgsk._validation import check_signal_input
from ecgsk.features import RandomConvFeatures, StatisticalFeatures
from ecgsk.preprocessing import Standardizer

ONE_D = (r"X must be 3-D \(n_records, n_leads, n_samples\) or 2-D \(n_records, n_samples\); "
         r"got a 1-D array of 1000 values\. Reshape your data: X\[None\] is one single-lead "
         r"record")


@pytest.mark.parametrize("fit", [
    check_signal_input, Standardizer().fit_transform,
    StatisticalFeatures(sampling_rate=100).fit_transform,
    RandomConvFeatures(n_kernels=84).fit,
], ids=["check_signal_input", "Standardizer", "StatisticalFeatures", "RandomConvFeatures"])
def test_bad_signal_input_is_explained(fit):
    with pytest.raises(ValueError, match=ONE_D):  # not sklearn's advice, reshape(-1, 1)
        fit(np.zeros(1000))
    with pytest.raises(ValueError, match=ONE_D):
        fit(list(np.zeros(1000)))
    with pytest.raises(ValueError, match=r"X is empty: 0 records \(shape \(0, 12, 100\)\)"):
        fit(np.zeros((0, 12, 100)))
    with pytest.raises(ValueError, match="its records differ in length or lead count: bring "
                                         "them to one"):
        fit([np.zeros((12, 100)), np.zeros((12, 90))])
    with pytest.raises(ValueError, match=r"X is empty: 0 records \(shape \(0,\)\)"):
        fit([])
    with pytest.raises(ValueError, match="X holds 2 strings, not signals: read record paths "
                                         "with ecgsk.preprocessing.WFDBLoader first"):
        fit(["data/00001_lr", "data/00002_lr"])
    records = np.empty(2, dtype=object)
    records[0], records[1] = np.zeros((12, 100)), np.zeros((12, 90))
    with pytest.raises(ValueError, match="X is a 1-D array of 2 objects: stack records"):
        fit(records)


@pytest.mark.parametrize("X, what", [(np.array([[1 + 5j, 2]]), "complex128"),
                                     ([["1.5", "2"]], "<U3")])
def test_signals_of_complex_numbers_or_text_are_refused(X, what):
    # The networks' and explainers' check kept the real part, or parsed the text.
    from ecgsk._validation import check_signals

    with pytest.raises(ValueError, match=f"X must hold real numbers, got an array of {what} "
                                         "values"):
        check_signals(X)


def test_good_input_comes_back_3d_float32():
    X = check_signal_input([[0, 1, 2], [3, 4, 5]])
    assert X.shape == (2, 1, 3) and X.dtype == np.float32
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):  # sklearn's words: its checks
        check_signal_input(np.zeros((3, 0)))


def test_one_record_as_wfdb_gives_it_is_named_as_such(ptbxl_root):
    import warnings

    import wfdb

    # wfdb's layout is (samples, leads): read as 5000 single-lead records of 12 samples.
    signal = wfdb.rdrecord(str(ptbxl_root / "records500" / "00000" / "00001_hr")).p_signal
    with pytest.warns(UserWarning, match=r"X of shape \(5000, 12\) is read as 5000 single-lead "
                                         r"records of 12 samples each\. If it is one record "
                                         r"as wfdb gives it, \(samples, leads\), pass X\.T\[None\]"):
        StatisticalFeatures(sampling_rate=500).fit_transform(signal)
    with warnings.catch_warnings():  # records (n_records, n_samples), and as it advises
        warnings.simplefilter("error")
        assert check_signal_input(signal.T).shape == (12, 1, 5000)
        assert check_signal_input(signal.T[None]).shape == (1, 12, 5000)
        check_signal_input(np.zeros((100, 3)))  # sklearn's checks feed such tables
    # Records stacked as wfdb gives them were read without a word as 5000 leads of 12
    # samples: a band-pass over 12 samples, 60,000 features.
    stacked = np.stack([signal, signal])
    with pytest.warns(UserWarning, match=r"X of shape \(2, 5000, 12\) is read as 2 records of "
                                         r"5000 leads and 12 samples each\. If its records are "
                                         r"stacked as wfdb gives them, \(samples, leads\), pass "
                                         r"X\.transpose\(0, 2, 1\)"):
        StatisticalFeatures(sampling_rate=500).fit_transform(stacked)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_signal_input(stacked.transpose(0, 2, 1)).shape == (2, 12, 5000)


@pytest.mark.parametrize("seed, message", [
    # "must be None, an int or a numpy RandomState" said of an int; numpy's message
    # ("Seed must be between 0 and 2**32 - 1") named no parameter.
    (-1, r"random_state must be None, an int in \[0, 2\*\*32 - 1\] or a numpy RandomState, "
         r"got -1"),
    (2 ** 32, r"an int in \[0, 2\*\*32 - 1\] .*got 4294967296"),
    ("abc", r"random_state must be None, an int or a numpy RandomState, got 'abc'"),
    (True, r"an int in \[0, 2\*\*32 - 1\] or a numpy RandomState, got True"),  # was seed 1
])
def test_a_bad_seed_is_named(seed, message):
    from ecgsk._validation import check_seed
    from ecgsk.preprocessing import Augmenter

    with pytest.raises(ValueError, match=message):
        check_seed(seed)
    with pytest.raises(ValueError, match=message):
        Augmenter(random_state=seed).fit_transform(np.zeros((2, 1, 50), np.float32))
    assert check_seed(2 ** 32 - 1).randint(10) == np.random.RandomState(2 ** 32 - 1).randint(10)


def test_a_sampling_rate_is_any_finite_positive_real():
    from fractions import Fraction

    from ecgsk._validation import check_sampling_rate
    from ecgsk.preprocessing import Resample

    assert check_sampling_rate(Fraction(1, 2)) == 0.5  # was numpy's TypeError from isfinite
    assert check_sampling_rate(np.float32(250)) == 250.0
    for bad in [10 ** 400, 0, -1.0, float("nan"), True, "100"]:
        with pytest.raises(ValueError, match=r"sampling_rate must be a positive number of Hz"):
            check_sampling_rate(bad)
    X = np.random.RandomState(0).standard_normal((2, 1, 500)).astype(np.float32)
    assert Resample(100, Fraction(500)).fit_transform(X).shape == (2, 1, 100)


def test_values_beyond_float32s_range_are_not_called_nan():
    # A finite 1e39 became inf in the float32 cast, with numpy's overflow warning, and was
    # reported as "NaN or infinite values ... Clean or impute them first".
    import warnings

    from ecgsk._validation import check_signals

    X = np.zeros((3, 2, 50))
    X[2, 1, 7] = -1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^X has values beyond float32's range "
                                             r"\(\|x\| > 3.4e\+38\) in 1 record\(s\), first at "
                                             r"index 2: signals in mV are far smaller"):
            check_signals(X)
    X[2, 1, 7] = np.nan
    with pytest.raises(ValueError, match="contains NaN or infinite values in 1 record"):
        check_signals(X)
    # records as the rows of a DataFrame (2-D: one lead), whose [i] is a column
    import pandas as pd

    frame = pd.DataFrame(X[:, 1, :], columns=[f"t{i}" for i in range(50)])
    with pytest.raises(ValueError, match="contains NaN or infinite values in 1 record"):
        check_signals(frame, allow_2d=True)
    frame.iloc[2, 7] = 1e39
    with pytest.raises(ValueError, match="beyond float32's range"):
        check_signals(frame, allow_2d=True)
