"""Random convolutional kernel features after MiniRocket (Dempster et al. 2021).

Dempster, Schmidt and Webb, "MINIROCKET: A Very Fast (Almost) Deterministic
Transform for Time Series Classification", KDD 2021
(https://arxiv.org/abs/2012.08791). :class:`RandomConvFeatures` lists the
design it follows. The convolutions run as one dilated
:func:`torch.nn.functional.conv1d` per dilation over all leads (a kernel's
output on a sum of leads is the sum of its outputs on each lead), the PPV
pooling as vectorised numpy comparisons; record batches run in threads.
"""

import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import combinations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_seed, check_signal_input, fitting_anew
from ._base import check_int

__all__ = ["RandomConvFeatures"]

KERNEL_LENGTH = 9
#: Positions of the weight 2 in each of the 84 kernels.
KERNEL_INDICES = np.array(list(combinations(range(KERNEL_LENGTH), 3)), dtype=np.int64)
N_BASE_KERNELS = len(KERNEL_INDICES)  # 84

# Bytes of convolution output per batch of records.
_BATCH_BYTES = 2 ** 20
#: Set bits of each byte value, for numpy 1.x, which lacks ``np.bitwise_count``.
_SET_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _set_bits(packed):
    """Set bits of each byte of the uint8 array ``packed``.

    ``np.bitwise_count`` (numpy 2) where there is one, a table lookup
    otherwise (about 4 times slower).
    """
    count = getattr(np, "bitwise_count", None)
    return count(packed) if count is not None else np.take(_SET_BITS, packed)


def base_kernels():
    """The 84 MiniRocket kernels, shape ``(84, 9)``, weights -1 and 2."""
    weights = -np.ones((N_BASE_KERNELS, KERNEL_LENGTH), dtype=np.float32)
    np.put_along_axis(weights, KERNEL_INDICES, 2.0, axis=1)
    return weights


def _fit_dilations(n_samples, n_features, max_dilations_per_kernel):
    """Dilations and features per dilation, as in the MiniRocket reference code."""
    per_kernel = n_features // N_BASE_KERNELS
    true_max = min(per_kernel, max_dilations_per_kernel)
    multiplier = per_kernel / true_max
    max_exponent = np.log2((n_samples - 1) / (KERNEL_LENGTH - 1))
    dilations, counts = np.unique(
        np.logspace(0, max_exponent, true_max, base=2).astype(np.int64), return_counts=True)
    per_dilation = (counts * multiplier).astype(np.int64)
    remainder = per_kernel - per_dilation.sum()
    i = 0
    while remainder > 0:
        per_dilation[i] += 1
        remainder -= 1
        i = (i + 1) % len(per_dilation)
    return dilations, per_dilation


def _quantiles(n):
    """Low-discrepancy quantiles ``(i * golden_ratio) mod 1``, ``i = 1..n``."""
    return ((np.arange(1, n + 1) * ((np.sqrt(5) + 1) / 2)) % 1).astype(np.float32)


def _n_threads(n_jobs):
    """Torch threads for ``n_jobs``: joblib's reading of a negative one (-2: all cores but
    one), at most the machine's cores and the ``--threads`` limit in force."""
    from .._threads import thread_ceiling

    cores = os.cpu_count() or 1
    n = cores if n_jobs is None else cores + 1 + n_jobs if n_jobs < 0 else n_jobs
    ceiling = thread_ceiling()
    return max(1, min(n, cores, ceiling or cores))


@contextmanager
def _torch_threads(n_jobs):
    import torch  # lazy: torch is slow to import

    previous = torch.get_num_threads()
    torch.set_num_threads(_n_threads(n_jobs))
    try:
        yield torch
    finally:
        torch.set_num_threads(previous)


