"""Mixed precision: the bfloat16 dtype, ``autocast`` and ``GradScaler``, against PyTorch.

* bfloat16 on the CPU (NumPy through ml_dtypes): dtype rules, values of ops, printing,
  checkpoints, gradients, all compared with torch's CPU bfloat16; on CUDA a clear error.
* autocast: per-op output dtypes against torch's CPU bfloat16 (and float16) autocast; on CUDA
  (float16) against torch's CUDA op lists, which a CPU-only torch cannot run; gradient dtypes,
  nesting, the decorator, custom_fwd/custom_bwd, the deprecated aliases.
* GradScaler against ``torch.amp.GradScaler('cpu')``: the same skipped steps, scales and
  parameters over a run with injected inf/NaN gradients, ``unscale_`` before clipping,
  ``state_dict`` round trips and torch's errors.
"""

from __future__ import annotations

import copy
import itertools
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import gpuarr
from gpuarr import _dtype as D

F = gpuarr.nn.functional
TF = torch.nn.functional
CUDA = gpuarr.cuda.is_available()

FLOATS = [gpuarr.bfloat16, gpuarr.float16, gpuarr.float32, gpuarr.float64]
DTYPES = FLOATS + [gpuarr.int8, gpuarr.int16, gpuarr.int32, gpuarr.int64, gpuarr.uint8,
                   gpuarr.bool]


def tdt(d: gpuarr.dtype) -> torch.dtype:
    return getattr(torch, d.name)


def name(d) -> str:
    """A gpuarr or torch dtype's short name ('bfloat16')."""
    return str(d).split(".")[-1]


def bf16_pair(values, requires_grad: bool = False):
    """The same bfloat16 CPU tensor in gpuarr and torch."""
    v = np.asarray(values, dtype=np.float32)
    g = gpuarr.tensor(v).to(gpuarr.bfloat16)
    t = torch.tensor(v).to(torch.bfloat16)
    if requires_grad:
        g.requires_grad_()
        t.requires_grad_()
    return g, t


def as_f32(x) -> np.ndarray:
    """float32 NumPy values of a gpuarr or torch tensor (bfloat16 included)."""
    return x.detach().float().cpu().numpy()


def assert_same(a, b) -> None:
    """Bit-equal values (NaN equal to NaN) and the same dtype name."""
    assert name(a.dtype) == name(b.dtype)
    np.testing.assert_array_equal(as_f32(a), as_f32(b))


def assert_bf16_close(a, b, ulps: float = 1.0) -> None:
    """Within ``ulps`` bfloat16 units in the last place (2**-8 relative) of each other."""
    assert name(a.dtype) == name(b.dtype)
    x, y = as_f32(a), as_f32(b)
    np.testing.assert_allclose(x, y, rtol=ulps * 2.0**-7, atol=1e-6)


VALUES = np.concatenate([
    np.random.default_rng(0).standard_normal(400) * 3,
    np.random.default_rng(1).standard_normal(50) * 1e-3,
    [0.0, -0.0, 1.0, -1.0, 0.5, 1e-40, 3e38, np.inf, -np.inf, np.nan],
]).astype(np.float32)


# =============================================================================================
# bfloat16: the dtype


def test_bfloat16_attributes_match_torch():
    b = gpuarr.bfloat16
    assert b.is_floating_point is torch.bfloat16.is_floating_point is True
    assert b.is_signed is torch.bfloat16.is_signed
    assert b.itemsize == torch.bfloat16.itemsize == 2
    assert repr(b) == "gpuarr.bfloat16"
    assert D.as_dtype(torch.bfloat16) is b and D.as_dtype("bfloat16") is b
    x = gpuarr.ones(2, 3, dtype=b)
    assert x.element_size() == 2 and x.is_floating_point()
    assert x.type() == "gpuarr.BFloat16Tensor"
    assert torch.ones(1, dtype=torch.bfloat16).type() == "torch.BFloat16Tensor"


@pytest.mark.parametrize("d", FLOATS + [None])
def test_finfo_matches_torch(d):
    g = gpuarr.finfo(d) if d is not None else gpuarr.finfo()
    t = torch.finfo(tdt(d)) if d is not None else torch.finfo()
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(g, attr) == getattr(t, attr), attr
    assert g.dtype == t.dtype
    assert repr(g) == repr(t)


@pytest.mark.parametrize("d", [gpuarr.int8, gpuarr.int16, gpuarr.int32, gpuarr.int64,
                               gpuarr.uint8])
def test_iinfo_matches_torch(d):
    g, t = gpuarr.iinfo(d), torch.iinfo(tdt(d))
    assert (g.bits, g.min, g.max, g.dtype) == (t.bits, t.min, t.max, t.dtype)
    assert repr(g) == repr(t)


def test_finfo_iinfo_refuse_the_other_kind():
    with pytest.raises(TypeError, match="finfo.. requires a floating point input type"):
        gpuarr.finfo(gpuarr.int32)
    with pytest.raises(TypeError, match="iinfo.. requires an integer input type"):
        gpuarr.iinfo(gpuarr.bfloat16)


@pytest.mark.parametrize("a,b", [(x, y) for x, y in itertools.product(DTYPES, DTYPES)
                                 if gpuarr.bfloat16 in (x, y)])
def test_bfloat16_promotion_matches_torch(a, b):
    assert gpuarr.promote_types(a, b).name == name(torch.promote_types(tdt(a), tdt(b)))
    g = gpuarr.ones(2, dtype=a) + gpuarr.ones(2, dtype=b)
    t = torch.ones(2, dtype=tdt(a)) + torch.ones(2, dtype=tdt(b))
    assert name(g.dtype) == name(t.dtype)
    g0 = gpuarr.ones(2, dtype=a) * gpuarr.ones((), dtype=b)
    t0 = torch.ones(2, dtype=tdt(a)) * torch.ones((), dtype=tdt(b))
    assert name(g0.dtype) == name(t0.dtype)


