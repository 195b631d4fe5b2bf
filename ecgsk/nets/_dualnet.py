"""DualNet: an LSTM on the signal conditions a residual CNN on its spectrogram.

After ECG-DualNet (Rohr, Reich et al., Physiol. Meas. 2022, code:
ChristophReich1996/ECG_Classification): a signal encoder turns the time
series into a latent vector that modulates, through conditional batch
normalisation, every residual block of a 2-D CNN on the log spectrogram.
Here the spectrogram is computed inside the module with ``torch.stft``, so
one ``(batch, leads, samples)`` array feeds both branches.
"""

import torch
from torch import nn

from .._validation import check_bool, check_positive_int, check_sampling_rate
from ._se import SEBlock
from ._utils import (
    check_input,
    check_int_tuple,
    check_io_args,
    check_non_negative_int,
    check_probability,
)

__all__ = ["DualNet"]


class _FiLMBatchNorm2d(nn.Module):
    """Conditional batch norm: ``BN(x) * (1 + gamma(z)) + beta(z)``.

    ``gamma`` and ``beta`` are one linear map of the latent vector ``z``,
    initialised to zero, so an untrained block starts as a plain batch norm.
    """

    def __init__(self, channels, latent_features):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.film = nn.Linear(latent_features, 2 * channels)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x, z):
        gamma, beta = self.film(z)[:, :, None, None].chunk(2, dim=1)
        return self.bn(x) * (1 + gamma) + beta


class _CondResBlock2d(nn.Module):
    """``conv3x3 -> CBN -> ReLU -> conv3x3 -> CBN [-> SE]`` + shortcut -> ReLU -> avg-pool 2."""

    def __init__(self, in_channels, out_channels, latent_features, se, reduction):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm1 = _FiLMBatchNorm2d(out_channels, latent_features)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = _FiLMBatchNorm2d(out_channels, latent_features)
        self.se = SEBlock(out_channels, reduction) if se else nn.Identity()
        self.shortcut = (nn.Conv2d(in_channels, out_channels, 1, bias=False)
                         if in_channels != out_channels else nn.Identity())
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AvgPool2d(2, ceil_mode=True)

    def forward(self, x, z):
        out = self.relu(self.norm1(self.conv1(x), z))
        out = self.se(self.norm2(self.conv2(out), z))
        return self.pool(self.relu(out + self.shortcut(x)))


