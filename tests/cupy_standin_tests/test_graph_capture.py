"""Stream capture and CUDA graphs in the CuPy stand-in (``tests/cupy_standin/cupy/_graph.py``).

While a stream captures, the stand-in records what a GPU would record and runs nothing: outputs
come back filled with garbage and are computed by ``Graph.launch``, from the contents their
inputs have then. Host synchronisation, library calls and streams behave as CuPy 14.2 and CUDA
make them (error classes and messages as CuPy's; the sources are cited in ``_graph.py``).

As ``test_standin.py``: in-process when ``import cupy`` is the stand-in, else
``test_graph_tests_in_a_subprocess`` runs this file with the stand-in first on PYTHONPATH.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
STANDIN = TESTS / "cupy_standin"
D2H = "the current stream is capturing, so D2H transfers are disallowed"


def _standin_is_cupy() -> bool:
    spec = importlib.util.find_spec("cupy")
    if spec is None or spec.origin is None:
        return False
    return Path(spec.origin).resolve().is_relative_to(STANDIN.resolve())


IN_PROCESS = _standin_is_cupy()
if IN_PROCESS:
    import cupy
    import cupyx

    CUDARuntimeError = cupy.cuda.runtime.CUDARuntimeError



@pytest.fixture(autouse=True)
def _standin_only(request):
    if not IN_PROCESS and request.node.name != "test_graph_tests_in_a_subprocess":
        pytest.skip("`import cupy` is not the stand-in here; "
                    "test_graph_tests_in_a_subprocess runs these with it")
    yield
    if IN_PROCESS:
        left = list(cupy._graph._active)
        for cap in left:
            cupy._graph._finish(cap)
        assert not left, "the test left a stream capturing"
        assert cupy._capturing is False


def test_graph_tests_in_a_subprocess():
    if IN_PROCESS:
        pytest.skip("the stand-in is this process's cupy: the tests ran here")
    env = dict(os.environ, CUPY_SIM_NDEV="2")
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(STANDIN), str(ROOT), *parts])
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
         "-x", str(Path(__file__).resolve())],
        cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert re.search(r"\b\d+ passed", proc.stdout) and "failed" not in proc.stdout, proc.stdout


@pytest.fixture
def s():
    return cupy.cuda.Stream(non_blocking=True)


def garbage(x) -> bool:
    """True when every element of ``x`` still holds the stand-in's "not computed" pattern."""
    a = x.get()
    if a.dtype.kind in "fc":
        return bool(np.isnan(a).all())
    if a.dtype.kind == "b":
        return bool(a.all())
    return bool((a == np.frombuffer(b"\xa5" * a.itemsize, a.dtype)[0]).all())


def capture(stream, fn):
    """Run ``fn`` while ``stream`` captures; returns (graph, what fn returned)."""
    with stream:
        stream.begin_capture()
        try:
            out = fn()
        finally:
            g = stream.end_capture()
    return g, out


# ---- the API ----------------------------------------------------------------------------------


def test_api_names_and_graph_construction(s):
    assert cupy.cuda.Graph is cupy.cuda.graph.Graph
    assert cupy.cuda.stream.Stream is cupy.cuda.Stream
    assert cupy.cuda.stream.get_current_stream is cupy.cuda.get_current_stream
    with pytest.raises(NotImplementedError, match="must be created via stream capture"):
        cupy.cuda.Graph()
    meta = cupy._META["Stream"]
    for name in ("begin_capture", "end_capture", "is_capturing", "launch_host_func"):
        assert name in meta and hasattr(s, name)
    assert {n for n in vars(cupy.cuda.Stream) if not n.startswith("_")} <= set(meta)
    r = cupy.cuda.runtime
    assert (r.streamCaptureModeGlobal, r.streamCaptureModeThreadLocal,
            r.streamCaptureModeRelaxed) == (0, 1, 2)
    assert not s.is_capturing()
    with s:
        assert cupy.cuda.get_current_stream() is s
        s.begin_capture()
        assert s.is_capturing() and cupy._capturing
        g = s.end_capture()
    assert isinstance(g, cupy.cuda.Graph) and not s.is_capturing() and not cupy._capturing
    assert cupy.cuda.get_current_stream() is cupy.cuda.Stream.null
    g.launch()  # an empty graph
    g.upload()


