"""Model quality of ecgsk's pipelines against the peers of issue 8, one command.

Trains every row's named pipeline on the shared records and scores it on
records it has never seen, by the published protocol:

- PTB-XL (Strodthoff et al. 2020): train on ``strat_fold`` 1-8, validate
  (networks' early stopping and learning-rate schedule) on fold 9, test on
  fold 10.
- CinC 2017: a fixed stratified 20% hold-out (``random_state=0``; records
  carry no patient id).
- ``--test-data`` scores another root instead: every record whose patient
  (CinC 2017: the record) no fit learnt from, whatever its fold
  (:func:`ecgsk.compare._data.unseen_records`, as ``python -m
  ecgsk.compare --test-data``); ``--test-folds 10`` keeps a full PTB-XL
  download's test fold only.

Each row gets the task's metric (macro AUROC; AUROC for binary; the
challenge F1 of N, A and O for CinC 2017, from the most probable class),
a 95% bootstrap interval over the test records, the training time and the
machine. "fit" records count fold 9 in where networks validate on it (it
never trains their weights, nor any model without a network; the
unsupervised steps before a network, such as its ``Standardizer``, are
fitted on training and fold 9 records together). The train time of a row
resumed from checkpoints counts only the epochs of the run that finished
it. ecgsk's rows
are compared with the best peer row of their task by a paired bootstrap on
the same records. Finished rows are kept under
``--out-dir`` (predictions, time) and skipped on a rerun, so an interrupted
run resumes; within the interrupted row, each network resumes at its last
finished epoch (:func:`ecgsk.neural.checkpoints`, under the cache's
``checkpoints`` folder; the members of an ensemble that had finished are
fitted again, to the same weights). A row is refitted when its
parameters, with the defaults of its pipeline's ``make_pipeline``, build
another estimator than the saved row's (or change its input), and ``--fresh`` retrains them all
(printing how far each refit's probabilities are from the saved fit's).
A change inside ``ecgsk`` that is not a parameter (a fix) is not detected:
each row records the commit it was fitted at (``code`` in its metadata),
and ``--fresh`` refits after such a change.
``bench/blend_rows.py`` averages saved rows and compares them pairwise.

    ECGSK_DATA=../shared/data python bench/quality.py --preset cpu \
        --out bench/results/quality.md
    ECGSK_DATA=../shared/data python bench/quality.py --ablation \
        --tasks superdiagnostic af --out /tmp/ablation.md
    python bench/quality.py --select --ablation --tasks superdiagnostic  # choose recipes

The ablation example writes a two-task table to a scratch file;
BENCHMARKS.md gives the command behind ``bench/results/ablation.md``.
``--preset cpu`` fits the whole table in about two hours on two cores;
``--preset gpu`` trains longer and ensembles more seeds (use it where a
GPU is lent).
"""

import argparse
import hashlib
import inspect
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import add_data_argument, code_version, cpu_name, require_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecgsk.compare._data import (  # noqa: E402
    VALIDATION_NETWORKS,
    SplitPlan,
    align_labels,
    default_length,
    fit_final,
    fit_targets,
    learnt_classes,
    load_dataset,
    load_signals,
    make_plan,
    unseen_records,
)
from ecgsk._argtypes import nonneg_int, positive_int  # noqa: E402
from ecgsk._threads import limit_threads  # noqa: E402
from ecgsk.compare._registry import load_pipeline_module  # noqa: E402
from ecgsk.features import _rhythm  # noqa: E402
from ecgsk.metrics import bootstrap_ci, challenge_f1, macro_auroc, paired_bootstrap  # noqa: E402
from ecgsk.tracking import predict_proba_matrix  # noqa: E402

TASKS = {  # task -> (dataset, dataset task, data sub-folder)
    "superdiagnostic": ("ptbxl", "superdiagnostic", "ptb-xl"),
    "all": ("ptbxl", "all", "ptb-xl"),
    "binary": ("ptbxl", "binary", "ptb-xl"),
    "af": ("cinc2017", "af", "cinc2017"),
}
METRIC_NAMES = {"superdiagnostic": "macro AUROC", "all": "macro AUROC", "binary": "AUROC",
                "af": "challenge F1 (N, A, O)"}
TARGETS = {"superdiagnostic": 0.91, "all": 0.87, "binary": 0.94, "af": 0.83}


