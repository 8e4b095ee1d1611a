"""``gpuarr.compile``: accepted today, eager underneath.

Programs call ``torch.compile(model)`` as a matter of course. Until gpuarr's capture backend
(record one eager call, replay it fused) lands, ``gpuarr.compile`` hands the function or module
back unchanged and warns once per process that it runs eagerly, so such programs run, give
eager results, and say why they are no faster.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["compile"]

_warned = [False]


def _warn_once(target: Any, stacklevel: int) -> None:
    if _warned[0]:
        return
    _warned[0] = True
    name = getattr(target, "__qualname__", None) or type(target).__name__
    warnings.warn(
        f"gpuarr.compile: gpuarr has no compiler yet, so {name} runs eagerly (unchanged); "
        "results are the same, speed is eager speed. This warning is shown once per process.",
        UserWarning, stacklevel=stacklevel)


def compile(model: Callable | None = None, **options: Any) -> Any:  # noqa: A001
    """Return ``model`` unchanged (eager), warning once per process; torch.compile's options
    (``mode``, ``fullgraph``, ``dynamic``, ``backend``, ``options``, ``disable``) are accepted
    and ignored.

    Usable as ``compile(fn)``, ``@compile`` and ``@compile(mode=...)``, like ``torch.compile``.

    Args:
        model: a function or :class:`gpuarr.nn.Module`; None returns a decorator.
        **options: torch.compile's keyword options; ``disable=True`` also skips the warning.

    Returns:
        ``model`` itself, or (without ``model``) a decorator that returns its argument.

    Example:
        >>> @gpuarr.compile(mode="reduce-overhead")
        ... def step(x):
        ...     return (x * x).sum()
        >>> step(gpuarr.ones(3))        # runs eagerly; UserWarning on the first compile() only
        tensor(3.)
    """
    def decorate(fn: Callable, stacklevel: int = 3) -> Callable:
        if not callable(fn):
            raise RuntimeError(
                f"compile() expects a callable or a Module, got {type(fn).__name__}")
        if not options.get("disable", False):
            _warn_once(fn, stacklevel)
        return fn

    if model is None:
        return decorate
    return decorate(model, 4)
