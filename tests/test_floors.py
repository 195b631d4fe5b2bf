"""``.ci/floors.txt`` pins every requirement of setup.cfg at the version it declares."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _floors_of_setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    out = {}
    for line in config["options"]["install_requires"].splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, floor = re.fullmatch(r"([A-Za-z0-9._-]+)>=([0-9.]+)", line).groups()
            out[name.lower()] = floor
    return out


def _pins_of_floors_txt():
    out = {}
    for line in (ROOT / ".ci" / "floors.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, pin = re.fullmatch(r"([A-Za-z0-9._-]+)==([0-9.]+)", line).groups()
            out[name.lower()] = pin
    return out


def _version(text):
    """``"1.13"`` as ``(1, 13, 0, 0)``: 1.13 and 1.13.0 are the same floor."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def test_floors_txt_pins_each_requirement_at_its_declared_floor():
    floors, pins = _floors_of_setup_cfg(), _pins_of_floors_txt()
    assert len(floors) >= 20
    assert sorted(pins) == sorted(floors)
    wrong = {name: (floors[name], pins[name]) for name in floors
             if _version(floors[name]) != _version(pins[name])}
    assert not wrong, f"(setup.cfg's floor, floors.txt's pin): {wrong}"
