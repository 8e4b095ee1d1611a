"""``gpuarr.compile``: record a step once, replay it without Python overhead.

How a compiled function runs (see docs/compile.md for the whole story):

1. Each call computes a *signature*: the tensor arguments' shapes, dtypes, devices and
   ``requires_grad``, grad mode, the ``training`` flags of the Modules the function reaches,
   its optimizers' hyperparameters (``lr``...), and the Python numbers it closes over.
2. A signature without a verified program is *traced*: the function runs eagerly (its results
   are eager results) while :class:`~gpuarr._compile.trace.Tracer` records every backend
   array call it makes, forward, backward and optimizer update alike.
3. When two consecutive traces of one signature recorded the same program, the program is
   verified (what a call does no longer changes from call to call: optimizer state exists,
   gradients are set up) and built into a replay function; later calls run that.
4. A trace that reads a value into Python (``.item()``, ``bool(t)``, printing) cannot be
   replayed: the function then runs eagerly, with one warning naming the line.
"""

from __future__ import annotations

import builtins
import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any

from .._autocast import state as _amp
from .._core.grad_mode import _state
from .._dtype import get_default_dtype
from .._core.tensor import TensorBase
from .autograd_replay import AutogradReplay
from .buffers import keep_constants, reuse_buffers
from .cuda_graph import GraphReplay, uses_cuda
from .fuse import fuse_elementwise
from .fuse_cpu import fuse_bias_relu, fuse_weight_updates
from .program import RETRACE, Program
from .simplify import simplify
from .trace import Tracer, active

__all__ = ["compile", "CompiledFunction", "OptimizedModule", "build_replay", "cupy_targets"]

_MAX_TRACES = 4  # traces of one signature that may disagree before the function runs eagerly
_SCALARS = (bool, int, float, str, type(None))


class _Entry:
    """The cache entry of one signature: the last trace, then the built replay."""

    __slots__ = ("last", "replay", "n_traces")

    def __init__(self) -> None:
        self.last: Program | None = None
        self.replay = None
        self.n_traces = 0


def _flatten(x, out: list, sig: list) -> None:
    """Collect the tensors of ``x`` (through tuples, lists, dicts) into ``out`` and its
    signature into ``sig``."""
    if isinstance(x, TensorBase):
        d = x._data
        out.append(x)
        sig.append((d.shape, d.dtype, id(x._device), x._rg))
    elif type(x) in (tuple, list):
        sig.append(len(x))
        for e in x:
            _flatten(e, out, sig)
    elif type(x) is dict:
        for k, v in x.items():
            sig.append(k)
            _flatten(v, out, sig)
    elif type(x) in _SCALARS:
        sig.append(x)
    else:
        sig.append(id(x))


