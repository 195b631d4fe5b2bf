"""Gradient saliency and 1-D Grad-CAM for the networks of :mod:`ecgsk.nets`.

Both explain one logit of a :class:`torch.nn.Module` that maps ``(batch,
leads, samples)`` to logits, and return a relevance map of the input's shape
``(n_records, leads, samples)``: non-negative, larger where the logit depends
more on the signal.

Where Grad-CAM looks (:func:`find_cam_layer`): the feature map that the
network pools globally before its classifier. It is found with forward
hooks during one forward pass: the *input* of the last global pooling module
that runs (``nn.AdaptiveAvgPool1d/2d``, ``nn.AdaptiveMaxPool1d/2d``, ecgsk's
concat pooling, timm's ``SelectAdaptivePool2d``; a pooling whose output keeps
more than one position is not global). That is the last feature map of
:class:`~ecgsk.nets.SEResNeXt1d`, :class:`~ecgsk.nets.ResNet1d`,
:class:`~ecgsk.nets.InceptionTime1d`, :class:`~ecgsk.nets.IncepSE`,
:class:`~ecgsk.nets.ECGCNN` and the timm backbone of
:class:`~ecgsk.nets.TimmNet`. :class:`~ecgsk.nets.DualNet` pools its
spectrogram CNN with a tensor mean, not a module, so its last block's output
``(batch, channels, freq, frames)`` is used. Any other network without a
pooling module falls back to the output of the last ``Conv1d``/``Conv2d``
that runs; pass ``layer=`` to choose the module yourself.

How a map goes back to ``(leads, samples)``:

- a 1-D map ``(batch, channels, time)`` is upsampled along time (linear
  interpolation, ``align_corners=False``) and is the same for every lead:
  the first convolution of a 1-D net mixes all leads, so Grad-CAM cannot
  tell them apart (gradient saliency can);
- a 2-D map ``(batch, channels, height, width)`` of an image network
  (TimmNet's ``1 x leads x samples`` image) is upsampled bilinearly to the
  image height and the record length; the rows of each lead (TimmNet
  repeats each lead to ``min_height`` rows) are averaged, giving one row per
  lead. The last map of a deep backbone has few rows, so the lead resolution
  is coarse;
- DualNet's ``(freq, frames)`` map is averaged over frequency, then
  upsampled over frames to samples, the same for every lead.
"""

import math
import numbers

import numpy as np

__all__ = ["saliency", "grad_cam", "find_cam_layer", "target_classes"]

_POOL_NAMES = ("SelectAdaptivePool2d", "AdaptiveConcatPool1d", "AdaptiveConcatPool2d")


def _torch():
    import torch

    return torch


def _as_tensor(X, device):
    torch = _torch()
    from .._validation import check_signals

    X = check_signals(X, name="X")
    return torch.as_tensor(X, dtype=torch.float32, device=device), X.shape


def _device(net):
    _check_module(net)
    for p in net.parameters():
        return p.device
    return _torch().device("cpu")


def _check_module(net):
    """Refuse what is not a torch module, saying what to pass instead.

    An estimator failed with "'LogisticRegression' object has no attribute
    'parameters'".
    """
    if isinstance(net, _torch().nn.Module):
        return
    if hasattr(net, "module_"):
        hint = " (a fitted ECGNetClassifier: pass its module_)"
    elif hasattr(net, "fit"):
        hint = (" (an estimator: ecgsk.explain.explain explains a pipeline, by permutation "
                "where it has no network)")
    else:
        hint = ""
    raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}{hint}.")


def _is_global_pool(module):
    nn = _torch().nn
    adaptive = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d,
                nn.AdaptiveMaxPool2d)
    return isinstance(module, adaptive) or type(module).__name__ in _POOL_NAMES


def _spatial_size(t):
    return int(np.prod(t.shape[2:])) if t.ndim >= 3 else 1


