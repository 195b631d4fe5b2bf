"""Datasets, record subsets, the split plan and signal loading of a comparison."""

import contextlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import PredefinedSplit, StratifiedGroupKFold, train_test_split

# Defined beside the cache tools, which need it without importing scikit-learn.
from .._threads import main_thread_only
from ..cache._cache import default_cache_dir, resolve_cache_dir

__all__ = ["CompareError", "DATASETS", "DATA_SEED", "dataset_tasks", "load_dataset",
           "stratified_subset", "select_records", "SplitPlan", "make_plan", "load_signals",
           "default_length", "default_cache_dir", "align_labels", "unseen_records", "fit_targets",
           "fit_final", "fit_fold", "dropped_text", "records_sha256", "groups_sha256"]

#: Datasets the comparison reads.
DATASETS = ("ptbxl", "cinc2017", "ptbdb")

# Record length the signals are padded or cropped to, when the pipeline sets no LENGTH.
_DEFAULT_SECONDS = {"ptbxl": 10, "cinc2017": 30, "ptbdb": 10}

_N_SPLITS = 5  # hold-out share 1/5 and CV folds where a dataset has no folds of its own
PTBXL_TRAIN_FOLDS = tuple(range(1, 9))
PTBXL_VALID_FOLD = 9
PTBXL_TEST_FOLD = 10


class CompareError(ValueError):
    """A comparison asked for something that cannot be done; raised before any work."""


def dataset_tasks(dataset):
    """Tasks of a dataset: PTB-XL's benchmark tasks, ``("af",)`` or ``("diagnosis",)``.

    Parameters
    ----------
    dataset : {"ptbxl", "cinc2017", "ptbdb"}
        One of :data:`DATASETS`.

    Returns
    -------
    tuple of str
        :data:`~ecgsk.datasets.PTBXL_TASKS` for ``"ptbxl"``, ``("af",)`` for
        ``"cinc2017"``, ``("diagnosis",)`` for ``"ptbdb"``.

    Raises
    ------
    CompareError
        If ``dataset`` is not one of :data:`DATASETS`.
    """
    if dataset == "ptbxl":
        from ..datasets import PTBXL_TASKS

        return tuple(PTBXL_TASKS)
    if dataset == "cinc2017":
        return ("af",)
    if dataset == "ptbdb":
        return ("diagnosis",)
    raise CompareError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")


def check_dataset_task(dataset, task):
    """Raise :class:`CompareError` unless ``task`` is a task of ``dataset``."""
    tasks = dataset_tasks(dataset)
    if task not in tasks:
        raise CompareError(f"unknown task {task!r} for dataset {dataset!r}; choose one of "
                           f"{', '.join(tasks)}.")


def load_dataset(dataset, task, root, sampling_rate, flag="--data"):
    """Read a dataset's records and labels, turning reader errors into :class:`CompareError`.

    ``sampling_rate`` picks PTB-XL's 100 or 500 Hz files (500 when any
    pipeline wants more than 100 Hz, or when ``root`` holds records in
    ``records500/`` but none in ``records100/``: the signals are resampled on
    reading); the other datasets have one rate. ``flag`` names the option
    that gave ``root`` in the errors (``--data``, ``--test-data``).
    """
    from .._notes import warnings_as_notes
    from ..datasets import load_cinc2017, load_ptbdb, load_ptbxl

    check_dataset_task(dataset, task)
    if root is None or not Path(root).expanduser().exists():
        raise CompareError(f"{flag} {root} does not exist.")
    try:
        # The dataset keeps the counts of what was left out (``ds.dropped``) for the params.
        with warnings_as_notes(where=f"under {root}"):
            if dataset == "ptbxl":
                ds = load_ptbxl(root, task=task, sampling_rate=_ptbxl_files_rate(
                    Path(root).expanduser(), sampling_rate, flag))
            elif dataset == "cinc2017":
                ds = load_cinc2017(root)
            else:
                ds = load_ptbdb(root)
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:  # a file given, too
        raise CompareError(f"no {dataset} records for task {task!r} under {flag} {root}: "
                           f"{exc}") from None
    if len(ds) == 0:
        raise CompareError(f"no {dataset} records for task {task!r} under {flag} {root}.")
    return ds


def _holds_records(folder):
    """Whether ``folder`` holds a WFDB header anywhere below it (an interrupted download's
    ``records100/`` may hold none)."""
    return folder.is_dir() and next(folder.rglob("*.hea"), None) is not None


