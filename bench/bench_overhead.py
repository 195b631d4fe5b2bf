"""Training throughput of ECGNetClassifier against a plain PyTorch loop.

Both sides train the same module (``ecgsk.nets.ECGCNN``, 0.82 M parameters,
by default) from the same initial weights on the same synthetic data
(2,048 records of 12 x 1,000 samples, 5 classes), with batch size 64,
shuffling, AdamW (lr 1e-4, weight decay 1e-4) and cross-entropy, for the same
number of epochs, on the CPU with ``torch.set_num_threads(2)``.

- The plain loop: ``DataLoader(TensorDataset(X, y), shuffle=True)``;
  per batch ``zero_grad``, forward, loss, backward, ``step`` and
  ``loss.item()`` (the loss is logged, as any real loop does).
- ECGNetClassifier: ``train_split=None`` (no validation), ``patience=None``,
  ``lr_patience=None``, ``grad_clip=None``, ``verbose=0``. What stays on is
  skorch's bookkeeping: the per-batch history records and callback
  notifications, the EpochTimer, the train/valid loss PassthroughScoring,
  the (idle without validation) valid_acc EpochScoring and the silent
  PrintLog, plus the estimator's input validation (``check_signals``,
  target encoding) and module/optimizer set-up, all timed as part of
  ``fit``.

Runs are interleaved (plain, skorch, then skorch, plain, ...) so that
machine load drifts hit both alike; the medians are compared. A ratio of at
least 0.95 (skorch throughput / plain throughput) is the target.

On a shared machine the wall-clock ratio is noisy, so the script also
measures the bookkeeping cost per batch directly: both loops around a
near-free module (mean pooling + linear), where data loading is the same on
both sides and the difference is the framework's own cost (best of
``--tiny-repeats`` runs per side, fixed costs of ``fit`` included).

Usage::

    python bench/bench_overhead.py --repeats 5 --epochs 1 \\
        --markdown bench/results/overhead.md
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import torch_machine  # noqa: E402
from ecgsk._argtypes import positive_int  # noqa: E402


def machine_description():
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("n/a",)
    return {**torch_machine(),
            "load average (1, 5, 15 min)": ", ".join(f"{v:.2f}" for v in load)}


def make_data(n, n_leads, n_samples, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.normal(0.0, 1.0, (n, n_leads, n_samples)).astype(np.float32)
    X[:, 0] += 0.5 * y[:, None]
    return X, y


class PoolNet(torch.nn.Module):
    """A near-free module (pooling + linear), to expose per-batch bookkeeping."""

    def __init__(self, in_channels=12, n_classes=5):
        super().__init__()
        self.head = torch.nn.Linear(in_channels, n_classes)

    def forward(self, x):
        return self.head(x.mean(dim=-1))


def _module_class(name):
    from ecgsk.nets import ECGCNN, SEResNeXt1d

    return {"ecgcnn": ECGCNN, "seresnext-small": SEResNeXt1d, "pool": PoolNet}[name]


def _module_kwargs(name):
    return {"preset": "small"} if name == "seresnext-small" else {}


def build_module(name, n_leads, n_classes):
    return _module_class(name)(in_channels=n_leads, n_classes=n_classes, **_module_kwargs(name))


def run_plain(model_name, X, y, epochs, batch_size, seed):
    torch.manual_seed(seed)
    start = time.perf_counter()
    module = build_module(model_name, X.shape[1], int(y.max()) + 1)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4, weight_decay=1e-4)
    criterion = torch.nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(torch.as_tensor(X), torch.as_tensor(y)),
                        batch_size=batch_size, shuffle=True)
    losses = []
    module.train()
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(module(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    elapsed = time.perf_counter() - start
    return elapsed, float(np.mean(losses[-len(loader):]))


def run_skorch(model_name, X, y, epochs, batch_size, seed):
    from ecgsk.neural import ECGNetClassifier

    extra = {f"module__{k}": v for k, v in _module_kwargs(model_name).items()}
    net = ECGNetClassifier(
        _module_class(model_name), max_epochs=epochs, batch_size=batch_size, lr=1e-4, device="cpu",
        train_split=None, patience=None, lr_patience=None, grad_clip=None,
        verbose=0, **extra)
    torch.manual_seed(seed)
    start = time.perf_counter()
    # random_state=None: the module is initialised from torch's global
    # generator, seeded just above as for the plain loop.
    net.fit(X, y)
    elapsed = time.perf_counter() - start
    return elapsed, float(net.history[-1, "train_loss"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["ecgcnn", "seresnext-small"], default="ecgcnn")
    parser.add_argument("--n-records", type=positive_int, default=2048)
    parser.add_argument("--epochs", type=positive_int, default=1)
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--tiny-repeats", type=positive_int, default=11,
                        help="runs per side of the near-free module measurement")
    parser.add_argument("--markdown", default=None, help="write the results to this file")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    X, y = make_data(args.n_records, 12, 1000, 5)
    n_params = sum(p.numel() for p in build_module(args.model, 12, 5).parameters())
    before = machine_description()

    # warm-up (kernel selection, allocator) on a few batches, not timed
    run_plain(args.model, X[:128], y[:128], 1, args.batch_size, 0)
    run_skorch(args.model, X[:128], y[:128], 1, args.batch_size, 0)

    times = {"plain": [], "skorch": []}
    final_loss = {}
    for r in range(args.repeats):
        order = ("plain", "skorch") if r % 2 == 0 else ("skorch", "plain")
        for which in order:
            fn = run_plain if which == "plain" else run_skorch
            elapsed, loss = fn(args.model, X, y, args.epochs, args.batch_size, seed=r)
            times[which].append(elapsed)
            final_loss[which] = loss
            print(f"repeat {r} {which:6s} {elapsed:8.2f} s "
                  f"{args.n_records * args.epochs / elapsed:8.1f} samples/s", flush=True)

    # Bookkeeping cost per batch: the same two loops around a near-free module
    # (data loading and collation are the same on both sides), best of
    # --tiny-repeats each; short runs, so the minimum is robust to machine load.
    tiny = {"plain": [], "skorch": []}
    for r in range(args.tiny_repeats):
        for which in ("plain", "skorch") if r % 2 == 0 else ("skorch", "plain"):
            fn = run_plain if which == "plain" else run_skorch
            tiny[which].append(fn("pool", X, y, 1, args.batch_size, seed=r)[0])
    n_batches = -(-args.n_records // args.batch_size)
    per_batch = {k: min(v) / n_batches for k, v in tiny.items()}
    extra_ms = 1e3 * (per_batch["skorch"] - per_batch["plain"])
    model_ms = 1e3 * statistics.median(times["plain"]) / (n_batches * args.epochs)

    throughput = {k: [args.n_records * args.epochs / t for t in v] for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in throughput.items()}
    ratio = med["skorch"] / med["plain"]
    paired = [p / s for p, s in zip(times["plain"], times["skorch"])]
    after = machine_description()

    lines = [
        f"model: {args.model} ({n_params / 1e6:.2f} M parameters); data: "
        f"{args.n_records} x 12 x 1000 float32, 5 classes; batch size {args.batch_size}; "
        f"{args.epochs} epoch(s) per run; {args.repeats} interleaved repeats",
        f"plain PyTorch loop : median {med['plain']:8.1f} samples/s "
        f"(runs: {', '.join(f'{v:.1f}' for v in throughput['plain'])})",
        f"ECGNetClassifier   : median {med['skorch']:8.1f} samples/s "
        f"(runs: {', '.join(f'{v:.1f}' for v in throughput['skorch'])})",
        f"ratio (ECGNetClassifier / plain, medians): {ratio:.3f}  (target >= 0.95)",
        f"ratio per interleaved pair: median {statistics.median(paired):.3f}, "
        f"min {min(paired):.3f}, max {max(paired):.3f}",
        f"last-epoch train loss: plain {final_loss['plain']:.4f}, "
        f"skorch {final_loss['skorch']:.4f}",
        f"bookkeeping per batch (near-free module, best of {args.tiny_repeats}): plain "
        f"{1e3 * per_batch['plain']:.2f} ms, skorch {1e3 * per_batch['skorch']:.2f} ms, "
        f"extra {extra_ms:.2f} ms per batch = {100 * extra_ms / model_ms:.2f} % of the "
        f"{model_ms:.0f} ms a {args.model} batch takes here",
    ]
    print("\n".join(lines))
    machine = "\n".join(f"- {k}: {v}" for k, v in before.items())
    print(machine)
    print(f"- load average after: {after['load average (1, 5, 15 min)']}")

    if args.markdown:
        command = "python bench/bench_overhead.py " + " ".join(
            argv if argv is not None else sys.argv[1:])
        with open(args.markdown, "w") as f:
            f.write("# ECGNetClassifier training overhead vs a plain PyTorch loop\n\n")
            f.write(f"Command (from the repository root):\n\n```\n{command}\n```\n\n")
            f.write("Machine (load average measured before and after the runs):\n\n")
            f.write(machine + "\n")
            f.write(f"- load average after: {after['load average (1, 5, 15 min)']}\n\n")
            f.write("What is on in ECGNetClassifier: see the docstring of "
                    "`bench/bench_overhead.py` (no validation split, no early stopping, "
                    "no LR schedule, no gradient clipping; skorch's history and callback "
                    "bookkeeping, input validation and set-up are timed).\n\n")
            f.write("Output:\n\n```\n" + "\n".join(lines) + "\n```\n")
    return ratio


if __name__ == "__main__":
    main()
