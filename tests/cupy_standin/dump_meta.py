"""Regenerate ``cupy_meta.json`` from the REAL installed CuPy (no GPU needed).

The CuPy stand-in in this folder only offers the names, signatures and ufuncs recorded here, so
run this again whenever the project moves to a new CuPy release::

    python tests/cupy_standin/dump_meta.py            # writes tests/cupy_standin/cupy_meta.json

It refuses to run against the stand-in itself (this folder is dropped from ``sys.path`` first).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
import types

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]


def sig_of(obj):
    """The signature text of a function, from inspect or the first line of a Cython doc."""
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        pass
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    if doc:
        m = re.match(r"^[\w.]+(\(.*\))", doc[0])
        if m:
            return m.group(1).split(" -> ")[0]
    return None


def dump_mod(mod, cupy):
    out = {}
    for n in dir(mod):
        if n.startswith("__"):
            continue
        try:
            o = getattr(mod, n)
        except Exception:
            continue
        if isinstance(o, cupy.ufunc):
            out[n] = {"kind": "ufunc", "nin": o.nin, "nout": o.nout,
                      "scatter": getattr(o, "_scatter_op", None)}
        elif isinstance(o, types.ModuleType):
            out[n] = {"kind": "module"}
        elif inspect.isclass(o):
            out[n] = {"kind": "class", "module": o.__module__}
        elif callable(o):
            out[n] = {"kind": "func", "sig": sig_of(o)}
        else:
            out[n] = {"kind": "value"}
    return out


def methods(cls):
    return {n: sig_of(getattr(cls, n)) for n in dir(cls)
            if not n.startswith("__") and callable(getattr(cls, n, None))}


def main(path):
    import cupy
    import cupy.cuda.runtime
    import cupy.fft
    import cupy.lib.stride_tricks
    import cupy.linalg
    import cupy.random
    import cupy_backends.cuda.libs.nvrtc
    import cupyx
    import cupyx.scipy.special

    if getattr(cupy, "_IS_STANDIN", False):
        raise SystemExit("dump_meta.py: this is the stand-in, not the real CuPy")
    mods = (cupy, cupy.linalg, cupy.random, cupy.fft, cupyx, cupyx.scipy.special, cupy.cuda,
            cupy.cuda.runtime, cupy.lib.stride_tricks, cupy_backends.cuda.libs.nvrtc)
    meta = {m.__name__: dump_mod(m, cupy) for m in mods}
    meta["ndarray"] = {n: sig_of(getattr(cupy.ndarray, n)) for n in dir(cupy.ndarray)}
    meta["Generator"] = {n: sig_of(getattr(cupy.random.Generator, n))
                         for n in dir(cupy.random.Generator) if not n.startswith("__")}
    meta["RandomState"] = methods(cupy.random.RandomState)
    meta["Device"] = {n: None for n in dir(cupy.cuda.Device) if not n.startswith("__")}
    meta["Stream"] = {n: None for n in dir(cupy.cuda.Stream) if not n.startswith("__")}
    meta["MemoryPool"] = methods(cupy.cuda.MemoryPool)
    meta["_version"] = cupy.__version__
    _add_nccl(meta, path)
    with open(path, "w") as fh:
        json.dump(meta, fh, indent=0, sort_keys=True)
    print(path, {k: len(v) for k, v in meta.items() if isinstance(v, dict)})


def _add_nccl(meta, path):
    """NCCL's names (``cupy.cuda.nccl`` re-exports ``cupy_backends.cuda.libs.nccl``) load only
    with libnccl (the ``nvidia-nccl-cu12`` wheel, or ``LD_LIBRARY_PATH`` pointing at it): without
    it the entries recorded before are kept."""
    import cupy
    import cupy.cuda.nccl

    if cupy.cuda.nccl.available:
        import cupy_backends.cuda.libs.nccl as nccl

        meta[nccl.__name__] = dump_mod(nccl, cupy)
        meta["NcclCommunicator"] = methods(nccl.NcclCommunicator)
        return
    try:
        with open(path) as fh:
            old = json.load(fh)
    except (OSError, ValueError):
        old = {}
    for key in ("cupy_backends.cuda.libs.nccl", "NcclCommunicator"):
        if key in old:
            meta[key] = old[key]
    print("libnccl not loadable: NCCL names kept from the previous dump", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(_HERE, "cupy_meta.json"))
