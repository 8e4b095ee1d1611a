"""Fused CUDA elementwise kernels (``gpuarr._compile.fuse_cuda``): one CuPy ElementwiseKernel
for a chain of ufunc calls.

- every generated kernel of :func:`nvrtc_specs` (GELU, Adam, ReLU with a dropout mask, mixed
  dtypes, and one kernel per dtype using every fusable ufunc) compiles with the real NVRTC for
  sm_90 and sm_80, in one subprocess running ``tests/cuda_compile.py`` without the CuPy
  stand-in (skipped when the real CuPy/NVRTC is missing, failed then under
  GPUARR_REQUIRE_NVRTC=1);
- the numerics tests (``cuda`` in their names, so ``pytest -k cuda`` with the stand-in on
  PYTHONPATH runs them; on a GPU they run on it) compare the fused kernel with the unfused
  NumPy ufunc chain: dtypes exactly, float32 to 1e-6 relative, bools and integers exactly, NaN
  where NumPy has NaN; with broadcast, 0-d and size-0 inputs and in-place outputs;
- kernels are cached by (ops, in_dtypes, outputs), with constants compared by type and value.
"""

from __future__ import annotations

import re
from pathlib import Path

import cuda_compile as cc
import numpy as np
import pytest
from real_cupy_scripts import compile_sets

from gpuarr._compile.fuse_cuda import (
    SUPPORTED,
    FusedKernel,
    FusedOp,
    clear_cache,
    make_fused_kernel,
    supported,
)

THIS = Path(__file__).resolve()

F16, F32, F64, BOOL = (np.dtype(t) for t in ("float16", "float32", "float64", "bool"))
INTS = tuple(np.dtype(t) for t in ("int8", "uint8", "int16", "uint16", "int32", "uint32",
                                   "int64", "uint64"))
FLOATS = (F16, F32, F64)
ALL_DTYPES = FLOATS + INTS + (BOOL,)


# ---- the NumPy reference ------------------------------------------------------------------------


def _erf(x, dtype):
    import scipy.special

    return scipy.special.erf(np.asarray(x).astype(dtype)).astype(dtype)


def numpy_op(ufunc, args, dtype=None):
    """What NumPy computes for one op (``dtype`` only says erf's result dtype)."""
    with np.errstate(all="ignore"):
        if ufunc == "where":
            return np.where(*args)
        if ufunc == "erf":
            return _erf(args[0], dtype)
        return getattr(np, ufunc)(*args)


def numpy_chain(ops, inputs):
    """Every op's value, evaluated op by op with NumPy (constants as Python scalars)."""
    vals = []
    for j, op in enumerate(ops):
        args = [inputs[x] if k == "in" else vals[x] if k == "v" else x for k, x in op.args]
        r = numpy_op(op.ufunc, args, op.dtype)
        assert np.result_type(r) == op.dtype, (j, op, np.result_type(r))
        vals.append(r)
    return vals


def chain(steps, in_dtypes):
    """FusedOps for ``steps`` ((ufunc, args) or (ufunc, args, dtype)), their dtypes as NumPy
    gives them on sample inputs of ``in_dtypes``."""
    samples = [np.ones(2, d) for d in in_dtypes]
    ops, vals = [], []
    for s in steps:
        u, args = s[0], s[1]
        a = [samples[x] if k == "in" else vals[x] if k == "v" else x for k, x in args]
        r = numpy_op(u, a, s[2] if len(s) > 2 else None)
        ops.append(FusedOp(u, tuple(args), np.result_type(r)))
        vals.append(r)
    return tuple(ops)


# ---- representative chains ----------------------------------------------------------------------


def gelu_chain(dt):
    """0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x**3)))"""
    x = ("in", 0)
    return chain([("power", (x, ("c", 3))), ("multiply", (("c", 0.044715), ("v", 0))),
                  ("add", (x, ("v", 1))), ("multiply", (("c", 0.7978845608), ("v", 2))),
                  ("tanh", (("v", 3),)), ("add", (("c", 1), ("v", 4))),
                  ("multiply", (("c", 0.5), x)), ("multiply", (("v", 6), ("v", 5)))],
                 (dt,)), (dt,), (7,)


