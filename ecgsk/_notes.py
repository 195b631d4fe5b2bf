"""The readers' warnings, shown by the command lines as one-line notes."""

import contextlib
import sys
import warnings

__all__ = ["warnings_as_notes"]


@contextlib.contextmanager
def warnings_as_notes(*, where=None, quiet=False):
    """Print each UserWarning raised inside as a ``note: ...`` line on stderr.

    A reader's "left out N records" is then said once, without a warning's
    file and line. ``where`` ends each note (``"under ROOT"``); ``quiet``
    drops them. Other warnings, subclasses of UserWarning included
    (scikit-learn's ``InconsistentVersionWarning`` of a model pickled by
    another version), are emitted again through the filters, so that a
    filter that makes one an error still does.
    """
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            yield
    finally:  # said even when the block fails: what was left out explains the error
        for w in caught:
            if w.category is not UserWarning:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            elif not quiet:
                text = str(w.message)
                if where:
                    text = f"{text.rstrip('.')} {where}."
                print(f"note: {text}", file=sys.stderr)
