"""``gpuarr.onnx``: importable, so programs that import ``torch.onnx`` at the top still start;
exporting is not available in gpuarr and says so when called.

Example:
    >>> gpuarr.onnx.is_in_onnx_export()
    False
    >>> gpuarr.onnx.export(model, (x,), "model.onnx")
    Traceback (most recent call last):
    NotImplementedError: gpuarr.onnx.export is not available: gpuarr cannot export ONNX graphs ...
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["export", "dynamo_export", "is_in_onnx_export"]

_WHY = ("gpuarr cannot export ONNX graphs (it records no graph of a whole model); export "
        "from PyTorch itself, or save the weights with gpuarr.save() and load them there")


def export(*args: Any, **kwargs: Any) -> NoReturn:
    """Not available: always raises.

    Raises:
        NotImplementedError: naming ``gpuarr.onnx.export`` and what to do instead.
    """
    raise NotImplementedError(f"gpuarr.onnx.export is not available: {_WHY}.")


def dynamo_export(*args: Any, **kwargs: Any) -> NoReturn:
    """Not available: always raises.

    Raises:
        NotImplementedError: naming ``gpuarr.onnx.dynamo_export`` and what to do instead.
    """
    raise NotImplementedError(f"gpuarr.onnx.dynamo_export is not available: {_WHY}.")


def is_in_onnx_export() -> bool:
    """False: gpuarr never traces a model for export (models call this in ``forward``).

    Returns:
        False.
    """
    return False


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise AttributeError(f"gpuarr.onnx.{name} is not available: {_WHY}")
