"""Adadelta, Adagrad, Adamax, NAdam, RAdam, Rprop, ASGD and LBFGS against torch.optim: the
same parameters and gradients for 20 steps, signatures and defaults, argument validation
messages, state-dict layout and round trips."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import torch
from optim_helpers import (
    check_params,
    check_state,
    make_pair,
    random_steps,
    set_grads,
    to_jsonable,
    to_np,
)

import gpuarr
import gpuarr.optim as optim

SHAPES = [(5, 3), (7,), (), (0, 4), (2, 3, 2)]

CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1)),
    ("Adadelta", dict(eps=1e-3, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.05, eps=1e-3, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1)),  # lerp's other branch
    ("Adamax", dict(lr=0.01, maximize=True, eps=1e-3)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("NAdam", dict(lr=0.01, betas=(0.3, 0.5))),
    ("RAdam", dict()),  # rho_t <= 5 for the first steps: the un-rectified update
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01, betas=(0.3, 0.5))),  # rectified from the second step on
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.02, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),  # averaging on
    ("ASGD", dict(lr=0.02, t0=0, maximize=True)),
]
NAMES = sorted({c[0] for c in CONFIGS})

# float32: 1e-6 relative (torch's CPU kernels contract multiply-adds into FMAs and its sqrt is
# not always correctly rounded, so bit equality is out of reach); float64: 1e-12
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _steps_on_random_grads(opt, gp, steps: int, seed: int) -> list:
    """``steps`` optimizer steps, each on fresh float32 normal gradients drawn from ``seed``;
    the parameters after them, on the host."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for p in gp:
            p.grad = gpuarr.tensor(rng.standard_normal(p.shape).astype(np.float32),
                                   device=p.device)
        opt.step()
    return [to_np(p) for p in gp]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_matches_torch(name, kwargs, dtype, device):
    gp, tp = make_pair(SHAPES, dtype, device)
    gopt = getattr(optim, name)(gp, **kwargs)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    rng = np.random.default_rng(1)
    for k in range(20):
        # now and then a parameter without a gradient: skipped, its state untouched
        set_grads(gp, tp, rng, dtype, skip=(1,) if k % 7 == 3 else ())
        gopt.step()
        topt.step()
        check_params(gp, tp, TOL[dtype], f"step {k}")
    check_state(gopt, topt, gp, tp, TOL[dtype])


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_match_torch(name, device):
    gp, tp = make_pair([(4,), (3, 2)], np.float32, device)
    kwargs = dict(lr=0.03) if name != "Adadelta" else dict(lr=0.5)
    extra = dict(maximize=True, weight_decay=0.05) if name != "Rprop" else dict(maximize=True)
    gopt = getattr(optim, name)([{"params": gp[:1]}, {"params": gp[1:], **extra}], **kwargs)
    topt = getattr(torch.optim, name)([{"params": tp[:1]}, {"params": tp[1:], **extra}],
                                      **kwargs)
    for gg, tg in zip(gopt.param_groups, topt.param_groups):
        assert list(gg) == list(tg)  # same options, same order
        assert {k: v for k, v in gg.items() if k != "params"} == \
            {k: v for k, v in tg.items() if k != "params"}
    assert gopt.defaults == topt.defaults
    rng = np.random.default_rng(2)
    for k in range(20):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
        check_params(gp, tp, TOL[np.float32], f"step {k}")


@pytest.mark.parametrize("name", sorted(set(NAMES) | {"LBFGS", "SGD", "RMSprop", "Adam",
                                                        "AdamW", "Adagrad"}))
def test_signature_and_defaults_match_torch(name):
    gsig = inspect.signature(getattr(optim, name))
    tsig = inspect.signature(getattr(torch.optim, name))
    assert list(gsig.parameters) == list(tsig.parameters)
    for pname, tparam in tsig.parameters.items():
        gparam = gsig.parameters[pname]
        assert gparam.kind == tparam.kind, pname
        assert gparam.default == tparam.default, pname
    assert getattr(optim, name).__doc__  # documented


