"""Scripts of ``bench/`` are not a package: tests import them as the scripts import each other."""

import importlib
import sys
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
