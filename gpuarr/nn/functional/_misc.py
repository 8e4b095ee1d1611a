"""Dropout, embedding, one_hot, pad and normalize."""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._core.capture import raise_if
from ..._random import default_generator
from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...backends import of_module, sync_debug
from ...ops import elementwise as E
from ...ops._common import dtype_name, wrap_dim
from ...ops._registry import apply_inplace
from ...ops.random import _draw_float
from ._utils import apply_raw, check_tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "alpha_dropout", "embedding", "one_hot", "pad",
           "normalize"]


# --------------------------------------------------------------------------------------------
# dropout


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape, p: float) -> Tensor:
    """``1/(1-p)`` where an element is kept (probability ``1 - p``), else 0; input's dtype."""
    dt = D.float64 if input._data.dtype == np.float64 else D.float32
    u = _draw_float("u", tuple(shape), dt, default_generator(input._device))
    xp = input._device._xp()
    t = input._data.dtype.type
    if p >= 1.0:
        m = xp.zeros(u.shape, dtype=input._data.dtype)
    else:
        m = (u >= p).astype(input._data.dtype)
        m *= t(1.0 / (1.0 - p))
    return _make(m, input._device)


def _apply_mask(input: Tensor, mask: Tensor, inplace: bool) -> Tensor:
    if inplace:
        return apply_inplace(input, lambda x: x * mask)
    return input * mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    Draws from the default generator of ``input``'s device, so ``gpuarr.manual_seed`` makes
    it reproducible. Returns ``input`` itself when not training or when ``p == 0``.

    Example:
        >>> F.dropout(gpuarr.ones(4), 0.5)   # each entry 0. or 2.
    """
    check_tensor(input, "input", "dropout")
    _check_p(p)
    if not training or p == 0.0:
        return input
    if input._data.dtype.kind not in "fV":
        raise RuntimeError(f'"bernoulli" not implemented for \'{dtype_name(input.dtype)}\'')
    return _apply_mask(input, _keep_mask(input, input.shape, p), inplace)


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, batched_nd: int,
                     name: str) -> Tensor:
    check_tensor(input, "input", name)
    _check_p(p)
    if input.ndim not in (batched_nd - 1, batched_nd):
        raise RuntimeError(
            f"{name}: Expected {batched_nd - 1}D or {batched_nd}D input, but received a "
            f"{input.ndim}D input."
        )
    if not training or p == 0.0:
        return input
    lead = 2 if input.ndim == batched_nd else 1
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return _apply_mask(input, _keep_mask(input, shape, p), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 4, "dropout2d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU activations' mean and variance (as torch's alpha_dropout)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0
    alpha_p = -1.7580993408473766  # -selu_scale * selu_alpha
    a = ((1 - p) * (1 + p * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * p
    keep = _keep_mask(input, input.shape, p)
    xp = input._device._xp()
    keep01 = _make((keep._data != 0).astype(input._data.dtype), input._device)
    drop_val = _make(xp.asarray((1 - keep01._data) * (a * alpha_p) + b,
                                dtype=input._data.dtype), input._device)
    out = input * (keep01 * a) + drop_val
    return apply_inplace(input, lambda x: out) if inplace else out


# --------------------------------------------------------------------------------------------
# embedding


class EmbeddingGather(Function):
    """``weight[idx]`` (rows); rows whose index equals ``drop`` are zeroed. Its backward adds
    gradients back into the rows, skipping ``grad_pad`` (torch's ``padding_idx`` rule)."""

    _raw = True
    _node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, w, idx, drop, grad_pad):
        out = ctx.xp.take(w, idx, axis=0)
        if drop is not None:
            out[idx == drop] = 0
        ctx.save_for_backward(idx)
        ctx.num, ctx.grad_pad = w.shape[0], grad_pad
        return out

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return _emb_scatter(g, idx, ctx.num, ctx.grad_pad), None, None, None