ADAM = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, bc1=1 - 0.9 ** 3, bc2=1 - 0.999 ** 3)


def adam_chain(dt):
    """Adam's update of (param, grad, m, v): outputs (param, m, v)."""
    h = ADAM
    p, g, m, v = (("in", k) for k in range(4))
    steps = [
        ("multiply", (("c", h["beta1"]), m)),                  # 0
        ("multiply", (("c", 1 - h["beta1"]), g)),              # 1
        ("add", (("v", 0), ("v", 1))),                         # 2  m'
        ("multiply", (("c", h["beta2"]), v)),                  # 3
        ("multiply", (g, g)),                                  # 4
        ("multiply", (("c", 1 - h["beta2"]), ("v", 4))),       # 5
        ("add", (("v", 3), ("v", 5))),                         # 6  v'
        ("true_divide", (("v", 6), ("c", h["bc2"]))),          # 7
        ("sqrt", (("v", 7),)),                                 # 8
        ("add", (("v", 8), ("c", h["eps"]))),                  # 9
        ("true_divide", (("v", 2), ("v", 9))),                 # 10
        ("multiply", (("c", h["lr"] / h["bc1"]), ("v", 10))),  # 11
        ("subtract", (p, ("v", 11))),                          # 12 p'
    ]
    return chain(steps, (dt,) * 4), (dt,) * 4, (12, 2, 6)


def relu_mask_chain(dt):
    """where((x + b > 0) & keep, x + b, 0.0) / 0.9, and the combined mask (bool)."""
    steps = [("add", (("in", 0), ("in", 1))), ("greater", (("v", 0), ("c", 0))),
             ("logical_and", (("v", 1), ("in", 2))), ("where", (("v", 2), ("v", 0), ("c", 0.0))),
             ("multiply", (("v", 3), ("c", 1 / 0.9)))]
    return chain(steps, (dt, dt, BOOL)), (dt, dt, BOOL), (4, 2)


MIXED_IN = (F16, F32, np.dtype("int32"), BOOL, F64)


def mixed_chain():
    """float16, float32, int32, bool and float64 inputs meeting in one kernel."""
    steps = [
        ("multiply", (("in", 0), ("in", 1))),           # 0 f16*f32 -> f32
        ("add", (("v", 0), ("in", 2))),                 # 1 f32+i32 -> f64
        ("erf", (("in", 0),), F32),                     # 2 SciPy's erf of float16: float32
        ("erf", (("in", 0),), F64),                     # 3 CuPy's: float64
        ("less", (("in", 2), ("c", 2.5))),              # 4 int32 < 2.5 in float64
        ("logical_or", (("v", 4), ("in", 3))),          # 5
        ("where", (("v", 5), ("v", 1), ("in", 4))),     # 6 f64
        ("maximum", (("v", 6), ("c", 0))),              # 7
        ("multiply", (("in", 0), ("c", 2))),            # 8 f16
        ("exp", (("v", 8),)),                           # 9 f16
        ("sign", (("in", 2),)),                         # 10 int32
        ("negative", (("v", 10),)),                     # 11
        ("where", (("in", 3), ("in", 2), ("c", 7))),    # 12 int32
        ("multiply", (("v", 12), ("in", 2))),           # 13 int32 (wraps)
        ("true_divide", (("in", 2), ("c", 3))),         # 14 f64
        ("square", (("in", 3),)),                       # 15 bool -> int8
    ]
    return chain(steps, MIXED_IN), MIXED_IN, (7, 9, 11, 5, 2, 3, 13, 14, 15)


# Ops a kernel refuses for a dtype kind (NumPy computes them, but with rules the kernel does not
# reproduce, or not at all for these operand types).
REFUSED = {"f": set(), "i": {"power", "reciprocal"}, "u": {"power", "reciprocal"},
           "b": {"power", "reciprocal"}}


