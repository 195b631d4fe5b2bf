"""Ensembles of ECG classifiers packaged as one scikit-learn estimator.

- :class:`SoftVotingEnsemble`: fit several classifiers (networks, classic
  baselines, whole pipelines) on the same records and average their
  predicted probabilities; works for binary, multiclass and multi-label
  targets, unlike :class:`sklearn.ensemble.VotingClassifier`.
- :func:`seed_ensemble`: the PTB-XL benchmark's ensemble of one recipe
  trained with several random seeds.
- :func:`late_fusion`: networks averaged, then fused with a model on
  engineered features (``ecgsk_ptbxl`` and ``ecgsk_cinc`` pipelines).
- :func:`check_members`: those pipelines' ``members`` and ``n_seeds``,
  checked.
"""

from ._members import check_members
from ._voting import SoftVotingEnsemble, late_fusion, seed_ensemble

__all__ = ["SoftVotingEnsemble", "seed_ensemble", "late_fusion", "check_members"]
