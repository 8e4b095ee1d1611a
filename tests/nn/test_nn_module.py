"""Module behaviour: registration, traversal, state_dict, to(), modes, hooks, repr,
Parameter and containers, checked against PyTorch where it defines the behaviour."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from device_helpers import resolved
from nn_helpers import load_from_torch, to_np

import gpuarr
from gpuarr import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 2)
        self.scale = nn.Parameter(gpuarr.ones(1))
        self.register_buffer("steps", gpuarr.zeros(1))
        self.register_buffer("cache", gpuarr.zeros(2), persistent=False)
        self.plain = gpuarr.zeros(3)  # an ordinary attribute, not state

    def forward(self, x):
        return self.fc2(self.act(self.bn(self.fc1(x)))) * self.scale


class TNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.bn = torch.nn.BatchNorm1d(8)
        self.act = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(8, 2)
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)
        self.plain = torch.zeros(3)

    def forward(self, x):
        return self.fc2(self.act(self.bn(self.fc1(x)))) * self.scale


def test_registration_and_traversal_match_torch():
    g, t = Net(), TNet()
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert list(g.state_dict()) == list(t.state_dict())
    assert len(list(g.parameters(recurse=False))) == 1
    assert len(list(g.modules())) == 5
    assert [type(m).__name__ for m in g.children()] == ["Linear", "BatchNorm1d", "ReLU",
                                                        "Linear"]
    assert "plain" not in g.state_dict() and isinstance(g.plain, gpuarr.Tensor)
    assert g.get_submodule("fc1") is g.fc1
    assert g.get_parameter("fc2.bias") is g.fc2.bias
    assert g.get_buffer("bn.running_mean") is g.bn.running_mean


def test_shared_parameters_counted_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert len(list(seq.named_modules(remove_duplicate=False))) == 4


def test_setattr_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign 'gpuarr.FloatTensor' as parameter "
                                        r"'weight' \(gpuarr.nn.Parameter or None expected\)"):
        m.weight = gpuarr.zeros(2, 2)
    m.bias = None
    assert m.bias is None and "bias" in m._parameters
    assert list(m.state_dict()) == ["weight"]
    m.extra = nn.Parameter(gpuarr.zeros(1))
    assert "extra" in dict(m.named_parameters())
    del m.extra
    assert "extra" not in dict(m.named_parameters())
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        _ = m.nope
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", gpuarr.zeros(1))
    with pytest.raises(KeyError, match="parameter name can"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="gpuarr.nn.Parameter or None required"):
        m.register_parameter("w2", gpuarr.zeros(1))
    x = gpuarr.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'w3'"):
        m.register_parameter("w3", _non_leaf_param(x))
    with pytest.raises(AttributeError, match="cannot assign parameters before Module"):
        class Bad(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(gpuarr.zeros(1))

        Bad()


def _non_leaf_param(x):
    p = nn.Parameter(gpuarr.zeros(2))
    p.grad_fn = (x * 2).grad_fn
    return p


def test_module_replaces_attribute_kinds():
    m = nn.Module()
    m.a = nn.Linear(1, 1)
    m.a = nn.Parameter(gpuarr.zeros(1))  # module -> parameter
    assert "a" not in m._modules and "a" in m._parameters
    m.b = nn.Buffer(gpuarr.zeros(2), persistent=False)
    assert "b" in m._buffers and "b" not in m.state_dict()
    assert type(m.b) is gpuarr.Tensor
    m.b = gpuarr.ones(2)
    assert to_np(m._buffers["b"]).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError):
        m.b = 3


def test_forward_missing_message():
    with pytest.raises(NotImplementedError,
                       match=r'Module \[Module\] is missing the required "forward" function'):
        nn.Module()(1)


def test_state_dict_values_share_memory_and_are_detached():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    assert type(sd) is OrderedDict
    assert not sd["weight"].requires_grad
    assert type(sd["weight"]) is gpuarr.Tensor
    sd["weight"].zero_()
    assert not to_np(m.weight).any()
    assert m.state_dict(keep_vars=True)["weight"] is m.weight


def test_state_dict_roundtrip_same_outputs(tmp_path):
    g = Net()
    g.train()
    g(gpuarr.randn(5, 4))  # move running stats away from their initial values
    path = tmp_path / "net.pt"
    gpuarr.save(g.state_dict(), path)
    h = Net()
    res = h.load_state_dict(gpuarr.load(path))
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    g.eval()
    h.eval()
    x = gpuarr.randn(3, 4)
    np.testing.assert_array_equal(to_np(g(x)), to_np(h(x)))
    for (n1, a), (n2, b) in zip(g.state_dict().items(), h.state_dict().items()):
        assert n1 == n2 and a.dtype == b.dtype
        np.testing.assert_array_equal(to_np(a), to_np(b))


def test_load_state_dict_strict_error_text_matches_torch():
    sd_g = {"weight": gpuarr.zeros(2, 3), "foo": gpuarr.zeros(1)}
    sd_t = {"weight": torch.zeros(2, 3), "foo": torch.zeros(1)}
    with pytest.raises(RuntimeError) as eg:
        nn.Linear(4, 2).load_state_dict(sd_g)
    with pytest.raises(RuntimeError) as et:
        torch.nn.Linear(4, 2).load_state_dict(sd_t)
    assert str(eg.value) == str(et.value).replace("torch.", "gpuarr.")
    assert str(eg.value).startswith(
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". ')


def test_load_state_dict_non_strict():
    m = nn.Linear(4, 2)
    res = m.load_state_dict({"weight": gpuarr.ones(2, 4), "extra.x": gpuarr.ones(1)},
                            strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra.x"]
    assert res == (["bias"], ["extra.x"])
    assert to_np(m.weight).tolist() == [[1.0] * 4] * 2
    # a shape mismatch is an error even when not strict (as torch)
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with "
                                           r"shape gpuarr.Size\(\[2, 3\]\) from checkpoint, the "
                                           r"shape in current model is gpuarr.Size\(\[2, 4\]\)"):
        m.load_state_dict({"weight": gpuarr.ones(2, 3)}, strict=False)


def test_load_state_dict_nested_and_cast():
    g, t = Net(), TNet()
    load_from_torch(g, t)  # float32 values into float32 params
    g.double()
    w_before = g.fc1.weight
    g.load_state_dict({k: gpuarr.tensor(v.numpy()) for k, v in t.state_dict().items()})
    assert g.fc1.weight is w_before and g.fc1.weight.dtype == gpuarr.float64
    np.testing.assert_allclose(to_np(g.fc1.weight), t.fc1.weight.detach().numpy(), rtol=1e-7)
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "bn.nope"'):
        sd = g.state_dict()
        sd["bn.nope"] = gpuarr.zeros(1)
        g.load_state_dict(sd)


def test_load_state_dict_assign():
    m = nn.Linear(2, 2)
    new_w = gpuarr.ones(2, 2, dtype=gpuarr.float64)
    m.load_state_dict({"weight": new_w, "bias": gpuarr.zeros(2)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.dtype == gpuarr.float64
    assert m.weight.requires_grad


def test_to_keeps_parameter_identity_and_casts(device):
    m = Net()
    w = m.fc1.weight
    m(gpuarr.randn(3, 4)).sum().backward()
    out = m.to(device=device, dtype=gpuarr.float64)
    assert out is m
    assert m.fc1.weight is w
    assert w.dtype == gpuarr.float64 and w.device == resolved(device)
    assert w.grad.dtype == gpuarr.float64 and w.grad.device == resolved(device)
    assert m.bn.num_batches_tracked.dtype == gpuarr.int64  # integer buffers keep their dtype
    assert m.bn.running_mean.dtype == gpuarr.float64
    assert m.steps.device == resolved(device)
    m.float()
    assert w.dtype == gpuarr.float32
    m.half()
    assert w.dtype == gpuarr.float16
    m.to(gpuarr.float32).cpu()
    assert w.device == gpuarr.device("cpu")
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        m.to(gpuarr.int64)


def test_to_then_train_step_updates_same_parameters(device):
    m = nn.Linear(3, 1)
    params = list(m.parameters())
    m.to(device)
    x = gpuarr.randn(4, 3, device=device)
    m(x).sum().backward()
    assert all(p.grad is not None and p.grad.device == resolved(device) for p in params)


def test_train_eval_zero_grad_requires_grad_apply():
    m = Net()
    assert m.training and m.bn.training
    assert m.eval() is m
    assert not m.training and not m.bn.training and not m.act.training
    m.train()
    assert m.fc2.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train("yes")
    m(gpuarr.randn(3, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not to_np(p.grad).any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Net"]


def test_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("a"))
    h3 = m.register_forward_hook(lambda mod, args, out: calls.append("b"), prepend=True)
    out = m(gpuarr.ones(1, 2))
    np.testing.assert_allclose(to_np(out), to_np(m.bias)[None])
    assert calls == ["b", "a"]
    h1.remove()
    h2.remove()
    h3.remove()
    with m.register_forward_hook(lambda mod, args, out: out * 0 + 7):
        assert to_np(m(gpuarr.ones(1, 2))).tolist() == [[7.0, 7.0]]
    assert to_np(m(gpuarr.zeros(1, 2))).tolist() == [to_np(m.bias).tolist()]
    m.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] + 1,), kwargs),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: out - 1, with_kwargs=True)
    np.testing.assert_allclose(to_np(m(gpuarr.zeros(1, 2))),
                               to_np(m.weight).sum(1)[None] + to_np(m.bias) - 1, rtol=1e-6)


def test_repr_matches_torch():
    pairs = [
        (Net(), TNet()),
        (nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(8, momentum=None), nn.LeakyReLU(0.2, inplace=True),
                       nn.MaxPool2d(2, 1, 1, ceil_mode=True), nn.AvgPool2d(3),
                       nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.25),
                       nn.Unflatten(1, (2, 4)), nn.LayerNorm((2, 4)), nn.GELU("tanh"),
                       nn.Softmax(dim=-1), nn.Embedding(5, 3, padding_idx=0),
                       nn.Identity(), nn.CrossEntropyLoss(), nn.Conv2d(4, 4, 3, groups=2,
                                                                      padding="same",
                                                                      dilation=2),
                       nn.Conv1d(2, 2, 3, padding_mode="reflect", padding=1)),
         torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
                             torch.nn.BatchNorm2d(8, momentum=None),
                             torch.nn.LeakyReLU(0.2, inplace=True),
                             torch.nn.MaxPool2d(2, 1, 1, ceil_mode=True),
                             torch.nn.AvgPool2d(3), torch.nn.AdaptiveAvgPool2d((1, 1)),
                             torch.nn.Flatten(), torch.nn.Dropout(0.25),
                             torch.nn.Unflatten(1, (2, 4)), torch.nn.LayerNorm((2, 4)),
                             torch.nn.GELU("tanh"), torch.nn.Softmax(dim=-1),
                             torch.nn.Embedding(5, 3, padding_idx=0), torch.nn.Identity(),
                             torch.nn.CrossEntropyLoss(),
                             torch.nn.Conv2d(4, 4, 3, groups=2, padding="same", dilation=2),
                             torch.nn.Conv1d(2, 2, 3, padding_mode="reflect", padding=1))),
        (nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()]),
         torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])),
        (nn.ModuleDict({"a": nn.Tanh(), "b": nn.Sigmoid()}),
         torch.nn.ModuleDict({"a": torch.nn.Tanh(), "b": torch.nn.Sigmoid()})),
        (nn.ModuleList(), torch.nn.ModuleList()),
    ]
    for g, t in pairs:
        assert repr(g) == repr(t).replace("torch.", "gpuarr.").replace("TNet(", "Net(")
    assert repr(nn.Linear(4, 2)) == "Linear(in_features=4, out_features=2, bias=True)"


def test_parameter_basics():
    t = gpuarr.arange(3, dtype=gpuarr.float32)
    p = nn.Parameter(t)
    assert isinstance(p, gpuarr.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert repr(p) == repr(torch.nn.Parameter(torch.arange(3.0))).replace("torch.", "gpuarr.")
    assert repr(p).startswith("Parameter containing:\ntensor([0., 1., 2.], requires_grad=True)")
    t.add_(1)  # shares memory with the wrapped tensor
    assert to_np(p).tolist() == [1.0, 2.0, 3.0]
    assert type(p * 2) is gpuarr.Tensor
    assert type(p.detach()) is gpuarr.Tensor
    assert not nn.Parameter(gpuarr.zeros(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(gpuarr.zeros(2, dtype=gpuarr.int64))
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q is not p and q.requires_grad
    assert to_np(q).tolist() == to_np(p).tolist()
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and to_np(r).tolist() == to_np(p).tolist()


def test_module_deepcopy_and_pickle():
    m = Net()
    c = copy.deepcopy(m)
    assert c.fc1.weight is not m.fc1.weight and isinstance(c.fc1.weight, nn.Parameter)
    np.testing.assert_array_equal(to_np(c.fc1.weight), to_np(m.fc1.weight))
    p = pickle.loads(pickle.dumps(m))
    assert [n for n, _ in p.named_parameters()] == [n for n, _ in m.named_parameters()]


def test_sequential_container():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c
    assert isinstance(s[1:], nn.Sequential) and list(s[1:]) == [b, c]
    named = nn.Sequential(OrderedDict([("inp", a), ("act", b)]))
    assert named.inp is a and [n for n, _ in named.named_children()] == ["inp", "act"]
    s.append(nn.Sigmoid())
    assert len(s) == 4
    s.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in s] == ["Linear", "Tanh", "ReLU", "Linear", "Sigmoid"]
    del s[1]
    assert [n for n, _ in s.named_children()] == ["0", "1", "2", "3"]
    assert s.pop(3).__class__ is nn.Sigmoid
    s[1] = nn.GELU()
    assert isinstance(s[1], nn.GELU)
    assert len(s + nn.Sequential(nn.ReLU())) == 4
    x = gpuarr.randn(5, 2)
    np.testing.assert_allclose(to_np(s(x)), to_np(c(nn.functional.gelu(a(x)))), rtol=1e-6)
    with pytest.raises(IndexError):
        s[10]


def test_modulelist_moduledict_parameterlist():
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml += [nn.Sigmoid()]
    assert len(ml) == 5 and isinstance(ml[-1], nn.Sigmoid)
    assert len(list(ml.parameters())) == 4
    ml.insert(0, nn.Identity())
    assert isinstance(ml[0], nn.Identity) and len(ml) == 6
    del ml[0]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3", "4"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    md["y"] = nn.ReLU()
    md.update([("z", nn.Tanh())])
    assert list(md.keys()) == ["x", "y", "z"] and "y" in md and len(md) == 3
    assert md.pop("y").__class__ is nn.ReLU and len(list(md.parameters())) == 2
    pl = nn.ParameterList([gpuarr.zeros(2), nn.Parameter(gpuarr.ones(3))])
    assert len(pl) == 2 and all(isinstance(p, nn.Parameter) for p in pl)
    holder = nn.Module()
    holder.pl = pl
    assert [n for n, _ in holder.named_parameters()] == ["pl.0", "pl.1"]
    pd = nn.ParameterDict({"a": gpuarr.zeros(1)})
    pd["b"] = nn.Parameter(gpuarr.ones(1))
    assert list(pd.keys()) == ["a", "b"] and len(list(pd.parameters())) == 2
    tpl = torch.nn.ParameterList([torch.zeros(2), torch.nn.Parameter(torch.ones(3))])
    assert repr(pl) == repr(tpl).replace("torch.", "gpuarr.")
