"""cupyx for the CuPy stand-in: errstate/seterr/geterr, scatter_add/max/min, rsqrt, and
``cupyx.scipy.special`` (computed by SciPy). See ``cupy/__init__.py`` for what the stand-in
reproduces and what it cannot prove."""

import contextlib

import numpy as _np

import cupy as _cp

_state = _cp._errstate  # thread-local; only ``linalg`` changes behaviour (CuPy's other modes
#                         do not raise either)
_KEYS = ("divide", "over", "under", "invalid", "linalg")


def geterr():
    return {k: getattr(_state, k, "ignore") for k in _KEYS}


def seterr(*, divide=None, over=None, under=None, invalid=None, linalg=None):
    old = geterr()
    for k, v in zip(_KEYS, (divide, over, under, invalid, linalg)):
        if v is not None:
            if k == "linalg" and v not in ("ignore", "raise"):
                raise NotImplementedError(f"linalg={v!r} is not supported")
            setattr(_state, k, v)
    return old


@contextlib.contextmanager
def errstate(*, divide=None, over=None, under=None, invalid=None, linalg=None):
    old = seterr(divide=divide, over=over, under=under, invalid=invalid, linalg=linalg)
    try:
        yield
    finally:
        seterr(**old)


def scatter_add(a, slices, value):
    _cp._scatter(a, slices, value, "add")


def scatter_max(a, slices, value):
    _cp._scatter(a, slices, value, "max")


def scatter_min(a, slices, value):
    _cp._scatter(a, slices, value, "min")


def empty_pinned(shape, dtype=float, order="C"):
    """A NumPy array "in page-locked memory" (plain host memory here), as CuPy returns."""
    return _np.empty(shape, dtype=dtype, order=order)


def _rsqrt_np(x, out=None, dtype=None, casting="same_kind", where=True):
    return _np.divide(1, _np.sqrt(x, dtype=dtype), out=out, casting=casting, where=where)


rsqrt = _cp._UFunc("rsqrt", 1, 1, None, _rsqrt_np)


def __getattr__(name):
    if name == "scipy":
        import cupyx.scipy

        return cupyx.scipy
    raise AttributeError(f"module 'cupyx' has no attribute '{name}'")


_EXTRA = sorted(n for n in globals() if not n.startswith("_") and n not in _cp._META["cupyx"]
                and n != "contextlib")
if _EXTRA:
    raise ImportError(f"cupy stand-in: cupyx defines names the real CuPy lacks: {_EXTRA}")
del contextlib
