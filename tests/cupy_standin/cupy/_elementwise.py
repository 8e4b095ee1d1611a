"""cupy.ElementwiseKernel for the CuPy stand-in: CuPy's argument checks, and the C body run by a
small C -> NumPy translator.

The translator handles straight-line bodies: declarations (``T d = a * b;``, ``const float
x = 1.0f, y;``), assignments and compound assignments (``=``, ``+=``, ``-=``, ``*=``, ``/=``),
ternaries (``c ? a : b``, nested in the false branch), ``&&``/``||``/``!``, functional casts
(``T(x)``), the usual math calls (``sqrt``, ``exp``, ``fmax``, ``erf``, ...), the
round-to-nearest arithmetic intrinsics (``__fadd_rn``, ``__dmul_rn``, ...) and the infinities and
NaNs of ``cupy/math_constants.h`` (``CUDART_INF_F``, ...). A declaration stores a copy of its
value converted as C converts (integers wrap, ``bool`` tests ``!= 0``). Each statement runs
vectorised over the whole broadcast shape, which equals CUDA's per-element execution for bodies
without loops, branches (``if``) or cross-element reads (``raw`` parameters, ``i``). Anything
else raises NotImplementedError. It proves nothing about compiling the C: see
``tests/cuda_compile.py`` for that.
"""

from __future__ import annotations

import re

import numpy as _np

import cupy as _cp

_CFUNCS = {
    "sqrt": "_np.sqrt", "sqrtf": "_np.sqrt", "rsqrt": "_rsqrt", "rsqrtf": "_rsqrt",
    "exp": "_np.exp", "expf": "_np.exp", "exp2": "_np.exp2", "expm1": "_np.expm1",
    "log": "_np.log", "logf": "_np.log", "log1p": "_np.log1p", "log2": "_np.log2",
    "log10": "_np.log10", "fabs": "_np.abs", "fabsf": "_np.abs", "abs": "_np.abs",
    "max": "_np.maximum", "min": "_np.minimum", "fmax": "_np.fmax", "fmin": "_np.fmin",
    "fmaxf": "_np.fmax", "fminf": "_np.fmin", "tanh": "_np.tanh", "tanhf": "_np.tanh",
    "sin": "_np.sin", "cos": "_np.cos", "tan": "_np.tan", "atan2": "_np.arctan2",
    "isnan": "_np.isnan", "isinf": "_np.isinf", "isfinite": "_np.isfinite",
    "pow": "_np.power", "powf": "_np.power", "floor": "_np.floor", "ceil": "_np.ceil",
    "round": "_np.round", "rint": "_np.rint", "trunc": "_np.trunc", "copysign": "_np.copysign",
    "signbit": "_np.signbit", "fma": "_fma", "hypot": "_np.hypot", "cbrt": "_np.cbrt",
    "sinh": "_np.sinh", "cosh": "_np.cosh", "atan": "_np.arctan", "asin": "_np.arcsin",
    "acos": "_np.arccos", "asinh": "_np.arcsinh", "acosh": "_np.arccosh",
    "atanh": "_np.arctanh", "erf": "_erf",
    # round-to-nearest arithmetic intrinsics (operands converted to float / double)
    "__fadd_rn": "_fadd_rn", "__fsub_rn": "_fsub_rn", "__fmul_rn": "_fmul_rn",
    "__fdiv_rn": "_fdiv_rn", "__dadd_rn": "_dadd_rn", "__dsub_rn": "_dsub_rn",
    "__dmul_rn": "_dmul_rn", "__ddiv_rn": "_ddiv_rn",
}
_C_TYPES = {"float": _np.float32, "double": _np.float64, "int": _np.int32, "bool": _np.bool_,
            "signed char": _np.int8, "unsigned char": _np.uint8, "short": _np.int16,
            "unsigned short": _np.uint16, "unsigned long long": _np.uint64,
            "long long": _np.int64, "long": _np.int64, "unsigned int": _np.uint32,
            "size_t": _np.uint64, "ptrdiff_t": _np.int64, "float16": _np.float16,
            "half": _np.float16, "complex<float>": _np.complex64,
            "complex<double>": _np.complex128}


def _rsqrt(x):
    return 1 / _np.sqrt(x)


def _fma(a, b, c):
    return a * b + c


def _erf(x):
    """C ``erf``: float for float (and float16) arguments, double otherwise."""
    x = _np.asarray(x)
    dt = _np.float32 if x.dtype in (_np.float16, _np.float32) else _np.float64
    try:
        from scipy.special import erf
    except ImportError:
        import math

        erf = _np.vectorize(math.erf, otypes=[_np.float64])
    return _np.asarray(erf(x.astype(dt)), dtype=dt)


def _rn(ufunc, dtype):
    def op(a, b):
        return ufunc(_np.asarray(a, dtype), _np.asarray(b, dtype))
    return op