class DualNet(nn.Module):
    """Dual-branch ECG network: LSTM on the signal, conditioned CNN on its spectrogram.

    *Signal branch*: a strided convolution cuts the signal into windows of
    ``nperseg`` samples every ``nperseg - noverlap`` samples (the spectrogram's
    frames) and embeds each in ``lstm_input`` features (``-> BN -> ReLU``); an
    LSTM runs over these frames and its last hidden state is the latent
    vector ``z``. Embedding first keeps the LSTM cheap: 1000 samples become
    32 steps with the defaults, not 1000.

    *Spectrogram branch*: ``torch.stft`` (Hann window of ``nperseg``, hop
    ``nperseg - noverlap``, centred frames) of every lead, log power
    ``log(|S|^2 + 1e-6)``, optionally cut at ``max_freq``, batch-normalised
    per lead; then one residual block per entry of ``channels``, each
    ``conv3x3 -> CBN -> ReLU -> conv3x3 -> CBN -> [SE] + shortcut -> ReLU ->
    avg-pool 2x2``. CBN is conditional batch norm: the batch norm's scale and
    shift are ``1 + gamma(z)`` and ``beta(z)``, a linear map of the LSTM's
    latent vector per block (FiLM); this is how ECG-DualNet conditions its
    spectrogram encoder on the signal encoder.

    *Head*: global average pool of the last spectrogram map, concatenated
    with ``z``, dropout, linear.

    ``se=True`` puts an SE block in every residual block of the spectrogram
    encoder (before the addition; the "ECGCNN-SE" variant); ``se=False``
    gives the same network without them ("ECGCNN-L").

    Parameters
    ----------
    in_channels : int, default=1
        Number of leads (CinC 2017 records have one).
    n_classes : int, default=4
        Number of output logits (CinC 2017: normal, AF, other, noisy).
    se : bool, default=True
        Use SE blocks in the spectrogram encoder.
    sampling_rate : float, default=300
        Sampling rate in Hz; only used to turn ``max_freq`` into a bin.
    nperseg : int, default=64
        STFT window length in samples (also the signal branch's window).
    noverlap : int, default=32
        Overlap of consecutive windows, ``0 <= noverlap < nperseg``.
    max_freq : float, optional
        Keep only spectrogram bins up to this frequency in Hz (e.g. 50).
        None keeps all ``nperseg // 2 + 1`` bins.
    lstm_input : int, default=64
        Features per frame fed to the LSTM.
    lstm_hidden : int, default=128
        Hidden size of the LSTM, the length of ``z``.
    lstm_layers : int, default=2
        Number of stacked LSTM layers.
    channels : sequence of int, default=(32, 64, 128, 128)
        Output channels of the residual blocks of the spectrogram encoder.
    reduction : int, default=16
        Reduction ratio of the SE blocks.
    dropout : float, default=0.2
        Dropout before the final linear layer.

    Attributes
    ----------
    hop : int
        ``nperseg - noverlap``.
    n_freq : int
        Number of spectrogram bins kept.
    n_se_parameters : int
        Number of parameters in the SE blocks (0 when ``se=False``).

    Notes
    -----
    Departures from ECG-DualNet: its signal encoder feeds the LSTM with
    fixed-size windows too, but its spectrogram comes precomputed (torchaudio)
    and its head flattens a fixed-size map; here the spectrogram is computed
    in ``forward`` and both maps are pooled globally, so any length works.
    ECG-DualNet's conditional batch norm predicts the scale itself; here it
    predicts ``1 + gamma`` from zero-initialised weights so training starts
    from an unconditioned network. PReLU/PAU activations are replaced by
    ReLU. A dict input with a precomputed spectrogram is not supported.

    References
    ----------
    .. [1] M. Rohr, C. Reich, A. Hoehl et al., "Exploring novel algorithms for
       atrial fibrillation detection by driving graduate level education in
       medical machine learning", Physiol. Meas. 43, 2022.
    .. [2] E. Perez et al., "FiLM: Visual Reasoning with a General
       Conditioning Layer", AAAI 2018.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.nets import DualNet
    >>> net = DualNet(in_channels=1, n_classes=4, sampling_rate=300)
    >>> net(torch.randn(2, 1, 3000)).shape
    torch.Size([2, 4])
    >>> net.spectrogram(torch.randn(2, 1, 3000)).shape  # (B, leads, freq, frames)
    torch.Size([2, 1, 33, 94])
    """

    def __init__(self, in_channels=1, n_classes=4, *, se=True, sampling_rate=300,
                 nperseg=64, noverlap=32, max_freq=None, lstm_input=64,
                 lstm_hidden=128, lstm_layers=2, channels=(32, 64, 128, 128),
                 reduction=16, dropout=0.2):
        super().__init__()
        self.in_channels, self.n_classes = check_io_args(in_channels, n_classes)
        self.se = check_bool(se, name="se")
        self.sampling_rate = check_sampling_rate(sampling_rate)
        self.nperseg = check_positive_int(nperseg, name="nperseg")
        if self.nperseg < 2:
            raise ValueError(f"nperseg must be >= 2, got {nperseg!r}.")
        self.noverlap = check_non_negative_int(noverlap, name="noverlap")
        if self.noverlap >= self.nperseg:
            raise ValueError(
                f"noverlap must be smaller than nperseg={self.nperseg}, got {noverlap!r}."
            )
        self.hop = self.nperseg - self.noverlap
        n_bins = self.nperseg // 2 + 1
        if max_freq is None:
            self.max_freq, self.n_freq = None, n_bins
        else:
            self.max_freq = check_sampling_rate(max_freq, name="max_freq")
            if self.max_freq > self.sampling_rate / 2:
                raise ValueError(
                    f"max_freq={max_freq!r} Hz is above the Nyquist frequency "
                    f"{self.sampling_rate / 2:g} Hz of sampling_rate={sampling_rate!r}."
                )
            # Bins k with k * fs / nperseg <= max_freq, at least one, counted on the bins'
            # own frequencies: int(37.8 * 200 / 360) is 20, and lost the bin at 37.8 Hz.
            top = self.max_freq * (1 + 1e-9)
            self.n_freq = max(1, sum(k * self.sampling_rate / self.nperseg <= top
                                     for k in range(n_bins)))
        self.lstm_input = check_positive_int(lstm_input, name="lstm_input")
        self.lstm_hidden = check_positive_int(lstm_hidden, name="lstm_hidden")
        self.lstm_layers = check_positive_int(lstm_layers, name="lstm_layers")
        self.channels = check_int_tuple(channels, name="channels")
        self.reduction = check_positive_int(reduction, name="reduction")
        self.dropout = check_probability(dropout, name="dropout")

        self.register_buffer("window", torch.hann_window(self.nperseg), persistent=False)
        self.embed = nn.Sequential(
            nn.Conv1d(self.in_channels, self.lstm_input, self.nperseg, stride=self.hop,
                      padding=self.nperseg // 2, bias=False),
            nn.BatchNorm1d(self.lstm_input),
            nn.ReLU(inplace=True),
        )
        self.lstm = nn.LSTM(self.lstm_input, self.lstm_hidden, self.lstm_layers,
                            batch_first=True)
        self.spec_norm = nn.BatchNorm2d(self.in_channels)
        blocks, c_in = [], self.in_channels
        for c in self.channels:
            blocks.append(_CondResBlock2d(c_in, c, self.lstm_hidden, self.se,
                                          self.reduction))
            c_in = c
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(nn.Dropout(self.dropout),
                                  nn.Linear(c_in + self.lstm_hidden, self.n_classes))
        self.n_se_parameters = sum(
            p.numel() for m in self.modules() if isinstance(m, SEBlock)
            for p in m.parameters()
        )

    def spectrogram(self, x):
        """Log-power spectrogram of every lead, ``(batch, leads, n_freq, frames)``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, samples)
            The signals.

        Returns
        -------
        torch.Tensor of shape (batch, in_channels, n_freq, frames)
            ``log(|S|^2 + 1e-6)`` of the centred STFT of each lead, cut to the
            first :attr:`n_freq` bins; ``frames = samples // hop + 1``. Not
            yet batch-normalised (``forward`` does that).

        Raises
        ------
        TypeError
            If ``x`` is not a tensor.
        ValueError
            If ``x`` is not 3-D or does not have ``in_channels`` leads.
        """
        check_input(x, self.in_channels, type(self).__name__)
        b, leads, t = x.shape
        spec = torch.stft(
            x.reshape(b * leads, t), n_fft=self.nperseg, hop_length=self.hop,
            window=self.window.to(x.dtype), center=True, pad_mode="constant",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        log_power = torch.log(power[:, : self.n_freq] + 1e-6)
        return log_power.reshape(b, leads, self.n_freq, -1)

    def latent(self, x):
        """The LSTM's latent vector ``z``, shape ``(batch, lstm_hidden)``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, samples)
            The signals.

        Returns
        -------
        torch.Tensor of shape (batch, lstm_hidden)
            The last LSTM layer's hidden state after the last frame.

        Raises
        ------
        TypeError
            If ``x`` is not a tensor.
        ValueError
            If ``x`` is not 3-D or does not have ``in_channels`` leads.
        """
        check_input(x, self.in_channels, type(self).__name__)
        frames = self.embed(x).transpose(1, 2)  # (B, frames, lstm_input)
        _, (h_n, _) = self.lstm(frames)
        return h_n[-1]

    def forward(self, x):
        z = self.latent(x)
        s = self.spec_norm(self.spectrogram(x))
        for block in self.blocks:
            s = block(s, z)
        return self.head(torch.cat([s.mean(dim=(2, 3)), z], dim=1))
