"""``RemovableHandle``: what ``register_hook`` and friends return (torch.utils.hooks')."""

from __future__ import annotations

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """Unregisters one hook from the list it was added to.

    Example:
        >>> h = x.register_hook(lambda g: g * 2)
        >>> h.remove()
    """

    def __init__(self, container: list, item) -> None:
        self._container = container
        self._item = item

    def remove(self) -> None:
        """Remove the hook (a no-op when it is already gone)."""
        try:
            self._container.remove(self._item)
        except ValueError:
            pass

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
