"""The CuPy names a trace records (CuPy's functions reject foreign objects, so a traced array
reaches them only through wrappers put on CuPy's namespaces for the trace's duration)."""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["targets"]

# copies to the host: a trace that makes one is a break
_BREAKS = {"asnumpy"}
# callables that are not array operations, left alone
_SKIP = {"get_array_module", "is_available", "show_config", "get_default_memory_pool",
         "get_default_pinned_memory_pool", "fuse", "memoize", "clear_memo", "errstate",
         "from_dlpack", "get_include", "printoptions", "set_printoptions",
         "get_printoptions", "may_share_memory", "shares_memory", "binary_repr", "base_repr",
         "iterable", "isscalar", "result_type", "promote_types", "can_cast", "min_scalar_type",
         "common_type", "dtype", "finfo", "iinfo", "issubdtype", "ndim", "shape", "size",
         "broadcast_shapes", "load", "save", "savez", "fromfile", "asarray_chkfinite"}

_MODULES = ("cupy", "cupy.linalg", "cupy.fft", "cupyx", "cupyx.scipy.special")


def _names(mod) -> tuple[list, list]:
    rec, brk = [], []
    for name in dir(mod):
        if name.startswith("_") or name in _SKIP:
            continue
        obj = getattr(mod, name, None)
        if obj is None or isinstance(obj, (type, types.ModuleType)) or not callable(obj):
            continue
        (brk if name in _BREAKS else rec).append(name)
    return rec, brk


def targets() -> tuple:
    """``(module, names to record, names that break)`` for each CuPy namespace (loaded here
    if need be)."""
    out = []
    for modname in _MODULES:
        mod = sys.modules.get(modname)
        if mod is None:
            try:  # CuPy's special functions load on first use: load them before the trace
                mod = importlib.import_module(modname)  # patches the namespaces it records
            except ImportError:
                continue
        rec, brk = _names(mod)
        out.append((mod, rec, brk))
    return tuple(out)
