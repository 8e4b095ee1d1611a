"""Small timing helpers shared by the benchmark sections."""

from __future__ import annotations

import statistics
import time


def per_call(fn, *, min_time: float = 0.2, repeats: int = 7, sync=None) -> float:
    """Median seconds per call of ``fn()`` over ``repeats`` batches of calls.

    The batch size is chosen so that one batch takes about ``min_time / repeats``. ``sync`` is
    called before reading the clock (e.g. a CUDA synchronize).
    """
    fn()
    if sync:
        sync()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if sync:
            sync()
        dt = time.perf_counter() - t0
        if dt > min_time / repeats or n > 1_000_000:
            break
        n *= 4
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if sync:
            sync()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def fmt_time(s: float) -> str:
    """Seconds as a short human string (ns/us/ms/s)."""
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def table(headers, rows) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)
