"""Average the predicted probabilities of several fitted classifiers."""

import numbers
import sys
from collections.abc import Iterable

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_method_params, _num_samples, check_is_fitted

from .._proba import label_columns
from .._validation import (check_label_types, check_positive_real, fitting_anew, holds_bool,
                           label_array)

__all__ = ["SoftVotingEnsemble", "seed_ensemble", "late_fusion"]


def _as_proba_matrix(proba, classes=None):
    """Predictions as ``(n, k)``: sklearn's per-label list becomes one column per label."""
    if isinstance(proba, list):  # multi-output sklearn estimators: [(n, n_seen)] * k
        return label_columns(proba, classes)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2:
        raise ValueError(f"predict_proba returned shape {proba.shape}; expected 2-D.")
    return proba


def _marked_splits(estimator):
    """The :class:`ecgsk.neural.MarkedSplit` validation masks set inside ``estimator``."""
    split = sys.modules.get("ecgsk.neural._split")  # not imported: no MarkedSplit can exist
    if split is None or not hasattr(estimator, "get_params"):
        return []
    return [v.is_valid for v in estimator.get_params(deep=True).values()
            if isinstance(v, split.MarkedSplit)]


def _validation_mask(estimators):
    masks = [m for _, est in estimators for m in _marked_splits(est)]
    if not masks:
        return None
    if any(len(m) != len(masks[0]) or np.any(m != masks[0]) for m in masks[1:]):
        raise ValueError("the networks of the ensemble validate on different records; call "
                         "ecgsk.neural.set_validation on the whole ensemble.")
    return masks[0]


