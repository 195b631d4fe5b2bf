"""sklearn's estimator checks on ECGNetClassifier (ecgsk/neural/_classifier.py)."""

import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

from ecgsk.neural import ECGNetClassifier

from ..conftest import NO_N_FEATURES_FAILS_WITH, assert_fails_for, expected_failures


class CheckNet(nn.Module):
    """Small enough for sklearn's toy data: 1 lead and 1 to 20 samples."""

    def __init__(self, in_channels=1, n_classes=2, hidden=16):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, hidden, kernel_size=3, padding=1)
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.head(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1))


def _estimator():
    return ECGNetClassifier(CheckNet, max_epochs=20, lr=2e-2, batch_size=32,
                            random_state=0, device="cpu")


# Every check expected to fail, with its reason. xfail_strict below makes a
# check listed here that starts passing fail the test, so the list stays true.
# sklearn itself skips check_classifiers_multilabel_output_format_decision_function,
# as ECGNetClassifier has no decision_function (it predicts probabilities;
# thresholds act on them), and check_array_api_input (no array API support).
EXPECTED_FAILED_CHECKS = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_ and virtual_params_"),
    "check_n_features_in": (
        "signals are (n_records, n_leads, n_samples); their shape is kept as "
        "n_leads_in_ and n_samples_in_, not n_features_in_"),
    "check_n_features_in_after_fitting": (
        "no n_features_in_ (see check_n_features_in); a wrong number of leads or "
        "samples raises a ValueError worded in leads and samples"),
}


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@parametrize_with_checks([_estimator()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
                         xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# What each expected failure above fails with: the reason it is listed for.
FAILS_WITH = {
    "check_no_attributes_set_in_init": (
        r"Found attributes \['history_', 'initialized_', 'virtual_params_'\]"),
    **{name: NO_N_FEATURES_FAILS_WITH[name]
       for name in ("check_n_features_in", "check_n_features_in_after_fitting")},
}


def test_expected_failures_fail_for_their_reason():
    assert set(FAILS_WITH) == set(EXPECTED_FAILED_CHECKS)
    for est, check, name in expected_failures(_estimator(), EXPECTED_FAILED_CHECKS):
        assert_fails_for(check, est, FAILS_WITH[name])
