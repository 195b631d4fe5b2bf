"""Tests of ecgsk/preprocessing/_loader.py (WFDBLoader) on real PhysioNet records.

Expected values come from ``wfdb.rdsamp`` on the same files. Corrupt records
are made in ``tmp_path`` from copies of real ones.

sklearn's common checks feed random 2-D float matrices, while this
transformer's input is a 1-D array of record paths on disk. Its tags say so
(``two_d_array=False``, ``one_d_array=True``, ``string=True``), and sklearn
then runs only ``check_estimator_cloneable`` in ``parametrize_with_checks``
and declares every other check not applicable ("Can't test estimator ...
which requires input of type ..."). ``test_sklearn_api`` therefore runs the
sklearn checks that need no data, and checks clone, pickle and parameters.
"""

import json
import os
import pickle
import re
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import wfdb
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    parametrize_with_checks,
)

import ecgsk.preprocessing._loader as loader_module
from ecgsk.preprocessing import WFDBLoader

IDS = ["00001", "00002", "00003", "00004", "00005"]


@pytest.fixture(scope="module")
def lr(ptbxl_root):
    """Five PTB-XL records at 100 Hz."""
    return [str(ptbxl_root / "records100" / "00000" / f"{i}_lr") for i in IDS]


@pytest.fixture(scope="module")
def hr(ptbxl_root):
    """The same five records at 500 Hz."""
    return [str(ptbxl_root / "records500" / "00000" / f"{i}_hr") for i in IDS]


@pytest.fixture(scope="module")
def cinc(cinc_root):
    """CinC 2017 records of 9000, 9000 and 18000 samples at 300 Hz."""
    return [str(cinc_root / "training2017" / r) for r in ("A00001", "A00002", "A00003")]


@pytest.fixture
def copy_record(ptbxl_root, tmp_path):
    """Copy a PTB-XL 100 Hz record into tmp_path (writable) and return its path."""
    def copy(name="rec", ecg_id="00001"):
        source = ptbxl_root / "records100" / "00000" / f"{ecg_id}_lr"
        header = Path(str(source) + ".hea").read_text().replace(f"{ecg_id}_lr", name)
        (tmp_path / f"{name}.hea").write_text(header)
        shutil.copyfile(str(source) + ".dat", tmp_path / f"{name}.dat")
        return str(tmp_path / name)
    return copy


class _CountReads:
    """Wraps wfdb.rdrecord to count the records read (n_jobs=1 reads in-process)."""

    def __init__(self, monkeypatch):
        self.records = []
        original = wfdb.rdrecord

        def rdrecord(record_name, *args, **kwargs):
            self.records.append(record_name)
            return original(record_name, *args, **kwargs)

        monkeypatch.setattr(wfdb, "rdrecord", rdrecord)


def _rdsamp(path, channels=None):
    signal, fields = wfdb.rdsamp(path, channels=channels)
    return signal.T


# --- reading, units, leads -------------------------------------------------

def test_reads_ptbxl_in_mv_as_rdsamp_does(lr):
    loader = WFDBLoader()
    X = loader.fit(lr).transform(lr)
    assert X.shape == (5, 12, 1000)
    assert X.dtype == np.float32
    assert_allclose(X, np.stack([_rdsamp(p) for p in lr]), rtol=1e-6, atol=1e-6)
    # PTB-XL stores 1000 adu per mV: values are mV, not adu or uV.
    assert 0.3 < np.abs(X).max(axis=2).mean() < 5
    assert loader.lead_names_ == ["I", "II", "III", "AVR", "AVL", "AVF",
                                  "V1", "V2", "V3", "V4", "V5", "V6"]
    assert loader.sampling_rate_ == 100.0
    assert loader.skipped_ == []
    assert_array_equal(loader.loaded_index_, np.arange(5))


def test_paths_may_be_path_objects_and_carry_an_extension(lr, cinc):
    expected = WFDBLoader().transform(lr[:3])
    given = [Path(lr[0]), lr[1] + ".hea", Path(lr[2] + ".dat")]
    assert_array_equal(WFDBLoader().transform(np.array(given, dtype=object)), expected)
    assert_array_equal(WFDBLoader().transform([cinc[0] + ".mat"]),
                       WFDBLoader().transform(cinc[:1]))
    # A column vector (as ColumnTransformer passes) is read like a 1-D array.
    assert_array_equal(WFDBLoader().transform(np.array(lr[:3])[:, None]), expected)


def test_a_path_under_the_home_folder_may_start_with_a_tilde(lr, monkeypatch):
    # It was read relative to the working directory: "./~/...hea does not exist".
    home = Path(lr[0]).parent
    monkeypatch.setenv("HOME", str(home))
    given = "~/" + Path(lr[0]).name
    assert_array_equal(WFDBLoader().transform([given]), WFDBLoader().transform(lr[:1]))


def test_ptbdb_leads_come_from_dat_and_xyz_files(ptbdb_root):
    record = str(ptbdb_root / "patient001" / "s0010_re")
    everything = WFDBLoader().transform([record])
    assert everything.shape == (1, 15, 38400)
    assert_allclose(everything[0], _rdsamp(record), atol=1e-6)

    loader = WFDBLoader(leads=["VZ", "i", "v6"])
    X = loader.transform([record])
    assert loader.lead_names_ == ["vz", "i", "v6"]
    assert_allclose(X[0], _rdsamp(record, channels=[14, 0, 11]), atol=1e-6)
    assert_array_equal(WFDBLoader(leads=[14, 0, 11]).transform([record]), X)


def test_microvolts_and_volts_are_converted_to_mv(tmp_path):
    t = np.linspace(0, 1, 200)
    signal = np.stack([1000 * np.sin(6 * t), np.cos(6 * t), 0.001 * t], axis=1)
    wfdb.wrsamp("units", fs=200, units=["uV", "mV", "V"], sig_name=["I", "II", "V1"],
                p_signal=signal, fmt=["16", "16", "16"], write_dir=str(tmp_path))
    X = WFDBLoader().transform([tmp_path / "units"])
    assert_allclose(X[0, 0], np.sin(6 * t), atol=2e-3)
    assert_allclose(X[0, 1], np.cos(6 * t), atol=2e-4)
    assert_allclose(X[0, 2], t, atol=2e-3)


