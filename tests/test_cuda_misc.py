"""torch.cuda's OutOfMemoryError (raised in place of CuPy's out-of-memory errors) and its
smaller queries: nested memory stats, accumulated-stat and peak resets, arch list and gencode
flags, the sync debug mode, peer access, the NVML readings, TF32 support, has_half/has_magma.

Where CUDA is not usable the answers are compared with torch's CPU build; the rest runs on the
CUDA half (the CuPy stand-in or a GPU). Out of memory is provoked with a huge allocation
(256 TiB: an expanded one-element tensor made contiguous), which fails on a GPU and in the
stand-in (NumPy's MemoryError) alike.

Imports come from gpuarr.cuda's modules until gpuarr.cuda exports the names.
"""

from __future__ import annotations

import re
import sys
import types
import warnings

import pytest
import torch

import gpuarr
from gpuarr.backends import oom
from gpuarr.cuda import memory, misc
from gpuarr.cuda.memory import OutOfMemoryError

HAS_CUDA = gpuarr.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="CUDA is not available")
needs_no_cuda = pytest.mark.skipif(HAS_CUDA, reason="CUDA is available")

BIG = 1 << 46  # float32 elements: 256 TiB
BIG_TEXT = "CUDA out of memory. Tried to allocate 262144.00 GiB."


def _has_pynvml() -> bool:
    try:
        import pynvml  # noqa: F401
    except ImportError:
        return False
    return True


# ---- OutOfMemoryError ----

def test_out_of_memory_error_class_like_torch():
    # torch's is a RuntimeError; gpuarr's is also a MemoryError, as CuPy's is
    assert issubclass(torch.cuda.OutOfMemoryError, RuntimeError)
    assert issubclass(OutOfMemoryError, RuntimeError) and issubclass(OutOfMemoryError, MemoryError)
    assert OutOfMemoryError.__mro__[1] is RuntimeError
    assert f"{OutOfMemoryError.__module__}.{OutOfMemoryError.__name__}" == "gpuarr.OutOfMemoryError"
    assert str(OutOfMemoryError("CUDA out of memory. x")) == "CUDA out of memory. x"


def _oom_ops(device):
    """Callables that each need 256 TiB on ``device``, one per path gpuarr translates in."""
    one = gpuarr.zeros(1, device=device)
    onegrad = gpuarr.zeros(1, device=device, requires_grad=True)
    return {
        "empty": lambda: gpuarr.empty(BIG, device=device),
        "zeros": lambda: gpuarr.zeros(BIG, device=device),
        "ones": lambda: gpuarr.ones(BIG, device=device),
        "full": lambda: gpuarr.full((BIG,), 2.0, device=device),
        "to": lambda: gpuarr.zeros(1).expand(BIG).to(device, copy=True),
        "contiguous": lambda: one.expand(BIG).contiguous(),
        "astype": lambda: one.expand(BIG).to(gpuarr.float64),
        "sum": lambda: one.expand(BIG, 2).sum(1),
        "exp_grad": lambda: onegrad.expand(BIG).exp(),
        "add_grad": lambda: onegrad.expand(BIG) + onegrad.expand(BIG),
        "mul_scalar_grad": lambda: onegrad.expand(BIG) * 2.0,
        "relu_grad": lambda: gpuarr.nn.functional.relu(onegrad.expand(BIG)),
        # without a graph: the elementwise short paths (operator, function, scalar, unary)
        "add": lambda: one.expand(BIG) + one.expand(BIG),
        "add_fn": lambda: gpuarr.add(one.expand(BIG), one.expand(BIG)),
        "mul_scalar": lambda: one.expand(BIG) * 2.0,
        "mul_scalar_fn": lambda: gpuarr.mul(one.expand(BIG), 2.0),
        "exp": lambda: one.expand(BIG).exp(),
        # a backward pass that runs out (the engine translates for every node)
        "backward": lambda: _HungryBackward.apply(onegrad).sum().backward(),
    }


