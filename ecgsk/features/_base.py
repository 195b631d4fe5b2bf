"""Shared machinery of the feature transformers: lead names and NaN handling.

Every feature transformer turns signals ``(n_records, n_leads, n_samples)``
(or single-lead ``(n_records, n_samples)``) into a 2-D float64 table
``(n_records, n_features)``. Some features are undefined for some records
(the skewness of a flat lead, the RR statistics of a record without beats);
they are computed as NaN and then handled by ``nan_policy``:

- ``"impute"`` (default): NaNs are replaced with the median of that feature
  over the training records, learned in ``fit`` with
  :class:`sklearn.impute.SimpleImputer`; a feature that is NaN for every
  training record is filled with 0. Indicator features such as
  ``too_few_beats`` stay in the table, so a classifier still sees that the
  value was imputed.
- ``"keep"``: NaNs are returned as they are, for classifiers that handle
  them (:class:`~sklearn.ensemble.HistGradientBoostingClassifier`).
- ``"raise"``: a NaN raises a ``ValueError`` naming the first record and
  feature at fault.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.utils import gen_batches
from sklearn.utils.validation import check_is_fitted

from .._validation import (check_lead_names, check_sampling_rate, check_signal_input,
                           fitting_anew)

__all__ = ["NAN_POLICIES", "BaseFeatures", "check_choice", "check_int", "required_rate"]

NAN_POLICIES = ("impute", "keep", "raise")

#: Records whose features are computed at a time (see BaseFeatures._compute_in_blocks).
_BLOCK = 256


def required_rate(value, owner, name="sampling_rate"):
    """Validate a sampling rate that has no safe default, naming the owner."""
    if value is None:
        raise ValueError(
            f"{owner} needs {name} (in Hz), got None. It has no default because "
            "a wrong rate would silently give wrong features."
        )
    return check_sampling_rate(value, name=name)


def check_int(value, name, *, low):
    """Validate an integer parameter ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def check_choice(value, name, choices):
    """Validate a string parameter against its allowed values."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return value


def _shown(names, most=4):
    """``'a', 'b', ... (n in all)``: a list of feature names short enough for a message."""
    names = list(names)
    if not names:
        return "none"
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "")


class BaseFeatures(TransformerMixin, BaseEstimator):
    """Common ``fit``/``transform`` of the feature transformers.

    Subclasses set ``_STATS`` or override ``_feature_suffixes``, validate
    their parameters in ``_check_params`` and compute the raw (possibly NaN)
    float64 table in ``_compute``. Fitting records ``n_leads_in_`` and, with
    ``nan_policy="impute"``, the fitted imputer ``imputer_``.
    """

    _min_samples = 1
    #: Features that sum or count over the whole record, so grow with its length.
    _length_dependent = ()

    # -- public API ----------------------------------------------------------
    def fit(self, X, y=None):
        """Validate the parameters and learn the imputation medians.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Training signals in mV; 2-D input is read as single-lead records.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its feature table, computing it only once.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Training signals in mV; 2-D input is read as single-lead records.
        y : None
            Ignored.

        Returns
        -------
        F : ndarray of shape (n_records, n_features_out_), float64
            The feature table; columns are named by :meth:`get_feature_names_out`.
        """
        return self._fit_transform(X)

    def transform(self, X):
        """Compute the feature table.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Signals in mV with as many leads as in :meth:`fit`.

        Returns
        -------
        F : ndarray of shape (n_records, n_features_out_), float64
            The feature table; columns are named by :meth:`get_feature_names_out`.
        """
        check_is_fitted(self, "n_leads_in_")
        X = check_signal_input(X, min_samples=self._min_samples)
        if X.shape[1] != self.n_leads_in_:
            raise ValueError(
                f"X has {X.shape[1]} lead(s), but {type(self).__name__} was fitted "
                f"on {self.n_leads_in_} lead(s)."
            )
        self._check_transform_input(X)
        self._warn_other_length(X.shape[2])
        name = type(self).__name__
        fitted = getattr(self, "_names_fitted_", None)  # models pickled before it: none
        now = self._feature_names() if fitted is not None else None
        if now is not None and now != fitted:
            # Even as many columns: percentiles (10, 90) for (25, 75) named p25 what is p10.
            what = (f"{len(now)} features, but was fitted to give {len(fitted)}"
                    if len(now) != len(fitted) else
                    f"other features than the {len(fitted)} it was fitted to give")
            raise ValueError(
                f"{name} now computes {what} (new: {_shown(n for n in now if n not in fitted)};"
                f" gone: {_shown(n for n in fitted if n not in now)}): its parameters changed "
                "after fit; fit it again.")
        F = self._compute_in_blocks(X)
        if np.shape(F)[1] != self.n_features_out_:
            raise ValueError(
                f"{name} now computes {np.shape(F)[1]} features, but was fitted to give "
                f"{self.n_features_out_}: its parameters changed after fit; fit it again.")
        check_choice(self.nan_policy, "nan_policy", NAN_POLICIES)
        if self.nan_policy == "impute" and not hasattr(self, "imputer_"):
            raise ValueError(f"{name} was fitted with another nan_policy than 'impute', so it "
                             "has no training medians to impute with; fit it again.")
        return self._handle_nan(F, fitting=False)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features, such as ``"lead0_heart_rate"``.

        Parameters
        ----------
        input_features : None
            Ignored: the input is a signal array, not a table with named
            columns. Lead names are given with the ``lead_names`` parameter.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column, ``"<lead>_<feature>"``.
        """
        check_is_fitted(self, "n_leads_in_")
        return np.asarray(self._fitted_names(), dtype=object)

    def _fitted_names(self):
        """The names of the columns fit gave, whatever ``set_params`` changed since."""
        fitted = getattr(self, "_names_fitted_", None)
        return list(fitted) if fitted is not None else self._feature_names()

    # -- shared steps --------------------------------------------------------
    def _fit_transform(self, X):
        # Anew: a refit keeps no imputer_ of an earlier nan_policy; a failed one, nothing.
        with fitting_anew(self):
            check_choice(self.nan_policy, "nan_policy", NAN_POLICIES)
            self._check_params()
            X = check_signal_input(X, min_samples=self._min_samples)
            self.lead_names_ = self._check_lead_names(X.shape[1])
            self.n_leads_in_ = X.shape[1]
            self.n_samples_in_ = X.shape[2]
            self._fit(X)
            self._names_fitted_ = self._feature_names()
            self.n_features_out_ = len(self._names_fitted_)
            return self._handle_nan(self._compute_in_blocks(X), fitting=True)

    def _compute_in_blocks(self, X):
        """``_compute`` over blocks of records (each record's features are its own).

        ``_compute`` works in float64 with temporaries of the input's size: over the
        whole of PTB-XL at 100 Hz, StatisticalFeatures took 12 times the input's
        memory, 12.6 GB.
        """
        self._check_records(X)  # over every record: a block's index is not the record's
        if len(X) <= _BLOCK:
            return self._compute(X)
        return np.concatenate([self._compute(X[block]) for block in gen_batches(len(X), _BLOCK)])

    def _warn_other_length(self, n_samples):
        fitted = getattr(self, "n_samples_in_", n_samples)  # models pickled before it: none
        if self._length_dependent and n_samples != fitted:
            warnings.warn(
                f"{type(self).__name__} was fitted on records of {fitted} samples and now "
                f"transforms records of {n_samples}: its features "
                f"{', '.join(self._length_dependent)} sum or count over the whole record, so "
                "they are not comparable with the training ones. Pad or crop the records to "
                "one length (PadTruncate, or WFDBLoader's length=).", UserWarning, stacklevel=3)

    def _check_lead_names(self, n_leads):
        lead_names = getattr(self, "lead_names", None)
        if lead_names is None:
            return [f"lead{i}" for i in range(n_leads)]
        lead_names = list(check_lead_names(lead_names))
        if len(lead_names) != n_leads:
            raise ValueError(
                f"lead_names has {len(lead_names)} name(s), but X has {n_leads} lead(s)."
            )
        if len(set(lead_names)) != len(lead_names):
            raise ValueError(f"lead_names must be unique, got {lead_names!r}.")
        return lead_names

    def _lead_label_list(self):
        # The names fitted with: lead_names set later (set_params) names nothing
        # until the next fit. A transformer pickled before lead_names_ recomputes them.
        names = getattr(self, "lead_names_", None)
        return list(names) if names is not None else self._check_lead_names(self.n_leads_in_)

    def _feature_names(self):
        return [f"{lead}_{suffix}" for lead in self._lead_label_list()
                for suffix in self._feature_suffixes()]

    def _handle_nan(self, F, *, fitting):
        F = np.asarray(F, dtype=np.float64)
        bad = ~np.isfinite(F)
        F[bad] = np.nan  # an undefined value is NaN, never +-inf
        if self.nan_policy == "keep":
            return F
        if self.nan_policy == "raise":
            if bad.any():
                rows, cols = np.nonzero(bad)
                names = self._fitted_names()
                raise ValueError(
                    f"{type(self).__name__} computed {bad.sum()} NaN feature value(s) in "
                    f"{np.unique(rows).size} record(s), first at record {rows[0]} "
                    f"(feature {names[cols[0]]!r}). Pass nan_policy='impute' to fill "
                    "them with training medians or nan_policy='keep' to keep them."
                )
            return F
        if fitting:
            self.imputer_ = SimpleImputer(strategy="median", keep_empty_features=True)
            self.imputer_.fit(F)
        if not bad.any():
            return F
        return self.imputer_.transform(F)

    # -- hooks ---------------------------------------------------------------
    def _check_params(self):
        pass

    def _fit(self, X):
        pass

    def _check_transform_input(self, X):
        pass

    def _check_records(self, X):
        """Checks of the whole ``X`` before its features are computed (in blocks)."""

    def _feature_suffixes(self):
        raise NotImplementedError

    def _compute(self, X):
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        return tags
