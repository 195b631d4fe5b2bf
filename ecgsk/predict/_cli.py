"""``python -m ecgsk.predict``: the command line of :func:`ecgsk.predict.predict_records`."""

import argparse
import os
import sys
import tempfile

from .._argtypes import file_path

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  python -m ecgsk.predict runs:/0123abcd/model data/new/00001_lr
  python -m ecgsk.predict models:/ptbxl-seresnext/3 data/new/ --output predictions.csv
  python -m ecgsk.predict ./exported_model rec1.hea rec2 --output predictions.json

Records are read as the model's training signals were: leads chosen by name
(case-insensitive) and put in the model's order, resampled to its rate,
cropped or zero-padded to its length; each change is printed as a note. A
record lacking a lead the model needs, shorter than --min-fraction of the
model's input, or without its header is rejected, saying why.
Exit status: 0 all records predicted, 1 some rejected (the others were
predicted), 2 bad request (nothing was predicted), 130 interrupted (Ctrl-C).
"""


def _unit_interval(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value:g}")
    return value


def build_parser():
    """The argument parser of ``python -m ecgsk.predict``."""
    parser = argparse.ArgumentParser(
        prog="python -m ecgsk.predict",
        description="Predict the classes of WFDB records with an ecgsk model logged in "
                    "MLflow\n(by python -m ecgsk.compare or ecgsk.tracking.log_model).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL",
                        help="MLflow model URI (runs:/RUN_ID/model, models:/NAME/VERSION, "
                             "models:/MODEL_ID) or a local model folder")
    parser.add_argument("records", nargs="+", metavar="RECORD_OR_FOLDER",
                        help="WFDB record paths (with or without .hea) or folders of records")
    parser.add_argument("--output", "-o", metavar="FILE", type=file_path,
                        help="also write the predictions: .csv (one row per record) or .json")
    parser.add_argument("--tracking-uri", metavar="URI",
                        help="store of runs:/ and models:/ URIs (default: "
                             "$MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db)")
    parser.add_argument("--threshold", type=_unit_interval, metavar="P",
                        help="decision threshold for multi-label and binary models (default: "
                             "the thresholds tuned on validation data stored with the model, "
                             "else 0.5)")
    parser.add_argument("--min-fraction", type=_unit_interval, default=0.25, metavar="F",
                        help="reject records shorter than this fraction of the model's input, "
                             "which would be mostly zero padding (default: 0.25; 0 accepts "
                             "any length)")
    parser.add_argument("--serving-input", metavar="FILE", type=file_path,
                        help="also write the signals as read, in the JSON body that "
                             "`mlflow models serve` takes ({\"inputs\": [...]})")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print nothing but errors and rejections")
    return parser


def main(argv=None):
    """Run the command line; return the exit status (see ``--help``).

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 when every record was predicted, 1 when some were rejected (the
        others were predicted), 2 for a bad request or when no record could
        be predicted.

    Raises
    ------
    SystemExit
        From :mod:`argparse`, for ``--help`` or arguments it cannot parse.
    """
    from pathlib import Path

    from .._notes import warnings_as_notes
    from ._model import PredictError
    from ._predict import format_prediction, predict_records, serving_input

    args = build_parser().parse_args(argv)
    # The shell leaves "~" in --output=~/x.json as it is: expanded here, as records are.
    for name in ("output", "serving_input"):
        if getattr(args, name):
            setattr(args, name, os.path.expanduser(getattr(args, name)))
    # MLflow draws a progress bar per artifact download; a CLI printing a table needs none.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for option, path in (("--output", args.output), ("--serving-input", args.serving_input)):
        if path and Path(path).is_dir():
            print(f"error: {option} {path} is a folder; name a file in it", file=sys.stderr)
            return 2
    if args.output and Path(args.output).suffix.lower() not in (".csv", ".json"):
        print(f"error: --output {args.output}: write .csv or .json", file=sys.stderr)
        return 2
    for option, path in (("--output", args.output), ("--serving-input", args.serving_input)):
        if path and not Path(path).resolve().parent.is_dir():
            print(f"error: {option} {path}: the folder {Path(path).parent} does not exist",
                  file=sys.stderr)
            return 2
        if path:  # found out before the predictions, not after them
            try:
                tempfile.TemporaryFile(dir=Path(path).resolve().parent).close()
            except OSError as exc:  # a read-only folder or file system, a full disk
                print(f"error: {option} {path}: cannot write in the folder "
                      f"{Path(path).parent}: {exc.strerror or exc}", file=sys.stderr)
                return 2
    try:
        # The readers' warnings (records a folder's RECORDS lists but lacks) as notes.
        with warnings_as_notes(quiet=args.quiet):
            result = predict_records(args.model, args.records, threshold=args.threshold,
                                     tracking_uri=args.tracking_uri,
                                     min_fraction=args.min_fraction)
    except PredictError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for note in result.model.notes or []:
        print(f"note: {note}", file=sys.stderr)
    if args.threshold is not None and result.thresholds is None and result.records:
        print(f"note: --threshold applies to multi-label and binary models; this "
              f"{result.task_type} model predicts the most probable class.", file=sys.stderr)
    if not args.quiet:
        print(format_prediction(result, show_rejected=False), end="")
    for rej in result.rejected:
        print(f"rejected {rej['path']}: {rej['reason']}", file=sys.stderr)
    if not result.records:  # nothing to write: an earlier --output file is left as it is
        print("error: no record could be predicted"
              + (f"; {args.output} is not written." if args.output else "."), file=sys.stderr)
        return 2
    try:
        if args.output:
            result.write(args.output)
        if args.serving_input and len(result.signals):
            Path(args.serving_input).write_text(serving_input(result.signals))
    except OSError as exc:  # a read-only folder, a full disk
        print(f"error: cannot write {exc.filename or 'the output'}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    if args.output and not args.quiet:
        n = len(result.records)
        print(f"wrote {n} prediction{'' if n == 1 else 's'} to {args.output}")
    if args.serving_input and len(result.signals):
        if not args.quiet:
            print(f"wrote the serving input of {len(result.signals)} records to "
                  f"{args.serving_input}")
    return 1 if result.rejected else 0
