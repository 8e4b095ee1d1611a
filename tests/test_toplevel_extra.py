"""torch's top-level names in gpuarr/_control_flow.py, gpuarr/_sym.py and
gpuarr/_toplevel_extra.py (cond, while_loop, the sym_* helpers, get_device_module,
empty_permuted, the legacy autocast setters), each compared with torch 2.13."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch

import gpuarr


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _builtin_base(exc: BaseException) -> type:
    """The first built-in class of an exception's type (torch wraps its control-flow errors in
    dynamo exception classes, all RuntimeErrors)."""
    return next(c for c in type(exc).__mro__ if c.__module__ == "builtins")


def same_error(tfn, gfn, phrase: str) -> None:
    """torch and gpuarr raise the same built-in exception type, both messages naming
    ``phrase``."""
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(Exception) as ge:
        gfn()
    assert type(ge.value) is _builtin_base(te.value), (te.value, ge.value)
    assert phrase in str(te.value), str(te.value)
    assert phrase in str(ge.value), str(ge.value)


class Lib:
    """One library's spelling of the calls: torch on the CPU, or gpuarr on ``device``."""

    def __init__(self, mod, device="cpu"):
        self.mod, self.device = mod, device

    def t(self, a, rg=False, dtype=None):
        a = np.asarray(a)
        if self.mod is torch:
            return torch.tensor(a, dtype=dtype and getattr(torch, dtype), requires_grad=rg)
        return gpuarr.tensor(a, dtype=dtype and getattr(gpuarr, dtype), device=self.device,
                             requires_grad=rg)


def both(device):
    return Lib(torch), Lib(gpuarr, device)


def check_same(t_out, g_out, device=None) -> None:
    """Same structure, same ints, same tensor values/dtypes (and gpuarr's on ``device``)."""
    t_flat, t_spec = torch.utils._pytree.tree_flatten(t_out)
    g_flat, _ = gpuarr.func._pytree.tree_flatten(g_out)
    assert type(t_out).__name__ == type(g_out).__name__ or (
        isinstance(t_out, torch.Tensor) and isinstance(g_out, gpuarr.Tensor))
    assert len(t_flat) == len(g_flat)
    for a, b in zip(t_flat, g_flat):
        if isinstance(a, torch.Tensor):
            assert isinstance(b, gpuarr.Tensor)
            assert str(b.dtype).split(".")[1] == str(a.dtype).split(".")[1]
            if device is not None:
                assert b.device.type == gpuarr.device(device).type
            np.testing.assert_allclose(to_np(b), a.detach().numpy(), rtol=1e-6, atol=1e-7)
        else:
            assert type(a) is type(b) and a == b


# --------------------------------------------------------------------------------------------
# cond: module-level branches, so that torch compiles each once


def _cos(a):
    return a.cos()


def _sin(a):
    return a.sin()


def _pair_t(a, b):
    return a * b, (a + b).sum()


def _pair_f(a, b):
    return a - b, (a * b).sum()


def _nested_t(d):
    return {"s": d["x"] * 2, "n": 3, "l": [d["y"][0] + 1]}


def _nested_f(d):
    return {"s": d["x"] - 2, "n": 4, "l": [d["y"][0] * 0]}


def _use_a(a, b):
    return a * 2


def _use_b(a, b):
    return b * 3


PRED_CASES = [
    ("bool0d_true", [True], "bool", True), ("bool0d_false", False, "bool", False),
    ("int_2d_one", [[1]], "int64", True), ("int_zero", 0, "int64", False),
    ("float_one", 1.0, "float32", True), ("float_zero", [0.0], "float32", False),
]


@pytest.mark.parametrize("name,value,dtype,expect", PRED_CASES, ids=[c[0] for c in PRED_CASES])
def test_cond_tensor_predicate_picks_the_branch_as_torch(device, name, value, dtype, expect):
    tl, gl = both(device)
    x = np.linspace(-1.0, 2.0, 5)
    t_out = torch.cond(tl.t(value, dtype=dtype), _cos, _sin, (tl.t(x),))
    g_out = gpuarr.cond(gl.t(value, dtype=dtype), _cos, _sin, (gl.t(x),))
    check_same(t_out, g_out, device)
    np.testing.assert_allclose(to_np(g_out), np.cos(x) if expect else np.sin(x), rtol=1e-12)


