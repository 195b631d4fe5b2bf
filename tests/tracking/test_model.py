"""log_model: one MLflow model with an sklearn flavour and a probability pyfunc on raw signals."""

import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ecgsk.tracking import log_model, predict_proba_matrix, setup_tracking, tracked_run


def _lead_stats():
    # numpy functions only: picklable by reference, so a fresh process can load the model.
    return FeatureUnion([("mean", FunctionTransformer(np.mean, kw_args={"axis": -1})),
                         ("std", FunctionTransformer(np.std, kw_args={"axis": -1}))])


def _signals(rng, y, n_leads=2, n_samples=50):
    scale = 1.0 + np.asarray(y, dtype=float).reshape(len(y), -1)[:, :n_leads].sum(1)
    X = rng.normal(size=(len(y), n_leads, n_samples)) * scale[:, None, None]
    return X.astype(np.float32)


@pytest.fixture
def single_label(rng):
    y = np.arange(90) % 3  # class indices into classes
    X = _signals(rng, y)
    pipe = Pipeline([("stats", _lead_stats()), ("scale", StandardScaler()),
                     ("clf", LogisticRegression())]).fit(X, y)
    return pipe, X, ["N", "A", "~"]


def test_model_flavours_signature_and_example(tracking_uri, client, single_label):
    pipe, X, classes = single_label
    setup_tracking(tracking_uri, "models")
    path = list(sys.path)
    with tracked_run("model") as run:
        info = log_model(pipe, classes=classes, input_example=X[:5])
    assert info.run_id == run.info.run_id
    # MLflow's check of the model it logs put two deleted temp folders on sys.path.
    assert sys.path == path
    local = mlflow.artifacts.download_artifacts(info.model_uri)
    meta = Model.load(local)
    assert set(meta.flavors) == {"sklearn", "python_function"}
    assert meta.flavors["python_function"]["loader_module"] == "ecgsk.tracking._model"
    inputs = meta.signature.inputs.inputs[0]
    assert inputs.shape == (-1, 2, 50) and inputs.type == np.dtype("float32")
    assert meta.signature.outputs.input_names() == classes
    example = meta.load_input_example(local)
    np.testing.assert_array_equal(example, X[:2])  # trimmed to two records
    reqs = open(f"{local}/requirements.txt").read().split()
    names = {req.split("==")[0] for req in reqs}
    # ecgsk==0.1.0 was required, which no package index has: an environment built from
    # the model's requirements (mlflow models serve, a Docker image) could not install.
    assert not any(req.startswith("ecgsk") for req in reqs)
    assert {"mlflow", "cloudpickle", "numpy", "scipy", "scikit-learn", "wfdb",
            "PyWavelets", "imbalanced-learn"} <= names
    assert not names & {"torch", "timm", "skorch", "optuna", "psycopg2-binary"}
    assert all("==" in req for req in reqs)
    assert meta.flavors["python_function"]["code"] == "code"  # ecgsk's code travels in it
    assert (Path(local) / "code" / "ecgsk" / "tracking" / "_model.py").is_file()
    assert not list((Path(local) / "code").rglob("__pycache__"))
    # The sklearn flavour is the pipeline itself.
    loaded = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict_proba(X), pipe.predict_proba(X))
    # runs:/ URIs resolve to the same model.
    frame = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict(X[:3])
    assert list(frame.columns) == classes


