"""Differentiation transforms (torch.func's ``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``jacrev``, ``jacfwd``, ``hessian``, ``linearize``) and ``functionalize``.

All run on gpuarr's one reverse-mode graph (:mod:`._levels` explains how they nest). There is
no forward-mode AD: ``jvp``, ``jacfwd`` and ``linearize`` use the double-vjp trick: with ``u``
a dummy cotangent, ``g(u) = J^T u`` is linear in ``u``, so ``d<g(u), v>/du = J v``. This is
exact wherever the backward formulas are differentiable (gpuarr writes them with its own ops).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._creation import eye, zeros, zeros_like
from .._tensor import Tensor
from ..autograd._backward import grad as _autograd_grad
from ..ops.stacking import stack
from ._levels import Level, check_tensor
from ._pytree import tree_flatten, tree_unflatten, treespec_pprint
from .vmap import check_randomness, rng_guard

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize",
           "functionalize"]

_GRAD_STR = "grad_and_value(f)(*args)"
_VJP_STR = "vjp(f, *primals)"
_JVP_STR = "jvp(f, primals, tangents)"


# ----------------------------------------------------------------------------- helpers

def _check_argnums(argnums, nargs: int) -> None:
    """torch's checks of ``argnums`` against the number of positional arguments."""
    def one(a):
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"argnum must be int, got: {type(a)}")
        if not -nargs <= a < nargs:
            raise RuntimeError(f"Got argnum={a}, but only {nargs} positional inputs")
        return a % nargs

    if isinstance(argnums, int) and not isinstance(argnums, bool):
        one(argnums)
        return
    if not isinstance(argnums, tuple):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if len(argnums) == 0:
        raise RuntimeError("argnums must be non-empty")
    normalized = tuple(one(a) for a in argnums)
    if len(set(normalized)) != len(normalized):
        raise RuntimeError(f"argnums elements must be unique, got {normalized}")


def _wrap_args(level: Level, args: tuple, argnums) -> tuple[list, Any, list]:
    """``args`` with the leaves of the differentiated ones (``argnums``) given fresh graph
    nodes. Returns (new args, the differentiated part as it will be returned, its flat
    leaves)."""
    args = list(args)
    nums = (argnums,) if isinstance(argnums, int) else argnums
    for a in nums:
        leaves, spec = tree_flatten(args[a])
        args[a] = tree_unflatten([level.wrap(x) for x in leaves], spec)
    diff = args[argnums] if isinstance(argnums, int) else tuple(args[a] for a in nums)
    return args, diff, tree_flatten(diff)[0]


def _split_aux(out, has_aux: bool, api: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) "
                           "if has_aux is True")
    aux_leaves = tree_flatten(out[1])[0]
    for a in aux_leaves:
        if not isinstance(a, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(a)}")
    return out[0], out[1]


def _check_outputs(leaves, api: str, what: str = "f(*primals)") -> None:
    for o in leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected {what} to return only tensors, got "
                               f"unsupported type {type(o)}")


def _grads(outs, ins, grad_outs, create_graph: bool, retain_graph: bool = True) -> list:
    """d outs / d ins with ``grad_outs``; zeros for inputs the outputs do not depend on."""
    pairs = [(o, g) for o, g in zip(outs, grad_outs) if o.requires_grad]
    if not pairs or not ins:
        return [zeros_like(x) for x in ins]
    res = _autograd_grad([p[0] for p in pairs], ins, [p[1] for p in pairs],
                         retain_graph=retain_graph, create_graph=create_graph,
                         allow_unused=True)
    return [zeros_like(x) if g is None else g for g, x in zip(res, ins)]


