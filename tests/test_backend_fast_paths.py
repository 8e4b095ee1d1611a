"""The backends' own ways to run common updates: ``Backend.axpy`` (``y += a * x`` in place,
SGD's update) and ``Backend.relu``.

On the CPU axpy is one pass and one rounding per element (a fused multiply-add, as torch's
vectorised ``add_(x, alpha=a)``): gpuarr's C kernel on x86-64 with AVX2 and FMA, else SciPy's
BLAS ``?axpy``, with NumPy's product-then-sum for what neither takes. Every case checks the
update happened in place and within rounding of the exact value; the kernel's and BLAS's
cases check the single rounding exactly. ReLU on the CPU takes NumPy's
vectorised two-array maximum (against zeros): the tests check it gives the scalar form's bits.
Its backward (``Backend.relu_backward``) selects bits instead of multiplying by a mask, so it
equals torch's ``threshold_backward`` on inf and NaN gradients too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr.backends.numpy_backend import fused_axpy


def _arrays(device: str, n: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    bk = gpuarr.device(device)._backend()
    return bk, x, y, bk.asarray(x.copy()), bk.asarray(y.copy())


def _host(bk, a) -> np.ndarray:
    return np.asarray(bk.to_host(a))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 7, 33, 4099, 25_001])  # 25,001: three BLAS pieces
def test_axpy_in_place_and_within_rounding_of_torch(device, dtype, n):
    bk, x, y, xd, yd = _arrays(device, n, dtype)
    a = -0.0123
    bk.axpy(a, xd, yd)
    got = _host(bk, yd)  # yd itself: the update is in place
    ax = np.longdouble(dtype(a)) * x.astype(np.longdouble)
    exact = y.astype(np.longdouble) + ax
    want = torch.from_numpy(y.copy()).add_(torch.from_numpy(x), alpha=a).numpy()
    # one rounding of the sum, and one of the product where it is rounded separately
    bound = (np.spacing(np.abs(exact).astype(dtype)) + np.spacing(np.abs(ax).astype(dtype)))
    assert np.all(np.abs(got - exact) <= bound)
    assert np.all(np.abs(got.astype(np.longdouble) - want) <= 2 * bound)  # torch agrees


@pytest.fixture(params=["kernel", "blas"])
def axpy_path(request, monkeypatch):
    """Run a test with gpuarr's FMA kernel (where this machine has it) and with SciPy's BLAS."""
    from gpuarr.backends import cpu_native

    if request.param == "kernel" and not cpu_native.FMA:
        pytest.skip("gpuarr's FMA kernels need x86-64 with AVX2 and FMA")
    if request.param == "blas":
        pytest.importorskip("scipy.linalg")
        monkeypatch.setattr(cpu_native, "FMA", False)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_axpy_rounds_once(dtype, axpy_path):
    """Contiguous float arrays go through the kernel or BLAS: each element is fma(a, x, y), one
    rounding (the float64 sum of the exact product, rounded to the dtype), where NumPy's
    product and sum round twice."""
    _, x, y, _, _ = _arrays("cpu", 20_000, dtype, seed=1)
    a = dtype(-0.01)
    got = y.copy()
    assert fused_axpy(a, x, got) is got
    if dtype is np.float32:  # float64 holds the float32 product exactly: its sum rounds once
        fma = (y.astype(np.float64) + np.float64(a) * x.astype(np.float64)).astype(dtype)
        np.testing.assert_array_equal(got, fma)
    else:  # the long double product is nearly exact: its sum rounded once is the fma but in
        # rare double-rounding cases
        ld = y.astype(np.longdouble) + np.longdouble(a) * x.astype(np.longdouble)
        assert np.mean(got != ld.astype(dtype)) < 1e-3
    two = y + x * a
    assert np.mean(got != two) > 0.01  # two roundings differ at many elements


def test_cpu_blas_pieces_and_one_call_agree(monkeypatch):
    """SciPy's BLAS (where gpuarr's kernel is not used) on one thread takes the update in one
    call, on more threads in pieces that OpenBLAS keeps single-threaded: the same fused
    multiply-adds, bit for bit."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy.linalg")
    from gpuarr.backends import cpu_native
    from gpuarr.backends import numpy_backend as nb

    monkeypatch.setattr(cpu_native, "FMA", False)

    _, x, y, _, _ = _arrays("cpu", 3 * nb._AXPY_PIECE + 17, np.float32, seed=4)
    got = {}
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(threads):
            if nb._scipy_blas_threads() == 0:
                pytest.skip("SciPy's BLAS is not its own bundled OpenBLAS here")
            assert nb._scipy_blas_threads() == threads
            got[threads] = fused_axpy(-0.25, x, y.copy())
    np.testing.assert_array_equal(got[1], got[2])


