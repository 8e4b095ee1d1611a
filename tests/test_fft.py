"""gpuarr.fft against torch.fft (PyTorch 2.13), on every device: values and dtypes of every
transform for every input dtype and norm, hypothesis-drawn shapes / n / s / dim (size-1 dims,
bad sizes and dims included: then both must raise the same error), gradients (gradcheck and
gradgradcheck in float64 / complex128, and against torch's gradients for the same upstream
gradient), ``out=``, the frequency helpers and the shifts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from device_helpers import same_outcome as shared_same_outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpuarr
import gpuarr.fft as gfft
from gpuarr.autograd import gradcheck, gradgradcheck

C2C = ["fft", "ifft"]
R2C = ["rfft", "ihfft"]
C2R = ["irfft", "hfft"]
ONE_D = C2C + R2C + C2R
N_D = ["fftn", "ifftn", "rfftn", "ihfftn", "irfftn", "hfftn"]
TWO_D = ["fft2", "ifft2", "rfft2", "ihfft2", "irfft2", "hfft2"]
ALL = ONE_D + N_D + TWO_D
REAL_ONLY = {"rfft", "ihfft", "rfftn", "ihfftn", "rfft2", "ihfft2"}
NORMS = [None, "backward", "forward", "ortho"]


def rand(shape, dtype=np.float64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.standard_normal(shape) > 0
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5, 6, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def tol(t: torch.Tensor) -> float:
    return 1e-4 if t.dtype in (torch.float32, torch.complex64) else 1e-10


def assert_like(g, t) -> None:
    """Same dtype, shape and values as torch's result."""
    assert g.dtype.name == str(t.dtype).removeprefix("torch."), (g.dtype, t.dtype)
    assert tuple(g.shape) == tuple(t.shape), (g.shape, t.shape)
    a = tol(t)
    np.testing.assert_allclose(to_np(g), t.detach().resolve_conj().numpy(), rtol=a, atol=a)


def same_outcome(gcall, tcall):
    """Run torch's call; gpuarr's must give the same result, or raise the same error."""
    return shared_same_outcome(gcall, tcall, assert_like)[0]


# --------------------------------------------------------------------------------------------
# values and dtypes


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128,
                                   np.int64, np.bool_])
def test_every_transform_every_dtype_matches_torch(device, name, dtype):
    a = rand((3, 6), dtype)
    for norm in NORMS:
        same_outcome(lambda norm=norm: getattr(gfft, name)(gpuarr.tensor(a, device=device),
                                                           norm=norm),
                     lambda norm=norm: getattr(torch.fft, name)(torch.tensor(a), norm=norm))


@pytest.mark.parametrize("name", ALL)
def test_float16_is_refused_like_torch_on_the_cpu(device, name):
    a = rand((2, 4), np.float16)
    same_outcome(lambda: getattr(gfft, name)(gpuarr.tensor(a, device=device)),
                 lambda: getattr(torch.fft, name)(torch.tensor(a)))


def test_integer_inputs_follow_the_default_dtype(device):
    a = rand((4,), np.int64)
    prev = gpuarr.get_default_dtype()
    gpuarr.set_default_dtype(gpuarr.float64)
    try:
        assert gfft.fft(gpuarr.tensor(a, device=device)).dtype is gpuarr.complex128
        assert gfft.irfft(gpuarr.tensor(a, device=device)).dtype is gpuarr.float64
    finally:
        gpuarr.set_default_dtype(prev)
    assert gfft.fft(gpuarr.tensor(a, device=device)).dtype is gpuarr.complex64


def test_result_lives_on_the_input_device(device):
    x = gpuarr.randn(4, 5, device=device)
    for name in ALL:
        if name in ("irfft", "hfft", "irfftn", "hfftn", "irfft2", "hfft2"):
            y = getattr(gfft, name)(x.to(gpuarr.complex64))
        else:
            y = getattr(gfft, name)(x)
        assert y.device == x.device, name


