"""``Optimizer``: the base class of gpuarr's optimizers (param groups, state, checkpoints).

Optimizers keep what PyTorch keeps and in the same layout, so code written for
``torch.optim`` reads the same: ``param_groups`` is a list of dicts (the tensors under
``'params'`` plus per-group options), ``state`` maps each parameter to a dict of tensors, and
``state_dict()`` replaces parameters by their running index::

    {'state': {0: {'momentum_buffer': tensor(...)}, ...},
     'param_groups': [{'lr': 0.1, ..., 'params': [0, 1]}, ...]}

Updates run under ``no_grad`` and write the parameters' arrays in place with backend ufuncs
(``out=``), so a step allocates at most a scratch array or two per parameter.

Every subclass's ``step`` is instrumented as torch instruments it: whatever class defines
``step`` (gpuarr's optimizers, or a user's ``Optimizer`` subclass that overrides it), a call
runs the global hooks (:func:`register_optimizer_step_pre_hook` /
:func:`register_optimizer_step_post_hook`) and the instance's hooks around it, and marks the
optimizer as stepped, which is what learning-rate schedulers check before warning that
``lr_scheduler.step()`` came first.
"""

from __future__ import annotations

import functools
import types
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from .._core.capture import host_value, tracing
from .._creation import tensor
from .._device import CPU
from .._dtype import float64, get_default_dtype
from .._tensor import Tensor, _make
from ..autograd.grad_mode import enable_grad, no_grad
from ..backends import of_module

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

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


_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> _Handle:
    """Register a pre hook common to all optimizers (torch's name and contract).

    The hook is called as ``hook(optimizer, args, kwargs)`` before every optimizer's ``step``
    (before the optimizer's own pre hooks); it may return ``(new_args, new_kwargs)``.

    Args:
        hook: the function to call.

    Returns:
        A handle whose ``remove()`` unregisters the hook.

    Example:
        >>> h = gpuarr.optim.optimizer.register_optimizer_step_pre_hook(
        ...     lambda opt, args, kwargs: print("stepping", type(opt).__name__))
        >>> h.remove()
    """
    h = _Handle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[h.id] = hook
    return h


def register_optimizer_step_post_hook(hook: Callable) -> _Handle:
    """Register a post hook common to all optimizers (torch's name and contract).

    The hook is called as ``hook(optimizer, args, kwargs)`` after every optimizer's ``step``
    (after the optimizer's own post hooks).

    Args:
        hook: the function to call.

    Returns:
        A handle whose ``remove()`` unregisters the hook.
    """
    h = _Handle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[h.id] = hook
    return h


def _hooked_step(func: Callable) -> Callable:
    """Instrument one class's ``step`` as torch's ``Optimizer.profile_hook_step`` does.

    The wrapper runs the global and the instance's pre hooks, called as
    ``hook(optimizer, args, kwargs)`` where ``args`` starts with the optimizer itself, as in
    torch (a hook may return new ``(args, kwargs)``, the optimizer still first); marks the
    optimizer as stepped (``_opt_called``, read by the learning-rate schedulers); calls
    ``func``; then runs the instance's and the global post hooks. A ``step`` that calls
    ``super().step()`` runs the hooks once: only the outermost instrumented call of an
    optimizer runs them.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # as in torch, the hooks' ``args`` hold the optimizer itself first
        self = args[0]
        if self.__dict__.get("_in_step", False):  # super().step() inside an overriding step
            return func(*args, **kwargs)
        for pre_hook in chain(_global_optimizer_pre_hooks.values(),
                              self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(
                        f"{func} must return None or a tuple of (new_args, new_kwargs), but "
                        f"got {result}."
                    )
        self._opt_called = True
        self._in_step = True
        try:
            out = func(*args, **kwargs)
        finally:
            self._in_step = False
        for post_hook in chain(self._optimizer_step_post_hooks.values(),
                               _global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper.hooked = True  # type: ignore[attr-defined]
    return wrapper


def _optimizer_step(step: Callable) -> Callable:
    """Decorator for the built-in optimizers' ``step``: runs it without grad recording (torch's
    ``_use_grad_for_differentiable`` with ``differentiable=False``). Hooks and the stepped
    mark come from the class-level instrumentation (:func:`_hooked_step`)."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        with no_grad():
            return step(self, *args, **kwargs)

    return wrapper


