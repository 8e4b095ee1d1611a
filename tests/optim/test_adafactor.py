"""Adafactor against torch.optim.Adafactor: parameters and state over 10 steps (factored 2-D
and 3-D parameters, 1-D and 0-d ones), options, learning-rate schedules, argument errors,
state-dict round trips both ways, and a gpuarr.compile'd training step against eager."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import torch
from compile_models import assert_same, batches, mlp, snap, twin_models
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

import gpuarr
from gpuarr.optim.adafactor import Adafactor

# a weight, a bias, a 0-d parameter and a 3-D one (factored over its last two dims)
SHAPES = [(5, 3), (7,), (), (2, 3, 4)]

CONFIGS = [
    dict(),
    dict(weight_decay=0.1),
    dict(maximize=True),
    dict(maximize=True, weight_decay=0.05, lr=0.03),
    dict(eps=(1e-3, 1e-2), d=2.0, beta2_decay=-0.5),
    dict(lr=0.5),  # rho = min(lr, 1/sqrt(t)) takes 1/sqrt(t) from step 5 on
    dict(eps=(0.5, 1e-3)),  # eps1 large enough to clamp the variance estimates
]

# a few units in the last place of the parameters' magnitude (about 1): torch adds the scaled
# update with a fused multiply-add (one rounding), gpuarr scales then adds (two), and the
# norms sum in another order
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-13, atol=1e-14)}


# ---- the update ----

@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: ",".join(kw) or "defaults")
def test_matches_torch(kwargs, dtype, device):
    gp, tp = make_pair(SHAPES, dtype, device)
    gopt, topt = Adafactor(gp, **kwargs), torch.optim.Adafactor(tp, **kwargs)
    rng = np.random.default_rng(1)
    for k in range(10):
        # now and then a parameter without a gradient: skipped, its state untouched
        set_grads(gp, tp, rng, dtype, skip=(1,) if k % 4 == 2 else ())
        gopt.step()
        topt.step()
        check_params(gp, tp, TOL[dtype], f"step {k}")
    check_state(gopt, topt, gp, tp, TOL[dtype], layout=True)
    assert float(gopt.state[gp[0]]["step"]) == 10.0
    assert float(gopt.state[gp[1]]["step"]) == 8.0  # skipped at k = 2 and 6


def test_state_layout_like_torch(device):
    """row_var / col_var for two or more dims (the last / next-to-last dim set to 1),
    variance for fewer; made at the first step, from the gradient, as torch makes them."""
    gp, tp = make_pair(SHAPES, np.float32, device)
    gopt, topt = Adafactor(gp), torch.optim.Adafactor(tp)
    assert len(gopt.state) == 0
    set_grads(gp, tp, np.random.default_rng(2), np.float32)
    gopt.step()
    topt.step()
    assert {tuple(gopt.state[p][k].shape) for p in gp[:1] for k in ("row_var", "col_var")} \
        == {(5, 1), (1, 3)}
    assert tuple(gopt.state[gp[3]]["row_var"].shape) == (2, 3, 1)
    assert tuple(gopt.state[gp[3]]["col_var"].shape) == (2, 1, 4)
    assert list(gopt.state[gp[2]]) == ["step", "variance"]
    assert gopt.state[gp[0]]["step"].dtype == gpuarr.float32
    check_state(gopt, topt, gp, tp, TOL[np.float32], layout=True)


def test_foreach_gives_torch_multi_tensor_numbers(device):
    """foreach=True is accepted (and kept in the group); the update is the same one."""
    gp, tp = make_pair(SHAPES, np.float32, device)
    gopt = Adafactor(gp, foreach=True, weight_decay=0.1)
    topt = torch.optim.Adafactor(tp, foreach=True, weight_decay=0.1)
    rng = np.random.default_rng(3)
    for k in range(10):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
        # torch's multi-tensor path scales then adds (two roundings, as gpuarr)
        check_params(gp, tp, TOL[np.float32], f"step {k}")
    assert gopt.param_groups[0]["foreach"] is True


def test_param_groups_match_torch(device):
    gp, tp = make_pair(SHAPES, np.float32, device)
    extra = dict(maximize=True, weight_decay=0.05, d=1.5, eps=(1e-4, 1e-2))
    gopt = Adafactor([{"params": gp[:2]}, {"params": gp[2:], **extra}], lr=0.02)
    topt = torch.optim.Adafactor([{"params": tp[:2]}, {"params": tp[2:], **extra}], lr=0.02)
    rng = np.random.default_rng(4)
    for k in range(10):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
        check_params(gp, tp, TOL[np.float32], f"step {k}")


def test_empty_parameter_is_left_alone(device):
    """A parameter with no elements: its state is made and its step counted, nothing else
    changes (torch divides by its size and raises ZeroDivisionError); the others match."""
    gp, tp = make_pair([(0, 4), (3, 2), (0,)], np.float32, device)
    gopt, topt = Adafactor(gp, weight_decay=0.1), torch.optim.Adafactor(tp[1:2],
                                                                           weight_decay=0.1)
    rng = np.random.default_rng(5)
    for _ in range(3):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
    check_params(gp[1:2], tp[1:2], TOL[np.float32])
    assert tuple(gopt.state[gp[0]]["row_var"].shape) == (0, 1)
    assert tuple(gopt.state[gp[0]]["col_var"].shape) == (1, 4)
    assert float(gopt.state[gp[2]]["step"]) == 3.0
    with pytest.raises(ZeroDivisionError):  # torch's accident, which gpuarr does not copy
        torch.optim.Adafactor(tp[:1]).step()


@pytest.mark.parametrize("sched", ["StepLR", "ExponentialLR", "LambdaLR"])
def test_lr_scheduler_on_top_matches_torch(sched, device):
    """The learning rate bounds the relative step and scales the weight decay: a schedule
    that changes it gives torch's parameters (lr starts at 0.5, so both branches of
    min(lr, 1/sqrt(t)) are taken)."""
    args = {"StepLR": dict(step_size=3, gamma=0.3), "ExponentialLR": dict(gamma=0.7),
            "LambdaLR": dict(lr_lambda=lambda e: 1.0 / (1 + e))}[sched]
    gp, tp = make_pair(SHAPES, np.float32, device)
    gopt = Adafactor(gp, lr=0.5, weight_decay=0.1)
    topt = torch.optim.Adafactor(tp, lr=0.5, weight_decay=0.1)
    gs = getattr(gpuarr.optim.lr_scheduler, sched)(gopt, **args)
    ts = getattr(torch.optim.lr_scheduler, sched)(topt, **args)
    rng = np.random.default_rng(6)
    for k in range(10):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
        assert gopt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"])
        check_params(gp, tp, TOL[np.float32], f"step {k}")


def test_tensor_lr_matches_torch(device):
    gp, tp = make_pair(SHAPES, np.float32, device)
    gopt = Adafactor(gp, lr=gpuarr.tensor(0.2), weight_decay=0.1)
    topt = torch.optim.Adafactor(tp, lr=torch.tensor(0.2), weight_decay=0.1)
    rng = np.random.default_rng(7)
    for k in range(10):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
        check_params(gp, tp, TOL[np.float32], f"step {k}")


def test_step_dtype_follows_default_dtype_like_torch():
    prev_g, prev_t = gpuarr.get_default_dtype(), torch.get_default_dtype()
    gpuarr.set_default_dtype(gpuarr.float64)
    torch.set_default_dtype(torch.float64)
    try:
        gp, tp = make_pair([(3, 2), (3,)], np.float32, "cpu")
        gopt, topt = Adafactor(gp), torch.optim.Adafactor(tp)
        rng = np.random.default_rng(8)
        for _ in range(4):
            set_grads(gp, tp, rng, np.float32)
            gopt.step()
            topt.step()
        check_state(gopt, topt, gp, tp, TOL[np.float32], layout=True)
        check_params(gp, tp, TOL[np.float32])
    finally:
        gpuarr.set_default_dtype(prev_g)
        torch.set_default_dtype(prev_t)


def test_closure_loss_is_returned():
    p = gpuarr.tensor([1.0, -2.0], requires_grad=True)
    opt = Adafactor([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == pytest.approx(5.0)
    assert float(opt.state[p]["step"]) == 1.0


# ---- signature and argument errors ----

def test_signature_and_defaults_match_torch():
    gsig = inspect.signature(Adafactor)
    tsig = inspect.signature(torch.optim.Adafactor)
    assert [(p.name, p.kind, p.default) for p in gsig.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in tsig.parameters.values()]
    gopt = Adafactor([gpuarr.ones(2, requires_grad=True)])
    topt = torch.optim.Adafactor([torch.ones(2, requires_grad=True)])
    assert gopt.defaults == topt.defaults
    assert Adafactor.__doc__ and "Example" in Adafactor.__doc__


BAD_ARGS = [
    dict(lr=-1.0),
    dict(lr=float("nan")),
    dict(beta2_decay=0.5),
    dict(eps=(-1.0, 1e-3)),
    dict(eps=(None, -1.0)),
    dict(d=0.5),
    dict(weight_decay=-0.1),
    dict(eps=(None,)),  # torch indexes eps[1]: an IndexError
]


def _error_of(fn):
    with pytest.raises(Exception) as e:
        fn()
    return type(e.value), str(e.value)


@pytest.mark.parametrize("kwargs", BAD_ARGS, ids=str)
def test_argument_errors_match_torch(kwargs):
    gerr = _error_of(lambda: Adafactor([gpuarr.ones(2, requires_grad=True)], **kwargs))
    terr = _error_of(lambda: torch.optim.Adafactor([torch.ones(2, requires_grad=True)],
                                                   **kwargs))
    assert gerr == terr


@pytest.mark.parametrize("lr", [[0.1, 0.2], -1.0], ids=["two-elements", "negative"])
def test_tensor_lr_errors_match_torch(lr):
    gerr = _error_of(lambda: Adafactor([gpuarr.ones(2, requires_grad=True)],
                                       lr=gpuarr.tensor(lr)))
    terr = _error_of(lambda: torch.optim.Adafactor([torch.ones(2, requires_grad=True)],
                                                   lr=torch.tensor(lr)))
    assert gerr == terr


def test_empty_parameter_list_errors_like_torch():
    assert _error_of(lambda: Adafactor([])) == _error_of(lambda: torch.optim.Adafactor([]))


def test_complex_parameters_and_sparse_gradients_raise_like_torch(monkeypatch):
    """gpuarr has neither complex dtypes nor sparse tensors; a tensor that reports being one
    is refused at the step with torch's errors."""
    tc = torch.zeros(2, dtype=torch.complex64, requires_grad=True)
    tc.grad = torch.ones(2, dtype=torch.complex64)
    t_complex = _error_of(lambda: torch.optim.Adafactor([tc]).step())
    ts = torch.zeros(3, requires_grad=True)
    ts.grad = torch.ones(3).to_sparse()
    t_sparse = _error_of(lambda: torch.optim.Adafactor([ts]).step())

    p = gpuarr.zeros(2, requires_grad=True)
    p.grad = gpuarr.ones(2)
    opt = Adafactor([p])
    with monkeypatch.context() as m:
        m.setattr(gpuarr.Tensor, "is_complex", lambda self: True)
        assert _error_of(opt.step) == t_complex
    with monkeypatch.context() as m:
        m.setattr(gpuarr.Tensor, "is_sparse", property(lambda self: True))
        assert _error_of(opt.step) == t_sparse
    assert len(opt.state) == 0 and float(p.sum()) == 0.0


