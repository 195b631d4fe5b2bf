"""Random ECG augmentations on torch batches, and the :class:`Augmenter` transformer.

Each operation is a small object with stored parameters that is called on a
torch batch of shape ``(batch, leads, samples)``::

    x_aug = RandomShift(p=0.5)(x, generator=g)

It draws, for every record of the batch independently, whether to act (with
probability ``p``) and its random amount, using ``generator`` when given
(else torch's global generator). Operations use torch operations only, so
they run on the batch's device (CPU or CUDA); they keep the shape and dtype
and never modify ``x`` in place.

:class:`Augmenter` chains operations. The network estimator calls
:meth:`Augmenter.augment_batch` on every training batch of every epoch; in a
plain :class:`~sklearn.pipeline.Pipeline`, :meth:`Augmenter.fit_transform`
augments the training set once and :meth:`Augmenter.transform` leaves data
untouched, so predictions never see augmented data. A network after it in
such a Pipeline splits its validation records off the augmented copy, so
its early stopping and epoch scores see augmented records: give a network
its augmentation as ``ECGNetClassifier(augment=Augmenter())`` instead.

torch is imported lazily, inside the functions that use it.
"""

import numpy as np
from sklearn.base import BaseEstimator

from .._validation import check_positive_int, check_seed, check_signal_input
from ._signal import _check_real, _SignalTransformer

__all__ = [
    "RandomTimeWarp",
    "RandomShift",
    "RandomScale",
    "AddGaussianNoise",
    "RandomAmplitudeScale",
    "Augmenter",
]


def _rand(shape, generator, device, normal=False):
    """Uniform [0, 1) (or standard normal) numbers drawn from ``generator``.

    They are drawn on the generator's device, so a CPU generator also
    seeds augmentations of CUDA batches, then moved to ``device``.
    """
    import torch

    gen_device = generator.device if generator is not None else device
    draw = torch.randn if normal else torch.rand
    return draw(shape, generator=generator, device=gen_device).to(device)


def _check_probability(p):
    p = _check_real(p, "p")
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}.")
    return p


def _check_range(low, high):
    _check_real(low, "low", low=0)
    _check_real(high, "high", low=0)
    if low > high:
        raise ValueError(f"low={low!r} must not exceed high={high!r}.")


def _resample_at(x, positions):
    """Linearly interpolate ``x`` (B, L, T) at float sample ``positions`` (B, T).

    Positions outside ``[0, T - 1]`` read zeros. A float16 or bfloat16 batch
    is interpolated in float32: in its own dtype the sampling grid of a
    1,000-sample record lands samples away from where it should.
    """
    import torch
    from torch.nn.functional import grid_sample

    work = x.float() if torch.finfo(x.dtype).bits < 32 else x
    n_samples = x.shape[-1]
    grid_x = 2 * positions.to(work.dtype) / max(n_samples - 1, 1) - 1
    grid = torch.stack([grid_x, torch.zeros_like(grid_x)], dim=-1)  # (B, T, 2)
    out = grid_sample(work.unsqueeze(2), grid.unsqueeze(1), mode="bilinear",
                      padding_mode="zeros", align_corners=True)
    return out.squeeze(2).to(x.dtype)


class _Operation(BaseEstimator):
    """Base class: per-record selection with probability ``p``.

    Subclasses implement ``_check_params`` and ``_apply(x, generator)``,
    which augments every record of ``x`` (only the selected records are
    passed to it).
    """

    def _check_params(self):
        _check_probability(self.p)

    def __call__(self, x, generator=None):
        """Augment each record of the batch with probability ``p``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, leads, samples)
            Floating-point batch on any device. It is not modified.
        generator : torch.Generator, default=None
            Source of randomness; None uses torch's global generator.

        Returns
        -------
        x_aug : torch.Tensor
            A new tensor with the shape, dtype and device of ``x``.
        """
        import torch

        self._check_params()
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"{type(self).__name__} works on torch tensors, got {type(x).__name__}; "
                "use Augmenter for numpy arrays."
            )
        if x.ndim != 3:
            raise ValueError(
                f"x must be a (batch, leads, samples) tensor; got shape {tuple(x.shape)}."
            )
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got {x.dtype}.")
        out = x.clone()
        selected = _rand((x.shape[0],), generator, x.device) < self.p
        if selected.any():
            out[selected] = self._apply(x[selected], generator).to(x.dtype)
        return out


