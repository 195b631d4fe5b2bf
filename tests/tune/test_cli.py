"""Bad requests: each a clear error (exit status 2) before any trial, study or run exists."""

import os
import socket
from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient

from ecgsk.tune import build_parser, main, parse_set
from ecgsk.tune._metrics import TuneError

from ..conftest import DAMAGE, copy_ptbxl, damage_record
from .conftest import write_module

ZERO_C = '''
"""Logistic regression whose search space reaches C=0."""

from sklearn.linear_model import LogisticRegression

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50


def make_pipeline(C=1.0):
    return LogisticRegression(C=C)


def search_space(trial):
    return {"C": trial.suggest_float("C", 0.0, 1.0)}
'''


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def request_args(tracking_uri, pipeline_files, tmp_path):
    """A valid request but for what each test breaks; data is an empty folder."""
    (tmp_path / "data").mkdir()
    return {"--pipeline": pipeline_files["stats_lr"], "--dataset": "ptbxl",
            "--task": "superdiagnostic", "--data": tmp_path / "data", "--n-trials": 2,
            "--tracking-uri": tracking_uri, "--experiment": "errors", "--no-progress": None}


def _run(args, capsys, **changes):
    args = {**args, **changes}
    argv = []
    for key, value in args.items():
        if value is not None:
            if value is True or key == "--no-progress":
                argv += [key]
            else:
                argv += [key, *map(str, value if isinstance(value, tuple) else [value])]
    status = main(argv)
    return status, capsys.readouterr().err


def _nothing_ran(tracking_uri):
    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name("errors")
    assert exp is None or not client.search_runs([exp.experiment_id])
    storage = tracking_uri.replace("mlflow.db", "optuna.db")
    if os.path.exists(storage[len("sqlite:///"):]):
        assert optuna.get_all_study_names(storage) == []


@pytest.mark.parametrize("change, message", [
    ({"--pipeline": "no_such_pipeline"}, "unknown pipeline 'no_such_pipeline'"),
    ({"--dataset": "mitbih"}, "unknown dataset 'mitbih'"),
    ({"--task": "rhythmz"}, "unknown task 'rhythmz' for dataset 'ptbxl'"),
    ({"--task": "rhythm"}, "pipeline 'stats_lr' is made for dataset"),
    ({"--metric": "auc"}, "unknown metric 'auc' (--metric)"),
    ({"--metric": "challenge_f1"}, "metric 'challenge_f1' does not fit ptbxl/superdiagnostic"),
    ({"--set": "gamma=1"}, "make_pipeline has no parameter 'gamma'"),
    ({"--set": "C"}, "--set 'C': expected PARAM=VALUE"),
    ({"--set": "C=1.0"}, "search_space of pipeline 'stats_lr' has nothing left to search: --set "
                         "fixes every parameter it suggests (C)"),
    ({"--storage": "redis://127.0.0.1:1"}, "unsupported Optuna storage"),
])
def test_bad_request_before_any_work(request_args, capsys, tracking_uri, change, message):
    status, err = _run(request_args, capsys, **change)
    assert status == 2
    assert message in err
    _nothing_ran(tracking_uri)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_an_unreadable_record_is_a_bad_request(damage, request_args, capsys, tracking_uri,
                                               ptbxl_root, tmp_path):
    root, records = copy_ptbxl(ptbxl_root, tmp_path / "ptb-xl")
    damage_record(records[7], damage)
    status, err = _run(request_args, capsys, **{"--data": root, "--cache-dir": tmp_path / "c"})
    assert status == 2
    assert f"Record '{records[7]}'" in err and DAMAGE[damage] in err
    assert "Traceback" not in err
    _nothing_ran(tracking_uri)


