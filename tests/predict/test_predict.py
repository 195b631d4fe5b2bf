"""python -m ecgsk.predict on real PTB-XL records, and the model behind `mlflow models serve`."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import Model
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ecgsk.predict import (
    ECGModel,
    PredictError,
    decide,
    load_ecg_model,
    main,
    predict_records,
    serving_input,
)
from ecgsk.preprocessing import WFDBLoader
from ecgsk.tracking import log_model, setup_tracking, tracked_run

from .conftest import new_store

RATE, LENGTH = 50, 500  # the model's training signals: 10 s at 50 Hz


def _lead_stats():
    # numpy functions only: picklable by reference, so `mlflow models serve` loads the model.
    return FeatureUnion([("mean", FunctionTransformer(np.mean, kw_args={"axis": -1})),
                         ("std", FunctionTransformer(np.std, kw_args={"axis": -1})),
                         ("max", FunctionTransformer(np.max, kw_args={"axis": -1}))])


@pytest.fixture(scope="module")
def trained(ptbxl_root, empty_store, tmp_path_factory):
    """A per-lead statistics model fitted on 120 PTB-XL records at 50 Hz, logged with metadata."""
    from ecgsk.datasets import load_ptbxl

    ds = load_ptbxl(ptbxl_root, task="superdiagnostic")
    train = np.arange(120)
    loader = WFDBLoader(sampling_rate=RATE, length=LENGTH)
    X = loader.fit_transform(ds.X[train])
    pipe = Pipeline([("stats", _lead_stats()), ("scale", StandardScaler()),
                     ("clf", OneVsRestClassifier(LogisticRegression(max_iter=500)))])
    pipe.fit(X, ds.y[train])
    uri = new_store(empty_store, tmp_path_factory.mktemp("predict-store"))
    previous = mlflow.get_tracking_uri()
    setup_tracking(uri, "predict")
    thresholds = [0.3, 0.4, 0.5, 0.5, 0.35]
    with tracked_run("model") as run:
        info = log_model(pipe, classes=ds.classes, input_example=X[:2], sampling_rate=RATE,
                         lead_names=loader.lead_names_, task_type="multilabel",
                         thresholds=thresholds, registered_model_name="ptbxl-stats")
    mlflow.set_tracking_uri(previous)
    return {"pipe": pipe, "uri": uri, "model_uri": f"runs:/{run.info.run_id}/model",
            "info": info, "classes": list(ds.classes), "leads": loader.lead_names_,
            "thresholds": np.array(thresholds), "record": ds.X[200]}


def _expected(trained, record):
    X = WFDBLoader(sampling_rate=RATE, length=LENGTH).fit_transform([record])
    return trained["pipe"].predict_proba(X)[0]


def _write_record(source, folder, name, *, order=None, rename=None, seconds=None):
    """Write a copy of a WFDB record with leads reordered/renamed/dropped, or cut/extended."""
    import wfdb

    rec = wfdb.rdrecord(str(source), physical=False)
    d = rec.d_signal
    names = list(rec.sig_name)
    order = list(range(len(names))) if order is None else order
    if seconds is not None:
        n = int(seconds * rec.fs)
        d = np.resize(d, (n, d.shape[1])) if n > len(d) else d[:n]
    names = [names[i] for i in order]
    if rename:
        names = [rename.get(n, n) for n in names]
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=rec.fs, units=[rec.units[i] for i in order], sig_name=names,
                d_signal=np.ascontiguousarray(d[:, order]), fmt=[rec.fmt[i] for i in order],
                adc_gain=[rec.adc_gain[i] for i in order],
                baseline=[rec.baseline[i] for i in order], write_dir=str(folder))
    return folder / name


@pytest.fixture
def in_store(trained, monkeypatch):
    """MLflow's global tracking URI set to the model's store for one test, then restored."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(trained["uri"])
    yield trained["uri"]
    mlflow.set_tracking_uri(previous)


def test_log_model_stores_signal_metadata(trained, in_store):
    meta = Model.load(mlflow.artifacts.download_artifacts(trained["info"].model_uri)).metadata
    assert meta["ecgsk_sampling_rate"] == RATE
    assert meta["ecgsk_lead_names"] == trained["leads"]
    assert meta["ecgsk_input_shape"] == [12, LENGTH]
    assert meta["ecgsk_task_type"] == "multilabel"
    assert meta["ecgsk_thresholds"] == pytest.approx(trained["thresholds"].tolist())


def test_log_model_rejects_lead_names_of_another_length(trained, tmp_path):
    with pytest.raises(ValueError, match="lead_names names 2 leads"):
        log_model(trained["pipe"], classes=trained["classes"],
                  input_example=np.zeros((1, 12, LENGTH), np.float32), lead_names=["I", "II"])


def test_load_ecg_model_reads_metadata(trained):
    model = load_ecg_model(trained["model_uri"], tracking_uri=trained["uri"])
    assert isinstance(model, ECGModel)
    assert (model.n_leads, model.n_samples, model.sampling_rate) == (12, LENGTH, RATE)
    assert model.lead_names == trained["leads"] and model.classes == trained["classes"]
    by_name = load_ecg_model("models:/ptbxl-stats/1", tracking_uri=trained["uri"])
    assert by_name.classes == trained["classes"]


