"""Replay passes: keep constant arrays, and write fresh NumPy results into buffers kept
between replays.

:func:`keep_constants` makes an array that every replay would build the same way
(``np.zeros(shape)``, ``np.arange(n)``, ``np.full((), 1.0)``, a copy of a constant array) once,
read-only, when the program only ever reads it: ReLU's zeros, an index ``arange``, the
backward's seed gradient.

An eager step allocates every intermediate array anew; for arrays past a few hundred KiB
that is an ``mmap`` and a page fault per page, every step. A replay knows every array's shape
and dtype in advance, so ufunc calls (and the arithmetic operators, which are ufunc calls on
NumPy arrays) whose result stays inside the replay get ``out=`` a buffer allocated once.
The same ufunc runs on the same operands, so results are bit-identical to eager.

A result *stays inside* unless it, or an array that may share its memory (a view of it, or
something computed by a call that may return a view), is bound to a tensor, becomes a
gradient or is returned: those keep fresh arrays, as eager gives them.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..backends import cpu_native
from .trace import ConstArray, Instr, Slot, slots_of

__all__ = ["OUT_ALIASES", "aliased_args", "keep_constants", "reuse_buffers"]

# NumPy's ufunc for each operator the tracer records (ndarray operators call exactly these)
_OP_UFUNC = {
    operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
    operator.truediv: np.true_divide, operator.floordiv: np.floor_divide,
    operator.mod: np.remainder, operator.pow: np.power, operator.matmul: np.matmul,
    operator.and_: np.bitwise_and, operator.or_: np.bitwise_or, operator.xor: np.bitwise_xor,
    operator.lt: np.less, operator.le: np.less_equal, operator.gt: np.greater,
    operator.ge: np.greater_equal, operator.eq: np.equal, operator.ne: np.not_equal,
    operator.neg: np.negative, operator.pos: np.positive, operator.abs: np.absolute,
    operator.invert: np.invert,
}
_MIN_BYTES = 4096  # below this NumPy's allocator is cheap and a buffer saves nothing


def _fresh(ins: Instr) -> bool:
    """Whether the call's result is a new array (shares no memory with its arguments)."""
    fn = ins.fn
    if "out" in ins.kwargs:
        return False
    return isinstance(fn, np.ufunc) or fn in _OP_UFUNC or type(fn) is ConstArray


# Calls whose results may share memory with some of their arguments only: fn -> "fresh" (no
# result shares memory with an argument) or, per result in the call's order, the positions of
# the arguments it may share memory with. Any other call's results may share memory with any
# of its operands.
OUT_ALIASES: dict = {getattr(cpu_native, name): "fresh" for name in cpu_native.KERNELS
                     if name not in cpu_native.IN_PLACE}
OUT_ALIASES[cpu_native.add_bias_rows] = ((0,),)
OUT_ALIASES[cpu_native.add_bias_rows_relu] = ((0,), ())


def aliased_args(ins: Instr, outs: set) -> set:
    """The argument slots of ``ins`` whose arrays the result slots ``outs`` may share memory
    with (see :data:`OUT_ALIASES`)."""
    if _fresh(ins):
        return set()
    try:
        spec = OUT_ALIASES.get(ins.fn)
    except TypeError:  # an unhashable callable: nothing known
        spec = None
    if spec == "fresh":
        return set()
    acc: set = set()
    if spec is None:
        slots_of(ins.args, acc)
        return slots_of(ins.kwargs, acc)
    results = ins.outs if type(ins.outs) is tuple else (ins.outs,)
    for k, r in enumerate(results):
        if slots_of(r, set()) & outs:
            for pos in spec[k]:
                slots_of(ins.args[pos], acc)
    return acc


_MAKERS = ("zeros", "ones", "full", "arange")  # NumPy's array makers with fixed contents


def _made_constant(ins: Instr):
    """The array ``ins`` makes with the same contents every replay, or None."""
    fn = ins.fn
    if type(fn) is ConstArray:
        return fn.value
    if (getattr(fn, "__name__", None) in _MAKERS and getattr(fn, "__module__", None) == "numpy"
            and not slots_of(ins.args, set()) and not slots_of(ins.kwargs, set())):
        return fn(*ins.args, **ins.kwargs)
    return None


