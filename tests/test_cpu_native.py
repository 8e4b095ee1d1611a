"""The CPU backend's fused C kernels (gpuarr/backends/cpu_native.py): ReLU's backward, column
sums, log-softmax over the last axis and its backward, and the unweighted NLL.

Each kernel is checked against the NumPy form it replaces (the Backend base class's formula),
on ordinary values and on NaN, infinities and signed zeros; the NLL also on ignored targets and
out-of-range ones. Then through the public ops: cross-entropy with the kernels on and off agrees
with torch, gradcheck passes in float64, and a compiled training step equals eager bit for bit
either way (a replay records each kernel call as one call).

The extension is optional at install time. Where it did not build these tests skip, except
with ``GPUARR_REQUIRE_CPU_KERNELS=1`` (``make test``), where that is a failure.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import gpuarr
import gpuarr.nn as nn
import gpuarr.nn.functional as F
from gpuarr.backends import cpu_native
from gpuarr.backends.base import Backend


def test_extension_built_where_required():
    if os.environ.get("GPUARR_REQUIRE_CPU_KERNELS") == "1":
        assert cpu_native.ENABLED, "gpuarr.backends._cpu_kernels did not build (no C compiler?)"


needs_kernels = pytest.mark.skipif(not cpu_native.ENABLED,
                                   reason="gpuarr.backends._cpu_kernels is not built")


class _NumpyForms(Backend):
    """The Backend base class's NumPy formulas (what runs without the kernels)."""

    name, device_type, xp = "numpy", "cpu", np


_REF = _NumpyForms()
_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30]


def _rows(dtype, shape, seed=0, special=False):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    if special:
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size, 6)] = rng.choice(_SPECIAL, 6)
    return x


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2,), (7,), (5, 1), (16, 10), (3, 4, 20)])
def test_relu_backward_equals_the_numpy_form_bit_for_bit(dtype, shape):
    g = _rows(dtype, shape, 1, special=True)
    y = np.maximum(_rows(dtype, shape, 2, special=True), 0)
    y.reshape(-1)[:2] = [np.nan, -0.0]  # a NaN output passes g; -0.0 <= 0 stops it
    got = cpu_native.relu_backward(g, y)
    want = _REF.relu_backward(g, y)
    assert got.dtype == g.dtype and got.shape == g.shape
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (16, 256), (1000, 37), (3, 1), (5, 3)])
def test_sum_axis0_equals_numpy_bit_for_bit(dtype, shape):
    x = _rows(dtype, shape, 11, special=shape[0] * shape[1] > 20)
    x[0, 0] = -0.0  # NumPy starts from +0.0: a column of -0.0 sums to +0.0
    if shape[0] > 1:
        x[1, 0] = -0.0
    got = cpu_native.sum_axis0(x)
    assert got.shape == shape[1:] and got.dtype == dtype
    with np.errstate(invalid="ignore"):
        want = x.sum(axis=0)
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("shape", [(16, 8), (0, 3), (3, 0), (1, 5)])
def test_sum_over_dim0_and_bias_gradient_like_torch(kernels, shape):
    """Tensor.sum(0) of a matrix (a linear layer's bias gradient) goes to the backend's
    sum_axis0: values and gradients as torch's."""
    x = _rows(np.float32, shape, 12)
    g = gpuarr.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    gs, ts = g.sum(0), t.sum(0)
    np.testing.assert_allclose(gs.detach().numpy(), ts.detach().numpy(), rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(gs.detach().numpy(), x.sum(0))  # NumPy's order, either way
    (gs * 2).sum().backward()
    (ts * 2).sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())
    lin = nn.Linear(8, 4)
    out = lin(gpuarr.tensor(_rows(np.float32, (6, 8), 13)))
    out.backward(gpuarr.ones(6, 4))
    np.testing.assert_array_equal(lin.bias.grad.numpy(), np.full(4, 6, np.float32))


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (10,), (16, 10), (4, 1), (2, 3, 7), (32, 32)])
@pytest.mark.parametrize("special", [False, True])
def test_log_softmax_rows_matches_the_numpy_form(dtype, shape, special):
    x = _rows(dtype, shape, 3, special)
    got = cpu_native.log_softmax_rows(x)
    with np.errstate(all="ignore"):
        want = _REF.log_softmax(x, x.ndim - 1)
    tol = 4 * np.finfo(dtype).eps * (1 + np.abs(np.nan_to_num(want, posinf=0, neginf=0)))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(np.isinf(got[ok]), np.isinf(want[ok]))
    fin = ok & np.isfinite(want)
    assert np.all(np.abs(got[fin] - want[fin]) <= tol[fin])


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(10,), (16, 10), (2, 3, 7)])
def test_log_softmax_rows_backward_matches_the_numpy_form(dtype, shape):
    y = cpu_native.log_softmax_rows(_rows(dtype, shape, 4))
    g = _rows(dtype, shape, 5)
    got = cpu_native.log_softmax_rows_backward(g, y)
    want = _REF.log_softmax_backward(g, y, y.ndim - 1)
    np.testing.assert_allclose(got, want, rtol=8 * np.finfo(dtype).eps,
                               atol=8 * np.finfo(dtype).eps * np.abs(g).max())