def _closure_loss(closure: Callable | None):
    """Evaluate an optimizer closure with grad recording on (as torch does)."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # torch instruments ``type(self).step`` when an optimizer is built; doing it when the
        # class is defined covers every class in the hierarchy, so the hooks and the stepped
        # mark also work for a user subclass whose ``step`` is reached through ``super()``.
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if isinstance(step, types.FunctionType) and not getattr(step, "hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._init_hook_dicts()
        self._patch_step_function()
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
        self._init_hook_dicts()
        self._patch_step_function()  # a class whose ``step`` was replaced after definition

    _HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                   "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                   "_optimizer_load_state_dict_pre_hooks",
                   "_optimizer_load_state_dict_post_hooks")

    def _init_hook_dicts(self) -> None:
        for name in self._HOOK_DICTS:
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())

    def _patch_step_function(self) -> None:
        """Instrument ``type(self).step`` if it is not yet (torch's ``_patch_step_function``:
        covers a ``step`` assigned to the class after its definition)."""
        cls = type(self)
        if not getattr(cls.step, "hooked", False):
            cls.step = _hooked_step(cls.step)

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
                    if g._gfn is not None:
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
        ``(args, kwargs)``. As in torch, ``args`` are the positional arguments of the call
        with the optimizer first: ``(optimizer,)`` for ``opt.step()``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        h = _Handle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[h.id] = hook
        return h

    def register_step_post_hook(self, hook: Callable) -> _Handle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        h = _Handle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[h.id] = hook
        return h

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> _Handle:
        """Call ``hook(optimizer)`` at the start of :meth:`state_dict`.

        Args:
            hook: the function to call.
            prepend: run it before the hooks already registered (default: after them).
        """
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> _Handle:
        """Call ``hook(optimizer, state_dict)`` at the end of :meth:`state_dict`; a dict it
        returns replaces the state dict.

        Args:
            hook: the function to call.
            prepend: run it before the hooks already registered (default: after them).
        """
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable,
                                          prepend: bool = False) -> _Handle:
        """Call ``hook(optimizer, state_dict)`` at the start of :meth:`load_state_dict`; a
        dict it returns is loaded instead.

        Args:
            hook: the function to call.
            prepend: run it before the hooks already registered (default: after them).
        """
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable,
                                           prepend: bool = False) -> _Handle:
        """Call ``hook(optimizer)`` at the end of :meth:`load_state_dict`.

        Args:
            hook: the function to call.
            prepend: run it before the hooks already registered (default: after them).
        """
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---- checkpoints ----
    def state_dict(self) -> StateDict:
        """The optimizer's state, with parameters replaced by their running index.

        Returns:
            ``{'state': {index: {name: Tensor | number}}, 'param_groups': [{option: value,
            ..., 'params': [index, ...]}]}``. Tensors are the live state (not copies), as in
            torch; save it with :func:`gpuarr.save` or copy it before training on.
        """
        for pre_hook in list(self._optimizer_state_dict_pre_hooks.values()):
            pre_hook(self)
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
        sd = {"state": state, "param_groups": groups}
        for post_hook in list(self._optimizer_state_dict_post_hooks.values()):
            out = post_hook(self, sd)
            if out is not None:
                sd = out
        return sd

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Load a state from :meth:`state_dict` (of this optimizer class, same group sizes).

        State tensors are copied onto each parameter's device (and floating dtype), so the
        loaded dict is never modified by later steps. Also accepted: the same structure
        after a JSON round trip, with string keys (``'0'``) and nested lists in place of
        tensors.

        Raises:
            ValueError: the number of groups, or of parameters in a group, differs.
        """
        state_dict = dict(state_dict)  # shallow copy: hooks may edit it
        for pre_hook in list(self._optimizer_load_state_dict_pre_hooks.values()):
            out = pre_hook(self, state_dict)
            if out is not None:
                state_dict = out
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
        list_keys = self._list_state_keys
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            k = _int_key(k)
            if k in id_map:
                param = id_map[k]
                state[param] = {name: _cast_state(param, name, val, name in list_keys)
                                for name, val in v.items()}
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
        for post_hook in list(self._optimizer_load_state_dict_post_hooks.values()):
            post_hook(self)

    # names of per-parameter state entries that hold a list of tensors (LBFGS's history):
    # load_state_dict casts their items one by one instead of reading the list as one array
    _list_state_keys: frozenset = frozenset()


def _int_key(k):
    # JSON turns the int keys of 'state' into strings; map them back.
    if isinstance(k, str) and k.lstrip("-").isdigit():
        return int(k)
    return k


def _int_keys(ks) -> list:
    return [_int_key(k) for k in ks]


def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool) -> _Handle:
    h = _Handle(hooks)
    hooks[h.id] = hook
    if prepend:
        hooks.move_to_end(h.id, last=False)
    return h


