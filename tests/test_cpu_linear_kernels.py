"""The CPU's AVX2/FMA kernels (gpuarr/backends/cpu_native.py) and the compile pass that fuses
SGD's weight update into the weight gradient (gpuarr/_compile/fuse_cpu.py).

* ``axpy``: ``y += a * x`` as one fused multiply-add per element: torch's ``add_(alpha=)``
  bit for bit, tails included (BLAS's saxpy rounds some tail elements twice).
* ``linear_weight_grad``: ``g.T @ x`` for small float32 batches, each element one chain of
  fused multiply-adds in batch order, whatever the tiling; the linear layer's backward takes it
  where it fits and agrees with torch.
* ``linear_weight_grad_sgd`` and the pass: a compiled SGD step computes each weight's gradient
  and update in one kernel, and still equals eager bit for bit; where something between the
  backward and the step reads the gradient or writes the layer's input, the calls stay apart.
* ``add_bias_rows`` (a linear layer's bias, NumPy's broadcast add bit for bit) and, in a
  compiled step, ``add_bias_rows_relu`` where ReLU follows the layer (NumPy's maximum with zero
  bit for bit, NaN and signed zeros included).

These kernels are CPU-only (the CUDA backend has none of them); the compiled-step tests for
both devices are in test_compile*.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpuarr
import gpuarr.nn as nn
import gpuarr.nn.functional as F
from gpuarr._compile import fuse_cpu
from gpuarr.backends import cpu_native
from gpuarr.backends.numpy_backend import fused_axpy

needs_fma = pytest.mark.skipif(not cpu_native.FMA,
                               reason="needs gpuarr's C kernels on x86-64 with AVX2 and FMA")

# (K, M, N): batch, output and input features; the odd ones cover every edge of the tiling
SHAPES = [(1, 1, 1), (3, 5, 7), (8, 13, 40), (17, 9, 25), (32, 7, 33), (16, 64, 200)]


def _fma_chain(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``g.T @ x`` as the kernel defines it: per element, ``acc = fma(g[k], x[k], acc)`` for k
    in order from ``acc = 0`` (float64 holds each float32 product exactly)."""
    acc = np.zeros((g.shape[1], x.shape[1]), np.float32)
    for k in range(g.shape[0]):
        acc = (np.outer(g[k].astype(np.float64), x[k].astype(np.float64))
               + acc.astype(np.float64)).astype(np.float32)
    return acc


def _operands(shape, seed=0):
    k, m, n = shape
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((k, m)).astype(np.float32),
            rng.standard_normal((k, n)).astype(np.float32),
            rng.standard_normal((m, n)).astype(np.float32))


@needs_fma
@pytest.mark.parametrize("shape", SHAPES)
def test_weight_grad_is_one_fma_chain_per_element(shape):
    g, x, _ = _operands(shape)
    got = cpu_native.linear_weight_grad(g, x)
    np.testing.assert_array_equal(got, _fma_chain(g, x))
    np.testing.assert_allclose(got, g.T @ x, rtol=1e-5, atol=1e-5)
    # any layout of the operands: the same values, the same bits
    np.testing.assert_array_equal(
        cpu_native.linear_weight_grad(np.asfortranarray(g), x[:, ::-1].copy()[:, ::-1]), got)


@needs_fma
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_update_equals_gradient_then_axpy(shape):
    g, x, w = _operands(shape, seed=1)
    w_two = w.copy()
    grad = cpu_native.linear_weight_grad(g, x)
    fused_axpy(-0.01, grad, w_two)
    w_one = w.copy()
    grad_one = cpu_native.linear_weight_grad_sgd(g, x, -0.01, w_one)
    np.testing.assert_array_equal(grad_one, grad)
    np.testing.assert_array_equal(w_one, w_two)


