"""Ensembles of ECG classifiers packaged as one scikit-learn estimator.

- :class:`SoftVotingEnsemble`: fit several classifiers (networks, classic
  baselines, whole pipelines) on the same records and average their
  predicted probabilities; works for binary, multiclass and multi-label
  targets, unlike :class:`sklearn.ensemble.VotingClassifier`.
- :func:`seed_ensemble`: the PTB-XL benchmark's ensemble of one recipe
  trained with several random seeds.
"""

from ._voting import SoftVotingEnsemble, seed_ensemble

__all__ = ["SoftVotingEnsemble", "seed_ensemble"]