# ---- state dicts ----

def _groups(ps):
    return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05, "weight_decay": 0.01}]


def test_state_dict_layout_matches_torch(device):
    gp, tp = make_pair(SHAPES, np.float32, device)
    gopt, topt = Adafactor(_groups(gp)), torch.optim.Adafactor(_groups(tp))
    random_steps(gopt, gp, 3, 1)
    random_steps(topt, tp, 3, 1)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert list(gsd) == list(tsd) == ["state", "param_groups"]
    assert list(gsd["state"]) == list(tsd["state"]) == [0, 1, 2, 3]
    assert gsd["param_groups"] == tsd["param_groups"]
    for i, tstate in tsd["state"].items():
        assert list(gsd["state"][i]) == list(tstate)
        for key, tv in tstate.items():
            gv = gsd["state"][i][key]
            assert tuple(gv.shape) == tuple(tv.shape), key
            assert gv.dtype.name == str(tv.dtype).replace("torch.", ""), key
            np.testing.assert_allclose(to_np(gv), tv.numpy(), **TOL[np.float32], err_msg=key)


def test_state_dict_round_trip_continues_identically(device, tmp_path):
    """A state dict saved live, through gpuarr.save/load and through JSON (eps becomes a
    list, step a plain number) resumes on the original's trajectory, bit for bit."""
    ref, _ = make_pair(SHAPES, np.float32, device)
    ref_opt = Adafactor(_groups(ref), maximize=True)
    random_steps(ref_opt, ref, 4, 1)
    sd = ref_opt.state_dict()
    gpuarr.save({"opt": sd}, tmp_path / "opt.ckpt")
    json_sd = json.loads(json.dumps(to_jsonable(sd)))
    resumed = []
    for source in ("live", "file", "json"):
        ps = [p.detach().clone().requires_grad_() for p in ref]
        opt = Adafactor(_groups(ps), lr=123.0, eps=(0.5, 0.5))  # options come from the state
        opt.load_state_dict({"live": sd, "json": json_sd}.get(source)
                            or gpuarr.load(tmp_path / "opt.ckpt")["opt"])
        assert opt.param_groups[1]["lr"] == 0.05
        assert opt.param_groups[0]["eps"] == (None, 1e-3)
        for p_ref, p_new in zip(ref, ps):
            for key, v in ref_opt.state[p_ref].items():
                got = opt.state[p_new][key]
                assert (got.device, got.dtype, got.shape) == (v.device, v.dtype, v.shape)
        resumed.append((opt, ps))
    random_steps(ref_opt, ref, 5, 2)
    for opt, ps in resumed:
        random_steps(opt, ps, 5, 2)
        for a, b in zip(ref, ps):
            np.testing.assert_array_equal(to_np(a), to_np(b))


