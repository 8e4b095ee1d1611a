"""Device objects: ``gpuarr.device('cpu')``, ``gpuarr.device('cuda:1')``.

Devices are interned: the same (type, index) always gives the same object, so the hot path can
compare devices with ``is``. ``device('cuda')`` keeps ``index=None`` like torch; tensors always
carry a concrete index (``cuda:0``).
"""

from __future__ import annotations

from .backends import NUMPY as _NUMPY
from .backends import backend_for, device_types

__all__ = ["device", "as_device", "cuda_device"]


class device:
    """A compute device.

    Args:
        type_or_str: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, another ``device``, or an int (a CUDA
            index, as torch accepts).
        index: optional CUDA device index.

    Example:
        >>> gpuarr.device('cuda:1')
        device(type='cuda', index=1)
    """

    __slots__ = ("type", "index", "_str", "_bk", "_xpc", "__weakref__")
    _cache: dict = {}

    def __new__(cls, type_or_str="cpu", index: int | None = None):
        if isinstance(type_or_str, device):
            if index is None:
                return type_or_str
            type_or_str = type_or_str.type
        key = (type_or_str, index)
        hit = cls._cache.get(key)
        if hit is not None:
            return hit
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            typ, idx = "cuda", type_or_str
        elif isinstance(type_or_str, str):
            typ, _, rest = type_or_str.partition(":")
            idx = None
            if rest:
                if index is not None:
                    raise RuntimeError(
                        f"type (string) must not include an index because index was passed "
                        f"explicitly: {type_or_str}"
                    )
                if not rest.isdigit():
                    raise RuntimeError(f"Invalid device string: '{type_or_str}'")
                idx = int(rest)
            elif index is not None:
                idx = index
        else:
            raise TypeError(
                "device() expects a string such as 'cpu' or 'cuda:0', got "
                f"{type(type_or_str).__name__}"
            )
        types = device_types()
        if typ not in types:
            raise RuntimeError(
                f"Expected one of {', '.join(types)} device type at start of device string: "
                f"{type_or_str}"
            )
        if idx is not None and (not isinstance(idx, int) or idx < 0):
            raise RuntimeError(f"Device index must not be negative, got {idx}")
        if typ == "cpu" and idx not in (None, 0):
            raise RuntimeError(f"CPU device index must be 0 or None, got {idx}")
        canon = (typ, idx)
        obj = cls._cache.get(canon)
        if obj is None:
            obj = object.__new__(cls)
            obj.type = typ
            obj.index = idx
            obj._str = typ if idx is None else f"{typ}:{idx}"
            obj._bk = None
            obj._xpc = None
            cls._cache[canon] = obj
        cls._cache[key] = obj
        return obj

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self._str

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return self is other

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self._str,))

    def _backend(self):
        """The backend serving this device (built on first use; raises if CUDA is unusable)."""
        bk = self._bk
        if bk is None:
            bk = self._bk = backend_for(self)
        return bk

    def _xp(self):
        """The array module (numpy or cupy) of this device, made ready to run work there: on
        a CUDA device, the device becomes the one CuPy launches kernels and allocates on."""
        xp = self._xpc  # the CPU's module, bound once (no per-op work on the CPU)
        if xp is not None:
            return xp
        return self._backend().activate(self.index)


CPU = device("cpu")
CPU._bk = _NUMPY  # the CPU backend is always there: bind it now
CPU._xpc = _NUMPY.xp


def as_device(d) -> device:
    """Resolve a device spec to the concrete device a tensor lives on (``'cuda'`` -> ``cuda:N``,
    N the current CUDA device)."""
    if d is None:
        return CPU
    if d.__class__ is not device:
        d = device(d)
    if d.index is None and d.type != "cpu":
        return device(d.type, backend_for(d.type).current_device())
    return d


def cuda_device(index=None) -> device:
    """The CUDA device meant by ``.cuda(index)``: the current one, ``cuda:N`` for an int, or a
    device spec."""
    if index is None:
        return as_device("cuda")
    if isinstance(index, int):
        return as_device(f"cuda:{index}")
    return as_device(index)
