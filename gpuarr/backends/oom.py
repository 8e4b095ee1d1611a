"""torch's ``OutOfMemoryError``, raised in place of CuPy's out-of-memory errors.

Ops, autograd and tensor creation catch errors where they call CuPy (an ``except`` costs
nothing until something raises) and hand them to :func:`raise_if_oom`, which turns those that
say device memory ran out into :class:`OutOfMemoryError` with torch's message. This module sits
with the backends, below everything that calls it, and imports nothing of gpuarr's.
"""

from __future__ import annotations

__all__ = ["OutOfMemoryError", "raise_if_oom", "format_size", "ooms"]

# device index -> how many OutOfMemoryErrors were raised for it (torch's "num_ooms")
ooms: dict[int, int] = {}


class OutOfMemoryError(RuntimeError, MemoryError):
    """CUDA ran out of device memory (torch's ``torch.OutOfMemoryError``, which
    ``torch.cuda.OutOfMemoryError`` names too).

    A RuntimeError, as torch's, so ``except RuntimeError as e: if "out of memory" in str(e)``
    keeps working, and also a MemoryError, as CuPy's ``OutOfMemoryError`` is, so code written
    against CuPy catches it too. gpuarr raises it in place of CuPy's out-of-memory errors in
    ops, autograd and tensor creation; the message starts "CUDA out of memory. Tried to
    allocate ...", as torch's, and the CuPy error it replaces is its ``__cause__``.

    Example:
        >>> try:
        ...     x = gpuarr.empty(1 << 50, device="cuda")
        ... except gpuarr.cuda.OutOfMemoryError as e:
        ...     print(str(e).split(".")[0])
        CUDA out of memory
    """


OutOfMemoryError.__module__ = "gpuarr"  # its public home, as torch's prints torch.OutOfMemoryError


def format_size(n: int) -> str:
    """A byte count as torch's allocator messages write it ("512 bytes", "2.00 GiB")."""
    if n <= 1024:
        return f"{n} bytes"
    for unit, scale in (("KiB", 1 << 10), ("MiB", 1 << 20)):
        if n <= scale << 10:
            return f"{n / scale:.2f} {unit}"
    return f"{n / (1 << 30):.2f} GiB"


def _is_cuda_oom(exc: BaseException, on_cuda: bool) -> bool:
    """Whether ``exc`` says CUDA device memory ran out: CuPy's ``OutOfMemoryError`` (a
    MemoryError), or a CUDA / CUDA library error with an allocation-failure status
    (``cudaErrorMemoryAllocation``, ``CUBLAS_STATUS_ALLOC_FAILED``,
    ``CUSOLVER_STATUS_ALLOC_FAILED``, ``CUFFT_ALLOC_FAILED``). With ``on_cuda`` (the caller
    knows a CUDA op raised) any MemoryError counts: CuPy stages some work through the host."""
    from_cupy = type(exc).__module__.startswith("cupy")
    if isinstance(exc, MemoryError):
        return on_cuda or from_cupy
    if not from_cupy:
        return False
    msg = str(exc)
    return "cudaErrorMemoryAllocation" in msg or "ALLOC_FAILED" in msg


def _oom_message(exc: BaseException, bk, idx: int) -> str:
    """torch's out-of-memory message for ``exc`` on device ``idx``, with gpuarr's numbers."""
    size = getattr(exc, "_size", None)  # CuPy's OutOfMemoryError keeps the request here
    if size is None:
        size = getattr(exc, "_total_size", None)  # NumPy's MemoryError (the CuPy stand-in)
    tried = (f"Tried to allocate {format_size(int(size))}." if size is not None
             else "Tried to allocate memory outside CuPy's memory pool.")
    parts = [f"CUDA out of memory. {tried}"]
    try:  # the counts are best effort: the device is out of memory, the queries may fail
        free, total = bk.mem_get_info(idx)
        used, held = bk.memory_allocated(idx), bk.memory_reserved(idx)
    except Exception:  # noqa: BLE001 - the message must still be raised
        pass
    else:
        parts.append(f"GPU {idx} has a total capacity of {format_size(total)} of which "
                     f"{format_size(free)} is free. Of the allocated memory "
                     f"{format_size(used)} is allocated by gpuarr, and "
                     f"{format_size(held - used)} is reserved by gpuarr but unallocated. If "
                     "reserved but unallocated memory is large, gpuarr.cuda.empty_cache() "
                     "gives it back to the driver.")
    parts.append(f"({type(exc).__name__}: {exc})")
    return " ".join(parts)


def raise_if_oom(exc: BaseException, bk, on_cuda: bool = True) -> None:
    """Raise :class:`OutOfMemoryError` (from ``exc``) when ``exc`` says CUDA device memory ran
    out; return otherwise, for the caller to re-raise ``exc``. Called from the ``except``
    clauses of gpuarr's op, autograd and creation paths (which cost nothing until something
    raises), so it runs only on errors.

    Args:
        exc: the exception caught.
        bk: the CUDA backend (its memory counts go into the message).
        on_cuda: True where the caller knows the failing work ran on CUDA (then any
            MemoryError is CUDA's); False where it may have run on the CPU (only CuPy's own
            errors are CUDA's).
    """
    if isinstance(exc, OutOfMemoryError) or not _is_cuda_oom(exc, on_cuda):
        return
    try:  # where CuPy was allocating: the op made its device the current one
        idx = bk.xp.cuda.runtime.getDevice()
    except Exception:  # noqa: BLE001
        idx = 0
    ooms[idx] = ooms.get(idx, 0) + 1
    raise OutOfMemoryError(_oom_message(exc, bk, idx)) from exc
