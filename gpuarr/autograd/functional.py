"""Higher-level derivatives built on :func:`gpuarr.autograd.grad`: jacobian, hessian, vjp, jvp,
hvp, vhp (PyTorch's ``torch.autograd.functional`` API).

``jvp`` uses the double-vjp trick: with ``u`` a dummy cotangent, ``J v = d/du <J^T u, v>``.
"""

from __future__ import annotations

from .._core.grad_mode import enable_grad
from .._creation import ones_like, zeros, zeros_like
from ..ops.shape import reshape
from ..ops.stacking import stack
from ._backward import grad as _grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _tup(x):
    return (tuple(x), True) if isinstance(x, (list, tuple)) else ((x,), False)


def _prep_inputs(inputs, create_graph: bool):
    return tuple(
        (t if create_graph and t.requires_grad else t.detach()).requires_grad_(True)
        if not (create_graph and t.requires_grad) else t
        for t in inputs
    )


def _fill_none(grads, like):

    return tuple(zeros_like(x) if g is None else g for g, x in zip(grads, like))


def _maybe_detach(ts, create_graph: bool):
    return ts if create_graph else tuple(t.detach() for t in ts)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """Vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Returns:
        ``(func(inputs), vjp)``, each a Tensor or tuple like the inputs/outputs.
    """
    ins, in_tuple = _tup(inputs)
    with enable_grad():
        ins = _prep_inputs(ins, create_graph)
        outs = func(*ins)
        out_t, out_tuple = _tup(outs)
        vs = _tup(v)[0] if v is not None else (None,) * len(out_t)
        g = _grad(out_t, ins, vs, create_graph=create_graph, allow_unused=True,
                  retain_graph=True)
    g = _maybe_detach(_fill_none(g, ins), create_graph)
    outs = _maybe_detach(out_t, create_graph)
    return (outs if out_tuple else outs[0]), (g if in_tuple else g[0])


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """Jacobian-vector product ``J v`` of ``func`` at ``inputs`` (double-vjp trick).

    Returns:
        ``(func(inputs), jvp)``.
    """

    ins, in_tuple = _tup(inputs)
    vs = _tup(v)[0] if v is not None else tuple(ones_like(x) for x in ins)
    with enable_grad():
        ins = _prep_inputs(ins, create_graph)
        outs = func(*ins)
        out_t, out_tuple = _tup(outs)
        us = tuple(zeros_like(o).requires_grad_(True) for o in out_t)
        gin = _grad(out_t, ins, us, create_graph=True, allow_unused=True)
        pairs = [(g, vv) for g, vv in zip(gin, vs) if g is not None]
        if pairs:
            res = _grad([p[0] for p in pairs], us, [p[1] for p in pairs],
                        create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(us)
    res = _maybe_detach(_fill_none(res, out_t), create_graph)
    outs = _maybe_detach(out_t, create_graph)
    return (outs if out_tuple else outs[0]), (res if out_tuple else res[0])


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: shape ``out.shape + in.shape``.

    With several inputs/outputs, returns nested tuples ``J[i][j] = d out_i / d in_j``.

    Example:
        >>> gpuarr.autograd.functional.jacobian(lambda x: x ** 2, gpuarr.tensor([1., 2.]))
        tensor([[2., 0.],
                [0., 4.]])
    """

    ins, in_tuple = _tup(inputs)
    with enable_grad():
        ins = _prep_inputs(ins, create_graph)
        outs = func(*ins)
        out_t, out_tuple = _tup(outs)
        result = []
        for o in out_t:
            flat = reshape(o, (-1,))
            rows = [[] for _ in ins]
            for k in range(flat.shape[0]):
                g = _grad(flat[k], ins, retain_graph=True, create_graph=create_graph,
                          allow_unused=True)
                for j, (gj, x) in enumerate(zip(g, ins)):
                    rows[j].append(gj if gj is not None else zeros(x.shape, dtype=x.dtype,
                                                                    device=x.device))
            per_in = []
            for j, x in enumerate(ins):
                if rows[j]:
                    J = stack(rows[j]).reshape(tuple(o.shape) + tuple(x.shape))
                else:
                    J = zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype, device=x.device)
                per_in.append(J if create_graph else J.detach())
            result.append(tuple(per_in) if in_tuple else per_in[0])
    return tuple(result) if out_tuple else result[0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function ``func`` at ``inputs`` (``in.shape + in.shape``)."""
    ins, in_tuple = _tup(inputs)

    def grad_fn(*xs):
        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "with a single element")
        g = _grad(out.reshape(()), xs, create_graph=True, allow_unused=True)
        return _fill_none(g, xs) if in_tuple else _fill_none(g, xs)[0]

    return jacobian(grad_fn, ins if in_tuple else ins[0], create_graph=create_graph)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """Vector-Hessian product ``v^T H`` of a scalar ``func``. Returns ``(func(inputs), vhp)``."""
    ins, in_tuple = _tup(inputs)
    vs = _tup(v)[0]
    with enable_grad():
        ins = _prep_inputs(ins, create_graph)
        out = func(*ins)
        g = _fill_none(_grad(out, ins, create_graph=True, allow_unused=True), ins)
        dot = sum((gi * vi).sum() for gi, vi in zip(g, vs))
        res = _grad(dot, ins, create_graph=create_graph, allow_unused=True)
    res = _maybe_detach(_fill_none(res, ins), create_graph)
    out = out if create_graph else out.detach()
    return out, (res if in_tuple else res[0])


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """Hessian-vector product ``H v`` (equal to ``v^T H`` for the symmetric Hessian)."""
    return vhp(func, inputs, v, create_graph, strict)
