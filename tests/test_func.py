"""gpuarr.func (torch.func): grad, vjp, jvp, jacobians, hessian, linearize, vmap,
functional_call, stack_module_state, functionalize, replace_all_batch_norm_modules_;
compared with torch.func on the CPU."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.func as tf

import gpuarr
import gpuarr.func as gf

# ----------------------------------------------------------------------------- helpers


def G(t, device, requires_grad: bool = False):
    """The gpuarr copy of a torch tensor (or pytree of them) on ``device``."""
    if isinstance(t, torch.Tensor):
        g = gpuarr.tensor(t.detach().numpy(), device=device)
        return g.requires_grad_() if requires_grad else g
    if isinstance(t, dict):
        return {k: G(v, device, requires_grad) for k, v in t.items()}
    if isinstance(t, (tuple, list)):
        return type(t)(G(v, device, requires_grad) for v in t)
    return t


def close(g, t, atol=1e-10, rtol=1e-7):
    """gpuarr result ``g`` equals torch result ``t``: structure, shapes, dtypes, values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(g, gpuarr.Tensor), type(g)
        assert tuple(g.shape) == tuple(t.shape)
        assert str(g.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(g.detach().cpu().numpy(), t.detach().numpy(),
                                   atol=atol, rtol=rtol)
        return
    assert type(g) is type(t), (type(g), type(t))
    if isinstance(t, dict):
        assert list(g) == list(t)
        for k in t:
            close(g[k], t[k], atol, rtol)
    elif isinstance(t, (tuple, list)):
        assert len(g) == len(t)
        for a, b in zip(g, t):
            close(a, b, atol, rtol)
    else:
        assert g == t


def same_error(tfn, gfn):
    """``gfn`` raises the exception type and message that ``tfn`` raises in torch."""
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(type(te.value), match="^" + re.escape(str(te.value)) + "$"):
        gfn()


def both(fn_of_lib, *torch_args, device):
    """``fn_of_lib(lib, ...)`` with torch/torch.func and gpuarr/gpuarr.func, compared."""
    t = fn_of_lib(torch, tf, *torch_args)
    g = fn_of_lib(gpuarr, gf, *G(torch_args, device))
    close(g, t)
    return g


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


@pytest.fixture(autouse=True)
def _torch_seed():
    torch.manual_seed(0)


# ----------------------------------------------------------------------------- grad


def test_grad_basic_and_value(device):
    x = randn(4)
    both(lambda lib, F, a: F.grad(lambda v: (lib.sin(v) * v).sum())(a), x, device=device)
    both(lambda lib, F, a: F.grad_and_value(lambda v: (v ** 3).sum())(a), x, device=device)
    # a 0-dim input
    both(lambda lib, F, a: F.grad(lambda v: lib.exp(v) * v)(a), randn(()), device=device)


@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1, 0), (1,)])
def test_grad_argnums(device, argnums):
    x, y = randn(3), randn(3)
    both(lambda lib, F, a, b: F.grad(lambda u, v: (u * u * v).sum(), argnums=argnums)(a, b),
         x, y, device=device)


def test_grad_has_aux_and_pytrees(device):
    def f(lib):
        def loss(p, x):
            y = lib.tanh(x @ p["w"] + p["b"][0])
            return (y ** 2).sum(), {"y": y, "n": [y.sum()]}
        return loss

    p = {"w": randn(3, 2), "b": (randn(2),)}
    x = randn(5, 3)
    g = both(lambda lib, F, p_, x_: F.grad(f(lib), has_aux=True)(p_, x_), p, x, device=device)
    assert not g[0]["w"].requires_grad and not g[1]["y"].requires_grad
    both(lambda lib, F, p_, x_: F.grad_and_value(f(lib), argnums=(0, 1), has_aux=True)(p_, x_),
         p, x, device=device)
    # list inputs and list gradients
    both(lambda lib, F, a: F.grad(lambda v: (v[0] * v[1]).sum())(a), [randn(2), randn(2)],
         device=device)


def test_nested_grad_third_derivative(device):
    x = randn(())
    f3 = lambda lib, F, a: F.grad(F.grad(F.grad(lambda v: lib.sin(v) * v ** 4)))(a)  # noqa: E731
    g = both(f3, x, device=device)
    assert not g.requires_grad
    # closure over an outer level's input: no perturbation confusion (d/dx [x * d/dy (x*y)])
    both(lambda lib, F, a: F.grad(lambda u: u * F.grad(lambda v: u * v)(u))(a), x,
         device=device)


