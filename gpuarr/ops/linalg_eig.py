"""``linalg.eig`` and ``linalg.eigvals``: eigen-decomposition of general (non-symmetric)
square matrices, as ``torch.linalg.eig`` / ``torch.linalg.eigvals``.

The eigenvalues and eigenvectors of a real matrix are complex in general, so both functions
always return complex tensors: complex64 for float32 / complex64 input, complex128 for float64
/ complex128 input. The eigenvectors are LAPACK ``geev``'s: each column has norm 1 (and its
largest component real); the eigenvalues come in no particular order.

NumPy computes them (``numpy.linalg.eig``, LAPACK ``geev``). CuPy's general eigensolver
(``cupy.linalg.eig``) is recent and needs a recent cuSOLVER, so on CUDA the matrices are copied
to the host, decomposed there and copied back: like torch, whose CUDA ``eig`` also runs on the
host (MAGMA's ``geev``), and so synchronises (the sync debug mode reports it).

The gradient is torch's ``linalg_eig_backward``. Eigenvectors are defined only up to a
complex phase per column, so a loss that depends on that phase has no gradient: the backward
raises torch's error when it detects one.

Example:
    >>> L, V = eig(gpuarr.tensor([[2., 0.], [0., 3.]]))
    >>> L
    tensor([2.+0.j, 3.+0.j])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import return_types
from .._autocast import state as _amp
from .._core.function import Function
from .._core.tensor import TensorBase, _make
from ._common import apply_raw, check_tensor, dtype_name, no_grad_needed
from ._out import write_out
from .decompositions import Solve, _check_square, _const, _host, _mT, _no_kernel
from .matmul import _product

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["eig", "eigvals"]

EigResult = return_types.linalg_eig

# torch's error when the loss sees the eigenvectors' phase
_PHASE_ERROR = (
    "linalg_eig_backward: The eigenvectors in the complex case are specified up to "
    "multiplication by e^{i phi}. The specified loss function depends on this quantity, so it "
    "is ill-defined."
)



def _complex_of(dt) -> np.dtype:
    """The complex dtype of ``dt``'s precision (float32/complex64 -> complex64, else
    complex128)."""
    return np.result_type(dt, np.complex64)


# --------------------------------------------------------------------------------------------
# argument checks (torch's texts)


def _check_input(fn: str, A) -> None:
    check_tensor(A, "input", f"linalg_{fn}", 1)
    _check_square(fn, A)
    kind = A._data.dtype.kind
    if kind not in "fc":
        # torch maps the input dtype to its complex counterpart first, and integers have none
        raise RuntimeError(f"Unknown Complex ScalarType for {dtype_name(A.dtype)}")
    _no_kernel("linalg_eig_out_cpu", A)  # half precision (geev has no kernel for it)
    if A._data.dtype.type not in (np.float32, np.float64, np.complex64, np.complex128):
        raise NotImplementedError(
            f'"linalg_eig_out_cpu" not implemented for \'{dtype_name(A.dtype)}\'')


def _check_out_dtype(fn: str, out, names: tuple, result_dtype) -> None:
    """torch's check that ``out``'s tensors can hold a complex result (any complex dtype can)."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for t, name in zip(outs, names):
        if isinstance(t, TensorBase) and t._data.dtype.kind != "c":
            raise RuntimeError(
                f"torch.linalg.{fn}: Expected {name} to be safely castable from "
                f"{dtype_name(result_dtype)} dtype, but got {name} with dtype "
                f"{dtype_name(t.dtype)}"
            )


# --------------------------------------------------------------------------------------------
# the decomposition (host LAPACK) and its backward


def _eig_raw(xp, A, vectors: bool):
    """``(L, V)`` (``V`` None unless ``vectors``) of a backend array ``A (*, n, n)``, as
    complex arrays of ``A``'s backend."""
    cdt = _complex_of(A.dtype)
    n = A.shape[-1]
    if A.size == 0:  # LAPACK refuses empty matrices; the (trivial) results need no host trip
        L = xp.zeros(A.shape[:-1], dtype=cdt)
        return L, (xp.zeros(A.shape, dtype=cdt) if vectors else None)
    host = _host(A, xp)  # a device-to-host copy on CUDA (torch's CUDA eig waits here too)
    if not np.isfinite(host).all():
        raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
    if vectors:
        w, v = np.linalg.eig(host)
        # NumPy returns real arrays when every eigenvalue of a real batch is real
        return xp.asarray(w.astype(cdt, copy=False)), xp.asarray(
            v.astype(cdt, copy=False).reshape(A.shape[:-2] + (n, n)))
    return xp.asarray(np.linalg.eigvals(host).astype(cdt, copy=False)), None


class Eig(Function):
    """``A V = V diag(L)`` for a general square ``A``; the backward is torch's
    ``linalg_eig_backward`` (non-Hermitian case)."""

    _raw = True
    _node_name = "LinalgEigBackward0"  # torch's (eigvals records the same node)
    _complex_grad = True  # written for complex eigenvalues/eigenvectors (torch's convention)

    @staticmethod
    def forward(ctx, A):
        ctx.set_materialize_grads(False)
        L, V = _eig_raw(ctx.xp, A, True)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        return _eig_backward(gL, gV, L, V)


