"""python -m ecgsk.tune --explain N: relevance maps of the best trial's refit, in MLflow."""

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from matplotlib.image import imread
from mlflow.models import Model
from mlflow.tracking import MlflowClient

from ecgsk.tune import build_parser, main, tune
from ecgsk.tune._metrics import TuneError

LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def _runs(client, experiment, role):
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], filter_string=f"tags.`ecgsk.role` = '{role}'")


def test_explain_must_be_a_non_negative_count(pipeline_files, tracking_uri, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--pipeline", str(pipeline_files["stats_lr"]), "--dataset", "ptbxl", "--task",
              "superdiagnostic", "--data", str(tmp_path), "--n-trials", "1",
              "--explain", "-1"])
    assert info.value.code == 2
    assert "argument --explain: expected a non-negative integer, got -1" in \
        capsys.readouterr().err
    for bad in (-1, 1.5, True):
        with pytest.raises(TuneError, match=r"explain must be an integer >= 0, got "):
            tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", tmp_path, n_trials=1,
                 tracking_uri=tracking_uri, explain=bad)
    assert "--explain N" in build_parser().format_help()


@pytest.mark.slow
def test_explain_logs_relevance_maps_on_the_final_run(
        pipeline_files, tracking_uri, ptbxl_root, signal_cache, tmp_path, capsys):
    status = main(["--pipeline", str(pipeline_files["stats_lr"]), "--dataset", "ptbxl",
                   "--task", "superdiagnostic", "--data", str(ptbxl_root), "--n-trials", "1",
                   "--folds", "1", "--max-records", "200", "--n-boot", "10",
                   "--tracking-uri", tracking_uri, "--experiment", "explain",
                   "--cache-dir", str(signal_cache), "--no-progress", "--explain", "2"])
    out = capsys.readouterr().out
    assert status == 0, out
    client = MlflowClient(tracking_uri)
    (final,) = _runs(client, "explain", "final")
    (study,) = _runs(client, "explain", "study")
    run_id = final.info.run_id
    assert "ecgsk.explain_error" not in final.data.tags
    files = {a.path for a in client.list_artifacts(run_id, "explain")}
    pngs = sorted(p for p in files if p.endswith("_permutation.png"))  # a classic pipeline
    assert len(pngs) == 2, files
    assert "explain/permutation_importance.csv" in files
    local = Path(client.download_artifacts(run_id, pngs[0], str(tmp_path)))
    assert local.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(local)
    assert image.ndim == 3 and image.shape[0] > 400
    assert f"Explanations of 2 test records logged under explain/ of run {run_id}." in out
    # One fold has no spread: its 0.0 read as folds that agree (as compare logs it).
    for run in [final, study, *_runs(client, "explain", "trial")]:
        assert "cv_macro_auroc_mean" in run.data.metrics
        assert not [key for key in run.data.metrics if key.endswith("_std")], run.info.run_name
    # Only the best-model run explains: not the study, not the trials.
    assert not client.list_artifacts(study.info.run_id, "explain")
    for trial in _runs(client, "explain", "trial"):
        assert not client.list_artifacts(trial.info.run_id, "explain")
    # The same final run holds the training split's label plots and the reliability diagram.
    data = {a.path for a in client.list_artifacts(run_id, "data/train")}
    assert data == {"data/train/class_distribution.png", "data/train/label_cooccurrence.png"}
    assert "test/reliability_diagram.png" in {a.path for a in client.list_artifacts(run_id,
                                                                                    "test")}
    # ... and the clinical 12-lead plots of the first 2 test records (the explained ones).
    records = pd.read_csv(client.download_artifacts(run_id, "test/predictions.csv",
                                                    str(tmp_path))).record[:2]
    examples = sorted(a.path for a in client.list_artifacts(run_id, "data/examples"))
    assert examples == sorted(f"data/examples/{r}.png" for r in records)
    local = Path(client.download_artifacts(run_id, examples[0], str(tmp_path)))
    assert local.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The registered model says how its signals were read (python -m ecgsk.predict).
    mlflow.set_tracking_uri(tracking_uri)
    meta = Model.load(mlflow.artifacts.download_artifacts("models:/"
                                                          f"{study.data.tags['ecgsk.study']}/1"))
    assert meta.metadata["ecgsk_sampling_rate"] == 100
    assert meta.metadata["ecgsk_lead_names"] == LEADS
    assert meta.metadata["ecgsk_task_type"] == "multilabel"


@pytest.mark.slow
def test_explain_off_by_default_and_gradcam_for_networks(
        pipeline_files, tracking_uri, ptbxl_root, signal_cache):
    common = dict(n_trials=1, folds=[1], max_records=200, n_boot=10, tracking_uri=tracking_uri,
                  cache_dir=signal_cache, progress=False, set_params={"max_epochs": 1},
                  pruner="none")
    off = tune(pipeline_files["tiny_net"], "ptbxl", "superdiagnostic", ptbxl_root,
               experiment="off", study_name="off", **common)
    client = MlflowClient(tracking_uri)
    assert off.explanations == []
    assert not client.list_artifacts(off.final_run_id, "explain")
    on = tune(pipeline_files["tiny_net"], "ptbxl", "superdiagnostic", ptbxl_root,
              experiment="on", study_name="on", explain=1, **common)
    assert [p for p in on.explanations if p.endswith(".png")] == [
        p for p in on.explanations if p.endswith("_gradcam.png")] != []
    files = {a.path for a in client.list_artifacts(on.final_run_id, "explain")}
    assert set(on.explanations) == files