class EmbeddingScatter(Function):
    """Sum rows of ``g`` (shape idx.shape + (D,)) into a (num, D) table at ``idx``."""

    _raw = True

    @staticmethod
    def forward(ctx, g, idx, num, pad):
        xp = ctx.xp
        d = g.shape[-1]
        out = xp.zeros((num, d), dtype=g.dtype)
        of_module(xp).add_at(out, idx.reshape(-1), g.reshape(-1, d))
        if pad is not None:
            out[pad] = 0
        ctx.save_for_backward(idx)
        ctx.pad = pad
        return out

    @staticmethod
    def backward(ctx, gg):
        (idx,) = ctx.saved_tensors
        return _emb_gather(gg, idx, ctx.pad, ctx.pad), None, None, None


def _emb_scatter(g: Tensor, idx: Tensor, num: int, pad) -> Tensor:
    return apply_raw(EmbeddingScatter, g, idx, num, pad)


def _emb_gather(w: Tensor, idx: Tensor, drop, grad_pad) -> Tensor:
    return apply_raw(EmbeddingGather, w, idx, drop, grad_pad)


def _type_name(t: Tensor) -> str:
    return f"gpuarr.{dtype_name(t.dtype)}Tensor"


def _index_error() -> IndexError:
    return IndexError("index out of range in self")


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` at integer indices ``input``.

    Args:
        input: integer tensor of any shape.
        weight: ``(num_embeddings, embedding_dim)``.
        padding_idx: rows at this index get no gradient.
        max_norm: if given, rows looked up are renormalised in place to at most this norm.

    Returns:
        ``input.shape + (embedding_dim,)``. Duplicate indices accumulate their gradients.

    Example:
        >>> F.embedding(gpuarr.tensor([0, 2]), gpuarr.eye(3))
        tensor([[1., 0., 0.],
                [0., 0., 1.]])
    """
    check_tensor(input, "input", "embedding")
    check_tensor(weight, "weight", "embedding")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {_type_name(input)} instead (while checking arguments "
            "for embedding)"
        )
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    num = weight.shape[0]
    idx = input._data
    if idx.size:
        # as unsigned a negative index is huge: one reduction finds both ends of the range
        u = idx if idx.dtype.kind == "u" else idx.view(f"u{idx.dtype.itemsize}")
        raise_if(u.max() >= num, _index_error)
    if padding_idx is not None:
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += num
        elif padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
    if max_norm is not None:
        _renorm_rows(weight, idx, float(max_norm), float(norm_type))
    it = input if idx.dtype == np.int64 else input.long()
    return _emb_gather(weight, it, None, padding_idx)


def _renorm_rows(weight: Tensor, idx, max_norm: float, p: float) -> None:
    """Scale the rows ``idx`` of ``weight`` in place so their p-norm is at most max_norm."""
    xp = weight._device._xp()
    sync_debug.check_array(idx)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data
    sel = w[rows]
    norms = (xp.abs(sel) ** p).sum(axis=1) ** (1.0 / p)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] = sel * scale[:, None]
    weight._bump_version()


# --------------------------------------------------------------------------------------------
# one_hot


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of size ``num_classes`` (inferred as
    ``max + 1`` when -1).

    Example:
        >>> F.one_hot(gpuarr.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    check_tensor(tensor, "tensor", "one_hot")
    if tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    d = tensor._data
    xp = tensor._device._xp()
    if d.size:  # the class values are checked (and counted) on the host
        sync_debug.check_array(d)
    if num_classes == -1:
        if d.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        if int(d.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        num_classes = int(d.max()) + 1
    elif d.size:
        if int(d.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(d.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = (d[..., None] == xp.arange(num_classes)).astype(np.int64)
    return _make(out, tensor._device)


# --------------------------------------------------------------------------------------------
# pad


class PadConstant(Function):
    """Constant padding with per-dim (before, after) amounts; negative amounts crop."""

    _raw = True
    _node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        xp = ctx.xp
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads))
        out = xp.full(shape, value, dtype=x.dtype)
        src, dst = [], []
        for n, (lo, hi) in zip(x.shape, pads):
            s0, s1 = max(0, -lo), n - max(0, -hi)
            d0 = max(0, lo)
            src.append(slice(s0, max(s0, s1)))
            dst.append(slice(d0, d0 + max(0, s1 - s0)))
        out[tuple(dst)] = x[tuple(src)]
        ctx.pads = pads
        return out

    @staticmethod
    def backward(ctx, g):
        neg = tuple((-lo, -hi) for lo, hi in ctx.pads)
        return _pad_const(g, neg, 0), None, None


def _pad_const(x: Tensor, pads, value) -> Tensor:
    return apply_raw(PadConstant, x, pads, value)


class TakeAxis(Function):
    """``x.take(idx, axis)``; backward adds gradients back along the axis."""

    _raw = True

    @staticmethod
    def forward(ctx, x, idx, axis):
        ctx.idx, ctx.axis, ctx.n = idx, axis, x.shape[axis]
        return ctx.xp.take(x, idx, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return _put_add(g, ctx.idx, ctx.axis, ctx.n), None, None


class PutAddAxis(Function):
    """Adjoint of :class:`TakeAxis`: sum slices of ``g`` into positions ``idx`` of a length-n
    axis."""

    _raw = True

    @staticmethod
    def forward(ctx, g, idx, axis, n):
        xp = ctx.xp
        shape = list(g.shape)
        shape[axis] = n
        out = xp.zeros(tuple(shape), dtype=g.dtype)
        om = xp.moveaxis(out, axis, 0)
        gm = xp.moveaxis(g, axis, 0)
        of_module(xp).add_at(om, idx, gm)
        ctx.idx, ctx.axis = idx, axis
        return out

    @staticmethod
    def backward(ctx, gg):
        return _take(gg, ctx.idx, ctx.axis), None, None, None


def _take(x: Tensor, idx, axis: int) -> Tensor:
    return apply_raw(TakeAxis, x, idx, axis)


def _put_add(g: Tensor, idx, axis: int, n: int) -> Tensor:
    return apply_raw(PutAddAxis, g, idx, axis, n)


def _mode_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Source positions along one dim of length ``n`` padded by (``lo``, ``hi``) (amounts
    already checked by :func:`_check_mode_pad`)."""
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        period = 2 * (n - 1) if n > 1 else 1
        i = np.abs(i) % period
        return np.where(i >= n, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n


_MODE_DIMS = {1: (2, 3), 2: (3, 4), 3: (4, 5)}  # padded dims -> the input ranks torch takes
_KERNEL = {"reflect": "reflection_pad", "replicate": "replication_pad"}


def _check_mode_pad(input: Tensor, pad: tuple, mode: str) -> None:
    """torch's checks for a non-constant ``mode``, in torch's order and words."""
    k, nd = len(pad) // 2, input.ndim
    if nd not in _MODE_DIMS.get(k, ()):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {nd}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    shape = list(input.shape)
    # (size, lo, hi) per padded dim, innermost (W) first as torch's pad tuple lists them
    dims = [(shape[nd - 1 - j], pad[2 * j], pad[2 * j + 1]) for j in range(k)]
    out = [n + lo + hi for n, lo, hi in dims]
    if mode == "circular":
        for n, lo, hi in reversed(dims):  # torch walks the padded dims outermost first
            if lo > n or hi > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if n + lo + hi < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
        return
    # reflection/replication kernels take a zero batch size but no other empty dim
    first = 1 if nd == k + 2 else 0
    if any(n == 0 for n in shape[first:]):
        raise RuntimeError(
            f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {shape}")
    if mode == "reflect":
        for j, (n, lo, hi) in enumerate(dims):
            if lo >= n or hi >= n:
                raise RuntimeError(
                    f"Argument #{4 + 2 * j}: Padding size should be less than the corresponding "
                    f"input dimension, but got: padding ({lo}, {hi}) at dimension {nd - 1 - j} "
                    f"of input {shape}")
    if all(o < 1 for o in out):
        n_in = [n for n, _, _ in dims]
        if k == 1:
            msg = f"input (W: {n_in[0]}) is too small. Calculated output W: {out[0]}"
        elif k == 2:
            gap = " " if mode == "replicate" else ""
            msg = (f"input (H: {n_in[1]}, W: {n_in[0]}{gap}) is too small. Calculated output "
                   f"H: {out[1]} W: {out[0]}")
        else:
            msg = (f"input (D: {n_in[2]} H: {n_in[1]}, W: {n_in[0]}) is too small. Calculated "
                   f"output D: {out[2]} H: {out[1]} W: {out[0]}")
        raise RuntimeError(msg)
    if any(o < 0 for o in out):
        if mode == "reflect" and k == 2:
            raise RuntimeError("numel: integer multiplication overflow")
        new = shape[:nd - k] + out[::-1]
        bad = next(o for o in new if o < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {new}")
    if input._data.dtype == np.bool_:
        raise NotImplementedError(f"\"{_KERNEL[mode]}{k}d\" not implemented for 'Bool'")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)``
    starting from the last dim. Negative amounts crop.

    Args:
        mode: 'constant' (fill with ``value``, default 0; any number of dims), or 'reflect',
            'replicate' or 'circular' (the last 1, 2 or 3 dims of a 2-3, 3-4 or 4-5 dim input,
            as torch).

    Example:
        >>> F.pad(gpuarr.ones(1, 2), (1, 1))
        tensor([[0., 1., 1., 0.]])
    """
    check_tensor(input, "input", "pad")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(pad)} and input of dimension {input.ndim}"
        )
    k = len(pad) // 2
    pads = [(0, 0)] * (input.ndim - k)
    for j in range(k):
        pads.append((pad[2 * (k - 1 - j)], pad[2 * (k - 1 - j) + 1]))
    if mode == "constant":
        # torch crops first (narrow), so either crop alone may not overrun the dim
        for n, (lo, hi) in zip(input.shape, pads):
            if n + min(lo, 0) < 0 or n + min(lo, 0) + min(hi, 0) < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
        v = 0 if value is None else value
        if input._data.dtype.kind in "fV":
            v = float(v)
        return _pad_const(input, tuple(pads), v)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_mode_pad(input, pad, mode)
    xp = input._device._xp()
    out = input
    for d, (lo, hi) in enumerate(pads):
        if lo == 0 and hi == 0:
            continue
        idx = _mode_index(input.shape[d], lo, hi, mode)
        out = _take(out, xp.asarray(idx), d)
    return out


# --------------------------------------------------------------------------------------------
# normalize


class _PNorm(Function):
    """p-norm over ``dim`` (keepdim); the gradient is 0 where the norm is 0 (as torch)."""

    _raw = True
    _node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, p, dim):
        xp = ctx.xp
        xw = x.astype(np.float32) if x.dtype == np.float16 else x  # float16 sums overflow
        if p == 2:
            n = xp.sqrt((xw * xw).sum(axis=dim, keepdims=True))
        elif p == 1:
            n = xp.abs(xw).sum(axis=dim, keepdims=True)
        else:
            n = (xp.abs(xw) ** p).sum(axis=dim, keepdims=True) ** (1.0 / p)
        n = n.astype(x.dtype, copy=False)
        ctx.save_for_backward(x, n)
        ctx.p = p
        return n.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, n = ctx.saved_tensors
        p = ctx.p
        zero = n == 0
        safe = E.where(zero, 1.0, n)
        if p == 2:
            gx = g * x / safe
        elif p == 1:
            gx = g * E.sign(x)
        else:
            gx = g * x * E.abs(x) ** (p - 2) / safe ** (p - 1)
        return E.where(zero, 0.0, gx), None, None


class _ClampMin(E.Clamp):
    _node_name = "ClampMinBackward0"  # torch's normalize: norm.clamp_min(eps)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``.

    Example:
        >>> F.normalize(gpuarr.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    check_tensor(input, "input", "normalize")
    d = wrap_dim(dim, input.ndim)
    n = _PNorm.apply(input, float(p), d)
    return input / E._clamp(n, eps, None, _ClampMin)
