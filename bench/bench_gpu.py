"""GPU training benchmark: AMP against fp32, seconds per PTB-XL-sized epoch, share of peak.

Random 12-lead records of 1000 samples (PTB-XL at 100 Hz), 5 classes, for
``ecgsk.nets.SEResNeXt1d`` (preset ``--preset``, "50" by default) and
``ecgsk.nets.IncepSE`` (default arguments):

1. **Training throughput, fp32 against AMP.** A plain PyTorch loop on one
   batch of ``--batch`` (256) records already on the device, so that only
   the training step is timed, with the step logic of
   ``ECGNetClassifier.train_step`` at its defaults: forward under
   ``torch.autocast`` (float16 or bfloat16; none for fp32), logits cast to
   float32, cross-entropy, backward (through a ``GradScaler`` for float16 on
   CUDA, unscaled before clipping), gradient-norm clipping at 1.0, AdamW
   (lr 1e-4, weight decay 1e-4). ``torch.backends.cudnn.benchmark = True``;
   the other precision flags are left at torch's defaults (listed under
   *Machine*: cuDNN may use TF32 in the fp32 convolutions). ``--warmup``
   untimed steps, then ``--repeats`` blocks of ``--steps`` steps, each
   between two ``torch.cuda.synchronize()``; the fastest block counts, as in
   ``timeit``. The ratio AMP / fp32 of samples per second is the target
   (>= 2x). fp16 AMP is only run on CUDA (on the CPU autocast is bfloat16).
2. **Seconds per epoch on a PTB-XL-sized set.** ``ECGNetClassifier.fit``
   with ``max_epochs=1``, ``valid_size=None``, ``batch_size=--batch``,
   ``amp=True``, ``amp_dtype=--amp-dtype`` and otherwise its defaults, on
   ``--n-records`` (17,000) synthetic records held in host memory as
   float32; the epoch time is skorch's ``history[-1, "dur"]``. A first,
   untimed fit on one full batch plus the final partial batch selects the
   cuDNN kernels for both batch shapes. The report compares the epoch with
   ``n_records / samples per second`` of part 1 (the pure compute time):
   the rest is data loading, host-to-device copies and skorch's bookkeeping.
3. **Share of the bf16 peak.** The FLOPs of one training step (forward and
   backward at ``--batch``, counted by ``torch.utils.flop_counter.
   FlopCounterMode``: convolutions and matrix products, not the elementwise
   work), divided by the seconds per AMP step of part 1, as TFLOP/s and as a
   percentage of ``--peak-tflops`` (790 by default).

``--device cpu`` runs the same code on the CPU (bfloat16 autocast) as a
smoke test. Prints a Markdown report, with the machine, and writes it to
``--out``.

Usage::

    python bench/bench_gpu.py --out bench/results/gpu.md          # the H200 run
    OMP_NUM_THREADS=1 python bench/bench_gpu.py --device cpu --batch 4 \\
        --n-records 16 --steps 1 --warmup 1 --preset small          # smoke test
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import torch_machine  # noqa: E402

from ecgsk._argtypes import nonneg_int, positive_int
from ecgsk.nets import IncepSE, SEResNeXt1d
from ecgsk.neural import ECGNetClassifier

LEADS, SAMPLES, N_CLASSES = 12, 1000, 5
LR, WEIGHT_DECAY, GRAD_CLIP = 1e-4, 1e-4, 1.0  # ECGNetClassifier's defaults
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def networks(preset):
    """(name, configuration, module class, module kwargs) of the networks to run."""
    return [
        ("SEResNeXt1d", f'preset="{preset}"', SEResNeXt1d, {"preset": preset}),
        ("IncepSE", "default", IncepSE, {}),
    ]


def precisions(device, amp_dtype):
    """(label, autocast dtype or None) to time: fp32, then AMP (``amp_dtype`` first)."""
    if torch.device(device).type != "cuda":
        return [("fp32", None), ("AMP bfloat16", torch.bfloat16)]
    order = [amp_dtype] + [d for d in DTYPES if d != amp_dtype]
    return [("fp32", None)] + [(f"AMP {d}", DTYPES[d]) for d in order]


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def machine(device):
    info = torch_machine()
    if torch.device(device).type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update({
            "gpu": f"{props.name}, {props.total_memory / 2**30:.0f} GiB, "
                   f"compute capability {props.major}.{props.minor}, "
                   f"{props.multi_processor_count} SMs",
            "CUDA (torch build)": torch.version.cuda,
            "cuDNN": torch.backends.cudnn.version(),
            "cudnn.benchmark": torch.backends.cudnn.benchmark,
            "cudnn.allow_tf32 (fp32 convolutions)": torch.backends.cudnn.allow_tf32,
            "cuda.matmul.allow_tf32 (fp32 matmuls)": torch.backends.cuda.matmul.allow_tf32,
        })
        try:
            smi = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,power.limit",
                 "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
            if smi.returncode == 0 and smi.stdout.strip():
                info["nvidia-smi (driver, max SM clock, power limit)"] = \
                    smi.stdout.strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError):
            pass
    return info


def random_batch(batch, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, LEADS, SAMPLES, generator=g)
    y = torch.randint(0, N_CLASSES, (batch,), generator=g)
    return x.to(device), y.to(device)


def make_step(net, x, y, device, dtype):
    """One training step as ECGNetClassifier.train_step does it (see the docstring)."""
    device_type = torch.device(device).type
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    scaler = (torch.amp.GradScaler("cuda")
              if device_type == "cuda" and dtype == torch.float16 else None)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device_type, dtype=dtype or torch.float32,
                            enabled=dtype is not None):
            logits = net(x)
        loss = F.cross_entropy(logits.float(), y)
        if scaler is None:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)
            scaler.step(opt)
            scaler.update()

    return step


def time_training(factory, *, batch, device, dtype, warmup, steps, repeats):
    """Seconds per step (fastest block of ``steps``) and peak device memory in GiB."""
    torch.manual_seed(0)
    net = factory().to(device).train()
    x, y = random_batch(batch, device)
    step = make_step(net, x, y, device, dtype)
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        step()
    sync(device)
    blocks = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        blocks.append((time.perf_counter() - t0) / steps)
    memory = (torch.cuda.max_memory_allocated(device) / 2**30
              if torch.device(device).type == "cuda" else None)
    del net, step, x, y
    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()
    return min(blocks), memory


def count_step_flops(factory, *, batch, device):
    """FLOPs of one forward + backward (cross-entropy) on a batch of ``batch``."""
    torch.manual_seed(0)
    net = factory().to(device).train()
    x, y = random_batch(batch, device)
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(net(x), y).backward()
    del net, x, y
    return counter.get_total_flops()


def synthetic_records(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, LEADS, SAMPLES), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, n)
    return X, y


def time_epoch(module, kwargs, X, y, *, batch, device, amp_dtype):
    """skorch's ``dur`` of one ECGNetClassifier epoch, and the wall time of that fit."""
    def classifier():
        return ECGNetClassifier(
            module, max_epochs=1, batch_size=batch, valid_size=None, device=device,
            amp=True, amp_dtype=amp_dtype, random_state=0, verbose=0,
            **{f"module__{k}": v for k, v in kwargs.items()})

    n = len(X)
    n_warm = min(n, batch + n % batch)  # one full batch and the final partial one
    classifier().fit(X[:n_warm], y[:n_warm])
    sync(device)
    clf = classifier()
    t0 = time.perf_counter()
    clf.fit(X, y)
    sync(device)
    return float(clf.history[-1, "dur"]), time.perf_counter() - t0