def _nll_numpy(logp, t, ignore, mean):
    keep = t != ignore
    picked = logp[np.arange(len(t))[keep], t[keep]]
    n = keep.sum()
    with np.errstate(all="ignore"):
        loss = -picked.astype(np.float64).sum() / (n if mean else 1)
    coef = np.zeros_like(logp)
    coef[np.arange(len(t))[keep], t[keep]] = -1 / max(n, 1) if mean else -1
    return loss, coef


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean", [True, False])
@pytest.mark.parametrize("ignore", [-100, 2])
def test_nll_rows(dtype, mean, ignore):
    logp = cpu_native.log_softmax_rows(_rows(dtype, (12, 5), 6))
    t = np.array([0, 2, 4, 1, 2, ignore, 3, 2, 0, 4, ignore, 1], np.int64)
    loss, coef = cpu_native.nll_rows(logp, t, ignore, mean)
    want_loss, want_coef = _nll_numpy(logp, t, ignore, mean)
    assert loss.shape == () and loss.dtype == dtype and coef.dtype == dtype
    np.testing.assert_allclose(loss, want_loss, rtol=4 * np.finfo(dtype).eps)
    np.testing.assert_array_equal(coef, want_coef.astype(dtype))


@needs_kernels
def test_nll_rows_all_ignored_is_nan_with_zero_gradient():
    logp = _rows(np.float32, (3, 4), 7)
    loss, coef = cpu_native.nll_rows(logp, np.full(3, -100, np.int64), -100, True)
    assert np.isnan(loss) and not coef.any()
    loss, _ = cpu_native.nll_rows(logp, np.full(3, -100, np.int64), -100, False)
    assert loss == 0


@needs_kernels
@pytest.mark.parametrize("bad", [5, -1, -100])
def test_nll_rows_reports_the_first_target_out_of_range(bad):
    logp = _rows(np.float64, (4, 5), 8)
    t = np.array([1, bad, 7, 0], np.int64)
    with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
        cpu_native.nll_rows(logp, t, 3, True)


@needs_kernels
def test_fits_sends_other_arrays_to_numpy():
    x = np.ones((4, 6), np.float32)
    assert cpu_native.fits(x) and cpu_native.fits(x, x, rows=True)
    assert not cpu_native.fits(x.T, x.T)  # not C-contiguous
    assert not cpu_native.fits(x, x.astype(np.float64))
    assert not cpu_native.fits(x.astype(np.float16))
    assert not cpu_native.fits(np.ones((0, 3), np.float32))
    assert not cpu_native.fits(np.ones((), np.float32), rows=True)
    big = np.ones(cpu_native.ROWS_MAX_SIZE + 1, np.float32)
    assert cpu_native.fits(big) and not cpu_native.fits(big, rows=True)
    assert cpu_native.nll_fits(x, np.zeros(4, np.int64))
    assert not cpu_native.nll_fits(x, np.zeros(4, np.int32))
    assert not cpu_native.nll_fits(x, np.zeros(3, np.int64))
    assert not cpu_native.nll_fits(x[None], np.zeros(4, np.int64))


@needs_kernels
def test_kernels_refuse_bad_buffers():
    """The C functions check what they are given (the wrappers never pass these)."""
    from gpuarr.backends import _cpu_kernels as k

    f = np.ones(6, np.float32)
    with pytest.raises(ValueError, match="float32/64"):
        k.relu_backward(f, np.ones(6, np.float64), np.empty(6, np.float32))
    with pytest.raises(ValueError, match="cols must divide"):
        k.log_softmax_rows(f, np.empty(6, np.float32), 4)
    with pytest.raises(TypeError):
        k.log_softmax_rows(f, np.empty(6, np.float32))
    with pytest.raises(ValueError, match="int64"):
        k.nll_rows(f.reshape(2, 3), np.zeros(2, np.int32), np.zeros((2, 3), np.float32),
                   np.empty((), np.float32), 3, -100, True)
    ro = np.empty(6, np.float32)
    ro.setflags(write=False)
    with pytest.raises((BufferError, ValueError)):  # outputs must be writable
        k.relu_backward(f, f, ro)