def test_grad_connects_to_outer_autograd(device):
    w_t = randn(3).requires_grad_()
    w = G(w_t, device, requires_grad=True)
    x_t = randn(3)
    x = G(x_t, device)
    gt = tf.grad(lambda a: (a * a * w_t).sum())(x_t)
    gg = gf.grad(lambda a: (a * a * w).sum())(x)
    close(gg, gt)
    assert gg.requires_grad and gt.requires_grad
    gt.sum().backward()
    gg.sum().backward()
    close(w.grad, w_t.grad)
    # an input that requires grad: the result is differentiable with respect to it
    xr_t = randn(3).requires_grad_()
    xr = G(xr_t, device, requires_grad=True)
    (tf.grad(lambda a: (a ** 3).sum())(xr_t)).sum().backward()
    (gf.grad(lambda a: (a ** 3).sum())(xr)).sum().backward()
    close(xr.grad, xr_t.grad)
    # under no_grad the result is detached, as in torch
    with gpuarr.no_grad():
        assert not gf.grad(lambda a: (a ** 3).sum())(xr).requires_grad


def test_grad_ignores_outer_no_grad(device):
    x = randn(3)
    with torch.no_grad():
        t = tf.grad(lambda a: (a ** 2).sum())(x)
    with gpuarr.no_grad():
        g = gf.grad(lambda a: (a ** 2).sum())(G(x, device))
    close(g, t)


def test_grad_output_independent_of_input(device):
    both(lambda lib, F, a, b: F.grad(lambda u, v: (v * 2).sum())(a, b), randn(3), randn(3),
         device=device)
    both(lambda lib, F, a: F.grad(lambda u: lib.ones((), dtype=lib.float64))(a), randn(3),
         device=device)


@pytest.mark.parametrize("case", [
    "nonscalar", "float_out", "tuple_out", "aux_not_tuple", "aux_triple", "aux_int",
    "argnum_big", "argnum_neg", "argnums_empty", "argnums_dup", "argnums_float",
    "argnums_elem_float", "argnums_list", "no_args", "float_in", "int_in",
])
def test_grad_errors(device, case):
    x, y = randn(3), randn(3)
    cases = {
        "nonscalar": (lambda lib: lib.sin, 0, False, (x,)),
        "float_out": (lambda lib: (lambda a: 3.0), 0, False, (x,)),
        "tuple_out": (lambda lib: (lambda a: (a.sum(), 1)), 0, False, (x,)),
        "aux_not_tuple": (lambda lib: (lambda a: a.sum()), 0, True, (x,)),
        "aux_triple": (lambda lib: (lambda a: (a.sum(), 1, 2)), 0, True, (x,)),
        "aux_int": (lambda lib: (lambda a: (a.sum(), 1)), 0, True, (x,)),
        "argnum_big": (lambda lib: (lambda a, b: (a * b).sum()), 2, False, (x, y)),
        "argnum_neg": (lambda lib: (lambda a, b: (a * b).sum()), -3, False, (x, y)),
        "argnums_empty": (lambda lib: (lambda a, b: (a * b).sum()), (), False, (x, y)),
        "argnums_dup": (lambda lib: (lambda a, b: (a * b).sum()), (0, -2), False, (x, y)),
        "argnums_float": (lambda lib: (lambda a, b: (a * b).sum()), 1.0, False, (x, y)),
        "argnums_elem_float": (lambda lib: (lambda a, b: (a * b).sum()), (0, 1.0), False,
                               (x, y)),
        "argnums_list": (lambda lib: (lambda a, b: (a * b).sum()), [0, 1], False, (x, y)),
        "no_args": (lambda lib: (lambda a: a.sum()), 0, False, ()),
        "float_in": (lambda lib: (lambda a: a * 2), 0, False, (3.0,)),
        "int_in": (lambda lib: (lambda a: a.sum()), 0, False, (torch.arange(3),)),
    }
    fn, argnums, aux, args = cases[case]
    same_error(lambda: tf.grad(fn(torch), argnums=argnums, has_aux=aux)(*args),
               lambda: gf.grad(fn(gpuarr), argnums=argnums, has_aux=aux)(*G(args, device)))


# ----------------------------------------------------------------------------- vjp / jvp


