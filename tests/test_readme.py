"""README.md's Python examples run as written, on a small PTB-XL root of real records.

The blocks are read from the README itself, so an example that drifts from
the API fails here. Only the data folders are replaced: ``data/ptb-xl`` by a
root holding a few records of every fold (``ECGSK_DATA``'s PTB-XL records,
linked, and its tables cut down), ``.cache/ecg`` by a temporary folder.

The README's commands, and the examples of each command's ``--help``, are
parsed by the command's own parser, and the pipelines, tasks and ``--set``
parameters they name must exist; the files the README names must too.
"""

import contextlib
import importlib
import io
import re
import shlex
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import load_ptbxl
from ecgsk.metrics import macro_auroc

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# Records per fold: few to train on (the examples train for up to 30 epochs on a 2-core CI
# machine), more on the test fold, so that every superclass has positives and negatives there.
PER_FOLD = {9: 8, 10: 40}
PER_TRAINING_FOLD = 4


def python_block(marker):
    """The one fenced Python block of the README that contains ``marker``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"README has {len(found)} Python blocks containing {marker!r}"
    return found[0]


@pytest.fixture(scope="module")
def small_ptbxl(ptbxl_root, tmp_path_factory):
    """A PTB-XL root of the first records with a diagnostic label of each fold (``PER_FOLD``)."""
    root = tmp_path_factory.mktemp("ptb-xl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "left out N records"
        kept = load_ptbxl(ptbxl_root, task="superdiagnostic").meta.index
    meta = pd.read_csv(ptbxl_root / "ptbxl_database.csv", index_col="ecg_id").loc[kept]
    meta = pd.concat([rows.head(PER_FOLD.get(fold, PER_TRAINING_FOLD))
                      for fold, rows in meta.groupby("strat_fold")])
    meta.to_csv(root / "ptbxl_database.csv")
    (root / "scp_statements.csv").write_bytes((ptbxl_root / "scp_statements.csv").read_bytes())
    (root / "records100").symlink_to(ptbxl_root / "records100", target_is_directory=True)
    return root


def run_block(source, namespace, small_ptbxl, cache):
    source = source.replace('"data/ptb-xl"', repr(str(small_ptbxl)))
    source = source.replace('".cache/ecg"', repr(str(cache)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, str(README), "exec"), namespace)
    return out.getvalue()


def test_the_quick_start_and_its_continuations_run(small_ptbxl, tmp_path, monkeypatch):
    from ecgsk import ECGNetClassifier

    monkeypatch.chdir(tmp_path)  # the explain example saves gradcam.png in the working folder
    check_groups, given = ECGNetClassifier._check_groups, []
    monkeypatch.setattr(ECGNetClassifier, "_check_groups", staticmethod(
        lambda groups, n: given.append(groups) or check_groups(groups, n)))
    ns = {}
    printed = run_block(python_block("ds.split_folds()"), ns, small_ptbxl, tmp_path / "cache")
    # Its validation split held whole patients out: without groups it was record-wise.
    np.testing.assert_array_equal(given[0], ns["train"].groups)

    # The quick start printed the test fold's macro AUROC, and trained on folds 1-8 only.
    assert set(np.unique(ns["test"].y.min(axis=0))) == {0}  # every class has negatives
    assert set(np.unique(ns["test"].y.max(axis=0))) == {1}  # and positives: all are scored
    auroc = float(printed.strip())
    proba = ns["model"].predict_proba(ns["X_test"])
    assert auroc == pytest.approx(macro_auroc(ns["test"].y, proba))
    assert set(ns["train"].folds) == set(range(1, 9)) and set(ns["test"].folds) == {10}
    assert ns["X_train"].shape == (len(ns["train"].X), 12, 1000)
    assert proba.shape == (len(ns["test"].X), 5)

    # "Explain predictions" continues the quick start: a Grad-CAM map of one record, saved.
    explained = dict(ns)
    run_block(python_block("from ecgsk.explain import explain"), explained, small_ptbxl,
              tmp_path / "cache")
    assert explained["ex"].relevance.shape[0] == 1
    assert (tmp_path / "gradcam.png").stat().st_size > 0

    # "Model quality and ensembles" continues it too: two seeds validated on fold 9.
    run_block(python_block("seed_ensemble"), ns, small_ptbxl, tmp_path / "cache")
    ensemble = ns["model"]
    proba = ensemble.predict_proba(ns["X_test"])
    assert proba.shape == (len(ns["test"].X), 5)
    members = [np.asarray(m.predict_proba(ns["X_test"])) for m in ensemble.estimators_]
    assert len(members) == 2
    for member in ensemble.estimators_:  # early stopping watched fold 9's records
        assert np.isfinite(member[-1].history[:, "valid_loss"]).all()
    np.testing.assert_allclose(proba, np.mean(members, axis=0), rtol=1e-5, atol=1e-6)


# The command lines: python -m NAME, parsed by the parser of this module.
CLIS = {"ecgsk.compare": "ecgsk.compare._cli", "ecgsk.tune": "ecgsk.tune._cli",
        "ecgsk.predict": "ecgsk.predict._cli", "ecgsk.ui": "ecgsk.ui._cli",
        "ecgsk.datasets": "ecgsk.datasets._cli", "ecgsk.cache": "ecgsk.cache._cli"}


def _parser(cli):
    module = importlib.import_module(CLIS[cli])
    return module.build_parser()


def shell_commands(text):
    """``(cli, args)`` of every ``python -m ecgsk.<cli> ...`` line of shell ``text``.

    Continued lines are joined; the arguments end at a shell operator (``>``,
    ``&``, ``;``...); placeholders ``<name>`` stand as ``name``; a command
    with ``...`` in place of arguments is left out.
    """
    text = re.sub(r"<(\w+)>", r"\1", text.replace("\\\n", " "))
    for line in text.splitlines():
        if "python -m ecgsk." not in line:  # prose (a help's epilog) need not lex
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for i in range(len(tokens) - 2):
            if tokens[i:i + 2] == ["python", "-m"] and tokens[i + 2] in CLIS:
                args = []
                for token in tokens[i + 3:]:
                    if set(token) <= set("();<>|&"):
                        break
                    args.append(token)
                if "..." not in args:
                    yield tokens[i + 2], args


def _readme_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    return [c for block in blocks for c in shell_commands(block)]


def _help_commands():
    return [c for cli in CLIS for c in shell_commands(_parser(cli).epilog or "")]


def _check_command(cli, args):
    """``args`` parse, and name pipelines, tasks and ``--set`` parameters that exist."""
    from ecgsk.compare import check_factory_params, list_pipelines, load_pipeline_module
    from ecgsk.compare._compare import parse_set as parse_compare_set
    from ecgsk.tune import parse_set as parse_tune_set

    try:
        ns = _parser(cli).parse_args(args)
    except SystemExit as exc:
        raise AssertionError(f"python -m {cli} {shlex.join(args)}: refused by its parser "
                             f"(exit status {exc.code})") from None
    if cli == "ecgsk.compare" and ns.pipelines:
        names = [p for p in ns.pipelines if not p.endswith(".py")]  # a user's own file
        params = parse_compare_set(ns.set_params, ns.pipelines)
    elif cli == "ecgsk.tune" and ns.pipeline:
        names = [ns.pipeline]
        params = {ns.pipeline: parse_tune_set(ns.set_params)}
    else:
        return
    available = list_pipelines()
    for name in names:
        assert name in available, f"python -m {cli} {shlex.join(args)}: no pipeline {name!r}"
        module = load_pipeline_module(name)
        check_factory_params(module, params[name], name)
        for value, accepted in ((ns.dataset, module.DATASET), (ns.task, module.TASK)):
            accepted = [accepted] if isinstance(accepted, str) else list(accepted)
            assert value in accepted, f"pipeline {name!r} does not take {value!r}"


def test_the_readme_commands_parse_and_name_what_exists():
    commands = _readme_commands()
    assert {cli for cli, _ in commands} == set(CLIS)  # the parsing above finds them all
    for cli, args in commands:
        _check_command(cli, args)


@pytest.mark.parametrize("cli", ["ecgsk.compare", "ecgsk.tune", "ecgsk.predict", "ecgsk.ui",
                                 "ecgsk.cache"])
def test_the_help_examples_parse_and_name_what_exists(cli):
    commands = [args for name, args in _help_commands() if name == cli]
    assert commands
    for args in commands:
        _check_command(cli, args)


def test_the_named_pipelines_table_lists_the_checkouts_pipelines():
    from ecgsk.compare import list_pipelines

    section = README.read_text().split("## Named pipelines", 1)[1].split("\n## ", 1)[0]
    table = {name for cell in re.findall(r"^\| ([^|]+) \|", section, flags=re.M)
             for name in re.findall(r"`(\w+)`", cell)}
    ours = {name for name, path in list_pipelines().items()
            if Path(path).parent == ROOT / "pipelines"}
    assert table == ours


def test_the_files_the_readme_names_exist():
    text = README.read_text()
    named = set(re.findall(r"(?<![\w/.])((?:bench|docs|\.ci)/[\w./-]*\w|[A-Z]+\.md)\b", text))
    assert {"bench/quality.py", "BENCHMARKS.md", ".ci/run"} <= named
    assert [p for p in sorted(named) if not (ROOT / p).exists()] == []
