"""Step instrumentation as torch's: global and per-optimizer step hooks on every Optimizer
subclass (user subclasses that override ``step`` included), state-dict hooks, and the
scheduler's "lr_scheduler.step() before optimizer.step()" check that must not fire falsely."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.optim.optimizer as torch_optimizer

import gpuarr
import gpuarr.optim as optim
from gpuarr.optim import lr_scheduler
from gpuarr.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

LIBS = {"gpuarr": (gpuarr, optim, register_optimizer_step_pre_hook,
                   register_optimizer_step_post_hook),
        "torch": (torch, torch.optim, torch_optimizer.register_optimizer_step_pre_hook,
                  torch_optimizer.register_optimizer_step_post_hook)}

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad", "Adamax", "NAdam",
              "RAdam", "Rprop", "ASGD"]


def _param(lib, device="cpu"):
    if lib is torch:
        p = torch.ones(3, requires_grad=True)
        p.grad = torch.full((3,), 0.5)
    else:
        p = gpuarr.ones(3, device=device, requires_grad=True)
        p.grad = gpuarr.full((3,), 0.5, device=device)
    return p


def _hook_log(libname, name):
    lib, mod, reg_pre, reg_post = LIBS[libname]
    log = []
    opt = getattr(mod, name)([_param(lib)], lr=0.1)
    handles = [
        reg_pre(lambda o, a, k: log.append(("global pre", type(o).__name__, a == (o,), k))),
        reg_post(lambda o, a, k: log.append(("global post", type(o).__name__, a == (o,), k))),
        opt.register_step_pre_hook(lambda o, a, k: log.append(("pre", a == (o,), k))),
        opt.register_step_post_hook(lambda o, a, k: log.append(("post", a == (o,), k))),
    ]
    try:
        opt.step()
        handles[2].remove()
        handles[0].remove()
        opt.step()
    finally:
        for h in handles:
            h.remove()
    opt.step()  # no hooks left
    return log


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_hook_order_matches_torch(name):
    # the hooks' args start with the optimizer itself, as in torch
    assert _hook_log("gpuarr", name) == _hook_log("torch", name) == [
        ("global pre", name, True, {}), ("pre", True, {}), ("post", True, {}),
        ("global post", name, True, {}), ("post", True, {}), ("global post", name, True, {})]


def test_lbfgs_step_is_hooked(device):
    x = gpuarr.tensor([1.0, 2.0], device=device, requires_grad=True)
    opt = optim.LBFGS([x], max_iter=2)
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append(("pre", len(a))))
    opt.register_step_post_hook(lambda o, a, k: seen.append(("post", len(a))))  # (opt, closure)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert seen == [("pre", 2), ("post", 2)]


def test_pre_hook_may_replace_arguments():
    p = gpuarr.ones(2, requires_grad=True)
    opt = optim.Adagrad([p], lr=0.1)
    calls = []

    def closure():
        calls.append("closure")
        p.grad = gpuarr.ones(2)
        return gpuarr.tensor(3.0)

    opt.register_step_pre_hook(lambda o, a, k: ((o,), {"closure": closure}))
    loss = opt.step()
    assert calls == ["closure"] and float(loss) == 3.0
    assert float(p[0]) == pytest.approx(0.9)  # first Adagrad step: lr * g / |g|


def test_pre_hook_returning_garbage_raises_like_torch():
    for lib, mod in ((gpuarr, optim), (torch, torch.optim)):
        opt = mod.NAdam([_param(lib)])
        opt.register_step_pre_hook(lambda o, a, k: "nonsense")
        with pytest.raises(RuntimeError, match="must return None or a tuple of "
                                               r"\(new_args, new_kwargs\), but got nonsense"):
            opt.step()


class _MySGD(optim.Optimizer):
    """A user optimizer that overrides step (plain SGD), as torch's docs write one."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    def step(self, closure=None):
        with gpuarr.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.sub_(group["lr"] * p.grad)


class _MyAdam(optim.Adam):
    """A user subclass whose step wraps the built-in one through super()."""

    def step(self, closure=None):
        self.calls = getattr(self, "calls", 0) + 1
        return super().step(closure)


