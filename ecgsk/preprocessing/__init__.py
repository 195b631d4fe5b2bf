"""sklearn transformers that turn ECG records into arrays and condition them.

All transformers work on float32 arrays of shape ``(n_records, n_leads,
n_samples)`` (2-D input is read as a single lead), except
:class:`WFDBLoader`, which turns WFDB record paths into such arrays.
"""

from ._augment import (
    AddGaussianNoise,
    Augmenter,
    RandomAmplitudeScale,
    RandomScale,
    RandomShift,
    RandomTimeWarp,
)
from ._loader import WFDBLoader
from ._signal import (
    STANDARD_LEADS,
    BandpassFilter,
    BaselineRemoval,
    Derivatives,
    LeadSelector,
    PadTruncate,
    RepeatPadding,
    Resample,
)
from ._spectrogram import Spectrogram
from ._standardize import Standardizer

__all__ = [
    "WFDBLoader",
    "PadTruncate",
    "RepeatPadding",
    "Resample",
    "BaselineRemoval",
    "BandpassFilter",
    "Standardizer",
    "LeadSelector",
    "Derivatives",
    "Spectrogram",
    "Augmenter",
    "RandomTimeWarp",
    "RandomShift",
    "RandomScale",
    "AddGaussianNoise",
    "RandomAmplitudeScale",
    "STANDARD_LEADS",
]