@dataclass
class Row:
    """One line of the table: a named pipeline with its parameters per preset."""

    name: str
    pipeline: str
    role: str  # "peer" or "ecgsk"
    cpu: dict = field(default_factory=dict)
    gpu: dict = field(default_factory=dict)
    note: str = ""
    #: False for a row that chooses nothing (a second seed, measuring how far one
    #: fit can move on the test records): ``--select`` leaves it out.
    select: bool = True

    def params(self, preset):
        return dict(self.cpu if preset == "cpu" else {**self.cpu, **self.gpu})


def _peers():
    return [
        Row("MiniRocket + ridge (peer)", "randomconv_ridge", "peer"),
        Row("resnet1d_wang (peer)", "resnet1d", "peer", cpu={"max_epochs": 50, "patience": 50},
            note="benchmark protocol, 50 epochs, no early stopping"),
    ]


ROWS = {
    "superdiagnostic": _peers() + [
        Row("ecgsk_ptbxl", "ecgsk_ptbxl", "ecgsk", gpu={"n_seeds": 5, "max_epochs": 60}),
    ],
    "all": _peers() + [
        Row("ecgsk_ptbxl", "ecgsk_ptbxl", "ecgsk", gpu={"n_seeds": 5, "max_epochs": 60}),
    ],
    "binary": _peers() + [
        Row("ecgsk_ptbxl", "ecgsk_ptbxl", "ecgsk", gpu={"n_seeds": 5, "max_epochs": 60}),
    ],
    "af": [
        Row("MiniRocket + ridge (peer)", "randomconv_ridge", "peer"),
        Row("ecgsk_cinc", "ecgsk_cinc", "ecgsk", gpu={"n_seeds": 3, "max_epochs": 60}),
    ],
}

