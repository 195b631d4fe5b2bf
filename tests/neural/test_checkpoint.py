"""Tests of ecgsk/neural/_checkpoint.py: an interrupted fit resumes to the same net."""

import os
import pickle
import signal

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from ecgsk.preprocessing import Augmenter

from .test_classifier import fast, make_multilabel, make_signals


#: Epochs trained (not restored), as ``len(history)`` at their end.
TRAINED = []


class CtrlCAt(Callback):
    """Sends SIGINT (a user's Ctrl-C) at the end of epoch ``epoch`` while $ECGSK_TEST_SIGINT is set.

    The switch is outside the parameters, so the interrupted and the resumed
    fit have the same fingerprint.
    """

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        TRAINED.append(len(net.history))
        if len(net.history) == self.epoch and os.environ.get("ECGSK_TEST_SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)


def _weights(net):
    return {k: v.clone() for k, v in net.module_.state_dict().items()}


def _interrupted_then_resumed(make, X, y, tmp_path, monkeypatch, at):
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    first = make(checkpoint_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        first.fit(X, y)
    assert len(first.history) == at  # the checkpoint holds the epoch before
    (saved,) = tmp_path.glob("ecgnet-*.pt")
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    TRAINED.clear()
    resumed = make(checkpoint_dir=tmp_path).fit(X, y)
    # Epoch `at` ended in the Ctrl-C before it was saved: the resumed fit trains it
    # again, and the ones after (early stopping's last epoch ends before CtrlCAt sees it).
    assert TRAINED == list(range(at, at + len(TRAINED)))
    assert TRAINED[-1] >= len(resumed.history) - 1
    return resumed, saved


@pytest.mark.parametrize("case", ["plain", "crops, augmentation, balanced sampling",
                                  "multi-label, early stopping after the resume"])
def test_a_resumed_fit_ends_as_an_uninterrupted_one(case, tmp_path, monkeypatch):
    if case == "plain":
        X, y = make_signals(96)
        kwargs = dict(max_epochs=8, lr_patience=1)
    elif case.startswith("crops"):
        X, y = make_signals(96, n_samples=96)
        kwargs = dict(max_epochs=6, crop_length=64, window_stride=32, augment=Augmenter(),
                      balanced_sampling=True)
    else:
        X, y = make_multilabel(120)
        kwargs = dict(max_epochs=30, patience=2, lr=0.1, lr_patience=None)

    def make(**extra):
        return fast(callbacks=[("ctrl_c", CtrlCAt(3))], **kwargs, **extra)

    reference = make().fit(X, y)
    resumed, saved = _interrupted_then_resumed(make, X, y, tmp_path, monkeypatch, at=3)
    assert len(resumed.history) == len(reference.history) > 3
    if case.startswith("multi"):
        assert len(reference.history) < 30  # early stopping ended both
    for key in ("train_loss", "valid_loss"):
        assert resumed.history[:, key] == reference.history[:, key]
    want = _weights(reference)
    assert all(torch.equal(v, want[k]) for k, v in _weights(resumed).items())
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))
    assert not saved.exists()  # a finished fit leaves no checkpoint


def test_a_checkpoint_of_another_fit_is_not_used(tmp_path, monkeypatch):
    X, y = make_signals(96)

    def make(**extra):
        return fast(max_epochs=5, callbacks=[("ctrl_c", CtrlCAt(2))], **extra)

    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with pytest.raises(KeyboardInterrupt):
        make(checkpoint_dir=tmp_path).fit(X, y)
    (saved,) = tmp_path.glob("ecgnet-*.pt")
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    other = make(checkpoint_dir=tmp_path, lr=0.05).fit(X, y)  # other parameters
    assert len(other.history) == 5 and saved.exists()
    other = make(checkpoint_dir=tmp_path).fit(X[:90], y[:90])  # other data
    assert len(other.history) == 5 and saved.exists()
    # Other signals, the same labels: a resumed fit would finish and remove the checkpoint.
    other = make(checkpoint_dir=tmp_path).fit(X * 1.5, y)
    assert len(other.history) == 5 and saved.exists()
    with monkeypatch.context() as patch:  # another version of ecgsk's code
        patch.setattr("ecgsk.neural._checkpoint.code_hash", lambda: "other code")
        other = make(checkpoint_dir=tmp_path).fit(X, y)
    assert len(other.history) == 5 and saved.exists()
    saved.write_bytes(b"torn")  # a file damaged since is not read, and it says so
    with pytest.warns(RuntimeWarning, match=rf"the checkpoint {saved} cannot be read .*; the "
                                            "fit starts from its first epoch"):
        again = make(checkpoint_dir=tmp_path).fit(X, y)
    assert len(again.history) == 5
    np.testing.assert_array_equal(again.predict_proba(X), make().fit(X, y).predict_proba(X))