def find_cam_layer(net, X=None):
    """The module whose feature map Grad-CAM uses, and whether its input or output is read.

    Parameters
    ----------
    net : torch.nn.Module
        A network on ``(batch, leads, samples)``.
    X : array-like of shape (n, leads, samples) or None
        A batch to run the detection forward pass on; when None, one record
        of ``net.in_channels`` leads (1 when absent) and 1,000 samples of
        zeros.

    Returns
    -------
    module : torch.nn.Module
    where : {"input", "output"}
        ``"input"`` for a global pooling module (its input is the map),
        ``"output"`` otherwise.

    Raises
    ------
    ValueError
        If the network runs no global pooling module and no convolution.

    Examples
    --------
    >>> from ecgsk.nets import ECGCNN
    >>> from ecgsk.explain import find_cam_layer
    >>> net = ECGCNN(in_channels=2, n_classes=2, filters=(4, 8), kernel_sizes=(5, 3))
    >>> find_cam_layer(net)
    (AdaptiveAvgPool1d(output_size=1), 'input')
    """
    torch = _torch()
    nn = torch.nn
    from ..nets import DualNet

    if isinstance(net, DualNet):
        return net.blocks[-1], "output"
    if X is None:
        X = np.zeros((1, int(getattr(net, "in_channels", 1)), 1000), dtype=np.float32)
    x, _ = _as_tensor(np.asarray(X)[:1], _device(net))
    pools, convs, handles = [], [], []

    def on_pool(module, args, output):
        if args and isinstance(args[0], torch.Tensor) and _spatial_size(args[0]) > 1 \
                and isinstance(output, torch.Tensor) and _spatial_size(output) == 1:
            pools.append(module)

    def on_conv(module, args, output):
        convs.append(module)

    for module in net.modules():
        if _is_global_pool(module):
            handles.append(module.register_forward_hook(on_pool))
        elif isinstance(module, (nn.Conv1d, nn.Conv2d)):
            handles.append(module.register_forward_hook(on_conv))
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(x)
    finally:
        net.train(was_training)
        for h in handles:
            h.remove()
    if pools:
        return pools[-1], "input"
    if convs:
        return convs[-1], "output"
    raise ValueError(f"{type(net).__name__} runs no global pooling module and no Conv1d/Conv2d: "
                     "pass layer= (a module of the network) to grad_cam.")


def _resolve_layer(net, layer, X):
    if layer is None:
        return find_cam_layer(net, X)
    if isinstance(layer, str):
        modules = dict(net.named_modules())
        if layer not in modules:
            names = [n for n in modules if n][:20]
            raise ValueError(f"layer={layer!r} is not a module of {type(net).__name__}; "
                             f"its modules include {names}.")
        layer = modules[layer]
    elif not any(layer is m for m in net.modules()):
        raise ValueError(f"layer={type(layer).__name__} is not a module of "
                         f"{type(net).__name__}.")
    return layer, ("input" if _is_global_pool(layer) else "output")


def _logits(net, x):
    out = net(x)
    if out.ndim == 1:
        out = out[:, None]
    return out


def target_classes(logits, target):
    """Class index explained for each record: ``target``, or the predicted class.

    ``logits`` has shape ``(n, n_logits)``; one logit is a binary net
    (class 1 when positive). ``target`` is None (predicted class), an int
    (the same class for all) or one int per record.

    Parameters
    ----------
    logits : array-like of shape (n, n_logits)
        The net's logits of the ``n`` records; ``n_logits == 1`` for a
        binary net.
    target : int, array-like of int of shape (n,) or None
        The class to explain: one for all records, or one per record. The
        predicted class when None: the largest logit, or with one logit,
        class 1 where it is positive and class 0 elsewhere.

    Returns
    -------
    ndarray of int of shape (n,)
        The class index explained for each record.

    Raises
    ------
    ValueError
        If a target class is negative or not below the net's number of
        classes (2 for one logit), is not a whole number, or ``target`` does
        not broadcast to ``(n,)``.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[0.2, 1.5, -0.3], [2.0, 0.1, 0.4]])
    >>> target_classes(logits, None).tolist()  # the predicted classes
    [1, 0]
    >>> target_classes(logits, 2).tolist()
    [2, 2]
    >>> target_classes(np.array([[-0.7], [1.2]]), None).tolist()  # one logit: a binary net
    [0, 1]
    """
    logits = np.asarray(logits)
    n, k = logits.shape
    n_classes = 2 if k == 1 else k
    if target is None:
        return (logits[:, 0] > 0).astype(np.int64) if k == 1 else logits.argmax(1)
    target = _per_record(target, n)
    if target.dtype.kind not in "biu" and not (target.dtype.kind == "f"
                                             and np.all(target == np.round(target))):
        raise ValueError(f"target must hold class indices (whole numbers), got "
                         f"{np.unique(target)[:5].tolist()} (dtype {target.dtype}).")
    target = target.astype(np.int64)
    bad = target[(target < 0) | (target >= n_classes)]
    if bad.size:
        raise ValueError(f"target class {int(bad[0])} is out of range for a net with "
                         f"{n_classes} classes (0 to {n_classes - 1}).")
    return target