class _Watch:
    """What the function reaches besides its arguments, whose state decides its program:
    Modules (their ``training`` flags), optimizers (their hyperparameters) and Python numbers
    it closes over or reads as globals."""

    def __init__(self, fn: Callable, args: tuple) -> None:
        objs: list = []
        target = getattr(fn, "__func__", fn)
        if hasattr(fn, "__self__"):
            objs.append(fn.__self__)
        self.cells = list(getattr(target, "__closure__", None) or ())
        code = getattr(target, "__code__", None)
        self.globals = []
        if code is not None:
            g = target.__globals__
            self.globals = [(g, n) for n in code.co_names if n in g]
        objs += [c.cell_contents for c in self.cells if _has_contents(c)]
        objs += [g[n] for g, n in self.globals]
        objs += list(args)
        self.modules: list = []
        self.optimizers: list = []
        seen: set = set()
        for o in objs:
            if id(o) in seen:
                continue
            seen.add(id(o))
            if hasattr(o, "param_groups") and hasattr(o, "state"):
                # (optimizer, the group keys its program does not bake in)
                self.optimizers.append((o, ("params", "lr") if getattr(
                    o, "_lr_read_per_call", False) else ("params",)))
            elif hasattr(o, "training") and callable(getattr(o, "modules", None)):
                self.modules.extend(m for m in o.modules() if id(m) not in seen)
        self.params = [p for m in self.modules for p in m._parameters.values()
                       if p is not None] if self.modules else []
        # the modules' own Python settings (Dropout's p, a flag), read when tracing
        self.settings = [(m.__dict__, tuple(k for k, v in m.__dict__.items()
                                            if type(v) in _SCALARS and k != "training"))
                         for m in self.modules]
        self._fast: Callable[[], tuple] | None = None

    def free_tensors(self) -> dict:
        """id(tensor) -> where the function reads it: ``(cell,)`` or ``(globals, name)``."""
        out: dict = {}
        for c in self.cells:
            if _has_contents(c) and isinstance(c.cell_contents, TensorBase):
                out[id(c.cell_contents)] = (c,)
        for g, n in self.globals:
            v = g.get(n)
            if isinstance(v, TensorBase):
                out[id(v)] = (g, n)
        return out

    def state(self) -> tuple:
        """What of the watched objects' state decides the program, as a hashable tuple.

        It runs on every call of the compiled function, so it is generated straight-line code
        (one tuple of attribute reads, :meth:`_fast_state`) for as long as the optimizers'
        param_groups keep the structure they had when the watch was made, and
        :meth:`_slow_state` otherwise."""
        if self._fast is None:
            self._fast = self._fast_state()
        return self._fast()

    def _slow_state(self) -> tuple:
        parts: list = [m.training for m in self.modules]
        parts.extend(p._rg for p in self.params)  # freezing a layer changes the backward
        for d, keys in self.settings:
            parts.extend(d.get(k) for k in keys)
        for opt, skip in self.optimizers:
            for g in opt.param_groups:
                parts.extend(v for k, v in g.items() if k not in skip
                             and (type(v) in _SCALARS or type(v) is tuple))
        for c in self.cells:
            if _has_contents(c) and type(c.cell_contents) in _SCALARS:
                parts.append(c.cell_contents)
        for g, n in self.globals:
            v = g.get(n)
            if type(v) in _SCALARS:
                parts.append(v)
        return tuple(parts)

    def _fast_state(self) -> Callable[[], tuple]:
        """:meth:`_slow_state` as one generated expression over the objects watched now.

        A group value or global of another type than a scalar reads as a marker instead of
        being left out, so the tuples differ from the slow ones in shape, never in what they
        tell apart. The slow path takes over while a param_groups list has other groups (or a
        group other keys) than when this was built."""
        ns: dict = {"_S": frozenset(_SCALARS), "_ST": frozenset((*_SCALARS, tuple)),
                    "_NS": _NOT_SCALAR, "_cv": _cell_value, "_slow": self._slow_state}
        items: list[str] = []
        guards: list[str] = []

        def bind(prefix: str, obj) -> str:
            name = f"{prefix}{len(ns)}"
            ns[name] = obj
            return name

        items += [f"{bind('m', m)}.training" for m in self.modules]
        items += [f"{bind('p', p)}._rg" for p in self.params]
        for d, keys in self.settings:
            dn = bind("d", d)
            items += [f"{dn}.get({k!r})" for k in keys]
        for opt, skip in self.optimizers:
            groups = opt.param_groups
            gl = bind("G", groups)
            guards.append(f"len({gl}) != {len(groups)}")
            for j, g in enumerate(groups):
                gn = bind("g", g)
                guards.append(f"{gl}[{j}] is not {gn} or len({gn}) != {len(g)}")
                items += [f"(_v if type(_v := {gn}.get({k!r})) in _ST else _NS)"
                          for k in g if k not in skip]
        items += [f"_cv({bind('c', c)})" for c in self.cells]
        for g, n in self.globals:
            items.append(f"(_v if type(_v := {bind('n', g)}.get({n!r})) in _S else _NS)")
        lines = ["def state():"]
        if guards:
            lines.append(f"    if {' or '.join(guards)}:")
            lines.append("        return _slow()")
        lines.append(f"    return ({''.join(i + ', ' for i in items)})")
        src = "\n".join(lines) + "\n"  # (this module's own compile() is gpuarr.compile)
        exec(builtins.compile(src, "<gpuarr.compile state>", "exec"), ns)  # noqa: S102
        return ns["state"]


