"""Standardization of ECG signals with statistics learnt on training data."""

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_bool, check_signal_input
from ._signal import _SignalTransformer

__all__ = ["Standardizer"]


class Standardizer(_SignalTransformer):
    """Subtract the training mean and divide by the training standard deviation.

    Parameters
    ----------
    per_lead : bool, default=True
        Learn one mean and standard deviation per lead (over all records and
        time samples). If False, learn a single pair over all leads.
    eps : float, default=1e-8
        Added to the standard deviation, so that a nearly flat lead is not
        amplified without bound. A lead constant in the training data is
        only centred: its standard deviation is taken as 1, as
        :class:`sklearn.preprocessing.StandardScaler` does.

    Attributes
    ----------
    mean_ : ndarray of shape (n_leads,), float64
        Training mean of each lead (the same value repeated when
        ``per_lead=False``).
    scale_ : ndarray of shape (n_leads,), float64
        Training standard deviation (1 where it is 0) plus ``eps``, per lead.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`; :meth:`transform` requires the
        same number.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import Standardizer
    >>> X = np.array([[[1.0, 3.0], [10.0, 30.0]]])  # 1 record, 2 leads
    >>> scaler = Standardizer().fit(X)
    >>> scaler.mean_
    array([ 2., 20.])
    >>> scaler.transform(X)[0]
    array([[-1.,  1.],
           [-1.,  1.]], dtype=float32)
    """

    def __init__(self, per_lead=True, eps=1e-8):
        self.per_lead = per_lead
        self.eps = eps

    def _check_params(self):
        check_bool(self.per_lead, name="per_lead")
        if (isinstance(self.eps, bool) or not isinstance(self.eps, numbers.Real)
                or not np.isfinite(self.eps) or self.eps < 0):
            raise ValueError(f"eps must be a non-negative number, got {self.eps!r}.")

    def _fit(self, X):
        # Lead by lead in float64: accurate sums without a float64 copy of
        # the whole array.
        mean = np.array([X[:, j].mean(dtype=np.float64) for j in range(X.shape[1])])
        var = np.array([X[:, j].var(dtype=np.float64) for j in range(X.shape[1])])
        if not self.per_lead:
            # Every lead has as many values, so the pooled moments are plain
            # averages of the per-lead ones.
            pooled_mean = mean.mean()
            var = np.full_like(var, (var + (mean - pooled_mean) ** 2).mean())
            mean = np.full_like(mean, pooled_mean)
        std = np.sqrt(var)
        std[std == 0] = 1.0  # a lead constant in training: only centred (as StandardScaler)
        self.mean_ = mean
        self.scale_ = std + self.eps

    def _transform(self, X):
        mean = self.mean_.astype(np.float32)[:, None]
        scale = self.scale_.astype(np.float32)[:, None]
        return (X - mean) / scale

    def inverse_transform(self, X):
        """Undo :meth:`transform`: ``X * scale_ + mean_`` per lead.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Standardized signals.

        Returns
        -------
        X_original : ndarray of shape (n_records, n_leads, n_samples), float32
            Signals in the original units.
        """
        check_is_fitted(self)
        X = check_signal_input(X)
        self._check_n_leads(X)
        mean = self.mean_.astype(np.float32)[:, None]
        scale = self.scale_.astype(np.float32)[:, None]
        return X * scale + mean
