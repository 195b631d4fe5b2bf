"""``set_output`` and ``get_feature_names_out`` for transformers whose output is signals.

scikit-learn's :meth:`Pipeline.set_output <sklearn.pipeline.Pipeline.set_output>`
and :meth:`Pipeline.get_feature_names_out
<sklearn.pipeline.Pipeline.get_feature_names_out>` call the method of the
same name on every step, and refuse a step without one. Signals are 3-D
arrays ``(n_records, n_leads, n_samples)``, which have no DataFrame form and
no named columns; accepting both calls lets a pipeline that reads and
conditions signals hand its feature steps' tables out as DataFrames, and
give their column names.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["SignalOutputMixin"]

_CONTAINERS = (None, "default", "pandas", "polars")


class SignalOutputMixin:
    """Adds :meth:`set_output`, which keeps the output an array, and :meth:`get_feature_names_out`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from ecgsk.features import StatisticalFeatures
    >>> from ecgsk.preprocessing import BandpassFilter
    >>> pipe = make_pipeline(BandpassFilter(sampling_rate=100),
    ...                      StatisticalFeatures(sampling_rate=100, percentiles=(), bands=()))
    >>> pipe.fit(np.random.default_rng(0).normal(size=(4, 1, 500))).get_feature_names_out()[:3]
    array(['lead0_mean', 'lead0_std', 'lead0_min'], dtype=object)
    """

    def __init_subclass__(cls, **kwargs):
        # TransformerMixin wraps transform and fit_transform of every class with a
        # get_feature_names_out, so that they return sklearn's global container
        # (``sklearn.set_config(transform_output="pandas")``) when set_output stored
        # none; a 3-D signal has no DataFrame form, and the wrapper would raise.
        kwargs.setdefault("auto_wrap_output_keys", None)
        super().__init_subclass__(**kwargs)

    def get_feature_names_out(self, input_features=None):
        """Pass a pipeline's feature names on: signals have no named columns.

        A feature step after this one, such as
        :class:`~ecgsk.features.StatisticalFeatures`, names its columns
        itself (from its ``lead_names``), whatever it is given.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Passed on unchanged.

        Returns
        -------
        feature_names_out : ndarray of str objects, or None
            ``input_features`` as an object array; None when it is None.
        """
        check_is_fitted(self)
        return None if input_features is None else np.asarray(input_features, dtype=object)

    def set_output(self, *, transform=None):
        """Accept a pipeline's output container; signals stay 3-D arrays.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container that :meth:`sklearn.pipeline.Pipeline.set_output`
            asks of every step. Signals have no table form, so this
            transformer's output is an ndarray whatever the value, and
            whatever ``sklearn.set_config(transform_output=...)`` says; the
            feature steps after it return the container asked.

        Returns
        -------
        self : estimator
        """
        if transform not in _CONTAINERS:
            raise ValueError(f"transform must be one of {_CONTAINERS}, got {transform!r}.")
        return self
