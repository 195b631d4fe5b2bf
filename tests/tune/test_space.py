"""Samplers, pruners, and the search-space check made before a study starts."""

import importlib.util

import optuna
import pytest

from ecgsk.compare import load_pipeline_module
from ecgsk.tune import TuneError, check_search_space, make_pruner, make_sampler
from ecgsk.tune._space import trial_params

from .conftest import write_module

LR_MODULE = '''
"""Logistic regression on flattened samples."""

from sklearn.linear_model import LogisticRegression

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50


def make_pipeline(C=1.0, max_iter=100):
    return LogisticRegression(C=C, max_iter=max_iter)


def search_space(trial):
    {body}
'''

NET_MODULE = '''
"""A tiny network whose learning rate may be sampled negative."""

from sklearn.pipeline import Pipeline

from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50


def make_pipeline(lr=1e-3, max_epochs=2):
    return Pipeline([("net", ECGNetClassifier(ECGCNN, lr=lr, max_epochs=max_epochs))])


def search_space(trial):
    return {"lr": trial.suggest_float("lr", -1.0, 1e-2)}
'''


def _module(tmp_path, name, body):
    return load_pipeline_module(write_module(tmp_path, name, LR_MODULE.format(body=body)))


def test_sampler_and_pruner_names():
    assert isinstance(make_sampler("tpe", 0), optuna.samplers.TPESampler)
    assert isinstance(make_sampler("random", 0), optuna.samplers.RandomSampler)
    if importlib.util.find_spec("cmaes") is not None:
        assert isinstance(make_sampler("cmaes", 0), optuna.samplers.CmaEsSampler)
    else:
        with pytest.raises(TuneError, match="needs the cmaes package: pip install cmaes"):
            make_sampler("cmaes", 0)
    fixed = make_sampler("tpe", 0, {"C": 1.0})
    assert isinstance(fixed, optuna.samplers.PartialFixedSampler)
    mine = optuna.samplers.RandomSampler(seed=3)
    assert make_sampler(mine, 0) is mine
    assert isinstance(make_pruner("median"), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner("hyperband"), optuna.pruners.HyperbandPruner)
    assert isinstance(make_pruner("none"), optuna.pruners.NopPruner)
    with pytest.raises(TuneError, match="unknown sampler 'grid'.*tpe, random, cmaes"):
        make_sampler("grid", 0)
    with pytest.raises(TuneError, match="unknown pruner 'sha'"):
        make_pruner("sha")
    with pytest.raises(TuneError, match="pruner_startup_trials must be a non-negative"):
        make_pruner("median", n_startup_trials=-1)


def test_valid_space_gives_its_distributions(tmp_path):
    module = _module(tmp_path, "ok", 'return {"C": trial.suggest_float("C", 1e-3, 10, log=True)}')
    dists = check_search_space(module, "ok", {})
    assert list(dists) == ["C"]
    assert isinstance(dists["C"], optuna.distributions.FloatDistribution)


def test_invalid_value_at_a_bound_is_named(tmp_path):
    # A random draw in (0, 1] is valid; the low bound C=0 is not: the corners are probed.
    module = _module(tmp_path, "zero", 'return {"C": trial.suggest_float("C", 0.0, 1.0)}')
    with pytest.raises(TuneError, match=r"yields an invalid parameter \(C=0\.0\).*'C' parameter"):
        check_search_space(module, "zero", {})


def test_invalid_categorical_choice_is_named(tmp_path):
    module = _module(tmp_path, "cat",
                     'return {"max_iter": trial.suggest_categorical("max_iter", [100, -1, 200])}')
    with pytest.raises(TuneError, match=r"invalid parameter \(max_iter=-1\)"):
        check_search_space(module, "cat", {})


def test_unknown_keyword_is_named(tmp_path):
    module = _module(tmp_path, "kw", 'return {"gamma": trial.suggest_float("gamma", 0.1, 1.0)}')
    with pytest.raises(TuneError, match="make_pipeline has no parameter 'gamma'"):
        check_search_space(module, "kw", {})


def test_failing_search_space_is_named(tmp_path):
    module = _module(tmp_path, "bounds", 'return {"C": trial.suggest_float("C", 1.0, 0.1)}')
    with pytest.raises(TuneError, match=r"pipeline 'bounds': search_space\(trial\) failed"):
        check_search_space(module, "bounds", {})


