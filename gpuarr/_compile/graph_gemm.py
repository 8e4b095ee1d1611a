"""Matrix products inside CUDA graphs: gpuarr's own GEMM kernel.

CuPy refuses cuBLAS calls while a stream captures (``NotImplementedError: calling cuBLAS API
during stream capture is currently unsupported``), so a replay that used CuPy's ``matmul``
would be cut into one graph per stretch between matrix products, with the products launched
from Python in between. In the CUDA-graph modes the replay instead computes the products it
can with the kernel below, a plain ``RawKernel`` that CuPy captures like any other launch, so
a training step without host work is **one graph launch**.

The kernel gives each thread one output element and accumulates in double precision (float32
inputs too), rounding once at the store: its results are as close to the exact products as
cuBLAS's or closer, and differ from cuBLAS's at float32 rounding (relative ~1e-7).
``options={"graph_matmul": False}`` keeps cuBLAS (between graph launches) for results equal
to eager's bit for bit.

Covered: float32 and float64 ``matmul`` of operands of 2 to 4 dimensions whose batch axes
broadcast to at most two (a convolution's ``(1, C, K) @ (N, 1, K, HW)``, attention's
``(N, H, T, D) @ (N, H, D, T)``), any strides, with or without ``out=``, up to
:data:`MAX_MACS` multiply-adds. Anything else (other dtypes, other ranks, ``dot``,
``einsum``...) keeps cuBLAS outside the graphs. The kernel is simple (no shared-memory
tiling): right for a product that launch overhead dominates, not for a large one, where
cuBLAS's speed is worth a graph boundary. ``MAX_MACS`` is an estimate of where that turns
(a launch from Python costs about what this kernel needs for 16M multiply-adds at ~2
TFLOP/s); it has not been measured on a GPU.
"""

from __future__ import annotations

import math
import operator
import sys

import numpy as np

from .trace import Instr, Slot, is_cupy_meta

__all__ = ["KERNEL_NAMES", "KERNEL_SOURCE", "MAX_MACS", "RAW_KERNELS", "GraphMatmul",
           "accepts"]

_TILE = 16  # threads per block along each of the output's two axes

_TEMPLATE = r"""
extern "C" __global__ void {name}(const {T}* A, const {T}* B, {T}* C,
        long long M, long long N, long long K, long long B1,
        long long sa0, long long sa1, long long sam, long long sak,
        long long sb0, long long sb1, long long sbk, long long sbn,
        long long sc0, long long sc1, long long scm, long long scn) {{
    // one thread per output element C[b0, b1, m, n]; blockIdx.z runs over the batch
    // (b0, b1) with b1 < B1; strides are in elements, 0 along a broadcast batch axis
    long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long m = (long long)blockIdx.y * blockDim.y + threadIdx.y;
    long long b0 = blockIdx.z / B1, b1 = blockIdx.z % B1;
    if (m >= M || n >= N) return;
    const {T}* a = A + b0 * sa0 + b1 * sa1 + m * sam;
    const {T}* b = B + b0 * sb0 + b1 * sb1 + n * sbn;
    double acc = 0;  // double for float32 too: one rounding, at the store
    for (long long k = 0; k < K; ++k) {{
        acc = fma((double)a[k * sak], (double)b[k * sbk], acc);
    }}
    C[b0 * sc0 + b1 * sc1 + m * scm + n * scn] = ({T})acc;
}}
"""

KERNEL_NAMES = {np.dtype(np.float32): "gpuarr_graph_gemm_f32",
                np.dtype(np.float64): "gpuarr_graph_gemm_f64"}
KERNEL_SOURCE = "".join(_TEMPLATE.format(name=name, T=("float" if dt.itemsize == 4 else "double"))
                        for dt, name in KERNEL_NAMES.items())
# what tests/cuda_compile.py compiles with NVRTC: (kernel name, source)
RAW_KERNELS = tuple((name, KERNEL_SOURCE) for name in KERNEL_NAMES.values())
_MAX_BATCH = 65535  # a grid's z dimension
MAX_MACS = 1 << 24  # the largest product (batch * M * N * K) computed inside a graph


def _batch(sa: tuple, sb: tuple) -> tuple | None:
    """The broadcast batch shape of ``matmul(a, b)`` for the shapes the kernel covers (both
    operands at least 2-D, at most two batch axes in all), else None."""
    if not 2 <= len(sa) <= 4 or not 2 <= len(sb) <= 4 or sa[-1] != sb[-2]:
        return None
    try:
        batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        return None
    return batch if math.prod(batch) <= _MAX_BATCH else None


