"""``Optimizer``: the base class of gpuarr's optimizers (param groups, state, checkpoints).

Optimizers keep what PyTorch keeps and in the same layout, so code written for
``torch.optim`` reads the same: ``param_groups`` is a list of dicts (the tensors under
``'params'`` plus per-group options), ``state`` maps each parameter to a dict of tensors, and
``state_dict()`` replaces parameters by their running index::

    {'state': {0: {'momentum_buffer': tensor(...)}, ...},
     'param_groups': [{'lr': 0.1, ..., 'params': [0, 1]}, ...]}

Updates run under ``no_grad`` and write the parameters' arrays in place with backend ufuncs
(``out=``), so a step allocates at most a scratch array or two per parameter.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from .._device import CPU
from .._tensor import Tensor, _make
from ..autograd.grad_mode import _state
from ..backends import of_module

__all__ = ["Optimizer", "required"]

StateDict = dict[str, Any]


class _RequiredParameter:
    """Marks an option that every param group must give (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class _Handle:
    """Removable handle returned by the ``register_*_hook`` methods."""

    _next_id = 0

    def __init__(self, hooks: OrderedDict) -> None:
        self._hooks = hooks
        self.id = _Handle._next_id
        _Handle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def _optimizer_step(step: Callable) -> Callable:
    """Decorator for ``Optimizer.step``: runs it without grad recording, with hooks."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for hook in list(self._step_pre_hooks.values()):
            res = hook(self, args, kwargs)
            if res is not None:
                args, kwargs = res
        prev = _state.enabled
        _state.enabled = False
        try:
            out = step(self, *args, **kwargs)
        finally:
            _state.enabled = prev
        self._opt_called = True
        for hook in list(self._step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    return wrapper


def _closure_loss(closure: Callable | None):
    """Evaluate an optimizer closure with grad recording on (as torch does)."""
    if closure is None:
        return None
    prev = _state.enabled
    _state.enabled = True
    try:
        return closure()
    finally:
        _state.enabled = prev


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts each holding
            ``'params'`` and per-group options that override ``defaults``.
        defaults: the options (``lr``, ...) a group gets when it does not set them.

    Example:
        >>> opt = gpuarr.optim.SGD([{'params': model.fc1.parameters()},
        ...                         {'params': model.fc2.parameters(), 'lr': 1e-3}], lr=0.1)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._step_pre_hooks: OrderedDict = OrderedDict()
        self._step_post_hooks: OrderedDict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {params.type()}"
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- pickling / printing ----
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_step_post_hooks", OrderedDict())

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # ---- groups ----
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. unfreezing layers later).

        Args:
            param_group: a dict with ``'params'`` (a Tensor, or an iterable of Tensors or of
                ``(name, Tensor)`` pairs) and options; missing options come from ``defaults``.

        Raises:
            TypeError: ``params`` is a set or holds something other than Tensors.
            ValueError: a parameter is already in another group, is not a leaf, or a required
                option is missing.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__module__}.{type(p).__name__}"
                )
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization parameter "
                    f"{name}"
                )
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error",
                stacklevel=3,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    f"all optimizer param groups should be with/without names. cannot add param "
                    f"group {which} to the optimizer"
                )
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients ----
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors.

        Args:
            set_to_none: set ``.grad`` to None (default, cheaper) instead of filling with zeros.
                Parameters whose grad is None are skipped by ``step``.
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g._rg = False
                    g._data.fill(0)
                    g._bump_version()

    def step(self, closure: Callable | None = None):
        """Perform one optimization step (subclasses implement it).

        Args:
            closure: optional function that re-evaluates the model and returns the loss.
        """
        raise NotImplementedError

    # ---- hooks ----
    def register_step_pre_hook(self, hook: Callable) -> _Handle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``; it may return new
        ``(args, kwargs)``."""
        h = _Handle(self._step_pre_hooks)
        self._step_pre_hooks[h.id] = hook
        return h

    def register_step_post_hook(self, hook: Callable) -> _Handle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``."""
        h = _Handle(self._step_post_hooks)
        self._step_post_hooks[h.id] = hook
        return h

    # ---- checkpoints ----
    def state_dict(self) -> StateDict:
        """The optimizer's state, with parameters replaced by their running index.

        Returns:
            ``{'state': {index: {name: Tensor | number}}, 'param_groups': [{option: value,
            ..., 'params': [index, ...]}]}``. Tensors are the live state (not copies), as in
            torch; save it with :func:`gpuarr.save` or copy it before training on.
        """
        mapping: dict[int, int] = {}
        start = 0

        def pack(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {
            (mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Load a state from :meth:`state_dict` (of this optimizer class, same group sizes).

        State tensors are copied onto each parameter's device (and floating dtype), so the
        loaded dict is never modified by later steps. Also accepted: the same structure
        after a JSON round trip, with string keys (``'0'``) and nested lists in place of
        tensors.

        Raises:
            ValueError: the number of groups, or of parameters in a group, differs.
        """
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(_int_keys(g["params"]) for g in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            k = _int_key(k)
            if k in id_map:
                param = id_map[k]
                state[param] = {name: _cast_state(param, name, val) for name, val in v.items()}
            else:
                state[k] = v
        new_groups = []
        for g, ng in zip(groups, saved_groups):
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            if isinstance(ng.get("betas"), list):
                ng["betas"] = tuple(ng["betas"])
            new_groups.append(ng)
        self.__setstate__({"state": state, "param_groups": new_groups})


def _int_key(k):
    # JSON turns the int keys of 'state' into strings; map them back.
    if isinstance(k, str) and k.lstrip("-").isdigit():
        return int(k)
    return k


def _int_keys(ks) -> list:
    return [_int_key(k) for k in ks]


def _cast_state(param: Tensor, name: str, value):
    """A private copy of one state entry, on the parameter's device (torch's policy: 'step'
    stays a float32 CPU tensor; floating state takes the parameter's dtype)."""
    if name == "step":
        if isinstance(value, Tensor):
            return value.detach().cpu().clone()
        return _make(np.asarray(value, dtype=np.float32), CPU)
    if isinstance(value, (list, np.ndarray)):
        from .._creation import tensor

        value = tensor(value, dtype=param.dtype if param.is_floating_point() else None)
    if isinstance(value, Tensor):
        v = value.detach()
        if param.is_floating_point() and v.is_floating_point():
            v = v.to(device=param._device, dtype=param.dtype)
        else:
            v = v.to(device=param._device)
        return v.clone()
    if isinstance(value, dict):
        return {k: _cast_state(param, k, x) for k, x in value.items()}
    return deepcopy(value)


class _PerParameter(Optimizer):
    """Base of the optimizers whose step updates each parameter on its own: ``step`` calls
    ``_update(group, p, lr)`` for every parameter of every group that has a gradient."""

    @_optimizer_step
    def step(self, closure: Callable | None = None):
        """Perform one optimization step on every parameter that has a gradient.

        Args:
            closure: optional function that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr = _lr_value(group["lr"])
            for p in group["params"]:
                if p.grad is not None:
                    self._update(group, p, lr)
        return loss

    def _update(self, group: dict[str, Any], p: Tensor, lr: float) -> None:
        """Update ``p`` (and its state) in place with ``group``'s options and learning rate."""
        raise NotImplementedError

    def _lazy_state(self, p: Tensor, **buffers: bool) -> dict:
        """``self.state[p]``; on first use, a zero 'step' counter and a zero tensor like ``p``
        for each name in ``buffers`` whose flag is true (in that order)."""
        st = self.state[p]
        if len(st) == 0:
            st["step"] = _new_step()
            for name, wanted in buffers.items():
                if wanted:
                    st[name] = _zeros_state(p)
        return st


# ---- helpers shared by the optimizers' update loops ----


def _lr_value(lr) -> float:
    """A group's lr as a Python float (torch also accepts one-element tensors)."""
    return float(lr.item()) if isinstance(lr, Tensor) else float(lr)


def _zeros_state(p: Tensor) -> Tensor:
    """A zero tensor shaped, typed and placed like ``p`` (optimizer state)."""
    return _make(p._device._xp().zeros_like(p._data), p._device)


def _new_step() -> Tensor:
    """The 'step' counter: a float32 0-d CPU tensor, as torch keeps it (non-capturable)."""
    return _make(np.zeros((), dtype=np.float32), CPU)


def _advance_step(st: dict) -> float:
    """Add one to ``st['step']`` in place and return the new count."""
    step = st["step"]
    arr = step._data
    arr += 1  # 0-d array: in place on the host
    return float(arr)


# Elements per piece of the CPU update loops: 32K float32 values (128 KiB) per scratch array.
_CHUNK = 1 << 15


def _chunks(xp, arrays: list, n_tmp: int = 2):
    """Split same-shaped arrays into matching pieces for an in-place update.

    Yields ``(views, tmps)``: views of every array of ``arrays`` (None entries stay None) over
    the same elements, and ``n_tmp`` scratch arrays of the piece's size. Updates write through
    the views. On the CPU, contiguous arrays are walked in pieces of ``_CHUNK`` elements so
    that the scratch arrays stay small (no parameter-sized temporaries: the peak memory of a
    step does not grow by the largest parameter) and cache-resident. Other arrays (a
    non-contiguous gradient, CuPy arrays) are processed whole; 0-d arrays become 1-element
    views so that ufuncs with ``out=`` always get arrays.
    """
    live = [a for a in arrays if a is not None]
    first = live[0]
    n = first.size
    if all(a.flags.c_contiguous for a in live):
        flat = [None if a is None else a.reshape(-1) for a in arrays]
        if n > _CHUNK and of_module(xp).chunked_updates:
            tmps = [xp.empty(_CHUNK, first.dtype) for _ in range(n_tmp)]
            for i in range(0, n, _CHUNK):
                j = min(i + _CHUNK, n)
                yield ([None if f is None else f[i:j] for f in flat],
                       [t[: j - i] for t in tmps])
            return
        yield flat, [xp.empty(n, first.dtype) for _ in range(n_tmp)]
        return
    yield list(arrays), [xp.empty_like(first) for _ in range(n_tmp)]


def _direction(xp, w, g, wd: float, maximize: bool, out, tmp):
    """The gradient term of an update: ``g``, negated when ``maximize``, plus ``wd * w`` (L2
    weight decay). Returns ``g`` itself when neither applies, else ``out``; ``tmp`` is
    scratch."""
    if maximize:
        g = xp.negative(g, out=out)
    if wd != 0:
        xp.multiply(w, wd, out=tmp)
        g = xp.add(g, tmp, out=out)  # g + wd * p
    return g


def _lerp_(xp, start, end, weight: float, tmp) -> None:
    """``start.lerp_(end, weight)`` in place, with torch's two-sided formula (exact at both
    ends); ``tmp`` is scratch."""
    xp.subtract(end, start, out=tmp)
    if weight < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        xp.subtract(end, tmp, out=start)
