"""torch.linalg's qr, pinv, matrix_rank, lstsq, matrix_power, matrix_exp, solve_triangular, LU,
the *_ex forms, cond, tensorinv/tensorsolve, vander, and torch's top-level linear algebra
(cholesky_solve/inverse, triangular_solve, lu_unpack, addr, addbmm, in-place products), tested
against PyTorch 2.13 on every device: values, dtypes, shapes, gradients (against torch's, and
gradcheck/gradgradcheck in float64) and error types and texts.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from ops_helpers import assert_same, to_np

import gpuarr
import gpuarr.linalg as LA
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.backends import backend_for

TL = torch.linalg


def rand(shape, seed: int = 0, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def well(shape, seed: int = 0) -> np.ndarray:
    """Random square matrices with a dominant diagonal (well conditioned)."""
    a = rand(shape, seed)
    n = shape[-1]
    return a + 2 * n * np.eye(n) if n else a


def spd(shape, seed: int = 0) -> np.ndarray:
    a = rand(shape, seed)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def ga(arr, device, rg: bool = False):
    return gpuarr.tensor(np.ascontiguousarray(arr), device=device, requires_grad=rg)


def th(arr, rg: bool = False):
    return torch.tensor(np.ascontiguousarray(arr), requires_grad=rg)


def same(g, t, rtol=1e-6, atol=1e-8):
    assert_same(g, t, rtol=rtol, atol=atol)


def same_all(gs, ts, rtol=1e-6, atol=1e-8):
    assert len(gs) == len(ts)
    for g, t in zip(gs, ts):
        same(g, t, rtol, atol)


def same_grads(gfn, tfn, arrays, device, rtol=1e-6, atol=1e-8, seed=1):
    """Forward values and every input's gradient under a random cotangent match torch's."""
    xs = [ga(a, device, True) for a in arrays]
    ts = [th(a, True) for a in arrays]
    out, ref = gfn(*xs), tfn(*ts)
    same(out, ref, rtol, atol)
    cot = rand(tuple(ref.shape), seed)
    out.backward(ga(cot, device))
    ref.backward(th(cot))
    for x, t in zip(xs, ts):
        if x.grad is None or t.grad is None:  # an input the result ignores (addr, beta=0)
            assert x.grad is None or not to_np(x.grad).any()
            assert t.grad is None or not t.grad.any()
        else:
            same(x.grad, t.grad, rtol, atol)


def check_grads(fn, arrays, device, second=True):
    inputs = tuple(ga(a, device, True) for a in arrays)
    assert gradcheck(fn, inputs)
    if second:
        assert gradgradcheck(fn, inputs)


def same_error(gfn, tfn):
    """torch raises; gpuarr raises the same exception type with the same text."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as te:
            tfn()
    want = LA.LinAlgError if isinstance(te.value, TL.LinAlgError) else type(te.value)
    with pytest.raises(want) as ge:
        gfn()
    assert str(ge.value) == str(te.value)


# --------------------------------------------------------------------------------------------
# qr


QR_SHAPES = [(3, 3), (4, 2), (2, 4), (2, 3, 3), (2, 5, 3), (3, 2, 4), (0, 3), (3, 0), (2, 0, 0)]


@pytest.mark.parametrize("shape", QR_SHAPES)
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_values(device, shape, mode):
    a = rand(shape)
    same_all(LA.qr(ga(a, device), mode), TL.qr(th(a), mode))
    assert type(LA.qr(ga(a, device), mode)).__name__ == "linalg_qr"


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 4, 3)])
def test_qr_grads(device, shape):
    a = rand(shape)
    same_grads(lambda x: LA.qr(x).Q, lambda x: TL.qr(x).Q, [a], device)
    same_grads(lambda x: LA.qr(x).R, lambda x: TL.qr(x).R, [a], device)
    check_grads(lambda x: tuple(LA.qr(x)), [a], device, second=len(shape) == 2)


def test_qr_grad_errors(device):
    a = rand((4, 2))
    for mode in ("r", "complete"):
        x, t = ga(a, device, True), th(a, True)
        with pytest.raises(RuntimeError) as te:
            TL.qr(t, mode).R.sum().backward()
        with pytest.raises(RuntimeError) as ge:
            LA.qr(x, mode).R.sum().backward()
        assert str(ge.value) == str(te.value)


def test_qr_errors(device):
    same_error(lambda: LA.qr(ga(rand((2, 3)), device), "x"), lambda: TL.qr(th(rand((2, 3))), "x"))
    same_error(lambda: LA.qr(ga(np.ones(3), device)), lambda: TL.qr(torch.ones(3)))
    same_error(lambda: LA.qr(ga(np.ones((3, 3), np.int64), device)),
               lambda: TL.qr(torch.ones(3, 3, dtype=torch.int64)))
    same_error(lambda: LA.qr(ga(np.ones((3, 3), np.float16), device)),
               lambda: TL.qr(torch.ones(3, 3, dtype=torch.half)))


def test_qr_out(device):
    a = rand((3, 2))
    Q, R = gpuarr.empty(0, dtype=gpuarr.float64, device=device), \
        gpuarr.empty(0, dtype=gpuarr.float64, device=device)
    res = LA.qr(ga(a, device), out=(Q, R))
    assert res.Q is Q and res.R is R
    same_all((Q, R), TL.qr(th(a)))


# --------------------------------------------------------------------------------------------
# pinv, matrix_rank


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 5), (0, 3), (3, 0)])
def test_pinv_values(device, shape):
    a = rand(shape)
    same(LA.pinv(ga(a, device)), TL.pinv(th(a)))
    same(LA.matrix_rank(ga(a, device)), TL.matrix_rank(th(a)))


