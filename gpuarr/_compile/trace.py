"""Recording one eager call as a program of backend-array calls.

While a :class:`Tracer` is active, every backend array a tensor hands out is a :class:`TArray`:
a stand-in that holds the real (NumPy/CuPy) array, computes every operation on it eagerly, and
appends the call to the tracer's program. So the traced call gives eager results, and the
program it leaves holds every array operation that ran: forward, backward, optimizer updates,
in-place edits, random draws.

How arrays become TArrays: the tensor's ``_data`` slot is read through a property for the
duration of the trace. The first read of a tensor that existed before the trace makes its array
a program *input* (read again from that tensor at replay); arrays made during the trace are
program values. Array creation functions that take no array (``zeros``, ``arange``...) and the
conversion functions are wrapped on the NumPy/CuPy module; everything else reaches the TArray
through its operators and methods, NumPy's ``__array_ufunc__``/``__array_function__``
protocols, and (for CuPy, whose functions reject foreign objects) wrappers put on the CuPy
namespace.

Anything that turns a value into Python data (``.item()``, ``bool()``, ``float()``,
``.tolist()``, a host copy, printing) is a *break*: the tracer notes the first one and the user
line that caused it, and returns the real value, so the call still finishes eagerly and
correctly; the compiled function then runs eagerly from then on.
"""

from __future__ import annotations

import math
import operator
import os
import sys
import threading

import numpy as np
import numpy.ma  # noqa: F401 - imported before any trace patches NumPy (it wraps np.*)

from .._core import capture as _capture
from .._core.tensor import TensorBase, _make
from .._random import Generator
from ..autograd._backward import grad as autograd_grad
from ..backends import cpu_native, numpy_backend
from ..backends.cupy_backend import CupyBackend

__all__ = ["TArray", "Tracer", "Slot", "Instr", "active", "slots_of", "is_cupy_meta"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SKIP_DIRS = (_PKG_DIR, os.path.dirname(np.__file__))

# the slot descriptor of TensorBase._data, swapped for a property while tracing
_DATA = TensorBase.__dict__["_data"]
_get_data = _DATA.__get__
_set_data = _DATA.__set__

class _PerThread(threading.local):
    """``[0]``: the Tracer recording on this thread (None elsewhere), so that NumPy calls and
    tensor reads of other threads (a DataLoader's, a SummaryWriter's) are never recorded."""

    def __init__(self) -> None:
        self.value = None

    def __getitem__(self, _: int):
        return self.value

    def __setitem__(self, _: int, value) -> None:
        self.value = value


_lock = threading.Lock()  # one trace at a time, process-wide (the patches are process-wide)
_current = _PerThread()


def active() -> Tracer | None:
    """The tracer recording now, or None."""
    return _current[0]


class Slot:
    """A program value: the ``index``-th array the program holds."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __eq__(self, other: object) -> bool:
        return type(other) is Slot and other.index == self.index

    def __hash__(self) -> int:
        return hash(("slot", self.index))

    def __repr__(self) -> str:
        return f"s{self.index}"


class Instr:
    """One recorded call: ``outs = fn(*args, **kwargs)``, where ``args``/``kwargs`` are
    templates holding :class:`Slot` for program values and constants for the rest, and
    ``outs`` is the result's template (a Slot, a tuple/list of templates, or a constant)."""

    __slots__ = ("fn", "args", "kwargs", "outs", "site")

    def __init__(self, fn, args: tuple, kwargs: dict, outs, site: str = "") -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.outs = outs
        self.site = site

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", None) or repr(self.fn)
        return f"{self.outs!r} = {name}(*{self.args!r}, **{self.kwargs!r})"


def user_site() -> str:
    """``file:line`` of the innermost frame outside gpuarr and NumPy (the user's line)."""
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_SKIP_DIRS) and "cupy" not in fn:
            return f"{os.path.basename(fn)}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def _is_backend_array(x) -> bool:
    t = type(x)
    return t is np.ndarray or isinstance(x, np.generic) or t.__name__ == "ndarray" and (
        t.__module__.startswith("cupy"))


