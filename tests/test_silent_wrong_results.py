"""Results that were silently wrong, and messages that read wrong, compared with torch 2.13."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gpuarr
import gpuarr.nn.functional as F


def host(t) -> np.ndarray:
    return t.detach().cpu().float().numpy()


def outcome(fn):
    """The value (as a list) or the exception type and message ``fn()`` gives."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 (the exception is the outcome compared)
        return f"{type(e).__name__}: {e}"
    return r.tolist() if hasattr(r, "tolist") else r


# ---- float16 statistics accumulate in float32 ---------------------------------------------

BIG16 = np.array([[300.0, -300.0, 250.0, 1000.0], [60000.0, 1.0, 2.0, 3.0]], dtype=np.float16)

HALF_CASES = {
    "layer_norm": lambda m, a: m.layer_norm(a, (4,)),
    "layer_norm_affine": lambda m, a: m.layer_norm(a, (4,), a[0] * 0 + 2, a[0] * 0 + 1),
    "group_norm": lambda m, a: m.group_norm(a.reshape(2, 4, 1), 2),
    "batch_norm": lambda m, a: m.batch_norm(a, None, None, training=True),
    "instance_norm_as_group": lambda m, a: m.group_norm(a.reshape(1, 2, 4), 2),
    "normalize": lambda m, a: m.normalize(a, dim=1),
    "softmax": lambda m, a: m.softmax(a, dim=1),
    "log_softmax": lambda m, a: m.log_softmax(a, dim=1),
}


@pytest.mark.parametrize("name", list(HALF_CASES))
def test_float16_statistics_do_not_overflow(device, name):
    f = HALF_CASES[name]
    g = gpuarr.tensor(BIG16, device=device, requires_grad=True)
    t = torch.tensor(BIG16, requires_grad=True)
    go, to = f(F, g), f(TF, t)
    assert go.dtype == gpuarr.float16
    np.testing.assert_allclose(host(go), to.detach().float().numpy(), rtol=2e-3, atol=2e-3)
    assert np.abs(host(go)).max() > 0.5  # the overflow gave all zeros
    w = np.linspace(-1, 1, go.numel()).reshape(tuple(go.shape)).astype(np.float16)
    (gg,) = gpuarr.autograd.grad((go * gpuarr.tensor(w, device=device)).sum(), g)
    (tg,) = torch.autograd.grad((to * torch.tensor(w)).sum(), t)
    assert gg.dtype == gpuarr.float16
    np.testing.assert_allclose(host(gg), tg.float().numpy(), rtol=2e-2, atol=2e-3)


def test_float16_layer_norm_issue_example(device):
    x = gpuarr.tensor([[300.0, -300.0]], dtype=gpuarr.float16, device=device)
    np.testing.assert_array_equal(host(F.layer_norm(x, (2,))), [[1.0, -1.0]])


@pytest.mark.parametrize("op", ["var", "std", "mean", "sum", "norm", "cumsum", "logsumexp"])
def test_float16_reductions_match_torch(device, op):
    x = np.array([[300.0, -300.0, 250.0, 1000.0], [6000.0, 1.0, 2.0, 3.0]], dtype=np.float16)
    g = getattr(gpuarr.tensor(x, device=device), op)(1) if op != "norm" else \
        gpuarr.tensor(x, device=device).norm(dim=1)
    t = getattr(torch.tensor(x), op)(1) if op != "norm" else torch.tensor(x).norm(dim=1)
    np.testing.assert_allclose(host(g), t.float().numpy(), rtol=2e-3)


def test_float16_cross_entropy(device):
    g = gpuarr.tensor(BIG16, device=device, requires_grad=True)
    t = torch.tensor(BIG16, requires_grad=True)
    go = F.cross_entropy(g, gpuarr.tensor([0, 1], device=device))
    to = TF.cross_entropy(t, torch.tensor([0, 1]))
    np.testing.assert_allclose(host(go), to.float().item(), rtol=2e-3)


# ---- hooks --------------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", [True, False])
@pytest.mark.parametrize("ret", ["shape", "dtype", "float", "int64", "scalar_shape"])
def test_hook_results_are_validated(device, leaf, ret):
    def run(m, dev):
        w = m.ones(3, requires_grad=True, device=dev)
        x = w if leaf else w * 2
        make = {"shape": lambda g: m.ones(4, device=dev),
                "dtype": lambda g: m.ones(3, dtype=m.float64, device=dev),
                "float": lambda g: 3.0,
                "int64": lambda g: m.ones(3, dtype=m.int64, device=dev),
                "scalar_shape": lambda g: m.ones(1, device=dev)}[ret]

        def hook(g):
            return make(g)

        x.register_hook(hook)
        (x * 2).sum().backward()
        return w.grad

    ours = outcome(lambda: run(gpuarr, device))
    theirs = outcome(lambda: run(torch, "cpu"))
    assert ours.replace("gpuarr.cuda.", "torch.").replace("gpuarr.", "torch.") == theirs


def test_hook_may_replace_the_gradient(device):
    w = gpuarr.ones(3, requires_grad=True, device=device)
    w.register_hook(lambda g: g * 10)
    (w * 2).sum().backward()
    np.testing.assert_array_equal(host(w.grad), [20, 20, 20])