def test_a_gpu_checkpoint_resumes_on_a_cpu_only_machine(tmp_path, monkeypatch):
    # Callback state (early stopping's best weights) was pickled into the checkpoint
    # apart from torch's map_location: a GPU's failed to load here, and the error
    # deleted the checkpoint. Every storage tagged "cuda:0" is what a GPU machine writes.
    import torch.serialization

    X, y = make_signals(96)

    def make(**extra):
        return fast(max_epochs=5, callbacks=[("ctrl_c", CtrlCAt(3))], **extra)

    reference = make().fit(X, y)
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        make(checkpoint_dir=tmp_path).fit(X, y)
    (saved,) = tmp_path.glob("ecgnet-*.pt")
    with pytest.raises(RuntimeError, match="deserialize object on a CUDA device"):
        torch.load(saved, weights_only=False)  # tagged as a GPU's indeed
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    TRAINED.clear()
    resumed = make(checkpoint_dir=tmp_path).fit(X, y)
    assert TRAINED[0] == 3  # resumed after epoch 2, not started again
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))


def test_a_checkpoint_whose_callback_state_does_not_load_warns_and_starts_anew(
        tmp_path, monkeypatch):
    X, y = make_signals(96)

    def make(**extra):
        return fast(max_epochs=4, callbacks=[("ctrl_c", CtrlCAt(2))], **extra)

    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with pytest.raises(KeyboardInterrupt):
        make(checkpoint_dir=tmp_path).fit(X, y)
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    (saved,) = tmp_path.glob("ecgnet-*.pt")
    state = torch.load(saved, weights_only=False)
    name, cb_state = next((n, s) for n, s in state["callbacks"].items() if s)
    key = next(iter(cb_state))
    cb_state[key] = ("torch", b"not a torch file")
    torch.save(state, saved)
    with pytest.warns(RuntimeWarning, match=rf"the checkpoint {saved} holds a callback state "
                                            r"that cannot be read .*; the fit starts from"):
        again = make(checkpoint_dir=tmp_path).fit(X, y)
    assert len(again.history) == 4


class Touch:
    """Unpickled, it creates a file: the code a planted pickle could run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        from pathlib import Path

        return Path.touch, (Path(self.path),)


def test_a_checkpoint_another_user_wrote_is_not_unpickled(tmp_path, monkeypatch):
    # A shared cache's checkpoint was unpickled whoever wrote it: a file planted by another
    # user ran its code in the next fit of the same data.
    X, y = make_signals(64)

    def make(**extra):
        return fast(max_epochs=3, callbacks=[("ctrl_c", CtrlCAt(2))], **extra)

    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with pytest.raises(KeyboardInterrupt):
        make(checkpoint_dir=tmp_path).fit(X, y)
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    (saved,) = tmp_path.glob("ecgnet-*.pt")
    ran = tmp_path / "ran"
    saved.write_bytes(pickle.dumps(Touch(ran)))
    monkeypatch.setattr(os, "getuid", lambda: saved.stat().st_uid + 1)
    with pytest.warns(RuntimeWarning, match=rf"the checkpoint {saved} was written by another "
                                            r"user \(uid \d+\): it is not read"):
        again = make(checkpoint_dir=tmp_path).fit(X, y)
    assert not ran.exists() and len(again.history) == 3
    monkeypatch.undo()  # this user's own file is read, as before (it names no fit: ignored)
    saved.write_bytes(pickle.dumps(Touch(ran)))
    make(checkpoint_dir=tmp_path).fit(X, y)
    assert ran.exists()


def test_a_net_with_checkpoints_clones_and_pickles(tmp_path):
    X, y = make_signals(64)
    net = fast(max_epochs=2, checkpoint_dir=tmp_path)
    assert clone(net).get_params()["checkpoint_dir"] == tmp_path
    fitted = pickle.loads(pickle.dumps(net.fit(X, y)))
    np.testing.assert_array_equal(fitted.predict_proba(X), net.predict_proba(X))
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_dir_is_checked():
    X, y = make_signals(32)
    with pytest.raises(ValueError, match="checkpoint_dir must be None or a folder path, got 3"):
        fast(checkpoint_dir=3).fit(X, y)


def test_a_checkpoints_block_checkpoints_the_nets_of_a_pipeline(tmp_path, monkeypatch):
    from sklearn.pipeline import make_pipeline

    from ecgsk.neural import checkpoints
    from ecgsk.neural._checkpoint import default_checkpoint_dir
    from ecgsk.preprocessing import Standardizer

    X, y = make_signals(96)

    def make():
        return make_pipeline(Standardizer(), fast(max_epochs=6, callbacks=[("c", CtrlCAt(3))]))

    reference = make().fit(X, y)
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with checkpoints(tmp_path), pytest.raises(KeyboardInterrupt):
        make().fit(X, y)
    assert default_checkpoint_dir() is None  # the block ended
    assert len(list(tmp_path.glob("ecgnet-*.pt"))) == 1
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    TRAINED.clear()
    with checkpoints(tmp_path):
        resumed = make().fit(X, y)
    assert TRAINED == [3, 4, 5, 6]  # resumed after epoch 2, the last one saved
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))
    assert list(tmp_path.glob("ecgnet-*.pt")) == []
    with checkpoints(tmp_path), checkpoints(None):
        assert default_checkpoint_dir() is None
    with pytest.raises(TypeError, match=r"checkpoints takes a folder \(a str or path-like\) or "
                                        r"None, got 5"):  # os.fspath's words, naming nothing
        with checkpoints(5):
            pass
    assert default_checkpoint_dir() is None


class FailAt(Callback):
    """Raises an error at epoch ``epoch`` (a diverging loss, a pruned trial)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise RuntimeError("diverged")


