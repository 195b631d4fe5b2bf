"""Tiny configurations of every network and a separable toy problem.

The configurations keep each network's structure (every kind of block is
there) but shrink widths and depths so that the whole folder runs in well
under a minute and a half on CI's two cores.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from ecgsk.nets import (
    ECGCNN,
    DualNet,
    IncepSE,
    InceptionTime1d,
    ResNet1d,
    SEResNeXt1d,
    TimmNet,
)

#: name -> factory(in_channels, n_classes) of a tiny network.
TINY = {
    "SEResNeXt1d": lambda c, k: SEResNeXt1d(c, k, layers=(1, 1), stem_channels=16,
                                            cardinality=4, reduction=4),
    "TimmNet": lambda c, k: TimmNet("test_resnet", c, k, min_height=8),
    "InceptionTime1d": lambda c, k: InceptionTime1d(c, k, n_filters=8, depth=3,
                                                    kernel_sizes=(9, 5, 3), bottleneck=8,
                                                    head_hidden=16),
    "IncepSE": lambda c, k: IncepSE(c, k, n_filters=8, depth=3, kernel_sizes=(9, 5, 3),
                                    bottleneck=8, head_hidden=16, reduction=4),
    "DualNet": lambda c, k: DualNet(c, k, nperseg=16, noverlap=8, lstm_input=16,
                                    lstm_hidden=16, lstm_layers=1, channels=(8, 16),
                                    reduction=4),
    "ResNet1d": lambda c, k: ResNet1d(c, k, channels=16, head_hidden=16),
    "ECGCNN": lambda c, k: ECGCNN(c, k, filters=(8, 16, 16, 32), dense=(32, 16)),
}

#: The classes, for tests of constructor arguments shared by all networks.
CLASSES = {
    "SEResNeXt1d": SEResNeXt1d,
    "TimmNet": lambda **kw: TimmNet("test_resnet", **kw),
    "InceptionTime1d": InceptionTime1d,
    "IncepSE": IncepSE,
    "DualNet": DualNet,
    "ResNet1d": ResNet1d,
    "ECGCNN": ECGCNN,
}


def build(name, in_channels, n_classes, seed=0):
    """A tiny network, initialised reproducibly."""
    torch.manual_seed(seed)
    return TINY[name](in_channels, n_classes)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def toy_waves(n, leads, samples, seed):
    """Class 0: sine waves, class 1: square waves (random frequency, phase,
    per-lead amplitude, Gaussian noise of 0.1). Balanced, classes alternate."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    t = torch.arange(samples) / samples
    freq = 2 + 4 * torch.rand(n, 1, 1, generator=g)
    phase = 2 * math.pi * torch.rand(n, 1, 1, generator=g)
    amp = 0.5 + torch.rand(n, leads, 1, generator=g)
    sine = torch.sin(2 * math.pi * freq * t + phase)
    x = torch.where(y[:, None, None] == 1, torch.sign(sine), sine) * amp
    x = x + 0.1 * torch.randn(n, leads, samples, generator=g)
    return x.float(), y


def fit_toy(net, *, steps, lr=1e-2, leads=2, samples=128):
    """Train on 64 toy records with full-batch Adam; return held-out accuracy."""
    x_train, y_train = toy_waves(64, leads, samples, seed=1)
    x_test, y_test = toy_waves(128, leads, samples, seed=2)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(net(x_train), y_train).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        return (net(x_test).argmax(dim=1) == y_test).float().mean().item()


@pytest.fixture(params=sorted(TINY))
def net_name(request):
    return request.param


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run each test of this folder on one intra-op thread, then restore.

    The tiny networks gain nothing from a second thread, and on a busy
    machine (parallel CI jobs, other test processes) OpenMP threads that
    wait for each other made this folder several times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Test modules are imported with --import-mode=importlib, so they reach the
# helpers above through fixtures rather than imports.
@pytest.fixture
def build_tiny():
    return build


@pytest.fixture
def net_classes():
    return CLASSES


@pytest.fixture
def count_params():
    return n_params


@pytest.fixture
def toy():
    return toy_waves


@pytest.fixture
def train_toy():
    return fit_toy