def test_loading_leaves_no_copy_no_sys_path_entry_and_no_tracking_uri(trained, tmp_path,
                                                                       monkeypatch):
    # Each runs:/ load left MLflow's download in $TMPDIR (17 MB for five), two sys.path
    # entries of deleted folders, and MLFLOW_TRACKING_URI set where the caller had none.
    import tempfile

    import mlflow
    from mlflow.tracking._tracking_service import utils

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(utils, "_tracking_uri", None)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    path, default = list(sys.path), mlflow.get_tracking_uri()
    for _ in range(2):
        predict_records(trained["model_uri"], [trained["record"]], tracking_uri=trained["uri"])
    with pytest.raises(PredictError):  # a failed load leaves nothing either
        load_ecg_model("runs:/0123456789abcdef0123456789abcdef/model",
                       tracking_uri=trained["uri"])
    assert list(scratch.iterdir()) == []
    assert sys.path == path
    assert "MLFLOW_TRACKING_URI" not in os.environ and utils._tracking_uri is None
    assert mlflow.get_tracking_uri() == default


def test_resamples_100_and_500_hz_records(trained, ptbxl_root):
    low = trained["record"]
    high = str(ptbxl_root / "records500" / "00000" / "00001_hr")
    result = predict_records(trained["model_uri"], [low, high + ".hea"],
                             tracking_uri=trained["uri"])
    assert list(result.table["record"]) == [os.path.basename(low), "00001_hr"]
    assert result.table.loc[0, "notes"] == "resampled from 100 Hz to 50 Hz"
    assert result.table.loc[1, "notes"] == "resampled from 500 Hz to 50 Hz"
    np.testing.assert_allclose(result.table.loc[0, trained["classes"]].to_numpy(float),
                               _expected(trained, low), rtol=1e-6)
    np.testing.assert_allclose(result.table.loc[1, trained["classes"]].to_numpy(float),
                               _expected(trained, high), rtol=1e-6)


def test_multilabel_decision_uses_stored_thresholds(trained):
    result = predict_records(trained["model_uri"], [trained["record"]],
                             tracking_uri=trained["uri"])
    p = result.table.loc[0, trained["classes"]].to_numpy(float)
    expected = [c for c, v, t in zip(trained["classes"], p, trained["thresholds"]) if v >= t]
    assert result.records[0]["predicted"] == expected
    assert result.records[0]["confidence"] == pytest.approx(
        [v for v, t in zip(p, trained["thresholds"]) if v >= t])
    strict = predict_records(trained["model_uri"], [trained["record"]], threshold=1.0,
                             tracking_uri=trained["uri"])
    assert strict.records[0]["predicted"] == [c for c, v in zip(trained["classes"], p)
                                              if v >= 1.0]


def test_leads_are_mapped_by_name_whatever_their_order_and_case(trained, tmp_path):
    source = trained["record"]
    order = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    shuffled = _write_record(source, tmp_path, "reversed", order=order)
    lower = _write_record(source, tmp_path, "lower",
                          rename={n: n.lower() for n in trained["leads"]})
    result = predict_records(trained["model_uri"], [source, shuffled, lower],
                             tracking_uri=trained["uri"])
    probs = result.table[trained["classes"]].to_numpy(float)
    np.testing.assert_allclose(probs[1], probs[0], rtol=1e-6)
    np.testing.assert_allclose(probs[2], probs[0], rtol=1e-6)
    assert "leads taken by name in the model's order (I, II, III" in result.table.loc[1, "notes"]
    assert "leads taken by name" not in result.table.loc[0, "notes"]


def _edit_header(record, edit):
    header = Path(f"{record}.hea")
    header.write_text(edit(header.read_text()))
    return record


def test_units_and_rates_the_model_cannot_take_are_said_in_its_users_words(trained,
                                                                           tmp_path):
    # The loader's refusals reached predict's users with its own advice ("leave this lead
    # out with leads=[...]", "choose a sampling_rate"), which they cannot follow.
    import re

    source = trained["record"]
    mmhg = _edit_header(_write_record(source, tmp_path, "mmhg"), lambda text: re.sub(
        r"/mV(.*V6)$", r"/mmHg\1", text, flags=re.M))
    odd = _edit_header(_write_record(source, tmp_path, "odd"), lambda text: re.sub(
        r"^(odd 12) 100", r"\1 99.987", text, flags=re.M))
    micro = _edit_header(_write_record(source, tmp_path, "micro"), lambda text: re.sub(
        r"(\d+(?:\.\d+)?)(\(-?\d+\))?/mV", lambda m: (
            f"{float(m.group(1)) / 1000:g}{m.group(2) or ''}/uV"), text))
    result = predict_records(trained["model_uri"], [mmhg, odd, micro, source],
                             tracking_uri=trained["uri"])
    reasons = {r["record"]: r["reason"] for r in result.rejected}
    assert reasons["mmhg"] == ("its lead 'V6', which the model takes, is in 'mmHg', not a "
                               "voltage, so it cannot be converted to the mV the model was "
                               "trained on")
    assert reasons["odd"].startswith("its rate, 99.987 Hz, cannot be resampled to the model's "
                                     "50 Hz: their ratio needs too large a polyphase filter")
    assert "leads=" not in " ".join(reasons.values())
    notes = dict(zip(result.table["record"], result.table["notes"]))
    assert "converted from uV to mV: I, II, III, AVR" in notes["micro"]
    probs = result.table.set_index("record")[trained["classes"]].astype(float)
    np.testing.assert_allclose(probs.loc["micro"], probs.loc[os.path.basename(source)],
                               rtol=1e-4)


