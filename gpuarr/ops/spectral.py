"""Short-time Fourier transforms: ``stft`` and ``istft`` (torch's, as functions and Tensor
methods).

``stft`` pads the signal (``center``), cuts it into frames of ``win_length`` samples every
``hop_length``, multiplies them by the window, zero-pads each frame to ``n_fft`` around the
window's place and transforms it with :mod:`gpuarr.fft`. ``istft``
inverts the frames' transforms, multiplies them by the window again and overlap-adds them,
dividing by the overlap-added squared window (Griffin and Lim's least-squares estimate, as
torch). Both are built from differentiable ops, so gradients flow to the signal (or
spectrum) and to the window, in real and complex dtypes.

Example:
    >>> x = gpuarr.randn(1000)
    >>> w = gpuarr.hann_window(64)
    >>> S = gpuarr.stft(x, 64, hop_length=16, window=w, return_complex=True)
    >>> S.shape
    gpuarr.Size([33, 63])
    >>> gpuarr.allclose(gpuarr.istft(S, 64, hop_length=16, window=w, length=1000), x,
    ...                 atol=1e-5)
    True
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

from .. import _dtype as D
from .. import fft as _fft
from .._core.function import Function, apply_raw
from .._core.tensor import TensorBase
from .._creation import ones, zeros
from ._registry import mixin, register
from .complex_ops import view_as_real
from .stacking import cat

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["stft", "istft"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


# --------------------------------------------------------------------------------------------
# framing and overlap-add, each the other's adjoint. Both work on hop-long blocks of the
# signal with slices only (no scatter-add), the same on every backend and for complex dtypes.


def _blocks(n: int, hop: int) -> int:
    return -(-n // hop)  # how many hop-long blocks a frame of n samples spans


class _Frames(Function):
    """Signal ``(B, L)`` -> ``T`` frames ``(B, T, n)``, frame ``i`` starting at sample
    ``i * hop`` (a copy: torch's ``unfold`` view, with overlap-add as its gradient)."""

    _node_name = "UnfoldBackward0"  # torch's node for the same frames
    _raw = True
    _complex_grad = True  # a real-linear map: the same adjoint for complex signals

    @staticmethod
    def forward(ctx, x, n, hop, t):
        xp = ctx.xp
        b, length = x.shape
        ctx.args = (hop, length)
        k = _blocks(n, hop)
        m = min(length, (t + k) * hop)
        buf = xp.zeros((b, (t + k) * hop), dtype=x.dtype)
        buf[:, :m] = x[:, :m]
        blocks = buf.reshape(b, t + k, hop)
        out = xp.empty((b, t, n), dtype=x.dtype)
        for j in range(k):  # block j of every frame at once
            w = min(hop, n - j * hop)
            out[:, :, j * hop:j * hop + w] = blocks[:, j:j + t, :w]
        return out

    @staticmethod
    def backward(ctx, g):
        hop, length = ctx.args
        return _overlap_add(g, hop, length), None, None, None


class _OverlapAdd(Function):
    """Frames ``(B, T, n)`` taken every ``hop`` samples -> the signal ``(B, length)`` they
    sum to (cut, or zero beyond ``(T - 1) * hop + n``)."""

    _node_name = "UnfoldBackwardBackward0"  # torch's istft overlap-adds with unfold_backward
    _raw = True
    _complex_grad = True

    @staticmethod
    def forward(ctx, frames, hop, length):
        xp = ctx.xp
        b, t, n = frames.shape
        ctx.args = (n, hop, t)
        k = _blocks(n, hop)
        # frame i's block j lands in output block i + j: one vectorised add per j
        blocks = xp.zeros((b, max(t + k, -(-length // hop)), hop), dtype=frames.dtype)
        for j in range(k):
            w = min(hop, n - j * hop)
            blocks[:, j:j + t, :w] += frames[:, :, j * hop:j * hop + w]
        return blocks.reshape(b, -1)[:, :length].copy()

    @staticmethod
    def backward(ctx, g):
        n, hop, t = ctx.args
        return apply_raw(_Frames, g, n, hop, t), None, None


def _frames(x: Tensor, n: int, hop: int, t: int) -> Tensor:
    return apply_raw(_Frames, x, n, hop, t)


def _overlap_add(frames: Tensor, hop: int, length: int) -> Tensor:
    return apply_raw(_OverlapAdd, frames, hop, length)


# --------------------------------------------------------------------------------------------
# texts of torch's errors


def _type_text(t: Tensor) -> str:
    """How torch's stft/istft messages name a tensor's type ('torch.FloatTensor' there,
    'CPUComplexFloatType' for complex tensors, which have no legacy type name)."""
    if t.dtype.is_complex:
        where = "CPU" if t.device.type == "cpu" else "CUDA"
        return f"{where}{D._SCALAR_NAMES[t.dtype.name]}Type"
    return t.type()


def _opt(v) -> str:
    return "None" if v is None else str(int(v))


def _window_text(window) -> str:
    return "None" if window is None else f"{_type_text(window)}{{{list(window.shape)}}}"


def _check_int(v, arg: str, fn: str, optional: bool = True) -> None:
    if (v is None and optional) or (isinstance(v, numbers.Integral) and not isinstance(v, bool)):
        return
    raise TypeError(f"{fn}(): argument '{arg}' must be int, not {type(v).__name__}")


# --------------------------------------------------------------------------------------------
# padding of the signal's last dim (center=True), with differentiable ops


def _pad_signal(x: Tensor, p: int, mode: str) -> Tensor:
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    n = x.shape[-1]
    # torch pads a (1, 1, L) / (1, B, L) view: its error names that shape
    shape3 = [1] * (3 - x.ndim) + list(x.shape)
    if mode == "reflect" and p >= n:
        raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                           f"input dimension, but got: padding ({p}, {p}) at dimension "
                           f"{len(shape3) - 1} of input {shape3}")
    if mode == "circular" and p > n:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    if mode == "replicate" and n == 0:
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: {shape3}")
    if p == 0:
        return x
    if mode == "constant":
        z = zeros(*x.shape[:-1], p, dtype=x.dtype, device=x.device)
        left = right = z
    elif mode == "reflect":
        left = x.narrow(-1, 1, p).flip(-1)
        right = x.narrow(-1, n - 1 - p, p).flip(-1)
    elif mode == "replicate":
        left = x.narrow(-1, 0, 1).expand(*x.shape[:-1], p)
        right = x.narrow(-1, n - 1, 1).expand(*x.shape[:-1], p)
    else:  # circular
        left = x.narrow(-1, n - p, p)
        right = x.narrow(-1, 0, p)
    return cat([left, x, right], -1)


def _frame_pad(frames: Tensor, left: int, right: int) -> Tensor:
    """Zero-pad the last dim of ``frames`` by ``left`` and ``right``."""
    if left == 0 and right == 0:
        return frames
    parts = []
    if left:
        parts.append(zeros(*frames.shape[:-1], left, dtype=frames.dtype, device=frames.device))
    parts.append(frames)
    if right:
        parts.append(zeros(*frames.shape[:-1], right, dtype=frames.dtype, device=frames.device))
    return cat(parts, -1)


# --------------------------------------------------------------------------------------------
# stft


def stft(input: Tensor, n_fft: int, hop_length: int | None = None,
         win_length: int | None = None, window: Tensor | None = None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """The short-time Fourier transform of a signal (torch.stft).

    Frame ``t`` holds samples ``t * hop_length ...`` of the (padded) signal; it is multiplied
    by ``window`` (centred in ``n_fft`` samples when ``win_length < n_fft``) and transformed:
    ``X[w, t] = sum_k window[k] * input[t * hop_length + k] * exp(-2 pi i w k / n_fft)``.

    Args:
        input: a 1-d signal ``(L,)`` or a batch ``(B, L)``, real or complex.
        n_fft: the size of the Fourier transform.
        hop_length: the distance between frames (default ``n_fft // 4``).
        win_length: the window's size (default ``n_fft``), at most ``n_fft``.
        window: a 1-d tensor of ``win_length`` samples (default: all ones, with a warning).
        center: pad the signal by ``n_fft // 2`` on both sides so that frame ``t`` is
            centred at sample ``t * hop_length``.
        pad_mode: the padding for ``center``: 'reflect' (default), 'constant',
            'replicate' or 'circular'.
        normalized: scale by ``1 / sqrt(n_fft)``.
        onesided: keep only the ``n_fft // 2 + 1`` non-negative frequencies (default: True
            for real input and window; it must be False when either is complex).
        return_complex: return a complex tensor (required for real inputs; False gives
            ``view_as_real`` of it, deprecated in torch).
        align_to_window: with ``center=False`` only: frames of ``win_length`` samples start
            every ``hop_length`` samples (the window's place, not the ``n_fft`` frame's).

    Returns:
        A complex tensor ``(B?, N, T)``: ``N = n_fft // 2 + 1`` (onesided) or ``n_fft``
        frequencies, ``T`` frames.

    Example:
        >>> S = gpuarr.stft(gpuarr.randn(2, 400), 128, window=gpuarr.hann_window(128),
        ...                 return_complex=True)
        >>> S.shape
        gpuarr.Size([2, 65, 13])
    """
    if not isinstance(input, TensorBase):
        raise TypeError(f"stft(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    _check_int(n_fft, "n_fft", "stft", optional=False)
    _check_int(hop_length, "hop_length", "stft")
    _check_int(win_length, "win_length", "stft")
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if center:
        # torch pads a 3-d view ((1, 1, 1) for a 0-d input, which the checks below refuse)
        input = _pad_signal(input.reshape(1, 1, 1) if input.ndim == 0 else input, n_fft // 2,
                            pad_mode)

    complex_in = input.dtype.is_complex or (window is not None and window.dtype.is_complex)
    rc = complex_in if return_complex is None else bool(return_complex)
    if not rc:
        if return_complex is None:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch "
                      "release, stft will return complex tensors for all inputs, and "
                      "return_complex=False will raise an error.\nNote: you can still call "
                      "torch.view_as_real on the complex output to recover the old return "
                      "format.", UserWarning, stacklevel=2)
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied,which "
                      "is known to cause spectral leakage. Other windows such as "
                      "torch.hann_window or torch.hamming_window are recommended to reduce "
                      "spectral leakage.To suppress this warning and use a rectangular window, "
                      "explicitly set `window=torch.ones(n_fft, device=<device>)`.",
                      UserWarning, stacklevel=2)
    hop = n_fft >> 2 if hop_length is None else int(hop_length)
    win = n_fft if win_length is None else int(win_length)

    def fail(text: str) -> RuntimeError:
        return RuntimeError(
            f"stft({_type_text(input)}{list(input.shape)}, n_fft={n_fft}, hop_length={hop}, "
            f"win_length={win}, window={_window_text(window)}, normalized={int(normalized)}, "
            f"onesided={_opt(onesided)}, return_complex={_opt(return_complex)}, "
            f"align_to_window={_opt(align_to_window)}) : {text}")

    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise fail("expected a tensor of floating point or complex values")
    if input.ndim not in (1, 2):
        raise fail("expected a 1D or 2D tensor")
    x = input.unsqueeze(0) if input.ndim == 1 else input
    length = x.shape[1]
    if n_fft <= 0 or n_fft > length:
        # (torch's text prints win_length here)
        raise fail(f"expected 0 < n_fft < {length}, but got n_fft={win}")
    if hop <= 0:
        raise fail(f"expected hop_length > 0, but got hop_length={hop}")
    if win <= 0 or win > n_fft:
        raise fail(f"expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise fail(f"expected a 1D window tensor of size equal to win_length={win}, but got "
                   f"window with size {list(window.shape)}")
    if input.dtype in (D.float16, D.bfloat16):
        raise RuntimeError(f"MKL FFT doesn't support tensors of type: "
                           f"{D._SCALAR_NAMES[input.dtype.name]}")

    left = (n_fft - win) // 2
    if align_to_window:
        n_frames = 1 + (length - win) // hop
        start = 0
    else:
        n_frames = 1 + (length - n_fft) // hop
        start = left  # only the window's samples of each n_fft frame matter
    frames = _frames(x.narrow(1, start, (n_frames - 1) * hop + win), win, hop, n_frames)
    if window is not None:
        frames = frames * window
    frames = _frame_pad(frames, left, n_fft - win - left)

    complex_fft = frames.dtype.is_complex
    one = (not complex_fft) if onesided is None else bool(onesided)
    norm = "ortho" if normalized else "backward"
    if complex_fft:
        if one:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        out = _fft.fft(frames, dim=-1, norm=norm)
    elif one:
        out = _fft.rfft(frames, dim=-1, norm=norm)
    else:
        out = _fft.fft(frames, dim=-1, norm=norm)
    out = out.transpose(1, 2)
    if input.ndim == 1:
        out = out.squeeze(0)
    return out if rc else view_as_real(out)


# --------------------------------------------------------------------------------------------
# istft


def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """The inverse short-time Fourier transform (torch.istft): the least-squares signal
    whose :func:`stft` (with the same arguments) is ``input``.

    Args:
        input: a complex tensor ``(B?, N, T)`` as :func:`stft` returns it.
        n_fft: the size of the Fourier transform.
        hop_length: the distance between frames (default ``n_fft // 4``).
        win_length: the window's size (default ``n_fft``).
        window: the window :func:`stft` used (default: all ones).
        center: whether :func:`stft` padded the signal (the padding is cut off again).
        normalized: whether :func:`stft` was normalized.
        onesided: whether ``input`` has only the non-negative frequencies (default: when
            ``N != n_fft``).
        length: the signal's length (cut or zero-padded to it); default: all of it that
            the frames cover, less the ``center`` padding.
        return_complex: return a complex signal (``onesided`` must then be False).

    Returns:
        The signal ``(B?, length)``: real, or complex with ``return_complex``.

    Example:
        >>> w = gpuarr.hann_window(16)
        >>> x = gpuarr.randn(100)
        >>> S = gpuarr.stft(x, 16, window=w, return_complex=True)
        >>> gpuarr.istft(S, 16, window=w, length=100).shape
        gpuarr.Size([100])
    """
    if not isinstance(input, TensorBase):
        raise TypeError(f"istft(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    _check_int(n_fft, "n_fft", "istft", optional=False)
    _check_int(hop_length, "hop_length", "istft")
    _check_int(win_length, "win_length", "istft")
    _check_int(length, "length", "istft")
    if not input.dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    hop = n_fft >> 2 if hop_length is None else int(hop_length)
    win = n_fft if win_length is None else int(win_length)

    def fail(text: str, sep: str = " : ") -> RuntimeError:
        return RuntimeError(
            f"istft({_type_text(input)}{list(input.shape)}, n_fft={n_fft}, "
            f"hop_length={hop}, win_length={win}, window={_window_text(window)}, "
            f"center={int(center)}, normalized={int(normalized)}, onesided={_opt(onesided)}, "
            f"length={'None' if length is None else length}, "
            f"return_complex={int(return_complex)}){sep}{text}")

    # torch checks the (..., 2) real view: its dims are one more than the complex input's
    real_ndim = input.ndim + 1
    if real_ndim < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-real_ndim}, {real_ndim - 1}], but got -3)")
    n_frames = input.shape[-1]
    fft_size = input.shape[-2]
    if input.numel() == 0:
        raise fail("input tensor cannot be empty.")
    if real_ndim not in (3, 4):
        raise fail(f"expected a tensor with 3 or 4 dimensions, but got {real_ndim}")
    one = (fft_size != n_fft) if onesided is None else bool(onesided)
    if one and n_fft // 2 + 1 != fft_size:
        raise fail("expected the frequency dimension (3rd to the last) of the input tensor to "
                   "match n_fft / 2 + 1 when onesided=True, but got " + str(fft_size))
    if not one and n_fft != fft_size:
        raise fail("expected the frequency dimension (3rd to the last) of the input tensor to "
                   "match n_fft when onesided=False, but got " + str(fft_size))
    if not (0 < hop <= win):
        raise fail("expected 0 < hop_length <= win_length")
    if not (0 < win <= n_fft):
        raise fail("expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise fail("Invalid window shape. window has to be 1D and length of `win_length`")

    real_dt = D.float32 if input.dtype is D.complex64 else D.float64
    w = ones(win, dtype=real_dt, device=input.device) if window is None else window
    if win != n_fft:
        left = (n_fft - win) // 2
        w = _frame_pad(w.unsqueeze(0), left, n_fft - win - left).squeeze(0)

    spec = input.unsqueeze(0) if input.ndim == 2 else input
    spec = spec.transpose(1, 2)  # (B, T, N)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        if one:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = _fft.ifft(spec, dim=-1, norm=norm)
    else:
        if window is not None and window.dtype.is_complex:
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not one:
            spec = spec.narrow(-1, 0, n_fft // 2 + 1)
        frames = _fft.irfft(spec, n=n_fft, dim=-1, norm=norm)

    expected = n_fft + hop * (n_frames - 1)
    y = _overlap_add(frames * w, hop, expected)  # (B, expected)
    envelope = _overlap_add((w * w).expand(1, n_frames, n_fft), hop, expected)

    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = -(n_fft // 2)
    else:
        end = expected
    y = y[:, start:end]
    envelope = envelope[:, start:end]
    if envelope.numel() == 0:
        raise RuntimeError("min(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    if bool((envelope.abs().min() < 1e-11).item()):
        where = "CPU" if input.device.type == "cpu" else "CUDA"
        raise fail(f"1\n[ {where}BoolType{{}} ]", sep=" window overlap add min: ")
    y = y / envelope
    if input.ndim == 2:
        y = y.squeeze(0)
    if end > expected:
        warnings.warn("The length of signal is shorter than the length parameter. Result is "
                      "being padded with zeros in the tail. Please check your center and "
                      "hop_length settings.", UserWarning, stacklevel=2)
        y = _frame_pad(y, 0, end - expected)
    return y


register(__name__, {"stft": stft, "istft": istft})

SpectralMethods = mixin("SpectralMethods", __name__)
