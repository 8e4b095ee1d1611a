"""gpuarr's dtypes and PyTorch's type-promotion rules.

A :class:`dtype` wraps one NumPy dtype (CuPy uses the same dtype objects). Promotion follows
PyTorch rather than NumPy: categories are ordered bool < integer < floating; within a category
the wider type wins; across categories the higher category's type wins (``int64 + float16`` is
``float16``). Operands have three priorities: tensors with dimensions, zero-dim tensors, and
Python scalars ("weak" values). A lower-priority operand only changes the result when it is of a
higher category; then a zero-dim tensor brings its own dtype and a Python scalar brings the default
dtype of its category (``int64`` tensor + ``1.5`` is ``float32``).
"""

from __future__ import annotations

import builtins as _builtins

import numpy as np

_pyfloat, _pyint, _pybool = _builtins.float, _builtins.int, _builtins.bool

__all__ = [
    "dtype",
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "complex64",
    "complex128",
    "cfloat",
    "cdouble",
    "half",
    "float",
    "double",
    "short",
    "int",
    "long",
    "get_default_dtype",
    "set_default_dtype",
    "promote_types",
    "result_type",
    "can_cast",
    "finfo",
    "iinfo",
]

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


# The module name that dtypes, ``Size`` and layouts print with: 'torch' while
# ``gpuarr.run_torch``'s hook is installed, so a PyTorch program prints what it prints under
# torch (``torch.float32``, ``torch.Size([2, 3])``).
repr_module: list[str] = ["gpuarr"]


class dtype:
    """A gpuarr data type, e.g. ``gpuarr.float32``.

    Attributes:
        name: short name ("float32").
        itemsize: bytes per element.
        is_floating_point: True for float16/bfloat16/float32/float64.
        is_complex: True for complex64/complex128.
        is_signed: True for signed integers, floats and complex types.
    """

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_cat", "is_complex")

    def __init__(self, name: str, np_dtype: np.dtype, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == _FLOAT
        self.is_complex = category == _COMPLEX
        self.is_signed = category >= _FLOAT or (category == _INT and self.np.kind == "i")
        self._cat = category

    def __repr__(self) -> str:
        return f"{repr_module[0]}.{self.name}"

    def __reduce__(self):  # dtypes are singletons: unpickle to the same object
        return (_by_name, (self.name,))

    def to_numpy(self) -> np.dtype:
        """The NumPy dtype this gpuarr dtype stores its data as."""
        return self.np


float16 = dtype("float16", np.float16, _FLOAT)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
uint8 = dtype("uint8", np.uint8, _INT)
# torch's "limited support" unsigned types: they hold data (checkpoints, interop) and promote
# only with floating-point types
uint16 = dtype("uint16", np.uint16, _INT)
uint32 = dtype("uint32", np.uint32, _INT)
uint64 = dtype("uint64", np.uint64, _INT)
bool = dtype("bool", np.bool_, _BOOL)  # noqa: A001 - torch exposes gpuarr.bool too
complex64 = dtype("complex64", np.complex64, _COMPLEX)
complex128 = dtype("complex128", np.complex128, _COMPLEX)


class _BFloat16(dtype):
    """``bfloat16``: float32's exponent with an 8-bit significand.

    NumPy has no bfloat16; the ``ml_dtypes`` package registers one (NumPy kind ``'V'``, with
    ufuncs that compute in float32 and round, as torch's CPU kernels do). Importing ml_dtypes
    costs about a second, so it is loaded the first time ``.np`` is read, i.e. when the first
    bfloat16 tensor is made, not by ``import gpuarr``.
    """

    __slots__ = ()

    def __init__(self) -> None:
        self.name = "bfloat16"
        self.itemsize = 2
        self.is_floating_point = True
        self.is_complex = False
        self.is_signed = True
        self._cat = _FLOAT

    @property
    def np(self) -> np.dtype:  # shadows the slot of the base class
        return _BF16_NP if _BF16_NP is not None else _load_bfloat16()


bfloat16 = _BFloat16()
_BF16_NP: np.dtype | None = None


def _load_bfloat16() -> np.dtype:
    """Import ml_dtypes and register its bfloat16 NumPy dtype (once)."""
    global _BF16_NP
    try:
        import ml_dtypes
    except ImportError:
        raise TypeError("gpuarr.bfloat16 needs the ml_dtypes package (NumPy has no bfloat16): "
                        "pip install ml_dtypes") from None
    _BF16_NP = np.dtype(ml_dtypes.bfloat16)
    FROM_NP[_BF16_NP] = bfloat16
    return _BF16_NP


def is_half_np(np_dtype: np.dtype) -> _builtins.bool:
    """Whether a NumPy dtype is float16 or bfloat16: the 2-byte floats that reductions, matmul
    and friends compute in float32 (as torch's CPU kernels do)."""
    return np_dtype.itemsize == 2 and np_dtype.kind in "fV"


def is_float_np(np_dtype: np.dtype) -> _builtins.bool:
    """Whether a NumPy dtype is one of gpuarr's floating types (bfloat16's kind is ``'V'``)."""
    return np_dtype.kind in "fV"

# torch's aliases
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
cfloat, cdouble = complex64, complex128

ALL_DTYPES = (float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
              bool, bfloat16, complex64, complex128)
COMPLEX_DTYPES = (complex64, complex128)
_LIMITED = frozenset({uint16, uint32, uint64})
_SCALAR_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
                 "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
                 "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "bool": "Bool",
                 "bfloat16": "BFloat16", "complex64": "ComplexFloat",
                 "complex128": "ComplexDouble"}