def _per_record(target, n):
    """``target`` as one entry per record of ``n``, naming a count that is neither 1 nor n."""
    target = np.asarray(target)
    if target.ndim > 1 or target.size not in (1, n):
        raise ValueError(f"target has {target.size} entries but X has {n} records; pass one "
                         "class for all records or one per record.")
    return np.broadcast_to(target.reshape(-1) if target.ndim else target, (n,))


def _score(logits, target):
    """Sum over the batch of the explained logit of each record."""
    torch = _torch()
    t = torch.as_tensor(target, device=logits.device)
    if logits.shape[1] == 1:  # one logit: class 1 is +logit, class 0 is -logit
        sign = (2 * t - 1).to(logits.dtype)
        return (logits[:, 0] * sign).sum()
    return logits.gather(1, t[:, None]).sum()


def _batches(n, batch_size):
    if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
            or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


def saliency(net, X, target=None, *, absolute=True, times_input=False, batch_size=32):
    """Gradient saliency: the gradient of a class logit with respect to each input sample.

    Parameters
    ----------
    net : torch.nn.Module
        Network on ``(batch, leads, samples)`` returning logits; put in eval
        mode for the computation (its mode is restored).
    X : array-like of shape (n, leads, samples)
        Signals as the network takes them (after the pipeline's transforms).
    target : None, int or array-like of int
        Class explained: the predicted class of each record when None.
    absolute : bool, default=True
        Return ``|gradient|`` (Simonyan et al., 2014); False keeps the sign.
    times_input : bool, default=False
        Multiply by the input ("gradient × input").
    batch_size : int, default=32
        Records passed through the network at a time (one forward and one
        backward pass each).

    Returns
    -------
    relevance : ndarray of shape (n, leads, samples), float32
    target : ndarray of shape (n,)
        The class explained for each record.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.nets import ECGCNN
    >>> from ecgsk.explain import saliency
    >>> net = ECGCNN(in_channels=2, n_classes=3, filters=(4, 8), kernel_sizes=(5, 3))
    >>> rel, cls = saliency(net, np.random.randn(4, 2, 200).astype("float32"))
    >>> rel.shape, cls.shape
    ((4, 2, 200), (4,))
    """
    torch = _torch()
    device = _device(net)
    x_all, shape = _as_tensor(X, device)
    if target is not None:
        target = _per_record(target, shape[0])  # a wrong count named before any pass
    out = np.empty(shape, dtype=np.float32)
    targets = np.empty(shape[0], dtype=np.int64)
    was_training = net.training
    net.eval()
    try:
        for sl in _batches(shape[0], batch_size):
            x = x_all[sl].clone().requires_grad_(True)
            with torch.enable_grad():  # also inside a caller's torch.no_grad()
                logits = _logits(net, x)
                t = target_classes(logits.detach().cpu().numpy(),
                                   None if target is None else target[sl])
                (grad,) = torch.autograd.grad(_score(logits, t), x)
            if times_input:
                grad = grad * x.detach()
            if absolute:
                grad = grad.abs()
            out[sl] = grad.detach().cpu().numpy()
            targets[sl] = t
    finally:
        net.train(was_training)
    return out, targets