def _ptbxl_files_rate(root, sampling_rate, flag):
    """PTB-XL's files to read at ``sampling_rate``: 100 Hz; 500 Hz above it or lacking 100."""
    if sampling_rate > 100:
        return 500
    if not _holds_records(root / "records100") and _holds_records(root / "records500"):
        # A download of the 500 Hz files alone (an external root, say) is read at 500 Hz
        # and resampled, as predict reads any record, instead of holding no record.
        warnings.warn(f"{flag} has no record in records100/; its 500 Hz records are read and "
                      f"resampled to {sampling_rate:g} Hz", UserWarning, stacklevel=2)
        return 500
    return 100


def records_sha256(ds):
    """A hash of a dataset's records, labels and folds.

    A record counts by its folder and name (``records100/00000/00001_lr``'s
    last two parts), so the same records moved to another folder hash alike;
    other records, an edited label or fold do not.
    """
    import hashlib

    digest = hashlib.sha256()
    for path in ds.X:
        parts = os.path.normpath(str(path)).split(os.sep)
        digest.update("/".join(parts[-2:]).encode() + b"\0")
    digest.update(np.ascontiguousarray(ds.y).astype(str).tobytes())
    if ds.folds is not None:
        digest.update(np.asarray(ds.folds, dtype=float).tobytes())
    return digest.hexdigest()


def groups_sha256(ds):
    """A hash of a dataset's patients (``groups``), or None for a dataset without them.

    The networks hold out whole patients of their training records for early
    stopping: an edited ``patient_id`` is another split, and another request.
    """
    import hashlib

    if ds.groups is None:
        return None
    return hashlib.sha256(np.asarray(ds.groups).astype(str).tobytes()).hexdigest()


def dropped_text(ds):
    """The records a reader left out, for a run's params: ``"16 without a ... label"``."""
    return "; ".join(f"{n} {reason}" for reason, n in ds.dropped.items() if n) or "none"


def fit_targets(ds):
    """Targets as pipelines are fitted on: the indicator matrix, or class indices (int64)."""
    from ..plots._targets import label_indices

    if ds.y.ndim == 2:
        return ds.y.astype(np.int64)
    return label_indices(ds.y, ds.classes)


def align_labels(ds, classes, learnt=None):
    """Re-express ``ds``'s labels over ``classes`` (the training data's).

    Multi-label: missing classes become zero columns; classes unknown to
    training are dropped. Single-label: records of an unknown class are
    dropped, and so are those of a class of ``classes`` outside ``learnt``
    (the classes the fits learnt from, when given: CinC 2017 lists its four
    classes whatever records a root holds, and a class without a training
    record is one no fit can predict). Returns the (possibly subset) dataset
    and its targets, and the classes dropped.
    """
    classes = [str(c) for c in classes]
    own = [str(c) for c in ds.classes]
    if ds.y.ndim == 2:
        y = np.zeros((len(ds), len(classes)), dtype=np.int64)
        for j, c in enumerate(classes):
            if c in own:
                y[:, j] = ds.y[:, own.index(c)]
        dropped = sorted(set(own) - set(classes))
        return ds, y, dropped
    from ..plots._targets import label_indices

    labels = np.asarray(own)[label_indices(ds.y, ds.classes)]
    keep = np.isin(labels, classes if learnt is None else [str(c) for c in learnt])
    dropped = sorted(set(labels[~keep].tolist()))
    ds = ds.subset(keep)
    lookup = {c: i for i, c in enumerate(classes)}
    return ds, np.array([lookup[v] for v in labels[keep]], dtype=np.int64), dropped


def _patient_keys(groups):
    """Patient ids comparable across roots: ``15709``, ``15709.0`` and ``"15709"`` are one."""
    keys = []
    for g in np.asarray(groups, dtype=object):
        try:
            f = float(g)
        except (TypeError, ValueError):
            keys.append(str(g))
        else:
            keys.append(str(int(f)) if f.is_integer() else str(f))
    return np.array(keys, dtype=object)


def learnt_classes(ds, test):
    """The classes of single-label ``ds`` with a record outside ``test``; None if multi-label."""
    y = fit_targets(ds)
    if y.ndim == 2:
        return None
    learnt = np.setdiff1d(np.arange(len(ds)), np.asarray(test, dtype=np.int64))
    return [str(ds.classes[i]) for i in np.unique(y[learnt])]


