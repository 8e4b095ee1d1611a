"""Complex tensors (complex64/complex128) against PyTorch: dtypes and promotion, creation,
arithmetic, the complex-only ops (view_as_real, view_as_complex, complex, polar, real, imag,
conj, abs, angle, sgn), autograd by torch's convention, the ops torch refuses for complex
numbers, and checkpoints."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck
from tests.conftest import to_np

C64, C128 = gpuarr.complex64, gpuarr.complex128
REAL = [gpuarr.bool, gpuarr.uint8, gpuarr.int8, gpuarr.int16, gpuarr.int32, gpuarr.int64,
        gpuarr.float16, gpuarr.bfloat16, gpuarr.float32, gpuarr.float64]
ALL = REAL + [C64, C128]


def tdt(d):
    return getattr(torch, d.name)


def crand(shape, dtype=np.complex128, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def pair(arr, device, requires_grad=False):
    """The same values as a gpuarr tensor on ``device`` and a torch CPU tensor."""
    g = gpuarr.tensor(arr, device=device, requires_grad=requires_grad)
    t = torch.tensor(arr, requires_grad=requires_grad)
    return g, t


def close(g, t, tol=1e-5):
    np.testing.assert_allclose(to_np(g), t.detach().resolve_conj().numpy(), rtol=tol, atol=tol)
    assert g.dtype.name == str(t.dtype).split(".")[1]


# ---- dtypes ----


def test_dtype_attributes_and_names():
    assert gpuarr.cfloat is C64 and gpuarr.cdouble is C128
    for d in (C64, C128):
        td = tdt(d)
        assert d.is_complex and not d.is_floating_point and d.is_signed
        assert d.itemsize == td.itemsize
    assert gpuarr.finfo(C64).eps == torch.finfo(torch.complex64).eps
    assert gpuarr.finfo(C128).max == torch.finfo(torch.complex128).max
    z = gpuarr.zeros(2, dtype=C64)
    assert z.is_complex() and not z.is_floating_point() and gpuarr.is_complex(z)
    assert z.type() == "gpuarr.ComplexFloatTensor"
    assert z.cdouble().dtype is C128 and gpuarr.ones(1).cfloat().dtype is C64


@pytest.mark.parametrize("a", ALL, ids=lambda d: d.name)
def test_promote_types_with_complex_like_torch(a):
    for b in (C64, C128):
        assert gpuarr.promote_types(a, b).name == str(
            torch.promote_types(tdt(a), tdt(b))).split(".")[1]
        assert gpuarr.promote_types(b, a) is gpuarr.promote_types(a, b)


@pytest.mark.parametrize("dt", [gpuarr.int32, gpuarr.float32, gpuarr.float64, C64, C128],
                         ids=lambda d: d.name)
def test_result_type_with_complex_scalars_and_zero_dim_like_torch(dt):
    x, tx = gpuarr.ones(2, dtype=dt), torch.ones(2, dtype=tdt(dt))
    for other, tother in [(1j, 1j), (2.5, 2.5), (gpuarr.tensor(1j), torch.tensor(1j)),
                          (gpuarr.tensor(1j, dtype=C128), torch.tensor(1j, dtype=torch.cdouble)),
                          (gpuarr.ones((), dtype=C64), torch.ones((), dtype=torch.cfloat))]:
        assert (x + other).dtype.name == str((tx + tother).dtype).split(".")[1]
        assert (other * x).dtype.name == str((tother * tx).dtype).split(".")[1]


def test_default_complex_follows_default_float():
    assert gpuarr.tensor([1j]).dtype is C64
    prev = gpuarr.get_default_dtype()
    try:
        gpuarr.set_default_dtype(gpuarr.float64)
        assert gpuarr.tensor([1j]).dtype is C128
        assert (gpuarr.ones(2, dtype=gpuarr.int64) + 1j).dtype is C128
    finally:
        gpuarr.set_default_dtype(prev)


def test_float16_with_complex_scalar_would_be_complex32():
    with pytest.raises(TypeError, match="complex32"):
        gpuarr.ones(2, dtype=gpuarr.float16) + 1j
    assert (gpuarr.ones(2, dtype=gpuarr.bfloat16) + 1j).dtype is C64  # as torch


# ---- creation and conversion ----


def test_creation(device):
    assert to_np(gpuarr.tensor([1 + 2j, 3], device=device)).tolist() == [1 + 2j, 3 + 0j]
    arr = crand((2, 3), np.complex64)
    g = gpuarr.tensor(arr, device=device)
    assert g.dtype is C64 and np.array_equal(to_np(g), arr)
    assert gpuarr.from_numpy(crand(2)).dtype is C128
    assert gpuarr.tensor(torch.tensor([1j], dtype=torch.cdouble)).dtype is C128
    for fn in (gpuarr.zeros, gpuarr.ones, gpuarr.empty):
        assert fn(2, 3, dtype=C64, device=device).dtype is C64
    f = gpuarr.full((2,), 1 - 2j, device=device)
    assert f.dtype is C64 and to_np(f).tolist() == [1 - 2j, 1 - 2j]
    assert np.array_equal(to_np(gpuarr.eye(2, dtype=C128, device=device)), np.eye(2))
    assert g[0, 1].item() == complex(arr[0, 1]) and g.tolist() == arr.tolist()
    assert isinstance(g[0, 0].item(), complex)


def test_random_complex_like_torch_distribution(device):
    gpuarr.manual_seed(1)
    z = gpuarr.randn(40000, dtype=C64, device=device)
    # torch: real and imaginary parts each N(0, 1/2), so E|z|^2 = 1
    assert z.dtype is C64
    assert abs((z.abs() ** 2).mean().item() - 1) < 0.03
    assert abs(z.real.var().item() - 0.5) < 0.02 and abs(z.imag.var().item() - 0.5) < 0.02
    u = gpuarr.rand(40000, dtype=C128, device=device)
    assert u.dtype is C128
    lo, hi = float(u.real.min()), float(u.imag.max())
    assert 0 <= lo and hi < 1 and abs(u.imag.mean().item() - 0.5) < 0.01
    assert gpuarr.randn_like(z[:3]).dtype is C64


def test_casts(device):
    z = gpuarr.tensor([1 + 2j, -3j], device=device)
    assert z.to(C128).dtype is C128
    with pytest.warns(UserWarning, match="Casting complex values to real discards the "
                      "imaginary part"):
        r = z.float()
    assert to_np(r).tolist() == [1.0, 0.0]
    assert to_np(gpuarr.ones(2, device=device).to(C64)).tolist() == [1 + 0j, 1 + 0j]


# ---- values ----


BINARY = [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("rsub", lambda a, b: 2 - a * b),
    ("scalar", lambda a, b: a * (2 - 1j) + b / 3),
]
UNARY = ["exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "reciprocal",
         "neg", "square", "sigmoid", "rsqrt", "expm1", "log1p", "conj", "abs", "angle", "sgn",
         "asin", "acos", "atan", "asinh", "acosh", "atanh", "log2", "log10"]


@pytest.mark.parametrize("name,fn", BINARY, ids=[n for n, _ in BINARY])
def test_binary_values_and_gradients_like_torch(device, name, fn):
    a, ta = pair(crand((3, 4), seed=1), device, True)
    b, tb = pair(crand((4,), seed=2), device, True)
    out, tout = fn(a, b), fn(ta, tb)
    close(out, tout, 1e-10)
    w = crand((3, 4), seed=3)
    (out * gpuarr.tensor(w, device=device)).abs().sum().backward()
    (tout * torch.tensor(w)).abs().sum().backward()
    close(a.grad, ta.grad, 1e-9)
    close(b.grad, tb.grad, 1e-9)


@pytest.mark.parametrize("name", UNARY)
def test_unary_values_and_gradients_like_torch(device, name):
    a, ta = pair(crand((5,), seed=4) * 0.7, device, True)
    out, tout = getattr(a, name)(), getattr(ta, name)()
    close(out, tout, 1e-9)
    loss = (out * out.conj()).real.sum() if out.is_complex() else (out * out).sum()
    tl = (tout * tout.conj()).real.sum() if tout.is_complex() else (tout * tout).sum()
    loss.backward()
    tl.backward()
    close(a.grad, ta.grad, 1e-8)


def test_gradcheck_complex_ops():
    gpuarr.manual_seed(0)
    z = gpuarr.randn(3, dtype=C128, requires_grad=True)
    w = gpuarr.randn(3, dtype=C128, requires_grad=True)
    A = gpuarr.randn(3, 3, dtype=C128, requires_grad=True)
    r = gpuarr.rand(3, dtype=gpuarr.float64, requires_grad=True)
    t = gpuarr.randn(3, dtype=gpuarr.float64, requires_grad=True)
    x = gpuarr.randn(3, 2, dtype=gpuarr.float64, requires_grad=True)
    assert gradcheck(lambda a, b: (a * b).exp() / (b + 2), (z, w))
    assert gradcheck(lambda a, b: (a @ b).tanh(), (A, z))
    assert gradcheck(lambda a: (a.abs(), a.angle(), a.sgn(), a.real, a.imag, a.conj()), (z,))
    assert gradcheck(gpuarr.polar, (r, t)) and gradcheck(gpuarr.complex, (r, t))
    assert gradcheck(lambda a: gpuarr.view_as_complex(a) * 2j, (x,))
    assert gradcheck(lambda a: gpuarr.view_as_real(a * a), (z,))
    assert gradcheck(lambda a: (a.var(), a.std(), a.norm(), a.mean(), a.sum()), (z,))
    assert gradcheck(lambda a: a ** 3 + a.pow(0.5), (z,))
    assert gradcheck(lambda a, b: gpuarr.cat([a, b]).reshape(2, 3).t()[1:], (z, w))
    assert gradcheck(lambda a, b: gpuarr.where(a.real > 0, a, b), (z, w))
    assert gradgradcheck(lambda a, b: (a * b).sin() + a.abs(), (z, w))


def test_real_times_complex_gives_real_gradient(device):
    x, tx = pair(np.array([1.0, -2.0, 0.5]), device, True)
    c = crand(3, seed=5)
    (x * gpuarr.tensor(c, device=device)).abs().sum().backward()
    (tx * torch.tensor(c)).abs().sum().backward()
    assert x.grad.dtype is gpuarr.float64
    close(x.grad, tx.grad, 1e-12)


@given(st.lists(st.integers(0, 3), min_size=0, max_size=3),
       st.lists(st.booleans(), min_size=0, max_size=3), st.integers(0, 3))
@settings(max_examples=40, deadline=None)
def test_broadcast_mul_gradients_hypothesis(sa, ones, drop):
    # b: a's trailing dims with some set to 1 (broadcast), a few leading ones dropped;
    # sizes of 0 give empty tensors and [] is 0-d
    sb = [1 if k < len(ones) and ones[k] else s for k, s in enumerate(sa)][min(drop, len(sa)):]
    a, ta = pair(crand(tuple(sa), seed=6), "cpu", True)
    b, tb = pair(crand(tuple(sb), seed=7), "cpu", True)
    (a * b.conj() - b).abs().sum().backward()
    (ta * tb.conj() - tb).abs().sum().backward()
    close(a.grad, ta.grad, 1e-10)
    close(b.grad, tb.grad, 1e-10)


def test_reductions_and_matmul(device):
    a, ta = pair(crand((3, 4), seed=8), device)
    b, tb = pair(crand((4, 2), seed=9), device)
    close(a @ b, ta @ tb, 1e-10)
    for name in ("sum", "mean", "var", "std", "norm", "prod"):
        close(getattr(a, name)(), getattr(ta, name)(), 1e-10)
    close(a.sum(1), ta.sum(1), 1e-10)
    close(a.cumsum(0), ta.cumsum(0), 1e-10)
    close(gpuarr.linalg.vector_norm(a, 1, dim=0), torch.linalg.vector_norm(ta, 1, dim=0), 1e-10)
    assert gpuarr.allclose(a, a.clone()) and bool((a == a).all()) and not bool((a != a).any())
    close(a.mH, ta.mH)
    close(a.adjoint(), ta.adjoint())
    close(a.H, ta.H)
    close(gpuarr.isreal(a), torch.isreal(ta))
    with pytest.raises(RuntimeError, match="mat1 and mat2|expected m1 and m2 to have the same "
                       "dtype, but got: c10::complex<double> != double"):
        a @ gpuarr.ones(4, 2, dtype=gpuarr.float64, device=device)


# ---- the complex-only ops ----


def test_view_as_real_and_complex_are_views(device):
    x = gpuarr.arange(12.0, device=device).reshape(3, 2, 2)
    z = gpuarr.view_as_complex(x)
    tz = torch.view_as_complex(torch.arange(12.0).reshape(3, 2, 2))
    close(z, tz)
    z[0, 0] = 7 - 1j  # writes through to x
    assert to_np(x[0, 0]).tolist() == [7.0, -1.0]
    r = gpuarr.view_as_real(z)
    r[1, 1, 1] = 100.0
    assert to_np(z[1, 1]).item() == 6 + 100j
    assert z.real.shape == (3, 2) and to_np(z.imag)[1, 1] == 100.0
    z.imag = gpuarr.zeros(3, 2, device=device)
    assert float(x[..., 1].abs().sum()) == 0.0
    z.real = 1.5
    assert float(x[..., 0].sum()) == 9.0
    # strided views, as rotary embeddings make them
    w = gpuarr.randn(4, 6, device=device)
    close(gpuarr.view_as_real(gpuarr.view_as_complex(w.reshape(4, 3, 2))[:, ::2]),
          torch.view_as_real(torch.view_as_complex(
              torch.tensor(to_np(w)).reshape(4, 3, 2))[:, ::2]))


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return type(e), str(e)
    return None


@pytest.mark.parametrize("make", [
    lambda m: m.view_as_complex(m.ones(3, 3)),
    lambda m: m.view_as_complex(m.ones(2, 3).t()),
    lambda m: m.view_as_complex(m.ones(4, 3)[:, :2]),
    lambda m: m.view_as_complex(m.ones(3, 2, dtype=m.int32)),
    lambda m: m.view_as_complex(m.ones(())),
    lambda m: m.view_as_real(m.ones(3)),
    lambda m: m.complex(m.ones(3), m.ones(3, dtype=m.float64)),
    lambda m: m.complex(m.ones(3, dtype=m.int32), m.ones(3, dtype=m.int32)),
    lambda m: m.polar(m.ones(3), m.ones(3, dtype=m.float64)),
    lambda m: m.ones(3).imag,
    lambda m: m.tensor([1 + 1j]) < 1,
    lambda m: m.tensor([1 + 1j]) >= m.tensor([1j]),
    lambda m: m.tensor([1 + 1j]).max(),
    lambda m: m.tensor([1 + 1j]).max(0),
    lambda m: m.tensor([1 + 1j]).amin(),
    lambda m: m.tensor([1 + 1j]).argmax(),
    lambda m: m.maximum(m.tensor([1 + 1j]), m.tensor([1j])),
    lambda m: m.tensor([1 + 1j]).sort(),
    lambda m: m.tensor([1 + 1j]).argsort(),
    lambda m: m.tensor([1 + 1j, 2]).topk(1),
    lambda m: m.tensor([1 + 1j]).median(),
    lambda m: m.tensor([1 + 1j]).kthvalue(1),
    lambda m: m.tensor([1 + 1j]).clamp(0, 1),
    lambda m: m.tensor([1 + 1j]).relu(),
    lambda m: m.tensor([1 + 1j]).floor(),
    lambda m: m.tensor([1 + 1j]).sign(),
    lambda m: m.tensor([1 + 1j]).aminmax(),
    lambda m: m.tensor([1]).requires_grad_(),
])
def test_errors_like_torch(make):
    err = _error(lambda: make(torch))
    assert err is not None
    assert _error(lambda: make(gpuarr)) == err


def test_ordering_errors_on_the_device_too(device):
    z = gpuarr.tensor([1 + 1j], device=device)
    for fn in (lambda: z < 1, lambda: z.max(), lambda: z.sort(), lambda: z.clamp(0, 1)):
        with pytest.raises((RuntimeError, NotImplementedError), match="complex|Complex"):
            fn()


def test_polar_and_complex_values(device):
    r, tr = pair(np.array([1.0, 2.0, 0.0], np.float32), device)
    t, tt = pair(np.array([0.5, -3.0, 1.0], np.float32), device)
    close(gpuarr.polar(r, t), torch.polar(tr, tt), 1e-6)
    close(gpuarr.complex(r, t), torch.complex(tr, tt))
    close(gpuarr.complex(r[:, None], t), torch.complex(tr[:, None], tt))
    out = gpuarr.empty(3, dtype=C64, device=device)
    gpuarr.polar(r, t, out=out)
    close(out, torch.polar(tr, tt), 1e-6)


def test_sgn_angle_abs_at_zero(device):
    z, tz = pair(np.array([0j, 1 + 1j, -2j]), device, True)
    out = z.sgn() + z.angle() + z.abs()
    tout = tz.sgn() + tz.angle() + tz.abs()
    close(out, tout, 1e-12)
    out.abs().sum().backward()
    tout.abs().sum().backward()
    close(z.grad, tz.grad, 1e-12)


# ---- autograd: where complex is supported and where it is not ----


def _rotary(m, x, freqs_cis):
    """LLaMA's apply_rotary_emb."""
    xc = m.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    fc = freqs_cis.view(1, xc.shape[1], 1, xc.shape[-1])
    return m.view_as_real(xc * fc).flatten(3).type_as(x)


