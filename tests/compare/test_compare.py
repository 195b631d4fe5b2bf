"""python -m ecgsk.compare end to end on real PTB-XL (and CinC 2017) records."""

import contextlib
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient

from ecgsk.compare import CompareError, ComparisonFailed, compare, main, make_plan
from ecgsk.compare._data import stratified_subset
from ecgsk.compare._resume import load_result

from ..conftest import CTRL_C_NET, DAMAGE, copy_ptbxl, damage_record
from .conftest import COUNTED, FAILING, FLAT_LR, new_store, write_module

pytestmark = pytest.mark.slow


def _table(client, run, path):
    """A table logged with mlflow.log_table, read without MLflow's global tracking URI."""
    with open(client.download_artifacts(run.info.run_id, path)) as f:
        table = json.load(f)
    return pd.DataFrame(table["data"], columns=table["columns"])


def _runs(client, experiment, role=None):
    exp = client.get_experiment_by_name(experiment)
    query = f"tags.`ecgsk.role` = '{role}'" if role else ""
    return client.search_runs([exp.experiment_id], filter_string=query)


@pytest.fixture(scope="module")
def e2e(empty_store, pipeline_files, signal_cache, ptbxl_root, tmp_path_factory):
    """One CLI comparison of two pipelines: 2 CV folds, external test set, a --set."""
    uri = new_store(empty_store, tmp_path_factory.mktemp("e2e"))
    cmd = [sys.executable, "-m", "ecgsk.compare",
           "--pipelines", str(pipeline_files["stats_lr"]), str(pipeline_files["flat_lr"]),
           "--dataset", "ptbxl", "--task", "superdiagnostic", "--data", str(ptbxl_root),
           "--folds", "1", "2", "--max-records", "300", "--n-boot", "50",
           "--tracking-uri", uri, "--experiment", "e2e", "--cache-dir", str(signal_cache),
           "--test-data", str(ptbxl_root), "--set", "flat_lr.C=0.5", "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, MlflowClient(uri)


def test_runs_nest_comparison_pipeline_fold(e2e):
    _, client = e2e
    (comparison,) = _runs(client, "e2e", "comparison")
    pipelines = {r.info.run_name: r for r in _runs(client, "e2e", "pipeline")}
    folds = _runs(client, "e2e", "fold")
    assert set(pipelines) == {"stats_lr", "flat_lr"}
    assert len(folds) == 4
    runs = [comparison, *pipelines.values(), *folds]
    assert all(r.info.status == "FINISHED" for r in runs)
    assert "mlflow.parentRunId" not in comparison.data.tags
    for run in pipelines.values():
        assert run.data.tags["mlflow.parentRunId"] == comparison.info.run_id
    for run in folds:
        parent = pipelines[run.data.tags["ecgsk.pipeline"]]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.info.run_name == f"{parent.info.run_name} fold {run.data.tags['ecgsk.fold']}"
    assert comparison.data.params["compare.folds"] == "1, 2"
    assert comparison.data.params["compare.max_records"] == "300"
    assert comparison.data.params["compare.explain"] == "0"  # only in the request tag before
    assert comparison.data.tags["ecgsk.version.mlflow"] == mlflow.__version__


def test_pipeline_run_metrics(e2e):
    _, client = e2e
    run = {r.info.run_name: r for r in _runs(client, "e2e", "pipeline")}["stats_lr"]
    folds = {r.data.tags["ecgsk.fold"]: r for r in _runs(client, "e2e", "fold")
             if r.data.tags["ecgsk.pipeline"] == "stats_lr"}
    m = run.data.metrics
    history = client.get_metric_history(run.info.run_id, "cv_macro_auroc")
    assert sorted(h.step for h in history) == [1, 2]
    per_fold = [folds[str(h.step)].data.metrics["cv_macro_auroc"] for h in history]
    assert [h.value for h in history] == pytest.approx(per_fold)
    assert m["cv_macro_auroc_mean"] == pytest.approx(np.mean(per_fold))
    assert m["cv_macro_auroc_std"] == pytest.approx(np.std(per_fold))
    for name in ("macro_auroc", "macro_f1", "macro_sensitivity", "macro_specificity"):
        assert m[f"test_{name}_ci_low"] <= m[f"test_{name}"] <= m[f"test_{name}_ci_high"]
        assert f"external_{name}" in m and f"external_{name}_ci_low" in m
    assert 0.5 < m["test_macro_auroc"] <= 1
    assert {f"test_threshold_{c}" for c in ("CD", "HYP", "MI", "NORM", "STTC")} <= set(m)
    p = run.data.params
    assert p["train.split"] == "strat_fold 1-8" and p["test.split"] == "strat_fold 10"
    assert p["signal.sampling_rate"] == "100" and p["signal.length"] == "1000"
    assert p["pipeline.steps"] == "features=StatisticalFeatures -> scale=StandardScaler -> " \
                                  "clf=OneVsRestClassifier"
    assert p["factory.random_state"] == "0"  # --seed reaches factories taking random_state
    paths = {a.path for a in client.list_artifacts(run.info.run_id, "test")}
    assert {"test/roc_curves.png", "test/confusion_matrix.png", "test/predictions.csv",
            "test/per_class_metrics.json"} <= paths
    assert int(p["test.n_records"]) == len(pd.read_csv(
        client.download_artifacts(run.info.run_id, "test/predictions.csv")))


def test_label_plots_once_and_reliability_diagram(e2e, tmp_path):
    _, client = e2e
    (comparison,) = _runs(client, "e2e", "comparison")
    train = {a.path for a in client.list_artifacts(comparison.info.run_id, "data/train")}
    assert train == {"data/train/class_distribution.png", "data/train/label_cooccurrence.png"}
    local = client.download_artifacts(comparison.info.run_id,
                                      "data/train/class_distribution.png", str(tmp_path))
    with open(local, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # The clinical 12-lead plots of the first 2 test records, as the pipelines read them.
    preds = pd.read_csv(client.download_artifacts(
        _runs(client, "e2e", "pipeline")[0].info.run_id, "test/predictions.csv"))
    examples = {a.path for a in client.list_artifacts(comparison.info.run_id, "data/examples")}
    assert examples == {f"data/examples/{r}.png" for r in preds.record[:2]}
    local = client.download_artifacts(comparison.info.run_id, sorted(examples)[0],
                                      str(tmp_path))
    with open(local, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # Once per comparison: no pipeline or fold run draws them again.
    for run in _runs(client, "e2e", "pipeline") + _runs(client, "e2e", "fold"):
        assert not client.list_artifacts(run.info.run_id, "data")
    for run in _runs(client, "e2e", "pipeline"):
        paths = {a.path for a in client.list_artifacts(run.info.run_id, "test")}
        assert "test/reliability_diagram.png" in paths
        assert "external/reliability_diagram.png" in {
            a.path for a in client.list_artifacts(run.info.run_id, "external")}


def test_set_reaches_factory(e2e):
    _, client = e2e
    run = {r.info.run_name: r for r in _runs(client, "e2e", "pipeline")}["flat_lr"]
    assert run.data.params["factory.C"] == "0.5"
    assert run.data.params["clf__estimator__C"] == "0.5"
    stats = {r.info.run_name: r for r in _runs(client, "e2e", "pipeline")}["stats_lr"]
    assert stats.data.params["clf__estimator__C"] == "1.0"


def test_external_test_set(e2e, ptbxl_root):
    from ecgsk.compare._data import load_dataset

    done, client = e2e
    full = load_dataset("ptbxl", "superdiagnostic", ptbxl_root, 100)
    # The comparison trained on a 300-record subset of the same root: every other
    # record of a patient it never learnt from is external, whatever its fold.
    ds = stratified_subset(full, 300, 0)
    plan = make_plan(ds, cv=False)
    learnt = set(ds.groups[np.concatenate([plan.train, plan.valid])])
    (comparison,) = _runs(client, "e2e", "comparison")
    p = comparison.data.params
    assert p["external.split"] == "external: every record, patients no fit learnt from"
    assert p["compare.test_folds"] == "all"
    assert p["external.dropped_seen"] == str(int(np.isin(full.groups, list(learnt)).sum()))
    assert int(p["external.n_records"]) == 300
    # What was left out was said only in the params; the terminal now says it too.
    seen = p["external.dropped_seen"]
    assert (f"note: --test-data {ptbxl_root}: 300 of its {len(full)} records are scored; left "
            f"out: {seen} of patients a fit learnt from; {len(full) - int(seen) - 300} outside "
            "the --max-records subset.") in done.stderr
    run = _runs(client, "e2e", "pipeline")[0]
    assert {a.path for a in client.list_artifacts(run.info.run_id, "external")} >= {
        "external/roc_curves.png", "external/predictions.csv"}
    scored = pd.read_csv(client.download_artifacts(run.info.run_id, "external/predictions.csv"))
    by_name = dict(zip([p.rsplit("/", 1)[1] for p in full.X], zip(full.groups, full.folds)))
    assert not learnt & {by_name[r][0] for r in scored.record}
    assert len({by_name[r][1] for r in scored.record}) > 1  # not only fold 10


@pytest.mark.parametrize("table, records, prefix", [
    ("pairwise", "Pairwise tests (", "test"),
    ("external_pairwise", "Pairwise tests on the 300 external records", "external")])
def test_comparison_table_with_p_values(e2e, table, records, prefix):
    done, client = e2e
    (comparison,) = _runs(client, "e2e", "comparison")
    pairwise = _table(client, comparison, f"comparison/{table}.json")
    assert len(pairwise) == 1
    row = pairwise.iloc[0]
    assert {row.pipeline_a, row.pipeline_b} == {"stats_lr", "flat_lr"}
    assert row.metric == "macro_auroc" and 0 < row.p_bootstrap <= 1
    assert row.diff_ci_low <= row["diff"] <= row.diff_ci_high
    assert row.winner in ("stats_lr", "flat_lr", "none (p >= 0.05)")
    # The values compared are the scores each pipeline run logged on those records.
    pipelines = {r.info.run_name: r for r in _runs(client, "e2e", "pipeline")}
    for side in ("a", "b"):
        metrics = pipelines[row[f"pipeline_{side}"]].data.metrics
        assert row[f"value_{side}"] == pytest.approx(metrics[f"{prefix}_macro_auroc"])
    assert records in done.stdout
    summary = _table(client, comparison, "comparison/summary.json")
    assert set(summary.pipeline) == {"stats_lr", "flat_lr"}
    assert "Pairwise tests" in done.stdout and "p_bootstrap" in done.stdout
    assert "stats_lr" in done.stdout and "[" in done.stdout  # intervals printed
    # Where to find the runs.
    assert (f"Logged to MLflow: comparison run {comparison.info.run_id}, experiment 'e2e', "
            f"store {client.tracking_uri} (python -m ecgsk.ui --backend-store-uri "
            f"{client.tracking_uri} shows them).") in done.stdout


def test_logged_model_predicts_raw_signals(e2e, ptbxl_root, signal_cache):
    from ecgsk.preprocessing import WFDBLoader

    _, client = e2e
    run = {r.info.run_name: r for r in _runs(client, "e2e", "pipeline")}["flat_lr"]
    preds = pd.read_csv(client.download_artifacts(run.info.run_id, "test/predictions.csv"))
    records = [str(ptbxl_root / "records100" / "00000" / r) for r in preds.record[:3]
               if r.startswith("00")]
    assert records, preds.record[:3]
    X = WFDBLoader(sampling_rate=50, length=500, cache_dir=str(signal_cache)).fit_transform(records)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(client.tracking_uri)
    try:
        model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    finally:
        mlflow.set_tracking_uri(previous)
    frame = model.predict(X)
    assert list(frame.columns) == ["CD", "HYP", "MI", "NORM", "STTC"]
    expected = preds.filter(like="proba_").to_numpy()[:len(records)]
    np.testing.assert_allclose(frame.to_numpy(), expected, rtol=1e-4, atol=1e-6)


@pytest.fixture
def quiet_args(tracking_uri, signal_cache):
    return ["--tracking-uri", tracking_uri, "--cache-dir", str(signal_cache), "--no-progress"]


def test_a_class_undefined_on_the_test_records_is_a_note_said_once(
        tracking_uri, signal_cache, ptbxl_root, pipeline_files, capsys):
    # It was a raw UserWarning with compare's source line, once per pipeline.
    # 40 records: a test set of 5, without a positive record of some class.
    result = compare(list(pipeline_files.values()), "ptbxl", "superdiagnostic", ptbxl_root,
                     cv=False, max_records=40, n_boot=0, tracking_uri=tracking_uri,
                     experiment="undefined", cache_dir=signal_cache, progress=False)
    assert len(result.pipelines) == 2
    err = capsys.readouterr().err
    assert len(re.findall(r"note: class\(es\) [A-Z, ]+ have no positive or no negative record "
                          r"among the test records, so their AUROC is undefined", err)) == 1
    assert "UserWarning" not in err


def test_compare_called_from_a_library_leaves_the_callers_mlflow_store(
        tmp_path, monkeypatch, tracking_uri, signal_cache, ptbxl_root, pipeline_files):
    # It left the process, and MLFLOW_TRACKING_URI for its subprocesses, on compare's store
    # and experiment: the caller's next mlflow.start_run() logged there.
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mine)
    mlflow.set_tracking_uri(mine)
    mlflow.set_experiment("mine")
    compare([pipeline_files["flat_lr"]], "ptbxl", "superdiagnostic", ptbxl_root, cv=False,
            max_records=40, n_boot=0, tracking_uri=tracking_uri, experiment="library",
            cache_dir=signal_cache, progress=False)
    assert mlflow.get_tracking_uri() == mine
    assert os.environ["MLFLOW_TRACKING_URI"] == mine
    with mlflow.start_run() as run:
        pass
    assert MlflowClient(mine).get_experiment(run.info.experiment_id).name == "mine"
    assert len(_runs(MlflowClient(tracking_uri), "library", "pipeline")) == 1


def test_a_secret_named_factory_parameter_is_masked(tmp_path, tracking_uri, signal_cache,
                                                    ptbxl_root, pipeline_files, capsys):
    # compare logged factory.api_token in clear, where tune masked it.
    module = pipeline_files["stats_lr"].read_text().replace(
        "def make_pipeline(C=1.0, random_state=None):",
        "def make_pipeline(C=1.0, random_state=None, api_token=None):")
    path = write_module(tmp_path, "token_lr", module)
    compare([path], "ptbxl", "superdiagnostic", ptbxl_root, cv=False, max_records=100,
            n_boot=0, set_params={"token_lr": {"api_token": "ghp_SuperSecret123"}},
            tracking_uri=tracking_uri, experiment="token", cache_dir=signal_cache,
            progress=False)
    # --n-boot 0: the report promised "95% bootstrap intervals, 0 resamples".
    assert "; no bootstrap intervals (--n-boot 0)." in capsys.readouterr().out
    (run,) = _runs(MlflowClient(tracking_uri), "token", "pipeline")
    assert run.data.params["factory.api_token"] == "***"
    assert "ghp_SuperSecret123" not in str(run.data.params)


def test_failing_fold_keeps_earlier_folds(tmp_path, tracking_uri, signal_cache, ptbxl_root,
                                          pipeline_files):
    failing = write_module(tmp_path, "diverges", FAILING)
    with pytest.raises(ComparisonFailed, match="diverges") as err:
        compare([failing, pipeline_files["flat_lr"]], "ptbxl", "superdiagnostic", ptbxl_root,
                folds=[1, 2], max_records=150, n_boot=20, tracking_uri=tracking_uri,
                experiment="fails", cache_dir=signal_cache, progress=False)
    result = err.value.result
    assert set(result.pipelines) == {"flat_lr"} and "loss diverged" in result.failed["diverges"]
    client = MlflowClient(tracking_uri)
    folds = {r.info.run_name: r for r in _runs(client, "fails", "fold")}
    assert folds["diverges fold 1"].info.status == "FINISHED"
    assert "cv_macro_auroc" in folds["diverges fold 1"].data.metrics
    assert folds["diverges fold 2"].info.status == "FAILED"
    assert "loss diverged" in folds["diverges fold 2"].data.tags["ecgsk.error"]
    assert folds["flat_lr fold 2"].info.status == "FINISHED"
    pipelines = {r.info.run_name: r for r in _runs(client, "fails", "pipeline")}
    assert pipelines["diverges"].info.status == "FAILED"
    assert pipelines["flat_lr"].info.status == "FINISHED"
    (comparison,) = _runs(client, "fails", "comparison")
    assert comparison.info.status == "FAILED"
    summary = _table(client, comparison, "comparison/summary.json")
    assert summary.set_index("pipeline").loc["diverges", "error"].startswith("RuntimeError")


def _counted(tmp_path, monkeypatch, interrupt_at=None):
    """Two counting pipelines (``a``, ``b``) and the log of their fits."""
    log = tmp_path / "fits.log"
    monkeypatch.setenv("ECGSK_TEST_FITS", str(log))
    if interrupt_at is None:
        monkeypatch.delenv("ECGSK_TEST_INTERRUPT_AT", raising=False)
    else:
        monkeypatch.setenv("ECGSK_TEST_INTERRUPT_AT", str(interrupt_at))
    paths = [write_module(tmp_path, name, COUNTED) for name in ("a", "b")]
    return paths, log


def _fits(log):
    return log.read_text().split() if log.exists() else []


def test_an_interrupted_comparison_resumes_where_it_stopped(tmp_path, monkeypatch, quiet_args,
                                                            tracking_uri, ptbxl_root, capsys):
    """Ctrl-C in b's fold 2; the rerun keeps a's finished run and b's fold 1."""
    argv = ["--dataset", "ptbxl", "--task", "superdiagnostic", "--data", str(ptbxl_root),
            "--folds", "1", "2", "--max-records", "200", "--n-boot", "20",
            "--experiment", "resume", *quiet_args]
    paths, log = _counted(tmp_path, monkeypatch, interrupt_at=5)  # a: fits 1-3, b: 4, 5...
    assert main(["--pipelines", *map(str, paths), *argv, "--threads", "1"]) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    client = MlflowClient(tracking_uri)
    (first,) = _runs(client, "resume", "comparison")
    assert first.info.status == "KILLED"
    pipelines = {r.info.run_name: r for r in _runs(client, "resume", "pipeline")}
    assert {k: r.info.status for k, r in pipelines.items()} == {"a": "FINISHED", "b": "KILLED"}

    _counted(tmp_path, monkeypatch)
    assert main(["--pipelines", *map(str, paths), *argv, "--threads", "2"]) == 0
    err = capsys.readouterr().err
    assert f"resuming comparison run {first.info.run_id} (KILLED)" in err
    assert "pipeline 'a': finished in the interrupted comparison, read back" in err
    assert "Downloading artifacts" not in err  # compare's own bar is enough
    # Only b's fold 2 (again) and b's final fit ran.
    assert _fits(log) == ["a.py"] * 3 + ["b.py"] * 4
    (again,) = _runs(client, "resume", "comparison")
    assert again.info.run_id == first.info.run_id and again.info.status == "FINISHED"
    assert "ecgsk.error" not in again.data.tags
    pipelines = {r.info.run_name: r for r in _runs(client, "resume", "pipeline")}
    assert len(pipelines) == 2 and all(r.info.status == "FINISHED" for r in pipelines.values())
    folds = sorted((r.info.run_name, r.info.status) for r in _runs(client, "resume", "fold"))
    assert folds == [("a fold 1", "FINISHED"), ("a fold 2", "FINISHED"),
                     ("b fold 1", "FINISHED"), ("b fold 2", "FINISHED"), ("b fold 2", "KILLED")]
    # Each fit's threads: the comparison's tag is the rerun's, and the fits it kept say theirs.
    threads = sorted((r.info.run_name, r.info.status, r.data.tags.get("ecgsk.threads.torch"))
                     for r in _runs(client, "resume", "fold") + list(pipelines.values()))
    assert threads == [("a", "FINISHED", "1"), ("a fold 1", "FINISHED", "1"),
                       ("a fold 2", "FINISHED", "1"), ("b", "FINISHED", "2"),
                       ("b fold 1", "FINISHED", "1"), ("b fold 2", "FINISHED", "2"),
                       ("b fold 2", "KILLED", "1")]
    assert again.data.tags["ecgsk.threads.torch"] == "2"
    summary = _table(client, again, "comparison/summary.json").set_index("pipeline")
    assert summary.loc["a", "run_id"] == pipelines["a"].info.run_id
    for name in ("a", "b"):  # the read-back pipeline is in the tables as a fitted one
        metrics = pipelines[name].data.metrics
        assert summary.loc[name, "test_macro_auroc"] == pytest.approx(metrics["test_macro_auroc"])
        assert summary.loc[name, "cv_macro_auroc_mean"] == pytest.approx(
            metrics["cv_macro_auroc_mean"])
    pairwise = _table(client, again, "comparison/pairwise.json")
    assert len(pairwise) == 1 and 0 < pairwise.p_bootstrap.iloc[0] <= 1
    assert {a.path for a in client.list_artifacts(again.info.run_id, "data/examples")}

    # A finished comparison is not resumed: the same command compares anew, and says so.
    capsys.readouterr()
    assert main(["--pipelines", *map(str, paths), *argv]) == 0
    assert len(_fits(log)) == 7 + 6
    assert len(_runs(client, "resume", "comparison")) == 2
    assert (f"this comparison finished before, in run {first.info.run_id}; it runs again as "
            "a new comparison") in capsys.readouterr().err


def test_a_comparison_in_a_renamed_experiment_is_named(tmp_path, monkeypatch, quiet_args,
                                                       tracking_uri, ptbxl_root, capsys):
    # The rerun under the old name refitted everything without a word; the interrupted
    # comparison stayed in the renamed experiment.
    def argv(experiment):
        return ["--pipelines", *map(str, paths), "--dataset", "ptbxl", "--task",
                "superdiagnostic", "--no-cv", "--max-records", "200", "--n-boot", "20",
                "--experiment", experiment, "--data", str(ptbxl_root), *quiet_args]

    paths, log = _counted(tmp_path, monkeypatch, interrupt_at=2)
    assert main(argv("named")) == 130
    client = MlflowClient(tracking_uri)
    (first,) = _runs(client, "named", "comparison")
    client.rename_experiment(first.info.experiment_id, "named-old")
    _counted(tmp_path, monkeypatch)
    capsys.readouterr()
    assert main(argv("named")) == 0
    assert (f"note: this comparison ran before in the MLflow experiment 'named-old' (run "
            f"{first.info.run_id}, KILLED); it starts anew here, and --experiment named-old "
            "would resume it there") in capsys.readouterr().err
    (done,) = _runs(client, "named", "comparison")
    assert main(argv("other")) == 0
    assert (f"note: this comparison finished before in the MLflow experiment 'named' (run "
            f"{done.info.run_id}); it runs again here") in capsys.readouterr().err


def test_a_rerun_that_spells_the_folder_otherwise_resumes(tmp_path, monkeypatch, quiet_args,
                                                          tracking_uri, ptbxl_root, capsys):
    # The key resolved the folder and found the run; its compare.data param was logged as
    # spelled, and MLflow refused to change it: "Changing param values is not allowed".
    argv = ["--dataset", "ptbxl", "--task", "superdiagnostic", "--no-cv", "--max-records",
            "200", "--n-boot", "20", "--experiment", "spelled", *quiet_args]
    paths, log = _counted(tmp_path, monkeypatch, interrupt_at=2)  # b's final fit
    assert main(["--pipelines", *map(str, paths), *argv, "--data", str(ptbxl_root)]) == 130
    client = MlflowClient(tracking_uri)
    (first,) = _runs(client, "spelled", "comparison")
    _counted(tmp_path, monkeypatch)
    capsys.readouterr()
    assert main(["--pipelines", *map(str, paths), *argv, "--data", f"{ptbxl_root}/"]) == 0
    assert f"resuming comparison run {first.info.run_id} (KILLED)" in capsys.readouterr().err
    (again,) = _runs(client, "spelled", "comparison")
    assert again.info.status == "FINISHED"
    assert again.data.params["compare.data"] == str(Path(ptbxl_root).resolve())


def test_fresh_starts_a_new_comparison(tmp_path, monkeypatch, quiet_args, tracking_uri,
                                       ptbxl_root):
    argv = ["--dataset", "ptbxl", "--task", "superdiagnostic", "--data", str(ptbxl_root),
            "--no-cv", "--max-records", "200", "--n-boot", "20", "--experiment", "fresh",
            *quiet_args]
    paths, log = _counted(tmp_path, monkeypatch, interrupt_at=2)  # b's final fit
    assert main(["--pipelines", *map(str, paths), *argv]) == 130
    _counted(tmp_path, monkeypatch)
    assert main(["--pipelines", *map(str, paths), *argv, "--fresh"]) == 0
    assert len(_fits(log)) == 2 + 2  # both fitted again
    client = MlflowClient(tracking_uri)
    assert sorted(r.info.status for r in _runs(client, "fresh", "comparison")) == [
        "FINISHED", "KILLED"]
    # Another request (b's C) does not resume the killed one either.
    paths, log = _counted(tmp_path, monkeypatch, interrupt_at=len(_fits(log)) + 2)
    assert main(["--pipelines", *map(str, paths), *argv]) == 130
    _counted(tmp_path, monkeypatch)
    assert main(["--pipelines", *map(str, paths), *argv, "--set", "b.C=0.5"]) == 0
    assert len(_runs(client, "fresh", "comparison")) == 4

def test_a_network_interrupted_in_training_resumes_at_its_last_epoch(tmp_path, monkeypatch,
                                                                    tracking_uri, ptbxl_root,
                                                                    capsys):
    """Ctrl-C at epoch 3 of the final fit; the rerun trains epochs 3-5 only, to the same net."""
    epochs = tmp_path / "epochs.log"
    monkeypatch.setenv("ECGSK_TEST_EPOCHS", str(epochs))
    path = write_module(tmp_path, "ctrl_c_net", CTRL_C_NET)
    cache = tmp_path / "cache"
    argv = ["--pipelines", str(path), "--dataset", "ptbxl", "--task", "superdiagnostic",
            "--data", str(ptbxl_root), "--no-cv", "--max-records", "200", "--n-boot", "20",
            "--experiment", "net", "--tracking-uri", tracking_uri, "--cache-dir", str(cache),
            "--no-progress"]
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    assert main(argv) == 130
    assert epochs.read_text().split() == ["1", "2", "3"]
    assert len(list((cache / "checkpoints").glob("ecgnet-*.pt"))) == 1
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    epochs.unlink()
    assert main(argv) == 0
    assert epochs.read_text().split() == ["3", "4", "5"]  # epoch 3 was not saved yet
    assert list((cache / "checkpoints").glob("ecgnet-*.pt")) == []
    epochs.unlink()
    assert main(argv + ["--fresh"]) == 0  # the same fit, uninterrupted
    assert epochs.read_text().split() == ["1", "2", "3", "4", "5"]
    capsys.readouterr()
    client = MlflowClient(tracking_uri)
    runs = _runs(client, "net", "pipeline")
    assert sorted(r.info.status for r in runs) == ["FINISHED", "FINISHED"]
    resumed, fresh = (r.data.metrics for r in runs)
    assert resumed["test_macro_auroc"] == fresh["test_macro_auroc"]
    assert resumed["test_macro_f1"] == fresh["test_macro_f1"]


def _interrupt_first_call(monkeypatch, target):
    """Make the first call of ``target`` (``module.attribute``) raise KeyboardInterrupt."""
    module_name, attribute = target.rsplit(".", 1)
    module = importlib.import_module(module_name)
    real, calls = getattr(module, attribute), []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, attribute, interrupted)


def _interrupted_in_final_logging(where, experiment, tmp_path, monkeypatch, tracking_uri,
                                  ptbxl_root, extra=()):
    """Run a small network comparison that Ctrl-C stops in ``where``, after its final fit.

    Returns the command's arguments (to rerun it), the file each trained epoch
    is written to, and the cache folder.
    """
    epochs = tmp_path / "epochs.log"
    monkeypatch.setenv("ECGSK_TEST_EPOCHS", str(epochs))
    monkeypatch.delenv("ECGSK_TEST_SIGINT", raising=False)
    path = write_module(tmp_path, "ctrl_c_net", CTRL_C_NET)
    cache = tmp_path / "cache"
    argv = ["--pipelines", str(path), "--dataset", "ptbxl", "--task", "superdiagnostic",
            "--data", str(ptbxl_root), "--folds", "1", "--max-records", "200", "--n-boot", "20",
            *extra, "--experiment", experiment, "--tracking-uri", tracking_uri, "--cache-dir",
            str(cache), "--no-progress"]
    with monkeypatch.context() as patch:
        _interrupt_first_call(patch, where)
        assert main(argv) == 130
    return argv, epochs, cache


@pytest.mark.parametrize("where", [
    "ecgsk.tracking.log_model",  # test metrics and training curves logged, no model yet
    "ecgsk.compare._compare.save_result",  # everything logged: model, external metrics
])
def test_an_interruption_in_the_final_logging_neither_refits_nor_logs_twice(
        where, tmp_path, monkeypatch, tracking_uri, ptbxl_root, capsys):
    """Ctrl-C after the final fit; the rerun finishes the run with that fit, nothing twice."""
    argv, epochs, cache = _interrupted_in_final_logging(
        where, "final", tmp_path, monkeypatch, tracking_uri, ptbxl_root,
        extra=("--test-data", str(ptbxl_root)))
    trained = epochs.read_text().split()
    assert trained == ["1", "2", "3", "4", "5"] * 2  # fold 1, then the final fit
    kept = list((cache / "checkpoints").glob("compare-final-*.pkl"))
    assert len(kept) == 1
    client = MlflowClient(tracking_uri)
    (first,) = _runs(client, "final", "pipeline")
    assert first.info.status == "KILLED" and "test_macro_auroc" in first.data.metrics
    assert kept[0].name == f"compare-final-{first.info.run_id}.pkl"

    assert main(argv) == 0
    assert "the final fit of the interrupted run, read back" in capsys.readouterr().err
    assert epochs.read_text().split() == trained  # neither fold 1 nor the final fit again
    assert list((cache / "checkpoints").glob("compare-final-*")) == []  # the run finished
    (run,) = _runs(client, "final", "pipeline")
    assert run.info.run_id == first.info.run_id and run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert {"test_macro_auroc", "external_macro_auroc", "cv_macro_auroc_mean",
            "train_loss", "valid_loss"} <= set(metrics)
    for key in metrics:  # each point once: fold 1's cv_ at step 1, curves at each epoch
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert steps in ([0], [1], [1, 2, 3, 4, 5]), (key, steps)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")] == [
        1, 2, 3, 4, 5]
    models = client.search_logged_models([run.info.experiment_id],
                                         filter_string=f"source_run_id = '{run.info.run_id}'")
    assert [str(m.status) for m in models] == ["READY"]  # one model, of the one fit
    result = load_result(client, run)
    assert result.model_uri == models[0].model_uri
    assert result.test_metrics["test_macro_auroc"] == metrics["test_macro_auroc"]


