"""Shared fixtures: every test that takes ``device`` runs on 'cpu', and on 'cuda' when a GPU
is usable (set GPUARR_TEST_CUDA=0 to skip the CUDA runs on a GPU machine)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import gpuarr

DEVICES = ["cpu"]
if os.environ.get("GPUARR_TEST_CUDA", "1") != "0" and gpuarr.cuda.is_available():
    DEVICES.append("cuda")


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """The device a test runs on: 'cpu', plus 'cuda' on GPU machines."""
    return request.param


@pytest.fixture
def cp():
    """The CuPy module gpuarr computes with on 'cuda' (the real one on a GPU, the stand-in with
    tests/cupy_standin on PYTHONPATH); skips the test where CUDA is not available."""
    if not gpuarr.cuda.is_available():
        pytest.skip("CUDA is not available (put tests/cupy_standin on PYTHONPATH to run these "
                    "on the CuPy stand-in)")
    from gpuarr.backends import cuda_backend

    return cuda_backend().xp


@pytest.fixture(autouse=True)
def _seed():
    gpuarr.manual_seed(0)
    np.random.seed(0)
    yield


def to_np(t) -> np.ndarray:
    """Host NumPy copy of a gpuarr tensor (any device)."""
    return t.detach().cpu().numpy()


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


_HAS_TORCH = _torch_available()


def pytest_ignore_collect(collection_path, config):
    """Without PyTorch (a plain `pip install gpuarr[test]`), leave out the test files that
    compare against it; CI installs PyTorch, so there they all run."""
    if _HAS_TORCH or collection_path.suffix != ".py":
        return None
    try:
        text = collection_path.read_text()
    except OSError:
        return None
    return True if "import torch" in text else None
