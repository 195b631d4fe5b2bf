"""One trial: cross-validate the sampled pipeline on the training folds, in its own MLflow run.

Pruning
-------
Pipelines with networks (a skorch net as the last step, or the members of
an ensemble such as ``ecgsk_ptbxl``) report each net's per-epoch validation
entry (:meth:`Metric.monitor`: ``valid_auroc``, ``valid_acc`` or
``valid_loss``, measured on the net's internal validation split of the
fold's training records, whole patients where the dataset has patient ids:
:func:`~ecgsk.compare._data.fit_fold`) through :class:`EpochPruningCallback`
at step ``fold_position * E + offset + epoch - 1``, ``E`` the epochs of all
its nets and ``offset`` those of the nets before it: every fold and net has
its own range of steps, so trials are compared at the same epoch of the same
net and fold. Classic pipelines report the held-out score of each fold but
the last at step ``fold_position``. Either way the pruner is asked after
each report.
The callback lives in :mod:`ecgsk.tune._pruning`, imported only for
networks (it needs skorch, hence torch).
"""

import threading

import numpy as np

from ._metrics import fold_scores
from ._signals import check_interrupt
from ._space import trial_params
from ._storage import WORKER_ATTR, worker_identity

__all__ = ["Objective", "SurplusTrial", "RUN_ATTR"]

#: Trial user attribute holding the MLflow run id of the trial.
RUN_ATTR = "mlflow_run_id"


class SurplusTrial(Exception):
    """A trial started after other workers had already covered the study's budget.

    It is failed at once (user attribute ``ecgsk.surplus``), runs nothing,
    counts for nothing and has no MLflow run.
    """


