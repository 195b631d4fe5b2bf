"""``type=`` converters of the command lines' options (argparse reports their errors)."""

import argparse
import os

__all__ = ["nonneg_int", "positive_int", "record_count", "n_jobs_int", "positive_seconds",
           "seed_int", "nonblank", "file_path", "folder", "experiment_default"]


def _int_at_least(text, minimum, kind):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a {kind} integer, got {value}")
    return value


def nonneg_int(text):
    """An integer >= 0, or an ``argparse.ArgumentTypeError`` saying what was wrong."""
    return _int_at_least(text, 0, "non-negative")


def positive_int(text):
    """An integer >= 1, or an ``argparse.ArgumentTypeError`` saying what was wrong."""
    return _int_at_least(text, 1, "positive")


#: The fewest records ``--max-records`` takes: fewer cannot fill the folds.
MIN_RECORDS = 20


def record_count(text):
    """``--max-records``: an integer >= :data:`MIN_RECORDS`, or an ``ArgumentTypeError``."""
    value = _int_at_least(text, -(2**31), "")
    if value < MIN_RECORDS:
        raise argparse.ArgumentTypeError(f"expected at least {MIN_RECORDS} records, got {value}")
    return value


def n_jobs_int(text):
    """A joblib ``n_jobs``: a non-zero integer (-1 all cores), or an ``ArgumentTypeError``."""
    value = _int_at_least(text, -(2**31), "")
    if value == 0:
        raise argparse.ArgumentTypeError("expected a non-zero integer (-1 for all cores), got 0")
    return value


def positive_seconds(text):
    """A number of seconds > 0, or an ``argparse.ArgumentTypeError`` saying what was wrong."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def seed_int(text):
    """A random seed numpy accepts, 0 to 2**32 - 1, or an ``argparse.ArgumentTypeError``."""
    value = nonneg_int(text)
    if value > 2**32 - 1:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to 2**32 - 1 (4294967295), "
                                         f"got {value}")
    return value


def nonblank(text):
    """A non-blank name (an MLflow experiment, say), or an ``argparse.ArgumentTypeError``."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a name, got an empty one")
    return text


def file_path(text):
    """A file's path, not blank (``--output ""`` wrote nothing and said nothing)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file, got an empty path")
    return text


def folder(text):
    """A folder's path, made if absent: not blank and not an existing file."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder, got an empty path")
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return text


def experiment_default():
    """``--experiment``'s default: ``$MLFLOW_EXPERIMENT_NAME`` where set, else ``"ecgsk"``.

    As ``--tracking-uri`` defaults to ``$MLFLOW_TRACKING_URI``: MLflow's own
    variables choose the store and the experiment.
    """
    return os.environ.get("MLFLOW_EXPERIMENT_NAME", "").strip() or "ecgsk"
