"""Complex numbers: conjugates, parts, and the conversions between real and complex tensors.

``complex64`` and ``complex128`` tensors hold NumPy/CuPy complex arrays. This module has the
ops that exist for them: :func:`view_as_real` / :func:`view_as_complex` (views, as in torch),
:func:`complex` and :func:`polar` (from real parts), and the complex forms of ``conj``,
``real``, ``imag``, ``abs``, ``angle`` and ``sgn`` (their public functions, in
``tensor_info``, ``tensor_extra`` and ``elementwise_extra``, call the ones here for complex
inputs). Every op here has a derivative by torch's convention for complex numbers: for a real
loss ``L`` and ``z = x + iy``, ``z.grad`` is ``dL/dx + i dL/dy``.

One difference from torch: ``conj()`` of a complex tensor computes the conjugate (as
``conj_physical``) instead of returning a lazily conjugated view, so ``is_conj()`` is always
False and writing into the result does not change the input.

Example:
    >>> z = gpuarr.view_as_complex(gpuarr.tensor([[1.0, 2.0], [3.0, -1.0]]))
    >>> z
    tensor([1.+2.j, 3.-1.j])
    >>> gpuarr.view_as_real(z.conj())
    tensor([[ 1., -2.],
            [ 3.,  1.]])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._core.tensor import TensorBase
from ._common import Function, broadcast_error, check_tensor, dtype_name
from ._out import write_out

if TYPE_CHECKING:
    from .._tensor import Tensor

__all__ = ["view_as_real", "view_as_complex", "complex", "polar"]


class Conj(Function):
    """The complex conjugate (a new array); its gradient is the conjugate gradient."""

    _raw = True
    _one_output = True
    _complex_grad = True
    _node_name = "ConjPhysicalBackward0"

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.conj(x)

    @staticmethod
    def backward(ctx, g):
        return g.conj()


class Real(Function):
    """The real part of a complex tensor, a view; the gradient flows to the real part."""

    _raw = True
    _is_view = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x):
        return x.real

    @staticmethod
    def backward(ctx, g):
        return g  # real: the engine makes it the input's complex dtype (imaginary part 0)


class Imag(Function):
    """The imaginary part of a complex tensor, a view; its gradient is ``1j * g``."""

    _raw = True
    _is_view = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x):
        return x.imag

    @staticmethod
    def backward(ctx, g):
        return g * 1j


class ViewAsReal(Function):
    """``(..., 2)`` real view of a complex tensor (real, imaginary)."""

    _raw = True
    _is_view = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x):
        # a trailing size-1 axis may be reinterpreted whatever the array's strides are
        return x[..., None].view(x.real.dtype)

    @staticmethod
    def backward(ctx, g):
        return view_as_complex(g.contiguous())


class ViewAsComplex(Function):
    """Complex view of a real ``(..., 2)`` tensor."""

    _raw = True
    _is_view = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, x):
        cd = np.complex64 if x.dtype == np.float32 else np.complex128
        return x.view(cd)[..., 0]

    @staticmethod
    def backward(ctx, g):
        return view_as_real(g)


class ComplexFromParts(Function):
    """``real + 1j * imag`` (broadcast); the gradients are the gradient's parts."""

    _raw = True
    _complex_grad = True
    _node_name = "ComplexBackward0"

    @staticmethod
    def forward(ctx, re, im):
        xp = ctx.xp
        try:
            shape = np.broadcast_shapes(re.shape, im.shape)
        except ValueError:
            raise broadcast_error(re.shape, im.shape) from None
        out = xp.empty(shape, np.complex64 if re.dtype == np.float32 else np.complex128)
        out.real[...] = re  # (.real/.imag of a complex array are views on NumPy and CuPy)
        out.imag[...] = im
        return out

    @staticmethod
    def backward(ctx, g):
        return g.real, g.imag


