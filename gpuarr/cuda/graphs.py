"""CUDA graphs with torch.cuda's API: :class:`CUDAGraph`, :class:`graph`,
:func:`graph_pool_handle` and :func:`make_graphed_callables`.

gpuarr does not capture CUDA work a second way: a captured block is recorded by
``gpuarr.compile``'s machinery (``gpuarr/_compile``, docs/compile.md). While the block of
``with gpuarr.cuda.graph(g):`` runs, a tracer records every backend array call it makes
(forward, ``backward()``, the optimizer's in-place updates). On exit the recording becomes a
replay program:

- its **inputs** are the tensors the block read from outside (static inputs, parameters,
  optimizer state, gradients), read from their current arrays at each replay, so that
  ``static_x.copy_(data)`` between replays takes effect;
- its **outputs** are written into the tensors the block made that are still held when it
  ends (``static_y``, ``static_loss``, the ``.grad`` tensors backward made), and parameters
  and state are updated in place, as the eager block did.

``g.replay()`` runs that program through CUDA graphs captured with CuPy's stream capture
(``GraphReplay``, as ``gpuarr.compile(mode="reduce-overhead")`` does), launch by launch when
CuPy refuses a capture (one warning).

Differences from torch, on purpose:

- as in torch, warm up before capturing: what only a first step does (an optimizer creating
  its state) is replayed as it was captured;
- the block runs **eagerly** during the capture, so its outputs hold real values after the
  ``with`` block (torch leaves them uninitialised until the first replay), and a training step
  captured this way has made one step;
- Python side effects of the block (appending to a list, a counter) are not replayed (as in
  torch); a value read into Python (``.item()``, ``bool(t)``, printing) raises at once, as
  torch's "operation not permitted when stream is capturing" does;
- a block that runs no CUDA work (CPU tensors only) raises at the end of the capture, where
  torch would silently leave the CPU work out of the graph;
- autograd through outputs of a captured forward (captured with grad enabled, ``backward()``
  called after a replay, outside the block) uses the values of the capture's own run, not
  the replay's: capture the backward in the block too, or use :func:`make_graphed_callables`;
- memory pools are CuPy's: ``pool`` arguments and :func:`graph_pool_handle` are accepted and
  compared, but every graph keeps its own static arrays.

Example:
    >>> g = gpuarr.cuda.CUDAGraph()
    >>> opt.zero_grad(set_to_none=True)
    >>> with gpuarr.cuda.graph(g):
    ...     static_loss = loss_fn(model(static_x), static_y)
    ...     static_loss.backward()
    ...     opt.step()
    >>> for x, y in loader:
    ...     static_x.copy_(x); static_y.copy_(y)
    ...     g.replay()                  # static_loss and the parameters hold the new step
"""

from __future__ import annotations

import gc
import itertools
import warnings
import weakref
from collections.abc import Callable
from typing import Any

from .._compile import build_replay, cupy_targets
from .._compile import compile as _compile
from .._compile.cuda_graph import uses_cuda
from .._compile.program import RETRACE, Program
from .._compile.trace import TArray, Tracer, active
from .._core.grad_mode import is_grad_enabled
from .._core.tensor import TensorBase
from ..autograd._backward import grad as _grad
from ..backends import cuda_backend
from .streams import Stream, StreamContext, current_stream

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "make_graphed_callables"]

_DATA = TensorBase.__dict__["_data"]  # the slot (a tracer swaps it only while it records)
_get_data = _DATA.__get__
_set_data = _DATA.__set__
_pool_ids = itertools.count(1)
_CAPTURE_MODES = ("global", "thread_local", "relaxed")