@pytest.mark.parametrize("pred", [True, False, 1, 0, 2.5, 0.0])
def test_cond_python_predicate(device, pred):
    tl, gl = both(device)
    x = np.arange(4.0)
    check_same(torch.cond(pred, _cos, _sin, [tl.t(x)]), gpuarr.cond(pred, _cos, _sin, [gl.t(x)]),
               device)


def test_cond_python_predicate_runs_the_branch_unchecked():
    # torch does no validation for a Python constant: a bad branch fails when called
    with pytest.raises(TypeError):
        torch.cond(True, 3, _sin, (torch.ones(2),))
    with pytest.raises(TypeError):
        gpuarr.cond(True, 3, _sin, (gpuarr.ones(2),))
    # the branch may return anything (the aliasing checks are not made)
    x = gpuarr.ones(2)
    assert gpuarr.cond(1, lambda a: a, _sin, (x,)) is x


@pytest.mark.parametrize("pred", [True, False])
def test_cond_multiple_and_nested_outputs(device, pred):
    tl, gl = both(device)
    a, b = np.arange(1.0, 4.0), np.linspace(0.5, 1.5, 3)
    check_same(torch.cond(tl.t(pred), _pair_t, _pair_f, (tl.t(a), tl.t(b))),
               gpuarr.cond(gl.t(pred), _pair_t, _pair_f, (gl.t(a), gl.t(b))), device)
    t_in = ({"x": tl.t(a), "y": [tl.t(b)]},)
    g_in = ({"x": gl.t(a), "y": [gl.t(b)]},)
    check_same(torch.cond(tl.t(pred), _nested_t, _nested_f, t_in),
               gpuarr.cond(gl.t(pred), _nested_t, _nested_f, g_in), device)


def test_cond_without_operands(device):
    out = gpuarr.cond(gpuarr.tensor(False, device=device), lambda: gpuarr.ones(2),
                      lambda: gpuarr.zeros(2))
    check_same(torch.cond(torch.tensor(False), lambda: torch.ones(2), lambda: torch.zeros(2)),
               out)


@pytest.mark.parametrize("pred", [True, False])
def test_cond_gradients_match_torch(device, pred):
    """Gradients flow through the chosen branch; the operand it does not use gets zeros (not
    None), and the output's node is torch's CondAutogradOpBackward."""
    tl, gl = both(device)
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.5])
    res = {}
    for lib in (tl, gl):
        x, y = lib.t(a, rg=True), lib.t(b, rg=True)
        out = lib.mod.cond(lib.t(pred), _use_a, _use_b, (x, y))
        assert type(out.grad_fn).__name__ == "CondAutogradOpBackward"
        (out * lib.t(np.array([1.0, 2.0, 3.0]))).sum().backward()
        res[lib.mod] = (x.grad, y.grad)
    for tg, gg in zip(res[torch], res[gpuarr]):
        np.testing.assert_allclose(to_np(gg), tg.numpy())


def test_cond_constant_branch_output_requires_grad_as_torch(device):
    tl, gl = both(device)
    for lib in (tl, gl):
        mod = lib.mod
        x = lib.t(np.arange(3.0), rg=True)
        out = mod.cond(lib.t(False), _cos, mod.ones_like, (x,))
        assert out.requires_grad
        ints = mod.cond(lib.t(True), lambda a, m=mod: (a * 2, m.arange(3)),
                        lambda a, m=mod: (a * 3, m.arange(3)), (x,))
        assert ints[0].requires_grad and not ints[1].requires_grad
        out.sum().backward()
        np.testing.assert_allclose(to_np(x.grad), [0.0, 0.0, 0.0])


def test_cond_predicate_requiring_grad(device):
    tl, gl = both(device)
    for lib in (tl, gl):
        p = lib.t(1.0, rg=True)
        out = lib.mod.cond(p, _cos, _sin, (lib.t(np.arange(3.0)),))
        assert out.requires_grad and type(out.grad_fn).__name__ == "CondAutogradOpBackward"
    # (torch 2.13's backward fails here with an internal AssertionError; gpuarr's gives the
    # predicate no gradient, as torch's CondAutogradOp.backward means to)
    out.sum().backward()
    assert p.grad is None


