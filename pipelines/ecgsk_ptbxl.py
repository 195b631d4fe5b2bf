"""ecgsk's best PTB-XL pipeline: SE networks on the benchmark protocol in a diverse ensemble.

The result of issue 8's measurements (``bench/quality.py``; the numbers and
the ablation are in ``BENCHMARKS.md``). A :class:`~ecgsk.ensemble.SoftVotingEnsemble`
averages the probabilities of

- ``seresnet``: :class:`ecgsk.nets.SEResNeXt1d` (``preset="small"``) trained
  by the PTB-XL benchmark's protocol (Strodthoff et al. 2020) at 100 Hz:
  random 2.5 s crops, sliding windows (stride 1.25 s) aggregated by their
  maximum, the five augmentations on every training batch, BCE with
  logits, AdamW, early stopping on the validation records (PTB-XL's fold
  9 under ``compare`` and ``bench/quality.py``); one member per seed;
- ``resnet``: resnet1d_wang by the benchmark's own recipe (the ``resnet1d``
  pipeline), another architecture, as the benchmark's ensemble mixed them;
- ``minirocket``: MiniRocket features and ridge (the ``randomconv_ridge``
  pipeline), a model of another kind;
- ``features``: engineered ECG features (statistical, rhythm, wavelet, beat
  morphology, :class:`ecgsk.features.BeatFeatures`, and the median beat of
  each of the 12 leads, :class:`ecgsk.features.BeatTemplate`) and
  histogram gradient boosting (the ``features_hgb`` pipeline): late fusion.

Every lever of the recipe is a parameter, so the ablation re-runs it with
one lever changed. Works for every PTB-XL task: the multi-label ones,
``binary`` and ``binary_report``.
"""

from pathlib import Path

import torch
from sklearn.pipeline import Pipeline

from ecgsk.compare import load_pipeline_module
from ecgsk.ensemble import check_members, late_fusion
from ecgsk.nets import SEResNeXt1d
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Augmenter, Derivatives, Standardizer

DATASET = "ptbxl"
TASK = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all", "binary",
        "binary_report")
SAMPLING_RATE = 100
LENGTH = 1000

MEMBERS = ("seresnet", "resnet", "minirocket", "features")
# The member pipelines of this folder, loaded at import: their sources count in this
# pipeline's hash, which a resumed comparison or tuning study checks.
_RESNET1D, _RANDOMCONV_RIDGE, _FEATURES_HGB = (
    load_pipeline_module(str(Path(__file__).with_name(f"{name}.py")))
    for name in ("resnet1d", "randomconv_ridge", "features_hgb"))
#: Feature sets of the features member (names of ``make_feature_baseline``).
FEATURE_SETS = ("statistical", "rhythm", "wavelet", "beats", "template")


def network(*, se=True, cardinality=None, base_width=None, crop_length=250, window_stride=125,
            derivatives=False, augment=True, criterion="auto", balanced_sampling=False,
            max_epochs=40, batch_size=64, lr=3e-3, weight_decay=1e-2, patience=8, amp=None,
            random_state=0, verbose=0):
    """The SE network member alone: standardizer -> [derivatives] -> SEResNeXt1d (small).

    ``balanced_sampling`` draws each epoch's records by the rarity of their
    rarest positive label (:class:`~ecgsk.neural.ECGNetClassifier`).

    Parameters
    ----------
    se : bool, default=True
        Squeeze-and-excitation blocks in the network
        (:class:`~ecgsk.nets.SEResNeXt1d`); ``False`` gives the plain ResNeXt.
    cardinality : int or None, default=None
        Groups of the grouped convolutions; ``None`` keeps the small preset's 8.
    base_width : int or None, default=None
        Width per group (for 64 planes); ``None`` keeps the small preset's 4.
    crop_length : int or None, default=250
        Train on random crops of this many samples (2.5 s at 100 Hz) and predict
        the maximum over sliding windows of that length; ``None``: whole
        records, no windows.
    window_stride : int or None, default=125
        Step in samples between the prediction windows (``None``: half of
        ``crop_length``; unused with ``crop_length=None``).
    derivatives : bool, default=False
        Append first-derivative channels to the network's input
        (:class:`~ecgsk.preprocessing.Derivatives`).
    augment : bool, default=True
        Apply the five augmentations of :class:`~ecgsk.preprocessing.Augmenter`
        to every training batch.
    criterion : str or torch.nn.Module class or instance, default="auto"
        Loss of the network (``"auto"``: BCE with logits for PTB-XL's
        multi-label and binary targets; ``"focal"``: focal loss), unweighted.
        See :class:`~ecgsk.neural.ECGNetClassifier`.
    balanced_sampling : bool, default=False
        Draw every training epoch by the rarity of each record's rarest
        positive label (multi-label tasks) or with both classes equally
        frequent (``binary``); see :class:`~ecgsk.neural.ECGNetClassifier`.
    max_epochs : int, default=40
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=64
        Training and prediction batch size.
    lr : float, default=3e-3
        Learning rate of the AdamW optimizer (reduced tenfold when the
        validation loss has not improved for 4 epochs: ``lr_patience=3``).
    weight_decay : float, default=1e-2
        Weight decay of the AdamW optimizer (``optimizer__weight_decay`` of
        :class:`~ecgsk.neural.ECGNetClassifier`).
    patience : int or None, default=8
        Early stopping after ``patience`` epochs without improvement of the
        validation loss, restoring the best weights; ``None`` disables it.
    amp : bool or None, default=None
        Mixed precision (``torch.autocast``) in training and prediction;
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    random_state : int, default=0
        Seeds the weight initialisation, the validation split, the shuffling,
        the balanced sampler, the random crops and the augmentation. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``Standardizer -> [Derivatives] ->
        ECGNetClassifier(SEResNeXt1d)``, steps ``scale``, ``derivatives`` (with
        ``derivatives=True``) and ``net``.
    """
    steps = [("scale", Standardizer())]
    if derivatives:
        steps.append(("derivatives", Derivatives(order=1, append=True)))
    steps.append(("net", ECGNetClassifier(
        SEResNeXt1d, module__preset="small", module__se=se, module__cardinality=cardinality,
        module__base_width=base_width, criterion=criterion, balanced_sampling=balanced_sampling,
        augment=Augmenter() if augment else None, crop_length=crop_length,
        window_stride=window_stride if crop_length else None, window_aggregate="max",
        max_epochs=max_epochs, batch_size=batch_size, lr=lr,
        optimizer__weight_decay=weight_decay, patience=patience, lr_patience=3,
        amp=torch.cuda.is_available() if amp is None else amp, random_state=random_state,
        verbose=verbose)))
    return Pipeline(steps)