@pytest.mark.parametrize("s", [True, 3, -2, 1.5])
def test_bfloat16_with_python_scalars_stays_bfloat16(s):
    g, t = gpuarr.ones(3, dtype=gpuarr.bfloat16), torch.ones(3, dtype=torch.bfloat16)
    assert name((g + s).dtype) == name((t + s).dtype) == "bfloat16"
    assert name((s * g).dtype) == name((s * t).dtype)


def test_import_gpuarr_does_not_load_ml_dtypes():
    # ml_dtypes takes about a second to import: it loads with the first bfloat16 tensor
    code = ("import sys, gpuarr; a = 'ml_dtypes' in sys.modules; gpuarr.ones(1); "
            "b = 'ml_dtypes' in sys.modules; gpuarr.ones(1, dtype=gpuarr.bfloat16); "
            "print(a, b, 'ml_dtypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "True"]


# =============================================================================================
# bfloat16: values of ops (CPU) against torch


def test_creation_casts_and_round_trips():
    g, t = bf16_pair(VALUES)
    assert_same(g, t)
    assert_same(g.float(), t.float())
    assert_same(gpuarr.tensor(VALUES, dtype=gpuarr.bfloat16), t)
    assert_same(gpuarr.tensor(VALUES).bfloat16(), t)
    assert_same(gpuarr.tensor(VALUES).half().bfloat16(), torch.tensor(VALUES).half().bfloat16())
    assert_same(gpuarr.tensor(VALUES).double().to(gpuarr.bfloat16),
                torch.tensor(VALUES).double().to(torch.bfloat16))
    assert_same(gpuarr.tensor(t), t)  # from a torch bfloat16 tensor (torch has no NumPy bf16)
    assert_same(gpuarr.as_tensor(t), t)
    assert_same(gpuarr.arange(5, dtype=gpuarr.bfloat16), torch.arange(5, dtype=torch.bfloat16))
    assert_same(gpuarr.full((3,), 1.1, dtype=gpuarr.bfloat16),
                torch.full((3,), 1.1, dtype=torch.bfloat16))
    assert_same(gpuarr.zeros_like(g), torch.zeros_like(t))
    assert gpuarr.randn(3, dtype=gpuarr.bfloat16).dtype is gpuarr.bfloat16
    assert g[:4].tolist() == t[:4].tolist() and g[2].item() == t[2].item()
    assert_same(gpuarr.from_numpy(g.numpy()), t)


@pytest.mark.parametrize("values", [[1.5, -2.25, 3.1], [[0.3, 7.0], [-1e-3, 1e5]], [1e-6, 1e8],
                                    [1.0, 2.0], [float("nan"), float("inf"), 0.0], 2.5])
def test_printing_matches_torch(values):
    g, t = bf16_pair(values)
    assert repr(g) == repr(t).replace("torch", "gpuarr")
    g.requires_grad_()
    t.requires_grad_()
    assert repr(g) == repr(t).replace("torch", "gpuarr")


UNARY = {
    "neg": lambda m, a: -a, "abs": lambda m, a: a.abs(), "exp": lambda m, a: a.exp(),
    "log": lambda m, a: a.abs().log(), "sqrt": lambda m, a: a.abs().sqrt(),
    "rsqrt": lambda m, a: a.abs().rsqrt(), "tanh": lambda m, a: a.tanh(),
    "sigmoid": lambda m, a: a.sigmoid(), "sin": lambda m, a: a.sin(),
    "cos": lambda m, a: a.cos(), "relu": lambda m, a: m.relu(a),
    "reciprocal": lambda m, a: a.reciprocal(), "floor": lambda m, a: a.floor(),
    "round": lambda m, a: a.round(), "sign": lambda m, a: a.sign(),
    "clamp": lambda m, a: a.clamp(-1, 1), "exp2": lambda m, a: m.exp2(a),
    "log1p": lambda m, a: a.abs().log1p(), "expm1": lambda m, a: a.expm1(),
    "square": lambda m, a: a.square(), "silu": lambda m, a: m.nn.functional.silu(a),
    "softplus": lambda m, a: m.nn.functional.softplus(a),
    "leaky_relu": lambda m, a: m.nn.functional.leaky_relu(a, 0.1),
    "elu": lambda m, a: m.nn.functional.elu(a),
    "hardtanh": lambda m, a: m.nn.functional.hardtanh(a),
    # torch rounds a Python number to bfloat16 first for add/sub/pow/remainder, and keeps it
    # in float32 for mul/div; number / t is reciprocal(t) * number
    "add_scalar": lambda m, a: a + 0.77, "sub_scalar": lambda m, a: a - 0.77,
    "rsub_scalar": lambda m, a: 1.3 - a, "mul_scalar": lambda m, a: a * 1.37,
    "div_scalar": lambda m, a: a / 2.9, "rdiv_scalar": lambda m, a: 1.3 / a,
    "pow_scalar": lambda m, a: a.abs() ** 1.5, "square_pow": lambda m, a: a ** 2,
    "remainder": lambda m, a: a % 0.7, "int_scalar": lambda m, a: a * 3,
}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_and_scalar_ops_equal_torch(op):
    g, t = bf16_pair(VALUES)
    assert_same(UNARY[op](gpuarr, g), UNARY[op](torch, t))


# torch's own kernels for these are less exact than float32-then-round at some inputs (erf of
# tiny values, gelu(inf), the log_softmax of a large row): one bfloat16 ulp apart at most
UNARY_CLOSE = {
    "erf": lambda m, a: a.erf(), "gelu": lambda m, a: m.nn.functional.gelu(a),
    "gelu_tanh": lambda m, a: m.nn.functional.gelu(a, approximate="tanh"),
    "atan": lambda m, a: a.atan(),
}


@pytest.mark.parametrize("op", sorted(UNARY_CLOSE))
def test_composite_unary_ops_close_to_torch(op):
    g, t = bf16_pair(VALUES[np.abs(VALUES) < 1e30])  # torch's gelu overflows near the max
    assert_bf16_close(UNARY_CLOSE[op](gpuarr, g), UNARY_CLOSE[op](torch, t))


BINARY = {
    "add": lambda m, a, b: a + b, "sub": lambda m, a, b: a - b, "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b, "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b), "gt": lambda m, a, b: a > b,
    "eq": lambda m, a, b: a == b, "where": lambda m, a, b: m.where(a > b, a, b * 2),
    "pow": lambda m, a, b: a.abs() ** b, "atan2": lambda m, a, b: m.atan2(a, b),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**31 - 1))
