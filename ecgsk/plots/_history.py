"""Training curves of a skorch network."""

import numbers

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_training_history", "history_rows", "numeric_history_keys"]

# Bookkeeping columns of skorch's History that are not curves.
_NOT_CURVES = {"epoch", "batches", "dur"}


def history_rows(history):
    """The per-epoch rows (dicts) of a skorch ``History``, a net, or a list of dicts."""
    history = getattr(history, "history", history)
    if history is None:
        raise ValueError("history is None: the network has not been fitted.")
    try:
        rows = [dict(row) for row in history]
    except (TypeError, ValueError):
        raise TypeError("history must be a skorch History, a net with .history, or a list "
                        f"of per-epoch dicts; got {type(history).__name__}.") from None
    return rows


def numeric_history_keys(rows):
    """Keys holding a real number (not a bool) in at least one epoch, in first-seen order."""
    keys = []
    for row in rows:
        for key, value in row.items():
            if key in _NOT_CURVES or key in keys:
                continue
            if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
                keys.append(key)
    return keys


def plot_training_history(history, *, metrics=None, title=None):
    """Draw per-epoch losses and other metrics of a skorch network.

    Parameters
    ----------
    history : skorch History, fitted skorch net, or list of dict
        One dict per epoch, as skorch records them (``epoch``,
        ``train_loss``, ``valid_loss``, ``valid_acc``...).
    metrics : str, list of str or None, default=None
        Keys to draw; all numeric keys but ``epoch``, ``dur`` and the flags
        (``valid_loss_best``...) when None. Keys ending in ``loss`` share the
        left panel; the others go to a right panel.
    title : str or None
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the history has no epoch or none of ``metrics``.

    Examples
    --------
    >>> from ecgsk.plots import plot_training_history
    >>> rows = [{"epoch": 1, "train_loss": 0.9, "valid_loss": 1.0},
    ...         {"epoch": 2, "train_loss": 0.5, "valid_loss": 0.7}]
    >>> fig = plot_training_history(rows)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['train_loss', 'valid_loss']
    """
    rows = history_rows(history)
    if not rows:
        raise ValueError("the history has no epoch to plot.")
    if isinstance(metrics, str):  # list("valid_acc") would name its letters
        metrics = [metrics]
    keys = numeric_history_keys(rows) if metrics is None else list(metrics)
    missing = [k for k in keys if not any(k in row for row in rows)]
    if missing:
        raise ValueError(f"metrics {missing} are not in the history; it has "
                         f"{numeric_history_keys(rows)}.")
    if not keys:
        raise ValueError("the history has no numeric metric to plot.")
    losses = [k for k in keys if k.endswith("loss")]
    others = [k for k in keys if k not in losses]
    panels = [p for p in (losses, others) if p]
    fig = Figure(figsize=(5.5 * len(panels), 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)).ravel()
    epochs = np.array([row.get("epoch", i + 1) for i, row in enumerate(rows)])
    for ax, panel in zip(axes, panels):
        for key in panel:
            values = np.array([row.get(key, np.nan) for row in rows], dtype=float)
            ax.plot(epochs, values, marker="o", markersize=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if panel is losses else "metric")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig
