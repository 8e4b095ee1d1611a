"""``gpuarr.utils.tensorboard``: the torch-style import path of :class:`SummaryWriter`."""

from ..tensorboard import SummaryWriter

__all__ = ["SummaryWriter"]
