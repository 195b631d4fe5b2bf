"""ECG print-out, relevance panels, label EDA and reliability diagrams: figures hold the data."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve

from ecgsk.plots import (
    CLINICAL_LAYOUT,
    STANDARD_LEADS,
    cooccurrence_matrix,
    label_counts,
    plot_class_distribution,
    plot_ecg,
    plot_label_cooccurrence,
    plot_relevance,
    plot_reliability_diagram,
)


def _record(n_leads=12, n=1000, seed=0):
    return np.random.default_rng(seed).normal(scale=0.3, size=(n_leads, n))


def _lead_lines(ax):
    return [line for line in ax.lines if line.get_gid() == "lead"]


def test_ecg_clinical_grid_holds_each_lead_quarter_and_the_rhythm_strip():
    x = _record()
    fig = plot_ecg(x, 100, title="rec 1")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    lines = _lead_lines(ax)
    assert [line.get_label() for line in lines] == [
        lead for row in CLINICAL_LAYOUT for lead in row] + ["II"]
    for k, line in enumerate(lines[:12]):
        row, col = divmod(k, 4)
        lead = STANDARD_LEADS.index(line.get_label())
        segment = slice(col * 250, (col + 1) * 250)
        np.testing.assert_allclose(line.get_xdata(), np.arange(1000)[segment] / 100)
        np.testing.assert_allclose(line.get_ydata(), x[lead, segment] - 3.0 * row)
    rhythm = lines[12]
    np.testing.assert_allclose(rhythm.get_ydata(), x[1] - 9.0)  # full 10 s of lead II
    assert ax.get_xlabel().startswith("Time (s)") and ax.get_ylabel().startswith("mV")
    assert fig.get_suptitle() == "rec 1"
    assert sum(line.get_gid() == "calibration" for line in ax.lines) == 4


def test_ecg_paper_scale_is_25_mm_per_s_and_10_mm_per_mv():
    fig = plot_ecg(_record(), 100)
    ax = fig.axes[0]
    box = ax.get_position()
    width_mm = box.width * fig.get_figwidth() * 25.4
    height_mm = box.height * fig.get_figheight() * 25.4
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert width_mm / (x1 - x0) == pytest.approx(25.0)
    assert height_mm / (y1 - y0) == pytest.approx(10.0)
    # Millimetre grid: a line every 0.04 s / 0.1 mV (minor), every 0.2 s / 0.5 mV (major);
    # matplotlib leaves out the minor lines under major ones.
    for axis, (low, high), minor_mm, major_mm in ((ax.xaxis, (x0, x1), 0.04, 0.2),
                                                  (ax.yaxis, (y0, y1), 0.1, 0.5)):
        major = axis.get_majorticklocs().round(6)
        major = major[(major >= low) & (major <= high)]
        lines = np.union1d(axis.get_minorticklocs().round(6), major)
        assert np.diff(lines) == pytest.approx(minor_mm)
        assert np.diff(major) == pytest.approx(major_mm)


def test_ecg_matches_leads_by_name_in_any_order_and_case():
    x = _record()
    order = [5, 3, 0, 11, 1, 2, 4, 6, 7, 8, 9, 10]
    names = [STANDARD_LEADS[i].upper() for i in order]
    fig = plot_ecg(x[order], 100, names)
    lines = _lead_lines(fig.axes[0])
    assert lines[0].get_label() == "I"
    np.testing.assert_allclose(lines[0].get_ydata(), x[0, :250])
    assert lines[1].get_label() == "AVR"  # the record's spelling is kept


def test_ecg_other_lead_sets_get_one_strip_each():
    x = _record(2, 3000)
    fig = plot_ecg(x, 300, ["ECG1", "ECG2"])
    lines = _lead_lines(fig.axes[0])
    assert [line.get_label() for line in lines] == ["ECG1", "ECG2"]
    np.testing.assert_allclose(lines[1].get_ydata(), x[1] - 3.0)
    assert fig.axes[0].get_xlim()[1] == pytest.approx(10.0)


def test_a_one_minute_record_draws_every_millimetre_without_a_warning(caplog):
    # 1 mm every 0.04 s is 1,500 lines on 60 s: matplotlib's tick limit logged a warning
    # ("Locator attempting to generate 1527 ticks") on each draw.
    import io
    import logging

    fig = plot_ecg(_record(1, 300 * 60), 300, ["ECG"])
    with caplog.at_level(logging.WARNING, logger="matplotlib"):
        fig.savefig(io.BytesIO(), format="png")
    assert not [r for r in caplog.records if "Locator" in r.getMessage()]
    axis = fig.axes[0].xaxis  # the minor lines leave out the major ones, every fifth
    assert len(axis.get_minorticklocs()) + len(axis.get_majorticklocs()) > 1500


def test_ecg_errors_name_the_problem():
    with pytest.raises(ValueError, match="one record of shape"):
        plot_ecg(np.zeros((2, 12, 100)), 100)
    with pytest.raises(ValueError, match="lead_names names 3 leads but signal has 2"):
        plot_ecg(np.zeros((2, 100)), 100, ["a", "b", "c"])
    with pytest.raises(ValueError, match="rhythm_lead='V7'"):
        plot_ecg(np.zeros((12, 100)), 100, rhythm_lead="V7")
    with pytest.raises(ValueError, match="sampling_rate"):
        plot_ecg(np.zeros((12, 100)), 0)
    # "100" raised TypeError at '>'; inf drew every sample at 0 s; row_height was unchecked.
    for rate in ("100", float("inf"), float("nan")):
        with pytest.raises(ValueError, match=rf"sampling_rate must be a positive number of "
                                             rf"Hz, got {rate!r}"):
            plot_ecg(np.zeros((12, 100)), rate)
    for height in (0, -3, float("nan"), "3", True):
        with pytest.raises(ValueError, match=rf"row_height must be a positive number of mV, "
                                             rf"got {height!r}"):
            plot_ecg(np.zeros((12, 100)), 100, row_height=height)
    # rhythm_lead=1 raised "'int' object has no attribute 'lower'".
    with pytest.raises(ValueError, match="rhythm_lead=1 is not a lead of the record"):
        plot_ecg(np.zeros((12, 100)), 100, rhythm_lead=1)
    # (samples, leads), as wfdb.rdsamp gives it: 1,000 leads of 12 samples ran out of memory.
    for plot in (lambda s: plot_ecg(s, 100), lambda s: plot_relevance(s, np.abs(s), 100)):
        with pytest.raises(ValueError, match=r"signal has shape \(1000, 12\): more leads than "
                                             r"samples. Is it \(samples, leads\)"):
            plot(np.zeros((1000, 12)))


def test_relevance_panels_hold_signal_and_relevance():
    x = _record(3, 500)
    rel = np.zeros_like(x)
    rel[2, 100:150] = 2.0
    rel[0, 0] = -1.0  # negative values are drawn as 0
    fig = plot_relevance(x, rel, 100, ["I", "II", "III"], title="why")
    panels, colorbar = fig.axes[:3], fig.axes[3]
    assert [ax.get_ylabel() for ax in panels] == ["I", "II", "III"]
    for ax, lead, r in zip(panels, x, np.clip(rel, 0, None)):
        np.testing.assert_allclose(ax.lines[0].get_ydata(), lead)
        np.testing.assert_allclose(ax.images[0].get_array()[0], r)
        assert ax.images[0].get_clim() == (0, 2.0)
    assert colorbar.get_ylabel() == "relevance"
    assert panels[-1].get_xlabel() == "Time (s)"
    with pytest.raises(ValueError, match="relevance has shape"):
        plot_relevance(x, rel[:2], 100)


def test_a_relevance_peak_of_one_sample_shows_in_a_long_record():
    """5000 samples on a band of about 950 pixels: one column per sample drew only some."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    x = _record(2, 5000)
    rel = np.zeros_like(x)
    rel[0, 1000] = 1.0
    rel[1, 3001] = 1.0  # the peak that did not show
    fig = plot_relevance(x, rel, 500)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    darkest = np.array(fig.axes[0].images[0].get_cmap()(1.0)[:3]) * 255
    for ax, seconds in zip(fig.axes[:2], (2.0, 6.002)):
        box = ax.get_window_extent()
        rows = slice(int(pixels.shape[0] - box.y1) + 2, int(pixels.shape[0] - box.y0) - 2)
        columns = slice(int(box.x0) + 2, int(box.x1) - 2)
        peak = np.abs(pixels[rows, columns] - darkest).sum(axis=2) < 30
        where = np.flatnonzero(peak.any(axis=0)) + columns.start
        assert where.size, "the relevance peak is not drawn"
        drawn = ax.transData.inverted().transform((where.mean(), 0))[0]
        assert abs(drawn - seconds) < 0.05
    np.testing.assert_allclose(fig.axes[1].images[0].get_array().max(), 1.0)