def test_fixed_values_are_checked_too(tmp_path):
    module = _module(tmp_path, "fixed", 'return {"C": trial.suggest_float("C", 0.1, 1.0)}')
    check_search_space(module, "fixed", {"max_iter": 50})
    # The --set value is named as the user's, alone: the make_pipeline(...) call that the
    # error quotes named every parameter, and the search space was blamed.
    with pytest.raises(TuneError, match=r"^pipeline 'fixed': --set max_iter=-5 is refused: ") \
            as info:
        check_search_space(module, "fixed", {"max_iter": -5})
    assert "search_space" not in str(info.value).split(" is refused: ")[0]
    # An error of make_pipeline itself, which quotes the whole call.
    source = write_module(tmp_path, "strict", LR_MODULE.format(
        body='return {"C": trial.suggest_float("C", 0.1, 1.0)}').replace(
        "    return LogisticRegression(", "    if max_iter == 7:\n        raise ValueError("
        "'max_iter must not be 7')\n    return LogisticRegression("))
    with pytest.raises(TuneError, match=r"^pipeline 'strict': --set max_iter=7 is refused: "
                                        r"ValueError: max_iter must not be 7$"):
        check_search_space(load_pipeline_module(source), "strict", {"max_iter": 7})


@pytest.mark.parametrize("value", [-1.0, "abc"])
def test_a_set_value_its_search_range_cannot_hold_is_named(tmp_path, value):
    """Optuna's own message ("`-1` is invalid value for the case log=True") names nothing."""
    module = _module(tmp_path, "ranged", 'return {"C": trial.suggest_float("C", 0.01, 10, '
                                         'log=True), "max_iter": trial.suggest_categorical('
                                         '"max_iter", [50, 100])}')
    with pytest.raises(TuneError, match=rf"--set C={value!r}: pipeline 'ranged' searches C "
                                        r"over a number from 0.01 to 10 on a log scale, and "
                                        r"Optuna cannot fix it at that value; set a "
                                        r"positive number, or leave C to the search\.$"):
        check_search_space(module, "ranged", {"C": value})
    assert set(check_search_space(module, "ranged", {"C": 0.5})) == {"C", "max_iter"}
    # Out of range but a number Optuna can fix: its study warns, and the trials use it.
    assert set(check_search_space(module, "ranged", {"C": 200.0})) == {"C", "max_iter"}
    with pytest.raises(TuneError, match=r"--set C='x': "):  # the value at fault
        check_search_space(module, "ranged", {"C": "x", "max_iter": 75})


def test_a_categorical_fixed_outside_its_choices_is_used_and_not_searched(tmp_path):
    # --set max_iter=75 where the space offers 50 and 100 was refused ("Optuna cannot fix
    # it"), though the docs advise such values (n_kernels=840, lstm_hidden=256).
    module = _module(tmp_path, "ranged", 'return {"C": trial.suggest_float("C", 0.01, 10, '
                                         'log=True), "max_iter": trial.suggest_categorical('
                                         '"max_iter", [50, 100])}')
    assert set(check_search_space(module, "ranged", {"max_iter": 75})) == {"C"}
    trial = optuna.create_study(sampler=make_sampler("random", 0, {})).ask()
    assert trial_params(module, "ranged", trial, {"max_iter": 75})["max_iter"] == 75
    assert set(trial.params) == {"C"}
    # A value among the choices is still fixed through Optuna, and recorded.
    trial = optuna.create_study(sampler=make_sampler("random", 0, {"max_iter": 50})).ask()
    assert trial_params(module, "ranged", trial, {"max_iter": 50})["max_iter"] == 50
    assert trial.params["max_iter"] == 50


def test_network_parameters_are_checked_without_fitting(tmp_path):
    module = load_pipeline_module(write_module(tmp_path, "net", NET_MODULE))
    with pytest.raises(TuneError, match=r"invalid parameter \(lr=-[0-9.e-]+\): lr must be a "
                                        r"positive number"):
        check_search_space(module, "net", {})


