"""dropout3d, feature_alpha_dropout."""

from __future__ import annotations

__all__: list[str] = []
