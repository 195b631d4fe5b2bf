"""Every named pipeline in pipelines/: shape, search space, and a tiny real fit."""

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from ecgsk.compare import list_pipelines, load_pipeline_module, validate_pipeline_module

NAMES = ["se_ecgnet", "se_resnext1d", "incepse", "inceptiontime", "dualnet_se", "dualnet_l",
         "ecgcnn_ptb", "resnet1d", "inception1d", "features_logreg", "features_hgb",
         "randomconv_ridge", "ecgsk_ptbxl", "ecgsk_cinc"]
ENSEMBLES = ["ecgsk_ptbxl", "ecgsk_cinc"]
NETWORKS = [n for n in NAMES if not n.startswith(("features", "randomconv")) and n not in ENSEMBLES]

# Tiny settings per pipeline: one epoch; smaller networks where the recipe allows it.
TINY = {
    # seresnext50_32x4d runs at ~1 sample/s on a CPU; an SE-ResNet-18 keeps the recipe.
    "se_ecgnet": {"model_name": "seresnet18"},
    "incepse": {"n_filters": 8, "depth": 3},
    "inceptiontime": {"n_filters": 8, "depth": 3},
    "inception1d": {"n_filters": 8, "depth": 3},
    "dualnet_se": {"lstm_hidden": 16},
    "dualnet_l": {"lstm_hidden": 16},
    "randomconv_ridge": {"n_kernels": 500},
    "ecgsk_ptbxl": {"n_seeds": 2, "max_epochs": 1, "batch_size": 8, "resnet_epochs": 1,
                    "n_kernels": 500},
    "ecgsk_cinc": {"n_seeds": 1, "max_epochs": 1, "batch_size": 8},
}


def test_all_named_pipelines_are_found():
    assert set(NAMES) <= set(list_pipelines())


@pytest.mark.parametrize("name", NAMES)
def test_a_ptbxl_pipeline_for_binary_takes_binary_report_too(name):
    # Both are 0/1 targets; ecgsk_ptbxl, said to work for every task, refused binary_report.
    module = load_pipeline_module(name)
    tasks = (module.TASK,) if isinstance(module.TASK, str) else module.TASK
    if "binary" in tasks:
        assert "binary_report" in tasks


@pytest.mark.parametrize("name", NAMES)
def test_module_shape_and_clone(name):
    module = load_pipeline_module(name)
    validate_pipeline_module(module)
    assert module.__doc__.strip()
    est = module.make_pipeline()
    clone(est)
    assert hasattr(est, "predict_proba")


def test_se_ecgnet_feeds_the_12_row_image_unless_asked_for_more_rows():
    # Each lead was repeated to 36 rows, said to be needed by timm's downsampling:
    # seresnext50_32x4d takes the project's 12-row image at 2.25 times less training time.
    import torch

    module = load_pipeline_module("se_ecgnet")
    for kwargs, rows in (({}, 12), ({"min_height": 32}, 36)):
        net = module.make_pipeline(**kwargs).named_steps["net"]
        given = {key[len("module__"):]: value for key, value in net.get_params().items()
                 if key.startswith("module__")}
        backbone = net.module(**{**given, "model_name": "resnet10t"}, n_classes=1)
        seen = []
        stem = next(m for m in backbone.modules() if isinstance(m, torch.nn.Conv2d))
        stem.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0].shape))
        with torch.no_grad():
            backbone(torch.zeros(1, 12, 64))
        assert seen[0][2] == rows


def test_ecgcnn_ptb_names_leads_as_ptbdb_headers_spell_them():
    # PTB Diagnostic's headers say "ii", "avr": a name of another case was passed to
    # LeadSelector by name, which failed on the 15 leads ("lead_names has 12 names").
    module = load_pipeline_module("ecgcnn_ptb")
    X = np.random.default_rng(0).normal(size=(2, 15, 6000)).astype(np.float32)
    for leads in (("ii",), ("II",), ("AVR", "v6"), (1,)):
        select = module.make_pipeline(leads=leads)[:1]
        expected = [{"II": 1, "AVR": 3, "V6": 11}.get(str(lead).upper(), lead) for lead in leads]
        np.testing.assert_array_equal(select.fit_transform(X), X[:, expected])
    with pytest.raises(ValueError, match=r"leads: 'V7' is not one of the standard 12 leads "
                                         r"\(I, II, III, aVR"):
        module.make_pipeline(leads=("V7",))


