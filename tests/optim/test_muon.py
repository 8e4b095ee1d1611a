"""Muon against torch.optim.Muon: parameters and momentum buffers over several steps (wide,
tall and square 2-D parameters, float32 and float64, the options), the bfloat16
Newton-Schulz orthogonalisation, argument errors, state-dict round trips both ways, and a
gpuarr.compile'd training step against eager."""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pytest
import torch
from compile_models import assert_same, batches, snap, twin_models
from optim_helpers import (
    check_params,
    check_state,
    make_pair,
    random_steps,
    set_grads,
    to_jsonable,
    to_np,
    to_torch,
)
from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns

import gpuarr
from gpuarr.optim.muon import Muon, _decay_factor, _update_alpha, _zeropower_via_newtonschulz

# wide, tall (orthogonalised transposed), square, and larger wide and tall ones
SHAPES = [(3, 5), (5, 3), (4, 4), (8, 20), (24, 6)]
STEPS = 4

CONFIGS = [
    dict(),
    dict(nesterov=False),
    dict(weight_decay=0.0, lr=0.02),
    dict(adjust_lr_fn="original", weight_decay=0.3, lr=0.01),
    dict(adjust_lr_fn="match_rms_adamw", lr=0.05),
    dict(ns_steps=3, nesterov=False),
    dict(momentum=0.5),  # lerp weights of 0.5: both lerps take torch's second formula
    dict(momentum=0.3, lr=0.02),  # the buffer's lerp weight 0.7: the second formula
    dict(momentum=0.0, ns_steps=1),  # buffer = gradient
    dict(ns_coefficients=(2.0, -1.5, 0.5), ns_steps=4),
    dict(eps=10.0),  # eps above the update's norm: the clamp takes it
]

# Tolerances, from what each part of the step computes:
# - momentum buffers: torch's lerp is one fused multiply-add per element; gpuarr fuses it
#   exactly in float32 (through float64) and with the backend's axpy in float64, which may
#   round the product first (its rounding error, below 2**-52 * |w * (end - start)| < 2**-50,
#   then at most one ulp of the result: atol 2**-50, rtol 2**-51).
# - parameters: the orthogonalised update O is bfloat16 (8-bit significands). Its matrix
#   products accumulate in float32 in torch's kernel order here and in the BLAS's order in
#   gpuarr, so an entry of O may round to a neighbouring bfloat16 value, and the quintic
#   iteration can spread that to a few units of 2**-8 (measured at most 2**-6.4 on these
#   shapes; most entries are equal bit for bit, see test_orthogonalisation_matches_torch).
#   A step moves p by adjusted_lr * O, so after n steps p may differ by
#   n * adjusted_lr * 2**-5, plus rounding of p itself.
BUF_TOL = {np.float32: dict(rtol=0, atol=0), np.float64: dict(rtol=2.0**-51, atol=2.0**-50)}
P_RTOL = {np.float32: 2.0**-22, np.float64: 2.0**-50}
O_ERR = 2.0**-5


def _adjusted_lr(kwargs: dict, shape: tuple) -> float:
    lr = float(kwargs.get("lr", 1e-3))
    a, b = shape
    if kwargs.get("adjust_lr_fn") == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(a, b))
    return lr * math.sqrt(max(1, a / b))


def _check_params_bound(gp, tp, kwargs: dict, dtype, n_steps: int, what: str = "") -> None:
    for g, t in zip(gp, tp):
        atol = n_steps * _adjusted_lr(kwargs, tuple(t.shape)) * O_ERR
        check_params([g], [t], dict(rtol=P_RTOL[dtype], atol=atol), f"{what} {tuple(t.shape)}")


def _twins(kwargs: dict, dtype, device, shapes=SHAPES):
    gp, tp = make_pair(shapes, dtype, device)
    return gp, tp, Muon(gp, **kwargs), torch.optim.Muon(tp, **kwargs)


# ---- the update ----