def _cast_state(param: Tensor, name: str, value, is_list: bool = False):
    """A private copy of one state entry, on the parameter's device (torch's policy: 'step'
    stays a float32 CPU tensor; floating state takes the parameter's dtype). With ``is_list``
    the value is a list whose items are cast one by one (None and plain numbers stay)."""
    if is_list and isinstance(value, (list, tuple)):
        return [v if v is None or isinstance(v, (int, float)) else _cast_state(param, name, v)
                for v in value]
    if name == "step":
        if isinstance(value, Tensor):
            return value.detach().cpu().clone()
        return _make(np.asarray(value, dtype=_scalar_dtype()), CPU)
    if isinstance(value, (list, np.ndarray)):
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

    _lr_read_per_call = True  # gpuarr.compile: lr is read at each replay, not a constant
    # complex parameters are updated as their view_as_real pairs, as torch's optimizers do
    # (Adafactor, which refuses them, says False)
    _complex_as_real = True

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
            # read through host_value: a compiled step reads the current lr at each replay
            lr = host_value(_group_lr, group)
            for p in group["params"]:
                if p.grad is not None:
                    if p._data.dtype.kind == "c" and self._complex_as_real:
                        self._update_complex(group, p, lr)
                    else:
                        self._update(group, p, lr)
        return loss

    def _update_complex(self, group: dict[str, Any], p: Tensor, lr: float) -> None:
        """:meth:`_update` of a complex ``p`` run on real views of it, its gradient and its
        state (``(..., 2)`` pairs sharing their memory). The state stays keyed by ``p`` and
        complex-shaped, as torch keeps it."""
        pr = _make(_real_pairs(p._data), p._device)
        pr.grad = _make(_real_pairs(p.grad._data), p._device)
        st = self.state.pop(p, {})
        self.state[pr] = {k: _make(_real_pairs(v._data), v._device)
                          if isinstance(v, Tensor) and v._data.dtype.kind == "c" else v
                          for k, v in st.items()}
        try:
            self._update(group, pr, lr)
        finally:
            real = self.state.pop(pr)
            self.state[p] = {k: _make(_complex_pairs(v._data), v._device)
                             if isinstance(v, Tensor) and v._data.shape == pr._data.shape
                             and v._data.dtype == pr._data.dtype else v
                             for k, v in real.items()}
        p._bump_version()

    def _update(self, group: dict[str, Any], p: Tensor, lr: float) -> None:
        """Update ``p`` (and its state) in place with ``group``'s options and learning rate."""
        raise NotImplementedError

    def _lazy_state(self, p: Tensor, step_on_device: bool = False, **buffers: bool) -> dict:
        """``self.state[p]``; on first use, a zero 'step' counter and a zero tensor like ``p``
        for each name in ``buffers`` whose flag is true (in that order). ``step_on_device``
        (``capturable``/``fused``): the counter lives on ``p``'s device, where torch keeps it,
        and one loaded on the CPU moves there."""
        st = self.state[p]
        if len(st) == 0:
            st["step"] = _new_step(p if step_on_device else None)
            for name, wanted in buffers.items():
                if wanted:
                    st[name] = _zeros_state(p)
        elif step_on_device and st["step"]._device is not p._device:
            st["step"] = st["step"].to(device=p._device)
        return st


# ---- helpers shared by the optimizers' update loops ----


def _real_pairs(a):
    """A complex array's ``(..., 2)`` real view (real, imaginary), sharing its memory."""
    return a[..., None].view(a.real.dtype)


def _complex_pairs(a):
    """The complex view of a contiguous-last-axis ``(..., 2)`` real array."""
    return a.view(np.complex64 if a.dtype == np.float32 else np.complex128)[..., 0]


def _group_lr(group: dict) -> float:
    """``group``'s current lr as a Python float."""
    return _lr_value(group["lr"])


def _lr_value(lr) -> float:
    """A group's lr as a Python float (torch also accepts one-element tensors)."""
    return float(lr.item()) if isinstance(lr, Tensor) else float(lr)


def _zeros_state(p: Tensor) -> Tensor:
    """A zero tensor shaped, typed and placed like ``p`` (optimizer state)."""
    return _make(p._device._xp().zeros_like(p._data), p._device)


def _full_state(p: Tensor, value: float) -> Tensor:
    """A tensor shaped, typed and placed like ``p``, filled with ``value``."""
    return _make(p._device._xp().full_like(p._data, value), p._device)


def _scalar_dtype() -> np.dtype:
    """The dtype of 0-d optimizer state (torch's ``_get_scalar_dtype``): float64 when the
    default dtype is float64, else float32."""
    return np.dtype(np.float64 if get_default_dtype() is float64 else np.float32)


def _as_default_float(value: float) -> float:
    """``value`` rounded as ``torch.as_tensor(value)`` stores it (the default float dtype)."""
    return float(np.asarray(value, dtype=get_default_dtype().np))


def _scalar_state(value: float, p: Tensor | None = None) -> Tensor:
    """A 0-d state tensor (float32 unless the default dtype is float64) holding ``value``:
    on the CPU, or on ``p``'s device."""
    dt = _scalar_dtype()
    if p is None or p._device is CPU:
        return _make(np.asarray(value, dtype=dt), CPU)
    xp = p._device._xp()
    return _make(xp.full((), value, dtype=dt), p._device)


