"""Image kernels behind :mod:`gpuarr.vision`, written once against the array module.

Two differentiable raw Functions do all the geometry on tensors:

* :class:`Remap` picks rows and columns by index maps: ``out[..., i, j] = x[..., rows[i],
  cols[j]]``, or ``fill`` where a map holds -1. Crops (also out of bounds), padding in every
  mode, flips and nearest-neighbour resizing are all such maps. It works for every dtype.
* :class:`Resample` applies a sparse linear map (:class:`Taps`: a few weighted input pixels
  per output pixel) along each of the last two axes. Bilinear and bicubic resizing (with or
  without antialiasing) are such maps, and so is the gradient of :class:`Remap`.

The gradient of ``Resample`` is ``Resample`` with the transposed maps, so gradients of any
order come for free. The interpolation weights follow PyTorch's
``torch.nn.functional.interpolate`` with ``align_corners=False``.
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd.function import Function

__all__ = [
    "Remap", "Resample", "Taps", "to_device", "pad_map", "crop_map", "nearest_map",
    "resize_taps", "selection_taps",
]


def to_device(arr: np.ndarray, device):
    """A host array as an array on ``device`` (the same object on the CPU)."""
    if device.type == "cpu":
        return arr
    return device._backend().asarray(arr, index=device.index)


# --------------------------------------------------------------------------------------------
# index maps (host int64 arrays; -1 marks a position filled with the constant)


def crop_map(n: int, start: int, length: int) -> np.ndarray:
    """Indices ``start .. start+length-1`` of an axis of size ``n``; -1 where out of range."""
    idx = np.arange(start, start + length, dtype=np.int64)
    idx[(idx < 0) | (idx >= n)] = -1
    return idx


def pad_map(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source indices of an axis of size ``n`` padded by ``before``/``after`` (negative crops).

    Args:
        mode: 'constant' (-1 in the padding), 'edge' (repeat the border), 'reflect' (mirror
            without repeating the border), 'symmetric' (mirror repeating the border).
    """
    p = np.arange(-before, n + after, dtype=np.int64)
    if mode == "constant":
        p[(p < 0) | (p >= n)] = -1
        return p
    if mode == "edge":
        return np.clip(p, 0, n - 1)
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(p)
        period = 2 * n - 2
        m = np.mod(p, period)
        return np.where(m < n, m, period - m)
    # symmetric
    m = np.mod(p, 2 * n)
    return np.where(m < n, m, 2 * n - 1 - m)


def nearest_map(n_in: int, n_out: int, exact: bool) -> np.ndarray:
    """Source index of each output position for nearest-neighbour resizing, computed in float32
    like PyTorch's kernels so that the picks agree index for index."""
    i = np.arange(n_out, dtype=np.int64)
    if not exact:
        if n_out == n_in:
            return i
        if n_out == 2 * n_in:
            return i >> 1
        scale = np.float32(n_in) / np.float32(n_out)
        src = np.floor(i.astype(np.float32) * scale)
    else:
        scale = np.float32(np.float32(n_in) / np.float32(n_out))
        # PyTorch forms (i + 0.5) * scale in double, then floors it as a float
        src = np.floor(((i + 0.5) * np.float64(scale)).astype(np.float32))
    return np.minimum(src.astype(np.int64), n_in - 1)


def _cubic_weights(t: np.ndarray, a: float) -> list[np.ndarray]:
    """Keys' cubic convolution weights of the four taps at offsets -1, 0, 1, 2."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _aa_filter(x: np.ndarray, mode: str) -> np.ndarray:
    x = np.abs(x)
    if mode == "bilinear":
        return np.where(x < 1, 1 - x, 0.0)
    a = -0.5  # the antialiased bicubic filter uses PIL's a = -0.5
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


class Taps:
    """A linear map along one axis, stored tap by tap: ``out[i] = sum_k w_k[i] * x[idx_k[i]]``.

    Resampling filters touch only a few input pixels per output pixel, so this is far cheaper
    than a dense matrix product. Tap ``k`` covers the output rows that have at least ``k + 1``
    inputs; rows with fewer are not padded with dummy inputs (a NaN or inf pixel must not leak
    into rows that never read it).

    Build it from triplets (``out_index, in_index, weight``; repeats add up). ``T`` is the
    transposed map (the scatter that a gradient needs), also as Taps.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_out: int,
                 n_in: int) -> None:
        self.coo = (rows, cols, vals)
        self.n_out, self.n_in = n_out, n_in
        order = np.argsort(rows, kind="stable")
        rows, cols, vals = rows[order], cols[order], vals[order]
        counts = np.bincount(rows, minlength=n_out)
        pos = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
        # per tap position: (the rows it covers: None for all, a slice or indices, the input
        # index and the weight of each of those rows)
        self.taps: list[tuple] = []
        for k in range(int(counts.max()) if counts.size else 0):
            sel = pos == k
            r = rows[sel]
            if r.size == n_out:
                spec = None
            elif r.size and r[-1] - r[0] == r.size - 1:  # sorted and unique: a run of rows
                spec = slice(int(r[0]), int(r[-1]) + 1)
            else:
                spec = r
            self.taps.append((spec, cols[sel], vals[sel]))
        self._t: Taps | None = None
        self._dev: dict = {}

    @property
    def T(self) -> Taps:
        if self._t is None:
            rows, cols, vals = self.coo
            self._t = Taps(cols, rows, vals, self.n_in, self.n_out)
        return self._t

    def arrays(self, device, dtype) -> list[tuple]:
        """The taps as arrays on ``device``, weights in ``dtype`` (kept for reuse)."""
        key = (device, np.dtype(dtype))
        hit = self._dev.get(key)
        if hit is None:
            hit = [(r if r is None or isinstance(r, slice) else to_device(r, device),
                    to_device(i, device), to_device(w.astype(dtype), device))
                   for r, i, w in self.taps]
            self._dev[key] = hit
        return hit

    def dense(self) -> np.ndarray:
        """The (n_out, n_in) matrix (for inspection and tests)."""
        a = np.zeros((self.n_out, self.n_in))
        np.add.at(a, self.coo[:2], self.coo[2])
        return a


@functools.lru_cache(maxsize=64)
def resize_taps(n_in: int, n_out: int, mode: str, antialias: bool) -> Taps:
    """The map that resamples an axis of ``n_in`` pixels to ``n_out`` (cached).

    Args:
        mode: 'bilinear' or 'bicubic'.
        antialias: use PIL-style filters whose support widens when downsampling (as
            ``interpolate(..., antialias=True)``); else plain interpolation.
    """
    rows, cols, vals = _resize_triplets(n_in, n_out, mode, antialias)
    return Taps(rows, cols, vals, n_out, n_in)


