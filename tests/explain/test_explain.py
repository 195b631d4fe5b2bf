"""ecgsk/explain/_explain.py: the map of the network's input carried back onto the records."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from ecgsk.explain import explain
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import (
    Derivatives,
    LeadSelector,
    PadTruncate,
    RepeatPadding,
    Resample,
    Standardizer,
)

READ = slice(100, 110)  # the only samples of channel 0 that the network reads


class Local(nn.Module):
    """One logit from samples 100..109 of its input's channel 0."""

    def __init__(self, in_channels=1, n_classes=1):
        super().__init__()
        self.lin = nn.Linear(10, n_classes)

    def forward(self, x):
        return self.lin(x[:, 0, READ])


def _fit(*steps, n_leads=1, n_samples=1000):
    rng = np.random.RandomState(0)
    X = rng.randn(40, n_leads, n_samples).astype(np.float32)
    net = ECGNetClassifier(Local, max_epochs=1, train_split=None, verbose=0, random_state=0)
    return make_pipeline(*steps, net).fit(X, np.arange(40) % 2), rng


def _where(explanation, lead=0):
    return np.flatnonzero(explanation.relevance[0, lead] > 1e-8)


def test_padding_keeps_the_time_of_every_sample():
    model, rng = _fit(PadTruncate(length=1000))
    ex = explain(model, rng.randn(1, 1, 800).astype(np.float32), method="saliency")
    assert ex.relevance.shape == (1, 1, 800)
    np.testing.assert_array_equal(_where(ex), np.arange(100, 110))
    assert ex.signals.shape == (1, 1, 800) and ex.notes == []


@pytest.mark.parametrize("crop, start", [("center", 250), ("left", 0)])
def test_cropping_places_the_map_on_the_samples_the_network_sees(crop, start):
    model, rng = _fit(PadTruncate(length=1000, crop=crop))
    ex = explain(model, rng.randn(1, 1, 1500).astype(np.float32), method="saliency")
    np.testing.assert_array_equal(_where(ex), np.arange(100, 110) + start)
    assert ex.notes == [f"the network sees samples {start} to {start + 999} of the 1500 given "
                        "(PadTruncate): the others have no relevance"]


def test_resampling_stretches_the_map():
    model, rng = _fit(Resample(rate=50, sampling_rate=100), n_samples=2000)
    ex = explain(model, rng.randn(1, 1, 2000).astype(np.float32), method="saliency")
    where = _where(ex)
    assert 195 <= where.min() and where.max() <= 225  # samples 100..109 at half the rate
    assert "stretched to the 2000 samples given" in ex.notes[0]


def test_selected_leads_get_the_map_of_their_channel():
    model, rng = _fit(LeadSelector(leads=[1, 0]), n_leads=2)
    ex = explain(model, rng.randn(1, 2, 1000).astype(np.float32), method="saliency")
    assert _where(ex, lead=0).size == 0  # the network's channel 0 is lead 1
    np.testing.assert_array_equal(_where(ex, lead=1), np.arange(100, 110))
    assert "leads [1, 0] of the record" in ex.notes[0]


def test_the_steps_of_a_nested_pipeline_are_applied_and_traced():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 1, 1000).astype(np.float32)
    inner = Pipeline([("length", PadTruncate(length=1000)),
                      ("net", ECGNetClassifier(Local, max_epochs=1, train_split=None, verbose=0,
                                               random_state=0))])
    model = Pipeline([("scale", Standardizer()), ("model", inner)]).fit(X, np.arange(40) % 2)
    ex = explain(model, rng.randn(1, 1, 1500).astype(np.float32), method="saliency")
    np.testing.assert_array_equal(_where(ex), np.arange(350, 360))


@pytest.mark.parametrize("step", [
    Derivatives(order=1),  # two channels of one lead
    FunctionTransformer(lambda X: X[:, :, ::2]),  # a step of one's own
], ids=["Derivatives", "FunctionTransformer"])
def test_a_step_that_cannot_be_traced_back_shows_its_output(step):
    model, rng = _fit(step, Standardizer(), n_samples=2000)
    X = rng.randn(1, 1, 2000).astype(np.float32)
    ex = explain(model, X, method="saliency")
    shown = model[:1].transform(X)
    np.testing.assert_array_equal(ex.signals, shown)
    assert ex.relevance.shape == shown.shape
    name = type(step).__name__
    assert ex.notes[0] == (f"{name} turns the 1 x 2000 records into {shown.shape[1]} x "
                           f"{shown.shape[2]}, which cannot be traced back: the relevance is "
                           "drawn on its output")
    assert ex.aligned is (shown.shape[2] == 2000)  # the step of one's own halves them
    assert ex.notes[1:] == ([] if ex.aligned else [
        f"the samples of {name}'s output are not those of the records given (they were "
        "resampled or cropped): the time axis counts the samples of its output"])


