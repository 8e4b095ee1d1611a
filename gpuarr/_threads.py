"""``set_num_threads`` and friends: how many CPU threads gpuarr's NumPy backend may use.

gpuarr's CPU ops run on the calling thread; the parallel parts are NumPy's BLAS (matmul,
linear algebra, convolutions lowered to matmul). :func:`set_num_threads` therefore limits the
BLAS thread pools of this process through ``threadpoolctl``, and :func:`get_num_threads` reads
them back. gpuarr has no inter-op thread pool: :func:`set_num_interop_threads` only records its
value (with torch's checks), so that programs that tune it run unchanged.
"""

from __future__ import annotations

import os

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads",
           "get_num_interop_threads"]

_interop: list[int] = []  # set_num_interop_threads' value, once it was called


def _check(fn: str, n) -> int:
    """``n`` as a positive int, with torch's RuntimeErrors (bools are not ints there)."""
    import numpy as np

    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise RuntimeError(f"{fn} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{fn} expects a positive integer")
    return int(n)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_num_threads(n: int) -> None:
    """Limit the threads NumPy's BLAS (matmul, linalg) uses in this process to ``n``.

    Applies to every BLAS library loaded now (OpenBLAS, MKL, BLIS...), via ``threadpoolctl``;
    CUDA work is unaffected.

    Args:
        n: a positive number of threads.

    Raises:
        RuntimeError: if ``n`` is not an int or not positive (torch's texts).

    Example:
        >>> gpuarr.set_num_threads(1)
        >>> gpuarr.get_num_threads()
        1
    """
    n = _check("set_num_threads", n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses (the largest among loaded BLAS libraries).

    Returns:
        That number; the number of usable CPUs when no BLAS library reports one.

    Example:
        >>> gpuarr.get_num_threads() >= 1
        True
    """
    from threadpoolctl import threadpool_info

    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(counts) if counts else _cpus()


def set_num_interop_threads(n: int) -> None:
    """Record the number of inter-op threads (torch's API; gpuarr has no inter-op pool, so it
    changes nothing). Like torch, it may be called once.

    Args:
        n: a positive number of threads.

    Raises:
        RuntimeError: if ``n`` is not a positive int, or on a second call.

    Example:
        >>> gpuarr.set_num_interop_threads(2)
    """
    n = _check("set_num_interop_threads", n)
    if _interop:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work "
                           "has started or set_num_interop_threads called")
    _interop.append(n)


def get_num_interop_threads() -> int:
    """The inter-op thread count: the value given to :func:`set_num_interop_threads`, else the
    number of usable CPUs (torch's default).

    Returns:
        The number of inter-op threads.
    """
    return _interop[0] if _interop else _cpus()