def make_pipeline(*, members=MEMBERS, n_seeds=3, se=True, cardinality=None, base_width=None,
                  crop_length=250, window_stride=125,
                  derivatives=False, augment=True, criterion="auto", balanced_sampling=False,
                  max_epochs=40, batch_size=64, lr=3e-3, weight_decay=1e-2, patience=8,
                  feature_weight=1.0, feature_sets=FEATURE_SETS, resnet_epochs=30,
                  n_kernels=10_000, amp=None, random_state=0, verbose=0):
    """The ensemble; ``members`` picks from ``MEMBERS``.

    - ``"seresnet"``: ``n_seeds`` SE networks (:func:`network`; seeds
      ``random_state``, ``random_state + 1``, ...), sharing one vote;
    - ``"resnet"``: the ``resnet1d`` pipeline (resnet1d_wang, the
      benchmark's own recipe, at most ``resnet_epochs`` epochs), one vote;
    - ``"minirocket"``: the ``randomconv_ridge`` pipeline (MiniRocket,
      ``n_kernels`` kernels, and ridge), one vote;
    - ``"features"``: the ``features_hgb`` pipeline (histogram gradient
      boosting, its default parameters) on ``feature_sets`` of
      :func:`ecgsk.baselines.make_feature_baseline`, ``feature_weight`` votes.

    The other parameters set the SE networks. ``cardinality`` and
    ``base_width`` override the small preset's 8 and 4 (``se=False,
    cardinality=11, base_width=5`` matches the SE network's parameter
    count within 2 %: the ablation's fair no-SE network).

    Parameters
    ----------
    members : sequence of {"seresnet", "resnet", "minirocket", "features"}, \
            default=("seresnet", "resnet", "minirocket", "features")
        The members of the ensemble (all of ``MEMBERS`` by default): a
        non-empty subset of ``MEMBERS``.
    n_seeds : int, default=3
        Number of ``seresnet`` networks, seeded ``random_state``,
        ``random_state + 1``, ...; together they have one vote. At least 1.
    se : bool, default=True
        Squeeze-and-excitation blocks in the SE networks
        (:class:`~ecgsk.nets.SEResNeXt1d`); ``False`` gives the plain ResNeXt.
    cardinality : int or None, default=None
        Groups of the grouped convolutions of the SE networks; ``None`` keeps
        the small preset's 8.
    base_width : int or None, default=None
        Width per group (for 64 planes) of the SE networks; ``None`` keeps the
        small preset's 4.
    crop_length : int or None, default=250
        The SE networks train on random crops of this many samples (2.5 s at
        100 Hz) and predict the maximum over sliding windows of that length;
        ``None``: whole records, no windows.
    window_stride : int or None, default=125
        Step in samples between the SE networks' prediction windows (``None``:
        half of ``crop_length``; unused with ``crop_length=None``).
    derivatives : bool, default=False
        Append first-derivative channels to the SE networks' input
        (:class:`~ecgsk.preprocessing.Derivatives`).
    augment : bool, default=True
        Apply the five augmentations of :class:`~ecgsk.preprocessing.Augmenter`
        to every training batch of the SE networks.
    criterion : str or torch.nn.Module class or instance, default="auto"
        Loss of the SE networks (``"auto"``: BCE with logits for PTB-XL's
        multi-label and binary targets; ``"focal"``: focal loss). See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    balanced_sampling : bool, default=False
        Draw every training epoch of the SE networks by the rarity of each
        record's rarest positive label (see
        :class:`~ecgsk.neural.ECGNetClassifier`).
    max_epochs : int, default=40
        Upper bound on the training epochs of the SE networks; early stopping
        (``patience``) may end training sooner.
    batch_size : int, default=64
        Training and prediction batch size of the SE networks.
    lr : float, default=3e-3
        Learning rate of the SE networks' AdamW optimizer (reduced tenfold
        when the validation loss has not improved for 4 epochs:
        ``lr_patience=3``).
    weight_decay : float, default=1e-2
        Weight decay of the SE networks' AdamW optimizer.
    patience : int or None, default=8
        Early stopping of the SE networks after ``patience`` epochs without
        improvement of the validation loss, restoring the best weights;
        ``None`` disables it.
    feature_weight : float, default=1.0
        Votes of the ``features`` member, against one for the SE networks
        together and one for each of ``resnet`` and ``minirocket``; a positive
        number, checked but unused when ``features`` is the only member. See
        :func:`~ecgsk.ensemble.late_fusion`.
    feature_sets : sequence of str, \
            default=("statistical", "rhythm", "wavelet", "beats", "template")
        Feature sets of the ``features`` member (``FEATURE_SETS``), names of
        :func:`~ecgsk.baselines.make_feature_baseline`.
    resnet_epochs : int, default=30
        Upper bound on the training epochs of the ``resnet`` member.
    n_kernels : int, default=10000
        Number of MiniRocket features of the ``minirocket`` member (rounded
        down to a multiple of 84).
    amp : bool or None, default=None
        Mixed precision of the networks (``seresnet`` and ``resnet``); ``None``
        turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    random_state : int or None, default=0
        Seeds every member: ``random_state + k`` the ``k``-th SE network,
        ``random_state`` the ``resnet``, ``minirocket`` and ``features``
        members. None leaves every member unseeded.
    verbose : int, default=0
        Training log of the networks (``seresnet`` and ``resnet``): 0 silent,
        1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    ensemble : ecgsk.ensemble.SoftVotingEnsemble
        Unfitted, built by :func:`~ecgsk.ensemble.late_fusion`; its members
        are named ``seresnet0``, ``seresnet1``, ..., ``resnet``,
        ``minirocket`` and ``features``.

    Raises
    ------
    ValueError
        If ``members`` is a single string, is empty or names a member not in
        ``MEMBERS``, or if ``n_seeds`` is below 1
        (:func:`~ecgsk.ensemble.check_members`).
    """
    members = check_members(members, MEMBERS, n_seeds=n_seeds)
    nets = [network(
        se=se, cardinality=cardinality, base_width=base_width, crop_length=crop_length,
        window_stride=window_stride, derivatives=derivatives, augment=augment,
        criterion=criterion, balanced_sampling=balanced_sampling, max_epochs=max_epochs,
        batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience, amp=amp,
        random_state=None if random_state is None else random_state + k, verbose=verbose)
        for k in range(int(n_seeds))] if "seresnet" in members else []
    others = []
    if "resnet" in members:
        others.append(("resnet", _RESNET1D.make_pipeline(
            max_epochs=resnet_epochs, amp=amp, random_state=random_state, verbose=verbose)))
    if "minirocket" in members:
        others.append(("minirocket", _RANDOMCONV_RIDGE.make_pipeline(
            n_kernels=n_kernels, random_state=random_state)))
    features = (_FEATURES_HGB.make_pipeline(
        features=feature_sets, random_state=random_state) if "features" in members else None)
    return late_fusion(nets, features, feature_weight=feature_weight, prefix="seresnet",
                       others=others)