BAD_ARGS = [
    ("Adadelta", dict(lr=-1.0)),
    ("Adadelta", dict(rho=1.5)),
    ("Adadelta", dict(eps=-1e-3)),
    ("Adadelta", dict(weight_decay=-0.1)),
    ("Adagrad", dict(lr=-0.1)),
    ("Adagrad", dict(lr_decay=-0.1)),
    ("Adagrad", dict(weight_decay=-0.1)),
    ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)),
    ("Adagrad", dict(fused=True, foreach=True)),
    ("Adamax", dict(lr=-0.1)),
    ("Adamax", dict(eps=-0.1)),
    ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, -0.1))),
    ("Adamax", dict(weight_decay=-0.1)),
    ("NAdam", dict(lr=-0.1)),
    ("NAdam", dict(betas=(0.9, 1.0))),
    ("NAdam", dict(momentum_decay=-1.0)),
    ("NAdam", dict(weight_decay=-1.0)),
    ("RAdam", dict(eps=-1.0)),
    ("RAdam", dict(betas=(-0.5, 0.9))),
    ("RAdam", dict(weight_decay=-1.0)),
    ("Rprop", dict(lr=-1.0)),
    ("Rprop", dict(etas=(1.5, 1.2))),
    ("Rprop", dict(etas=(0.5, 0.9))),
    ("ASGD", dict(lr=-1.0)),
    ("ASGD", dict(weight_decay=-1.0)),
    ("LBFGS", dict(lr=-1.0)),
]


def _error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e), str(e)
    return None


@pytest.mark.parametrize("name,kwargs", BAD_ARGS)
def test_validation_messages_match_torch(name, kwargs):
    gerr = _error_of(lambda: getattr(optim, name)([gpuarr.ones(2, requires_grad=True)],
                                                  **kwargs))
    terr = _error_of(lambda: getattr(torch.optim, name)([torch.ones(2, requires_grad=True)],
                                                        **kwargs))
    assert terr is not None
    assert gerr == terr


@pytest.mark.parametrize("name", NAMES)
def test_tensor_lr(name):
    gp, tp = make_pair([(3, 2)], np.float32, "cpu")
    gopt = getattr(optim, name)(gp, lr=gpuarr.tensor(0.01))
    topt = getattr(torch.optim, name)(tp, lr=torch.tensor(0.01))
    rng = np.random.default_rng(3)
    for _ in range(5):
        set_grads(gp, tp, rng, np.float32)
        gopt.step()
        topt.step()
    check_params(gp, tp, TOL[np.float32])
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        getattr(optim, name)(gp, lr=gpuarr.tensor([0.1, 0.2]))


@pytest.mark.parametrize("name", NAMES)
def test_foreach_capturable_and_differentiable_flags(name, device):
    """foreach/capturable change nothing in the numbers; capturable keeps 'step' on the
    parameter's device as torch does; differentiable=True is refused, not ignored."""
    params = inspect.signature(getattr(optim, name)).parameters
    runs = []
    flags = [dict(), dict(foreach=True)]
    if "capturable" in params:
        flags.append(dict(capturable=True))
    for extra in flags:
        gp, _ = make_pair([(3, 2), (4,)], np.float32, device)
        opt = getattr(optim, name)(gp, lr=0.01, **extra)
        after = _steps_on_random_grads(opt, gp, 4, seed=4)
        if extra.get("capturable") or name == "ASGD":
            assert opt.state[gp[0]]["step"].device == gp[0].device
        else:
            assert str(opt.state[gp[0]]["step"].device) == "cpu"
        runs.append(after)
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(NotImplementedError, match="differentiable=True is not supported"):
        getattr(optim, name)([gpuarr.ones(2, requires_grad=True)], differentiable=True)


