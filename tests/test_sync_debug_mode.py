"""gpuarr.cuda.set_sync_debug_mode: operations that make the host wait for a CUDA device warn
(mode 1) or raise (mode 2) with torch's message; mode 0 reports nothing; CPU work never does.

torch's CPU build cannot run its CUDA half, so the comparison with torch covers what it can
reach: the Python layer of ``torch.cuda.set_sync_debug_mode`` (mode names, numbers and the
error for a bad name, with its CUDA initialisation and C++ setter stubbed), the mode numbering
of torch's ``c10::cuda::SyncDebugMode`` header, and the message text of
``c10::cuda::warn_or_error_on_sync`` (c10/cuda/CUDAFunctions.cpp, not in the CPU build). Which
operations report follows torch's own list of synchronising and non-synchronising operations
(its test_cuda ``test_sync_warning``); the cases where gpuarr waits and torch does not are
marked below.
"""

from __future__ import annotations

import re
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import gpuarr
import gpuarr.nn.functional as F
from gpuarr.backends import sync_debug
from gpuarr.cuda import misc

HAS_CUDA = gpuarr.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="CUDA is not available")

# c10::cuda::warn_or_error_on_sync's text (torch adds " (Triggered internally at ...)" to the
# warning, which Python code cannot rely on)
TORCH_MESSAGE = "called a synchronizing CUDA operation"
EXACT = "^" + re.escape(TORCH_MESSAGE) + "$"
NOTICE = ("Synchronization debug mode is a prototype feature and does not yet detect all "
          "synchronizing operations")


@pytest.fixture
def set_mode(monkeypatch):
    """Sets the sync debug mode (as the user would where CUDA is usable); back to 0 after."""

    def _set(mode):
        if HAS_CUDA:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Synchronization debug mode")
                gpuarr.cuda.set_sync_debug_mode(mode)
        else:  # CPU only: the public setter raises (no CUDA), the CPU ops still read the mode
            monkeypatch.setattr(sync_debug, "mode", mode)

    yield _set
    _set(0)


def _inputs(dev: str) -> dict:
    x = gpuarr.tensor([0.0, 1.5, -2.0, 3.0], device=dev)
    return {
        "x": x,
        "y": gpuarr.tensor(0.5, device=dev),
        "mask": gpuarr.tensor([True, False, True, True], device=dev),
        "ind": gpuarr.tensor([2, 0, 3], device=dev),
        "rep": gpuarr.tensor([1, 2, 0, 3], device=dev),
        "a": gpuarr.tensor([[2.0, 1.0], [1.0, 3.0]], device=dev),
    }


def _mask_set(t):
    z = t["x"].clone()
    z[t["mask"]] = t["y"]  # a tensor value: torch reads the mask's count too
    return z


def _branch(t):
    return 1 if t["y"] else 2  # taking a tensor's truth value


# operations that wait for the device in torch and in gpuarr
SYNCING = {
    "item": lambda t: t["x"].sum().item(),
    "tolist": lambda t: t["x"].tolist(),
    "cpu": lambda t: t["x"].cpu(),
    "to_cpu": lambda t: t["x"].to("cpu"),
    "numpy_force": lambda t: t["x"].numpy(force=True),
    "bool": lambda t: bool(t["y"] > 0),
    "if_tensor": _branch,
    "int": lambda t: int(t["ind"][0]),
    "float": lambda t: float(t["y"]),
    "format": lambda t: f"{t['y']:.2f}",
    "repr": lambda t: repr(t["x"]),
    "nonzero": lambda t: t["x"].nonzero(),
    "nonzero_as_tuple": lambda t: gpuarr.nonzero(t["x"], as_tuple=True),
    "argwhere": lambda t: gpuarr.argwhere(t["x"]),
    "mask_index": lambda t: t["x"][t["mask"]],
    "mask_assign_tensor": _mask_set,
    "masked_select": lambda t: gpuarr.masked_select(t["x"], t["mask"]),
    "unique": lambda t: gpuarr.unique(t["x"]),
    "repeat_interleave": lambda t: gpuarr.repeat_interleave(t["x"], t["rep"]),
    "repeat_interleave_counts": lambda t: gpuarr.repeat_interleave(t["rep"]),
    "bincount": lambda t: gpuarr.bincount(t["ind"]),
    "one_hot": lambda t: F.one_hot(t["ind"]),
    "equal": lambda t: gpuarr.equal(t["x"], t["x"]),
    "linalg_inv": lambda t: gpuarr.linalg.inv(t["a"]),
    "multinomial": lambda t: gpuarr.multinomial(t["x"].abs(), 2),
    "histc": lambda t: gpuarr.histc(t["x"], bins=3),
    "cov": lambda t: gpuarr.cov(t["a"]),
    "cholesky": lambda t: gpuarr.linalg.cholesky(t["a"]),
    "solve": lambda t: gpuarr.linalg.solve(t["a"], t["a"]),
    "prod_backward": lambda t: t["x"].clone().requires_grad_().prod().backward(),
    # gpuarr waits where torch does not (see set_sync_debug_mode's docstring)
    "index_tensor": lambda t: t["x"][t["ind"]],
    "index_select": lambda t: gpuarr.index_select(t["x"], 0, t["ind"]),
    "gather": lambda t: gpuarr.gather(t["x"], 0, t["ind"]),
    "embedding": lambda t: F.embedding(t["ind"], t["a"].repeat(2, 1)),
    "cross_entropy": lambda t: F.cross_entropy(t["a"].repeat(2, 1)[:3], t["ind"] % 2),
    "binary_cross_entropy": lambda t: F.binary_cross_entropy(t["a"].sigmoid(), t["a"] / 4),
    "one_hot_num_classes": lambda t: F.one_hot(t["ind"], num_classes=4),
    "scatter_reduce_prod": lambda t: t["x"].scatter_reduce(0, t["ind"], t["x"][:3], "prod"),
    "fill_tensor": lambda t: t["x"].clone().fill_(t["y"]),
    "int_floor_divide": lambda t: t["ind"] // t["rep"][:3].clamp(min=1),
    "mode": lambda t: gpuarr.mode(t["x"]),
    "get_rng_state": lambda t: gpuarr.cuda.get_rng_state() if t["x"].is_cuda else None,
}