@pytest.mark.parametrize("op", list(_oom_ops("cpu")))
def test_out_of_memory_raised_as_torch(device, op):
    fn = _oom_ops(device)[op]
    if device == "cpu":
        # only CUDA's errors are translated; a host MemoryError stays what NumPy raised
        with pytest.raises(MemoryError) as info:
            fn()
        assert not isinstance(info.value, OutOfMemoryError)
        return
    before = memory.memory_stats()["num_ooms"]
    with pytest.raises(OutOfMemoryError) as info:
        fn()
    err = info.value
    assert str(err).startswith("CUDA out of memory. Tried to allocate ")
    assert isinstance(err.__cause__, MemoryError) and not isinstance(err.__cause__,
                                                                     OutOfMemoryError)
    assert memory.memory_stats()["num_ooms"] == before + 1  # translated once, not per frame
    # the old idiom of torch programs
    try:
        fn()
    except RuntimeError as e:
        assert "out of memory" in str(e)
    # code written against CuPy
    with pytest.raises(MemoryError):
        fn()


class _HungryBackward(gpuarr.autograd.Function):
    """A user Function whose backward runs out of memory."""

    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, g):
        raise MemoryError("Out of memory allocating 1,024 bytes")


class _Hungry(gpuarr.autograd.Function):
    """A user Function whose forward runs out of memory."""

    @staticmethod
    def forward(ctx, x):
        raise MemoryError("Out of memory allocating 1,024 bytes")

    @staticmethod
    def backward(ctx, g):
        return g


def _hungry(x):
    raise MemoryError("Out of memory allocating 1,024 bytes")


@pytest.mark.parametrize("path", ["function", "inplace"])
def test_out_of_memory_user_function_and_inplace(device, path):
    # Function.apply's general path (user Functions) and in-place methods (apply_inplace)
    from gpuarr.ops._registry import apply_inplace

    x = gpuarr.zeros(3, device=device, requires_grad=path == "function")
    run = (lambda: _Hungry.apply(x)) if path == "function" else (
        lambda: apply_inplace(x, _hungry))
    with pytest.raises(MemoryError) as info:
        run()
    assert isinstance(info.value, OutOfMemoryError) is (device == "cuda")


@needs_cuda
def test_cuda_out_of_memory_message():
    with pytest.raises(OutOfMemoryError) as info:
        gpuarr.empty(BIG, device="cuda")
    text = str(info.value)
    assert text.startswith(BIG_TEXT), text
    total = gpuarr.cuda.mem_get_info()[1]
    assert f"GPU {gpuarr.cuda.current_device()} has a total capacity of " \
           f"{oom.format_size(total)} of which " in text
    assert "is allocated by gpuarr" in text and "reserved by gpuarr but unallocated" in text
    assert "(" + type(info.value.__cause__).__name__ in text  # CuPy's own words follow


@needs_cuda
def test_cuda_out_of_memory_counted_and_reset():
    memory.reset_accumulated_memory_stats()
    assert memory.memory_stats()["num_ooms"] == 0
    for _ in range(2):
        with pytest.raises(OutOfMemoryError):
            gpuarr.empty(BIG, device="cuda")
    assert memory.memory_stats()["num_ooms"] == 2
    assert memory.memory_stats_as_nested_dict()["num_ooms"] == 2
    memory.reset_accumulated_memory_stats()
    assert memory.memory_stats()["num_ooms"] == 0


def test_other_errors_pass_through(device):
    # a failing op that is not out of memory keeps its error (and its message)
    a, b = gpuarr.ones(2, device=device, requires_grad=True), gpuarr.ones(3, device=device)
    with pytest.raises(RuntimeError) as info:
        a + b
    assert not isinstance(info.value, OutOfMemoryError)
    assert "must match the size" in str(info.value)


