"""Exploratory label plots logged by tracking: log_label_plots and log_data_info(plots=True)."""

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from ecgsk.tracking import log_data_info, log_label_plots, setup_tracking, tracked_run

PNG = b"\x89PNG\r\n\x1a\n"


def _png(client, run_id, path, tmp_path):
    """The downloaded artifact: a real, non-empty PNG image; returns its pixels."""
    local = Path(client.download_artifacts(run_id, path, str(tmp_path)))
    data = local.read_bytes()
    assert data[:8] == PNG and len(data) > 1000, path
    image = imread(local)
    assert image.ndim == 3 and min(image.shape[:2]) > 100
    return image


def _artifacts(client, run_id, folder):
    return {a.path for a in client.list_artifacts(run_id, folder)}


def test_multilabel_logs_distribution_and_cooccurrence(tracking_uri, client, rng, tmp_path):
    y = (rng.random((40, 3)) < 0.4).astype(int)
    setup_tracking(tracking_uri, "eda")
    with tracked_run("eda") as run:
        logged = log_label_plots(y, ["NORM", "MI", "STTC"], artifact_dir="data/train/",
                                 title="ptbxl/superdiagnostic: train")
    expected = ["data/train/class_distribution.png", "data/train/label_cooccurrence.png"]
    assert logged == expected
    assert _artifacts(client, run.info.run_id, "data/train") == set(expected)
    for path in expected:
        _png(client, run.info.run_id, path, tmp_path)


def test_single_label_logs_the_distribution_only(tracking_uri, client, tmp_path):
    y = np.array(["N", "A", "O", "N", "~", "N"])  # names, or indices into classes
    setup_tracking(tracking_uri, "eda")
    with tracked_run("eda") as run:
        assert log_label_plots(y, ["N", "A", "O", "~"]) == ["data/class_distribution.png"]
        assert log_label_plots(np.array([0, 1, 1, 3]), ["N", "A", "O", "~"],
                               artifact_dir="idx") == ["idx/class_distribution.png"]
    assert _artifacts(client, run.info.run_id, "data") == {"data/class_distribution.png"}
    _png(client, run.info.run_id, "data/class_distribution.png", tmp_path)


def test_log_data_info_plots_under_the_split(tracking_uri, client, rng, tmp_path):
    X = rng.normal(size=(30, 2, 50)).astype(np.float32)
    y = (rng.random((30, 2)) < 0.5).astype(int)
    setup_tracking(tracking_uri, "eda")
    with tracked_run("eda") as run:
        params = log_data_info("synthetic", "multi", "train: all", X, y, classes=["a", "b"],
                               prefix="train.", plots=True)
        log_data_info("synthetic", "multi", "test: all", X, y, classes=["a", "b"],
                      prefix="test.")  # no plots by default
        log_data_info("synthetic", "single", "all", X, np.arange(30) % 2, classes=["x", "y"],
                      plots=True)  # the default prefix "data." draws under data/
    assert params["train.n_records"] == "30"
    assert _artifacts(client, run.info.run_id, "data/train") == {
        "data/train/class_distribution.png", "data/train/label_cooccurrence.png"}
    assert _artifacts(client, run.info.run_id, "data/test") == set()
    assert "data/class_distribution.png" in _artifacts(client, run.info.run_id, "data")
    _png(client, run.info.run_id, "data/train/label_cooccurrence.png", tmp_path)


def test_errors_and_undrawable_labels(tracking_uri, client):
    with pytest.raises(RuntimeError, match="needs an active run"):
        log_label_plots([0, 1], ["a", "b"])
    setup_tracking(tracking_uri, "eda")
    with tracked_run("eda") as run:
        with pytest.raises(ValueError, match="plots=True draws the labels: pass y and classes"):
            log_data_info("synthetic", "t", "all", np.zeros((2, 1, 5), np.float32), plots=True)
        with pytest.raises(ValueError, match="artifact_dir must name a folder"):
            log_label_plots([0, 1], ["a", "b"], artifact_dir="/")
        # Labels that match no class: warned about, nothing logged, the run goes on.
        with pytest.warns(UserWarning, match="class_distribution.png not drawn"):
            assert log_label_plots(["a", "zz"], ["a", "b"]) == []
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    assert _artifacts(client, run.info.run_id, "data") == set()
