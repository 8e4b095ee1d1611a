"""The linear-algebra and reduction helpers behind the distributions (the private ones in
``gpuarr.distributions._ops`` and the public ops the distributions call): values against
NumPy/torch, batch broadcasting, and gradients (gradcheck / gradgradcheck)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpuarr
import gpuarr.nn.functional as F
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.distributions import _ops


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def leaf(a, device):
    return gpuarr.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=True)


def _diagonal(x):
    return x.diagonal(dim1=-2, dim2=-1)


def _spd(batch, n, seed):
    a = np.random.default_rng(seed).normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def test_cholesky_matches_torch(device):
    a = _spd((2,), 3, 0)
    w = np.random.default_rng(1).normal(size=(2, 3, 3))
    ours = leaf(a, device)
    theirs = torch.tensor(a, requires_grad=True)
    out = gpuarr.linalg.cholesky(ours)
    np.testing.assert_allclose(host(out), np.linalg.cholesky(a), rtol=1e-12)
    (out * gpuarr.tensor(w, device=device)).sum().backward()
    (torch.linalg.cholesky(theirs) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(host(ours.grad), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)

    def sym_chol(x):
        return gpuarr.linalg.cholesky(0.5 * (x + x.mT))

    assert gradcheck(sym_chol, (ours,))
    assert gradgradcheck(sym_chol, (ours,))


def test_cholesky_rejects_non_positive_definite(device):
    with pytest.raises(RuntimeError, match="not positive-definite"):
        gpuarr.linalg.cholesky(gpuarr.tensor([[1.0, 2.0], [2.0, 1.0]], device=device))


def test_solves_and_matmul_broadcast_batches(device):
    rng = np.random.default_rng(2)
    a = _spd((2, 1), 3, 3)                      # batch (2, 1)
    b = rng.normal(size=(4, 3, 2))              # batch (4,)
    l = np.linalg.cholesky(a)
    ga, gb, gl = leaf(a, device), leaf(b, device), leaf(l, device)
    np.testing.assert_allclose(host(gpuarr.linalg.solve(ga, gb)), np.linalg.solve(a, b), rtol=1e-10)
    np.testing.assert_allclose(host(_ops.solve_triangular(gl, gb)), np.linalg.solve(l, b),
                               rtol=1e-10)
    np.testing.assert_allclose(host(gpuarr.matmul(ga, gb)), a @ b, rtol=1e-12)
    # the triangular solve ignores the other triangle (as torch.linalg.solve_triangular)
    junk = l + np.triu(np.ones((3, 3)), 1)
    np.testing.assert_allclose(host(_ops.solve_triangular(gpuarr.tensor(junk, device=device),
                                                          gb)), np.linalg.solve(l, b),
                               rtol=1e-10)
    up = np.swapaxes(l, -1, -2)
    np.testing.assert_allclose(
        host(_ops.solve_triangular(gpuarr.tensor(up, device=device), gb, upper=True)),
        np.linalg.solve(up, b), rtol=1e-10)
    assert gradcheck(gpuarr.linalg.solve, (ga, gb))
    assert gradcheck(gpuarr.matmul, (ga, gb))
    assert gradcheck(lambda x, y: _ops.solve_triangular(x, y), (gl, gb))
    assert gradgradcheck(gpuarr.linalg.solve, (ga, gb))


def test_solve_triangular_right_side_is_always_a_matrix(device):
    # B of shape A.shape[:-1] would be a batch of vectors for linalg.solve; here it stays a
    # (broadcast) stack of 1 x 1 matrices, as in torch.linalg.solve_triangular
    a = gpuarr.tensor(np.full((2, 2, 1, 1), 2.0), device=device)
    b = gpuarr.tensor(np.arange(1.0, 3.0).reshape(2, 1, 1), device=device)
    out = _ops.solve_triangular(a, b)
    assert tuple(out.shape) == (2, 2, 1, 1)
    np.testing.assert_allclose(host(out), np.broadcast_to(np.arange(1.0, 3.0).reshape(2, 1, 1) / 2,
                                                          (2, 2, 1, 1)))


def test_logsumexp_softplus_tril_diagonal(device):
    x = np.array([[0.5, -1.0, 3.0], [-np.inf, -np.inf, -np.inf], [1000.0, 1000.0, -5.0]])
    t = gpuarr.tensor(x, device=device)
    ref = torch.logsumexp(torch.tensor(x), -1).numpy()
    np.testing.assert_array_equal(np.isinf(host(gpuarr.logsumexp(t, -1))), np.isinf(ref))
    np.testing.assert_allclose(host(gpuarr.logsumexp(t, -1)), ref, rtol=1e-12)
    assert gpuarr.logsumexp(t, 1, keepdim=True).shape == (3, 1)
    z = leaf([[0.3, -2.0, 1.0], [4.0, 0.0, -1.0]], device)
    assert gradcheck(lambda v: gpuarr.logsumexp(v, -1), (z,))
    big = gpuarr.tensor([-800.0, 0.0, 800.0], dtype=gpuarr.float64, device=device)
    np.testing.assert_allclose(host(F.softplus(big)),
                               torch.nn.functional.softplus(torch.tensor([-800.0, 0.0, 800.0],
                                                                         dtype=torch.float64)))
    assert gradcheck(F.softplus, (z,)) and gradgradcheck(F.softplus, (z,))
    m = leaf(np.arange(18.0).reshape(2, 3, 3), device)
    np.testing.assert_array_equal(host(gpuarr.tril(m, -1)),
                                  np.stack([np.tril(a, -1) for a in host(m)]))
    np.testing.assert_array_equal(host(_diagonal(m)),
                                  np.stack([np.diag(a) for a in host(m)]))
    assert gradcheck(lambda v: gpuarr.tril(v), (m,))
    assert gradcheck(_diagonal, (m,))


def test_take_last_and_one_hot(device):
    x = leaf([[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]], device)
    idx = gpuarr.tensor([[2, 0], [1, 1], [0, 2]], device=device)  # broadcasts against batch 2
    out = _ops.take_last(x, idx)
    np.testing.assert_allclose(host(out), [[0.3, 1.0], [0.2, 2.0], [0.1, 3.0]])
    assert gradcheck(lambda v: _ops.take_last(v, idx), (x,))
    oh = _ops.one_hot(gpuarr.tensor([2, 0], device=device), 3, gpuarr.float32)
    np.testing.assert_array_equal(host(oh), [[0, 0, 1], [1, 0, 0]])
