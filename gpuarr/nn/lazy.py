"""Lazy modules (LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, LazyInstanceNorm*) and
UninitializedParameter/UninitializedBuffer."""

from __future__ import annotations

__all__: list[str] = []
