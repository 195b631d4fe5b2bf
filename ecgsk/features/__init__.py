"""Feature transformers: ECG signals to a 2-D feature table.

Every transformer takes signals of shape ``(n_records, n_leads, n_samples)``
(2-D ``(n_records, n_samples)`` input is read as one lead) and returns a
``(n_records, n_features)`` table whose columns are named by
``get_feature_names_out`` (``"lead0_heart_rate"``, or ``"II_heart_rate"``
with ``lead_names``).

- :class:`StatisticalFeatures`: amplitude statistics, Welch band powers.
- :class:`RhythmFeatures`: heart rate, RR variability and AF irregularity
  measures from :mod:`wfdb.processing` QRS detection.
- :class:`BeatFeatures`: template-beat morphology (beat and P-wave
  correlations, QRS width, T/R ratio), premature beats and RR sample
  entropy (COSEn) from the same R peaks, for AF, other rhythms and noise.
- :class:`BeatTemplate`: the median beat of every lead, sampled every 20 ms.
- :class:`WaveletFeatures`: statistics of ``pywt.wavedec`` coefficients, the
  Wavelet+NN baseline of the PTB-XL benchmark.
- :class:`RandomConvFeatures`: MiniRocket random convolutional kernels.

NaN handling
------------
Some features are undefined for some records (the RR statistics of a record
without beats, the skewness of a flat lead). The hand-crafted transformers
take ``nan_policy``:

- ``"impute"`` (default): replace NaN with the training median of the
  feature, learned in ``fit`` (:class:`sklearn.impute.SimpleImputer`; 0 for
  a feature NaN in every training record). Flag features such as
  ``too_few_beats`` stay in the table.
- ``"keep"``: return NaN, for classifiers that accept it
  (:class:`~sklearn.ensemble.HistGradientBoostingClassifier`).
- ``"raise"``: raise a ``ValueError`` naming the first record and feature.

:class:`RandomConvFeatures` never produces NaN.

Records of different lengths
----------------------------
The input is one array, so records of different lengths (CinC 2017: 9 to
61 s) are first cropped or padded to one length, e.g. with
``WFDBLoader(length=...)`` or :class:`ecgsk.preprocessing.PadTruncate`.
Zero padding appends a flat tail: the RR features only lose the beats that
were cropped away, while amplitude and spectral statistics (mean, std,
energy, band powers) are diluted by the padding. ``bench/bench_baselines.py``
crops or pads CinC records to 30 s, the most common length.
"""

from ._beats import BeatFeatures, BeatTemplate
from ._randomconv import RandomConvFeatures
from ._rhythm import RhythmFeatures
from ._statistical import StatisticalFeatures
from ._wavelet import WaveletFeatures

__all__ = [
    "StatisticalFeatures",
    "RhythmFeatures",
    "BeatFeatures",
    "BeatTemplate",
    "WaveletFeatures",
    "RandomConvFeatures",
]
