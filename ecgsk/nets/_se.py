"""Squeeze-and-excitation (Hu et al., 2018) for feature maps over time."""

import torch
from torch import nn

from .._validation import check_positive_int

__all__ = ["SEBlock"]


class SEBlock(nn.Module):
    """Squeeze-and-excitation block: rescale each channel by a learned gate.

    *Squeeze*: average each channel over time. *Excite*: ``FC(C -> C // r)
    -> ReLU -> FC(C // r -> C) -> sigmoid`` gives one gate in ``(0, 1)`` per
    channel and record. *Scale*: multiply the channel by its gate.

    Parameters
    ----------
    channels : int
        Number of channels ``C`` of the feature map.
    reduction : int, default=16
        Reduction ratio ``r`` of the bottleneck. The hidden width is
        ``max(1, channels // reduction)``, so a small ``C`` never yields an
        empty layer.

    Attributes
    ----------
    hidden : int
        Width of the bottleneck layer.
    fc1, fc2 : torch.nn.Linear
        The two fully connected layers (with biases).

    Notes
    -----
    The block adds ``2 * C * hidden + C + hidden`` parameters. Input of shape
    ``(batch, C, *spatial)`` is accepted, so the same block serves 1-D maps
    ``(B, C, T)`` and 2-D maps ``(B, C, H, W)`` (the spectrogram encoder of
    :class:`DualNet`); the squeeze averages over all trailing axes.

    References
    ----------
    .. [1] J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks", CVPR 2018.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.nets import SEBlock
    >>> se = SEBlock(64, reduction=16)
    >>> x = torch.randn(8, 64, 250)
    >>> se(x).shape
    torch.Size([8, 64, 250])
    >>> se.gate(x).shape
    torch.Size([8, 64])
    """

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.channels = check_positive_int(channels, name="channels")
        self.reduction = check_positive_int(reduction, name="reduction")
        self.hidden = max(1, self.channels // self.reduction)
        self.fc1 = nn.Linear(self.channels, self.hidden)
        self.fc2 = nn.Linear(self.hidden, self.channels)

    def gate(self, x):
        """Per-channel gates in ``(0, 1)``, shape ``(batch, channels)``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, channels, *spatial)
            A feature map with at least one axis after the channels.

        Returns
        -------
        torch.Tensor of shape (batch, channels)
            The sigmoid gate of each channel of each record, from its mean
            over the trailing axes.

        Raises
        ------
        ValueError
            If ``x`` has fewer than 3 axes or does not have ``channels`` channels.
        """
        if x.ndim < 3 or x.shape[1] != self.channels:
            raise ValueError(
                f"SEBlock(channels={self.channels}) expects input of shape "
                f"(batch, {self.channels}, ...); got shape {tuple(x.shape)}."
            )
        z = x.mean(dim=tuple(range(2, x.ndim)))
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))

    def forward(self, x):
        g = self.gate(x)
        return x * g.reshape(g.shape + (1,) * (x.ndim - 2))

    def extra_repr(self):
        return f"channels={self.channels}, reduction={self.reduction}, hidden={self.hidden}"
