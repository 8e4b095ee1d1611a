"""Sampling primitives: ``multinomial``, ``bernoulli``, ``poisson``, ``binomial`` and in-place
``Tensor.bernoulli_``, ``exponential_``, ``geometric_``, ``log_normal_``.

Every function takes ``generator=`` (else the device's default generator, seeded by
``gpuarr.manual_seed``), so the same seed on the same device gives the same samples. Samples are
drawn by the backend generator of the tensor's device (NumPy's PCG64 on 'cpu', CuPy's XORWOW on
'cuda'), never copied between devices. Results carry no gradient, as in torch.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._core.tensor import TensorBase, _make
from ..backends import of_module, sync_debug
from ._common import check_same_device, dtype_name, no_grad_needed
from ._registry import mixin, register
from .random import _fill_inplace, _gen

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["multinomial", "bernoulli", "poisson", "binomial"]


def _sample_dtype(np_dtype) -> np.dtype:
    # backends have no float16 or bfloat16 samplers: draw float32, round afterwards
    return np.dtype(np.float32) if D.is_half_np(np.dtype(np_dtype)) else np.dtype(np_dtype)


def _contig(xp, arr, dtype):
    """A C-contiguous copy/cast of ``arr`` with the same shape (0-d stays 0-d): backend
    samplers want real strides, not broadcast views."""
    return xp.ascontiguousarray(arr, dtype=dtype).reshape(arr.shape)


def _host_bool(xp, arr) -> bool:
    sync_debug.check_array(arr)
    return bool(xp.any(arr)) if arr.size else False


# --------------------------------------------------------------------------------------------
# multinomial


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Draw category indices from the rows of ``input`` (non-negative, unnormalised weights).

    Args:
        input: 1-D (K weights) or 2-D (R rows of K weights) float tensor.
        num_samples: how many indices to draw per row.
        replacement: draw with replacement (independent draws). Without replacement, each
            draw removes its category and renormalises the rest; once every category with
            positive weight is taken, zero-weight categories follow (as torch).
        generator: a :class:`gpuarr.Generator` on ``input``'s device.

    Returns:
        An int64 tensor of shape (num_samples,) or (R, num_samples).

    Raises:
        RuntimeError: for non-float input, input that is not 1-D/2-D, ``num_samples <= 0``,
            too many samples without replacement, negative/inf/NaN weights or a row summing to 0.

    Example:
        >>> w = gpuarr.tensor([0.1, 0.0, 0.9])
        >>> gpuarr.multinomial(w, 4, replacement=True)   # e.g. tensor([2, 2, 0, 2])
    """
    if not isinstance(input, TensorBase):
        raise TypeError(f"multinomial(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.dtype.kind not in "fV":
        raise RuntimeError(
            f"multinomial only supports floating-point dtypes for input, got: "
            f"{dtype_name(input.dtype)}"
        )
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    n = int(num_samples)
    if n <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    k = input.shape[-1]
    if not replacement and n > k:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    # torch draws one sample with replacement by an argmax, its other draws by a sampling
    # kernel with checks of its own (and their own messages)
    kernel = replacement and n > 1
    if k == 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)"
                           if kernel else
                           "multinomial: cannot sample from a distribution with 0 categories")
    dev = input._device
    xp = dev._xp()
    p = input._data.reshape(-1, k).astype(np.float64)
    rows = p.shape[0]
    if rows == 0:
        return _make(xp.zeros(input.shape[:-1] + (n,), dtype=np.int64), dev)
    if kernel:
        _check_rows_with_replacement(xp, p)
    elif _host_bool(xp, ~(xp.isfinite(p) & (p >= 0))):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if _host_bool(xp, p.sum(axis=1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    bg = _gen(generator, dev)._backend_gen
    if replacement:
        idx = _draw_with_replacement(xp, p, n, bg)
    else:
        idx = _draw_without_replacement(xp, p, n, bg)
    return _make(idx.reshape(input.shape[:-1] + (n,)), dev)


_ROW_ERRORS = {1: "encountering probability entry < 0",
               2: "encountering probability entry = infinity or NaN",
               3: "sum of probabilities <= 0"}


def _check_rows_with_replacement(xp, p) -> None:
    """torch's checks for sampling with replacement, in its order: row by row, each entry
    (not >= 0, which NaN also fails; then infinite), then the row's sum; the first failure
    names the error. One host read."""
    code = xp.where(~(p >= 0), 1, xp.where(xp.isinf(p), 2, 0))
    code = xp.concatenate([code, xp.where(p.sum(axis=1, keepdims=True) <= 0, 3, 0)], axis=1)
    flat = code.reshape(-1)
    sync_debug.check_array(flat)
    first = int(flat[int(xp.argmax(flat != 0))])  # the host read torch's kernel makes too
    if first:
        raise RuntimeError(f"invalid multinomial distribution ({_ROW_ERRORS[first]})")


def _draw_with_replacement(xp, p, n: int, bg):
    """Inverse-CDF draws for every row at once with one sorted search.

    Row r's normalised CDF is shifted by r so that the concatenated CDFs increase
    globally; a uniform u in row r is shifted the same way and lands inside row r's block.
    """
    rows, k = p.shape
    cdf = xp.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    offs = xp.arange(rows, dtype=np.float64)[:, None]
    u = bg.random((rows, n), dtype=np.float64)
    pos = xp.searchsorted((cdf + offs).ravel(), (u + offs).ravel(), side="right")
    idx = pos.reshape(rows, n) - xp.arange(rows, dtype=pos.dtype)[:, None] * k
    # Rounding of u + r can reach the row's end: fall back to the last category with weight
    last = (k - 1 - xp.argmax((p > 0)[:, ::-1], axis=1))[:, None]
    return xp.minimum(idx, last).astype(np.int64)


def _draw_without_replacement(xp, p, n: int, bg):
    """Sequential sampling without replacement via the exponential race: the categories
    ordered by E_i / p_i (E_i ~ Exp(1)) are distributed as successive weighted draws."""
    e = bg.standard_exponential(p.shape, dtype=np.float64)
    with np.errstate(divide="ignore"):
        keys = e / p  # zero weight -> inf: never before a positive-weight category
    order = of_module(xp).argsort_stable(keys, axis=1)
    return order[:, :n].astype(np.int64)


# --------------------------------------------------------------------------------------------
# bernoulli / poisson / binomial


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """Bernoulli draws: 1 with probability ``input`` (or ``p``), else 0.

    Args:
        input: probabilities in [0, 1] (float tensor). If ``p`` is given, only ``input``'s
            shape, dtype and device are used.
        p: optional probability (a number) used for every element.
        generator: a :class:`gpuarr.Generator` on ``input``'s device.

    Returns:
        A tensor of 0s and 1s with ``input``'s shape and dtype.

    Example:
        >>> gpuarr.bernoulli(gpuarr.tensor([0.0, 0.5, 1.0]))   # e.g. tensor([0., 1., 1.])
    """
    if not isinstance(input, TensorBase):
        raise TypeError(f"bernoulli(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    dev = input._device
    xp = dev._xp()
    g = _gen(generator, dev)
    if p is not None:
        out = _make(xp.empty(input.shape, dtype=input._data.dtype), dev)
        return _bernoulli_fill(out, p, g)
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f"\"bernoulli_tensor_{dev.type}_p_\" not implemented for '{dtype_name(input.dtype)}'"
        )
    probs = input._data
    if _host_bool(xp, ~((probs >= 0) & (probs <= 1))):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    u = g._backend_gen.random(probs.shape, dtype=_sample_dtype(probs.dtype))
    return _make((u < probs).astype(probs.dtype), dev)


def _bernoulli_fill(self: Tensor, p, g) -> Tensor:
    dev = self._device
    xp = dev._xp()
    if isinstance(p, TensorBase):
        check_same_device(self, p)
        pd = p._data
        if _host_bool(xp, ~((pd >= 0) & (pd <= 1))):
            raise RuntimeError("bernoulli_ expects all elements of p to be in [0, 1]")
        pd = xp.broadcast_to(pd.astype(np.float64), self.shape)
    else:
        if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        pd = float(p)
    u = g._backend_gen.random(self.shape, dtype=np.float64)
    self._data[...] = (u < pd).astype(self._data.dtype)
    return self


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson draws with rates ``input`` (non-negative float tensor); same dtype as input.

    Example:
        >>> gpuarr.poisson(gpuarr.tensor([0.5, 4.0, 100.0]))   # e.g. tensor([0., 5., 93.])
    """
    if not isinstance(input, TensorBase):
        raise TypeError(f"poisson(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    dev = input._device
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f"\"poisson_{dev.type}\" not implemented for '{dtype_name(input.dtype)}'"
        )
    xp = dev._xp()
    lam = input._data
    if _host_bool(xp, ~(lam >= 0)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    bg = _gen(generator, dev)._backend_gen
    draws = bg.poisson(_contig(xp, lam, np.float64), size=lam.shape)
    return _make(xp.asarray(draws).astype(lam.dtype), dev)


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Binomial draws: successes in ``count`` trials with success probability ``prob``.

    Args:
        count: non-negative whole numbers of trials (float tensor).
        prob: probabilities in [0, 1] (float tensor); broadcasts with ``count``.
        generator: a :class:`gpuarr.Generator` on the tensors' device.

    Returns:
        A float tensor (``count``'s dtype) of the broadcast shape.

    Example:
        >>> gpuarr.binomial(gpuarr.tensor([10.0, 10.0]), gpuarr.tensor([0.1, 0.9]))
    """
    if not isinstance(count, TensorBase) or not isinstance(prob, TensorBase):
        raise TypeError("binomial(): arguments 'count' and 'prob' must be Tensors")
    check_same_device(count, prob)
    if count._data.dtype.kind not in "fV":
        raise ValueError(
            f"binomial only supports floating-point dtypes for count, got: "
            f"{dtype_name(count.dtype)}"
        )
    dev = count._device
    xp = dev._xp()
    n, p = xp.broadcast_arrays(count._data, prob._data)
    if _host_bool(xp, ~((n >= 0) & (n == xp.floor(n)))):
        raise RuntimeError("binomial expects count to hold non-negative whole numbers")
    if _host_bool(xp, ~((p >= 0) & (p <= 1))):
        raise RuntimeError("binomial expects prob to be in [0, 1]")
    bg = _gen(generator, dev)._backend_gen
    draws = bg.binomial(_contig(xp, n, np.int64), _contig(xp, p, np.float64), size=n.shape)
    return _make(xp.asarray(draws).astype(count._data.dtype), dev)


# --------------------------------------------------------------------------------------------
# in-place fills


def _need_float(self: Tensor, what: str) -> None:
    if self._data.dtype.kind not in "fV":
        raise RuntimeError(
            f"{what} distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {dtype_name(self.dtype)}"
        )


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with Bernoulli(``p``) draws (``p`` a number or a tensor broadcastable to self).

    Example:
        >>> gpuarr.empty(5).bernoulli_(0.3)
    """
    _check_leaf(self)
    out = _bernoulli_fill(_make(self._data.copy(), self._device), p,
                          _gen(generator, self._device))
    return _fill_inplace(self, out._data)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Exponential draws of rate ``lambd`` (density ``lambd * exp(-lambd x)``).

    Example:
        >>> gpuarr.empty(3).exponential_(2.0)
    """
    _need_float(self, "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    bg = _gen(generator, self._device)._backend_gen
    e = bg.standard_exponential(self.shape, dtype=_sample_dtype(self._data.dtype))
    return _fill_inplace(self, e / e.dtype.type(lambd))


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with Geometric draws: the number of trials up to and including the first success
    (values 1, 2, ...), success probability ``p`` in (0, 1).

    Example:
        >>> gpuarr.empty(3).geometric_(0.5)
    """
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    bg = _gen(generator, self._device)._backend_gen
    draws = bg.geometric(float(p), size=self.shape)
    return _fill_inplace(self, draws)


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with log-normal draws: ``exp(N(mean, std**2))``.

    Example:
        >>> gpuarr.empty(3).log_normal_(0.0, 0.5)
    """
    if self._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f"\"log_normal_{self._device.type}\" not implemented for '{dtype_name(self.dtype)}'"
        )
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    xp = self._device._xp()
    bg = _gen(generator, self._device)._backend_gen
    z = bg.standard_normal(self.shape, dtype=_sample_dtype(self._data.dtype))
    return _fill_inplace(self, xp.exp(z * z.dtype.type(std) + z.dtype.type(mean)))


def _check_leaf(self: Tensor) -> None:
    if self._gfn is None and not no_grad_needed(self):
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )


def _tensor_bernoulli(self: Tensor, p=None, *, generator=None) -> Tensor:
    return bernoulli(self, p, generator=generator)


def _tensor_multinomial(self: Tensor, num_samples: int, replacement: bool = False, *,
                        generator=None) -> Tensor:
    return multinomial(self, num_samples, replacement, generator=generator)


register(__name__, {
    "multinomial": _tensor_multinomial,
    "bernoulli": _tensor_bernoulli,
    "bernoulli_": bernoulli_,
    "exponential_": exponential_,
    "geometric_": geometric_,
    "log_normal_": log_normal_,
})

SamplingMethods = mixin("SamplingMethods", __name__)
