"""torch's top-level names that gpuarr adds in gpuarr/_torch_aliases.py and
gpuarr/ops/tensor_info.py: functional ops under torch's ATen signatures, constants, predicates,
the default device, memory formats, window functions and Tensor's storage facts, each compared
with torch."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from device_helpers import resolved

import gpuarr


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def raises_like(tfn, gfn):
    """``gfn`` raises what ``tfn`` raises in torch: the same type and message."""
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(type(te.value), match="^" + re.escape(str(te.value)) + "$"):
        gfn()


class Lib:
    """Builds inputs for one library (torch on the CPU, or gpuarr on ``device``) from NumPy
    arrays, so that one case function runs against both."""

    def __init__(self, mod, device="cpu"):
        self.mod, self.device = mod, device
        self.made = []

    def t(self, a, rg=False):
        a = np.asarray(a)
        if self.mod is torch:
            x = torch.tensor(a, requires_grad=rg)
        else:
            x = gpuarr.tensor(a, device=self.device, requires_grad=rg)
        if rg:
            self.made.append(x)
        return x


def _r(*shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed + len(shape)).uniform(lo, hi, shape)


# name -> function (lib) -> output; torch's top-level signature, inputs float64
CASES = {
    "conv1d": lambda L: L.mod.conv1d(L.t(_r(2, 3, 7), True), L.t(_r(4, 3, 3), True),
                                     L.t(_r(4), True), 2, 1, 1, 1),
    "conv1d_same": lambda L: L.mod.conv1d(L.t(_r(2, 3, 7), True), L.t(_r(4, 3, 3), True), None,
                                          1, "same"),
    "conv2d": lambda L: L.mod.conv2d(L.t(_r(1, 2, 5, 5), True), L.t(_r(4, 1, 3, 3), True), None,
                                     1, 0, 1, 2),
    "conv3d": lambda L: L.mod.conv3d(L.t(_r(1, 2, 4, 4, 4), True),
                                     L.t(_r(3, 2, 2, 2, 2), True)),
    "conv_transpose1d": lambda L: L.mod.conv_transpose1d(
        L.t(_r(2, 3, 5), True), L.t(_r(3, 2, 3), True), L.t(_r(2), True), 2, 1, 1),
    "conv_transpose2d": lambda L: L.mod.conv_transpose2d(
        L.t(_r(1, 2, 4, 4), True), L.t(_r(2, 3, 3, 3), True), None, 1, 0, 0, 1, 1),
    "convolution": lambda L: L.mod.convolution(
        L.t(_r(1, 2, 5, 5), True), L.t(_r(3, 2, 3, 3), True), L.t(_r(3), True), [1, 1],
        [1, 1], [1, 1], False, [0, 0], 1),
    "convolution_t": lambda L: L.mod.convolution(
        L.t(_r(1, 2, 5), True), L.t(_r(2, 3, 3), True), None, [2], [1], [1], True, [1], 1),
    "convolution_3d": lambda L: L.mod.convolution(
        L.t(_r(1, 2, 3, 3, 3), True), L.t(_r(2, 2, 2, 2, 2), True), None, [1, 1, 1],
        [0, 0, 0], [1, 1, 1], False, [0, 0, 0], 1),
    "max_pool1d": lambda L: L.mod.max_pool1d(L.t(_r(2, 3, 8), True), 3),
    "max_pool1d_args": lambda L: L.mod.max_pool1d(L.t(_r(2, 3, 8), True), 2, 1, 1, 2, True),
    "max_pool2d": lambda L: L.mod.max_pool2d(L.t(_r(1, 2, 6, 6), True), 2, [], 1),
    "max_pool3d": lambda L: L.mod.max_pool3d(L.t(_r(1, 1, 4, 4, 4), True), 2),
    "avg_pool1d": lambda L: L.mod.avg_pool1d(L.t(_r(2, 3, 7), True), 3, 2, 1, True, False),
    "adaptive_avg_pool1d": lambda L: L.mod.adaptive_avg_pool1d(L.t(_r(2, 3, 7), True), 3),
    "adaptive_max_pool1d": lambda L: L.mod.adaptive_max_pool1d(L.t(_r(2, 3, 7), True), 3),
    "batch_norm_train": lambda L: L.mod.batch_norm(
        L.t(_r(4, 3, 2), True), L.t(_r(3), True), L.t(_r(3), True), L.t(np.zeros(3)),
        L.t(np.ones(3)), True, 0.1, 1e-5, True),
    "batch_norm_eval": lambda L: L.mod.batch_norm(
        L.t(_r(4, 3), True), None, None, L.t(_r(3)), L.t(_r(3, lo=0.5, hi=2)), False, 0.1,
        1e-3, False),
    "batch_norm_nostats": lambda L: L.mod.batch_norm(
        L.t(_r(4, 3, 2), True), None, None, None, None, True, 0.1, 1e-5, False),
    "layer_norm": lambda L: L.mod.layer_norm(L.t(_r(2, 3, 4), True), [3, 4],
                                             L.t(_r(3, 4), True), L.t(_r(3, 4), True), 1e-3),
    "layer_norm_default": lambda L: L.mod.layer_norm(L.t(_r(2, 5), True), (5,)),
    "group_norm": lambda L: L.mod.group_norm(L.t(_r(2, 4, 3), True), 2, L.t(_r(4), True),
                                             L.t(_r(4), True), 1e-4, False),
    "instance_norm": lambda L: L.mod.instance_norm(
        L.t(_r(2, 3, 5), True), L.t(_r(3), True), L.t(_r(3), True), None, None, True, 0.1, 1e-5,
        False),
    "rms_norm": lambda L: L.mod.rms_norm(L.t(_r(2, 3, 4), True), [4], L.t(_r(4), True), 1e-4),
    "rms_norm_default": lambda L: L.mod.rms_norm(L.t(_r(2, 3), True), (3,)),
    "embedding": lambda L: L.mod.embedding(L.t(_r(5, 3), True), L.t(np.array([[0, 4], [2, 2]]))),
    "embedding_pad": lambda L: L.mod.embedding(L.t(_r(5, 3), True),
                                               L.t(np.array([1, 3, 1, 0])), 1),
    "bilinear": lambda L: L.mod.bilinear(L.t(_r(4, 2), True), L.t(_r(4, 3), True),
                                         L.t(_r(5, 2, 3), True), L.t(_r(5), True)),
    "celu": lambda L: L.mod.celu(L.t(_r(3, 4, lo=-3, hi=3), True), 0.7),
    "selu": lambda L: L.mod.selu(L.t(_r(3, 4, lo=-3, hi=3), True)),
    "threshold": lambda L: L.mod.threshold(L.t(_r(3, 4), True), 0.1, -2.0),
    "rrelu_eval": lambda L: L.mod.rrelu(L.t(_r(3, 4), True), 0.1, 0.3),
    "rrelu_default": lambda L: L.mod.rrelu(L.t(_r(3, 4), True)),
    "hardshrink": lambda L: L.mod.hardshrink(L.t(_r(3, 4), True), 0.3),
    "hardshrink_default": lambda L: L.mod.hardshrink(L.t(_r(3, 4), True)),
    "prelu": lambda L: L.mod.prelu(L.t(_r(2, 3, 4), True), L.t(_r(3), True)),
    "pixel_shuffle": lambda L: L.mod.pixel_shuffle(L.t(_r(1, 8, 2, 3), True), 2),
    "pixel_unshuffle": lambda L: L.mod.pixel_unshuffle(L.t(_r(1, 2, 4, 6), True), 2),
    "channel_shuffle": lambda L: L.mod.channel_shuffle(L.t(_r(1, 6, 2), True), 3),
    "native_channel_shuffle": lambda L: L.mod.native_channel_shuffle(L.t(_r(2, 4, 3)), 2),
    "cosine_similarity": lambda L: L.mod.cosine_similarity(L.t(_r(3, 4), True),
                                                           L.t(_r(1, 4), True), 1, 1e-6),
    "pairwise_distance": lambda L: L.mod.pairwise_distance(
        L.t(_r(3, 4), True), L.t(_r(3, 4, seed=7), True), 1.5, 1e-6, True),
    "pdist": lambda L: L.mod.pdist(L.t(_r(4, 3), True), 3.0),
    "kl_div": lambda L: L.mod.kl_div(L.t(_r(3, 4), True), L.t(_r(3, 4, lo=0.1, hi=1), True)),
    "kl_div_sum_log": lambda L: L.mod.kl_div(L.t(_r(3, 4), True), L.t(_r(3, 4), True), 2,
                                             log_target=True),
    "kl_div_none": lambda L: L.mod.kl_div(L.t(_r(3, 4), True),
                                          L.t(_r(3, 4, lo=0.1, hi=1), True), 0),
    "margin_ranking_loss": lambda L: L.mod.margin_ranking_loss(
        L.t(_r(5), True), L.t(_r(5, seed=3), True), L.t(np.array([1., -1, 1, -1, 1])), 0.2, 2),
    "hinge_embedding_loss": lambda L: L.mod.hinge_embedding_loss(
        L.t(_r(2, 3), True), L.t(np.array([[1., -1, 1], [-1, -1, 1]])), 0.5, 0),
    "cosine_embedding_loss": lambda L: L.mod.cosine_embedding_loss(
        L.t(_r(3, 4), True), L.t(_r(3, 4, seed=5), True), L.t(np.array([1., -1, 1])), 0.1),
    "triplet_margin_loss": lambda L: L.mod.triplet_margin_loss(
        L.t(_r(3, 4), True), L.t(_r(3, 4, seed=1), True), L.t(_r(3, 4, seed=2), True), 0.5, 2.0,
        1e-6, True, 2),
    "poisson_nll_loss": lambda L: L.mod.poisson_nll_loss(
        L.t(_r(3, 4), True), L.t(_r(3, 4, lo=0, hi=3)), True, True, 1e-8, 1),
    "poisson_nll_loss_nolog": lambda L: L.mod.poisson_nll_loss(
        L.t(_r(3, 4, lo=0.1, hi=2), True), L.t(_r(3, 4, lo=0, hi=3)), False, False, 1e-6, 0),
    "bce_with_logits": lambda L: L.mod.binary_cross_entropy_with_logits(
        L.t(_r(3, 4, lo=-3, hi=3), True), L.t(_r(3, 4, lo=0, hi=1))),
    "bce_with_logits_w": lambda L: L.mod.binary_cross_entropy_with_logits(
        L.t(_r(3, 4, lo=-3, hi=3), True), L.t(_r(3, 4, lo=0, hi=1)), L.t(_r(4, lo=0, hi=1)),
        L.t(_r(4, lo=0.5, hi=2)), 2),
    "constant_pad_nd": lambda L: L.mod.constant_pad_nd(L.t(_r(2, 3, 4), True), [1, 2, -1, 1],
                                                       0.5),
    "constant_pad_nd_default": lambda L: L.mod.constant_pad_nd(L.t(_r(3), True), (2, 0)),
}


def _outs(r):
    return list(r) if isinstance(r, tuple) else [r]


@pytest.mark.parametrize("case", sorted(CASES))
def test_functional_alias_matches_torch(case, device):
    """Values, dtypes, shapes and gradients of gpuarr.<op> under torch's top-level signature."""
    tl, gl = Lib(torch), Lib(gpuarr, device)
    tout, gout = _outs(CASES[case](tl)), _outs(CASES[case](gl))
    assert len(tout) == len(gout)
    for t, g in zip(tout, gout):
        assert g.device == resolved(device)
        assert str(g.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert tuple(g.shape) == tuple(t.shape)
        np.testing.assert_allclose(to_np(g), t.detach().numpy(), rtol=1e-9, atol=1e-10)
    t0, g0 = tout[0], gout[0]
    if not t0.requires_grad:  # torch has no derivative (native_channel_shuffle)
        return
    up = _r(*t0.shape, seed=11)
    torch.autograd.backward(t0, torch.tensor(up))
    g0.backward(gpuarr.tensor(up, device=device))
    for tx, gx in zip(tl.made, gl.made):
        assert (gx.grad is None) == (tx.grad is None)
        if tx.grad is not None:
            np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), rtol=1e-8, atol=1e-10)