def _single_steps(dt):
    """(ufunc, args) for every supported ufunc on inputs (dt, dt, bool), and some with constants;
    the ones NumPy itself refuses for dt are left out."""
    c = 3 if dt.kind in "iu" else (True if dt.kind == "b" else 0.75)
    steps = []
    for u in sorted(SUPPORTED - {"where", "erf", "true_divide"}):
        nin = getattr(np, u).nin
        steps.append((u, (("in", 0),) if nin == 1 else (("in", 0), ("in", 1))))
        if nin == 2 and u in ("add", "subtract", "multiply", "divide", "maximum", "fmin",
                              "greater", "power", "logical_and"):
            steps.append((u, (("in", 0), ("c", c))))
    steps += [("true_divide", (("c", c), ("in", 1))),
              ("where", (("in", 2), ("in", 0), ("in", 1))),
              ("where", (("in", 0), ("c", c), ("in", 1)))]
    if dt.kind == "f":
        steps.append(("erf", (("in", 0),), F32 if dt != F64 else F64))
    elif dt.itemsize <= 2:
        steps.append(("erf", (("in", 0),), F32 if dt.itemsize == 2 else F64))
    else:
        steps.append(("erf", (("in", 0),), F64))
    kept = []
    for s in steps:
        try:
            with np.errstate(all="ignore"):
                chain([s], (dt, dt, BOOL))
        except TypeError:  # NumPy has no loop (boolean subtract, ...)
            continue
        kept.append(s)
    return kept


def every_op_chain(dt):
    """One kernel computing every fusable op for dtype ``dt`` (each op's result is an output),
    plus a short chain through them; the ops refused for dt (see REFUSED) left out."""
    ins = (dt, dt, BOOL)
    steps, refused = [], set()
    for s in _single_steps(dt):
        try:
            make_fused_kernel(chain([s], ins), ins, (0,))
        except ValueError:
            refused.add(s[0])
            continue
        steps.append(s)
    assert refused == REFUSED[dt.kind], (dt, refused)
    n = len(steps)
    steps += [("add", (("v", 0), ("v", 1))), ("multiply", (("v", n), ("in", 0))),
              ("less", (("v", n + 1), ("in", 1)))]
    ops = chain(steps, ins)
    return ops, ins, tuple(range(len(ops)))


def nvrtc_specs():
    """The specs of the fused kernels compiled with NVRTC (tests/cuda_compile.py calls this)."""
    made = [gelu_chain(F32), gelu_chain(F64), adam_chain(F32), adam_chain(F64),
            relu_mask_chain(F32), relu_mask_chain(F64), mixed_chain()]
    made += [every_op_chain(dt) for dt in ALL_DTYPES]
    return tuple(make_fused_kernel(*m).spec for m in made)


# ---- NVRTC --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled():
    """One subprocess with the real CuPy: every spec of nvrtc_specs() compiled, as JSON."""
    (results,) = compile_sets("--specs", f"{THIS}:nvrtc_specs").values()
    return results


def test_fused_kernels_compile_with_nvrtc_for_sm90_and_sm80(compiled):
    specs = nvrtc_specs()
    want = {(s.name, nd, c, arch) for s in specs for nd, c in cc.LAYOUTS for arch in cc.ARCHS}
    got = {(r["kernel"], r["ndim"], r["contiguous"], r["arch"]) for r in compiled}
    assert got == want
    failures = [f"{r['kernel']} ndim={r['ndim']} {r['arch']}:\n{r['error']}"
                for r in compiled if not r["ok"]]
    assert not failures, "NVRTC rejected fused kernels:\n" + "\n".join(failures)
    assert all(r["bytes"] > 0 for r in compiled)


def test_generated_source_takes_every_input_as_an_array():
    ops, ins, outs = relu_mask_chain(F32)
    k = make_fused_kernel(ops, ins, outs)
    src = cc.kernel_source(k.spec, "float32", 2, False)
    assert (f'extern "C" __global__ void {k.name}(const CArray<float, 2, 0, 1> _raw_in0, '
            "const CArray<float, 2, 0, 1> _raw_in1, const CArray<bool, 2, 0, 1> _raw_in2, "
            "CArray<float, 2, 0, 1> _raw_out0, CArray<bool, 2, 0, 1> _raw_out1, "
            "CIndexer<2, 1> _ind)") in src
    assert "const bool &in2 = _raw_in2[_ind.get()];" in src
    assert "float16" not in src
    # float16 parameters bring CuPy 14's float16 header; float16 intermediates the preamble's
    k16 = make_fused_kernel(*gelu_chain(F16))
    src16 = cc.kernel_source(k16.spec, "float16", 1, True)
    assert src16.index('#include "cupy/float16.cuh"') < src16.index("CArray<float16, 1, 1, 1>")
    i8 = np.dtype("int8")
    k8 = make_fused_kernel(chain([("exp", (("in", 0),)), ("less", (("v", 0), ("c", 1.5)))],
                                 (i8,)), (i8,), (1,))
    assert k8.spec.preamble == '#include "cupy/float16.cuh"'
    assert "float16 v0 = exp(a0);" in k8.spec.operation