def test_vjp_values(device):
    def f(lib):
        return lambda a, b: (lib.sin(a) * b, {"s": (a @ b.unsqueeze(-1)).squeeze(-1)})

    a, b = randn(3), randn(3)
    ct = (randn(3), {"s": randn(())})
    for lib, F, args, cts in ((torch, tf, (a, b), ct), (gpuarr, gf, G((a, b), device),
                                                          G(ct, device))):
        out, fn = F.vjp(f(lib), *args)
        res = fn(cts), fn(cts)  # callable several times
        if lib is torch:
            t_out, t_res = out, res
        else:
            close(out, t_out)
            close(res, t_res)
            assert not res[0][0].requires_grad and not out[0].requires_grad


def test_vjp_has_aux_and_errors(device):
    x = randn(3)
    out, fn, aux = tf.vjp(lambda a: (torch.exp(a), a.sum()), x, has_aux=True)
    t = (out, fn(torch.ones(3, dtype=torch.float64)), aux)
    out, fn, aux = gf.vjp(lambda a: (gpuarr.exp(a), a.sum()), G(x, device), has_aux=True)
    close((out, fn(gpuarr.ones(3, dtype=gpuarr.float64, device=device)), aux), t)
    same_error(lambda: tf.vjp(lambda a: 3.0, x), lambda: gf.vjp(lambda a: 3.0, G(x, device)))
    same_error(lambda: tf.vjp(lambda a: a, 3.0), lambda: gf.vjp(lambda a: a, 3.0))
    same_error(lambda: tf.vjp(torch.sin, x, has_aux=True),
               lambda: gf.vjp(gpuarr.sin, G(x, device), has_aux=True))
    same_error(lambda: tf.vjp(torch.sin, x)[1]((torch.ones(3),)),
               lambda: gf.vjp(gpuarr.sin, G(x, device))[1]((gpuarr.ones(3, device=device),)))
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        gf.vjp(gpuarr.sin, G(x, device))[1](gpuarr.ones(4, device=device))


def test_jvp_values(device):
    def f(lib):
        return lambda a, b: (lib.sin(a) * b.sum(), a @ b.T)

    a, b, ta, tb = randn(2, 3), randn(4, 3), randn(2, 3), randn(4, 3)
    both(lambda lib, F, a_, b_, ta_, tb_: F.jvp(f(lib), (a_, b_), (ta_, tb_)), a, b, ta, tb,
         device=device)
    # pytrees in the primals; has_aux
    both(lambda lib, F, p, t: F.jvp(lambda d: (lib.tanh(d["x"]).sum() * d["y"], d["y"] + 1),
                                    (p,), (t,), has_aux=True),
         {"x": randn(3), "y": randn(2)}, {"x": randn(3), "y": randn(2)}, device=device)
    # an output that does not depend on the input, and the identity
    both(lambda lib, F, a_, t_: F.jvp(lambda v: (v, v.detach() * 2), (a_,), (t_,)), a, ta,
         device=device)


def test_jvp_errors(device):
    x = randn(3)
    gx = G(x, device)
    same_error(lambda: tf.jvp(torch.sin, x, x), lambda: gf.jvp(gpuarr.sin, gx, gx))
    same_error(lambda: tf.jvp(torch.sin, (x,), x), lambda: gf.jvp(gpuarr.sin, (gx,), gx))
    same_error(lambda: tf.jvp(torch.sin, (x,), (x, x)),
               lambda: gf.jvp(gpuarr.sin, (gx,), (gx, gx)))
    same_error(lambda: tf.jvp(torch.sin, (x,), (torch.ones(4),)),
               lambda: gf.jvp(gpuarr.sin, (gx,), (gpuarr.ones(4, device=device),)))
    same_error(lambda: tf.jvp(lambda a: 3, (x,), (x,)), lambda: gf.jvp(lambda a: 3, (gx,), (gx,)))
    same_error(lambda: tf.jvp(torch.sin, (), ()), lambda: gf.jvp(gpuarr.sin, (), ()))
    same_error(lambda: tf.jvp(torch.sin, (3.0,), (3.0,)),
               lambda: gf.jvp(gpuarr.sin, (3.0,), (3.0,)))


def test_linearize(device):
    x, t1, t2 = randn(2, 3), randn(2, 3), randn(2, 3)
    out_t, fn_t = tf.linearize(lambda a: (torch.sin(a) * a).sum(0), x)
    out_g, fn_g = gf.linearize(lambda a: (gpuarr.sin(a) * a).sum(0), G(x, device))
    close(out_g, out_t)
    close(fn_g(G(t1, device)), fn_t(t1))
    close(fn_g(G(t2, device)), fn_t(t2))
    gt1 = G(t1, device)
    same_error(lambda: fn_t(t1, t1), lambda: fn_g(gt1, gt1))
    with pytest.raises(RuntimeError, match=r"tangent:0 with shape .*\[3\].* doesn't match the "
                                           r"shape .*\[2, 3\].* of the corresponding primal"):
        fn_g(gpuarr.ones(3, device=device))


