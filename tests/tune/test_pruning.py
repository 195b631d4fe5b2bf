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


def test_a_resumed_fit_reports_the_epochs_it_restored():
    """A fit resumed from a checkpoint starts with earlier epochs in its history: all count."""
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    cb = EpochPruningCallback(trial, "valid_auroc", step_offset=5)
    cb.on_train_begin(_Net([]))
    cb.on_epoch_end(_Net([0.6, math.nan, 0.7]))  # epochs 1-2 restored, epoch 3 trained
    cb.on_epoch_end(_Net([0.6, math.nan, 0.7, 0.8]))
    study.tell(trial, 0.8)
    assert study.trials[0].intermediate_values == {5: 0.6, 7: 0.7, 8: 0.8}


def test_restored_epochs_can_prune_at_the_first_trained_one():
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=0.9))
    trial = study.ask()
    cb = EpochPruningCallback(trial, "valid_auroc")
    cb.on_train_begin(_Net([]))
    with pytest.raises(optuna.TrialPruned, match=r"epoch 3 \(valid_auroc=0\.5000\)"):
        cb.on_epoch_end(_Net([0.95, 0.95, 0.5]))
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert study.trials[0].intermediate_values == {0: 0.95, 1: 0.95, 2: 0.5}