class Replay(Lib):
    """A gpuarr Lib whose differentiable inputs are given tensors, in the order the case makes
    them: lets gradcheck vary them."""

    def __init__(self, device, provided):
        super().__init__(gpuarr, device)
        self.it = iter(provided)

    def t(self, a, rg=False):
        return next(self.it) if rg else super().t(a)


# second derivatives are checked where the op is smooth (pooling/shrink/threshold are
# piecewise linear, their second derivative is 0 and gradgradcheck adds nothing) and cheap
GRADGRAD = {"conv1d", "conv_transpose1d", "convolution_t", "batch_norm_train", "layer_norm",
            "group_norm", "instance_norm", "rms_norm", "bilinear", "celu", "selu",
            "cosine_similarity", "pairwise_distance", "kl_div", "cosine_embedding_loss",
            "triplet_margin_loss", "poisson_nll_loss", "bce_with_logits_w", "prelu"}


# native_channel_shuffle has no derivative in torch; a padding_idx row deliberately gets no
# gradient, which is not the derivative gradcheck measures
@pytest.mark.parametrize("case", sorted(set(CASES) - {"native_channel_shuffle", "embedding_pad"}))
def test_functional_alias_gradcheck(case, device):
    made = Lib(gpuarr, device)
    CASES[case](made)
    inputs = [x.detach().requires_grad_() for x in made.made]

    def fn(*xs):
        return _outs(CASES[case](Replay(device, xs)))[0]

    assert gpuarr.autograd.gradcheck(fn, inputs)
    if case in GRADGRAD:
        assert gpuarr.autograd.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name,args", [
    ("celu", (0.5,)), ("selu", ()), ("threshold", (0.0, 3.0)), ("hardshrink", (0.2,)),
    ("prelu", None),
])
def test_gradcheck_through_aliases(name, args, device):
    x = gpuarr.tensor(_r(2, 3, lo=-2, hi=2), device=device, requires_grad=True)
    if name == "prelu":
        w = gpuarr.tensor(_r(3), device=device, requires_grad=True)
        fn, inputs = gpuarr.prelu, (x, w)
    else:
        fn, inputs = (lambda a: getattr(gpuarr, name)(a, *args)), (x,)
    assert gpuarr.autograd.gradcheck(fn, inputs)
    if name not in ("threshold", "hardshrink"):  # piecewise linear: second derivative is 0
        assert gpuarr.autograd.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["celu_", "selu_", "threshold_", "rrelu_"])
