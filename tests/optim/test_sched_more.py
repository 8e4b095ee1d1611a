"""ReduceLROnPlateau, OneCycleLR, CyclicLR, LinearLR, ConstantLR, PolynomialLR,
MultiplicativeLR, SequentialLR, ChainedScheduler and CosineAnnealingWarmRestarts against
torch.optim.lr_scheduler: learning rates (and cycled momentums) equal to the last bit over 20
steps, state dicts, resuming, warnings and error messages."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import gpuarr
import gpuarr.optim as optim
from gpuarr.optim import lr_scheduler as S

TS = torch.optim.lr_scheduler


class _Decay:
    """A callable object: its __dict__ goes into the scheduler's state dict."""

    def __init__(self) -> None:
        self.rate = 0.9

    def __call__(self, x: float) -> float:
        return self.rate**x


SCHEDULES = [
    ("ConstantLR", dict()),
    ("ConstantLR", dict(factor=0.5, total_iters=3)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.75, total_iters=8)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=30)),  # a linear decay
    ("PolynomialLR", dict()),
    ("PolynomialLR", dict(total_iters=12, power=2.0)),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.95)),
    ("MultiplicativeLR", dict(lr_lambda=[lambda e: 0.9, lambda e: 1.0 + 0.01 * e])),
    ("CosineAnnealingWarmRestarts", dict(T_0=5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5,
                      mode="triangular2", base_momentum=0.7, max_momentum=0.95)),
    ("CyclicLR", dict(base_lr=0.001, max_lr=0.05, step_size_up=3, mode="exp_range",
                      gamma=0.9, cycle_momentum=False)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=_Decay(),
                      scale_mode="iterations")),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=20)),
    ("OneCycleLR", dict(max_lr=[0.1, 0.3], epochs=4, steps_per_epoch=5, pct_start=0.25,
                        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0)),
    ("OneCycleLR", dict(max_lr=0.2, total_steps=21, three_phase=True, base_momentum=0.8,
                        max_momentum=0.9)),
]


def _pair(device, kind="SGD", lr=0.1):
    gp = [gpuarr.ones(2, device=device, requires_grad=True),
          gpuarr.ones(1, device=device, requires_grad=True)]
    tp = [torch.ones(2, requires_grad=True), torch.ones(1, requires_grad=True)]
    extra = dict(momentum=0.9) if kind == "SGD" else {}
    gopt = getattr(optim, kind)([{"params": gp[:1]}, {"params": gp[1:], "lr": lr * 2}], lr=lr,
                                **extra)
    topt = getattr(torch.optim, kind)([{"params": tp[:1]}, {"params": tp[1:], "lr": lr * 2}],
                                      lr=lr, **extra)
    return gopt, topt


def _momentums(opt):
    return [(g.get("momentum"), tuple(g["betas"]) if "betas" in g else None)
            for g in opt.param_groups]


def _same_lrs(gs, ts, gopt, topt):
    assert gs.get_last_lr() == ts.get_last_lr()  # exactly: same formulas, same order
    assert [g["lr"] for g in gopt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert _momentums(gopt) == _momentums(topt)


# with Adam, the schedulers that cycle momentum cycle beta1 instead
VALUE_CASES = [(n, k, "SGD") for n, k in SCHEDULES] + [
    (n, k, "Adam") for n, k in SCHEDULES if n in ("CyclicLR", "OneCycleLR")]


@pytest.mark.parametrize("name,kwargs,kind", VALUE_CASES)
def test_values_match_torch(name, kwargs, kind, device):
    gopt, topt = _pair(device, kind)
    gs = getattr(S, name)(gopt, **kwargs)
    ts = getattr(TS, name)(topt, **kwargs)
    _same_lrs(gs, ts, gopt, topt)
    for _ in range(20):
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
        _same_lrs(gs, ts, gopt, topt)
    assert gs.last_epoch == ts.last_epoch
    assert [g["initial_lr"] for g in gopt.param_groups] == \
        [g["initial_lr"] for g in topt.param_groups]


def test_cosine_warm_restarts_fractional_epochs_match_torch(device):
    gopt, topt = _pair(device)
    gs = S.CosineAnnealingWarmRestarts(gopt, T_0=4, T_mult=2, eta_min=0.01)
    ts = TS.CosineAnnealingWarmRestarts(topt, T_0=4, T_mult=2, eta_min=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns for none of these
        for epoch in [0.25, 0.5, 1.75, 3.9, 4.0, 4.5, 11.0, 12.5, 27.0, 2.0]:
            gs.step(epoch)
            ts.step(epoch)
            _same_lrs(gs, ts, gopt, topt)
            assert (gs.T_cur, gs.T_i, gs.last_epoch) == (ts.T_cur, ts.T_i, ts.last_epoch)
        for _ in range(6):  # then interleaved with plain steps
            gs.step()
            ts.step()
            _same_lrs(gs, ts, gopt, topt)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        gs.step(-1)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs"),
    dict(patience=0, cooldown=2, min_lr=[0.02, 0.05], eps=1e-3),
    dict(mode="min", factor=0.3, patience=2, threshold=0.05, min_lr=0.001),
]
METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.89, 0.9, 0.91, 0.92, 0.85, 0.86, 0.87, 0.88, 0.5,
           0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 0.4, 0.4, 0.41]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_on_plateau_matches_torch(kwargs, device):
    gopt, topt = _pair(device)
    gs = S.ReduceLROnPlateau(gopt, **kwargs)
    ts = TS.ReduceLROnPlateau(topt, **kwargs)
    metrics = METRICS if kwargs.get("mode") != "max" else [-m for m in METRICS]
    for i, m in enumerate(metrics):
        gopt.step()
        topt.step()
        # metrics as numbers, or as 0-d tensors of each library
        gs.step(m if i % 2 else gpuarr.tensor(m, device=device))
        ts.step(m if i % 2 else torch.tensor(m))
        _same_lrs(gs, ts, gopt, topt)
        for attr in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
            assert getattr(gs, attr) == getattr(ts, attr), attr
    if kwargs:
        assert gs.get_last_lr() != [0.1, 0.2]  # the rate was reduced at least once