def test_pinv_tolerances(device):
    a = rand((2, 4, 3))
    a[0, :, 2] = a[0, :, 1]  # rank deficient
    for kw in [dict(atol=0.5), dict(rtol=0.3), dict(atol=0.1, rtol=0.2), dict(atol=-1.0)]:
        same(LA.pinv(ga(a, device), **kw), TL.pinv(th(a), **kw))
        same(LA.matrix_rank(ga(a, device), **kw), TL.matrix_rank(th(a), **kw))
    same(LA.pinv(ga(a, device), 0.3), TL.pinv(th(a), 0.3))  # rcond, positionally
    same(LA.matrix_rank(ga(a, device), 0.5), TL.matrix_rank(th(a), 0.5))  # tol
    atol = np.array([0.1, 2.0])  # one per matrix
    same(LA.pinv(ga(a, device), atol=ga(atol, device)), TL.pinv(th(a), atol=th(atol)))
    s = spd((3, 3)) - 2 * np.eye(3)
    same(LA.pinv(ga(s, device), hermitian=True), TL.pinv(th(s), hermitian=True))
    same(LA.matrix_rank(ga(s, device), hermitian=True, atol=1.0),
         TL.matrix_rank(th(s), hermitian=True, atol=1.0))


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)])
def test_pinv_grads(device, shape):
    a = rand(shape)
    same_grads(LA.pinv, TL.pinv, [a], device)
    check_grads(LA.pinv, [a], device)
    # repeated singular values (the identity): torch's formula, no division by their gaps
    same_grads(LA.pinv, TL.pinv, [np.eye(3)], device)
    s = spd((3, 3))
    same_grads(lambda x: LA.pinv(x, hermitian=True), lambda x: TL.pinv(x, hermitian=True), [s],
               device)


def test_pinv_rank_errors(device):
    same_error(lambda: LA.pinv(ga(np.ones(3, np.float32), device)),
               lambda: TL.pinv(torch.ones(3)))
    same_error(lambda: LA.pinv(ga(np.ones((3, 3), np.int64), device)),
               lambda: TL.pinv(torch.ones(3, 3, dtype=torch.int64)))
    same_error(lambda: LA.matrix_rank(ga(np.ones(3), device)),
               lambda: TL.matrix_rank(torch.ones(3)))
    same_error(lambda: LA.matrix_rank(ga(np.ones((3, 3), np.int64), device)),
               lambda: TL.matrix_rank(torch.ones(3, 3, dtype=torch.int64)))


# --------------------------------------------------------------------------------------------
# lstsq


LSTSQ_CASES = [((4, 2), (4, 1)), ((2, 4, 3), (2, 4, 2)), ((4, 3), (4,)), ((3, 4), (3, 2)),
               ((2, 5, 3), (1, 5, 2)), ((3, 0), (3, 2)), ((0, 3), (0, 2)), ((1, 4, 2), (3, 4, 1))]


@pytest.mark.parametrize("sa,sb", LSTSQ_CASES)
@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq_values(device, sa, sb, driver):
    a, b = rand(sa), rand(sb, 1)
    res = LA.lstsq(ga(a, device), ga(b, device), driver=driver)
    assert type(res).__name__ == "linalg_lstsq"
    ref = TL.lstsq(th(a), th(b), driver=driver)
    if driver == "gels" and sa[1] == 0:  # torch's gels leaves zeros; the residual is ||B||^2
        ref = (ref[0], (th(b) ** 2).sum(-2), ref[2], ref[3])
    same_all(res, ref)


@pytest.mark.parametrize("driver", ["gelsy", "gelsd", "gelss"])
def test_lstsq_rank_deficient(device, driver):
    a, b = rand((5, 3)), rand((5, 2), 1)
    a[:, 2] = a[:, 1]
    same_all(LA.lstsq(ga(a, device), ga(b, device), driver=driver),
             TL.lstsq(th(a), th(b), driver=driver))
    if driver != "gelsy":  # gelsy truncates a pivoted QR, not the SVD: see lstsq's docs
        same_all(LA.lstsq(ga(a, device), ga(b, device), 0.5, driver=driver),
                 TL.lstsq(th(a), th(b), 0.5, driver=driver))


def test_lstsq_grads(device):
    a, b = rand((5, 3)), rand((5, 2), 1)
    same_grads(lambda x, y: LA.lstsq(x, y).solution, lambda x, y: TL.lstsq(x, y).solution,
               [a, b], device)
    check_grads(lambda x, y: LA.lstsq(x, y).solution, [a, b], device)


def test_lstsq_errors(device):
    A, B = rand((4, 2)), rand((4, 1))
    same_error(lambda: LA.lstsq(ga(A, device), ga(B, device), driver="foo"),
               lambda: TL.lstsq(th(A), th(B), driver="foo"))
    same_error(lambda: LA.lstsq(ga(A, device), ga(rand((5, 1)), device)),
               lambda: TL.lstsq(th(A), th(rand((5, 1)))))
    same_error(lambda: LA.lstsq(ga(A, device), ga(B.astype(np.float32), device)),
               lambda: TL.lstsq(th(A), th(B.astype(np.float32))))
    same_error(lambda: LA.lstsq(ga(np.ones(3), device), ga(np.ones(3), device)),
               lambda: TL.lstsq(torch.ones(3, dtype=torch.float64),
                                torch.ones(3, dtype=torch.float64)))
    same_error(lambda: LA.lstsq(ga(rand((2, 5, 3)), device), ga(rand((5, 2)), device)),
               lambda: TL.lstsq(th(rand((2, 5, 3))), th(rand((5, 2)))))
    same_error(lambda: LA.lstsq(ga(A, device), ga(rand((2, 3, 4, 1)), device)),
               lambda: TL.lstsq(th(A), th(rand((2, 3, 4, 1)))))
    same_error(lambda: LA.lstsq(ga(A.astype(np.int64), device), ga(B.astype(np.int64), device)),
               lambda: TL.lstsq(th(A.astype(np.int64)), th(B.astype(np.int64))))


# --------------------------------------------------------------------------------------------
# matrix_power, matrix_exp


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6, -1, -3])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (0, 0), (2, 0, 0)])
def test_matrix_power_values(device, n, shape):
    a = well(shape) / (2 * max(shape[-1], 1))
    same(LA.matrix_power(ga(a, device), n), TL.matrix_power(th(a), n))
    same(ga(a, device).matrix_power(n), th(a).matrix_power(n))


