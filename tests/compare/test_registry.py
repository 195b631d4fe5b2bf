"""Finding, loading and checking pipeline modules; --set parsing."""

import pickle
import re
import sys
import warnings
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

from ecgsk.compare import (
    PIPELINES_ENV,
    CompareError,
    PipelineError,
    check_factory_params,
    list_pipelines,
    load_pipeline_module,
    parse_set,
    parse_value,
    pipeline_dirs,
)

from .conftest import FLAT_LR, write_module

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _flat(folder, name="flat_lr"):
    return write_module(folder, name, FLAT_LR.format(dataset="ptbxl", task="binary"))


def test_load_by_path(tmp_path):
    module = load_pipeline_module(_flat(tmp_path))
    assert module.__ecgsk_name__ == "flat_lr"
    assert module.__ecgsk_path__ == str(tmp_path / "flat_lr.py")
    assert len(module.__ecgsk_sha256__) == 64
    assert module.make_pipeline(C=2.0).get_params()["clf__estimator__C"] == 2.0
    # Loading again gives the same module; editing the file gives a new one.
    assert load_pipeline_module(str(tmp_path / "flat_lr.py")) is module
    (tmp_path / "flat_lr.py").write_text((tmp_path / "flat_lr.py").read_text() + "\n# v2\n")
    assert load_pipeline_module(tmp_path / "flat_lr.py") is not module


def test_the_hash_covers_the_pipeline_files_a_pipeline_loads(tmp_path):
    # inception1d takes resnet1d's recipe: editing resnet1d.py left inception1d's hash, and
    # so a resumed study's or comparison's check, as it was.
    base = _flat(tmp_path, "base_lr")
    derived = write_module(tmp_path, "derived_lr", (
        '"""Derived."""\nfrom ecgsk.compare import load_pipeline_module\n'
        f'_base = load_pipeline_module({str(base)!r})\n'
        'DATASET, TASK, SAMPLING_RATE = _base.DATASET, _base.TASK, _base.SAMPLING_RATE\n'
        'make_pipeline, search_space = _base.make_pipeline, _base.search_space\n'))
    module = load_pipeline_module(derived)
    assert module.__ecgsk_requires__ == [(str(Path(base).resolve()),
                                          load_pipeline_module(base).__ecgsk_sha256__)]
    before = module.__ecgsk_sha256__
    assert load_pipeline_module(derived) is module  # nothing changed: the module cached
    Path(base).write_text(Path(base).read_text() + "\n# C's range narrowed\n")
    again = load_pipeline_module(derived)
    assert again is not module and again.__ecgsk_sha256__ != before
    assert again.__ecgsk_file_sha256__ == module.__ecgsk_file_sha256__  # its own file as it was
    assert load_pipeline_module(base).__ecgsk_requires__ == []


@pytest.mark.parametrize("name, members", [
    ("inception1d", ["resnet1d"]), ("inceptiontime", ["incepse"]),
    ("dualnet_l", ["dualnet_se"]), ("ecgsk_cinc", ["dualnet_l", "dualnet_se"]),
    ("ecgsk_ptbxl", ["features_hgb", "randomconv_ridge", "resnet1d"])])
def test_the_shipped_pipelines_hash_the_pipelines_they_build_on(name, members):
    requires = load_pipeline_module(name).__ecgsk_requires__
    assert [Path(path).stem for path, _ in requires] == members


def test_module_functions_pickled_by_value(tmp_path):
    module = load_pipeline_module(_flat(tmp_path, "byvalue"))
    blob = cloudpickle.dumps(module.make_pipeline(step=5))
    del sys.modules[module.__name__]  # as in a fresh process: the module is not importable
    try:
        restored = pickle.loads(blob)
    finally:
        sys.modules[module.__name__] = module
    assert restored[0].fit_transform(np.zeros((2, 3, 20))).shape == (2, 12)


OWN_NET = '''
"""A network of the pipeline file's own, in ECGNetClassifier."""

import torch
from torch import nn

from ecgsk.neural import ECGNetClassifier

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 100


class OwnNet(nn.Module):
    def __init__(self, in_channels=12, n_classes=2):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, 4, 3)
        self.head = nn.Linear(4, n_classes)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(dim=-1))


def make_pipeline(max_epochs=1, random_state=0):
    return ECGNetClassifier(OwnNet, max_epochs=max_epochs, random_state=random_state,
                            device="cpu")


def search_space(trial):
    return {}
'''


