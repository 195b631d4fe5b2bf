"""Gradient saliency and Grad-CAM: every network, and a sanity check on a known cause."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import Pipeline

from ecgsk.explain import explain, find_cam_layer, grad_cam, saliency, target_classes
from ecgsk.explain._gradients import _cam_to_input
from ecgsk.nets import ECGCNN, DualNet, TimmNet
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import PadTruncate

from ..nets.conftest import TINY, build

#: Where Grad-CAM must look in each network: (module class name, "input"/"output").
CAM_LAYERS = {
    "SEResNeXt1d": ("AdaptiveAvgPool1d", "input"),
    "TimmNet": ("SelectAdaptivePool2d", "input"),
    "InceptionTime1d": ("AdaptiveConcatPool1d", "input"),
    "IncepSE": ("AdaptiveConcatPool1d", "input"),
    "DualNet": ("_CondResBlock2d", "output"),
    "ResNet1d": ("AdaptiveConcatPool1d", "input"),
    "ECGCNN": ("AdaptiveAvgPool1d", "input"),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_every_network_gets_saliency_and_grad_cam(name):
    net = build(name, 3, 4)
    X = np.random.default_rng(0).normal(size=(3, 3, 400)).astype(np.float32)
    layer, where = find_cam_layer(net, X)
    assert (type(layer).__name__, where) == CAM_LAYERS[name]
    net.train()
    with torch.no_grad():
        predicted = net.eval()(torch.from_numpy(X)).argmax(1).numpy()
    cam, cam_target = grad_cam(net, X)
    sal, sal_target = saliency(net, X, target=2)
    assert net.training is False  # eval() above; the helpers restore the mode they found
    for rel in (cam, sal):
        assert rel.shape == X.shape and rel.dtype == np.float32
        assert np.isfinite(rel).all() and (rel >= 0).all()
    assert sal.sum() > 0
    np.testing.assert_array_equal(cam_target, predicted)
    np.testing.assert_array_equal(sal_target, [2, 2, 2])


def test_helpers_restore_training_mode():
    net = build("ECGCNN", 2, 2).train()
    X = np.zeros((1, 2, 100), np.float32)
    grad_cam(net, X)
    saliency(net, X)
    assert net.training


def test_saliency_is_the_input_gradient_of_the_logit():
    torch.manual_seed(0)
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 5, 3))
    X = np.random.default_rng(1).normal(size=(2, 2, 5)).astype(np.float32)
    rel, _ = saliency(lin, X, target=1, absolute=False)
    expected = lin[1].weight[1].detach().numpy().reshape(2, 5)
    np.testing.assert_allclose(rel, np.broadcast_to(expected, rel.shape), rtol=1e-6)
    times, _ = saliency(lin, X, target=1, absolute=False, times_input=True)
    np.testing.assert_allclose(times, expected * X, rtol=1e-5)
    with torch.no_grad():  # a caller's no_grad, as around inference code: the same maps
        inside, _ = saliency(lin, X, target=1, absolute=False)
    np.testing.assert_array_equal(inside, rel)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_a_batch_size_that_is_no_positive_integer_is_refused(batch_size):
    # -1 returned uninitialised arrays; 0 gave range()'s error.
    net, X = build("ECGCNN", 2, 2), np.zeros((3, 2, 100), np.float32)
    for helper in (saliency, grad_cam):
        with pytest.raises(ValueError, match=r"batch_size must be a positive integer, got "):
            helper(net, X, batch_size=batch_size)


def test_single_logit_binary_target_sign():
    logits = np.array([[2.0], [-1.0]])
    np.testing.assert_array_equal(target_classes(logits, None), [1, 0])
    with pytest.raises(ValueError, match="out of range"):
        target_classes(np.zeros((2, 3)), 3)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1))
    X = np.ones((1, 1, 4), np.float32)
    pos, _ = saliency(net, X, target=1, absolute=False)
    neg, _ = saliency(net, X, target=0, absolute=False)
    np.testing.assert_allclose(neg, -pos)


def test_target_classes_names_the_bad_class():
    # The negative class, not the largest (valid) one, and no float cut to an index.
    with pytest.raises(ValueError, match=r"target class -1 is out of range for a net with 3 "
                                         r"classes \(0 to 2\)"):
        target_classes(np.zeros((2, 3)), [2, -1])
    with pytest.raises(ValueError, match=r"whole numbers\), got \[0.5\]"):
        target_classes(np.zeros((2, 3)), 0.5)
    np.testing.assert_array_equal(target_classes(np.zeros((2, 3)), [2.0, 1.0]), [2, 1])
    np.testing.assert_array_equal(target_classes(np.zeros((2, 1)), True), [1, 1])  # as before


@pytest.mark.parametrize("method", [grad_cam, saliency])
def test_a_target_of_another_record_count_is_named(method):
    # numpy's "operands could not be broadcast together with remapped shapes".
    net = build("ECGCNN", 2, 3)
    X = np.random.default_rng(0).normal(size=(2, 2, 200)).astype(np.float32)
    with pytest.raises(ValueError, match=r"target has 3 entries but X has 2 records; pass one "
                                         r"class for all records or one per record"):
        method(net, X, target=[0, 1, 2])
    assert method(net, X, target=[2, 0])[1].tolist() == [2, 0]
    assert method(net, X, target=[1])[1].tolist() == [1, 1]


def test_grad_cam_layer_by_name_and_errors():
    net = build("ECGCNN", 2, 3)
    X = np.random.default_rng(0).normal(size=(2, 2, 200)).astype(np.float32)
    named, _ = grad_cam(net, X, layer="features.0")  # the first convolution's output
    default, _ = grad_cam(net, X)
    assert named.shape == default.shape and not np.allclose(named, default)
    with pytest.raises(ValueError, match="is not a module of ECGCNN"):
        grad_cam(net, X, layer="nope")
    with pytest.raises(ValueError, match="runs no global pooling module and no Conv1d"):
        find_cam_layer(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 200, 2)), X)


def test_two_d_maps_go_back_to_leads_and_dualnet_to_time():
    timm = build("TimmNet", 4, 2)  # min_height=8: each of the 4 leads is repeated twice
    cam = torch.zeros(1, 2, 3)
    cam[0, 0] = 1.0  # top half of the image: the first two leads
    out = _cam_to_input(cam, 4, 30, timm, True).numpy()[0]
    assert out.shape == (4, 30)
    assert out[0].mean() > out[1].mean() > out[2].mean() >= out[3].mean()
    assert isinstance(timm, TimmNet)
    dual = build("DualNet", 2, 2)
    assert isinstance(dual, DualNet)
    spec = torch.zeros(1, 5, 4)
    spec[0, :, 0] = 1.0  # the first frame, at every frequency
    out = _cam_to_input(spec, 2, 40, dual, True).numpy()[0]
    np.testing.assert_array_equal(out[0], out[1])
    assert out[0, :10].mean() > out[0, 30:].mean()


# ---- sanity: a class decided by a bump on lead 3 (index 3), samples 400-450 ----------------

LEAD, START, STOP = 3, 400, 450


def _bump_data(n, seed):
    rng = np.random.default_rng(seed)
    X = (0.1 * rng.normal(size=(n, 12, 1000))).astype(np.float32)
    y = np.arange(n) % 2
    X[y == 1, LEAD, START:STOP] += np.hanning(STOP - START).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def bump_model():
    """A tiny ECGCNN pipeline trained to tell the bump apart (10 epochs, ~10 s on 2 cores)."""
    X, y = _bump_data(160, 0)
    net = ECGNetClassifier(ECGCNN, module__filters=(8, 16), module__kernel_sizes=(7, 5),
                           module__dense=(16,), max_epochs=10, lr=3e-3, batch_size=32,
                           train_split=None, random_state=0, device="cpu")
    pipe = Pipeline([("length", PadTruncate(1000)), ("net", net)]).fit(X, y)
    X_test, y_test = _bump_data(40, 10)
    assert (pipe.predict(X_test) == y_test).mean() >= 0.9  # it learned the bump
    return pipe, X_test[y_test == 1]


def test_grad_cam_finds_the_deciding_time_window(bump_model):
    pipe, X = bump_model
    ex = explain(pipe, X, method="gradcam", target=1)
    assert ex.method == "gradcam" and ex.relevance.shape == X.shape
    per_time = ex.relevance[:, 0]  # 1-D nets: the same row for every lead
    share = per_time[:, START:STOP].sum() / per_time.sum()
    assert share > 0.5, f"only {share:.0%} of Grad-CAM in the 5% window"


def test_saliency_finds_the_deciding_lead_and_window(bump_model):
    pipe, X = bump_model
    rel = explain(pipe, X, method="saliency", target=1).relevance
    per_lead = rel.sum(axis=(0, 2))
    assert per_lead.argmax() == LEAD
    assert per_lead[LEAD] / per_lead.sum() > 0.35  # vs 1/12 = 8% of the input
    inside = rel[:, LEAD, START:STOP].sum() / rel.sum()
    share = (STOP - START) / rel[0].size  # 0.4% of the input
    density = (inside / share) / ((1 - inside) / (1 - share))
    assert density > 10, f"relevance density in the window only {density:.1f}x the rest"
    times, _ = saliency(pipe[-1].module_, X, 1, times_input=True)
    assert times[:, LEAD, START:STOP].sum() / times.sum() > 0.3  # gradient x input


def test_explain_rejects_gradients_for_classic_pipelines():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer

    X = np.random.default_rng(0).normal(size=(20, 2, 30)).astype(np.float32)
    y = np.arange(20) % 2
    pipe = Pipeline([("flat", FunctionTransformer(lambda a: a.reshape(len(a), -1))),
                     ("clf", LogisticRegression())]).fit(X, y)
    with pytest.raises(ValueError, match="needs a network"):
        explain(pipe, X, method="gradcam")
    with pytest.raises(ValueError, match="needs the targets y"):
        explain(pipe, X)
    with pytest.raises(ValueError, match="method must be one of"):
        explain(pipe, X, method="lime")


def test_what_is_no_torch_module_is_refused_saying_what_to_pass():
    # "'LogisticRegression' object has no attribute 'parameters'" named neither fix.
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(4, 2, 64)).astype(np.float32)
    clf = ECGNetClassifier(ECGCNN, module__filters=(4, 4), module__kernel_sizes=(5, 3),
                           max_epochs=1, train_split=None).fit(X, np.array([0, 1, 0, 1]))
    for method in (saliency, grad_cam):
        with pytest.raises(TypeError, match=r"net must be a torch.nn.Module, got "
                                            r"ECGNetClassifier \(a fitted ECGNetClassifier: "
                                            r"pass its module_\)"):
            method(clf, X)
        with pytest.raises(TypeError, match=r"got LogisticRegression \(an estimator: "
                                            r"ecgsk.explain.explain explains a pipeline"):
            method(LogisticRegression(), X)
        assert method(clf.module_, X)[0].shape == X.shape
