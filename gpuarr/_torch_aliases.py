"""torch's top-level spellings of nn.functional ops, constants, predicates, window functions,
memory formats and the default device."""

from __future__ import annotations

__all__: list[str] = []
