"""Optimizer state_dict / load_state_dict: torch's layout, round trips (checkpoint, JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from optim_helpers import random_steps, to_jsonable

import gpuarr
import gpuarr.optim as optim

OPTIONS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
]
SHAPES = [(4, 3), (3,), (2, 2)]


def _params(device, seed=0, lib=gpuarr):
    rng = np.random.default_rng(seed)
    arrs = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    if lib is torch:
        return [torch.tensor(a, requires_grad=True) for a in arrs]
    return [gpuarr.tensor(a, device=device, requires_grad=True) for a in arrs]


def _groups(ps):
    return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}]


def _values(ps):
    return [p.detach().cpu().numpy().copy() for p in ps]


@pytest.mark.parametrize("name,kwargs", OPTIONS)
def test_layout_matches_torch(name, kwargs, device):
    gp, tp = _params(device), _params(device, lib=torch)
    gopt = getattr(optim, name)(_groups(gp), **kwargs)
    topt = getattr(torch.optim, name)(_groups(tp), **kwargs)
    random_steps(gopt, gp, 3, 1)
    random_steps(topt, tp, 3, 1)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert set(gsd) == {"state", "param_groups"}
    assert list(gsd["state"]) == list(tsd["state"]) == [0, 1, 2]
    for i in tsd["state"]:
        assert list(gsd["state"][i]) == list(tsd["state"][i])
        for key, tv in tsd["state"][i].items():
            gv = gsd["state"][i][key]
            assert isinstance(gv, gpuarr.Tensor)
            assert gv.dtype.name == str(tv.dtype).replace("torch.", "")
            assert str(gv.device) == ("cpu" if key == "step" else str(gp[0].device))
            np.testing.assert_allclose(gv.cpu().numpy(), tv.numpy(), rtol=1e-5, atol=1e-6)
    for gg, tg in zip(gsd["param_groups"], tsd["param_groups"]):
        assert gg["params"] == tg["params"]
        for key, val in gg.items():
            assert tg[key] == val, key


@pytest.mark.parametrize("name,kwargs", OPTIONS)
def test_round_trip_continues_identically(name, kwargs, device, tmp_path):
    ref = _params(device)
    ref_opt = getattr(optim, name)(_groups(ref), **kwargs)
    random_steps(ref_opt, ref, 5, 1)
    sd = ref_opt.state_dict()
    gpuarr.save({"opt": sd}, tmp_path / "opt.ckpt")
    json_sd = json.loads(json.dumps(to_jsonable(sd)))  # plain data only

    resumed = []
    for source in ("live", "file", "json"):
        ps = [p.detach().clone().requires_grad_() for p in ref]
        opt = getattr(optim, name)(_groups(ps), lr=123.0)  # options come from the state
        if source == "live":
            opt.load_state_dict(sd)
        elif source == "file":
            opt.load_state_dict(gpuarr.load(tmp_path / "opt.ckpt")["opt"])
        else:
            opt.load_state_dict(json_sd)
        assert opt.param_groups[1]["lr"] == 0.05
        assert opt.param_groups[0]["params"][0] is ps[0]
        resumed.append((opt, ps))
    random_steps(ref_opt, ref, 5, 2)
    for opt, ps in resumed:
        random_steps(opt, ps, 5, 2)
        for a, b in zip(_values(ref), _values(ps)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,kwargs", OPTIONS)
def test_load_torch_state(name, kwargs):
    """A torch optimizer's state (as plain lists) resumes in gpuarr on the same trajectory."""
    tp = _params("cpu", lib=torch)
    topt = getattr(torch.optim, name)(_groups(tp), **kwargs)
    random_steps(topt, tp, 4, 1)
    plain = json.loads(json.dumps(to_jsonable(topt.state_dict())))
    gp = [gpuarr.tensor(p.detach().numpy(), requires_grad=True) for p in tp]
    gopt = getattr(optim, name)(_groups(gp), **kwargs)
    gopt.load_state_dict(plain)
    random_steps(topt, tp, 6, 2)
    random_steps(gopt, gp, 6, 2)
    for a, b in zip(_values(gp), _values(tp)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_loaded_state_is_a_copy():
    ps = _params("cpu")
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)
    random_steps(opt, ps, 2, 1)
    sd = opt.state_dict()
    before = sd["state"][0]["momentum_buffer"].numpy().copy()
    other = optim.SGD([p.detach().clone().requires_grad_() for p in ps], lr=0.1, momentum=0.9)
    other.load_state_dict(sd)
    random_steps(other, other.param_groups[0]["params"], 2, 3)
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"].numpy(), before)


def test_state_dict_aliases_live_state_like_torch():
    ps = _params("cpu")
    opt = optim.Adam(ps, lr=0.1)
    random_steps(opt, ps, 1, 1)
    sd = opt.state_dict()
    assert sd["state"][0]["exp_avg"] is opt.state[ps[0]]["exp_avg"]


def test_load_mismatch_errors():
    ps = _params("cpu")
    opt = optim.SGD(_groups(ps), lr=0.1)
    one_group = optim.SGD(ps, lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        one_group.load_state_dict(opt.state_dict())
    sizes = optim.SGD([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        sizes.load_state_dict(opt.state_dict())


def test_state_follows_param_dtype():
    p64 = gpuarr.ones(3, dtype=gpuarr.float64, requires_grad=True)
    src = optim.Adam([gpuarr.ones(3, requires_grad=True)], lr=0.1)
    src.param_groups[0]["params"][0].grad = gpuarr.ones(3)
    src.step()
    dst = optim.Adam([p64], lr=0.1)
    dst.load_state_dict(src.state_dict())
    assert dst.state[p64]["exp_avg"].dtype == gpuarr.float64
    assert dst.state[p64]["step"].dtype == gpuarr.float32