def test_integer_class_labels_are_read_as_labels_not_indices():
    from ecgsk.plots import plot_confusion_matrix

    fig = plot_confusion_matrix([1, 2, 2, 1], [1, 2, 1, 1], [1, 2, 3])
    assert fig.axes[0].images[0].get_array().tolist() == [[2, 0, 0], [1, 1, 0], [0, 0, 0]]
    fig = plot_class_distribution([1, 1, 1, 2], [1, 2, 3], sort=False)
    assert [p.get_height() for p in fig.axes[0].patches] == [3, 1, 0]
    assert label_counts([1, 1, 1, 2], [1, 2, 3]).tolist() == [3, 1, 0]


def test_class_distribution_counts():
    fig = plot_class_distribution(["N", "A", "N", "~", "N"], ["N", "A", "O", "~"])
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [3, 1, 0, 1]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["N", "A", "O", "~"]
    Y = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]])
    fig = plot_class_distribution(Y, ["NORM", "MI", "STTC"], sort=True)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["NORM", "MI", "STTC"]
    assert [p.get_height() for p in fig.axes[0].patches] == [3, 2, 2]
    # records with 0, 1, 2, 3 labels
    assert [p.get_height() for p in fig.axes[1].patches] == [1, 0, 2, 1]
    np.testing.assert_array_equal(label_counts(Y, ["a", "b", "c"]), [3, 2, 2])


