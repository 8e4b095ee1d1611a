"""``Function``: the one mechanism every differentiable op goes through, and the graph node.

An op is a :class:`Function` subclass with static ``forward(ctx, ...)`` and
``backward(ctx, *grads)``. ``Function.apply`` checks devices, runs ``forward``, and, when grad
mode is on and an input requires grad, records a :class:`Node` (which is also the ``ctx``) whose
``backward`` the engine calls later. ``backward`` is written with gpuarr Tensor ops, so running
it with grad mode on (``create_graph=True``) records the backward pass for higher-order grads.

gpuarr's own ops set ``_raw = True``: their ``forward`` receives backend arrays (NumPy/CuPy)
instead of Tensors and returns arrays, which saves wrapping on the hot path. Whatever a raw
forward passes to ``ctx.save_for_backward`` (input arrays, output arrays, other arrays) is turned
into Tensors after forward, so ``backward`` always sees Tensors connected to the graph.
User-defined Functions (``_raw = False``) get Tensors, exactly like PyTorch.
"""

from __future__ import annotations

import os
import traceback
import weakref

import numpy as np

from ..backends.oom import raise_if_oom
from .grad_mode import _state
from .hooks import RemovableHandle
from .tensor import TensorBase, _common_device, _make, _wrap_out

__all__ = ["Function", "Node", "FunctionCtx", "once_differentiable", "apply_raw",
           "no_graph_ctx", "set_anomaly_mode"]


class FunctionCtx:
    """The ctx of a forward that records nothing: saving is a no-op.

    :func:`no_graph_ctx` makes one for every op run without a graph; a forward may set
    attributes on it (for a backward that will not run), which go away with it.
    """

    def __init__(self, xp, device, n: int) -> None:
        self.xp = xp
        self.device = device
        self.needs_input_grad = (False,) * n

    def save_for_backward(self, *objs) -> None:
        pass

    def mark_non_differentiable(self, *outs) -> None:
        pass

    def mark_dirty(self, *objs) -> None:
        pass

    def set_materialize_grads(self, value: bool) -> None:
        pass


_NO_GRADS = tuple((False,) * n for n in range(9))


def no_graph_ctx(device, n: int) -> FunctionCtx:
    """A fresh ctx for running an op's forward on ``device`` without a graph (``n``: the
    number of forward arguments, the length of ``needs_input_grad``). Asking for the device's
    array module also makes a CUDA device the current one."""
    ctx = _new(FunctionCtx)  # __init__ inlined: this runs for every op run without a graph
    ctx.xp = device._xp()
    ctx.device = device
    ctx.needs_input_grad = _NO_GRADS[n] if n < 9 else (False,) * n
    return ctx


_SHARED_CTX: dict = {}  # id(device) -> [ctx for 0, 1, 2 arguments] of the _one_output ops


def shared_ctx(device, n: int) -> FunctionCtx:
    """The no-graph ctx of the ``_one_output`` ops, one per device and argument count, reused:
    their forwards keep nothing on the ctx but what ``save_for_backward`` (a no-op here) is
    given. (Keyed by ``id``: devices are interned, and their ``__hash__`` is Python code.)"""
    ctxs = _SHARED_CTX.get(id(device))
    if ctxs is None:
        ctxs = _SHARED_CTX[id(device)] = [no_graph_ctx(device, k) for k in range(3)]
    device._xp()  # makes a CUDA device the current one, as a fresh ctx would
    return ctxs[n]