def _resize_triplets(n_in: int, n_out: int, mode: str, antialias: bool):
    scale = n_in / n_out
    out = np.arange(n_out)
    if antialias:
        interp = 2 if mode == "bilinear" else 4
        support = interp * 0.5 * scale if scale >= 1 else interp * 0.5
        inv = 1.0 / scale if scale >= 1 else 1.0
        center = scale * (out + 0.5)
        # int() truncates toward zero, as the C++ cast does
        lo = np.maximum(np.trunc(center - support + 0.5).astype(np.int64), 0)
        hi = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), n_in)
        # every row's window [lo, hi) at once: pad windows to the widest, mask the rest
        js = lo[:, None] + np.arange(max(int((hi - lo).max()), 1))[None, :]
        inside = js < hi[:, None]
        w = np.where(inside, _aa_filter((js - center[:, None] + 0.5) * inv, mode), 0.0)
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=w.copy(), where=total != 0)
        rows = np.broadcast_to(out[:, None], js.shape)
        return rows[inside], js[inside], w[inside]
    src = scale * (out + 0.5) - 0.5
    if mode == "bilinear":
        src = np.maximum(src, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        lam = np.clip(src - i0, 0.0, 1.0)
        i1 = i0 + (i0 < n_in - 1)
        return np.concatenate([out, out]), np.concatenate([i0, i1]), np.concatenate([1 - lam, lam])
    i0 = np.floor(src).astype(np.int64)
    ws = _cubic_weights(src - i0, -0.75)
    cols = [np.clip(i0 - 1 + k, 0, n_in - 1) for k in range(4)]  # borders repeat the edge
    return np.tile(out, 4), np.concatenate(cols), np.concatenate(ws)


def selection_taps(m: np.ndarray, n_in: int) -> Taps:
    """The map that picks ``x[m[i]]`` (no tap where ``m[i] == -1``)."""
    keep = m >= 0
    rows = np.flatnonzero(keep)
    return Taps(rows, m[keep], np.ones(rows.size), m.size, n_in)


# --------------------------------------------------------------------------------------------
# the two Functions


def _as_slice(m: np.ndarray) -> slice | None:
    """The slice equivalent of an index map, when it is a run with step +1 or -1."""
    if m.size == 0:
        return slice(0, 0)
    if m.min() < 0:
        return None
    if m.size == 1:
        return slice(int(m[0]), int(m[0]) + 1)
    d = np.diff(m)
    if np.all(d == 1):
        return slice(int(m[0]), int(m[-1]) + 1)
    if np.all(d == -1):
        stop = int(m[-1]) - 1
        return slice(int(m[0]), None if stop < 0 else stop, -1)
    return None


def _remap_array(xp, device, x, rows, cols, fill):
    out = x
    fresh = False
    for axis, m in ((-2, rows), (-1, cols)):
        if m is None:
            continue
        s = _as_slice(m)
        if s is not None:
            out = out[..., s, :] if axis == -2 else out[..., s]
            continue
        n = out.shape[axis]
        if n == 0:  # nothing to pick from: every position is fill (m is all -1)
            shape = list(out.shape)
            shape[axis] = m.size
            out = xp.zeros(tuple(shape), dtype=out.dtype)
        else:
            out = xp.take(out, to_device(np.maximum(m, 0), device), axis=axis)
        fresh = True
        neg = np.flatnonzero(m < 0)
        if neg.size:
            where = to_device(neg, device)
            val = np.asarray(fill).astype(out.dtype)[()]  # a NumPy scalar suits both backends
            if axis == -2:
                out[..., where, :] = val
            else:
                out[..., where] = val
    # the result never shares memory with the input (in-place edits must not leak back)
    return out if fresh else out.copy()


class Remap(Function):
    """``out[..., i, j] = x[..., rows[i], cols[j]]``, ``fill`` where rows[i] or cols[j] is -1.

    ``rows``/``cols`` are host int64 arrays, or None to keep that axis as it is.
    """

    _raw = True

    @staticmethod
    def forward(ctx, x, rows, cols, fill):
        ctx.maps = (rows, cols, x.shape[-2], x.shape[-1])
        return _remap_array(ctx.xp, ctx.device, x, rows, cols, fill)

    @staticmethod
    def backward(ctx, g):
        rows, cols, h, w = ctx.maps
        # the gradient scatters back by the transposed selection; duplicates (edge/reflect
        # padding, nearest upsampling) add up and filled positions send nothing
        th = None if rows is None else selection_taps(rows, h).T
        tw = None if cols is None else selection_taps(cols, w).T
        return Resample.apply(g, th, tw), None, None, None


def _apply_taps(xp, device, x, taps: Taps, axis: int):
    shape = list(x.shape)
    shape[axis] = taps.n_out
    if x.shape[axis] == 0 or taps.n_out == 0:
        return xp.zeros(tuple(shape), dtype=x.dtype)
    out = None
    for rows, idx, w in taps.arrays(device, x.dtype):
        part = xp.take(x, idx, axis=axis)
        part *= w[:, None] if axis == -2 else w
        if rows is None and out is None:
            out = part
            continue
        if out is None:
            out = xp.zeros(tuple(shape), dtype=x.dtype)
        if rows is None:
            out += part
        elif axis == -2:  # each row appears once per tap: indexed += is exact
            out[..., rows, :] += part
        else:
            out[..., rows] += part
    return xp.zeros(tuple(shape), dtype=x.dtype) if out is None else out


def _resample_array(xp, device, x, th: Taps | None, tw: Taps | None):
    if th is None and tw is None:
        return x.copy()
    h, w = x.shape[-2], x.shape[-1]
    oh = h if th is None else th.n_out
    ow = w if tw is None else tw.n_out
    kh = 0 if th is None else len(th.taps)
    kw = 0 if tw is None else len(tw.taps)
    # run first the pass that leaves less data for the second one
    width_first = kw * h * ow + kh * oh * ow <= kh * oh * w + kw * oh * ow
    out = x
    for axis, taps in (((-1, tw), (-2, th)) if width_first else ((-2, th), (-1, tw))):
        if taps is not None:
            out = _apply_taps(xp, device, out, taps, axis)
    return out


class Resample(Function):
    """Apply :class:`Taps` maps along the last two axes (None leaves an axis as it is).

    The gradient is the transposed maps, applied by this same Function.
    """

    _raw = True

    @staticmethod
    def forward(ctx, x, th, tw):
        ctx.taps = (th, tw)
        return _resample_array(ctx.xp, ctx.device, x, th, tw)

    @staticmethod
    def backward(ctx, g):
        th, tw = ctx.taps
        return (
            Resample.apply(g, None if th is None else th.T, None if tw is None else tw.T),
            None,
            None,
        )
