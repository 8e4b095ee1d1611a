"""``out=`` on every public function whose torch counterpart takes it, differential vs torch.

The covered names come from ``gpuarr.ops._out`` (TOP_LEVEL, LINALG, CREATION) and from the
derivative table (``elementwise.UNARY_TABLE``, whose ops are sampled on ``X`` automatically);
each other name needs a sample call below, so adding a name adds its tests. For each sample: a
right-shaped ``out`` is written in place and returned, a wrong-shaped one is resized with
torch's warning, an out of another dtype is accepted or refused as torch does, tuple outs work,
and inputs requiring grad raise torch's autograd error.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr.ops import _out
from gpuarr.ops.elementwise import UNARY_TABLE

# torch's own deprecation notes for chain_matmul, ger and range are beside the point here
pytestmark = pytest.mark.filterwarnings(r"ignore:torch\.\w+ is deprecated:UserWarning")

_RNG = np.random.default_rng(7)
X = _RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
Y = _RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
Z = _RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
V4 = _RNG.uniform(0.1, 0.9, 4).astype(np.float32)
V3 = _RNG.uniform(0.1, 0.9, 3).astype(np.float32)
M43 = _RNG.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
M33 = _RNG.uniform(0.1, 0.9, (3, 3)).astype(np.float32)
SQ = (_RNG.uniform(-1, 1, (3, 3)) + 3 * np.eye(3)).astype(np.float32)
SPD = (SQ @ SQ.T + np.eye(3)).astype(np.float32)
B234 = _RNG.uniform(0.1, 0.9, (2, 3, 4)).astype(np.float32)
B243 = _RNG.uniform(0.1, 0.9, (2, 4, 3)).astype(np.float32)
B233 = _RNG.uniform(0.1, 0.9, (2, 3, 3)).astype(np.float32)
I1 = _RNG.integers(0, 10, (3, 4)).astype(np.int64)
I2 = _RNG.integers(1, 10, (3, 4)).astype(np.int64)
MASK = X > 0.5
IDX = np.array([[0, 1, 2, 0], [2, 0, 1, 1]], dtype=np.int64)  # row indices (dim 0), 2x4
ROWS = np.array([2, 0], dtype=np.int64)
COLS = np.array([[3, 0], [1, 1], [2, 0]], dtype=np.int64)  # for take_along_dim on dim 1
FLAT = np.array([0, 5, 11], dtype=np.int64)
XNAN = np.array([[0.5, np.nan], [np.inf, -np.inf]], dtype=np.float32)
PROBS = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)


@dataclass
class Case:
    """One sample call of a covered function: positional/keyword arguments with NumPy arrays
    standing for tensors (lists of arrays for tensor lists)."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    random: bool = False  # values depend on the RNG: compare with gpuarr's own seeded call
    torch_cmp: tuple | None = None  # compare only these tuple members with torch (sign-free)

    def __repr__(self) -> str:
        return self.name


def C(name, *args, random=False, torch_cmp=None, **kwargs) -> Case:
    return Case(name, args, kwargs, random=random, torch_cmp=torch_cmp)


_UNARY = [
    "abs", "absolute", "ceil", "digamma", "erf", "erfinv", "floor", "frac", "lgamma", "neg",
    "negative", "round", "rsqrt", "sigmoid", "sign", "square", "trunc", "msort",
    *UNARY_TABLE,
]
_BINARY = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "remainder",
    "fmod", "pow", "maximum", "minimum", "atan2", "copysign", "xlogy", "eq", "ne", "lt", "le",
    "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal", "logical_and",
    "logical_or", "logical_xor", "floor_divide",
]

