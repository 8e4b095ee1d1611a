"""``affine_grid`` and ``grid_sample``: the spatial-transformer pair.

Both are built from differentiable tensor ops (arithmetic, ``where``, a raw gather), so their
gradients wrt ``theta``, ``input`` and ``grid`` come from autograd, on either device.
Integer corner indices are computed on the raw arrays and never read back to the host.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from ... import _creation as C
from ..._tensor import Tensor, _make
from ...ops._common import dtype_name
from ...ops.elementwise import where as _where
from ...ops.indexing import _gather
from ...ops.stacking import stack as _stack
from ._utils import check_tensor

__all__ = ["affine_grid", "grid_sample"]

_DEFAULT_WARNING = (
    "Default grid_sample and affine_grid behavior has changed "
    "to align_corners=False since 1.3.0. Please specify "
    "align_corners=True if the old behavior is desired. "
    "See the documentation of grid_sample for details."
)


# --------------------------------------------------------------------------------------------
# affine_grid


def _base_axis(n: int, align_corners: bool, like: Tensor) -> Tensor:
    """``n`` evenly spaced points in [-1, 1] (pixel centres unless ``align_corners``)."""
    if n <= 1:
        return C.zeros(n, dtype=like.dtype, device=like.device)
    r = C.linspace(-1.0, 1.0, n, dtype=like.dtype, device=like.device)
    # torch scales by (n - 1) and then divides by n, in the tensor's dtype
    return r if align_corners else r * (n - 1) / n


def affine_grid(theta: Tensor, size: Sequence[int],
                align_corners: bool | None = None) -> Tensor:
    """Sampling grid of a batch of affine maps, for :func:`grid_sample`.

    Output point ``p`` (normalised to [-1, 1], x first) goes to ``theta @ [p, 1]``.

    Args:
        theta: ``(N, 2, 3)`` for a 4-D ``size`` or ``(N, 3, 4)`` for a 5-D one; floating point.
        size: the output image size ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners: whether -1 and 1 are the centres of the corner pixels (True) or the
            image's edges (False, the default; leaving it ``None`` warns as torch does).

    Returns:
        ``(N, H, W, 2)`` or ``(N, D, H, W, 3)``, in ``theta``'s dtype; differentiable in theta.

    Example:
        >>> theta = gpuarr.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        >>> F.affine_grid(theta, (1, 1, 2, 2), align_corners=False)[0, 0]
        tensor([[-0.5000, -0.5000],
                [ 0.5000, -0.5000]])
    """
    check_tensor(theta, "theta", "affine_grid")
    if align_corners is None:
        warnings.warn(_DEFAULT_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(
            f"Expected theta to have floating point type, but got {theta.dtype}"
        )
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(
                f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. "
                f"Got {theta.shape}."
            )
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(
                f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. "
                f"Got {theta.shape}."
            )
    else:
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, "
            "for 2D and 3D affine transforms, respectively. "
            f"Got size {size}."
        )
    spatial = [int(s) for s in size[2:]]
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed "
            "for unit-size grids when align_corners=True. "
            "This is not an intended use case of affine_grid. "
            "See the documentation of affine_grid for details.",
            stacklevel=2,
        )
    elif min(int(s) for s in size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n = int(size[0])
    k = len(spatial)
    # base[..., j] is the coordinate along spatial dim k-1-j (x first), then a column of ones
    cols = []
    for j in range(k):
        d = k - 1 - j
        shape = [1] * k
        shape[d] = spatial[d]
        cols.append(_base_axis(spatial[d], align_corners, theta).reshape(shape).expand(spatial))
    cols.append(C.ones(spatial, dtype=theta.dtype, device=theta.device))
    npts = math.prod(spatial)
    base = _stack(cols, -1).reshape(1, npts, k + 1).expand(n, npts, k + 1)
    return base.bmm(theta.transpose(1, 2)).reshape(n, *spatial, k)


# --------------------------------------------------------------------------------------------
# grid_sample


def _unnormalize(c: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (c + 1) / 2 * (size - 1)
    return ((c + 1) * size - 1) / 2


def _clip(c: Tensor, size: int) -> Tensor:
    """``c`` clamped into [0, size - 1]; the bounds themselves get no gradient (as torch)."""
    hi = size - 1
    inside = (c > 0) & (c < hi)
    return _where(inside, c, c.detach().clamp(0, hi))


def _reflect(c: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """``c`` mirrored back and forth into [twice_low / 2, twice_high / 2]."""
    if twice_low == twice_high:
        # a zero that stays on the graph, so the grid still gets a (zero) gradient
        keep = _make(c._device._xp().zeros(c.shape, dtype=bool), c._device)
        return _where(keep, c, 0.0)
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    a = _where(c < lo, lo - c, c - lo)
    extra = a.fmod(span)
    xp = c._device._xp()
    flips = xp.floor(a._data / a._data.dtype.type(span))
    even = _make(flips % 2 == 0, c._device)
    return _where(even, extra + lo, span - extra + lo)


def _source_coord(c: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    return _pad_coord(_unnormalize(c, size, align_corners), size, padding_mode, align_corners)


def _pad_coord(c: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    if padding_mode == "border":
        c = _clip(c, size)
    elif padding_mode == "reflection":
        if align_corners:
            c = _reflect(c, 0, 2 * (size - 1))
        else:
            c = _reflect(c, -1, 2 * size - 1)
        c = _clip(c, size)
    return c


def _fetch(flat: Tensor, idx: list, sizes: Sequence[int]) -> Tensor:
    """``flat[n, :, idx]`` (``idx``: raw integer-valued float arrays, one per spatial dim),
    zero where any index falls outside the input."""
    xp = flat._device._xp()
    n, ch = flat.shape[0], flat.shape[1]
    valid = None
    lin = None
    for i, s in zip(idx, sizes):
        ok = (i >= 0) & (i < s)
        valid = ok if valid is None else valid & ok
        # clip in float first so that huge or infinite coordinates convert safely
        ii = xp.clip(xp.clip(i, -1, s).astype(np.int64), 0, s - 1)
        lin = ii if lin is None else lin * s + ii
    npts = lin.shape[-1]
    index = xp.broadcast_to(lin.reshape(n, 1, npts), (n, ch, npts))
    vals = _gather(flat, 2, index)
    return _where(_make(valid.reshape(n, 1, npts), flat._device), vals, 0.0)


def _check_grid_sample(input: Tensor, grid: Tensor) -> None:
    ishape, gshape = list(input.shape), list(grid.shape)
    sizes = f"input with sizes {ishape} and grid with sizes {gshape}"
    if input.dim() >= 1 and grid.dim() >= 1 and ishape[0] != gshape[0]:
        raise RuntimeError(
            f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}"
        )
    if grid.dim() < 1 or gshape[-1] != input.dim() - 2:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {input.dim() - 2} in last dimension, "
            f"but got grid with sizes {gshape}"
        )
    for d in range(2, input.dim()):
        if ishape[d] <= 0:
            raise RuntimeError(
                "grid_sampler(): expected input to have non-empty spatial dimensions, but "
                f"input has sizes {ishape} with dimension {d} being empty"
            )
    want = 4 if input.dim() == 4 else 5
    if input.dim() != want or grid.dim() != want:
        raise RuntimeError(
            f"grid_sampler(): expected {want}D input and grid with same number of dimensions, "
            f"but got {sizes}"
        )


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the locations in ``grid`` (the spatial transformer's sampler).

    ``grid[n, h, w]`` holds a point ``(x, y)`` normalised to [-1, 1] over ``input``'s width and
    height; the output takes ``input``'s value there, interpolated by ``mode``. 5-D input
    ``(N, C, D, H, W)`` takes a grid ``(N, D_out, H_out, W_out, 3)`` of points ``(x, y, z)``.

    Args:
        input: ``(N, C, H_in, W_in)`` or ``(N, C, D_in, H_in, W_in)``.
        grid: ``(N, H_out, W_out, 2)`` or ``(N, D_out, H_out, W_out, 3)``, ``input``'s dtype.
        mode: ``'bilinear'`` (trilinear for 5-D; differentiable in input and grid),
            ``'nearest'`` (rounds half to even; differentiable in input, zero gradient to grid)
            or ``'bicubic'`` (4-D only; differentiable in input and grid).
        padding_mode: what points outside the input read: ``'zeros'``, ``'border'`` (the
            nearest edge pixel) or ``'reflection'`` (the input mirrored at its edges).
        align_corners: whether -1 and 1 are the centres of the corner pixels (True) or the
            image's edges (False, the default; leaving it ``None`` warns as torch does).

    Returns:
        ``(N, C, H_out, W_out)`` or ``(N, C, D_out, H_out, W_out)``.

    Example:
        >>> x = gpuarr.arange(4.0).reshape(1, 1, 2, 2)
        >>> grid = gpuarr.tensor([[[[0.0, 0.0], [-1.0, -1.0]]]])
        >>> F.grid_sample(x, grid, align_corners=True)
        tensor([[[[1.5000, 0.0000]]]])
    """
    check_tensor(input, "input", "grid_sample")
    check_tensor(grid, "grid", "grid_sample")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode "
            "to be 'zeros', 'border', or 'reflection', "
            f"but got: '{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(_DEFAULT_WARNING, stacklevel=2)
        align_corners = False
    _check_grid_sample(input, grid)
    if mode == "bicubic" and input.dim() != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError(
            f"expected scalar type {dtype_name(input.dtype)} but found {dtype_name(grid.dtype)}"
        )
    if not input.is_floating_point():
        kernel = "grid_sampler_2d_cpu_kernel_impl" if input.dim() == 4 else "grid_sampler3d_cpu"
        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{dtype_name(input.dtype)}\''
        )
    return _sample(input, grid, mode, padding_mode, bool(align_corners))


