"""PyTorch's ``torch.backends`` flags, and the top-level switches programs set beside them.

``gpuarr.backends`` is gpuarr's NumPy/CuPy dispatch layer, so torch's flag namespaces live here
and are reached two ways:

* ``gpuarr.backends.cudnn`` / ``.cuda`` / ``.mps`` (attributes the dispatch package hands out
  from this module on first access), for code written against gpuarr;
* ``torch.backends`` itself under ``python -m gpuarr.run_torch``, which maps to this module, so
  ``torch.backends.cudnn.benchmark = True`` sets the same flag.

gpuarr calls neither cuDNN nor TF32 tensor-core paths of its own: CuPy decides how a matmul or
convolution runs. The flags are therefore settable and readable, as torch's are, and documented
as having no effect where gpuarr has no such knob. Also here: ``set_float32_matmul_precision``,
``get_float32_matmul_precision`` (linked to ``cuda.matmul.allow_tf32`` as in torch) and
``use_deterministic_algorithms``.

Example:
    >>> gpuarr.backends.cudnn.benchmark = True          # accepted; gpuarr has no cuDNN autotuner
    >>> gpuarr.backends.mps.is_available()
    False
    >>> gpuarr.set_float32_matmul_precision("high")
    >>> gpuarr.backends.cuda.matmul.allow_tf32
    True
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

__all__ = [
    "cudnn", "cuda", "mps", "set_float32_matmul_precision", "get_float32_matmul_precision",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
]

_PRECISIONS = ("highest", "high", "medium")
_state = {"matmul_precision": "highest", "deterministic": False, "warn_only": False}


def set_float32_matmul_precision(precision: str) -> None:
    """Record the float32 matmul precision torch programs ask for ('highest', 'high',
    'medium').

    gpuarr runs float32 matmuls as the backend does (NumPy's BLAS; CuPy's cuBLAS with its own
    default math mode), so this is a documented no-op beyond being read back by
    :func:`get_float32_matmul_precision` and ``backends.cuda.matmul.allow_tf32`` (True unless
    'highest'), as in torch.

    Args:
        precision: 'highest', 'high' or 'medium'.

    Any other string warns (as torch does) and changes nothing.

    Example:
        >>> gpuarr.set_float32_matmul_precision("high")
    """
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision last set ('highest' by default, as in torch).

    Returns:
        'highest', 'high' or 'medium'.

    Example:
        >>> gpuarr.get_float32_matmul_precision()
        'highest'
    """
    return _state["matmul_precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record whether the program asks for deterministic algorithms.

    gpuarr has no nondeterministic-algorithm registry to consult: its CPU ops are
    deterministic, and on CUDA the scatter-add behind index/embedding backward uses atomics as
    torch's does. The flag is stored and read back by
    :func:`are_deterministic_algorithms_enabled`; it changes no kernel (a documented no-op).

    Args:
        mode: True to ask for deterministic algorithms.
        warn_only: torch's option to warn instead of raising; stored as given.

    Example:
        >>> gpuarr.use_deterministic_algorithms(True)
        >>> gpuarr.are_deterministic_algorithms_enabled()
        True
    """
    if not isinstance(mode, bool):
        raise TypeError("use_deterministic_algorithms(): argument 'mode' (position 1) must be "
                        f"bool, not {type(mode).__name__}")
    _state["deterministic"] = mode
    _state["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """Whether :func:`use_deterministic_algorithms` was last called with True.

    Returns:
        The stored flag (False by default).
    """
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` given with :func:`use_deterministic_algorithms`.

    Returns:
        The stored flag (False by default).
    """
    return _state["warn_only"]


class _Namespace:
    """Base of the flag namespaces: prints like the module it stands for."""

    _name = ""

    def __repr__(self) -> str:
        return f"<gpuarr flags {self._name!r}>"


class _Cudnn(_Namespace):
    """``torch.backends.cudnn``: cuDNN switches. gpuarr never calls cuDNN (CuPy runs its
    convolutions), so every flag is accepted, stored and read back, and changes nothing.

    Attributes:
        enabled: torch's switch to use cuDNN (default True); no effect.
        benchmark: torch's autotuner switch (default False); no effect.
        deterministic: torch's deterministic-convolution switch (default False); no effect.
        allow_tf32: TF32 in cuDNN convolutions (default True); no effect.
        benchmark_limit: autotuner candidates (default 10); no effect.

    Example:
        >>> gpuarr.backends.cudnn.benchmark = True
        >>> gpuarr.backends.cudnn.is_available()
        False
    """

    _name = "torch.backends.cudnn"

    def __init__(self) -> None:
        self.enabled = True
        self.benchmark = False
        self.deterministic = False
        self.allow_tf32 = True
        self.benchmark_limit = 10

    def is_available(self) -> bool:
        """False: gpuarr does not use cuDNN.

        Returns:
            False.
        """
        return False

    def is_acceptable(self, tensor) -> bool:
        """False: no tensor is handed to cuDNN by gpuarr.

        Args:
            tensor: any tensor.

        Returns:
            False.
        """
        return False

    def version(self) -> int | None:
        """None, as torch answers when cuDNN is not available.

        Returns:
            None.
        """
        return None

    @contextlib.contextmanager
    def flags(self, enabled: bool = False, benchmark: bool = False,
              benchmark_limit: int = 10, deterministic: bool = False,
              allow_tf32: bool = True) -> Iterator[None]:
        """Set the cuDNN flags inside a ``with`` block and restore them after (no effect on
        gpuarr's kernels).

        Example:
            >>> with gpuarr.backends.cudnn.flags(enabled=False):
            ...     pass
        """
        names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
        old = {n: getattr(self, n) for n in names}
        self.enabled, self.benchmark, self.benchmark_limit = enabled, benchmark, benchmark_limit
        self.deterministic, self.allow_tf32 = deterministic, allow_tf32
        try:
            yield
        finally:
            for n, v in old.items():
                setattr(self, n, v)


class _CudaMatmul(_Namespace):
    """``torch.backends.cuda.matmul``: matmul precision switches (no effect in gpuarr, whose
    CUDA matmuls run as cuBLAS does by CuPy's defaults).

    Attributes:
        allow_tf32: True unless the float32 matmul precision is 'highest' (the default);
            setting it sets that precision ('high' / 'highest'), as in torch.
        allow_fp16_reduced_precision_reduction: stored (default True).
        allow_bf16_reduced_precision_reduction: stored (default True).
    """

    _name = "torch.backends.cuda.matmul"

    def __init__(self) -> None:
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        return get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        set_float32_matmul_precision("high" if value else "highest")


class _Cuda(_Namespace):
    """``torch.backends.cuda``: CUDA backend switches.

    ``matmul`` holds the matmul precision flags; the scaled-dot-product-attention switches
    (``enable_flash_sdp`` ...) are stored and read back and select nothing, since gpuarr has
    one attention implementation.

    Example:
        >>> gpuarr.backends.cuda.matmul.allow_tf32 = True
        >>> gpuarr.backends.cuda.is_built()
        True
    """

    _name = "torch.backends.cuda"

    def __init__(self) -> None:
        self.matmul = _CudaMatmul()
        self._sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}

    def is_built(self) -> bool:
        """True: gpuarr ships its CUDA backend (CuPy). Like torch's, this says nothing about
        whether a GPU is usable here; ask ``gpuarr.cuda.is_available()`` for that.

        Returns:
            True.
        """
        return True

    def flash_sdp_enabled(self) -> bool:
        """The stored flash-attention switch (True by default; selects nothing)."""
        return self._sdp["flash"]

    def enable_flash_sdp(self, enabled: bool) -> None:
        """Store the flash-attention switch (no effect in gpuarr)."""
        self._sdp["flash"] = bool(enabled)

    def mem_efficient_sdp_enabled(self) -> bool:
        """The stored memory-efficient-attention switch (True by default)."""
        return self._sdp["mem_efficient"]

    def enable_mem_efficient_sdp(self, enabled: bool) -> None:
        """Store the memory-efficient-attention switch (no effect in gpuarr)."""
        self._sdp["mem_efficient"] = bool(enabled)

    def math_sdp_enabled(self) -> bool:
        """The stored math-attention switch (True by default)."""
        return self._sdp["math"]

    def enable_math_sdp(self, enabled: bool) -> None:
        """Store the math-attention switch (no effect in gpuarr)."""
        self._sdp["math"] = bool(enabled)

    def cudnn_sdp_enabled(self) -> bool:
        """The stored cuDNN-attention switch (True by default)."""
        return self._sdp["cudnn"]

    def enable_cudnn_sdp(self, enabled: bool) -> None:
        """Store the cuDNN-attention switch (no effect in gpuarr)."""
        self._sdp["cudnn"] = bool(enabled)


class _Mps(_Namespace):
    """``torch.backends.mps``: Apple's Metal backend, which gpuarr does not have.

    Example:
        >>> gpuarr.backends.mps.is_available()
        False
    """

    _name = "torch.backends.mps"

    def is_available(self) -> bool:
        """False: gpuarr has no Metal backend.

        Returns:
            False.
        """
        return False

    def is_built(self) -> bool:
        """False: gpuarr has no Metal backend.

        Returns:
            False.
        """
        return False


cudnn = _Cudnn()
cuda = _Cuda()
mps = _Mps()