def test_repeated_padding_gets_the_relevance_of_the_samples_it_copies():
    # The network reads samples 100..109 of a 60-sample record repeated to 1000: copies of
    # its samples 40..49. Their relevance was drawn on the zero padding, with no note.
    model, rng = _fit(RepeatPadding())
    X = np.zeros((2, 1, 1000), dtype=np.float32)
    X[0, :, :60] = rng.randn(1, 60)
    X[1] = rng.randn(1, 1000)  # not padded: left in place
    ex = explain(model, X, method="saliency")
    np.testing.assert_array_equal(_where(ex), np.arange(40, 50))
    np.testing.assert_array_equal(_where(ex.__class__(ex.relevance[1:], ex.signals[1:],
                                                      ex.method)), np.arange(100, 110))
    assert "RepeatPadding fills each record's padding with copies" in ex.notes[0]
    assert ex.aligned


@pytest.mark.parametrize("before, aligned", [
    (Standardizer(), True), (Resample(rate=50, sampling_rate=100), False),
    (PadTruncate(length=1500), False),
], ids=["same samples", "resampled", "cropped"])
def test_a_step_output_says_whether_its_time_axis_is_the_records(before, aligned):
    # After a resampling, the output of Derivatives was plotted on the records' time axis:
    # a 20 s record drawn as 10 s.
    model, rng = _fit(before, Derivatives(order=1), n_samples=2000)
    ex = explain(model, rng.randn(1, 1, 2000).astype(np.float32), method="saliency")
    assert ex.signals.shape[1] == 2 and ex.aligned is aligned
    assert any("the time axis counts the samples of its output" in n
               for n in ex.notes) is not aligned


def test_logged_maps_of_a_resampled_step_output_are_drawn_in_samples(tracking_uri,
                                                                     monkeypatch):
    import mlflow

    from ecgsk.explain import log_explanations
    from ecgsk.tracking import setup_tracking

    model, rng = _fit(Resample(rate=50, sampling_rate=100), Derivatives(order=1))
    axes = []
    monkeypatch.setattr(mlflow, "log_figure",
                        lambda fig, path: axes.append((fig.axes[-2].get_xlabel(),
                                                       fig.axes[-2].get_xlim()[1])))
    setup_tracking(tracking_uri, "explain")
    with mlflow.start_run():
        log_explanations(model, rng.randn(1, 1, 1000).astype(np.float32), classes=["a", "b"],
                         sampling_rate=100, method="saliency")
    # 500 samples of the 50 Hz output, not "Time (s)" up to 5 s for a 10 s record.
    assert axes == [("Sample", pytest.approx(500, abs=1))]


def test_the_predicted_class_of_a_binary_net_follows_its_threshold():
    model, rng = _fit(Standardizer())
    X = rng.randn(30, 1, 1000).astype(np.float32)
    for threshold in (0.0, 1.0):
        model[-1].set_params(threshold=threshold)
        ex = explain(model, X, method="saliency")
        np.testing.assert_array_equal(ex.target, model.predict(X))
        assert set(ex.target) == {1 if threshold == 0.0 else 0}


def test_a_sub_pipeline_before_the_network_is_traced_step_by_step():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 1, 2000).astype(np.float32)
    net = ECGNetClassifier(Local, max_epochs=1, train_split=None, verbose=0, random_state=0)
    prep = make_pipeline(Standardizer(), Resample(rate=50, sampling_rate=100))
    model = Pipeline([("prep", prep), ("net", net)]).fit(X, np.arange(40) % 2)
    ex = explain(model, rng.randn(1, 1, 2000).astype(np.float32), method="saliency")
    where = _where(ex)
    assert ex.signals.shape == (1, 1, 2000) and 195 <= where.min() and where.max() <= 225


def test_a_fitted_search_is_explained_through_its_best_pipeline():
    from sklearn.model_selection import GridSearchCV

    rng = np.random.RandomState(0)
    X = rng.randn(40, 1, 1000).astype(np.float32)
    net = ECGNetClassifier(Local, max_epochs=1, train_split=None, verbose=0, random_state=0)
    pipeline = Pipeline([("length", PadTruncate(length=1000)), ("net", net)])
    search = GridSearchCV(pipeline, {"net__lr": [0.01, 0.1]}, cv=2).fit(X, np.arange(40) % 2)
    ex = explain(search, rng.randn(1, 1, 1500).astype(np.float32), method="saliency")
    assert ex.method == "saliency" and ex.signals.shape == (1, 1, 1500)
    np.testing.assert_array_equal(_where(ex), np.arange(350, 360))  # traced through the crop
    direct = explain(search.best_estimator_, ex.signals, method="saliency")
    np.testing.assert_array_equal(ex.relevance, direct.relevance)