def _sample(input: Tensor, grid: Tensor, mode: str, padding_mode: str,
            align_corners: bool) -> Tensor:
    n, ch = input.shape[0], input.shape[1]
    sizes = [int(s) for s in input.shape[2:]]
    k = len(sizes)
    out_sp = list(grid.shape[1:-1])
    npts = math.prod(out_sp)
    g = grid.reshape(n, npts, k)
    flat = input.reshape(n, ch, math.prod(sizes))
    # coords[d] runs along input spatial dim d; grid's last axis lists them x (last dim) first
    coords = [_source_coord(g[..., k - 1 - d], sizes[d], padding_mode, align_corners)
              for d in range(k)]
    xp = input._device._xp()
    if mode == "nearest":
        out = _fetch(flat, [xp.rint(c._data) for c in coords], sizes)
        if grid.requires_grad:
            # torch hands the grid an all-zero gradient; keep the grid on the graph for it
            keep = _make(xp.zeros(g.shape, dtype=bool), g._device)
            out = out + _where(keep, g, 0.0).sum(-1).unsqueeze(1)
    elif mode == "bicubic":
        out = _bicubic(flat, g, sizes, padding_mode, align_corners)
    else:
        lows = [xp.floor(c._data) for c in coords]
        out = None
        for corner in range(2 ** k):
            # bit j of corner picks the upper neighbour along grid component j (x first)
            bits = [(corner >> (k - 1 - d)) & 1 for d in range(k)]
            idx, w = [], None
            for d in range(k):
                lo = lows[d]
                if bits[d]:
                    idx.append(lo + 1)
                    wd = coords[d] - _make(lo, input._device)
                else:
                    idx.append(lo)
                    wd = _make(lo + 1, input._device) - coords[d]
                w = wd if w is None else w * wd
            term = _fetch(flat, idx, sizes) * w.unsqueeze(1)
            out = term if out is None else out + term
    return out.reshape(n, ch, *out_sp)


