"""Lazy modules against torch: uninitialised state, shape inference on the first call, the
class swap, initialisation order, dtype/device, state_dict round trips, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from device_helpers import resolved
from nn_helpers import compare_module, raises_like, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.nn.parameter import is_lazy

# (name, constructor args, input shape)
CASES = [
    ("LazyLinear", (4,), (2, 3)),
    ("LazyLinear", (4, False), (2, 5, 3)),
    ("LazyConv1d", (4, 3), (2, 3, 8)),
    ("LazyConv1d", (4, 3), (3, 8)),
    ("LazyConv2d", (4, 3), (2, 2, 6, 6)),
    ("LazyConv2d", (4, 3, 2, 1, 1, 2), (1, 4, 7, 7)),
    ("LazyConv3d", (2, 2), (1, 3, 4, 4, 4)),
    ("LazyConvTranspose1d", (4, 3, 2), (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), (2, 2, 4, 4)),
    ("LazyConvTranspose2d", (4, 3, 1, 0, 0, 2, False), (2, 4, 4)),
    ("LazyBatchNorm1d", (), (4, 3)),
    ("LazyBatchNorm1d", (1e-3, 0.2, False), (4, 3, 5)),
    ("LazyBatchNorm2d", (), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), (2, 3, 5)),
    ("LazyInstanceNorm2d", (1e-5, 0.1, False, False), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), (2, 3, 2, 3, 2)),
    ("LazyConvTranspose3d", (2, 2), (1, 3, 3, 3, 3)),
    ("LazyConvTranspose3d", (2, 2, 1, 0, 0, 1, False), (3, 3, 3, 3)),
]
# torch warns when a non-affine InstanceNorm's num_features (0 for a lazy one) mismatches
pytestmark = pytest.mark.filterwarnings("ignore:input's size at dim=1:UserWarning")
IDS = [f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)]


def _regular(name: str) -> str:
    return name[len("Lazy"):]


def _torch_dry_run(name, args, shape):
    tm = getattr(torch.nn, name)(*args)
    tm(torch.tensor(rnd(*shape, seed=1), dtype=torch.float32))
    return tm


@pytest.mark.parametrize("name,args,shape", CASES, ids=IDS)
def test_uninitialised_state_matches_torch(name, args, shape, device):
    gm = getattr(nn, name)(*args, device=device)
    tm = getattr(torch.nn, name)(*args)
    assert repr(gm) == repr(tm)
    assert gm.has_uninitialized_params() == tm.has_uninitialized_params()
    gsd, tsd = gm.state_dict(), tm.state_dict()
    assert list(gsd) == list(tsd)
    for k in tsd:
        assert is_lazy(gsd[k]) == torch.nn.parameter.is_lazy(tsd[k]), k
        if is_lazy(gsd[k]):
            assert repr(gsd[k]) == repr(tsd[k])
            assert gsd[k].device == resolved(device)
    names = [n for n, _ in gm.named_parameters()]
    assert names == [n for n, _ in tm.named_parameters()]


@pytest.mark.parametrize("name,args,shape", CASES, ids=IDS)
def test_first_call_becomes_regular_module(name, args, shape, device):
    gm = getattr(nn, name)(*args, device=device)
    tm = _torch_dry_run(name, args, shape)
    gm(gpuarr.tensor(rnd(*shape, seed=1), dtype=gpuarr.float32, device=device))
    assert type(gm) is getattr(nn, _regular(name))
    assert type(tm) is getattr(torch.nn, _regular(name))
    assert not gm._forward_pre_hooks and not gm._load_state_dict_pre_hooks
    for (gn, gp), (tn, tp) in zip(gm.state_dict().items(), tm.state_dict().items()):
        assert gn == tn and tuple(gp.shape) == tuple(tp.shape), gn
        assert type(gp) is gpuarr.Tensor and gp.device == resolved(device)
    for p in gm.parameters():
        assert type(p) is nn.Parameter and p.requires_grad


@pytest.mark.parametrize("name,args,shape", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [gpuarr.float32, gpuarr.float64])
def test_outputs_and_gradients_match_torch(name, args, shape, dtype, device):
    # torch's materialised weights are loaded into the still-uninitialised gpuarr module: the
    # load hook materialises it, the first call then swaps its class
    tm = _torch_dry_run(name, args, shape)
    gm = getattr(nn, name)(*args)
    compare_module(gm, tm, [rnd(*shape, seed=2)], device, dtype)
    assert type(gm) is getattr(nn, _regular(name))


@pytest.mark.parametrize("name,args,shape", CASES, ids=IDS)
def test_same_rng_consumption_as_eager_construction(name, args, shape, device):
    x = gpuarr.tensor(rnd(*shape, seed=3), dtype=gpuarr.float32, device=device)
    gpuarr.manual_seed(7)
    lazy = getattr(nn, name)(*args, device=device)
    lazy.eval()(x)  # eval: the norms' first call leaves the fresh running statistics alone
    after_lazy = gpuarr.rand(3, device=device)
    regular = getattr(nn, _regular(name))
    gpuarr.manual_seed(7)
    if name.startswith("LazyLinear"):
        eager = regular(shape[-1], *args, device=device)
    elif "Conv" in name:
        cin = shape[1] if len(shape) == len(lazy.kernel_size) + 2 else shape[0]
        eager = regular(cin, *args, device=device)
    else:
        eager = regular(shape[1], *args, device=device)
    after_eager = gpuarr.rand(3, device=device)
    for (k, a), (_, b) in zip(lazy.state_dict().items(), eager.state_dict().items()):
        np.testing.assert_array_equal(to_np(a), to_np(b), err_msg=k)
    np.testing.assert_array_equal(to_np(after_lazy), to_np(after_eager))


def test_lazy_linear_example_from_torch_docs(device):
    x = gpuarr.tensor(rnd(10, 7), dtype=gpuarr.float32, device=device)

    class LazyMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.LazyLinear(10)
            self.relu1 = nn.ReLU()
            self.fc2 = nn.LazyLinear(1)

        def forward(self, input):
            return self.fc2(self.relu1(self.fc1(input)))

    m = LazyMLP().to(device)
    assert m(x).shape == (10, 1)
    assert repr(m.fc1) == "Linear(in_features=7, out_features=10, bias=True)"
    assert repr(m.fc2) == "Linear(in_features=10, out_features=1, bias=True)"


@pytest.mark.parametrize("dtype", [gpuarr.float64, gpuarr.float16])
def test_dtype_and_device_kwargs(dtype, device):
    m = nn.LazyLinear(3, device=device, dtype=dtype)
    assert m.weight.dtype == dtype and m.weight.device == resolved(device)
    m(gpuarr.ones(2, 5, dtype=dtype, device=device))
    assert m.weight.dtype == dtype and m.bias.dtype == dtype
    assert m.weight.device == resolved(device) and m.weight.shape == (3, 5)
    bn = nn.LazyBatchNorm1d(device=device, dtype=dtype)
    assert bn.running_mean.dtype == dtype and bn.num_batches_tracked.dtype == gpuarr.int64
    assert bn.num_batches_tracked.device == resolved(device)


def test_module_to_before_the_dry_run_keeps_it_lazy(device):
    m = nn.LazyBatchNorm2d().double().to(device)
    tm = torch.nn.LazyBatchNorm2d().double()
    assert type(m.weight) is nn.UninitializedParameter
    assert type(m.running_mean) is nn.UninitializedBuffer
    assert type(tm.running_mean) is torch.nn.UninitializedBuffer
    assert m.running_mean.dtype == gpuarr.float64 and m.weight.device == resolved(device)
    m(gpuarr.randn(2, 3, 2, 2, dtype=gpuarr.float64, device=device))
    assert m.weight.dtype == m.running_var.dtype == gpuarr.float64
    assert type(m.running_var) is gpuarr.Tensor


def test_optimizer_after_dry_run_trains(device):
    x = rnd(6, 4)
    tm = torch.nn.LazyLinear(2)
    tm(torch.tensor(x, dtype=torch.float32))
    gm = nn.LazyLinear(2).to(device)
    gm(gpuarr.tensor(x, dtype=gpuarr.float32, device=device))
    gm.load_state_dict({k: gpuarr.tensor(v.numpy(), device=device)
                        for k, v in tm.state_dict().items()})
    gopt = gpuarr.optim.SGD(gm.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        gopt.zero_grad()
        topt.zero_grad()
        (gm(gpuarr.tensor(x, dtype=gpuarr.float32, device=device)) ** 2).sum().backward()
        (tm(torch.tensor(x, dtype=torch.float32)) ** 2).sum().backward()
        gopt.step()
        topt.step()
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_parameters_keep_identity_through_materialisation(device):
    # as torch, materialize changes the object's class in place, so an optimizer that was
    # built before the dry run (not recommended) still holds the module's parameters
    m = nn.LazyLinear(2, device=device)
    before = list(m.parameters())
    opt = gpuarr.optim.SGD(m.parameters(), lr=1.0)
    opt.step()  # no gradients yet: nothing to do (torch does the same)
    m(gpuarr.ones(1, 3, device=device)).sum().backward()
    assert [id(p) for p in m.parameters()] == [id(p) for p in before]
    w0 = to_np(m.weight).copy()
    opt.step()
    np.testing.assert_allclose(to_np(m.weight), w0 - 1.0, rtol=1e-6)


def test_load_initialised_state_into_lazy_module(device):
    src = nn.Linear(3, 2, device=device)
    m = nn.LazyLinear(2, device=device)
    res = m.load_state_dict(src.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert type(m) is nn.LazyLinear and not m.has_uninitialized_params()
    np.testing.assert_array_equal(to_np(m.weight), to_np(src.weight))
    x = gpuarr.randn(4, 3, device=device)
    np.testing.assert_array_equal(to_np(m(x)), to_np(src(x)))  # loaded values are kept
    assert type(m) is nn.Linear


def test_load_uninitialised_state(device):
    m = nn.LazyBatchNorm1d(device=device)
    m.load_state_dict(nn.LazyBatchNorm1d(device=device).state_dict())
    assert m.has_uninitialized_params()
    t = torch.nn.BatchNorm1d(3)
    raises_like(lambda: t.load_state_dict(torch.nn.LazyBatchNorm1d().state_dict()),
                lambda: nn.BatchNorm1d(3, device=device).load_state_dict(
                    nn.LazyBatchNorm1d(device=device).state_dict()))


def test_uninitialised_parameter_errors(device):
    g, t = nn.LazyLinear(3, device=device).weight, torch.nn.LazyLinear(3).weight
    raises_like(lambda: t.shape, lambda: g.shape)
    raises_like(lambda: t.share_memory_(), lambda: g.share_memory_())
    for meth in ("dim", "numel", "detach"):
        with pytest.raises(ValueError):
            getattr(t, meth)()
        with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
            getattr(g, meth)()
    assert g.requires_grad and g.is_leaf and g.grad is None and g.dtype == gpuarr.float32
    assert isinstance(g, nn.Parameter) and isinstance(nn.UninitializedBuffer(), gpuarr.Tensor)
    assert not nn.UninitializedBuffer().requires_grad
    assert nn.UninitializedBuffer(persistent=False).persistent is False


def test_materialize(device):
    p = nn.UninitializedParameter(device=device, dtype=gpuarr.float64)
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype == gpuarr.float64
    assert p.device == resolved(device) and p.requires_grad
    b = nn.UninitializedBuffer(device=device)
    b.materialize(4, dtype=gpuarr.float16)
    assert type(b) is gpuarr.Tensor and b.shape == (4,) and b.dtype == gpuarr.float16


def test_deepcopy_and_state_dict_keys(device):
    m = nn.LazyConv2d(3, 2, device=device)
    c = copy.deepcopy(m)
    assert type(c.weight) is nn.UninitializedParameter and c.weight is not m.weight
    c(gpuarr.randn(1, 2, 4, 4, device=device))
    assert type(c) is nn.Conv2d and type(m) is nn.LazyConv2d and m.has_uninitialized_params()


def test_bad_input_errors(device):
    raises_like(lambda: torch.nn.LazyConv2d(3, 2)(torch.zeros(2, 3)),
                lambda: _sized(nn.LazyConv2d(3, 2, device=device),
                               gpuarr.zeros(2, 3, device=device)))
    raises_like(lambda: torch.nn.LazyConv1d(3, 2, groups=2)(torch.zeros(1, 3, 5)),
                lambda: nn.LazyConv1d(3, 2, groups=2)(gpuarr.zeros(1, 3, 5, device=device)))
    raises_like(lambda: torch.nn.LazyBatchNorm2d()(torch.zeros(2, 3)),
                lambda: nn.LazyBatchNorm2d(device=device)(gpuarr.zeros(2, 3, device=device)))

    class Half(nn.LazyModuleMixin, nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented"):
        Half()(gpuarr.zeros(1))


def _sized(m, x):
    """Call ``m`` and translate torch's Size name in the message (the one expected change)."""
    try:
        return m(x)
    except RuntimeError as e:
        raise RuntimeError(str(e).replace("gpuarr.Size", "torch.Size")) from None


