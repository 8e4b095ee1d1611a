"""torch's ``lobpcg``: a few extreme eigenpairs of a symmetric (generalized) eigenproblem
``A x = lambda B x`` by the Locally Optimal Block Preconditioned Conjugate Gradient method.

Two variants, as in torch: ``method='basic'`` (Knyazev 2001: Rayleigh-Ritz on the block
``[X, P, W]`` with a Cholesky-based B-orthonormalisation) and ``method='ortho'`` (the default:
the search block is B-orthonormalised with the SVQB procedure of Stathopoulos and Wu 2002, as
refined by Duersch et al. 2018, which stays stable where ``'basic'``'s Cholesky fails).

The iteration runs without a graph. When ``A`` requires grad, the result comes from a Function
whose backward is the eigen-decomposition's gradient restricted to the ``k`` computed pairs: the
part inside ``span(U)`` is the usual symmetric-eigh formula, the part outside solves a Sylvester
equation through the characteristic polynomial of the computed eigenvalues (Hu and Cheng 2006),
all written with differentiable gpuarr ops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import _dtype as D
from .._core.function import Function
from .._core.grad_mode import no_grad
from .._creation import eye, zeros
from .._random import Generator
from .decompositions import cholesky as _linalg_cholesky
from .decompositions import eigh as _eigh
from .decompositions import vector_norm
from .decompositions_extra import qr as _linalg_qr
from .decompositions_extra import solve_triangular
from .elementwise import where
from .linalg_extra import cholesky_solve
from .matmul import matmul
from .random import randn
from .stacking import diag_embed, flip, stack

if TYPE_CHECKING:  # annotations name the public class
    from ._tensor import Tensor

__all__ = ["lobpcg"]

# single/double precision epsilons torch's default tolerance is the square root of
_FEPS = {D.float32: 1.2e-07, D.float64: 2.23e-16}
# the fixed seed of the random basis of span(U)'s complement in backward: the gradient does not
# depend on which basis, but a fixed one keeps backward deterministic
_BACKWARD_SEED = 67280421310721


def _mm(A: Tensor | None, X: Tensor) -> Tensor:
    """``A @ X``, with ``A is None`` standing for the identity."""
    return X if A is None else matmul(A, X)


def _qform(A: Tensor | None, S: Tensor) -> Tensor:
    """``S^T A S``."""
    return matmul(S.mT, _mm(A, S))


def _symeig(A: Tensor, largest: bool | None = False) -> tuple[Tensor, Tensor]:
    """Eigenpairs of a symmetric matrix, ascending (descending when ``largest``)."""
    E, Z = _eigh(A, UPLO="U")
    if largest:
        E, Z = flip(E, dims=(-1,)), flip(Z, dims=(-1,))
    return E, Z


def _floating_dtype(A: Tensor) -> D.dtype:
    return A.dtype if A.dtype in (D.float16, D.float32, D.float64) else D.float32


# ---------------------------------------------------------------------------------------------
# backward


def _backward_complete(gD: Tensor, gU: Tensor, A: Tensor, E: Tensor, U: Tensor) -> Tensor:
    """The symmetric eigen-decomposition's gradient inside ``span(U)``:
    ``U (diag(gD) + (U^T gU) * F) U^T`` with ``F_ij = 1 / (e_j - e_i)`` off the diagonal."""
    n = E.shape[-1]
    eye_n = eye(n, dtype=E.dtype, device=E.device)
    # 0 on the diagonal, 1/(e_j - e_i) elsewhere, without an inf on the way
    F = (1 - eye_n) / (E.unsqueeze(-2) - E.unsqueeze(-1) + eye_n)
    Ut = U.mT
    return matmul(U, matmul(diag_embed(gD) + matmul(Ut, gU) * F, Ut))


def _poly_coefficients(roots: Tensor) -> list[Tensor]:
    """Coefficients ``[a_0, ..., a_k]`` (``a_k = 1``, each of shape ``roots.shape[:-1]``) of
    ``prod_i (x - roots[..., i])``, by multiplying in one root at a time."""
    k = roots.shape[-1]
    coeffs = [roots[..., 0] * 0 + 1]
    for i in range(k):
        r = roots[..., i]
        new = []
        for j in range(i + 2):
            term = coeffs[j - 1] if j >= 1 else 0
            if j <= i:
                term = term - r * coeffs[j]
            new.append(term)
        coeffs = new
    return coeffs


def _vector_poly(coeffs: list[Tensor], x: Tensor) -> Tensor:
    """Monic polynomial ``coeffs`` (``coeffs[-1] == 1``) at each entry of ``x`` (Horner)."""
    res = x * 0 + 1
    for c in reversed(coeffs[:-1]):
        res = c.unsqueeze(-1) + x * res
    return res


def _matrix_poly(coeffs: list[Tensor], A: Tensor) -> Tensor:
    """Monic polynomial ``coeffs`` of the (batched) matrix ``A`` (Horner)."""
    eye_m = eye(A.shape[-1], dtype=A.dtype, device=A.device)
    res = eye_m.expand(A.shape)
    for c in reversed(coeffs[:-1]):
        res = matmul(A, res) + c.unsqueeze(-1).unsqueeze(-1) * eye_m
    return res


def _backward_partial(gD: Tensor, gU: Tensor, A: Tensor, E: Tensor, U: Tensor,
                      largest: bool) -> Tensor:
    """The gradient when ``U`` holds only ``k < m`` eigenvectors: the complete-eigenspace part
    plus the solution, in the complement of ``span(U)``, of the Sylvester equation
    ``Uo^T A Uo dX - dX diag(E) = -Uo^T A U`` through ``E``'s characteristic polynomial."""
    m, k = A.shape[-1], E.shape[-1]
    Ut = U.mT
    proj = eye(m, dtype=A.dtype, device=A.device) - matmul(U, Ut)
    gen = Generator(A.device).manual_seed(_BACKWARD_SEED)
    Uo = matmul(proj, randn(*A.shape[:-1], m - k, dtype=A.dtype, device=A.device,
                            generator=gen))
    Uo_t = Uo.mT
    coeffs = _poly_coefficients(E)
    # sum_j A^(j-1) gU * (a_j + a_{j+1} e + ... + a_k e^(k-j)): the polynomial solution's
    # right-hand side, with one product by A per term instead of matrix powers
    series = gU * 0
    g = gU
    for j in range(1, k + 1):
        series = series + g * _vector_poly(coeffs[j:], E).unsqueeze(-2)
        g = matmul(A, g)
    P_A = matmul(Uo_t, matmul(_matrix_poly(coeffs, A), Uo))
    # p(A) restricted to the complement is definite (distinct eigenvalues assumed): positive,
    # or negative when the k largest were computed and k is odd
    sign = -1 if (largest and k % 2 == 1) else 1
    L = _linalg_cholesky(sign * P_A)
    res = _backward_complete(gD, gU, A, E, U)
    return res - matmul(matmul(Uo, sign * cholesky_solve(matmul(Uo_t, series), L)), Ut)