_NOT_SCALAR = object()  # a watched value that is not a scalar (its value is not part of the key)


def _cell_value(cell):
    """A closure cell's scalar contents, :data:`_NOT_SCALAR` for anything else or nothing."""
    try:
        v = cell.cell_contents
    except ValueError:  # an empty cell
        return _NOT_SCALAR
    return v if type(v) in _SCALARS else _NOT_SCALAR


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def cupy_targets() -> tuple:
    """The CuPy namespaces a :class:`~gpuarr._compile.trace.Tracer` records calls into: none
    unless CuPy is loaded (see trace.py).

    Returns:
        A tuple of CuPy namespaces (empty when CuPy is not imported).

    Example:
        >>> with Tracer([], cupy_targets()) as tr: ...
    """
    if "cupy" not in sys.modules:
        return ()
    from .cupy_names import targets  # lazy: only where CuPy is loaded

    return targets()


def build_replay(prog: Program, *, fuse: bool = True, graphs: bool = False,
                 graph_matmul: bool = True) -> tuple[Callable, GraphReplay | None]:
    """Turn a verified program into its replays: the passes, then generated code, and a CUDA
    graph replay of the same instructions when asked for.

    The graph replay is returned beside the plain one rather than wrapped, because what to do
    when CuPy refuses a capture (warn, raise, which stream to order against) is the caller's.

    Args:
        prog: the program (:class:`~gpuarr._compile.program.Program`) of a finished trace.
        fuse: run the optimizing passes (on the CPU SGD updates fused into the weight
            gradients' kernel and buffer reuse; fused kernels on CUDA).
        graphs: also build a :class:`~gpuarr._compile.cuda_graph.GraphReplay` (CUDA programs
            without a recorded backward only).
        graph_matmul: in the graph replay, float matrix products use gpuarr's GEMM kernel.

    Returns:
        ``(plain, graph)``: the launch-by-launch replay (an ``AutogradReplay`` when ``prog``
        recorded a backward), and the GraphReplay or None.

    Example:
        >>> plain, graph = build_replay(prog, graphs=True)
        >>> out = (graph or plain)(args)
    """
    cuda = uses_cuda(prog.meta)
    passes = ((simplify,) + ((fuse_elementwise,) if cuda else (
        fuse_weight_updates, keep_constants, fuse_bias_relu, reuse_buffers)) if fuse else ())
    if prog.backward is not None:
        fwd, bwd, saved = prog.prepare_split(passes)
        return AutogradReplay(*prog.codegen_split(fwd, bwd, saved), prog.backward), None
    instrs = prog.prepare(passes)
    plain = prog.codegen(instrs)
    graph = GraphReplay(prog, instrs, graph_matmul) if cuda and graphs else None
    return plain, graph