def test_missing_lead_is_rejected_naming_it(trained, tmp_path, capsys):
    no_v6 = _write_record(trained["record"], tmp_path, "no_v6", order=list(range(11)))
    result = predict_records(trained["model_uri"], [no_v6, trained["record"]],
                             tracking_uri=trained["uri"])
    assert len(result.records) == 1 and result.records[0]["record"] != "no_v6"
    (rejected,) = result.rejected
    assert rejected["record"] == "no_v6"
    assert "no lead 'V6' that the model was trained on" in rejected["reason"]
    status = main([trained["model_uri"], str(no_v6), str(trained["record"]),
                   "--tracking-uri", trained["uri"]])
    captured = capsys.readouterr()
    assert status == 1
    assert "rejected" in captured.err and "'V6'" in captured.err
    assert os.path.basename(str(trained["record"])) in captured.out


def test_length_is_cropped_or_padded_with_a_note(trained, tmp_path):
    long = _write_record(trained["record"], tmp_path, "long", seconds=14)
    short = _write_record(trained["record"], tmp_path, "short", seconds=6)
    result = predict_records(trained["model_uri"], [long, short], tracking_uri=trained["uri"])
    notes = dict(zip(result.table["record"], result.table["notes"]))
    assert "cropped to the middle 500 of 700 samples (10 of 14 s)" in notes["long"]
    assert "zero-padded at the end from 300 to 500 samples (6 to 10 s)" in notes["short"]
    # What the model saw is what WFDBLoader gives with the model's settings.
    expected = WFDBLoader(sampling_rate=RATE, length=LENGTH).fit_transform([str(long)])
    np.testing.assert_array_equal(result.signals[0], expected[0])


def test_a_header_without_its_sample_count_is_read_as_wfdb_reads_it(trained, tmp_path):
    record = _write_record(trained["record"], tmp_path, "nolen", seconds=10)
    header = Path(f"{record}.hea")
    first, rest = header.read_text().split("\n", 1)
    header.write_text(" ".join(first.split()[:3]) + "\n" + rest)  # "nolen 12 100": WFDB allows
    result = predict_records(trained["model_uri"], [record], tracking_uri=trained["uri"])
    assert not result.rejected  # "its header gives no number of samples" before
    np.testing.assert_allclose(result.table.loc[0, trained["classes"]].to_numpy(float),
                               _expected(trained, str(record)), rtol=1e-6)


def test_a_record_much_shorter_than_the_input_is_rejected(trained, tmp_path, capsys):
    tiny = _write_record(trained["record"], tmp_path, "tiny", seconds=2)  # 0.2 of 10 s
    short = _write_record(trained["record"], tmp_path, "short", seconds=3)
    result = predict_records(trained["model_uri"], [tiny, short], tracking_uri=trained["uri"])
    assert [r["record"] for r in result.records] == ["short"]
    (rejected,) = result.rejected
    assert rejected["record"] == "tiny"
    assert rejected["reason"].startswith("it is 2 s long, under 0.25 of the model's 10 s input")
    result = predict_records(trained["model_uri"], [tiny], tracking_uri=trained["uri"],
                             min_fraction=0)
    assert not result.rejected
    assert "zero-padded at the end from 100 to 500 samples (2 to 10 s)" in result.records[0][
        "notes"][-1]
    with pytest.raises(PredictError, match="min_fraction must be in"):
        predict_records(trained["model_uri"], [tiny], min_fraction=1.5)
    args = [trained["model_uri"], str(tiny), "--tracking-uri", trained["uri"], "-q"]
    assert main(args) == 2  # its only record rejected
    assert "rejected" in capsys.readouterr().err
    assert main(args + ["--min-fraction", "0"]) == 0
    with pytest.raises(SystemExit) as exc:
        main(args + ["--min-fraction", "-1"])
    assert exc.value.code == 2
    assert "--min-fraction: expected a number in [0, 1], got -1" in capsys.readouterr().err


def test_records_a_folders_listing_names_but_lacks_are_a_note(trained, tmp_path, capsys):
    folder = tmp_path / "listed"
    _write_record(trained["record"], folder, "here", seconds=10)
    (folder / "RECORDS").write_text("here\ngone\n")
    args = [trained["model_uri"], str(folder), "--tracking-uri", trained["uri"]]
    assert main(args) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes == [f"note: listed: left out 1 of 2 records (1 listed in {folder / 'RECORDS'} "
                     "without a header file: gone)."]  # and no other warning as a note
    assert "UserWarning" not in err
    assert main(args + ["-q"]) == 0
    assert capsys.readouterr().err == ""  # -q: nothing but errors and rejections


