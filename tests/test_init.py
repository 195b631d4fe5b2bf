"""The top-level package: its lazy attributes and the command-line packages."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

import ecgsk

SUBPACKAGES = sorted(info.name for info in pkgutil.iter_modules(ecgsk.__path__)
                     if info.ispkg and not info.name.startswith("_"))


def test_every_public_subpackage_is_an_attribute_of_ecgsk():
    # ecgsk.ensemble was missing: ecgsk.ensemble.SoftVotingEnsemble failed after import ecgsk.
    assert "ensemble" in SUBPACKAGES
    assert sorted(ecgsk._SUBMODULES) == SUBPACKAGES
    assert set(SUBPACKAGES) <= set(ecgsk.__all__) and set(SUBPACKAGES) <= set(dir(ecgsk))
    for name in SUBPACKAGES:
        assert name in ecgsk.__doc__, name
    code = ("import ecgsk, sys; assert 'ecgsk.ensemble' not in sys.modules; "
            "print(ecgsk.ensemble.SoftVotingEnsemble.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "SoftVotingEnsemble"


@pytest.mark.parametrize("name", [n for n in SUBPACKAGES
                                  if importlib.util.find_spec(f"ecgsk.{n}.__main__")])
def test_each_command_line_package_exports_main_and_build_parser(name):
    module = importlib.import_module(f"ecgsk.{name}")
    assert {"main", "build_parser"} <= set(module.__all__)
    assert module.build_parser().prog == f"python -m ecgsk.{name}"
    with pytest.raises(SystemExit) as exc:
        module.main(["--help"])
    assert exc.value.code == 0


@pytest.mark.parametrize("name", [n for n in SUBPACKAGES
                                  if importlib.util.find_spec(f"ecgsk.{n}.__main__")])
def test_help_imports_no_heavy_library(name):
    # ui, compare and tune imported MLflow (and with it matplotlib) before parsing their
    # arguments, and the dataset reader sklearn: 2-5 s for --help.
    code = ("import runpy, sys\n"
            f"sys.argv = ['python -m ecgsk.{name}', '--help']\n"
            "try:\n"
            f"    runpy.run_module('ecgsk.{name}', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "print([m for m in ('mlflow', 'matplotlib', 'torch', 'sklearn') "
            "if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    # compare's package reads its folds with sklearn's splitters
    expected = "['sklearn']" if name == "compare" else "[]"
    assert out.strip().splitlines()[-1] == expected


def test_the_lazy_names_are_listed_and_no_stray_module_is_public():
    import ecgsk.tune

    assert "EpochPruningCallback" in dir(ecgsk.tune)  # tab completion saw none
    assert [n for n in dir(ecgsk) if not n.startswith("_") and n not in ecgsk.__all__] == []