@pytest.mark.parametrize("cls", [_MySGD, _MyAdam])
def test_user_subclass_step_is_instrumented(cls, device):
    p = _param(gpuarr, device)
    opt = cls([p], lr=0.1)
    log = []
    h1 = register_optimizer_step_pre_hook(lambda o, a, k: log.append("global pre"))
    h2 = register_optimizer_step_post_hook(lambda o, a, k: log.append("global post"))
    opt.register_step_pre_hook(lambda o, a, k: log.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: log.append("post"))
    try:
        opt.step()
    finally:
        h1.remove()
        h2.remove()
    # once each, even when the overriding step goes through super().step()
    assert log == ["global pre", "pre", "post", "global post"]
    assert opt._opt_called
    assert float(p[0]) < 1.0


@pytest.mark.parametrize("cls", [_MySGD, _MyAdam])
def test_no_false_scheduler_warning_for_user_subclass(cls, device):
    opt = cls([_param(gpuarr, device)], lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        for _ in range(3):
            opt.step()
            sched.step()
    assert sched.get_last_lr() == [pytest.approx(0.01)]


def test_no_false_warning_when_step_is_defined_after_the_class():
    class Late(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

    def step(self, closure=None):
        return None

    Late.step = step  # not seen by __init_subclass__: instrumented when an instance is built
    opt = Late([_param(gpuarr)])
    seen = []
    opt.register_step_post_hook(lambda o, a, k: seen.append(1))
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    assert seen == [1]


def _scheduler_warnings(libname, order):
    lib, mod, _, _ = LIBS[libname]
    opt = mod.SGD([_param(lib)], lr=0.1)
    sched = mod.lr_scheduler.StepLR(opt, step_size=1)
    if order == "overridden":
        opt.step = lambda closure=None: None
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        if order == "optimizer first":
            opt.step()
        sched.step()
        opt.step()
        sched.step()
    return [str(w.message) for w in rec]


@pytest.mark.parametrize("order", ["optimizer first", "scheduler first", "overridden"])
def test_scheduler_order_warnings_match_torch(order):
    got, want = _scheduler_warnings("gpuarr", order), _scheduler_warnings("torch", order)
    assert got == want
    assert len(got) == (0 if order == "optimizer first" else 1)


def test_instrumentation_wraps_once():
    assert optim.Adadelta.step.hooked and optim.SGD.step.hooked and optim.LBFGS.step.hooked
    for _ in range(3):  # building optimizers again must not stack wrappers
        opt = optim.Rprop([_param(gpuarr)])
        lr_scheduler.ConstantLR(opt)
    log = []
    opt.register_step_pre_hook(lambda o, a, k: log.append(1))
    opt.step()
    assert log == [1]


def test_state_dict_hooks_match_torch():
    def run(libname):
        lib, mod, _, _ = LIBS[libname]
        opt = mod.Adamax([_param(lib)], lr=0.1)
        opt.step()
        log = []
        opt.register_state_dict_pre_hook(lambda o: log.append("pre"))
        opt.register_state_dict_pre_hook(lambda o: log.append("pre first"), prepend=True)

        def post(o, sd):
            log.append("post")
            sd["extra"] = 1
            return sd

        opt.register_state_dict_post_hook(post)
        sd = opt.state_dict()
        assert sd["extra"] == 1

        def load_pre(o, sd):
            log.append("load pre")
            sd = dict(sd)
            sd.pop("extra")
            return sd

        opt.register_load_state_dict_pre_hook(load_pre)
        h = opt.register_load_state_dict_post_hook(lambda o: log.append("load post"))
        opt.load_state_dict(sd)
        h.remove()
        opt.load_state_dict(sd)
        return log

    assert run("gpuarr") == run("torch")


def test_hooks_survive_load_state_dict_and_pickling_state():
    p = _param(gpuarr)
    opt = optim.RAdam([p], lr=0.1)
    seen = []
    opt.register_step_post_hook(lambda o, a, k: seen.append(1))
    opt.step()
    opt.load_state_dict(opt.state_dict())
    opt.step()
    assert seen == [1, 1]
    np.testing.assert_array_less(p.detach().numpy(), 1.0)
