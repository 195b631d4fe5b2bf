"""Command line of :mod:`ecgsk.datasets`: ``python -m ecgsk.datasets download ...``.

Exit codes: 0 on success, 1 when the download fails (network error, unknown
record), 2 for a usage error (argparse), 130 when interrupted.
"""

import argparse
import re
import sys
from pathlib import Path

from .._notes import warnings_as_notes
from ._download import DATABASES, MIRROR_ENV, _mirror_base, check_records, download

__all__ = ["main", "build_parser"]


def build_parser():
    """The argument parser of ``python -m ecgsk.datasets``."""
    parser = argparse.ArgumentParser(
        prog="python -m ecgsk.datasets",
        description="Manage the PhysioNet datasets that ecgsk reads.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dl = commands.add_parser(
        "download",
        help="download a PhysioNet database (files already present are skipped)",
        description="Download a PhysioNet database into ROOT, in the layout of the "
                    "ecgsk readers. Files already under ROOT are not requested again, "
                    "so running it again resumes an interrupted download. Each new file "
                    "is checked against PhysioNet's SHA256SUMS.txt before it is put in "
                    "place.",
        epilog=f"Set {MIRROR_ENV} (or --base-url) to download from a PhysioNet mirror.",
    )
    dl.add_argument("name", choices=sorted(DATABASES), help="database to download")
    dl.add_argument("root", help="destination folder")
    dl.add_argument(
        "--records", nargs="+", metavar="N_OR_NAME",
        help="download only the first N records of the database's record list, or "
             "the records named (e.g. records100/00000/00001_lr for ptbxl, A00001 "
             "for cinc2017, patient001/s0010_re for ptbdb)")
    dl.add_argument("--base-url", default=None,
                    help=f"base URL of a PhysioNet mirror (default: ${MIRROR_ENV}, "
                         "else https://physionet.org/)")
    dl.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    dl.set_defaults(usage=dl)  # its usage errors show its usage, not the top level's
    return parser


def main(argv=None):
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        0 on success, 1 when the download failed, 130 when interrupted.

    Examples
    --------
    >>> from ecgsk.datasets import main                             # doctest: +SKIP
    >>> main(["download", "ptbdb", "data/ptbdb", "--records", "5"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    records = args.records
    if records is not None and len(records) == 1 and re.fullmatch(r"[+-]?\d+", records[0]):
        records = int(records[0])
    try:  # usage errors before anything is fetched
        check_records(records)
    except ValueError as exc:
        args.usage.error(f"--records: {exc}")
    try:
        _mirror_base(args.base_url, name="--base-url")
    except ValueError as exc:
        args.usage.error(str(exc))
    if Path(args.root).expanduser().is_file():
        args.usage.error(f"ROOT {args.root} is a file; give the folder to download into.")
    try:
        with warnings_as_notes():  # fewer records listed than --records asks for
            paths = download(args.name, args.root, records=records,
                             progress=not args.no_progress, base_url=args.base_url)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(paths)} {args.name} records in {args.root}")
    return 0