def test_capturing_on_the_null_stream_fails_as_cupys():
    for st in (cupy.cuda.Stream.null, cupy.cuda.Stream(null=True),
               cupy.cuda.get_current_stream()):
        with pytest.raises(RuntimeError, match=r"^cannot capture on the default \(legacy\) "
                           r"stream$"):
            st.begin_capture()
    with pytest.warns(DeprecationWarning):
        legacy = cupy.cuda.ExternalStream(cupy.cuda.runtime.streamLegacy)
    with pytest.raises(RuntimeError, match="cannot capture on the default"):
        legacy.begin_capture()
    assert not cupy._capturing


def test_capture_follows_the_current_stream(s):
    a = cupy.arange(3.0)
    s.begin_capture()  # capturing, but not current: work runs at once
    b = a + 1
    assert b.get().tolist() == [1.0, 2.0, 3.0]
    prev = cupy.cuda.get_current_stream()
    s.use()
    c = a + 2
    prev.use()
    d = a + 3
    g = s.end_capture()
    assert garbage(c) and d.get().tolist() == [3.0, 4.0, 5.0]
    g.launch()
    assert c.get().tolist() == [2.0, 3.0, 4.0]


# ---- recording, not executing ----------------------------------------------------------------


def test_every_kind_of_work_is_recorded_not_executed(s):
    x = cupy.arange(6.0).reshape(2, 3)
    xi = cupy.arange(6, dtype=cupy.int64)
    idx = cupy.array([2, 0])
    kern = cupy.ElementwiseKernel("T a, T b", "T c", "c = a * b + 1", "fma1")
    inplace = cupy.ones(3)
    target = cupy.zeros(6)
    filled = cupy.zeros(4, dtype=cupy.int32)
    copied_into = cupy.zeros((2, 3))
    scattered = cupy.zeros(3)
    host = np.array([7.0, 8.0])

    def work():
        inplace.__iadd__(2.0)  # in-place operator
        target[1:3] = 5.0  # setitem
        target[idx] = x.ravel()[:2]  # advanced setitem
        filled.fill(9)
        cupy.copyto(copied_into, x * 2)
        cupy.add.at(scattered, cupy.array([0, 0, 2]), 1.0)
        return {
            "ufunc": cupy.exp(x),
            "operator": x * 2 + 1,
            "reverse operator": 10 - x,
            "comparison": x > 2,
            "reduction": x.sum(axis=0),
            "full reduction": x.sum(),
            "argmax": cupy.argmax(x),
            "function": cupy.concatenate([x, x]),
            "where": cupy.where(x > 2, x, -x),
            "take": cupy.take(x.ravel(), idx),
            "advanced getitem": x.ravel()[idx],
            "copy": x.copy(),
            "astype": x.astype(cupy.float32),
            "kernel": kern(x, x),
            "creation": cupy.arange(5),
            "zeros_like": cupy.zeros_like(x),
            "int matmul": cupy.matmul(xi.reshape(2, 3), xi.reshape(3, 2)),
            "from host": cupy.array(host),
            "method": x.cumsum(),
            "fft": cupy.fft.fft(x),
        }

    g, outs = capture(s, work)
    for name, out in outs.items():
        assert isinstance(out, cupy.ndarray) and garbage(out), name
    assert inplace.get().tolist() == [1.0] * 3 and not target.get().any()
    assert not filled.get().any() and not copied_into.get().any() and not scattered.get().any()
    host[:] = 0  # CuPy uploaded the host array at the call: later host changes do not count

    g.launch()
    xn = np.arange(6.0).reshape(2, 3)
    want = {
        "ufunc": np.exp(xn), "operator": xn * 2 + 1, "reverse operator": 10 - xn,
        "comparison": xn > 2, "reduction": xn.sum(0), "full reduction": xn.sum(),
        "argmax": 5, "function": np.concatenate([xn, xn]), "where": np.where(xn > 2, xn, -xn),
        "take": [2.0, 0.0], "advanced getitem": [2.0, 0.0], "copy": xn, "astype": xn,
        "kernel": xn * xn + 1, "creation": np.arange(5), "zeros_like": 0 * xn,
        "int matmul": np.arange(6).reshape(2, 3) @ np.arange(6).reshape(3, 2),
        "from host": [7.0, 8.0], "method": xn.cumsum(), "fft": np.fft.fft(xn),
    }
    for name, out in outs.items():
        np.testing.assert_allclose(out.get(), want[name], err_msg=name)
    assert inplace.get().tolist() == [3.0] * 3
    assert target.get().tolist() == [1.0, 5.0, 0.0, 0.0, 0.0, 0.0]  # in issue order
    assert filled.get().tolist() == [9] * 4 and scattered.get().tolist() == [2.0, 0.0, 1.0]
    np.testing.assert_array_equal(copied_into.get(), 2 * xn)