class CompiledFunction:
    """A function compiled by :func:`compile`: call it as the function.

    Attributes:
        eager_reason: None, or why the function runs eagerly from now on.
    """

    def __init__(self, fn: Callable, *, fullgraph: bool = False, options: dict | None = None,
                 mode: str | None = None) -> None:
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._fullgraph = fullgraph
        self._mode = mode
        opts = dict(options or {})
        self._limit = int(opts.pop("cache_size_limit", 8))
        self._fuse = bool(opts.pop("fuse", True))
        # torch's "reduce-overhead" mode is the one with CUDA graphs
        self._graphs = bool(opts.pop("cuda_graphs", mode in ("reduce-overhead",
                                                              "max-autotune")))
        self._graph_matmul = bool(opts.pop("graph_matmul", True))
        self._cache: dict = {}
        self._watch: _Watch | None = None
        self.eager_reason: str | None = None
        self._n = {"traces": 0, "replays": 0, "eager_calls": 0}

    def stats(self) -> dict:
        """Counts so far: ``traces`` (eager calls that recorded), ``replays``, ``eager_calls``
        (after a fallback) and ``cache_entries`` (signatures seen)."""
        return dict(self._n, cache_entries=len(self._cache))

    def __get__(self, obj, objtype=None):  # @compile on a method binds like a function
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if active() is not None:  # called inside another compiled function's trace:
            return self._fn(*args, **kwargs)  # its work is part of that program
        if self.eager_reason is not None:
            self._n["eager_calls"] += 1
            return self._fn(*args, **kwargs)
        if self._watch is None:
            self._watch = _Watch(self._fn, args)
        tensors: list = []
        sig: list = [_state.enabled, get_default_dtype(), _amp.on and (
            tuple(_amp.enabled.items()), tuple(_amp.dtype.items()))]
        _flatten(args, tensors, sig)
        if kwargs:
            _flatten(kwargs, tensors, sig)
        key = (tuple(sig), self._watch.state())
        entry = self._cache.get(key)
        if entry is not None and entry.replay is not None:
            r = entry.replay(tensors)
            if r is not RETRACE:
                self._n["replays"] += 1
                return r
            entry.replay = None  # a guard failed (a gradient appeared, a parameter changed)
            entry.n_traces = 0
        if entry is None:
            if len(self._cache) >= self._limit:
                self._go_eager(
                    f"it was called with more than cache_size_limit={self._limit} different "
                    "signatures (shapes, dtypes, modes); raise it with "
                    "options={'cache_size_limit': N}")
                self._n["eager_calls"] += 1
                return self._fn(*args, **kwargs)
            entry = self._cache[key] = _Entry()
        return self._trace(entry, args, kwargs, tensors)

    def _trace(self, entry: _Entry, args: tuple, kwargs: dict, tensors: list):
        with Tracer(tensors, cupy_targets(), self._watch.free_tensors()) as tr:
            result = self._fn(*args, **kwargs)
            backward = None
            if _state.enabled and not tr.ran_backward and tr.broken is None:
                backward = tr.record_backward(result)  # the caller will run backward
            prog = Program(tr, result, backward)
        self._n["traces"] += 1
        if prog.broken is not None:
            self._go_eager(prog.broken)
            return result
        if entry.last is not None and entry.last.same_as(prog):
            entry.replay = self._build(prog)
            entry.last = None
            return result
        entry.last = prog
        entry.n_traces += 1
        if entry.n_traces >= _MAX_TRACES:
            self._go_eager(f"what it does changes from call to call ({_MAX_TRACES} traces "
                           "recorded different programs)")
        return result

    def _build(self, prog: Program):
        """The replay of a verified program: generated code, or CUDA graphs."""
        plain, graph = build_replay(prog, fuse=self._fuse, graphs=self._graphs,
                                    graph_matmul=self._graph_matmul)
        return plain if graph is None else _GraphOrPlain(graph, plain, self)

    def _go_eager(self, reason: str) -> None:
        self.eager_reason = reason
        self._cache.clear()
        name = getattr(self._fn, "__qualname__", None) or type(self._fn).__name__
        msg = f"gpuarr.compile: {name} runs eagerly from now on: {reason}."
        if self._fullgraph:
            raise RuntimeError(msg + " (fullgraph=True forbids falling back to eager)")
        warnings.warn(msg, UserWarning, stacklevel=4)


