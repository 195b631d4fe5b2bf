"""The per-epoch pruning callback of network trials (ecgsk.tune._pruning)."""

import math

import optuna
import pytest

from ecgsk.tune import EpochPruningCallback


class _Net:
    """What the callback reads of a skorch net: its history."""

    def __init__(self, values):
        self.history = [{"valid_auroc": v} for v in values]


def test_reports_at_the_fold_offset_and_skips_nan():
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    cb = EpochPruningCallback(trial, "valid_auroc", step_offset=10, fold=2)
    for values in ([0.6], [0.6, math.nan], [0.6, math.nan, 0.7]):
        cb.on_epoch_end(_Net(values))
    study.tell(trial, 0.7)
    assert study.trials[0].intermediate_values == {10: 0.6, 12: 0.7}


def test_missing_monitor_is_not_reported():
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    EpochPruningCallback(trial, "valid_acc").on_epoch_end(_Net([0.5]))
    study.tell(trial, 0.5)
    assert study.trials[0].intermediate_values == {}


def test_prunes_when_the_pruner_says_so():
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=0.9))
    trial = study.ask()
    cb = EpochPruningCallback(trial, "valid_auroc", step_offset=3, fold=1)
    with pytest.raises(optuna.TrialPruned, match=r"epoch 1 of fold 1 \(valid_auroc=0\.5000\)"):
        cb.on_epoch_end(_Net([0.5]))