def unseen_records(ext, ds, test, *, folds=None):
    """The records of ``ext``, a second data root, that no fit on ``ds`` learnt from.

    Every fit of a comparison learns from the records of ``ds`` outside its
    ``test`` indices: training records, and PTB-XL's fold 9 where networks
    validate. A record of ``ext`` is kept when neither its patient
    (``groups``: PTB-XL's ``patient_id``, PTB-DB's patient folder; CinC
    2017 records carry none, so there the record is its own patient) nor
    its record name is among theirs. So a root of other patients is scored
    on all its records, whatever their folds; a full download, or ``ds``'s
    own root, loses exactly the patients learnt from.

    Parameters
    ----------
    ext, ds : ECGDataset
        The external records, and the records the fits were split from.
    test : array-like of int
        Indices of ``ds``'s test records (nothing learnt from them).
    folds : sequence of int or None, default=None
        Keep only these dataset folds of ``ext`` (PTB-XL ``strat_fold``;
        ``[10]`` is the benchmark's test fold). All when None.

    Returns
    -------
    subset : ECGDataset
        The unseen records of ``ext``.
    n_seen : int
        Records of ``ext`` (within ``folds``) dropped because a fit learnt
        from their patient or from a record of the same name.

    Raises
    ------
    CompareError
        When ``folds`` are given for data without folds, or no record is
        left.
    """
    if folds is not None:
        folds = sorted({int(f) for f in folds})
        if ext.folds is None:
            raise CompareError(f"test folds {folds} were asked for, but the external "
                               f"{ext.name} data has no folds (only PTB-XL has strat_fold).")
        ext = ext.subset(np.isin(np.asarray(ext.folds), folds))
        if len(ext) == 0:
            raise CompareError(f"the external {ext.name} data has no record in fold(s) {folds}.")
    learnt = np.setdiff1d(np.arange(len(ds)), np.asarray(test, dtype=np.int64))
    seen = np.isin([os.path.basename(os.fspath(p)) for p in ext.X],
                   [os.path.basename(os.fspath(p)) for p in ds.X[learnt]])
    if ext.groups is not None and ds.groups is not None:
        seen |= np.isin(_patient_keys(ext.groups), _patient_keys(ds.groups[learnt]))
    if seen.all():
        raise CompareError(f"all {len(ext)} external {ext.name} records belong to patients "
                           "(or are records) that the fits learnt from.")
    return ext.subset(~seen), int(seen.sum())


def _label_keys(ds):
    y = np.asarray(ds.y)
    if y.ndim == 2:
        return np.array(["".join(map(str, row)) for row in y.astype(int)])
    return y.astype(str)


def stratified_subset(ds, n, seed=0):
    """A deterministic subset of ``n`` records keeping the share of each label (and fold).

    Records are grouped by dataset fold and label (label combination for
    multi-label targets). The groups, in that order, get their shares of
    ``n`` by systematic sampling: group ``g`` gets ``floor(u + C_g) -
    floor(u + C_{g-1})`` records, ``C`` the running sum of the shares and
    ``u`` one uniform draw. So each fold, and each group, gets its share
    rounded down or up, and a group whose share is below one record gets
    one with that probability; the records of each group are drawn with
    ``seed``. Original order is kept.
    """
    if n >= len(ds):
        return ds
    return ds.subset(_subset_index(ds, n, seed))


def _subset_index(ds, n, seed, strata=None):
    """The sorted indices of :func:`stratified_subset`'s records.

    ``strata`` (one value per record: :func:`select_records`' test hold-out)
    is a further grouping whose shares are kept.
    """
    keys = _label_keys(ds)
    if ds.folds is not None:
        keys = np.char.add(np.char.add(np.asarray(ds.folds).astype(str), "|"), keys)
    if strata is not None:
        keys = np.char.add(np.char.add(np.asarray(strata).astype(str), "|"), keys)
    rng = np.random.default_rng(seed)
    groups, inverse = np.unique(keys, return_inverse=True)
    sizes = np.bincount(inverse)
    # Largest remainders first gave a group whose share is below one record nothing:
    # PTB-XL's rare label combinations, which hold most HYP records (none of 60).
    shares = np.concatenate([[0], np.cumsum(sizes)]) * n / len(ds)  # exact at the end: n
    take = np.diff(np.floor(rng.random() + shares).astype(int))
    chosen = []
    for g in range(len(groups)):
        members = np.flatnonzero(inverse == g)
        chosen.append(rng.permutation(members)[:take[g]])
    return np.sort(np.concatenate(chosen))


