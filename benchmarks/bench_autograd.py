"""Autograd overhead: a small op with requires_grad=True, and a 10-op chain forward+backward."""

from __future__ import annotations

from _timing import fmt_time, per_call, table

import gpuarr


def section(device: str) -> str:
    try:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None
    sync = None
    if device == "cuda":
        sync = gpuarr.cuda.synchronize
    tsync = (torch.cuda.synchronize if (torch and device == "cuda") else None)

    def cases(lib):
        """The two timed cases for one library (gpuarr and torch share the API)."""
        x = lib.ones(16, device=device, requires_grad=True)
        y = lib.ones(16, device=device)

        def chain():
            h = x
            for _ in range(5):
                h = (h * 1.01) + y
            h.sum().backward()

        return (lambda: x * y), chain

    g_fwd, g_chain = cases(gpuarr)
    tg_f, tg_c = per_call(g_fwd, sync=sync), per_call(g_chain, sync=sync)
    tt_f = tt_c = None
    if torch:
        t_fwd, t_chain = cases(torch)
        tt_f, tt_c = per_call(t_fwd, sync=tsync), per_call(t_chain, sync=tsync)
    rows = []
    for label, tg, tt in [
        ("mul, 16 float32, requires_grad (forward only)", tg_f, tt_f),
        ("10-op chain on 16 float32: forward + backward", tg_c, tt_c),
    ]:
        rows.append([label, fmt_time(tg), fmt_time(tt) if tt else "n/a",
                     f"{tg / tt:.2f}" if tt else "n/a", "<= 1.0"])
    headers = ["case", "gpuarr", "PyTorch", "gpuarr / PyTorch (time)", "target"]
    note = "The chain is 5 x (multiply by a scalar, add a tensor), then sum and backward."
    return f"## Autograd overhead ({device})\n\n{note}\n\n{table(headers, rows)}\n"