def log(message):
    print(message, file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda",
                        help='"cuda" (default), "cuda:N", or "cpu" for a smoke test')
    parser.add_argument("--batch", type=positive_int, default=256)
    parser.add_argument("--n-records", type=positive_int, default=17000,
                        help="records of the epoch of part 2 (PTB-XL: about 17,000 for training)")
    parser.add_argument("--steps", type=positive_int, default=50,
                        help="timed steps per block (part 1)")
    parser.add_argument("--warmup", type=nonneg_int, default=10,
                        help="untimed steps first (part 1)")
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="timed blocks per measurement; the fastest counts (part 1)")
    parser.add_argument("--preset", default="50", help='SEResNeXt1d preset ("50", "26", "small")')
    parser.add_argument("--amp-dtype", choices=sorted(DTYPES), default="bfloat16",
                        help="AMP dtype of parts 2 and 3 (ECGNetClassifier's amp_dtype)")
    parser.add_argument("--peak-tflops", type=float, default=790.0,
                        help="dense bf16 peak of the card in TFLOP/s (H200: about 790)")
    parser.add_argument("--skip-epoch", action="store_true", help="skip part 2")
    parser.add_argument("--out", help="also write the report to this Markdown file")
    args = parser.parse_args(argv)

    device = args.device
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"bench_gpu.py: --device {device} asked for, but CUDA is not available "
                 f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}). "
                 "Run on a GPU machine, or pass --device cpu for a smoke test.")
    torch.backends.cudnn.benchmark = True
    info = machine(device)
    nets = networks(args.preset)
    precs = precisions(device, args.amp_dtype)
    amp_label = f"AMP {args.amp_dtype}" if torch.device(device).type == "cuda" \
        else "AMP bfloat16"

    # 1. throughput, fp32 against AMP
    throughput = []  # (name, config, params, label, sec, rate, ratio, memory)
    rates = {}
    for name, config, module, kwargs in nets:
        factory = (lambda m=module, kw=kwargs: m(LEADS, N_CLASSES, **kw))
        n_params = sum(p.numel() for p in factory().parameters())
        for label, dtype in precs:
            sec, memory = time_training(factory, batch=args.batch, device=device, dtype=dtype,
                                        warmup=args.warmup, steps=args.steps,
                                        repeats=args.repeats)
            rate = args.batch / sec
            rates[name, label] = (sec, rate)
            ratio = rate / rates[name, "fp32"][1]
            throughput.append((name, config, n_params, label, sec, rate, ratio, memory))
            log(f"{name:12s} {label:14s} {sec * 1e3:9.2f} ms/step  {rate:10.1f} samples/s  "
                f"x{ratio:.2f} vs fp32")

    # 3. FLOPs per step and share of the peak (uses the AMP timings of part 1)
    flops = []  # (name, config, flops, sec, tflops, share)
    for name, config, module, kwargs in nets:
        factory = (lambda m=module, kw=kwargs: m(LEADS, N_CLASSES, **kw))
        total = count_step_flops(factory, batch=args.batch, device=device)
        sec = rates[name, amp_label][0]
        tflops = total / sec / 1e12
        flops.append((name, config, total, sec, tflops, 100 * tflops / args.peak_tflops))
        log(f"{name:12s} {total / 1e9:10.1f} GFLOP/step  {tflops:8.2f} TFLOP/s "
            f"({100 * tflops / args.peak_tflops:.2f} % of {args.peak_tflops:g})")
    largest = max(flops, key=lambda r: r[2])[0]

    # 2. seconds per PTB-XL-sized epoch through ECGNetClassifier
    epochs = []  # (name, config, dur, wall, compute, ratio)
    if not args.skip_epoch:
        X, y = synthetic_records(args.n_records)
        for name, config, module, kwargs in nets:
            dur, wall = time_epoch(module, kwargs, X, y, batch=args.batch, device=device,
                                   amp_dtype=args.amp_dtype)
            compute = args.n_records / rates[name, amp_label][1]
            epochs.append((name, config, dur, wall, compute, dur / compute))
            log(f"{name:12s} epoch {dur:8.2f} s (fit {wall:.2f} s), compute only "
                f"{compute:.2f} s, x{dur / compute:.2f}")
        del X, y

    report = render(args, argv, info, throughput, epochs, flops, largest, amp_label)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    return throughput, epochs, flops


