"""Bookkeeping that lets the differentiation transforms nest on gpuarr's one autograd graph.

Each transform runs its function at a new *level*: its inputs get a fresh graph node (a new
leaf, or a differentiable view when an enclosing level or the caller's own autograd must see
through it), gradients are taken with ``create_graph`` whenever someone outside may
differentiate them, and results leave the outermost level detached unless they depend on
tensors the caller's autograd tracks (as torch.func's unwrapped results do).
"""

from __future__ import annotations

import threading

from .._core.engine import leaves_of
from .._core.grad_mode import enable_grad, is_grad_enabled
from .._tensor import Tensor

__all__ = ["Level", "check_tensor"]

_local = threading.local()
_MARK = "_gpuarr_func_leaf"  # set in the __dict__ of leaves the transforms make


def _depth() -> int:
    return getattr(_local, "depth", 0)


def check_tensor(x) -> Tensor:
    """``x`` itself, or torch's error for a non-Tensor passed to a transform."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    return x


class Level:
    """A context for one transform's call of its function.

    Inside, grad mode is on (a transform ignores an outer ``no_grad``, as torch's do).
    ``outer`` is the number of enclosing transform levels; ``grad_on`` whether the caller had
    grad mode on, i.e. whether anything outside may differentiate the results.
    """

    def __init__(self) -> None:
        self.outer = 0
        self.grad_on = True
        self._mode = None
        self._restore = 0

    def __enter__(self) -> Level:
        self.outer = self._restore = _depth()
        self.grad_on = is_grad_enabled()
        _local.depth = self.outer + 1
        self._mode = enable_grad()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._mode.__exit__(*exc)
        _local.depth = self._restore

    def wrap(self, x) -> Tensor:
        """A new graph node for input ``x`` to differentiate with respect to."""
        check_tensor(x)
        if self.grad_on and x.requires_grad:
            # an outer level (or the caller's autograd) differentiates through this one
            return x.view_as(x)
        return self.leaf(x.detach().requires_grad_(True))

    @staticmethod
    def leaf(x: Tensor) -> Tensor:
        """Mark ``x`` (a leaf made by a transform: a fresh input, a dummy cotangent) as one
        the caller's autograd does not track."""
        x.__dict__[_MARK] = True
        return x

    def reaches_outside(self, tensors) -> bool:
        """Whether any of ``tensors`` depends on a leaf that requires grad and was not made
        by a transform (a parameter, the caller's input): then results must keep their graph.

        Only asked at the outermost level (inside, results always keep their graph), where
        every transform-made leaf belongs to a level that is done or is this one."""
        if not self.grad_on:
            return False
        return any(_MARK not in leaf.__dict__ for leaf in leaves_of(tensors))

    def needs_graph(self, tensors) -> bool:
        """Whether gradients taken here must be differentiable (``create_graph``)."""
        return self.grad_on and (self.outer > 0 or self.reaches_outside(tensors))

    def finish(self, t):
        """A result as it leaves this level: unchanged inside another level; at the outermost
        one, detached unless it depends on tensors the caller's autograd tracks."""
        if not isinstance(t, Tensor):
            return t
        if self.grad_on and (self.outer > 0 or self.reaches_outside((t,))):
            return t
        return t.detach()
