"""Replay passes (CPU): pairs of calls merged into one of the CPU backend's C kernels.

:func:`fuse_bias_relu`: a linear layer followed by ReLU adds its bias into the product
(``cpu_native.add_bias_rows``) and then takes ``maximum(h, zeros)``; the two become one pass
(``cpu_native.add_bias_rows_relu``, the same bits) when the maximum comes right after the add
(constants made in between aside).

:func:`fuse_weight_updates`: SGD's weight update fused into the kernel that computes the
gradient. A plain SGD step updates each weight with ``w += -lr * grad`` after the backward
wrote the gradient. For a linear layer of a small float32 batch the gradient comes from one C
kernel (``cpu_native.linear_weight_grad``), and the update then reads it back from memory: for
a 784x256 layer at batch 16 that is a 30 us pass over 2.4 MB, about a third of the time the
whole compiled step spent outside its matrix products. In a recorded program both calls are known,
so the pair

    G = linear_weight_grad(g, x)        (at position p)
    ...
    W = fused_axpy(a, G, W)             (at position q)

becomes one call at ``q`` that computes ``G`` and updates ``W`` while each element of ``G`` is
in a register (:func:`wgrad_sgd`). The kernel rounds exactly as the two calls do, so the
replay still equals eager bit for bit.

The call moves from ``p`` to ``q``, which is safe when nothing between them reads ``G`` and
nothing between them may write ``g`` or ``x``: a call that does not only read its operands
(not a pure one, not one of the C kernels that allocate their results) and takes an array
that may share memory with ``g`` or ``x`` (a view of it, or any array from outside the
program when ``g`` or ``x`` come from outside) keeps the two calls apart. That ``W`` shares
no memory with ``g`` or ``x`` is checked at each replay, which then runs the two calls.
"""

from __future__ import annotations

import numpy as np

from ..backends import cpu_native
from ..backends.numpy_backend import fused_axpy
from .buffers import OUT_ALIASES, _Static, aliased_args
from .program import is_pure
from .trace import Instr, Slot, slots_of

__all__ = ["fuse_bias_relu", "fuse_weight_updates", "wgrad_sgd"]

# the C kernels' wrappers that only read their operands (and return new arrays)
_READ_ONLY = frozenset(fn for fn, spec in OUT_ALIASES.items() if spec == "fresh")
_EXTERNAL = -1  # the alias group of every array that comes from outside the program


def wgrad_sgd(g: np.ndarray, x: np.ndarray, a: float, w: np.ndarray) -> tuple:
    """``G = g.T @ x`` (``cpu_native.linear_weight_grad``) and then ``w += a * G``
    (``numpy_backend.fused_axpy``): one pass where the update would run in gpuarr's FMA kernel,
    the two calls otherwise (the same bits either way).

    Args:
        g: the layer's output gradient ``(K, M)``; x: its input ``(K, N)`` (float32).
        a: the update's scale (SGD's ``-lr``).
        w: the weight ``(M, N)``, updated in place.

    Returns:
        ``(G, w)``.
    """
    # eager's update ran the FMA kernel iff axpy_fits(fresh float32 gradient, w)
    if (w.dtype == np.float32 and w.shape == (g.shape[1], x.shape[1])
            and cpu_native.axpy_fits(w, w)
            and not np.may_share_memory(w, g) and not np.may_share_memory(w, x)):
        return cpu_native.linear_weight_grad_sgd(g, x, a, w), w
    grad = cpu_native.linear_weight_grad(g, x)
    return grad, fused_axpy(a, grad, w)


OUT_ALIASES[wgrad_sgd] = ((), (3,))  # a new gradient, and the weight it updated