def test_matrix_power_ints_and_grads(device):
    a = np.arange(9).reshape(3, 3) % 4
    same(LA.matrix_power(ga(a, device), 3), TL.matrix_power(torch.tensor(a), 3))
    w = well((2, 3, 3))
    for n in (0, 2, 3, -2):
        same_grads(lambda x, k=n: LA.matrix_power(x, k),
                   lambda x, k=n: TL.matrix_power(x, k), [w], device)
    check_grads(lambda x: LA.matrix_power(x, 3), [w], device)
    check_grads(lambda x: LA.matrix_power(x, -2), [w], device)


def test_matrix_power_errors(device):
    same_error(lambda: LA.matrix_power(ga(np.ones((2, 3)), device), 2),
               lambda: TL.matrix_power(torch.ones(2, 3), 2))
    same_error(lambda: LA.matrix_power(ga(np.ones(3), device), 2),
               lambda: TL.matrix_power(torch.ones(3), 2))
    same_error(lambda: LA.matrix_power(ga(np.ones((3, 3)), device), 2.0),
               lambda: TL.matrix_power(torch.ones(3, 3), 2.0))
    same_error(lambda: LA.matrix_power(ga(np.ones((3, 3), np.int64), device), -1),
               lambda: TL.matrix_power(torch.ones(3, 3, dtype=torch.int64), -1))
    same_error(lambda: LA.matrix_power(ga(np.zeros((3, 3)), device), -1),
               lambda: TL.matrix_power(torch.zeros(3, 3), -1))


@pytest.mark.parametrize("scale", [1e-3, 0.5, 3.0, 40.0])
def test_matrix_exp_values_and_grads(device, scale):
    a = rand((3, 4, 4)) * scale
    a[1] *= 0.01  # matrices of one batch need different numbers of squarings
    ref = TL.matrix_exp(th(a))
    tol = 1e-9 * float(ref.abs().max())
    same(LA.matrix_exp(ga(a, device)), ref, atol=tol)
    x, t = ga(a, device, True), th(a, True)
    cot = rand(a.shape, 1)
    LA.matrix_exp(x).backward(ga(cot, device))
    TL.matrix_exp(t).backward(th(cot))
    same(x.grad, t.grad, atol=1e-9 * float(t.grad.abs().max()))


def test_matrix_exp_small_and_checks(device):
    for shape in [(0, 0), (2, 1, 1), (3, 2, 2)]:
        a = rand(shape)
        same(LA.matrix_exp(ga(a, device)), TL.matrix_exp(th(a)))
    a32 = rand((3, 3), dtype=np.float32)
    same(LA.matrix_exp(ga(a32, device)), TL.matrix_exp(th(a32)), rtol=1e-5, atol=1e-6)
    same(ga(a32, device).matrix_exp(), th(a32).matrix_exp(), rtol=1e-5, atol=1e-6)
    a = rand((2, 3, 3))
    a[1] *= 8
    check_grads(LA.matrix_exp, [a], device)
    same_error(lambda: LA.matrix_exp(ga(np.ones((2, 3)), device)),
               lambda: TL.matrix_exp(torch.ones(2, 3)))
    same_error(lambda: LA.matrix_exp(ga(np.ones(3), device)),
               lambda: TL.matrix_exp(torch.ones(3)))
    same_error(lambda: LA.matrix_exp(ga(np.ones((3, 3), np.int64), device)),
               lambda: TL.matrix_exp(torch.ones(3, 3, dtype=torch.int64)))


# --------------------------------------------------------------------------------------------
# solve_triangular


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular(device, upper, left, unit):
    A, B = well((2, 3, 3)), rand((4, 1, 3, 2), 1)
    if not left:
        B = np.swapaxes(B, -1, -2)
    kw = dict(upper=upper, left=left, unitriangular=unit)
    same_grads(lambda a, b: LA.solve_triangular(a, b, **kw),
               lambda a, b: TL.solve_triangular(a, b, **kw), [A, B], device)


@pytest.mark.parametrize("upper", [True, False])
def test_solve_triangular_gradcheck(device, upper):
    A, B = well((3, 3)), rand((3, 2), 1)

    def f(a, b):  # A's other triangle is not an input: mask it as torch's tests do
        a = a.triu() if upper else a.tril()
        return LA.solve_triangular(a, b, upper=upper)

    check_grads(f, [A, B], device)


def test_solve_triangular_special(device):
    same(LA.solve_triangular(ga(np.zeros((0, 0)), device), ga(np.zeros((0, 2)), device),
                             upper=True),
         TL.solve_triangular(torch.zeros(0, 0, dtype=torch.float64),
                             torch.zeros(0, 2, dtype=torch.float64), upper=True))
    z = np.triu(np.ones((3, 3)))
    z[1, 1] = 0  # a zero on the diagonal: inf/nan, no error
    same(LA.solve_triangular(ga(z, device), ga(np.ones((3, 2)), device), upper=True),
         TL.solve_triangular(th(z), torch.ones(3, 2, dtype=torch.float64), upper=True))
    A32, B32 = well((3, 3)).astype(np.float32), rand((3, 2), 1, np.float32)
    for a, b in [(A32, B32.astype(np.float64)), (A32.astype(np.float64), B32),
                 (A32.astype(np.float64), np.ones((3, 2), np.int64))]:  # B takes A's dtype
        same(LA.solve_triangular(ga(a, device), ga(b, device), upper=True),
             TL.solve_triangular(th(a), th(b), upper=True), rtol=1e-5, atol=1e-6)
    same(LA.solve_triangular(ga(A32, device), ga(B32, device), upper=False),
         TL.solve_triangular(th(A32), th(B32), upper=False), rtol=1e-5, atol=1e-6)


def test_solve_triangular_errors(device):
    A = well((3, 3))
    same_error(lambda: LA.solve_triangular(ga(A, device), ga(rand((3, 2)), device)),
               lambda: TL.solve_triangular(th(A), th(rand((3, 2)))))
    for a, b, kw in [(A, rand(3), dict(upper=True)), (A, rand((2, 2)), dict(upper=True)),
                     (rand((2, 3)), rand((2, 2)), dict(upper=True)),
                     (A, rand((3, 2)), dict(upper=True, left=False)),
                     (A.astype(np.int64), rand((3, 2)), dict(upper=True))]:
        same_error(lambda: LA.solve_triangular(ga(a, device), ga(b, device), **kw),  # noqa: B023 - called at once
                   lambda: TL.solve_triangular(th(a), th(b), **kw))  # noqa: B023 - called at once