def test_views_are_metadata_only_and_writes_through_them_are_recorded(s):
    a = cupy.arange(6.0)

    def work():
        v = a[1:4]
        r = a.reshape(2, 3)
        t = r.T
        v[...] = -1.0
        return v, r, t

    g, (v, r, t) = capture(s, work)
    assert v.base is a and r.base is a and t.base is a
    assert a.get().tolist() == [0, 1, 2, 3, 4, 5]  # the write waits for the launch
    g.launch()
    assert a.get().tolist() == [0, -1, -1, -1, 4, 5] and t.get()[0].tolist() == [0, -1]


def test_launch_reads_the_inputs_current_contents_and_can_run_again(s):
    x = cupy.array([1.0, 2.0, 3.0])
    acc = cupy.zeros(3)

    def step():
        y = x * 10
        acc[...] += y
        return y, acc.sum()

    g, (y, total) = capture(s, step)
    assert garbage(y) and garbage(total) and not acc.get().any()
    g.launch()
    assert y.get().tolist() == [10, 20, 30] and float(total) == 60.0
    x[...] = cupy.array([0.5, 0.5, 0.5])  # an in-place update of the graph's input
    g.launch()
    assert y.get().tolist() == [5, 5, 5] and float(total) == 75.0
    x.set(np.array([1.0, 1.0, 1.0]))
    for _ in range(3):
        g.launch()
    assert acc.get().tolist() == [45.0, 55.0, 65.0] and float(total) == 165.0


def test_a_graph_launches_on_any_stream(s):
    a = cupy.arange(4, dtype=cupy.int32)
    g, b = capture(s, lambda: (a * 3) % 5)
    other = cupy.cuda.Stream()
    with other:
        g.upload()
        g.launch()
    other.synchronize()
    assert b.get().tolist() == [0, 3, 1, 4]
    g.launch(stream=cupy.cuda.Stream.null)
    assert b.get().tolist() == [0, 3, 1, 4]


def test_garbage_indices_from_earlier_nodes_do_not_fail_the_capture(s):
    x = cupy.array([3.0, 9.0, 4.0])
    k = cupy.arange(3)
    g, (picked, powers) = capture(s, lambda: (x[cupy.argmax(x)] + x.take(cupy.argmin(x)),
                                              k ** cupy.argmax(x)))  # 0xA5.. < 0: NumPy raises
    assert garbage(picked) and garbage(powers)
    g.launch()
    assert float(picked) == 12.0 and powers.get().tolist() == [0, 1, 2]


# ---- host synchronisation ---------------------------------------------------------------------


@pytest.mark.parametrize("sync", [
    "get", "asnumpy", "item", "float", "int", "bool", "tolist", "repr", "str", "tobytes",
    "format", "get(stream)",
])
def test_device_to_host_copies_raise_cupys_error_and_keep_the_capture(s, sync):
    a = cupy.arange(3.0)
    one = a[:1]
    ops = {
        "get": lambda: a.get(), "asnumpy": lambda: cupy.asnumpy(a),
        "item": lambda: one.item(), "float": lambda: float(one), "int": lambda: int(one),
        "bool": lambda: bool(one), "tolist": lambda: a.tolist(), "repr": lambda: repr(a),
        "str": lambda: str(a), "tobytes": lambda: a.tobytes(), "format": lambda: f"{one[0]:.2f}",
        "get(stream)": lambda: a.get(stream=s),
    }
    with s:
        s.begin_capture()
        b = a + 1
        with pytest.raises(RuntimeError) as e:
            ops[sync]()
        assert type(e.value) is RuntimeError and str(e.value) == D2H
        assert s.is_capturing()  # CuPy raises before calling CUDA: the capture survives
        g = s.end_capture()
    g.launch()
    assert b.get().tolist() == [1.0, 2.0, 3.0]
    assert cupy.asnumpy(a).tolist() == [0.0, 1.0, 2.0]  # fine again outside the capture