def test_pyfunc_in_fresh_process_matches_pipeline(tracking_uri, single_label, tmp_path):
    pipe, X, classes = single_label
    setup_tracking(tracking_uri, "models")
    with tracked_run("model"):
        info = log_model(pipe, classes=classes, input_example=X[:2])
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(f"""
        import mlflow, numpy as np
        mlflow.set_tracking_uri({tracking_uri!r})
        model = mlflow.pyfunc.load_model({info.model_uri!r})
        model.predict(np.load({str(tmp_path / "X.npy")!r})).to_csv({str(tmp_path / "p.csv")!r},
                                                                   index=False)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    fresh = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert list(fresh.columns) == classes
    np.testing.assert_allclose(fresh.to_numpy(), pipe.predict_proba(X), rtol=1e-6)


def test_multilabel_columns_and_dtype_enforced(tracking_uri, rng):
    y = (rng.random((80, 3)) < 0.5).astype(int)
    X = _signals(rng, y, n_leads=3)
    pipe = Pipeline([("stats", _lead_stats()), ("clf", OneVsRestClassifier(
        LogisticRegression()))]).fit(X, y)
    setup_tracking(tracking_uri, "models")
    with tracked_run("multilabel"):
        info = log_model(pipe, classes=["NORM", "MI", "STTC"], input_example=X[:2],
                         registered_model_name="ecg-multilabel")
    model = mlflow.pyfunc.load_model(info.model_uri)
    frame = model.predict(X)
    assert list(frame.columns) == ["NORM", "MI", "STTC"]
    np.testing.assert_allclose(frame.to_numpy(), pipe.predict_proba(X))
    with pytest.raises(MlflowException, match="dtype"):
        model.predict(X.astype(np.float64))  # documented: float32 signals
    with pytest.raises(MlflowException, match="shape"):
        model.predict(X[:, :2])
    assert info.registered_model_version == 1
    version = mlflow.MlflowClient().get_model_version("ecg-multilabel", "1")
    assert version.source == info.model_uri or version.model_id == info.model_id


def test_predict_proba_matrix_shapes(rng):
    X = rng.normal(size=(40, 4))
    y = np.arange(40) % 3
    # A class missing from training (index 3) gets a column of zeros.
    lr = LogisticRegression().fit(X, y)
    proba = predict_proba_matrix(lr, X, 4)
    np.testing.assert_allclose(proba[:, :3], lr.predict_proba(X))
    assert (proba[:, 3] == 0).all()
    # Multi-label forests give one (n, 2) array per label; a label always 0 in training too.
    Y = np.column_stack([y == 0, y == 1, np.zeros(40, bool)]).astype(int)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, Y)
    proba = predict_proba_matrix(forest, X, 3)
    np.testing.assert_allclose(proba[:, 0], forest.predict_proba(X)[0][:, 1])
    assert proba.shape == (40, 3) and (proba[:, 2] == 0).all()
    # Labels that are not indices cannot be placed without the class names.
    named = LogisticRegression().fit(X, np.array(["a", "b", "c"])[y])
    with pytest.raises(ValueError, match="3 columns for 4 classes"):
        predict_proba_matrix(named, X, 4)
    # With them, by name: CinC's N, A, O, ~ against classes_ sorted A, N, O, ~.
    cinc = LogisticRegression().fit(X, np.array(["N", "A", "~"])[y])
    assert cinc.classes_.tolist() == ["A", "N", "~"]
    proba = predict_proba_matrix(cinc, X, 4, ["N", "A", "O", "~"])
    raw = cinc.predict_proba(X)
    np.testing.assert_allclose(proba[:, [1, 0, 3]], raw)
    assert (proba[:, 2] == 0).all()  # O, never in training
    with pytest.raises(ValueError, match=r"fitted on the labels \['~'\] that are not among "
                                         r"the classes \['N', 'A', 'O'\]"):
        predict_proba_matrix(cinc, X, 3, ["N", "A", "O"])
    # Integer codes that are not indices (SNOMED's) are labels too: placed by name. They
    # came back in classes_'s sorted order under the task's labels, metrics swapped.
    codes = [426783006, 164889003]  # sinus rhythm, AF: the task's order, not sorted
    snomed = LogisticRegression().fit(X, np.array(codes)[y % 2])
    proba = predict_proba_matrix(snomed, X, 2, codes)
    np.testing.assert_allclose(proba[:, [1, 0]], snomed.predict_proba(X))


def test_a_model_fitted_on_string_labels_logs_its_columns_by_name(tracking_uri, rng):
    # Logged with classes=ds.classes (N, A, O, ~), the columns were classes_'s (A, N, O, ~):
    # ecgsk.predict called CinC's A00001 (N) "A".
    y = np.array(["N", "A", "O", "~"])[np.arange(80) % 4]
    X = _signals(rng, np.arange(80) % 4)
    pipe = Pipeline([("stats", _lead_stats()), ("clf", LogisticRegression())]).fit(X, y)
    setup_tracking(tracking_uri, "models")
    with tracked_run("strings"):
        info = log_model(pipe, classes=["N", "A", "O", "~"], input_example=X[:2])
    out = mlflow.pyfunc.load_model(info.model_uri).predict(X[:5])
    raw = pd.DataFrame(pipe.predict_proba(X[:5]), columns=pipe.classes_)
    np.testing.assert_allclose(out[["N", "A", "O", "~"]].to_numpy(),
                               raw[["N", "A", "O", "~"]].to_numpy(), rtol=1e-6)


def test_the_input_example_is_float32_and_three_dimensional(tracking_uri, single_label):
    # A float64 example made a float64 signature that ecgsk.predict's float32 records
    # failed against; a 2-D one stored a shape ecgsk.predict could not read.
    pipe, X, classes = single_label
    setup_tracking(tracking_uri, "models")
    with tracked_run("example"):
        info = log_model(pipe, classes=classes, input_example=X[:2].astype(np.float64))
        with pytest.raises(ValueError, match=r"input_example must be .* \(n, leads, samples\); "
                                             r"got shape \(2, 50\).*pass X\[:, None, :\]"):
            log_model(pipe, classes=classes, input_example=X[:2, 0])
    inputs = Model.load(info.model_uri).signature.inputs.to_dict()
    assert inputs[0]["tensor-spec"]["dtype"] == "float32"
    assert mlflow.pyfunc.load_model(info.model_uri).predict(X[:3]).shape == (3, 3)


def test_a_pipeline_that_reads_records_is_refused_saying_what_to_log(tracking_uri,
                                                                     single_label):
    # Its loader got the signals of input_example and failed deep inside: "X must be a
    # 1-D array-like of record paths".
    from ecgsk.preprocessing import WFDBLoader

    pipe, X, classes = single_label
    reading = Pipeline([("load", WFDBLoader()), *pipe.steps])
    setup_tracking(tracking_uri, "models")
    with tracked_run("loader"):
        with pytest.raises(ValueError, match=r"first step 'load' is a WFDBLoader, which reads "
                                             r"record paths, .* log the rest, pipeline\[1:\]"):
            log_model(reading, classes=classes, input_example=X[:2])


def test_a_pipeline_that_keeps_some_leads_is_a_model_of_those_leads(tracking_uri, rng,
                                                                     tmp_path):
    # ecgcnn_ptb with leads=("II",) learnt from lead II of 15-lead records, and its model then
    # asked for all 15: a one-lead record was refused for "no lead 'i', 'iii', ...".
    import wfdb

    from ecgsk.predict import load_ecg_model, predict_records
    from ecgsk.preprocessing import LeadSelector

    y = np.arange(60) % 2
    X = _signals(rng, y, n_leads=3)[:, ::-1].copy()  # lead III carries the classes
    pipe = Pipeline([("leads", LeadSelector(leads=[2])), ("stats", _lead_stats()),
                     ("clf", LogisticRegression())]).fit(X, y)
    setup_tracking(tracking_uri, "models")
    with tracked_run("leads"):
        info = log_model(pipe, classes=["no", "yes"], input_example=X[:2], sampling_rate=100,
                         lead_names=["I", "II", "III"])
    model = load_ecg_model(info.model_uri, tracking_uri=tracking_uri)
    assert model.lead_names == ["III"] and model.n_leads == 1
    np.testing.assert_allclose(model.pyfunc.predict(X[:, [2]]).to_numpy(),
                               pipe.predict_proba(X), rtol=1e-6)
    logged = mlflow.sklearn.load_model(info.model_uri)
    assert [name for name, _ in logged.steps] == ["stats", "clf"]  # without the selector
    wfdb.wrsamp("one", fs=100, units=["mV"], sig_name=["III"], fmt=["32"],
                p_signal=X[0, 2][:, None].astype(np.float64), write_dir=str(tmp_path))
    prediction = predict_records(model, [str(tmp_path / "one")])
    assert prediction.rejected == []
    np.testing.assert_allclose(prediction.table[["no", "yes"]].to_numpy(),
                               pipe.predict_proba(X[:1]), atol=1e-4)


def test_log_model_errors(tracking_uri, single_label, rng):
    pipe, X, classes = single_label
    setup_tracking(tracking_uri, "models")
    with tracked_run("errors"):
        with pytest.raises(ValueError, match="input_example"):
            log_model(pipe, classes=classes, input_example=X[0, 0])
        with pytest.raises(ValueError, match="distinct"):
            log_model(pipe, classes=["N", "N", "A"], input_example=X[:2])
        with pytest.raises(TypeError, match="predict_proba"):
            log_model(StandardScaler().fit(X[:, 0]), classes=classes, input_example=X[:2])
        # "multi-label" was logged, and predict took the most probable class alone.
        with pytest.raises(ValueError, match=r"task_type must be one of \('multilabel', "
                                             r"'cinc', 'binary', 'multiclass'\) or None, "
                                             r"got 'multi-label'"):
            log_model(pipe, classes=classes, input_example=X[:2], task_type="multi-label")
        # A task type the model does not fit: predict chose between the first two classes
        # (binary), or kept one label of a label matrix (a single-label type).
        with pytest.raises(ValueError, match=r"task_type='binary' needs two classes, got 3"):
            log_model(pipe, classes=classes, input_example=X[:2], task_type="binary")
        Y = np.column_stack([np.arange(90) % 2, np.arange(90) % 3 == 0]).astype(int)
        multi = Pipeline([("stats", _lead_stats()), ("scale", StandardScaler()),
                          ("clf", KNeighborsClassifier())]).fit(_signals(rng, Y[:, 0]), Y)
        for task_type in ("multiclass", "cinc"):
            with pytest.raises(ValueError, match=rf"task_type='{task_type}' is single-label, "
                                                 r"but .* sum to .* pass task_type='multilabel'"):
                log_model(multi, classes=["a", "b"], input_example=X[:5], task_type=task_type)
        log_model(multi, classes=["a", "b"], input_example=X[:5], task_type="multilabel")


def test_a_net_that_predicted_with_amp_on_a_gpu_is_logged_without_it(tracking_uri, rng):
    # Logged for the CPU with amp=True, it predicted through the CPU's bfloat16 autocast,
    # up to 0.02 from its float16 results on the GPU; float32 is nearer them.
    import torch

    from ecgsk.neural import ECGNetClassifier

    y = np.arange(40) % 2
    X = _signals(rng, y)
    net = ECGNetClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(100, 1)),
                           max_epochs=1, amp=True, device="cpu", random_state=0).fit(X, y)
    setup_tracking(tracking_uri, "models")
    with tracked_run("amp"):
        on_cpu = mlflow.sklearn.load_model(
            log_model(net, classes=["no", "yes"], input_example=X[:2]).model_uri)
        assert on_cpu.amp is True  # fitted and scored on the CPU: as it was
        vars(net)["device"] = "cuda"  # as if fitted there
        try:
            info = log_model(net, classes=["no", "yes"], input_example=X[:2])
        finally:
            assert vars(net)["device"] == "cuda" and net.amp is True  # the caller's, as it was
            vars(net)["device"] = "cpu"
    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert loaded.device == "cpu" and loaded.amp is False
    np.testing.assert_allclose(loaded.predict_proba(X),
                               net.set_params(amp=False).predict_proba(X), rtol=1e-6)


def test_the_fitted_members_of_an_ensemble_are_logged_on_the_cpu(tracking_uri, rng):
    # Only the unfitted templates of get_params were moved: a member fitted on "cuda:1"
    # was logged tied to it.
    import skorch
    import torch

    from ecgsk.ensemble import SoftVotingEnsemble

    y = np.arange(40) % 2
    X = _signals(rng, y)
    net = skorch.NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(100, 2), torch.nn.Softmax(-1)),
        max_epochs=1, verbose=0, train_split=None)
    ens = SoftVotingEnsemble([("a", net), ("b", clone(net))]).fit(X, y)
    expected = ens.predict_proba(X)
    for member in ens.estimators_:
        member.device = "cuda:1"  # as if fitted there
    setup_tracking(tracking_uri, "models")
    with tracked_run("ensemble"):
        info = log_model(ens, classes=["no", "yes"], input_example=X[:2])
    assert [m.device for m in ens.estimators_] == ["cuda:1", "cuda:1"]  # the caller's
    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert [m.device for m in loaded.estimators_] == ["cpu", "cpu"]
    np.testing.assert_allclose(loaded.predict_proba(X), expected, rtol=1e-6)


def test_skorch_net_logged_with_cpu_device(tracking_uri, rng):
    import skorch
    import torch
    y = np.arange(40) % 2
    X = _signals(rng, y)
    net = skorch.NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(100, 2), torch.nn.Softmax(-1)),
        max_epochs=1, verbose=0, train_split=None).fit(X, y)
    expected = net.predict_proba(X)
    net.device = "cuda:3"  # as if trained there: the logged copy must say "cpu"
    setup_tracking(tracking_uri, "models")
    with tracked_run("skorch"):
        info = log_model(net, classes=["no", "yes"], input_example=X[:2])
    assert net.device == "cuda:3"  # the caller's net is left as it was
    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert loaded.device == "cpu"
    np.testing.assert_allclose(loaded.predict_proba(X), expected, rtol=1e-6)
    reqs = open(f"{mlflow.artifacts.download_artifacts(info.model_uri)}/requirements.txt").read()
    assert "torch==" in reqs and "skorch==" in reqs and "timm==" in reqs


@pytest.mark.skipif("not __import__('torch').cuda.is_available()",
                    reason="needs a CUDA GPU to train on")
def test_gpu_net_logged_for_cpu(tracking_uri, rng, tmp_path):
    import skorch
    import torch

    y = np.arange(64) % 2
    X = _signals(rng, y)
    net = skorch.NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(100, 2), torch.nn.Softmax(-1)),
        max_epochs=2, device="cuda", verbose=0, train_split=None).fit(X, y)
    setup_tracking(tracking_uri, "models")
    with tracked_run("gpu"):
        info = log_model(net, classes=["no", "yes"], input_example=X[:2])
    assert next(net.module_.parameters()).is_cuda  # the fitted net itself is untouched
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(f"""
        import mlflow, numpy as np
        mlflow.set_tracking_uri({tracking_uri!r})
        X = np.load({str(tmp_path / "X.npy")!r})
        frame = mlflow.pyfunc.load_model({info.model_uri!r}).predict(X)
        net = mlflow.sklearn.load_model({info.model_uri!r})
        assert net.device == "cpu" and not next(net.module_.parameters()).is_cuda
        frame.to_csv({str(tmp_path / "p.csv")!r}, index=False)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv").to_numpy(), net.predict_proba(X),
                               rtol=1e-5)