@needs_fma
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, 31, 520, 1003, 65_537])
def test_axpy_equals_torch_add_alpha_bit_for_bit(dtype, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    want = torch.from_numpy(y.copy()).add_(torch.from_numpy(x), alpha=-0.0123).numpy()
    got = y.copy()
    assert cpu_native.axpy(-0.0123, x, got) is got
    np.testing.assert_array_equal(got, want)


@needs_fma
def test_fits_checks():
    g, x, w = _operands((16, 4, 6))
    assert cpu_native.wgrad_fits(g, x)
    assert not cpu_native.wgrad_fits(g.astype(np.float64), x.astype(np.float64))
    assert not cpu_native.wgrad_fits(g[:, ::2], x[:, ::2])  # not C-contiguous
    assert not cpu_native.wgrad_fits(g[:3], x)  # batch sizes differ
    big = np.ones((cpu_native.WGRAD_MAX_K + 1, 4), np.float32)
    assert not cpu_native.wgrad_fits(big, big)  # a large batch: BLAS is faster
    assert not cpu_native.wgrad_fits(np.ones((0, 4), np.float32), np.ones((0, 6), np.float32))
    assert cpu_native.axpy_fits(w, w) and cpu_native.axpy_fits(w.copy(), w)
    assert not cpu_native.axpy_fits(w.T.copy(), w)  # shapes differ
    assert not cpu_native.axpy_fits(w, w.astype(np.float64))
    assert not cpu_native.axpy_fits(w.astype(np.float16), w.astype(np.float16))
    base = np.ones(10, np.float32)
    assert not cpu_native.axpy_fits(base[:-1], base[1:])  # overlapping
    ro = w.copy()
    ro.flags.writeable = False
    assert not cpu_native.axpy_fits(w, ro)


@needs_fma
def test_kernels_refuse_bad_buffers():
    from gpuarr.backends import _cpu_kernels as k

    g = np.ones((2, 3), np.float32)
    x = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match="float32"):
        k.linear_wgrad(g, x, np.empty((3, 5), np.float32), 2, 3, 4, None, 0.0)
    with pytest.raises(ValueError, match="float32"):
        k.linear_wgrad(g.astype(np.float64), x, np.empty((3, 4), np.float32), 2, 3, 4, None,
                       0.0)
    with pytest.raises(TypeError):
        k.linear_wgrad(g, x)
    with pytest.raises(ValueError, match="one dtype"):
        k.axpy(np.ones(3, np.float32), np.ones(3, np.float64), 1.0)
    with pytest.raises(ValueError, match="one dtype"):
        k.axpy(np.ones(3, np.float32), np.ones(4, np.float32), 1.0)


@needs_fma
@pytest.mark.parametrize("case", ["transposed weight", "weight aliases input", "float64 weight"])
def test_fused_call_falls_back_to_the_two_calls(case):
    """What the one-pass kernel does not take runs as the two calls eager made."""
    g, x, w = _operands((4, 6, 6), seed=2)
    if case == "transposed weight":
        w = w.T
    elif case == "weight aliases input":
        x = np.ascontiguousarray(x[:4])
        w = np.concatenate([x, x[:2]])  # (6, 6): x is a view into w's rows
        x = w[:4]
    else:
        w = w.astype(np.float64)
    w_two = w.copy()
    grad = cpu_native.linear_weight_grad(g, x.copy())
    fused_axpy(-0.5, grad, w_two)
    got_grad, got_w = fuse_cpu.wgrad_sgd(g, x, -0.5, w)
    assert got_w is w
    np.testing.assert_array_equal(got_grad, grad)
    np.testing.assert_array_equal(w, w_two)


def _special_rows(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    edge = np.array([-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-40, -1e-40], dtype)
    flat[:min(flat.size, edge.size)] = edge[:flat.size]
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (3, 8), (7, 33), (16, 256)])
def test_bias_kernels_give_numpys_bits(dtype, shape):
    if not cpu_native.ENABLED:
        pytest.skip("gpuarr.backends._cpu_kernels is not built")
    x = _special_rows(dtype, shape)
    b = _special_rows(dtype, shape[1:], seed=1)
    b[:2] = 0.0  # (signed zeros meet signed zeros)
    want = x.copy()
    want += b
    want_relu = np.maximum(want, np.zeros_like(want))
    bits = np.uint32 if dtype is np.float32 else np.uint64
    got = x.copy()
    assert cpu_native.bias_fits(got, b)
    assert cpu_native.add_bias_rows(got, b) is got
    np.testing.assert_array_equal(got.view(bits), want.view(bits))
    for xx in (x.copy(), np.asfortranarray(x)):  # the fused call, and its fallback
        h, r = cpu_native.add_bias_rows_relu(xx, b)
        assert h is xx
        np.testing.assert_array_equal(h.view(bits), want.view(bits))
        np.testing.assert_array_equal(np.ascontiguousarray(r).view(bits), want_relu.view(bits))