CASES: list[Case] = (
    [C(n, X) for n in _UNARY]
    + [C(n, X, Y) for n in _BINARY]
    + [
        C("add", X, Y, alpha=2, ),
        C("bitwise_and", I1, I2), C("bitwise_or", I1, I2), C("bitwise_xor", I1, I2),
        C("bitwise_not", I1), C("logical_not", X),
        C("clamp", X, 0.3, 0.7), C("clip", X, 0.3, 0.7), C("nan_to_num", XNAN),
        C("lerp", X, Y, 0.3), C("where", MASK, X, Y), C("addcmul", X, Y, Z, value=0.5),
        C("addcdiv", X, Y, Z), C("polygamma", 1, X),
        C("all", MASK, 1), C("any", MASK, 1), C("amax", X, 1), C("amin", X, 0),
        C("aminmax", X, dim=1), C("argmax", X, 1), C("argmin", X, 0),
        C("argsort", X, dim=1, stable=True), C("cummax", X, 1), C("cummin", X, 0),
        C("cumprod", X, 1), C("cumsum", X, 0), C("histc", X, bins=5, min=0, max=1),
        C("kthvalue", X, 2, 1), C("log_softmax", X, 1), C("logsumexp", X, 1),
        C("max", X, 1), C("max", X), C("max", X, Y), C("mean", X, 1), C("median", X, 1),
        C("min", X, 0), C("min", X), C("nanmean", XNAN, 1), C("nanmedian", X, 1),
        C("nansum", X, 1), C("norm", X), C("prod", X, 1), C("softmax", X, 1), C("sort", X, 1),
        C("std", X, 1), C("sum", X, 1), C("sum", X, (0, 1), keepdim=True), C("topk", X, 2),
        C("var", X, 0),
        C("addmm", M33, X, M43), C("addmv", V3, X, V4), C("baddbmm", B233, B234, B243),
        C("bmm", B234, B243), C("chain_matmul", X, M43, M33), C("dot", V4, V4), C("ger", V3, V4),
        C("inner", X, Y), C("inverse", SQ), C("kron", V3, M33), C("matmul", X, M43),
        C("matmul", B234, V4), C("mm", X, M43), C("mv", X, V4), C("outer", V3, V4),
        C("slogdet", SQ), C("tensordot", X, M43, 1), C("vdot", V4, V4),
        C("cat", [X, Y]), C("cat", [X, Y], 1), C("concat", [X, Y]), C("concatenate", [X, Y], 1),
        C("column_stack", [V3, V3]), C("diag", V3), C("diag", X, 1), C("diff", X),
        C("dstack", [X, Y]), C("gather", X, 0, IDX), C("hstack", [X, Y]),
        C("index_add", X, 0, ROWS, X[:2]), C("index_copy", X, 0, ROWS, Y[:2]),
        C("index_select", X, 1, ROWS), C("masked_select", X, MASK), C("nonzero", MASK),
        C("row_stack", [X, Y]), C("scatter", X, 0, IDX, Y[:2]),
        C("scatter_add", X, 0, IDX, Y[:2]), C("scatter_reduce", X, 0, IDX, Y[:2], "amax"),
        C("stack", [X, Y]), C("stack", [X, Y], 2), C("take", X, FLAT),
        C("take_along_dim", X, COLS, 1), C("tril", X), C("triu", X, 1), C("vstack", [X, Y]),
        C("bernoulli", X, random=True), C("multinomial", PROBS, 2, random=True),
        C("normal", X, Y, random=True),
        C("linalg.cholesky", SPD), C("linalg.cross", X[:, :3], Y[:, :3]), C("linalg.det", SQ),
        C("linalg.eigh", SPD, torch_cmp=(0,)), C("linalg.eigvalsh", SPD), C("linalg.inv", SQ),
        C("linalg.matmul", X, M43), C("linalg.matrix_norm", X), C("linalg.multi_dot", [X, M43]),
        C("linalg.norm", X), C("linalg.slogdet", SQ), C("linalg.solve", SQ, X),
        C("linalg.svd", X, full_matrices=False, torch_cmp=(1,)), C("linalg.svdvals", X),
        C("linalg.vecdot", X, Y), C("linalg.vector_norm", X, 3, 1),
    ]
)
CASE_IDS = [f"{c.name}-{i}" for i, c in enumerate(CASES)]

CREATION_CASES: list[Case] = [
    C("zeros", 2, 3), C("ones", (2, 3)), C("empty", 2, 3), C("full", (2, 3), 2.0),
    C("arange", 5), C("arange", 1, 7, 2), C("range", 0, 4), C("linspace", 0, 1, 5),
    C("logspace", 0, 2, 3), C("eye", 3), C("eye", 2, 3), C("rand", 2, 3, random=True),
    C("randn", (2, 3), random=True), C("randint", 0, 5, (2, 3), random=True),
    C("randperm", 6, random=True),
]
CREATION_IDS = [f"{c.name}-{i}" for i, c in enumerate(CREATION_CASES)]


