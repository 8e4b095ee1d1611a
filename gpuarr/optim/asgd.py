"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky, 1992)."""

from __future__ import annotations

from collections.abc import Iterable

from .._core.capture import host_value, tracing
from .._tensor import Tensor
from .optimizer import (
    _as_default_float,
    _check_differentiable,
    _check_lr,
    _check_nonnegative,
    _chunks,
    _count_step,
    _direction,
    _group_defaults,
    _group_lr,
    _PerParameter,
    _scalar_state,
    _scalar_states_to_tensors,
    _set_scalar,
    _step_count,
    _zeros_state,
)

__all__ = ["ASGD"]


class ASGD(_PerParameter):
    """Averaged SGD, with PyTorch's update rule and state layout.

    For each parameter with gradient ``g`` (``-g`` when ``maximize``), at its step ``t``::

        g = g + weight_decay * p                              (if weight_decay)
        p = p * (1 - lambd * eta) - eta * g
        ax = ax + mu * (p - ax)       (ax = p while mu == 1)
        eta = lr / (1 + lambd * lr * t) ** alpha;  mu = 1 / max(1, t - t0)

    The averaged parameters are in ``state[p]['ax']``. State per parameter, as torch keeps
    it: ``step``, ``eta`` and ``mu`` (float32 0-d tensors on the parameter's device) and
    ``ax``.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power for the eta update (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported (updates are not recorded by autograd).
        capturable: accepted for torch compatibility (the state already lives on the
            parameter's device).

    Example:
        >>> opt = gpuarr.optim.ASGD(model.parameters(), lr=0.01, t0=100)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
        >>> averaged = [opt.state[p]['ax'] for p in model.parameters()]
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative("weight_decay", weight_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        _group_defaults(self, foreach=None, maximize=False, differentiable=False, capturable=False)
        _scalar_states_to_tensors(self, ("step", "eta", "mu"), lambda g, _: True)

    def _update(self, group: dict, p, lr: float) -> None:
        st = self.state[p]
        if len(st) == 0:
            st["step"] = _scalar_state(0.0, p)
            st["eta"] = _scalar_state(lr, p)  # float32, as torch keeps it
            st["mu"] = _scalar_state(1.0, p)
            st["ax"] = _zeros_state(p)
        _count_step(st)
        # eta and mu through host_value: a compiled step's replays read them afresh
        eta = host_value(_step_count, st["eta"])
        mu = host_value(_step_count, st["mu"])
        xp = p._device._xp()
        # gpuarr.compile: mu changes between replays, so the averaging rule is chosen on the
        # array side (a 0-d flag), not by a Python branch fixed into the program
        copy_where = xp.asarray(mu == 1) if tracing() else None
        arrays = [p._data, p.grad._data, st["ax"]._data]
        for pieces, (t1, t2) in _chunks(xp, arrays):
            _asgd_kernel(xp, *pieces, t1, t2, eta, mu, group["lambd"], group["weight_decay"],
                         group["maximize"], copy_where)
        p._bump_version()
        _set_scalar(st["eta"], host_value(_next_eta, group, st["step"]))
        _set_scalar(st["mu"], host_value(_next_mu, group, st["step"]))


# torch computes the next eta and mu with torch.as_tensor (default float dtype) and copies
# them into the state, whatever its dtype


def _next_eta(group: dict, step: Tensor) -> float:
    """eta after step ``step``: ``lr / (1 + lambd * lr * step) ** alpha``."""
    lr, t = _group_lr(group), _step_count(step)
    return _as_default_float(lr / ((1 + group["lambd"] * lr * t) ** group["alpha"]))


def _next_mu(group: dict, step: Tensor) -> float:
    """mu after step ``step``: ``1 / max(1, step - t0)``."""
    return _as_default_float(1 / max(1, _step_count(step) - group["t0"]))


_next_eta.volatile = _next_mu.volatile = True  # they follow the step count


def _asgd_kernel(xp, w, g, ax, t1, t2, eta: float, mu: float, lambd: float, wd: float,
                 maximize: bool, copy_where=None) -> None:
    """The ASGD update of one piece, in place on ``w`` and ``ax``. ``copy_where`` (a 0-d
    boolean array, from a compiled step): compute both averaging rules, each as eagerly, and
    take the copy where it is true."""
    g = _direction(xp, w, g, wd, maximize, t1, t2)
    w *= 1 - lambd * eta  # decay term
    xp.multiply(g, -eta, out=t2)  # p.add_(grad, alpha=-eta)
    w += t2
    if copy_where is not None:
        xp.subtract(w, ax, out=t2)
        t2 *= mu
        t2 += ax
        ax[...] = xp.where(copy_where, w, t2)
    elif mu != 1:  # ax.add_(p.sub(ax).mul_(mu))
        xp.subtract(w, ax, out=t2)
        t2 *= mu
        ax += t2
    else:
        ax[...] = w