def test_bias_fits_checks():
    if not cpu_native.ENABLED:
        pytest.skip("gpuarr.backends._cpu_kernels is not built")
    x = np.ones((4, 6), np.float32)
    b = np.ones(6, np.float32)
    assert cpu_native.bias_fits(x, b)
    assert not cpu_native.bias_fits(x, b.astype(np.float64))
    assert not cpu_native.bias_fits(x.T.copy(), b)  # (6, 4) and (6,)
    assert not cpu_native.bias_fits(np.asfortranarray(x), b)
    assert not cpu_native.bias_fits(x.astype(np.float16), b.astype(np.float16))
    assert not cpu_native.bias_fits(x[0], b)  # 1-D
    assert not cpu_native.bias_fits(x, x[0])  # b inside x
    assert not cpu_native.bias_fits(np.ones((0, 6), np.float32), b)


# ---- the linear layer ----


@pytest.mark.parametrize("batch", [16, cpu_native.WGRAD_MAX_K + 1])
def test_linear_weight_grad_matches_torch(batch):
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 40)).astype(np.float32)
    w = rng.standard_normal((24, 40)).astype(np.float32)
    go = rng.standard_normal((batch, 24)).astype(np.float32)
    wg = gpuarr.tensor(w, requires_grad=True)
    F.linear(gpuarr.tensor(x), wg).backward(gpuarr.tensor(go))
    wt = torch.tensor(w, requires_grad=True)
    torch.nn.functional.linear(torch.tensor(x), wt).backward(torch.tensor(go))
    np.testing.assert_allclose(wg.grad.numpy(), wt.grad.numpy(), rtol=1e-5, atol=1e-5)
    if cpu_native.wgrad_fits(go, x):  # the kernel's bits
        np.testing.assert_array_equal(wg.grad.numpy(), cpu_native.linear_weight_grad(go, x))


def test_linear_weight_grad_of_grad_matches_torch():
    """With ``create_graph=True`` the weight gradient is a product in the graph (the kernel
    has no backward of its own): second derivatives still agree with torch."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    w = rng.standard_normal((3, 5)).astype(np.float32)

    def second(lib, xt, wt):
        out = lib.nn.functional.linear(xt, wt)
        (gw,) = lib.autograd.grad((out ** 3).sum(), wt, create_graph=True)
        (gx,) = lib.autograd.grad((gw ** 2).sum(), xt)
        return gw, gx

    gw_g, gx_g = second(gpuarr, gpuarr.tensor(x, requires_grad=True),
                        gpuarr.tensor(w, requires_grad=True))
    gw_t, gx_t = second(torch, torch.tensor(x, requires_grad=True),
                        torch.tensor(w, requires_grad=True))
    np.testing.assert_allclose(gw_g.detach().numpy(), gw_t.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(gx_g.numpy(), gx_t.numpy(), rtol=1e-4, atol=1e-4)


# ---- the compiled step ----


def _data(batch=16, steps=20, seed=5):
    rng = np.random.default_rng(seed)
    return [(gpuarr.tensor(rng.standard_normal((batch, 30)).astype(np.float32)),
             gpuarr.tensor(rng.integers(0, 7, batch))) for _ in range(steps)]


def _train(step_body, data, compiled: bool, momentum: float = 0.0):
    """Losses and final parameters of 20 SGD steps of a 30-48-24-7 MLP, ``step_body(model,
    opt, x, y)`` being one step's work."""
    gpuarr.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 48), nn.ReLU(), nn.Linear(48, 24), nn.ReLU(),
                          nn.Linear(24, 7))
    opt = gpuarr.optim.SGD(model.parameters(), lr=0.05, momentum=momentum)

    def step(x, y):
        return step_body(model, opt, x, y)

    fn = gpuarr.compile(step) if compiled else step
    losses = [fn(x, y).item() for x, y in data]
    return losses, [p.detach().numpy().copy() for p in model.parameters()], fn