def _maybe_int(draw, lo=-1, hi=8):
    return draw(st.one_of(st.none(), st.integers(lo, hi)))


@st.composite
def one_d_case(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    dim = draw(st.integers(-ndim - 1, ndim))
    return shape, _maybe_int(draw), dim, draw(st.sampled_from(NORMS))


@st.composite
def n_d_case(draw):
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    k = draw(st.integers(0, ndim + 1))
    dim = draw(st.one_of(st.none(), st.lists(st.integers(-ndim - 1, ndim), min_size=k,
                                             max_size=k).map(tuple)))
    if draw(st.booleans()):
        s = None
    else:
        k2 = len(dim) if dim is not None and draw(st.booleans()) else draw(st.integers(0, 3))
        s = tuple(draw(st.lists(st.integers(-1, 7), min_size=k2, max_size=k2)))
    return shape, s, dim, draw(st.sampled_from(NORMS))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=one_d_case(), name=st.sampled_from(ONE_D), cplx=st.booleans())
def test_one_d_shapes_n_dims_against_torch(device, case, name, cplx):
    shape, n, dim, norm = case
    a = rand(shape, np.complex128 if cplx and name not in REAL_ONLY else np.float64)
    same_outcome(lambda: getattr(gfft, name)(gpuarr.tensor(a, device=device), n=n, dim=dim,
                                             norm=norm),
                 lambda: getattr(torch.fft, name)(torch.tensor(a), n=n, dim=dim, norm=norm))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=n_d_case(), name=st.sampled_from(N_D + TWO_D), cplx=st.booleans())
def test_n_d_shapes_s_dims_against_torch(device, case, name, cplx):
    shape, s, dim, norm = case
    a = rand(shape, np.complex128 if cplx and name not in REAL_ONLY else np.float64)
    kw = {"s": s, "norm": norm}
    if dim is not None or name.endswith("n"):
        kw["dim"] = dim
    same_outcome(lambda: getattr(gfft, name)(gpuarr.tensor(a, device=device), **kw),
                 lambda: getattr(torch.fft, name)(torch.tensor(a), **kw))


def test_odd_and_even_c2r_lengths_and_non_contiguous_inputs(device):
    a = rand((5, 6), np.complex128)
    for name in C2R:
        for n in (1, 2, 7, 8, 11):
            same_outcome(lambda n=n, name=name: getattr(gfft, name)(
                            gpuarr.tensor(a, device=device).mT, n=n, dim=0),
                         lambda n=n, name=name: getattr(torch.fft, name)(
                            torch.tensor(a).mT, n=n, dim=0))
    b = rand((4, 6, 3))
    same_outcome(lambda: gfft.rfftn(gpuarr.tensor(b, device=device).permute(2, 0, 1)[:, ::2],
                                    dim=(0, 2)),
                 lambda: torch.fft.rfftn(torch.tensor(b).permute(2, 0, 1)[:, ::2], dim=(0, 2)))


@pytest.mark.parametrize("name", ONE_D + N_D)
def test_padding_an_empty_dim_to_n(device, name):
    a = rand((0,), np.float64 if name in REAL_ONLY else np.complex128)
    kw = {"n": 6} if name in ONE_D else {"s": (6,)}
    same_outcome(lambda: getattr(gfft, name)(gpuarr.tensor(a, device=device), **kw),
                 lambda: getattr(torch.fft, name)(torch.tensor(a), **kw))


