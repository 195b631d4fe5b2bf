"""Per-epoch training curves of skorch networks."""

import os
import time

import mlflow
import numpy as np
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from ..plots import plot_training_history
from ..plots._history import history_rows, numeric_history_keys
from ..plots._targets import metric_safe_names

__all__ = ["find_skorch_net", "fitted_nets", "is_skorch_net", "log_training_curves"]


def is_skorch_net(obj):
    """Whether ``obj`` is a skorch ``NeuralNet`` (checked without importing torch)."""
    return any(cls.__module__.split(".")[0] == "skorch" and cls.__name__ == "NeuralNet"
               for cls in type(obj).__mro__)


def find_skorch_net(estimator):
    """The skorch net of an estimator: itself, or a pipeline's last step; None if neither.

    Nested pipelines are searched through their last steps; search wrappers
    through ``best_estimator_``.

    Parameters
    ----------
    estimator : object
        A skorch net, a :class:`sklearn.pipeline.Pipeline`, a fitted search
        (``GridSearchCV``...), or any other estimator.

    Returns
    -------
    skorch.NeuralNet or None
        The net found, or None.
    """
    nets = fitted_nets(estimator)
    return nets[0][1] if nets and nets[0][0] == "" else None  # a member's is not the net


def fitted_nets(estimator, name=""):
    """``[(name, net), ...]``: the fitted skorch nets of ``estimator``.

    The net itself, a pipeline's last step (nested pipelines and fitted
    searches are followed, as :func:`find_skorch_net` does), and the nets of
    an ensemble's fitted members (``named_estimators_``:
    :class:`~ecgsk.ensemble.SoftVotingEnsemble`, sklearn's voting
    classifiers). ``name`` is ``""`` for a net that is not a member, else
    the member's name (``"outer_inner"`` for nested ensembles).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> fitted_nets(LogisticRegression())
    []
    """
    if is_skorch_net(estimator):
        return [(name, estimator)]
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        return fitted_nets(steps[-1][1], name)
    best = getattr(estimator, "best_estimator_", None)
    if best is not None:
        return fitted_nets(best, name)
    members = getattr(estimator, "named_estimators_", None)
    if isinstance(members, dict):
        return [found for member, est in members.items()
                for found in fitted_nets(est, f"{name}_{member}" if name else str(member))]
    return []


def log_training_curves(estimator, *, prefix="", artifact_file="training/history.png",
                        skip_logged=False):
    """Log the per-epoch metrics of fitted skorch nets with ``step=epoch``.

    Parameters
    ----------
    estimator : skorch net, sklearn Pipeline or ensemble
        The net itself, a pipeline whose last step is the net, or an
        ensemble whose members hold nets (:func:`fitted_nets`): each
        member's curves are logged under ``<prefix><member>_``, its figure
        as ``artifact_file`` with ``_<member>`` before the extension.
    prefix : str, default=""
        Prefix of the metric names (``train_loss``, ``valid_loss``,
        ``valid_acc``... as skorch names them).
    artifact_file : str or None, default="training/history.png"
        Where to log :func:`ecgsk.plots.plot_training_history`; None skips
        the figure.
    skip_logged : bool, default=False
        Leave out the points (metric and epoch) the active run already
        holds, so that a run reopened after an interruption keeps one point
        per epoch; the figure is drawn again (replaced).

    Returns
    -------
    int
        Number of epochs logged, over all its nets; 0 when the estimator
        holds no skorch net (a classic pipeline) or no history yet. Flags such as
        ``valid_loss_best`` and the ``dur`` of each epoch are logged too
        (flags as 0/1); the per-batch entries are not.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> log_training_curves(LogisticRegression())  # no skorch net: nothing to log
    0
    >>> from ecgsk.tracking import setup_tracking, tracked_run
    >>> exp_id = setup_tracking("sqlite:///mlruns/mlflow.db", "demo")  # doctest: +SKIP
    >>> with tracked_run("cnn"):                                        # doctest: +SKIP
    ...     n_epochs = log_training_curves(pipe.fit(X_train, y_train))
    """
    total = 0
    for member, net in fitted_nets(estimator):
        figure = artifact_file
        if artifact_file and member:
            root, ext = os.path.splitext(artifact_file)
            figure = f"{root}_{member}{ext}"
        total += _log_net_curves(net, f"{prefix}{member}_" if member else prefix, figure,
                                 skip_logged)
    return total


def _log_net_curves(net, prefix, artifact_file, skip_logged):
    """:func:`log_training_curves` of one net."""
    if getattr(net, "history", None) is None:
        return 0
    rows = history_rows(net.history)
    if not rows:
        return 0
    keys = numeric_history_keys(rows) + ["dur"]
    # A scoring callback's name may hold what MLflow refuses in a key ("valid_f1(macro)"),
    # which failed the run after training.
    names = list(dict.fromkeys(k for row in rows for k in row))
    safe = dict(zip(names, metric_safe_names(names)))
    now = int(time.time() * 1000)
    metrics = []
    for i, row in enumerate(rows):
        step = int(row.get("epoch", i + 1))
        for key, value in row.items():
            if key in ("epoch", "batches") or value is None:
                continue
            if key not in keys and not isinstance(value, (bool, np.bool_)):
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            metrics.append(Metric(key=f"{prefix}{safe[key]}", value=value, timestamp=now,
                                  step=step))
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_training_curves needs an active run (use tracked_run).")
    client = MlflowClient()
    if skip_logged:
        held = client.get_run(run.info.run_id).data.metrics
        points = {(key, m.step) for key in {m.key for m in metrics} & held.keys()
                  for m in client.get_metric_history(run.info.run_id, key)}
        metrics = [m for m in metrics if (m.key, m.step) not in points]
    if metrics:
        client.log_batch(run.info.run_id, metrics=metrics)
    if artifact_file:
        curves = numeric_history_keys(rows)
        if curves:
            mlflow.log_figure(plot_training_history(rows, metrics=curves), artifact_file)
    return len(rows)
