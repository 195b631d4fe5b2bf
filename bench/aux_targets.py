"""Auxiliary targets: does training the SE network on finer PTB-XL labels too help superdiagnostic?

A lever outside issue 8's list, measured as its levers are. The reference
network of ``ecgsk_ptbxl`` (:func:`network`, the ablation's reference row) is
trained on the 5 superdiagnostic labels and, beside them, the labels of a
finer task of the same records (``subdiagnostic``: 23 classes,
``diagnostic``: 44 statements, ``all``: 71 statements; columns with no
positive training record are left out). Only the 5 superdiagnostic outputs
are scored; the extra outputs share the network's features and loss
(BCE over every column) and are dropped at prediction. Each variant is
trained with ``--seeds`` and its seeds averaged, as ``ecgsk_ptbxl`` averages
its networks.

Records and splits are ``bench/quality.py``'s: train on folds 1-8, the
networks validate on fold 9, scored on fold 10, or, with ``--select``, on
fold 9 (the split that chooses). Each variant is compared with the plain
network (``none``) by a paired bootstrap on the same records. With
``--ensemble``, each is also put into ``ecgsk_ptbxl``'s default ensemble in
place of its three SE networks, blended with the saved ``quality.py`` rows
of the other members (the ResNet, MiniRocket + ridge and the features
member; run them first, as the printed message says), four equal votes.

``--member resnet`` gives the auxiliary targets to the ensemble's other
network instead, its ResNet (resnet1d_wang, one seed), blended with the saved
rows of the three SE networks, MiniRocket and the features member.

Fitted networks' probabilities are kept under ``--out-dir`` and reused on a
rerun (delete them after a change inside ``ecgsk``)::

    python bench/aux_targets.py --data ../shared/data --select --ensemble --threads 1
    python bench/aux_targets.py --data ../shared/data --aux subdiagnostic --ensemble
    python bench/aux_targets.py --data ../shared/data --member resnet --aux subdiagnostic \
        --select --ensemble --threads 1
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blend_rows  # noqa: E402
from _common import add_data_argument, require_data  # noqa: E402
import quality  # noqa: E402

from ecgsk._argtypes import positive_int  # noqa: E402
from ecgsk._threads import limit_threads  # noqa: E402
from ecgsk.compare._data import fit_final, fit_targets, load_dataset  # noqa: E402
from ecgsk.metrics import bootstrap_ci, macro_auroc, paired_bootstrap  # noqa: E402

AUX_TASKS = ("subdiagnostic", "diagnostic", "all")
#: The other members of ecgsk_ptbxl's default ensemble, as rows of bench/quality.py, for
#: each network member that is given auxiliary targets.
OTHER_MEMBERS = {
    "seresnet": ("ResNet (resnet1d_wang), same protocol", "MiniRocket + ridge (peer)",
                 "+ 12-lead beat templates (HGB alone)"),
    "resnet": ("3 seeds averaged", "MiniRocket + ridge (peer)",
               "+ 12-lead beat templates (HGB alone)"),
}


def auxiliary_labels(data, root, aux_task):
    """The ``aux_task`` labels of ``data``'s records and their names, with training positives only.

    Records without a label of ``aux_task`` (none here: every record with a
    superdiagnostic label has a diagnostic statement) get all-zero rows.
    """
    ds = data.ds
    aux = load_dataset("ptbxl", aux_task, root, 100)
    where = {os.fspath(p): i for i, p in enumerate(aux.X)}
    y_aux = fit_targets(aux)
    Y = np.zeros((len(ds.X), y_aux.shape[1]), dtype=y_aux.dtype)
    found = np.array([os.fspath(p) in where for p in ds.X])
    Y[found] = y_aux[[where[os.fspath(p)] for p in ds.X[found]]]
    keep = Y[data.plan.train].sum(axis=0) > 0
    return Y[:, keep], np.asarray(aux.classes)[keep]


def member(name, seed):
    """``ecgsk_ptbxl``'s network member ``name`` ("seresnet" or "resnet"), seeded."""
    module = quality.load_pipeline_module("ecgsk_ptbxl")
    if name == "resnet":  # the member the ensemble builds, with its defaults
        return dict(module.make_pipeline(members=("resnet",), random_state=seed).estimators)[
            "resnet"]
    return module.network(random_state=seed)


def fit_variant(data, root, aux_task, seed, path, network="seresnet"):
    """Superdiagnostic probabilities on the scored records of one seed of one variant."""
    y = data.y if aux_task == "none" else np.hstack([data.y,
                                                     auxiliary_labels(data, root, aux_task)[0]])
    return fit_saved(lambda: member(network, seed), data, y, path)


