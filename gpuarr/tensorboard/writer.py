"""``SummaryWriter``: log scalars, histograms, images, text and more for TensorBoard.

The API follows ``torch.utils.tensorboard.SummaryWriter``. Differences worth knowing:

* Logging after :meth:`SummaryWriter.close` raises ``RuntimeError`` (torch silently opens a
  new event file).
* Float images are scaled to 0..255 with rounding, so ``uint8 / 255`` round-trips exactly
  (torch truncates). Integer images other than uint8 raise ``TypeError`` (torch would scale
  them by 255 and clip).
* Histograms leave NaN/inf values out, and raise ``ValueError`` when nothing finite is left;
  ``bins='tensorflow'`` also counts values beyond +-1e20 (torch drops them); ``max_bins`` is
  a true maximum.
* ``add_hparams`` records ``bool`` values as booleans (torch records them as numbers).
* :meth:`SummaryWriter.flush` returns once the data is fsync-ed to disk.
* A write failure (e.g. a full disk) is raised as :class:`EventWriteError` (an ``OSError``
  and a ``RuntimeError``) at the next ``add_*``, :meth:`~SummaryWriter.flush` or
  :meth:`~SummaryWriter.close` call, once per failure; the file keeps every event that fit.
  A writer never closed is flushed at interpreter exit, and a failure then is printed on
  stderr with the number of events lost.
* A writer inherited by a forked child process (``multiprocessing`` with ``'fork'``) works
  there: on first use the child opens its own event files (their names carry its pid) and
  starts its own writer thread. What the parent had queued is written by the parent only.
* Tags are checked at the call: a non-``str`` tag raises ``TypeError``, an empty one or one
  that cannot be stored as UTF-8 (a lone surrogate such as ``'\\ud800'``) ``ValueError``.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import datetime
from multiprocessing.util import Finalize
from typing import Any

import numpy as np
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto

from . import summaries
from ._convert import check_tag, check_text, to_float, to_numpy, to_step, to_walltime
from ._prepare import histogram, pr_curve_data, to_hwc, to_nhwc
from ._worker import AsyncWriter, EventWriteError, identity
from .event_file import EventFile

__all__ = ["SummaryWriter", "EventWriteError"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _stop_at_exit(worker: AsyncWriter, log_dir: str) -> None:
    """Finalizer: write what is pending when a writer is garbage-collected or at exit.

    Nobody is left to catch an exception here, so a failure is printed on stderr, saying
    what was lost.
    """
    try:
        worker.stop()
    except Exception as exc:
        try:
            print(
                f"gpuarr.tensorboard: SummaryWriter({log_dir!r}) was never closed, and "
                f"writing its pending events failed: {exc}",
                file=sys.stderr,
                flush=True,
            )
        except Exception:  # stderr is gone too
            pass


# Writers that may need to start over in a forked child (see SummaryWriter._after_fork).
_live_writers: weakref.WeakSet[SummaryWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_live_writers):
        try:
            writer._after_fork()
        except Exception:  # never break the fork itself; the writer then reports at use
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_path_part(name: str, what: str) -> str:
    """``name`` becomes part of a directory name: refuse the NUL character there."""
    if "\0" in name:
        raise ValueError(f"{what} {name!r} must not contain the NUL character '\\0'")
    return name


def _in_multiprocessing_child() -> bool:
    """True in a process started by ``multiprocessing`` (which ends with ``os._exit``)."""
    mp_process = sys.modules.get("multiprocessing.process")
    return mp_process is not None and mp_process.parent_process() is not None


def _default_log_dir(comment: str) -> str:
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", stamp + "_" + socket.gethostname() + comment)


class SummaryWriter:
    """Write TensorBoard event files from a training loop, off the training thread.

    Args:
        log_dir: Directory of the run. Default ``runs/<Mon>DD_HH-MM-SS_<hostname><comment>``.
        comment: Suffix of the default ``log_dir``; ignored when ``log_dir`` is given.
        purge_step: When a crashed run restarts at step ``T`` in the same ``log_dir``, pass
            ``T``: TensorBoard then hides what the crashed run logged at steps ``>= T``.
        max_queue: Number of pending items that wakes the writer thread.
        flush_secs: Data is written and fsync-ed at least this often, in seconds.
        filename_suffix: Suffix of the event file names.

    Events are written by a background thread. If writing fails (e.g. the disk is full), the
    next ``add_*``, :meth:`flush` or :meth:`close` call raises :class:`EventWriteError`
    naming the file and the OS error; the file keeps every event that fit. A writer that is
    never closed writes what is pending at interpreter exit, and reports a failure then on
    stderr. In a process forked from this one, the writer opens its own files on first use.

    Example:
        >>> with SummaryWriter("runs/exp1") as writer:  # doctest: +SKIP
        ...     for step in range(100):
        ...         writer.add_scalar("loss", 1.0 / (step + 1), step)
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: float = 120,
        filename_suffix: str = "",
    ) -> None:
        self._closed = True  # until fully constructed: makes a failed __init__ safe
        self._reopen_in_child = False  # set in a forked child: start over on first use
        if not isinstance(comment, str) or not isinstance(filename_suffix, str):
            raise TypeError("SummaryWriter(): comment and filename_suffix must be str")
        if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 0:
            raise ValueError(f"SummaryWriter(): max_queue must be an int >= 0, got {max_queue!r}")
        flush_secs = to_float(flush_secs, "SummaryWriter(): flush_secs")
        if not flush_secs > 0:
            raise ValueError(f"SummaryWriter(): flush_secs must be > 0, got {flush_secs!r}")
        purge_step = to_step(purge_step)
        self.log_dir = os.fspath(log_dir) if log_dir else _default_log_dir(comment)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._lock = threading.Lock()
        self._start(EventFile(self.log_dir, filename_suffix, purge_step))
        _live_writers.add(self)

    # ------------------------------------------------------------------ plumbing

    def _start(self, file: EventFile) -> None:
        """Start the writer thread for ``file`` (the main event file) and open for logging."""
        self._file = file
        self._worker = AsyncWriter(self.max_queue, self.flush_secs)
        self._worker.add_file(file)
        self._sub_files: dict[str, EventFile] = {}
        # Written out on garbage collection or interpreter exit if close() is never called;
        # the finalizers hold only the worker, not the writer.
        self._finalizer = weakref.finalize(self, _stop_at_exit, self._worker, self.log_dir)
        self._mp_finalizer = None
        if _in_multiprocessing_child():  # such a process ends without running atexit hooks
            self._mp_finalizer = Finalize(
                self, _stop_at_exit, args=(self._worker, self.log_dir), exitpriority=0
            )
        self._closed = False  # last: add_scalar's fast path reads _file/_worker after it

    def _detach_finalizers(self) -> None:
        self._finalizer.detach()
        if self._mp_finalizer is not None:
            self._mp_finalizer.cancel()

    def _after_fork(self) -> None:
        """In a forked child (called by ``os.register_at_fork``): the parent's writer thread
        does not exist here and its files are the parent's. Forget both, and start over with
        new files at first use (a child that never logs creates no file)."""
        self._lock = threading.Lock()  # it may have been held by another thread at the fork
        if self._closed:
            return
        self._closed = True  # routes the next call through _check_open, which restarts
        self._reopen_in_child = True
        self._detach_finalizers()
        self._worker.abandon_after_fork()

    def _reopen_after_fork(self) -> None:
        with self._lock:
            if self._reopen_in_child:
                # No purge_step: the child continues the run, it does not restart it.
                self._start(EventFile(self.log_dir, self.filename_suffix))
                self._reopen_in_child = False

    def get_logdir(self) -> str:
        """The directory the event files are written to."""
        return self.log_dir

    def _check_open(self, what: str) -> None:
        """Raise if the writer is closed or writing failed; start over in a forked child."""
        if self._closed:
            if self._reopen_in_child:
                self._reopen_after_fork()
            else:
                raise RuntimeError(
                    f"SummaryWriter.{what}(): the writer for {self.log_dir!r} is closed; "
                    "create a new SummaryWriter to log more"
                )
        self._worker.raise_error()

    @staticmethod
    def _step(global_step: Any) -> int:
        if type(global_step) is int and _INT64_MIN <= global_step <= _INT64_MAX:
            return global_step
        step = to_step(global_step)
        if step is None:
            return 0
        if not _INT64_MIN <= step <= _INT64_MAX:
            raise ValueError(f"global_step must fit in 64 bits, got {step}")
        return step

    def _put(self, file: EventFile, step: Any, walltime: Any, build: Any, arg: Any,
             nbytes: int = 0) -> None:
        step = self._step(step)
        wall = time.time() if walltime is None else to_walltime(walltime, 0.0)
        self._worker.put((file, step, wall, build, arg, nbytes), nbytes)

    def _sub_file(self, log_dir: str) -> EventFile:
        file = self._sub_files.get(log_dir)
        if file is None:
            with self._lock:  # two threads must not open two files for one sub-run
                file = self._sub_files.get(log_dir)
                if file is None:
                    file = EventFile(log_dir, self.filename_suffix)
                    self._worker.add_file(file)
                    self._sub_files[log_dir] = file
        return file

    # ------------------------------------------------------------------ scalars

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Log one number.

        Args:
            tag: Name of the series, e.g. ``"loss/train"``.
            scalar_value: A number, or a one-element tensor/array/list (any device).
            global_step: Step of the value (x axis).
            walltime: Seconds since the epoch; default ``time.time()``.
            new_style: Store as a tensor with scalars-plugin metadata instead of
                ``simple_value`` (as torch's ``new_style``).
            double_precision: With ``new_style``, store a float64 instead of a float32.

        Raises:
            TypeError: if the value is not a real number, or the tag not a str.
            ValueError: if the tensor/array has more than one element, or the tag is empty
                or holds a lone surrogate.
            RuntimeError: if the writer is closed.
            EventWriteError: if writing earlier events failed (e.g. the disk is full).

        Example:
            >>> writer.add_scalar("loss", 0.25, global_step=10)  # doctest: +SKIP
        """
        if self._closed:
            self._check_open("add_scalar")
        if type(tag) is not str or not tag or not tag.isascii():
            check_tag(tag)
        value = (
            scalar_value
            if type(scalar_value) is float
            else to_float(scalar_value, "add_scalar(): scalar_value")
        )
        if new_style:
            self._put(self._file, global_step, walltime, _scalar_tensor, (tag, value,
                      bool(double_precision)))
            return
        # The hot path: inline of _put for the common argument types.
        step = global_step
        if type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = self._step(global_step)
        wall = time.time() if walltime is None else to_walltime(walltime, 0.0)
        self._worker.put((self._file, step, wall, summaries.scalar, (tag, value), 0))

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: Mapping[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Log several series in one chart: each key goes to its own sub-run.

        As torch does, the value for key ``k`` is written with tag ``main_tag`` to the run
        ``<log_dir>/<main_tag with '/' -> '_'>_<k>``.

        Args:
            main_tag: Name of the chart.
            tag_scalar_dict: Series name -> value.
            global_step: Step of the values.
            walltime: Seconds since the epoch; default ``time.time()`` (the same for all).

        Example:
            >>> writer.add_scalars("loss", {"train": 0.3, "val": 0.4}, 5)  # doctest: +SKIP
        """
        self._check_open("add_scalars")
        what = "add_scalars(): main_tag"
        _check_path_part(check_tag(main_tag, what), what)
        if not isinstance(tag_scalar_dict, Mapping):
            raise TypeError(
                "add_scalars(): tag_scalar_dict must be a dict of name -> value, got "
                f"{type(tag_scalar_dict).__name__}"
            )
        values: dict[str, float] = {}
        for k, v in tag_scalar_dict.items():  # everything is checked before anything is queued
            _check_path_part(check_tag(k, "add_scalars(): key"), "add_scalars(): key")
            values[k] = to_float(v, f"add_scalars(): value of {k!r}")
        step = self._step(global_step)
        wall = to_walltime(walltime, time.time())
        prefix = self.log_dir + "/" + main_tag.replace("/", "_") + "_"
        for key, value in values.items():
            self._put(self._sub_file(prefix + key), step, wall, summaries.scalar, (main_tag, value))

    # ------------------------------------------------------------------ histograms

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: Any = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """Log the distribution of a tensor's values.

        Args:
            tag: Name of the histogram.
            values: Tensor, array or list of any shape.
            global_step: Step of the histogram.
            bins: ``'tensorflow'`` (default, TensorFlow's exponential buckets), an int
                (equal-width buckets), a NumPy rule (``'auto'``, ``'fd'``, ``'sturges'``...)
                or a monotonically increasing sequence of bucket edges.
            walltime: Seconds since the epoch; default ``time.time()``.
            max_bins: Merge neighbouring buckets so that at most this many remain.

        Raises:
            ValueError: if ``values`` is empty or has no finite value, or ``bins`` is bad.

        Example:
            >>> writer.add_histogram("weights", np.random.randn(1000), 0)  # doctest: +SKIP
        """
        self._check_open("add_histogram")
        check_tag(tag)
        arr = to_numpy(values, "add_histogram(): values", copy=False)
        stats = histogram(arr, bins, max_bins)
        self._put(self._file, global_step, walltime, summaries.histogram, (tag, *stats))

    def add_histogram_raw(
        self,
        tag: str,
        min: float,
        max: float,
        num: int,
        sum: float,
        sum_squares: float,
        bucket_limits: Any,
        bucket_counts: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Log a histogram whose buckets were computed elsewhere.

        Args:
            tag: Name of the histogram.
            min: Smallest value.
            max: Largest value.
            num: Number of values.
            sum: Sum of the values.
            sum_squares: Sum of the squared values.
            bucket_limits: Right edge of every bucket (increasing).
            bucket_counts: Number of values in every bucket; same length as the limits.
            global_step: Step of the histogram.
            walltime: Seconds since the epoch; default ``time.time()``.

        Raises:
            ValueError: if the lengths differ or are zero.
        """
        self._check_open("add_histogram_raw")
        check_tag(tag)
        what = "add_histogram_raw()"
        limits = to_numpy(bucket_limits, f"{what}: bucket_limits").astype(np.float64).reshape(-1)
        counts = to_numpy(bucket_counts, f"{what}: bucket_counts").astype(np.float64).reshape(-1)
        if limits.size != counts.size:
            raise ValueError(
                f"{what}: len(bucket_limits) != len(bucket_counts) ({limits.size} vs "
                f"{counts.size}); give one count per bucket"
            )
        if limits.size == 0:
            raise ValueError(f"{what}: at least one bucket is needed")
        stats = [to_float(v, f"{what}: {name}") for name, v in
                 (("min", min), ("max", max), ("num", num), ("sum", sum),
                  ("sum_squares", sum_squares))]
        self._put(self._file, global_step, walltime, summaries.histogram,
                  (tag, *stats, limits, counts))

    # ------------------------------------------------------------------ images

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """Log one image (encoded as PNG on the writer thread).

        Args:
            tag: Name of the image series.
            img_tensor: uint8 pixels (0..255), bool, or floats in [0, 1] (scaled by 255,
                rounded, clipped). Shape ``(C, H, W)`` by default with C = 1, 3 or 4.
            global_step: Step of the image.
            walltime: Seconds since the epoch; default ``time.time()``.
            dataformats: ``'CHW'``, ``'HWC'`` or ``'HW'``.

        Raises:
            ValueError: on a shape that does not match ``dataformats`` or a bad channel count.
            TypeError: on integer dtypes other than uint8.

        Example:
            >>> writer.add_image("sample", np.random.rand(3, 32, 32), 0)  # doctest: +SKIP
        """
        self._check_open("add_image")
        check_tag(tag)
        arr = to_numpy(img_tensor, "add_image(): img_tensor")
        hwc = to_hwc(arr, dataformats, "add_image()")
        self._put(self._file, global_step, walltime, summaries.image, (tag, hwc[None]),
                  arr.nbytes)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Log a batch of images, tiled 8 per row into one image (as torch does).

        Args:
            tag: Name of the image series.
            img_tensor: Shape ``(N, C, H, W)`` by default; values as in :meth:`add_image`.
            global_step: Step of the images.
            walltime: Seconds since the epoch; default ``time.time()``.
            dataformats: ``'NCHW'`` or ``'NHWC'`` (or a single-image format).

        Raises:
            ValueError: on a shape that does not match ``dataformats``, a bad channel count
                or an empty batch.
        """
        self._check_open("add_images")
        check_tag(tag)
        arr = to_numpy(img_tensor, "add_images(): img_tensor")
        nhwc = to_nhwc(arr, dataformats, "add_images()")
        self._put(self._file, global_step, walltime, summaries.image, (tag, nhwc), arr.nbytes)

    def add_figure(
        self,
        tag: str,
        figure: Any,
        global_step: int | None = None,
        close: bool = True,
        walltime: float | None = None,
    ) -> None:
        """Render a matplotlib figure (or a list of figures, tiled) and log it as an image.

        Needs matplotlib (an optional dependency).

        Args:
            tag: Name of the image series.
            figure: A ``matplotlib.figure.Figure`` or a list of them (same size).
            global_step: Step of the image.
            close: Close the figures afterwards (``pyplot.close``).
            walltime: Seconds since the epoch; default ``time.time()``.
        """
        self._check_open("add_figure")
        check_tag(tag)
        figures = list(figure) if isinstance(figure, (list, tuple)) else [figure]
        if not figures:
            raise ValueError("add_figure(): the list of figures is empty")
        images = [_render_figure(f) for f in figures]
        if len({im.shape for im in images}) != 1:
            raise ValueError(
                "add_figure(): all figures in a list must render to the same size, got "
                + ", ".join(str(im.shape[:2]) for im in images)
            )
        if close:
            pyplot = sys.modules.get("matplotlib.pyplot")  # figures made without pyplot
            if pyplot is not None:  # are not registered with it: nothing to close then
                for f in figures:
                    pyplot.close(f)
        batch = np.stack(images)
        self._put(self._file, global_step, walltime, summaries.image, (tag, batch), batch.nbytes)

    # ------------------------------------------------------------------ text, PR curves

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Log a string (Markdown is rendered by TensorBoard's text dashboard).

        As torch does, the tag is stored as ``<tag>/text_summary``.

        Example:
            >>> writer.add_text("notes", "lr **0.1**", 0)  # doctest: +SKIP
        """
        self._check_open("add_text")
        check_tag(tag)
        if not isinstance(text_string, str):
            raise TypeError(
                f"add_text(): text_string must be a str, got {type(text_string).__name__}"
            )
        check_text(text_string, "add_text(): text_string")
        self._put(self._file, global_step, walltime, summaries.text, (tag, text_string))

    def add_pr_curve(
        self,
        tag: str,
        labels: Any,
        predictions: Any,
        global_step: int | None = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Log a precision-recall curve.

        Args:
            tag: Name of the curve.
            labels: Ground truth, 0/1 (or bool) per element.
            predictions: Probability of the positive class per element, in [0, 1].
            global_step: Step of the curve.
            num_thresholds: Number of thresholds (2..127; larger values are capped at 127
                as torch does).
            weights: Optional weight per element (or one scalar weight).
            walltime: Seconds since the epoch; default ``time.time()``.

        Raises:
            ValueError: on mismatched sizes or predictions outside [0, 1].
        """
        self._check_open("add_pr_curve")
        check_tag(tag)
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)):
            raise TypeError(
                f"add_pr_curve(): num_thresholds must be an int, got {num_thresholds!r}"
            )
        if num_thresholds < 2:
            raise ValueError(f"add_pr_curve(): num_thresholds must be >= 2, got {num_thresholds}")
        num_thresholds = min(int(num_thresholds), 127)
        lab = to_numpy(labels, "add_pr_curve(): labels", copy=False)
        pred = to_numpy(predictions, "add_pr_curve(): predictions", copy=False)
        w = None if weights is None else to_numpy(weights, "add_pr_curve(): weights", copy=False)
        data = pr_curve_data(lab, pred, num_thresholds, w)
        self._put(self._file, global_step, walltime, summaries.pr_curve,
                  (tag, data, num_thresholds))

    # ------------------------------------------------------------------ hparams

    def add_hparams(
        self,
        hparam_dict: dict[str, Any],
        metric_dict: dict[str, Any],
        hparam_domain_discrete: dict[str, list] | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """Log one trial's hyperparameters and final metrics for the HParams dashboard.

        As torch does, everything goes to a sub-run ``<log_dir>/<run_name>`` (default: the
        current time), with each metric also logged there as a scalar.

        Args:
            hparam_dict: Name -> bool, str, int, float, one-element tensor or None (skipped).
            metric_dict: Metric tag -> value.
            hparam_domain_discrete: Optional name -> list of all the values it can take.
            run_name: Name of the sub-run.
            global_step: Step of the metrics.

        Raises:
            TypeError: if the dicts are not dicts or a domain does not match.
            ValueError: if a hyperparameter has an unsupported type.

        Example:
            >>> writer.add_hparams({"lr": 0.1, "opt": "sgd"}, {"hparam/acc": 0.9})  # doctest: +SKIP
        """
        self._check_open("add_hparams")
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("add_hparams(): hparam_dict and metric_dict should be dictionaries")
        if hparam_domain_discrete is not None and not isinstance(hparam_domain_discrete, dict):
            raise TypeError("add_hparams(): hparam_domain_discrete should be a dictionary")
        metrics = {
            check_tag(k, "add_hparams(): metric name"): to_float(v, f"add_hparams(): {k!r}")
            for k, v in metric_dict.items()
        }
        exp, start, end = summaries.hparams(hparam_dict, list(metrics), hparam_domain_discrete)
        if run_name is None or run_name == "":
            run_name = str(time.time())
        elif not isinstance(run_name, str):
            raise TypeError(f"add_hparams(): run_name must be a str, got {run_name!r}")
        else:
            _check_path_part(check_text(run_name, "add_hparams(): run_name"),
                             "add_hparams(): run_name")
        step = self._step(global_step)
        file = EventFile(os.path.join(self.log_dir, run_name), self.filename_suffix)
        self._worker.add_file(file)
        for summary in (exp, start, end):
            self._put(file, step, None, identity, summary)
        for tag, value in metrics.items():
            self._put(file, step, None, summaries.scalar, (tag, value))
        self._worker.close_file(file, wait=False)  # one trial per file: nothing more comes

    # ------------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        """Write everything logged so far and fsync it; return once it is on disk.

        A no-op on a closed writer.

        Raises:
            EventWriteError: if some event could not be written (e.g. the disk is full);
                an ``OSError`` and a ``RuntimeError``.
        """
        if self._closed:
            return
        self._worker.flush()

    def close(self) -> None:
        """Flush and close every event file; closing twice is a no-op.

        Raises:
            EventWriteError: if some event could not be written (e.g. the disk is full);
                the writer is closed all the same.
        """
        self._reopen_in_child = False  # a forked child that never logged: nothing to close
        if self._closed:
            return
        self._closed = True
        self._detach_finalizers()
        _live_writers.discard(self)
        self._worker.stop()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _scalar_tensor(arg: tuple[str, float, bool]) -> Any:
    """A scalar stored as a 0-d tensor with scalars-plugin metadata (torch's new_style)."""
    tag, value, double = arg
    tensor = (
        TensorProto(dtype="DT_DOUBLE", double_val=[value])
        if double
        else TensorProto(dtype="DT_FLOAT", float_val=[value])
    )
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=metadata)])


def _render_figure(figure: Any) -> np.ndarray:
    """RGB pixels ``(H, W, 3)`` of a matplotlib figure, drawn with the Agg backend."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: optional, heavy
        from matplotlib.figure import Figure  # lazy: optional, heavy
    except ImportError as exc:
        raise ImportError("add_figure() needs matplotlib: pip install matplotlib") from exc
    if not isinstance(figure, Figure):
        raise TypeError(
            f"add_figure(): expected a matplotlib Figure or a list of them, got "
            f"{type(figure).__name__}"
        )
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.array(rgba[:, :, :3])

