"""The MLflow side of a study: its parent run shared by workers, trial runs left open, plots."""

import contextlib
import logging
import threading
import time
import warnings

import numpy as np
import pandas as pd

__all__ = ["PARENT_ATTR", "HEARTBEAT_TAG", "PROCESS_TAG", "process_tag",
           "find_or_create_parent", "end_orphan_trial_runs", "end_unfinished_final_runs",
           "live_final_runs", "final_heartbeat", "mark_unfinished_final", "best_trial",
           "tag_best_trial", "ranked_trials", "log_study_summary"]

_logger = logging.getLogger(__name__)

#: Study user attribute holding the MLflow run id of the study's parent run.
PARENT_ATTR = "ecgsk.mlflow_parent_run_id"
#: Tag of a final refit run: when its process last said it is alive (epoch milliseconds).
HEARTBEAT_TAG = "ecgsk.heartbeat"
#: Tag of a final refit run: its process, as "host boot-id pid".
PROCESS_TAG = "ecgsk.process"

_ORPHAN = ("the worker running this trial ended without closing its run (killed or lost); "
           "Optuna marks the trial {state}")


def _usable(client, run_id, experiment_id, study_name):
    """Whether the study's run ``run_id`` is in this store and experiment, and not deleted.

    One active in another experiment of this store is refused: a second study
    run there would hold the later trials only, beside the first (each
    tagging its own best trial).
    """
    from mlflow.exceptions import MlflowException

    from ._metrics import TuneError

    try:
        run = client.get_run(run_id)
    except MlflowException:
        return False  # tracked in another store: this one gets a study run of its own
    if run.info.lifecycle_stage != "active":
        return False
    if run.info.experiment_id == experiment_id:
        return True
    name = client.get_experiment(run.info.experiment_id).name
    raise TuneError(f"study {study_name!r} is tracked in the MLflow experiment {name!r} of "
                    f"this store (run {run_id}); pass --experiment {name!r} to go on with it "
                    "there, or another --study-name for a new study.")


def _search_parent(client, experiment_id, uid):
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`ecgsk.study_uid` = '{uid}' and tags.`ecgsk.role` = 'study'")
    if not runs:
        return None
    return min(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id)).info.run_id


def find_or_create_parent(client, experiment_id, study, *, uid, created, run_name, tags,
                          wait_s=30.0):
    """The study's parent run in this tracking store: found, or created once for all workers.

    The process that created the study creates the run and stores its id in
    the study's user attribute ``ecgsk.mlflow_parent_run_id``; the others
    wait for it (up to ``wait_s``). Where that run is not in this store
    (the study was tracked elsewhere before) the run is found by the tag
    ``ecgsk.study_uid``, or created; two workers that create one at the same
    moment both keep the earliest and the other one is deleted.

    Returns
    -------
    run_id : str
    new : bool
        Whether this call created it (the caller logs its parameters).
    """
    run_id = study.user_attrs.get(PARENT_ATTR)
    if run_id and _usable(client, run_id, experiment_id, study.study_name):
        return run_id, False
    if not created and not run_id:
        deadline = time.monotonic() + wait_s
        while not run_id and time.monotonic() < deadline:
            time.sleep(0.5)
            run_id = study.user_attrs.get(PARENT_ATTR)
        if run_id and _usable(client, run_id, experiment_id, study.study_name):
            return run_id, False
    found = _search_parent(client, experiment_id, uid)
    if found:
        study.set_user_attr(PARENT_ATTR, found)
        return found, False
    mine = client.create_run(experiment_id, run_name=run_name, tags=tags).info.run_id
    first = _search_parent(client, experiment_id, uid) or mine
    if first != mine:
        client.delete_run(mine)
        return first, False
    study.set_user_attr(PARENT_ATTR, mine)
    return mine, True


def end_orphan_trial_runs(client, experiment_id, uid, study):
    """End KILLED the RUNNING trial runs of the study whose Optuna trial is no longer running.

    Their worker was killed (SIGKILL, a lost machine) before it could close
    them. Each gets the tags ``state`` (the trial's Optuna state) and
    ``ecgsk.error``. Returns the trial numbers whose run was ended.
    """
    from optuna.trial import TrialState

    runs = client.search_runs(
        [experiment_id],
        filter_string=(f"tags.`ecgsk.study_uid` = '{uid}' and tags.`ecgsk.role` = 'trial' "
                       "and attributes.status = 'RUNNING'"))
    if not runs:
        return []
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    ended = []
    for run in runs:
        try:
            number = int(run.data.tags.get("trial_number", "-1"))
        except ValueError:
            number = -1
        trial = trials.get(number)
        if trial is not None and trial.state == TrialState.RUNNING:
            continue  # still running somewhere (or not yet found stale)
        state = trial.state.name if trial is not None else "FAIL"
        client.set_tag(run.info.run_id, "state", state)
        client.set_tag(run.info.run_id, "ecgsk.error", _ORPHAN.format(state=state))
        client.set_terminated(run.info.run_id, "KILLED")
        ended.append(number)
    return sorted(ended)