def _new_step(p: Tensor | None = None) -> Tensor:
    """The 'step' counter: a float32 (float64 under a float64 default dtype) 0-d tensor, on
    the CPU as torch keeps it (or on ``p``'s device, torch's place for it with
    ``capturable``/``fused``)."""
    return _scalar_state(0.0, p)


def _scalar_value(value) -> float:
    """A 0-d state entry (tensor on any device, or a plain number) as a Python float."""
    return float(value.item()) if isinstance(value, Tensor) else float(value)


def _set_scalar(t: Tensor, value: float) -> None:
    """Overwrite a 0-d state tensor in place (it keeps its dtype and device)."""
    if t._device is not CPU:
        t._device._xp()
    t._data.fill(value)


def _count_step(st: dict) -> None:
    """Add one to ``st['step']`` in place, for updates that do not use the count: nothing is
    read back (no wait for a GPU, and nothing that splits a compiled step's CUDA graph)."""
    step = st["step"]
    if step._device is not CPU:
        step._device._xp()
    step._data += 1  # 0-d array, in place


def _advance_step_on_device(st: dict):
    """``capturable=True``: add one to ``st['step']`` where it lives and return the count as
    a float64 0-d array there (a NumPy scalar on the CPU), never read into Python: factors
    computed from it in float64 and rounded once to the parameter's dtype equal the ones the
    host path's Python floats give a kernel."""
    _count_step(st)
    return st["step"]._data.astype("float64")


def _advance_step(st: dict) -> float:
    """Add one to ``st['step']`` in place and return the new count."""
    _count_step(st)
    # read through host_value: a compiled step's replays read the count afresh
    return host_value(_step_count, st["step"])


def _step_count(step: Tensor) -> float:
    """The value of a 0-d state tensor (a step count; ASGD's eta and mu), as a Python
    float."""
    return float(step._data) if step._device is CPU else float(step.item())


_step_count.volatile = True  # changes every call: CUDA graphs must not capture it


def _check_lr(lr) -> None:
    """torch's validation of the ``lr`` argument (a number, or a one-element tensor)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= _lr_value(lr):
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_nonnegative(name: str, value) -> None:
    """torch's ``Invalid <name> value`` error for a negative hyper-parameter."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")


def _check_betas(betas) -> None:
    """torch's validation of Adam-style ``betas``: both in [0, 1)."""
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")


def _group_defaults(opt, **defaults) -> None:
    """Give every param group of ``opt`` the options an older state dict lacks (as torch's
    ``__setstate__`` does)."""
    for group in opt.param_groups:
        for key, value in defaults.items():
            group.setdefault(key, value)


def _check_fused(opt, foreach) -> None:
    """torch's checks of ``fused=True``: not with ``foreach``, and floating-point parameters
    only (the update is the same fused or not: on CUDA gpuarr fuses it whenever it can)."""
    if foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    for group in opt.param_groups:
        for p in group["params"]:
            if not p.is_floating_point():
                raise RuntimeError(
                    "`fused=True` requires all the params to be floating point "
                    "Tensors of supported devices: ['mps', 'cuda', 'xpu', 'hpu', "
                    f"'cpu', 'privateuseone'] but {p.dtype} and {p.device.type}")


def _check_differentiable(differentiable: bool) -> None:
    """``differentiable=True`` asks for autograd through the update, which gpuarr's in-place
    array updates cannot record: refuse it rather than return a step without a graph."""
    if differentiable:
        raise NotImplementedError(
            "differentiable=True is not supported: gpuarr optimizers update the parameters' "
            "arrays in place outside autograd. Use differentiable=False (the default)."
        )


def _scalar_states_to_tensors(opt: Optimizer, names: tuple[str, ...],
                              on_device: Callable[[dict, str], bool]) -> None:
    """After loading: turn plain-number 0-d state entries (``step``, ``eta``, ... from an old
    or JSON checkpoint) into 0-d tensors, as torch's ``__setstate__`` does, and put those that
    torch keeps by the parameter (``on_device(group, name)``) on the parameter's device."""
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p)
            if not st:
                continue
            for name in names:
                if name not in st:
                    continue
                here = on_device(group, name)
                if not isinstance(st[name], Tensor):
                    st[name] = _scalar_state(float(st[name]), p if here else None)
                elif here and st[name]._device is not p._device:
                    st[name] = st[name].to(device=p._device)  # torch's place for it


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
        # a recorded step (gpuarr.compile) updates arrays of up to 8 pieces whole: the same
        # elementwise arithmetic, with a fraction of the calls to replay (beyond that the
        # pieces' cache locality wins: 10M parameters measured 27 ms whole, 18 ms in pieces)
        if n > (_CHUNK * 8 if tracing() else _CHUNK) and of_module(xp).chunked_updates:
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