def test_adagrad_state_exists_before_the_first_step_like_torch():
    gp, tp = make_pair([(3,), (2, 2)], np.float32, "cpu")
    gopt = optim.Adagrad(gp, initial_accumulator_value=0.25)
    topt = torch.optim.Adagrad(tp, initial_accumulator_value=0.25)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert list(gsd["state"]) == list(tsd["state"]) == [0, 1]
    for i in (0, 1):
        assert list(gsd["state"][i]) == list(tsd["state"][i]) == ["step", "sum"]
        np.testing.assert_array_equal(gsd["state"][i]["sum"].numpy(), tsd["state"][i]["sum"])
        assert float(gsd["state"][i]["step"]) == 0.0


def test_fused_adagrad_needs_floating_params():
    with pytest.raises(RuntimeError, match="`fused=True` requires all the params to be "
                                           "floating point"):
        optim.Adagrad([gpuarr.ones(2, dtype=gpuarr.int64)], fused=True)
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        optim.Adagrad([gpuarr.ones(2, requires_grad=True)], fused=True, differentiable=True)


# ---- state dicts ----

SD_CONFIGS = [
    ("Adadelta", dict(lr=0.5, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.01, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.6))),
    ("Rprop", dict(lr=0.02)),
    ("ASGD", dict(lr=0.02, t0=2)),
]
SD_SHAPES = [(4, 3), (3,), (2, 2)]


def _groups(ps):
    return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.005}]


@pytest.mark.parametrize("name,kwargs", SD_CONFIGS)
def test_state_dict_layout_matches_torch(name, kwargs, device):
    gp, tp = make_pair(SD_SHAPES, np.float32, device)
    gopt = getattr(optim, name)(_groups(gp), **kwargs)
    topt = getattr(torch.optim, name)(_groups(tp), **kwargs)
    random_steps(gopt, gp, 3, 1)
    random_steps(topt, tp, 3, 1)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert list(gsd) == list(tsd) == ["state", "param_groups"]
    assert list(gsd["state"]) == list(tsd["state"]) == [0, 1, 2]
    for i, tstate in tsd["state"].items():
        assert list(gsd["state"][i]) == list(tstate)
        for key, tv in tstate.items():
            gv = gsd["state"][i][key]
            assert isinstance(gv, gpuarr.Tensor), key
            assert gv.dtype.name == str(tv.dtype).replace("torch.", ""), key
            # torch keeps 'step' on the CPU, except ASGD, which keeps step/eta/mu by the param
            on_param = name == "ASGD" or key not in ("step", "mu_product")
            assert gv.device == (gp[i].device if on_param else gpuarr.device("cpu")), key
            np.testing.assert_allclose(to_np(gv), tv.numpy(), rtol=1e-6, atol=1e-6)
    assert gsd["param_groups"] == tsd["param_groups"]


@pytest.mark.parametrize("name,kwargs", SD_CONFIGS)
def test_state_dict_round_trip_continues_identically(name, kwargs, device, tmp_path):
    ref, _ = make_pair(SD_SHAPES, np.float32, device)
    ref_opt = getattr(optim, name)(_groups(ref), **kwargs)
    random_steps(ref_opt, ref, 4, 1)
    sd = ref_opt.state_dict()
    gpuarr.save({"opt": sd}, tmp_path / "opt.ckpt")
    json_sd = json.loads(json.dumps(to_jsonable(sd)))  # plain data only
    resumed = []
    for source in ("live", "file", "json"):
        ps = [p.detach().clone().requires_grad_() for p in ref]
        opt = getattr(optim, name)(_groups(ps), lr=123.0)  # the options come from the state
        opt.load_state_dict({"live": sd, "json": json_sd}.get(source)
                            or gpuarr.load(tmp_path / "opt.ckpt")["opt"])
        assert opt.param_groups[1]["lr"] == 0.005
        for p_ref, p_new in zip(ref, ps):  # each entry where the original keeps it, but
            for key, v in ref_opt.state[p_ref].items():  # torch's loading moves a mu_product
                moved = key == "mu_product" and source != "json"  # tensor to the param
                want = p_new.device if moved else v.device
                assert opt.state[p_new][key].device == want, (source, key)
                assert opt.state[p_new][key].dtype == v.dtype, (source, key)
        assert opt.param_groups == [dict(g, params=q["params"]) for g, q in
                                    zip(ref_opt.param_groups, opt.param_groups)]
        resumed.append((opt, ps))
    random_steps(ref_opt, ref, 5, 2)
    for opt, ps in resumed:
        random_steps(opt, ps, 5, 2)
        for a, b in zip(ref, ps):
            np.testing.assert_array_equal(to_np(a), to_np(b))