class RandomTimeWarp(_Operation):
    """Smooth random monotone time warp.

    The local playback speed is drawn at ``n_knots + 2`` evenly spaced knots
    from ``N(1, sigma)`` (clipped to at least 0.1), interpolated linearly
    over the record and integrated into a strictly increasing warp that
    maps the first and last sample onto themselves; the record is then
    resampled at the warped times by linear interpolation
    (:func:`torch.nn.functional.grid_sample`). Some segments are thus
    slowed down and others sped up, while the record keeps its length.

    Parameters
    ----------
    p : float, default=0.5
        Probability of warping each record.
    sigma : float, default=0.2
        Standard deviation of the random speeds around 1.
    n_knots : int, default=4
        Number of inner knots of the speed curve; more knots give a more
        wiggly warp.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.preprocessing import RandomTimeWarp
    >>> x = torch.sin(torch.linspace(0, 20, 500)).repeat(4, 2, 1)
    >>> warp = RandomTimeWarp(p=1.0)
    >>> warp(x, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 2, 500])
    """

    def __init__(self, p=0.5, sigma=0.2, n_knots=4):
        self.p = p
        self.sigma = sigma
        self.n_knots = n_knots

    def _check_params(self):
        super()._check_params()
        _check_real(self.sigma, "sigma", low=0, low_inclusive=True)
        check_positive_int(self.n_knots, name="n_knots")

    def _apply(self, x, generator):
        import torch
        from torch.nn.functional import interpolate

        n, _, n_samples = x.shape
        if n_samples < 2:
            return x
        speeds = 1 + self.sigma * _rand((n, 1, self.n_knots + 2), generator, x.device,
                                        normal=True)
        speeds = speeds.clamp_min(0.1)
        speed = interpolate(speeds, size=n_samples - 1, mode="linear",
                            align_corners=True)[:, 0]
        warp = torch.cat([torch.zeros_like(speed[:, :1]), speed.cumsum(dim=1)], dim=1)
        warp = warp / warp[:, -1:] * (n_samples - 1)
        return _resample_at(x, warp)


class RandomShift(_Operation):
    """Shift records in time by a random whole number of samples.

    The shift is drawn uniformly in ``[-max_shift, max_shift] * n_samples``
    (rounded to samples): a sample at index ``t`` moves to ``t + shift``.

    Parameters
    ----------
    p : float, default=0.5
        Probability of shifting each record.
    max_shift : float, default=0.1
        Largest shift as a fraction of the record length, in ``[0, 1)``.
    mode : {"zeros", "circular"}, default="zeros"
        ``"zeros"``: samples shifted out are lost and the gap is filled with
        zeros. ``"circular"``: samples shifted out at one end come back at
        the other, as with :func:`torch.roll`.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.preprocessing import RandomShift
    >>> x = torch.zeros(1, 1, 10)
    >>> x[0, 0, 5] = 1.0
    >>> out = RandomShift(p=1.0, max_shift=0.3)(x, generator=torch.Generator().manual_seed(0))
    >>> int(out.argmax()) - 5 in range(-3, 4)
    True
    """

    def __init__(self, p=0.5, max_shift=0.1, mode="zeros"):
        self.p = p
        self.max_shift = max_shift
        self.mode = mode

    def _check_params(self):
        super()._check_params()
        _check_real(self.max_shift, "max_shift", low=0, high=1, low_inclusive=True)
        if self.mode not in ("zeros", "circular"):
            raise ValueError(f"mode must be 'zeros' or 'circular', got {self.mode!r}.")

    def _draw_shifts(self, n, n_samples, generator, device):
        import torch

        largest = self.max_shift * n_samples
        u = _rand((n,), generator, device)
        return torch.round((2 * u - 1) * largest).to(torch.long)

    def _apply(self, x, generator):
        import torch

        n, n_leads, n_samples = x.shape
        shifts = self._draw_shifts(n, n_samples, generator, x.device)
        source = torch.arange(n_samples, device=x.device)[None, :] - shifts[:, None]
        inside = (source >= 0) & (source < n_samples)
        source = source % n_samples
        out = torch.gather(x, 2, source[:, None, :].expand(n, n_leads, n_samples))
        if self.mode == "zeros":
            out = out * inside[:, None, :].to(x.dtype)
        return out