def test_a_fitted_network_of_the_pipeline_files_own_class_loads_without_the_file(tmp_path):
    # skorch pickled the module by reference to the file's private module name: the
    # model that compare or tune logged failed to load in another process ("No module
    # named '_ecgsk_pipeline_own_net_...'"); the unfitted pipeline loaded.
    module = load_pipeline_module(write_module(tmp_path, "own_net", OWN_NET))
    X = np.random.default_rng(0).normal(size=(8, 3, 50)).astype(np.float32)
    net = module.make_pipeline().fit(X, np.arange(8) % 2)
    blob = cloudpickle.dumps(net)
    del sys.modules[module.__name__]  # as in a fresh process: the module is not importable
    try:
        restored = pickle.loads(blob)
    finally:
        sys.modules[module.__name__] = module
    np.testing.assert_array_equal(restored.predict_proba(X), net.predict_proba(X))


def _forget_helper(name):
    """Drop the helper module ``name`` a test's pipeline imported, and its pickling by value."""
    helper = sys.modules.pop(name, None)
    if helper is not None and helper.__name__ in cloudpickle.list_registry_pickle_by_value():
        cloudpickle.unregister_pickle_by_value(helper)


def test_a_helper_module_beside_the_pipeline_is_pickled_by_value_and_hashed(tmp_path):
    # It was pickled by reference: compare logged the model, which then failed to load
    # where the folder was not importable ("No module named 'lead_helper_x'").
    folder = tmp_path / "pl"
    write_module(folder, "lead_helper_x", "def every(X, step):\n    return X[:, :, ::step]\n")
    source = FLAT_LR.format(dataset="ptbxl", task="superdiagnostic").replace(
        "def flatten(X, step=10):\n    return X[:, :, ::step].reshape(len(X), -1)",
        "import sys\nsys.path.insert(0, __import__('os').path.dirname(__file__))\n"
        "import lead_helper_x\n\n\ndef flatten(X, step=10):\n"
        "    return lead_helper_x.every(X, step).reshape(len(X), -1)")
    path = write_module(folder, "helped", source)
    module = load_pipeline_module(path)
    assert [Path(p).name for p, _ in module.__ecgsk_requires__] == ["lead_helper_x.py"]
    blob = cloudpickle.dumps(module.make_pipeline(step=5))
    sys.path.remove(str(folder))
    helper = sys.modules.pop("lead_helper_x")
    saved = sys.modules.pop(module.__name__)
    try:  # as in a fresh process: neither file is importable
        restored = pickle.loads(blob)
        assert restored[0].fit_transform(np.zeros((2, 3, 20))).shape == (2, 12)
    finally:
        sys.modules[module.__name__] = saved
        sys.modules["lead_helper_x"] = helper
    before = module.__ecgsk_sha256__
    (folder / "lead_helper_x.py").write_text("def every(X, step):\n    return X[:, :, ::2]\n")
    sys.modules.pop("lead_helper_x")
    try:
        assert load_pipeline_module(path).__ecgsk_sha256__ != before  # an edit resumes nothing
    finally:
        _forget_helper("lead_helper_x")
        while str(folder) in sys.path:  # the pipeline put it there again
            sys.path.remove(str(folder))


def test_a_helper_is_found_whatever_was_imported_before(tmp_path):
    # Found as what the pipeline's import added to sys.modules: the second of two pipelines
    # using one helper neither hashed it nor pickled it by value, and a pipeline of another
    # folder silently used the first folder's helper of the same name.
    first, second = tmp_path / "one", tmp_path / "two"
    helper = "def every(X, step):\n    return X[:, :, ::step]\n"
    source = FLAT_LR.format(dataset="ptbxl", task="superdiagnostic").replace(
        "def flatten(X, step=10):\n    return X[:, :, ::step].reshape(len(X), -1)",
        "import sys\nsys.path.insert(0, __import__('os').path.dirname(__file__))\n"
        "from shared_helper_x import every\n\n\ndef flatten(X, step=10):\n"
        "    return every(X, step).reshape(len(X), -1)")
    for folder in (first, second):
        write_module(folder, "shared_helper_x", helper)
    a, b = write_module(first, "pa", source), write_module(first, "pb", source)
    c = write_module(second, "pc", source)
    try:
        modules = [load_pipeline_module(p) for p in (a, b)]
        assert modules[0].__ecgsk_sha256__ == modules[1].__ecgsk_sha256__  # pb's has it too
        assert modules[1].__ecgsk_sha256__ != modules[1].__ecgsk_file_sha256__
        assert [Path(p).name for p, _ in load_pipeline_module(b).__ecgsk_requires__] == [
            "shared_helper_x.py"]
        with pytest.raises(PipelineError, match=r"uses the module 'shared_helper_x' from "
                                                r".*one/shared_helper_x.py, not the "
                                                r"shared_helper_x.py beside it"):
            load_pipeline_module(c)
    finally:
        _forget_helper("shared_helper_x")
        for folder in (first, second):
            while str(folder) in sys.path:
                sys.path.remove(str(folder))


