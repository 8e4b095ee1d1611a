"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Both run through one raw Function, :class:`Attention`. Its forward computes the scores with one
batched matmul, adds the causal and user masks in place, takes a numerically stable softmax in
place, applies dropout with gpuarr's generator and multiplies by the values; it saves the
probabilities (and the dropout mask as booleans) for backward. The usual backward is array
math on those saved arrays; when a graph is being built (``create_graph=True``) it recomputes
the forward with differentiable Tensor ops, so second derivatives are exact too.

Two softmax flavours, as in torch: ``scaled_dot_product_attention`` (and multi-head attention
with ``need_weights=False``) gives zeros for a query row whose keys are all masked out, the
explicit-weights path of multi-head attention gives NaN there, as ``softmax`` does.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ... import _dtype as D
from ..._autocast import state as _amp
from ..._core.capture import tracing
from ..._creation import zeros
from ..._random import default_generator
from ..._tensor import Size, Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...ops import elementwise as E
from ...ops._common import broadcast_error, broadcast_shapes, dtype_name
from ...ops._out import _CPP_NAMES
from ...ops.matmul import matmul
from ...ops.random import _draw_float
from ...ops.stacking import cat
from ._linear import linear
from ._misc import pad

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

def _cname(t: Tensor) -> str:
    """torch's C++ type name of ``t``'s dtype, as its scaled_dot_product_attention errors say."""
    return _CPP_NAMES.get(t.dtype.name, t.dtype.name)


# --------------------------------------------------------------------------------------------
# the fused attention op

_CAUSAL_CACHE: dict = {}


def _causal_bias(xp, device, L: int, S: int, dt):
    """``(L, S)`` array: 0 where key ``j <= i`` (top-left aligned, as torch), else -inf.
    Cached per device, size and dtype (a training loop asks for the same one every step);
    only small ones (up to 4M elements, 8 of them) are kept."""
    key = (device, L, S, np.dtype(dt).str)
    b = _CAUSAL_CACHE.get(key)
    if b is None:
        allowed = xp.arange(S)[None, :] <= xp.arange(L)[:, None]
        b = xp.where(allowed, xp.zeros((), dtype=dt), xp.full((), -np.inf, dtype=dt))
        if L * S <= (1 << 22) and not tracing():  # a traced array is the trace's own
            if len(_CAUSAL_CACHE) >= 8:
                _CAUSAL_CACHE.clear()
            _CAUSAL_CACHE[key] = b
    return b


def _upcast(a):
    """float16/bfloat16 arrays in float32: the scores, softmax and products run in float32
    (torch's math path does the same on the CPU)."""
    return a.astype(np.float32) if a is not None and D.is_half_np(a.dtype) else a


class Attention(Function):
    """``softmax(q @ k^T * scale + mask) @ v`` with optional causal mask and dropout.

    Arguments: ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)`` (batch dims broadcast),
    ``mask`` None or a float array broadcastable to ``(..., L, S)`` (an additive bias),
    then ``scale``, ``causal``, ``p`` (dropout probability), ``need_weights`` (also return the
    (dropped-out) attention weights) and ``safe`` (fully masked rows give 0, not NaN).
    """

    _raw = True

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, causal, p, need_weights, safe):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _forward(ctx, q, k, v, mask, scale, causal, p, need_weights, safe)

    @staticmethod
    def backward(ctx, g, gw=None):
        q, k, v, mask, P, keep = ctx.saved_tensors
        nig = ctx.needs_input_grad
        if g is None and gw is None:
            return None, None, None, None, None, None, None, None, None
        if is_grad_enabled():
            grads = _backward_graph(ctx, g, gw, q, k, v, mask, keep)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                grads = _backward_arrays(ctx, g, gw, q, k, v, P, keep, nig)
        return (*grads, None, None, None, None, None)


