"""Scripts of ``bench/`` are not a package: tests load them by path."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_bench(name):
    """The module ``bench/<name>.py``, loaded under the name ``ecgsk_bench_<name>``."""
    spec = importlib.util.spec_from_file_location(f"ecgsk_bench_{name}",
                                                  ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
