"""ecgsk's best CinC 2017 pipeline: an SE network fused with rhythm and beat features.

The result of issue 8's measurements (``bench/quality.py``; numbers in
``BENCHMARKS.md``). Atrial fibrillation shows in the RR intervals and in the
missing P waves, so the network's probabilities are averaged (late fusion,
:class:`~ecgsk.ensemble.SoftVotingEnsemble`) with gradient boosting on
engineered features. The input is the record padded or cut to 30 s at
300 Hz, CinC 2017's own rate:

- ``seresnet``: :class:`ecgsk.nets.SEResNeXt1d` (``preset="small"``) on the
  record resampled to 100 Hz, standardised; trained on
  random 10 s crops with the five augmentations, and predicting the mean
  over half-overlapping 10 s windows; softmax over N, A, O and noisy,
  class-weighted cross-entropy, AdamW, early stopping; one member per seed;
- ``features``: statistical, wavelet, RR-interval
  (:class:`~ecgsk.features.RhythmFeatures`) and beat-morphology
  (:class:`~ecgsk.features.BeatFeatures`: P-wave consistency, premature
  beats, RR sample entropy; :class:`~ecgsk.features.BeatTemplate`: the
  median beat every 20 ms) features of the 300 Hz record
  (``feature_rate``), and histogram gradient boosting with balanced class
  weights. It weighs twice the network (``feature_weight``);
- ``dualnet`` (not in the default ``members``): the dual-input LSTM +
  spectrogram network without SE (the ``dualnet_l`` pipeline) on random
  10 s crops of the 300 Hz record. It is the strongest network alone, but
  fused with the features it scored no higher on the selection records
  (``BENCHMARKS.md``), for about 40 more minutes of training on one core.
"""

from pathlib import Path

import torch
from sklearn.pipeline import Pipeline

from ecgsk.compare import load_pipeline_module
from ecgsk.ensemble import check_members, late_fusion
from ecgsk.nets import SEResNeXt1d
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Augmenter, RepeatPadding, Resample, Standardizer

DATASET = "cinc2017"
TASK = "af"
SAMPLING_RATE = 300
LENGTH = 9000
#: Sampling rate of the network member (Hz): the input is resampled to it.
NETWORK_RATE = 100

MEMBERS = ("seresnet", "dualnet", "features")
# The dualnet member's pipeline, loaded at import: its source (and dualnet_se's) counts in
# this pipeline's hash, which a resumed comparison or tuning study checks.
_DUALNET_L = load_pipeline_module(str(Path(__file__).with_name("dualnet_l.py")))
#: The members of the default ensemble.
MEMBERS_DEFAULT = ("seresnet", "features")
#: Length of the dual-input network's training crops (samples at 300 Hz: 10 s).
DUALNET_CROP = 3000
#: Feature sets of the features member (names of ``make_feature_baseline``).
FEATURE_SETS = ("statistical", "rhythm", "wavelet", "beats", "template")