def test_cuda_library_allocation_failures_translated():
    # CUDA's and the CUDA libraries' allocation-failure statuses (raised outside the pool)
    for module, text in [("cupy_backends.cuda.api.runtime",
                          "cudaErrorMemoryAllocation: out of memory"),
                         ("cupy_backends.cuda.libs.cublas", "CUBLAS_STATUS_ALLOC_FAILED")]:
        err = type("CUDARuntimeError", (RuntimeError,), {"__module__": module})(text)
        with pytest.raises(OutOfMemoryError, match="^CUDA out of memory. Tried to allocate "
                                                   "memory outside CuPy's memory pool."):
            oom.raise_if_oom(err, None)
    # other CuPy errors and errors of other packages are left alone
    other = type("CUDARuntimeError", (RuntimeError,),
                 {"__module__": "cupy_backends.cuda.api.runtime"})("cudaErrorInvalidValue")
    assert oom.raise_if_oom(other, None) is None
    assert oom.raise_if_oom(RuntimeError("cudaErrorMemoryAllocation"), None) is None
    assert oom.raise_if_oom(OutOfMemoryError("CUDA out of memory."), None) is None
    # where the caller cannot tell the device, a host MemoryError is not CUDA's, CuPy's is
    assert oom.raise_if_oom(MemoryError("host"), None, on_cuda=False) is None
    cupy_oom = type("OutOfMemoryError", (MemoryError,), {"__module__": "cupy.cuda.memory",
                                                         "_size": 3 << 30})("Out of memory")
    with pytest.raises(OutOfMemoryError, match="^CUDA out of memory. Tried to allocate "
                                               "3.00 GiB."):
        oom.raise_if_oom(cupy_oom, None, on_cuda=False)


def test_format_size_as_torch():
    # torch's allocator messages: bytes up to 1 KiB, then KiB / MiB / GiB with 2 decimals
    assert [oom.format_size(n) for n in (0, 1024, 1025, 1 << 20, (1 << 20) + 1, 1 << 30,
                                             3 << 40)] == [
        "0 bytes", "1024 bytes", "1.00 KiB", "1024.00 KiB", "1.00 MiB", "1024.00 MiB",
        "3072.00 GiB"]


# ---- memory statistics ----

def test_memory_stats_nested_unusable():
    if HAS_CUDA:
        pytest.skip("CUDA is available")
    assert memory.memory_stats_as_nested_dict() == torch.cuda.memory_stats_as_nested_dict() == {}
    memory.reset_accumulated_memory_stats()  # nothing to reset (torch's CPU build lacks it)


@needs_cuda
def test_cuda_memory_stats_nested():
    x = gpuarr.empty(1 << 18, device="cuda")
    nested = memory.memory_stats_as_nested_dict()
    flat = memory.memory_stats()
    assert nested["allocated_bytes"]["all"]["current"] == flat["allocated_bytes.all.current"]
    assert nested["allocated_bytes"]["all"]["current"] >= 1 << 20
    # flattening it back as torch.cuda.memory_stats does gives memory_stats
    out = []

    def walk(prefix, obj):
        for k, v in obj.items():
            (walk(prefix + k + ".", v) if isinstance(v, dict) else out.append((prefix + k, v)))

    walk("", nested)
    assert dict(sorted(out)) == memory.memory_stats()
    del x


def test_reset_max_memory_cached_warns_as_torch():
    with pytest.warns(FutureWarning) as torch_w:
        try:
            torch.cuda.reset_max_memory_cached()
        except AttributeError:  # torch's CPU build then fails (no allocator): an accident
            pass
    with pytest.warns(FutureWarning) as ours:
        memory.reset_max_memory_cached()
    assert str(ours[0].message) == str(torch_w[0].message)


@needs_cuda
def test_cuda_reset_max_memory_cached_resets_peaks():
    x = gpuarr.empty(1 << 20, device="cuda")
    del x
    assert gpuarr.cuda.max_memory_reserved() >= gpuarr.cuda.memory_reserved()
    peak = gpuarr.cuda.max_memory_allocated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        memory.reset_max_memory_cached()
    assert gpuarr.cuda.max_memory_allocated() == gpuarr.cuda.memory_allocated() <= peak