class Objective:
    """The objective of a study: one MLflow run per trial, cross-validation, pruning.

    Parameters
    ----------
    ctx : ecgsk.tune._tune._Context
        Everything the trials share: the pipeline module and fixed
        parameters, the signals and targets, the split plan, the metric, the
        study's MLflow parent run and budget.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self._lock = threading.Lock()
        self.ran = []            # (number, state) of the trials this process ran
        self.interrupted = []    # numbers of trials stopped by a signal
        self.failed_in_row = 0

    # -- budget ---------------------------------------------------------------
    def _surplus(self, study, trial):
        """Whether the trials finished, or running/queued ahead of this one, cover the budget."""
        from optuna.trial import TrialState

        ahead = 0
        for t in study.get_trials(deepcopy=False):
            if t.number == trial.number:
                continue
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
                ahead += 1
            elif t.state in (TrialState.RUNNING, TrialState.WAITING) and t.number < trial.number:
                ahead += 1
        return ahead >= self.ctx.n_trials

    # -- the trial ------------------------------------------------------------
    def __call__(self, trial):
        from .._threads import within_limit

        try:
            with within_limit():  # a trial in a thread of its own (--n-jobs): --threads too
                return self._run(trial)
        except KeyboardInterrupt:
            # Wherever it came (in the state tag, the run's end...): Optuna fails the
            # trial, and _on_interrupt queues it again from this list.
            with self._lock:
                self.interrupted.append(trial.number)
            run_id = trial.user_attrs.get(RUN_ATTR)
            if run_id is not None:
                try:  # not "COMPLETE" for a trial Optuna fails and runs again
                    from mlflow.tracking import MlflowClient

                    MlflowClient().set_tag(run_id, "state", "FAIL")
                except Exception:  # noqa: BLE001 -- the interrupt matters, not the tag
                    pass
            raise

    def _run(self, trial):
        import mlflow
        import optuna

        from ..compare._compare import _build
        from ..tracking import log_pipeline_params, tracked_run
        from ..tracking._params import _named_params

        ctx = self.ctx
        check_interrupt()
        trial.set_user_attr(WORKER_ATTR, {**worker_identity(), "trial": trial.number})
        if self._surplus(trial.study, trial):
            trial.set_user_attr("ecgsk.surplus", True)
            raise SurplusTrial(f"trial {trial.number} is surplus: other workers already cover "
                               f"the {ctx.n_trials} trials of the study.")
        tags = {"ecgsk.role": "trial", "ecgsk.study": ctx.study_name,
                "ecgsk.study_uid": ctx.study_uid, "ecgsk.pipeline": ctx.name,
                "trial_number": str(trial.number), "state": "RUNNING",
                "mlflow.parentRunId": ctx.parent_run_id,
                "ecgsk.worker": f"{worker_identity()['host']}:{worker_identity()['pid']}"}
        retried = trial.storage.get_trial(trial._trial_id).system_attrs.get("failed_trial")
        if retried is not None:
            tags["retry_of"] = str(retried)
            for key in ("cv_values", "epochs"):  # inherited from the trial it repeats
                if key in trial.user_attrs:
                    trial.set_user_attr(key, None)
        state = "FAIL"
        pruned = None
        with tracked_run(f"trial {trial.number}", tags=tags) as run:
            trial.set_user_attr(RUN_ATTR, run.info.run_id)
            try:
                params = trial_params(ctx.module, ctx.name, trial, ctx.fixed)
                mlflow.log_params(_named_params("optuna", trial.params))
                mlflow.log_params(_named_params("factory", params))
                pipe = _build(ctx.module, ctx.name, params)
                log_pipeline_params(pipe, ctx.name)
                mlflow.log_params({"cv.folds": ", ".join(str(k) for k, _, _ in ctx.plan.cv),
                                   "cv.metric": ctx.metric.name, **ctx.search_params})
                try:
                    value = self._cross_validate(trial, pipe)
                except optuna.TrialPruned as exc:
                    state, pruned = "PRUNED", exc
                else:
                    state = "COMPLETE"
                    mlflow.log_metric("value", value)
            finally:
                mlflow.set_tag("state", state)
                with self._lock:
                    self.ran.append((trial.number, state))
        if pruned is not None:
            raise pruned
        return value

    def _cross_validate(self, trial, pipe):
        import mlflow
        import optuna
        from sklearn.base import clone

        from ..compare._data import fit_fold
        from ..neural._split import networks_in
        from ..tracking import decision_thresholds, log_training_curves, predict_proba_matrix

        ctx = self.ctx
        X, y, plan, k = ctx.X, ctx.y, ctx.plan, len(ctx.classes)
        key = ctx.metric.key(ctx.task_type)
        values, epochs = [], 0
        for pos, (fold, tr, te) in enumerate(plan.cv):
            check_interrupt()
            est = clone(pipe)
            nets = networks_in(est)  # an ensemble's members' too (find_skorch_net: the last)
            if nets:
                from ._pruning import EpochPruningCallback

                offset = pos * sum(int(net.max_epochs) for _, net in nets)
                for name, net in nets:
                    cb = EpochPruningCallback(trial, ctx.metric.monitor(ctx.task_type),
                                              step_offset=offset, fold=fold)
                    callbacks = list(net.callbacks or []) + [("optuna_pruning", cb)]
                    est.set_params(**{"callbacks" if name is None else f"{name}__callbacks":
                                      callbacks})
                    offset += int(net.max_epochs)
            try:
                fit_fold(est, X, y, tr, groups=ctx.groups, seed=ctx.seed)
            finally:
                if nets:  # an ensemble's by member (log_training_curves)
                    epochs += log_training_curves(est, prefix=f"fold{fold}_",
                                                  artifact_file=f"training/fold{fold}_history.png")
                    trial.set_user_attr("epochs", epochs)  # trained in all folds so far
            check_interrupt()
            thresholds = None
            # Tuned on the validation records whatever the metric ranks, as compare's fold
            # runs are: a trial's cv_macro_f1 (sensitivity, specificity) means the same.
            if plan.valid is not None and ctx.task_type in ("multilabel", "binary"):
                thresholds = decision_thresholds(
                    y[plan.valid], predict_proba_matrix(est, X[plan.valid], k), ctx.classes,
                    ctx.task_type)
            scores = fold_scores(y[te], predict_proba_matrix(est, X[te], k), ctx.classes,
                                 ctx.task_type, thresholds)
            mlflow.log_metrics({f"cv_{m}": v for m, v in scores.items()}, step=int(fold))
            values.append(scores[key])
            trial.set_user_attr("cv_values", [float(v) for v in values])
            # After the last fold the trial is scored whole: pruning it then would throw its
            # mean away and leave the last fold's score as its value.
            last = pos == len(plan.cv) - 1
            if not nets and not last and np.isfinite(values[-1]):
                trial.report(float(values[-1]), pos)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after fold {fold} "
                                             f"({ctx.metric.name}={values[-1]:.4f})")
        values = np.asarray(values, dtype=float)
        if not np.isfinite(values).any():
            raise ValueError(f"{ctx.metric.name} is undefined on every held-out fold "
                             f"({', '.join(str(f) for f, _, _ in plan.cv)}).")
        # Named by the key scored, as compare names its means: cv_auroc_mean on a binary task.
        from ..compare._stats import mean_and_spread  # not at import: --help stays light

        mlflow.log_metrics(mean_and_spread(values, f"cv_{key}"))
        return float(np.nanmean(values))
