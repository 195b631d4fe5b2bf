"""Permutation importance of lead × time segments, and explanations logged by compare."""

import mlflow
import numpy as np
import pytest
from matplotlib.image import imread
from mlflow.models import Model
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from ecgsk.compare import CompareError, compare
from ecgsk.explain import auroc_score, explain, log_explanations, permutation_importance_signal
from ecgsk.tracking import setup_tracking

from .conftest import FLAT_LR, write_module


def _flatten(X):
    return X.reshape(len(X), -1)


@pytest.fixture(scope="module")
def cell_model():
    """Only lead 1, samples 40-59 (segment 2 of 5) separate the classes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3, 100)).astype(np.float32)
    y = np.arange(80) % 2
    X[y == 1, 1, 40:60] += 1.5
    pipe = Pipeline([("flat", FunctionTransformer(_flatten)),
                     ("clf", LogisticRegression(C=0.1, max_iter=500))]).fit(X, y)
    return pipe, X, y


def test_the_deciding_cell_is_the_most_important(cell_model):
    pipe, X, y = cell_model
    result = permutation_importance_signal(pipe, X, y, n_segments=5, n_repeats=2)
    assert result.importances_mean.shape == (3, 5)
    assert result.importances.shape == (3, 5, 2)
    assert np.unravel_index(result.importances_mean.argmax(), (3, 5)) == (1, 2)
    others = np.delete(result.importances_mean.ravel(), 1 * 5 + 2)
    assert result.importances_mean[1, 2] > 5 * max(others.max(), 1e-3)
    assert result.baseline_score == pytest.approx(auroc_score(pipe, X, y))
    np.testing.assert_array_equal(result.edges, [0, 20, 40, 60, 80, 100])
    rel = result.relevance()
    assert rel.shape == (3, 100)
    np.testing.assert_allclose(rel[1, 40:60], result.importances_mean[1, 2])
    assert (rel >= 0).all()
    assert result.relevance(50).shape == (3, 50)
    frame = result.to_frame(["I", "II", "III"], sampling_rate=50)
    top = frame.loc[frame["importance_mean"].idxmax()]
    assert (top["lead"], top["start_s"], top["stop_s"]) == ("II", 0.8, 1.2)


def test_custom_scoring_and_explain(cell_model):
    pipe, X, y = cell_model
    acc = permutation_importance_signal(pipe, X, y, n_segments=5, n_repeats=1,
                                        scoring="accuracy")
    assert acc.baseline_score == pytest.approx((pipe.predict(X) == y).mean())
    # One permutation per cell measures no spread (compare --explain): NaN, not 0.
    assert np.isnan(acc.importances_std).all() and np.isnan(acc.to_frame()["importance_std"]).all()
    two = permutation_importance_signal(pipe, X, y, n_segments=5, n_repeats=2)
    np.testing.assert_allclose(two.importances_std, two.importances.std(axis=2))
    ex = explain(pipe, X[:4], method="auto", y=y[:4], n_segments=5, n_repeats=1)
    assert ex.method == "permutation" and ex.target is None
    assert ex.relevance.shape == (4, 3, 100)
    np.testing.assert_array_equal(ex.relevance[0], ex.relevance[3])  # one map for all


def test_log_explanations_takes_the_callers_n_classes(cell_model, tracking_uri, monkeypatch):
    # n_classes is one of explain's keywords; log_explanations passed its own beside it.
    import ecgsk.explain._explain as module

    pipe, X, y = cell_model
    asked, explain_as_is = [], module.explain

    def spy(*args, **kwargs):
        asked.append(kwargs["n_classes"])
        return explain_as_is(*args, **{**kwargs, "n_classes": 2})

    monkeypatch.setattr(module, "explain", spy)
    setup_tracking(tracking_uri, "explain")  # its own experiment, whatever ran before
    with mlflow.start_run():
        log_explanations(pipe, X[:2], classes=["a", "b"], method="permutation", y=y[:2],
                         n_segments=5, n_repeats=1)
    with mlflow.start_run() as run:
        logged = log_explanations(pipe, X[:2], classes=["a", "b"], method="permutation",
                                  y=y[:2], X_score=X, y_score=y, n_classes=3, n_segments=5,
                                  n_repeats=1)
    assert asked == [2, 3]  # len(classes) by default; the caller's value when given
    assert "explain/permutation_importance.csv" in logged
    table = MlflowClient(tracking_uri).download_artifacts(run.info.run_id,
                                                          "explain/permutation_importance.csv")
    assert len(open(table).read().splitlines()) == 1 + 3 * 5  # a header, 3 leads x 5 segments


def test_bad_requests(cell_model):
    pipe, X, y = cell_model
    with pytest.raises(ValueError, match="X has 80 records but y has 79"):
        permutation_importance_signal(pipe, X, y[:-1])
    with pytest.raises(ValueError, match="n_segments=200 is more than the 100 samples"):
        permutation_importance_signal(pipe, X, y, n_segments=200)
    with pytest.raises(ValueError, match="n_repeats must be a positive integer"):
        permutation_importance_signal(pipe, X, y, n_repeats=0)
    with pytest.raises(ValueError, match="AUROC is undefined"):
        permutation_importance_signal(pipe, X, np.zeros_like(y))


def test_integer_labels_partly_unseen_are_refused_not_read_as_indices():
    # Labels 1-3 and one unseen 4 were all read as indices: every column shifted by one.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), np.arange(60) % 3 + 1
    lr = LogisticRegression().fit(X, y)
    assert auroc_score(lr, X, y) > 0.5
    y[0] = 4
    with pytest.raises(ValueError, match=r"y holds \[4\], which are not labels of the "
                                         r"estimator's classes_ \(\[1, 2, 3\]\)"):
        auroc_score(lr, X, y)
    # Labels that are their own indices may name a class absent from the fit (compare's).
    y0 = np.arange(60) % 3
    y0[0] = 3
    assert 0 < auroc_score(LogisticRegression().fit(X, np.arange(60) % 3), X, y0, 4) < 1



def test_integer_classes_skipping_one_are_scored_on_their_own_columns():
    # Classes 0, 1 and 3 of 4 (2 never seen in training, as compare's --explain passes
    # n_classes): label 3 was scored on column 2, the empty column of the unseen class.
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = np.array([0, 1, 3] * 30)
    X = rng.normal(size=(90, 1, 3)) + (y[:, None, None] == [0, 1, 3]) * 1.0
    pipe = Pipeline([("flat", FunctionTransformer(_flatten)),
                     ("clf", LogisticRegression())]).fit(X, y)
    proba = pipe.predict_proba(X)
    expected = np.mean([roc_auc_score(y == c, proba[:, j])
                        for j, c in enumerate(pipe.classes_)])
    assert 0.6 < expected < 1
    assert auroc_score(pipe, X, y) == pytest.approx(expected)
    assert auroc_score(pipe, X, y, n_classes=4) == pytest.approx(expected)
    result = explain(pipe, X, method="permutation", y=y, n_classes=4, n_segments=1,
                     n_repeats=1)
    assert result.permutation.baseline_score == pytest.approx(expected)


TINY_CNN = '''
"""A tiny ECGCNN."""

from sklearn.pipeline import Pipeline

from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Standardizer

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50
LENGTH = 500


def make_pipeline(max_epochs=2, random_state=0):
    return Pipeline([("scale", Standardizer()),
                     ("net", ECGNetClassifier(ECGCNN, module__filters=(8, 16),
                                              module__kernel_sizes=(7, 5), module__dense=(16,),
                                              max_epochs=max_epochs, lr=3e-3, batch_size=32,
                                              random_state=random_state, device="cpu"))])


def search_space(trial):
    return {}
'''


@pytest.mark.slow
def test_compare_explain_logs_relevance_maps(tracking_uri, signal_cache, ptbxl_root, tmp_path):
    folder = tmp_path / "pipelines"
    flat = write_module(folder, "flat_lr", FLAT_LR.format(dataset="ptbxl",
                                                          task="superdiagnostic"))
    cnn = write_module(folder, "tiny_cnn", TINY_CNN)
    with pytest.raises(CompareError, match="explain must be a non-negative"):
        compare([flat], "ptbxl", "superdiagnostic", ptbxl_root, explain=-1,
                tracking_uri=tracking_uri)
    result = compare([flat, cnn], "ptbxl", "superdiagnostic", ptbxl_root, cv=False,
                     max_records=60, n_boot=10, tracking_uri=tracking_uri,
                     experiment="explain", cache_dir=signal_cache, progress=False, explain=2)
    client = MlflowClient(tracking_uri)
    leads = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    for name, method in (("flat_lr", "permutation"), ("tiny_cnn", "gradcam")):
        run = client.get_run(result.pipelines[name].run_id)
        assert "ecgsk.explain_error" not in run.data.tags
        files = {f.path for f in client.list_artifacts(run.info.run_id, "explain")}
        pngs = sorted(p for p in files if p.endswith(f"_{method}.png"))
        assert len(pngs) == 2, files
        image = imread(client.download_artifacts(run.info.run_id, pngs[0]))
        assert image.ndim == 3 and image.shape[0] > 400
        if method == "permutation":
            assert "explain/permutation_importance.csv" in files
        # The logged model carries what python -m ecgsk.predict needs to read new records
        # (compare leaves MLflow's URI as it was: models:/<id> resolves against the global
        # one alone; the fixture restores it).
        mlflow.set_tracking_uri(tracking_uri)
        local = mlflow.artifacts.download_artifacts(result.pipelines[name].model_uri)
        meta = Model.load(local).metadata
        assert meta["ecgsk_sampling_rate"] == 50 and meta["ecgsk_lead_names"] == leads
        assert meta["ecgsk_input_shape"] == [12, 500]
        assert meta["ecgsk_task_type"] == "multilabel"
        assert len(meta["ecgsk_thresholds"]) == 5


@pytest.fixture(scope="module")
def three_classes():
    """Records of classes "N", "A" and "~" (CinC's noisy), each told by its own lead."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 3, 40)).astype(np.float32)
    codes = np.arange(150) % 3
    X[np.arange(150), codes, :10] += 0.8
    labels = np.array(["N", "A", "~"])[codes]
    pipe = Pipeline([("flat", FunctionTransformer(_flatten)),
                     ("clf", LogisticRegression(C=0.05, max_iter=500))])
    return pipe.fit(X[:90], labels[:90]), X[90:], labels[90:]


def test_labels_are_scored_against_the_columns_of_their_classes(three_classes):
    # CinC's y is strings; predict_proba's columns follow the sorted classes_ (A, N, ~).
    from sklearn.metrics import roc_auc_score

    pipe, X, labels = three_classes
    proba = pipe.predict_proba(X)
    expected = np.mean([roc_auc_score(labels == c, proba[:, j])
                        for j, c in enumerate(pipe.classes_)])
    assert 0.6 < expected < 1  # not a perfect score, which any column order would reach
    assert auroc_score(pipe, X, labels) == pytest.approx(expected)
    indices = np.searchsorted(pipe.classes_, labels)  # indices in classes_' order: the same
    assert auroc_score(pipe, X, indices) == pytest.approx(expected)
    result = explain(pipe, X, method="permutation", y=labels, n_segments=2, n_repeats=1)
    assert result.permutation.baseline_score == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"y holds \['Q'\], which are not labels of the "
                                         r"estimator's classes_ \(\['A', 'N', '~'\]\)"):
        auroc_score(pipe, X, np.where(labels == "N", "Q", labels))


