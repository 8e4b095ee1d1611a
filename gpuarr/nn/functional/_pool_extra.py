"""max_unpool1d/2d/3d, lp_pool1d/2d/3d, fractional_max_pool2d/3d (+ _with_indices),
max_pool1d_with_indices and the deprecated upsample_nearest / upsample_bilinear.

* Unpooling writes every input value at its flat index into a zero volume (the last write of
  a repeated index wins, as in torch's CPU kernel); its backward reads the gradient back at
  the same indices (a ``gather``), whose own backward is the scatter again.
* LP pooling is torch's composite: ``(sign(s) * relu(|s|) * k) ** (1/p)`` with ``s`` the
  average pool of ``x ** p``, or a max pool of ``|x|`` for ``p = inf``; built from gpuarr ops
  (``sign(s) * relu(|s|)`` as a select), its values and gradients (zero gradient for an
  all-zero window) are torch's.
* Fractional max pooling picks window starts from one random sample per (sample, channel, dim)
  with torch's formula, finds each window's maximum on arrays (the first maximum, or the last
  NaN, as torch's scan), then gathers the output through those indices, which routes
  gradients where torch does.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ... import _dtype as D
from ..._random import default_generator
from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...ops._common import check_same_device
from ...ops.elementwise import where
from ...ops.random import _draw_float
from ._misc import pad
from ._pool import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from ._pool3d import avg_pool3d, max_pool3d
from ._resample import interpolate
from ._utils import apply_raw, check_tensor, dtype_name

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d", "lp_pool1d", "lp_pool2d",
           "lp_pool3d", "fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices",
           "max_pool1d_with_indices", "upsample_nearest", "upsample_bilinear"]


def _tuple(v, n: int) -> tuple:
    """torch's _single/_pair/_triple: a sequence as a tuple, a scalar repeated ``n`` times."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


# --------------------------------------------------------------------------------------------
# max unpooling