def test_cond_under_no_grad_records_nothing_and_may_mutate(device):
    tl, gl = both(device)
    for lib in (tl, gl):
        x = lib.t(np.arange(3.0), rg=True)
        with lib.mod.no_grad():
            out = lib.mod.cond(lib.t(True), _cos, _sin, (x,))
            y = lib.t(np.arange(3.0))
            lib.mod.cond(lib.t(True), lambda a: a.add_(1).clone(), lambda a: a + 2, (y,))
        assert out.grad_fn is None and not out.requires_grad
        np.testing.assert_allclose(to_np(y), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("pred", [True, False])
def test_cond_gradcheck(device, pred):
    p = gpuarr.tensor(pred, device=device)
    a = gpuarr.tensor([0.3, -0.7, 1.1], dtype=gpuarr.float64, device=device, requires_grad=True)
    b = gpuarr.tensor([0.9, 0.2, -0.4], dtype=gpuarr.float64, device=device, requires_grad=True)

    def f(x, y):
        return gpuarr.cond(p, lambda u, v: (u * v.exp(), u.sin()),
                           lambda u, v: (u.tanh() + v * v, v.cos()), (x, y))

    assert gpuarr.autograd.gradcheck(f, (a, b))
    assert gpuarr.autograd.gradgradcheck(f, (a, b))


def _cond_error_cases():
    x = np.arange(4.0)
    return [
        ("pred_two_elements", lambda L: L.mod.cond(L.t([True, False]), _cos, _sin, (L.t(x),)),
         "Expected pred to be bool or single-element tensor, but got"),
        ("pred_empty", lambda L: L.mod.cond(L.t(np.zeros(0, bool)), _cos, _sin, (L.t(x),)),
         "Expected pred to be bool or single-element tensor, but got"),
        ("pred_str", lambda L: L.mod.cond("a", _cos, _sin, (L.t(x),)),
         "Expected pred to be bool or tensor, but got a."),
        ("pred_none", lambda L: L.mod.cond(None, _cos, _sin, (L.t(x),)),
         "Expected pred to be bool or tensor, but got None."),
        ("branch_not_callable", lambda L: L.mod.cond(L.t(True), 3, _sin, (L.t(x),)),
         "Expect both branches to be callable."),
        ("operands_a_tensor", lambda L: L.mod.cond(L.t(True), _cos, _sin, L.t(x)),
         "Expect operands to be a tuple of possibly nested dict/list/tuple that only consists "
         "of tensor leaves"),
        ("operands_with_int", lambda L: L.mod.cond(L.t(True), lambda a, b: a + b,
                                                   lambda a, b: a - b, (L.t(x), 1)),
         "Expect operands to be a tuple of possibly nested dict/list/tuple"),
        ("operands_dict", lambda L: L.mod.cond(L.t(True), _cos, _sin, {"a": L.t(x)}),
         "Expect operands to be a tuple of possibly nested dict/list/tuple"),
        ("returns_input", lambda L: L.mod.cond(L.t(True), lambda a: a, _sin, (L.t(x),)),
         "Higher order ops do not support aliasing"),
        ("returns_view_of_input", lambda L: L.mod.cond(L.t(False), _cos, lambda a: a[:2],
                                                       (L.t(x),)),
         "Higher order ops do not support aliasing"),
        ("returns_one_output_twice", lambda L: L.mod.cond(
            L.t(True), lambda a: [a + 1] * 2, lambda a: [a.sin(), a.cos()], (L.t(x),)),
         "Higher order ops do not support aliasing"),
        ("returns_float", lambda L: L.mod.cond(L.t(True), lambda a: 1.5, lambda a: 1.5,
                                               (L.t(x),)),
         "body's output must consist of tensors or ints"),
        ("returns_none", lambda L: L.mod.cond(L.t(True), lambda a: None, lambda a: None,
                                              (L.t(x),)),
         "Constants returned from branches must be ints"),
        ("returns_non_dense", lambda L: L.mod.cond(L.t(True), lambda a: (a + 1)[::2],
                                                   lambda a: (a + 1)[::2], (L.t(x),)),
         "It seems one of cond's output stride is not a simple accumulative multiplication"),
        ("mutates_input", lambda L: L.mod.cond(L.t(True), lambda a: a.add_(1).clone(),
                                               lambda a: a + 2, (L.t(x),)),
         "Encountered input mutation during higher order op tracing"),
    ]


@pytest.mark.parametrize("case", _cond_error_cases(), ids=lambda c: c[0])
def test_cond_errors_as_torch(device, case):
    _, fn, phrase = case
    tl, gl = both(device)
    same_error(lambda: fn(tl), lambda: fn(gl), phrase)


def test_cond_invalid_pred_message_prints_the_tensor():
    with pytest.raises(RuntimeError) as te:
        torch.cond(torch.tensor([True, False]), _cos, _sin, (torch.ones(2),))
    with pytest.raises(RuntimeError) as ge:
        gpuarr.cond(gpuarr.tensor([True, False]), _cos, _sin, (gpuarr.ones(2),))
    assert str(ge.value) == str(te.value)


def test_cond_allows_a_transposed_dense_output(device):
    tl, gl = both(device)
    x = np.arange(6.0)
    check_same(torch.cond(tl.t(True), lambda a: (a + 1).view(2, 3).t(), lambda a: (a * 2).view(
        2, 3).t(), (tl.t(x),)),
        gpuarr.cond(gl.t(True), lambda a: (a + 1).view(2, 3).t(), lambda a: (a * 2).view(
            2, 3).t(), (gl.t(x),)), device)


# --------------------------------------------------------------------------------------------
# while_loop


def _lt3(i, a):
    return i < 3


def _double(i, a):
    return i + 1, a * 2


def _dict_cond(d):
    return d["i"] < 3


def _dict_body(d):
    return {"i": d["i"] + 1, "a": d["a"] * 2}


def _int_cond(i, a):
    return 2 * i < a.shape[0]


def _int_body(i, a):
    return i + 1, a + i


def test_while_loop_tensor_counter(device):
    tl, gl = both(device)
    check_same(torch.while_loop(_lt3, _double, (tl.t(0), tl.t(np.arange(4.0)))),
               gpuarr.while_loop(_lt3, _double, (gl.t(0), gl.t(np.arange(4.0)))), device)


def test_while_loop_int_counter(device):
    tl, gl = both(device)
    t_out = torch.while_loop(_int_cond, _int_body, (0, tl.t(np.arange(4.0))))
    g_out = gpuarr.while_loop(_int_cond, _int_body, (0, gl.t(np.arange(4.0))))
    check_same(t_out, g_out, device)
    assert g_out[0] == 2


def test_while_loop_nested_and_list_carries(device):
    tl, gl = both(device)
    check_same(torch.while_loop(_dict_cond, _dict_body, ({"i": tl.t(0), "a": tl.t([1.0, 2.0])},)),
               gpuarr.while_loop(_dict_cond, _dict_body,
                                 ({"i": gl.t(0), "a": gl.t([1.0, 2.0])},)), device)
    check_same(torch.while_loop(_lt3, _double, [tl.t(0), tl.t([1.0])]),
               gpuarr.while_loop(_lt3, _double, [gl.t(0), gl.t([1.0])]), device)
    check_same(torch.while_loop(lambda i: i < 3, lambda i: [i + 1], (tl.t(0),)),
               gpuarr.while_loop(lambda i: i < 3, lambda i: [i + 1], (gl.t(0),)), device)


def test_while_loop_that_never_runs_returns_copies(device):
    tl, gl = both(device)
    for lib in (tl, gl):
        x = lib.t(np.arange(3.0))
        out = lib.mod.while_loop(lambda i, a: i < 0, _double, (lib.t(0), x))
        assert isinstance(out, tuple) and out[1] is not x
        np.testing.assert_allclose(to_np(out[1]), [0.0, 1.0, 2.0])
        ints = lib.mod.while_loop(lambda i, a: i < 0, _double, (0, x))
        assert ints[0] == 0
        none = lib.mod.while_loop(lambda i, a: None, _double, (0, x))
        assert none[0] == 0


def test_while_loop_gradients_match_torch(device):
    tl, gl = both(device)
    grads = []
    for lib in (tl, gl):
        x = lib.t([1.0, -2.0, 0.5], rg=True)
        i, a = lib.mod.while_loop(_lt3, _double, (lib.t(0), x))
        (a * lib.t([1.0, 2.0, 3.0])).sum().backward()
        grads.append(to_np(x.grad))
    np.testing.assert_allclose(grads[1], grads[0])


def test_while_loop_gradcheck(device):
    w = gpuarr.tensor([0.7, -0.3], dtype=gpuarr.float64, device=device, requires_grad=True)
    x0 = gpuarr.tensor([0.5, 1.2], dtype=gpuarr.float64, device=device, requires_grad=True)

    def f(x, ww):
        return gpuarr.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, (a * ww).sin() + a),
                                 (0, x))[1]

    assert gpuarr.autograd.gradcheck(f, (x0, w))