@pytest.mark.parametrize("op", [
    "nonzero", "argwhere", "where(cond)", "mask getitem", "mask setitem", "unique", "compress",
    "choose", "cupyx.scatter_add(mask)",
])
def test_routines_that_count_on_the_host_raise_while_capturing(s, op):
    a = cupy.arange(5.0)
    ops = {
        "nonzero": lambda: cupy.nonzero(a), "argwhere": lambda: cupy.argwhere(a),
        "where(cond)": lambda: cupy.where(a > 2), "mask getitem": lambda: a[a > 2],
        "mask setitem": lambda: a.__setitem__(a > 2, 0.0), "unique": lambda: cupy.unique(a),
        "compress": lambda: cupy.compress(a > 2, a),
        "choose": lambda: cupy.choose(cupy.array([0, 1]), cupy.ones((2, 2))),
        "cupyx.scatter_add(mask)": lambda: cupyx.scatter_add(a, a > 2, 1.0),
    }
    with s:
        s.begin_capture()
        with pytest.raises(RuntimeError, match=re.escape(D2H)):
            ops[op]()
        s.end_capture()


def test_synchronize_invalidates_the_capture(s):
    pre = cupy.ones(1)
    with s:
        s.begin_capture()
        with pytest.raises(CUDARuntimeError, match="^cudaErrorStreamCaptureUnsupported: "
                           "operation not permitted when stream is capturing$"):
            s.synchronize()
        with pytest.raises(RuntimeError, match="an error has invalidated the capture sequence"):
            s.is_capturing()
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated"):
            cupy.ones(2) + 1  # further work on an invalidated capture
        with pytest.raises(RuntimeError, match="invalidated the capture sequence"):
            pre.get()
        with pytest.raises(CUDARuntimeError, match="^cudaErrorStreamCaptureInvalidated: "
                           "operation failed due to a previous error during capture$"):
            s.end_capture()
    assert not s.is_capturing() and not cupy._capturing
    s.synchronize()  # usable again
    assert (cupy.ones(2) + 1).get().tolist() == [2.0, 2.0]


@pytest.mark.parametrize("how", ["Device.synchronize", "runtime.deviceSynchronize",
                                 "Stream.done", "Event.synchronize", "add_callback"])
def test_other_synchronisation_invalidates_the_capture(s, how):
    ev = cupy.cuda.Event()
    with s:
        s.begin_capture()
        ev.record()
        if how == "Stream.done":
            assert s.done is False  # cudaStreamQuery returns the error, CuPy does not raise
        else:
            fn = {"Device.synchronize": lambda: cupy.cuda.Device().synchronize(),
                  "runtime.deviceSynchronize": cupy.cuda.runtime.deviceSynchronize,
                  "Event.synchronize": ev.synchronize,
                  "add_callback": lambda: s.add_callback(lambda *a: None, None)}[how]
            code = "cudaErrorCapturedEvent" if how == "Event.synchronize" else \
                "cudaErrorStreamCaptureUnsupported"
            with pytest.raises(CUDARuntimeError, match=code):
                fn()
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated"):
            s.end_capture()
    assert not s.is_capturing()


