"""gpuarr.stft and gpuarr.istft against torch (PyTorch 2.13), on every device: values, shapes
and dtypes over the options (windows shorter than n_fft, every pad mode, normalized,
onesided, align_to_window, complex signals and windows, lengths), hypothesis-drawn sizes
(errors included: both must raise the same), torch's error types and texts, its warnings,
and gradients (gradcheck / gradgradcheck, and against torch's for the same upstream
gradient) to the signal, the spectrum and the window."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from device_helpers import same_outcome as shared_same_outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_helpers import torch_error_text

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.ops.spectral import SpectralMethods, istft, stft


def rand(shape, dtype=np.float64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def hann(n: int) -> np.ndarray:
    return np.hanning(n + 2)[1:-1] + 0.05  # positive everywhere: NOLA holds for any hop


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def error_text(msg: str, device: str) -> str:
    msg = torch_error_text(msg, device)
    if gpuarr.device(device).type == "cuda":  # torch's names of complex and bool tensor types
        msg = re.sub(r"\bCPU(\w+)Type\b", r"CUDA\1Type", msg)
    return msg


def assert_like(g, t, atol: float | None = None) -> None:
    assert g.dtype.name == str(t.dtype).removeprefix("torch."), (g.dtype, t.dtype)
    assert tuple(g.shape) == tuple(t.shape), (g.shape, t.shape)
    if atol is None:
        atol = 1e-4 if t.dtype in (torch.float32, torch.complex64) else 1e-10
    np.testing.assert_allclose(to_np(g), t.detach().resolve_conj().numpy(), rtol=atol,
                               atol=atol)


def same_outcome(gcall, tcall, device: str):
    """torch's call and gpuarr's give the same result, or raise the same error."""
    return shared_same_outcome(gcall, tcall, assert_like, lambda m: error_text(m, device))


# --------------------------------------------------------------------------------------------
# values


CONFIGS = [  # n_fft, hop_length, win_length
    (16, None, None), (16, 4, 8), (15, 3, 11), (8, 8, 8), (12, 5, 12),
]
FRAMING = [  # center, pad_mode, align_to_window
    (True, "reflect", None), (True, "constant", None), (True, "replicate", None),
    (True, "circular", None), (False, "reflect", None), (False, "reflect", True),
    (False, "reflect", False),
]


@pytest.mark.parametrize("shape", [(64,), (2, 37)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("framing", FRAMING)
def test_stft_and_istft_match_torch(device, shape, dtype, config, framing):
    n_fft, hop, win = config
    center, pad_mode, align = framing
    a = rand(shape, dtype)
    w = hann(win or n_fft).astype(np.float32 if dtype in (np.float32, np.complex64)
                                  else np.float64)
    for window in (None, w):
        gw = None if window is None else gpuarr.tensor(window, device=device)
        tw = None if window is None else torch.tensor(window)
        for normalized in (False, True):
            for onesided in (None, False):
                kw = dict(hop_length=hop, win_length=win, center=center, pad_mode=pad_mode,
                          normalized=normalized, onesided=onesided, return_complex=True,
                          align_to_window=align)
                g, t = same_outcome(
                    lambda kw=kw, gw=gw: stft(gpuarr.tensor(a, device=device), n_fft,
                                              window=gw, **kw),
                    lambda kw=kw, tw=tw: torch.stft(torch.tensor(a), n_fft, window=tw, **kw),
                    device)
                if g is None or align:
                    continue
                for length in (None, shape[-1], shape[-1] + 3):
                    for rc in (False, True):
                        ikw = dict(hop_length=hop, win_length=win, center=center,
                                   normalized=normalized, onesided=onesided, length=length,
                                   return_complex=rc)
                        same_outcome(lambda ikw=ikw, g=g, gw=gw: istft(g, n_fft, window=gw,
                                                                       **ikw),
                                     lambda ikw=ikw, t=t, tw=tw: torch.istft(t, n_fft,
                                                                             window=tw, **ikw),
                                     device)


def test_window_dtype_promotes_and_complex_window(device):
    a = rand((40,), np.float32)
    for window in (hann(16), hann(16) * (1 + 0.5j)):
        g, t = same_outcome(
            lambda w=window: stft(gpuarr.tensor(a, device=device), 16,
                                  window=gpuarr.tensor(w, device=device), return_complex=True),
            lambda w=window: torch.stft(torch.tensor(a), 16, window=torch.tensor(w),
                                        return_complex=True), device)
        assert g is not None
        same_outcome(lambda w=window, g=g: istft(g, 16, window=gpuarr.tensor(w, device=device),
                                                 return_complex=bool(np.iscomplexobj(w))),
                     lambda w=window, t=t: torch.istft(t, 16, window=torch.tensor(w),
                                                       return_complex=bool(np.iscomplexobj(w))),
                     device)


def test_round_trip(device):
    x = gpuarr.tensor(rand((3, 500)), device=device)
    w = gpuarr.hann_window(64, dtype=gpuarr.float64, device=device)
    S = stft(x, 64, hop_length=16, window=w, return_complex=True)
    assert S.shape == (3, 33, 32) and S.dtype is gpuarr.complex128 and S.device == x.device
    y = istft(S, 64, hop_length=16, window=w, length=500)
    np.testing.assert_allclose(to_np(y), to_np(x), atol=1e-10)


@st.composite
def stft_case(draw):
    length = draw(st.integers(1, 40))
    n_fft = draw(st.integers(1, 20))
    hop = draw(st.one_of(st.none(), st.integers(0, 12)))
    win = draw(st.one_of(st.none(), st.integers(0, 21)))
    center = draw(st.booleans())
    pad_mode = draw(st.sampled_from(["reflect", "constant", "replicate", "circular"]))
    batch = draw(st.sampled_from([(), (2,)]))
    return length, n_fft, hop, win, center, pad_mode, batch


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=stft_case(), use_window=st.booleans(), normalized=st.booleans(),
       length_delta=st.one_of(st.none(), st.integers(-5, 5)))
def test_sizes_against_torch(device, case, use_window, normalized, length_delta):
    length, n_fft, hop, win, center, pad_mode, batch = case
    a = rand(batch + (length,))
    wl = n_fft if win is None else win
    window = hann(wl) if use_window and wl > 0 else None
    gw = None if window is None else gpuarr.tensor(window, device=device)
    tw = None if window is None else torch.tensor(window)
    kw = dict(hop_length=hop, win_length=win, center=center, pad_mode=pad_mode,
              normalized=normalized, return_complex=True)
    g, t = same_outcome(lambda: stft(gpuarr.tensor(a, device=device), n_fft, window=gw, **kw),
                        lambda: torch.stft(torch.tensor(a), n_fft, window=tw, **kw), device)
    if g is None:
        return
    ilen = None if length_delta is None else length + length_delta
    ikw = dict(hop_length=hop, win_length=win, center=center, normalized=normalized,
               length=ilen)
    same_outcome(lambda: istft(g, n_fft, window=gw, **ikw),
                 lambda: torch.istft(t, n_fft, window=tw, **ikw), device)


# --------------------------------------------------------------------------------------------
# errors and warnings


def _spec(F, T):
    """A (2, 9, 17) complex64 spectrum: stft of a (2, 64) signal, n_fft 16."""
    x = T(rand((2, 64), np.float32))
    return F.stft(x, 16, window=T(hann(16).astype(np.float32)), return_complex=True)


ERRORS = [
    ("no return_complex", lambda F, T: F.stft(T(rand((64,))), 16)),
    ("3-d", lambda F, T: F.stft(T(rand((2, 2, 64))), 16, return_complex=True)),
    ("0-d", lambda F, T: F.stft(T(np.float64(1.0)), 16, return_complex=True)),
    ("int", lambda F, T: F.stft(T(np.arange(64)), 16, return_complex=True)),
    ("n_fft 0", lambda F, T: F.stft(T(rand((2, 64))), 0, return_complex=True)),
    ("n_fft too big", lambda F, T: F.stft(T(rand((2, 64))), 200, center=False,
                                          return_complex=True)),
    ("n_fft too big, win shown", lambda F, T: F.stft(T(rand((10,))), 16, win_length=8,
                                                     center=False, return_complex=True)),
    ("reflect too big", lambda F, T: F.stft(T(rand((5,))), 16, return_complex=True)),
    ("hop 0", lambda F, T: F.stft(T(rand((64,))), 16, hop_length=0, return_complex=True)),
    ("win 0", lambda F, T: F.stft(T(rand((64,))), 16, win_length=0, return_complex=True)),
    ("win > n_fft", lambda F, T: F.stft(T(rand((64,))), 16, win_length=17,
                                        return_complex=True)),
    ("window size", lambda F, T: F.stft(T(rand((2, 64))), 16, window=T(np.ones(10)),
                                        return_complex=True)),
    ("window 2-d", lambda F, T: F.stft(T(rand((2, 64))), 16, window=T(np.ones((2, 8))),
                                       return_complex=True)),
    ("complex onesided", lambda F, T: F.stft(T(rand((64,), np.complex64)), 16, onesided=True,
                                             return_complex=True)),
    ("complex repr", lambda F, T: F.stft(T(rand((64,), np.complex64)), 16, hop_length=0)),
    ("complex window repr", lambda F, T: F.stft(T(rand((64,))), 16, hop_length=0,
                                                window=T(np.ones(16, np.complex128)),
                                                onesided=False)),
    ("pad mode", lambda F, T: F.stft(T(rand((64,))), 16, pad_mode="foo",
                                     return_complex=True)),
    ("align with center", lambda F, T: F.stft(T(rand((64,))), 16, align_to_window=True,
                                              return_complex=True)),
    ("half", lambda F, T: F.stft(T(rand((64,), np.float16)), 16, return_complex=True)),
    ("n_fft float", lambda F, T: F.stft(T(rand((64,))), 16.0, return_complex=True)),
    ("istft real input", lambda F, T: F.istft(F.view_as_real(_spec(F, T)), 16)),
    ("istft empty", lambda F, T: F.istft(_spec(F, T)[:, :, :0], 16)),
    ("istft 1-d", lambda F, T: F.istft(_spec(F, T)[0, :, 0], 16)),
    ("istft 4-d", lambda F, T: F.istft(_spec(F, T)[None, None], 16)),
    ("istft onesided size", lambda F, T: F.istft(_spec(F, T), 18)),
    ("istft full size", lambda F, T: F.istft(_spec(F, T), 16, onesided=False)),
    ("istft hop 0", lambda F, T: F.istft(_spec(F, T), 16, hop_length=0)),
    ("istft hop > win", lambda F, T: F.istft(_spec(F, T), 16, hop_length=20)),
    ("istft win > n_fft", lambda F, T: F.istft(_spec(F, T), 16, win_length=17)),
    ("istft window size", lambda F, T: F.istft(_spec(F, T), 16, window=T(np.ones(10)))),
    ("istft NOLA", lambda F, T: F.istft(_spec(F, T), 16, window=T(np.zeros(16)))),
    ("istft NOLA not centred", lambda F, T: F.istft(_spec(F, T), 16,
                                                    window=T(np.hanning(16)), center=False)),
    ("istft onesided complex", lambda F, T: F.istft(_spec(F, T), 16, return_complex=True)),
    ("istft length 0", lambda F, T: F.istft(_spec(F, T), 16, length=0)),
    ("istft complex window real out", lambda F, T: F.istft(
        F.stft(T(rand((64,), np.complex64)), 16), 16, window=T(np.ones(16, np.complex64)))),
]


class _Namespace:
    """gpuarr's stft/istft and view_as_real under torch's names, for the error cases."""

    stft = staticmethod(stft)
    istft = staticmethod(istft)
    view_as_real = staticmethod(gpuarr.view_as_real)


@pytest.mark.parametrize("label,call", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(device, label, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as want:
            call(torch, torch.tensor)
        with pytest.raises(want.type) as got:
            call(_Namespace, lambda a: gpuarr.tensor(a, device=device))
    if want.type is TypeError:  # torch's parser lists its overloads: the first line only
        assert str(got.value).startswith("stft(") or "must be" in str(got.value)
        return
    assert str(got.value) == error_text(str(want.value), device), label


def test_warnings_match_torch(device):
    x = rand((64,))
    with pytest.warns(UserWarning, match="A window was not provided"):
        stft(gpuarr.tensor(x, device=device), 16, return_complex=True)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        g = stft(gpuarr.tensor(x, device=device), 16, window=gpuarr.ones(16, device=device),
                 return_complex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.stft(torch.tensor(x), 16, window=torch.ones(16), return_complex=False)
    assert_like(g, t)
    S = stft(gpuarr.tensor(x, device=device), 16, window=gpuarr.ones(16, device=device),
             return_complex=True)
    with pytest.warns(UserWarning, match="Result is being padded with zeros in the tail"):
        y = istft(S, 16, window=gpuarr.ones(16, device=device), length=80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.istft(torch.tensor(to_np(S)), 16, window=torch.ones(16), length=80)
    assert_like(y, t)
    np.testing.assert_array_equal(to_np(y)[72:], 0)  # 64 + 16 covered, less 8 of padding


# --------------------------------------------------------------------------------------------
# gradients


@pytest.mark.parametrize("pad_mode", ["reflect", "constant", "replicate", "circular"])
def test_stft_gradcheck_signal_and_window(device, pad_mode):
    x = gpuarr.tensor(rand((2, 20)), device=device, requires_grad=True)
    w = gpuarr.tensor(hann(8), device=device, requires_grad=True)
    assert gradcheck(lambda a, b: stft(a, 8, hop_length=3, window=b, pad_mode=pad_mode,
                                       return_complex=True), (x, w))


def test_stft_gradcheck_complex_short_window_and_second_order(device):
    xc = gpuarr.tensor(rand((20,), np.complex128), device=device, requires_grad=True)
    w = gpuarr.tensor(hann(6), device=device, requires_grad=True)
    assert gradcheck(lambda a, b: stft(a, 8, hop_length=3, win_length=6, window=b,
                                       center=False, normalized=True, return_complex=True),
                     (xc, w))
    x = gpuarr.tensor(rand((17,)), device=device, requires_grad=True)
    assert gradgradcheck(lambda a, b: stft(a, 8, hop_length=3, win_length=6, window=b,
                                           return_complex=True), (x, w))


def test_istft_gradcheck(device):
    w = gpuarr.tensor(hann(8), device=device, requires_grad=True)
    x = gpuarr.tensor(rand((2, 20)), device=device)
    S = stft(x, 8, hop_length=2, window=w.detach(), return_complex=True).requires_grad_()
    assert gradcheck(lambda s, b: istft(s, 8, hop_length=2, window=b), (S, w))
    assert gradcheck(lambda s, b: istft(s, 8, hop_length=2, window=b, length=23,
                                        center=False), (S, w))
    assert gradgradcheck(lambda s, b: istft(s, 8, hop_length=2, window=b), (S, w))
    xc = gpuarr.tensor(rand((20,), np.complex128), device=device)
    S2 = stft(xc, 8, hop_length=2, window=w.detach()).requires_grad_()
    assert gradcheck(lambda s, b: istft(s, 8, hop_length=2, window=b, return_complex=True),
                     (S2, w))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_gradients_match_torch_for_the_same_upstream_gradient(device, dtype):
    a = rand((2, 30), dtype)
    wdt = np.float32 if dtype == np.float32 else np.float64
    win = hann(10).astype(wdt)
    tx = torch.tensor(a, requires_grad=True)
    tw = torch.tensor(win, requires_grad=True)
    ts = torch.stft(tx, 12, hop_length=4, win_length=10, window=tw, return_complex=True)
    ty = torch.istft(ts * ts.abs(), 12, hop_length=4, win_length=10, window=tw, length=31,
                     return_complex=bool(np.iscomplexobj(a)))
    v = rand(tuple(ty.shape), np.complex128 if ty.is_complex() else np.float64, 9)
    v = v.astype(str(ty.dtype).removeprefix("torch."))
    ty.backward(torch.tensor(v))
    gx = gpuarr.tensor(a, device=device, requires_grad=True)
    gw = gpuarr.tensor(win, device=device, requires_grad=True)
    gs = stft(gx, 12, hop_length=4, win_length=10, window=gw, return_complex=True)
    gy = istft(gs * gs.abs(), 12, hop_length=4, win_length=10, window=gw, length=31,
               return_complex=bool(np.iscomplexobj(a)))
    assert_like(gy, ty)
    gy.backward(gpuarr.tensor(v, device=device))
    assert_like(gx.grad, tx.grad, atol=1e-3 if dtype == np.float32 else None)
    assert_like(gw.grad, tw.grad, atol=1e-3 if dtype == np.float32 else None)


# --------------------------------------------------------------------------------------------
# Tensor methods


def test_tensor_methods(device):
    assert SpectralMethods.stft is stft and SpectralMethods.istft is istft
    x = gpuarr.tensor(rand((50,)), device=device)
    w = gpuarr.hann_window(16, dtype=gpuarr.float64, device=device)
    S = x.stft(16, window=w, return_complex=True)
    np.testing.assert_array_equal(to_np(S), to_np(stft(x, 16, window=w, return_complex=True)))
    np.testing.assert_allclose(to_np(S.istft(16, window=w, length=50)), to_np(x), atol=1e-10)
    assert gpuarr.stft is stft and gpuarr.istft is istft
