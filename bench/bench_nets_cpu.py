"""CPU training throughput of the networks of ecgsk.nets.

For each network, in its default and a small configuration, time full
training steps (forward, cross-entropy, backward, AdamW step) on random
12-lead records of 1000 samples (PTB-XL at 100 Hz), batch 64, with
``torch.set_num_threads(2)``: warm-up steps, then timed steps until
``--min-steps`` steps and ``--budget`` seconds are both reached (at most
``--max-steps``); the best (shortest) timed step counts, as in ``timeit``,
since other processes on a shared machine only ever slow a step down. The
50-layer networks get one warm-up and two timed steps on a batch of
``--heavy-batch`` (16) records to keep the run near five minutes. Prints a
Markdown report: parameters, batch, seconds per step, samples per second
and the ratio to ResNet1d (default) measured in the same run, plus the
machine.

Usage::

    python bench/bench_nets_cpu.py                       # everything (~5 min idle)
    python bench/bench_nets_cpu.py --only ResNet1d DualNet
    python bench/bench_nets_cpu.py --output bench/results/nets_cpu.md
"""

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import torch_machine  # noqa: E402
from ecgsk._argtypes import positive_int  # noqa: E402

from ecgsk.nets import (
    ECGCNN,
    DualNet,
    IncepSE,
    InceptionTime1d,
    ResNet1d,
    SEResNeXt1d,
    TimmNet,
)

LEADS, SAMPLES, BATCH, N_CLASSES = 12, 1000, 64, 5

#: (network, configuration, factory, heavy). Heavy ones get fewer steps.
CONFIGS = [
    ("ResNet1d", "default (resnet1d_wang)", lambda: ResNet1d(LEADS, N_CLASSES), False),
    ("ResNet1d", "small: channels=64", lambda: ResNet1d(LEADS, N_CLASSES, channels=64), False),
    ("ECGCNN", "default", lambda: ECGCNN(LEADS, N_CLASSES), False),
    ("ECGCNN", "small: filters=(32, 64, 128, 256), dense=(128, 64)",
     lambda: ECGCNN(LEADS, N_CLASSES, filters=(32, 64, 128, 256), dense=(128, 64)), False),
    ("InceptionTime1d", "default", lambda: InceptionTime1d(LEADS, N_CLASSES), False),
    ("InceptionTime1d", "small: n_filters=16, depth=3, bottleneck=16",
     lambda: InceptionTime1d(LEADS, N_CLASSES, n_filters=16, depth=3, bottleneck=16), False),
    ("IncepSE", "default", lambda: IncepSE(LEADS, N_CLASSES), False),
    ("IncepSE", "small: n_filters=16, depth=3, bottleneck=16",
     lambda: IncepSE(LEADS, N_CLASSES, n_filters=16, depth=3, bottleneck=16), False),
    ("SEResNeXt1d", 'default (preset="50")', lambda: SEResNeXt1d(LEADS, N_CLASSES), True),
    ("SEResNeXt1d", 'preset="50", se=False',
     lambda: SEResNeXt1d(LEADS, N_CLASSES, se=False), True),
    ("SEResNeXt1d", 'small (preset="small")',
     lambda: SEResNeXt1d(LEADS, N_CLASSES, preset="small"), False),
    ("SEResNeXt1d", 'preset="small", se=False',
     lambda: SEResNeXt1d(LEADS, N_CLASSES, preset="small", se=False), False),
    ("DualNet", "default", lambda: DualNet(LEADS, N_CLASSES), False),
    ("DualNet", "default, se=False", lambda: DualNet(LEADS, N_CLASSES, se=False), False),
    ("DualNet", "small: channels=(16, 32, 64, 64), lstm 32->64 x1",
     lambda: DualNet(LEADS, N_CLASSES, channels=(16, 32, 64, 64), lstm_input=32,
                     lstm_hidden=64, lstm_layers=1), False),
    ("TimmNet", 'default ("seresnext50_32x4d", 36-row image)',
     lambda: TimmNet("seresnext50_32x4d", LEADS, N_CLASSES), True),
    ("TimmNet", '"seresnext50_32x4d", min_height=1 (12 rows)',
     lambda: TimmNet("seresnext50_32x4d", LEADS, N_CLASSES, min_height=1), True),
    ("TimmNet", 'small: "resnet10t"', lambda: TimmNet("resnet10t", LEADS, N_CLASSES), False),
]


