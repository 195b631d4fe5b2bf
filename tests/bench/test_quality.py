"""bench/quality.py: rows fit by the protocol, are saved, and a rerun resumes from them."""

import numpy as np
import pytest

from .conftest import ROOT, load_bench


@pytest.fixture(scope="module")
def quality():
    return load_bench("quality")


def test_score_uses_each_tasks_metric(quality):
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    p = np.array([[0.9, 0.2], [0.1, 0.8], [0.7, 0.6], [0.2, 0.1]])
    assert quality.score("superdiagnostic", y, p, ["A", "B"]) == 1.0
    assert quality.score("binary", np.array([0, 1, 1, 0]), np.array([[0.8, 0.2], [0.3, 0.7],
                                                                     [0.4, 0.6], [0.9, 0.1]]),
                         ["0", "1"]) == 1.0
    classes = ["A", "N", "O", "~"]
    y_af = np.array([0, 1, 2, 3])
    p_af = np.eye(4)[[0, 1, 1, 3]]  # one O called N
    assert quality.score("af", y_af, p_af, classes) == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_rows_are_saved_and_a_rerun_resumes(quality, data_root, tmp_path, monkeypatch,
                                            signal_cache, capsys):
    data = quality.Data("binary", data_root, None, signal_cache)
    assert len(data.y_test) == np.sum(np.asarray(data.ds.folds) == 10)
    row = quality.Row("tiny MiniRocket", "randomconv_ridge", "peer", cpu={"n_kernels": 84})
    proba, meta = quality.run_row(row, data, "cpu", tmp_path)
    assert proba.shape[0] == len(data.y_test)
    assert meta["n_train"] == len(data.plan.train)  # no network: fold 9 stays out
    assert meta["validation"] == "fold 9 (thresholds only)"
    assert meta["code"]  # the commit (or version) the row was fitted at
    assert meta["config"]["estimator__features__n_kernels"] == 84  # what was fitted
    assert len(list(tmp_path.glob("binary__randomconv_ridge__*.npz"))) == 1
    capsys.readouterr()
    refitted, meta = quality.run_row(row, data, "cpu", tmp_path, fresh=True)
    np.testing.assert_allclose(refitted, proba)  # the fit is deterministic
    assert ("largest probability difference from the saved fit: 0.0e+00"
            in capsys.readouterr().err)

    def refit(*args, **kwargs):
        raise AssertionError("a saved row was fitted again")

    monkeypatch.setattr(quality, "fit_final", refit)
    again, meta2 = quality.run_row(row, data, "cpu", tmp_path)
    np.testing.assert_array_equal(again, proba)
    assert meta2 == meta
    lines, best = quality.table("binary", data, [(row, proba, meta)], n_boot=20)
    assert best == "tiny MiniRocket" and lines[0].startswith("| binary | tiny MiniRocket | 0.")
    machines = {}
    lines, _ = quality.table("binary", data, [(row, proba, meta)], n_boot=20, machines=machines)
    cells = [c.strip() for c in lines[0].strip("|").split("|")]
    assert len(cells) == 7 and cells[5].startswith("M1, load ")
    assert list(machines) == [meta["machine"].rpartition(", load ")[0]]


def test_a_saved_row_that_scored_other_records_is_refitted(quality, data_root, tmp_path,
                                                          signal_cache, capsys):
    data = quality.Data("binary", data_root, None, signal_cache)
    # --test-data of the same root: the records of patients no fit learnt from, fold 10.
    same = quality.Data("binary", data_root, data_root, signal_cache)
    assert same.test_records == data.test_records and len(same.y_test) == len(data.y_test)
    row = quality.Row("tiny MiniRocket", "randomconv_ridge", "peer", cpu={"n_kernels": 84})
    quality.run_row(row, data, "cpu", tmp_path)
    # As many records, one of them another: the saved probabilities are not theirs.
    other = np.concatenate([data.plan.test[1:], data.plan.train[:1]])
    same.ext = (data.ds.subset(other), data.y[other])
    assert same.test_records != data.test_records
    capsys.readouterr()
    _, meta = quality.run_row(row, same, "cpu", tmp_path)
    assert "scored other records; refitting" in capsys.readouterr().err
    assert meta["test_records"] == same.test_records
    # The same records in another order: reused, its rows were scored against other
    # records' targets.
    base, _ = quality.run_row(row, data, "cpu", tmp_path)  # fold 10 again, in its order
    reverse = data.plan.test[::-1]
    same.ext = (data.ds.subset(reverse), data.y[reverse])
    same._signals.clear()  # the signals read of the ext records set above
    assert same.test_records == data.test_records and same.test_order != data.test_order
    capsys.readouterr()
    proba, meta = quality.run_row(row, same, "cpu", tmp_path)
    assert "scored the records in another order; refitting" in capsys.readouterr().err
    assert meta["test_order"] == same.test_order
    np.testing.assert_allclose(proba, base[::-1], atol=1e-12)


def test_rows_fitted_on_other_machines_are_numbered_apart(quality):
    machines = {}
    cpu = "AMD EPYC, 2 cores, torch threads 1, no GPU"
    gpu = "AMD EPYC, 16 cores, torch threads 16, NVIDIA H200"
    assert quality.machine_key(f"{cpu}, load 1.3", machines) == "M1, load 1.3"
    assert quality.machine_key(f"{gpu}, load 0.2", machines) == "M2, load 0.2"
    assert quality.machine_key(f"{cpu}, load 2.0", machines) == "M1, load 2.0"
    assert quality.machine_key("a machine without a load", machines) == "M3"
    assert machines == {cpu: 1, gpu: 2, "a machine without a load": 3}


def test_code_version_names_the_commit_or_the_version(quality):
    import subprocess

    version = quality.code_version()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                          capture_output=True, text=True)
    if head.returncode == 0:  # a checkout: the short commit, "-dirty" with uncommitted changes
        commit = version.removesuffix("-dirty")
        assert len(commit) >= 7 and head.stdout.strip().startswith(commit)
    else:
        assert version.startswith("ecgsk ")


def test_select_scores_validation_records_never_the_test_records(quality):
    from ecgsk.compare._data import SplitPlan

    ptbxl = SplitPlan(train=np.arange(0, 80), valid=np.arange(80, 90), test=np.arange(90, 100))
    sel = quality._selection_plan(ptbxl, np.zeros(100))
    np.testing.assert_array_equal(sel.test, ptbxl.valid)
    np.testing.assert_array_equal(sel.valid, ptbxl.valid)
    np.testing.assert_array_equal(sel.train, ptbxl.train)

    y = np.array([0, 1, 2, 3] * 25)
    cinc = SplitPlan(train=np.arange(0, 80), valid=None, test=np.arange(80, 100))
    sel = quality._selection_plan(cinc, y)
    assert len(sel.test) == 16 and len(sel.train) == 64
    assert not set(sel.test) & set(sel.train)
    assert set(sel.test) | set(sel.train) == set(cinc.train)  # the hold-out stays out
    assert np.bincount(y[sel.test]).tolist() == [4, 4, 4, 4]  # stratified


def test_a_changed_pipeline_default_refits_the_row(quality, data_root, tmp_path, monkeypatch,
                                                  signal_cache):
    """Rows are saved under their explicit parameters; a new default must not reuse them."""
    data = quality.Data("binary", data_root, None, signal_cache)
    recipe = tmp_path / "tiny_recipe.py"
    source = (ROOT / "pipelines" / "randomconv_ridge.py").read_text()
    recipe.write_text(source.replace("n_kernels=10_000", "n_kernels=84"))
    row = quality.Row("tiny", str(recipe), "peer")
    quality.run_row(row, data, "cpu", tmp_path / "rows")
    assert quality.resolved_params(quality.load_pipeline_module(str(recipe)), {})[
        "n_kernels"] == 84

    fits = []
    fit_final = quality.fit_final
    monkeypatch.setattr(quality, "fit_final", lambda *a, **k: fits.append(1) or fit_final(*a, **k))
    quality.run_row(row, data, "cpu", tmp_path / "rows")
    assert fits == []  # same defaults: reused
    # A new parameter whose default keeps the recipe builds the same estimator: reused.
    recipe.write_text(source.replace("n_kernels=10_000", "n_kernels=84")
                      .replace("n_jobs=1):", "n_jobs=1, verbose=0):"))
    _, meta = quality.run_row(row, data, "cpu", tmp_path / "rows")
    assert fits == [] and meta["resolved"]["verbose"] == 0  # recorded in today's terms
    path, = (tmp_path / "rows").glob("binary__tiny_recipe__*.npz")
    assert quality.load_saved(path)[1]["resolved"]["verbose"] == 0
    recipe.write_text(source.replace("n_kernels=10_000", "n_kernels=168"))
    _, meta = quality.run_row(row, data, "cpu", tmp_path / "rows")
    assert fits == [1] and meta["resolved"]["n_kernels"] == 168
    recipe.write_text(source.replace("n_kernels=10_000", "n_kernels=168")
                      .replace("SAMPLING_RATE = 100", "SAMPLING_RATE = 50"))
    _, meta = quality.run_row(row, data, "cpu", tmp_path / "rows")  # another input rate
    assert fits == [1, 1] and meta["resolved"]["_input"]["sampling_rate"] == 50


@pytest.fixture(scope="module")
def blend_rows(quality):
    module = load_bench("blend_rows")
    assert module.quality is quality  # the rows a test patches are the rows it reads
    return module


def test_blend_rows_averages_saved_rows_and_compares_them(quality, blend_rows, data_root,
                                                         tmp_path, monkeypatch, capsys,
                                                         signal_cache):
    data = quality.Data("binary", data_root, None, signal_cache)
    rows = [quality.Row(f"tiny {k}", "randomconv_ridge", "peer", cpu={"n_kernels": k})
            for k in (84, 168)]
    monkeypatch.setitem(quality.ROWS, "binary", rows)
    probas = [quality.run_row(row, data, "cpu", tmp_path / "shared")[0] for row in rows]

    blend_rows.main(["--task", "binary", "--data", str(data_root), "--out-dir", str(tmp_path),
                     "--rows", "tiny 84", "tiny 168", "--weights", "1,3", "1,0",
                     "--versus", "tiny 168", "--n-boot", "20"])
    out = capsys.readouterr().out.splitlines()
    blend = 0.25 * probas[0] + 0.75 * probas[1]
    expected = quality.score("binary", data.y_test, blend, data.classes)
    assert out[1].startswith(f"weights 1,3: {expected:.3f} [")
    alone = quality.score("binary", data.y_test, probas[0], data.classes)
    other = quality.score("binary", data.y_test, probas[1], data.classes)
    assert out[2].startswith(f"weights 1,0: {alone:.3f} [")
    assert f"vs tiny 168: {alone - other:+.3f}" in out[2]

    # Two rows on the --versus side are averaged equally (two seeds against two).
    blend_rows.main(["--task", "binary", "--data", str(data_root), "--out-dir", str(tmp_path),
                     "--rows", "tiny 84", "--versus", "tiny 84", "tiny 168", "--n-boot", "20"])
    line = capsys.readouterr().out.splitlines()[1]
    averaged = quality.score("binary", data.y_test, (probas[0] + probas[1]) / 2, data.classes)
    assert f"vs tiny 84 + tiny 168 (equal average): {alone - averaged:+.3f}" in line

    with pytest.raises(SystemExit, match="must name one row"):
        blend_rows.main(["--task", "binary", "--data", str(data_root), "--rows", "tiny"])
    with pytest.raises(SystemExit, match="has not been run"):
        blend_rows.main(["--task", "binary", "--data", str(data_root), "--out-dir",
                         str(tmp_path / "empty"), "--rows", "tiny 84"])


