"""Helpers shared by the ops tests: compare a gpuarr result, error or call with torch's."""

from __future__ import annotations

import re
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


# tensor factories whose ``device`` argument ``on_device`` fills in
_FACTORIES = frozenset({"tensor", "as_tensor", "ones", "zeros", "full", "empty", "arange",
                        "linspace", "eye", "rand", "randn", "randint"})


class on_device:
    """``mod`` (``gpuarr`` or a namespace over it) with its tensor factories defaulting to
    ``device``: error cases written as ``m.ones(3)`` then build every tensor on the device under
    test, as a torch user on that device would (the torch side stays on the CPU)."""

    def __init__(self, mod, device: str):
        self._mod, self._device = mod, device

    def __getattr__(self, name):
        f = getattr(self._mod, name)
        if name not in _FACTORIES:
            return f

        def make(*args, **kwargs):
            kwargs.setdefault("device", self._device)
            return f(*args, **kwargs)

        return make


def torch_error_text(msg: str, device: str) -> str:
    """The text gpuarr must raise on ``device`` for the error torch raised on the CPU: torch's
    names read ``gpuarr.``, and on CUDA the device-specific parts read as torch's CUDA build
    words them: tensor types (``torch.cuda.FloatTensor``), kernel names (``"median_cuda"``) and
    the device named in the text (``... on CUDA``)."""
    msg = msg.replace("torch.", "gpuarr.")
    if gpuarr.device(device).type == "cuda":
        msg = re.sub(r"\bgpuarr\.(\w+Tensor)\b", r"gpuarr.cuda.\1", msg)
        msg = re.sub(r'"(\w+)_cpu"', r'"\1_cuda"', msg)
        msg = re.sub(r"\bon CPU\b", "on CUDA", msg)
    return msg


def same_error(gfn, tfn, device: str = "cpu") -> None:
    """torch raises (on the CPU); gpuarr, whose tensors are on ``device``, must raise the same
    exception type with the same text (see ``torch_error_text``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as te:
            tfn()
    with pytest.raises(te.type) as ge:
        gfn()
    assert str(ge.value) == torch_error_text(str(te.value), device), (str(ge.value),
                                                                        str(te.value))


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
