"""``cupy.RawKernel`` for the stand-in: the kernel's own CUDA C++ source, built for the CPU.

The source is compiled with the host's C++ compiler after a small prelude that defines
``blockIdx``/``threadIdx``/``blockDim``/``gridDim`` and the CUDA qualifiers, plus a generated
launcher that runs every thread of the grid one after another. So the stand-in runs the very
code that NVRTC compiles for the GPU, with the arguments a launch passes, and a wrong index or
stride in a kernel gives wrong numbers here as it would on a device.

What it cannot run, and refuses with ``NotImplementedError``: kernels that need threads to run
together (``__shared__`` memory, ``__syncthreads``, warp intrinsics, atomics) and
``RawModule``/templates. Arguments are checked as CuPy does (device arrays on the current device;
host NumPy arrays are a ``TypeError``), and more strictly: a scalar must have exactly the C type
of its parameter (a NumPy scalar of that type, or a Python ``int`` for ``long long`` and a
``float`` for ``double``), where CuPy would pass its bytes and let the kernel misread them.

While a stream captures, a launch is recorded and runs when the graph is launched.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import numpy as _np

import cupy as _cp

_PRELUDE = r"""
#include <math.h>
#include <stdint.h>
struct __standin_dim3 { unsigned int x, y, z; };
static __standin_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__ static inline
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
"""

_UNSUPPORTED = ("__shared__", "__syncthreads", "__shfl", "atomic", "__ballot", "__any_sync",
                "__all_sync", "template")

# C parameter types -> (ctypes type, NumPy dtype of the scalar a launch must pass)
_SCALARS = {
    "bool": (ctypes.c_bool, _np.bool_),
    "char": (ctypes.c_int8, _np.int8), "signed char": (ctypes.c_int8, _np.int8),
    "unsigned char": (ctypes.c_uint8, _np.uint8),
    "short": (ctypes.c_int16, _np.int16), "unsigned short": (ctypes.c_uint16, _np.uint16),
    "int": (ctypes.c_int32, _np.int32), "unsigned int": (ctypes.c_uint32, _np.uint32),
    "unsigned": (ctypes.c_uint32, _np.uint32),
    "long long": (ctypes.c_int64, _np.int64), "long long int": (ctypes.c_int64, _np.int64),
    "unsigned long long": (ctypes.c_uint64, _np.uint64),
    "int32_t": (ctypes.c_int32, _np.int32), "int64_t": (ctypes.c_int64, _np.int64),
    "uint32_t": (ctypes.c_uint32, _np.uint32), "uint64_t": (ctypes.c_uint64, _np.uint64),
    "size_t": (ctypes.c_uint64, _np.uint64), "ptrdiff_t": (ctypes.c_int64, _np.int64),
    "float": (ctypes.c_float, _np.float32), "double": (ctypes.c_double, _np.float64),
}
_PY_SCALARS = {int: "long long", float: "double", bool: "bool"}  # CuPy's own mapping
_libs: dict = {}  # source hash -> loaded library (one build per distinct source)


class CUDADriverError(RuntimeError):
    """What ``cupy.cuda.driver.CUDADriverError`` reports (the stand-in has no driver module)."""


def _params(code: str, name: str) -> list:
    """``[(ctype_text, param_name, is_pointer)]`` of kernel ``name``'s parameters."""
    m = re.search(r"__global__\s+void\s+" + re.escape(name) + r"\s*\(([^)]*)\)", code)
    if m is None:
        raise CUDADriverError(
            f"CUDA_ERROR_NOT_FOUND: named symbol not found ({name!r} in the module)")
    out = []
    for decl in (d.strip() for d in m.group(1).split(",")):
        if not decl or decl == "void":
            continue
        pm = re.match(r"(.*?)([A-Za-z_]\w*)\s*$", decl)
        if pm is None:
            raise ValueError(f"cupy stand-in: cannot read kernel parameter {decl!r}")
        ctype, pname = pm.group(1).strip(), pm.group(2)
        pointer = "*" in ctype
        base = " ".join(ctype.replace("*", " ").replace("const", " ").replace(
            "__restrict__", " ").split())
        if not pointer and base not in _SCALARS:
            raise NotImplementedError(f"cupy stand-in: kernel parameter type {ctype!r}")
        out.append((base, pname, pointer))
    return out