@pytest.mark.parametrize("micro, encoding", [("\u00b5", "utf-8"), ("\u00b5", "latin-1"),
                                             ("\u03bc", "utf-8")],
                         ids=["micro sign, UTF-8", "micro sign, Latin-1", "Greek mu"])
def test_microvolts_written_with_a_micro_sign_are_microvolts(tmp_path, micro, encoding):
    # wfdb reads headers as ASCII and drops the micro sign: "100/µV" came back as volts,
    # a signal a million times too large, without a word.
    t = np.linspace(0, 1, 200)
    wfdb.wrsamp("micro", fs=200, units=["uV", "mV"], sig_name=["I", "II"],
                p_signal=np.stack([1000 * np.sin(6 * t), np.cos(6 * t)], axis=1),
                fmt=["16", "16"], write_dir=str(tmp_path))
    header = tmp_path / "micro.hea"
    header.write_bytes(header.read_text().replace("/uV", f"/{micro}V").encode(encoding))
    assert wfdb.rdheader(str(tmp_path / "micro")).units[0] == "V"  # what wfdb makes of it
    X = WFDBLoader().transform([tmp_path / "micro"])
    assert_allclose(X[0, 0], np.sin(6 * t), atol=2e-3)
    assert_allclose(X[0, 1], np.cos(6 * t), atol=2e-4)


def test_a_data_file_padded_to_its_header_block_size_is_read(tmp_path, monkeypatch):
    # PhysioNet's wfdb2mat pads a .mat to whole blocks of 8 bytes and says so in the
    # header: the padding was refused as a file "the header does not describe".
    from wfdb.io.convert.matlab import wfdb_to_mat

    monkeypatch.chdir(tmp_path)
    signal = np.random.default_rng(5).normal(size=(301, 1))
    wfdb.wrsamp("p301", fs=500, units=["mV"], sig_name=["L0"], p_signal=signal, fmt=["16"])
    wfdb_to_mat("p301")
    data, header = tmp_path / "p301m.mat", tmp_path / "p301m.hea"
    data.write_bytes(data.read_bytes() + bytes(6))  # 794 bytes padded to 800
    header.write_text(re.sub(r" 0 L0$", " 8 L0", header.read_text(), flags=re.M))
    expected = wfdb.rdrecord(str(tmp_path / "p301m")).p_signal.T
    assert wfdb.rdheader(str(tmp_path / "p301m")).block_size == [8]
    assert_allclose(WFDBLoader().transform([str(data)])[0], expected, atol=1e-6)
    data.write_bytes(data.read_bytes() + bytes(8))  # a block past the header's: refused
    with pytest.raises(ValueError, match=r"holds 808 bytes, but the header's 1 signal\(s\) "
                                         r"of 301 samples in format 16 take 800"):
        WFDBLoader().transform([str(data)])


def test_a_record_of_one_sample_is_too_short_to_resample_not_out_of_range(tmp_path):
    # resample_poly's line padding gave NaN, refused as "samples beyond float32's range".
    wfdb.wrsamp("one", fs=250, units=["mV"], sig_name=["I"], p_signal=np.ones((1, 1)),
                fmt=["16"], write_dir=str(tmp_path))
    record = str(tmp_path / "one")
    assert_allclose(WFDBLoader().transform([record]), np.ones((1, 1, 1)))  # at its own rate
    with pytest.raises(ValueError, match=r"one' holds 1 sample: too short to resample from "
                                         r"250 to 500 Hz"):
        WFDBLoader(sampling_rate=500).transform([record])


def test_a_lead_that_is_not_a_voltage_is_an_error_unless_left_out(tmp_path):
    signal = np.stack([np.ones(100), np.full(100, 80.0)], axis=1)
    wfdb.wrsamp("bp", fs=100, units=["mV", "mmHg"], sig_name=["II", "ABP"],
                p_signal=signal, fmt=["16", "16"], write_dir=str(tmp_path))
    record = str(tmp_path / "bp")
    with pytest.raises(ValueError, match=r"bp', lead 'ABP': unit 'mmHg' is not a voltage"):
        WFDBLoader().transform([record])
    assert_allclose(WFDBLoader(leads=["II"]).transform([record]), np.ones((1, 1, 100)))


def test_unknown_lead_names_the_record_and_its_leads(cinc):
    with pytest.raises(ValueError, match=r"A00001' has no lead named 'II'; its leads are "
                                         r"\['ECG'\]"):
        WFDBLoader(leads=["II"]).transform(cinc[:1])
    with pytest.raises(ValueError, match=r"A00001' has 1 leads \['ECG'\]; lead index 3 "
                                         "is out of range"):
        WFDBLoader(leads=[3]).transform(cinc[:1])


@pytest.mark.parametrize("cache", [False, True])
def test_a_header_without_lead_names_reads_as_numbered_signals(tmp_path, cache):
    # WFDB lets a header leave a signal's description out; wfdb reads its name as None.
    signal = np.stack([np.sin(np.linspace(0, 6, 200)), np.ones(200)], axis=1)
    wfdb.wrsamp("nonames", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
                p_signal=signal, fmt=["16", "16"], write_dir=str(tmp_path))
    header = tmp_path / "nonames.hea"
    first, *signal_lines = header.read_text().splitlines()
    header.write_text("\n".join([first] + [line.rsplit(" ", 1)[0] for line in signal_lines])
                      + "\n")
    assert wfdb.rdheader(str(tmp_path / "nonames")).sig_name == [None, None]
    record = str(tmp_path / "nonames")
    opts = {"cache_dir": tmp_path / "cache"} if cache else {}
    loader = WFDBLoader(**opts)
    X = loader.fit_transform([record])  # fit kept None and transform failed on None.lower()
    assert loader.lead_names_ == ["signal 0", "signal 1"]
    assert_allclose(X[0], signal.T, atol=1e-3)
    assert_allclose(loader.transform([record]), X)
    assert WFDBLoader(leads=[1], **opts).fit(np.array([record])).lead_names_ == ["signal 1"]
    with pytest.raises(ValueError, match=r"nonames' has no lead named 'II'; its leads are "
                                         r"\['signal 0', 'signal 1'\]"):
        WFDBLoader(leads=["II"], **opts).fit_transform([record])