@pytest.mark.parametrize("name", ALL)
def test_empty_batches_give_empty_results(device, name):
    # torch's CPU build fails here inside MKL ("Inconsistent configuration parameters");
    # its CUDA build, like gpuarr on both devices, gives the empty result of the right shape
    a = rand((1, 4), np.float64 if name in REAL_ONLY else np.complex128)
    want = getattr(torch.fft, name)(torch.tensor(a), dim=-1) if name in ONE_D else None
    x = gpuarr.tensor(a[:0], device=device, requires_grad=True)
    if name in ONE_D:
        y = getattr(gfft, name)(x)
        shape, dtype = (0,) + tuple(want.shape[1:]), str(want.dtype).removeprefix("torch.")
    else:  # transform the non-empty dim only
        y = getattr(gfft, name)(x, dim=(1,)) if name.endswith("n") else None
        if y is None:
            return
        want = getattr(torch.fft, name)(torch.tensor(a), dim=(1,))
        shape, dtype = (0,) + tuple(want.shape[1:]), str(want.dtype).removeprefix("torch.")
    assert tuple(y.shape) == shape and y.dtype.name == dtype
    (y.abs() if y.is_complex() else y).sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("kw", [
    {"dim": [0]}, {"dim": 0}, {"s": 3}, {"s": [3]}, {"dim": [0, 1]}, {"dim": [0.0]},
    {"s": [6, 2], "dim": [0, 2]}])
def test_integer_tensors_as_sizes_and_dims(device, kw):
    # torch's parser takes a one-element integer tensor where it takes an int
    a = rand((3, 4, 5))
    same_outcome(lambda: gfft.fftn(gpuarr.tensor(a, device=device),
                                   **{k: gpuarr.tensor(v) for k, v in kw.items()}),
                 lambda: torch.fft.fftn(torch.tensor(a),
                                        **{k: torch.tensor(v) for k, v in kw.items()}))
    if "s" in kw and len(kw) == 1:
        same_outcome(lambda: gfft.fft(gpuarr.tensor(a, device=device), n=gpuarr.tensor(kw["s"]),
                                      dim=gpuarr.tensor(0)),
                     lambda: torch.fft.fft(torch.tensor(a), n=torch.tensor(kw["s"]),
                                           dim=torch.tensor(0)))


def test_round_trips(device):
    x = gpuarr.tensor(rand((3, 8, 5)), device=device)
    np.testing.assert_allclose(to_np(gfft.ifftn(gfft.fftn(x)).real), to_np(x), atol=1e-12)
    np.testing.assert_allclose(to_np(gfft.irfftn(gfft.rfftn(x), s=x.shape)), to_np(x),
                               atol=1e-12)
    np.testing.assert_allclose(to_np(gfft.hfftn(gfft.ihfftn(x), s=x.shape)), to_np(x),
                               atol=1e-12)
    np.testing.assert_allclose(to_np(gfft.irfft(gfft.rfft(x, norm="ortho"), n=5,
                                                norm="ortho")), to_np(x), atol=1e-12)


# --------------------------------------------------------------------------------------------
# errors


