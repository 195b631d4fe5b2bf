"""Parameters of a run: the pipeline, the data it saw, and the software that ran it."""

import functools
import hashlib
import importlib.metadata
import inspect
import os
import platform
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import mlflow
import numpy as np
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

from ._masking import MASK, is_secret_key, mask_secrets

__all__ = [
    "pipeline_params",
    "log_pipeline_params",
    "data_hash",
    "data_info_params",
    "log_data_info",
    "environment_tags",
    "log_environment",
]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_TRUNCATED = "...[truncated]"


def _qualname(obj):
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{module}.{name}" if module and module != "builtins" else name


def _short(value, limit=MAX_PARAM_VAL_LENGTH):
    """A readable one-line string for a parameter value, at most ``limit`` characters.

    Secrets are masked (:func:`mask_secrets`) before the text is cut, so that
    a cut through a password does not leave its start unmasked.
    """
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        text = str(value)
    elif inspect.isclass(value) or inspect.isroutine(value):
        text = _qualname(value)
    elif isinstance(value, functools.partial):
        args = ", ".join([_short(a, 200) for a in value.args]
                         + [f"{k}={_short(v, 200)}" for k, v in value.keywords.items()])
        text = f"partial({_qualname(value.func)}{', ' if args else ''}{args})"
    elif isinstance(value, np.ndarray):
        text = (np.array2string(value, separator=", ", threshold=20).replace("\n", "")
                if value.size <= 20 else f"ndarray(shape={value.shape}, dtype={value.dtype})")
    else:
        text = repr(value)
        if _ADDRESS.search(text):  # the default object repr: keep only the class
            text = _qualname(type(value))
    text = mask_secrets(" ".join(text.split()))
    if len(text) > limit:
        text = text[:limit - len(_TRUNCATED)] + _TRUNCATED
    return text



def _named_params(prefix, params):
    """``{"<prefix>.<name>": text}`` for MLflow, the value of a secret-named key masked whole.

    :func:`_short` masks secrets inside a value's text (``key=value``, a URI's
    password); a bare token under a name such as ``api_token`` is masked here.
    """
    return {f"{prefix}.{k}": MASK if is_secret_key(k) else _short(v) for k, v in params.items()}


def _is_step_list(value):
    """Whether ``value`` is a list of ``(name, estimator, ...)`` steps (steps, transformers).

    Its repr would repeat every step's parameters, secrets among them, which
    are logged one by one beside it.
    """
    return (isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str)
        and (hasattr(item[1], "get_params") or isinstance(item[1], str)
             and item[1] in ("drop", "passthrough"))
        for item in value))


def pipeline_params(pipeline, name=None):
    """The flattened ``get_params(deep=True)`` of an estimator, as loggable strings.

    Parameters
    ----------
    pipeline : sklearn estimator
        Usually a :class:`sklearn.pipeline.Pipeline`.
    name : str or None
        Logged as ``pipeline``.

    Returns
    -------
    dict of str to str
        ``pipeline`` (the name), ``pipeline.class`` and, for a Pipeline,
        ``pipeline.steps`` (``name=Class`` in order), then every parameter
        (``clf__C``...). Estimators whose own parameters are already in the
        dict (the steps themselves) are left out; classes and functions
        become their qualified names, arrays their values (up to 20) or
        else their shape and dtype, other objects
        their one-line repr without memory addresses, all truncated to
        MLflow's 6000 characters. Values of secret-looking keys
        (``password``, ``token``...) are ``***``; URIs lose their passwords.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import LogisticRegression
    >>> params = pipeline_params(make_pipeline(StandardScaler(), LogisticRegression(C=0.5)), "lr")
    >>> params["pipeline.steps"]
    'standardscaler=StandardScaler -> logisticregression=LogisticRegression'
    >>> params["logisticregression__C"]
    '0.5'
    """
    if not hasattr(pipeline, "get_params"):
        raise TypeError(f"pipeline must be an sklearn estimator, got {type(pipeline).__name__}.")
    out = {}
    if name is not None:
        out["pipeline"] = _short(name)
    out["pipeline.class"] = _qualname(type(pipeline))
    steps = getattr(pipeline, "steps", None)
    if isinstance(steps, list):
        out["pipeline.steps"] = _short(" -> ".join(
            f"{step_name}={step if isinstance(step, str) else type(step).__name__}"
            for step_name, step in steps))
    params = pipeline.get_params(deep=True)
    for key in sorted(params):
        value = params[key]
        if key == "steps" and isinstance(steps, list):
            continue
        if _is_step_list(value):  # a nested pipeline's or union's steps: named by class
            out[key] = _short(" -> ".join(
                f"{step_name}={step if isinstance(step, str) else type(step).__name__}"
                for step_name, step, *_ in value))
            continue
        if hasattr(value, "get_params") and not inspect.isclass(value) and any(
                k.startswith(f"{key}__") for k in params):
            continue  # a step or nested estimator: its own parameters follow
        out[key] = MASK if is_secret_key(key) else _short(value)
    return out


