"""``torch.jit`` for eager programs: what can run eagerly does, the rest says it cannot.

gpuarr has no TorchScript. What programs use ``torch.jit`` for in eager code, and what it does
here:

* ``@script`` / ``script(model)`` and ``trace(fn, example_inputs)``, mostly used as "make it
  faster": the function or module comes back unchanged and runs eagerly, with one warning per
  process (as :func:`gpuarr.compile`). Results are those of eager execution, which a script or
  trace reproduces by definition (a trace only freezes data-dependent branches that eager
  code keeps). ``example_inputs`` are not run.
* ``@ignore``, ``@unused``, ``@export``, ``script_method``: markers for the TorchScript
  compiler, so they change nothing eagerly; ``annotate(T, v)`` is ``v``; ``Final`` is
  :data:`typing.Final`; ``fork(fn, *args)`` runs ``fn`` at once and ``wait`` returns its
  result (what torch does eagerly too).
* ``is_scripting()`` and ``is_tracing()`` are False: gpuarr code always runs eagerly.
* ``save`` and ``load`` of TorchScript archives raise ``NotImplementedError``: save the
  ``state_dict()`` with :func:`gpuarr.save` instead.

``script``, ``trace``, ``script_method``, ``fork`` and ``wait`` also give torch 2.13's
DeprecationWarning on every call, as torch does.
"""

# no ``from __future__ import annotations``: it would bind ``annotations`` here, a name torch.jit
# has as a submodule
import sys
import warnings
from collections.abc import Callable
from typing import Any, Final, TypeVar  # Final: torch.jit.Final is typing.Final

from .nn.module import Module

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting",
           "is_tracing", "annotate", "Final", "fork", "wait", "save", "load", "ScriptModule",
           "ScriptFunction", "script_method"]

F = TypeVar("F", bound=Callable)
_warned: set[str] = set()


def _warn_once(api: str, target: Any) -> None:
    if api in _warned:
        return
    _warned.add(api)
    name = getattr(target, "__qualname__", None) or type(target).__name__
    warnings.warn(
        f"gpuarr.jit.{api}: gpuarr has no TorchScript, so {name} runs eagerly (unchanged); "
        "results are the same, speed is eager speed (see gpuarr.compile). This warning is "
        "shown once per process.", UserWarning, stacklevel=3)


def _deprecated(api: str, instead: str = "`torch.compile` or `torch.export`") -> None:
    """torch 2.13's DeprecationWarning for TorchScript APIs (each call, as torch)."""
    if sys.version_info >= (3, 14) and api in ("script", "trace", "script_method"):
        text = (f"`torch.jit.{api}` is not supported in Python 3.14+ and may break. "
                f"Please switch to {instead}.")
    elif api in ("fork", "wait"):
        text = f"`torch.jit.{api}` is deprecated. Please use `torch.compile` instead."
    else:
        text = f"`torch.jit.{api}` is deprecated. Please switch to {instead}."
    warnings.warn(text, DeprecationWarning, stacklevel=3)


