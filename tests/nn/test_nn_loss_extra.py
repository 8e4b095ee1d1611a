"""Margin, embedding and likelihood losses against PyTorch: values and input gradients for
every reduction, float32 and float64, broadcasting, unbatched and empty inputs, gradcheck /
gradgradcheck, module reprs and torch's errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from nn_helpers import NP_DT, TOL, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck

F = nn.functional
TF = torch.nn.functional
DTYPES = [gpuarr.float32, gpuarr.float64]
REDUCTIONS = ["mean", "sum", "none"]


def signs(*shape, seed=1):
    return np.where(rnd(*shape, seed=seed) > 0, 1.0, -1.0)


def convert(arrays, device, dtype):
    """gpuarr and torch tensors of the same arrays; floats in ``dtype`` with requires_grad,
    integers as they are."""
    g, t = [], []
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            a = a.astype(NP_DT[dtype])
            g.append(gpuarr.tensor(a, device=device, requires_grad=True))
            t.append(torch.tensor(a, requires_grad=True))
        elif isinstance(a, np.ndarray):
            g.append(gpuarr.tensor(a, device=device))
            t.append(torch.tensor(a))
        else:
            g.append(a)
            t.append(a)
    return g, t


def compare(name, arrays, kw, device, dtype, scale=1.0, functional=False):
    """Module ``name`` (or, with ``functional``, the function ``name``) of gpuarr and torch on
    the same inputs: outputs, dtypes, shapes and the gradient of every float input."""
    g, t = convert(arrays, device, dtype)
    if functional:
        gout, tout = getattr(F, name)(*g, **kw), getattr(TF, name)(*t, **kw)
    else:
        gout, tout = getattr(nn, name)(**kw)(*g), getattr(torch.nn, name)(**kw)(*t)
    tol = {k: v * scale for k, v in TOL[dtype].items()}
    assert tuple(gout.shape) == tuple(tout.shape)
    assert gout.dtype == dtype
    np.testing.assert_allclose(to_np(gout), tout.detach().numpy(), **tol, err_msg="loss")
    w = rnd(*tout.shape, seed=7).astype(NP_DT[dtype])
    (gout * gpuarr.tensor(w, device=device)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(g, t)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            # a target used only in comparisons gets no gradient: None (or zeros) in both
            ga = np.zeros(a.shape) if a.grad is None else to_np(a.grad)
            gb = np.zeros(tuple(b.shape)) if b.grad is None else b.grad.numpy()
            np.testing.assert_allclose(ga, gb, **tol, err_msg=f"grad {i}")
    return gout


def mlm_target(n, c, seed=3):
    """Multi-label targets: each row some distinct classes, then -1 and leftovers."""
    rng = np.random.default_rng(seed)
    t = np.zeros((n, c), np.int64)
    for i in range(n):
        k = rng.integers(0, c + 1)
        row = list(rng.permutation(c)[:k]) + [-1] * (c - k)
        if k < c - 1:
            row[k + 1] = rng.integers(0, c)  # after the terminator: ignored
        t[i] = row
    return t


# name, inputs, options (each also run with every reduction), one grad tolerance scale
CASES = [
    ("MarginRankingLoss", lambda: [rnd(6), rnd(6, seed=1), signs(6)], [{}, {"margin": 0.3}]),
    ("MarginRankingLoss", lambda: [rnd(3, 1), rnd(1, 4, seed=1), signs(3, 4)], [{"margin": 0.5}]),
    ("HingeEmbeddingLoss", lambda: [rnd(4, 5), signs(4, 5)], [{}, {"margin": 0.2}]),
    ("HingeEmbeddingLoss", lambda: [rnd(4, 3), np.array([1.0, -1.0, 0.0])], [{"margin": 2.0}]),
    ("CosineEmbeddingLoss", lambda: [rnd(5, 4), rnd(5, 4, seed=1), signs(5)],
     [{}, {"margin": 0.2}, {"margin": -0.3}]),
    ("CosineEmbeddingLoss", lambda: [rnd(5, 4), rnd(1, 4, seed=1), signs(5)], [{}]),
    ("CosineEmbeddingLoss", lambda: [rnd(4), rnd(4, seed=1), np.array(-1.0)], [{}]),
    ("TripletMarginLoss", lambda: [rnd(5, 4), rnd(5, 4, seed=1), rnd(5, 4, seed=2)],
     [{}, {"margin": 3.0, "p": 1.0}, {"swap": True, "margin": 2.5}, {"p": 3.0, "eps": 0.1}]),
    ("TripletMarginLoss", lambda: [rnd(4), rnd(4, seed=1), rnd(4, seed=2)], [{"margin": 4.0}]),
    ("TripletMarginWithDistanceLoss",
     lambda: [rnd(5, 4), rnd(5, 4, seed=1), rnd(5, 4, seed=2)],
     [{}, {"swap": True, "margin": 2.0}]),
    ("PoissonNLLLoss", lambda: [rnd(4, 5), np.abs(rnd(4, 5, seed=1)) * 3],
     [{}, {"full": True}]),
    ("PoissonNLLLoss", lambda: [np.abs(rnd(4, 5)) + 0.1, np.round(np.abs(rnd(4, 5, seed=1)) * 3)],
     [{"log_input": False}, {"log_input": False, "full": True, "eps": 0.5}]),
    ("MultiLabelSoftMarginLoss", lambda: [rnd(4, 5), (rnd(4, 5, seed=1) > 0) * 1.0], [{}]),
    ("MultiLabelSoftMarginLoss", lambda: [rnd(5), (rnd(5, seed=1) > 0) * 1.0], [{}]),
    ("MultiMarginLoss", lambda: [rnd(5, 4), np.array([0, 3, 1, 1, 2])],
     [{}, {"p": 2}, {"margin": 0.4}, {"p": 2, "margin": 2.0}]),
    ("MultiMarginLoss", lambda: [rnd(4), np.array(2)], [{}, {"p": 2}]),
    ("MultiMarginLoss", lambda: [rnd(4), np.array([1])], [{}]),
    ("MultiLabelMarginLoss", lambda: [rnd(5, 4), mlm_target(5, 4)], [{}]),
    ("MultiLabelMarginLoss", lambda: [rnd(4), np.array([2, 0, -1, 1])], [{}]),
    ("MultiLabelMarginLoss", lambda: [rnd(3, 3), np.array([[1, 1, -1], [0, 1, 2], [-1, 0, 0]])],
     [{}]),  # a repeated target counts twice, as in torch
]
_PARAMS = [(n, mk, dict(kw, reduction=r)) for n, mk, kws in CASES for kw in kws
           for r in REDUCTIONS]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, make, kw", _PARAMS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(_PARAMS)])
def test_loss_against_torch(device, dtype, name, make, kw):
    compare(name, make(), kw, device, dtype, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4, 1), (4,), (1, 3)], ids=str)
def test_gaussian_nll(device, dtype, reduction, full, var_shape):
    x, t = rnd(4, 3), rnd(4, 3, seed=1)
    var = np.abs(rnd(*var_shape, seed=2)) + 0.05
    compare("GaussianNLLLoss", [x, t, var], {"full": full, "reduction": reduction}, device,
            dtype, scale=10)


def test_gaussian_nll_clamps_var_without_blocking_its_gradient(device):
    """A variance below eps is clamped to eps, and its gradient still flows (torch clamps a
    copy in place under no_grad); a float variance works too."""
    x, t = rnd(2, 3), rnd(2, 3, seed=1)
    var = np.array([[1e-9, 0.5, 2.0], [0.0, 1e-3, 1.0]])
    compare("gaussian_nll_loss", [x, t, var], {"eps": 1e-2}, device, gpuarr.float64,
            functional=True)
    compare("gaussian_nll_loss", [x, t, 0.7], {"full": True}, device, gpuarr.float64,
            functional=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_losses(device, reduction):
    w = np.array([0.5, 2.0, 1.0, 0.1])
    for name, arrays, kw in [
        ("MultiMarginLoss", [rnd(5, 4), np.array([0, 3, 1, 1, 2])], {}),
        ("MultiMarginLoss", [rnd(5, 4), np.array([0, 3, 1, 1, 2])], {"p": 2}),
        ("MultiLabelSoftMarginLoss", [rnd(5, 4), (rnd(5, 4, seed=1) > 0) * 1.0], {}),
    ]:
        for dtype in DTYPES:
            g = gpuarr.tensor(w.astype(NP_DT[dtype]), device=device)
            t = torch.tensor(w.astype(NP_DT[dtype]))
            gl = getattr(nn, name)(weight=g, reduction=reduction, **kw)
            tl = getattr(torch.nn, name)(weight=t, reduction=reduction, **kw)
            gi, ti = convert(arrays, device, dtype)
            np.testing.assert_allclose(to_np(gl(*gi)), tl(*ti).detach().numpy(), **TOL[dtype])
            assert "weight" in dict(gl.named_buffers())


def test_triplet_with_custom_distance(device):
    """A Python distance function, and a Module one (which becomes a submodule)."""
    arrays = [rnd(4, 3), rnd(4, 3, seed=1), rnd(4, 3, seed=2)]

    def cos_g(a, b):
        return 1 - F.cosine_similarity(a, b)

    def cos_t(a, b):
        return 1 - TF.cosine_similarity(a, b)

    for swap in (False, True):
        g, t = convert(arrays, device, gpuarr.float64)
        gl = nn.TripletMarginWithDistanceLoss(distance_function=cos_g, swap=swap, margin=0.5)
        tl = torch.nn.TripletMarginWithDistanceLoss(distance_function=cos_t, swap=swap,
                                                    margin=0.5)
        gout, tout = gl(*g), tl(*t)
        np.testing.assert_allclose(to_np(gout), tout.detach().numpy(), rtol=1e-10)
        gout.backward()
        tout.backward()
        for a, b in zip(g, t):
            np.testing.assert_allclose(to_np(a.grad), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    gm = nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(p=1))
    tm = torch.nn.TripletMarginWithDistanceLoss(distance_function=torch.nn.PairwiseDistance(p=1))
    assert repr(gm) == repr(tm)
    g, t = convert(arrays, device, gpuarr.float64)
    np.testing.assert_allclose(to_np(gm(*g)), tm(*t).detach().numpy(), rtol=1e-10)


EMPTY = [
    ("margin_ranking_loss", lambda: [np.zeros(0), np.zeros(0), np.zeros(0)]),
    ("hinge_embedding_loss", lambda: [np.zeros((0, 3)), np.zeros((0, 3))]),
    ("cosine_embedding_loss", lambda: [np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)]),
    ("triplet_margin_loss", lambda: [np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3))]),
    ("poisson_nll_loss", lambda: [np.zeros((0, 3)), np.zeros((0, 3))]),
    ("gaussian_nll_loss", lambda: [np.zeros((0, 3)), np.zeros((0, 3)), np.ones((0, 3))]),
    ("multilabel_soft_margin_loss", lambda: [np.zeros((0, 3)), np.zeros((0, 3))]),
    ("multi_margin_loss", lambda: [np.zeros((0, 3)), np.zeros(0, np.int64)]),
    ("multilabel_margin_loss", lambda: [np.zeros((0, 3)), np.zeros((0, 3), np.int64)]),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, make", EMPTY, ids=[e[0] for e in EMPTY])
def test_empty_batch(device, name, make, reduction):
    """No samples: torch's mean is nan for most losses but 0 for the multi-class margin ones."""
    g, t = convert(make(), device, gpuarr.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gout = getattr(F, name)(*g, reduction=reduction)
        tout = getattr(TF, name)(*t, reduction=reduction)
    assert tuple(gout.shape) == tuple(tout.shape)
    if name in ("multi_margin_loss", "multilabel_margin_loss") and reduction != "none":
        # torch returns an uninitialized scalar here (0 or a denormal): ours is exactly 0
        assert float(gout) == 0.0
        return
    np.testing.assert_allclose(to_np(gout), tout.detach().numpy(), equal_nan=True)


def test_zero_dim_class_inputs(device):
    """A 0-d score: one class, which is the target, so the loss is 0."""
    for name in ("multi_margin_loss", "multilabel_margin_loss"):
        g, t = convert([np.array(1.5), np.array(0)], device, gpuarr.float64)
        gout = getattr(F, name)(*g, reduction="none")
        tout = getattr(TF, name)(*t, reduction="none")
        assert tuple(gout.shape) == tuple(tout.shape)
        np.testing.assert_allclose(to_np(gout), tout.detach().numpy())


def test_mixed_dtypes_promote(device):
    """A float32 target with a float64 input gives a float64 loss (and the reverse), as
    torch's."""
    for name, arrays in [("margin_ranking_loss", [rnd(3), rnd(3, seed=1), signs(3)]),
                         ("hinge_embedding_loss", [rnd(3), signs(3)]),
                         ("poisson_nll_loss", [rnd(3), np.abs(rnd(3, seed=1))])]:
        g = [gpuarr.tensor(a, device=device) for a in arrays]
        t = [torch.tensor(a) for a in arrays]
        g[-1], t[-1] = g[-1].float(), t[-1].float()
        gout, tout = getattr(F, name)(*g), getattr(TF, name)(*t)
        assert str(gout.dtype).split(".")[-1] == str(tout.dtype).split(".")[-1]
        np.testing.assert_allclose(to_np(gout), tout.numpy(), rtol=1e-6)


GRAD_CASES = [
    ("margin_ranking_loss", lambda: [rnd(5), rnd(5, seed=1), signs(5)], {"margin": 0.1}),
    ("hinge_embedding_loss", lambda: [rnd(4, 3), signs(4, 3)], {"margin": 0.5}),
    ("cosine_embedding_loss", lambda: [rnd(4, 3), rnd(4, 3, seed=1), signs(4)],
     {"margin": 0.1}),
    ("triplet_margin_loss", lambda: [rnd(4, 3), rnd(4, 3, seed=1), rnd(4, 3, seed=2)],
     {"margin": 2.0, "swap": True}),
    ("triplet_margin_with_distance_loss",
     lambda: [rnd(4, 3), rnd(4, 3, seed=1), rnd(4, 3, seed=2)], {"margin": 2.0}),
    ("poisson_nll_loss", lambda: [rnd(4, 3), np.abs(rnd(4, 3, seed=1)) * 3], {"full": True}),
    ("poisson_nll_loss", lambda: [np.abs(rnd(4, 3)) + 0.5, np.abs(rnd(4, 3, seed=1)) * 3],
     {"log_input": False}),
    ("gaussian_nll_loss", lambda: [rnd(4, 3), rnd(4, 3, seed=1), np.abs(rnd(4, 1)) + 0.2],
     {"full": True}),
    ("multilabel_soft_margin_loss", lambda: [rnd(4, 3), np.abs(rnd(4, 3, seed=1)) % 1], {}),
    ("multi_margin_loss", lambda: [rnd(4, 3), np.array([0, 2, 1, 1])], {"p": 2}),
    ("multi_margin_loss", lambda: [rnd(4, 3), np.array([0, 2, 1, 1])], {"margin": 0.5}),
    ("multilabel_margin_loss", lambda: [rnd(4, 3), mlm_target(4, 3)], {}),
]


@pytest.mark.parametrize("name, make, kw", GRAD_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_CASES)])
def test_gradcheck(device, name, make, kw):
    """First and second derivatives in float64 against finite differences (every input that
    is a float, the target included where it is one)."""
    g = [gpuarr.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in make()]
    fn = getattr(F, name)
    for red in ("sum", "none"):
        def f(*args, red=red):
            return fn(*args, reduction=red, **kw)
        assert gradcheck(f, tuple(g))
        assert gradgradcheck(f, tuple(g))