def _fn(mod, name: str):
    for part in name.split("."):
        mod = getattr(mod, part)
    return mod


def _conv(mod, v, device, rg: bool = False):
    if isinstance(v, np.ndarray):
        if mod is torch:
            t = torch.tensor(v)
        else:
            t = gpuarr.tensor(v, device=device)
        if rg and v.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    if isinstance(v, list):
        return [_conv(mod, a, device, rg) for a in v]
    return v


def _call(mod, case: Case, device, rg: bool = False, **extra):
    args = [_conv(mod, a, device, rg) for a in case.args]
    kwargs = {k: _conv(mod, v, device, rg) for k, v in case.kwargs.items()}
    return _fn(mod, case.name)(*args, **kwargs, **extra)


def _parts(r) -> list:
    return list(r) if isinstance(r, (tuple, list)) else [r]


def _empty_like(mod, ref, device, dtype=None, shape=None):
    """An out tensor for ``ref`` (gpuarr or torch), optionally of another dtype or shape."""
    dt = ref.dtype if dtype is None else dtype
    shp = tuple(ref.shape) if shape is None else shape
    if mod is torch:
        return torch.empty(shp, dtype=getattr(torch, str(dt).split(".")[-1]))
    return gpuarr.empty(shp, dtype=getattr(gpuarr, str(dt).split(".")[-1]), device=device)


def _outs(mod, ref, device, dtypes=None, shape=None):
    parts = _parts(ref)
    dtypes = dtypes or [None] * len(parts)
    made = [_empty_like(mod, r, device, d, shape) for r, d in zip(parts, dtypes)]
    return tuple(made) if isinstance(ref, tuple) else made[0]


def _dname(t) -> str:
    return str(t.dtype).split(".")[-1]


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _assert_same(got, want, rtol=1e-5, atol=1e-6):
    for g, w in zip(_parts(got), _parts(want)):
        assert tuple(g.shape) == tuple(w.shape)
        gn, wn = _np(g), _np(w)
        if gn.dtype.kind in "biu":
            np.testing.assert_array_equal(gn, wn.astype(gn.dtype))
        else:
            np.testing.assert_allclose(gn.astype(np.float64), wn.astype(np.float64), rtol=rtol,
                                       atol=atol, equal_nan=True)


def _seeded(fn, case: Case):
    if case.random:
        gpuarr.manual_seed(123)
    return fn()


def _versions(out) -> list:
    return [o._version_value() for o in _parts(out)]


# ---------------------------------------------------------------------------------------------


def test_every_covered_name_has_a_sample():
    covered = set(_out.TOP_LEVEL) | set(UNARY_TABLE) | {"linalg." + n for n in _out.LINALG}
    assert covered == {c.name for c in CASES}
    assert set(_out.CREATION) == {c.name for c in CREATION_CASES}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_out_written_in_place(case, device):
    ref = _seeded(lambda: _call(gpuarr, case, device), case)
    out = _outs(gpuarr, ref, device)
    before = _versions(out)
    got = _seeded(lambda: _call(gpuarr, case, device, out=out), case)
    if isinstance(ref, tuple):
        assert type(got) is type(ref)
        assert all(g is o for g, o in zip(got, out))
    else:
        assert got is out
    assert all(a > b for a, b in zip(_versions(out), before))
    _assert_same(out, ref, rtol=0, atol=0)
    # torch fills its out the same way
    t_ref = _call(torch, case, "cpu")
    t_out = _outs(torch, t_ref, "cpu")
    t_got = _call(torch, case, "cpu", out=t_out)
    assert (t_got is t_out) if not isinstance(t_ref, tuple) else all(
        a is b for a, b in zip(t_got, t_out))
    if case.random:
        for g, t in zip(_parts(out), _parts(t_out)):
            assert tuple(g.shape) == tuple(t.shape) and _dname(g) == _dname(t)
        return
    keep = case.torch_cmp or range(len(_parts(out)))
    _assert_same([_parts(out)[k] for k in keep], [_parts(t_out)[k] for k in keep],
                 rtol=2e-4, atol=2e-5)


