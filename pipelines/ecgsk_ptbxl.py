"""ecgsk's best PTB-XL pipeline: SE networks on the benchmark protocol, fused with features.

The result of issue 8's measurements (``bench/quality.py``; the numbers and
the ablation are in ``BENCHMARKS.md``). A :class:`~ecgsk.ensemble.SoftVotingEnsemble`
averages the probabilities of

- ``seresnet``: :class:`ecgsk.nets.SEResNeXt1d` (``preset="small"``) trained
  by the PTB-XL benchmark's protocol (Strodthoff et al. 2020) at 100 Hz:
  random 2.5 s crops, sliding windows (stride 1.25 s) aggregated by their
  maximum, the five augmentations on every training batch, BCE with
  logits, AdamW, early stopping on the validation records (PTB-XL's fold
  9 under ``compare`` and ``bench/quality.py``); one member per seed;
- ``features``: engineered ECG features (statistical, rhythm, wavelet) and
  histogram gradient boosting (the ``features_hgb`` pipeline): late fusion.

Every lever of the recipe is a parameter, so the ablation re-runs it with
one lever changed. Works for every PTB-XL task (multi-label and binary).
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.ensemble import late_fusion
from ecgsk.nets import SEResNeXt1d
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Augmenter, Derivatives, Standardizer

DATASET = "ptbxl"
TASK = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all", "binary")
SAMPLING_RATE = 100
LENGTH = 1000

MEMBERS = ("seresnet", "features")


def network(*, se=True, cardinality=None, base_width=None, crop_length=250, window_stride=125,
            derivatives=False, augment=True, criterion="auto", max_epochs=40, batch_size=64,
            lr=3e-3, weight_decay=1e-2, patience=8, amp=None, random_state=0, verbose=0):
    """The SE network member alone: standardizer -> [derivatives] -> SEResNeXt1d (small)."""
    steps = [("scale", Standardizer())]
    if derivatives:
        steps.append(("derivatives", Derivatives(order=1, append=True)))
    steps.append(("net", ECGNetClassifier(
        SEResNeXt1d, module__preset="small", module__se=se, module__cardinality=cardinality,
        module__base_width=base_width, criterion=criterion,
        augment=Augmenter() if augment else None, crop_length=crop_length,
        window_stride=window_stride if crop_length else None, window_aggregate="max",
        max_epochs=max_epochs, batch_size=batch_size, lr=lr,
        optimizer__weight_decay=weight_decay, patience=patience, lr_patience=3,
        amp=torch.cuda.is_available() if amp is None else amp, random_state=random_state,
        verbose=verbose)))
    return Pipeline(steps)


def make_pipeline(*, members=MEMBERS, n_seeds=3, se=True, cardinality=None, base_width=None,
                  crop_length=250, window_stride=125,
                  derivatives=False, augment=True, criterion="auto", max_epochs=40,
                  batch_size=64, lr=3e-3, weight_decay=1e-2, patience=8, feature_weight=1.0,
                  amp=None, random_state=0, verbose=0):
    """The ensemble; ``members`` picks ``"seresnet"`` and/or ``"features"``.

    ``cardinality`` and ``base_width`` override the small preset's 8 and 4
    (``se=False, cardinality=11, base_width=5`` matches the SE network's
    parameter count within 2 %: the ablation's fair no-SE network).

    ``n_seeds`` networks (seeds ``random_state``, ``random_state + 1``, ...)
    each weigh 1 / n_seeds of the network share; the features member weighs
    ``feature_weight`` times the network share.
    """
    unknown = sorted(set(members) - set(MEMBERS))
    if unknown or not members:
        raise ValueError(f"members must be a non-empty subset of {MEMBERS}, got {members!r}.")
    if int(n_seeds) < 1:
        raise ValueError(f"n_seeds must be at least 1, got {n_seeds!r}.")
    nets = [network(se=se, cardinality=cardinality, base_width=base_width,
                    crop_length=crop_length, window_stride=window_stride,
                    derivatives=derivatives, augment=augment, criterion=criterion,
                    max_epochs=max_epochs, batch_size=batch_size, lr=lr,
                    weight_decay=weight_decay, patience=patience, amp=amp,
                    random_state=random_state + k, verbose=verbose)
            for k in range(int(n_seeds))] if "seresnet" in members else []
    features = None
    if "features" in members:
        from ecgsk.baselines import make_feature_baseline
        from sklearn.ensemble import HistGradientBoostingClassifier

        features = make_feature_baseline(
            HistGradientBoostingClassifier(random_state=random_state),
            sampling_rate=SAMPLING_RATE, multilabel=True, random_state=random_state)
    return late_fusion(nets, features, feature_weight=feature_weight, prefix="seresnet")


def search_space(trial):
    """Learning rate, weight decay, and the weight of the features member."""
    return {
        "lr": trial.suggest_float("lr", 3e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-4, 1e-1, log=True),
        "feature_weight": trial.suggest_float("feature_weight", 0.25, 2.0, log=True),
    }