def _while_error_cases():
    x = np.arange(4.0)
    return [
        ("not_callable", lambda L: L.mod.while_loop(3, _double, (L.t(0), L.t(x))),
         "Expect cond_fn and body_fn to be callable.", None),
        ("float_carry", lambda L: L.mod.while_loop(_lt3, _double, (0.5, L.t(x))),
         "can only be of", None),
        ("cond_int_tensor", lambda L: L.mod.while_loop(lambda i: i * 1, lambda i: (i - 1,),
                                                       (L.t(3),)),
         "Expected cond_fn to return a scalar tensor or a bool but got", "Size([])."),
        ("cond_one_element", lambda L: L.mod.while_loop(lambda i: i < 3, lambda i: (i + 1,),
                                                        (L.t([0]),)),
         "Expected cond_fn to return a scalar tensor or a bool but got", "Size([1])."),
        ("cond_int", lambda L: L.mod.while_loop(lambda i, a: 3 - i, _int_body, (0, L.t(x))),
         "cond_fn must return a boolean scalar tensor or a boolean but got 3", None),
        ("cond_returns_carry", lambda L: L.mod.while_loop(lambda b, a: b, lambda b, a: (
            b.logical_not(), a + 1), (L.t(True), L.t(x))),
         "Higher order ops do not support aliasing", None),
        ("shape_change", lambda L: L.mod.while_loop(
            _lt3, lambda i, a: (i + 1, L.mod.cat([a, a])), (L.t(0), L.t(x))),
         "Expected body_fn_output and carried_inputs to have same metadata but found:\n"
         "pair[1] differ in 'shape: ", None),
        ("dtype_change", lambda L: L.mod.while_loop(
            _lt3, lambda i, a: (i + 1, a.double()), (L.t(0), L.t(x, dtype="float32"))),
         "pair[1] differ in 'dtype: ", "float64 vs "),
        ("count_change", lambda L: L.mod.while_loop(_lt3, lambda i, a: (i + 1,),
                                                    (L.t(0), L.t(x))),
         "Expected body_fn_output and carried_inputs to have same number of outputs", None),
        ("type_change", lambda L: L.mod.while_loop(
            _lt3, lambda i, a: (L.mod.tensor(i + 1), a * 2), (0, L.t(x))),
         "pair[0] differ in type: ", None),
        ("stride_change", lambda L: L.mod.while_loop(
            _lt3, lambda i, a: (i + 1, a + 1), (L.t(0), L.t(np.arange(6.0))[::2])),
         "pair[1] differ in 'stride: (1,) vs ", None),
        ("returns_input", lambda L: L.mod.while_loop(_lt3, lambda i, a: (i + 1, a),
                                                     (L.t(0), L.t(x))),
         "Higher order ops do not support aliasing", None),
        ("float_output", lambda L: L.mod.while_loop(_lt3, lambda i, a: (i + 1.5, a + 1),
                                                    (0, L.t(x))),
         "body's output must consist of tensors or ints", None),
        ("mutates_carry", lambda L: L.mod.while_loop(
            _lt3, lambda i, a: (i.add_(1).clone(), a * 2), (L.t(0), L.t(x))),
         "Encountered input mutation during higher order op tracing", None),
    ]


