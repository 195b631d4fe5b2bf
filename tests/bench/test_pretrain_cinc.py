"""bench/pretrain_cinc.py: the CinC weights start the PTB-XL network, and the table it prints."""

import dataclasses
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ecgsk.nets import SEResNeXt1d
from ecgsk.neural import ECGNetClassifier

from .conftest import counted_networks, load_bench


@pytest.fixture(scope="module")
def pre():
    return load_bench("pretrain_cinc")


def test_the_network_starts_from_the_saved_weights_but_its_output_layer(pre, tmp_path):
    torch.manual_seed(0)
    single = SEResNeXt1d(in_channels=1, n_classes=4, preset="small")
    torch.save(single.state_dict(), tmp_path / "w.pt")
    saved = single.state_dict()

    torch.manual_seed(1)
    net = pre.PretrainedSEResNeXt1d(12, 5, preset="small", weights=str(tmp_path / "w.pt"))
    own = net.state_dict()
    # The single-lead stem kernels, averaged over that one lead, are every lead's kernels.
    np.testing.assert_array_equal(own["stem.0.weight"],
                                  saved["stem.0.weight"].repeat(1, 12, 1))
    middle = [k for k in own if k.startswith("stages.") and own[k].dtype.is_floating_point]
    assert middle and all(torch.equal(own[k], saved[k]) for k in middle)
    assert own["head.3.weight"].shape == (5, 512)  # another number of classes: a fresh start

    torch.manual_seed(1)
    fresh = pre.PretrainedSEResNeXt1d(12, 5, preset="small")
    assert not torch.equal(fresh.state_dict()["stem.0.weight"], own["stem.0.weight"])


def test_the_fine_tuned_network_is_the_ensembles_with_only_its_start_changed(pre, tmp_path):
    est = pre.pretrained_network(4, tmp_path / "w.pt")
    plain = pre.quality.load_pipeline_module("ecgsk_ptbxl").network(random_state=4)
    mine, theirs = est.get_params(), plain.get_params()
    changed = {k for k in theirs if k in mine and pre.quality._json_value(mine[k])
               != pre.quality._json_value(theirs[k])}
    assert changed == {"net__module", "steps"}  # "steps" holds the module
    assert mine["net__module__weights"] == str(tmp_path / "w.pt")
    assert pickle.loads(pickle.dumps(clone(est))).get_params()["net__module__weights"] \
        == str(tmp_path / "w.pt")


def tiny_network(random_state=0):
    return Pipeline([("net", ECGNetClassifier(
        SEResNeXt1d, module__preset="small", module__layers=(1,), max_epochs=1, batch_size=64,
        lr=1e-3, patience=None, lr_patience=None, random_state=random_state))])


def test_the_table_compares_the_pretrained_network_and_a_rerun_reuses_everything(
        pre, data_root, signal_cache, tmp_path, monkeypatch, capsys):
    fitted = counted_networks(monkeypatch, pre.quality, tiny_network)
    real = pre.load_dataset

    def forty_cinc_records(name, task, root, rate):
        ds = real(name, task, root, rate)
        if name != "cinc2017":
            return ds
        keep = slice(0, 40)
        return dataclasses.replace(ds, X=ds.X[keep], y=ds.y[keep], groups=ds.groups[keep],
                                   meta=ds.meta.iloc[keep])

    monkeypatch.setattr(pre, "load_dataset", forty_cinc_records)
    argv = ["--data", str(data_root), "--select", "--seeds", "0", "1", "--n-boot", "20",
            "--cache-dir", str(signal_cache), "--out-dir", str(tmp_path / "pre"),
            "--baseline-dir", str(tmp_path / "base")]
    pre.main(argv)
    table = capsys.readouterr().out.splitlines()
    # Per seed: the plain network, the CinC pretraining, the fine-tuning from its weights.
    assert fitted == [0, 0, 0, 1, 1, 1]
    rows = {line.split(" | ")[0].strip("| "): line for line in table if line.startswith("| ")}
    assert set(rows) == {"pretraining", "none", "cinc2017"}
    assert "p=" in rows["cinc2017"] and "p=" not in rows["none"]
    assert sorted(p.name for p in (tmp_path / "pre").glob("weights__seed*.pt")) \
        == ["weights__seed0.pt", "weights__seed1.pt"]
    assert len(list((tmp_path / "pre" / "select").glob("cinc2017__*.npz"))) == 2
    assert len(list((tmp_path / "base" / "select").glob("none__*.npz"))) == 2

    pre.main(argv)
    assert fitted == [0, 0, 0, 1, 1, 1]  # nothing refitted
    assert capsys.readouterr().out.splitlines() == table

    pre.main([*argv, "--fine-tune-lr", "1e-4"])  # the pretrained weights are reused
    assert fitted == [0, 0, 0, 1, 1, 1, 0, 1]
    assert len(list((tmp_path / "pre" / "select").glob("cinc2017__lr0.0001__*.npz"))) == 2


def test_the_fine_tuning_learning_rate_is_the_recipes_unless_given(pre, tmp_path, data_root,
                                                                   capsys):
    recipe = pre.quality.load_pipeline_module("ecgsk_ptbxl").network().get_params()["net__lr"]
    assert pre.pretrained_network(0, tmp_path / "w.pt").get_params()["net__lr"] == recipe
    assert pre.pretrained_network(0, tmp_path / "w.pt", lr=3e-4).get_params()["net__lr"] == 3e-4
    with pytest.raises(SystemExit) as exc:
        pre.main(["--data", str(data_root), "--fine-tune-lr", "0"])
    assert exc.value.code == 2
    assert "--fine-tune-lr must be positive, got 0" in capsys.readouterr().err
