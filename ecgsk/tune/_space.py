"""Samplers, pruners, and checking a pipeline's search space before a study starts."""

import importlib.util
import inspect
import re
import warnings
from types import MappingProxyType

from ._metrics import TuneError

__all__ = ["SAMPLERS", "PRUNERS", "make_sampler", "make_pruner", "trial_params",
           "takes_fixed", "check_search_space", "fixed_in_space"]

#: Sampler names of ``--sampler``.
SAMPLERS = ("tpe", "random", "cmaes")
#: Pruner names of ``--pruner``.
PRUNERS = ("median", "hyperband", "none")

_MAX_PROBES = 24


def make_sampler(sampler, seed, fixed=None):
    """An Optuna sampler from a name (``tpe``, ``random``, ``cmaes``) or an instance.

    Parameters
    ----------
    sampler : str or optuna.samplers.BaseSampler
        A sampler name (``tpe``, ``random``, ``cmaes``; ``cmaes`` needs the
        cmaes package), or a sampler, used as it is (``seed`` is then ignored).
    seed : int or None
        Seed of a named sampler.
    fixed : dict or None
        Parameters of the search space fixed by ``--set``: the sampler is
        wrapped in :class:`optuna.samplers.PartialFixedSampler` so that
        trials record the value used.

    Raises
    ------
    TuneError
        For an unknown name.

    Examples
    --------
    >>> type(make_sampler("tpe", seed=0)).__name__
    'TPESampler'
    >>> type(make_sampler("random", seed=0, fixed={"C": 1.0})).__name__  # C set by --set
    'PartialFixedSampler'
    """
    import optuna

    if isinstance(sampler, optuna.samplers.BaseSampler):
        base = sampler
    elif sampler == "tpe":
        base = optuna.samplers.TPESampler(seed=seed)
    elif sampler == "random":
        base = optuna.samplers.RandomSampler(seed=seed)
    elif sampler == "cmaes":
        if importlib.util.find_spec("cmaes") is None:
            raise TuneError("the cmaes sampler (--sampler cmaes) needs the cmaes package: "
                            "pip install cmaes.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            base = optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    else:
        raise TuneError(f"unknown sampler {sampler!r} (--sampler); choose one of "
                        f"{', '.join(SAMPLERS)}.")
    if fixed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.PartialFixedSampler(dict(fixed), base)
    return base


def make_pruner(pruner, *, n_startup_trials=5, n_warmup_steps=1):
    """An Optuna pruner from a name (``median``, ``hyperband``, ``none``) or an instance.

    ``median`` is :class:`optuna.pruners.MedianPruner` with
    ``n_startup_trials`` and ``n_warmup_steps``; ``hyperband`` is
    :class:`optuna.pruners.HyperbandPruner` (``min_resource=1``, the maximum
    inferred from the first finished trial, reduction factor 3); ``none``
    never prunes.

    Parameters
    ----------
    pruner : {"median", "hyperband", "none"}, None or optuna.pruners.BasePruner
        A pruner name (None is ``"none"``), or a pruner, returned as it is.
    n_startup_trials : int, default=5
        Trials of the median pruner finished before it prunes.
    n_warmup_steps : int, default=1
        Steps of a trial before the median pruner may prune it.

    Returns
    -------
    optuna.pruners.BasePruner

    Raises
    ------
    TuneError
        For an unknown name or a negative count.

    Examples
    --------
    >>> type(make_pruner("median", n_startup_trials=3)).__name__
    'MedianPruner'
    >>> type(make_pruner("none")).__name__
    'NopPruner'
    """
    import optuna

    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    for value, name in ((n_startup_trials, "pruner_startup_trials"),
                        (n_warmup_steps, "pruner_warmup_steps")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TuneError(f"{name} must be a non-negative integer, got {value!r}.")
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials,
                                           n_warmup_steps=n_warmup_steps)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto",
                                              reduction_factor=3)
    if pruner in ("none", None):
        return optuna.pruners.NopPruner()
    raise TuneError(f"unknown pruner {pruner!r} (--pruner); choose one of {', '.join(PRUNERS)}.")


def takes_fixed(search_space):
    """Whether a pipeline's ``search_space`` takes the ``fixed`` keyword.

    A pipeline module may define ``search_space(trial, fixed)``: it is then
    given, read-only, the ``make_pipeline`` keywords fixed for every trial
    (``--set`` and ``random_state``), so that it suggests only the
    parameters that act on the pipeline those build (an ensemble without its
    features member has no features weight to search).
    """
    try:
        parameters = inspect.signature(search_space).parameters
    except (TypeError, ValueError):
        return False
    return "fixed" in parameters


