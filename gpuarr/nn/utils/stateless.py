"""``functional_call`` (torch.nn.utils.stateless): call a module with some of its parameters
and buffers replaced, for that call only."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

from ..._tensor import Tensor
from ..module import Module

__all__ = ["functional_call"]

_MISSING = object()  # an attribute the module did not have before the call


def _swap_tensor(module: Module, name: str, tensor) -> Any:
    """Put ``tensor`` at ``module.<name>`` (``_MISSING``: remove it); return what was there.

    Parameters and buffers are replaced in their dicts (any Tensor may stand in for a
    Parameter); other names go through setattr, so a parametrized tensor's ``right_inverse``
    runs, as in torch."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of gpuarr.Tensor")
    for store in (module._parameters, module._buffers):
        if name in store:
            orig = store[name]
            if tensor is _MISSING:
                del store[name]
            else:
                store[name] = tensor
            return orig
    if hasattr(module, name):
        orig = getattr(module, name)
        if orig is not None and not isinstance(orig, Tensor):
            raise TypeError(f"attribute `{name}`: {orig} is not an instance of gpuarr.Tensor")
    else:
        orig = _MISSING
    if tensor is not _MISSING:
        setattr(module, name, tensor)
    elif hasattr(module, name):
        delattr(module, name)
    return orig


def _submodule(module: Module, path: str) -> Module:
    for attr in path.split(".") if path else ():
        try:
            sub = getattr(module, attr)
        except AttributeError as ex:
            raise AttributeError(f"{module._get_name()} has no attribute `{attr}`") from ex
        if not isinstance(sub, Module):
            raise TypeError(f"submodule `{path}`: {sub} is not an instance of gpuarr.nn.Module")
        module = sub
    return module


def _swap_all(module: Module, named: dict) -> dict:
    """Swap every ``dotted.name -> tensor`` of ``named`` in; return the tensors swapped out
    (all swaps undone if one fails)."""
    done: dict = {}
    try:
        for name, tensor in named.items():
            prefix, _, attr = name.rpartition(".")
            done[name] = _swap_tensor(_submodule(module, prefix), attr, tensor)
    except Exception:
        for name, orig in reversed(list(done.items())):
            prefix, _, attr = name.rpartition(".")
            _swap_tensor(_submodule(module, prefix), attr, orig)
        raise
    return done


def _named_tensors(module: Module) -> dict:
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untie(module: Module, given: dict) -> dict:
    """``given`` extended to every name tied to (the same tensor as) a given name."""
    tied_sets: dict = {}
    for name, t in _named_tensors(module).items():
        tied_sets.setdefault(id(t), set()).add(name)
    tied = {n: names for names in tied_sets.values() if len(names) > 1 for n in names}
    given_tied = [n for n in given if n in tied]
    for name in given_tied:
        names = tied[name]
        if len(names.intersection(given_tied)) > 1 and \
                len({id(given[n]) for n in names if n in given}) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
    out = dict(given)
    for name in given_tied:
        for other in tied[name]:
            out[other] = given[name]
    return out


def _check_keys(module: Module, named: dict) -> None:
    valid = set(_named_tensors(module))
    missing, unexpected = sorted(valid - set(named)), sorted(set(named) - valid)
    msgs = []
    if unexpected:
        msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if msgs:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
            module._get_name(), "\n\t".join(msgs)))


@contextlib.contextmanager
def _reparametrize_module(module: Module, parameters_and_buffers: dict,
                          tie_weights: bool = False, strict: bool = False):
    named = _untie(module, parameters_and_buffers) if tie_weights else parameters_and_buffers
    if strict:
        _check_keys(module, named)
    orig: dict = {}
    try:
        orig = _swap_all(module, named)
        yield
    finally:
        new = _swap_all(module, orig)
        # like torch: the caller's dict sees what the call left there (an in-place buffer
        # update such as BatchNorm's running stats assigns a new tensor in gpuarr too)
        parameters_and_buffers.update(
            {k: new[k] for k in parameters_and_buffers if k in new})


def functional_call(module: Module, parameters_and_buffers: dict, args: Any = None,
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with the tensors of ``parameters_and_buffers`` standing in
    for the module's own (by dotted name) during the call; the module is unchanged afterwards.

    Gradients flow to the given tensors, which makes this the way to differentiate a model
    with respect to tensors it does not own (meta-learning, per-example gradients). Deprecated
    in torch in favour of ``torch.func.functional_call`` (a ``FutureWarning``), as here.

    Args:
        module: the module to call.
        parameters_and_buffers: dotted name -> tensor.
        args: positional arguments (a tuple, or one non-tuple argument).
        kwargs: keyword arguments.
        tie_weights: a tensor given for one of several tied names (the same parameter under
            two names) stands in for all of them.
        strict: the names must be exactly the module's parameters and buffers.

    Returns:
        What the module returns.

    Raises:
        RuntimeError: with ``strict``, for missing or unexpected names.
        ValueError: with ``tie_weights``, for different tensors given for tied names.

    Example:
        >>> m = nn.Linear(3, 1)
        >>> w = gpuarr.ones(1, 3, requires_grad=True)
        >>> y = functional_call(m, {"weight": w}, gpuarr.ones(2, 3))
    """
    warnings.warn(
        "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will "
        "be removed in a future version of PyTorch. Please use `torch.func.functional_call` "
        "instead which is a drop-in replacement.", FutureWarning, stacklevel=2)
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights,
                               strict=strict):
        return module(*args, **kwargs)