class _MaxUnpool(Function):
    """Values at flat indices into zero volumes: input (*lead, *spatial_in), int64 indices of
    its shape, output (*lead, *size). An index outside the volume (possible only where it is
    not checked on the host) is sent to an extra column that is dropped."""

    _raw = True
    _node_name = "MaxUnpool2DBackward0"

    @staticmethod
    def forward(ctx, x, idx, size):
        xp = ctx.xp
        lead = x.shape[:x.ndim - len(size)]
        m, vol = math.prod(lead), math.prod(size)
        p = math.prod(x.shape[len(lead):])
        idx = idx.reshape(m, p)
        safe = xp.where((idx >= 0) & (idx < vol), idx, vol)
        out = xp.zeros((m, vol + 1), dtype=x.dtype)
        out[xp.arange(m)[:, None], safe] = x.reshape(m, p)
        ctx.save_for_backward(safe)
        ctx.in_shape = x.shape
        return xp.ascontiguousarray(out[:, :vol]).reshape(lead + tuple(size))

    @staticmethod
    def backward(ctx, gout):
        (safe,) = ctx.saved_tensors
        g2 = gout.reshape(safe.shape[0], math.prod(gout.shape) // max(safe.shape[0], 1))
        # the dropped column reads as zero
        return pad(g2, (0, 1)).gather(1, safe).reshape(ctx.in_shape), None, None


class _MaxUnpool3d(_MaxUnpool):
    _node_name = "MaxUnpool3DBackward0"


def _unpool_output_size(input: Tensor, k: tuple, s: tuple, p: tuple, output_size) -> list:
    """torch's ``_unpool_output_size``: the default size, or a checked ``output_size``."""
    n = len(k)
    default = [(input.shape[input.ndim - n + d] - 1) * s[d] + k[d] - 2 * p[d] for d in range(n)]
    if output_size is None:
        ret = default
    else:
        if isinstance(output_size, int):  # (torch fails on a bare int; it means one size)
            output_size = (output_size,)
        if len(output_size) == n + 2:
            output_size = output_size[2:]
        if len(output_size) != n:
            raise ValueError(
                f"output_size should be a sequence containing {n} or {n + 2} elements, but it "
                f"has a length of '{len(output_size)}'")
        for d in range(n):
            lo, hi = default[d] - s[d], default[d] + s[d]
            if not lo < output_size[d] < hi:
                raise ValueError(
                    f'invalid output_size "{output_size}" (dim {d} must be between {lo} and '
                    f"{hi})")
        ret = list(output_size)
    for d in range(n):
        if ret[d] < 0:
            raise ValueError(
                "max_unpooling: output_size must contain non-negative spatial dimensions, but "
                f"got output_size[{d}]={ret[d]}")
    return [int(v) for v in ret]


def _check_unpool(input: Tensor, indices: Tensor, nd: int, size: list, stride) -> None:
    """torch's max_unpooling{nd}d checks, in its order and with its texts."""
    if indices._data.dtype != np.int64:
        extra = f" but got: {dtype_name(indices.dtype)}" if nd == 2 else ""
        raise RuntimeError(f"elements in indices should be type int64{extra}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Input to max_unpooling{nd}d should be a {nd + 1}d or {nd + 2}d Tensor, but got a "
            f"tensor with {input.ndim} dimensions.")
    if tuple(input.shape) != tuple(indices.shape):
        raise RuntimeError(
            "Expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    for i in range(1, input.ndim):
        if input.shape[i] <= 0:
            raise RuntimeError(
                f"max_unpooling{nd}d_forward_out_cpu(): Expected input to have non-zero size "
                f"for non-batch dimensions, but got {list(input.shape)} with dimension {i} "
                "being empty.")
    if nd == 3 and min(stride) <= 0:
        raise RuntimeError(
            f"strides should be greater than zero, but got stride: {list(stride)}")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"max_unpool{nd}d" not implemented for \'{dtype_name(input.dtype)}\'')


def _max_unpool(input: Tensor, indices: Tensor, size: list, nd: int, stride) -> Tensor:
    """Unpool the last ``nd`` dims of ``input`` into ``size`` through ``indices``."""
    _check_unpool(input, indices, nd, size, stride)
    check_same_device(input, indices)
    vol = math.prod(size)
    # torch's CPU kernel checks the indices on the host (its CUDA kernel only asserts on the
    # device; there, out-of-range indices are dropped instead); an empty output is returned
    # unchecked
    if input._device.type == "cpu" and indices.numel() and vol:
        idx = indices._data
        bad = (idx < 0) | (idx >= vol)
        if bad.any():
            raise RuntimeError(
                f"Found an invalid max index: {int(idx[bad][-1])} (output volumes are of size "
                f"{'x'.join(map(str, size))})")
    cls = _MaxUnpool3d if nd == 3 else _MaxUnpool
    return apply_raw(cls, input, indices._data, tuple(size))


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool2d`: put every value at its index (from
    ``max_pool2d(..., return_indices=True)``) in a zero (H_out, W_out) plane.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)`` pooled values (floating point).
        indices: int64 flat ``H_out * W_out`` indices, the shape of ``input``.
        kernel_size, stride (default: kernel_size), padding: the pooling's, int or (h, w).
        output_size: (h, w) or the full shape; default ``(H-1)*stride + kernel - 2*padding``.

    Returns:
        ``(N, C, H_out, W_out)`` (or unbatched), zero except at ``indices``.

    Example:
        >>> out, idx = F.max_pool2d(gpuarr.arange(16.).view(1, 1, 4, 4), 2, return_indices=True)
        >>> F.max_unpool2d(out, idx, 2)[0, 0]
        tensor([[ 0.,  0.,  0.,  0.],
                [ 0.,  5.,  0.,  7.],
                [ 0.,  0.,  0.,  0.],
                [ 0., 13.,  0., 15.]])
    """
    check_tensor(input, "input", "max_unpool2d")
    check_tensor(indices, "indices", "max_unpool2d")
    k = _tuple(kernel_size, 2)
    s = _tuple(stride, 2) if stride is not None else k
    size = _unpool_output_size(input, k, s, _tuple(padding, 2), output_size)
    return _max_unpool(input, indices, size, 2, s)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool1d` over (N, C, L) or (C, L) (arguments as
    :func:`max_unpool2d`, 1-D; it runs as a 2-D unpooling of width 1, like torch's).

    Example:
        >>> out, idx = F.max_pool1d(gpuarr.tensor([[1., 3., 2., 0.]]), 2, return_indices=True)
        >>> F.max_unpool1d(out, idx, 2)
        tensor([[0., 3., 2., 0.]])
    """
    check_tensor(input, "input", "max_unpool1d")
    check_tensor(indices, "indices", "max_unpool1d")
    k = _tuple(kernel_size, 1)
    s = _tuple(stride, 1) if stride is not None else k
    size = _unpool_output_size(input, k, s, _tuple(padding, 1), output_size)
    out = _max_unpool(input.unsqueeze(-1), indices.unsqueeze(-1), size + [1], 2, None)
    return out.squeeze(-1)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool3d` over (N, C, D, H, W) or (C, D, H, W) (arguments
    as :func:`max_unpool2d`, with (d, h, w) triples and flat D*H*W indices).

    Example:
        >>> out, idx = F.max_pool3d(gpuarr.randn(1, 2, 4, 4, 4), 2, return_indices=True)
        >>> F.max_unpool3d(out, idx, 2).shape
        gpuarr.Size([1, 2, 4, 4, 4])
    """
    check_tensor(input, "input", "max_unpool3d")
    check_tensor(indices, "indices", "max_unpool3d")
    k = _tuple(kernel_size, 3)
    s = _tuple(stride, 3) if stride is not None else k
    size = _unpool_output_size(input, k, s, _tuple(padding, 3), output_size)
    return _max_unpool(input, indices, size, 3, s)


# --------------------------------------------------------------------------------------------
# power-average (LP) pooling


def _lp(input: Tensor, norm_type, kernel_numel: int, max_pool, avg_pool, kernel_size, stride,
        ceil_mode: bool) -> Tensor:
    """torch's lp_pool composite over the given pooling functions."""
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        if norm_type > 0:
            return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    powered = input.pow(norm_type)
    if powered._data.dtype.kind in "fV":
        out = avg_pool(powered, kernel_size, stride, 0, ceil_mode)
    else:  # an integer power of integers: torch averages with integer (truncating) division
        out = avg_pool(powered.double(), kernel_size, stride, 0, ceil_mode).trunc()
        out = out.to(powered.dtype)
    # torch writes sign(out) * relu(|out|): the same values, and a gradient that is the
    # upstream one where out != 0 and zero where it is 0 (where pow's gradient is infinite);
    # a select gives both without an inf * 0
    kept = where(out != 0, out, out.new_zeros(()))
    return kept.mul(kernel_numel).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """1-D power-average pooling over (N, C, L) or (C, L): ``(sum over window of x^p)^(1/p)``
    (``p = inf``: the max of ``|x|``).

    Args:
        norm_type: the power ``p``.
        kernel_size, stride (default: kernel_size): int (or a 1-tuple).
        ceil_mode: round the output length up (a last window may run off the end).

    Example:
        >>> F.lp_pool1d(gpuarr.tensor([[3., 4., 1., 0.]]), 2, 2)
        tensor([[5., 1.]])
    """
    check_tensor(input, "input", "lp_pool1d")
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
            "#1 'self' (while checking arguments for avg_pool1d)")
    k = _tuple(kernel_size, 1)[0]  # (torch's own fails on a 1-tuple here)
    return _lp(input, norm_type, k, max_pool1d, avg_pool1d, k,
               k if stride is None else stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """2-D power-average pooling over (N, C, H, W) or (C, H, W) (as :func:`lp_pool1d`,
    with int or (h, w) kernel_size and stride).

    Example:
        >>> F.lp_pool2d(gpuarr.ones(1, 1, 4, 4), 1, 2)
        tensor([[[[4., 4.],
                  [4., 4.]]]])
    """
    check_tensor(input, "input", "lp_pool2d")
    kh, kw = _tuple(kernel_size, 2)
    return _lp(input, norm_type, kh * kw, max_pool2d, avg_pool2d, kernel_size,
               kernel_size if stride is None else stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """3-D power-average pooling over (N, C, D, H, W) or (C, D, H, W) (as
    :func:`lp_pool1d`, with int or (d, h, w) kernel_size and stride).

    Example:
        >>> F.lp_pool3d(gpuarr.ones(1, 1, 2, 2, 2), 2, 2)
        tensor([[[[[2.8284]]]]])
    """
    check_tensor(input, "input", "lp_pool3d")
    kd, kh, kw = _tuple(kernel_size, 3)
    return _lp(input, norm_type, kd * kh * kw, max_pool3d, avg_pool3d, kernel_size,
               kernel_size if stride is None else stride, ceil_mode)


# --------------------------------------------------------------------------------------------
# max_pool1d_with_indices, deprecated upsampling aliases


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """:func:`max_pool1d` that always returns ``(output, indices)`` (indices into L).

    Example:
        >>> F.max_pool1d_with_indices(gpuarr.tensor([[1., 3., 2., 0.]]), 2)
        (tensor([[3., 2.]]), tensor([[1, 2]]))
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')`` (warns, as
    torch's).

    Example:
        >>> F.upsample_nearest(gpuarr.ones(1, 1, 2, 2), scale_factor=2).shape
        gpuarr.Size([1, 1, 4, 4])
    """
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='bilinear',
    align_corners=True)`` (warns, as torch's).

    Example:
        >>> F.upsample_bilinear(gpuarr.ones(1, 1, 2, 2), size=(3, 5)).shape
        gpuarr.Size([1, 1, 3, 5])
    """
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# --------------------------------------------------------------------------------------------
# fractional max pooling

_DIM_WORDS = {2: ("height", "width"), 3: ("time", "height", "width")}


def _frac_sizes(input: Tensor, nd: int, output_size, output_ratio) -> list:
    name = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if isinstance(output_ratio, (tuple, list)) and len(output_ratio) > nd:
            raise ValueError(
                f"{name} requires output_ratio to either be a single Int or tuple of Ints.")
        # (torch's 2-d function fails on a scalar ratio; its module passes a pair)
        ratio = _tuple(output_ratio, nd)
        if len(ratio) == 1:
            ratio = ratio * nd
        return [int(input.shape[input.ndim - nd + i] * ratio[i]) for i in range(nd)]
    size = list(_tuple(output_size, nd))
    if len(size) == 1:
        size = size * nd
    if len(size) != nd:
        what = "Ints" if nd == 2 else "three Ints"
        raise RuntimeError(f"{name}: output_size must either be a single Int or tuple of {what}")
    return [int(v) for v in size]


def _frac_check(input: Tensor, nd: int, k: tuple, size: list, samples) -> None:
    """torch's fractional_max_pool{nd}d checks, in its order and with its texts."""
    name = f"fractional_max_pool{nd}d" + ("()" if nd == 2 else "_out()")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{name}: Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    for i in range(1, input.ndim):
        if input.shape[i] <= 0:
            raise RuntimeError(
                f"{name}: Expected input to have non-zero size for non-batch dimensions, but "
                f"got{list(input.shape)} with dimension {i} being empty.")
    if min(k) <= 0:  # (torch accepts it and returns -inf; an empty window has no maximum)
        raise RuntimeError(f"{name}: kernel_size must be greater than zero, but got {list(k)}")
    spatial = input.shape[-nd:]
    # (torch's 3-d kernel checks time, width, then height)
    order = (0, 1) if nd == 2 else (0, 2, 1)
    for word, o, kk, m in ([(_DIM_WORDS[nd][d], size[d], k[d], spatial[d]) for d in order]):
        # (torch's 3-d check is strict: there the windows may not reach the input's end)
        if o + kk - 1 > m or (nd == 3 and o + kk - 1 == m):
            raise RuntimeError(f"{name}: pool {word} {kk} too large relative to input {word} {m}")
    lead = tuple(input.shape[:-nd])
    for v in size:
        if v < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {v}: "
                               f"{list(lead + tuple(size))}")
    check_same_device(input, samples)
    if samples._data.dtype != input._data.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.ndim}")
    n = input.shape[0] if input.ndim == nd + 2 else 1
    if samples.shape[0] < n:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != input.shape[-nd - 1]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[2] != nd:
        raise RuntimeError(
            f"Expect _random_samples.size(2) equals to {nd}; got {samples.shape[2]}.")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"fractional_max_pool{nd}d_out_frame" not implemented for '
            f"'{dtype_name(input.dtype)}'")


