"""Average the saved test probabilities of ``bench/quality.py`` rows, and compare rows.

``bench/quality.py`` saves each row's probabilities on the records it
scores. A weighted average of several rows is what a
:class:`~ecgsk.ensemble.SoftVotingEnsemble` of those pipelines predicts
(the same members, fitted the same way), so blending saved rows explores
ensembles and fusion weights without refitting; the chosen ensemble is then
run as a pipeline of its own. With ``--versus``, each blend (or a single
row) is compared with another row by a paired bootstrap on the same
records.

Rows are named by a part of their name in ``quality.py`` (its table or
``--ablation`` rows, one match each) and must have been run first, with
the same ``--select`` / ``--test-data`` and the same pipeline defaults::

    export ECGSK_DATA=../shared/data
    python bench/blend_rows.py --task af --select \\
        --rows "reference" "features + beat features (HGB)" --weights 1,1 1,1.5 1,2 1,3
    python bench/blend_rows.py --task superdiagnostic --rows IncepSE --versus InceptionTime

Two seeds against two seeds: ``--rows SEED0 SEED1 --versus OTHER0 OTHER1``
(both sides averaged equally).

PTB-XL's binary label is a function of the superclasses (normal: exactly
{NORM}), so ``--task binary --rows-task superdiagnostic`` scores
superdiagnostic rows on the binary task: their five probabilities become
one score of "abnormal" (``--derive``), and ``--versus`` names binary rows
fitted on the same records::

    python bench/blend_rows.py --task binary --rows-task superdiagnostic --select \
        --rows "3 seeds averaged" "12-lead beat templates (HGB" "MiniRocket + ridge" \
        "same protocol" --derive max-other not-only-norm --versus ecgsk_ptbxl
"""

import argparse
import itertools
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality  # noqa: E402
from _common import add_data_argument, require_data  # noqa: E402

from ecgsk._argtypes import nonneg_int  # noqa: E402
from ecgsk.metrics import bootstrap_ci, paired_bootstrap  # noqa: E402


def find_row(task, part):
    """The one row of ``task`` (table or ablation) named ``part``, or whose name contains it."""
    # A name in both (ecgsk_ptbxl of all and binary) is the table's row, whose gpu preset
    # the ablation's copy lacks.
    rows = {r.name: r for r in quality.ABLATION.get(task, []) + quality.ROWS.get(task, [])}
    found = [rows[part]] if part in rows else [r for name, r in rows.items() if part in name]
    if len(found) != 1:
        raise SystemExit(f"--rows/--versus {part!r} must name one row of {task!r}; it matches "
                         f"{[r.name for r in found]}. Rows: {sorted(rows)}")
    return found[0]


def load_row(row, data, preset, out_dir):
    """The saved probabilities of ``row``; exits if it is missing or stale."""
    path = quality.row_path(row, data.task, preset, out_dir)
    module = quality.load_pipeline_module(row.pipeline)
    if not path.exists():
        raise SystemExit(f"{row.name!r} has not been run with --preset {preset}: no {path}. "
                         "Run bench/quality.py with the same --preset/--select/--test-data "
                         "first.")
    proba, meta = quality.load_saved(path)
    why = quality.stale(meta, module, row.params(preset), data)
    if why:
        raise SystemExit(f"{path} {why}; rerun bench/quality.py for it.")
    return proba


#: Scores of "abnormal" from the superdiagnostic probabilities ``p`` (columns ``classes``).
DERIVE = {
    "not-norm": lambda p, norm: 1 - p[:, norm],
    "max-other": lambda p, norm: np.delete(p, norm, axis=1).max(axis=1),
    # 1 - P(NORM and no other superclass), the labels taken as independent
    "not-only-norm": lambda p, norm: 1 - p[:, norm] * np.prod(1 - np.delete(p, norm, axis=1),
                                                             axis=1),
}


def parse_weights(text, n_rows):
    weights = np.array([float(w) for w in text.split(",")])
    if weights.shape != (n_rows,) or np.any(weights < 0) or weights.sum() <= 0:
        raise SystemExit(f"--weights {text!r}: give {n_rows} non-negative numbers, "
                         "comma-separated, with a positive sum.")
    return weights / weights.sum()


