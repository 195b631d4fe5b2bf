"""What ecgsk keeps on disk between runs, and how to reclaim the space.

``python -m ecgsk.compare``, ``python -m ecgsk.tune``, ``bench/quality.py``
and :class:`~ecgsk.preprocessing.WFDBLoader` (given a ``cache_dir``) keep
in one folder (``--cache-dir``, else ``$ECGSK_CACHE``, else
``~/.cache/ecgsk/signals``):

- ``signals``: decoded records (``ecgsk-wfdb-v2/entries``; an older
  version's folder, which no loader reads any more, is pruned like it), read
  again from their WFDB files when missing;
- ``checkpoints``: the training state of networks whose fit was interrupted
  (``checkpoints/ecgnet-*.pt``), which a rerun resumes from; removed when
  the fit ends;
- ``final fits``: a comparison's final fit
  (``checkpoints/compare-final-<run id>.pkl``), kept until its run finishes;
- ``partial``: files that a killed writer left half written, never read.

A checkpoint or final fit that no rerun will resume (after ``--fresh``, or
once the code or parameters changed) is never removed by the run that
wrote it: ``python -m ecgsk.cache prune --older-than DAYS`` removes what
was not used for ``DAYS`` days (and, pruning signals, drops from the
signal cache's index the records whose files are gone), and ``python -m
ecgsk.cache info`` shows what the folder holds.

Examples
--------
>>> from ecgsk.cache import cache_info, prune_cache                 # doctest: +SKIP
>>> cache_info()                                                     # doctest: +SKIP
             files       bytes  newest_days  oldest_days
kind
signals      21837   261361152     0.010417     6.927083
checkpoints      2    84021337    12.500000    14.000000
final fits       1    42010668    20.000000    20.000000
partial          0           0          NaN          NaN
>>> removed = prune_cache(older_than=7, kinds=["checkpoints", "final fits"])  # doctest: +SKIP
"""

from ._cache import (
    KINDS,
    CacheFile,
    cache_info,
    default_cache_dir,
    prune_cache,
    prune_index,
    scan_cache,
)
from ._cli import build_parser, main

__all__ = ["scan_cache", "cache_info", "prune_cache", "prune_index", "CacheFile", "KINDS",
           "default_cache_dir", "main", "build_parser"]