def graph_pool_handle() -> tuple[int, int]:
    """An opaque token naming a graph memory pool, to pass as ``pool=`` to several captures.

    gpuarr's graphs allocate from CuPy's memory pool and keep their own static arrays, so the
    token is accepted for torch compatibility and does not change where memory comes from.

    Returns:
        A token (a tuple of two ints, as torch's ``_POOL_HANDLE``).

    Example:
        >>> pool = gpuarr.cuda.graph_pool_handle()
        >>> with gpuarr.cuda.graph(g1, pool=pool): ...
        >>> with gpuarr.cuda.graph(g2, pool=pool): ...
    """
    cuda_backend()  # torch needs CUDA here too: raises saying why when it is not usable
    return (0, next(_pool_ids))


class _CaptureTracer(Tracer):
    """The tracer of a graph capture: a value read into Python raises at once (torch's
    capture refuses it too), instead of marking the trace for an eager fallback."""

    def brk(self, what: str) -> None:
        super().brk(what)
        raise RuntimeError(
            f"gpuarr.cuda.graph: {self.broken} cannot be captured in a CUDA graph: it reads a "
            "value from the device into Python (CUDA error: operation not permitted when "
            "stream is capturing). Move it out of the captured block.")


class CUDAGraph:
    """A captured CUDA graph (torch.cuda.CUDAGraph): capture it with :class:`graph` (or
    :meth:`capture_begin` / :meth:`capture_end`), run it again with :meth:`replay`.

    Args:
        keep_graph: accepted for torch compatibility (the replay program is always kept).

    Example:
        >>> g = gpuarr.cuda.CUDAGraph()
        >>> with gpuarr.cuda.graph(g):
        ...     static_out = model(static_in)
        >>> static_in.copy_(new_batch); g.replay()   # static_out holds the new output
    """

    def __init__(self, keep_graph: bool = False) -> None:
        cuda_backend()  # CUDA graphs need CUDA: raises saying why when it is not usable
        self._keep_graph = keep_graph
        self._pool: tuple[int, int] = (0, next(_pool_ids))
        self._tracer = None  # the tracer while capturing
        self._replay: Callable | None = None
        self._outputs: list = []  # weakrefs to the held tensors the replay writes, in order
        self._program = None  # the recorded Program
        self._debug = False

    # ---- capture ----
    def capture_begin(self, pool: tuple | None = None, capture_error_mode: str = "global",
                      check_input_liveness: bool = False) -> None:
        """Start recording the CUDA work that follows (prefer :class:`graph`).

        Args:
            pool: a token from :func:`graph_pool_handle` or another graph's :meth:`pool`.
            capture_error_mode: ``"global"``, ``"thread_local"`` or ``"relaxed"`` (accepted;
                only the capturing thread is ever recorded).
            check_input_liveness: accepted for torch compatibility (inputs are read from
                their tensors at each replay, so a freed input cannot be read).
        """
        del check_input_liveness
        if capture_error_mode not in _CAPTURE_MODES:
            raise RuntimeError(f"Unknown capture error mode. Expected `global`, `thread_local`, "
                               f"or `relaxed`, got `{capture_error_mode}`")
        if self._replay is not None or self._tracer is not None:
            raise RuntimeError("This CUDAGraph instance already owns a captured graph. To "
                               "capture a new graph, create a new instance.")

        if active() is not None:
            raise RuntimeError("gpuarr.cuda.graph: another capture (or a gpuarr.compile trace)"
                               " is underway; only one capture may run at a time")
        if pool is not None:
            self._pool = tuple(pool)
        tr = _CaptureTracer([], cupy_targets())
        tr.__enter__()
        self._tracer = tr

    def capture_end(self) -> None:
        """Stop recording and build the replay (see the module docstring)."""

        tr = self._tracer
        if tr is None:
            raise RuntimeError("Called CUDAGraph::capture_end without a preceding "
                               "capture_begin.")
        self._tracer = None
        try:
            prog = Program(tr, None)  # may raise: a gradient set from outside the block
            held = [(weakref.ref(t), v.s, t._device) for t in tr.created
                    if type(v := _data_or_none(t)) is TArray and v.tr is tr]
        finally:
            tr.__exit__(None, None, None)
        tr.created.clear()  # the block's tensors the user still holds are its outputs
        del tr
        gc.collect()
        outputs = [(r, s, dev) for r, s, dev in held if r() is not None]
        if not uses_cuda(prog.meta):
            raise RuntimeError(
                "gpuarr.cuda.graph: the captured block ran no CUDA work (its tensors are on the "
                "CPU); CUDA graphs capture work on CUDA tensors only")
        # torch's graph replays the kernels it captured whatever Python state says since:
        # no retrace guards on gradients, and gradients live in the tensors backward made
        prog.grad_guards = []
        prog.grad_out = []
        prog.result = ("tuple", [("new", s, dev) for _, s, dev in outputs])
        self._outputs = [r for r, _, _ in outputs]
        self._program = prog
        self._replay = _build(prog)

    def _abort(self) -> None:
        """Stop a capture that failed (the block raised), leaving no graph."""
        tr, self._tracer = self._tracer, None
        if tr is not None:
            tr.__exit__(None, None, None)
            tr.created.clear()

    # ---- replay ----
    def replay(self) -> None:
        """Run the captured work again: the tensors the block made and the parameters and
        state it updated hold the new values afterwards."""
        if self._replay is None:
            raise RuntimeError("Called CUDAGraph::replay without a preceding successful "
                               "capture.")
        for _, (kind, p) in self._program.inputs:
            if kind == "grad" and p.__dict__.get("grad") is None:
                raise RuntimeError("CUDAGraph.replay: a parameter whose gradient the captured "
                                   "block accumulated into has no .grad now (it was set to None"
                                   " after the capture); capture again")

        out = self._replay()
        if out is RETRACE:
            raise RuntimeError("CUDAGraph.replay: a tensor the captured block read was given an "
                               "array of another shape or dtype since the capture; copy new "
                               "data into it with copy_() instead")
        for ref, new in zip(self._outputs, out):
            t = ref()
            if t is not None:
                _set_data(t, _get_data(new))

    def reset(self) -> None:
        """Delete the captured graph; the instance may capture again."""
        self._abort()
        self._replay = None
        self._program = None
        self._outputs = []

    def instantiate(self) -> None:
        """Accepted for torch compatibility: the graphs are instantiated on the first
        :meth:`replay`."""
        if self._replay is None:
            raise RuntimeError("Called CUDAGraph::instantiate without a preceding successful "
                               "capture.")

    def pool(self) -> tuple[int, int]:
        """This graph's memory pool token (may be passed as another capture's ``pool``)."""
        return self._pool

    def enable_debug_mode(self) -> None:
        """Keep what :meth:`debug_dump` writes."""
        self._debug = True

    def debug_dump(self, debug_path: str) -> None:
        """Write the recorded program (one array call a line) to ``debug_path``; warns and
        writes nothing unless :meth:`enable_debug_mode` was called (as torch).

        Args:
            debug_path: the file to write.
        """
        if not self._debug:
            warnings.warn("CUDA Graphs debug not enabled, set with "
                          "gpuarr.cuda.CUDAGraph.enable_debug_mode()", UserWarning,
                          stacklevel=2)
            return
        if self._program is None:
            raise RuntimeError("CUDAGraph.debug_dump: nothing was captured")
        with open(debug_path, "w", encoding="utf-8") as f:
            for ins in self._program.instrs:
                f.write(f"{ins!r}\n")

    def __repr__(self) -> str:
        state = "captured" if self._replay is not None else "empty"
        return f"<gpuarr.cuda.CUDAGraph {state}>"