# ---- NVML ----

NVML_FNS = ["utilization", "temperature", "power_draw", "clock_rate", "device_memory_used"]


@pytest.mark.parametrize("name", NVML_FNS)
def test_nvml_missing_raises_as_torch(name):
    if _has_pynvml():
        pytest.skip("pynvml is installed")
    with pytest.raises(ModuleNotFoundError) as te:
        getattr(torch.cuda, name)()
    with pytest.raises(ModuleNotFoundError, match="^" + re.escape(str(te.value)) + "$"):
        getattr(misc, name)()


def test_list_gpu_processes_without_pynvml_as_torch():
    if _has_pynvml():
        pytest.skip("pynvml is installed")
    assert memory.list_gpu_processes() == torch.cuda.list_gpu_processes()


def _fake_pynvml(driver_loaded=True):
    """A pynvml that answers fixed readings and records the handles asked for."""
    nv = types.ModuleType("pynvml")
    nv.asked = []

    class NVMLError_DriverNotLoaded(Exception):
        pass

    def init():
        if not driver_loaded:
            raise NVMLError_DriverNotLoaded("Driver Not Loaded")

    def handle(bus_id):
        nv.asked.append(bus_id)
        return ("handle", bus_id)

    nv.NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
    nv.nvmlInit = init
    nv.nvmlDeviceGetHandleByPciBusId = handle
    nv.nvmlDeviceGetIndex = lambda h: 3
    nv.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=42, memory=7)
    nv.nvmlDeviceGetTemperature = lambda h, sensor: 55 if sensor == 0 else -1
    nv.nvmlDeviceGetPowerUsage = lambda h: 123456
    nv.nvmlDeviceGetClockInfo = lambda h, kind: 1980 if kind == 1 else -1
    nv.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=5 << 30, total=141 << 30)
    nv.nvmlDeviceGetComputeRunningProcesses = lambda h: [
        types.SimpleNamespace(pid=4242, usedGpuMemory=3 << 20)]
    return nv


@needs_cuda
def test_cuda_nvml_readings(monkeypatch):
    nv = _fake_pynvml()
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    assert [getattr(misc, n)() for n in NVML_FNS] == [42, 55, 123456, 1980, 5 << 30]
    # the GPU is found by the current device's PCI bus id
    from gpuarr.backends import cuda_backend

    bus = cuda_backend().xp.cuda.Device(gpuarr.cuda.current_device()).pci_bus_id
    assert nv.asked == [bus] * len(NVML_FNS)
    assert memory.list_gpu_processes("cuda:0") == (
        "GPU:3\nprocess       4242 uses        3.000 MB GPU memory")
    nv.nvmlDeviceGetComputeRunningProcesses = lambda h: []
    assert memory.list_gpu_processes(0) == "GPU:3\nno processes are running"


@needs_cuda
def test_cuda_nvml_driver_not_loaded(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml(driver_loaded=False))
    with pytest.raises(RuntimeError, match=r"^cuda driver can't be loaded, is cuda enabled\?$"):
        misc.temperature()
    assert memory.list_gpu_processes() == "cuda driver can't be loaded, is cuda enabled?"


# ---- architectures ----

def test_arch_list_unusable_as_torch():
    if HAS_CUDA:
        pytest.skip("CUDA is available")
    assert misc.get_arch_list() == torch.cuda.get_arch_list() == []
    assert misc.get_gencode_flags() == torch.cuda.get_gencode_flags() == ""


