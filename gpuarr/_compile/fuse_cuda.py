"""The CUDA half of ``gpuarr.compile``'s fusion: one CuPy ``ElementwiseKernel`` for a chain of
elementwise ops.

The capture compiler records a training step as backend-array calls; a run of elementwise ufunc
calls becomes a tuple of :class:`FusedOp` (each op's operands are kernel inputs, earlier ops'
results or Python constants) and :func:`make_fused_kernel` turns it into one kernel that
computes what the unfused NumPy/CuPy ufunc chain computes, in the same dtypes:

- every op runs in the loop dtypes NumPy's type resolution picks for it
  (``ufunc.resolve_dtypes``, with Python constants as NEP 50 weak scalars), checked against the
  dtype the compiler recorded (:attr:`FusedOp.dtype`); operands are converted to the loop dtype
  by explicit declarations, and each result is stored in a variable of its op's dtype, so a
  float32 chain stays float32 and every intermediate is rounded as the unfused chain rounds it;
- float arithmetic goes through the round-to-nearest intrinsics (``__fadd_rn``, ``__dmul_rn``,
  ...), which NVCC never contracts into FMAs: a fused ``a * b + c`` rounds twice, as two CuPy
  kernels do; math functions are the ones CuPy's own ufuncs call (``exp``, ``powf``, ``erf``...);
- float16 ops compute in float and round the result to float16 (what CuPy's ``float16`` and
  NumPy's half loops do); signed integer ``+ - *``, negation and ``abs`` run in the unsigned
  type of at least 32 bits, so overflow wraps as in NumPy instead of being undefined behaviour
  the optimizer could exploit across fused ops;
- constants are converted on the host to their op's loop dtype (as NumPy converts a weak scalar)
  and written as exact literals;
- NaN rules are NumPy's and CuPy's: ``maximum``/``minimum`` propagate NaN, ``fmax``/``fmin``
  return the other operand; ``sign`` maps NaN to NaN and -0.0 to 0.0.

The module needs NumPy only; CuPy is reached through ``gpuarr.backends`` when a kernel is first
called, so kernels can be generated (and compiled with NVRTC by the test suite) without a GPU.
``clip`` is not fusable: CuPy's clip lets a NaN bound through where NumPy's returns NaN.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass

import numpy as np

from ..backends import cuda_backend  # imports CuPy only when first called
from ..backends.cupy_kernels import ElementwiseSpec

__all__ = ["FusedOp", "FusedKernel", "SUPPORTED", "supported", "make_fused_kernel",
           "clear_cache"]

# ---- types --------------------------------------------------------------------------------------

# CuPy's C names of the dtypes a fused kernel handles (cupy._core._scalar.get_typename)
_CTYPE = {np.dtype(k): v for k, v in (
    ("bool", "bool"), ("int8", "signed char"), ("uint8", "unsigned char"),
    ("int16", "short"), ("uint16", "unsigned short"), ("int32", "int"),
    ("uint32", "unsigned int"), ("int64", "long long"), ("uint64", "unsigned long long"),
    ("float16", "float16"), ("float32", "float"), ("float64", "double"))}
_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_BOOL = np.dtype(np.bool_)

# round-to-nearest arithmetic intrinsics, by compute type: never contracted into an FMA
_INTRINSIC = {
    ("add", "float"): "__fadd_rn", ("add", "double"): "__dadd_rn",
    ("subtract", "float"): "__fsub_rn", ("subtract", "double"): "__dsub_rn",
    ("multiply", "float"): "__fmul_rn", ("multiply", "double"): "__dmul_rn",
    ("divide", "float"): "__fdiv_rn", ("divide", "double"): "__ddiv_rn",
}


def _ctype(dt: np.dtype) -> str:
    return _CTYPE[dt]


def _compute_ctype(dt: np.dtype) -> str:
    """The C type an op of loop dtype ``dt`` computes in: float for float16."""
    return "float" if dt == _F16 else _CTYPE[dt]


def _wide_unsigned(dt: np.dtype) -> str:
    """The unsigned type integer ``+ - *`` of loop dtype ``dt`` wrap in."""
    return "unsigned long long" if dt.itemsize == 8 else "unsigned int"


# ---- the supported ufuncs -----------------------------------------------------------------------

# float math functions: NumPy ufunc name -> the CUDA function CuPy's ufunc calls
_FLOAT_FN1 = {
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "cbrt": "cbrt", "tanh": "tanh",
    "sin": "sin", "cos": "cos", "tan": "tan", "sinh": "sinh", "cosh": "cosh",
    "arctan": "atan", "arcsin": "asin", "arccos": "acos", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh",
}
# rounding: float loops call the function, integer and bool loops are the identity
_ROUND_FN1 = {"floor": "floor", "ceil": "ceil", "trunc": "trunc", "rint": "rint"}
_FLOAT_FN2 = {"arctan2": "atan2", "hypot": "hypot"}
_FLOAT_TEST = {"isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite"}
_CMP = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<=", "equal": "==",
        "not_equal": "!="}
_LOGICAL = {"logical_and": "&&", "logical_or": "||", "logical_xor": "!="}
_NIN = {
    **dict.fromkeys(_FLOAT_FN1, 1), **dict.fromkeys(_ROUND_FN1, 1),
    **dict.fromkeys(_FLOAT_FN2, 2), **dict.fromkeys(_FLOAT_TEST, 1), **dict.fromkeys(_CMP, 2),
    **dict.fromkeys(_LOGICAL, 2),
    "add": 2, "subtract": 2, "multiply": 2, "divide": 2, "true_divide": 2, "power": 2,
    "negative": 1, "positive": 1, "absolute": 1, "fabs": 1, "square": 1, "reciprocal": 1,
    "sign": 1, "maximum": 2, "minimum": 2, "fmax": 2, "fmin": 2, "logical_not": 1,
    "where": 3, "erf": 1,
}
#: every ufunc name a fused kernel can contain ('where' is ``np.where``, 'erf' is
#: ``scipy.special.erf`` / ``cupyx.scipy.special.erf``)
SUPPORTED = frozenset(_NIN)


def supported(ufunc: str) -> bool:
    """Whether ops of ``ufunc`` (a NumPy ufunc's ``__name__``, 'where' or 'erf') can be fused.
    Some dtypes of a supported ufunc still are not (integer ``power`` and ``reciprocal``,
    comparisons of mixed signed/unsigned integers, complex): :func:`make_fused_kernel` raises
    ValueError for those."""
    return ufunc in _NIN


# ---- the op description -------------------------------------------------------------------------


@dataclass(frozen=True)
class FusedOp:
    """One elementwise op of a fused chain.

    Attributes:
        ufunc: the NumPy ufunc's ``__name__`` ('add', 'tanh', 'greater', ...), 'where' or 'erf'.
        args: operands, each ``('in', k)`` (the k-th kernel input), ``('v', j)`` (the result of
            op j, an earlier op) or ``('c', value)`` (a Python bool/int/float constant, typed as
            NumPy 2 types a Python scalar operand: weakly).
        dtype: the dtype of the op's result, as NumPy gives it for these operands.
    """

    ufunc: str
    args: tuple
    dtype: np.dtype

    def __post_init__(self):
        object.__setattr__(self, "args", tuple(tuple(a) for a in self.args))
        object.__setattr__(self, "dtype", np.dtype(self.dtype))


class FusedKernel:
    """A fused elementwise kernel; call it with the input arrays.

    ``kernel(*inputs, out=None)``: ``inputs`` are CuPy arrays (0-d allowed) of the dtypes the
    kernel was made for, broadcast together as a ufunc broadcasts; returns the tuple of output
    arrays (the results of ``ops[j]`` for ``j`` in ``outputs``), written into ``out`` (a tuple
    of arrays of the broadcast shape and the outputs' dtypes) when given. Outputs may be the
    input arrays themselves (an in-place update): every input is read before any output is
    written.

    ``spec`` is the kernel as an :class:`~gpuarr.backends.cupy_kernels.ElementwiseSpec` (name,
    parameters, C body), which the test suite compiles with NVRTC.
    """

    __slots__ = ("ops", "in_dtypes", "outputs", "out_dtypes", "spec", "_kernel")

    def __init__(self, ops, in_dtypes, outputs, spec):
        self.ops, self.in_dtypes, self.outputs = ops, in_dtypes, outputs
        self.out_dtypes = tuple(ops[j].dtype for j in outputs)
        self.spec = spec
        self._kernel = None

    @property
    def name(self) -> str:
        return self.spec.name

    def _build(self):
        s = self.spec
        self._kernel = cuda_backend().xp.ElementwiseKernel(
            s.in_params, s.out_params, s.operation, s.name, preamble=s.preamble)
        return self._kernel

    def __call__(self, *inputs, out=None):
        self._check(inputs, self.in_dtypes, "input {}", "takes {} inputs, got")
        kernel = self._kernel or self._build()
        if out is None:
            res = kernel(*inputs)
        else:
            out = tuple(out)
            self._check(out, self.out_dtypes, "out[{}]", "has {} outputs, out= gives")
            res = kernel(*inputs, *out)
        return res if isinstance(res, tuple) else (res,)

    def _check(self, arrays: tuple, dtypes: tuple, name: str, count: str) -> None:
        """Refuse a wrong count or dtype (the kernel would cast silently). ``name`` and
        ``count`` are message templates: the array's index, the expected count."""
        if len(arrays) != len(dtypes):
            raise TypeError(f"{self.spec.name} {count.format(len(dtypes))} {len(arrays)}")
        for k, (a, dt) in enumerate(zip(arrays, dtypes)):
            if a.dtype != dt:
                raise TypeError(f"{self.spec.name}: {name.format(k)} has dtype {a.dtype}, "
                                f"the kernel was made for {dt}")

    def __repr__(self) -> str:
        return (f"FusedKernel({self.spec.name}, {len(self.ops)} ops, "
                f"in={[d.name for d in self.in_dtypes]}, "
                f"out={[d.name for d in self.out_dtypes]})")


# ---- the cache ----------------------------------------------------------------------------------

_cache: dict = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every fused kernel made so far."""
    with _lock:
        _cache.clear()


def _const_key(v):
    # 1, 1.0 and True are equal in Python but type ops differently; 0.0 and -0.0 are equal
    # and give different results; nan != nan would never hit
    if type(v) is float:
        return ("float", v.hex())
    return (type(v).__name__, repr(v))


def _key(ops, in_dtypes, outputs):
    return (tuple((op.ufunc, tuple((a[0], _const_key(a[1])) if a[0] == "c" else a
                                   for a in op.args), op.dtype.str) for op in ops),
            tuple(d.str for d in in_dtypes), tuple(outputs))


def make_fused_kernel(ops, in_dtypes, outputs) -> FusedKernel:
    """The fused kernel computing ``ops`` (a tuple of :class:`FusedOp`, in execution order) on
    inputs of ``in_dtypes``, returning the results of the ops indexed by ``outputs``.

    Kernels are cached by ``(ops, in_dtypes, outputs)`` (constants compared by type and
    value): the same chain gives the same :class:`FusedKernel` object.

    Raises:
        ValueError: a ufunc, dtype or operand combination the kernel cannot compute as NumPy
            does (the caller should run that chain unfused), a malformed operand, or a recorded
            dtype that is not the one NumPy gives.
    """
    ops = tuple(op if isinstance(op, FusedOp) else FusedOp(*op) for op in ops)
    in_dtypes = tuple(np.dtype(d) for d in in_dtypes)
    outputs = tuple(int(j) for j in outputs)
    key = _key(ops, in_dtypes, outputs)
    k = _cache.get(key)
    if k is not None:
        return k
    name = "gpuarr_fused_" + hashlib.sha256(repr(key).encode()).hexdigest()[:16]
    spec = _generate(ops, in_dtypes, outputs, name)
    with _lock:
        return _cache.setdefault(key, FusedKernel(ops, in_dtypes, outputs, spec))


# ---- code generation ----------------------------------------------------------------------------


def _float_literal(v: float, ct: str) -> str:
    """An exact C literal of ``v`` (already a value of the compute type ``ct``)."""
    inf, nan = ("CUDART_INF_F", "CUDART_NAN_F") if ct == "float" else ("CUDART_INF", "CUDART_NAN")
    if math.isnan(v):
        return nan
    if math.isinf(v):
        return inf if v > 0 else "-" + inf
    # repr of the double is exact for the double, and so close to the float value that a
    # float literal rounds to it too
    return repr(float(v)) + ("f" if ct == "float" else "")


def _literal(value, dt: np.dtype, ct: str) -> str:
    """The C literal of Python constant ``value`` converted to loop dtype ``dt`` (as NumPy
    converts a weak scalar operand), for compute type ``ct``."""
    if dt.kind == "b":
        return "1" if value else "0"
    if dt.kind in "iu":
        if type(value) is float:
            raise ValueError(f"a float constant {value!r} in an integer op")
        iv = int(value)
        info = np.iinfo(dt)
        if not info.min <= iv <= info.max:
            raise ValueError(f"the constant {iv} does not fit {dt} (NumPy raises or "
                             "special-cases it)")
        if dt == np.int64 and iv == info.min:
            return f"({iv + 1}LL - 1)"
        return f"{iv}{ {'int64': 'LL', 'uint64': 'ULL', 'uint32': 'U'}.get(dt.name, '')}"
    with np.errstate(over="ignore"):
        fv = dt.type(value)
    return _float_literal(float(fv), ct)


def _scalar_type(value):
    """What ``resolve_dtypes`` takes for a Python constant: a weak int/float, or bool's dtype."""
    t = type(value)
    if t is bool:
        return _BOOL
    if t in (int, float):
        return t
    raise ValueError(f"fused constants must be Python bool, int or float, got {t.__name__} "
                     f"{value!r}")


class _Gen:
    """Emits the C body, one declaration per op (and per operand conversion)."""

    def __init__(self, ops, in_dtypes):
        self.ops, self.in_dtypes = ops, in_dtypes
        self.lines: list[str] = []
        self._conv: dict = {}

    def source(self, arg, j):
        """(C name, storage dtype) of operand ``arg`` of op ``j``; None name for constants."""
        kind, x = arg
        if kind == "in":
            if type(x) is not int or not 0 <= x < len(self.in_dtypes):
                raise ValueError(f"op {j}: no input {x!r}")
            return f"in{x}", self.in_dtypes[x]
        if kind == "v":
            if type(x) is not int or not 0 <= x < j:
                raise ValueError(f"op {j}: ('v', {x!r}) is not an earlier op")
            return f"v{x}", self.ops[x].dtype
        if kind == "c":
            return None, _scalar_type(x)
        raise ValueError(f"op {j}: operand {arg!r} is not ('in', k), ('v', j) or ('c', value)")

    def operand(self, arg, j, loop_dt: np.dtype, ct: str) -> str:
        """A C name holding operand ``arg`` converted to loop dtype ``loop_dt``, in C type ``ct``
        (the compute type of the op, or a wider one for wrapping integer arithmetic)."""
        name, dt = self.source(arg, j)
        if name is None:
            lit = _literal(arg[1], loop_dt, ct)
            key = ("c", ct, lit)
            if key not in self._conv:
                self._conv[key] = f"c{len(self._conv)}"
                self.lines.append(f"const {ct} {self._conv[key]} = {lit};")
            return self._conv[key]
        if _ctype(dt) == ct:
            return name
        # storage -> loop dtype -> compute type is exact whenever storage -> compute is: loops
        # are chosen by safe casting, and float16 loops compute in float
        key = (name, ct)
        if key not in self._conv:
            self._conv[key] = f"a{len(self._conv)}"
            self.lines.append(f"{ct} {self._conv[key]} = {name};")
        return self._conv[key]

    def declare(self, j, expr):
        self.lines.append(f"{_ctype(self.ops[j].dtype)} v{j} = {expr};")


def _erf_dtype(kind, recorded: np.dtype, j: int) -> np.dtype:
    """The loop dtype of erf: SciPy's erf has float32 and float64 loops, CuPy's also maps
    float16 (and so bool, int8, uint8) to float64; either is accepted as recorded."""
    src = np.result_type(kind)
    allowed = set()
    if src.kind in "biuf":
        allowed.add(_F32 if np.can_cast(src, _F32, "safe") else _F64)
        if np.can_cast(src, _F16, "safe"):
            allowed.add(_F64)
    if recorded not in allowed:
        raise ValueError(f"op {j}: erf of {src} gives {' or '.join(sorted(map(str, allowed)))}"
                         f" (SciPy / CuPy), not {recorded}")
    return recorded


def _resolve(op, j, gen):
    """The loop dtypes (inputs..., output) of op ``j``; checks the recorded dtype."""
    kinds = [gen.source(a, j)[1] for a in op.args]
    u = op.ufunc
    if u == "where":
        # result_type types Python scalar values (not their types) weakly
        loop_out = np.result_type(*(a[1] if a[0] == "c" else k
                                    for a, k in zip(op.args[1:], kinds[1:])))
        loop = (_BOOL, loop_out, loop_out, loop_out)
    elif u == "erf":
        loop = (_erf_dtype(kinds[0], op.dtype, j),) * 2
    else:
        uf = getattr(np, "divide" if u == "true_divide" else u)
        try:
            loop = uf.resolve_dtypes(tuple(kinds) + (None,))
        except Exception as e:  # no loop (boolean subtract, ...): NumPy raises as well
            raise ValueError(f"op {j}: NumPy has no {u} loop for {kinds}: {e}") from None
    if loop[-1] != op.dtype:
        raise ValueError(f"op {j}: {u} of {kinds} gives {loop[-1]} in NumPy, but the op says "
                         f"{op.dtype}")
    for dt in loop:
        if dt not in _CTYPE:
            raise ValueError(f"op {j}: {u} in {dt} cannot be fused")
    return loop


def _emit(op, j, gen):
    u = op.ufunc
    if u not in _NIN:
        raise ValueError(f"op {j}: {u!r} cannot be fused")
    if len(op.args) != _NIN[u]:
        raise ValueError(f"op {j}: {u} takes {_NIN[u]} operands, got {len(op.args)}")
    loop = _resolve(op, j, gen)
    ins, out = loop[:-1], loop[-1]
    dt = ins[0] if ins else out
    kind = dt.kind
    ct = _compute_ctype(dt)
    if u == "true_divide":
        u = "divide"

    def opnds(c=ct, dts=None):
        return [gen.operand(a, j, d, c) for a, d in zip(op.args, dts or ins)]

    if u in _CMP:
        if len(set(ins)) != 1:
            raise ValueError(f"op {j}: {u} of mixed {ins[0]}/{ins[1]} cannot be fused")
        a, b = opnds()
        return gen.declare(j, f"{a} {_CMP[u]} {b}")
    if u in _LOGICAL or u == "logical_not":
        names = opnds("bool", (_BOOL,) * len(op.args))
        return gen.declare(j, f"!{names[0]}" if u == "logical_not"
                           else f"{names[0]} {_LOGICAL[u]} {names[1]}")
    if u == "where":
        c = gen.operand(op.args[0], j, _BOOL, "bool")
        rct = _compute_ctype(out)
        a, b = (gen.operand(x, j, out, rct) for x in op.args[1:])
        return gen.declare(j, f"{c} ? {a} : {b}")
    if u == "positive" or (u in _ROUND_FN1 and kind != "f"):
        return gen.declare(j, opnds()[0])
    if u in ("add", "subtract", "multiply", "divide", "negative", "square"):
        if kind == "f":
            if u == "negative":
                return gen.declare(j, "-" + opnds()[0])
            names = opnds()
            a, b = (names[0], names[0]) if u == "square" else names
            fn = _INTRINSIC["multiply" if u == "square" else u, ct]
            return gen.declare(j, f"{fn}({a}, {b})")
        if kind == "b":
            if u == "add":
                return gen.declare(j, " || ".join(opnds()))
            if u == "multiply":
                return gen.declare(j, " && ".join(opnds()))
            raise ValueError(f"op {j}: boolean {u} cannot be fused")
        if u == "divide":
            raise ValueError(f"op {j}: integer divide cannot be fused")
        names = opnds(_wide_unsigned(dt))  # wraps modulo 2**bits, as NumPy
        if u == "negative":
            return gen.declare(j, "-" + names[0])
        if u == "square":
            return gen.declare(j, f"{names[0]} * {names[0]}")
        return gen.declare(j, f" {dict(add='+', subtract='-', multiply='*')[u]} ".join(names))
    if u in ("absolute", "fabs"):
        (a,) = opnds()
        if kind == "f":
            return gen.declare(j, f"{'fabs' if ct == 'double' else 'fabsf'}({a})")
        if u == "fabs":
            raise ValueError(f"op {j}: fabs of {dt} cannot be fused")
        if kind == "i":
            w = gen.operand(op.args[0], j, dt, _wide_unsigned(dt))
            return gen.declare(j, f"{a} < 0 ? -{w} : {w}")
        return gen.declare(j, a)
    if u == "sign":
        (a,) = opnds()
        if kind == "f":
            one, zero = _float_literal(1.0, ct), _float_literal(0.0, ct)
            return gen.declare(j, f"{a} > 0 ? {one} : {a} < 0 ? -{one} : {a} == 0 ? {zero} : {a}")
        if kind == "i":
            return gen.declare(j, f"{a} > 0 ? 1 : {a} < 0 ? -1 : 0")
        return gen.declare(j, f"{a} > 0 ? 1 : 0")
    if u in ("maximum", "minimum", "fmax", "fmin"):
        a, b = opnds()
        fn = "fmax" if u in ("maximum", "fmax") else "fmin"
        if kind == "f":
            if u in ("maximum", "minimum"):  # NaN wins, as in NumPy (CuPy returns NAN)
                add = _INTRINSIC["add", ct]
                return gen.declare(j, f"isnan({a}) || isnan({b}) ? {add}({a}, {b}) : "
                                      f"{fn}({a}, {b})")
            return gen.declare(j, f"{fn}({a}, {b})")
        return gen.declare(j, f"{a} {'>' if fn == 'fmax' else '<'} {b} ? {a} : {b}")
    if u in _FLOAT_TEST and kind != "f":  # integers are never NaN or infinite
        (a,) = opnds()
        return gen.declare(j, f"{a} {'==' if u == 'isfinite' else '!='} {a}")
    if kind != "f":
        raise ValueError(f"op {j}: {u} of {dt} cannot be fused (NumPy's integer {u} has "
                         "rules a kernel does not reproduce)")
    if u == "reciprocal":
        (a,) = opnds()
        return gen.declare(j, f"{_INTRINSIC['divide', ct]}({_float_literal(1.0, ct)}, {a})")
    if u == "power":
        a, b = opnds()
        return gen.declare(j, f"{'pow' if ct == 'double' else 'powf'}({a}, {b})")
    fn = (_FLOAT_FN1.get(u) or _ROUND_FN1.get(u) or _FLOAT_FN2.get(u) or _FLOAT_TEST.get(u)
          or "erf")
    return gen.declare(j, f"{fn}({', '.join(opnds())})")


def _generate(ops, in_dtypes, outputs, name) -> ElementwiseSpec:
    if not ops:
        raise ValueError("no ops to fuse")
    if not in_dtypes:
        raise ValueError("a fused kernel needs at least one input array (its shape)")
    for d in in_dtypes:
        if d not in _CTYPE:
            raise ValueError(f"inputs of dtype {d} cannot be fused")
    if not outputs:
        raise ValueError("a fused kernel needs at least one output")
    for j in outputs:
        if not 0 <= j < len(ops):
            raise ValueError(f"output {j} is not an op")
    gen = _Gen(ops, in_dtypes)
    for j, op in enumerate(ops):
        if op.dtype not in _CTYPE:
            raise ValueError(f"op {j}: results of dtype {op.dtype} cannot be fused")
        _emit(op, j, gen)
    # outputs last: an output may be an input array (in-place), read above through a reference
    gen.lines += [f"out{m} = v{j};" for m, j in enumerate(outputs)]
    in_params = ", ".join(f"{d.name} in{k}" for k, d in enumerate(in_dtypes))
    out_params = ", ".join(f"{ops[j].dtype.name} out{m}" for m, j in enumerate(outputs))
    # CuPy 14 includes float16's header only for float16 parameters; an intermediate needs it too
    # (the only C float16 values are float16 inputs and results: operands convert to float)
    uses_f16 = _F16 in in_dtypes or any(op.dtype == _F16 for op in ops)
    preamble = '#include "cupy/float16.cuh"' if uses_f16 else ""
    return ElementwiseSpec(
        name, in_params, out_params, "\n".join(gen.lines), preamble=preamble,
        dtypes=(ops[outputs[0]].dtype.name,),
        array_inputs=frozenset(f"in{k}" for k in range(len(in_dtypes))))