def test_reduce_on_plateau_state_dict_round_trip():
    gopt, topt = _pair("cpu")
    gs = S.ReduceLROnPlateau(gopt, mode="max", patience=1)
    ts = TS.ReduceLROnPlateau(topt, mode="max", patience=1)
    for m in (1.0, 0.5, 0.4, 0.3):
        gs.step(m)
        ts.step(m)
    gsd, tsd = gs.state_dict(), ts.state_dict()
    assert gsd == {k: v for k, v in tsd.items()}
    g2 = S.ReduceLROnPlateau(_pair("cpu")[0])
    g2.load_state_dict(gsd)
    assert g2.mode == "max" and g2.mode_worse == -math.inf
    assert g2.num_bad_epochs == ts.num_bad_epochs == 1
    assert g2._is_better(2.0, 1.0)


def _chain(lib, opt):
    mod = S if lib is gpuarr else TS
    return mod.ChainedScheduler([mod.ConstantLR(opt, factor=0.5, total_iters=3),
                                 mod.ExponentialLR(opt, gamma=0.9),
                                 mod.PolynomialLR(opt, total_iters=10, power=1.5)])


def _sequence(lib, opt):
    mod = S if lib is gpuarr else TS
    return mod.SequentialLR(opt, schedulers=[mod.LinearLR(opt, start_factor=0.1,
                                                          total_iters=4),
                                             mod.CosineAnnealingLR(opt, T_max=6),
                                             mod.StepLR(opt, step_size=2, gamma=0.5)],
                            milestones=[4, 10])


def _chain_of_sequence(lib, opt):
    mod = S if lib is gpuarr else TS
    seq = mod.SequentialLR(opt, schedulers=[mod.ConstantLR(opt, factor=0.5, total_iters=2),
                                            mod.ExponentialLR(opt, gamma=0.8)],
                           milestones=[3])
    return mod.ChainedScheduler([seq, mod.MultiplicativeLR(opt, lr_lambda=lambda e: 0.97)],
                                optimizer=opt)


@pytest.mark.parametrize("make", [_chain, _sequence, _chain_of_sequence])
def test_combinators_match_torch(make, device):
    gopt, topt = _pair(device)
    gs, ts = make(gpuarr, gopt), make(torch, topt)
    _same_lrs(gs, ts, gopt, topt)
    for _ in range(20):
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
        _same_lrs(gs, ts, gopt, topt)


def _jsonish(sd):
    """The keys of a scheduler state dict, recursively (nested schedulers' too)."""
    out = {}
    for k, v in sd.items():
        out[k] = [_jsonish(s) for s in v] if k == "_schedulers" else None
    return out


RESUMABLE = [s for s in SCHEDULES if s[0] != "MultiplicativeLR" or callable(s[1]["lr_lambda"])]


