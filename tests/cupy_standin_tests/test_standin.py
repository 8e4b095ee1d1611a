"""Tests of the CuPy stand-in (``tests/cupy_standin``) itself: that it refuses what CuPy refuses,
tags arrays with their (simulated) device, counts pool memory per device, and keeps the XORWOW
state where a snapshot can find it.

How the stand-in gets imported: a process has one ``cupy``. When ``import cupy`` resolves to the
stand-in (the CUDA half of the suite runs with ``tests/cupy_standin`` first on PYTHONPATH), the
tests below run in this process; two simulated GPUs are switched on per test with
``cupy._sim_set_device_count(2)``. Otherwise (a plain run, where ``cupy`` is the real CuPy or
absent), these in-process tests skip and ``test_standin_tests_in_a_subprocess`` runs this file
again in a subprocess with the stand-in first on PYTHONPATH and ``CUPY_SIM_NDEV=2``, so they
always run somewhere.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
STANDIN = TESTS / "cupy_standin"
PEER_TEXT = ("The device where the array resides ({}) is different from the current device ({}). "
             "Peer access is unavailable between these devices.")


def _standin_is_cupy() -> bool:
    spec = importlib.util.find_spec("cupy")
    if spec is None or spec.origin is None:
        return False
    return Path(spec.origin).resolve().is_relative_to(STANDIN.resolve())


IN_PROCESS = _standin_is_cupy()
if IN_PROCESS:
    import cupy
    import cupyx
    import cupyx.scipy.special  # noqa: F401

in_process = pytest.mark.skipif(
    not IN_PROCESS, reason="`import cupy` is not the stand-in here; "
    "test_standin_tests_in_a_subprocess runs these with it")


def test_standin_tests_in_a_subprocess():
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
def two_gpus():
    prev = cupy._sim_set_device_count(2)
    cupy.cuda.runtime.setDevice(0)
    yield
    cupy.cuda.runtime.setDevice(0)
    cupy._sim_set_device_count(prev)


def on(dev, fn):
    with cupy.cuda.Device(dev):
        return fn()


# ---- no implicit transfers, CuPy's results -----------------------------------------------------


@in_process
def test_implicit_host_conversion_is_refused():
    a = cupy.arange(3.0)
    for f in (np.asarray, np.array, lambda x: np.add(np.ones(3), x).sum()):
        with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"
                           "|Unsupported type"):
            f(a)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        cupy.add(a, np.ones(3))
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        cupy.concatenate([a, np.ones(3)])
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[...] = np.ones(3)
    a.set(np.ones(3))  # explicit transfers work
    assert a.get().tolist() == [1.0, 1.0, 1.0] and cupy.asnumpy(a).sum() == 3.0
    assert float(a.sum()) == 3.0


@in_process
def test_results_are_device_arrays_never_numpy_scalars():
    a = cupy.arange(6.0).reshape(2, 3)
    for r in (a.sum(), a[0, 1], a.max(), cupy.argmax(a), cupy.count_nonzero(a),
              cupy.array_equal(a, a), cupy.allclose(a, a)):
        assert type(r) is cupy.ndarray and r.shape == ()
    with pytest.raises(TypeError):
        range(cupy.array(3))  # no __index__
    out = cupy.empty(3)
    assert cupy.add(a[0], 1, out=out) is out
    assert (a + 1).base is None and a[1:].base is a.base and a.T.base is a.base


@in_process
def test_only_cupys_names_and_keywords():
    a = cupy.arange(4.0)
    meta = cupy._META
    assert not hasattr(cupy.random.Generator, "permutation")
    with pytest.raises(TypeError, match="initial"):
        cupy.sum(a, initial=0.0)
    with pytest.raises(TypeError, match="Wrong arguments"):
        cupy.add(a, a, where=a > 1)
    for name in ("setflags", "resize", "ctypes"):
        assert not hasattr(a, name)
    with pytest.raises(TypeError):
        hash(cupy.cuda.Device(0))  # CuPy's Device is unhashable
    checks = [(cupy, "cupy"), (cupy.cuda, "cupy.cuda"), (cupy.cuda.runtime, "cupy.cuda.runtime"),
              (cupy.linalg, "cupy.linalg"), (cupy.fft, "cupy.fft"), (cupy.random, "cupy.random"),
              (cupyx, "cupyx"), (cupyx.scipy.special, "cupyx.scipy.special"),
              (cupy.lib.stride_tricks, "cupy.lib.stride_tricks")]
    for mod, key in checks:
        extra = {n for n in vars(mod) if not n.startswith("_")} - set(meta[key]) - {
            "Generator", "annotations"}
        assert not extra, f"{key} has names the real CuPy lacks: {sorted(extra)}"
    extra = {n for n in vars(cupy.ndarray) if not n.startswith("_")} - set(meta["ndarray"])
    assert not extra, sorted(extra)
    assert {n for n in vars(cupy.cuda.Device) if not n.startswith("_")} <= set(meta["Device"])
    assert {n for n in vars(type(cupy.get_default_memory_pool()))
            if not n.startswith("_")} <= set(meta["MemoryPool"])


@in_process
def test_standin_has_every_name_gpuarr_uses():
    import cupy_names

    uses, _ = cupy_names.scan(str(ROOT / "gpuarr"))
    missing = sorted({u.dotted for u in uses
                      if cupy_names._resolve(u.base, u.chain)[1] is not None})
    assert uses and not missing, f"the stand-in lacks names gpuarr uses: {missing}"


@in_process
def test_sorts_are_stable_as_cupys():
    a = cupy.array([3, 1, 3, 1, 3, 1] * 50)
    idx = cupy.argsort(a).get()
    assert (np.diff(idx[:150]) > 0).all() and (np.diff(idx[150:]) > 0).all()
    with pytest.raises(ValueError, match="kind can only be None or 'stable'"):
        cupy.sort(a, kind="quicksort")


@in_process
def test_methods_and_ufuncs_have_cupys_kinds():
    """As in CuPy: ndarray methods name their class in ``__objclass__`` (CuPy's are method
    descriptors) and ufuncs are CuPy's own ``ufunc`` type, not NumPy's."""
    for name in ("sum", "reshape", "astype", "copy", "transpose"):
        assert getattr(cupy.ndarray, name).__objclass__ is cupy.ndarray, name
    assert type(cupy.add).__name__ == "ufunc" and not isinstance(cupy.add, np.ufunc)
    assert type(cupy.add).__module__.startswith("cupy")


# ---- devices --------------------------------------------------------------------------------


@in_process
def test_arrays_remember_their_device(two_gpus):
    a = cupy.ones(3)
    b = on(1, lambda: cupy.ones(3))
    assert a.device == cupy.cuda.Device(0) and a.data.device_id == 0
    assert b.device.id == 1 and b.data.device_id == 1 and b.data.device.id == 1
    c = on(1, lambda: b * 2 + cupy.arange(3.0))
    assert c.device.id == 1
    for view in (b[1:], b.reshape(3, 1), b.T, b.view(), b[None], b[0], b.ravel(),
                 cupy.expand_dims(b, 0), cupy.broadcast_to(b, (2, 3)), cupy.squeeze(b)):
        assert view.device.id == 1  # views need no kernel: any device may take them
        assert view.base is b or view is b  # (b.T of a 1-d array is b)
    assert cupy.ascontiguousarray(b) is b
    assert cupy.cuda.runtime.getDevice() == 0 and cupy.cuda.Device().id == 0


@in_process
def test_kernels_on_another_devices_array_raise_cupys_error(two_gpus):
    b = on(1, lambda: cupy.arange(4.0))
    k = cupy.ElementwiseKernel("T x", "T y", "y = x * 2", "double_it")
    ops = {
        "ufunc": lambda: b + 1,
        "function": lambda: cupy.exp(b),
        "concatenate": lambda: cupy.concatenate([cupy.ones(2), b]),
        "reduction": lambda: b.sum(),
        "method": lambda: b.argmax(),
        "astype": lambda: b.astype(cupy.float32),
        "advanced getitem": lambda: b[cupy.array([0, 1])],
        "mask getitem": lambda: b[b > 1],
        "setitem": lambda: b.__setitem__(0, 5.0),
        "fill": lambda: b.fill(2.0),
        "kernel": lambda: k(b),
        "kernel output": lambda: k(cupy.ones(4), on(1, lambda: cupy.empty(4))),
        "ufunc.at": lambda: cupy.add.at(b, cupy.array([0]), 1.0),
        "scatter_add": lambda: cupyx.scatter_add(b, cupy.array([0]), 1.0),
        "linalg": lambda: cupy.linalg.norm(b),
        "special": lambda: cupyx.scipy.special.erf(b),
        "out= elsewhere": lambda: cupy.sum(cupy.ones(4), out=on(1, lambda: cupy.zeros(()))),
    }
    for name, op in ops.items():
        with pytest.raises(ValueError) as e:
            op()
        assert str(e.value) == PEER_TEXT.format(1, 0), name
    a = cupy.ones(4)
    with cupy.cuda.Device(1), pytest.raises(ValueError) as e:
        a * b
    assert str(e.value) == PEER_TEXT.format(0, 1)
    assert b.get().tolist() == [0.0, 1.0, 2.0, 3.0]  # nothing was written


@in_process
def test_copies_cross_devices_and_land_on_the_current_one(two_gpus):
    b = on(1, lambda: cupy.arange(6.0).reshape(2, 3))
    for c in (b.copy(), cupy.array(b), cupy.copy(b), cupy.asarray(b, dtype=cupy.float32),
              cupy.array(b.T), b.copy(order="F")):
        assert c.device.id == 0 and c.base is None
        np.testing.assert_array_equal(c.get(), np.arange(6.0).reshape(2, 3)[:, :]
                                      if c.shape == (2, 3) else np.arange(6.0).reshape(2, 3).T)
    # CuPy 14.2's asarray: no copy on the array's own device, a copy onto the current one
    # from another (cupy/_core/core.pyx, _array_from_cupy_ndarray)
    assert on(1, lambda: cupy.asarray(b)) is b
    moved = cupy.asarray(b)
    assert moved is not b and moved.device.id == 0
    with pytest.raises(NotImplementedError, match="non-contiguous array between devices"):
        b[:, ::2].copy(order="K")
    d = on(1, lambda: b.__deepcopy__({}))
    assert b.__deepcopy__({}).device.id == 1 and d.device.id == 1  # deepcopy keeps the device
    # host copies work from anywhere
    assert b.get().sum() == 15.0 and cupy.asnumpy(b).shape == (2, 3)
    assert b[1, 2].item() == 5.0 and b.tolist()[1] == [3.0, 4.0, 5.0]
    assert float(b[0, 1]) == 1.0 and int(b[1, 0]) == 3 and bool(b[0, 1])
    assert "5." in repr(b)
    # a same-layout assignment is a memcpy: it works across devices, as in CuPy
    dst = cupy.zeros((2, 3))
    dst[...] = b
    assert dst.get().sum() == 15.0


@in_process
def test_a_missing_device_raises_cuda_invalid_device(two_gpus):
    d = cupy.cuda.Device(2)  # constructing is fine, as in CuPy
    for use in (lambda: d.use(), lambda: d.__enter__(), lambda: cupy.cuda.runtime.setDevice(2),
                lambda: d.compute_capability, lambda: cupy.cuda.runtime.getDeviceProperties(5)):
        with pytest.raises(cupy.cuda.runtime.CUDARuntimeError,
                           match="cudaErrorInvalidDevice: invalid device ordinal") as e:
            use()
        assert e.value.status == 101 and isinstance(e.value, RuntimeError)
    assert cupy.cuda.runtime.getDevice() == 0
    assert cupy.cuda.runtime.getDeviceCount() == 2
    assert cupy.cuda.runtime.deviceCanAccessPeer(0, 1) == 0


# ---- memory pool ----------------------------------------------------------------------------


@in_process
def test_pool_counts_live_arrays_per_device(two_gpus):
    pool = cupy.get_default_memory_pool()

    def used(dev):
        return on(dev, pool.used_bytes)

    base0, base1 = used(0), used(1)
    a = cupy.zeros(1000, dtype=cupy.float32)  # 4000 bytes: 4096 in CuPy's 512-byte blocks
    assert used(0) - base0 == 4096 and used(1) == base1
    views = (a[10:], a.reshape(10, 100), a.view(cupy.int32))
    assert used(0) - base0 == 4096  # views own nothing
    b = on(1, lambda: cupy.empty((10, 10)))  # 800 bytes -> 1024
    assert used(1) - base1 == 1024 and used(0) - base0 == 4096
    c = b.copy()  # lands on device 0
    assert used(0) - base0 == 4096 + 1024
    del a, views, c
    assert used(0) == base0
    assert on(1, pool.total_bytes) >= used(1)
    del b
    assert used(1) == base1 and on(1, pool.total_bytes) >= base1 + 1024  # cached, not freed
    on(1, pool.free_all_blocks)
    assert on(1, pool.total_bytes) == used(1)


# ---- random -----------------------------------------------------------------------------------


@in_process
def test_xorwow_state_is_a_device_array_as_in_cupy():
    bg = cupy.random.XORWOW(7, size=64)
    assert bg._state.dtype == cupy.int8 and bg._state.shape == (48 * 64,)
    assert bg._size == 64 and bg._current_device_id == 0
    assert isinstance(bg._seed_seq, np.random.SeedSequence) and bg.lock is not None
    assert bg._seed == np.random.SeedSequence(7).generate_state(1, np.uint32)[0]
    assert "__setstate__" not in vars(type(bg)) and "__getstate__" not in vars(type(bg))
    default = cupy.random.XORWOW(7)  # CuPy 14: 2048 states per multiprocessor (132 on an H200)
    assert default._size == 132 * 2048 and default._state.size == 48 * 132 * 2048


@in_process
def test_xorwow_snapshot_restores_the_exact_stream():
    bg = cupy.random.XORWOW(7, size=64)
    g = cupy.random.Generator(bg)
    g.random(5)
    snap = bg._state.get()  # what gpuarr saves: the curandState buffer
    want = [g.random(10).get(), g.standard_normal(4, dtype=cupy.float32).get(),
            g.integers(0, 100, 6).get(), g.uniform(size=3).get()]
    for restore in (lambda s: s.__setitem__(Ellipsis, cupy.asarray(snap)),
                    lambda s: s.set(snap)):
        bg2 = cupy.random.XORWOW(123, size=64)  # another seed: the state alone decides
        restore(bg2._state)
        g2 = cupy.random.Generator(bg2)
        got = [g2.random(10).get(), g2.standard_normal(4, dtype=cupy.float32).get(),
               g2.integers(0, 100, 6).get(), g2.uniform(size=3).get()]
        for w, x in zip(want, got):
            np.testing.assert_array_equal(w, x)
    assert not np.array_equal(cupy.random.Generator(cupy.random.XORWOW(7, size=64))
                              .random(10).get(), want[0])  # the stream moved on


@in_process
def test_generator_refuses_another_device(two_gpus):
    g = on(1, lambda: cupy.random.Generator(cupy.random.XORWOW(3, size=8)))
    assert g.bit_generator._state.device.id == 1
    for draw in (lambda: g.random(3), lambda: g.standard_normal(2), lambda: g.integers(5)):
        with pytest.raises(RuntimeError, match="This Generator state is allocated in a "
                           "different device"):
            draw()
    assert on(1, lambda: g.random(3)).device.id == 1


@in_process
def test_generator_has_cupys_methods_only():
    g = cupy.random.default_rng(0)
    ours = {n for n in dir(g) if not n.startswith("_")} - {"bit_generator"}
    real = {n for n in cupy._META["Generator"] if not n.startswith("_")}
    assert ours == real
    for name in ("permutation", "shuffle", "choice", "normal", "bytes"):
        assert not hasattr(g, name)
    with pytest.raises(TypeError, match="Unsupported dtype"):
        g.standard_normal(3, dtype=cupy.int32)


# ---- linalg, scatter, kernels -------------------------------------------------------------------


@in_process
def test_linalg_is_silent_unless_errstate():
    singular = cupy.zeros((2, 2))
    r = cupy.linalg.inv(singular)
    assert type(r) is cupy.ndarray and np.isnan(r.get()).all()
    with cupyx.errstate(linalg="raise"), pytest.raises(np.linalg.LinAlgError):
        cupy.linalg.inv(singular)


@in_process
def test_scatter_dtype_limits_are_cupys():
    idx = cupy.array([0, 0, 2])
    f = cupy.zeros(3, dtype=cupy.float32)
    cupyx.scatter_add(f, idx, 1.0)
    assert f.get().tolist() == [2.0, 0.0, 1.0]  # repeated indices accumulate
    with pytest.raises(TypeError, match="cupy.add.at only supports int32, float16, float32"):
        cupyx.scatter_add(cupy.zeros(3, dtype=cupy.int64), idx, 1)
    with pytest.raises(TypeError, match="cupy.subtract.at only supports int32, uint32"):
        cupy.subtract.at(f, idx, 1.0)
    with pytest.raises(NotImplementedError, match="multiply.at"):
        cupy.multiply.at(f, idx, 2.0)
    i64 = cupy.zeros(3, dtype=cupy.int64)
    cupyx.scatter_add(i64, i64 == 0, 1)  # a boolean mask has no dtype limit
    assert i64.get().tolist() == [1, 1, 1]


@in_process
def test_elementwise_kernel_checks_arguments_as_cupy():
    k = cupy.ElementwiseKernel("T x, T y", "T z", "z = x + y", "add_them")
    a = cupy.ones(3, dtype=cupy.float32)
    with pytest.raises(TypeError, match="Wrong number of arguments for 'add_them'"):
        k(a)
    with pytest.raises(TypeError, match="Type is mismatched"):
        k(a, cupy.ones(3), cupy.empty(3, dtype=cupy.float32))
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        k(a, np.ones(3, dtype=np.float32))
    assert k(a, 2.0).get().tolist() == [3.0, 3.0, 3.0]
    with pytest.raises(NotImplementedError):
        cupy.RawModule(code="extern \"C\" __global__ void f() {}")
    with pytest.raises(NotImplementedError, match="statement not supported"):
        cupy.ElementwiseKernel("T x", "T y", "if (x > 0) { y = x; }", "branchy")(a, a)


def _sgd(p, g, lr, wd, sign):
    return {"p": p - lr * (sign * g + wd * p)}


def _sgd_momentum(p, buf, g, lr, wd, sign, momentum, damp1, first, nesterov):
    d = sign * g + wd * p
    buf = d if first != 0 else momentum * buf + damp1 * d
    step = d + momentum * buf if nesterov != 0 else buf
    return {"p": p - lr * step, "buf": buf}


def _adam(p, m, v, g, sign, wd, decay, w1, b2, w2, bc2_sqrt, eps, step_size, vmax=None):
    d = sign * g + wd * p
    p = p * decay
    diff = d - m
    m = m + w1 * diff if w1 < 0.5 else d - diff * (1 - w1)
    v = v * b2 + (d * d) * w2
    out = {"m": m, "v": v}
    if vmax is not None:
        vmax = np.maximum(vmax, v)
        out["vmax"] = vmax
        v = vmax
    out["p"] = p - step_size * (m / (np.sqrt(v) / bc2_sqrt + eps))
    return out


# NumPy references of gpuarr's kernels (gpuarr/backends/cupy_kernels.py), and the scalars to
# run them with; every variant of the ternaries is covered
REFERENCES = {
    "gpuarr_sgd": (_sgd, [dict(lr=0.1, wd=0.01, sign=1.0), dict(lr=0.05, wd=0.0, sign=-1.0)]),
    "gpuarr_sgd_momentum": (_sgd_momentum, [
        dict(lr=0.1, wd=0.01, sign=1.0, momentum=0.9, damp1=0.8, first=f, nesterov=n)
        for f in (0.0, 1.0) for n in (0.0, 1.0)]),
    "gpuarr_adam": (_adam, [
        dict(sign=1.0, wd=0.01, decay=0.999, w1=w1, b2=0.999, w2=0.001, bc2_sqrt=0.3,
             eps=1e-8, step_size=0.01) for w1 in (0.1, 0.9)]),
    "gpuarr_adam_amsgrad": (lambda **kw: _adam(**kw), [
        dict(sign=-1.0, wd=0.0, decay=1.0, w1=w1, b2=0.99, w2=0.01, bc2_sqrt=0.5,
             eps=1e-6, step_size=0.1) for w1 in (0.1, 0.6)]),
}


def _kernel_cases():
    from gpuarr.backends.cupy_kernels import ELEMENTWISE

    return [pytest.param(s, dt, id=f"{s.name}-{dt}") for s in ELEMENTWISE for dt in s.dtypes]


@in_process
@pytest.mark.parametrize("spec,dtype", _kernel_cases())
def test_translator_runs_gpuarrs_kernels_as_numpy(spec, dtype):
    """Each of gpuarr's ElementwiseKernels, run by the stand-in's C->NumPy translator with
    arrays for ``array_inputs`` and Python floats for the other inputs (as gpuarr calls them),
    matches a NumPy transcription of its C body."""
    from cupy._elementwise import _parse_params

    ins = [n for _, n, _ in _parse_params(spec.in_params)]
    outs = [n for _, n, _ in _parse_params(spec.out_params)]
    k = cupy.ElementwiseKernel(spec.in_params, spec.out_params, spec.operation, spec.name,
                               preamble=spec.preamble)
    rng = np.random.default_rng(0)
    ref_fn, scalar_sets = REFERENCES.get(spec.name, (None, [{}]))
    for scalars in scalar_sets:
        arrays = {n: rng.standard_normal((3, 4)).astype(dtype) for n in outs}
        for n in ("v", "vmax"):
            if n in arrays:
                arrays[n] = np.abs(arrays[n])
        args_in = []
        host = dict(arrays)
        for n in ins:
            if n in spec.array_inputs:
                host[n] = rng.standard_normal((3, 4)).astype(dtype)
                args_in.append(cupy.asarray(host[n]))
            else:
                args_in.append(float(scalars.get(n, 0.5)))
        dev_out = [cupy.asarray(arrays[n]) for n in outs]
        k(*args_in, *dev_out)
        if ref_fn is None:
            pytest.skip(f"no NumPy reference for {spec.name}: add one to REFERENCES")
        t = np.dtype(dtype).type
        kw = {n: host[n] for n in host}
        kw.update({n: t(v) for n, v in scalars.items()})
        want = ref_fn(**kw)
        tol = dict(rtol=2e-6, atol=1e-7) if dtype == "float32" else dict(rtol=1e-13, atol=0)
        for n, got in zip(outs, dev_out):
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_allclose(got.get(), want[n], err_msg=f"{spec.name} {n} {scalars}",
                                       **tol)


@in_process
def test_module_docstrings_say_what_it_cannot_prove():
    for mod in (cupy, cupyx, cupy.random, sys.modules["cupy._elementwise"]):
        doc = inspect.getdoc(mod) or ""
        assert "stand-in" in doc, mod
    doc = inspect.getdoc(cupy)
    for words in ("numerics", "speed", "memory", "asynchrony"):
        assert words in doc