# Ablations: each row changes one lever of the reference row (one seed, no fusion).
_REF = {"members": ("seresnet",), "n_seeds": 1}
_NO_BEATS = ("statistical", "rhythm", "wavelet")  # make_feature_baseline's default sets
_BEATS = _NO_BEATS + ("beats",)  # and BeatFeatures
# The best trial of `python -m ecgsk.tune --pipeline ecgsk_ptbxl --dataset ptbxl --task
# superdiagnostic --set "members=('seresnet',)" --set n_seeds=1 --set feature_weight=1.0
# --n-trials 16 --folds 1 2 --seed 0 --pruner median` (CV on folds 1-8; BENCHMARKS.md,
# "Tuning the PTB-XL network"), rounded as the command prints them.
_TUNED = {"lr": 0.004594, "weight_decay": 0.040741}
# The best trial of `python -m ecgsk.tune --pipeline features_hgb --dataset ptbxl --task
# superdiagnostic --set "features=('statistical','rhythm','wavelet','beats','template')"
# --n-trials 8 --folds 1 2 --seed 0 --pruner none`: ecgsk_ptbxl's features member, tuned
# (BENCHMARKS.md, "Tuning the features member").
_TUNED_HGB = {"learning_rate": 0.032967, "max_leaf_nodes": 53, "max_iter": 201}
# The dual-input network as ecgsk_cinc's "dualnet" member trains it: 10 s crops and 15
# epochs keep a row to about 40 min on one core.
_DUALNET = {"crop_length": 3000, "max_epochs": 15}
ABLATION = {
    "superdiagnostic": [
        Row("reference: SE-ResNeXt (small), 2.5 s crops, augmentation, BCE", "ecgsk_ptbxl",
            "reference", cpu=_REF),
        Row("no SE, equal parameters (296.6k vs 293.0k)", "ecgsk_ptbxl", "ablation",
            cpu={**_REF, "se": False, "cardinality": 11, "base_width": 5}),
        Row("full 10 s input, no crops", "ecgsk_ptbxl", "ablation",
            cpu={**_REF, "crop_length": None}),
        Row("+ derivative channels", "ecgsk_ptbxl", "ablation",
            cpu={**_REF, "derivatives": True}),
        Row("no augmentation", "ecgsk_ptbxl", "ablation", cpu={**_REF, "augment": False}),
        Row("focal loss instead of BCE", "ecgsk_ptbxl", "ablation",
            cpu={**_REF, "criterion": "focal"}),
        Row("balanced sampling (by each record's rarest label)", "ecgsk_ptbxl", "ablation",
            cpu={**_REF, "balanced_sampling": True}),
        Row("learning rate and weight decay tuned (python -m ecgsk.tune, 16 trials)",
            "ecgsk_ptbxl", "ablation", cpu={**_REF, **_TUNED}),
        Row("3 seeds averaged", "ecgsk_ptbxl", "ablation", cpu={**_REF, "n_seeds": 3}),
        Row("3 seeds + features (HGB), late fusion", "ecgsk_ptbxl", "ablation",
            cpu={"members": ("seresnet", "features"), "feature_sets": _NO_BEATS}),
        Row("3 seeds + features with beat features (HGB)", "ecgsk_ptbxl", "ablation",
            cpu={"members": ("seresnet", "features"), "feature_sets": _BEATS}),
        Row("3 seeds + ResNet + MiniRocket + features with beats: the previous default",
            "ecgsk_ptbxl", "ablation", cpu={"feature_sets": _BEATS}),
        Row("3 seeds + ResNet + MiniRocket + features with beats and 12-lead beat templates: "
            "the default", "ecgsk_ptbxl", "ablation"),
        Row("features (HGB) alone", "ecgsk_ptbxl", "ablation",
            cpu={"members": ("features",), "feature_sets": _NO_BEATS}),
        Row("features + beat features (HGB) alone", "ecgsk_ptbxl", "ablation",
            cpu={"members": ("features",), "feature_sets": _BEATS}),
        Row("+ 12-lead beat templates (HGB alone)", "ecgsk_ptbxl", "ablation",
            cpu={"members": ("features",)}),
        Row("features with beat templates, HGB tuned by python -m ecgsk.tune (8 trials)",
            "features_hgb", "ablation", cpu={"features": _BEATS + ("template",), **_TUNED_HGB}),
        Row("features with templates, R peaks found on lead II (HGB alone)", "features_hgb",
            "ablation", cpu={"features": _BEATS + ("template",), "rhythm_lead": 1}),
        Row("a small CNN on the 12-lead beat templates (bench/recipes/beat_cnn.py)",
            str(ROOT / "bench" / "recipes" / "beat_cnn.py"), "ablation"),
        Row("features with beat templates, logistic regression (C=0.01)", "features_logreg",
            "ablation", cpu={"features": _BEATS + ("template",)}),
        Row("ResNet (resnet1d_wang), same protocol", "resnet1d", "ablation"),
        Row("InceptionTime (16 filters)", "inception1d", "ablation",
            cpu={"n_filters": 16, "se": False}),
        Row("IncepSE (16 filters)", "inception1d", "ablation",
            cpu={"n_filters": 16, "se": True}),
    ],
    # The other PTB-XL tasks: the default against its previous recipe.
    **{task: [Row("ecgsk_ptbxl without beat templates: the previous default", "ecgsk_ptbxl",
                  "reference", cpu={"feature_sets": _BEATS}),
              Row("ecgsk_ptbxl", "ecgsk_ptbxl", "ablation")] for task in ("all", "binary")},
    "af": [
        Row("reference: SE-ResNeXt (small), 10 s crops, augmentation, weighted CE",
            "ecgsk_cinc", "reference", cpu=_REF),
        Row("no SE, equal parameters", "ecgsk_cinc", "ablation",
            cpu={**_REF, "se": False, "cardinality": 11, "base_width": 5}),
        # Crops and windows of a short record's zero padding alone (501 of the 7,000
        # records are under 20 s), filled with the record repeated.
        Row("zero padding filled with repeats of the record", "ecgsk_cinc", "ablation",
            cpu={**_REF, "repeat_padding": True}),
        # A second seed of both: with seed 0, the selection records and the test records
        # disagreed in sign (session 26).
        Row("network alone, seed 1 (random_state=1)", "ecgsk_cinc", "ablation",
            cpu={**_REF, "random_state": 1}),
        Row("zero padding filled, seed 1 (random_state=1)", "ecgsk_cinc", "ablation",
            cpu={**_REF, "repeat_padding": True, "random_state": 1}),
        Row("full 30 s input, no crops, no augmentation", "ecgsk_cinc", "ablation",
            cpu={**_REF, "crop_length": None, "augment": False}),
        Row("focal loss instead of CE (class-weighted)", "ecgsk_cinc", "ablation",
            cpu={**_REF, "criterion": "focal"}),
        Row("balanced sampling instead of class weights", "ecgsk_cinc", "ablation",
            cpu={**_REF, "class_weight": None, "balanced_sampling": True}),
        # The ECGCNN-SE seed's claim, SE in the dual-input net's spectrogram encoder.
        Row("DualNet (ECGCNN-SE: LSTM + spectrogram SE-CNN, 300 Hz), 10 s crops, 15 epochs",
            "dualnet_se", "ablation", cpu=_DUALNET),
        Row("DualNet without SE (ECGCNN_L), as above", "dualnet_l", "ablation", cpu=_DUALNET),
        # A second seed of each, on the test records only (not --select): one seed
        # could not tell a failed fit from an effect of SE. Named apart, so each name
        # above still picks one row (blend_rows.py --rows).
        Row("ECGCNN-SE dual-input network, second seed (random_state=1)", "dualnet_se",
            "ablation", cpu={**_DUALNET, "random_state": 1}, select=False),
        Row("ECGCNN_L dual-input network (no SE), second seed (random_state=1)", "dualnet_l",
            "ablation", cpu={**_DUALNET, "random_state": 1}, select=False),
        Row("features with RR intervals (HGB) alone", "ecgsk_cinc", "ablation",
            cpu={"members": ("features",), "feature_sets": _NO_BEATS}),
        Row("features + beat features (HGB) alone", "ecgsk_cinc", "ablation",
            cpu={"members": ("features",), "feature_sets": _BEATS}),
        Row("as above, computed at 100 Hz (the previous recipe)", "ecgsk_cinc", "ablation",
            cpu={"members": ("features",), "feature_sets": _BEATS, "feature_rate": 100}),
        Row("features + beat features + beat template (HGB) alone", "ecgsk_cinc",
            "ablation", cpu={"members": ("features",)}),
        Row("network + features with beats and template, late fusion: the default",
            "ecgsk_cinc", "ablation"),
        Row("as above, the network's epochs balanced instead of its loss", "ecgsk_cinc",
            "ablation", cpu={"balanced_sampling": True}),
    ],
}


