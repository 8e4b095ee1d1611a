"""Device memory of gpuarr's CUDA tensors: what live arrays hold, what CuPy's memory pool keeps,
what the driver reports free, a cap on the pool, torch.cuda's statistics and summary over
those numbers, and torch's :class:`OutOfMemoryError`, raised in place of CuPy's out-of-memory
errors.

CuPy's pool keeps no peak counters, so the peaks here are the largest of the values sampled by
the calls of this module (each call samples the device's current usage); torch's allocator
counts every allocation. Functions answer 0 (or nothing) when CUDA is not usable.

Example:
    >>> x = gpuarr.empty(1 << 20, device="cuda")
    >>> gpuarr.cuda.memory_allocated() >= 4 << 20
    True
    >>> free, total = gpuarr.cuda.mem_get_info()
"""

from __future__ import annotations

import warnings

from ..backends import cuda_backend
from ..backends.oom import OutOfMemoryError
from ..backends.oom import ooms as _ooms
from ._devices import _available, _resolved
from .misc import _gpu_processes
from .streams import Stream

__all__ = ["memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "reset_peak_memory_stats", "reset_max_memory_allocated", "memory_cached",
           "max_memory_cached", "empty_cache", "mem_get_info", "memory_stats",
           "memory_summary", "set_per_process_memory_fraction",
           "get_per_process_memory_fraction", "OutOfMemoryError", "memory_stats_as_nested_dict",
           "reset_accumulated_memory_stats", "reset_max_memory_cached", "list_gpu_processes",
           "caching_allocator_alloc", "caching_allocator_delete", "get_allocator_backend"]

# device index -> the largest sampled (allocated, reserved) bytes
_peak: dict[int, list[int]] = {}
def _sample(idx: int) -> tuple[int, int]:
    bk = cuda_backend()
    used, held = bk.memory_allocated(idx), bk.memory_reserved(idx)
    peak = _peak.setdefault(idx, [0, 0])
    peak[0], peak[1] = max(peak[0], used), max(peak[1], held)
    return used, held


def memory_allocated(device=None) -> int:
    """Bytes of device memory held by live arrays on ``device`` (its CuPy pool's used bytes).

    Args:
        device: an index, 'cuda:N', a gpuarr.device, or None (the current device).

    Returns:
        Bytes in use.
    """
    return _sample(_resolved(device))[0] if _available() else 0


def _peak_of(device, which: int) -> int:
    """The sampled peak of allocated (``which`` 0) or reserved (1) bytes of ``device``."""
    if not _available():
        return 0
    idx = _resolved(device)
    _sample(idx)
    return _peak[idx][which]


def max_memory_allocated(device=None) -> int:
    """The largest :func:`memory_allocated` of ``device`` sampled since the start or the last
    :func:`reset_peak_memory_stats` (a short-lived peak between two samples is missed).

    Args:
        device: the device (None: the current one).

    Returns:
        Bytes.
    """
    return _peak_of(device, 0)


def memory_reserved(device=None) -> int:
    """Bytes the CuPy memory pool of ``device`` holds from the driver (used + cached).

    Args:
        device: the device (None: the current one).

    Returns:
        Bytes.
    """
    return _sample(_resolved(device))[1] if _available() else 0


def max_memory_reserved(device=None) -> int:
    """The largest :func:`memory_reserved` sampled since the start or the last
    :func:`reset_peak_memory_stats`.

    Args:
        device: the device (None: the current one).

    Returns:
        Bytes.
    """
    return _peak_of(device, 1)


def reset_peak_memory_stats(device=None) -> None:
    """Restart the peaks of :func:`max_memory_allocated` and :func:`max_memory_reserved`.

    Args:
        device: the device (None: the current one).
    """
    if _available():
        _peak.pop(_resolved(device), None)