class LOBPCGAutogradFunction(Function):
    """``lobpcg``'s eigenpairs of a (symmetrized) ``A``, with the partial-eigenspace gradient
    (torch's name, so the graph node reads ``LOBPCGAutogradFunctionBackward`` as in torch)."""

    @staticmethod
    def forward(ctx, A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                ortho_fparams, ortho_bparams):
        E, U = _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                       ortho_fparams, ortho_bparams)
        ctx.save_for_backward(A, E, U)
        ctx.has_B = B is not None
        ctx.largest = True if largest is None else largest
        return E, U

    @staticmethod
    def backward(ctx, gE, gU):
        if ctx.has_B:
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        A, E, U = ctx.saved_tensors
        gE = E * 0 if gE is None else gE
        gU = U * 0 if gU is None else gU
        if U.shape[-1] == U.shape[-2]:
            gA = _backward_complete(gE, gU, A, E, U)
        else:
            gA = _backward_partial(gE, gU, A, E, U, ctx.largest)
        return (gA,) + (None,) * 13


# ---------------------------------------------------------------------------------------------
# the iteration


class LOBPCG:
    """The state of one LOBPCG run (one matrix of a batch), as torch's worker class: a
    ``tracker`` given to :func:`lobpcg` is called with it after every iteration.

    Attributes: ``iparams``/``fparams``/``bparams`` (integer, float and bool parameters),
    ``ivars``/``fvars``/``bvars``/``tvars`` (iteration variables: ``ivars['istep']``,
    ``ivars['converged_count']``, ``tvars['rerr']``...), ``A``, ``B``, ``iK`` and the iterates
    ``E``, ``X``, ``S``, ``R``. A tracker that sets ``bvars['force_stop'] = True`` stops the
    iteration.
    """

    def __init__(self, A: Tensor | None, B: Tensor | None, X: Tensor, iK: Tensor | None,
                 iparams: dict, fparams: dict, bparams: dict, method: str,
                 tracker: Callable | None) -> None:
        self.A, self.B, self.iK = A, B, iK
        self.iparams, self.fparams, self.bparams = iparams, fparams, bparams
        self.method = method
        self.tracker = tracker
        m, n = iparams["m"], iparams["n"]
        self.X = X
        self.E = zeros((n,), dtype=X.dtype, device=X.device)
        self.R = zeros((m, n), dtype=X.dtype, device=X.device)
        self.S = zeros((m, 3 * n), dtype=X.dtype, device=X.device)
        self.tvars: dict = {}
        self.ivars: dict = {"istep": 0}
        self.fvars: dict = {"_": 0.0}
        self.bvars: dict = {"_": False}

    def __str__(self) -> str:
        lines = ["LOBPCG:"] + [f"  {name}={getattr(self, name)}" for name in (
            "iparams", "fparams", "bparams", "ivars", "fvars", "bvars", "tvars", "A", "B", "iK",
            "X", "E")]
        return "\n".join(lines) + "\n"

    def update(self) -> None:
        """One iteration (the first one also sets the norms the convergence test scales by)."""
        if self.ivars["istep"] == 0:
            X_norm = vector_norm(self.X).item()
            self.fvars["X_norm"] = X_norm
            self.fvars["A_norm"] = vector_norm(_mm(self.A, self.X)).item() / X_norm
            self.fvars["B_norm"] = vector_norm(_mm(self.B, self.X)).item() / X_norm
            self.ivars["iterations_left"] = self.iparams["niter"]
            self.ivars["converged_count"] = 0
            self.ivars["converged_end"] = 0
        if self.method == "ortho":
            self._update_ortho()
        else:  # torch runs 'basic' for any other method name
            self._update_basic()
        self.ivars["iterations_left"] -= 1
        self.ivars["istep"] += 1

    def update_residual(self) -> None:
        """``R = A X - B X diag(E)``."""
        self.R = _mm(self.A, self.X) - _mm(self.B, self.X) * self.E

    def update_converged_count(self) -> int:
        """The number of leading eigenpairs whose backward-stable relative residual
        (Duersch et al. 2018, sec. 4.3) is below ``tol``."""
        prev = self.ivars["converged_count"]
        A_norm, B_norm = self.fvars["A_norm"], self.fvars["B_norm"]
        E, X, R = self.E, self.X, self.R
        rerr = vector_norm(R, 2, (0,)) / (
            vector_norm(X, 2, (0,)) * (A_norm + E[: X.shape[-1]].abs() * B_norm))
        count = 0
        for ok in (rerr < self.fparams["tol"]).tolist():
            if not ok:  # later pairs do not count: converged pairs stay a prefix
                break
            count += 1
        if count < prev:
            raise AssertionError(f"the number of converged eigenpairs (was {prev}, got "
                                 f"{count}) cannot decrease")
        self.ivars["converged_count"] = count
        self.tvars["rerr"] = rerr
        return count

    def stop_iteration(self) -> bool:
        """True when forced, out of iterations, or ``k`` pairs have converged."""
        return (self.bvars.get("force_stop", False) or self.ivars["iterations_left"] == 0
                or self.ivars["converged_count"] >= self.iparams["k"])

    def run(self) -> None:
        """Iterate until :meth:`stop_iteration`, calling the tracker after each step."""
        self.update()
        if self.tracker is not None:
            self.tracker(self)
        while not self.stop_iteration():
            self.update()
            if self.tracker is not None:
                self.tracker(self)

    def _update_basic(self) -> None:
        ns, nc = self.ivars["converged_end"], self.ivars["converged_count"]
        n, largest = self.iparams["n"], self.bparams["largest"]
        if self.ivars["istep"] == 0:
            Ri = self._get_rayleigh_ritz_transform(self.X)
            E, Z = _symeig(_qform(_qform(self.A, self.X), Ri), largest)
            # a new tensor, where torch writes into the caller's X
            self.X = matmul(self.X, matmul(Ri, Z))
            self.E[:] = E
            np_ = 0
            self.update_residual()
            nc = self.update_converged_count()
            self.S[..., :n] = self.X
            W = _mm(self.iK, self.R)
        else:
            S_ = self.S[:, nc:ns]
            Ri = self._get_rayleigh_ritz_transform(S_)
            E_, Z = _symeig(_qform(_qform(self.A, S_), Ri), largest)
            self.X[:, nc:] = matmul(S_, matmul(Ri, Z[:, : n - nc]))
            self.E[nc:] = E_[: n - nc]
            P = matmul(S_, matmul(Ri, Z[:, n : 2 * n - nc]))
            np_ = P.shape[-1]
            self.update_residual()
            nc = self.update_converged_count()
            self.S[..., :n] = self.X
            self.S[:, n : n + np_] = P
            W = _mm(self.iK, self.R[:, nc:])
        self.ivars["converged_end"] = ns = n + np_ + W.shape[-1]
        self.S[:, n + np_ : ns] = W

    def _update_ortho(self) -> None:
        ns, nc = self.ivars["converged_end"], self.ivars["converged_count"]
        n, largest = self.iparams["n"], self.bparams["largest"]
        if self.ivars["istep"] == 0:
            Ri = self._get_rayleigh_ritz_transform(self.X)
            _, Z = _symeig(_qform(_qform(self.A, self.X), Ri), largest)
            # E stays 0 in this first step, as in torch: R = A X, whose part outside span(X)
            # is the same; the convergence test then starts at the second step
            self.X = matmul(self.X, matmul(Ri, Z))
            self.update_residual()
            np_ = 0
            nc = self.update_converged_count()
            self.S[:, :n] = self.X
            W = self._get_ortho(self.R, self.X)
        else:
            S_ = self.S[:, nc:ns]
            E_, Z = _symeig(_qform(self.A, S_), largest)  # Rayleigh-Ritz on the B-orthonormal S_
            self.X[:, nc:] = matmul(S_, Z[:, : n - nc])
            self.E[nc:] = E_[: n - nc]
            P = matmul(S_, matmul(Z[:, n - nc :], _linalg_qr(Z[: n - nc, n - nc :].mT).Q))
            np_ = P.shape[-1]
            self.update_residual()
            nc = self.update_converged_count()
            self.S[:, :n] = self.X
            self.S[:, n : n + np_] = P
            W = self._get_ortho(self.R[:, nc:], self.S[:, : n + np_])
        self.ivars["converged_end"] = ns = n + np_ + W.shape[-1]
        self.S[:, n + np_ : ns] = W

    def _get_rayleigh_ritz_transform(self, S: Tensor) -> Tensor:
        """Upper-triangular ``Ri`` with ``Ri^T (S^T B S) Ri = I``: Cholesky of ``S^T B S``
        scaled to a unit diagonal first (the scaling keeps Cholesky accurate), so that
        ``S^T A S C = S^T B S C E`` becomes the standard ``Ri^T S^T A S Ri Z = Z E``."""
        SBS = _qform(self.B, S)
        d_row = SBS.diagonal(0, -2, -1) ** -0.5
        d_col = d_row.reshape(d_row.shape[0], 1)
        R = _linalg_cholesky((SBS * d_row) * d_col, upper=True)
        return solve_triangular(R, diag_embed(d_row), upper=True, left=False)

    def _get_svqb(self, U: Tensor, drop: bool, tau: float) -> Tensor:
        """B-orthonormal columns spanning (about) ``U``'s span (SVQB, Duersch's PhD thesis
        algorithm 4); with ``drop``, columns contributing less than ``tau`` are dropped."""
        if U.numel() == 0:
            return U
        UBU = _qform(self.B, U)
        d = UBU.diagonal(0, -2, -1)
        # exact zero columns would divide by 0 below: drop them first
        nz = where(d.abs() != 0.0)[0]
        if len(nz) < len(d):
            U = U[:, nz]
            if U.numel() == 0:
                return U
            UBU = _qform(self.B, U)
            d = UBU.diagonal(0, -2, -1)
        d_col = (d ** -0.5).reshape(d.shape[0], 1)
        E, Z = _symeig((UBU * d_col) * d_col.mT)
        t = tau * E.abs().max()
        if drop:
            keep = where(E > t)[0]
            E, Z, d_col = E[keep], Z[:, keep], d_col[keep]
        else:
            E[where(E < t)[0]] = t
        return matmul(U * d_col.mT, Z * E ** -0.5)

    def _get_ortho(self, U: Tensor, V: Tensor) -> Tensor:
        """B-orthonormal columns spanning ``U``'s part B-orthogonal to ``V`` (Duersch's
        algorithm 3, or 6 with ``ortho_use_drop``); empty when ``U`` lies in ``span(V)``."""
        m = self.iparams["m"]
        tau_ortho = self.fparams["ortho_tol"]
        tau_drop = self.fparams["ortho_tol_drop"]
        tau_replace = self.fparams["ortho_tol_replace"]
        i_max, j_max = self.iparams["ortho_i_max"], self.iparams["ortho_j_max"]
        use_drop = self.bparams["ortho_use_drop"]
        for key in [k for k in self.fvars if k.startswith("ortho_") and k.endswith("_rerr")]:
            del self.fvars[key]
        self.ivars.pop("ortho_i", 0)
        self.ivars.pop("ortho_j", 0)

        BV_norm = vector_norm(_mm(self.B, V))
        BU = _mm(self.B, U)
        VBU = matmul(V.mT, BU)
        i = j = 0
        for i in range(i_max):
            U = U - matmul(V, VBU)
            drop, tau_svqb = False, tau_drop
            for j in range(j_max):
                if use_drop:
                    U = self._get_svqb(U, drop, tau_svqb)
                    drop, tau_svqb = True, tau_replace
                else:
                    U = self._get_svqb(U, False, tau_replace)
                if U.numel() == 0:  # every column of U was B-collinear to V
                    self.ivars["ortho_i"], self.ivars["ortho_j"] = i, j
                    return U
                BU = _mm(self.B, U)
                UBU = matmul(U.mT, BU)
                R_norm = vector_norm(UBU - eye(UBU.shape[-1], dtype=UBU.dtype,
                                                   device=UBU.device))
                rerr = R_norm.item() / (vector_norm(BU) * vector_norm(U)).item()
                self.fvars[f"ortho_UBUmI_rerr[{i}, {j}]"] = rerr
                if rerr < tau_ortho:
                    break
            VBU = matmul(V.mT, BU)
            rerr = vector_norm(VBU).item() / (BV_norm * vector_norm(U)).item()
            self.fvars[f"ortho_VBU_rerr[{i}]"] = rerr
            if rerr < tau_ortho:
                break
            if m < U.shape[-1] + V.shape[-1]:
                if self.B is None:
                    raise AssertionError("B must not be None")
                raise ValueError(
                    f"Overdetermined shape of U: #B-cols(={self.B.shape[-1]}) >= "
                    f"#U-cols(={U.shape[-1]}) + #V-cols(={V.shape[-1]}) must hold")
        self.ivars["ortho_i"], self.ivars["ortho_j"] = i, j
        return U


