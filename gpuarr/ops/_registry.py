"""The op registry: how a public op also becomes a ``Tensor`` method and an in-place method.

An op family (a module in ``gpuarr.ops``) declares each public function once. The declaration
says which ``Tensor`` methods it gives: ``x.exp()`` (the function itself, with ``self`` as the
first argument), aliases (``x.absolute()``) and the in-place form ``x.exp_()``, whose gradient is
the out-of-place op's (as PyTorch's derivatives.yaml defaults it): :func:`apply_inplace` runs the
op out of place and writes the result into ``self``, rewiring the graph. At the end of the
module, :func:`mixin` turns what the module declared into one class of methods, which
``gpuarr.Tensor`` lists among its bases (``gpuarr/_tensor.py``): nothing is assigned onto the
Tensor class from outside, and ``Tensor``'s definition names every family it takes methods from.

Two spellings of one mechanism::

    @op(inplace=True, aliases=("absolute",))   # a decorator on the public function
    def abs(input): ...

    register(__name__, {"t": t, "permute": permute})   # a table, for a whole family at once

``torch``'s ``out=`` keyword is added to the public functions by :mod:`gpuarr.ops._out`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .. import _dtype as D
from .._core.function import _oom
from .._core.grad_mode import _state
from .._core.tensor import TensorBase, check_no_overlap
from ._common import dtype_name
from ._view_inplace import check_view_write, rebase_history, stand_in

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["op", "register", "mixin", "apply_inplace", "inplace_method"]

# module name -> {Tensor attribute name: function, property or other descriptor}
_FAMILIES: dict[str, dict[str, Any]] = {}


def _table(module: str) -> dict[str, Any]:
    return _FAMILIES.setdefault(module, {})


def register(module: str, methods: Mapping[str, Any], inplace: Iterable[str] = ()) -> None:
    """Declare Tensor methods of op family ``module`` (its ``__name__``).

    Example:
        >>> register(__name__, {"t": t, "T": property(_T)}, inplace=["t"])

    Args:
        module: the declaring module's ``__name__``.
        methods: Tensor attribute name -> the function (``self`` is its first argument), a
            ``property``, or any other class attribute (operators such as ``__add__``).
        inplace: names in ``methods`` that also get an in-place method ``<name>_`` made by
            :func:`inplace_method`.
    """
    table = _table(module)
    for name, fn in methods.items():
        if name in table and table[name] is not fn:
            raise ValueError(f"{module}: Tensor.{name} declared twice")
        table[name] = fn
    for name in inplace:
        table[name + "_"] = inplace_method(methods[name], name)


def op(fn: Callable | None = None, *, inplace: bool = False, aliases: tuple[str, ...] = ()):
    """Declare a public op function: it becomes ``Tensor.<name>`` (and ``<alias>``), and with
    ``inplace=True`` also ``Tensor.<name>_``. Returns the function unchanged.

    Example:
        >>> @op
        ... def bincount(input, weights=None, minlength=0):
        ...     ...
    """

    def declare(f: Callable) -> Callable:
        names = (f.__name__, *aliases)
        register(f.__module__, dict.fromkeys(names, f), inplace=names if inplace else ())
        return f

    return declare if fn is None else declare(fn)


def mixin(name: str, module: str, doc: str | None = None) -> type:
    """The class holding the Tensor methods that ``module`` declared, for ``gpuarr.Tensor``'s
    bases. It has no instance layout of its own (``__slots__ = ()``).

    Example:
        >>> ShapeMethods = mixin("ShapeMethods", __name__)   # last line of ops/shape.py
    """
    ns: dict[str, Any] = dict(_FAMILIES.get(module, {}))
    ns["__slots__"] = ()
    ns["__module__"] = module
    ns["__doc__"] = doc or f"Tensor methods declared in :mod:`{module}`."
    return type(name, (), ns)


def inplace_method(fn: Callable, name: str) -> Callable:
    """``Tensor.<name>_``: ``fn`` run out of place, its result written into ``self``."""

    def method(self, *args, **kwargs):
        return apply_inplace(self, fn, *args, **kwargs)

    method.__name__ = name + "_"
    method.__qualname__ = "Tensor." + name + "_"
    method.__doc__ = f"In-place :func:`{name}`; returns self."
    return method


def apply_inplace(self: Tensor, fn: Callable, *args, **kwargs) -> Tensor:
    """Run out-of-place ``fn(self, *args)`` and write the result into ``self``.

    With a graph to record, ``fn`` runs on a copy of ``self`` that stands where ``self`` stood
    in the graph, and ``self`` then takes the result's place: the in-place op's gradient is the
    out-of-place op's; through a view, the view's base takes a new history too (see
    :mod:`gpuarr.ops._view_inplace`). The result must be castable to ``self``'s dtype and have
    its shape (torch's errors otherwise); ``self``'s version counter moves.
    """
    check_no_overlap(self)
    grad = _state.enabled and (
        self._rg or any(isinstance(a, TensorBase) and a._rg for a in args)
    )
    region = None
    if grad:
        if self._base is not None:
            # written through a view: the base's history changes too
            region = check_view_write(self)
        elif self._rg and self._gfn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
    try:  # free until something raises; CUDA out-of-memory errors become torch's
        res = fn(stand_in(self), *args, **kwargs) if grad else fn(self, *args, **kwargs)
    except (MemoryError, RuntimeError) as e:
        _oom(e, (self,))
        raise
    if not D.can_cast(res.dtype, self.dtype):
        raise RuntimeError(
            f"result type {dtype_name(res.dtype)} can't be cast to the desired output type "
            f"{dtype_name(self.dtype)}"
        )
    if res.shape != self.shape:
        raise RuntimeError(
            f"output with shape {list(self.shape)} doesn't match the broadcast shape "
            f"{list(res.shape)}"
        )
    self._device._xp().copyto(self._data, res._data, casting="unsafe")
    if grad:
        if self._base is not None:
            rebase_history(self, res, region)
        else:
            self._gfn, self._output_nr, self._rg = res._gfn, res._output_nr, res._rg
    self._bump_version()
    return self
