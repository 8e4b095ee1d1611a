"""Learning-rate schedulers against torch.optim.lr_scheduler."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch

import gpuarr
import gpuarr.optim as optim
from gpuarr.optim import lr_scheduler as S


class _Half:
    """A callable object (its __dict__ goes into LambdaLR's state_dict)."""

    def __init__(self) -> None:
        self.base = 0.5

    def __call__(self, epoch: int) -> float:
        return self.base**epoch


SCHEDULES = [
    ("StepLR", dict(step_size=3)),
    ("StepLR", dict(step_size=2, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),  # runs past T_max: restarts upward
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (e + 1))),
    ("LambdaLR", dict(lr_lambda=[lambda e: 0.9**e, lambda e: 1 + e])),
]


def _pair(lr=0.1):
    gp = [gpuarr.ones(2, requires_grad=True), gpuarr.ones(1, requires_grad=True)]
    tp = [torch.ones(2, requires_grad=True), torch.ones(1, requires_grad=True)]
    gopt = optim.SGD([{"params": gp[:1]}, {"params": gp[1:], "lr": lr * 2}], lr=lr)
    topt = torch.optim.SGD([{"params": tp[:1]}, {"params": tp[1:], "lr": lr * 2}], lr=lr)
    return gopt, topt


@pytest.mark.parametrize("name,kwargs", SCHEDULES)
def test_values_match_torch(name, kwargs):
    gopt, topt = _pair()
    gs = getattr(S, name)(gopt, **kwargs)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    for _ in range(20):
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
        assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15)
        assert [g["lr"] for g in gopt.param_groups] == gs.get_last_lr()
    assert gs.last_epoch == ts.last_epoch == 20
    assert [g["initial_lr"] for g in gopt.param_groups] == [0.1, 0.2]


@pytest.mark.parametrize("name,kwargs", [s for s in SCHEDULES if s[0] != "LambdaLR"])
def test_closed_form_with_epoch_matches_torch(name, kwargs):
    gopt, topt = _pair()
    gs = getattr(S, name)(gopt, **kwargs)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gopt.step()
        topt.step()
        for e in (4, 1, 9):
            gs.step(e)
            ts.step(e)
            assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)


def test_cosine_reaches_eta_min_at_t_max():
    gopt, _ = _pair()
    sched = S.CosineAnnealingLR(gopt, T_max=10, eta_min=0.001)
    for _ in range(10):
        gopt.step()
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(0.001)
    assert sched.get_last_lr()[1] == pytest.approx(0.001)


def test_state_dict_round_trip_resumes():
    gopt, _ = _pair()
    sched = S.StepLR(gopt, step_size=2, gamma=0.5)
    for _ in range(3):
        gopt.step()
        sched.step()
    sd = json.loads(json.dumps(sched.state_dict()))  # plain data only
    assert "optimizer" not in sd
    gopt2, _ = _pair()
    gopt2.load_state_dict(gopt.state_dict())
    sched2 = S.StepLR(gopt2, step_size=99)
    sched2.load_state_dict(sd)
    assert sched2.step_size == 2 and sched2.last_epoch == 3
    gopt.step()
    gopt2.step()
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == [0.025, 0.05]


def test_lambda_state_dict_keeps_callable_objects_state():
    gopt, _ = _pair()
    fn = _Half()
    sched = S.LambdaLR(gopt, [fn, lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"base": 0.5}, None]
    fn2 = _Half()
    fn2.base = 0.1
    sched2 = S.LambdaLR(_pair()[0], [fn2, lambda e: 1.0])
    sched2.load_state_dict(sd)
    assert fn2.base == 0.5


def test_resume_needs_initial_lr_and_lambda_count():
    gopt, _ = _pair()
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(gopt, step_size=2, last_epoch=4)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        S.LambdaLR(gopt, [lambda e: 1.0])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR(object(), step_size=2)


def test_warns_when_stepped_before_optimizer():
    gopt, _ = _pair()
    sched = S.ExponentialLR(gopt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_step_lr_decays_every_step_size():
    gopt, _ = _pair(lr=1.0)
    sched = S.StepLR(gopt, step_size=3, gamma=0.1)
    lrs = []
    for _ in range(9):
        lrs.append(sched.get_last_lr()[0])
        gopt.step()
        sched.step()
    expected = [1.0] * 3 + [0.1] * 3 + [0.01] * 3
    assert all(math.isclose(a, b) for a, b in zip(lrs, expected))