_UNFINISHED_FINAL = ("this final refit ended before it finished (interrupted or killed); the "
                     "final refit of a later run of the study replaces it")


def now_ms():
    """The time now in epoch milliseconds, as :data:`HEARTBEAT_TAG` holds it."""
    return int(time.time() * 1000)


def _running_final_runs(client, experiment_id, uid):
    return client.search_runs(
        [experiment_id],
        filter_string=(f"tags.`ecgsk.study_uid` = '{uid}' and tags.`ecgsk.role` = 'final' "
                       "and attributes.status = 'RUNNING'"))


def process_tag():
    """This process as :data:`PROCESS_TAG` says it: host, boot id and process id."""
    from ._storage import worker_identity

    me = worker_identity()
    return f"{me['host']} {me['boot']} {me['pid']}"


def _process_ended(run):
    """Whether ``run``'s process ran on this machine, since its last boot, and has ended."""
    from .._process import ended_here

    try:
        host, boot, pid = run.data.tags[PROCESS_TAG].split(" ")
    except (KeyError, ValueError):
        return False  # a run from before the tag: its heartbeat says
    return ended_here(host, pid, boot)


def _is_live(run, grace_period, now):
    """Whether a RUNNING final run's heartbeat is at most ``grace_period`` seconds old, and
    its process, if it ran on this machine, still runs (a killed one's last beat is still
    fresh for up to ``grace_period``)."""
    if _process_ended(run):
        return False
    try:
        beat = int(run.data.tags[HEARTBEAT_TAG])
    except (KeyError, ValueError):
        return False  # none (a run from before heartbeats) or garbled: no live process says so
    return now - beat <= grace_period * 1000


def live_final_runs(client, experiment_id, uid, grace_period, trial_number=None):
    """The study's RUNNING final-refit runs whose heartbeat is fresh: live workers refit them.

    A refitting process refreshes the tag :data:`HEARTBEAT_TAG` of its run
    (:func:`final_heartbeat`); one refreshed within ``grace_period`` seconds
    belongs to a live worker, wherever it runs (the workers' clocks are
    taken to agree to well within ``grace_period``). With ``trial_number``,
    only the refits of that trial (tag ``trial_number``): a refit of a trial
    that is no longer the best does not stand in for the refit of the best.

    Sorted by run id, and by nothing else: of refits of one trial started at
    once, the first one goes on and the others give way, and every worker
    computes the same first one whatever its clock says (start times come
    from each worker's clock).
    """
    now = now_ms()
    live = [run for run in _running_final_runs(client, experiment_id, uid)
            if _is_live(run, grace_period, now)
            and (trial_number is None or run.data.tags.get("trial_number") == str(trial_number))]
    return sorted(live, key=lambda run: run.info.run_id)


def end_unfinished_final_runs(client, experiment_id, uid, *, grace_period):
    """End KILLED the study's dead final-refit runs, before a new refit replaces them.

    A final run still RUNNING whose heartbeat (:data:`HEARTBEAT_TAG`) is
    older than ``grace_period`` seconds, or that has none, was left by a
    process killed (SIGKILL, a lost machine) before it could close it; one
    with a fresh heartbeat is refitted by a live worker and left alone (see
    :func:`live_final_runs`). A model version a dead run registered is tagged
    ``ecgsk.incomplete``, so the registry says which version to ignore.
    Returns the run ids ended.
    """
    now = now_ms()
    dead = [run.info.run_id for run in _running_final_runs(client, experiment_id, uid)
            if not _is_live(run, grace_period, now)]
    for run_id in dead:
        mark_unfinished_final(client, run_id)
        client.set_terminated(run_id, "KILLED")
    return dead


#: Seconds :func:`final_heartbeat` waits for its thread when the block ends.
_JOIN_S = 30.0


