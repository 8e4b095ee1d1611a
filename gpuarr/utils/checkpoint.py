"""``gpuarr.utils.checkpoint``: trade compute for memory. A checkpointed function keeps only
its inputs and outputs; its backward runs the function again to rebuild what it needs.

Two variants, as torch's:

* ``use_reentrant=True`` (torch's default when the argument is left out, with its warning):
  the forward runs without a graph; the backward recomputes and runs a nested ``backward()``,
  which puts gradients straight into the parameters' ``.grad``. Gradients reach the inputs only
  if some input requires grad; keyword arguments are refused.
* ``use_reentrant=False`` (torch's recommendation): the checkpoint is one node of the graph
  whose inputs are the function's tensor inputs *and* every leaf it used (its parameters), so
  ``autograd.grad`` and ``create_graph=True`` work and parameters get gradients even when no
  input requires grad. gpuarr finds those leaves by running the forward once with a graph and
  walking it, then drops that graph: peak memory is one checkpointed segment's activations,
  while torch keeps none.

Both restore the random state of the forward for the recomputation (``preserve_rng_state``), so
dropout draws the same mask twice, and rerun under the forward's autocast state.

Example:
    >>> block = gpuarr.nn.Sequential(gpuarr.nn.Linear(8, 8), gpuarr.nn.ReLU())
    >>> x = gpuarr.randn(4, 8, requires_grad=True)
    >>> y = checkpoint(block, x, use_reentrant=False)
    >>> y.sum().backward()          # block runs again here; x.grad and the weights' grads fill
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from .. import cuda
from .._core.function import AccumulateGrad, Function
from .._core.grad_mode import _state, enable_grad, no_grad
from .._core.tensor import TensorBase
from ..amp import autocast_mode as _autocast
from ..autograd import _backward
from ..random import fork_rng, get_rng_state, set_rng_state

__all__ = ["checkpoint", "checkpoint_sequential", "detach_variable", "noop_context_fn",
           "get_device_states", "set_device_states", "CheckpointError"]

_REENTRANT_WARNING = (
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting "
    "in PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
    "use_reentrant=False is recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
    "differences between the two variants.")
_NO_GRAD_WARNING = "None of the inputs have requires_grad=True. Gradients will be None"


class CheckpointError(RuntimeError):
    """Raised when a recomputation does not reproduce the forward (as torch's)."""


def noop_context_fn() -> tuple:
    """The default ``context_fn``: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """Detached copies of the tensors in ``inputs``, keeping their ``requires_grad``.

    Args:
        inputs: a tuple of tensors and other values.

    Returns:
        The tuple with each tensor replaced by a detached one.

    Example:
        >>> (a,) = detach_variable((gpuarr.ones(2, requires_grad=True),))
        >>> a.requires_grad, a.grad_fn is None
        (True, True)
    """
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    return tuple(x.detach().requires_grad_(x.requires_grad) if isinstance(x, TensorBase)
                 else x for x in inputs)


def get_device_states(*args) -> tuple[list[int], list]:
    """The CUDA devices of the tensors in ``args`` and their generators' states.

    Returns:
        ``(device indices, states)``.
    """
    devices = sorted({a.device.index or 0 for a in _tensors(args) if a.device.type == "cuda"})
    return devices, [cuda.get_rng_state(d) for d in devices]


def set_device_states(devices: list[int], states: list, *, device_type=None) -> None:
    """Restore the generators of CUDA ``devices`` to ``states`` (from
    :func:`get_device_states`)."""
    for d, s in zip(devices, states, strict=True):
        cuda.set_rng_state(s, d)


def _tensors(args: Iterable) -> list:
    return [a for a in args if isinstance(a, TensorBase)]


# --------------------------------------------------------------------------------------------
# outputs of any structure: flatten to a list of tensors and rebuild


def _flatten(obj: Any, out: list) -> Any:
    """A template of ``obj`` where every tensor is replaced by its position in ``out``."""
    if isinstance(obj, TensorBase):
        out.append(obj)
        return _Slot(len(out) - 1)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[_flatten(o, out) for o in obj])
    if isinstance(obj, (tuple, list)):
        return type(obj)(_flatten(o, out) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _flatten(v, out)) for k, v in obj.items())
    return obj


def _rebuild(tmpl: Any, tensors: list) -> Any:
    if isinstance(tmpl, _Slot):
        return tensors[tmpl.i]
    if isinstance(tmpl, tuple) and hasattr(tmpl, "_fields"):
        return type(tmpl)(*[_rebuild(o, tensors) for o in tmpl])
    if isinstance(tmpl, (tuple, list)):
        return type(tmpl)(_rebuild(o, tensors) for o in tmpl)
    if isinstance(tmpl, dict):
        return type(tmpl)((k, _rebuild(v, tensors)) for k, v in tmpl.items())
    return tmpl


class _Slot:
    __slots__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = i


# --------------------------------------------------------------------------------------------
# the recomputation: the forward's function, arguments, random and autocast state


class _Rerun:
    """Everything needed to run the checkpointed function again as it ran the first time."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, preserve_rng: bool,
                 recompute_ctx) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.preserve_rng = preserve_rng
        self.recompute_ctx = recompute_ctx
        if preserve_rng:
            self.cpu_state = get_rng_state()
            self.devices, self.device_states = get_device_states(*args)
        self.autocast = [(t, _autocast.is_autocast_enabled(t), _autocast.get_autocast_dtype(t))
                         for t in ("cpu", "cuda")]

    def run(self, args: tuple, replay: bool = True):
        """``fn(*args)``; with ``replay``, under the forward's random state (restored
        afterwards) and autocast state (grad mode as is)."""
        if not replay:
            return self.fn(*args, **self.kwargs)
        with contextlib.ExitStack() as stack:
            if self.preserve_rng:
                stack.enter_context(fork_rng(devices=self.devices))
                set_rng_state(self.cpu_state)
                set_device_states(self.devices, self.device_states)
            for device_type, enabled, dtype in self.autocast:
                if enabled:
                    stack.enter_context(_autocast.autocast(device_type, dtype=dtype))
            stack.enter_context(self.recompute_ctx)
            return self.fn(*args, **self.kwargs)


