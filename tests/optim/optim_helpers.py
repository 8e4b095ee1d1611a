"""Shared set-up of the optimizer tests: the same parameters in gpuarr and torch, and the same
random gradients for both."""

from __future__ import annotations

import numpy as np
import torch

import gpuarr


def make_pair(shapes, dtype, device, seed=0):
    """gpuarr parameters on ``device`` and torch ones on the CPU, with equal normal values."""
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s).astype(dtype) for s in shapes]
    gp = [gpuarr.tensor(a, device=device, requires_grad=True) for a in inits]
    tp = [torch.tensor(a, requires_grad=True) for a in inits]
    return gp, tp


def set_grads(gp, tp, rng, dtype, skip=()):
    """Give both lists the same fresh normal gradients; those at the indices in ``skip``
    get None."""
    for i, (g, t) in enumerate(zip(gp, tp)):
        if i in skip:
            g.grad = t.grad = None
            continue
        arr = rng.standard_normal(g.shape).astype(dtype)
        g.grad = gpuarr.tensor(arr, device=g.device)
        t.grad = torch.tensor(arr)