@pytest.mark.parametrize("name,kwargs", RESUMABLE)
def test_state_dict_matches_torch_and_resumes(name, kwargs):
    gopt, topt = _pair("cpu")
    gs = getattr(S, name)(gopt, **kwargs)
    ts = getattr(TS, name)(topt, **kwargs)
    for _ in range(7):
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
    gsd, tsd = gs.state_dict(), ts.state_dict()
    assert sorted(gsd) == sorted(tsd)
    for key, tv in tsd.items():
        if key not in ("_scale_fn_custom", "lr_lambdas", "_scale_fn_ref"):
            assert gsd[key] == tv, key
    # a fresh scheduler on a fresh optimizer picks up where this one is (built before the
    # optimizer's state is loaded: building one sets the learning rates, as in torch)
    gopt2, _ = _pair("cpu")
    gs2 = getattr(S, name)(gopt2, **kwargs)
    gopt2.load_state_dict(gopt.state_dict())
    gs2.load_state_dict(gsd)
    for _ in range(8):
        for opt, sched in ((gopt, gs), (gopt2, gs2), (topt, ts)):
            opt.step()
            sched.step()
        assert gs2.get_last_lr() == gs.get_last_lr() == ts.get_last_lr()


@pytest.mark.parametrize("make", [_chain, _sequence])
def test_combinator_state_dict_resumes(make):
    gopt, topt = _pair("cpu")
    gs, ts = make(gpuarr, gopt), make(torch, topt)
    for _ in range(6):
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
    sd = gs.state_dict()
    assert _jsonish(sd) == _jsonish(ts.state_dict())
    gopt2, _ = _pair("cpu")
    gs2 = make(gpuarr, gopt2)
    gopt2.load_state_dict(gopt.state_dict())
    gs2.load_state_dict(sd)
    assert "_schedulers" in sd  # the caller's dict is left whole
    for _ in range(8):
        for opt, sched in ((gopt, gs), (gopt2, gs2), (topt, ts)):
            opt.step()
            sched.step()
        assert gs2.get_last_lr() == gs.get_last_lr() == ts.get_last_lr()


def test_cyclic_scale_fn_object_state_round_trip():
    gopt, _ = _pair("cpu")
    fn = _Decay()
    gs = S.CyclicLR(gopt, base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=fn)
    sd = gs.state_dict()
    assert sd["_scale_fn_custom"] == {"rate": 0.9} and "_scale_fn_ref" not in sd
    fn2 = _Decay()
    fn2.rate = 0.1
    gs2 = S.CyclicLR(_pair("cpu")[0], base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=fn2)
    gs2.load_state_dict(sd)
    assert fn2.rate == 0.9 and "_scale_fn_custom" in sd
    lam = S.CyclicLR(_pair("cpu")[0], base_lr=0.01, max_lr=0.1, scale_fn=lambda x: 1.0)
    assert lam.state_dict()["_scale_fn_custom"] is None


@pytest.mark.parametrize("name,kwargs", [
    ("ConstantLR", dict(factor=0.5, total_iters=4)),
    ("LinearLR", dict(start_factor=0.2, total_iters=6)),
    ("PolynomialLR", dict(total_iters=8, power=0.5)),
    ("ExponentialLR", dict(gamma=0.8)),
])
def test_closed_form_with_epoch_matches_torch(name, kwargs):
    gopt, topt = _pair("cpu")
    gs = getattr(S, name)(gopt, **kwargs)
    ts = getattr(TS, name)(topt, **kwargs)
    gopt.step()
    topt.step()
    for e in (3, 1, 7, 12, 0):
        with warnings.catch_warnings(record=True) as grec:
            warnings.simplefilter("always")
            gs.step(e)
        with warnings.catch_warnings(record=True) as trec:
            warnings.simplefilter("always")
            ts.step(e)
        assert [str(w.message) for w in grec] == [str(w.message) for w in trec]
        assert grec  # the epoch argument is deprecated
        assert gs.get_last_lr() == ts.get_last_lr()


@pytest.mark.parametrize("name,kwargs", [
    ("ExponentialLR", dict(gamma=0.8)),
    ("LinearLR", dict(start_factor=0.5, total_iters=6)),
    ("PolynomialLR", dict(total_iters=8)),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=30)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
])
def test_resume_with_last_epoch_matches_torch(name, kwargs):
    gopt, topt = _pair("cpu")
    for opt in (gopt, topt):
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
            if name == "OneCycleLR":
                g.update(max_lr=0.1, min_lr=4e-7, max_momentum=0.95, base_momentum=0.85)
            if name == "CyclicLR":
                g.update(max_momentum=0.9, base_momentum=0.8)
    gs = getattr(S, name)(gopt, last_epoch=5, **kwargs)
    ts = getattr(TS, name)(topt, last_epoch=5, **kwargs)
    _same_lrs(gs, ts, gopt, topt)
    for _ in range(6):
        gopt.step()
        topt.step()
        gs.step()
        ts.step()
        _same_lrs(gs, ts, gopt, topt)