def _finish_tree(level: Level, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([level.finish(t) for t in leaves], spec)


# ----------------------------------------------------------------------------- grad

def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """Like :func:`grad`, but the returned function gives ``(gradient, value)`` (with
    ``has_aux``: ``(gradient, (value, aux))``).

    Args:
        func: a function returning a 0-dim Tensor (and, with ``has_aux``, a second output).
        argnums: which positional argument(s) to differentiate with respect to.
        has_aux: ``func`` returns ``(output, aux)``; aux is returned, not differentiated.

    Returns:
        A function with ``func``'s arguments.

    Example:
        >>> g, v = grad_and_value(lambda x: (x ** 2).sum())(gpuarr.tensor([1.0, 2.0]))
        >>> g, v
        (tensor([2., 4.]), tensor(5.))
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _check_argnums(argnums, len(args))
        with Level() as level:
            args, diff, flat_in = _wrap_args(level, args, argnums)
            out, aux = _split_aux(func(*args, **kwargs), has_aux, _GRAD_STR)
            if not isinstance(out, Tensor):
                raise RuntimeError(f"{_GRAD_STR}: Expected f(*args) to return a Tensor, got "
                                   f"{type(out)}")
            if out.dim() != 0:
                raise RuntimeError(
                    f"{_GRAD_STR}: Expected f(*args) to return a scalar Tensor, got tensor with "
                    f"{out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
            g = _grads([out], flat_in, [None], level.needs_graph([out]), retain_graph=None)
        g = [level.finish(t) for t in g]
        grads = tree_unflatten(g, tree_flatten(diff)[1])
        value = level.finish(out)
        if has_aux:
            return grads, (value, _finish_tree(level, aux))
        return grads, value

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient transform: ``grad(f)(x)`` is the gradient of the scalar ``f`` at ``x``.

    Composes with itself (``grad(grad(f))`` for higher derivatives) and with the other
    transforms (``vmap(grad(f))`` for per-sample gradients). Inputs may be pytrees (tuples,
    lists, dicts) of Tensors; the gradient has the same structure.

    Args:
        func: a function returning a 0-dim Tensor (with ``has_aux``: ``(output, aux)``).
        argnums: the positional argument(s) to differentiate; a tuple gives a tuple of
            gradients.
        has_aux: ``func`` also returns auxiliary data, returned as ``(gradient, aux)``.

    Returns:
        A function with ``func``'s arguments returning the gradient.

    Raises:
        RuntimeError: for a non-scalar or non-Tensor output and bad ``argnums``.

    Example:
        >>> grad(gpuarr.sin)(gpuarr.tensor(0.0))
        tensor(1.)
        >>> grad(grad(gpuarr.sin))(gpuarr.tensor(0.0))
        tensor(-0.)
    """
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# ----------------------------------------------------------------------------- vjp

def vjp(func: Callable, *primals, has_aux: bool = False):
    """The vector-Jacobian product: ``func``'s output and a function computing ``v^T J``.

    Args:
        func: a function of Tensors (pytrees allowed) returning Tensors (pytrees allowed).
        *primals: where to evaluate ``func``.
        has_aux: ``func`` returns ``(output, aux)``; aux is returned third.

    Returns:
        ``(output, vjp_fn)`` (``(output, vjp_fn, aux)`` with ``has_aux``). ``vjp_fn(ct)``
        takes cotangents shaped like the output and returns a tuple with one gradient per
        primal; it can be called many times.

    Example:
        >>> out, fn = vjp(gpuarr.sin, gpuarr.tensor([0.0, 1.0]))
        >>> fn(gpuarr.ones(2))
        (tensor([1.0000, 0.5403]),)
    """
    with Level() as level:
        args, diff, flat_in = _wrap_args(level, primals, tuple(range(len(primals))))
        out, aux = _split_aux(func(*args), has_aux, _VJP_STR)
        flat_out, out_spec = tree_flatten(out)
        _check_outputs(flat_out, _VJP_STR)
    in_spec = tree_flatten(diff)[1]

    def vjp_fn(cotangents, retain_graph: bool = True, create_graph: bool | None = None):
        flat_ct, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure "
                f"of outputs to the function. cotangents: {treespec_pprint(ct_spec)}, primal "
                f"output: {treespec_pprint(out_spec)}")
        with Level() as inner:
            # this call's level decides about the graph; the vjp's own level made the leaves
            inner.outer = max(inner.outer, level.outer)
            need = create_graph if create_graph is not None else inner.needs_graph(
                list(flat_out) + list(flat_ct))
            g = _grads(flat_out, flat_in, flat_ct, need, retain_graph=retain_graph)
        return tree_unflatten([inner.finish(t) for t in g], in_spec)

    outs = _finish_tree(level, out)
    if has_aux:
        return outs, vjp_fn, _finish_tree(level, aux)
    return outs, vjp_fn