_CUBIC_A = -0.75


def _cubic_weights(t: Tensor) -> list:
    """Keys' cubic convolution weights (a = -0.75) of the 4 taps at offsets -1, 0, 1, 2."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    u = 1 - t
    return [far(t + 1), near(t), near(u), far(u + 1)]


def _bicubic(flat: Tensor, g: Tensor, sizes: list, padding_mode: str,
             align_corners: bool) -> Tensor:
    """4x4-tap bicubic sample; padding applies to each tap's integer position (as torch)."""
    xp = flat._device._xp()
    h, w = sizes
    cx = _unnormalize(g[..., 0], w, align_corners)
    cy = _unnormalize(g[..., 1], h, align_corners)
    fx, fy = xp.floor(cx._data), xp.floor(cy._data)
    wx = _cubic_weights(cx - _make(fx, flat._device))
    wy = _cubic_weights(cy - _make(fy, flat._device))

    def tap(base, off: int, size: int):
        pos = _make(base + (off - 1), flat._device)
        return _pad_coord(pos, size, padding_mode, align_corners)._data

    xs = [tap(fx, j, w) for j in range(4)]
    out = None
    for i in range(4):
        yi = tap(fy, i, h)
        row = None
        for j in range(4):
            term = _fetch(flat, [yi, xs[j]], sizes) * wx[j].unsqueeze(1)
            row = term if row is None else row + term
        term = row * wy[i].unsqueeze(1)
        out = term if out is None else out + term
    return out
