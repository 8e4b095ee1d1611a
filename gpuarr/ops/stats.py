"""Statistics and scans: ``quantile``/``nanquantile``, ``mode``, ``logcumsumexp``, ``cov``,
``corrcoef``, ``histogram``/``histogramdd``, ``dist``, ``renorm``, ``trapezoid``/``trapz``,
``cumulative_trapezoid``, ``gradient``, and the in-place scans ``cumsum_``/``cumprod_``.

Most are compositions of differentiable gpuarr ops written the way torch writes them (its
``quantile`` sorts, gathers and interpolates; ``cov`` is a weighted mean and a matrix product),
so values, gradients and higher derivatives follow torch's. ``logcumsumexp`` is a Function: its
forward is a parallel prefix scan of ``logaddexp`` (``log2(n)`` whole-array steps, the same on
NumPy and CuPy) and its backward is torch's formula, written with ``logcumsumexp`` itself.

Example:
    >>> x = gpuarr.tensor([[1.0, 4.0, 2.0, 3.0]])
    >>> gpuarr.quantile(x, 0.5, dim=1)
    tensor([2.5000])
    >>> gpuarr.logcumsumexp(gpuarr.zeros(3), 0)
    tensor([0.0000, 0.6931, 1.0986])
"""

from __future__ import annotations

import builtins
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .. import return_types
from .._core.function import Function
from .._core.tensor import TensorBase, _make
from .._creation import tensor, zeros
from .._device import CPU
from ..backends import sync_debug
from ._common import apply_raw, dtype_name, wrap_dim
from ._out import write_out
from ._registry import inplace_method, mixin, register
from .decompositions import vector_norm
from .elementwise import _CPP_NAMES, clamp, lerp, where
from .matmul import mm
from .reduction import _Gather, cumprod, cumsum
from .sorting import _argsort_arr, sort
from .stacking import cat, flip

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "quantile", "nanquantile", "mode", "logcumsumexp", "cov", "corrcoef", "histogram",
    "histogramdd", "dist", "renorm", "trapezoid", "trapz", "cumulative_trapezoid", "gradient",
]


def _sl(t: Tensor, dim: int, start=None, stop=None) -> Tensor:
    """``t`` sliced ``start:stop`` along ``dim`` (a differentiable view)."""
    idx = [slice(None)] * t.ndim
    idx[dim] = slice(start, stop)
    return t[tuple(idx)]


def _fmt(v: float) -> str:
    """A number as torch's C++ stream prints it in messages (``1.5``, ``2``, ``-1``)."""
    return f"{v:g}"


# --------------------------------------------------------------------------------------------
# quantile, nanquantile

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _q_array(op: str, input: Tensor, q):
    """``q`` as an array of ``input``'s dtype on its device, and whether it was a scalar."""
    xp = input._device._xp()
    if isinstance(q, TensorBase):
        if q.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
        if q._device != input._device:
            raise RuntimeError(f"{op}() q tensor must be on the same device as the input tensor")
        # torch reads q back to check its range only when it lives on the CPU (no device sync)
        if q._device is CPU and q._data.size and not ((q._data >= 0) & (q._data <= 1)).all():
            raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
        return q._data.reshape(-1), q.ndim == 0
    if isinstance(q, bool) or not isinstance(q, numbers.Real):
        raise TypeError(f"{op}() received an invalid combination of arguments - got q of type "
                        f"{type(q).__name__}")
    if not 0 <= q <= 1:
        raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {_fmt(q)}")
    return xp.asarray([q], dtype=input._data.dtype), True