def _eig_backward(gL, gV, L: Tensor, V: Tensor):
    """torch's ``linalg_eig_backward`` for a general matrix: with ``A = V diag(L) V^-1``,

    ``gA = V^-H (diag(gL) + (V^H gV - V^H V Re(diag(V^H gV))) / conj(L_j - L_i)) V^H``

    (off the diagonal of the middle term; its diagonal is ``gL``). The subtracted term is
    the part of ``gV`` the unit-norm columns cannot move along. ``Im(diag(V^H gV)) != 0`` means
    the loss changes when a column is multiplied by ``e^{i phi}``: then there is no gradient.
    """
    if gL is None and gV is None:
        return None
    Vh = _mT(V).conj()
    # (Solve is HOLOMORPHIC, ops/complex_grads.py: these complex solves differentiate, twice too)
    if gV is None:  # eigenvalues only (eigvals): gA = V^-H diag(gL) V^H
        return Solve.apply(Vh, gL.unsqueeze(-1) * Vh)
    n = L._data.shape[-1]
    xp = L._device._xp()
    VhgV = _product(Vh, gV)
    diag = VhgV.diagonal(0, -2, -1)
    im = diag._data.imag
    # torch's tolerance (allclose to 0 with rtol = atol = 1e-2); reading it waits for the device
    if not bool(_host(xp.all(xp.abs(im) <= 1e-2), xp)):
        raise RuntimeError(_PHASE_ERROR)
    eye = xp.eye(n, dtype=L._data.dtype)
    Lc = L.conj()
    # conj(L_j - L_i), with 1 on the diagonal (overwritten below)
    E = Lc.unsqueeze(-2) - Lc.unsqueeze(-1) + _const(eye, L)
    gA = (VhgV - _product(Vh, V * diag.real.unsqueeze(-2))) / E
    if gL is not None:  # the diagonal is gL
        gA = gA * _const(1 - eye, L) + gL.unsqueeze(-1) * _const(eye, L)
    return Solve.apply(Vh, _product(gA, Vh))


# --------------------------------------------------------------------------------------------
# public functions


def eig(A: Tensor, *, out=None):
    """Eigenvalues and eigenvectors of a square (batch of) matrices: ``A V = V diag(L)``.

    Args:
        A: a (batch of) square matrices ``(*, n, n)``: float32, float64, complex64 or
            complex128.
        out: optional ``(eigenvalues, eigenvectors)`` tuple of complex tensors to write into.

    Returns:
        ``(eigenvalues, eigenvectors)`` (a named tuple): complex tensors of shapes ``(*, n)``
        and ``(*, n, n)``, complex64 for float32 / complex64 ``A``, complex128 otherwise. Each
        eigenvector (a column) has norm 1; the order of the eigenvalues is unspecified. On
        CUDA the decomposition runs on the host (one synchronisation), as in torch.

    Raises:
        RuntimeError: ``A`` is not a batch of square matrices, is not floating or complex, or
            holds infs or NaNs; and, in the backward, when the loss depends on the phase of
            the eigenvectors (torch's ``linalg_eig_backward`` error).

    Gradients need distinct eigenvalues and a loss that is invariant to multiplying an
    eigenvector by ``e^{i phi}`` (e.g. one of ``abs(V)`` or of the eigenvalues).

    Example:
        >>> L, V = gpuarr.linalg.eig(gpuarr.tensor([[0., -1.], [1., 0.]]))
        >>> L
        tensor([0.+1.j, 0.-1.j])
    """
    if _amp.on:  # torch's CPU autocast runs eig in float32 (its CUDA autocast leaves it)
        return _amp.run("eig", eig, A, out=out)
    _check_input("eig", A)
    if out is not None:
        if not isinstance(out, (tuple, list)):
            raise TypeError(f"linalg_eig(): argument 'out' must be tuple of Tensors, not "
                            f"{type(out).__name__}")
        _check_out_dtype("eig", out, ("eigenvalues", "eigenvectors"),
                         _complex_of(A._data.dtype))
    res = EigResult(*apply_raw(Eig, A))
    return res if out is None else write_out(res, out, "linalg_eig", rule="any")


def eigvals(A: Tensor, *, out=None) -> Tensor:
    """Eigenvalues of a square (batch of) matrices (see :func:`eig`).

    Args:
        A: a (batch of) square matrices ``(*, n, n)``: float32, float64, complex64 or
            complex128.
        out: optional complex tensor to write into.

    Returns:
        The eigenvalues, a complex tensor of shape ``(*, n)`` (complex64 for float32 /
        complex64 ``A``, complex128 otherwise), in no particular order. The gradient is
        :func:`eig`'s with no eigenvector term.

    Example:
        >>> gpuarr.linalg.eigvals(gpuarr.tensor([[2., 1.], [0., 3.]]))
        tensor([2.+0.j, 3.+0.j])
    """
    if _amp.on:
        return _amp.run("eigvals", eigvals, A, out=out)
    _check_input("eigvals", A)
    if out is not None:
        _check_out_dtype("eigvals", out, ("eigenvalues",), _complex_of(A._data.dtype))
    if no_grad_needed(A):  # geev without the eigenvectors
        res = _make(_eig_raw(A._device._xp(), A._data, False)[0], A._device)
    else:
        res = apply_raw(Eig, A)[0]
    return res if out is None else write_out(res, out, "linalg_eigvals", rule="any")
