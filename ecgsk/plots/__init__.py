"""Diagnostic plots of ECG classifiers, drawn headless.

Every function builds a :class:`matplotlib.figure.Figure` directly (no
``pyplot``, so no GUI backend and no global figure registry to leak) and
returns it; save it with ``fig.savefig`` or log it with
:func:`mlflow.log_figure`. The curves and matrices are sklearn's displays
(:class:`~sklearn.metrics.RocCurveDisplay`,
:class:`~sklearn.metrics.PrecisionRecallDisplay`,
:class:`~sklearn.metrics.ConfusionMatrixDisplay`) drawn onto the figure's
axes.

Targets are either single-label (1-D ``y_true`` of class indices or class
names) or multi-label (a 0/1 indicator matrix whose columns are ``classes``);
scores are probability matrices of shape ``(n_records, n_classes)`` whose
columns follow ``classes``.
"""

from ._classification import plot_confusion_matrix, plot_pr_curves, plot_roc_curves
from ._history import plot_training_history

__all__ = [
    "plot_confusion_matrix",
    "plot_roc_curves",
    "plot_pr_curves",
    "plot_training_history",
]
