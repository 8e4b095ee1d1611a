"""Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import (
    _check_differentiable,
    _check_fused,
    _chunks,
    _direction,
    _group_defaults,
    _PerParameter,
    _zeros_state,
)

__all__ = ["SGD"]


class SGD(_PerParameter):
    """Stochastic gradient descent, with PyTorch's update rule.

    For each parameter with gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p                      (if weight_decay)
        b = g  (first step),  b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b  (nesterov)  or  g = b   (if momentum)
        p = p - lr * g

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        differentiable: only False is supported (updates are not recorded by autograd).
        fused: accepted for torch compatibility, with torch's checks; the update is the same
            (on CUDA gpuarr fuses it whenever it can).

    Example:
        >>> opt = gpuarr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        _check_differentiable(differentiable)
        if fused:
            _check_fused(self, foreach)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
        _group_defaults(self, differentiable=False, fused=None)

    def _update(self, group: dict, p, lr: float) -> None:
        momentum, dampening = group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        buf, first = None, False
        if momentum != 0:  # without momentum torch keeps no state at all
            st = self.state[p]
            buf_t = st.get("momentum_buffer")
            first = buf_t is None
            if first:
                buf_t = st["momentum_buffer"] = _zeros_state(p)
            buf = buf_t._data
        bk = p._device._backend()
        if bk.fused_optimizers and bk.can_fuse(p._data, p.grad._data):
            p._device._xp()  # run on the parameter's device
            bk.fused_sgd_step(p._data, p.grad._data, buf, lr=lr, wd=wd,
                              sign=-1.0 if maximize else 1.0, momentum=momentum,
                              damp1=1.0 - dampening, first=first, nesterov=nesterov)
        elif buf is None and wd == 0 and not maximize:
            p._device._xp()  # run on the parameter's device
            bk.axpy(-lr, p.grad._data, p._data)  # plain SGD: no scratch, one pass on the CPU
        else:
            xp = p._device._xp()
            # scratch only where a direction or damped term is computed (momentum alone
            # updates the buffer and the parameter in place)
            scratch = 2 if wd != 0 or maximize or nesterov or dampening != 0 else 0
            for (w, g, b), tmps in _chunks(xp, [p._data, p.grad._data, buf], scratch):
                t1, t2 = tmps or (None, None)
                _sgd_kernel(xp, bk, w, g, b, t1, t2, first, lr, momentum, dampening, wd,
                            nesterov, maximize)
        p._bump_version()


def _sgd_kernel(xp, bk, w, g, buf, t1, t2, first, lr: float, momentum: float,
                dampening: float, wd: float, nesterov: bool, maximize: bool) -> None:
    """The SGD update of one piece: ``w`` (parameter), ``g`` (gradient), ``buf`` (momentum
    buffer or None) are updated in place; ``t1``/``t2`` are scratch arrays."""
    d = _direction(xp, w, g, wd, maximize, t1, t2)
    if buf is not None:
        if first:
            buf[...] = d  # the buffer starts as the first direction, undamped (as torch)
        else:
            buf *= momentum
            if dampening != 0:
                buf += xp.multiply(d, 1 - dampening, out=t2)
            else:
                buf += d
        if nesterov:
            xp.multiply(buf, momentum, out=t2)
            d = xp.add(d, t2, out=t1)
        else:
            d = buf
    bk.axpy(-lr, d, w, t1)