def _forward(ctx, q, k, v, mask, scale, causal, p, need_weights, safe):
    """The forward of :class:`Attention` (see there)."""
    xp = ctx.xp
    odt = q.dtype
    q32, k32, v32 = _upcast(q), _upcast(k), _upcast(v)
    t = q32.dtype.type
    qs = q32 * t(scale) if scale != 1.0 else q32
    s = xp.matmul(qs, xp.swapaxes(k32, -1, -2))
    del qs
    masked = causal or mask is not None
    if causal:
        s += _causal_bias(xp, ctx.device, s.shape[-2], s.shape[-1], s.dtype)
    if mask is not None:
        s += mask
    m = s.max(axis=-1, keepdims=True) if s.shape[-1] else None
    if m is not None:
        if masked and safe:  # a fully masked row: shift by a finite number, not -inf
            xp.maximum(m, t(np.finfo(s.dtype).min), out=m)
        s -= m
        del m
        xp.exp(s, out=s)
    z = s.sum(axis=-1, keepdims=True)
    if masked and safe:  # rows with a key have z >= 1 (the max term is exp(0))
        xp.maximum(z, t(1), out=z)
    xp.reciprocal(z, out=z)
    s *= z
    del z
    keep = None
    c = 1.0
    if p > 0.0:
        u = _draw_float("u", s.shape, D.float32, default_generator(ctx.device))
        keep = u >= np.float32(p)
        del u
        c = 1.0 / (1.0 - p) if p < 1.0 else 0.0
        pd = s * keep
        pd *= t(c)
    else:
        pd = s
    out = xp.matmul(pd, v32)
    if out.dtype != odt:
        out = out.astype(odt)
    weights = None
    if need_weights:
        weights = pd if pd.dtype == odt else pd.astype(odt)
    del pd
    # the output is not saved (torch's math kernel does not save it either): editing it in
    # place before backward stays legal
    ctx.save_for_backward(q, k, v, mask, s, keep)
    ctx.scale, ctx.causal, ctx.c, ctx.safe = scale, causal, c, safe
    ctx.set_materialize_grads(False)
    return (out, weights) if need_weights else out


def _backward_arrays(ctx, g, gw, q, k, v, P, keep, nig):
    """First-order gradients of :class:`Attention` with array math on the saved softmax."""
    dev = P._device
    xp = dev._xp()
    Pa = P._data
    t = Pa.dtype.type
    qa, ka, va = _upcast(q._data), _upcast(k._data), _upcast(v._data)
    ka_ = keep._data if keep is not None else None
    c, scale = ctx.c, ctx.scale
    gd = None if g is None else _upcast(g._data)
    need_s = nig[0] or nig[1] or nig[3]
    dq = dk = dv = dmask = None
    if nig[2] and gd is not None:
        if ka_ is not None:
            pd = Pa * ka_
            pd *= t(c)
        else:
            pd = Pa
        dv = _make(_cast_like(xp.matmul(xp.swapaxes(pd, -1, -2), gd), v._data), dev)
        del pd
    if need_s:
        if gd is not None:
            dP = xp.matmul(gd, xp.swapaxes(va, -1, -2))
            if gw is not None:
                dP += _upcast(gw._data)
        else:
            dP = xp.broadcast_to(_upcast(gw._data), Pa.shape).copy()
        if ka_ is not None:
            dP *= ka_
            dP *= t(c)
        D_ = (dP * Pa).sum(axis=-1, keepdims=True)
        dP -= D_
        dP *= Pa  # dS: the gradient of the (scaled, masked) scores
        if nig[0]:
            r = xp.matmul(dP, ka)
            if scale != 1.0:
                r *= t(scale)
            dq = _make(_cast_like(r, q._data), dev)
        if nig[1]:
            r = xp.matmul(xp.swapaxes(dP, -1, -2), qa)
            if scale != 1.0:
                r *= t(scale)
            dk = _make(_cast_like(r, k._data), dev)
        if nig[3]:
            dmask = _make(dP, dev)
    return dq, dk, dv, dmask


def _cast_like(a, like):
    return a if a.dtype == like.dtype else a.astype(like.dtype)