@needs_cuda
def test_cuda_arch_list_and_gencode_flags():
    archs = misc.get_arch_list()
    assert archs and all(re.fullmatch(r"sm_\d+", a) for a in archs)
    major, minor = gpuarr.cuda.get_device_capability()
    assert f"sm_{major}{minor}" in archs  # NVRTC can build for the GPU it runs on
    flags = misc.get_gencode_flags().split(" -gencode ")
    assert len(flags) == len(archs)
    assert flags[0] == f"-gencode compute=compute_{archs[0][3:]},code={archs[0]}"


# ---- sync debug mode ----

def test_sync_debug_mode_unusable():
    if HAS_CUDA:
        pytest.skip("CUDA is available")
    # torch's CPU build raises AssertionError ('not compiled with CUDA'); gpuarr, built with
    # CUDA support, raises its RuntimeError saying why CUDA cannot be used, as init() does
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        misc.set_sync_debug_mode(1)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        misc.get_sync_debug_mode()


@needs_cuda
def test_cuda_sync_debug_mode_roundtrip(monkeypatch):
    # what the mode does to operations: tests/test_sync_debug_mode.py
    monkeypatch.setattr(misc, "_notice_given", False)
    try:
        assert misc.get_sync_debug_mode() == 0
        with pytest.warns(UserWarning, match="^Synchronization debug mode is a prototype feature "
                                             "and does not yet detect all synchronizing "
                                             "operations$"):
            misc.set_sync_debug_mode("warn")
        assert misc.get_sync_debug_mode() == 1
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # torch's notice comes once only
            misc.set_sync_debug_mode(2)
            assert misc.get_sync_debug_mode() == 2
            misc.set_sync_debug_mode("default")
            assert misc.get_sync_debug_mode() == 0
            misc.set_sync_debug_mode("error")
            assert misc.get_sync_debug_mode() == 2
        for bad, text in [("loud", "invalid value of debug_mode, expected one of `default`, "
                                   "`warn`, `error`"),
                          (3, "invalid value of debug_mode, expected one of 0,1,2"),
                          (-1, "invalid value of debug_mode, expected one of 0,1,2"),
                          (1.0, "invalid argument to set_sync_debug_mode"),
                          (None, "invalid argument to set_sync_debug_mode")]:
            with pytest.raises(RuntimeError, match="^" + re.escape(text) + "$"):
                misc.set_sync_debug_mode(bad)
        assert misc.get_sync_debug_mode() == 2  # a refused mode leaves it as it was
    finally:
        misc.set_sync_debug_mode(0)


# ---- peer access ----

def test_can_device_access_peer_unusable():
    if HAS_CUDA:
        pytest.skip("CUDA is available")
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        torch.cuda.can_device_access_peer(0, 1)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        misc.can_device_access_peer(0, 1)


@needs_cuda
def test_cuda_can_device_access_peer(cp):
    n = gpuarr.cuda.device_count()
    for i in range(n):
        for j in range(n):
            got = misc.can_device_access_peer(i, f"cuda:{j}")
            assert got is bool(cp.cuda.runtime.deviceCanAccessPeer(i, j))
        assert misc.can_device_access_peer(i, i) is False
    assert misc.can_device_access_peer(None, 0) is misc.can_device_access_peer(
        gpuarr.cuda.current_device(), 0)
    with pytest.raises(AssertionError, match="^Invalid peer device id$"):
        misc.can_device_access_peer(0, n)
    with pytest.raises(AssertionError, match="^Invalid device id$"):
        misc.can_device_access_peer(n, 0)
    with pytest.raises(ValueError, match="specified index or an integer, but got:None"):
        misc.can_device_access_peer(0, None)
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        misc.can_device_access_peer(0, "cpu")


# ---- flags ----

def test_flags_as_torch():
    assert misc.has_half is torch.cuda.has_half is True
    assert misc.has_magma is torch.cuda.has_magma is False
    if not HAS_CUDA:
        assert misc.is_tf32_supported() is torch.cuda.is_tf32_supported() is False


@needs_cuda
def test_cuda_is_tf32_supported():
    assert misc.is_tf32_supported() is (gpuarr.cuda.get_device_capability() >= (8, 0))
