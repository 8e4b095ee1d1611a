"""``GradScaler``: loss scaling for float16 training, as ``torch.amp.GradScaler``.

The scale and the growth tracker live on the device as 0-d tensors (float32 and int32), and
the inf/NaN checks, the unscaling and the scale update run there too: the only device-to-host
transfer per step is the one torch also makes, reading whether any gradient was not finite
before calling ``optimizer.step()``.
"""

from __future__ import annotations

import warnings
from collections import abc, defaultdict
from enum import Enum
from typing import Any

import numpy as np

from .. import _dtype as D
from .. import cuda
from .._creation import full
from .._tensor import Tensor, _make
from ..autograd.grad_mode import no_grad

__all__ = ["OptState", "GradScaler"]


class _MultiDeviceReplicator:
    """Serves copies of one tensor on the devices asked for (each copied once)."""

    def __init__(self, master: Tensor) -> None:
        self.master = master
        self._per_device_tensors: dict[Any, Tensor] = {}

    def get(self, device) -> Tensor:
        t = self._per_device_tensors.get(device)
        if t is None:
            t = self.master.to(device=device, copy=True)
            self._per_device_tensors[device] = t
        return t


class OptState(Enum):
    """Where an optimizer is in the current iteration."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _full(value, dtype: D.dtype, device) -> Tensor:
    return full((), value, dtype=dtype, device=device)


class GradScaler:
    """Scale the loss up so that small float16 gradients do not flush to zero, and unscale the
    gradients before the optimizer step.

    ``scale(loss)`` multiplies by the current scale; ``step(optimizer)`` unscales the
    gradients (unless :meth:`unscale_` already did) and runs ``optimizer.step()`` only when all
    of them are finite; ``update()`` multiplies the scale by ``backoff_factor`` after a skipped
    step, or by ``growth_factor`` after ``growth_interval`` steps in a row without inf/NaN.

    Args:
        device: device type of the tensors to scale, 'cuda' (default) or 'cpu'.
        init_scale: the initial scale.
        growth_factor: factor the scale grows by (> 1).
        backoff_factor: factor the scale shrinks by (< 1).
        growth_interval: finite steps in a row before the scale grows.
        enabled: False makes every method a no-op (``step`` just calls ``optimizer.step()``).

    Example:
        >>> scaler = gpuarr.amp.GradScaler("cuda")
        >>> scaler.scale(loss).backward()
        >>> scaler.unscale_(optimizer)                  # optional: to clip true gradients
        >>> gpuarr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        >>> scaler.step(optimizer)
        >>> scaler.update()
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:
            if not cuda.is_available():
                warnings.warn("gpuarr.cuda.amp.GradScaler is enabled, but CUDA is not "
                              "available.  Disabling.", stacklevel=2)
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale: Tensor | None = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: Tensor | None = None
            self._per_optimizer_states: dict[int, dict[str, Any]] = defaultdict(
                _refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname: str) -> tuple[Tensor, Tensor]:
        fix = ("This may indicate your script did not use scaler.scale(loss or outputs) "
               "earlier in the iteration.")
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, dev) -> None:
        self._scale = _full(self._init_scale, D.float32, dev)
        self._growth_tracker = _full(self._init_growth_tracker, D.int32, dev)

    def scale(self, outputs):
        """Multiply a tensor (or the tensors in a list/tuple/iterable) by the scale.

        Args:
            outputs: a Tensor or an iterable of Tensors (usually the loss).

        Returns:
            The scaled outputs, in the same structure (unchanged when disabled).
        """
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(device=outputs.device)
        stash: list[_MultiDeviceReplicator] = []

        def apply_scale(val):
            if isinstance(val, Tensor):
                if not stash:
                    if self._scale is None:
                        self._lazy_init_scale_growth_tracker(val.device)
                    stash.append(_MultiDeviceReplicator(self._scale))
                return val * stash[0].get(val.device)
            if isinstance(val, abc.Iterable):
                it = map(apply_scale, val)
                return type(val)(it) if isinstance(val, (list, tuple)) else it
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale: Tensor, found_inf: Tensor,
                        allow_fp16: bool) -> dict:
        """Multiply every gradient by ``inv_scale`` in place and record, per device, whether
        any of them holds inf or NaN (torch's ``_amp_foreach_non_finite_check_and_unscale_``)."""
        per_device_inv_scale = _MultiDeviceReplicator(inv_scale)
        per_device_found_inf = _MultiDeviceReplicator(found_inf)
        per_device_grads: dict[Any, list[Tensor]] = defaultdict(list)
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if not isinstance(param, Tensor):
                        raise AssertionError(
                            f"expected param to be gpuarr.Tensor, got {type(param).__name__}")
                    g = param.grad
                    if g is None:
                        continue
                    if not allow_fp16 and g.dtype is D.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    per_device_grads[g.device].append(g)
            for device, grads in per_device_grads.items():
                _check_and_unscale(grads, per_device_found_inf.get(device),
                                   per_device_inv_scale.get(device))
        return per_device_found_inf._per_device_tensors

    def unscale_(self, optimizer) -> None:
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place.

        Optional: :meth:`step` unscales when this was not called. Call it to inspect or clip
        the true gradients between ``backward()`` and :meth:`step`; at most once per
        optimizer per :meth:`update`.

        Raises:
            RuntimeError: called twice before :meth:`update`, or after :meth:`step`.
            ValueError: a gradient is float16 (keep the parameters in float32 under autocast).
        """
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        scale = self._scale
        # 1/scale in float64, then float32: torch's inv_scale
        inv_scale = _make(scale._data.astype(np.float64) ** -1, scale.device).to(D.float32)
        found_inf = _full(0.0, D.float32, scale.device)
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(
            optimizer, inv_scale, found_inf, False)
        optimizer_state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, optimizer_state: dict, *args, **kwargs):
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):
            return optimizer.step(*args, **kwargs)
        return None

    def step(self, optimizer, *args, **kwargs):
        """Unscale the gradients (if :meth:`unscale_` was not called) and run
        ``optimizer.step(*args, **kwargs)`` unless a gradient holds inf or NaN.

        Returns:
            What ``optimizer.step`` returned, or None when the step was skipped.

        Raises:
            RuntimeError: a ``closure`` is passed, or ``step`` was already called since the last
                :meth:`update`.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, optimizer_state, *args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Update the scale: shrink it after a skipped step, grow it after
        ``growth_interval`` good steps in a row, or set it to ``new_scale``.

        Args:
            new_scale: a float or a one-element float32 tensor on the scaler's device type.
        """
        if not self._enabled:
            return
        _scale, _growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                _scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element gpuarr.cuda.FloatTensor or "
                          "gpuarr.FloatTensor with requires_grad=False.")
                if new_scale.device.type != self._device:
                    raise AssertionError(reason)
                if new_scale.numel() != 1:
                    raise AssertionError(reason)
                if new_scale.requires_grad is True:
                    raise AssertionError(reason)
                _scale.copy_(new_scale)
        else:
            found_infs = [found_inf.to(device=_scale.device)
                          for state in self._per_optimizer_states.values()
                          for found_inf in state["found_inf_per_device"].values()]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            combined = found_infs[0]
            for f in found_infs[1:]:
                combined = combined + f
            _update_scale(_scale, _growth_tracker, combined, self._growth_factor,
                          self._backoff_factor, self._growth_interval)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _get_scale_async(self) -> Tensor | None:
        return self._scale

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled); one device sync."""
        if self._enabled:
            return self._init_scale if self._scale is None else float(self._scale.item())
        return 1.0

    def get_growth_factor(self) -> float:
        """The factor the scale grows by."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the factor the scale grows by."""
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The factor the scale shrinks by."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the factor the scale shrinks by."""
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """Finite steps in a row before the scale grows."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the number of finite steps in a row before the scale grows."""
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return (self._init_growth_tracker if self._growth_tracker is None
                    else int(self._growth_tracker.item()))
        return 0

    def is_enabled(self) -> bool:
        """Whether this scaler scales (False when disabled or CUDA is missing)."""
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """The scaler's state: ``scale``, ``growth_factor``, ``backoff_factor``,
        ``growth_interval`` and ``_growth_tracker`` (an empty dict when disabled).
        Take it after :meth:`update`.

        Example:
            >>> scaler.state_dict()["scale"]
            65536.0
        """
        if self._enabled:
            return {
                "scale": self.get_scale(),
                "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker(),
            }
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state :meth:`state_dict` returned (a no-op when disabled).

        Raises:
            RuntimeError: ``state_dict`` is empty (saved from a disabled scaler).
        """
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the beginning "
                                     "of an iteration, or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _found_inf_per_device(self, optimizer) -> dict:
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]


def _check_and_unscale(grads: list[Tensor], found_inf: Tensor, inv_scale: Tensor) -> None:
    """torch's ``_amp_foreach_non_finite_check_and_unscale_``: ``found_inf`` becomes 1.0 if a
    gradient holds inf or NaN; every gradient is multiplied by ``inv_scale`` in place (in
    float32 for float16/bfloat16 gradients, rounded once)."""
    xp = found_inf._device._xp()
    inv = inv_scale._data
    bad = xp.zeros((), dtype=bool)
    for g in grads:
        d = g._data
        xp.logical_or(bad, ~xp.isfinite(d).all(), out=bad)
        xp.multiply(d, inv, out=d, casting="unsafe")
        g._bump_version()
    found_inf._data[...] = xp.maximum(found_inf._data, bad.astype(np.float32))


def _update_scale(scale: Tensor, tracker: Tensor, found_inf: Tensor, growth_factor: float,
                  backoff_factor: float, growth_interval: int) -> None:
    """torch's ``_amp_update_scale_``, on the device: after an inf the scale backs off and the
    tracker restarts; otherwise the tracker counts up and at ``growth_interval`` the scale
    grows (if the grown scale is finite) and the tracker restarts."""
    xp = scale._device._xp()
    s, t = scale._data, tracker._data
    inf = found_inf._data > 0
    s64 = s.astype(np.float64)  # torch multiplies the float scale by the double factors
    backed = (s64 * backoff_factor).astype(np.float32)
    grown = (s64 * growth_factor).astype(np.float32)
    succ = t + 1
    grow = xp.logical_and(~inf, succ == growth_interval)
    new_s = xp.where(inf, backed, xp.where(grow & xp.isfinite(grown), grown, s))
    new_t = xp.where(inf | grow, 0, succ).astype(np.int32)
    s[...] = new_s
    t[...] = new_t
