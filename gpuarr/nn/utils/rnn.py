"""``gpuarr.nn.utils.rnn``: packed sequences and the helpers that pad and pack them.

A :class:`PackedSequence` holds a batch of variable-length sequences without padding: ``data``
stacks the rows of time step 0 of every sequence, then step 1 of the sequences that are still
running, and so on; ``batch_sizes`` (a CPU int64 tensor) says how many sequences take part in
each step. The recurrent layers accept and return it, as torch's do.

All the helpers are differentiable: packing and padding are one gather (``index_select``) each.

Example:
    >>> from gpuarr.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    >>> x = gpuarr.randn(5, 3, 10)                      # (T, B, features), padded
    >>> packed = pack_padded_sequence(x, [5, 3, 2])
    >>> out, h = nn.GRU(10, 20)(packed)
    >>> padded, lengths = pad_packed_sequence(out)      # (5, 3, 20), tensor([5, 3, 2])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ... import _dtype as D
from ..._creation import full, tensor
from ..._device import cuda_device
from ..._tensor import Tensor
from ...ops._common import dtype_name
from ...ops.stacking import cat

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """A batch of variable-length sequences in packed layout (a named tuple, as in torch).

    Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.

    Attributes:
        data: ``(sum(lengths), *)`` rows, time step by time step.
        batch_sizes: CPU int64 tensor, the number of sequences in each time step.
        sorted_indices: how the sequences were reordered by decreasing length (or None).
        unsorted_indices: the inverse permutation (or None).

    Example:
        >>> p = pack_sequence([gpuarr.ones(3, 2), gpuarr.ones(1, 2)])
        >>> p.batch_sizes
        tensor([2, 1, 1])
    """

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                "created manually. They should be instantiated by functions like pack_sequence "
                "and pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence"
            )
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data`` moved/cast like ``Tensor.to``; the index tensors follow ``data``'s device
        (``batch_sizes`` stays on the CPU)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        si = None if self.sorted_indices is None else self.sorted_indices.to(data.device)
        ui = None if self.unsorted_indices is None else self.unsorted_indices.to(data.device)
        return type(self)(data, self.batch_sizes, si, ui)

    def cuda(self, device=None) -> PackedSequence:
        """Move to a CUDA device."""

        return self.to(cuda_device(device))

    def cpu(self) -> PackedSequence:
        """Move to the CPU."""
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=D.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=D.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=D.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=D.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=D.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=D.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=D.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=D.uint8)

    @property
    def is_cuda(self) -> bool:
        """Whether ``data`` lives on a CUDA device."""
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        """Always False (gpuarr has no pinned host memory)."""
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation (None for None).

    Example:
        >>> invert_permutation(gpuarr.tensor([2, 0, 1]))
        tensor([1, 2, 0])
    """
    if permutation is None:
        return None
    return permutation.argsort(stable=True)


