"""Test helpers with ``torch.testing``'s names, semantics and messages.

* :func:`assert_close`: are two tensors (or numbers, NumPy arrays, and sequences or mappings of
  them, recursively) close? Raises ``AssertionError`` with torch's text, e.g.::

      Tensor-likes are not close!

      Mismatched elements: 1 / 3 (33.3%)
      Greatest absolute difference: 0.5 at index (2,) (up to 1e-05 allowed)
      Greatest relative difference: 0.1666666716337204 at index (2,) (up to 1.3e-06 allowed)

* :func:`make_tensor`: a random tensor of a shape, dtype and device, drawn from torch's default
  ranges per dtype;
* :func:`assert_allclose`: deprecated in torch since 1.12 and still present in 2.13, so here too
  (with its FutureWarning).

Values are compared on the tensors' device; only a failure's message copies them to the host.
"""

from __future__ import annotations

import cmath
import collections.abc
import contextlib
import math
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from . import _dtype as D
from ._creation import as_tensor, empty, tensor
from ._tensor import Tensor
from .backends import backend_of
from .ops.complex_ops import view_as_complex
from .ops.random import randint

__all__ = ["assert_close", "make_tensor", "assert_allclose"]

# {dtype name: (rtol, atol)}, torch's defaults; any other dtype compares exactly
_PRECISIONS: dict[str, tuple[float, float]] = {
    "float16": (0.001, 1e-5),
    "bfloat16": (0.016, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex32": (0.001, 1e-5),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}
# assert_allclose's own (older) table
_ALLCLOSE_PRECISIONS: dict[str, tuple[float, float]] = {
    "float16": (1e-3, 1e-3),
    "float32": (1e-4, 1e-5),
    "float64": (1e-5, 1e-8),
}
# the dtype a Python number stands for when picking its tolerances
_NUMBER_DTYPE = {int: "int64", float: "float64", complex: "complex128"}


# --------------------------------------------------------------------------------------------
# errors: collected while comparing, raised with the user's ``msg`` applied


class _ErrorMeta(Exception):
    """A mismatch (or misuse) found while comparing: the exception type, its text and where in
    the nested inputs it happened."""

    def __init__(self, type: type[Exception], msg: str, *, id: tuple = ()) -> None:
        super().__init__(msg)
        self.type, self.msg, self.id = type, msg, id

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if not isinstance(msg, str):
            generated = self.msg
            if self.id:
                generated += ("\n\nThe failure occurred for item "
                              + "".join(str([item]) for item in self.id))
            msg = msg(generated) if callable(msg) else generated
        return self.type(msg)


class _Unsupported(Exception):
    """A pair type cannot handle these inputs; the next one is tried."""


def _tolerances(names: list[str], rtol, atol, id: tuple,
                table: dict[str, tuple[float, float]] = _PRECISIONS) -> tuple[float, float]:
    if (rtol is None) ^ (atol is None):
        raise _ErrorMeta(ValueError,
                         "Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.", id=id)
    if rtol is not None:
        return rtol, atol
    rtols, atols = zip(*[table.get(n, (0.0, 0.0)) for n in names])
    return max(rtols), max(atols)


def _mismatch_msg(identifier: str, extra: str, abs_diff, abs_idx, atol, rel_diff, rel_idx,
                  rtol) -> str:
    equality = rtol == 0 and atol == 0

    def line(kind: str, diff, idx, tol) -> str:
        text = (f"{kind.title()} difference: {diff}" if idx is None
                else f"Greatest {kind} difference: {diff} at index {idx}")
        return text + ("" if equality else f" (up to {tol} allowed)") + "\n"

    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    msg += line("absolute", abs_diff, abs_idx, atol) + line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_mismatch_msg(actual, expected, *, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None,
                         atol, rel_diff, None, rtol)


def _tensor_mismatch_msg(a: np.ndarray, e: np.ndarray, matches: np.ndarray, floating: bool, *,
                         rtol: float, atol: float) -> str:
    """torch's message for two host arrays of one shape and dtype (``matches``: where close;
    ``floating``: of a floating or complex dtype)."""
    n = matches.size
    bad = n - int(matches.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    a, e, m = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if not floating:  # as torch: integers and bools are compared as int64
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[m] = 0
        # torch divides integer tensors in the default float dtype
        num, den = abs_diff, np.abs(e)
        if not floating:
            f = D.get_default_dtype().np
            num, den = num.astype(f), den.astype(f)
        rel_diff = num / den
        rel_diff[m] = 0

    def where(flat: int) -> tuple[int, ...]:
        return tuple(int(i) for i in np.unravel_index(flat, matches.shape))

    ia, ir = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))  # the first NaN wins, as torch
    return _mismatch_msg("Tensor-likes", extra, abs_diff[ia].item(), where(ia), atol,
                         rel_diff[ir].item(), where(ir), rtol)


# --------------------------------------------------------------------------------------------
# pairs of leaves: None, booleans, numbers, tensor-likes (tried in that order)


class _Pair:
    def __init__(self, actual: Any, expected: Any, id: tuple) -> None:
        self.actual, self.expected, self.id = actual, expected, id

    def fail(self, type: type[Exception], msg: str) -> NoReturn:
        raise _ErrorMeta(type, msg, id=self.id)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(\n    id={self.id},\n    actual={self.actual},\n"
                f"    expected={self.expected},\n)")


class _NonePair(_Pair):
    def __init__(self, actual, expected, id, **_: Any) -> None:
        if not (actual is None or expected is None):
            raise _Unsupported
        super().__init__(actual, expected, id)

    def compare(self) -> None:
        if not (self.actual is None and self.expected is None):
            self.fail(AssertionError, f"None mismatch: {self.actual} is not {self.expected}")


class _BooleanPair(_Pair):
    def __init__(self, actual, expected, id, **_: Any) -> None:
        if not all(isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
            raise _Unsupported
        super().__init__(bool(actual), bool(expected), id)

    def compare(self) -> None:
        if self.actual is not self.expected:
            self.fail(AssertionError,
                      f"Booleans mismatch: {self.actual} is not {self.expected}")


class _NumberPair(_Pair):
    def __init__(self, actual, expected, id, *, rtol=None, atol=None, equal_nan=False,
                 check_dtype=False, **_: Any) -> None:
        if not all(isinstance(x, (int, float, complex, np.number)) for x in (actual, expected)):
            raise _Unsupported
        actual, expected = (x.item() if isinstance(x, np.number) else x
                            for x in (actual, expected))
        super().__init__(actual, expected, id)
        # a bool among ints has no entry here: KeyError, reported as an unexpected input
        self.rtol, self.atol = _tolerances([_NUMBER_DTYPE[type(x)] for x in (actual, expected)],
                                           rtol, atol, id)
        self.equal_nan, self.check_dtype = equal_nan, check_dtype

    def compare(self) -> None:
        a, e = self.actual, self.expected
        if self.check_dtype and type(a) is not type(e):
            self.fail(AssertionError,
                      f"The (d)types do not match: {type(a)} != {type(e)}.")
        if a == e:
            return
        if self.equal_nan and cmath.isnan(a) and cmath.isnan(e):
            return
        diff = abs(a - e)
        if cmath.isfinite(diff) and diff <= self.atol + self.rtol * abs(e):
            return
        self.fail(AssertionError,
                  _scalar_mismatch_msg(a, e, rtol=self.rtol, atol=self.atol))


class _TensorLikePair(_Pair):
    def __init__(self, actual, expected, id, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, **_: Any) -> None:
        if not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))):
            raise _Unsupported
        if not allow_subclasses and type(actual) is not type(expected):
            raise _Unsupported
        actual, expected = (self._to_tensor(x) for x in (actual, expected))
        super().__init__(actual, expected, id)
        self.rtol, self.atol = _tolerances([actual.dtype.name, expected.dtype.name], rtol,
                                           atol, id)
        self.equal_nan = equal_nan
        self.check_device, self.check_dtype = check_device, check_dtype
        self.check_stride = check_stride  # gpuarr tensors are all strided: no layout to check

    @staticmethod
    def _to_tensor(x: Any) -> Tensor:
        if isinstance(x, Tensor):
            return x
        try:
            return as_tensor(x)
        except Exception:
            raise _Unsupported from None

    def compare(self) -> None:
        a, e = self.actual, self.expected

        def mismatch(attr: str, va, ve) -> NoReturn:
            self.fail(AssertionError,
                      f"The values for attribute '{attr}' do not match: {va} != {ve}.")

        if a.shape != e.shape:
            mismatch("shape", a.shape, e.shape)
        if self.check_stride and a.stride() != e.stride():
            mismatch("stride()", a.stride(), e.stride())
        if self.check_device and a.device != e.device:
            mismatch("device", a.device, e.device)
        if self.check_dtype and a.dtype != e.dtype:
            mismatch("dtype", a.dtype, e.dtype)

        a, e = a.detach(), e.detach()
        if a.device != e.device:
            a, e = a.cpu(), e.cpu()
        if a.dtype != e.dtype:
            # as torch: wide unsigned types compare as int64 (promote_types refuses them)
            wide = ("uint16", "uint32", "uint64")
            da = D.int64 if a.dtype.name in wide else a.dtype
            de = D.int64 if e.dtype.name in wide else e.dtype
            dt = D.promote_types(da, de)
            a, e = a.to(dt), e.to(dt)
        self._compare_values(a, e)

    def _compare_values(self, a: Tensor, e: Tensor) -> None:
        rtol, atol = self.rtol, self.atol
        xp = a.device._xp()
        floating = a.dtype.is_floating_point or a.dtype.is_complex
        matches = _isclose(xp, a._data, e._data, floating, rtol, atol, self.equal_nan)
        if bool(xp.all(matches).item()):
            return
        if a.ndim == 0:
            msg = _scalar_mismatch_msg(a.item(), e.item(), rtol=rtol, atol=atol)
        else:
            msg = _tensor_mismatch_msg(a._host(), e._host(), _host(matches), floating,
                                       rtol=rtol, atol=atol)
        self.fail(AssertionError, msg)


