"""torch.nn.init's deprecated spellings without the trailing underscore (``uniform``,
``normal``, ``xavier_uniform``...): :func:`deprecated` makes one from its in-place initialiser;
it warns as torch does (a FutureWarning naming the new function) and calls it.

:mod:`gpuarr.nn.init` builds its aliases with it (``uniform = deprecated(uniform_)``...), so
this module imports nothing from there.

Example:
    >>> w = gpuarr.empty(3, 5)
    >>> nn.init.xavier_uniform(w)   # FutureWarning: use nn.init.xavier_uniform_
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import TypeVar

__all__ = ["deprecated", "DEPRECATED_NAMES"]

# torch.nn.init's deprecated names, each the in-place initialiser's name without its "_"
DEPRECATED_NAMES: tuple[str, ...] = (
    "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
)

_R = TypeVar("_R")


def deprecated(inplace: Callable[..., _R]) -> Callable[..., _R]:
    """The deprecated alias of in-place initialiser ``inplace`` (named ``<name>_``): called with
    the same arguments, it warns ``FutureWarning("`nn.init.<name>` is now deprecated in favor
    of `nn.init.<name>_`.")`` at the caller's line, as torch does, and returns what
    ``inplace`` returns.

    Args:
        inplace: an initialiser of :mod:`gpuarr.nn.init` whose name ends with ``_``.

    Returns:
        The alias, named ``<name>``.

    Example:
        >>> uniform = deprecated(uniform_)
        >>> uniform(gpuarr.empty(2), -1.0, 1.0)   # warns, then fills like uniform_
    """
    new_name = inplace.__name__
    old_name = new_name[:-1]

    @functools.wraps(inplace)
    def deprecated_init(*args, **kwargs) -> _R:
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return inplace(*args, **kwargs)

    deprecated_init.__name__ = old_name
    deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = (
        f"{old_name}(...)\n\n"
        f"Deprecated: use :func:`gpuarr.nn.init.{new_name}`, which this calls (after a "
        "FutureWarning) with the same arguments.\n\n"
        "Returns:\n    The initialised tensor.\n"
    )
    return deprecated_init