@contextlib.contextmanager
def final_heartbeat(client, run_id, interval):
    """Refresh the tag :data:`HEARTBEAT_TAG` of ``run_id`` every ``interval`` seconds meanwhile.

    A daemon thread (named ``ecgsk-final-heartbeat-<run id>``) sets the tag
    to the time now; it is stopped and joined when the block ends, however
    it ends (the join waits at most :data:`_JOIN_S` for a beat being
    written to a slow store). A heartbeat that cannot be written is logged
    and tried again at the next beat: after ``grace_period`` without one,
    other workers take the run for dead (:func:`end_unfinished_final_runs`).
    """
    stop = threading.Event()

    def beat():
        while not stop.wait(interval):
            try:
                client.set_tag(run_id, HEARTBEAT_TAG, str(now_ms()))
            except Exception as exc:  # noqa: BLE001 -- the refit goes on; the next beat retries
                _logger.warning("could not refresh the heartbeat of run %s: %s", run_id, exc)

    thread = threading.Thread(target=beat, name=f"ecgsk-final-heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(_JOIN_S)


def mark_unfinished_final(client, run_id):
    """Tag a final run, and the model versions it registered, as not finished.

    A model it was logging when it stopped (left PENDING) is marked FAILED.
    """
    from ..tracking._runs import fail_pending_models

    client.set_tag(run_id, "ecgsk.error", _UNFINISHED_FINAL)
    with contextlib.suppress(Exception):  # a store without logged models has none
        fail_pending_models(client, run_id)
    for version in client.search_model_versions(f"run_id = '{run_id}'"):
        client.set_model_version_tag(version.name, version.version, "ecgsk.incomplete",
                                     _UNFINISHED_FINAL)


def best_trial(study):
    """The study's best completed trial, the earliest of tied ones; None without one.

    Optuna's ``study.best_trial`` leaves ties to the database: PostgreSQL
    returned a later one of tied trials (9 of 50 studies), so the ranking
    printed first one trial and the refit, tag and model followed another.
    """
    done = _ranked(study)
    return done[0] if done else None


def _ranked(study):
    """The completed trials, best first; ties go to the earliest trial."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    sign = -1 if study.direction == StudyDirection.MAXIMIZE else 1
    return sorted(done, key=lambda t: (sign * t.value, t.number))


def tag_best_trial(client, experiment_id, uid, study, run_attr):
    """Tag the best trial's run ``best_trial=true`` (and a former best ``false``).

    Returns the best trial's number, or None without a completed trial.
    """
    best = best_trial(study)
    if best is None:
        return None
    best_run = best.user_attrs.get(run_attr)
    former = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`ecgsk.study_uid` = '{uid}' and tags.best_trial = 'true'")
    for run in former:
        if run.info.run_id != best_run:
            client.set_tag(run.info.run_id, "best_trial", "false")
    if best_run:
        client.set_tag(best_run, "best_trial", "true")
    return best.number


def ranked_trials(study, top=10):
    """The ``top`` completed trials, best first: rank, trial, value, duration and parameters."""
    rows = []
    done = _ranked(study)[:top]  # as best_trial (the refitted one) has them
    for rank, t in enumerate(done, start=1):
        row = {"rank": rank, "trial": t.number, "value": t.value,
               "duration_s": (t.duration.total_seconds() if t.duration is not None else np.nan)}
        row.update({k: ("None" if v is None else v) for k, v in t.params.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _log_figure(client, run_id, make, artifact_file):
    import matplotlib
    import matplotlib.pyplot as plt

    # Optuna's matplotlib plots switch the global style to ggplot: keep that to them, or
    # every later figure of the process (the final refit's plots) would be drawn in it.
    with matplotlib.rc_context():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning, layout notes
            ax = make()
        fig = ax.figure if hasattr(ax, "figure") else np.ravel(ax)[0].figure
        try:
            client.log_figure(run_id, fig, artifact_file)
        finally:
            plt.close(fig)


def log_study_summary(client, run_id, study, top=10):
    """Log Optuna's optimisation history and parameter importances (PNG) and the trial tables.

    Artifacts of the parent run: ``optuna/optimization_history.png``,
    ``optuna/param_importances.png`` (or ``optuna/param_importances.txt``
    saying why it cannot be drawn: it needs two completed trials whose
    parameters vary), ``optuna/trials.csv`` (every trial) and
    ``optuna/best_trials.csv``.
    """
    from optuna.trial import TrialState
    from optuna.visualization.matplotlib import (
        plot_optimization_history,
        plot_param_importances,
    )

    _log_figure(client, run_id, lambda: plot_optimization_history(study),
                "optuna/optimization_history.png")
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    varying = {name for t in completed for name in t.params
               if len({repr(u.params.get(name)) for u in completed}) > 1}
    reason = None
    if len(completed) < 2:
        reason = f"{len(completed)} completed trial(s); importances need at least 2"
    elif not varying:
        reason = "no parameter varies across the completed trials"
    else:
        try:
            _log_figure(client, run_id, lambda: plot_param_importances(study),
                        "optuna/param_importances.png")
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
    if reason:
        client.log_text(run_id, f"parameter importances not drawn: {reason}.\n",
                        "optuna/param_importances.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = study.trials_dataframe()
    client.log_text(run_id, frame.to_csv(index=False), "optuna/trials.csv")
    client.log_text(run_id, ranked_trials(study, top).to_csv(index=False),
                    "optuna/best_trials.csv")
