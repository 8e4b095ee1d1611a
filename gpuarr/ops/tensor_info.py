"""Tensor predicates and storage facts: is_cpu, get_device, storage_offset, is_signed, is_nonzero,
is_same_size, is_inference and their torch functions.
"""

from __future__ import annotations

from ._registry import mixin, register

__all__: list[str] = []

register(__name__, {})

TensorInfoMethods = mixin("TensorInfoMethods", __name__)
