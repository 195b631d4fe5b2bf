"""Every Examples section of ecgsk's docstrings runs and prints what it shows.

``pytest --doctest-modules`` would import the package a second time under
this project's ``--import-mode=importlib`` (so pickling checks in the other
tests would see two copies of each class); the modules are run here with
:mod:`doctest` instead, as the package imports them. Examples marked
``# doctest: +SKIP`` need data, a download or a server; doctest skips them.
"""

import doctest
import importlib
import pkgutil

import pytest

import ecgsk

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(ecgsk.__path__, prefix="ecgsk.")
    if not info.name.endswith("__main__"))


def _doctests(name):
    """The docstring examples defined in module ``name`` (not those of names it imports)."""
    return [t for t in doctest.DocTestFinder().find(importlib.import_module(name), name)
            if t.examples]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in _doctests(name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_the_examples_are_found():
    """The parametrisation above is not vacuous: the package's examples are collected."""
    examples = sum(len(t.examples) for name in MODULES for t in _doctests(name))
    assert examples >= 200
