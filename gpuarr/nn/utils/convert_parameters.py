"""Flattening parameters into one vector and back (torch.nn.utils.convert_parameters)."""

from __future__ import annotations

from ..._tensor import Tensor
from ...ops.stacking import cat
from .clip_grad import _as_list

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-d tensor (a copy).

    Example:
        >>> vec = nn.utils.parameters_to_vector(model.parameters())
    """
    params = _as_list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty list of Tensors")
    dev = params[0].device
    for p in params:
        if p.device != dev:
            raise TypeError("Found two parameters on different devices, this is currently not "
                            f"supported (parameters_to_vector: {dev} and {p.device})")
    return cat([p.view(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Make each of ``parameters`` a view of the next slice of the 1-d ``vec`` (as torch does,
    through ``param.data``: the parameters then share ``vec``'s memory).

    Example:
        >>> nn.utils.vector_to_parameters(vec, model.parameters())
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = _as_list(parameters)
    need = sum(p.numel() for p in params)
    if vec.dim() != 1 or vec.numel() < need:
        raise RuntimeError(f"vector_to_parameters: vec of shape {list(vec.shape)} is too short "
                           f"for the {need} elements of the parameters")
    pointer = 0
    for p in params:
        n = p.numel()
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n