def _backward_graph(ctx, g, gw, q, k, v, mask, keep):
    """The same gradients written with differentiable Tensor ops (for ``create_graph=True``):
    the softmax is recomputed from the inputs so that the result depends on them."""
    half = q.dtype if q.dtype in (D.float16, D.bfloat16) else None
    if half:
        q, k, v = q.float(), k.float(), v.float()
        g = None if g is None else g.float()
        gw = None if gw is None else gw.float()
    scale = ctx.scale
    s = matmul(q * scale, k.mT)
    masked = ctx.causal or mask is not None
    if ctx.causal:
        xp = s._device._xp()
        s = s + _make(_causal_bias(xp, s._device, s.shape[-2], s.shape[-1], s._data.dtype),
                      s._device)
    if mask is not None:
        s = s + mask
    m = s.detach().amax(-1, keepdim=True)
    if masked and ctx.safe:
        m = m.clamp(min=float(np.finfo(s._data.dtype).min))
    e = E.exp(s - m)
    z = e.sum(-1, keepdim=True)
    if masked and ctx.safe:
        z = z.clamp(min=1.0)
    P = e / z
    keepf = None
    if keep is not None:
        keepf = _make(keep._data.astype(P._data.dtype) * P._data.dtype.type(ctx.c), P._device)
    Pd = P * keepf if keepf is not None else P
    dv = None if g is None else matmul(Pd.mT, g)
    dP = matmul(g, v.mT) if g is not None else gw
    if g is not None and gw is not None:
        dP = dP + gw
    if keepf is not None:
        dP = dP * keepf
    dS = P * (dP - (dP * P).sum(-1, keepdim=True))
    dq = matmul(dS, k) * scale
    dk = matmul(dS.mT, q) * scale
    if half:
        dq, dk = dq.to(half), dk.to(half)
        dv = None if dv is None else dv.to(half)
    return dq, dk, dv, dS


# --------------------------------------------------------------------------------------------
# scaled_dot_product_attention


def _check_args(query, key, value) -> None:
    for name, pos, t in (("query", 1, query), ("key", 2, key), ("value", 3, value)):
        if not isinstance(t, Tensor):
            tp = type(t)
            tn = tp.__qualname__ if tp.__module__ == "builtins" else \
                f"{tp.__module__}.{tp.__qualname__}"
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' (position "
                            f"{pos}) must be Tensor, not {tn}")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim"
            f": {query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead.")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{_cname(query)} key.dtype: {_cname(key)} and value.dtype: {_cname(value)} "
            "instead.")
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"expected scalar type Float but found {dtype_name(query.dtype)}")


def _batch_shape(query: Tensor, key: Tensor, value: Tensor) -> tuple:
    """The broadcast batch shape, with torch's errors for sizes that do not fit."""
    bq, bk, bv = tuple(query.shape[:-2]), tuple(key.shape[:-2]), tuple(value.shape[:-2])
    try:
        bqk = broadcast_shapes(bq, bk)
    except RuntimeError:
        raise broadcast_error(bq, bk) from None
    try:
        batch = broadcast_shapes(bqk, bv)
    except RuntimeError:
        raise broadcast_error(bqk, bv) from None
    nb = math.prod(batch)
    E, Ek = query.shape[-1], key.shape[-1]
    if E != Ek:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{nb}, {E}] but got: [{nb}, {Ek}].")
    S, Sv = key.shape[-2], value.shape[-2]
    if S != Sv:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{nb}, {S}] but got: [{nb}, {Sv}].")
    return batch


def _mask_bias(mask: Tensor, query: Tensor, scores_shape: tuple) -> Tensor:
    """``mask`` as an additive float bias (a bool mask: True keeps, False gives -inf), after
    torch's dtype and shape checks against the scores' shape."""
    if not isinstance(mask, Tensor):
        raise TypeError("scaled_dot_product_attention(): argument 'attn_mask' must be Tensor, "
                        f"not {type(mask).__name__}")
    md = mask.dtype
    if not (md == D.bool or md == D.float32 or md == query.dtype):
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {_cname(mask)} and  query.dtype: {_cname(query)} instead.")
    if mask.ndim < 2:
        raise IndexError("Dimension out of range (expected to be in range of "
                         f"[{-max(mask.ndim, 1)}, {max(mask.ndim, 1) - 1}], but got -2)")
    try:
        shape = broadcast_shapes(scores_shape, tuple(mask.shape))
    except RuntimeError:
        raise broadcast_error(scores_shape, tuple(mask.shape)) from None
    if shape != tuple(scores_shape):
        raise RuntimeError(f"output with shape {list(scores_shape)} doesn't match the broadcast "
                           f"shape {list(shape)}")
    if md == D.bool:
        xp = mask._device._xp()
        dt = np.float32 if query.dtype in (D.float16, D.bfloat16) else query._data.dtype
        bias = xp.where(mask._data, xp.zeros((), dtype=dt), xp.full((), -np.inf, dtype=dt))
        return _make(bias, mask._device)
    return mask


