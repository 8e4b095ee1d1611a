"""Loss modules against PyTorch: values and gradients for every option, in float32/float64."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from nn_helpers import NP_DT, TOL, to_np

import gpuarr
from gpuarr import nn

DTYPES = [gpuarr.float32, gpuarr.float64]


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def run_loss(name, kw_g, kw_t, x, target, device, dtype, target_grad=False, scale=1.0):
    npdt = NP_DT[dtype]
    gx = gpuarr.tensor(x.astype(npdt), device=device, requires_grad=True)
    tx = torch.tensor(x.astype(npdt), requires_grad=True)
    if target.dtype.kind == "f":
        target = target.astype(npdt)
    gt = gpuarr.tensor(target, device=device, requires_grad=target_grad)
    tt = torch.tensor(target, requires_grad=target_grad)
    gl = getattr(nn, name)(**kw_g)(gx, gt)
    tl = getattr(torch.nn, name)(**kw_t)(tx, tt)
    tol = {k: v * scale for k, v in TOL[dtype].items()}
    np.testing.assert_allclose(to_np(gl), tl.detach().numpy(), **tol, err_msg="loss")
    assert gl.dtype == dtype and tuple(gl.shape) == tuple(tl.shape)
    w = np.random.default_rng(5).standard_normal(tuple(tl.shape)).astype(npdt)
    (gl * gpuarr.tensor(w, device=device)).sum().backward()
    (tl * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), **tol, err_msg="input grad")
    if target_grad:
        np.testing.assert_allclose(to_np(gt.grad), tt.grad.numpy(), **tol,
                                   err_msg="target grad")


def weights(kw, device, dtype):
    """The same keyword arguments with tensors for gpuarr and torch."""
    g, t = {}, {}
    for k, v in kw.items():
        if isinstance(v, np.ndarray):
            g[k] = gpuarr.tensor(v.astype(NP_DT[dtype]), device=device)
            t[k] = torch.tensor(v.astype(NP_DT[dtype]))
        else:
            g[k] = t[k] = v
    return g, t


CE_OPTS = [
    {}, {"reduction": "sum"}, {"reduction": "none"}, {"weight": np.array([0.2, 1.0, 3.0, 0.5])},
    {"ignore_index": 2}, {"label_smoothing": 0.15},
    {"label_smoothing": 0.2, "weight": np.array([0.2, 1.0, 3.0, 0.5]), "ignore_index": 1},
    {"label_smoothing": 0.3, "reduction": "none", "ignore_index": 0},
    {"weight": np.array([0.2, 1.0, 3.0, 0.5]), "reduction": "sum", "label_smoothing": 0.1},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CE_OPTS, ids=lambda k: ",".join(k) or "default")
@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 3, 2), (4,)], ids=["NC", "NCd", "C"])
def test_cross_entropy_indices(device, dtype, kw, shape):
    x = rnd(*shape) * 3
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    target = np.random.default_rng(1).integers(0, 4, tshape)
    kg, kt = weights(kw, device, dtype)
    run_loss("CrossEntropyLoss", kg, kt, x, target, device, dtype)
    run_loss("NLLLoss", {k: v for k, v in kg.items() if k != "label_smoothing"},
             {k: v for k, v in kt.items() if k != "label_smoothing"},
             x, target, device, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1}, {"reduction": "none"},
                                {"weight": np.array([0.5, 2.0, 1.0])}], ids=str)
def test_cross_entropy_probabilities(device, dtype, kw):
    x = rnd(5, 3, 2)
    p = np.abs(rnd(5, 3, 2, seed=2))
    p /= p.sum(1, keepdims=True)
    kg, kt = weights(kw, device, dtype)
    run_loss("CrossEntropyLoss", kg, kt, x, p, device, dtype, target_grad=True)


def test_cross_entropy_all_ignored_is_nan():
    x = gpuarr.randn(3, 4, requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, gpuarr.tensor([-100, -100, -100]))
    assert np.isnan(float(loss))
    assert float(nn.CrossEntropyLoss(reduction="sum")(x, gpuarr.tensor([-100] * 3))) == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", [
    ("MSELoss", {}), ("MSELoss", {"reduction": "sum"}), ("L1Loss", {}),
    ("L1Loss", {"reduction": "none"}), ("SmoothL1Loss", {"beta": 0.5}),
    ("SmoothL1Loss", {"beta": 0.0}), ("HuberLoss", {"delta": 0.7}),
    ("HuberLoss", {"reduction": "sum"}), ("SoftMarginLoss", {}),
], ids=str)
def test_regression_losses(device, dtype, name, kw):
    x = rnd(4, 5)
    t = rnd(4, 5, seed=1) if name != "SoftMarginLoss" else np.sign(rnd(4, 5, seed=1))
    run_loss(name, kw, kw, x, t, device, dtype, target_grad=name != "SoftMarginLoss")


def test_functional_weighted_regression_losses():
    x, t, w = rnd(4, 5), rnd(4, 5, seed=1), np.abs(rnd(4, 5, seed=2))
    import torch.nn.functional as TF

    for name in ("mse_loss", "l1_loss", "huber_loss"):
        for red in ("mean", "sum", "none"):
            g = getattr(gpuarr.nn.functional, name)(gpuarr.tensor(x), gpuarr.tensor(t),
                                                    reduction=red, weight=gpuarr.tensor(w))
            r = getattr(TF, name)(torch.tensor(x), torch.tensor(t), reduction=red,
                                  weight=torch.tensor(w))
            np.testing.assert_allclose(to_np(g), r.numpy(), rtol=1e-12)
        with pytest.raises(ValueError, match="Weights and input must have the same size."):
            getattr(gpuarr.nn.functional, name)(gpuarr.tensor(x), gpuarr.tensor(t),
                                                weight=gpuarr.ones(5, dtype=gpuarr.float64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"},
                                {"weight": np.array([0.5, 1.5, 1.0])}], ids=str)
def test_bce(device, dtype, kw):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, (4, 3))
    t = rng.uniform(0, 1, (4, 3))
    kg, kt = weights(kw, device, dtype)
    run_loss("BCELoss", kg, kt, p, t, device, dtype, target_grad=True, scale=3.0)


def test_bce_clamps_log_at_minus_100():
    x = gpuarr.tensor([0.0, 1.0], requires_grad=True)
    t = gpuarr.tensor([1.0, 0.0])
    loss = nn.BCELoss(reduction="none")(x, t)
    np.testing.assert_allclose(to_np(loss), [100.0, 100.0])
    loss.sum().backward()
    tx = torch.tensor([0.0, 1.0], requires_grad=True)
    torch.nn.BCELoss(reduction="none")(tx, torch.tensor([1.0, 0.0])).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, {"pos_weight": np.array([0.5, 3.0, 1.0])},
                                {"weight": np.array([2.0, 0.1, 1.0]), "reduction": "sum"},
                                {"reduction": "none", "pos_weight": np.array([2.0, 2.0, 2.0])}],
                         ids=str)
def test_bce_with_logits(device, dtype, kw):
    x = rnd(4, 3) * 30  # large logits: the stable form must not overflow
    t = np.random.default_rng(1).uniform(0, 1, (4, 3))
    kg, kt = weights(kw, device, dtype)
    run_loss("BCEWithLogitsLoss", kg, kt, x, t, device, dtype, target_grad=True, scale=3.0)


@pytest.mark.parametrize("kw", [{"reduction": "batchmean"}, {"reduction": "sum"},
                                {"reduction": "batchmean", "log_target": True}], ids=str)
def test_kl_div(kw):
    x = torch.log_softmax(torch.tensor(rnd(3, 4)), 1).numpy()
    t = torch.softmax(torch.tensor(rnd(3, 4, seed=1)), 1).numpy()
    if kw.get("log_target"):
        t = np.log(t)
    run_loss("KLDivLoss", kw, kw, x, t, "cpu", gpuarr.float64, target_grad=True)


def test_loss_argument_handling():
    x, t = gpuarr.randn(3, 2), gpuarr.randn(3, 2)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        nn.MSELoss(reduction="avg")(x, t)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        legacy = nn.MSELoss(size_average=False)
        assert legacy.reduction == "sum"
        assert any("size_average and reduce args will be deprecated" in str(i.message)
                   for i in w)
    with pytest.warns(UserWarning, match="Using a target size"):
        nn.MSELoss()(gpuarr.randn(3), gpuarr.randn(3, 1))
    with pytest.raises(ValueError, match="Using a target size .* is deprecated"):
        nn.BCELoss()(gpuarr.rand(3), gpuarr.rand(3, 1))
    with pytest.raises(ValueError, match="must be the same as input size"):
        nn.BCEWithLogitsLoss()(gpuarr.rand(3), gpuarr.rand(3, 1))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte"):
        nn.NLLLoss()(gpuarr.randn(3, 4), gpuarr.randn(3))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point"):
        nn.CrossEntropyLoss(ignore_index=1)(gpuarr.randn(3, 4), gpuarr.rand(3, 4))
    ce = nn.CrossEntropyLoss(weight=gpuarr.ones(4))
    assert "weight" in dict(ce.named_buffers())


_TARGET_CASES = [
    ([0, 1, 3, 2], -100), ([0, -1, 2, 2], -100), ([0, -100, 2, 1], -100), ([0, 5, 2, 1], 5),
    ([0, 1, 2, 1], 1), ([-7, 1, 2, 1], -7), ([2, 1, 0, 9], 1), ([[0, 4], [1, 2]], -100)]


@pytest.mark.parametrize("target, ignore_index, tdtype", [
    (t, i, dt) for t, i in _TARGET_CASES for dt in ("int64", "uint8")
    if dt == "int64" or (min(np.ravel(t)) >= 0 and i >= 0)])  # bytes hold no negatives
def test_target_range_check_against_torch(device, target, ignore_index, tdtype):
    """Targets outside [0, C) raise torch's IndexError unless they equal ignore_index (which
    may itself lie inside or outside the classes); byte targets are checked the same way."""
    t_np = np.array(target, dtype=tdtype)
    x = rnd(*t_np.shape[:1], 3, *t_np.shape[1:], seed=3).astype(np.float32)
    gx = gpuarr.tensor(x, device=device, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    try:
        want = torch.nn.functional.cross_entropy(tx, torch.tensor(t_np), ignore_index=ignore_index)
    except IndexError as e:
        with pytest.raises(IndexError, match=str(e).replace(".", r"\.")):
            gpuarr.nn.functional.cross_entropy(gx, gpuarr.tensor(t_np, device=device),
                                               ignore_index=ignore_index)
        return
    got = gpuarr.nn.functional.cross_entropy(gx, gpuarr.tensor(t_np, device=device),
                                             ignore_index=ignore_index)
    np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=1e-6)
    got.backward()
    want.backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("target, weight", [
    ([0, 1, 2, 1], None), ([-100, -100, -100, -100], None), ([0, 1, 2, 1], [1.0, np.inf, 2.0]),
    ([0, -100, 2, 1], [0.0, 0.0, 0.0]), ([0, -100, 2, 1], [1.0, 0.0, -1.0]),
    ([-100] * 4, [1.0, 2.0, 3.0])])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_degenerate_weights_against_torch(device, target, weight, reduction):
    """Every target ignored, an infinite weight, zero weights (a zero total: torch's gradient
    is nan at the targets not ignored, 0 at ignored ones), weights summing to zero: losses and
    gradients as torch's, nan where torch's are."""
    x = rnd(4, 3, seed=6).astype(np.float32)
    t_np = np.array(target)
    gx = gpuarr.tensor(x, device=device, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    kw_g, kw_t = {"reduction": reduction}, {"reduction": reduction}
    if weight is not None:
        kw_g["weight"] = gpuarr.tensor(np.array(weight, np.float32), device=device)
        kw_t["weight"] = torch.tensor(weight, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0/0 and inf - inf, as torch computes them
        got = nn.functional.cross_entropy(gx, gpuarr.tensor(t_np, device=device), **kw_g)
        want = torch.nn.functional.cross_entropy(tx, torch.tensor(t_np), **kw_t)
        got.sum().backward()
        want.sum().backward()
    np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-7,
                               equal_nan=True)


@pytest.mark.parametrize("kw", [{}, {"reduction": "none"}, {"reduction": "sum"},
                                {"weight": True}, {"ignore_index": 2},
                                {"label_smoothing": 0.1}])
def test_unbatched_input_takes_a_one_element_target(device, kw):
    """A ``(C,)`` input with a ``(1,)`` class target is the ``()`` target (torch's forward
    accepts it; its backward, and its label smoothing, then fail on the shapes: gpuarr gives
    the ``()`` target's values and gradients)."""
    rng = np.random.default_rng(21)
    xv = rng.standard_normal(5).astype(np.float32)
    gkw, tkw = dict(kw), dict(kw)
    if kw.get("weight"):
        gkw["weight"] = gpuarr.arange(1.0, 6.0, device=device)
        tkw["weight"] = torch.arange(1.0, 6.0)
    x = gpuarr.tensor(xv, device=device, requires_grad=True)
    xt = torch.tensor(xv, requires_grad=True)
    got = nn.functional.cross_entropy(x, gpuarr.tensor([2], device=device), **gkw)
    want = torch.nn.functional.cross_entropy(xt, torch.tensor(2), **tkw)  # the () target
    assert tuple(got.shape) == tuple(want.shape) == ()
    np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=1e-6, equal_nan=True)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), xt.grad.numpy(), rtol=1e-6, atol=1e-7)
    if not kw.get("label_smoothing"):  # torch's own forward fails there
        plain = torch.nn.functional.cross_entropy(xt, torch.tensor([2]), **tkw)
        np.testing.assert_allclose(to_np(got), plain.detach().numpy(), rtol=1e-6,
                                   equal_nan=True)


def test_unbatched_input_refuses_a_longer_target(device):
    x = gpuarr.randn(5, device=device)
    for fn in (nn.functional.cross_entropy, nn.functional.nll_loss):
        with pytest.raises(ValueError, match=r"^For 1D input, 1D target must have size 1, "
                                             r"but got target size: 2$"):
            fn(x, gpuarr.tensor([2, 1], device=device))
    with pytest.raises(ValueError, match="1D target must have size 1"):
        torch.nn.functional.cross_entropy(torch.randn(5), torch.tensor([2, 1]))