def test_backend_generic_paths_match_scipy():
    """The generic Backend triangular solve and LU (what the CUDA backend runs) agree with
    the NumPy backend's SciPy ones."""
    bk = backend_for(gpuarr.device("cpu"))
    A, B = well((2, 4, 4)), rand((2, 4, 3), 1)
    bk.use_scipy = False
    try:
        for upper in (True, False):
            for unit in (True, False):
                generic = bk.solve_triangular(A, B, upper, unit)
                bk.use_scipy = True
                np.testing.assert_allclose(generic, bk.solve_triangular(A, B, upper, unit),
                                           rtol=1e-12, atol=1e-12)
                bk.use_scipy = False
        for shape in [(3, 3), (2, 5, 3), (2, 3, 5)]:
            a = rand(shape, 2)
            a[..., 1, :] = 0  # a zero pivot
            generic = bk.lu_factor(a)
            bk.use_scipy = True
            for x, y in zip(generic, bk.lu_factor(a)):
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
            bk.use_scipy = False
    finally:
        bk.use_scipy = True


# --------------------------------------------------------------------------------------------
# LU


LU_SHAPES = [(3, 3), (4, 2), (2, 4), (2, 4, 4), (3, 5, 3), (2, 3, 5), (0, 0), (2, 0, 3)]


@pytest.mark.parametrize("shape", LU_SHAPES)
def test_lu_values(device, shape):
    a = rand(shape)
    same_all(LA.lu_factor_ex(ga(a, device)), TL.lu_factor_ex(th(a)))
    same_all(LA.lu(ga(a, device)), TL.lu(th(a)))
    if min(shape[-2:]) > 0:
        same_all(LA.lu_factor(ga(a, device)), TL.lu_factor(th(a)))
        same_all(gpuarr.lu_unpack(*LA.lu_factor(ga(a, device))),
                 torch.lu_unpack(*TL.lu_factor(th(a))))


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 3)])
def test_lu_grads(device, shape):
    a = rand(shape)
    same_grads(lambda x: LA.lu_factor(x).LU, lambda x: TL.lu_factor(x).LU, [a], device)
    same_grads(lambda x: LA.lu(x).L, lambda x: TL.lu(x).L, [a], device)
    same_grads(lambda x: LA.lu(x).U, lambda x: TL.lu(x).U, [a], device)
    check_grads(lambda x: LA.lu_factor(x).LU, [a], device, second=len(shape) == 2)


def test_lu_singular_and_errors(device):
    z = np.zeros((2, 3, 3))
    z[1] = well((3, 3))
    same_all(LA.lu_factor_ex(ga(z, device)), TL.lu_factor_ex(th(z)))
    same_error(lambda: LA.lu_factor(ga(z, device)), lambda: TL.lu_factor(th(z)))
    same_error(lambda: LA.lu_factor(ga(z[0], device)), lambda: TL.lu_factor(th(z[0])))
    same_error(lambda: LA.lu_factor_ex(ga(z[0], device), check_errors=True),
               lambda: TL.lu_factor_ex(th(z[0]), check_errors=True))
    same_error(lambda: LA.lu_factor(ga(np.ones(3), device)), lambda: TL.lu_factor(torch.ones(3)))
    same_error(lambda: LA.lu(ga(np.ones(3), device)), lambda: TL.lu(torch.ones(3)))
    same_error(lambda: LA.lu_factor(ga(np.ones((3, 3), np.int64), device)),
               lambda: TL.lu_factor(torch.ones(3, 3, dtype=torch.int64)))
    same_error(lambda: LA.lu_factor(ga(np.ones((3, 3), np.float16), device)),
               lambda: TL.lu_factor(torch.ones(3, 3, dtype=torch.half)))
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    if device == "cpu":
        same_error(lambda: LA.lu_factor(ga(a, device), pivot=False),
                   lambda: TL.lu_factor(th(a), pivot=False))
    else:  # torch's CUDA build factors without pivoting: L U = A
        P, L, U = LA.lu(ga(a, device), pivot=False)
        np.testing.assert_allclose(to_np(L @ U), a)
        np.testing.assert_array_equal(to_np(P), np.eye(2))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_lu_solve(device, left, adjoint):
    a, b = rand((2, 3, 3)), rand((2, 3, 2), 1)
    if not left:
        b = np.swapaxes(b, -1, -2)
    tLU, tpiv = TL.lu_factor(th(a))
    LU, piv = ga(tLU.numpy(), device), gpuarr.tensor(tpiv.numpy(), device=device)
    kw = dict(left=left, adjoint=adjoint)
    same_grads(lambda x, y: LA.lu_solve(x, piv, y, **kw),
               lambda x, y: TL.lu_solve(x, tpiv, y, **kw), [tLU.numpy(), b], device)
    check_grads(lambda x, y: LA.lu_solve(x, piv, y, **kw), [tLU.numpy()[0], b[0]], device,
                second=False)
    same(gpuarr.lu_solve(ga(b, device), LU, piv) if left else LA.lu_solve(LU, piv, ga(b, device),
                                                                         **kw),
         torch.lu_solve(th(b), tLU, tpiv) if left else TL.lu_solve(tLU, tpiv, th(b), **kw))


def test_lu_solve_errors(device):
    LU, piv = TL.lu_factor(th(rand((3, 3))))
    gLU, gpiv = ga(LU.numpy(), device), gpuarr.tensor(piv.numpy(), device=device)
    for b in [rand((3, 2)).astype(np.float32), rand((2, 2)), rand(3)]:
        same_error(lambda: LA.lu_solve(gLU, gpiv, ga(b, device)),  # noqa: B023 - called at once
                   lambda: TL.lu_solve(LU, piv, th(b)))  # noqa: B023 - called at once
    LU2, piv2 = TL.lu_factor(th(rand((3, 4))))
    same_error(lambda: LA.lu_solve(ga(LU2.numpy(), device),
                                   gpuarr.tensor(piv2.numpy(), device=device),
                                   ga(rand((3, 2)), device)),
               lambda: TL.lu_solve(LU2, piv2, th(rand((3, 2)))))