class RandomScale(_Operation):
    """Stretch or compress records in time by a random factor.

    A factor ``s`` is drawn uniformly in ``[low, high]``; the record is
    resampled about its centre so that an event at distance ``d`` samples
    from the centre moves to ``s * d``, then cropped (``s > 1``) or padded
    with zeros (``s < 1``) back to the original length. Resampling is linear
    interpolation (:func:`torch.nn.functional.grid_sample`).

    Parameters
    ----------
    p : float, default=0.5
        Probability of scaling each record.
    low, high : float, default=0.9, 1.1
        Range of the stretch factor, ``0 < low <= high``.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.preprocessing import RandomScale
    >>> x = torch.randn(3, 12, 1000)
    >>> RandomScale(p=1.0)(x).shape
    torch.Size([3, 12, 1000])
    """

    def __init__(self, p=0.5, low=0.9, high=1.1):
        self.p = p
        self.low = low
        self.high = high

    def _check_params(self):
        super()._check_params()
        _check_range(self.low, self.high)

    def _apply(self, x, generator):
        import torch

        n, _, n_samples = x.shape
        factor = self.low + (self.high - self.low) * _rand((n, 1), generator, x.device)
        centre = (n_samples - 1) / 2
        t = torch.arange(n_samples, device=x.device, dtype=factor.dtype)[None, :]
        return _resample_at(x, centre + (t - centre) / factor)


class AddGaussianNoise(_Operation):
    """Add white Gaussian noise.

    Parameters
    ----------
    p : float, default=0.5
        Probability of adding noise to each record.
    std : float, default=0.01
        Standard deviation of the noise, in signal units (mV for raw
        signals, or standard deviations after a :class:`Standardizer`).

    Examples
    --------
    >>> import torch
    >>> from ecgsk.preprocessing import AddGaussianNoise
    >>> x = torch.zeros(8, 12, 1000)
    >>> noisy = AddGaussianNoise(p=1.0, std=0.05)(x, generator=torch.Generator().manual_seed(0))
    >>> round(float(noisy.std()), 2)
    0.05
    """

    def __init__(self, p=0.5, std=0.01):
        self.p = p
        self.std = std

    def _check_params(self):
        super()._check_params()
        _check_real(self.std, "std", low=0, low_inclusive=True)

    def _apply(self, x, generator):
        return x + self.std * _rand(x.shape, generator, x.device, normal=True)


class RandomAmplitudeScale(_Operation):
    """Multiply every lead by its own random gain.

    Parameters
    ----------
    p : float, default=0.5
        Probability of scaling each record.
    low, high : float, default=0.8, 1.2
        Range of the gains, drawn uniformly and independently per record and
        lead; ``0 < low <= high``.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.preprocessing import RandomAmplitudeScale
    >>> x = torch.ones(2, 3, 5)
    >>> gains = RandomAmplitudeScale(p=1.0)(x)[:, :, 0]
    >>> bool(((gains >= 0.8) & (gains <= 1.2)).all())
    True
    """

    def __init__(self, p=0.5, low=0.8, high=1.2):
        self.p = p
        self.low = low
        self.high = high

    def _check_params(self):
        super()._check_params()
        _check_range(self.low, self.high)

    def _apply(self, x, generator):
        n, n_leads, _ = x.shape
        gains = self.low + (self.high - self.low) * _rand((n, n_leads, 1), generator,
                                                          x.device)
        return x * gains


def _default_operations():
    return [RandomTimeWarp(), RandomShift(), RandomScale(), AddGaussianNoise(),
            RandomAmplitudeScale()]