def rows_for(task, *, ablation=False, parts=None, select=False):
    """The rows a run fits for ``task``: the table's, or the ablation's.

    ``parts`` keeps the rows whose name contains one of them; ``select``
    leaves out the rows that choose nothing (:attr:`Row.select`).
    """
    rows = ABLATION.get(task, []) if ablation else ROWS[task]
    if parts:
        rows = [r for r in rows if any(part in r.name for part in parts)]
    return [r for r in rows if r.select or not select]


def machine():
    """A one-line description of the machine and its load."""
    import torch

    cpu = cpu_name()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, {gpu}, "
            f"load {load:.1f}")


def score(task, y, proba, classes):
    """The task's metric of probabilities ``proba`` against targets ``y``."""
    if task == "af":
        return challenge_f1(np.asarray(classes)[y], np.asarray(classes)[proba.argmax(1)])
    if task == "binary":
        return macro_auroc(y, proba[:, 1] if proba.ndim == 2 else proba)
    return macro_auroc(y, proba)


def _selection_plan(plan, y):
    """The plan of ``--select``: score on validation records, never on the test records.

    PTB-XL: fold 9 is scored (networks still early-stop on it, which flatters
    them a little). CinC 2017: a stratified 20% of the training records
    (``random_state=0``) is scored; the rest trains.
    """
    from sklearn.model_selection import train_test_split

    if plan.valid is not None:
        return SplitPlan(train=plan.train, valid=plan.valid, test=plan.valid,
                         description={"test": "validation fold 9"})
    train, valid = train_test_split(plan.train, test_size=0.2, stratify=y[plan.train],
                                    random_state=0)
    return SplitPlan(train=np.sort(train), valid=None, test=np.sort(valid),
                     description={"test": "20% of the training records"})


