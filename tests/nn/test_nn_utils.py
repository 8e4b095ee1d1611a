"""``nn.utils``: gradient clipping against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from nn_helpers import to_np

import gpuarr
from gpuarr import nn


def _grads(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * 3 for s in [(3, 4), (4,), (2, 2, 2)]]


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0),
                                                (0.7, math.inf), (2.0, 3.0)])
def test_clip_grad_norm_matches_torch(device, max_norm, norm_type):
    gs = _grads()
    gp = [nn.Parameter(gpuarr.zeros(*g.shape, dtype=gpuarr.float64, device=device))
          for g in gs]
    tp = [torch.nn.Parameter(torch.zeros(*g.shape, dtype=torch.float64)) for g in gs]
    for p, q, g in zip(gp, tp, gs):
        p.grad = gpuarr.tensor(g, device=device)
        q.grad = torch.tensor(g)
    total = nn.utils.clip_grad_norm_(gp, max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    assert float(total) == pytest.approx(float(ref), rel=1e-12)
    for p, q in zip(gp, tp):
        np.testing.assert_allclose(to_np(p.grad), q.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(gpuarr.zeros(2))
    assert float(nn.utils.clip_grad_norm_([p], 1.0)) == 0.0  # no grads at all
    p.grad = gpuarr.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    p = nn.Parameter(gpuarr.zeros(4))
    p.grad = gpuarr.tensor([-3.0, -0.5, 0.2, 5.0])
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(to_np(p.grad), np.float32([-1.0, -0.5, 0.2, 1.0]))


def test_total_norm():
    ts = [gpuarr.tensor([3.0]), gpuarr.tensor([4.0])]
    assert float(nn.utils.get_total_norm(ts)) == pytest.approx(5.0)
