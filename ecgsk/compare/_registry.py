"""Find, load and check pipeline modules.

A pipeline module is a Python file exposing:

``make_pipeline(**params)``
    Returns an unfitted sklearn estimator (usually a
    :class:`~sklearn.pipeline.Pipeline`) taking raw signal arrays
    ``(n_records, n_leads, n_samples)`` and having ``predict_proba``.
    Every network pipeline's factory accepts ``max_epochs``.
``DATASET``
    The dataset it is made for (``"ptbxl"``, ``"cinc2017"``, ``"ptbdb"``),
    or a tuple of them.
``TASK``
    The task (``"superdiagnostic"``, ``"af"``...), or a tuple of them.
``SAMPLING_RATE``
    Sampling rate in Hz of the signals it expects.
``search_space(trial)``
    Returns ``make_pipeline`` keyword arguments drawn from an Optuna trial.
    It may take a keyword ``fixed``: ``python -m ecgsk.tune`` then passes
    the keywords fixed for every trial (``--set``, ``random_state``),
    read-only, so that it suggests only what acts on the pipeline they build.
a module docstring
    What the pipeline is, shown by ``python -m ecgsk.compare --list``.

Optionally ``LENGTH``: samples per record at ``SAMPLING_RATE`` (the
comparison pads or crops to it; by default 10 s for PTB-XL and PTB-DB, 30 s
for CinC 2017).

A pipeline built on another loads it with :func:`load_pipeline_module` at
module level (``inception1d`` takes ``resnet1d``'s recipe): that file's
source then counts in the pipeline's hash, which a resumed comparison or
tuning study checks.

Pipelines are named by the file's stem and found, in this order, in the
folders of the ``ECGSK_PIPELINES`` environment variable (``os.pathsep``
separated), in ``./pipelines/`` of the current directory, and in
``pipelines/`` of the ecgsk checkout (the folder beside the ``ecgsk``
package; absent when ecgsk is installed from a wheel). A path to a ``.py``
file loads that file instead.
"""

import hashlib
import importlib.util
import inspect
import numbers
import os
import re
import sys
import types
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "PipelineError",
    "pipeline_dirs",
    "list_pipelines",
    "shadowed_pipelines",
    "load_pipeline_module",
    "validate_pipeline_module",
    "factory_parameters",
    "check_factory_params",
    "validate_built",
    "PIPELINES_ENV",
]

#: Environment variable listing extra folders of pipeline modules.
PIPELINES_ENV = "ECGSK_PIPELINES"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_loaded = {}
_shadow_warned = set()
#: One list per pipeline file being imported (innermost last): the ``(path, sha256)`` of
#: the pipeline files it loads.
_importing = []


class PipelineError(ValueError):
    """A pipeline that cannot be found, loaded or called as asked."""


def pipeline_dirs():
    """Folders searched for pipeline modules by name, in order (existing ones only).

    Returns
    -------
    list of pathlib.Path
        The folders of ``ECGSK_PIPELINES``, then ``./pipelines``, then
        ``pipelines/`` beside the ``ecgsk`` package.
    """
    out = []
    for folder in _candidate_dirs():
        if folder.is_dir() and folder not in out:
            out.append(folder)
    return out


def _candidate_dirs():
    candidates = [Path(p) for p in os.environ.get(PIPELINES_ENV, "").split(os.pathsep) if p]
    candidates += [Path.cwd() / "pipelines", Path(__file__).resolve().parents[2] / "pipelines"]
    return [folder.expanduser().resolve() for folder in candidates]


def searched_folders():
    """The folders searched for pipelines by name, in words, those missing marked.

    An installed ecgsk (not a checkout) has no ``pipelines/`` beside it, so
    where no folder exists the words say where the named pipelines are.
    """
    folders = {folder: folder.is_dir() for folder in _candidate_dirs()}
    words = ", ".join(str(f) if there else f"{f} (missing)" for f, there in folders.items())
    if not any(folders.values()):
        words += (f". The named pipelines are the pipelines/ folder of ecgsk's source "
                  f"repository, which an installed package does not hold: set {PIPELINES_ENV} "
                  "to that folder")
    return words


