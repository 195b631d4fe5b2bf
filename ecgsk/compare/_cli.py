"""``python -m ecgsk.compare``: the command line of :func:`ecgsk.compare.compare`."""

import argparse
import os
import sys

from .._argtypes import (experiment_default, folder, n_jobs_int, nonblank, nonneg_int,
                         positive_int, record_count, seed_int)
from ._data import DATASETS, CompareError
from ._registry import (
    PipelineError,
    list_pipelines,
    load_pipeline_module,
    searched_folders,
    shadowed_pipelines,
    unnamed_pipeline_files,
)

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  python -m ecgsk.compare --pipelines features_logreg resnet1d --dataset ptbxl \\
      --task superdiagnostic --data data/ptb-xl --folds 1 2 --set resnet1d.max_epochs=5
  python -m ecgsk.compare --pipelines ./my_pipeline.py features_hgb --dataset cinc2017 \\
      --task af --data data/cinc2017 --no-cv
  python -m ecgsk.compare --list

Rerunning the same command after an interruption (Ctrl-C, a crash, a failed
pipeline) resumes that comparison in its MLflow runs: finished pipelines are
read back, finished folds kept, a network cut off in its training resumes
at its last finished epoch, and a pipeline cut off after its final fit is
finished with that fit (both kept in CACHE_DIR/checkpoints), nothing logged
twice; --fresh starts a new comparison (and removes the final fits kept for
the one it leaves). To remove what the cache holds unused for 30 days:
  python -m ecgsk.cache prune --older-than 30

