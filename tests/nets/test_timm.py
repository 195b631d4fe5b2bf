"""Tests of ecgsk/nets/_timm.py: timm backbones on the ECG image."""

import sys

import pytest
import torch

from ecgsk.nets import TimmNet


def _backbone_input(net, x):
    seen = {}
    handle = net.backbone.register_forward_pre_hook(
        lambda module, args: seen.setdefault("x", args[0]))
    with torch.no_grad():
        net.eval()(x)
    handle.remove()
    return seen["x"]


def test_timm_is_imported_lazily():
    # A fresh interpreter: importing ecgsk.nets must not import timm.
    import subprocess

    code = "import sys, ecgsk.nets; print('timm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("leads, rows", [(1, 32), (2, 32), (5, 35), (12, 36), (40, 40)])
def test_leads_are_repeated_up_to_min_height(leads, rows):
    torch.manual_seed(0)
    net = TimmNet("test_resnet", leads, 2)
    x = torch.randn(2, leads, 100)
    image = _backbone_input(net, x)
    k = rows // leads if leads < 32 else 1
    assert image.shape == (2, 1, rows, 100)
    # Row r shows lead r // k: every lead is a band of k identical rows.
    torch.testing.assert_close(image[:, 0], x.repeat_interleave(k, dim=1), rtol=0, atol=0)


def test_min_height_one_keeps_the_raw_image():
    net = TimmNet("test_resnet", 12, 2, min_height=1)
    x = torch.randn(1, 12, 64)
    torch.testing.assert_close(_backbone_input(net, x), x[:, None], rtol=0, atol=0)


def test_min_height_makes_low_images_work_for_patch_stems():
    # ConvNeXt's 4x4 patch stem and 2x2 downsampling need 32 rows.
    net = TimmNet("test_convnext", 1, 3).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 1, 256)).shape == (2, 3)
    raw = TimmNet("test_convnext", 1, 3, min_height=1).eval()
    # torch's own words named a kernel size, not the image nor min_height
    with pytest.raises(ValueError, match=r"^TimmNet\('test_convnext'\) cannot take an image "
                                         r"of 1 rows x 256 samples: .*Kernel size can't be "
                                         r"greater.*raise min_height \(now 1\) to 32"), \
            torch.no_grad():
        raw(torch.randn(2, 1, 256))
    with pytest.raises(ValueError, match=r"image of 32 rows x 8 samples: .*: give it longer "
                                         r"records"), torch.no_grad():
        net(torch.randn(2, 1, 8))
    with pytest.raises(ValueError, match=r"image of 1 rows x 8 samples: .*raise min_height "
                                         r"\(now 1\) to 32 and give it longer records"), \
            torch.no_grad():
        raw(torch.randn(2, 1, 8))  # both too small: both said, not one retry after another


def test_default_seresnext50_shape():
    torch.manual_seed(0)
    net = TimmNet(in_channels=12, n_classes=2).eval()
    assert net.model_name == "seresnext50_32x4d"
    assert type(net.backbone).__name__ == "ResNet"
    assert net.backbone.conv1.in_channels == 1
    with torch.no_grad():
        assert net(torch.randn(1, 12, 64)).shape == (1, 2)


def test_timm_kwargs_are_passed_on():
    net = TimmNet("test_resnet", 2, 3, drop_rate=0.25)
    assert net.backbone.drop_rate == 0.25
    assert net.timm_kwargs == {"drop_rate": 0.25}


def test_pretrained_offline_gives_a_clear_message(monkeypatch):
    import huggingface_hub
    import timm

    def offline(*args, **kwargs):
        if kwargs.get("pretrained"):
            raise huggingface_hub.errors.LocalEntryNotFoundError(
                "An error happened while trying to locate the file on the Hub and we "
                "cannot find the requested files in the local cache.")
        raise AssertionError("TimmNet must ask timm for the pretrained weights")

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(RuntimeError) as info:
        TimmNet("seresnext50_32x4d", 12, 2, pretrained=True)
    msg = str(info.value)
    assert "could not download the pretrained weights of 'seresnext50_32x4d'" in msg
    assert "pretrained=False" in msg
    assert "pretrained_cfg_overlay=dict(file=" in msg
    assert isinstance(info.value.__cause__, huggingface_hub.errors.LocalEntryNotFoundError)


def test_other_errors_are_not_disguised_as_download_errors(monkeypatch):
    import timm

    def broken(*args, **kwargs):
        raise TypeError("unexpected keyword argument 'bogus'")

    monkeypatch.setattr(timm, "create_model", broken)
    with pytest.raises(TypeError, match="bogus"):
        TimmNet("test_resnet", 12, 2, pretrained=True)


def test_pretrained_from_a_local_file(tmp_path):
    # The documented offline route: weights saved elsewhere, passed as a file.
    import timm

    torch.manual_seed(0)
    rgb = timm.create_model("test_resnet")  # 3 channels, 1000 classes
    path = tmp_path / "test_resnet.pth"
    torch.save(rgb.state_dict(), path)
    net = TimmNet("test_resnet", 1, 4, pretrained=True,
                  pretrained_cfg_overlay=dict(file=str(path)))
    # timm sums the RGB filters of the first convolution for one channel ...
    torch.testing.assert_close(net.backbone.conv1[0].weight,
                               rgb.conv1[0].weight.sum(dim=1, keepdim=True))
    # ... keeps the rest and starts a new 4-class classifier.
    torch.testing.assert_close(net.backbone.layer1[0].conv1.weight,
                               rgb.layer1[0].conv1.weight)
    assert net.backbone.fc.out_features == 4


def test_missing_local_file_is_reported(tmp_path):
    missing = tmp_path / "nope.safetensors"
    # timm's error has no text: the message ended with a colon and nothing after it.
    with pytest.raises(RuntimeError, match=r"from pretrained_cfg_overlay file .*nope"
                                           r"\.safetensors': no such file$"):
        TimmNet("test_resnet", 1, 4, pretrained=True,
                pretrained_cfg_overlay=dict(file=str(missing)))


@pytest.mark.parametrize("kwargs, match", [
    ({"model_name": "not_a_model"}, r"model_name='not_a_model' is not a timm model"),
    ({"model_name": "test_resnet", "num_classes": 3}, r"TimmNet sets \['num_classes'\]"),
    ({"model_name": "test_resnet", "in_chans": 3}, r"TimmNet sets \['in_chans'\]"),
    ({"model_name": "test_resnet", "min_height": 0}, r"min_height must be a positive"),
    # Both returned something other than logits: feature maps, or an unpooled head.
    ({"model_name": "test_resnet", "features_only": True}, r"features_only=True makes the "
                                                            r"backbone return feature maps"),
    ({"model_name": "test_resnet", "global_pool": ""}, r"global_pool='' switches the "
                                                        r"backbone's pooling off"),
])
def test_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TimmNet(**kwargs)


def test_a_backbone_that_returns_no_logits_is_named():
    # A timm option TimmNet does not know of can still change the output's shape.
    net = TimmNet("test_vit", 2, 3).eval()
    net.backbone.global_pool = ""  # a ViT then returns one row per token
    with pytest.raises(RuntimeError, match=r"TimmNet\('test_vit'\) returned \(2, \d+, 3\), not "
                                           r"logits of shape \(2, 3\)"):
        net(torch.randn(2, 2, 64))
