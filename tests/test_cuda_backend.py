"""The backend seam and the bugs found on the CUDA path.

Tests that take ``device`` run on both halves; those marked ``cuda_only`` need a CUDA device
(a GPU, or the CuPy stand-in that ``make test`` puts on the path for the CUDA half).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gpuarr
from gpuarr import backends
from gpuarr.backends.base import Backend
from gpuarr.backends.cupy_backend import CupyBackend
from gpuarr.backends.numpy_backend import NumpyBackend

ROOT = Path(__file__).resolve().parents[1]


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


cuda_only = pytest.mark.skipif(not gpuarr.cuda.is_available(), reason="needs a CUDA device")


# ---- the seam ---------------------------------------------------------------------------


def _public_methods(cls) -> dict:
    return {n: inspect.signature(f) for n, f in vars(Backend).items()
            if callable(f) and not n.startswith("_")} if cls is Backend else {
        n: inspect.signature(getattr(cls, n)) for n in _public_methods(Backend)}


def _fusion_declined(cls, name: str) -> bool:
    """Whether ``name`` is an optional fused kernel that ``cls`` declines: its guard
    (``can_fuse_nll`` for ``fused_nll``, else ``can_fuse``) is the base class's, which says no."""
    if not name.startswith("fused_"):
        return False
    guard = "can_fuse" + name[len("fused"):]
    if not hasattr(Backend, guard):
        guard = "can_fuse"
    return getattr(cls, guard) is getattr(Backend, guard)


@pytest.mark.parametrize("cls", [NumpyBackend, CupyBackend])
def test_backends_implement_the_whole_interface(cls):
    base = _public_methods(Backend)
    assert len(base) > 30
    for name, sig in base.items():
        impl = getattr(cls, name)
        raises = "raise NotImplementedError" in inspect.getsource(getattr(Backend, name))
        if raises and not _fusion_declined(cls, name):
            assert impl is not getattr(Backend, name), f"{cls.__name__} lacks {name}"
        # same parameters (names, kinds, defaults) as the interface declares
        got = inspect.signature(impl)
        assert [(p.name, p.kind, p.default) for p in got.parameters.values()] == [
            (p.name, p.kind, p.default) for p in sig.parameters.values()], name


def test_no_cupy_outside_backends():
    import re

    pat = re.compile(r"xp is np|xp is not np|^\s*(import cupy|from cupy|import cupyx|from cupyx)",
                     re.M)
    hits = []
    for path in (ROOT / "gpuarr").rglob("*.py"):
        if "backends" in path.relative_to(ROOT / "gpuarr").parts:
            continue
        for m in pat.finditer(path.read_text()):
            hits.append(f"{path.relative_to(ROOT)}: {m.group(0).strip()}")
    assert hits == []


def test_device_types_come_from_the_registry():
    assert backends.device_types()[:2] == ("cpu", "cuda")
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        gpuarr.device("tpu")
    backends.register("fakedev", lambda: (None, "no fakedev here"), install_hint="Get one.")
    try:
        assert gpuarr.device("fakedev:0").type == "fakedev"
        with pytest.raises(RuntimeError, match="FAKEDEV is not available: no fakedev here. Get"):
            gpuarr.zeros(2, device="fakedev:0")
    finally:
        del backends._factories["fakedev"], backends._hints["fakedev"]
        backends._reasons.pop("fakedev", None)


def test_backend_of_and_of_module(device):
    t = gpuarr.ones(2, device=device)
    bk = backends.backend_of(t._data)
    assert bk.device_type == gpuarr.device(device).type
    assert backends.of_module(bk.xp) is bk


# ---- random generators -------------------------------------------------------------------


def test_generator_state_is_a_snapshot_that_round_trips(device, tmp_path):
    g = gpuarr.Generator(device).manual_seed(7)
    gpuarr.rand(5, generator=g, device=device)  # move away from the seed's start
    state = g.get_state()
    assert state.dtype == gpuarr.uint8 and state.device == gpuarr.device("cpu")
    frozen = to_np(state).copy()
    a = gpuarr.randn(1000, generator=g, device=device)
    np.testing.assert_array_equal(to_np(state), frozen)  # later draws leave it alone
    gpuarr.save({"rng": state}, tmp_path / "rng.safetensors")
    loaded = gpuarr.load(tmp_path / "rng.safetensors")["rng"]
    g2 = gpuarr.Generator(device).manual_seed(123)
    g2.set_state(loaded)
    b = gpuarr.randn(1000, generator=g2, device=device)
    np.testing.assert_array_equal(to_np(a), to_np(b))
    g.set_state(state)
    np.testing.assert_array_equal(to_np(gpuarr.randn(1000, generator=g, device=device)), to_np(a))


def test_generator_state_errors(device):
    g = gpuarr.Generator(device)
    with pytest.raises(TypeError, match="expected a torch.ByteTensor"):
        g.set_state(gpuarr.zeros(3))
    with pytest.raises(RuntimeError, match="not a generator state"):
        g.set_state(gpuarr.zeros(30, dtype=gpuarr.uint8))


@cuda_only
def test_cuda_state_does_not_fit_a_cpu_generator():
    s = gpuarr.Generator("cuda").get_state()
    with pytest.raises(RuntimeError, match="belongs to a cuda generator, this one is on cpu"):
        gpuarr.Generator("cpu").set_state(s)
    gpuarr.manual_seed(3)
    st = gpuarr.cuda.get_rng_state()
    a = gpuarr.rand(4, device="cuda")
    gpuarr.cuda.set_rng_state(st)
    np.testing.assert_array_equal(to_np(gpuarr.rand(4, device="cuda")), to_np(a))