@pytest.mark.parametrize("name, params, message", [
    ("ecgcnn_ptb", {"leads": 1.5}, "leads must be a lead name, a channel index or a non-empty "
                                   "sequence of them, or None for every lead; got 1.5."),
    ("ecgcnn_ptb", {"leads": []}, "a non-empty sequence of them, or None for every lead; "
                                  "got []."),
    ("dualnet_se", {"channels": 8}, "channels must be a sequence of integers, got 8."),
    ("dualnet_l", {"channels": None}, "channels must be a sequence of integers, got None."),
])
def test_a_bad_argument_is_named_before_any_fit(name, params, message):
    # Both were TypeErrors naming no parameter ("'int' object is not iterable").
    from ecgsk.compare._registry import validate_built

    with pytest.raises(ValueError, match=re.escape(message)):
        validate_built(load_pipeline_module(name).make_pipeline(**params))


@pytest.mark.parametrize("name", NETWORKS)
def test_network_factories_accept_max_epochs(name):
    est = load_pipeline_module(name).make_pipeline(max_epochs=3)
    assert est.steps[-1][1].max_epochs == 3


@pytest.mark.parametrize("name", ENSEMBLES)
def test_ensembles_members_seeds_and_errors(name):
    module = load_pipeline_module(name)
    est = module.make_pipeline(n_seeds=3, feature_weight=2.0)
    names = [n for n, _ in est.estimators]
    others = {"ecgsk_ptbxl": ["resnet", "minirocket"], "ecgsk_cinc": []}[name]
    assert names == ["seresnet0", "seresnet1", "seresnet2"] + others + ["features"]
    seeds = [e.named_steps["net"].random_state for n, e in est.estimators
             if n.startswith("seresnet")]
    assert seeds == [0, 1, 2]
    # The seeds share one vote; every other member has one, the features feature_weight.
    assert est.weights == pytest.approx([1 / 3] * 3 + [1.0] * len(others) + [2.0])
    only = module.make_pipeline(members=("features",))
    assert [n for n, _ in only.estimators] == ["features"]
    # Balanced sampling reaches every network; off by default.
    for balanced in (False, True):
        nets = [e.named_steps["net"] for n, e in module.make_pipeline(
            balanced_sampling=balanced).estimators if n.startswith("seresnet")]
        assert [n.balanced_sampling for n in nets] == [balanced] * len(nets)
    default = dict(module.make_pipeline().estimators)["seresnet0"].named_steps["net"]
    assert default.balanced_sampling is False
    with pytest.raises(ValueError, match="members"):
        module.make_pipeline(members=("nope",))
    with pytest.raises(ValueError, match="n_seeds"):
        module.make_pipeline(n_seeds=0)


def test_ecgsk_ptbxl_members_take_their_recipes():
    module = load_pipeline_module("ecgsk_ptbxl")
    est = module.make_pipeline(resnet_epochs=5, n_kernels=840, feature_sets=("rhythm", "beats"))
    members = dict(est.estimators)
    assert members["resnet"].named_steps["net"].module.__name__ == "ResNet1d"
    assert members["resnet"].named_steps["net"].max_epochs == 5
    assert members["minirocket"].get_params()["estimator__features__n_kernels"] == 840
    union = members["features"].named_steps["features"]
    assert [n for n, _ in union.transformer_list] == ["rhythm", "beats"]


def test_ecgsk_ptbxls_features_member_is_the_features_hgb_pipeline():
    """So that tuning features_hgb (with --set features=...) tunes that member."""
    ptbxl = load_pipeline_module("ecgsk_ptbxl")
    hgb = load_pipeline_module("features_hgb").make_pipeline(features=ptbxl.FEATURE_SETS)
    member = dict(ptbxl.make_pipeline(members=("features",)).estimators)["features"]
    assert {k: repr(v) for k, v in hgb.get_params(deep=True).items()} == \
        {k: repr(v) for k, v in member.get_params(deep=True).items()}
    union = hgb.named_steps["features"]
    assert [n for n, _ in union.transformer_list] == list(ptbxl.FEATURE_SETS)
    # The R peaks are found on lead I there; rhythm_lead moves them (bench/quality.py's
    # "R peaks found on lead II" row) for every feature set that detects beats.
    on_ii = load_pipeline_module("features_hgb").make_pipeline(features=ptbxl.FEATURE_SETS,
                                                               rhythm_lead=1)
    leads = {n: t.lead for n, t in on_ii.named_steps["features"].transformer_list
             if hasattr(t, "lead")}
    assert leads == {"rhythm": 1, "beats": 1, "template": 1}
    assert {n: t.lead for n, t in union.transformer_list if hasattr(t, "lead")} == \
        {"rhythm": 0, "beats": 0, "template": 0}