def test_a_pipeline_named_as_a_module_it_imports_loads(tmp_path):
    # Refused as "uses the module 'json' from .../json/__init__.py, not the json.py beside
    # it": the file beside was the pipeline itself, or a sibling pipeline, and an installed
    # module (the standard json) is what "import json" means.
    source = FLAT_LR.format(dataset="ptbxl", task="superdiagnostic").replace(
        "from sklearn.linear_model", "import json\nfrom sklearn.linear_model")
    named_json = write_module(tmp_path, "json", source)
    sibling = write_module(tmp_path, "uses_json", source)
    for path in (named_json, sibling):
        module = load_pipeline_module(path)
        assert module.json is sys.modules["json"] and module.__ecgsk_requires__ == []


def test_a_helper_imported_and_taken_off_sys_path_is_still_checked(tmp_path):
    # My first fix skipped the check when the folder was not on sys.path after the import:
    # a pipeline that put its folder there only while importing its helper silently used
    # another folder's helper of the same name.
    source = FLAT_LR.format(dataset="ptbxl", task="superdiagnostic").replace(
        "from sklearn.linear_model",
        "import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\nimport hx_helper_z\n"
        "sys.path.pop(0)\nfrom sklearn.linear_model")
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, value in ((one, 1), (two, 2)):
        write_module(folder, "hx_helper_z", f"def f():\n    return {value}\n")
    try:
        load_pipeline_module(write_module(one, "pone", source))
        with pytest.raises(PipelineError, match=r"uses the module 'hx_helper_z' from "
                                                r".*one/hx_helper_z.py, not the "
                                                r"hx_helper_z.py beside it"):
            load_pipeline_module(write_module(two, "ptwo", source))
    finally:
        _forget_helper("hx_helper_z")


def test_a_pipeline_that_exits_as_it_is_imported_is_named(tmp_path):
    # sys.exit (or argparse) at a pipeline's import ended compare --list with that status
    # and nothing printed: SystemExit is no Exception.
    path = write_module(tmp_path, "exits", "import sys\nsys.exit(3)\n")
    with pytest.raises(PipelineError, match=rf"pipeline module {re.escape(str(path))} failed "
                                            r"to import: SystemExit: 3"):
        load_pipeline_module(path)


def test_found_by_name_in_env_folders_first(tmp_path, monkeypatch):
    first, second = tmp_path / "mine", tmp_path / "cwd"
    _flat(first, "shared_name")
    write_module(second / "pipelines", "shared_name", '"""Other."""\n')
    write_module(first, "_helpers", "X = 1\n")
    monkeypatch.setenv(PIPELINES_ENV, str(first))
    monkeypatch.chdir(second)
    assert pipeline_dirs()[:2] == [first.resolve(), (second / "pipelines").resolve()]
    found = list_pipelines()
    assert found["shared_name"] == first.resolve() / "shared_name.py"
    assert "_helpers" not in found
    assert load_pipeline_module("shared_name").DATASET == "ptbxl"


def test_found_in_cwd_pipelines(tmp_path, monkeypatch):
    monkeypatch.delenv(PIPELINES_ENV, raising=False)
    _flat(tmp_path / "pipelines", "local_lr")
    monkeypatch.chdir(tmp_path)
    assert load_pipeline_module("local_lr").__ecgsk_name__ == "local_lr"


