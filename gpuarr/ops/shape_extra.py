"""More shape and indexing ops: rot90, h/v/dsplit, the *_scatter ops, index_put, masked_scatter,
put, unfold, as_strided, searchsorted/bucketize, isin, tril/triu_indices, cartesian_prod,
combinations, block_diag, cdist.
"""

from __future__ import annotations

from ._registry import mixin, register

__all__: list[str] = []

register(__name__, {})

ShapeExtraMethods = mixin("ShapeExtraMethods", __name__)
