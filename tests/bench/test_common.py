"""bench/_common.py: what the benchmark scripts share."""

import pytest

from .conftest import load_bench


@pytest.mark.parametrize("script, argv", [
    ("quality", []),
    ("blend_rows", ["--task", "binary", "--rows", "ecgsk_ptbxl"]),
    ("aux_targets", []),
])
def test_scripts_need_data_from_the_flag_or_the_environment(script, argv, monkeypatch, capsys,
                                                            tmp_path):
    module = load_bench(script)
    monkeypatch.delenv("ECGSK_DATA", raising=False)
    with pytest.raises(SystemExit) as exc:
        module.main(argv)
    assert exc.value.code == 2  # argparse's usage error, before any record is read
    assert "--data is required when $ECGSK_DATA is unset" in capsys.readouterr().err

    with pytest.raises(SystemExit) as exc:  # a CompareError traceback from quality.py before
        module.main(argv + ["--data", str(tmp_path / "nonexistent")])
    assert exc.value.code == 2
    assert f"--data {tmp_path / 'nonexistent'}: no such folder" in capsys.readouterr().err

    monkeypatch.setenv("ECGSK_DATA", str(tmp_path))
    assert module.build_parser().parse_args(argv).data == str(tmp_path)
    assert module.build_parser().parse_args(argv + ["--data", "elsewhere"]).data == "elsewhere"
