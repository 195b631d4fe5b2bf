"""Benchmark of WFDBLoader against a plain loop of ``wfdb.rdsamp``.

Times, in one run and on the same records (every PTB-XL 100 Hz record under
``--data``):

a. a plain Python loop of ``wfdb.rdsamp`` (the baseline);
b. ``WFDBLoader(n_jobs=1)`` without cache;
c. ``WFDBLoader(n_jobs=2)``, loky processes (the default), with the start of
   the worker processes, then again with the workers already started;
d. ``WFDBLoader(n_jobs=2)`` under ``joblib.parallel_config(backend="threading")``;
e. the first load with ``cache_dir`` (cold: reads and writes the cache);
f. the second load from the cache (warm);
g. the check of every header's text that (b) to (e) make (the sampling
   rate against what wfdb read, ADC gains), alone: its share of (b) is what
   it adds to an uncached load.

It prints a markdown table with the wall seconds, the speed-up against (a),
the CPU seconds used (this process and its joblib workers: on a busy machine
they show what the wall time would be on an idle one), the peak memory
allocated by (a), (b) and (f) (tracemalloc, in a separate untimed pass), and
the machine with its load average.

Usage, from the repository root::

    python bench/bench_loader.py --data /path/to/ptb-xl [--out bench/results/loader.md]
"""

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import joblib
import numpy as np
import wfdb

from ecgsk.preprocessing import WFDBLoader
from ecgsk.preprocessing._loader import _check_header_fields


def _records(data):
    listing = data / "RECORDS"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text().splitlines()]
        records = [str(data / n) for n in names if n.startswith("records100/")]
    else:
        records = sorted(str(p.with_suffix("")) for p in (data / "records100").rglob("*.hea"))
    if not records:
        sys.exit(f"no PTB-XL 100 Hz records under {data}")
    return records


def _peak_mib():
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _cpu_seconds():
    """CPU seconds of this process and its live child processes (joblib workers).

    Wall time depends on what else the machine runs; CPU time much less so.
    Read from /proc (Linux); None elsewhere.
    """
    try:
        tick = os.sysconf("SC_CLK_TCK")
        pids = [os.getpid()]
        for task in os.listdir(f"/proc/{os.getpid()}/task"):
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                pids += [int(pid) for pid in f.read().split()]
        total = 0.0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        return total
    except (OSError, ValueError, AttributeError):
        return None


def _timed(label, func, rows):
    cpu = _cpu_seconds()
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    cpu_after = _cpu_seconds()
    cpu = None if cpu is None or cpu_after is None else cpu_after - cpu
    rows.append([label, seconds, cpu, None])
    print(f"{label}: {seconds:.2f} s", file=sys.stderr, flush=True)
    return result


def _traced_peak_mib(func):
    """Peak memory allocated by ``func`` in this process (numpy arrays included).

    Measured in a separate pass because tracing slows allocation down.
    """
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="PTB-XL folder")
    parser.add_argument("--out", type=Path, help="also write the markdown report here")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the tracemalloc pass over (a), (b) and (f)")
    args = parser.parse_args(argv)
    records = _records(args.data.resolve())
    load = os.getloadavg()
    rows = []

    def rdsamp_loop():
        return np.stack([wfdb.rdsamp(r)[0].T for r in records]).astype(np.float32)

    reference = _timed("(a) loop of wfdb.rdsamp", rdsamp_loop, rows)
    X = _timed("(b) WFDBLoader(n_jobs=1)", lambda: WFDBLoader().transform(records), rows)
    assert np.allclose(X, reference, atol=1e-6)
    del reference
    _timed("(c) WFDBLoader(n_jobs=2), processes, incl. worker start",
           lambda: WFDBLoader(n_jobs=2).transform(records), rows)
    _timed("(c') WFDBLoader(n_jobs=2), processes already started",
           lambda: WFDBLoader(n_jobs=2).transform(records), rows)

    def threads():
        with joblib.parallel_config(backend="threading"):
            return WFDBLoader(n_jobs=2).transform(records)

    _timed("(d) WFDBLoader(n_jobs=2), threads", threads, rows)
    with tempfile.TemporaryDirectory() as cache:
        _timed("(e) WFDBLoader(cache_dir=...), cold",
               lambda: WFDBLoader(cache_dir=cache).transform(records), rows)
        warm = _timed("(f) WFDBLoader(cache_dir=...), warm",
                      lambda: WFDBLoader(cache_dir=cache).transform(records), rows)
        assert np.array_equal(warm, X)
        del warm
        size = sum(p.stat().st_size for p in Path(cache).rglob("*") if p.is_file())
        _timed("(g) the header-text check alone, as (b) makes it",
               lambda: [_check_header_fields(r, f"{r}.hea", set(range(12)), fs=100.0)
                        for r in records], rows)
        if not args.no_memory:
            for row, func in [(0, rdsamp_loop), (1, lambda: WFDBLoader().transform(records)),
                              (6, lambda: WFDBLoader(cache_dir=cache).transform(records))]:
                rows[row][3] = _traced_peak_mib(func)

    base = rows[0][1]
    lines = [
        f"Command: `python {' '.join(sys.argv)}`",
        "",
        f"Records: {len(records)} PTB-XL records at 100 Hz, 12 leads x 1000 samples "
        f"(output {X.nbytes / 2**20:.0f} MiB float32; cache on disk {size / 2**20:.0f} MiB).",
        "",
        f"Machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, wfdb {wfdb.__version__}, "
        f"numpy {np.__version__}, joblib {joblib.__version__}; load average at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min). Peak RSS of "
        f"the whole run: {_peak_mib():.0f} MiB.",
        "",
        "| step | wall s | speed-up vs (a) | CPU s (process + workers) | "
        "peak allocated MiB (tracemalloc) |",
        "|---|---:|---:|---:|---:|",
    ]
    whole = rows[1][1]  # (b), of which (g) is a part: a share of it, not a speed-up

    def ratio(label, sec):
        return f"{sec / whole:.1%} of (b)" if label.startswith("(g)") else f"{base / sec:.1f}x"

    lines += [f"| {label} | {sec:.3f} | {ratio(label, sec)} | "
              f"{'n/a' if cpu is None else f'{cpu:.2f}'} | "
              f"{'' if peak is None else f'{peak:.0f}'} |"
              for label, sec, cpu, peak in rows]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