@pytest.mark.parametrize("name,kwargs", SD_CONFIGS)
def test_torch_state_dict_resumes_in_gpuarr(name, kwargs):
    """A torch optimizer's state (as plain lists) resumes in gpuarr on torch's trajectory."""
    _, tp = make_pair(SD_SHAPES, np.float32, "cpu")
    topt = getattr(torch.optim, name)(_groups(tp), **kwargs)
    random_steps(topt, tp, 4, 1)
    plain = json.loads(json.dumps(to_jsonable(topt.state_dict())))
    gp = [gpuarr.tensor(p.detach().numpy(), requires_grad=True) for p in tp]
    gopt = getattr(optim, name)(_groups(gp), **kwargs)
    gopt.load_state_dict(plain)
    random_steps(topt, tp, 6, 2)
    random_steps(gopt, gp, 6, 2)
    check_params(gp, tp, TOL[np.float32])


def _torch_to_gpuarr(obj):
    if isinstance(obj, torch.Tensor):
        return gpuarr.tensor(obj.detach().numpy())
    if isinstance(obj, dict):
        return {k: _torch_to_gpuarr(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_torch_to_gpuarr(v) for v in obj]
    return obj


@pytest.mark.parametrize("name", ["NAdam", "ASGD"])
def test_loaded_scalar_state_follows_torch_policy(name):
    """NAdam's mu_product and ASGD's eta/mu are cast to the parameter's dtype on load, as
    torch's load_state_dict does, and the updates then continue in that dtype."""
    src = torch.ones(3, requires_grad=True)
    tsrc = getattr(torch.optim, name)([src], lr=0.01, **({"t0": 1} if name == "ASGD" else {}))
    random_steps(tsrc, [src], 3, 5)
    sd = tsrc.state_dict()
    gp, tp = make_pair([(3,)], np.float64, "cpu")
    topt = getattr(torch.optim, name)(tp, lr=0.5)
    gopt = getattr(optim, name)(gp, lr=0.5)
    topt.load_state_dict(sd)
    gopt.load_state_dict(_torch_to_gpuarr(sd))
    for key, tv in topt.state[tp[0]].items():
        assert gopt.state[gp[0]][key].dtype.name == str(tv.dtype).replace("torch.", ""), key
    rng = np.random.default_rng(6)
    for _ in range(5):
        set_grads(gp, tp, rng, np.float64)
        gopt.step()
        topt.step()
    check_params(gp, tp, TOL[np.float64])


# ---- LBFGS ----

def _rosenbrock(x):
    return ((1 - x[:-1]) ** 2).sum() + 100 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


X0 = [-1.5, 2.0, -0.5, 1.2, 0.3, -1.0]

LBFGS_CONFIGS = [
    dict(),
    dict(line_search_fn="strong_wolfe"),
    dict(lr=0.1, history_size=3, max_iter=7),
    dict(lr=0.5, max_iter=4, line_search_fn="strong_wolfe", history_size=2),
]


def _lbfgs_pair(dtype, device, kwargs):
    x0 = np.array(X0, dtype=dtype)
    gx = gpuarr.tensor(x0, device=device, requires_grad=True)
    tx = torch.tensor(x0, requires_grad=True)
    gopt, topt = optim.LBFGS([gx], **kwargs), torch.optim.LBFGS([tx], **kwargs)

    def gclosure():
        gopt.zero_grad()
        loss = _rosenbrock(gx)
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = _rosenbrock(tx)
        loss.backward()
        return loss

    return (gx, gopt, gclosure), (tx, topt, tclosure)


@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS)
def test_lbfgs_rosenbrock_matches_torch(kwargs, device):
    (gx, gopt, gc), (tx, topt, tc) = _lbfgs_pair(np.float64, device, kwargs)
    for k in range(5):
        gl, tl = gopt.step(gc), topt.step(tc)
        assert gl.item() == pytest.approx(tl.item(), rel=1e-9)
        np.testing.assert_allclose(to_np(gx), tx.detach().numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=f"step {k}")
        gs, ts = gopt.state[gx], topt.state[tx]
        assert (gs["func_evals"], gs["n_iter"]) == (ts["func_evals"], ts["n_iter"])
        assert list(gs) == list(ts)
    if kwargs == dict(line_search_fn="strong_wolfe"):  # converged to a stationary point
        gc()
        assert np.abs(to_np(gx.grad)).max() < 1e-3


