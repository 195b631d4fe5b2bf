"""The object every dataset reader returns."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ECGDataset"]


@dataclass
class ECGDataset:
    """Records of one dataset and task, ready for a pipeline.

    Attributes
    ----------
    X : ndarray of str, shape (n_records,)
        Absolute record paths without extension, for
        :class:`ecgsk.preprocessing.WFDBLoader`.
    y : ndarray or None
        Labels: a 0/1 indicator matrix of shape (n_records, n_classes) for
        multi-label tasks, a 1-D array of labels otherwise, None when the
        records are unlabelled.
    classes : ndarray or None
        The label set; for multi-label tasks, the columns of ``y``.
    groups : ndarray of shape (n_records,)
        Patient ids (the record name where the dataset has none), for
        patient-grouped splitting.
    folds : ndarray of shape (n_records,) or None
        The dataset's own folds (PTB-XL ``strat_fold``), None where it has none.
    meta : pandas.DataFrame
        One row per record, aligned with ``X``.
    sampling_rate : float or None
        Native sampling rate of the records in Hz.
    name : str
        Dataset name, e.g. ``"ptbxl"``.
    task : str or None
        Task name, e.g. ``"superdiagnostic"``.
    dropped : dict
        How many records of the source were left out, by reason.
    """

    X: np.ndarray
    y: np.ndarray = None
    classes: np.ndarray = None
    groups: np.ndarray = None
    folds: np.ndarray = None
    meta: pd.DataFrame = None
    sampling_rate: float = None
    name: str = ""
    task: str = None
    dropped: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.X)

    def __repr__(self):
        n_cls = None if self.classes is None else len(self.classes)
        return (f"ECGDataset(name={self.name!r}, task={self.task!r}, "
                f"n_records={len(self)}, n_classes={n_cls}, "
                f"sampling_rate={self.sampling_rate})")

    def subset(self, mask):
        """Return the records selected by a boolean mask or index array.

        Parameters
        ----------
        mask : array-like of bool of shape (n_records,), or array-like of int
            The records to keep: a boolean mask, or record indices (in the
            order given, repeats allowed).

        Returns
        -------
        ECGDataset
            A new dataset of the selected records: ``X``, ``y``, ``groups``,
            ``folds`` and the rows of ``meta`` (which keep their index) are
            taken in the selected order; ``classes``, ``sampling_rate``,
            ``name`` and ``task`` are those of this dataset, and ``dropped``
            a copy of its dict.
        """
        idx = np.arange(len(self))[mask]
        take = (lambda a: None if a is None else a[idx])
        return ECGDataset(
            X=self.X[idx], y=take(self.y), classes=self.classes,
            groups=take(self.groups), folds=take(self.folds),
            meta=None if self.meta is None else self.meta.iloc[idx],
            sampling_rate=self.sampling_rate, name=self.name, task=self.task,
            dropped=dict(self.dropped),
        )

    def split_folds(self, train=tuple(range(1, 9)), valid=(9,), test=(10,)):
        """Split by the dataset's folds (PTB-XL: train 1-8, valid 9, test 10).

        Parameters
        ----------
        train : int or sequence of int, default=(1, 2, 3, 4, 5, 6, 7, 8)
            The folds of the training records.
        valid : int, sequence of int or None, default=(9,)
            The folds of the validation records; None or empty for none.
        test : int, sequence of int or None, default=(10,)
            The folds of the test records; None or empty for none.

        Returns
        -------
        train, valid, test : ECGDataset
            ``valid`` is None when ``valid`` is empty.
            Each part is None when its folds are empty; a non-empty
            ``valid`` that selects no record gives an empty dataset.

        Raises
        ------
        ValueError
            If the dataset defines no folds or the fold sets overlap.
            Also if the ``train`` or ``test`` folds select no record.
        """
        if self.folds is None:
            raise ValueError(
                f"dataset {self.name!r} defines no folds; split it with an sklearn "
                "splitter such as StratifiedGroupKFold on .groups instead."
            )
        sets = [set() if s is None else set(np.atleast_1d(s).tolist())
                for s in (train, valid, test)]
        if sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2]:
            raise ValueError(f"train, valid and test folds overlap: {sets}")
        parts = [self.subset(np.isin(self.folds, list(s))) if s else None for s in sets]
        for label, part in zip(("train", "test"), (parts[0], parts[2])):
            if part is not None and len(part) == 0:
                raise ValueError(f"the {label} folds {sorted(sets[0 if label == 'train' else 2])} "
                                 f"select no records of {self.name!r}.")
        return tuple(parts)
