"""Speed of the feature transformers of ecgsk.features on PTB-XL-sized records.

For each transformer it times ``fit`` and ``transform`` on ``--n-records``
records of 12 leads x 1000 samples (10 s at 100 Hz, PTB-XL's low-rate
format) and reports seconds per 1,000 records, both wall time and the CPU
time of this process (threads included). CPU time depends much less on what
else the machine runs; with ``n_jobs=2`` the QRS detection runs in joblib
worker processes whose CPU time is not counted (shown as "-").

The records are real PTB-XL records read with ``WFDBLoader`` from
``--data`` (the PTB-XL folder; by default ``$ECGSK_DATA/ptb-xl``); without
data it falls back to ``make_synthetic_ecg`` and says so in the output.

With PTB-XL's 500 Hz copies present, it also counts the beats each QRS
detector finds at 100 Hz against GQRS at 500 Hz on the same recordings,
the measurement behind ``RhythmFeatures``' default detector.

Usage, from the repository root::

    python bench/bench_features.py --data ../shared/data/ptb-xl \
        [--n-records 1000] [--out bench/results/features.md]
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor
from sklearn.pipeline import FeatureUnion

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_name  # noqa: E402
from ecgsk._argtypes import positive_int  # noqa: E402

from ecgsk.features import (
    BeatFeatures,
    BeatTemplate,
    RandomConvFeatures,
    RhythmFeatures,
    StatisticalFeatures,
    WaveletFeatures,
    _rhythm,
)


def machine():
    cpu = cpu_name()
    import sklearn
    import torch
    import wfdb

    return (f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, numpy "
            f"{np.__version__}, scikit-learn {sklearn.__version__}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), wfdb {wfdb.__version__}")


def load_average():
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def load_records(data, n_records):
    if data is not None and (Path(data) / "ptbxl_database.csv").is_file():
        from ecgsk.datasets import load_ptbxl
        from ecgsk.preprocessing import WFDBLoader

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = load_ptbxl(data, task="superdiagnostic")
        paths = ds.X[:n_records]
        X = WFDBLoader(n_jobs=2).fit_transform(paths)
        return X, (f"{len(X)} real PTB-XL records (100 Hz, the first in "
                   f"ptbxl_database.csv order) from {data}")
    from ecgsk.datasets import make_synthetic_ecg

    X, _ = make_synthetic_ecg(n_records=n_records, n_leads=12, sampling_rate=100,
                              seconds=10, n_classes=5, random_state=0)
    return X, (f"{len(X)} synthetic records (make_synthetic_ecg, 12 x 1000 at 100 Hz): "
               "no PTB-XL folder was given")


def detector_agreement(data):
    """Beats per record on lead II: each detector at 100 Hz against GQRS at 500 Hz.

    PTB-XL ships both rates for the same recordings; the subset has 500 Hz
    copies of ecg_id <= 200. Returns markdown lines, or [] without them.
    """
    import wfdb
    from wfdb import processing

    if data is None:
        return []
    heads = sorted((Path(data) / "records500").rglob("*_hr.hea"))
    if not heads:
        return []
    rows = {"GQRS (RhythmFeatures default)": [], "XQRS on the 100 Hz signal (wfdb as is)": [],
            "XQRS resampled to 250 Hz (RhythmFeatures detector='xqrs')": []}
    for head in heads:
        hr = str(head.with_suffix(""))
        lr = hr.replace("records500", "records100").replace("_hr", "_lr")
        ref = processing.gqrs_detect(wfdb.rdsamp(hr, channel_names=["II"])[0][:, 0], fs=500)
        x = wfdb.rdsamp(lr, channel_names=["II"])[0][:, 0]
        n_ref = len(ref)
        counts = [
            RhythmFeatures(sampling_rate=100, nan_policy="keep").fit_transform(x[None])[0, 0],
            len(processing.xqrs_detect(x, fs=100, verbose=False)),
            RhythmFeatures(sampling_rate=100, detector="xqrs",
                           nan_policy="keep").fit_transform(x[None])[0, 0],
        ]
        for key, n in zip(rows, counts):
            rows[key].append(n - n_ref)
    lines = ["", f"## QRS detectors at 100 Hz: beats per record against GQRS at 500 Hz "
             f"(lead II, {len(heads)} PTB-XL records with both rates)", "",
             "| detector at 100 Hz | mean abs. difference | mean difference | records off by > 2 |",
             "|---|---:|---:|---:|"]
    for key, diff in rows.items():
        diff = np.asarray(diff, dtype=float)
        lines.append(f"| {key} | {np.abs(diff).mean():.2f} | {diff.mean():+.2f} | "
                     f"{int((np.abs(diff) > 2).sum())} |")
    return lines


def timed(fn):
    """``fn()``, its wall and CPU seconds, with no QRS detection cached before.

    The cache (``ecgsk.features._rhythm``) is per process: it is cleared
    here, and the joblib workers are replaced by fresh ones, started untimed.
    """
    _rhythm.clear_qrs_cache()
    get_reusable_executor().shutdown(wait=True)
    Parallel(n_jobs=2)(delayed(abs)(i) for i in range(4))
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("ECGSK_DATA")
    parser.add_argument("--data", default=str(Path(default) / "ptb-xl") if default else None)
    parser.add_argument("--n-records", type=positive_int, default=1000)
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)

    X, source = load_records(args.data, args.n_records)
    scale = 1000 / len(X)
    transformers = [
        ("StatisticalFeatures(sampling_rate=100)", StatisticalFeatures(sampling_rate=100), 1),
        ("WaveletFeatures() (db6, level 5)", WaveletFeatures(), 1),
        ("RhythmFeatures(detector='gqrs', lead=1)",
         RhythmFeatures(sampling_rate=100, lead=1, detector="gqrs"), 1),
        ("RhythmFeatures(detector='gqrs', lead=1, n_jobs=2)",
         RhythmFeatures(sampling_rate=100, lead=1, detector="gqrs", n_jobs=2), 2),
        ("BeatFeatures(detector='gqrs', lead=1)",
         BeatFeatures(sampling_rate=100, lead=1, detector="gqrs"), 1),
        ("BeatTemplate(detector='gqrs', lead=1) (12 leads)",
         BeatTemplate(sampling_rate=100, lead=1, detector="gqrs"), 1),
        ("RhythmFeatures + BeatFeatures (FeatureUnion; one QRS detection)",
         FeatureUnion([("rhythm", RhythmFeatures(sampling_rate=100, lead=1)),
                       ("beats", BeatFeatures(sampling_rate=100, lead=1))]), 1),
        ("RhythmFeatures(detector='xqrs', lead=1)",
         RhythmFeatures(sampling_rate=100, lead=1, detector="xqrs"), 1),
        ("RandomConvFeatures(n_kernels=10000)",
         RandomConvFeatures(n_kernels=10_000, random_state=0), 1),
        ("RandomConvFeatures(n_kernels=10000, n_jobs=2)",
         RandomConvFeatures(n_kernels=10_000, random_state=0, n_jobs=2), 2),
    ]
    load_start = load_average()
    for _, est, _ in transformers:  # untimed warm-up: imports, worker start, caches
        est.fit(X[:8]).transform(X[:8])
    rows = []
    for name, est, n_jobs in transformers:
        _, fit_wall, fit_cpu = timed(lambda: est.fit(X))
        F, tr_wall, tr_cpu = timed(lambda: est.transform(X))
        cpu = n_jobs == 1 or isinstance(est, RandomConvFeatures)  # threads are counted
        rows.append((name, F.shape[1], fit_wall * scale, fit_cpu * scale if cpu else None,
                     tr_wall * scale, tr_cpu * scale if cpu else None))
        print(f"done: {name}", file=sys.stderr, flush=True)

    def fmt(v):
        return "-" if v is None else f"{v:.1f}"

    lines = [
        "## Feature transformers: seconds per 1,000 records (12 leads x 1000 samples)",
        "",
        f"Input: {source}.",
        "",
        "| transformer | features | fit wall s | fit CPU s | transform wall s | transform CPU s |",
        "|---|---:|---:|---:|---:|---:|",
    ] + [f"| {n} | {k} | {fmt(a)} | {fmt(b)} | {fmt(c)} | {fmt(d)} |" for n, k, a, b, c, d in rows]
    lines += detector_agreement(args.data)
    lines += ["", "The hand-crafted transformers compute the features in `fit` too (to learn the "
              "imputation medians), so their fit and transform times are alike; "
              "`fit_transform` computes them once.", "",
              "Each transformer is fitted and applied once on 8 records before the timed "
              "runs (imports, joblib workers).", "",
              f"Machine: {machine()}; load average (1/5/15 min) {load_start} at the start, "
              f"{load_average()} at the end.", "",
              f"Command: `python {' '.join(sys.argv)}`"]
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n")


if __name__ == "__main__":
    main()