def test_lbfgs_float32_matches_torch(device):
    (gx, gopt, gc), (tx, topt, tc) = _lbfgs_pair(np.float32, device,
                                                 dict(lr=0.1, history_size=3, max_iter=7))
    for k in range(5):
        gopt.step(gc)
        topt.step(tc)
        np.testing.assert_allclose(to_np(gx), tx.detach().numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg=f"step {k}")


def test_lbfgs_state_dict_round_trip(device):
    (gx, gopt, gc), _ = _lbfgs_pair(np.float64, device, dict(history_size=4, max_iter=5))
    gopt.step(gc)
    gopt.step(gc)
    sd = gopt.state_dict()
    json_sd = json.loads(json.dumps(to_jsonable(sd)))
    clones = []
    for src in (sd, json_sd):
        x = gx.detach().clone().requires_grad_()
        opt = optim.LBFGS([x], history_size=4, max_iter=5)
        opt.load_state_dict(src)
        st = opt.state[x]
        assert isinstance(st["old_dirs"], list) and len(st["old_dirs"]) == len(
            gopt.state[gx]["old_dirs"])
        assert all(isinstance(v, gpuarr.Tensor) and v.device == x.device
                   for v in st["old_dirs"])

        def closure(x=x, opt=opt):
            opt.zero_grad()
            loss = _rosenbrock(x)
            loss.backward()
            return loss

        clones.append((x, opt, closure))
    gopt.step(gc)
    for x, opt, closure in clones:
        opt.step(closure)
        np.testing.assert_allclose(to_np(x), to_np(gx), rtol=1e-12, atol=1e-14)


