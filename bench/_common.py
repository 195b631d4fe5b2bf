"""Helpers shared by the benchmark scripts of ``bench/``."""

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["add_data_argument", "code_version", "cpu_name", "require_data",
           "torch_machine"]


def cpu_name():
    """The processor's model name (what runs record in their tag ``ecgsk.cpu``)."""
    from ecgsk.tracking._params import cpu_model

    return cpu_model()


def code_version():
    """The repository's commit (``-dirty`` with uncommitted changes), else ecgsk's version."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        import ecgsk

        return f"ecgsk {ecgsk.__version__}"
    return commit + ("-dirty" if dirty else "")


def torch_machine():
    """CPU, cores, torch threads and versions: the common lines of a report's machine."""
    import torch

    return {
        "cpu": cpu_name(),
        "logical cores": os.cpu_count(),
        "torch threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def add_data_argument(parser):
    """``--data``: the root holding ``ptb-xl/`` and ``cinc2017/``, by default ``$ECGSK_DATA``.

    Not ``required=``: a parser built without the variable still parses
    other arguments (tests read the commands of ``BENCHMARKS.md`` with it);
    :func:`require_data` checks it once the script runs.
    """
    parser.add_argument("--data", default=os.environ.get("ECGSK_DATA"),
                        help="data root with ptb-xl/ and cinc2017/ (default: $ECGSK_DATA)")


def require_data(parser, args):
    """Exit with the parser's usage error when neither ``--data`` nor ``$ECGSK_DATA`` is given."""
    if args.data is None:
        parser.error("--data is required when $ECGSK_DATA is unset")
    if not Path(args.data).expanduser().is_dir():
        parser.error(f"--data {args.data}: no such folder")
    return args.data
