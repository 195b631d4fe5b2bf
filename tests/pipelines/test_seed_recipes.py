"""The five seed projects' recipes, pinned on each pipeline's default make_pipeline().

Each value is one that the project's description states (quoted as "seed:")
or that the pipeline's docstring claims as the project's (quoted as
"docstring:"), read off the built objects: parameters, the criterion fit would
build, the callbacks, and the layers of the network built as fit builds it.
The seeds: SE-ECGNet (se_ecgnet), IncepSE (incepse, inceptiontime),
ECGCNN-SE (dualnet_se, dualnet_l), the Keras PTB CNN (ecgcnn_ptb) and the
PTB-XL superclass project (resnet1d, inception1d).
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from ecgsk.compare import load_pipeline_module
from ecgsk.nets import ECGCNN, DualNet, IncepSE, InceptionTime1d, ResNet1d, SEBlock, TimmNet
from ecgsk.neural import FocalLoss
from ecgsk.preprocessing import (
    AddGaussianNoise,
    Augmenter,
    BaselineRemoval,
    Derivatives,
    PadTruncate,
    RandomAmplitudeScale,
    RandomScale,
    RandomShift,
    RandomTimeWarp,
    Standardizer,
)

FIVE_AUGMENTATIONS = [RandomTimeWarp, RandomShift, RandomScale, AddGaussianNoise,
                      RandomAmplitudeScale]


def _net(name, **kwargs):
    return load_pipeline_module(name).make_pipeline(**kwargs).named_steps["net"]


def _built(net, **io):
    """The network as fit builds it: ``module(**module__params, in_channels, n_classes)``."""
    given = {key[len("module__"):]: value for key, value in net.get_params().items()
             if key.startswith("module__")}
    return net.module(**{**io, **given})


def _criterion(net, target_type, n_outputs):
    """The criterion fit builds for a target of this type (set by fit before it), unfitted."""
    net = clone(net)
    net.target_type_, net.n_outputs_, net.class_weight_ = target_type, n_outputs, None
    net._initialize_criterion()
    return net.criterion_


def _callbacks(net):
    return dict(net._default_callbacks)


def _augmentations(augmenter):
    return [type(op) for op in clone(augmenter).fit(np.zeros((1, 12, 16))).operations_]


# ---------------------------------------------------------------------- SE-ECGNet

def test_se_ecgnet_pads_or_truncates_to_4096_samples_of_the_report_labels():
    module = load_pipeline_module("se_ecgnet")
    # seed: "Pad or truncate signals to a fixed length (4096 samples)."
    assert module.LENGTH == 4096
    assert isinstance(module.make_pipeline().named_steps["length"], PadTruncate)
    assert module.make_pipeline().named_steps["length"].length == 4096
    # docstring: "500 Hz records padded or truncated to 4,096 samples".
    assert module.SAMPLING_RATE == 500
    # seed: "Categorize ECGs into 'Normal' and 'Abnormal' based on ... the 'report' column."
    assert module.DATASET == "ptbxl" and module.TASK[0] == "binary_report"


def test_se_ecgnet_backbone_is_timm_seresnext50_32x4d_with_se_blocks():
    from timm.layers import SEModule

    net = _net("se_ecgnet")
    # seed: "Employs a SEResNeXt50 model (from `timm`)"; docstring: "timm's SE-ResNeXt-50 (32x4d)".
    assert net.module is TimmNet
    assert net.get_params()["module__model_name"] == "seresnext50_32x4d"
    backbone = _built(net, in_channels=12, n_classes=1).backbone
    assert backbone.pretrained_cfg["architecture"] == "seresnext50_32x4d"
    # seed: "SEResNeXt50 (`timm` library) with SE blocks": one per bottleneck, 3+4+6+3.
    assert sum(isinstance(m, SEModule) for m in backbone.modules()) == 16
    assert sum(isinstance(m, nn.Conv2d) and m.groups == 32 for m in backbone.modules()) == 16


def test_se_ecgnet_focal_loss_alpha_025_gamma_2():
    net = _net("se_ecgnet")
    # seed: "Loss Function: Focal Loss (alpha=0.25, gamma=2)."; resolved at fit from "focal".
    assert net.criterion == "focal"
    criterion = _criterion(net, "binary", 1)
    assert isinstance(criterion, FocalLoss) and criterion.mode == "binary"
    assert float(criterion.alpha) == pytest.approx(0.25)
    assert criterion.gamma == 2.0


def test_se_ecgnet_adamw_lr_1e4_weight_decay_1e4():
    net = _net("se_ecgnet")
    # seed: "Optimizer: AdamW (lr=0.0001, weight_decay=1e-4)."
    assert net.optimizer is torch.optim.AdamW
    assert net.lr == pytest.approx(1e-4)
    assert net.get_params()["optimizer__weight_decay"] == pytest.approx(1e-4)


def test_se_ecgnet_plateau_schedule_and_early_stopping_patience_7_on_validation_loss():
    callbacks = _callbacks(_net("se_ecgnet"))
    # seed: "Scheduler: ReduceLROnPlateau (monitoring `val_loss`)."
    assert callbacks["lr_scheduler"].policy is torch.optim.lr_scheduler.ReduceLROnPlateau
    assert callbacks["lr_scheduler"].monitor == "valid_loss"
    # seed: "Early Stopping (patience=7)"; "Employ Early Stopping based on validation loss."
    assert callbacks["early_stopping"].patience == 7
    assert callbacks["early_stopping"].monitor == "valid_loss"


def test_se_ecgnet_balanced_sampling_five_augmentations_and_mixed_precision():
    net = _net("se_ecgnet")
    # seed: "Use `WeightedRandomSampler` during training to address class imbalance".
    assert net.balanced_sampling is True
    # seed: "Apply `RandomTimeWarp`, `RandomShift`, `RandomScale`, `AddGaussianNoise`,
    # `RandomAmplitudeScale`."
    assert isinstance(net.augment, Augmenter)
    assert _augmentations(net.augment) == FIVE_AUGMENTATIONS
    # seed: "Mixed Precision (AMP)"; docstring: "mixed precision on a GPU".
    assert net.amp is torch.cuda.is_available()


# ---------------------------------------------------------------------- IncepSE

@pytest.mark.parametrize("name, se", [("incepse", True), ("inceptiontime", False)])
def test_incepse_inception_modules_39_19_9_32_filters_bottleneck_32_depth_6(name, se):
    net = _net(name)
    # seed: "the IncepSE architecture, which integrates InceptionTime's multi-scale temporal
    # convolutions with Squeeze-and-Excitation (SE) blocks"; inceptiontime: "se=False".
    assert net.module is IncepSE
    built = _built(net, in_channels=12, n_classes=71)
    assert isinstance(built, InceptionTime1d) and built.se is se
    # docstring: "depth : int, default=6 / Number of inception modules".
    assert len(built.inception_modules) == 6
    for inception in built.inception_modules:
        # docstring: "n_filters : int, default=32 / Filters per branch of every inception
        # module"; kernels and bottleneck: IncepSE's InceptionTime (39, 19, 9), bottleneck 32.
        assert [c.kernel_size[0] for c in inception.convs] == [39, 19, 9]
        assert [c.out_channels for c in inception.convs] == [32, 32, 32]
        assert inception.pool_branch[1].out_channels == 32
        assert inception.bottleneck.out_channels == 32
        assert [c.in_channels for c in inception.convs] == [32, 32, 32]


@pytest.mark.parametrize("name, se", [("incepse", True), ("inceptiontime", False)])
def test_incepse_residual_shortcut_every_third_module_and_se_ratio_16(name, se):
    built = _built(_net(name), in_channels=12, n_classes=71)
    # docstring: "depth ... (a residual shortcut closes every group of three)".
    order = []
    for i, m in enumerate(built.inception_modules):
        m.register_forward_hook(lambda *_, i=i: order.append(f"m{i}"))
    for i, m in enumerate(built.shortcuts):
        m.register_forward_hook(lambda *_, i=i: order.append(f"s{i}"))
    with torch.no_grad():
        built.eval()(torch.zeros(1, 12, 16))
    assert order == ["m0", "m1", "m2", "s0", "m3", "m4", "m5", "s1"]
    # docstring: "Put a squeeze-and-excitation block after every inception module (IncepSE)";
    # ratio 16 (SE-Net's, IncepSE's default): 128 channels -> 8 -> 128.
    blocks = [inception.se for inception in built.inception_modules]
    if se:
        assert all(isinstance(b, SEBlock) for b in blocks)
        assert [(b.channels, b.reduction, b.hidden) for b in blocks] == [(128, 16, 8)] * 6
    else:
        assert not any(isinstance(m, SEBlock) for m in built.modules())
        assert built.n_se_parameters == 0


@pytest.mark.parametrize("name", ["incepse", "inceptiontime"])
def test_incepse_all_statements_at_100_hz_standardised_windows_bce_and_clipping(name):
    module = load_pipeline_module(name)
    pipeline = module.make_pipeline()
    net = pipeline.named_steps["net"]
    # seed: "multi-label classification"; ... "on the 'all' task"; docstring: "(``all``) at
    # 100 Hz".
    assert module.DATASET == "ptbxl" and module.TASK[0] == "all"
    assert module.SAMPLING_RATE == 100
    # seed: "normalization"; docstring: "per-lead standardisation".
    assert isinstance(pipeline.named_steps["scale"], Standardizer)
    assert pipeline.named_steps["scale"].per_lead is True
    # seed: "segmentation into fixed-length windows"; docstring: "random 2.5 s crops in
    # training, the maximum over sliding windows at prediction".
    assert net.crop_length == 250 and net.window_aggregate == "max"
    # docstring: "BCE with logits and gradient-norm clipping (the project's "stabilisation")".
    assert isinstance(_criterion(net, "multilabel-indicator", 71), nn.BCEWithLogitsLoss)
    assert _callbacks(net)["grad_clip"].gradient_clip_value == 1.0


# ---------------------------------------------------------------------- ECGCNN-SE

@pytest.mark.parametrize("name, se", [("dualnet_se", True), ("dualnet_l", False)])
def test_ecgcnn_se_in_every_spectrogram_residual_block_only_with_se(name, se):
    net = _net(name)
    # seed: "Model configurations: `ECGCNN_L` (baseline) vs. `ECGCNN_SE` (SE-enabled)."
    assert net.module is DualNet and net.get_params()["module__se"] is se
    built = _built(net, in_channels=1, n_classes=4)
    # seed: "Added Squeeze-and-Excitation (SE) blocks to each spectrogram encoder residual
    # block."
    assert len(built.blocks) > 0
    if se:
        assert all(isinstance(block.se, SEBlock) for block in built.blocks)
        assert sum(isinstance(m, SEBlock) for m in built.modules()) == len(built.blocks)
    else:
        assert not any(isinstance(m, SEBlock) for m in built.modules())
        assert built.n_se_parameters == 0


@pytest.mark.parametrize("name", ["dualnet_se", "dualnet_l"])
def test_ecgcnn_se_lstm_conditions_a_spectrogram_of_n_fft_64_hop_32(name):
    module = load_pipeline_module(name)
    built = _built(_net(name), in_channels=1, n_classes=4)
    # seed: "Time-domain ECG signals using an LSTM encoder." / "spectrograms using a residual
    # CNN encoder conditioned by the latent vector from the LSTM."
    assert isinstance(built.lstm, nn.LSTM)
    assert all(block.norm1.film.in_features == built.lstm.hidden_size
               and block.norm2.film.in_features == built.lstm.hidden_size
               for block in built.blocks)
    # ECG-DualNet's spectrogram, which the seed builds on (DualNet's defaults; the seed and
    # the pipeline docstring give no number): window 64, hop 32 -> 33 bins, t // 32 + 1 frames.
    assert (built.nperseg, built.hop) == (64, 32)
    with torch.no_grad():
        assert built.spectrogram(torch.zeros(1, 1, 320)).shape == (1, 1, 33, 11)
    # docstring: "Records are padded or cut to 30 s at 300 Hz" (CinC 2017's rate); "Four
    # classes: normal, AF, other rhythm, noisy".
    assert module.DATASET == "cinc2017" and module.TASK == "af"
    assert (module.SAMPLING_RATE, module.LENGTH) == (300, 9000)
    assert built.sampling_rate == 300


# ---------------------------------------------------------------------- Keras PTB CNN

def test_ecgcnn_ptb_conv_blocks_64_128_256_512_kernels_15_10_5_3_dense_256_128():
    net = _net("ecgcnn_ptb")
    assert net.module is ECGCNN
    built = _built(net, in_channels=12, n_classes=5)
    # seed: "Conv1D(64, kernel=15) ... Conv1D(128, kernel=10) ... Conv1D(256, kernel=5) ...
    # Conv1D(512, kernel=3)".
    convs = [m for m in built.features if isinstance(m, nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [
        (64, 15), (128, 10), (256, 5), (512, 3)]
    # seed: "+ BatchNorm + MaxPool + Dropout" (blocks 1-3), "+ BatchNorm + GlobalAvgPool +
    # Dropout" (block 4).
    kinds = [type(m) for m in built.features]
    assert kinds.count(nn.BatchNorm1d) == 4 and kinds.count(nn.MaxPool1d) == 3
    assert kinds.count(nn.AdaptiveAvgPool1d) == 1 and kinds.count(nn.Dropout) == 4
    # seed: "Dense(256) + BatchNorm + Dropout", "Dense(128) + BatchNorm + Dropout",
    # "Dense(num_classes)".
    linears = [m for m in built.head if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [256, 128, 5]
    assert [type(m) for m in built.head].count(nn.BatchNorm1d) == 2
    assert [type(m) for m in built.head].count(nn.Dropout) == 2


def test_ecgcnn_ptb_half_hertz_high_pass_5000_samples_softmax_and_callbacks():
    module = load_pipeline_module("ecgcnn_ptb")
    pipeline = module.make_pipeline()
    # seed: "Signal preprocessing with baseline drift removal"; docstring: "Baseline-drift
    # removal (0.5 Hz high-pass)".
    baseline = pipeline.named_steps["baseline"]
    assert isinstance(baseline, BaselineRemoval) and baseline.method == "highpass"
    assert baseline.cutoff == 0.5 and baseline.sampling_rate == module.SAMPLING_RATE
    # seed: "Fixed-length signals (5000 samples) for consistent CNN input".
    assert module.LENGTH == 5000 and pipeline.named_steps["length"].length == 5000
    # seed: "Download and extract PTB dataset" (ptb-diagnostic-ecg-database).
    assert module.DATASET[0] == "ptbdb"
    net = pipeline.named_steps["net"]
    # seed: "Dense(num_classes) - Softmax output"; docstring: "cross-entropy on multiclass
    # targets".
    assert isinstance(_criterion(net, "multiclass", 5), nn.CrossEntropyLoss)
    # seed: "Early stopping", "Learning rate reduction on plateau", "Mixed precision".
    callbacks = _callbacks(net)
    assert callbacks["lr_scheduler"].policy is torch.optim.lr_scheduler.ReduceLROnPlateau
    assert callbacks["early_stopping"].patience is not None
    assert net.amp is torch.cuda.is_available()


# ---------------------------------------------------------------------- PTB-XL superclasses

@pytest.mark.parametrize("name, network", [("resnet1d", ResNet1d),
                                           ("inception1d", InceptionTime1d)])
def test_ptbxl_superclass_networks_at_100_hz(name, network):
    module = load_pipeline_module(name)
    # seed: "multiple neural network architectures (ResNet1D, Inception-style models)".
    assert _net(name).module is network
    # seed: "PTB-XL/ records100/" (100 Hz); docstring: "crop_length=None trains on full 10 s
    # records".
    assert module.SAMPLING_RATE == 100 and module.LENGTH == 1000
    # seed: "classification into 5 diagnostic superclasses"; docstring: "BCE with logits on
    # the 5 superclasses".
    assert module.DATASET == "ptbxl" and module.TASK[0] == "superdiagnostic"
    assert isinstance(_criterion(_net(name), "multilabel-indicator", 5), nn.BCEWithLogitsLoss)


@pytest.mark.parametrize("name", ["resnet1d", "inception1d"])
def test_ptbxl_superclass_derivatives_and_augmentation_are_variants_off_by_default(name):
    module = load_pipeline_module(name)
    # docstring: "Both are parameters here, off by default".
    default = module.make_pipeline()
    assert "derivatives" not in default.named_steps
    assert default.named_steps["net"].augment is None
    # seed: "feature engineering (time derivatives), data augmentation"; docstring:
    # "``derivatives=True`` appends first-derivative channels, ``augment=True`` applies the
    # five augmentations".
    variant = module.make_pipeline(derivatives=True, augment=True)
    derivatives = variant.named_steps["derivatives"]
    assert isinstance(derivatives, Derivatives)
    assert derivatives.order == 1 and derivatives.append is True
    assert _augmentations(variant.named_steps["net"].augment) == FIVE_AUGMENTATIONS