class _GraphOrPlain:
    """A CUDA-graph replay that falls back to the plain replay (with one warning) when CuPy
    refuses to capture it."""

    __slots__ = ("graph", "plain", "owner")

    def __init__(self, graph: GraphReplay, plain, owner: CompiledFunction) -> None:
        self.graph = graph
        self.plain = plain
        self.owner = owner

    def __call__(self, args):
        if self.graph is not None:
            try:
                return self.graph(args)
            except Exception as e:  # noqa: BLE001 - any capture failure: replay without graphs
                if self.graph.plan is not None:
                    raise  # a failure while replaying, not while capturing: the user's error
                self.graph = None
                name = getattr(self.owner._fn, "__qualname__", "function")
                if self.owner._fullgraph:
                    raise RuntimeError(
                        f"gpuarr.compile: {name}: CUDA graph capture failed ({type(e).__name__}:"
                        f" {e}); fullgraph=True forbids replaying without graphs") from e
                warnings.warn(f"gpuarr.compile: {name}: CUDA graph capture failed "
                              f"({type(e).__name__}: {e}); replaying without graphs.",
                              UserWarning, stacklevel=3)
        return self.plain(args)


class OptimizedModule:
    """What :func:`compile` gives for a Module: calling it runs the compiled forward; every
    other attribute is the module's (``_orig_mod`` is the module itself)."""

    def __init__(self, mod, **kw: Any) -> None:
        object.__setattr__(self, "_orig_mod", mod)
        object.__setattr__(self, "_compiled", CompiledFunction(mod.__call__, **kw))

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def stats(self) -> dict:
        """The compiled forward's counts (see :meth:`CompiledFunction.stats`)."""
        return self._compiled.stats()

    @property
    def eager_reason(self) -> str | None:
        """None, or why the forward runs eagerly from now on."""
        return self._compiled.eager_reason

    def __getattr__(self, name: str):
        return getattr(self._orig_mod, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"OptimizedModule(\n  (_orig_mod): {self._orig_mod!r}\n)"


def compile(model: Callable | None = None, *, fullgraph: bool = False,  # noqa: A001
            dynamic: bool | None = None, backend: Any = "inductor", mode: str | None = None,
            options: dict | None = None, disable: bool = False) -> Any:
    """Compile a function or Module: trace its calls and replay them (torch.compile's API).

    Args:
        model: a function (a training step, a forward) or a :class:`gpuarr.nn.Module`; None
            returns a decorator.
        fullgraph: raise instead of falling back to eager when a trace cannot be replayed.
        dynamic: accepted for torch compatibility; each new shape is traced.
        backend: accepted for torch compatibility (``"eager"`` disables compilation).
        mode: ``"reduce-overhead"`` or ``"max-autotune"``: on CUDA, replay through CUDA
            graphs (outputs then live in static memory that the next replay overwrites, as
            with torch's CUDA graphs); None/``"default"``: launch by launch.
        options: ``cache_size_limit`` (signatures kept per function, default 8), ``fuse``
            (buffer reuse on the CPU, fused kernels on CUDA; default True), ``cuda_graphs``
            (default: on in the reduce-overhead modes), ``graph_matmul`` (default True: in
            CUDA graphs, float matrix products use gpuarr's GEMM kernel so that a step is one
            graph; False keeps cuBLAS, which CuPy cannot capture, between graph launches).
        disable: return ``model`` unchanged.

    Returns:
        A :class:`CompiledFunction` (or :class:`OptimizedModule`), or a decorator.

    Example:
        >>> @gpuarr.compile
        ... def step(x, y):
        ...     opt.zero_grad()
        ...     loss = gpuarr.nn.functional.cross_entropy(model(x), y)
        ...     loss.backward()
        ...     opt.step()
        ...     return loss
        >>> for x, y in loader:
        ...     loss = step(x, y)     # calls 1-2 trace (eagerly), then replay
    """
    del dynamic

    def decorate(fn: Callable) -> Any:
        if not callable(fn):
            raise RuntimeError(
                f"compile() expects a callable or a Module, got {type(fn).__name__}")
        if disable or backend == "eager":
            return fn
        kw = {"fullgraph": fullgraph, "options": options, "mode": mode}
        if hasattr(fn, "training") and callable(getattr(fn, "modules", None)):
            return OptimizedModule(fn, **kw)
        return CompiledFunction(fn, **kw)

    if model is None:
        return decorate
    return decorate(model)
