"""Helpers shared by the readers."""

import os
import warnings
from pathlib import Path

from .._validation import check_bool

__all__ = ["check_root", "resolve_root", "report_dropped"]


#: A file only each dataset has, and the sub-folders its reader also tries. (PTB
#: Diagnostic's reader looks for RECORDS, which most PhysioNet folders have.)
_MARKERS = {"ptbxl": ("ptbxl_database.csv", ()),
            "cinc2017": ("REFERENCE.csv", ("training2017", "training")),
            "ptbdb": ("patient001/s0010_re.hea", ())}


def check_root(root, name):
    """``root`` as an absolute Path; a clear error for None or a file.

    Symbolic links are kept, so that messages and hints name the folders as
    the user typed them, not where links lead; a path with ``..`` is
    resolved, as the system reads it (``link/..`` is the link target's
    parent).
    """
    if root is None:
        raise ValueError(f"root must be a folder of {name} records, got None.")
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be the path of a folder of {name} records (a str or "
                        f"path-like), got {type(root).__name__} {root!r}.")
    typed = Path(root).expanduser()
    # ".." after a link goes up from where the link leads, as the system reads it.
    path = typed.resolve() if ".." in typed.parts else Path(os.path.abspath(typed))
    if path.is_file():
        raise NotADirectoryError(f"root must be a folder of {name} records; {path} is a file.")
    return path


def resolve_root(root, *, marker, name, download, subdirs=()):
    """Find the folder under ``root`` that holds ``marker``, downloading if asked.

    ``subdirs`` are tried below ``root`` in order, then ``root`` itself.
    """
    check_bool(download, name="download")  # "no" would start a download
    root = check_root(root, name)
    candidates = [root / s for s in subdirs] + [root]
    for cand in candidates:
        if (cand / marker).is_file():
            return cand
    if download:
        from ._download import download as _download

        _download(name, root)
        for cand in candidates:
            if (cand / marker).is_file():
                return cand
    where = " or ".join(str(c / marker) for c in candidates)
    other = next((other for other, (mark, subs) in _MARKERS.items() if other != name
                  and any((root / s / mark).is_file() for s in (*subs, "."))), None)
    nearby = _nearby_folder(root, marker, subdirs, name)
    if nearby is not None:
        hint = f" {nearby}"
    elif other:
        hint = (f" It holds {other} records, not {name} ones: point at the {name} folder, "
                f"or read this one as {other}.")
    else:
        hint = (f" Point at the folder that holds it, or download {name} there: "
                f"`python -m ecgsk.datasets download {name} {root}` (download=True in Python).")
    raise FileNotFoundError(f"no {name} data at {root}: {where} does not exist.{hint}")


def _nearby_folder(root, marker, subdirs, name):
    """A folder near ``root`` that holds ``name``'s data, as a hint's text, or None.

    A data root one level too high (``data/``, PTB-XL in ``data/ptb-xl``)
    or too deep (PTB-XL's ``records100/``) is a common slip; naming the
    folder beats suggesting a download of data that is there (or, deep
    inside a dataset, a second copy of it). Children are tried first, then
    the parent and grandparent. ``_MARKERS[name]`` counts too (a PTB
    Diagnostic subset may lack ``RECORDS``); a folder that holds another
    dataset's marker is passed over (PTB-XL also ships a ``RECORDS`` file).
    """
    def holds(folder, mark, subs):
        return any((folder / s / mark).is_file() for s in (*subs, "."))

    def holds_it(folder):
        return (holds(folder, marker, subdirs) or holds(folder, *_MARKERS[name])) and not any(
            holds(folder, mark, subs) for other, (mark, subs) in _MARKERS.items()
            if other != name)

    try:
        children = sorted(c for c in root.iterdir() if c.is_dir())
    except OSError:
        children = []
    below = next((child for child in children if holds_it(child)), None)
    if below is not None:
        return f"It is in {below}: point at that folder."
    above = next((parent for parent in list(root.parents)[:2] if holds_it(parent)), None)
    if above is not None:
        return f"It is in {above}, above this folder: point at that folder."
    return None


def report_dropped(name, dropped, total, examples=None):
    """Warn once about records left out, so nothing is dropped silently.

    ``examples`` maps a reason to the records it left out; the warning names
    the first three of each.
    """
    dropped = {k: v for k, v in dropped.items() if v}
    if dropped:
        def part(reason, n):
            shown = list((examples or {}).get(reason, ()))[:3]
            more = ", ..." if n > len(shown) else ""
            return f"{n} {reason}" + (f": {', '.join(map(str, shown))}{more}" if shown else "")

        parts = "; ".join(part(reason, n) for reason, n in dropped.items())
        warnings.warn(f"{name}: left out {sum(dropped.values())} of {total} records ({parts}).",
                      UserWarning, stacklevel=3)
    return dropped