def log_pipeline_params(pipeline, name):
    """Log :func:`pipeline_params` to the active run.

    Parameters
    ----------
    pipeline : sklearn estimator
        The estimator whose parameters are logged, usually a
        :class:`sklearn.pipeline.Pipeline`.
    name : str
        The pipeline's name, logged as the ``pipeline`` parameter.

    Returns
    -------
    dict of str to str
        What was logged.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ecgsk.tracking import setup_tracking, tracked_run
    >>> exp_id = setup_tracking("sqlite:///mlruns/mlflow.db", "demo")  # doctest: +SKIP
    >>> with tracked_run("logreg"):                                     # doctest: +SKIP
    ...     params = log_pipeline_params(LogisticRegression(C=0.5), "logreg")
    >>> params["pipeline"], params["C"]                                 # doctest: +SKIP
    ('logreg', '0.5')
    """
    params = pipeline_params(pipeline, name)
    mlflow.log_params(params)
    return params


def _record_files(paths):
    """Files of each record (``path.*``), listing each folder once."""
    listings = {}
    by_dir = defaultdict(list)
    for p in paths:
        by_dir[os.path.dirname(p)].append(p)
    files = {}
    for folder, members in by_dir.items():
        if folder not in listings:
            entries = defaultdict(list)
            try:
                with os.scandir(folder or ".") as it:
                    for entry in it:
                        if entry.is_file():
                            stem = os.path.splitext(entry.name)[0]
                            st = entry.stat()
                            entries[stem].append((entry.name, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                pass
            listings[folder] = entries
        for p in members:
            files[p] = sorted(listings[folder].get(os.path.basename(p), []))
    return files


def _label_bytes(y):
    """The labels' values as bytes: the same labels hash alike whatever their dtype.

    Booleans and integers of any width (an indicator matrix as bool, uint8
    or int64; class indices as int32 or int64), and floats holding whole
    numbers, are hashed as int64; other floats as float64.
    """
    y = np.asarray(y)
    if y.dtype.kind in "OUS":
        return ("\x1f".join(map(str, y.ravel().tolist())) + f"|{y.shape}").encode()
    whole = y.dtype.kind in "biu" or (y.dtype.kind == "f" and np.isfinite(y).all()
                                      and np.array_equal(y, np.round(y)))
    kind = "<i8" if whole else "<f8"  # int64 and float64 labels hash as they always did
    return np.ascontiguousarray(y, dtype=kind).tobytes() + f"|{kind}|{y.shape}".encode()


def data_hash(X, y=None):
    """SHA-256 of the data actually used: record files or array bytes, and the labels.

    Parameters
    ----------
    X : array-like of str, or ndarray of numbers
        Record paths (without extension, as the dataset readers give them)
        or the signal array.
    y : array-like or None
        Labels aligned with ``X``; hashed in the same order.

    Returns
    -------
    str
        Hex digest. For paths: over the sorted paths, each with the name,
        size and modification time of its files (``.hea``, ``.dat``,
        ``.mat``...), so an edited or re-downloaded record changes it. For
        arrays: over the dtype, shape and bytes. Labels are hashed by value:
        the same labels as int32 or int64, bool or uint8, give the same
        digest.

    Raises
    ------
    FileNotFoundError
        If a record path has no file.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((2, 12, 100), dtype=np.float32)
    >>> digest = data_hash(X, [0, 1])
    >>> len(digest), digest == data_hash(X.copy(), [0, 1]), digest == data_hash(X, [1, 0])
    (64, True, False)
    """
    h = hashlib.sha256()
    arr = np.asarray(X)
    is_paths = arr.dtype.kind in "US" or (arr.dtype.kind == "O" and arr.size
                                           and isinstance(arr.flat[0], (str, os.PathLike)))
    if is_paths:
        paths = [os.fspath(p) for p in arr.ravel().tolist()]
        order = np.argsort(np.array(paths, dtype=object), kind="stable")
        files = _record_files(paths)
        for i in order:
            p = paths[i]
            if not files[p]:
                raise FileNotFoundError(f"record {p} has no file (expected {p}.hea and its data).")
            h.update(p.encode() + b"\0")
            for fname, size, mtime in files[p]:
                h.update(f"{fname}|{size}|{mtime}\0".encode())
        if y is not None:
            h.update(_label_bytes(np.asarray(y)[order]))
    else:
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str}|{arr.shape}\0".encode())
        h.update(arr.tobytes())
        if y is not None:
            h.update(_label_bytes(y))
    return h.hexdigest()


def log_data_info(dataset_name, task, split, X_paths_or_array, y=None, *, classes=None,
                  prefix="data.", plots=False):
    """Log which data a run used, with a content hash (and, on request, plots of its labels).

    Parameters
    ----------
    dataset_name : str
        e.g. ``"ptbxl"``.
    task : str
        e.g. ``"superdiagnostic"``.
    split : str
        Which records, in words, e.g. ``"train: strat_fold 1-8"``.
    X_paths_or_array : array-like
        Record paths or the signal array actually used (see :func:`data_hash`).
    y : array-like or None
        Their labels.
    classes : array-like or None
        Names of the indicator columns of a multi-label ``y`` (or of the
        classes that integer labels index), used in ``label_counts``.
    prefix : str, default="data."
        Prefix of the parameter names, to log several splits on one run
        (``"train."``, ``"test."``).
    plots : bool, default=False
        Also log the exploratory plots of ``y`` (:func:`log_label_plots`)
        under ``data/<prefix without its dot>/``: ``class_distribution.png``
        and, for multi-label targets, ``label_cooccurrence.png``. Needs
        ``y`` and ``classes``. ``compare`` and ``tune`` ask for them once per
        run for the training split (not per fold, to keep folds cheap).

    Returns
    -------
    dict of str to str
        The parameters logged: ``<prefix>dataset``, ``task``, ``split``,
        ``n_records``, ``sha256`` and, with ``y``, ``label_counts``
        (positives per column for an indicator matrix).

    Examples
    --------
    >>> log_data_info("ptbxl", "superdiagnostic", "test: strat_fold 10",
    ...               test.X, test.y, classes=test.classes, prefix="test.")  # doctest: +SKIP
    >>> log_data_info("ptbxl", "superdiagnostic", "train: strat_fold 1-8", train.X, train.y,
    ...               classes=train.classes, prefix="train.", plots=True)  # doctest: +SKIP
    """
    if plots and (y is None or classes is None):
        raise ValueError("plots=True draws the labels: pass y and classes too.")
    params = data_info_params(dataset_name, task, split, X_paths_or_array, y, classes=classes,
                              prefix=prefix)
    mlflow.log_params(params)
    if plots:
        from ._eda import log_label_plots

        name = prefix.strip(".").strip("/") or "data"
        # The split's own words can be long: the title names it by its prefix.
        shown = _short(split, 40) if name == "data" else f"{name} split"
        log_label_plots(y, classes, artifact_dir=name if name == "data" else f"data/{name}",
                        title=f"{dataset_name}/{task}: {shown}")
    return params


def data_info_params(dataset_name, task, split, X_paths_or_array, y=None, *, classes=None,
                     prefix="data."):
    """The parameters :func:`log_data_info` logs, without logging them.

    For a run that is not the active one (``MlflowClient().log_batch``).
    Same arguments and return value as :func:`log_data_info`.
    """
    n = len(X_paths_or_array)
    params = {
        f"{prefix}dataset": _short(dataset_name),
        f"{prefix}task": str(task),
        f"{prefix}split": _short(split),
        f"{prefix}n_records": str(n),
        f"{prefix}sha256": data_hash(X_paths_or_array, y),
    }
    if y is not None:
        y = np.asarray(y)
        names = None if classes is None else [str(c) for c in np.asarray(classes).tolist()]
        if y.ndim == 2:
            names = names if names is not None and len(names) == y.shape[1] else None
            counts = {(names[j] if names else str(j)): int(c) for j, c in enumerate(y.sum(axis=0))}
        else:
            values, c = np.unique(y, return_counts=True)
            if names is not None and values.dtype.kind in "iu" and (
                    values.size == 0 or values.max() < len(names)):
                values = np.asarray(names, dtype=object)[values]
            counts = dict(zip(map(str, values.tolist()), c.tolist()))
        params[f"{prefix}label_counts"] = _short(counts)
    return params


_PACKAGES = {"ecgsk": "ecgsk", "torch": "torch", "sklearn": "scikit-learn", "skorch": "skorch",
             "mlflow": "mlflow", "numpy": "numpy"}


def _git(args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=20, check=True).stdout.strip()


@functools.lru_cache(maxsize=1)
def _git_tags():
    """Commit and dirty flag of the checkout ecgsk runs from; empty when installed from a wheel."""
    repo = Path(__file__).resolve().parents[2]
    try:
        top = _git(["rev-parse", "--show-toplevel"], repo)
        if Path(top).resolve() != repo:
            return {}  # ecgsk is not the root of this repository (e.g. a venv inside a project)
        commit = _git(["rev-parse", "HEAD"], repo)
        dirty = bool(_git(["status", "--porcelain"], repo))
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"ecgsk.git.commit": commit, "ecgsk.git.dirty": str(dirty).lower()}


