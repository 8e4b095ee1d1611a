"""gpuarr.svd_lowrank, gpuarr.pca_lowrank and gpuarr.lobpcg against PyTorch 2.13, on every
device.

gpuarr's random numbers differ from torch's for the same seed, so the random projections
differ: the tests check what does not depend on it (exact reconstruction of matrices of rank
<= q, singular values against torch.linalg.svd's leading ones, orthonormal factors, shapes,
dtypes, gradients of projection-independent losses against torch's) plus gradcheck with the
seed fixed inside the function, and torch's error types and texts. lobpcg takes its initial
block X as an argument, so there the tests give both libraries the same X and compare
eigenpairs, iterates after a fixed number of steps, and gradients directly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ops_helpers import on_device, same_error, to_np

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck


def rand(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def low_rank(batch: tuple, m: int, n: int, r: int, seed: int = 0) -> np.ndarray:
    """A (batch of) m x n matrices of exact rank r."""
    return rand(batch + (m, r), seed) @ rand(batch + (r, n), seed + 1)


def recon(U, S, V):
    return U @ gpuarr.diag_embed(S) @ V.mT


def assert_orthonormal(Q, atol: float = 1e-10) -> None:
    q = to_np(Q)
    eye = np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, eye, atol=atol)


SHAPES = [((), 30, 20, 3, 6), ((), 20, 30, 3, 6), ((2, 3), 12, 9, 2, 4), ((), 10, 10, 5, 5),
          ((4,), 25, 7, 7, 7)]


@pytest.mark.parametrize("batch,m,n,r,q", SHAPES)
def test_svd_lowrank_reconstructs_low_rank(device, batch, m, n, r, q):
    a = low_rank(batch, m, n, r)
    A = gpuarr.tensor(a, device=device)
    U, S, V = gpuarr.svd_lowrank(A, q=q)
    k = min(q, m, n)
    assert U.shape == batch + (m, k) and S.shape == batch + (k,) and V.shape == batch + (n, k)
    assert U.device == A.device and S.device == A.device and V.device == A.device
    assert U.dtype == S.dtype == V.dtype == gpuarr.float64
    np.testing.assert_allclose(to_np(recon(U, S, V)), a, atol=1e-10)
    ref = torch.linalg.svdvals(torch.tensor(a)).numpy()[..., :k]
    np.testing.assert_allclose(to_np(S), ref, atol=1e-10)
    assert_orthonormal(U)
    assert_orthonormal(V)
    # the same shapes as torch's, which draws its own projection
    tU, tS, tV = torch.svd_lowrank(torch.tensor(a), q=q)
    assert (U.shape, S.shape, V.shape) == (tU.shape, tS.shape, tV.shape)


def test_svd_lowrank_leading_singular_values_of_full_rank(device):
    # a fast-decaying spectrum: power iterations find the leading triplets closely
    m, n = 40, 30
    u = np.linalg.qr(rand((m, n), 3))[0]
    v = np.linalg.qr(rand((n, n), 4))[0]
    s = 10.0 ** -np.arange(n, dtype=np.float64)
    a = (u * s) @ v.T
    U, S, V = gpuarr.svd_lowrank(gpuarr.tensor(a, device=device), q=8, niter=4)
    ref = torch.linalg.svdvals(torch.tensor(a)).numpy()
    np.testing.assert_allclose(to_np(S)[:5], ref[:5], rtol=1e-8)
    np.testing.assert_allclose(np.abs(to_np(V)[:, :5].T @ v[:, :5]), np.eye(5), atol=1e-7)


def test_svd_lowrank_float32(device):
    a = low_rank((2,), 20, 12, 3).astype(np.float32)
    U, S, V = gpuarr.svd_lowrank(gpuarr.tensor(a, device=device), q=5)
    assert U.dtype == S.dtype == V.dtype == gpuarr.float32
    np.testing.assert_allclose(to_np(recon(U, S, V)), a, atol=1e-4)
    np.testing.assert_allclose(to_np(S)[..., :3], np.linalg.svd(a.astype(np.float64),
                               compute_uv=False)[..., :3], rtol=1e-4)


@pytest.mark.parametrize("wide", [False, True])
def test_svd_lowrank_with_mean(device, wide):
    m, n = (9, 16) if wide else (16, 9)
    a = low_rank((3,), m, n, 2, seed=5)
    mean = rand((n,), 7)  # broadcast to A's shape, like torch
    A = gpuarr.tensor(a + mean, device=device)
    M = gpuarr.tensor(mean, device=device)
    U, S, V = gpuarr.svd_lowrank(A, q=4, M=M)
    np.testing.assert_allclose(to_np(recon(U, S, V)), a, atol=1e-10)
    np.testing.assert_allclose(to_np(S)[..., :2],
                               torch.linalg.svdvals(torch.tensor(a)).numpy()[..., :2], atol=1e-10)


def test_svd_lowrank_defaults_and_none(device):
    a = low_rank((), 15, 10, 4)
    A = gpuarr.tensor(a, device=device)
    for kwargs in ({}, {"q": None, "niter": None}, {"niter": 0}):
        U, S, V = gpuarr.svd_lowrank(A, **kwargs)
        assert U.shape == (15, 6) and S.shape == (6,) and V.shape == (10, 6)
        np.testing.assert_allclose(to_np(recon(U, S, V)), a, atol=1e-10)


@pytest.mark.parametrize("shape,q", [((5, 3), 10), ((3, 5), 10), ((5, 3), 0), ((0, 5, 3), 2),
                                     ((2, 4, 4), 4), ((5, 3), True), ((5, 3), np.int64(2))])
def test_svd_lowrank_shapes_like_torch(device, shape, q):
    a = rand(shape)
    U, S, V = gpuarr.svd_lowrank(gpuarr.tensor(a, device=device), q=q)
    tU, tS, tV = torch.svd_lowrank(torch.tensor(a), q=q)
    assert (U.shape, S.shape, V.shape) == (tU.shape, tS.shape, tV.shape)


def test_svd_lowrank_seed_repeats(device):
    A = gpuarr.tensor(rand((12, 8)), device=device)
    gpuarr.manual_seed(3)
    r1 = gpuarr.svd_lowrank(A, q=3, niter=0)
    gpuarr.manual_seed(3)
    r2 = gpuarr.svd_lowrank(A, q=3, niter=0)
    for x, y in zip(r1, r2):
        np.testing.assert_array_equal(to_np(x), to_np(y))


def test_pca_lowrank_equals_svd_of_centred_data(device):
    a = low_rank((2,), 30, 8, 3, seed=11) + rand((2, 1, 8), 12) * 5
    A = gpuarr.tensor(a, device=device)
    U, S, V = gpuarr.pca_lowrank(A, q=4)
    assert U.shape == (2, 30, 4) and S.shape == (2, 4) and V.shape == (2, 8, 4)
    c = a - a.mean(-2, keepdims=True)
    tc = torch.tensor(c)
    np.testing.assert_allclose(to_np(recon(U, S, V)), c, atol=1e-10)
    ref_U, ref_S, ref_Vh = torch.linalg.svd(tc, full_matrices=False)
    np.testing.assert_allclose(to_np(S)[..., :3], ref_S.numpy()[..., :3], atol=1e-10)
    # the principal directions agree up to sign
    dots = np.einsum("bnk,bkn->bk", to_np(V)[..., :3], ref_Vh.numpy()[..., :3, :])
    np.testing.assert_allclose(np.abs(dots), 1.0, atol=1e-10)
    # the torch result has the same singular values (its projection is its own)
    tU, tS, tV = torch.pca_lowrank(torch.tensor(a), q=4)
    np.testing.assert_allclose(to_np(S)[..., :3], tS.numpy()[..., :3], atol=1e-10)


def test_pca_lowrank_defaults_and_center_false(device):
    a = low_rank((), 12, 5, 2, seed=2)
    A = gpuarr.tensor(a, device=device)
    U, S, V = gpuarr.pca_lowrank(A)  # q = min(6, m, n) = 5
    assert (U.shape, S.shape, V.shape) == ((12, 5), (5,), (5, 5))
    U, S, V = gpuarr.pca_lowrank(A, q=2, center=False)
    np.testing.assert_allclose(to_np(recon(U, S, V)), a, atol=1e-10)
    gpuarr.manual_seed(1)
    r1 = gpuarr.pca_lowrank(A, q=2, center=False, niter=1)
    gpuarr.manual_seed(1)
    r2 = gpuarr.svd_lowrank(A, q=2, niter=1)
    for x, y in zip(r1, r2):
        np.testing.assert_array_equal(to_np(x), to_np(y))


def _loss_g(U, S, V, W1, W2):
    # invariant under the sign of each singular pair, so independent of the projection
    return (S * S).sum() + ((U @ U.mT) * W1).sum() + ((V @ V.mT) * W2).sum()


@pytest.mark.parametrize("wide", [False, True])
def test_svd_lowrank_grad_matches_torch(device, wide):
    # q = min(m, n) on a full-rank matrix: the result is the exact SVD, so losses that do not
    # see the singular vectors' signs have torch's gradient whatever the projection
    m, n = (4, 6) if wide else (6, 4)
    a = rand((2, m, n), 21)
    w1, w2 = rand((m, m), 22), rand((n, n), 23)
    A = gpuarr.tensor(a, device=device, requires_grad=True)
    _loss_g(*gpuarr.svd_lowrank(A, q=4), gpuarr.tensor(w1, device=device),
            gpuarr.tensor(w2, device=device)).backward()
    tA = torch.tensor(a, requires_grad=True)
    _loss_g(*torch.svd_lowrank(tA, q=4), torch.tensor(w1), torch.tensor(w2)).backward()
    np.testing.assert_allclose(to_np(A.grad), tA.grad.numpy(), rtol=1e-7, atol=1e-8)


def test_pca_lowrank_grad_matches_torch(device):
    a = rand((7, 3), 31)
    w1, w2 = rand((7, 7), 32), rand((3, 3), 33)
    A = gpuarr.tensor(a, device=device, requires_grad=True)
    _loss_g(*gpuarr.pca_lowrank(A, q=3), gpuarr.tensor(w1, device=device),
            gpuarr.tensor(w2, device=device)).backward()
    tA = torch.tensor(a, requires_grad=True)
    _loss_g(*torch.pca_lowrank(tA, q=3), torch.tensor(w1), torch.tensor(w2)).backward()
    np.testing.assert_allclose(to_np(A.grad), tA.grad.numpy(), rtol=1e-7, atol=1e-8)


def test_svd_lowrank_gradcheck(device):
    A = gpuarr.tensor(rand((6, 4), 41), device=device, requires_grad=True)
    M = gpuarr.tensor(rand((4,), 42), device=device, requires_grad=True)

    def f(A, M):
        gpuarr.manual_seed(0)  # the same projection on every call
        return gpuarr.svd_lowrank(A, q=3, niter=1, M=M)

    assert gradcheck(f, (A, M))


def test_svd_lowrank_batched_wide_gradcheck(device):
    A = gpuarr.tensor(rand((2, 3, 5), 43), device=device, requires_grad=True)

    def f(A):
        gpuarr.manual_seed(0)
        return gpuarr.svd_lowrank(A, q=2)

    assert gradcheck(f, (A,))


def test_svd_lowrank_gradgradcheck(device):
    A = gpuarr.tensor(rand((5, 3), 45), device=device, requires_grad=True)

    def f(A):
        gpuarr.manual_seed(0)
        U, S, V = gpuarr.svd_lowrank(A, q=2, niter=1)
        return S, U @ V.mT

    assert gradgradcheck(f, (A,))


def test_pca_lowrank_gradcheck(device):
    A = gpuarr.tensor(rand((7, 4), 44), device=device, requires_grad=True)

    def f(A):
        gpuarr.manual_seed(0)
        return gpuarr.pca_lowrank(A, q=2)

    assert gradcheck(f, (A,))


ERRORS = [
    ("svd_lowrank", lambda m: ((m.randn(5, 3, dtype=m.float64),), {"q": -1})),
    ("svd_lowrank", lambda m: ((m.randn(5, 3, dtype=m.float64),), {"q": 2.5})),
    ("svd_lowrank", lambda m: ((m.randn(5, 3, dtype=m.float64).long(),), {"q": 2})),
    ("svd_lowrank", lambda m: ((m.randn(5, 3, dtype=m.float64),), {"q": 2, "M": m.randn(4)})),
    ("svd_lowrank", lambda m: ((m.randn(5, 3, dtype=m.float64),), {"q": 2, "M": m.randn(3)})),
    ("svd_lowrank", lambda m: ((m.randn(5, 3),), {"q": 2, "M": m.randn(5, 3, dtype=m.float64)})),
    ("pca_lowrank", lambda m: ((m.randn(5, 3),), {"q": 4})),
    ("pca_lowrank", lambda m: ((m.randn(5, 3),), {"q": -1})),
    ("pca_lowrank", lambda m: ((m.randn(5, 3),), {"niter": -1})),
    ("pca_lowrank", lambda m: ((m.randn(5, 3),), {"q": 2.5})),
    ("pca_lowrank", lambda m: ((m.randn(5, 3).long(),), {})),
    ("pca_lowrank", lambda m: ((m.randn(5, 3),), {"niter": None})),
]


@pytest.mark.parametrize("fn,make", ERRORS)
def test_errors_like_torch(device, fn, make):
    def call(mod, ns):
        args, kwargs = make(ns)
        return lambda: getattr(mod, fn)(*args, **kwargs)

    same_error(call(gpuarr, on_device(gpuarr, device)), call(torch, torch), device)


def test_svd_lowrank_not_a_tensor():
    with pytest.raises(AttributeError):
        torch.svd_lowrank([[1.0, 2.0]], q=1)
    with pytest.raises(AttributeError):
        gpuarr.svd_lowrank([[1.0, 2.0]], q=1)


# ---------------------------------------------------------------------------------------------
# lobpcg: with the same initial X, gpuarr's iteration follows torch's step by step


def sym_spectrum(m: int, seed: int, batch: tuple = ()) -> np.ndarray:
    """Symmetric matrices with eigenvalues 1..m (well separated) in a random basis."""
    q = np.linalg.qr(rand(batch + (m, m), seed))[0]
    return (q * np.arange(1.0, m + 1)) @ np.swapaxes(q, -1, -2)


def spd(m: int, seed: int, batch: tuple = ()) -> np.ndarray:
    a = rand(batch + (m, m), seed)
    return a @ np.swapaxes(a, -1, -2) / m + np.eye(m)


def same_columns_up_to_sign(got: np.ndarray, want: np.ndarray, atol: float) -> None:
    sign = np.sign(np.sum(got * want, axis=-2, keepdims=True))
    np.testing.assert_allclose(got * sign, want, atol=atol)


@pytest.mark.parametrize("method", ["ortho", "basic"])
@pytest.mark.parametrize("largest", [True, False])
def test_lobpcg_matches_torch(device, method, largest):
    a, x = sym_spectrum(30, 51), rand((30, 3), 52)
    A = gpuarr.tensor(a, device=device)
    E, U = gpuarr.lobpcg(A, k=3, X=gpuarr.tensor(x, device=device), method=method,
                         largest=largest)
    tE, tU = torch.lobpcg(torch.tensor(a), k=3, X=torch.tensor(x), method=method,
                          largest=largest)
    assert E.device == U.device == A.device
    assert E.dtype == U.dtype == gpuarr.float64 and E.shape == (3,) and U.shape == (30, 3)
    np.testing.assert_allclose(to_np(E), tE.numpy(), rtol=1e-10)
    np.testing.assert_allclose(to_np(E), [30, 29, 28] if largest else [1, 2, 3], rtol=1e-8)
    same_columns_up_to_sign(to_np(U), tU.numpy(), atol=1e-7)


@pytest.mark.parametrize("method,niter", [("ortho", 1), ("ortho", 3), ("basic", 1),
                                          ("basic", 3)])
def test_lobpcg_first_iterations_like_torch(device, method, niter):
    # after a fixed number of steps (not converged) the iterates equal torch's, including
    # 'ortho''s first step, which leaves E at zero
    a, x = sym_spectrum(24, 53), rand((24, 2), 54)
    E, U = gpuarr.lobpcg(gpuarr.tensor(a, device=device), k=2,
                         X=gpuarr.tensor(x, device=device), niter=niter, method=method)
    tE, tU = torch.lobpcg(torch.tensor(a), k=2, X=torch.tensor(x), niter=niter, method=method)
    np.testing.assert_allclose(to_np(E), tE.numpy(), rtol=1e-9, atol=1e-12)
    same_columns_up_to_sign(to_np(U), tU.numpy(), atol=1e-8)


def test_lobpcg_generalized_batched(device):
    a, b, x = sym_spectrum(21, 55, (2,)), spd(21, 56, (2,)), rand((2, 21, 2), 57)
    A, B = gpuarr.tensor(a, device=device), gpuarr.tensor(b, device=device)
    E, U = gpuarr.lobpcg(A, B=B, X=gpuarr.tensor(x, device=device))
    tE, tU = torch.lobpcg(torch.tensor(a), B=torch.tensor(b), X=torch.tensor(x))
    assert E.shape == (2, 2) and U.shape == (2, 21, 2)
    np.testing.assert_allclose(to_np(E), tE.numpy(), rtol=1e-8)
    # the generalized eigenvalues, from the symmetric problem L^-1 A L^-T
    L = np.linalg.cholesky(b)
    Li = np.linalg.inv(L)
    want = np.linalg.eigvalsh(Li @ a @ np.swapaxes(Li, -1, -2))[..., ::-1][..., :2]
    np.testing.assert_allclose(to_np(E), want, rtol=1e-7)
    u, e = to_np(U), to_np(E)
    np.testing.assert_allclose(a @ u, (b @ u) * e[..., None, :], atol=1e-6)


def test_lobpcg_random_start_default_k(device):
    a = sym_spectrum(20, 58, (3,))
    E, U = gpuarr.lobpcg(gpuarr.tensor(a, device=device), n=2, largest=False)
    assert E.shape == (3, 1) and U.shape == (3, 20, 1)
    np.testing.assert_allclose(to_np(E), np.ones((3, 1)), rtol=1e-7)


def test_lobpcg_preconditioner_and_ortho_params(device):
    a, x = sym_spectrum(30, 59), rand((30, 3), 60)
    ik = np.diag(1.0 / np.diag(a))
    kw = {"k": 2, "largest": False, "ortho_bparams": {"ortho_use_drop": True},
          "ortho_iparams": {"ortho_i_max": 2}}
    E, U = gpuarr.lobpcg(gpuarr.tensor(a, device=device), X=gpuarr.tensor(x, device=device),
                         iK=gpuarr.tensor(ik, device=device), **kw)
    tE, tU = torch.lobpcg(torch.tensor(a), X=torch.tensor(x), iK=torch.tensor(ik), **kw)
    assert U.shape == (30, 2)
    np.testing.assert_allclose(to_np(E), tE.numpy(), rtol=1e-9)
    np.testing.assert_allclose(to_np(E), [1, 2], rtol=1e-7)


def test_lobpcg_float32(device):
    a, x = sym_spectrum(30, 61).astype(np.float32), rand((30, 2), 62).astype(np.float32)
    E, U = gpuarr.lobpcg(gpuarr.tensor(a, device=device), X=gpuarr.tensor(x, device=device))
    assert E.dtype == U.dtype == gpuarr.float32
    np.testing.assert_allclose(to_np(E), [30, 29], rtol=1e-4)


def test_lobpcg_tracker(device):
    a, x = sym_spectrum(24, 63), rand((24, 2), 64)

    def run(mod, A, X):
        seen = []

        def tracker(worker):
            seen.append((worker.ivars["istep"], tuple(worker.X.shape)))
            if worker.ivars["istep"] == 3:
                worker.bvars["force_stop"] = True

        mod.lobpcg(A, k=2, X=X, tracker=tracker)
        return seen

    seen = run(gpuarr, gpuarr.tensor(a, device=device), gpuarr.tensor(x, device=device))
    assert seen == run(torch, torch.tensor(a), torch.tensor(x))
    assert seen == [(1, (24, 2)), (2, (24, 2)), (3, (24, 2))]


def _lobpcg_loss(E, U, W):
    return E.sum() + (U * U * W).sum()  # invariant under the eigenvectors' signs


@pytest.mark.parametrize("k,largest", [(3, True), (2, False)])
def test_lobpcg_grad_matches_torch(device, k, largest):
    a, x, w = sym_spectrum(30, 65), rand((30, k), 66), rand((30, k), 67)
    A = gpuarr.tensor(a, device=device, requires_grad=True)
    _lobpcg_loss(*gpuarr.lobpcg(A, k=k, X=gpuarr.tensor(x, device=device), largest=largest),
                 gpuarr.tensor(w, device=device)).backward()
    tA = torch.tensor(a, requires_grad=True)
    tE, tU = torch.lobpcg(tA, k=k, X=torch.tensor(x), largest=largest)
    _lobpcg_loss(tE, tU, torch.tensor(w)).backward()
    np.testing.assert_allclose(to_np(A.grad), tA.grad.numpy(), atol=1e-8)
    E, _ = gpuarr.lobpcg(A, k=k, X=gpuarr.tensor(x, device=device), largest=largest)
    assert E.grad_fn.name() == tE.grad_fn.name() == "LOBPCGAutogradFunctionBackward"


def test_lobpcg_batched_grad_matches_torch(device):
    a, x, w = sym_spectrum(15, 68, (2,)), rand((2, 15, 1), 69), rand((2, 15, 1), 70)
    A = gpuarr.tensor(a, device=device, requires_grad=True)
    _lobpcg_loss(*gpuarr.lobpcg(A, X=gpuarr.tensor(x, device=device), method="basic"),
                 gpuarr.tensor(w, device=device)).backward()
    tA = torch.tensor(a, requires_grad=True)
    _lobpcg_loss(*torch.lobpcg(tA, X=torch.tensor(x), method="basic"),
                 torch.tensor(w)).backward()
    np.testing.assert_allclose(to_np(A.grad), tA.grad.numpy(), atol=1e-8)


@pytest.mark.parametrize("k,largest,method", [(1, True, "ortho"), (2, False, "basic")])
def test_lobpcg_gradcheck(device, k, largest, method):
    A = gpuarr.tensor(sym_spectrum(9, 71), device=device, requires_grad=True)
    X = gpuarr.tensor(rand((9, k), 72), device=device)

    def f(A):
        E, U = gpuarr.lobpcg(A, k=k, X=X, tol=1e-13, niter=200, largest=largest,
                             method=method)
        return E, U * U

    assert gradcheck(f, (A,))


def test_lobpcg_backward_with_B_raises(device):
    a, b = sym_spectrum(12, 73), spd(12, 74)
    for mod, mk in ((torch, torch.tensor), (gpuarr, lambda v, **kw: gpuarr.tensor(
            v, device=device, **kw))):
        A, B = mk(a, requires_grad=True), mk(b)
        E, _ = mod.lobpcg(A, B=B, X=mk(rand((12, 2), 75)))
        with pytest.raises(ValueError, match=r"^lobpcg.backward does not support backward "
                                             r"with B != I yet.$"):
            E.sum().backward()


LOBPCG_ERRORS = [
    lambda m: ((m.randn(3, 4),), {}),
    lambda m: ((m.eye(30),), {"B": m.eye(29)}),
    lambda m: ((m.eye(30),), {"k": 11}),
    lambda m: ((m.eye(30),), {"k": 2, "n": 11}),
    lambda m: ((m.eye(30),), {"X": m.randn(29, 2)}),
    lambda m: ((m.eye(30).half(),), {"k": 2}),
    lambda m: ((m.eye(30).long(),), {"k": 2}),
    lambda m: ((m.eye(30, dtype=m.float64),), {"k": 2, "X": m.randn(2, 29, 2)}),
]


@pytest.mark.parametrize("make", LOBPCG_ERRORS)
def test_lobpcg_errors_like_torch(device, make):
    def call(mod, ns):
        args, kwargs = make(ns)
        return lambda: mod.lobpcg(*args, **kwargs)

    same_error(call(gpuarr, on_device(gpuarr, device)), call(torch, torch), device)