def test_a_final_fit_made_anew_on_resume_logs_its_own_results(
        tmp_path, monkeypatch, tracking_uri, ptbxl_root, capsys):
    """Without its saved file the final fit is redone: the run then shows the new fit's numbers."""
    from ecgsk.compare import _compare

    argv, epochs, cache = _interrupted_in_final_logging(  # test metrics logged, no model
        "ecgsk.tracking.log_model", "anew", tmp_path, monkeypatch, tracking_uri, ptbxl_root)
    client = MlflowClient(tracking_uri)
    (first,) = _runs(client, "anew", "pipeline")
    old = first.data.metrics["test_macro_auroc"]
    for kept in (cache / "checkpoints").glob("compare-final-*.pkl"):
        kept.unlink()

    real = _compare._predict  # the new fit scores otherwise: its numbers must be the run's
    monkeypatch.setattr(_compare, "_predict", lambda est, X, k: 1 - real(est, X, k))
    assert main(argv) == 0
    assert epochs.read_text().split() == ["1", "2", "3", "4", "5"] * 3  # fitted again
    (run,) = _runs(client, "anew", "pipeline")
    assert run.info.run_id == first.info.run_id and run.info.status == "FINISHED"
    result = load_result(client, run)
    new = result.test_metrics["test_macro_auroc"]
    assert new != old and run.data.metrics["test_macro_auroc"] == new
    models = client.search_logged_models([run.info.experiment_id],
                                         filter_string=f"source_run_id = '{run.info.run_id}'")
    assert [str(m.status) for m in models] == ["READY"] and result.model_uri == \
        models[0].model_uri