def test_lbfgs_errors():
    x, y = gpuarr.ones(2, requires_grad=True), gpuarr.ones(2, requires_grad=True)
    with pytest.raises(ValueError,
                       match=r"LBFGS doesn't support per-parameter options \(parameter groups\)"):
        optim.LBFGS([{"params": [x]}, {"params": [y]}])
    opt = optim.LBFGS([x], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = ((x - 3) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


def test_lbfgs_closure_runs_with_grad_and_step_does_not_record():
    x = gpuarr.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.LBFGS([x], max_iter=3)
    seen = []

    def closure():
        opt.zero_grad()
        seen.append(gpuarr.is_grad_enabled())
        loss = (x * x).sum()
        loss.backward()
        return loss

    with gpuarr.no_grad():
        loss = opt.step(closure)
    assert seen and all(seen)
    assert x.grad_fn is None and x.is_leaf
    assert float(loss) == pytest.approx(5.0)


@pytest.mark.parametrize("name", ["ASGD", "NAdam", "Adadelta"])
def test_scalar_state_dtype_follows_default_dtype_like_torch(name):
    prev_g, prev_t = gpuarr.get_default_dtype(), torch.get_default_dtype()
    gpuarr.set_default_dtype(gpuarr.float64)
    torch.set_default_dtype(torch.float64)
    try:
        gp, tp = make_pair([(3,)], np.float32, "cpu")
        gopt, topt = getattr(optim, name)(gp, lr=0.013), getattr(torch.optim, name)(tp, lr=0.013)
        rng = np.random.default_rng(7)
        for _ in range(5):
            set_grads(gp, tp, rng, np.float32)
            gopt.step()
            topt.step()
        for key, tv in topt.state[tp[0]].items():
            assert gopt.state[gp[0]][key].dtype.name == str(tv.dtype).replace("torch.", ""), key
        check_params(gp, tp, TOL[np.float32])
    finally:
        gpuarr.set_default_dtype(prev_g)
        torch.set_default_dtype(prev_t)


def test_deepcopy_keeps_state_and_instrumentation():
    import copy

    gp, _ = make_pair([(3,)], np.float32, "cpu")
    opt = optim.Rprop(gp, lr=0.05)
    random_steps(opt, gp, 2, 8)
    twin = copy.deepcopy(opt)
    assert list(twin.state.values())[0]["step"].item() == 2.0
    seen = []
    twin.register_step_post_hook(lambda o, a, k: seen.append(1))
    twin.step()
    assert seen == [1] and not opt._optimizer_step_post_hooks


def test_sgd_and_rmsprop_take_torchs_fused_capturable_differentiable_flags(device):
    """SGD's ``fused`` and RMSprop's ``capturable`` change nothing in the numbers and land in
    the param groups as torch's do; ``differentiable=True`` and ``fused`` with ``foreach`` are
    refused as torch refuses them."""
    for name, flag in (("SGD", {"fused": True}), ("RMSprop", {"capturable": True})):
        runs = []
        for extra in ({}, flag):
            gp, tp = make_pair([(3, 2), (4,)], np.float32, device)
            kw = dict(lr=0.01, momentum=0.5)
            gopt = getattr(optim, name)(gp, **kw, **extra)
            topt = getattr(torch.optim, name)(tp, **kw)
            assert list(gopt.param_groups[0]) == list(topt.param_groups[0])
            runs.append(_steps_on_random_grads(gopt, gp, 3, seed=6))
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)
    p = [gpuarr.ones(2, requires_grad=True)]
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        optim.SGD(p, lr=0.1, fused=True, foreach=True)
    with pytest.raises(NotImplementedError, match="differentiable=True is not supported"):
        optim.SGD(p, lr=0.1, differentiable=True)
    with pytest.raises(NotImplementedError, match="differentiable=True is not supported"):
        optim.RMSprop(p, differentiable=True)
    with pytest.raises(RuntimeError, match="requires all the params to be floating point"):
        optim.SGD([gpuarr.ones(2, dtype=gpuarr.int64)], lr=0.1, fused=True)


@pytest.mark.parametrize("name,kw", [
    ("Adam", dict(amsgrad=True, weight_decay=0.1)), ("AdamW", {}), ("Adamax", {}),
    ("NAdam", dict(weight_decay=0.1, momentum_decay=0.01)),
    ("RAdam", {}),  # rectified from step 6
    ("RAdam", dict(betas=(0.3, 0.5), decoupled_weight_decay=True, weight_decay=0.1)),
], ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={x}" for k, x in v.items()))
def test_capturable_updates_compute_on_the_device_with_the_same_numbers(name, kw, device):
    """With ``capturable=True`` the step count (and NAdam's momentum product) stay on the
    parameter's device and the bias corrections are computed there, never read into Python;
    over 12 steps the parameters equal the host path's bit for bit."""
    runs = []
    for capturable in (False, True):
        gp, _ = make_pair([(3, 2), (4,)], np.float32, device)
        opt = getattr(optim, name)(gp, lr=0.01, capturable=capturable, **kw)
        runs.append(_steps_on_random_grads(opt, gp, 12, seed=7))
        if capturable:
            assert opt.state[gp[0]]["step"].device == gp[0].device
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