def _data_or_none(t):
    try:
        return _get_data(t)
    except AttributeError:
        return None


def _build(prog) -> Callable:
    """The replay of a captured program: CUDA graphs (GraphReplay), falling back to the
    launch-by-launch replay with one warning when CuPy refuses a capture."""

    plain, gr = build_replay(prog, graphs=True)  # prog runs on CUDA: gr is a GraphReplay
    graph_replay: list = [gr]

    def replay():
        gr = graph_replay[0]
        if gr is not None:
            try:
                return _on_current_stream(gr)
            except Exception as e:  # noqa: BLE001 - any capture failure: replay without graphs
                if gr.plan is not None:
                    raise  # a failure while replaying, not while capturing: the user's error
                graph_replay[0] = None
                warnings.warn(f"gpuarr.cuda.graph: CUDA graph capture failed "
                              f"({type(e).__name__}: {e}); replaying launch by launch.",
                              UserWarning, stacklevel=3)
        return plain(())

    replay.graph = graph_replay  # for tests: [GraphReplay] or [None] after a fallback
    return replay


def _on_current_stream(gr):
    """Run GraphReplay ``gr`` (which launches on a stream of its own) ordered after the work
    queued on the current stream (``static_x.copy_(data)``) and before what is queued there
    next (reading ``static_loss``), as torch's replay on the current stream is."""
    cur = current_stream()
    if gr.stream is None:  # its stream is made by the first call: wait here once
        cur.synchronize()
    else:
        Stream._of(gr.stream, cur.device_index).wait_stream(cur)
    out = gr(())
    cur.wait_stream(Stream._of(gr.stream, cur.device_index))
    return out