def network(*, se=True, cardinality=None, base_width=None, class_weight="balanced",
            balanced_sampling=False, criterion="auto", crop_length=1000, augment=True,
            max_epochs=30, batch_size=64, lr=3e-3, weight_decay=1e-2, patience=6, amp=None,
            repeat_padding=False, random_state=0, verbose=0):
    """The SE network member alone: 100 Hz -> standardizer -> SEResNeXt1d (small), 1 lead.

    ``crop_length`` (samples at 100 Hz) trains on random crops and predicts the mean
    over sliding windows (half-overlapping; ``None``: the whole record);
    ``augment`` applies the five augmentations of
    :class:`ecgsk.preprocessing.Augmenter` to every batch;
    ``balanced_sampling`` draws each epoch's records so that the classes are
    equally frequent (with ``class_weight=None``: one or the other).

    Parameters
    ----------
    se : bool, default=True
        Squeeze-and-excitation blocks in the network
        (:class:`~ecgsk.nets.SEResNeXt1d`); ``False`` gives the plain ResNeXt.
    cardinality : int or None, default=None
        Groups of the grouped convolutions; ``None`` keeps the small preset's 8.
    base_width : int or None, default=None
        Width per group (for 64 planes); ``None`` keeps the small preset's 4.
    class_weight : "balanced", dict or None, default="balanced"
        Class weights of the network's loss (see
        :class:`~ecgsk.neural.ECGNetClassifier`), also with ``balanced_sampling``
        (:func:`make_pipeline` then passes ``None``). ``None``: unweighted.
    balanced_sampling : bool, default=False
        Draw every training epoch so that the four classes are equally frequent;
        the loss is still weighted by ``class_weight`` unless it is ``None``.
    criterion : str or torch.nn.Module class or instance, default="auto"
        Loss of the network (``"auto"``: cross-entropy over the four classes;
        ``"focal"``: focal loss). See :class:`~ecgsk.neural.ECGNetClassifier`.
    crop_length : int or None, default=1000
        Train on random crops of this many samples at 100 Hz (10 s) and predict
        the mean over half-overlapping windows of that length; ``None``: the
        whole record.
    augment : bool, default=True
        Apply the five augmentations of :class:`~ecgsk.preprocessing.Augmenter`
        to every training batch.
    max_epochs : int, default=30
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=64
        Training and prediction batch size.
    lr : float, default=3e-3
        Learning rate of the AdamW optimizer (reduced tenfold when the
        validation loss has not improved for 3 epochs: ``lr_patience=2``).
    weight_decay : float, default=1e-2
        Weight decay of the AdamW optimizer (``optimizer__weight_decay`` of
        :class:`~ecgsk.neural.ECGNetClassifier`).
    patience : int or None, default=6
        Early stopping after ``patience`` epochs without improvement of the
        validation loss, restoring the best weights; ``None`` disables it.
    amp : bool or None, default=None
        Mixed precision (``torch.autocast``) in training and prediction;
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    repeat_padding : bool, default=False
        Fill the zero padding of records shorter than 30 s with repeats of
        the record (:class:`~ecgsk.preprocessing.RepeatPadding`), so that no
        training crop or prediction window is padding alone.
    random_state : int, default=0
        Seeds the weight initialisation, the validation split, the shuffling,
        the balanced sampler, the random crops and the augmentation. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``Resample (300 -> 100 Hz) -> Standardizer ->
        ECGNetClassifier(SEResNeXt1d)``, steps ``resample``, ``scale`` and ``net``
        (and ``repeat`` first with ``repeat_padding``).
    """
    return Pipeline(([("repeat", RepeatPadding())] if repeat_padding else []) + [
        ("resample", Resample(rate=NETWORK_RATE, sampling_rate=SAMPLING_RATE)),
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            SEResNeXt1d, module__preset="small", module__se=se,
            module__cardinality=cardinality, module__base_width=base_width, criterion=criterion,
            class_weight=class_weight, balanced_sampling=balanced_sampling,
            crop_length=crop_length,
            window_aggregate="mean", augment=Augmenter() if augment else None,
            max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, patience=patience, lr_patience=2,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def make_pipeline(*, members=MEMBERS_DEFAULT, n_seeds=1, se=True, cardinality=None,
                  base_width=None, class_weight="balanced", balanced_sampling=False,
                  crop_length=1000, augment=True, criterion="auto", max_epochs=30,
                  batch_size=64, lr=3e-3, weight_decay=1e-2, patience=6, dualnet_epochs=15,
                  feature_weight=2.0, feature_sets=FEATURE_SETS, feature_rate=SAMPLING_RATE,
                  amp=None, repeat_padding=False, random_state=0, verbose=0):
    """The ensemble; ``members`` picks from ``MEMBERS``.

    The ``seresnet`` seeds share one vote, ``dualnet`` (the ``dualnet_l``
    pipeline, ECGCNN_L, on random ``DUALNET_CROP`` crops for at most
    ``dualnet_epochs`` epochs) has one, and ``features`` has
    ``feature_weight``.

    ``cardinality`` and ``base_width`` override the small preset's 8 and 4
    (the ablation's no-SE network of equal size: ``se=False,
    cardinality=11, base_width=5``). ``feature_rate`` below 300 Hz computes
    the features on the record resampled to it (the ablation's 100 Hz).
    ``class_weight`` weighs the classes in the boosting, and in the
    networks' loss unless ``balanced_sampling`` balances their epochs
    instead.

    Parameters
    ----------
    members : sequence of {"seresnet", "dualnet", "features"}, \
            default=("seresnet", "features")
        The members of the ensemble (``MEMBERS_DEFAULT`` by default): a
        non-empty subset of ``MEMBERS``.
    n_seeds : int, default=1
        Number of ``seresnet`` networks, seeded ``random_state``,
        ``random_state + 1``, ...; together they have one vote. At least 1.
    se : bool, default=True
        Squeeze-and-excitation blocks in the ``seresnet`` networks
        (:class:`~ecgsk.nets.SEResNeXt1d`); ``False`` gives the plain ResNeXt.
    cardinality : int or None, default=None
        Groups of the grouped convolutions of the ``seresnet`` networks;
        ``None`` keeps the small preset's 8.
    base_width : int or None, default=None
        Width per group (for 64 planes) of the ``seresnet`` networks; ``None``
        keeps the small preset's 4.
    class_weight : "balanced", dict or None, default="balanced"
        Class weights of the ``features`` member's gradient boosting and, unless
        ``balanced_sampling``, of the ``seresnet`` networks' loss (see
        :class:`~ecgsk.neural.ECGNetClassifier`). ``None``: unweighted.
    balanced_sampling : bool, default=False
        Draw every training epoch of the ``seresnet`` networks so that the four
        classes are equally frequent; their loss is then unweighted.
    crop_length : int or None, default=1000
        The ``seresnet`` networks train on random crops of this many samples at
        100 Hz (10 s) and predict the mean over half-overlapping windows of
        that length; ``None``: the whole record.
    augment : bool, default=True
        Apply the five augmentations of :class:`~ecgsk.preprocessing.Augmenter`
        to every training batch of the ``seresnet`` networks.
    criterion : str or torch.nn.Module class or instance, default="auto"
        Loss of the ``seresnet`` networks (``"auto"``: cross-entropy over the
        four classes; ``"focal"``: focal loss). See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    max_epochs : int, default=30
        Upper bound on the training epochs of the ``seresnet`` networks; early
        stopping (``patience``) may end training sooner.
    batch_size : int, default=64
        Training and prediction batch size of the ``seresnet`` networks.
    lr : float, default=3e-3
        Learning rate of the ``seresnet`` networks' AdamW optimizer (reduced
        tenfold when the validation loss has not improved for 3 epochs:
        ``lr_patience=2``).
    weight_decay : float, default=1e-2
        Weight decay of the ``seresnet`` networks' AdamW optimizer.
    patience : int or None, default=6
        Early stopping of the ``seresnet`` networks after ``patience`` epochs
        without improvement of the validation loss, restoring the best
        weights; ``None`` disables it.
    dualnet_epochs : int, default=15
        Upper bound on the training epochs of the ``dualnet`` member.
    feature_weight : float, default=2.0
        Votes of the ``features`` member, against one for the ``seresnet``
        networks together and one for ``dualnet``; a positive number, checked
        but unused when ``features`` is the only member. See
        :func:`~ecgsk.ensemble.late_fusion`.
    feature_sets : sequence of str, \
            default=("statistical", "rhythm", "wavelet", "beats", "template")
        Feature sets of the ``features`` member (``FEATURE_SETS``), names of
        :func:`~ecgsk.baselines.make_feature_baseline`.
    feature_rate : float, default=300
        Sampling rate in Hz at which the ``features`` member computes its
        features; any other rate than ``SAMPLING_RATE`` (300 Hz) resamples the
        record to it first.
    amp : bool or None, default=None
        Mixed precision of the networks (``seresnet`` and ``dualnet``);
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    repeat_padding : bool, default=False
        Fill the zero padding of records shorter than 30 s with repeats of
        the record before the ``seresnet`` networks
        (:class:`~ecgsk.preprocessing.RepeatPadding`).
    random_state : int or None, default=0
        Seeds every member: ``random_state + k`` the ``k``-th ``seresnet``
        network, ``random_state`` the ``dualnet`` network and the boosting.
        None leaves every member unseeded.
    verbose : int, default=0
        Training log of the networks: 0 silent, 1 a table per epoch, 2 also a
        progress bar.

    Returns
    -------
    ensemble : ecgsk.ensemble.SoftVotingEnsemble
        Unfitted, built by :func:`~ecgsk.ensemble.late_fusion`; its members
        are named ``seresnet0``, ``seresnet1``, ..., ``dualnet`` and
        ``features``.

    Raises
    ------
    ValueError
        If ``members`` is a single string, is empty or names a member not in
        ``MEMBERS``, or if ``n_seeds`` is below 1
        (:func:`~ecgsk.ensemble.check_members`).
    """
    members = check_members(members, MEMBERS, n_seeds=n_seeds)
    nets = [network(se=se, cardinality=cardinality, base_width=base_width,
                    class_weight=None if balanced_sampling else class_weight,
                    balanced_sampling=balanced_sampling, criterion=criterion,
                    crop_length=crop_length,
                    augment=augment, max_epochs=max_epochs,
                    batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience,
                    amp=amp, repeat_padding=repeat_padding, verbose=verbose,
                    random_state=None if random_state is None else random_state + k)
            for k in range(int(n_seeds))] if "seresnet" in members else []
    others = []
    if "dualnet" in members:
        others.append(("dualnet", _DUALNET_L.make_pipeline(
            crop_length=DUALNET_CROP, max_epochs=dualnet_epochs, amp=amp,
            random_state=random_state, verbose=verbose)))
    features = None
    if "features" in members:
        from ecgsk.baselines import make_feature_baseline
        from sklearn.ensemble import HistGradientBoostingClassifier

        features = make_feature_baseline(
            HistGradientBoostingClassifier(class_weight=class_weight,
                                           random_state=random_state),
            sampling_rate=feature_rate, features=feature_sets, random_state=random_state)
        if feature_rate != SAMPLING_RATE:
            features = type(features)(
                [("resample", Resample(rate=feature_rate, sampling_rate=SAMPLING_RATE))]
                + features.steps)
    return late_fusion(nets, features, feature_weight=feature_weight, prefix="seresnet",
                       others=others)


def search_space(trial, fixed=None):
    """The network's learning rate, the class weights, and the features member's weight.

    ``fixed`` holds the keywords fixed for every trial (``python -m
    ecgsk.tune --set``): only what acts on the ensemble of the fixed
    ``members`` is searched (the learning rate of the SE networks, the class
    weights of their loss and of the boosting, the features weight where
    the features member has another member to be weighed against).

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).
    fixed : mapping or None, default=None
        The ``make_pipeline`` keywords fixed for every trial, read-only. Its
        ``members`` (default ``MEMBERS_DEFAULT``) and ``balanced_sampling``
        (default False) decide what is searched; ``None``: nothing fixed.

    Returns
    -------
    params : dict
        Sampled keyword arguments of :func:`make_pipeline`: ``lr`` (3e-4 to
        1e-2, log scale) with ``seresnet``; ``class_weight`` (``"balanced"`` or
        None) with ``features``, or with ``seresnet`` unless
        ``balanced_sampling``; ``feature_weight`` (0.5 to 4, log scale) with
        ``features`` and another member.
    """
    fixed = fixed or {}
    members = fixed.get("members", MEMBERS_DEFAULT)
    space = {}
    if "seresnet" in members:
        space["lr"] = trial.suggest_float("lr", 3e-4, 1e-2, log=True)
    if "features" in members or ("seresnet" in members
                                 and not fixed.get("balanced_sampling", False)):
        space["class_weight"] = trial.suggest_categorical("class_weight", ["balanced", None])
    if "features" in members and len(members) > 1:
        space["feature_weight"] = trial.suggest_float("feature_weight", 0.5, 4.0, log=True)
    return space