def cpu_model():
    """The processor's model name from ``/proc/cpuinfo``, else what :mod:`platform` says."""
    name = platform.processor() or platform.machine() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name")), name)
    except OSError:
        return name


def environment_tags():
    """Tags describing the software: git commit and dirty flag, package versions.

    Returns
    -------
    dict of str to str
        ``ecgsk.git.commit`` and ``ecgsk.git.dirty`` (``"true"`` when the
        checkout has uncommitted or untracked files) when ecgsk runs from a
        git checkout; ``ecgsk.version.<package>`` for ecgsk, torch, sklearn,
        skorch, mlflow and numpy (``"not installed"`` when absent),
        ``ecgsk.version.python``; ``ecgsk.cpu``, the processor's model;
        and ``ecgsk.threads.torch``, torch's intra-op threads now, where
        torch is imported (CPU fits are reproducible on one CPU model at a
        fixed number of threads).

    Examples
    --------
    >>> import platform
    >>> tags = environment_tags()
    >>> tags["ecgsk.version.python"] == platform.python_version()
    True
    >>> "ecgsk.version.sklearn" in tags and "ecgsk.cpu" in tags
    True
    """
    tags = dict(_git_tags())
    for short, dist in _PACKAGES.items():
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        tags[f"ecgsk.version.{short}"] = version
    tags["ecgsk.version.python"] = platform.python_version()
    tags["ecgsk.cpu"] = cpu_model()
    tags.update(thread_tags())
    return tags


def thread_tags():
    """``{"ecgsk.threads.torch": torch's intra-op threads}``, or ``{}`` before torch is imported.

    Set on each run that fits, since a rerun that resumes may use other threads.
    """
    torch = sys.modules.get("torch")  # not imported for this: torch is slow to import
    return {} if torch is None else {"ecgsk.threads.torch": str(torch.get_num_threads())}


def log_environment():
    """Set :func:`environment_tags` on the active run and return them."""
    tags = environment_tags()
    mlflow.set_tags(tags)
    return tags
