"""Matrix products (gpuarr.ops.matmul) and gpuarr.linalg, tested against PyTorch 2.13.

Each function is compared with torch on hypothesis-drawn shapes (broadcast batches, 1-D
operands, size-0 dims), its gradients with torch's, and its second derivatives by
gradcheck/gradgradcheck in float64. A table runs the same call through both libraries and
asserts the same result, or the same exception type and text.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpuarr
import gpuarr.linalg as LA
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.ops import matmul as OL
from gpuarr.ops import matrix_functions as MF

HSET = settings(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
INF = math.inf


def npy(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def ga(arr, device="cpu", rg: bool = False):
    return gpuarr.tensor(np.asarray(arr), device=device, requires_grad=rg)


def th(arr, rg: bool = False):
    return torch.tensor(np.asarray(arr), requires_grad=rg)


def rand(shape, seed: int = 0, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def well_conditioned(shape, seed: int = 0) -> np.ndarray:
    """Random square matrices with a dominant diagonal (safely invertible)."""
    a = rand(shape, seed)
    n = shape[-1]
    return a + 2 * n * np.eye(n) if n else a


def spd(shape, seed: int = 0) -> np.ndarray:
    a = rand(shape, seed)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def close(ours, ref, rtol=1e-6, atol=1e-8) -> None:
    """Same shape and dtype as the torch result, values allclose (nan == nan)."""
    ref = ref.detach()
    assert tuple(ours.shape) == tuple(ref.shape)
    assert ours.dtype.name == str(ref.dtype).replace("torch.", "")
    np.testing.assert_allclose(npy(ours).astype(np.float64), ref.numpy().astype(np.float64),
                               rtol=rtol, atol=atol, equal_nan=True)


def grads_match(fn_ours, fn_torch, arrays, device="cpu", rtol=1e-6, atol=1e-8, seed=1):
    """Forward values and the gradients of every input under a random cotangent."""
    xs = [ga(a, device, rg=True) for a in arrays]
    ts = [th(a, rg=True) for a in arrays]
    out, ref = fn_ours(*xs), fn_torch(*ts)
    close(out, ref, rtol, atol)
    cot = rand(tuple(ref.shape), seed)
    out.backward(ga(cot, device))
    ref.backward(th(cot))
    for x, t in zip(xs, ts):
        if t.grad is None:
            assert x.grad is None or not npy(x.grad).any()
        else:
            np.testing.assert_allclose(npy(x.grad), t.grad.numpy(), rtol=rtol, atol=atol * 10)


# --------------------------------------------------------------------------------------------
# one call, two libraries: results and errors must agree

GA = SimpleNamespace(
    ones=gpuarr.ones, zeros=gpuarr.zeros, eye=gpuarr.eye, tensor=gpuarr.tensor,
    matmul=OL.matmul, mm=OL.mm, mv=OL.mv, bmm=OL.bmm, dot=OL.dot, vdot=OL.vdot,
    inner=OL.inner, outer=OL.outer, ger=OL.ger, einsum=OL.einsum, tensordot=OL.tensordot,
    trace=OL.trace, addmm=OL.addmm, addmv=OL.addmv, baddbmm=OL.baddbmm, kron=OL.kron,
    norm=gpuarr.norm, det=MF.det, inverse=MF.inverse, logdet=MF.logdet,
    chain_matmul=MF.chain_matmul,
    linalg=LA, float16=gpuarr.float16, half=gpuarr.half, float32=gpuarr.float32,
    float64=gpuarr.float64, int8=gpuarr.int8, int16=gpuarr.int16, int32=gpuarr.int32,
    int64=gpuarr.int64, uint8=gpuarr.uint8, bool=gpuarr.bool,
)

SING = [[1.0, 2.0], [2.0, 4.0]]


def _empty_matrix_norm(o, shape):
    return lambda M: M.linalg.matrix_norm(M.ones(*shape), ord=o, keepdim=len(shape) == 3)


NOT_PD = [[1.0, 2.0], [2.0, 1.0]]
EYE2 = [[1.0, 0.0], [0.0, 1.0]]

CASES = {
    # matmul: one path per torch kernel, errors included
    "mm ok": lambda M: M.matmul(M.ones(2, 4), M.ones(4, 3)),
    "mm mismatch": lambda M: M.matmul(M.ones(2, 3), M.ones(4, 5)),
    "dot mismatch": lambda M: M.matmul(M.ones(3), M.ones(4)),
    "vec@mat mismatch": lambda M: M.matmul(M.ones(3), M.ones(4, 5)),
    "mat@vec mismatch": lambda M: M.matmul(M.ones(2, 3), M.ones(4)),
    "3d@vec mismatch": lambda M: M.matmul(M.ones(6, 2, 3), M.ones(4)),
    "4d@vec mismatch": lambda M: M.matmul(M.ones(2, 6, 2, 3), M.ones(4)),
    "vec@3d mismatch": lambda M: M.matmul(M.ones(3), M.ones(6, 4, 5)),
    "vec@empty 3d": lambda M: M.matmul(M.ones(3), M.ones(0, 4, 5)),
    "3d@2d mismatch": lambda M: M.matmul(M.ones(6, 2, 3), M.ones(4, 5)),
    "4d@2d mismatch": lambda M: M.matmul(M.ones(2, 6, 2, 3), M.ones(4, 5)),
    "2d@3d mismatch": lambda M: M.matmul(M.ones(2, 3), M.ones(6, 4, 5)),
    "3d@3d mismatch": lambda M: M.matmul(M.ones(6, 2, 3), M.ones(6, 4, 5)),
    "4d@4d mismatch": lambda M: M.matmul(M.ones(2, 6, 2, 3), M.ones(2, 6, 4, 5)),
    "batch no bcast": lambda M: M.matmul(M.ones(6, 2, 3), M.ones(5, 3, 5)),
    "batch no bcast 4d": lambda M: M.matmul(M.ones(2, 6, 2, 3), M.ones(5, 3, 5)),
    "batch bcast ok": lambda M: M.matmul(M.ones(2, 1, 2, 3), M.ones(5, 3, 4)),
    "grad 2d@3d fold": lambda M: M.matmul(M.ones(2, 3, requires_grad=True), M.ones(6, 4, 5)),
    "grad vec@3d fold": lambda M: M.matmul(M.ones(3, requires_grad=True), M.ones(6, 4, 5)),
    "non-contig 3d@2d": lambda M: M.matmul(M.ones(2, 6, 3).transpose(0, 1), M.ones(4, 5)),
    "0d": lambda M: M.matmul(M.ones(()), M.ones(2, 3)),
    "0d right": lambda M: M.matmul(M.ones(3), M.ones(())),
    "dtype mm": lambda M: M.matmul(M.ones(2, 3), M.ones(3, 4, dtype=M.float64)),
    "dtype dot": lambda M: M.matmul(M.ones(3), M.ones(3, dtype=M.float64)),
    "dtype mv": lambda M: M.matmul(M.ones(2, 3), M.ones(3, dtype=M.float64)),
    "dtype bmm": lambda M: M.matmul(M.ones(2, 2, 3), M.ones(2, 3, 4, dtype=M.float64)),
    "dtype 3d@2d": lambda M: M.matmul(M.ones(2, 2, 3), M.ones(3, 4, dtype=M.float64)),
    "dtype half": lambda M: M.matmul(M.ones(2, 3), M.ones(3, 4, dtype=M.half)),
    "dtype int8": lambda M: M.matmul(M.ones(2, 3), M.ones(3, 4, dtype=M.int8)),
    "dtype int16": lambda M: M.matmul(M.ones(2, 3), M.ones(3, 4, dtype=M.int16)),
    "dtype int32": lambda M: M.matmul(M.ones(2, 3), M.ones(3, 4, dtype=M.int32)),
    "dtype uint8": lambda M: M.matmul(M.ones(2, 3), M.ones(3, 4, dtype=M.uint8)),
    "dtype bool": lambda M: M.matmul(M.ones(2, 3), M.ones(3, 4, dtype=M.bool)),
    "int64": lambda M: M.matmul(M.ones(2, 3, dtype=M.int64), M.ones(3, 4, dtype=M.int64)),
    "int32 1d": lambda M: M.matmul(M.ones(3, dtype=M.int32), M.ones(3, dtype=M.int32)),
    "int8 wraps": lambda M: M.matmul(M.ones(2, 3, dtype=M.int8) * 100,
                                     M.ones(3, 4, dtype=M.int8)),
    "half": lambda M: M.matmul(M.ones(2, 3, dtype=M.half), M.ones(3, 4, dtype=M.half)),
    "bool mm": lambda M: M.matmul(M.ones(2, 3, dtype=M.bool), M.ones(3, 4, dtype=M.bool)),
    "bool dot": lambda M: M.matmul(M.ones(3, dtype=M.bool), M.ones(3, dtype=M.bool)),
    "bool bmm": lambda M: M.matmul(M.ones(2, 2, 3, dtype=M.bool), M.ones(2, 3, 4, dtype=M.bool)),
    "bool mv": lambda M: M.matmul(M.ones(2, 3, dtype=M.bool), M.ones(3, dtype=M.bool)),
    "list operand": lambda M: M.matmul(M.ones(3), [1.0, 2.0, 3.0]),
    "list input": lambda M: M.matmul([1.0, 2.0, 3.0], M.ones(3)),
    "@ list": lambda M: M.ones(2, 2) @ [[1.0, 1.0], [1.0, 1.0]],
    "list @": lambda M: [[1.0, 1.0], [1.0, 1.0]] @ M.ones(2, 2),
    "empty k": lambda M: M.matmul(M.ones(2, 0), M.ones(0, 4)),
    "empty batch": lambda M: M.matmul(M.ones(0, 2, 3), M.ones(3, 4)),
    "empty vec": lambda M: M.matmul(M.ones(0), M.ones(0)),
    # mm / mv / bmm / dot
    "mm 1d": lambda M: M.mm(M.ones(3), M.ones(3, 4)),
    "mm 1d b": lambda M: M.mm(M.ones(2, 3), M.ones(3)),
    "mm 3d": lambda M: M.mm(M.ones(2, 2, 3), M.ones(3, 4)),
    "mm shape+dtype": lambda M: M.mm(M.ones(2, 3), M.ones(4, 4, dtype=M.float64)),
    "mm int mix": lambda M: M.mm(M.ones(2, 3, dtype=M.int64), M.ones(3, 4, dtype=M.int32)),
    "mm bool": lambda M: M.mm(M.ones(2, 3, dtype=M.bool), M.ones(3, 4, dtype=M.bool)),
    "mv ok": lambda M: M.mv(M.ones(2, 3), M.ones(3)),
    "mv mismatch": lambda M: M.mv(M.ones(2, 3), M.ones(4)),
    "mv 1d": lambda M: M.mv(M.ones(3), M.ones(3)),
    "mv 3d": lambda M: M.mv(M.ones(2, 2, 3), M.ones(3)),
    "mv vec 2d": lambda M: M.mv(M.ones(2, 3), M.ones(3, 1)),
    "mv dtype": lambda M: M.mv(M.ones(2, 3), M.ones(3, dtype=M.float64)),
    "mv dtype rev": lambda M: M.mv(M.ones(2, 3, dtype=M.float64), M.ones(3)),
    "mv shape+dtype": lambda M: M.mv(M.ones(2, 3), M.ones(4, dtype=M.float64)),
    "bmm ok": lambda M: M.bmm(M.ones(2, 2, 3), M.ones(2, 3, 4)),
    "bmm 2d": lambda M: M.bmm(M.ones(2, 3), M.ones(2, 3, 4)),
    "bmm 2d b": lambda M: M.bmm(M.ones(2, 2, 3), M.ones(3, 4)),
    "bmm batch": lambda M: M.bmm(M.ones(2, 2, 3), M.ones(3, 3, 4)),
    "bmm no bcast": lambda M: M.bmm(M.ones(1, 2, 3), M.ones(2, 3, 4)),
    "bmm inner": lambda M: M.bmm(M.ones(2, 2, 3), M.ones(2, 4, 4)),
    "bmm dtype": lambda M: M.bmm(M.ones(2, 2, 3), M.ones(2, 3, 4, dtype=M.float64)),
    "bmm dtype rev": lambda M: M.bmm(M.ones(2, 2, 3, dtype=M.float64), M.ones(2, 3, 4)),
    "bmm bool": lambda M: M.bmm(M.ones(2, 2, 3, dtype=M.bool), M.ones(2, 3, 4, dtype=M.bool)),
    "dot ok": lambda M: M.dot(M.tensor([1.0, 2.0]), M.tensor([3.0, 4.0])),
    "dot 2d": lambda M: M.dot(M.ones(2, 3), M.ones(2, 3)),
    "dot 1d 2d": lambda M: M.dot(M.ones(3), M.ones(2, 3)),
    "dot 0d": lambda M: M.dot(M.ones(()), M.ones(3)),
    "dot size": lambda M: M.dot(M.ones(3), M.ones(4)),
    "dot dtype": lambda M: M.dot(M.ones(3), M.ones(3, dtype=M.float64)),
    "dot shape+dtype": lambda M: M.dot(M.ones(3), M.ones(4, dtype=M.float64)),
    "dot int": lambda M: M.dot(M.ones(3, dtype=M.int64), M.ones(3, dtype=M.int64)),
    "dot bool": lambda M: M.dot(M.ones(3, dtype=M.bool), M.ones(3, dtype=M.bool)),
    "dot bool size": lambda M: M.dot(M.ones(3, dtype=M.bool), M.ones(4, dtype=M.bool)),
    "vdot": lambda M: M.vdot(M.tensor([1.0, 2.0]), M.tensor([3.0, 4.0])),
    # inner / outer / trace / tensordot / kron / fused
    "inner": lambda M: M.inner(M.ones(2, 3), M.ones(4, 3)),
    "inner mismatch": lambda M: M.inner(M.ones(2, 3), M.ones(4, 5)),
    "inner 0d": lambda M: M.inner(M.tensor(2.0), M.ones(4, 5)),
    "inner dtype": lambda M: M.inner(M.ones(3), M.ones(3, dtype=M.float64)),
    "outer": lambda M: M.outer(M.tensor([1.0, 2.0]), M.tensor([1.0, 2.0, 3.0])),
    "outer 2d": lambda M: M.outer(M.ones(2, 2), M.ones(3)),
    "outer 2d b": lambda M: M.outer(M.ones(2), M.ones(3, 3)),
    "outer 0d": lambda M: M.outer(M.ones(()), M.ones(3)),
    "outer promotes": lambda M: M.outer(M.ones(2, dtype=M.int64), M.ones(3)),
    "ger": lambda M: M.ger(M.ones(2), M.ones(3)),
    "trace": lambda M: M.trace(M.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])),
    "trace 1d": lambda M: M.trace(M.ones(3)),
    "trace 3d": lambda M: M.trace(M.ones(2, 3, 3)),
    "trace int": lambda M: M.trace(M.ones(3, 3, dtype=M.int32)),
    "trace bool": lambda M: M.trace(M.ones(3, 3, dtype=M.bool)),
    "trace empty": lambda M: M.trace(M.ones(0, 3)),
    "tensordot": lambda M: M.tensordot(M.ones(2, 3, 4), M.ones(3, 4, 5)),
    "tensordot mismatch": lambda M: M.tensordot(M.ones(2, 3, 4), M.ones(3, 5, 5), dims=2),
    "tensordot lists": lambda M: M.tensordot(M.ones(2, 3, 4), M.ones(4, 3, 5),
                                             dims=([1, 2], [1, 0])),
    "tensordot lens": lambda M: M.tensordot(M.ones(2, 3, 4), M.ones(4, 3, 5),
                                            dims=([1, 2], [1])),
    "tensordot neg": lambda M: M.tensordot(M.ones(2, 3, 4), M.ones(4, 3, 5), dims=-1),
    "tensordot big": lambda M: M.tensordot(M.ones(2, 3, 4), M.ones(4, 3, 5), dims=4),
    "tensordot dtype": lambda M: M.tensordot(M.ones(2, 3), M.ones(3, dtype=M.float64), dims=1),
    "tensordot dtype+size": lambda M: M.tensordot(M.ones(2, 3), M.ones(4, dtype=M.float64),
                                                  dims=1),
    "tensordot oob": lambda M: M.tensordot(M.ones(2, 3), M.ones(3), dims=([2], [0])),
    "tensordot dup": lambda M: M.tensordot(M.ones(3, 3), M.ones(3, 3), dims=([0, 0], [0, 1])),
    "tensordot int pair": lambda M: M.tensordot(M.ones(2, 3), M.ones(3, 4), dims=(1, 0)),
    "tensordot 0": lambda M: M.tensordot(M.ones(2, 3), M.ones(3, 4), dims=0),
    "tensordot bool": lambda M: M.tensordot(M.ones(2, 3, dtype=M.bool),
                                            M.ones(3, 4, dtype=M.bool), dims=1),
    "tensordot bad dims": lambda M: M.tensordot(M.ones(2, 3), M.ones(3, 4), dims=[1]),
    "tensordot float dims": lambda M: M.tensordot(M.ones(2, 3), M.ones(3, 4), dims=1.5),
    "tensordot tensor dims": lambda M: M.tensordot(M.ones(2, 3), M.ones(3), dims=M.tensor(1)),
    "tensordot bcast": lambda M: M.tensordot(M.tensor([[1.0], [2.0]]), M.tensor([1.0, 2, 3]),
                                             dims=1),
    "kron": lambda M: M.kron(M.tensor([[1.0, 2], [3, 4]]), M.tensor([[0.0, 1], [1, 0]])),
    "kron nd": lambda M: M.kron(M.ones(2, 3), M.ones(4, 5, 6)),
    "kron promotes": lambda M: M.kron(M.ones(2, dtype=M.int64), M.ones(3)),
    "kron 0d": lambda M: M.kron(M.tensor(2.0), M.ones(3)),
    "kron bool": lambda M: M.kron(M.ones(2, dtype=M.bool), M.ones(3, dtype=M.bool)),
    "addmm": lambda M: M.addmm(M.tensor([1.0, 2, 3]), M.ones(2, 3), M.ones(3, 3), beta=2,
                               alpha=0.5),
    "addmm beta 0 nan": lambda M: M.addmm(M.tensor([math.nan] * 3), M.ones(2, 3), M.ones(3, 3),
                                          beta=0),
    "addmm bad input": lambda M: M.addmm(M.ones(4), M.ones(2, 3), M.ones(3, 3)),
    "addmm 1d": lambda M: M.addmm(M.ones(3), M.ones(3), M.ones(3, 3)),
    "addmm dtype in": lambda M: M.addmm(M.ones(3, dtype=M.float64), M.ones(2, 3), M.ones(3, 3)),
    "addmm dtype m": lambda M: M.addmm(M.ones(3), M.ones(2, 3), M.ones(3, 3, dtype=M.float64)),
    "addmm shape": lambda M: M.addmm(M.ones(3), M.ones(2, 3), M.ones(4, 3)),
    "addmv": lambda M: M.addmv(M.tensor([1.0, 2.0]), M.ones(2, 3), M.ones(3), alpha=2),
    "baddbmm": lambda M: M.baddbmm(M.ones(3), M.ones(2, 2, 3), M.ones(2, 3, 3), beta=0.5),
    "baddbmm bad": lambda M: M.baddbmm(M.ones(4), M.ones(2, 2, 3), M.ones(2, 3, 3)),
    "baddbmm 2d": lambda M: M.baddbmm(M.ones(3), M.ones(2, 3), M.ones(2, 3, 3)),
    "chain_matmul": lambda M: M.chain_matmul(M.ones(2, 3), M.ones(3, 4), M.ones(4, 1)),
    # einsum parsing and checks
    "einsum mm": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3), M.ones(3, 4)),
    "einsum dtype": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3), M.ones(3, 4, dtype=M.float64)),
    "einsum 3 ops dtype": lambda M: M.einsum("i,i,i->", M.ones(3), M.ones(3),
                                             M.ones(3, dtype=M.float64)),
    "einsum int": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3, dtype=M.int64),
                                     M.ones(3, 4, dtype=M.int64)),
    "einsum int sum": lambda M: M.einsum("ij->", M.ones(2, 3, dtype=M.int32)),
    "einsum int32 mm": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3, dtype=M.int32),
                                          M.ones(3, 4, dtype=M.int32)),
    "einsum bool mm": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3, dtype=M.bool),
                                         M.ones(3, 4, dtype=M.bool)),
    "einsum bool T": lambda M: M.einsum("ij->ji", M.ones(2, 3, dtype=M.bool)),
    "einsum bool sum": lambda M: M.einsum("ij->", M.ones(2, 3, dtype=M.bool)),
    "einsum bool mul": lambda M: M.einsum("i,i->i", M.ones(3, dtype=M.bool),
                                          M.ones(3, dtype=M.bool)),
    "einsum half": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3, dtype=M.half),
                                      M.ones(3, 4, dtype=M.half)),
    "einsum bcast": lambda M: M.einsum("ij,jk->ik", M.ones(2, 1), M.ones(3, 4)),
    "einsum bcast2": lambda M: M.einsum("ij,ij->ij", M.ones(2, 1), M.ones(1, 4)),
    "einsum ell bcast": lambda M: M.einsum("...ij,...jk->...ik", M.ones(2, 1, 2, 3),
                                           M.ones(5, 3, 4)),
    "einsum ell mismatch": lambda M: M.einsum("...i,...i->...", M.ones(2, 3), M.ones(4, 3)),
    "einsum ell ndim": lambda M: M.einsum("...i,...i->...", M.ones(5, 2, 3), M.ones(2, 3)),
    "einsum implicit ell": lambda M: M.einsum("...ij,...jk", M.ones(5, 2, 3), M.ones(3, 4)),
    "einsum mismatch": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3), M.ones(4, 4)),
    "einsum few ops": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3)),
    "einsum more ops": lambda M: M.einsum("i->", M.ones(3), M.ones(3)),
    "einsum ndim": lambda M: M.einsum("ij,jk->ik", M.ones(2, 3, 3), M.ones(3, 4)),
    "einsum ell too many": lambda M: M.einsum("...ij->", M.ones(3)),
    "einsum bad out": lambda M: M.einsum("ij,jk->iz", M.ones(2, 3), M.ones(3, 4)),
    "einsum repeated out": lambda M: M.einsum("ij,jk->ii", M.ones(2, 3), M.ones(3, 4)),
    "einsum bad char": lambda M: M.einsum("i1,jk->ik", M.ones(2, 3), M.ones(3, 4)),
    "einsum bad out char": lambda M: M.einsum("i->i->i", M.ones(2)),
    "einsum dot in op": lambda M: M.einsum("i.->", M.ones(3)),
    "einsum dot out": lambda M: M.einsum("i->.", M.ones(3)),
    "einsum two ell": lambda M: M.einsum("...i...->i", M.ones(2, 3)),
    "einsum out two ell": lambda M: M.einsum("...i->......", M.ones(3, 3)),
    "einsum diag": lambda M: M.einsum("ii->i", M.tensor([[1.0, 2], [3, 4]])),
    "einsum diag mismatch": lambda M: M.einsum("ii->i", M.ones(3, 4)),
    "einsum implicit": lambda M: M.einsum("ba", M.ones(2, 3)),
    "einsum implicit order": lambda M: M.einsum("bA,Ab", M.ones(2, 3), M.ones(3, 2)),
    "einsum spaces": lambda M: M.einsum(" i j , j k -> i k ", M.ones(2, 3), M.ones(3, 4)),
    "einsum list": lambda M: M.einsum("ij,jk->ik", [M.ones(2, 3), M.ones(3, 4)]),
    "einsum sublist": lambda M: M.einsum(M.ones(2, 3), [0, 1], M.ones(3, 4), [1, 2], [0, 2]),
    "einsum sublist implicit": lambda M: M.einsum(M.ones(2, 3), [0, 1], M.ones(3, 4), [1, 2]),
    "einsum sublist ell": lambda M: M.einsum(M.ones(5, 2, 3), [..., 1], [...]),
    "einsum sublist bad": lambda M: M.einsum(M.ones(2, 3), [0, 60]),
    "einsum not str": lambda M: M.einsum(3, M.ones(2)),
    "einsum no operands": lambda M: M.einsum("ij->ij"),
    "einsum 0d": lambda M: M.einsum(",->", M.tensor(2.0), M.tensor(3.0)),
    "einsum ell 0d": lambda M: M.einsum("...->...", M.tensor(2.0)),
    "einsum out ell unused": lambda M: M.einsum("ij->...", M.ones(3, 3)),
    "einsum ell summed": lambda M: M.einsum("...ij->ij", M.ones(5, 2, 3)),
    # gpuarr.linalg: norms
    "norm 3d": lambda M: M.linalg.norm(M.ones(2, 3, 4)),
    "norm ord 3d": lambda M: M.linalg.norm(M.ones(2, 3, 4), ord=2),
    "norm ord 0d": lambda M: M.linalg.norm(M.tensor(2.0), ord=2),
    "norm 0d": lambda M: M.linalg.norm(M.tensor(-2.0)),
    "norm fro 1d": lambda M: M.linalg.norm(M.ones(3), ord="fro"),
    "norm nuc 1d": lambda M: M.linalg.norm(M.ones(3), ord="nuc"),
    "norm fro dim int": lambda M: M.linalg.norm(M.ones(3, 3), ord="fro", dim=1),
    "norm fro dim 1": lambda M: M.linalg.norm(M.ones(3, 3), ord="fro", dim=(0,)),
    "norm dim 3": lambda M: M.linalg.norm(M.ones(3, 3, 3), dim=(0, 1, 2)),
    "norm str dim 3": lambda M: M.linalg.norm(M.ones(3, 3, 3), ord="fro", dim=(0, 1, 2)),
    "norm ord 3 matrix": lambda M: M.linalg.norm(M.ones(3, 3), ord=3),
    "norm ord 0 matrix": lambda M: M.linalg.norm(M.ones(3, 3), ord=0),
    "norm int": lambda M: M.linalg.norm(M.ones(3, dtype=M.int64)),
    "norm int matrix": lambda M: M.linalg.norm(M.ones(3, 3, dtype=M.int32), ord=1),
    "norm dim repeated": lambda M: M.linalg.norm(M.ones(3, 3), dim=(1, -1)),
    "norm dim list": lambda M: M.linalg.norm(M.tensor([[1.0, -2, 3], [0, 4, -4]]), dim=[0, 1]),
    "norm dim int": lambda M: M.linalg.norm(M.ones(3, 3), dim=1),
    "norm 1 keepdim": lambda M: M.linalg.norm(M.tensor([[1.0, -2, 3], [0, 4, -4]]), ord=1,
                                              keepdim=True),
    "norm 1d ord 3": lambda M: M.linalg.norm(M.tensor([1.0, -2, 3]), ord=3),
    "vnorm int": lambda M: M.linalg.vector_norm(M.ones(3, dtype=M.int64)),
    "vnorm str": lambda M: M.linalg.vector_norm(M.ones(3), ord="fro"),
    "vnorm None": lambda M: M.linalg.vector_norm(M.ones(3), ord=None),
    "vnorm inf empty": lambda M: M.linalg.vector_norm(M.ones(0), ord=INF),
    "vnorm -inf empty": lambda M: M.linalg.vector_norm(M.ones(0), ord=-INF),
    "vnorm -1 empty": lambda M: M.linalg.vector_norm(M.ones(0), ord=-1),
    "vnorm 2 empty": lambda M: M.linalg.vector_norm(M.ones(0)),
    "vnorm 0 empty": lambda M: M.linalg.vector_norm(M.ones(0), ord=0),
    "vnorm inf empty ok dim": lambda M: M.linalg.vector_norm(M.ones(0, 3), ord=INF, dim=1),
    "vnorm inf empty dim": lambda M: M.linalg.vector_norm(M.ones(0, 3), ord=INF, dim=0),
    "vnorm dtype": lambda M: M.linalg.vector_norm(M.ones(3), dtype=M.float64),
    "vnorm dtype int": lambda M: M.linalg.vector_norm(M.ones(3), dtype=M.int64),
    "vnorm dtype narrow": lambda M: M.linalg.vector_norm(M.ones(3, dtype=M.float64),
                                                         dtype=M.float32),
    "vnorm half": lambda M: M.linalg.vector_norm(M.ones(3, dtype=M.half)),
    "vnorm half to float": lambda M: M.linalg.vector_norm(M.ones(3, dtype=M.half),
                                                          dtype=M.float32),
    "vnorm 0d dim": lambda M: M.linalg.vector_norm(M.tensor(-3.0), dim=0),
    "vnorm empty dims": lambda M: M.linalg.vector_norm(M.ones(2, 3), dim=()),
    "vnorm dim oob": lambda M: M.linalg.vector_norm(M.ones(3, 3), dim=2),
    "vnorm p": lambda M: M.linalg.vector_norm(M.tensor([[1.0, -2, 3], [0, 4, -4]]), ord=0.5),
    "vnorm -1": lambda M: M.linalg.vector_norm(M.tensor([[1.0, -2, 3], [0, 4, -4]]), ord=-1),
    "vnorm 0": lambda M: M.linalg.vector_norm(M.tensor([[1.0, -2, 3], [0, 4, -4]]), ord=0),
    "mnorm 1d": lambda M: M.linalg.matrix_norm(M.ones(3)),
    "mnorm ord 3": lambda M: M.linalg.matrix_norm(M.ones(3, 3), ord=3),
    "mnorm ord 2.5": lambda M: M.linalg.matrix_norm(M.ones(3, 3), ord=2.5),
    "mnorm ord -0.5": lambda M: M.linalg.matrix_norm(M.ones(3, 3), ord=-0.5),
    "mnorm ord str": lambda M: M.linalg.matrix_norm(M.ones(3, 3), ord="abc"),
    "mnorm dim 3": lambda M: M.linalg.matrix_norm(M.ones(3, 3, 3), dim=(0, 1, 2)),
    "mnorm int": lambda M: M.linalg.matrix_norm(M.ones(3, 3, dtype=M.int64)),
    "mnorm int nuc": lambda M: M.linalg.matrix_norm(M.ones(3, 3, dtype=M.int32), ord="nuc"),
    "mnorm same dims": lambda M: M.linalg.matrix_norm(M.ones(3, 3), dim=(0, -2)),
    "mnorm dim oob": lambda M: M.linalg.matrix_norm(M.ones(3, 3), dim=(0, 2)),
    "mnorm dtype": lambda M: M.linalg.matrix_norm(M.ones(3, 3), ord=INF, dtype=M.float64),
    "mnorm dtype narrow": lambda M: M.linalg.matrix_norm(M.ones(3, 3, dtype=M.float64), ord=1,
                                                         dtype=M.float32),
    "mnorm half 2": lambda M: M.linalg.matrix_norm(M.ones(3, 3, dtype=M.half), ord=2),
    "mnorm half nuc": lambda M: M.linalg.matrix_norm(M.ones(3, 3, dtype=M.half), ord="nuc"),
    "mnorm half 1": lambda M: M.linalg.matrix_norm(M.ones(3, 3, dtype=M.half), ord=1),
    "mnorm half fro": lambda M: M.linalg.matrix_norm(M.ones(3, 3, dtype=M.half)),
    **{
        f"mnorm empty {o} {s}": _empty_matrix_norm(o, s)
        for o in (2, -2, 1, -1, INF, -INF, "fro", "nuc")
        for s in ((0, 3), (3, 0), (2, 3, 0), (0, 3, 3))
    },
    "tensor.norm": lambda M: M.tensor([[1.0, -2, 3], [0, 4, -4]]).norm(),
    "tensor.norm p1": lambda M: M.tensor([[1.0, -2, 3], [0, 4, -4]]).norm(p=1),
    "tensor.norm dim": lambda M: M.tensor([[1.0, -2, 3], [0, 4, -4]]).norm(dim=1, keepdim=True),
    "tensor.norm nuc": lambda M: M.tensor([[1.0, -2, 3], [0, 4, -4]]).norm(p="nuc"),
    "torch.norm 3 dims": lambda M: M.norm(M.ones(2, 2, 2), p="fro", dim=(0, 1, 2)),
    # inverses, solves, determinants
    "inv": lambda M: M.linalg.inv(M.tensor([[2.0, 1.0], [1.0, 3.0]])),
    "inv singular": lambda M: M.linalg.inv(M.tensor(SING)),
    "inv singular batch": lambda M: M.linalg.inv(M.tensor([EYE2, SING, SING])),
    "inv singular 2d batch": lambda M: M.linalg.inv(M.zeros(2, 2, 3, 3)),
    "inv zeros": lambda M: M.linalg.inv(M.zeros(3, 3)),
    "inv singular 3": lambda M: M.linalg.inv(M.tensor([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]])),
    "inv singular diag": lambda M: M.linalg.inv(M.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 0]])),
    "inv nonsquare": lambda M: M.linalg.inv(M.ones(2, 3)),
    "inv 1d": lambda M: M.linalg.inv(M.ones(3)),
    "inv int": lambda M: M.linalg.inv(M.eye(3, dtype=M.int64)),
    "inv half": lambda M: M.linalg.inv(M.eye(3, dtype=M.half)),
    "inv empty": lambda M: M.linalg.inv(M.ones(0, 0)),
    "inv empty batch": lambda M: M.linalg.inv(M.ones(0, 3, 3)),
    "inv nan": lambda M: M.linalg.inv(M.tensor([[math.nan, 1.0], [1.0, 1.0]])),
    "inverse": lambda M: M.inverse(M.tensor(SING)),
    "solve": lambda M: M.linalg.solve(M.tensor([[2.0, 1], [1, 3]]), M.tensor([1.0, 2])),
    "solve singular": lambda M: M.linalg.solve(M.tensor(SING), M.ones(2)),
    "solve singular batch": lambda M: M.linalg.solve(M.tensor([EYE2, SING]), M.ones(2, 2)),
    "solve nonsquare": lambda M: M.linalg.solve(M.ones(2, 3), M.ones(2)),
    "solve 1d": lambda M: M.linalg.solve(M.ones(2), M.ones(2)),
    "solve shape": lambda M: M.linalg.solve(M.eye(2), M.ones(3)),
    "solve shape2": lambda M: M.linalg.solve(M.eye(2), M.ones(3, 1)),
    "solve shape3": lambda M: M.linalg.solve(M.eye(2), M.ones(4, 3, 1)),
    "solve bcast": lambda M: M.linalg.solve(M.eye(2).expand(3, 2, 2), M.ones(4, 1, 2, 5)),
    "solve bcast bad": lambda M: M.linalg.solve(M.eye(2).expand(3, 2, 2), M.ones(4, 2, 5)),
    "solve vec batch": lambda M: M.linalg.solve(M.eye(2).expand(3, 2, 2), M.ones(3, 2)),
    "solve vec bcast": lambda M: M.linalg.solve(M.eye(2).expand(3, 2, 2), M.ones(2)),
    "solve dtype": lambda M: M.linalg.solve(M.eye(2), M.ones(2, dtype=M.float64)),
    "solve B int": lambda M: M.linalg.solve(M.eye(2), M.ones(2, dtype=M.int64)),
    "solve int": lambda M: M.linalg.solve(M.eye(2, dtype=M.int64), M.ones(2, dtype=M.int64)),
    "solve half": lambda M: M.linalg.solve(M.eye(3, dtype=M.half), M.ones(3, dtype=M.half)),
    "solve right": lambda M: M.linalg.solve(M.tensor([[2.0, 1], [1, 3]]), M.ones(3, 2),
                                            left=False),
    "solve right bad": lambda M: M.linalg.solve(M.eye(2), M.ones(2, 3), left=False),
    "solve 0d": lambda M: M.linalg.solve(M.eye(2), M.tensor(1.0)),
    "solve nan": lambda M: M.linalg.solve(M.tensor([[math.nan, 1.0], [1.0, 1.0]]), M.ones(2)),
    "solve empty": lambda M: M.linalg.solve(M.ones(0, 0), M.ones(0)),
    "solve empty b": lambda M: M.linalg.solve(M.ones(3, 0, 0), M.ones(3, 0, 2)),
    "det": lambda M: M.linalg.det(M.tensor([[1.0, 2], [3, 4]])),
    "det nonsquare": lambda M: M.linalg.det(M.ones(2, 3)),
    "det 1d": lambda M: M.linalg.det(M.ones(3)),
    "det int": lambda M: M.linalg.det(M.eye(3, dtype=M.int64)),
    "det half": lambda M: M.linalg.det(M.eye(3, dtype=M.half)),
    "det empty": lambda M: M.linalg.det(M.ones(0, 0)),
    "det singular": lambda M: M.linalg.det(M.tensor(SING)),
    "det batch": lambda M: M.linalg.det(M.tensor([EYE2, SING, [[0.0, 1], [1, 0]]])),
    "torch.det": lambda M: M.det(M.tensor([[1.0, 2], [3, 4]])),
    "slogdet": lambda M: M.linalg.slogdet(-M.eye(3)),
    "slogdet singular": lambda M: M.linalg.slogdet(M.tensor(SING)),
    "slogdet half": lambda M: M.linalg.slogdet(M.ones(3, 3, dtype=M.half)),
    "slogdet int": lambda M: M.linalg.slogdet(M.ones(3, 3, dtype=M.int64)),
    "slogdet nonsquare": lambda M: M.linalg.slogdet(M.ones(3, 2)),
    "logdet": lambda M: M.logdet(M.tensor([[[2.0, 0], [0, 3]], [[0.0, 1], [1, 0]], SING])),
    # cross, vecdot, multi_dot
    "cross": lambda M: M.linalg.cross(M.tensor([1.0, 0, 0]), M.tensor([0.0, 1, 0])),
    "cross bad length": lambda M: M.linalg.cross(M.ones(2, 4), M.ones(2, 4)),
    "cross ndim": lambda M: M.linalg.cross(M.ones(2, 3), M.ones(3)),
    "cross bcast": lambda M: M.linalg.cross(M.ones(2, 1, 3), M.ones(4, 3)),
    "cross bcast bad": lambda M: M.linalg.cross(M.ones(2, 3), M.ones(4, 3)),
    "cross dim": lambda M: M.linalg.cross(M.tensor([[1.0, 0], [0, 1], [0, 0]]),
                                          M.tensor([[0.0, 0], [1, 0], [0, 1]]), dim=0),
    "cross dtype": lambda M: M.linalg.cross(M.ones(3), M.ones(3, dtype=M.float64)),
    "cross int": lambda M: M.linalg.cross(M.tensor([1, 2, 3]), M.tensor([4, 5, 6])),
    "vecdot": lambda M: M.linalg.vecdot(M.ones(2, 3), M.tensor([1.0, 2, 3])),
    "vecdot dtype": lambda M: M.linalg.vecdot(M.ones(2, 3), M.ones(3, dtype=M.float64)),
    "vecdot int": lambda M: M.linalg.vecdot(M.ones(2, 3, dtype=M.int64),
                                            M.ones(3, dtype=M.int64)),
    "vecdot dim": lambda M: M.linalg.vecdot(M.ones(2, 3), M.ones(2, 3), dim=0),
    "vecdot bad": lambda M: M.linalg.vecdot(M.ones(2, 3), M.ones(4)),
    "multi_dot": lambda M: M.linalg.multi_dot([M.ones(2, 3), M.ones(3, 4), M.ones(4, 5)]),
    "multi_dot vecs": lambda M: M.linalg.multi_dot([M.ones(3), M.ones(3, 4), M.ones(4)]),
    "multi_dot 1d 1d": lambda M: M.linalg.multi_dot([M.ones(3), M.ones(3)]),
    "multi_dot one": lambda M: M.linalg.multi_dot([M.ones(3, 3)]),
    "multi_dot none": lambda M: M.linalg.multi_dot([]),
    "multi_dot first 3d": lambda M: M.linalg.multi_dot([M.ones(2, 3, 3), M.ones(3, 3)]),
    "multi_dot last 3d": lambda M: M.linalg.multi_dot([M.ones(3, 3), M.ones(2, 3, 3)]),
    "multi_dot mid 1d": lambda M: M.linalg.multi_dot([M.ones(3, 3), M.ones(3), M.ones(3, 3)]),
    "multi_dot mismatch": lambda M: M.linalg.multi_dot([M.ones(2, 3), M.ones(4, 5)]),
    "multi_dot mismatch vec": lambda M: M.linalg.multi_dot([M.ones(3), M.ones(4, 5)]),
    "multi_dot mismatch 3": lambda M: M.linalg.multi_dot([M.ones(2, 3), M.ones(3, 4),
                                                          M.ones(5, 5)]),
    "multi_dot dtype": lambda M: M.linalg.multi_dot([M.ones(2, 3), M.ones(3, 4),
                                                     M.ones(4, 5, dtype=M.int64)]),
    "linalg.matmul": lambda M: M.linalg.matmul(M.ones(2, 3), M.ones(3)),
    # decompositions
    "svd 1d": lambda M: M.linalg.svd(M.ones(3)),
    "svd int": lambda M: M.linalg.svd(M.ones(3, 3, dtype=M.int64)),
    "svd half": lambda M: M.linalg.svd(M.ones(3, 3, dtype=M.half)),
    "svd empty": lambda M: M.linalg.svd(M.ones(0, 3)),
    "svd empty reduced": lambda M: M.linalg.svd(M.ones(0, 3), full_matrices=False),
    "svd empty tall": lambda M: M.linalg.svd(M.ones(3, 0), full_matrices=False),
    "svd empty full": lambda M: M.linalg.svd(M.ones(2, 0)),
    "svdvals": lambda M: M.linalg.svdvals(M.tensor([[3.0, 0], [0, -4]])),
    "svdvals int": lambda M: M.linalg.svdvals(M.ones(3, 3, dtype=M.int64)),
    "svdvals empty": lambda M: M.linalg.svdvals(M.ones(0, 3)),
    "eigh": lambda M: M.linalg.eigh(M.tensor([[2.0, 0], [0, 1]])),
    "eigh nonsquare": lambda M: M.linalg.eigh(M.ones(2, 3)),
    "eigh 1d": lambda M: M.linalg.eigh(M.ones(3)),
    "eigh int": lambda M: M.linalg.eigh(M.ones(3, 3, dtype=M.int64)),
    "eigh half": lambda M: M.linalg.eigh(M.ones(3, 3, dtype=M.half)),
    "eigh uplo": lambda M: M.linalg.eigh(M.ones(3, 3), UPLO="X"),
    "eigh upper": lambda M: M.linalg.eigvalsh(M.tensor([[2.0, 1], [5, 2]]), UPLO="U"),
    "eigh empty": lambda M: M.linalg.eigh(M.ones(0, 0)),
    "eigvalsh": lambda M: M.linalg.eigvalsh(M.tensor([[2.0, 1], [1, 2]])),
    "eigvalsh uplo": lambda M: M.linalg.eigvalsh(M.ones(3, 3), UPLO="X"),
    "cholesky": lambda M: M.linalg.cholesky(M.tensor([[4.0, 2], [2, 2]])),
    "cholesky upper": lambda M: M.linalg.cholesky(M.tensor([[4.0, 2], [2, 2]]), upper=True),
    "cholesky not pd": lambda M: M.linalg.cholesky(M.tensor(NOT_PD)),
    "cholesky not pd batch": lambda M: M.linalg.cholesky(M.tensor([EYE2, NOT_PD])),
    "cholesky not pd 1": lambda M: M.linalg.cholesky(-M.eye(3)),
    "cholesky nonsquare": lambda M: M.linalg.cholesky(M.ones(2, 3)),
    "cholesky int": lambda M: M.linalg.cholesky(M.ones(3, 3, dtype=M.int64)),
    "cholesky half": lambda M: M.linalg.cholesky(M.ones(3, 3, dtype=M.half)),
    "cholesky 1d": lambda M: M.linalg.cholesky(M.ones(3)),
    "cholesky empty": lambda M: M.linalg.cholesky(M.ones(0, 0)),
}


def _outcome(fn, lib):
    try:
        return "ok", fn(lib)
    except Exception as e:  # noqa: BLE001 - the exception is the result under test
        kind = type(e).__name__.lstrip("_")  # torch's _LinAlgError is linalg.LinAlgError
        return "error", kind, str(e).split("\n")[0]


def _same_result(ours, ref) -> None:
    if isinstance(ref, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(ref)
        if hasattr(ref, "_fields"):
            assert ours._fields == ref._fields
        for o, r in zip(ours, ref):
            _same_result(o, r)
        return
    close(ours, ref, rtol=2e-3 if ref.dtype == torch.float16 else 1e-6)


@pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated")
@pytest.mark.parametrize("name", list(CASES))
def test_same_result_or_error_as_torch(name):
    fn = CASES[name]
    ref, ours = _outcome(fn, torch), _outcome(fn, GA)
    if ref[0] == "error":
        assert ours[0] == "error", f"torch raised {ref[1]}: {ref[2]}; gpuarr returned {ours[1]}"
        assert ours[1:] == ref[1:]
    else:
        assert ours[0] == "ok", f"gpuarr raised {ours[1]}: {ours[2]}"
        _same_result(ours[1], ref[1])


def test_linalg_error_is_a_runtime_error():
    assert issubclass(LA.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError, match="The diagonal element 2 is zero"):
        LA.inv(gpuarr.tensor(SING))
    with pytest.raises(LA.LinAlgError, match=r"\(Batch element 1\)"):
        LA.solve(gpuarr.tensor([EYE2, SING]), gpuarr.ones(2, 2))


# --------------------------------------------------------------------------------------------
# hypothesis: shapes, broadcasting, dtypes, gradients


@st.composite
def matmul_shapes(draw):
    """Operand shapes torch accepts: vectors, matrices and broadcast batches (size 0 too)."""
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    batch = draw(st.lists(st.integers(0, 3), max_size=3))

    def sub_batch():
        cut = draw(st.integers(0, len(batch)))
        return tuple(1 if draw(st.booleans()) else s for s in batch[cut:])

    kind_a, kind_b = draw(st.sampled_from("vmb")), draw(st.sampled_from("vmb"))
    a = (k,) if kind_a == "v" else (n, k) if kind_a == "m" else sub_batch() + (n, k)
    b = (k,) if kind_b == "v" else (k, m) if kind_b == "m" else sub_batch() + (k, m)
    return a, b


@HSET
@given(shapes=matmul_shapes(), seed=st.integers(0, 2**16))
def test_matmul_matches_torch_with_grads(device, shapes, seed):
    sa, sb = shapes
    a, b = rand(sa, seed), rand(sb, seed + 1)
    grads_match(OL.matmul, torch.matmul, [a, b], device)
    grads_match(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], device)


@HSET
@given(shapes=matmul_shapes(), dtype=st.sampled_from(["float32", "float16", "int64", "int32",
                                                      "int8", "uint8"]))
def test_matmul_dtypes_match_torch(device, shapes, dtype):
    sa, sb = shapes
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, sa).astype(dtype)
    b = rng.integers(0, 4, sb).astype(dtype)
    out = OL.matmul(ga(a, device), ga(b, device))
    close(out, torch.matmul(th(a), th(b)), rtol=1e-3 if dtype == "float16" else 1e-6)


@HSET
@given(batch=st.integers(0, 3), n=st.integers(0, 3), k=st.integers(0, 3), m=st.integers(0, 3),
       seed=st.integers(0, 2**16))
def test_mm_mv_bmm_dot_inner_outer_match_torch(device, batch, n, k, m, seed):
    grads_match(OL.mm, torch.mm, [rand((n, k), seed), rand((k, m), seed + 1)], device)
    grads_match(OL.mv, torch.mv, [rand((n, k), seed), rand((k,), seed + 1)], device)
    grads_match(OL.bmm, torch.bmm, [rand((batch, n, k), seed), rand((batch, k, m), seed + 1)],
                device)
    grads_match(OL.dot, torch.dot, [rand((k,), seed), rand((k,), seed + 1)], device)
    grads_match(OL.inner, torch.inner, [rand((batch, n, k), seed), rand((m, k), seed + 1)],
                device)
    grads_match(OL.outer, torch.outer, [rand((n,), seed), rand((m,), seed + 1)], device)
    grads_match(OL.kron, torch.kron, [rand((n, k), seed), rand((batch, m, 2), seed + 1)], device)
    grads_match(lambda i, a, b: OL.addmm(i, a, b, beta=0.5, alpha=2.0),
                lambda i, a, b: torch.addmm(i, a, b, beta=0.5, alpha=2.0),
                [rand((m,), seed + 2), rand((n, k), seed), rand((k, m), seed + 1)], device)
    grads_match(lambda i, a, b: OL.baddbmm(i, a, b, alpha=-1.0),
                lambda i, a, b: torch.baddbmm(i, a, b, alpha=-1.0),
                [rand((n, 1), seed + 2), rand((batch, n, k), seed), rand((batch, k, m), seed)],
                device)
    grads_match(OL.addmv, torch.addmv, [rand((n,), seed + 2), rand((n, k), seed),
                                        rand((k,), seed + 1)], device)


EINSUM_EQS = [
    ("ij,jk->ik", "ij", "jk"), ("bij,bjk->bik", "bij", "bjk"), ("ii->", "ii"),
    ("i,j->ij", "i", "j"), ("ij->ji", "ij"), ("ij->", "ij"), ("ii->i", "ii"),
    ("ij,ij->", "ij", "ij"), ("ij->j", "ij"), ("i,i->", "i", "i"), ("iij->j", "iij"),
    ("ij,jk,kl->il", "ij", "jk", "kl"), ("bi,bj->bij", "bi", "bj"), ("ijk->kij", "ijk"),
    ("ij,kj", "ij", "kj"), ("ii,ij->j", "ii", "ij"), ("ij,j->i", "ij", "j"),
]


@HSET
@given(case=st.sampled_from(EINSUM_EQS), sizes=st.dictionaries(
    st.sampled_from("bijkl"), st.integers(0, 3), min_size=5), seed=st.integers(0, 2**16))
def test_einsum_matches_torch_with_grads(device, case, sizes, seed):
    eq, *subs = case
    arrays = [rand(tuple(sizes[c] for c in s), seed + i) for i, s in enumerate(subs)]
    grads_match(lambda *xs: OL.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), arrays,
                device)


@HSET
@given(ell=st.lists(st.sampled_from([1, 2, 0]), max_size=3), i=st.integers(1, 3),
       j=st.integers(1, 3), k=st.integers(1, 3), drop=st.integers(0, 3), one=st.booleans(),
       seed=st.integers(0, 2**16))
def test_einsum_ellipsis_and_size_one_broadcast(device, ell, i, j, k, drop, one, seed):
    a = rand(tuple(ell) + (i, j), seed)
    b = rand(tuple(ell[drop:]) + ((1 if one else j), k), seed + 1)
    grads_match(lambda x, y: OL.einsum("...ij,...jk->...ik", x, y),
                lambda x, y: torch.einsum("...ij,...jk->...ik", x, y), [a, b], device)
    grads_match(lambda x: OL.einsum("...ij->j...", x),
                lambda x: torch.einsum("...ij->j...", x), [a], device)


@HSET
@given(sa=st.lists(st.integers(0, 3), min_size=1, max_size=4), nfree=st.integers(0, 2),
       seed=st.integers(0, 2**16), perm=st.randoms())
def test_tensordot_matches_torch(device, sa, nfree, seed, perm):
    nd = min(len(sa), 2)
    contracted = list(range(len(sa) - nd, len(sa)))
    sb_c = [sa[d] for d in contracted]
    order = list(range(nd))
    perm.shuffle(order)
    sb = [sb_c[o] for o in order] + [2] * nfree
    dims = (contracted, order)
    grads_match(lambda x, y: OL.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims),
                [rand(tuple(sa), seed), rand(tuple(sb), seed + 1)], device)
    nd_int = min(len(sa), len(sb)) if order == sorted(order) else 0
    grads_match(lambda x, y: OL.tensordot(x, y, nd_int if nd_int <= 2 else 0),
                lambda x, y: torch.tensordot(x, y, nd_int if nd_int <= 2 else 0),
                [rand(tuple(sa), seed), rand(tuple(sb), seed + 1)], device)


@HSET
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       ord=st.sampled_from([2, 1, INF, -INF, 0, 0.5, 3, -1, 1.5]),
       keepdim=st.booleans(), data=st.data(), seed=st.integers(0, 2**16))
def test_vector_norm_matches_torch_with_grads(device, shape, ord, keepdim, data, seed):
    nd = len(shape)
    dim = data.draw(st.one_of(st.none(), st.lists(st.integers(-nd, nd - 1), unique_by=lambda d: d
                                                  % nd, max_size=nd))) if nd else None
    if dim is not None and not dim:
        dim = None
    x = rand(tuple(shape), seed)
    grads_match(lambda t: LA.vector_norm(t, ord, dim, keepdim),
                lambda t: torch.linalg.vector_norm(t, ord, dim, keepdim), [x], device)


@HSET
@given(batch=st.lists(st.integers(1, 2), max_size=2), m=st.integers(1, 4), n=st.integers(1, 4),
       ord=st.sampled_from(["fro", "nuc", 2, -2, 1, -1, INF, -INF]), keepdim=st.booleans(),
       swap=st.booleans(), seed=st.integers(0, 2**16))
def test_matrix_norm_matches_torch_with_grads(device, batch, m, n, ord, keepdim, swap, seed):
    x = rand(tuple(batch) + (m, n), seed)
    dim = (-1, 0) if swap else (-2, -1)
    grads_match(lambda t: LA.matrix_norm(t, ord, dim, keepdim),
                lambda t: torch.linalg.matrix_norm(t, ord, dim, keepdim), [x], device,
                rtol=1e-5, atol=1e-7)
    grads_match(lambda t: LA.norm(t, None if ord == "fro" else ord, dim, keepdim),
                lambda t: torch.linalg.norm(t, None if ord == "fro" else ord, dim, keepdim),
                [x], device, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("ord", [2, 1, INF, -INF, 0.5, 3, -1, 1.5, 0])
def test_vector_norm_gradient_at_zero_is_zero_like_torch(device, ord):
    x = np.array([0.0, 3.0, -3.0, 1.0])
    grads_match(lambda t: LA.vector_norm(t, ord), lambda t: torch.linalg.vector_norm(t, ord),
                [x], device)
    z = ga(np.zeros(3), device, rg=True)
    LA.vector_norm(z, ord).backward()
    assert z.grad is None if ord == 0 else not npy(z.grad).any()


@HSET
@given(batch_a=st.lists(st.integers(0, 2), max_size=2), batch_b=st.lists(st.integers(1, 2),
       max_size=2), n=st.integers(1, 4), k=st.integers(1, 3), rhs=st.sampled_from("vbm"),
       seed=st.integers(0, 2**16))
def test_inv_det_slogdet_solve_match_torch(device, batch_a, batch_b, n, k, rhs, seed):
    A = well_conditioned(tuple(batch_a) + (n, n), seed) * (1 if seed % 2 else -1)
    grads_match(LA.inv, torch.linalg.inv, [A], device, rtol=1e-6)
    grads_match(LA.det, torch.linalg.det, [A], device, rtol=1e-6)
    grads_match(lambda a: LA.slogdet(a).logabsdet, lambda a: torch.linalg.slogdet(a).logabsdet,
                [A], device)
    np.testing.assert_array_equal(npy(LA.slogdet(ga(A, device)).sign),
                                  torch.linalg.slogdet(th(A)).sign.numpy())
    if rhs == "v":  # one vector for every matrix
        B = rand((n,), seed + 1)
    elif rhs == "b":  # a batch of vectors, shape A.shape[:-1]
        B = rand(tuple(batch_a) + (n,), seed + 1)
    else:  # matrices with their own (broadcast) batch dims
        B = rand(tuple(batch_b[: len(batch_a)]) + (n, k), seed + 1)
        if any(x == 0 for x in batch_a):
            B = rand((n, k), seed + 1)
    grads_match(LA.solve, torch.linalg.solve, [A, B], device, rtol=1e-6)
    Bt = np.swapaxes(B, -1, -2) if rhs == "m" else B
    if rhs == "m" and Bt.shape != A.shape[:-1]:  # else torch refuses left=False (vector case)
        grads_match(lambda a, b: LA.solve(a, b, left=False),
                    lambda a, b: torch.linalg.solve(a, b, left=False), [A, Bt], device)


def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix(device):
    # torch 2.13 returns 0 here (det * inv(A)^T with det = 0); the true gradient of the
    # polynomial det is the cofactor matrix, which finite differences confirm
    A = ga([[1.0, 2.0], [2.0, 4.0]], device, rg=True)
    LA.det(A).backward()
    np.testing.assert_allclose(npy(A.grad), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    for arr in (np.zeros((3, 3)), [[[1.0, 0, 0], [0, 1, 0], [0, 0, 0]], np.eye(3) * 2],
                [[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]):
        assert gradcheck(LA.det, [ga(np.asarray(arr, dtype=np.float64), device, rg=True)])


@HSET
@given(shape_a=st.lists(st.integers(1, 3), max_size=2), shape_b=st.lists(st.integers(1, 3),
       max_size=2), seed=st.integers(0, 2**16))
def test_cross_matches_torch(device, shape_a, shape_b, seed):
    nd = max(len(shape_a), len(shape_b))
    sa = [1] * (nd - len(shape_a)) + shape_a
    sb = [s if s == t else 1 for s, t in zip([1] * (nd - len(shape_b)) + shape_b, sa)]
    a, b = rand(tuple(sa) + (3,), seed), rand(tuple(sb) + (3,), seed + 1)
    grads_match(LA.cross, torch.linalg.cross, [a, b], device)
    grads_match(lambda x, y: LA.cross(x, y, dim=0), lambda x, y: torch.linalg.cross(x, y, dim=0),
                [np.moveaxis(a, -1, 0), np.moveaxis(np.broadcast_to(b, a.shape), -1, 0)], device)


@HSET
@given(batch=st.lists(st.integers(0, 2), max_size=2), m=st.integers(1, 4), n=st.integers(1, 4),
       full=st.booleans(), seed=st.integers(0, 2**16))
def test_svd_matches_torch_up_to_signs(device, batch, m, n, full, seed):
    A = rand(tuple(batch) + (m, n), seed)
    U, S, Vh = LA.svd(ga(A, device), full_matrices=full)
    tU, tS, tVh = torch.linalg.svd(th(A), full_matrices=full)
    close(S, tS)
    close(U.abs(), tU.abs(), atol=1e-7)
    close(Vh.abs(), tVh.abs(), atol=1e-7)
    Ur, Sr, Vhr = LA.svd(ga(A, device), full_matrices=False)
    np.testing.assert_allclose(npy(OL.matmul(Ur * Sr.unsqueeze(-2), Vhr)), A, atol=1e-10)
    grads_match(LA.svdvals, torch.linalg.svdvals, [A], device)

    def gauge_free(lib):  # invariant to the signs of singular vectors
        def f(a):
            u, s, vh = lib.linalg.svd(a, full_matrices=False)
            return (u * s.unsqueeze(-2)).abs().sum(-1) + (vh.abs() ** 3).sum(-2).sum(-1, True)
        return f

    grads_match(gauge_free(GA), gauge_free(torch), [A], device, rtol=1e-5, atol=1e-7)


@HSET
@given(batch=st.lists(st.integers(0, 2), max_size=2), n=st.integers(1, 4),
       upper=st.booleans(), seed=st.integers(0, 2**16))
def test_eigh_and_cholesky_match_torch(device, batch, n, upper, seed):
    A = spd(tuple(batch) + (n, n), seed)
    uplo = "U" if upper else "L"
    L, V = LA.eigh(ga(A, device), UPLO=uplo)
    tL, tV = torch.linalg.eigh(th(A), UPLO=uplo)
    close(L, tL)
    close(V.abs(), tV.abs(), atol=1e-7)
    grads_match(lambda a: LA.eigvalsh(a + a.mT), lambda a: torch.linalg.eigvalsh(a + a.mT),
                [A], device)
    grads_match(lambda a: LA.eigh(a + a.mT).eigenvectors.abs() ** 3,
                lambda a: torch.linalg.eigh(a + a.mT).eigenvectors.abs() ** 3, [A], device,
                rtol=1e-5, atol=1e-7)
    grads_match(lambda a: LA.cholesky(a @ a.mT, upper=upper),
                lambda a: torch.linalg.cholesky(a @ a.mT, upper=upper), [A], device, rtol=1e-6)


@HSET
@given(dims=st.lists(st.integers(1, 4), min_size=3, max_size=5), vec_ends=st.tuples(
    st.booleans(), st.booleans()), seed=st.integers(0, 2**16))
def test_multi_dot_matches_torch(device, dims, vec_ends, seed):
    shapes = [(dims[i], dims[i + 1]) for i in range(len(dims) - 1)]
    if vec_ends[0]:
        shapes[0] = shapes[0][1:]
    if vec_ends[1] and len(shapes) > 1:
        shapes[-1] = shapes[-1][:1]
    arrays = [rand(s, seed + i) for i, s in enumerate(shapes)]
    grads_match(lambda *xs: LA.multi_dot(xs), lambda *xs: torch.linalg.multi_dot(xs), arrays,
                device)
    grads_match(lambda x, y: LA.vecdot(x, y), lambda x, y: torch.linalg.vecdot(x, y),
                [rand((2, dims[0]), seed), rand((dims[0],), seed + 1)], device)


def test_trace_matches_torch(device):
    for shape in [(3, 3), (2, 4), (4, 2), (0, 3), (1, 1)]:
        grads_match(OL.trace, torch.trace, [rand(shape)], device)


# --------------------------------------------------------------------------------------------
# second derivatives: gradcheck + gradgradcheck in float64


def _f64(shape, seed=0, device="cpu", fn=rand):
    return ga(fn(shape, seed), device, rg=True)


def square_dominant(shape, seed=0):
    """Well-conditioned square matrices; other shapes plain random."""
    return well_conditioned(shape, seed) if len(shape) >= 2 and shape[-1] == shape[-2] \
        else rand(shape, seed)


GRADCHECK_CASES = {
    "matmul 1d 1d": (OL.matmul, [(3,), (3,)]),
    "matmul 2d 1d": (OL.matmul, [(2, 3), (3,)]),
    "matmul 1d 3d": (OL.matmul, [(3,), (2, 3, 2)]),
    "matmul 3d 2d": (OL.matmul, [(2, 2, 3), (3, 2)]),
    "matmul 2d 3d": (OL.matmul, [(2, 3), (2, 3, 2)]),
    "matmul bcast": (OL.matmul, [(2, 1, 2, 3), (2, 3, 2)]),
    "matmul 3d 1d": (OL.matmul, [(2, 2, 3), (3,)]),
    "mm": (OL.mm, [(2, 3), (3, 2)]),
    "mv": (OL.mv, [(2, 3), (3,)]),
    "bmm": (OL.bmm, [(2, 2, 3), (2, 3, 2)]),
    "dot": (OL.dot, [(3,), (3,)]),
    "inner": (OL.inner, [(2, 3), (2, 3)]),
    "outer": (OL.outer, [(2,), (3,)]),
    "trace": (OL.trace, [(3, 3)]),
    "tensordot": (lambda a, b: OL.tensordot(a, b, ([0, 2], [1, 0])), [(2, 2, 3), (3, 2, 2)]),
    "kron": (OL.kron, [(2, 2), (2, 1)]),
    "addmm": (lambda i, a, b: OL.addmm(i, a, b, beta=0.5, alpha=2), [(2,), (2, 3), (3, 2)]),
    "einsum mm": (lambda a, b: OL.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)]),
    "einsum bmm": (lambda a, b: OL.einsum("bij,bjk->bik", a, b), [(2, 2, 3), (2, 3, 2)]),
    "einsum trace": (lambda a: OL.einsum("ii->", a), [(3, 3)]),
    "einsum diag": (lambda a: OL.einsum("ii->i", a), [(3, 3)]),
    "einsum outer": (lambda a, b: OL.einsum("i,j->ij", a, b), [(2,), (3,)]),
    "einsum transpose": (lambda a: OL.einsum("ij->ji", a), [(2, 3)]),
    "einsum sum": (lambda a: OL.einsum("ij->", a), [(2, 3)]),
    "einsum squares": (lambda a: OL.einsum("ij,ij->i", a, a), [(2, 3)]),
    "einsum three": (lambda a, b, c: OL.einsum("ij,jk,k->i", a, b, c), [(2, 3), (3, 2), (2,)]),
    "einsum ellipsis": (lambda a, b: OL.einsum("...ij,...jk", a, b), [(2, 1, 2, 2), (3, 2, 2)]),
    "vector_norm": (LA.vector_norm, [(2, 3)]),
    "vector_norm 1": (lambda x: LA.vector_norm(x, 1, dim=1), [(2, 3)]),
    "vector_norm inf": (lambda x: LA.vector_norm(x, INF, dim=0, keepdim=True), [(2, 3)]),
    "vector_norm -inf": (lambda x: LA.vector_norm(x, -INF), [(2, 3)]),
    "vector_norm 3": (lambda x: LA.vector_norm(x, 3, dim=(0, 1)), [(2, 3)]),
    "vector_norm 0.5": (lambda x: LA.vector_norm(x, 0.5), [(2, 3)]),
    "vector_norm -1": (lambda x: LA.vector_norm(x, -1, dim=-1), [(2, 3)]),
    "norm fro": (LA.norm, [(3, 3)]),
    "norm nuc": (lambda x: LA.norm(x, "nuc"), [(3, 2)]),
    "norm 2": (lambda x: LA.norm(x, 2), [(2, 3)]),
    "norm -2": (lambda x: LA.norm(x, -2), [(3, 3)]),
    "norm 1": (lambda x: LA.matrix_norm(x, 1), [(2, 3, 3)]),
    "norm -1": (lambda x: LA.matrix_norm(x, -1, keepdim=True), [(3, 3)]),
    "norm inf": (lambda x: LA.matrix_norm(x, INF), [(3, 2)]),
    "norm -inf": (lambda x: LA.matrix_norm(x, -INF, dim=(0, 1)), [(3, 3)]),
    "tensor.norm": (lambda x: x.norm(), [(2, 3)]),
    "inv": (LA.inv, [(2, 3, 3)], square_dominant),
    "det": (LA.det, [(2, 3, 3)], square_dominant),
    "slogdet": (lambda x: LA.slogdet(x).logabsdet, [(3, 3)], square_dominant),
    "solve": (LA.solve, [(3, 3), (3, 2)], square_dominant),
    "solve vec": (LA.solve, [(2, 3, 3), (3,)], square_dominant),
    "solve left=False": (lambda a, b: LA.solve(a, b, left=False), [(3, 3), (2, 3)],
                         square_dominant),
    "cross": (LA.cross, [(2, 3), (2, 3)]),
    "multi_dot": (lambda a, b, c: LA.multi_dot([a, b, c]), [(2, 3), (3, 3), (3,)]),
    "vecdot": (LA.vecdot, [(2, 3), (3,)]),
    "svdvals": (LA.svdvals, [(3, 2)]),
    "svd": (lambda a: tuple(t.abs() for t in LA.svd(a, full_matrices=False)), [(3, 2)]),
    "svd wide": (lambda a: tuple(t.abs() for t in LA.svd(a, full_matrices=False)), [(2, 3)]),
    "svd full S": (lambda a: LA.svd(a)[1], [(2, 3)]),
    "eigh": (lambda a: tuple(t.abs() for t in LA.eigh(a + a.mT)), [(3, 3)]),
    "eigvalsh": (lambda a: LA.eigvalsh(a + a.mT, UPLO="U"), [(3, 3)]),
    "cholesky": (lambda a: LA.cholesky(a @ a.mT), [(3, 3)], square_dominant),
    "cholesky upper": (lambda a: LA.cholesky(a @ a.mT, upper=True), [(2, 2, 2)],
                       square_dominant),
}


@pytest.mark.parametrize("name", list(GRADCHECK_CASES))
def test_gradcheck_and_gradgradcheck(device, name):
    fn, shapes, *make = GRADCHECK_CASES[name]
    make = make[0] if make else rand
    inputs = [_f64(s, i, device, make) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_svd_full_matrices_gradient_uses_the_first_k_vectors_like_torch(device):
    A = rand((3, 2), 3)
    for pick in (0, 2):
        grads_match(lambda a, p=pick: GA.linalg.svd(a)[p].abs().sum(-1),
                    lambda a, p=pick: torch.linalg.svd(a)[p].abs().sum(-1), [A], device)


# --------------------------------------------------------------------------------------------
# no-grad fast paths, Tensor methods, speed-relevant behaviour


def test_no_grad_paths_give_the_same_values_and_no_graph(device):
    a, b = rand((3, 4), 0), rand((4, 3), 1)
    x, y = ga(a, device, rg=True), ga(b, device, rg=True)
    calls = [
        lambda p, q: p @ q, lambda p, q: OL.mm(p, q), lambda p, q: OL.einsum("ij,jk", p, q),
        lambda p, q: OL.tensordot(p, q, 1), lambda p, q: LA.norm(p @ q, "nuc"),
        lambda p, q: LA.inv(p @ q + 10 * gpuarr.eye(3, dtype=gpuarr.float64, device=device)),
        lambda p, q: LA.det(p @ q), lambda p, q: LA.vector_norm(p, 3, dim=1),
        lambda p, q: LA.svdvals(p), lambda p, q: LA.eigvalsh(p @ p.mT),
    ]
    for f in calls:
        with_grad = f(x, y)
        assert with_grad.requires_grad
        with gpuarr.no_grad():
            plain = f(x, y)
        assert not plain.requires_grad and plain.grad_fn is None
        np.testing.assert_allclose(npy(plain), npy(with_grad), rtol=1e-12)


def test_float32_matmul_runs_one_float32_gemm():
    # bitwise equal to NumPy's float32 matmul: no float64 detour, no other path
    a, b = rand((256, 256), 0, np.float32), rand((256, 256), 1, np.float32)
    out = OL.matmul(ga(a), ga(b))
    assert out.dtype == gpuarr.float32
    np.testing.assert_array_equal(out.numpy(), np.matmul(a, b))
    x = ga(a, rg=True)
    out = x @ ga(b)
    np.testing.assert_array_equal(out.detach().numpy(), np.matmul(a, b))


def test_einsum_result_never_aliases_its_input(device):
    x = ga(rand((2, 3)), device)
    for eq in ("ij->ji", "ij->ij", "ii->i"):
        src = x if eq != "ii->i" else ga(rand((3, 3)), device)
        out = OL.einsum(eq, src)
        out.add_(1.0)
        assert not np.allclose(npy(out), npy(OL.einsum(eq, src)))


def test_tensor_methods_and_operators(device):
    a, b = ga(rand((2, 3)), device), ga(rand((3, 2), 1), device)
    v, w = ga(rand((3,), 2), device), ga(rand((3,), 3), device)
    ref = npy(a) @ npy(b)
    for out in (a @ b, a.matmul(b), a.mm(b), b.__rmatmul__(a)):
        np.testing.assert_allclose(npy(out), ref)
    np.testing.assert_allclose(npy(a.mv(v)), npy(a) @ npy(v))
    np.testing.assert_allclose(npy(v.dot(w)), npy(v) @ npy(w))
    np.testing.assert_allclose(npy(v.inner(w)), npy(v) @ npy(w))
    np.testing.assert_allclose(npy(v.outer(w)), np.outer(npy(v), npy(w)))
    np.testing.assert_allclose(npy(v.ger(w)), np.outer(npy(v), npy(w)))
    np.testing.assert_allclose(npy(a.unsqueeze(0).bmm(b.unsqueeze(0))), ref[None])
    sq = ga(well_conditioned((3, 3)), device)
    np.testing.assert_allclose(npy(sq.trace()), np.trace(npy(sq)))
    np.testing.assert_allclose(npy(sq.det()), np.linalg.det(npy(sq)))
    np.testing.assert_allclose(npy(sq.inverse()), np.linalg.inv(npy(sq)))
    np.testing.assert_allclose(npy(sq.slogdet()[1]), np.linalg.slogdet(npy(sq))[1])
    np.testing.assert_allclose(npy(sq.logdet()), np.log(np.linalg.det(npy(sq))))
    np.testing.assert_allclose(npy(a.norm()), np.linalg.norm(npy(a)))
    np.testing.assert_allclose(npy(a.kron(b)), np.kron(npy(a), npy(b)))
    with pytest.raises(TypeError, match="unsupported operand"):
        a @ 2.0  # noqa: B018
    with pytest.raises(TypeError, match="unsupported operand"):
        2.0 @ a  # noqa: B018


# --------------------------------------------------------------------------------------------
# the course's facts


def test_course_fact_matrix_product_shape(device):
    A, B = gpuarr.ones(2, 4, device=device), gpuarr.ones(4, 3, device=device)
    assert (A @ B).shape == (2, 3)
    np.testing.assert_array_equal(npy(A @ B), np.full((2, 3), 4.0))


def test_course_fact_frobenius_norm_is_sqrt_of_sum_of_squares(device):
    A = ga(rand((3, 4), 7), device)
    expected = math.sqrt(float((npy(A) ** 2).sum()))
    for val in (LA.norm(A), LA.matrix_norm(A), LA.norm(A, "fro"), A.norm()):
        assert val.item() == pytest.approx(expected, rel=1e-12)


def test_course_fact_transpose_of_product(device):
    A, B = ga(rand((2, 3), 1), device), ga(rand((3, 4), 2), device)
    np.testing.assert_allclose(npy((A @ B).T), npy(B.T @ A.T), rtol=1e-12)
    Ab, Bb = ga(rand((5, 2, 3), 3), device), ga(rand((5, 3, 4), 4), device)
    np.testing.assert_allclose(npy((Ab @ Bb).mT), npy(Bb.mT @ Ab.mT), rtol=1e-12)


def test_course_fact_inner_product_is_sum_of_elementwise_product(device):
    u, v = ga(rand((5,), 1), device), ga(rand((5,), 2), device)
    expected = (u * v).sum().item()
    for val in (OL.dot(u, v), OL.inner(u, v), u @ v, OL.einsum("i,i->", u, v),
                LA.vecdot(u, v)):
        assert val.item() == pytest.approx(expected, rel=1e-12)


def test_course_fact_outer_product_shape(device):
    u, v = ga(rand((4,), 1), device), ga(rand((3,), 2), device)
    out = OL.outer(u, v)
    assert out.shape == (4, 3)
    np.testing.assert_allclose(npy(out), npy(u)[:, None] * npy(v)[None, :])
