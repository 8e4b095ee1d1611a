"""Dropout3d and FeatureAlphaDropout."""

from __future__ import annotations

__all__: list[str] = []
