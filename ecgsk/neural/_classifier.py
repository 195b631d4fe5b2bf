"""The skorch estimator :class:`ECGNetClassifier`.

A :class:`skorch.NeuralNet` that classifies ECG signals of shape
``(n_records, n_leads, n_samples)`` with any torch module returning logits,
for binary, multiclass and multi-label targets, with the training recipe
of SE-ECGNet and the PTB-XL benchmark as defaults: AdamW, plateau learning
rate decay and early stopping on the validation loss, gradient clipping,
optional focal loss, class-balanced sampling, augmentation, random crops
with sliding-window prediction, and mixed precision.
"""

import contextlib
import copy
import inspect
import math
import numbers
import os
import re
import sys
import warnings

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from skorch import NeuralNet
from skorch.callbacks import (
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    GradientNormClipping,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from skorch.callbacks.scoring import ScoringBase
from skorch.dataset import ValidSplit, unpack_data
from skorch.utils import TeeGenerator, to_numpy, to_tensor
from torch import nn

from .._validation import (
    check_bool,
    check_label_types,
    check_positive_real,
    check_seed,
    check_signal_input,
    holds_bool,
    label_array,
)
from ._callbacks import (
    DecodedTargets,
    FiniteLoss,
    LabelledTestData,
    TrainingDiverged,
    valid_accuracy,
    valid_macro_auroc,
)
from ._checkpoint import (
    EpochCheckpoint,
    default_checkpoint_dir,
    fit_fingerprint,
    read_checkpoint,
    remove_checkpoint,
)
from ._interrupt import sigint_propagates
from ._losses import FocalLoss, balanced_loss_weights
from ._sampling import dataset_labels, make_balanced_sampler
from ._windows import aggregate_window_logits, random_crop, sliding_windows

__all__ = ["ECGNetClassifier", "SignalDataset"]

_CRITERIA = ("auto", "focal", "ce", "bce")
_MULTILABEL = "multilabel-indicator"


#: Parameter prefixes of the data loaders and dataset: setting them rebuilds nothing.
_LOADER_PREFIXES = ("iterator_train__", "iterator_valid__", "dataset__")


def _same_device(a, b):
    """Whether torch devices ``a`` and ``b`` are one, ``"cuda"`` being the current GPU."""
    if a.type != b.type:
        return False
    if a.index == b.index or a.type != "cuda":
        return True
    current = torch.cuda.current_device()
    return (current if a.index is None else a.index) == (current if b.index is None else b.index)


def _without_scheduler(callback):
    """``callback``, or a shallow copy without its fitted ``lr_scheduler_`` (pickling)."""
    if not isinstance(callback, LRScheduler) or getattr(callback, "lr_scheduler_", None) is None:
        return callback
    callback = copy.copy(callback)
    callback.lr_scheduler_ = None
    return callback


def _resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; others unchanged."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _check_device(device):
    """Refuse a device that torch cannot name, or CUDA on a machine without it."""
    if device is None:
        return  # skorch: leave the module and data where they are
    resolved = _resolve_device(device)
    try:
        kind = torch.device(resolved).type
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, "
                         f"got {device!r}.") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} needs a CUDA GPU, and torch finds none on this "
                         "machine; use device='auto' (the GPU when there is one) or 'cpu'.")


def _draw_seed():
    """A seed drawn from torch's global generator (seeded by ``random_state``)."""
    return int(torch.randint(0, 2**62, (1,)).item())