def test_legacy_reduction_arguments():
    x, y, s = gpuarr.tensor(rnd(4)), gpuarr.tensor(rnd(4, seed=1)), gpuarr.tensor(signs(4))
    tx, ty, ts = torch.tensor(rnd(4)), torch.tensor(rnd(4, seed=1)), torch.tensor(signs(4))
    for legacy in ({"size_average": False}, {"reduce": False}, {"size_average": True}):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            got = F.margin_ranking_loss(x, y, s, **legacy)
            m = nn.HingeEmbeddingLoss(**legacy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = TF.margin_ranking_loss(tx, ty, ts, **legacy)
            tm = torch.nn.HingeEmbeddingLoss(**legacy)
        np.testing.assert_allclose(to_np(got), want.numpy())
        assert m.reduction == tm.reduction
        # the legacy flags override even an invalid reduction
        x2, tx2 = x.reshape(2, 2), tx.reshape(2, 2)
        with pytest.warns(UserWarning):
            got = F.multilabel_soft_margin_loss(x2, (x2 > 0).double(), reduction="bad", **legacy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = TF.multilabel_soft_margin_loss(tx2, (tx2 > 0).double(), reduction="bad",
                                                  **legacy)
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(to_np(got), want.numpy())


def test_module_reprs_and_attributes():
    w = gpuarr.ones(3)
    pairs = [
        (nn.MarginRankingLoss(0.5), torch.nn.MarginRankingLoss(0.5)),
        (nn.HingeEmbeddingLoss(), torch.nn.HingeEmbeddingLoss()),
        (nn.CosineEmbeddingLoss(), torch.nn.CosineEmbeddingLoss()),
        (nn.TripletMarginLoss(), torch.nn.TripletMarginLoss()),
        (nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss()),
        (nn.TripletMarginWithDistanceLoss(distance_function=lambda a, b: a),
         torch.nn.TripletMarginWithDistanceLoss(distance_function=lambda a, b: a)),
        (nn.PoissonNLLLoss(), torch.nn.PoissonNLLLoss()),
        (nn.GaussianNLLLoss(), torch.nn.GaussianNLLLoss()),
        (nn.MultiLabelSoftMarginLoss(), torch.nn.MultiLabelSoftMarginLoss()),
        (nn.MultiMarginLoss(weight=w), torch.nn.MultiMarginLoss(weight=torch.ones(3))),
        (nn.MultiLabelMarginLoss(), torch.nn.MultiLabelMarginLoss()),
    ]
    for g, t in pairs:
        assert repr(g) == repr(t)
        assert g.reduction == t.reduction == "mean"
    for g, t in [(nn.TripletMarginLoss(2.0, 1.0, 0.1, True, reduction="sum"),
                  torch.nn.TripletMarginLoss(2.0, 1.0, 0.1, True, reduction="sum")),
                 (nn.PoissonNLLLoss(False, True, eps=0.5), torch.nn.PoissonNLLLoss(False, True,
                                                                                  eps=0.5)),
                 (nn.GaussianNLLLoss(full=True, eps=0.1, reduction="none"),
                  torch.nn.GaussianNLLLoss(full=True, eps=0.1, reduction="none")),
                 (nn.MultiMarginLoss(2, 0.5), torch.nn.MultiMarginLoss(2, 0.5))]:
        for k in ("margin", "p", "eps", "swap", "log_input", "full", "reduction"):
            assert getattr(g, k, None) == getattr(t, k, None), k
    assert nn.MultiMarginLoss(weight=w).weight is w


ERRORS = [
    (lambda M: M.nn.functional.margin_ranking_loss(M.randn(3), M.randn(3, 1), M.ones(3)),
     RuntimeError, r"margin_ranking_loss : All input tensors should have same dimension but "
                   r"got sizes: input1: (torch|gpuarr)\.Size\(\[3\]\), input2: "),
    (lambda M: M.nn.functional.margin_ranking_loss(M.randn(3), M.randn(3), M.ones(3), 0, None,
                                                   None, "avg"),
     ValueError, "avg is not a valid value for reduction"),
    (lambda M: M.nn.functional.hinge_embedding_loss(M.randn(3), M.ones(3), reduction="x"),
     ValueError, "x is not a valid value for reduction"),
    (lambda M: M.nn.functional.cosine_embedding_loss(M.randn(3, 4), M.randn(3, 4),
                                                     M.ones(3, 1)),
     RuntimeError, "0D or 1D target tensor expected, multi-target not supported"),
    (lambda M: M.nn.functional.cosine_embedding_loss(M.randn(3, 4), M.randn(3, 4), M.ones(())),
     RuntimeError, r"0D target tensor expects 1D input tensors, but found inputs with sizes "
                   r"\[3, 4\] and \[3, 4\]\."),
    (lambda M: M.nn.functional.cosine_embedding_loss(M.randn(4), M.randn(4), M.ones(3)),
     RuntimeError, r"1D target tensor expects 2D input tensors, but found inputs with sizes "
                   r"\[4\] and \[4\]\."),
    (lambda M: M.nn.functional.triplet_margin_loss(M.randn(2, 3), M.randn(2, 3), M.randn(3),
                                                   margin=0),
     ValueError, "margin must be greater than 0, got 0"),
    (lambda M: M.nn.functional.triplet_margin_loss(M.randn(2, 3), M.randn(2, 3), M.randn(3)),
     RuntimeError, "The anchor, positive, and negative tensors are expected to have the same "
                   "number of dimensions, but got: anchor 2D, positive 2D, and negative 1D"),
    (lambda M: M.nn.functional.triplet_margin_with_distance_loss(
        M.randn(3), M.randn(2, 3), M.randn(3)),
     RuntimeError, "but got: anchor 1D, positive 2D, and negative 1D inputs"),
    (lambda M: M.nn.functional.triplet_margin_with_distance_loss(
        M.randn(3), M.randn(3), M.randn(3), margin=-1.0),
     ValueError, "margin must be greater than 0, got -1.0"),
    (lambda M: M.nn.functional.triplet_margin_with_distance_loss(
        M.randn(3), M.randn(3), M.randn(3), reduction="avg"),
     ValueError, "avg is not a valid value for reduction"),
    (lambda M: M.nn.TripletMarginLoss(margin=0.0), ValueError,
     "TripletMarginLoss: expected margin to be greater than 0, got 0.0 instead"),
    (lambda M: M.nn.TripletMarginWithDistanceLoss(margin=-2), ValueError,
     "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got -2 instead"),
    (lambda M: M.nn.functional.poisson_nll_loss(M.randn(3), M.randn(3), reduction="bad"),
     ValueError, "bad is not a valid value for reduction"),
    (lambda M: M.nn.functional.gaussian_nll_loss(M.randn(3), M.randn(3), -1.0),
     ValueError, "var has negative entry/entries"),
    (lambda M: M.nn.functional.gaussian_nll_loss(M.randn(3), M.randn(3),
                                                 M.tensor([1.0, -1.0, 1.0])),
     ValueError, "var has negative entry/entries"),
    (lambda M: M.nn.functional.gaussian_nll_loss(M.randn(3, 4), M.randn(3, 4), M.ones(3, 2)),
     ValueError, "var is of incorrect size"),
    (lambda M: M.nn.functional.gaussian_nll_loss(M.randn(3, 4), M.randn(3, 4), M.ones(4)),
     ValueError, "var is of incorrect size"),
    (lambda M: M.nn.functional.gaussian_nll_loss(M.randn(3, 4), M.randn(3, 4), M.ones(3, 4),
                                                 reduction="bad"),
     ValueError, "bad is not valid"),
    (lambda M: M.nn.functional.multilabel_soft_margin_loss(M.randn(3, 4), M.ones(3, 4),
                                                           reduction="bad"),
     ValueError, "bad is not valid"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4), M.tensor([0, 1, 2]), p=3),
     ValueError, "only p == 1 and p == 2 supported"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4), M.tensor([0, 1, 2]),
                                                 weight=M.ones(2, 2)),
     ValueError, "weight must be one-dimensional"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4), M.tensor([0, 1, 2]),
                                                 weight=M.ones(3)),
     RuntimeError, r"inconsistent weight size, expected 4 but got \[3\]"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4), M.tensor([0, 1])),
     RuntimeError, r"multi_margin_loss: target tensor should be 1-D with size equal to the "
                   r"number of input samples \(batch size\). Expected target size \[3\], but "
                   r"got \[2\]. Input has shape \[3, 4\]."),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(4), M.tensor([[1]])),
     RuntimeError, r"Expected target size \[1\], but got \[1, 1\]. Input has shape \[4\]."),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 0), M.tensor([0, 0, 0])),
     RuntimeError, r"Expected non-empty vector or matrix with optional 0-dim batch size, but "
                   r"got: \[3, 0\]"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4, 2), M.tensor([0, 0, 0])),
     RuntimeError, r"optional 0-dim batch size, but got: \[3, 4, 2\]"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4), M.tensor([0.0, 1.0, 2.0])),
     RuntimeError, "expected scalar type Long but found Float"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4, dtype=M.float64),
                                                 M.tensor([0, 1, 2]), weight=M.ones(4)),
     RuntimeError, "expected scalar type Double but found Float"),
    (lambda M: M.nn.functional.multi_margin_loss(M.tensor([[1, 2]]), M.tensor([1])),
     NotImplementedError, "\"multi_margin_loss_cpu_kernel\" not implemented for 'Long'"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4), M.tensor([0, 1, 4])),
     RuntimeError, "target out of range"),
    (lambda M: M.nn.functional.multi_margin_loss(M.randn(3, 4), M.tensor([0, -1, 2])),
     RuntimeError, "target out of range"),
    (lambda M: M.nn.functional.multi_margin_loss(M.tensor(1.5), M.tensor(1)),
     RuntimeError, "target out of range"),
    (lambda M: M.nn.MultiMarginLoss(p=0), ValueError, "only p == 1 and p == 2 supported"),
    (lambda M: M.nn.MultiMarginLoss(weight=M.ones(2, 2)), ValueError,
     "MultiMarginLoss: expected weight to be None or 1D tensor, got 2D instead"),
    (lambda M: M.nn.functional.multilabel_margin_loss(M.randn(3, 4),
                                                      M.zeros(3, 3, dtype=M.int64)),
     RuntimeError, r"inconsistent target size: \[3, 3\] for input of size: \[3, 4\]"),
    (lambda M: M.nn.functional.multilabel_margin_loss(M.randn(4), M.zeros(1, 4, dtype=M.int64)),
     RuntimeError, r"inconsistent target size: \[1, 4\] for input of size: \[4\]"),
    (lambda M: M.nn.functional.multilabel_margin_loss(M.randn(3, 4), M.zeros(3, 4)),
     RuntimeError, "expected scalar type Long but found Float"),
    (lambda M: M.nn.functional.multilabel_margin_loss(M.randn(3, 4),
                                                      M.zeros(3, 4, dtype=M.int32)),
     RuntimeError, "expected scalar type Long but found Int"),
    (lambda M: M.nn.functional.multilabel_margin_loss(M.zeros(1, 2, dtype=M.int64),
                                                      M.zeros(1, 2, dtype=M.int64)),
     NotImplementedError,
     "\"multilabel_margin_loss_forward_out_frame\" not implemented for 'Long'"),
    (lambda M: M.nn.functional.multilabel_margin_loss(M.randn(2, 3), M.tensor([[0, 3, -1],
                                                                               [0, 1, 2]])),
     RuntimeError, "argument #2 'target' is out of range"),
    # every entry is checked, those after the terminating -1 included
    (lambda M: M.nn.functional.multilabel_margin_loss(M.randn(2, 3), M.tensor([[0, -1, -2],
                                                                               [0, 1, 2]])),
     RuntimeError, "argument #2 'target' is out of range"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    make, exc, msg = ERRORS[case]
    with pytest.raises(exc, match=msg):
        make(torch)
    with pytest.raises(exc, match=msg):
        make(gpuarr)


def test_non_tensor_arguments():
    with pytest.raises(TypeError, match=r"margin_ranking_loss\(\): argument 'target'"):
        F.margin_ranking_loss(gpuarr.randn(3), gpuarr.randn(3), 1.0)
    with pytest.raises(TypeError, match=r"multi_margin_loss\(\): argument 'target'"):
        F.multi_margin_loss(gpuarr.randn(3, 2), [0, 1, 0])


def test_target_checks_on_device(device):
    """The value checks of the class-index targets run where the target lives."""
    x = gpuarr.randn(2, 3, device=device)
    with pytest.raises(RuntimeError, match="target out of range"):
        F.multi_margin_loss(x, gpuarr.tensor([0, 3], device=device))
    with pytest.raises(RuntimeError, match="argument #2 'target' is out of range"):
        F.multilabel_margin_loss(x, gpuarr.tensor([[0, -1, 3], [0, 1, 2]], device=device))
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(x, x, gpuarr.tensor([[1.0], [-1.0]], device=device))


def test_full_poisson_term_is_masked_at_small_targets(device):
    """Stirling's term is added only where target > 1 (0 and 1 give 0, no nan from log 0)."""
    x = gpuarr.tensor([0.3, -0.2, 0.5, 1.0], device=device)
    t = gpuarr.tensor([0.0, 1.0, 2.0, 7.0], device=device)
    got = F.poisson_nll_loss(x, t, full=True, reduction="none")
    want = TF.poisson_nll_loss(torch.tensor([0.3, -0.2, 0.5, 1.0]),
                               torch.tensor([0.0, 1.0, 2.0, 7.0]), full=True, reduction="none")
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-6)
    assert not np.isnan(to_np(got)).any()
    assert math.isfinite(float(got.sum()))