class Data:
    """Training, validation and test records of a task, with signals per (rate, length)."""

    def __init__(self, task, data_root, test_root, cache_dir, select=False, test_folds=None):
        dataset, ds_task, sub = TASKS[task]
        self.task, self.dataset, self.cache_dir = task, dataset, cache_dir
        root = Path(data_root) / sub if (Path(data_root) / sub).exists() else Path(data_root)
        rate = 100 if dataset == "ptbxl" else 300
        self.ds = load_dataset(dataset, ds_task, root, rate)
        self.y = fit_targets(self.ds)
        self.classes = [str(c) for c in self.ds.classes]
        self.plan = make_plan(self.ds, cv=False, seed=0)
        if select:  # score the validation records: choosing a recipe never sees the test
            self.plan = _selection_plan(self.plan, self.y)
        self.ext = None
        if test_root is not None:
            troot = Path(test_root) / sub if (Path(test_root) / sub).exists() else Path(test_root)
            ext = load_dataset(dataset, ds_task, troot, rate, "--test-data")
            ext, _ = unseen_records(ext, self.ds, self.plan.test, folds=test_folds)
            learnt = learnt_classes(self.ds, self.plan.test)  # CinC: a class without records
            ext, y_ext, _ = align_labels(ext, self.classes, learnt)
            self.ext = (ext, y_ext)
        self._signals, self._leads = {}, None

    def signals(self, which, rate, length):
        key = (which, float(rate), int(length))
        if key not in self._signals:
            if which == "own":
                self._signals[key], self._leads = load_signals(
                    self.ds.X, sampling_rate=rate, length=length, cache_dir=self.cache_dir,
                    return_lead_names=True)
            else:  # the training records' leads, by name: another root may order them otherwise
                if self._leads is None:
                    self.signals("own", rate, length)
                self._signals[key] = load_signals(self.ext[0].X, sampling_rate=rate,
                                                  length=length, cache_dir=self.cache_dir,
                                                  leads=self._leads)
        return self._signals[key]

    @property
    def y_test(self):
        return self.ext[1] if self.ext is not None else self.y[self.plan.test]

    @property
    def train_records(self):
        """A fingerprint of the training and validation records' names and labels."""
        idx = np.concatenate([self.plan.train] + ([] if self.plan.valid is None
                                                  else [self.plan.valid]))
        names = [os.path.basename(os.fspath(p)) for p in self.ds.X[idx]]
        labels = np.asarray(self.y)[idx]
        digest = hashlib.sha1("\n".join(names).encode())
        digest.update(np.ascontiguousarray(labels).tobytes())
        return digest.hexdigest()[:12]

    def _test_names(self):
        paths = self.ext[0].X if self.ext is not None else self.ds.X[self.plan.test]
        return [os.path.basename(os.fspath(p)) for p in paths]

    @property
    def test_records(self):
        """A fingerprint of the scored records' names: a saved row scored others is refitted."""
        return hashlib.sha1("\n".join(sorted(self._test_names())).encode()).hexdigest()[:12]

    @property
    def test_order(self):
        """A fingerprint of the scored records' names in order: the rows of a saved
        ``proba`` follow it, and are scored against ``y_test`` row by row."""
        return hashlib.sha1("\n".join(self._test_names()).encode()).hexdigest()[:12]


def resolved_params(module, params):
    """``make_pipeline``'s keyword defaults updated with ``params``, as JSON values.

    A saved row is reused only when it built the estimator these build today
    (:func:`stale`): a changed default of a named pipeline retrains the rows
    it reaches. A changed input, the module's ``SAMPLING_RATE`` and
    ``LENGTH`` (key ``"_input"``; a length of ``None`` is the dataset's
    default), retrains them all.
    """
    defaults = {name: p.default
                for name, p in inspect.signature(module.make_pipeline).parameters.items()
                if p.default is not inspect.Parameter.empty}
    inputs = {"sampling_rate": float(module.SAMPLING_RATE),
              "length": getattr(module, "LENGTH", None)}
    return json.loads(json.dumps({**defaults, **params, "_input": inputs}, sort_keys=True,
                                 default=str))


def row_path(row, task, preset, out_dir):
    """The file a row's test probabilities and metadata are saved to."""
    digest = hashlib.sha1(json.dumps(row.params(preset), sort_keys=True, default=str).encode())
    return Path(out_dir) / f"{task}__{Path(row.pipeline).stem}__{digest.hexdigest()[:10]}.npz"


def load_saved(path):
    """A saved row's test probabilities and metadata."""
    with np.load(path, allow_pickle=False) as f:
        return f["proba"], json.loads(str(f["meta"]))


def _json_value(value):
    """A parameter value that JSON lacks: an estimator by its class (its own
    parameters are keys of their own), anything else by its repr without a
    memory address (skorch's callbacks)."""
    if not isinstance(value, type) and hasattr(value, "get_params"):
        # Its first public class: a private subclass (make_feature_baseline's
        # _FeatureBaseline of a Pipeline) is the estimator its parameters say.
        return next((c.__name__ for c in type(value).__mro__
                     if not c.__name__.startswith("_")), type(value).__name__)
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def estimator_config(module, resolved):
    """Every parameter of the estimator ``module.make_pipeline`` builds from ``resolved``.

    ``get_params(deep=True)`` with JSON values: the parameters of the
    estimators it nests are keys of their own (``features__max_iter``), so
    two builds compare equal when every parameter, however deep, is the
    same.
    """
    est = module.make_pipeline(**{k: v for k, v in resolved.items() if k != "_input"})
    return json.loads(json.dumps(est.get_params(deep=True), default=_json_value))


