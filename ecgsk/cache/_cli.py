"""``python -m ecgsk.cache``: what the cache folder holds, and pruning it."""

import argparse
import math
import sys
import warnings

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  python -m ecgsk.cache info
  python -m ecgsk.cache prune --older-than 30 --dry-run
  python -m ecgsk.cache prune --older-than 7 --kind checkpoints "final fits"
  python -m ecgsk.cache info --cache-dir .cache/ecg

Nothing but the cache is lost: a removed record is read again from its WFDB
files; a fit whose checkpoint or saved final fit is removed starts from its
beginning when it is run again. Only files whose names ecgsk writes are ever
removed.
"""


def build_parser():
    """The argument parser of ``python -m ecgsk.cache``."""
    from ._cache import KINDS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache-dir", metavar="DIR",
                        help="the cache folder (default: $ECGSK_CACHE, else "
                             "~/.cache/ecgsk/signals), as given to compare, tune or "
                             "WFDBLoader(cache_dir=...)")
    parser = argparse.ArgumentParser(
        prog="python -m ecgsk.cache",
        description="Show what ecgsk's cache folder holds (decoded records, checkpoints of "
                    "interrupted fits, comparisons' final fits, and partial files: "
                    "checkpoints or final fits a killed writer left half-written) and "
                    "remove what was not used for a while.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("info", parents=[common], help="files, size and last use per kind",
                        description="Files, size and last use of each kind of cache file.")
    prune = commands.add_parser(
        "prune", parents=[common], help="remove the files not used for DAYS days",
        description="Remove the cache files not used (written or read) for DAYS days. A "
                    "partial file (a checkpoint or final fit being written, or left "
                    "half-written by a killed writer) is also kept while younger than an "
                    "hour. Pruning signals "
                    "also drops from the cache's index the records whose header is gone.")
    prune.add_argument("--older-than", metavar="DAYS", type=_days, required=True,
                       help="days since last use; 0 removes every file of the kinds chosen")
    prune.add_argument("--kind", nargs="+", choices=KINDS, default=list(KINDS),
                       metavar="KIND",
                       help=f"kinds to prune, of {', '.join(repr(k) for k in KINDS)} "
                            "(default: all)")
    prune.add_argument("--dry-run", action="store_true",
                       help="list what would be removed, remove nothing")
    return parser


_ONE = {"checkpoints": "checkpoint", "final fits": "final fit", "partial": "partial file"}


def _days(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number of days, got {text!r}")
    return value


def human_bytes(n):
    """``n`` bytes in words: ``'0 B'``, ``'512 B'``, ``'1.5 kB'``, ``'261.4 MB'``."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _days_text(days):
    if math.isnan(days):
        return "-"
    return "today" if days < 1 else f"{days:.0f} days ago"


def _info(root, out):
    from ._cache import cache_info

    table = cache_info(root)
    print(f"ecgsk cache at {root}" + ("" if root.is_dir() else " (none yet)"), file=out)
    print(f"{'kind':<12}{'files':>9}{'size':>11}  last used", file=out)
    for row in table.itertuples():
        used = _days_text(row.newest_days)
        if row.files > 1 and _days_text(row.oldest_days) != used:
            used = f"{used} to {_days_text(row.oldest_days)}"
        print(f"{row.Index:<12}{row.files:>9,}{human_bytes(row.bytes):>11}  {used}", file=out)
    print(f"{'total':<12}{table['files'].sum():>9,}{human_bytes(table['bytes'].sum()):>11}",
          file=out)
    print("python -m ecgsk.cache prune --older-than DAYS removes what was not used for "
          "DAYS days.", file=out)


def _prune(root, args, out):
    from ._cache import KINDS, prune_cache, prune_index

    removed = prune_cache(root, older_than=args.older_than, kinds=args.kind,
                          dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for f in removed:
        if f.kind != "signals":  # a few large files, worth naming; records are many
            print(f"{verb} {_ONE[f.kind]} {f.path} ({human_bytes(f.size)}, last used "
                  f"{_days_text(f.age_days())})", file=out)
    if "signals" in args.kind:
        gone = prune_index(root, dry_run=args.dry_run)
        if gone:
            print(f"{'would drop' if args.dry_run else 'dropped'} {gone:,} records whose "
                  "header file is gone from the signal cache's index", file=out)
    counts = [f"{k} {sum(f.kind == k for f in removed):,}" for k in KINDS if k in args.kind]
    files = "file" if len(removed) == 1 else "files"
    print(f"{verb} {len(removed):,} {files} ({human_bytes(sum(f.size for f in removed))}) "
          f"not used for {args.older_than:g} day{'' if args.older_than == 1 else 's'}: "
          f"{', '.join(counts)} (in {root}).", file=out)


def main(argv=None, out=None):
    """Run the command line; return the exit status (0, 1 or 2).

    1: prune could not remove some files (it names the first) or rewrite
    the index, or a folder of the cache could not be read (``info`` and
    ``prune`` name the first; the rest is counted or pruned); 2: a usage
    error.

    A ``--cache-dir`` that is not a folder is a usage error (a mistyped path
    would look like an empty cache); the default folder may not exist yet.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.
    out : file-like, default=None
        Where the report goes; standard output when None.

    Examples
    --------
    >>> import tempfile
    >>> from ecgsk.cache import main
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     main(["prune", "--older-than", "30", "--dry-run", "--cache-dir", folder])
    ... # doctest: +ELLIPSIS
    would remove 0 files (0 B) not used for 30 days: signals 0, ... partial 0 (in ...).
    0
    """
    from ._cache import resolve_cache_dir

    args = build_parser().parse_args(argv)
    out = sys.stdout if out is None else out
    root = resolve_cache_dir(args.cache_dir)
    if args.cache_dir is not None and not root.is_dir():
        print(f"error: --cache-dir {args.cache_dir} is not a folder", file=sys.stderr)
        return 2
    # Files prune could not remove, folders neither could read: named, and exit status 1.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        if args.command == "info":
            _info(root, out)
        else:
            _prune(root, args, out)
    failed = [w for w in caught
              if str(w.message).startswith(("prune_cache:", "prune_index:", "scan_cache:"))]
    for warning in caught:
        if warning in failed:
            print(f"error: {warning.message}", file=sys.stderr)
        else:  # not prune's: shown as it would have been
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    return 1 if failed else 0