def _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
            ortho_fparams, ortho_bparams) -> tuple[Tensor, Tensor]:
    if A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"A must be square, got shape {A.shape}")
    if B is not None and A.shape != B.shape:
        raise AssertionError(f"A and B must have same shape, got {A.shape} vs {B.shape}")
    dtype = _floating_dtype(A)
    device = A.device
    if tol is None:
        tol = _FEPS[dtype] ** 0.5  # a KeyError for float16, as in torch
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m})"
                         f" is smaller than 3 x the number of requested eigenpairs (={n})")
    method = "ortho" if method is None else method
    iparams = {"m": m, "n": n, "k": k, "niter": 1000 if niter is None else niter}
    fparams = {"tol": tol}
    bparams = {"largest": True if largest is None else largest}
    if method == "ortho":
        iparams.update(ortho_iparams or {})
        fparams.update(ortho_fparams or {})
        bparams.update(ortho_bparams or {})
        iparams.setdefault("ortho_i_max", 3)
        iparams.setdefault("ortho_j_max", 3)
        fparams.setdefault("ortho_tol", tol)
        fparams.setdefault("ortho_tol_drop", tol)
        fparams.setdefault("ortho_tol_replace", tol)
        bparams.setdefault("ortho_use_drop", False)

    def solve(A_, B_, X_) -> tuple[Tensor, Tensor]:
        if X_ is None:
            X_ = randn((m, n), dtype=dtype, device=device)
        if not (len(X_.shape) == 2 and X_.shape == (m, n)):
            raise AssertionError(f"X shape mismatch: got {X_.shape}, expected {(m, n)}")
        worker = LOBPCG(A_, B_, X_, iK, iparams, fparams, bparams, method, tracker)
        worker.run()
        return worker.E[:k], worker.X[:, :k]

    # the iteration itself is never differentiated (see LOBPCGAutogradFunction)
    with no_grad():
        if A.dim() == 2:
            return solve(A, B, X)
        batch = tuple(A.shape[:-2])
        N = 1
        for s in batch:
            N *= s
        bA = A.reshape((N, m, m))
        bB = None if B is None else B.reshape((N, m, m))
        bX = None if X is None else X.reshape((N,) + tuple(X.shape[-2:]))
        Es, Xs = [], []
        for i in range(N):
            iparams["batch_index"] = i
            E_, X_ = solve(bA[i], None if bB is None else bB[i], None if bX is None else bX[i])
            Es.append(E_)
            Xs.append(X_)
        if N == 0:
            return (zeros(batch + (k,), dtype=dtype, device=device),
                    zeros(batch + (m, k), dtype=dtype, device=device))
        return stack(Es).reshape(batch + (k,)), stack(Xs).reshape(batch + (m, k))