def stale(meta, module, params, data):
    """Why a saved row cannot stand for this run's fit, or None when it can.

    It must have been fitted on the same input and have built the same
    estimator as this row's parameters do today (:func:`estimator_config`):
    every parameter saved with it (``config``) must have the same value
    today. A changed default of a pipeline, or of a class it builds (an
    ``ECGNetClassifier``'s patience), refits the rows it reaches; a
    parameter added with a default that keeps the recipe refits nothing.
    A change inside ``ecgsk`` that is not a parameter (a fix) is not seen:
    ``--fresh`` refits after one. Rows saved before
    ``config`` was recorded are compared by building their saved
    :func:`resolved_params` today, where a parameter they lack takes
    today's default; :func:`run_row` records ``config`` when it reuses them.
    It must also have been fitted on the same records, and scored the same
    records: the fingerprints of their names (and of the training labels);
    rows saved before a fingerprint was recorded are checked by the number
    of records alone.
    """
    resolved = resolved_params(module, params)
    saved = meta.get("resolved")
    if (saved is None or saved.get("_input") != resolved["_input"]
            or meta["n_test"] != len(data.y_test)):
        return "was fitted with other parameters"
    if "config" in meta:
        today = estimator_config(module, resolved)
        missing = object()
        if any(today.get(k, missing) != v for k, v in meta["config"].items()):
            return "was fitted with other parameters"
    elif saved != resolved:
        try:
            same = estimator_config(module, saved) == estimator_config(module, resolved)
        except (TypeError, ValueError):  # a parameter the pipeline no longer takes
            same = False
        if not same:
            return "was fitted with other parameters"
    if "train_records" in meta:
        if meta["train_records"] != data.train_records:
            return "was fitted on other records"
    elif meta.get("n_train") not in (len(data.plan.train), len(data.plan.train) + (
            0 if data.plan.valid is None else len(data.plan.valid))):
        return "was fitted on other records"
    records = data.test_records
    if meta.get("test_records", records) != records:
        return "scored other records"
    # The same records in another order (another --test-data root listing them otherwise):
    # its probabilities, row by row, would be scored against other records' targets.
    if meta.get("test_order", data.test_order) != data.test_order:
        return "scored the records in another order"
    return None


def run_row(row, data, preset, out_dir, fresh=False):
    """Fit a row's pipeline (or reuse its saved result) and return its test probabilities."""
    path = row_path(row, data.task, preset, out_dir)
    module = load_pipeline_module(row.pipeline)
    params = row.params(preset)
    resolved = resolved_params(module, params)
    saved = None  # the probabilities of an earlier fit of the same row
    if path.exists():
        saved, meta = load_saved(path)
        why = stale(meta, module, params, data)
        if why:
            print(f"  {row.name}: {path.name} {why}; refitting", file=sys.stderr)
            saved = None
        elif not fresh:
            print(f"  {row.name}: reusing {path.name}", file=sys.stderr)
            if meta.get("config") is None or meta["resolved"] != resolved:
                # Record what it was fitted with in today's terms, so that a later
                # change of a default is measured against it. Not today's records: an
                # old row was checked by their number only, and stays so.
                meta = {**meta, "resolved": resolved,
                        "config": estimator_config(module, resolved)}
                _save(path, saved, meta)
            return saved, meta
    rate = float(module.SAMPLING_RATE)
    length = int(getattr(module, "LENGTH", None) or default_length(data.dataset, rate))
    X = data.signals("own", rate, length)
    est = module.make_pipeline(**params)
    plan = data.plan
    print(f"  {row.name}: fitting ...", file=sys.stderr, flush=True)
    _rhythm.clear_qrs_cache()  # a row's train time must not use an earlier row's R peaks
    start = time.perf_counter()
    est, validation = fit_final(est, X, data.y, plan)  # networks validate on fold 9
    train_s = time.perf_counter() - start
    fitted_on = machine()  # its load at the end of the fit, before the predictions
    X_test = data.signals("ext", rate, length) if data.ext is not None else X[plan.test]
    proba = predict_proba_matrix(est, X_test, len(data.classes))
    if saved is not None and saved.shape == proba.shape:  # --fresh: does the fit reproduce?
        print(f"  {row.name}: largest probability difference from the saved fit: "
              f"{np.abs(proba - saved).max():.1e}", file=sys.stderr)
    meta = {"row": row.name, "pipeline": row.pipeline,
            "params": json.loads(json.dumps(params, default=str)), "resolved": resolved,
            "train_s": train_s,
            "n_train": int(len(plan.train)
                           + (len(plan.valid) if validation == VALIDATION_NETWORKS else 0)),
            "validation": validation, "n_test": int(len(data.y_test)),
            "test_records": data.test_records, "test_order": data.test_order,
            "train_records": data.train_records,
            "config": estimator_config(module, resolved),
            "machine": fitted_on, "preset": preset, "code": code_version()}
    _save(path, proba, meta)
    return proba, meta


