"""Transfer from CinC 2017: does pretraining the SE network on 7,000 rhythm records help PTB-XL?

A lever outside issue 8's list, measured as its levers are. PTB-XL's
shared training folds hold about 1,100 records; the shared CinC 2017
folder holds 7,000 single-lead records of another task (normal, AF, other
rhythm, noisy). The SE network of ``ecgsk_ptbxl`` (:func:`network`, the
ablation's reference row) is first trained on the CinC records: their
first 9 s (every CinC record is at least that long) resampled to PTB-XL's
100 Hz, on the same random 2.5 s crops with augmentation, cross-entropy
over the 4 classes, early stopping on a random tenth. Its weights then
start the PTB-XL network, whose stem convolution takes the single-lead
kernels averaged over the 12 leads; the output layer starts afresh. The
PTB-XL training is the reference recipe, unchanged.

Records and splits are ``bench/quality.py``'s: train on folds 1-8, the
networks validate on fold 9, scored on fold 10, or, with ``--select``, on
fold 9 (the split that chooses). Each seed is pretrained and fine-tuned
with its own seed, the seeds averaged as ``ecgsk_ptbxl`` averages its
networks, and compared with the plain network (the ``none`` rows of
``bench/aux_targets.py``, the same estimator, reused where saved) by a
paired bootstrap on the same records. With ``--ensemble``, both are blended
with the saved ``quality.py`` rows of the other members, as
``bench/aux_targets.py --ensemble`` does.

The pretrained weights and the fitted networks' probabilities are kept
under ``--out-dir`` and reused on a rerun (delete them after a change
inside ``ecgsk``)::

    python bench/pretrain_cinc.py --data ../shared/data --select --ensemble --threads 2
    python bench/pretrain_cinc.py --data ../shared/data --select --ensemble --threads 2 \
        --fine-tune-lr 3e-4
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aux_targets  # noqa: E402
from _common import add_data_argument, require_data  # noqa: E402
import quality  # noqa: E402

from ecgsk._threads import limit_threads  # noqa: E402
from ecgsk.compare._data import fit_targets, load_dataset, load_signals  # noqa: E402
from ecgsk.nets import SEResNeXt1d  # noqa: E402

#: CinC 2017 input of the pretraining: 9 s (the shortest record) at PTB-XL's 100 Hz.
PRETRAIN_RATE, PRETRAIN_LENGTH = 100, 900


class PretrainedSEResNeXt1d(SEResNeXt1d):
    """:class:`~ecgsk.nets.SEResNeXt1d` started from the weights saved at ``weights``.

    Every tensor of matching shape is copied. A stem convolution saved for
    fewer input leads is averaged over them and repeated for each lead;
    the output layer (another number of classes) keeps its fresh start.
    """

    def __init__(self, in_channels=12, n_classes=5, *, weights=None, **kwargs):
        super().__init__(in_channels, n_classes, **kwargs)
        self.weights = weights
        if weights is None:
            return
        saved = torch.load(weights, map_location="cpu", weights_only=True)
        own = self.state_dict()
        stem = "stem.0.weight"
        if stem in saved and saved[stem].shape[1] != own[stem].shape[1]:
            kernel = saved[stem].mean(dim=1, keepdim=True)
            saved[stem] = kernel.repeat(1, own[stem].shape[1], 1)
        kept = {k: v for k, v in saved.items() if k in own and v.shape == own[k].shape}
        self.load_state_dict(kept, strict=False)


def pretrain(data_root, cache_dir, seed, path):
    """Train the SE network on the CinC 2017 records and save its weights at ``path``."""
    if path.exists():
        with np.load(path.with_suffix(".npz")) as f:
            return float(f["minutes"])
    module = quality.load_pipeline_module("ecgsk_ptbxl")
    root = Path(data_root) / "cinc2017"
    ds = load_dataset("cinc2017", "af", root if root.exists() else Path(data_root), 300)
    X = load_signals(ds.X, sampling_rate=PRETRAIN_RATE, length=PRETRAIN_LENGTH,
                     cache_dir=cache_dir)
    est = module.network(random_state=seed)  # early stopping on a random tenth
    start = time.perf_counter()
    est.fit(X, fit_targets(ds))
    minutes = (time.perf_counter() - start) / 60
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.pt")
    torch.save(est[-1].module_.state_dict(), partial)
    np.savez(path.with_suffix(".npz"), minutes=minutes,
             epochs=len(est[-1].history), machine=quality.machine())
    os.replace(partial, path)
    return minutes


def pretrained_network(seed, weights, lr=None):
    """``ecgsk_ptbxl``'s SE network, seeded, started from the weights at ``weights``.

    ``lr`` replaces the recipe's learning rate for the fine-tuning (None keeps it).
    """
    est = quality.load_pipeline_module("ecgsk_ptbxl").network(random_state=seed)
    if lr is not None:
        est.set_params(net__lr=lr)
    return est.set_params(net__module=PretrainedSEResNeXt1d,
                          net__module__weights=os.fspath(weights))


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--fine-tune-lr", type=float, default=None, metavar="LR",
                        help="learning rate of the training on PTB-XL after the pretraining "
                             "(default: the recipe's)")
    aux_targets.add_variant_arguments(parser, "pretrain_cinc")
    parser.add_argument("--baseline-dir", default=str(quality.ROOT / "bench" / "results"
                                                      / "quality_runs" / "aux_targets"),
                        help="where bench/aux_targets.py keeps the plain network's fits")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_data(parser, args)
    if args.fine_tune_lr is not None and not args.fine_tune_lr > 0:
        parser.error(f"--fine-tune-lr must be positive, got {args.fine_tune_lr}")
    from ecgsk.cache import default_cache_dir

    cache_dir = args.cache_dir or default_cache_dir()
    data = quality.Data("superdiagnostic", args.data, None, cache_dir, select=args.select)
    others = aux_targets.other_members(data, "seresnet", args.select) if args.ensemble else None
    split = "fold 9 (--select)" if args.select else "fold 10"
    root = Path(args.data) / "ptb-xl" if (Path(args.data) / "ptb-xl").exists() else Path(args.data)
    sub = "select" if args.select else "shared"
    out_dir, base_dir = Path(args.out_dir), Path(args.baseline_dir) / sub
    print(f"superdiagnostic on {split}, {len(data.y_test)} records; seeds {args.seeds}")
    lr_tag = "" if args.fine_tune_lr is None else f"__lr{args.fine_tune_lr:g}"
    probas, minutes, machines = {"none": [], "cinc2017": []}, {"none": 0.0, "cinc2017": 0.0}, set()
    with limit_threads(args.threads):
        for seed in args.seeds:
            fit = aux_targets.fit_variant(
                data, root, "none", seed, base_dir / f"none__seed{seed}__{data.test_records}.npz")
            weights = out_dir / f"weights__seed{seed}.pt"
            pre_minutes = pretrain(args.data, cache_dir, seed, weights)
            tuned = aux_targets.fit_saved(
                lambda: pretrained_network(seed, weights, args.fine_tune_lr), data, data.y,
                out_dir / sub / f"cinc2017{lr_tag}__seed{seed}__{data.test_records}.npz")
            for name, (proba, mins, machine) in (("none", fit), ("cinc2017", tuned)):
                probas[name].append(proba)
                minutes[name] += mins + (pre_minutes if name == "cinc2017" else 0.0)
                machines.add(machine.rpartition(", load ")[0])
    probas = {name: np.mean(p, axis=0) for name, p in probas.items()}
    aux_targets.print_table("pretraining", probas, minutes, data.y_test, others, args.n_boot)
    print(f"\nFitted on: {'; '.join(sorted(machines))}. Command: python bench/pretrain_cinc.py "
          + " ".join(argv if argv is not None else sys.argv[1:]))


if __name__ == "__main__":
    main()