@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: ",".join(
    f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_matches_torch(kwargs, dtype, device):
    gp, tp, gopt, topt = _twins(kwargs, dtype, device)
    rng = np.random.default_rng(1)
    for k in range(STEPS):
        # now and then a parameter without a gradient: skipped, its buffer untouched
        set_grads(gp, tp, rng, dtype, skip=(1,) if k % 3 == 1 else ())
        gopt.step()
        topt.step()
        check_state(gopt, topt, gp, tp, BUF_TOL[dtype], layout=True)
        _check_params_bound(gp, tp, kwargs, dtype, k + 1, f"step {k}")


def test_float16_parameters_match_torch(device):
    _check_half_precision("float16", device)


def test_bfloat16_parameters_match_torch():
    _check_half_precision("bfloat16", "cpu")  # CuPy has no bfloat16: CPU tensors only


def _check_half_precision(name: str, device: str) -> None:
    """float16 and bfloat16 parameters compute in float32 as torch's CPU kernels do (the
    buffers' lerps and the update rounded once to the half type)."""
    gp, tp = make_pair(SHAPES, np.float32, device)
    gp = [p.detach().to(getattr(gpuarr, name)).requires_grad_() for p in gp]
    tp = [p.detach().to(getattr(torch, name)).requires_grad_() for p in tp]
    gopt, topt = Muon(gp, lr=0.02), torch.optim.Muon(tp, lr=0.02)
    rng = np.random.default_rng(10)
    for _ in range(STEPS):
        for g, t in zip(gp, tp):
            a = rng.standard_normal(tuple(t.shape)).astype(np.float32)
            t.grad = torch.tensor(a).to(t.dtype)
            g.grad = gpuarr.tensor(a, device=device).to(g.dtype)
        gopt.step()
        topt.step()
    # p (|p| < 8) may differ by a unit of its last place, 2**-8 (bfloat16) or 2**-11 (float16)
    # of 8, besides the bound on O's differences
    ulp = 8 * (2.0**-8 if name == "bfloat16" else 2.0**-11)
    for g, t in zip(gp, tp):
        gb, tb = gopt.state[g]["momentum_buffer"], topt.state[t]["momentum_buffer"]
        assert gb.dtype == getattr(gpuarr, name)
        np.testing.assert_array_equal(to_np(gb.float()), tb.float().numpy())
        atol = STEPS * _adjusted_lr(dict(lr=0.02), tuple(t.shape)) * O_ERR + ulp
        np.testing.assert_allclose(to_np(g.float()), t.detach().float().numpy(), rtol=0,
                                   atol=atol)


def test_orthogonalisation_matches_torch():
    """The Newton-Schulz iteration in bfloat16 as torch's: nearly every entry bit for bit
    (a float32 iteration would match almost none), the rest within a few bfloat16 units
    (the products' float32 sums are added in another order)."""
    rng = np.random.default_rng(2)
    equal = []
    for shape in SHAPES + [(1, 6), (6, 1), (16, 16)]:
        for dtype in (np.float32, np.float64):
            for scale in (1e-3, 1.0, 50.0):
                a = (rng.standard_normal(shape) * scale).astype(dtype)
                want = torch_ns(torch.tensor(a), (3.4445, -4.775, 2.0315), 5, 1e-7)
                got = _zeropower_via_newtonschulz(np, a, (3.4445, -4.775, 2.0315), 5, 1e-7)
                want = want.float().numpy()
                assert got.dtype == np.float32 and got.shape == shape
                np.testing.assert_allclose(got, want, rtol=0, atol=O_ERR)
                equal.append(np.mean(got == want))
    assert np.mean(equal) > 0.9, np.mean(equal)


def test_bfloat16_rounding_of_the_input_like_torch():
    """torch converts a float64 gradient to bfloat16 through float32 (two roundings): a value
    just above a tie between two bfloat16 values rounds to even, as torch's."""
    v = 1 + 2.0**-8 + 2.0**-40  # float32 rounds it to the tie 1 + 2**-8
    a = np.array([[v, 1.0], [0.5, 0.25]])
    got = _zeropower_via_newtonschulz(np, a, (1.0, 0.0, 0.0), 0, 1e-7)  # just x / |x|
    want = torch_ns(torch.tensor(a), (1.0, 0.0, 0.0), 0, 1e-7).float().numpy()
    np.testing.assert_array_equal(got, want)


def test_state_layout_like_torch(device):
    """One momentum buffer per parameter that had a gradient (zeros like it at the first
    step), no step count; a parameter that never had a gradient has no state."""
    gp, tp, gopt, topt = _twins({}, np.float32, device)
    assert len(gopt.state) == 0
    set_grads(gp, tp, np.random.default_rng(3), np.float32, skip=(2,))
    gopt.step()
    topt.step()
    assert gp[2] not in gopt.state and tp[2] not in topt.state
    assert all(list(gopt.state[p]) == ["momentum_buffer"] for p in gp if p is not gp[2])
    check_state(gopt, topt, [p for i, p in enumerate(gp) if i != 2],
                [p for i, p in enumerate(tp) if i != 2], BUF_TOL[np.float32], layout=True)
    np.testing.assert_array_equal(to_np(gp[2]), tp[2].detach().numpy())


def test_zero_grad_then_step_changes_nothing(device):
    gp, tp, gopt, topt = _twins({}, np.float32, device)
    rng = np.random.default_rng(4)
    set_grads(gp, tp, rng, np.float32)
    gopt.step()
    before = [to_np(p).copy() for p in gp]
    gopt.zero_grad()
    assert all(p.grad is None for p in gp)
    gopt.step()
    for a, p in zip(before, gp):
        np.testing.assert_array_equal(a, to_np(p))


def test_param_groups_match_torch(device):
    gp, tp = make_pair(SHAPES, np.float32, device)
    extra = dict(nesterov=False, weight_decay=0.05, ns_steps=3, lr=0.03,
                 adjust_lr_fn="match_rms_adamw")
    gopt = Muon([{"params": gp[:2]}, {"params": gp[2:], **extra}], lr=0.02)
    topt = torch.optim.Muon([{"params": tp[:2]}, {"params": tp[2:], **extra}], lr=0.02)
    rng = np.random.default_rng(5)
    for k in range(STEPS):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
        check_state(gopt, topt, gp, tp, BUF_TOL[np.float32])
        _check_params_bound(gp[:2], tp[:2], dict(lr=0.02), np.float32, k + 1, f"step {k}")
        _check_params_bound(gp[2:], tp[2:], extra, np.float32, k + 1, f"step {k}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_tensor_lr_matches_torch(dtype, device):
    """A tensor lr: torch computes ``1 - lr * weight_decay`` and the adjusted lr as float32
    tensors; gpuarr rounds them the same way."""
    gp, tp = make_pair(SHAPES, dtype, device)
    gopt = Muon(gp, lr=gpuarr.tensor(0.02), weight_decay=0.3)
    topt = torch.optim.Muon(tp, lr=torch.tensor(0.02), weight_decay=0.3)
    rng = np.random.default_rng(6)
    for k in range(STEPS):
        set_grads(gp, tp, rng, dtype)
        gopt.step()
        topt.step()
        check_state(gopt, topt, gp, tp, BUF_TOL[dtype])
        _check_params_bound(gp, tp, dict(lr=0.02), dtype, k + 1, f"step {k}")


@pytest.mark.parametrize("lr", [0.02, 0.3, 1e-3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("fn", [None, "match_rms_adamw"])
def test_update_factors_round_like_torch(lr, dtype, fn):
    """The weight-decay factor and the update's alpha, with a float or a tensor lr, are the
    numbers torch multiplies by (as the parameter's dtype rounds them), bit for bit."""
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    shape = (24, 6)
    for tensor_lr in (False, True):
        group = {"lr": gpuarr.tensor(lr) if tensor_lr else lr, "weight_decay": 0.3,
                 "adjust_lr_fn": fn}
        tlr = torch.tensor(lr) if tensor_lr else lr
        ratio = 0.2 * math.sqrt(24) if fn else 2.0
        t_decay = torch.ones((), dtype=tdt).mul_(1 - tlr * 0.3)
        t_alpha = torch.zeros((), dtype=tdt).add_(torch.ones((), dtype=tdt),
                                                  alpha=-(tlr * ratio))
        assert np.dtype(dtype).type(_decay_factor(group)) == \
            t_decay.item()
        assert _update_alpha(group, shape, np.dtype(dtype).char) == t_alpha.item()


def test_lr_scheduler_on_top_matches_torch(device):
    gp, tp, gopt, topt = _twins(dict(lr=0.05, weight_decay=0.1), np.float32, device)
    gs = gpuarr.optim.lr_scheduler.StepLR(gopt, step_size=2, gamma=0.5)
    ts = torch.optim.lr_scheduler.StepLR(topt, step_size=2, gamma=0.5)
    rng = np.random.default_rng(7)
    for k in range(STEPS):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
        assert gopt.param_groups[0]["lr"] == topt.param_groups[0]["lr"]
        _check_params_bound(gp, tp, dict(lr=0.05), np.float32, k + 1, f"step {k}")


def test_empty_parameters(device):
    """A (0, n) parameter steps as in torch (nothing to change); an (n, 0) one is left
    alone too, where torch's lr adjustment divides by zero (ZeroDivisionError)."""
    gp, tp = make_pair([(0, 3), (3, 0), (3, 2)], np.float32, device)
    gopt = Muon(gp, lr=0.02)
    topt = torch.optim.Muon([tp[0], tp[2]], lr=0.02)
    rng = np.random.default_rng(8)
    for _ in range(3):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
    _check_params_bound([gp[2]], [tp[2]], dict(lr=0.02), np.float32, 3)
    np.testing.assert_array_equal(to_np(gopt.state[gp[0]]["momentum_buffer"]),
                                  topt.state[tp[0]]["momentum_buffer"].numpy())
    assert tuple(gopt.state[gp[1]]["momentum_buffer"].shape) == (3, 0)
    with pytest.raises(ZeroDivisionError):  # torch's accident, which gpuarr does not copy
        torch.optim.Muon([tp[1]]).step()


def test_closure_loss_is_returned():
    p = gpuarr.tensor([[1.0, -2.0]], requires_grad=True)
    opt = Muon([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == pytest.approx(5.0)
    assert list(opt.state[p]) == ["momentum_buffer"]


# ---- signature and argument errors ----

def _error_of(fn):
    with pytest.raises(Exception) as e:
        fn()
    # gpuarr names its own Size class where torch names torch.Size
    return type(e.value), str(e.value).replace("gpuarr.Size", "torch.Size")


def test_signature_and_defaults_match_torch():
    gsig, tsig = inspect.signature(Muon), inspect.signature(torch.optim.Muon)
    assert [(p.name, p.kind, p.default) for p in gsig.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in tsig.parameters.values()]
    gopt = Muon([gpuarr.ones(2, 2, requires_grad=True)])
    topt = torch.optim.Muon([torch.ones(2, 2, requires_grad=True)])
    assert gopt.defaults == topt.defaults
    assert gpuarr.optim.Muon is Muon
    assert Muon.__doc__ and "Example" in Muon.__doc__


BAD_ARGS = [
    dict(lr=-1.0),
    dict(lr=float("nan")),
    dict(momentum=-0.1),
    dict(weight_decay=-0.1),
    dict(adjust_lr_fn="cosine"),
    dict(adjust_lr_fn=""),
]


@pytest.mark.parametrize("kwargs", BAD_ARGS, ids=str)
def test_argument_errors_match_torch(kwargs):
    gerr = _error_of(lambda: Muon([gpuarr.ones(2, 2, requires_grad=True)], **kwargs))
    terr = _error_of(lambda: torch.optim.Muon([torch.ones(2, 2, requires_grad=True)],
                                              **kwargs))
    assert gerr == terr


@pytest.mark.parametrize("lr", [[0.1, 0.2], -1.0], ids=["two-elements", "negative"])
def test_tensor_lr_errors_match_torch(lr):
    gerr = _error_of(lambda: Muon([gpuarr.ones(2, 2, requires_grad=True)],
                                  lr=gpuarr.tensor(lr)))
    terr = _error_of(lambda: torch.optim.Muon([torch.ones(2, 2, requires_grad=True)],
                                              lr=torch.tensor(lr)))
    assert gerr == terr


@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4)], ids=str)
def test_non_2d_parameters_are_refused_like_torch(shape):
    gerr = _error_of(lambda: Muon([gpuarr.ones(2, 2, requires_grad=True),
                                   gpuarr.ones(shape, requires_grad=True)]))
    terr = _error_of(lambda: torch.optim.Muon([torch.ones(2, 2, requires_grad=True),
                                               torch.ones(shape, requires_grad=True)]))
    assert gerr == terr
    assert _error_of(lambda: Muon([])) == _error_of(lambda: torch.optim.Muon([]))


@pytest.mark.parametrize("kwargs", [dict(ns_steps=100), dict(ns_coefficients=(1.0, 2.0)),
                                    dict(ns_coefficients=(1.0, 2.0, 3.0, 4.0))], ids=str)
def test_step_time_errors_match_torch(kwargs, device):
    """torch checks ns_steps and ns_coefficients at the step (after updating the momentum
    buffer); gpuarr raises the same errors before changing anything."""
    gp, tp = make_pair([(3, 4)], np.float32, device)
    set_grads(gp, tp, np.random.default_rng(9), np.float32)
    gopt, topt = Muon(gp, **kwargs), torch.optim.Muon(tp, **kwargs)
    assert _error_of(gopt.step) == _error_of(topt.step)
    assert len(gopt.state) == 0
    check_params(gp, tp, dict(rtol=0, atol=0))


def test_complex_parameters_and_sparse_gradients_raise_like_torch(monkeypatch):
    """gpuarr has neither complex dtypes nor sparse tensors; a tensor that reports being one
    is refused at the step with torch's errors."""
    tc = torch.zeros(2, 2, dtype=torch.complex64, requires_grad=True)
    tc.grad = torch.ones(2, 2, dtype=torch.complex64)
    t_complex = _error_of(lambda: torch.optim.Muon([tc]).step())
    ts = torch.zeros(2, 3, requires_grad=True)
    ts.grad = torch.ones(2, 3).to_sparse()
    t_sparse = _error_of(lambda: torch.optim.Muon([ts]).step())

    p = gpuarr.zeros(2, 3, requires_grad=True)
    p.grad = gpuarr.ones(2, 3)
    opt = Muon([p])
    with monkeypatch.context() as m:
        m.setattr(gpuarr.Tensor, "is_complex", lambda self: True)
        assert _error_of(opt.step) == t_complex
    with monkeypatch.context() as m:
        m.setattr(gpuarr.Tensor, "is_sparse", property(lambda self: True))
        assert _error_of(opt.step) == t_sparse
    assert len(opt.state) == 0 and float(p.sum()) == 0.0


# ---- state dicts ----

def _groups(ps):
    return [{"params": ps[:2]},
            {"params": ps[2:], "lr": 0.05, "nesterov": False, "adjust_lr_fn": "original"}]


def test_state_dict_layout_matches_torch(device):
    gp, tp = make_pair(SHAPES, np.float32, device)
    gopt, topt = Muon(_groups(gp)), torch.optim.Muon(_groups(tp))
    random_steps(gopt, gp, 3, 1)
    random_steps(topt, tp, 3, 1)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert list(gsd) == list(tsd) == ["state", "param_groups"]
    assert list(gsd["state"]) == list(tsd["state"]) == [0, 1, 2, 3, 4]
    assert gsd["param_groups"] == tsd["param_groups"]
    assert [list(g) for g in gsd["param_groups"]] == [list(g) for g in tsd["param_groups"]]
    for i, tstate in tsd["state"].items():
        assert list(gsd["state"][i]) == list(tstate) == ["momentum_buffer"]
        gv, tv = gsd["state"][i]["momentum_buffer"], tstate["momentum_buffer"]
        assert tuple(gv.shape) == tuple(tv.shape) and gv.dtype == gpuarr.float32
        np.testing.assert_array_equal(to_np(gv), tv.numpy())


def test_state_dict_round_trip_continues_identically(device, tmp_path):
    """A state dict saved live, through gpuarr.save/load and through JSON (ns_coefficients
    becomes a list) resumes on the original's trajectory, bit for bit."""
    ref, _ = make_pair(SHAPES, np.float32, device)
    ref_opt = Muon(_groups(ref), weight_decay=0.2)
    random_steps(ref_opt, ref, 3, 1)
    sd = ref_opt.state_dict()
    gpuarr.save({"opt": sd}, tmp_path / "opt.ckpt")
    json_sd = json.loads(json.dumps(to_jsonable(sd)))
    resumed = []
    for source in ("live", "file", "json"):
        ps = [p.detach().clone().requires_grad_() for p in ref]
        opt = Muon(_groups(ps), lr=123.0, ns_coefficients=(1.0, 1.0, 1.0))  # from the state
        opt.load_state_dict({"live": sd, "json": json_sd}.get(source)
                            or gpuarr.load(tmp_path / "opt.ckpt")["opt"])
        assert opt.param_groups[1]["lr"] == 0.05 and opt.param_groups[0]["lr"] == 1e-3
        assert opt.param_groups[0]["ns_coefficients"] == (3.4445, -4.775, 2.0315)
        for p_ref, p_new in zip(ref, ps):
            v, got = ref_opt.state[p_ref]["momentum_buffer"], opt.state[p_new]["momentum_buffer"]
            assert (got.device, got.dtype, got.shape) == (v.device, v.dtype, v.shape)
            assert got is not v
        resumed.append((opt, ps))
    random_steps(ref_opt, ref, 3, 2)
    for opt, ps in resumed:
        random_steps(opt, ps, 3, 2)
        for a, b in zip(ref, ps):
            np.testing.assert_array_equal(to_np(a), to_np(b))


def test_gpuarr_state_dict_resumes_in_torch(device):
    """gpuarr's state dict is torch-shaped: loaded into torch.optim.Muon (tensors converted),
    torch continues as gpuarr does."""
    gp, _ = make_pair(SHAPES, np.float32, device)
    gopt = Muon(_groups(gp))
    random_steps(gopt, gp, 3, 1)
    tp = [torch.tensor(to_np(p), requires_grad=True) for p in gp]
    topt = torch.optim.Muon(_groups(tp), lr=123.0)
    topt.load_state_dict(to_torch(gopt.state_dict()))
    for g, t in zip(gp, tp):
        np.testing.assert_array_equal(to_np(gopt.state[g]["momentum_buffer"]),
                                      topt.state[t]["momentum_buffer"].numpy())
    random_steps(gopt, gp, 4, 2)
    random_steps(topt, tp, 4, 2)
    check_state(gopt, topt, gp, tp, BUF_TOL[np.float32])
    _check_params_bound(gp[:2], tp[:2], {}, np.float32, 4)
    _check_params_bound(gp[2:], tp[2:], dict(lr=0.05), np.float32, 4)


def test_torch_state_dict_resumes_in_gpuarr(device):
    _, tp = make_pair(SHAPES, np.float32, "cpu")
    topt = torch.optim.Muon(_groups(tp))
    random_steps(topt, tp, 3, 1)
    plain = json.loads(json.dumps(to_jsonable(topt.state_dict())))
    gp = [gpuarr.tensor(p.detach().numpy(), device=device, requires_grad=True) for p in tp]
    gopt = Muon(_groups(gp), lr=123.0)
    gopt.load_state_dict(plain)
    assert gopt.param_groups[0]["ns_coefficients"] == (3.4445, -4.775, 2.0315)
    assert gopt.state[gp[0]]["momentum_buffer"].device == gp[0].device
    random_steps(topt, tp, 4, 2)
    random_steps(gopt, gp, 4, 2)
    check_state(gopt, topt, gp, tp, BUF_TOL[np.float32], layout=True)
    _check_params_bound(gp[:2], tp[:2], {}, np.float32, 4)
    _check_params_bound(gp[2:], tp[2:], dict(lr=0.05), np.float32, 4)


# ---- gpuarr.compile ----

def _mlp_without_biases():
    nn = gpuarr.nn
    return nn.Sequential(nn.Linear(16, 32, bias=False), nn.ReLU(),
                         nn.Linear(32, 24, bias=False), nn.ReLU(), nn.Linear(24, 5, bias=False))


def test_compiled_training_step_matches_eager(device):
    """An MLP (2-D weights only) trained by a compiled step with Muon (weight decay, StepLR
    on top) gives eager's losses and parameters: the learning rate is read afresh by every
    replay, and the step reads nothing back from the device (a host read would make the
    step run eagerly)."""
    model_c, model_e = twin_models(_mlp_without_biases, device)
    loss_fn = gpuarr.nn.CrossEntropyLoss()
    runs = []
    for model, compiled in ((model_e, False), (model_c, True)):
        opt = Muon(model.parameters(), lr=0.05, weight_decay=0.1)
        sched = gpuarr.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss

        if compiled:
            step = gpuarr.compile(step)
        losses = []
        for x, y in batches(10, (16,), device, seed=3):
            losses.append(snap(step(x, y)))
            sched.step()
        runs.append((losses, step))
    (losses_e, _), (losses_c, step_c) = runs
    for k, (lc, le) in enumerate(zip(losses_c, losses_e)):
        assert_same(lc, le, device, what=f"loss of step {k + 1}")
    for (name, a), b in zip(model_c.state_dict().items(), model_e.state_dict().values()):
        assert_same(a, b, device, what=name)
    st = step_c.stats()
    assert step_c.eager_reason is None and st["eager_calls"] == 0, st
    assert st["replays"] >= 7 and st["cache_entries"] == 1, st


# ---- running torch programs ----

def test_torch_optim_muon_under_run_torch():
    """Under gpuarr.run_torch, torch.optim.Muon is gpuarr's and trains a torch-written
    model's 2-D weights."""
    from gpuarr import run_torch

    with run_torch.installed():
        import torch as t

        assert t.optim.Muon is Muon
        model = t.nn.Linear(3, 2, bias=False)
        opt = t.optim.Muon(model.parameters(), lr=0.1)
        before = model.weight.detach().clone()
        model(t.ones(4, 3)).sum().backward()
        opt.step()
        assert list(opt.state[model.weight]) == ["momentum_buffer"]
        assert not bool((model.weight == before).all())
