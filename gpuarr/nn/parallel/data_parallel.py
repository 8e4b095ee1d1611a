"""``DataParallel`` and ``data_parallel``: one process, several CUDA devices, the batch split
between them (torch's ``torch.nn.DataParallel``).

Each forward scatters the inputs along ``dim`` over ``device_ids``, replicates the module on
as many devices as there are pieces, runs the replicas (see
:mod:`gpuarr.nn.parallel.parallel_apply`) and gathers their outputs on ``output_device``.
Backward adds every replica's gradients into the wrapped module's parameters, so training
looks like training the module on the whole batch. Without CUDA the wrapper just calls the
module; with one device it moves the module there and calls it on the moved inputs.

Example:
    >>> from gpuarr.nn.parallel import DataParallel
    >>> model = DataParallel(net.to("cuda:0"), device_ids=[0, 1])
    >>> model(x).sum().backward()      # x's batch is split over cuda:0 and cuda:1
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import chain
from typing import Any, Generic, TypeVar

from ... import cuda as _cuda
from ..._device import device as _device
from ...autograd.grad_mode import is_grad_enabled
from ..module import Module
from .comm import _device_index
from .parallel_apply import parallel_apply
from .replicate import replicate
from .scatter_gather import gather, scatter_kwargs

__all__ = ["DataParallel", "data_parallel"]

T = TypeVar("T", bound=Module)

_IMBALANCE = """
    There is an imbalance between your GPUs. You may want to exclude GPU {} which
    has less than 75% of the memory or cores of GPU {}. You can do so by setting
    the device_ids argument to DataParallel, or by setting the CUDA_VISIBLE_DEVICES
    environment variable."""


def _available_device_type() -> str | None:
    """'cuda' when CUDA devices can be used, else None (torch's ``_get_available_device_type``)."""
    return "cuda" if _cuda.is_available() and _cuda.device_count() > 0 else None


def _check_balance(device_ids: list[int]) -> None:
    """Warn, as torch does, when a device has under 75% of another's memory or cores."""
    props = [_cuda.get_device_properties(i) for i in device_ids]
    for get in (lambda p: p.total_memory, lambda p: p.multi_processor_count):
        values = [get(p) for p in props]
        lo = min(range(len(values)), key=values.__getitem__)
        hi = max(range(len(values)), key=values.__getitem__)
        if values[lo] / values[hi] < 0.75:
            warnings.warn(_IMBALANCE.format(device_ids[lo], device_ids[hi]), stacklevel=3)
            return


def _check_on_source(module: Module, src: _device) -> None:
    """torch's check that every parameter and buffer is on ``device_ids[0]``."""
    for t in chain(module.parameters(), module.buffers()):
        if t.device != src:
            raise RuntimeError(f"module must have its parameters and buffers on device {src} "
                               f"(device_ids[0]) but found one of them on device: {t.device}")


class DataParallel(Module, Generic[T]):
    """Run ``module`` on several CUDA devices at once, splitting each batch between them.

    The inputs' tensors are split along ``dim`` (one piece per device; other objects are
    given to every replica), the module is replicated on each device that got a piece,
    the replicas run, and their outputs are concatenated along ``dim`` on ``output_device``.
    Gradients from all replicas add up in ``module``'s parameters.

    As in torch: ``module`` must have its parameters and buffers on ``device_ids[0]``;
    replicas are rebuilt on every forward, so attribute changes made in ``forward`` are
    lost, except in-place updates of buffers on ``device_ids[0]``, whose replica shares the
    module's buffers (BatchNorm's running statistics are updated from that device's piece of
    the batch only); a module returning a 0-d tensor gives a vector with one value per
    device. With one device the module is moved there and called directly on the moved
    inputs; without CUDA it is simply called.

    Args:
        module: the module to parallelise.
        device_ids: CUDA devices (ints, ``'cuda:N'`` or devices); default all of them.
        output_device: where outputs are gathered (default ``device_ids[0]``).
        dim: the dimension inputs are split and outputs concatenated along.

    Attributes:
        module: the wrapped module (its ``state_dict`` keys appear under ``module.``).
        device_ids: the devices' indices (empty without CUDA).

    Example:
        >>> net = DataParallel(model.to("cuda:0"), device_ids=[0, 1])
        >>> out = net(x)   # x may be on any device, including the CPU
    """

    def __init__(self, module: T, device_ids: Sequence | None = None, output_device=None,
                 dim: int = 0) -> None:
        super().__init__()
        device_type = _available_device_type()
        if device_type is None:
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(_cuda.device_count()))
        if output_device is None:
            output_device = device_ids[0]
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(x, True) for x in device_ids]
        self.output_device = _device_index(output_device, True)
        self.src_device_obj = _device(device_type, self.device_ids[0])
        _check_balance(self.device_ids)
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """Scatter ``inputs``/``kwargs``, run the replicas, gather their outputs."""
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        _check_on_source(self.module, self.src_device_obj)
        inputs, module_kwargs = self.scatter(inputs, kwargs, self.device_ids)
        # a forward without inputs still runs once, on device_ids[0]
        if not inputs and not module_kwargs:
            inputs = ((),)
            module_kwargs = ({},)
        if len(self.device_ids) == 1:
            return self.module(*inputs[0], **module_kwargs[0])
        replicas = self.replicate(self.module, self.device_ids[:len(inputs)])
        outputs = self.parallel_apply(replicas, inputs, module_kwargs)
        return self.gather(outputs, self.output_device)

    def replicate(self, module: T, device_ids: Sequence) -> list[T]:
        """The replicas (parameters without history when grad mode is off)."""
        return replicate(module, device_ids, not is_grad_enabled())

    def scatter(self, inputs: tuple, kwargs: dict | None, device_ids: Sequence) -> Any:
        """Split the arguments over ``device_ids`` along ``dim``."""
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def parallel_apply(self, replicas: Sequence[T], inputs: Sequence, kwargs: Any) -> list:
        """Run each replica on its piece of the arguments."""
        return parallel_apply(replicas, inputs, kwargs, self.device_ids[:len(replicas)])

    def gather(self, outputs: Any, output_device) -> Any:
        """Concatenate the replicas' outputs on ``output_device`` along ``dim``."""
        return gather(outputs, output_device, dim=self.dim)


