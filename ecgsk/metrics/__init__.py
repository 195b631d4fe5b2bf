"""Metrics for ECG classification, with bootstrap confidence intervals and
paired tests for comparing two models on the same records.

Point metrics wrap :mod:`sklearn.metrics`; what sklearn lacks here is the
CinC 2017 challenge score, AUROC over multi-label targets whose test fold
misses a class, the bootstrap, DeLong's test and McNemar's test.
"""

from ._bootstrap import bootstrap_ci, paired_bootstrap
from ._scores import (
    challenge_f1,
    macro_auroc,
    per_class_auroc,
    sensitivity_specificity,
    tune_thresholds,
)
from ._tests import delong_test, mcnemar_test

__all__ = [
    "challenge_f1",
    "macro_auroc",
    "per_class_auroc",
    "sensitivity_specificity",
    "tune_thresholds",
    "bootstrap_ci",
    "paired_bootstrap",
    "delong_test",
    "mcnemar_test",
]