def select_records(full, max_records=None, cv=True):
    """The records a comparison or a study runs on, and the test hold-out among them.

    A dataset with folds (PTB-XL) keeps its test fold in any subset. A
    dataset without is given its fixed test hold-out (:func:`make_plan`'s) on
    all of ``full`` first, and the subset keeps its share of it: a record
    held out of a run on all the records is held out of a run on a subset
    too, so a study tuned on ``max_records`` records never trains on a
    comparison's test records. (Drawn on the subset, the hold-out was
    another one: 79 of the 400 training records of a 500-record CinC 2017
    subset were in the test records of the whole set.)

    Parameters
    ----------
    full : ECGDataset
        All the records read.
    max_records : int or None, default=None
        The size of the stratified subset (:func:`stratified_subset`, drawn
        with :data:`DATA_SEED`); None (or at least ``len(full)``) for all.
    cv : bool, default=True
        Whether CV folds will be drawn too (:func:`make_plan`'s ``cv``): a
        dataset without folds then needs more patients.

    Returns
    -------
    ds : ECGDataset
        The records run on.
    holdout : ndarray of bool of shape (len(ds),) or None
        The records of ``ds`` in the test hold-out, for :func:`make_plan`;
        None for a dataset with folds.

    Raises
    ------
    CompareError
        If the hold-out of ``full`` cannot be drawn (see :func:`make_plan`),
        or a single-label subset holds no training record of a class that
        the whole set trains on.
    """
    holdout = None
    if full.folds is None:
        _check_splittable(full, cv)
        _, test, _ = _draw_holdout(full)
        holdout = np.zeros(len(full), dtype=bool)
        holdout[test] = True
    if max_records is None or max_records >= len(full):
        return full, holdout
    idx = _subset_index(full, int(max_records), DATA_SEED, strata=holdout)
    if holdout is not None and np.asarray(full.y).ndim == 1:
        # A class can get no training record of a small subset (drawn on the subset, the
        # hold-out refused it; now the pipelines would be fitted without it, saying nothing).
        keys = _label_keys(full)
        lost = sorted(map(str, set(keys[~holdout]) - set(keys[idx][~holdout[idx]])))
        if lost:
            raise CompareError(
                f"a subset of {max_records} {full.name} records (--max-records) holds no "
                f"training record of class(es) {', '.join(map(repr, lost))}; choose more "
                "records.")
    return full.subset(idx), None if holdout is None else holdout[idx]


@dataclass
class SplitPlan:
    """Which records train, validate and test, and the cross-validation folds.

    ``cv`` lists ``(fold_number, train_index, test_index)`` with indices into
    the dataset (not into ``train``).
    """

    train: np.ndarray
    valid: np.ndarray | None
    test: np.ndarray
    cv: list = field(default_factory=list)
    description: dict = field(default_factory=dict)


def _fold_list(folds, allowed, what):
    if folds is None:
        return list(allowed)
    folds = [int(f) for f in folds]
    bad = sorted(set(folds) - set(allowed))
    if bad:
        which = ("is not a cross-validation fold" if len(bad) == 1
                 else "are not cross-validation folds")
        raise CompareError(f"--folds {bad} {which} of {what}; choose among {list(allowed)}.")
    if len(set(folds)) != len(folds):
        raise CompareError(f"--folds lists a fold twice: {folds}.")
    return folds


#: Seed of the record subset (``max_records``) and of the test hold-out of datasets without
#: folds. It is fixed, not the run's seed: every seed of a comparison or a tuning study
#: then tests on the same records, and a study tuned with one seed never trained on the
#: test records of a comparison run with another.
DATA_SEED = 0