_INTRINSICS = {f"_{p}{n}_rn": _rn(u, dt) for p, dt in (("f", _np.float32), ("d", _np.float64))
               for n, u in (("add", _np.add), ("sub", _np.subtract), ("mul", _np.multiply),
                            ("div", _np.true_divide))}
# cupy/math_constants.h (one of CuPy's headers)
_CONSTANTS = {"CUDART_INF_F": _np.float32(_np.inf), "CUDART_NAN_F": _np.float32(_np.nan),
              "CUDART_INF": _np.float64(_np.inf), "CUDART_NAN": _np.float64(_np.nan)}


def _decl(value, dtype):
    """The value a C declaration ``T d = value;`` stores: a copy, converted as C converts
    (integers wrap modulo 2**bits, floats to bool test != 0)."""
    return _np.array(value).astype(dtype)


def _split_top(s, ch):
    depth = 0
    for i, c in enumerate(s):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ch and depth == 0:
            return s[:i], s[i + 1:]
    return None


def _split_commas(s):
    parts, depth, start = [], 0, 0
    for i, c in enumerate(s):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return parts


def _expr(e):
    e = e.strip()
    q = _split_top(e, "?")
    if q:
        cond, rest = q
        ab = _split_top(rest, ":")
        if not ab:
            raise NotImplementedError(f"cupy stand-in: cannot parse the ternary in {e!r}")
        return f"_np.where({_expr(cond)}, {_expr(ab[0])}, {_expr(ab[1])})"
    if re.search(r"\(\s*(?:const\s+)?[A-Za-z_]\w*\s*\*?\s*\)\s*[\w(]", e):
        raise NotImplementedError(f"cupy stand-in: C-style casts are not supported: {e!r}")
    if "[" in e:
        raise NotImplementedError(f"cupy stand-in: indexing (raw params) in {e!r}")
    e = re.sub(r"\b(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?[fFuUlL]+\b", r"\1\2", e)
    e = re.sub(r"\b([A-Za-z_]\w*)\s*\(", lambda m: _CFUNCS.get(m.group(1), m.group(1)) + "(",
               e)
    e = e.replace("&&", " & ").replace("||", " | ")
    e = re.sub(r"!(?!=)", " ~", e)
    return e


def _strip_comments(body):
    body = re.sub(r"/\*.*?\*/", " ", body, flags=re.S)
    return re.sub(r"//[^\n]*", " ", body)


def translate(body, outs, typenames):
    """Python source for C ``body``; ``outs``: output parameter names; ``typenames``: the type
    names a declaration may start with (placeholders like ``T`` included)."""
    tn = sorted(set(typenames) | set(_C_TYPES) | {"auto"}, key=len, reverse=True)
    alts = "|".join(map(re.escape, tn))
    decl_re = re.compile(rf"^(?:const\s+)?({alts})\s+(?!=)(.*)$", re.S)
    lines = []
    for st in (s.strip() for s in _strip_comments(body).split(";")):
        if not st:
            continue
        if re.match(r"^(if|for|while|do|switch|return)\b", st) or "{" in st or "}" in st:
            raise NotImplementedError(f"cupy stand-in: statement not supported: {st!r}")
        m = decl_re.match(st)
        if m:
            typ = m.group(1)
            for d in _split_commas(m.group(2)):
                d = d.strip()
                nm = re.match(r"^(\w+)\s*(?:=\s*(.*))?$", d, re.S)
                if not nm:
                    raise NotImplementedError(f"cupy stand-in: declaration not supported: {st!r}")
                name, init = nm.group(1), nm.group(2)
                rhs = "0" if init is None else _expr(init)
                # a declaration copies: a later write to an output the value came from
                # (an in-place kernel) must not change it
                if typ == "auto":
                    lines.append(f"{name} = _np.array({rhs})")
                else:
                    lines.append(f"{name} = _decl({rhs}, _types[{typ!r}])")
            continue
        m = re.match(r"^(\w+)\s*([-+*/%]?=)(?!=)\s*(.*)$", st, re.S)
        if not m:
            raise NotImplementedError(f"cupy stand-in: statement not supported: {st!r}")
        name, op, rhs = m.groups()
        rhs = _expr(rhs)
        target = f"{name}[...]" if name in outs else name
        lines.append(f"{target} {op} {rhs}")
    return "\n".join(lines)


def _parse_params(p):
    out = []
    for x in p.split(","):
        t = x.split()
        if t:
            if len(t) < 2:
                raise ValueError(f"Invalid parameter: {x.strip()!r}")
            out.append((t[-2], t[-1], "raw" in t[:-2]))
    return out