def _step_with(between=None):
    """A plain SGD step's work, with ``between(model)`` run between the backward and the
    step (its result, a tensor, joins the returned loss times 0)."""

    def body(model, opt, x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        extra = between(model) if between is not None else None
        opt.step()
        return loss if extra is None else loss + 0.0 * extra

    return body


_plain = _step_with()
# the step reads gradients that clipping scaled in place
_clipped = _step_with(lambda m: nn.utils.clip_grad_norm_(m.parameters(), 0.5))
# every gradient is read between the backward and the step
_grads_read = _step_with(lambda m: sum(p.grad.pow(2).sum() for p in m.parameters()))


def _input_written(model, opt, x, y):  # writes the first layer's input before the step
    opt.zero_grad()
    h = x * 1.0
    loss = F.cross_entropy(model(h), y)
    loss.backward()
    h.mul_(0.5)
    opt.step()
    return loss


def _accumulated(model, opt, x, y):  # two backward passes add into the gradients
    opt.zero_grad()
    half = x.shape[0] // 2
    loss = F.cross_entropy(model(x[:half]), y[:half])
    loss.backward()
    loss2 = F.cross_entropy(model(x[half:]), y[half:])
    loss2.backward()
    opt.step()
    return loss + loss2


def _fused_calls(fn, kernel=fuse_cpu.wgrad_sgd) -> int:
    """How many calls of ``kernel`` (by default the fused gradient-and-update) the compiled
    step's replay makes."""
    (entry,) = fn._cache.values()
    ns = entry.replay.__globals__
    names = [k for k, v in ns.items() if v is kernel]
    return sum(entry.replay.source.count(f"{n}(") for n in names)


@pytest.mark.parametrize("body, fused", [(_plain, 3), (_clipped, 0), (_grads_read, 0),
                                         (_input_written, 2), (_accumulated, 0)],
                         ids=["plain", "clipped", "grads read", "input written",
                              "accumulated"])
def test_compiled_sgd_step_equals_eager_bit_for_bit(body, fused):
    data = _data()
    le, pe, _ = _train(body, data, compiled=False)
    lc, pc, fn = _train(body, data, compiled=True)
    assert fn.stats()["replays"] > 0 and fn.eager_reason is None
    assert le == lc
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a, b)
    # every layer's update is fused, except where the gradients are read before the step, the
    # step reads other arrays than the kernel's results (clipped gradients, sums of two
    # backward passes) or the layer's input is written before it (the first layer)
    assert _fused_calls(fn) == (fused if cpu_native.FMA else 0)


def test_compiled_momentum_step_equals_eager():
    """Momentum SGD updates from its buffer, not the gradient: nothing to fuse, same bits."""
    data = _data(steps=8)
    le, pe, _ = _train(_plain, data, compiled=False, momentum=0.9)
    lc, pc, fn = _train(_plain, data, compiled=True, momentum=0.9)
    assert le == lc and _fused_calls(fn) == 0
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a, b)


def test_compiled_step_without_the_kernels_equals_eager(monkeypatch):
    monkeypatch.setattr(cpu_native, "ENABLED", False)
    data = _data(steps=6)
    le, pe, _ = _train(_plain, data, compiled=False)
    lc, pc, fn = _train(_plain, data, compiled=True)
    assert le == lc and _fused_calls(fn) == 0
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a, b)


def test_compiled_bias_relu_is_one_call_with_eagers_bits():
    """The MLP's two Linear+ReLU pairs run as one bias-and-ReLU call each; a pre-activation
    that is also used after the ReLU still holds the biased product."""
    data = _data(steps=8)

    def body(model, opt, x, y):
        opt.zero_grad()
        h = model[0](x)
        a = model[1](h)  # ReLU
        out = model[4](model[3](model[2](a + 0.5 * h)))
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return loss

    for step in (_plain, body):
        le, pe, _ = _train(step, data, compiled=False)
        lc, pc, fn = _train(step, data, compiled=True)
        assert le == lc
        for a, b in zip(pe, pc):
            np.testing.assert_array_equal(a, b)
        want = 2 if cpu_native.ENABLED else 0
        assert _fused_calls(fn, cpu_native.add_bias_rows_relu) == want