def test_records_without_files_are_left_out_and_logged(request_args, capsys, tracking_uri,
                                                       ptbxl_root, tmp_path):
    root, records = copy_ptbxl(ptbxl_root, tmp_path / "ptb-xl", per_fold=20)  # a fold to score
    Path(f"{records[7]}.hea").unlink()
    status, err = _run(request_args, capsys, **{"--data": root, "--cache-dir": tmp_path / "c",
                                                "--n-trials": 1, "--folds": 1})
    assert status == 0, err[-2000:]
    assert f"left out 1 of {len(records)} records (1 without 100 Hz files: " in err
    client = MlflowClient(tracking_uri)
    (study,) = client.search_runs([client.get_experiment_by_name("errors").experiment_id],
                                  filter_string="tags.`ecgsk.role` = 'study'")
    assert study.data.params["tune.data_left_out"] == "1 without 100 Hz files"


def test_a_binary_study_logs_what_compare_logs_and_how_it_searched(
        request_args, capsys, tracking_uri, ptbxl_root, tmp_path, monkeypatch):
    # On a binary task the trials' mean was cv_macro_auroc_mean beside per-fold cv_auroc
    # (compare logs cv_auroc_mean); the refit held its CV score as a text param
    # cv_macro_auroc; --data was logged as typed, relative; nothing said which sampler and
    # pruner made the trials.
    copy_ptbxl(ptbxl_root, tmp_path / "ptb-xl", per_fold=20)
    monkeypatch.chdir(tmp_path)
    status, err = _run(request_args, capsys, **{
        "--data": "ptb-xl", "--cache-dir": tmp_path / "c", "--task": "binary",
        "--n-trials": 2, "--folds": (1, 2), "--sampler": "random", "--n-boot": 20})
    assert status == 0, err[-2000:]
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("errors").experiment_id

    def runs(role):
        return client.search_runs([experiment], filter_string=f"tags.`ecgsk.role` = '{role}'")

    (study,), (final,), trials = runs("study"), runs("final"), runs("trial")
    assert study.data.params["tune.data"] == str((tmp_path / "ptb-xl").resolve())
    best = optuna.load_study(study_name=study.data.tags["ecgsk.study"],
                             storage=tracking_uri.replace("mlflow.db", "optuna.db")).best_trial
    assert len(trials) == 2
    for trial in trials:
        assert trial.data.params["tune.sampler"] == "random"
        assert trial.data.params["tune.pruner"] == ("median (startup trials 5, warmup "
                                                    "steps 1)")
        assert {"cv_auroc", "cv_auroc_mean", "cv_auroc_std"} <= set(trial.data.metrics)
        assert not any(key.startswith("cv_macro") for key in trial.data.metrics)
    for run in (final, study):
        assert run.data.metrics["cv_auroc_mean"] == pytest.approx(best.value)
        assert run.data.metrics["cv_auroc_std"] == pytest.approx(
            np.std(best.user_attrs["cv_values"]))
    assert not any(key.startswith("cv_") for key in final.data.params)
    assert final.data.params["tune.n_boot"] == "20"


def test_invalid_search_space_is_named(request_args, capsys, tracking_uri, tmp_path):
    path = write_module(tmp_path / "pipes", "zero_c", ZERO_C)
    status, err = _run(request_args, capsys, **{"--pipeline": path})
    assert status == 2
    assert "search_space of pipeline 'zero_c' yields an invalid parameter (C=0.0)" in err
    _nothing_ran(tracking_uri)


@pytest.mark.parametrize("pipeline, setting, message", [
    ("incepse", "depth=0", "depth must be a positive integer, got 0"),
    ("se_resnext1d", "preset=50", "preset must be one of ['26', '50', 'small'], got 50"),
    ("se_ecgnet", "model_name=nosuchmodel", "model_name='nosuchmodel' is not a timm model"),
])
def test_a_setting_the_network_or_optimizer_refuses_is_refused_before_any_trial(
        request_args, capsys, tracking_uri, pipeline, setting, message):
    # The network and optimizer were first built in a trial's fit: tune ran 5 failing
    # trials, a traceback each, then stopped with status 1.
    task = "superdiagnostic" if pipeline == "incepse" else "binary"
    status, err = _run(request_args, capsys, **{"--pipeline": pipeline, "--task": task,
                                                "--set": setting})
    assert status == 2, err[-2000:]
    assert f"pipeline {pipeline!r}: --set {setting.split('=')[0]}=" in err
    assert message in err
    _nothing_ran(tracking_uri)


