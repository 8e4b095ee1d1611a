"""bincount, histc and the top-level softmax against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpuarr

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_bincount_matches_torch(device):
    @SETTINGS
    @given(st.lists(st.integers(0, 9), max_size=30), st.integers(0, 12), st.booleans())
    def check(values, minlength, weighted):
        x = np.array(values, dtype=np.int64)
        w = np.linspace(0.5, 2.0, len(values)).astype(np.float32)
        gw = gpuarr.tensor(w, device=device) if weighted else None
        tw = torch.tensor(w) if weighted else None
        got = gpuarr.bincount(gpuarr.tensor(x, device=device), gw, minlength=minlength)
        exp = torch.bincount(torch.tensor(x), tw, minlength=minlength)
        assert got.dtype.name == str(exp.dtype)[6:]
        np.testing.assert_allclose(got.cpu().numpy(), exp.numpy(), rtol=1e-6)

    check()


def test_histc_matches_torch(device):
    @SETTINGS
    @given(st.lists(st.floats(-5, 5, width=32), max_size=40), st.integers(1, 12),
           st.sampled_from([(0.0, 0.0), (-2.0, 3.0), (1.0, 1.0)]))
    def check(values, bins, rng):
        x = np.array(values, dtype=np.float32)
        got = gpuarr.histc(gpuarr.tensor(x, device=device), bins=bins, min=rng[0], max=rng[1])
        exp = torch.histc(torch.tensor(x), bins=bins, min=rng[0], max=rng[1])
        assert got.dtype is gpuarr.float32
        np.testing.assert_array_equal(got.cpu().numpy(), exp.numpy())

    check()


def test_counting_errors():
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral"):
        gpuarr.bincount(gpuarr.tensor([-1]))
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral"):
        gpuarr.bincount(gpuarr.ones(2, 2, dtype=gpuarr.int64))
    with pytest.raises(NotImplementedError, match="bincount_cpu\" not implemented for 'Float'"):
        gpuarr.bincount(gpuarr.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="histogram_cpu\" not implemented for 'Long'"):
        gpuarr.histc(gpuarr.tensor([1, 2]), bins=3)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        gpuarr.histc(gpuarr.tensor([1.0, 2.0]), bins=3, min=2, max=1)


def test_top_level_and_method_softmax(device):
    x = gpuarr.tensor([[1.0, 2.0, 3.0]], device=device)
    exp = torch.softmax(torch.tensor([[1.0, 2.0, 3.0]]), dim=1).numpy()
    np.testing.assert_allclose(gpuarr.softmax(x, dim=1).cpu().numpy(), exp, rtol=1e-6)
    np.testing.assert_allclose(x.softmax(1).cpu().numpy(), exp, rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax(-1).cpu().numpy(), np.log(exp), rtol=1e-5)
