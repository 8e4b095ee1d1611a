"""Text formatting of tensors, matching PyTorch's ``repr`` character for character.

The public entry point is :func:`format_tensor`, which turns the values of a tensor
(a host ``numpy.ndarray``) plus its metadata into the string ``repr(tensor)`` shows, e.g.::

    tensor([[0.5000, 1.0000],
            [2.0000, 3.0000]], device='cuda:0', requires_grad=True)

The rules are PyTorch's (``torch/_tensor_str.py``):

* Floating point values share one format chosen from the nonzero finite values: integer
  valued data prints as ``1.``; otherwise fixed point with ``precision`` decimals; scientific
  notation when ``max/min > 1000``, ``max > 1e8`` or ``min < 1e-4`` (or as forced by
  ``sci_mode``). Every element is right-aligned to the widest one.
* Complex values get two such formats, one chosen from the real parts and one from the
  imaginary parts. An element prints as the right-aligned real part followed directly by the
  imaginary part with its sign (``+`` added when it has none: ``1.+2.j``, ``0.-0.j``,
  ``nan+nanj``) and a ``j``; the imaginary part is not padded, so elements may differ in width,
  but line wrapping still counts both widths.
* Rows wrap so that no line is longer than ``linewidth`` (indentation included).
* Above ``threshold`` elements only ``edgeitems`` entries are shown at each end of every
  dimension, with ``...`` in between; the format is then chosen from the shown values only.
* Suffixes follow the values: ``device=`` (non-CPU only), ``size=`` (empty tensors that are not
  1-d), ``dtype=`` (omitted for the default float dtype, its complex counterpart, ``int64``
  and ``bool``), then ``grad_fn=<...>`` or ``requires_grad=True``.

Print options are module level and set with :func:`set_printoptions`, as in PyTorch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._dtype import repr_module
from .backends import sync_debug

__all__ = ["format_tensor", "get_printoptions", "printoptions", "set_printoptions"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTS = _PrintOptions()

_PROFILES: dict[str, dict[str, float]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}

# Integer-like dtypes whose name PyTorch never prints (besides the default float dtype).
_ALWAYS_IMPLICIT = frozenset({"int64", "bool"})


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set the options used when tensors are printed (same meaning as ``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point for floating point values (default 4).
        threshold: number of elements above which the output is summarised (default 1000).
        edgeitems: entries shown at each end of a summarised dimension (default 3).
        linewidth: characters per line before wrapping (default 80).
        profile: ``'default'``, ``'short'`` or ``'full'``; applied first, then the others.
        sci_mode: ``True``/``False`` forces scientific notation on/off; ``None`` (the default,
            and what every call without it restores) lets the values decide.

    Example:
        >>> set_printoptions(precision=2)
        >>> format_tensor(np.array([1.12345], dtype=np.float32))
        'tensor([1.12])'
        >>> set_printoptions(profile="default")
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions(): unknown profile {profile!r}; "
                f"expected one of {sorted(_PROFILES)}"
            )
        for name, value in _PROFILES[profile].items():
            setattr(_OPTS, name, value)
    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    # As in PyTorch, sci_mode is always assigned: omitting it resets it to automatic.
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current print options as a dict accepted by :func:`set_printoptions`.

    Example:
        >>> get_printoptions()["precision"]
        4
    """
    return dataclasses.asdict(_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Context manager that applies :func:`set_printoptions` and restores the old options.

    Example:
        >>> with printoptions(precision=1):
        ...     format_tensor(np.array([0.25], dtype=np.float32))
        'tensor([0.2])'
    """
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


class _Formatter:
    """Chooses one format and width for all elements of a tensor (PyTorch's rules)."""

    def __init__(self, sample: np.ndarray) -> None:
        self.floating = sample.dtype.kind in "fV"  # "V": bfloat16
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = sample.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.width = max(self.width, len(str(value)))
            return

        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return  # only zeros / nan / inf: PyTorch keeps int mode and ignores sci_mode
        # Decide in float64 so that float16 data cannot overflow the range ratio.
        magnitude = np.abs(shown.astype(np.float64))
        smallest, largest = float(magnitude.min()), float(magnitude.max())
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if _OPTS.sci_mode is None:
            self.sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        else:
            self.sci_mode = bool(_OPTS.sci_mode)

        precision = _OPTS.precision
        values = shown.tolist()
        if self.sci_mode:
            lengths = (len(f"{v:.{precision}e}") for v in values)
        elif self.int_mode:
            # One more for the '.' appended to integral floats.
            lengths = (len(f"{v:.0f}") + 1 for v in values)
        else:
            lengths = (len(f"{v:.{precision}f}") for v in values)
        self.width = max(self.width, max(lengths))

    def format(self, value: float | int | bool) -> str:
        """Format one Python scalar, right-aligned to the common width."""
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.width}.{_OPTS.precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if math.isfinite(value):
                    text += "."
            else:
                text = f"{value:.{_OPTS.precision}f}"
        else:
            text = str(value)
        return text.rjust(self.width)


def _element_str(value: Any, fmt: _Formatter, imag_fmt: _Formatter | None) -> str:
    """Text of one element; ``imag_fmt`` is given for complex values (``value`` is a complex)."""
    if imag_fmt is None:
        return fmt.format(value)
    real_text = fmt.format(value.real)
    # The imaginary part loses its padding; '+' goes in front unless it has a sign already
    # (negative values, -0., -inf: PyTorch keeps the sign of negative zero too).
    imag_text = (imag_fmt.format(value.imag) + "j").lstrip()
    if imag_text[0] in "+-":
        return real_text + imag_text
    return real_text + "+" + imag_text


def _edge_sample(arr: np.ndarray, edgeitems: int) -> np.ndarray:
    """Keep ``edgeitems`` entries at each end of every dimension longer than ``2*edgeitems``."""
    for axis, size in enumerate(arr.shape):
        if size > 2 * edgeitems:
            head = np.take(arr, np.arange(edgeitems), axis=axis)
            tail = np.take(arr, np.arange(size - edgeitems, size), axis=axis)
            arr = np.concatenate((head, tail), axis=axis)
    return arr


def _vector_str(
    row: np.ndarray,
    cut: bool,
    indent: int,
    fmt: _Formatter,
    imag_fmt: _Formatter | None,
    edgeitems: int,
) -> str:
    # Width of one entry plus ', '; complex entries add the imaginary width and the 'j' (a '+'
    # put before a nonnegative imaginary part is not counted, as in PyTorch).
    element_width = fmt.width + 2
    if imag_fmt is not None:
        element_width += imag_fmt.width + 1
    per_line = max(1, math.floor((_OPTS.linewidth - indent) / element_width))
    values = row.tolist()
    if cut:
        items = [_element_str(v, fmt, imag_fmt) for v in values[:edgeitems]] + [" ..."]
        items += [_element_str(v, fmt, imag_fmt) for v in values[edgeitems:]]
    else:
        items = [_element_str(v, fmt, imag_fmt) for v in values]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _block_str(
    arr: np.ndarray,
    cuts: tuple[bool, ...],
    indent: int,
    fmt: _Formatter,
    imag_fmt: _Formatter | None,
    edgeitems: int,
) -> str:
    """Nested-bracket text of ``arr`` (already reduced to its shown entries)."""
    if arr.ndim == 0:
        return _element_str(arr.item(), fmt, imag_fmt)
    if arr.ndim == 1:
        return _vector_str(arr, cuts[0], indent, fmt, imag_fmt, edgeitems)
    parts = [_block_str(sub, cuts[1:], indent + 1, fmt, imag_fmt, edgeitems) for sub in arr]
    if cuts[0]:
        parts = parts[:edgeitems] + ["..."] + parts[edgeitems:]
    # Blocks of rank k are separated by k-1 blank lines, as in NumPy and PyTorch.
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _values_str(arr: np.ndarray, indent: int) -> str:
    if arr.size > _OPTS.threshold:
        edgeitems = _OPTS.edgeitems
        if not edgeitems and arr.ndim:
            return "[...]"
        cuts = tuple(size > 2 * edgeitems for size in arr.shape)
        shown = _edge_sample(arr, edgeitems)
    else:
        edgeitems = 0
        cuts = (False,) * arr.ndim
        shown = arr
    if shown.dtype.kind == "c":
        # Real and imaginary parts each choose their own format from their own values.
        return _block_str(
            shown, cuts, indent, _Formatter(shown.real), _Formatter(shown.imag), edgeitems
        )
    return _block_str(shown, cuts, indent, _Formatter(shown), None, edgeitems)


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    pieces = [text]
    # PyTorch's measure of the last line (it over-counts by 2 on a single line; kept for parity).
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        # Wrap where PyTorch wraps: measure 'dtype=gpuarr.x' as PyTorch's 'dtype=torch.x', so
        # the text is PyTorch's with the module renamed (its 2-character slack above keeps the
        # one extra character within linewidth).
        size = len(suffix.replace(f"{repr_module[0]}.", "torch."))
        if last_line_len + size + 2 > _OPTS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            last_line_len = indent + size
        else:
            pieces.append(", " + suffix)
            last_line_len += size + 2
    pieces.append(")")
    return "".join(pieces)


def _to_host(arr: Any) -> np.ndarray:
    if isinstance(arr, np.ndarray):
        return arr
    getter = getattr(arr, "get", None)  # CuPy arrays refuse implicit host conversion
    if callable(getter) and not isinstance(arr, np.generic):
        if arr.size:  # printing waits for the device, as torch's does
            sync_debug.check()
        return np.asarray(getter())
    return np.asarray(arr)


def format_tensor(
    arr: Any,
    *,
    dtype_name: str | None = None,
    device: str | None = None,
    requires_grad: bool = False,
    grad_fn_name: str | None = None,
    prefix: str = "tensor(",
    default_float_dtype: str = "float32",
) -> str:
    """Return PyTorch's ``repr`` text for a tensor with these values and attributes.

    Args:
        arr: the tensor's values: a ``numpy.ndarray`` (a CuPy array is copied to the host).
        dtype_name: the gpuarr dtype name (``'float32'``, ``'int64'``, ``'bool'``...). Defaults
            to ``arr.dtype.name``, which is the same name for every supported dtype.
        device: ``str(tensor.device)``; ``None`` or ``'cpu'`` prints no device suffix.
        requires_grad: printed as ``requires_grad=True`` when no ``grad_fn_name`` is given.
        grad_fn_name: class name of the tensor's ``grad_fn`` (e.g. ``'MulBackward0'``) or None.
        prefix: text before the values; its length sets the indentation of wrapped lines.
        default_float_dtype: name of the current default float dtype. Its name, that of the
            matching default complex dtype (``complex128`` when it is ``float64``, else
            ``complex64``), ``int64`` and ``bool`` are not printed (``dtype=gpuarr.<name>`` is
            printed for the others, and for every dtype but the default float one when the
            tensor is empty).

    Returns:
        The full text, e.g. ``"tensor([1., 2.], dtype=gpuarr.float64)"``.

    Example:
        >>> format_tensor(np.array([0.0, 1.0], dtype=np.float32))
        'tensor([0., 1.])'
        >>> format_tensor(np.array(3.5, dtype=np.float64), device="cuda:0")
        "tensor(3.5000, device='cuda:0', dtype=gpuarr.float64)"
        >>> format_tensor(np.array([1 + 2j, 3 - 0.5j], dtype=np.complex64))
        'tensor([1.+2.0000j, 3.-0.5000j])'
    """
    arr = _to_host(arr)
    if dtype_name is None:
        dtype_name = arr.dtype.name
    indent = len(prefix)
    suffixes: list[str] = []
    if device is not None and device != "cpu":
        suffixes.append(f"device='{device}'")

    dtype_suffix = f"dtype={repr_module[0]}.{dtype_name}"
    if arr.size == 0:
        # Nothing to infer the dtype from, so only the default float dtype stays implicit.
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype_name != default_float_dtype:
            suffixes.append(dtype_suffix)
        body = "[]"
    else:
        if not _OPTS.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        # As PyTorch: the default complex dtype is complex128 only with a float64 default.
        default_complex = "complex128" if default_float_dtype == "float64" else "complex64"
        implicit = _ALWAYS_IMPLICIT | {default_float_dtype, default_complex}
        if dtype_name not in implicit:
            suffixes.append(dtype_suffix)
        body = _values_str(arr, indent)

    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