def test_ecgsk_cinc_dualnet_member_is_the_dualnet_l_recipe_on_crops():
    module = load_pipeline_module("ecgsk_cinc")
    est = module.make_pipeline(members=("seresnet", "dualnet", "features"), n_seeds=2,
                               dualnet_epochs=4, feature_weight=2.0)
    assert [n for n, _ in est.estimators] == ["seresnet0", "seresnet1", "dualnet", "features"]
    assert est.weights == pytest.approx([0.5, 0.5, 1.0, 2.0])
    net = dict(est.estimators)["dualnet"].named_steps["net"]
    assert net.module.__name__ == "DualNet" and net.module__se is False
    assert (net.crop_length, net.max_epochs) == (module.DUALNET_CROP, 4)
    alone = module.make_pipeline(members=("dualnet",))
    assert [n for n, _ in alone.estimators] == ["dualnet"] and alone.weights == [1.0]


def test_ecgsk_cinc_balances_the_networks_epochs_or_their_loss_never_both():
    module = load_pipeline_module("ecgsk_cinc")
    for balanced, net_weight in ((True, None), (False, "balanced")):
        members = dict(module.make_pipeline(balanced_sampling=balanced).estimators)
        net = members["seresnet0"].named_steps["net"]
        assert (net.balanced_sampling, net.class_weight) == (balanced, net_weight)
        assert members["features"].get_params()["classifier__class_weight"] == "balanced"


def test_ecgsk_cinc_fills_the_networks_padding_only_when_asked():
    module = load_pipeline_module("ecgsk_cinc")
    plain = dict(module.make_pipeline().estimators)["seresnet0"]
    assert list(plain.named_steps) == ["resample", "scale", "net"]  # the default: zero padding
    filled = dict(module.make_pipeline(repeat_padding=True).estimators)
    assert list(filled["seresnet0"].named_steps) == ["repeat", "resample", "scale", "net"]
    assert "repeat" not in filled["features"].named_steps  # the features see the record as is


def test_ecgsk_cinc_network_sees_100_hz_and_features_the_input_rate():
    module = load_pipeline_module("ecgsk_cinc")
    assert (module.SAMPLING_RATE, module.LENGTH) == (300, 9000)
    members = dict(module.make_pipeline().estimators)
    resample = members["seresnet0"].named_steps["resample"]
    assert (resample.sampling_rate, resample.rate) == (300, 100)
    union = members["features"].named_steps["features"]
    assert [n for n, _ in union.transformer_list] == list(module.FEATURE_SETS)
    assert {t.sampling_rate for n, t in union.transformer_list if n != "wavelet"} == {300}
    at_100 = dict(module.make_pipeline(members=("features",), feature_rate=100).estimators)
    steps = at_100["features"].named_steps
    assert list(steps)[0] == "resample" and (steps["resample"].rate, steps[
        "resample"].sampling_rate) == (100, 300)
    assert {t.sampling_rate for n, t in steps["features"].transformer_list
            if n != "wavelet"} == {100}
    X = np.zeros((2, 1, 9000), np.float32)
    assert steps["resample"].fit_transform(X).shape == (2, 1, 3000)


@pytest.mark.parametrize("name", ["dualnet_se", "dualnet_l"])
def test_dualnets_train_on_crops_when_asked(name):
    module = load_pipeline_module(name)
    whole = module.make_pipeline().named_steps["net"]
    assert whole.crop_length is None and whole.module__se == (name == "dualnet_se")
    net = module.make_pipeline(crop_length=3000).named_steps["net"]
    assert (net.crop_length, net.window_aggregate) == (3000, "mean")
    assert net.module__se == (name == "dualnet_se")  # the crops keep the variant


@pytest.mark.parametrize("name", NAMES)
def test_search_space_builds_valid_pipelines(name):
    import optuna

    module = load_pipeline_module(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):
        trial = study.ask()
        params = module.search_space(trial)
        assert params, "a search space must draw something"
        clone(module.make_pipeline(**params))
        study.tell(trial, 0.0)
    from ecgsk.tune import check_search_space

    # What python -m ecgsk.tune checks first (clone alone validates no value):
    # the pipeline built at every corner of the space passes its parameter checks.
    assert set(params) <= set(check_search_space(module, name, {"random_state": 0}))



@pytest.mark.parametrize("name, members, searched", [
    ("ecgsk_ptbxl", None, {"lr", "weight_decay", "feature_weight"}),
    ("ecgsk_ptbxl", ("seresnet",), {"lr", "weight_decay"}),
    ("ecgsk_ptbxl", ("seresnet", "minirocket"), {"lr", "weight_decay"}),
    ("ecgsk_ptbxl", ("minirocket", "features"), {"feature_weight"}),
    ("ecgsk_cinc", None, {"lr", "class_weight", "feature_weight"}),
    ("ecgsk_cinc", ("seresnet",), {"lr", "class_weight"}),
    ("ecgsk_cinc", ("features",), {"class_weight"}),
    ("ecgsk_cinc", ("dualnet", "features"), {"class_weight", "feature_weight"}),
])
def test_ensembles_search_only_what_acts_on_their_members(name, members, searched):
    """``python -m ecgsk.tune --set members=...`` searches no parameter that does nothing."""
    from ecgsk.tune import check_search_space

    module = load_pipeline_module(name)
    fixed = {"random_state": 0} if members is None else {"members": members, "random_state": 0}
    assert set(check_search_space(module, name, fixed)) == searched


