"""The machinery behind ``Module.register_full_backward_hook`` and
``Module.register_full_backward_pre_hook``, as torch builds it (``torch.utils.hooks.BackwardHook``).

A module call with backward hooks passes its tensor arguments, and then its tensor outputs,
through an identity op (:class:`BackwardHookFunction`, whose graph node torch names
``BackwardHookFunctionBackward``). The output side's node sees the gradients w.r.t. the outputs
(``grad_output``) first and runs the pre-hooks on them; the input side's node then sees the
gradients w.r.t. the inputs (``grad_input``) and calls the full hooks with both. Either hook may
return replacements.
"""

from __future__ import annotations

import os
import sys
import warnings
import weakref
from collections.abc import Callable

from .._creation import zeros
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled


class BackwardHookFunction(Function):
    """Identity on its tensors whose backward hands the incoming gradients to ``on_grads``
    (which may return replacements) before passing them on.

    With ``zeros_for_missing`` an output that got no gradient gives ``on_grads`` zeros, as
    torch's input-side hook sees them (it runs after its node's backward, whose missing
    gradients torch has filled with zeros); otherwise None, as its output-side hook sees them
    (it runs before).
    """

    @staticmethod
    def forward(ctx, on_grads: Callable, zeros_for_missing: bool, *tensors: Tensor) -> tuple:
        ctx.on_grads = on_grads
        ctx.like = [(t.shape, t.dtype, t.device) for t in tensors] if zeros_for_missing else None
        ctx.set_materialize_grads(False)
        outs = tuple(t.view_as(t) for t in tensors)
        ctx.mark_non_differentiable(*[o for o, t in zip(outs, tensors) if not t.requires_grad])
        return outs

    @staticmethod
    def backward(ctx, *grads):
        if ctx.like is not None:
            grads = tuple(zeros(s, dtype=d, device=dev) if g is None else g
                          for g, (s, d, dev) in zip(grads, ctx.like))
        res = ctx.on_grads(grads)
        return (None, None, *(grads if res is None else res))


