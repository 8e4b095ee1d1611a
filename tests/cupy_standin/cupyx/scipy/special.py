"""cupyx.scipy.special for the CuPy stand-in: the names the real CuPy has, computed by SciPy on
the CPU (CuPy's ufuncs become stand-in ufuncs: CuPy's call rules, SciPy's numbers)."""

import cupy as _cp
import scipy.special as _sps

_META = _cp._META["cupyx.scipy.special"]


def _mkf(name, f, sigstr):
    chk = _cp._Sig(f"cupyx.scipy.special.{name}", sigstr)

    def g(*args, **kwargs):
        chk(args, kwargs)
        return _cp._call(f, args, kwargs, True, False)

    g.__name__ = name
    g.__module__ = "cupyx.scipy.special"
    return g


for _n, _i in _META.items():
    if _n.startswith("_") or not hasattr(_sps, _n):
        continue
    if _i["kind"] == "ufunc":
        globals()[_n] = _cp._UFunc(_n, _i["nin"], _i["nout"], None, getattr(_sps, _n))
    elif _i["kind"] == "func":
        globals()[_n] = _mkf(_n, getattr(_sps, _n), _i.get("sig"))
del _n, _i