def machine():
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {**torch_machine(), "load average (1/5/15 min) at start": load}


def time_training(net, *, batch, warmup, min_steps, max_steps, budget, seed=0):
    """Seconds of the fastest timed training step, and the number of timed steps."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, LEADS, SAMPLES, generator=g)
    y = torch.randint(0, N_CLASSES, (batch,), generator=g)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net.train()

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < max_steps and (len(times) < min_steps
                                      or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return min(times), len(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="network names to run (ResNet1d is always run)")
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--min-steps", type=positive_int, default=3)
    parser.add_argument("--max-steps", type=positive_int, default=10)
    parser.add_argument("--budget", type=float, default=4.0,
                        help="seconds of timed steps per configuration (light ones)")
    parser.add_argument("--heavy-batch", type=positive_int, default=16,
                        help="batch size for the 50-layer networks")
    parser.add_argument("--output", help="also write the report to this Markdown file")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info = machine()
    unknown = sorted(set(args.only or ()) - {c[0] for c in CONFIGS})
    if unknown:
        parser.error(f"--only: unknown network(s) {', '.join(unknown)}; choose among "
                     f"{', '.join(sorted({c[0] for c in CONFIGS}))}.")
    configs = [c for c in CONFIGS
               if not args.only or c[0] in args.only or c[1].startswith("default (resnet1d")]

    rows, reference = [], None
    for name, config, factory, heavy in configs:
        net = factory()
        n_params = sum(p.numel() for p in net.parameters())
        batch = args.heavy_batch if heavy else BATCH
        sec, steps = time_training(
            net,
            batch=batch,
            warmup=1 if heavy else args.warmup,
            min_steps=2 if heavy else args.min_steps,
            max_steps=2 if heavy else args.max_steps,
            budget=0.0 if heavy else args.budget,
        )
        rate = batch / sec
        if reference is None:
            reference = rate  # the first row is ResNet1d (default)
        rows.append((name, config, n_params, batch, sec, steps, rate, rate / reference))
        print(f"{name:16s} {config:48s} {n_params:>11,d} params  batch {batch:3d}  "
              f"{sec:7.3f} s/step ({steps} steps)  {rate:8.1f} samples/s  "
              f"x{rate / reference:.2f}", file=sys.stderr, flush=True)
        del net
    info["load average (1/5/15 min) at end"] = " / ".join(
        f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"

    lines = [
        "# CPU training throughput of ecgsk.nets",
        "",
        f"Training steps (forward, cross-entropy, backward, AdamW) on random "
        f"{LEADS}-lead records of {SAMPLES} samples, batch {BATCH}, {N_CLASSES} classes, "
        f"`torch.set_num_threads({args.threads})`. Light configurations: "
        f"{args.warmup} warm-up step(s), then timed steps until at least "
        f"{args.min_steps} steps and {args.budget:g} s (at most {args.max_steps}); "
        f"the 50-layer nets: batch {args.heavy_batch}, 1 warm-up and 2 timed steps. "
        "s / step is the fastest timed step; samples / s = batch / (s / step); "
        "the ratio is to ResNet1d (default) in the same run.",
        "",
        "| network | configuration | parameters | batch | s / step | timed steps "
        "| samples / s | ratio to ResNet1d |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, config, n_params, batch, sec, steps, rate, ratio in rows:
        lines.append(f"| {name} | {config} | {n_params:,} | {batch} | {sec:.3f} | "
                     f"{steps} | {rate:.1f} | {ratio:.2f} |")
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", "bench/bench_nets_cpu.py", *given])
    lines += ["", f"Command: `{command}`", "", "Machine:", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        with open(args.output, "w") as f:
            f.write(report)
    return rows


if __name__ == "__main__":
    main()
