"""``div(..., rounding_mode=...)`` against PyTorch: every sign combination, exact and inexact
quotients, integer and float dtypes, tensor and number divisors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpuarr

A = [7, -7, 7, -7, 6, -6, 0, 5]
B = [2, 2, -2, -2, 3, -3, 4, -1]


@pytest.mark.parametrize("mode", ["trunc", "floor", None])
@pytest.mark.parametrize("dtype", ["int64", "int32", "float32"])
def test_div_rounding_tensor_by_tensor(device, mode, dtype):
    got = gpuarr.div(gpuarr.tensor(A, dtype=getattr(gpuarr, dtype), device=device),
                     gpuarr.tensor(B, dtype=getattr(gpuarr, dtype), device=device),
                     rounding_mode=mode)
    want = torch.div(torch.tensor(A, dtype=getattr(torch, dtype)),
                     torch.tensor(B, dtype=getattr(torch, dtype)), rounding_mode=mode)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("divisor", [2, -2, 3, -3])
def test_div_rounding_tensor_by_number(device, mode, divisor):
    got = gpuarr.div(gpuarr.tensor(A, device=device), divisor, rounding_mode=mode)
    want = torch.div(torch.tensor(A), divisor, rounding_mode=mode)
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("dividend", [7, -7, 6])
def test_div_rounding_number_by_tensor(device, mode, dividend):
    got = gpuarr.div(dividend, gpuarr.tensor(B, device=device), rounding_mode=mode)
    want = torch.div(dividend, torch.tensor(B), rounding_mode=mode)
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