def test_a_fit_that_fails_leaves_no_checkpoint(tmp_path):
    X, y = make_signals(64)
    net = fast(max_epochs=5, checkpoint_dir=tmp_path, callbacks=[("fail", FailAt(3))])
    with pytest.raises(RuntimeError, match="diverged"):
        net.fit(X, y)
    assert list(tmp_path.iterdir()) == []  # nothing to resume: a rerun fails the same way


def test_callbacks_that_only_watch_are_not_fingerprinted():
    from ecgsk.neural._checkpoint import fit_fingerprint

    class Watch(Callback):
        fingerprinted = False

        def __init__(self, tag):
            self.tag = tag

    X, y = make_signals(32)
    a = fast(callbacks=[("w", Watch(1))])
    assert fit_fingerprint(a, X, y) == fit_fingerprint(fast(callbacks=[("w", Watch(2))]), X, y)
    assert fit_fingerprint(a, X, y) == fit_fingerprint(fast(callbacks=[]), X, y)
    assert fit_fingerprint(a, X, y) != fit_fingerprint(fast(callbacks=[("c", CtrlCAt(1))]),
                                                       X, y)
    assert fit_fingerprint(a, X, y) != fit_fingerprint(a, X, y[::-1].copy())


class ValidSpy(Callback):
    """Keeps the validation records of each epoch (by index into the fit's X)."""

    seen = []

    def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
        ValidSpy.seen.append(sorted(int(i) for i in dataset_valid.indices))


def test_a_resume_without_random_state_validates_on_the_same_records(tmp_path, monkeypatch):
    """The split seed came from numpy's global generator: a rerun drew another split."""
    X, y = make_signals(96)

    def make(**extra):
        return fast(random_state=None, max_epochs=5, checkpoint_dir=tmp_path,
                    callbacks=[("ctrl_c", CtrlCAt(3)), ("spy", ValidSpy())], **extra)

    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    ValidSpy.seen.clear()
    np.random.seed(1)
    with pytest.raises(KeyboardInterrupt):
        make().fit(X, y)
    first = ValidSpy.seen[0]
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    ValidSpy.seen.clear()
    TRAINED.clear()
    np.random.seed(2)  # a new process, say
    make().fit(X, y)
    assert TRAINED == [3, 4, 5]  # resumed
    assert all(valid == first for valid in ValidSpy.seen)


def test_the_same_net_fitted_again_after_ctrl_c_resumes(tmp_path, monkeypatch):
    """skorch adds attributes to a callback as it fits: the instance must hash the same."""
    from skorch.callbacks import EpochScoring

    from ecgsk.neural._callbacks import valid_accuracy

    X, y = make_signals(96)
    net = fast(max_epochs=5, checkpoint_dir=tmp_path,
               callbacks=[("acc2", EpochScoring(valid_accuracy, name="acc2")),
                          ("ctrl_c", CtrlCAt(3))])
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y)
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    TRAINED.clear()
    net.fit(X, y)  # the notebook's Ctrl-C, then the same cell again
    assert TRAINED == [3, 4, 5]
    assert list(tmp_path.glob("ecgnet-*.pt")) == []


def test_partial_fit_neither_writes_nor_resumes_a_checkpoint(tmp_path, monkeypatch):
    X, y = make_signals(96)
    net = fast(max_epochs=4, checkpoint_dir=tmp_path, callbacks=[("ctrl_c", CtrlCAt(3))])
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y)
    (left,) = tmp_path.glob("ecgnet-*.pt")  # an interrupted fit's, of the same data
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    TRAINED.clear()
    clone(net).partial_fit(X, y)
    assert TRAINED == [1, 2, 3, 4]  # max_epochs trained, none restored from the fit's file
    assert list(tmp_path.glob("ecgnet-*.pt")) == [left]  # left to the fit, none written


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   RuntimeError("[enforce fail at inline_container.cc:671] . "
                                                "unexpected pos 64 vs 0")])