def make_plan(ds, *, folds=None, cv=True, seed=0, holdout=None):
    """Split a dataset for a comparison.

    With dataset folds (PTB-XL ``strat_fold``): train on folds 1-8, tune
    thresholds on fold 9, test on fold 10; cross-validate over the chosen
    training ``folds`` (each held out in turn, the others of 1-8 training;
    :class:`~sklearn.model_selection.PredefinedSplit`). Without (CinC 2017,
    PTB-DB): a fixed stratified 20 % test hold-out, grouped by patient where
    the dataset has patient ids (:class:`StratifiedGroupKFold`; plain
    stratified for CinC 2017, whose ``groups`` are the records), then 5
    patient-grouped stratified CV folds of the rest, numbered 1-5, and no
    validation set. ``cv=False`` gives the train/test split alone.

    Parameters
    ----------
    ds : ECGDataset
        The records to split; its ``folds`` (PTB-XL ``strat_fold``), else its
        ``y`` (single-label) and ``groups``, decide the split.
    folds : list of int, default=None
        The cross-validation folds to run: among 1-8 with dataset folds,
        among 1-5 without. All of them when None.
    cv : bool, default=True
        False leaves ``cv`` of the plan empty.
    seed : int, default=0
        Seed of the cross-validation folds of datasets without folds; unused
        with dataset folds. The hold-out is drawn with :data:`DATA_SEED`
        whatever ``seed``.
    holdout : array-like of bool of shape (len(ds),), default=None
        The test hold-out of a dataset without folds, as
        :func:`select_records` gives it for a subset; None draws it on
        ``ds``. Unused with dataset folds.

    Returns
    -------
    SplitPlan
        ``train``, ``valid`` (None without dataset folds) and ``test``
        indices into ``ds``; ``cv``, the ``(fold_number, train_index,
        test_index)`` of each chosen fold in fold order, with indices into
        ``ds``; ``description``, the text logged for each split.

    Raises
    ------
    CompareError
        If ``folds`` names a fold outside the allowed ones or a fold twice;
        with dataset folds, if training folds 1-8, fold 9, fold 10 or a
        chosen fold holds no record, or holding a fold out leaves no
        training record; without, if the dataset has multi-label targets or
        fewer than 10 patients (records, where ``groups`` is None), or the
        stratified split fails (a class with too few records).

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.datasets import ECGDataset
    >>> ds = ECGDataset(X=np.array([f"rec{i}" for i in range(40)]), y=np.arange(40) % 2,
    ...                 folds=np.arange(40) % 10 + 1, name="demo")  # PTB-XL-like folds 1-10
    >>> plan = make_plan(ds, folds=[1, 2])
    >>> len(plan.train), len(plan.valid), len(plan.test), [k for k, _, _ in plan.cv]
    (32, 4, 4, [1, 2])
    """
    n = len(ds)
    if ds.folds is not None:
        dfolds = np.asarray(ds.folds)
        train = np.flatnonzero(np.isin(dfolds, PTBXL_TRAIN_FOLDS))
        valid = np.flatnonzero(dfolds == PTBXL_VALID_FOLD)
        test = np.flatnonzero(dfolds == PTBXL_TEST_FOLD)
        for idx, what in ((train, "training folds 1-8"), (valid, "validation fold 9"),
                          (test, "test fold 10")):
            if len(idx) == 0:
                raise CompareError(f"the {ds.name} data has no record in its {what}.")
        chosen = _fold_list(folds, PTBXL_TRAIN_FOLDS, f"{ds.name} (1-8; 9 validates, 10 tests)")
        plan = SplitPlan(train=train, valid=valid, test=test, description={
            "train": "strat_fold 1-8", "valid": "strat_fold 9", "test": "strat_fold 10"})
        if cv:
            test_fold = np.where(np.isin(dfolds[train], chosen), dfolds[train], -1)
            for tr, te in PredefinedSplit(test_fold).split():
                k = int(dfolds[train][te][0])
                if len(tr) == 0:
                    raise CompareError(f"holding out fold {k} leaves no training record.")
                plan.cv.append((k, train[tr], train[te]))
            plan.cv.sort(key=lambda item: item[0])
            empty = sorted(set(chosen) - {k for k, _, _ in plan.cv})
            if empty:
                raise CompareError(f"the {ds.name} data has no record in fold(s) {empty}.")
            plan.description["cv"] = (f"strat_fold {', '.join(map(str, sorted(chosen)))} "
                                      "held out in turn from folds 1-8")
        _warn_unlearnt_labels(ds, plan)
        return plan
    groups = np.asarray(ds.groups if ds.groups is not None else np.arange(n))
    y = _label_keys(ds)
    _check_splittable(ds, cv)
    chosen = _fold_list(folds, range(1, _N_SPLITS + 1), f"{ds.name} (1-{_N_SPLITS})")
    if holdout is None:
        train, test, how = _draw_holdout(ds)
    else:
        holdout = np.asarray(holdout)
        if holdout.shape != (n,) or holdout.dtype != bool:
            raise CompareError(f"holdout must be a boolean mask of the {n} records, got "
                               f"shape {holdout.shape} and dtype {holdout.dtype}.")
        train, test, how = np.flatnonzero(~holdout), np.flatnonzero(holdout), _how(ds)
        if len(train) == 0 or len(test) == 0:
            raise CompareError(f"the test hold-out of {ds.name} holds {len(test)} of its "
                               f"{n} records; both parts need records.")
    try:
        plan = SplitPlan(train=train, valid=None, test=test,
                         description={"train": f"rest of {how}", "test": how})
        if cv:
            _warn_rare_classes(ds.name, y[train], "some CV folds test none of them (their "
                               "per-class scores there are undefined)")
            for k, (tr, te) in enumerate(_grouped_folds(y[train], groups[train], seed),
                                         start=1):
                if k in chosen:
                    plan.cv.append((k, train[tr], train[te]))
            plan.description["cv"] = (f"folds {', '.join(map(str, sorted(chosen)))} of "
                                      f"{_N_SPLITS} stratified patient-grouped folds")
    except ValueError as exc:  # e.g. a class with fewer records than folds
        raise CompareError(f"cannot split {ds.name} ({n} records): {exc}") from None
    return plan