ERRORS = [
    ("n=0", lambda F, T: F.fft(T(rand((3, 4))), n=0)),
    ("n<0", lambda F, T: F.ifft(T(rand((3, 4))), n=-1)),
    ("dim out", lambda F, T: F.fft(T(rand((3, 4))), dim=2)),
    ("dim out neg", lambda F, T: F.rfft(T(rand((3, 4))), dim=-3)),
    ("0-d", lambda F, T: F.fft(T(np.float64(1.0)))),
    ("0-d ihfft", lambda F, T: F.ihfft(T(np.float64(1.0)))),
    ("empty", lambda F, T: F.fft(T(np.zeros(0)))),
    ("bad norm", lambda F, T: F.fft(T(rand((3, 4))), norm="bad")),
    ("bad norm n-d", lambda F, T: F.hfftn(T(rand((3, 4), np.complex128)), norm="Ortho")),
    ("norm type", lambda F, T: F.fft(T(rand((3, 4))), norm=1)),
    ("norm type n-d", lambda F, T: F.fftn(T(rand((3, 4))), norm=1)),
    ("n float", lambda F, T: F.fft(T(rand((3, 4))), n=2.0)),
    ("n bool", lambda F, T: F.fft(T(rand((3, 4))), n=True)),
    ("dim tuple", lambda F, T: F.fft(T(rand((3, 4))), dim=(0,))),
    ("dim bool", lambda F, T: F.fft(T(rand((3, 4))), dim=True)),
    ("input list", lambda F, T: F.fft([1.0, 2.0])),
    ("input list 2-d", lambda F, T: F.fft2([1.0, 2.0])),
    ("rfft complex", lambda F, T: F.rfft(T(rand((3, 4), np.complex64)))),
    ("ihfft complex", lambda F, T: F.ihfft(T(rand((3, 4), np.complex64)))),
    ("rfftn complex", lambda F, T: F.rfftn(T(rand((3, 4), np.complex64)))),
    ("rfft2 complex", lambda F, T: F.rfft2(T(rand((3, 4), np.complex64)))),
    ("ihfftn complex", lambda F, T: F.ihfftn(T(rand((3, 4), np.complex128)))),
    ("ihfft2 complex", lambda F, T: F.ihfft2(T(rand((3, 4), np.complex128)))),
    ("ihfftn complex no dims", lambda F, T: F.ihfftn(T(rand((3, 4), np.complex128)), dim=())),
    ("rfftn complex dim out", lambda F, T: F.rfftn(T(rand((3, 4), np.complex128)), dim=(5,))),
    ("irfft size 1", lambda F, T: F.irfft(T(rand((1,), np.complex128)))),
    ("hfft2 size 1", lambda F, T: F.hfft2(T(rand((3, 1), np.complex128)))),
    ("irfftn s last -1", lambda F, T: F.irfftn(T(rand((3, 1), np.complex128)), s=(2, -1))),
    ("dims not unique", lambda F, T: F.fftn(T(rand((3, 4))), dim=(1, -1))),
    ("s and dim lengths", lambda F, T: F.fftn(T(rand((3, 4))), s=(2, 2), dim=(0,))),
    ("s too long", lambda F, T: F.fftn(T(rand((3, 4))), s=(2, 2, 2))),
    ("s zero", lambda F, T: F.fftn(T(rand((3, 4))), s=(0, 2))),
    ("s negative", lambda F, T: F.ifft2(T(rand((3, 4))), s=(-2, 2))),
    ("s float", lambda F, T: F.fftn(T(rand((3, 4))), s=1.5)),
    ("s tuple of floats", lambda F, T: F.fftn(T(rand((3, 4))), s=(1.5,))),
    ("dim float", lambda F, T: F.fftn(T(rand((3, 4))), dim=1.5)),
    ("dim bool n-d", lambda F, T: F.fftn(T(rand((3, 4))), dim=True)),
    ("fft2 of 1-d", lambda F, T: F.fft2(T(rand((4,))))),
    ("0-d with s", lambda F, T: F.fftn(T(np.float64(1.0)), s=(2,))),
    ("no axis rfftn", lambda F, T: F.rfftn(T(rand((3, 4))), dim=())),
    ("no axis irfftn", lambda F, T: F.irfftn(T(rand((3, 4), np.complex128)), dim=())),
    ("no axis hfftn 0-d", lambda F, T: F.hfftn(T(np.complex128(1.0)))),
    ("half", lambda F, T: F.fft(T(rand((3, 4), np.float16)), n=0)),
    ("half n-d s first", lambda F, T: F.fftn(T(rand((3, 4), np.float16)), s=(0,))),
    ("half n-d", lambda F, T: F.ihfftn(T(rand((3, 4), np.float16)))),
    ("order: dim before n", lambda F, T: F.irfft(T(rand((3, 4), np.complex128)), n=0, dim=5)),
    ("order: n before norm", lambda F, T: F.hfft(T(rand((3, 4), np.complex128)), n=0,
                                                norm="bad")),
    ("shift dim out", lambda F, T: F.fftshift(T(rand((3, 4))), dim=5)),
    ("shift 0-d", lambda F, T: F.ifftshift(T(np.float64(1.0)))),
]


