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

Signals and data:

- :func:`plot_ecg`: one record as a clinical print-out (3 × 4 grid and a
  rhythm strip of lead II on pink millimetre paper, 25 mm/s, 10 mm/mV);
- :func:`plot_relevance`: one panel per lead with a relevance map behind the
  signal (see :mod:`ecgsk.explain`);
- :func:`plot_class_distribution`, :func:`plot_label_cooccurrence`: how
  often classes occur, and together (multi-label);
- :func:`plot_reliability_diagram`: calibration of predicted probabilities.
"""

from ._calibration import plot_reliability_diagram
from ._classification import plot_confusion_matrix, plot_pr_curves, plot_roc_curves
from ._ecg import CLINICAL_LAYOUT, STANDARD_LEADS, plot_ecg, plot_relevance
from ._eda import (
    cooccurrence_matrix,
    label_counts,
    plot_class_distribution,
    plot_label_cooccurrence,
)
from ._history import plot_training_history

__all__ = [
    "plot_confusion_matrix",
    "plot_roc_curves",
    "plot_pr_curves",
    "plot_training_history",
    "plot_ecg",
    "plot_relevance",
    "STANDARD_LEADS",
    "CLINICAL_LAYOUT",
    "plot_class_distribution",
    "plot_label_cooccurrence",
    "label_counts",
    "cooccurrence_matrix",
    "plot_reliability_diagram",
]