def trial_params(module, name, trial, fixed):
    """``make_pipeline`` keywords of a trial: ``search_space(trial)``, then the fixed ones over it.

    ``search_space(trial, fixed=...)`` is called where it takes ``fixed``
    (:func:`takes_fixed`).

    Raises
    ------
    TuneError
        If ``search_space`` fails or does not return a dict of keywords.
    """
    import optuna

    if fixed:
        trial = _FixedChoices(trial, fixed)
    try:
        if takes_fixed(module.search_space):
            sampled = module.search_space(trial, fixed=MappingProxyType(dict(fixed)))
        else:
            sampled = module.search_space(trial)
    except optuna.TrialPruned:
        raise
    except Exception as exc:  # noqa: BLE001 -- the pipeline's own error, named
        raise TuneError(f"pipeline {name!r}: search_space(trial) failed: "
                        f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(sampled, dict) or not all(isinstance(k, str) for k in sampled):
        raise TuneError(f"pipeline {name!r}: search_space(trial) must return a dict of "
                        f"make_pipeline keywords, got {type(sampled).__name__}.")
    return {**sampled, **fixed}


class _FixedChoices:
    """``trial``, answering ``suggest_categorical`` with a fixed value outside its choices.

    Optuna fixes a value of a categorical parameter only among its choices
    (``--set n_kernels=840`` where the space offers 2000, 5000 and 10000):
    such a value is used as it is, without asking Optuna, so the trial does
    not record it; the trial's run logs it with the other ``factory.*``
    parameters. Everything else goes to ``trial``.
    """

    def __init__(self, trial, fixed):
        self._trial, self._fixed = trial, fixed

    def suggest_categorical(self, name, choices):
        import optuna.distributions as D

        if name in self._fixed:
            try:
                D.CategoricalDistribution(choices).to_internal_repr(self._fixed[name])
            except (TypeError, ValueError):
                return self._fixed[name]
        return self._trial.suggest_categorical(name, choices)

    def __getattr__(self, attr):
        return getattr(self._trial, attr)


def _named(message, params):
    hits = [k for k in params if re.search(rf"(?<![A-Za-z0-9_]){re.escape(k)}(?![A-Za-z0-9])",
                                           message)]
    return hits


def _probe_points(distributions):
    """Parameter sets at the bounds of the distributions, and each categorical choice."""
    import optuna.distributions as D

    low, high = {}, {}
    points = []
    for pname, dist in distributions.items():
        if isinstance(dist, (D.FloatDistribution, D.IntDistribution)):
            low[pname], high[pname] = dist.low, dist.high
        elif isinstance(dist, D.CategoricalDistribution):
            low[pname], high[pname] = dist.choices[0], dist.choices[-1]
            points += [{pname: c} for c in dist.choices[1:-1]]
    return [low, high] + points


def check_search_space(module, name, fixed, seed=0):
    """Sample the search space and build the pipeline at its corners, before any work.

    Draws one random trial of ``module.search_space`` (with ``fixed``
    parameters over it, fixed in the sampler as the study fixes them, and
    given to it where it takes them, see :func:`takes_fixed`), then trials
    at the low and the high bounds of every numeric distribution and at each
    categorical choice (parameters of conditional branches those do not
    reach are drawn at random). Each
    parameter set must be accepted by ``make_pipeline``, and the built
    estimators must pass the parameter checks they would make when fitted
    (sklearn's parameter constraints, ECGNetClassifier's own checks).

    Parameters
    ----------
    module : module
        A pipeline module.
    name : str
        The pipeline's name, for messages.
    fixed : dict
        ``make_pipeline`` keywords fixed by ``--set`` (and ``random_state``).
    seed : int, default=0
        Seed of the random sampler of the probe trials: the first trial, and
        the parameters the bound and choice probes leave free.

    Returns
    -------
    dict
        The Optuna distributions of the search space, by parameter name.

    Raises
    ------
    TuneError
        Naming the parameter and value at fault where the error names one;
        or if the search space suggests no parameter, or only parameters
        that ``fixed`` sets.
    """
    import optuna

    from ..compare._compare import _build
    from ..compare._registry import PipelineError, check_factory_params, validate_built

    # The --set values are fixed in the sampler, as the study fixes them (fixed_in_space): the
    # branches they choose are the ones probed.
    study = optuna.create_study(sampler=make_sampler("random", seed, fixed))
    distributions = {}

    def probe(trial):
        with warnings.catch_warnings():  # a --set value out of its range: the study says so
            warnings.filterwarnings("ignore", message="Fixed parameter")
            try:
                params = trial_params(module, name, trial, fixed)
            except TuneError:  # Optuna's words for a --set value its range cannot take
                _check_fixed_in_range(module, name, fixed, seed)
                raise
        distributions.update(trial.distributions)
        try:
            check_factory_params(module, params, name)
        except PipelineError as exc:
            what = ("a value make_pipeline does not take" if "takes True or False" in str(exc)
                    else "a parameter make_pipeline does not take")
            raise TuneError(f"search_space of pipeline {name!r} (with --set) yields {what}: "
                            f"{exc}") from None
        try:
            pipe = _build(module, name, params)
            validate_built(pipe)
        except (PipelineError, TypeError, ValueError) as exc:
            message = str(exc)
            # The names in the error itself, not in the make_pipeline(...) call it quotes.
            detail = message.split(" failed: ", 1)[-1]
            at = _named(detail, params)
            where = (", ".join(f"{k}={params[k]!r}" for k in at) if at
                     else ", ".join(f"{k}={v!r}" for k, v in params.items()))
            if at and all(k in fixed for k in at):  # the user's --set value, not the space's
                raise TuneError(f"pipeline {name!r}: --set {where} is refused: "
                                f"{detail}") from None
            raise TuneError(f"search_space of pipeline {name!r} yields an invalid parameter "
                            f"({where}): {message}") from None

    trial = study.ask()
    probe(trial)
    if not distributions:
        shown = ", ".join(f"{k}={v!r}" for k, v in fixed.items() if k != "random_state")
        raise TuneError(f"search_space of pipeline {name!r} suggests no parameter"
                        + (f" (with {shown} fixed)" if shown else "")
                        + ": every trial would fit the same pipeline; nothing to tune.")
    if all(k in fixed for k in distributions):
        raise TuneError(f"search_space of pipeline {name!r} has nothing left to search: --set "
                        f"fixes every parameter it suggests ({', '.join(distributions)}); every "
                        "trial would fit the same pipeline.")
    for point in _probe_points(distributions)[:_MAX_PROBES]:
        point = {k: v for k, v in point.items() if k not in fixed}
        if not point:
            continue
        study.enqueue_trial(point)
        probe(study.ask())
    return distributions


def _check_fixed_in_range(module, name, fixed, seed):
    """Raise, naming it, for a ``--set`` value that its search-space distribution cannot take.

    The space is sampled freely once to learn its distributions (Optuna's own
    error, raised when the sampler fixes such a value, names no parameter).
    """
    import optuna
    import optuna.distributions as D

    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed)).ask()
    try:
        trial_params(module, name, trial, fixed)
    except TuneError:
        return  # fails without fixing them too: the space's own error stands
    for key, value in fixed.items():
        dist = trial.distributions.get(key)
        if dist is None:
            continue
        try:  # what Optuna refuses; a number out of range it fixes, with a warning
            dist.to_internal_repr(value)
            continue
        except (TypeError, ValueError):
            pass
        # A categorical value outside the choices is used without Optuna (_FixedChoices).
        kind = "an integer" if isinstance(dist, D.IntDistribution) else "a number"
        scale = " on a log scale" if dist.log else ""
        allowed = f"{kind} from {dist.low:g} to {dist.high:g}{scale}"
        # A value outside the range that Optuna can fix is used (with its warning): the
        # advice names what it cannot take, not the range.
        wanted = "a positive number" if dist.log else kind
        raise TuneError(f"--set {key}={value!r}: pipeline {name!r} searches {key} over "
                        f"{allowed}, and Optuna cannot fix it at that value; set {wanted}, "
                        f"or leave {key} to the search.")


def fixed_in_space(fixed, distributions):
    """The ``--set`` values that are also parameters of the search space (by Optuna name).

    These are fixed in the sampler (:class:`optuna.samplers.PartialFixedSampler`),
    so that the trials record the value used.
    """
    return {k: v for k, v in (fixed or {}).items() if k in distributions}
