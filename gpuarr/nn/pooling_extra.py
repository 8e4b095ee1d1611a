"""Unpooling, power-average and fractional max pooling layers: MaxUnpool1d/2d/3d, LPPool1d/2d/3d,
FractionalMaxPool2d/3d."""

from __future__ import annotations

__all__: list[str] = []