# --------------------------------------------------------------------------------------------
# use_reentrant=True


class CheckpointFunction(Function):
    """torch's reentrant checkpoint node: forward without a graph, backward by recomputation
    and a nested backward."""

    @staticmethod
    def forward(ctx, rerun, *args):
        ctx.rerun = rerun
        ctx.save_for_backward(*_tensors(args))
        ctx.arg_kinds = [isinstance(a, TensorBase) for a in args]
        ctx.others = [None if k else a for k, a in zip(ctx.arg_kinds, args, strict=True)]
        flat: list = []
        rerun.template = _flatten(rerun.run(args, replay=False), flat)
        return tuple(flat)

    @staticmethod
    def backward(ctx, *grads):
        saved = iter(ctx.saved_tensors)
        args = tuple(next(saved) if k else o for k, o in zip(ctx.arg_kinds, ctx.others,
                                                                strict=True))
        inputs = detach_variable(args)
        with enable_grad():
            flat: list = []
            _flatten(ctx.rerun.run(inputs), flat)
        outs, gs = [], []
        for o, g in zip(flat, grads, strict=True):
            if o.requires_grad and g is not None:
                outs.append(o)
                gs.append(g)
        if not outs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        _backward.backward(outs, gs)
        return (None, *[a.grad if isinstance(a, TensorBase) else None for a in inputs])


def _checkpoint_reentrant(fn, args, kwargs, preserve_rng, context_fn):
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if context_fn is not noop_context_fn:
        raise ValueError("Passing `context_fn` is only supported when use_reentrant=False.")
    if not _state.enabled:
        return fn(*args)
    if not any(t.requires_grad for t in _tensors(args)):
        warnings.warn(_NO_GRAD_WARNING, UserWarning, stacklevel=3)
    if not _tensors(args):  # nothing to hang a node on: torch runs it plainly too
        with no_grad():
            return fn(*args)
    rerun = _Rerun(fn, args, {}, preserve_rng, contextlib.nullcontext())
    flat = CheckpointFunction.apply(rerun, *args)
    return _rebuild(rerun.template, list(flat))


# --------------------------------------------------------------------------------------------
# use_reentrant=False


def _leaves(outputs: list) -> list:
    """The leaf tensors that require grad and that ``outputs`` depend on."""
    found, seen = [], set()
    alive = []  # next_functions makes AccumulateGrad objects on the fly: keep them, so that
    stack = []  # no id in ``seen`` is reused by a later one
    for o in outputs:
        if o.grad_fn is not None:
            stack.append(o.grad_fn)
        elif o.requires_grad:
            stack.append(AccumulateGrad(o))
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        alive.append(node)
        if isinstance(node, AccumulateGrad):
            if all(v is not node.variable for v in found):
                found.append(node.variable)
            continue
        for nxt, _ in node.next_functions:
            stack.append(nxt)
    return found