def test_binary_ops_with_broadcasting_equal_torch(shapes, op, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    va = (rng.standard_normal(sa) * 4).astype(np.float32)
    vb = (rng.standard_normal(sb) * 4).astype(np.float32)
    ga, ta = bf16_pair(va)
    gb, tb = bf16_pair(vb)
    assert_same(BINARY[op](gpuarr, ga, gb), BINARY[op](torch, ta, tb))


def test_mixed_dtype_arithmetic_matches_torch():
    g, t = bf16_pair(VALUES[:50])
    for other in (gpuarr.float16, gpuarr.float32, gpuarr.float64, gpuarr.int64):
        go = gpuarr.ones(50, dtype=other) * 3
        to = torch.ones(50, dtype=tdt(other)) * 3
        assert_same(g + go, t + to)
        assert_same(g * go, t * to)


REDUCTIONS = {
    "sum": lambda a: a.sum(), "sum_dim": lambda a: a.sum(1), "mean": lambda a: a.mean(),
    "mean_dim": lambda a: a.mean(0, keepdim=True), "max": lambda a: a.max(),
    "amin": lambda a: a.amin(1), "prod": lambda a: (a / 4).prod(1), "cumsum": lambda a: a.cumsum(1),
    "std": lambda a: a.std(), "var": lambda a: a.var(0), "norm": lambda a: a.norm(),
    "logsumexp": lambda a: a.logsumexp(1), "argmax": lambda a: a.argmax(1),
    "sort": lambda a: a.sort(1).values,
}


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reductions_close_to_torch(op):
    # sums accumulate in float32 (torch's order differs): at most one bfloat16 ulp apart
    g, t = bf16_pair(np.random.default_rng(3).standard_normal((16, 64)) * 2)
    out_g, out_t = REDUCTIONS[op](g), REDUCTIONS[op](t)
    if out_t.dtype == torch.int64:
        assert_same(out_g, out_t)
    else:
        assert_bf16_close(out_g, out_t)


def test_large_sum_accumulates_in_float32():
    # 4096 ones: a bfloat16 accumulator would stall at 256
    g, t = gpuarr.ones(4096, dtype=gpuarr.bfloat16), torch.ones(4096, dtype=torch.bfloat16)
    assert g.sum().item() == t.sum().item() == 4096.0
    assert g.mean().item() == t.mean().item() == 1.0


PRODUCTS = {
    "mm": lambda m, a, b: m.mm(a, b.T), "matmul": lambda m, a, b: a @ b.T,
    "bmm": lambda m, a, b: m.bmm(a[None], b.T[None]), "mv": lambda m, a, b: m.mv(a, b[0]),
    "dot": lambda m, a, b: m.dot(a[0], b[1]), "einsum": lambda m, a, b: m.einsum("ij,kj->ik", a, b),
    "addmm": lambda m, a, b: m.addmm(a[:, :1], a, b.T, beta=0.5, alpha=2),
    "baddbmm": lambda m, a, b: m.baddbmm(a[None, :, :1], a[None], b.T[None]),
    "linear": lambda m, a, b: m.nn.functional.linear(a, b, b[:, 0]),
    "conv1d": lambda m, a, b: m.nn.functional.conv1d(a[None], b.reshape(4, 8, 4)),
    "conv2d": lambda m, a, b: m.nn.functional.conv2d(a[None, None], b[None, None, :3, :3]),
    "softmax": lambda m, a, b: m.softmax(a, 1),
    "layer_norm": lambda m, a, b: m.nn.functional.layer_norm(a, (16,), b[0], b[1]),
    "mse_loss": lambda m, a, b: m.nn.functional.mse_loss(a, b),
    "sdpa": lambda m, a, b: m.nn.functional.scaled_dot_product_attention(a[None], b[None],
                                                                         a[None]),
}


@pytest.mark.parametrize("op", sorted(PRODUCTS))
def test_products_and_nn_ops_close_to_torch(op):
    rng = np.random.default_rng(5)
    ga, ta = bf16_pair(rng.standard_normal((8, 16)))
    gb, tb = bf16_pair(rng.standard_normal((8, 16)))
    assert_bf16_close(PRODUCTS[op](gpuarr, ga, gb), PRODUCTS[op](torch, ta, tb), ulps=2)


def test_bfloat16_gradients_match_torch():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 5))
    w = rng.standard_normal((3, 5))
    b = rng.standard_normal(3)
    grads = []
    for m in (gpuarr, torch):
        xs = m.tensor(x, dtype=m.float32).to(m.bfloat16)
        ws = m.tensor(w, dtype=m.float32).to(m.bfloat16).requires_grad_()
        bs = m.tensor(b, dtype=m.float32).to(m.bfloat16).requires_grad_()
        y = m.nn.functional.linear(xs, ws, bs)
        (m.tanh(y) * y).sum().backward()
        grads.append((ws.grad, bs.grad))
    for gg, tg in zip(*grads):
        assert gg.dtype is gpuarr.bfloat16
        assert_bf16_close(gg, tg, ulps=4)


def test_bfloat16_checkpoints_round_trip(tmp_path):
    import safetensors.torch

    g = gpuarr.tensor(VALUES).bfloat16().requires_grad_()
    gpuarr.save({"w": g, "step": 3}, tmp_path / "a.ckpt")
    back = gpuarr.load(tmp_path / "a.ckpt")
    assert back["w"].dtype is gpuarr.bfloat16 and back["w"].requires_grad
    np.testing.assert_array_equal(as_f32(back["w"]), as_f32(g))
    # safetensors files with BF16 tensors, both ways
    t = torch.tensor(VALUES).bfloat16()
    safetensors.torch.save_file({"layer.weight": t}, str(tmp_path / "m.safetensors"))
    loaded = gpuarr.load(tmp_path / "m.safetensors")["layer.weight"]
    assert_same(loaded, t)
    gpuarr.save({"layer.weight": loaded}, tmp_path / "out.safetensors")
    assert_same(safetensors.torch.load_file(str(tmp_path / "out.safetensors"))["layer.weight"], t)