_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning raised by this module's caller at the first
    frame outside gpuarr (the user's ``backward()`` call), as torch's warning points."""
    f, level = sys._getframe(1), 1
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f, level = f.f_back, level + 1
    return level


def _pack_with_none(indices: list, values, size: int) -> tuple:
    res = [None] * size
    for i, v in zip(indices, values):
        res[i] = v
    return tuple(res)


class BackwardHook:
    """One module call's backward hooks: set up on its inputs before ``forward`` and on its
    outputs after it.

    Args:
        module: the module whose hooks these are.
        user_hooks: ``hook(module, grad_input, grad_output)`` callables (full backward hooks).
        user_pre_hooks: ``hook(module, grad_output)`` callables (full backward pre-hooks).
    """

    def __init__(self, module, user_hooks: list, user_pre_hooks: list) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_tensors_index = self.output_tensors_index = None

    def _apply_on_tensors(self, on_grads: Callable, args: tuple, zeros_for_missing: bool) -> tuple:
        """``args`` with its tensors passed through the identity op, and the tensors'
        positions; ``(args, None)`` when no tensor needs a gradient."""
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in idx]
        if not (is_grad_enabled() and any(t.requires_grad for t in tensors)):
            return args, None
        new = BackwardHookFunction.apply(on_grads, zeros_for_missing, *tensors)
        out = list(args)
        for i, t in zip(idx, new):
            out[i] = t
        return tuple(out), idx

    def setup_input_hook(self, args: tuple) -> tuple:
        """Route ``args``' tensors through the op whose backward calls the full hooks."""
        res, self.input_tensors_index = self._apply_on_tensors(self._on_input_grads, args, True)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, result):
        """Route the output tensors through the op whose backward runs the pre-hooks."""
        is_tuple = isinstance(result, tuple)
        args = result if is_tuple else (result,)
        res, self.output_tensors_index = self._apply_on_tensors(self._on_output_grads, args, False)
        self.n_outputs = len(args)
        return res if is_tuple else res[0]

    def _on_output_grads(self, grads: tuple):
        self.grad_outputs = _pack_with_none(self.output_tensors_index, grads, self.n_outputs)
        expected = len(self.grad_outputs)
        for hook in self.user_pre_hooks:
            new = hook(self.module, self.grad_outputs)
            if new is None:
                continue
            if len(new) != expected:
                raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                   f"got {len(new)}, but expected {expected}")
            self.grad_outputs = new
        local = self.grad_outputs
        if self.input_tensors_index is None:
            # no input needs a gradient: the full hooks fire now, with grad_input all None
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients. See "
                          "the documentation of torch.nn.Module.register_full_backward_hook "
                          "for more details.", stacklevel=_user_stacklevel())
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple)
                                            and all(r is None for r in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            self.grad_outputs = None
        return tuple(local[i] for i in self.output_tensors_index)

    def _on_input_grads(self, grads: tuple):
        if self.grad_outputs is None:
            # the gradient reached the inputs without passing through the outputs (double
            # backward): torch calls no hook then
            return None
        res = _pack_with_none(self.input_tensors_index, grads, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                   f"got {len(out)}, but expected {len(res)}")
            res = out
        self.grad_outputs = None
        # the hooks may keep the tensors they saw; a leaf input would otherwise take one as its
        # .grad and add later backward passes into it in place (torch copies a gradient that
        # is referenced elsewhere before accumulating into it)
        return tuple(None if res[i] is None else res[i].clone()
                     for i in self.input_tensors_index)


class _ModuleNodeHook:
    """A non-full backward hook ``hook(module, grad_input, grad_output)`` as a graph-node hook
    ``fn(grad_input, grad_output)`` of the node that made the module's output. It holds the
    module weakly (the graph must not keep the module alive) and carries the hook's name,
    which torch's error messages quote."""

    def __init__(self, hook: Callable, module) -> None:
        self.hook = hook
        self.module = weakref.ref(module)
        self.__name__ = getattr(hook, "__name__", repr(hook))

    def __call__(self, grad_input: tuple, grad_output: tuple):
        module = self.module()
        if module is None:
            raise RuntimeError("You are trying to call the hook of a dead Module!")
        return self.hook(module, grad_input, grad_output)


_NON_FULL = "Using non-full backward hooks on a Module that "
_DEPRECATED = ("is deprecated and will be removed in future versions. This hook will be "
               "missing some ")
_USE_FULL = " Please use register_full_backward_hook to get the documented behavior."


def _first_tensor(result):
    """The tensor torch hangs a module's non-full hooks on: the first one found by going into
    ``result``'s first entry (a dict's first tensor value) until a Tensor comes out."""
    var = result
    while not isinstance(var, Tensor):
        if isinstance(var, dict):
            var = next(v for v in var.values() if isinstance(v, Tensor))
        else:
            var = var[0]
    return var


def setup_non_full_hooks(module, hooks: list, args: tuple, result) -> None:
    """Register a module's non-full backward hooks (``Module.register_backward_hook``) on the
    graph node that made its (first) output tensor, as torch does: their ``grad_input`` are
    the gradients w.r.t. the inputs of the module's last op, which is what torch warns about
    (FutureWarning) where that cannot be the module's inputs."""
    grad_fn = _first_tensor(result).grad_fn
    if grad_fn is None:
        return
    for hook in hooks:
        grad_fn.register_hook(_ModuleNodeHook(hook, module))
    _warn_non_full(args, result, grad_fn)


def _warn_non_full(inputs, result, grad_fn) -> None:
    """torch's warnings for a non-full backward hook that will not see all gradients."""
    level = _user_stacklevel()
    results = (result,) if isinstance(result, Tensor) else result
    if not (isinstance(results, tuple) and all(isinstance(r, Tensor) for r in results)):
        warnings.warn(_NON_FULL + "does not return a single Tensor or a tuple of Tensors "
                      + _DEPRECATED + "of the grad_output." + _USE_FULL,
                      FutureWarning, stacklevel=level)
        return
    inputs = (inputs,) if isinstance(inputs, Tensor) else inputs
    if not (isinstance(inputs, tuple) and all(isinstance(i, Tensor) for i in inputs)):
        warnings.warn(_NON_FULL + "does not take as input a single Tensor or a tuple of "
                      "Tensors " + _DEPRECATED + "of the grad_input." + _USE_FULL,
                      FutureWarning, stacklevel=level)
        return
    out_nodes = {r.grad_fn for r in results if r.grad_fn is not None}
    if not out_nodes or (len(out_nodes) == 1 and grad_fn not in out_nodes):
        warnings.warn("Using a non-full backward hook when outputs are nested in python data "
                      "structure " + _DEPRECATED + "grad_output.",
                      FutureWarning, stacklevel=level)
    elif len(out_nodes) > 1:
        warnings.warn("Using a non-full backward hook when outputs are generated by different "
                      "autograd Nodes " + _DEPRECATED + "grad_output." + _USE_FULL,
                      FutureWarning, stacklevel=level)
    else:
        # grad_output is right; grad_input is the module's only if its last op's inputs are
        # the module's inputs
        in_nodes = {i.grad_fn for i in inputs if i.grad_fn is not None}
        if in_nodes != {n for n, _ in grad_fn.next_functions}:
            warnings.warn("Using a non-full backward hook when the forward contains multiple "
                          "autograd Nodes " + _DEPRECATED + "grad_input." + _USE_FULL,
                          FutureWarning, stacklevel=level)