@pytest.mark.parametrize("case", _while_error_cases(), ids=lambda c: c[0])
def test_while_loop_errors_as_torch(device, case):
    _, fn, phrase, tail = case
    tl, gl = both(device)
    same_error(lambda: fn(tl), lambda: fn(gl), phrase)
    if tail is not None:
        with pytest.raises(Exception) as ge:
            fn(gl)
        assert tail in str(ge.value)


def test_while_loop_error_messages_name_no_values(device):
    # the messages describe tensors by their metadata: printing values would read CUDA data
    x = gpuarr.full((3,), 7.25, device=device)
    with pytest.raises(RuntimeError) as e:
        gpuarr.while_loop(_lt3, lambda i, a: (i + 1, a.double()), (gpuarr.tensor(0), x))
    assert "7.25" not in str(e.value) and "size=(3,)" in str(e.value)


# --------------------------------------------------------------------------------------------
# sym_*

SYM_CASES = [
    ("sym_int", (2.7,)), ("sym_int", (-2.7,)), ("sym_int", (3,)), ("sym_int", (True,)),
    ("sym_int", ("3",)), ("sym_int", (float("inf"),)), ("sym_int", (float("nan"),)),
    ("sym_float", (3,)), ("sym_float", (True,)), ("sym_float", (2.5,)), ("sym_float", ("2",)),
    ("sym_max", (2, 3)), ("sym_max", (2, 3.0)), ("sym_max", (2.0, 1)), ("sym_max", (2, 2.0)),
    ("sym_max", (True, 0)), ("sym_max", (np.int64(4), 3)), ("sym_max", (np.float32(1.5), 1)),
    ("sym_max", (1, float("nan"))), ("sym_max", (float("nan"), 1)), ("sym_max", (1, "a")),
    ("sym_min", (2, 3)), ("sym_min", (2, 3.0)), ("sym_min", (2, 2.0)),
    ("sym_min", (float("nan"), 1)), ("sym_min", (None, 1)),
    ("sym_not", (True,)), ("sym_not", (0,)), ("sym_not", ("",)), ("sym_not", ([1],)),
    ("sym_sqrt", (4,)), ("sym_sqrt", (2.0,)), ("sym_sqrt", (-1,)), ("sym_sqrt", ("a",)),
    ("sym_ite", (True, 1, 2)), ("sym_ite", (False, "a", "b")), ("sym_ite", (False, 1, 2.0)),
    ("sym_ite", (1, 1, 2)), ("sym_sum", ([1, 2, 3],)), ("sym_sum", ((1, 2.5),)),
    ("sym_sum", ([],)), ("sym_sum", (1, 2, 3)), ("sym_sum", ((i for i in range(3)),)),
    ("sym_fresh_size", (5,)), ("sym_fresh_size", (5.5,)), ("sym_fresh_size", ([7],)),
]