# ----------------------------------------------------------------------------- jacobians


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_jacobians_vector_and_matrix(device, jac):
    both(lambda lib, F, a: getattr(F, jac)(lambda v: lib.sin(v) * v.sum())(a), randn(4),
         device=device)
    # matrix input and output: out.shape + in.shape
    both(lambda lib, F, a, b: getattr(F, jac)(lambda u, v: lib.tanh(u @ v))(a, b),
         randn(2, 3), randn(3, 2), device=device)
    # several arguments and outputs, pytrees, has_aux
    both(lambda lib, F, a, b: getattr(F, jac)(
        lambda u, v: ({"p": u * v[0], "q": (u.sum() * v[1],)}, u.sum()),
        argnums=(0, 1), has_aux=True)(a, b), randn(3), [randn(3), randn(2)], device=device)
    # a 0-dim output and a 0-dim input; a size-0 input
    both(lambda lib, F, a: getattr(F, jac)(lambda v: (v ** 2).sum())(a), randn(3),
         device=device)
    both(lambda lib, F, a: getattr(F, jac)(lambda v: v * v.new_ones(2))(a),
         randn(()), device=device)
    both(lambda lib, F, a: getattr(F, jac)(lambda v: v * 2)(a), randn(0), device=device)


def test_jacobian_errors(device):
    x = randn(3)
    gx = G(x, device)
    same_error(lambda: tf.jacrev(lambda a: 3.0)(x), lambda: gf.jacrev(lambda a: 3.0)(gx))
    same_error(lambda: tf.jacrev(torch.sin)(3.0), lambda: gf.jacrev(gpuarr.sin)(3.0))
    same_error(lambda: tf.jacrev(torch.sin, argnums=2)(x), lambda: gf.jacrev(gpuarr.sin,
                                                                             argnums=2)(gx))
    same_error(lambda: tf.jacrev(torch.sin, chunk_size=0), lambda: gf.jacrev(gpuarr.sin,
                                                                             chunk_size=0))
    same_error(lambda: tf.jacfwd(torch.sin, randomness="x")(x),
               lambda: gf.jacfwd(gpuarr.sin, randomness="x")(gx))
    same_error(lambda: tf.jacrev(lambda a: a.sum(), has_aux=True)(x),
               lambda: gf.jacrev(lambda a: a.sum(), has_aux=True)(gx))
    same_error(lambda: tf.jacfwd(lambda a: a + torch.rand(3, dtype=torch.float64))(x),
               lambda: gf.jacfwd(lambda a: a + gpuarr.rand(3, dtype=gpuarr.float64,
                                                            device=device))(gx))


def test_hessian_and_compositions(device):
    def f(lib):
        return lambda v: (lib.sin(v) * v.prod() + v ** 3).sum()

    x = randn(3)
    h = both(lambda lib, F, a: F.hessian(f(lib))(a), x, device=device)
    both(lambda lib, F, a: F.jacfwd(F.jacrev(f(lib)))(a), x, device=device)
    both(lambda lib, F, a: F.jacrev(F.jacrev(f(lib)))(a), x, device=device)
    both(lambda lib, F, a: F.jacrev(F.grad(f(lib)))(a), x, device=device)
    both(lambda lib, F, a: F.jacfwd(F.jacfwd(f(lib)))(a), x, device=device)
    assert not h.requires_grad
    # matrix input, two arguments
    both(lambda lib, F, a, b: F.hessian(lambda u, v: (lib.tanh(u @ v) ** 2).sum(),
                                        argnums=(0, 1))(a, b),
         randn(2, 3), randn(3), device=device)
    # the same as gpuarr.autograd.functional.hessian
    gx = G(x, device)
    close(h, torch.autograd.functional.hessian(f(torch), x))
    close(gpuarr.autograd.functional.hessian(f(gpuarr), gx), torch.autograd.functional.hessian(
        f(torch), x))


def test_transforms_pass_gradcheck(device):
    # the transforms' results are differentiable functions of their inputs
    x = gpuarr.randn(3, dtype=gpuarr.float64, device=device, requires_grad=True)
    f = lambda v: (gpuarr.sin(v) * v.prod()).sum()  # noqa: E731
    assert gpuarr.autograd.gradcheck(gf.grad(f), (x,))
    assert gpuarr.autograd.gradgradcheck(gf.grad(f), (x,))
    assert gpuarr.autograd.gradcheck(gf.jacrev(gpuarr.tanh), (x,))
    assert gpuarr.autograd.gradcheck(gf.vmap(lambda v: v.exp() * v[0]), (x.reshape(3, 1),))
    assert gpuarr.autograd.gradcheck(lambda v: gf.jvp(gpuarr.sin, (v,), (v,))[1], (x,))