def _starts(xp, sample, n_in: int, n_out: int, k: int):
    """torch's ``generate_intervals`` for every plane: (M,) samples -> (M, n_out) window
    starts, computed in the samples' dtype as torch computes them in the input's."""
    m = sample.shape[0]
    seq = xp.zeros((m, n_out), dtype=np.int64)
    if n_out > 1:
        t = sample.dtype.type
        alpha = t(n_in - k) / t(n_out - 1)
        pos = (xp.arange(n_out, dtype=sample.dtype)[None, :] + sample[:, None]) * alpha
        seq = pos.astype(np.int64) - (sample * alpha).astype(np.int64)[:, None]
        # (samples outside [0, 1) would start windows outside the input: keep them inside)
        seq = xp.clip(seq, 0, n_in - k)
    if n_out > 0:
        seq[:, -1] = n_in - k
    return seq


def _window_index(xp, starts: list, k: tuple, spatial: tuple):
    """(M, P, K) flat input index of every window position of every output."""
    nd = len(k)
    m = starts[0].shape[0]
    idx = xp.zeros((m,) + (1,) * (2 * nd), dtype=np.int64)
    for d in range(nd):
        shape_o = [m] + [1] * (2 * nd)
        shape_o[1 + d] = starts[d].shape[1]
        shape_k = [1] * (1 + 2 * nd)
        shape_k[1 + nd + d] = k[d]
        pos = starts[d].reshape(shape_o) + xp.arange(k[d], dtype=np.int64).reshape(shape_k)
        idx = idx * spatial[d] + pos
    p = math.prod(s.shape[1] for s in starts)
    return idx.reshape(m, p, math.prod(k))