def test_unknown_name_lists_available(tmp_path, monkeypatch):
    _flat(tmp_path, "available_one")
    monkeypatch.setenv(PIPELINES_ENV, str(tmp_path))
    with pytest.raises(PipelineError, match="unknown pipeline 'nope'") as err:
        load_pipeline_module("nope")
    assert "available_one" in str(err.value) and str(tmp_path.resolve()) in str(err.value)
    with pytest.raises(PipelineError, match="no pipeline file"):
        load_pipeline_module(tmp_path / "missing.py")
    with pytest.raises(PipelineError, match="unknown pipeline 'bad name'"):
        load_pipeline_module("bad name")


def test_a_file_whose_name_is_no_identifier_is_named_by_list_and_by_the_unknown_name(
        tmp_path, monkeypatch, capsys):
    # My-Pipe.py was left out of --list without a word, and --pipelines My-Pipe said only
    # "unknown pipeline".
    from ecgsk.compare._cli import main

    folder = tmp_path.resolve()
    odd = _flat(folder, "My-Pipe")
    monkeypatch.setenv(PIPELINES_ENV, str(folder))
    assert "My-Pipe" not in list_pipelines()
    assert main(["--list"]) == 0
    assert (f"not listed: {odd}, whose name is not ASCII letters, digits and _, no digit first; "
            "pass its path" in capsys.readouterr().out)
    with pytest.raises(PipelineError, match=re.escape(
            f"unknown pipeline 'My-Pipe'. {odd} is not reached by name, which must be ASCII "
            "letters, digits and _, no digit first: pass its path.")):
        load_pipeline_module("My-Pipe")
    assert load_pipeline_module(odd).__ecgsk_name__ == "My-Pipe"  # by path, it loads
    odd.unlink()  # nothing is said where no such file is
    assert main(["--list"]) == 0
    assert "not listed" not in capsys.readouterr().out


def test_an_installed_ecgsk_without_pipelines_says_where_it_looked_and_why(
        tmp_path, monkeypatch, capsys):
    tmp_path = tmp_path.resolve()
    # A wheel holds no pipelines/: the message said "Searched folders: none exists", and set
    # ECGSK_PIPELINES even where it was set, to a mistyped folder.
    from ecgsk.compare import _registry
    from ecgsk.compare._cli import main

    site = tmp_path / "site-packages"
    monkeypatch.setattr(_registry, "__file__", str(site / "ecgsk" / "compare" / "_registry.py"))
    monkeypatch.setenv(PIPELINES_ENV, str(tmp_path / "mypipe"))
    monkeypatch.chdir(tmp_path)
    expected = (f"{tmp_path / 'mypipe'} (missing), {tmp_path / 'pipelines'} (missing), "
                f"{site / 'pipelines'} (missing). The named pipelines are the pipelines/ folder "
                "of ecgsk's source repository, which an installed package does not hold")
    with pytest.raises(PipelineError) as err:
        load_pipeline_module("features_logreg")
    assert expected in str(err.value)
    assert main(["--list"]) == 0
    assert expected in capsys.readouterr().out
    (tmp_path / "pipelines").mkdir()  # a folder that exists is named as it is
    with pytest.raises(PipelineError, match=re.escape(
            f"Searched folders: {tmp_path / 'mypipe'} (missing), {tmp_path / 'pipelines'}, "
            f"{site / 'pipelines'} (missing) (set {PIPELINES_ENV}")):
        load_pipeline_module("features_logreg")


def test_invalid_module_lists_every_problem(tmp_path):
    path = write_module(tmp_path, "broken", """
        DATASET = ""
        TASK = "superdiagnostic"
        SAMPLING_RATE = -5
        LENGTH = 2.5

        def make_pipeline():
            pass
    """)
    with pytest.raises(PipelineError) as err:
        load_pipeline_module(path)
    message = str(err.value)
    for part in ("docstring", "search_space()", "DATASET", "SAMPLING_RATE", "LENGTH"):
        assert part in message
    assert "make_pipeline" not in message and "TASK" not in message


@pytest.mark.parametrize("dataset, task, message", [
    ("ptb-xl", "superdiagnostic",
     "DATASET among ('ptbxl', 'cinc2017', 'ptbdb') (got unknown 'ptb-xl')"),
    ("ptbxl", ("superdiagnotic", "binary"),
     "TASK among the tasks of its datasets, ('all', 'binary', 'binary_report', 'diagnostic', "
     "'form', 'rhythm', 'subdiagnostic', 'superdiagnostic') (got unknown 'superdiagnotic')"),
    (("ptbxl", "cinc2017"), ("af", "binary", "diagnosis"),  # af and binary: one dataset each
     "(got unknown 'diagnosis')"),
])
def test_a_dataset_or_task_no_reader_knows_is_named(tmp_path, dataset, task, message):
    # A typo passed as valid in --list, and compare then named no typo.
    path = write_module(tmp_path, "typo", f"""
        \"\"\"A pipeline with a typo.\"\"\"
        DATASET = {dataset!r}
        TASK = {task!r}
        SAMPLING_RATE = 100

        def make_pipeline():
            pass

        def search_space(trial):
            return {{}}
    """)
    with pytest.raises(PipelineError) as err:
        load_pipeline_module(path)
    assert message in str(err.value)