def reset_max_memory_allocated(device=None) -> None:
    """Deprecated: calls :func:`reset_peak_memory_stats` (with torch's FutureWarning)."""
    warnings.warn("torch.cuda.reset_max_memory_allocated now calls "
                  "torch.cuda.reset_peak_memory_stats, which resets /all/ peak memory stats.",
                  FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device=None) -> None:
    """Deprecated: calls :func:`reset_peak_memory_stats` (with torch's FutureWarning).

    Args:
        device: the device (None: the current one).
    """
    warnings.warn("torch.cuda.reset_max_memory_cached now calls "
                  "torch.cuda.reset_peak_memory_stats, which resets /all/ peak memory stats.",
                  FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def memory_cached(device=None) -> int:
    """Deprecated name of :func:`memory_reserved` (with torch's FutureWarning)."""
    warnings.warn("`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`",
                  FutureWarning, stacklevel=2)
    return memory_reserved(device)


def max_memory_cached(device=None) -> int:
    """Deprecated name of :func:`max_memory_reserved` (with torch's FutureWarning)."""
    warnings.warn("`torch.cuda.max_memory_cached` has been renamed to "
                  "`torch.cuda.max_memory_reserved`", FutureWarning, stacklevel=2)
    return max_memory_reserved(device)


def empty_cache() -> None:
    """Give cached, unused blocks of the CuPy pool back to the driver."""
    if _available():
        cuda_backend().empty_cache()


def mem_get_info(device=None) -> tuple[int, int]:
    """Free and total memory of ``device`` as the driver reports them.

    Args:
        device: the device (None: the current one).

    Returns:
        ``(free_bytes, total_bytes)``.
    """
    return cuda_backend().mem_get_info(_resolved(device))


def memory_stats(device=None) -> dict:
    """torch's memory statistics that CuPy's pool can answer, under torch's keys:
    ``allocated_bytes.all.current/peak``, ``reserved_bytes.all.current/peak``,
    ``inactive_split_bytes.all.current`` (cached, unused bytes) and ``num_ooms`` (the
    number of :class:`OutOfMemoryError` raised for the device). Empty when CUDA is not usable.

    Args:
        device: the device (None: the current one).

    Returns:
        A dict sorted by key.
    """
    if not _available():
        return {}
    idx = _resolved(device)
    used, held = _sample(idx)
    stats = {
        "allocated_bytes.all.current": used,
        "allocated_bytes.all.peak": _peak[idx][0],
        "reserved_bytes.all.current": held,
        "reserved_bytes.all.peak": _peak[idx][1],
        "inactive_split_bytes.all.current": held - used,
        "num_ooms": _ooms.get(idx, 0),
    }
    return dict(sorted(stats.items()))


def memory_stats_as_nested_dict(device=None) -> dict:
    """:func:`memory_stats` as nested dicts, as torch's allocator gives them:
    ``{"allocated_bytes": {"all": {"current": ..., "peak": ...}}, ..., "num_ooms": 0}``.
    Empty when CUDA is not usable.

    Args:
        device: the device (None: the current one).

    Returns:
        A dict of dicts (one level per dot of :func:`memory_stats`'s keys).

    Example:
        >>> gpuarr.cuda.memory_stats_as_nested_dict()["allocated_bytes"]["all"]["current"]
        0
    """
    nested: dict = {}
    for key, value in memory_stats(device).items():
        *path, last = key.split(".")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def reset_accumulated_memory_stats(device=None) -> None:
    """Reset the accumulated (historical) statistics of ``device``: of those gpuarr keeps,
    the ``num_ooms`` count (CuPy's pool counts no allocations or frees). Nothing to do when
    CUDA is not usable.

    Args:
        device: the device (None: the current one).
    """
    if _available():
        _ooms.pop(_resolved(device), None)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return str(n)


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """A readable table of :func:`memory_stats` and the driver's free/total memory.

    Args:
        device: the device (None: the current one).
        abbreviated: accepted for torch compatibility (the table is short already).

    Returns:
        The summary text.
    """
    if not _available():
        return "CUDA is not available.\n"
    idx = _resolved(device)
    stats = memory_stats(idx)
    free, total = mem_get_info(idx)
    rows = [("Allocated memory", stats["allocated_bytes.all.current"],
             stats["allocated_bytes.all.peak"]),
            ("Reserved memory", stats["reserved_bytes.all.current"],
             stats["reserved_bytes.all.peak"]),
            ("Cached, unused memory", stats["inactive_split_bytes.all.current"], None)]
    line = "|" + "=" * 75 + "|"
    out = [line, f"|{f'gpuarr CUDA memory summary, device ID {idx}':^75}|",
           "|" + "-" * 75 + "|",
           f"| {'Metric':<35}| {'Cur Usage':>17} | {'Peak Usage':>17} |", line]
    for name, cur, peak in rows:
        out.append(f"| {name:<35}| {_size(cur):>17} | "
                   f"{'' if peak is None else _size(peak):>17} |")
    out += [line, f"| {'Device free / total':<35}| {_size(free):>17} | {_size(total):>17} |",
            line]
    return "\n".join(out) + "\n"


def list_gpu_processes(device=None) -> str:
    """The processes running on ``device`` and the device memory each uses, as NVML
    (``nvidia-ml-py``) reports them; without ``pynvml``, torch's line saying to install it.

    Args:
        device: the device (None: the current one).

    Returns:
        Lines ``GPU:<n>`` then ``process <pid> uses <MB> MB GPU memory`` (or ``no processes
        are running``).

    Example:
        >>> print(gpuarr.cuda.list_gpu_processes())
        GPU:0
        process      12345 uses     1024.000 MB GPU memory
    """
    return _gpu_processes(device)


def set_per_process_memory_fraction(fraction: float, device=None) -> None:
    """Cap the memory this process's pool may take on ``device`` at ``fraction`` of it; an
    allocation past the cap raises CuPy's out-of-memory error.

    Args:
        fraction: in [0, 1].
        device: the device (None: the current one).
    """
    idx = _resolved(device)
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if fraction < 0 or fraction > 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    cuda_backend().set_memory_fraction(fraction, idx)


def get_per_process_memory_fraction(device=None) -> float:
    """The fraction set by :func:`set_per_process_memory_fraction` (1.0 when unset).

    Args:
        device: the device (None: the current one).

    Returns:
        The fraction of the device's memory the pool may take.
    """
    idx = _resolved(device)
    limit = cuda_backend().memory_limit(idx)
    if limit == 0:
        return 1.0
    return limit / cuda_backend().mem_get_info(idx)[1]


# device pointer -> the pool's allocation object behind it: holding it keeps the memory in use
# (and counted by memory_allocated); dropping it gives the block back to the pool
_raw_blocks: dict[int, object] = {}


def caching_allocator_alloc(size: int, device=None, stream=None) -> int:
    """Take ``size`` bytes from the memory pool that CUDA tensors use, for handing to other
    libraries; free them with :func:`caching_allocator_delete`. The bytes count in
    :func:`memory_allocated` until then.

    Args:
        size: number of bytes.
        device: an index, 'cuda:N', a gpuarr.device, or None (the current device).
        stream: a :class:`gpuarr.cuda.Stream` or a stream handle (int) the memory is used on
            (None: the current stream of ``device``).

    Returns:
        The device pointer (0 for ``size`` 0).

    Example:
        >>> ptr = gpuarr.cuda.caching_allocator_alloc(1024)
        >>> gpuarr.cuda.caching_allocator_delete(ptr)
    """
    bk = cuda_backend()  # raises RuntimeError, saying why, when CUDA is not usable
    idx = _resolved(device)
    if stream is None:
        stream = int(bk.current_stream(idx).ptr)
    elif isinstance(stream, Stream):
        stream = stream.cuda_stream
    if not isinstance(stream, int):
        raise TypeError("Invalid type for stream argument, must be `torch.cuda.Stream` or "
                        "`int` representing a pointer to an existing stream")
    if not isinstance(size, int) or isinstance(size, bool):
        raise TypeError(f"caching_allocator_alloc(): size must be an int, not "
                        f"{type(size).__name__}")
    if size < 0:
        raise ValueError(f"caching_allocator_alloc(): size must be non-negative, got {size}")
    if size == 0:
        return 0  # as torch: no memory, a null pointer
    block = bk.raw_alloc(size, idx, stream)
    ptr = int(block.ptr)
    _raw_blocks[ptr] = block
    return ptr


def caching_allocator_delete(mem_ptr: int) -> None:
    """Give memory from :func:`caching_allocator_alloc` back to the pool (0 is ignored).

    Args:
        mem_ptr: the pointer :func:`caching_allocator_alloc` returned.

    Raises:
        RuntimeError: ``mem_ptr`` is not a live allocation of :func:`caching_allocator_alloc`.

    Example:
        >>> gpuarr.cuda.caching_allocator_delete(gpuarr.cuda.caching_allocator_alloc(64))
    """
    cuda_backend()
    if not isinstance(mem_ptr, int) or isinstance(mem_ptr, bool):
        raise TypeError(f"caching_allocator_delete(): mem_ptr must be an int, not "
                        f"{type(mem_ptr).__name__}")
    if not mem_ptr:
        return
    if _raw_blocks.pop(mem_ptr, None) is None:
        raise RuntimeError(f"invalid device pointer: {mem_ptr:#x}")


def get_allocator_backend() -> str:
    """The allocator CUDA memory comes from: always ``'native'`` (the caching pool that
    tensors share; gpuarr has no ``cudaMallocAsync`` backend).

    Returns:
        ``'native'``.

    Example:
        >>> gpuarr.cuda.get_allocator_backend()
        'native'
    """
    cuda_backend()
    return "native"