@pytest.mark.parametrize("case", ["transposed", "float16", "broadcast", "2-D", "overlap"])
def test_cpu_fallbacks_update_in_place(case):
    """What BLAS does not take (or, 2-D, takes through a flat view) is updated in place."""
    rng = np.random.default_rng(2)
    y = rng.standard_normal((6, 5)).astype(np.float32)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    if case == "transposed":  # a non-contiguous target: NumPy's product and sum, in place
        y, x = y.T, x.T
    elif case == "float16":  # no BLAS axpy for half
        y, x = y.astype(np.float16), x.astype(np.float16)
    elif case == "broadcast":
        x = x[:1]
    elif case == "overlap":  # x reads what y writes, one row along: NumPy's buffered update
        base = np.concatenate([y, y[:1]])
        y, x = base[1:], base[:-1]
    want = y + 0.5 * x  # computed first: with an overlap, the update changes x too
    r = fused_axpy(0.5, x, y)
    assert r is y
    np.testing.assert_allclose(y, want, rtol=1e-3 if case == "float16" else 1e-6)


def test_sgd_update_is_the_backends_axpy(device):
    """Plain SGD's step is one axpy per parameter: after it, the parameter equals
    ``Backend.axpy(-lr, grad, param)`` on copies, bit for bit."""
    p = gpuarr.nn.Parameter(gpuarr.randn(300, 7, device=device))
    p.grad = gpuarr.randn(300, 7, device=device)
    bk = p._device._backend()
    want = p.detach().clone()
    bk.axpy(-0.1, p.grad._data, want._data)
    gpuarr.optim.SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(p.detach().cpu().numpy(), want.cpu().numpy())


def _special(dtype) -> np.ndarray:
    """Random values and the edge cases of a maximum: signed zeros, NaNs of both signs, infs,
    subnormals."""
    neg_nan = np.array([-np.nan], dtype)
    edge = np.array([-0.0, 0.0, np.nan, np.inf, -np.inf, 1e-40, -1e-40, 3.0, -3.0], dtype)
    rand = np.random.default_rng(3).standard_normal(1001).astype(dtype)
    return np.concatenate([edge, neg_nan, rand, edge])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64])
def test_relu_gives_the_bits_of_maximum_with_zero(device, dtype):
    x = _special(np.float64 if dtype is np.int64 else dtype)
    if dtype is np.int64:  # integers: the same values, NaN as 0 and infinities as +-7
        x = np.nan_to_num(x * 5, posinf=7, neginf=-7).astype(dtype)
    bk = gpuarr.device(device)._backend()
    got = _host(bk, bk.relu(bk.asarray(x.reshape(2, -1))))
    want = np.maximum(x, dtype(0)).reshape(2, -1)
    view = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[x.itemsize]
    np.testing.assert_array_equal(got.view(view), want.view(view))


def test_relu_ops_run_the_backends_relu(device):
    """``F.relu`` forward (with and without grad) is the backend's relu; the gradient is 1
    where the output is positive or NaN (torch's threshold_backward keeps the gradient unless
    the output is <= 0)."""
    x = gpuarr.tensor(_special(np.float32)[:20], device=device, requires_grad=True)
    bk = x._device._backend()
    want = _host(bk, bk.relu(x._data))
    y = gpuarr.nn.functional.relu(x)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), want)
    with gpuarr.no_grad():
        np.testing.assert_array_equal(gpuarr.relu(x).cpu().numpy(), want)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), (~(want <= 0)).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("create_graph", [False, True])
def test_relu_backward_bits_equal_torch(device, dtype, create_graph):
    """ReLU's gradient equals torch's to the bit on special inputs and special incoming
    gradients: an inf or NaN gradient over a zero (or -0) output gives +0, not the NaN a 0/1
    mask product would, and a NaN output passes its gradient through."""
    xs = _special(dtype)
    gs = np.roll(_special(dtype), 3)  # inf and NaN gradients over every kind of input
    x = gpuarr.tensor(xs, device=device, requires_grad=True)
    (gx,) = gpuarr.autograd.grad(gpuarr.relu(x), x, gpuarr.tensor(gs, device=device),
                                 create_graph=create_graph)
    xt = torch.tensor(xs, requires_grad=True)
    (want,) = torch.autograd.grad(torch.relu(xt), xt, torch.tensor(gs))
    view = {2: np.uint16, 4: np.uint32, 8: np.uint64}[np.dtype(dtype).itemsize]
    np.testing.assert_array_equal(gx.detach().cpu().numpy().view(view), want.numpy().view(view))