def test_jvp_of_grad_is_hvp(device):
    x, v = randn(4), randn(4)
    both(lambda lib, F, a, t: F.jvp(F.grad(lambda u: (lib.exp(u) * u).sum()), (a,), (t,)),
         x, v, device=device)


# ----------------------------------------------------------------------------- vmap


@pytest.mark.parametrize("in_dims,out_dims,shapes", [
    (0, 0, [(5, 3), (5, 3)]),
    (1, 0, [(3, 5), (3, 5)]),
    ((0, 1), 1, [(5, 3), (3, 5)]),
    ((-1, None), -1, [(3, 5), (3,)]),
    ((None, -2), 0, [(3,), (2, 5, 3)]),
    (0, 2, [(5, 2, 3), (5, 2, 3)]),
])
def test_vmap_dims(device, in_dims, out_dims, shapes):
    args = [randn(*s) for s in shapes]
    both(lambda lib, F, *a: F.vmap(lambda u, v: lib.sin(u) * v + 1, in_dims, out_dims)(*a),
         *args, device=device)


def test_vmap_pytrees_and_kwargs(device):
    def f(lib):
        def fn(d, s, scale=1.0):
            return {"a": d["x"] @ d["w"] * scale, "b": (d["x"].sum() + s,)}
        return fn

    d = {"x": randn(4, 3), "w": randn(3, 2)}
    both(lambda lib, F, d_, s: F.vmap(f(lib), in_dims=({"x": 0, "w": None}, None))(
        d_, s, scale=2.0), d, randn(()), device=device)
    both(lambda lib, F, d_, s: F.vmap(f(lib), in_dims=({"x": 0, "w": None}, None),
                                      out_dims={"a": 1, "b": (0,)})(d_, s), d, randn(()),
         device=device)
    # a tuple of outputs, out_dims per output, an unbatched output with out_dims None
    const = randn(2)
    gconst = G(const, device)
    t = tf.vmap(lambda u: (u * 2, const), out_dims=(1, None))(const.expand(3, 2).T)
    g = gf.vmap(lambda u: (u * 2, gconst), out_dims=(1, None))(
        G(const.expand(3, 2).T.contiguous(), device))
    close(g, t)


def test_vmap_ops_nested_and_empty(device):
    both(lambda lib, F, a, b: F.vmap(lib.matmul)(a, b), randn(4, 2, 3), randn(4, 3, 5),
         device=device)
    both(lambda lib, F, a: F.vmap(lambda v: v.sum(0))(a), randn(4, 3, 2), device=device)
    both(lambda lib, F, a, w, b: F.vmap(lib.nn.functional.linear, in_dims=(0, None, None))(
        a, w, b), randn(4, 3), randn(2, 3), randn(2), device=device)
    # nested: an outer product table
    both(lambda lib, F, a, b: F.vmap(F.vmap(lib.mul, (None, 0)), (0, None))(a, b),
         randn(3), randn(4), device=device)
    both(lambda lib, F, a: F.vmap(F.vmap(lib.dot))(a, a), randn(2, 3, 4), device=device)
    # an empty batch keeps the per-sample shape
    both(lambda lib, F, a: F.vmap(lambda v: v.sum())(a), randn(0, 3), device=device)
    both(lambda lib, F, a: F.vmap(lambda v: v * 2, out_dims=1)(a), randn(0, 3),
         device=device)


def test_vmap_is_differentiable(device):
    x_t = randn(4, 3).requires_grad_()
    x = G(x_t, device, requires_grad=True)
    tf.vmap(lambda v: (v.sin() * v).sum())(x_t).pow(2).sum().backward()
    gf.vmap(lambda v: (v.sin() * v).sum())(x).pow(2).sum().backward()
    close(x.grad, x_t.grad)
    both(lambda lib, F, a: F.grad(lambda u: F.vmap(lambda v: (v.exp() * v).sum())(u).sum())(a),
         randn(3, 2), device=device)
    both(lambda lib, F, a: F.jacrev(F.vmap(lib.sin))(a), randn(3), device=device)


def _mlp(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2)).double()


