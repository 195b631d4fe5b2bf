"""Optuna's plots keep their ggplot style to themselves (the final refit's plots follow them)."""

import matplotlib
import optuna
from mlflow.tracking import MlflowClient

from ecgsk.tracking import setup_tracking
from ecgsk.tune._runs import log_study_summary


def test_study_plots_leave_the_global_style_alone(tracking_uri):
    client = MlflowClient(tracking_uri)
    run_id = client.create_run(setup_tracking(tracking_uri, "style")).info.run_id
    study = optuna.create_study(direction="maximize")
    for i, value in enumerate([0.2, 0.9, 0.5]):
        study.add_trial(optuna.trial.create_trial(
            params={"x": float(i)}, value=value,
            distributions={"x": optuna.distributions.FloatDistribution(0, 10)}))
    before = dict(matplotlib.rcParams)
    log_study_summary(client, run_id, study)
    assert "optuna/optimization_history.png" in {
        a.path for a in client.list_artifacts(run_id, "optuna")}
    after = dict(matplotlib.rcParams)
    changed = {k for k in before if before[k] != after[k]}
    assert not changed, sorted(changed)[:5]
