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
])
def test_an_impossible_option_is_refused_by_name(script, argv, message, capsys):
    with pytest.raises(SystemExit) as err:
        load_bench(script).main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err
