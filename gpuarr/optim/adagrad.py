"""Adagrad: per-coordinate step sizes from the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import (
    _advance_step,
    _check_differentiable,
    _check_lr,
    _check_nonnegative,
    _chunks,
    _direction,
    _full_state,
    _group_defaults,
    _new_step,
    _PerParameter,
    _scalar_states_to_tensors,
)

__all__ = ["Adagrad"]

# the devices torch's fused optimizers support (the message of its fused=True check)
_FUSED_DEVICES = ["mps", "cuda", "xpu", "hpu", "cpu", "privateuseone"]


class Adagrad(_PerParameter):
    """Adagrad (Duchi et al., 2011), with PyTorch's update rule, options and state layout.

    For each parameter with gradient ``g`` (``-g`` when ``maximize``), at its step ``t``::

        g = g + weight_decay * p                      (if weight_decay)
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (sqrt(s) + eps)

    As in torch, the state (``step`` and ``sum``, which starts at
    ``initial_accumulator_value``) is created for every parameter when the optimizer is built.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the sums of squared gradients (default 0).
        eps: added to the denominator for stability (default 1e-10).
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported (updates are not recorded by autograd).
        fused: accepted for torch compatibility (same update; ``step`` lives on the
            parameter's device, as torch's fused path keeps it).

    Example:
        >>> opt = gpuarr.optim.Adagrad(model.parameters(), lr=0.01, lr_decay=1e-4)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        _check_nonnegative("weight_decay", weight_decay)
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        _check_nonnegative("epsilon", eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        _check_differentiable(differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(group, p)

    def _init_state(self, group: dict, p) -> None:
        if group["fused"] and not p.is_floating_point():
            raise RuntimeError(
                "`fused=True` requires all the params to be floating point Tensors of "
                f"supported devices: {_FUSED_DEVICES} but {p.dtype} and {p.device.type}"
            )
        st = self.state[p]
        st["step"] = _new_step(p if group["fused"] else None)
        st["sum"] = _full_state(p, self.defaults["initial_accumulator_value"])

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        _group_defaults(self, foreach=None, maximize=False, differentiable=False, fused=None)
        _scalar_states_to_tensors(self, ("step",), lambda g, _: bool(g["fused"]))

    def share_memory(self) -> None:
        """Accepted for torch compatibility: gpuarr's state is process-local (no-op)."""

    def _update(self, group: dict, p, lr: float) -> None:
        st = self.state[p]
        if len(st) == 0:  # a parameter added later, or state cleared by hand
            self._init_state(group, p)
        step = _advance_step(st)
        clr = lr / (1 + (step - 1) * group["lr_decay"])
        xp = p._device._xp()
        for pieces, (t1, t2) in _chunks(xp, [p._data, p.grad._data, st["sum"]._data]):
            _adagrad_kernel(xp, *pieces, t1, t2, clr, group["eps"], group["weight_decay"],
                            group["maximize"])
        p._bump_version()


def _adagrad_kernel(xp, w, g, s, t1, t2, clr: float, eps: float, wd: float,
                    maximize: bool) -> None:
    """The Adagrad update of one piece, in place on ``w`` and ``s``."""
    g = _direction(xp, w, g, wd, maximize, t1, t2)
    xp.multiply(g, g, out=t2)  # state_sum.addcmul_(g, g, value=1)
    s += t2
    xp.sqrt(s, out=t2)  # std = state_sum.sqrt().add_(eps)
    t2 += eps
    xp.multiply(g, -clr, out=t1)  # p.addcdiv_(g, std, value=-clr): p + (-clr * g) / std
    t1 /= t2
    w += t1