def _reads_only(ins: Instr, consts: dict) -> set:
    """The constants among ``ins``'s operands that ``ins`` may write, alias or pass on
    (every one of them, unless ``ins`` is a ufunc reading them or an indexing that reads them
    as an index or as the values to store)."""
    used = slots_of(ins.args, set()) | slots_of(ins.kwargs, set())
    mine = {s for s in used if s in consts}
    if not mine:
        return set()
    fn = ins.fn
    ufunc = fn if isinstance(fn, np.ufunc) else _OP_UFUNC.get(fn)
    if ufunc is not None:  # a ufunc reads its inputs (out= is a keyword, or past nin)
        written = slots_of(ins.args[ufunc.nin:], set()) | slots_of(ins.kwargs, set())
        return mine - (slots_of(ins.args[:ufunc.nin], set()) - written)
    if fn is operator.getitem and len(ins.args) == 2:  # arr[index]: the index is read
        return mine & slots_of(ins.args[0], set())
    if fn is operator.setitem and len(ins.args) == 3:  # arr[index] = values: both read
        return mine & slots_of(ins.args[0], set())
    return mine


def keep_constants(instrs: list, needed: set, meta: dict) -> list:
    """``instrs`` with the arrays they make with fixed contents made once, when the program
    only reads them (see the module's docstring). The kept array is read-only, so a write
    this analysis missed would raise instead of changing the next replay.

    Args:
        instrs: the program after dead-code removal.
        needed: slots bound, made gradients or returned (never kept: they leave the replay).
        meta: slot -> the value's ``(type, shape, dtype)`` at trace time.
    """
    consts: dict = {}  # slot -> the index of the instruction that makes it
    for i, ins in enumerate(instrs):
        s = ins.outs
        if (type(s) is Slot and s.index not in needed
                and meta.get(s.index, (None,))[0] is np.ndarray
                and (type(ins.fn) is ConstArray or getattr(ins.fn, "__name__", None) in _MAKERS)):
            consts[s.index] = i
    for ins in instrs:
        for s in _reads_only(ins, consts):
            consts.pop(s, None)
    out = list(instrs)
    for i in consts.values():
        value = _made_constant(instrs[i])
        if type(value) is not np.ndarray:
            continue
        value = value.copy()  # (a ConstArray's value is the caller's array: not frozen)
        value.flags.writeable = False
        out[i] = Instr(_Static(value), (), {}, instrs[i].outs, instrs[i].site)
    return out


def reuse_buffers(instrs: list, needed: set, meta: dict) -> list:
    """``instrs`` with ``out=`` buffers for the fresh NumPy results that stay inside.

    Args:
        instrs: the program after dead-code removal.
        needed: slots bound, made gradients or returned.
        meta: slot -> the value's ``(type, shape, dtype)`` at trace time.
    """
    escaping = set(needed)
    for ins in reversed(instrs):  # what may share memory with an escaping value escapes too
        hit = slots_of(ins.outs, set()) & escaping
        if hit:
            escaping |= aliased_args(ins, hit)
    out = []
    for ins in instrs:
        s = ins.outs
        fn = ins.fn
        if (getattr(fn, "__name__", None) in ("empty", "empty_like")
                and getattr(fn, "__module__", None) == "numpy" and type(s) is Slot
                and s.index not in escaping and meta.get(s.index, (None,))[0] is np.ndarray):
            # an uninitialised array: the same one every replay (its contents are the
            # program's to write)
            m = meta[s.index]
            out.append(Instr(_Static(np.empty(m[1], dtype=m[2])), (), {}, s, ins.site))
            continue
        ufunc = fn if isinstance(fn, np.ufunc) else _OP_UFUNC.get(fn)
        m = meta.get(s.index) if type(s) is Slot else None
        if (ufunc is None or ufunc.nout != 1 or "out" in ins.kwargs or m is None
                or s.index in escaping or m[0] is not np.ndarray
                or len(m[1]) == 0 or np.dtype(m[2]).itemsize * math.prod(m[1]) < _MIN_BYTES
                or not _numpy_operands(ins.args, meta)):
            out.append(ins)
            continue
        buf = np.empty(m[1], dtype=m[2])
        out.append(Instr(ufunc, ins.args, dict(ins.kwargs, out=buf), s, ins.site))
    return out


class _Static:
    """A program step giving the same preallocated array every replay."""

    __slots__ = ("buf", "__name__")

    def __init__(self, buf) -> None:
        self.buf = buf
        self.__name__ = "static_buffer"

    def __call__(self):
        return self.buf


def _numpy_operands(args: tuple, meta: dict) -> bool:
    """Whether every operand is a NumPy array or scalar, or a Python number."""
    for a in args:
        if type(a) is Slot:
            m = meta.get(a.index)
            if m is None or not (m[0] is np.ndarray or issubclass(m[0], np.generic)):
                return False
        elif type(a) not in (int, float, bool, complex) and not isinstance(a, np.generic):
            return False
    return True