@pytest.mark.parametrize("label,call", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(device, label, call):
    with pytest.raises(Exception) as want:
        call(torch.fft, torch.tensor)
    with pytest.raises(want.type) as got:
        call(gfft, lambda a: gpuarr.tensor(a, device=device))
    assert str(got.value) == str(want.value).replace("torch.", "gpuarr."), label


def test_fftn_over_no_dims_and_0d_is_a_complex_copy(device):
    for a, kw in ((rand((3, 4)), {"dim": ()}), (np.float64(2.5), {}), (rand((3, 4)), {"s": ()})):
        x = gpuarr.tensor(a, device=device)
        same_outcome(lambda x=x, kw=kw: gfft.fftn(x, **kw),
                     lambda a=a, kw=kw: torch.fft.fftn(torch.tensor(a), **kw))
        y = gfft.ifftn(x, **kw)
        y += 1
        np.testing.assert_array_equal(to_np(x), a)  # a copy, never a view


# --------------------------------------------------------------------------------------------
# gradients


def _kwargs(name: str, size: str) -> dict:
    if size == "default":
        return {}
    one_d = name in ONE_D
    grow = size == "grow"
    if one_d:
        return {"n": 7 if grow else 3}
    return {"s": (4, 7) if grow else (2, 3)}


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_gradcheck_every_transform(device, name, norm):
    rng = np.random.default_rng(1)
    xs = [gpuarr.tensor(rng.standard_normal((3, 5)), device=device, requires_grad=True)]
    if name not in REAL_ONLY:
        xs.append(gpuarr.tensor(rand((3, 5), np.complex128, 2), device=device,
                                requires_grad=True))
    for x in xs:
        for size in ("default", "grow", "shrink"):
            kw = _kwargs(name, size)
            fn = getattr(gfft, name)
            assert gradcheck(lambda t, kw=kw, fn=fn: fn(t, norm=norm, **kw), (x,))


@pytest.mark.parametrize("name", ALL)
def test_gradgradcheck_every_transform(device, name):
    x = gpuarr.tensor(rand((2, 4), np.complex128 if name not in REAL_ONLY else np.float64, 3),
                      device=device, requires_grad=True)
    kw = _kwargs(name, "grow")
    assert gradgradcheck(lambda t: getattr(gfft, name)(t, norm="ortho", **kw), (x,))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("size", ["default", "grow", "shrink"])
def test_gradients_match_torch_for_the_same_upstream_gradient(device, name, size):
    kw = _kwargs(name, size)
    dtypes = [np.float64, np.float32] + ([] if name in REAL_ONLY else
                                         [np.complex128, np.complex64])
    for dt in dtypes:
        a = rand((3, 6), dt, 4)
        t = torch.tensor(a, requires_grad=True)
        ty = getattr(torch.fft, name)(t, norm="ortho", **kw)
        v = rand(tuple(ty.shape), np.complex128 if ty.is_complex() else np.float64, 5)
        v = v.astype(str(ty.dtype).removeprefix("torch."))
        ty.backward(torch.tensor(v))
        g = gpuarr.tensor(a, device=device, requires_grad=True)
        gy = getattr(gfft, name)(g, norm="ortho", **kw)
        gy.backward(gpuarr.tensor(v, device=device))
        assert g.grad.dtype == g.dtype
        assert_like(g.grad, t.grad)
        assert type(gy.grad_fn).__name__ in ("FftC2CBackward0", "FftR2CBackward0",
                                             "FftC2RBackward0")


def test_real_to_real_compositions_through_complex(device):
    # a real loss through complex intermediates: the real gradcheck of the whole chain
    x = gpuarr.tensor(rand((2, 9)), device=device, requires_grad=True)
    w = gpuarr.tensor(rand((2, 5), np.complex128, 7), device=device, requires_grad=True)

    def filt(x, w):
        return gfft.irfft(gfft.rfft(x) * w, n=9)

    assert gradcheck(filt, (x, w))
    assert gradgradcheck(filt, (x, w))


# --------------------------------------------------------------------------------------------
# out=


@pytest.mark.parametrize("name,out_dtype", [
    ("fft", np.complex128), ("fft", np.float32), ("irfft", np.float64),
    ("irfft", np.complex64), ("irfft", np.int64), ("rfft", np.float32), ("fftn", np.float32),
    ("fft2", np.float64), ("ihfft", np.float32), ("hfftn", np.complex64),
    ("ifft", np.complex64),
])
def test_out_matches_torch(device, name, out_dtype):
    src = np.float64 if name in ("fft", "fftn", "fft2", "rfft", "ihfft", "ifft") else \
        np.complex128
    a = rand((3, 4), src)
    shape = tuple(getattr(torch.fft, name)(torch.tensor(a)).shape)
    tout = torch.empty(shape, dtype=getattr(torch, np.dtype(out_dtype).name))
    gout = gpuarr.empty(shape, dtype=getattr(gpuarr, np.dtype(out_dtype).name), device=device)
    try:
        r = getattr(torch.fft, name)(torch.tensor(a), out=tout)
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as info:
            getattr(gfft, name)(gpuarr.tensor(a, device=device), out=gout)
        assert str(info.value) == str(e)
        return
    g = getattr(gfft, name)(gpuarr.tensor(a, device=device), out=gout)
    assert g is gout and r is tout
    assert_like(g, r)


def test_out_refuses_autograd(device):
    x = gpuarr.randn(4, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        gfft.fft(x, out=gpuarr.empty(4, dtype=gpuarr.complex64, device=device))


# --------------------------------------------------------------------------------------------
# fftfreq, rfftfreq, fftshift, ifftshift


@pytest.mark.parametrize("fn", ["fftfreq", "rfftfreq"])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("d", [1.0, 0.1, 2, -0.5, 0.0])
@pytest.mark.parametrize("dtype", [None, "float16", "float32", "float64"])
def test_frequencies_match_torch(device, fn, n, d, dtype):
    kw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    t = getattr(torch.fft, fn)(n, d, **kw)
    gkw = {} if dtype is None else {"dtype": getattr(gpuarr, dtype)}
    g = getattr(gfft, fn)(n, d, device=device, **gkw)
    assert g.device.type == gpuarr.device(device).type
    assert g.dtype.name == str(t.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(to_np(g), t.numpy())


def test_frequencies_options_and_errors(device):
    g = gfft.fftfreq(4, requires_grad=True, device=device)
    assert g.requires_grad and g.is_leaf
    out = gpuarr.empty(3, dtype=gpuarr.float64, device=device)
    assert gfft.rfftfreq(5, out=out) is out
    np.testing.assert_array_equal(to_np(out), torch.fft.rfftfreq(5, dtype=torch.float64))
    for call in (lambda F, M: F.fftfreq(4, dtype=M.int64),
                 lambda F, M: F.fftfreq(4, dtype=M.complex64),
                 lambda F, M: F.fftfreq(-1),
                 lambda F, M: F.rfftfreq(1.5)):
        with pytest.raises(Exception) as want:
            call(torch.fft, torch)
        with pytest.raises(want.type) as got:
            call(gfft, gpuarr)
        assert str(got.value) == str(want.value)


@pytest.mark.parametrize("fn", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1), [1], (-1, 0), ()])
def test_shifts_match_torch_and_differentiate(device, fn, dim):
    a = rand((5, 4, 3))
    same_outcome(lambda: getattr(gfft, fn)(gpuarr.tensor(a, device=device), dim=dim),
                 lambda: getattr(torch.fft, fn)(torch.tensor(a), dim=dim))
    if dim != ():
        x = gpuarr.tensor(rand((3, 4), np.complex128), device=device, requires_grad=True)
        d = dim if not isinstance(dim, (tuple, list)) or max(map(abs, dim)) < 2 else None
        assert gradcheck(lambda t: getattr(gfft, fn)(t, dim=d), (x,))


def test_shift_undoes_shift(device):
    f = gfft.fftfreq(7, device=device)
    np.testing.assert_array_equal(to_np(gfft.ifftshift(gfft.fftshift(f))), to_np(f))
    assert (to_np(gfft.fftshift(f))[1:] > to_np(gfft.fftshift(f))[:-1]).all()