def test_library_calls_cupy_cannot_capture(s):
    f = cupy.ones((3, 3))
    i = cupy.ones((3, 3), dtype=cupy.int32)
    with s:
        s.begin_capture()
        for fn in (lambda: f @ f, lambda: cupy.dot(f, f), lambda: f.dot(f),
                   lambda: cupy.einsum("ij,jk->ik", f, f), lambda: cupy.linalg.matmul(f, f),
                   lambda: cupy.linalg.matrix_power(f, 3)):
            with pytest.raises(NotImplementedError, match="^calling cuBLAS API during stream "
                               "capture is currently unsupported$"):
                fn()
        for fn in (lambda: cupy.linalg.svd(f), lambda: cupy.linalg.inv(f),
                   lambda: cupy.linalg.solve(f, f), lambda: cupy.linalg.norm(f, 2)):
            with pytest.raises(NotImplementedError, match="calling cuSOLVER API"):
                fn()
        for fn in (lambda: cupy.random.random(4), lambda: cupy.random.rand(2),
                   lambda: cupy.random.RandomState(0).normal(size=3),
                   lambda: cupy.random.shuffle(cupy.arange(3))):
            with pytest.raises(NotImplementedError, match="calling cuRAND API during stream "
                               "capture is currently unsupported"):
                fn()
        ints = i @ i  # integer products use CuPy's own kernel, not cuBLAS
        norm = cupy.linalg.norm(f)  # Frobenius: an elementwise kernel and a reduction
        g = s.end_capture()  # the refusals happened in CuPy: the capture is intact
    g.launch()
    assert ints.get().tolist() == [[3] * 3] * 3 and float(norm) == 3.0


# ---- memory -----------------------------------------------------------------------------------


def test_a_captured_output_freed_before_launch_is_an_error(s):
    a = cupy.arange(4.0)

    def work():
        t = a * 2  # dies during the capture: graph-private scratch, as in CuPy's own tests
        out = t + 1
        keep = (out * 3)[1:]  # alive only through a view: still alive
        return out, keep

    g, (out, keep) = capture(s, work)
    g.launch()
    assert out.get().tolist() == [1, 3, 5, 7] and keep.get().tolist() == [9, 15, 21]
    del out
    gc.collect()
    with pytest.raises(RuntimeError, match=r"float64 array of shape \(4,\) made by 'add' "
                       "during stream capture was freed before the launch"):
        g.launch()


def test_the_global_capture_mode_refuses_cudamalloc(s):
    pool = cupy.get_default_memory_pool()
    x = cupy.ones(1000)
    pool.free_all_blocks()
    with s:
        s.begin_capture(mode=cupy.cuda.runtime.streamCaptureModeGlobal)
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnsupported"):
            x + 1  # no cached block: cudaMalloc, an unsafe call in this mode
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated"):
            s.end_capture()
    scratch = cupy.empty(1000)
    del scratch  # its block stays cached in the pool
    with s:
        s.begin_capture(mode=cupy.cuda.runtime.streamCaptureModeGlobal)
        y = x + 1  # served from the cache: no cudaMalloc
        g = s.end_capture()
    g.launch()
    assert float(y.sum()) == 2000.0
    with s:
        s.begin_capture()  # relaxed (CuPy's default): cudaMalloc is allowed
        pool.free_all_blocks()
        z = x + 2
        g = s.end_capture()
    g.launch()
    assert float(z[0]) == 3.0


# ---- random numbers ---------------------------------------------------------------------------


def test_generator_draws_are_captured_and_each_launch_draws_new_numbers(s):
    rng = cupy.random.default_rng(7)
    ref = cupy.random.default_rng(7)
    out = cupy.full(3, np.nan, dtype=cupy.float32)
    g, (u, n) = capture(s, lambda: (rng.random(4), rng.standard_normal(dtype=cupy.float32,
                                                                       out=out)))
    assert garbage(u) and garbage(out) and n is out  # (out: left as it was)
    first = ref.random(4).get()
    first_n = ref.standard_normal(dtype=cupy.float32, out=cupy.empty(3, cupy.float32)).get()
    g.launch()  # the capture did not advance the state: the first launch draws the first numbers
    np.testing.assert_array_equal(u.get(), first)
    np.testing.assert_array_equal(out.get(), first_n)
    g.launch()
    np.testing.assert_array_equal(u.get(), ref.random(4).get())
    assert not np.array_equal(u.get(), first)
    ref.standard_normal(dtype=cupy.float32, out=cupy.empty(3, cupy.float32))
    between = rng.random(2).get()  # eager draws share the stream with the graph's
    np.testing.assert_array_equal(between, ref.random(2).get())
    g.launch()
    np.testing.assert_array_equal(u.get(), ref.random(4).get())


def test_creating_a_generator_while_capturing_is_not_modelled(s):
    with s:
        s.begin_capture()
        with pytest.raises(NotImplementedError, match="not modelled"):
            cupy.random.default_rng(0)
        s.end_capture()