def data_parallel(module: Module, inputs: Any, device_ids: Sequence | None = None,
                  output_device=None, dim: int = 0, module_kwargs: Any | None = None) -> Any:
    """The functional form of :class:`DataParallel`: ``module(inputs)`` over ``device_ids``.

    Args:
        module: the module, with its parameters and buffers on ``device_ids[0]``.
        inputs: the positional argument(s): a tuple of them, or one object.
        device_ids: CUDA devices (default: all).
        output_device: where the output is gathered (default ``device_ids[0]``; -1 for the
            CPU, with torch's deprecation warning).
        dim: the dimension inputs are split and outputs concatenated along.
        module_kwargs: keyword arguments for ``module``.

    Returns:
        The gathered output.

    Raises:
        RuntimeError: without CUDA ("device type could not be determined"), or when the
            module is not on ``device_ids[0]``.

    Example:
        >>> y = data_parallel(model, x, device_ids=[0, 1])
    """
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    device_type = _available_device_type()
    if device_type is None:
        raise RuntimeError("device type could not be determined")
    if device_ids is None:
        device_ids = list(range(_cuda.device_count()))
    if output_device is None:
        output_device = device_ids[0]
    device_ids = [_device_index(x, True) for x in device_ids]
    output_device = _device_index(output_device, True)  # -1: the CPU (deprecated, as in torch)
    src = _device(device_type, device_ids[0])
    _check_on_source(module, src)
    inputs, module_kwargs = scatter_kwargs(inputs, module_kwargs, device_ids, dim)
    if not inputs and not module_kwargs:
        inputs = ((),)
        module_kwargs = ({},)
    if len(device_ids) == 1:
        return module(*inputs[0], **module_kwargs[0])
    used = device_ids[:len(inputs)]
    replicas = replicate(module, used)
    outputs = parallel_apply(replicas, inputs, module_kwargs, used)
    return gather(outputs, output_device, dim)
