"""gpuarr.optim.swa_utils against torch.optim.swa_utils: averaged weights (SWA mean, EMA, custom
avg_fn, buffers), update_bn's statistics, SWALR's learning rates and state, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.optim.swa_utils as tswa

import gpuarr
from gpuarr import nn
from gpuarr.optim import swa_utils as swa

RNG = np.random.default_rng(0)


def to_np(x):
    return x.detach().cpu().numpy()


def pair(device):
    """A torch model and a gpuarr model with the same weights (with batch norm)."""
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                             torch.nn.Linear(4, 2)).double()
    gm = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    gm = gm.to(device=device, dtype=gpuarr.float64)
    copy_into(gm, tm, device)
    return gm, tm


def copy_into(gm, tm, device):
    gm.load_state_dict({k: gpuarr.tensor(v.detach().numpy(), device=device)
                        for k, v in tm.state_dict().items()})


def perturb(gm, tm, device, step):
    """Change both models' weights the same way (a stand-in for a training step)."""
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.tensor(np.sin(np.arange(p.numel()) + step).reshape(p.shape)))
        tm[1].running_mean.add_(0.1 * step)
    copy_into(gm, tm, device)


def same_state(ga, ta):
    gs, ts = ga.state_dict(), ta.state_dict()
    assert list(gs) == list(ts)
    for k in ts:
        np.testing.assert_allclose(to_np(gs[k]), ts[k].numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=k)


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema", "swa_fn", "buffers"])
def test_averaged_model_matches_torch(device, kind):
    gm, tm = pair(device)
    make = {
        "swa": (dict(), dict()),
        "ema_multi": (dict(multi_avg_fn=swa.get_ema_multi_avg_fn(0.9)),
                      dict(multi_avg_fn=tswa.get_ema_multi_avg_fn(0.9))),
        "ema": (dict(avg_fn=swa.get_ema_avg_fn(0.8)), dict(avg_fn=tswa.get_ema_avg_fn(0.8))),
        "swa_fn": (dict(avg_fn=swa.get_swa_avg_fn()), dict(avg_fn=tswa.get_swa_avg_fn())),
        "buffers": (dict(use_buffers=True, multi_avg_fn=swa.get_ema_multi_avg_fn(0.5)),
                    dict(use_buffers=True, multi_avg_fn=tswa.get_ema_multi_avg_fn(0.5))),
    }[kind]
    ga = swa.AveragedModel(gm, **make[0])
    ta = tswa.AveragedModel(tm, **make[1])
    for step in range(4):
        perturb(gm, tm, device, step)
        ga.update_parameters(gm)
        ta.update_parameters(tm)
        same_state(ga, ta)
    x = RNG.standard_normal((5, 3))
    ga.eval()
    ta.eval()
    np.testing.assert_allclose(to_np(ga(gpuarr.tensor(x, device=device))),
                               ta(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert ga.n_averaged.dtype == gpuarr.int64 and int(ga.n_averaged) == 4


def test_update_bn_matches_torch(device):
    gm, tm = pair(device)
    batches = [RNG.standard_normal((6, 3)) for _ in range(3)]
    gl = [(gpuarr.tensor(b, device=device), 0) for b in batches]
    tl = [(torch.tensor(b), 0) for b in batches]
    gm.eval()
    tm.eval()
    gm[1].momentum = tm[1].momentum = 0.3
    swa.update_bn(gl, gm)
    tswa.update_bn(tl, tm)
    same_state(gm, tm)
    assert not gm.training and gm[1].momentum == 0.3
    swa.update_bn([gpuarr.zeros(2, 3)], nn.Linear(3, 3))  # no batch norm: nothing happens


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=0.05, anneal_epochs=3),
                                dict(swa_lr=[0.05, 0.2], anneal_epochs=4,
                                     anneal_strategy="linear"),
                                dict(swa_lr=0.01, anneal_epochs=0)], ids=str)
def test_swalr_matches_torch(kw):
    def opt_of(lib, params):
        return lib.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}],
                             lr=0.5)

    gopt = opt_of(gpuarr, list(nn.Linear(2, 2).parameters()))
    topt = opt_of(torch, list(torch.nn.Linear(2, 2).parameters()))
    gs = swa.SWALR(gopt, **kw)
    ts = tswa.SWALR(topt, **kw)
    for _ in range(7):
        np.testing.assert_allclose(gs.get_last_lr(), ts.get_last_lr(), rtol=1e-12)
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
    state = gs.state_dict()
    assert "optimizer" not in state and "anneal_func" not in state
    again = swa.SWALR(gopt, swa_lr=1.0)
    again.load_state_dict(state)
    assert again.anneal_func(0.5) == gs.anneal_func(0.5)


def test_swa_errors():
    opt = gpuarr.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    topt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    cases = [
        (lambda: swa.SWALR(opt, 0.1, anneal_strategy="exp"),
         lambda: tswa.SWALR(topt, 0.1, anneal_strategy="exp")),
        (lambda: swa.SWALR(opt, 0.1, anneal_epochs=-1),
         lambda: tswa.SWALR(topt, 0.1, anneal_epochs=-1)),
        (lambda: swa.SWALR(opt, [0.1, 0.2]), lambda: tswa.SWALR(topt, [0.1, 0.2])),
        (lambda: swa.get_ema_avg_fn(1.5), lambda: tswa.get_ema_avg_fn(1.5)),
        (lambda: swa.get_ema_multi_avg_fn(-0.1), lambda: tswa.get_ema_multi_avg_fn(-0.1)),
        (lambda: swa.AveragedModel(nn.Linear(1, 1), avg_fn=swa.get_swa_avg_fn(),
                                   multi_avg_fn=swa.get_swa_multi_avg_fn()),
         lambda: tswa.AveragedModel(torch.nn.Linear(1, 1), avg_fn=tswa.get_swa_avg_fn(),
                                    multi_avg_fn=tswa.get_swa_multi_avg_fn())),
    ]
    for ours, ref in cases:
        with pytest.raises(Exception) as r:
            ref()
        with pytest.raises(type(r.value)) as o:
            ours()
        assert str(o.value) == str(r.value)


def test_averaged_model_device_and_training_loop(device):
    gpuarr.manual_seed(0)
    model = nn.Linear(4, 1)
    avg = swa.AveragedModel(model, device=device)
    assert avg.module.weight.device.type == device and avg.n_averaged.device.type == device
    opt = gpuarr.optim.SGD(model.parameters(), lr=0.1)
    weights = []
    for _ in range(3):
        opt.zero_grad()
        model(gpuarr.randn(8, 4)).pow(2).mean().backward()
        opt.step()
        weights.append(to_np(model.weight).copy())  # numpy() shares the live array
        avg.update_parameters(model)
    np.testing.assert_allclose(to_np(avg.module.weight), np.mean(weights, axis=0), rtol=1e-6)
