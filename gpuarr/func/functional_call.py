"""``functional_call`` (calling a module with stand-in parameters and buffers) and
``stack_module_state`` (stacking models' state for ensembling with :func:`vmap`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._tensor import Tensor
from ..nn.module import Module
from ..nn.utils.stateless import _reparametrize_module
from ..ops.stacking import stack

__all__ = ["functional_call", "stack_module_state"]


def _merge_dicts(dicts) -> dict:
    """One dict from torch.func's dict or sequence of dicts (keys must not repeat)."""
    if isinstance(dicts, dict):
        return dicts
    if not isinstance(dicts, Sequence) or isinstance(dicts, str):
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(dicts)}")
    if not all(isinstance(d, dict) for d in dicts):
        raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                         "dictionaries")
    counts: dict = {}
    for d in dicts:
        for k in d:
            counts[k] = counts.get(k, 0) + 1
    repeated = [k for k, n in counts.items() if n > 1]
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional "
                         "call is ambiguous")
    return {k: v for d in dicts for k, v in d.items()}


def functional_call(module: Module, parameter_and_buffer_dicts: dict | Sequence[dict],
                    args: Any = None, kwargs: dict | None = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with the given tensors standing in for its parameters
    and buffers (by dotted name) for this call only.

    The way to differentiate a model with respect to its parameters inside the transforms:
    ``grad(lambda p, x: functional_call(model, p, (x,)).sum())(params, x)``.

    Args:
        module: the module to call.
        parameter_and_buffer_dicts: name -> tensor, or a tuple/list of such dicts with
            distinct keys (e.g. ``(params, buffers)``).
        args: positional arguments (a tuple, or one non-tuple argument).
        kwargs: keyword arguments.
        tie_weights: a tensor given for one of several tied names stands in for all.
        strict: the names must be exactly the module's parameters and buffers.

    Returns:
        What ``module`` returns.

    Raises:
        ValueError: for a bad dict argument or keys repeated across dicts.
        RuntimeError: with ``strict``, for missing or unexpected keys.

    Example:
        >>> m = gpuarr.nn.Linear(3, 1)
        >>> p = {k: gpuarr.zeros_like(v) for k, v in m.named_parameters()}
        >>> functional_call(m, p, gpuarr.ones(2, 3))
        tensor([[0.],
                [0.]])
    """
    named = _merge_dicts(parameter_and_buffer_dicts)
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, named, tie_weights=tie_weights, strict=strict):
        return module(*args, **kwargs)


def _stacked_leaf(tensors: list, name: str) -> Tensor:
    all_rg = all(t.requires_grad for t in tensors)
    if not all_rg and any(t.requires_grad for t in tensors):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    res = stack(tensors)
    # a new leaf, unrelated to the models' parameters, that an optimizer can update
    return res.detach().requires_grad_() if all_rg else res


def stack_module_state(models: Sequence[Module]) -> tuple[dict, dict]:
    """Stack the parameters and buffers of ``M`` models of one class along a new dim 0, for
    ensembling with :func:`vmap` and :func:`functional_call`.

    Args:
        models: the models (a list or ``nn.ModuleList``), all of one class and all in
            training or all in eval mode.

    Returns:
        ``(params, buffers)``: name -> stacked tensor. Stacked parameters are new leaves
        that require grad when the models' parameters do.

    Raises:
        RuntimeError: for no models, mixed classes or modes, or mixed ``requires_grad``.

    Example:
        >>> models = [gpuarr.nn.Linear(3, 2) for _ in range(4)]
        >>> params, buffers = stack_module_state(models)
        >>> params["weight"].shape
        gpuarr.Size([4, 2, 3])
    """
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    typ = type(models[0])
    if not all(type(m) is typ for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers
