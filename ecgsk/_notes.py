"""The readers' warnings, shown by the command lines as one-line notes."""

import contextlib
import sys
import warnings

__all__ = ["warnings_as_notes"]


@contextlib.contextmanager
def warnings_as_notes(*, where=None, quiet=False, said=None):
    """Print each UserWarning raised inside as a ``note: ...`` line on stderr.

    A reader's "left out N records" is then said once, without a warning's
    file and line. ``where`` ends each note (``"under ROOT"``); ``quiet``
    drops them. ``said``, a set, holds the notes printed so far: one already
    in it is not printed again (compare's pipelines share one test set, whose
    note is said once). Notes go through ``tqdm.write``, so a progress bar on
    stderr is not broken. Other warnings, subclasses of UserWarning included
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
                if said is not None:
                    if text in said:
                        continue
                    said.add(text)
                from tqdm.auto import tqdm  # not at import: the commands' --help stays light

                tqdm.write(f"note: {text}", file=sys.stderr)