# ---- the generated C ----------------------------------------------------------------------------


def test_float32_chain_stays_float32_with_uncontracted_arithmetic():
    k = make_fused_kernel(*gelu_chain(F32))
    body = k.spec.operation
    assert k.spec.in_params == "float32 in0" and k.spec.out_params == "float32 out0"
    assert "double" not in body
    # constants converted to float32 on the host, written exactly
    assert f"const float c1 = {float(np.float32(0.044715))!r}f;" in body
    assert "__fmul_rn(" in body and "__fadd_rn(" in body and " * " not in body
    assert body.splitlines()[-1] == "out0 = v7;"


def test_float16_ops_compute_in_float_and_round_each_result():
    ops = chain([("multiply", (("in", 0), ("c", 0.1))), ("exp", (("v", 0),))], (F16,))
    body = make_fused_kernel(ops, (F16,), (1,)).spec.operation
    assert "float a0 = in0;" in body
    assert f"const float c1 = {float(np.float16(0.1))!r}f;" in body  # 0.1 rounded to float16
    assert "float16 v0 = __fmul_rn(a0, c1);" in body
    assert "float a2 = v0;" in body and "float16 v1 = exp(a2);" in body


def test_signed_integer_arithmetic_wraps_in_unsigned():
    i32 = np.dtype("int32")
    ops = chain([("add", (("in", 0), ("c", 1))), ("greater", (("v", 0), ("in", 0)))], (i32,))
    body = make_fused_kernel(ops, (i32,), (1,)).spec.operation
    assert "unsigned int a0 = in0;" in body and "int v0 = a0 + c1;" in body


def test_special_constants():
    ops = chain([("add", (("in", 0), ("c", float("inf")))),
                 ("minimum", (("v", 0), ("c", float("nan")))),
                 ("multiply", (("v", 1), ("c", -0.0)))], (F32,))
    body = make_fused_kernel(ops, (F32,), (2,)).spec.operation
    assert "= CUDART_INF_F;" in body and "= CUDART_NAN_F;" in body and "= -0.0f;" in body
    ops = chain([("multiply", (("in", 0), ("c", 1e6)))], (F16,))  # inf in float16, as NumPy
    assert "const float c1 = CUDART_INF_F;" in make_fused_kernel(ops, (F16,), (0,)).spec.operation
    i64 = np.dtype("int64")
    ops = chain([("add", (("in", 0), ("c", -2 ** 63)))], (i64,))
    assert "(-9223372036854775807LL - 1)" in make_fused_kernel(ops, (i64,), (0,)).spec.operation


# ---- what is refused ----------------------------------------------------------------------------


def test_supported_names():
    for u in ("add", "subtract", "multiply", "true_divide", "divide", "negative", "positive",
              "absolute", "exp", "expm1", "log", "log1p", "sqrt", "tanh", "sin", "cos", "sinh",
              "cosh", "arctan", "power", "square", "reciprocal", "maximum", "minimum", "fmax",
              "fmin", "sign", "floor", "ceil", "greater", "greater_equal", "less", "less_equal",
              "equal", "not_equal", "logical_and", "logical_or", "logical_not", "where", "erf"):
        assert supported(u), u
    for u in ("clip", "floor_divide", "remainder", "bitwise_and", "matmul", "sum", "nope"):
        assert not supported(u), u
    for u in SUPPORTED - {"where", "erf"}:
        assert isinstance(getattr(np, u), np.ufunc) and getattr(np, u).__name__ in (
            u, "divide"), u