class Polar(Function):
    """``abs * (cos(angle) + 1j * sin(angle))``."""

    _raw = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, r, theta):
        ctx.save_for_backward(r, theta)
        re = r * ctx.xp.cos(theta)
        im = r * ctx.xp.sin(theta)
        return ComplexFromParts.forward(ctx, re, im)

    @staticmethod
    def backward(ctx, g):
        r, theta = ctx.saved_tensors
        gr, gi = g.real, g.imag
        c, s = theta.cos(), theta.sin()
        # dL/dr = Re(g * e^{-i theta}); dL/dtheta = Re(g * conj(i z)) = r (gi c - gr s)
        ga = gr * c + gi * s if ctx.needs_input_grad[0] else None
        gt = r * (gi * c - gr * s) if ctx.needs_input_grad[1] else None
        return ga, gt


class AbsComplex(Function):
    """``|z|`` (real); the gradient is ``g * z / |z|`` (0 at 0), torch's ``sgn(z) * g``."""

    _raw = True
    _complex_grad = True
    _node_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sgn_complex(x)


def _safe_abs(x: Tensor):
    """``(|x|, |x| with 1 where it is 0, mask of zeros)``: a divisor that never is zero."""
    a = AbsComplex.apply(x)
    zero = a == 0
    return a, a.masked_fill(zero, 1.0), zero


class AngleComplex(Function):
    """The argument of ``z``, in (-pi, pi]; the gradient is ``g * 1j * z / |z|^2`` (0 at 0)."""

    _raw = True
    _complex_grad = True
    _node_name = "AngleBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.angle(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        _, a, zero = _safe_abs(x)
        return (g * x * 1j / (a * a)).masked_fill(zero, 0)


class SgnComplex(Function):
    """``z / |z|`` (0 at 0). Not holomorphic: ``dL/dz* = (g - conj(g) s^2) / (2|z|)``, where
    ``s = z / |z|`` (0 at 0)."""

    _raw = True
    _complex_grad = True
    _node_name = "SgnBackward0"

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        a = xp.abs(x)
        zero = a == 0
        # (xp.where, not an in-place write: a 0-d quotient is a NumPy scalar)
        out = xp.where(zero, x.dtype.type(0), x / xp.where(zero, a.dtype.type(1), a))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        _, a, zero = _safe_abs(x)
        return ((g - g.conj() * s * s) / (2 * a)).masked_fill(zero, 0)


def conj_complex(input: Tensor) -> Tensor:
    """The conjugate of a complex tensor (a new tensor)."""
    return Conj.apply(input)


def real_complex(input: Tensor) -> Tensor:
    """The real part of a complex tensor, as a view."""
    return Real.apply(input)