def test_records_with_different_leads_need_a_lead_selection(lr, cinc):
    with pytest.raises(ValueError, match=r"different leads: .*00001_lr' has \['I', .*"
                                         r"A00001' has \['ECG'\]; pass leads="):
        WFDBLoader(sampling_rate=300, length=100).transform([lr[0], cinc[0]])
    X = WFDBLoader(leads=[0], sampling_rate=300, length=100).transform([lr[0], cinc[0]])
    assert X.shape == (2, 1, 100)


def test_later_calls_must_match_the_leads_and_rate_read_first_after_fit(lr, hr, cinc,
                                                                        tmp_path):
    # Record "swapped" is record 1 with its leads I and II written in the other order.
    signal = _rdsamp(lr[0], channels=[0, 1]).T
    wfdb.wrsamp("swapped", fs=100, units=["mV", "mV"], sig_name=["II", "I"],
                p_signal=signal[:, ::-1], fmt=["16", "16"], write_dir=str(tmp_path))
    same = str(tmp_path / "same")
    wfdb.wrsamp("same", fs=100, units=["mV", "mV"], sig_name=["i", "ii"],
                p_signal=signal, fmt=["16", "16"], write_dir=str(tmp_path))
    swapped = str(tmp_path / "swapped")

    loader = WFDBLoader().fit([same])
    train = loader.transform([same])
    assert loader.lead_names_ == ["i", "ii"] and loader.sampling_rate_ == 100
    with pytest.raises(ValueError, match=r"'.*swapped' has the leads \['II', 'I'\], but the "
                                         r"records read first after fit had \['i', 'ii'\], in "
                                         r"this order; pass leads=\['i', 'ii'\]"):
        loader.transform([swapped])
    with pytest.raises(ValueError, match=r"00001_hr' is at 500 Hz, but the records read first "
                                         r"after fit were at 100 Hz; pass sampling_rate=100"):
        _fitted(WFDBLoader(leads=[0, 1]), lr[:1]).transform(hr[:1])
    assert loader.lead_names_ == ["i", "ii"]  # a refused call changes nothing
    # Leads chosen by the parameter are read as it says, whatever the records name them.
    by_index = _fitted(WFDBLoader(leads=[0], sampling_rate=300, length=100), lr[:1])
    assert by_index.transform(cinc[:1]).shape == (1, 1, 100)
    # Named leads read the swapped record in the training order; fit forgets the old reads.
    named = WFDBLoader(leads=["I", "II"]).fit([same])
    assert_array_equal(named.transform([same]), named.transform([swapped]))
    assert_array_equal(loader.fit([swapped]).transform([swapped])[0], train[0, ::-1])
    assert loader.lead_names_ == ["II", "I"]


def test_fit_learns_the_leads_and_rate_of_its_records_from_a_header(lr, hr, tmp_path,
                                                                    monkeypatch):
    # fit ignored its records: fit(train).transform(test) took the test records' leads and
    # rate as the reference, so test records of other leads or rate passed unchecked.
    reads = _CountReads(monkeypatch)
    signal = _rdsamp(lr[0], channels=[0, 1]).T
    wfdb.wrsamp("swapped", fs=100, units=["mV", "mV"], sig_name=["II", "I"],
                p_signal=signal[:, ::-1], fmt=["16", "16"], write_dir=str(tmp_path))
    wfdb.wrsamp("same", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
                p_signal=signal, fmt=["16", "16"], write_dir=str(tmp_path))
    loader = WFDBLoader().fit([str(tmp_path / "same")])
    assert reads.records == []  # a header, no signal
    assert loader.lead_names_ == ["I", "II"] and loader.sampling_rate_ == 100.0
    with pytest.raises(ValueError, match=r"swapped' has the leads \['II', 'I'\], but the records "
                                         r"read first after fit had \['I', 'II'\]"):
        loader.transform([str(tmp_path / "swapped")])
    with pytest.raises(ValueError, match=r"00001_hr' is at 500 Hz, but the records read first "
                                         r"after fit were at 100 Hz"):
        WFDBLoader(leads=["I"]).fit(lr[:1]).transform(hr[:1])
    assert WFDBLoader(leads=["ii"], sampling_rate=50).fit(hr[:1]).lead_names_ == ["II"]
    missing = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"missing': header file '.*missing.hea' does "
                                                r"not exist"):
        WFDBLoader().fit([missing, lr[0]])
    with pytest.raises(ValueError, match=r"00001_lr' has no lead named 'X'"):
        WFDBLoader(leads=["X"]).fit(lr[:1])
    # A lead by index and by name passed the check of the list: lead II came out twice.
    with pytest.raises(ValueError, match=r"00001_lr': leads \[1, 'ii'\] all select its lead "
                                         r"'II'; leads lists a lead twice"):
        WFDBLoader(leads=[1, "ii"]).transform(lr[:1])
    skip = WFDBLoader(on_error="skip").fit([missing, lr[0]])
    assert skip.lead_names_[:2] == ["I", "II"] and skip.sampling_rate_ == 100.0
    assert not hasattr(WFDBLoader().fit(), "lead_names_")


def _fitted(loader, records):
    loader.fit(records).transform(records)
    return loader


# --- rates and lengths -----------------------------------------------------

def test_resampling_500_to_100_hz_matches_the_100_hz_copy(lr, hr):
    loader = WFDBLoader(sampling_rate=100)
    X = loader.transform(hr)
    expected = WFDBLoader().transform(lr)
    assert X.shape == expected.shape == (5, 12, 1000)
    assert loader.sampling_rate_ == 100.0
    # PTB-XL made its 100 Hz copy with its own filter, whose last samples ring;
    # inside the record every lead of every record agrees closely.
    inner = slice(10, -10)
    corr = [np.corrcoef(a[inner], b[inner])[0, 1]
            for rec, ref in zip(X, expected) for a, b in zip(rec, ref)]
    assert min(corr) > 0.95
    assert np.median(corr) > 0.99


