"""A recorded program, and the Python function that replays it.

A :class:`Program` is what one traced call leaves: the array calls in order
(:class:`~gpuarr._compile.trace.Instr`), where each input comes from at replay (an argument
tensor, a tensor that lives across calls, a parameter's gradient), and what the call left
behind: arrays bound to long-lived tensors, new gradients, the returned value.

:meth:`Program.prepare` and :meth:`Program.codegen` turn it into one generated Python
function, so a replay is a straight
run of NumPy/CuPy calls on local variables: no Tensors, no graph nodes, no dispatch. The
function first checks the guards (input shapes and dtypes, which parameters have a gradient)
and returns :data:`RETRACE` without touching anything when one fails.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .._core.tensor import TensorBase, _make
from .buffers import _Static
from .fuse import FusedCall
from .trace import _DATA, Backward, ConstArray, Instr, Slot, TArray, Tracer, same, slots_of

__all__ = ["Program", "RETRACE"]

RETRACE = object()  # what a replay returns when a guard fails

# calls without side effects: dropped when nothing uses their result
_PURE_OPS = {operator.getitem, operator.add, operator.sub, operator.mul, operator.truediv,
             operator.floordiv, operator.mod, operator.pow, operator.matmul, operator.neg,
             operator.pos, operator.abs, operator.invert, operator.lt, operator.le,
             operator.gt, operator.ge, operator.eq, operator.ne, operator.and_, operator.or_,
             operator.xor}
_CONVERSIONS = {"asarray", "asanyarray", "ascontiguousarray"}  # recorded given a traced array
PURE_METHODS = {"reshape", "astype", "copy", "transpose", "sum", "mean", "max", "min",
                 "ravel", "swapaxes", "squeeze", "view", "conj", "any", "all", "prod"}


def is_pure(ins: Instr) -> bool:
    fn = ins.fn
    if "out" in ins.kwargs:
        return False
    if fn in _PURE_OPS or type(fn) is ConstArray or type(fn) is operator.attrgetter:
        return True
    if type(fn) is _Static or type(fn) is FusedCall:
        return True  # the passes' own steps: a kept buffer, a fused kernel (no out=)
    if isinstance(fn, np.ufunc) or (type(fn).__name__ == "ufunc"
                                    and type(fn).__module__.startswith("cupy")):
        return True  # NumPy's ufuncs and CuPy's (their own type)
    name = getattr(fn, "__name__", "")
    if name in _CONVERSIONS and getattr(fn, "__module__", "").split(".")[0] in ("numpy", "cupy"):
        return True  # an array as an array: the same array, a view or a copy
    # an array method (NumPy's and CuPy's are method descriptors of their ndarray class)
    return name in PURE_METHODS and getattr(fn, "__objclass__", None) is not None


class Program:
    """One traced call, ready to compare with another and to build into a replay.

    Attributes:
        instrs: the array calls in order.
        inputs: ``(slot, source)`` per input (see :class:`~gpuarr._compile.trace.Tracer`).
        in_meta: ``(shape, dtype)`` per input at trace time (the replay's guards).
        grad_guards: ``(param, has_grad)``: whether a parameter held a gradient at call time.
        data_out: ``(tensor, slot)``: long-lived tensors whose array the call replaced.
        grad_out: ``(param, slot or None, device)``: gradients the call left (None: cleared).
        result: the returned value's template: ``("new", slot, device)`` for a tensor made
            by the call, ``("same", obj)`` for anything else, tuples/lists/dicts of those.
    """

    def __init__(self, tr: Tracer, result, backward: Backward | None = None) -> None:
        self.instrs = tr.instrs
        self.backward = backward
        self.inputs = tr.inputs
        self.in_meta = [(tr.values[s].v.shape, tr.values[s].v.dtype) for s, _ in tr.inputs]
        self.grad_guards = [(p, kind is not None) for p, kind in tr.grad_first.values()]
        self.data_out: list = []  # (tensor or argument index, slot)
        input_slot = tr.input_of
        arg_index = {id(t): i for i, t in enumerate(tr._arg_tensors)}
        arg_slot = {src[1]: s for s, src in tr.inputs if src[0] == "arg"}
        for t, _ in tr.touched:
            v = _DATA.__get__(t)
            if type(v) is not TArray:
                continue
            i = arg_index.get(id(t))
            if i is not None:
                if arg_slot.get(i) != v.s:
                    self.data_out.append((i, v.s))
            elif input_slot.get(id(t)) != v.s:
                self.data_out.append((t, v.s))
        self.grad_out: list = []
        for p in tr.grad_written.values():
            g = p.__dict__.get("grad")
            if g is None:
                self.grad_out.append((p, None, None))
            elif id(g) in tr._created_ids:
                self.grad_out.append((p, _DATA.__get__(g).s, g._device))
            elif tr._grad_path.get(id(g)) is not p:
                tr.brk("a gradient set to a tensor from outside the function")
        self.result = self._result(tr, result)
        self.broken = tr.broken
        # slot -> (type, shape, dtype) of its value at trace time, for the replay passes
        self.meta = {p.s: (type(p.v), getattr(p.v, "shape", ()), getattr(p.v, "dtype", None))
                     for p in tr.values}

    def _result(self, tr: Tracer, r):
        t = type(r)
        if isinstance(r, TensorBase):
            if id(r) in tr._created_ids:
                if r._gfn is not None and not tr.ran_backward:
                    tr.brk("returning a tensor that needs autograd after the function (run "
                           "backward inside it to compile the whole step)")
                return ("new", _DATA.__get__(r).s, r._device)
            return ("same", r)
        if t is tuple or t is list:
            return (t.__name__, [self._result(tr, e) for e in r])
        if t is dict:
            return ("dict", {k: self._result(tr, v) for k, v in r.items()})
        return ("same", r)

    # ---- comparing two traces ----
    def same_as(self, other: Program) -> bool:
        """Whether ``other`` recorded the same program (so the call does not change from one
        call to the next, and replaying it is what eager would do)."""
        if len(self.instrs) != len(other.instrs) or len(self.inputs) != len(other.inputs):
            return False
        for (s1, a), (s2, b) in zip(self.inputs, other.inputs):
            if s1 != s2 or a[0] != b[0] or not (
                    a[1] is b[1] or a[0] == "free" and all(x is y for x, y in zip(a[1], b[1]))):
                return False
        for a, b in zip(self.instrs, other.instrs):
            if not (_same_fn(a.fn, b.fn) and same(a.args, b.args) and same(a.kwargs, b.kwargs)
                    and same(a.outs, b.outs)):
                return False
        if [(_key(t), s) for t, s in self.data_out] != [(_key(t), s) for t, s in
                                                         other.data_out]:
            return False
        if [(id(p), s) for p, s, _ in self.grad_out] != [(id(p), s) for p, s, _ in
                                                         other.grad_out]:
            return False
        if [(id(p), k) for p, k in self.grad_guards] != [(id(p), k) for p, k in
                                                         other.grad_guards]:
            return False
        if (self.backward is None) != (other.backward is None) or (
                self.backward is not None and not self.backward.same_as(other.backward)):
            return False
        return _same_result(self.result, other.result)

    # ---- building the replay ----
    def prepare(self, passes=()) -> list:
        """The instructions a replay runs (for :meth:`codegen`): dead code removed, then
        ``passes`` applied.

        Args:
            passes: ``f(instrs, needed, meta) -> instrs`` rewrites (buffer reuse, fusion),
                run in order; ``needed`` holds the slots that leave the replay, ``meta`` each
                slot's trace-time ``(type, shape, dtype)``.
        """
        needed: set = set()
        for _, s in self.data_out:
            needed.add(s)
        for _, s, _ in self.grad_out:
            if s is not None:
                needed.add(s)
        _result_slots(self.result, needed)
        instrs = _dce(self.instrs, needed)
        for p in passes:
            instrs = p(instrs, needed, self.meta)
        return _dce(instrs, needed) if passes else instrs  # what the passes left unused

    def codegen(self, instrs: list):
        """The generated replay function running ``instrs`` (from :meth:`prepare`)."""
        return _codegen(self, instrs)

    def prepare_split(self, passes=()) -> tuple:
        """For a program with a :attr:`backward`: ``(forward instrs, backward instrs,
        saved)``, each part with dead code removed and ``passes`` applied; ``saved`` are the
        forward's slots the backward reads."""
        bw = self.backward
        fwd, bwd = self.instrs[:bw.start], self.instrs[bw.start:]
        b_needed = {s for s in bw.grad_out if s is not None}
        bwd = _dce(bwd, b_needed)
        for p in passes:
            bwd = p(bwd, b_needed, self.meta)
        defined: set = set()
        used: set = set()
        for ins in bwd:
            for s in slots_of(ins.args, set()) | slots_of(ins.kwargs, set()):
                if s not in defined:
                    used.add(s)
            slots_of(ins.outs, defined)
        saved = sorted(used - set(bw.grad_in))
        f_needed = set(saved) | set(bw.outs) | b_needed
        for _, s in self.data_out:
            f_needed.add(s)
        _result_slots(self.result, f_needed)
        fwd = _dce(fwd, f_needed)
        for p in passes:
            fwd = p(fwd, f_needed, self.meta)
        if passes:
            fwd, bwd = _dce(fwd, f_needed), _dce(bwd, b_needed)
        return fwd, bwd, saved

    def codegen_split(self, fwd: list, bwd: list, saved: list) -> tuple:
        """The generated forward replay, which returns ``(result, saved arrays, arrays of the
        outputs that need autograd)``, and backward replay ``(saved, output grads) -> grads
        of the wrt tensors``."""
        bw = self.backward
        tail = (f"({''.join(f's{i}, ' for i in saved)}), "
                f"({''.join(f's{i}, ' for i in bw.outs)})")
        f = _codegen(self, fwd, tail)
        em = _Emitter()
        lines = em.lines
        lines.append("def replay_backward(saved, grads):")
        if saved:
            lines.append(f"    ({''.join(f's{i}, ' for i in saved)}) = saved")
        lines.append(f"    ({''.join(f's{i}, ' for i in bw.grad_in)}) = grads")
        for ins in bwd:
            em.assign(ins.outs, em.call(ins))
        outs = "".join(("None" if s is None else f"s{s}") + ", " for s in bw.grad_out)
        lines.append(f"    return ({outs})")
        return f, _exec(em, "replay_backward")


def _key(t):
    return t if type(t) is int else id(t)


def _same_fn(a, b) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if type(a) is operator.attrgetter:
        return repr(a) == repr(b)
    try:
        return bool(a == b)
    except Exception:
        return False


def _same_result(a, b) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "new":
        return a[1] == b[1] and a[2] is b[2]
    if a[0] == "same":
        return a[1] is b[1] or (not isinstance(a[1], TensorBase) and same(a[1], b[1]))
    if a[0] == "dict":
        return a[1].keys() == b[1].keys() and all(_same_result(a[1][k], b[1][k]) for k in a[1])
    return len(a[1]) == len(b[1]) and all(_same_result(x, y) for x, y in zip(a[1], b[1]))


def _result_slots(r, acc: set) -> None:
    if r[0] == "new":
        acc.add(r[1])
    elif r[0] == "dict":
        for v in r[1].values():
            _result_slots(v, acc)
    elif r[0] in ("tuple", "list"):
        for v in r[1]:
            _result_slots(v, acc)


def _dce(instrs: list, needed: set) -> list:
    """Drop side-effect-free calls whose results nothing uses."""
    live = set(needed)
    keep = []
    for ins in reversed(instrs):
        outs: set = set()
        slots_of(ins.outs, outs)
        if is_pure(ins) and not (outs & live):
            continue
        slots_of(ins.args, live)
        slots_of(ins.kwargs, live)
        keep.append(ins)
    keep.reverse()
    return keep


class _Emitter:
    """Source text and the names it binds (functions, constants, tensors)."""

    def __init__(self) -> None:
        self.ns: dict = {"_RETRACE": RETRACE, "_gd": _DATA.__get__, "_sd": _DATA.__set__,
                         "_mk": _make}
        self._ids: dict = {}
        self.lines: list = []

    def name(self, obj, prefix: str = "k") -> str:
        key = id(obj)
        n = self._ids.get(key)
        if n is None:
            n = self._ids[key] = f"{prefix}{len(self._ids)}"
            self.ns[n] = obj
        return n

    def expr(self, tmpl) -> str:
        t = type(tmpl)
        if t is Slot:
            return f"s{tmpl.index}"
        if t is tuple and _has_slot(tmpl):
            return "(" + "".join(self.expr(e) + ", " for e in tmpl) + ")"
        if t is list and _has_slot(tmpl):
            return "[" + ", ".join(self.expr(e) for e in tmpl) + "]"
        if t is dict and _has_slot(tmpl) and all(type(k) is str for k in tmpl):
            return "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in tmpl.items()) + "}"
        if tmpl is None or t is bool or t is int or t is str:
            return repr(tmpl)
        if t is float and math.isfinite(tmpl):
            return repr(tmpl)
        return self.name(tmpl)

    def call(self, ins: Instr) -> str:
        if type(ins.fn) is _Static:  # a kept array: the name of the array, not a call
            return self.name(ins.fn.buf, "k")
        fn = self.name(ins.fn, "f")
        parts = [self.expr(a) for a in ins.args]
        parts += [f"{k}={self.expr(v)}" for k, v in ins.kwargs.items()]
        return f"{fn}({', '.join(parts)})"

    def assign(self, target, src: str, depth: int = 0) -> None:
        t = type(target)
        if t is Slot:
            self.lines.append(f"    s{target.index} = {src}")
        elif (t is tuple or t is list) and any(_has_slot(e) for e in target):
            tmp = f"_r{depth}"
            self.lines.append(f"    {tmp} = {src}")
            for i, e in enumerate(target):
                if _has_slot(e):
                    self.assign(e, f"{tmp}[{i}]", depth + 1)
        else:
            self.lines.append(f"    {src}")