def test_inplace_activations(name, device):
    args = {"threshold_": (0.1, -2.0)}.get(name, ())
    a = _r(3, 4, lo=-2, hi=2)
    g = gpuarr.tensor(a, device=device)
    t = torch.tensor(a)
    rg = getattr(gpuarr, name)(g, *args)
    rt = getattr(torch, name)(t, *args)
    assert rg is g and rt is t
    np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-12)


def test_rrelu_training_slopes(device):
    x = gpuarr.full((2000,), -1.0, dtype=gpuarr.float64, device=device)
    y = gpuarr.rrelu(x, 0.2, 0.4, True, None)
    slopes = -to_np(y)
    assert slopes.min() >= 0.2 and slopes.max() <= 0.4 and slopes.std() > 0.03
    x2 = x.clone()
    assert gpuarr.rrelu_(x2, 0.2, 0.4, True) is x2 and (to_np(x2) < 0).all()
    with pytest.raises(TypeError):
        gpuarr.rrelu(x, 0.2, 0.4, True, 3)


def test_rrelu_generator(device):
    x = gpuarr.tensor(_r(50, lo=-2, hi=2), device=device, requires_grad=True)

    def run(fn, inp):
        return fn(inp, 0.1, 0.3, True, gpuarr.Generator(device=device).manual_seed(5))

    a, b = run(gpuarr.rrelu, x), run(gpuarr.rrelu, x)
    np.testing.assert_array_equal(to_np(a), to_np(b))  # reproducible from the generator
    v, xv = to_np(a), to_np(x)
    slopes = v[xv < 0] / xv[xv < 0]
    assert (slopes >= 0.1).all() and (slopes <= 0.3).all() and slopes.std() > 0.01
    np.testing.assert_array_equal(v[xv > 0], xv[xv > 0])
    a.sum().backward()
    g = to_np(x.grad)
    np.testing.assert_allclose(g[xv < 0], slopes)
    assert (g[xv > 0] == 1).all()
    y = x.detach().clone()
    assert run(gpuarr.rrelu_, y) is y
    np.testing.assert_array_equal(to_np(y), v)
    s = gpuarr.tensor(-1.0, device=device)  # 0-d
    assert run(gpuarr.rrelu, s).shape == ()
    raises_like(lambda: torch.rrelu(torch.ones(2), 0.5, 0.1, True, torch.Generator()),
                lambda: gpuarr.rrelu(gpuarr.ones(2, device=device), 0.5, 0.1, True,
                                     gpuarr.Generator(device=device)))
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):  # kernel names device
        gpuarr.rrelu(gpuarr.ones(2, dtype=gpuarr.long, device=device), 0.1, 0.3, True,
                     gpuarr.Generator(device=device))


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_dropout"])
def test_dropout_identity_and_errors(name, device):
    fn = getattr(gpuarr, name)
    x = gpuarr.tensor(_r(2, 3, 4), device=device)
    tx = torch.tensor(_r(2, 3, 4))
    tfn = getattr(torch, name)
    assert tfn(tx, 0.5, False) is tx and fn(x, 0.5, False) is x
    assert tfn(tx, 0.0, True) is tx and fn(x, 0.0, True) is x
    raises_like(lambda: tfn(tx, 1.5, True), lambda: fn(x, 1.5, True))
    raises_like(lambda: tfn(tx, -0.1, False), lambda: fn(x, -0.1, False))
    ti = torch.ones(3, 4, dtype=torch.long)
    raises_like(lambda: tfn(ti, 0.5, True), lambda: fn(gpuarr.ones(3, 4, dtype=gpuarr.long,
                                                                   device=device), 0.5, True))
    with pytest.raises(TypeError):
        fn(x, 0.5)  # train has no default in torch
    # p == 1 zeroes everything, keeping the dtype
    z = fn(x, 1.0, True)
    assert z.dtype == x.dtype and (to_np(z) == 0).all() if name != "alpha_dropout" else True


def test_dropout_statistics_and_grad(device):
    x = gpuarr.ones(200, 50, dtype=gpuarr.float64, device=device, requires_grad=True)
    y = gpuarr.dropout(x, 0.3, True)
    v = to_np(y)
    assert set(np.unique(v)) <= {0.0, 1 / 0.7}
    assert abs((v == 0).mean() - 0.3) < 0.03
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), v)
    a = gpuarr.ones(200, 50, device=device)
    assert gpuarr.dropout_(a, 0.3, True) is a and abs((to_np(a) == 0).mean() - 0.3) < 0.03
    b = gpuarr.randn(200, 50, dtype=gpuarr.float64, device=device)
    assert gpuarr.alpha_dropout_(b, 0.2, True) is b


def test_feature_dropout_channels(device):
    x = gpuarr.ones(40, 30, 5, dtype=gpuarr.float64, device=device, requires_grad=True)
    y = gpuarr.feature_dropout(x, 0.4, True)
    v = to_np(y)
    # whole (n, c) rows dropped together, kept ones scaled by 1 / (1 - p)
    assert (v == v[:, :, :1]).all()
    assert set(np.unique(v)) <= {0.0, 1 / 0.6}
    assert abs((v[:, :, 0] == 0).mean() - 0.4) < 0.05
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), v)
    x2 = gpuarr.ones(50, 40, device=device)  # 2-d: one draw per element
    assert gpuarr.feature_dropout_(x2, 0.5, True) is x2
    assert 0.35 < (to_np(x2) == 0).mean() < 0.65
    raises_like(lambda: torch.feature_dropout(torch.ones(3), 0.5, True),
                lambda: gpuarr.feature_dropout(gpuarr.ones(3, device=device), 0.5, True))


