"""``gpuarr.utils``: data loading (:mod:`gpuarr.utils.data`) and TensorBoard logging
(:mod:`gpuarr.utils.tensorboard`, imported only when first used so that ``import gpuarr``
does not load the TensorBoard packages).

Example:
    >>> from gpuarr.utils.data import DataLoader, TensorDataset
    >>> from gpuarr.utils.tensorboard import SummaryWriter
"""

from __future__ import annotations

import importlib

from . import data

__all__ = ["checkpoint", "data", "tensorboard"]


def __getattr__(name: str):
    # ``gpuarr.utils.tensorboard`` / ``.checkpoint`` without an explicit import: load on first
    # access.
    if name in ("tensorboard", "checkpoint"):
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
