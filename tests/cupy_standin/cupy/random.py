"""cupy.random for the CuPy stand-in: CuPy's Generator API (and only it), bit generators that
keep their state in a device array as cuRAND's do, and the legacy RandomState functions.

The numbers are NumPy's (PCG64), not cuRAND's: a test can rely on the stream being a function
of the seed and of the saved ``_state`` bytes, never on its values matching a GPU.
"""

from __future__ import annotations

import threading as _threading

import numpy as _np

import cupy as _cp

_ndarray = _cp.ndarray
_mk = _cp._mk

# sizeof(curandState), sizeof(curandStateMRG32k3a), sizeof(curandStatePhilox4_32_10_t)
_STATE_BYTES = 40  # the serialized PCG64 state kept at the start of ``_state``


class BitGenerator:
    """CuPy's BitGenerator base: seed sequence, creating device, device check."""

    def __init__(self, seed=None):
        self.lock = _threading.Lock()
        if isinstance(seed, _np.random.SeedSequence):
            self._seed_seq = seed
        else:
            if isinstance(seed, _ndarray):
                seed = _cp.asnumpy(seed)
            self._seed_seq = _np.random.SeedSequence(seed)
        self._current_device_id = _cp.cuda.get_device_id()

    def random_raw(self, size=None, output=True):
        raise NotImplementedError("Not implemented in base BitGenerator")

    def _state_size(self):
        return 0

    def _check_device(self):
        if _cp.cuda.get_device_id() != self._current_device_id:
            raise RuntimeError("This Generator state is allocated in a different device")


class _cuRANDGenerator(BitGenerator):
    """State in ``self._state``: an int8 device array of ``_type_size() * size`` bytes, as the
    curandState structs of CuPy's generators. The stand-in keeps a serialized NumPy PCG64 state
    in its first bytes, reads it before every draw and writes it back after, so that saving and
    restoring ``_state`` saves and restores the stream exactly."""

    def __init__(self, seed=None, *, size=-1):
        if _cp._capturing and _cp._graph.current() is not None:
            raise NotImplementedError(
                "cupy stand-in: creating a cuRAND bit generator inside a stream capture is not "
                "modelled (on a GPU its state stays unset until the graph is launched)")
        super().__init__(seed)
        self._seed = self._seed_seq.generate_state(1, _np.uint32)[0]
        if size == -1:  # CuPy 14: 2048 threads per multiprocessor of the current device
            size = _cp.cuda.runtime.deviceGetAttribute(16, self._current_device_id) * 2048
        self._size = size
        self._state = _cp.zeros(self._type_size() * size, dtype=_np.int8)
        self._pcg = _np.random.PCG64(int(self._seed))
        self._gen = _np.random.Generator(self._pcg)
        if self._state.size >= _STATE_BYTES:
            self._save()

    def _type_size(self):
        return 0

    def _state_size(self):
        return self._size

    def _save(self):
        st = self._pcg.state
        b = (st["state"]["state"].to_bytes(16, "little")
             + st["state"]["inc"].to_bytes(16, "little")
             + int(st["has_uint32"]).to_bytes(4, "little")
             + int(st["uinteger"]).to_bytes(4, "little"))
        self._state._a[:_STATE_BYTES] = _np.frombuffer(b, _np.int8)

    def _load(self):
        """The NumPy generator, positioned at the state held in ``_state`` (a kernel)."""
        self._check_device()
        st = self._state
        if st._dev != _cp.cuda.get_device_id():
            raise _cp._peer_error(st._dev, _cp.cuda.get_device_id())
        if st._a.size < _STATE_BYTES:
            raise RuntimeError("cupy stand-in: generator state too small (size < 1)")
        b = st._a[:_STATE_BYTES].tobytes()
        self._pcg.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(b[:16], "little"),
                      "inc": int.from_bytes(b[16:32], "little")},
            "has_uint32": int.from_bytes(b[32:36], "little"),
            "uinteger": int.from_bytes(b[36:40], "little"),
        }
        return self._gen

    def random_raw(self, size=None, output=True):
        g = self._load()
        y = g.integers(0, 2**32, size=() if size is None else size, dtype=_np.uint64)
        self._save()
        y = _mk(y.astype(_np.uint32).view(_np.int32))
        return y if output else None

    def state(self):
        self._check_device()
        return self._state.data.ptr


class XORWOW(_cuRANDGenerator):
    """BitGenerator that uses cuRAND XORWOW device generator (stand-in)."""

    def _type_size(self):
        return 48


class MRG32k3a(_cuRANDGenerator):
    """BitGenerator that uses cuRAND MRG32k3a device generator (stand-in)."""

    def _type_size(self):
        return 48