def _host_lengths(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.device.type != "cpu":
            raise RuntimeError(
                f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D "
                f"{lengths.device} {dtype_name(lengths.dtype)} tensor")
        return lengths._data.astype(np.int64).reshape(-1)
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def _gather_rows(src: Tensor, idx: np.ndarray) -> Tensor:
    """Rows ``idx`` of ``src`` (differentiable; one ``index_select``)."""
    return src.index_select(0, tensor(idx, dtype=D.int64, device=src.device))


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch of variable-length sequences.

    Args:
        input: ``(T, B, *)``, or ``(B, T, *)`` with ``batch_first``.
        lengths: each sequence's length (a list or a 1-D CPU tensor).
        batch_first: the batch dim comes first.
        enforce_sorted: require ``lengths`` in decreasing order; if False, the sequences are
            sorted here and the permutation is kept in the result.

    Returns:
        A :class:`PackedSequence`.

    Example:
        >>> pack_padded_sequence(gpuarr.randn(4, 2, 3), [4, 2]).batch_sizes
        tensor([2, 2, 1, 1])
    """
    lens = _host_lengths(lengths)
    if input.ndim < 2:
        raise RuntimeError(
            f"pack_padded_sequence: expected input of at least 2 dimensions, got {input.ndim}")
    tdim, bdim = (1, 0) if batch_first else (0, 1)
    t_max, batch = input.shape[tdim], input.shape[bdim]
    if lens.size != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
            f"(batch_size={batch})")
    sorted_indices = None
    if enforce_sorted:
        if lens.size > 1 and (np.diff(lens) > 0).any():
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
        perm = np.arange(batch)
    else:
        perm = np.argsort(-lens, kind="stable")
        lens = lens[perm]
        sorted_indices = tensor(perm, dtype=D.int64, device=input.device)
    if lens.size and lens.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0")
    if lens.size and lens.max() > t_max:
        raise RuntimeError(
            f"Expected all lengths to be at most the padded sequence length {t_max}, but got a "
            f"length of {int(lens.max())}")
    steps = int(lens.max()) if lens.size else 0
    bs = (lens[None, :] > np.arange(steps)[:, None]).sum(1)
    t_of = np.repeat(np.arange(steps), bs)
    j_of = np.arange(int(bs.sum())) - np.repeat(np.cumsum(bs) - bs, bs)
    b_of = perm[j_of]
    idx = b_of * t_max + t_of if batch_first else t_of * batch + b_of
    rest = tuple(input.shape[2:])
    data = _gather_rows(input.reshape((t_max * batch,) + rest), idx)
    return PackedSequence(data, tensor(bs, dtype=D.int64), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: a padded batch and the lengths.

    Args:
        sequence: the packed batch.
        batch_first: return ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: the value of the padded positions.
        total_length: pad to this length (at least the longest sequence).

    Returns:
        ``(padded, lengths)``; ``lengths`` is a CPU int64 tensor in the original batch order.

    Example:
        >>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
    """
    data, batch_sizes = sequence.data, sequence.batch_sizes
    bs = batch_sizes._data.astype(np.int64).reshape(-1)
    steps = bs.size
    t_out = steps
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}")
        t_out = total_length
    batch = int(bs[0]) if steps else 0
    offs = np.cumsum(bs) - bs
    lens_sorted = (bs[None, :] > np.arange(batch)[:, None]).sum(1)
    ui = sequence.unsorted_indices
    pos = np.arange(batch) if ui is None else ui._host().astype(np.int64)
    n = data.shape[0]
    t = np.arange(t_out)[:, None]
    j = pos[None, :]
    valid = t < lens_sorted[j]
    idx = np.where(valid, offs[np.minimum(t, max(steps - 1, 0))] + j, n)  # (t_out, batch)
    if batch_first:
        idx = idx.T
    rest = tuple(data.shape[1:])

    pad = full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    padded = _gather_rows(cat([data, pad]), idx.reshape(-1)).reshape(idx.shape + rest)
    return padded, tensor(lens_sorted[pos], dtype=D.int64)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack variable-length sequences ``(L_i, *)`` into one padded tensor.

    Args:
        sequences: an iterable of tensors with equal trailing dims.
        batch_first: return ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: the value of the padded positions.
        padding_side: ``'right'`` (pad after each sequence) or ``'left'``.

    Returns:
        ``(T, B, *)`` (or ``(B, T, *)``) with ``T`` the longest length.

    Example:
        >>> pad_sequence([gpuarr.ones(3), gpuarr.ones(1)]).shape
        gpuarr.Size([3, 2])
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError(
            "pad_sequence: Expected iterable for input sequences, but got arg of type: "
            f"{type(sequences)}")
    seqs = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    rest = tuple(seqs[0].shape[1:])
    for s in seqs[1:]:
        if tuple(s.shape[1:]) != rest:
            raise RuntimeError(
                "pad_sequence: all sequences must have the same trailing dims, but got "
                f"{list(seqs[0].shape)} and {list(s.shape)}")
    lens = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    t_max = int(lens.max())
    starts = np.cumsum(lens) - lens
    total = int(lens.sum())
    t = np.arange(t_max)[:, None]
    if padding_side == "right":
        src = t
    else:
        src = t - (t_max - lens)[None, :]
    valid = (src >= 0) & (src < lens[None, :])
    idx = np.where(valid, starts[None, :] + src, total)  # (t_max, B)
    if batch_first:
        idx = idx.T

    flat = cat([s.reshape((-1,) + rest) for s in seqs])
    pad = full((1,) + rest, padding_value, dtype=flat.dtype, device=flat.device)
    return _gather_rows(cat([flat, pad]), idx.reshape(-1)).reshape(idx.shape + rest)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Split a padded batch back into a list of sequences (the inverse of :func:`pad_sequence`).

    Example:
        >>> [s.shape[0] for s in unpad_sequence(pad_sequence(seqs), [3, 1])]
        [3, 1]
    """
    lens = _host_lengths(lengths)
    if batch_first:
        return [padded_sequences[b, :int(n)] for b, n in enumerate(lens)]
    return [padded_sequences[:int(n), b] for b, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences ``(L_i, *)``.

    Args:
        sequences: tensors, in decreasing length unless ``enforce_sorted=False``.
        enforce_sorted: see :func:`pack_padded_sequence`.

    Example:
        >>> pack_sequence([gpuarr.tensor([1, 2, 3]), gpuarr.tensor([4, 5])]).data
        tensor([1, 4, 2, 5, 3])
    """
    seqs = list(sequences)
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences a :class:`PackedSequence` holds (the inverse of
    :func:`pack_sequence`)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
