"""Any timm 2-D image backbone over the ECG seen as a one-channel image."""

import math
import os

import torch
from torch import nn

from .._validation import check_bool, check_positive_int
from ._utils import check_input, check_io_args

__all__ = ["TimmNet"]

# Libraries whose exceptions mean "the weights could not be fetched".
_DOWNLOAD_LIBS = {"huggingface_hub", "requests", "httpx", "httpcore", "urllib3", "urllib"}


def _is_download_error(exc):
    root = type(exc).__module__.split(".")[0]
    return isinstance(exc, (OSError, ConnectionError, TimeoutError)) or root in _DOWNLOAD_LIBS


#: What torch says when a backbone's layers shrink an image below their kernels.
_TOO_SMALL = ("Output size is too small", "Kernel size can't be greater than actual input size")


class TimmNet(nn.Module):
    """A timm image backbone on the ECG as a ``1 x leads x samples`` image.

    The SE-ECGNet set-up: the ``(batch, leads, samples)`` input is viewed as
    a one-channel image ``(batch, 1, leads, samples)`` and fed to
    ``timm.create_model(model_name, in_chans=1, num_classes=n_classes)``;
    the backbone's own global pooling and classifier give the logits. timm
    is imported when the network is built, not when :mod:`ecgsk.nets` is.

    Parameters
    ----------
    model_name : str, default="seresnext50_32x4d"
        Any model name of ``timm.list_models()``.
    in_channels : int, default=12
        Number of leads of the input.
    n_classes : int, default=2
        Number of output logits.
    pretrained : bool, default=False
        Load timm's ImageNet weights. timm adapts them to one input channel
        (summing the first convolution over RGB) and starts a new classifier.
        Without network access this raises a ``RuntimeError`` that explains
        how to pass a local weight file instead:
        ``pretrained_cfg_overlay=dict(file="/path/to/model.safetensors")``.
        Set ``HF_HUB_OFFLINE=1`` to fail at once instead of after the Hugging
        Face client's retries.
    min_height : int, default=32
        Smallest image height. timm backbones reduce the image by 32 and
        several (ConvNeXt's 4x4 patch stem, un-padded max-pools such as
        ``densenet121``'s) fail on images lower than that. With
        fewer leads than ``min_height`` every lead is repeated
        ``k = ceil(min_height / leads)`` times along the lead axis (a band of
        ``k`` identical rows per lead, so each lead keeps equal weight):
        1 lead gives 32 rows, 2 leads 32, 12 leads 36. Repeating rather than
        zero padding keeps every row informative for the global pooling.
        It costs compute roughly in proportion to the height: set
        ``min_height=1`` to feed the raw ``leads x samples`` image to
        backbones that pad their strided layers (e.g. the ResNet family,
        ``seresnext50_32x4d`` included), about 3 times faster for 12 leads.
    **timm_kwargs
        Passed to ``timm.create_model`` (e.g. ``drop_rate=0.2``,
        ``pretrained_cfg_overlay=dict(file=...)``). ``in_chans`` and
        ``num_classes`` are set by the network and may not be given; nor
        may ``features_only=True`` or ``global_pool=""``, which would make
        the backbone return feature maps rather than logits.

    Attributes
    ----------
    backbone : torch.nn.Module
        The timm model.

    Notes
    -----
    Input is ``(batch, leads, samples)``; the output is logits ``(batch,
    n_classes)``. Any number of samples works with backbones that pad their
    strided layers (the ResNet and EfficientNet families); a backbone whose
    stem cuts the image into unpadded patches (ConvNeXt) needs at least 32
    samples (``crop_length`` too), and fixed-size backbones (ViT at its
    default ``img_size``) need matching input.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.nets import TimmNet
    >>> net = TimmNet("resnet10t", in_channels=1, n_classes=4)
    >>> net(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 4])
    """

    def __init__(self, model_name="seresnext50_32x4d", in_channels=12, n_classes=2, *,
                 pretrained=False, min_height=32, **timm_kwargs):
        super().__init__()
        self.in_channels, self.n_classes = check_io_args(in_channels, n_classes)
        self.min_height = check_positive_int(min_height, name="min_height")
        reserved = sorted({"in_chans", "num_classes"} & set(timm_kwargs))
        if reserved:
            raise ValueError(
                f"TimmNet sets {reserved} itself (in_chans=1, num_classes=n_classes); "
                "use n_classes instead and leave in_chans out."
            )
        if timm_kwargs.get("features_only"):
            raise ValueError(
                "TimmNet returns logits; features_only=True makes the backbone return "
                "feature maps instead. Leave features_only out."
            )
        if timm_kwargs.get("global_pool", "avg") == "":
            raise ValueError(
                "TimmNet returns one row of logits per record; global_pool='' switches "
                "the backbone's pooling off. Use a pooling type such as 'avg' or 'max'."
            )
        import timm  # heavy: imported only when a TimmNet is built

        if not isinstance(model_name, str) or not timm.is_model(model_name):
            raise ValueError(
                f"model_name={model_name!r} is not a timm model; see "
                "timm.list_models() (e.g. 'seresnext50_32x4d', 'resnet18')."
            )
        self.model_name = model_name
        self.pretrained = check_bool(pretrained, name="pretrained")
        self.timm_kwargs = dict(timm_kwargs)
        try:
            self.backbone = timm.create_model(
                model_name, pretrained=self.pretrained, in_chans=1,
                num_classes=self.n_classes, **timm_kwargs,
            )
        except Exception as exc:
            if not (self.pretrained and _is_download_error(exc)):
                raise
            overlay = timm_kwargs.get("pretrained_cfg_overlay") or {}
            if overlay.get("file"):
                file = overlay["file"]
                why = ("no such file" if not os.path.isfile(file)
                       else f"{type(exc).__name__}: {exc}".rstrip(": "))
                raise RuntimeError(
                    f"TimmNet could not load the pretrained weights of {model_name!r} "
                    f"from pretrained_cfg_overlay file {file!r}: {why}"
                ) from exc
            raise RuntimeError(
                f"TimmNet could not download the pretrained weights of {model_name!r} "
                f"({type(exc).__name__}: {exc}). There is no network access here or "
                "the weights are not in the local Hugging Face cache. Either build "
                "with pretrained=False, or download the weights where there is "
                "network access and pass the file: TimmNet("
                f"{model_name!r}, pretrained=True, pretrained_cfg_overlay="
                "dict(file='/path/to/model.safetensors')); timm then adapts the "
                "first convolution to one input channel and starts a new classifier."
            ) from exc

    def forward(self, x):
        check_input(x, self.in_channels, type(self).__name__)
        x = x.unsqueeze(1)  # (B, 1, leads, samples)
        leads = x.shape[2]
        if leads < self.min_height:
            x = x.repeat_interleave(math.ceil(self.min_height / leads), dim=2)
        try:
            out = self.backbone(x)
        except RuntimeError as exc:  # torch's words name a kernel, not the image it got
            if not any(text in str(exc) for text in _TOO_SMALL):
                raise
            rows, samples = x.shape[2], x.shape[3]
            hints = [f"raise min_height (now {self.min_height}) to 32"] if rows < 32 else []
            if samples < 32 or not hints:
                hints.append("give it longer records (or a longer crop_length)")
            hint = " and ".join(hints)
            raise ValueError(
                f"TimmNet({self.model_name!r}) cannot take an image of {rows} rows x "
                f"{samples} samples: its layers shrink it to nothing ({exc}). Some backbones "
                f"need at least 32 rows and 32 samples: {hint}, or choose another "
                "model_name.") from exc
        if not isinstance(out, torch.Tensor) or out.shape != (x.shape[0], self.n_classes):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise RuntimeError(
                f"TimmNet({self.model_name!r}) returned {got}, not logits of shape "
                f"({x.shape[0]}, {self.n_classes}); check the timm options "
                f"{self.timm_kwargs}."
            )
        return out

    def extra_repr(self):
        return f"model_name={self.model_name!r}, min_height={self.min_height}"