def _copy_params(src, dst, device):
    with gpuarr.no_grad():
        for (_, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
            q.copy_(G(p, "cpu"))
    return dst.to(device)


def test_per_sample_gradients(device):
    tm = _mlp(torch)
    gm = _copy_params(tm, _mlp(gpuarr), device)
    x, y = randn(6, 3), randn(6, 2)

    def loss(lib, F, model):
        def fn(params, xi, yi):
            out = F.functional_call(model, params, (xi.unsqueeze(0),))
            return ((out - yi.unsqueeze(0)) ** 2).mean()
        return fn

    tparams = {k: v.detach() for k, v in tm.named_parameters()}
    gparams = {k: v.detach() for k, v in gm.named_parameters()}
    per_sample = gf.vmap(gf.grad(loss(gpuarr, gf, gm)), in_dims=(None, 0, 0))(
        gparams, G(x, device), G(y, device))
    # reference: a loop of torch.autograd.grad, one sample at a time
    for k in dict(tm.named_parameters()):
        rows = []
        for i in range(6):
            tm.zero_grad()
            ((tm(x[i:i + 1]) - y[i:i + 1]) ** 2).mean().backward()
            rows.append(dict(tm.named_parameters())[k].grad.clone())
        close(per_sample[k], torch.stack(rows))
    t_ps = tf.vmap(tf.grad(loss(torch, tf, tm)), in_dims=(None, 0, 0))(tparams, x, y)
    close(per_sample, t_ps)
    assert not per_sample["0.weight"].requires_grad


def test_functional_call(device):
    tm = _mlp(torch)
    gm = _copy_params(tm, _mlp(gpuarr), device)
    x = randn(5, 3)
    tp = {k: torch.ones_like(v) for k, v in tm.named_parameters()}
    gp = {k: gpuarr.ones_like(v) for k, v in gm.named_parameters()}
    close(gf.functional_call(gm, gp, G(x, device)), tf.functional_call(tm, tp, x))
    # a tuple of dicts
    tsplit = ({k: v for k, v in tp.items() if "weight" in k},
              {k: v for k, v in tp.items() if "bias" in k})
    gsplit = ({k: v for k, v in gp.items() if "weight" in k},
              {k: v for k, v in gp.items() if "bias" in k})
    close(gf.functional_call(gm, gsplit, (G(x, device),)), tf.functional_call(tm, tsplit, (x,)))
    # the module's own parameters are unchanged
    close(gm(G(x, device)), tm(x))
    same_error(lambda: tf.functional_call(tm, (tp, tp), (x,)),
               lambda: gf.functional_call(gm, (gp, gp), (G(x, device),)))
    same_error(lambda: tf.functional_call(tm, 3, (x,)),
               lambda: gf.functional_call(gm, 3, (G(x, device),)))
    same_error(lambda: tf.functional_call(tm, [tp, 3], (x,)),
               lambda: gf.functional_call(gm, [gp, 3], (G(x, device),)))
    with pytest.raises(RuntimeError, match="Missing key"):
        gf.functional_call(gm, {"0.weight": gp["0.weight"]}, (G(x, device),), strict=True)


def test_stack_module_state_ensembling(device):
    torch.manual_seed(1)
    tmodels = [torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                                   torch.nn.Linear(4, 2)).double() for _ in range(3)]
    gmodels = [_copy_params(t, gpuarr.nn.Sequential(gpuarr.nn.Linear(3, 4), gpuarr.nn.ReLU(),
                                                    gpuarr.nn.Linear(4, 2)).double(), device)
               for t in tmodels]
    tparams, tbuffers = tf.stack_module_state(tmodels)
    gparams, gbuffers = gf.stack_module_state(gmodels)
    close(gparams, tparams)
    assert gbuffers == tbuffers == {}
    assert all(p.requires_grad and p.is_leaf for p in gparams.values())
    data = randn(5, 3)

    def run(F, base, params, buffers, x):
        return F.vmap(lambda p, b, d: F.functional_call(base, (p, b), (d,)),
                      in_dims=(0, 0, None))(params, buffers, x)

    t = run(tf, tmodels[0], tparams, tbuffers, data)
    g = run(gf, gmodels[0], gparams, gbuffers, G(data, device))
    close(g, t)
    # the stacked parameters are trainable leaves
    t.sum().backward()
    g.sum().backward()
    close(gparams["2.weight"].grad, tparams["2.weight"].grad)
    # different minibatches per model
    mb = randn(3, 5, 3)
    close(gf.vmap(lambda p, d: gf.functional_call(gmodels[0], p, (d,)))(gparams, G(mb, device)),
          tf.vmap(lambda p, d: tf.functional_call(tmodels[0], p, (d,)))(tparams, mb))
    same_error(lambda: tf.stack_module_state([]), lambda: gf.stack_module_state([]))
    same_error(lambda: tf.stack_module_state([tmodels[0], torch.nn.Linear(3, 4)]),
               lambda: gf.stack_module_state([gmodels[0], gpuarr.nn.Linear(3, 4)]))
    tmodels[1].eval()
    gmodels[1].eval()
    same_error(lambda: tf.stack_module_state(tmodels), lambda: gf.stack_module_state(gmodels))