# operations that do not wait, in torch and in gpuarr
NOT_SYNCING = {
    "add": lambda t: t["x"] + t["x"],
    "matmul": lambda t: t["a"] @ t["a"],
    "sum": lambda t: t["x"].sum(),
    "mean_dim": lambda t: t["a"].mean(1),
    "softmax": lambda t: t["x"].softmax(0),
    "cumsum": lambda t: t["x"].cumsum(0),
    "argmax": lambda t: t["x"].argmax(),
    "sort": lambda t: t["x"].sort(),
    "topk": lambda t: t["x"].topk(2),
    "kthvalue": lambda t: t["x"].kthvalue(2),
    "searchsorted": lambda t: gpuarr.searchsorted(t["x"].sort().values, t["x"]),
    "det": lambda t: gpuarr.linalg.det(t["a"]),
    "any": lambda t: t["mask"].any(),
    "where": lambda t: gpuarr.where(t["mask"], t["x"], 0.0),
    "masked_fill": lambda t: t["x"].masked_fill(t["mask"], 1.0),
    "slice": lambda t: t["x"][1:3],
    "int_index": lambda t: t["x"][2],
    "clone_reshape": lambda t: t["a"].clone().reshape(-1),
    "randn": lambda t: gpuarr.randn(3, device=t["x"].device),
    "full": lambda t: gpuarr.full((2,), 3.0, device=t["x"].device),
    "to_float16": lambda t: t["x"].half(),
    "backward": lambda t: t["a"].clone().requires_grad_().pow(2).sum().backward(),
    # torch waits on these host-to-device copies; CuPy stages them through pinned memory
    "tensor_on_device": lambda t: gpuarr.tensor([1.0, 2.0], device=t["x"].device),
    "to_device": lambda t: gpuarr.ones(3).to(t["x"].device),
}


@pytest.mark.parametrize("name", sorted(SYNCING))
def test_syncing_ops_warn_on_cuda(device, set_mode, name):
    t = _inputs(device)
    set_mode(1)
    if device == "cpu":  # host arrays: nothing waits, nothing warns
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            SYNCING[name](t)
        return
    with pytest.warns(UserWarning, match=EXACT) as rec:
        SYNCING[name](t)
    # the warning names the caller's line (this file), not gpuarr's internals
    assert any(Path(w.filename).name == Path(__file__).name for w in rec
               if str(w.message) == TORCH_MESSAGE)


@pytest.mark.parametrize("name", sorted(SYNCING))
def test_syncing_ops_raise_in_error_mode(device, set_mode, name):
    t = _inputs(device)
    set_mode("error")
    if device == "cpu":
        SYNCING[name](t)
        return
    with pytest.raises(RuntimeError, match=EXACT):
        SYNCING[name](t)


