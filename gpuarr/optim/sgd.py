"""Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .._device import CPU
from .._tensor import _make
from . import _cuda_kernels
from .optimizer import Optimizer, _chunks, _closure_loss, _lr_value, _optimizer_step

__all__ = ["SGD"]


class SGD(Optimizer):
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

    Example:
        >>> opt = gpuarr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None) -> None:
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
                    "foreach": foreach}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    @_optimizer_step
    def step(self, closure: Callable | None = None):
        """Perform one SGD step on every parameter that has a gradient.

        Args:
            closure: optional function that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr = _lr_value(group["lr"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            wd = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p._device is not CPU and _cuda_kernels.fusable(p):
                    _sgd_fused(self.state[p] if momentum != 0 else None, p, lr, momentum,
                               dampening, wd, nesterov, maximize)
                    continue
                _sgd_one(self.state[p] if momentum != 0 else None, p, lr, momentum, dampening,
                         wd, nesterov, maximize)
        return loss


def _sgd_fused(st: dict | None, p, lr: float, momentum: float, dampening: float, wd: float,
               nesterov: bool, maximize: bool) -> None:
    buf = None
    first = False
    if st is not None:
        buf_t = st.get("momentum_buffer")
        if buf_t is None:
            buf_t = st["momentum_buffer"] = _make(p._device._xp().zeros_like(p._data), p._device)
            first = True
        buf = buf_t._data
    _cuda_kernels.sgd_step(p, buf, lr, wd, maximize, momentum, dampening, nesterov, first)
    p._bump_version()


def _sgd_one(st: dict | None, p, lr: float, momentum: float, dampening: float, wd: float,
             nesterov: bool, maximize: bool) -> None:
    xp = p._device._xp()
    buf = first = None
    if st is not None:
        buf_t = st.get("momentum_buffer")
        first = buf_t is None
        if first:
            buf_t = st["momentum_buffer"] = _make(xp.empty_like(p._data), p._device)
        buf = buf_t._data
    for (w, g, b), (t1, t2) in _chunks(xp, [p._data, p.grad._data, buf]):
        _sgd_kernel(xp, w, g, b, t1, t2, first, lr, momentum, dampening, wd, nesterov,
                    maximize)
    p._bump_version()


def _sgd_kernel(xp, w, g, buf, t1, t2, first, lr: float, momentum: float, dampening: float,
                wd: float, nesterov: bool, maximize: bool) -> None:
    """The SGD update of one piece: ``w`` (parameter), ``g`` (gradient), ``buf`` (momentum
    buffer or None) are updated in place; ``t1``/``t2`` are scratch arrays."""
    d = g
    if maximize:
        d = xp.negative(g, out=t1)
    if wd != 0:
        xp.multiply(w, wd, out=t2)
        d = xp.add(d, t2, out=t1)  # g + wd * p
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
    w += xp.multiply(d, -lr, out=t1)