def _out_shape(sa: tuple, sb: tuple) -> tuple:
    return tuple(_batch(sa, sb)) + (sa[-2], sb[-1])


def _batch_strides(x, batch: tuple) -> tuple:
    """``x``'s strides (in elements) along the two batch axes of ``batch`` padded to two
    axes on the left, 0 where ``x`` broadcasts."""
    nb = len(batch)
    own = x.shape[:-2]
    item = x.dtype.itemsize
    out = []
    for axis in range(nb - 2, nb):  # the last two batch axes (padded ones first)
        j = axis - (nb - len(own))  # the same axis of x, counted in x's batch axes
        if axis < 0 or j < 0 or own[j] == 1:
            out.append(0)
        else:
            out.append(x.strides[j] // item)
    return tuple(out)


def _meta_of(x, meta: dict):
    """``(shape, dtype)`` of a CuPy operand (a slot or a constant array), else None."""
    if type(x) is Slot:
        m = meta.get(x.index)
        return (m[1], np.dtype(m[2])) if is_cupy_meta(m) else None
    if type(x).__module__.startswith("cupy") and type(x).__name__ == "ndarray":
        return x.shape, x.dtype
    return None


def accepts(ins: Instr, meta: dict) -> bool:
    """Whether ``ins`` is a matrix product the graph kernel computes (see the docstring)."""
    fn = ins.fn
    if not (fn is operator.matmul or getattr(fn, "__name__", None) == "matmul"):
        return False
    if len(ins.args) != 2 or set(ins.kwargs) - {"out"} or type(ins.outs) is not Slot:
        return False
    ma, mb = (_meta_of(x, meta) for x in ins.args)
    if ma is None or mb is None or ma[1] != mb[1] or ma[1] not in KERNEL_NAMES:
        return False
    if _batch(ma[0], mb[0]) is None:
        return False
    shape = _out_shape(ma[0], mb[0])
    if math.prod(shape) * ma[0][-1] > MAX_MACS:
        return False
    out = ins.kwargs.get("out")
    if out is not None:
        if any(x is out or (type(x) is Slot and x == out) for x in ins.args):
            return False  # the kernel reads its operands while it writes: never in place
        mo = _meta_of(out, meta)
        if mo is None or mo[1] != ma[1] or mo[0] != shape:
            return False
    return True


class GraphMatmul:
    """``matmul(a, b, out=None)`` by gpuarr's GEMM kernel (capturable; see the docstring).

    Example:
        >>> mm = GraphMatmul()
        >>> c = mm(a, b)  # a: (M, K), b: (K, N) CuPy float32 arrays
    """

    __name__ = "graph_matmul"

    def __init__(self) -> None:
        self.cp = sys.modules["cupy"]
        self._kernels: dict = {}

    def _kernel(self, dtype: np.dtype):
        k = self._kernels.get(dtype)
        if k is None:
            k = self._kernels[dtype] = self.cp.RawKernel(KERNEL_SOURCE, KERNEL_NAMES[dtype])
        return k

    def __call__(self, a, b, out=None):
        if a.dtype != b.dtype or a.dtype not in KERNEL_NAMES or _batch(a.shape, b.shape) is None:
            raise TypeError(f"graph matmul: unsupported operands {a.dtype}{a.shape} @ "
                            f"{b.dtype}{b.shape}")
        shape = _out_shape(a.shape, b.shape)
        if out is None:
            out = self.cp.empty(shape, dtype=a.dtype)
        elif out.shape != shape or out.dtype != a.dtype:
            raise ValueError(f"graph matmul: out has {out.dtype}{out.shape}, expected "
                             f"{a.dtype}{shape}")
        batch = shape[:-2]
        m, n, k = shape[-2], shape[-1], a.shape[-1]
        if out.size == 0:
            return out
        item = a.dtype.itemsize
        b1 = batch[-1] if batch else 1
        i64 = np.int64
        grid = ((n + _TILE - 1) // _TILE, (m + _TILE - 1) // _TILE, math.prod(batch))
        args = (a, b, out, i64(m), i64(n), i64(k), i64(b1),
                *map(i64, _batch_strides(a, batch)), i64(a.strides[-2] // item),
                i64(a.strides[-1] // item),
                *map(i64, _batch_strides(b, batch)), i64(b.strides[-2] // item),
                i64(b.strides[-1] // item),
                *map(i64, _batch_strides(out, batch)), i64(out.strides[-2] // item),
                i64(out.strides[-1] // item))
        self._kernel(a.dtype)(grid, (_TILE, _TILE, 1), args)
        return out