def test_a_data_file_without_its_header_is_rejected_not_passed_over(trained, tmp_path,
                                                                    capsys):
    folder = tmp_path / "incoming"
    _write_record(trained["record"], folder, "good", seconds=10)
    _write_record(trained["record"], folder, "lost", seconds=10)
    (folder / "lost.hea").unlink()
    # A signal file named by another record's header is not headerless.
    _write_record(trained["record"], folder, "renamed", seconds=10)
    (folder / "renamed.dat").rename(folder / "signals.dat")
    hea = folder / "renamed.hea"
    hea.write_text(hea.read_text().replace("renamed.dat", "signals.dat"))
    result = predict_records(trained["model_uri"], [folder], tracking_uri=trained["uri"])
    assert sorted(r["record"] for r in result.records) == ["good", "renamed"]
    (rejected,) = result.rejected
    assert rejected["record"] == "lost"
    assert rejected["reason"] == (f"its header {folder / 'lost'}.hea is missing: the data file "
                                  "lost.dat cannot be read without it")
    assert main([trained["model_uri"], str(folder), "-q", "--tracking-uri", trained["uri"]]) == 1
    assert f"rejected {folder / 'lost'}: its header" in capsys.readouterr().err
    for name in ("good", "renamed"):
        (folder / f"{name}.hea").unlink()
    assert main([trained["model_uri"], str(folder), "--tracking-uri", trained["uri"]]) == 2
    assert ("no WFDB record (*.hea) under the folder "
            f"{folder}; 3 data file(s) have no header: good.dat, lost.dat, signals.dat"
            ) in capsys.readouterr().err
    # Named on the command line, as in a folder: it ended the whole request (exit 2),
    # the good record unpredicted.
    _write_record(trained["record"], tmp_path / "named", "good", seconds=10)
    assert main([trained["model_uri"], str(tmp_path / "named" / "good"),
                 str(folder / "lost.dat"), "-q", "--tracking-uri", trained["uri"]]) == 1
    err = capsys.readouterr().err
    assert f"rejected {folder / 'lost'}: its header {folder / 'lost'}.hea is missing" in err
    assert main([trained["model_uri"], str(folder / "lost.dat"), "-q",
                 "--tracking-uri", trained["uri"]]) == 2  # nothing predicted


def test_an_empty_header_or_one_of_no_samples_is_named(trained, tmp_path):
    folder = tmp_path / "odd"
    for name in ("good", "empty", "none"):
        _write_record(trained["record"], folder, name, seconds=10)
    (folder / "empty.hea").write_text("")  # wfdb: "list index out of range"
    hea = folder / "none.hea"
    first, *rest = hea.read_text().splitlines()
    hea.write_text("\n".join([" ".join(first.split()[:3] + ["0"]), *rest]) + "\n")
    _write_record(trained["record"], folder, "nofs", seconds=10)
    hea = folder / "nofs.hea"
    first, *rest = hea.read_text().splitlines()
    fields = first.split()
    hea.write_text("\n".join([" ".join(fields[:2] + ["0"] + fields[3:]), *rest]) + "\n")
    result = predict_records(trained["model_uri"], [folder / n for n in ("good", "empty",
                                                                          "none", "nofs")],
                             tracking_uri=trained["uri"])
    assert [r["record"] for r in result.records] == ["good"]
    reasons = {r["record"]: r["reason"] for r in result.rejected}
    # nofs: "names no signal or no sampling frequency", of a header naming 12 signals.
    assert reasons == {"empty": f"its header {folder / 'empty'}.hea is empty",
                       "none": "its header gives 0 samples",
                       "nofs": "its header gives the sampling frequency 0, not a positive "
                               "number of Hz"}


