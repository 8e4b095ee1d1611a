"""torch's randomized low-rank linear algebra: ``svd_lowrank`` and ``pca_lowrank``.

Both follow Halko, Martinsson and Tropp, "Finding structure with randomness" (2009): a random
Gaussian projection finds an orthonormal basis ``Q`` of ``A``'s dominant column space (their
Algorithm 4.4, with ``niter`` power iterations re-orthonormalised by QR), and the SVD of the
small ``Q^H A`` gives the leading singular triplets (their Algorithm 5.1).

Everything is composed from gpuarr's own differentiable ops (matmul, ``linalg.qr``,
``linalg.svd``, transposes, mean), so gradients flow through the random projection like in
torch. The projection is drawn with ``gpuarr.randn``: set ``gpuarr.manual_seed`` for
repeatable results.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

from .. import _dtype as D
from .decompositions import svd as _linalg_svd
from .decompositions_extra import qr as _linalg_qr
from .matmul import matmul
from .random import randn

if TYPE_CHECKING:  # annotations name the public class
    from ._tensor import Tensor

__all__ = ["svd_lowrank", "pca_lowrank"]


def _floating_dtype(A: Tensor) -> D.dtype:
    """The dtype the random projection is drawn in: A's own when it is a float, else float32
    (an integer A then fails in matmul with torch's dtype-mismatch error, as in torch)."""
    if A.dtype in (D.float16, D.float32, D.float64):
        return A.dtype
    return D.float32


def _check_q(fn: str, q) -> None:
    # torch's q ends up as a size of randn; a non-integer fails there with this text
    # (a bool is an integer there, as in Python)
    if not isinstance(q, numbers.Integral):
        raise TypeError(f"{fn}(): argument 'size' failed to unpack the object at pos 2 with "
                        f"error \"type must be tuple of ints,but got {type(q).__name__}\"")


def _approximate_basis(A: Tensor, q: int, niter: int | None = 2,
                       M: Tensor | None = None) -> Tensor:
    """Orthonormal ``Q`` (``(*, m, q)``) with ``Q Q^H (A - M) ~ A - M`` (Halko et al. 4.4)."""
    niter = 2 if niter is None else niter
    R = randn(A.shape[-1], q, dtype=_floating_dtype(A), device=A.device)

    def project(X: Tensor, Y: Tensor, MX: Tensor | None) -> Tensor:
        # (A - M) @ Y without forming A - M: A and M can be huge while Y is thin
        out = matmul(X, Y)
        return out if MX is None else out - matmul(MX, Y)

    AH = A.mH
    MH = None if M is None else M.mH
    Q = _linalg_qr(project(A, R, M)).Q
    for _ in range(niter):
        # power iterations sharpen the spectrum's decay; QR after each product keeps the
        # basis from collapsing onto the top singular vector in floating point
        Q = _linalg_qr(project(AH, Q, MH)).Q
        Q = _linalg_qr(project(A, Q, M)).Q
    return Q


def _svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2,
                 M: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    q = 6 if q is None else q
    _check_q("randn", q)
    q = int(q)
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.size())
    wide = m < n
    if wide:  # work on the tall matrix: the basis then has min(m, n) rows to span
        A = A.mH
        if M is not None:
            M = M.mH
    Q = _approximate_basis(A, q, niter=niter, M=M)
    QH = Q.mH
    B = matmul(QH, A)
    if M is not None:
        B = B - matmul(QH, M)
    U, S, Vh = _linalg_svd(B, full_matrices=False)
    V = Vh.mH
    U = matmul(Q, U)
    if wide:
        U, V = V, U
    return U, S, V


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2,
                M: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Approximate truncated SVD ``(U, S, V)`` with ``A - M ~ U diag(S) V^H``, by a randomized
    range finder (Halko et al. 2009, Algorithms 4.4 and 5.1).

    Args:
        A: a tensor of shape ``(*, m, n)``.
        q: a slightly overestimated rank of ``A`` (default 6): the number of columns of
            ``U`` and ``V``, capped by ``min(m, n)``.
        niter: the number of power (subspace) iterations, a non-negative integer (default 2;
            None means 2).
        M: the mean of ``A``, broadcast to ``A``'s shape; the SVD is of ``A - M``, computed
            without forming ``A - M``.

    Returns:
        A tuple ``(U, S, V)``: ``U`` of shape ``(*, m, k)``, ``S`` of shape ``(*, k)`` in
        descending order, ``V`` of shape ``(*, n, k)``, ``k = min(q, m, n)``. Gradients flow
        to ``A`` and ``M``.

    The projection is random: call ``gpuarr.manual_seed`` first for repeatable results.

    Example:
        >>> A = gpuarr.randn(100, 5) @ gpuarr.randn(5, 40)
        >>> U, S, V = gpuarr.svd_lowrank(A, q=6)
        >>> (U @ gpuarr.diag_embed(S) @ V.mT - A).abs().max() < 1e-3
        tensor(True)
    """
    return _svd_lowrank(A, q=q, niter=niter, M=M)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True,
                niter: int = 2) -> tuple[Tensor, Tensor, Tensor]:
    """Principal component analysis of a (batch of) low-rank data matrices: the approximate
    SVD ``(U, S, V)`` of ``A`` with its column means removed (when ``center``).

    ``V``'s columns are the principal directions, ``S ** 2 / (m - 1)`` the variances along
    them, and ``A @ V[:, :k]`` projects the data onto the first ``k`` components.

    Args:
        A: a tensor of shape ``(*, m, n)``: ``m`` samples of ``n`` features.
        q: a slightly overestimated rank of ``A``; default ``min(6, m, n)``. Must be in
            ``[0, min(m, n)]``.
        center: subtract the mean over the samples (dim -2) first; False assumes centred data.
        niter: the number of power iterations, a non-negative integer (default 2).

    Returns:
        A tuple ``(U, S, V)`` of shapes ``(*, m, q)``, ``(*, q)`` and ``(*, n, q)``.

    Raises:
        ValueError: for ``q`` outside ``[0, min(m, n)]`` or a negative ``niter``.

    Example:
        >>> X = gpuarr.randn(200, 3) @ gpuarr.randn(3, 10)
        >>> U, S, V = gpuarr.pca_lowrank(X, q=3)
        >>> V.shape
        gpuarr.Size([10, 3])
    """
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than "
                         f"min(m, n)={min(m, n)}")
    if not (niter >= 0):
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return _svd_lowrank(A, q, niter=niter, M=None)
    C = A.mean(dim=(-2,), keepdim=True)
    return _svd_lowrank(A - C, q, niter=niter, M=None)
