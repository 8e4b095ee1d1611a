"""Replay through CUDA graphs (``mode="reduce-overhead"`` on CUDA).

A CUDA graph replays a recorded sequence of kernel launches with one launch from the host. CuPy
records one by stream capture (``Stream.begin_capture`` ... ``end_capture``). Four things
decide how much of a training step one graph holds, and shape this module:

- **CuPy refuses cuBLAS and cuSOLVER calls during capture** (``NotImplementedError: calling
  cuBLAS API during stream capture is currently unsupported``). The float matrix products that
  ``graph_gemm`` covers are computed inside the graphs by gpuarr's own GEMM kernel (unless
  ``options={"graph_matmul": False}``); every other library call (``dot``, ``einsum``, float16
  products, ``linalg``) runs between graphs, on the same stream, into its static array.
- **Value checks read the device.** :func:`hoist_checks` moves each check that reads only the
  program's inputs to the front with the pure calls it needs: a small graph, the check, then
  one graph for the rest of the step.
- **Host work cannot be captured**: host-only calls that nothing after them needs (a step
  counter no update reads) move after the graphs (:func:`defer_host_work`); the other value
  checks, host computations
  (Adam's bias correction from its step count on the CPU) and whatever consumes them run
  outside the graphs too. Host numbers that only follow Python state (a learning rate read by
  ``host_value``) are captured as kernel arguments: each replay first recomputes them and
  captures again when one changed (an LR schedule costs one capture per new value).
- **A graph reads and writes fixed addresses.** Every array of the replay is *static*: the
  arrays allocated while capturing stay alive with the graph and are reused by every replay;
  inputs are copied into static copies when they are not those same arrays; products computed
  outside the graphs are written into their static arrays. What a replay returns and binds
  (gradients, the loss) lives in those static arrays and is overwritten by the next replay, as
  with torch's CUDA graphs.
"""

from __future__ import annotations

import operator
import sys

import numpy as np

from .._core.tensor import _make
from .graph_gemm import GraphMatmul, accepts
from .program import RETRACE, Program, is_pure
from .trace import _DATA, Instr, Slot, _Check, _GenCall, is_cupy_meta, slots_of

__all__ = ["GraphReplay", "uses_cuda"]

# CuPy routines that call cuBLAS/cuSOLVER (refused during capture)
_LIBRARY = {"matmul", "dot", "vdot", "inner", "outer", "tensordot", "einsum", "kron"}
_get = _DATA.__get__
_set = _DATA.__set__


def uses_cuda(meta: dict) -> bool:
    """Whether a program computes on CuPy arrays."""
    return any(is_cupy_meta(m) for m in meta.values())


def _fill(tmpl, env: dict):
    t = type(tmpl)
    if t is Slot:
        return env[tmpl.index]
    if t is tuple or t is list:
        return t(_fill(e, env) for e in tmpl)
    if t is dict:
        return {k: _fill(v, env) for k, v in tmpl.items()}
    return tmpl


def _assign(tmpl, value, env: dict, static: bool) -> None:
    """Store ``value`` (a call's result) into the slots of ``tmpl``; with ``static``, arrays
    go into the slot's existing static array (so graphs reading it see the new values)."""
    t = type(tmpl)
    if t is Slot:
        old = env.get(tmpl.index)
        if static and old is not None and old is not value and (
                type(old).__module__.startswith("cupy")):
            old[...] = value
        else:
            env[tmpl.index] = value
    elif (t is tuple or t is list) and value is not None:
        for e, v in zip(tmpl, value):
            _assign(e, v, env, static)


def _reads(ins: Instr) -> set:
    """The slots ``ins`` takes as arguments."""
    return slots_of(ins.kwargs, slots_of(ins.args, set()))


def _touches(ins: Instr) -> set:
    """The slots ``ins`` reads or writes."""
    return slots_of(ins.outs, _reads(ins))


def hoist_checks(instrs: list, inputs: set) -> list:
    """``instrs`` with each value check that reads only the program's inputs moved to the
    front, together with the pure calls it needs (a target-range check of ``cross_entropy``
    reads only the targets). A check reads the device, so it cannot sit inside a graph:
    moved first, it leaves the rest of the step to one graph. A check stays where it is when
    anything before it could change what it reads."""
    producer: dict = {}  # slot -> index of the call that last wrote it
    hoisted: list = []
    taken: set = set()
    for c, ins in enumerate(instrs):
        if type(ins.fn) is _Check:
            group, stack, ok = set(), [c], True
            while stack and ok:
                i = stack.pop()
                for s in _reads(instrs[i]):
                    j = producer.get(s)
                    if j is None:
                        ok = s in inputs
                    elif j not in group and j not in taken:
                        if not is_pure(instrs[j]):
                            ok = False
                        group.add(j)
                        stack.append(j)
                    if not ok:
                        break
            if ok:
                read = set().union(*(_reads(instrs[i]) for i in group | {c}))
                # nothing else before the check may touch what the group reads
                for j in range(c):
                    if j in group or j in taken:
                        continue
                    if _reads(instrs[j]) & read and not is_pure(instrs[j]) or (
                            slots_of(instrs[j].outs, set()) & read):
                        ok = False
                        break
            if ok:
                members = sorted(group) + [c]
                hoisted.extend(members)
                taken.update(members)
        for s in slots_of(ins.outs, set()):
            producer[s] = c
    if not hoisted:
        return instrs
    return [instrs[i] for i in hoisted] + [ins for i, ins in enumerate(instrs) if i not in taken]


