"""Graph-node hooks (``grad_fn.register_prehook`` / ``grad_fn.register_hook``, also on
AccumulateGrad nodes) and the deprecated ``nn.Module.register_backward_hook``, against torch.

Each differential test runs one scenario twice, with ``lib`` = gpuarr (on ``device``) and
``lib`` = torch (on the CPU), and compares what the hooks saw and the gradients that flowed.
"""

from __future__ import annotations

import gc
import re
import warnings

import numpy as np
import pytest
import torch

import gpuarr

# ---- helpers ----------------------------------------------------------------------------


def _host(x):
    """A comparable host form of what a scenario recorded: tensors become arrays, tuples and
    lists recurse, anything else stays."""
    if isinstance(x, (gpuarr.Tensor, torch.Tensor)):
        return x.detach().cpu().numpy()
    if isinstance(x, (tuple, list)):
        return type(x)(_host(v) for v in x)
    return x


def _assert_same(got, want, path="result") -> None:
    """``got`` (gpuarr's record) equals ``want`` (torch's): same structure, None where None,
    arrays of the same shape and values."""
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), f"{path}: expected an array, got {got!r}"
        assert got.shape == want.shape, f"{path}: shape {got.shape} != {want.shape}"
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=path)
    elif isinstance(want, (tuple, list)):
        assert isinstance(got, type(want)), f"{path}: {type(got).__name__} != {type(want).__name__}"
        assert len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_same(g, w, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def _differential(scenario, device) -> None:
    """Run ``scenario(lib, dev)`` with gpuarr on ``device`` and with torch on the CPU and
    compare the records."""
    want = _host(scenario(torch, "cpu"))
    got = _host(scenario(gpuarr, device))
    _assert_same(got, want)


def _t(lib, dev, values, rg=True, dtype="float32"):
    return lib.tensor(values, dtype=getattr(lib, dtype), device=dev, requires_grad=rg)


def _error(fn) -> tuple:
    """``(exception type name, message)`` of what ``fn()`` raises, with torch's and gpuarr's
    type names (``torch.FloatTensor``) made alike."""
    with pytest.raises(Exception) as info:
        fn()
    msg = re.sub(r"\b(torch|gpuarr)(\.cuda)?\.", "LIB.", str(info.value))
    return type(info.value).__name__, msg


# ---- Node.register_prehook / register_hook ----------------------------------------------


def test_prehook_sees_and_replaces_grad_outputs(device):
    def scenario(lib, dev):
        x = _t(lib, dev, [1.0, 2.0, 3.0])
        y = x.exp()
        seen = []
        y.grad_fn.register_prehook(lambda go: seen.append(go) or (go[0] * 3,))
        (y * y).sum().backward()
        return seen, x.grad

    _differential(scenario, device)


def test_hook_sees_grad_inputs_with_none_and_replaces_them(device):
    def scenario(lib, dev):
        x = _t(lib, dev, [1.0, -2.0, 3.0])
        w = _t(lib, dev, [0.5, 4.0, -1.0], rg=False)
        y = x * w
        seen = []

        def hook(gi, go):
            seen.append((gi, go))
            return (gi[0].clamp(-1, 1), None)

        handle = y.grad_fn.register_hook(hook)
        (y * 2).sum().backward(retain_graph=True)
        handle.remove()
        (y * 2).sum().backward()  # without the hook now
        return seen, x.grad

    _differential(scenario, device)


def test_none_entries_of_a_partly_used_multi_output_node(device):
    def scenario(lib, dev):
        x = _t(lib, dev, [1.0, 2.0, 3.0, 4.0])
        a, b = x.split([1, 3])
        seen = []
        a.grad_fn.register_prehook(lambda go: seen.append(("pre", go)))
        a.grad_fn.register_hook(lambda gi, go: seen.append(("post", gi, go)))
        (a * 5).sum().backward()
        return seen, x.grad

    _differential(scenario, device)


def test_order_of_tensor_hooks_retain_grad_and_node_hooks(device):
    def scenario(lib, dev):
        x = _t(lib, dev, [1.0, 2.0, 3.0])
        y = x.exp()
        z = y * 3
        log = []
        y.register_hook(lambda g: log.append(("tensor", g)) or g * 2)
        y.retain_grad()
        n = y.grad_fn
        n.register_prehook(lambda go: log.append(("pre1", go)) or (go[0] + 1,))
        n.register_prehook(lambda go: log.append(("pre2", go)))
        n.register_prehook(lambda go: (go[0] * 0,)).remove()
        n.register_hook(lambda gi, go: log.append(("post1", gi, go)) or (gi[0] * 10,))
        n.register_hook(lambda gi, go: log.append(("post2", gi, go)))
        z.sum().backward()
        return log, y.grad, x.grad

    _differential(scenario, device)


def test_hooks_run_on_every_backward_with_retain_graph(device):
    def scenario(lib, dev):
        x = _t(lib, dev, [0.5, 1.5])
        y = x.sin()
        calls = []
        y.grad_fn.register_prehook(lambda go: calls.append("pre") or (go[0] * 2,))
        y.grad_fn.register_hook(lambda gi, go: calls.append("post"))
        loss = (y * y).sum()
        loss.backward(retain_graph=True)
        first = x.grad.clone()
        loss.backward()
        return calls, first, x.grad

    _differential(scenario, device)


def test_hook_output_is_differentiable_with_create_graph(device):
    def scenario(lib, dev):
        x = _t(lib, dev, [1.0, 2.0], dtype="float64")
        y = x ** 3
        y.grad_fn.register_hook(lambda gi, go: (gi[0] * gi[0],))
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return g, gg

    _differential(scenario, device)


def test_autograd_grad_does_not_run_hooks_of_nodes_it_does_not_need(device):
    def scenario(lib, dev):
        x = _t(lib, dev, [1.0, 2.0, 3.0])
        y = x.exp()
        z = y.sin()
        loss = z.sum()
        log = []
        y.grad_fn.register_prehook(lambda go: log.append("y.pre"))
        y.grad_fn.register_hook(lambda gi, go: log.append("y.post"))
        z.grad_fn.register_prehook(lambda go: log.append("z.pre"))
        z.grad_fn.register_hook(lambda gi, go: log.append("z.post") or (gi[0] * 2,))
        acc = y.grad_fn.next_functions[0][0]
        acc.register_prehook(lambda go: log.append("acc.pre"))
        acc.register_hook(lambda gi, go: log.append("acc.post"))
        out = []
        out.append((lib.autograd.grad(loss, y, retain_graph=True), list(log)))
        log.clear()
        out.append((lib.autograd.grad(loss, x, retain_graph=True), list(log)))
        log.clear()
        loss.backward(inputs=[x], retain_graph=True)
        out.append((x.grad, list(log)))
        log.clear()
        loss.backward(inputs=[y])  # torch runs the node of a non-leaf input
        out.append((y.grad, list(log)))
        return out

    _differential(scenario, device)


def test_hooks_of_a_node_no_gradient_reaches(device):
    def scenario(lib, dev):
        class NoGrad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return None

        a = _t(lib, dev, [1.0, 2.0])
        x = a.exp()
        seen = []
        x.grad_fn.register_prehook(lambda go: seen.append(("pre", go)))
        x.grad_fn.register_hook(lambda gi, go: seen.append(("post", gi, go)))
        NoGrad.apply(x).sum().backward()
        return seen, a.grad

    _differential(scenario, device)


def test_user_function_node_hooks(device):
    def scenario(lib, dev):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                ctx.save_for_backward(x)
                return x ** 3 * k

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x ** 2 * g, None

        x = _t(lib, dev, [1.0, -1.0, 2.0])
        y = Cube.apply(x, 2.0)
        seen = []
        # grad_inputs lists the tensor arguments only (next_functions leaves out the float)
        y.grad_fn.register_hook(lambda gi, go: seen.append(gi) or (gi[0] + 1,))
        y.sum().backward()
        return seen, x.grad

    _differential(scenario, device)


@pytest.mark.parametrize("case", ["pre_len", "post_len", "pre_list", "post_int", "none",
                                  "non_tensor", "size", "dtype", "post_none_input"])
def test_bad_hook_results_raise_as_in_torch(device, case):
    def scenario(lib, dev):
        x = _t(lib, dev, [1.0, 2.0, 3.0])
        w = _t(lib, dev, [1.0, 1.0, 1.0], rg=False)
        y = x * w if case == "post_none_input" else x.exp()
        n = y.grad_fn

        def named_hook(*args):
            go = args[-1]
            gi = args[0]
            return {
                "pre_len": (go[0], go[0]),
                "post_len": (gi[0], gi[0], gi[0]),
                "pre_list": [go[0]],
                "post_int": 3,
                "none": None,
                "non_tensor": ("a",),
                "size": (go[0][:2],),
                "dtype": (go[0].double(),),
                "post_none_input": (gi[0], lib.ones(3, device=dev)),
            }[case]

        if case in ("post_len", "post_int", "post_none_input"):
            n.register_hook(named_hook)
        else:
            n.register_prehook(named_hook)
        if case == "none":
            y.sum().backward()
            return x.grad
        return _error(lambda: y.sum().backward())

    _differential(scenario, device)


# ---- AccumulateGrad hooks -----------------------------------------------------------------


def test_accumulate_grad_hooks_run_once_with_the_summed_grad(device):
    def scenario(lib, dev):
        a = _t(lib, dev, [1.0, 2.0])
        y = a * 2 + a * 3
        acc = y.grad_fn.next_functions[0][0].next_functions[0][0]
        log = []
        a.register_hook(lambda g: log.append(("tensor", g)) or g + 1)
        acc.register_prehook(lambda go: log.append(("accpre", go)) or (go[0] * 10,))
        a.register_post_accumulate_grad_hook(lambda p: log.append(("postacc", p.grad)))
        acc.register_hook(lambda gi, go: log.append(("accpost", gi, go)))
        y.sum().backward()
        return log, a.grad

    _differential(scenario, device)


def test_accumulate_grad_hooks_live_with_the_graph(device):
    # the AccumulateGrad object is not kept by the caller: its hooks still run
    def scenario(lib, dev):
        a = _t(lib, dev, [1.0, 2.0])
        y = a.exp()
        y.grad_fn.next_functions[0][0].register_prehook(lambda go: (go[0] * 0.5,))
        gc.collect()
        y.sum().backward()
        return a.grad

    _differential(scenario, device)


def test_accumulate_grad_hooks_on_a_root_leaf_and_none_replacement(device):
    def scenario(lib, dev):
        b = _t(lib, dev, [1.0, 2.0])
        acc = (b * 1).grad_fn.next_functions[0][0]
        seen = []
        acc.register_prehook(lambda go: seen.append(go) or (go[0] * 2,))
        b.backward(lib.ones(2, device=dev))
        c = _t(lib, dev, [1.0, 2.0])
        acc2 = (c * 1).grad_fn.next_functions[0][0]
        acc2.register_prehook(lambda go: (None,))
        (c * 3).sum().backward()
        return seen, b.grad, c.grad is None

    _differential(scenario, device)


def test_accumulate_grad_hook_must_return_nothing(device):
    def scenario(lib, dev):
        a = _t(lib, dev, [1.0, 2.0])
        acc = (a * 1).grad_fn.next_functions[0][0]
        acc.register_hook(lambda gi, go: (go[0],))
        return _error(lambda: (a * 2).sum().backward())

    _differential(scenario, device)


def test_leaf_tensor_hook_runs_once_per_backward(device):
    def scenario(lib, dev):
        x = _t(lib, dev, [1.0, -3.0])
        seen = []
        x.register_hook(lambda g: seen.append(g) or g.clamp(-4, 4))
        (x * 2 + x * 3).sum().backward()
        return seen, x.grad

    _differential(scenario, device)


# ---- nn.Module.register_backward_hook ----------------------------------------------------


def _module_pair(make, device):
    """The torch module ``make(torch.nn)`` and a gpuarr copy of it with the same weights."""
    torch.manual_seed(0)
    tm = make(torch.nn)
    gm = make(gpuarr.nn)
    gm.load_state_dict({k: gpuarr.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    return tm, gm.to(device)


def _run_module_hook(lib, m, x, hook=None):
    seen = []

    def record(mod, gi, go):
        assert mod is m
        seen.append((gi, go))
        return None if hook is None else hook(mod, gi, go)

    m.register_backward_hook(record)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = m(x)
    (out * out).sum().backward()
    msgs = [(c.category.__name__, str(c.message)) for c in w]
    grads = [p.grad for p in m.parameters()]
    return seen, x.grad if x.requires_grad else None, grads, msgs, type(out.grad_fn).__name__


@pytest.mark.parametrize("name,x_rg", [
    ("conv2d", True), ("conv2d", False), ("sequential", True), ("sequential", False),
    ("linear_nobias", True), ("linear_nobias", False), ("relu", True), ("several_ops", True),
])
def test_module_backward_hook_sees_the_last_op(device, name, x_rg):
    class SeveralOps:
        def __new__(cls, nn):
            class M(nn.Module):
                def forward(self, x):
                    return (x.exp() * 2).sin()
            return M()

    makers = {
        "conv2d": (lambda nn: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
        "relu": (lambda nn: nn.ReLU(), (4, 3)),
        "sequential": (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Tanh()), (4, 3)),
        "several_ops": (SeveralOps, (4, 3)),
        "linear_nobias": (lambda nn: nn.Linear(3, 2, bias=False), (4, 3)),
    }
    make, shape = makers[name]
    tm, gm = _module_pair(make, device)
    xv = np.random.RandomState(1).randn(*shape).astype(np.float32)
    tx = torch.tensor(xv, requires_grad=x_rg)
    gx = gpuarr.tensor(xv, device=device, requires_grad=x_rg)
    want = _host(_run_module_hook(torch, tm, tx))
    got = _host(_run_module_hook(gpuarr, gm, gx))
    if name == "linear_nobias":
        # gpuarr's linear node takes the weight itself where torch's mm takes weight.t()
        # (through a TBackward0 node): its grad_input entry is the transpose of torch's
        gi = list(got[0][0][0])
        gi[1] = gi[1].T
        got[0][0] = (tuple(gi), got[0][0][1])
    _assert_same(got, want)


def test_module_backward_hook_on_linear_replaces_grad_input(device):
    tm, gm = _module_pair(lambda nn: nn.Linear(3, 2), device)
    xv = np.random.RandomState(2).randn(4, 3).astype(np.float32)

    def double(mod, gi, go):
        return tuple(None if g is None else g * 2 for g in gi)

    want = _host(_run_module_hook(torch, tm, torch.tensor(xv, requires_grad=True), double))
    got = _host(_run_module_hook(gpuarr, gm, gpuarr.tensor(xv, device=device,
                                                          requires_grad=True), double))
    # the node is AddmmBackward0 in both, with (bias, input, weight) entries; gpuarr's weight
    # entry is the gradient of the weight, torch's that of weight.t()
    (g_gi, g_go), = got[0]
    (t_gi, t_go), = want[0]
    _assert_same((g_gi[0], g_gi[1], g_gi[2].T, g_go), (t_gi[0], t_gi[1], t_gi[2], t_go))
    _assert_same(got[1:], want[1:])


def test_module_backward_hook_wrong_length_and_dead_module(device):
    def scenario(lib, dev):
        m = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Sigmoid()).to(dev)
        x = lib.ones(2, 3, device=dev, requires_grad=True)

        def bad(mod, gi, go):
            return gi + gi

        m.register_backward_hook(bad)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = _error(lambda: m(x).sum().backward())

            class Tanh(lib.nn.Module):
                def forward(self, x):
                    return x.tanh()

            t = Tanh()
            t.register_backward_hook(lambda mod, gi, go: None)
            out = t(x)
        del t
        gc.collect()
        return first, _error(lambda: out.sum().backward())

    _differential(scenario, device)


def test_module_backward_hook_warnings(device):
    def scenario(lib, dev):
        nn = lib.nn

        class TwoNodes(nn.Module):
            def forward(self, x):
                return x * 2, x.exp()

        class Nested(nn.Module):
            def forward(self, x):
                return {"a": x * 2}

        class Single(nn.Module):
            def forward(self, x):
                return x * 2

        x = lib.ones(2, device=dev, requires_grad=True)
        y = x.exp()  # a non-leaf input whose node is the last op's only next function
        out = []
        for m, arg in ((TwoNodes(), x), (Nested(), x), (Single(), x), (Single(), y)):
            m.register_backward_hook(lambda *a: None)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                m(arg)
            out.append([(c.category.__name__, str(c.message)) for c in w])
        m = Single()
        m.register_backward_hook(lambda *a: None)
        with lib.no_grad(), warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            r = m(x)
        out.append((len(w), r.grad_fn is None))
        return out

    _differential(scenario, device)


def test_regular_and_full_backward_hooks_do_not_mix():
    def scenario(lib):
        res = []
        m = lib.nn.Linear(2, 2)
        m.register_backward_hook(lambda *a: None)
        res.append(_error(lambda: m.register_full_backward_hook(lambda *a: None)))
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda *a: None)
        res.append(_error(lambda: m.register_backward_hook(lambda *a: None)))
        m = lib.nn.Linear(2, 2)
        m.register_backward_hook(lambda *a: None).remove()  # the module stays 'non-full'
        res.append(_error(lambda: m.register_full_backward_hook(lambda *a: None)))
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_pre_hook(lambda *a: None)
        m.register_backward_hook(lambda *a: None)  # pre-hooks mix with either kind
        res.append(len(m._backward_hooks))
        return res

    _assert_same(scenario(gpuarr), scenario(torch))


def test_module_backward_hook_with_full_pre_hook(device):
    def scenario(lib, dev):
        m = lib.nn.Tanh()
        log = []
        m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", go)) or
                                          (go[0] * 3,))
        m.register_backward_hook(lambda mod, gi, go: log.append(("hook", gi, go)))
        x = _t(lib, dev, [0.1, -0.4, 2.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = m(x)
        out.sum().backward()
        return log, x.grad

    _differential(scenario, device)