class RandomConvFeatures(TransformerMixin, BaseEstimator):
    """MiniRocket random convolutional kernel features, multivariate.

    Implements the published MiniRocket design (Dempster et al. 2021, as in
    the authors' code and aeon's ``MiniRocketMultivariate``) in vectorised
    :mod:`torch`:

    - 84 fixed kernels of length 9, weight -1 everywhere and 2 at three of
      the nine positions (all ``C(9, 3)`` choices; ``kernels_``);
    - dilations ``floor(2 ** linspace(0, log2((n_samples - 1) / 8), m))``,
      ``m = min(n_kernels // 84, max_dilations_per_kernel)``, deduplicated,
      the features spread over them in proportion to their multiplicity;
    - each (dilation, kernel) pair convolves the sum of a random subset of
      ``floor(2 ** U(0, log2(min(n_leads, 9) + 1)))`` leads (the
      multivariate variant; ``channel_mask_``);
    - biases: for each pair, quantiles of its convolution output on one
      random *training* record, at ``(i * golden_ratio) mod 1``;
    - zero "same" padding; alternate pairs pool over the padded output or
      over its unpadded part only;
    - pooling: PPV, the proportion of outputs above the bias.

    The output has ``84 * (n_kernels // 84)`` features, each in ``[0, 1]``.
    Use it with :class:`~sklearn.preprocessing.StandardScaler` and
    :class:`~sklearn.linear_model.RidgeClassifierCV`, the authors' recipe
    (:func:`ecgsk.baselines.make_randomconv_ridge`).

    Only the biases, dilations and lead combinations are fitted, from the
    training records; :meth:`transform` uses them unchanged. Records shorter
    than 9 samples are zero-padded to 9, as the authors recommend. The
    input is not normalised (as in MiniRocket).

    Parameters
    ----------
    n_kernels : int, default=10000
        Requested number of features, at least 84; rounded down to a
        multiple of 84.
    max_dilations_per_kernel : int, default=32
        Most dilations per kernel.
    random_state : int, RandomState instance or None, default=None
        Seeds the lead combinations and the training records the biases are
        drawn from; an int gives the same kernels and biases every time. The
        features of a record are the same for the same batch of records
        and ``n_jobs``; another batching or thread count may round a
        convolution differently, and a value that lies exactly on its bias
        (the quantised samples of real ECGs make such ties) can then count
        or not. On 1,000-sample PTB-XL records transformed one at a time
        rather than in batches of three, about 150-220 of ten thousand
        features moved, by up to 0.005.
    n_jobs : int or None, default=1
        Torch threads used for the convolutions (``-1`` or None: all cores;
        ``-2`` all but one, as joblib reads it), at most the ``--threads`` of
        ``python -m ecgsk.compare`` or ``tune`` when one is in force.

    Attributes
    ----------
    kernels_ : ndarray of shape (84, 9)
        The kernel weights.
    dilations_ : ndarray of shape (n_dilations,)
        The dilations.
    n_features_per_dilation_ : ndarray of shape (n_dilations,)
        Features per kernel at each dilation.
    channel_mask_ : ndarray of shape (n_dilations, 84, n_leads_in_), bool
        Leads summed by each (dilation, kernel) pair.
    biases_ : ndarray of shape (n_features_out_,), float32
        One bias per feature, in output order.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.
    n_samples_in_ : int
        Record length seen in :meth:`fit`; the dilations depend on it, so
        :meth:`transform` requires the same.
    n_features_out_ : int
        ``84 * (n_kernels // 84)``.

    References
    ----------
    .. [1] A. Dempster, D. F. Schmidt and G. I. Webb, "MINIROCKET: A Very Fast
       (Almost) Deterministic Transform for Time Series Classification",
       KDD 2021, https://arxiv.org/abs/2012.08791.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.features import RandomConvFeatures
    >>> X = np.random.default_rng(0).normal(size=(20, 3, 200)).astype(np.float32)
    >>> rc = RandomConvFeatures(n_kernels=1000, random_state=0).fit(X)
    >>> F = rc.transform(X)
    >>> F.shape, rc.kernels_.shape
    ((20, 924), (84, 9))
    >>> bool(F.min() >= 0 and F.max() <= 1)
    True
    >>> rc.get_feature_names_out()[0]
    'ppv_d1_k0_0'
    """

    def __init__(self, n_kernels=10_000, max_dilations_per_kernel=32, random_state=None,
                 n_jobs=1):
        self.n_kernels = n_kernels
        self.max_dilations_per_kernel = max_dilations_per_kernel
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_params(self):
        check_int(self.n_kernels, "n_kernels", low=N_BASE_KERNELS)
        check_int(self.max_dilations_per_kernel, "max_dilations_per_kernel", low=1)
        if self.n_jobs is not None and (isinstance(self.n_jobs, bool)
                                        or not isinstance(self.n_jobs, numbers.Integral)
                                        or self.n_jobs == 0):
            raise ValueError(f"n_jobs must be a non-zero integer or None, got {self.n_jobs!r}.")

    @staticmethod
    def _pad(X):
        if X.shape[2] < KERNEL_LENGTH:
            X = np.pad(X, ((0, 0), (0, 0), (0, KERNEL_LENGTH - X.shape[2])))
        return X

    def fit(self, X, y=None):
        """Draw the lead combinations and fit the biases on training records.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Training signals.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        with fitting_anew(self):  # a failed fit leaves none of its attributes
            self._check_params()
            X = check_signal_input(X)
            self.n_samples_in_ = X.shape[2]
            X = self._pad(X)
            n, n_leads, n_samples = X.shape
            rng = check_seed(self.random_state)
            dilations, per_dilation = _fit_dilations(
                n_samples, self.n_kernels, self.max_dilations_per_kernel)

            # Lead combinations, one per (dilation, kernel) pair.
            max_exponent = np.log2(min(n_leads, 9) + 1)
            sizes = (2 ** rng.uniform(0, max_exponent, (len(dilations), N_BASE_KERNELS))
                     ).astype(np.int64)
            mask = np.zeros((len(dilations), N_BASE_KERNELS, n_leads), dtype=bool)
            for di in range(len(dilations)):
                for k in range(N_BASE_KERNELS):
                    mask[di, k, rng.choice(n_leads, sizes[di, k], replace=False)] = True

            kernels = base_kernels()
            quantiles = _quantiles(N_BASE_KERNELS * per_dilation.sum())
            biases = np.empty(quantiles.size, dtype=np.float32)
            start = 0
            with _torch_threads(self.n_jobs) as torch:
                weight = torch.from_numpy(base_kernels())[:, None, :]
                for di, (dilation, n_f) in enumerate(zip(dilations, per_dilation)):
                    examples = rng.randint(n, size=N_BASE_KERNELS)
                    # Sum of each pair's leads in its own random training record: (84, T)
                    Z = np.einsum("kl,klt->kt", mask[di].astype(np.float32), X[examples])
                    C = torch.nn.functional.conv1d(
                        torch.from_numpy(Z)[None], weight, dilation=int(dilation),
                        padding=(KERNEL_LENGTH - 1) * int(dilation) // 2,
                        groups=N_BASE_KERNELS)[0].numpy()
                    for k in range(N_BASE_KERNELS):
                        q = quantiles[start + k * n_f:start + (k + 1) * n_f]
                        biases[start + k * n_f:start + (k + 1) * n_f] = np.quantile(C[k], q)
                    start += N_BASE_KERNELS * n_f

            self.kernels_ = kernels
            self.dilations_ = dilations
            self.n_features_per_dilation_ = per_dilation
            self.channel_mask_ = mask
            self.biases_ = biases
            self.n_leads_in_ = n_leads
            self.n_features_out_ = biases.size
            return self

    @staticmethod
    def _conv(torch, X, weight, dilation):
        """``X`` (batch, n_leads, T) with ``weight`` (84, n_leads, 9), dilated, 'same' padding."""
        return torch.nn.functional.conv1d(
            X, weight, padding=(KERNEL_LENGTH - 1) * dilation // 2, dilation=dilation)

    def _dense_weights(self):
        """Per dilation, the (84, n_leads, 9) weights: a kernel on each of its leads.

        A kernel applied to the sum of its leads equals the sum of its outputs
        on each lead, so one dense convolution computes all 84 pairs; it is
        faster with torch on CPU than a grouped convolution of the lead sums.
        """
        return (self.channel_mask_[:, :, :, None].astype(np.float32)
                * self.kernels_[None, :, None, :])

    def transform(self, X):
        """PPV features of the signals.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Signals with the leads and length seen in :meth:`fit`.

        Returns
        -------
        F : ndarray of shape (n_records, n_features_out_), float32
            Proportions of positive values, in ``[0, 1]``.
        """
        check_is_fitted(self, "biases_")
        X = check_signal_input(X)
        n, n_leads, n_samples = X.shape
        if n_leads != self.n_leads_in_:
            raise ValueError(
                f"X has {n_leads} lead(s), but RandomConvFeatures was fitted on "
                f"{self.n_leads_in_} lead(s)."
            )
        if n_samples != self.n_samples_in_:
            raise ValueError(
                f"X has {n_samples} samples per record, but RandomConvFeatures was fitted "
                f"on {self.n_samples_in_}; its dilations depend on the record length. "
                "Pad or crop the records (ecgsk.preprocessing.PadTruncate)."
            )
        X = self._pad(X)
        n_samples = X.shape[2]
        # Small batches keep the convolution outputs in the CPU cache: with
        # 1 MiB of outputs per batch, 1-lead 3000-sample records took 11 CPU-s
        # per 1,000 records, against 46 with batches of 35 records.
        batch = int(max(1, _BATCH_BYTES // (N_BASE_KERNELS * n_samples * 4)))
        starts = range(0, n, batch)
        out = np.empty((n, self.n_features_out_), dtype=np.float32)
        n_jobs = _n_threads(self.n_jobs)

        def run(lo):
            out[lo:lo + batch] = self._transform_batch(torch, X[lo:lo + batch])

        # Batches run in threads (torch and numpy release the GIL), each
        # convolution on one torch thread: better than torch's own threading
        # on the many small convolutions.
        with _torch_threads(1) as torch:
            if n_jobs == 1 or len(starts) == 1:
                for lo in starts:
                    run(lo)
            else:
                with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                    list(pool.map(run, starts))
        return out

    def _transform_batch(self, torch, X):
        X = np.ascontiguousarray(X)
        if not X.flags.writeable:  # torch.from_numpy warns on read-only arrays
            X = X.copy()
        X = torch.from_numpy(X)
        B, n_leads, T = X.shape
        weights = self._dense_weights()
        out = np.empty((B, self.n_features_out_), dtype=np.float32)
        kernel_ids = np.arange(N_BASE_KERNELS)
        start = 0
        for di, (dilation, n_f) in enumerate(zip(self.dilations_, self.n_features_per_dilation_)):
            dilation, n_f = int(dilation), int(n_f)
            C = self._conv(torch, X, torch.from_numpy(weights[di]), dilation).numpy()
            b = self.biases_[start:start + N_BASE_KERNELS * n_f].reshape(N_BASE_KERNELS, n_f)
            block = np.empty((B, N_BASE_KERNELS, n_f), dtype=np.float32)
            padding = (KERNEL_LENGTH - 1) * dilation // 2
            # Alternate pairs pool over the padded output or its unpadded part.
            for parity in (0, 1):
                ks = kernel_ids[(di + kernel_ids) % 2 == parity]
                Ck = C[:, ks] if parity == 0 else C[:, ks, padding:T - padding]
                positive = Ck[:, :, None, :] > b[ks][None, :, :, None]
                # Counting set bits of the packed comparisons is faster than
                # summing booleans.
                count = _set_bits(np.packbits(positive, axis=-1)).sum(-1, dtype=np.int64)
                block[:, ks] = count / Ck.shape[-1]
            out[:, start:start + N_BASE_KERNELS * n_f] = block.reshape(B, -1)
            start += N_BASE_KERNELS * n_f
        return out

    def get_feature_names_out(self, input_features=None):
        """Feature names ``ppv_d<dilation>_k<kernel>_<j>``.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``k`` is the kernel (0-83, a row of ``kernels_``), ``j`` the
            bias number of that kernel at that dilation.
        """
        check_is_fitted(self, "biases_")
        names = [f"ppv_d{d}_k{k}_{j}"
                 for d, n_f in zip(self.dilations_, self.n_features_per_dilation_)
                 for k in range(N_BASE_KERNELS) for j in range(n_f)]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = False
        return tags
