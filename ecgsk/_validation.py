"""Input validation shared by ecgsk's transformers and estimators.

Every public estimator validates its signal input here, so that bad input
fails with the same clear message everywhere: it names the argument, the
expected shape and, for NaNs, the first offending record.
"""

import contextlib
import numbers
import warnings

import numpy as np

__all__ = ["check_signals", "check_signal_input", "check_sampling_rate", "check_positive_int",
           "check_bool", "check_seed", "fitting_anew", "label_array", "check_label_types",
           "check_thresholds", "check_lead_names", "holds_bool",
           "check_positive_real"]


def check_signals(X, *, name="X", allow_2d=True, ensure_finite=True,
                  dtype=np.float32, copy=False, min_samples=1):
    """Validate ECG signals and return them as ``(n_records, n_leads, n_samples)``.

    Parameters
    ----------
    X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
        Signals. A 2-D array is read as single-lead records when ``allow_2d``.
    name : str, default="X"
        Argument name used in error messages.
    allow_2d : bool, default=True
        Accept 2-D input and add a lead axis.
    ensure_finite : bool, default=True
        Raise if any value is NaN or infinite, naming the first bad record.
    dtype : numpy dtype, default=np.float32
        Output dtype.
    copy : bool, default=False
        Always return a copy.
    min_samples : int, default=1
        Smallest accepted number of samples per record.

    Returns
    -------
    X : ndarray of shape (n_records, n_leads, n_samples)
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{name} must be an array of signals, got a string {X!r}; "
            "read record paths with ecgsk.preprocessing.WFDBLoader first."
        )
    kind = getattr(X, "dtype", None)
    if kind is None:
        try:
            kind = np.asarray(X).dtype
        except (TypeError, ValueError):
            kind = None  # ragged: said below
    if kind is not None and np.dtype(kind).kind in "cUS":
        # float32 of complex values keeps the real part, of strings their numbers: refused,
        # as the transformers' check_array refuses them.
        what = ("Complex data not supported: " if np.dtype(kind).kind == "c" else "")
        raise ValueError(f"{what}{name} must hold real numbers, got an array of "
                         f"{np.dtype(kind)} values.")
    given = X
    try:
        with np.errstate(over="ignore"):  # a value beyond dtype's range is said below
            X = np.array(X, dtype=dtype, copy=copy) if copy else np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        ragged = ("; its records differ in length or lead count: bring them to one length "
                  "first (PadTruncate takes them as a list, or WFDBLoader(length=...))"
                  if "inhomogeneous" in str(exc) else "")
        raise ValueError(
            f"{name} must be a numeric array of shape (n_records, n_leads, "
            f"n_samples){ragged}; it could not be converted to {np.dtype(dtype).name}: {exc}"
        ) from None
    if X.ndim == 2 and allow_2d:
        _warn_wfdb_layout(X.shape, name)
        X = X[:, None, :]
    elif X.ndim == 3:
        _warn_wfdb_layout(X.shape, name)
    if X.ndim != 3:
        expected = "3-D (n_records, n_leads, n_samples)"
        if allow_2d:
            expected += " or 2-D (n_records, n_samples)"
        raise ValueError(f"{name} must be {expected}; got an array of shape {X.shape}.")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: 0 records (shape {X.shape}).")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no leads (shape {X.shape}).")
    if X.shape[2] < min_samples:
        raise ValueError(
            f"{name} has {X.shape[2]} samples per record; at least {min_samples} are needed."
        )
    if ensure_finite and not np.isfinite(X).all():
        bad = np.flatnonzero(~np.isfinite(X).all(axis=(1, 2)))
        first = np.asarray(np.asarray(given)[bad[0]], dtype=np.float64)  # a DataFrame's row
        if np.isfinite(first).all():  # finite as given: too large for dtype, not NaN
            raise ValueError(
                f"{name} has values beyond {np.dtype(dtype).name}'s range (|x| > "
                f"{np.finfo(dtype).max:.2g}) in {bad.size} record(s), first at index "
                f"{bad[0]}: signals in mV are far smaller (a wrong ADC gain or unit?).")
        raise ValueError(
            f"{name} contains NaN or infinite values in {bad.size} record(s), "
            f"first at index {bad[0]}. Clean or impute them first."
        )
    return X


def _warn_wfdb_layout(shape, name):
    """Warn when input looks like wfdb's ``(samples, leads)``: one record, or records stacked.

    ``np.stack`` of ``wfdb.rdsamp`` signals was read as 1000 leads of 12 samples:
    a band-pass over 12 samples, 17,000 features, a network of 1000 input channels.
    """
    rows, cols = shape[-2:]
    if cols > 16 or rows < 100 * cols:
        return
    if len(shape) == 2:
        read = f"{rows} single-lead records of {cols} samples each"
        fix = f"If it is one record as wfdb gives it, (samples, leads), pass {name}.T[None]"
    else:
        read = f"{shape[0]} records of {rows} leads and {cols} samples each"
        fix = (f"If its records are stacked as wfdb gives them, (samples, leads), pass "
               f"{name}.transpose(0, 2, 1)")
    warnings.warn(f"{name} of shape {shape} is read as {read}. {fix}: an array (n_records, "
                  "n_leads, n_samples).", UserWarning, stacklevel=4)


def check_signal_input(X, **kwargs):
    """:func:`check_signals` for the transformers, with sklearn's input checks before it.

    1-D input and arrays of no record are refused in ecgsk's words (1-D:
    with sklearn's "Reshape your data", which its estimator checks look
    for, and how to reshape a signal, not sklearn's advice to make every
    sample a record). :func:`sklearn.utils.check_array` then rejects
    sparse, complex and non-numeric data and arrays of no sample with
    sklearn's usual messages; :func:`check_signals` returns the float32
    ``(n_records, n_leads, n_samples)`` array and names the first record
    holding NaN or infinite values.

    Examples
    --------
    >>> import numpy as np
    >>> check_signal_input(np.zeros((2, 500))).shape
    (2, 1, 500)
    >>> check_signal_input(np.zeros(500))
    Traceback (most recent call last):
    ...
    ValueError: X must be 3-D (n_records, n_leads, n_samples) or 2-D ...; got a 1-D array ...
    """
    if isinstance(X, (str, bytes)):  # check_signals explains strings best
        return check_signals(X, **kwargs)
    if not hasattr(X, "shape"):  # a list, converted once
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):  # ragged: check_signals says it cannot be converted
            return check_signals(X, **kwargs)
    shape = X.shape
    if len(shape) >= 1 and shape[0] == 0:
        raise ValueError(f"X is empty: 0 records (shape {shape}).")
    if len(shape) == 1:
        kind = getattr(getattr(X, "dtype", None), "kind", "f")
        if kind in "US":
            raise ValueError(f"X holds {shape[0]} strings, not signals: read record paths "
                             "with ecgsk.preprocessing.WFDBLoader first.")
        if kind == "O":
            raise ValueError(f"X is a 1-D array of {shape[0]} objects: stack records of one "
                             "length and lead count into (n_records, n_leads, n_samples) "
                             "(PadTruncate takes records of other lengths as they are).")
        raise ValueError(
            "X must be 3-D (n_records, n_leads, n_samples) or 2-D (n_records, n_samples); "
            f"got a 1-D array of {shape[0]} values. Reshape your data: X[None] is one "
            "single-lead record, X.reshape(n_leads, -1)[None] one record of n_leads leads.")
    from sklearn.utils import check_array

    X = check_array(X, accept_sparse=False, allow_nd=True, dtype="numeric",
                    ensure_all_finite=False, input_name="X")
    return check_signals(X, **kwargs)


def check_sampling_rate(rate, *, name="sampling_rate", allow_none=False):
    """Validate a sampling rate in Hz and return it as a float."""
    if rate is None and allow_none:
        return None
    value = np.nan
    if not isinstance(rate, bool) and isinstance(rate, numbers.Real):
        try:  # a Fraction or a huge int, which np.isfinite cannot take
            value = float(rate)
        except OverflowError:
            pass
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of Hz, got {rate!r}.")
    return value


def check_lead_names(lead_names):
    """``lead_names`` as a tuple of strings, or a ValueError naming the parameter.

    A number (``lead_names=12``) failed with "'int' object is not iterable".
    """
    try:
        names = tuple(lead_names) if not isinstance(lead_names, (str, bytes)) else None
    except TypeError:
        names = None
    if names is None or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"lead_names must be a sequence of strings, one per lead, got {lead_names!r}.")
    return names


def check_positive_real(value, name, allow_none=False):
    """Refuse, naming ``name``, what is not a finite number > 0 (nor None, where allowed)."""
    if value is None and allow_none:
        return
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not np.isfinite(value) or value <= 0):
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be a positive number{extra}, got {value!r}.")


def holds_bool(value):
    """Whether ``value`` is a bool or holds one (``[0.5, True]``), which numpy reads as 1.0."""
    try:
        values = np.asarray(value, dtype=object).ravel()
    except (TypeError, ValueError):
        return False
    return any(isinstance(v, (bool, np.bool_)) for v in values)


def check_bool(value, *, name):
    """Validate an on/off switch and return it as a bool.

    ``bool(value)`` would read ``"false"`` or ``"no"`` as on; numpy's bools
    are taken.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_positive_int(value, *, name, allow_none=False):
    """Validate a positive integer parameter."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_seed(random_state, *, name="random_state"):
    """:func:`sklearn.utils.check_random_state`, with an error that names the parameter."""
    from sklearn.utils import check_random_state

    # numpy's own message, "Seed must be between 0 and 2**32 - 1", names no parameter;
    # True is no seed (sklearn would take it for 1).
    if isinstance(random_state, (bool, np.bool_)) or (
            isinstance(random_state, numbers.Integral) and not 0 <= random_state < 2 ** 32):
        raise ValueError(f"{name} must be None, an int in [0, 2**32 - 1] or a numpy "
                         f"RandomState, got {random_state!r}.")
    try:
        return check_random_state(random_state)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be None, an int or a numpy RandomState, "
                         f"got {random_state!r}.") from None


def label_array(y):
    """``(array, column names or None)`` of labels as sklearn's target checks read them.

    A sparse label matrix becomes dense, and a DataFrame of nullable
    ``"boolean"`` or ``"Int64"`` columns becomes floats: ``np.asarray`` made a
    0-d object array of the one and objects of the other, which
    :func:`~sklearn.utils.multiclass.type_of_target` does not take for a
    label matrix. A DataFrame's column names are returned beside it.
    """
    import scipy.sparse

    names = None
    if scipy.sparse.issparse(y):
        y = y.toarray()
    if hasattr(y, "columns") and getattr(y, "ndim", 1) == 2:
        import pandas as pd

        names = np.asarray(y.columns)
        if len(y.columns) and not y.isna().to_numpy().any() and all(
                pd.api.types.is_bool_dtype(t) or pd.api.types.is_numeric_dtype(t)
                for t in y.dtypes):
            y = y.to_numpy(dtype=np.float64)
    return np.asarray(y), names


def _forget_fit(estimator):
    # check_is_fitted's own rule: a private ``_names_fitted_`` counts too.
    for name in [n for n in vars(estimator) if n.endswith("_") and not n.startswith("__")]:
        delattr(estimator, name)


@contextlib.contextmanager
def fitting_anew(estimator):
    """Fit ``estimator`` from nothing in the block; leave it unfitted if the block fails.

    Its fitted attributes (names ending in ``_``, private ones too, as
    :func:`~sklearn.utils.validation.check_is_fitted` counts them) are removed on
    entry, so that a refit keeps none of the previous fit's (an imputer
    that the new parameters no longer fit), and again when the block
    raises, so that a failed fit leaves no half-fitted estimator that
    :func:`~sklearn.utils.validation.check_is_fitted` accepts and that
    predicts from part of a fit.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> est = SimpleNamespace(alpha=1.0, coef_=[0.5])
    >>> try:
    ...     with fitting_anew(est):
    ...         est.n_features_in_ = 3
    ...         raise ValueError("a member failed")
    ... except ValueError:
    ...     pass
    >>> sorted(vars(est))
    ['alpha']
    """
    _forget_fit(estimator)
    try:
        yield estimator
    except BaseException:
        _forget_fit(estimator)
        raise


def check_label_types(y, name="y", what="label"):
    """Refuse an object ``y`` with missing labels or labels of mixed types, naming them.

    sklearn sorts the labels and fails inside numpy ("'<' not supported
    between instances of 'NoneType' and 'str'"), which names neither ``y``
    nor the record. ``name`` and ``what`` name the array and its values
    (``groups``' patients too).
    """
    if y.dtype.kind == "f" and name != "y":  # sklearn names a NaN of a float y itself
        missing = np.flatnonzero(~np.isfinite(y.ravel()))
    elif y.dtype != object:
        return
    else:
        missing = [i for i, v in enumerate(y.ravel()) if v is None
                   or (isinstance(v, numbers.Real) and not np.isfinite(v))]
    if len(missing):
        remedy = "label them" if what == "label" else f"give each its {what}"
        raise ValueError(f"{name} holds {len(missing)} missing {what}(s) (None or NaN), the "
                         f"first at position {missing[0]}; drop those records or {remedy}.")
    if y.dtype != object:
        return
    flat = y.ravel()

    def kind(value):
        return ("str" if isinstance(value, str) else
                "number" if isinstance(value, numbers.Number) else type(value).__name__)

    first = {}
    for value in flat:
        first.setdefault(kind(value), value)
    if len(first) > 1:
        shown = ", ".join(f"{k} ({v!r})" for k, v in sorted(first.items()))
        raise ValueError(f"{name} mixes {what}s of types {shown}; give every {what} the same "
                         "type.")


def check_thresholds(thresholds, n_classes):
    """``thresholds`` as a float array of one probability, or one per class; named if not.

    Shared by :func:`ecgsk.tracking.log_model` and
    :func:`ecgsk.tracking.evaluate_predictions`: a binary task given three
    thresholds used the last without a word, and a label matrix given too
    few failed in numpy's broadcasting.
    """
    values = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if (values.ndim != 1 or values.size not in (1, n_classes)
            or not np.all((values >= 0) & (values <= 1))):
        raise ValueError(f"thresholds must be one probability, or one per class "
                         f"({n_classes}), got {np.asarray(thresholds).tolist()!r}.")
    return values


def binary_threshold(thresholds):
    """The threshold of a binary task's second class: the last of ``thresholds``, else 0.5.

    One rule for the logged metrics (:func:`ecgsk.tracking.evaluate_predictions`)
    and ``ecgsk.predict``: ``thresholds`` holds one value for the second
    class, or one per class as :func:`ecgsk.tracking.log_model` stores them.
    """
    return 0.5 if thresholds is None else float(np.ravel(thresholds)[-1])