@pytest.mark.parametrize("ops, in_dtypes, outputs, match", [
    ((FusedOp("clip", (("in", 0), ("c", 0), ("c", 1)), F32),), (F32,), (0,), "cannot be fused"),
    ((FusedOp("power", (("in", 0), ("c", 2)), INTS[4]),), (INTS[4],), (0,), "integer power"),
    ((FusedOp("reciprocal", (("in", 0),), INTS[4]),), (INTS[4],), (0,), "reciprocal"),
    ((FusedOp("subtract", (("in", 0), ("in", 0)), BOOL),), (BOOL,), (0,), "no subtract loop"),
    ((FusedOp("negative", (("in", 0),), BOOL),), (BOOL,), (0,), "no negative loop"),
    ((FusedOp("greater", (("in", 0), ("in", 1)), BOOL),), (INTS[6], INTS[7]), (0,), "mixed"),
    ((FusedOp("add", (("in", 0), ("in", 0)), np.dtype("complex64")),), (np.dtype("complex64"),),
     (0,), "complex64"),
    ((FusedOp("add", (("in", 0), ("c", 1.0)), F64),), (F32,), (0,), "gives float32"),
    ((FusedOp("add", (("in", 0), ("c", 300)), INTS[1]),), (INTS[1],), (0,), "does not fit"),
    ((FusedOp("add", (("in", 0), ("c", np.float32(1))), F32),), (F32,), (0,), "Python bool"),
    ((FusedOp("add", (("in", 0), ("v", 0)), F32),), (F32,), (0,), "not an earlier op"),
    ((FusedOp("add", (("in", 0), ("in", 1)), F32),), (F32,), (0,), "no input 1"),
    ((FusedOp("add", (("in", 0),), F32),), (F32,), (0,), "takes 2 operands"),
    ((FusedOp("exp", (("in", 0),), F32),), (F32,), (1,), "output 1"),
    ((FusedOp("exp", (("c", 1.0),), F64),), (), (0,), "at least one input"),
    ((FusedOp("erf", (("in", 0),), F64),), (F32,), (0,), "float32 .SciPy / CuPy., not float64"),
    ((FusedOp("erf", (("in", 0),), F32),), (INTS[4],), (0,), "float64"),
])
def test_refused(ops, in_dtypes, outputs, match):
    with pytest.raises(ValueError, match=match):
        make_fused_kernel(ops, in_dtypes, outputs)


# ---- the cache ----------------------------------------------------------------------------------


def test_cache_hit_returns_the_same_kernel():
    made = adam_chain(F32)
    k = make_fused_kernel(*made)
    assert isinstance(k, FusedKernel)
    assert make_fused_kernel(*made) is k
    # equal but freshly built arguments (dtype given as a type, lists) hit too
    ops, ins, outs = made
    again = tuple(FusedOp(o.ufunc, list(o.args), o.dtype.type) for o in ops)
    assert make_fused_kernel(again, [d.type for d in ins], list(outs)) is k
    assert re.fullmatch(r"gpuarr_fused_[0-9a-f]{16}", k.name)
    name = k.name
    clear_cache()
    k2 = make_fused_kernel(*made)
    assert k2 is not k and k2.name == name  # names are deterministic


def test_cache_tells_constants_apart_by_type_and_sign():
    i32 = np.dtype("int32")
    kernels = {}
    for c, dt in ((1, i32), (True, i32), (1.0, F64), (0.0, F64), (-0.0, F64)):
        ops = (FusedOp("multiply", (("in", 0), ("c", c)), dt),)
        kernels[repr(c)] = make_fused_kernel(ops, (i32,), (0,))
    assert len({id(k) for k in kernels.values()}) == 5
    assert len({k.name for k in kernels.values()}) == 5
    nan = (FusedOp("add", (("in", 0), ("c", float("nan"))), F32),)
    assert make_fused_kernel(nan, (F32,), (0,)) is make_fused_kernel(nan, (F32,), (0,))
    assert make_fused_kernel(*gelu_chain(F32)) is not make_fused_kernel(*gelu_chain(F64))
    g = gelu_chain(F32)
    assert make_fused_kernel(g[0], g[1], (6, 7)) is not make_fused_kernel(*g)