def list_pipelines():
    """Pipeline names found in :func:`pipeline_dirs`, mapped to their files.

    A name found in several folders maps to the first (the others are
    :func:`shadowed_pipelines`); files starting with ``_`` are helpers, not
    pipelines.

    Examples
    --------
    >>> pipelines = list_pipelines()
    >>> pipelines["features_logreg"].name  # in pipelines/ of an ecgsk checkout
    'features_logreg.py'
    """
    return {name: paths[0] for name, paths in _pipeline_files().items()}


def shadowed_pipelines():
    """Names found in several folders of :func:`pipeline_dirs`, mapped to the files passed over.

    Examples
    --------
    >>> shadowed_pipelines().get("no_such_pipeline", [])
    []
    """
    return {name: paths[1:] for name, paths in _pipeline_files().items() if len(paths) > 1}


def _pipeline_files():
    """Every pipeline name found, with its files in the order of :func:`pipeline_dirs`."""
    found = {}
    for folder in pipeline_dirs():
        for path in sorted(folder.glob("*.py")):
            if not path.stem.startswith("_") and _NAME.match(path.stem):
                found.setdefault(path.stem, []).append(path)
    return found


def unnamed_pipeline_files():
    """Files of :func:`pipeline_dirs` that no name reaches: a stem of other characters.

    A name is ASCII letters, digits and ``_``, not starting with a digit.

    ``My-Pipe.py``, ``2024_run.py`` or ``café.py`` still load by path; ``--list``
    names them so.
    """
    return [path for folder in pipeline_dirs() for path in sorted(folder.glob("*.py"))
            if not path.stem.startswith("_") and not _NAME.match(path.stem)]


def _is_path(name_or_path):
    text = os.fspath(name_or_path)
    return text.endswith(".py") or "/" in text or os.sep in text


def _digest(path):
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _import_file(path):
    import cloudpickle

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    key = (str(path), digest)
    cached = _loaded.get(key)
    if cached is not None and all(_digest(p) == d for p, d in cached.__ecgsk_requires__):
        _required_by_caller(cached)
        return cached
    module_name = f"_ecgsk_pipeline_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    _importing.append([])
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # sys.exit or argparse at import: named too
        del sys.modules[module_name]
        raise PipelineError(f"pipeline module {path} failed to import: "
                            f"{type(exc).__name__}: {exc}") from exc
    finally:
        requires = _importing.pop()
    # Functions and classes of the module are pickled by value, so a logged
    # model loads where this file is not importable; so are those of the modules
    # of its folder that it imports (a helper beside it), which it was not.
    cloudpickle.register_pickle_by_value(module)
    for helper in _helpers_of(path, module):
        requires.append((helper.__file__, _digest(helper.__file__)))
        _pickle_by_value(helper)
    requires = sorted(set(requires))
    module.__ecgsk_name__ = path.stem
    module.__ecgsk_path__ = str(path)
    # The pipeline files it loads as it is imported (inception1d's resnet1d) are part of
    # its source: editing one must change the hash that resumed studies and comparisons
    # compare.
    module.__ecgsk_requires__ = requires
    module.__ecgsk_file_sha256__ = digest
    module.__ecgsk_sha256__ = digest if not requires else hashlib.sha256(
        "\n".join([digest] + [d for _, d in requires]).encode()).hexdigest()
    _loaded[key] = module
    _required_by_caller(module)
    return module


