"""``scatter``, ``scatter_kwargs`` and ``gather``: split nested inputs across CUDA devices and
collect nested outputs on one (torch's ``torch.nn.parallel.scatter_gather``).

Tensors are split along ``dim`` (:func:`gpuarr.nn.parallel.comm.scatter`) or concatenated
(:func:`gpuarr.nn.parallel.comm.gather`); tuples, lists, dicts and namedtuples are walked; any
other object is passed to every device as it is. Both directions are differentiable: the
gradient of a scattered tensor is the gathered gradients of its pieces, and the other way
round, across devices, as torch's ``Scatter`` and ``Gather`` autograd functions give them.

Example:
    >>> from gpuarr.nn.parallel import scatter, gather
    >>> pieces = scatter(gpuarr.randn(8, 3), [0, 1])   # (4, 3) on cuda:0 and on cuda:1
    >>> gather(list(pieces), 0).shape
    gpuarr.Size([8, 3])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ..._tensor import Tensor
from . import comm
from .comm import _device_index

__all__ = ["scatter", "scatter_kwargs", "gather"]


def _is_namedtuple(obj: Any) -> bool:
    """Whether ``obj`` is an instance of a ``collections.namedtuple`` / ``typing.NamedTuple``."""
    return isinstance(obj, tuple) and hasattr(obj, "_asdict") and hasattr(obj, "_fields")


def _scatter_tensor(target_gpus: Sequence, chunk_sizes, dim: int, input: Tensor) -> tuple:
    """torch's ``Scatter.apply``: ``input``'s pieces on ``target_gpus``, differentiable."""
    devices = [_device_index(d, True) for d in target_gpus]
    return comm.scatter(input, devices, chunk_sizes, dim)


def _gather_tensors(target_device, dim: int, *inputs: Tensor) -> Tensor:
    """torch's ``Gather.apply``: ``inputs`` (CUDA tensors) concatenated along ``dim`` on
    ``target_device``, differentiable; 0-d inputs are gathered as a vector, with torch's
    warning."""
    if any(t._device.type == "cpu" for t in inputs):
        raise AssertionError("Gather function not implemented for CPU tensors")
    if not (target_device == "cpu" or target_device == -1):
        target_device = _device_index(target_device, True)
    if inputs and dim == 0 and all(t.ndim == 0 for t in inputs):
        inputs = tuple(t.view(1) for t in inputs)
        warnings.warn("Was asked to gather along dimension 0, but all input tensors were "
                      "scalars; will instead unsqueeze and return a vector.", stacklevel=3)
    return comm.gather(inputs, dim, target_device)


def scatter(inputs: Any, target_gpus: Sequence, dim: int = 0) -> Any:
    """Split the tensors in ``inputs`` into one piece per device of ``target_gpus``.

    Args:
        inputs: a tensor, or tuples, lists, dicts and namedtuples of tensors and other objects.
        target_gpus: CUDA devices (ints, ``'cuda:N'`` or devices).
        dim: the dimension tensors are split along (``Tensor.chunk``: a short tensor gives
            fewer pieces than devices, and then fewer results).

    Returns:
        For a tensor, a tuple of its pieces; otherwise a list with one structure like
        ``inputs`` per piece (tuples become tuples, lists lists, dicts dicts). Objects that
        are not tensors are shared by every piece, not copied.

    Example:
        >>> scatter((x, {"mask": m}, 3), [0, 1])
        [(x0, {'mask': m0}, 3), (x1, {'mask': m1}, 3)]
    """

    def scatter_map(obj):
        if isinstance(obj, Tensor):
            return _scatter_tensor(target_gpus, None, dim, obj)
        if _is_namedtuple(obj):
            return [type(obj)(*args) for args in zip(*map(scatter_map, obj))]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(i) for i in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in target_gpus]

    return scatter_map(inputs)


def scatter_kwargs(inputs: tuple, kwargs: dict | None, target_gpus: Sequence,
                   dim: int = 0) -> tuple[tuple, tuple]:
    """:func:`scatter` of positional and keyword arguments together.

    Args:
        inputs: the positional arguments (a tuple).
        kwargs: the keyword arguments (a dict, or None).
        target_gpus: CUDA devices.
        dim: the dimension tensors are split along.

    Returns:
        ``(args_per_device, kwargs_per_device)``: two tuples of equal length, padded with
        ``()`` and ``{}`` where one side gave fewer pieces.

    Example:
        >>> args, kws = scatter_kwargs((x,), {"scale": 2.0}, [0, 1])
        >>> kws
        ({'scale': 2.0}, {'scale': 2.0})
    """
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs.extend(() for _ in range(len(scattered_kwargs) - len(scattered_inputs)))
    elif len(scattered_kwargs) < len(inputs):
        scattered_kwargs.extend({} for _ in range(len(scattered_inputs) - len(scattered_kwargs)))
    return tuple(scattered_inputs), tuple(scattered_kwargs)


def gather(outputs: Any, target_device, dim: int = 0) -> Any:
    """Collect per-device outputs on ``target_device``: the inverse of :func:`scatter`.

    Args:
        outputs: one object per device, all of one structure: tensors, ``None``, dicts (with
            the same number of keys), namedtuples, tuples or lists of them.
        target_device: a CUDA device, or ``'cpu'``.
        dim: the dimension tensors are concatenated along. 0-d tensors gathered along
            dim 0 are made a vector (one element per device) with a warning, as in torch.

    Returns:
        One object of that structure whose tensors are the concatenations.

    Raises:
        AssertionError: if a tensor to gather is on the CPU. ValueError: for dicts of
            different sizes.

    Example:
        >>> gather([{"y": y0}, {"y": y1}], 0)["y"].shape   # y0, y1 of shape (4, 2)
        gpuarr.Size([8, 2])
    """

    def gather_map(outputs):
        out = outputs[0]
        if isinstance(out, Tensor):
            return _gather_tensors(target_device, dim, *outputs)
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outputs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outputs])) for k in out)
        if _is_namedtuple(out):
            return type(out)._make(map(gather_map, zip(*outputs, strict=True)))
        return type(out)(map(gather_map, zip(*outputs, strict=True)))

    return gather_map(outputs)