def test_stack_module_state_buffers_and_requires_grad(device):
    tms = [torch.nn.BatchNorm1d(3).double() for _ in range(2)]
    gms = [gpuarr.nn.BatchNorm1d(3).double().to(device) for _ in range(2)]
    tp, tb = tf.stack_module_state(tms)
    gp, gb = gf.stack_module_state(gms)
    close(gp, tp)
    close(gb, tb)
    assert not gb["running_mean"].requires_grad
    tms[0].weight.requires_grad_(False)
    gms[0].weight.requires_grad_(False)
    same_error(lambda: tf.stack_module_state(tms), lambda: gf.stack_module_state(gms))


# ----------------------------------------------------------------------------- randomness


def test_vmap_randomness(device):
    x = gpuarr.zeros(4, 3, device=device)

    def draw(v):
        return v + gpuarr.rand(3, device=device)

    same_error(lambda: tf.vmap(lambda v: v + torch.rand(3))(torch.zeros(4, 3)),
               lambda: gf.vmap(draw)(x))
    same_error(lambda: tf.vmap(lambda v: v * 2, randomness="foo")(torch.zeros(4, 3)),
               lambda: gf.vmap(lambda v: v * 2, randomness="foo")(x))
    # 'same': every row draws the same numbers, and the generator advanced once
    gpuarr.manual_seed(3)
    same = gf.vmap(draw, randomness="same")(x)
    after = gpuarr.rand(3, device=device)
    gpuarr.manual_seed(3)
    once = gpuarr.rand(3, device=device)
    again = gpuarr.rand(3, device=device)
    for i in range(4):
        assert np.array_equal(same[i].cpu().numpy(), once.cpu().numpy())
    assert np.array_equal(after.cpu().numpy(), again.cpu().numpy())
    # 'different': independent draws
    diff = gf.vmap(draw, randomness="different")(x).cpu().numpy()
    assert len({tuple(r) for r in diff}) == 4
    # an op that draws nothing is fine under 'error'
    assert gf.vmap(lambda v: v * 2)(x).shape == (4, 3)


# ----------------------------------------------------------------------------- vmap errors


@pytest.mark.parametrize("case", [
    "sizes", "sizes_dim", "in_dims_short", "in_dim_big", "in_dim_neg", "in_dim_str",
    "in_dims_str", "in_dims_list", "all_none", "float_in", "zero_dim", "float_out",
    "none_out", "out_dim_str", "out_dims_short", "out_dims_long", "no_inputs", "dict_in_dims",
    "batched_out_none", "out_dim_range",
])
def test_vmap_errors(device, case):
    x, y = randn(3, 4), randn(2, 4)
    cases = {
        "sizes": (lambda lib: lib.add, {}, (x, y)),
        "sizes_dim": (lambda lib: lib.add, {"in_dims": (0, 1)}, (x, y)),
        "in_dims_short": (lambda lib: lib.add, {"in_dims": (0,)}, (x, y)),
        "in_dim_big": (lambda lib: lib.add, {"in_dims": (0, 5)}, (x, x)),
        "in_dim_neg": (lambda lib: lib.add, {"in_dims": (0, -3)}, (x, x)),
        "in_dim_str": (lambda lib: lib.add, {"in_dims": (0, "a")}, (x, x)),
        "in_dims_str": (lambda lib: lib.add, {"in_dims": "a"}, (x, x)),
        "in_dims_list": (lambda lib: lib.add, {"in_dims": [0, 0]}, (x, x)),
        "all_none": (lambda lib: lib.add, {"in_dims": (None, None)}, (x, x)),
        "float_in": (lambda lib: lib.mul, {"in_dims": (0, 0)}, (x, 2.0)),
        "zero_dim": (lambda lib: lib.sin, {}, (randn(()),)),
        "float_out": (lambda lib: (lambda a: 3.0), {}, (x,)),
        "none_out": (lambda lib: (lambda a: None), {}, (x,)),
        "out_dim_str": (lambda lib: lib.sin, {"out_dims": "a"}, (x,)),
        "out_dims_short": (lambda lib: lib.sin, {"out_dims": (0, 1)}, (x,)),
        "out_dims_long": (lambda lib: (lambda a: (a, a)), {"out_dims": (0, 1, 2)}, (x,)),
        "no_inputs": (lambda lib: lib.sin, {}, ()),
        "dict_in_dims": (lambda lib: (lambda a: a["a"]), {"in_dims": ({"a": 0},)},
                         ({"a": x, "b": x},)),
        "batched_out_none": (lambda lib: (lambda a: a), {"out_dims": None}, (x,)),
        "out_dim_range": (lambda lib: lib.sin, {"out_dims": 2}, (x,)),
    }
    fn, kw, args = cases[case]
    same_error(lambda: tf.vmap(fn(torch), **kw)(*args),
               lambda: gf.vmap(fn(gpuarr), **kw)(*G(args, device)))