@pytest.mark.parametrize("name", sorted(NOT_SYNCING))
def test_device_side_ops_never_report(device, set_mode, name):
    t = _inputs(device)
    set_mode(2)  # any report would raise
    NOT_SYNCING[name](t)
    set_mode(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NOT_SYNCING[name](t)


def test_default_mode_is_silent(device, set_mode):
    t = _inputs(device)
    set_mode(1)
    set_mode(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in SYNCING.values():
            fn(t)


def test_results_are_unchanged_by_the_mode(device, set_mode):
    t = _inputs(device)
    plain = t["x"][t["mask"]].tolist()
    set_mode(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert t["x"][t["mask"]].tolist() == plain == [0.0, -2.0, 3.0]
        assert t["x"].nonzero().reshape(-1).tolist() == [1, 2, 3]


@needs_cuda
def test_explicit_synchronize_is_not_reported(set_mode):
    # torch reports implicit waits only: torch.cuda.synchronize() is what the user asked for
    gpuarr.ones(3, device="cuda").sum()
    set_mode(2)
    gpuarr.cuda.synchronize()
    gpuarr.cuda.current_stream().synchronize()
    ev = gpuarr.cuda.Event()
    ev.record()
    ev.synchronize()


@needs_cuda
def test_error_mode_raises_before_the_value_check(set_mode):
    # the report comes first, as torch's does (before the copy); the index error never runs
    x = gpuarr.zeros(3, device="cuda")
    bad = gpuarr.tensor([5], device="cuda")
    set_mode(2)
    with pytest.raises(RuntimeError, match=EXACT):
        x[bad]
    set_mode(0)
    with pytest.raises(IndexError):
        x[bad]


@needs_cuda
def test_empty_copies_are_not_reported(set_mode):
    # no bytes to copy, nothing to wait for (torch skips the copy of an empty tensor too)
    e = gpuarr.empty(0, device="cuda")
    set_mode(2)
    assert e.cpu().shape == (0,)
    assert e.tolist() == []


@needs_cuda
def test_mode_is_global_across_threads(set_mode):
    # torch keeps the mode in one process-wide variable, not per thread
    x = gpuarr.ones(2, device="cuda")
    set_mode(2)
    caught = []

    def work():
        try:
            x.sum().item()
        except RuntimeError as e:
            caught.append(str(e))

    th = threading.Thread(target=work)
    th.start()
    th.join()
    assert caught == [TORCH_MESSAGE]


@needs_cuda
def test_get_reports_what_was_set(set_mode):
    for mode, expect in [("warn", 1), (2, 2), ("default", 0), (1, 1), ("error", 2), (0, 0)]:
        set_mode(mode)
        assert gpuarr.cuda.get_sync_debug_mode() == expect == sync_debug.mode


@needs_cuda
def test_prototype_notice_is_given_once(monkeypatch):
    monkeypatch.setattr(misc, "_notice_given", False)
    try:
        with pytest.warns(UserWarning, match="^" + re.escape(NOTICE) + "$"):
            gpuarr.cuda.set_sync_debug_mode(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gpuarr.cuda.set_sync_debug_mode("warn")
            gpuarr.cuda.set_sync_debug_mode(0)
    finally:
        sync_debug.mode = 0


def test_check_reports_only_device_arrays(monkeypatch):
    calls = []
    monkeypatch.setattr(sync_debug, "_report", lambda: calls.append(1))
    monkeypatch.setattr(sync_debug, "mode", 0)
    sync_debug.check()
    sync_debug.check_array(object())
    assert calls == []  # mode 0: nothing
    monkeypatch.setattr(sync_debug, "mode", 2)
    for host in (np.zeros(3), np.float32(1), np.bool_(True), True, 3, 2.5):
        sync_debug.check_array(host)
    assert calls == []
    sync_debug.check_array(object())  # anything else is device data
    sync_debug.check()
    assert calls == [1, 1]


def test_message_is_torchs():
    assert sync_debug.MESSAGE == TORCH_MESSAGE


def test_mode_numbering_matches_torchs_header():
    header = Path(torch.__file__).parent / "include" / "c10" / "cuda" / "CUDAFunctions.h"
    if not header.exists():
        pytest.skip("this torch has no c10/cuda headers")
    m = re.search(r"enum class SyncDebugMode \{([^}]*)\}", header.read_text())
    names = [n.split("=")[0].strip() for n in m.group(1).split(",")]
    assert names == ["L_DISABLED", "L_WARN", "L_ERROR"]  # 0, 1, 2
    assert misc._SYNC_MODES == {"default": 0, "warn": 1, "error": 2}


def test_mode_names_match_torch(monkeypatch):
    # torch's Python layer, with its CUDA initialisation and C++ setter stubbed out
    got = []
    monkeypatch.setattr(torch.cuda, "_lazy_init", lambda: None)
    monkeypatch.setattr(torch._C, "_cuda_set_sync_debug_mode", got.append, raising=False)
    for name in ("default", "warn", "error"):
        torch.cuda.set_sync_debug_mode(name)
    assert got == [misc._SYNC_MODES[n] for n in ("default", "warn", "error")]
    with pytest.raises(RuntimeError) as te:
        torch.cuda.set_sync_debug_mode("loud")
    if not HAS_CUDA:
        return
    try:
        with pytest.raises(RuntimeError, match="^" + re.escape(str(te.value)) + "$"):
            gpuarr.cuda.set_sync_debug_mode("loud")
    finally:
        sync_debug.mode = 0