def _pickle_by_value(helper):
    """Have cloudpickle store ``helper``'s code in the models, where its globals pickle.

    A global that does not pickle (a lock, a connection) would fail every
    model of the pipeline: such a helper is left to be pickled by name, with
    a warning. Decided once, at load: switching cloudpickle's registry for
    one model raced with other threads that pickle.
    """
    import cloudpickle

    if helper.__name__ in cloudpickle.list_registry_pickle_by_value():
        return
    cloudpickle.register_pickle_by_value(helper)
    try:
        cloudpickle.dumps(helper)
    except Exception as exc:  # noqa: BLE001 -- whatever its globals hold
        cloudpickle.unregister_pickle_by_value(helper)
        warnings.warn(f"the module {helper.__name__!r} ({helper.__file__}) beside a pipeline "
                      f"file holds a global that does not pickle ({type(exc).__name__}: "
                      f"{exc}): models refer to it by name, and load only where it is "
                      "importable.", UserWarning, stacklevel=4)


def _in_folder(file, folder):
    """Whether ``file`` is a module of ``folder``, not a library installed under it.

    Not one installed there: a project's .venv may lie beside the pipeline.
    """
    return Path(file).resolve().is_relative_to(folder) and not _installed(file)


def _installed(file):
    """Whether ``file`` belongs to Python's installation: its standard library or a package."""
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    file = Path(file).resolve()
    return (any(file.is_relative_to(p) for p in prefixes)
            or bool({"site-packages", "dist-packages"} & set(file.parts)))


def _helpers_of(path, module):
    """The modules of ``path``'s folder that ``module`` uses, and those they use in turn.

    Found from the modules' globals (a module imported, or a function or
    class taken from one), not from what its import added to
    :data:`sys.modules`: a helper that another pipeline, or a notebook, had
    imported first was missed. ecgsk's own modules and pipeline files
    (loaded by name, hashed already) are left out.

    Raises
    ------
    PipelineError
        If a module the pipeline uses has the name of a file beside it but
        is another file: a module of that name was imported before.
    """
    folder = path.resolve().parent
    found, todo = {}, [module]
    while todo:
        for value in list(vars(todo.pop()).values()):
            owner = getattr(value, "__module__", None)
            used = value if isinstance(value, types.ModuleType) else sys.modules.get(
                owner if isinstance(owner, str) else "")
            name = getattr(used, "__name__", "")
            file = getattr(used, "__file__", None)
            if (used is None or used is module or name in found or file is None
                    or name.startswith(("ecgsk", "_ecgsk_pipeline_"))):
                continue
            if not _in_folder(file, folder):
                beside = folder / f"{name}.py"
                # An installed module (the standard json, timm) is what "import json" means
                # whatever json.py lies beside the pipeline (the pipeline itself, or another).
                if "." not in name and beside.is_file() and not _installed(file) and \
                        beside.resolve() not in (Path(file).resolve(), path.resolve()):
                    raise PipelineError(
                        f"pipeline module {path} uses the module {name!r} from {file}, not "
                        f"the {beside.name} beside it: a module of that name was imported "
                        "before (by another pipeline?). Give one of them another name.")
                continue
            found[name] = used
            todo.append(used)
    return [found[name] for name in sorted(found)]


def _required_by_caller(module):
    """Count ``module``'s files among those of the pipeline being imported, if any."""
    if _importing:
        _importing[-1].extend([(module.__ecgsk_path__, module.__ecgsk_file_sha256__),
                               *module.__ecgsk_requires__])