def test_an_ensemble_with_nothing_to_search_is_refused():
    from ecgsk.tune import TuneError, check_search_space

    module = load_pipeline_module("ecgsk_ptbxl")
    with pytest.raises(TuneError, match=r"suggests no parameter \(with members=\('minirocket',\) "
                                        r"fixed\)"):
        check_search_space(module, "ecgsk_ptbxl", {"members": ("minirocket",)})

def _real_subset(name, data_root, n=24):
    """A few real records of the pipeline's default dataset, at its rate and length."""
    from ecgsk.compare._data import default_length, load_signals
    from ecgsk.datasets import load_cinc2017, load_ptbxl

    module = load_pipeline_module(name)
    dataset = module.DATASET if isinstance(module.DATASET, str) else module.DATASET[0]
    rate = module.SAMPLING_RATE
    length = getattr(module, "LENGTH", None) or default_length(dataset, rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if dataset == "cinc2017":
            ds = load_cinc2017(data_root / "cinc2017")
            y_all = ds.y
        else:  # PTB-DB has one shared record: train PTB-XL pipelines on PTB-XL
            ptb_rate = 500 if rate >= 500 else 100
            ds = load_ptbxl(data_root / "ptb-xl", task="binary", sampling_rate=ptb_rate)
            y_all = ds.y
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.choice(np.flatnonzero(y_all == c), n // 2, replace=False)
                          for c in np.unique(y_all)[:2]])
    X = load_signals(ds.X[idx], sampling_rate=rate, length=length)
    return module, X, y_all[idx]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_trains_on_real_records(name, data_root):
    """Every pipeline fits and predicts on real records with tiny settings."""
    module, X, y = _real_subset(name, data_root, n=12 if name == "se_ecgnet" else 24)
    kwargs = dict(TINY.get(name, {}))
    if name in NETWORKS:
        kwargs.update(max_epochs=1)
    est = module.make_pipeline(**kwargs)
    if name in NETWORKS:
        est.set_params(net__batch_size=8)
    est.fit(X, y)
    proba = est.predict_proba(X[:4])
    assert proba.shape[0] == 4 and np.isfinite(proba).all()
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_ecgsk_cinc_with_the_dualnet_member_trains_on_real_records(data_root):
    module, X, y = _real_subset("ecgsk_cinc", data_root)
    est = module.make_pipeline(members=("dualnet", "features"), dualnet_epochs=1)
    est.fit(X, y)
    proba = est.predict_proba(X[:4])
    assert proba.shape == (4, len(est.classes_)) and np.isfinite(proba).all()
    assert set(est.named_estimators_) == {"dualnet", "features"}
    net = est.named_estimators_["dualnet"].named_steps["net"]
    assert net.n_samples_in_ == module.LENGTH  # whole records in, 10 s crops inside


MULTILABEL = [n for n in NAMES if n in ("features_logreg", "features_hgb", "randomconv_ridge",
                                         "resnet1d", "incepse")]


@pytest.mark.slow
@pytest.mark.parametrize("name", MULTILABEL)
def test_trains_on_a_multilabel_task_of_real_records(name, data_root):
    """test_trains_on_real_records fits binary targets only: these fit the 5 superclasses."""
    from ecgsk.compare._data import load_signals
    from ecgsk.datasets import load_ptbxl

    module = load_pipeline_module(name)
    assert "superdiagnostic" in module.TASK
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = load_ptbxl(data_root / "ptb-xl", task="superdiagnostic")
    idx = np.flatnonzero(ds.folds <= 8)[:40]
    y = ds.y[idx]
    assert y.ndim == 2 and (y.sum(axis=0) > 0).all()  # every superclass is there
    X = load_signals(ds.X[idx], sampling_rate=module.SAMPLING_RATE,
                     length=getattr(module, "LENGTH", None) or 1000)
    kwargs = dict(TINY.get(name, {}))
    if name in NETWORKS:
        kwargs.update(max_epochs=1)
    est = module.make_pipeline(**kwargs).fit(X, y)
    proba = est.predict_proba(X[:4])
    assert proba.shape == (4, y.shape[1]) and np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    assert not np.allclose(proba.sum(axis=1), 1.0)  # per-label probabilities, not a softmax
