"""resnet1d_wang on PTB-XL superdiagnostic: the PTB-XL superclass project and benchmark.

The PTB-XL benchmark's protocol (Strodthoff et al. 2020) at 100 Hz: train on
random 2.5 s crops (250 samples), predict by sliding windows (stride 125)
aggregated by their maximum, BCE with logits on the 5 superclasses. The
superclass project's variants are parameters: ``derivatives=True`` appends
first-derivative channels, ``augment=True`` applies the five augmentations
to every training batch. ``crop_length=None`` trains on full 10 s records.

Departures from the project: its pipeline added derivative channels (its
feature engineering) and trained a standard and an augmented variant of each
network. Both are parameters here, off by default, as in the benchmark's
resnet1d_wang that this pipeline reproduces. On the validation fold 9
(``bench/quality.py --select``, ``BENCHMARKS.md``), derivative channels
lowered the SE-ResNeXt reference network's macro AUROC from 0.931 to 0.920
(p = 0.03), and training it without augmentation to 0.924. The project
framed the five superclasses as multiclass (one class per record); PTB-XL
gives a record every superclass it has, and the benchmark, which ecgsk
follows, scores them as multi-label (macro AUROC).
The optimiser is AdamW with a plateau schedule, not the benchmark's
one-cycle schedule (``BENCHMARKS.md``, "resnet1d_wang (peer)"), and the
gradient norm is clipped at 1.0 (:class:`~ecgsk.neural.ECGNetClassifier`'s
``grad_clip``).
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.nets import ResNet1d
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Augmenter, Derivatives, Standardizer

DATASET = "ptbxl"
TASK = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all", "binary",
        "binary_report")
SAMPLING_RATE = 100
LENGTH = 1000


def benchmark_recipe(module, *, module_params=None, derivatives=False, augment=False,
                     crop_length=250, window_stride=125, max_epochs=30, batch_size=128,
                     lr=1e-3, weight_decay=1e-3, amp=None, patience=7, random_state=0,
                     verbose=0):
    """The benchmark's recipe around any network (shared with ``inception1d``).

    Parameters
    ----------
    module : torch.nn.Module class or instance
        The network, the ``module`` of :class:`~ecgsk.neural.ECGNetClassifier`
        (:class:`~ecgsk.nets.ResNet1d` in :func:`make_pipeline`); a class gets
        the data's lead and output counts as ``in_channels`` and ``n_classes``
        unless ``module_params`` sets them.
    module_params : dict or None, default=None
        Keyword arguments of the network, passed as ``module__<name>`` to
        :class:`~ecgsk.neural.ECGNetClassifier`; ``None``: none.
    derivatives : bool, default=False
        Append first-derivative channels to the input
        (:class:`~ecgsk.preprocessing.Derivatives`).
    augment : bool, default=False
        Apply the five augmentations of :class:`~ecgsk.preprocessing.Augmenter`
        to every training batch.
    crop_length : int or None, default=250
        Train on random crops of this many samples (2.5 s at 100 Hz) and
        predict the maximum over sliding windows of that length; ``None``
        trains and predicts on whole records. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    window_stride : int or None, default=125
        Step in samples between the prediction windows (``None``: half of
        ``crop_length``; unused with ``crop_length=None``).
    max_epochs : int, default=30
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=128
        Training and prediction batch size.
    lr : float, default=1e-3
        Learning rate of the AdamW optimizer (reduced tenfold on a plateau of
        the validation loss, see :class:`~ecgsk.neural.ECGNetClassifier`).
    weight_decay : float, default=1e-3
        Weight decay of the AdamW optimizer (``optimizer__weight_decay`` of
        :class:`~ecgsk.neural.ECGNetClassifier`).
    amp : bool or None, default=None
        Mixed precision (``torch.autocast``) in training and prediction;
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    patience : int or None, default=7
        Early stopping after ``patience`` epochs without improvement of the
        validation loss, restoring the best weights; ``None`` disables it.
    random_state : int, default=0
        Seeds the weight initialisation, the validation split, the shuffling, the random crops
        and the augmentation. See :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``Standardizer -> [Derivatives] -> ECGNetClassifier(module)``,
        steps ``scale``, ``derivatives`` (with ``derivatives=True``) and ``net``.
    """
    steps = [("scale", Standardizer())]
    if derivatives:
        steps.append(("derivatives", Derivatives(order=1, append=True)))
    module_params = {f"module__{k}": v for k, v in (module_params or {}).items()}
    steps.append(("net", ECGNetClassifier(
        module, **module_params, augment=Augmenter() if augment else None,
        crop_length=crop_length, window_stride=window_stride if crop_length else None,
        window_aggregate="max", max_epochs=max_epochs, batch_size=batch_size, lr=lr,
        optimizer__weight_decay=weight_decay, patience=patience,
        amp=torch.cuda.is_available() if amp is None else amp,
        random_state=random_state, verbose=verbose)))
    return Pipeline(steps)


def make_pipeline(*, derivatives=False, augment=False, crop_length=250, window_stride=125,
                  max_epochs=30, batch_size=128, lr=1e-3, weight_decay=1e-3, amp=None,
                  patience=7, random_state=0, verbose=0):
    """resnet1d_wang with the benchmark's crops; ``amp=None`` uses AMP when CUDA is present.

    Parameters
    ----------
    derivatives : bool, default=False
        Append first-derivative channels to the input
        (:class:`~ecgsk.preprocessing.Derivatives`).
    augment : bool, default=False
        Apply the five augmentations of :class:`~ecgsk.preprocessing.Augmenter`
        to every training batch.
    crop_length : int or None, default=250
        Train on random crops of this many samples (2.5 s at 100 Hz) and
        predict the maximum over sliding windows of that length; ``None``
        trains and predicts on whole records. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    window_stride : int or None, default=125
        Step in samples between the prediction windows (``None``: half of
        ``crop_length``; unused with ``crop_length=None``).
    max_epochs : int, default=30
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=128
        Training and prediction batch size.
    lr : float, default=1e-3
        Learning rate of the AdamW optimizer (reduced tenfold on a plateau of
        the validation loss, see :class:`~ecgsk.neural.ECGNetClassifier`).
    weight_decay : float, default=1e-3
        Weight decay of the AdamW optimizer (``optimizer__weight_decay`` of
        :class:`~ecgsk.neural.ECGNetClassifier`).
    amp : bool or None, default=None
        Mixed precision (``torch.autocast``) in training and prediction;
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    patience : int or None, default=7
        Early stopping after ``patience`` epochs without improvement of the
        validation loss, restoring the best weights; ``None`` disables it.
    random_state : int, default=0
        Seeds the weight initialisation, the validation split, the shuffling, the random crops
        and the augmentation. See :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``Standardizer -> [Derivatives] ->
        ECGNetClassifier(ResNet1d)``.
    """
    return benchmark_recipe(
        ResNet1d, derivatives=derivatives, augment=augment, crop_length=crop_length,
        window_stride=window_stride, max_epochs=max_epochs, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, amp=amp, patience=patience, random_state=random_state,
        verbose=verbose)


def search_space(trial):
    """Learning rate, weight decay, derivative channels and augmentation.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).

    Returns
    -------
    params : dict
        Sampled keyword arguments of ``make_pipeline``: ``lr`` (1e-4 to 1e-2)
        and ``weight_decay`` (1e-5 to 1e-2), both on a log scale,
        ``derivatives`` and ``augment`` (True or False).
    """
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-2, log=True),
        "derivatives": trial.suggest_categorical("derivatives", [True, False]),
        "augment": trial.suggest_categorical("augment", [True, False]),
    }