def test_functional_alias_errors(device):
    x = gpuarr.ones(2, 3, device=device)
    tx = torch.ones(2, 3)
    raises_like(lambda: torch.batch_norm(tx, None, None, None, None, False, 0.1, 1e-5, True),
                lambda: gpuarr.batch_norm(x, None, None, None, None, False, 0.1, 1e-5, True))
    with pytest.raises(ValueError, match="reduction"):
        gpuarr.kl_div(x, x, 3)
    with pytest.raises(TypeError):
        gpuarr.batch_norm(x, None, None, None, None, True)  # no defaults in torch
    with pytest.raises(TypeError):
        gpuarr.poisson_nll_loss(x, x)
    with pytest.raises(RuntimeError, match="weight"):
        gpuarr.convolution(x, x, None, [1], [0], [1], False, [0], 1)


def test_empty_and_zero_dim_inputs(device):
    e = gpuarr.zeros(0, 3, dtype=gpuarr.float64, device=device)
    te = torch.zeros(0, 3, dtype=torch.float64)
    for name, args in [("celu", ()), ("selu", ()), ("hardshrink", ()), ("threshold", (0., 1.))]:
        assert tuple(getattr(gpuarr, name)(e, *args).shape) == tuple(
            getattr(torch, name)(te, *args).shape)
        s = gpuarr.tensor(-0.7, dtype=gpuarr.float64, device=device)
        ts = torch.tensor(-0.7, dtype=torch.float64)
        np.testing.assert_allclose(to_np(getattr(gpuarr, name)(s, *args)),
                                   getattr(torch, name)(ts, *args).numpy())
    assert gpuarr.dropout(e, 0.5, True).shape == (0, 3)
    assert gpuarr.constant_pad_nd(e, [1, 1]).shape == torch.constant_pad_nd(te, [1, 1]).shape


# ------------------------------------------------------------------------------------------
# constants, predicates and torch-level helpers


def test_constants():
    for name in ["pi", "e", "inf"]:
        assert getattr(gpuarr, name) == getattr(torch, name)
    assert np.isnan(gpuarr.nan) and gpuarr.newaxis is None is torch.newaxis
    x = gpuarr.ones(3)
    assert x[gpuarr.newaxis].shape == (1, 3)


DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool"]


@pytest.mark.parametrize("dt", DTYPES)
def test_dtype_predicates(dt, device):
    if dt == "bfloat16" and device != "cpu":
        pytest.skip("CuPy has no bfloat16")
    g = gpuarr.zeros(2, dtype=getattr(gpuarr, dt), device=device)
    t = torch.zeros(2, dtype=getattr(torch, dt))
    for name in ["is_floating_point", "is_complex", "is_signed", "is_conj", "is_neg",
                 "is_inference"]:
        assert getattr(gpuarr, name)(g) == getattr(torch, name)(t), name
        assert getattr(g, name)() == getattr(t, name)(), name


@pytest.mark.parametrize("name", ["is_floating_point", "is_complex", "is_nonzero", "is_signed",
                                  "is_conj", "is_neg", "is_inference", "get_device", "detach",
                                  "conj", "resolve_conj", "resolve_neg"])
def test_predicates_reject_non_tensors(name):
    raises_like(lambda: getattr(torch, name)(3), lambda: getattr(gpuarr, name)(3))


def test_is_nonzero(device):
    for v in [[0.0], [2.5], [[True]], [False], 0, 7]:
        dt = None if not isinstance(v, int) else gpuarr.int64
        g = gpuarr.tensor(v, dtype=dt, device=device)
        assert gpuarr.is_nonzero(g) is torch.is_nonzero(torch.tensor(v))
        assert g.is_nonzero() is torch.is_nonzero(torch.tensor(v))
    assert gpuarr.is_nonzero(gpuarr.tensor(float("nan"), device=device))
    for shape in [(2,), (0,), (2, 2)]:
        t, g = torch.ones(shape), gpuarr.ones(shape, device=device)
        raises_like(lambda t=t: torch.is_nonzero(t), lambda g=g: gpuarr.is_nonzero(g))
        raises_like(lambda t=t: t.is_nonzero(), lambda g=g: g.is_nonzero())


def test_is_same_size(device):
    a, b = gpuarr.ones(2, 3, device=device), gpuarr.zeros(2, 3, device=device)
    assert gpuarr.is_same_size(a, b) and a.is_same_size(b)
    assert not gpuarr.is_same_size(a, b.t()) and not a.is_same_size(gpuarr.ones(6))
    assert gpuarr.is_same_size(gpuarr.ones((), device=device), gpuarr.zeros(()))
    raises_like(lambda: torch.is_same_size(torch.ones(2), 3),
                lambda: gpuarr.is_same_size(a, 3))


def test_detach_fill_zero(device):
    x = gpuarr.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    y = x * 2
    d = gpuarr.detach(y)
    assert not d.requires_grad and d.data_ptr() == y.data_ptr()
    assert gpuarr.detach_(y) is y and y.grad_fn is None and not y.requires_grad
    z = gpuarr.ones(3, device=device)
    assert gpuarr.fill_(z, 4) is z and to_np(z).tolist() == [4.0] * 3
    assert gpuarr.zero_(z) is z and to_np(z).tolist() == [0.0] * 3


@pytest.mark.parametrize("value", [2.5, "tensor"])
def test_fill_matches_torch(value, device):
    a = _r(2, 3)
    tx = torch.tensor(a, requires_grad=True)
    gx = gpuarr.tensor(a, device=device, requires_grad=True)
    if value == "tensor":
        tv = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
        gv = gpuarr.tensor(1.5, dtype=gpuarr.float64, device=device, requires_grad=True)
    else:
        tv = gv = value
    t, g = torch.fill(tx * 1, tv), gpuarr.fill(gx * 1, gv)
    np.testing.assert_array_equal(to_np(g), t.detach().numpy())
    assert g.dtype == gpuarr.float64 and g.requires_grad
    up = _r(2, 3, seed=4)
    t.backward(torch.tensor(up))
    g.backward(gpuarr.tensor(up, device=device))
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy())
    if value == "tensor":
        np.testing.assert_allclose(to_np(gv.grad), tv.grad.numpy())
    gi = gpuarr.fill(gpuarr.ones(2, dtype=gpuarr.long, device=device), 2.7)
    ti = torch.fill(torch.ones(2, dtype=torch.long), 2.7)
    assert gi.dtype == gpuarr.int64 and to_np(gi).tolist() == ti.tolist()
    assert gpuarr.fill(gpuarr.ones(0, 2, device=device), 1.0).shape == (0, 2)
    raises_like(lambda: torch.fill(torch.ones(2), torch.ones(2)),
                lambda: gpuarr.fill(gpuarr.ones(2, device=device), gpuarr.ones(2, device=device)))
    raises_like(lambda: torch.fill(torch.ones(2, dtype=torch.uint8), 300),
                lambda: gpuarr.fill(gpuarr.ones(2, dtype=gpuarr.uint8, device=device), 300))
    with pytest.raises(TypeError, match="^fill"):
        gpuarr.fill(3, 1)