def test_gpuarr_state_dict_resumes_in_torch(device):
    """gpuarr's state dict is torch-shaped: loaded into torch.optim.Adafactor (tensors
    converted), torch continues as gpuarr does."""
    gp, tp = make_pair(SHAPES, np.float32, device)
    gopt = Adafactor(_groups(gp))
    random_steps(gopt, gp, 4, 1)
    tp = [torch.tensor(to_np(p), requires_grad=True) for p in gp]
    topt = torch.optim.Adafactor(_groups(tp), lr=123.0)
    topt.load_state_dict(to_torch(gopt.state_dict()))
    random_steps(gopt, gp, 6, 2)
    random_steps(topt, tp, 6, 2)
    check_params(gp, tp, TOL[np.float32])


def test_torch_state_dict_resumes_in_gpuarr():
    _, tp = make_pair(SHAPES, np.float32, "cpu")
    topt = torch.optim.Adafactor(_groups(tp))
    random_steps(topt, tp, 4, 1)
    plain = json.loads(json.dumps(to_jsonable(topt.state_dict())))
    gp = [gpuarr.tensor(p.detach().numpy(), requires_grad=True) for p in tp]
    gopt = Adafactor(_groups(gp))
    gopt.load_state_dict(plain)
    assert gopt.state[gp[0]]["step"].dtype == gpuarr.float32
    random_steps(topt, tp, 6, 2)
    random_steps(gopt, gp, 6, 2)
    check_params(gp, tp, TOL[np.float32])