def test_fresh_removes_the_final_fit_of_the_run_it_leaves(
        tmp_path, monkeypatch, tracking_uri, ptbxl_root, capsys):
    """No rerun would read the interrupted run's saved final fit once --fresh started anew."""
    argv, _, cache = _interrupted_in_final_logging(
        "ecgsk.tracking.log_model", "leave", tmp_path, monkeypatch, tracking_uri, ptbxl_root)
    (kept,) = (cache / "checkpoints").glob("compare-final-*.pkl")
    capsys.readouterr()
    assert main(argv + ["--fresh"]) == 0
    assert f"--fresh: removed {kept}" in capsys.readouterr().err
    assert list((cache / "checkpoints").glob("compare-final-*")) == []
    client = MlflowClient(tracking_uri)
    assert sorted(r.info.status for r in _runs(client, "leave", "pipeline")) == [
        "FINISHED", "KILLED"]


def test_a_class_too_rare_for_the_folds_is_a_note(tmp_path, quiet_args, tracking_uri,
                                                  cinc_root, capsys):
    """Said as the readers say what they leave out, not as a UserWarning with its source line."""
    path = write_module(tmp_path, "cinc_rare", FLAT_LR.format(dataset="cinc2017", task="af"))
    code = main(["--pipelines", str(path), "--dataset", "cinc2017", "--task", "af", "--data",
                 str(cinc_root), "--folds", "1", "--max-records", "80", "--n-boot", "20",
                 "--experiment", "rare", *quiet_args])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "note: cinc2017: class(es) '~' (" in err and "some CV folds test none of them" in err
    assert "UserWarning" not in err and "make_plan(" not in err
    # One fold has no spread: "± 0.000" read as folds that agree.
    assert "(one fold)" in out and "± 0.000" not in out
    (run,) = _runs(MlflowClient(tracking_uri), "rare", "pipeline")
    assert "cv_challenge_f1_mean" in run.data.metrics
    assert not [key for key in run.data.metrics if key.endswith("_std")]