def test_typename_and_is_storage():
    assert gpuarr.typename(gpuarr.ones(2)) == "gpuarr.FloatTensor"
    assert gpuarr.typename(gpuarr.ones(2, dtype=gpuarr.long)) == "gpuarr.LongTensor"
    for obj in [3, "s", [1], int, np.ndarray, np.float32(1)]:
        assert gpuarr.typename(obj) == torch.typename(obj)
    assert gpuarr.typename(gpuarr.nn.Linear) == "gpuarr.nn.linear.Linear" or \
        gpuarr.typename(gpuarr.nn.Linear).startswith("gpuarr.nn.")
    assert not gpuarr.is_storage(gpuarr.ones(2)) and not gpuarr.is_storage([1, 2])


def test_warn_always_and_flush_denormal():
    assert gpuarr.is_warn_always_enabled() is False
    try:
        gpuarr.set_warn_always(True)
        assert gpuarr.is_warn_always_enabled() is True
    finally:
        gpuarr.set_warn_always(False)
    assert gpuarr.is_warn_always_enabled() is False
    assert gpuarr.set_flush_denormal(True) is False and gpuarr.set_flush_denormal(False) is False
    tiny = np.float32(1e-40)  # still a denormal: nothing was flushed
    assert to_np(gpuarr.tensor([tiny]) * 1)[0] == tiny
    with pytest.raises(TypeError):
        gpuarr.set_flush_denormal(1)


# ------------------------------------------------------------------------------------------
# default device


@pytest.fixture
def restore_default_device():
    yield
    gpuarr.set_default_device(None)


FACTORIES = {
    "tensor": lambda: gpuarr.tensor([1.0, 2.0]),
    "tensor_of_tensor": lambda: gpuarr.tensor(gpuarr.ones(2, device="cpu")),
    "as_tensor_np": lambda: gpuarr.as_tensor(np.ones(2)),
    "as_tensor_tensor": lambda: gpuarr.as_tensor(gpuarr.ones(2, device="cpu")),
    "asarray": lambda: gpuarr.asarray([1, 2]),
    "zeros": lambda: gpuarr.zeros(2, 3),
    "ones": lambda: gpuarr.ones(2),
    "empty": lambda: gpuarr.empty(2),
    "full": lambda: gpuarr.full((2,), 3.0),
    "scalar_tensor": lambda: gpuarr.scalar_tensor(1.0),
    "arange": lambda: gpuarr.arange(4),
    "range": lambda: gpuarr.range(0, 3),
    "linspace": lambda: gpuarr.linspace(0, 1, 5),
    "logspace": lambda: gpuarr.logspace(0, 1, 5),
    "eye": lambda: gpuarr.eye(3),
    "empty_strided": lambda: gpuarr.empty_strided((2, 2), (1, 2)),
    "hann_window": lambda: gpuarr.hann_window(4),
    "kaiser_window": lambda: gpuarr.kaiser_window(4),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_default_device_factories(name, device, restore_default_device):
    gpuarr.set_default_device(device)
    assert gpuarr.get_default_device() == resolved(device)
    assert FACTORIES[name]().device == resolved(device)
    # an explicit device= still wins
    assert gpuarr.zeros(2, device="cpu").device == gpuarr.device("cpu")
    gpuarr.set_default_device(None)
    assert gpuarr.get_default_device() == gpuarr.device("cpu")
    assert FACTORIES[name]().device == gpuarr.device("cpu")


def test_default_device_leaves_shared_and_like(device, restore_default_device):
    gpuarr.set_default_device(device)
    a = np.ones(3)
    assert gpuarr.from_numpy(a).device == gpuarr.device("cpu")
    assert gpuarr.frombuffer(bytearray(8), dtype=gpuarr.float32).device == gpuarr.device("cpu")
    c = gpuarr.ones(2, device="cpu")
    assert gpuarr.zeros_like(c).device == gpuarr.device("cpu")
    assert gpuarr.empty_like(c).device == gpuarr.device("cpu")


def test_default_device_is_per_thread(device, restore_default_device):
    import threading

    gpuarr.set_default_device(device)
    seen = []
    th = threading.Thread(target=lambda: seen.append(gpuarr.zeros(1).device))
    th.start()
    th.join()
    assert seen == [gpuarr.device("cpu")]
    assert gpuarr.zeros(1).device == resolved(device)


def test_default_device_torch_reference(restore_default_device):
    """torch's semantics on its 'meta' device, which gpuarr mirrors with 'cuda'."""
    torch.set_default_device("meta")
    try:
        assert torch.zeros(2).device.type == "meta"
        assert torch.from_numpy(np.ones(2)).device.type == "cpu"
        assert torch.empty_like(torch.ones(2, device="cpu")).device.type == "cpu"
        assert torch.as_tensor(torch.ones(2, device="cpu")).device.type == "meta"
    finally:
        torch.set_default_device(None)
    assert torch.get_default_device() == torch.device("cpu")


# ------------------------------------------------------------------------------------------
# empty_strided, frombuffer


@pytest.mark.parametrize("size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((0, 3), (5, 2)),
                                         ((2, 2), (0, 1)), ((), ()), ((4,), (2,))])
def test_empty_strided(size, stride, device):
    g = gpuarr.empty_strided(size, stride, dtype=gpuarr.float64, device=device)
    t = torch.empty_strided(size, stride, dtype=torch.float64)
    assert g.shape == t.shape and g.stride() == t.stride() and g.dtype == gpuarr.float64
    assert g.device == resolved(device)
    if g.numel() and 0 not in stride:
        g.copy_(gpuarr.arange(g.numel(), dtype=gpuarr.float64).view(size))
        np.testing.assert_array_equal(to_np(g).ravel(), np.arange(g.numel()))
    r = gpuarr.empty_strided(size, stride, requires_grad=True, device=device)
    assert r.requires_grad and r.is_leaf


