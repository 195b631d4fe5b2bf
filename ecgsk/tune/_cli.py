"""``python -m ecgsk.tune``: the command line of :func:`ecgsk.tune.tune`."""

import argparse
import os
import sys

from .._argtypes import (experiment_default, folder, nonblank, nonneg_int, positive_int,
                         positive_seconds, record_count, seed_int)
from ._metrics import METRICS, TuneError
from ._space import PRUNERS, SAMPLERS

__all__ = ["build_parser", "main", "parse_set"]

_EPILOG = """\
--n-trials is the TOTAL number of finished trials (complete or pruned) the
study should have: rerunning the same command resumes the study (same
--study-name, default <pipeline>-<dataset>-<task>-<metric>) and runs only the
missing trials; failed trials do not count. A trial killed with its process
is marked FAIL and queued once more with the same parameters.

examples:
  python -m ecgsk.tune --pipeline features_logreg --dataset ptbxl \\
      --task superdiagnostic --data data/ptb-xl --n-trials 20 --folds 1 2
  python -m ecgsk.tune --pipeline incepse --dataset ptbxl --task superdiagnostic \\
      --data data/ptb-xl --n-trials 50 --set max_epochs=10 --pruner hyperband
  # several workers, on one or more machines, share a study (the password in
  # PGPASSWORD or ~/.pgpass, not in the URL):
  python -m ecgsk.tune ... --storage postgresql://USER@HOST:5432/optuna \\
      --tracking-uri http://MLFLOW_HOST:5000

Runs go to MLflow (default sqlite:///mlruns/mlflow.db); browse them with
  python -m ecgsk.ui      (the MLflow UI, one lean server on 127.0.0.1:5000)
Exit status: 0 done, 1 the search stopped on failed trials or the final refit
failed, 2 bad request (nothing was run), 130 interrupted (SIGINT), 143
terminated (SIGTERM).
"""


def build_parser():
    """The argument parser of ``python -m ecgsk.tune``."""
    parser = argparse.ArgumentParser(
        prog="python -m ecgsk.tune",
        description="Tune an ECG pipeline's hyperparameters with Optuna on the training folds,\n"
                    "refit the best on the training records (networks validating on PTB-XL's\n"
                    "fold 9), test it once, register it in MLflow. The study is one MLflow\n"
                    "run, each trial a child run.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list-metrics", action="store_true",
                        help="list the metrics --metric takes and exit")
    parser.add_argument("--pipeline", metavar="NAME",
                        help="pipeline name (python -m ecgsk.compare --list) or path of a .py "
                             "pipeline module; its search_space(trial) is searched")
    parser.add_argument("--dataset", help="ptbxl, cinc2017 or ptbdb")
    parser.add_argument("--task", help="task of the dataset (PTB-XL: superdiagnostic, ..., "
                                       "binary; cinc2017: af; ptbdb: diagnosis)")
    parser.add_argument("--data", metavar="PATH", help="root of the dataset")
    parser.add_argument("--n-trials", type=positive_int, metavar="N",
                        help="TOTAL number of finished (complete or pruned) trials wanted in "
                             "the study, counting earlier runs and other workers; a resumed "
                             "study runs only the missing ones")
    parser.add_argument("--timeout", type=positive_seconds, metavar="S",
                        help="start no new trial after S seconds (running ones finish)")
    parser.add_argument("--metric", help="metric to optimise on the held-out CV folds (default: "
                                         "macro_auroc; challenge_f1 for cinc2017); see "
                                         "--list-metrics")
    parser.add_argument("--study-name", metavar="NAME",
                        help="Optuna study, also the registered model's name (default "
                             "<pipeline>-<dataset>-<task>-<metric>); the same name resumes")
    parser.add_argument("--storage", metavar="URL",
                        help="Optuna storage (default sqlite:///mlruns/optuna.db beside the "
                             "MLflow store); postgresql://USER@HOST:PORT/DB to share a study "
                             "between workers, the password in PGPASSWORD or ~/.pgpass")
    parser.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="sampler (tpe)")
    parser.add_argument("--pruner", choices=PRUNERS, default="median",
                        help="pruner of unpromising trials (median)")
    parser.add_argument("--pruner-startup-trials", type=nonneg_int, default=5, metavar="N",
                        help="median pruner: trials finished before pruning starts (5)")
    parser.add_argument("--pruner-warmup-steps", type=nonneg_int, default=1, metavar="N",
                        help="median pruner: steps of a trial before it may be pruned (1)")
    parser.add_argument("--n-jobs", type=positive_int, default=1, metavar="N",
                        help="trials at once in this process (threads; 1)")
    parser.add_argument("--seed", type=seed_int, default=0,
                        help="seed of the sampler, CV folds without dataset folds, bootstrap and "
                        "pipelines (0); the subset and test records do not depend on it")
    parser.add_argument("--tracking-uri", metavar="URI",
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
                             "sqlite:///mlruns/mlflow.db in the current directory)")
    parser.add_argument("--experiment", type=nonblank, default=experiment_default(),
                        help="MLflow experiment (default: $MLFLOW_EXPERIMENT_NAME, else ecgsk)")
    parser.add_argument("--set", dest="set_params", action="append", default=[],
                        metavar="PARAM=VALUE",
                        help="make_pipeline keyword fixed for every trial (a Python literal, "
                             "else a string), e.g. max_epochs=3; repeatable")
    parser.add_argument("--max-records", type=record_count, metavar="N",
                        help="use a fixed stratified subset of N records, at least 20 "
                             "(quick runs); its test records are among those of a run on "
                             "every record")
    parser.add_argument("--folds", nargs="+", type=int, metavar="K",
                        help="CV folds scored per trial (PTB-XL 1-8; 1-5 otherwise); default all")
    parser.add_argument("--n-boot", type=nonneg_int, default=1000,
                        help="bootstrap resamples of the final test's intervals (1000)")
    parser.add_argument("--cache-dir", type=folder, metavar="PATH",
                        help="cache of loaded signals (default $ECGSK_CACHE or "
                             "~/.cache/ecgsk/signals)")
    parser.add_argument("--heartbeat-interval", type=positive_int, default=10, metavar="S",
                        help="seconds between the heartbeats of a running trial or final "
                             "refit (10)")
    parser.add_argument("--grace-period", type=positive_int, default=30, metavar="S",
                        help="a running trial without heartbeat for S seconds is failed and "
                             "queued again by the next worker that looks, a final refit ended "
                             "KILLED and redone (30); the study keeps its first worker's "
                             "settings, and refuses a worker with others")
    parser.add_argument("--max-failures", type=positive_int, default=5, metavar="N",
                        help="stop after N trials failed in a row in this process (5)")
    parser.add_argument("--top", type=positive_int, default=10, metavar="N",
                        help="trials in the printed ranking (10)")
    parser.add_argument("--explain", type=nonneg_int, default=0, metavar="N",
                        help="log relevance maps of N test records under explain/ of the best "
                             "trial's final refit run: Grad-CAM for networks; for the others "
                             "lead x segment permutation importance, which predicts up to 250 "
                             "test records 10 x leads times; default 0, none")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="at most N threads in torch and in the OpenMP/BLAS pools; "
                             "default: the libraries' own")
    return parser


