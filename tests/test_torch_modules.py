"""gpuarr.testing, gpuarr.multiprocessing, gpuarr.return_types, gpuarr.jit and the thread-count
functions, differential against torch (names, defaults, results, error types and texts)."""

from __future__ import annotations

import multiprocessing as std_mp
import pickle
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp
import torch_modules_helpers as H
from threadpoolctl import threadpool_info, threadpool_limits

import gpuarr
import gpuarr.multiprocessing as gmp
from gpuarr import _threads
from gpuarr import jit as gjit
from gpuarr.testing import assert_allclose, assert_close, make_tensor

ROOT = Path(__file__).resolve().parents[1]
NAN, INF = float("nan"), float("inf")


def _norm(text: str) -> str:
    """An error text with the library's own names made neutral."""
    return (text.replace("gpuarr._tensor.Tensor", "torch.Tensor")
            .replace("gpuarr.", "torch."))


def _outcome(fn, *args, **kwargs):
    """None when ``fn`` returns, else (exception type name, neutral text)."""
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the outcome is what is compared
        return type(e).__name__, _norm(str(e))
    return None


# --------------------------------------------------------------------------------------------
# assert_close


def _t(*values, dtype="float32"):
    """A tensor spec: values and dtype name, built by each library on its device."""
    return ("T", list(values), dtype)


def _build(lib, device, spec):
    if isinstance(spec, tuple) and len(spec) == 3 and spec[0] == "T":
        dev = device if lib is gpuarr else "cpu"
        return lib.tensor(spec[1], dtype=getattr(lib, spec[2]), device=dev)
    if isinstance(spec, list):
        return [_build(lib, device, s) for s in spec]
    if isinstance(spec, tuple):
        return tuple(_build(lib, device, s) for s in spec)
    if isinstance(spec, dict):
        return {k: _build(lib, device, s) for k, s in spec.items()}
    return spec