def apply_raw(cls, x, *args):
    """``cls.apply(x, *args)`` for a raw Function whose only graph input is tensor ``x`` (its
    other arguments are not graph inputs: dims, index arrays...).

    When no graph is needed (grad mode off, or ``x`` does not require grad), the op runs here
    on the arrays, with none of ``apply``'s device checks: the Function's ``_compute`` (see
    :class:`Function`), given ``args`` as they are, when it declares one; else ``forward``
    with a ctx that saves nothing, Tensor ``args`` passed as their arrays. The result is what
    ``apply`` gives: a Tensor, or a tuple of them; views of ``x`` (``_is_view``) share its
    memory and version counter. The no-graph path of the ops whose one graph input is their
    first argument, and of the internal ops of the backward passes.
    """
    if x._rg and _state.enabled:
        return cls.apply(x, *args)
    dev = x._device
    compute = cls._compute
    try:  # free until something raises; CUDA out-of-memory errors become torch's
        if compute is not None:
            out = compute(dev._xp(), x._data, *args)
        else:
            fargs = [a._data if isinstance(a, TensorBase) else a for a in args]
            out = cls.forward(no_graph_ctx(dev, 1 + len(args)), x._data, *fargs)
    except (MemoryError, RuntimeError) as e:
        _oom(e, (x,))
        raise
    single = out.__class__ is not tuple and out.__class__ is not list
    if not cls._is_view:
        if single:
            return _make(out, dev)  # the common case: one fresh array
        return tuple([None if o is None else _make(o, dev) for o in out])
    # views of x share its memory, base and version counter (_make and _link_view inlined:
    # split, unbind and chunk make one per piece; through _wrap_out they cost 40% more)
    version = x._version
    if version is None:
        version = x._version = [0]
    base = x if x._base is None else x._base
    views = []
    for o in (out,) if single else out:
        t = _new(_Tensor)
        t._data = o
        t._device = dev
        t._rg = False
        t._gfn = None
        t._version = version
        t._base = base
        views.append(t)
    return views[0] if single else tuple(views)


class AccumulateGrad:
    """Stands for a leaf tensor in ``grad_fn.next_functions`` (as in torch).

    gpuarr's graph edges point at leaves directly, so these objects are made on demand when a
    walk asks for them; one leaf gets the same object for as long as someone holds it.
    """

    __slots__ = ("variable", "__weakref__")
    next_functions = ()  # a leaf: the graph ends here

    def __init__(self, variable) -> None:
        self.variable = variable

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def register_prehook(self, fn) -> RemovableHandle:
        """Call ``fn((grad,))`` before the leaf's gradient is accumulated into ``.grad`` (after
        the leaf's tensor hooks); a returned ``(new_grad,)`` is accumulated instead.

        Args:
            fn: ``fn(grad_outputs: tuple) -> tuple | None``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> acc = (w * 1).grad_fn.next_functions[0][0]
            >>> h = acc.register_prehook(lambda go: (go[0].clamp(-1, 1),))
        """
        hooks = _leaf_node_hooks(self.variable)[0]
        hooks.append(fn)
        return RemovableHandle(hooks, fn)

    def register_hook(self, fn) -> RemovableHandle:
        """Call ``fn((), (grad,))`` after the leaf's gradient has been accumulated (an
        AccumulateGrad node has no inputs: ``fn`` may return None or ``()`` only).

        Args:
            fn: ``fn(grad_inputs: tuple, grad_outputs: tuple) -> None``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> acc = (w * 1).grad_fn.next_functions[0][0]
            >>> h = acc.register_hook(lambda gi, go: print(go[0].norm()))
        """
        hooks = _leaf_node_hooks(self.variable)[1]
        hooks.append(fn)
        return RemovableHandle(hooks, fn)


# whether any leaf ever got AccumulateGrad hooks: the engine looks for them only then
_acc_hooks_used = [False]


def _leaf_node_hooks(leaf) -> tuple:
    """``leaf``'s AccumulateGrad hooks, ``([pre-hooks], [hooks])``, made on first use.

    They live on the leaf (its ``_acc_hooks``), not on the AccumulateGrad object, which gpuarr
    makes on demand: torch's graph keeps its AccumulateGrad (and hooks) alive while the graph
    lives; here they live as long as the leaf."""
    d = leaf.__dict__
    hooks = d.get("_acc_hooks")
    if hooks is None:
        hooks = d["_acc_hooks"] = ([], [])
        _acc_hooks_used[0] = True
    return hooks


# leaf id -> its AccumulateGrad; an entry lives while its AccumulateGrad does, which holds the
# leaf, so the id cannot be reused by another tensor meanwhile
_accumulators: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _accumulator(leaf) -> AccumulateGrad:
    """The AccumulateGrad that stands for ``leaf`` (the same object across repeated walks)."""
    acc = _accumulators.get(id(leaf))
    if acc is None:
        acc = _accumulators[id(leaf)] = AccumulateGrad(leaf)
    return acc