class Augmenter(_SignalTransformer):
    """Random data augmentation as a scikit-learn transformer.

    Applies a chain of augmentation operations, each acting on every record
    independently with its own probability.

    - :meth:`augment_batch` augments a torch batch; the network estimator
      calls it on each training batch of every epoch.
    - :meth:`fit_transform` (what a :class:`~sklearn.pipeline.Pipeline`
      calls while fitting) returns one augmented copy of the training set,
      seeded by ``random_state``.
    - :meth:`transform` returns the validated input unchanged, so that
      predictions never see augmented data (a network after it in a
      Pipeline validates on records of the augmented copy, though: see
      the module's notes); for a float32
      C-ordered array that is the caller's array itself, not a copy (as
      :class:`~sklearn.preprocessing.FunctionTransformer` without a function
      does): a copy of a large training set at every prediction is what it
      avoids.

    Parameters
    ----------
    operations : list of callables, default=None
        Operations applied in order, each called as ``op(x, generator=g)``
        on a ``(batch, leads, samples)`` torch tensor and returning a new
        tensor. None means the five operations of this module with their
        defaults: ``RandomTimeWarp(), RandomShift(), RandomScale(),
        AddGaussianNoise(), RandomAmplitudeScale()``. Use the operation
        classes (or other picklable objects) so that the Augmenter clones
        and pickles.
    random_state : int, RandomState instance or None, default=None
        Seeds :meth:`fit_transform`. Inside an
        :class:`~ecgsk.neural.ECGNetClassifier` (``augment=``) the network's
        ``random_state`` seeds the draws (:meth:`augment_batch` gets its
        generator), and this one is not used.

    Attributes
    ----------
    operations_ : list of callables
        The operations in use.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import AddGaussianNoise, Augmenter
    >>> X = np.zeros((4, 12, 1000), dtype=np.float32)
    >>> aug = Augmenter([AddGaussianNoise(p=1.0, std=0.1)], random_state=0)
    >>> round(float(aug.fit_transform(X).std()), 1)
    0.1
    >>> bool((aug.transform(X) == X).all())  # prediction data is left alone
    True
    """

    def __init__(self, operations=None, random_state=None):
        self.operations = operations
        self.random_state = random_state

    def _resolve_operations(self):
        if self.operations is None:
            return _default_operations()
        if (isinstance(self.operations, (str, bytes)) or not hasattr(self.operations, "__iter__")
                or iter(self.operations) is self.operations):
            # A generator was used up by the first batch: the others went unaugmented.
            raise ValueError(
                f"operations must be a list of augmentation operations, got {self.operations!r}."
            )
        operations = list(self.operations)
        for i, op in enumerate(operations):
            if isinstance(op, type):  # [RandomScale]: "unexpected keyword argument 'generator'"
                raise ValueError(f"operations[{i}] must be an instance, such as "
                                 f"{op.__name__}(), not the class {op.__name__}.")
            if not callable(op):
                raise ValueError(
                    f"operations[{i}] must be callable as op(x, generator=...), got {op!r}."
                )
            if isinstance(op, _Operation):
                op._check_params()
        return operations

    def _check_params(self):
        check_seed(self.random_state)
        self.operations_ = self._resolve_operations()

    def _transform(self, X):
        return X

    def fit_transform(self, X, y=None):
        """Fit, then return one augmented copy of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Training signals.
        y : None
            Ignored.

        Returns
        -------
        X_aug : ndarray of shape (n_records, n_leads, n_samples), float32
            Augmented signals, reproducible for a fixed ``random_state``.
        """
        import torch

        self.fit(X)
        X = check_signal_input(X)
        seed = check_seed(self.random_state).randint(np.iinfo(np.int32).max)
        generator = torch.Generator().manual_seed(int(seed))
        # A C-contiguous, writable array (read-only memmaps are copied):
        # torch.from_numpy shares its memory; augment_batch never writes to it.
        x = torch.from_numpy(np.require(X, requirements=["C", "W"]))
        return self.augment_batch(x, generator=generator).numpy()

    def augment_batch(self, x, generator=None):
        """Apply the operations to a torch batch.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, leads, samples)
            Floating-point batch on any device; it is not modified.
        generator : torch.Generator, default=None
            Source of randomness; None uses torch's global generator.

        Returns
        -------
        x_aug : torch.Tensor
            Augmented batch with the shape, dtype and device of ``x``.

        Raises
        ------
        ValueError
            If an operation returns anything but a tensor of the shape it
            was given.
        """
        import torch

        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"augment_batch works on torch tensors, got {type(x).__name__}; "
                "use fit_transform for numpy arrays."
            )
        # Read the parameters on every call (cheap), so set_params applies
        # even when the estimator does not refit the Augmenter.
        out = x.clone()
        for op in self._resolve_operations():
            before = out.shape
            out = op(out, generator=generator)
            if not isinstance(out, torch.Tensor) or out.shape != before:
                got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ValueError(f"the augmentation {op!r} must return a torch tensor of the "
                                 f"shape it was given, {tuple(before)}; it returned {got}.")
        return out