class SoftVotingEnsemble(MetaEstimatorMixin, ClassifierMixin, _BaseComposition):
    """Fit several classifiers on the same data and average their probabilities.

    Every member is cloned and fitted on ``X, y`` in :meth:`fit`; the
    ensemble's ``predict_proba`` is the weighted mean of theirs. Members may
    be whole pipelines with different preprocessing (a network on raw
    signals next to engineered features, say: late fusion). Target types:
    binary, multiclass (labels of any type) and multi-label (0/1 indicator
    matrix), for which :class:`sklearn.ensemble.VotingClassifier` does not
    work. Nested parameters are reachable as ``<name>__<param>``, so
    ``clone``, ``GridSearchCV`` and ``python -m ecgsk.tune`` see inside.

    With :func:`ecgsk.neural.set_validation` (PTB-XL's fold 9 validates
    the networks), the members without a network are fitted on the
    unmarked records alone: no weights learn from the validation records
    (early stopping does; so do the unsupervised steps of a network
    member's pipeline, such as its ``Standardizer``).

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        The members: unique names (no ``__``) and classifiers with
        ``predict_proba``.
    weights : array-like of shape (n_estimators,) or None, default=None
        Non-negative weights of the members' probabilities; ``None`` weighs
        them equally.
    threshold : float in (0, 1), default=0.5
        Decision threshold of :meth:`predict` for binary and multi-label
        targets (multiclass targets take the most probable class).

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted clones, in the order of ``estimators``.
    named_estimators_ : dict
        The fitted clones by name.
    weights_ : ndarray of shape (n_estimators,)
        The members' weights, normalised to sum to 1.
    classes_ : ndarray
        Class labels (binary/multiclass); for a label matrix, the column
        names of a DataFrame ``y``, else label indices ``0..k-1``.
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator matrix.
    n_features_in_ : int
        Number of features seen in :meth:`fit`, where the first member
        records it (members on signal arrays record leads instead).
    feature_names_in_ : ndarray of str
        Names of the features seen in :meth:`fit`, where the first member
        records them (``X`` a DataFrame of string column names).

    See Also
    --------
    seed_ensemble : the same recipe trained with several seeds.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from ecgsk.ensemble import SoftVotingEnsemble
    >>> X = [[0.0], [1.0], [2.0], [3.0]]; y = [0, 0, 1, 1]
    >>> ens = SoftVotingEnsemble([("lr", LogisticRegression()),
    ...                           ("tree", DecisionTreeClassifier(random_state=0))])
    >>> ens.fit(X, y).predict([[0.2], [2.8]])
    array([0, 1])
    """

    def __init__(self, estimators, *, weights=None, threshold=0.5):
        self.estimators = estimators
        self.weights = weights
        self.threshold = threshold

    def get_params(self, deep=True):
        """Parameters, and the members' as ``<name>__<param>`` when ``deep``.

        Parameters
        ----------
        deep : bool, default=True
            Also return the members (by name) and their parameters.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters, the members' included (``<name>__<param>``).

        Parameters
        ----------
        **params : dict
            ``estimators``, ``weights``, ``threshold``, a member by its name
            (replacing it), or a member's parameter as ``<name>__<param>``.

        Returns
        -------
        self : SoftVotingEnsemble
            This ensemble.
        """
        self._set_params("estimators", **params)
        return self

    def _check_params(self):
        if not isinstance(self.estimators, (list, tuple)) or not self.estimators:
            raise ValueError("estimators must be a non-empty list of (name, estimator) tuples, "
                             f"got {self.estimators!r}.")
        for item in self.estimators:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError("estimators must be a list of (name, estimator) tuples; "
                                 f"got the item {item!r}.")
        names = [name for name, _ in self.estimators]
        self._validate_names(names)
        for name, est in self.estimators:
            if not hasattr(est, "predict_proba"):
                raise ValueError(f"estimator {name!r} ({type(est).__name__}) has no "
                                 "predict_proba.")
        if self.weights is None:
            weights = np.ones(len(names))
        else:
            try:
                weights = np.asarray(self.weights, dtype=float)
                valid = (not holds_bool(self.weights)
                         and weights.shape == (len(names),) and np.all(np.isfinite(weights))
                         and np.all(weights >= 0) and weights.sum() > 0)
            except (TypeError, ValueError):  # not numbers
                valid = False
            if not valid:
                raise ValueError(f"weights must be {len(names)} non-negative numbers with a "
                                 f"positive sum, got {self.weights!r}.")
        if not isinstance(self.threshold, numbers.Real) or not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be a number in (0, 1), got {self.threshold!r}.")
        return weights / weights.sum()

    def fit(self, X, y, **fit_params):
        """Fit a clone of every member on ``X, y``.

        Parameters
        ----------
        X : array-like
            Input of the members, e.g. signals ``(n_records, n_leads, n_samples)``.
        y : array-like of shape (n_records,) or (n_records, n_labels)
            Labels, or a 0/1 indicator matrix for multi-label targets.
        **fit_params : dict
            Passed to every member's ``fit`` (with sklearn's metadata routing
            enabled, to the members that request them); a member fitted on
            the records that :func:`ecgsk.neural.set_validation` leaves for
            training gets the per-record ones (arrays of one value per
            record, such as ``sample_weight``) for those records.

        Returns
        -------
        self : SoftVotingEnsemble
        """
        with fitting_anew(self):  # a failed member leaves no half-fitted ensemble
            self.weights_ = self._check_params()
            y_arr, names = label_array(y)  # a sparse or nullable label matrix, as members read
            if y_arr.ndim:  # None is type_of_target's to refuse, in sklearn's words
                check_label_types(y_arr)  # numpy's sort error named neither y nor the record
            self.multilabel_ = type_of_target(y_arr) == "multilabel-indicator"
            if self.multilabel_:  # a DataFrame's columns by name, as ECGNetClassifier names them
                self.classes_ = names if names is not None else np.arange(y_arr.shape[1])
            else:
                self.classes_ = np.unique(y_arr)
            mask = _validation_mask(self.estimators)
            routed = (process_routing(self, "fit", **fit_params)
                      if get_config().get("enable_metadata_routing") else None)
            self.estimators_ = []
            for name, est in self.estimators:
                member = clone(est)
                if routed is not None:
                    fit_params = routed[name].fit
                if mask is not None and not _marked_splits(member):
                    if len(mask) != _num_samples(X):
                        raise ValueError(f"the validation mask of set_validation marks {len(mask)} "
                                         f"records but fit got {_num_samples(X)}.")
                    keep = np.flatnonzero(~mask)
                    # Per-record fit parameters (sample_weight, groups) follow the records.
                    member.fit(_safe_indexing(X, keep), _safe_indexing(y, keep),
                               **_check_method_params(X, fit_params, keep))
                else:
                    member.fit(X, y, **fit_params)
                self.estimators_.append(member)
            self.named_estimators_ = {name: est for (name, _), est
                                      in zip(self.estimators, self.estimators_)}
            if not self.multilabel_:
                # A member fitted on the records set_validation leaves may lack a rare class
                # whose patients all fell in the validation split: its columns are placed by
                # class in predict_proba, the missing ones 0 (it raised, failing the fold).
                for (name, _), est in zip(self.estimators, self.estimators_):
                    learned = np.asarray(est.classes_)
                    if not np.isin(learned, self.classes_).all():
                        raise ValueError(f"estimator {name!r} learned the classes {learned}, "
                                         f"which are not among {self.classes_}.")
            first = self.estimators_[0]
            for name in ("n_features_in_", "feature_names_in_"):  # as sklearn's Voting* do
                if hasattr(first, name):
                    setattr(self, name, getattr(first, name))
            return self

    def predict_proba(self, X):
        """Weighted mean of the members' probabilities.

        Parameters
        ----------
        X : array-like
            Input of the members, as in :meth:`fit`; passed to every member's
            ``predict_proba``.

        Returns
        -------
        proba : ndarray of shape (n_records, n_classes) or (n_records, n_labels)
        """
        check_is_fitted(self, "estimators_")
        total = None
        for (name, _), w, est in zip(self.estimators, self.weights_, self.estimators_):
            p = _as_proba_matrix(est.predict_proba(X), getattr(est, "classes_", None))
            learned = None if self.multilabel_ else np.asarray(est.classes_)
            if learned is not None and p.shape[1] != len(learned):
                raise ValueError(f"estimator {name!r} gives {p.shape[1]} probability columns "
                                 f"for its {len(learned)} classes_ {learned}.")
            if learned is not None and not np.array_equal(learned, self.classes_):
                placed = np.zeros((len(p), len(self.classes_)), dtype=p.dtype)
                placed[:, np.searchsorted(self.classes_, learned)] = p
                p = placed
            total = w * p if total is None else total + w * p
        return total

    def predict(self, X):
        """Labels: the most probable class, or a 0/1 matrix at ``threshold`` for multi-label.

        Parameters
        ----------
        X : array-like
            Input of the members, as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_records,) or (n_records, n_labels)
        """
        proba = self.predict_proba(X)
        if self.multilabel_:
            return (proba >= self.threshold).astype(np.int64)
        if len(self.classes_) == 2:
            return self.classes_[(proba[:, 1] >= self.threshold).astype(int)]
        return self.classes_[proba.argmax(axis=1)]

    def get_metadata_routing(self):
        """Route ``fit``'s metadata to the members that request it (sklearn's routing).

        Returns
        -------
        routing : MetadataRouter
        """
        router = MetadataRouter(owner=self)
        for name, est in self.estimators:
            router.add(**{name: est}, method_mapping=MethodMapping().add(caller="fit",
                                                                         callee="fit"))
        return router

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            inner = [get_tags(est) for _, est in self.estimators]
        except (TypeError, ValueError, AttributeError):  # a member is not an estimator
            return tags
        tags.input_tags.three_d_array = any(t.input_tags.three_d_array for t in inner)
        tags.input_tags.sparse = all(t.input_tags.sparse for t in inner)
        tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in inner)
        tags.target_tags.multi_output = all(t.target_tags.multi_output for t in inner)
        if tags.classifier_tags is not None:  # averages label matrices its members take
            tags.classifier_tags.multi_label = all(
                t.target_tags.multi_output or getattr(t.classifier_tags, "multi_label", False)
                for t in inner)
        tags.non_deterministic = any(t.non_deterministic for t in inner)
        return tags