def _has_slot(tmpl) -> bool:
    acc: set = set()
    slots_of(tmpl, acc)
    return bool(acc)


def _codegen(prog: Program, instrs: list, tail: str | None = None):
    em = _Emitter()
    lines = em.lines
    lines.append("def replay(args):")
    # guards and inputs first: a failed guard returns before anything is changed
    for p, has in prog.grad_guards:
        cmp = "is None" if has else "is not None"
        lines.append(f"    if {em.name(p, 't')}.__dict__.get('grad') {cmp}: return _RETRACE")
    for (slot, src), (shape, dtype) in zip(prog.inputs, prog.in_meta):
        kind, obj = src
        if kind == "arg":
            lines.append(f"    s{slot} = _gd(args[{obj}])")
            continue  # argument shapes are in the call's signature
        if kind == "tensor":
            lines.append(f"    s{slot} = _gd({em.name(obj, 't')})")
        elif kind == "free":
            ref = (f"{em.name(obj[0])}.cell_contents" if len(obj) == 1 else
                   f"{em.name(obj[0])}[{obj[1]!r}]")
            lines.append(f"    s{slot} = _gd({ref})")
        else:
            lines.append(f"    s{slot} = _gd({em.name(obj, 't')}.__dict__['grad'])")
        lines.append(f"    if s{slot}.shape != {shape!r} or s{slot}.dtype != "
                     f"{em.name(dtype)}: return _RETRACE")
    for ins in instrs:
        em.assign(ins.outs, em.call(ins))
    for t, s in prog.data_out:
        target = f"args[{t}]" if type(t) is int else em.name(t, "t")
        lines.append(f"    _sd({target}, s{s})")
    for p, s, dev in prog.grad_out:
        val = "None" if s is None else f"_mk(s{s}, {em.name(dev)})"
        lines.append(f"    {em.name(p, 't')}.__dict__['grad'] = {val}")
    res = _result_expr(em, prog.result)
    lines.append(f"    return {res}" if tail is None else f"    return ({res}, {tail})")
    return _exec(em, "replay")


def _exec(em: _Emitter, name: str):
    """The function ``name`` defined by ``em``'s lines (its ``source`` kept on it)."""
    src = "\n".join(em.lines) + "\n"
    code = compile(src, "<gpuarr.compile replay>", "exec")
    exec(code, em.ns)  # noqa: S102 - generated from the recorded program, no user text
    fn = em.ns[name]
    fn.source = src
    return fn


def _result_expr(em: _Emitter, r) -> str:
    kind = r[0]
    if kind == "new":
        return f"_mk(s{r[1]}, {em.name(r[2])})"
    if kind == "same":
        return em.expr(r[1]) if not isinstance(r[1], TensorBase) else em.name(r[1], "t")
    if kind == "dict":
        return "{" + ", ".join(f"{em.name(k)}: {_result_expr(em, v)}"
                               for k, v in r[1].items()) + "}"
    items = [_result_expr(em, v) for v in r[1]]
    if kind == "list":
        return "[" + ", ".join(items) + "]"
    return "(" + "".join(i + ", " for i in items) + ")"

