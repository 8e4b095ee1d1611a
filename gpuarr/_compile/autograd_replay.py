"""Replaying a compiled forward whose caller runs ``backward`` (``compile(model)`` in
training).

The trace of such a call records the forward and, from its outputs, the backward program
(:meth:`~gpuarr._compile.trace.Tracer.record_backward`). A replay runs the forward program,
then hands its outputs to autograd as the outputs of one graph node, :class:`_Replayed`, whose
``backward`` runs the recorded backward program on the arrays the forward saved. The engine
then accumulates the gradients into the parameters, as for any op.
"""

from __future__ import annotations

from .._core.function import Function
from .._core.tensor import TensorBase, _make
from .program import RETRACE
from .trace import Backward

__all__ = ["AutogradReplay"]


class _Replayed(Function):
    """The graph node of a replayed forward: inputs are the tensors gradients flow to."""

    @staticmethod
    def forward(ctx, bwd, saved, arrays, devices, wrt_devices, *wrt):
        ctx.bwd = bwd
        ctx.saved = saved
        ctx.wrt_devices = wrt_devices
        outs = tuple(_make(a, d) for a, d in zip(arrays, devices))
        return outs if len(outs) != 1 else outs[0]

    @staticmethod
    def backward(ctx, *grads):
        arrays = ctx.bwd(ctx.saved, tuple(g._data for g in grads))
        return (None, None, None, None, None) + tuple(
            None if a is None else _make(a, d) for a, d in zip(arrays, ctx.wrt_devices))


class AutogradReplay:
    """A forward replay whose outputs join the autograd graph (see the module docstring).

    Called like a generated replay: ``replay(arg_tensors)`` returns the result, or
    :data:`~gpuarr._compile.program.RETRACE` when a guard fails.
    """

    def __init__(self, forward, backward, bw: Backward) -> None:
        self.forward = forward
        self.backward = backward
        self.bw = bw
        self.source = forward.source  # the forward program, for inspection

    def __call__(self, args):
        r = self.forward(args)
        if r is RETRACE:
            return r
        result, saved, arrays = r
        bw = self.bw
        wrt = [args[o] if kind == "arg" else o for kind, o in bw.wrt]
        outs = _Replayed.apply(self.backward, saved, arrays, bw.out_devices, bw.devices, *wrt)
        if not isinstance(outs, tuple):
            outs = (outs,)
        swap = {id(a): o for a, o in zip(arrays, outs)}
        return _substitute(result, swap)


def _substitute(x, swap: dict):
    """``x`` with each tensor whose array is a key of ``swap`` replaced by its graph output."""
    if isinstance(x, TensorBase):
        return swap.get(id(x._data), x)
    if type(x) in (tuple, list):
        return type(x)(_substitute(e, swap) for e in x)
    if type(x) is dict:
        return {k: _substitute(v, swap) for k, v in x.items()}
    return x