class Philox4x3210(_cuRANDGenerator):
    """BitGenerator that uses cuRAND Philox4x3210 device generator (stand-in)."""

    def _type_size(self):
        return 64


def _param(v, what):
    """A distribution parameter as CuPy accepts it: a device array or a Python scalar."""
    if isinstance(v, _ndarray):
        dev = _cp.cuda.get_device_id()
        if v._dev != dev:
            raise _cp._peer_error(v._dev, dev)
        return v._a
    if type(v) in (float, int):
        return v
    raise TypeError(f"{what} is required to be a cupy.ndarray or a scalar")


def _size(size):
    if size is not None and not isinstance(size, tuple):
        size = (int(size),)
    return size


class Generator:
    """CuPy's Generator: only the methods CuPy 14.2 has, with its argument rules."""

    def __init__(self, bit_generator):
        self.bit_generator = bit_generator
        self._binomial_state = None

    def _draw(self, fn):
        bg = self.bit_generator
        g = bg._load()
        with _np.errstate(all="ignore"):
            r = fn(g)
        bg._save()
        return r

    def _check_output_array(self, dtype, size, out, check_only_c_cont=False):
        if not isinstance(out, _ndarray):
            raise TypeError("out must be a cupy.ndarray")
        dev = _cp.cuda.get_device_id()
        if out._dev != dev:
            raise _cp._peer_error(out._dev, dev)
        if not out._a.flags.c_contiguous:
            raise ValueError("out array must be C-contiguous")
        if check_only_c_cont:
            return
        if out.dtype != _np.dtype(dtype):
            raise TypeError(f"Supported dtype is {_np.dtype(dtype)}")
        if size is not None and tuple(_size(size)) != out.shape:
            raise ValueError("size must match out.shape")

    def _finish(self, r, dtype, out):
        r = _np.asarray(r).astype(dtype, copy=False)
        if out is not None:
            out._a[...] = r
            return out
        return _mk(r)

    def random(self, size=None, dtype=_np.float64, out=None):
        dt = _np.dtype(dtype)
        if dt.char not in "fd":
            raise TypeError(f"Unsupported dtype {dt.name} for random")
        if out is not None:
            self._check_output_array(dt, size, out)
            size = out.shape
        r = self._draw(lambda g: g.random(size, dtype=_np.float64 if dt.char == "d"
                                          else _np.float32))
        return self._finish(r, dt, out)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        dt = _np.dtype(dtype)
        if dt.char not in "fd":
            raise TypeError(f"Unsupported dtype {dt.name} for uniform")
        lo = _cp.asarray(low)._a
        hi = _cp.asarray(high)._a
        if size is None:
            size = _np.broadcast(lo, hi).shape
        r = self._draw(lambda g: g.random(size))
        return _mk(_np.asarray(lo + (hi - lo) * r).astype(dt, copy=False))

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        lo, hi = (0, low) if high is None else (low, high)
        lo = _param(lo, "low") if isinstance(lo, _ndarray) else int(lo)
        hi = _param(hi, "high") if isinstance(hi, _ndarray) else int(hi)
        r = self._draw(lambda g: g.integers(lo, hi, size=size, endpoint=endpoint))
        return _mk(_np.asarray(r).astype(dtype))

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        dt = _np.dtype(dtype)
        if dt.char not in "fd":
            raise TypeError(f"Unsupported dtype {dt.name} for standard_normal")
        if out is not None:
            self._check_output_array(dt, size, out)
            size = out.shape
        r = self._draw(lambda g: g.standard_normal(size, dtype=dt))
        return self._finish(r, dt, out)

    def standard_exponential(self, size=None, dtype=_np.float64, method="inv", out=None):
        dt = _np.dtype(dtype)
        if dt.char not in "fd":
            raise TypeError(f"Unsupported dtype {dt.name} for standard_exponential")
        if method not in ("inv", "zig"):
            raise ValueError(f"{method} method is not supported")
        if out is not None:
            self._check_output_array(dt, size, out)
            size = out.shape
        r = self._draw(lambda g: g.standard_exponential(size))
        return self._finish(r, dt, out)

    def exponential(self, scale=1.0, size=None):
        scale = _param(scale, "scale")
        if size is None:
            size = _np.shape(scale)
        r = self._draw(lambda g: g.standard_exponential(size))
        return _mk(_np.asarray(r * scale, dtype=_np.float64))

    def poisson(self, lam=1.0, size=None):
        lam = _param(lam, "lam")
        size = _size(size)
        if size is None:
            size = _np.shape(lam)
        r = self._draw(lambda g: g.poisson(_np.broadcast_to(lam, size), size))
        return _mk(_np.asarray(r).astype(_np.int64))

    def binomial(self, n, p, size=None):
        if isinstance(n, _ndarray):
            n = _param(n, "n").astype(_np.int64)
        elif type(n) not in (float, int):
            raise TypeError("n is required to be a cupy.ndarray or a scalar")
        if isinstance(p, _ndarray):
            p = _param(p, "p").astype(_np.float64)
        elif type(p) is not float:
            raise TypeError("p is required to be a cupy.ndarray or a scalar")
        if size is None:
            size = _np.broadcast(n, p).shape
        r = self._draw(lambda g: g.binomial(n, p, size))
        return _mk(_np.asarray(r).astype(_np.int64))

    def geometric(self, p, size=None):
        p = _param(p, "p")
        size = _size(size)
        if size is None:
            size = _np.shape(p)
        r = self._draw(lambda g: g.geometric(p, size))
        return _mk(_np.asarray(r).astype(_np.int64))

    def hypergeometric(self, ngood, nbad, nsample, size=None):
        ngood, nbad = _param(ngood, "ngood"), _param(nbad, "nbad")
        nsample = _param(nsample, "nsample")
        size = _size(size)
        if size is None:
            size = _np.broadcast(ngood, nbad, nsample).shape
        r = self._draw(lambda g: g.hypergeometric(ngood, nbad, nsample, size))
        return _mk(_np.asarray(r).astype(_np.int64))

    def logseries(self, p, size=None):
        p = _param(p, "p")
        size = _size(size)
        if size is None:
            size = _np.shape(p)
        r = self._draw(lambda g: g.logseries(p, size))
        return _mk(_np.asarray(r).astype(_np.int64))

    def power(self, a, size=None):
        a = _param(a, "a")
        size = _size(size)
        if size is None:
            size = _np.shape(a)
        r = self._draw(lambda g: g.power(a, size))
        return _mk(_np.asarray(r, dtype=_np.float64))

    def standard_gamma(self, shape, size=None, dtype=_np.float64, out=None):
        if not isinstance(shape, _ndarray) and type(shape) not in (float, int):
            if shape is None:
                raise TypeError("shape must be real number, not NoneType")
            raise ValueError("shape is required to be a cupy.ndarray or a scalar")
        s = _param(shape, "shape")
        size = _size(size)
        if out is not None:
            self._check_output_array(dtype, size, out)
            size = out.shape
        if size is None:
            size = _np.shape(s)
        r = self._draw(lambda g: g.standard_gamma(_np.broadcast_to(s, size), size))
        return self._finish(r, dtype, out)

    def gamma(self, shape, scale=1.0, size=None):
        if size is None:
            size = _np.broadcast(_cp._unwrap(shape), _cp._unwrap(scale)).shape
        y = self.standard_gamma(shape, size)
        y *= scale
        return y

    def beta(self, a, b, size=None, dtype=_np.float64):
        a, b = _param(a, "a"), _param(b, "b")
        size = _size(size)
        if size is None:
            size = _np.broadcast(a, b).shape
        r = self._draw(lambda g: g.beta(a, b, size))
        return _mk(_np.asarray(r).astype(dtype))

    def dirichlet(self, alpha, size=None):
        al = _param(alpha, "alpha")
        size = _size(size)
        size = (size or ()) + _np.shape(al) if size is not None else _np.shape(al)

        def draw(g):
            y = g.standard_gamma(_np.broadcast_to(al, size), size)
            return y / y.sum(axis=-1, keepdims=True)

        return _mk(_np.asarray(self._draw(draw)))

    def chisquare(self, df, size=None):
        df = _param(df, "df")
        size = _size(size)
        r = self._draw(lambda g: g.chisquare(df, size if size is not None else _np.shape(df)))
        return _mk(_np.asarray(r, dtype=_np.float64))

    def f(self, dfnum, dfden, size=None):
        dfnum, dfden = _param(dfnum, "dfnum"), _param(dfden, "dfden")
        size = _size(size)
        if size is None:
            size = _np.broadcast(dfnum, dfden).shape
        r = self._draw(lambda g: g.f(dfnum, dfden, size))
        return _mk(_np.asarray(r, dtype=_np.float64))


