"""``gpuarr.fft``: torch.fft's discrete Fourier transforms, with autograd.

The transforms run on the backend's FFT (``numpy.fft`` on the CPU, ``cupy.fft`` on CUDA) and
give torch's dtypes: float32 and complex64 inputs give complex64 (float32 for the
complex-to-real transforms), float64 and complex128 give complex128 (float64); integer and bool
inputs are first promoted to the default float dtype; float16 and bfloat16 raise torch's
CPU error ("Unsupported dtype Half").

Every transform is one of three kinds, each a :class:`~gpuarr.autograd.Function`:

* c2c (``fft``, ``ifft``, ``fftn``...): complex to complex, C-linear; its adjoint is the
  transform of the other sign with the same scaling.
* r2c (``rfft``, ``ihfft`` and their n-d forms): a real input to the one-sided half spectrum
  (``ihfft`` is its conjugate); the gradient zero-fills the missing half, runs the adjoint
  c2c and keeps the real part.
* c2r (``irfft``, ``hfft``...): a half spectrum to a real signal; the gradient is the r2c
  transform of the incoming gradient, the entries that stand for two bins of the full
  spectrum counted twice (torch's rule).

``norm`` picks the scaling: ``"backward"`` (the default, also ``None``) scales the inverse
transform by ``1/n``, ``"forward"`` the forward one, ``"ortho"`` both by ``1/sqrt(n)``; the
scaling is kept internally as the factor itself (none, ``1/sqrt(n)``, ``1/n``) so that a
gradient keeps it while the transform's sign flips.

Example:
    >>> x = gpuarr.tensor([1.0, 2.0, 3.0, 4.0])
    >>> gpuarr.fft.rfft(x)
    tensor([10.+0.j, -2.+2.j, -2.+0.j])
    >>> gpuarr.fft.irfft(gpuarr.fft.rfft(x), n=4)
    tensor([1., 2., 3., 4.])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import _dtype as D
from ._core.function import Function, apply_raw
from ._core.tensor import TensorBase, _wrap_dim
from ._creation import _finish, factory_device
from .ops._out import write_out
from .ops.complex_ops import conj_complex, real_complex
from .ops.stacking import roll

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
    "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq",
    "rfftfreq", "fftshift", "ifftshift",
]

# --------------------------------------------------------------------------------------------
# scaling: a norm string -> the factor a transform applies ("none", "sqrt": 1/sqrt(n), "n": 1/n)

_NORMS = (None, "backward", "forward", "ortho")
_FORWARD_SCALE = {None: "none", "backward": "none", "ortho": "sqrt", "forward": "n"}
_INVERSE_SCALE = {None: "n", "backward": "n", "ortho": "sqrt", "forward": "none"}
# the backend's norm= that gives a factor, for its transforms of each sign
_NP_NORM_FWD = {"none": "backward", "sqrt": "ortho", "n": "forward"}
_NP_NORM_INV = {"none": "forward", "sqrt": "ortho", "n": "backward"}


_SINGLE = (np.dtype(np.float32), np.dtype(np.complex64))


def _complex_of(dt: np.dtype) -> np.dtype:
    return np.dtype(np.complex64) if dt in _SINGLE else np.dtype(np.complex128)


def _real_of(dt: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if dt in _SINGLE else np.dtype(np.float64)


# --------------------------------------------------------------------------------------------
# array level (numpy or cupy arrays; ``sizes`` are the transform's sizes along ``dims``)


def _resize_array(xp, x, dims: tuple, sizes: tuple):
    """``x`` cut or zero-padded (at the end) to ``sizes`` along ``dims``: torch's resizing of
    an FFT input to ``n`` / ``s``. Always a fresh array."""
    shape = list(x.shape)
    for d, s in zip(dims, sizes):
        shape[d] = s
    keep = tuple(slice(0, min(a, b)) for a, b in zip(x.shape, shape))
    if all(a >= b for a, b in zip(x.shape, shape)):
        return x[keep].copy()
    out = xp.zeros(shape, dtype=x.dtype)
    out[keep] = x[keep]
    return out


def _empty_result(xp, x, dims: tuple, sizes: tuple | None, dtype, half: bool = False):
    """The result of a transform of an input with no elements (an empty batch dim, or a
    transformed dim of size 0 padded to ``n``): zeros, made here because a zero-sized batch
    is not a valid plan for every FFT library (cuFFT)."""
    shape = list(x.shape)
    for d, s in zip(dims, sizes or [x.shape[d] for d in dims]):
        shape[d] = s
    if half:
        shape[dims[-1]] = shape[dims[-1]] // 2 + 1
    return xp.zeros(shape, dtype=dtype)


def _c2c_array(xp, x, dims: tuple, sizes: tuple | None, scale: str, forward: bool):
    cdt = _complex_of(x.dtype)
    if not dims:  # fftn over no dimension: the input, as complex (torch gives a copy)
        return x.astype(cdt)
    if x.size == 0:
        return _empty_result(xp, x, dims, sizes, cdt)
    if forward:
        out = xp.fft.fftn(x, s=sizes, axes=dims, norm=_NP_NORM_FWD[scale])
    else:
        out = xp.fft.ifftn(x, s=sizes, axes=dims, norm=_NP_NORM_INV[scale])
    return out.astype(cdt, copy=False)


def _r2c_array(xp, x, dims: tuple, sizes: tuple | None, scale: str, conj: bool):
    if x.size == 0:
        return _empty_result(xp, x, dims, sizes, _complex_of(x.dtype), half=True)
    out = xp.fft.rfftn(x, s=sizes, axes=dims, norm=_NP_NORM_FWD[scale])
    if conj:
        out = xp.conj(out)
    return out.astype(_complex_of(x.dtype), copy=False)


def _c2r_array(xp, x, dims: tuple, sizes: tuple, scale: str, conj: bool):
    if x.size == 0:
        return _empty_result(xp, x, dims, sizes, _real_of(x.dtype))
    if conj:
        x = xp.conj(x)
    out = xp.fft.irfftn(x, s=sizes, axes=dims, norm=_NP_NORM_INV[scale])
    return out.astype(_real_of(x.dtype), copy=False)


# --------------------------------------------------------------------------------------------
# autograd Functions. Their backward passes are written with these same Functions, so
# gradients of gradients work too.


class _Resize(Function):
    """Cut or zero-pad along ``dims`` to ``sizes``; its adjoint resizes back."""

    _node_name = "ConstantPadNdBackward0"  # torch's name for the node
    _raw = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x, dims, sizes):
        ctx.dims = dims
        ctx.orig = tuple(x.shape[d] for d in dims)
        return _resize_array(ctx.xp, x, dims, sizes)

    @staticmethod
    def backward(ctx, g):
        return _resize(g, ctx.dims, ctx.orig), None, None


def _real_copy(z: Tensor) -> Tensor:
    """The real part of a complex tensor as a fresh tensor (a gradient handed on, which must
    not share memory with the complex one)."""
    return real_complex(z).clone()


def _to_complex(x: Tensor) -> Tensor:
    """A real tensor as complex (zero imaginary parts); its gradient is the real part."""
    return x.to(D.to_complex(x.dtype))


class _DoubleBins(Function):
    """Multiply the entries ``1 .. count`` along ``dim`` by 2 (a real, self-adjoint map)."""

    _node_name = "MulBackward0"  # torch's name for the node
    _raw = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x, dim, count):
        ctx.dim, ctx.count = dim, count
        out = x.copy()
        idx = [slice(None)] * x.ndim
        idx[dim] = slice(1, 1 + count)
        out[tuple(idx)] *= 2
        return out

    @staticmethod
    def backward(ctx, g):
        return apply_raw(_DoubleBins, g, ctx.dim, ctx.count), None, None


class _C2C(Function):
    """fftn / ifftn over ``dims``, the input resized to ``sizes`` first (None: as it is)."""

    _node_name = "FftC2CBackward0"  # torch's name for the node
    _raw = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x, dims, sizes, scale, forward):
        ctx.params = (dims, scale, forward)
        ctx.in_sizes = tuple(x.shape[d] for d in dims)
        ctx.real_in = x.dtype.kind != "c"
        return _c2c_array(ctx.xp, x, dims, sizes, scale, forward)

    @staticmethod
    def backward(ctx, g):
        dims, scale, forward = ctx.params
        # C-linear: the adjoint of a DFT is the DFT of the other sign with the same factor
        gx = _resize(_c2c(g, dims, None, scale, not forward), dims, ctx.in_sizes)
        if ctx.real_in:  # a real input mapped to complex: the real part (torch's convention)
            gx = _real_copy(gx)
        return gx, None, None, None, None


class _R2C(Function):
    """rfftn over ``dims`` (its conjugate when ``conj``: the ihfft family)."""

    _node_name = "FftR2CBackward0"  # torch's name for the node
    _raw = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x, dims, sizes, scale, conj):
        ctx.params = (dims, scale, conj)
        ctx.in_sizes = tuple(x.shape[d] for d in dims)
        ctx.n_last = x.shape[dims[-1]] if sizes is None else sizes[-1]
        return _r2c_array(ctx.xp, x, dims, sizes, scale, conj)

    @staticmethod
    def backward(ctx, g):
        dims, scale, conj = ctx.params
        # y = P F x (P keeps the first half of the last dim), x real: grad = Re(F^H P^T g);
        # for y = conj(P F x) the map is conj(A) x with adjoint A^T, so grad = Re(A^H conj(g))
        if conj:
            g = conj_complex(g)
        full = _resize(g, dims[-1:], (ctx.n_last,))
        gx = _real_copy(_c2c(full, dims, None, scale, False))
        return _resize(gx, dims, ctx.in_sizes), None, None, None, None


class _C2R(Function):
    """irfftn over ``dims`` to the real sizes ``sizes`` (of ``conj(x)`` when ``conj``: the
    hfft family)."""

    _node_name = "FftC2RBackward0"  # torch's name for the node
    _raw = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x, dims, sizes, scale, conj):
        ctx.params = (dims, sizes, scale, conj)
        ctx.in_sizes = tuple(x.shape[d] for d in dims)
        ctx.real_in = x.dtype.kind != "c"
        return _c2r_array(ctx.xp, x, dims, sizes, scale, conj)

    @staticmethod
    def backward(ctx, g):
        dims, sizes, scale, conj = ctx.params
        # torch's c2r rule: the r2c transform of the gradient, where the bins that stand for
        # two entries of the full Hermitian spectrum (all but DC and, for an even length, the
        # Nyquist bin) count twice
        gx = _r2c(g, dims, None, scale, False)
        n = sizes[-1]
        twice = n - (n // 2 + 1)
        if twice > 0:
            gx = apply_raw(_DoubleBins, gx, dims[-1], twice)
        if conj:
            gx = conj_complex(gx)
        gx = _resize(gx, dims, ctx.in_sizes)
        if ctx.real_in:
            gx = _real_copy(gx)
        return gx, None, None, None, None


def _resize(x: Tensor, dims: tuple, sizes: tuple) -> Tensor:
    if all(x._data.shape[d] == s for d, s in zip(dims, sizes)):
        return x
    return apply_raw(_Resize, x, dims, sizes)


def _c2c(x: Tensor, dims, sizes, scale: str, forward: bool) -> Tensor:
    return apply_raw(_C2C, x, dims, sizes, scale, forward)


def _r2c(x: Tensor, dims, sizes, scale: str, conj: bool) -> Tensor:
    return apply_raw(_R2C, x, dims, sizes, scale, conj)


def _c2r(x: Tensor, dims, sizes, scale: str, conj: bool) -> Tensor:
    return apply_raw(_C2R, x, dims, sizes, scale, conj)


# --------------------------------------------------------------------------------------------
# argument checks, in torch's order and with torch's texts


def _is_int(v) -> bool:
    """An int argument as torch's parser takes it: a Python or NumPy integer (not a bool), or
    an integer tensor of one element."""
    if isinstance(v, TensorBase):
        return v.numel() == 1 and not (v.is_floating_point() or v.is_complex()) \
            and v.dtype is not D.bool
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _int(v) -> int:
    return int(v.item()) if isinstance(v, TensorBase) else int(v)


def _check_input(x, name: str) -> None:
    if not isinstance(x, TensorBase):
        raise TypeError(f"fft_{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


def _check_int(v, arg: str, name: str) -> None:
    if v is not None and not _is_int(v):
        raise TypeError(f"fft_{name}(): argument '{arg}' must be int, not {type(v).__name__}")


def _check_norm_type(norm, name: str) -> None:
    if norm is not None and not isinstance(norm, str):
        raise TypeError(f"fft_{name}(): argument 'norm' must be str, not {type(norm).__name__}")


def _scale(norm, forward: bool) -> str:
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return (_FORWARD_SCALE if forward else _INVERSE_SCALE)[norm]


def _int_tuple(v, arg: str, name: str) -> tuple | None:
    if v is None:
        return None
    if _is_int(v):
        return (_int(v),)
    if isinstance(v, Sequence) and not isinstance(v, str) and all(_is_int(i) for i in v):
        return tuple(_int(i) for i in v)
    raise TypeError(f"fft_{name}(): argument '{arg}' must be tuple of ints, not "
                    f"{type(v).__name__}")


def _wrap(dim: int, ndim: int) -> int:
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _wrap_dim(dim, ndim)


def _check_points(n: int) -> None:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _promote(x: Tensor) -> Tensor:
    """``x`` in a dtype the transforms take: complex and float32/64 as they are, integers and
    bool in the default float dtype; float16/bfloat16 raise (as torch on the CPU)."""
    d = x.dtype
    if d.is_complex or d is D.float32 or d is D.float64:
        return x
    if not d.is_floating_point:
        d = D.get_default_dtype()
        if d is D.float32 or d is D.float64:
            return x.to(d)
    raise RuntimeError(f"Unsupported dtype {D._SCALAR_NAMES[d.name]}")


def _check_real_input(x: Tensor, name: str, text: str = "a real input tensor") -> None:
    if x.dtype.is_complex:
        raise RuntimeError(f"{name} expects {text}, but got {D._SCALAR_NAMES[x.dtype.name]}")


def _canonical(x: Tensor, s: tuple | None, dim: tuple | None) -> tuple[tuple, tuple]:
    """``(sizes, dims)`` of an n-d transform from its ``s`` and ``dim`` arguments (tuples or
    None)."""
    ndim = x.ndim
    shape = x.shape
    if dim is not None:
        dims = tuple(_wrap(d, ndim) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        if dim is not None and len(dim) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{ndim} dimensions.")
        if dim is None:
            dims = tuple(range(ndim - len(s), ndim))
        sizes = tuple(shape[d] if n == -1 else n for n, d in zip(s, dims))
    elif dim is None:
        dims = tuple(range(ndim))
        sizes = tuple(shape)
    else:
        sizes = tuple(shape[d] for d in dims)
    for n in sizes:
        _check_points(n)
    return sizes, dims


def _c2r_canonical(x: Tensor, s: tuple | None, dim: tuple | None,
                   name: str) -> tuple[tuple, tuple]:
    """``(output sizes, dims)`` of an n-d complex-to-real transform: the last transformed
    size defaults to ``2 * (m - 1)`` for an input of ``m`` entries there."""
    sizes, dims = _canonical(x, s, dim)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    last = 2 * (x.shape[dims[-1]] - 1) if s is None or s[-1] == -1 else sizes[-1]
    _check_points(last)
    return sizes[:-1] + (last,), dims


def _finish_out(res: Tensor, out, name: str, complex_out: bool, kernel: str,
                exact: bool = False) -> Tensor:
    """torch's ``out=`` for a transform: the kind of ``out``'s dtype must fit (complex or
    floating point), then the result is written into it (cast, resized if needed). With
    ``exact`` (torch's 1-d inverse transforms of a real input, which conjugate into ``out``)
    the dtype must be the result's."""
    if out is None:
        return res
    if isinstance(out, TensorBase):
        od = out.dtype
        if exact and od.is_complex and od is not res.dtype:
            raise RuntimeError(f"Found dtype {D._SCALAR_NAMES[od.name]} but expected "
                               f"{D._SCALAR_NAMES[res.dtype.name]}")
        if complex_out and not od.is_complex:
            raise RuntimeError(f"{name} expects a complex output tensor, but got "
                               f"{D._SCALAR_NAMES[od.name]}")
        if not complex_out and not od.is_floating_point:
            raise RuntimeError(f"{name} expects a floating point output tensor, but got "
                               f"{D._SCALAR_NAMES[od.name]}")
    return write_out(res, out, kernel, rule="any")


# --------------------------------------------------------------------------------------------
# one-dimensional transforms


def _one_dim(input, n, dim, norm, name: str) -> tuple[int, int | None]:
    """Type checks of a 1-d transform's arguments (before anything else, as torch's parser)."""
    _check_input(input, name)
    _check_int(n, "n", name)
    if not _is_int(dim):
        raise TypeError(f"fft_{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    _check_norm_type(norm, name)
    return _int(dim), (None if n is None else _int(n))


def _c2c_1d(input, n, dim, norm, out, name: str, forward: bool) -> Tensor:
    dim, n = _one_dim(input, n, dim, norm, name)
    x = _promote(input)
    d = _wrap(dim, x.ndim)
    size = x.shape[d] if n is None else n
    _check_points(size)
    scale = _scale(norm, forward)
    res = _c2c(x, (d,), None if n is None else (n,), scale, forward)
    real = not x.dtype.is_complex
    return _finish_out(res, out, name, True, "_fft_r2c" if real else "_fft_c2c",
                       exact=real and not forward)


def _r2c_1d(input, n, dim, norm, out, name: str, forward: bool) -> Tensor:
    dim, n = _one_dim(input, n, dim, norm, name)
    _check_real_input(input, name)
    x = _promote(input)
    d = _wrap(dim, x.ndim)
    size = x.shape[d] if n is None else n
    _check_points(size)
    scale = _scale(norm, forward)
    res = _r2c(x, (d,), None if n is None else (n,), scale, not forward)
    return _finish_out(res, out, name, True, "_fft_r2c", exact=not forward)


def _c2r_1d(input, n, dim, norm, out, name: str, forward: bool) -> Tensor:
    dim, n = _one_dim(input, n, dim, norm, name)
    x = _promote(input)
    d = _wrap(dim, x.ndim)
    last = 2 * (x.shape[d] - 1) if n is None else n
    _check_points(last)
    scale = _scale(norm, forward)
    res = _c2r(x, (d,), (last,), scale, forward)
    return _finish_out(res, out, name, False, "_fft_c2r")


def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
        out: Tensor | None = None) -> Tensor:
    """The one-dimensional discrete Fourier transform of ``input`` along ``dim``.

    Args:
        input: a real or complex tensor (integers are promoted to the default float dtype).
        n: the signal length: ``input`` is zero-padded or cut to ``n`` along ``dim`` first.
        dim: the dimension to transform.
        norm: ``"backward"`` (default, no scaling), ``"forward"`` (scale by ``1/n``) or
            ``"ortho"`` (``1/sqrt(n)``).
        out: a complex tensor to write the result into.

    Returns:
        A complex tensor (complex64 for float32 / complex64 input, else complex128).

    Example:
        >>> gpuarr.fft.fft(gpuarr.tensor([1.0, 0.0, 0.0, 0.0]))
        tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    return _c2c_1d(input, n, dim, norm, out, "fft", True)


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The one-dimensional inverse discrete Fourier transform of ``input`` along ``dim``.

    Args:
        input: a real or complex tensor.
        n: the signal length (``input`` zero-padded or cut to it along ``dim``).
        dim: the dimension to transform.
        norm: ``"backward"`` (default: scale by ``1/n``), ``"forward"`` (no scaling) or
            ``"ortho"`` (``1/sqrt(n)``).
        out: a complex tensor to write the result into.

    Returns:
        A complex tensor.

    Example:
        >>> gpuarr.fft.ifft(gpuarr.fft.fft(gpuarr.tensor([1.0, 2.0]))).real
        tensor([1., 2.])
    """
    return _c2c_1d(input, n, dim, norm, out, "ifft", False)


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The one-dimensional Fourier transform of a real ``input``: the ``n // 2 + 1``
    non-negative frequencies (the others are their conjugates).

    Args:
        input: a real tensor.
        n: the signal length (``input`` zero-padded or cut to it along ``dim``).
        dim: the dimension to transform.
        norm: as for :func:`fft`.
        out: a complex tensor to write the result into.

    Returns:
        A complex tensor with ``n // 2 + 1`` entries along ``dim``.

    Example:
        >>> gpuarr.fft.rfft(gpuarr.tensor([1.0, 1.0, 1.0, 1.0]))
        tensor([4.+0.j, 0.+0.j, 0.+0.j])
    """
    return _r2c_1d(input, n, dim, norm, out, "rfft", True)


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`rfft`: a real signal of length ``n`` (default
    ``2 * (m - 1)`` for ``m`` input entries along ``dim``) from its one-sided spectrum.

    The imaginary parts of the zero-frequency (and, for even ``n``, the Nyquist) entry are
    ignored.

    Args:
        input: the one-sided spectrum (complex; a real tensor is taken as complex).
        n: the output length; the input is zero-padded or cut to ``n // 2 + 1`` entries.
        dim: the dimension to transform.
        norm: as for :func:`ifft`.
        out: a floating point tensor to write the result into.

    Returns:
        A real tensor with ``n`` entries along ``dim``.

    Example:
        >>> gpuarr.fft.irfft(gpuarr.fft.rfft(gpuarr.tensor([1.0, 2.0, 3.0])), n=3)
        tensor([1., 2., 3.])
    """
    return _c2r_1d(input, n, dim, norm, out, "irfft", False)


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The Fourier transform of a Hermitian-symmetric signal given by its first half: a real
    tensor of length ``n`` (default ``2 * (m - 1)``).

    Args:
        input: the first half of the signal (complex).
        n: the output length; the input is zero-padded or cut to ``n // 2 + 1`` entries.
        dim: the dimension to transform.
        norm: as for :func:`fft` (``"backward"``: no scaling).
        out: a floating point tensor to write the result into.

    Returns:
        A real tensor with ``n`` entries along ``dim``.

    Example:
        >>> gpuarr.fft.hfft(gpuarr.fft.ihfft(gpuarr.tensor([1.0, 2.0, 3.0, 4.0])), n=4)
        tensor([1., 2., 3., 4.])
    """
    return _c2r_1d(input, n, dim, norm, out, "hfft", True)


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`hfft`: the first ``n // 2 + 1`` entries of the inverse Fourier
    transform of a real ``input``.

    Args:
        input: a real tensor.
        n: the signal length (``input`` zero-padded or cut to it along ``dim``).
        dim: the dimension to transform.
        norm: as for :func:`ifft` (``"backward"``: scale by ``1/n``).
        out: a complex tensor to write the result into.

    Returns:
        A complex tensor with ``n // 2 + 1`` entries along ``dim``.

    Example:
        >>> gpuarr.fft.ihfft(gpuarr.tensor([4.0, 0.0, 0.0, 0.0]))
        tensor([1.-0.j, 1.-0.j, 1.-0.j])
    """
    return _r2c_1d(input, n, dim, norm, out, "ihfft", False)


# --------------------------------------------------------------------------------------------
# n-dimensional transforms


def _nd_args(input, s, dim, norm, fname: str) -> tuple:
    """Type checks of an n-d transform's arguments, in torch's parser's order; ``s`` and
    ``dim`` as tuples (or None)."""
    _check_input(input, fname)
    s = _int_tuple(s, "s", fname)
    dim = _int_tuple(dim, "dim", fname)
    _check_norm_type(norm, fname)
    return s, dim


def _c2c_nd(input, s, dim, norm, out, fname: str, forward: bool) -> Tensor:
    s, dim = _nd_args(input, s, dim, norm, fname)
    sizes, dims = _canonical(input, s, dim)
    x = _promote(input)
    scale = _scale(norm, forward)
    res = _c2c(x, dims, sizes if dims else None, scale, forward)
    kernel = "_fft_c2c" if x.dtype.is_complex else "_fft_r2c"
    return _finish_out(res, out, "fftn" if forward else "ifftn", True, kernel)


def _r2c_nd(input, s, dim, norm, out, fname: str, forward: bool) -> Tensor:
    s, dim = _nd_args(input, s, dim, norm, fname)
    name = fname.replace("2", "n")  # the 2-d forms are the n-d ones in torch's texts
    if forward:
        _check_real_input(input, name, "a real-valued input tensor")
    sizes, dims = _canonical(input, s, dim)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    if input.dtype.is_complex:
        raise RuntimeError("Only supports floating-point dtypes, but found: "
                           f"{D._SCALAR_NAMES[input.dtype.name]}")
    x = _promote(input)
    scale = _scale(norm, forward)
    res = _r2c(x, dims, sizes, scale, not forward)
    return _finish_out(res, out, name, True, "_fft_r2c")


def _c2r_nd(input, s, dim, norm, out, fname: str, forward: bool) -> Tensor:
    s, dim = _nd_args(input, s, dim, norm, fname)
    name = fname.replace("2", "n")
    sizes, dims = _c2r_canonical(input, s, dim, name)
    x = _promote(input)
    scale = _scale(norm, forward)
    res = _c2r(x, dims, sizes, scale, forward)
    return _finish_out(res, out, name, False, "_fft_c2r")


def fftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The n-dimensional discrete Fourier transform of ``input`` over ``dim``.

    Args:
        input: a real or complex tensor.
        s: the signal sizes along ``dim`` (``input`` zero-padded or cut to them; ``-1`` keeps
            a dimension's size). Default: the input's sizes.
        dim: the dimensions to transform; default all of them, or the last ``len(s)`` when
            ``s`` is given.
        norm: as for :func:`fft`, over the product of the transformed sizes.
        out: a complex tensor to write the result into.

    Returns:
        A complex tensor.

    Example:
        >>> gpuarr.fft.fftn(gpuarr.ones(2, 2))
        tensor([[4.+0.j, 0.+0.j],
                [0.+0.j, 0.+0.j]])
    """
    return _c2c_nd(input, s, dim, norm, out, "fftn", True)


def ifftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The n-dimensional inverse discrete Fourier transform (arguments as :func:`fftn`).

    Returns:
        A complex tensor.

    Example:
        >>> gpuarr.fft.ifftn(gpuarr.fft.fftn(gpuarr.ones(2, 2))).real
        tensor([[1., 1.],
                [1., 1.]])
    """
    return _c2c_nd(input, s, dim, norm, out, "ifftn", False)


def rfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The n-dimensional Fourier transform of a real ``input``; the last transformed
    dimension keeps its ``s[-1] // 2 + 1`` non-negative frequencies (arguments as
    :func:`fftn`).

    Returns:
        A complex tensor.

    Example:
        >>> gpuarr.fft.rfftn(gpuarr.ones(2, 4)).shape
        gpuarr.Size([2, 3])
    """
    return _r2c_nd(input, s, dim, norm, out, "rfftn", True)


def irfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`rfftn`. ``s`` gives the real output's sizes (the last one
    defaults to ``2 * (m - 1)`` for ``m`` input entries along the last transformed dim).

    Returns:
        A real tensor.

    Example:
        >>> x = gpuarr.rand(3, 4)
        >>> gpuarr.allclose(gpuarr.fft.irfftn(gpuarr.fft.rfftn(x), s=x.shape), x)
        True
    """
    return _c2r_nd(input, s, dim, norm, out, "irfftn", False)


def hfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The n-dimensional Fourier transform of a Hermitian-symmetric signal given by one half
    of its last transformed dimension (arguments as :func:`irfftn`; ``"backward"`` norm: no
    scaling).

    Returns:
        A real tensor.

    Example:
        >>> x = gpuarr.rand(3, 4)
        >>> gpuarr.allclose(gpuarr.fft.hfftn(gpuarr.fft.ihfftn(x), s=x.shape), x)
        True
    """
    return _c2r_nd(input, s, dim, norm, out, "hfftn", True)


def ihfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`hfftn`: the n-dimensional inverse transform of a real ``input``,
    one-sided along the last transformed dimension.

    Returns:
        A complex tensor.

    Example:
        >>> gpuarr.fft.ihfftn(gpuarr.ones(2, 4)).shape
        gpuarr.Size([2, 3])
    """
    return _r2c_nd(input, s, dim, norm, out, "ihfftn", False)


def fft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """:func:`fftn` over the last two dimensions by default.

    Example:
        >>> gpuarr.fft.fft2(gpuarr.ones(2, 2))[0, 0]
        tensor(4.+0.j)
    """
    return _c2c_nd(input, s, dim, norm, out, "fft2", True)


def ifft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """:func:`ifftn` over the last two dimensions by default.

    Example:
        >>> gpuarr.fft.ifft2(gpuarr.ones(2, 2))[0, 0]
        tensor(1.+0.j)
    """
    return _c2c_nd(input, s, dim, norm, out, "ifft2", False)


def rfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """:func:`rfftn` over the last two dimensions by default.

    Example:
        >>> gpuarr.fft.rfft2(gpuarr.ones(2, 4)).shape
        gpuarr.Size([2, 3])
    """
    return _r2c_nd(input, s, dim, norm, out, "rfft2", True)


def irfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """:func:`irfftn` over the last two dimensions by default.

    Example:
        >>> gpuarr.fft.irfft2(gpuarr.fft.rfft2(gpuarr.ones(2, 4))).shape
        gpuarr.Size([2, 4])
    """
    return _c2r_nd(input, s, dim, norm, out, "irfft2", False)


def hfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """:func:`hfftn` over the last two dimensions by default.

    Example:
        >>> gpuarr.fft.hfft2(gpuarr.fft.ihfft2(gpuarr.ones(2, 4))).shape
        gpuarr.Size([2, 4])
    """
    return _c2r_nd(input, s, dim, norm, out, "hfft2", True)


def ihfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """:func:`ihfftn` over the last two dimensions by default.

    Example:
        >>> gpuarr.fft.ihfft2(gpuarr.ones(2, 4)).shape
        gpuarr.Size([2, 3])
    """
    return _r2c_nd(input, s, dim, norm, out, "ihfft2", False)


# --------------------------------------------------------------------------------------------
# helpers: sample frequencies and shifts


def _freqs(n, d, name: str, count: int, wrap: bool, out, dtype, device, requires_grad):
    if not _is_int(n):
        raise TypeError(f"fft_{name}(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    n = _int(n)
    if dtype is None:
        dtype = out.dtype if isinstance(out, TensorBase) else D.get_default_dtype()
    dtype = D.as_dtype(dtype)
    if dtype.is_complex:
        raise NotImplementedError(f"\"arange_cpu\" not implemented for "
                                  f"'{D._SCALAR_NAMES[dtype.name]}'")
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    if count < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {count}: "
                           f"[{count}]")
    if device is None and isinstance(out, TensorBase):
        device = out.device
    dev = factory_device(device)
    xp = dev._xp()
    # torch: arange in the dtype, the upper half shifted down by n, times 1 / (n * d) in the
    # dtype's compute precision (float32 for the half types)
    work = np.dtype(np.float64) if dtype is D.float64 else np.dtype(np.float32)
    k = xp.arange(count, dtype=work)
    if wrap:
        k[(n + 1) // 2:] -= n
    nd = n * float(d)
    scale = 1.0 / nd if nd != 0 else math.copysign(math.inf, nd)
    res = (k * work.type(scale)).astype(dtype.np, copy=False)
    t = _finish(res, dev, bool(requires_grad))
    if out is not None:
        return write_out(t, out, f"fft_{name}", rule="any")
    return t


def fftfreq(n: int, d: float = 1.0, *, out: Tensor | None = None, dtype=None, layout=None,
            device=None, requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point :func:`fft` with sample spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (n * d)``.

    Args:
        n: the signal length.
        d: the sample spacing (1 / the sampling rate).
        out: a tensor to write the result into.
        dtype: a floating point dtype (default: the default float dtype).
        layout: accepted for torch's signature (strided only).
        device: where to create the result.
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A 1-d tensor of ``n`` frequencies.

    Example:
        >>> gpuarr.fft.fftfreq(4)
        tensor([ 0.0000,  0.2500, -0.5000, -0.2500])
    """
    return _freqs(n, d, "fftfreq", _int(n) if _is_int(n) else 0, True, out, dtype, device,
                  requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, out: Tensor | None = None, dtype=None, layout=None,
             device=None, requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point :func:`rfft`: ``[0, 1, ..., n // 2] / (n * d)``.

    Args:
        n: the signal length.
        d: the sample spacing.
        out: a tensor to write the result into.
        dtype: a floating point dtype (default: the default float dtype).
        layout: accepted for torch's signature (strided only).
        device: where to create the result.
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A 1-d tensor of ``n // 2 + 1`` frequencies.

    Example:
        >>> gpuarr.fft.rfftfreq(4)
        tensor([0.0000, 0.2500, 0.5000])
    """
    return _freqs(n, d, "rfftfreq", _int(n) // 2 + 1 if _is_int(n) else 0, False, out, dtype,
                  device, requires_grad)


def _shift(input: Tensor, dim, name: str, up: bool) -> Tensor:
    _check_input(input, name)
    if dim is None:
        dims = list(range(input.ndim))
    else:
        dims = list(_int_tuple(dim, "dim", name))
    shifts = [(input.shape[_wrap(d, input.ndim)] + up) // 2 for d in dims]
    return roll(input, shifts, dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Move the zero-frequency entry of an :func:`fftn` result to the centre of ``dim``
    (default: all dimensions), by rolling each by half its size.

    Args:
        input: a tensor in FFT order.
        dim: the dimensions to shift (an int or a tuple).

    Returns:
        The rolled tensor.

    Example:
        >>> gpuarr.fft.fftshift(gpuarr.fft.fftfreq(5))
        tensor([-0.4000, -0.2000,  0.0000,  0.2000,  0.4000])
    """
    return _shift(input, dim, "fftshift", False)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """The inverse of :func:`fftshift`.

    Args:
        input: a tensor in centred order.
        dim: the dimensions to shift (an int or a tuple).

    Returns:
        The rolled tensor.

    Example:
        >>> gpuarr.fft.ifftshift(gpuarr.fft.fftshift(gpuarr.fft.fftfreq(5)))
        tensor([ 0.0000,  0.2000,  0.4000, -0.4000, -0.2000])
    """
    return _shift(input, dim, "ifftshift", True)
