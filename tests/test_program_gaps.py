"""APIs the example programs in tests/programs/ needed that gpuarr lacked, one by one against
torch: ``Module.register_full_backward_hook`` and ``register_full_backward_pre_hook`` (used by
resnet_cifar.py to watch the classifier's gradients)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpuarr  # noqa: E402

RNG = np.random.default_rng(0)
W = RNG.normal(size=(2, 3)).astype(np.float32)
B = RNG.normal(size=2).astype(np.float32)
X = RNG.normal(size=(4, 3)).astype(np.float32)


def _linear(lib, device):
    m = lib.nn.Linear(3, 2).to(device)
    with lib.no_grad():
        m.weight.copy_(lib.tensor(W, device=device))
        m.bias.copy_(lib.tensor(B, device=device))
    return m


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _same(got, want, rtol=1e-6):
    """Nested tuples/lists of tensors (or None) agree in structure and values."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w, rtol)
    elif want is None or isinstance(want, (int, float, str)):
        assert got == want
    else:
        np.testing.assert_allclose(_np(got), _np(want), rtol=rtol, atol=1e-6)


def _run_both(scenario, device):
    return scenario(gpuarr, device), scenario(torch, "cpu")


def test_full_backward_hook_sees_grad_input_and_output(device):
    def scenario(lib, dev):
        m = _linear(lib, dev)
        seen = []
        h = m.register_full_backward_hook(
            lambda mod, gin, gout: seen.append((mod is m, gin, gout)))
        x = lib.tensor(X, device=dev, requires_grad=True)
        y = m(x)
        (y * y).sum().backward()
        name = type(y.grad_fn).__name__
        h.remove()
        m(x).sum().backward()  # removed: not called again
        return seen, x.grad, m.weight.grad, name

    (g_seen, g_xg, g_wg, g_name), (t_seen, t_xg, t_wg, t_name) = _run_both(scenario, device)
    assert len(g_seen) == len(t_seen) == 1 and g_seen[0][0]
    _same(g_seen[0][1:], t_seen[0][1:])
    _same((g_xg, g_wg), (t_xg, t_wg))
    assert g_name == t_name == "BackwardHookFunctionBackward"


def test_full_backward_hook_return_replaces_grad_input(device):
    def scenario(lib, dev):
        m = _linear(lib, dev)
        m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 3,))
        x = lib.tensor(X, device=dev, requires_grad=True)
        m(x).pow(2).sum().backward()
        return x.grad, m.weight.grad  # the weight's gradient is not the hook's business

    _same(*_run_both(scenario, device))


def test_full_backward_hook_packs_none_for_non_tensors_and_unused_outputs(device):
    def scenario(lib, dev):
        class Two(lib.nn.Module):
            def forward(self, a, scale, b, unused):
                return a * scale + b, a.sum() * 0 + 1.0, "tag"

        m = Two()
        seen = []
        m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, gout)))
        a = lib.tensor(X, device=dev, requires_grad=True)
        b = lib.tensor(X[::-1].copy(), device=dev)  # needs no grad
        unused = lib.ones(3, device=dev, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out, _, tag = m(a, 2.0, b, unused)
        (out * out).sum().backward()
        return seen, tag, a.grad, unused.grad

    got, want = _run_both(scenario, device)
    _same(got, want)
    gin, gout = want[0][0]
    # torch: None for the number and for outputs that got no gradient, but zeros for tensor
    # inputs that got none (even one that needs no grad), and the unused input's .grad is 0
    assert gin[1] is None and gout[1] is None and gout[2] is None
    assert not gin[2].any() and not gin[3].any() and not want[3].any()


def test_full_backward_pre_hook_replaces_grad_output_in_order(device):
    def scenario(lib, dev):
        m = _linear(lib, dev)
        order = []

        def scale(mod, gout):
            order.append("scale")
            return (gout[0] * 0.5,)

        def clip(mod, gout):
            order.append("clip")
            return (gout[0].clamp(-1, 1),)

        m.register_full_backward_pre_hook(scale)
        m.register_full_backward_pre_hook(clip, prepend=True)
        seen = []
        m.register_full_backward_hook(lambda mod, gin, gout: seen.append(gout))
        x = lib.tensor(X, device=dev, requires_grad=True)
        m(x).pow(3).sum().backward()
        return order, seen, x.grad, m.weight.grad, m.bias.grad

    got, want = _run_both(scenario, device)
    _same(got, want)
    assert want[0] == ["clip", "scale"]


def test_full_backward_hook_without_input_grads_fires_on_outputs(device):
    def scenario(lib, dev, bad=False):
        m = _linear(lib, dev)
        seen = []

        def hook(mod, gin, gout):
            seen.append((gin, gout))
            return (gout[0],) if bad else None

        m.register_full_backward_hook(hook)
        x = lib.tensor(X, device=dev)  # no grad wanted for the input
        with pytest.warns(UserWarning, match="no inputs require gradients") as rec:
            m(x).sum().backward()
        assert rec[0].filename == __file__  # points at the backward() call
        return seen, m.bias.grad

    _same(*_run_both(scenario, device))
    with pytest.raises(RuntimeError) as te:
        scenario(torch, "cpu", bad=True)
    with pytest.raises(RuntimeError, match=re.escape(str(te.value))):
        scenario(gpuarr, device, bad=True)


def test_full_backward_hook_wrong_length_raises_like_torch(device):
    def scenario(lib, dev):
        m = _linear(lib, dev)
        m.register_full_backward_hook(lambda mod, gin, gout: (gin[0], gin[0]))
        m(lib.tensor(X, device=dev, requires_grad=True)).sum().backward()

    with pytest.raises(RuntimeError) as te:
        scenario(torch, "cpu")
    assert "invalid number of grad_input" in str(te.value)
    with pytest.raises(RuntimeError, match="^" + re.escape(str(te.value)) + "$"):
        scenario(gpuarr, device)


def test_backward_hooks_idle_without_grad_and_module_stays_picklable(device):
    import copy

    m = _linear(gpuarr, device)
    calls = []
    m.register_full_backward_hook(lambda *a: calls.append(1))
    with gpuarr.no_grad():
        y = m(gpuarr.tensor(X, device=device))
    assert y.grad_fn is None and not calls
    # a copy keeps the hook, as in torch; a module from before hooks existed still runs
    c = copy.deepcopy(m)
    c(gpuarr.tensor(X, device=device, requires_grad=True)).sum().backward()
    assert len(calls) == 1
    old = _linear(gpuarr, device)
    del old.__dict__["_backward_hooks"], old.__dict__["_backward_pre_hooks"]
    assert old(gpuarr.tensor(X, device=device)).shape == (4, 2)
    old.register_full_backward_pre_hook(lambda mod, gout: None)
    assert len(old._backward_pre_hooks) == 1 and not type(old)._backward_pre_hooks