def _build(code: str, name: str, params: list):
    """The compiled library holding ``name`` and its CPU launcher."""
    # the launcher's parameters are "__slarg_<name>", its variables "__sl_<letter>": they
    # clash neither with the kernel's names nor with each other
    typed = ", ".join(f"{'void*' if p else t} __slarg_{n}" for t, n, p in params)
    call = ", ".join(f"({t}*)__slarg_{n}" if p else f"__slarg_{n}" for t, n, p in params)
    launcher = (
        f'\nextern "C" void __standin_launch_{name}(unsigned __sl_gx, unsigned __sl_gy, '
        "unsigned __sl_gz, unsigned __sl_bx, unsigned __sl_by, unsigned __sl_bz"
        f"{', ' + typed if typed else ''}) {{\n"
        "  gridDim = {__sl_gx, __sl_gy, __sl_gz}; blockDim = {__sl_bx, __sl_by, __sl_bz};\n"
        "  for (unsigned __sl_z = 0; __sl_z < __sl_gz; ++__sl_z)\n"
        "  for (unsigned __sl_y = 0; __sl_y < __sl_gy; ++__sl_y)\n"
        "  for (unsigned __sl_x = 0; __sl_x < __sl_gx; ++__sl_x) {\n"
        "    blockIdx = {__sl_x, __sl_y, __sl_z};\n"
        "    for (unsigned __sl_k = 0; __sl_k < __sl_bz; ++__sl_k)\n"
        "    for (unsigned __sl_j = 0; __sl_j < __sl_by; ++__sl_j)\n"
        "    for (unsigned __sl_i = 0; __sl_i < __sl_bx; ++__sl_i) {\n"
        f"      threadIdx = {{__sl_i, __sl_j, __sl_k}}; {name}({call});\n"
        "    }\n  }\n}\n")
    src = _PRELUDE + code + launcher
    key = hashlib.sha256(src.encode()).hexdigest()[:24]
    lib = _libs.get(key)
    if lib is not None:
        return lib
    cxx = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    if cxx is None:
        raise NotImplementedError("cupy stand-in: RawKernel needs a C++ compiler on the host")
    folder = os.path.join(tempfile.gettempdir(), f"cupy-standin-kernels-{os.getuid()}")
    os.makedirs(folder, exist_ok=True)
    so = os.path.join(folder, key + ".so")
    if not os.path.exists(so):
        cpp = os.path.join(folder, key + ".cpp")
        with open(cpp, "w") as f:
            f.write(src)
        tmp = f"{so}.{os.getpid()}.tmp"
        # -ffp-contract=off: a * b + c rounds twice, as in the source (FMAs are explicit)
        r = subprocess.run([cxx, "-O2", "-shared", "-fPIC", "-ffp-contract=off", "-o", tmp,
                            cpp], capture_output=True, text=True)
        if r.returncode != 0:
            raise _cp.cuda.compiler.CompileException(r.stderr)
        os.replace(tmp, so)
    lib = _libs[key] = ctypes.CDLL(so)
    return lib


def _dims(v, what: str) -> tuple:
    t = (v,) if isinstance(v, int) else tuple(v)
    if not 1 <= len(t) <= 3 or not all(isinstance(e, int) and e >= 1 for e in t):
        raise ValueError(f"{what} must be 1 to 3 positive integers, got {v!r}")
    return t + (1,) * (3 - len(t))


class RawKernel:
    """``cupy.RawKernel(code, name, options=(), backend='nvrtc', ...)`` (stand-in)."""

    def __init__(self, code, name, options=(), backend="nvrtc", translate_cucomplex=False, *,
                 enable_cooperative_groups=False, jitify=False):
        if not isinstance(code, str) or not isinstance(name, str):
            raise TypeError("code and name must be str")
        self.code, self.name, self.options, self.backend = code, name, tuple(options), backend
        self.enable_cooperative_groups = enable_cooperative_groups
        self._launch = None
        self._params: list = []

    def _load(self):
        if self._launch is None:
            bad = [w for w in _UNSUPPORTED if w in self.code]
            if bad or self.enable_cooperative_groups:
                raise NotImplementedError(
                    f"cupy stand-in: RawKernel {self.name!r} uses {bad or 'cooperative groups'}"
                    ", which needs threads that run together; the stand-in runs them one by one")
            self._params = _params(self.code, self.name)
            lib = _build(self.code, self.name, self._params)
            fn = getattr(lib, f"__standin_launch_{self.name}")
            fn.restype = None
            fn.argtypes = [ctypes.c_uint] * 6 + [
                ctypes.c_void_p if p else _SCALARS[t][0] for t, _, p in self._params]
            self._launch = fn
        return self._launch

    def __call__(self, grid, block, args, *, shared_mem=0):
        fn = self._load()
        g, b = _dims(grid, "grid"), _dims(block, "block")
        if b[0] * b[1] * b[2] > 1024:
            raise CUDADriverError(
                "CUDA_ERROR_INVALID_VALUE: invalid argument (more than 1024 threads per block)")
        if shared_mem:
            raise NotImplementedError("cupy stand-in: dynamic shared memory is not emulated")
        args = tuple(args)
        if len(args) != len(self._params):
            raise TypeError(f"kernel {self.name!r} takes {len(self._params)} arguments, "
                            f"{len(args)} given (CUDA would read garbage)")
        dev = _cp.cuda.get_device_id()
        values, arrays = [], []
        for (t, pname, pointer), a in zip(self._params, args):
            if isinstance(a, _cp.ndarray):
                if a._dev != dev:
                    raise _cp._peer_error(a._dev, dev)
                if not pointer:
                    raise TypeError(f"kernel {self.name!r}: array passed for scalar {pname}")
                values.append(a._a.__array_interface__["data"][0])
                arrays.append(a._a)
            elif isinstance(a, _np.ndarray) or not isinstance(a, (int, float, bool, _np.generic)):
                raise TypeError(f"Unsupported type {type(a)}")
            else:
                if pointer:
                    raise TypeError(f"kernel {self.name!r}: scalar passed for pointer {pname}")
                want = _SCALARS[t][1]
                have = _PY_SCALARS.get(type(a))
                ok = (_SCALARS[have][1] is want) if have else (_np.dtype(type(a)) == want)
                if not ok:
                    raise TypeError(f"kernel {self.name!r}: parameter {pname} is {t}, got "
                                    f"{type(a).__name__}; pass numpy.{_np.dtype(want).name}")
                values.append(a)

        def launch():
            fn(*g, *b, *values)

        if not (_cp._capturing and _cp._graph.run(launch, self.name, arrays)):
            launch()
