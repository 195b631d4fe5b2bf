"""The smaller bench scripts refuse impossible options by name, before any work."""

import pytest

from .conftest import load_bench


@pytest.mark.parametrize("script, argv, message", [
    ("bench_overhead", ["--repeats", "0"], "--repeats: expected a positive integer, got 0"),
    ("bench_overhead", ["--tiny-repeats", "0"], "--tiny-repeats: expected a positive integer"),
    ("bench_features", ["--n-records", "0"], "--n-records: expected a positive integer"),
    ("bench_checkpoint", ["--n-records", "0"], "--n-records: expected a positive integer"),
    ("bench_nets_cpu", ["--threads", "0"], "--threads: expected a positive integer"),
    # An unknown name ran ResNet1d alone, with exit status 0.
    ("bench_nets_cpu", ["--only", "Nope"], "--only: unknown network(s) Nope; choose among "
                                           "DualNet, ECGCNN"),
    # These failed after the work: --n-boot -5 once every row was fitted, the others in
    # bench_gpu's arithmetic (min() of an empty list, a division by zero).
    ("quality", ["--data", ".", "--n-boot", "-5"], "--n-boot: expected a non-negative integer"),
    ("blend_rows", ["--data", ".", "--task", "af", "--rows", "x", "--n-boot", "-5"],
     "--n-boot: expected a non-negative integer"),
    ("bench_gpu", ["--device", "cpu", "--repeats", "0"], "--repeats: expected a positive "
                                                         "integer"),
    ("bench_gpu", ["--device", "cpu", "--steps", "0"], "--steps: expected a positive integer"),
    ("bench_gpu", ["--device", "cpu", "--batch", "0"], "--batch: expected a positive integer"),
])
def test_an_impossible_option_is_refused_by_name(script, argv, message, capsys):
    with pytest.raises(SystemExit) as err:
        load_bench(script).main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_blend_rows_finds_the_tables_row_of_a_name_the_ablation_shares():
    # ecgsk_ptbxl is a row of the table and of the ablation of all and binary; the
    # ablation's copy, without the gpu preset, won, and --preset gpu read another file.
    quality, blend_rows = load_bench("quality"), load_bench("blend_rows")
    for task in ("all", "binary"):
        assert "ecgsk_ptbxl" in [r.name for r in quality.ABLATION[task]]
        table = next(r for r in quality.ROWS[task] if r.name == "ecgsk_ptbxl")
        assert table.params("gpu") != table.params("cpu")
        assert blend_rows.find_row(task, "ecgsk_ptbxl") is table
