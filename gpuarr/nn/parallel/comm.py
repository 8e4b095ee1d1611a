"""``gpuarr.nn.parallel.comm``: copying tensors between the CUDA devices of one process.

torch's ``torch.nn.parallel.comm``: :func:`broadcast` (one tensor to many devices),
:func:`broadcast_coalesced`, :func:`reduce_add` (sum tensors of many devices onto one),
:func:`reduce_add_coalesced`, :func:`scatter` (split a tensor across devices) and
:func:`gather` (concatenate tensors of many devices on one). They are what
:class:`~gpuarr.nn.parallel.DataParallel` moves inputs, parameters and outputs with.

As in torch, :func:`broadcast`, :func:`scatter`, :func:`gather` and :func:`reduce_add` are
made of ordinary differentiable ops (chunks, device copies, concatenation, addition), so a
graph is recorded through them when grad mode is on; :func:`broadcast_coalesced` and
:func:`reduce_add_coalesced` return plain copies (torch gives those copies their own version
counters and no history). A tensor that is already on a requested device is returned as it
is, as torch does. Every copy runs on its destination device.

Example:
    >>> from gpuarr.nn.parallel import comm
    >>> a, b = comm.broadcast(gpuarr.ones(3, device="cuda:0"), [0, 1])
    >>> comm.gather([a, b], dim=0, destination=0).shape
    gpuarr.Size([6])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from ... import cuda as _cuda
from ..._core.tensor import _wrap_dim
from ..._device import device as _device
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.stacking import cat

__all__ = ["broadcast", "broadcast_coalesced", "reduce_add", "reduce_add_coalesced", "scatter",
           "gather"]

_BUFFER_SIZE = 10485760  # torch's default coalescing buffer (10 MiB)


def _device_index(dev, optional: bool = False, allow_cpu: bool = False) -> int:
    """A device argument as an index, as torch's ``_get_device_index`` reads it.

    ``dev`` may be an int, ``'cuda:N'`` or a :class:`gpuarr.device`; a CPU device is -1 when
    ``allow_cpu``; ``None`` or ``'cuda'`` (no index) is the current CUDA device when
    ``optional``.

    Raises:
        ValueError: for a CPU device without ``allow_cpu``, or a missing index without
            ``optional`` (torch's texts).
    """
    if isinstance(dev, str):
        dev = _device(dev)
    idx = None
    if isinstance(dev, _device):
        if not allow_cpu and dev.type == "cpu":
            raise ValueError(f"Expected a non cpu device, but got: {dev}")
        idx = -1 if dev.type == "cpu" else dev.index
    if isinstance(dev, int):
        idx = int(dev)
    if idx is None:
        if not optional:
            raise ValueError("Expected a torch.device with a specified index or an integer, "
                             f"but got:{dev}")
        idx = _cuda.current_device()
    return idx


def _index_of(t: Tensor) -> int:
    """``t.get_device()``: its CUDA index, -1 on the CPU."""
    d = t._device
    return -1 if d.type == "cpu" else d.index


def _cuda_device(index: int) -> _device:
    if index < 0:
        raise RuntimeError(f"Expected non-negative device index, but got {index}")
    return _device("cuda", index)


def _shape(t: Tensor) -> list:
    return list(t.shape)


def broadcast(tensor: Tensor, devices: Sequence | None = None, *,
              out: Sequence[Tensor] | None = None) -> list[Tensor]:
    """Copy ``tensor`` to each of ``devices`` (or into each tensor of ``out``).

    Args:
        tensor: the source, on the CPU or a CUDA device.
        devices: CUDA devices (ints, ``'cuda:N'`` or devices).
        out: CUDA tensors of ``tensor``'s shape to copy into, instead of ``devices``.

    Returns:
        One tensor per device (``tensor`` itself where it already lives there), or ``out``.

    Raises:
        RuntimeError: unless exactly one of ``devices`` and ``out`` is given, or for an
            ``out`` tensor not on CUDA or of another shape.

    Example:
        >>> copies = comm.broadcast(x, [0, 1])   # x on cuda:0 and a copy on cuda:1
    """
    if not ((devices is None) ^ (out is None)):
        raise RuntimeError("Exactly one of 'devices' and 'out' must be specified, but got "
                           f"devices={devices} and out={out}")
    if devices is not None:
        src = _index_of(tensor)
        idx = [_device_index(d) for d in devices]
        return [tensor if i == src else tensor.to(_cuda_device(i)) for i in idx]
    for i, o in enumerate(out):
        if o._device.type != "cuda":
            raise RuntimeError("Expected all output tensors to be CUDA tensors, but output "
                               f"tensor at index {i} has device '{o._device}'")
        if o.shape != tensor.shape:
            raise RuntimeError("Expected all output tensors to have same shape as the source "
                               f"tensor {_shape(tensor)}, but output tensor at index {i} has "
                               f"shape {_shape(o)}")
    with no_grad():  # in-place copies into the caller's tensors: no history
        for o in out:
            o.copy_(tensor)
    return list(out)


def broadcast_coalesced(tensors: Sequence[Tensor], devices: Sequence,
                        buffer_size: int = _BUFFER_SIZE) -> list[list[Tensor]]:
    """Copy every tensor of ``tensors`` (all on ``devices[0]``) to every device.

    Args:
        tensors: tensors on ``devices[0]``.
        devices: CUDA devices; the first is where ``tensors`` live.
        buffer_size: accepted for torch compatibility (torch packs small tensors into buffers
            of this many bytes; gpuarr copies tensor by tensor).

    Returns:
        One list per device: ``tensors`` themselves for ``devices[0]``, then copies that
        record no history and have their own version counters.

    Raises:
        RuntimeError: if a tensor is not on ``devices[0]``.

    Example:
        >>> (w0, b0), (w1, b1) = comm.broadcast_coalesced([w, b], [0, 1])
    """
    idx = [_device_index(d) for d in devices]
    if any(_index_of(t) != idx[0] for t in tensors):
        raise RuntimeError(f"All tensors must be on devices[0]: {idx[0]}")
    outputs = [list(tensors)]
    with no_grad():
        for i in idx[1:]:
            dev = _cuda_device(i)
            outputs.append([t.to(dev) if t._device != dev else t.detach().clone()
                            for t in tensors])
    return outputs


def reduce_add(inputs: Sequence[Tensor], destination=None) -> Tensor:
    """Sum same-shaped tensors of several CUDA devices onto ``destination``.

    Args:
        inputs: CUDA tensors of one shape; one of them must be on ``destination``.
        destination: the device of the result (default: the current CUDA device).

    Returns:
        The elementwise sum on ``destination`` (``inputs[0]`` itself for a single input).

    Raises:
        AssertionError: for a CPU input. ValueError: for inputs of different shapes.
        RuntimeError: if no input is on ``destination``.

    Example:
        >>> total = comm.reduce_add([g0, g1], destination=0)
    """
    destination = _device_index(destination, optional=True)
    size = inputs[0].shape
    root = None
    for i, t in enumerate(inputs):
        if t._device.type == "cpu":
            raise AssertionError(
                f"reduce_add expects all inputs to be on GPUs, but input {i} is on CPU")
        if _index_of(t) == destination:
            root = i
        if t.shape != size:
            got = "x".join(str(s) for s in t.shape)
            expected = "x".join(str(s) for s in size)
            raise ValueError(f"input {i} has invalid size: got {got}, but expected {expected}")
    if root is None:
        raise RuntimeError(
            "reduce_add expects destination to be on the same GPU with one of the tensors")
    if len(inputs) == 1:
        return inputs[0]
    dev = inputs[root]._device
    result = inputs[root]
    for i, t in enumerate(inputs):
        if i != root:
            result = result + t.to(dev)  # a new tensor; summed on the destination device
    return result


def reduce_add_coalesced(inputs: Sequence[Sequence[Tensor]], destination=None,
                         buffer_size: int = _BUFFER_SIZE) -> tuple[Tensor, ...]:
    """:func:`reduce_add` for lists of tensors: ``inputs[d]`` holds device ``d``'s tensors.

    Args:
        inputs: one sequence of tensors per device, matching in length and shapes.
        destination: the device of the results (default: the current CUDA device).
        buffer_size: accepted for torch compatibility (see :func:`broadcast_coalesced`).

    Returns:
        A tuple with the sum of each position, on ``destination``, recording no history.

    Example:
        >>> gw, gb = comm.reduce_add_coalesced([[gw0, gb0], [gw1, gb1]], destination=0)
    """
    with no_grad():
        sums = [reduce_add(list(ts), destination) for ts in zip(*inputs, strict=True)]
    # fresh tensors with their own version counters, as torch's coalesced results are
    return tuple(s.detach().clone() if any(s is t for t in ts) else s
                 for s, ts in zip(sums, zip(*inputs, strict=True)))


def scatter(tensor: Tensor, devices: Sequence | None = None,
            chunk_sizes: Sequence[int] | None = None, dim: int = 0, streams=None, *,
            out: Sequence[Tensor] | None = None) -> tuple[Tensor, ...]:
    """Split ``tensor`` along ``dim`` and put one piece on each device.

    Args:
        tensor: the source, on the CPU or a CUDA device.
        devices: CUDA devices, one per piece.
        chunk_sizes: the pieces' sizes along ``dim`` (default: ``tensor.chunk(len(devices))``,
            which gives fewer pieces than devices when ``tensor`` is short).
        dim: the dimension to split.
        streams: optional ``gpuarr.cuda.Stream`` per device to copy on.
        out: CUDA tensors to copy the pieces into, instead of ``devices``; their sizes along
            ``dim`` give the split.

    Returns:
        A tuple of the pieces (views of ``tensor`` where the device is its own), or ``out``.

    Raises:
        RuntimeError: for no devices, mismatched ``chunk_sizes`` or ``out`` (torch's texts).

    Example:
        >>> a, b = comm.scatter(gpuarr.arange(6.0), [0, 1])   # [0, 1, 2] and [3, 4, 5]
    """
    if out is not None:
        return _scatter_out(tensor, devices, chunk_sizes, dim, out)
    idx = [_device_index(d) for d in devices]
    if not idx:
        raise RuntimeError("Expected at least one device to scatter to")
    if chunk_sizes is not None and len(chunk_sizes) != len(idx):
        raise RuntimeError("Expected devices and chunk_sizes to be of same length, but got "
                           f"len(devices) = {len(idx)} and len(chunk_sizes) = {len(chunk_sizes)}")
    dim = _wrap_dim(dim, tensor.ndim)
    chunks = tensor.split(list(chunk_sizes), dim) if chunk_sizes is not None \
        else tensor.chunk(len(idx), dim)
    src = _index_of(tensor)
    result = []
    for i, c in enumerate(chunks):
        if idx[i] != src:
            dev = _cuda_device(idx[i])
            with _cuda.stream(_stream_for(streams, i, idx[i])):
                c = c.to(dev)
        result.append(c)
    return tuple(result)


def _stream_for(streams, i: int, index: int):
    """The stream to copy piece ``i`` on (None: the current one), checked against its device."""
    s = streams[i] if streams is not None and i < len(streams) else None
    if s is not None and s.device_index != index:
        raise RuntimeError(f"Expected the device associated with the stream at index {i} (was "
                           f"{s.device_index}) to match the device supplied at that index "
                           f"(expected {index})")
    return s


def _scatter_out(tensor: Tensor, devices, chunk_sizes, dim: int, out) -> tuple[Tensor, ...]:
    """:func:`scatter` into the given ``out`` tensors."""
    if devices is not None:
        raise RuntimeError("'devices' must not be specified when 'out' is specified, but got "
                           f"devices={devices}")
    if chunk_sizes is not None:
        raise RuntimeError("'chunk_sizes' must not be specified when 'out' is specified, but got "
                           f"chunk_sizes={chunk_sizes}")
    if len(out) == 0:
        raise RuntimeError("Expected at least one output tensor to scatter to")
    dim = _wrap_dim(dim, tensor.ndim)
    sizes = []
    for i, o in enumerate(out):
        if o._device.type != "cuda":
            raise RuntimeError("Expected all output tensors to be CUDA tensors, but output "
                               f"tensor at index {i} has device '{o._device}'")
        same = o.ndim == tensor.ndim
        if same:
            sizes.append(o.shape[dim])
            same = all(a == b for k, (a, b) in enumerate(zip(o.shape, tensor.shape)) if k != dim)
        if not same:
            raise RuntimeError(f"Output tensor at index {i} has incorrect shape: {_shape(o)}. "
                               f"Expected same shape except for scatter dim {dim} as the source "
                               f"tensor: {_shape(tensor)}")
    if sum(sizes) != tensor.shape[dim]:
        raise RuntimeError(f"Total size for output tensors along scatter dim {dim} does not "
                           f"match the source tensor size at dim {dim}. Expected "
                           f"{tensor.shape[dim]}, but got total size {sum(sizes)}")
    with no_grad():  # in-place copies into the caller's tensors: no history
        for o, c in zip(out, tensor.split(sizes, dim)):
            o.copy_(c)
    return tuple(out)


def gather(tensors: Sequence[Tensor], dim: int = 0, destination=None, *,
           out: Tensor | None = None) -> Tensor:
    """Concatenate CUDA tensors of several devices along ``dim`` on one device.

    Args:
        tensors: CUDA tensors whose shapes match except along ``dim``.
        dim: the dimension to concatenate.
        destination: the result's device: a CUDA device, ``'cpu'`` (or the deprecated -1),
            default the current CUDA device.
        out: a tensor (CPU or CUDA) of the result's shape to write into instead.

    Returns:
        The concatenation, with the first tensor's dtype (or ``out``).

    Raises:
        RuntimeError: for no tensors, a CPU input, or mismatched shapes (torch's texts).

    Example:
        >>> whole = comm.gather([a, b], dim=0, destination="cpu")
    """
    if out is not None and destination is not None:
        raise RuntimeError("'destination' must not be specified when 'out' is specified, but "
                           f"got destination={destination}")
    if out is None and destination == -1:
        warnings.warn('Using -1 to represent CPU tensor is deprecated. Please use a device '
                      'object or string instead, e.g., "cpu".', FutureWarning, stacklevel=2)
    quote = "'" if out is not None else ""
    if len(tensors) == 0:
        raise RuntimeError("Expected at least one tensor to gather from")
    first = tensors[0]
    dim = _wrap_dim(dim, first.ndim)
    expected = list(first.shape)
    total = 0
    for i, t in enumerate(tensors):
        if t._device.type != "cuda":
            raise RuntimeError("Expected all input tensors to be CUDA tensors, but tensor at "
                               f"index {i} has device {quote}{t._device}{quote}")
        if t.ndim != len(expected):
            raise RuntimeError("Expected all input tensors to have the same number of "
                               f"dimensions, but tensor at index {i} has {t.ndim} dimensions, "
                               f"(expected {len(expected)})")
        expected[dim] = t.shape[dim]
        if list(t.shape) != expected:
            raise RuntimeError(f"Input tensor at index {i} has invalid shape {_shape(t)}, but "
                               f"expected {expected}")
        total += t.shape[dim]
    expected[dim] = total
    if out is not None:
        return _gather_out(tensors, out, dim, expected)
    idx = _device_index(destination, optional=True, allow_cpu=True)
    dev = _device("cpu") if idx == -1 else _cuda_device(idx)
    # each piece is copied (and cast to the first's dtype, as torch's copy_ does) to the
    # destination, where they are concatenated
    return cat([t.to(dev, first.dtype) for t in tensors], dim)


def _gather_out(tensors, out: Tensor, dim: int, expected: list) -> Tensor:
    """:func:`gather` into ``out``."""
    if list(out.shape) != expected:
        raise RuntimeError(f"Expected out tensor to have shape {expected}, but got "
                           f"{_shape(out)}")
    start = 0
    with no_grad():  # in-place copies into the caller's tensor: no history
        for t in tensors:
            n = t.shape[dim]
            out.narrow(dim, start, n).copy_(t)
            start += n
    return out