Runs go to MLflow (default sqlite:///mlruns/mlflow.db); browse them with
  python -m ecgsk.ui      (the MLflow UI, one lean server on 127.0.0.1:5000)
Exit status: 0 done, 1 some pipeline failed (the others were compared),
2 bad request (nothing was run), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""


def build_parser():
    """The argument parser of ``python -m ecgsk.compare``."""
    parser = argparse.ArgumentParser(
        prog="python -m ecgsk.compare",
        description="Cross-validate ECG pipelines on one dataset, test each once, compare\n"
                    "them pairwise on the same test records, and track everything in MLflow\n"
                    "(runs nested comparison > pipeline > fold).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true",
                        help="list the pipelines found by name and exit")
    parser.add_argument("--pipelines", nargs="+", metavar="NAME",
                        help="pipeline names (from pipelines/ folders, see --list) or paths "
                             "of .py pipeline modules")
    parser.add_argument("--dataset", choices=DATASETS, help="dataset the records come from")
    parser.add_argument("--task", help="task of the dataset (PTB-XL: superdiagnostic, "
                                       "subdiagnostic, ..., binary; cinc2017: af; ptbdb: "
                                       "diagnosis)")
    parser.add_argument("--data", metavar="PATH", help="root of the dataset")
    parser.add_argument("--folds", nargs="+", type=int, metavar="K",
                        help="CV folds to run (PTB-XL 1-8; 1-5 otherwise); default all")
    parser.add_argument("--no-cv", dest="cv", action="store_false",
                        help="skip cross-validation: one train/test fit per pipeline")
    parser.add_argument("--set", dest="set_params", action="append", default=[],
                        metavar="PIPELINE.PARAM=VALUE",
                        help="keyword for one pipeline's make_pipeline (a Python literal, "
                             "else a string); repeatable")
    parser.add_argument("--tracking-uri", metavar="URI",
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
                             "sqlite:///mlruns/mlflow.db in the current directory)")
    parser.add_argument("--experiment", type=nonblank, default=experiment_default(),
                        help="MLflow experiment (default: $MLFLOW_EXPERIMENT_NAME, else ecgsk)")
    parser.add_argument("--test-data", metavar="PATH",
                        help="second data root evaluated as external_ metrics: every record "
                             "whose patient no fit learnt from")
    parser.add_argument("--test-folds", nargs="+", type=int, metavar="K",
                        help="score only these strat_folds of --test-data (10: a full PTB-XL "
                             "download by the benchmark's protocol); default all")
    parser.add_argument("--n-boot", type=nonneg_int, default=1000,
                        help="bootstrap resamples for intervals and paired tests (1000)")
    parser.add_argument("--seed", type=seed_int, default=0,
                        help="seed of the pipelines, the CV folds of CinC 2017 and PTB-DB, "
                             "and the bootstrap (0); the test records do not depend on it")
    parser.add_argument("--max-records", type=record_count, metavar="N",
                        help="use a fixed stratified subset of N records, at least 20 "
                             "(quick runs); its test records are among those of a run on "
                             "every record")
    parser.add_argument("--cache-dir", type=folder, metavar="PATH",
                        help="cache of loaded signals, and of the networks' training "
                             "checkpoints and unfinished runs' final fits under "
                             "checkpoints/ (default $ECGSK_CACHE or ~/.cache/ecgsk/signals)")
    parser.add_argument("--n-jobs", type=n_jobs_int, default=1,
                        help="processes reading records (1; -1: all cores)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="at most N threads in torch and in the OpenMP/BLAS pools; "
                             "default: the libraries' own")
    parser.add_argument("--fresh", dest="resume", action="store_false",
                        help="start a new comparison, even where an unfinished one of the "
                             "same request could be resumed")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")
    parser.add_argument("--explain", type=nonneg_int, default=0, metavar="N",
                        help="log relevance maps of N test records per pipeline under "
                             "explain/: Grad-CAM for networks; for the others lead x segment "
                             "permutation importance, which predicts up to 250 test records "
                             "10 x leads times; default 0, none")
    return parser


def _names(value):
    """A pipeline's DATASET or TASK, one name or several, as words: ``ptbdb,ptbxl``."""
    return value if isinstance(value, str) else ",".join(map(str, value))


def _print_list(out):
    found = list_pipelines()
    if not found:
        print(f"no pipeline found (searched: {searched_folders()}).", file=out)
    hidden = shadowed_pipelines()
    for name, path in found.items():
        try:
            module = load_pipeline_module(path)
            doc = (module.__doc__ or "").strip().splitlines()[0]
            print(f"{name:24s} {_names(module.DATASET)}/{_names(module.TASK)} @ "
                  f"{module.SAMPLING_RATE:g} Hz  {doc}", file=out)
        except PipelineError as exc:
            print(f"{name:24s} INVALID: {exc}", file=out)
        if name in hidden:
            print(f"{'':24s} from {path}, which shadows "
                  f"{', '.join(map(str, hidden[name]))}", file=out)
    for path in unnamed_pipeline_files():
        print(f"not listed: {path}, whose name is not ASCII letters, digits and _, no "
              "digit first; pass its path, or rename it.", file=out)
    return 0


def main(argv=None):
    """Run the command line; return the exit status (see ``--help``).

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 when done (or after ``--list``), 1 when some pipeline failed (the
        others were compared), 2 for a bad request (nothing was run), 130
        when interrupted (Ctrl-C), 143 when terminated (SIGTERM).

    Raises
    ------
    SystemExit
        From :mod:`argparse`: after ``--help`` (status 0), or for arguments
        it cannot parse or a missing required option (status 2).
    """
    parser = build_parser()
    args = parser.parse_args(argv)  # --help before mlflow is imported
    from ..tracking import RunTerminated, TrackingError
    from ..tracking._runs import sigterm_as_exception
    from ._compare import ComparisonFailed, compare, parse_set

    # MLflow prints a "View run ... at <tracking URI>" line per run with a tracking server,
    # credentials included; the final table names the runs.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    if args.list:
        return _print_list(sys.stdout)
    missing = [f"--{opt}" for opt in ("pipelines", "dataset", "task", "data")
               if not getattr(args, opt)]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    try:
        with sigterm_as_exception():
            names = [load_pipeline_module(p).__ecgsk_name__ for p in args.pipelines]
            set_params = parse_set(args.set_params, names)
            # parse_set keys by name; compare takes names or paths and maps them to names.
            compare(args.pipelines, args.dataset, args.task, args.data, folds=args.folds,
                    cv=args.cv, set_params={k: v for k, v in set_params.items() if v},
                    tracking_uri=args.tracking_uri, test_data=args.test_data,
                    test_folds=args.test_folds, n_boot=args.n_boot,
                    seed=args.seed, experiment=args.experiment, max_records=args.max_records,
                    cache_dir=args.cache_dir, n_jobs=args.n_jobs, progress=args.progress,
                    explain=args.explain, threads=args.threads, resume=args.resume)
    except (CompareError, PipelineError, TrackingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ComparisonFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, RunTerminated) as exc:
        what = "terminated (SIGTERM)" if isinstance(exc, RunTerminated) else "interrupted"
        print(f"{what}: the open runs are marked KILLED; rerun the same command to "
              "resume.", file=sys.stderr)
        return exc.code if isinstance(exc, RunTerminated) else 130
    return 0