def test_instance_norm_unbatched_takes_the_channel_dim(device):
    # torch reads dim 1 of an unbatched (C, L) input (a length, not the channels) and then
    # fails; gpuarr takes the channel count, so unbatched input works
    m = nn.LazyInstanceNorm1d(device=device)
    out = m(gpuarr.randn(3, 5, device=device))
    assert m.num_features == 3 and out.shape == (3, 5)


def test_fully_initialised_check(device):
    class Bad(nn.LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.UninitializedParameter()

        def initialize_parameters(self, x):
            pass

    with pytest.raises(RuntimeError, match="module Bad has not been fully initialized"):
        Bad()(gpuarr.zeros(1, device=device))


@pytest.mark.parametrize("name,shape", [("LazyBatchNorm1d", (4, 3)),
                                        ("LazyInstanceNorm1d", (2, 3, 5))])
def test_norm_without_bias(name, shape, device):
    tm = getattr(torch.nn, name)(bias=False)
    gm = getattr(nn, name)(bias=False, device=device)
    assert repr(gm) == repr(tm)
    assert list(gm.state_dict()) == list(tm.state_dict()) == [
        "weight", "running_mean", "running_var", "num_batches_tracked"]
    tm(torch.tensor(rnd(*shape, seed=1), dtype=torch.float32))
    compare_module(gm, tm, [rnd(*shape, seed=2)], device, gpuarr.float64)
    assert gm.bias is None
