"""Hyperparameter studies of ECG pipelines with Optuna, tracked in MLflow, resumable, distributed.

``python -m ecgsk.tune --pipeline NAME --dataset ptbxl --task superdiagnostic
--data PATH --n-trials 50`` (or :func:`tune`) samples the pipeline module's
``search_space(trial)`` (with ``--set`` keywords fixed over it, and given
to it as ``fixed`` where it takes that keyword), scores each
trial by cross-validation on the training records only (the split plan of
:mod:`ecgsk.compare`: PTB-XL folds 1-8 held out in turn, ``--folds`` to
choose; the test fold is never seen during the search; metrics that need a
decision, such as macro F1, use thresholds tuned on fold 9, as compare's
folds do), then refits the best
trial on the training records as ``compare``'s final fit does (its networks
validate on PTB-XL's fold 9, which also tunes the decision thresholds),
evaluates it once on the test records with bootstrap confidence intervals,
and registers the model in the MLflow Model Registry under the study's name.

Budget and resuming
-------------------
``--n-trials`` is the total number of *finished* trials (COMPLETE or PRUNED)
the study should have. The study lives in Optuna's RDB storage (default
``sqlite:///mlruns/optuna.db`` beside the MLflow store); rerunning the same
command (same ``--study-name``) resumes it and runs only the missing trials.
A resumed study must optimise the same thing (pipeline, data, task, metric,
folds, subset, fixed parameters): anything else is refused. Finished trials
are never lost. A trial whose process dies (SIGKILL, a lost machine) is
failed through Optuna's heartbeat (or at once when a later start on the
same machine sees its process gone) and queued once more with the same
parameters; SIGINT and SIGTERM fail the running trials and queue them the
same way, however often they were interrupted. Failed trials never count.
MLflow trial runs their dead worker left RUNNING are ended KILLED by the next
start, and so is a final refit run whose heartbeat stopped (its tag
``ecgsk.heartbeat``, refreshed every ``--heartbeat-interval`` seconds, older
than ``--grace-period``): a model version it registered is tagged
``ecgsk.incomplete``, and a refit whose heartbeat only stalled (a hung
store) finds its run ended when it would register, and registers nothing.
The final refit registers its model last, after its test and explanations.

Several workers
---------------
Workers on one or more machines share a study through ``--storage
postgresql://...`` and one MLflow server (``--tracking-uri http://...``).
Each runs trials while the finished and running trials of all workers fall
short of ``--n-trials``, then waits for the others (taking over the trials of
a worker that dies), so the study ends with exactly the total asked; a
worker that still starts a trial the others covered fails it at once as
surplus (user attribute ``ecgsk.surplus``; no MLflow run). The worker that
creates the study creates its MLflow parent run and stores its id in the
study's user attributes; the others nest their trial runs under it. The
worker that ran the study's last trial makes the final refit once no trial
runs any more (so does a worker started on a study whose trials are done,
when its refit is missing). A worker that finds a final refit of the same
trial with a fresh heartbeat leaves it, and the parent run, to the worker
running it and says so (exit status 0); a refit of an older best does not
stop it. Of refits of one trial opened at once, the one with the smallest
run id goes on (each looks right after opening its run and again before
registering); the others give way (their runs KILLED, nothing
registered). A refit whose trial is no longer the best when it is about to
register its model (the study was resumed with more trials) registers
nothing and leaves the parent run to the new best's refit (its run tagged
``ecgsk.superseded``).

Pruning
-------
Network pipelines report each net's per-epoch validation entry
(``valid_auroc``, ``valid_acc`` or ``valid_loss``, the one that moves like
the metric) at step ``fold_position * E + offset + epoch - 1``, ``E`` the
epochs of all the pipeline's nets and ``offset`` those of the nets before
it (one net: ``fold_position * max_epochs + epoch - 1``); classic pipelines
report the held-out score of each fold but the last at step
``fold_position``, so with two folds none can be pruned. See
:class:`EpochPruningCallback` and :mod:`ecgsk.tune._objective`.

MLflow runs
-----------
The study is a parent run (tag ``ecgsk.role=study``) with the study's
configuration and data as parameters, Optuna's optimisation-history and
parameter-importance plots, the trial tables, the final test metrics and the
tags ``final_run_id``, ``best_trial`` and ``model_version``. Each trial is a
child run (``ecgsk.role=trial``) with its sampled (``optuna.*``) and
factory (``factory.*``) parameters, the pipeline's parameters, the sampler
and pruner of the call that ran it (``tune.sampler``, ``tune.pruner``), the
held-out metrics of each fold (``cv_<metric>`` with ``step=fold``), their mean
and spread (``cv_<metric>_mean``, ``cv_<metric>_std``, named as
``python -m ecgsk.compare`` names them: ``cv_auroc_mean`` on a binary task),
per-epoch curves of networks (``fold<k>_train_loss``...) and the tags
``state`` (COMPLETE, PRUNED or FAIL), ``trial_number`` and, on the best,
``best_trial=true``. The final refit is a child run (``ecgsk.role=final``)
with the best trial's ``cv_<metric>_mean`` and ``cv_<metric>_std`` (copied to
the study's run with the test metrics), the evaluation artifacts, the
parameter ``final.validation``, the
training records' class distribution and label co-occurrence
(``data/train/``), the clinical 12-lead plots of the first 2 test records
(``data/examples/<record>.png``), the logged model and, with
``--explain N``, relevance maps of N test records (``explain/``, as
``python -m ecgsk.compare --explain``). Storage passwords are masked
everywhere they are logged or printed.
"""

from ._cli import build_parser, main, parse_set
from ._metrics import METRICS, Metric, TuneError, default_metric, resolve_metric, task_type_of
from ._objective import SurplusTrial
from ._signals import TuneInterrupted
from ._space import PRUNERS, SAMPLERS, check_search_space, make_pruner, make_sampler
from ._storage import check_storage_url, default_storage_url, open_storage, with_driver
from ._tune import TuneFailed, TuneResult, tune

__all__ = [
    "tune",
    "main",
    "build_parser",
    "parse_set",
    "TuneResult",
    "TuneError",
    "TuneFailed",
    "TuneInterrupted",
    "SurplusTrial",
    "METRICS",
    "Metric",
    "resolve_metric",
    "default_metric",
    "task_type_of",
    "SAMPLERS",
    "PRUNERS",
    "make_sampler",
    "make_pruner",
    "check_search_space",
    "default_storage_url",
    "check_storage_url",
    "open_storage",
    "with_driver",
    "EpochPruningCallback",
]


def __getattr__(name):
    # The pruning callback needs skorch (and torch): imported when asked for.
    if name == "EpochPruningCallback":
        from ._pruning import EpochPruningCallback

        return EpochPruningCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    # dir() and tab completion list the lazy name too, as ``ecgsk`` lists its own.
    return sorted(set(globals()) | set(__all__))
