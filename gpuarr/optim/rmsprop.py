"""RMSprop, optionally centered and with momentum."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import (
    _check_differentiable,
    _chunks,
    _count_step,
    _direction,
    _group_defaults,
    _lerp_,
    _PerParameter,
)

__all__ = ["RMSprop"]


class RMSprop(_PerParameter):
    """RMSprop, with PyTorch's update rule and state layout.

    For each parameter::

        g = g + weight_decay * p                        (if weight_decay)
        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v - ga * ga) + eps  with ga = lerp(ga, g, 1 - alpha)  (centered)
        avg = sqrt(v) + eps                                              (otherwise)
        b = momentum * b + g / avg;  p = p - lr * b     (momentum > 0)
        p = p - lr * g / avg                            (otherwise)

    State per parameter: ``step``, ``square_avg``, plus ``momentum_buffer`` (momentum > 0)
    and ``grad_avg`` (centered).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the squared-gradient average (default 0.99).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by the estimated variance of the gradient instead of its
            uncentered second moment.
        maximize: maximize the objective instead of minimizing it.
        capturable: keep ``step`` on the parameter's device, as torch does for CUDA graphs
            (the update does not read it, so nothing waits for the device either way).
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        differentiable: only False is supported (updates are not recorded by autograd).

    Example:
        >>> opt = gpuarr.optim.RMSprop(model.parameters(), lr=1e-3, momentum=0.9)
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay,
                    "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)
        _check_differentiable(differentiable)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("maximize", False)
        _group_defaults(self, capturable=False, differentiable=False)

    def _update(self, group: dict, p, lr: float) -> None:
        momentum, centered = group["momentum"], group["centered"]
        st = self._lazy_state(p, group["capturable"], square_avg=True,
                              momentum_buffer=momentum > 0, grad_avg=centered)
        _count_step(st)
        xp = p._device._xp()
        arrays = [p._data, p.grad._data, st["square_avg"]._data,
                  st["grad_avg"]._data if centered else None,
                  st["momentum_buffer"]._data if momentum > 0 else None]
        for pieces, (t1, t2) in _chunks(xp, arrays):
            _rmsprop_kernel(xp, *pieces, t1, t2, lr, group["alpha"], group["eps"],
                            group["weight_decay"], momentum, group["maximize"])
        p._bump_version()


def _rmsprop_kernel(xp, w, g, sq, ga, buf, t1, t2, lr: float, alpha: float, eps: float,
                    wd: float, momentum: float, maximize: bool) -> None:
    """The RMSprop update of one piece, in place on ``w``, ``sq`` (and ``ga``, ``buf``)."""
    g = _direction(xp, w, g, wd, maximize, t2, t1)
    sq *= alpha
    xp.multiply(g, g, out=t1)
    t1 *= 1 - alpha
    sq += t1
    if ga is not None:
        _lerp_(xp, ga, g, 1 - alpha, t1)
        xp.multiply(ga, ga, out=t1)
        xp.subtract(sq, t1, out=t1)
        xp.sqrt(t1, out=t1)
    else:
        xp.sqrt(sq, out=t1)
    t1 += eps
    xp.divide(g, t1, out=t1)
    if buf is not None:
        buf *= momentum
        buf += t1
        xp.multiply(buf, -lr, out=t1)
    else:
        t1 *= -lr
    w += t1