def test_bfloat16_on_cuda_is_a_clear_error(device):
    assert gpuarr.cuda.is_bf16_supported() is False
    makers = [
        lambda: gpuarr.zeros(2, dtype=gpuarr.bfloat16, device=device),
        lambda: gpuarr.tensor([1.0], dtype=gpuarr.bfloat16, device=device),
        lambda: gpuarr.ones(2).bfloat16().to(device),
        lambda: gpuarr.ones(2, device=device).bfloat16(),
        lambda: gpuarr.ones(2, device=device).to(gpuarr.bfloat16),
        lambda: gpuarr.randn(2, dtype=gpuarr.bfloat16, device=device),
        lambda: gpuarr.arange(3, dtype=gpuarr.bfloat16, device=device),
    ]
    for make in makers:
        if device == "cpu":
            assert make().dtype is gpuarr.bfloat16
        else:
            with pytest.raises(TypeError, match="bfloat16 is not supported on CUDA.*CuPy"
                                                ".*is_bf16_supported"):
                make()
    # a bfloat16 host tensor can still go to CUDA as another dtype
    x = gpuarr.tensor([1.5, 2.5]).bfloat16().to(device, gpuarr.float32)
    assert x.dtype is gpuarr.float32 and x.tolist() == [1.5, 2.5]


# =============================================================================================
# autocast: which dtype each op runs in


def _inputs(m, device=None):
    """Float32 inputs (the same values in gpuarr and torch)."""
    rng = np.random.default_rng(11)
    vals = {k: rng.standard_normal(s).astype(np.float32) for k, s in
            (("a", (4, 6)), ("b", (6, 3)), ("w", (3, 6)), ("bias", (3,)), ("img", (2, 3, 5, 5)),
             ("k", (4, 3, 3, 3)))}
    kw = {"device": device} if device is not None else {}
    out = {k: m.tensor(v, **kw) for k, v in vals.items()}
    out["t"] = m.tensor([0, 2, 1, 1], **kw)
    return out


CASES = {
    "mm": lambda m, F, x: m.mm(x["a"], x["b"]),
    "matmul_op": lambda m, F, x: x["a"] @ x["b"],
    "matmul_vec": lambda m, F, x: m.matmul(x["a"], x["b"][:, 0]),
    "bmm": lambda m, F, x: m.bmm(x["a"][None], x["b"][None]),
    "addmm": lambda m, F, x: m.addmm(x["bias"], x["a"], x["b"]),
    "baddbmm": lambda m, F, x: m.baddbmm(x["bias"], x["a"][None], x["b"][None]),
    "mv": lambda m, F, x: m.mv(x["a"], x["b"][:, 0]),
    "addmv": lambda m, F, x: m.addmv(x["a"][:, 0], x["a"], x["a"][0]),
    "dot": lambda m, F, x: m.dot(x["a"][0], x["b"][:, 0]),
    "einsum": lambda m, F, x: m.einsum("ij,jk->ik", x["a"], x["b"]),
    "tensordot": lambda m, F, x: m.tensordot(x["a"], x["b"], 1),
    "inner": lambda m, F, x: m.inner(x["a"], x["w"]),
    "chain_matmul": lambda m, F, x: m.linalg.multi_dot([x["a"], x["b"], x["w"]]),
    "linear": lambda m, F, x: F.linear(x["a"], x["w"], x["bias"]),
    "conv2d": lambda m, F, x: F.conv2d(x["img"], x["k"]),
    "conv1d": lambda m, F, x: F.conv1d(x["img"][:, :, 0], x["k"][:, :, 0]),
    "conv_transpose2d": lambda m, F, x: F.conv_transpose2d(x["img"], x["k"].transpose(0, 1)),
    "prelu": lambda m, F, x: F.prelu(x["a"], x["bias"][:1]),
    "sdpa": lambda m, F, x: F.scaled_dot_product_attention(x["a"][None], x["a"][None],
                                                           x["a"][None]),
    "softmax": lambda m, F, x: m.softmax(x["a"], 1),
    "log_softmax": lambda m, F, x: F.log_softmax(x["a"], 1),
    "exp": lambda m, F, x: x["a"].exp(),
    "pow": lambda m, F, x: x["a"] ** 2,
    "sum": lambda m, F, x: x["a"].sum(),
    "mean": lambda m, F, x: x["a"].mean(),
    "cumsum": lambda m, F, x: x["a"].cumsum(1),
    "prod": lambda m, F, x: x["a"].prod(),
    "relu_of_mm": lambda m, F, x: m.relu(m.mm(x["a"], x["b"])),
    "add_bias_to_mm": lambda m, F, x: m.mm(x["a"], x["b"]) + x["bias"],
    "cat": lambda m, F, x: m.cat([m.mm(x["a"], x["b"]), x["bias"][None]]),
    "stack": lambda m, F, x: m.stack([m.mm(x["a"], x["b"])[0], x["bias"]]),
    "layer_norm": lambda m, F, x: F.layer_norm(m.mm(x["a"], x["b"]), (3,), x["bias"],
                                               x["bias"]),
    "group_norm": lambda m, F, x: F.group_norm(x["img"], 3),
    "cross_entropy": lambda m, F, x: F.cross_entropy(m.mm(x["a"], x["b"]), x["t"]),
    "nll_loss": lambda m, F, x: F.nll_loss(m.mm(x["a"], x["b"]), x["t"]),
    "mse_loss": lambda m, F, x: F.mse_loss(m.mm(x["a"], x["b"]), x["b"][:4]),
    "bce_with_logits": lambda m, F, x: F.binary_cross_entropy_with_logits(
        m.mm(x["a"], x["b"]), x["b"][:4].sigmoid()),
    "logsumexp": lambda m, F, x: x["a"].logsumexp(1),
    "norm": lambda m, F, x: x["a"].norm(),
    "addcmul": lambda m, F, x: m.addcmul(x["a"], x["a"], x["a"]),
    "float64_mm": lambda m, F, x: m.mm(x["a"].double(), x["b"].double()),
    "int_ops": lambda m, F, x: x["t"] * 2,
}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_cpu_autocast_dtypes_match_torch(case, dtype):
    with torch.autocast("cpu", dtype=getattr(torch, dtype)):
        want = name(CASES[case](torch, TF, _inputs(torch)).dtype)
    with gpuarr.autocast("cpu", dtype=getattr(gpuarr, dtype)):
        got = name(CASES[case](gpuarr, F, _inputs(gpuarr)).dtype)
    assert got == want


