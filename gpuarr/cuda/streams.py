"""CUDA streams and events with torch.cuda's API: :class:`Stream`, :class:`Event`,
:func:`stream` / :class:`StreamContext`, :func:`current_stream`, :func:`default_stream`,
:func:`set_stream`.

gpuarr's CUDA ops queue their kernels on CuPy's current stream, so a stream made current here
(``with gpuarr.cuda.stream(s):``) is where the ops inside the block run. Events mark points in
a stream: other streams wait on them, the host waits on them, and timing events measure the
time between two of them on the device.

Example:
    >>> s = gpuarr.cuda.Stream()
    >>> start, end = gpuarr.cuda.Event(enable_timing=True), gpuarr.cuda.Event(enable_timing=True)
    >>> with gpuarr.cuda.stream(s):
    ...     start.record()
    ...     y = gpuarr.randn(1000, 1000, device="cuda") @ gpuarr.randn(1000, 1000, device="cuda")
    ...     end.record()
    >>> end.synchronize(); start.elapsed_time(end)   # milliseconds
"""

from __future__ import annotations

from .._device import device as _device_cls
from ..backends import cuda_backend
from ._devices import _resolved

__all__ = ["Stream", "Event", "StreamContext", "stream", "current_stream", "default_stream",
           "set_stream", "is_current_stream_capturing"]


class Stream:
    """A queue of device work that runs in order, independently of other streams.

    Args:
        device: the CUDA device of the stream (default: the current one).
        priority: lower numbers run first when streams compete (0 default, -1 high).

    Example:
        >>> s = gpuarr.cuda.Stream(priority=-1)
        >>> s.wait_stream(gpuarr.cuda.current_stream())
    """

    def __init__(self, device=None, priority: int = 0, **kwargs) -> None:
        idx = _resolved(device)
        self._wrap(cuda_backend().new_stream(idx, priority), idx)

    @classmethod
    def _of(cls, raw, index: int) -> Stream:
        s = cls.__new__(cls)
        s._wrap(raw, index)
        return s

    def _wrap(self, raw, index: int) -> None:
        self._raw = raw
        self.device_index = index
        self.device = _device_cls("cuda", index)

    @property
    def cuda_stream(self) -> int:
        """The stream's handle (0 for the default stream)."""
        return int(self._raw.ptr)

    @property
    def priority(self) -> int:
        """The stream's priority."""
        return int(self._raw.priority or 0)

    def wait_event(self, event: Event) -> None:
        """Make work queued on this stream from now on wait for ``event``."""
        if event._raw is not None:
            self._raw.wait_event(event._raw)

    def wait_stream(self, stream: Stream) -> None:
        """Make work queued on this stream from now on wait for the work queued on
        ``stream`` so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        """Record ``event`` (a new one by default) on this stream; returns it."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def query(self) -> bool:
        """Whether all work queued on this stream has finished."""
        return bool(self._raw.done)

    def synchronize(self) -> None:
        """Wait for all work queued on this stream."""
        self._raw.synchronize()

    def __eq__(self, other) -> bool:
        return (isinstance(other, Stream) and self.cuda_stream == other.cuda_stream
                and self.device_index == other.device_index)

    def __hash__(self) -> int:
        return hash((self.cuda_stream, self.device_index))

    def __repr__(self) -> str:
        return f"<gpuarr.cuda.Stream device={self.device} cuda_stream={self.cuda_stream:#x}>"


class Event:
    """A marker in a stream: wait for it, time between two of them, or make other streams
    wait for it. Created on the device of the stream it is first recorded on.

    Args:
        enable_timing: whether :meth:`elapsed_time` can measure from/to this event.
        blocking: whether :meth:`synchronize` blocks the thread instead of spinning.
        interprocess: whether the event can be shared between processes.

    Example:
        >>> e = gpuarr.cuda.Event()
        >>> e.record(); e.synchronize(); e.query()
        True
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        self.enable_timing, self.blocking, self.interprocess = enable_timing, blocking, \
            interprocess
        self._raw = None
        self._device_index: int | None = None

    def record(self, stream: Stream | None = None) -> None:
        """Record the event on ``stream`` (default: the current stream)."""
        stream = current_stream() if stream is None else stream
        if self._raw is None:
            self._raw = cuda_backend().new_event(stream.device_index, self.enable_timing,
                                                 self.blocking, self.interprocess)
            self._device_index = stream.device_index
        elif self._device_index != stream.device_index:
            raise RuntimeError(f"Event device {self._device_index} does not match recording "
                               f"stream's device {stream.device_index}.")
        self._raw.record(stream._raw)

    def wait(self, stream: Stream | None = None) -> None:
        """Make work queued on ``stream`` (default: the current stream) wait for this event."""
        (current_stream() if stream is None else stream).wait_event(self)

    def query(self) -> bool:
        """Whether the work recorded before this event has finished (True if never
        recorded)."""
        return True if self._raw is None else bool(self._raw.done)

    def synchronize(self) -> None:
        """Wait for the work recorded before this event."""
        if self._raw is not None:
            self._raw.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, both timing).

        Returns:
            The elapsed device time in milliseconds.
        """
        if self._raw is None or end_event._raw is None:
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError(
                "Both events must be created with argument 'enable_timing=True'.")
        return cuda_backend().elapsed_ms(self._raw, end_event._raw)

    def __repr__(self) -> str:
        if self._raw is None:
            return "<gpuarr.cuda.Event uninitialized>"
        return f"<gpuarr.cuda.Event {self._raw.ptr:#x}>"


def current_stream(device=None) -> Stream:
    """The stream CUDA work on ``device`` (default: the current device) is queued on now."""
    idx = _resolved(device)
    return Stream._of(cuda_backend().current_stream(idx), idx)


def default_stream(device=None) -> Stream:
    """The default stream of ``device`` (default: the current device)."""
    return Stream._of(cuda_backend().null_stream(), _resolved(device))


def set_stream(stream: Stream | None) -> None:
    """Make ``stream`` the current stream of its device (prefer :func:`stream`)."""
    if stream is not None:
        cuda_backend().use_stream(stream._raw, stream.device_index)


def is_current_stream_capturing() -> bool:
    """Whether the current stream is being captured into a CUDA graph."""
    return bool(cuda_backend().current_stream(None).is_capturing())


class StreamContext:
    """Inside the block, ``stream`` is the current stream (and its device the current
    device); both are restored on exit. None does nothing.

    Args:
        stream: the stream, or None.
    """

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self._saved: list = []

    def __enter__(self) -> Stream | None:
        s = self.stream
        if s is None:
            return None
        bk = cuda_backend()
        prev_dev = bk.current_device()
        self._saved.append((prev_dev, bk.current_stream(prev_dev),
                            bk.current_stream(s.device_index)))
        if s.device_index != prev_dev:
            bk.set_device(s.device_index)
        bk.use_stream(s._raw, s.device_index)
        return s

    def __exit__(self, *exc) -> None:
        s = self.stream
        if s is None:
            return
        bk = cuda_backend()
        prev_dev, prev_stream, prev_on_target = self._saved.pop()
        bk.use_stream(prev_on_target, s.device_index)
        if s.device_index != prev_dev:
            bk.set_device(prev_dev)
        bk.use_stream(prev_stream, prev_dev)


def stream(stream: Stream | None) -> StreamContext:
    """A context in which ``stream`` is the current stream.

    Args:
        stream: the stream (None: no change).

    Returns:
        A :class:`StreamContext`.

    Example:
        >>> with gpuarr.cuda.stream(gpuarr.cuda.Stream()):
        ...     y = x * 2          # queued on the new stream
    """
    return StreamContext(stream)
