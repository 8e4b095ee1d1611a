"""TensorBoard logging without TensorFlow or PyTorch: ``SummaryWriter``.

Event files are written with the ``tensorboard`` package's protocol buffers; TensorFlow is
never imported, even when installed. See :class:`SummaryWriter`.

Example:
    >>> from gpuarr.tensorboard import SummaryWriter
    >>> with SummaryWriter("runs/demo") as writer:  # doctest: +SKIP
    ...     writer.add_scalar("loss", 0.5, 0)
"""

from .writer import EventWriteError, SummaryWriter

__all__ = ["SummaryWriter", "EventWriteError"]