def _quantile(op: str, input: Tensor, q, dim, keepdim: bool, interpolation: str,
              ignore_nan: bool) -> Tensor:
    # ``op`` names the function in errors: torch says 'quantile()' for nanquantile too
    if input.dtype not in (D.float32, D.float64):
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    qa, scalar_q = _q_array(op, input, q)
    if input.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    xp = input._device._xp()
    nd = input.ndim
    if dim is None:
        rows = input.reshape(-1)
        out_shape = (1,) * nd if keepdim else ()
    else:
        d = wrap_dim(dim, builtins.max(nd, 1))
        rows = input.reshape(1) if nd == 0 else input.movedim(d, -1)
        out_shape = tuple(1 if i == d else s for i, s in enumerate(input.shape)
                          if keepdim or i != d)
    srt = sort(rows, -1).values  # NaN sorts last
    s = srt._data
    n = s.shape[-1]
    dt = s.dtype
    if ignore_nan:  # rank among the non-NaN values; an all-NaN row picks its first (NaN)
        valid = (~xp.isnan(s)).sum(-1, keepdims=True).astype(dt)
        ranks = qa * (valid - 1)
        ranks = xp.where(ranks < 0, xp.asarray(0, dt), ranks)
    else:  # a row holding NaN gives NaN: point at its last value, which is NaN
        ranks = xp.broadcast_to(qa * (n - 1), s.shape[:-1] + qa.shape)
        ranks = xp.where(xp.isnan(s[..., -1:]), xp.asarray(n - 1, dt), ranks)
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.round(ranks)  # half to even, as torch's round
    below = ranks.astype(np.int64)
    dev = input._device
    res = srt.gather(-1, _make(below, dev))
    if interpolation in ("linear", "midpoint"):
        weights = (xp.full_like(ranks, 0.5) if interpolation == "midpoint"
                   else ranks - below.astype(dt))
        above = srt.gather(-1, _make(xp.ceil(ranks).astype(np.int64), dev))
        res = lerp(res, above, _make(weights, dev))
    res = res.movedim(-1, 0)  # q's dim first, as torch
    shape = out_shape if scalar_q else (qa.shape[0], *out_shape)
    return res.reshape(shape)


def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear", out: Tensor | None = None) -> Tensor:
    """The ``q``-th quantiles of ``input`` along ``dim`` (of all values when ``dim`` is None).

    Differentiable: the gradient flows to the (one or two) values each quantile interpolates.
    A slice holding NaN gives NaN (see :func:`nanquantile`).

    Args:
        input: float32 or float64 tensor, non-empty.
        q: a number in [0, 1], or a 0-d/1-D tensor of them (input's dtype); with a 1-D ``q``
            the result's first dimension indexes the quantiles.
        dim: the dimension to reduce; None flattens.
        keepdim: keep the reduced dimension(s) with size 1.
        interpolation: between the two nearest values: 'linear', 'lower', 'higher',
            'midpoint' or 'nearest'.
        out: optional output tensor.

    Returns:
        The quantiles.

    Example:
        >>> gpuarr.quantile(gpuarr.tensor([0.0, 1.0, 2.0, 3.0]), gpuarr.tensor([0.25, 0.5]))
        tensor([0.7500, 1.5000])
    """
    res = _quantile("quantile", input, q, dim, keepdim, interpolation, False)
    return res if out is None else write_out(res, out, "quantile")


def nanquantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear", out: Tensor | None = None) -> Tensor:
    """:func:`quantile` ignoring NaN values (a slice of only NaN gives NaN).

    Args:
        input: float32 or float64 tensor, non-empty.
        q: a number in [0, 1], or a 0-d/1-D tensor of them.
        dim: the dimension to reduce; None flattens.
        keepdim: keep the reduced dimension(s) with size 1.
        interpolation: 'linear', 'lower', 'higher', 'midpoint' or 'nearest'.
        out: optional output tensor.

    Returns:
        The quantiles of the non-NaN values.

    Example:
        >>> gpuarr.nanquantile(gpuarr.tensor([1.0, float("nan"), 3.0]), 0.5)
        tensor(2.)
    """
    res = _quantile("quantile", input, q, dim, keepdim, interpolation, True)
    return res if out is None else write_out(res, out, "nanquantile")


# --------------------------------------------------------------------------------------------
# mode

