"""Random tensors: ``rand``, ``randn``, ``randint``, ``normal``, ``randperm`` and in-place
``uniform_`` / ``normal_``. Every function takes ``generator=`` (else the device's default)."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._creation import _finish, _size, factory_device
from .._random import default_generator
from ..backends import sync_debug
from ._common import TensorBase, no_grad_needed
from ._registry import mixin, register

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["rand", "randn", "randint", "normal", "randperm", "rand_like", "randn_like",
           "randint_like"]


def _gen(generator, dev):
    if generator is None:
        return default_generator(dev)
    if generator.device is not dev:
        raise RuntimeError(
            f"Expected a '{dev.type}' device type for generator but found "
            f"'{generator.device.type}'"
        )
    return generator


def _float_dt(dtype, kernel: str = "check_uniform_bounds") -> D.dtype:
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if not (dt.is_floating_point or dt.is_complex):  # torch's: no integer sampling kernel
        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{D._SCALAR_NAMES[dt.name]}\'')
    return dt


def _draw_float(kind: str, shape, dt: D.dtype, g) -> object:
    if dt.is_complex:
        # as torch: real and imaginary parts drawn independently, each U[0, 1) for rand and
        # N(0, 1/2) for randn (so that E|z|^2 = 1), interleaved as the complex layout wants
        parts = _draw_float(kind, (*shape, 2), D.to_real(dt), g)
        if kind != "u":
            parts *= parts.dtype.type(np.sqrt(0.5))
        return parts.view(dt.np)[..., 0]
    bg = g._backend_gen
    if dt is D.bfloat16:
        g.device._backend().check_dtype(dt.np)  # CUDA has none: say so before drawing
    # float16 and bfloat16 have no native sampler: draw float32 and round
    sdt = np.float32 if D.is_half_np(dt.np) else dt.np
    arr = bg.random(shape, dtype=sdt) if kind == "u" else bg.standard_normal(shape, dtype=sdt)
    return arr.astype(dt.np, copy=False)


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1).

    Example:
        >>> gpuarr.rand(2, 3, device='cpu')
    """
    dev = factory_device(device)
    dt = _float_dt(dtype)
    return _finish(_draw_float("u", _size(size, "rand"), dt, _gen(generator, dev)), dev,
                   requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples (mean 0, variance 1)."""
    dev = factory_device(device)
    dt = _float_dt(dtype, f"normal_kernel_{dev.type}")
    return _finish(_draw_float("n", _size(size, "randn"), dt, _gen(generator, dev)), dev,
                   requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Uniform integers in ``[low, high)`` (``randint(high, size)`` starts at 0); int64."""
    if size is None:
        if high is None or isinstance(high, numbers.Integral):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    dev = factory_device(device)
    dt = D.as_dtype(dtype) if dtype is not None else D.int64
    shape = _size((size,) if not isinstance(size, (list, tuple)) else (tuple(size),), "randint")
    arr = _gen(generator, dev)._backend_gen.integers(low, high, size=shape, dtype=np.int64)
    return _finish(arr.astype(dt.np, copy=False), dev, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64)."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    dev = factory_device(device)
    dt = D.as_dtype(dtype) if dtype is not None else D.int64
    # argsort of uniform draws: the same on NumPy and CuPy (CuPy's Generator has no permutation)
    bg = _gen(generator, dev)._backend_gen
    arr = dev._xp().argsort(bg.random(n), kind="stable") if n else dev._xp().zeros(0, np.int64)
    return _finish(arr.astype(dt.np), dev, requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples with the given ``mean`` and ``std`` (numbers or tensors, broadcast).

    The result is differentiable w.r.t. tensor ``mean`` and ``std`` (reparameterised).
    """
    if isinstance(mean, TensorBase) or isinstance(std, TensorBase):
        ref = mean if isinstance(mean, TensorBase) else std
        if isinstance(std, numbers.Number) and std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        if isinstance(std, TensorBase):
            sync_debug.check_array(std._data)
        if isinstance(std, TensorBase) and bool((std < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = np.broadcast_shapes(tuple(getattr(mean, "shape", ())),
                                    tuple(getattr(std, "shape", ())))
        eps = randn(shape, generator=generator, dtype=ref.dtype, device=ref.device)
        return mean + std * eps
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    t = randn(*((size,) if isinstance(size, int) else (tuple(size),)), generator=generator,
              dtype=dtype, device=device)
    t._data *= t._data.dtype.type(std)
    t._data += t._data.dtype.type(mean)
    return t.requires_grad_(requires_grad) if requires_grad else t


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples shaped like ``input``."""
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples shaped like ``input``."""
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, dtype=None, device=None) -> Tensor:
    """Random integers shaped like ``input``."""
    return randint(low, high, input.shape, dtype=dtype or input.dtype,
                   device=device or input.device)


def _fill_inplace(self: Tensor, arr) -> Tensor:
    if self._gfn is None and not no_grad_needed(self):
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    self._data[...] = arr
    self._bump_version()
    return self


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with uniform samples on [a, b); returns self."""
    u = _draw_float("u", self.shape, D.float64 if self.dtype is D.float64 else D.float32,
                    _gen(generator, self._device))
    return _fill_inplace(self, u * (b - a) + a)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with normal samples; returns self."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    z = _draw_float("n", self.shape, D.float64 if self.dtype is D.float64 else D.float32,
                    _gen(generator, self._device))
    return _fill_inplace(self, z * std + mean)


def random_(self: Tensor, from_: int = 0, to: int | None = None, *, generator=None) -> Tensor:
    """Fill with integers drawn uniformly from ``[from_, to)``; returns self."""
    if to is None:
        to = 2**24 if self.is_floating_point() else int(np.iinfo(self._data.dtype).max) + 1
    vals = _gen(generator, self._device)._backend_gen.integers(from_, to, size=self.shape)
    return _fill_inplace(self, vals)


register(__name__, {
    "uniform_": uniform_,
    "normal_": normal_,
    "random_": random_,
})

RandomMethods = mixin("RandomMethods", __name__)