def _check_splittable(ds, cv):
    """Refuse a dataset without folds that its hold-out (and CV folds) cannot split."""
    if np.asarray(ds.y).ndim == 2:
        raise CompareError(f"{ds.name} has multi-label targets and no folds; stratified "
                           "grouped splitting needs single-label targets.")
    n = len(ds)
    n_groups = len(np.unique(ds.groups)) if ds.groups is not None else n
    # The hold-out is a fifth of the patients; cross-validation splits the rest in five.
    needed = 2 * _N_SPLITS if cv else _N_SPLITS
    if n_groups < needed:
        what = (f"a test hold-out and {_N_SPLITS} CV folds need" if cv
                else "a test hold-out of a fifth of them needs")
        raise CompareError(f"{ds.name} has {_count(n, 'record')} of "
                           f"{_count(n_groups, 'patient')}: {what} at least {needed} patients.")


def _by_record(ds):
    # CinC 2017 records carry no patient id (each is its own group): stratify on labels
    # alone. A PTB-DB set of one record per patient is still split by patient (deciding
    # by n_groups == n split it by record, refusing a class of one patient).
    return ds.groups is None or ds.name == "cinc2017"


def _how(ds):
    return ("stratified 20% hold-out (records carry no patient id)" if _by_record(ds)
            else "stratified patient-grouped 20% hold-out")


def _draw_holdout(ds):
    """``(train, test, description)`` of the fixed test hold-out of a dataset without folds."""
    n = len(ds)
    groups = np.asarray(ds.groups if ds.groups is not None else np.arange(n))
    y = _label_keys(ds)
    try:
        if _by_record(ds):
            train, test = train_test_split(np.arange(n), test_size=1 / _N_SPLITS,
                                           stratify=y, random_state=DATA_SEED)
            train, test = np.sort(train), np.sort(test)
        else:
            _warn_rare_classes(ds.name, y, "the test hold-out may hold none of them")
            train, test = _grouped_folds(y, groups, DATA_SEED)[0]
    except ValueError as exc:  # e.g. a class with fewer records than folds
        raise CompareError(f"cannot split {ds.name} ({n} records): {exc}") from None
    # A class of one patient can fall in the hold-out whole: every fit would then be made
    # without it, and scored on it (the note above said the hold-out might hold none).
    untrained = sorted(map(str, set(y[test]) - set(y[train])))
    if untrained:
        raise CompareError(
            f"{ds.name}: every record of class(es) {', '.join(map(repr, untrained))} is in "
            "the test hold-out, so no fit would learn them: a class needs records of at "
            "least 2 patients (or leave its records out of the data).")
    return train, test, _how(ds)