def _on_host(ins: Instr, meta: dict) -> bool:
    """Whether ``ins`` computes on the host only: no device slot, no device constant."""
    if type(ins.fn) in (_Check, _GenCall):
        return False
    if any(is_cupy_meta(meta.get(s)) for s in _touches(ins)):
        return False
    consts = list(ins.args) + list(ins.kwargs.values())
    return not any(type(c).__module__.startswith("cupy") for c in consts)


_PLAIN = (Slot, int, float, complex, str, bytes, type(None), np.dtype, np.generic, np.ndarray)


def _reads_python_state(ins: Instr) -> bool:
    """Whether ``ins`` takes a Python object (a tensor, a param group) whose state it may read
    beyond its slots: a host value such as ``_step_count(step)`` reads the step tensor's
    array, which an earlier call may have changed in place."""
    def opaque(c) -> bool:
        if type(c) is tuple or type(c) is list:
            return any(opaque(e) for e in c)
        return not isinstance(c, _PLAIN) and not type(c).__module__.startswith("cupy")

    return any(opaque(c) for c in ins.args) or any(opaque(c) for c in ins.kwargs.values())


def defer_host_work(instrs: list, meta: dict) -> list:
    """``instrs`` with host-only calls that nothing after them needs moved to the end (a step
    counter that the update never reads: RMSprop's, Adadelta's, Rprop's). Left in place they
    would cut the graphs in two for nothing. A call that reads Python state (a host value)
    keeps everything before it in place: it may read what they change."""
    touched: set = set()  # slots that a call kept in place after this one reads or writes
    kept: list = []
    deferred: list = []
    blocked = False
    for ins in reversed(instrs):
        slots = _touches(ins)
        if not blocked and _on_host(ins, meta) and not slots & touched:
            deferred.append(ins)
        else:
            kept.append(ins)
            touched |= slots
            blocked = blocked or _reads_python_state(ins)
    if not deferred:
        return instrs
    return kept[::-1] + deferred[::-1]