def test_records_without_the_last_class_are_scored_with_every_column(three_classes):
    # n_classes came from max(y) + 1 of the records explained: 2 here, for 3 columns.
    pipe, X, labels = three_classes
    keep = labels != "~"
    indices = np.searchsorted(pipe.classes_, labels[keep])
    assert indices.max() == 1
    score = auroc_score(pipe, X[keep], indices)
    assert score == pytest.approx(auroc_score(pipe, X[keep], labels[keep]))
    result = explain(pipe, X[keep], method="permutation", y=indices, n_segments=2,
                     n_repeats=1)
    assert result.permutation.baseline_score == pytest.approx(score)


def test_a_scorer_reads_class_indices_as_the_labels_they_stand_for(three_classes):
    # Only the default AUROC mapped indices: with scoring="accuracy" string labels failed
    # ("Mix of label input types"), and integer labels such as SNOMED codes scored 0.
    from sklearn.metrics import accuracy_score

    pipe, X, labels = three_classes
    indices = np.searchsorted(pipe.classes_, labels)
    expected = accuracy_score(labels, pipe.predict(X))
    assert 0.5 < expected < 1
    for y in (labels, indices):
        result = permutation_importance_signal(pipe, X, y, n_segments=2, n_repeats=1,
                                               scoring="accuracy")
        assert result.baseline_score == pytest.approx(expected)
    with pytest.raises(ValueError, match="class indices out of range for the estimator's 3"):
        permutation_importance_signal(pipe, X, indices + 3, n_segments=2, scoring="accuracy")
    # The default AUROC scored an index past the columns as a record of no class.
    past = np.where(np.arange(len(indices)) % 4 == 0, 5, indices)
    with pytest.raises(ValueError, match=r"y holds class indices out of range for the 3 "
                                         r"probability columns \(values 0 to 5\)"):
        permutation_importance_signal(pipe, X, past, n_segments=2)


