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

    x = gpuarr.ones(16, device=device, requires_grad=True)
    y = gpuarr.ones(16, device=device)

    def g_fwd():
        return x * y

    def g_chain():
        h = x
        for _ in range(5):
            h = (h * 1.01) + y
        h.sum().backward()

    rows = []
    tg_f = per_call(g_fwd, sync=sync)
    tg_c = per_call(g_chain, sync=sync)
    if torch:
        tx = torch.ones(16, device=device, requires_grad=True)
        ty = torch.ones(16, device=device)

        def t_fwd():
            return tx * ty

        def t_chain():
            h = tx
            for _ in range(5):
                h = (h * 1.01) + ty
            h.sum().backward()

        tt_f = per_call(t_fwd, sync=tsync)
        tt_c = per_call(t_chain, sync=tsync)
    for label, tg, tt in [
        ("mul, 16 float32, requires_grad (forward only)", tg_f, tt_f if torch else None),
        ("10-op chain on 16 float32: forward + backward", tg_c, tt_c if torch else None),
    ]:
        rows.append([label, fmt_time(tg), fmt_time(tt) if tt else "n/a",
                     f"{tg / tt:.2f}" if tt else "n/a", "<= 1.0"])
    headers = ["case", "gpuarr", "PyTorch", "gpuarr / PyTorch (time)", "target"]
    note = "The chain is 5 x (multiply by a scalar, add a tensor), then sum and backward."
    return f"## Autograd overhead ({device})\n\n{note}\n\n{table(headers, rows)}\n"
