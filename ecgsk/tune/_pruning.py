"""The per-epoch pruning callback of network trials (imports skorch, hence torch)."""

import numpy as np
from skorch.callbacks import Callback

from ._signals import interrupted

__all__ = ["EpochPruningCallback"]


class EpochPruningCallback(Callback):
    """Report a skorch net's per-epoch validation entry to Optuna; prune when the pruner says so.

    Like :class:`optuna_integration.SkorchPruningCallback`, with a step
    offset so that the folds of one trial report on separate steps, a
    skip of missing or non-finite values (a tiny validation split without
    both labels of a class gives a NaN AUROC), and a stop at the next batch
    when the study is interrupted (see :mod:`ecgsk.tune._signals`). A fit
    resumed from a checkpoint (a trial queued again after an interruption,
    :func:`ecgsk.neural.checkpoints`) reports the epochs it restored too, at
    the end of its first trained epoch, so the pruner sees the whole curve.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial the values are reported to (:meth:`~optuna.trial.Trial.report`)
        and asked whether to prune.
    monitor : str
        History entry to report (``valid_auroc``, ``valid_acc``, ``valid_loss``).
    step_offset : int, default=0
        Added to the 0-based epoch index.
    fold : int or None
        For the message of :class:`optuna.TrialPruned`.

    Examples
    --------
    >>> from ecgsk.tune import EpochPruningCallback          # doctest: +SKIP
    >>> net.set_params(callbacks=[("prune", EpochPruningCallback(trial, "valid_auroc"))])
    ...                                                      # doctest: +SKIP
    """

    #: Left out of a fit's checkpoint fingerprint (:func:`ecgsk.neural.checkpoints`): it
    #: holds its trial, and a trial queued again after an interruption should resume the
    #: nets of the one it repeats.
    fingerprinted = False

    def __init__(self, trial, monitor, step_offset=0, fold=None):
        self.trial = trial
        self.monitor = monitor
        self.step_offset = step_offset
        self.fold = fold

    def __sklearn_clone__(self):
        # sklearn's clone would deep-copy the trial; an ensemble clones its members' nets,
        # and the clone must report to the trial itself.
        return type(self)(self.trial, self.monitor, self.step_offset, self.fold)

    def on_batch_end(self, net, **kwargs):
        if interrupted():
            raise KeyboardInterrupt  # skorch ends fit; the objective re-raises after it
        return None

    def on_train_begin(self, net, **kwargs):
        self._reported = 0  # epochs of this fit's history reported so far

    def on_epoch_end(self, net, **kwargs):
        import optuna

        if interrupted():
            raise KeyboardInterrupt
        # Every epoch not reported yet: a fit resumed from a checkpoint
        # (ecgsk.neural.checkpoints) starts with the epochs restored from it.
        first, epoch = getattr(self, "_reported", 0), len(net.history)
        self._reported = epoch
        value = None
        for index in range(first, epoch):
            value = _finite(net.history[index].get(self.monitor))
            if value is not None:
                self.trial.report(value, self.step_offset + index)
        if value is None:  # the epoch just trained has no value to judge
            return
        if self.trial.should_prune():
            where = f" of fold {self.fold}" if self.fold is not None else ""
            raise optuna.TrialPruned(f"pruned at epoch {epoch}{where} "
                                     f"({self.monitor}={value:.4f})")


def _finite(value):
    """``value`` as a float, or None if it is missing or not finite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None