@pytest.mark.parametrize("chunk", [0, -1])
def test_vmap_chunk_size(device, chunk):
    same_error(lambda: tf.vmap(torch.sin, chunk_size=chunk),
               lambda: gf.vmap(gpuarr.sin, chunk_size=chunk))
    both(lambda lib, F, a: F.vmap(lib.sin, chunk_size=2)(a), randn(5, 2), device=device)


# ----------------------------------------------------------------------------- the rest


def test_functionalize(device):
    def f(lib):
        def fn(x):
            y = x.clone()
            y.add_(1)
            x.mul_(2)  # a mutated input is still updated, as in torch
            return y * x
        return fn

    xt = randn(3)
    xg = G(xt, device)
    close(gf.functionalize(f(gpuarr))(xg), tf.functionalize(f(torch))(xt))
    close(xg, xt)
    close(gf.functionalize(f(gpuarr), remove="mutations_and_views")(xg),
          tf.functionalize(f(torch), remove="mutations_and_views")(xt))
    # composes with the other transforms
    both(lambda lib, F, a: F.grad(F.functionalize(lambda v: (v.clone().mul_(v)).sum()))(a),
         randn(3), device=device)
    same_error(lambda: tf.functionalize(torch.sin, remove="x"),
               lambda: gf.functionalize(gpuarr.sin, remove="x"))


def test_replace_all_batch_norm_modules_(device):
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4),
                                 lib.nn.Sequential(lib.nn.BatchNorm1d(4, track_running_stats=False),
                                                   lib.nn.Linear(4, 2)))

    tnet, gnet = build(torch), build(gpuarr).to(device)
    assert tf.replace_all_batch_norm_modules_(tnet) is tnet
    assert gf.replace_all_batch_norm_modules_(gnet) is gnet
    for bn in (gnet[1], gnet[2][0]):
        assert bn.running_mean is None and bn.running_var is None
        assert bn.num_batches_tracked is None and not bn.track_running_stats
    assert dict(gnet.named_buffers()) == {} == dict(tnet.named_buffers())
    # the root itself may be the batch norm module
    bn = gf.replace_all_batch_norm_modules_(gpuarr.nn.BatchNorm2d(2))
    assert bn.running_var is None and not bn.track_running_stats
    # eval mode now normalises with the batch's own statistics
    gnet.eval()
    out = gnet[1](gpuarr.randn(5, 4, device=device) * 3 + 2)
    np.testing.assert_allclose(out.mean(0).detach().cpu().numpy(), 0.0, atol=1e-5)


def test_exports():
    names = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian",
             "linearize", "functional_call", "stack_module_state", "functionalize",
             "replace_all_batch_norm_modules_"]
    assert sorted(gf.__all__) == sorted(names)
    import inspect
    for n in names:
        assert list(inspect.signature(getattr(gf, n)).parameters) == \
            list(inspect.signature(getattr(tf, n)).parameters), n


def test_vjp_fn_used_inside_another_transform(device):
    x, v = randn(3), randn(3)
    _, fn_t = tf.vjp(torch.sin, x)
    _, fn_g = gf.vjp(gpuarr.sin, G(x, device))
    t = tf.grad(lambda u: (fn_t(u)[0] * u).sum())(v)
    g = gf.grad(lambda u: (fn_g(u)[0] * u).sum())(G(v, device))
    close(g, t)
    assert not g.requires_grad and not t.requires_grad
    # the transforms left no level behind: a later grad at top level detaches again
    assert not gf.grad(lambda u: (u ** 2).sum())(G(v, device)).requires_grad
