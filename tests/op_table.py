"""The op table (OpInfo-lite): every tensor op listed once with its PyTorch reference.

Each entry says how to call the op in gpuarr and in torch, what inputs it takes (a sampler
that draws arrays of given shapes from a valid domain), whether it is differentiable, and
tolerances. The generic tests in test_op_table.py run every entry: forward vs torch on
hypothesis-generated shapes, gradients vs torch, gradcheck and gradgradcheck in float64.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np


@dataclasses.dataclass
class OpInfo:
    """One op of the table.

    Attributes:
        name: id used in test names.
        op: gpuarr callable taking gpuarr tensors (and ``kwargs``).
        ref: torch callable taking torch tensors (same positional layout).
        nargs: number of tensor inputs.
        domain: (low, high) of sampled values, or a sampler ``f(rng, shape, dtype) -> array``.
        differentiable: whether gradients are checked.
        gradgrad: whether second-order gradients are checked.
        broadcast: whether inputs may have broadcast-compatible, different shapes.
        dtypes: NumPy dtype names the forward test uses.
        shapes: fixed shape tuples (one per input) used besides the hypothesis draws; None to
            use the default broadcasting sampler.
        rtol/atol: forward tolerances (float32).
        kwargs: extra keyword arguments for both calls.
        min_ndim: smallest rank the op accepts.
    """

    name: str
    op: Callable
    ref: Callable
    nargs: int = 1
    domain: object = (-2.0, 2.0)
    differentiable: bool = True
    gradgrad: bool = True
    broadcast: bool = True
    dtypes: tuple = ("float32", "float64")
    shapes: list | None = None
    rtol: float = 1e-5
    atol: float = 1e-6
    kwargs: dict = dataclasses.field(default_factory=dict)
    min_ndim: int = 0


def _away_from_zero(rng, shape, dtype):
    x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x.astype(dtype)


def _away_from_int(rng, shape, dtype):
    # piecewise-constant ops: keep away from the jumps so finite differences are defined
    x = rng.integers(-3, 3, size=shape) + rng.uniform(0.2, 0.8, size=shape)
    return x.astype(dtype)


def _distinct(rng, shape, dtype):
    # ops with kinks at ties (max/min/abs/clamp/relu): avoid ties and the kinks
    n = int(np.prod(shape)) if shape else 1
    vals = (rng.permutation(n) + rng.uniform(0.1, 0.4, size=n)) / max(n, 1) * 4 - 2.05
    return vals.reshape(shape).astype(dtype)


def _build():
    import torch

    import gpuarr as G

    ops: list[OpInfo] = []

    def unary(name, domain=(-2.0, 2.0), ref=None, **kw):
        ops.append(OpInfo(name, getattr(G, name), ref or getattr(torch, name), 1, domain, **kw))

    def binary(name, domain=(-2.0, 2.0), ref=None, **kw):
        ops.append(OpInfo(name, getattr(G, name), ref or getattr(torch, name), 2, domain, **kw))

    # ---- elementwise arithmetic
    binary("add")
    binary("sub")
    binary("mul")
    binary("div", domain=_away_from_zero)
    binary("pow", domain=(0.5, 2.0))
    binary("maximum", domain=_distinct)
    binary("minimum", domain=_distinct)
    binary("remainder", domain=_away_from_zero, gradgrad=False)
    binary("fmod", domain=_away_from_zero, gradgrad=False)
    binary("atan2", domain=_away_from_zero)
    ops.append(OpInfo("floor_divide", G.floor_divide, torch.floor_divide, 2, _away_from_zero,
                      differentiable=False))
    ops.append(OpInfo("lerp", G.lerp, torch.lerp, 3))
    ops.append(OpInfo("where", lambda c, a, b: G.where(c > 0, a, b),
                      lambda c, a, b: torch.where(c > 0, a, b), 3, gradgrad=True))
    ops.append(OpInfo("clamp", lambda x: G.clamp(x, -0.5, 0.7),
                      lambda x: torch.clamp(x, -0.5, 0.7), 1, _distinct))
    ops.append(OpInfo("clamp_tensor", lambda x, lo, hi: G.clamp(x, lo, hi),
                      lambda x, lo, hi: torch.clamp(x, lo, hi), 3, _distinct))
    # ---- unary math
    for n in ("neg", "exp", "exp2", "expm1", "sin", "cos", "tanh", "sigmoid", "atan", "sinh",
              "cosh", "erf", "square"):
        unary(n)
    unary("abs", domain=_away_from_zero)
    unary("relu", domain=_away_from_zero)
    unary("tan", domain=(-1.2, 1.2))
    unary("asin", domain=(-0.9, 0.9))
    unary("acos", domain=(-0.9, 0.9))
    for n in ("log", "log2", "log10", "sqrt", "rsqrt"):
        unary(n, domain=(0.3, 3.0))
    unary("log1p", domain=(-0.5, 2.0))
    unary("asinh")
    unary("acosh", domain=(1.2, 3.0))
    unary("atanh", domain=(-0.9, 0.9))
    unary("reciprocal", domain=_away_from_zero)
    for n in ("sign", "floor", "ceil", "round", "trunc", "frac"):
        unary(n, domain=_away_from_int, gradgrad=False)
    ops.append(OpInfo("nan_to_num", G.nan_to_num, torch.nan_to_num, 1))
    # ---- comparisons and predicates (no gradients)
    for n in ("eq", "ne", "lt", "le", "gt", "ge"):
        ops.append(OpInfo(n, getattr(G, n), getattr(torch, n), 2, (-1.0, 1.0),
                          differentiable=False, dtypes=("float32", "int64")))
    for n in ("isnan", "isinf", "isfinite", "logical_not"):
        ops.append(OpInfo(n, getattr(G, n), getattr(torch, n), 1, differentiable=False))
    for n in ("logical_and", "logical_or", "logical_xor"):
        ops.append(OpInfo(n, getattr(G, n), getattr(torch, n), 2, differentiable=False))
    for n in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        ops.append(OpInfo(n, getattr(G, n), getattr(torch, n), 2, (-50, 50),
                          differentiable=False, dtypes=("int64", "int32", "uint8")))
    # ---- reductions / shapes / linalg that exist are added by their own modules' entries
    for extra in _EXTRA_BUILDERS:
        ops.extend(extra(G, torch))
    return ops


_EXTRA_BUILDERS: list = []


def register(builder):
    """Add a function ``builder(gpuarr, torch) -> list[OpInfo]`` contributing table entries."""
    _EXTRA_BUILDERS.append(builder)
    return builder


_CACHE: list = []


def op_table() -> list[OpInfo]:
    """All OpInfos (built once)."""
    if not _CACHE:
        _CACHE.extend(_build())
    return _CACHE


def sample(info: OpInfo, rng, shape, dtype) -> np.ndarray:
    """Draw one input array for ``info`` with the given shape and dtype."""
    dom = info.domain
    if callable(dom):
        return dom(rng, shape, dtype)
    lo, hi = dom
    if np.dtype(dtype).kind in "iu":
        lo_i = max(int(lo), 0) if np.dtype(dtype).kind == "u" else int(lo)
        return rng.integers(lo_i, max(int(hi), lo_i + 1), size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.uniform(lo, hi, size=shape).astype(dtype)


@register
def _reductions(G, torch):
    """Reductions and scans (gpuarr/ops/reduction.py) and sorting (gpuarr/ops/sorting.py)."""
    R = 1  # min rank for ops that need a dim
    ops = []

    def red(name, dom=(-2.0, 2.0), kw=None, min_ndim=0, **extra):
        kw = kw or {}
        ops.append(OpInfo(name + ("" if not kw else "_" + "_".join(map(str, kw.values()))),
                          lambda x, _n=name, _k=kw: getattr(G, _n)(x, **_k),
                          lambda x, _n=name, _k=kw: getattr(torch, _n)(x, **_k),
                          1, dom, broadcast=False, min_ndim=min_ndim, **extra))

    red("sum")
    red("sum", kw={"dim": -1, "keepdim": True}, min_ndim=R)
    red("mean")
    red("mean", kw={"dim": 0}, min_ndim=R)
    red("prod", dom=_away_from_zero)
    red("prod", kw={"dim": -1}, min_ndim=R, dom=_away_from_zero)
    red("var", kw={"dim": -1}, min_ndim=R)
    red("std", kw={"dim": 0, "correction": 0}, min_ndim=R)
    red("amax", dom=_distinct)
    red("amin", kw={"dim": -1}, dom=_distinct, min_ndim=R)
    red("logsumexp", kw={"dim": -1}, min_ndim=R)
    red("cumsum", kw={"dim": 0}, min_ndim=R)
    red("cumprod", kw={"dim": -1}, min_ndim=R, dom=_away_from_zero)
    red("norm")
    ops.append(OpInfo("max_dim", lambda x: G.max(x, dim=-1), lambda x: torch.max(x, dim=-1),
                      1, _distinct, broadcast=False, min_ndim=R))
    ops.append(OpInfo("min", G.min, torch.min, 1, _distinct, broadcast=False))
    ops.append(OpInfo("sort", lambda x: G.sort(x, dim=-1), lambda x: torch.sort(x, dim=-1),
                      1, _distinct, broadcast=False, min_ndim=R))
    ops.append(OpInfo("topk", lambda x: G.topk(x, 1, dim=-1), lambda x: torch.topk(x, 1, dim=-1),
                      1, _distinct, broadcast=False, shapes=[((3, 4),), ((5,),), ((2, 3, 2),)]))
    for name in ("argmax", "argmin", "all", "any", "count_nonzero", "argsort"):
        ops.append(OpInfo(name, getattr(G, name), getattr(torch, name), 1, _distinct,
                          differentiable=False, broadcast=False,
                          min_ndim=R if name == "argsort" else 0,
                          dtypes=("float32", "int64") if name != "argsort" else ("float32",)))
    ops.append(OpInfo("unique", lambda x: G.unique(x, return_counts=True),
                      lambda x: torch.unique(x, return_counts=True), 1, (-3, 3),
                      differentiable=False, broadcast=False, dtypes=("int64",)))
    return ops


@register
def _shapes_and_linalg(G, torch):
    """View ops (gpuarr/ops/shape.py) and matrix products (gpuarr/ops/matmul.py)."""

    def fixed(name, g, t, shapes, nargs=1, **kw):
        return OpInfo(name, g, t, nargs, broadcast=False, shapes=shapes, **kw)

    s23 = [((2, 3),), ((3, 2),)]
    s234 = [((2, 3, 4),), ((1, 3, 4),)]
    return [
        fixed("view", lambda x: x.view(-1), lambda x: x.view(-1), s23),
        fixed("reshape", lambda x: x.reshape(3, -1), lambda x: x.reshape(3, -1), s23),
        fixed("expand", lambda x: x[:1].expand(4, -1), lambda x: x[:1].expand(4, -1), s23),
        fixed("broadcast_to", lambda x: G.broadcast_to(x, (2, 2, 3)),
              lambda x: torch.broadcast_to(x, (2, 2, 3)), [((2, 3),), ((1, 3),)]),
        fixed("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), s234),
        fixed("transpose", lambda x: x.transpose(0, -1), lambda x: x.transpose(0, -1), s234),
        fixed("T", lambda x: x.T, lambda x: x.T, s23),
        fixed("mT", lambda x: x.mT, lambda x: x.mT, s234),
        fixed("squeeze", lambda x: x.squeeze(), lambda x: x.squeeze(), [((1, 3, 1),)]),
        fixed("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1), s23),
        fixed("flatten", lambda x: x.flatten(1), lambda x: x.flatten(1), s234),
        fixed("unflatten", lambda x: x.unflatten(1, (2, 2)), lambda x: x.unflatten(1, (2, 2)),
              [((3, 4),)]),
        fixed("narrow", lambda x: x.narrow(1, 1, 2), lambda x: x.narrow(1, 1, 2), s234),
        fixed("movedim", lambda x: G.movedim(x, 0, 2), lambda x: torch.movedim(x, 0, 2), s234),
        fixed("matmul", G.matmul, torch.matmul,
              [((2, 4), (4, 3)), ((3,), (3,)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4, 2))], 2),
        fixed("mm", G.mm, torch.mm, [((2, 4), (4, 3))], 2),
        fixed("mv", G.mv, torch.mv, [((2, 4), (4,))], 2),
        fixed("bmm", G.bmm, torch.bmm, [((2, 3, 4), (2, 4, 5))], 2),
        fixed("dot", G.dot, torch.dot, [((5,), (5,))], 2),
        fixed("inner", G.inner, torch.inner, [((5,), (5,)), ((2, 3), (4, 3))], 2),
        fixed("outer", G.outer, torch.outer, [((4,), (3,))], 2),
        fixed("einsum_bij", lambda a, b: G.einsum("bij,bjk->bik", a, b),
              lambda a, b: torch.einsum("bij,bjk->bik", a, b), [((2, 3, 4), (2, 4, 5))], 2),
        fixed("trace", G.trace, torch.trace, [((3, 3),), ((2, 4),)]),
        fixed("linalg_norm", G.linalg.norm, torch.linalg.norm, [((4,),), ((3, 4),)]),
        fixed("vector_norm_3", lambda x: G.linalg.vector_norm(x, 3, dim=-1),
              lambda x: torch.linalg.vector_norm(x, 3, dim=-1), [((3, 4),)], domain=_distinct),
        fixed("matrix_norm", G.linalg.matrix_norm, torch.linalg.matrix_norm, [((2, 3, 4),)]),
        fixed("inv", G.linalg.inv, torch.linalg.inv, [((3, 3),), ((2, 4, 4),)],
              domain=_well_conditioned),
        fixed("solve", G.linalg.solve, torch.linalg.solve, [((3, 3), (3, 2)), ((2, 4, 4), (4,))],
              2, domain=_well_conditioned),
        fixed("det", G.linalg.det, torch.linalg.det, [((3, 3),), ((2, 4, 4),)],
              domain=_well_conditioned),
    ]


def _well_conditioned(rng, shape, dtype):
    # square matrices are made diagonally dominant so inverses and solves are stable
    x = rng.uniform(-1, 1, size=shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        x = x + np.eye(shape[-1]) * shape[-1]
    return x.astype(dtype)


def _index_arr(rng, shape, dtype):
    return rng.integers(0, 3, size=shape).astype(dtype)


@register
def _indexing_and_joining(G, torch):
    """Indexing (gpuarr/ops/indexing.py) and joining/tiling ops (gpuarr/ops/stacking.py)."""

    def fixed(name, g, t, shapes, nargs=1, **kw):
        return OpInfo(name, g, t, nargs, broadcast=False, shapes=shapes, **kw)

    s34 = [((3, 4),), ((3, 5, 2),)]
    idx = np.array([2, 0, 0, 1])
    return [
        fixed("getitem_basic", lambda x: x[1:, None, ::2], lambda x: x[1:, None, ::2], s34),
        fixed("getitem_advanced", lambda x: x[G.tensor(idx)], lambda x: x[torch.tensor(idx)],
              s34),
        fixed("getitem_mask", lambda x: x[x > 0], lambda x: x[x > 0], s34),
        # index/target tensors live on the input's device (torch requires it for these ops)
        fixed("index_select", lambda x: G.index_select(x, 0, G.tensor(idx, device=x.device)),
              lambda x: torch.index_select(x, 0, torch.tensor(idx, device=x.device)), s34),
        fixed("gather",
              lambda x: G.gather(x, 1, G.tensor([[0, 2], [1, 1], [3, 0]], device=x.device)),
              lambda x: torch.gather(x, 1,
                                     torch.tensor([[0, 2], [1, 1], [3, 0]], device=x.device)),
              [((3, 4),)]),
        fixed("scatter_add",
              lambda x, s: G.scatter_add(x, 0, G.tensor([[0, 1, 2, 0]], device=x.device), s),
              lambda x, s: torch.scatter_add(x, 0, torch.tensor([[0, 1, 2, 0]], device=x.device),
                                             s),
              [((3, 4), (1, 4))], 2),
        fixed("masked_fill", lambda x: x.masked_fill(x > 0.5, -1.0),
              lambda x: x.masked_fill(x > 0.5, -1.0), s34),
        fixed("cat", lambda a, b: G.cat([a, b], dim=-1), lambda a, b: torch.cat([a, b], dim=-1),
              [((2, 3), (2, 1)), ((0,), (4,))], 2),
        fixed("stack", lambda a, b: G.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1),
              [((2, 3), (2, 3)), ((), ())], 2),
        fixed("split", lambda x: G.split(x, 2, dim=-1), lambda x: torch.split(x, 2, dim=-1),
              s34),
        fixed("chunk", lambda x: G.chunk(x, 2, 0), lambda x: torch.chunk(x, 2, 0), s34),
        fixed("flip", lambda x: G.flip(x, [0, -1]), lambda x: torch.flip(x, [0, -1]), s34),
        fixed("roll", lambda x: G.roll(x, 1, 0), lambda x: torch.roll(x, 1, 0), s34),
        fixed("repeat", lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3),
              [((3, 4),), ((4,),)]),
        fixed("repeat_interleave", lambda x: G.repeat_interleave(x, 2, dim=0),
              lambda x: torch.repeat_interleave(x, 2, dim=0), s34),
        fixed("tril", lambda x: G.tril(x, -1), lambda x: torch.tril(x, -1), s34),
        fixed("triu", lambda x: G.triu(x, 1), lambda x: torch.triu(x, 1), s34),
        fixed("diag", G.diag, torch.diag, [((3, 4),), ((4,),)]),
        fixed("diagonal", lambda x: G.diagonal(x, 1), lambda x: torch.diagonal(x, 1), s34),
        fixed("nonzero", G.nonzero, torch.nonzero, s34, domain=_index_arr,
              differentiable=False, dtypes=("int64",)),
    ]


@register
def _nn_functional(G, torch):
    """The differentiable building blocks of gpuarr.nn.functional."""
    F, TF = G.nn.functional, torch.nn.functional

    def fixed(name, g, t, shapes, nargs=1, **kw):
        return OpInfo(name, g, t, nargs, broadcast=False, shapes=shapes, **kw)

    s = [((4, 5),), ((2, 3, 4),)]
    return [
        fixed("softmax", lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1), s),
        fixed("log_softmax", lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1), s),
        fixed("gelu", F.gelu, TF.gelu, s),
        fixed("leaky_relu", F.leaky_relu, TF.leaky_relu, s, domain=_away_from_zero),
        fixed("linear", F.linear, TF.linear, [((4, 5), (3, 5), (3,))], 3),
        fixed("layer_norm", lambda x: F.layer_norm(x, (x.shape[-1],)),
              lambda x: TF.layer_norm(x, (x.shape[-1],)), s),
        fixed("conv2d", F.conv2d, TF.conv2d, [((2, 3, 6, 5), (4, 3, 3, 2))], 2, rtol=1e-4,
              atol=1e-5),
        fixed("max_pool2d", lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2),
              [((2, 3, 4, 6),)], domain=_distinct),
        fixed("avg_pool2d", lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2),
              [((2, 3, 4, 6),)]),
        fixed("mse_loss", F.mse_loss, TF.mse_loss, [((4, 5), (4, 5))], 2),
        fixed("cross_entropy",
              lambda x: F.cross_entropy(x, G.tensor([0, 2, 1, 4], device=x.device)),
              lambda x: TF.cross_entropy(x, torch.tensor([0, 2, 1, 4], device=x.device)),
              [((4, 5),)]),
        fixed("bce_with_logits", F.binary_cross_entropy_with_logits,
              TF.binary_cross_entropy_with_logits, [((4, 5), (4, 5))], 2, domain=(0.1, 0.9)),
    ]