def test_what_permutation_importance_cannot_take_is_named(cell_model, tracking_uri):
    from ecgsk.baselines import make_randomconv_ridge

    pipe, X, y = cell_model
    result = permutation_importance_signal(pipe, X, y, n_segments=2, n_repeats=1)
    with pytest.raises(ValueError, match="lead_names names 2 leads, but the importance has 3"):
        result.to_frame(lead_names=["I", "II"])  # an IndexError; 4 names were cut to 3
    with pytest.raises(ValueError, match="lead_names names 4 leads"):
        result.to_frame(lead_names=["I", "II", "III", "aVR"])
    ridge = make_randomconv_ridge(n_kernels=84, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"Pipeline has no predict_proba, which the default "
                                         r"AUROC scoring reads: wrap its classifier in "
                                         r"ecgsk.baselines.DecisionProba"):
        explain(ridge, X, method="permutation", y=y, n_segments=2, n_repeats=1)
    # One lead as (n, samples), as explain takes it: logged the table, then an IndexError.
    one_lead = Pipeline([("flat", FunctionTransformer(_flatten)),
                         ("clf", LogisticRegression())]).fit(X[:, 1], y)
    setup_tracking(tracking_uri, "explain-2d")
    with mlflow.start_run():
        logged = log_explanations(one_lead, X[:2, 1], classes=[0, 1], X_score=X[:, 1],
                                  y_score=y, n_segments=2, n_repeats=1)
    assert {"explain/permutation_importance.csv", "explain/record_0_permutation.png",
            "explain/record_1_permutation.png"} <= set(logged)
