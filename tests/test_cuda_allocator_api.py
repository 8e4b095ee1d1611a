"""torch.cuda's raw allocator API: ``caching_allocator_alloc``/``caching_allocator_delete`` take
bytes from (and give them back to) the memory pool tensors use, counted by
``memory_allocated``; ``get_allocator_backend`` names the allocator. The CPU half checks the
names and what each raises where CUDA is not usable; the rest runs on the CUDA half (the CuPy
stand-in, or a GPU)."""

from __future__ import annotations

import inspect

import pytest
import torch

import gpuarr
from gpuarr import cuda

needs_cuda = pytest.mark.skipif(not cuda.is_available(), reason="CUDA is not available")

NAMES = ["caching_allocator_alloc", "caching_allocator_delete", "get_allocator_backend"]


@pytest.mark.parametrize("name", NAMES)
def test_names_and_parameters_match_torch(name):
    ours, theirs = getattr(cuda, name), getattr(torch.cuda, name)
    assert name in cuda.__all__ and ours is getattr(cuda.memory, name)
    got = [(p.name, p.default) for p in inspect.signature(ours).parameters.values()]
    want = [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert got == want


def test_unusable_cuda_raises():
    if cuda.is_available():
        pytest.skip("CUDA is available")
    # torch's CUDA builds raise RuntimeError from their lazy CUDA init here
    for call in (lambda: cuda.caching_allocator_alloc(16), lambda: cuda.caching_allocator_delete(0),
                 cuda.get_allocator_backend):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            call()


@needs_cuda
def test_cuda_alloc_counts_and_delete_returns_to_pool():
    assert cuda.get_allocator_backend() == "native"
    before = cuda.memory_allocated()
    ptr = cuda.caching_allocator_alloc(1 << 20)
    assert isinstance(ptr, int) and ptr != 0
    assert cuda.memory_allocated() - before >= 1 << 20
    ptr2 = cuda.caching_allocator_alloc(1000, device="cuda:0")
    assert ptr2 not in (0, ptr)
    assert cuda.memory_allocated() - before >= (1 << 20) + 1000
    cuda.caching_allocator_delete(ptr)
    cuda.caching_allocator_delete(ptr2)
    assert cuda.memory_allocated() == before


@needs_cuda
def test_cuda_alloc_on_streams():
    before = cuda.memory_allocated()
    s = cuda.Stream()
    ptrs = [cuda.caching_allocator_alloc(512, stream=s),
            cuda.caching_allocator_alloc(512, device=gpuarr.device("cuda", 0),
                                         stream=cuda.current_stream().cuda_stream),
            cuda.caching_allocator_alloc(512, stream=0)]
    assert len(set(ptrs)) == 3 and cuda.memory_allocated() - before >= 3 * 512
    for p in ptrs:
        cuda.caching_allocator_delete(p)
    assert cuda.memory_allocated() == before


@needs_cuda
def test_cuda_zero_size_and_null_pointer():
    before = cuda.memory_allocated()
    assert cuda.caching_allocator_alloc(0) == 0
    cuda.caching_allocator_delete(0)  # a null pointer is ignored, as torch does
    assert cuda.memory_allocated() == before


@needs_cuda
def test_cuda_errors_as_torch():
    ptr = cuda.caching_allocator_alloc(64)
    cuda.caching_allocator_delete(ptr)
    with pytest.raises(RuntimeError, match=f"invalid device pointer: {ptr:#x}"):
        cuda.caching_allocator_delete(ptr)  # already freed
    with pytest.raises(RuntimeError, match="invalid device pointer: 0x10"):
        cuda.caching_allocator_delete(16)
    with pytest.raises(TypeError, match="Invalid type for stream argument, must be "
                                        "`torch.cuda.Stream` or `int`"):
        cuda.caching_allocator_alloc(64, stream="s")
    with pytest.raises(TypeError, match="size must be an int"):
        cuda.caching_allocator_alloc(64.0)
    with pytest.raises(ValueError, match="non-negative"):
        cuda.caching_allocator_alloc(-1)
    with pytest.raises(TypeError, match="mem_ptr must be an int"):
        cuda.caching_allocator_delete("0x10")
