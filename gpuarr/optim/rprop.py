"""Rprop: resilient backpropagation, sign-based steps with per-coordinate adaptive sizes."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import (
    _check_differentiable,
    _check_lr,
    _chunks,
    _count_step,
    _full_state,
    _group_defaults,
    _new_step,
    _PerParameter,
    _scalar_states_to_tensors,
    _zeros_state,
)

__all__ = ["Rprop"]


class Rprop(_PerParameter):
    """The resilient backpropagation algorithm, with PyTorch's update rule and state layout.

    For each coordinate, with gradient ``g`` (``-g`` when ``maximize``) and the previous
    step's (possibly zeroed) gradient ``prev``::

        g * prev > 0:  size = min(size * etaplus, max_step)
        g * prev < 0:  size = max(size * etaminus, min_step);  g = 0
        p = p - sign(g) * size;  prev = g

    State per parameter: ``step`` (float32 0-d tensor), ``prev`` and ``step_size`` (which
    starts at the group's ``lr``).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: initial step size (default 1e-2).
        etas: multiplicative decrease and increase factors (etaminus, etaplus), with
            ``0 < etaminus < 1 < etaplus`` (default (0.5, 1.2)).
        step_sizes: minimal and maximal step sizes (default (1e-6, 50)).
        capturable: keep ``step`` on the parameter's device, as torch does for graph capture.
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported (updates are not recorded by autograd).

    Example:
        >>> opt = gpuarr.optim.Rprop(model.parameters(), lr=0.01, etas=(0.5, 1.2))
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        _group_defaults(self, foreach=None, maximize=False, differentiable=False, capturable=False)
        for group in self.param_groups:
            for key in ("etas", "step_sizes"):
                if isinstance(group.get(key), list):
                    group[key] = tuple(group[key])
        _scalar_states_to_tensors(self, ("step",), lambda g, _: g["capturable"])

    def _update(self, group: dict, p, lr: float) -> None:
        st = self.state[p]
        if len(st) == 0:
            st["step"] = _new_step(p if group["capturable"] else None)
            st["prev"] = _zeros_state(p)
            st["step_size"] = _full_state(p, lr)
        _count_step(st)
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        xp = p._device._xp()
        arrays = [p._data, p.grad._data, st["prev"]._data, st["step_size"]._data]
        for pieces, tmps in _chunks(xp, arrays, 3):
            _rprop_kernel(xp, *pieces, *tmps, etaminus, etaplus, lo, hi, group["maximize"])
        p._bump_version()


def _rprop_kernel(xp, w, g, prev, size, t1, t2, t3, etaminus: float, etaplus: float,
                  lo: float, hi: float, maximize: bool) -> None:
    """The Rprop update of one piece, in place on ``w``, ``prev`` and ``size``."""
    if maximize:
        xp.negative(g, out=t2)
    else:
        t2[...] = g  # grad.clone(): zeroed below where the sign flipped
    xp.multiply(t2, prev, out=t1)  # sign = grad.mul(prev).sign()
    xp.sign(t1, out=t1)
    # sign[sign > 0] = etaplus; sign[sign < 0] = etaminus; sign[sign == 0] = 1, in that order
    # (masked copies: no boolean indexing, so no device sync on a GPU)
    xp.copyto(t1, etaplus, where=t1 > 0)
    xp.copyto(t1, etaminus, where=t1 < 0)
    xp.copyto(t1, 1, where=t1 == 0)
    size *= t1  # step_size.mul_(sign).clamp_(step_size_min, step_size_max)
    xp.clip(size, lo, hi, out=size)
    xp.copyto(t2, 0, where=t1 == etaminus)  # grad[sign.eq(etaminus)] = 0
    xp.sign(t2, out=t3)  # p.addcmul_(grad.sign(), step_size, value=-1)
    t3 *= size
    w -= t3
    prev[...] = t2