def test_empty_strided_errors():
    raises_like(lambda: torch.empty_strided((2, 3), (1,)),
                lambda: gpuarr.empty_strided((2, 3), (1,)))
    raises_like(lambda: torch.empty_strided((2, 3), (-1, 2)),
                lambda: gpuarr.empty_strided((2, 3), (-1, 2)))


def test_frombuffer():
    b = bytearray(16)
    g = gpuarr.frombuffer(b, dtype=gpuarr.float32)
    t = torch.frombuffer(bytearray(16), dtype=torch.float32)
    assert g.shape == t.shape and g.dtype == gpuarr.float32
    g[0] = 1.0  # shares memory
    assert bytes(b[:4]) == np.float32(1.0).tobytes()
    g2 = gpuarr.frombuffer(b, dtype=gpuarr.float32, count=2, offset=4)
    assert g2.shape == (2,)
    b[4:8] = np.float32(3.5).tobytes()
    assert g2[0].item() == 3.5
    import array
    a = array.array("i", [1, 2, 3])
    assert gpuarr.frombuffer(a, dtype=gpuarr.int32).tolist() == [1, 2, 3]
    assert gpuarr.frombuffer(a, dtype=gpuarr.int32, requires_grad=False).device.type == "cpu"
    for kw in [dict(count=5), dict(offset=3), dict(offset=16), dict(offset=-1), dict(count=0)]:
        raises_like(lambda kw=kw: torch.frombuffer(bytearray(16), dtype=torch.float32, **kw),
                    lambda kw=kw: gpuarr.frombuffer(bytearray(16), dtype=gpuarr.float32, **kw))
    raises_like(lambda: torch.frombuffer(bytearray(0), dtype=torch.float32),
                lambda: gpuarr.frombuffer(bytearray(0), dtype=gpuarr.float32))
    with pytest.warns(UserWarning, match="not writable"):
        r = gpuarr.frombuffer(bytes(8), dtype=gpuarr.int32)
    assert r.tolist() == [0, 0]
    with pytest.raises(TypeError):
        gpuarr.frombuffer(b)  # dtype is required, as in torch


# ------------------------------------------------------------------------------------------
# layouts and memory formats


def test_layout_and_memory_format_objects():
    import pickle

    assert isinstance(gpuarr.strided, gpuarr.layout)
    assert repr(gpuarr.strided) == "gpuarr.strided"
    for name in ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]:
        obj = getattr(gpuarr, name)
        assert isinstance(obj, gpuarr.memory_format)
        assert repr(obj) == repr(getattr(torch, name)).replace("torch", "gpuarr")
        assert pickle.loads(pickle.dumps(obj)) is obj
    assert len({gpuarr.contiguous_format, gpuarr.channels_last, gpuarr.channels_last_3d,
                gpuarr.preserve_format}) == 4


@pytest.mark.parametrize("fmt,shape", [("channels_last", (2, 3, 4, 5)),
                                       ("channels_last_3d", (2, 3, 2, 4, 5)),
                                       ("channels_last", (2, 1, 4, 5)),
                                       ("contiguous_format", (2, 3))])
@pytest.mark.parametrize("fn", ["empty", "empty_like", "zeros_like", "ones_like", "full_like"])
def test_memory_format_factories(fmt, shape, fn, device):
    gf, tf = getattr(gpuarr, fmt), getattr(torch, fmt)
    if fn == "empty":
        g = gpuarr.empty(shape, memory_format=gf, device=device)
        t = torch.empty(shape, memory_format=tf)
    else:
        extra = (2.5,) if fn == "full_like" else ()
        g = getattr(gpuarr, fn)(gpuarr.ones(shape, device=device), *extra, memory_format=gf)
        t = getattr(torch, fn)(torch.ones(shape), *extra, memory_format=tf)
        np.testing.assert_array_equal(to_np(g), t.numpy()) if fn != "empty_like" else None
    assert g.stride() == t.stride() and g.shape == t.shape and g.device == resolved(device)
    assert gpuarr.ops.tensor_info.is_contiguous_as(g, gf) == t.is_contiguous(memory_format=tf)
    assert gpuarr.ops.tensor_info.is_contiguous_as(g, gpuarr.contiguous_format) == \
        t.is_contiguous()


def test_memory_format_errors(device):
    x = gpuarr.ones(2, 3, device=device)
    tx = torch.ones(2, 3)
    raises_like(lambda: torch.empty(2, 3, memory_format=torch.channels_last),
                lambda: gpuarr.empty(2, 3, memory_format=gpuarr.channels_last, device=device))
    raises_like(lambda: torch.empty_like(tx, memory_format=torch.channels_last_3d),
                lambda: gpuarr.empty_like(x, memory_format=gpuarr.channels_last_3d))
    raises_like(lambda: torch.empty(2, 3, memory_format=torch.preserve_format),
                lambda: gpuarr.empty(2, 3, memory_format=gpuarr.preserve_format))
    with pytest.raises(TypeError, match="memory_format"):
        gpuarr.zeros_like(x, memory_format=3)
    assert gpuarr.zeros_like(x, memory_format=gpuarr.preserve_format).is_contiguous()


def test_memory_format_accepted_by_existing_methods(device):
    """The methods that take ``memory_format=`` accept the objects (they keep row-major data)."""
    x = gpuarr.ones(2, 3, 4, 5, device=device)
    assert x.contiguous(memory_format=gpuarr.contiguous_format) is x
    assert x.clone(memory_format=gpuarr.preserve_format).shape == x.shape
    assert x.to(memory_format=gpuarr.channels_last).shape == x.shape
    m = gpuarr.nn.Conv2d(3, 4, 1)
    assert m.to(memory_format=gpuarr.channels_last) is m


# ------------------------------------------------------------------------------------------
# window functions

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_match_torch(name, n, periodic, device):
    for gdt, tdt, tol in [(gpuarr.float64, torch.float64, 1e-12), (None, None, 1e-6),
                          (gpuarr.float16, torch.float16, 2e-3)]:
        g = getattr(gpuarr, name)(n, periodic, dtype=gdt, device=device)
        t = getattr(torch, name)(n, periodic, dtype=tdt)
        assert g.shape == t.shape and str(g.dtype)[7:] == str(t.dtype)[6:]
        assert g.device == resolved(device) and g.is_contiguous()
        np.testing.assert_allclose(to_np(g).astype(np.float64), t.double().numpy(), atol=tol,
                                   rtol=tol)