def parse_set(items):
    """Parse ``PARAM=VALUE`` items into ``{param: value}`` (values as Python literals).

    Parameters
    ----------
    items : iterable of str or None
        The ``--set`` items. ``PARAM`` is an identifier; ``VALUE`` is read
        with :func:`ecgsk.compare.parse_value` (a Python literal, else the
        string). None sets nothing.

    Returns
    -------
    dict of str to object
        ``{param: value}``, in the order of ``items``.

    Raises
    ------
    TuneError
        For an item that is not ``NAME=VALUE`` or sets a name twice.
    """
    from ..compare import parse_value

    out = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise TuneError(f"--set {item!r}: expected PARAM=VALUE, e.g. max_epochs=3.")
        if key in out:
            raise TuneError(f"--set sets {key!r} twice.")
        out[key] = parse_value(value)
    return out


def _print_metrics(out):
    for name, spec in METRICS.items():
        print(f"{name:18s} {spec.direction:8s} {', '.join(spec.keys):35s} {spec.description}",
              file=out)
    return 0


def main(argv=None):
    """Run the command line; return the exit status (see ``--help``).

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 done (or the metrics listed), 1 the search stopped on failed
        trials or the final refit failed, 2 bad request, 128 plus the
        signal's number when interrupted by SIGINT or SIGTERM (130, 143).

    Raises
    ------
    SystemExit
        From :mod:`argparse`, for ``--help``, arguments it cannot parse or
        required options missing.
    """
    parser = build_parser()
    args = parser.parse_args(argv)  # --help before mlflow is imported
    from ..compare import CompareError, PipelineError
    from ..tracking import TrackingError, mask_secrets
    from ._signals import TuneInterrupted
    from ._tune import TuneFailed, tune

    # MLflow prints a "View run ... at" line per run with a tracking server: the
    # progress bar and the final table say where things are.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    if args.list_metrics:
        return _print_metrics(sys.stdout)
    missing = [f"--{opt.replace('_', '-')}" for opt in ("pipeline", "dataset", "task", "data",
                                                         "n_trials")
               if getattr(args, opt) is None]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    try:
        tune(args.pipeline, args.dataset, args.task, args.data, n_trials=args.n_trials,
             timeout=args.timeout, metric=args.metric, study_name=args.study_name,
             storage=args.storage, sampler=args.sampler, pruner=args.pruner,
             n_jobs=args.n_jobs, seed=args.seed, tracking_uri=args.tracking_uri,
             set_params=parse_set(args.set_params), max_records=args.max_records,
             folds=args.folds, experiment=args.experiment, cache_dir=args.cache_dir,
             n_boot=args.n_boot, heartbeat_interval=args.heartbeat_interval,
             grace_period=args.grace_period, max_failures=args.max_failures,
             pruner_startup_trials=args.pruner_startup_trials,
             pruner_warmup_steps=args.pruner_warmup_steps, top=args.top,
             progress=args.progress, explain=args.explain, threads=args.threads)
    except (TuneError, CompareError, PipelineError, TrackingError) as exc:
        print(f"error: {mask_secrets(exc)}", file=sys.stderr)
        return 2
    except TuneFailed as exc:
        print(f"error: {mask_secrets(exc)}", file=sys.stderr)
        return 1
    except TuneInterrupted as exc:
        what = (f"trial(s) {', '.join(map(str, exc.requeued))} FAIL and queued again, their "
                "runs KILLED" if exc.requeued else
                "no trial was running; the finished trials are kept")
        print(f"{exc}: {what}; rerun the same command to resume.", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume.", file=sys.stderr)
        return 130
    return 0