def _seed_param_names(estimator):
    """``random_state`` parameters of an estimator and of everything nested in it."""
    return sorted(k for k in estimator.get_params(deep=True)
                  if k == "random_state" or k.endswith("__random_state"))


def seed_ensemble(estimator, seeds=(0, 1, 2), *, seed_params=None, weights=None):
    """The same recipe trained with several random seeds, averaged.

    Parameters
    ----------
    estimator : classifier
        The recipe, e.g. a named pipeline of ``pipelines/``.
    seeds : sequence of int, default=(0, 1, 2)
        One member per seed, named ``seed<k>``.
    seed_params : str, list of str or None, default=None
        Parameters that receive the seed (one name, or several). ``None``
        takes every ``random_state`` parameter of ``estimator`` and of its
        steps.
    weights : array-like or None, default=None
        See :class:`SoftVotingEnsemble`.

    Returns
    -------
    ensemble : SoftVotingEnsemble
        Unfitted.

    Examples
    --------
    >>> from sklearn.linear_model import SGDClassifier
    >>> from ecgsk.ensemble import seed_ensemble
    >>> ens = seed_ensemble(SGDClassifier(loss="log_loss"), seeds=[0, 1])
    >>> [(name, est.random_state) for name, est in ens.estimators]
    [('seed0', 0), ('seed1', 1)]
    """
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a sequence of distinct integers, got {seeds!r}; "
                         "e.g. seeds=(0, 1, 2).")
    seeds = list(seeds)
    integers = all(isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_))
                   for s in seeds)
    if not seeds or not integers or len(set(seeds)) != len(seeds) \
            or not all(0 <= s < 2 ** 32 for s in seeds):  # numpy's seeds (fit named none)
        raise ValueError(f"seeds must be distinct integers in [0, 2**32 - 1], at least one; "
                         f"got {seeds!r}.")
    if isinstance(seed_params, str):
        seed_params = [seed_params]  # one name, not its letters
    if seed_params is None:
        names = _seed_param_names(estimator)
    else:
        names = list(seed_params) if isinstance(seed_params, Iterable) else None  # a generator
        if names is None or not all(isinstance(n, str) for n in names):  # is read once
            raise ValueError(f"seed_params must be a parameter name or a sequence of them, "
                             f"got {seed_params!r}.")  # 5: "'int' object is not iterable"
    if not names:
        raise ValueError(f"{type(estimator).__name__} has no random_state parameter; name the "
                         "parameters that take the seed with seed_params.")
    known = estimator.get_params(deep=True)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"seed_params {unknown} are not parameters of "
                         f"{type(estimator).__name__}.")
    members = [(f"seed{s}", clone(estimator).set_params(**{n: s for n in names}))
               for s in seeds]
    return SoftVotingEnsemble(members, weights=weights)