def _first_max_or_last_nan(xp, cand):
    """Index along the last axis that torch's scan keeps: ``val > max || isnan(val)``."""
    kk = cand.shape[-1]
    nan = cand != cand
    first_max = xp.argmax(xp.where(nan, -xp.inf, cand), axis=-1)
    last_nan = kk - 1 - xp.argmax(nan[..., ::-1], axis=-1)
    return xp.where(nan.any(axis=-1), last_nan, first_max)


def _fractional(input: Tensor, nd: int, kernel_size, output_size, output_ratio, samples):
    k = _tuple(kernel_size, nd)
    if len(k) == 1:
        k = k * nd
    if len(k) != nd:
        what = "Ints" if nd == 2 else "three Ints"
        raise RuntimeError(
            f"fractional_max_pool{nd}d: kernel_size must either be a single Int or tuple of "
            f"{what}")
    size = _frac_sizes(input, nd, output_size, output_ratio)
    batched = input.ndim == nd + 2
    if samples is None:
        if input.ndim not in (nd + 1, nd + 2):
            _frac_check(input, nd, k, size, input)  # raises torch's rank error
        n = input.shape[0] if batched else 1
        dt = D.float64 if input._data.dtype == np.float64 else D.float32
        u = _draw_float("u", (n, input.shape[-nd - 1], nd), dt, default_generator(input._device))
        samples = _make(u.astype(input._data.dtype, copy=False), input._device)
    _frac_check(input, nd, k, size, samples)
    xp, dev = input._device._xp(), input._device
    spatial = tuple(input.shape[-nd:])
    lead = tuple(input.shape[:-nd])
    m, p = math.prod(lead), math.prod(size)
    plane = math.prod(spatial)
    x2 = input.reshape(m, plane)
    if m == 0 or p == 0:
        out = _make(xp.zeros((m, p), dtype=input._data.dtype), dev)
        idx = _make(xp.zeros((m, p), dtype=np.int64), dev)
    else:
        s = samples._data[:lead[0] if batched else 1].reshape(m, nd)
        # torch's 2-d kernel reads the width's sample first; the 3-d one goes (t, h, w)
        order = (1, 0) if nd == 2 else (0, 1, 2)
        starts = [_starts(xp, s[:, order[d]], spatial[d], size[d], k[d]) for d in range(nd)]
        table = _window_index(xp, starts, k, spatial)  # (M, P, K)
        cand = xp.take_along_axis(x2._data, table.reshape(m, -1), axis=1).reshape(table.shape)
        win = _first_max_or_last_nan(xp, cand)
        flat = xp.take_along_axis(table, win[..., None], axis=-1)[..., 0]
        idx = _make(xp.ascontiguousarray(flat), dev)
        # gathering through the indices gives torch's gradients (and their gradients)
        out = x2.gather(1, idx)
    shape = lead + tuple(size)
    return out.reshape(shape), idx.reshape(shape)


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None):
    """:func:`fractional_max_pool2d` that always returns ``(output, indices)``."""
    check_tensor(input, "input", "fractional_max_pool2d")
    return _fractional(input, 2, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples: Tensor | None = None):
    """2-D fractional max pooling (Graham, 2014) of (N, C, H, W) or (C, H, W): max over
    kH x kW windows whose starts step pseudo-randomly so that the output has the target size.

    Args:
        kernel_size: int or (kh, kw).
        output_size: int or (oh, ow); or give ``output_ratio`` instead, a number or pair in
            (0, 1) (the output size is ``int(input size * ratio)``).
        return_indices: also return the flat (H*W) index of every maximum (int64), for
            :func:`max_unpool2d`.
        _random_samples: ``(N, C, 2)`` values in [0, 1) (width sample first, then height), of
            the input's dtype; drawn from gpuarr's default generator when not given.

    Returns:
        The pooled tensor, or ``(output, indices)``.

    Example:
        >>> F.fractional_max_pool2d(gpuarr.randn(1, 3, 9, 9), 2, output_size=4).shape
        gpuarr.Size([1, 3, 4, 4])
    """
    out, idx = fractional_max_pool2d_with_indices(input, kernel_size, output_size,
                                                  output_ratio, return_indices, _random_samples)
    return (out, idx) if return_indices else out


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None):
    """:func:`fractional_max_pool3d` that always returns ``(output, indices)``."""
    check_tensor(input, "input", "fractional_max_pool3d")
    return _fractional(input, 3, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples: Tensor | None = None):
    """3-D fractional max pooling of (N, C, T, H, W) or (C, T, H, W) (as
    :func:`fractional_max_pool2d`, with triples; ``_random_samples`` is ``(N, C, 3)`` in
    (t, h, w) order; indices are flat T*H*W).

    Example:
        >>> F.fractional_max_pool3d(gpuarr.randn(1, 2, 8, 9, 9), 2, output_ratio=0.5).shape
        gpuarr.Size([1, 2, 4, 4, 4])
    """
    out, idx = fractional_max_pool3d_with_indices(input, kernel_size, output_size,
                                                  output_ratio, return_indices, _random_samples)
    return (out, idx) if return_indices else out
