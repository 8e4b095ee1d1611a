"""``gpuarr.cpu``: torch's ``torch.cpu`` namespace (its ``amp`` submodule holds the deprecated
``autocast`` alias)."""

from __future__ import annotations

from . import amp

__all__ = ["amp", "is_available", "synchronize", "device_count", "current_device"]


def is_available() -> bool:
    """Always True: the CPU is always there."""
    return True


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU ops run synchronously."""


def device_count() -> int:
    """1, as torch."""
    return 1


def current_device() -> str:
    """'cpu', as torch."""
    return "cpu"