def test_window_parameters(device):
    g = gpuarr.hamming_window(7, False, 0.6, 0.3, dtype=gpuarr.float64, device=device)
    t = torch.hamming_window(7, False, 0.6, 0.3, dtype=torch.float64)
    np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-12)
    for beta in [0.0, 3.0, 20.0]:
        g = gpuarr.kaiser_window(9, True, beta, dtype=gpuarr.float64, device=device)
        t = torch.kaiser_window(9, True, beta, dtype=torch.float64)
        np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-10, atol=1e-14)
    w = gpuarr.hann_window(4, requires_grad=True, device=device)
    assert w.requires_grad and w.is_leaf
    assert gpuarr.hann_window(4, layout=gpuarr.strided).layout is gpuarr.strided


@pytest.mark.parametrize("name", WINDOWS)
def test_window_errors(name):
    gfn, tfn = getattr(gpuarr, name), getattr(torch, name)
    raises_like(lambda: tfn(-1), lambda: gfn(-1))
    raises_like(lambda: tfn(2.5), lambda: gfn(2.5))
    with pytest.raises(RuntimeError, match=f"^{name} expects floating point dtypes"):
        gfn(4, dtype=gpuarr.int64)


# ------------------------------------------------------------------------------------------
# Tensor facts (gpuarr/ops/tensor_info.py)


def test_tensor_flags(device):
    g = gpuarr.ones(2, 3, device=device)
    t = torch.ones(2, 3)
    for name in ["is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_mkldnn",
                 "is_nested"]:
        assert getattr(g, name) is False is getattr(t, name)
    assert g.is_cpu is (device == "cpu") and t.is_cpu
    assert g.layout is gpuarr.strided
    assert g.get_device() == gpuarr.get_device(g) == (-1 if device == "cpu" else
                                                     resolved(device).index)
    assert torch.get_device(t) == -1
    assert g.conj() is g and g.resolve_conj() is g and g.resolve_neg() is g
    assert gpuarr.conj(g) is g and gpuarr.resolve_conj(g) is g and gpuarr.resolve_neg(g) is g
    assert not g.is_conj() and not g.is_neg() and not g.is_inference()
    with gpuarr.inference_mode():
        assert not gpuarr.ones(1).is_inference()