# ----------------------------------------------------------------------------- forward mode

class _Forward:
    """One evaluation of ``func`` ready for Jacobian-vector products (double-vjp trick):
    ``g = J^T u`` for dummy cotangents ``u`` stays recorded, and ``J v = d<g, v>/du``."""

    def __init__(self, level: Level, func: Callable, args: list, flat_in: list,
                 has_aux: bool, api: str, what: str) -> None:
        self.level = level
        self.flat_in = flat_in
        out, self.aux = _split_aux(func(*args), has_aux, api)
        self.flat_out, self.out_spec = tree_flatten(out)
        _check_outputs(self.flat_out, api, what)
        self.out = out
        self.us = [level.leaf(zeros_like(o).requires_grad_(True)) if o.requires_grad else None
                   for o in self.flat_out]
        diff = [(o, u) for o, u in zip(self.flat_out, self.us) if u is not None]
        self.g = _grads([p[0] for p in diff], flat_in, [p[1] for p in diff], True) \
            if diff else [None] * len(flat_in)

    def jvp(self, flat_tangents: list, create_graph: bool) -> list:
        """``J v`` per output, for tangents ``v`` given per flat input."""
        pairs = [(g, v.to(g.dtype)) for g, v in zip(self.g, flat_tangents)
                 if g is not None and g.requires_grad]
        us = [u for u in self.us if u is not None]
        if pairs and us:
            res = _autograd_grad([p[0] for p in pairs], us, [p[1] for p in pairs],
                                 retain_graph=True, create_graph=create_graph,
                                 allow_unused=True)
        else:
            res = [None] * len(us)
        it = iter(res)
        return [zeros_like(o) if u is None else _or_zeros(next(it), o)
                for o, u in zip(self.flat_out, self.us)]


def _or_zeros(t, like: Tensor) -> Tensor:
    return zeros_like(like) if t is None else t


def _check_tangent_shapes(flat_primals, flat_tangents) -> None:
    for p, t in zip(flat_primals, flat_tangents):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                "original Tensor, this is not supported. Tensor is of size "
                f"{list(p.shape)} while the given forward gradient is of size {list(t.shape)}.")


def _only_tensors(leaves, name: str) -> None:
    if not leaves:
        raise RuntimeError(f"{_JVP_STR}: Expected {name} to contain at least one Tensor.")
    for x in leaves:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"{_JVP_STR}: Expected {name} to only contain Tensors, got "
                               f"{type(x)}")


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False,
        has_aux: bool = False):
    """The Jacobian-vector product ``J v`` of ``func`` at ``primals`` (forward mode).

    Computed with the double-vjp trick on the reverse-mode graph (exact, not approximated).

    Args:
        func: a function of Tensors returning Tensors (pytrees allowed).
        primals: a tuple of ``func``'s positional arguments.
        tangents: a tuple with the same structure and shapes: the direction ``v``.
        strict: accepted for torch's signature (no effect, as in torch).
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, jvp_out)`` (``(output, jvp_out, aux)`` with ``has_aux``).

    Example:
        >>> jvp(gpuarr.sin, (gpuarr.tensor(0.0),), (gpuarr.tensor(2.0),))
        (tensor(0.), tensor(2.))
    """
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{_JVP_STR}: Expected primals to be a tuple. E.g. it should be "
                           "valid to call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(
            f"{_JVP_STR}: Expected primals and tangents to have the same python structure. "
            "For example, if primals is a tuple of 3 tensors, tangents also must be. Got "
            f"primals with structure {p_spec} and tangents with structure {t_spec}")
    _only_tensors(flat_p, "primals")
    _only_tensors(flat_t, "tangents")
    _check_tangent_shapes(flat_p, flat_t)
    with Level() as level:
        args, _diff, flat_in = _wrap_args(level, primals, tuple(range(len(primals))))
        fwd = _Forward(level, func, args, flat_in, has_aux, _JVP_STR, "f(*primals)")
        need = level.needs_graph(list(fwd.flat_out) + list(flat_t))
        res = fwd.jvp(flat_t, need)
    outs = _finish_tree(level, fwd.out)
    tans = tree_unflatten([level.finish(t) for t in res], fwd.out_spec)
    if has_aux:
        return outs, tans, _finish_tree(level, fwd.aux)
    return outs, tans