@pytest.mark.parametrize("labels", [None, np.array(["N", "A", "O", "~"])])
def test_the_class_explained_is_the_one_predict_gives_by_windows(labels):
    # A net with crop_length predicts by sliding windows; one pass over the whole
    # record picked another class for 15 of 40 binary records.
    from ecgsk.nets import ResNet1d

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3, 500)).astype("float32")
    y = rng.integers(0, 2, 40) if labels is None else labels[rng.integers(0, 4, 40)]
    model = make_pipeline(Standardizer(), ECGNetClassifier(
        ResNet1d, max_epochs=1, random_state=0, train_split=None, crop_length=100,
        window_aggregate="max")).fit(X, y)
    if labels is None:
        p = model.predict_proba(X)[:, 1]
        model[-1].set_params(threshold=float(np.median(p)))
    predicted = model.predict(X)
    for method in ("saliency", "gradcam"):
        target = explain(model, X, method=method).target
        np.testing.assert_array_equal(model[-1].classes_[target], predicted)


def test_logged_titles_name_the_class_explained(tracking_uri, monkeypatch):
    # The net's outputs follow its sorted classes_ (A, N, O, ~); the titles took them as
    # columns of the task's classes (N, A, O, ~) and named N for a map of A.
    import mlflow

    from ecgsk.explain import log_explanations
    from ecgsk.tracking import setup_tracking

    classes = ["N", "A", "O", "~"]
    rng = np.random.RandomState(0)
    X = rng.randn(40, 1, 200).astype(np.float32)
    net = ECGNetClassifier(Local, max_epochs=1, train_split=None, random_state=0)
    model = make_pipeline(Standardizer(), net).fit(X, np.array(classes * 10))
    titles = []
    monkeypatch.setattr(mlflow, "log_figure",
                        lambda fig, path: titles.append(fig.get_suptitle()))
    setup_tracking(tracking_uri, "explain")
    with mlflow.start_run():
        log_explanations(model, X[:4], classes=classes, method="saliency", target=[0, 1, 2, 3])
    proba = model.predict_proba(X[:4])
    for i, (title, label) in enumerate(zip(titles, net.classes_)):
        assert f"class {label} (p = {proba[i, i]:.2f})" in title, (title, label)
    assert net.classes_.tolist() == ["A", "N", "O", "~"]


def test_a_bare_module_is_logged_with_its_classes_named(tracking_uri, monkeypatch):
    # log_explanations' docstring takes a torch module; it asked the module for
    # predict_proba ("'Local' object has no attribute 'predict_proba'").
    import mlflow

    from ecgsk.explain import log_explanations
    from ecgsk.tracking import setup_tracking

    torch.manual_seed(0)
    module = Local(n_classes=3).eval()
    X = np.random.RandomState(0).randn(2, 1, 200).astype(np.float32)
    titles = []
    monkeypatch.setattr(mlflow, "log_figure",
                        lambda fig, path: titles.append((path, fig.get_suptitle())))
    setup_tracking(tracking_uri, "explain")
    with mlflow.start_run():
        logged = log_explanations(module, X, classes=["a", "b", "c"], records=["r1", "r2"],
                                  method="saliency", target=[2, 0])
    assert logged == ["explain/r1_saliency.png", "explain/r2_saliency.png"]
    assert [t for _, t in titles] == ["r1: gradient saliency — class c",
                                      "r2: gradient saliency — class a"]


def test_an_imbalanced_learn_sampler_before_the_network_is_left_out():
    # As imblearn's pipeline leaves it out when predicting; explain called its transform.
    from imblearn.pipeline import Pipeline as ImbPipeline
    from imblearn.under_sampling import RandomUnderSampler

    rng = np.random.RandomState(0)
    X = rng.randn(40, 1000).astype(np.float32)  # one lead, as the sampler takes it
    net = ECGNetClassifier(Local, max_epochs=1, train_split=None, verbose=0, random_state=0)
    model = ImbPipeline([("under", RandomUnderSampler(random_state=0)), ("net", net)])
    model.fit(X, (np.arange(40) % 4 == 0).astype(int))
    ex = explain(model, X[:2], method="saliency")
    assert ex.relevance.shape == (2, 1, 1000)
    np.testing.assert_array_equal(_where(ex), np.arange(100, 110))