VIEWS = {
    "fresh": lambda x: x,
    "rows": lambda x: x[1:],
    "column": lambda x: x[:, 2],
    "transpose": lambda x: x.t(),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select_view": lambda x: x[2].view(2, 2),
    "view_of_view": lambda x: x[1:][1:, 1:],
    "diagonal": lambda x: x.diagonal(offset=1),
    "unfold": lambda x: x.flatten()[3:].unfold(0, 2, 3),
    "element": lambda x: x[2, 3],
    "expand": lambda x: x[1:2, 1:2].expand(3, 4),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_storage_offset(view, device):
    a = np.arange(12.0).reshape(3, 4)
    g = VIEWS[view](gpuarr.tensor(a, device=device))
    t = VIEWS[view](torch.tensor(a))
    assert g.storage_offset() == t.storage_offset()
    assert g.is_contiguous() == t.is_contiguous()


def test_storage_offset_after_ops(device):
    x = gpuarr.arange(10.0, device=device)
    assert (x[3:] + 1).storage_offset() == 0
    assert x[3:].clone().storage_offset() == 0
    assert x[3:].contiguous().storage_offset() == 3  # already contiguous: the same view
    assert gpuarr.empty_strided((2, 2), (1, 2), device=device).storage_offset() == 0


def test_output_nr(device):
    x = gpuarr.ones(4, device=device, requires_grad=True)
    a, b = x.split(2)
    ta, tb = torch.ones(4, requires_grad=True).split(2)
    assert (a.output_nr, b.output_nr) == (ta.output_nr, tb.output_nr) == (0, 1)
    assert x.output_nr == 0 and (x * 2).output_nr == 0


def test_is_set_to_and_sharing(device):
    x = gpuarr.ones(2, 3, device=device)
    assert x.is_set_to(x)
    assert x.is_set_to(x.view(2, 3)) is torch.ones(2, 3).is_set_to(torch.ones(2, 3).view(2, 3)) \
        or x.is_set_to(x.view(2, 3))
    assert not x.is_set_to(x.clone())
    assert not x.is_set_to(x.view(3, 2)) and not x.is_set_to(x.t())
    assert not x.is_set_to(x[1:])
    assert not gpuarr.ones(2).is_set_to(gpuarr.ones(2))
    with pytest.raises(TypeError):
        x.is_set_to(3)
    assert x.share_memory_() is x
    assert x.is_shared() is (device != "cpu")


def test_tensor_hardshrink_prelu_methods(device):
    a = _r(2, 3, 4, lo=-2, hi=2)
    g = gpuarr.tensor(a, device=device, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    np.testing.assert_allclose(to_np(g.hardshrink(0.7)), t.hardshrink(0.7).detach().numpy())
    np.testing.assert_allclose(to_np(g.hardshrink()), t.hardshrink().detach().numpy())
    w = _r(3)
    gy, ty = g.prelu(gpuarr.tensor(w, device=device)), t.prelu(torch.tensor(w))
    np.testing.assert_allclose(to_np(gy), ty.detach().numpy())
    gy.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(to_np(g.grad), t.grad.numpy())


@pytest.mark.parametrize("fmt,shape", [("channels_last", (2, 3, 4, 5)),
                                       ("channels_last_3d", (2, 3, 2, 4, 5)),
                                       ("channels_last", (2, 1, 4, 5))])
def test_memory_format_conversions(device, fmt, shape):
    """contiguous / clone / to / Module.to with a channels-last format give torch's strides,
    keep values and pass gradients through."""
    gf, tf = getattr(gpuarr, fmt), getattr(torch, fmt)
    a = np.arange(float(np.prod(shape))).reshape(shape)
    g = gpuarr.tensor(a, device=device, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    gc, tc = g.contiguous(memory_format=gf), t.contiguous(memory_format=tf)
    assert gc.stride() == tc.stride() and gc.is_contiguous(memory_format=gf)
    assert gc.is_contiguous() == tc.is_contiguous()
    assert gc.contiguous(memory_format=gf) is gc
    np.testing.assert_array_equal(gc.detach().cpu().numpy(), a)
    assert gc.clone().stride() == tc.clone().stride()
    assert gc.clone(memory_format=gpuarr.contiguous_format).stride() == \
        tc.clone(memory_format=torch.contiguous_format).stride()
    assert g.to(memory_format=gf).stride() == t.to(memory_format=tf).stride()
    assert g.clone(memory_format=gf).stride() == t.clone(memory_format=tf).stride()
    (gc * gc).sum().backward()
    (tc * tc).sum().backward()
    np.testing.assert_array_equal(g.grad.cpu().numpy(), t.grad.numpy())
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        g.contiguous(memory_format=gpuarr.preserve_format)
    with pytest.raises(TypeError, match="memory_format"):
        g.contiguous(memory_format="channels_last")
    with pytest.raises(RuntimeError, match="required rank"):
        gpuarr.ones(3, device=device).to(memory_format=gf)


def test_module_to_memory_format(device):
    gm = gpuarr.nn.Sequential(gpuarr.nn.Conv2d(3, 4, 3), gpuarr.nn.Linear(2, 2)).to(device)
    tm = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Linear(2, 2))
    w = gm[0].weight
    gm.to(memory_format=gpuarr.channels_last)
    tm.to(memory_format=torch.channels_last)
    assert gm[0].weight is w  # parameters keep their identity
    for (n, a), b in zip(gm.named_parameters(), tm.parameters(), strict=True):
        assert a.stride() == b.stride(), n
    x = gpuarr.randn(1, 3, 5, 5, device=device).contiguous(memory_format=gpuarr.channels_last)
    assert gm[0](x).shape == (1, 4, 3, 3)


def test_is_inference_mode_enabled():
    assert not gpuarr.is_inference_mode_enabled()
    with gpuarr.inference_mode():
        assert gpuarr.is_inference_mode_enabled() and not gpuarr.is_grad_enabled()
        with gpuarr.inference_mode(False):
            assert not gpuarr.is_inference_mode_enabled()
        assert gpuarr.is_inference_mode_enabled()
    assert not gpuarr.is_inference_mode_enabled() and gpuarr.is_grad_enabled()

    @gpuarr.inference_mode()
    def f():
        return gpuarr.is_inference_mode_enabled()

    assert f() and not gpuarr.is_inference_mode_enabled()


def test_more_top_level_aliases(device):
    """torch's top-level spellings of the later layers, in-place aliases, deprecated norms,
    flags and modes, against torch."""
    rng = np.random.default_rng(3)
    lp = rng.standard_normal((6, 2, 4))
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    tg, il, tl = np.array([[1, 2], [3, 1]]), np.array([6, 5]), np.array([2, 1])
    for red in (0, 1, 2):
        ours = gpuarr.ctc_loss(gpuarr.tensor(lp, device=device), gpuarr.tensor(tg, device=device),
                               gpuarr.tensor(il), gpuarr.tensor(tl), 0, red)
        ref = torch.ctc_loss(torch.tensor(lp), torch.tensor(tg), torch.tensor(il),
                             torch.tensor(tl), 0, red)
        np.testing.assert_allclose(to_np(ours), ref.numpy(), rtol=1e-10)
    x = rng.standard_normal((1, 2, 7))
    ov, oi = gpuarr.max_pool1d_with_indices(gpuarr.tensor(x, device=device), 2)
    tv, ti_ = torch.max_pool1d_with_indices(torch.tensor(x), 2)
    np.testing.assert_array_equal(to_np(ov), tv.numpy())
    np.testing.assert_array_equal(to_np(oi), ti_.numpy())
    w = rng.standard_normal((3, 2, 2, 2, 2))
    xi = rng.standard_normal((1, 3, 3, 3, 3))
    np.testing.assert_allclose(
        to_np(gpuarr.conv_transpose3d(gpuarr.tensor(xi, device=device),
                                      gpuarr.tensor(w, device=device), stride=2)),
        torch.conv_transpose3d(torch.tensor(xi), torch.tensor(w), stride=2).numpy(), rtol=1e-10)
    emb = rng.standard_normal((4, 3)) * 3
    g, t = gpuarr.tensor(emb, device=device), torch.tensor(emb)
    assert gpuarr.embedding_renorm_(g, gpuarr.tensor([0, 2], device=device), 1.0, 2.0) is g
    torch.embedding_renorm_(t, torch.tensor([0, 2]), 1.0, 2.0)
    np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-12)
    m = rng.standard_normal((3, 3))
    with pytest.warns(UserWarning, match="frobenius_norm is deprecated"):
        fr = gpuarr.frobenius_norm(gpuarr.tensor(m, device=device), [0, 1])
    with pytest.warns(UserWarning, match="nuclear_norm is deprecated"):
        nu = gpuarr.nuclear_norm(gpuarr.tensor(m, device=device))
    with pytest.warns(UserWarning):
        np.testing.assert_allclose(float(fr), float(torch.frobenius_norm(torch.tensor(m),
                                                                         [0, 1])))
        np.testing.assert_allclose(float(nu), float(torch.nuclear_norm(torch.tensor(m))))
    for name in ("arccos_", "arcsin_", "arctan_", "arcsinh_", "arctanh_"):
        g = gpuarr.tensor([0.25, -0.5], device=device)
        t = torch.tensor([0.25, -0.5])
        assert getattr(gpuarr, name)(g) is g
        getattr(torch, name)(t)
        np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-6)
    g, t = gpuarr.tensor([-1.0, 2.0, 5.0], device=device), torch.tensor([-1.0, 2.0, 5.0])
    gpuarr.clamp_min_(g, 0.0)
    gpuarr.clamp_max_(g, 3.0)
    torch.clamp_max_(torch.clamp_min_(t, 0.0), 3.0)
    np.testing.assert_array_equal(to_np(g), t.numpy())
    a = gpuarr.ones(2, 3, 4, device=device)
    assert gpuarr.feature_alpha_dropout(a, 0.5, False) is a
    out = gpuarr.feature_alpha_dropout(a, 0.5, True)
    assert out.shape == a.shape and not gpuarr.is_distributed(a)


def test_modes_and_flags():
    assert gpuarr.GradScaler is gpuarr.amp.GradScaler
    assert gpuarr.has_lapack and isinstance(gpuarr.has_mkl, bool)
    assert gpuarr.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == 0
    try:
        for mode, num in (("warn", 1), ("error", 2), (0, 0)):
            gpuarr.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert gpuarr.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert gpuarr.get_deterministic_debug_mode() == num
        raises_like(lambda: torch.set_deterministic_debug_mode("loud"),
                    lambda: gpuarr.set_deterministic_debug_mode("loud"))
        raises_like(lambda: torch.set_deterministic_debug_mode(3),
                    lambda: gpuarr.set_deterministic_debug_mode(3))
    finally:
        gpuarr.set_deterministic_debug_mode(0)
        torch.set_deterministic_debug_mode(0)
    assert not gpuarr.is_anomaly_enabled()
    gpuarr.set_anomaly_enabled(True)
    try:
        assert gpuarr.is_anomaly_enabled() and gpuarr.is_anomaly_check_nan_enabled()
    finally:
        gpuarr.set_anomaly_enabled(False)
    assert not gpuarr.is_anomaly_enabled()
