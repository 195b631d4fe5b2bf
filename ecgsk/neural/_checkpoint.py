"""Resume a network's training after a crash or Ctrl-C: a checkpoint at the end of every epoch.

:class:`~ecgsk.neural.ECGNetClassifier` with ``checkpoint_dir`` adds
:class:`EpochCheckpoint` as its last callback. At the end of every epoch it
writes the whole state of the training (weights, optimizer, history, the
callbacks' state: early stopping's counter and best weights, the learning
rate schedule; the random generators) to one file named by a fingerprint of
the fit (:func:`fit_fingerprint`: the data, every parameter and ecgsk's
code). A fit of
the same net on the same data that finds that file starts from it and runs
only the epochs left, to the same result as an uninterrupted fit on the
same machine. The file is removed once the fit ends, unless it ends by an
interruption (Ctrl-C, SIGTERM) or the process dies.
"""

import contextlib
import io
import os
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback

from .._atomic import atomic_write, other_owner, partial_name
from .._source import code_hash

__all__ = ["EpochCheckpoint", "checkpoints", "default_checkpoint_dir", "fit_fingerprint",
           "read_checkpoint", "remove_checkpoint"]

_default = {"dir": None}

#: Parameters that do not change what a fit computes.
_NOT_FINGERPRINTED = ("checkpoint_dir", "verbose")


@contextlib.contextmanager
def checkpoints(folder):
    """Checkpoint every network fitted in the block into ``folder``.

    Within the block, :class:`~ecgsk.neural.ECGNetClassifier` fits whose
    ``checkpoint_dir`` is None write their checkpoints to ``folder`` (and
    resume from them), as if ``checkpoint_dir=folder`` had been given, in
    every thread of the process. ``python -m ecgsk.compare``, ``python -m
    ecgsk.tune`` and ``bench/quality.py`` fit in such a block, so that a
    rerun after an interruption resumes a network's training at its last
    finished epoch.
    ``None`` turns the default off in the block.

    Parameters
    ----------
    folder : str, path-like or None
        The default checkpoint folder in the block; None sets none. The
        previous default (of an enclosing block) is restored when the block
        ends, even on an error.

    Examples
    --------
    >>> from ecgsk.neural import checkpoints            # doctest: +SKIP
    >>> with checkpoints("ckpt"):                        # doctest: +SKIP
    ...     pipeline.fit(X, y)   # Ctrl-C, then the same fit again: it resumes
    """
    if folder is not None and not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"checkpoints takes a folder (a str or path-like) or None, got "
                        f"{folder!r}.")  # 5: "expected str, bytes or os.PathLike object"
    previous = _default["dir"]
    _default["dir"] = None if folder is None else os.path.expanduser(os.fspath(folder))
    try:
        yield
    finally:
        _default["dir"] = previous


def default_checkpoint_dir():
    """The folder :func:`checkpoints` set for the current block, or None."""
    return _default["dir"]


def fit_fingerprint(net, X, y):
    """A fingerprint of a fit: ``X``, ``y``, the net's parameters and ecgsk's code, or None.

    None when a parameter cannot be hashed. ecgsk's code counts
    (:func:`ecgsk._source.code_hash`): a checkpoint written by another
    version of the package is not resumed from; so does the source of the
    ``module`` parameter (a user's own network class, the class of an
    instance, or a function that builds one), where Python can read it.

    A callback whose class sets ``fingerprinted = False`` is left out: it
    watches the training without changing what an epoch computes (``ecgsk.tune``'s
    pruning callback, which holds its trial: a trial queued again after an
    interruption resumes the nets of the one it repeats).
    """
    import joblib

    params = {k: v for k, v in net.get_params(deep=False).items()
              if k not in _NOT_FINGERPRINTED}
    if isinstance(params.get("callbacks"), (list, tuple)):
        params["callbacks"] = [
            _callback_key(item) for item in params["callbacks"]
            if getattr(item[1] if isinstance(item, tuple) else item, "fingerprinted", True)]
    try:
        return joblib.hash((code_hash(), type(net).__qualname__, params, X, y,
                            _source(params.get("module"))))
    except Exception:  # noqa: BLE001 -- a parameter that does not pickle: no checkpoints
        return None


def _source(module):
    """The source code of ``module`` (a class, its instance, a function), or None."""
    import inspect

    target = module if isinstance(module, type) or inspect.isfunction(module) else type(module)
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):  # defined in a REPL, or built in
        return None


def _callback_key(item):
    """A callback as its class and parameters: skorch adds attributes to an instance
    as it fits (``best_score_``...), so the same callback, fitted once, hashed otherwise."""
    name, callback = item if isinstance(item, tuple) else (None, item)
    if isinstance(callback, type) or not hasattr(callback, "get_params"):
        return name, callback
    return name, type(callback).__qualname__, callback.get_params(deep=False)


def remove_checkpoint(path):
    """Remove the checkpoint at ``path`` (None: nothing), if it is there."""
    if path is not None:
        with contextlib.suppress(OSError):  # gone, or a read-only folder: nothing to resume
            os.remove(path)