def build_parser():
    """The command line of ``main``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True, choices=list(quality.TASKS))
    parser.add_argument("--rows-task", choices=["superdiagnostic"], default=None,
                        help="--rows are rows of this task (with --task binary): their "
                             "probabilities become a binary score by --derive")
    parser.add_argument("--derive", nargs="+", choices=sorted(DERIVE),
                        default=["not-only-norm"],
                        help="with --rows-task: scores of abnormal from the superclasses, "
                             "one line each")
    parser.add_argument("--rows", nargs="+", required=True, help="parts of row names")
    parser.add_argument("--weights", nargs="+", default=None,
                        help="one comma-separated weight list per blend (default: equal)")
    parser.add_argument("--versus", nargs="+", default=None,
                        help="compare with this row, or the equal average of these rows "
                             "(two seeds of a network), by a paired bootstrap")
    add_data_argument(parser)
    parser.add_argument("--test-data", default=None)
    parser.add_argument("--test-folds", nargs="+", type=int, default=None)  # as quality.py's
    parser.add_argument("--select", action="store_true")
    parser.add_argument("--preset", choices=("cpu", "gpu"), default=None,
                        help="the preset the rows were fitted with (default: quality.py's, "
                             "gpu when CUDA is available)")
    parser.add_argument("--n-boot", type=nonneg_int, default=1000)
    parser.add_argument("--per-class", action="store_true",
                        help="also a table of each class's AUROC, for every row and blend "
                             "(multi-label tasks)")
    parser.add_argument("--out-dir", default=str(quality.ROOT / "bench" / "results"
                                                 / "quality_runs"))
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_data(parser, args)
    if args.select and args.test_data:
        parser.error("--select scores validation records; it takes no --test-data")
    if args.rows_task and args.task != "binary":
        parser.error("--rows-task turns superdiagnostic rows into a binary score: "
                     "it needs --task binary")
    if args.per_class and (args.rows_task or quality.TASKS[args.task][0] != "ptbxl"
                           or args.task == "binary"):
        parser.error("--per-class tables the AUROC of each class of a multi-label task "
                     "(superdiagnostic, all), without --rows-task")
    # Row names are checked before any record is read.
    rows = [find_row(args.rows_task or args.task, part) for part in args.rows]
    versus = [find_row(args.task, part) for part in args.versus or []]
    out_dir = Path(args.out_dir) / ("external" if args.test_data
                                    else "select" if args.select else "shared")
    data = quality.Data(args.task, args.data, args.test_data, None, select=args.select,
                        test_folds=args.test_folds)
    own = data  # the records and labels the rows were fitted for
    if args.rows_task:
        own = quality.Data(args.rows_task, args.data, args.test_data, None, select=args.select,
                           test_folds=args.test_folds)
        if own.test_records != data.test_records:
            raise SystemExit(f"{args.rows_task} and {args.task} score different records.")
    if args.preset is None:  # as quality.py chose it
        import torch

        args.preset = "gpu" if torch.cuda.is_available() else "cpu"
    probas = [load_row(row, own, args.preset, out_dir) for row in rows]
    # The blend is the ensemble's probabilities; a binary score is derived from them.
    derivations = {name: DERIVE[name] for name in args.derive} if args.rows_task else {"": None}
    other = (np.mean([load_row(row, data, args.preset, out_dir) for row in versus], axis=0)
             if versus else None)
    versus_name = " + ".join(row.name for row in versus) + (
        " (equal average)" if len(versus) > 1 else "")

    def metric(y, p):
        return quality.score(args.task, y, p, data.classes)

    rows_text = "; ".join(r.name for r in rows)
    if args.rows_task:
        rows_text = f"{args.rows_task} rows: {rows_text}"
    print(f"{args.task}, {len(data.y_test)} records ({out_dir.name}); rows: {rows_text}")
    blends = []
    for text, (name, derive) in itertools.product(args.weights or [",".join(["1"] * len(rows))],
                                                  derivations.items()):
        w = parse_weights(text, len(rows))
        blend = sum(wi * p for wi, p in zip(w, probas))
        blends.append((f"weights {text}", blend))
        if derive is not None:
            blend = derive(blend, own.classes.index("NORM"))
        point, low, high = bootstrap_ci(metric, data.y_test, blend, n_boot=args.n_boot,
                                        random_state=0)
        line = f"weights {text}{f', {name}' if name else ''}: {point:.3f} [{low:.3f}, {high:.3f}]"
        if other is not None:
            t = paired_bootstrap(metric, data.y_test, blend, other, n_boot=args.n_boot,
                                 random_state=0)
            line += (f"; vs {versus_name}: {t['diff']:+.3f} [{t['low']:+.3f}, "
                     f"{t['high']:+.3f}], p={t['p_value']:.3f}")
        print(line, flush=True)
    if args.per_class:
        named = [(row.name, p) for row, p in zip(rows, probas)] + blends
        if other is not None:
            named.append((versus_name, other))
        print(per_class_table(data.y_test, named, data.classes))


def per_class_table(y, named, classes):
    """A markdown table of each class's AUROC (and the macro mean) for ``(name, proba)`` pairs.

    A class with one label value among ``y`` has no AUROC ("-") and is left out of the
    mean, as :func:`ecgsk.metrics.macro_auroc` does.
    """
    from ecgsk.metrics import per_class_auroc

    lines = ["| | " + " | ".join(classes) + " | macro |", "|---" * (len(classes) + 2) + "|",
             "| positives | " + " | ".join(str(int(n)) for n in np.sum(y, axis=0)) + " | |"]
    for name, proba in named:
        aucs = per_class_auroc(y, proba)
        cells = ["-" if np.isnan(a) else f"{a:.3f}" for a in aucs]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {np.nanmean(aucs):.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
