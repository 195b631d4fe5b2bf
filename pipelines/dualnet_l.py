"""ECGCNN_L: the dual-input AF network without squeeze-and-excitation, on CinC 2017.

The ``dualnet_se`` recipe with ``se=False``: the baseline of the ECGCNN-SE
comparison.
"""

from pathlib import Path

from ecgsk.compare import load_pipeline_module

_dualnet = load_pipeline_module(str(Path(__file__).with_name("dualnet_se.py")))

DATASET, TASK = _dualnet.DATASET, _dualnet.TASK
SAMPLING_RATE, LENGTH = _dualnet.SAMPLING_RATE, _dualnet.LENGTH


def make_pipeline(*, lstm_hidden=128, crop_length=None, max_epochs=30, batch_size=64, lr=1e-3,
                  weight_decay=1e-4, balanced_sampling=True, amp=None, patience=7,
                  random_state=0, verbose=0):
    """The dual-input network without SE blocks."""
    return _dualnet.make_pipeline(
        se=False, lstm_hidden=lstm_hidden, crop_length=crop_length, max_epochs=max_epochs,
        batch_size=batch_size, lr=lr, weight_decay=weight_decay,
        balanced_sampling=balanced_sampling, amp=amp, patience=patience,
        random_state=random_state, verbose=verbose)


search_space = _dualnet.search_space