@pytest.mark.parametrize("name,args", SYM_CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                       enumerate(SYM_CASES)])
def test_sym_helpers_on_python_values_match_torch(name, args):
    try:
        expected = getattr(torch, name)(*args)
    except Exception as e:  # noqa: BLE001 - the reference raises: gpuarr must raise the same
        with pytest.raises(type(e)) as ge:
            getattr(gpuarr, name)(*args)
        assert str(ge.value) == str(e)
        return
    got = getattr(gpuarr, name)(*args)
    assert type(got) is type(expected)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected


def test_sym_helpers_on_tensors(device):
    tl, gl = both(device)
    for name, val in [("sym_int", 2.5), ("sym_float", 2), ("sym_sqrt", 4.0), ("sym_not", True),
                      ("sym_not", 0.0), ("sym_fresh_size", 5)]:
        expected = getattr(torch, name)(tl.t(val))
        got = getattr(gpuarr, name)(gl.t(val))
        assert type(got) is type(expected) and got == expected, name
    assert gpuarr.sym_sum([gl.t(1), gl.t(2)]).item() == torch.sym_sum([tl.t(1), tl.t(2)]).item()
    same_error(lambda: torch.sym_not(tl.t([True, False])),
               lambda: gpuarr.sym_not(gl.t([True, False])),
               "Boolean value of Tensor with more than one value is ambiguous")
    same_error(lambda: torch.sym_max(tl.t(1), 2), lambda: gpuarr.sym_max(gl.t(1), 2),
               "expected (<class 'numpy.integer'>, <class 'numpy.floating'>, <class 'int'>, "
               "<class 'float'>), got <class '")
    same_error(lambda: torch.sym_ite(tl.t(True), 1, 2), lambda: gpuarr.sym_ite(gl.t(True), 1, 2),
               "expected SymBool or bool, got <class '")