def fit_saved(make_estimator, data, y, path):
    """Fit ``make_estimator()`` on ``y`` and keep its superdiagnostic probabilities at ``path``.

    Returns the probabilities of the scored records (the first
    ``data.y.shape[1]`` outputs), the training minutes and the machine; a
    fit saved at ``path`` is returned without fitting.
    """
    if path.exists():
        with np.load(path) as f:
            return f["proba"], float(f["minutes"]), str(f["machine"])
    X = data.signals("own", 100, 1000)
    start = time.perf_counter()
    est, _ = fit_final(make_estimator(), X, y, data.plan)
    minutes = (time.perf_counter() - start) / 60
    proba = est.predict_proba(X[data.plan.test])[:, :data.y.shape[1]]
    machine = quality.machine()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npz")  # a crash leaves no torn fit behind
    np.savez(partial, proba=proba, minutes=minutes, machine=machine)
    os.replace(partial, path)
    return proba, minutes, machine


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--aux", nargs="+", choices=AUX_TASKS, default=list(AUX_TASKS))
    parser.add_argument("--member", choices=sorted(OTHER_MEMBERS), default="seresnet",
                        help="the network member given the auxiliary targets: the SE "
                             "networks (3 seeds in the ensemble) or the ResNet (1)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="default: 0 1 2 for seresnet, 0 for resnet, as the ensemble")
    add_variant_arguments(parser, "aux_targets")
    return parser


def add_variant_arguments(parser, name):
    """The options of a script comparing network variants inside the ensemble.

    ``--select``, ``--ensemble``, ``--threads``, ``--n-boot``,
    ``--cache-dir`` and ``--out-dir`` (default
    ``bench/results/quality_runs/<name>``).
    """
    parser.add_argument("--select", action="store_true", help="score fold 9, not fold 10")
    parser.add_argument("--ensemble", action="store_true",
                        help="also blend each variant with the saved rows of the other members")
    parser.add_argument("--threads", type=positive_int, default=None)
    parser.add_argument("--n-boot", type=positive_int, default=1000)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out-dir", default=str(quality.ROOT / "bench" / "results"
                                                 / "quality_runs" / name))


def other_members(data, member, select):
    """Test probabilities of the saved ``quality.py`` rows of the ensemble's other members."""
    rows = [blend_rows.find_row("superdiagnostic", name) for name in OTHER_MEMBERS[member]]
    saved = Path(quality.ROOT / "bench" / "results" / "quality_runs"
                 / ("select" if select else "shared"))
    return [blend_rows.load_row(row, data, "cpu", saved) for row in rows]


def print_table(title, probas, minutes, y, others, n_boot):
    """Each variant's macro AUROC against ``"none"``'s, alone and blended with ``others``."""
    print(f"| {title} | network, seeds averaged | vs none | "
          + ("ensemble | vs ensemble with none | " if others else "") + "train min |")
    print("|---|---|---|" + ("---|---|" if others else "") + "---:|")
    for name, proba in probas.items():
        cells = [name, ci_cell(y, proba, n_boot),
                 versus_cell(y, proba, probas["none"], n_boot, name)]
        if others:
            blend, plain = (np.mean([p, *others], axis=0) for p in (proba, probas["none"]))
            cells += [ci_cell(y, blend, n_boot), versus_cell(y, blend, plain, n_boot, name)]
        print("| " + " | ".join(cells) + f" | {minutes[name]:.1f} |", flush=True)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_data(parser, args)
    from ecgsk.cache import default_cache_dir

    data = quality.Data("superdiagnostic", args.data, None,
                        args.cache_dir or default_cache_dir(), select=args.select)
    seeds = args.seeds or ([0, 1, 2] if args.member == "seresnet" else [0])
    others = other_members(data, args.member, args.select) if args.ensemble else None
    split = "fold 9 (--select)" if args.select else "fold 10"
    root = Path(args.data) / "ptb-xl" if (Path(args.data) / "ptb-xl").exists() else Path(args.data)
    out_dir = Path(args.out_dir) / ("select" if args.select else "shared")
    print(f"superdiagnostic on {split}, {len(data.y_test)} records; {args.member} seeds {seeds}")
    prefix = "" if args.member == "seresnet" else f"{args.member}__"
    probas, minutes, machines = {}, {}, set()
    with limit_threads(args.threads):
        for aux_task in ["none", *args.aux]:
            fits = [fit_variant(data, root, aux_task, seed, out_dir / (
                f"{prefix}{aux_task}__seed{seed}__{data.test_records}.npz"), args.member)
                    for seed in seeds]
            probas[aux_task] = np.mean([p for p, _, _ in fits], axis=0)
            minutes[aux_task] = sum(m for _, m, _ in fits)
            machines.update(machine.rpartition(", load ")[0] for _, _, machine in fits)
    print_table("auxiliary targets", probas, minutes, data.y_test, others, args.n_boot)
    print(f"\nFitted on: {'; '.join(sorted(machines))}. Command: python bench/aux_targets.py "
          + " ".join(argv if argv is not None else sys.argv[1:]))


def ci_cell(y, proba, n_boot):
    """Macro AUROC of ``proba`` with its bootstrap 95% interval, as a table cell."""
    point, low, high = bootstrap_ci(macro_auroc, y, proba, n_boot=n_boot, random_state=0)
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def versus_cell(y, proba, other, n_boot, variant):
    """Paired bootstrap of ``proba`` against ``other`` as a table cell (none for the baseline)."""
    if variant == "none":
        return ""
    t = paired_bootstrap(macro_auroc, y, proba, other, n_boot=n_boot, random_state=0)
    return f"{t['diff']:+.3f} [{t['low']:+.3f}, {t['high']:+.3f}], p={t['p_value']:.3f}"


if __name__ == "__main__":
    main()