def test_import_error_named(tmp_path):
    path = write_module(tmp_path, "crashes", '"""Doc."""\nimport not_a_module_xyz\n')
    with pytest.raises(PipelineError, match="crashes.py failed to import: ModuleNotFoundError"):
        load_pipeline_module(path)


def test_factory_params_checked(tmp_path):
    module = load_pipeline_module(_flat(tmp_path))
    check_factory_params(module, {"C": 1.0, "step": 5})
    with pytest.raises(PipelineError, match=r"'flat_lr'.*'lr'.*accepts: C, step"):
        check_factory_params(module, {"lr": 0.1})
    kw = load_pipeline_module(write_module(tmp_path, "kw", '''
        """Takes anything."""
        DATASET = "ptbxl"
        TASK = "binary"
        SAMPLING_RATE = 100

        def make_pipeline(**params):
            return params

        def search_space(trial):
            return {}
    '''))
    check_factory_params(kw, {"anything": 1})


@pytest.mark.parametrize("text, value", [
    ("0.5", 0.5), ("[64, 128]", [64, 128]), ("None", None), ("True", True),
    ("adam", "adam"), ("'quoted'", "quoted"), ("1e-3", 1e-3), ("cuda:0", "cuda:0"),
])
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_parse_set():
    parsed = parse_set(["a.C=0.5", "b.layers=[1, 2]", "a.name=x=y"], ["a", "b", "c"])
    assert parsed == {"a": {"C": 0.5, "name": "x=y"}, "b": {"layers": [1, 2]}, "c": {}}
    with pytest.raises(CompareError, match="PIPELINE.PARAM=VALUE"):
        parse_set(["C=0.5"], ["a"])
    with pytest.raises(CompareError, match="'z' is not among"):
        parse_set(["z.C=1"], ["a"])


@pytest.mark.parametrize("value", ["false", "no", 2, None])
def test_a_switch_takes_only_true_or_false(value):
    """--set resnet1d.augment=false used to be the text 'false', which reads as true."""
    module = load_pipeline_module("resnet1d")
    check_factory_params(module, {"augment": False, "derivatives": True})
    check_factory_params(module, {"augment": 0, "derivatives": np.True_})  # as Python reads 0
    with pytest.raises(PipelineError, match=rf"pipeline 'resnet1d': augment takes True or "
                                            rf"False, got {re.escape(repr(value))}"):
        check_factory_params(module, {"augment": value})


def test_a_pipeline_that_shadows_another_is_said(tmp_path, monkeypatch, capsys):
    # ./pipelines/features_logreg.py replaced the checkout's without a word.
    from ecgsk.compare import _registry
    from ecgsk.compare._cli import main
    from ecgsk.compare._registry import shadowed_pipelines

    mine = write_module(tmp_path / "pipelines", "features_logreg", '''
        """Mine."""
        DATASET = "ptbxl"
        TASK = "superdiagnostic"
        SAMPLING_RATE = 100

        def make_pipeline():
            pass

        def search_space(trial):
            return {}
    ''')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_registry, "_shadow_warned", set())
    checkout = Path(_registry.__file__).resolve().parents[2] / "pipelines" / "features_logreg.py"
    assert shadowed_pipelines() == {"features_logreg": [checkout]}
    with pytest.warns(UserWarning, match=rf"pipeline 'features_logreg' is {mine.resolve()}, "
                                         rf"which shadows {checkout}; pass a file's path"):
        assert load_pipeline_module("features_logreg").__doc__ == "Mine."
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per process
        load_pipeline_module("features_logreg")
        assert load_pipeline_module(checkout).__doc__ != "Mine."  # a path chooses
    assert main(["--list"]) == 0
    assert f"from {mine.resolve()}, which shadows {checkout}" in capsys.readouterr().out