def test_top_level_lu(device):
    a = rand((2, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_all(gpuarr.lu(ga(a, device), get_infos=True), torch.lu(th(a), get_infos=True))
        same_all(ga(a, device).lu(), th(a).lu())
        same_all(gpuarr.lu(ga(np.zeros((3, 3)), device)), torch.lu(torch.zeros(3, 3,
                                                                              dtype=torch.float64)))
    LU, piv = TL.lu_factor(th(a))
    gLU, gpiv = ga(LU.numpy(), device), gpuarr.tensor(piv.numpy(), device=device)
    for data in (True, False):
        for pivots in (True, False):
            same_all(gpuarr.lu_unpack(gLU, gpiv, data, pivots),
                     torch.lu_unpack(LU, piv, data, pivots))
    same_error(lambda: gpuarr.lu_unpack(gLU, gpiv.float()),
               lambda: torch.lu_unpack(LU, piv.float()))
    b = rand((2, 3, 1), 1)
    same(ga(b, device).lu_solve(gLU, gpiv), th(b).lu_solve(LU, piv))


# --------------------------------------------------------------------------------------------
# the *_ex forms


def test_ex_forms(device):
    cases = [np.zeros((2, 2)), -np.eye(2), 2 * np.eye(2), np.stack([spd((2, 2)), np.zeros((2, 2))]),
             np.zeros((0, 0))]
    for a in cases:
        for name in ("inv_ex", "cholesky_ex"):
            res, ref = getattr(LA, name)(ga(a, device)), getattr(TL, name)(th(a))
            assert type(res).__name__ == type(ref).__name__
            same(res[1], ref[1])
            if a.size == 0:
                same(res[0], ref[0])
                continue
            ok = (ref[1].reshape(-1) == 0).numpy()
            got = to_np(res[0]).reshape((-1,) + a.shape[-2:])
            want = ref[0].numpy().reshape((-1,) + a.shape[-2:])
            np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6, atol=1e-8)
            assert np.isnan(got[~ok]).all()  # where torch leaves LAPACK's garbage
        res, ref = LA.solve_ex(ga(a, device), ga(np.ones(a.shape[:-1]), device)), \
            TL.solve_ex(th(a), torch.ones(a.shape[:-1], dtype=torch.float64))
        same(res.info, ref.info)
        if a.size == 0:
            same(res.result, ref.result)
            continue
        ok = (ref.info.reshape(-1) == 0).numpy()
        got = to_np(res.result).reshape(ok.shape[0], -1)
        want = ref.result.numpy().reshape(ok.shape[0], -1)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6, atol=1e-8)
        assert np.isnan(got[~ok]).all()
    same(LA.cholesky_ex(ga(spd((3, 3)), device), upper=True).L,
         TL.cholesky_ex(th(spd((3, 3))), upper=True).L)
    z = np.zeros((2, 2))
    for name, kw in [("inv_ex", {}), ("cholesky_ex", {}), ("solve_ex", {"B": np.ones(2)})]:
        g_args = [ga(z, device)] + [ga(v, device) for v in kw.values()]
        t_args = [th(z)] + [th(v) for v in kw.values()]
        same_error(lambda: getattr(LA, name)(*g_args, check_errors=True),  # noqa: B023 - called at once
                   lambda: getattr(TL, name)(*t_args, check_errors=True))  # noqa: B023 - called at once


def test_ex_grads(device):
    a = well((2, 3, 3))
    same_grads(lambda x: LA.inv_ex(x).inverse, lambda x: TL.inv_ex(x).inverse, [a], device)
    s = spd((3, 3))
    same_grads(lambda x: LA.cholesky_ex(x).L, lambda x: TL.cholesky_ex(x).L, [s], device)
    same_grads(lambda x, y: LA.solve_ex(x, y).result, lambda x, y: TL.solve_ex(x, y).result,
               [a, rand((2, 3, 2), 1)], device)


# --------------------------------------------------------------------------------------------
# cond, tensorinv, tensorsolve, vander, diagonal


