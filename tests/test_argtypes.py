"""ecgsk/_argtypes.py: the command lines' option types say what they expected."""

import argparse
import re

import pytest

from ecgsk._argtypes import n_jobs_int, nonneg_int, positive_int, positive_seconds, seed_int


@pytest.mark.parametrize("convert, text, message", [
    (positive_int, "-1", "expected a positive integer, got -1"),  # not "non-negative"
    (positive_int, "0", "expected a positive integer, got 0"),
    (nonneg_int, "-1", "expected a non-negative integer, got -1"),
    (seed_int, "-1", "expected a non-negative integer, got -1"),
    (positive_int, "1.5", "expected an integer, got '1.5'"),
    (n_jobs_int, "0", "expected a non-zero integer (-1 for all cores), got 0"),
    (n_jobs_int, "all", "expected an integer, got 'all'"),
    (positive_seconds, "-1", "expected a positive number of seconds, got -1"),
    (positive_seconds, "nan", "expected a positive number of seconds, got nan"),
    (positive_seconds, "soon", "expected a number of seconds, got 'soon'"),
])
def test_bad_values_are_explained(convert, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=f"^{re.escape(message)}$"):
        convert(text)


def test_good_values_come_back_as_int():
    assert (positive_int("3"), nonneg_int("0"), seed_int("4294967295")) == (3, 0, 4294967295)
    assert (n_jobs_int("-1"), n_jobs_int("2")) == (-1, 2)


@pytest.mark.parametrize("command", ["compare", "tune"])
def test_the_experiment_defaults_to_mlflows_variable(command, monkeypatch):
    # --tracking-uri followed $MLFLOW_TRACKING_URI but --experiment ignored
    # $MLFLOW_EXPERIMENT_NAME: the runs went to 'ecgsk'.
    import importlib

    cli = importlib.import_module(f"ecgsk.{command}._cli")
    assert cli.build_parser().parse_args([]).experiment == "ecgsk"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "envexp")
    assert cli.build_parser().parse_args([]).experiment == "envexp"
    assert cli.build_parser().parse_args(["--experiment", "mine"]).experiment == "mine"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", " ")
    assert cli.build_parser().parse_args([]).experiment == "ecgsk"