def _grouped_folds(y, groups, seed):
    """The ``_N_SPLITS`` folds of :class:`StratifiedGroupKFold`, without its rare-class warning.

    The caller says it first, naming the classes (:func:`_warn_rare_classes`).
    """
    splitter = StratifiedGroupKFold(n_splits=_N_SPLITS, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return list(splitter.split(np.zeros(len(y)), y, groups))


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _warn_unlearnt_labels(ds, plan):
    """Warn, naming them, of labels without a positive record in some fit's training records.

    Such a fit learns the label as never present. scikit-learn's one-vs-rest said so
    once per label and fit, by the label's index ("Label not 3 is present in all
    training examples"), which :func:`fit_fold` and :func:`fit_final` now silence.
    """
    y = np.asarray(ds.y)
    if y.ndim != 2:
        return
    fits = [(f"fold {k}", tr) for k, tr, _ in plan.cv] + [("the final fit", plan.train)]
    never, always = {}, {}
    for what, rows in fits:
        positive = y[rows] > 0
        for found, labels in ((never, ~positive.any(axis=0)), (always, positive.all(axis=0))):
            for label in np.asarray(ds.classes)[labels]:
                found.setdefault(str(label), []).append(what)

    def named(found):
        return "; ".join(
            f"{label} ({'every fit' if len(whats) == len(fits) else ', '.join(whats)})"
            for label, whats in found.items())

    said = []
    if never:
        said.append("label(s) without a positive training record in some fits, which learn "
                    f"them as never present: {named(never)}")
    if always:
        said.append("label(s) without a negative training record in some fits, which learn "
                    f"them as always present: {named(always)}")
    if said:
        warnings.warn(f"{ds.name}: {'; and '.join(said)}.", UserWarning, stacklevel=3)


_CONSTANT_LABEL = r"Label (not )?.* is present in all training examples"


@contextlib.contextmanager
def quiet_constant_labels():
    """Silence one-vs-rest's warning per label that never varies in a fit's records.

    :func:`_warn_unlearnt_labels` names those labels once. ``catch_warnings`` is
    not thread-safe: ``tune`` enters this around its threads of trials.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CONSTANT_LABEL, category=UserWarning)
        yield


def _fit(estimator, X, y):
    """``estimator.fit(X, y)`` without one-vs-rest's warning per label that never varies."""
    with main_thread_only(quiet_constant_labels):  # tune silences it around its threads
        return estimator.fit(X, y)


def _warn_rare_classes(name, y, consequence):
    """Warn, naming them, of classes with fewer records in ``y`` than the folds split it in."""
    labels, counts = np.unique(y, return_counts=True)
    rare = [f"{str(label)!r} ({count})" for label, count in zip(labels, counts)
            if count < _N_SPLITS]
    if rare:
        warnings.warn(f"{name}: class(es) {', '.join(rare)} have fewer records than the "
                      f"{_N_SPLITS} folds they are split in, so {consequence}. More records "
                      "of them (a larger --max-records, where one is given) avoid it.",
                      UserWarning, stacklevel=3)


#: ``fit_final``'s ``validation`` when the networks validated on fold 9, so
#: that the validation records were fitted too.
VALIDATION_NETWORKS = "fold 9 (networks)"


def fit_final(estimator, X, y, plan, groups=None, seed=0):
    """Fit a clone of ``estimator`` for the final test of a split plan.

    The clone learns from the training records ``plan.train``. Where the
    plan has validation records (PTB-XL's fold 9), every network in it
    (:class:`~ecgsk.neural.ECGNetClassifier`: the estimator, a pipeline
    step, an ensemble member) validates on them -- early stopping,
    learning-rate schedule, best epoch -- as the PTB-XL benchmark does: the
    clone is fitted on training and validation records together with
    :func:`ecgsk.neural.set_validation` marking the latter, and a
    :class:`~ecgsk.ensemble.SoftVotingEnsemble` fits its members without a
    network on the training records alone. No weights learn from the
    validation records; the unsupervised steps of a network's pipeline
    before it (a :class:`~ecgsk.preprocessing.Standardizer`'s per-lead
    means and deviations) are fitted on both. An estimator without a
    network is fitted on the training records only (the validation records
    are left to tune its decision thresholds). A plan without validation records (PTB-DB, CinC
    2017) fits the training records as :func:`fit_fold` fits a fold's: the
    networks hold whole patients of ``groups`` out for their validation.
    Shared by ``compare``'s final fit and ``tune``'s refit of the best trial.

    Parameters
    ----------
    estimator : estimator
        Left as it is; a clone is fitted.
    X, y : ndarray
        All records of the dataset the plan indexes (arrays: the plan's
        indices select rows of them).
    plan : SplitPlan
        The split plan (:func:`make_plan`) of the dataset: its ``train`` and
        ``valid`` indices into ``X`` and ``y`` choose the records fitted.
    groups : ndarray or None, default=None
        The patient of each record of ``X``, for a plan without validation
        records (see :func:`fit_fold`).
    seed : int, default=0
        Seeds that patient split.

    Returns
    -------
    fitted : estimator
    validation : str
        How the validation records were used, logged as ``final.validation``:
        ``"fold 9 (networks)"``, ``"fold 9 (thresholds only)"`` (no network
        to validate) or ``"none"`` (the plan has no validation records).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ecgsk.datasets import ECGDataset
    >>> ds = ECGDataset(X=np.array([f"rec{i}" for i in range(40)]), y=np.arange(40) % 2,
    ...                 folds=np.arange(40) % 10 + 1, name="demo")
    >>> features = np.random.RandomState(0).normal(size=(40, 3))
    >>> model, validation = fit_final(LogisticRegression(), features, ds.y, make_plan(ds))
    >>> validation  # no network: fold 9 is left to tune the decision thresholds
    'fold 9 (thresholds only)'
    """
    from sklearn.base import clone

    est, rows = clone(estimator), plan.train
    if plan.valid is None:
        # A record-wise split would validate the networks on patients they train on.
        return fit_fold(est, X, y, rows, groups, seed), "none"
    else:
        from ..neural import set_validation

        both = np.concatenate([plan.train, plan.valid])
        if set_validation(est, np.isin(both, plan.valid)):
            rows, validation = both, VALIDATION_NETWORKS
        else:
            validation = "fold 9 (thresholds only)"
    return _fit(est, X[rows], y[rows]), validation


def fit_fold(estimator, X, y, rows, groups=None, seed=0):
    """Fit ``estimator`` (a fresh clone) on the training records ``rows`` of a CV fold.

    The networks in it validate (early stopping, learning-rate schedule,
    best epoch) on records of their own split of ``rows``. Where ``groups``
    holds patient ids (a patient with several records) and the networks
    split by themselves (``train_split="auto"``), that split holds whole
    patients out: :class:`~sklearn.model_selection.GroupShuffleSplit` of
    their ``valid_size``, seeded by ``seed``, marked with
    :func:`ecgsk.neural.set_validation`, as :func:`fit_final` marks fold 9.
    A record-wise split would validate on patients the network trains on. A
    :class:`~ecgsk.ensemble.SoftVotingEnsemble` then fits its members
    without a network on the other records, as in :func:`fit_final`.
    A network with ``train_split=None`` does not validate, and is left so.
    Networks of one estimator that would validate on different records
    (several ``valid_size``, or a split of a network's own making beside
    them) are refused there. Without patient ids, or networks that split by
    themselves, the estimator is fitted on ``rows`` as it is. Shared by
    ``compare``'s cross-validation and ``tune``'s trials.

    Parameters
    ----------
    estimator : estimator
        A clone made for this fold (its networks' ``train_split`` may be set).
    X, y : ndarray
        All records of the dataset (``rows`` selects the fold's training ones).
    rows : ndarray of int
        The fold's training records.
    groups : ndarray or None, default=None
        The patient of each record of ``X``; None or one record per patient
        (CinC 2017) keeps each network's own split.
    seed : int, default=0
        Seeds the patient split.

    Returns
    -------
    fitted : estimator
        ``estimator``, fitted.

    Raises
    ------
    ValueError
        If, with patient ids, the networks that split by themselves do so
        with different ``valid_size``, or beside a network with a split of
        its own making.
    """
    from sklearn.model_selection import GroupShuffleSplit

    from ..neural._split import mark_validation, networks_in

    est = estimator
    rows = np.asarray(rows)
    found = networks_in(est)
    own = [(key, net) for key, net in found if isinstance(net.train_split, str)
           and net.train_split == "auto" and net.valid_size is not None]
    # A network that does not validate (train_split=None) is left alone; one with a split
    # of its own making (a callable) cannot be given whole patients.
    custom = [net for _, net in found if net.train_split and not (
        isinstance(net.train_split, str) and net.train_split == "auto")]
    by_patient = groups is not None and len(own) > 0
    if by_patient:
        patients = np.asarray(groups)[rows]
        n_patients = len(np.unique(patients))
        by_patient = 1 < n_patients < len(patients)  # patient ids, and more than one
    sizes = {net.valid_size for _, net in own}
    if by_patient and (len(sizes) > 1 or custom):
        # One patient split serves every network; split by themselves, the others would
        # validate on records of patients they train on.
        what = (f"valid_size {sorted(sizes, key=str)}" if len(sizes) > 1 else
                f"{len(custom)} with a train_split of its own beside {len(own)} with "
                "train_split='auto'")
        raise ValueError(
            f"the networks of this pipeline would validate on different records: {what}. "
            "Records of one patient must not be split between training and validation, so "
            "the networks that validate do so on one split of whole patients: give them one "
            "valid_size and train_split='auto' (or train_split=None to one that should not "
            "validate).")
    if by_patient:
        split = GroupShuffleSplit(n_splits=1, test_size=sizes.pop(), random_state=seed)
        _, valid = next(split.split(rows, groups=patients))
        mark_validation(est, np.isin(np.arange(len(rows)), valid), own)
    return _fit(est, X[rows], y[rows])


def default_length(dataset, sampling_rate):
    """Samples per record without a pipeline ``LENGTH``: 10 s (PTB-XL, PTB-DB), 30 s (CinC)."""
    return int(round(_DEFAULT_SECONDS[dataset] * float(sampling_rate)))


def checkpoint_folder(cache_dir=None):
    """Where compare, tune and ``bench/quality.py`` keep the networks' checkpoints.

    ``checkpoints`` in the signal cache (``cache_dir``, else
    :func:`default_cache_dir`); see :func:`ecgsk.neural.checkpoints`.
    """
    return resolve_cache_dir(cache_dir) / "checkpoints"


def load_signals(paths, *, sampling_rate, length, cache_dir=None, n_jobs=1,
                 return_lead_names=False, leads=None):
    """Read records into float32 ``(n, leads, length)`` arrays.

    With :class:`~ecgsk.preprocessing.WFDBLoader`, resampling to
    ``sampling_rate`` and padding or cropping to ``length`` samples, and
    reading ``leads`` (names, in that order) when given, every lead of the
    records otherwise. With ``return_lead_names``, also the loader's
    ``lead_names_``. A record that cannot be read (a truncated signal file,
    a bad header, NaN samples, a lead it lacks) raises :class:`CompareError`
    naming it.
    """
    from ..preprocessing import WFDBLoader

    loader = WFDBLoader(leads=None if leads is None else list(leads),
                        sampling_rate=sampling_rate, length=length, n_jobs=n_jobs,
                        cache_dir=None if cache_dir is None else str(cache_dir))
    try:
        X = loader.fit_transform(np.asarray(paths))
    except (ValueError, FileNotFoundError) as exc:  # it names the record: a truncated or
        raise CompareError(str(exc)) from None    # missing data file, a bad header, NaNs
    return (X, list(loader.lead_names_)) if return_lead_names else X