def test_no_cv_single_pipeline_cinc(tmp_path, quiet_args, tracking_uri, cinc_root, capsys):
    threads_before = torch.get_num_threads()
    path = write_module(tmp_path, "cinc_flat", FLAT_LR.format(dataset="cinc2017", task="af"))
    other = write_module(tmp_path, "cinc_flat_strong", FLAT_LR.format(dataset="cinc2017",
                                                                      task="af"))
    code = main(["--pipelines", str(path), str(other), "--dataset", "cinc2017", "--task", "af",
                 "--data", str(cinc_root), "--no-cv", "--max-records", "200", "--n-boot", "20",
                 "--set", "cinc_flat_strong.C=10", "--experiment", "cinc", "--threads", "1",
                 *quiet_args])
    assert code == 0, capsys.readouterr().err
    assert torch.get_num_threads() == threads_before  # --threads holds for the call only
    client = MlflowClient(tracking_uri)
    assert _runs(client, "cinc", "fold") == []
    runs = _runs(client, "cinc", "pipeline")
    m = runs[0].data.metrics
    assert {"test_challenge_f1", "test_accuracy", "test_f1_noisy", "test_macro_auroc"} <= set(m)
    (comparison,) = _runs(client, "cinc", "comparison")
    assert comparison.data.params["compare.folds"] == "none"
    assert comparison.data.tags["ecgsk.threads.torch"] == "1"
    pairwise = _table(client, comparison, "comparison/pairwise.json")
    assert 0 < pairwise.p_mcnemar.iloc[0] <= 1 and pairwise.metric.iloc[0] == "macro_auroc_ovr"
    assert "p_delong" not in pairwise.columns
    # The challenge's own metric is tested too, on the values each pipeline run logged.
    row = pairwise.iloc[0]
    by_name = {r.info.run_name: r.data.metrics for r in runs}
    for side in ("a", "b"):
        assert row[f"challenge_f1_{side}"] == pytest.approx(
            by_name[row[f"pipeline_{side}"]]["test_challenge_f1"])
    assert 0 < row.p_challenge_f1 <= 1


