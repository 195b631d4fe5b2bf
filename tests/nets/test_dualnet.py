"""Tests of ecgsk/nets/_dualnet.py: the LSTM + conditioned spectrogram CNN."""

import math

import numpy as np
import pytest
import torch

from ecgsk.nets import DualNet, SEBlock


def _tiny(**kwargs):
    params = dict(nperseg=16, noverlap=8, lstm_input=8, lstm_hidden=8, lstm_layers=1,
                  channels=(8, 16), reduction=4)
    params.update(kwargs)
    return DualNet(**params)


def test_spectrogram_peak_sits_at_the_sine_frequency():
    fs, nperseg = 300.0, 64
    net = DualNet(1, 4, sampling_rate=fs, nperseg=nperseg, noverlap=32)
    f0 = 10 * fs / nperseg  # 46.875 Hz, exactly bin 10
    t = torch.arange(3000) / fs
    spec = net.spectrogram(torch.sin(2 * math.pi * f0 * t)[None, None])
    # Centred frames: 3000 // 32 + 1 of them, 64 // 2 + 1 bins.
    assert spec.shape == (1, 1, 33, 94)
    inner = spec[0, 0, :, 2:-2]  # frames away from the zero-padded edges
    assert (inner.argmax(dim=0) == 10).all()
    # log power: the peak is far above the floor of the other bins
    assert (inner[10] - inner[20] > 8).all()


def test_spectrogram_is_log_power_of_torch_stft():
    net = _tiny(in_channels=2, n_classes=3)
    x = torch.randn(3, 2, 200)
    window = torch.hann_window(16)
    ref = torch.stft(x.reshape(6, 200), 16, hop_length=8, window=window, center=True,
                     pad_mode="constant", return_complex=True).abs().square()
    torch.testing.assert_close(net.spectrogram(x),
                               torch.log(ref + 1e-6).reshape(3, 2, 9, -1))


def test_max_freq_keeps_bins_up_to_it():
    net = DualNet(1, 4, sampling_rate=300, nperseg=64, noverlap=32, max_freq=50)
    # Bins are 300 / 64 = 4.6875 Hz apart: 0 ... 46.875 Hz are kept.
    assert net.n_freq == 11
    assert net.spectrogram(torch.randn(2, 1, 600)).shape == (2, 1, 11, 19)
    assert net(torch.randn(2, 1, 600)).shape == (2, 4)
    # A bin at max_freq itself is kept: int(37.8 * 200 / 360) is 20, which lost it.
    for fs, nperseg, top in ((360, 200, 37.8), (360, 100, 75.6), (300, 64, 46.875)):
        freqs = np.fft.rfftfreq(nperseg, 1 / fs)
        expected = int(np.sum(np.isclose(freqs, top) | (freqs < top)))
        net = DualNet(1, 4, sampling_rate=fs, nperseg=nperseg, noverlap=0, max_freq=top)
        assert net.n_freq == expected and np.isclose(freqs[expected - 1], top)


def test_lstm_runs_over_the_spectrogram_frames():
    net = _tiny(in_channels=1, n_classes=2)
    x = torch.randn(2, 1, 203)
    frames = net.embed(x)
    assert frames.shape == (2, 8, net.spectrogram(x).shape[-1])  # one step per frame
    assert net.latent(x).shape == (2, 8)


def test_conditioning_starts_neutral_and_then_uses_the_latent():
    torch.manual_seed(0)
    block = _tiny(in_channels=1, n_classes=2).blocks[0].eval()
    s = torch.randn(2, 1, 9, 13)
    z1, z2 = torch.randn(2, 8), torch.randn(2, 8)
    with torch.no_grad():
        # Zero-initialised FiLM maps: the latent vector has no effect yet.
        torch.testing.assert_close(block(s, z1), block(s, z2))
        torch.nn.init.normal_(block.norm1.film.weight)
        assert not torch.allclose(block(s, z1), block(s, z2))
        # The modulation is BN(x) * (1 + gamma(z)) + beta(z).
        gamma, beta = block.norm1.film(z1).chunk(2, dim=1)
        h = block.conv1(s)
        torch.testing.assert_close(
            block.norm1(h, z1),
            block.norm1.bn(h) * (1 + gamma[:, :, None, None]) + beta[:, :, None, None])


def test_se_blocks_are_the_only_difference():
    with_se = DualNet(1, 4, se=True)
    without = DualNet(1, 4, se=False)
    ses = [m for m in with_se.modules() if isinstance(m, SEBlock)]
    assert [m.channels for m in ses] == [32, 64, 128, 128]
    assert not any(isinstance(m, SEBlock) for m in without.modules())
    n = lambda m: sum(p.numel() for p in m.parameters())
    assert n(with_se) - n(without) == with_se.n_se_parameters == \
        sum(n(m) for m in ses) == 5_110
    # Hand count of the SE-free network (1 lead, 4 classes, defaults).
    embed = 1 * 64 * 64 + 2 * 64
    lstm = (4 * 128 * (64 + 128) + 2 * 4 * 128) + (4 * 128 * (128 + 128) + 2 * 4 * 128)

    def block(c_in, c):  # two 3x3 convs, two FiLM maps (latent 128 -> 2c), shortcut
        return 9 * c_in * c + 9 * c * c + 2 * (128 * 2 * c + 2 * c) + (c_in * c if c_in != c else 0)

    blocks = block(1, 32) + block(32, 64) + block(64, 128) + block(128, 128)
    head = (128 + 128) * 4 + 4
    assert n(without) == embed + lstm + 2 + blocks + head == 1_009_478


def test_head_sees_spectrogram_features_and_latent():
    net = DualNet(2, 3, lstm_hidden=32, channels=(8, 24))
    assert net.head[-1].in_features == 24 + 32


@pytest.mark.parametrize("kwargs, match", [
    ({"nperseg": 1}, r"nperseg must be >= 2"),
    ({"nperseg": 32, "noverlap": 32}, r"noverlap must be smaller than nperseg=32"),
    ({"noverlap": -1}, r"noverlap must be an integer >= 0"),
    ({"sampling_rate": 0}, r"sampling_rate must be a positive number of Hz"),
    ({"max_freq": 200}, r"max_freq=200 Hz is above the Nyquist frequency 150 Hz"),
    ({"channels": ()}, r"channels must hold at least 1 integer"),
    ({"lstm_layers": 0}, r"lstm_layers must be a positive integer"),
])
def test_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DualNet(1, 4, **kwargs)
