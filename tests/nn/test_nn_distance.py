"""Distances against PyTorch: ``pairwise_distance`` / ``PairwiseDistance``, ``pdist`` and
``CosineSimilarity``: values, input gradients, dtypes, shapes, reprs and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from nn_helpers import NP_DT, TOL, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck

F = nn.functional
DTYPES = [gpuarr.float32, gpuarr.float64]


def compare(g_fn, t_fn, arrays, device, dtype, scale=1.0, none_grad_ok=False):
    """Call both on the same float inputs; compare outputs, dtypes, shapes and the input
    gradients of a random weighted sum of the output (None where torch's is None).
    ``none_grad_ok``: a missing gradient may stand for torch's zeros (pdist with p = 0)."""
    npdt = NP_DT[dtype]
    gin = [gpuarr.tensor(a.astype(npdt), device=device, requires_grad=True) for a in arrays]
    tin = [torch.tensor(a.astype(npdt), requires_grad=True) for a in arrays]
    gout, tout = g_fn(*gin), t_fn(*tin)
    tol = {k: v * scale for k, v in TOL[dtype].items()}
    assert tuple(gout.shape) == tuple(tout.shape)
    assert gout.dtype == dtype
    np.testing.assert_allclose(to_np(gout), tout.detach().numpy(), **tol, err_msg="output")
    w = rnd(*tout.shape, seed=9).astype(npdt)
    (gout * gpuarr.tensor(w, device=device)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (g, t) in enumerate(zip(gin, tin)):
        if t.grad is None:  # pairwise_distance with p = 0: torch's norm passes back nothing
            assert g.grad is None
            continue
        got = np.zeros(g.shape) if none_grad_ok and g.grad is None else to_np(g.grad)
        np.testing.assert_allclose(got, t.grad.numpy(), **tol, err_msg=f"grad {i}")


PS = [2.0, 1.0, 3.0, 0.5, -1.5, 0.0, math.inf, -math.inf]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", PS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(device, dtype, p, keepdim):
    x1, x2 = rnd(4, 5), rnd(4, 5, seed=1)
    compare(lambda a, b: nn.PairwiseDistance(p, 1e-6, keepdim)(a, b),
            lambda a, b: torch.nn.PairwiseDistance(p, 1e-6, keepdim)(a, b),
            [x1, x2], device, dtype, scale=10)


@pytest.mark.parametrize("shapes", [((5,), (3, 5)), ((3, 1, 4), (2, 4)), ((4,), (4,)),
                                    ((), ()), ((0, 3), (0, 3)), ((1, 3), (4, 3))], ids=str)
@pytest.mark.parametrize("eps", [1e-6, 0.0, 0.3])
def test_pairwise_distance_shapes(device, shapes, eps):
    """Broadcasting (the norm runs over the last dim of the broadcast difference), unbatched,
    0-d and empty inputs, and the eps that is added to every difference."""
    arrays = [rnd(*s, seed=i) for i, s in enumerate(shapes)]
    compare(lambda a, b: F.pairwise_distance(a, b, eps=eps),
            lambda a, b: torch.nn.functional.pairwise_distance(a, b, eps=eps),
            arrays, device, gpuarr.float64)


def test_pairwise_distance_integer_inputs_promote(device):
    """Adding the float eps makes integer inputs float32, as torch's does."""
    a, b = np.array([[1, 2], [3, 5]]), np.array([[0, 0], [1, 1]])
    got = F.pairwise_distance(gpuarr.tensor(a, device=device), gpuarr.tensor(b, device=device))
    want = torch.nn.functional.pairwise_distance(torch.tensor(a), torch.tensor(b))
    assert got.dtype == gpuarr.float32
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("p", [2.0, 1.5, 3.0, -1.0])
def test_pairwise_distance_gradcheck(device, p):
    x1 = gpuarr.tensor(rnd(3, 4), device=device, requires_grad=True)
    x2 = gpuarr.tensor(rnd(3, 4, seed=1), device=device, requires_grad=True)
    fn = lambda a, b: F.pairwise_distance(a, b, p)  # noqa: E731
    assert gradcheck(fn, (x1, x2))
    assert gradgradcheck(fn, (x1, x2))


def test_pairwise_distance_errors():
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 1"):
        F.pairwise_distance(gpuarr.randn(2, 3), gpuarr.randn(2, 4))
    with pytest.raises(TypeError, match="pairwise_distance\\(\\): argument 'x2'"):
        F.pairwise_distance(gpuarr.randn(2, 3), 3)
    with pytest.raises(RuntimeError, match="cannot compute the -1 norm on the dimension 1"):
        F.pairwise_distance(gpuarr.randn(2, 0), gpuarr.randn(2, 0), p=-1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, 0.0, math.inf], ids=str)
@pytest.mark.parametrize("shape", [(5, 3), (2, 4), (1, 3), (4, 0), (6, 1)], ids=str)
def test_pdist(device, dtype, p, shape):
    compare(lambda a: F.pdist(a, p), lambda a: torch.nn.functional.pdist(a, p),
            [rnd(*shape)], device, dtype, scale=10, none_grad_ok=p == 0)


def test_pdist_no_rows(device):
    """No rows: no pairs (torch's backward crashes here, so only its forward is compared)."""
    x = gpuarr.tensor(np.zeros((0, 3)), device=device, requires_grad=True)
    got = F.pdist(x)
    want = torch.nn.functional.pdist(torch.zeros(0, 3, dtype=torch.float64))
    assert tuple(got.shape) == tuple(want.shape) == (0,)
    got.sum().backward()
    assert tuple(x.grad.shape) == (0, 3)


def test_pdist_repeated_rows_have_zero_gradient(device):
    """A zero distance takes the subgradient 0 (as torch's pdist backward)."""
    x = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, -1.0]])
    compare(F.pdist, torch.nn.functional.pdist, [x], device, gpuarr.float64)


