"""ecgsk/preprocessing/_output.py: a pipeline's set_output and get_feature_names_out pass the
signal steps."""

import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from ecgsk import preprocessing
from ecgsk.features import StatisticalFeatures
from ecgsk.preprocessing import Augmenter, BandpassFilter, LeadSelector, Standardizer, WFDBLoader

SIGNAL_STEPS = [getattr(preprocessing, name) for name in preprocessing.__all__
                if isinstance(getattr(preprocessing, name), type)
                and hasattr(getattr(preprocessing, name), "transform")]


def test_every_signal_transformer_is_found():
    assert WFDBLoader in SIGNAL_STEPS and Standardizer in SIGNAL_STEPS
    assert len(SIGNAL_STEPS) >= 10


@pytest.mark.parametrize("cls", SIGNAL_STEPS, ids=lambda cls: cls.__name__)
def test_set_output_is_accepted_and_checked(cls):
    est = cls.__new__(cls)  # no parameters needed: set_output reads none
    for transform in (None, "default", "pandas", "polars"):
        assert est.set_output(transform=transform) is est
    with pytest.raises(ValueError, match="transform must be one of"):
        est.set_output(transform="DataFrame")


def test_a_pipeline_with_signal_steps_outputs_its_features_as_a_dataframe():
    X = np.random.default_rng(0).normal(size=(6, 2, 500)).astype(np.float32)
    pipe = make_pipeline(BandpassFilter(sampling_rate=100), Standardizer(),
                         StatisticalFeatures(sampling_rate=100))
    expected = pipe.fit_transform(X)
    table = pipe.set_output(transform="pandas").fit_transform(X)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == list(pipe[-1].get_feature_names_out())
    np.testing.assert_allclose(table.to_numpy(), expected)
    signals = pipe[:-1].transform(X)
    assert isinstance(signals, np.ndarray) and signals.shape == X.shape


def test_a_pipeline_with_signal_steps_gives_its_feature_names():
    # Pipeline.get_feature_names_out asks every step; a signal step passes the names on.
    X = np.random.default_rng(0).normal(size=(6, 12, 500)).astype(np.float32)
    pipe = make_pipeline(LeadSelector(leads=["II", "V1"]), BandpassFilter(sampling_rate=100),
                         Standardizer(), Augmenter(random_state=0),
                         StatisticalFeatures(sampling_rate=100, lead_names=["II", "V1"]))
    with pytest.raises(NotFittedError):
        pipe[0].get_feature_names_out()
    names = pipe.fit(X).get_feature_names_out()
    assert list(names) == list(pipe[-1].get_feature_names_out())
    assert names[0] == "II_mean" and len(names) == pipe.fit_transform(X).shape[1]
    assert pipe[0].get_feature_names_out(["a", "b"]).tolist() == ["a", "b"]


def test_signals_stay_arrays_under_the_global_output_setting():
    # sklearn.set_config(transform_output="pandas") asks every transformer that set_output
    # left unset; the signal steps keep their 3-D arrays, and the feature step returns
    # a DataFrame.
    X = np.random.default_rng(0).normal(size=(6, 2, 500)).astype(np.float32)
    expected = make_pipeline(BandpassFilter(sampling_rate=100), Standardizer(),
                             StatisticalFeatures(sampling_rate=100)).fit_transform(X)
    with config_context(transform_output="pandas"):
        pipe = make_pipeline(BandpassFilter(sampling_rate=100), Standardizer(),
                             StatisticalFeatures(sampling_rate=100))
        table = pipe.fit_transform(X)
        assert isinstance(table, pd.DataFrame)
        np.testing.assert_allclose(table.to_numpy(), expected)
        for step in (Standardizer(), Augmenter(random_state=0), LeadSelector(leads=[0, 1])):
            out = step.fit_transform(X)
            assert isinstance(out, np.ndarray) and out.shape == X.shape, step
            assert isinstance(step.transform(X), np.ndarray), step