def load_pipeline_module(name_or_path):
    """Load a pipeline module by name or by path, and check its shape.

    Parameters
    ----------
    name_or_path : str or path-like
        A name found by :func:`list_pipelines` (``"features_logreg"``), or the
        path of a ``.py`` file of the same shape.

    Returns
    -------
    module
        With ``__ecgsk_name__`` (the file's stem), ``__ecgsk_path__`` and
        ``__ecgsk_sha256__`` set: the SHA-256 of the file, combined with
        those of the pipeline files it loads with this function as it is
        imported (at module level, as ``inception1d`` loads ``resnet1d``),
        so that editing either changes it. A pipeline that loads another
        only inside ``make_pipeline`` leaves that file out of its hash.

    Raises
    ------
    PipelineError
        If no such pipeline exists (the message lists the available ones and
        the folders searched), the file fails to import, or the module lacks
        part of the shape (see :func:`validate_pipeline_module`).
    """
    if _is_path(name_or_path):
        path = Path(name_or_path).expanduser().resolve()
        if not path.is_file():
            raise PipelineError(f"no pipeline file at {path}.")
        if path.suffix != ".py":
            raise PipelineError(f"a pipeline file must be a .py module, got {path}.")
    else:
        name = str(name_or_path)
        files = _pipeline_files()  # the folders globbed once, for the name and its shadows
        available = {n: paths[0] for n, paths in files.items()}
        if not _NAME.match(name) or name not in available:
            names = ", ".join(sorted(available)) or "none"
            unnamed = [p for p in unnamed_pipeline_files() if p.stem == name]
            hint = (f" {unnamed[0]} is not reached by name, which must be ASCII letters, "
                    "digits and _, no digit first: pass its path." if unnamed else "")
            raise PipelineError(
                f"unknown pipeline {name!r}.{hint} Available: {names}. Searched folders: "
                f"{searched_folders()} (set {PIPELINES_ENV} or pass the path of a .py file).")
        path, *hidden = files[name]
        if hidden and (name, path) not in _shadow_warned:
            # A file of ./pipelines or $ECGSK_PIPELINES named as a checkout's one; said once.
            _shadow_warned.add((name, path))
            warnings.warn(f"pipeline {name!r} is {path}, which shadows "
                          f"{', '.join(map(str, hidden))}; pass a file's path to choose it.",
                          UserWarning, stacklevel=2)
    return validate_pipeline_module(_import_file(path))


def validate_pipeline_module(module):
    """Check that ``module`` has the pipeline shape; return it.

    Parameters
    ----------
    module : module
        A loaded pipeline module (see the shape in
        :mod:`ecgsk.compare._registry`): a docstring, callable
        ``make_pipeline`` and ``search_space``, ``DATASET`` and ``TASK`` (a
        non-empty name or collection of names), a positive
        ``SAMPLING_RATE`` and, if set, a positive integer ``LENGTH``.

    Returns
    -------
    module
        ``module`` itself, unchanged.

    Raises
    ------
    PipelineError
        Listing every missing or malformed attribute.
    """
    where = getattr(module, "__ecgsk_path__", None) or getattr(module, "__name__", repr(module))
    problems = []
    if not (module.__doc__ or "").strip():
        problems.append("a module docstring describing the pipeline")
    for attr in ("make_pipeline", "search_space"):
        if not callable(getattr(module, attr, None)):
            problems.append(f"a function {attr}()")
    names_given = True
    for attr in ("DATASET", "TASK"):
        value = getattr(module, attr, None)
        values = (value,) if isinstance(value, str) else value
        if not isinstance(values, (tuple, list, frozenset, set)) or not values or not all(
                isinstance(v, str) and v for v in values):
            problems.append(f"{attr} (a name or a tuple of names, got {value!r})")
            names_given = False
    if names_given:
        problems += _unknown_names(module.DATASET, module.TASK)
    rate = getattr(module, "SAMPLING_RATE", None)
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not rate > 0:
        problems.append(f"SAMPLING_RATE (a positive number of Hz, got {rate!r})")
    length = getattr(module, "LENGTH", None)
    if length is not None and (isinstance(length, bool) or not isinstance(length, numbers.Integral)
                               or length <= 0):
        problems.append(f"LENGTH, if set, a positive number of samples (got {length!r})")
    if problems:
        raise PipelineError(f"pipeline module {where} is not a valid ecgsk pipeline; it needs "
                            + "; ".join(problems) + ".")
    return module


def _unknown_names(dataset, task):
    """Problems with ``DATASET`` and ``TASK`` names that no reader knows (a typo, say)."""
    from ._data import DATASETS, dataset_tasks

    datasets = (dataset,) if isinstance(dataset, str) else tuple(dataset)
    tasks = (task,) if isinstance(task, str) else tuple(task)
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        return [f"DATASET among {DATASETS} (got unknown {', '.join(map(repr, unknown))})"]
    known = {t for d in datasets for t in dataset_tasks(d)}
    unknown = [t for t in tasks if t not in known]
    if unknown:
        return [f"TASK among the tasks of its datasets, {tuple(sorted(known))} (got unknown "
                f"{', '.join(map(repr, unknown))})"]
    return []


