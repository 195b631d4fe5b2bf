"""Random crops for training and sliding windows for prediction.

This is the protocol of the PTB-XL benchmark (Strodthoff et al., 2021):
train on random crops of fixed length, predict every record by sliding
windows of that length over it and aggregate the windows' probabilities
(by their maximum or mean).

All functions work on torch batches of shape ``(batch, leads, samples)``.
"""

import math

import torch
import torch.nn.functional as F

__all__ = ["random_crop", "window_starts", "sliding_windows", "aggregate_window_logits"]


def random_crop(x, length, generator=None):
    """Crop every record of a batch at its own random offset.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, leads, samples)
        The batch.
    length : int
        Crop length in samples, ``<= samples``.
    generator : torch.Generator or None, default=None
        Source of the offsets (drawn uniformly in ``[0, samples - length]``).

    Returns
    -------
    crops : torch.Tensor of shape (batch, leads, length)

    Examples
    --------
    >>> import torch
    >>> from ecgsk.neural._windows import random_crop
    >>> x = torch.arange(10.0).repeat(2, 1, 1)
    >>> random_crop(x, 4, torch.Generator().manual_seed(0)).shape
    torch.Size([2, 1, 4])
    """
    n_samples = x.shape[-1]
    if length > n_samples:
        raise ValueError(
            f"crop_length={length} is longer than the records ({n_samples} samples)."
        )
    if length == n_samples:
        return x
    gen_device = generator.device if generator is not None else x.device
    offsets = torch.randint(0, n_samples - length + 1, (x.shape[0],),
                            generator=generator, device=gen_device).to(x.device)
    index = offsets[:, None] + torch.arange(length, device=x.device)
    index = index[:, None, :].expand(x.shape[0], x.shape[1], length)
    return x.gather(-1, index)


def window_starts(n_samples, length, stride):
    """Start positions of sliding windows that cover a whole record.

    Windows start at ``0, stride, 2 * stride, ...``; when the last of them
    stops short of the record's end, one more window aligned to the end is
    added, so that every sample is seen.

    Examples
    --------
    >>> from ecgsk.neural._windows import window_starts
    >>> window_starts(10, 4, 3)
    [0, 3, 6]
    >>> window_starts(11, 4, 3)
    [0, 3, 6, 7]
    """
    if length > n_samples:
        raise ValueError(
            f"crop_length={length} is longer than the records ({n_samples} samples)."
        )
    starts = list(range(0, n_samples - length + 1, stride))
    if starts[-1] + length < n_samples:
        starts.append(n_samples - length)
    return starts


def sliding_windows(x, length, stride):
    """Cut every record of a batch into sliding windows.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, leads, samples)
    length : int
        Window length in samples.
    stride : int
        Step between window starts; see :func:`window_starts`.

    Returns
    -------
    windows : torch.Tensor of shape (batch, n_windows, leads, length)

    Examples
    --------
    >>> import torch
    >>> from ecgsk.neural._windows import sliding_windows
    >>> sliding_windows(torch.arange(6.0).reshape(1, 1, 6), 4, 2)[0, :, 0]
    tensor([[0., 1., 2., 3.],
            [2., 3., 4., 5.]])
    """
    n_samples = x.shape[-1]
    starts = window_starts(n_samples, length, stride)
    regular = x.unfold(-1, length, stride)  # (batch, leads, n_regular, length)
    if regular.shape[2] < len(starts):
        regular = torch.cat([regular, x[..., None, n_samples - length:]], dim=2)
    return regular.permute(0, 2, 1, 3)


def aggregate_window_logits(logits, how="max", activation="sigmoid"):
    """Aggregate window logits into one record logit per output.

    The windows' *probabilities* are aggregated, and the result is returned
    as logits, so that the usual activation (sigmoid or softmax) of the
    returned logits gives the aggregated probabilities and the loss can be
    computed on them. All computations stay in log space.

    - ``activation="sigmoid"``: ``"max"`` of probabilities is the max of
      logits (the sigmoid is monotone); ``"mean"`` returns
      ``logit(mean(sigmoid(z)))``.
    - ``activation="softmax"``: returns ``log`` of the per-class max (or
      mean) of the window probabilities. For ``"max"`` these do not sum to 1;
      the softmax of the result renormalises them.

    Parameters
    ----------
    logits : torch.Tensor of shape (batch, n_windows, n_outputs)
    how : {"max", "mean"}, default="max"
    activation : {"sigmoid", "softmax"}, default="sigmoid"

    Returns
    -------
    logits : torch.Tensor of shape (batch, n_outputs)

    Examples
    --------
    >>> import torch
    >>> from ecgsk.neural._windows import aggregate_window_logits
    >>> z = torch.tensor([[[0.0], [2.0]]])  # one record, two windows
    >>> torch.sigmoid(aggregate_window_logits(z, "mean"))
    tensor([[0.6904]])
    """
    if how not in ("max", "mean"):
        raise ValueError(f"window_aggregate must be 'max' or 'mean', got {how!r}.")
    n_windows = logits.shape[1]
    if activation == "sigmoid":
        if how == "max":
            return logits.amax(dim=1)
        log_p = torch.logsumexp(F.logsigmoid(logits), dim=1)
        log_1mp = torch.logsumexp(F.logsigmoid(-logits), dim=1)
        return log_p - log_1mp
    if activation == "softmax":
        log_prob = F.log_softmax(logits, dim=-1)
        if how == "max":
            return log_prob.amax(dim=1)
        return torch.logsumexp(log_prob, dim=1) - math.log(n_windows)
    raise ValueError(f"activation must be 'sigmoid' or 'softmax', got {activation!r}.")