@pytest.mark.parametrize("name,args,kwargs", [
    ("sym_constrain_range", (5,), {"min": 0, "max": 10}),
    ("sym_constrain_range", (5.5,), {"min": 0, "max": 10}),
    ("sym_constrain_range", (11,), {"max": 10}),
    ("sym_constrain_range", (-11,), {}),
    ("sym_constrain_range", (5, 0, 10), {}),
    ("sym_constrain_range", ("a",), {}),
    ("sym_constrain_range_for_size", (1,), {"min": 2}),
    ("sym_constrain_range_for_size", (11,), {"max": 10}),
    ("sym_constrain_range_for_size", (0,), {}),
    ("sym_constrain_range_for_size", (-1,), {}),
])
def test_sym_constrain_range_matches_torch(name, args, kwargs):
    try:
        expected = getattr(torch, name)(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the reference raises: gpuarr must raise the same
        with pytest.raises(type(e)) as ge:
            getattr(gpuarr, name)(*args, **kwargs)
        if isinstance(e, RuntimeError):
            assert str(ge.value) == str(e)
        return
    assert getattr(gpuarr, name)(*args, **kwargs) is expected


def test_sym_constrain_range_reads_a_tensor(device):
    gpuarr.sym_constrain_range(gpuarr.tensor(3, device=device), min=0)
    same_error(lambda: torch.sym_constrain_range(torch.tensor(3), min=4),
               lambda: gpuarr.sym_constrain_range(gpuarr.tensor(3, device=device), min=4),
               "Invalid value range for 3 between [4, 9223372036854775807].")


# --------------------------------------------------------------------------------------------
# get_device_module


def test_get_device_module():
    assert gpuarr.get_device_module("cpu") is gpuarr.cpu
    assert gpuarr.get_device_module("cuda") is gpuarr.cuda
    assert gpuarr.get_device_module("cuda:1") is gpuarr.cuda
    assert gpuarr.get_device_module(gpuarr.device("cuda", 0)) is gpuarr.cuda
    assert gpuarr.get_device_module(gpuarr.device("cpu")) is gpuarr.cpu
    # no device: the accelerator's module, else the CPU's (torch's rule)
    assert gpuarr.get_device_module() is (gpuarr.cuda if gpuarr.cuda.is_available()
                                          else gpuarr.cpu)
    assert torch.get_device_module("cuda") is torch.cuda and torch.get_device_module() is torch.cpu


def test_get_device_module_errors():
    same_error(lambda: torch.get_device_module(0), lambda: gpuarr.get_device_module(0),
               "Invalid value of device '0', expect ")
    same_error(lambda: torch.get_device_module("foo"), lambda: gpuarr.get_device_module("foo"),
               "device type at start of device string: foo")


# --------------------------------------------------------------------------------------------
# empty_permuted

PERMUTED = [((2, 3, 4, 5), (0, 2, 3, 1)), ([2, 3, 4], [2, 1, 0]), ((2, 3), (0, 1)), ((), ()),
            ((1, 3, 1), (2, 0, 1)), ((2, 0, 3), (1, 2, 0)), ((5,), (0,))]


@pytest.mark.parametrize("size,perm", PERMUTED, ids=[str(p[0]) for p in PERMUTED])
def test_empty_permuted_strides_match_torch(device, size, perm):
    t = torch.empty_permuted(size, perm)
    g = gpuarr.empty_permuted(size, perm, device=device)
    assert tuple(g.shape) == tuple(t.shape) and g.stride() == t.stride()
    assert g.is_contiguous() == t.is_contiguous()
    assert g.device.type == gpuarr.device(device).type and g.dtype is gpuarr.float32
    g.fill_(1.5)  # dense: every element is writable and readable
    assert float(g.sum()) == 1.5 * g.numel()


def test_empty_permuted_options(device):
    t = torch.empty_permuted(torch.Size([2, 3]), (1, 0), dtype=torch.float64, requires_grad=True,
                             layout=torch.strided)
    g = gpuarr.empty_permuted(gpuarr.Size([2, 3]), (1, 0), dtype=gpuarr.float64,
                              requires_grad=True, layout=gpuarr.strided, device=device)
    assert g.stride() == t.stride() and g.requires_grad and g.is_leaf and g.dtype is gpuarr.float64
    assert gpuarr.empty_permuted((2, 3), (1, 0), dtype=gpuarr.int32, device=device).dtype is \
        gpuarr.int32


@pytest.mark.parametrize("args,kwargs", [
    (((2, 3), (0,)), {}), (((2, 3), (0, 0)), {}), (((2, 3), (0, 2)), {}),
    (((2, 3), (-1, 0)), {}), (((2, -3), (1, 0)), {}), ((3, (0,)), {}),
    (((2.0, 3), (1, 0)), {}), (((2, 3), (1, 0), "float64"), {}),
])
def test_empty_permuted_errors_match_torch(args, kwargs):
    with pytest.raises(Exception) as te:
        torch.empty_permuted(*args, **kwargs)
    with pytest.raises(type(te.value)) as ge:
        gpuarr.empty_permuted(*args, **kwargs)
    assert str(ge.value) == str(te.value)


def test_empty_permuted_layout_must_be_a_tuple_of_ints():
    same_error(lambda: torch.empty_permuted((2, 3), torch.tensor([1, 0])),
               lambda: gpuarr.empty_permuted((2, 3), gpuarr.tensor([1, 0])),
               "empty_permuted(): argument 'physical_layout' (position 2) must be tuple of ints, "
               "not Tensor")


# --------------------------------------------------------------------------------------------
# legacy autocast setters


def _as_gpuarr_text(msg: str) -> str:
    return re.sub(r"\btorch\.", "gpuarr.", msg.split(" (Triggered internally")[0])


@pytest.mark.parametrize("setter,device_type,value,getter", [
    ("set_autocast_cpu_enabled", "cpu", True, "is_autocast_enabled"),
    ("set_autocast_cpu_dtype", "cpu", "float16", "get_autocast_dtype"),
    ("set_autocast_gpu_dtype", "cuda", "bfloat16", "get_autocast_dtype"),
])
def test_legacy_autocast_setters_as_torch(setter, device_type, value, getter):
    messages = []
    for mod in (torch, gpuarr):
        arg = value if isinstance(value, bool) else getattr(mod, value)
        before = getattr(mod, getter)(device_type)
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                getattr(mod, setter)(arg)
            assert getattr(mod, getter)(device_type) == arg
        finally:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(mod, setter)(before)
        assert getattr(mod, getter)(device_type) == before
        dep = [x for x in w if x.category is DeprecationWarning]
        assert len(dep) == 1
        messages.append(_as_gpuarr_text(str(dep[0].message)))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("setter,bad", [
    ("set_autocast_cpu_enabled", 1), ("set_autocast_cpu_enabled", "a"),
    ("set_autocast_cpu_dtype", "float16"), ("set_autocast_gpu_dtype", 3),
])
def test_legacy_autocast_setters_check_their_argument(setter, bad):
    with pytest.raises(TypeError) as te:
        getattr(torch, setter)(bad)
    with pytest.raises(TypeError) as ge:
        getattr(gpuarr, setter)(bad)
    assert str(ge.value) == _as_gpuarr_text(str(te.value))


def test_names_exist_in_both():
    names = ["cond", "while_loop", "sym_int", "sym_float", "sym_max", "sym_min", "sym_not",
             "sym_sqrt", "sym_ite", "sym_sum", "sym_fresh_size", "sym_constrain_range",
             "sym_constrain_range_for_size", "get_device_module", "empty_permuted",
             "set_autocast_cpu_enabled", "set_autocast_cpu_dtype", "set_autocast_gpu_dtype"]
    for n in names:
        assert callable(getattr(torch, n)) and callable(getattr(gpuarr, n)), n