def test_native_rates_must_agree_without_sampling_rate(lr, hr):
    with pytest.raises(ValueError, match=r"different sampling rates: .*00001_lr' is at 100 "
                                         r"Hz but .*00001_hr' is at 500 Hz; pass sampling_rate="):
        WFDBLoader(length=1000).transform([lr[0], hr[0]])
    X = WFDBLoader(sampling_rate=250).transform([lr[0], hr[0]])
    assert X.shape == (2, 12, 2500)


@pytest.mark.parametrize("rate, message", [
    (99.991, r"cannot resample from 100 Hz to 99.991 Hz, the ratio 99991/100000"),
    (0.01, r"its 1000 samples at 100 Hz give no sample at 0.01 Hz"),
])
def test_impossible_resampling_is_an_error_naming_the_record(lr, rate, message):
    with pytest.raises(ValueError, match="00001_lr.: " + message):
        WFDBLoader(sampling_rate=rate).transform(lr[:1])


def test_lengths_must_agree_without_length(cinc):
    with pytest.raises(ValueError, match=r"different lengths: .*A00001' has 9000 samples "
                                         r"but .*A00003' has 18000; pass length="):
        WFDBLoader().transform(cinc)


@pytest.mark.parametrize("crop, start", [("left", 0), ("center", 3000), ("right", 6000)])
def test_length_crops_longer_records(cinc, crop, start):
    X = WFDBLoader(length=3000, crop=crop).transform(cinc[:1])
    assert_allclose(X[0], _rdsamp(cinc[0])[:, start:start + 3000], atol=1e-6)


def test_length_pads_shorter_records_with_zeros_at_the_end(cinc):
    X = WFDBLoader(length=12000).transform(cinc)
    assert X.shape == (3, 1, 12000)
    assert_allclose(X[0, :, :9000], _rdsamp(cinc[0]), atol=1e-6)
    assert not X[0, :, 9000:].any()
    assert_allclose(X[2], _rdsamp(cinc[2])[:, 3000:15000], atol=1e-6)  # center crop


def test_pad_false_rejects_or_skips_short_records(cinc):
    with pytest.raises(ValueError, match=r"A00001' has 9000 samples after resampling, "
                                         r"fewer than length=12000, and pad=False"):
        WFDBLoader(length=12000, pad=False).transform(cinc)
    loader = WFDBLoader(length=12000, pad=False, on_error="skip")
    with pytest.warns(UserWarning, match="skipped 2 of 3 records"):
        X = loader.transform(cinc)
    assert_array_equal(loader.loaded_index_, [2])
    assert [path for path, _ in loader.skipped_] == cinc[:2]
    assert_allclose(X[0], _rdsamp(cinc[2])[:, 3000:15000], atol=1e-6)


def test_resampling_happens_before_length(cinc):
    X = WFDBLoader(sampling_rate=100, length=2000).transform(cinc)
    assert X.shape == (3, 1, 2000)
    # A00001 is 30 s: 3000 samples at 100 Hz, cropped around its middle.
    full = WFDBLoader(sampling_rate=100).transform(cinc[:1])
    assert full.shape == (1, 1, 3000)
    assert_array_equal(X[0], full[0, :, 500:2500])


# --- bad records -----------------------------------------------------------

