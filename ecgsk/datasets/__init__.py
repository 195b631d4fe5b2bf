"""Readers for PhysioNet ECG datasets, their download, and synthetic ECGs.

Each reader returns an :class:`ECGDataset` whose ``X`` holds absolute record
paths (without extension) ready for :class:`ecgsk.preprocessing.WFDBLoader`.
"""

from ._base import ECGDataset
from ._cinc2017 import load_cinc2017
from ._cli import build_parser, main
from ._download import download
from ._ptbdb import load_ptbdb
from ._ptbxl import PTBXL_TASKS, load_ptbxl
from ._synthetic import make_synthetic_ecg
from ._wfdb_dir import load_wfdb_dir

__all__ = [
    "ECGDataset",
    "PTBXL_TASKS",
    "load_ptbxl",
    "load_cinc2017",
    "load_ptbdb",
    "load_wfdb_dir",
    "download",
    "make_synthetic_ecg",
    "main",
    "build_parser",
]