# ---- numerics (stand-in, or a GPU) --------------------------------------------------------------


def sample(dt, shape, rng, special=True):
    """Values of ``dt``: floats normal with NaN, infinities and signed zeros mixed in,
    integers over their whole range, bools random."""
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
        flat = a.reshape(-1)
        extremes = np.array([info.min, info.max, 0, 1, 2], dtype=dt)
        flat[:min(flat.size, 5)] = extremes[:min(flat.size, 5)]
        return a
    a = (rng.standard_normal(shape) * 2).astype(dt)
    if special and a.size >= 16:
        flat = a.reshape(-1)
        idx = rng.choice(flat.size, 8, replace=False)
        flat[idx] = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5], dtype=dt)
    return a


def tolerance(dt):
    return {F16: 2e-3, F32: 1e-6, F64: 1e-12}[dt]


def check_outputs(got, ops, outputs, ref_vals, shape, label=""):
    """The kernel's outputs (all of the inputs' broadcast ``shape``) against NumPy's values."""
    for m, j in enumerate(outputs):
        g = got[m].get()
        want = np.asarray(ref_vals[j])
        what = f"{label} output {m} = op {j} {ops[j].ufunc}{ops[j].args}"
        assert g.dtype == ops[j].dtype == want.dtype, what
        assert g.shape == shape, what
        want = np.broadcast_to(want, shape)
        if g.dtype.kind == "f":
            # relative to each value, and to the output's scale where a GPU's math functions
            # (a few ulp from NumPy's) meet cancellation (1 + tanh(z) for z << 0)
            rtol = tolerance(g.dtype)
            scale = float(np.max(np.abs(want[np.isfinite(want)]), initial=1.0))
            np.testing.assert_allclose(g, want, rtol=rtol, atol=rtol * scale, err_msg=what)
        else:
            np.testing.assert_array_equal(g, want, err_msg=what)


def run_and_check(cp, made, host_inputs, label=""):
    ops, ins, outs = made
    k = make_fused_kernel(ops, ins, outs)
    got = k(*[cp.asarray(a) for a in host_inputs])
    assert isinstance(got, tuple) and len(got) == len(outs)
    shape = np.broadcast_shapes(*(a.shape for a in host_inputs))
    check_outputs(got, ops, outs, numpy_chain(ops, host_inputs), shape, label)
    return k, got


@pytest.mark.parametrize("dt", [F32, F64, F16], ids=str)
def test_cuda_gelu_matches_numpy(cp, dt):
    rng = np.random.default_rng(1)
    run_and_check(cp, gelu_chain(dt), [sample(dt, (257,), rng, special=False)])


@pytest.mark.parametrize("dt", [F32, F64], ids=str)
def test_cuda_adam_matches_numpy_in_place(cp, dt):
    rng = np.random.default_rng(2)
    p, g, m = (sample(dt, (33, 5), rng, special=False) for _ in range(3))
    v = np.abs(sample(dt, (33, 5), rng, special=False))
    made = adam_chain(dt)
    ops, ins, outs = made
    ref = numpy_chain(ops, [p, g, m, v])
    dp, dg, dm, dv = (cp.asarray(a) for a in (p, g, m, v))
    got = make_fused_kernel(*made)(dp, dg, dm, dv, out=(dp, dm, dv))
    assert got[0] is dp and got[1] is dm and got[2] is dv
    check_outputs(got, ops, outs, ref, p.shape, "in place")
    np.testing.assert_array_equal(dg.get(), g)


@pytest.mark.parametrize("dt", [F32, F64], ids=str)
def test_cuda_relu_mask_broadcasts(cp, dt):
    rng = np.random.default_rng(3)
    x = sample(dt, (4, 1, 6), rng)
    b = sample(dt, (3, 1), rng, special=False)
    keep = rng.random((6,)) < 0.7
    _, got = run_and_check(cp, relu_mask_chain(dt), [x, b, keep])
    assert got[0].shape == (4, 3, 6) and got[1].dtype == BOOL


