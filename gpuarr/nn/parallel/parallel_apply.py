"""``parallel_apply``: run module replicas on their inputs, each on its CUDA device (torch's
``torch.nn.parallel.parallel_apply``).

torch runs one Python thread per replica. gpuarr runs the replicas one after the other, in
the calling thread, each inside ``gpuarr.cuda.device(i)``, for two reasons:

- gpuarr's process state is shared by all threads, where torch's is per thread: the current
  CUDA device (``gpuarr.cuda.current_device()``, which ``device='cuda'`` resolves against),
  grad mode and autocast state. Threads would switch each other's current device and grad
  mode halfway through a forward pass.
- threads would buy little: the replicas' Python code holds the GIL either way, and CuPy
  launches kernels asynchronously, so device N still computes while the host queues work
  for device N+1.

Everything else is torch's: each replica runs with the caller's grad mode and autocast state
(it inherits them), on the device given for it (its input's device when ``devices`` is not
given), and an exception in a replica is raised again as torch does, as the same type, with
"Caught <Type> in replica <i> on device <d>." and the original traceback in its message.

Example:
    >>> from gpuarr.nn.parallel import parallel_apply, replicate, scatter
    >>> outs = parallel_apply(replicate(model, [0, 1]), scatter(x, [0, 1]), None, [0, 1])
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any

from ... import cuda as _cuda
from ..._tensor import Tensor
from ..module import Module
from .comm import _device_index

__all__ = ["get_a_var", "parallel_apply"]


def get_a_var(obj: Any) -> Tensor | None:
    """The first tensor found in ``obj`` (a tensor, or lists, tuples and dicts of them),
    or None."""
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for result in map(get_a_var, obj):
            if isinstance(result, Tensor):
                return result
    if isinstance(obj, dict):
        for result in map(get_a_var, obj.items()):
            if isinstance(result, Tensor):
                return result
    return None


class _KeyErrorMessage(str):
    """A KeyError's message that prints as it is (KeyError shows the repr of its argument)."""

    def __repr__(self) -> str:
        return self


def _reraise(exc: BaseException, where: str):
    """Raise ``exc`` again as torch's ``ExceptionWrapper.reraise`` does: a new exception of the
    same type whose message says where it happened and holds the original traceback."""
    original = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    msg = f"Caught {type(exc).__name__} {where}.\nOriginal {original}"
    if isinstance(exc, KeyError):
        msg = _KeyErrorMessage(msg)
    try:
        new = type(exc)(msg)
    except Exception:  # an exception class that wants other arguments
        raise RuntimeError(msg) from None
    raise new from None


def _device_for(device, input) -> int:
    """The CUDA index a replica runs on: ``device``, else the device of its input's first
    tensor, else the current device."""
    if device is not None:
        return _device_index(device, True)
    t = get_a_var(input)
    if t is not None and t._device.type == "cuda":
        return t._device.index
    return _cuda.current_device()


def parallel_apply(modules: Sequence[Module], inputs: Sequence[Any],
                   kwargs_tup: Sequence[dict] | None = None,
                   devices: Sequence | None = None) -> list[Any]:
    """Call ``modules[i](*inputs[i], **kwargs_tup[i])`` on device ``devices[i]``, for each i.

    Args:
        modules: the replicas.
        inputs: per replica, its positional arguments (a list or tuple), or its one argument.
        kwargs_tup: per replica, its keyword arguments (default: none).
        devices: per replica, the CUDA device made current while it runs (default: its
            input's device).

    Returns:
        The replicas' outputs, in order.

    Raises:
        AssertionError: if the sequences differ in length.
        RuntimeError: if CUDA is not available.
        The exception a replica raised, re-raised as torch does (see the module docstring).

    Example:
        >>> outs = parallel_apply(replicas, [(x0,), (x1,)], None, [0, 1])
    """
    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the "
                             f"number of inputs {len(inputs)}")
    if kwargs_tup is not None:
        if len(modules) != len(kwargs_tup):
            raise AssertionError(f"The number of modules {len(modules)} is not equal to the "
                                 f"number of kwargs_tup {len(kwargs_tup)}")
    else:
        kwargs_tup = ({},) * len(modules)
    if devices is not None:
        if len(modules) != len(devices):
            raise AssertionError(f"The number of modules {len(modules)} is not equal to the "
                                 f"number of devices {len(devices)}")
    else:
        devices = [None] * len(modules)
    if not _cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    outputs = []
    for i, (module, input, kwargs, dev) in enumerate(zip(modules, inputs, kwargs_tup,
                                                         devices)):
        index = _device_for(dev, input)
        if not isinstance(input, (list, tuple)):  # one argument; a tensor is never unpacked
            input = (input,)
        try:
            with _cuda.device(index):
                outputs.append(module(*input, **kwargs))
        except Exception as e:
            _reraise(e, f"in replica {i} on device {index}")
    return outputs