class ConstArray:
    """A program step that makes a fresh copy of an array met as a constant (an array made
    outside the traced modules' reach): fresh per replay, so in-place edits cannot leak from
    one replay into the next. Equal when the arrays are (so two traces compare)."""

    __slots__ = ("value", "__name__")

    def __init__(self, value) -> None:
        self.value = value
        self.__name__ = "const_copy"

    def __call__(self):
        return self.value.copy()

    def __eq__(self, other: object) -> bool:
        if type(other) is not ConstArray:
            return False
        a, b = self.value, other.value
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        eq = a == b
        return bool(eq.all()) if hasattr(eq, "all") else bool(eq)

    __hash__ = object.__hash__


class TArray:
    """A traced array: the real array ``v`` and its program slot ``s``. Operations compute on
    ``v`` and record themselves; metadata (shape, dtype, strides, flags) is static and read
    directly. ``__class__`` reports the real array's class, so ``isinstance(a, np.ndarray)``
    checks in the ops keep their meaning."""

    __slots__ = ("v", "s", "tr", "__weakref__")
    __array_priority__ = 1e9

    def __init__(self, v, s: int, tr: Tracer) -> None:
        self.v = v
        self.s = s
        self.tr = tr  # a TArray another trace left in a cache is a constant to this one

    @property
    def __class__(self):  # noqa: F811 - report the real array's class (see docstring)
        return type(self.v)

    # ---- static metadata ----
    shape = property(lambda self: self.v.shape,
                     lambda self, value: _record(_assign_shape, (self, value), {}))
    dtype = property(lambda self: self.v.dtype)
    ndim = property(lambda self: self.v.ndim)
    size = property(lambda self: self.v.size)
    itemsize = property(lambda self: self.v.itemsize)
    nbytes = property(lambda self: self.v.nbytes)
    strides = property(lambda self: self.v.strides)
    flags = property(lambda self: self.v.flags)
    device = property(lambda self: getattr(self.v, "device", None))

    def __len__(self) -> int:
        return len(self.v)

    def __iter__(self):
        for i in range(len(self.v)):
            yield self[i]

    def __hash__(self) -> int:
        return id(self)

    # ---- breaks: values turned into Python data ----
    def _brk(self, what: str):
        tr = _current[0]
        if tr is not None:
            tr.brk(what)

    def item(self, *a):
        self._brk(".item()")
        return self.v.item(*a)

    def tolist(self):
        self._brk(".tolist()")
        return self.v.tolist()

    def tobytes(self, *a, **k):
        self._brk(".tobytes()")
        return self.v.tobytes(*a, **k)

    def get(self, *a, **k):
        self._brk("a copy to the host")
        return self.v.get(*a, **k)

    def __bool__(self) -> bool:
        self._brk("bool() of a tensor" if type(self.v) not in (bool, int, float) else
                  "a Python branch on a number that changes between calls (an optimizer's "
                  "step count, say)")
        return bool(self.v)

    def __float__(self) -> float:
        self._brk("float() of a tensor")
        return float(self.v)

    def __int__(self) -> int:
        self._brk("int() of a tensor")
        return int(self.v)

    def __complex__(self) -> complex:
        self._brk("complex() of a tensor")
        return complex(self.v)

    def __index__(self) -> int:
        self._brk("a tensor used as an index")
        return operator.index(self.v)

    def __repr__(self) -> str:
        self._brk("printing a tensor")
        return repr(self.v)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        self._brk("formatting a tensor")
        return format(self.v, spec)

    def __array__(self, dtype=None, copy=None):
        tr = _current[0]
        if tr is not None:
            tr.brk("a conversion to a NumPy array")
        v = self.v
        if type(v) is not np.ndarray and not isinstance(v, np.generic):
            return v.__array__(dtype) if dtype is not None else v.__array__()
        a = np.asarray(v)
        return a if dtype is None else a.astype(dtype, copy=False)

    # ---- NumPy protocols ----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if type(self.v) is not np.ndarray and not isinstance(self.v, np.generic):
            # a NumPy ufunc met a CuPy array (``np.float32(1) - a``): CuPy's own ufunc of
            # that name is what eager CuPy runs here
            ufunc = getattr(sys.modules["cupy"], ufunc.__name__)
            if type(ufunc) is _Recorded:
                ufunc = ufunc.orig
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return _record(fn, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _record(func, args, kwargs)

    # ---- methods and other attributes ----
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        v = self.v
        attr = getattr(type(v), name, None)
        if attr is None:
            return getattr(v, name)  # raises the real AttributeError
        if callable(attr) and not isinstance(attr, property):
            def method(*args, **kwargs):
                return _record(attr, (self,) + args, kwargs)
            method.__name__ = name
            return method
        real = getattr(v, name)
        if _is_backend_array(real):  # .T, .mT, .real, .imag, .base
            return _record(operator.attrgetter(name), (self,), {})
        return real

    def __getitem__(self, key):
        return _record(operator.getitem, (self, key), {})

    def __setitem__(self, key, value) -> None:
        _record(operator.setitem, (self, key, value), {})


def _assign_shape(a, shape) -> None:
    """``a.shape = shape`` (a view op's way to refuse copying), as a recordable call."""
    a.shape = shape


def _binop(op):
    def f(self, other):
        return _record(op, (self, other), {}, type(self.v) in (int, float, bool))
    f.__name__ = op.__name__
    return f


def _rbinop(op):
    def f(self, other):
        return _record(op, (other, self), {}, type(self.v) in (int, float, bool))
    f.__name__ = "r" + op.__name__
    return f


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and",
              "or", "xor", "lshift", "rshift"):
    _op = getattr(operator, _name + "_" if _name in ("and", "or") else _name)
    setattr(TArray, f"__{_name}__", _binop(_op))
    setattr(TArray, f"__r{_name}__", _rbinop(_op))
    setattr(TArray, f"__i{_name}__", _binop(getattr(operator, "i" + _name)))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(TArray, f"__{_name}__", _binop(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    _op = getattr(operator, _name)
    setattr(TArray, f"__{_name}__", (lambda op: lambda self: _record(
        op, (self,), {}, type(self.v) in (int, float, bool)))(_op))


# ---- templates: structures of TArrays <-> structures of Slots ----

def _unwrap(x):
    """``x`` with TArrays replaced by their real arrays (through lists, tuples, dicts)."""
    t = type(x)
    if t is TArray:
        return x.v
    if t is tuple or t is list:
        return t(_unwrap(e) for e in x)
    if t is dict:
        return {k: _unwrap(v) for k, v in x.items()}
    if t is slice and (type(x.start) is TArray or type(x.stop) is TArray
                       or type(x.step) is TArray):
        return slice(_unwrap(x.start), _unwrap(x.stop), _unwrap(x.step))
    return x


def _template(tr: Tracer, x):
    """``x`` with TArrays replaced by Slots; real arrays met here become constants."""
    t = type(x)
    if t is TArray:
        return Slot(x.s if x.tr is tr else tr.const(x.v).s)
    if (t is tuple or t is list or t is dict) and not _has_traced(x):
        # a container of constants is passed as itself (a dict an op reads at replay, such
        # as an optimizer's param group, keeps its identity)
        if t is tuple and any(_is_backend_array(e) for e in x):
            return tuple(_template(tr, e) for e in x)
        return x
    if t is tuple or t is list:
        return t(_template(tr, e) for e in x)
    if t is dict:
        return {k: _template(tr, v) for k, v in x.items()}
    if t is slice and (type(x.start) is TArray or type(x.stop) is TArray
                       or type(x.step) is TArray):
        tr.brk("a tensor inside a slice")
        return x
    if _is_backend_array(x) and not isinstance(x, np.generic):
        return Slot(tr.const(x).s)
    return x


def _wrap(tr: Tracer, r, known: dict):
    """Give the result ``r`` of a recorded call its template, making TArrays of its arrays
    (an array that is an argument's, e.g. ``out=`` or an in-place operator's, keeps its
    TArray)."""
    t = type(r)
    if _is_backend_array(r):
        p = known.get(id(r))
        if p is not None:
            return p, Slot(p.s)
        p = tr.new_value(r)
        return p, Slot(p.s)
    if t is tuple or t is list:
        pairs = [_wrap(tr, e, known) for e in r]
        return t(p for p, _ in pairs), t(s for _, s in pairs)
    if isinstance(r, tuple) and hasattr(r, "_fields"):  # namedtuple results (linalg)
        pairs = [_wrap(tr, e, known) for e in r]
        return t(*[p for p, _ in pairs]), tuple(s for _, s in pairs)
    return r, r


def slots_of(tmpl, acc: set) -> set:
    """Add the slot numbers a template (an instruction's args, kwargs or outs) mentions to
    ``acc``; returns ``acc``."""
    t = type(tmpl)
    if t is Slot:
        acc.add(tmpl.index)
    elif t is tuple or t is list:
        for e in tmpl:
            slots_of(e, acc)
    elif t is dict:
        for e in tmpl.values():
            slots_of(e, acc)
    return acc


def is_cupy_meta(m) -> bool:
    """Whether a slot's trace-time ``(type, shape, dtype)`` is a CuPy array's."""
    return m is not None and m[0].__name__ == "ndarray" and m[0].__module__.startswith("cupy")


def _has_traced(x) -> bool:
    t = type(x)
    if t is TArray:
        return True
    if t is tuple or t is list:
        return any(_has_traced(e) for e in x)
    if t is dict:
        return any(_has_traced(e) for e in x.values())
    return False


def _known(x, acc: dict) -> None:
    t = type(x)
    if t is TArray:
        if x.tr is _current[0]:
            acc[id(x.v)] = x
    elif t is tuple or t is list:
        for e in x:
            _known(e, acc)
    elif t is dict:
        for e in x.values():
            _known(e, acc)


def _record(fn, args: tuple, kwargs: dict, number: bool = False):
    """Run ``fn`` on the real arrays of ``args``/``kwargs`` and append the call to the active
    tracer's program; returns the result with TArrays for its arrays (and for a Python number
    result too, with ``number``: see ``gpuarr._core.capture.host_value``)."""
    tr = _current[0]
    rargs = _unwrap(args)
    rkw = _unwrap(kwargs) if kwargs else kwargs
    if tr is None:  # a TArray kept past its trace behaves as its array
        return fn(*rargs, **rkw)
    _current[0] = None  # what the call does inside (NumPy's, CuPy's own calls) is its own
    try:
        r = fn(*rargs, **rkw)
    finally:
        _current[0] = tr
    known: dict = {}
    _known(args, known)
    if kwargs:
        _known(kwargs, known)
    if number and type(r) in (int, float, bool):  # a bool too: branching on it is a read
        out = tr.new_value(r)
        tmpl = Slot(out.s)
    else:
        out, tmpl = _wrap(tr, r, known)
    tr.instrs.append(Instr(fn, _template(tr, args), _template(tr, kwargs) if kwargs else {},
                           tmpl))
    return out


# ---- wrappers put on the array modules while tracing ----

class _Recorded:
    """A module function that records its calls (creation and conversion functions, and
    CuPy's namespace): ``f(*args)`` runs and records ``orig``."""

    def __init__(self, orig, traced_only: bool = False) -> None:
        self.orig = orig
        self.traced_only = traced_only  # record only calls given a traced array
        self.__name__ = getattr(orig, "__name__", "f")
        self.__doc__ = getattr(orig, "__doc__", None)  # read by modules imported mid-trace
        self.__wrapped__ = orig

    def __call__(self, *args, **kwargs):
        # recorded when given a traced array, or when gpuarr itself makes an array; other
        # callers (NumPy's and CuPy's own insides, the CuPy stand-in) get the function as is
        if _current[0] is None or not (_has_traced(args) or _has_traced(kwargs) or (
                not self.traced_only
                and sys._getframe(1).f_globals.get("__name__", "").startswith("gpuarr."))):
            return self.orig(*args, **kwargs)
        return _record(self.orig, args, kwargs)

    def __getattr__(self, name: str):  # ufunc attributes (.at, .reduce, .nin ...)
        a = getattr(self.orig, name)
        if callable(a) and _current[0] is not None:
            return _Recorded(a)
        return a


class _Breaks:
    """A module function that copies to the host (``cupy.asnumpy``): a break."""

    __slots__ = ("orig", "__name__")

    def __init__(self, orig, what: str) -> None:
        self.orig = orig
        self.__name__ = what

    def __call__(self, *args, **kwargs):
        tr = _current[0]
        if tr is not None:
            tr.brk(self.__name__)
        return self.orig(*_unwrap(args), **_unwrap(kwargs))


# NumPy functions that make arrays without taking one (so no protocol reaches a TArray): a
# call from gpuarr is recorded, so that a buffer the op fills later is fresh at each replay
_NP_MAKE = ("empty", "zeros", "ones", "full", "arange", "linspace", "eye", "identity", "tri",
            "indices")
# conversions: recorded when given a traced array (asarray would otherwise call __array__);
# Python data they convert (``gpuarr.tensor([1., 2.])``) is a constant of the program
_NP_CONVERT = ("asarray", "array", "asanyarray", "ascontiguousarray", "frombuffer", "copyto",
               "concatenate", "stack")


class Backward:
    """The backward part of a traced forward (see :meth:`Tracer.record_backward`).

    Attributes:
        start: index of its first instruction (the forward's are before it).
        outs: slots of the forward's outputs that need autograd, in order.
        grad_in: slots of their gradients (the backward's inputs).
        wrt: ``("arg", i)`` or ``("tensor", t)`` per tensor the gradients flow to.
        grad_out: slot (or None: no gradient) of each ``wrt`` tensor's gradient.
        devices: each ``wrt`` tensor's device.
        out_devices: each output's device.
    """

    def __init__(self, start: int, outs: list, grad_in: list, wrt: list, grad_out: list,
                 devices: list, out_devices: list) -> None:
        self.start = start
        self.outs = outs
        self.grad_in = grad_in
        self.wrt = wrt
        self.grad_out = grad_out
        self.devices = devices
        self.out_devices = out_devices

    def same_as(self, other: Backward) -> bool:
        return (self.start == other.start and self.outs == other.outs
                and self.grad_in == other.grad_in and self.grad_out == other.grad_out
                and len(self.wrt) == len(other.wrt)
                and all(a[0] == b[0] and a[1] is b[1] for a, b in zip(self.wrt, other.wrt)))


def _tensors(x) -> list:
    """The tensors of a returned value (through tuples, lists and dicts)."""
    if isinstance(x, TensorBase):
        return [x]
    if type(x) in (tuple, list):
        return [t for e in x for t in _tensors(e)]
    if type(x) is dict:
        return [t for e in x.values() for t in _tensors(e)]
    return []


class Tracer:
    """Records one call. Use as a context manager around the eager call.

    Attributes:
        instrs: the program, in order.
        inputs: ``(slot, source)`` per program input; a source is ``("arg", i)`` (the
            ``i``-th tensor argument), ``("free", (cell,))`` / ``("free", (globals, name))``
            (the tensor a closure variable or global holds), or ``("tensor", t)`` /
            ``("grad", p)`` (a tensor that existed before the call, or the gradient held by
            parameter ``p`` at call time).
        broken: why the call cannot be replayed, with the user's line; None while it can.
    """

    def __init__(self, arg_tensors: list, cupy_modules: tuple = (), free: dict | None = None
                 ) -> None:
        self.free = free or {}  # id(tensor) -> (cell,) or (globals, name) the function reads
        self.input_of: dict = {}  # id(tensor that existed before the call) -> its input slot
        self.instrs: list = []
        self.inputs: list = []
        self.broken: str | None = None
        self.values: list = []  # slot -> the TArray (keeps the real arrays alive)
        self.touched: list = []  # (tensor, its array at the first read) for tensors that existed
        self._touched_ids: set = set()
        self.created: list = []  # tensors made during the trace
        self._created_ids: set = set()
        self.grad_first: dict = {}  # id(p) -> (p, grad kind at call time) for grads read first
        self.grad_written: dict = {}  # id(p) -> p for persistent params whose .grad was set
        self._grad_path: dict = {}  # id(persistent grad tensor) -> the param holding it
        self._arg_tensors = arg_tensors
        self._cupy_modules = cupy_modules
        self._patched: list = []

    # ---- slots ----
    def new_value(self, real) -> TArray:
        p = TArray(real, len(self.values), self)
        self.values.append(p)
        return p

    def const(self, real) -> TArray:
        """A constant array met during the trace: the program makes a fresh copy of it."""
        fn = ConstArray(real.copy())
        p = self.new_value(real)
        self.instrs.append(Instr(fn, (), {}, Slot(p.s)))
        return p

    def brk(self, what: str) -> None:
        if self.broken is None:
            self.broken = f"{what} at {user_site()}"
            if os.environ.get("GPUARR_COMPILE_DEBUG"):  # where inside gpuarr it happened
                import traceback  # lazy: debugging only

                traceback.print_stack(sys._getframe(1))

    @property
    def ran_backward(self) -> bool:
        """Whether a backward pass ran during the trace."""
        return _capture.backward_runs[0] != self._backward_runs

    def _raise_if(self, cond, make_error, arrays: tuple) -> None:
        """A value check (see ``gpuarr._core.capture.raise_if``): made now, and recorded."""
        check = _Check(make_error)
        if type(cond) is TArray or any(type(a) is TArray for a in arrays):
            _record(check, (cond,) + tuple(arrays), {})
        else:
            check(cond, *arrays)

    def record_backward(self, result) -> Backward | None:
        """Record the backward program of ``result``'s tensors that need autograd (a traced
        forward whose caller will call ``backward``): runs ``autograd.grad`` from them, with
        placeholder output gradients that are program inputs, to every tensor that requires
        grad among the arguments and the tensors the forward read. The graph is retained, so
        the caller's own backward after this traced call still works. None when nothing in
        ``result`` needs autograd."""
        outs = [t for t in _tensors(result) if t._gfn is not None and id(t) in
                self._created_ids]
        if not outs:
            return None
        wrt: list = []
        sources: list = []
        for i, t in enumerate(self._arg_tensors):
            if t._rg:
                wrt.append(t)
                sources.append(("arg", i))
        args = {id(t) for t in self._arg_tensors}
        for t, _ in self.touched:
            if t._rg and id(t) not in args:
                wrt.append(t)
                sources.append(("tensor", t))
        grad_in = []
        gts = []
        for o in outs:
            ones = o._data.v.copy()
            ones.fill(1)
            ph = self.new_value(ones)
            grad_in.append(ph.s)
            gts.append(_make(ph, o._device))
        start = len(self.instrs)
        grads = autograd_grad(outs, wrt, grad_outputs=gts, retain_graph=True,
                              allow_unused=True)
        grad_out = []
        for g in grads:
            if g is None:
                grad_out.append(None)
                continue
            d = _get_data(g)
            grad_out.append(d.s if type(d) is TArray and d.tr is self else self.const(
                d.v if type(d) is TArray else d).s)
        return Backward(start, [_get_data(o).s for o in outs], grad_in, sources, grad_out,
                        [t._device for t in wrt], [o._device for o in outs])

    # ---- the _data / grad properties ----
    def _read_data(self, t):
        v = _get_data(t)
        if _current[0] is not self:  # another thread, or inside a recorded call: the array
            return v.v if type(v) is TArray else v
        if type(v) is TArray:
            if v.tr is self:
                return v
            v = v.v  # left by an earlier trace: its array
        p = self.new_value(v)
        holder = self._grad_path.get(id(t))
        where = self.free.get(id(t))
        if holder is not None:
            src = ("grad", holder)
        elif where is not None:  # a closure variable or global: replays read what it holds
            src = ("free", where)
        else:
            src = ("tensor", t)
        self.inputs.append((p.s, src))
        self.input_of[id(t)] = p.s
        self._touch(t, v)
        _set_data(t, p)
        return p

    def _write_data(self, t, value) -> None:
        if _current[0] is not self:
            _set_data(t, value)
            return
        try:
            old = _get_data(t)
        except AttributeError:
            old = None
            if id(t) not in self._created_ids:
                self._created_ids.add(id(t))
                self.created.append(t)
        if old is not None and type(old) is not TArray:
            self._touch(t, old)
        if type(value) is not TArray and _is_backend_array(value):
            value = self.const(value) if not isinstance(value, np.generic) else (
                self.const(np.asarray(value)))
        _set_data(t, value)

    def _touch(self, t, v) -> None:
        if id(t) not in self._touched_ids and id(t) not in self._created_ids:
            self._touched_ids.add(id(t))
            self.touched.append((t, v))

    def _read_grad(self, t):
        g = t.__dict__.get("grad")
        if _current[0] is self and id(t) not in self._created_ids:
            key = id(t)
            if key not in self.grad_first and key not in self.grad_written:
                self.grad_first[key] = (t, None if g is None else "tensor")
            if g is not None and id(g) not in self._created_ids:
                self._grad_path[id(g)] = t
        return g

    def _write_grad(self, t, g) -> None:
        if _current[0] is self and id(t) not in self._created_ids:
            self.grad_written[id(t)] = t
        t.__dict__["grad"] = g

    # ---- entering and leaving ----
    def __enter__(self) -> Tracer:
        _lock.acquire()
        _current[0] = self
        try:
            _capture._recorder[0] = self._raise_if
            self._backward_runs = _capture.backward_runs[0]
            _capture._host_value[0] = lambda fn, args: _record(fn, args, {}, True)
            self._patch()
            for i, t in enumerate(self._arg_tensors):
                v = _get_data(t)
                if type(v) is TArray:  # the same tensor passed twice
                    self.inputs.append((v.s, ("arg", i)))
                    continue
                p = self.new_value(v)
                self.inputs.append((p.s, ("arg", i)))
                self._touch(t, v)
                _set_data(t, p)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._unpatch()
            for t, _ in self.touched:
                v = _get_data(t)
                if type(v) is TArray:
                    _set_data(t, v.v)
            for t in self.created:
                try:
                    v = _get_data(t)
                except AttributeError:
                    continue
                if type(v) is TArray:
                    _set_data(t, v.v)
        finally:
            _capture._recorder[0] = None
            _capture._host_value[0] = None
            _current[0] = None
            _lock.release()

    def _setattr(self, obj, name: str, value) -> None:
        self._patched.append((obj, name, obj.__dict__.get(name, _MISSING)))
        setattr(obj, name, value)

    def _patch(self) -> None:
        tr = self
        self._setattr(TensorBase, "_data", property(tr._read_data, tr._write_data))
        self._setattr(TensorBase, "grad", property(tr._read_grad, tr._write_grad))
        orig_gen = Generator.__dict__["_backend_gen"]
        self._setattr(Generator, "_backend_gen", property(
            lambda g: _GenProxy(g, orig_gen) if _current[0] is tr else orig_gen.__get__(g)))
        for name in _NP_MAKE:
            self._setattr(np, name, _Recorded(getattr(np, name)))
        for name in _NP_CONVERT:
            self._setattr(np, name, _Recorded(getattr(np, name), traced_only=True))
        # not dispatched to __array_function__ (it reads __array_interface__)
        st = np.lib.stride_tricks
        self._setattr(st, "as_strided", _Recorded(st.as_strided))
        # the CPU backend's update y += a * x: one call, which a replay repeats as is
        self._setattr(numpy_backend, "fused_axpy",
                      _Recorded(numpy_backend.fused_axpy, traced_only=True))
        for name in cpu_native.KERNELS:  # the CPU backend's fused C kernels: one call each
            self._setattr(cpu_native, name, _Recorded(getattr(cpu_native, name), traced_only=True))
        if self._cupy_modules:
            for mod, names, breaks in self._cupy_modules:
                for name in names:
                    self._setattr(mod, name, _Recorded(getattr(mod, name)))
                for name in breaks:
                    self._setattr(mod, name, _Breaks(getattr(mod, name), f"cupy.{name}()"))
            orig_kernel = CupyBackend._kernel  # gpuarr's fused kernels, called with arrays
            self._setattr(CupyBackend, "_kernel",
                          lambda bk, name: _Recorded(orig_kernel(bk, name)))

    def _unpatch(self) -> None:
        for obj, name, old in reversed(self._patched):
            if old is _MISSING:
                try:
                    delattr(obj, name)
                except AttributeError:
                    pass
            else:
                setattr(obj, name, old)
        self._patched.clear()


_MISSING = object()


class _Check:
    """A recorded value check: raises ``make_error(*arrays)`` when ``cond`` is true."""

    __slots__ = ("make_error", "__name__")

    def __init__(self, make_error) -> None:
        self.make_error = make_error
        self.__name__ = "check"

    def __call__(self, cond, *arrays) -> None:
        if cond:
            raise self.make_error(*arrays)

    def __eq__(self, other: object) -> bool:
        return type(other) is _Check and other.make_error is self.make_error

    __hash__ = object.__hash__


class _GenCall:
    """A draw from a gpuarr Generator's backend generator, looked up at each call (so a
    ``manual_seed`` between replays, which makes a new backend generator, is honoured)."""

    __slots__ = ("gen", "prop", "name", "__name__")

    def __init__(self, gen, prop, name: str) -> None:
        self.gen = gen
        self.prop = prop
        self.name = name
        self.__name__ = f"generator.{name}"

    def __call__(self, *args, **kwargs):
        return getattr(self.prop.__get__(self.gen), self.name)(*args, **kwargs)

    def __eq__(self, other: object) -> bool:
        return (type(other) is _GenCall and other.gen is self.gen
                and other.name == self.name)

    __hash__ = object.__hash__


class _GenProxy:
    """What ``Generator._backend_gen`` gives while tracing: its draws are recorded."""

    def __init__(self, gen, prop) -> None:
        self._gen = gen
        self._prop = prop

    def __getattr__(self, name: str):
        tr = _current[0]
        _current[0] = None  # making the backend generator (first draw) is not recorded
        try:
            real = getattr(self._prop.__get__(self._gen), name)
        finally:
            _current[0] = tr
        if not callable(real):
            tr = _current[0]
            if tr is not None:
                tr.brk(f"reading the generator's {name}")
            return real
        call = _GenCall(self._gen, self._prop, name)
        return lambda *a, **k: _record(call, a, k)


def same(a, b) -> bool:
    """Whether two program templates/constants are the same (NaN equals NaN; arrays by
    value; functions by identity or their own ``__eq__``)."""
    if a is b:
        return True
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is tuple or ta is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if ta is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if ta is float:
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (a != a and b != b))
    if _is_backend_array(a):
        return a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all())
    try:
        return bool(a == b)
    except Exception:
        return False