def test_a_checkpoint_that_cannot_be_written_does_not_fail_the_training(tmp_path, monkeypatch,
                                                                        error):
    """A full disk or a read-only folder: a warning, and the training goes on."""
    def fail(*args, **kwargs):
        raise error

    X, y = make_signals(96)
    monkeypatch.setattr("ecgsk.neural._checkpoint.atomic_write", fail)
    with pytest.warns(RuntimeWarning, match=r"cannot write the checkpoint .*ecgnet-.*\.pt "
                                            r"\((OSError|RuntimeError): .*\); the training "
                                            "goes on without writing checkpoints"):
        net = fast(max_epochs=4, checkpoint_dir=tmp_path).fit(X, y)
    assert len(net.history) == 4
    np.testing.assert_array_equal(net.predict_proba(X),
                                  fast(max_epochs=4).fit(X, y).predict_proba(X))


#: The width of WideNet, read when it is built: its source stays the same when it changes.
WIDTH = {"channels": 4}


class WideNet(torch.nn.Module):
    def __init__(self, in_channels, n_classes):
        super().__init__()
        self.conv = torch.nn.Conv1d(in_channels, WIDTH["channels"], 3)
        self.head = torch.nn.Linear(WIDTH["channels"], n_classes)

    def forward(self, x):
        return self.head(self.conv(x).mean(-1))


def test_a_checkpoint_whose_weights_no_longer_fit_the_network_is_not_resumed(tmp_path,
                                                                            monkeypatch):
    # Its own network changed in a way the fingerprint cannot see: the rerun failed
    # in load_state_dict, and the error deleted the checkpoint.
    from ecgsk import ECGNetClassifier

    X, y = make_signals(64)

    def make(**extra):
        return ECGNetClassifier(WideNet, max_epochs=4, lr=1e-2, batch_size=32, random_state=0,
                                callbacks=[("ctrl_c", CtrlCAt(2))], **extra)

    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with pytest.raises(KeyboardInterrupt):
        make(checkpoint_dir=tmp_path).fit(X, y)
    (saved,) = tmp_path.glob("ecgnet-*.pt")
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    monkeypatch.setitem(WIDTH, "channels", 6)
    with pytest.warns(RuntimeWarning, match=rf"the checkpoint {saved} holds weights that do not "
                                            r"fit WideNet as it is now \(was its code changed\?\)"
                                            r": .*size mismatch.*The fit starts from its first "
                                            "epoch"):
        again = make(checkpoint_dir=tmp_path).fit(X, y)
    assert len(again.history) == 4 and not saved.exists()
    np.testing.assert_array_equal(again.predict_proba(X), make().fit(X, y).predict_proba(X))


def test_the_source_of_a_users_network_is_fingerprinted():
    from ecgsk.neural._checkpoint import _source, fit_fingerprint

    X, y = make_signals(8)
    net = fast()
    assert "class TinyNet" in _source(net.module) and "class WideNet" in _source(WideNet(2, 2))
    with pytest.MonkeyPatch.context() as patch:  # TinyNet's code, edited
        patch.setattr("ecgsk.neural._checkpoint._source", lambda module: "edited")
        edited = fit_fingerprint(net, X, y)
    assert edited != fit_fingerprint(net, X, y) == fit_fingerprint(fast(), X, y)


def test_checkpoints_are_flushed_to_disk(tmp_path, monkeypatch, fsyncs):
    # os.replace alone may leave an empty checkpoint after a power cut or an OS crash.
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    X, y = make_signals(64)
    with pytest.raises(KeyboardInterrupt):
        fast(max_epochs=5, checkpoint_dir=tmp_path, callbacks=[CtrlCAt(3)]).fit(X, y)
    assert fsyncs == ["file", "folder"] * 2  # epochs 1 and 2; epoch 3 ended in the Ctrl-C


def test_a_checkpoint_folder_with_a_tilde_is_under_home(tmp_path, monkeypatch):
    # "~/ckpt" (--cache-dir=~/x, where the shell does not expand it) was a folder named
    # "~" in the working directory, beside the signals that went to the home folder.
    from ecgsk.compare._data import checkpoint_folder
    from ecgsk.neural import checkpoints
    from ecgsk.neural._checkpoint import default_checkpoint_dir

    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    assert checkpoint_folder("~/cache") == home / "cache" / "checkpoints"
    with checkpoints("~/ckpt"):
        assert default_checkpoint_dir() == str(home / "ckpt")
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    X, y = make_signals(60)
    with pytest.raises(KeyboardInterrupt):
        fast(max_epochs=4, callbacks=[("c", CtrlCAt(2))], checkpoint_dir="~/ckpt").fit(X, y)
    assert len(list((home / "ckpt").glob("ecgnet-*.pt"))) == 1
    assert list(cwd.iterdir()) == []
