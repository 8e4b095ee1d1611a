"""Adadelta: per-coordinate step sizes from running averages of squared gradients and updates."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import (
    _check_differentiable,
    _check_lr,
    _check_nonnegative,
    _chunks,
    _count_step,
    _direction,
    _group_defaults,
    _PerParameter,
    _scalar_states_to_tensors,
)

__all__ = ["Adadelta"]


class Adadelta(_PerParameter):
    """Adadelta (Zeiler, 2012), with PyTorch's update rule, options and state layout.

    For each parameter with gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p                                (if weight_decay)
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta

    State per parameter: ``step`` (float32 0-d tensor), ``square_avg`` (v) and ``acc_delta`` (u).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: coefficient that scales delta before it is applied (default 1.0).
        rho: decay of the running averages (default 0.9).
        eps: added inside the square roots for stability (default 1e-6).
        weight_decay: L2 penalty (default 0).
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        capturable: keep ``step`` on the parameter's device, as torch does for graph capture.
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported (updates are not recorded by autograd).

    Example:
        >>> opt = gpuarr.optim.Adadelta(model.parameters(), lr=1.0)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonnegative("epsilon", eps)
        _check_nonnegative("weight_decay", weight_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        _group_defaults(self, foreach=None, maximize=False, differentiable=False, capturable=False)
        _scalar_states_to_tensors(self, ("step",), lambda g, _: g["capturable"])

    def _update(self, group: dict, p, lr: float) -> None:
        st = self._lazy_state(p, group["capturable"], square_avg=True, acc_delta=True)
        _count_step(st)
        xp = p._device._xp()
        arrays = [p._data, p.grad._data, st["square_avg"]._data, st["acc_delta"]._data]
        for pieces, tmps in _chunks(xp, arrays, 3):
            _adadelta_kernel(xp, *pieces, *tmps, lr, group["rho"], group["eps"],
                             group["weight_decay"], group["maximize"])
        p._bump_version()


def _adadelta_kernel(xp, w, g, sq, acc, t1, t2, t3, lr: float, rho: float, eps: float,
                     wd: float, maximize: bool) -> None:
    """The Adadelta update of one piece, in place on ``w``, ``sq`` and ``acc``, in torch's
    order of operations."""
    g = _direction(xp, w, g, wd, maximize, t1, t2)
    sq *= rho  # square_avg.mul_(rho).addcmul_(g, g, value=1 - rho)
    xp.multiply(g, 1 - rho, out=t2)
    t2 *= g
    sq += t2
    xp.add(sq, eps, out=t2)  # std = (square_avg + eps).sqrt()
    xp.sqrt(t2, out=t2)
    xp.add(acc, eps, out=t3)  # delta = (acc_delta + eps).sqrt() / std * g
    xp.sqrt(t3, out=t3)
    t3 /= t2
    t3 *= g
    acc *= rho  # acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    xp.multiply(t3, 1 - rho, out=t2)
    t2 *= t3
    acc += t2
    t3 *= -lr  # p.add_(delta, alpha=-lr)
    w += t3
