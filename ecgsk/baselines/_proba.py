"""Scores in [0, 1] for classifiers that only have ``decision_function``."""

import numpy as np
from scipy.special import expit, softmax
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.multiclass import type_of_target
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.validation import check_is_fitted

from .._validation import fitting_anew

__all__ = ["DecisionProba"]


class DecisionProba(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Give a decision-function classifier a ``predict_proba``.

    The decision values are mapped to [0, 1] with the logistic function
    (binary and multi-label targets, one column per label) or the softmax
    (multiclass). The map is monotonic per class, so ranking metrics such as
    AUROC are those of the decision values; the outputs are *not* calibrated
    probabilities. This lets ridge classifiers (the MiniRocket recipe) sit
    where ecgsk's tools expect ``predict_proba``: ``compare``, ``tune`` and
    logged MLflow models.

    Parameters
    ----------
    estimator : classifier with ``decision_function``
        Cloned and fitted in :meth:`fit`.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : ndarray
        The classes of ``estimator_``.
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator matrix (one logistic per
        label) rather than binary or multiclass targets.
    n_features_in_ : int
        Number of features seen in :meth:`fit`, where ``estimator_`` records
        it.
    feature_names_in_ : ndarray of str
        Names of the features seen in :meth:`fit`, where ``estimator_``
        records them (``X`` a DataFrame of string column names).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import RidgeClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = [0, 0, 1, 1]
    >>> model = DecisionProba(RidgeClassifier()).fit(X, y)
    >>> model.predict_proba(X).shape
    (4, 2)
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on ``X, y``.

        Parameters
        ----------
        X : array-like
            Training input, as ``estimator`` takes it.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Binary, multiclass or multi-label (indicator matrix) targets.
        **fit_params : dict
            Passed to ``estimator``'s ``fit`` (with sklearn's metadata routing
            enabled, those it requests).

        Returns
        -------
        self : DecisionProba
            The fitted meta-estimator.
        """
        with fitting_anew(self):  # no n_features_in_ of an earlier fit
            if not hasattr(self.estimator, "decision_function"):
                raise ValueError(f"estimator {type(self.estimator).__name__} has no "
                                 "decision_function.")
            if get_config().get("enable_metadata_routing"):
                fit_params = process_routing(self, "fit", **fit_params).estimator.fit
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
            self.classes_ = self.estimator_.classes_
            self.multilabel_ = type_of_target(y) == "multilabel-indicator"
            if not self.multilabel_ and len(self.classes_) < 2:
                # Its one decision value would become two columns for one class.
                only = self.classes_.tolist()[0]
                raise ValueError(f"y holds one class ({only!r}); DecisionProba needs at least "
                                 "two to map decision values to probabilities.")
            for name in ("n_features_in_", "feature_names_in_"):  # as sklearn's Voting* do
                if hasattr(self.estimator_, name):
                    setattr(self, name, getattr(self.estimator_, name))
            return self

    def get_metadata_routing(self):
        """Route ``fit``'s metadata to ``estimator`` where it requests it (sklearn's routing).

        Returns
        -------
        routing : MetadataRouter
        """
        return MetadataRouter(owner=self).add(
            estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit",
                                                                         callee="fit"))

    def decision_function(self, X):
        """Decision values of the fitted estimator.

        Parameters
        ----------
        X : array-like
            Input, as ``estimator`` takes it.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``estimator_.decision_function(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def predict(self, X):
        """Predictions of the fitted estimator.

        Parameters
        ----------
        X : array-like
            Input, as ``estimator`` takes it.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
            ``estimator_.predict(X)``: its own decision rule, not a threshold
            on :meth:`predict_proba`.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        """Decision values mapped to [0, 1]: logistic per label, or softmax.

        Parameters
        ----------
        X : array-like
            Input, as ``estimator`` takes it.

        Returns
        -------
        ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Binary targets give two columns (``1 - p``, ``p``); multiclass
            targets the softmax over classes; multi-label targets one
            logistic per label. Monotonic in the decision values, not
            calibrated.
        """
        d = np.asarray(self.decision_function(X), dtype=float)
        if self.multilabel_:
            return expit(d)
        if d.ndim == 1:
            p = expit(d)
            return np.column_stack([1 - p, p])
        return softmax(d, axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:  # not an estimator (None): fit says so; tags, repr and check_is_fitted work
            inner = get_tags(self.estimator)
        except (TypeError, ValueError, AttributeError):
            return tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.three_d_array = inner.input_tags.three_d_array
        # A label matrix the estimator takes, this takes too (expit per label).
        tags.target_tags.multi_output = inner.target_tags.multi_output
        if tags.classifier_tags is not None and inner.classifier_tags is not None:
            tags.classifier_tags.multi_label = inner.classifier_tags.multi_label
        return tags
