"""Numeric preparation of logged data: histogram bins, image layouts, PR-curve counts.

Everything here works on NumPy arrays and raises ``ValueError``/``TypeError`` with a message
that names the function, the shape and what was expected, before anything is queued.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "tensorflow_bins",
    "histogram",
    "to_hwc",
    "to_nhwc",
    "image_to_uint8",
    "make_grid",
    "pr_curve_data",
]


# --------------------------------------------------------------------------- histograms


@lru_cache(maxsize=1)
def tensorflow_bins() -> np.ndarray:
    """TensorFlow's default histogram edges: +-1e-12 * 1.1**k up to 1e20, 0, and +-DBL_MAX.

    The same float sequence as ``torch.utils.tensorboard`` builds (repeated multiplication,
    not powers), so bin counts agree exactly with torch's writer. The outermost edges
    (+-DBL_MAX, as in TensorFlow's C++ histogram) catch values beyond +-1e20, which torch
    silently drops.
    """
    positive = []
    v = 1e-12
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    pos = np.array(positive)
    big = np.finfo(np.float64).max
    edges = np.concatenate([[-big], -pos[::-1], [0.0], pos, [big]])
    edges.flags.writeable = False
    return edges


def _count_sorted_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` in O(n log bins) instead of sorting the data."""
    nbins = edges.size - 1
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = nbins - 1  # the last bin is closed on the right
    keep = (idx >= 0) & (idx < nbins)
    return np.bincount(idx[keep], minlength=nbins)


def histogram(values: np.ndarray, bins: Any = "tensorflow", max_bins: int | None = None,
              what: str = "add_histogram()") -> tuple:
    """Histogram in TensorBoard's layout (right bucket limits, leading empty bucket).

    Non-finite values (NaN, +-inf) are left out of the buckets and the statistics.

    Args:
        values: Any shape; flattened.
        bins: ``'tensorflow'`` (TensorFlow's exponential default), an int (equal-width bins
            over the data's range), a NumPy bin rule name (``'auto'``, ``'fd'``, ...) or a
            monotonically increasing sequence of edges.
        max_bins: Merge neighbouring bins so that at most this many remain.
        what: Prefix for error messages.

    Returns:
        ``(min, max, num, sum, sum_squares, bucket_limits, bucket_counts)``.

    Raises:
        ValueError: if there are no values, no finite values, or ``bins`` is invalid.
    """
    values = np.asarray(values).reshape(-1)
    if values.size == 0:
        raise ValueError(f"{what}: values is empty; a histogram needs at least one value")
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{what}: values must be real numbers, got dtype {values.dtype}")
    values = values.astype(np.float64, copy=False)
    finite = np.isfinite(values)
    if not finite.all():
        values = values[finite]
        if values.size == 0:
            raise ValueError(
                f"{what}: all {finite.size} values are NaN or infinite; nothing to histogram"
            )
    if isinstance(bins, str) and bins == "tensorflow":
        edges = tensorflow_bins()
        counts = _count_sorted_edges(values, edges)
    else:
        if isinstance(bins, (bool, np.bool_)) or (
            isinstance(bins, (int, np.integer)) and int(bins) < 1
        ):
            raise ValueError(f"{what}: bins must be a positive int, got {bins!r}")
        try:
            counts, edges = np.histogram(values, bins=bins)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what}: invalid bins={bins!r}: {exc}") from None
    if max_bins is not None:
        counts, edges = _merge_bins(counts, edges, int(max_bins), what)
    limits, counts = _trim(counts, edges)
    return (
        float(values.min()),
        float(values.max()),
        int(values.size),
        float(values.sum()),
        float(values.dot(values)),
        limits,
        counts,
    )