FLOAT_DTYPES = (float16, float32, float64, bfloat16)
_NAMES = {d.name: d for d in ALL_DTYPES}
# NumPy dtype -> gpuarr dtype; hot path of Tensor.dtype. bfloat16 joins when ml_dtypes loads.
FROM_NP: dict[np.dtype, dtype] = {d.np: d for d in ALL_DTYPES if d is not bfloat16}

_default_float = float32


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def get_default_dtype() -> dtype:
    """Return the default floating point dtype (float32 unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating point dtype used for Python floats and float factories.

    Args:
        d: ``gpuarr.float32`` or ``gpuarr.float64`` (``float16`` is allowed too).
    """
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def as_dtype(d) -> dtype:
    """Turn a gpuarr dtype, NumPy dtype, Python type or name into a gpuarr dtype."""
    if d.__class__ is dtype or d is bfloat16:
        return d
    if isinstance(d, str):
        name = d[7:] if d.startswith("gpuarr.") else d
        try:
            return _NAMES[name] if name not in _ALIASES else _ALIASES[name]
        except KeyError:
            raise TypeError(f"unknown dtype name {d!r}") from None
    if d is _pyfloat:
        return _default_float
    if d is _pyint:
        return int64
    if d is _pybool:
        return bool
    if d is _builtins.complex:
        return default_complex()
    try:
        nd = np.dtype(d)
        if nd.kind == "V" and nd.name == "bfloat16":  # ml_dtypes' type, imported by the user
            return bfloat16
        return FROM_NP[nd]
    except (TypeError, KeyError):
        name = getattr(d, "__module__", "")
        if name.startswith("torch") or type(d).__name__ == "dtype":
            short = str(d).split(".")[-1]
            if short in _NAMES:
                return _NAMES[short]
        raise TypeError(f"gpuarr does not support dtype {d!r}") from None