# Generator draws are kernels reading and advancing the state in device memory: while a stream
# captures they are recorded, and every launch of the graph continues the stream (_graph.draw).
for _name, _meth in list(Generator.__dict__.items()):
    if not _name.startswith("_") and callable(_meth):
        setattr(Generator, _name, _cp._graph.capturable_draw(f"Generator.{_name}", _meth))
_cuRANDGenerator.random_raw = _cp._graph.capturable_draw("random_raw",
                                                          _cuRANDGenerator.random_raw)


def default_rng(seed=None):
    if isinstance(seed, BitGenerator):
        return Generator(seed)
    if isinstance(seed, Generator):
        return seed
    return Generator(XORWOW(seed))


# ---- the legacy API: one RandomState per device ----------------------------------------------

class RandomState:
    """cupy.random.RandomState (stand-in): NumPy's legacy generator, CuPy's signatures."""

    def __init__(self, seed=None, method=None):
        self._rs = _np.random.RandomState(seed)
        self._device_id = _cp.cuda.get_device_id()

    def seed(self, seed=None):
        self._rs.seed(seed)

    def _run(self, name, args, kwargs):
        if _cp._capturing:
            _cp._graph.curand_check()  # the legacy API calls cuRAND's host API
        dtype = kwargs.pop("dtype", None) if name != "randint" else None
        acc = []
        a = _cp._unw(args, acc, True)
        k = {n: _cp._unw(v, acc, True) for n, v in kwargs.items()}
        dev = _cp.cuda.get_device_id()
        for x in acc:
            if x._dev != dev:
                raise _cp._peer_error(x._dev, dev)
        with _np.errstate(all="ignore"):
            r = getattr(self._rs, name)(*a, **k)
        if r is None:
            return None
        r = _np.asarray(r)
        if dtype is not None:
            r = r.astype(dtype, copy=False)
        return _mk(r if r.base is None else r.copy())

    def rand(self, *size, **kwarg):
        dtype = kwarg.pop("dtype", float)
        if kwarg:
            raise TypeError(f"rand() got unexpected keyword arguments {', '.join(kwarg)}")
        return self._run("random_sample", (size or None,), {"dtype": dtype})

    def randn(self, *size, **kwarg):
        dtype = kwarg.pop("dtype", float)
        if kwarg:
            raise TypeError(f"randn() got unexpected keyword arguments {', '.join(kwarg)}")
        return self._run("standard_normal", (size or None,), {"dtype": dtype})

    def shuffle(self, a):
        if not isinstance(a, _ndarray):
            raise TypeError("The array must be cupy.ndarray")
        if _cp._capturing:
            _cp._graph.curand_check()
        dev = _cp.cuda.get_device_id()
        if a._dev != dev:
            raise _cp._peer_error(a._dev, dev)
        self._rs.shuffle(a._a)

    def permutation(self, num):
        if isinstance(num, _ndarray):
            return self._run("permutation", (num,), {})
        return self._run("permutation", (int(num),), {})