def test_cpu_autocast_values_match_torch():
    with torch.autocast("cpu"):
        t = TF.linear(_inputs(torch)["a"], _inputs(torch)["w"], _inputs(torch)["bias"])
    with gpuarr.autocast("cpu"):
        g = F.linear(_inputs(gpuarr)["a"], _inputs(gpuarr)["w"], _inputs(gpuarr)["bias"])
    assert_bf16_close(g, t)


# torch's CUDA lists (autocast_mode.h): what each case gives under autocast('cuda') on float32
# inputs; a CPU-only torch cannot run them, so they are written down here
CUDA_WANT = {
    "float16": {"mm", "matmul_op", "matmul_vec", "bmm", "addmm", "baddbmm", "mv", "addmv",
                "einsum", "chain_matmul", "linear", "conv2d", "conv1d",
                "conv_transpose2d", "prelu", "sdpa", "relu_of_mm"},
    "float32": {"dot", "tensordot", "inner", "softmax", "log_softmax", "exp", "pow", "sum", "mean",
                "cumsum", "prod", "add_bias_to_mm", "cat", "stack", "layer_norm", "group_norm",
                "cross_entropy", "nll_loss", "mse_loss", "bce_with_logits", "logsumexp", "norm",
                "addcmul"},
    "float64": {"float64_mm"},
    "int64": {"int_ops"},
}


def test_cuda_table_covers_every_case():
    assert sorted(itertools.chain(*CUDA_WANT.values())) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_autocast_dtypes_per_device(device, case):
    """On 'cpu' the float16/bfloat16 lists are torch's CPU ones (checked against torch above);
    on 'cuda' (float16 by default) the CUDA ones."""
    with gpuarr.autocast(device if device == "cpu" else "cuda"):
        got = name(CASES[case](gpuarr, F, _inputs(gpuarr, device)).dtype)
    if device == "cpu":
        with torch.autocast("cpu"):
            want = name(CASES[case](torch, TF, _inputs(torch)).dtype)
    else:
        want = next(k for k, v in CUDA_WANT.items() if case in v)
    assert got == want


def test_float32_list_ops_upcast_half_inputs_on_cuda(device):
    # on CUDA the float32 list also lifts float16 inputs; on the CPU those ops are not listed
    x = gpuarr.randn(4, 6, device=device).half()
    with gpuarr.autocast(device):
        outs = [x.exp(), x.softmax(1), x.sum(), x.log_softmax(1), F.layer_norm(x, (6,))]
    want = gpuarr.float32 if device == "cuda" else gpuarr.float16
    assert [o.dtype for o in outs] == [want] * len(outs)


def test_only_tensors_of_the_autocast_device_type_are_cast(device):
    a, b = gpuarr.randn(3, 4, device=device), gpuarr.randn(4, 2, device=device)
    other = "cuda" if device == "cpu" else "cpu"
    if other == "cuda" and not CUDA:
        pytest.skip("the other device type needs CUDA")
    with gpuarr.autocast(other):
        assert gpuarr.mm(a, b).dtype is gpuarr.float32
        assert F.linear(a, b.T).dtype is gpuarr.float32


def test_gradients_come_back_in_the_parameters_dtype(device):
    lin = gpuarr.nn.Linear(6, 3).to(device)
    x = gpuarr.randn(4, 6, device=device)
    t = gpuarr.tensor([0, 2, 1, 1], device=device)
    low = gpuarr.get_autocast_dtype(device)
    with gpuarr.autocast(device):
        y = lin(x)
        loss = F.cross_entropy(y, t)
    assert y.dtype is low and loss.dtype is gpuarr.float32
    loss.backward()
    assert lin.weight.grad.dtype is gpuarr.float32 and lin.bias.grad.dtype is gpuarr.float32
    assert y.grad_fn is not None


def test_gradient_values_match_torch_cpu_autocast():
    rng = np.random.default_rng(13)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((8, 6), (4, 6), (4,)))
    tgt = [0, 3, 1, 2, 2, 1, 0, 3]
    grads = []
    for m, mf in ((gpuarr, F), (torch, TF)):
        ws, bs = m.tensor(w, requires_grad=True), m.tensor(b, requires_grad=True)
        with m.autocast("cpu"):
            h = mf.linear(m.tensor(x), ws, bs)
            h2 = mf.linear(m.relu(h), ws[:, :4], bs)  # the weight used twice (cast cache)
            loss = mf.cross_entropy(h2, m.tensor(tgt))
        loss.backward()
        grads.append((loss, ws.grad, bs.grad))
    for g, t in zip(*grads):
        assert name(g.dtype) == name(t.dtype)
        np.testing.assert_allclose(as_f32(g), as_f32(t), rtol=2e-2, atol=2e-3)


def test_weight_casts_are_cached_within_a_region():
    from gpuarr._autocast import state

    w = gpuarr.randn(3, 4, requires_grad=True)
    x = gpuarr.randn(2, 4)
    with gpuarr.autocast("cpu"):
        y1, y2 = F.linear(x, w), F.linear(x, w)
        # both products read the one cast of w (torch's cache of weight casts)
        cast1 = y1.grad_fn.next_functions[1][0]
        cast2 = y2.grad_fn.next_functions[1][0]
        assert cast1 is cast2 and len(state._cache) == 1
        with gpuarr.autocast("cpu", cache_enabled=False):
            y3 = F.linear(x, w)
        assert y3.grad_fn.next_functions[1][0] is not cast1
    assert len(state._cache) == 0  # dropped when the outermost region ends


