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


def to_np(t) -> np.ndarray:
    """A gpuarr tensor's values as a NumPy array on the host."""
    return t.detach().cpu().numpy()


def check_params(gp, tp, tol: dict, what: str = "") -> None:
    """Assert that gpuarr parameters ``gp`` hold torch's ``tp`` values within ``tol``
    (``dict(rtol=..., atol=...)``); ``what`` starts the failure message."""
    for i, (g, t) in enumerate(zip(gp, tp)):
        np.testing.assert_allclose(to_np(g), t.detach().numpy(), **tol,
                                   err_msg=f"{what} param {i}")


def check_state(gopt, topt, gp, tp, tol: dict, *, layout: bool = False) -> None:
    """Assert that optimizer ``gopt`` keeps for each of ``gp`` the state ``topt`` keeps for
    the matching one of ``tp``: the same keys in the same order and values within ``tol``.

    With ``layout``, also that each entry is a gpuarr Tensor of torch's shape and dtype, with
    ``'step'`` on the CPU and the others on their parameter's device."""
    for g, t in zip(gp, tp):
        gs, ts = gopt.state[g], topt.state[t]
        assert list(gs) == list(ts)
        for key, tv in ts.items():
            gv = gs[key]
            if layout:
                assert isinstance(gv, gpuarr.Tensor), key
                assert tuple(gv.shape) == tuple(tv.shape), key
                assert gv.dtype.name == str(tv.dtype).replace("torch.", ""), key
                assert gv.device == (gpuarr.device("cpu") if key == "step" else g.device), key
            np.testing.assert_allclose(to_np(gv), tv.numpy(), **tol, err_msg=key)


def random_steps(opt, ps, n: int, seed: int) -> None:
    """``n`` steps of ``opt`` on fresh float32 normal gradients drawn from ``seed`` (gpuarr or
    torch parameters ``ps``: the same seed gives both the same gradients)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        for p in ps:
            g = rng.standard_normal(tuple(p.shape)).astype(np.float32)
            p.grad = torch.tensor(g) if isinstance(p, torch.Tensor) else gpuarr.tensor(
                g, device=p.device)
        opt.step()


def to_jsonable(obj):
    """A state dict as plain JSON data: tensors become nested lists, keys strings."""
    if isinstance(obj, (gpuarr.Tensor, torch.Tensor)):
        return obj.detach().cpu().tolist()
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def to_torch(obj):
    """A gpuarr state dict with torch tensors in place of gpuarr's (to load into torch)."""
    if isinstance(obj, gpuarr.Tensor):
        return torch.tensor(to_np(obj))
    if isinstance(obj, dict):
        return {k: to_torch(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_torch(v) for v in obj]
    return obj