def _host(arr) -> np.ndarray:
    return backend_of(arr).to_host(arr)


def _isclose(xp, a, e, floating: bool, rtol: float, atol: float, equal_nan: bool):
    """torch.isclose on two backend arrays of one dtype: ``|a - e| <= atol + rtol * |e|`` in
    that dtype (integers and bools: the error bound in the default float dtype), infinities
    close only to themselves, NaN close to NaN only with ``equal_nan``."""
    close = a == e
    if equal_nan and floating:
        close |= xp.isnan(a) & xp.isnan(e)
    if rtol == 0 and atol == 0:
        return close
    if not floating:
        f = D.get_default_dtype().np
        if a.dtype.kind == "b":
            a, e = a.astype(f), e.astype(f)
        allowed = atol + xp.abs(rtol * e.astype(f))
        actual = xp.abs(a - e).astype(f)
    else:
        allowed = atol + xp.abs(rtol * e)
        actual = xp.abs(a - e)
    return close | (xp.isfinite(actual) & (actual <= allowed))


# --------------------------------------------------------------------------------------------
# walking nested inputs


_PAIRS = (_NonePair, _BooleanPair, _NumberPair, _TensorLikePair)


def _originate(actual: Any, expected: Any, id: tuple, options: dict) -> list[_Pair]:
    seq, mapping = collections.abc.Sequence, collections.abc.Mapping
    if (isinstance(actual, seq) and not isinstance(actual, str)
            and isinstance(expected, seq) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _ErrorMeta(AssertionError, "The length of the sequences mismatch: "
                             f"{len(actual)} != {len(expected)}", id=id)
        pairs: list[_Pair] = []
        for i in range(len(actual)):
            pairs.extend(_originate(actual[i], expected[i], (*id, i), options))
        return pairs
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        ka, ke = set(actual.keys()), set(expected.keys())
        if ka != ke:
            raise _ErrorMeta(
                AssertionError,
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {sorted(ke - ka)}\n"
                f"Additional keys in the actual mapping: {sorted(ka - ke)}", id=id)
        keys: Any = ka
        with contextlib.suppress(Exception):  # a deterministic order when keys sort
            keys = sorted(ka)
        pairs = []
        for k in keys:
            pairs.extend(_originate(actual[k], expected[k], (*id, k), options))
        return pairs
    for pair_type in _PAIRS:
        try:
            return [pair_type(actual, expected, id, **options)]
        except _Unsupported:
            continue
        except _ErrorMeta:
            raise
        except Exception as error:
            raise RuntimeError(
                f"Originating a {pair_type.__name__[1:]}() at item "
                f"{''.join(str([item]) for item in id)} with\n\n"
                f"{type(actual).__name__}(): {actual}\n\nand\n\n"
                f"{type(expected).__name__}(): {expected}\n\n"
                "resulted in the unexpected exception above.") from error
    raise _ErrorMeta(TypeError, "No comparison pair was able to handle inputs of type "
                     f"{type(actual)} and {type(expected)}.", id=id)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    r"""Assert that ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``.

    Tensors (and NumPy arrays, which become tensors) are close when they have the same shape,
    device (``check_device``), dtype (``check_dtype``) and stride (``check_stride``), and
    every element satisfies ``|actual - expected| <= atol + rtol * |expected|``; infinities
    are close only to themselves and NaN only to NaN with ``equal_nan``. Python numbers compare
    the same way (their types must match unless ``check_dtype=False``); sequences and
    mappings are compared element by element, recursively. Except for Python numbers the two
    inputs must be of related types (a NumPy array is never close to a Tensor).

    Default tolerances (the looser of the two dtypes'): float16 ``rtol=1e-3, atol=1e-5``,
    float32 ``1.3e-6, 1e-5``, float64 ``1e-7, 1e-7``; integers and bools compare exactly.

    Args:
        actual: the value to check.
        expected: the reference value.
        allow_subclasses: allow inputs of directly related types (Parameter vs Tensor); False
            requires equal types.
        rtol: relative tolerance; give both ``rtol`` and ``atol`` or neither.
        atol: absolute tolerance.
        equal_nan: whether NaN is close to NaN.
        check_device: require the same device (else both are compared on the CPU).
        check_dtype: require the same dtype (else both are promoted to a common dtype).
        check_layout: accepted for torch compatibility (gpuarr tensors are all strided).
        check_stride: require the same strides.
        msg: a message to raise instead of the generated one, or a callable that gets the
            generated message and returns the one to raise.

    Raises:
        AssertionError: when the inputs are not close, with torch's message.
        TypeError: when no comparison handles the two inputs' types.
        ValueError: when only one of ``rtol`` and ``atol`` is given.

    Example:
        >>> gpuarr.testing.assert_close(gpuarr.tensor([1., 2.]), gpuarr.tensor([1., 2.000001]))
        >>> gpuarr.testing.assert_close(gpuarr.tensor([1., 2., 3.]), gpuarr.tensor([1., 2., 3.5]))
        Traceback (most recent call last):
        ...
        AssertionError: Tensor-likes are not close!
        <BLANKLINE>
        Mismatched elements: 1 / 3 (33.3%)
        Greatest absolute difference: 0.5 at index (2,) (up to 1e-05 allowed)
        Greatest relative difference: 0.1428571492433548 at index (2,) (up to 1.3e-06 allowed)
    """
    __tracebackhide__ = True  # pytest: show the caller's line, not this function's
    options = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                   check_device=check_device, check_dtype=check_dtype,
                   check_layout=check_layout, check_stride=check_stride)
    try:
        pairs = _originate(actual, expected, (), options)
    except _ErrorMeta as meta:
        raise meta.to_error() from None  # torch applies ``msg`` to mismatches only
    for pair in pairs:
        try:
            pair.compare()
        except _ErrorMeta as meta:
            raise meta.to_error(msg) from None
        except Exception as error:
            raise RuntimeError(f"Comparing\n\n{pair}\n\nresulted in the unexpected exception "
                               "above.") from error


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None,
                    atol: float | None = None, equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated (since torch 1.12): :func:`assert_close` with the old defaults.

    Non-tensor inputs become CPU tensors (``expected`` in ``actual``'s dtype), as in torch, so
    a CUDA ``actual`` needs a CUDA tensor as ``expected``; dtypes may differ;
    NaN equals NaN; the default tolerances are float16 ``1e-3, 1e-3``, float32 ``1e-4, 1e-5``,
    float64 ``1e-5, 1e-8``.

    Args:
        actual: the value to check.
        expected: the reference value.
        rtol: relative tolerance; give both or neither.
        atol: absolute tolerance.
        equal_nan: whether NaN is close to NaN.
        msg: the message to raise instead of the generated one.

    Raises:
        AssertionError: when the inputs are not close.

    Example:
        >>> gpuarr.testing.assert_allclose(gpuarr.tensor([1.0]), [1.00001])  # FutureWarning
    """
    warnings.warn(
        "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a "
        "future release. Please use `torch.testing.assert_close()` instead.",
        FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tolerances([actual.dtype.name, expected.dtype.name], None, None, (),
                                 _ALLCLOSE_PRECISIONS)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=True, check_dtype=False, check_stride=False, msg=msg or None)


# --------------------------------------------------------------------------------------------
# make_tensor

_INTEGRAL = ("uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64")
_FLOATING = ("float16", "bfloat16", "float32", "float64")


def make_tensor(
    *shape: int | tuple[int, ...] | list[int],
    dtype: D.dtype,
    device: Any,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format: Any = None,
) -> Tensor:
    """A tensor of ``shape`` filled with values drawn uniformly from ``[low, high)``, as
    ``torch.testing.make_tensor``.

    Default ranges: bool ``[0, 2)``, unsigned integers ``[0, 10)``, signed integers
    ``[-9, 10)``, floats ``[-9, 9)``. Bounds outside the dtype's finite range are clamped to
    it; integer bounds are rounded up.

    Args:
        *shape: the sizes, as ints or one sequence.
        dtype: the dtype.
        device: the device ('cpu', 'cuda', a :class:`gpuarr.device`).
        low: the inclusive lower bound (None: the default above).
        high: the exclusive upper bound (None: the default above).
        requires_grad: make a leaf that requires grad (floating dtypes only).
        noncontiguous: return a non-contiguous view (when it has at least two elements).
        exclude_zero: replace zeros by 1 (bool, integers) or the dtype's smallest normal
            number (floats).
        memory_format: only None (gpuarr tensors are row-major); exclusive with
            ``noncontiguous``.

    Returns:
        The new tensor.

    Raises:
        ValueError: for ``requires_grad`` with a non-floating dtype, ``low >= high``, a NaN
            bound, or an interval outside the dtype's range.
        TypeError: for a dtype make_tensor does not support.

    Example:
        >>> gpuarr.testing.make_tensor(2, 3, dtype=gpuarr.float32, device="cpu", low=-1, high=1)
        tensor([[ 0.2695, -0.7340,  0.5523],
                [-0.2302,  0.9004, -0.5877]])
    """
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError("The parameters `noncontiguous` and `memory_format` are mutually "
                         f"exclusive, but got {noncontiguous=} and {memory_format=}")
    if memory_format is not None:
        raise NotImplementedError(
            "make_tensor(memory_format=...) is not supported: gpuarr tensors are row-major")
    name = getattr(dtype, "name", None)
    integral = name == "bool" or name in _INTEGRAL
    if requires_grad and integral:
        raise ValueError("`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got {dtype=}")

    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:  # twice the last dim, so that the strided view skips real values
        shape = (*shape[:-1], 2 * shape[-1])

    def bounds(lowest: float, highest: float, default_low: float, default_high: float):
        lo = default_low if low is None else low
        hi = default_high if high is None else high
        if any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
            raise ValueError(f"`low` and `high` cannot be NaN, but got low={lo} and high={hi}")
        if lo == hi and not integral:
            warnings.warn(
                "Passing `low==high` to `torch.testing.make_tensor` for floating or complex "
                "types is deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` "
                "instead.", FutureWarning, stacklevel=3)
        elif lo >= hi:
            raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
        elif hi < lowest or lo >= highest:
            raise ValueError(f"The value interval specified by `low` and `high` is [{lo}, {hi}), "
                             f"but {dtype} only supports [{lowest}, {highest})")
        lo, hi = min(max(lo, lowest), highest), min(max(hi, lowest), highest)
        if integral:  # ceil both: randint's upper bound is exclusive
            return math.ceil(lo), math.ceil(hi)
        return lo, hi

    if name == "bool":
        lo, hi = bounds(0, 2, 0, 2)
        result = randint(lo, hi, shape, device=device, dtype=dtype)
    elif name in _INTEGRAL:
        info = np.iinfo(dtype.np)
        # randint cannot draw int64's maximum (its bounds are int64): exclusive there
        top = int(info.max) + (1 if name != "int64" else 0)
        lo, hi = bounds(int(info.min), top, -9, 10)
        result = randint(lo, hi, shape, device=device, dtype=dtype)
    elif name in _FLOATING:
        info = np.finfo(dtype.np)
        lo, hi = bounds(float(info.min), float(info.max), -9, 9)
        result = empty(shape, device=device, dtype=dtype)
        if hi - lo >= float(info.max):  # the width overflows the dtype: draw half, double
            result.uniform_(lo / 2, hi / 2).mul_(2)
        else:
            result.uniform_(lo, hi)
    elif dtype.is_complex:  # as torch: real and imaginary parts drawn like the real dtype's
        parts = make_tensor((*shape, 2), dtype=D.to_real(dtype), device=device, low=low,
                            high=high)
        result = view_as_complex(parts)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by "
                        "torch.testing.make_tensor().")

    if noncontiguous:
        result = result[..., 1::2]  # offset by one, to catch offset bugs too
    if exclude_zero:
        result[result == 0] = 1 if integral else float(np.finfo(dtype.np).tiny)
    if not integral:
        result.requires_grad_(requires_grad)
    return result