def _save(path, proba, meta):
    """Write a row's file whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, proba=proba, meta=json.dumps(meta))
    os.replace(tmp, path)


def machine_key(description, machines):
    """``"M1, load 1.3"``: the machine that fitted a row, numbered in ``machines``.

    ``description`` is :func:`machine`'s line. The machine without its load
    is numbered in the order first seen (``machines`` maps it to its
    number and grows); the load at the end of the row's fit stays in the
    cell, since it explains the train time.
    """
    name, _, load = description.rpartition(", load ")
    if not name:  # no load recorded
        name, load = description, ""
    number = machines.setdefault(name, len(machines) + 1)
    return f"M{number}" + (f", load {load}" if load else "")


def table(task, data, results, n_boot, baseline_role="peer", machines=None):
    """Markdown lines: metric with CI, paired test against the best peer, train time, machine.

    ``machines`` collects the machines that fitted the rows (see
    :func:`machine_key`); a saved row keeps the machine it was fitted on.
    """
    machines = {} if machines is None else machines
    y = data.y_test
    metric = lambda yt, p: score(task, yt, p, data.classes)  # noqa: E731
    scored = []
    for row, proba, meta in results:
        point, low, high = bootstrap_ci(metric, y, proba, n_boot=n_boot, random_state=0)
        scored.append((row, proba, meta, point, low, high))
    base = [s for s in scored if s[0].role == baseline_role]
    best = max(base, key=lambda s: s[3]) if base else None
    lines = []
    for row, proba, meta, point, low, high in scored:
        versus = ""
        if best is not None and row.role != baseline_role:
            test = paired_bootstrap(metric, y, proba, best[1], n_boot=n_boot, random_state=0)
            versus = (f"{test['diff']:+.3f} [{test['low']:+.3f}, {test['high']:+.3f}], "
                      f"p={test['p_value']:.3f}")
        lines.append(f"| {task} | {row.name} | {point:.3f} [{low:.3f}, {high:.3f}] | "
                     f"{versus} | {meta['train_s'] / 60:.1f} | "
                     f"{machine_key(meta['machine'], machines)} | {meta['n_train']} / "
                     f"{meta['n_test']} |")
    return lines, (best[0].name if best else None)


def check_rows(tasks, parts, *, ablation=False, select=False):
    """Raise ``ValueError`` naming each of ``parts`` (``--rows``) that picks no row of ``tasks``.

    ``--rows`` keeps the rows whose name contains one of its strings, so a
    string that matches nothing would otherwise leave its rows out in silence.
    """
    missing = [part for part in parts or ()
               if not any(rows_for(task, ablation=ablation, parts=[part], select=select)
                          for task in tasks)]
    if missing:
        which = f"{'ablation' if ablation else 'table'}{' selection' if select else ''} rows"
        raise ValueError(f"--rows {', '.join(map(repr, missing))}: no {which} of "
                         f"{', '.join(tasks)} contain {'it' if len(missing) == 1 else 'them'}.")


def build_parser():
    """The command line of ``main``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--test-data", default=None,
                        help="score another root's records instead: those of patients no fit "
                             "learnt from")
    parser.add_argument("--test-folds", nargs="+", type=int, default=None, metavar="K",
                        help="only these strat_folds of --test-data (10: a full PTB-XL download)")
    parser.add_argument("--preset", choices=("cpu", "gpu"), default=None,
                        help="cpu or gpu (default: gpu when CUDA is available)")
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--rows", nargs="+", default=None,
                        help="only rows whose name contains one of these strings")
    parser.add_argument("--select", action="store_true",
                        help="score the validation records (PTB-XL fold 9; CinC 2017 20%% of "
                             "the training records) to choose recipes without the test records; "
                             "rows that choose nothing (second seeds) are left out")
    parser.add_argument("--ablation", action="store_true",
                        help="the ablation rows (against the reference row) instead")
    parser.add_argument("--n-boot", type=nonneg_int, default=1000)
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="at most N threads in torch and in the OpenMP/BLAS pools "
                             "(histogram gradient boosting); default: the libraries' own")
    parser.add_argument("--out-dir", default=str(ROOT / "bench" / "results" / "quality_runs"))
    parser.add_argument("--cache-dir", default=None,
                        help="signal cache, and the networks' checkpoints under its "
                             "checkpoints/ (default: compare's)")
    parser.add_argument("--fresh", action="store_true", help="retrain rows already saved")
    parser.add_argument("--out", default=None, help="write the markdown table here too")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_data(parser, args)
    if args.select and args.test_data:
        parser.error("--select scores validation records; it takes no --test-data")
    if args.test_folds and not args.test_data:
        parser.error("--test-folds chooses folds of --test-data; pass --test-data too")
    try:
        check_rows(args.tasks, args.rows, ablation=args.ablation, select=args.select)
    except ValueError as exc:
        parser.error(str(exc))
    from ecgsk.cache import default_cache_dir
    from ecgsk.compare import CompareError
    from ecgsk.compare._data import checkpoint_folder
    from ecgsk.neural import checkpoints

    # Every task's records and labels before the first fit: a root without CinC 2017, or
    # --test-folds on it, ended the command after hours of PTB-XL fits, with no table.
    cache = args.cache_dir or default_cache_dir()
    tasks = {}
    try:
        for task in args.tasks:
            rows = rows_for(task, ablation=args.ablation, parts=args.rows, select=args.select)
            if rows:
                tasks[task] = rows, Data(task, args.data, args.test_data, cache,
                                         select=args.select, test_folds=args.test_folds)
    except CompareError as exc:
        parser.error(f"task {task!r}: {exc}")
    # An interrupted row, run again, resumes its networks at their last finished epoch.
    with limit_threads(args.threads), checkpoints(checkpoint_folder(args.cache_dir)):
        _run(args, tasks)


