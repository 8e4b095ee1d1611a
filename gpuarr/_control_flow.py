"""torch's structured control-flow operators, run eagerly: :func:`cond` and :func:`while_loop`.

PyTorch runs ``torch.cond`` / ``torch.while_loop`` with a tensor predicate by tracing the
functions with fake tensors and checking what they return: tensors or ints only, no output that
aliases an input or another output, no in-place change of an input (for ``cond``: only while
grad mode is on), metadata (dtype, device, number of dimensions; for ``while_loop`` shape and
strides) that matches between the two branches, or between the loop body's outputs and the
carried values. gpuarr has no fake tensors, so it runs the functions on the real tensors and
makes the same checks on what they return, raising torch's errors (``RuntimeError``) with torch's
explanations.

One thing differs by design: ``cond`` runs only the branch that ``pred`` picks. torch also
traces the other branch (without running it) and so rejects a program whose two branches
return different dtypes or structures even when the other branch is never taken; gpuarr could
only make that check by running the other branch for real, which would apply its side effects
(a BatchNorm's running statistics, a random number drawn, a buffer updated in place), so it
does not. Likewise a ``while_loop`` whose ``cond_fn`` is false at once never runs ``body_fn``:
its result has the structure of ``carried_inputs``.

Reading a tensor predicate into Python (``pred.item()``) is an explicit device-to-host read: on
CUDA it waits for the predicate to be computed, as torch's eager ``cond`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _dtype as D
from ._core.function import Function
from ._core.grad_mode import _state as _grad_state
from ._core.tensor import TensorBase
from ._creation import zeros
from .func._pytree import tree_flatten, tree_unflatten
from .ops.tensor_info import _root

__all__ = ["cond", "while_loop"]


# --------------------------------------------------------------------------------------------
# shared checks


def _describe(t: Any) -> str:
    """A tensor's metadata as torch prints a FakeTensor (``FakeTensor(..., size=(4,))``),
    without its values: printing values would read a CUDA tensor back to the host."""
    if not isinstance(t, TensorBase):
        return repr(t)
    dev = "" if t.device.type == "cpu" else f"device='{t.device}', "
    dt = "" if t.dtype is D.float32 else f", dtype={t.dtype}"
    return f"Tensor(..., {dev}size={tuple(t.shape)}{dt})"


def _aliasing_error(op: str, what: str) -> RuntimeError:
    return RuntimeError(
        f"Encountered aliasing during higher order op tracing\n"
        f"  Higher Order Operator: {op}\n"
        f"  Explanation: Higher order ops do not support aliasing. {what} aliasing detected.\n"
        f"  Hint: Replace `return input` with `return input.clone()` to avoid aliasing.")


def _mutation_error(op: str) -> RuntimeError:
    return RuntimeError(
        f"Encountered input mutation during higher order op tracing\n"
        f"  Higher Order Operator: {op}\n"
        f"  Explanation: Higher order ops do not support input mutation.\n"
        f"  Hint: Consider using the debug context to change user code to avoid mutation.")


def _output_type_error(op: str, leaf: Any) -> RuntimeError:
    return RuntimeError(
        f"HOP body output unsupported\n"
        f"  Higher Order Operator: {op}\n"
        f"  Explanation: HigherOrderOperator body's output must consist of tensors or ints "
        f"only but got {type(leaf)}.")


def _check_outputs(op: str, flat_out: list, flat_in: list) -> None:
    """Reject what torch's tracing rejects in a function's outputs: leaves that are neither
    tensors nor ints, and tensors that share memory with an input or with another output."""
    in_roots = {id(_root(t._data)) for t in flat_in if isinstance(t, TensorBase)}
    out_roots: set = set()
    for leaf in flat_out:
        if isinstance(leaf, TensorBase):
            r = id(_root(leaf._data))
            if r in in_roots:
                raise _aliasing_error(op, "Input-to-output")
            if r in out_roots:
                raise _aliasing_error(op, "Output-to-output")
            out_roots.add(r)
        elif op == "torch.cond" and (leaf is None or isinstance(leaf, bool)):
            raise RuntimeError(
                "torch.cond: unsupported branch return type (constant non-int)\n"
                "  Higher Order Operator: torch.cond\n"
                f"  Explanation: Constants returned from branches must be ints, got {leaf!r}.")
        elif not isinstance(leaf, int) or isinstance(leaf, bool):
            raise _output_type_error(op, leaf)


def _versions(flat: list) -> list:
    return [t._version_value() if isinstance(t, TensorBase) else None for t in flat]


def _check_unmutated(op: str, flat: list, before: list) -> None:
    if _versions(flat) != before:
        raise _mutation_error(op)


# --------------------------------------------------------------------------------------------
# cond


class CondAutogradOp(Function):
    """The graph node of a ``cond`` whose operands (or predicate) require grad, named as
    torch's (``CondAutogradOpBackward``). It passes the chosen branch's gradients through
    unchanged and gives every operand that requires grad a zero gradient on top of what the
    branch gives it, so that, as in torch, operands the branch does not use get zeros (not
    None), and every floating output requires grad."""

    @staticmethod
    def forward(ctx, n_out: int, n_operands: int, *args):
        # args: the branch's outputs, the operands that require grad, then (optionally) the
        # predicate, which gets no gradient (as in torch)
        ctx.n_out = n_out
        ctx.in_meta = [(t.shape, t.dtype, t.device) for t in args[n_out:n_out + n_operands]]
        ctx.n_rest = len(args) - n_out - n_operands
        outs = args[:n_out]  # returned as they are: apply hands back aliases of them
        return outs if n_out > 1 else outs[0]

    @staticmethod
    def backward(ctx, *grads):
        needs = ctx.needs_input_grad[2 + ctx.n_out:]
        zero = [zeros(shape, dtype=dt, device=dev) if need else None
                for need, (shape, dt, dev) in zip(needs, ctx.in_meta)]
        return (None, None, *grads, *zero, *([None] * ctx.n_rest))


def _attach_cond_node(flat_out: list, grad_inputs: list, pred) -> list:
    """``flat_out`` with its floating tensors passed through :class:`CondAutogradOp`, one node
    per device, whose inputs also include the ``grad_inputs`` (and ``pred``, unless None) on
    that device."""
    flat_out = list(flat_out)
    by_device: dict = {}
    for i, leaf in enumerate(flat_out):
        if isinstance(leaf, TensorBase) and leaf.is_floating_point():
            by_device.setdefault(leaf.device, []).append(i)
    for dev, idx in by_device.items():
        extra = [t for t in grad_inputs if t.device == dev]
        last = [pred] if pred is not None and pred.device == dev else []
        res = CondAutogradOp.apply(len(idx), len(extra), *[flat_out[i] for i in idx], *extra,
                                   *last)
        res = res if isinstance(res, tuple) else (res,)
        for i, r in zip(idx, res):
            flat_out[i] = r
    return flat_out


def _dense_error(branch: str, t: TensorBase) -> RuntimeError:
    return RuntimeError(
        "It seems one of cond's output stride is not a simple accumulative multiplication of "
        "sizes. This could be because cond returns a slice of a tensor, which is not dense in "
        f"memory. {branch} branch has size {t.shape}, stride {t.stride()}. Hint: can call "
        "t.contiguous(). ")


def _is_dense(shape: tuple, strides: tuple) -> bool:
    """Whether ``strides`` lay ``shape`` out without gaps, in some order of the dimensions
    (broadcast dimensions, of stride 0, and dimensions of size 1 left aside)."""
    if any(n == 0 for n in shape):
        return True
    dims = sorted((s, n) for s, n in zip(strides, shape) if s != 0 and n != 1)
    reachable = {1}
    for s, n in dims:
        if s not in reachable:
            return False
        reachable.add(s * n)
    return True


def cond(pred, true_fn: Callable, false_fn: Callable, operands: tuple | list = ()) -> Any:
    """Apply ``true_fn(*operands)`` if ``pred`` is true, else ``false_fn(*operands)``.

    torch's structured if-statement (``torch.cond``), run eagerly. A Python ``bool``, ``int``
    or ``float`` predicate simply picks the branch. A tensor predicate must have one element;
    its value is read to the host (a synchronisation on CUDA), and the chosen branch's outputs
    are checked as torch checks them: tensors or ints (nested in tuples, lists or dicts), none
    aliasing an operand or another output, dense in memory, and (while grad mode is on) no
    operand changed in place. Gradients flow through the chosen branch; when an operand or
    the predicate requires grad, every floating output requires grad and operands the branch
    does not use receive zero gradients, as in torch.

    Args:
        pred: a bool/int/float, or a one-element tensor (any dtype; nonzero is true).
        true_fn: called with ``*operands`` when ``pred`` is true.
        false_fn: called with ``*operands`` when ``pred`` is false.
        operands: a tuple or list whose leaves (through nested tuples, lists and dicts) are
            tensors.

    Returns:
        What the chosen branch returns.

    Raises:
        RuntimeError: torch's errors for a bad predicate, branch or operand, and for branch
            outputs torch rejects (see above). Unlike torch, the branch that is not taken is
            neither run nor checked (see the module docstring).

    Example:
        >>> x = gpuarr.arange(4.0, requires_grad=True)
        >>> y = gpuarr.cond(x.sum() > 4, lambda a: a.cos(), lambda a: a.sin(), (x,))
        >>> y.sum().backward()
    """
    if isinstance(pred, (bool, int, float)):
        # a Python constant: torch runs the branch without any checks
        return true_fn(*operands) if pred else false_fn(*operands)
    if not isinstance(pred, TensorBase):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    flat_in = tree_flatten(operands)[0] if isinstance(operands, (tuple, list)) else None
    if flat_in is None or not all(isinstance(t, TensorBase) for t in flat_in):
        raise RuntimeError(
            "Expect operands to be a tuple of possibly nested dict/list/tuple that only "
            f"consists of tensor leaves, but got {operands}.")

    taken = bool(pred.item())  # the explicit device-to-host read of the predicate
    grad_on = _grad_state.enabled
    before = _versions(flat_in) if grad_on else None
    out = (true_fn if taken else false_fn)(*operands)
    if grad_on:
        _check_unmutated("torch.cond", flat_in, before)
    flat_out, spec = tree_flatten(out)
    _check_outputs("torch.cond", flat_out, flat_in)
    for leaf in flat_out:
        if isinstance(leaf, TensorBase) and not _is_dense(tuple(leaf.shape), leaf.stride()):
            raise _dense_error("True" if taken else "False", leaf)

    if grad_on:
        grad_inputs = [t for t in flat_in if t.requires_grad]
        grad_pred = pred if pred.requires_grad else None
        if grad_inputs or grad_pred is not None:
            return tree_unflatten(_attach_cond_node(flat_out, grad_inputs, grad_pred), spec)
    return out


# --------------------------------------------------------------------------------------------
# while_loop


def _loop_pred(p: Any, flat_in: list) -> bool:
    """The Python truth of what ``cond_fn`` returned, checked as torch checks it."""
    if isinstance(p, TensorBase):
        if p.dtype is not D.bool or p.dim() != 0:
            raise RuntimeError(
                "torch.while_loop: unsupported cond_fn return type\n"
                "  Higher Order Operator: torch.while_loop\n"
                f"  Explanation: Expected cond_fn to return a scalar tensor or a bool but got "
                f"{p.shape}.")
        _check_outputs("torch.while_loop", [p], flat_in)
        return bool(p.item())  # the explicit device-to-host read of the loop condition
    if isinstance(p, bool):
        return p
    if p is None:  # torch treats a constant falsy result as "never loop"
        return False
    raise RuntimeError(f"cond_fn must return a boolean scalar tensor or a boolean but got {p}")


def _meta_diffs(flat_out: list, flat_in: list) -> list[str]:
    """torch's per-pair differences between the body's outputs and the carried values."""
    diffs = []
    for i, (lhs, rhs) in enumerate(zip(flat_out, flat_in)):
        where = f"where lhs is {_describe(lhs)} and rhs is {_describe(rhs)}"
        lt, rt = isinstance(lhs, TensorBase), isinstance(rhs, TensorBase)
        if lt and rt:
            found = []
            if lhs.shape != rhs.shape:
                found.append(f"'shape: {lhs.shape} vs {rhs.shape}'")
            if lhs.dtype is not rhs.dtype:
                found.append(f"'dtype: {lhs.dtype} vs {rhs.dtype}'")
            # strides of dimensions of size 1 say nothing about the layout (and NumPy's may
            # differ from torch's there), so only the others are compared
            ls, rs = lhs.stride(), rhs.stride()
            if lhs.shape != rhs.shape or any(
                    a != b for a, b, n in zip(ls, rs, lhs.shape) if n > 1):
                if ls != rs:
                    found.append(f"'stride: {ls} vs {rs}'")
            if found:
                diffs.append(f"pair[{i}] differ in {', '.join(found)}, {where}")
            if lhs.device != rhs.device:
                diffs.append(f"pair[{i}] differ in device, {where}")
        elif lt or rt:
            diffs.append(f"pair[{i}] differ in type: {_describe(lhs)} vs {_describe(rhs)}, "
                         f"{where}")
    return diffs


def _check_body(flat_out: list, flat_in: list) -> None:
    for leaf in flat_out:
        if not isinstance(leaf, (TensorBase, int)):
            raise _output_type_error("torch.while_loop", leaf)
    if len(flat_out) != len(flat_in):
        raise RuntimeError(
            "Expected body_fn_output and carried_inputs to have same number of outputs but got "
            f"lhs:[{', '.join(map(_describe, flat_out))}] and "
            f"rhs:[{', '.join(map(_describe, flat_in))}]")
    diffs = _meta_diffs(flat_out, flat_in)
    if diffs:
        raise RuntimeError(
            "Expected body_fn_output and carried_inputs to have same metadata but found:\n"
            + "\n".join(diffs))
    _check_outputs("torch.while_loop",
                   [x for x in flat_out if not isinstance(x, bool)], flat_in)


def while_loop(cond_fn: Callable, body_fn: Callable, carried_inputs: tuple | list) -> Any:
    """Run ``body_fn(*carried)`` while ``cond_fn(*carried)`` is true (``torch.while_loop``).

    Equivalent to::

        val = carried_inputs
        while cond_fn(*val):
            val = body_fn(*val)
        return val

    with torch's checks on every iteration: ``cond_fn`` returns a Python bool or a 0-d bool
    tensor (read to the host: a synchronisation on CUDA); ``body_fn`` returns as many tensors
    and ints (flattened through tuples, lists and dicts) as ``carried_inputs`` has, each with
    the carried value's shape, dtype, strides and device, none aliasing an input or another
    output, and changes no carried tensor in place. Gradients flow through every iteration.

    Args:
        cond_fn: the loop condition, called with the carried values.
        body_fn: the loop body, called with the carried values; returns the next ones.
        carried_inputs: a tuple or list of the initial values (tensors and ints, possibly
            nested in tuples, lists and dicts).

    Returns:
        The last output of ``body_fn`` (with its structure), or, when ``cond_fn`` is false at
        once, copies of ``carried_inputs``' tensors in ``carried_inputs``' structure.

    Raises:
        RuntimeError: a function is not callable, ``carried_inputs`` is not a tuple or list,
            ``cond_fn``'s result is not a boolean scalar, or ``body_fn``'s outputs break the
            rules above (torch's messages).
        AssertionError: a carried leaf is neither a tensor nor an int (as torch).

    Example:
        >>> i, x = gpuarr.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2),
        ...                          (gpuarr.tensor(0), gpuarr.ones(2)))
        >>> x
        tensor([8., 8.])
    """
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    flat, spec = tree_flatten(carried_inputs)
    if not all(isinstance(a, (TensorBase, int)) for a in flat):
        raise AssertionError(
            f"{flat} can only be of (<class 'gpuarr.Tensor'>, <class 'int'>) but got "
            f"{tuple(type(a) for a in flat)}")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(
            f"carried_inputs must be a tuple or list but got {type(carried_inputs)}")

    carried = carried_inputs
    before = _versions(flat)
    go = _loop_pred(cond_fn(*carried), flat)
    _check_unmutated("torch.while_loop", flat, before)
    if not go:
        return tree_unflatten([a.clone() if isinstance(a, TensorBase) else a for a in flat],
                              spec)
    while True:
        out = body_fn(*carried)
        _check_unmutated("torch.while_loop", flat, before)
        flat_out = tree_flatten(out)[0]
        _check_body(flat_out, flat)
        flat = flat_out
        carried = tree_unflatten(flat, spec)
        before = _versions(flat)
        go = _loop_pred(cond_fn(*carried), flat)
        _check_unmutated("torch.while_loop", flat, before)
        if not go:
            return out
