"""What ops need to know about ``gpuarr.compile``'s tracing, without importing it.

Three things differ for an op while a call is being traced (recorded for replay):

- a check of the *values* of its inputs (a target out of range, an index out of bounds) must
  stay in the recorded program, so that a replay raises as eager does: ops write such checks
  as :func:`raise_if`;
- a shortcut chosen from the values (skip the NaN handling when there is no NaN) would be
  baked into the program for every later call: ops ask :func:`tracing` and take the path that
  is right for all values;
- a Python number read from state that changes between calls (an optimizer's learning rate
  and step count) must be read again by each replay: code reads it through
  :func:`host_value`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..backends import sync_debug

__all__ = ["tracing", "raise_if", "host_value"]

# the active tracer's recorder of checks, set by gpuarr._compile while it traces
_recorder: list = [None]
# backward passes run so far (a trace that ran one may return tensors whose graph it used)
backward_runs: list = [0]


def tracing() -> bool:
    """Whether a ``gpuarr.compile`` trace is recording now."""
    return _recorder[0] is not None


def raise_if(cond, make_error: Callable[..., Exception], *arrays) -> None:
    """Raise ``make_error(*arrays)`` when the (0-d boolean) array ``cond`` is true.

    Eagerly this is ``if bool(cond): raise make_error(*arrays)``: on a device array a wait for
    the device, which the CUDA sync debug mode reports. While tracing, the check is
    also recorded, so a replay makes the same check on its own arrays. ``make_error`` must be
    a module-level function (two traces compare it by identity).

    Args:
        cond: a 0-d boolean backend array (or a Python bool).
        make_error: builds the exception from ``arrays`` (called only on failure).
        *arrays: the arrays ``make_error`` needs for its message (Python numbers too).
    """
    rec = _recorder[0]
    if rec is not None:
        rec(cond, make_error, arrays)
    else:
        sync_debug.check_array(cond)
        if bool(cond):
            raise make_error(*arrays)


_host_value: list = [None]  # the active tracer's recorder of host values


def host_value(fn: Callable, *args):
    """``fn(*args)``, a Python number every call reads afresh (an optimizer's learning rate).

    Eagerly this is just the call. While tracing, the call is recorded and the number it
    returns is a program value, not a constant: a replay calls ``fn`` again and computes with
    what it returns then, so a learning-rate schedule needs no retrace. Python arithmetic on
    the value is recorded too; reading it into Python control flow (``if lr > 0``) makes the
    function run eagerly. ``fn`` must be a module-level function.
    """
    rec = _host_value[0]
    return fn(*args) if rec is None else rec(fn, args)
