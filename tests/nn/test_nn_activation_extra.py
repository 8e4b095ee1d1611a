"""hardshrink, softshrink, rrelu and the in-place ELU-family forms, and their modules, against
PyTorch: bit for bit at special inputs, differential on random inputs, gradcheck and
gradgradcheck in float64, rrelu's random slopes, reprs and error texts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import raises_like, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 0.1, -0.1, 0.25, -0.25, 1.0, -1.0,
           2.0, -30.0, -800.0, 1e-300, -1e-300]

# (id, function of (nn.functional module, tensor), whether it works in place)
SPECIAL_CASES = [
    ("hardshrink", lambda M, a: M.hardshrink(a), False),
    ("hardshrink_0.1", lambda M, a: M.hardshrink(a, 0.1), False),
    ("softshrink", lambda M, a: M.softshrink(a), False),
    ("softshrink_0.1", lambda M, a: M.softshrink(a, 0.1), False),
    ("softshrink_0", lambda M, a: M.softshrink(a, 0.0), False),
    ("rrelu_eval", lambda M, a: M.rrelu(a, 0.1, 0.3), False),
    ("elu_", lambda M, a: M.elu_(a, 1.5), True),
    ("celu_", lambda M, a: M.celu_(a, 0.3), True),
    ("selu_", lambda M, a: M.selu_(a), True),
    ("threshold_", lambda M, a: M.threshold_(a, 0.5, -3.0), True),
]


def spread(*shape, seed=0, step=0.1):
    """Distinct values at least ``step`` apart, none at 0 or at +-0.5 (the kinks)."""
    n = int(np.prod(shape))
    vals = np.random.default_rng(seed).permutation(n).astype(np.float64) - n / 2 + 0.37
    return (vals * step).reshape(shape)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,inplace", SPECIAL_CASES, ids=[c[0] for c in SPECIAL_CASES])
def test_special_values_bit_for_bit(name, fn, inplace, dtype, device):
    # one element at a time: torch's vectorised CPU loop (used for longer tensors) gives some
    # of these (the sign of a zero, the gradient at NaN) differently from its scalar loop,
    # which is what its CUDA kernels and half types follow
    for v in SPECIAL:
        a = np.array([v], dtype=dtype)
        t = torch.tensor(a, requires_grad=True)
        ti = t * 1 if inplace else t
        tr = fn(TF, ti)
        tr.backward(torch.ones_like(tr))
        g = gpuarr.tensor(a, device=device, requires_grad=True)
        gi = g * 1 if inplace else g
        gr = fn(F, gi)
        gr.backward(gpuarr.ones_like(gr))
        assert to_np(gr).tobytes() == to_np(tr).tobytes(), (name, v, to_np(gr), to_np(tr))
        assert to_np(g.grad).tobytes() == t.grad.numpy().tobytes(), (name, v)
        if inplace:
            assert gr is gi
        else:
            assert type(gr.grad_fn).__name__ == type(tr.grad_fn).__name__


@pytest.mark.parametrize("name,fn,inplace", SPECIAL_CASES, ids=[c[0] for c in SPECIAL_CASES])
def test_random_inputs_match_torch(name, fn, inplace, device):
    a = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    w = np.random.default_rng(2).standard_normal((3, 4, 5)).astype(np.float32)
    t = torch.tensor(a, requires_grad=True)
    tr = fn(TF, t * 1 if inplace else t)
    (tr * torch.tensor(w)).sum().backward()
    g = gpuarr.tensor(a, device=device, requires_grad=True)
    gr = fn(F, g * 1 if inplace else g)
    (gr * gpuarr.tensor(w, device=device)).sum().backward()
    assert gr.dtype == gpuarr.float32 and tuple(gr.shape) == tuple(tr.shape)
    np.testing.assert_allclose(to_np(gr), tr.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert type(gr.grad_fn).__name__ == type(tr.grad_fn).__name__ or name == "threshold_"


def test_inplace_forms_write_into_input_without_grad(device):
    a = spread(2, 5)
    for name, args in [("elu_", (0.7,)), ("celu_", (1.3,)), ("selu_", ()),
                       ("threshold_", (0.2, 9.0)), ("rrelu_", (0.1, 0.3))]:
        t = torch.tensor(a)
        g = gpuarr.tensor(a, device=device)
        tr = getattr(TF, name)(t, *args)
        gr = getattr(F, name)(g, *args)
        assert gr is g and tr is t
        np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-12)


GRAD_CASES = [
    ("hardshrink", lambda x: F.hardshrink(x, 0.45)),
    ("softshrink", lambda x: F.softshrink(x, 0.45)),
    ("rrelu_eval", lambda x: F.rrelu(x, 0.1, 0.4)),
    ("rrelu_train", lambda x: (gpuarr.manual_seed(3), F.rrelu(x, 0.1, 0.4, True))[1]),
    ("rrelu__train", lambda x: (gpuarr.manual_seed(3), F.rrelu_(x * 1, 0.1, 0.4, True))[1]),
    ("elu_", lambda x: F.elu_(x * 1, 1.3)),
    ("celu_", lambda x: F.celu_(x * 1, 0.7)),
    ("selu_", lambda x: F.selu_(x * 1)),
    ("threshold_", lambda x: F.threshold_(x * 1, 0.05, 2.0)),
]


@pytest.mark.parametrize("name,fn", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck_and_gradgradcheck(name, fn, device):
    x = gpuarr.tensor(spread(3, 4), device=device, requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


# --------------------------------------------------------------------------------------------
# rrelu in training mode


@pytest.mark.parametrize("dtype", [gpuarr.float64, gpuarr.float32])
def test_rrelu_training_slopes_in_range_and_gradient_is_the_slope(dtype, device):
    lower, upper = 0.125, 0.375
    x = gpuarr.tensor(spread(6, 50), dtype=dtype, device=device, requires_grad=True)
    y = F.rrelu(x, lower, upper, training=True)
    assert type(y.grad_fn).__name__ == "RreluWithNoiseBackward0"
    y.sum().backward()
    xv, yv, gv = to_np(x), to_np(y), to_np(x.grad)
    neg = xv <= 0
    slope = yv[neg] / xv[neg]
    tol = 1e-6 if dtype == gpuarr.float32 else 1e-12
    assert slope.min() >= lower - tol and slope.max() <= upper + tol
    assert slope.std() > 0.03  # drawn per element, not one slope for all
    np.testing.assert_allclose(gv[neg], slope, rtol=tol)
    np.testing.assert_array_equal(yv[~neg], xv[~neg])
    np.testing.assert_array_equal(gv[~neg], 1)


def test_rrelu_training_reproducible_under_manual_seed(device):
    x = gpuarr.tensor(spread(4, 8), device=device)
    gpuarr.manual_seed(7)
    a = to_np(F.rrelu(x, training=True))
    b = to_np(F.rrelu(x, training=True))
    gpuarr.manual_seed(7)
    c = to_np(F.rrelu(x, training=True))
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)
    gpuarr.manual_seed(7)
    d = x.clone()
    F.rrelu_(d, training=True)
    np.testing.assert_array_equal(to_np(d), a)


def test_rrelu_training_special_values(device):
    x = gpuarr.tensor([np.nan, np.inf, -np.inf, 0.0, -0.0], device=device, requires_grad=True)
    y = F.rrelu(x, 0.2, 0.3, training=True)
    y.backward(gpuarr.ones_like(y))
    yv, gv = to_np(y), to_np(x.grad)
    assert np.isnan(yv[0]) and gv[0] == 1  # NaN passes with gradient 1, as torch
    assert yv[1] == np.inf and gv[1] == 1
    assert yv[2] == -np.inf and 0.2 <= gv[2] <= 0.3
    assert yv[3] == 0 and not np.signbit(yv[3]) and 0.2 <= gv[3] <= 0.3
    assert yv[4] == 0 and np.signbit(yv[4])
    t = torch.tensor([np.nan, np.inf, -np.inf, 0.0, -0.0], requires_grad=True)
    tr = TF.rrelu(t, 0.2, 0.3, training=True)
    tr.backward(torch.ones_like(tr))
    np.testing.assert_array_equal(np.signbit(yv), np.signbit(tr.detach().numpy()))
    np.testing.assert_array_equal(np.isnan(yv), np.isnan(tr.detach().numpy()))


def test_rrelu_training_with_lower_equal_upper(device):
    x = gpuarr.tensor([-2.0, np.nan, 3.0], device=device, requires_grad=True)
    y = F.rrelu(x, 0.25, 0.25, training=True)
    y.backward(gpuarr.ones_like(y))
    t = torch.tensor([-2.0, np.nan, 3.0], requires_grad=True)
    tr = TF.rrelu(t, 0.25, 0.25, training=True)
    tr.backward(torch.ones_like(tr))
    np.testing.assert_array_equal(to_np(y), tr.detach().numpy())
    np.testing.assert_array_equal(to_np(x.grad), t.grad.numpy())


# --------------------------------------------------------------------------------------------
# modules


def test_module_reprs_match_torch():
    for g, t in [(nn.Hardshrink(), torch.nn.Hardshrink()),
                 (nn.Hardshrink(0.25), torch.nn.Hardshrink(0.25)),
                 (nn.Softshrink(1), torch.nn.Softshrink(1)),
                 (nn.RReLU(), torch.nn.RReLU()),
                 (nn.RReLU(0.1, 0.3, inplace=True), torch.nn.RReLU(0.1, 0.3, inplace=True)),
                 (nn.Softmax2d(), torch.nn.Softmax2d())]:
        assert repr(g) == repr(t)


def test_modules_match_torch(device):
    a = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    for gm, tm in [(nn.Hardshrink(0.3), torch.nn.Hardshrink(0.3)),
                   (nn.Softshrink(0.3), torch.nn.Softshrink(0.3)),
                   (nn.RReLU(0.1, 0.2).eval(), torch.nn.RReLU(0.1, 0.2).eval()),
                   (nn.Softmax2d(), torch.nn.Softmax2d())]:
        for arr in (a, a[0]):
            g = gpuarr.tensor(arr, device=device, requires_grad=True)
            t = torch.tensor(arr, requires_grad=True)
            gy, ty = gm(g), tm(t)
            (gy * gy).sum().backward()
            (ty * ty).sum().backward()
            np.testing.assert_allclose(to_np(gy), ty.detach().numpy(), rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_rrelu_module_draws_only_while_training(device):
    m = nn.RReLU(0.1, 0.3)
    x = gpuarr.tensor(-np.ones(200), device=device)
    train = to_np(m(x))
    assert len(np.unique(train)) > 100
    assert np.all((train >= -0.3) & (train <= -0.1))
    np.testing.assert_allclose(to_np(m.eval()(x)), -0.2)
    y = x.clone()
    assert nn.RReLU(inplace=True).eval()(y) is y


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("call", [
    lambda M, x: M.nn.functional.softshrink(x, -1.0),
    lambda M, x: M.nn.functional.softshrink(x.float(), -0.25),
    lambda M, x: M.nn.functional.softshrink(x.half(), -1.0),
    lambda M, x: M.nn.functional.softshrink(x, float("nan")),
    lambda M, x: M.nn.functional.softshrink(x, float("inf")),
    lambda M, x: M.nn.functional.softshrink(x.float(), 1e39),
    lambda M, x: M.nn.functional.rrelu(x, 0.5, 0.1),
    lambda M, x: M.nn.functional.rrelu(x, 0.5, 0.1, training=True),
    lambda M, x: M.nn.functional.rrelu_(x, 0.5, 0.1),
    lambda M, x: M.nn.functional.celu_(x, 0.0),
    lambda M, x: M.nn.Softmax2d()(x),
    lambda M, x: M.nn.Softmax2d()(x.reshape(1, 1, 1, 1, 3)),
    lambda M, x: M.nn.functional.hardshrink(x.long()),
    lambda M, x: M.nn.functional.hardshrink(x.bool()),
    lambda M, x: M.nn.functional.softshrink(x.long()),
    lambda M, x: M.nn.functional.rrelu(x.long()),
    lambda M, x: M.nn.functional.rrelu(x.long(), training=True),
    lambda M, x: M.nn.functional.elu_(x.long()),
    lambda M, x: M.nn.functional.elu_(x.requires_grad_()),
    lambda M, x: M.nn.functional.selu_(x.requires_grad_()),
    lambda M, x: M.nn.functional.threshold_(x.requires_grad_(), 0.0, 1.0),
    lambda M, x: M.nn.functional.rrelu_(x.requires_grad_()),
])
def test_errors_match_torch(call):
    a = np.array([-1.0, 0.5, 2.0])
    raises_like(lambda: call(torch, torch.tensor(a)), lambda: call(gpuarr, gpuarr.tensor(a)))


def test_inplace_elu_with_negative_alpha_fails_in_backward_as_torch(device):
    t = torch.tensor([-1.0, 2.0], requires_grad=True) * 1
    g = gpuarr.tensor([-1.0, 2.0], device=device, requires_grad=True) * 1
    tr, gr = TF.elu_(t, -0.5), F.elu_(g, -0.5)
    np.testing.assert_array_equal(to_np(gr), tr.detach().numpy())
    raises_like(lambda: tr.sum().backward(), lambda: gr.sum().backward())


def test_rrelu_defaults_and_names():
    import inspect

    sig = inspect.signature(F.rrelu)
    assert sig.parameters["lower"].default == 1.0 / 8
    assert sig.parameters["upper"].default == 1.0 / 3
    assert sig.parameters["training"].default is False
    assert inspect.signature(F.hardshrink).parameters["lambd"].default == 0.5
    assert inspect.signature(F.softshrink).parameters["lambd"].default == 0.5
    for name in ["hardshrink", "softshrink", "rrelu", "rrelu_", "elu_", "celu_", "selu_",
                 "threshold_"]:
        assert hasattr(TF, name) and callable(getattr(F, name))
    for name in ["Hardshrink", "Softshrink", "RReLU", "Softmax2d"]:
        assert hasattr(torch.nn, name) and issubclass(getattr(nn, name), nn.Module)


@pytest.mark.parametrize("name", ["elu", "celu", "selu"])
@pytest.mark.parametrize("form", ["functional", "module"])
def test_inplace_flag_of_the_elu_family_backpropagates_as_torch(name, form, device):
    """``F.elu(x, inplace=True)`` (and celu, selu, and the modules with inplace=True) write
    into ``x`` and still backpropagate, through the derivative read off the result, as
    torch's in-place forms do (the out-of-place graph would need the overwritten input)."""
    xs = np.array([-2.0, -0.5, -0.0, 0.0, 0.5, 2.0])
    kw = {} if name == "selu" else {"alpha": 0.7}
    mod = {"elu": "ELU", "celu": "CELU", "selu": "SELU"}[name]

    def run(lib, functional, x):
        h = x * 1.0  # a non-leaf the call overwrites
        if form == "functional":
            y = getattr(functional, name)(h, inplace=True, **kw)
        else:
            y = getattr(lib.nn, mod)(inplace=True, **kw)(h)
        assert y is h
        (y * y).sum().backward()
        return y

    x = gpuarr.tensor(xs, device=device, requires_grad=True)
    y = run(gpuarr, F, x)
    xt = torch.tensor(xs, requires_grad=True)
    yt = run(torch, TF, xt)
    np.testing.assert_allclose(y.detach().cpu().numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["elu", "celu", "selu"])
def test_elu_family_out_of_place_is_torchs_kernel(name, device):
    """Out of place the ELU family is torch's elu kernel: its node names, and the gradient
    from ``exp(x)`` directly, which keeps its digits for very negative ``x`` (``expm1``'s own
    derivative, ``result + 1``, rounds to 0 in float32 below about -17)."""
    xs = np.array([-40.0, -20.0, -10.0, -1.0, -0.0, 0.0, 0.5, 3.0], np.float32)
    kw = {} if name == "selu" else {"alpha": 1.5}
    x = gpuarr.tensor(xs, device=device, requires_grad=True)
    y = getattr(F, name)(x, **kw)
    xt = torch.tensor(xs, requires_grad=True)
    yt = getattr(TF, name)(xt, **kw)
    assert y.grad_fn.name() == yt.grad_fn.name()
    (gx,) = gpuarr.autograd.grad(y.sum(), x)
    (gt,) = torch.autograd.grad(yt.sum(), xt)
    np.testing.assert_allclose(y.detach().cpu().numpy(), yt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(gx.cpu().numpy(), gt.numpy(), rtol=1e-5, atol=0)