def read_checkpoint(path, fingerprint):
    """The state saved at ``path`` if it is a checkpoint of this fit, else None."""
    if path is None or not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as f:
            owner = other_owner(f)
            if owner is not None:
                warnings.warn(f"the checkpoint {path} was written by another user (uid "
                              f"{owner}): it is not read, as reading it could run code that it "
                              "holds; the fit starts from its first epoch and overwrites it.",
                              RuntimeWarning, stacklevel=2)
                return None
            state = torch.load(f, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 -- a torn or foreign file is not resumed from
        # Checkpoints are written whole (renamed into place): this one was damaged since.
        warnings.warn(f"the checkpoint {path} cannot be read ({type(exc).__name__}: {exc}); "
                      "the fit starts from its first epoch and overwrites it.", RuntimeWarning,
                      stacklevel=2)
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != fingerprint:
        return None
    try:  # here, so that a state that does not load is a warning, not a failed fit
        state["callbacks"] = {name: {key: _decoded(kind, value) for key, (kind, value)
                                     in cb_state.items()}
                              for name, cb_state in state.get("callbacks", {}).items()}
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"the checkpoint {path} holds a callback state that cannot be read "
                      f"({type(exc).__name__}: {exc}); the fit starts from its first epoch "
                      "and overwrites it.", RuntimeWarning, stacklevel=2)
        return None
    return state


def _decoded(kind, value):
    """A saved callback attribute as ``(kind, value)``, its bytes loaded on the CPU."""
    if kind == "torch":
        return "object", torch.load(io.BytesIO(value), map_location="cpu", weights_only=False)
    return kind, value


def _callback_state(callback):
    """The fitted attributes (``name_``) of a callback; a scheduler by its ``state_dict``."""
    state = {}
    for key, value in vars(callback).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if (not isinstance(value, type) and hasattr(value, "state_dict")
                and hasattr(value, "load_state_dict")):
            state[key] = ("state_dict", value.state_dict())
            continue
        # Serialised here, once (torch.save then writes the bytes as they are), by torch:
        # its tensors (early stopping's best weights) load with a map_location, so that
        # a GPU's checkpoint resumes on a CPU-only machine.
        buffer = io.BytesIO()
        try:
            torch.save(value, buffer)
        except Exception:  # noqa: BLE001 -- a progress bar, a lock: not training state
            continue
        state[key] = ("torch", buffer.getvalue())
    return state


def _restore_callback(callback, state):
    """Set a callback's attributes from a state that :func:`read_checkpoint` decoded."""
    for key, (kind, value) in state.items():
        if kind == "state_dict" and getattr(callback, key, None) is not None:
            getattr(callback, key).load_state_dict(value)
        elif kind == "object":
            setattr(callback, key, value)


class EpochCheckpoint(Callback):
    """Save the training state at every epoch's end; restore it when the fit starts again.

    Set up by :class:`~ecgsk.neural.ECGNetClassifier` (``checkpoint_dir``),
    which gives it the file (``path``) and a state to resume from
    (``resume``, from :func:`read_checkpoint`) before training starts. It
    must be the last callback: it restores the others after they have
    initialised themselves, and saves after they have updated.
    """

    def __init__(self, path=None, fingerprint=None, resume=None):
        self.path = path
        self.fingerprint = fingerprint
        self.resume = resume

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        state, self.resume = self.resume, None
        if state is None:
            return
        from skorch.history import History

        net.module_.load_state_dict(state["module"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history = History(state["history"])
        callbacks = dict(net.callbacks_)
        for name, cb_state in state["callbacks"].items():
            if name in callbacks:
                _restore_callback(callbacks[name], cb_state)
        if state.get("grad_scaler") is not None and net.grad_scaler_ is not None:
            net.grad_scaler_.load_state_dict(state["grad_scaler"])
        # The generators at the first epoch's start: skorch builds the data
        # iterators in between, and the balanced sampler draws its seed there.
        self.rng_ = state["rng"]

    def on_epoch_begin(self, net, **kwargs):
        rng, self.rng_ = getattr(self, "rng_", None), None
        if rng is None:
            return
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        np.random.set_state(rng["numpy"])
        for name in ("train_generator", "sampler_generator"):
            generator = getattr(net, f"{name}_", None)
            if rng.get(name) is not None and generator is not None:
                generator.set_state(rng[name])

    def on_epoch_end(self, net, **kwargs):
        if self.path is None:
            return
        generators = {name: getattr(net, f"{name}_", None)
                      for name in ("train_generator", "sampler_generator")}
        state = {
            "fingerprint": self.fingerprint,
            "epochs": len(net.history),
            # Drawn from numpy's global generator with random_state=None: a rerun
            # would draw another validation split for the weights trained on this one.
            "split_seed": getattr(net, "split_seed_", None),
            "module": net.module_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "history": net.history.to_list(),
            "callbacks": {name: _callback_state(cb) for name, cb in net.callbacks_
                          if cb is not self},
            "grad_scaler": (net.grad_scaler_.state_dict()
                            if getattr(net, "grad_scaler_", None) is not None else None),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "numpy": np.random.get_state(),
                **{name: None if gen is None else gen.get_state()
                   for name, gen in generators.items()},
            },
        }
        # A crash while saving keeps the previous epoch's checkpoint.
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            atomic_write(self.path, lambda f: torch.save(state, f),
                         partial=partial_name(self.path), durable=True)
        except (OSError, RuntimeError) as exc:  # torch.save says a full disk in RuntimeError
            # A checkpoint only helps a rerun: the training goes on without.
            warnings.warn(f"cannot write the checkpoint {self.path} ({type(exc).__name__}: "
                          f"{exc}); the training goes on without writing checkpoints, so "
                          "a rerun after an interruption resumes from the last one written, "
                          "if any.", RuntimeWarning, stacklevel=2)
            self.path = None