def test_label_cooccurrence_matches_a_hand_count():
    Y = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1], [0, 1, 1]])
    # NORM&MI: records 1, 3; NORM&STTC: 0, 3; MI&STTC: 3, 4
    expected = np.array([[3, 2, 2], [2, 3, 2], [2, 2, 3]])
    np.testing.assert_array_equal(cooccurrence_matrix(Y, ["NORM", "MI", "STTC"]), expected)
    fig = plot_label_cooccurrence(Y, ["NORM", "MI", "STTC"])
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    assert [t.get_text() for t in ax.texts] == [str(v) for v in expected.ravel()]
    norm = plot_label_cooccurrence(Y, ["NORM", "MI", "STTC"], normalize=True)
    np.testing.assert_allclose(norm.axes[0].images[0].get_array(), expected / 3)
    with pytest.raises(ValueError, match="0/1 indicator matrix"):
        plot_label_cooccurrence([0, 1, 1], ["a", "b"])


def test_reliability_diagram_lines_are_sklearns_curves():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    proba = rng.dirichlet(np.ones(3), 300)
    fig = plot_reliability_diagram(y, proba, ["N", "A", "O"], n_bins=5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Mean predicted probability"
    assert ax.get_ylabel() == "Fraction of positives"
    curves = [line for line in ax.lines if line.get_label() != "perfectly calibrated"]
    assert [line.get_label().split(" ")[0] for line in curves] == ["N", "A", "O"]
    for j, line in enumerate(curves):
        frac, mean = calibration_curve(y == j, proba[:, j], n_bins=5)
        np.testing.assert_allclose(line.get_xdata(), mean)
        np.testing.assert_allclose(line.get_ydata(), frac)
        brier = np.mean((proba[:, j] - (y == j)) ** 2)
        assert line.get_label() == f"{['N', 'A', 'O'][j]} (Brier {brier:.3f})"
    assert fig.axes[1].get_ylabel() == "Predictions"


def test_reliability_diagram_multilabel_and_binary():
    Y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    P = np.array([[0.9, 0.1], [0.2, 0.3], [0.7, 0.2], [0.1, 0.4]])
    fig = plot_reliability_diagram(Y, P, ["NORM", "MI"], n_bins=2)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels[1].startswith("NORM") and not any(la.startswith("MI") for la in labels)
    assert "left out (one outcome only): MI" in fig.axes[0].get_title()
    two = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.9, 0.1]])
    binary = plot_reliability_diagram([0, 1, 1, 0], two, ["normal", "abnormal"], n_bins=2)
    assert [line.get_label().split(" ")[0] for line in binary.axes[0].lines][1:] == ["abnormal"]
    with pytest.raises(ValueError, match="n_bins must be an integer >= 2"):
        plot_reliability_diagram(Y, P, ["NORM", "MI"], n_bins=1)
