"""Forward + backward of the pytorch/examples MNIST CNN's convolution stack: gpuarr vs PyTorch.

conv1(1, 32, 3, 1), relu, conv2(32, 64, 3, 1), relu, max_pool2d(2) on a (64, 1, 28, 28)
batch, then ``.sum().backward()`` into the weights and biases. Gradients are checked to agree
before timing; the implementations are timed in interleaved rounds (best round each).
"""

from __future__ import annotations

import numpy as np
from _timing import fmt_time, table

import gpuarr
import gpuarr.nn.functional as F

BATCH = 64


def _init(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    w1 = rng.uniform(-1 / 3, 1 / 3, (32, 1, 3, 3)).astype(np.float32)
    b1 = rng.uniform(-1 / 3, 1 / 3, (32,)).astype(np.float32)
    bound = 1 / np.sqrt(32 * 9)
    w2 = rng.uniform(-bound, bound, (64, 32, 3, 3)).astype(np.float32)
    b2 = rng.uniform(-bound, bound, (64,)).astype(np.float32)
    return x, [w1, b1, w2, b2]


def _stepper(mod, fn, x, params, device):
    xt = mod.tensor(x, device=device)
    ps = [mod.tensor(p, device=device, requires_grad=True) for p in params]

    def step():
        for p in ps:
            p.grad = None
        h = fn.relu(fn.conv2d(xt, ps[0], ps[1]))
        h = fn.relu(fn.conv2d(h, ps[2], ps[3]))
        fn.max_pool2d(h, 2).sum().backward()

    return step, ps


def section(device: str) -> str:
    """Benchmark the CNN's conv stack forward + backward on ``device``; returns Markdown."""
    from bench_training import _single_threaded

    try:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None
    if device == "cuda":
        return _section(device, torch, "")
    ctx, threads = _single_threaded(torch)
    with ctx:
        return _section(device, torch, threads)


def _section(device: str, torch, threads: str) -> str:
    from bench_training import _interleaved

    x, params = _init()
    sync = tsync = None
    if device == "cuda":
        import cupy

        def sync():
            cupy.cuda.Device().synchronize()

        tsync = torch.cuda.synchronize if torch else None
    g_step, g_ps = _stepper(gpuarr, F, x, params, device)
    fns = {"gpuarr": (g_step, sync)}
    if torch is not None:
        import torch.nn.functional as TF

        t_step, t_ps = _stepper(torch, TF, x, params, device)
        g_step()
        t_step()
        for gp, tp in zip(g_ps, t_ps):
            a, b = gp.grad.cpu().numpy(), tp.grad.cpu().numpy()
            if not np.allclose(a, b, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(b).max()))):
                raise AssertionError("gpuarr and PyTorch conv gradients disagree")
        fns["torch"] = (t_step, tsync)
    best = _interleaved(fns)
    g = best["gpuarr"]
    t = best.get("torch")
    rows = [["gpuarr", fmt_time(g), "1.00" if t is None else f"{g / t:.2f}"]]
    if t is not None:
        rows.append(["PyTorch", fmt_time(t), "1.00"])
    return "\n".join([
        "## Conv2d forward + backward (MNIST CNN shapes)",
        "",
        f"conv1(1, 32, 3) -> relu -> conv2(32, 64, 3) -> relu -> max_pool2d(2) on a "
        f"({BATCH}, 1, 28, 28) float32 batch, forward and backward into all weights; "
        f"{threads or device}. Ratio is gpuarr time / PyTorch time.",
        "",
        table(["implementation", "time per step", "ratio vs PyTorch"], rows),
        "",
    ])