def render(args, argv, info, throughput, epochs, flops, largest, amp_label):
    cuda = torch.device(args.device).type == "cuda"
    lines = [
        "# GPU training benchmark of ecgsk.nets" if cuda
        else "# GPU training benchmark of ecgsk.nets (CPU smoke run)",
        "",
        f"Random {LEADS}-lead records of {SAMPLES} samples, {N_CLASSES} classes, batch "
        f"{args.batch}, device `{args.device}`. See the docstring of `bench/bench_gpu.py` "
        "for the method.",
        "",
        "## 1. Training throughput, fp32 against AMP",
        "",
        f"Plain loop with ECGNetClassifier's step logic on one batch on the device; "
        f"{args.warmup} warm-up steps, then the fastest of {args.repeats} blocks of "
        f"{args.steps} steps. Ratio: samples / s over those of fp32 for the same network "
        "(target >= 2 for AMP).",
        "",
        "| network | configuration | parameters | precision | ms / step | samples / s "
        "| ratio to fp32 | peak memory (GiB) |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, config, n_params, label, sec, rate, ratio, memory in throughput:
        mem = "n/a" if memory is None else f"{memory:.2f}"
        lines.append(f"| {name} | {config} | {n_params:,} | {label} | {sec * 1e3:.2f} | "
                     f"{rate:.1f} | {ratio:.2f} | {mem} |")
    lines += ["", "## 2. Seconds per epoch on a PTB-XL-sized set", ""]
    if epochs:
        lines += [
            f"`ECGNetClassifier.fit` on {args.n_records:,} synthetic records, "
            f"`max_epochs=1`, `valid_size=None`, `amp=True`, `amp_dtype=\"{args.amp_dtype}\"`"
            ", other parameters at their defaults. Epoch: skorch's `dur`; fit: wall time of "
            f"the whole `fit`. Compute only: {args.n_records:,} / samples per second of "
            f"{amp_label} in part 1; the ratio is epoch / compute only.",
            "",
            "| network | configuration | epoch (s) | fit (s) | compute only (s) "
            "| epoch / compute only |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for name, config, dur, wall, compute, ratio in epochs:
            lines.append(f"| {name} | {config} | {dur:.2f} | {wall:.2f} | {compute:.2f} | "
                         f"{ratio:.2f} |")
    else:
        lines.append("Skipped (`--skip-epoch`).")
    lines += [
        "",
        f"## 3. Share of the bf16 peak ({args.peak_tflops:g} TFLOP/s)",
        "",
        f"FLOPs of one training step (forward + backward, batch {args.batch}) counted by "
        "`FlopCounterMode` (convolutions and matrix products), over the seconds per "
        f"{amp_label} step of part 1. Largest model (FLOPs per step): {largest}.",
        "",
        "| network | configuration | GFLOP / step | ms / step | TFLOP/s | % of peak |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, config, total, sec, tflops, share in flops:
        lines.append(f"| {name} | {config} | {total / 1e9:,.1f} | {sec * 1e3:.2f} | "
                     f"{tflops:.2f} | {share:.2f} |")
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", "bench/bench_gpu.py", *given])
    lines += ["", f"Command: `{command}`", "", "Machine:", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
