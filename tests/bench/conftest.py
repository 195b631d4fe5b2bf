"""Scripts of ``bench/`` are not a package: tests import them as the scripts import each other."""

import importlib
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_bench(name):
    """The module ``bench/<name>.py``, imported under its own name with ``bench/`` on the path.

    The scripts import each other that way (``import quality`` in
    ``blend_rows.py`` and ``aux_targets.py``), so each script is one module
    object, whichever test or script imported it first: a test that patches
    ``quality.ROWS`` patches the rows ``blend_rows`` reads.
    """
    bench = str(ROOT / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    return importlib.import_module(name)


def counted_networks(monkeypatch, quality, make):
    """Give the bench scripts ``make`` as the pipeline module's ``network``; count its builds.

    ``quality.load_pipeline_module`` is patched to return a module whose
    ``network(random_state)`` is ``make``. Returns the list of the seeds it
    is built with, in order (one per fit).
    """
    built = []

    def network(random_state=0):
        built.append(random_state)
        return make(random_state)

    monkeypatch.setattr(quality, "load_pipeline_module",
                        lambda name: types.SimpleNamespace(network=network))
    return built