def _message(fn):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - the type and text are what is compared
            return type(e).__name__, str(e)
    return [str(w.message) for w in rec]


BAD = [
    ("ConstantLR", dict(factor=1.5)),
    ("LinearLR", dict(start_factor=0.0)),
    ("LinearLR", dict(end_factor=1.5)),
    ("MultiplicativeLR", dict(lr_lambda=[lambda e: 1.0])),
    ("MultiplicativeLR", dict(lr_lambda=0.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, eta_min="x")),
    ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, mode="sawtooth")),
    ("CyclicLR", dict(base_lr=[0.1], max_lr=1.0)),
    ("OneCycleLR", dict(max_lr=0.1)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=0)),
    ("OneCycleLR", dict(max_lr=0.1, epochs=2, steps_per_epoch=-1)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=10, pct_start=1.5)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=10, anneal_strategy="cubic")),
    ("ReduceLROnPlateau", dict(factor=1.0)),
    ("ReduceLROnPlateau", dict(mode="up")),
    ("ReduceLROnPlateau", dict(threshold_mode="pct")),
    ("ReduceLROnPlateau", dict(min_lr=[0.1])),
    ("StepLR", dict(step_size=2, last_epoch=3)),
]


@pytest.mark.parametrize("name,kwargs", BAD)
def test_errors_match_torch(name, kwargs):
    gopt, topt = _pair("cpu")
    got = _message(lambda: getattr(S, name)(gopt, **kwargs))
    want = _message(lambda: getattr(TS, name)(topt, **kwargs))
    assert isinstance(want, tuple)
    assert got == want


def test_cycle_momentum_needs_momentum_like_torch():
    g = optim.Rprop([gpuarr.ones(2, requires_grad=True)])
    t = torch.optim.Rprop([torch.ones(2, requires_grad=True)])
    for mod, opt in ((S, g), (TS, t)):
        with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
            mod.OneCycleLR(opt, max_lr=0.1, total_steps=5)
        with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
            mod.CyclicLR(opt, base_lr=0.01, max_lr=0.1)


def test_combinator_errors_match_torch():
    gopt, topt = _pair("cpu")
    other_g, other_t = _pair("cpu")
    cases = [
        lambda mod, o, other: mod.SequentialLR(o, schedulers=[], milestones=[]),
        lambda mod, o, other: mod.SequentialLR(o, schedulers=[mod.ConstantLR(o)],
                                               milestones=[2]),
        lambda mod, o, other: mod.SequentialLR(o, schedulers=[mod.ConstantLR(other)],
                                               milestones=[]),
        lambda mod, o, other: mod.SequentialLR(o, schedulers=[mod.ReduceLROnPlateau(o)],
                                               milestones=[]),
        lambda mod, o, other: mod.ChainedScheduler([]),
        lambda mod, o, other: mod.ChainedScheduler([mod.ConstantLR(o), object()]),
    ]
    for case in cases:
        got = _message(lambda case=case: case(S, gopt, other_g))
        want = _message(lambda case=case: case(TS, topt, other_t))
        assert isinstance(want, tuple)
        assert got[0] == want[0]
        # the messages name the optimizers by their repr, which differs between libraries
        assert got[1].split(" has ")[0] == want[1].split(" has ")[0]


def test_one_cycle_overstep_error_matches_torch():
    msgs = []
    for mod, opt in ((S, _pair("cpu")[0]), (TS, _pair("cpu")[1])):
        sched = mod.OneCycleLR(opt, max_lr=0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError) as e:
            opt.step()
            sched.step()
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] == "Tried to step 4 times. The specified number of total " \
                                 "steps is 3"


def test_get_lr_outside_step_warns_like_torch():
    gopt, topt = _pair("cpu")
    got = _message(lambda: S.PolynomialLR(gopt).get_lr())
    want = _message(lambda: TS.PolynomialLR(topt).get_lr())
    assert got == want == ["To get the last learning rate computed by the scheduler, please "
                           "use `get_last_lr()`."]


@pytest.mark.parametrize("name,kwargs", [s for s in SCHEDULES if s[0] != "CyclicLR"][:8])
def test_step_order_warning_matches_torch(name, kwargs):
    gopt, topt = _pair("cpu")
    gs = getattr(S, name)(gopt, **kwargs)
    ts = getattr(TS, name)(topt, **kwargs)
    got, want = _message(gs.step), _message(ts.step)
    assert got == want
    assert any("before `optimizer.step()`" in m for m in got)
