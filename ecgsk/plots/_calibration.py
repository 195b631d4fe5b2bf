"""Reliability (calibration) diagrams of predicted probabilities."""

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve

from ._targets import check_targets

__all__ = ["plot_reliability_diagram"]


def plot_reliability_diagram(y_true, proba, classes, *, n_bins=10, strategy="uniform",
                             title=None):
    """Reliability diagram: observed frequency against mean predicted probability, per class.

    Each class is scored one-vs-rest: its probability column against "the
    record has this class" (its indicator column for multi-label targets).
    The curve of each class comes from
    :func:`sklearn.calibration.calibration_curve`; a calibrated model lies
    on the diagonal. Below, a histogram shows how many predictions fall in
    each probability bin (a curve over few predictions is noisy). The
    legend gives each class's Brier score.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Class names or indices, or a 0/1 indicator matrix.
    proba : array-like of shape (n, n_classes)
        Probabilities whose columns follow ``classes``.
    classes : array-like of shape (n_classes,)
        Class names, in the order of the columns of ``proba``.
    n_bins : int, default=10
        Number of probability bins (at least 2) of the curves and of the
        histogram.
    strategy : {"uniform", "quantile"}, default="uniform"
        Bins of the curves: of equal width, or of equal counts (as
        ``calibration_curve``). The histogram's ``n_bins`` bins are always of
        equal width, to show where the predictions lie (bins of equal counts
        would all be as high).
    title : str or None
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]``: the diagonal (label ``"perfectly calibrated"``) and
        one line per class (label ``"<class> (Brier 0.123)"``) with data
        ``(mean predicted, fraction of positives)``; ``fig.axes[1]``: the
        histogram of predicted probabilities. Classes without both positive
        and negative records are left out (named in the title of axes 0).

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.plots import plot_reliability_diagram
    >>> y = np.array([0, 1, 1, 0]); p = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.9, 0.1]])
    >>> fig = plot_reliability_diagram(y, p, ["normal", "abnormal"], n_bins=2)
    >>> fig.axes[0].get_xlabel()
    'Mean predicted probability'
    """
    y, proba, classes, multilabel = check_targets(y_true, proba, classes)
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}.")
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}.")
    if np.any((proba < 0) | (proba > 1)):
        raise ValueError("proba must hold probabilities in [0, 1].")
    indicator = y if multilabel else (y[:, None] == np.arange(len(classes))).astype(int)
    fig = Figure(figsize=(6.5, 7), layout="constrained")
    ax, hist = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    skipped = []
    # Single-label binary tasks: class 1's curve says it all (class 0's mirrors it).
    shown = [1] if (not multilabel and len(classes) == 2) else range(len(classes))
    for j in shown:
        target = indicator[:, j]
        if target.min() == target.max():
            skipped.append(str(classes[j]))
            continue
        frac, mean = calibration_curve(target, proba[:, j], n_bins=n_bins, strategy=strategy)
        brier = float(np.mean((proba[:, j] - target) ** 2))
        ax.plot(mean, frac, marker="o", markersize=3, label=f"{classes[j]} (Brier {brier:.3f})")
        hist.hist(proba[:, j], bins=np.linspace(0, 1, n_bins + 1), histtype="step")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Mean predicted probability")
    ax.xaxis.set_tick_params(labelbottom=True)
    ax.set_ylabel("Fraction of positives")
    ax.legend(fontsize=8, loc="upper left")
    note = f" — left out (one outcome only): {', '.join(skipped)}" if skipped else ""
    ax.set_title(f"Reliability diagram, {n_bins} {strategy} bins{note}", fontsize=9)
    hist.set_xlabel("Predicted probability")
    hist.set_ylabel("Predictions")
    if title:
        fig.suptitle(title)
    return fig
