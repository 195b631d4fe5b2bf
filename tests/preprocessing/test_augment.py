"""Tests of ecgsk/preprocessing/_augment.py: the five operations and Augmenter."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from ecgsk.preprocessing import (
    AddGaussianNoise,
    Augmenter,
    RandomAmplitudeScale,
    RandomScale,
    RandomShift,
    RandomTimeWarp,
    Standardizer,
)

OPERATIONS = [RandomTimeWarp, RandomShift, RandomScale, AddGaussianNoise,
              RandomAmplitudeScale]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"))]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _batch(n=16, leads=3, samples=200, dtype=torch.float32, device="cpu"):
    t = torch.arange(samples, dtype=torch.float64) / 100
    x = torch.sin(2 * np.pi * 3 * t) + 0.3 * torch.sin(2 * np.pi * 11 * t)
    x = x.repeat(n, leads, 1) * torch.arange(1, leads + 1, dtype=torch.float64)[:, None]
    return x.to(dtype=dtype, device=device)


# -- what every operation guarantees ------------------------------------------------

@pytest.mark.parametrize("op_class", OPERATIONS)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16,
                                   torch.bfloat16])
def test_shape_dtype_device_kept_and_input_untouched(op_class, device, dtype):
    x = _batch(dtype=dtype, device=device)
    before = x.clone()
    out = op_class(p=1.0)(x, generator=_gen())
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.equal(x, before)
    assert out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("op", [RandomScale(p=1.0, low=1.0, high=1.0),
                                RandomTimeWarp(p=1.0, sigma=0.0)], ids=["scale", "warp"])
def test_resampling_a_half_precision_batch_at_its_own_samples_keeps_it(op, dtype):
    # The sampling grid was built in the batch's dtype: on 5,000 samples its positions
    # landed samples away, so a scale of 1 moved a bfloat16 sine by up to 2.
    x = _batch(n=2, leads=2, samples=5000, dtype=dtype)
    out = op(x, generator=_gen())
    assert out.dtype == dtype
    assert (out.float() - x.float()).abs().max() <= 1e-2 * x.float().abs().max()


@pytest.mark.parametrize("op_class", OPERATIONS)
def test_p0_is_identity_and_p1_changes_every_record(op_class):
    x = _batch()
    assert torch.equal(op_class(p=0.0)(x, generator=_gen()), x)
    out = op_class(p=1.0)(x, generator=_gen())
    changed = (out - x).abs().amax(dim=(1, 2)) > 1e-4
    assert changed.all()


@pytest.mark.parametrize("op_class", OPERATIONS)
def test_p_half_changes_about_half_of_the_records(op_class):
    x = _batch(n=400, leads=1, samples=100)
    changed = (op_class(p=0.5)(x, generator=_gen()) - x).abs().amax(dim=(1, 2)) > 1e-4
    assert 0.4 < changed.float().mean().item() < 0.6


@pytest.mark.parametrize("op_class", OPERATIONS)
def test_reproducible_with_a_seeded_generator(op_class):
    x = _batch()
    op = op_class(p=0.7)
    assert torch.equal(op(x, generator=_gen(3)), op(x, generator=_gen(3)))
    assert not torch.equal(op(x, generator=_gen(3)), op(x, generator=_gen(4)))


@pytest.mark.parametrize("op_class", OPERATIONS)
def test_clone_and_pickle(op_class):
    op = op_class(p=0.3)
    copy = clone(op)
    assert copy is not op and copy.get_params() == op.get_params()
    restored = pickle.loads(pickle.dumps(op))
    x = _batch()
    assert torch.equal(restored(x, generator=_gen()), op(x, generator=_gen()))


@pytest.mark.parametrize("op_class", OPERATIONS)
def test_bad_input(op_class):
    op = op_class(p=1.0)
    with pytest.raises(TypeError, match="torch tensors"):
        op(np.zeros((2, 1, 10)))
    with pytest.raises(ValueError, match=r"\(batch, leads, samples\)"):
        op(torch.zeros(2, 10))
    with pytest.raises(TypeError, match="floating-point"):
        op(torch.zeros(2, 1, 10, dtype=torch.int64))


@pytest.mark.parametrize("op", [
    RandomTimeWarp(p=1.5), RandomShift(p=-0.1), AddGaussianNoise(p=np.nan),
])
def test_bad_probability(op):
    with pytest.raises(ValueError, match="p must be"):
        op(_batch())


@pytest.mark.parametrize("op, match", [
    (RandomTimeWarp(sigma=-0.1), "sigma"),
    (RandomTimeWarp(n_knots=0), "n_knots"),
    (RandomShift(max_shift=1.0), "max_shift"),
    (RandomShift(mode="reflect"), "mode"),
    (RandomScale(low=1.2, high=1.1), "low=1.2 must not exceed high=1.1"),
    (RandomScale(low=0.0), "low"),
    (AddGaussianNoise(std=-1.0), "std"),
    (RandomAmplitudeScale(high=np.inf), "high"),
])
def test_bad_params(op, match):
    with pytest.raises(ValueError, match=match):
        op(_batch())


# -- each operation does what it says ---------------------------------------------

def test_gaussian_noise_has_the_requested_std():
    x = torch.zeros(64, 12, 1000)
    noise = AddGaussianNoise(p=1.0, std=0.05)(x, generator=_gen())
    assert noise.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert noise.std().item() == pytest.approx(0.05, rel=0.01)


def test_amplitude_scale_gains_per_lead_in_range():
    x = torch.ones(200, 12, 50)
    out = RandomAmplitudeScale(p=1.0, low=0.8, high=1.2)(x, generator=_gen())
    gains = out[:, :, 0]
    assert torch.equal(out, gains[:, :, None].expand_as(out))  # one gain per lead
    assert gains.min() >= 0.8 and gains.max() <= 1.2
    assert gains.min() < 0.81 and gains.max() > 1.19  # the whole range is used
    assert (gains[:, 0] != gains[:, 1]).all()  # leads get independent gains


@pytest.mark.parametrize("mode", ["zeros", "circular"])
def test_shift_moves_the_whole_record_by_the_same_amount(mode):
    n, n_samples = 200, 100
    x = torch.zeros(n, 2, n_samples)
    x[:, 0, 50] = 1.0  # a spike to locate the shift
    x[:, 1] = torch.rand(n_samples, generator=_gen(9))  # an arbitrary second lead
    out = RandomShift(p=1.0, max_shift=0.1, mode=mode)(x, generator=_gen())
    shifts = out[:, 0].argmax(dim=1) - 50
    assert shifts.abs().max() <= 10 and shifts.min() < -5 and shifts.max() > 5
    for i in range(n):
        s = int(shifts[i])
        rolled = torch.roll(x[i], s, dims=-1)
        if mode == "zeros":
            gap = slice(0, s) if s >= 0 else slice(n_samples + s, n_samples)
            rolled[:, gap] = 0
        assert torch.equal(out[i], rolled)


def test_shift_zero_pads_instead_of_wrapping():
    x = torch.zeros(100, 1, 20)
    x[:, 0, 0] = 1.0  # a spike at the very start
    out = RandomShift(p=1.0, max_shift=0.25, mode="zeros")(x, generator=_gen())
    left = out.sum(dim=(1, 2)) == 0  # shifted left: the spike fell off
    assert left.any() and (~left).any()
    assert_allclose(out[~left].sum(dim=(1, 2)).numpy(), 1.0)


@pytest.mark.parametrize("factor, moved_to", [(1.2, 62), (0.8, 58)])
def test_scale_stretches_about_the_centre(factor, moved_to):
    x = torch.zeros(4, 1, 101)  # centre sample 50
    x[:, 0, 50] = 1.0
    x[:, 0, 60] = 2.0  # 10 samples after the centre
    out = RandomScale(p=1.0, low=factor, high=factor)(x, generator=_gen())
    assert_allclose(out[:, 0, 50].numpy(), 1.0)
    assert_allclose(out[:, 0, moved_to].numpy(), 2.0, atol=1e-4)  # float32 grid


def test_scale_compression_pads_with_zeros():
    x = torch.ones(2, 1, 101)
    out = RandomScale(p=1.0, low=0.5, high=0.5)(x)
    # Output sample i reads input 50 + (i - 50) / 0.5: outside beyond 25 samples.
    assert_allclose(out[:, 0, 25:76].numpy(), 1.0)
    assert_allclose(out[:, 0, :25].numpy(), 0.0)
    assert_allclose(out[:, 0, 76:].numpy(), 0.0)


def test_time_warp_is_monotone_and_keeps_the_ends():
    n_samples = 500
    ramp = torch.arange(n_samples, dtype=torch.float64).repeat(50, 1, 1)
    warped = RandomTimeWarp(p=1.0, sigma=0.3)(ramp, generator=_gen())[:, 0]
    # Warping a ramp returns the warp itself: strictly increasing, ends fixed.
    assert (torch.diff(warped, dim=1) > 0).all()
    assert_allclose(warped[:, 0].numpy(), 0.0, atol=1e-4)
    assert_allclose(warped[:, -1].numpy(), n_samples - 1, atol=1e-3)
    # ...and really moves the middle of the record.
    assert (warped[:, n_samples // 2] - n_samples // 2).abs().max() > 5


def test_time_warp_with_sigma_0_is_identity():
    x = _batch()
    assert_allclose(RandomTimeWarp(p=1.0, sigma=0.0)(x).numpy(), x.numpy(), atol=1e-5)


# -- Augmenter ------------------------------------------------------------------------

def test_default_operations_are_the_five():
    X = np.zeros((2, 1, 50), dtype=np.float32)
    augmenter = Augmenter().fit(X)
    assert [type(op) for op in augmenter.operations_] == OPERATIONS


def test_transform_is_identity_and_fit_transform_is_not(rng):
    X = rng.normal(size=(8, 3, 300)).astype(np.float32)
    augmenter = Augmenter(random_state=0)
    X_aug = augmenter.fit_transform(X)
    assert X_aug.shape == X.shape and X_aug.dtype == np.float32
    assert np.abs(X_aug - X).max() > 0.01
    assert augmenter.transform(X) is X  # no copy at prediction time, as documented
    assert_array_equal(augmenter.transform(X.astype(np.float64)), X)
    # Reproducible with random_state; another seed gives other data.
    assert_array_equal(clone(augmenter).fit_transform(X), X_aug)
    assert not np.array_equal(Augmenter(random_state=1).fit_transform(X), X_aug)


def test_fit_transform_does_not_touch_the_input(rng):
    X = rng.normal(size=(4, 2, 100)).astype(np.float32)
    before = X.copy()
    out = Augmenter(operations=[], random_state=0).fit_transform(X)
    assert_array_equal(out, X)
    out += 1
    assert_array_equal(X, before)
    Augmenter(random_state=0).fit_transform(X)
    assert_array_equal(X, before)


def test_fit_transform_accepts_read_only_arrays(rng):
    X = rng.normal(size=(3, 1, 50)).astype(np.float32)
    X.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's "not writable" warning
        out = Augmenter(random_state=0).fit_transform(X)
    assert out.shape == X.shape and not np.allclose(out, X)


def test_augment_batch_chains_the_operations():
    x = torch.ones(6, 2, 40)
    augmenter = Augmenter([RandomAmplitudeScale(p=1.0, low=2.0, high=2.0),
                           AddGaussianNoise(p=0.0)])
    assert torch.equal(augmenter.augment_batch(x), torch.full_like(x, 2.0))
    noisy = Augmenter([AddGaussianNoise(p=1.0, std=0.1)])
    assert torch.equal(noisy.augment_batch(x, generator=_gen(5)),
                       noisy.augment_batch(x, generator=_gen(5)))
    with pytest.raises(TypeError, match="torch tensors"):
        augmenter.augment_batch(np.ones((6, 2, 40)))


def test_augment_batch_follows_set_params_without_refit():
    x = torch.zeros(4, 1, 30)
    augmenter = Augmenter([AddGaussianNoise(p=1.0)]).fit(x.numpy())
    augmenter.set_params(operations=[AddGaussianNoise(p=0.0)])
    assert torch.equal(augmenter.augment_batch(x), x)


def test_in_a_pipeline_fit_sees_augmented_data_and_predict_does_not():
    X = np.zeros((10, 2, 200), dtype=np.float32)
    pipe = make_pipeline(Augmenter([AddGaussianNoise(p=1.0, std=1.0)], random_state=0),
                         Standardizer())
    pipe.fit(X)
    scaler = pipe[-1]
    # Standardizer was fitted on noise of std 1 (on all-zero data the std
    # would be 0 and the scale eps).
    assert_allclose(scaler.scale_, 1.0, rtol=0.05)
    # transform only standardizes: zeros map to -mean/scale, no noise.
    Xt = pipe.transform(X)
    assert_allclose(Xt, np.broadcast_to((-scaler.mean_ / scaler.scale_)[:, None], Xt.shape),
                    rtol=1e-5)


def test_clone_and_pickle_augmenter(rng):
    X = rng.normal(size=(3, 2, 100)).astype(np.float32)
    augmenter = Augmenter([RandomShift(p=1.0), AddGaussianNoise(p=1.0)], random_state=4)
    copy = clone(augmenter)
    assert copy.operations[0] is not augmenter.operations[0]
    assert copy.operations[0].get_params() == augmenter.operations[0].get_params()
    restored = pickle.loads(pickle.dumps(augmenter.fit(X)))
    assert_array_equal(restored.fit_transform(X), augmenter.fit_transform(X))


@pytest.mark.parametrize("operations, match", [
    ("noise", "operations must be a list"),
    # A generator was used up by the first batch: the others went unaugmented.
    ((op for op in [AddGaussianNoise()]), "operations must be a list"),
    (iter([AddGaussianNoise()]), "operations must be a list"),
    ([AddGaussianNoise(), 3], r"operations\[1\] must be callable"),
    ([RandomShift(max_shift=2)], "max_shift"),
    ([AddGaussianNoise(), RandomShift], r"operations\[1\] must be an instance, such as "
                                        r"RandomShift\(\), not the class RandomShift"),
])
def test_bad_operations(operations, match):
    with pytest.raises(ValueError, match=match):
        Augmenter(operations).fit(np.zeros((2, 1, 10)))


def test_augmenter_rejects_bad_signals():
    X = np.zeros((3, 1, 10))
    X[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="first at index 1"):
        Augmenter().fit_transform(X)
    with pytest.raises(ValueError, match="first at index 1"):
        Augmenter().fit(np.zeros((3, 1, 10))).transform(X)


def test_augmenting_real_ecgs_keeps_them_plausible(ptbxl_root):
    """Augmented PTB-XL records stay close to the originals in scale."""
    import wfdb
    X = np.stack([wfdb.rdsamp(str(ptbxl_root / f"records100/00000/{i:05d}_lr"))[0].T
                  for i in range(1, 5)]).astype(np.float32)
    X_aug = Augmenter(random_state=0).fit_transform(X)
    ratio = X_aug.std(axis=2) / X.std(axis=2)
    assert ratio.min() > 0.5 and ratio.max() < 1.5
    assert not np.allclose(X_aug, X)


def test_augmenter_names_a_bad_random_state_in_fit():
    with pytest.raises(ValueError, match=r"random_state must be None, an int or a numpy RandomState, got 'abc'"):
        Augmenter(random_state="abc").fit(np.zeros((2, 1, 50), np.float32))


@pytest.mark.parametrize("op, got", [
    (lambda x, generator=None: x[:-1], r"\(2, 1, 50\)"),          # drops a record
    (lambda x, generator=None: x[..., :25], r"\(3, 1, 25\)"),     # crops the samples
    (lambda x, generator=None: x.numpy(), "ndarray"),
])
def test_an_operation_that_changes_the_shape_is_named(op, got):
    X = np.zeros((3, 1, 50), np.float32)
    with pytest.raises(ValueError, match=rf"the augmentation .* must return a torch tensor of "
                                         rf"the shape it was given, \(3, 1, 50\); it returned "
                                         rf"{got}"):
        Augmenter(operations=[op], random_state=0).fit_transform(X)