def test_ecgsk_transformer_parameters_are_checked(tmp_path):
    source = LR_MODULE.replace(
        "def make_pipeline(C=1.0, max_iter=100):\n"
        "    return LogisticRegression(C=C, max_iter=max_iter)",
        "def make_pipeline(C=1.0, max_iter=100):\n"
        "    from sklearn.pipeline import make_pipeline as chain\n"
        "    from ecgsk.features import StatisticalFeatures\n"
        "    return chain(StatisticalFeatures(sampling_rate=50),\n"
        "                 LogisticRegression(C=C, max_iter=max_iter))")
    assert "StatisticalFeatures" in source
    module = load_pipeline_module(write_module(
        tmp_path, "nyquist", source.format(body='return {"C": trial.suggest_float("C", 0.1, 1)}')))
    # The default bands reach 40 Hz, above the Nyquist frequency of 50 Hz signals.
    with pytest.raises(TuneError, match="above the Nyquist frequency 25 Hz"):
        check_search_space(module, "nyquist", {})


FIXED_MODULE = '''
"""Logistic regression whose search space reads the keywords fixed for every trial."""

from sklearn.linear_model import LogisticRegression

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50


def make_pipeline(C=1.0, max_iter=100, random_state=None):
    return LogisticRegression(C=C, max_iter=max_iter, random_state=random_state)


def search_space(trial, fixed=None):
    fixed = fixed or {}
    if fixed.get("frozen"):
        fixed["C"] = 1.0  # read-only: fails
    space = {"C": trial.suggest_float("C", 0.1, 1.0)}
    if "max_iter" not in fixed:
        space["max_iter"] = trial.suggest_int("max_iter", 50, 200)
    return space
'''


def test_a_search_space_taking_fixed_is_given_the_fixed_keywords(tmp_path):
    from ecgsk.tune._space import takes_fixed, trial_params

    module = load_pipeline_module(write_module(tmp_path, "fixedspace", FIXED_MODULE))
    assert takes_fixed(module.search_space)
    assert not takes_fixed(_module(tmp_path, "plain", "return {}").search_space)
    assert set(check_search_space(module, "fixedspace", {})) == {"C", "max_iter"}
    assert set(check_search_space(module, "fixedspace", {"max_iter": 50})) == {"C"}
    # The final refit's FixedTrial goes through the same call.
    best = optuna.trial.FixedTrial({"C": 0.5})
    assert trial_params(module, "fixedspace", best, {"max_iter": 50}) == {"C": 0.5,
                                                                          "max_iter": 50}
    with pytest.raises(TuneError, match=r"search_space\(trial\) failed: TypeError"):
        trial_params(module, "fixedspace", best, {"frozen": True})


def test_a_search_space_that_suggests_nothing_is_refused(tmp_path):
    module = _module(tmp_path, "empty", "return {}")
    with pytest.raises(TuneError, match=r"pipeline 'empty' suggests no parameter: every trial "
                                        r"would fit the same pipeline"):
        check_search_space(module, "empty", {})
    fixed = load_pipeline_module(write_module(tmp_path, "allfixed", FIXED_MODULE.replace(
        'space = {"C": trial.suggest_float("C", 0.1, 1.0)}', "space = {}")))
    with pytest.raises(TuneError, match=r"suggests no parameter \(with max_iter=50 fixed\)"):
        check_search_space(fixed, "allfixed", {"max_iter": 50, "random_state": 0})


def test_a_search_space_whose_parameters_are_all_set_is_refused(tmp_path):
    module = _module(tmp_path, "allset", 'return {"C": trial.suggest_float("C", 0.1, 1.0)}')
    with pytest.raises(TuneError, match=r"pipeline 'allset' has nothing left to search: --set "
                                        r"fixes every parameter it suggests \(C\)"):
        check_search_space(module, "allset", {"C": 0.5})


def test_a_set_choice_whose_branch_searches_more_is_not_refused(tmp_path):
    # The study fixes max_iter=200 in its sampler, so every trial searches C: whatever the
    # check's own random draw of max_iter, the request is valid.
    module = _module(tmp_path, "branch", BRANCH_BODY)
    for seed in range(6):
        assert set(check_search_space(module, "branch", {"max_iter": 200}, seed)) == {
            "max_iter", "C"}
    with pytest.raises(TuneError, match=r"nothing left to search: .* \(max_iter\)"):
        check_search_space(module, "branch", {"max_iter": 100})


BRANCH_BODY = """max_iter = trial.suggest_categorical("max_iter", [100, 200])
    if max_iter == 100:
        return {"max_iter": max_iter}
    return {"max_iter": max_iter, "C": trial.suggest_float("C", 0.1, 1.0)}"""
