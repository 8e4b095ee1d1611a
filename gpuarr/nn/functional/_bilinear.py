"""``bilinear``."""

from __future__ import annotations

from ..._tensor import Tensor
from ._utils import check_tensor, dtype_name

__all__ = ["bilinear"]

# torch's names for scalar types in its dtype-mismatch message
_TORCH_NAMES = {"Float": "float", "Double": "double", "Half": "c10::Half",
                "BFloat16": "c10::BFloat16"}


def _scalar_name(t: Tensor) -> str:
    n = dtype_name(t.dtype)
    return _TORCH_NAMES.get(n, n.lower())


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``.

    Args:
        input1: ``(*, in1_features)``.
        input2: ``(*, in2_features)``, with the same leading dims as ``input1``.
        weight: ``(out_features, in1_features, in2_features)``.
        bias: ``(out_features,)`` or None.

    Returns:
        ``(*, out_features)``.

    Example:
        >>> F.bilinear(gpuarr.ones(2, 3), gpuarr.ones(2, 4), gpuarr.ones(5, 3, 4)).shape
        gpuarr.Size([2, 5])
    """
    check_tensor(input1, "input1", "bilinear")
    check_tensor(input2, "input2", "bilinear")
    check_tensor(weight, "weight", "bilinear")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    for i in range(input1.ndim - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: "
                               f"got {input1.shape[i]} and {input2.shape[i]}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D, but got {weight.ndim}-D")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError("bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError("bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {weight.shape[2]}")
    if bias is not None and (bias.ndim == 0 or bias.shape[0] != weight.shape[0]):
        got = bias.shape[0] if bias.ndim else "a scalar"
        raise RuntimeError("bilinear(): bias size does not match weight size: got "
                           f"{got} but expected {weight.shape[0]}")
    ts = [("input1", input1), ("input2", input2), ("weight", weight)]
    if bias is not None:
        ts.append(("bias", bias))
    if len({t.dtype for _, t in ts}) > 1:
        raise RuntimeError("All tensors must have the same dtype, got "
                           + ", ".join(f"{n}: {_scalar_name(t)}" for n, t in ts))
    o, i, j = weight.shape
    batch = input1.shape[:-1]
    # one matmul against the (i, o*j) view of the weight, then a dot with input2 per output
    x1 = input1.reshape(-1, i)
    y = x1.matmul(weight.permute(1, 0, 2).reshape(i, o * j)).reshape(-1, o, j)
    out = (y * input2.reshape(-1, 1, j)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*batch, o)