def _same_value(a, b) -> bool:
    """Whether host value ``a`` equals the captured ``b``: numbers (NaN equals NaN) or host
    arrays (same dtype, shape and elements)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    return a == b or (a != a and b != b)


class GraphReplay:
    """The replay of one verified program through CUDA graphs (see the module docstring).

    Called like a generated replay: ``replay(arg_tensors)`` returns the result, or
    :data:`~gpuarr._compile.program.RETRACE` when a guard fails.
    """

    def __init__(self, prog: Program, instrs: list, graph_matmul: bool = True) -> None:
        self.prog = prog
        self.meta = meta = prog.meta
        instrs = defer_host_work(hoist_checks(instrs, {s for s, _ in prog.inputs}), meta)
        if graph_matmul:  # matrix products by gpuarr's kernel, inside the graphs
            gemm = GraphMatmul()
            instrs = [Instr(gemm, ins.args, ins.kwargs, ins.outs, ins.site)
                      if accepts(ins, meta) else ins for ins in instrs]
        self.instrs = instrs
        self.cp = sys.modules["cupy"]
        host = {s for s, m in meta.items() if not is_cupy_meta(m)}
        # host values that follow Python state only (a learning rate and what is computed
        # from it): recomputed before each replay, and captured as kernel arguments
        self.stable: list = []
        stable_slots: set = set()
        input_slots = {s for s, _ in prog.inputs}
        for i, ins in enumerate(instrs):
            used = _reads(ins)
            outs = slots_of(ins.outs, set())
            if (outs and type(ins.fn) is not _Check and all(s in host for s in outs)
                    and not getattr(ins.fn, "volatile", False)
                    and all(s in stable_slots for s in used)
                    and not outs & input_slots):
                self.stable.append(i)
                stable_slots.update(outs)
        self.stable_slots = stable_slots
        volatile = host - stable_slots
        self.outside = [self._outside(ins, volatile) for ins in instrs]
        self.cupy_inputs = {s for s in input_slots if is_cupy_meta(meta.get(s))}
        # the slots the host-value recomputation reads (copied per check, not the whole env)
        self.stable_reads = {s for i in self.stable for s in _reads(instrs[i])}
        self.plan: list | None = None
        self.env: dict = {}
        self.captured_values: dict = {}
        self.generators: list = []  # (gpuarr Generator, its backend generator at capture)
        self.stream = None
        self.captures = 0

    def _outside(self, ins: Instr, volatile: set) -> bool:
        """Whether ``ins`` runs outside the graphs (see the module docstring)."""
        fn = ins.fn
        if type(fn) is _Check or fn is operator.matmul:
            return True
        name = getattr(fn, "__name__", None) or getattr(fn, "name", "")
        if name in _LIBRARY or "linalg" in (getattr(fn, "__module__", None) or ""):
            return True
        return not volatile.isdisjoint(_touches(ins))

    # ---- one replay ----
    def __call__(self, args):
        prog = self.prog
        for p, has in prog.grad_guards:
            if (p.__dict__.get("grad") is None) == has:
                return RETRACE
        current = []
        for (slot, src), (shape, dtype) in zip(prog.inputs, prog.in_meta):
            kind, obj = src
            if kind == "arg":
                a = _get(args[obj])
            elif kind == "tensor":
                a = _get(obj)
            elif kind == "free":
                a = _get(obj[0].cell_contents if len(obj) == 1 else obj[0][obj[1]])
            else:
                a = _get(obj.__dict__["grad"])
            if a.shape != shape or a.dtype != dtype:
                return RETRACE
            current.append((slot, a))
        if self.plan is not None and not self._unchanged():
            self.plan = None  # a learning rate or a generator changed: capture again
        if self.plan is None:
            self._capture(current)
        env = self.env
        with self.stream:
            for slot, a in current:
                st = env[slot]
                if a is not st:
                    if slot in self.cupy_inputs:
                        st[...] = a
                    else:
                        env[slot] = a
            for part in self.plan:
                if type(part) is Instr:
                    _assign(part.outs, part.fn(*_fill(part.args, env),
                                               **_fill(part.kwargs, env)), env, True)
                else:
                    part.launch(self.stream)
        return self._finish(env, args)

    def _unchanged(self) -> bool:
        """Whether the host values and generators captured into the graphs are still
        current."""
        env = {s: self.env[s] for s in self.stable_reads if s in self.env}
        for i in self.stable:
            ins = self.instrs[i]
            _assign(ins.outs, ins.fn(*_fill(ins.args, env), **_fill(ins.kwargs, env)), env,
                    False)
        if any(not _same_value(env[s], v) for s, v in self.captured_values.items()):
            return False
        return all(call.prop.__get__(call.gen) is bg for call, bg in self.generators)

    def _finish(self, env: dict, args):
        prog = self.prog
        for t, s in prog.data_out:
            _set(args[t] if type(t) is int else t, env[s])
        for p, s, dev in prog.grad_out:
            p.__dict__["grad"] = None if s is None else _make(env[s], dev)
        return _result(prog.result, env)

    # ---- capture ----
    def _capture(self, current: list) -> None:
        """Make the static arrays and the graphs. Calls outside the graphs do not run here
        (they may change state: the replay that follows runs them); their array results get
        static arrays of the recorded shape."""
        cp = self.cp
        self.captures += 1
        self.stream = cp.cuda.Stream(non_blocking=False)
        arg_slots = {s for s, src in self.prog.inputs if src[0] == "arg"}
        env: dict = {}
        for slot, a in current:
            env[slot] = a.copy() if slot in arg_slots and is_cupy_meta(self.meta.get(slot)) else a
        plan: list = []
        pending: list = []
        self.generators = []
        with self.stream:
            for ins, outside in zip(self.instrs, self.outside):
                if not outside:
                    pending.append(ins)
                    continue
                if pending:
                    plan.append(self._graph(pending, env))
                    pending = []
                plan.append(self._eager_form(ins))
                outs: set = set()
                slots_of(ins.outs, outs)
                for s in outs:
                    m = self.meta.get(s)
                    if s not in env and is_cupy_meta(m):
                        env[s] = cp.empty(m[1], dtype=m[2])
            if pending:
                plan.append(self._graph(pending, env))
        self.env = env
        self.plan = plan
        self.captured_values = {s: env[s] for s in self.stable_slots if s in env}

    def _eager_form(self, ins: Instr) -> Instr:
        """A matrix product outside the graphs writes straight into its static array."""
        fn = ins.fn
        name = getattr(fn, "__name__", None) or getattr(fn, "name", "")
        if (fn is operator.matmul or name == "matmul") and type(ins.outs) is Slot and (
                not ins.kwargs):
            return Instr(self.cp.matmul, ins.args, {"out": ins.outs}, ins.outs, ins.site)
        return ins

    def _graph(self, instrs: list, env: dict):
        """Capture ``instrs`` into one graph; their results (allocated now) become static."""
        stream = self.stream
        for ins in instrs:
            if type(ins.fn) is _GenCall:
                self.generators.append((ins.fn, ins.fn.prop.__get__(ins.fn.gen)))
        stream.begin_capture()
        try:
            for ins in instrs:
                _assign(ins.outs, ins.fn(*_fill(ins.args, env), **_fill(ins.kwargs, env)),
                        env, False)
        except BaseException:
            try:
                stream.end_capture()
            except Exception:  # noqa: BLE001 - the capture is broken already; report the first
                pass
            raise
        return stream.end_capture()


def _result(r, env: dict):
    kind = r[0]
    if kind == "new":
        return _make(env[r[1]], r[2])
    if kind == "same":
        return r[1]
    if kind == "dict":
        return {k: _result(v, env) for k, v in r[1].items()}
    items = [_result(v, env) for v in r[1]]
    return items if kind == "list" else tuple(items)