# ---- gpuarr.compile ----

def _train(model, opt, sched, data, step_fn):
    losses = []
    for x, y in data:
        losses.append(snap(step_fn(x, y)))
        sched.step()
    return losses


def _make_step(model, opt):
    loss_fn = gpuarr.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def test_compiled_training_step_matches_eager(device):
    """An MLP trained by a compiled step with Adafactor (weight decay, StepLR on top) gives
    eager's losses and parameters. The step count, the relative step and the lerp weight
    (which switches formula at step 3) are read afresh by every replay, and the norms stay
    on the device: the step never falls back to eager (a host read would make it)."""
    model_c, model_e = twin_models(mlp, device)
    runs = []
    for model, compiled in ((model_e, False), (model_c, True)):
        opt = Adafactor(model.parameters(), lr=0.3, weight_decay=0.01)
        sched = gpuarr.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        step = _make_step(model, opt)
        if compiled:
            step = gpuarr.compile(step)
        runs.append((_train(model, opt, sched, batches(10, (16,), device, seed=3), step),
                     step))
    (losses_e, _), (losses_c, step_c) = runs
    for k, (lc, le) in enumerate(zip(losses_c, losses_e)):
        assert_same(lc, le, device, what=f"loss of step {k + 1}")
    for (name, a), b in zip(model_c.state_dict().items(), model_e.state_dict().values()):
        assert_same(a, b, device, what=name)
    st = step_c.stats()
    assert step_c.eager_reason is None and st["eager_calls"] == 0, st
    assert st["replays"] >= 7 and st["cache_entries"] == 1, st


# ---- running torch programs ----

def test_torch_optim_adafactor_under_run_torch(monkeypatch):
    """Under gpuarr.run_torch, torch.optim.Adafactor is gpuarr's (once gpuarr.optim exports
    it; the export is set here in case it is not yet) and trains a torch-written model."""
    from gpuarr import run_torch

    monkeypatch.setattr(gpuarr.optim, "Adafactor", Adafactor, raising=False)
    with run_torch.installed():
        import torch as t

        assert t.optim.Adafactor is Adafactor
        model = t.nn.Linear(3, 2)
        opt = t.optim.Adafactor(model.parameters(), lr=0.1)
        before = model.weight.detach().clone()
        model(t.ones(4, 3)).sum().backward()
        opt.step()
        assert sorted(opt.state[model.weight]) == ["col_var", "row_var", "step"]
        assert not bool((model.weight == before).all())
