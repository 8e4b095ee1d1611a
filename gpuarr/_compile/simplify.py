"""Replay pass: NumPy's pure-Python wrappers rewritten as the one call they make.

``np.expand_dims`` ends in ``a.reshape(shape)``, ``np.take_along_axis`` in
``arr[fancy_index]`` and ``np.put_along_axis`` in ``arr[fancy_index] = values``, after several
microseconds of argument normalisation that a replay
repeats for nothing: the shapes are known when the program is built. The rewritten call is
the very call the wrapper makes, so results are identical.
"""

from __future__ import annotations

import operator

import numpy as np

from .trace import Instr, Slot

__all__ = ["simplify"]


def _expand_dims(ins: Instr, meta: dict) -> Instr | None:
    a = ins.args[0] if ins.args else None
    m = meta.get(a.index) if type(a) is Slot else None
    out = meta.get(ins.outs.index) if type(ins.outs) is Slot else None
    if m is None or out is None or m[0] is not np.ndarray or len(ins.args) != 2:
        return None
    return Instr(np.ndarray.reshape, (a, tuple(out[1])), {}, ins.outs, ins.site)


def _along_axis_index(arr, idx, axis, meta: dict) -> tuple | None:
    """The fancy index ``np.take_along_axis``/``np.put_along_axis`` build for ``arr``,
    ``idx`` along ``axis`` (NumPy's ``_make_along_axis_idx``, with the shapes known), or None
    when the call is not one to rewrite."""
    ma = meta.get(arr.index) if type(arr) is Slot else None
    mi = meta.get(idx.index) if type(idx) is Slot else None
    if (ma is None or mi is None or ma[0] is not np.ndarray or mi[0] is not np.ndarray
            or type(axis) is not int or len(ma[1]) != len(mi[1])):
        return None
    nd = len(ma[1])
    axis %= nd
    fancy: list = []
    for dim, n in enumerate(ma[1]):
        if dim == axis:
            fancy.append(idx)
        else:
            shape = (1,) * dim + (-1,) + (1,) * (nd - dim - 1)
            fancy.append(np.arange(n).reshape(shape))
    return tuple(fancy)


def _take_along_axis(ins: Instr, meta: dict) -> Instr | None:
    if len(ins.args) != 2 or set(ins.kwargs) != {"axis"}:
        return None
    arr, idx = ins.args
    fancy = _along_axis_index(arr, idx, ins.kwargs["axis"], meta)
    if fancy is None:
        return None
    return Instr(operator.getitem, (arr, fancy), {}, ins.outs, ins.site)


def _put_along_axis(ins: Instr, meta: dict) -> Instr | None:
    if len(ins.args) != 3 or set(ins.kwargs) != {"axis"}:
        return None
    arr, idx, values = ins.args
    fancy = _along_axis_index(arr, idx, ins.kwargs["axis"], meta)
    if fancy is None:
        return None
    return Instr(operator.setitem, (arr, fancy, values), {}, ins.outs, ins.site)


_REWRITES = {np.expand_dims: _expand_dims, np.take_along_axis: _take_along_axis,
             np.put_along_axis: _put_along_axis}


def simplify(instrs: list, needed: set, meta: dict) -> list:
    """``instrs`` with ``np.expand_dims``/``np.take_along_axis``/``np.put_along_axis`` calls on
    NumPy arrays rewritten as the reshape/indexing they perform."""
    out = []
    for ins in instrs:
        rw = _REWRITES.get(ins.fn)
        new = rw(ins, meta) if rw is not None else None
        out.append(new if new is not None else ins)
    return out
