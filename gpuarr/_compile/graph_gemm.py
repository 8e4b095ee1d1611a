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

Covered: float32 and float64 ``matmul`` of two 2-D arrays, or two 3-D arrays whose batch
sizes are equal or 1, any strides, with or without ``out=``, up to :data:`MAX_MACS`
multiply-adds. Anything else (other dtypes, other ranks, ``dot``/``einsum``...) keeps cuBLAS
outside the graphs. The kernel is simple (no shared-memory tiling), which is what a product
bound by launch overhead needs and what a large one does not: above ``MAX_MACS`` cuBLAS's
speed is worth a graph boundary. That limit is an estimate (a launch from Python costs about
what this kernel needs for 16M multiply-adds at ~2 TFLOP/s); it has not been measured on a GPU.
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
        long long M, long long N, long long K,
        long long sab, long long sam, long long sak,
        long long sbb, long long sbk, long long sbn,
        long long scb, long long scm, long long scn) {{
    // one thread per output element C[b, m, n]; strides are in elements
    long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long m = (long long)blockIdx.y * blockDim.y + threadIdx.y;
    long long b = blockIdx.z;
    if (m >= M || n >= N) return;
    const {T}* a = A + b * sab + m * sam;
    const {T}* bp = B + b * sbb + n * sbn;
    double acc = 0;  // double for float32 too: one rounding, at the store
    for (long long k = 0; k < K; ++k) {{
        acc = fma((double)a[k * sak], (double)bp[k * sbk], acc);
    }}
    C[b * scb + m * scm + n * scn] = ({T})acc;
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


def _shape_ok(sa: tuple, sb: tuple) -> bool:
    if len(sa) != len(sb) or len(sa) not in (2, 3) or sa[-1] != sb[-2]:
        return False
    if len(sa) == 3:
        ba, bb = sa[0], sb[0]
        return (ba == bb or ba == 1 or bb == 1) and max(ba, bb) <= _MAX_BATCH
    return True


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
    if not _shape_ok(ma[0], mb[0]) or math.prod(_out_shape(ma[0], mb[0])) * ma[0][-1] > MAX_MACS:
        return False
    out = ins.kwargs.get("out")
    if out is not None:
        if any(out is x or out == x for x in ins.args if type(x) is type(out)):
            return False  # the kernel reads its operands while it writes: never in place
        mo = _meta_of(out, meta)
        if mo is None or mo[1] != ma[1] or mo[0] != _out_shape(ma[0], mb[0]):
            return False
    return True


def _out_shape(sa: tuple, sb: tuple) -> tuple:
    if len(sa) == 2:
        return (sa[0], sb[1])
    return (max(sa[0], sb[0]), sa[1], sb[2])


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
        if a.dtype != b.dtype or a.dtype not in KERNEL_NAMES or not _shape_ok(a.shape, b.shape):
            raise TypeError(f"graph matmul: unsupported operands {a.dtype}{a.shape} @ "
                            f"{b.dtype}{b.shape}")
        shape = _out_shape(a.shape, b.shape)
        if out is None:
            out = self.cp.empty(shape, dtype=a.dtype)
        elif out.shape != shape or out.dtype != a.dtype:
            raise ValueError(f"graph matmul: out has {out.dtype}{out.shape}, expected "
                             f"{a.dtype}{shape}")
        item = a.dtype.itemsize
        if a.ndim == 2:
            batch, sab, sbb, scb = 1, 0, 0, 0
            (sam, sak), (sbk, sbn), (scm, scn) = a.strides, b.strides, out.strides
        else:
            batch = shape[0]
            # a batch of size 1 broadcasts: stride 0 along the batch
            sab = a.strides[0] if a.shape[0] != 1 else 0
            sbb = b.strides[0] if b.shape[0] != 1 else 0
            scb = out.strides[0]
            (sam, sak), (sbk, sbn), (scm, scn) = a.strides[1:], b.strides[1:], out.strides[1:]
        m, n, k = shape[-2], shape[-1], a.shape[-1]
        if m == 0 or n == 0 or batch == 0:
            return out
        i64 = np.int64
        grid = ((n + _TILE - 1) // _TILE, (m + _TILE - 1) // _TILE, batch)
        args = (a, b, out, i64(m), i64(n), i64(k),
                i64(sab // item), i64(sam // item), i64(sak // item),
                i64(sbb // item), i64(sbk // item), i64(sbn // item),
                i64(scb // item), i64(scm // item), i64(scn // item))
        self._kernel(a.dtype)(grid, (_TILE, _TILE, 1), args)
        return out