def _merge_bins(counts: np.ndarray, edges: np.ndarray, max_bins: int, what: str) -> tuple:
    if max_bins < 1:
        raise ValueError(f"{what}: max_bins must be >= 1, got {max_bins}")
    if counts.size <= max_bins:
        return counts, edges
    group = -(-counts.size // max_bins)  # bins merged into one; ceil keeps <= max_bins
    pad = (-counts.size) % group
    counts = np.pad(counts, (0, pad)).reshape(-1, group).sum(axis=1)
    new_edges = np.append(edges[:-1:group], edges[-1])
    return counts, new_edges


def _trim(counts: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the bins from the first to the last non-empty one, plus one empty bin before.

    TensorBoard stores only right limits; the extra empty bucket carries the left edge of
    the first non-empty bin.
    """
    nonzero = np.flatnonzero(counts)
    if nonzero.size == 0:  # every finite value fell outside the edges
        return edges[:1].copy(), np.zeros(1, dtype=np.int64)
    first, last = int(nonzero[0]), int(nonzero[-1])
    limits = edges[first : last + 2]  # left edge of `first`, then right edges
    inner = counts[first : last + 1]
    # The bucket before `first` is empty by definition; at the lower end, make one up.
    trimmed = counts[first - 1 : last + 1] if first > 0 else np.concatenate([[0], inner])
    return limits, trimmed


# --------------------------------------------------------------------------- images


def _check_format(dataformats: Any, allowed_ranks: tuple[int, ...], what: str) -> str:
    if not isinstance(dataformats, str):
        raise TypeError(f"{what}: dataformats must be a str such as 'CHW', got {dataformats!r}")
    fmt = dataformats.upper()
    letters = "NCHW" if 4 in allowed_ranks else "CHW"
    if (
        len(fmt) not in allowed_ranks
        or len(set(fmt)) != len(fmt)
        or not set(fmt) <= set(letters)
        or not {"H", "W"} <= set(fmt)
        or (len(fmt) == 4 and fmt.count("N") != 1)
        or (len(fmt) == 3 and "C" not in fmt)
    ):
        shapes = {2: "'HW'", 3: "'CHW' or 'HWC'", 4: "'NCHW' or 'NHWC'"}
        raise ValueError(
            f"{what}: invalid dataformats {dataformats!r}; use "
            + " / ".join(shapes[r] for r in allowed_ranks)
        )
    return fmt


def _check_image_dtype(arr: np.ndarray, what: str) -> None:
    if arr.dtype == np.uint8 or arr.dtype == np.bool_ or arr.dtype.kind == "f":
        return
    raise TypeError(
        f"{what}: images must be uint8 (0..255), bool, or floating point in [0, 1]; got dtype "
        f"{arr.dtype}. Convert with .to(uint8) / .astype(np.uint8) or divide by 255."
    )


def to_hwc(arr: np.ndarray, dataformats: str, what: str = "add_image()") -> np.ndarray:
    """Validate one image and return it as an ``(H, W, C)`` view, C in {1, 3, 4}.

    Args:
        arr: The image.
        dataformats: ``'CHW'``, ``'HWC'``, ``'HW'`` (or another order of those letters).
        what: Prefix for error messages.

    Raises:
        ValueError: on a rank that does not match ``dataformats``, a channel count other than
            1, 3 or 4, or an empty image.
        TypeError: on an unsupported dtype.
    """
    fmt = _check_format(dataformats, (2, 3), what)
    _check_image_dtype(arr, what)
    if arr.ndim != len(fmt):
        raise ValueError(
            f"{what}: dataformats {fmt!r} needs a {len(fmt)}-D image, got shape "
            f"{tuple(arr.shape)}"
        )
    if len(fmt) == 2:
        hwc = arr.transpose([fmt.index("H"), fmt.index("W")])[:, :, None]
    else:
        hwc = arr.transpose([fmt.index(c) for c in "HWC"])
    _check_hwc(hwc, arr.shape, fmt, what)
    return hwc


def to_nhwc(arr: np.ndarray, dataformats: str, what: str = "add_images()") -> np.ndarray:
    """Validate a batch of images (``'NCHW'``, ``'NHWC'``; or a single image) as NHWC."""
    fmt = _check_format(dataformats, (2, 3, 4), what)
    if len(fmt) < 4:
        return to_hwc(arr, fmt, what)[None]
    _check_image_dtype(arr, what)
    if arr.ndim != 4:
        raise ValueError(
            f"{what}: dataformats {fmt!r} needs a 4-D batch, got shape {tuple(arr.shape)}"
        )
    nhwc = arr.transpose([fmt.index(c) for c in "NHWC"])
    if nhwc.shape[0] == 0:
        raise ValueError(f"{what}: the batch is empty (shape {tuple(arr.shape)})")
    _check_hwc(nhwc[0], arr.shape, fmt, what)
    return nhwc


def _check_hwc(hwc: np.ndarray, shape: tuple, fmt: str, what: str) -> None:
    h, w, c = hwc.shape
    if c not in (1, 3, 4):
        raise ValueError(
            f"{what}: an image needs 1 (grey), 3 (RGB) or 4 (RGBA) channels, got {c} "
            f"(shape {tuple(shape)} with dataformats {fmt!r})"
        )
    if h == 0 or w == 0:
        raise ValueError(f"{what}: the image is empty (shape {tuple(shape)})")


def make_grid(nhwc: np.ndarray, ncols: int = 8) -> np.ndarray:
    """Tile a batch into one image, ``ncols`` per row, as torch's writer does (zeros pad)."""
    n, h, w, c = nhwc.shape
    if n == 1:
        return nhwc[0]
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    canvas = np.zeros((nrows * h, ncols * w, c), dtype=nhwc.dtype)
    for i in range(n):
        row, col = divmod(i, ncols)
        canvas[row * h : (row + 1) * h, col * w : (col + 1) * w] = nhwc[i]
    return canvas


def image_to_uint8(hwc: np.ndarray) -> np.ndarray:
    """Pixels as uint8 with 3 (RGB) or 4 (RGBA) channels.

    Floats are read as [0, 1] and scaled by 255 with rounding (so ``u8 / 255`` comes back
    exactly; torch truncates instead), clipped, NaN -> 0. Grey images are repeated to RGB
    as torch's writer does.
    """
    if hwc.dtype == np.uint8:
        out = hwc
    elif hwc.dtype == np.bool_:
        out = hwc.astype(np.uint8) * np.uint8(255)
    else:
        work = hwc.astype(np.float64 if hwc.dtype == np.float64 else np.float32)
        work *= 255
        np.nan_to_num(work, copy=False, nan=0.0)
        np.clip(work, 0, 255, out=work)
        out = np.rint(work, out=work).astype(np.uint8)
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.ascontiguousarray(out)


# --------------------------------------------------------------------------- PR curves


def pr_curve_data(labels: np.ndarray, predictions: np.ndarray, num_thresholds: int,
                  weights: np.ndarray | None, what: str = "add_pr_curve()") -> np.ndarray:
    """The ``(6, num_thresholds)`` array TensorBoard's PR-curve plugin reads.

    Rows: true positives, false positives, true negatives, false negatives, precision,
    recall, at thresholds ``i / (num_thresholds - 1)``; the same counting as TensorBoard's
    own ``pr_curve`` summary and torch's writer.
    """
    labels = np.asarray(labels).reshape(-1)
    predictions = np.asarray(predictions).reshape(-1)
    if labels.size != predictions.size:
        raise ValueError(
            f"{what}: labels and predictions must have the same number of elements, got "
            f"{labels.size} and {predictions.size}"
        )
    if labels.size == 0:
        raise ValueError(f"{what}: labels and predictions are empty")
    if predictions.dtype.kind not in "biuf" or labels.dtype.kind not in "biuf":
        raise TypeError(f"{what}: labels and predictions must be numeric")
    predictions = predictions.astype(np.float64)
    if not np.all((predictions >= 0) & (predictions <= 1)):
        raise ValueError(f"{what}: predictions must lie in [0, 1] (and not be NaN)")
    w = 1.0 if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if weights is not None and np.size(w) not in (1, labels.size):
        raise ValueError(
            f"{what}: weights must be a scalar or have {labels.size} elements, got {np.size(w)}"
        )
    bucket = np.floor(predictions * (num_thresholds - 1)).astype(np.int64)
    positive = labels.astype(np.float64)
    tp_buckets = np.bincount(bucket, weights=positive * w, minlength=num_thresholds)
    fp_buckets = np.bincount(bucket, weights=(1.0 - positive) * w, minlength=num_thresholds)
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / np.maximum(1e-7, tp + fn)
    return np.stack([tp, fp, tn, fn, precision, recall])
