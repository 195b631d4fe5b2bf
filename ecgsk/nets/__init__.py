"""PyTorch networks for ECG classification.

Every network is a plain :class:`torch.nn.Module` that takes a float tensor
of shape ``(batch, leads, samples)`` and returns logits of shape
``(batch, n_classes)`` (no softmax). All take ``in_channels`` (number of
leads) and ``n_classes`` as their first two arguments (keywords are fine;
:class:`TimmNet` takes the timm model name first), which is how the skorch
estimator :class:`ecgsk.neural.ECGNetClassifier` sets them from the data
(``module__in_channels``, ``module__n_classes``); every other argument is
keyword-only. The defaults (12 leads, 5 classes: the PTB-XL superclasses;
1 lead, 4 classes for :class:`DualNet`: CinC 2017; 2 classes for
:class:`TimmNet`) are only a convenience. Each network ends in global
pooling, so it works for any number of leads (1, 2, 12, ...) and any
length. A batch of the wrong rank or lead count raises a ``ValueError``
naming the expected shape.

- :class:`SEBlock`: squeeze-and-excitation for feature maps.
- :class:`SEResNeXt1d`: 1-D SE-ResNeXt-50 (32x4d), with a small CPU preset.
- :class:`TimmNet`: any timm image backbone on the ``1 x leads x samples``
  image (SE-ECGNet with ``seresnext50_32x4d``).
- :class:`InceptionTime1d`, :class:`IncepSE`: InceptionTime, without and
  with squeeze-and-excitation.
- :class:`DualNet`: LSTM on the signal conditioning a residual (SE) CNN on
  the spectrogram computed inside the module (ECG-DualNet).
- :class:`ResNet1d`: ``resnet1d_wang`` of the PTB-XL benchmark.
- :class:`ECGCNN`: a plain 4-block 1-D CNN.
"""

from ._baselines import ECGCNN, ResNet1d
from ._dualnet import DualNet
from ._inception import IncepSE, InceptionTime1d
from ._resnext import SEResNeXt1d
from ._se import SEBlock
from ._timm import TimmNet

__all__ = [
    "SEBlock",
    "SEResNeXt1d",
    "TimmNet",
    "InceptionTime1d",
    "IncepSE",
    "DualNet",
    "ResNet1d",
    "ECGCNN",
]