def factory_parameters(module):
    """Keyword parameters ``module.make_pipeline`` accepts, and whether it takes ``**kwargs``.

    Parameters
    ----------
    module : module
        A pipeline module; only its ``make_pipeline`` is read.

    Returns
    -------
    names : list of str
        The parameters of ``make_pipeline`` that can be passed by keyword, in
        signature order.
    var_kw : bool
        Whether ``make_pipeline`` takes ``**kwargs``.
    """
    sig = inspect.signature(module.make_pipeline)
    names = [p.name for p in sig.parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    return names, var_kw


def check_factory_params(module, params, name=None):
    """Raise :class:`PipelineError` if ``make_pipeline`` does not accept every key of ``params``.

    Parameters
    ----------
    module : module
        A pipeline module.
    params : dict
        The keyword arguments meant for ``module.make_pipeline``; their
        names are checked, and the values of switches (parameters whose
        default is a bool).
    name : str, default=None
        The pipeline's name in the error message; the module's
        ``__ecgsk_name__``, else its ``__name__``, when None.

    Raises
    ------
    PipelineError
        If a key of ``params`` is no keyword parameter of ``make_pipeline``
        and it takes no ``**kwargs`` (the message lists the parameters it
        accepts), or a parameter whose default is a bool gets another value
        (``'false'`` would read as true).
    """
    names, var_kw = factory_parameters(module)
    unknown = sorted(set(params) - set(names))
    name = name or getattr(module, "__ecgsk_name__", module.__name__)
    if unknown and not var_kw:
        accepted = ", ".join(names) or "no parameters"
        raise PipelineError(f"pipeline {name!r}: make_pipeline has no parameter "
                            f"{', '.join(map(repr, unknown))}; it accepts: {accepted}.")
    # A switch given as text ('false') would read as true: refuse all but True and False
    # (and 0 and 1, as Python reads them).
    defaults = inspect.signature(module.make_pipeline).parameters
    for key, value in params.items():
        default = defaults[key].default if key in defaults else None
        switch = isinstance(value, (bool, np.bool_)) or (
            isinstance(value, numbers.Integral) and value in (0, 1))
        if isinstance(default, bool) and not switch:
            raise PipelineError(f"pipeline {name!r}: {key} takes True or False, got {value!r}.")


def _estimators(pipe):
    """The estimator and every estimator among its deep parameters."""
    found = [pipe]
    if hasattr(pipe, "get_params"):
        try:
            values = pipe.get_params(deep=True).values()
        except Exception:  # noqa: BLE001 -- a broken get_params shows up when fitting
            values = ()
        found += [v for v in values if hasattr(v, "get_params") and not isinstance(v, type)]
    return list({id(e): e for e in found}.values())


def validate_built(pipe):
    """Run the parameter checks estimators make at fit time, without fitting.

    sklearn estimators check ``_parameter_constraints``
    (``_validate_params``); ecgsk's transformers their ``_check_params``;
    :class:`~ecgsk.neural.ECGNetClassifier` its ``_validate_hyperparams``, then
    builds its network and optimizer without weights (``_check_builds``), so
    that ``module__depth=0`` fails here too.
    """
    for est in _estimators(pipe):
        if hasattr(est, "_parameter_constraints") and hasattr(est, "_validate_params"):
            est._validate_params()
        if type(est).__module__.startswith("ecgsk.") and callable(
                getattr(est, "_check_params", None)):
            est._check_params()
        if hasattr(est, "_validate_hyperparams"):
            est._validate_hyperparams()
        if type(est).__module__.startswith("ecgsk.") and callable(
                getattr(est, "_check_builds", None)):
            est._check_builds()
