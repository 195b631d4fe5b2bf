"""Validate every network of an estimator on chosen records (PTB-XL's fold 9)."""

import numpy as np

__all__ = ["set_validation", "MarkedSplit"]


class MarkedSplit:
    """skorch ``train_split`` that validates on the rows marked in ``is_valid``.

    :func:`set_validation` gives one to every network of an estimator;
    called by skorch with the dataset of ``fit``, it returns the unmarked
    rows to train on and the marked rows to validate on.

    Parameters
    ----------
    is_valid : array-like of bool, shape (n_records,)
        True for the validation rows of the ``X`` that ``fit`` will get.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.neural import MarkedSplit
    >>> split = MarkedSplit([False, False, True, False])
    >>> split
    MarkedSplit(1 of 4 records)
    >>> train, valid = split(np.arange(4))
    >>> train.indices, valid.indices
    ([0, 1, 3], [2])
    """

    def __init__(self, is_valid):
        self.is_valid = np.asarray(is_valid, dtype=bool)

    def __call__(self, dataset, y=None, **fit_params):
        """Split ``dataset`` (of ``len(is_valid)`` rows) into training and validation subsets.

        Parameters
        ----------
        dataset : torch Dataset or sequence
            The rows of ``fit``, in order.
        y : ignored
            skorch passes the targets.
        **fit_params : dict
            Ignored.

        Returns
        -------
        train, valid : torch.utils.data.Subset
            The unmarked and the marked rows.
        """
        from torch.utils.data import Subset

        if len(dataset) != len(self.is_valid):
            raise ValueError(f"the validation mask marks {len(self.is_valid)} records but fit "
                             f"got {len(dataset)}; call set_validation with a mask of the "
                             "records passed to fit.")
        return (Subset(dataset, np.flatnonzero(~self.is_valid).tolist()),
                Subset(dataset, np.flatnonzero(self.is_valid).tolist()))

    def __repr__(self):
        return f"MarkedSplit({int(self.is_valid.sum())} of {len(self.is_valid)} records)"


def set_validation(estimator, is_valid):
    """Make every :class:`ECGNetClassifier` in ``estimator`` validate on marked records.

    The PTB-XL protocol trains on ``strat_fold`` 1-8 and validates (early
    stopping, learning-rate schedule, best epoch) on fold 9. In an sklearn
    ``fit(X, y)`` the validation records must travel inside ``X``: fit the
    estimator on training and validation records together, with
    ``is_valid`` marking the latter. Each network found (the estimator
    itself, a pipeline step, an ensemble member, at any depth) gets a
    ``train_split`` that holds out exactly those rows
    (:class:`MarkedSplit`). Steps before the network keep their row order,
    so the rows still match; a mask of the wrong length fails at ``fit``.

    Other estimators are left alone; they would learn from the validation
    records too, so fit them on the training records alone when this
    returns 0.

    Parameters
    ----------
    estimator : estimator
        Modified in place, like ``set_params``.
    is_valid : array-like of bool, shape (n_records,)
        True for the validation records of the ``X`` that ``fit`` will get.

    Returns
    -------
    n_nets : int
        How many networks now validate on the marked records.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.nets import ECGCNN
    >>> from ecgsk.neural import ECGNetClassifier, set_validation
    >>> net = ECGNetClassifier(ECGCNN)
    >>> set_validation(net, np.array([False, False, True]))
    1
    """
    mask = np.asarray(is_valid)
    if mask.ndim != 1 or mask.dtype != bool:
        raise ValueError(f"is_valid must be a 1-D boolean array, got dtype {mask.dtype} and "
                         f"shape {mask.shape}.")
    if not mask.any() or mask.all():
        raise ValueError("is_valid must mark some records for validation and leave some for "
                         "training.")
    return mark_validation(estimator, mask, networks_in(estimator))


def mark_validation(estimator, is_valid, nets):
    """Give the networks ``nets`` of ``estimator`` (:func:`networks_in`'s pairs) a MarkedSplit.

    :func:`set_validation` without its checks, for some of the networks
    (``compare``'s folds mark those that split by themselves). Returns their
    number.
    """
    split = MarkedSplit(is_valid)
    targets = [f"{key}__train_split" if key else "train_split" for key, _ in nets]
    if targets:
        estimator.set_params(**{key: split for key in targets})
    return len(targets)


def networks_in(estimator):
    """``[(key, net), ...]``: every ECGNetClassifier in ``estimator``, at any depth.

    ``key`` is the net's ``get_params(deep=True)`` name (``"net"``,
    ``"members__0__net"``...), or None for the estimator itself.
    """
    from ._classifier import ECGNetClassifier

    found = [(None, estimator)] if isinstance(estimator, ECGNetClassifier) else []
    if hasattr(estimator, "get_params"):
        found += [(key, value) for key, value in estimator.get_params(deep=True).items()
                  if isinstance(value, ECGNetClassifier)]
    return found
