"""Plots: figures drawn headless, with the curves and matrices asked for."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from ecgsk.plots import (
    plot_confusion_matrix,
    plot_pr_curves,
    plot_reliability_diagram,
    plot_roc_curves,
    plot_training_history,
)


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_confusion_matrix_single_label_counts():
    fig = plot_confusion_matrix(["N", "A", "N", "~"], ["N", "N", "N", "~"], ["N", "A", "O", "~"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["N", "A", "O", "~"]
    cells = np.array(_texts(ax), dtype=int).reshape(4, 4)
    assert cells[0, 0] == 2 and cells[1, 0] == 1 and cells[3, 3] == 1 and cells.sum() == 4


def test_confusion_matrix_indices_and_normalised():
    fig = plot_confusion_matrix([0, 1, 1, 1], [0, 1, 0, 1], ["normal", "abnormal"],
                                normalize="true", title="test")
    assert fig.get_suptitle() == "test"
    values = np.array(_texts(fig.axes[0]), dtype=float).reshape(2, 2)
    np.testing.assert_allclose(values, [[1, 0], [0.33, 0.67]], atol=0.01)


def test_confusion_matrix_reads_truth_and_predictions_alike():
    # Integer class names: the truth was read as names, a prediction without a 0 as names
    # too, one with a 0 as indices. Read together, names for both here (every value is one).
    classes = [1, 2, 3]
    for y_pred in ([1, 1, 2, 2], [1, 2, 3, 3]):
        fig = plot_confusion_matrix([1, 2, 3, 3], y_pred, classes)
        cells = np.array(_texts(fig.axes[0]), dtype=int).reshape(3, 3)
        expected = np.zeros((3, 3), int)
        for t, p in zip([1, 2, 3, 3], y_pred):
            expected[t - 1, p - 1] += 1
        np.testing.assert_array_equal(cells, expected)
    # Indices for both when the truth holds one that no name is (0).
    fig = plot_confusion_matrix([0, 1, 2, 2], [1, 1, 2, 2], classes)
    cells = np.array(_texts(fig.axes[0]), dtype=int).reshape(3, 3)
    assert cells[0, 1] == 1 and cells[1, 1] == 1 and cells[2, 2] == 2


def test_confusion_matrix_multilabel_grid():
    y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]])
    p = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 0], [0, 0, 1]])
    fig = plot_confusion_matrix(y, p, ["NORM", "MI", "STTC"])
    visible = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in visible] == ["NORM", "MI", "STTC"]
    assert len(fig.axes) == 4  # a 2×2 grid, the last one blank
    tn, fp, fn, tp = np.array(_texts(visible[0]), dtype=int)
    assert (tn, fp, fn, tp) == (2, 0, 1, 1)


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="shape"):
        plot_confusion_matrix([0, 1], [0, 1, 1], ["a", "b"])
    with pytest.raises(ValueError, match="columns"):
        plot_confusion_matrix(np.eye(3, dtype=int), np.eye(3, dtype=int), ["a", "b"])


@pytest.mark.parametrize("plot", [plot_roc_curves, plot_pr_curves, plot_reliability_diagram])
def test_probabilities_that_are_not_finite_are_refused(plot):
    proba = np.linspace(0, 1, 10)
    proba[5] = np.nan  # the reliability diagram drew it, with a "Brier nan" legend
    with pytest.raises(ValueError, match=r"proba holds NaN or infinite values in 1 "
                                         r"record\(s\), the first at record 5"):
        plot(np.array([0, 1] * 5), proba, ["neg", "pos"])


def test_roc_curves_one_per_class_and_skipped_class(rng):
    y = (rng.random((60, 3)) < 0.5).astype(int)
    y[:, 2] = 1  # one label value: no curve
    proba = np.clip(y + rng.normal(scale=0.4, size=y.shape), 0, 1)
    fig = plot_roc_curves(y, proba, ["a", "b", "c"], title="ROC")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert [lab.split(" (")[0] for lab in labels] == ["a", "b", "chance"]
    assert any("c" in t for t in _texts(ax)) and ax.get_title() == "ROC"


def test_binary_curves_single(rng):
    y = rng.integers(0, 2, 50)
    score = np.clip(0.5 * y + rng.random(50) * 0.5, 0, 1)
    for plot in (plot_roc_curves, plot_pr_curves):
        fig = plot(y, score, ["normal", "abnormal"])
        names = [line.get_label() for line in fig.axes[0].get_lines()]
        assert names[0].startswith("abnormal") and len(names) == 2  # curve + chance level


def test_pr_curves_multiclass(rng):
    y = rng.integers(0, 3, 90)
    proba = rng.dirichlet(np.ones(3), 90)
    fig = plot_pr_curves(y, proba, ["x", "y", "z"])
    assert len(fig.axes[0].get_lines()) == 3


def test_curves_undefined():
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_roc_curves(np.ones((4, 2), int), np.full((4, 2), 0.5), ["a", "b"])


def test_training_history_panels():
    rows = [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1.2 / e, "valid_acc": 0.5 + e / 10,
             "dur": 0.1, "valid_loss_best": True, "batches": []} for e in (1, 2, 3)]
    fig = plot_training_history(rows, title="net")
    loss, metric = fig.axes
    assert [line.get_label() for line in loss.get_lines()] == ["train_loss", "valid_loss"]
    assert [line.get_label() for line in metric.get_lines()] == ["valid_acc"]
    np.testing.assert_allclose(loss.get_lines()[0].get_xdata(), [1, 2, 3])
    only = plot_training_history(rows, metrics=["valid_loss"])
    assert len(only.axes) == 1
    # One name as a string was read letter by letter: "metrics ['v', 'a', ...] are not in".
    one = plot_training_history(rows, metrics="valid_acc")
    assert [line.get_label() for line in one.axes[-1].get_lines()] == ["valid_acc"]
    with pytest.raises(ValueError, match="not in the history"):
        plot_training_history(rows, metrics=["f1"])
    with pytest.raises(ValueError, match="no epoch"):
        plot_training_history([])
    with pytest.raises(TypeError, match="History"):
        plot_training_history(3)