def test_unreachable_storage_is_named_without_password(request_args, capsys, tracking_uri,
                                                      ptbxl_root, signal_cache, tmp_path):
    # Records that read well: the storage is connected to once they are read.
    url = f"postgresql://tuner:pa55word@127.0.0.1:{_free_port()}/optuna"
    status, err = _run(request_args, capsys, **{"--storage": url, "--data": ptbxl_root,
                                                "--max-records": 60, "--cache-dir": signal_cache})
    assert status == 2
    assert "cannot use the Optuna storage postgresql://tuner:***@127.0.0.1" in err \
        or "needs psycopg2" in err
    assert "pa55word" not in err
    _nothing_ran(tracking_uri)
    # ...before the MLflow store is made, where there was none.
    fresh = tmp_path / "fresh"
    status, err = _run(request_args, capsys, **{"--storage": url, "--data": ptbxl_root,
                                                "--max-records": 60, "--cache-dir": signal_cache,
                                                "--tracking-uri": f"sqlite:///{fresh}/mlflow.db"})
    assert status == 2 and not fresh.exists()


def test_unreachable_tracking_server(request_args, capsys, tracking_uri, ptbxl_root,
                                     signal_cache):
    status, err = _run(request_args, capsys,
                       **{"--tracking-uri": f"http://127.0.0.1:{_free_port()}",
                          "--data": ptbxl_root, "--max-records": 60,
                          "--cache-dir": signal_cache})
    assert status == 2
    assert "MLflow tracking server at http://127.0.0.1" in err and "unreachable" in err
    _nothing_ran(tracking_uri)


@pytest.mark.parametrize("data", ["missing", "empty"])
def test_a_bad_data_path_creates_no_store(request_args, capsys, tmp_path, data):
    """As compare: a refused request leaves no tracking database and no Optuna storage."""
    (tmp_path / "empty").mkdir()
    store = tmp_path / "fresh" / "mlflow.db"
    status, err = _run(request_args, capsys, **{"--data": tmp_path / data,
                                                "--tracking-uri": f"sqlite:///{store}"})
    assert status == 2
    assert ("does not exist" if data == "missing" else "no ptbxl records") in err
    assert not (tmp_path / "fresh").exists()


def test_a_bad_data_path_makes_no_default_store_folder(request_args, capsys, tmp_path,
                                                        monkeypatch):
    """With no --tracking-uri, nor ./mlruns either."""
    cwd = tmp_path / "cwd"  # (the tracking_uri fixture has its store in tmp_path/mlruns)
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    args = {k: v for k, v in request_args.items() if k != "--tracking-uri"}
    status, err = _run(args, capsys, **{"--data": tmp_path / "missing"})
    assert status == 2 and "does not exist" in err
    assert list(cwd.iterdir()) == []


def test_data_path_without_records(request_args, capsys, tracking_uri):
    status, err = _run(request_args, capsys)
    assert status == 2
    assert "no ptbxl records for task 'superdiagnostic' under" in err
    _nothing_ran(tracking_uri)


def test_missing_arguments_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--pipeline", "x"])
    assert info.value.code == 2
    assert "--dataset, --task, --data, --n-trials" in capsys.readouterr().err
    text = build_parser().format_help()
    assert "TOTAL number of finished (complete or pruned) trials" in text
    assert "resumes the study" in text


@pytest.mark.parametrize("threads", ["0", "-1", "two"])
def test_threads_must_be_a_positive_integer(threads, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--pipeline", "x", "--threads", threads])
    assert info.value.code == 2
    assert "argument --threads" in capsys.readouterr().err


def test_parse_set():
    assert parse_set(["max_epochs=3", "lr=1e-3", "features=('a', 'b')", "name=x"]) == {
        "max_epochs": 3, "lr": 1e-3, "features": ("a", "b"), "name": "x"}
    with pytest.raises(TuneError, match="sets 'lr' twice"):
        parse_set(["lr=1", "lr=2"])