class graph:
    """Context manager that captures the block into ``cuda_graph`` (torch.cuda.graph).

    The block runs eagerly once while it is recorded (see the module docstring); afterwards
    ``cuda_graph.replay()`` runs it again on the current contents of the tensors it read.

    Args:
        cuda_graph: the :class:`CUDAGraph` to capture into.
        pool: a token from :func:`graph_pool_handle` or another graph's ``pool()``.
        stream: a :class:`gpuarr.cuda.Stream` made current inside the block (default: the
            current stream).
        capture_error_mode: ``"global"``, ``"thread_local"`` or ``"relaxed"``.
        enable_annotations: accepted for torch compatibility.
        check_input_liveness: accepted for torch compatibility.

    Example:
        >>> g = gpuarr.cuda.CUDAGraph()
        >>> with gpuarr.cuda.graph(g):
        ...     static_y = model(static_x)
        >>> static_x.copy_(batch); g.replay()
    """

    def __init__(self, cuda_graph: CUDAGraph, pool: tuple | None = None,
                 stream: Stream | None = None, capture_error_mode: str = "global",
                 enable_annotations: bool = False, check_input_liveness: bool = False) -> None:
        del enable_annotations
        self.cuda_graph = cuda_graph
        self.pool = pool
        self.capture_stream = stream
        self.capture_error_mode = capture_error_mode
        self.check_input_liveness = check_input_liveness
        self._outer: Stream | None = None
        self.stream_ctx = StreamContext(stream)

    def __enter__(self) -> None:
        if self.capture_stream is not None:
            self._outer = current_stream()
        self.stream_ctx.__enter__()
        try:
            self.cuda_graph.capture_begin(self.pool, capture_error_mode=self.capture_error_mode,
                                          check_input_liveness=self.check_input_liveness)
        except BaseException:
            self._leave_stream()
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self.cuda_graph._abort()
            else:
                self.cuda_graph.capture_end()
        finally:
            self._leave_stream()

    def _leave_stream(self) -> None:
        self.stream_ctx.__exit__(None, None, None)
        if self._outer is not None:
            # the block ran (eagerly) on the capture stream: what follows on the outer stream
            # reads its results
            self._outer.wait_stream(self.capture_stream)
            self._outer = None


def _leaves(x) -> list:
    """The leaves of nested tuples, lists and dicts (torch's pytree leaves)."""
    if isinstance(x, (tuple, list)):
        return [t for e in x for t in _leaves(e)]
    if isinstance(x, dict):
        return [t for e in x.values() for t in _leaves(e)]
    return [x]


def _check_callable(fn, leaves: list) -> None:
    """torch's checks of a callable and its sample arguments."""
    if hasattr(fn, "training") and callable(getattr(fn, "modules", None)):
        if fn._forward_hooks or fn._forward_pre_hooks or fn._backward_hooks:
            raise AssertionError("Modules must not have hooks registered at the time they are "
                                 "passed. However, registering hooks on modules after passing "
                                 "them through make_graphed_callables is allowed.")
        if any(b.requires_grad for b in fn.buffers()):
            raise AssertionError("In any :class:`~torch.nn.Module` passed to "
                                 ":func:`~make_graphed_callables`, only parameters may be "
                                 "trainable. All buffers must have ``requires_grad=False``.")
    if not all(isinstance(a, TensorBase) for a in leaves):
        raise AssertionError("In the beta API, sample_args for each callable must contain only "
                             "Tensors. Other types are not allowed.")


def make_graphed_callables(callables: Any, sample_args: tuple, num_warmup_iters: int = 3,
                           allow_unused_input: bool = False, pool: tuple | None = None) -> Any:
    """Graphed versions of callables (functions or Modules): torch's
    ``make_graphed_callables``.

    Each callable becomes ``gpuarr.compile(fn, mode="reduce-overhead")`` (for a Module, its
    ``forward`` while it is training with grad enabled, as torch): after ``num_warmup_iters``
    eager calls on ``sample_args`` (forward and backward, as torch's warm-up), its calls are
    recorded and then replayed with their backward recorded too, so autograd through the
    result works as through the eager callable. Such forward/backward replays run launch by
    launch (gpuarr.compile captures CUDA graphs for whole steps only, see docs/compile.md).

    Args:
        callables: a callable or Module, or a tuple of them.
        sample_args: the sample arguments (a tuple of tensors; a tuple of such tuples when
            ``callables`` is a tuple).
        num_warmup_iters: eager calls before the recording.
        allow_unused_input: whether an input that requires grad may get no gradient.
        pool: accepted for torch compatibility (see :func:`graph_pool_handle`).

    Returns:
        The graphed callable (a Module keeps its identity, with its forward replaced), or a
        tuple of them.

    Example:
        >>> model = gpuarr.cuda.make_graphed_callables(model, (x,))
        >>> model(x).sum().backward()
    """

    del pool
    just_one = not isinstance(callables, tuple)
    if just_one:
        callables, sample_args = (callables,), (sample_args,)
    if len(callables) != len(sample_args):
        raise AssertionError("callables and sample_args must have the same length")
    cuda_backend()
    out = []
    for fn, args in zip(callables, sample_args):
        args = tuple(args)
        leaves = _leaves(args)
        _check_callable(fn, leaves)
        is_module = hasattr(fn, "training") and callable(getattr(fn, "modules", None))
        params = tuple(p for p in fn.parameters() if p.requires_grad) if is_module else ()
        inputs = tuple(a for a in leaves if a.requires_grad) + params
        for _ in range(num_warmup_iters):  # torch warms up forward and backward
            outs = [o for o in _leaves(fn(*args)) if isinstance(o, TensorBase) and o.requires_grad]
            if outs and inputs:
                # raises autograd's "appears to not have been used" unless allowed
                _grad(outs, inputs, grad_outputs=[o.new_ones(o.shape) for o in outs],
                      allow_unused=allow_unused_input)
        if is_module:
            forward = fn.forward
            compiled = _compile(forward, mode="reduce-overhead")

            def new_forward(*a, _m=fn, _c=compiled, _f=forward, **k):
                return _c(*a, **k) if _m.training and is_grad_enabled() else _f(*a, **k)

            fn.forward = new_forward
            out.append(fn)
        else:
            out.append(_compile(fn, mode="reduce-overhead"))
    return out[0] if just_one else tuple(out)
