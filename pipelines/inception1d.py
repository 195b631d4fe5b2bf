"""inception1d on PTB-XL superdiagnostic: the superclass project's Inception model.

The ``resnet1d`` recipe (benchmark crops and max-aggregated sliding windows,
optional derivative channels and augmentation) with
:class:`ecgsk.nets.InceptionTime1d`, the benchmark's inception1d; ``se=True``
adds a squeeze-and-excitation block after every module (IncepSE).
"""

from pathlib import Path

from ecgsk.compare import load_pipeline_module
from ecgsk.nets import InceptionTime1d

_resnet1d = load_pipeline_module(str(Path(__file__).with_name("resnet1d.py")))

DATASET, TASK = _resnet1d.DATASET, _resnet1d.TASK
SAMPLING_RATE, LENGTH = _resnet1d.SAMPLING_RATE, _resnet1d.LENGTH


def make_pipeline(*, derivatives=False, augment=False, crop_length=250, window_stride=125,
                  n_filters=32, depth=6, se=False, max_epochs=30, batch_size=128, lr=1e-3,
                  weight_decay=1e-3, amp=None, patience=7, random_state=0, verbose=0):
    """InceptionTime with the benchmark's crops; ``se=True`` makes it IncepSE.

    ``amp=None`` uses AMP when CUDA is present.
    """
    return _resnet1d.benchmark_recipe(
        InceptionTime1d, module_params={"n_filters": n_filters, "depth": depth, "se": se},
        derivatives=derivatives, augment=augment, crop_length=crop_length,
        window_stride=window_stride, max_epochs=max_epochs, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, amp=amp, patience=patience, random_state=random_state,
        verbose=verbose)


search_space = _resnet1d.search_space