# ---- streams: legacy stream, forks, errors ----------------------------------------------------


def test_the_legacy_stream_and_a_blocking_capturing_stream():
    blocking = cupy.cuda.Stream(non_blocking=False)
    a = cupy.arange(3.0)
    with blocking:
        blocking.begin_capture()
        b = a + 4
        assert blocking.is_capturing()
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureImplicit"):
            cupy.cuda.Stream.null.is_capturing()
        g = blocking.end_capture()  # querying does not invalidate
    g.launch()
    assert b.get().tolist() == [4.0, 5.0, 6.0]
    with blocking:
        blocking.begin_capture()
    with pytest.raises(CUDARuntimeError, match="^cudaErrorStreamCaptureImplicit: operation "
                       "would make the legacy stream depend on a capturing blocking stream$"):
        a + 1  # work on the legacy stream
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated"):
        blocking.end_capture()
    nb = cupy.cuda.Stream(non_blocking=True)
    nb.begin_capture()
    assert not cupy.cuda.Stream.null.is_capturing()
    assert (a + 1).get().tolist() == [1.0, 2.0, 3.0]  # a non-blocking capture is isolated
    nb.end_capture()


def test_fork_and_join_through_events(s):
    s2 = cupy.cuda.Stream(non_blocking=True)
    e1, e2 = cupy.cuda.Event(), cupy.cuda.Event()
    a = cupy.arange(3.0)
    with s:
        s.begin_capture()
        out1 = a * 100
        e1.record(s)
        s2.wait_event(e1)  # s2 joins the capture
        with s2:
            out2 = 3 * out1 + 1
            e2.record(s2)
        assert s2.is_capturing()
        s.wait_event(e2)
        g = s.end_capture()
    assert not s.is_capturing() and not s2.is_capturing()
    g.launch()
    assert out2.get().tolist() == [1.0, 301.0, 601.0]


def test_capture_sequence_errors_are_cudas(s):
    s2 = cupy.cuda.Stream(non_blocking=True)
    e = cupy.cuda.Event()
    a = cupy.arange(3.0)
    with pytest.raises(CUDARuntimeError, match="cudaErrorIllegalState"):
        s.end_capture()
    with s:
        s.begin_capture()
        with pytest.raises(CUDARuntimeError, match="cudaErrorIllegalState"):
            s.begin_capture()
        with pytest.raises(CUDARuntimeError, match="cudaErrorIllegalState"):
            s2.end_capture()
        e.record(s)
        s2.wait_event(e)
        with s2:
            a ** 3
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnmatched"):
            s2.end_capture()
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated"):
            s.end_capture()
    assert not s.is_capturing() and not s2.is_capturing()
    with s:  # a fork never joined back
        s.begin_capture()
        s.record(e)
        s2.wait_event(e)
        with s2:
            with pytest.raises(RuntimeError, match="is capturing"):
                cupy.where(a > 0.5)
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnjoined"):
            s.end_capture()
    assert not s.is_capturing() and not s2.is_capturing()
    done = cupy.cuda.Event()
    done.record()  # outside any capture
    with s:
        s.begin_capture()
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureIsolation"):
            s.wait_event(done)
        with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated"):
            s.end_capture()
        with pytest.raises(CUDARuntimeError, match="cudaErrorInvalidValue"):
            s.begin_capture(mode=7)


def test_host_functions_run_at_each_launch(s):
    count = {"n": 0}

    def bump(c):
        c["n"] += 1

    with s:
        s.begin_capture()
        s.launch_host_func(bump, count)
        g = s.end_capture()
    assert count["n"] == 0
    g.launch()
    g.launch()
    assert count["n"] == 2
    s.launch_host_func(bump, count)  # outside a capture it runs (the stand-in is synchronous)
    assert count["n"] == 3


def test_launching_into_a_capture_is_not_modelled(s):
    g, _ = capture(s, lambda: cupy.ones(2) * 2)
    with s:
        s.begin_capture()
        with pytest.raises(NotImplementedError, match="child graph"):
            g.launch()
        s.end_capture()