class ElementwiseKernel:
    """cupy.ElementwiseKernel (stand-in)."""

    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True,
                 preamble="", no_return=False, return_tuple=False, **kwargs):
        self.in_params = _parse_params(in_params)
        self.out_params = _parse_params(out_params)
        self.nin, self.nout = len(self.in_params), len(self.out_params)
        self.nargs = self.nin + self.nout
        self.operation, self.name, self.preamble = operation, name, preamble
        self.no_return, self.return_tuple = no_return, return_tuple
        names = [p[1] for p in self.in_params + self.out_params]
        if "i" in names:
            raise ValueError("Can not use 'i' as a parameter name")
        if len(set(names)) != len(names):
            raise ValueError(f"Parameter names are duplicated in {name}")
        self._code = None

    def _compile(self):
        if self._code is None:
            src = translate(self.operation, {p[1] for p in self.out_params},
                            {t for t, _, _ in self.in_params + self.out_params})
            self._code = compile(src or "pass", f"<ElementwiseKernel {self.name}>", "exec")
        return self._code

    def __call__(self, *args, size=-1, stream=None, block_size=128):
        if len(args) not in (self.nin, self.nargs):
            raise TypeError(f"Wrong number of arguments for {self.name!r}. It must be either "
                            f"{self.nin} or {self.nargs} (with outputs), but given "
                            f"{len(args)}.")
        dev = _cp.cuda.get_device_id()
        for a in args:
            if isinstance(a, _cp.ndarray):
                if a._dev != dev:
                    raise _cp._peer_error(a._dev, dev)
            elif isinstance(a, _np.ndarray) or not isinstance(a, (int, float, complex, bool,
                                                                   _np.generic)):
                raise TypeError(f"Unsupported type {type(a)}")
        ins, outs = args[:self.nin], list(args[self.nin:])
        fresh = not outs
        types_ = {}
        for (t, n, _), a in list(zip(self.out_params, outs)) + list(zip(self.in_params, ins)):
            if isinstance(a, _cp.ndarray):
                if _is_dtype(t):
                    if _np.dtype(t) != a.dtype:
                        raise TypeError(f"Type is mismatched. {n} {a.dtype} {t}")
                elif t in types_ and types_[t] != a.dtype:
                    raise TypeError(f"Type is mismatched. {n} {a.dtype} {types_[t]} {t}")
                else:
                    types_.setdefault(t, a.dtype)
        for (t, _n, _), a in zip(self.in_params, ins):
            if not isinstance(a, _cp.ndarray) and not _is_dtype(t) and t not in types_:
                types_[t] = _np.result_type(a)
        arrays = [a for a in args if isinstance(a, _cp.ndarray)]
        shape = _np.broadcast_shapes(*[a.shape for a in arrays]) if arrays else ()
        if size != -1:
            if arrays:
                raise ValueError("The size parameter must be -1 when arrays are passed")
            shape = (size,)
        if not outs:
            for t, _, _ in self.out_params:
                dt = _np.dtype(t) if _is_dtype(t) else types_.get(t)
                if dt is None:
                    raise TypeError(f"Cannot determine the output type {t} of {self.name}")
                outs.append(_cp._mk(_np.empty(shape, dt)))
        for o in outs:
            if not isinstance(o, _cp.ndarray):
                raise TypeError("Output arguments type must be cupy.ndarray")
            if o.shape != shape:
                raise ValueError("Out shape is mismatched")
        ns = {"_np": _np, "_rsqrt": _rsqrt, "_fma": _fma, "_erf": _erf, "_decl": _decl,
              **_INTRINSICS, **_CONSTANTS}
        tmap = {k: _np.dtype(v) for k, v in _C_TYPES.items()}  # C types in declarations
        for (t, _, _) in self.in_params + self.out_params:
            if _is_dtype(t):
                tmap.setdefault(t, _np.dtype(t))
        for t, dt in types_.items():
            ns[t] = dt.type  # functional casts T(x)
            tmap[t] = dt
        ns["_types"] = tmap
        for (t, n, raw), a in zip(self.in_params, ins):
            if raw:
                raise NotImplementedError("cupy stand-in: raw parameters are not supported")
            if isinstance(a, _cp.ndarray):
                ns[n] = _np.broadcast_to(a._a, shape)
            else:
                ns[n] = (_np.dtype(t) if _is_dtype(t) else types_[t]).type(a)
        for (_t, n, _raw), a in zip(self.out_params, outs):
            ns[n] = a._a
        cap = _cp._graph.current() if _cp._capturing else None
        if cap is not None:  # a stream captures: the body runs when the graph is launched
            cap.kernel(self, ns, outs, fresh)
        else:
            self._run(ns)
        if self.no_return:
            return None
        if len(outs) == 1 and not self.return_tuple:
            return outs[0]
        return tuple(outs)

    def _run(self, ns):
        with _np.errstate(all="ignore"):
            try:
                exec(self._compile(), ns)
            except NameError as e:
                raise NotImplementedError(f"cupy stand-in: {self.name}: {e} (a preamble "
                                          "function or an unsupported C construct?)") from None


def _is_dtype(t):
    if len(t) <= 2:
        return False
    try:
        _np.dtype(t)
    except TypeError:
        return False
    return True