def script(obj: Any, optimize: Any = None, _frame_offset: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """Return ``obj`` (a function, :class:`gpuarr.nn.Module` or class) unchanged, warning once
    per process that it runs eagerly.

    Args:
        obj: what ``torch.jit.script`` would compile.
        optimize: accepted and ignored (deprecated in torch too).
        _frame_offset: accepted and ignored.
        _rcb: accepted and ignored.
        example_inputs: accepted and ignored.

    Returns:
        ``obj`` itself.

    Example:
        >>> @gpuarr.jit.script          # UserWarning once: runs eagerly
        ... def f(x):
        ...     return x * 2
        >>> f(gpuarr.ones(2))
        tensor([2., 2.])
    """
    if not callable(obj):
        raise RuntimeError(f"script() expects a function, class or Module, got "
                           f"{type(obj).__name__}")
    _deprecated("script")
    if optimize is not None:
        warnings.warn("`optimize` is deprecated and has no effect. Use `with "
                      "torch.jit.optimized_execution()` instead", FutureWarning, stacklevel=2)
    _warn_once("script", obj)
    return obj


def trace(func: Any, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Return ``func`` (a function or Module) unchanged, warning once per process that it runs
    eagerly; ``example_inputs`` and torch's other options are accepted and not run.

    Args:
        func: what ``torch.jit.trace`` would trace.
        example_inputs: accepted and ignored.
        *args: torch's further options, accepted and ignored.
        **kwargs: torch's keyword options (``check_trace``, ``strict``...), ignored.

    Returns:
        ``func`` itself.

    Example:
        >>> model = gpuarr.nn.Linear(2, 1)
        >>> gpuarr.jit.trace(model, gpuarr.ones(1, 2)) is model
        True
    """
    if not callable(func):
        raise RuntimeError(f"trace() expects a function or Module, got {type(func).__name__}")
    _deprecated("trace")
    _warn_once("trace", func)
    return func


def trace_module(mod: Module, inputs: Any = None, *args: Any, **kwargs: Any) -> Module:
    """Return ``mod`` unchanged, as :func:`trace` does (torch traces the named methods).

    Args:
        mod: the module.
        inputs: accepted and ignored.
        *args: accepted and ignored.
        **kwargs: accepted and ignored.

    Returns:
        ``mod`` itself.
    """
    _warn_once("trace_module", mod)
    return mod


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """TorchScript marker "leave this as Python": changes nothing eagerly.

    Usable as ``@ignore`` and ``@ignore(drop=True)``.

    Args:
        drop: the function itself (as ``@ignore``) or torch's ``drop`` flag.
        **kwargs: torch's options, ignored.

    Returns:
        The function unchanged, or a decorator that returns its argument.

    Example:
        >>> @gpuarr.jit.ignore
        ... def debug(x):
        ...     return x
    """
    if callable(drop):  # @ignore
        return drop
    return lambda fn: fn  # @ignore(drop=True)


def unused(fn: F) -> F:
    """TorchScript marker "do not compile this method": changes nothing eagerly.

    Args:
        fn: the function or method.

    Returns:
        ``fn`` unchanged.
    """
    return fn


def export(fn: F) -> F:
    """TorchScript marker "compile this method too": changes nothing eagerly.

    Args:
        fn: the method.

    Returns:
        ``fn`` unchanged.
    """
    return fn


def script_method(fn: F) -> F:
    """The old ``ScriptModule`` method marker: changes nothing eagerly.

    Args:
        fn: the method.

    Returns:
        ``fn`` unchanged.
    """
    _deprecated("script_method")
    return fn


def is_scripting() -> bool:
    """Whether the code is being compiled by TorchScript: always False in gpuarr.

    Returns:
        False.

    Example:
        >>> gpuarr.jit.is_scripting()
        False
    """
    return False


def is_tracing() -> bool:
    """Whether the code runs under ``torch.jit.trace``: always False in gpuarr.

    Returns:
        False.
    """
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    """TorchScript's type hint for a value: returns ``the_value``.

    Args:
        the_type: the type TorchScript would use (ignored).
        the_value: the value.

    Returns:
        ``the_value``.
    """
    return the_value


class _Future:
    """The completed result of :func:`fork` (``wait()``, ``value()``, ``done()``)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def wait(self) -> Any:
        return self._value

    value = wait

    def done(self) -> bool:
        return True


def fork(func: Callable, *args: Any, **kwargs: Any) -> _Future:
    """Run ``func(*args, **kwargs)`` now and return its completed future (in eager mode torch
    runs it at once too).

    Args:
        func: the function.
        *args: its positional arguments.
        **kwargs: its keyword arguments.

    Returns:
        A future whose ``wait()`` gives the result.

    Example:
        >>> gpuarr.jit.wait(gpuarr.jit.fork(abs, -2))
        2
    """
    _deprecated("fork")
    return _Future(func(*args, **kwargs))


def wait(future: _Future) -> Any:
    """The result of a :func:`fork`.

    Args:
        future: what :func:`fork` returned.

    Returns:
        The function's result.
    """
    _deprecated("wait")
    return future.wait()


class ScriptModule(Module):
    """The base class of TorchScript modules. Subclassing it gives an ordinary eager
    :class:`gpuarr.nn.Module` (with :func:`script_method` a no-op); no module gpuarr makes is a
    compiled one."""


class ScriptFunction:
    """The type of compiled TorchScript functions: gpuarr makes none, so nothing is an
    instance of it (``isinstance(f, ScriptFunction)`` is False)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("gpuarr has no TorchScript functions: plain Python functions "
                                  "run eagerly")


def _no_torchscript(api: str) -> NotImplementedError:
    return NotImplementedError(
        f"torch.jit.{api} is not available in gpuarr: gpuarr has no TorchScript archives. Save "
        "and load the weights instead: gpuarr.save(model.state_dict(), f) and "
        "model.load_state_dict(gpuarr.load(f)).")


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    """Not available: TorchScript archives need TorchScript.

    Args:
        m: the module.
        f: the file.
        _extra_files: ignored.

    Raises:
        NotImplementedError: always, naming :func:`gpuarr.save` of the ``state_dict()``.
    """
    raise _no_torchscript("save")


def load(f: Any, map_location: Any = None, _extra_files: Any = None) -> Any:
    """Not available: TorchScript archives need TorchScript.

    Args:
        f: the file.
        map_location: ignored.
        _extra_files: ignored.

    Raises:
        NotImplementedError: always, naming :func:`gpuarr.load` and ``load_state_dict``.
    """
    raise _no_torchscript("load")