CASES = {
    "close": (_t(1, 2, 3), _t(1, 2, 3.000001), {}),
    "one_far": (_t(1, 2, 3), _t(1, 2, 3.5), {}),
    "two_far": (_t(1, 2, 3), _t(1, 4, 5), {}),
    "msg_str": (_t(1, 2, 3), _t(1, 4, 5), {"msg": "Argh, the tensors are not close!"}),
    "msg_callable": (_t(1, 2, 3), _t(1, 4, 5), {"msg": lambda m: f"Header\n\n{m}\n\nFooter"}),
    "nan": (_t(1, NAN), _t(1, NAN), {}),
    "nan_equal": (_t(1, NAN), _t(1, NAN), {"equal_nan": True}),
    "inf_same": (_t(1, INF), _t(1, INF), {}),
    "inf_opposite": (_t(1, INF), _t(1, -INF), {}),
    "zero_expected": (_t(0, 1), _t(1e-4, 1), {}),
    "matrix": (_t([1, 2], [3, 4.5]), _t([1, 2.5], [3, 4]), {}),
    "big_index": (_t(*range(24)), _t(*range(23), 100), {}),
    "float64": (_t(1, 2, dtype="float64"), _t(1, 2.001, dtype="float64"), {}),
    "float64_close": (_t(1, 2, dtype="float64"), _t(1, 2.0000001, dtype="float64"), {}),
    "float16": (_t(1, 2, dtype="float16"), _t(1, 2.01, dtype="float16"), {}),
    "int": (_t([1, 2], [3, 4], dtype="int64"), _t([1, 2], [3, 7], dtype="int64"), {}),
    "int_tolerant": (_t(1, 2, 30, dtype="int64"), _t(1, 0, 32, dtype="int64"),
                     {"rtol": 0.1, "atol": 1}),
    "uint8": (_t(1, 2, dtype="uint8"), _t(1, 200, dtype="uint8"), {}),
    "bool": (_t(True, False, dtype="bool"), _t(True, True, dtype="bool"), {}),
    "explicit_tolerance": (_t(1, 2), _t(1, 2.1), {"rtol": 0.01, "atol": 0.01}),
    "zero_tolerance": (_t(1, 2), _t(1, 2.0000001), {"rtol": 0, "atol": 0}),
    "dtype": (_t(1, 2), _t(1, 2, dtype="float64"), {}),
    "dtype_unchecked": (_t(1, 2), _t(1, 2.00001, dtype="float64"), {"check_dtype": False}),
    "dtype_int_float": (_t(1, 2, dtype="int32"), _t(1, 2.5), {"check_dtype": False}),
    "dtype_uint8_int64": (_t(1, 2, dtype="uint8"), _t(1, 2, dtype="int64"),
                          {"check_dtype": False}),
    "shape": (_t(1, 2), _t(1, 2, 3), {}),
    "zero_dim": (_t(3.0), _t(3.5), {}),
    "zero_dim_int": (_t(3, dtype="int64"), _t(4, dtype="int64"), {}),
    "only_rtol": (_t(1, 2), _t(1, 2), {"rtol": 1e-3}),
    "only_atol": (_t(1, 2), _t(1, 2), {"atol": 1e-3}),
    "float_scalars": (1.0, 1.0001, {}),
    "int_vs_float": (1, 1.0, {}),
    "int_vs_float_unchecked": (1, 1.0, {"check_dtype": False}),
    "ints": (1, 2, {}),
    "exact_scalars": (1e-9, 1e-10, {"rtol": 0, "atol": 0}),
    "nan_scalars": (NAN, NAN, {}),
    "bools": (True, False, {}),
    "none": (None, 1, {}),
    "nones": (None, None, {}),
    "numpy_scalar": (np.float64(1.0), 1.0, {}),
    "numpy_arrays": (np.array([1.0, 2.0]), np.array([1.0, 3.0]), {}),
    "numpy_vs_tensor": (np.array([1.0, 2.0]), _t(1, 2), {}),
    "tensor_vs_number": (_t(1.0), 1.0, {}),
    "strings": ("a", "a", {}),
    "sequences": ([_t(1), 2.0, np.array(3.0)], (_t(1), 2.0, np.array(3.0)), {}),
    "sequence_item": ([_t(1), 2.0], [_t(1), 2.5], {}),
    "sequence_length": ([_t(1), 2.0], [_t(1)], {}),
    "sequence_length_msg": ([1, 2], [1], {"msg": "not applied to structure errors"}),
    "nested": ([[1, _t(1, 2)]], [[1, _t(1, 3)]], {}),
    "mapping_item": ({"a": _t(1), "b": 2}, {"b": 2, "a": _t(1.5)}, {}),
    "mapping_keys": ({"a": _t(1), "b": 2}, {"b": 2, "c": _t(1.5)}, {}),
    "mapping_msg": ({"a": _t(1)}, {"a": _t(2)}, {"msg": "custom"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_assert_close_matches_torch(device, case):
    a, e, kw = CASES[case]
    want = _outcome(torch.testing.assert_close, _build(torch, device, a),
                    _build(torch, device, e), **kw)
    got = _outcome(assert_close, _build(gpuarr, device, a), _build(gpuarr, device, e), **kw)
    assert got == want


def test_assert_close_message_format(device):
    a = gpuarr.tensor([1.0, 2.0, 3.0], device=device)
    with pytest.raises(AssertionError) as e:
        assert_close(a, gpuarr.tensor([1.0, 2.0, 3.5], device=device))
    assert str(e.value) == (
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 3 (33.3%)\n"
        "Greatest absolute difference: 0.5 at index (2,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.1428571492433548 at index (2,) (up to 1.3e-06 allowed)")


def test_assert_close_and_make_tensor_bfloat16():
    if not hasattr(gpuarr, "bfloat16"):
        pytest.skip("this gpuarr has no bfloat16")
    for a, e in (([1.0, 2.0], [1.0, 2.5]), ([1.0, 2.0], [1.0, 2.01]), (2.0, 2.5)):
        want = _outcome(torch.testing.assert_close, torch.tensor(a, dtype=torch.bfloat16),
                        torch.tensor(e, dtype=torch.bfloat16))
        got = _outcome(assert_close, gpuarr.tensor(a, dtype=gpuarr.bfloat16),
                       gpuarr.tensor(e, dtype=gpuarr.bfloat16))
        assert got == want
    t = make_tensor(50, dtype=gpuarr.bfloat16, device="cpu", exclude_zero=True)
    v = t.float().numpy()
    assert t.dtype is gpuarr.bfloat16 and (v >= -9).all() and (v < 9).all() and (v != 0).all()


def test_assert_close_unexpected_input_is_a_runtime_error():
    # a bool against an int: torch's NumberPair has no dtype for bool and reports that
    for fn in (torch.testing.assert_close, assert_close):
        with pytest.raises(RuntimeError, match=r"^Originating a NumberPair\(\) at item  with"):
            fn(True, 1)


def test_assert_close_devices(device):
    a = gpuarr.tensor([1.0, 2.0], device=device)
    b = gpuarr.tensor([1.0, 2.5])
    if device == "cpu":
        pytest.raises(AssertionError, assert_close, a, b)
        return
    with pytest.raises(AssertionError, match=re.escape(
            "The values for attribute 'device' do not match: cuda:0 != cpu.")):
        assert_close(a, b)
    assert_close(a, gpuarr.tensor([1.0, 2.0]), check_device=False)
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 2"):
        assert_close(a, b, check_device=False)


def test_assert_close_stride_and_subclasses(device):
    def both(lib, dev):
        x = lib.arange(6.0, device=dev).reshape(2, 3)
        return x.t(), x.t().contiguous()

    for kw in ({}, {"check_stride": True}):
        want = _outcome(torch.testing.assert_close, *both(torch, "cpu"), **kw)
        assert _outcome(assert_close, *both(gpuarr, device), **kw) == want
    assert want is not None and "stride()" in want[1]

    for kw in ({}, {"allow_subclasses": False}):
        want = _outcome(torch.testing.assert_close, torch.nn.Parameter(torch.ones(2)),
                        torch.ones(2), **kw)
        got = _outcome(assert_close, gpuarr.nn.Parameter(gpuarr.ones(2, device=device)),
                       gpuarr.ones(2, device=device), **kw)
        assert got == want


def test_assert_close_ignores_requires_grad(device):
    x = gpuarr.ones(3, device=device, requires_grad=True)
    assert_close(x * 2, gpuarr.full((3,), 2.0, device=device))


def test_assert_allclose_is_deprecated_like_torch(device):
    cases = [([1.0, 2.0], [1.0, 2.0001], {}), ([1.0, 2.0], [1.0, 2.01], {}),
             ([1.0, NAN], [1.0, NAN], {}), ([1, 2], [1, 3], {}),
             ([1.0, 2.0], [1.0, 2.5], {"msg": "custom"})]
    for a, e, kw in cases:
        with warnings.catch_warnings(record=True) as wt:
            warnings.simplefilter("always")
            want = _outcome(torch.testing.assert_allclose, torch.tensor(a), e, **kw)
        # a list becomes a CPU tensor (as in torch), so on CUDA compare with a CUDA tensor
        ge = e if device == "cpu" else gpuarr.tensor(e, device=device)
        with warnings.catch_warnings(record=True) as wg:
            warnings.simplefilter("always")
            got = _outcome(assert_allclose, gpuarr.tensor(a, device=device), ge, **kw)
        assert got == want, (a, e)
        assert [w.category for w in wg] == [w.category for w in wt] == [FutureWarning]
        assert "deprecated since 1.12" in str(wg[0].message)


# --------------------------------------------------------------------------------------------
# make_tensor

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_make_tensor_properties(device, dtype):
    dt = getattr(gpuarr, dtype)
    t = make_tensor(3, 4, dtype=dt, device=device)
    assert t.shape == (3, 4) and t.dtype is dt and t.device.type == device
    assert t.is_contiguous() and not t.requires_grad
    v = t.cpu().numpy().astype(np.float64)
    lo, hi = {"bool": (0, 2), "uint8": (0, 10)}.get(
        dtype, (-9, 10) if dtype.startswith("int") else (-9, 9))
    assert (v >= lo).all() and (v < hi).all()

    nc = make_tensor((3, 4), dtype=dt, device=device, noncontiguous=True, exclude_zero=True)
    tt = torch.testing.make_tensor((3, 4), dtype=getattr(torch, dtype), device="cpu",
                                   noncontiguous=True)
    assert nc.shape == tt.shape and nc.stride() == tt.stride() and not nc.is_contiguous()
    assert not bool((nc == 0).any())

    b = make_tensor([5], dtype=dt, device=device, low=1, high=3)
    vb = b.cpu().numpy().astype(np.float64)
    assert (vb >= 1).all() and (vb < 3).all()


def test_make_tensor_grad_and_edge_cases(device):
    t = make_tensor(2, 2, dtype=gpuarr.float32, device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert make_tensor((), dtype=gpuarr.float64, device=device).shape == ()
    assert make_tensor(1, dtype=gpuarr.float32, device=device, noncontiguous=True).shape == (1,)
    wide = make_tensor(100, dtype=gpuarr.float64, device=device, low=-1e308, high=1e308)
    assert bool(gpuarr.isfinite(wide).all())
    assert float(wide.abs().max()) > 1e300
    with pytest.warns(FutureWarning, match="low==high"):
        same = make_tensor(3, dtype=gpuarr.float32, device=device, low=2, high=2)
    assert same.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("kw", [
    {"dtype": "int64", "requires_grad": True},
    {"dtype": "bool", "requires_grad": True},
    {"dtype": "float32", "low": 2, "high": 1},
    {"dtype": "float32", "low": NAN},
    {"dtype": "uint8", "low": 300, "high": 400},
    {"dtype": "uint8", "low": -5, "high": -1},
    {"dtype": "int8", "low": -1000, "high": 1000},
    {"dtype": "int64", "low": -2 ** 70, "high": 2 ** 70},
], ids=str)
def test_make_tensor_errors_match_torch(kw):
    kw = dict(kw)
    d = kw.pop("dtype")
    want = _outcome(torch.testing.make_tensor, (4,), dtype=getattr(torch, d), device="cpu", **kw)
    got = _outcome(make_tensor, (4,), dtype=getattr(gpuarr, d), device="cpu", **kw)
    assert got == want


# --------------------------------------------------------------------------------------------
# return_types


def test_return_types_have_torchs_names_and_fields():
    theirs = {t.__name__: t.__match_args__ for t in torch.return_types.all_return_types}
    ours = {t.__name__: t._fields for t in gpuarr.return_types.all_return_types}
    assert ours == theirs
    for name in ours:
        assert getattr(gpuarr.return_types, name).__module__ == "gpuarr.return_types"


def _results(lib, device):
    dev = device if lib is gpuarr else "cpu"
    x = lib.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, 1.5]], device=dev)
    sq = lib.tensor([[2.0, 1.0], [1.0, 3.0]], device=dev)
    return {
        "max": x.max(1), "min": lib.min(x, 0), "sort": x.sort(), "topk": x.topk(2),
        "kthvalue": x.kthvalue(2), "median": x.median(1), "nanmedian": x.nanmedian(1),
        "cummax": x.cummax(1), "cummin": lib.cummin(x, 0), "aminmax": lib.aminmax(x, dim=1),
        "slogdet": lib.slogdet(sq), "linalg.slogdet": lib.linalg.slogdet(sq),
        "linalg.svd": lib.linalg.svd(sq), "linalg.eigh": lib.linalg.eigh(sq),
    }


def test_ops_return_the_shared_types(device):
    theirs, ours = _results(torch, device), _results(gpuarr, device)
    for op, r in ours.items():
        t = theirs[op]
        assert type(r).__name__ == type(t).__name__, op
        assert type(r) is getattr(gpuarr.return_types, type(t).__name__), op
        assert r._fields == type(t).__match_args__, op
        for f in r._fields:
            np.testing.assert_allclose(getattr(r, f).cpu().numpy(), getattr(t, f).numpy(),
                                       rtol=1e-5, atol=1e-6, err_msg=f"{op}.{f}")


def test_return_types_build_pickle_and_print(device):
    RT = gpuarr.return_types
    v, i = gpuarr.ones(2, device=device), gpuarr.zeros(2, dtype=gpuarr.int64, device=device)
    assert RT.max((v, i)) == RT.max(v, i) == RT.max(values=v, indices=i)
    assert RT.max([1, 2]) == torch.return_types.max([1, 2]) == (1, 2)
    want = _outcome(torch.return_types.max, (1, 2, 3))
    assert _outcome(RT.max, (1, 2, 3)) == want
    r = gpuarr.tensor([[1.0, 5.0]], device=device).max(1)
    back = pickle.loads(pickle.dumps(r))
    assert type(back) is RT.max and back.values.device == r.values.device
    assert back.values.tolist() == [5.0] and back.indices.tolist() == [1]
    assert repr(r).startswith("gpuarr.return_types.max(\nvalues=tensor([5.")


# --------------------------------------------------------------------------------------------
# thread counts


@pytest.fixture
def _restore_threads():
    gp, tp = gpuarr.get_num_threads(), torch.get_num_threads()
    yield
    threadpool_limits(gp, user_api="blas")
    torch.set_num_threads(tp)


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_set_num_threads_limits_blas(_restore_threads):
    assert gpuarr.get_num_threads() == max(_blas_threads())
    gpuarr.set_num_threads(1)
    assert gpuarr.get_num_threads() == 1 and set(_blas_threads()) == {1}
    gpuarr.set_num_threads(np.int64(2))
    assert gpuarr.get_num_threads() == 2 and set(_blas_threads()) == {2}
    # matmul still right with a limited pool
    a = gpuarr.randn(64, 64)
    np.testing.assert_allclose((a @ a).numpy(), a.numpy() @ a.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"], ids=repr)
def test_thread_count_errors_match_torch(n, _restore_threads):
    for name in ("set_num_threads", "set_num_interop_threads"):
        want = _outcome(getattr(torch, name), n)
        assert want is not None
        assert _outcome(getattr(gpuarr, name), n) == want


def test_interop_threads(monkeypatch):
    monkeypatch.setattr(_threads, "_interop", [])
    assert gpuarr.get_num_interop_threads() >= 1
    gpuarr.set_num_interop_threads(3)
    assert gpuarr.get_num_interop_threads() == 3
    # torch allows one call per process; its text for the second
    with pytest.raises(RuntimeError, match=re.escape(
            "Error: cannot set number of interop threads after parallel work has started or "
            "set_num_interop_threads called")):
        gpuarr.set_num_interop_threads(2)


# --------------------------------------------------------------------------------------------
# jit


@pytest.fixture
def _fresh_jit_warnings(monkeypatch):
    monkeypatch.setattr(gjit, "_warned", set())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch 2.13's, checked below
def test_jit_script_and_trace_run_eagerly(device, _fresh_jit_warnings):
    def f(x):
        return x * 2 + 1

    with pytest.warns(UserWarning, match="gpuarr.jit.script: gpuarr has no TorchScript, so "
                                         ".*f runs eagerly"):
        g = gjit.script(f)
    assert g is f
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # once per process
        warnings.simplefilter("ignore", DeprecationWarning)
        assert gjit.script(f) is f
    x = gpuarr.arange(3.0, device=device)
    assert g(x).tolist() == torch.jit.script(f)(torch.arange(3.0)).tolist()

    model = gpuarr.nn.Linear(3, 2).to(device)
    with pytest.warns(UserWarning, match="gpuarr.jit.trace"):
        assert gjit.trace(model, x[None]) is model
    with pytest.warns(UserWarning, match="gpuarr.jit.trace_module"):
        assert gjit.trace_module(model, {"forward": x[None]}) is model
    with pytest.raises(RuntimeError, match="script\\(\\) expects"):
        gjit.script(3)


@pytest.mark.parametrize("api", ["script", "trace", "script_method", "fork", "wait"])
def test_jit_deprecation_warnings_match_torch(api, _fresh_jit_warnings):
    def f(x):
        return x

    def call(jit):
        x = (torch if jit is torch.jit else gpuarr).ones(1)
        if api == "wait":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fut = jit.fork(f, x)
            return jit.wait(fut)
        return jit.fork(f, x) if api == "fork" else (
            # (torch's check_trace traces again, warning a second time)
            jit.trace(f, x, check_trace=False) if api == "trace" else getattr(jit, api)(f))

    texts = []
    for jit in (torch.jit, gjit):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            call(jit)
        texts.append([str(x.message) for x in w if x.category is DeprecationWarning])
    assert texts[0] == texts[1] and len(texts[0]) == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_jit_markers_change_nothing():
    def f(x):
        return x + 1

    for api in ("ignore", "unused", "export"):
        assert getattr(gjit, api)(f) is f
        assert getattr(torch.jit, api)(f) is f  # torch's too, eagerly
    assert gjit.ignore(drop=True)(f) is f and gjit.script_method(f) is f
    assert gjit.is_scripting() is torch.jit.is_scripting() is False
    assert gjit.is_tracing() is torch.jit.is_tracing() is False
    assert gjit.annotate(list[int], [1]) == torch.jit.annotate(list[int], [1]) == [1]
    assert gjit.Final is torch.jit.Final
    fut = gjit.fork(f, 2)
    assert gjit.wait(fut) == torch.jit.wait(torch.jit.fork(f, 2)) == 3 and fut.done()

    class M(gjit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.lin = gpuarr.nn.Linear(2, 2)

        @gjit.script_method
        def forward(self, x):
            return self.lin(x)

    assert M()(gpuarr.ones(1, 2)).shape == (1, 2)
    assert not isinstance(f, gjit.ScriptFunction)


def test_jit_save_load_say_what_to_use(tmp_path):
    for call in (lambda: gjit.save(gpuarr.nn.Linear(1, 1), tmp_path / "m.pt"),
                 lambda: gjit.load(tmp_path / "m.pt")):
        with pytest.raises(NotImplementedError, match=r"torch\.jit\.(save|load) is not "
                           r"available in gpuarr.*gpuarr\.save\(model\.state_dict\(\), f\)"):
            call()


# --------------------------------------------------------------------------------------------
# multiprocessing


def test_multiprocessing_namespace_matches_torch():
    missing = [n for n in tmp.__all__ if not hasattr(gmp, n)]
    assert not missing
    for name in std_mp.__all__:
        assert name in gmp.__all__
    for name in ("spawn", "start_processes", "ProcessContext", "ProcessRaisedException",
                 "ProcessExitedException"):
        assert hasattr(gmp, name) and hasattr(tmp, name)
    assert issubclass(gmp.ProcessRaisedException, gmp.ProcessException)
    assert gmp.Process is std_mp.Process and gmp.cpu_count() == tmp.cpu_count()


def test_sharing_strategies_match_torch(monkeypatch):
    monkeypatch.setattr(gmp, "_sharing_strategy", gmp._sharing_strategy)
    assert gmp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert gmp.get_sharing_strategy() == tmp.get_sharing_strategy()
    gmp.set_sharing_strategy("file_system")
    assert gmp.get_sharing_strategy() == "file_system"
    assert _outcome(gmp.set_sharing_strategy, "nope") == _outcome(
        tmp.set_sharing_strategy, "nope")


def test_spawn_sends_tensors_through_a_queue(device):
    q = gmp.get_context("spawn").SimpleQueue()
    assert gmp.spawn(H.put_tensor, args=(q, device), nprocs=2) is None
    got = dict(q.get() for _ in range(2))
    for i in range(2):
        t = got[i]
        assert isinstance(t, gpuarr.Tensor) and t.device.type == device
        assert t.tolist() == [[float(i)] * 3] * 2


def test_spawn_reports_the_failing_process_like_torch():
    with pytest.raises(gmp.ProcessRaisedException) as e:
        gmp.spawn(H.raise_in_one, nprocs=2)
    with pytest.raises(tmp.ProcessRaisedException) as t:
        tmp.start_processes(H.raise_in_one, nprocs=2, start_method="fork")
    for err in (e.value, t.value):
        assert err.error_index == 1 and isinstance(err.error_pid, int)
        text = str(err)
        assert text.startswith("\n\n-- Process 1 terminated with the following error:\n"
                               "Traceback (most recent call last):\n")
        assert text.endswith("ValueError: boom in process 1\n")
    assert pickle.loads(pickle.dumps(e.value)).error_index == 1


@pytest.mark.parametrize("fn", [H.exit_with_3, H.kill_self], ids=lambda f: f.__name__)
def test_process_exits_like_torch(fn):
    errs = []
    for mod in (gmp, tmp):
        with pytest.raises(mod.ProcessExitedException) as e:
            mod.start_processes(fn, nprocs=1, start_method="fork")
        errs.append(e.value)
    ours, theirs = errs
    assert str(ours) == str(theirs)
    assert (ours.exit_code, ours.signal_name) == (theirs.exit_code, theirs.signal_name)


def test_spawn_without_join_returns_the_context():
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        ctx = gmp.spawn(H.do_nothing, nprocs=1, join=False, start_method="fork")
    assert isinstance(ctx, gmp.ProcessContext) and len(ctx.pids()) == 1
    while not ctx.join():
        pass
    assert ctx.join() is True and ctx.processes[0].exitcode == 0


# --------------------------------------------------------------------------------------------
# the top level and the torch import hook


def test_modules_are_attributes_of_gpuarr():
    for name in ("testing", "multiprocessing", "return_types", "jit"):
        assert getattr(gpuarr, name).__name__ == f"gpuarr.{name}"
    assert gpuarr.testing.assert_close is assert_close


def test_run_torch_resolves_the_modules():
    code = """
import torch.testing, torch.multiprocessing as mp, torch.jit
from torch.multiprocessing.spawn import ProcessRaisedException
from torch.testing import assert_close, make_tensor
import torch.multiprocessing.spawn
import gpuarr
assert mp.spawn is gpuarr.multiprocessing.spawn and callable(mp.spawn)
assert ProcessRaisedException is gpuarr.multiprocessing.ProcessRaisedException
assert torch.testing.assert_close is gpuarr.testing.assert_close
assert torch.jit.is_scripting() is False and torch.jit.script is gpuarr.jit.script
assert type(torch.ones(2, 2).max(0)) is torch.return_types.max
x = make_tensor(3, dtype=torch.float32, device="cpu")
assert_close(x, x.clone())
torch.set_num_threads(1)
print("ok", torch.get_num_threads(), mp.get_sharing_strategy())
"""
    out = subprocess.run([sys.executable, "-m", "gpuarr.run_torch", "-c", code], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "1", "file_descriptor"]