def test_other_threads_and_devices_are_not_captured(s):
    a = cupy.arange(3.0)
    got = {}

    def other():
        got["r"] = (a + 1).get().tolist()  # this thread's current stream is the null stream

    with s:
        s.begin_capture()
        t = threading.Thread(target=other)
        t.start()
        t.join()
        if cupy.cuda.runtime.getDeviceCount() > 1:
            with cupy.cuda.Device(1):  # device 1's current stream is its null stream
                got["dev1"] = (cupy.arange(2.0) + 1).get().tolist()
        s.end_capture()
    assert got["r"] == [1.0, 2.0, 3.0]
    assert got.get("dev1", [1.0, 2.0]) == [1.0, 2.0]


def test_errors_surface_at_the_call_and_data_dependent_shapes_at_launch(s):
    n = cupy.array(3)
    with s:
        s.begin_capture()
        with pytest.raises(ValueError, match="broadcast"):
            cupy.ones(2) + cupy.ones(3)  # checked when issued, as CuPy does
        # (CuPy would read ``n`` on the host here; the stand-in lets NumPy take it)
        r = cupy.arange(n)
        g = s.end_capture()
    g.launch()
    assert r.get().tolist() == [0, 1, 2]
    n.fill(4)
    with pytest.raises(RuntimeError, match="its output shape depends on the data"):
        g.launch()


# ---- RawKernel: the CUDA source, compiled for the CPU and run thread by thread ---------------

SAXPY = r"""
extern "C" __global__ void saxpy(const float* x, float* y, float a, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""


def test_rawkernel_runs_its_source_over_the_grid():
    k = cupy.RawKernel(SAXPY, "saxpy")
    x = cupy.arange(10, dtype=np.float32)
    y = cupy.ones(10, dtype=np.float32)
    k((3,), (4,), (x, y, np.float32(2), np.int64(10)))  # 12 threads, 2 past the end
    np.testing.assert_array_equal(y.get(), 2 * np.arange(10, dtype=np.float32) + 1)
    y[...] = 0
    k((2,), (4,), (x[2:], y[1:6], np.float32(1), 5))  # a slice passes its own address
    assert y.get().tolist() == [0, 2, 3, 4, 5, 6, 0, 0, 0, 0]  # and a Python int is int64


def test_rawkernel_checks_arguments_strictly():
    k = cupy.RawKernel(SAXPY, "saxpy")
    x = cupy.zeros(4, dtype=np.float32)
    with pytest.raises(TypeError, match="Unsupported type"):
        k((1,), (4,), (np.zeros(4, np.float32), x, np.float32(1), np.int64(4)))
    with pytest.raises(TypeError, match="parameter a is float"):
        k((1,), (4,), (x, x, 1.0, np.int64(4)))  # a Python float is a double
    with pytest.raises(TypeError, match="parameter n is long long"):
        k((1,), (4,), (x, x, np.float32(1), np.int32(4)))
    with pytest.raises(TypeError, match="takes 4 arguments"):
        k((1,), (4,), (x, x, np.float32(1)))
    with pytest.raises(ValueError, match="grid"):
        k((0,), (4,), (x, x, np.float32(1), np.int64(4)))
    with pytest.raises(RuntimeError, match="named symbol not found"):
        cupy.RawKernel(SAXPY, "nope")((1,), (1,), ())
    shared = SAXPY.replace("long long i", "__shared__ float t[4]; long long i")
    with pytest.raises(NotImplementedError, match="__shared__"):
        cupy.RawKernel(shared, "saxpy")((1,), (4,), (x, x, np.float32(1), np.int64(4)))
    with pytest.raises(cupy.cuda.compiler.CompileException):
        cupy.RawKernel(SAXPY.replace("y[i] =", "y[i] = undefined_name +"), "saxpy")(
            (1,), (4,), (x, x, np.float32(1), np.int64(4)))


def test_rawkernel_launch_is_captured_and_runs_at_each_graph_launch(s):
    k = cupy.RawKernel(SAXPY, "saxpy")
    x = cupy.full(8, 2, dtype=np.float32)
    y = cupy.zeros(8, dtype=np.float32)
    with s:
        s.begin_capture()
        k((2,), (4,), (x, y, np.float32(3), np.int64(8)))
        g = s.end_capture()
    assert float(y.sum()) == 0.0  # recorded, not run
    g.launch(s)
    g.launch(s)
    s.synchronize()
    assert y.get().tolist() == [12.0] * 8