def _make_rs_method(name, sigstr):
    chk = _cp._Sig(f"RandomState.{name}", sigstr, drop_self=True)
    np_name = {"random_sample": "random_sample", "interval": None}.get(name, name)

    def meth(self, *args, **kwargs):
        chk(args, kwargs)
        return self._run(np_name, args, kwargs)

    meth.__name__ = name
    return meth


for _name, _sig in _cp._META["RandomState"].items():
    if _name.startswith("_") or _name in RandomState.__dict__:
        continue
    if hasattr(_np.random.RandomState, _name):
        setattr(RandomState, _name, _make_rs_method(_name, _sig))

_states: dict = {}


def get_random_state():
    dev = _cp.cuda.get_device_id()
    rs = _states.get(dev)
    if rs is None:
        import os

        seed = os.environ.get("CUPY_SEED")
        rs = _states[dev] = RandomState(None if seed is None else int(seed))
    return rs


def set_random_state(rs):
    if not isinstance(rs, RandomState):
        raise TypeError(f"Random state must be an instance of RandomState. Actual: {type(rs)}")
    _states[_cp.cuda.get_device_id()] = rs


def reset_states():
    _states.clear()


def seed(seed=None):
    get_random_state().seed(seed)


def _module_func(name):
    def f(*args, **kwargs):
        return getattr(get_random_state(), name)(*args, **kwargs)

    f.__name__ = name
    return f


for _name, _info in _cp._META["cupy.random"].items():
    if _name.startswith("_") or _name in globals() or _info["kind"] != "func":
        continue
    _meth = {"random": "random_sample", "ranf": "random_sample", "sample": "random_sample",
             "random_integers": "random_integers"}.get(_name, _name)
    if hasattr(RandomState, _meth):
        globals()[_name] = _module_func(_meth)

_EXTRA = sorted(n for n in globals() if not n.startswith("_") and n not in _cp._META["cupy.random"]
                and n not in ("annotations", "Generator"))  # Generator: a lazy attribute there
if _EXTRA:
    raise ImportError(f"cupy stand-in: cupy.random defines names the real CuPy lacks: {_EXTRA}")
del _name, _sig, _info, _meth