def _freqs(m, dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (m.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = m.arange(end, device=freqs.device)
    freqs = m.outer(t, freqs).float()
    return m.polar(m.ones_like(freqs), freqs)


def test_rotary_embedding_forward_and_backward_like_torch(device):
    rng = np.random.default_rng(10)
    xq = rng.standard_normal((2, 5, 3, 8)).astype(np.float32)
    wq = rng.standard_normal((8, 8)).astype(np.float32)
    g = gpuarr.tensor(xq, device=device)
    gw = gpuarr.tensor(wq, device=device, requires_grad=True)
    t, tw = torch.tensor(xq), torch.tensor(wq, requires_grad=True)
    out = _rotary(gpuarr, g @ gw, _freqs(gpuarr, 8, 5).to(device))
    tout = _rotary(torch, t @ tw, _freqs(torch, 8, 5))
    close(out, tout, 1e-5)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    close(gw.grad, tw.grad, 1e-3)


def test_ops_without_complex_autograd_raise():
    z = gpuarr.randn(3, dtype=C64, requires_grad=True)
    with pytest.raises(RuntimeError, match="RepeatInterleaveBackward0: gpuarr has no "
                       "derivative"):
        z.repeat_interleave(2)
    with gpuarr.no_grad():  # without gradients the values are computed
        assert z.repeat_interleave(2).dtype is C64

    class RealOnly(gpuarr.autograd.Function):
        _complex_grad = False  # a Function may say its backward is for real tensors only

        @staticmethod
        def forward(ctx, x):
            return x * 1j

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="RealOnlyBackward does not support automatic "
                       "differentiation for outputs with complex dtype"):
        RealOnly.apply(gpuarr.randn(3, requires_grad=True))


def test_custom_function_may_take_complex():
    class Twice(gpuarr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    z = gpuarr.tensor([1j], requires_grad=True)
    Twice.apply(z).abs().sum().backward()
    assert z.grad.dtype is C64 and to_np(z.grad).tolist() == [2j]


def test_requires_grad_and_parameters():
    z = gpuarr.zeros(2, dtype=C64, requires_grad=True)
    assert z.requires_grad
    p = gpuarr.nn.Parameter(gpuarr.zeros(2, dtype=C128))
    assert p.requires_grad and p.dtype is C128
    with pytest.raises(RuntimeError, match="floating point and complex"):
        gpuarr.nn.Parameter(gpuarr.zeros(2, dtype=gpuarr.int64))


def test_checkpoint_round_trip(tmp_path, device):
    z = gpuarr.tensor(crand((2, 3)), device=device, requires_grad=True)
    w = gpuarr.tensor(crand(4, np.complex64))
    gpuarr.save({"z": z, "w": w}, tmp_path / "c.pt")
    back = gpuarr.load(tmp_path / "c.pt")
    assert back["z"].dtype is C128 and back["z"].requires_grad and back["z"].device == z.device
    assert np.array_equal(to_np(back["z"]), to_np(z))
    assert back["w"].dtype is C64 and np.array_equal(to_np(back["w"]), to_np(w))


def test_no_numpy_complex_warning_leaks(device):
    z = gpuarr.tensor([1 + 1j], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        with pytest.warns(UserWarning):
            z.to(gpuarr.float64)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax",
                                  "NAdam", "RAdam", "RMSprop", "Rprop", "ASGD"])
def test_optimizers_update_complex_parameters_as_torch(device, name):
    # torch updates a complex parameter as its view_as_real pairs (state kept complex)
    kw = {"lr": 0.1} if name != "SGD" else {"lr": 0.1, "momentum": 0.9}
    p = torch.zeros(3, dtype=torch.complex64, requires_grad=True)
    q = gpuarr.zeros(3, dtype=C64, device=device, requires_grad=True)
    topt, gopt = getattr(torch.optim, name)([p], **kw), getattr(gpuarr.optim, name)([q], **kw)
    for k in range(3):
        g = crand(3, np.complex64, seed=20 + k)
        p.grad, q.grad = torch.tensor(g), gpuarr.tensor(g, device=device)
        topt.step()
        gopt.step()
    close(q, p, 1e-5)
    for key, v in topt.state[p].items():
        if isinstance(v, torch.Tensor) and v.is_complex():
            close(gopt.state[q][key], v, 1e-5)


def test_complex_model_trains_with_adam(device):
    # a complex linear filter fitted by gradient descent: loss goes down, gradients flow
    gpuarr.manual_seed(0)
    w = gpuarr.zeros(4, dtype=C64, device=device, requires_grad=True)
    target = gpuarr.tensor([1 + 1j, -2j, 0.5, 3 - 1j], device=device)
    x = gpuarr.randn(32, 4, dtype=C64, device=device)
    opt = gpuarr.optim.Adam([w], lr=0.05)
    losses = []
    for _ in range(300):
        opt.zero_grad()
        loss = ((x * w).sum(1) - (x * target).sum(1)).abs().pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-3 * losses[0]
    assert float((w - target).abs().max()) < 0.05


def test_testing_helpers_take_complex(device):
    from gpuarr.testing import assert_close, make_tensor

    t = make_tensor((3, 4), dtype=C64, device=device, low=-1, high=1, noncontiguous=True,
                    exclude_zero=True, requires_grad=True)
    assert t.dtype is C64 and t.requires_grad and not t.is_contiguous()
    parts = gpuarr.view_as_real(t.detach().contiguous())
    assert float(parts.abs().max()) <= 1
    assert_close(t, t.clone())
    with pytest.raises(AssertionError, match="not close"):
        assert_close(t, t + 1e-3j)


def test_in_place_ops_on_complex(device):
    z, tz = pair(np.array([1 + 1j, 2j]), device)
    for op in (lambda x: x.exp_(), lambda x: x.mul_(2j), lambda x: x.add_(1 - 1j),
               lambda x: x.div_(3j), lambda x: x.neg_(), lambda x: x.conj_physical_()):
        op(z)
        op(tz)
    close(z, tz, 1e-12)
    y = gpuarr.tensor([1 + 1j], dtype=C128, device=device, requires_grad=True)
    ty = torch.tensor([1 + 1j], dtype=torch.cdouble, requires_grad=True)
    for leaf in (y, ty):
        w = leaf.clone()
        w.mul_(2j)
        w.exp_()
        w.abs().sum().backward()
    close(y.grad, ty.grad, 1e-12)


def test_index_add_and_repeated_index_gradients(device):
    # repeated indices accumulate both parts (on CUDA: a scatter-add of each part)
    z, tz = pair(crand(4, seed=30), device)
    idx = [0, 0, 1, 3, 3, 3]
    v = crand(6, seed=31)
    close(z.index_add(0, gpuarr.tensor(idx, device=device), gpuarr.tensor(v, device=device)),
          tz.index_add(0, torch.tensor(idx), torch.tensor(v)), 1e-12)
    a, ta = pair(crand(4, seed=32), device, True)
    (a[gpuarr.tensor(idx, device=device)] * (1 + 2j)).abs().sum().backward()
    (ta[torch.tensor(idx)] * (1 + 2j)).abs().sum().backward()
    close(a.grad, ta.grad, 1e-12)


def test_more_holomorphic_ops_gradcheck():
    gpuarr.manual_seed(1)
    a = gpuarr.randn(3, 4, dtype=C128, requires_grad=True)
    b = gpuarr.randn(4, 2, dtype=C128, requires_grad=True)
    s = gpuarr.randn(3, 3, dtype=C128, requires_grad=True)
    z = gpuarr.tensor([1 + 1j, 0j, 2 - 1j, -0.5j], dtype=C128, requires_grad=True)
    x = gpuarr.randn(2, 3, dtype=C128, requires_grad=True)
    w = gpuarr.randn(4, 3, dtype=C128, requires_grad=True)
    bias = gpuarr.randn(4, dtype=C128, requires_grad=True)
    assert gradcheck(lambda a, b: gpuarr.einsum("ij,jk->ik", a, b), (a, b))
    assert gradcheck(lambda z: (z.prod(), z.cumprod(0)), (z,))  # a zero entry included
    assert gradcheck(lambda a: a.prod(1), (a,))
    assert gradcheck(lambda s: s.trace(), (s,))
    assert gradcheck(gpuarr.nn.functional.linear, (x, w, bias))


def test_complex_linear_layer_matches_torch(device):
    xs, ws, bs = crand((5, 3), seed=40), crand((4, 3), seed=41), crand(4, seed=42)
    x, tx = pair(xs, device)
    lin = gpuarr.nn.Linear(3, 4, dtype=C128, device=device)
    tlin = torch.nn.Linear(3, 4, dtype=torch.cdouble)
    with gpuarr.no_grad(), torch.no_grad():
        lin.weight.copy_(gpuarr.tensor(ws, device=device))
        lin.bias.copy_(gpuarr.tensor(bs, device=device))
        tlin.weight.copy_(torch.tensor(ws))
        tlin.bias.copy_(torch.tensor(bs))
    out, tout = lin(x), tlin(tx)
    close(out, tout, 1e-12)
    out.abs().pow(2).sum().backward()
    tout.abs().pow(2).sum().backward()
    close(lin.weight.grad, tlin.weight.grad, 1e-10)
    close(lin.bias.grad, tlin.bias.grad, 1e-10)


def test_module_to_complex_like_torch(device):
    m, tm = gpuarr.nn.Linear(2, 3), torch.nn.Linear(2, 3)
    with pytest.warns(UserWarning, match="Complex modules are a new feature"):
        m.to(device=device, dtype=C64)
    with pytest.warns(UserWarning, match="Complex modules are a new feature"):
        tm.to(torch.cfloat)
    assert m.weight.dtype is C64 and m.bias.dtype is C64 and m.weight.requires_grad
    x = gpuarr.randn(4, 2, dtype=C64, device=device)
    m(x).abs().sum().backward()
    assert m.weight.grad.dtype is C64
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        m.to(gpuarr.int64)


def test_linalg_refuses_complex_except_eig(device):
    a = gpuarr.randn(3, 3, dtype=C64, device=device)
    with pytest.raises(NotImplementedError, match="linalg.inv: gpuarr's linear algebra does not "
                       "take complex inputs yet"):
        gpuarr.linalg.inv(a)
    assert gpuarr.linalg.eigvals(a).dtype is C64
    z, tz = pair(crand(3, seed=50), device)
    close(gpuarr.dist(z, z * 2), torch.dist(tz, tz * 2), 1e-12)