class Node:
    """A recorded op: the ``ctx`` of its forward and the graph node its backward runs from.

    Every Function class has its own Node subclass, named as torch names the node
    (``MulBackward0``; ``MyFnBackward`` for a user's ``MyFn``), so ``type(t._gfn).__name__``
    and ``t.grad_fn.name()`` read as in torch. Recording builds a plain ``Node``, and a node
    takes its subclass (same layout, ``__class__`` assignment) only when a user first sees it
    through ``Tensor.grad_fn`` or ``next_functions``: the engine's attribute reads then keep
    meeting one type, which keeps CPython's specialised (monomorphic) paths; one class per op
    measured ~8% slower backward on small tensors.

    Attributes:
        next_edges: per forward argument, None (no grad flows there), a leaf Tensor, or a
            ``(Node, output_index)`` pair.
        input_meta: per forward argument, ``(shape, numpy dtype)`` of tensor inputs that require
            grad, used to check and fix the grads backward returns (sum broadcast dims, cast
            dtype); None for other tensors and scalar operands; False for arguments that are
            not graph inputs (non-tensors, integer/bool tensors), which ``next_functions``
            leaves out as torch does.
        needs_input_grad: per forward argument, whether its gradient is wanted.
    """

    # Hot fields are slots; rarely-set ones fall back to the class defaults below and land in
    # the instance __dict__ only when set (saves work for every recorded op).
    __slots__ = (
        "_fn", "xp", "device", "next_edges", "input_meta", "needs_input_grad", "_saved",
        "_saved_versions", "_out_meta", "_to_save", "__dict__", "__weakref__",
    )
    _freed = False
    _anomaly_trace = None  # anomaly mode: the forward's stack (FrameSummary list)
    _non_diff = None
    _pre_hooks = None  # output index -> tensor hooks; an empty dict when only node hooks
    _fn_pre_hooks = None  # register_prehook
    _fn_post_hooks = None  # register_hook
    _retain = None
    _materialize = True
    _cplx = False  # a complex op of a HOLOMORPHIC Function: the engine conjugates around backward

    def __init__(self, fn, xp, device, n_args: int) -> None:
        self._fn = fn
        self.xp = xp
        self.device = device
        self.next_edges: list = [None] * n_args
        self.input_meta: list = [None] * n_args
        self.needs_input_grad: tuple = ()
        self._saved = None
        self._saved_versions = None
        self._out_meta: list = []
        self._to_save = None

    # ---- the ctx API used inside forward/backward ----
    def save_for_backward(self, *objs) -> None:
        """Keep tensors (arrays, in raw ops) for backward; they come back as Tensors."""
        self._to_save = objs

    def mark_non_differentiable(self, *outs) -> None:
        """Declare outputs that have no gradient (e.g. indices)."""
        self._non_diff = outs

    def mark_dirty(self, *objs) -> None:
        """Accepted for torch compatibility; gpuarr handles in-place edits in the Tensor layer."""

    def set_materialize_grads(self, value: bool) -> None:
        """If False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize = bool(value)

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, checked against in-place edits."""
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward."
            )
        saved = self._saved
        if saved is None:
            return ()
        versions = self._saved_versions
        for i, t in enumerate(saved):
            if versions[i] != _version_of(t):
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t._type_str()} {list(t.shape)}]"
                    f"{_which_output(t)}, is at version {t._version_value()}; expected version "
                    f"{versions[i]} instead. Hint: the operation that modified it ran after "
                    f"{self.name()} saved it; clone() the tensor before modifying it in place."
                )
        return saved

    saved_variables = saved_tensors

    # ---- graph API ----
    def name(self) -> str:
        """torch's name of this node, e.g. ``'MulBackward0'``."""
        return self._fn._node_name

    @property
    def _forward_cls(self):
        """The Function class that recorded this node (torch's custom-Function nodes have it)."""
        return self._fn

    # __repr__ is object's: ``<MulBackward0 object at 0x...>`` as in torch (see _FunctionMeta)

    @property
    def next_functions(self) -> tuple:
        """``(node, output_nr)`` per graph input of the forward, as torch lists them:
        ``(None, 0)`` for a tensor (or scalar operand) that needs no grad, an
        :class:`AccumulateGrad` for a leaf; non-tensor arguments are left out."""
        edges = self.next_edges
        pos = self._grad_input_positions()
        n = len(edges)
        out = []
        for i in pos:
            e = edges[i] if i < n else None
            if e is None:
                out.append((None, 0))
            elif e.__class__ is tuple:
                out.append((_typed(e[0]), e[1]))
            else:
                out.append((_accumulator(e), 0))
        return tuple(out)

    def _register_output_hook(self, index: int, hook) -> RemovableHandle:
        """Add a tensor hook ``hook(grad)`` for output ``index`` of this node
        (``Tensor.register_hook`` on a non-leaf)."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        hooks = self._pre_hooks.setdefault(index, [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def register_prehook(self, fn) -> RemovableHandle:
        """Call ``fn(grad_outputs)`` before this node's backward runs.

        ``grad_outputs`` is a tuple with one entry per output of the forward (None where no
        gradient arrived). ``fn`` may return a tuple of the same length to use instead; it
        cannot put a tensor where None was. Hooks run in the order they were registered,
        each seeing what the previous one returned, after the tensor hooks of the outputs.

        Args:
            fn: ``fn(grad_outputs: tuple) -> tuple | None``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> y = x.exp()
            >>> h = y.grad_fn.register_prehook(lambda go: (go[0] * 2,))
        """
        if self._fn_pre_hooks is None:
            self._fn_pre_hooks = []
        self._hooked()
        self._fn_pre_hooks.append(fn)
        return RemovableHandle(self._fn_pre_hooks, fn)

    def register_hook(self, fn) -> RemovableHandle:
        """Call ``fn(grad_inputs, grad_outputs)`` after this node's backward has run.

        ``grad_inputs`` has one entry per ``next_functions`` entry (the gradients w.r.t. the
        forward's inputs, None where none flows), ``grad_outputs`` one per output as the
        node received them. ``fn`` may return a tuple to use instead of ``grad_inputs``
        (same length; None cannot become a tensor). Hooks run in registration order.

        Args:
            fn: ``fn(grad_inputs: tuple, grad_outputs: tuple) -> tuple | None``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> y = x * w
            >>> h = y.grad_fn.register_hook(lambda gi, go: tuple(
            ...     None if g is None else g.clamp(-1, 1) for g in gi))
        """
        if self._fn_post_hooks is None:
            self._fn_post_hooks = []
        self._hooked()
        self._fn_post_hooks.append(fn)
        return RemovableHandle(self._fn_post_hooks, fn)

    def _hooked(self) -> None:
        # the engine takes its slow path (with hooks) only for nodes whose _pre_hooks is set,
        # so that nodes without hooks cost nothing more
        if self._pre_hooks is None:
            self._pre_hooks = {}

    def _grad_input_positions(self) -> list:
        """The forward-argument positions that ``next_functions`` (and the ``grad_inputs``
        of :meth:`register_hook`) list, in order."""
        pos = self._fn._next_args
        if pos is None:
            meta = self.input_meta
            pos = [i for i in range(len(self.next_edges)) if meta[i] is not False]
        return pos

    def _typed(self) -> Node:
        """This node with its op's own class, given when a user first sees it (read by
        ``TensorBase.grad_fn``, ``next_functions``)."""
        if self.__class__ is Node:
            self.__class__ = self._fn._node_cls
        return self

    def release(self) -> None:
        """Drop saved tensors after backward (unless the graph is retained)."""
        saved = self._saved
        # like torch, only a node that really saved tensors refuses a second backward
        if saved is not None and any(t is not None for t in saved):
            self._saved = None
            self._freed = True


# Anomaly mode (gpuarr.autograd.detect_anomaly). Recording must cost nothing while it is off,
# so no flag is read per op: the two node factories the recording paths call (``_make_node``
# in _apply, ``_new_node`` in record_one_output) are module globals, looked up per call either
# way, and set_anomaly_mode swaps in versions that also keep the forward's stack.
_anomaly = [False, True]  # [enabled, check_nan]; the engine reads it once per backward()


def _forward_trace() -> list:
    """The caller's stack at the op, without gpuarr's own frames at its end (the op's
    implementation), as traceback.FrameSummary objects."""
    # source lines are read only if the trace is printed (lookup_lines=False)
    stack = traceback.StackSummary.extract(traceback.walk_stack(None), lookup_lines=False)
    stack.reverse()
    end = len(stack)
    while end > 1 and stack[end - 1].filename.startswith(_PKG_DIR):
        end -= 1
    return stack[:end]


def _new_node_traced(cls):
    node = _new(cls)
    node._anomaly_trace = _forward_trace()
    return node


def _make_node_traced(fn, xp, device, n_args: int):
    node = Node(fn, xp, device, n_args)
    node._anomaly_trace = _forward_trace()
    return node


def set_anomaly_mode(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly mode on or off (see ``gpuarr.autograd.anomaly_mode``)."""
    global _new_node, _make_node
    _anomaly[0] = bool(enabled)
    _anomaly[1] = bool(check_nan)
    _new_node = _new_node_traced if enabled else _new
    _make_node = _make_node_traced if enabled else Node