_ALIASES = {"half": float16, "float": float32, "double": float64, "short": int16, "int": int32,
            "long": int64, "cfloat": complex64, "cdouble": complex128}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to, by PyTorch's rules.

    Example:
        >>> promote_types(gpuarr.int64, gpuarr.float16)
        gpuarr.float16
    """
    if a is b:
        return a
    if (a in _LIMITED or b in _LIMITED) and a._cat != _FLOAT and b._cat != _FLOAT:
        raise RuntimeError(
            "Promotion for uint16, uint32, uint64 types is not supported, attempted to promote "
            f"{_SCALAR_NAMES[a.name]} and {_SCALAR_NAMES[b.name]}")
    if a._cat != b._cat:
        hi, lo = (a, b) if a._cat > b._cat else (b, a)
        # complex64 with float64 is complex128: the float's precision is kept (torch's table)
        return complex128 if hi is complex64 and lo is float64 else hi
    if a._cat == _BOOL:
        return a
    return FROM_NP[np.promote_types(a.np, b.np)]


def scalar_category(x) -> int:
    """Category of a Python scalar: bool, int, float or complex."""
    t = x.__class__
    if t is _pybool or t is np.bool_:
        return _BOOL
    if t is _pyint or isinstance(x, np.integer):
        return _INT
    if t is _builtins.complex or isinstance(x, np.complexfloating):
        return _COMPLEX
    return _FLOAT


def default_complex() -> dtype:
    """The complex dtype of Python complex numbers: complex128 when the default float dtype is
    float64, else complex64 (torch's ``complex32`` for a float16 default is not supported)."""
    return complex128 if _default_float is float64 else complex64


def to_complex(d: dtype) -> dtype:
    """The complex dtype with ``d``'s precision (torch's ``toComplexType``).

    Raises:
        TypeError: for types with no complex counterpart in gpuarr (float16, bfloat16, ints).
    """
    if d._cat == _COMPLEX:
        return d
    if d is float64:
        return complex128
    if d is float32 or d is bfloat16:  # bfloat16 has float32's range: torch maps it so too
        return complex64
    raise TypeError(f"gpuarr has no complex dtype with {d.name} parts"
                    + (" (torch's complex32)" if d is float16 else ""))


def to_real(d: dtype) -> dtype:
    """The dtype of a complex dtype's parts (``complex64`` -> ``float32``); real dtypes map to
    themselves."""
    return float64 if d is complex128 else float32 if d is complex64 else d


def _default_for(cat: int) -> dtype:
    if cat == _COMPLEX:
        return default_complex()
    return bool if cat == _BOOL else int64 if cat == _INT else _default_float


def result_type(*operands) -> dtype:
    """Result dtype of an op over tensors and Python scalars, by PyTorch's three-tier rules.

    Args:
        *operands: gpuarr Tensors or Python scalars (bool/int/float).

    Returns:
        The promoted :class:`dtype`.
    """
    dim_t = zero_t = scalar_cat = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if (d.__class__ is dtype or d is bfloat16) and hasattr(x, "ndim"):
            if x.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        else:
            c = scalar_category(x)
            scalar_cat = c if scalar_cat is None else max(scalar_cat, c)
    result = dim_t
    if zero_t is not None:
        if result is None:
            result = zero_t
        elif zero_t._cat > result._cat:
            result = _higher_category(result, zero_t)
    if scalar_cat is not None:
        if result is None:
            result = _default_for(scalar_cat)
        elif scalar_cat > result._cat:
            result = _higher_category(result, _default_for(scalar_cat))
    return result


def _higher_category(result: dtype, other: dtype) -> dtype:
    """``other`` (of a higher category, from a lower-priority operand) joining ``result``: its
    own dtype, except that a complex one takes a float ``result``'s precision (torch's
    ``combine_categories``: float64 tensor + 1j is complex128, float32 tensor + a complex128
    0-d tensor is complex64; float16 would be complex32, which gpuarr lacks: TypeError)."""
    if other._cat == _COMPLEX and result._cat == _FLOAT:
        return to_complex(result)
    return other


def _np_finfo(np_dtype: np.dtype):
    """``np.finfo`` that also knows ml_dtypes' bfloat16."""
    if np_dtype.kind == "V":
        import ml_dtypes

        return ml_dtypes.finfo(np_dtype)
    return np.finfo(np_dtype)


class finfo:
    """Machine limits of a floating-point dtype, as ``torch.finfo``.

    Args:
        type: a floating dtype (default: the current default dtype).

    Attributes:
        bits, eps, max, min, tiny (== smallest_normal), resolution: Python numbers.
        dtype: the dtype's name, e.g. ``'bfloat16'``.

    Example:
        >>> gpuarr.finfo(gpuarr.bfloat16).eps
        0.0078125
    """

    def __init__(self, type=None) -> None:  # noqa: A002 - torch's parameter name
        d = _default_float if type is None else as_dtype(type)
        d = to_real(d)  # a complex type's limits are its parts' (as torch.finfo)
        if not d.is_floating_point:
            raise TypeError("gpuarr.finfo() requires a floating point input type. Use "
                            "gpuarr.iinfo to handle 'gpuarr.finfo'")
        info = _np_finfo(d.np)
        self.bits = d.itemsize * 8
        self.eps = _builtins.float(info.eps)
        self.max = _builtins.float(info.max)
        self.min = _builtins.float(info.min)
        self.tiny = self.smallest_normal = _builtins.float(info.smallest_normal)
        self.resolution = _builtins.float(10.0 ** -_builtins.int(info.precision))
        self.dtype = d.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer (or bool) dtype, as ``torch.iinfo``: ``bits``, ``min``, ``max``.

    Example:
        >>> gpuarr.iinfo(gpuarr.int8).max
        127
    """

    def __init__(self, type) -> None:  # noqa: A002 - torch's parameter name
        d = as_dtype(type)
        if d.is_floating_point:
            raise TypeError("gpuarr.iinfo() requires an integer input type. Use gpuarr.finfo "
                            "to handle 'gpuarr.iinfo'")
        info = np.iinfo(np.uint8 if d is bool else d.np)
        self.bits = d.itemsize * 8
        self.min = _builtins.int(info.min)
        self.max = _builtins.int(info.max)
        self.dtype = d.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"  # torch's %g


def can_cast(from_: dtype, to: dtype) -> _builtins.bool:
    """Whether an in-place op may write a ``from_`` result into a ``to`` tensor (torch's rule:
    never to a lower category)."""
    return from_._cat <= to._cat


# C++ type names torch uses in "value cannot be converted to type ... without overflow"
_CTYPES = {
    "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t",
    "float16": "c10::Half", "float32": "float", "float64": "double", "bfloat16": "c10::BFloat16",
    "complex64": "c10::complex<float>", "complex128": "c10::complex<double>",
}


def fits(np_dtype: np.dtype, value) -> _builtins.bool:
    """Whether a Python/NumPy number converts to ``np_dtype`` without overflow, by torch's rule:
    integers must lie in range (unsigned types also take negatives down to ``-max``, which wrap
    as two's complement); floats must be finite and in range for integer types; float types
    take any finite value up to their max, and inf/nan."""
    k = np_dtype.kind
    if k == "b":
        return True
    if isinstance(value, (_builtins.complex, np.complexfloating)):
        if k == "c":
            return True
        if value.imag != 0:  # torch: a complex value with an imaginary part overflows a real type
            return False
        value = value.real
    if k in "iu":
        if isinstance(value, _builtins.float) or isinstance(value, np.floating):
            if value != value or value in (_builtins.float("inf"), _builtins.float("-inf")):
                return False
        info = np.iinfo(np_dtype)
        lo = -_builtins.int(info.max) if k == "u" else _builtins.int(info.min)
        return lo <= value <= _builtins.int(info.max)
    v = abs(_builtins.float(value))
    return not (_builtins.float(_np_finfo(np_dtype).max) < v < _builtins.float("inf"))


def checked_scalar(np_dtype: np.dtype, value, name: str | None = None):
    """``value`` as a NumPy scalar of ``np_dtype``; RuntimeError on overflow, like torch.

    Args:
        np_dtype: the target NumPy dtype.
        value: a Python or NumPy number.
        name: the type name for the message (default: torch's C++ name, e.g. ``uint8_t``).
    """
    if isinstance(value, np.generic):
        value = value.item()
    top = 2**64 if np_dtype == np.uint64 else 2**63
    if np_dtype.kind in "iu" and isinstance(value, _builtins.int) and not -2**63 <= value < top:
        raise ValueError("Overflow when unpacking long long")  # torch reads ints as int64
    if not fits(np_dtype, value):
        raise RuntimeError(f"value cannot be converted to type "
                           f"{name or _CTYPES.get(np_dtype.name, np_dtype.name)} without overflow")
    if np_dtype.kind == "u" and isinstance(value, _builtins.int) and value < 0:
        value += _builtins.int(np.iinfo(np_dtype).max) + 1  # two's complement wrap, as torch
    if isinstance(value, _builtins.complex) and np_dtype.kind != "c":
        value = value.real  # no imaginary part (fits checked it)
        if np_dtype.kind in "iub":
            value = _builtins.int(value) if np_dtype.kind != "b" else _builtins.bool(value)
    return np_dtype.type(value)