def _accepts(factory, name):
    """Whether ``factory(**{name: ...})`` is accepted, judging by its signature."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _names(prefix, kwargs):
    """``module__a, module__b`` for the keys of ``kwargs``."""
    return ", ".join(f"{prefix}__{key}" for key in kwargs)


def _check_int(value, name, minimum, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an integer >= {minimum}{extra}, got {value!r}.")


#: Parameters the default callbacks are built from (see ``set_params``).
_CALLBACK_PARAMS = frozenset({"patience", "lr_patience", "grad_clip", "valid_size",
                              "train_split", "checkpoint_dir"})


class SignalDataset(torch.utils.data.Dataset):
    """Records and encoded targets as torch tensors, for skorch's DataLoader.

    Parameters
    ----------
    X : ndarray of shape (n_records, n_leads, n_samples), float32
        Signals, already validated.
    y : ndarray of shape (n_records,) or (n_records, n_labels), or None
        Encoded targets; ``None`` at prediction time.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.neural._classifier import SignalDataset
    >>> ds = SignalDataset(np.zeros((4, 2, 10), dtype="float32"), np.array([0, 1, 0, 1]))
    >>> len(ds), ds[1][0].shape, int(ds[1][1])
    (4, torch.Size([2, 10]), 1)
    """

    def __init__(self, X, y=None):
        X = np.asarray(X)
        if not X.flags.writeable:
            X = X.copy()
        self.X = torch.as_tensor(X)
        self.y = None if y is None else torch.as_tensor(np.asarray(y))
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(f"X has {len(self.X)} records but y has {len(self.y)} labels.")
        self._dummy = torch.zeros(())

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (self._dummy if self.y is None else self.y[i])


#: The colour codes of skorch's epoch table.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _PrintLog(PrintLog):
    """skorch's epoch table, without colour codes where stdout is no terminal.

    skorch colours the table always: a log file or CI's output held the codes.
    """

    def _sink(self, text, verbose):
        if self.sink is print and verbose:
            isatty = getattr(sys.stdout, "isatty", None)
            text = text if isatty is not None and isatty() else _ANSI.sub("", text)
        super()._sink(text, verbose)


def _check_multilabel_classes(classes, labels):
    """Refuse a ``partial_fit`` ``classes`` that names neither a label matrix's labels nor its 0/1.

    sklearn passes ``np.unique(y)`` of a label matrix, its values 0 and 1, as ``classes``
    (``learning_curve``); a user may pass the labels, as for a 1-D target.
    """
    if classes is None:
        return
    # As sets of objects: np.unique cannot sort a DataFrame's mixed names ("a", 1).
    values = set(np.asarray(classes, dtype=object).ravel().tolist())
    if values == set(np.asarray(labels, dtype=object).ravel().tolist()):
        return
    if all(isinstance(v, (bool, int, float, np.number, np.bool_)) and v in (0, 1)
           for v in values):
        return
    raise ValueError(
        f"classes={list(classes)} is neither the labels {np.asarray(labels).tolist()} of the "
        "label matrix y nor its values 0 and 1.")


class ECGNetClassifier(ClassifierMixin, NeuralNet):
    """Train a torch ECG network as a scikit-learn classifier (skorch).

    The target type is read from ``y`` at fit time: binary, multiclass
    (labels of any type, strings too) or multi-label (a 0/1 indicator
    matrix). The module is built as ``module(in_channels=n_leads,
    n_classes=n_outputs, **module__kwargs)``; both values are filled from
    the data unless given as ``module__in_channels`` / ``module__n_classes``
    (or unless the module does not take them). It must map a batch
    ``(batch, n_leads, n_samples)`` to logits ``(batch, n_outputs)``.

    All other skorch parameters work as in :class:`skorch.NeuralNet`
    (``module__*``, ``optimizer__*``, ``criterion__*``, ``iterator_train__*``,
    ``callbacks``, ``callbacks__<name>__*``, ``warm_start``, ``compile``...).
    A scoring callback such as ``EpochScoring("f1_macro")`` scores the
    validation records against their labels, as ``predict`` gives them.

    Parameters
    ----------
    module : torch.nn.Module class or instance
        The network, e.g. :class:`ecgsk.nets.SEResNeXt1d`. A class is built
        anew at every fit (``in_channels`` and ``n_classes`` taken from the
        data, weights seeded by ``random_state``). An instance is copied at
        every fit and the copy trained, so its own weights (pretrained ones,
        say) are where each fit starts, whatever ``random_state``; the
        instance itself never changes.
    criterion : {"auto", "focal", "ce", "bce"} or torch.nn.Module class/instance, default="auto"
        The loss, applied to logits.

        - ``"auto"``: :class:`~torch.nn.BCEWithLogitsLoss` for binary and
          multi-label targets, :class:`~torch.nn.CrossEntropyLoss` for
          multiclass targets.
        - ``"bce"``: ``BCEWithLogitsLoss`` (binary or multi-label targets).
        - ``"ce"``: ``CrossEntropyLoss`` (binary or multiclass targets); a
          binary target then gets two logits instead of one.
        - ``"focal"``: :class:`~ecgsk.neural.FocalLoss` in the mode of the
          target; in ``"multiclass"`` mode with ``alpha=None`` unless
          ``criterion__alpha`` is given.
        - a class or instance: called as ``criterion(logits, target)`` with
          the targets described under *Notes*.

        Parameters of the loss are passed as ``criterion__<name>`` and win
        over the values set by this class.
    max_epochs : int, default=30
        Upper bound on the training epochs (see ``patience``).
    batch_size : int, default=64
        Training and prediction batch size; -1 puts every record in one batch
        (skorch's rule).
    lr : float, default=1e-4
        Learning rate.
    optimizer : torch optimizer class, default=torch.optim.AdamW
        Optimizer, set up with ``optimizer__*`` parameters.
    optimizer__weight_decay : float, default=1e-4
        Weight decay of the optimizer.
    iterator_train__shuffle : bool, default=True
        Shuffle the training records every epoch (ignored with
        ``balanced_sampling=True``, which draws its own order).
    train_split : "auto", None or callable, default="auto"
        Internal validation split. ``"auto"`` holds out ``valid_size`` of the
        training records (stratified by class for single-label targets when
        every class has at least two records; shuffled otherwise) with a seed
        from ``random_state``. ``None`` disables validation: early stopping
        and learning rate decay then monitor the training loss. A callable
        is used as skorch's ``train_split`` (e.g.
        ``skorch.dataset.ValidSplit``); it receives the encoded targets.
    valid_size : float, int or None, default=0.1
        Fraction (in ``(0, 1)``) or number of records held out by
        ``train_split="auto"``; ``None`` disables validation. With
        ``fit(X, y, groups=...)``, the fraction or number of groups
        (patients) held out, whole.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the validation split, the shuffling,
        the balanced sampler, random crops and augmentation. With an int, two
        fits on the same data and device give the same model, and the global
        torch and numpy random states are left as they were. With ``None``,
        torch's global generator is used (``torch.manual_seed`` before
        ``fit`` then fixes the model) and numpy's for the split.
    balanced_sampling : bool, default=False
        Draw every training epoch with a
        :class:`~torch.utils.data.WeightedRandomSampler` that makes classes
        equally frequent; for multi-label targets every record is weighted by
        the size of the group of its rarest positive label (see
        ``ecgsk.neural._sampling.balanced_sample_weights``). Built from the
        training subset only, so it works under the validation split and in
        cross-validation.
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes in the loss. ``"balanced"`` computes them from
        the labels of the training records, those of the validation split
        (``train_split``) left out: for single-label targets
        ``n / (n_classes * count)`` per class (sklearn's
        ``compute_class_weight``), for multi-label targets
        ``n_negative / n_positive`` per label (1 for a label that is 0 in
        every record, or 1 in every record), passed as ``pos_weight``. A
        dict ``{class_label: weight}`` (single-label targets; missing
        classes weigh 1) gives them directly. Softmax losses
        (CE, focal in multiclass mode) get them as ``weight``; a binary target
        with one logit (BCE, binary focal) as ``weight=w_0`` and
        ``pos_weight=w_1 / w_0``, which weighs the negative and positive
        terms by ``w_0`` and ``w_1``. A change made with ``set_params``
        after fitting holds for a warm-start ``fit`` and for ``partial_fit``,
        which keeps ``"balanced"`` weights from the call that computed them.
    augment : object, callable, list of callables or None, default=None
        Training-time augmentation on the device, applied anew to every
        training batch and never at validation or prediction time: an object
        with ``augment_batch(x, generator=None)`` (such as
        :class:`ecgsk.preprocessing.Augmenter`), a callable
        ``op(x, generator=None)`` or a list of such ops applied in order.
        ``x`` is a float tensor ``(batch, n_leads, n_samples)``. The draws
        come from the network's generator, seeded by ``random_state``: an
        ``Augmenter``'s own ``random_state`` seeds its ``fit_transform``
        alone, and is not used here.
    crop_length : int or None, default=None
        When set, train on random crops of ``crop_length`` samples (a new
        offset per record and batch, after augmentation), and validate and
        predict by sliding windows of that length aggregated per record.
        Records must have at least ``crop_length`` samples, and may differ in
        length from those seen in ``fit``.
    window_stride : int or None, default=None
        Step between the prediction windows; ``None`` uses
        ``max(1, crop_length // 2)``. At most ``crop_length``, so that no
        sample falls between two windows. A last window aligned to the end
        of the record is added when the stride does not reach it.
    window_aggregate : {"max", "mean"}, default="max"
        How the windows' probabilities are aggregated per class (for a
        multiclass softmax, the aggregated vector is renormalised to sum to 1).
        A binary target with one logit (the default criterion) aggregates the
        positive class's probability, the other being one minus it: under
        ``"max"``, the record is as positive as its most positive window. With
        two logits (``criterion="ce"``) ``"max"`` is taken over both classes
        and renormalised, which differs.
    threshold : float or array-like of shape (n_labels,), default=0.5
        Decision threshold on the positive-class probability for binary
        targets (a scalar), or per label for multi-label targets (a scalar
        or one value per label). Unused for multiclass targets. May be
        changed after fitting; it is validated by ``predict``.
    device : str or torch.device, default="auto"
        ``"auto"`` uses ``"cuda"`` when available and ``"cpu"`` otherwise,
        resolved anew on every use, so a net pickled on a GPU machine loads
        and predicts on a CPU-only one. ``get_params()["device"]`` returns
        the value given; the attribute ``device`` reads the resolved one.
    amp : bool, default=False
        Mixed precision: ``torch.autocast`` in the training, validation and
        prediction steps, with a ``GradScaler`` for float16 on CUDA. On CPU,
        autocast always uses bfloat16, whatever ``amp_dtype``.
    amp_dtype : {"float16", "bfloat16"}, default="float16"
        Autocast dtype on CUDA.
    patience : int or None, default=7
        Early stopping (``callbacks__early_stopping``) after ``patience``
        epochs without improvement of the validation loss (training loss
        without validation); the best weights are restored at the end.
        ``None`` disables it.
    lr_patience : int or None, default=3
        ``ReduceLROnPlateau`` (``callbacks__lr_scheduler``) on the same
        monitored loss, with factor 0.1: the learning rate drops on the
        ``lr_patience + 1``-th epoch in a row without progress (change it with
        ``callbacks__lr_scheduler__factor=0.5``; for other settings pass a
        whole ``callbacks__lr_scheduler=LRScheduler(...)``). ``None``
        disables it.
    grad_clip : float or None, default=1.0
        Clip the gradient norm to this value (``callbacks__grad_clip``);
        ``None`` disables clipping.
    checkpoint_dir : str, path-like or None, default=None
        Folder of checkpoints: ``fit`` writes the whole training state
        (weights, optimizer, history, early stopping and learning-rate
        schedule, random generators) to
        ``checkpoint_dir/ecgnet-<fingerprint>.pt`` at the end of every
        epoch, the fingerprint hashing the data, every parameter but
        this one and ``verbose``, and ecgsk's code. A ``fit`` of the same
        data with the same parameters that finds the file (the earlier one
        was interrupted or crashed) resumes from it and trains only the
        epochs left, to the same result on the same machine and threads;
        the file is removed when ``fit`` ends, unless by an interruption
        (KeyboardInterrupt, SIGTERM). One folder serves any number of nets.
        ``partial_fit`` and warm starts write none. None: the folder of an
        enclosing :func:`ecgsk.neural.checkpoints` block, if any.
    verbose : int, default=0
        0: silent; 1: a table per epoch with ``train_loss``, ``valid_loss``
        and ``valid_acc`` (single-label) or ``valid_auroc`` (macro ROC AUC
        over labels, multi-label); 2: also a tqdm progress bar.
    dataset : torch Dataset class, default=SignalDataset
        Wraps the validated arrays for skorch's DataLoader; with
        ``balanced_sampling`` it must expose the labels as ``.y``.
    **kwargs
        Other :class:`skorch.NeuralNet` parameters and prefixed parameters.

    Attributes
    ----------
    classes_ : ndarray
        The class labels (binary/multiclass), or the label names for a
        multi-label target (DataFrame columns, else ``0..n_labels-1``).
    target_type_ : str
        ``"binary"``, ``"multiclass"`` or ``"multilabel-indicator"``.
    n_outputs_ : int
        Number of logits of the module: 1 for a binary target (2 with
        ``criterion="ce"``), else the number of classes or labels.
    n_leads_in_ : int
        Number of leads seen in ``fit``; ``X`` must have as many later.
    n_samples_in_ : int
        Number of samples per record seen in ``fit``. Without
        ``crop_length``, records to predict must have that length; with it,
        any length ``>= crop_length``.
    class_weight_ : ndarray or None
        The class weights in use (per class in ``classes_`` order, or
        ``pos_weight`` per label for multi-label targets); None without
        ``class_weight``.
    module_, criterion_, optimizer_ : torch objects
        The initialised module, loss and optimizer.
    history_ : skorch.History
        The training log (also available as ``history``, skorch's name):
        ``net.history[:, "valid_loss"]``.
    split_seed_ : int
        Seed of the internal validation split (``valid_size``) of the last
        fit, drawn from ``random_state``: with an int ``random_state``, every
        fit validates on the same records.
    train_generator_ : torch.Generator
        Draws the augmentations and random crops of training batches; not
        pickled (a loaded net draws a fresh one when it trains again).
    grad_scaler_ : torch.amp.GradScaler or None
        The loss scaler of float16 mixed precision on CUDA; None otherwise.

    See Also
    --------
    ecgsk.neural.FocalLoss : the focal loss behind ``criterion="focal"``.

    Notes
    -----
    Persist a fitted net with pickle or joblib: it keeps the classes and
    target type next to the weights. skorch's ``save_params`` /
    ``load_params`` only move weights between fitted nets.

    A Ctrl-C (SIGINT) during ``fit`` raises :class:`KeyboardInterrupt` out
    of it (in the main thread), although skorch ends its epoch loop quietly
    on one: otherwise the caller would take a net trained for fewer epochs
    than asked for as finished. Early stopping still ends ``fit`` normally.

    A training or validation loss that becomes NaN or infinite ends ``fit``
    with :class:`ValueError` (``callbacks__finite_loss``) and leaves the net
    unfitted: a diverged net would predict NaN probabilities, which
    ``predict`` reads as the first class.

    Targets as the criterion sees them: binary with one logit: float 0/1 of
    shape ``(batch,)`` against logits ``(batch,)``; multiclass and binary with
    ``"ce"``: class indices ``(batch,)`` (int64) against ``(batch, n_classes)``
    logits; multi-label: float 0/1 ``(batch, n_labels)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.nets import ECGCNN
    >>> from ecgsk.neural import ECGNetClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 12, 500)).astype("float32")
    >>> y = np.where(X[:, 0].mean(axis=1) > 0, "AF", "normal")
    >>> clf = ECGNetClassifier(ECGCNN, module__filters=(8, 8, 16, 16), module__dense=(16,),
    ...                        max_epochs=2, lr=1e-3, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.classes_
    array(['AF', 'normal'], dtype='<U6')
    >>> clf.predict(X[:3]).shape
    (3,)

    The PTB-XL protocol: random 2.5 s crops for training, sliding windows
    (maximum of their probabilities) for prediction, on a multi-label
    target:

    >>> Y = (rng.random((64, 5)) < 0.3).astype(int)
    >>> clf = ECGNetClassifier(ECGCNN, module__filters=(8, 8, 16, 16), module__dense=(16,),
    ...                        crop_length=250, window_aggregate="max", max_epochs=1,
    ...                        random_state=0).fit(X, Y)
    >>> clf.predict_proba(X[:2]).shape, clf.predict(X[:2]).shape
    ((2, 5), (2, 5))
    """

    def __init__(
            self,
            module,
            *,
            criterion="auto",
            max_epochs=30,
            batch_size=64,
            lr=1e-4,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=1e-4,
            iterator_train__shuffle=True,
            train_split="auto",
            valid_size=0.1,
            random_state=None,
            balanced_sampling=False,
            class_weight=None,
            augment=None,
            crop_length=None,
            window_stride=None,
            window_aggregate="max",
            threshold=0.5,
            device="auto",
            amp=False,
            amp_dtype="float16",
            patience=7,
            lr_patience=3,
            grad_clip=1.0,
            checkpoint_dir=None,
            verbose=0,
            dataset=SignalDataset,
            **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            device=device,
            dataset=dataset,
            optimizer__weight_decay=optimizer__weight_decay,
            iterator_train__shuffle=iterator_train__shuffle,
            **kwargs,
        )
        self.valid_size = valid_size
        self.random_state = random_state
        self.balanced_sampling = balanced_sampling
        self.class_weight = class_weight
        self.augment = augment
        self.crop_length = crop_length
        self.window_stride = window_stride
        self.window_aggregate = window_aggregate
        self.threshold = threshold
        self.amp = amp
        self.amp_dtype = amp_dtype
        self.patience = patience
        self.lr_patience = lr_patience
        self.grad_clip = grad_clip
        self.checkpoint_dir = checkpoint_dir

    # ------------------------------------------------------------------
    # sklearn plumbing: parameters, device, tags, fitted state
    # ------------------------------------------------------------------
    @property
    def device(self):
        """The compute device in use (``"auto"`` resolved on this machine)."""
        return _resolve_device(self.__dict__.get("device", "cpu"))

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def _get_param_names(self):
        # skorch lists every public attribute; leave out its private
        # bookkeeping (``_params_to_validate``) so that clone() and
        # get_params() only see real parameters.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        # The requested device ("auto"), not the resolved one: clone() needs
        # get_params() to return exactly what __init__ received.
        params["device"] = self.__dict__.get("device")
        return params

    def _get_params_callbacks(self, deep=True):
        # skorch lists the initialized callbacks, then _default_callbacks, and the later
        # win: ecgsk's lr_scheduler and early_stopping, rebuilt from lr_patience and
        # patience, hid the values fit uses (callbacks__lr_scheduler__factor=0.5 came
        # back as 0.1, so get_params' round trip and MLflow's params undid it). The
        # defaults are given the callbacks__* parameters here, as initialize_callbacks
        # gives them; fresh objects, so fitting does not change them.
        params = super()._get_params_callbacks(deep=deep)
        if not deep:
            return params
        given = [(key[len("callbacks__"):].partition("__"), value)
                 for key, value in vars(self).items() if key.startswith("callbacks__")]
        defaults = dict(self._default_callbacks)
        # by another callback, or None to turn it off
        replaced = {name: value for (name, _, sub), value in given
                    if name in defaults and not sub}
        defaults.update(replaced)
        for name, callback in defaults.items():
            prefix = f"callbacks__{name}"
            for key in [k for k in params if k.startswith(f"{prefix}__")]:
                del params[key]
            subs = {sub: value for (n, _, sub), value in given if n == name and sub}
            if name not in replaced and callback is not None:
                callback.set_params(**subs)
            params[prefix] = callback
            if callback is not None:
                params.update({f"{prefix}__{sub}": value
                               for sub, value in callback.get_params().items()})
            params.update({f"{prefix}__{sub}": value for sub, value in subs.items()})
        return params

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_label = True
        return tags

    def __sklearn_is_fitted__(self):
        return bool(getattr(self, "initialized_", False)) and hasattr(self, "target_type_")

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )

    def __getstate__(self):
        import cloudpickle

        # skorch's NeuralNet.__getstate__, with cloudpickle for pickle: skorch pickles the
        # module, criterion and optimizer with pickle, which names a class by its module. One
        # defined in a pipeline file (a module cloudpickle is told to store by value), in a
        # script's __main__ or in a function did not load in another process, so neither did
        # a model logged by compare or tune. skorch's __setstate__ reads the stream as its own:
        # its unpickler still maps the tensors to the device.
        state = self.__dict__.copy()
        state["__cuda_dependent_attributes__"] = cloudpickle.dumps(
            {key: state.pop(key) for key in list(state)
             if any(key.startswith(prefix) for prefix in self.cuda_dependent_attributes_)})
        scaler = state.pop("grad_scaler_", None)
        state["grad_scaler_state_"] = None if scaler is None else scaler.state_dict()
        # Generators are device-bound and re-seeded at every fit.
        state.pop("train_generator_", None)
        state.pop("sampler_generator_", None)
        # An LR scheduler holds the optimizer, its parameters and moments: pickled apart
        # from skorch's map_location stream, a GPU's would not load on a CPU-only machine
        # (and doubled the pickle). skorch builds it anew at the start of training.
        # The same object may also be a parameter (callbacks=[...], callbacks__lr_scheduler=):
        # each scheduler gets one copy, so that the copies stay one object after loading.
        copies = {}

        def stripped(cb):
            if isinstance(cb, LRScheduler):
                cb = copies.setdefault(id(cb), _without_scheduler(cb))
            return cb

        def each(callbacks):
            return [(item[0], stripped(item[1])) if isinstance(item, tuple) and len(item) == 2
                    else stripped(item) for item in callbacks]

        for key in ("callbacks_", "callbacks"):
            if isinstance(state.get(key), (list, tuple)):
                state[key] = each(state[key])
        for key in [k for k in state if k.startswith("callbacks__")]:
            state[key] = stripped(state[key])
        return state

    def load_params(self, *args, **kwargs):
        """Load weights into the fitted net (see :meth:`skorch.NeuralNet.load_params`)."""
        requested = self.__dict__.get("device")
        super().load_params(*args, **kwargs)
        if isinstance(requested, str) and requested == "auto":
            self.__dict__["device"] = "auto"  # skorch stores the device it mapped to

    def __setstate__(self, state):
        state = dict(state)
        scaler_state = state.pop("grad_scaler_state_", None)
        requested = state.get("device")
        if isinstance(requested, str) and requested == "auto":
            # skorch maps the stored tensors to state["device"]; "auto" must
            # become this machine's device (CPU on a CPU-only machine).
            state["device"] = _resolve_device("auto")
        super().__setstate__(state)
        if isinstance(requested, str) and requested == "auto":
            self.__dict__["device"] = "auto"
        self.grad_scaler_ = self._make_grad_scaler() if self.initialized_ else None
        if self.grad_scaler_ is not None and scaler_state:
            self.grad_scaler_.load_state_dict(scaler_state)

    # ------------------------------------------------------------------
    # validation of parameters and data
    # ------------------------------------------------------------------
    def _validate_hyperparams(self):
        module = self.module
        if module is None or isinstance(module, (str, bytes)) or not (
                isinstance(module, nn.Module) or callable(module)):
            raise ValueError(
                "module must be a torch.nn.Module class (e.g. ecgsk.nets.ResNet1d), an "
                f"instance of one, or a callable that builds one, got {module!r}.")
        _check_device(self.__dict__.get("device"))
        _check_int(self.max_epochs, "max_epochs", 1)
        bs = self.batch_size
        if isinstance(bs, bool) or not isinstance(bs, numbers.Integral) or (bs < 1 and bs != -1):
            raise ValueError(f"batch_size must be an integer >= 1, or -1 for one batch of "
                             f"every record, got {bs!r}.")
        check_positive_real(self.lr, "lr")
        _check_int(self.patience, "patience", 1, allow_none=True)
        _check_int(self.lr_patience, "lr_patience", 0, allow_none=True)
        check_positive_real(self.grad_clip, "grad_clip", allow_none=True)
        self._check_windows()
        check_bool(self.amp, name="amp")
        if self.amp_dtype not in ("float16", "bfloat16"):
            raise ValueError(
                f"amp_dtype must be 'float16' or 'bfloat16', got {self.amp_dtype!r}.")
        check_bool(self.balanced_sampling, name="balanced_sampling")
        for kind in ("train", "valid"):  # torch read "false" as on
            shuffle = self.get_params_for(f"iterator_{kind}").get("shuffle")
            if shuffle is not None:
                check_bool(shuffle, name=f"iterator_{kind}__shuffle")
        self._get_predict_nonlinearity()  # refused before training, not after
        cw = self.class_weight
        if cw is not None and not isinstance(cw, dict) and not (
                isinstance(cw, str) and cw == "balanced"):
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict, got {cw!r}.")
        crit = self.criterion
        if isinstance(crit, str):
            if crit not in _CRITERIA:
                raise ValueError(
                    f"criterion must be one of {_CRITERIA} or a torch.nn.Module class "
                    f"or instance, got {crit!r}.")
        elif not (isinstance(crit, nn.Module)
                  or (isinstance(crit, type) and issubclass(crit, nn.Module))):
            raise ValueError(
                f"criterion must be one of {_CRITERIA} or a torch.nn.Module class or "
                f"instance, got {crit!r}.")
        vs = self.valid_size
        if vs is not None:
            ok_float = (isinstance(vs, numbers.Real)
                        and not isinstance(vs, (bool, numbers.Integral)) and 0 < vs < 1)
            ok_int = isinstance(vs, numbers.Integral) and not isinstance(vs, bool) and vs >= 1
            if not (ok_float or ok_int):
                raise ValueError(
                    "valid_size must be a float in (0, 1), a positive number of "
                    f"records or None, got {vs!r}.")
        ts = self.train_split
        if isinstance(ts, str) and ts != "auto":
            raise ValueError(
                f"train_split must be 'auto', None or a callable, got {ts!r}.")
        if ts is not None and not isinstance(ts, str) and not callable(ts):
            raise ValueError(f"train_split must be 'auto', None or a callable, got {ts!r}.")
        self._check_augment()
        check_seed(self.random_state)
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:  # bools too
            raise ValueError(f"verbose must be an integer >= 0, got {self.verbose!r}.")
        if not callable(self.dataset):
            raise ValueError(f"dataset must be a Dataset class or callable, got {self.dataset!r}.")
        if not callable(self.optimizer):
            raise ValueError(f"optimizer must be a torch.optim.Optimizer class (e.g. "
                             f"torch.optim.AdamW), got {self.optimizer!r}.")
        cd = self.checkpoint_dir
        if cd is not None and not isinstance(cd, (str, os.PathLike)):
            raise ValueError(f"checkpoint_dir must be None or a folder path, got {cd!r}.")

    def _check_windows(self):
        """The crop and sliding-window parameters; predict checks them again (set_params)."""
        _check_int(self.crop_length, "crop_length", 1, allow_none=True)
        _check_int(self.window_stride, "window_stride", 1, allow_none=True)
        if self.window_stride is not None and self.crop_length is None:
            raise ValueError("window_stride is set but crop_length is None; "
                             "sliding windows need crop_length.")
        if self.window_stride is not None and self.window_stride > self.crop_length:
            raise ValueError(
                f"window_stride={self.window_stride} is longer than crop_length="
                f"{self.crop_length}: the windows would skip samples between them. Pass "
                "window_stride <= crop_length (the benchmark's 2.5 s windows: "
                "crop_length=250, window_stride=125 at 100 Hz).")
        if self.window_aggregate not in ("max", "mean"):
            raise ValueError(
                f"window_aggregate must be 'max' or 'mean', got {self.window_aggregate!r}.")

    def _check_augment(self):
        aug = self.augment
        if isinstance(aug, type):  # augment=Augmenter: its augment_batch is unbound
            raise ValueError(f"augment must be an instance, such as {aug.__name__}(), not "
                             f"the class {aug.__name__}.")
        if aug is None or hasattr(aug, "augment_batch"):
            return
        ops = aug if isinstance(aug, (list, tuple)) else [aug]
        bad = [op for op in ops if not callable(op)]
        if bad or not ops:
            raise ValueError(
                "augment must be None, an object with augment_batch(x, generator=...) "
                "(e.g. ecgsk.preprocessing.Augmenter), a callable op(x, generator=...) "
                f"or a list of them; got {aug!r}.")
        for i, op in enumerate(ops):
            if isinstance(op, type):  # [RandomScale]: a TypeError inside the first batch
                raise ValueError(f"augment[{i}] must be an instance, such as "
                                 f"{op.__name__}(), not the class {op.__name__}.")

    def _uses_validation(self):
        ts = self.train_split
        if ts is None or ts is False:
            return False
        if isinstance(ts, str):
            return self.valid_size is not None
        return True

    def _binary_two_logits(self):
        crit = self.criterion
        if isinstance(crit, str):
            return crit == "ce"
        cls = crit if isinstance(crit, type) else type(crit)
        return issubclass(cls, (nn.CrossEntropyLoss, nn.NLLLoss))

    def _loss_activation(self):
        if self.target_type_ == _MULTILABEL or self.n_outputs_ == 1:
            return "sigmoid"
        return "softmax"

    def _check_X(self, X, reset):
        from scipy import sparse

        if sparse.issparse(X):
            raise TypeError(
                f"{type(self).__name__} does not accept sparse input X; pass a dense "
                "array of shape (n_records, n_leads, n_samples).")
        X = check_signal_input(X)
        if self.crop_length is not None and X.shape[2] < self.crop_length:
            raise ValueError(
                f"X has {X.shape[2]} samples per record, fewer than crop_length="
                f"{self.crop_length}; pad the records (PadTruncate) or lower crop_length.")
        if reset:
            user_leads = getattr(self, "module__in_channels", None)
            if user_leads is not None and user_leads != X.shape[1]:
                raise ValueError(
                    f"module__in_channels={user_leads} but X has {X.shape[1]} lead(s).")
        else:
            if X.shape[1] != self.n_leads_in_:
                raise ValueError(
                    f"X has {X.shape[1]} lead(s), but {type(self).__name__} was fitted "
                    f"on {self.n_leads_in_} lead(s).")
            if self.crop_length is None and X.shape[2] != self.n_samples_in_:
                raise ValueError(
                    f"X has {X.shape[2]} samples per record, but {type(self).__name__} "
                    f"was fitted on {self.n_samples_in_}; pad or truncate the records "
                    "(ecgsk.preprocessing.PadTruncate), or set crop_length to predict "
                    "by sliding windows over records of any length.")
        return X

    @staticmethod
    def _label_array(y):
        y, names = label_array(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; "
                "it is read as a 1d array of labels.", DataConversionWarning,
                stacklevel=4)
            y = y.ravel()
            names = None
        return y, names

    def _encode_targets(self, y, n_records, reset, classes=None):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y, names = self._label_array(y)
        if y.ndim == 0 or len(y) != n_records:
            got = "a scalar" if y.ndim == 0 else f"{len(y)} labels"
            raise ValueError(f"X has {n_records} records but y has {got}.")
        check_label_types(y)
        check_classification_targets(y)
        kind = type_of_target(y)
        if not reset:
            return self._encode_known(y, kind, classes, names)
        if kind == _MULTILABEL:
            self.classes_ = names if names is not None else np.arange(y.shape[1])
            _check_multilabel_classes(classes, self.classes_)
            self._label_names_ = names is not None  # later label matrices: matched by name
            self.target_type_ = _MULTILABEL
            self.n_outputs_ = y.shape[1]
            return y.astype(np.float32)
        if y.ndim != 1:
            raise ValueError(
                f"y of shape {y.shape} is not a supported target: pass a 1-D array of "
                "labels or a 0/1 indicator matrix (n_records, n_labels).")
        labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        if classes is not None:
            unseen = np.setdiff1d(np.unique(y), labels)
            if unseen.size:
                raise ValueError(f"y contains labels not in classes: {unseen.tolist()}.")
        if len(labels) < 2:
            raise ValueError(
                f"y contains only 1 class ({labels.tolist()}); a classifier needs at "
                "least two classes.")
        self.classes_ = labels
        self.target_type_ = "binary" if len(labels) == 2 else "multiclass"
        if self.target_type_ == "binary" and not self._binary_two_logits():
            self.n_outputs_ = 1
            return (y == labels[1]).astype(np.float32)
        self.n_outputs_ = len(labels)
        return np.searchsorted(labels, y).astype(np.int64)

    def _encode_known(self, y, kind, classes, names=None):
        if self.target_type_ == _MULTILABEL:
            _check_multilabel_classes(classes, self.classes_)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)),
                                                         np.unique(self.classes_)):
            raise ValueError(
                f"classes={list(classes)} differs from the classes of the first fit "
                f"{self.classes_.tolist()}.")
        if self.target_type_ == _MULTILABEL:
            if kind != _MULTILABEL and not (y.ndim == 2 and np.isin(y, (0, 1)).all()):
                raise ValueError(
                    f"y must be a 0/1 label matrix like in the first fit, got a "
                    f"{kind} target of shape {y.shape}.")
            if y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y has {y.shape[1]} label columns but {type(self).__name__} was "
                    f"fitted on {self.n_outputs_} labels.")
            return self._columns_by_name(y, names).astype(np.float32)
        if y.ndim != 1:
            raise ValueError(
                f"y must be a 1-D array of labels like in the first fit, got shape {y.shape}.")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels not seen in the first fit: {unseen.tolist()} "
                f"(known: {self.classes_.tolist()}); pass all classes with "
                "partial_fit(..., classes=...) on the first call.")
        index = np.searchsorted(self.classes_, y)
        if self.n_outputs_ == 1:
            return (index == 1).astype(np.float32)
        return index.astype(np.int64)

    def _columns_by_name(self, y, names):
        """A label matrix's columns in the order of ``classes_``, matched by name.

        Only where the first fit's label matrix named its columns too (a
        DataFrame, whatever the names' type: SNOMED codes are integers);
        otherwise by position.
        """
        named = getattr(self, "_label_names_", self.classes_.dtype.kind not in "iu")
        if names is None or not named:
            return y
        known = [str(c) for c in self.classes_]
        given = [str(c) for c in names]
        if sorted(given) != sorted(known):
            raise ValueError(f"y's columns {given} are not the labels of the first fit {known}.")
        return y[:, [given.index(c) for c in known]]

    def _check_fit_data(self, X, y, reset, classes=None, warm_fit=False):
        self._validate_hyperparams()
        X = self._check_X(X, reset)
        y_enc = self._encode_targets(y, len(X), reset, classes)
        if reset:
            self.n_leads_in_ = X.shape[1]
            self.n_samples_in_ = X.shape[2]
            self.class_weight_ = self._compute_class_weight(y_enc)
            self._balanced_weights_ = isinstance(self.class_weight, str)
            self._weights_from_split_ = self._balanced_weights_
            self._check_threshold()
        else:  # class_weight as it is now (set_params): a warm-start fit computes it on its
            # records; partial_fit keeps "balanced" weights from the call that computed them,
            # which one batch's counts would move call by call.
            keep = (not warm_fit and isinstance(self.class_weight, str)
                    and getattr(self, "_balanced_weights_", False))
            self._balanced_weights_ = isinstance(self.class_weight, str)
            # "balanced" weights anew are those of the training split, made in _run_fit
            self._weights_from_split_ = self._balanced_weights_ and not keep
            if not (keep or self._weights_from_split_):
                self._set_class_weight(self._compute_class_weight(y_enc))
        return X, y_enc

    def _set_class_weight(self, weight):
        """Keep ``weight`` as ``class_weight_``; rebuild the built criterion if it changed."""
        old = self.class_weight_
        if (weight is None) != (old is None) or (
                weight is not None and not np.array_equal(weight, old)):
            self.class_weight_ = weight
            self._initialize_criterion()  # skorch's: builds it, then moves it to device

    def _weigh_by_training(self, X, y_enc, fit_params, groups, built):
        """Balanced class weights of the training records alone, the validation ones left out.

        The split is made here as skorch's fit loop will make it (the same
        ``split_seed_``, groups and marks), before the criterion is built, so
        that a criterion with parameters of its own is optimised and compiled
        as skorch builds it. A warm start (``built``) rebuilds the criterion
        only if the weights changed.
        """
        if not getattr(self, "_weights_from_split_", False):
            return
        self._weights_from_split_ = False
        self._fit_groups = groups
        try:
            train, _ = self.get_split_datasets(X, y_enc, **fit_params)
        finally:
            del self._fit_groups  # back to the class's None
        y = dataset_labels(train)
        weight = self._compute_class_weight(y_enc if y is None else np.asarray(y))
        if built:
            self._set_class_weight(weight)
        else:
            self.class_weight_ = weight  # initialize() builds the criterion with it

    def _compute_class_weight(self, y_enc):
        cw = self.class_weight
        if cw is None:
            return None
        multilabel = self.target_type_ == _MULTILABEL
        if isinstance(cw, dict):
            if multilabel:
                raise ValueError(
                    "class_weight as a dict is for single-label targets; use "
                    "'balanced' or criterion__pos_weight for a multi-label target.")
            unknown = [key for key in cw if key not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(
                    f"class_weight has keys {unknown} that are not classes of y "
                    f"{self.classes_.tolist()}.")
            values = [cw.get(c, 1.0) for c in self.classes_.tolist()]
            if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
                       for v in values):
                raise ValueError(f"class_weight values must be positive numbers, got {cw!r}.")
            weights = np.array(values, float)
            if not np.isfinite(weights).all() or (weights <= 0).any():
                raise ValueError(f"class_weight values must be positive, got {cw!r}.")
            with np.errstate(over="ignore", divide="ignore"):
                # The loss takes them in float32, a binary one as w_1 / w_0 (pos_weight):
                # 1e-45 became 0 and the ratio inf, reported as a diverged training.
                ratio = np.float32(weights[-1]) / np.float32(weights[0])
                small = np.float32(weights)
            if not np.all(small > 0) or not np.isfinite(small).all() or (
                    len(small) == 2 and not (np.isfinite(ratio) and ratio > 0)):
                raise ValueError(f"class_weight values {cw!r} do not fit in float32, in which "
                                 "the loss takes them (and a binary target their ratio); "
                                 "rescale them.")
            return weights
        if multilabel:
            return balanced_loss_weights(y_enc, "pos_weight", self.n_outputs_).numpy()
        return balanced_loss_weights(y_enc, "weight", len(self.classes_)).numpy()

    def _class_weight_kwargs(self):
        """Criterion keyword arguments carrying ``class_weight_``."""
        cw = self.class_weight_
        if cw is None:
            return {}
        cw = torch.as_tensor(cw, dtype=torch.float32)
        if self.target_type_ == _MULTILABEL:
            return {"pos_weight": cw}
        if self.n_outputs_ == 1:
            return {"weight": cw[:1], "pos_weight": cw[1:] / cw[:1]}
        return {"weight": cw}

    def _check_threshold(self):
        try:
            t = np.asarray(self.threshold, dtype=np.float64) if not isinstance(
                self.threshold, (str, bytes)) else None
        except (TypeError, ValueError):  # ["a"], None in a list...
            t = None
        if (t is None or holds_bool(self.threshold)  # True read as 1.0
                or not np.isfinite(t).all() or ((t < 0) | (t > 1)).any()):
            raise ValueError(
                f"threshold must hold probabilities in [0, 1], got {self.threshold!r}.")
        if self.target_type_ == _MULTILABEL:
            if t.ndim == 0:
                return np.full(self.n_outputs_, float(t))
            if t.shape != (self.n_outputs_,):
                raise ValueError(
                    f"threshold has shape {t.shape} but the classifier has "
                    f"{self.n_outputs_} labels; pass a scalar or an array of length "
                    f"{self.n_outputs_}.")
            return t
        if self.target_type_ == "multiclass":
            return None  # unused: predict takes the most probable class
        if t.ndim != 0:
            raise ValueError(
                f"threshold must be a scalar for a {self.target_type_} target, got "
                f"shape {t.shape}.")
        return float(t)

    def _binary_threshold(self):
        return self._check_threshold()

    # ------------------------------------------------------------------
    # initialisation of module, criterion, callbacks
    # ------------------------------------------------------------------
    @property
    def _default_callbacks(self):
        monitor = "valid_loss" if self._uses_validation() else "train_loss"
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("finite_loss", FiniteLoss()),
        ]
        if getattr(self, "target_type_", None) == _MULTILABEL:
            callbacks.append(("valid_auroc", EpochScoring(
                valid_macro_auroc, name="valid_auroc", lower_is_better=False)))
        else:
            callbacks.append(("valid_acc", EpochScoring(
                valid_accuracy, name="valid_acc", lower_is_better=False)))
        # Invalid values are reported by fit; get_params() must not fail on them.
        if self.lr_patience is not None:
            callbacks.append(("lr_scheduler", LRScheduler(
                policy=torch.optim.lr_scheduler.ReduceLROnPlateau, monitor=monitor,
                patience=self.lr_patience, factor=0.1)))
        if self.patience is not None:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor=monitor, patience=self.patience, load_best=True)))
        if self.grad_clip is not None:
            callbacks.append(("grad_clip", GradientNormClipping(self.grad_clip)))
        if isinstance(self.verbose, numbers.Real) and self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks.append(("print_log", _PrintLog()))
        return callbacks

    def initialize_callbacks(self):
        """Initialize the callbacks; with ``checkpoint_dir``, :class:`EpochCheckpoint` last.

        A user's scoring callback with skorch's default ``target_extractor``
        (such as ``EpochScoring("accuracy")``) is used through a copy whose
        targets are labels, as :meth:`predict` gives them, not the class
        indices the net trains on (:class:`~ecgsk.neural._callbacks.DecodedTargets`),
        with or without prediction caching
        (:class:`~ecgsk.neural._callbacks.LabelledTestData`).
        """
        super().initialize_callbacks()
        for i, (name, cb) in enumerate(self.callbacks_):
            if (isinstance(cb, ScoringBase) and not isinstance(cb, PassthroughScoring)
                    and cb.target_extractor is to_numpy
                    and cb.scoring not in (valid_accuracy, valid_macro_auroc)):
                cb = copy.copy(cb)  # the user's instance, a parameter, stays as it is
                cb.target_extractor = DecodedTargets(self)
                if hasattr(cb, "get_test_data"):  # EpochScoring, not BatchScoring
                    cb.get_test_data = LabelledTestData(cb)
                self.callbacks_[i] = name, cb
        if self._checkpoint_folder() is not None:
            # After the user's callbacks too: it restores and saves every other one.
            self.callbacks_.append(("ecgsk_checkpoint", EpochCheckpoint()))
        return self

    def initialize(self):
        """Initialize module, criterion, optimizer and callbacks; return self.

        Called by ``fit``. Called directly (e.g. before ``load_params``), it
        needs ``module__in_channels`` and ``module__n_classes`` when it runs
        before any fit, and cannot predict until fitted.
        """
        self._validate_hyperparams()
        super().initialize()
        self.grad_scaler_ = self._make_grad_scaler()
        return self

    def _check_builds(self):
        """Build the module and optimizer as ``fit`` will, on torch's meta device.

        A setting that the network or the optimizer refuses
        (``module__depth=0``, ``optimizer__weight_decay=-1``) is then refused
        before any record is read (``python -m ecgsk.compare`` and ``tune``
        call this through ``validate_built``). No weights are made. The
        ``in_channels`` and ``n_classes`` that ``fit`` takes from the data keep
        the module's defaults. Not built: an instance (``fit`` copies it), a
        factory that is not a class, a class that needs an argument with no
        default, a pretrained network (it would download its weights), and a
        module whose construction the meta device cannot run.
        """
        module, kwargs = self.module, self.get_params_for("module")
        if not isinstance(module, type) or kwargs.get("pretrained"):
            return
        try:
            params = inspect.signature(module).parameters.values()
        except (TypeError, ValueError):
            return
        if any(p.default is inspect.Parameter.empty and p.name not in kwargs
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params):
            return
        try:
            with torch.device("meta"):
                built = module(**kwargs)
        except (NotImplementedError, RuntimeError):  # an operation meta tensors lack
            return
        if not isinstance(built, nn.Module):
            return
        args, kwargs = self.get_params_for_optimizer("optimizer", built.named_parameters())
        self.optimizer(*args, **kwargs)

    def initialize_module(self):
        """Build ``module_``, filling ``in_channels`` / ``n_classes`` from the data."""
        kwargs = self.get_params_for("module")
        module = self.module
        if isinstance(module, nn.Module) and not kwargs:
            # The instance is where every fit starts: a copy is trained, never the
            # instance, so that a refit, a clone and each CV fold start from it alike.
            self.module_ = copy.deepcopy(module)
            return self
        if isinstance(module, nn.Module):
            # skorch would build type(module)(**kwargs): a new network of default size,
            # without the instance's weights or settings.
            raise ValueError(
                f"module is a {type(module).__name__} instance, so {_names('module', kwargs)} "
                "cannot be applied to it without building a new network from its class, "
                "losing its weights and settings: pass the class with these settings "
                "(module__in_channels and module__n_classes are filled from the data), or "
                "an instance built with them.")
        defaults = {}
        if hasattr(self, "n_leads_in_") and _accepts(module, "in_channels"):
            defaults["in_channels"] = self.n_leads_in_
        if hasattr(self, "n_outputs_") and _accepts(module, "n_classes"):
            defaults["n_classes"] = self.n_outputs_
        kwargs = {**defaults, **kwargs}
        self.module_ = self.initialized_instance(module, kwargs)
        return self

    def _criterion_factory(self):
        """The criterion class or instance and the keyword arguments it gets."""
        crit = self.criterion
        weights = self._class_weight_kwargs()
        if not isinstance(crit, str):
            factory = crit if isinstance(crit, type) else type(crit)
            kwargs = {k: v for k, v in weights.items() if _accepts(factory, k)}
            if len(kwargs) < len(weights):
                raise ValueError(
                    f"class_weight passes {' and '.join(weights)} to the criterion, "
                    f"which {factory.__name__} does not accept"
                    + (f" ({' and '.join(k for k in weights if k not in kwargs)})."
                       if kwargs else "."))
            if kwargs and not isinstance(crit, type):
                # skorch would build type(crit)(**kwargs), without the instance's settings.
                raise ValueError(
                    f"criterion is a {factory.__name__} instance, so class_weight's "
                    f"{' and '.join(kwargs)} cannot be given to it without building a new "
                    "one from its class, losing its settings: pass the class with them as "
                    f"criterion__* parameters (criterion={factory.__name__}, "
                    "criterion__label_smoothing=0.1, say), or class_weight=None.")
            if issubclass(factory, (nn.CrossEntropyLoss, nn.NLLLoss)) and \
                    self.target_type_ == _MULTILABEL:
                # It would train one softmax over the labels, and predict sigmoids.
                raise ValueError(
                    f"criterion={factory.__name__} needs a binary or multiclass target; use "
                    "'bce' or 'focal' (or BCEWithLogitsLoss) for a multi-label target.")
            if issubclass(factory, (nn.BCEWithLogitsLoss, nn.BCELoss)) and \
                    self.target_type_ == "multiclass":
                # One logit per class against class indices: torch's shape error, named here.
                raise ValueError(
                    f"criterion={factory.__name__} needs a binary or multi-label target; use "
                    "'ce' or 'focal' (or CrossEntropyLoss) for a multiclass target.")
            if issubclass(factory, FocalLoss):
                return crit, {**self._focal_mode(crit), **kwargs}
            return crit, kwargs
        multilabel = self.target_type_ == _MULTILABEL
        if crit == "bce" and self.target_type_ == "multiclass":
            raise ValueError("criterion='bce' needs a binary or multi-label target; "
                             "use 'ce' or 'focal' for a multiclass target.")
        if crit == "ce" and multilabel:
            raise ValueError("criterion='ce' needs a binary or multiclass target; "
                             "use 'bce' or 'focal' for a multi-label target.")
        if crit == "focal":
            if self._loss_activation() == "softmax":
                return FocalLoss, {"mode": "multiclass", "alpha": None, **weights}
            mode = "multilabel" if multilabel else "binary"
            return FocalLoss, {"mode": mode, **weights}
        if self._loss_activation() == "sigmoid":
            return nn.BCEWithLogitsLoss, weights
        return nn.CrossEntropyLoss, weights

    def _focal_mode(self, crit):
        """The ``mode`` a FocalLoss class gets from the target (as ``"focal"`` does).

        An instance must be in that mode already: its own would fail at the
        first batch with shapes that do not name the criterion.
        """
        multilabel = self.target_type_ == _MULTILABEL
        softmax = self._loss_activation() == "softmax"
        mode = "multiclass" if softmax else "multilabel" if multilabel else "binary"
        if not isinstance(crit, type):
            if crit.mode != mode:
                raise ValueError(
                    f"criterion is a FocalLoss(mode={crit.mode!r}) but this "
                    f"{self.target_type_} target needs mode={mode!r}; pass "
                    "criterion='focal' (its mode follows the target) or that mode.")
            return {}
        if "mode" in self.get_params_for("criterion"):
            return {}
        return {"mode": mode, "alpha": None} if softmax else {"mode": mode}

    def initialize_criterion(self):
        """Build ``criterion_`` for the target type; ``criterion__*`` win."""
        if not hasattr(self, "target_type_"):
            if isinstance(self.criterion, str):
                raise NotFittedError(
                    f"criterion={self.criterion!r} is chosen from the target type; "
                    "call fit, or pass a torch.nn.Module class as criterion.")
            self.criterion_ = self.initialized_instance(
                self.criterion, self.get_params_for("criterion"))
            return self
        factory, defaults = self._criterion_factory()
        kwargs = {**defaults, **self.get_params_for("criterion")}
        self.criterion_ = self.initialized_instance(factory, kwargs)
        return self

    def _make_grad_scaler(self):
        device = torch.device(self.device) if self.device is not None else None
        if (self.amp and device is not None and device.type == "cuda"
                and self.amp_dtype == "float16"):
            return torch.amp.GradScaler("cuda")
        return None

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------
    @contextlib.contextmanager
    def _seeded(self, seed):
        """Seed torch and numpy inside, restore their global states after."""
        if seed is None:
            yield
            return
        device = self._torch_device()
        cuda = []
        if device.type == "cuda":
            cuda = [device.index if device.index is not None else torch.cuda.current_device()]
        np_state = np.random.get_state()
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            np.random.seed(seed % 2**32)
            try:
                yield
            finally:
                np.random.set_state(np_state)

    def _checkpoint_folder(self):
        """``checkpoint_dir``, else the folder of an enclosing :func:`checkpoints` block."""
        if self.checkpoint_dir is not None:  # "~/ckpt" was a folder named "~" in the cwd
            return os.path.expanduser(os.fspath(self.checkpoint_dir))
        return default_checkpoint_dir()

    def _checkpoint_path(self, X, y_enc):
        """The checkpoint file of this fit and its fingerprint (None, None without one)."""
        folder = self._checkpoint_folder()
        if folder is None:
            return None, None
        fingerprint = fit_fingerprint(self, X, y_enc)
        if fingerprint is None:
            warnings.warn(f"{type(self).__name__}: a parameter cannot be hashed, so this fit "
                          "writes no checkpoint (checkpoint_dir is ignored).", stacklevel=3)
            return None, None
        return os.path.join(os.fspath(folder), f"ecgnet-{fingerprint}.pt"), fingerprint

    #: The ``groups`` of the fit under way, for :meth:`get_split_datasets` (None after it).
    _fit_groups = None

    def _run_fit(self, X, y_enc, initialize, routing, fit_params, groups=None):
        # A fresh fit resumes from its checkpoint, if an interrupted run of it left one;
        # partial_fit (a first one too) and warm starts neither write nor read one.
        fresh_fit = initialize and routing == "fit"
        split_on = y_enc if groups is None else (y_enc, groups)  # other groups, other split
        path, fingerprint = self._checkpoint_path(X, split_on) if fresh_fit else (None, None)
        resume = read_checkpoint(path, fingerprint)
        rng = check_seed(self.random_state)
        torch_seed, split_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        if initialize or getattr(self, "split_seed_", None) is None:
            # A later partial_fit or warm fit validates on the records the first did,
            # whatever random_state (None, or a RandomState that moved on) draws now.
            self.split_seed_ = split_seed
        if resume is not None and resume.get("split_seed") is not None:
            # the records the saved epochs validated on (and whose complement they weighed)
            self.split_seed_ = resume["split_seed"]
        self._weigh_by_training(X, y_enc, fit_params, groups, built=not initialize)
        if self.random_state is None:
            torch_seed = None  # use (and advance) torch's global generator
        elif not initialize:
            # A later partial_fit or warm fit seeded alike replayed the first's crops,
            # augmentations, shuffles and balanced draws; the epochs done tell it apart
            # (and keep a sequence of calls reproducible).
            done = len(self.history_) if hasattr(self, "history_") else 0
            torch_seed = int(np.random.SeedSequence([torch_seed, done]).generate_state(1)[0]
                             % (2**31 - 1))
        # skorch ends training quietly on any KeyboardInterrupt (early stopping raises
        # one); a user's Ctrl-C must still stop the caller.
        try:
            with self._seeded(torch_seed), sigint_propagates():
                if initialize:
                    self.initialize()
                resume = self._resumable(resume, path)
                if resume is not None:
                    fit_params = {**fit_params,
                                  "epochs": max(self.max_epochs - resume["epochs"], 0)}
                self.train_generator_ = torch.Generator(device=self._torch_device()).manual_seed(
                    _draw_seed())
                checkpoint = next((cb for _, cb in self.callbacks_
                                   if isinstance(cb, EpochCheckpoint)), None)
                if checkpoint is not None:
                    checkpoint.path, checkpoint.fingerprint = path, fingerprint
                    checkpoint.resume = resume
                self._fit_groups = groups
                try:
                    super().partial_fit(X, y_enc, _routing_method=routing, **fit_params)
                finally:
                    del self._fit_groups  # back to the class's None: nothing is pickled
        except (KeyboardInterrupt, SystemExit):
            raise  # interrupted (Ctrl-C, SIGTERM): the checkpoint stays for the rerun
        except BaseException:
            remove_checkpoint(path)  # an error (or a pruned trial): nothing to resume
            raise
        remove_checkpoint(path)  # finished: a later fit of the same data starts anew
        return self

    def _resumable(self, resume, path):
        """``resume`` if its weights fit the module just built, else None, with a warning.

        The fingerprint does not see every edit of a user's own network (a
        class it builds on, say): weights of another shape would fail deep
        in the first epoch, and the error would delete the checkpoint. The
        keys and shapes that ``load_state_dict`` checks are compared here,
        without touching the module's fresh initialisation.
        """
        if resume is None:
            return None
        own, saved = self.module_.state_dict(), resume.get("module")
        if not isinstance(saved, dict):
            why = "no module state"
        elif set(own) != set(saved):
            key = sorted(set(own) ^ set(saved))[0]
            why = f"{'missing' if key in own else 'unexpected'} key {key!r}"
        else:
            key = next((k for k in own if getattr(own[k], "shape", None)
                        != getattr(saved[k], "shape", None)), None)
            if key is None:
                return resume
            why = (f"size mismatch for {key}: {tuple(saved[key].shape)} saved, "
                   f"{tuple(own[key].shape)} now")
        warnings.warn(
            f"the checkpoint {path} holds weights that do not fit "
            f"{type(self.module_).__name__} as it is now (was its code changed?): {why}. "
            "The fit starts from its first epoch and overwrites it.", RuntimeWarning,
            stacklevel=4)
        return None

    def check_is_fitted(self, attributes=None, *args, **kwargs):
        """skorch's check, refusing too a net whose fresh fit failed (:meth:`fit`).

        Such a net keeps the module it built, untrained; skorch alone would
        let ``save_params`` or ``forward`` use it.
        """
        if not getattr(self, "initialized_", False):
            from skorch.exceptions import NotInitializedError

            raise NotInitializedError(
                f"This {type(self).__name__} is not initialized: fit it (or call "
                ".initialize()) first.")
        return super().check_is_fitted(attributes, *args, **kwargs)

    @contextlib.contextmanager
    def _unfitted_on_error(self, reset):
        """A fresh fit that fails leaves the net unfitted, not half-set-up.

        Its classes and module are set before the training can fail (a
        validation split that leaves no training record): predicting from
        that untrained module would pass for a fitted net. A training that
        diverges leaves it unfitted too, a warm start or ``partial_fit``
        included: its weights are those of the diverged epoch. An interrupted
        fit (Ctrl-C) keeps the epochs it trained, as skorch does.
        """
        try:
            yield
        except Exception as exc:
            if reset or isinstance(exc, TrainingDiverged):  # weights of a diverged epoch
                self._forget_fit()
            raise

    def _forget_fit(self):
        """Unfitted again: ``predict`` raises NotFittedError until the next ``fit``."""
        self.initialized_ = False
        for name in ("classes_", "target_type_", "n_outputs_", "n_leads_in_", "n_samples_in_"):
            self.__dict__.pop(name, None)

    def set_params(self, **params):
        """Set parameters, as :meth:`skorch.NeuralNet.set_params` does.

        skorch builds the module of an initialized net anew when ``module``,
        a ``module__*`` parameter or ``compile`` is set, even to the value it
        had: the trained weights are gone. Setting ``patience``,
        ``lr_patience``, ``grad_clip``, ``valid_size``, ``train_split`` or
        ``checkpoint_dir`` builds the callbacks anew, so that a warm start
        or :meth:`partial_fit` trains with them. A fitted net whose module is so
        rebuilt is no longer fitted (``predict`` raises
        :class:`~sklearn.exceptions.NotFittedError` until the next ``fit``)
        instead of predicting with untrained weights.

        ``augment__<name>`` sets a parameter of ``augment`` (an
        :class:`~ecgsk.preprocessing.Augmenter`, say), as sklearn sets a
        nested estimator's, after ``augment`` itself when both are given.
        ``iterator_train__*``, ``iterator_valid__*`` and ``dataset__*`` are set
        on a fitted net too (``iterator_valid__batch_size`` before a large
        ``predict``), and rebuild nothing; skorch 1.4 alone raises there.

        Returns
        -------
        self : ECGNetClassifier
        """
        # skorch would store augment__x as an attribute of its own, which the next fit
        # refuses as an unknown argument; get_params(deep=True) lists them as sklearn does.
        nested = {key.split("__", 1)[1]: params.pop(key)
                  for key in [k for k in params if k.startswith("augment__")]}
        fitted, before = self.__sklearn_is_fitted__(), getattr(self, "module_", None)
        # skorch 1.4 raises "Something went wrong, please open an issue" when an initialized
        # net is given only these; they rebuild nothing, so they are stored as skorch stores
        # any prefixed parameter (the next DataLoader reads them).
        loader = {key: params.pop(key) for key in [k for k in params
                                                   if k.startswith(_LOADER_PREFIXES)]}
        super().set_params(**params)
        for key, value in loader.items():
            setattr(self, key, value)
            self._params_to_validate.add(key)
        if nested:
            if not hasattr(self.augment, "set_params"):
                raise ValueError(
                    f"augment__{next(iter(nested))} is set, but augment={self.augment!r} has "
                    "no set_params: set augment itself.")
            self.augment.set_params(**nested)
        if fitted and getattr(self, "module_", None) is not before:
            self._forget_fit()
        if getattr(self, "initialized_", False) and _CALLBACK_PARAMS & set(params):
            # The default callbacks are built from these: a warm start or partial_fit
            # would otherwise train on with the old ones.
            self.initialize_callbacks()
        return self

    def fit(self, X, y, groups=None, **fit_params):
        """Fit the network on signals ``X`` and labels ``y``.

        The module is built anew unless ``warm_start=True`` and the net is
        already fitted.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Signals (2-D input is read as one lead).
        y : array-like of shape (n_records,) or (n_records, n_labels)
            Labels (any type), or a 0/1 indicator matrix (ndarray or
            DataFrame) for multi-label classification.
        groups : array-like of shape (n_records,) or None, default=None
            Patient (or other group) of each record. The validation split
            of ``train_split="auto"`` then holds whole groups out
            (:class:`~sklearn.model_selection.GroupShuffleSplit`), so that
            early stopping and the learning-rate schedule never validate on
            a patient the network trains on; a ``train_split`` callable gets
            them as ``groups=``. In a pipeline: ``fit(X, y, net__groups=g)``.
        **fit_params : dict
            Passed to the module's ``forward`` and to ``train_split``;
            ``sample_weight`` is refused (see ``class_weight``).

        Returns
        -------
        self : ECGNetClassifier

        Raises
        ------
        ValueError
            If the training diverges: a loss becomes NaN or infinite, or
            ``sample_weight`` is passed.
        """
        self._refuse_sample_weight(fit_params)
        reset = not (self.warm_start and self.__sklearn_is_fitted__())
        with self._unfitted_on_error(reset):
            X, y_enc = self._check_fit_data(X, y, reset, warm_fit=not reset)
            return self._run_fit(X, y_enc, reset, "fit", fit_params,
                                 groups=self._check_groups(groups, len(X)))

    def partial_fit(self, X, y, classes=None, groups=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        With an int ``random_state`` each call draws its own crops,
        augmentations and batches (seeded by the epochs done before it), as
        the epochs of one :meth:`fit` do; the same sequence of calls repeats
        exactly. The validation split stays the same records.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
        y : array-like of shape (n_records,) or (n_records, n_labels)
        classes : array-like or None, default=None
            All class labels, needed on the first call when a batch of ``y``
            may not show every class (binary/multiclass targets). A label matrix
            holds every label in its columns: ``classes`` may then be their labels
            or the values 0 and 1 of the matrix (``np.unique(y)``, which
            :func:`~sklearn.model_selection.learning_curve` passes).
        groups : array-like of shape (n_records,) or None, default=None
            Patient of each record, for the validation split (see :meth:`fit`).
        **fit_params : dict
            Passed to the module's ``forward`` and to ``train_split``.

        Returns
        -------
        self : ECGNetClassifier
        """
        self._refuse_sample_weight(fit_params)
        reset = not self.__sklearn_is_fitted__()
        with self._unfitted_on_error(reset):
            X, y_enc = self._check_fit_data(X, y, reset, classes=classes)
            return self._run_fit(X, y_enc, reset, "partial_fit", fit_params,
                                 groups=self._check_groups(groups, len(X)))

    @staticmethod
    def _refuse_sample_weight(fit_params):
        # Fit parameters go to the module's forward, which failed with "forward() got an
        # unexpected keyword argument 'sample_weight'".
        if "sample_weight" in fit_params:
            raise ValueError("ECGNetClassifier does not take sample_weight; weight the classes "
                             "with class_weight='balanced' (or a dict) or draw them evenly "
                             "with balanced_sampling=True.")

    @staticmethod
    def _check_groups(groups, n_records):
        """``groups`` as a 1-D array of one group per record, or None."""
        if groups is None:
            return None
        groups = np.asarray(groups)
        if groups.ndim != 1 or len(groups) != n_records:
            raise ValueError(f"groups must hold one group per record ({n_records}), got "
                             f"shape {groups.shape}.")
        check_label_types(groups, "groups", "group")  # numpy failed sorting None and str
        return groups

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split into training and validation datasets (see ``train_split``)."""
        dataset = self.get_dataset(X, y)
        train_split = self.train_split
        groups = self._fit_groups
        if isinstance(train_split, str):
            train_split = (self._auto_valid_split(y, groups) if self.valid_size is not None
                           else None)
        if not train_split:
            return dataset, None
        if groups is not None:
            fit_params = {**fit_params, "groups": groups}
        if y is None:
            return train_split(dataset, **fit_params)
        return train_split(dataset, y, **fit_params)

    def _auto_valid_split(self, y, groups=None):
        from sklearn.model_selection import (
            GroupShuffleSplit,
            ShuffleSplit,
            StratifiedShuffleSplit,
        )

        n = len(y) if groups is None else len(np.unique(groups))
        size = self.valid_size
        what = "records" if groups is None else "groups"
        n_valid = int(size) if isinstance(size, numbers.Integral) else math.ceil(size * n)
        if n_valid >= n:
            raise ValueError(
                f"valid_size={size!r} leaves no training {what} out of {n}; lower it "
                "or set train_split=None.")
        if groups is not None:  # whole patients out; GroupShuffleSplit cannot stratify
            cv = GroupShuffleSplit(n_splits=1, test_size=size,
                                   random_state=getattr(self, "split_seed_", None))
            return ValidSplit(cv, stratified=False)
        stratify = False
        if self.target_type_ != _MULTILABEL:
            counts = np.bincount(np.asarray(y).astype(np.int64))
            k = np.count_nonzero(counts)
            stratify = counts[counts > 0].min() >= 2 and n_valid >= k and n - n_valid >= k
        seed = getattr(self, "split_seed_", None)
        if stratify:
            cv = StratifiedShuffleSplit(n_splits=1, test_size=size, random_state=seed)
        else:
            cv = ShuffleSplit(n_splits=1, test_size=size, random_state=seed)
        return ValidSplit(cv, stratified=stratify)

    def get_iterator(self, dataset, training=False):
        """DataLoader over ``dataset``; balanced sampler when asked for.

        With ``balanced_sampling=True`` the training iterator draws from a
        :class:`~torch.utils.data.WeightedRandomSampler` built from the labels
        of exactly the ``dataset`` passed here (the training subset after the
        internal validation split), seeded from ``random_state``.

        A training epoch whose last batch would hold a single record drops it
        when the module has batch normalisation, which cannot train on one
        record (one record in ``batch_size``, a different one each shuffled
        epoch); other sizes and modules keep every batch.
        """
        if not training:
            kwargs = self.get_params_for("iterator_valid")
            kwargs["batch_size"] = self._loader_batch_size(dataset, kwargs)
            return self.iterator_valid(dataset, **kwargs)
        kwargs = self.get_params_for("iterator_train")
        if self.balanced_sampling:
            for key in ("sampler", "batch_sampler"):
                if kwargs.get(key) is not None:
                    raise ValueError(
                        f"balanced_sampling=True builds its own sampler; do not also pass "
                        f"iterator_train__{key}.")
            kwargs.pop("shuffle", None)
            y = dataset_labels(dataset)
            if y is None:
                raise ValueError(
                    "balanced_sampling=True needs a dataset exposing its labels as .y; "
                    f"got {type(dataset).__name__}.")
            generator = torch.Generator().manual_seed(_draw_seed())
            self.sampler_generator_ = generator  # its state is checkpointed (checkpoint_dir)
            kwargs["sampler"] = make_balanced_sampler(y, generator=generator)
        kwargs["batch_size"] = self._loader_batch_size(dataset, kwargs)
        if self._lone_last_batch(dataset, kwargs):
            kwargs["drop_last"] = True
        elif self._only_lone_batches(dataset, kwargs):
            raise ValueError(
                f"batch_size={kwargs['batch_size']} with {len(dataset)} training record(s): "
                f"every batch holds one record, and {type(self.module_).__name__} has batch "
                "normalisation over one value per channel, which torch cannot train on one "
                "record; use batch_size of 2 or more (and 2 training records at least).")
        return self.iterator_train(dataset, **kwargs)

    def _loader_batch_size(self, dataset, kwargs):
        """The batch size of a DataLoader, as skorch's ``get_iterator`` reads it (-1: all).

        A numpy integer becomes an ``int``: torch's sampler refuses any other type, so
        ``GridSearchCV`` over ``np.array([8, 16])`` failed with "batch_size should be a
        positive integer value, but got batch_size=8".
        """
        batch_size = kwargs.get("batch_size", self.batch_size)
        if batch_size == -1:
            return len(dataset)
        if isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool):
            return int(batch_size)
        return batch_size

    def _only_lone_batches(self, dataset, kwargs):
        """Whether every training batch holds one record that the module cannot train on."""
        batch_size = kwargs.get("batch_size")
        if kwargs.get("batch_sampler") is not None or not isinstance(
                batch_size, numbers.Integral):
            return False
        return (batch_size == 1 or len(dataset) == 1) and self._batch_norm_on_vectors(dataset)

    def _lone_last_batch(self, dataset, kwargs):
        """Whether the last training batch would hold one record that the module cannot train on.

        That is a batch-normalisation layer that sees one value per channel
        (after pooling, as in ResNet1d's head, or over a time axis strided
        down to one sample, as in SE-ResNeXt on crops of 32 samples or
        fewer): torch refuses to train it on one record. Batch normalisation
        over a longer time axis trains on one record, so such a module keeps
        it, as it always did.
        """
        n, batch_size = len(dataset), kwargs.get("batch_size")
        if (kwargs.get("batch_sampler") is not None or kwargs.get("drop_last")
                or not isinstance(batch_size, numbers.Integral) or batch_size < 2
                or n % batch_size != 1 or n == 1):
            return False
        return self._batch_norm_on_vectors(dataset)

    def _batch_norm_on_vectors(self, dataset):
        """Whether a batch-norm layer of ``module_`` gets one value per channel of a record.

        One record is passed, in eval mode.
        """
        module = getattr(self, "module_", None)
        norms = [] if module is None else [
            m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return False
        values = []  # values per channel of one record, at each batch-norm layer
        hooks = [m.register_forward_pre_hook(
                     lambda _, args: values.append(int(np.prod(args[0].shape[2:]))))
                 for m in norms]
        was_training = module.training
        try:
            x = to_tensor(dataset[0][0], device=self.device)
            x = {k: v[None] for k, v in x.items()} if isinstance(x, dict) else x[None]
            if self.crop_length is not None and not isinstance(x, dict):
                x = x[..., :self.crop_length]  # the shape the training batches have
            module.eval()
            with torch.no_grad():
                self.infer(x)
        except Exception:  # noqa: BLE001 -- cannot tell: drop the lone record, which is safe
            return True
        finally:
            for hook in hooks:
                hook.remove()
            module.train(was_training)
        return 1 in values  # 2-D input, or a time axis pooled down to one sample

    # ------------------------------------------------------------------
    # training, validation and inference steps
    # ------------------------------------------------------------------
    def _autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        device_type = self._torch_device().type
        dtype = torch.float16 if (device_type == "cuda" and self.amp_dtype == "float16") \
            else torch.bfloat16
        return torch.autocast(device_type=device_type, dtype=dtype)

    def _torch_device(self):
        # device=None leaves tensors where they are: the loader's batches are on the CPU.
        return torch.device(self.device) if self.device is not None else torch.device("cpu")

    def _train_generator(self):
        gen = getattr(self, "train_generator_", None)
        # "cuda" is not equal to the "cuda:0" a generator reports: compared so, a new
        # generator was drawn at every batch on a GPU, and a checkpoint's went unused.
        if gen is None or not _same_device(gen.device, self._torch_device()):
            gen = torch.Generator(device=self._torch_device()).manual_seed(_draw_seed())
            self.train_generator_ = gen
        return gen

    def _augment_batch(self, x):
        aug = self.augment
        gen = self._train_generator()
        if hasattr(aug, "augment_batch"):
            out = aug.augment_batch(x, generator=gen)
        else:
            out = x
            for op in (aug if isinstance(aug, (list, tuple)) else [aug]):
                out = op(out, generator=gen)
        if not isinstance(out, torch.Tensor) or out.shape[:2] != x.shape[:2]:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"augment must return a tensor (batch, leads, samples) like its input "
                f"{tuple(x.shape)}, got {shape}.")
        return out

    def infer(self, x, **fit_params):
        """The module's output on ``x``; a lead-count mismatch it could not be told of is named."""
        try:
            return super().infer(x, **fit_params)
        except RuntimeError as exc:
            module = self.module
            told = getattr(self, "module__in_channels", None) is not None or (
                not isinstance(module, torch.nn.Module) and _accepts(module, "in_channels"))
            found = re.search(r"to have (\d+) channels, but got (\d+) channels", str(exc))
            leads = x.shape[1] if getattr(x, "ndim", 0) >= 2 else None
            # Only the input's leads: a layer of the module that gets what it was not built
            # for is the module's own error.
            if told or found is None or int(found[2]) != leads or int(found[1]) == leads:
                raise
            # torch's "expected input[...] to have 12 channels, but got 1": the module was
            # built without the data's lead count, which fit passes only as in_channels.
            if isinstance(module, torch.nn.Module):
                how = (f"module is a {type(module).__name__} instance: build it for "
                       f"{self.n_leads_in_} lead(s), or pass its class")
            else:
                how = (f"{getattr(module, '__name__', module)} takes no in_channels, which fit "
                       f"fills from the data: give it {self.n_leads_in_} lead(s) through its "
                       "own parameter (module__<name>)")
            raise ValueError(f"The module failed on a batch of shape {tuple(x.shape)}: {exc}; "
                             f"{how}.") from exc

    def _check_logits(self, y_pred):
        if isinstance(y_pred, tuple):
            y_pred = y_pred[0]
        if y_pred.ndim == 1 and self.n_outputs_ == 1:
            y_pred = y_pred[:, None]
        if y_pred.ndim != 2 or y_pred.shape[1] != self.n_outputs_:
            module = self.module
            if isinstance(module, torch.nn.Module):  # built already: nothing is filled in
                how = (f"module is a {type(module).__name__} instance: build it with "
                       f"{self.n_outputs_} outputs, or pass its class")
            elif not _accepts(module, "n_classes"):
                # Not filled from the data: the advice to set module__n_classes failed with
                # "unexpected keyword argument 'n_classes'".
                how = (f"{getattr(module, '__name__', module)} takes no n_classes, which fit "
                       f"fills from the data: give it {self.n_outputs_} outputs through its "
                       "own parameter (module__<name>)")
            else:
                how = f"build it with n_classes={self.n_outputs_} (module__n_classes)"
            raise ValueError(
                f"The module returned logits of shape {tuple(y_pred.shape)}, but "
                f"(batch, {self.n_outputs_}) is needed for this {self.target_type_} "
                f"target; {how}.")
        return y_pred

    def _logits_to_proba(self, logits):
        """Per-class probabilities from record logits ``(n, n_outputs)``."""
        logits = self._check_logits(logits).float()
        if self.target_type_ == _MULTILABEL:
            return torch.sigmoid(logits)
        if self.n_outputs_ == 1:
            p = torch.sigmoid(logits[:, 0])
            return torch.stack([1 - p, p], dim=1)
        return torch.softmax(logits, dim=1)

    def _forward_eval(self, Xi, **fit_params):
        """Record logits: one forward pass, or aggregated sliding windows."""
        Xi = to_tensor(Xi, device=self.device)
        length = self.crop_length
        if length is None:
            with self._autocast():
                out = self.infer(Xi, **fit_params)
            return self._check_logits(out).float()
        stride = self.window_stride or max(1, length // 2)
        windows = sliding_windows(Xi, length, stride)  # (batch, n_windows, leads, length)
        batch, n_windows = windows.shape[:2]
        flat = windows.reshape(batch * n_windows, *windows.shape[2:])
        # At most a training batch of windows per pass (or as many as the batch has
        # records): every window at once took 2.2 GB for 64 records of 60 s.
        size = self.batch_size if isinstance(self.batch_size, int) and self.batch_size > 0 \
            else len(flat)
        chunk = max(batch, size)
        with self._autocast():
            out = torch.cat([self._check_logits(self.infer(flat[i:i + chunk], **fit_params))
                             for i in range(0, len(flat), chunk)])
        out = out.float().reshape(batch, n_windows, -1)
        return aggregate_window_logits(out, self.window_aggregate, self._loss_activation())

    def train_step_single(self, batch, **fit_params):
        """Forward and backward on one (augmented, cropped) training batch."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        if self.augment is not None:
            Xi = self._augment_batch(Xi)
        if self.crop_length is not None:
            Xi = random_crop(Xi, self.crop_length, generator=self._train_generator())
        with self._autocast():
            y_pred = self.infer(Xi, **fit_params)
        y_pred = self._check_logits(y_pred).float()
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is not None:
            scaler.scale(loss).backward()
        else:
            loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def train_step(self, batch, **fit_params):
        """One optimizer step; with a float16 ``GradScaler`` the gradients are
        unscaled before callbacks (gradient clipping) see them."""
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is None:
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        optimizers = [getattr(self, name + "_") for name in self._optimizers]
        for optimizer in optimizers:
            scaler.unscale_(optimizer)
        self.notify("on_grad_computed",
                    named_parameters=TeeGenerator(self.get_all_learnable_params()),
                    batch=batch, training=True)
        for optimizer in optimizers:
            scaler.step(optimizer)
        scaler.update()
        return step

    def validation_step(self, batch, **fit_params):
        """Loss and record logits of a validation batch (windows if cropping)."""
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad():
            y_pred = self._forward_eval(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def evaluation_step(self, batch, training=False):
        """Record logits of a prediction batch (windows if cropping)."""
        self._check_fitted()
        Xi, _ = unpack_data(batch)
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self._forward_eval(Xi)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Criterion on logits, with targets shaped for the target type."""
        y_pred = self._check_logits(y_pred).float()
        y_true = to_tensor(y_true, device=self.device)
        if self.target_type_ == _MULTILABEL:
            y_true = y_true.float()
        elif self.n_outputs_ == 1:
            y_pred = y_pred[:, 0]
            y_true = y_true.float().reshape(-1)
        else:
            y_true = y_true.long().reshape(-1)
        return self.criterion_(y_pred, y_true)

    # ------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------
    def _get_predict_nonlinearity(self):
        nonlin = self.predict_nonlinearity
        if isinstance(nonlin, str) and nonlin == "auto":
            return self._logits_to_proba
        if not callable(nonlin):
            # skorch's None returns logits: predict would threshold them as probabilities.
            raise ValueError(
                f"predict_nonlinearity must be 'auto' or a callable that turns the module's "
                f"output into probabilities, got {nonlin!r}; for the logits, call "
                f"{type(self).__name__}.forward(X).")
        return super()._get_predict_nonlinearity()

    def _check_predict_X(self, X):
        self._check_fitted()
        self._check_windows()  # set_params after fit: a stride past the crop skips samples
        _check_device(self.__dict__.get("device"))  # a CUDA device on a machine without one
        if isinstance(X, torch.utils.data.Dataset):  # as skorch's scoring callbacks pass it
            return X
        return self._check_X(X, reset=False)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)

        Returns
        -------
        proba : ndarray of shape (n_records, n_classes) or (n_records, n_labels)
            Softmax probabilities for multiclass targets, ``[1 - p, p]`` for
            binary targets, per-label sigmoid probabilities for multi-label
            targets; aggregated over windows when ``crop_length`` is set.
        """
        X = self._check_predict_X(X)
        return super().predict_proba(X)

    def predict(self, X):
        """Predicted labels, or a 0/1 label matrix for multi-label targets.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)

        Returns
        -------
        y_pred : ndarray of shape (n_records,) or (n_records, n_labels)
            Labels from ``classes_`` (argmax, or ``p >= threshold`` for a
            binary target), or ``proba >= threshold`` per label as int 0/1.
        """
        proba = self.predict_proba(X)
        threshold = self._check_threshold()
        if self.target_type_ == _MULTILABEL:
            return (proba >= threshold).astype(np.int64)
        if self.target_type_ == "binary":  # one logit, or two (criterion="ce")
            return self.classes_[(proba[:, 1] >= threshold).astype(np.int64)]
        return self.classes_[proba.argmax(axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy of :meth:`predict` on ``X`` against ``y`` (subset accuracy for multi-label).

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
        y : array-like of shape (n_records,) or (n_records, n_labels)
            Labels of the kind the net was fitted on: a label matrix with as
            many columns (a DataFrame's matched by name where the first fit's
            were named too, as :meth:`partial_fit` does), or 1-D labels.
        sample_weight : array-like of shape (n_records,), default=None

        Returns
        -------
        score : float
        """
        self._check_fitted()
        shape = np.shape(y)
        if self.target_type_ == _MULTILABEL:
            if len(shape) != 2 or shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y must be a label matrix of {self.n_outputs_} columns, as the net was "
                    f"fitted on; got shape {shape}.")
            y = self._columns_by_name(*self._label_array(y))  # named columns: as fit reads
        elif len(shape) == 2 and shape[1] == 1:  # a column of labels, as fit takes it
            y = np.ravel(y)
        elif len(shape) != 1:
            raise ValueError(f"y must be 1-D {self.target_type_} labels, as the net was fitted "
                             f"on; got shape {shape}.")
        return super().score(X, y, sample_weight=sample_weight)