def _run(args, tasks):
    """Fit or read back the rows of ``tasks`` (task: rows, Data); score, print, write them."""
    import torch

    preset = args.preset or ("gpu" if torch.cuda.is_available() else "cpu")
    folds = f"strat_fold {', '.join(map(str, args.test_folds))} of " if args.test_folds else ""
    where = (f"{folds}{args.test_data}, patients no fit learnt from" if args.test_data
             else "validation records (--select: PTB-XL fold 9; CinC 2017 20% of the training "
             "records)" if args.select
             else " and ".join(t for t in (
                 "PTB-XL fold 10" if set(args.tasks) - {"af"} else "",
                 "the CinC 2017 20% hold-out" if "af" in args.tasks else "") if t)
             + " of --data")
    columns = ["task", "pipeline", "metric [95% CI]",
               f"vs best {'reference' if args.ablation else 'peer'} (paired bootstrap)",
               "train min", "fitted on", "fit / test records"]
    out = [f"This run: {machine()}. Preset: {preset}. Test records: {where}.", "",
           "| " + " | ".join(columns) + " |",
           "|" + "|".join("---:" if c == "train min" else "---" for c in columns) + "|"]
    machines = {}
    start = time.perf_counter()
    for task, (rows, data) in tasks.items():
        print(f"{task}: {len(rows)} rows", file=sys.stderr)
        results = []
        for row in rows:
            try:
                proba, meta = run_row(row, data, preset, Path(args.out_dir) / (
                    "external" if args.test_data else "select" if args.select else "shared"),
                    fresh=args.fresh)
            except Exception as exc:  # noqa: BLE001 -- one broken row must not lose the rest
                print(f"  {row.name}: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
                out.append(f"| {task} | {row.name} | failed: {type(exc).__name__}: {exc} |"
                           + " |" * (len(columns) - 3))
                continue
            results.append((row, proba, meta))
        lines, _ = table(task, data, results, args.n_boot,
                         baseline_role="reference" if args.ablation else "peer",
                         machines=machines)
        out.extend(lines)
        print("\n".join(lines), flush=True)
    out.append("")
    out.append("Fitted on: the machine that fitted the row, with its 1-minute load average at "
               "the end of the fit (a saved row keeps its own): "
               + "; ".join(f"M{k}: {name}" for name, k in machines.items()) + ".")
    out.append("")
    out.append(f"Metric: {'; '.join(f'{t}: {METRIC_NAMES[t]}' for t in args.tasks)}. "
               f"Wall time of this command: {(time.perf_counter() - start) / 60:.1f} min.")
    text = "\n".join(out)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
