"""What per-epoch checkpoints cost a network's training (``ECGNetClassifier(checkpoint_dir=)``).

Trains the network of ``ecgsk_ptbxl`` (``SEResNeXt1d``, small preset) with
its validation split on synthetic 12 x 1,000 records, with and without
``checkpoint_dir``, interleaved (off, on, then on, off, ...) so that machine
load drifts hit both alike, and compares the medians of the whole ``fit``.
The "on" side also hashes the data and parameters (the fit's fingerprint)
and writes the training state at every epoch's end. Also reported: the size
of one checkpoint file. A ratio near 1.0 means checkpoints cost nothing
worth turning them off for.

Usage::

    python bench/bench_checkpoint.py --n-records 512 --epochs 3 --repeats 3 \\
        --markdown bench/results/checkpoint.md
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import torch_machine  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ecgsk._argtypes import positive_int  # noqa: E402


SIZES = []


def _fit(X, y, epochs, folder):
    from skorch.callbacks import Callback

    from ecgsk.nets import SEResNeXt1d
    from ecgsk.neural import ECGNetClassifier

    class Watch(Callback):
        """At an epoch's end, the size of the checkpoint the epoch before left."""

        def on_epoch_end(self, net, **kwargs):
            if folder is not None and os.path.isdir(folder):
                SIZES.extend(os.path.getsize(os.path.join(folder, f))
                             for f in os.listdir(folder))

    class Watched(ECGNetClassifier):
        # Not a parameter (callbacks=): the fit's fingerprint must hash.
        def initialize_callbacks(self):
            super().initialize_callbacks()
            self.callbacks_.insert(len(self.callbacks_) - 1, ("watch", Watch()))
            return self

    net = Watched(SEResNeXt1d, module__preset="small", max_epochs=epochs, batch_size=64,
                  lr=3e-3, random_state=0, checkpoint_dir=folder)
    start = time.perf_counter()
    net.fit(X, y)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-records", type=positive_int, default=512)
    parser.add_argument("--epochs", type=positive_int, default=3)
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--markdown", default=None, help="write the result here too")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.n_records, 12, 1000)).astype(np.float32)
    y = rng.integers(0, 5, args.n_records)
    times = {"off": [], "on": []}
    _fit(X[:128], y[:128], 1, None)  # warm-up, not timed
    for k in range(args.repeats):
        order = ("off", "on") if k % 2 == 0 else ("on", "off")
        for side in order:
            with tempfile.TemporaryDirectory() as folder:
                times[side].append(_fit(X, y, args.epochs, folder if side == "on" else None))
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    machine = ", ".join(f"{k}: {v}" for k, v in torch_machine().items())
    lines = [
        f"`python bench/bench_checkpoint.py --n-records {args.n_records} --epochs "
        f"{args.epochs} --repeats {args.repeats} --threads {args.threads}`",
        "",
        f"Machine: {machine}.",
        "",
        "| checkpoints | fit s (median) | runs | ratio to off |",
        "|---|---:|---|---:|",
        f"| off | {off:.2f} | {', '.join(f'{t:.2f}' for t in times['off'])} | 1.00 |",
        f"| on | {on:.2f} | {', '.join(f'{t:.2f}' for t in times['on'])} | {on / off:.3f} |",
        "",
        f"One checkpoint file: {max(SIZES) / 2**20:.1f} MiB (weights, AdamW state, "
        "early stopping's best weights, history, generators)." if SIZES else
        "No checkpoint file was seen: the checkpoints were not written.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