def test_cuda_mixed_dtypes_and_0d_inputs(cp):
    rng = np.random.default_rng(4)
    x16 = sample(F16, (50,), rng)
    x32 = sample(F32, (50,), rng)
    n = rng.integers(-5, 6, size=(50,)).astype(np.int32)
    n[:2] = [2**31 - 1, -2**31]  # n * n wraps
    flag = rng.random((50,)) < 0.5
    s = np.array(-1.25, F64)  # 0-d
    run_and_check(cp, mixed_chain(), [x16, x32, n, flag, s])
    # every input 0-d: a 0-d result
    zero_d = [np.array(a.reshape(-1)[3]) for a in (x16, x32, n, flag)] + [s]
    _, got = run_and_check(cp, mixed_chain(), zero_d, "0-d")
    assert all(g.shape == () for g in got)


def test_cuda_size_zero_inputs(cp):
    rng = np.random.default_rng(5)
    x = np.zeros((0, 4), F32)
    b = sample(F32, (4,), rng)
    keep = np.ones((0, 1), bool)
    _, got = run_and_check(cp, relu_mask_chain(F32), [x, b, keep])
    assert [g.shape for g in got] == [(0, 4), (0, 4)]


@pytest.mark.parametrize("u", ["maximum", "minimum", "fmax", "fmin"])
@pytest.mark.parametrize("dt", [F32, F64, F16], ids=str)
def test_cuda_max_min_nan_rules(cp, u, dt):
    nan, inf = np.nan, np.inf
    a = np.array([nan, 1.0, nan, 2.0, -inf, inf, 3.0, nan], dt)
    b = np.array([1.0, nan, nan, -2.0, nan, 1.0, 3.0, -inf], dt)
    ops = chain([(u, (("in", 0), ("in", 1))), (u, (("in", 0), ("c", nan))),
                 (u, (("c", 0.5), ("in", 1)))], (dt, dt))
    k, got = run_and_check(cp, (ops, (dt, dt), (0, 1, 2)), [a, b])
    res = got[0].get()
    if u in ("maximum", "minimum"):  # NaN propagates
        assert np.isnan(res[[0, 1, 2, 4, 7]]).all()
        assert np.isnan(got[1].get()).all()
    else:  # the other operand wins; NaN only where both are
        assert np.isnan(res).tolist() == [False, False, True, False, False, False, False, False]
        np.testing.assert_array_equal(got[1].get(), a)


def test_cuda_sign_of_nan_and_signed_zero(cp):
    x = np.array([np.nan, -0.0, 0.0, -3.0, 2.0, -np.inf], F32)
    ops = chain([("sign", (("in", 0),))], (F32,))
    _, (got,) = run_and_check(cp, (ops, (F32,), (0,)), [x])
    g = got.get()
    assert np.isnan(g[0]) and not np.signbit(g[1]) and not np.signbit(g[2])


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=str)
def test_cuda_every_op_matches_numpy(cp, dt):
    rng = np.random.default_rng(6)
    made = every_op_chain(dt)
    x, y = sample(dt, (8, 16), rng), sample(dt, (16,), rng)
    if dt.kind == "f":  # some equal pairs for the comparisons
        y[:4] = x[0, :4]
    run_and_check(cp, made, [x, y, rng.random((8, 1)) < 0.5], str(dt))


def test_cuda_call_checks_dtypes_and_counts(cp):
    made = relu_mask_chain(F32)
    k = make_fused_kernel(*made)
    x = cp.asarray(np.ones((3,), F32))
    keep = cp.asarray(np.ones((3,), bool))
    with pytest.raises(TypeError, match="takes 3 inputs"):
        k(x, x)
    with pytest.raises(TypeError, match="input 1 has dtype float64"):
        k(x, cp.asarray(np.ones((3,), F64)), keep)
    with pytest.raises(TypeError, match="has 2 outputs"):
        k(x, x, keep, out=(x,))
    with pytest.raises(TypeError, match=r"out\[1\] has dtype float32"):
        k(x, x, keep, out=(x, x))
    out = (cp.empty((3,), F32), cp.empty((3,), bool))
    got = k(x, x, keep, out=out)
    assert got[0] is out[0] and got[1] is out[1]
    np.testing.assert_array_equal(out[0].get(), np.full(3, np.float32(2.0) * np.float32(1 / 0.9)))
