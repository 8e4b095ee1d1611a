"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import (
    _advance_step,
    _advance_step_on_device,
    _check_betas,
    _check_differentiable,
    _check_lr,
    _check_nonnegative,
    _chunks,
    _direction,
    _group_defaults,
    _lerp_,
    _PerParameter,
    _scalar_states_to_tensors,
)

__all__ = ["Adamax"]


class Adamax(_PerParameter):
    """Adamax (Kingma & Ba, 2014, section 7.1), with PyTorch's update rule and state layout.

    For each parameter with gradient ``g`` (``-g`` when ``maximize``), at its step ``t``::

        g = g + weight_decay * p                      (if weight_decay)
        m = lerp(m, g, 1 - beta1)
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1**t) * m / u

    State per parameter: ``step`` (float32 0-d tensor), ``exp_avg`` (m) and ``exp_inf`` (u).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 2e-3).
        betas: decay rates of the first moment and of the infinity norm (default (0.9, 0.999)).
        eps: added to ``|g|`` for stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported (updates are not recorded by autograd).
        capturable: keep ``step`` on the parameter's device and compute the bias correction
            there, as torch does for graph capture: nothing is read back to the host, so a
            compiled CUDA-graph step holds the whole update (same numbers either way).

    Example:
        >>> opt = gpuarr.optim.Adamax(model.parameters(), lr=2e-3)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative("epsilon", eps)
        _check_betas(betas)
        _check_nonnegative("weight_decay", weight_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        _group_defaults(self, foreach=None, maximize=False, differentiable=False, capturable=False)
        _scalar_states_to_tensors(self, ("step",), lambda g, _: g["capturable"])

    def _update(self, group: dict, p, lr: float) -> None:
        st = self._lazy_state(p, group["capturable"], exp_avg=True, exp_inf=True)
        beta1, beta2 = (float(b) for b in group["betas"])
        if group["capturable"]:  # the step count stays on the device: nothing read back
            clr = (lr / (1.0 - beta1 ** _advance_step_on_device(st))).astype(p._data.dtype)
        else:
            clr = lr / (1 - beta1**_advance_step(st))
        xp = p._device._xp()
        arrays = [p._data, p.grad._data, st["exp_avg"]._data, st["exp_inf"]._data]
        for pieces, (t1, t2) in _chunks(xp, arrays):
            _adamax_kernel(xp, *pieces, t1, t2, beta1, beta2, group["eps"],
                           group["weight_decay"], group["maximize"], clr)
        p._bump_version()


def _adamax_kernel(xp, w, g, m, u, t1, t2, beta1: float, beta2: float, eps: float,
                   wd: float, maximize: bool, clr: float) -> None:
    """The Adamax update of one piece, in place on ``w``, ``m`` and ``u``."""
    g = _direction(xp, w, g, wd, maximize, t1, t2)
    _lerp_(xp, m, g, 1 - beta1, t2)
    u *= beta2  # torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)
    xp.abs(g, out=t2)
    t2 += eps
    xp.maximum(u, t2, out=u)
    xp.multiply(m, -clr, out=t2)  # p.addcdiv_(exp_avg, exp_inf, value=-clr)
    t2 /= u
    w += t2