def _truncate_dat(record):
    data = Path(record + ".dat").read_bytes()
    Path(record + ".dat").write_bytes(data[:len(data) // 2])


def _odd_truncate_dat(record):
    data = Path(record + ".dat").read_bytes()
    Path(record + ".dat").write_bytes(data[:len(data) // 2 + 5])


def _fewer_signals_in_header(record):
    lines = Path(record + ".hea").read_text().splitlines()
    Path(record + ".hea").write_text("\n".join([lines[0].replace(" 12 ", " 6 ", 1)]
                                               + lines[1:7]) + "\n")


def _longer_header(record):
    header = Path(record + ".hea").read_text()
    Path(record + ".hea").write_text(header.replace(" 12 100 1000", " 12 100 1200", 1))


@pytest.mark.parametrize("corrupt, error, message", [
    (lambda r: os.remove(r + ".hea"), FileNotFoundError,
     r"rec': header file '.*rec.hea' does not exist"),
    (lambda r: os.remove(r + ".dat"), FileNotFoundError,
     r"rec': data file '.*rec.dat' named in its header does not exist"),
    (_truncate_dat, ValueError, r"rec' could not be read by wfdb: .*truncated"),
    (_odd_truncate_dat, ValueError, r"rec' could not be read by wfdb: .*truncated"),
    (_longer_header, ValueError, r"rec' could not be read by wfdb: .*truncated"),
    # wfdb read 12 signals in frames of 6, each "lead" interleaving two, without an error.
    (_fewer_signals_in_header, ValueError,
     r"rec': its data file 'rec.dat' holds 24000 bytes, but the header's 6 signal\(s\) of "
     r"1000 samples in format 16 take 12000; the header does not describe the file"),
    # wfdb read the first half of the record.
    (lambda r: _edit_header(r, " 12 100 1000", " 12 100 500"), ValueError,
     r"holds 24000 bytes, but the header's 12 signal\(s\) of 500 samples in format 16 "
     r"take 12000"),
    (lambda r: Path(r + ".hea").write_text("garbage that is no header\n"), ValueError,
     r"rec' could not be read by wfdb: the header '.*rec.hea' .*HeaderSyntaxError"),
    (lambda r: Path(r + ".hea").write_bytes(b""), ValueError,
     r"rec' could not be read by wfdb"),
    # wfdb would read these as 250 Hz: the signal at the wrong rate.
    (lambda r: _edit_header(r, " 12 100 1000", " 12 abc 1000"), ValueError,
     r"rec': its header '.*rec.hea' gives the sampling frequency 'abc'; expected a positive"),
    (lambda r: _edit_header(r, " 12 100 1000", " 12 -100 1000"), ValueError,
     r"gives the sampling frequency '-100'"),
    (lambda r: _edit_header(r, " 12 100 1000", " 12 0 1000"), ValueError,
     r"gives the sampling frequency '0'"),
    # wfdb reads the digits before the exponent: 1 Hz, the signal upsampled a hundredfold.
    (lambda r: _edit_header(r, " 12 100 1000", " 12 1e2 1000"), ValueError,
     r"gives the sampling frequency '1e2' \(100 Hz\), which wfdb reads as 1 Hz; write it "
     r"without an exponent \(100\)"),
    # Leading digits that make a plausible rate: 10 Hz read for 100 Hz, 100 Hz for 1000 Hz.
    (lambda r: _edit_header(r, " 12 100 1000", " 12 10e1 1000"), ValueError,
     r"gives the sampling frequency '10e1' \(100 Hz\), which wfdb reads as 10 Hz"),
    (lambda r: _edit_header(r, " 12 100 1000", " 12 100e1 1000"), ValueError,
     r"gives the sampling frequency '100e1' \(1000 Hz\), which wfdb reads as 100 Hz"),
])
def test_bad_record_raises_naming_it(copy_record, corrupt, error, message):
    record = copy_record()
    assert WFDBLoader().transform([record]).shape == (1, 12, 1000)
    corrupt(record)
    with pytest.raises(error, match=message):
        WFDBLoader().transform([record])


def _edit_header(record, old, new):
    header = Path(record + ".hea").read_text()
    assert old in header
    Path(record + ".hea").write_text(header.replace(old, new, 1))


@pytest.mark.parametrize("written", ["4", "4.0", "4/10(0)"])
def test_a_rate_written_plainly_is_read_as_it_is(tmp_path, written):
    # Every header's text is checked; a plain rate (with a counter frequency too) agrees.
    wfdb.wrsamp("slow", fs=4, units=["mV"], sig_name=["I"], p_signal=np.ones((40, 1)),
                fmt=["16"], write_dir=str(tmp_path))
    _edit_header(str(tmp_path / "slow"), "slow 1 4 40", f"slow 1 {written} 40")
    assert WFDBLoader(sampling_rate=8).transform([tmp_path / "slow"]).shape == (1, 1, 80)


def test_an_uncalibrated_lead_is_an_error_unless_left_out(copy_record):
    # An ADC gain of 0 marks an uncalibrated signal; wfdb would scale it by 200 units per mV.
    record = copy_record()
    header = Path(record + ".hea").read_text().splitlines()
    header[2] = header[2].replace("1000.0(0)/mV", "0(0)/mV")  # lead II
    Path(record + ".hea").write_text("\n".join(header) + "\n")
    with pytest.raises(ValueError, match=r"rec': lead\(s\) 'II' have an ADC gain of 0 in "
                                         r"'.*rec.hea', that is, they are uncalibrated"):
        WFDBLoader().transform([record])
    assert WFDBLoader(leads=["I", "III"]).transform([record]).shape == (1, 2, 1000)


def test_nan_samples_raise_naming_record_and_lead(tmp_path):
    signal = np.tile(np.sin(np.linspace(0, 6, 300))[:, None], (1, 2))
    signal[17, 1] = np.nan  # wfdb writes NaN as the format's invalid value
    wfdb.wrsamp("gap", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
                p_signal=signal, fmt=["16", "16"], write_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"gap' has invalid \(NaN\) samples in lead\(s\) "
                                         r"'II' \(1 samples, first at sample 17\)"):
        WFDBLoader().transform([tmp_path / "gap"])
    # Only the leads read are checked.
    assert WFDBLoader(leads=["I"]).transform([tmp_path / "gap"]).shape == (1, 1, 300)


def test_a_gain_that_overflows_float32_is_refused_naming_record_and_lead(tmp_path):
    # Finite in float64 and inf once cast to float32: it passed the NaN check, came out
    # as inf with a numpy warning, and on_error="skip" kept the record.
    signal = np.tile(np.sin(np.linspace(0, 6, 300))[:, None], (1, 2))
    wfdb.wrsamp("huge", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
                p_signal=signal, fmt=["16", "16"], write_dir=str(tmp_path))
    wfdb.wrsamp("ok", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
                p_signal=signal, fmt=["16", "16"], write_dir=str(tmp_path))
    hea = tmp_path / "huge.hea"
    lines = hea.read_text().splitlines()
    lines[2] = re.sub(r" [\d.]+(\(\d+\))?/mV", " 0.0000000000000000000000000000000000001(0)/mV",
                      lines[2])
    hea.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "overflow encountered in cast"
        with pytest.raises(ValueError, match=r"huge' has samples beyond float32's range "
                                             r"\(\|x\| > 3.4e\+38\) in lead\(s\) 'II'; is the "
                                             "header's gain right"):
            WFDBLoader().transform([tmp_path / "huge"])
        loader = WFDBLoader(on_error="skip")
        with pytest.warns(UserWarning, match="skipped 1 of 2 records"):
            X = loader.transform([tmp_path / "huge", tmp_path / "ok"])
    assert X.shape == (1, 2, 300) and np.isfinite(X).all()
    assert [str(path) for path, _ in loader.skipped_] == [str(tmp_path / "huge")]


def test_skip_leaves_out_bad_records_and_reports_them(copy_record, lr):
    missing_dat, garbage = copy_record("nodat"), copy_record("garbage")
    os.remove(missing_dat + ".dat")
    Path(garbage + ".hea").write_text("not a header\n")
    paths = [lr[0], missing_dat, lr[1], "/nonexistent/rec", garbage, lr[2]]
    loader = WFDBLoader(on_error="skip")
    with pytest.warns(UserWarning, match="skipped 3 of 6 records"):
        X = loader.transform(paths)
    assert_array_equal(X, WFDBLoader().transform(lr[:3]))
    assert_array_equal(loader.loaded_index_, [0, 2, 5])
    assert [path for path, _ in loader.skipped_] == [missing_dat, "/nonexistent/rec", garbage]
    reasons = [reason for _, reason in loader.skipped_]
    assert "nodat.dat' named in its header does not exist" in reasons[0]
    assert "rec.hea' does not exist" in reasons[1]
    assert "garbage' could not be read by wfdb" in reasons[2]


def test_skip_still_raises_when_nothing_is_left(tmp_path):
    with pytest.raises(ValueError, match=r"None of the 2 records could be read; the first "
                                         r"error was: Record '.*a': header file"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            WFDBLoader(on_error="skip").transform([tmp_path / "a", tmp_path / "b"])


@pytest.mark.parametrize("X, error, message", [
    ([], ValueError, "X is empty"),
    ("records100/00000/00001_lr", TypeError, r"single path .*wrap it in a list"),
    (Path("rec"), TypeError, "single path"),
    ([[("a", "b")]], ValueError, r"1-D array-like of record paths; got shape \(1, 1, 2\)"),
    (["rec", 3], TypeError, r"X\[1\] is 3 \(int\)"),
])
def test_bad_path_input(X, error, message):
    with pytest.raises(error, match=message):
        WFDBLoader().transform(X)


# --- parallel reading ------------------------------------------------------

def test_two_processes_give_the_same_result_and_errors(lr, hr, copy_record):
    missing = copy_record("missing")
    os.remove(missing + ".dat")
    paths = lr + [missing] + hr[:2]
    kwargs = dict(sampling_rate=200, on_error="skip")
    serial, parallel = WFDBLoader(**kwargs), WFDBLoader(n_jobs=2, **kwargs)
    with pytest.warns(UserWarning, match="skipped 1 of 8"):
        expected = serial.transform(paths)
    with pytest.warns(UserWarning, match="skipped 1 of 8"):
        got = parallel.transform(paths)
    assert_array_equal(got, expected)
    assert parallel.skipped_ == serial.skipped_
    assert_array_equal(parallel.loaded_index_, [0, 1, 2, 3, 4, 6, 7])
    # A missing file keeps its exception type across the process boundary.
    with pytest.raises(FileNotFoundError, match="missing.dat' named in its header"):
        WFDBLoader(n_jobs=2).transform([lr[0], missing])


# --- cache -----------------------------------------------------------------

def test_cache_hit_returns_the_same_array_without_reading(lr, cinc, tmp_path, monkeypatch):
    reads = _CountReads(monkeypatch)
    for kwargs, paths in [({}, lr), ({"sampling_rate": 250, "leads": ["V1", "ii"]}, lr),
                          ({"sampling_rate": 100, "length": 2500}, cinc)]:
        loader = WFDBLoader(cache_dir=tmp_path / "cache", **kwargs)
        cold = loader.transform(paths)
        assert len(reads.records) == len(paths)
        reads.records.clear()
        warm = clone(loader).transform(paths)
        assert reads.records == []
        assert_array_equal(warm, cold)
        assert_array_equal(cold, WFDBLoader(**kwargs).transform(paths))
        reads.records.clear()
    # Lead names match case-insensitively, and so do their cache entries.
    WFDBLoader(cache_dir=tmp_path / "cache", sampling_rate=250, leads=["v1", "II"]).transform(lr)
    assert reads.records == []
    # The parameters are part of the key: other options read the records again.
    WFDBLoader(cache_dir=tmp_path / "cache", leads=["I"]).transform(lr)
    assert len(reads.records) == len(lr)


def test_two_loaders_flushing_at_once_keep_each_others_records(lr, tmp_path, monkeypatch):
    # Each merged its records into the index it had read: the later move dropped the
    # other's records, which every later load then read again.
    import threading

    real = loader_module.atomic_write
    writing = threading.Event()

    def slow_first_index_write(path, write, **kwargs):
        if os.path.basename(path) == "index.json" and not writing.is_set():
            writing.set()
            time.sleep(0.5)
        return real(path, write, **kwargs)

    monkeypatch.setattr(loader_module, "atomic_write", slow_first_index_write)
    cache = tmp_path / "cache"
    first = threading.Thread(target=WFDBLoader(cache_dir=cache).transform, args=(lr[:2],))
    first.start()
    assert writing.wait(60)
    WFDBLoader(cache_dir=cache).transform(lr[2:4])  # flushes while the first one writes
    first.join()
    [index] = cache.glob("ecgsk-wfdb-v*/index.json")
    assert sorted(json.loads(index.read_text())) == sorted(lr[:4])


def test_the_cache_index_is_written_during_a_load_not_only_at_its_end(lr, tmp_path,
                                                                       monkeypatch):
    # The index was written once, at the end: a load killed by SIGKILL or SIGTERM left
    # entries that no later load could find, and a rerun read every record again.
    monkeypatch.setattr(loader_module, "_FLUSH_EVERY_S", 0.0)
    real = loader_module._read_record
    indexed = []

    def read(record, opts):
        [index] = list((tmp_path / "cache").glob("ecgsk-wfdb-v*/index.json")) or [None]
        indexed.append(0 if index is None else len(json.loads(index.read_text())))
        return real(record, opts)

    monkeypatch.setattr(loader_module, "_read_record", read)
    WFDBLoader(cache_dir=tmp_path / "cache").transform(lr)
    assert indexed == [0, 1, 2, 3, 4]  # each record read finds the earlier ones indexed


def test_cache_warm_load_sets_the_same_attributes(lr, hr, tmp_path):
    paths = [lr[0], hr[0]]
    cold = WFDBLoader(cache_dir=tmp_path, sampling_rate=100, leads=["v1", "I"])
    cold.transform(paths)
    warm = clone(cold)
    warm.transform(paths)
    assert warm.lead_names_ == cold.lead_names_ == ["V1", "I"]
    assert warm.sampling_rate_ == cold.sampling_rate_ == 100.0
    # Consistency checks also hold for records served by the cache: the first
    # call caches both records before it finds their rates differ.
    for _ in range(2):
        with pytest.raises(ValueError, match="different sampling rates"):
            WFDBLoader(cache_dir=tmp_path, length=1000).transform(paths)


@pytest.mark.parametrize("change", ["dat", "dat, its mtime kept", "hea"])
def test_a_changed_file_invalidates_its_cache_entry(copy_record, tmp_path, monkeypatch, change):
    record, other = copy_record("rec", "00001"), copy_record("other", "00002")
    cache = tmp_path / "cache"
    before = WFDBLoader(cache_dir=cache).transform([record, other])
    if change.startswith("dat"):  # same size, new content: the samples of record 00003
        stat = os.stat(record + ".dat")
        shutil.copyfile(copy_record("third", "00003") + ".dat", record + ".dat")
        if change.endswith("kept"):  # as cp -p, rsync -t or a 2 s file system leave it
            os.utime(record + ".dat", ns=(stat.st_atime_ns, stat.st_mtime_ns))
            assert os.stat(record + ".dat").st_mtime_ns == stat.st_mtime_ns
        expected = _rdsamp(record)
    else:  # double the gain: every value halves
        header = Path(record + ".hea").read_text().replace("1000.0(0)/mV", "2000.0(0)/mV")
        Path(record + ".hea").write_text(header)
        expected = before[0] / 2
    reads = _CountReads(monkeypatch)
    after = WFDBLoader(cache_dir=cache).transform([record, other])
    assert reads.records == [record]
    assert_allclose(after[0], expected, atol=1e-6)
    assert not np.allclose(after[0], before[0])
    assert_array_equal(after[1], before[1])


def test_a_file_changed_after_its_read_is_not_cached_under_its_new_state(copy_record,
                                                                          tmp_path, monkeypatch):
    """A .dat rewritten between wfdb's read and the cache's store (another process, say)."""
    record = copy_record("rec", "00001")
    third = copy_record("third", "00003")
    original = loader_module._read_record

    def read_then_change(path, opts):
        result = original(path, opts)
        os.utime(third + ".dat", ns=(1, 1))  # a new mtime, whatever the clock
        shutil.copyfile(third + ".dat", path + ".dat")  # same size, other samples
        return result

    monkeypatch.setattr(loader_module, "_read_record", read_then_change)
    WFDBLoader(cache_dir=tmp_path / "cache").transform([record])  # the old samples, now
    monkeypatch.setattr(loader_module, "_read_record", original)
    later = WFDBLoader(cache_dir=tmp_path / "cache").transform([record])
    assert_allclose(later[0], _rdsamp(record), atol=1e-6)  # the file as it is, not the old read


def test_a_changed_segment_invalidates_a_multi_segment_record(tmp_path):
    fs, n = 100, 300
    rng = np.random.default_rng(0)
    for name in ("seg1", "seg2"):
        wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["I", "II"],
                    p_signal=rng.normal(size=(n, 2)).round(3), fmt=["16", "16"],
                    write_dir=str(tmp_path))
    (tmp_path / "multi.hea").write_text(f"multi/2 2 {fs} {2 * n}\nseg1 {n}\nseg2 {n}\n")
    record = str(tmp_path / "multi")
    cache = tmp_path / "cache"
    before = WFDBLoader(cache_dir=cache).transform([record])
    data = (tmp_path / "seg2.dat").read_bytes()
    (tmp_path / "seg2.dat").write_bytes(bytes(len(data)))  # zeros, same size
    after = WFDBLoader(cache_dir=cache).transform([record])
    assert_array_equal(after, WFDBLoader().transform([record]))  # the segment as it is now
    assert not np.allclose(after[0, :, n:], before[0, :, n:])
    assert_array_equal(after[0, :, :n], before[0, :, :n])


def _segments(tmp_path, units, layout=None):
    """A multi-segment record "multi" of one lead II holding 0.5 mV in each segment."""
    names = []
    for k, unit in enumerate(units):
        name = f"seg{k}"
        wfdb.wrsamp(name, fs=100, units=[unit], sig_name=["II"], fmt=["16"],
                    p_signal=np.full((300, 1), 0.5 * {"mV": 1, "uV": 1000}[unit]),
                    adc_gain=[200.0 / {"mV": 1, "uV": 1000}[unit]], baseline=[0],
                    write_dir=str(tmp_path))
        names.append(f"{name} 300")
    if layout is not None:
        (tmp_path / "lay.hea").write_text(f"lay 1 100 0\n~ 0 200/{layout} 16 0 0 0 0 II\n")
        names.insert(0, "lay 0")
    (tmp_path / "multi.hea").write_text(f"multi/{len(names)} 1 100 {300 * len(units)}\n"
                                        + "\n".join(names) + "\n")
    return str(tmp_path / "multi")


@pytest.mark.parametrize("layout", [None, "mV"])
def test_segments_in_other_units_are_refused_not_mixed(tmp_path, layout):
    # wfdb joins the segments in their own units: half the record came back 1000 times larger.
    record = _segments(tmp_path, ["mV", "uV"], layout)
    with pytest.raises(ValueError, match=r"lead 'II' is in mV in segment '(lay|seg0)' but in "
                                         r"uV in segment 'seg\d'"):
        WFDBLoader().transform([record])


def test_segments_in_microvolts_are_converted(tmp_path):
    record = _segments(tmp_path, ["uV", "uV"])
    assert_allclose(WFDBLoader().transform([record])[0, 0], 0.5, atol=1e-3)


def test_an_uncalibrated_segment_is_refused(tmp_path):
    record = _segments(tmp_path, ["mV", "mV"])
    header = tmp_path / "seg1.hea"
    header.write_text(header.read_text().replace(" 200.0(0)/mV ", " 0(0)/mV "))
    assert " 0(0)/mV " in header.read_text()
    with pytest.raises(ValueError, match="lead 'II' has an ADC gain of 0 in segment 'seg1'"):
        WFDBLoader().transform([record])


def test_an_uncalibrated_lead_left_out_does_not_refuse_the_record(tmp_path):
    # Only the leads read are checked, as in a single-segment record.
    for name in ("seg0", "seg1"):
        wfdb.wrsamp(name, fs=100, units=["mV", "mV"], sig_name=["I", "II"], fmt=["16", "16"],
                    p_signal=np.full((300, 2), 0.5), adc_gain=[200.0, 200.0], baseline=[0, 0],
                    write_dir=str(tmp_path))
    header = tmp_path / "seg1.hea"
    lines = header.read_text().splitlines()
    lines[1] = lines[1].replace(" 200.0(0)/mV ", " 0(0)/mV ")  # lead I
    header.write_text("\n".join(lines) + "\n")
    (tmp_path / "multi.hea").write_text("multi/2 2 100 600\nseg0 300\nseg1 300\n")
    record = str(tmp_path / "multi")
    assert_allclose(WFDBLoader(leads=["II"]).transform([record])[0, 0], 0.5, atol=1e-3)
    with pytest.raises(ValueError, match="lead 'I' has an ADC gain of 0 in segment 'seg1'"):
        WFDBLoader(leads=["I"]).transform([record])


def test_a_layout_segment_names_no_file_of_the_key(tmp_path):
    """A variable-layout record's layout header names its signals' file '~': none to stamp."""
    (tmp_path / "multi.hea").write_text("multi/3 1 100 600\nmulti_layout 0\nseg1 300\n"
                                        "seg2 300\n")
    (tmp_path / "multi_layout.hea").write_text("multi_layout 1 100 0\n~ 0 200/mV 16 0 0 0 0 I\n")
    for name in ("seg1", "seg2"):
        (tmp_path / f"{name}.hea").write_text(f"{name} 1 100 300\n{name}.dat 16 200 16 0 0 0 0 I\n")
    files = loader_module._segment_files(str(tmp_path / "multi"))
    assert files == [str(tmp_path / f) for f in ("multi_layout.hea", "seg1.hea", "seg1.dat",
                                                  "seg2.hea", "seg2.dat")]


def test_a_cache_dir_under_home_is_the_one_ecgsk_cache_reads(lr, tmp_path, monkeypatch):
    # "~/cache" made a folder named "~" in the working folder; ecgsk.cache read the home one.
    from ecgsk.cache import cache_info

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    WFDBLoader(cache_dir="~/cache").transform(lr[:2])
    assert not (tmp_path / "~").exists()
    assert len(list((tmp_path / "home" / "cache").rglob("*.f32"))) == 2
    assert cache_info("~/cache")["files"].sum() >= 2


def test_an_index_entry_that_is_not_a_dict_is_a_miss(lr, tmp_path):
    # A hand-edited index ({"<record>": []}) failed every later load with an AttributeError.
    expected = WFDBLoader(cache_dir=tmp_path).transform(lr[:1])
    (index,) = tmp_path.rglob("index.json")
    index.write_text(json.dumps({str(Path(lr[0]).resolve()): [], lr[0]: "x"}))
    assert_array_equal(WFDBLoader(cache_dir=tmp_path).transform(lr[:1]), expected)


def test_a_corrupt_or_unwritable_cache_never_gives_wrong_data(lr, tmp_path, monkeypatch):
    expected = WFDBLoader().transform(lr[:2])
    WFDBLoader(cache_dir=tmp_path).transform(lr[:2])
    entries = sorted(tmp_path.rglob("*.f32"))
    assert len(entries) == 2
    entries[0].write_bytes(entries[0].read_bytes()[:1000])  # e.g. a disk-full write
    reads = _CountReads(monkeypatch)
    assert_array_equal(WFDBLoader(cache_dir=tmp_path).transform(lr[:2]), expected)
    assert len(reads.records) == 1

    # A failing move (the step that makes an entry visible) leaves neither an
    # entry nor a temporary file, warns, and still returns the records.
    def failing_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(loader_module.os, "replace", failing_replace)
    other = tmp_path / "other"
    with pytest.warns(RuntimeWarning) as caught:
        X = WFDBLoader(cache_dir=other).transform(lr[:2])
    assert len(caught) == 1  # once per call, not once per record
    assert re.search(r"could not write its cache entry for .*00001_lr', so it stops "
                     r"writing to .* in this call: disk full", str(caught[0].message))
    assert_array_equal(X, expected)
    assert [p for p in other.rglob("*") if p.is_file()] == []


# --- parameters and the sklearn API ----------------------------------------

@pytest.mark.parametrize("params, message", [
    ({"leads": "II"}, r"leads must be None or a list .* leads=\['II'\]"),
    ({"leads": []}, "leads is an empty list"),
    ({"leads": [-1]}, "non-negative channel indices"),
    ({"leads": [1.5]}, "non-negative channel indices"),
    ({"leads": ["I", "i"]}, "leads lists a lead twice"),
    ({"sampling_rate": 0}, "sampling_rate must be a positive number of Hz"),
    ({"sampling_rate": float("nan")}, "sampling_rate must be a positive number of Hz"),
    ({"sampling_rate": "100"}, "sampling_rate must be a positive number of Hz"),
    ({"length": 0}, "length must be a positive integer"),
    ({"length": 10.5}, "length must be a positive integer"),
    ({"crop": "middle"}, "crop must be one of"),
    ({"pad": "yes"}, "pad must be True or False"),
    ({"n_jobs": 0}, "n_jobs must be a non-zero integer"),
    ({"cache_dir": 5}, "cache_dir must be None or a folder path"),
    ({"on_error": "ignore"}, "on_error must be one of"),
    ({"progress": 1}, "progress must be True or False"),
])
def test_bad_parameters_raise_in_fit_and_transform(lr, params, message):
    loader = WFDBLoader(**params)
    with pytest.raises(ValueError, match=message):
        loader.fit(lr)
    with pytest.raises(ValueError, match=message):
        loader.transform(lr)


@parametrize_with_checks([WFDBLoader()])
def test_sklearn_common_checks(estimator, check):
    check(estimator)  # check_estimator_cloneable: the only one for path input


def test_sklearn_api(lr, tmp_path):
    name = "WFDBLoader"
    check_parameters_default_constructible(name, WFDBLoader())
    check_no_attributes_set_in_init(name, WFDBLoader())
    check_get_params_invariance(name, WFDBLoader())
    check_set_params(name, WFDBLoader())

    loader = WFDBLoader(leads=["II"], sampling_rate=50, length=400, cache_dir=tmp_path)
    assert loader.fit() is loader
    assert vars(loader) == vars(WFDBLoader(leads=["II"], sampling_rate=50, length=400,
                                           cache_dir=tmp_path))  # fit learns nothing
    X = loader.transform(lr)
    twin = clone(loader)
    assert twin.get_params() == loader.get_params()
    assert not hasattr(twin, "skipped_")
    assert_array_equal(twin.fit_transform(lr), X)
    restored = pickle.loads(pickle.dumps(loader))
    assert restored.skipped_ == [] and restored.lead_names_ == ["II"]
    assert_array_equal(restored.transform(lr), X)
    assert loader.set_params(length=200) is loader
    assert loader.transform(lr).shape == (5, 1, 200)


def test_progress_bar(lr, capsys):
    WFDBLoader(progress=True).transform(lr[:3])
    err = capsys.readouterr().err
    assert "Reading WFDB records" in err and "3/3" in err
    WFDBLoader().transform(lr[:3])
    assert capsys.readouterr().err == ""