def test_folder_of_records_and_outputs(trained, tmp_path, capsys):
    folder = tmp_path / "new"
    for name, seconds in (("a", 10), ("b", 12)):
        _write_record(trained["record"], folder, name, seconds=seconds)
    csv, js = tmp_path / "out.csv", tmp_path / "out.json"
    assert main([trained["model_uri"], str(folder), "--output", str(csv),
                 "--tracking-uri", trained["uri"]]) == 0
    out = capsys.readouterr().out
    assert "predicted (multilabel, labels at or above their threshold)" in out
    assert "note: cropped to the middle 500 of 600 samples" in out
    assert out.splitlines()[-1] == f"wrote 2 predictions to {csv}"
    table = pd.read_csv(csv)
    assert list(table["record"]) == ["a", "b"]
    assert list(table.columns) == ["record", "path", *trained["classes"], "predicted",
                                   "confidence", "notes"]
    assert main([trained["model_uri"], str(folder / "a.hea"), "-o", str(js),
                 "--tracking-uri", trained["uri"]]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote 1 prediction to {js}"
    doc = json.loads(js.read_text())
    assert doc["sampling_rate"] == RATE and doc["lead_names"] == trained["leads"]
    (rec,) = doc["records"]
    assert rec["record"] == "a"
    assert set(rec["probabilities"]) == set(trained["classes"])
    assert rec["probabilities"] == pytest.approx(
        dict(zip(trained["classes"], table.loc[0, trained["classes"]].astype(float))), rel=1e-5)


def test_paths_under_the_home_folder_are_expanded(trained, in_store, tmp_path, monkeypatch,
                                                  capsys):
    # The shell leaves "~" of --output=~/out.json as it is: the check passed, the whole
    # prediction ran, and the write failed; a model folder "~/model" did not exist.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    _write_record(trained["record"], tmp_path / "new", "a")
    local = Path(mlflow.artifacts.download_artifacts(trained["info"].model_uri,
                                                     dst_path=str(home / "model")))
    model = "~/" + local.relative_to(home).as_posix()
    assert main([model, str(tmp_path / "new"), "-q", "--output=~/out.json",
                 "--serving-input=~/body.json"]) == 0, capsys.readouterr().err
    assert json.loads((home / "out.json").read_text())["records"][0]["record"] == "a"
    assert np.shape(json.loads((home / "body.json").read_text())["inputs"]) == (1, 12, LENGTH)


def test_a_file_uri_needs_no_tracking_store(trained, in_store, tmp_path, monkeypatch,
                                            capsys):
    # A file:// model was given the default store, whose database was missing: "cannot load
    # the model file:///...: no tracking database at mlruns/mlflow.db".
    local = Path(mlflow.artifacts.download_artifacts(trained["info"].model_uri,
                                                     dst_path=str(tmp_path / "model")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main([local.as_uri(), str(trained["record"]), "-q", "--output", "out.json"]) == 0, \
        capsys.readouterr().err
    assert not (tmp_path / "mlruns").exists()
    (row,) = json.loads((tmp_path / "out.json").read_text())["records"]
    assert row["probabilities"] == pytest.approx(
        dict(zip(trained["classes"], _expected(trained, trained["record"]))), rel=1e-5)


def test_an_unreadable_record_is_rejected_once_and_the_rest_predicted(trained, tmp_path,
                                                                       capsys):
    import warnings

    from ..conftest import damage_record

    folder = tmp_path / "mixed"
    for name in ("good", "broken"):
        _write_record(trained["record"], folder, name, seconds=10)
    damage_record(folder / "broken", "truncated")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([trained["model_uri"], str(folder), "-q", "--tracking-uri", trained["uri"]])
    assert code == 1  # some records rejected
    captured = capsys.readouterr()
    assert captured.out == ""  # -q: nothing but errors and rejections
    (line,) = captured.err.splitlines()
    assert line.startswith(f"rejected {folder / 'broken'}") and "could not be read" in line
    assert not [w for w in caught if "WFDBLoader skipped" in str(w.message)]  # said once


def test_an_output_that_cannot_be_written_is_an_error_not_a_traceback(trained, tmp_path,
                                                                       capsys, monkeypatch):
    from ecgsk.predict import Prediction

    def full(self, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(Prediction, "write", full)
    out = tmp_path / "p.csv"
    assert main([trained["model_uri"], str(trained["record"]), "-q", "--output", str(out),
                 "--tracking-uri", trained["uri"]]) == 2
    assert capsys.readouterr().err == f"error: cannot write {out}: No space left on device\n"


def test_when_no_record_can_be_read_each_gets_its_own_reason(trained, tmp_path, capsys):
    from ..conftest import damage_record

    folder = tmp_path / "all_bad"
    for name in ("a_truncated", "b_nan"):  # both fail only when read, in one batch
        _write_record(trained["record"], folder, name, seconds=10)
    damage_record(folder / "a_truncated", "truncated")
    damage_record(folder / "b_nan", "NaN samples")
    assert main([trained["model_uri"], str(folder), "-q", "--tracking-uri", trained["uri"]]) == 2
    lines = capsys.readouterr().err.splitlines()
    reasons = {line.split(":")[0]: line for line in lines if line.startswith("rejected")}
    assert "truncated" in reasons[f"rejected {folder / 'a_truncated'}"]
    nan = reasons[f"rejected {folder / 'b_nan'}"]
    assert "invalid (NaN) samples" in nan and "a_truncated" not in nan  # its own reason
    assert lines[-1] == "error: no record could be predicted."
    # An earlier output is kept: it was overwritten by a header-only file, "wrote 0".
    out = tmp_path / "predictions.csv"
    out.write_text("record,label\nearlier,NORM\n")
    assert main([trained["model_uri"], str(folder), "--output", str(out),
                 "--tracking-uri", trained["uri"]]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (f"error: no record could be predicted; {out} is "
                                             "not written.")
    assert "wrote" not in captured.out
    assert out.read_text() == "record,label\nearlier,NORM\n"


def test_bad_requests_exit_2_with_a_message(trained, tmp_path, capsys):
    assert main([str(tmp_path / "nowhere"), str(trained["record"]),
                 "--tracking-uri", trained["uri"]]) == 2
    assert f"the model folder {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err
    assert main(["runs:/0123456789abcdef/model", str(trained["record"]),
                 "--tracking-uri", trained["uri"]]) == 2
    err = capsys.readouterr().err
    assert "cannot load the model runs:/0123456789abcdef/model (tracking URI sqlite:" in err
    assert main([trained["model_uri"], str(tmp_path / "missing_record"),
                 "--tracking-uri", trained["uri"]]) == 2
    assert "is neither a WFDB record" in capsys.readouterr().err
    assert main([trained["model_uri"], str(trained["record"]), "--output", "x.txt"]) == 2
    assert "write .csv or .json" in capsys.readouterr().err
    for option in ("--output", "--serving-input"):  # refused before any prediction
        out = tmp_path / "no_such_folder" / "out.csv"
        assert main([trained["model_uri"], str(trained["record"]), option, str(out)]) == 2
        err = capsys.readouterr().err
        assert f"error: {option} {out}: the folder {out.parent} does not exist" in err
    (tmp_path / "x.csv").mkdir()  # a folder with a file's name: IsADirectoryError before
    for option in ("--output", "--serving-input"):
        assert main([trained["model_uri"], str(trained["record"]), option,
                     str(tmp_path / "x.csv")]) == 2
        assert f"error: {option} {tmp_path / 'x.csv'} is a folder" in capsys.readouterr().err
    (tmp_path / "results").mkdir()  # a folder without a suffix: it was "write .csv or .json"
    assert main([trained["model_uri"], str(trained["record"]), "-o",
                 str(tmp_path / "results")]) == 2
    assert f"error: --output {tmp_path / 'results'} is a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([trained["model_uri"], str(trained["record"]), "--threshold", "1.5"])
    assert exc.value.code == 2
    assert "--threshold" in capsys.readouterr().err
    for option in ("--output", "--serving-input"):  # "" wrote nothing, said nothing, exit 0
        with pytest.raises(SystemExit) as exc:
            main([trained["model_uri"], str(trained["record"]), option, " "])
        assert exc.value.code == 2
        assert f"argument {option}{'/-o' if option == '--output' else ''}: expected a file, " \
               "got an empty path" in capsys.readouterr().err


def test_an_output_folder_that_cannot_be_written_is_refused_before_predicting(
        trained, tmp_path, capsys, monkeypatch):
    # It was found out after the predictions were made and printed; exit 2 says none were.
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    for option in ("--output", "--serving-input"):
        out = tmp_path / "out.json"
        assert main([trained["model_uri"], str(trained["record"]), option, str(out),
                     "--tracking-uri", trained["uri"]]) == 2
        captured = capsys.readouterr()
        assert captured.err == (f"error: {option} {out}: cannot write in the folder "
                                f"{tmp_path}: Read-only file system\n")
        assert captured.out == "" and not out.exists()


class _Failing:
    """A pyfunc whose predict fails as MLflow's schema check or the model's code can."""

    def __init__(self, output=None):
        self.output = output

    def predict(self, X):
        if self.output is None:
            raise mlflow.exceptions.MlflowException("Failed to enforce schema of data\nmore")
        return self.output


def test_a_model_that_fails_to_predict_is_a_bad_request_not_a_traceback(trained, monkeypatch,
                                                                        capsys):
    # The pyfunc's exception escaped main: a traceback and exit status 1, which the
    # command documents as "some records rejected".
    import dataclasses

    import ecgsk.predict._predict as predict_module

    model = load_ecg_model(trained["model_uri"], tracking_uri=trained["uri"])
    broken = dataclasses.replace(model, pyfunc=_Failing())
    X = np.zeros((2, model.n_leads, model.n_samples), dtype=np.float32)
    with pytest.raises(PredictError, match=r"the model runs:/.* failed on signals of shape "
                                           r"\(2, 12, 500\): MlflowException: Failed to "
                                           r"enforce schema of data$"):
        broken.predict_proba(X)
    wrong = dataclasses.replace(model, pyfunc=_Failing(pd.DataFrame(np.zeros((2, 3)))))
    with pytest.raises(PredictError, match=r"gave an output of shape \(2, 3\) for 2 records; "
                                           r"its classes are \['CD', 'HYP'"):
        wrong.predict_proba(X)
    labels = dataclasses.replace(model, pyfunc=_Failing(pd.DataFrame({"a": ["NORM", "MI"]})))
    with pytest.raises(PredictError, match=r"gave an output that is not probabilities: could "
                                           r"not convert string to float: 'NORM'"):
        labels.predict_proba(X)
    monkeypatch.setattr(predict_module, "load_ecg_model", lambda *a, **k: broken)
    assert main([trained["model_uri"], str(trained["record"])]) == 2
    assert "error: the model runs:/" in capsys.readouterr().err


def test_a_store_that_does_not_exist_is_named_and_not_made(trained, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    for model in ("models:/ecg/1", "runs:/0123456789abcdef/model"):
        assert main([model, str(trained["record"])]) == 2
        err = capsys.readouterr().err
        assert (f"cannot load the model {model}: no tracking database at "
                f"{work / 'mlruns' / 'mlflow.db'}; pass --tracking-uri") in err
    # A path that is not there is a folder the user meant, not a store's artifact.
    assert main(["./nosuchdir", str(trained["record"])]) == 2
    assert ("the model folder ./nosuchdir does not exist; a model is a local folder holding an "
            "MLmodel file") in capsys.readouterr().err
    missing = tmp_path / "no" / "store.db"
    assert main(["models:/ecg/1", str(trained["record"]),
                 "--tracking-uri", f"sqlite:///{missing}"]) == 2
    assert f"no tracking database at {missing}" in capsys.readouterr().err
    assert list(work.iterdir()) == [] and not missing.parent.exists()


def test_an_unreachable_server_is_named_at_once(trained, capsys):
    import socket
    import time

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    start = time.monotonic()
    assert main(["models:/ecg/1", str(trained["record"]), "--tracking-uri", url]) == 2
    assert (f"cannot load the model models:/ecg/1: the MLflow tracking server at {url} is "
            "unreachable") in capsys.readouterr().err
    # MLflow's own retries took 250 s, printing nothing; the probe gives up within 5 s.
    assert time.monotonic() - start < 120


def test_model_without_metadata_uses_record_as_is_with_notes(trained, tmp_path, empty_store):
    uri = new_store(empty_store, tmp_path / "bare")
    previous = mlflow.get_tracking_uri()
    setup_tracking(uri, "bare")
    X = WFDBLoader(sampling_rate=RATE, length=LENGTH).fit_transform([trained["record"]])
    try:
        with tracked_run("bare") as run:
            log_model(trained["pipe"], classes=trained["classes"], input_example=X)
    finally:
        mlflow.set_tracking_uri(previous)
    half = _write_record(trained["record"], tmp_path, "five_s", seconds=5)
    result = predict_records(f"runs:/{run.info.run_id}/model", [half], tracking_uri=uri)
    notes = result.records[0]["notes"]
    assert any("records no lead names" in n for n in notes)
    assert any("records no sampling rate: used at the record's 100 Hz" in n for n in notes)
    assert result.signals.shape == (1, 12, LENGTH)


def test_a_threshold_a_multiclass_model_cannot_use_is_said(trained, tmp_path, empty_store,
                                                           capsys):
    # It was ignored without a word: the most probable class, whatever --threshold said.
    uri = new_store(empty_store, tmp_path / "multiclass")
    previous = mlflow.get_tracking_uri()
    setup_tracking(uri, "multiclass")
    loader = WFDBLoader(sampling_rate=RATE, length=LENGTH)
    X = loader.fit_transform([trained["record"]] * 6)
    X = X + np.random.default_rng(0).normal(scale=0.1, size=X.shape).astype(np.float32)
    pipe = Pipeline([("stats", _lead_stats()), ("clf", LogisticRegression())])
    pipe.fit(X, np.array(["A", "B", "C"] * 2))
    try:
        with tracked_run("multiclass") as run:
            log_model(pipe, classes=["A", "B", "C"], input_example=X[:1], sampling_rate=RATE,
                      lead_names=loader.lead_names_, task_type="multiclass")
    finally:
        mlflow.set_tracking_uri(previous)
    model = f"runs:/{run.info.run_id}/model"
    assert main([model, str(trained["record"]), "-q", "--tracking-uri", uri]) == 0
    assert "--threshold" not in capsys.readouterr().err
    assert main([model, str(trained["record"]), "-q", "--tracking-uri", uri,
                 "--threshold", "0.9"]) == 0
    assert ("note: --threshold applies to multi-label and binary models; this multiclass "
            "model predicts the most probable class.") in capsys.readouterr().err


def _model(task_type=None, thresholds=None, classes=("A", "B", "C")):
    return ECGModel(uri="m", pyfunc=None, classes=list(classes), n_leads=1, n_samples=10,
                    task_type=task_type, thresholds=thresholds)


def test_decide_single_and_multi_label():
    proba = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.7]])
    labels, conf, task, _ = decide(proba, _model("multilabel", np.array([0.5, 0.5, 0.8])))
    assert task == "multilabel" and labels == [["B"], ["A"]] and conf == [[0.5], [0.6]]
    labels, conf, task, thr = decide(proba[:1], _model("multiclass"))
    assert labels == [["B"]] and conf == [[0.5]] and thr is None
    binary = _model("binary", np.array([0.3]), classes=("normal", "abnormal"))
    labels, conf, _, _ = decide(np.array([[0.65, 0.35], [0.8, 0.2]]), binary)
    assert labels == [["abnormal"], ["normal"]] and conf == [[0.35], [0.8]]
    # A binary model without thresholds: argmax gave a tie at 0.5 to the first class,
    # where its logged metrics (and --threshold's default) decide by p >= 0.5.
    plain = _model("binary", None, classes=("normal", "abnormal"))
    labels, _, _, thr = decide(np.array([[0.5, 0.5], [0.6, 0.4]]), plain)
    assert labels == [["abnormal"], ["normal"]] and thr == 0.5
    # No task type recorded: rows summing to 1 read as single-label.
    assert decide(proba[:1], _model())[2] == "multiclass"
    assert decide(proba, _model())[2] == "multilabel"
    # A task type it does not know (a model logged before log_model checked it): argmax
    # dropped every label but the most probable one.
    with pytest.raises(PredictError, match=r"m records the task type 'multi-label', which "
                                           r"predict does not know"):
        decide(proba, _model("multi-label"))
    # 'binary' for three classes (logged before log_model checked it): it chose between the
    # first two, and labelled a record of class C at 79% A, at 1%.
    with pytest.raises(PredictError, match=r"m records the task type 'binary' for 3 classes"):
        decide(np.array([[0.01, 0.2, 0.79]]), _model("binary", np.array([0.3])))


def test_the_binary_rule_names_the_class_its_threshold_is_for():
    # "probability >= 0.3" above a prediction of "normal (75.0%)" read as normal's.
    from ecgsk.predict import Prediction, format_prediction

    model = _model("binary", np.array([0.3]), classes=("normal", "abnormal"))
    doc = {"record": "r", "path": "/r", "notes": [], "predicted": ["normal"],
           "confidence": [0.75], "probabilities": {"normal": 0.75, "abnormal": 0.25}}
    result = Prediction(table=None, records=[doc], rejected=[], model=model,
                        task_type="binary", thresholds=np.array([0.3]), signals=None)
    assert ("predicted (binary, abnormal if its probability >= 0.3): normal (75.0%)"
            in format_prediction(result))


def test_serving_input_round_trips_float32():
    X = np.random.default_rng(0).normal(size=(2, 3, 7)).astype(np.float32)
    decoded = np.asarray(json.loads(serving_input(X))["inputs"], dtype=np.float32)
    np.testing.assert_array_equal(decoded, X)
    with pytest.raises(PredictError, match="NaN"):
        serving_input(np.full((1, 1, 2), np.nan, np.float32))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served_model(trained, tmp_path):
    """`mlflow models serve` of the model on a free local port; its process group killed after."""
    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": trained["uri"],
           # uvicorn is started by name: the venv's bin must be on PATH.
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", trained["model_uri"],
         "--host", "127.0.0.1", "--port", str(port), "--env-manager", "local"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("mlflow models serve did not start:\n"
                            + (tmp_path / "serve.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_mlflow_models_serve_answers_as_in_process(trained, served_model, in_store):
    result = predict_records(trained["model_uri"], [trained["record"]],
                             tracking_uri=trained["uri"])
    body = serving_input(result.signals).encode()
    request = urllib.request.Request(f"{served_model}/invocations", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    (served,) = answer["predictions"]
    assert list(served) == trained["classes"]
    np.testing.assert_allclose([served[c] for c in trained["classes"]],
                               result.table.loc[0, trained["classes"]].to_numpy(float),
                               rtol=1e-9)
    # The in-process pyfunc gives the same, too.
    local = mlflow.pyfunc.load_model(trained["model_uri"])
    np.testing.assert_allclose(local.predict(result.signals).to_numpy(float)[0],
                               [served[c] for c in trained["classes"]], rtol=1e-9)


@pytest.mark.skipif(__import__("torch").cuda.is_available(),
                    reason="checks the move to the CPU of a net bound to an absent GPU")
def test_net_bound_to_an_absent_gpu_runs_on_the_cpu():
    from ecgsk.nets import ECGCNN
    from ecgsk.neural import ECGNetClassifier
    from ecgsk.predict._model import _cpu_if_needed

    X = np.random.default_rng(0).normal(size=(16, 2, 100)).astype(np.float32)
    net = ECGNetClassifier(ECGCNN, module__filters=(4, 8), module__kernel_sizes=(5, 3),
                           module__dense=(), max_epochs=1, train_split=None, device="cpu",
                           random_state=0).fit(X, np.arange(16) % 2)
    vars(net)["device"] = "cuda"  # as if fitted and logged on a GPU machine by hand

    class FakePyfunc:
        def get_raw_model(self):
            return Pipeline([("net", net)])

    notes = _cpu_if_needed(FakePyfunc())
    assert notes == ["ECGNetClassifier was set to run on cuda; no GPU here, so it runs on "
                     "the CPU"]
    assert vars(net)["device"] == "cpu"
    assert net.predict_proba(X[:2]).shape == (2, 2)


@pytest.mark.parametrize("layout", [None, "mV"], ids=["fixed layout", "variable layout"])
def test_a_multi_segment_record_is_read_as_the_loader_reads_it(tmp_path, layout):
    # wfdb.rdheader gives a multi-segment record (MIMIC's layout) no signal names unless
    # it reads the segments: every such record was refused, "its header names no signal".
    from ecgsk.predict import plan_records, read_records
    from ecgsk.preprocessing import WFDBLoader

    from ..preprocessing.test_loader import _segments

    record = _segments(tmp_path, ["mV", "mV"], layout)
    model = ECGModel(uri="m", pyfunc=None, classes=["a", "b"], n_leads=1, n_samples=600,
                     sampling_rate=100, lead_names=["II"])
    (plan,) = plan_records([record], model)
    assert plan.error is None, plan.error
    X, read = read_records([plan], model)
    np.testing.assert_array_equal(X, WFDBLoader(leads=["II"]).transform([record]))
    assert read == [plan] and X.shape == (1, 1, 600) and np.allclose(X, 0.5, atol=1e-3)


def test_a_multi_segment_record_s_units_are_checked_in_the_users_words(tmp_path):
    # Its header gives no units, which its segments hold: the loader's advice reached the
    # user ("leave this lead out with leads=[...]"), and microvolts were not noted.
    from ecgsk.predict import plan_records

    from ..preprocessing.test_loader import _segments

    model = ECGModel(uri="m", pyfunc=None, classes=["a", "b"], n_leads=1, n_samples=600,
                     sampling_rate=100, lead_names=["II"])
    (tmp_path / "micro").mkdir()
    (tmp_path / "pressure").mkdir()
    micro = _segments(tmp_path / "micro", ["uV", "uV"])
    pressure = _segments(tmp_path / "pressure", ["mV", "mV"])
    for segment in (tmp_path / "pressure").glob("seg*.hea"):
        segment.write_text(segment.read_text().replace("/mV", "/mmHg"))
    micro_plan, pressure_plan = plan_records([micro, pressure], model)
    assert micro_plan.error is None and "converted from uV to mV: II" in micro_plan.notes
    assert pressure_plan.error == ("its lead 'II', which the model takes, is in 'mmHg', not a "
                                   "voltage, so it cannot be converted to the mV the model "
                                   "was trained on")