def late_fusion(networks=(), features=None, *, feature_weight=1.0, prefix="net", others=()):
    """Networks averaged with each other, then with a features model: late fusion.

    Parameters
    ----------
    networks : sequence of classifiers, default=()
        Members sharing the network share of the vote equally (say, one
        recipe with several seeds), named ``<prefix>0``, ``<prefix>1``...
    features : classifier or None, default=None
        A model on engineered features, named ``features``.
    feature_weight : float, default=1.0
        Weight of ``features`` relative to the whole network share, a
        positive number (checked, but unused, when ``features`` is the only
        member).
    prefix : str, default="net"
        Name prefix of the network members.
    others : sequence of (str, classifier) tuples, default=()
        Further members, one vote each, named as given (another
        architecture, a model of another kind). They come after the
        networks and before ``features``.

    Returns
    -------
    ensemble : SoftVotingEnsemble
        Unfitted.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ecgsk.ensemble import late_fusion
    >>> ens = late_fusion([LogisticRegression(), LogisticRegression(C=0.1)],
    ...                   LogisticRegression(C=10), feature_weight=2,
    ...                   others=[("ridge", LogisticRegression(C=0.01))])
    >>> [name for name, _ in ens.estimators], ens.weights
    (['net0', 'net1', 'ridge', 'features'], [0.5, 0.5, 1.0, 2.0])
    """
    for name, value in (("networks", networks), ("others", others)):
        if isinstance(value, (str, bytes, BaseEstimator)) or not isinstance(value, Iterable):
            raise ValueError(f"{name} must be a list of estimators, got {value!r}; e.g. "
                             f"{name}=[est] for one.")
    networks, others = list(networks), list(others)
    bad = [o for o in others if not (isinstance(o, tuple) and len(o) == 2
                                     and isinstance(o[0], str))]
    if bad:  # an estimator alone: SoftVotingEnsemble raised only at fit
        raise ValueError(f"others must hold (name, estimator) pairs, got {bad[0]!r}.")
    if not networks and not others and features is None:
        raise ValueError("late_fusion needs networks, other members, features or several.")
    estimators = [(f"{prefix}{k}", net) for k, net in enumerate(networks)] + others
    weights = [1.0 / len(networks) for _ in networks] + [1.0 for _ in others]
    if features is not None:
        estimators.append(("features", features))
        check_positive_real(feature_weight, "feature_weight")
        weights.append(float(feature_weight) if weights else 1.0)
    return SoftVotingEnsemble(estimators, weights=weights)
