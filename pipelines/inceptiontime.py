"""InceptionTime on PTB-XL, all statements: IncepSE without squeeze-and-excitation.

The baseline of the IncepSE comparison, with the same recipe as the
``incepse`` pipeline and ``se=False``.
"""

from pathlib import Path

from ecgsk.compare import load_pipeline_module

_incepse = load_pipeline_module(str(Path(__file__).with_name("incepse.py")))

DATASET, TASK = _incepse.DATASET, _incepse.TASK
SAMPLING_RATE, LENGTH = _incepse.SAMPLING_RATE, _incepse.LENGTH


def make_pipeline(*, n_filters=32, depth=6, max_epochs=30, batch_size=64, lr=1e-3,
                  weight_decay=1e-4, grad_clip=1.0, amp=None, patience=7, random_state=0,
                  verbose=0):
    """InceptionTime as an sklearn Pipeline (the ``incepse`` recipe with ``se=False``)."""
    return _incepse.make_pipeline(
        se=False, n_filters=n_filters, depth=depth, max_epochs=max_epochs,
        batch_size=batch_size, lr=lr, weight_decay=weight_decay, grad_clip=grad_clip,
        amp=amp, patience=patience, random_state=random_state, verbose=verbose)


search_space = _incepse.search_space
