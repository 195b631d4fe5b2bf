"""ecgsk: electrocardiogram classification the scikit-learn way.

Subpackages
-----------
datasets
    Readers for PTB-XL, PhysioNet/CinC 2017 and PTB Diagnostic, synthetic
    ECGs, and downloads (``python -m ecgsk.datasets download``).
preprocessing
    sklearn transformers from WFDB records to conditioned signal arrays.
nets
    Squeeze-and-Excitation networks and baselines as torch modules.
neural
    :class:`ECGNetClassifier`, the skorch estimator that trains them.
features
    Engineered ECG features for classic baselines.
baselines
    Ready classic-ML baseline pipelines.
metrics
    Challenge F1, macro AUROC, bootstrap CIs, DeLong and McNemar tests.
tracking
    MLflow logging of runs, evaluations and models.
ensemble
    Soft-voting ensembles of fitted classifiers (seeds, late fusion).
compare, tune, predict, ui, cache
    The command-line tools (``python -m ecgsk.compare`` ...); ``cache`` shows
    and prunes the folder of decoded records and checkpoints.
explain, plots
    Saliency, Grad-CAM and permutation importance; matplotlib figures.

Heavy subpackages (torch, timm) are imported on first use, so ``import ecgsk``
stays fast.
"""

import importlib as _importlib

__version__ = "0.1.0"

_SUBMODULES = ("datasets", "preprocessing", "nets", "neural", "features", "baselines",
               "ensemble", "metrics", "tracking", "compare", "tune", "predict", "explain",
               "plots", "ui", "cache")

__all__ = ["ECGNetClassifier", "FocalLoss", "__version__", *_SUBMODULES]


def __getattr__(name):
    if name in ("ECGNetClassifier", "FocalLoss"):
        return getattr(_importlib.import_module(".neural", __name__), name)
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ecgsk' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