def linearize(func: Callable, *primals) -> tuple[Any, Callable]:
    """``func``'s output at ``primals`` and a function computing its Jacobian-vector
    products there (``jvp_fn(*tangents)``), evaluating ``func`` only once.

    Returns:
        ``(output, jvp_fn)``.

    Example:
        >>> out, jvp_fn = linearize(gpuarr.sin, gpuarr.tensor([0.0, 1.0]))
        >>> jvp_fn(gpuarr.ones(2))
        tensor([1.0000, 0.5403])
    """
    flat_p, p_spec = tree_flatten(primals)
    for x in flat_p:
        check_tensor(x)
    with Level() as level:
        args, _diff, flat_in = _wrap_args(level, primals, tuple(range(len(primals))))
        fwd = _Forward(level, func, args, flat_in, False, _JVP_STR, "f(*primals)")

    def jvp_fn(*tangents):
        flat_t, t_spec = tree_flatten(tangents)
        if t_spec != p_spec:
            raise RuntimeError(f"Expected the tangents {t_spec} to have the same argspec as "
                               f"the primals {p_spec}")
        for i, (p, t) in enumerate(zip(flat_p, flat_t)):
            if tuple(p.shape) != tuple(t.shape):
                raise RuntimeError(
                    f"tangent:{i} with shape {t.shape} in flattened pytree doesn't match the "
                    f"shape {p.shape} of the corresponding primal.")
        with Level() as inner:
            inner.outer = max(inner.outer, level.outer)
            res = fwd.jvp(flat_t, inner.needs_graph(list(fwd.flat_out) + list(flat_t)))
        return tree_unflatten([inner.finish(t) for t in res], fwd.out_spec)

    return _finish_tree(level, fwd.out), jvp_fn


# ----------------------------------------------------------------------------- jacobians

def _jac_structure(out_spec, per_out: list, diff, argnums):
    """Nest the Jacobian blocks as torch does: output structure outside, then the
    differentiated arguments' structure (a tuple when ``argnums`` is a tuple)."""
    in_spec = tree_flatten(diff)[1]
    blocks = [tree_unflatten(row, in_spec) for row in per_out]
    return tree_unflatten(blocks, out_spec)


def _check_chunk_size(chunk_size) -> None:
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False,
           chunk_size: int | None = None, _preallocate_and_copy: bool = False) -> Callable:
    """The Jacobian of ``func`` with respect to argument(s) ``argnums``, row by row with
    reverse-mode products (one backward per output element).

    The Jacobian of an output ``o`` with respect to an input ``x`` has shape
    ``o.shape + x.shape``; pytrees of outputs and inputs nest as in torch.

    Args:
        func: a function of Tensors returning Tensors.
        argnums: argument(s) to differentiate (a tuple gives a tuple of Jacobians).
        has_aux: ``func`` returns ``(output, aux)``; the result is ``(jacobian, aux)``.
        chunk_size: validated as torch does; rows are always computed one at a time here.

    Returns:
        A function with ``func``'s arguments returning the Jacobian.

    Example:
        >>> jacrev(gpuarr.sin)(gpuarr.tensor([0.0, 1.0]))
        tensor([[1.0000, 0.0000],
                [0.0000, 0.5403]])
    """
    _check_chunk_size(chunk_size)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _check_argnums(argnums, len(args))
        with Level() as level:
            args, diff, flat_in = _wrap_args(level, args, argnums)
            out, aux = _split_aux(func(*args, **kwargs), has_aux, _VJP_STR)
            flat_out, out_spec = tree_flatten(out)
            _check_outputs(flat_out, _VJP_STR)
            need = level.needs_graph(flat_out)
            per_out = [_jacrev_rows(o, flat_in, need) for o in flat_out]
        per_out = [[level.finish(j) for j in row] for row in per_out]
        jac = _jac_structure(out_spec, per_out, diff, argnums)
        return (jac, _finish_tree(level, aux)) if has_aux else jac

    return wrapper


