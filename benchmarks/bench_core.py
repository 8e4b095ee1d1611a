"""Per-op overhead and large-op throughput of gpuarr vs raw NumPy/CuPy and PyTorch."""

from __future__ import annotations

from _timing import fmt_time, per_call, table

import gpuarr


def _torch(device: str):
    try:
        import torch
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None
    return torch


def section(device: str) -> str:
    import numpy as np

    torch = _torch(device)
    if device == "cuda":
        import cupy as xp

        sync = xp.cuda.Device().synchronize
        raw_name = "CuPy"
    else:
        xp = np
        sync = None
        raw_name = "NumPy"
    tsync = (torch.cuda.synchronize if device == "cuda" else None) if torch else None
    rows = []

    def case(label, g_fn, r_fn, t_fn, target_note, throughput=False):
        tg = per_call(g_fn, sync=sync)
        tr = per_call(r_fn, sync=sync)
        tt = per_call(t_fn, sync=tsync) if t_fn else None
        vs_raw = tr / tg if throughput else tg / tr
        vs_t = (tt / tg if throughput else tg / tt) if tt else None
        rows.append([
            label, fmt_time(tg), fmt_time(tr), fmt_time(tt) if tt else "n/a",
            f"{vs_raw:.2f}", f"{vs_t:.2f}" if vs_t is not None else "n/a", target_note,
        ])

    # (a) a small op: per-call overhead
    ga, gb = gpuarr.ones(16, device=device), gpuarr.ones(16, device=device)
    ra, rb = xp.ones(16, dtype=xp.float32), xp.ones(16, dtype=xp.float32)
    ta = tb = None
    if torch:
        ta = torch.ones(16, device=device)
        tb = torch.ones(16, device=device)
    case("add, 2 x 16 float32 (time ratio)", lambda: ga + gb, lambda: ra + rb,
         (lambda: ta + tb) if torch else None, "<= 1.0 vs PyTorch, <= 2.0 vs raw")

    # (b) large ops: throughput (raw time / gpuarr time; >= 0.95 is the target)
    n = 16 * 1024 * 1024
    rng = np.random.default_rng(0)
    big_a = rng.standard_normal(n, dtype=np.float32)
    big_b = rng.standard_normal(n, dtype=np.float32)
    Ga, Gb = gpuarr.tensor(big_a, device=device), gpuarr.tensor(big_b, device=device)
    Ra, Rb = xp.asarray(big_a), xp.asarray(big_b)
    Ta = Tb = None
    if torch:
        Ta = torch.from_numpy(big_a).to(device)
        Tb = torch.from_numpy(big_b).to(device)
    case("add, 2 x 16M float32 (throughput ratio)", lambda: Ga + Gb, lambda: Ra + Rb,
         (lambda: Ta + Tb) if torch else None, ">= 0.95 vs raw", throughput=True)

    m = rng.standard_normal((1024, 1024), dtype=np.float32)
    Gm = gpuarr.tensor(m, device=device)
    Rm = xp.asarray(m)
    Tm = torch.from_numpy(m).to(device) if torch else None
    case("matmul 1024x1024 float32 (throughput ratio)", lambda: Gm @ Gm, lambda: Rm @ Rm,
         (lambda: Tm @ Tm) if torch else None, ">= 0.95 vs raw", throughput=True)

    headers = ["op", "gpuarr", raw_name, "PyTorch", f"gpuarr vs {raw_name}", "gpuarr vs PyTorch",
               "target"]
    note = (
        "Small op: time per call, ratio = gpuarr time / other time (lower is better). Large ops: "
        "ratio = other time / gpuarr time, i.e. gpuarr's throughput relative to the other "
        "(higher is better)."
    )
    return f"## Core ops ({device})\n\n{note}\n\n{table(headers, rows)}\n"
