"""torch.cuda's API beyond devices: streams and events (ops inside ``stream(s)`` run on s),
device properties, memory statistics and caps, the generators' seeds and states, and what
each answers where CUDA is not usable. On the CPU half only the 'not usable' answers run;
the rest runs on the CUDA half (the CuPy stand-in, or a GPU)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr import cuda

needs_cuda = pytest.mark.skipif(not cuda.is_available(), reason="CUDA is not available")


def to_np(t):
    return t.detach().cpu().numpy()


def test_cuda_api_names_match_torch():
    for name in ["Stream", "Event", "StreamContext", "stream", "current_stream",
                 "default_stream", "set_stream", "get_device_name", "get_device_capability",
                 "get_device_properties", "mem_get_info", "memory_stats", "memory_summary",
                 "max_memory_reserved", "reset_max_memory_allocated", "memory_cached",
                 "max_memory_cached", "set_per_process_memory_fraction",
                 "get_per_process_memory_fraction", "seed", "seed_all", "initial_seed",
                 "get_rng_state_all", "set_rng_state_all", "device_of", "init",
                 "is_initialized", "ipc_collect", "is_current_stream_capturing"]:
        assert hasattr(torch.cuda, name) and hasattr(cuda, name), name


def test_cuda_unusable_answers():
    if cuda.is_available():
        pytest.skip("CUDA is available")
    assert cuda.memory_allocated() == 0 and cuda.max_memory_reserved() == 0
    assert cuda.memory_stats() == {} and cuda.get_rng_state_all() == []
    assert "not available" in cuda.memory_summary()
    cuda.manual_seed_all(1)
    cuda.seed_all()
    assert not cuda.is_initialized()
    with pytest.raises(RuntimeError):
        cuda.Stream()
    with pytest.raises(RuntimeError):
        cuda.init()


@needs_cuda
def test_cuda_streams_run_ops_and_restore():
    default = cuda.current_stream()
    assert default == cuda.default_stream() and default.cuda_stream == 0
    s = cuda.Stream(priority=-1)
    assert s != default and s.priority == -1 and s.device == gpuarr.device("cuda:0")
    assert hash(s) == hash(cuda.Stream._of(s._raw, 0))
    a = gpuarr.arange(12.0, device="cuda").reshape(3, 4)
    with cuda.stream(s) as entered:
        assert entered is s and cuda.current_stream() == s
        b = (a * 2).sum(0)
        with cuda.stream(None):
            assert cuda.current_stream() == s
    assert cuda.current_stream() == default
    s.synchronize()
    assert s.query()
    np.testing.assert_array_equal(to_np(b), [24.0, 30.0, 36.0, 42.0])
    cuda.set_stream(s)
    assert cuda.current_stream() == s
    cuda.set_stream(default)
    assert "gpuarr.cuda.Stream device=cuda:0" in repr(s)
    assert not cuda.is_current_stream_capturing()


@needs_cuda
def test_cuda_events_order_and_time():
    s1, s2 = cuda.Stream(), cuda.Stream()
    start, end = cuda.Event(enable_timing=True), cuda.Event(enable_timing=True)
    assert repr(start) == "<gpuarr.cuda.Event uninitialized>" and start.query()
    with cuda.stream(s1):
        start.record()
        x = gpuarr.ones(64, 64, device="cuda") @ gpuarr.ones(64, 64, device="cuda")
        end.record()
    s2.wait_event(end)
    s2.wait_stream(s1)
    ev = s1.record_event()
    ev.wait(s2)
    end.synchronize()
    assert end.query() and ev.query()
    assert start.elapsed_time(end) >= 0.0
    assert float(x[0, 0]) == 64.0
    plain = cuda.Event()
    plain.record()
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        start.elapsed_time(plain)
    with pytest.raises(RuntimeError, match="must be recorded"):
        cuda.Event(enable_timing=True).elapsed_time(end)


@needs_cuda
def test_cuda_device_properties():
    p = cuda.get_device_properties(0)
    assert cuda.get_device_name() == p.name and isinstance(p.name, str) and p.name
    assert cuda.get_device_capability(0) == (p.major, p.minor)
    assert p.total_memory > 0 and p.multi_processor_count > 0
    assert repr(p).startswith(f"_CudaDeviceProperties(name='{p.name}', major={p.major}")
    assert cuda.get_device_properties("cuda:0") == p
    with pytest.raises(AssertionError, match="Invalid device id"):
        cuda.get_device_properties(cuda.device_count())


@needs_cuda
def test_cuda_memory_stats_and_caps():
    cuda.reset_peak_memory_stats()
    base = cuda.memory_allocated()
    x = gpuarr.empty(1 << 18, device="cuda")  # 1 MiB
    assert cuda.memory_allocated() >= base + (1 << 20)
    stats = cuda.memory_stats()
    assert list(stats) == sorted(stats)
    assert stats["allocated_bytes.all.current"] == cuda.memory_allocated()
    assert stats["reserved_bytes.all.current"] >= stats["allocated_bytes.all.current"]
    peak = cuda.max_memory_allocated()
    del x
    assert cuda.max_memory_allocated() == peak >= base + (1 << 20)
    assert cuda.max_memory_reserved() >= cuda.memory_reserved()
    with pytest.warns(FutureWarning, match="reset_peak_memory_stats"):
        cuda.reset_max_memory_allocated()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FutureWarning, match="renamed to `torch.cuda.memory_reserved`"):
            cuda.memory_cached()
    free, total = cuda.mem_get_info()
    assert 0 < free <= total
    text = cuda.memory_summary()
    assert "memory summary, device ID 0" in text and "Allocated memory" in text
    assert cuda.get_per_process_memory_fraction() == 1.0
    cuda.set_per_process_memory_fraction(0.5)
    try:
        assert abs(cuda.get_per_process_memory_fraction() - 0.5) < 1e-6
    finally:
        cuda.set_per_process_memory_fraction(1.0)
    with pytest.raises(TypeError, match="must be `float`"):
        cuda.set_per_process_memory_fraction(1)
    with pytest.raises(ValueError, match="Invalid fraction value: 1.5. Allowed range: 0~1"):
        cuda.set_per_process_memory_fraction(1.5)


@needs_cuda
def test_cuda_rng_all_and_seeds():
    cuda.manual_seed_all(3)
    assert cuda.initial_seed() == 3
    states = cuda.get_rng_state_all()
    assert len(states) == cuda.device_count()
    a = gpuarr.rand(4, device="cuda")
    cuda.set_rng_state_all(states)
    b = gpuarr.rand(4, device="cuda")
    np.testing.assert_array_equal(to_np(a), to_np(b))
    cuda.seed()
    assert cuda.initial_seed() != 3
    cuda.seed_all()
    c = gpuarr.rand(4, device="cuda")
    assert not np.array_equal(to_np(c), to_np(a))


@needs_cuda
def test_cuda_device_of_and_init():
    cuda.init()
    assert cuda.is_initialized()
    assert cuda.ipc_collect() is None
    x = gpuarr.zeros(2, device="cuda:0")
    with cuda.device_of(x):
        assert cuda.current_device() == 0
    with cuda.device_of(gpuarr.zeros(2)):
        assert cuda.current_device() == 0


@needs_cuda
def test_cuda_legacy_tensor_types():
    t = cuda.FloatTensor([1, 2])
    assert t.device.type == "cuda" and t.dtype == gpuarr.float32
    assert isinstance(t, cuda.FloatTensor) and not isinstance(t, gpuarr.FloatTensor)
    assert not isinstance(gpuarr.ones(2), cuda.FloatTensor)
    assert cuda.LongTensor(2, 3).shape == (2, 3) and cuda.LongTensor(2, 3).is_cuda
    assert cuda.FloatTensor(t) is not t and cuda.FloatTensor(t).data_ptr() == t.data_ptr()
    assert gpuarr.ones(2).type(cuda.DoubleTensor).device.type == "cuda"
    assert repr(cuda.FloatTensor) == repr(torch.cuda.FloatTensor).replace("torch", "gpuarr")
    with pytest.raises(RuntimeError, match="expects device type: cuda but device type: cpu"):
        cuda.FloatTensor([1.0], device="cpu")
    with pytest.raises(TypeError, match="convert it with .to"):
        cuda.FloatTensor(gpuarr.ones(2))


def test_set_default_tensor_type():
    before = gpuarr.get_default_dtype()
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            gpuarr.set_default_tensor_type(gpuarr.DoubleTensor)
        assert gpuarr.ones(1).dtype == gpuarr.float64 and gpuarr.Tensor([1]).dtype == \
            gpuarr.float64
        with pytest.warns(UserWarning):
            gpuarr.set_default_tensor_type("torch.FloatTensor")
        assert gpuarr.ones(1).dtype == gpuarr.float32
        with pytest.warns(UserWarning), pytest.raises(TypeError, match="only floating-point"):
            gpuarr.set_default_tensor_type(gpuarr.LongTensor)
        if cuda.is_available():
            with pytest.warns(UserWarning):
                gpuarr.set_default_tensor_type(cuda.FloatTensor)
            assert gpuarr.zeros(2).device.type == "cuda"
            assert gpuarr.FloatTensor([1]).device.type == "cpu"  # legacy types keep theirs
    finally:
        gpuarr.set_default_dtype(before)
        gpuarr.set_default_device(None)