class _NonReentrant(Function):
    """One graph node standing for the whole checkpointed function: its inputs are the
    function's tensor inputs that require grad and the leaves (parameters) it used."""

    @staticmethod
    def forward(ctx, rerun, values, *boundary):
        ctx.rerun = rerun
        return tuple(v.detach() for v in values)

    @staticmethod
    def backward(ctx, *grads):
        rerun = ctx.rerun
        # with create_graph the recomputation hangs off the real inputs, so the gradients it
        # returns depend on them (double backward); otherwise detached copies suffice
        create_graph = _state.enabled
        inputs = rerun.args if create_graph else detach_variable(rerun.args)
        with enable_grad():
            flat: list = []
            _flatten(rerun.run(inputs), flat)
        if len(flat) != len(grads):
            raise CheckpointError("torch.utils.checkpoint: the recomputed function returned "
                                  f"{len(flat)} tensors, the forward {len(grads)}.")
        # the node's inputs: the (recomputed) tensor inputs it was given, then the leaves
        targets = [inputs[i] for i in rerun.input_positions] + rerun.params
        outs, gs = [], []
        for o, g in zip(flat, grads, strict=True):
            if o.requires_grad and g is not None:
                outs.append(o)
                gs.append(g)
        if not outs:
            return (None, None, *[None] * len(targets))
        res = _backward.grad(outs, targets, gs, allow_unused=True, create_graph=create_graph)
        return (None, None, *res)


def _checkpoint_nonreentrant(fn, args, kwargs, preserve_rng, context_fn):
    if not _state.enabled:
        return fn(*args, **kwargs)
    forward_ctx, recompute_ctx = context_fn()
    rerun = _Rerun(fn, args, kwargs, preserve_rng, recompute_ctx)
    inputs = detach_variable(args)
    with forward_ctx:
        result = fn(*inputs, **kwargs)
    flat: list = []
    template = _flatten(result, flat)
    diff = [o for o in flat if o.requires_grad]
    leaves = _leaves(diff)
    positions = [i for i, a in enumerate(inputs)
                 if isinstance(a, TensorBase) and any(a is v for v in leaves)]
    rerun.input_positions = positions
    rerun.params = [v for v in leaves if all(v is not inputs[i] for i in positions)]
    boundary = [args[i] for i in positions] + rerun.params
    if not boundary:  # nothing in it needs a gradient: no node, plain results
        return _rebuild(template, [o.detach() for o in flat])
    outs = list(_NonReentrant.apply(rerun, flat, *boundary))
    for i, o in enumerate(flat):
        if not o.requires_grad:  # integer outputs and the like: as the function gave them
            outs[i] = o.detach()
    return _rebuild(template, outs)


# --------------------------------------------------------------------------------------------
# the public functions


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None,
               context_fn: Callable = noop_context_fn, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, preserve_rng_state: bool = True,
               **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its intermediate results; backward
    runs it again to get them.

    Args:
        function: the function (often a module) to checkpoint.
        *args: its arguments.
        use_reentrant: which variant (see the module docstring); leaving it out warns, as
            torch does, and picks the reentrant one.
        context_fn: (non-reentrant only) returns two context managers, entered around the
            forward and around the recomputation.
        determinism_check: 'default' or 'none' (accepted; shapes are checked by the graph).
        debug: accepted for torch compatibility.
        early_stop: accepted for torch compatibility.
        preserve_rng_state: rerun with the forward's random state (dropout masks agree).
        **kwargs: keyword arguments of ``function`` (non-reentrant only).

    Returns:
        What ``function`` returns.

    Example:
        >>> lin = gpuarr.nn.Linear(3, 3)
        >>> out = checkpoint(lin, gpuarr.randn(2, 3), use_reentrant=False)
        >>> out.sum().backward()        # lin.weight.grad is set although no input needs grad
    """
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        return _checkpoint_reentrant(function, args, kwargs, preserve_rng_state, context_fn)
    return _checkpoint_nonreentrant(function, args, kwargs, preserve_rng_state, context_fn)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Checkpoint a sequential model in ``segments`` pieces (all but the last piece are
    checkpointed, as torch's).

    Args:
        functions: an ``nn.Sequential`` or a list of modules/functions run in order.
        segments: the number of pieces.
        input: the input of the first function.
        use_reentrant: as :func:`checkpoint`.
        **kwargs: passed to :func:`checkpoint` (e.g. ``preserve_rng_state``).

    Returns:
        The output of the last function.

    Example:
        >>> seq = gpuarr.nn.Sequential(*[gpuarr.nn.Linear(4, 4) for _ in range(4)])
        >>> out = checkpoint_sequential(seq, 2, gpuarr.randn(2, 4), use_reentrant=False)
    """
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True

    def run_function(start: int, end: int, fns):
        def forward(x):
            for j in range(start, end + 1):
                x = fns[j](x)
            return x
        return forward

    if hasattr(functions, "children") and callable(functions.children):
        functions = list(functions.children())
    functions = list(functions)
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run_function(start, end, functions), input,
                           use_reentrant=use_reentrant, **kwargs)
    return run_function(end + 1, len(functions) - 1, functions)(input)