def test_a_model_loads_where_no_ecgsk_is_installed(tracking_uri, single_label, tmp_path):
    # Its code travels in the model (code/ecgsk), the one that pickled it.
    pipe, X, classes = single_label
    setup_tracking(tracking_uri, "models")
    with tracked_run("model"):
        info = log_model(pipe, classes=classes, input_example=X[:2])
    copy = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "m"))
    np.save(tmp_path / "X.npy", X[:4])
    root = str(Path(__file__).resolve().parents[2])  # the checkout
    code = textwrap.dedent(f"""
        import sys
        # No ecgsk to import: no editable install's finder, no checkout on the path.
        sys.meta_path = [f for f in sys.meta_path
                         if "editable" not in repr(f) and "editable" not in repr(type(f))]
        sys.path = [p for p in sys.path if p not in ("", {root!r})]
        try:
            import ecgsk
            raise SystemExit("ecgsk is importable: " + ecgsk.__file__)
        except ImportError:
            pass
        import numpy as np, mlflow.pyfunc
        frame = mlflow.pyfunc.load_model({copy!r}).predict(np.load({str(tmp_path / "X.npy")!r}))
        import ecgsk
        print(ecgsk.__file__)
        np.save({str(tmp_path / "out.npy")!r}, frame.to_numpy())
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == str(Path(copy) / "code" / "ecgsk" / "__init__.py")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), pipe.predict_proba(X[:4]),
                               rtol=1e-6)


def test_the_requirements_kept_for_a_checkout_are_setup_cfgs():
    # Used where ecgsk runs from a checkout that is not installed.
    import configparser

    from ecgsk.tracking._model import _REQUIREMENTS

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    listed = [line.split(">")[0].split("=")[0].split("<")[0].strip()
              for line in cfg["options"]["install_requires"].splitlines()
              if line.strip() and not line.strip().startswith("#")]
    assert list(_REQUIREMENTS) == listed


def test_ecgsk_imported_from_no_folder_is_required_not_copied(tracking_uri, single_label,
                                                              tmp_path, monkeypatch):
    # From a zip file, copying the package folder failed after every fit was done.
    from ecgsk.tracking import _model

    pipe, X, classes = single_label
    monkeypatch.setattr(_model, "_PACKAGE_DIR", str(tmp_path / "ecgsk.zip" / "ecgsk"))
    monkeypatch.setattr(_model, "_pinned", lambda dist: f"{dist}==1.0")
    setup_tracking(tracking_uri, "models")
    with tracked_run("model"), pytest.warns(UserWarning, match=r"which is no folder: the "
                                                               r"model carries no copy"):
        info = log_model(pipe, classes=classes, input_example=X[:2])
    local = Path(mlflow.artifacts.download_artifacts(info.model_uri))
    assert "ecgsk==1.0" in (local / "requirements.txt").read_text().split()
    assert not (local / "code").exists()


def test_a_helper_module_that_does_not_pickle_by_value_is_pickled_by_reference(
        tracking_uri, tmp_path):
    # A lock among a helper's globals failed every model of its pipeline ("cannot pickle
    # '_thread.lock' object"), which logged when helpers were pickled by reference. It is
    # found when the pipeline loads, once: switching cloudpickle's registry for one model
    # raced with other threads that pickle.
    import cloudpickle

    from ecgsk.compare import load_pipeline_module

    folder = tmp_path / "pl"
    folder.mkdir()
    (folder / "locked_helper_x.py").write_text(
        "import threading\n_LOCK = threading.Lock()\n\n\n"
        "def feature(X):\n    with _LOCK:\n        return X.mean(axis=-1)\n")
    (folder / "locked.py").write_text(textwrap.dedent(f"""
        \"\"\"A feature from a helper module that holds a lock, and logistic regression.\"\"\"

        import sys
        sys.path.insert(0, {str(folder)!r})
        import locked_helper_x
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline as _pipe
        from sklearn.preprocessing import FunctionTransformer

        DATASET, TASK, SAMPLING_RATE = "cinc2017", "af", 300


        def make_pipeline():
            return _pipe(FunctionTransformer(locked_helper_x.feature), LogisticRegression())


        def search_space(trial):
            return {{}}
    """))
    try:
        with pytest.warns(UserWarning, match=r"the module 'locked_helper_x' .* holds a global "
                                             r"that does not pickle"):
            module = load_pipeline_module(folder / "locked.py")
        helper = sys.modules["locked_helper_x"]
        assert helper.__name__ not in cloudpickle.list_registry_pickle_by_value()
        assert [Path(p).name for p, _ in module.__ecgsk_requires__] == ["locked_helper_x.py"]
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(20, 2, 30)).astype(np.float32), np.arange(20) % 2
        pipe = module.make_pipeline().fit(X, y)
        setup_tracking(tracking_uri, "models")
        with tracked_run("model"):
            info = log_model(pipe, classes=["a", "b"], input_example=X[:2])
        loaded = mlflow.sklearn.load_model(info.model_uri)  # importable here: by reference
        np.testing.assert_allclose(loaded.predict_proba(X), pipe.predict_proba(X))
    finally:
        sys.modules.pop("locked_helper_x", None)
        while str(folder) in sys.path:
            sys.path.remove(str(folder))
