"""``skip_init`` (torch.nn.utils.init): build a module without spending time on its
initialisation."""

from __future__ import annotations

import inspect

from ..module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args, **kwargs) -> Module:
    """An instance of ``module_cls(*args, **kwargs)`` whose parameters and buffers count as
    uninitialised: fill them before use (gpuarr does run the constructor's initialisation).

    Args:
        module_cls: a Module class whose constructor takes ``device``.
        *args, **kwargs: its constructor's arguments (``device`` is where it ends up).

    Returns:
        The module, on ``device`` (default 'cpu').

    Raises:
        RuntimeError: if ``module_cls`` is no Module class or takes no ``device``.

    Example:
        >>> m = skip_init(nn.Linear, 5, 1)
        >>> m.weight.shape
        gpuarr.Size([1, 5])
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs.setdefault("device", "cpu")
    # gpuarr has no 'meta' device to build on, so the constructor does run its
    # initialisation: the values are defined, which is what torch's contract allows
    return module_cls(*args, **kwargs)
