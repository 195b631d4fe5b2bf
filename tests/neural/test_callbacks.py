"""The epoch-log metrics of ECGNetClassifier take their logits on the CPU, whatever the device."""

import numpy as np
import torch

from ecgsk.neural._callbacks import valid_accuracy, valid_macro_auroc


class _OnAnotherDevice:
    """A net whose forward_iter yields on its own device unless asked for another.

    skorch's cached replay of the validation logits does this with ``net.device``:
    on a GPU, ``.numpy()`` of them raised at the end of the first epoch of every fit.
    "meta" stands in for a GPU on this machine: its tensors cannot become arrays.
    """

    device = "meta"

    def __init__(self, logits, target_type):
        self.logits, self.target_type_ = torch.as_tensor(logits), target_type

    def forward_iter(self, X, training=False, device=device):
        yield self.logits.to(device)

    def _logits_to_proba(self, logits):
        if self.target_type_ == "multilabel":
            return torch.sigmoid(logits)
        return torch.softmax(logits, dim=1)


def test_metrics_read_logits_of_a_net_on_another_device_on_the_cpu():
    net = _OnAnotherDevice([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]], "multiclass")
    assert valid_accuracy(net, np.zeros(2), np.array([0, 1])) == 0.5
    net = _OnAnotherDevice([[2.0, -1.0], [-2.0, 1.0], [1.0, 0.0]], "multilabel")
    assert valid_macro_auroc(net, np.zeros(3), np.array([[1, 0], [0, 1], [0, 0]])) == 1.0