_ModeGather = type("Mode", (_Gather,), {})  # grad_fn ModeBackward0


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value of each slice along ``dim`` and where it occurs.

    Ties between values go to the smallest; the index is the value's last occurrence (as
    torch's). NaN values count as equal to each other. The values are differentiable (the
    gradient goes to the returned index).

    Args:
        input: the tensor.
        dim: the dimension to reduce.
        keepdim: keep ``dim`` with size 1.

    Returns:
        A ``(values, indices)`` named tuple.

    Example:
        >>> gpuarr.mode(gpuarr.tensor([3, 1, 3, 1, 2]))
        torch.return_types.mode(
        values=tensor(1),
        indices=tensor(3))
    """
    nd = input.ndim
    d = wrap_dim(dim, builtins.max(nd, 1))
    xp = input._device._xp()
    dev = input._device
    if nd == 0:
        idx = xp.zeros((1,), dtype=np.int64)
        values = apply_raw(_ModeGather, input.reshape(1), idx, 0, True)
        return return_types.mode(values, _make(xp.zeros((), dtype=np.int64), dev))
    n = input.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    x = xp.moveaxis(input._data, d, -1)
    lead = x.shape[:-1]
    m = math.prod(lead)
    if m == 0:
        empty = xp.zeros(lead + ((1,) if keepdim else ()), dtype=np.int64)
        values = _make(xp.zeros(empty.shape, dtype=x.dtype), dev)
        return return_types.mode(values, _make(empty, dev))
    x2 = x.reshape(m, n)
    order = _argsort_arr(xp, x2, -1, False)  # stable, NaN last
    s = xp.take_along_axis(x2, order, -1)
    starts = xp.ones((m, n), dtype=bool)
    if s.dtype.kind == "f":
        nan = xp.isnan(s)
        starts[:, 1:] = (s[:, 1:] != s[:, :-1]) & ~(nan[:, 1:] & nan[:, :-1])
    else:
        starts[:, 1:] = s[:, 1:] != s[:, :-1]
    run = xp.cumsum(starts, axis=1) - 1  # run number of each sorted position
    # run lengths of every row at once: one bincount over (row, run) pairs
    flat = run + xp.arange(m, dtype=run.dtype)[:, None] * n
    sync_debug.check_array(flat)  # CuPy's bincount reads the largest value to the host
    counts = xp.bincount(flat.reshape(-1), minlength=m * n).reshape(m, n)
    length = xp.take_along_axis(counts, run, 1)
    first = xp.argmax(length, axis=1)[:, None]  # first position of the longest, smallest run
    last = first + xp.take_along_axis(length, first, 1) - 1  # its last: the last occurrence
    idx = xp.take_along_axis(order, last, 1).reshape(lead + (1,))
    idx = xp.moveaxis(idx, -1, d)
    values = apply_raw(_ModeGather, input, idx, d, not keepdim)
    indices = idx if keepdim else xp.squeeze(idx, d)
    return return_types.mode(values, _make(xp.ascontiguousarray(indices), dev))


# --------------------------------------------------------------------------------------------
# logcumsumexp


def _lcse_arr(xp, x, axis: int):
    """log(cumsum(exp(x))) along ``axis`` by a Hillis-Steele scan of ``logaddexp``: exact for
    values far below the running maximum, where ``max + log(cumsum(exp(x - max)))`` gives
    -inf."""
    y = xp.moveaxis(x, axis, -1).copy()
    n = y.shape[-1]
    step = 1
    while step < n:
        y[..., step:] = xp.logaddexp(y[..., step:], y[..., :-step])
        step *= 2
    return xp.ascontiguousarray(xp.moveaxis(y, -1, axis))


class LogCumSumExp(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        out = _lcse_arr(ctx.xp, x, axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return _lcse_grad(g, x, out, ctx.axis), None


def _lcse_grad(g: Tensor, x: Tensor, out: Tensor, axis: int) -> Tensor:
    """torch's logcumsumexp backward: ``dx_j = sum_{k>=j} g_k exp(x_j - out_k)``, summed in log
    space separately for the positive and the negative gradients."""
    lowest = float(np.finfo(g._data.dtype).min)

    def rev_lcse(t):
        return flip(logcumsumexp(flip(t, [axis]), axis), [axis])

    log_abs = g.abs().log()
    pos = where(g > 0, log_abs, lowest)
    neg = where(g < 0, log_abs, lowest)
    return (rev_lcse(pos - out) + x).exp() - (rev_lcse(neg - out) + x).exp()


def logcumsumexp(input: Tensor, dim: int, *, out: Tensor | None = None) -> Tensor:
    """``log(cumsum(exp(input), dim))``, computed without overflow or underflow.

    Args:
        input: a floating-point tensor.
        dim: the dimension of the running sum.
        out: optional output tensor.

    Returns:
        A tensor of ``input``'s shape and dtype.

    Example:
        >>> gpuarr.logcumsumexp(gpuarr.tensor([-1000.0, 0.0]), 0)
        tensor([-1000.,     0.])
    """
    k = input._data.dtype
    if k.kind not in "fV":
        raise NotImplementedError(f'"logcumsumexp_out_{input._device.type}" not implemented '
                                  f"for '{dtype_name(input.dtype)}'")
    nd = input.ndim
    d = wrap_dim(dim, builtins.max(nd, 1))
    if D.is_half_np(k):  # accumulate in float32, as torch's reduced-precision kernels do
        res = logcumsumexp(input.to(D.float32), dim).to(input.dtype)
    elif nd == 0:
        res = apply_raw(LogCumSumExp, input.reshape(1), 0).reshape(())
    else:
        res = apply_raw(LogCumSumExp, input, d)
    return res if out is None else write_out(res, out, "logcumsumexp")


# --------------------------------------------------------------------------------------------
# cov, corrcoef


def _weights(name: str, w: Tensor, n_obs: int, integral: bool) -> None:
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                           f"{name} with {w.ndim} dimensions")
    kind = w._data.dtype.kind
    if integral and kind not in "iu":
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} "
                           f"with {dtype_name(w.dtype)} dtype")
    if not integral and kind not in "fV":
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got "
                           f"{name} with {dtype_name(w.dtype)} dtype")
    if w.numel() != n_obs:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                           f"observations in the input but got {w.numel()} != {n_obs}")
    if n_obs and bool(w._data.min() < 0):  # torch reads this back too
        raise RuntimeError(f"cov(): {name} cannot be negative")


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """Covariance matrix of the variables in the rows of ``input`` (observations in columns).

    Args:
        input: a 0-, 1- or 2-D tensor (a 1-D input is one variable).
        correction: subtracted from the number of observations (1: unbiased).
        fweights: integer frequency weights, one per observation.
        aweights: float observation weights, one per observation.

    Returns:
        The (variables, variables) covariance matrix, squeezed (a 0-d tensor for one variable).

    Example:
        >>> gpuarr.cov(gpuarr.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    if input.ndim > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    if input.dtype == D.bool:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    sync_debug.check_array(input._data)  # checks the weights and the normaliser on the host
    x = input.reshape(1, -1) if input.ndim < 2 else input
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        _weights("fweights", fweights, n_obs, True)
        w = fweights
    if aweights is not None:
        _weights("aweights", aweights, n_obs, False)
        w = aweights if w is None else w * aweights
    if w is None:
        w_sum = tensor(n_obs, dtype=D.int64, device=input.device)
    else:
        w_sum = w.sum()
        if not bool(w_sum._data != 0):
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = (x if w is None else x * w).sum(1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    else:
        norm = w_sum - correction
    if bool(norm._data <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0
    xc = x - avg.unsqueeze(1)
    c = mm(xc, (xc if w is None else xc * w).t())
    return (c / norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows of ``input``.

    Args:
        input: a 0-, 1- or 2-D tensor (variables in rows, observations in columns).

    Returns:
        The correlation matrix, clipped to [-1, 1] (a 0-d tensor for one variable).

    Example:
        >>> gpuarr.corrcoef(gpuarr.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    if input.ndim > 2:
        raise RuntimeError("corrcoef(): expected input to have two or fewer dimensions but got "
                           f"an input with {input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:  # one variable: 1, or NaN when its variance is 0, inf or NaN
        return c / c
    std = c.diagonal().sqrt()
    c = c / std.view(-1, 1)
    c = c / std.view(1, -1)
    return clamp(c, -1, 1)


# --------------------------------------------------------------------------------------------
# histogram, histogramdd


def _edges_for(input2: Tensor, k: int, bins, rng, dev) -> Tensor:
    """Bin edges of dimension ``k``: a given tensor, or ``bins + 1`` evenly spaced ones over
    ``rng`` or the data's range (read back, as torch)."""
    dt = input2.dtype
    if isinstance(bins, TensorBase):
        if bins.dtype != dt:
            raise RuntimeError(
                "torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                f"but got input with dtype {_CPP_NAMES[dt.name]} and bins for dimension {k} "
                f"with dtype {_CPP_NAMES[bins.dtype.name]}")
        if bins.ndim != 1 or bins.numel() < 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension and "
                               f"at least 1 element, but got {bins.ndim} dimensions and "
                               f"{bins.numel()} elements for dimension {k}")
        return bins.to(dev)
    if rng is not None:
        lo, hi = float(rng[2 * k]), float(rng[2 * k + 1])
    elif input2.shape[0] == 0:
        lo, hi = 0.0, 1.0
    else:
        col = input2._data[:, k]
        lo, hi = float(col.min()), float(col.max())  # a host read, as torch's
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: dimension {k}'s range [{_fmt(lo)}, {_fmt(hi)}] "
                           "is not finite")
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                           f"{_fmt(lo)} max {_fmt(hi)} for dimension {k}")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return _make(_linspace_arr(dev._xp(), lo, hi, bins + 1, dt.np), dev)


def _linspace_arr(xp, start: float, end: float, steps: int, np_dtype):
    """torch's linspace formula (its scalar loop): in the result's dtype, the first half
    counted up from ``start`` and the second half down from ``end``. (torch's vectorised loop
    rounds some values differently, by one unit in the last place.)"""
    lo, hi = np_dtype.type(start), np_dtype.type(end)
    step = (hi - lo) / np_dtype.type(builtins.max(steps - 1, 1))
    i = xp.arange(steps, dtype=np_dtype)
    up = lo + step * i
    down = hi - step * (np_dtype.type(steps - 1) - i)
    return xp.where(xp.arange(steps) < steps // 2, up, down)


def _histdd(op: str, input2: Tensor, bins: list, rng, weight, density: bool):
    """(hist, edges) of the rows of the (N, D) tensor ``input2``."""
    if input2._data.dtype.kind not in "fV":
        raise NotImplementedError(f"\"histogramdd\" not implemented for "
                                  f"'{dtype_name(input2.dtype)}'")
    nd = input2.shape[1]
    dev = input2._device
    xp = dev._xp()
    sync_debug.check_array(input2._data)  # the ranges are read, and counted, on the host
    if rng is not None and len(rng) != 2 * nd:
        raise RuntimeError(f"torch.histogramdd: for a {nd}-dimensional histogram range should "
                           f"have {2 * nd} elements, but got {len(rng)}")
    for k, b in enumerate(bins):
        if not isinstance(b, TensorBase) and b <= 0:
            raise RuntimeError(f"{op}: bins must be > 0, but got {b} for dimension {k}")
    if weight is not None and tuple(weight.shape) != tuple(input2.shape[:-1]):
        raise RuntimeError(
            "torch.histogramdd: if weight tensor is provided it should have the same shape as "
            "the input tensor excluding its innermost dimension, but got input with shape "
            f"{list(input2.shape)} and weight with shape {list(weight.shape)}")
    edges = [_edges_for(input2, k, b, rng, dev) for k, b in enumerate(bins)]
    sizes = [e.numel() - 1 for e in edges]
    total = math.prod(sizes)
    data = input2._data
    flat = xp.zeros(data.shape[0], dtype=np.int64)
    inside = xp.ones(data.shape[0], dtype=bool)
    for k, e in enumerate(edges):
        col, ed = data[:, k], e._data
        inside &= (col >= ed[0]) & (col <= ed[-1])  # NaN is outside
        pos = xp.searchsorted(ed, col, side="right") - 1
        pos = xp.clip(pos, 0, builtins.max(sizes[k] - 1, 0))  # the last bin includes its right
        flat = flat * sizes[k] + pos
    flat = xp.where(inside, flat, total)  # values outside every range land in a dropped bin
    w = None if weight is None else weight._data.astype(data.dtype)
    counts = xp.bincount(flat, weights=w, minlength=total + 1)[:total]
    hist = _make(counts.astype(data.dtype).reshape(sizes), dev)
    if density:
        hist = hist / hist.sum()
        for k, e in enumerate(edges):
            shape = [1] * nd
            shape[k] = sizes[k]
            hist = hist / (e[1:] - e[:-1]).reshape(shape)
    return hist, edges


def histogram(input: Tensor, bins, *, range: Sequence[float] | None = None,
              weight: Tensor | None = None, density: bool = False, out=None):
    """Histogram of the values of ``input`` (works on both devices; torch's is CPU-only).

    Args:
        input: a floating-point tensor (all its values are counted).
        bins: the number of equal-width bins, or a 1-D tensor of increasing bin edges.
        range: ``(min, max)`` of the bins; defaults to the data's range.
        weight: per-value weights, of ``input``'s shape.
        density: divide by the total and the bin widths (a density that integrates to 1).
        out: optional ``(hist, bin_edges)`` tensors.

    Returns:
        A ``(hist, bin_edges)`` named tuple. The last bin includes its right edge.

    Example:
        >>> gpuarr.histogram(gpuarr.tensor([1.0, 2.0, 1.0]), bins=4, range=(0.0, 3.0))
        torch.return_types.histogram(
        hist=tensor([0., 2., 1., 0.]),
        bin_edges=tensor([0.0000, 0.7500, 1.5000, 2.2500, 3.0000]))
    """
    w = None if weight is None else weight.reshape(-1) if weight.shape == input.shape else weight
    hist, edges = _histdd("torch.histogram()", input.reshape(-1, 1), [bins], range, w, density)
    res = return_types.histogram(hist, edges[0])
    return res if out is None else write_out(res, out, "histogram")


def histogramdd(input: Tensor, bins, *, range: Sequence[float] | None = None,
                weight: Tensor | None = None, density: bool = False):
    """Multi-dimensional histogram of the points in the rows of ``input``.

    Args:
        input: a floating-point tensor of shape (..., D): points in D dimensions.
        bins: one int for every dimension, D ints, or D 1-D tensors of bin edges.
        range: ``[min_0, max_0, ..., min_D-1, max_D-1]``; defaults to the data's range.
        weight: per-point weights, of shape ``input.shape[:-1]``.
        density: divide by the total and the bin volumes.

    Returns:
        A ``(hist, bin_edges)`` named tuple: a D-dimensional histogram and a tuple of D edge
        tensors.

    Example:
        >>> gpuarr.histogramdd(gpuarr.tensor([[0.0, 0.0], [1.0, 2.0]]), bins=[2, 2]).hist
        tensor([[1., 0.],
                [0., 1.]])
    """
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions, "
                           f"but got {input.ndim}")
    nd = input.shape[-1]
    x2 = input.reshape(-1, nd)
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        bins = [int(bins)] * nd
    bins = list(bins)
    if len(bins) != nd:
        raise RuntimeError(f"torch.histogramdd: expected {nd} sequences of bin edges for each "
                           f"of the {nd} dimensions of the input, but got {len(bins)}")
    w = None if weight is None else weight.reshape(-1)
    if weight is not None and tuple(weight.shape) != tuple(input.shape[:-1]):
        w = weight
    hist, edges = _histdd("torch.histogramdd()", x2, bins, range, w, density)
    return return_types.histogramdd(hist, tuple(edges))


# --------------------------------------------------------------------------------------------
# dist, renorm


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast).

    Args:
        input: a floating-point tensor.
        other: a tensor broadcastable with ``input``.
        p: the norm's order (0, inf and -inf included).

    Returns:
        A 0-d tensor.

    Example:
        >>> gpuarr.dist(gpuarr.tensor([3.0, 0.0]), gpuarr.tensor([0.0, 4.0]))
        tensor(5.)
    """
    diff = input - other
    if diff._data.dtype.kind not in "fVc":
        raise RuntimeError("norm(): input dtype should be either floating point or complex. "
                           f"Got {dtype_name(diff.dtype)} instead.")
    return vector_norm(diff, p)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Rescale each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` to norm
    ``maxnorm`` (a max-norm constraint, e.g. on embedding rows).

    Args:
        input: a floating-point tensor of at least 2 dimensions.
        p: the norm's order (> 0).
        dim: the dimension whose slices are renormalised.
        maxnorm: the largest norm a slice keeps (>= 0).

    Returns:
        The rescaled tensor (slices within the bound are unchanged).

    Example:
        >>> gpuarr.renorm(gpuarr.ones(2, 4), 2, 0, 1.0)
        tensor([[0.5000, 0.5000, 0.5000, 0.5000],
                [0.5000, 0.5000, 0.5000, 0.5000]])
    """
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {_fmt(maxnorm)}")
    nd = input.ndim
    if nd < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {nd} dimensions")
    d = wrap_dim(dim, nd)
    reduce = tuple(i for i in builtins.range(nd) if i != d)
    x = input
    # torch's CPU kernel takes float32 norms in float64 (its accumulate type)
    if input.device.type == "cpu" and input.dtype == D.float32:
        x = input.to(D.float64)
    norm = vector_norm(x, p, dim=reduce, keepdim=True)
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0).to(input.dtype)
    return input * factor


# --------------------------------------------------------------------------------------------
# trapezoid, cumulative_trapezoid, gradient


def _no_bool(op: str, *ts) -> None:
    if any(isinstance(t, TensorBase) and t.dtype == D.bool for t in ts):
        what = "`x` or `y`" if len(ts) > 1 else "`y`"
        raise RuntimeError(f"{op}: received a bool input for {what}, but bool is not supported")


def _x_along(op: str, y: Tensor, x: Tensor, d: int) -> Tensor:
    """Sample points ``x`` shaped to broadcast against ``y`` along ``d`` (torch's rules)."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{op}: There must be one `x` value for each sample point")
        shape = [1] * y.ndim
        shape[d] = x.shape[0]
        return x.view(shape)
    if x.ndim < y.ndim:
        return x.view((1,) * (y.ndim - x.ndim) + tuple(x.shape))
    return x


def _empty_except(y: Tensor, d: int) -> Tensor:
    shape = [s for i, s in enumerate(y.shape) if i != d]
    dt = y.dtype if y._data.dtype.kind in "fV" else D.get_default_dtype()
    return zeros(shape, dtype=dt, device=y.device)


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None,
              dim: int = -1) -> Tensor:
    """Integral of ``y`` along ``dim`` by the trapezoidal rule.

    Args:
        y: the sampled values.
        x: the sample points (1-D, or broadcastable against ``y``); exclusive with ``dx``.
        dx: the spacing of evenly spaced samples (default 1).
        dim: the dimension to integrate along.

    Returns:
        ``y`` with ``dim`` integrated away (zeros when ``dim`` is empty).

    Example:
        >>> gpuarr.trapezoid(gpuarr.tensor([1.0, 2.0, 4.0]), dx=2.0)
        tensor(9.)
    """
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments: x and dx "
                        "cannot both be given")
    d = wrap_dim(dim, y.ndim)
    if y.shape[d] == 0:
        return _empty_except(y, d)
    if x is None:
        _no_bool("trapezoid", y)
        h = 1.0 if dx is None else dx
        return (y.sum(d) - (y.select(d, 0) + y.select(d, -1)) * 0.5) * h
    _no_bool("trapezoid", y, x)
    xv = _x_along("trapezoid", y, x, d)
    step = _sl(xv, d, 1) - _sl(xv, d, None, -1)
    return (step * (_sl(y, d, 1) + _sl(y, d, None, -1)) / 2.0).sum(d)


def trapz(y: Tensor, x: Tensor | None = None, *, dx: float | None = None,
          dim: int = -1) -> Tensor:
    """Alias of :func:`trapezoid` (torch's older name).

    Args:
        y: the sampled values.
        x: the sample points.
        dx: the spacing of evenly spaced samples (default 1).
        dim: the dimension to integrate along.

    Returns:
        The integral.

    Example:
        >>> gpuarr.trapz(gpuarr.tensor([1.0, 2.0, 4.0]), gpuarr.tensor([1.0, 2.0, 4.0]))
        tensor(7.5000)
    """
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None,
                         dim: int = -1) -> Tensor:
    """Running integral of ``y`` along ``dim`` by the trapezoidal rule.

    Args:
        y: the sampled values.
        x: the sample points (1-D, or broadcastable against ``y``); exclusive with ``dx``.
        dx: the spacing of evenly spaced samples (default 1).
        dim: the dimension to integrate along.

    Returns:
        ``y`` with ``dim`` one shorter: the integral up to each later sample.

    Example:
        >>> gpuarr.cumulative_trapezoid(gpuarr.tensor([1.0, 2.0, 4.0]))
        tensor([1.5000, 4.5000])
    """
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid() received an invalid combination of arguments: "
                        "x and dx cannot both be given")
    d = wrap_dim(dim, y.ndim)
    if x is None:
        _no_bool("cumulative_trapezoid", y)
        step = 1.0 if dx is None else dx
    else:
        _no_bool("cumulative_trapezoid", y, x)
        xv = _x_along("cumulative_trapezoid", y, x, d)
        step = _sl(xv, d, 1) - _sl(xv, d, None, -1)
    if y.shape[d] == 0:
        return _sl(y, d, 0, 0) * 1.0
    return cumsum(step / 2.0 * (_sl(y, d, None, -1) + _sl(y, d, 1)), d)


def _spacing_list(input: Tensor, spacing, dims: list[int], given_dim: bool) -> list:
    if isinstance(spacing, (numbers.Number, TensorBase)) and not (
            isinstance(spacing, TensorBase) and spacing.ndim == 1):
        # one number (a 0-d tensor counts as one) for every dimension
        return [spacing] * len(dims)
    spacing = list(spacing)
    if len(spacing) == 1 and not isinstance(spacing[0], TensorBase) and not given_dim:
        return spacing * len(dims)
    if not given_dim and len(spacing) != input.ndim:
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
            f"equal to 'self.dim() = {input.ndim}', since dim argument was not given, but got "
            f"a list of length {len(spacing)}")
    if given_dim and len(spacing) != len(dims):
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
            "dim arguments to have the same length, but got a spacing argument of length "
            f"{len(spacing)} and a dim argument of length {len(dims)}.")
    return spacing


def _grad_uniform(f: Tensor, d: int, h, edge_order: int) -> Tensor:
    center = (_sl(f, d, 2) - _sl(f, d, None, -2)) / h
    if edge_order == 1:
        first = (_sl(f, d, 1, 2) - _sl(f, d, 0, 1)) / h
        last = (_sl(f, d, -1) - _sl(f, d, -2, -1)) / h
    else:
        first = (-1.5 * _sl(f, d, 0, 1) + 2 * _sl(f, d, 1, 2) - 0.5 * _sl(f, d, 2, 3)) / h
        last = (0.5 * _sl(f, d, -3, -2) - 2 * _sl(f, d, -2, -1) + 1.5 * _sl(f, d, -1)) / h
    return cat([first, center / 2, last], d)


def _grad_coords(f: Tensor, d: int, coords: Tensor, edge_order: int) -> Tensor:
    h = coords[1:] - coords[:-1]
    h1, h2 = h[:-1], h[1:]
    shape = [1] * f.ndim
    shape[d] = -1
    a = (-h2 / (h1 * (h1 + h2))).reshape(shape)
    b = ((h2 - h1) / (h1 * h2)).reshape(shape)
    c = (h1 / (h2 * (h1 + h2))).reshape(shape)
    center = a * _sl(f, d, None, -2) + b * _sl(f, d, 1, -1) + c * _sl(f, d, 2)
    if edge_order == 1:
        first = (_sl(f, d, 1, 2) - _sl(f, d, 0, 1)) / h[0]
        last = (_sl(f, d, -1) - _sl(f, d, -2, -1)) / h[-1]
    else:
        a = -(2.0 * h[0] + h[1]) / (h[0] * (h[0] + h[1]))
        b = (h[0] + h[1]) / (h[0] * h[1])
        c = -h[0] / (h[1] * (h[0] + h[1]))
        first = a * _sl(f, d, 0, 1) + b * _sl(f, d, 1, 2) + c * _sl(f, d, 2, 3)
        a = h[-1] / (h[-2] * (h[-1] + h[-2]))
        b = -(h[-1] + h[-2]) / (h[-1] * h[-2])
        c = (2 * h[-1] + h[-2]) / (h[-1] * (h[-1] + h[-2]))
        last = a * _sl(f, d, -3, -2) + b * _sl(f, d, -2, -1) + c * _sl(f, d, -1)
    return cat([first, center, last], d)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Estimate the derivative of a sampled function along each dimension: central differences
    inside, one-sided differences of order ``edge_order`` at the ends.

    Args:
        input: the samples.
        spacing: a number (every dimension), a list of numbers (one per dimension), or a list
            of 1-D coordinate tensors (one per dimension).
        dim: a dimension or list of dimensions (default: all).
        edge_order: 1 or 2.

    Returns:
        A tuple with one tensor per dimension, each of ``input``'s shape.

    Example:
        >>> gpuarr.gradient(gpuarr.tensor([1.0, 2.0, 4.0, 8.0]))
        (tensor([1.0000, 1.5000, 3.0000, 4.0000]),)
    """
    if input.dtype == D.uint8:
        raise RuntimeError("torch.gradient does not support uint8 input.")
    given = dim is not None
    if dim is None:
        dims = list(builtins.range(input.ndim))
    elif isinstance(dim, (int, np.integer)):
        dims = [int(dim)]
    else:
        dims = list(dim)
    dims = [wrap_dim(d, input.ndim) for d in dims]
    if len(set(dims)) != len(dims):
        raise RuntimeError("dim appears multiple times in the list of dims")
    steps = _spacing_list(input, spacing, dims, given)
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError(
                "torch.gradient expected each dimension size to be at least edge_order+1")
    out = []
    for d, h in zip(dims, steps, strict=True):
        if isinstance(h, TensorBase) and h.ndim == 1:
            if h.shape[0] != input.shape[d]:
                raise RuntimeError(
                    "torch.gradient expected each tensor to be on the same device and to have "
                    "one element per sample of its dimension")
            out.append(_grad_coords(input, d, h, edge_order))
        else:
            out.append(_grad_uniform(input, d, h, edge_order))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Tensor methods


def _renorm_method(self: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    return renorm(self, p, dim, maxnorm)


register(__name__, {
    "quantile": quantile, "nanquantile": nanquantile, "mode": mode,
    "logcumsumexp": logcumsumexp, "cov": cov, "corrcoef": corrcoef, "histogram": histogram,
    "dist": dist, "renorm": _renorm_method,
    "cumsum_": inplace_method(cumsum, "cumsum"), "cumprod_": inplace_method(cumprod, "cumprod"),
}, inplace=["renorm"])

StatisticsMethods = mixin("StatisticsMethods", __name__)