def _cam_to_input(cam, n_leads, n_samples, net, is_2d):
    """Map ``cam`` (batch, time) or (batch, height, width) to (batch, leads, samples)."""
    torch = _torch()
    F = torch.nn.functional
    from ..nets import DualNet

    if is_2d and isinstance(net, DualNet):
        cam, is_2d = cam.mean(dim=1), False  # (freq, frames) -> frames
    if not is_2d:
        up = F.interpolate(cam[:, None], size=n_samples, mode="linear", align_corners=False)
        return up[:, 0, None, :].expand(-1, n_leads, -1)
    min_height = int(getattr(net, "min_height", 1) or 1)
    repeat = math.ceil(min_height / n_leads) if n_leads < min_height else 1
    height = n_leads * repeat
    up = F.interpolate(cam[:, None], size=(height, n_samples), mode="bilinear",
                       align_corners=False)[:, 0]
    return up.reshape(up.shape[0], n_leads, repeat, n_samples).mean(dim=2)


def grad_cam(net, X, target=None, *, layer=None, batch_size=32):
    """Grad-CAM (Selvaraju et al., 2017) on the last feature map, mapped back to the signal.

    The feature map ``A`` (channels × positions) of ``layer`` is weighted by
    the mean gradient of the class logit over positions, summed over
    channels and passed through a ReLU: ``ReLU(sum_c mean(dy/dA_c) A_c)``;
    then upsampled to ``(leads, samples)`` as the module docstring says.

    Parameters
    ----------
    net : torch.nn.Module
        Network on ``(batch, leads, samples)`` returning logits.
    X : array-like of shape (n, leads, samples)
        Signals as the network takes them.
    target : None, int or array-like of int
        Class explained: the predicted class of each record when None.
    layer : torch.nn.Module, str or None
        Module (or its dotted name in ``net.named_modules()``) whose output
        is the feature map; a global pooling module means its input. Found
        by :func:`find_cam_layer` when None.
    batch_size : int, default=32
        Records passed through the network at a time (one forward and one
        backward pass each).

    Returns
    -------
    relevance : ndarray of shape (n, leads, samples), float32
        Non-negative. For 1-D networks every lead gets the same row.
    target : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.nets import ResNet1d
    >>> from ecgsk.explain import grad_cam
    >>> net = ResNet1d(in_channels=3, n_classes=2, channels=8, layers=(1, 1))
    >>> rel, cls = grad_cam(net, np.random.randn(2, 3, 300).astype("float32"))
    >>> rel.shape, bool((rel >= 0).all())
    ((2, 3, 300), True)
    """
    torch = _torch()
    device = _device(net)
    x_all, shape = _as_tensor(X, device)
    if target is not None:
        target = _per_record(target, shape[0])  # a wrong count named before any pass
    module, where = _resolve_layer(net, layer, np.asarray(X)[:1])
    captured = []

    def hook(mod, args, output):
        captured.append(args[0] if where == "input" else output)

    handle = module.register_forward_hook(hook)
    out = np.empty(shape, dtype=np.float32)
    targets = np.empty(shape[0], dtype=np.int64)
    was_training = net.training
    net.eval()
    try:
        for sl in _batches(shape[0], batch_size):
            captured.clear()
            x = x_all[sl].clone().requires_grad_(True)  # in the graph even if params are frozen
            with torch.enable_grad():
                logits = _logits(net, x)
                if not captured or not isinstance(captured[-1], torch.Tensor):
                    raise ValueError(f"the Grad-CAM layer {type(module).__name__} of "
                                     f"{type(net).__name__} did not run or gave no tensor.")
                fmap = captured[-1]
                if fmap.ndim not in (3, 4):
                    raise ValueError(f"the Grad-CAM layer {type(module).__name__} gives a "
                                     f"{fmap.ndim}-D map {tuple(fmap.shape)}; a (batch, "
                                     "channels, time) or (batch, channels, h, w) map is needed.")
                t = target_classes(logits.detach().cpu().numpy(),
                                   None if target is None else target[sl])
                (grad,) = torch.autograd.grad(_score(logits, t), fmap)
            dims = tuple(range(2, fmap.ndim))
            weights = grad.mean(dim=dims, keepdim=True)
            cam = torch.relu((weights * fmap.detach()).sum(dim=1))
            rel = _cam_to_input(cam, shape[1], shape[2], net, fmap.ndim == 4)
            out[sl] = rel.detach().cpu().numpy()
            targets[sl] = t
    finally:
        handle.remove()
        net.train(was_training)
    return out, targets
