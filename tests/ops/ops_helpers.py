"""Helpers shared by the ops tests: compare a gpuarr result, error or call with torch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpuarr


def to_np(t: gpuarr.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def pair(arr: np.ndarray, device: str, requires_grad: bool = False):
    """The same data as a gpuarr tensor on ``device`` and a torch CPU tensor."""
    g = gpuarr.tensor(arr, device=device, requires_grad=requires_grad)
    t = torch.tensor(arr, requires_grad=requires_grad)
    return g, t


def assert_same(g, t, rtol: float = 1e-6, atol: float = 1e-7) -> None:
    """Same shape, dtype and values as the torch result."""
    assert isinstance(g, gpuarr.Tensor), type(g)
    assert g.dtype.name == str(t.dtype).removeprefix("torch."), (g.dtype, t.dtype)
    assert tuple(g.shape) == tuple(t.shape), (g.shape, t.shape)
    want = t.detach().numpy()
    got = to_np(g)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(got, want)


def same_error(gfn, tfn) -> None:
    """torch raises; gpuarr must raise the same exception type with the same text."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as te:
            tfn()
    with pytest.raises(te.type) as ge:
        gfn()
    assert str(ge.value) == str(te.value).replace("torch.", "gpuarr.")


def both(gfn, tfn):
    """Run the torch call and the gpuarr call (warnings silenced); when torch raises, gpuarr
    must raise the same exception type. Returns (gpuarr_result, torch_result) or
    (None, None)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            t = tfn()
        except Exception as e:  # noqa: BLE001 - any torch error must be mirrored
            with pytest.raises(type(e)):
                gfn()
            return None, None
        return gfn(), t
