"""max_unpool1d/2d/3d, lp_pool1d/2d/3d, fractional_max_pool2d/3d (+ _with_indices),
max_pool1d_with_indices."""

from __future__ import annotations

__all__: list[str] = []