def test_blend_rows_scores_superdiagnostic_rows_on_the_binary_task(quality, blend_rows,
                                                                   data_root, tmp_path,
                                                                   monkeypatch, capsys,
                                                                   signal_cache):
    superdiag = quality.Data("superdiagnostic", data_root, None, signal_cache)
    binary = quality.Data("binary", data_root, None, signal_cache)
    assert superdiag.test_records == binary.test_records
    rows = [quality.Row(f"tiny {k}", "randomconv_ridge", "peer", cpu={"n_kernels": k})
            for k in (84, 168)]
    monkeypatch.setitem(quality.ROWS, "superdiagnostic", rows)
    monkeypatch.setitem(quality.ROWS, "binary", rows[:1])
    probas = [quality.run_row(row, superdiag, "cpu", tmp_path / "shared")[0] for row in rows]
    own = quality.run_row(rows[0], binary, "cpu", tmp_path / "shared")[0]

    blend_rows.main(["--task", "binary", "--rows-task", "superdiagnostic", "--data",
                     str(data_root), "--out-dir", str(tmp_path), "--rows", "tiny 84", "tiny 168",
                     "--derive", "not-norm", "max-other", "not-only-norm",
                     "--versus", "tiny 84", "--n-boot", "20"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("binary, ") and "superdiagnostic rows: tiny 84; tiny 168" in out[0]
    # The binary label: abnormal unless the superclasses are exactly {NORM}.
    norm = superdiag.classes.index("NORM")
    y = superdiag.y_test
    assert np.array_equal(binary.y_test, (y.sum(1) != 1) | (y[:, norm] == 0))
    blend = (probas[0] + probas[1]) / 2  # derived from the ensemble's probabilities
    rest = np.delete(blend, norm, axis=1)
    scores = {"not-norm": 1 - blend[:, norm], "max-other": rest.max(1),
              "not-only-norm": 1 - blend[:, norm] * np.prod(1 - rest, axis=1)}
    assert len(out) == 4
    for line, (name, score) in zip(out[1:], scores.items()):
        expected = quality.score("binary", binary.y_test, score, binary.classes)
        other = quality.score("binary", binary.y_test, own, binary.classes)
        assert line.startswith(f"weights 1,1, {name}: {expected:.3f} [")
        assert f"vs tiny 84: {expected - other:+.3f}" in line

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # superdiagnostic rows score the binary task only
        blend_rows.main(["--task", "all", "--rows-task", "superdiagnostic", "--data",
                         str(data_root), "--rows", "tiny 84"])
    assert exc.value.code == 2
    assert "--rows-task turns superdiagnostic rows into a binary score: it needs --task " \
           "binary" in capsys.readouterr().err


def test_blend_rows_tables_the_auroc_of_each_class(quality, blend_rows, data_root, tmp_path,
                                                   monkeypatch, capsys, signal_cache):
    from ecgsk.metrics import per_class_auroc

    data = quality.Data("superdiagnostic", data_root, None, signal_cache)
    rows = [quality.Row(f"tiny {k}", "randomconv_ridge", "peer", cpu={"n_kernels": k})
            for k in (84, 168)]
    monkeypatch.setitem(quality.ROWS, "superdiagnostic", rows)
    probas = [quality.run_row(row, data, "cpu", tmp_path / "shared")[0] for row in rows]

    blend_rows.main(["--task", "superdiagnostic", "--data", str(data_root), "--out-dir",
                     str(tmp_path), "--rows", "tiny 84", "tiny 168", "--weights", "1,3",
                     "--versus", "tiny 84", "--per-class", "--n-boot", "20"])
    out = capsys.readouterr().out.splitlines()
    header, rule, positives, *lines = out[2:]
    assert header == "| | " + " | ".join(data.classes) + " | macro |"
    assert positives.split(" | ")[1:-1] == [str(int(n)) for n in data.y_test.sum(0)]
    expected = {"tiny 84": probas[0], "tiny 168": probas[1],
                "weights 1,3": 0.25 * probas[0] + 0.75 * probas[1]}
    assert [line.split(" | ")[0] for line in lines] == [
        "| tiny 84", "| tiny 168", "| weights 1,3", "| tiny 84"]  # the last: --versus
    for line, proba in zip(lines, expected.values()):
        cells = line.strip("| ").split(" | ")[1:]
        aucs = per_class_auroc(data.y_test, proba)
        assert cells[:-1] == ["-" if np.isnan(a) else f"{a:.3f}" for a in aucs]
        macro = quality.score("superdiagnostic", data.y_test, proba, data.classes)
        assert cells[-1] == f"{macro:.3f}"  # the mean the table's macro column gives
    # The blend's line above the table gives the same macro AUROC.
    assert out[1].startswith(f"weights 1,3: {lines[2].strip('| ').split(' | ')[-1]} [")

    with pytest.raises(SystemExit) as exc:  # one AUROC: nothing per class to table
        blend_rows.main(["--task", "binary", "--data", str(data_root), "--rows", "tiny 84",
                         "--per-class"])
    assert exc.value.code == 2
    assert "--per-class tables the AUROC of each class of a multi-label task" in \
        capsys.readouterr().err


def test_rows_for_filters_by_name_and_leaves_seed_rows_out_of_select(quality):
    every = quality.rows_for("af", ablation=True)
    assert every == quality.ABLATION["af"]
    seeds = [r for r in every if "second seed" in r.name]
    assert len(seeds) == 2 and not any(r.select for r in seeds)
    chosen = quality.rows_for("af", ablation=True, select=True)
    assert chosen == [r for r in every if r not in seeds]
    dualnets = quality.rows_for("af", ablation=True, parts=["dual-input", "DualNet"])
    assert len(dualnets) == 4
    assert quality.rows_for("af", ablation=True, parts=["dual-input", "DualNet"],
                            select=True) == [r for r in dualnets if r not in seeds]
    assert [r.name for r in quality.rows_for("af")] == [r.name for r in quality.ROWS["af"]]


def test_every_blend_command_in_benchmarks_names_one_row_each(quality, blend_rows):
    """BENCHMARKS.md's blend_rows.py commands must still run when rows are added."""
    import re
    import shlex

    text = re.sub(r"\s+", " ", (ROOT / "BENCHMARKS.md").read_text())
    # Whole commands, and their arguments quoted alone (`--task af --rows ...`).
    commands = re.findall(r"`(?:python bench/blend_rows\.py )?(--task [^`]*)`", text)
    assert len(commands) >= 8
    parser = blend_rows.build_parser()
    checked = 0
    for command in commands:
        if command.startswith("--task TASK"):  # a usage line
            continue
        args = parser.parse_args(shlex.split(command))
        named = [(args.rows_task or args.task, part) for part in args.rows]
        named += [(args.task, part) for part in args.versus or []]
        for task, part in named:
            if part.isupper():  # a placeholder: --rows ROW --versus OTHER_ROW
                continue
            assert blend_rows.find_row(task, part) is not None  # else SystemExit
            checked += 1
    assert checked >= 15


def test_rows_that_match_nothing_are_an_error_that_names_them(quality, capsys, tmp_path):
    quality.check_rows(["af"], ["reference", "DualNet"], ablation=True)
    quality.check_rows(["superdiagnostic", "af"], ["IncepSE"], ablation=True)  # one task enough
    with pytest.raises(ValueError, match=r"'IncepSE': no ablation rows of af"):
        quality.check_rows(["af"], ["reference", "IncepSE"], ablation=True)
    with pytest.raises(ValueError, match=r"'second seed': no ablation selection rows"):
        quality.check_rows(["af"], ["second seed"], ablation=True, select=True)
    with pytest.raises(SystemExit):  # before any data is read (an empty folder here)
        quality.main(["--data", str(tmp_path), "--tasks", "af", "--rows", "no such row"])
    assert "'no such row': no table rows of af contain it" in capsys.readouterr().err


def test_a_task_whose_records_are_missing_is_refused_before_any_fit(quality, data_root,
                                                                     monkeypatch, capsys,
                                                                     tmp_path):
    # A --test-data root without CinC 2017 ended the command at 'af', after the PTB-XL
    # rows had been fitted, and no table was written.
    def fit(*args, **kwargs):
        raise AssertionError("a row was fitted")

    monkeypatch.setattr(quality, "run_row", fit)
    external = tmp_path / "other"
    external.mkdir()
    (external / "ptb-xl").symlink_to(data_root / "ptb-xl")
    out = tmp_path / "table.md"
    with pytest.raises(SystemExit) as exc:
        quality.main(["--data", str(data_root), "--test-data", str(external), "--tasks",
                      "binary", "af", "--rows", "MiniRocket", "--out", str(out),
                      "--cache-dir", str(tmp_path / "cache")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "task 'af': no cinc2017 records for task 'af' under" in err
    assert not out.exists()


def test_every_quality_command_in_benchmarks_picks_rows_with_each_name(quality):
    """BENCHMARKS.md's quality.py --rows commands must keep picking what they name."""
    import re
    import shlex

    text = (ROOT / "BENCHMARKS.md").read_text().replace("\\\n", " ")  # shell continuations
    text = re.sub(r"\s+", " ", text)
    commands = [c for c in re.findall(r"python bench/quality\.py ([^`]*?)(?:`|$| python )", text)
                if "--rows" in c]
    assert len(commands) >= 3
    parser = quality.build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command))
        quality.check_rows(args.tasks, args.rows, ablation=args.ablation, select=args.select)


def test_every_row_builds_its_estimator(quality):
    """Each row's pipeline (a named one, or a recipe under bench/) loads and builds with the
    parameters of both presets, so no row is found broken only when it is fitted."""
    from sklearn.base import clone

    rows = [row for table in (quality.ROWS, quality.ABLATION) for rs in table.values()
            for row in rs]
    assert any(row.pipeline.endswith("beat_cnn.py") for row in rows)
    for row in rows:
        module = quality.load_pipeline_module(row.pipeline)
        for preset in ("cpu", "gpu"):
            clone(module.make_pipeline(**row.params(preset)))


def test_stale_names_why_a_saved_row_cannot_be_reused(quality):
    from types import SimpleNamespace

    from sklearn.linear_model import LogisticRegression

    class Scored:  # what stale() reads of a Data
        y_test = np.zeros(3)
        test_records = "abc"
        test_order = "abc in order"
        train_records = "fit"
        plan = SimpleNamespace(train=np.arange(5), valid=np.arange(5, 7))

    def recipe(make_pipeline, rate=100):
        return SimpleNamespace(make_pipeline=make_pipeline, SAMPLING_RATE=rate, LENGTH=None)

    today = recipe(lambda *, C=1.0, max_iter=100: LogisticRegression(C=C, max_iter=max_iter))
    meta = {"resolved": quality.resolved_params(today, {}), "n_test": 3, "test_records": "abc",
            "n_train": 7, "train_records": "fit"}
    assert quality.stale(meta, today, {}, Scored) is None
    # Fitted on other records (scoring the same ones): it was reused as this run's fit.
    assert quality.stale({**meta, "train_records": "other"}, today, {}, Scored) == \
        "was fitted on other records"
    unprinted = {k: v for k, v in meta.items() if k != "train_records"}  # saved before it
    assert quality.stale(unprinted, today, {}, Scored) is None
    assert quality.stale({**unprinted, "n_train": 5}, today, {}, Scored) is None  # no networks
    assert quality.stale({**unprinted, "n_train": 3}, today, {}, Scored) == \
        "was fitted on other records"
    assert quality.stale(meta, today, {"C": 2.0}, Scored) == "was fitted with other parameters"
    assert quality.stale({**meta, "n_test": 4}, today, {}, Scored) == \
        "was fitted with other parameters"
    assert quality.stale({**meta, "test_records": "xyz"}, today, {}, Scored) == \
        "scored other records"
    old = {k: v for k, v in meta.items() if k != "test_records"}  # saved before fingerprints
    assert quality.stale(old, today, {}, Scored) is None
    # The same records in another order: the saved rows would be scored against other
    # records' targets (an external root listing them otherwise was reused).
    assert quality.stale({**meta, "test_order": "abc in order"}, today, {}, Scored) is None
    assert quality.stale({**meta, "test_order": "cba"}, today, {}, Scored) == \
        "scored the records in another order"
    assert quality.stale(meta, recipe(today.make_pipeline, rate=50), {}, Scored) == \
        "was fitted with other parameters"  # another input

    # Rows saved before `config` are rebuilt from their saved parameters today.
    # The pipeline now takes `verbose`; a default of 0 builds the same estimator.
    added = recipe(lambda *, C=1.0, max_iter=100, verbose=0: LogisticRegression(
        C=C, max_iter=max_iter, verbose=verbose))
    assert quality.resolved_params(added, {}) != meta["resolved"]
    assert quality.stale(meta, added, {}, Scored) is None
    assert quality.stale(meta, added, {"verbose": 1}, Scored) == \
        "was fitted with other parameters"
    # A changed default that reaches the estimator, or one the pipeline no longer takes.
    changed = recipe(lambda *, C=0.5, max_iter=100: LogisticRegression(C=C, max_iter=max_iter))
    assert quality.stale(meta, changed, {}, Scored) == "was fitted with other parameters"
    dropped = recipe(lambda *, C=1.0: LogisticRegression(C=C))
    assert quality.stale(meta, dropped, {}, Scored) == "was fitted with other parameters"

    # With the estimator's parameters saved (`config`), a parameter added with a default
    # that changes the recipe is seen too; rebuilt from the saved parameters, it is not.
    added_on = recipe(lambda *, C=1.0, max_iter=100, verbose=1: LogisticRegression(
        C=C, max_iter=max_iter, verbose=verbose))
    config = quality.estimator_config(today, meta["resolved"])
    assert config["C"] == 1.0 and config["verbose"] == 0
    with_config = {**meta, "config": config}
    assert quality.stale(with_config, added, {}, Scored) is None
    assert quality.stale(with_config, added_on, {}, Scored) == \
        "was fitted with other parameters"
    assert quality.stale(meta, added_on, {}, Scored) is None  # why run_row records config
    assert quality.stale(with_config, changed, {}, Scored) == "was fitted with other parameters"


def test_estimator_config_names_nested_estimators_by_class(quality):
    from types import SimpleNamespace

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    module = SimpleNamespace(make_pipeline=lambda *, C=1.0: Pipeline(
        [("scale", StandardScaler()), ("model", LogisticRegression(C=C))]))
    config = quality.estimator_config(module, {"C": 2.0, "_input": {}})
    assert config["model__C"] == 2.0 and config["model"] == "LogisticRegression"
    assert config["steps"] == [["scale", "StandardScaler"], ["model", "LogisticRegression"]]
    assert config == quality.estimator_config(module, {"C": 2.0, "_input": {}})


def test_a_private_subclass_is_named_by_its_public_class(quality):
    # make_feature_baseline now builds a _FeatureBaseline(Pipeline): saved rows named
    # it Pipeline, and every one of them was "fitted with other parameters".
    from types import SimpleNamespace

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from ecgsk.baselines import make_feature_baseline

    class _Private(Pipeline):
        pass

    assert quality._json_value(_Private([("m", LogisticRegression())])) == "Pipeline"
    assert quality._json_value(make_feature_baseline(sampling_rate=100)) == "Pipeline"
    module = SimpleNamespace(make_pipeline=lambda: _Private([("m", LogisticRegression())]))
    assert quality.estimator_config(module, {"_input": {}})["m"] == "LogisticRegression"


def test_the_dualnet_rows_train_ecgsk_cincs_dualnet_member(quality):
    """BENCHMARKS blends the ablation's DualNet row as that member: they must be one recipe."""
    import json

    from ecgsk.compare import load_pipeline_module

    def params(est):
        return json.loads(json.dumps(est.get_params(deep=True), default=quality._json_value))

    row, = [r for r in quality.ABLATION["af"] if r.name.startswith("DualNet without SE")]
    alone = load_pipeline_module("dualnet_l").make_pipeline(**row.params("cpu"))
    member = dict(load_pipeline_module("ecgsk_cinc").make_pipeline(
        members=("dualnet",)).estimators)["dualnet"]
    assert params(alone) == params(member)


def test_external_records_are_read_in_the_training_lead_order(quality, ptbxl_root, tmp_path,
                                                              signal_cache):
    # --test-data's records were read in their own lead order: those of a root listing
    # V6 first reached the weights learnt for lead I, and were scored without a word.
    import wfdb

    from ..conftest import copy_ptbxl

    data = quality.Data("binary", ptbxl_root, None, signal_cache)
    other, records = copy_ptbxl(ptbxl_root, tmp_path / "other", per_fold=2)
    for record in records:
        rec = wfdb.rdrecord(str(record))
        keep = list(range(12))[::-1]
        wfdb.wrsamp(record.name, fs=rec.fs, units=[rec.units[i] for i in keep],
                    sig_name=[rec.sig_name[i] for i in keep], p_signal=rec.p_signal[:, keep],
                    fmt=[rec.fmt[i] for i in keep], adc_gain=[rec.adc_gain[i] for i in keep],
                    baseline=[rec.baseline[i] for i in keep], write_dir=str(record.parent))
    ext = quality.Data("binary", ptbxl_root, other, signal_cache)
    names = [str(p).rpartition("/")[2] for p in ext.ext[0].X]
    assert names  # fold 10's patients: none learnt from
    own = {str(p).rpartition("/")[2]: i for i, p in enumerate(data.ds.X)}
    expected = data.signals("own", 100, 1000)[[own[n] for n in names]]
    np.testing.assert_allclose(ext.signals("ext", 100, 1000), expected, atol=1e-3)
