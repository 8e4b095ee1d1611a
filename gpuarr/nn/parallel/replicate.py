"""``replicate``: copies of a module on several CUDA devices whose parameters stay connected to
the original's (torch's ``torch.nn.parallel.replicate``).

Every replica shares the original's structure and attributes, with its own parameter and
buffer tensors on its device:

- a replica's parameters are not Parameters but differentiable copies of the original's
  (a view on ``devices[0]``, a device copy elsewhere), plain attributes of the replica; a
  backward pass through a replica therefore adds its gradients into the original
  parameters' ``.grad``, and ``replica.parameters()`` is empty, so no optimizer sees them;
- buffers are copied without history; the replica on ``devices[0]`` holds the original's
  buffer tensors themselves, so in-place updates made there (BatchNorm's running statistics)
  reach the original module, while those made on other replicas are lost, as in torch.

Example:
    >>> from gpuarr.nn.parallel import replicate
    >>> r0, r1 = replicate(model, [0, 1])   # model on cuda:0
    >>> r1(x.to("cuda:1")).sum().backward()  # model's parameters get the gradients
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TypeVar

from ..._device import device as _device
from ..._tensor import Tensor
from ..module import Module
from . import comm
from .comm import _device_index

__all__ = ["replicate"]

T = TypeVar("T", bound=Module)


def _broadcast_params(tensors: list[Tensor], devices: list[int],
                      detach: bool) -> list[list[Tensor]]:
    """One list of copies of ``tensors`` per device (torch's ``_broadcast_coalesced_reshape``).

    With ``detach``, plain copies (the tensors themselves on ``devices[0]``). Otherwise each
    copy is an op on the graph (torch's ``Broadcast`` function): on ``devices[0]`` a view of
    the tensor (same memory, not a leaf), elsewhere a device copy, so gradients flow back into
    the tensor; a tensor that does not require grad gives copies that do not either.
    """
    if not tensors:
        return []
    if detach:
        return comm.broadcast_coalesced(tensors, devices)
    if any(t._device.type == "cpu" for t in tensors):
        raise AssertionError("Broadcast function not implemented for CPU tensors")
    if any(comm._index_of(t) != devices[0] for t in tensors):
        raise RuntimeError(f"All tensors must be on devices[0]: {devices[0]}")
    out = []
    for i in devices:
        dev = _device("cuda", i)
        out.append([t.view_as(t) if t._device == dev else t.to(dev) for t in tensors])
    return out


def _replica_of(module: Module) -> Module:
    """A shallow copy of ``module`` without parameters of its own (torch's
    ``Module._replicate_for_data_parallel``): same class and attributes, its own
    ``_buffers`` and ``_modules`` dicts (filled by :func:`replicate`)."""
    replica = module.__new__(type(module))
    sa = object.__setattr__
    sa(replica, "__dict__", module.__dict__.copy())
    sa(replica, "_parameters", {})
    sa(replica, "_buffers", dict(module._buffers))
    sa(replica, "_modules", dict(module._modules))
    sa(replica, "_is_replica", True)
    # torch keeps the replica's parameter copies here for DistributedDataParallel
    sa(replica, "_former_parameters", OrderedDict())
    return replica


def replicate(network: T, devices: Sequence, detach: bool = False) -> list[T]:
    """Copies of ``network`` (on ``devices[0]``) on each of ``devices``.

    Args:
        network: the module; its parameters and buffers must be on ``devices[0]``.
        devices: CUDA devices (ints, ``'cuda:N'`` or devices), ``devices[0]`` first.
        detach: copy parameters without history (no gradients reach ``network``; on
            ``devices[0]`` the replica then holds ``network``'s own parameter tensors, as in
            torch); what :class:`DataParallel` asks for when grad mode is off.

    Returns:
        One replica per device (an empty list for no devices). See the module docstring for
        how replicas share parameters and buffers with ``network``.

    Raises:
        RuntimeError: if a parameter or buffer is not on ``devices[0]``.
        AssertionError: for parameters on the CPU (torch's ``Broadcast`` text).

    Example:
        >>> r0, r1 = replicate(model, [0, 1])      # model on cuda:0
        >>> r1.fc.weight.device, list(r1.parameters())
        (device(type='cuda', index=1), [])
    """
    if not devices:
        return []
    devices = [_device_index(d, True) for d in devices]
    n = len(devices)

    params = list(network.parameters())
    param_indices = {id(p): i for i, p in enumerate(params)}
    param_copies = _broadcast_params(params, devices, detach)

    buffers = list(network.buffers())
    buffers_rg = [b for b in buffers if b.requires_grad and not detach]
    buffers_not_rg = [b for b in buffers if not (b.requires_grad and not detach)]
    rg_indices = {id(b): i for i, b in enumerate(buffers_rg)}
    not_rg_indices = {id(b): i for i, b in enumerate(buffers_not_rg)}
    rg_copies = _broadcast_params(buffers_rg, devices, detach)
    not_rg_copies = _broadcast_params(buffers_not_rg, devices, True)

    modules = list(network.modules())
    module_indices = {id(m): i for i, m in enumerate(modules)}
    copies = [[_replica_of(m) for m in modules] for _ in range(n)]

    for i, module in enumerate(modules):
        for key, child in module._modules.items():
            for j in range(n):
                copies[j][i]._modules[key] = \
                    None if child is None else copies[j][module_indices[id(child)]]
        for key, param in module._parameters.items():
            for j in range(n):
                replica = copies[j][i]
                if param is None:
                    replica._parameters[key] = None
                    continue
                # not leaves, so plain attributes, not Parameters
                p = param_copies[j][param_indices[id(param)]]
                object.__setattr__(replica, key, p)
                replica._former_parameters[key] = p
        for key, buf in module._buffers.items():
            for j in range(n):
                replica = copies[j][i]
                if buf is None:
                    replica._buffers[key] = None
                elif id(buf) in rg_indices:
                    replica._buffers[key] = rg_copies[j][rg_indices[id(buf)]]
                else:
                    replica._buffers[key] = not_rg_copies[j][not_rg_indices[id(buf)]]
    return [copies[j][0] for j in range(n)]