def _jacrev_rows(o: Tensor, flat_in: list, create_graph: bool) -> list:
    """d o / d x for every x of ``flat_in``, each shaped ``o.shape + x.shape``."""
    n = o.numel()
    if n == 0 or not o.requires_grad:
        return [zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype, device=x.device)
                for x in flat_in]
    basis = eye(n, dtype=o.dtype, device=o.device)
    rows = [_grads([o], flat_in, [basis[k].reshape(o.shape)], create_graph) for k in range(n)]
    return [stack([r[j] for r in rows]).reshape(tuple(o.shape) + tuple(x.shape))
            for j, x in enumerate(flat_in)]


def jacfwd(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """The Jacobian of ``func`` with respect to argument(s) ``argnums``, column by column
    with forward products (double-vjp trick; one product per input element).

    Args:
        func: a function of Tensors returning Tensors.
        argnums: argument(s) to differentiate.
        has_aux: ``func`` returns ``(output, aux)``; the result is ``(jacobian, aux)``.
        randomness: as :func:`vmap`'s: ``'error'`` raises if ``func`` draws random numbers.

    Returns:
        A function with ``func``'s arguments returning the Jacobian (``o.shape + x.shape``
        per output ``o`` and input ``x``).

    Example:
        >>> jacfwd(lambda x: x ** 2)(gpuarr.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        check_randomness(randomness)  # torch checks it at call time
        _check_argnums(argnums, len(args))
        with Level() as level:
            args, diff, flat_in = _wrap_args(level, args, argnums)
            with rng_guard(randomness):
                fwd = _Forward(level, lambda *a: func(*a, **kwargs), args, flat_in, has_aux,
                               _JVP_STR, "f(*primals)")
            need = level.needs_graph(fwd.flat_out)
            per_out = _jacfwd_columns(fwd, flat_in, need)
        per_out = [[level.finish(j) for j in row] for row in per_out]
        jac = _jac_structure(fwd.out_spec, per_out, diff, argnums)
        return (jac, _finish_tree(level, fwd.aux)) if has_aux else jac

    return wrapper


def _jacfwd_columns(fwd: _Forward, flat_in: list, create_graph: bool) -> list:
    """Per output, per input ``x``: the Jacobian block, one JVP per element of ``x``."""
    per_out = [[None] * len(flat_in) for _ in fwd.flat_out]
    for j, x in enumerate(flat_in):
        n = x.numel()
        basis = eye(n, dtype=x.dtype, device=x.device) if n else None
        zero = [zeros_like(y) for y in flat_in]
        cols = []
        for k in range(n):
            tangents = list(zero)
            tangents[j] = basis[k].reshape(x.shape)
            cols.append(fwd.jvp(tangents, create_graph))
        for i, o in enumerate(fwd.flat_out):
            shape = tuple(o.shape) + tuple(x.shape)
            if n == 0:
                per_out[i][j] = zeros(shape, dtype=o.dtype, device=o.device)
            else:
                per_out[i][j] = stack([c[i] for c in cols], dim=-1).reshape(shape)
    return per_out


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Hessian of scalar ``func`` with respect to argument(s) ``argnums``:
    ``jacfwd(jacrev(func, argnums), argnums)``, as torch computes it.

    Example:
        >>> hessian(lambda x: (x ** 3).sum())(gpuarr.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)


# ----------------------------------------------------------------------------- functionalize

_REMOVE_HELP = (
    "     remove='mutations': all inplace and out= operators will be removed from the "
    "program, and replaced with their out-of-place equivalents.\n"
    "     remove='mutations_and_views': In addition to the above, all aliasing operators "
    "{view} will be replaced with their non-aliasing counterparts, {view}_copy.\n")


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``func`` with mutations (and, optionally, views) removed from its program.

    gpuarr runs eagerly, and removing mutations is a program rewrite with the same
    observable results (inputs ``func`` mutates are still updated), so the returned function
    simply calls ``func``; ``remove`` is validated as torch does.

    Args:
        func: any function.
        remove: ``'mutations'`` or ``'mutations_and_views'``.

    Returns:
        A function with ``func``'s signature and results.

    Example:
        >>> def f(x):
        ...     y = x.clone(); y.add_(1); return y
        >>> functionalize(f)(gpuarr.zeros(2))
        tensor([1., 1.])
    """
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument "
                           f"for remove={remove}. Valid options are:\n{_REMOVE_HELP}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper
