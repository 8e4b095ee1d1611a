"""Convolution outputs keep torch's default memory format, so programs can view() them."""

from __future__ import annotations

import torch

import gpuarr
import gpuarr.nn.functional as F


def test_conv_pool_outputs_are_contiguous_like_torch(device):
    x = gpuarr.randn(4, 3, 12, 12, device=device)
    w = gpuarr.randn(8, 3, 3, 3, device=device)
    y = F.conv2d(x, w, padding=1)
    z = F.max_pool2d(F.relu(y), 2)
    tx, tw = torch.randn(4, 3, 12, 12), torch.randn(8, 3, 3, 3)
    ty = torch.nn.functional.conv2d(tx, tw, padding=1)
    tz = torch.nn.functional.max_pool2d(torch.relu(ty), 2)
    assert y.is_contiguous() == ty.is_contiguous() is True
    assert z.is_contiguous() == tz.is_contiguous() is True
    assert z.view(4, -1).shape == tuple(tz.view(4, -1).shape)  # the mnist example's flatten
    assert y.view(4, -1).shape == (4, 8 * 12 * 12)