def imag_complex(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as a view."""
    return Imag.apply(input)


def abs_complex(input: Tensor) -> Tensor:
    """``|input|`` of a complex tensor: a real tensor of its parts' dtype."""
    return AbsComplex.apply(input)


def angle_complex(input: Tensor) -> Tensor:
    """The argument of each element of a complex tensor: a real tensor in (-pi, pi]."""
    return AngleComplex.apply(input)


def sgn_complex(input: Tensor) -> Tensor:
    """``input / |input|`` of a complex tensor (0 where it is 0)."""
    return SgnComplex.apply(input)


def view_as_real(input: Tensor) -> Tensor:
    """A real view of a complex tensor, with a last dimension of size 2 (real, imaginary).

    Args:
        input: a complex tensor.

    Returns:
        A float32 (complex64 input) or float64 view of shape ``(*input.shape, 2)``; writes to
        it change ``input``.

    Raises:
        RuntimeError: when ``input`` is not complex.

    Example:
        >>> gpuarr.view_as_real(gpuarr.tensor([1 + 2j]))
        tensor([[1., 2.]])
    """
    check_tensor(input, "input", "view_as_real", 1)
    if not input.is_complex():
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(input)


def view_as_complex(input: Tensor) -> Tensor:
    """A complex view of a real tensor whose last dimension (size 2) holds real and
    imaginary parts.

    Args:
        input: a float32 or float64 tensor of shape ``(..., 2)`` whose last dimension has
            stride 1 and whose other strides and storage offset are even.

    Returns:
        A complex64 (float32 input) or complex128 view of shape ``input.shape[:-1]``.

    Raises:
        RuntimeError: for another dtype or layout (torch's messages). A float16 input, which
            torch views as complex32, raises TypeError: gpuarr has no complex32.

    Example:
        >>> gpuarr.view_as_complex(gpuarr.tensor([[1.0, 2.0]]))
        tensor([1.+2.j])
    """
    check_tensor(input, "input", "view_as_complex", 1)
    dt = input._data.dtype
    if dt.kind not in "fV":
        raise RuntimeError("view_as_complex is only supported for half, float and double "
                           f"tensors, but got a tensor of scalar type: {dtype_name(input.dtype)}")
    if dt not in (np.float32, np.float64):
        raise TypeError(f"view_as_complex of a {input.dtype} tensor would be complex32, "
                        "which gpuarr does not have (use float32 or float64)")
    shape = input._data.shape
    if not shape:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    st = input.stride()
    if st[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in st[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return ViewAsComplex.apply(input)


def _check_parts(a, b, op: str, names: tuple[str, str]) -> None:
    check_tensor(a, names[0], op, 1)
    check_tensor(b, names[1], op, 2)
    da, db = a._data.dtype, b._data.dtype
    if da.kind not in "fV" or db.kind not in "fV":
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got "
                           f"{dtype_name(a.dtype)} and {dtype_name(b.dtype)}")
    if da != db:
        raise RuntimeError(f"Expected object of scalar type {dtype_name(a.dtype)} but got "
                           f"scalar type {dtype_name(b.dtype)} for second argument")
    if da not in (np.float32, np.float64):
        raise TypeError(f"{op}() of {a.dtype} parts would be complex32, which gpuarr does not "
                        "have (use float32 or float64)")
    if a._device is not b._device:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                           f"two devices, {a._device} and {b._device}!")


def complex(real: Tensor, imag: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A001
    """The complex tensor ``real + 1j * imag`` (broadcast).

    Args:
        real: the real parts (float32 or float64).
        imag: the imaginary parts, of ``real``'s dtype.
        out: optional complex tensor to write the result into.

    Returns:
        A complex64 (float32 parts) or complex128 tensor.

    Example:
        >>> gpuarr.complex(gpuarr.tensor([1.0]), gpuarr.tensor([2.0]))
        tensor([1.+2.j])
    """
    _check_parts(real, imag, "complex", ("real", "imag"))
    res = ComplexFromParts.apply(real, imag)
    return res if out is None else write_out(res, out, "complex")


def polar(abs: Tensor, angle: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """The complex tensor with absolute values ``abs`` and angles ``angle``:
    ``abs * (cos(angle) + 1j * sin(angle))``, as used for rotary position embeddings.

    Args:
        abs: the absolute values (float32 or float64).
        angle: the angles in radians, of ``abs``'s dtype.
        out: optional complex tensor to write the result into.

    Returns:
        A complex64 (float32 inputs) or complex128 tensor.

    Example:
        >>> gpuarr.polar(gpuarr.tensor([2.0]), gpuarr.tensor([0.0]))
        tensor([2.+0.j])
    """
    _check_parts(abs, angle, "polar", ("abs", "angle"))
    res = Polar.apply(abs, angle)
    return res if out is None else write_out(res, out, "polar")


def no_complex(x, message: str, exc: type = RuntimeError) -> None:
    """Raise ``exc(message)`` when ``x`` is a complex tensor: for the ops that order values
    (comparisons, max, sort, clamp...), which torch refuses for complex numbers where NumPy
    would order them lexicographically. ``{kernel}`` in ``message`` becomes torch's
    ``"<name>" not implemented for '<dtype>'`` text, with ``{dev}`` the device type."""
    if isinstance(x, TensorBase) and x._data.dtype.kind == "c":
        raise exc(message.format(dev=x._device.type, dtype=dtype_name(x.dtype)))


def not_implemented_for(kernel: str) -> str:
    """torch's ``"<kernel>" not implemented for '<dtype>'`` message, as a :func:`no_complex`
    template (``{dev}`` in ``kernel`` is the device type)."""
    return f'"{kernel}" not implemented for \'{{dtype}}\''


