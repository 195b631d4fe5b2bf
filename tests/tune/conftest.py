"""Fixtures: tiny pipeline modules and CLI helpers (stores and the signal cache: tests/conftest.py).

The pipeline modules are written to temporary files and passed by path, as a
user's own pipelines would be:

- ``stats_lr``: statistical features and logistic regression; trials with an
  odd number are bad on purpose (constant probabilities, AUROC 0.5), so the
  median pruner prunes them at their first fold;
- ``slow_lr``: the same with a sleep in ``fit``, so that a trial can be
  killed while it runs; with ``ECGSK_TEST_SLEEP_MARK`` set, each sleep is
  marked by a file (see :func:`sleeping`);
- ``tiny_net``: a 4-8 filter ECGCNN trained for ``max_epochs`` epochs at 50 Hz;
- ``tiny_ensemble``: two such networks voting, as ``ecgsk_ptbxl``'s members.
"""

import subprocess
import sys
import time

import pytest

from ..conftest import new_store, write_module  # noqa: F401

STATS_LR = '''
"""Statistical features, one-vs-rest logistic regression; odd trials predict constants."""

from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ecgsk.features import StatisticalFeatures

DATASET = "ptbxl"
TASK = ("superdiagnostic", "binary")
SAMPLING_RATE = 100
LENGTH = 500


def make_pipeline(C=1.0, bad=False, random_state=None):
    clf = (DummyClassifier(strategy="prior") if bad else
           OneVsRestClassifier(LogisticRegression(C=C, max_iter=300, random_state=random_state)))
    return Pipeline([
        ("features", StatisticalFeatures(sampling_rate=SAMPLING_RATE)),
        ("scale", StandardScaler()),
        ("clf", clf),
    ])


def search_space(trial):
    return {"C": trial.suggest_float("C", 0.05, 5.0, log=True), "bad": trial.number % 2 == 1}
'''

SLOW_LR = '''
"""Statistical features and logistic regression after a sleep in fit (to kill trials)."""

import os
import time

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ecgsk.features import StatisticalFeatures

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 100
LENGTH = 500


class Sleep(TransformerMixin, BaseEstimator):
    def __init__(self, seconds=1.0):
        self.seconds = seconds

    def fit(self, X, y=None):
        # While it sleeps, the file <ECGSK_TEST_SLEEP_MARK>.<pid> holds when it began.
        mark = os.environ.get("ECGSK_TEST_SLEEP_MARK")
        path = f"{mark}.{os.getpid()}" if mark else None
        if path:
            with open(path + ".tmp", "w") as f:
                f.write(repr(time.time()))
            os.replace(path + ".tmp", path)
        time.sleep(self.seconds)
        if path:
            os.remove(path)
        return self

    def transform(self, X):
        return X


def make_pipeline(C=1.0, sleep=1.0):
    return Pipeline([
        ("sleep", Sleep(sleep)),
        ("features", StatisticalFeatures(sampling_rate=SAMPLING_RATE)),
        ("scale", StandardScaler()),
        ("clf", OneVsRestClassifier(LogisticRegression(C=C, max_iter=300))),
    ])


def search_space(trial):
    return {"C": trial.suggest_float("C", 0.01, 10.0, log=True)}
'''

TINY_NET = '''
"""A tiny 1-D CNN (ecgsk.nets.ECGCNN) on standardised 50 Hz signals."""

from sklearn.pipeline import Pipeline

from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Standardizer

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50
LENGTH = 250


def make_pipeline(lr=1e-3, width=4, max_epochs=2, random_state=0):
    return Pipeline([
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(ECGCNN, module__filters=(width, width, 2 * width, 2 * width),
                                 module__dense=(8,), max_epochs=max_epochs, batch_size=32, lr=lr,
                                 patience=None, lr_patience=None, random_state=random_state)),
    ])


def search_space(trial):
    return {"lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
            "width": trial.suggest_categorical("width", [4, 8])}
'''


TINY_ENSEMBLE = '''
"""Two tiny ECGCNNs voting, as ecgsk_ptbxl's members vote."""

from sklearn.pipeline import Pipeline

from ecgsk.ensemble import SoftVotingEnsemble
from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Standardizer

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50
LENGTH = 250


def _member(lr, seed):
    return Pipeline([
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(ECGCNN, module__filters=(4, 4, 8, 8), module__dense=(8,),
                                 max_epochs=2, batch_size=32, lr=lr, patience=None,
                                 lr_patience=None, random_state=seed)),
    ])


def make_pipeline(lr=1e-3):
    return SoftVotingEnsemble([("a", _member(lr, 0)), ("b", _member(lr, 1))])


def search_space(trial):
    return {"lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True)}
'''


@pytest.fixture(scope="session")
def pipeline_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipelines")
    return {name: write_module(folder, name, source)
            for name, source in (("stats_lr", STATS_LR), ("slow_lr", SLOW_LR),
                                 ("tiny_net", TINY_NET), ("tiny_ensemble", TINY_ENSEMBLE))}


def tune_cmd(*args):
    """The command line of ``python -m ecgsk.tune`` with ``args``."""
    return [sys.executable, "-m", "ecgsk.tune", *map(str, args)]


def start_tune(args, cwd, log):
    """Start ``python -m ecgsk.tune`` in the background, output to the file ``log``."""
    handle = open(log, "w")  # noqa: SIM115 -- closed by finish()
    proc = subprocess.Popen(tune_cmd(*args), cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                            text=True)
    proc.log_handle = handle
    proc.log_path = log
    return proc


def finish(proc, timeout=300):
    """Wait for a started study; return (exit status, its output)."""
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.log_handle.close()
    with open(proc.log_path) as f:
        return proc.returncode, f.read()


def sleeping(mark, pid, within=1.0):
    """Whether process ``pid`` began a ``slow_lr`` sleep less than ``within`` s ago.

    ``mark`` is the test's ``ECGSK_TEST_SLEEP_MARK``. A signal sent right after
    a true answer lands in that sleep, however slow the machine, as long as the
    sleep lasts well over ``within`` s.
    """
    try:
        with open(f"{mark}.{pid}") as f:
            began = float(f.read())
    except FileNotFoundError:
        return False
    return time.time() - began < within


def wait_for(predicate, timeout, what, procs=()):
    """Poll ``predicate`` every 0.2 s; fail naming ``what`` after ``timeout`` s or on an exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for proc in procs:
            if proc.poll() is not None:
                with open(proc.log_path) as f:
                    pytest.fail(f"the study ended ({proc.returncode}) before {what}:\n"
                                + f.read()[-3000:])
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")