def lobpcg(A: Tensor, k: int | None = None, B: Tensor | None = None, X: Tensor | None = None,
           n: int | None = None, iK: Tensor | None = None, niter: int | None = None,
           tol: float | None = None, largest: bool | None = None, method: str | None = None,
           tracker: Callable | None = None, ortho_iparams: dict | None = None,
           ortho_fparams: dict | None = None,
           ortho_bparams: dict | None = None) -> tuple[Tensor, Tensor]:
    """The ``k`` largest (or smallest) eigenpairs of the symmetric positive definite
    generalized eigenproblem ``A x = lambda B x``, by LOBPCG (matrix-free: only products with
    ``A``, ``B`` and ``iK`` are used).

    Args:
        A: symmetric matrices ``(*, m, m)``.
        k: the number of eigenpairs wanted; default ``X``'s column count, or 1.
        B: symmetric positive definite ``(*, m, m)``; None means the identity.
        X: the initial guess of eigenvectors ``(*, m, n)``, ``k <= n``; default random
            (``gpuarr.randn``) with ``n`` columns.
        n: the block size when ``X`` is not given (default ``k``). ``m >= 3 * n`` must hold.
        iK: a preconditioner ``(m, m)``, applied to the residuals.
        niter: the most iterations (default 1000; -1: until convergence).
        tol: the relative residual that counts as converged (default ``sqrt(eps)``).
        largest: the largest eigenvalues (True, the default) or the smallest.
        method: ``'ortho'`` (default, robust) or ``'basic'`` (cheaper per step, may fail).
        tracker: called with the :class:`LOBPCG` state after each iteration.
        ortho_iparams, ortho_fparams, ortho_bparams: ``'ortho'``'s parameters
            (``ortho_i_max``, ``ortho_j_max``, ``ortho_tol``, ``ortho_tol_drop``,
            ``ortho_tol_replace``, ``ortho_use_drop``).

    Returns:
        ``(E, X)``: eigenvalues ``(*, k)`` and eigenvectors ``(*, m, k)``. When ``A`` requires
        grad, it is first symmetrized (``(A + A^T) / 2``) and gradients flow to it (not
        with ``B``).

    Raises:
        ValueError: when ``m < 3 * n``, or in backward when ``B`` was given.
        AssertionError: for a non-square ``A``, ``B`` of another shape, or ``X`` of the
            wrong shape.

    Example:
        >>> A = gpuarr.diag(gpuarr.arange(1., 31.))
        >>> E, X = gpuarr.lobpcg(A, k=2)
        >>> E
        tensor([30.0000, 29.0000])
    """
    if A.requires_grad or (B is not None and B.requires_grad):
        # A's gradient is made symmetric, so that a gradient step keeps A symmetric
        A_sym = (A + A.mT) / 2
        B_sym = (B + B.mT) / 2 if B is not None else None
        return LOBPCGAutogradFunction.apply(A_sym, k, B_sym, X, n, iK, niter, tol, largest,
                                            method, tracker, ortho_iparams, ortho_fparams,
                                            ortho_bparams)
    return _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                   ortho_fparams, ortho_bparams)