def test_nesting_enabled_false_and_state_restored():
    a, b = gpuarr.randn(2, 3), gpuarr.randn(3, 2)
    assert not gpuarr.is_autocast_enabled("cpu")
    with gpuarr.autocast("cpu"):
        assert gpuarr.is_autocast_enabled("cpu") and gpuarr.mm(a, b).dtype is gpuarr.bfloat16
        with gpuarr.autocast("cpu", enabled=False):
            assert not gpuarr.is_autocast_enabled("cpu")
            assert gpuarr.mm(a, b).dtype is gpuarr.float32
            with gpuarr.autocast("cpu", dtype=gpuarr.float16):
                assert gpuarr.mm(a, b).dtype is gpuarr.float16
                assert gpuarr.get_autocast_dtype("cpu") is gpuarr.float16
            assert gpuarr.mm(a, b).dtype is gpuarr.float32
        assert gpuarr.mm(a, b).dtype is gpuarr.bfloat16
        assert gpuarr.get_autocast_dtype("cpu") is gpuarr.bfloat16
    assert not gpuarr.is_autocast_enabled("cpu") and gpuarr.mm(a, b).dtype is gpuarr.float32
    with pytest.raises(ZeroDivisionError), gpuarr.autocast("cpu"):
        1 / 0  # noqa: B018
    assert not gpuarr.is_autocast_enabled("cpu")
    assert gpuarr.is_autocast_enabled() is gpuarr.is_autocast_enabled("cuda") is False


def test_decorator_form():
    calls = []

    @gpuarr.autocast("cpu")
    def forward(a, b, depth=0):
        """doc kept"""
        calls.append(gpuarr.is_autocast_enabled("cpu"))
        if depth:
            forward(a, b, depth - 1)
        return gpuarr.mm(a, b)

    out = forward(gpuarr.randn(2, 3), gpuarr.randn(3, 2), depth=2)
    assert out.dtype is gpuarr.bfloat16 and calls == [True, True, True]
    assert forward.__doc__ == "doc kept" and not gpuarr.is_autocast_enabled("cpu")
    with pytest.raises(TypeError, match="requires a callable"):
        gpuarr.autocast("cpu")(3)


def test_autocast_argument_errors_match_torch():
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        gpuarr.autocast(gpuarr.device("cpu"))
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        gpuarr.autocast("tpu")
    with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of gpuarr.bfloat16, "
                                         "gpuarr.float16"):
        ac = gpuarr.autocast("cpu", dtype=gpuarr.float32)
    with ac:
        assert not gpuarr.is_autocast_enabled("cpu")
    assert gpuarr.amp.is_autocast_available("cpu") and gpuarr.amp.is_autocast_available("cuda")
    assert not gpuarr.amp.is_autocast_available("mps")
    assert gpuarr.autocast is gpuarr.amp.autocast


def test_cuda_autocast_refuses_bfloat16_or_is_disabled_without_cuda():
    if CUDA:
        with pytest.raises(RuntimeError, match="does not support bfloat16. Please switch dtype "
                                               "to float16"):
            gpuarr.autocast("cuda", dtype=gpuarr.bfloat16)
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            with gpuarr.autocast("cuda"):
                x = gpuarr.rand(3, device="cuda")
                F.binary_cross_entropy(x, x)
    else:
        with pytest.warns(UserWarning, match="CUDA is not available. Disabling autocast"):
            ac = gpuarr.autocast("cuda")
        with ac:
            assert not gpuarr.is_autocast_enabled("cuda")


def test_binary_cross_entropy_runs_in_float32_on_cpu():
    x = gpuarr.rand(4, 3)
    with gpuarr.autocast("cpu"), torch.autocast("cpu"):
        g = F.binary_cross_entropy(x.bfloat16(), x.bfloat16())
        t = TF.binary_cross_entropy(torch.tensor(x.numpy()).bfloat16(),
                                    torch.tensor(x.numpy()).bfloat16())
    assert name(g.dtype) == name(t.dtype) == "float32"


def test_state_functions():
    try:
        gpuarr.set_autocast_enabled("cpu", True)
        assert gpuarr.is_autocast_enabled("cpu")
        assert gpuarr.mm(gpuarr.ones(2, 2), gpuarr.ones(2, 2)).dtype is gpuarr.bfloat16
        gpuarr.set_autocast_dtype("cpu", gpuarr.float16)
        assert gpuarr.mm(gpuarr.ones(2, 2), gpuarr.ones(2, 2)).dtype is gpuarr.float16
    finally:
        gpuarr.set_autocast_enabled("cpu", False)
        gpuarr.set_autocast_dtype("cpu", gpuarr.bfloat16)
    assert gpuarr.mm(gpuarr.ones(2, 2), gpuarr.ones(2, 2)).dtype is gpuarr.float32
    with pytest.warns(DeprecationWarning, match="get_autocast_dtype\\('cuda'\\)"):
        assert gpuarr.get_autocast_gpu_dtype() is gpuarr.float16
    with pytest.warns(DeprecationWarning):
        assert gpuarr.get_autocast_cpu_dtype() is gpuarr.bfloat16
    assert gpuarr.is_autocast_cache_enabled()


class _MyMM(gpuarr.autograd.Function):
    seen: list = []

    @staticmethod
    @gpuarr.amp.custom_fwd(device_type="cpu", cast_inputs=gpuarr.float32)
    def forward(ctx, a, b):
        _MyMM.seen.append((a.dtype, b.dtype, gpuarr.is_autocast_enabled("cpu")))
        ctx.save_for_backward(a, b)
        return a.mm(b)

    @staticmethod
    @gpuarr.amp.custom_bwd(device_type="cpu")
    def backward(ctx, g):
        _MyMM.seen.append(("backward", gpuarr.is_autocast_enabled("cpu")))
        a, b = ctx.saved_tensors
        return g.mm(b.t()), a.t().mm(g)