def _gqa(query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None):
    """Grouped-query attention: key/value heads (dim -3) shared by groups of query heads.

    When key and value have the same number of heads the query heads are viewed as
    (kv_heads, group) and key/value broadcast over the group (no copies); otherwise the
    key/value heads are repeated. Returns (query, key, value, mask, output shape or None).
    """
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        nd = min(query.ndim, key.ndim, value.ndim)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}]"
                         ", but got -3)")
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hq % hk or hq % hv:
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
    if hq == hk == hv:
        return query, key, value, mask, None
    if hk != hv:
        if hk != hq:
            key = key.repeat_interleave(hq // hk, dim=-3)
        if hv != hq:
            value = value.repeat_interleave(hq // hv, dim=-3)
        return query, key, value, mask, None
    grp = hq // hk
    qshape = tuple(query.shape)
    query = query.reshape(qshape[:-3] + (hk, grp) + qshape[-2:])
    key = key.unsqueeze(-3)
    value = value.unsqueeze(-3)
    if mask is not None and mask.ndim >= 3:
        ms = tuple(mask.shape)
        if ms[-3] == hq:
            mask = mask.reshape(ms[:-3] + (hk, grp) + ms[-2:])
        else:
            mask = mask.unsqueeze(-3)
    return query, key, value, mask, qshape


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value``, as ``torch.nn.functional.
    scaled_dot_product_attention``.

    One fused op: scores, masks, a numerically stable softmax and dropout run in place on one
    buffer; backward reuses the saved probabilities. A query whose keys are all masked out
    gets zeros (as torch's math kernel).

    Args:
        query: ``(..., L, E)``.
        key: ``(..., S, E)``.
        value: ``(..., S, Ev)``; the batch dims of the three broadcast.
        attn_mask: a bool mask (True: may attend) or a float mask added to the scores,
            broadcastable to ``(..., L, S)``.
        dropout_p: dropout probability on the attention weights. Applied whenever > 0 (pass
            0.0 in eval mode, as with torch); draws from the device's default generator.
        is_causal: mask out keys after the query position (``j > i``, top-left aligned).
            Cannot be combined with ``attn_mask``.
        scale: score scale; default ``1 / sqrt(E)``.
        enable_gqa: grouped-query attention: key/value may have fewer heads (dim -3) than
            query, each shared by ``Hq / Hkv`` consecutive query heads.

    Returns:
        ``(..., L, Ev)``.

    Example:
        >>> q = k = v = gpuarr.randn(2, 4, 16, 8)    # (batch, heads, seq, head_dim)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        gpuarr.Size([2, 4, 16, 8])
    """
    if _amp.on:
        return _amp.run("scaled_dot_product_attention", scaled_dot_product_attention, query, key,
                        value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                        scale=scale, enable_gqa=enable_gqa)
    _check_args(query, key, value)
    if attn_mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if dropout_p < 0.0 or dropout_p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    out_shape = None
    if enable_gqa:
        query, key, value, attn_mask, out_shape = _gqa(query, key, value, attn_mask)
    batch = _batch_shape(query, key, value)
    L, E = query.shape[-2], query.shape[-1]
    S = key.shape[-2]
    if attn_mask is not None:
        attn_mask = _mask_bias(attn_mask, query, batch + (L, S))
    sc = 1.0 / math.sqrt(E) if scale is None else float(scale)
    out = Attention.apply(query, key, value, attn_mask, sc, bool(is_causal), float(dropout_p),
                          False, True)
    if out_shape is not None:
        out = out.reshape(tuple(out.shape[:-4]) + out_shape[-3:-1] + (out.shape[-1],))
    return out


# --------------------------------------------------------------------------------------------
# multi-head attention


def _none_or_dtype(input: Tensor | None):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type, other_name: str,
                    target_type, check_other: bool = True) -> Tensor | None:
    """A bool mask (True: masked out) as a float mask of ``target_type`` (-inf where True);
    float masks pass through. torch's rules and texts."""
    if mask is None:
        return None
    md = mask.dtype
    is_float = md.is_floating_point
    if md != D.bool and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and md != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use "
                      "same type for both instead.", stacklevel=3)
    if not is_float:
        xp = mask._device._xp()
        dt = D.as_dtype(target_type).np
        arr = xp.where(mask._data, xp.full((), -np.inf, dtype=dt), xp.zeros((), dtype=dt))
        return _make(arr, mask._device)
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                f"found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D "
                f"but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                    f"but found {attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{attn_mask.shape}")
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


def _to_heads(x: Tensor, num_heads: int, batch_first: bool) -> Tensor:
    """``(L, N, E)`` (or ``(N, L, E)`` when batch_first) as ``(N, H, L, E / H)`` (a view)."""
    a, b, e = x.shape
    x = x.reshape(a, b, num_heads, e // num_heads)
    return x.permute(0, 2, 1, 3) if batch_first else x.permute(1, 2, 0, 3)


def _in_projection_packed(q, k, v, w, b, num_heads: int, batch_first: bool):
    """q, k, v projected with the packed ``(3E, E)`` weight, each as ``(N, H, L, E / H)``.
    Self-attention (q is k is v) runs one matmul, encoder-decoder attention (k is v) two."""
    E = q.shape[-1]
    if k is v:
        if q is k:
            proj = linear(q, w, b)
            a, bb, _ = proj.shape
            proj = proj.reshape(a, bb, 3, num_heads, E // num_heads)
            perm = (2, 0, 3, 1, 4) if batch_first else (2, 1, 3, 0, 4)
            return proj.permute(*perm).unbind(0)
        w_q, w_kv = w.split([E, E * 2])
        b_q, b_kv = (None, None) if b is None else b.split([E, E * 2])
        qp = _to_heads(linear(q, w_q, b_q), num_heads, batch_first)
        kv = linear(k, w_kv, b_kv)
        a, bb, _ = kv.shape
        kv = kv.reshape(a, bb, 2, num_heads, E // num_heads)
        perm = (2, 0, 3, 1, 4) if batch_first else (2, 1, 3, 0, 4)
        kp, vp = kv.permute(*perm).unbind(0)
        return qp, kp, vp
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return tuple(_to_heads(linear(x, ww, bb), num_heads, batch_first)
                 for x, ww, bb in ((q, w_q, b_q), (k, w_k, b_k), (v, w_v, b_v)))


def _in_projection(q, k, v, w_q, w_k, w_v, b_q, b_k, b_v, num_heads: int, batch_first: bool):
    """Separate q/k/v projection weights (key/value dims may differ from the query's)."""
    Eq, Ek, Ev = q.size(-1), k.size(-1), v.size(-1)
    for name, w, want in (("query", w_q, (Eq, Eq)), ("key", w_k, (Eq, Ek)),
                          ("value", w_v, (Eq, Ev))):
        if tuple(w.shape) != want:
            raise AssertionError(f"expecting {name} weights shape of {want}, but got {w.shape}")
    for name, bb in (("query", b_q), ("key", b_k), ("value", b_v)):
        if bb is not None and tuple(bb.shape) != (Eq,):
            raise AssertionError(f"expecting {name} bias shape of {(Eq,)}, but got {bb.shape}")
    return tuple(_to_heads(linear(x, ww, bb), num_heads, batch_first)
                 for x, ww, bb in ((q, w_q, b_q), (k, w_k, b_k), (v, w_v, b_v)))


def _seq_first(shape, batch_first: bool) -> Size:
    s = tuple(shape)
    return Size((s[1], s[0]) + s[2:] if batch_first else s)


def multi_head_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
    bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
    out_proj_bias: Tensor | None, training: bool = True,
    key_padding_mask: Tensor | None = None, need_weights: bool = True,
    attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
    static_v: Tensor | None = None, average_attn_weights: bool = True,
    is_causal: bool = False, *, batch_first: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention (the function behind ``nn.MultiheadAttention``), torch's
    signature and semantics.

    Args:
        query, key, value: ``(L, N, E)``, ``(S, N, kdim)``, ``(S, N, vdim)``, or unbatched
            ``(L, E)``, ``(S, kdim)``, ``(S, vdim)``. ``batch_first=True`` (keyword, a gpuarr
            extension used by the module) takes ``(N, L, E)`` ... instead, with no transposes.
        embed_dim_to_check: E; num_heads: heads (E must divide by it).
        in_proj_weight, in_proj_bias: packed ``(3E, E)`` weight and ``(3E,)`` bias.
        bias_k, bias_v: ``(1, 1, E)`` biases appended to the keys/values, or None.
        add_zero_attn: append a zero key/value.
        dropout_p: dropout on the attention weights (only when ``training``).
        out_proj_weight, out_proj_bias: the output projection.
        key_padding_mask: ``(N, S)``; bool (True: ignore that key) or float (added).
        need_weights: also return the attention weights (explicit softmax; a fully masked
            row gives NaN there, as in torch). Without it the fused
            :func:`scaled_dot_product_attention` path runs (such rows give 0).
        attn_mask: ``(L, S)`` or ``(N * num_heads, L, S)``; bool (True: not allowed) or float.
        use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight: separate
            projections (when key/value dims differ from E).
        static_k, static_v: precomputed ``(N * num_heads, S, E / num_heads)`` keys/values.
        average_attn_weights: average the returned weights over heads.
        is_causal: hint that ``attn_mask`` is the causal mask.

    Returns:
        ``(output, weights)``: output ``(L, N, E)`` (``(N, L, E)`` with batch_first), weights
        ``(N, L, S)`` averaged or ``(N, num_heads, L, S)``, or None without need_weights.

    Example:
        >>> q = gpuarr.randn(5, 2, 8)
        >>> w_in, w_out = gpuarr.randn(24, 8), gpuarr.randn(8, 8)
        >>> out, w = F.multi_head_attention_forward(q, q, q, 8, 2, w_in, None, None, None,
        ...                                         False, 0.0, w_out, None, training=False)
        >>> out.shape, w.shape
        (gpuarr.Size([5, 2, 8]), gpuarr.Size([2, 5, 5]))
    """
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    bf = batch_first and is_batched
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    if bf:
        bsz, tgt_len, embed_dim = query.shape
        src_len = key.shape[1]
    else:
        tgt_len, bsz, embed_dim = query.shape
        src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       _none_or_dtype(attn_mask), "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint alone: the fused op applies the causal mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(
                f"key's sequence and batch dims {_seq_first(key.shape[:2], bf)} do not match "
                f"value's {_seq_first(value.shape[:2], bf)}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {_seq_first(key.shape, bf)} does not match value shape "
                             f"{_seq_first(value.shape, bf)}")

    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias,
                                        num_heads, bf)
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(
                    f"use_separate_proj_weight is True but {name}_proj_weight is None")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight,
                                 v_proj_weight, b_q, b_k, b_v, num_heads, bf)
    # q, k, v: (N, H, L|S, head_dim)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
        elif attn_mask.dim() == 3:
            want = (bsz * num_heads, tgt_len, src_len)
            if tuple(attn_mask.shape) != want:
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {want}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        bk = bias_k.reshape(1, num_heads, 1, head_dim).expand(bsz, num_heads, 1, head_dim)
        bv = bias_v.reshape(1, num_heads, 1, head_dim).expand(bsz, num_heads, 1, head_dim)
        k = cat([k, bk], 2)
        v = cat([v, bv], 2)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    for name, st, which in (("static_k", static_k, "k"), ("static_v", static_v, "v")):
        if st is None:
            continue
        if st.size(0) != bsz * num_heads:
            raise AssertionError(
                f"expecting {name}.size(0) of {bsz * num_heads}, but got {st.size(0)}")
        if st.size(2) != head_dim:
            raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {st.size(2)}")
        st = st.reshape(bsz, num_heads, st.shape[1], head_dim)
        if which == "k":
            k = st
        else:
            v = st

    if add_zero_attn:
        k = cat([k, zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype, device=k.device)], 2)
        v = cat([v, zeros((bsz, num_heads, 1, head_dim), dtype=v.dtype, device=v.device)], 2)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    src_len = k.shape[2]
    mask = None
    if attn_mask is not None:
        mask = attn_mask if attn_mask.dim() == 2 else attn_mask.reshape(
            bsz, num_heads, tgt_len, src_len)
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len)
        mask = kpm if mask is None else mask + kpm
    if not training:
        dropout_p = 0.0
    if mask is not None and mask.dtype != q.dtype and not (
            mask.dtype == D.float32 and q.dtype.is_floating_point):
        mask = mask.to(q.dtype)

    scale = 1.0 / math.sqrt(head_dim)
    res = Attention.apply(q, k, v, mask, scale, bool(is_causal and mask is None),
                          float(dropout_p), bool(need_weights), not need_weights)
    out, weights = res if need_weights else (res, None)
    # (N, H, L, hd) -> the input layout, heads merged, then the output projection
    out = out.permute(0, 2, 1, 3) if bf else out.permute(2, 0, 1, 3)
    out = linear(out.reshape(out.shape[0], out.shape[1], embed_dim), out_proj_weight,
                 out_proj_bias)
    if need_weights and average_attn_weights:
        weights = weights.mean(dim=1)
    if not is_batched:
        out = out.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights
