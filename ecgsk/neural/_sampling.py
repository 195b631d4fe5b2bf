"""Class-balanced sampling of training records.

:class:`~ecgsk.neural.ECGNetClassifier` with ``balanced_sampling=True``
draws every training epoch with a :class:`torch.utils.data.WeightedRandomSampler`
whose weights come from :func:`balanced_sample_weights`. The sampler is built
from the labels of the training subset that skorch hands to ``get_iterator``,
so it only ever draws training records, also under the internal validation
split and inside sklearn cross-validation.
"""

import numpy as np
import torch
from torch.utils.data import Subset, WeightedRandomSampler

__all__ = ["balanced_sample_weights", "make_balanced_sampler", "dataset_labels"]


def balanced_sample_weights(y):
    """Per-record sampling weights that make every class equally likely.

    Single-label targets (``(n,)``): a record of class ``c`` gets weight
    ``1 / count(c)``, so that every class is drawn equally often.

    Multi-label targets (``(n, n_labels)`` 0/1 indicators): every record is
    assigned to its *rarest positive label* (records without a positive
    label form a group of their own) and gets weight ``1 / size(group)``;
    every group is then drawn equally often. Rare labels are oversampled,
    although a record also counts for the frequent labels it carries.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_labels)

    Returns
    -------
    weights : ndarray of shape (n,), float64

    Examples
    --------
    >>> from ecgsk.neural._sampling import balanced_sample_weights
    >>> balanced_sample_weights(["a", "a", "a", "b"])
    array([0.33333333, 0.33333333, 0.33333333, 1.        ])
    """
    y = np.asarray(y)
    if y.ndim == 1:
        groups = y
    elif y.ndim == 2:
        positive = y > 0.5
        freq = positive.sum(axis=0)
        # The rarest positive label of each record; -1 for no positive label.
        masked = np.where(positive, freq[None, :], np.iinfo(np.int64).max)
        groups = np.where(positive.any(axis=1), masked.argmin(axis=1), -1)
    else:
        raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}.")
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse.reshape(-1)]


def make_balanced_sampler(y, num_samples=None, generator=None):
    """A :class:`~torch.utils.data.WeightedRandomSampler` balancing ``y``.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_labels)
        Labels of the records the sampler draws from (positions ``0..n-1``).
    num_samples : int or None, default=None
        Draws per epoch; ``None`` draws ``n`` (an epoch's worth).
    generator : torch.Generator or None, default=None
        Seeded generator for reproducible draws.

    Returns
    -------
    sampler : torch.utils.data.WeightedRandomSampler
        Draws with replacement, weights from :func:`balanced_sample_weights`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from ecgsk.neural._sampling import make_balanced_sampler
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> sampler = make_balanced_sampler(y, generator=torch.Generator().manual_seed(0))
    >>> counts = np.bincount(y[list(sampler)], minlength=2)
    >>> bool(abs(counts[0] - counts[1]) < 30)
    True
    """
    weights = balanced_sample_weights(y)
    num_samples = len(weights) if num_samples is None else int(num_samples)
    return WeightedRandomSampler(
        torch.as_tensor(weights, dtype=torch.double), num_samples,
        replacement=True, generator=generator,
    )


def dataset_labels(dataset):
    """Labels of a dataset, following :class:`torch.utils.data.Subset` indices.

    Works for datasets exposing their targets as ``.y`` (ecgsk's and skorch's
    datasets), wrapped in any number of ``Subset``\\ s, as produced by skorch's
    internal validation split.

    Returns
    -------
    y : ndarray, or None if the dataset does not expose its labels.
    """
    if isinstance(dataset, Subset):
        y = dataset_labels(dataset.dataset)
        return None if y is None else y[np.asarray(dataset.indices)]
    y = getattr(dataset, "y", None)
    if y is None:
        return None
    if isinstance(y, torch.Tensor):
        return y.detach().cpu().numpy()
    return np.asarray(y)