def _resize_warnings(fn) -> tuple:
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        res = fn()
    return res, sorted({w.category.__name__ for w in ws if "resized" in str(w.message)})


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("numel", [5, 0])
def test_out_of_another_shape_is_resized(case, device, numel):
    ref = _seeded(lambda: _call(gpuarr, case, device), case)
    out = _outs(gpuarr, ref, device, shape=(numel,))
    got, g_warn = _resize_warnings(lambda: _seeded(
        lambda: _call(gpuarr, case, device, out=out), case))
    assert all(g is o for g, o in zip(_parts(got), _parts(out)))
    _assert_same(out, ref, rtol=0, atol=0)
    t_ref = _call(torch, case, "cpu")
    t_out = _outs(torch, t_ref, "cpu", shape=(numel,))
    _, t_warn = _resize_warnings(lambda: _call(torch, case, "cpu", out=t_out))
    assert g_warn == t_warn
    if numel == 0:  # an empty out is resized silently
        assert not g_warn


def _outcome(fn):
    try:
        return fn(), None
    except Exception as e:  # the error kind is what the test compares
        return None, e


_DTYPES = ["float64", "float16", "int64", "int32", "bool"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", _DTYPES)
def test_out_dtype_accepted_or_refused_as_torch(case, device, dtype):
    ref = _seeded(lambda: _call(gpuarr, case, device), case)
    t_ref = _call(torch, case, "cpu")
    n = len(_parts(ref))
    for k in range(n):  # another dtype for one member of the out at a time
        dts = [None] * n
        dts[k] = dtype
        out = _outs(gpuarr, ref, device, dtypes=dts)
        t_out = _outs(torch, t_ref, "cpu", dtypes=dts)
        _, t_err = _outcome(lambda o=t_out: _call(torch, case, "cpu", out=o))
        got, g_err = _outcome(lambda o=out: _seeded(lambda: _call(gpuarr, case, device, out=o),
                                                    case))
        if t_err is not None:
            assert g_err is not None, f"torch raised {t_err!r}, gpuarr did not"
            assert type(g_err) is type(t_err), (g_err, t_err)
            continue
        assert g_err is None, f"torch accepted out dtype {dtype}, gpuarr raised {g_err!r}"
        assert [_dname(o) for o in _parts(out)] == [_dname(o) for o in _parts(t_out)]
        if case.random:  # the same draw as without out=, cast
            _assert_same(out, [r.to(o.dtype) for r, o in zip(_parts(ref), _parts(out))],
                         rtol=0, atol=0)
            continue
        tol = 2e-3 if dtype == "float16" else 2e-5
        keep = case.torch_cmp or range(n)
        _assert_same([_parts(out)[i] for i in keep], [_parts(t_out)[i] for i in keep],
                     rtol=tol, atol=tol)


def _has_float_input(case: Case) -> bool:
    def f(v):
        return (isinstance(v, np.ndarray) and v.dtype.kind == "f") or (
            isinstance(v, list) and any(f(a) for a in v))
    return any(f(a) for a in case.args) or any(f(v) for v in case.kwargs.values())


RG_CASES = [c for c in CASES if _has_float_input(c)]


@pytest.mark.parametrize("case", RG_CASES, ids=[c.name for c in RG_CASES])
def test_out_with_inputs_requiring_grad(case, device):
    t_ref = _call(torch, case, "cpu")
    ref = _seeded(lambda: _call(gpuarr, case, device), case)
    t_out, out = _outs(torch, t_ref, "cpu"), _outs(gpuarr, ref, device)
    _, t_err = _outcome(lambda: _call(torch, case, "cpu", rg=True, out=t_out))
    _, g_err = _outcome(lambda: _call(gpuarr, case, device, rg=True, out=out))
    if t_err is None:
        assert g_err is None, g_err
        assert not any(o.requires_grad for o in _parts(out))
        return
    assert type(g_err) is type(t_err) and str(g_err) == str(t_err)
    with gpuarr.no_grad():  # without grad mode the same call is fine
        _seeded(lambda: _call(gpuarr, case, device, rg=True, out=out), case)
    _assert_same(out, ref, rtol=0, atol=0)


def test_out_requiring_grad_is_refused(device):
    x = gpuarr.tensor(X, device=device)
    out = gpuarr.empty(3, 4, device=device, requires_grad=True)
    with pytest.raises(RuntimeError) as g:
        gpuarr.exp(x, out=out)
    with pytest.raises(RuntimeError) as t:
        torch.exp(torch.tensor(X), out=torch.empty(3, 4, requires_grad=True))
    assert str(g.value) == str(t.value)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_out_of_the_wrong_kind(case, device):
    ref = _seeded(lambda: _call(gpuarr, case, device), case)
    t_ref = _call(torch, case, "cpu")
    if isinstance(ref, tuple):
        bad = [_parts(_outs(gpuarr, ref, device))[0], _outs(gpuarr, ref, device)[:1]]
        t_bad = [_parts(_outs(torch, t_ref, "cpu"))[0], _outs(torch, t_ref, "cpu")[:1]]
    else:
        bad = [(_outs(gpuarr, ref, device),), "out"]
        t_bad = [(_outs(torch, t_ref, "cpu"),), "out"]
    for b, tb in zip(bad, t_bad):
        with pytest.raises(TypeError):
            _call(torch, case, "cpu", out=tb)
        with pytest.raises(TypeError):
            _call(gpuarr, case, device, out=b)


def test_tuple_out_may_be_a_list(device):
    x = gpuarr.tensor(X, device=device)
    out = [gpuarr.empty(0, device=device), gpuarr.empty(0, dtype=gpuarr.int64, device=device)]
    r = gpuarr.sort(x, 1, out=out)
    t = torch.sort(torch.tensor(X), 1, out=[torch.empty(0), torch.empty(0, dtype=torch.int64)])
    assert r.values is out[0] and r.indices is out[1] and type(r).__name__ == "sort"
    _assert_same(list(r), list(t), rtol=0, atol=0)


def test_out_on_another_device(device):
    if device == "cpu":
        pytest.skip("needs a second device type")
    x = gpuarr.tensor(X, device=device)
    with pytest.raises(RuntimeError, match="same device"):
        gpuarr.exp(x, out=gpuarr.empty(3, 4))
    with pytest.raises(RuntimeError, match="same device"):
        gpuarr.add(x, 1, out=gpuarr.empty(3, 4))
    with pytest.raises(RuntimeError, match="same device"):
        gpuarr.sort(x, out=(gpuarr.empty(3, 4), gpuarr.empty(3, 4, dtype=gpuarr.int64)))
    o = gpuarr.empty(3, device=device)
    assert gpuarr.zeros(3, out=o).device == o.device  # factories take out's device


def test_out_may_alias_an_input(device):
    x = gpuarr.tensor(X, device=device)
    assert gpuarr.exp(x, out=x) is x
    np.testing.assert_allclose(_np(x), np.exp(X), rtol=1e-6)
    y = gpuarr.tensor(SQ, device=device)
    assert gpuarr.matmul(y, y.t(), out=y) is y
    np.testing.assert_allclose(_np(y), SQ @ SQ.T, rtol=1e-5)


def test_out_into_a_view_writes_through(device):
    base = gpuarr.zeros(2, 3, 4, device=device)
    gpuarr.exp(gpuarr.tensor(X, device=device), out=base[1])
    np.testing.assert_allclose(_np(base[1]), np.exp(X), rtol=1e-6)
    assert not _np(base[0]).any()


def test_out_into_an_expanded_view_is_refused_as_torch(device):
    with pytest.raises(RuntimeError) as g:
        gpuarr.exp(gpuarr.ones(2, 3, device=device),
                   out=gpuarr.zeros(3, device=device).expand(2, 3))
    with pytest.raises(RuntimeError) as t:
        torch.exp(torch.ones(2, 3), out=torch.zeros(3).expand(2, 3))
    assert str(g.value) == str(t.value)


# ---- creation functions ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CREATION_CASES, ids=CREATION_IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_creation_out_takes_its_dtype(case, device, dtype):
    out = gpuarr.empty(0, dtype=getattr(gpuarr, dtype), device=device)
    t_out = torch.empty(0, dtype=getattr(torch, dtype))
    (t_got, t_err), t_warn = _outcome_warn(
        lambda: _outcome(lambda: _call(torch, case, "cpu", out=t_out)))
    (got, g_err), g_warn = _outcome_warn(
        lambda: _outcome(lambda: _seeded(lambda: _call(gpuarr, case, device, out=out), case)))
    assert g_warn == t_warn == []  # an empty out is resized silently
    if t_err is not None:
        assert g_err is not None and type(g_err) is type(t_err), (g_err, t_err)
        return
    assert g_err is None, g_err
    assert got is out and out.dtype is getattr(gpuarr, dtype) and out.device.type == device
    assert tuple(out.shape) == tuple(t_out.shape)
    if case.name == "empty":
        return
    if case.random:  # the same draw as without out=, in out's dtype
        want = _seeded(lambda: _fn(gpuarr, case.name)(*case.args, **case.kwargs,
                                                       dtype=out.dtype, device=device), case)
        _assert_same(out, want, rtol=0, atol=0)
    else:
        _assert_same(out, t_out, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", CREATION_CASES, ids=CREATION_IDS)
def test_creation_out_resized_as_torch(case, device):
    out = gpuarr.ones(7, device=device)
    got, g_warn = _outcome_warn(lambda: _seeded(
        lambda: _call(gpuarr, case, device, out=out), case))
    t_out = torch.ones(7)
    t_got, t_warn = _outcome_warn(lambda: _call(torch, case, "cpu", out=t_out))
    assert got is out and tuple(out.shape) == tuple(t_out.shape)
    assert g_warn == t_warn
    if case.name == "arange":
        assert g_warn == ["UserWarning"]


def _outcome_warn(fn):
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        res = fn()
    return res, sorted({w.category.__name__ for w in ws if "out" in str(w.message)})


def test_creation_out_checks_dtype_and_keeps_requires_grad(device):
    with pytest.raises(RuntimeError) as g:
        gpuarr.zeros(3, dtype=gpuarr.float64, out=gpuarr.empty(3, dtype=gpuarr.int64,
                                                                 device=device))
    with pytest.raises(RuntimeError) as t:
        torch.zeros(3, dtype=torch.float64, out=torch.empty(3, dtype=torch.int64))
    assert str(g.value) == str(t.value)
    o = gpuarr.empty(3, device=device)
    assert gpuarr.ones(3, out=o, requires_grad=True) is o and o.requires_grad
    assert torch.ones(3, out=torch.empty(3), requires_grad=True).requires_grad


def test_zeros_ones_empty_no_longer_ignore_out(device):
    o = gpuarr.full((2, 2), 5.0, device=device)
    assert gpuarr.zeros(2, 2, out=o) is o and not _np(o).any()
    assert gpuarr.ones([2, 3], out=o) is o and tuple(o.shape) == (2, 3) and _np(o).all()
    assert gpuarr.empty(4, out=o) is o and tuple(o.shape) == (4,)


# ---- the wrapper itself ---------------------------------------------------------------------


def test_wrappers_keep_signature_and_docs():
    sig = inspect.signature(gpuarr.exp)
    assert list(sig.parameters) == ["input", "out"]
    assert sig.parameters["out"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "out" in inspect.signature(gpuarr.linalg.svd).parameters
    assert "out" in inspect.signature(gpuarr.zeros).parameters
    # exp declares out itself (the derivative table); erf is wrapped by _out.install
    assert gpuarr.exp is gpuarr.ops.elementwise.exp
    assert list(inspect.signature(gpuarr.erf).parameters) == ["input", "out"]
    assert gpuarr.erf.__wrapped__ is gpuarr.ops.special.erf
    assert gpuarr.erf.__doc__.startswith(gpuarr.ops.special.erf.__doc__.rstrip())
    # keyword arguments and varargs pass through unchanged
    x = gpuarr.tensor(X)
    np.testing.assert_allclose(_np(gpuarr.sum(x, dim=1, keepdim=True)), X.sum(1, keepdims=True),
                               rtol=1e-6)
    assert gpuarr.zeros(2, 3).shape == (2, 3)


def test_functions_torch_gives_no_out_refuse_it(device):
    x = gpuarr.tensor(X, device=device)
    for name in ["relu", "clone", "isnan", "zeros_like", "flatten"]:
        with pytest.raises(TypeError):
            getattr(torch, name)(torch.tensor(X), out=torch.empty(3, 4))
        with pytest.raises(TypeError):
            getattr(gpuarr, name)(x, out=gpuarr.empty(3, 4, device=device))


def test_tensor_methods_take_no_out(device):
    x = gpuarr.tensor(X, device=device)
    for name in ["exp", "sum", "matmul", "sort"]:
        args = (x.t(),) if name == "matmul" else ()
        with pytest.raises(TypeError):
            getattr(x, name)(*args, out=gpuarr.empty(3, 4, device=device))