@pytest.mark.parametrize("p", [2.0, 1.5, 3.0])
def test_pdist_gradcheck(device, p):
    x = gpuarr.tensor(rnd(4, 3), device=device, requires_grad=True)
    assert gradcheck(lambda a: F.pdist(a, p), (x,))
    # torch's pdist is once differentiable only; this composition is twice
    assert gradgradcheck(lambda a: F.pdist(a, p), (x,))


def test_pdist_errors():
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 1D"):
        F.pdist(gpuarr.randn(3))
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 3D"):
        F.pdist(gpuarr.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="pdist only supports floating-point dtypes"):
        F.pdist(gpuarr.tensor([[1, 2], [3, 4]]))
    for p in (-1.0, -math.inf):
        with pytest.raises(RuntimeError, match="pdist only supports non-negative p values"):
            F.pdist(gpuarr.randn(3, 2), p)
    with pytest.raises(TypeError, match=r"pdist\(\): argument 'input' must be Tensor"):
        F.pdist(np.zeros((2, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim, shapes", [(1, ((4, 5), (4, 5))), (0, ((4, 5), (4, 5))),
                                         (-1, ((2, 3, 4), (3, 4))), (1, ((3, 4, 2), (1, 4, 2)))],
                         ids=str)
def test_cosine_similarity_module(device, dtype, dim, shapes):
    arrays = [rnd(*s, seed=i) for i, s in enumerate(shapes)]
    compare(nn.CosineSimilarity(dim=dim, eps=1e-6), torch.nn.CosineSimilarity(dim=dim, eps=1e-6),
            arrays, device, dtype, scale=10)


def test_cosine_similarity_module_eps(device):
    """A near-zero row: the norm is clamped at eps (no division by zero)."""
    x1 = np.array([[1e-9, 0.0, 0.0], [1.0, 2.0, 3.0]])
    x2 = np.array([[1.0, 1.0, 0.0], [0.5, -1.0, 2.0]])
    compare(nn.CosineSimilarity(eps=1e-4), torch.nn.CosineSimilarity(eps=1e-4), [x1, x2],
            device, gpuarr.float64)


def test_module_reprs_and_attributes():
    for g, t in [(nn.PairwiseDistance(), torch.nn.PairwiseDistance()),
                 (nn.PairwiseDistance(p=1, eps=0.1, keepdim=True),
                  torch.nn.PairwiseDistance(p=1, eps=0.1, keepdim=True)),
                 (nn.CosineSimilarity(), torch.nn.CosineSimilarity()),
                 (nn.CosineSimilarity(dim=0, eps=1e-3), torch.nn.CosineSimilarity(0, 1e-3))]:
        assert repr(g) == repr(t)
    m = nn.PairwiseDistance(p=3.0, eps=0.5, keepdim=True)
    assert (m.norm, m.eps, m.keepdim) == (3.0, 0.5, True)
    c = nn.CosineSimilarity(dim=2, eps=0.25)
    assert (c.dim, c.eps) == (2, 0.25)
    assert list(m.parameters()) == [] and list(c.parameters()) == []
