"""``set_output`` for transformers whose output is signals, which stay arrays.

scikit-learn's :meth:`Pipeline.set_output <sklearn.pipeline.Pipeline.set_output>`
calls ``set_output`` on every step that transforms, and refuses a step
without one. Signals are 3-D arrays ``(n_records, n_leads, n_samples)``,
which have no DataFrame form; accepting the call lets a pipeline that reads
and conditions signals hand its feature steps' tables out as DataFrames.
"""

__all__ = ["SignalOutputMixin"]

_CONTAINERS = (None, "default", "pandas", "polars")


class SignalOutputMixin:
    """Adds :meth:`set_output`, which checks ``transform`` and keeps the output an array."""

    def set_output(self, *, transform=None):
        """Accept a pipeline's output container; signals stay 3-D arrays.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container that :meth:`sklearn.pipeline.Pipeline.set_output`
            asks of every step. Signals have no table form, so this
            transformer's output is an ndarray whatever the value; the
            feature steps after it return the container asked.

        Returns
        -------
        self : estimator
        """
        if transform not in _CONTAINERS:
            raise ValueError(f"transform must be one of {_CONTAINERS}, got {transform!r}.")
        return self