@pytest.mark.parametrize("change, message", [
    ({"--pipelines": ["nope_pipeline"]}, "unknown pipeline 'nope_pipeline'"),
    # One file named twice was "two pipelines are named ... rename one file".
    ({"--pipelines": "TWICE"}, "pipeline 'stats_lr' is named twice; name each pipeline once"),
    ({"--pipelines": "TWO_FILES"}, "two pipelines are named 'stats_lr' ("),
    ({"--set": "flat_lr.lr=0.1"}, "pipeline 'flat_lr': make_pipeline has no parameter 'lr'; "
                                  "it accepts: C, step"),
    ({"--set": "other.C=1"}, "'other' is not among"),
    ({"--set": "flat_lr.C=-1"}, "pipeline 'flat_lr' with C=-1: The 'C' parameter of "
                                "LogisticRegression must be a float in the range (0.0, inf]"),
    ({"--task": "rhythmic"}, "unknown task 'rhythmic' for dataset 'ptbxl'"),
    ({"--task": "form"}, "pipeline 'stats_lr' is made for dataset 'ptbxl', task"),
    ({"--data": "EMPTY"}, "no ptbxl records for task 'superdiagnostic'"),
    ({"--folds": ["9"]}, "--folds [9] is not"),
    ({"--test-data": "MISSING"}, "error: --test-data /no/such/root does not exist."),
    ({"--data": "MISSING"}, "error: --data /no/such/root does not exist."),
    ({"--folds": ["1"], "--no-cv": []}, "make no sense with cv=False"),
    ({"--test-folds": ["10"]}, "pass test_data too"),
    ({"--test-data": "DATA", "--test-folds": ["11"]}, "has no record in fold(s) [11]"),
])
def test_bad_requests_fail_before_any_work(change, message, pipeline_files, ptbxl_root,
                                           tmp_path, capsys):
    args = {"--pipelines": [str(pipeline_files["stats_lr"]), str(pipeline_files["flat_lr"])],
            "--dataset": "ptbxl", "--task": "superdiagnostic", "--data": str(ptbxl_root)}
    args.update(change)
    if args["--pipelines"] == "TWICE":
        args["--pipelines"] = [str(pipeline_files["stats_lr"])] * 2
    if args["--pipelines"] == "TWO_FILES":
        (tmp_path / "copy").mkdir()
        copy = tmp_path / "copy" / "stats_lr.py"
        copy.write_text(pipeline_files["stats_lr"].read_text())
        args["--pipelines"] = [str(pipeline_files["stats_lr"]), str(copy)]
    if args.get("--test-data") == "DATA":
        args["--test-data"] = str(ptbxl_root)
    for key in ("--data", "--test-data"):  # which of the two roots is missing is said
        if args.get(key) == "MISSING":
            args[key] = "/no/such/root"
    if args["--data"] == "EMPTY":
        args["--data"] = str(tmp_path / "empty")
        (tmp_path / "empty").mkdir()
    argv = []
    for key, value in args.items():
        argv += [key, *value] if isinstance(value, list) else [key, value]  # [] for flags
    store = tmp_path / "store" / "mlflow.db"
    code = main(argv + ["--tracking-uri", f"sqlite:///{store}", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert not store.exists()  # the store is not even created


@pytest.mark.parametrize("command", ["compare", "tune"])
def test_too_few_records_are_refused_by_the_command_line_naming_the_flag(command, capsys):
    # "max_records must be at least 20" came after the records were read, naming the
    # Python parameter; compare's --max-records 0 passed the parser.
    import importlib

    cli = importlib.import_module(f"ecgsk.{command}._cli")
    for value in ("5", "0"):
        with pytest.raises(SystemExit) as info:
            cli.build_parser().parse_args(["--max-records", value])
        assert info.value.code == 2
        assert f"--max-records: expected at least 20 records, got {value}" in (
            capsys.readouterr().err)
    assert cli.build_parser().parse_args(["--max-records", "20"]).max_records == 20
    with pytest.raises(CompareError, match=r"^max_records \(--max-records\) must be at "
                                           r"least 20, got 5"):
        compare(["features_logreg"], "ptbxl", "superdiagnostic", "/no/such/root",
                max_records=5)


def test_an_active_run_of_the_users_is_refused_before_any_work(tracking_uri):
    # MLflow's "Run ... is already active" came once every record was read, and compare had
    # pointed the session at its own store, where the user's open run could not log or end.
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("mine")  # not the experiment an earlier test left active
    with mlflow.start_run() as mine:
        with pytest.raises(CompareError, match=r"an MLflow run is active in this thread; "
                                               r"compare starts its own runs"):
            compare(["features_logreg"], "ptbxl", "superdiagnostic", "/no/such/root",
                    tracking_uri="sqlite:////no/such/store.db")
        assert mlflow.get_tracking_uri() == tracking_uri
        mlflow.log_param("still", "mine")
    assert mlflow.get_run(mine.info.run_id).data.params == {"still": "mine"}


@pytest.mark.parametrize("pipeline, task, setting, message", [
    ("incepse", "superdiagnostic", "depth=0", "depth must be a positive integer, got 0"),
    ("se_ecgnet", "binary", "weight_decay=-1", "Invalid weight_decay value: -1"),
    ("se_ecgnet", "binary", "model_name='nosuchmodel'", "is not a timm model"),
])
def test_a_setting_the_network_or_optimizer_refuses_fails_before_any_work(
        pipeline, task, setting, message, ptbxl_root, tmp_path, capsys):
    # The network and optimizer were first built in the fit: a FAILED comparison run was
    # logged and compare exited with 1.
    store = tmp_path / "store" / "mlflow.db"
    code = main(["--pipelines", pipeline, "--dataset", "ptbxl", "--task", task, "--data",
                 str(ptbxl_root), "--set", f"{pipeline}.{setting}", "--tracking-uri",
                 f"sqlite:///{store}", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    assert f"pipeline {pipeline!r} with {setting.split('=')[0]}=" in err and message in err
    assert not store.exists()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_an_unreadable_record_is_a_bad_request(damage, pipeline_files, ptbxl_root, tmp_path,
                                               capsys):
    """Every record is read before the store or a run exists; the error names the record."""
    root, records = copy_ptbxl(ptbxl_root, tmp_path / "ptb-xl")
    damage_record(records[7], damage)
    store = tmp_path / "store" / "mlflow.db"
    code = main(["--pipelines", str(pipeline_files["stats_lr"]), "--dataset", "ptbxl",
                 "--task", "superdiagnostic", "--data", str(root), "--no-cv", "--n-boot", "20",
                 "--cache-dir", str(tmp_path / "cache"), "--tracking-uri", f"sqlite:///{store}",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"Record '{records[7]}'" in err and DAMAGE[damage] in err
    assert "Traceback" not in err
    assert not store.exists()


_TERM_WHILE_READING = """
import sys, time
from pathlib import Path
import joblib
import ecgsk.compare._compare as compare_module
from ecgsk.compare import main

def sleep_and_say(folder, i):
    import os
    (Path(folder) / f"{os.getpid()}.pid").write_text("")
    time.sleep(120)

def load_signals(*args, **kwargs):  # reading records with two joblib workers, for a while
    joblib.Parallel(n_jobs=2)(joblib.delayed(sleep_and_say)(sys.argv[1], i) for i in range(4))

compare_module.load_signals = load_signals
sys.exit(main(sys.argv[2:]))
"""


def test_sigterm_while_reading_records_stops_the_workers_and_says_so(
        pipeline_files, ptbxl_root, tmp_path):
    """SIGTERM before any run exists ends compare as Ctrl-C does: its joblib workers too."""
    import os
    import signal
    import time

    from ecgsk._process import pid_alive

    root, _ = copy_ptbxl(ptbxl_root, tmp_path / "ptb-xl", per_fold=2)
    pids, store = tmp_path / "pids", tmp_path / "store" / "mlflow.db"
    pids.mkdir()
    # A file, not a pipe: workers that outlive compare would hold a pipe open.
    stderr = (tmp_path / "stderr").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", _TERM_WHILE_READING, str(pids), "--pipelines",
         str(pipeline_files["stats_lr"]), "--dataset", "ptbxl", "--task", "superdiagnostic",
         "--data", str(root), "--no-cv", "--tracking-uri", f"sqlite:///{store}",
         "--no-progress"], stderr=stderr)
    try:
        deadline = time.monotonic() + 120
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(p.stem) for p in pids.iterdir()]
        assert len(workers) == 2, "the joblib workers never started"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        err = (tmp_path / "stderr").read_text()
        assert code == 128 + signal.SIGTERM, err
        assert "terminated (SIGTERM)" in err and "Traceback" not in err
        deadline = time.monotonic() + 30
        while any(pid_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(pid_alive(pid) for pid in workers), "joblib workers outlived compare"
        assert not store.exists()
    finally:  # leave no sleeper behind, whatever failed
        proc.kill()
        stderr.close()
        for pid in (int(p.stem) for p in pids.iterdir()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_records_without_files_are_left_out_and_said(empty_store, pipeline_files, ptbxl_root,
                                                      tmp_path, capsys):
    root, records = copy_ptbxl(ptbxl_root, tmp_path / "ptb-xl")
    Path(f"{records[7]}.hea").unlink()
    uri = new_store(empty_store, tmp_path / "store")
    code = main(["--pipelines", str(pipeline_files["stats_lr"]), "--dataset", "ptbxl",
                 "--task", "superdiagnostic", "--data", str(root), "--no-cv", "--n-boot", "20",
                 "--cache-dir", str(tmp_path / "cache"), "--tracking-uri", uri,
                 "--experiment", "left-out", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err[-2000:]
    missing = records[7].relative_to(root)
    assert (f"note: ptbxl: left out 1 of {len(records)} records (1 without 100 Hz files: "
            f"{missing}.hea) under {root}.") in err
    (comparison,) = _runs(MlflowClient(uri), "left-out", "comparison")
    assert comparison.data.params["compare.data_left_out"] == "1 without 100 Hz files"
    # 6 records per fold; the one left out is of fold 2, so folds 1-8 train on 47.
    assert comparison.data.params["train.n_records"] == "47"


def test_unknown_dataset_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--pipelines", "x", "--dataset", "mitbih", "--task", "af", "--data", "."])
    assert exit_.value.code == 2
    assert "invalid choice: 'mitbih'" in capsys.readouterr().err


@pytest.mark.parametrize("threads", ["0", "-1", "two"])
def test_threads_must_be_a_positive_integer(threads, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--pipelines", "x", "--dataset", "ptbxl", "--task", "binary", "--data", ".",
              "--threads", threads])
    assert exit_.value.code == 2
    assert "argument --threads" in capsys.readouterr().err


def test_n_jobs_is_checked_with_the_options(capsys):
    # --n-jobs 0 was refused by the loader, after the records were listed and split.
    with pytest.raises(SystemExit) as exit_:
        main(["--pipelines", "x", "--dataset", "ptbxl", "--task", "binary", "--data", ".",
              "--n-jobs", "0"])
    assert exit_.value.code == 2
    assert ("argument --n-jobs: expected a non-zero integer (-1 for all cores), got 0"
            in capsys.readouterr().err)


@pytest.mark.parametrize("option, value, message", [
    ("--seed", "-1", "expected a non-negative integer, got -1"),  # numpy's traceback before
    ("--seed", "4294967296", "expected a seed from 0 to 2**32 - 1"),
    ("--experiment", "", "expected a name, got an empty one"),  # a traceback after reading
    ("--cache-dir", "", "expected a folder, got an empty path"),  # the working folder before
    ("--cache-dir", __file__, f"{__file__} is a file, not a folder"),  # a failed fit before
])
def test_seed_experiment_and_cache_are_checked_with_the_options(option, value, message, capsys):
    from ecgsk.tune import main as tune_main

    for command, args in ((main, ["--pipelines", "x"]), (tune_main, ["--pipeline", "x"])):
        with pytest.raises(SystemExit) as exit_:
            command(args + ["--dataset", "ptbxl", "--task", "binary", "--data", ".",
                            option, value])
        assert exit_.value.code == 2
        assert f"argument {option}: {message}" in capsys.readouterr().err


def test_a_data_path_that_is_a_file_is_named(capsys, ptbxl_root):
    assert main(["--pipelines", "features_logreg", "--dataset", "ptbxl", "--task",
                 "superdiagnostic", "--data", str(ptbxl_root / "RECORDS")]) == 2
    assert f"{ptbxl_root / 'RECORDS'} is a file" in capsys.readouterr().err  # not a traceback


def test_missing_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["--pipelines", "x"])
    assert "--dataset, --task, --data" in capsys.readouterr().err


def test_list(tmp_path, monkeypatch, capsys):
    write_module(tmp_path, "listed_lr", FLAT_LR.format(dataset="ptbxl", task="binary"))
    monkeypatch.setenv("ECGSK_PIPELINES", str(tmp_path))
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "listed_lr" in out and "ptbxl/binary @ 50 Hz" in out
    # Several datasets and tasks as words, not Python tuples.
    assert ("ecgcnn_ptb               ptbdb,ptbxl/diagnosis,superdiagnostic,binary,"
            "binary_report @ 500 Hz") \
        in out and "('" not in out


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """``python -m ecgsk.compare --list | head -1``: no BrokenPipeError traceback."""
    # The reader is gone before the command writes (it is still importing ecgsk).
    proc = subprocess.Popen([sys.executable, "-m", "ecgsk.compare", "--list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141  # the status a shell gives a process SIGPIPE ended
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_predictions_of_many_labels_are_one_table(tracking_uri, tmp_path):
    import warnings

    from ecgsk.compare._compare import _log_predictions
    from ecgsk.tracking import setup_tracking

    setup_tracking(tracking_uri, "predictions")
    classes = [f"L{j}" for j in range(71)]  # PTB-XL's "all" task
    rng = np.random.default_rng(0)
    y, proba = rng.integers(0, 2, (5, 71)), rng.random((5, 71))
    with mlflow.start_run() as run, warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)  # no fragmented frame
        _log_predictions([f"/r/{i}_lr" for i in range(5)], y, proba, classes, "p.csv")
    frame = pd.read_csv(MlflowClient(tracking_uri).download_artifacts(
        run.info.run_id, "p.csv", str(tmp_path)))
    assert list(frame.columns) == (["record"] + [f"true_{c}" for c in classes]
                                   + [f"proba_{c}" for c in classes])
    np.testing.assert_array_equal(frame.filter(like="true_").to_numpy(), y)
    np.testing.assert_allclose(frame.filter(like="proba_").to_numpy(), proba, rtol=1e-5)
    assert frame.record.tolist() == [f"{i}_lr" for i in range(5)]


def _rewrite_leads(record, keep):
    """Rewrite the WFDB record ``record`` (path without suffix) with the leads ``keep``."""
    import wfdb

    rec = wfdb.rdrecord(str(record))
    wfdb.wrsamp(record.name, fs=rec.fs, units=[rec.units[i] for i in keep],
                sig_name=[rec.sig_name[i] for i in keep], p_signal=rec.p_signal[:, keep],
                fmt=[rec.fmt[i] for i in keep], adc_gain=[rec.adc_gain[i] for i in keep],
                baseline=[rec.baseline[i] for i in keep], write_dir=str(record.parent))


def test_external_records_are_read_in_the_training_lead_order(ptbxl_root, tmp_path):
    """An external root listing the same leads in another order is read in the training order.

    Read in its own order, each lead would reach the weights learnt for another.
    """
    from ecgsk.compare._compare import CompareError, _Signals

    _, train = copy_ptbxl(ptbxl_root, tmp_path / "train", per_fold=1)
    _, other = copy_ptbxl(ptbxl_root, tmp_path / "other", per_fold=1)
    for record in other:
        _rewrite_leads(record, list(range(12))[::-1])
    signals = _Signals([str(r) for r in train], None, 1)
    expected = signals.get(100, 1000)
    assert signals.lead_names[:2] == ["I", "II"]
    own_order = _Signals([str(r) for r in other], None, 1)
    assert own_order.lead_names is None and own_order.get(100, 1000).shape == expected.shape
    assert own_order.lead_names[:2] == ["V6", "V5"]
    ext = _Signals([str(r) for r in other], None, 1, leads_of=signals)
    np.testing.assert_array_equal(ext.get(100, 1000), expected)
    assert ext.lead_names == signals.lead_names
    _rewrite_leads(other[3], list(range(11)))  # V6 ... II, without I: named, not read as 11
    with pytest.raises(CompareError, match=rf"Record '{re.escape(str(other[3]))}' has no lead "
                                           r"named 'I'"):
        _Signals([str(r) for r in other], None, 1, leads_of=signals).get(100, 1000)


def test_a_binary_score_at_the_threshold_is_predicted_positive_as_the_metrics_count_it():
    # The logged predictions: a mutant with ">" made them differ from those behind the
    # metrics, and no test failed.
    from ecgsk.compare._compare import _predictions

    proba = np.array([[0.6, 0.4], [0.5, 0.5]])
    assert _predictions(proba, "binary", None).tolist() == [0, 1]
    assert _predictions(proba, "binary", 0.4).tolist() == [1, 1]