# ---- values that don't fit the dtype ------------------------------------------------------


def _setitem(m, v, dt):
    t = m.zeros(2, dtype=dt)
    t[0] = v
    return t


OVERFLOW_CASES = [
    lambda m: m.tensor([300], dtype=m.uint8),
    lambda m: m.tensor([2**63]),
    lambda m: m.tensor([1e10], dtype=m.int32),
    lambda m: m.tensor(300, dtype=m.uint8),
    lambda m: m.tensor([-1], dtype=m.uint8),
    lambda m: m.tensor([-256], dtype=m.uint8),
    lambda m: m.tensor([1.5], dtype=m.int64),
    lambda m: m.tensor([float("nan")], dtype=m.int64),
    lambda m: m.tensor([float("inf")], dtype=m.int32),
    lambda m: m.tensor([1e300], dtype=m.float32),
    lambda m: m.tensor(40000.5, dtype=m.int16),
    lambda m: m.tensor([1, 2**63]),
    lambda m: m.tensor([[1], [2**64]]),
    lambda m: m.tensor([2**63], dtype=m.float64),
    lambda m: m.tensor([-129], dtype=m.int8),
    lambda m: m.tensor(2**63),
    lambda m: m.tensor([True, 2]),
    lambda m: m.full((2,), 300, dtype=m.uint8),
    lambda m: m.full((2,), 1e10, dtype=m.int32),
    lambda m: m.full((1,), -1, dtype=m.uint8),
    lambda m: m.full((1,), 1e39, dtype=m.float32),
    lambda m: m.full((1,), float("inf"), dtype=m.int64),
    lambda m: m.zeros(2, dtype=m.uint8).fill_(300),
    lambda m: m.zeros(1, dtype=m.int16).fill_(40000),
    lambda m: m.zeros(1).fill_(1e39),
    lambda m: m.zeros(2, dtype=m.uint8).fill_(-1),
    lambda m: _setitem(m, 300, m.uint8),
    lambda m: _setitem(m, 1e10, m.int32),
    lambda m: _setitem(m, -1, m.uint8),
    lambda m: _setitem(m, -256, m.uint8),
    lambda m: _setitem(m, 1e39, m.float32),
    lambda m: _setitem(m, 2**63, m.int64),
]


@pytest.mark.parametrize("case", range(len(OVERFLOW_CASES)))
def test_values_that_do_not_fit_raise_like_torch(case):
    f = OVERFLOW_CASES[case]
    assert outcome(lambda: f(gpuarr)) == outcome(lambda: f(torch))


def test_device_creation_checks_too(device):
    with pytest.raises(RuntimeError, match="value cannot be converted to type uint8 without"):
        gpuarr.tensor([300], dtype=gpuarr.uint8, device=device)
    with pytest.raises(RuntimeError, match="value cannot be converted to type uint8_t without"):
        gpuarr.full((2,), 300, dtype=gpuarr.uint8, device=device)


# ---- messages and rejected ops ------------------------------------------------------------

MESSAGE_CASES = [
    lambda m: m.ones(3, 4).add_(m.ones(2, 3, 4)),
    lambda m: m.ones(3, 1).add_(m.ones(3, 4)),
    lambda m: m.ones(3, 4).copy_(m.ones(2, 3, 4)),
    lambda m: m.ones(3, 4).copy_(m.ones(5, 4)),
    lambda m: m.ones(3, 4).mul_(m.ones(5, 4)),
    lambda m: m.ones(4).expand(3, 4).add_(1),
    lambda m: m.ones(4).expand(3, 4).mul_(m.ones(3, 4)),
    lambda m: m.ones(4).expand(3, 4).copy_(m.ones(3, 4)),
    lambda m: m.sign(m.tensor([float("nan"), -0.0, 2.0, -3.0])),
    lambda m: m.tensor([True]) - True,
    lambda m: m.tensor([True]) - 1,
    lambda m: 1 - m.tensor([True]),
    lambda m: m.tensor([True]) - m.tensor([True]),
    lambda m: m.tensor([1]) - True,
    lambda m: m.tensor([2]).sub(m.tensor([True])),
    lambda m: m.tensor([True]) // m.tensor([True]),
    lambda m: m.tensor([True]) // 2,
    lambda m: m.lerp(m.tensor([1]), m.tensor([3]), 0.5),
    lambda m: m.tensor([1]).lerp(m.tensor([3]), m.tensor(0)),
    lambda m: m.lerp(m.tensor([1.0]), m.tensor([3]), 0.5),
    lambda m: m.lerp(m.tensor([1.0]), m.tensor([3.0]), m.tensor([1])),
    lambda m: m.lerp(m.tensor([1.0]), m.tensor([3.0]), 0.25),
]


@pytest.mark.parametrize("case", range(len(MESSAGE_CASES)))
def test_messages_and_rejections_match_torch(case):
    f = MESSAGE_CASES[case]
    assert outcome(lambda: f(gpuarr)) == outcome(lambda: f(torch))


def test_sign_nan_on_device(device):
    x = gpuarr.tensor([float("nan"), -2.0, 0.0], device=device)
    np.testing.assert_array_equal(host(gpuarr.sign(x)), [0.0, -1.0, 0.0])