@pytest.mark.parametrize("p", [None, 2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc"])
def test_cond(device, p):
    a = rand((2, 3, 3))
    same(LA.cond(ga(a, device), p), TL.cond(th(a), p))
    if p is None or p in (2, -2):
        same_grads(lambda x: LA.cond(x, p), lambda x: TL.cond(x, p), [a], device)
    else:  # torch's own backward fails here (it edits a saved inverse in place)
        check_grads(lambda x: LA.cond(x, p), [a], device, second=p not in ("nuc",))
    if p is None or p in (2, -2):
        r = rand((3, 5))
        same(LA.cond(ga(r, device), p), TL.cond(th(r), p))
    else:
        z = ga(np.zeros((2, 2)), device)
        if p == "nuc":  # torch takes the SVD of an inf matrix and gets nan; we give inf
            assert to_np(LA.cond(z, p)) == np.inf
        else:
            same(LA.cond(z, p), TL.cond(torch.zeros(2, 2, dtype=torch.float64), p))
        same_error(lambda: LA.cond(ga(rand((3, 5)), device), p),
                   lambda: TL.cond(th(rand((3, 5))), p))


def test_tensorinv_tensorsolve(device):
    a = rand((6, 4, 24))
    same_grads(lambda x: LA.tensorinv(x, ind=2), lambda x: TL.tensorinv(x, ind=2), [a], device)
    same_error(lambda: LA.tensorinv(ga(rand((3, 4)), device), ind=1),
               lambda: TL.tensorinv(th(rand((3, 4))), ind=1))
    A, B = rand((2, 3, 6)), rand((2, 3), 1)
    same_grads(LA.tensorsolve, TL.tensorsolve, [A, B], device)
    A2 = rand((6, 2, 3))
    same(LA.tensorsolve(ga(A2, device), ga(B, device), dims=(0,)),
         TL.tensorsolve(th(A2), th(B), dims=(0,)))


def test_vander_diagonal(device):
    for x in [np.array([1, 2, 3]), np.array([1, 2], np.int8), rand((2, 4))]:
        for N in (None, 2, 5):
            same(LA.vander(ga(x, device), N=N), TL.vander(torch.tensor(x), N=N))
    same_grads(lambda x: LA.vander(x, N=4), lambda x: TL.vander(x, N=4), [rand(3)], device)
    for x, N in [(np.array([1.0]), None), (np.array([1.0, 2.0]), 1)]:
        same_error(lambda: LA.vander(ga(x, device), N=N), lambda: TL.vander(th(x), N=N))  # noqa: B023 - called at once
    same_error(lambda: LA.vander(ga(np.array([True]), device)),
               lambda: TL.vander(torch.tensor([True, False])))
    a = rand((2, 3, 4))
    same(LA.diagonal(ga(a, device), offset=1), TL.diagonal(th(a), offset=1))
    same(LA.diagonal(ga(a, device), dim1=0, dim2=2), TL.diagonal(th(a), dim1=0, dim2=2))


# --------------------------------------------------------------------------------------------
# top level: cholesky, cholesky_solve, cholesky_inverse, qr, svd, pinverse


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_inverse(device, upper):
    s = spd((2, 3, 3))
    L = np.linalg.cholesky(s)
    L = np.ascontiguousarray(np.swapaxes(L, -1, -2)) if upper else L
    b = rand((3, 2), 1)
    same_grads(lambda x, y: gpuarr.cholesky_solve(y, x, upper),
               lambda x, y: torch.cholesky_solve(y, x, upper), [L, b], device)
    same_grads(lambda x: gpuarr.cholesky_inverse(x, upper),
               lambda x: torch.cholesky_inverse(x, upper), [L], device)
    same(ga(b, device).cholesky_solve(ga(L, device), upper), th(b).cholesky_solve(th(L), upper))
    same(ga(L, device).cholesky_inverse(upper), th(L).cholesky_inverse(upper))
    tri = (lambda z: z.triu()) if upper else (lambda z: z.tril())
    check_grads(lambda x, y: gpuarr.cholesky_solve(y, tri(x), upper), [L[0], b], device)
    check_grads(lambda x: gpuarr.cholesky_inverse(tri(x), upper), [L[0]], device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(gpuarr.cholesky(ga(s, device), upper), torch.cholesky(th(s), upper))
        same(ga(s, device).cholesky(upper=upper), th(s).cholesky(upper=upper))


def test_cholesky_family_errors(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a in [np.ones(3), np.ones((2, 3)), -np.eye(3), np.ones((3, 3), np.int64)]:
            same_error(lambda: gpuarr.cholesky(ga(a, device)), lambda: torch.cholesky(th(a)))  # noqa: B023 - called at once
    for b, L in [(rand((3, 2), dtype=np.float32), rand((3, 3))), (rand((3, 2)), rand((2, 2))),
                 (rand(3), rand((3, 3))), (rand((3, 2)), rand((3, 2))),
                 (rand((3, 2)).astype(np.int64), rand((3, 3)).astype(np.int64))]:
        same_error(lambda: gpuarr.cholesky_solve(ga(b, device), ga(L, device)),  # noqa: B023 - called at once
                   lambda: torch.cholesky_solve(th(b), th(L)))  # noqa: B023 - called at once
    for L in [rand((3, 2)), rand(3), np.ones((3, 3), np.int64), np.zeros((3, 3)),
              np.stack([np.eye(2), np.diag([1.0, 0.0])])]:
        same_error(lambda: gpuarr.cholesky_inverse(ga(L, device)),  # noqa: B023 - called at once
                   lambda: torch.cholesky_inverse(th(L)))  # noqa: B023 - called at once


@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (2, 3, 3)])
@pytest.mark.parametrize("some", [True, False])
def test_qr_svd_pinverse(device, shape, some):
    a = rand(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, ref = gpuarr.qr(ga(a, device), some), torch.qr(th(a), some)
        assert type(res).__name__ == "qr"
        same_all(res, ref)
        same_all(ga(a, device).qr(some), th(a).qr(some))
    U, S, V = gpuarr.svd(ga(a, device), some)
    tU, tS, tV = torch.svd(th(a), some)
    k = min(shape[-2:])
    same(S, tS)
    # singular vectors are unique up to sign: compare the reconstruction and |U|, |V|
    same(U[..., :k] * S.unsqueeze(-2) @ V[..., :k].mT, th(a))
    same(abs(U[..., :k]), abs(tU[..., :k]))
    same(abs(V[..., :k]), abs(tV[..., :k]))
    same_all(gpuarr.svd(ga(a, device), some, compute_uv=False),
             torch.svd(th(a), some, compute_uv=False))
    same_grads(lambda x: gpuarr.svd(x, some).S, lambda x: torch.svd(x, some).S, [a], device)
    same(gpuarr.pinverse(ga(a, device)), torch.pinverse(th(a)))
    same(ga(a, device).pinverse(0.1), th(a).pinverse(0.1))


def test_svd_qr_top_level_errors(device):
    same_error(lambda: gpuarr.svd(ga(np.ones(3), device)), lambda: torch.svd(torch.ones(3)))
    same_error(lambda: gpuarr.qr(ga(np.ones(3), device)), lambda: torch.qr(torch.ones(3)))
    same_error(lambda: gpuarr.pinverse(ga(np.ones(3, np.float32), device)),
               lambda: torch.pinverse(torch.ones(3)))
    same_error(lambda: gpuarr.matrix_power(ga(np.ones((2, 3)), device), 2),
               lambda: torch.matrix_power(torch.ones(2, 3), 2))


# --------------------------------------------------------------------------------------------
# triangular_solve


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_triangular_solve(device, upper, transpose, unit):
    A, b = well((3, 3)), rand((2, 3, 2), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = gpuarr.triangular_solve(ga(b, device), ga(A, device), upper, transpose, unit)
        ref = torch.triangular_solve(th(b), th(A), upper, transpose, unit)
        assert type(res).__name__ == "triangular_solve"
        same_all(res, ref)
        same_all(ga(b, device).triangular_solve(ga(A, device), upper, transpose, unit), ref)
        same_grads(lambda x, y: gpuarr.triangular_solve(y, x, upper, transpose, unit).solution,
                   lambda x, y: torch.triangular_solve(y, x, upper, transpose, unit).solution,
                   [A, b], device)


def test_triangular_solve_errors(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b, A in [(rand(3), rand((3, 3))), (rand((3, 2)), rand((2, 3))),
                     (rand((3, 2)), rand((2, 2))), (rand((3, 2), dtype=np.float32), rand((3, 3))),
                     (rand((3, 2)).astype(np.int64), rand((3, 3)).astype(np.int64))]:
            same_error(lambda: gpuarr.triangular_solve(ga(b, device), ga(A, device)),  # noqa: B023 - called at once
                       lambda: torch.triangular_solve(th(b), th(A)))  # noqa: B023 - called at once


# --------------------------------------------------------------------------------------------
# addr, addbmm, the in-place product forms, removed functions


def test_addr(device):
    i, v1, v2 = rand((3, 2)), rand(3, 1), rand(2, 2)
    for kw in [{}, dict(beta=0.5, alpha=2), dict(beta=0)]:
        same_grads(lambda a, b, c: gpuarr.addr(a, b, c, **kw),  # noqa: B023 - called at once
                   lambda a, b, c: torch.addr(a, b, c, **kw), [i, v1, v2], device)  # noqa: B023 - called at once
    same(gpuarr.addr(ga(i[0], device), ga(v1, device), ga(v2, device)),
         torch.addr(th(i[0]), th(v1), th(v2)))
    nan = np.full((3, 2), np.nan)
    same(gpuarr.addr(ga(nan, device), ga(v1, device), ga(v2, device), beta=0),
         torch.addr(th(nan), th(v1), th(v2), beta=0))
    ones = np.ones((3, 2), np.int64)
    same(gpuarr.addr(ga(ones, device), ga(np.ones(3), device), ga(np.ones(2, np.int64), device)),
         torch.addr(torch.tensor(ones), torch.ones(3, dtype=torch.float64),
                    torch.ones(2, dtype=torch.int64)))
    for beta in (False, True):
        same(gpuarr.addr(ga(np.zeros((3, 2), bool), device), ga(np.ones(3, bool), device),
                         ga(np.ones(2, bool), device), beta=beta),
             torch.addr(torch.zeros(3, 2, dtype=torch.bool), torch.ones(3, dtype=torch.bool),
                        torch.ones(2, dtype=torch.bool), beta=beta))
    check_grads(lambda a, b, c: gpuarr.addr(a, b, c, beta=0.5, alpha=2), [i, v1, v2], device)
    same_error(lambda: gpuarr.addr(ga(i, device), ga(rand((3, 1)), device), ga(v2, device)),
               lambda: torch.addr(th(i), th(rand((3, 1))), th(v2)))
    same_error(lambda: gpuarr.addr(ga(ones, device), ga(ones[:, 0], device),
                                   ga(ones[0], device), alpha=0.5),
               lambda: torch.addr(torch.tensor(ones), torch.tensor(ones[:, 0]),
                                  torch.tensor(ones[0]), alpha=0.5))


def test_addbmm(device):
    i, b1, b2 = rand((3, 2)), rand((4, 3, 5), 1), rand((4, 5, 2), 2)
    for kw in [{}, dict(beta=0.5, alpha=2)]:
        same_grads(lambda a, b, c: gpuarr.addbmm(a, b, c, **kw),  # noqa: B023 - called at once
                   lambda a, b, c: torch.addbmm(a, b, c, **kw), [i, b1, b2], device)  # noqa: B023 - called at once
    same(gpuarr.addbmm(ga(i, device), ga(b1[:0], device), ga(b2[:0], device)),
         torch.addbmm(th(i), th(b1[:0]), th(b2[:0])))
    ones = np.ones((4, 3, 5), np.int64)
    same(gpuarr.addbmm(ga(np.ones((3, 2), np.int64), device), ga(ones, device),
                       ga(np.ones((4, 5, 2), np.int64), device)),
         torch.addbmm(torch.ones(3, 2, dtype=torch.int64), torch.tensor(ones),
                      torch.ones(4, 5, 2, dtype=torch.int64)))
    check_grads(lambda a, b, c: gpuarr.addbmm(a, b, c, beta=0.5), [i, b1, b2], device)
    for x, y, z in [(i, b1, b2[:3]), (i, b1, rand((4, 4, 2))),
                    (i, b1.astype(np.float32), b2.astype(np.float32))]:
        same_error(lambda: gpuarr.addbmm(ga(x, device), ga(y, device), ga(z, device)),  # noqa: B023 - called at once
                   lambda: torch.addbmm(th(x), th(y), th(z)))  # noqa: B023 - called at once


def test_inplace_products(device):
    m, i = rand((3, 3)), rand((3, 2), 1)
    v1, v2 = rand(3, 2), rand(2, 3)
    b1, b2 = rand((4, 3, 5), 1), rand((4, 5, 2), 2)
    cases = [("addmm_", i, (m, i), dict(beta=2)), ("addmv_", v1, (m, v1), dict(alpha=0.5)),
             ("addr_", i, (v1, v2), {}), ("addbmm_", i, (b1, b2), dict(beta=0.5)),
             ("baddbmm_", rand((4, 3, 2)), (b1, b2), dict(alpha=2))]
    for name, self_, args, kw in cases:
        g, t = ga(self_, device), th(self_)
        out = getattr(g, name)(*[ga(a, device) for a in args], **kw)
        getattr(t, name)(*[th(a) for a in args], **kw)
        assert out is g
        same(g, t)
    # through autograd: the in-place op's gradient is the out-of-place one's
    x, tx = ga(i, device, True), th(i, True)
    y, ty = x * 1, tx * 1
    y.addmm_(ga(m, device), ga(i, device), beta=2)
    ty.addmm_(th(m), th(i), beta=2)
    y.sum().backward()
    ty.sum().backward()
    same(x.grad, tx.grad)
    for name, self_, args in [("addmm_", rand(2), (m, i)), ("addmv_", rand(2), (m, v1)),
                              ("baddbmm_", rand((1, 3, 2)), (b1, b2)),
                              ("addr_", rand(2), (v1, v2)),
                              ("addmm_", np.ones((3, 2), np.int64), (m, i))]:
        same_error(lambda: getattr(ga(self_, device), name)(*[ga(a, device) for a in args]),  # noqa: B023 - called at once
                   lambda: getattr(th(self_), name)(*[th(a) for a in args]))  # noqa: B023 - called at once


@pytest.mark.parametrize("name", ["lstsq", "symeig", "eig", "matrix_rank"])
def test_removed_functions(device, name):
    a = rand((3, 3))
    args = (a, a) if name == "lstsq" else (a,)
    same_error(lambda: getattr(gpuarr, name)(*[ga(x, device) for x in args]),
               lambda: getattr(torch, name)(*[th(x) for x in args]))
    if name != "matrix_rank":
        same_error(lambda: getattr(ga(a, device), name)(*[ga(x, device) for x in args[1:]]),
                   lambda: getattr(th(a), name)(*[th(x) for x in args[1:]]))
    else:
        assert not hasattr(gpuarr.Tensor, "matrix_rank")


def test_out_forms(device):
    a, b = well((3, 3)), rand((3, 2), 1)
    o = gpuarr.empty(0, dtype=gpuarr.float64, device=device)
    assert LA.solve_triangular(ga(a, device), ga(b, device), upper=True, out=o) is o
    same(o, TL.solve_triangular(th(a), th(b), upper=True))
    outs = tuple(gpuarr.empty(0, dtype=d, device=device)
                 for d in (gpuarr.float64, gpuarr.float64, gpuarr.int64, gpuarr.float64))
    res = LA.lstsq(ga(a, device), ga(b, device), driver="gelsd", out=outs)
    assert all(r is o for r, o in zip(res, outs))
    same_all(outs, TL.lstsq(th(a), th(b), driver="gelsd"))
    o = gpuarr.empty(0, dtype=gpuarr.float32, device=device)
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype double"):
        LA.pinv(ga(a, device), out=o)
    LU = gpuarr.empty(0, dtype=gpuarr.float64, device=device)
    piv = gpuarr.empty(0, dtype=gpuarr.int32, device=device)
    res = LA.lu_factor(ga(a, device), out=(LU, piv))
    assert res.LU is LU and res.pivots is piv
    same_all((LU, piv), TL.lu_factor(th(a)))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        LA.pinv(ga(a, device, True), out=gpuarr.empty(0, dtype=gpuarr.float64, device=device))


def test_grad_fn_names(device):
    A = ga(well((3, 3)), device, True)
    B = ga(rand((3, 2), 1), device)
    t, tb = th(well((3, 3)), True), th(rand((3, 2), 1))
    pairs = [(LA.solve_triangular(A, B, upper=True), TL.solve_triangular(t, tb, upper=True)),
             (LA.qr(A).Q, TL.qr(t).Q), (LA.pinv(A), TL.pinv(t)),
             (LA.lu_factor(A).LU, TL.lu_factor(t).LU), (LA.inv_ex(A).inverse, TL.inv_ex(t).inverse),
             (gpuarr.cholesky_solve(B, A), torch.cholesky_solve(tb, t)),
             (gpuarr.cholesky_inverse(A), torch.cholesky_inverse(t))]
    for g, ref in pairs:
        assert g.grad_fn.name() == ref.grad_fn.name()


EX_ERRORS = [
    ("inv_ex", (np.ones((3, 3), np.int64),)), ("inv_ex", (np.ones((2, 3)),)),
    ("inv_ex", (np.ones(3),)), ("cholesky_ex", (np.ones((3, 3), np.int64),)),
    ("cholesky_ex", (np.ones((2, 3)),)), ("solve_ex", (np.ones((2, 3)), np.ones(2))),
    ("solve_ex", (np.eye(3), np.ones(2))), ("cond", (np.ones((3, 3), np.int64),)),
    ("cond", (np.ones(3),)), ("cond", (np.ones((3, 3), np.float16),)),
    ("tensorsolve", (np.ones((2, 3, 5)), np.ones((2, 3)))), ("tensorinv", (np.ones((2, 3)), 0)),
    ("matrix_rank", (np.ones((3, 3), np.float16),)), ("pinv", (np.ones((3, 3), np.float16),)),
    ("lu_factor", (np.ones((3, 3), bool),)), ("matrix_exp", (np.ones((3, 3), bool),)),
]


@pytest.mark.parametrize("name,args", EX_ERRORS)
def test_more_errors(device, name, args):
    def conv(f):
        return [f(a) if isinstance(a, np.ndarray) else a for a in args]

    same_error(lambda: getattr(LA, name)(*conv(lambda a: ga(a, device))),
               lambda: getattr(TL, name)(*conv(torch.tensor)))


@pytest.mark.parametrize("shape,k", [((5, 3), 3), ((2, 4, 4), 2), ((3, 2), 0), ((0, 0), 0)])
def test_householder_product(device, shape, k):
    A, tau = rand(shape), rand(shape[:-2] + (k,), 1)
    same_grads(LA.householder_product, TL.householder_product, [A, tau], device)
    same(gpuarr.orgqr(ga(A, device), ga(tau, device)), torch.orgqr(th(A), th(tau)))
    same(ga(A, device).orgqr(ga(tau, device)), th(A).orgqr(th(tau)))
    if min(shape) and k:
        check_grads(LA.householder_product, [A, tau], device)
    q, t = torch.geqrf(th(rand((4, 3))))  # Q of a QR factorisation
    same(LA.householder_product(ga(q.numpy(), device), ga(t.numpy(), device)),
         TL.householder_product(q, t))


@pytest.mark.parametrize("sa,st,dt", [((3,), (1,), None), ((2, 3), (1,), None),
                                      ((3, 2), (3,), None), ((3, 2), (2, 1), None),
                                      ((2, 3, 2), (3, 1), None), ((3, 2), (2,), np.float32),
                                      ((3, 2), (2,), np.int64), ((3, 2), (2,), np.float16)])
def test_householder_product_errors(device, sa, st, dt):
    A, tau = rand(sa), rand(st)
    if dt is not None:  # tau of another dtype; integer / half: both of that dtype
        tau = tau.astype(dt)
        A = A.astype(dt) if dt != np.float32 else A
    same_error(lambda: LA.householder_product(ga(A, device), ga(tau, device)),
               lambda: TL.householder_product(th(A), th(tau)))