def search_space(trial, fixed=None):
    """The SE networks' learning rate and weight decay, and the features member's weight.

    ``fixed`` holds the keywords fixed for every trial (``python -m
    ecgsk.tune --set``): only what acts on the ensemble of the fixed
    ``members`` is searched (no features weight without the features member
    and another to weigh it against; no learning rate without the SE
    networks).

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).
    fixed : mapping or None, default=None
        The ``make_pipeline`` keywords fixed for every trial, read-only. Its
        ``members`` (default ``MEMBERS``) decide what is searched; ``None``:
        nothing fixed.

    Returns
    -------
    params : dict
        Sampled keyword arguments of :func:`make_pipeline`: ``lr`` (3e-4 to
        1e-2) and ``weight_decay`` (1e-4 to 1e-1), both on a log scale, with
        ``seresnet``; ``feature_weight`` (0.25 to 2, log scale) with
        ``features`` and another member.
    """
    members = (fixed or {}).get("members", MEMBERS)
    space = {}
    if "seresnet" in members:
        space["lr"] = trial.suggest_float("lr", 3e-4, 1e-2, log=True)
        space["weight_decay"] = trial.suggest_float("weight_decay", 1e-4, 1e-1, log=True)
    if "features" in members and len(members) > 1:
        space["feature_weight"] = trial.suggest_float("feature_weight", 0.25, 2.0, log=True)
    return space