def fuse_weight_updates(instrs: list, needed: set, meta: dict) -> list:
    """``instrs`` with each weight-gradient call whose result the next use adds into a
    weight (``fused_axpy``) moved there and merged with it (see the module docstring).

    Args:
        instrs: the program after dead-code removal.
        needed: slots bound, made gradients or returned (unused: the pass keeps every value).
        meta: slot -> the value's ``(type, shape, dtype)`` at trace time (unused).
    """
    del needed, meta
    defined_at: dict = {}
    for i, ins in enumerate(instrs):
        for s in slots_of(ins.outs, set()):
            defined_at[s] = i
    group = _alias_groups(instrs, defined_at)
    out = list(instrs)
    for q, ins in enumerate(instrs):
        if ins.fn is not fused_axpy or ins.kwargs or len(ins.args) != 3:
            continue
        a, grad, w = ins.args
        if type(grad) is not Slot or type(w) is not Slot or type(ins.outs) is not Slot:
            continue
        p = defined_at.get(grad.index)
        if p is None or p >= q:
            continue
        mk = instrs[p]
        if (mk.fn is not cpu_native.linear_weight_grad or mk.kwargs or len(mk.args) != 2
                or type(mk.outs) is not Slot or out[p] is not mk):
            continue
        if not _movable(instrs, p, q, grad.index, mk.args, group):
            continue
        out[p] = None
        out[q] = Instr(wgrad_sgd, (*mk.args, a, w), {}, (mk.outs, ins.outs), ins.site)
    return [ins for ins in out if ins is not None]


def _alias_groups(instrs: list, defined_at: dict) -> dict:
    """slot -> its alias group: slots whose arrays may share memory get one group (a call
    that may return a view joins its result to its operands); every slot from outside the
    program is in :data:`_EXTERNAL`."""
    parent: dict = {}

    def find(s):
        while parent.get(s, s) != s:
            s = parent[s]
        return s

    def union(a, b) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            if rb == _EXTERNAL:
                ra, rb = rb, ra
            parent[rb] = ra

    for ins in instrs:
        used = slots_of(ins.args, set()) | slots_of(ins.kwargs, set())
        for s in used:
            if s not in defined_at:
                union(_EXTERNAL, s)
        for o in slots_of(ins.outs, set()):
            for s in aliased_args(ins, {o}):
                union(o, s)
    return {s: find(s) for s in set(parent) | set(defined_at)}


def _movable(instrs: list, p: int, q: int, grad: int, operands: tuple, group: dict) -> bool:
    """Whether the call at ``p`` (reading ``operands``, defining ``grad``) can run at ``q``."""
    watched = {group.get(s.index, s.index) for s in operands if type(s) is Slot}
    for r in instrs[p + 1:q]:
        used = slots_of(r.args, set()) | slots_of(r.kwargs, set())
        if grad in used:
            return False
        if (is_pure(r) and "out" not in r.kwargs) or r.fn in _READ_ONLY:
            continue
        if any(group.get(s, s) in watched for s in used):
            return False
    return True


def fuse_bias_relu(instrs: list, needed: set, meta: dict) -> list:
    """``instrs`` with each bias add followed by ReLU (``np.maximum`` against a kept array of
    zeros, as the CPU backend's ReLU) made one call (see the module docstring). Runs after
    :func:`~gpuarr._compile.buffers.keep_constants`, which makes ReLU's zeros a kept array.

    Args:
        instrs: the program.
        needed: slots bound, made gradients or returned (unused: the pass keeps every value).
        meta: slot -> the value's ``(type, shape, dtype)`` at trace time.
    """
    del needed
    out = list(instrs)
    for i, ins in enumerate(instrs):
        if (ins.fn is not cpu_native.add_bias_rows or ins.kwargs or len(ins.args) != 2
                or type(ins.outs) is not Slot):
            continue
        j = i + 1
        while j < len(instrs) and type(instrs[j].fn) is _Static:  # constants made between
            j += 1
        if j == len(instrs):
            continue
        nxt = instrs[j]
        if (nxt.fn is not np.maximum or nxt.kwargs or len(nxt.args) != 2
                or type(nxt.outs) is not Slot or nxt.args[0] != ins.outs
                or not _zeros_like(nxt.args[1], instrs[i + 1:j], meta.get(ins.outs.index))):
            continue
        out[i] = Instr(cpu_native.add_bias_rows_relu, ins.args, {}, (ins.outs, nxt.outs),
                       ins.site)
        out[j] = None
    return [ins for ins in out if ins is not None]


def _zeros_like(arg, between: list, m) -> bool:
    """Whether ``arg`` is a slot that one of the kept arrays ``between`` binds to zeros of the
    shape and dtype ``m`` (``(type, shape, dtype)``)."""
    if type(arg) is not Slot or m is None:
        return False
    for ins in between:
        if ins.outs == arg:
            buf = ins.fn.buf
            return (buf.shape == tuple(m[1]) and buf.dtype == m[2] and not buf.any()
                    and not np.signbit(buf).any())
    return False