def _typed(node):
    """``node`` with its op's own class (see :class:`Node`), given when a user first sees it."""
    return node._typed()


def _which_output(t) -> str:
    fn = t._gfn
    if fn is None:
        return ""
    return f", which is output {t._output_nr} of {fn.name()}"


class _FunctionMeta(type):
    """Gives every Function class its graph-node class, made once here so that recording an op
    costs nothing extra.

    The node's name is torch's: ``<Name>Backward0`` for gpuarr's own ops and ``<Name>Backward``
    for user Functions (as torch names custom-Function nodes), unless the class body declares
    ``_node_name`` (where torch's name differs from the class name, e.g. ``'AddmmBackward0'``).
    A class body may also declare ``_next_args``: the forward-argument positions that
    ``next_functions`` lists, in order, where torch's node lists its inputs differently (e.g.
    addmm's bias first); by default every argument whose ``input_meta`` is not False.
    """

    def __init__(cls, name, bases, ns) -> None:
        super().__init__(name, bases, ns)
        raw = ns.get("_raw", getattr(cls, "_raw", False))
        node_name = ns.get("_node_name") or name + ("Backward0" if raw else "Backward")
        cls._node_name = node_name
        if "_complex_grad" not in ns and not cls.__module__.startswith("gpuarr."):
            cls._complex_grad = True  # a user's Function: its backward's business, as in torch
        cls._node_cls = type(node_name, (Node,), {
            "__slots__": (),
            # torch's built-in nodes print as <MulBackward0 object at 0x...>, which object's
            # repr gives for a 'builtins' class; user Functions' nodes carry a module, as in torch
            "__module__": "builtins" if raw else "gpuarr.autograd.function",  # the public path
            "__qualname__": node_name,
        })


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable ops, gpuarr's own and users'.

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` and
    call ``MyFn.apply(*args)``. ``backward`` returns one gradient (or None) per forward argument.

    Example:
        >>> class Square(gpuarr.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x * x
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (x,) = ctx.saved_tensors
        ...         return 2 * x * g
        >>> y = Square.apply(gpuarr.tensor(3.0, requires_grad=True))
    """

    _raw = False  # gpuarr's own ops: forward works on backend arrays
    _next_args: tuple | None = None  # see Node._next_args
    _is_view = False  # output shares memory (and version counter) with input 0
    _nondiff_outputs = False  # all outputs are non-differentiable (e.g. argmax)
    # a raw op whose forward takes one or two operands and returns one fresh array, all of
    # whose arguments are graph inputs: apply's short paths run it (the elementwise ops)
    _one_output = False
    # a raw op may declare ``_compute(xp, *args)``: what its forward returns for the same
    # arguments (arrays for tensors), computed without a ctx. The no-graph paths call it
    # instead of forward: apply's, and apply_raw's, which passes the arguments after the
    # first as given, so only ops whose other arguments are not Tensors declare it
    _compute = None
    # whether backward follows torch's convention for complex tensors (the conjugate Wirtinger
    # derivative: for a C-linear map y = A x, grad_x = A^H grad_y; a real input gets the real
    # part). Recording an op without it on a complex tensor that needs a gradient raises
    # (complex_grad_error), rather than giving a silently wrong gradient. HOLOMORPHIC: the
    # backward is written for real tensors as products of the incoming gradient with
    # derivatives (g * f'(x), g @ b.mT, ...); for complex ones the engine runs it on conj(g)
    # and conjugates what it returns, which gives g * conj(f'(x)) (see conj_backward)
    _complex_grad: bool | str = False

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("You must implement the forward function for custom Function")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("You must implement the backward function for custom Function")

    @classmethod
    def apply(cls, *args):
        """Run the op on ``args`` and record it in the graph when gradients are needed.

        This is the one way every op runs. Ops that declare ``_one_output`` (a raw forward
        from one tensor, two tensors of one device, or a tensor and a number, to one fresh
        array) take the short paths inlined here: the hot path of small-tensor code. Everything
        else goes through the general path. Both record the same graph.
        """
        try:  # free until something raises; CUDA out-of-memory errors become torch's
            a = args[0] if args else None
            if cls._one_output and isinstance(a, TensorBase):
                n = len(args)
                if n == 1:
                    if a._rg and _state.enabled:
                        return record_one_output(cls, a, _NOARG)
                    dev = a._device
                    return _make(cls.forward(shared_ctx(dev, 1), a._data), dev)
                if n == 2:
                    b = args[1]
                    if isinstance(b, TensorBase):
                        if b._device is a._device:
                            if (a._rg or b._rg) and _state.enabled:
                                return record_one_output(cls, a, b)
                            dev = a._device
                            return _make(cls.forward(shared_ctx(dev, 2), a._data, b._data), dev)
                    elif b.__class__ is not list and b.__class__ is not tuple:  # a number
                        if a._rg and _state.enabled:
                            return record_one_output(cls, a, b)
                        dev = a._device
                        return _make(cls.forward(shared_ctx(dev, 2), a._data, b), dev)
            return _apply(cls, args)
        except (MemoryError, RuntimeError) as e:
            _oom(e, args)
            raise


def once_differentiable(fn):
    """Decorator for ``backward``: run it without recording a graph (no double backward)."""

    def wrapper(ctx, *grads):
        prev = _state.enabled
        _state.enabled = False
        try:
            return fn(ctx, *grads)
        finally:
            _state.enabled = prev

    wrapper.__name__ = getattr(fn, "__name__", "backward")
    wrapper.__doc__ = fn.__doc__
    return wrapper


_Tensor: type = None  # gpuarr.Tensor, set by gpuarr._core.register_tensor_class
_NOARG = object()  # record_one_output's 'no second operand'
_new_node = _new = object.__new__
_make_node = Node  # _apply's node factory; set_anomaly_mode swaps it
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _oom(exc: BaseException, args) -> None:
    """Raise torch's OutOfMemoryError in place of ``exc`` when an op on ``args`` with a CUDA
    tensor among them failed for want of device memory; return otherwise (the caller
    re-raises ``exc``). Runs only when an op raised."""
    for a in args:
        if isinstance(a, TensorBase) and a._device.type == "cuda":
            raise_if_oom(exc, a._device._backend())
            return


def _forward(cls, ctx, fargs):
    """Run ``cls.forward``; a user Function's forward runs with grad mode off, as in torch
    (gpuarr's raw ops work on arrays, where grad mode plays no part)."""
    if cls._raw:
        return cls.forward(ctx, *fargs)
    prev = _state.enabled
    _state.enabled = False
    try:
        return cls.forward(ctx, *fargs)
    finally:
        _state.enabled = prev


def _apply(cls, args: tuple):
    """``Function.apply``'s general path."""
    Tensor = TensorBase
    device = None
    needs = False
    for a in args:
        if isinstance(a, Tensor):
            if device is None:
                device = a._device
            elif a._device is not device:
                args, device = _to_common_device(args, Tensor)
                return _apply(cls, args)
            if a._rg:
                needs = True
    if device is None:
        raise TypeError(f"{cls.__name__}.apply() expects at least one Tensor argument")
    raw = cls._raw
    if not (needs and _state.enabled):
        if raw:
            fargs = [a._data if isinstance(a, Tensor) else a for a in args]
            compute = cls._compute
            if compute is not None:
                out = compute(device._xp(), *fargs)
            else:
                out = cls.forward(no_graph_ctx(device, len(args)), *fargs)
            if out.__class__ is not tuple and out.__class__ is not list and not cls._is_view \
                    and not isinstance(out, Tensor):
                return _make(out, device)  # the common case: one fresh array
            return _wrap_out(out, device, raw, args, cls._is_view)
        ctx = no_graph_ctx(device, len(args))
        return _wrap_out(_forward(cls, ctx, args), device, raw, args, cls._is_view)

    n = len(args)
    node = _make_node(cls, device._xp(), device, n)
    nig = [False] * n
    edges = node.next_edges
    meta = node.input_meta
    fargs = list(args)
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            d = a._data
            if raw:
                fargs[i] = d
            if a._rg:
                nig[i] = True
                meta[i] = (d.shape, d.dtype)
                if d.dtype.kind == "c":
                    _complex_node(cls, node, "inputs")
                fn = a._gfn
                edges[i] = (fn, a._output_nr) if fn is not None else a
            elif d.dtype.kind not in "fcV":  # ("V": bfloat16)
                meta[i] = False  # an index, mask or label: not a graph input in torch
        else:
            meta[i] = False  # a dim, flag or size: next_functions leaves it out
    node.needs_input_grad = tuple(nig)
    out = _forward(cls, node, fargs)
    if raw and out.__class__ is not tuple and out.__class__ is not list and not cls._is_view \
            and not isinstance(out, Tensor):
        # the common case: one fresh array out of a gpuarr op
        result = _make(out, device)
        outs = (result,)
    else:
        result = _wrap_out(out, device, raw, args, cls._is_view)
        outs = result if result.__class__ is tuple else (result,)
    non_diff = node._non_diff
    nd_ids = {id(o) for o in non_diff} if non_diff else ()
    out_meta = node._out_meta
    nondiff_all = cls._nondiff_outputs
    for i, o in enumerate(outs):
        if o is None:
            out_meta.append(None)
            continue
        d = o._data
        out_meta.append((d.shape, d.dtype))
        kind = d.dtype.kind
        if kind in "fVc" and not nondiff_all and not (
            nd_ids and (id(o) in nd_ids or id(d) in nd_ids)
        ):
            if kind == "c":
                _complex_node(cls, node, "outputs")
            o._rg = True
            o._gfn = node
            o._output_nr = i
    to_save = node._to_save
    if to_save is not None:
        node._to_save = None
        raw_outs = out if out.__class__ in (tuple, list) else (out,)
        saved = []
        for x in to_save:
            for ro, o in zip(raw_outs, outs):
                if x is ro and o is not None:  # a (possibly scalar) raw output array
                    x = o
                    break
            saved.append(_resolve_saved(x, args, outs, device, Tensor))
        saved = tuple(saved)
        node._saved = saved
        node._saved_versions = tuple([_version_of(t) for t in saved])
    return result


def _to_common_device(args: tuple, Tensor) -> tuple:
    """``args`` with 0-dim CPU tensors moved to the other tensors' device (torch treats them
    as scalars); raises torch's error for any other mix of devices."""
    dev = _common_device([a for a in args if isinstance(a, Tensor)])
    moved = tuple(a.to(dev) if isinstance(a, Tensor) and a._device is not dev else a
                  for a in args)
    return moved, dev


def record_one_output(cls, a, b):
    """:meth:`Function.apply`'s recording path for ``_one_output`` ops: one tensor ``a`` and
    ``b``, a tensor on the same device, a number or ``_NOARG``; the forward returns one array.
    The graph recorded is the one the general path (:func:`_apply`) records. The elementwise
    ops' hot paths (``_unary``, the operators) call it directly after apply's checks."""
    Tensor = TensorBase
    device = a._device
    # Node.__init__ inlined (the same fields): this runs for every recorded op
    node = _new_node(Node)
    node._fn = cls
    node.xp = device._xp()  # also makes a CUDA device the one that runs the op
    node.device = device
    node.next_edges = edges = [None, None] if b is not _NOARG else [None]
    node.input_meta = meta = [None, None] if b is not _NOARG else [None]
    node._saved = node._to_save = None  # _saved_versions is only read once _saved is set
    da = a._data
    ra = a._rg
    if ra:
        meta[0] = (da.shape, da.dtype)
        if da.dtype.kind == "c":
            _complex_node(cls, node, "inputs")
        fn = a._gfn
        edges[0] = (fn, a._output_nr) if fn is not None else a
    elif da.dtype.kind not in "fcV":  # as _apply_general marks them: not graph inputs
        meta[0] = False
    db = None
    try:  # free until something raises; CUDA out-of-memory errors become torch's
        if b is _NOARG:
            node.needs_input_grad = (ra,)
            out = cls.forward(node, da)
        else:
            if isinstance(b, Tensor):
                db = b._data
                rb = b._rg
                if rb:
                    meta[1] = (db.shape, db.dtype)
                    if db.dtype.kind == "c":
                        _complex_node(cls, node, "inputs")
                    fn = b._gfn
                    edges[1] = (fn, b._output_nr) if fn is not None else b
                elif db.dtype.kind not in "fcV":
                    meta[1] = False
            else:
                db = b
                rb = False
                meta[1] = False
            node.needs_input_grad = (ra, rb)
            out = cls.forward(node, da, db)
    except (MemoryError, RuntimeError) as e:
        _oom(e, (a,))
        raise
    d = out if not isinstance(out, np.generic) else np.asarray(out)  # NumPy's 0-d results
    result = _new(_Tensor)  # _make inlined
    result._data = d
    result._device = device
    node._out_meta = [(d.shape, d.dtype)]
    if d.dtype.kind in "fV":  # "V": bfloat16
        result._rg = True
        result._gfn = node
    elif d.dtype.kind == "c":
        _complex_node(cls, node, "outputs")
        result._rg = True
        result._gfn = node
    else:
        result._rg = False
        result._gfn = None
    to_save = node._to_save
    if to_save is not None:
        node._to_save = None
        saved = []
        vers = []
        for x in to_save:
            if x is None:
                saved.append(None)
                vers.append(0)
                continue
            if x is da:
                t = a
            elif x is d or x is out:  # out may be a NumPy scalar that _make wrapped
                t = result
            elif x is db and isinstance(b, Tensor):
                t = b
            else:
                args = (a,) if b is _NOARG else (a, b)
                t = _resolve_saved(x, args, (result,), device, Tensor)
            saved.append(t)
            v = t._version if t.__class__ is _Tensor else getattr(t, "_version", None)
            vers.append(0 if v is None else v[0])
        node._saved = tuple(saved)
        node._saved_versions = tuple(vers)
    return result


HOLOMORPHIC = "holomorphic"  # a Function._complex_grad value (see there)


def _complex_node(cls, node, which: str) -> None:
    """Check that op ``cls`` may record a complex node (else raise complex_grad_error), and
    mark the node for :func:`conj_backward` when its backward is HOLOMORPHIC."""
    flag = cls._complex_grad
    if not flag:
        raise complex_grad_error(cls, which)
    if flag is HOLOMORPHIC:
        node._cplx = True


def conj_backward(node, grads: tuple):
    """Run a HOLOMORPHIC backward on complex gradients: ``conj(backward(conj(g)))``. For a
    formula linear in ``g`` with holomorphic factors, ``conj(conj(g) * f')`` is ``g * conj(f')``,
    torch's gradient; for real-linear maps (sums, reshapes) it changes nothing."""
    res = node._fn.backward(node, *[None if g is None else g.conj() for g in grads])
    if isinstance(res, tuple):
        return tuple(None if r is None else r.conj() for r in res)
    return None if res is None else res.conj()


def complex_grad_error(cls, which: str) -> RuntimeError:
    """The error for recording op ``cls``, which has no complex autograd, on complex
    ``which`` ('inputs' or 'outputs') when gradients are needed (torch's message for outputs)."""
    name = cls._node_name
    if which == "outputs":
        return RuntimeError(f"{name} does not support automatic differentiation for outputs "
                            "with complex dtype.")
    return RuntimeError(f"{name}: gpuarr has no derivative of this op for complex inputs; "
                        "detach() the complex tensor, or compute with real tensors "
                        "(view_as_real) before this op")


def _version_of(t) -> int:
    v = getattr(t, "_version", None)  # scalars have none: they cannot be edited in place
    return 0 if v is None else v[0]


def _resolve_saved(s, args, outs, device, Tensor):
    if s is None or isinstance(s, (Tensor, np.generic, int, float)):
        return s  # tensors, and scalars that stay scalars (never device arrays)
    for a in args:
        if getattr(a, "_data", None) is s:
            return a
    for o in outs:
        if o is not None and o._data is s:
            return o
    return _make(s, device)