def test_sparse_init(device):
    w = gpuarr.empty(20, 6, device=device)
    gpuarr.nn.init.sparse_(w, sparsity=0.3)
    zeros = (to_np(w) == 0).sum(axis=0)
    np.testing.assert_array_equal(zeros, np.full(6, 6))
    assert w.device.type == gpuarr.device(device).type


# ---- fused optimizer kernels ---------------------------------------------------------------


@cuda_only
@pytest.mark.parametrize("opt", ["adam", "adamw", "amsgrad", "adam-b2-0.9999", "sgd-nesterov"])
@pytest.mark.parametrize("dtype", [gpuarr.float32, gpuarr.float64])
def test_fused_and_generic_updates_agree(opt, dtype, monkeypatch):
    bk = gpuarr.device("cuda")._backend()
    assert bk.fused_optimizers

    def run(fused: bool):
        monkeypatch.setattr(bk, "fused_optimizers", fused)
        gpuarr.manual_seed(0)
        p = gpuarr.nn.Parameter(gpuarr.randn(64, 33, dtype=dtype, device="cuda"))
        if opt.startswith("sgd"):
            o = gpuarr.optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
        elif opt == "adamw":
            o = gpuarr.optim.AdamW([p], lr=1e-2, weight_decay=0.1)
        else:
            b2 = 0.9999 if opt.endswith("0.9999") else 0.999
            o = gpuarr.optim.Adam([p], lr=1e-2, betas=(0.9, b2), amsgrad=opt == "amsgrad",
                                  weight_decay=0.01)
        for step in range(20):
            o.zero_grad()
            g = gpuarr.randn(64, 33, dtype=dtype, device="cuda") * (1 + step)
            (p * g).sum().backward()
            o.step()
        return to_np(p.detach())

    fused, generic = run(True), run(False)
    np.testing.assert_allclose(fused, generic, rtol=1e-6, atol=1e-7)


# ---- mixing devices ----------------------------------------------------------------------


@cuda_only
def test_cpu_scalar_tensors_mix_with_cuda_tensors():
    x = gpuarr.arange(4.0, device="cuda").requires_grad_()
    s = gpuarr.tensor(2.0, requires_grad=True)
    y = x * s
    assert y.device == gpuarr.device("cuda", 0)
    y = s * x + gpuarr.tensor(1.0)
    y.sum().backward()
    np.testing.assert_allclose(to_np(y.detach()), [1, 3, 5, 7])
    assert s.grad.device == gpuarr.device("cpu") and float(s.grad) == 6.0
    np.testing.assert_allclose(to_np(x.grad), [2, 2, 2, 2])
    assert gpuarr.where(x > 1, x, gpuarr.tensor(0.0)).device.type == "cuda"
    assert gpuarr.logical_and(x > 1, gpuarr.tensor(True)).device.type == "cuda"
    lp = gpuarr.distributions.Normal(1.0, 2.0).log_prob(x.detach())
    assert lp.device.type == "cuda"
    lp2 = gpuarr.distributions.Normal(gpuarr.tensor(1.0), gpuarr.tensor(2.0)).log_prob(x.detach())
    np.testing.assert_allclose(to_np(lp), to_np(lp2))


@cuda_only
def test_other_device_mixes_raise_torchs_error():
    x = gpuarr.ones(3, device="cuda")
    msg = "Expected all tensors to be on the same device, but found at least two devices"
    with pytest.raises(RuntimeError, match=msg):
        x + gpuarr.ones(3)
    with pytest.raises(RuntimeError, match=msg):
        gpuarr.ones(3) * x
    with pytest.raises(RuntimeError, match=msg):
        gpuarr.where(gpuarr.ones(3, dtype=gpuarr.bool), x, gpuarr.ones(3))
    with pytest.raises(RuntimeError, match=msg):
        gpuarr.matmul(gpuarr.ones(3), x)


@cuda_only
def test_setitem_copies_cpu_values_across():
    t = gpuarr.zeros(2, 3, device="cuda")
    t[0] = gpuarr.tensor([1.0, 2.0, 3.0])
    t[1, 1] = gpuarr.tensor(5.0)
    np.testing.assert_array_equal(to_np(t), [[1, 2, 3], [0, 5, 0]])
    assert t.device.type == "cuda"


# ---- the CUDA probe and install extras ---------------------------------------------------


def test_probe_reports_missing_nvrtc():
    standin = ROOT / "tests" / "cupy_standin"
    env = dict(os.environ, PYTHONPATH=f"{standin}{os.pathsep}{ROOT}", CUPY_SIM_NO_NVRTC="1")
    out = subprocess.run(
        [sys.executable, "-c", "import gpuarr; print(gpuarr.cuda.is_available()); "
         "print(gpuarr.cuda.unavailable_reason())"],
        env=env, capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
    assert out[0] == "False"
    assert "cannot load NVRTC" in out[1]


def test_cuda_extra_brings_the_cuda_libraries():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(r.startswith("cupy-cuda12x[ctk]") for r in extras["cuda12"])
    assert any(r.startswith("cupy-cuda13x[ctk]") for r in extras["cuda13"])


def test_max_memory_allocated_documents_sampling():
    doc = gpuarr.cuda.max_memory_allocated.__doc__
    assert "samples" in doc and "missed" in doc