def test_custom_fwd_casts_inputs_and_custom_bwd_restores_state():
    _MyMM.seen.clear()
    a = gpuarr.randn(2, 3).bfloat16().requires_grad_()
    b = gpuarr.randn(3, 2, requires_grad=True)
    with gpuarr.autocast("cpu"):
        out = _MyMM.apply(a, b)
    assert out.dtype is gpuarr.float32
    out.sum().backward()
    assert _MyMM.seen == [(gpuarr.float32, gpuarr.float32, False), ("backward", False)]
    assert a.grad.dtype is gpuarr.bfloat16 and b.grad.dtype is gpuarr.float32
    # outside autocast, cast_inputs does nothing
    _MyMM.seen.clear()
    _MyMM.apply(a, b.bfloat16())
    assert _MyMM.seen == [(gpuarr.bfloat16, gpuarr.bfloat16, False)]
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        gpuarr.amp.custom_fwd(device_type=None)


def test_deprecated_aliases_warn_like_torch():
    with pytest.warns(FutureWarning, match=r"`gpuarr.cpu.amp.autocast\(args...\)` is deprecated. "
                                           r"Please use `gpuarr.amp.autocast\('cpu', args...\)`"):
        ac = gpuarr.cpu.amp.autocast()
    with ac:
        assert gpuarr.is_autocast_enabled("cpu")
    with pytest.warns(FutureWarning, match=r"gpuarr.amp.GradScaler\('cuda', args...\)"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "CUDA is not available" without CUDA
        scaler = gpuarr.cuda.amp.GradScaler(init_scale=8.0)
    assert isinstance(scaler, gpuarr.amp.GradScaler) and scaler.is_enabled() is CUDA
    with pytest.warns(FutureWarning, match=r"gpuarr.amp.autocast\('cuda', args...\)"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ac = gpuarr.cuda.amp.autocast()
    assert ac.device == "cuda" and ac.fast_dtype is gpuarr.float16


def test_disabled_autocast_leaves_ops_alone():
    from gpuarr._autocast import state

    assert state.on is False  # the one flag every listed op checks first
    a = gpuarr.randn(3, 3)
    assert gpuarr.mm(a, a).dtype is (a @ a).dtype is F.linear(a, a).dtype is gpuarr.float32


# =============================================================================================
# GradScaler against torch.amp.GradScaler('cpu')


def _model(m, device=None):
    rng = np.random.default_rng(21)
    net = m.nn.Sequential(m.nn.Linear(5, 4), m.nn.Tanh(), m.nn.Linear(4, 2))
    with m.no_grad():
        for p in net.parameters():
            p.copy_(m.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return net.to(device) if device is not None else net


def _run_scaler(m, device, steps, inf_at, clip=None, scaler=None, **kw):
    """Train a small net with a GradScaler; put inf/NaN into a gradient at ``inf_at`` steps.
    Returns the scaler, the net and per step (scale before update, parameters)."""
    rng = np.random.default_rng(22)
    net = _model(m, device if m is gpuarr else None)
    opt = m.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    if scaler is None:
        scaler = m.amp.GradScaler(device if m is gpuarr else "cpu", **kw)
    kwd = {"device": device} if m is gpuarr else {}
    log = []
    for step in range(steps):
        x = m.tensor(rng.standard_normal((8, 5)).astype(np.float32), **kwd)
        y = m.tensor(rng.standard_normal((8, 2)).astype(np.float32), **kwd)
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        scaler.scale(loss).backward()
        if step in inf_at:
            with m.no_grad():
                net[0].weight.grad[0, 0] = float("inf") if step % 2 else float("nan")
        if clip is not None:
            scaler.unscale_(opt)
            norms = m.nn.utils.clip_grad_norm_(net.parameters(), clip)
            log.append(("norm", float(norms)))
        scaler.step(opt)
        log.append(("scale", scaler.get_scale(), scaler._get_growth_tracker()))
        scaler.update()
        log.append(("params", [p.detach().cpu().numpy().copy() for p in net.parameters()]))
    return scaler, net, log


def _compare_logs(lg, lt):
    assert len(lg) == len(lt)
    for a, b in zip(lg, lt):
        assert a[0] == b[0]
        if a[0] == "params":
            for pa, pb in zip(a[1], b[1]):
                np.testing.assert_allclose(pa, pb, rtol=1e-6, atol=1e-6)
        elif a[0] == "norm":
            np.testing.assert_allclose(a[1], b[1], rtol=1e-5)
        else:
            assert a == b


def test_grad_scaler_matches_torch_with_inf_grads(device):
    kw = {"init_scale": 2.0**10, "growth_interval": 3}
    inf_at = {4, 5, 12}
    sg, _, lg = _run_scaler(gpuarr, device, 16, inf_at, **kw)
    st_, _, lt = _run_scaler(torch, device, 16, inf_at, **kw)
    _compare_logs(lg, lt)
    scales = [e[1] for e in lg if e[0] == "scale"]
    assert min(scales) < 2.0**10 < max(scales)  # it backed off and grew again
    assert sg.state_dict() == st_.state_dict()


def test_skipped_steps_leave_parameters_untouched(device):
    _, _, log = _run_scaler(gpuarr, device, 4, {1})
    params = [e[1] for e in log if e[0] == "params"]
    for a, b in zip(params[0], params[1]):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(params[1], params[2]))


def test_unscale_before_clipping_matches_torch(device):
    kw = {"init_scale": 2.0**8, "growth_interval": 2}
    _, _, lg = _run_scaler(gpuarr, device, 6, {4}, clip=0.5, **kw)
    _, _, lt = _run_scaler(torch, device, 6, {4}, clip=0.5, **kw)
    _compare_logs(lg, lt)


def test_unscale_divides_the_gradients(device):
    net = _model(gpuarr, device)
    opt = gpuarr.optim.SGD(net.parameters(), lr=0.1)
    scaler = gpuarr.amp.GradScaler(device, init_scale=64.0)
    x = gpuarr.randn(3, 5, device=device)
    scaler.scale(net(x).sum()).backward()
    scaled = [p.grad.clone() for p in net.parameters()]
    scaler.unscale_(opt)
    for p, s in zip(net.parameters(), scaled):
        np.testing.assert_allclose(p.grad.cpu().numpy(), s.cpu().numpy() / 64.0, rtol=1e-6)


def test_state_dict_round_trip_continues_like_torch(device):
    kw = {"init_scale": 2.0**6, "growth_interval": 2}
    sg, _, _ = _run_scaler(gpuarr, device, 5, {1}, **kw)
    st_, _, _ = _run_scaler(torch, device, 5, {1}, **kw)
    sd = sg.state_dict()
    assert sd == st_.state_dict()
    assert set(sd) == {"scale", "growth_factor", "backoff_factor", "growth_interval",
                       "_growth_tracker"}
    fresh = gpuarr.amp.GradScaler(device)
    fresh.load_state_dict(sd)
    assert fresh.state_dict() == sd
    assert pickle.loads(pickle.dumps(fresh)).state_dict() == sd
    assert copy.deepcopy(sg).state_dict() == sd
    tfresh = torch.amp.GradScaler("cpu")
    tfresh.load_state_dict(st_.state_dict())
    _, _, lg = _run_scaler(gpuarr, device, 4, {2}, scaler=fresh)
    _, _, lt = _run_scaler(torch, device, 4, {2}, scaler=tfresh)
    _compare_logs(lg, lt)


def test_grad_scaler_errors_match_torch(device):
    net = _model(gpuarr, device)
    opt = gpuarr.optim.SGD(net.parameters(), lr=0.1)
    scaler = gpuarr.amp.GradScaler(device)
    with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
        scaler.step(opt)
    loss = net(gpuarr.randn(2, 5, device=device)).sum()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called on this "
                                           "optimizer since the last update\\(\\)"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: 0)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step\\(\\)"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last "
                                           "update\\(\\)"):
        scaler.step(opt)
    scaler.update()
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
        scaler.update()
    with pytest.raises(AssertionError, match="The growth factor must be > 1.0"):
        gpuarr.amp.GradScaler(device, growth_factor=1.0)
    with pytest.raises(AssertionError, match="The backoff factor must be < 1.0"):
        gpuarr.amp.GradScaler(device, backoff_factor=1.0)
    # float16 gradients cannot be unscaled (keep the weights in float32 under autocast)
    half = gpuarr.nn.Linear(2, 2).to(device).half()
    hopt = gpuarr.optim.SGD(half.parameters(), lr=0.1)
    s2 = gpuarr.amp.GradScaler(device)
    s2.scale(half(gpuarr.randn(1, 2, device=device).half()).sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        s2.step(hopt)
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        gpuarr.amp.GradScaler(device).load_state_dict({})


def test_scale_lists_and_update_to_a_new_scale(device):
    scaler = gpuarr.amp.GradScaler(device, init_scale=4.0)
    a, b = gpuarr.ones(2, device=device), gpuarr.ones(3, device=device)
    out = scaler.scale([a, (b, a)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    assert out[0].tolist() == [4.0, 4.0] and out[1][0].tolist() == [4.0] * 3
    with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable of Tensors"):
        scaler.scale([a, 3])
    scaler.update(16.0)
    assert scaler.get_scale() == 16.0
    scaler.update(gpuarr.tensor(2.0, device=device))
    assert scaler.get_scale() == 2.0


def test_disabled_scaler_is_a_no_op(device):
    scaler = gpuarr.amp.GradScaler(device, enabled=False)
    x = gpuarr.ones(2, device=device)
    assert scaler.scale(x) is x and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    net = _model(gpuarr, device)
    opt = gpuarr.optim.SGD(net.parameters(), lr=0.1)
    net(gpuarr.randn(2, 5, device=device)).sum().backward()
    before = [p.detach().clone() for p in net.parameters()]
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    assert not all(gpuarr.equal(p, q) for p, q in zip(net.parameters(), before))


def test_autocast_and_scaler_train_a_model(device):
    """The usual loop: autocast forward, scaled backward, step, update: the loss goes down."""
    gpuarr.manual_seed(1)
    net = gpuarr.nn.Sequential(gpuarr.nn.Linear(8, 16), gpuarr.nn.ReLU(),
                               gpuarr.nn.Linear(16, 3)).to(device)
    opt = gpuarr.optim.Adam(net.parameters(), lr=1e-2)
    scaler = gpuarr.amp.GradScaler(device)
    x = gpuarr.randn(32, 8, device=device)
    y = (x[:, :3].argmax(1))
    losses = []
    for _ in range(30):
        opt.zero_grad()
        with gpuarr.autocast(device):
            loss = F.cross_entropy(net(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert all(p.dtype is gpuarr.float32 for p in net.parameters())
    assert losses[-1] < 0.5 * losses[0]


# =============================================================================================
# torch programs run through gpuarr.run_torch


PROGRAM = """
import torch
import torch.nn as nn
from torch.amp import GradScaler, autocast
from torch.amp.grad_scaler import OptState
from torch.cuda.amp import GradScaler as CudaScaler
import torch.cpu.amp

model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
scaler = GradScaler("cpu")
with torch.autocast("cpu", dtype=torch.bfloat16):
    y = model(torch.randn(8, 4))
    loss = y.float().pow(2).mean()
scaler.scale(loss).backward()
scaler.step(opt)
scaler.update()
print(y.dtype, loss.dtype, scaler.get_scale(), torch.finfo(torch.bfloat16).eps,
      autocast is torch.autocast, CudaScaler.__module__, torch.cpu.amp.autocast.__module__,
      OptState.READY.name)
"""


def test_run_torch_resolves_amp_and_bfloat16(tmp_path):
    prog = tmp_path / "amp_prog.py"
    prog.write_text(PROGRAM)
    out = subprocess.run([sys.executable, "-m", "gpuarr.run_torch", str(prog)],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["torch.bfloat16", "torch.float32", "65536.0", "0.0078125", "True",
                   "gpuarr.cuda.amp", "gpuarr.cpu.amp", "READY"]
