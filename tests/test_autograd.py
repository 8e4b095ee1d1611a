"""The autograd API and engine: semantics, errors, hooks, memory, higher order, functional."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr.autograd import Function, functional
from gpuarr.autograd.gradcheck import GradcheckError


def test_basic_attributes(device):
    x = gpuarr.tensor([1.0, 2.0], requires_grad=True, device=device)
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    y = x * x
    assert not y.is_leaf and repr(y.grad_fn) == f"<MulBackward0 object at {id(y.grad_fn):#x}>"
    assert y.grad_fn.name() == "MulBackward0"
    z = (y + 1).sum()
    assert z.grad_fn.name() == "SumBackward0"
    (fn, idx), = z.grad_fn.next_functions[:1]
    assert fn.name() == "AddBackward0" and idx == 0
    z.backward()
    assert x.grad.tolist() == [2.0, 4.0]
    assert y.grad is None  # non-leaf grads are not kept


def test_int_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require "
                                           "gradients"):
        gpuarr.tensor([1, 2]).requires_grad_()
    x = gpuarr.tensor([1.0, 2.0], requires_grad=True)
    assert not (x > 1).requires_grad and (x > 1).grad_fn is None


def test_broadcast_grads_are_summed_back(device):
    a = gpuarr.ones(3, 1, requires_grad=True, device=device)
    b = gpuarr.ones(1, 4, requires_grad=True, device=device)
    c = gpuarr.tensor(2.0, requires_grad=True, device=device)
    ((a * b) * c).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.tolist() == [[8.0]] * 3
    assert b.grad.tolist() == [[6.0] * 4] and c.grad.item() == 12.0


def test_mixed_dtype_grads_keep_input_dtype():
    a = gpuarr.ones(3, dtype=gpuarr.float32, requires_grad=True)
    b = gpuarr.ones((), dtype=gpuarr.float64, requires_grad=True)
    out = a * b
    assert out.dtype is gpuarr.float32
    out.sum().backward()
    assert a.grad.dtype is gpuarr.float32 and b.grad.dtype is gpuarr.float64


def test_accumulation_and_zeroing():
    x = gpuarr.tensor([1.0, -1.0], requires_grad=True)
    for _ in range(3):
        (x * 3).sum().backward()
    assert x.grad.tolist() == [9.0, 9.0]
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, -2.0]


def test_grads_of_two_leaves_never_share_memory():
    a = gpuarr.ones(3, requires_grad=True)
    b = gpuarr.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    g = gpuarr.ones(3)
    c = gpuarr.ones(3, requires_grad=True)
    (c + 0).backward(g)
    c.grad.mul_(5)
    assert g.tolist() == [1.0, 1.0, 1.0]


def test_backward_errors():
    x = gpuarr.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        (x * 2).backward()
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        gpuarr.ones(2).sum().backward()
    z = (x.exp() * 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    assert np.allclose(x.grad.numpy(), 3 * (2 * np.e) * np.ones(3))  # three backward passes


def test_inplace_on_saved_tensor_is_detected():
    x = gpuarr.ones(3, requires_grad=True)
    y = x * 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; "
                                           "expected version 0"):
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = gpuarr.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        w.add_(1)
    with gpuarr.no_grad():
        w.add_(1)
        w.mul_(2)
    assert w.tolist() == [4.0] * 3 and w.requires_grad


def test_inplace_on_nonleaf_keeps_gradients_right():
    x = gpuarr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(x)  # y = 2 x^2
    y.add_(1)
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]
    assert y._version_value() == 2


def test_copy_and_fill_overwrite_nonfinite_values_with_gradients():
    # the overwritten values must not leak into the result (inf * 0 would give nan)
    x = gpuarr.tensor([1.0, 2.0], requires_grad=True)
    src = gpuarr.tensor([5.0, 6.0], requires_grad=True)
    y = x * float("inf")
    y.copy_(src)
    assert y.tolist() == [5.0, 6.0]
    (y * gpuarr.tensor([1.0, 3.0])).sum().backward()
    assert src.grad.tolist() == [1.0, 3.0]
    v = gpuarr.tensor(2.0, dtype=gpuarr.float64, requires_grad=True)
    z = x * float("nan")
    z.fill_(v)
    assert z.tolist() == [2.0, 2.0] and z.dtype is gpuarr.float32
    z.sum().backward()
    assert v.grad.item() == 2.0
    w = x * float("inf")
    w.fill_(3.0)
    assert w.tolist() == [3.0, 3.0] and w.requires_grad


def test_retain_grad_and_hooks():
    x = gpuarr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    seen = []
    h = y.register_hook(lambda g: seen.append(g.tolist()))
    x.register_hook(lambda g: g * 10)  # a hook's return value replaces the gradient
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0]
    assert seen == [[6.0, 12.0]]
    assert x.grad.tolist() == [180.0, 360.0]
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert seen == [[6.0, 12.0]]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        gpuarr.ones(2).register_hook(lambda g: g)


def test_gradient_a_leaf_hook_kept_is_not_accumulated_into(device):
    # torch's AccumulateGrad copies a gradient someone else holds before accumulating into it
    kept = {}
    for lib, dev in ((torch, "cpu"), (gpuarr, device)):
        x = lib.tensor([1.0, 2.0], requires_grad=True, device=dev)
        stored = kept[lib.__name__] = []
        x.register_hook(stored.append)
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        assert x.grad.tolist() == [5.0, 5.0]
    assert [t.tolist() for t in kept["gpuarr"]] == [t.tolist() for t in kept["torch"]] == [
        [2.0, 2.0], [3.0, 3.0]]


def test_no_grad_nesting_and_decorators():
    x = gpuarr.ones(2, requires_grad=True)
    with gpuarr.no_grad():
        assert not (x * 2).requires_grad
        with gpuarr.enable_grad():
            assert (x * 2).requires_grad
        assert not gpuarr.is_grad_enabled()
    assert gpuarr.is_grad_enabled()

    @gpuarr.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and gpuarr.is_grad_enabled()
    with gpuarr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert gpuarr.is_grad_enabled()
    gpuarr.set_grad_enabled(False)
    assert not gpuarr.is_grad_enabled()
    gpuarr.set_grad_enabled(True)
    with gpuarr.inference_mode():
        assert not (x * 2).requires_grad


def test_detach():
    x = gpuarr.ones(2, requires_grad=True)
    src = x * 2
    d = src.detach()
    assert not d.requires_grad and d.is_leaf
    d[0] = 5  # shares memory with the tensor it was detached from
    assert src[0].item() == 5.0
    y = x * 2
    y.detach_()
    assert y.is_leaf and not y.requires_grad


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * ctx.scale * g, None


class SplitSign(Function):
    @staticmethod
    def forward(ctx, x):
        idx = (x > 0).to(gpuarr.float32)
        ctx.mark_non_differentiable(idx)
        return x.abs(), idx

    @staticmethod
    def backward(ctx, g, g_idx):
        assert ctx.needs_input_grad == (True,)
        return g * 7


def test_custom_function(device):
    x = gpuarr.tensor([1.0, -2.0], dtype=gpuarr.float64, requires_grad=True, device=device)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    assert gpuarr.autograd.gradcheck(lambda t: Cube.apply(t, 0.5), (x,))
    assert gpuarr.autograd.gradgradcheck(lambda t: Cube.apply(t, 0.5), (x,))
    a, idx = SplitSign.apply(x)
    assert not idx.requires_grad and a.requires_grad
    x.grad = None
    a.sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]


def test_custom_function_wrong_grad_count():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        Bad.apply(gpuarr.ones(2, requires_grad=True)).sum().backward()


def test_autograd_grad_higher_order():
    x = gpuarr.tensor(3.0, dtype=gpuarr.float64, requires_grad=True)
    (g,) = gpuarr.autograd.grad(x ** 3, x, create_graph=True)
    assert g.item() == 27.0 and g.requires_grad
    (gg,) = gpuarr.autograd.grad(g, x, create_graph=True)
    assert gg.item() == 18.0
    (ggg,) = gpuarr.autograd.grad(gg, x)
    assert ggg.item() == 6.0
    assert x.grad is None  # autograd.grad never accumulates
    y = gpuarr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        gpuarr.autograd.grad((x * 2), [x, y])
    gx, gy = gpuarr.autograd.grad((x * 2), [x, y], allow_unused=True)
    assert gx.item() == 2.0 and gy is None


def test_grad_of_grad_matches_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    ga = gpuarr.tensor(a, requires_grad=True)
    ta = torch.tensor(a, requires_grad=True)

    def f(lib, t):
        return (lib.sin(t) * t.exp() / (1 + t * t)).sum()

    (g1,) = gpuarr.autograd.grad(f(gpuarr, ga), ga, create_graph=True)
    (t1,) = torch.autograd.grad(f(torch, ta), ta, create_graph=True)
    (g1 * g1).sum().backward()
    (t1 * t1).sum().backward()
    np.testing.assert_allclose(ga.grad.numpy(), ta.grad.numpy(), rtol=1e-10)


def test_hundred_thousand_op_chain_backprops():
    x = gpuarr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_nothing_stays_alive_after_backward():
    x = gpuarr.randn(50, 50, requires_grad=True)
    h = x * 2
    node_ref = weakref.ref(h.grad_fn)
    mid = h.exp()
    saved_ref = weakref.ref(mid)
    loss = (mid * h).sum()
    loss.backward()
    del h, mid, loss
    assert node_ref() is None and saved_ref() is None
    assert x.grad is not None


def test_memory_stays_flat_over_training_loop():
    w = gpuarr.randn(64, 64, requires_grad=True)
    data = gpuarr.randn(32, 64)

    def step():
        out = (data @ w).tanh()
        loss = (out * out).mean()
        loss.backward()
        with gpuarr.no_grad():
            w.sub_(0.01 * w.grad)
        w.grad = None

    for _ in range(50):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(1000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"memory grew by {grown} bytes over 1000 steps"


def test_chain_rule_is_a_jacobian_product():
    # f: R^m -> R^n, g: R^p -> R^m; d f(g(x)) / dx = (n x m) @ (m x p)
    rng = np.random.default_rng(0)
    A = gpuarr.tensor(rng.standard_normal((3, 4)))  # g: R^4 -> R^3 ... composed with f below
    B = gpuarr.tensor(rng.standard_normal((2, 3)))

    def g(x):
        return (A * x[None, :]).sum(1).sin()  # R^4 -> R^3

    def f(y):
        return (B * y.exp()[None, :]).sum(1)  # R^3 -> R^2

    x = gpuarr.tensor(rng.standard_normal(4))
    Jfg = functional.jacobian(lambda t: f(g(t)), x)
    Jg = functional.jacobian(g, x)
    Jf = functional.jacobian(f, g(x))
    assert Jfg.shape == (2, 4) and Jf.shape == (2, 3) and Jg.shape == (3, 4)
    np.testing.assert_allclose(Jfg.numpy(), Jf.numpy() @ Jg.numpy(), rtol=1e-10)


def test_functional_api_matches_torch():
    rng = np.random.default_rng(1)
    xs = rng.standard_normal(3)
    v = rng.standard_normal(3)

    def fg(t):
        return (t.sin() * t.sum()).exp()

    def ft(t):
        return (t.sin() * t.sum()).exp()

    def sg(t):
        return (t.exp() * t * t).sum()

    gx, tx = gpuarr.tensor(xs), torch.tensor(xs)
    gv, tv = gpuarr.tensor(v), torch.tensor(v)
    np.testing.assert_allclose(functional.jacobian(fg, gx).numpy(),
                               torch.autograd.functional.jacobian(ft, tx).numpy(), rtol=1e-10)
    np.testing.assert_allclose(functional.hessian(sg, gx).numpy(),
                               torch.autograd.functional.hessian(sg, tx).numpy(), rtol=1e-10)
    for name in ("vjp", "jvp"):
        (_, g), (_, t) = getattr(functional, name)(fg, gx, gv), getattr(
            torch.autograd.functional, name)(ft, tx, tv)
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-10)
    for name in ("hvp", "vhp"):
        (_, g), (_, t) = getattr(functional, name)(sg, gx, gv), getattr(
            torch.autograd.functional, name)(sg, tx, tv)
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-10)


def test_hessian_is_analytic():
    # f(x) = sum(x_i^3) + x0 * x1  ->  H = diag(6 x) + [[0,1],[1,0]]
    x = gpuarr.tensor([1.5, -2.0], dtype=gpuarr.float64)
    H = functional.hessian(lambda t: (t ** 3).sum() + t[0] * t[1], x)
    np.testing.assert_allclose(H.numpy(), [[9.0, 1.0], [1.0, -12.0]])


def test_gradcheck_reports_both_jacobians():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2 x g

    x = gpuarr.tensor([1.0, 2.0], dtype=gpuarr.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="(?s)numerical:.*analytical:") as e:
        gpuarr.autograd.gradcheck(Wrong.apply, (x,))
    assert "input 0" in str(e.value)
    assert gpuarr.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False


@pytest.mark.parametrize("op", ["mul", "div", "pow", "exp", "sigmoid"])
def test_short_recording_path_matches_the_general_one(op):
    # Function.apply records the elementwise ops (_one_output) through its short path, a
    # hand-inlined copy of the general recording; both must build the same graph and gradients.
    from gpuarr._core.function import _apply
    from gpuarr.ops import elementwise as E

    cls = {"mul": E.Mul, "div": E.Div, "pow": E.Pow, "exp": E.exp.Function,
           "sigmoid": E.Sigmoid}[op]
    binary = op in ("mul", "div", "pow")
    grads, names = [], []
    for path in ("short", "general"):
        a = gpuarr.tensor([0.5, 1.5, 2.0], dtype=gpuarr.float64, requires_grad=True)
        b = gpuarr.tensor([1.5, 0.5, 3.0], dtype=gpuarr.float64, requires_grad=True)
        args = (a, b) if binary else (a,)
        out = cls.apply(*args) if path == "short" else _apply(cls, args)
        names.append(out.grad_fn.name())
        (g,) = gpuarr.autograd.grad(out.sum(), a, create_graph=True)
        gg = gpuarr.autograd.grad(g.sum(), args, materialize_grads=True)
        grads.append([out.tolist(), g.tolist()] + [t.tolist() for t in gg])
    # torch names tensor ** tensor PowBackward1
    assert names[0] == names[1] == ("PowBackward1" if op == "pow" else f"{cls.__name__}Backward0")
    for got, expected in zip(*grads):
        np.testing.assert_allclose(got, expected, rtol=1e-15)