@pytest.fixture(params=["kernels", "numpy"])
def kernels(request, monkeypatch):
    """Run a test with the C kernels and again with the NumPy forms."""
    if request.param == "kernels" and not cpu_native.ENABLED:
        pytest.skip("gpuarr.backends._cpu_kernels is not built")
    monkeypatch.setattr(cpu_native, "ENABLED", request.param == "kernels")
    return request.param


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch(kernels, dtype, reduction):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((16, 10)).astype(dtype) * 4
    t = rng.integers(0, 10, 16)
    t[3] = -100
    xg = gpuarr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    lg = F.cross_entropy(xg, gpuarr.tensor(t), reduction=reduction)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction=reduction)
    lg.backward()
    lt.backward()
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(lg.detach().numpy(), lt.detach().numpy(), rtol=tol)
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    assert lg.grad_fn.name() == "NllLossBackward0"
    assert lg.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"


def test_cross_entropy_out_of_range_target_like_torch(kernels):
    with pytest.raises(IndexError, match="^Target 10 is out of bounds.$"):
        F.cross_entropy(gpuarr.randn(4, 10), gpuarr.tensor([1, 10, 2, 0]))
    with pytest.raises(IndexError, match="^Target -3 is out of bounds.$"):
        F.nll_loss(gpuarr.randn(4, 10), gpuarr.tensor([1, 2, -3, 0]), reduction="sum")


def test_cross_entropy_gradcheck_and_gradgradcheck(kernels):
    x = gpuarr.randn(6, 5, dtype=gpuarr.float64, requires_grad=True)
    t = gpuarr.tensor([0, 4, 2, -100, 1, 3])
    assert gpuarr.autograd.gradcheck(lambda a: F.cross_entropy(a, t), (x,))
    assert gpuarr.autograd.gradgradcheck(lambda a: F.cross_entropy(a, t), (x,))
    assert gpuarr.autograd.gradcheck(lambda a: F.relu(a).sum() * 2, (x,))


def test_compiled_step_equals_eager_bit_for_bit(kernels):
    """A small MLP's SGD step (ReLU, cross-entropy): 5 compiled steps against 5 eager ones."""
    rng = np.random.default_rng(10)
    xs = [gpuarr.tensor(rng.standard_normal((8, 12)).astype(np.float32)) for _ in range(5)]
    ys = [gpuarr.tensor(rng.integers(0, 6, 8)) for _ in range(5)]

    def make():
        gpuarr.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 6))
        return model, gpuarr.optim.SGD(model.parameters(), lr=0.1)

    def run(compiled: bool):
        model, opt = make()

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = gpuarr.compile(step) if compiled else step
        losses = [fn(x, y).item() for x, y in zip(xs, ys)]
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    (le, pe), (lc, pc) = run(False), run(True)
    assert le == lc
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a, b)


def test_chained_compiled_modules_train_like_eager(kernels):
    """Two compiled modules chained, trained by the caller: a replayed backward can get a
    gradient whose layout differs from the trace's (a broadcast view). The kernels take any
    layout at replay and compute what eager computed."""
    rng = np.random.default_rng(14)
    data = [(rng.standard_normal((5, 8)).astype(np.float32), rng.integers(0, 4, 5))
            for _ in range(5)]

    def run(compiled: bool):
        gpuarr.manual_seed(0)
        m1 = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        m2 = nn.Sequential(nn.Linear(16, 4))
        f, g = (gpuarr.compile(m1), gpuarr.compile(m2)) if compiled else (m1, m2)
        opt = gpuarr.optim.SGD(list(m1.parameters()) + list(m2.parameters()), lr=0.1)
        losses = []
        for i, (x, y) in enumerate(data):
            opt.zero_grad()
            out = g(f(gpuarr.tensor(x)))
            # a sum's gradient reaches the replayed backward as a broadcast (stride-0) array
            loss = out.sum() if i % 2 else F.cross_entropy(out, gpuarr.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().numpy().copy() for p in m1.parameters()]

    (le, pe), (lc, pc) = run(False), run(True)
    np.testing.assert_allclose(lc, le, rtol=1e-6)
    for a, b in zip(pe, pc):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
