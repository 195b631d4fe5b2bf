"""Ready classic baselines: hand-crafted features or MiniRocket, then a classifier.

- :func:`make_feature_baseline`: :mod:`ecgsk.features` (statistical, rhythm,
  wavelet; beats on request) -> ``StandardScaler`` -> optional imbalanced-learn sampler ->
  ``LogisticRegression``, ``RandomForestClassifier`` or
  ``HistGradientBoostingClassifier``; multi-label targets one-vs-rest.
- :func:`make_randomconv_ridge`: MiniRocket features -> ``StandardScaler``
  -> ``RidgeClassifierCV``, the recipe of Dempster et al. (2021).
- :func:`predict_scores`: continuous scores of any of them for AUROC.

The factories return unfitted :class:`imblearn.pipeline.Pipeline` objects
that take signals ``(n_records, n_leads, n_samples)``; samplers run in
``fit`` only, so cross-validation scores every validation record once, as
recorded.
"""

from ._proba import DecisionProba
from ._factories import (
    ALL_FEATURE_SETS,
    CLASSIFIERS,
    FEATURE_SETS,
    SAMPLERS,
    make_feature_baseline,
    make_randomconv_ridge,
    predict_scores,
)

__all__ = [
    "DecisionProba",
    "make_feature_baseline",
    "make_randomconv_ridge",
    "predict_scores",
    "FEATURE_SETS",
    "ALL_FEATURE_SETS",
    "CLASSIFIERS",
    "SAMPLERS",
]
