"""``.ci/floors.txt`` pins every requirement of setup.cfg at the version it declares."""

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _requirements(lines, operator, where):
    """``{name: version}`` of the ``operator`` specifier of each requirement in ``lines``."""
    from packaging.requirements import Requirement

    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            versions = [s.version for s in requirement.specifier if s.operator == operator]
            assert len(versions) == 1, f"{where}: {line!r} has no single {operator} version"
            out[requirement.name.lower()] = versions[0]
    return out


def _floors_of_setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return _requirements(config["options"]["install_requires"].splitlines(), ">=",
                         "setup.cfg")


def _pins_of_floors_txt():
    return _requirements((ROOT / ".ci" / "floors.txt").read_text().splitlines(), "==",
                         ".ci/floors.txt")


def test_floors_txt_pins_each_requirement_at_its_declared_floor():
    from packaging.version import Version  # 1.13 and 1.13.0 are the same floor

    floors, pins = _floors_of_setup_cfg(), _pins_of_floors_txt()
    assert len(floors) >= 20
    assert sorted(pins) == sorted(floors)
    wrong = {name: (floors[name], pins[name]) for name in floors
             if Version(floors[name]) != Version(pins[name])}
    assert not wrong, f"(setup.cfg's floor, floors.txt's pin): {wrong}"
