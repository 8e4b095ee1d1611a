"""Differential tests: the text of complex tensors against PyTorch's ``repr`` of the same values.

PyTorch formats the real and the imaginary parts with separate formatters (each picks int /
fixed / scientific mode and a width from its own values), pads only the real part, and writes
the imaginary part with its sign and a ``j``. These tests feed the same complex data to both
libraries, for host arrays through :func:`format_tensor` and for gpuarr tensors on every device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import _tensor_str as torch_str

import gpuarr
from gpuarr._tensor_str import format_tensor
from tests.test_tensor_str import both_printoptions

COMPLEX_DTYPES = ["complex64", "complex128"]
# How the real and the imaginary parts are drawn (independently of each other).
KINDS = ["integral", "unit", "positive", "wide", "tiny", "huge", "special", "zero", "large_int"]
_PART_DTYPE = {"complex64": np.float32, "complex128": np.float64}


@contextlib.contextmanager
def default_dtype(name: str) -> Iterator[None]:
    """Set PyTorch's and gpuarr's default float dtype for the duration of a block."""
    old_torch, old_ours = torch.get_default_dtype(), gpuarr.get_default_dtype()
    torch.set_default_dtype(getattr(torch, name))
    gpuarr.set_default_dtype(getattr(gpuarr, name))
    try:
        yield
    finally:
        torch.set_default_dtype(old_torch)
        gpuarr.set_default_dtype(old_ours)


def torch_repr(arr: np.ndarray, requires_grad: bool = False, grad_fn: bool = False) -> str:
    """PyTorch's repr of ``arr`` with 'torch.' spelled 'gpuarr.'."""
    t = torch.from_numpy(arr.copy(order="C"))
    if requires_grad or grad_fn:
        t = t.clone().requires_grad_(True)
    if grad_fn:
        # clone keeps every value (t * 1 would turn 0+nanj into nan+nanj).
        t = t.clone()
    return repr(t).replace("torch.", "gpuarr.")


def _part(shape: tuple[int, ...], kind: str, rng: np.random.Generator) -> np.ndarray:
    """One real-valued part (float64) of the given flavour."""
    if kind == "integral":
        values = rng.integers(-5000, 5000, size=shape).astype(np.float64)
    elif kind == "large_int":
        # Integer valued but beyond 1e8: int mode and scientific notation together.
        values = rng.integers(-(10**12), 10**12, size=shape).astype(np.float64)
    elif kind == "unit":
        values = rng.standard_normal(shape)
    elif kind == "positive":
        values = rng.random(shape) * 10
    elif kind == "wide":
        # Magnitudes spread over many decades: forces scientific notation.
        values = rng.standard_normal(shape) * 10.0 ** rng.integers(-12, 14, size=shape)
    elif kind == "tiny":
        values = rng.standard_normal(shape) * 1e-6
    elif kind == "huge":
        values = rng.standard_normal(shape) * 1e9
    elif kind == "zero":
        values = rng.choice(np.array([0.0, -0.0]), size=shape)
    else:  # 'special': zeros, signed zeros and non-finite values mixed in
        values = rng.choice(
            np.array([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1.0, -2.5, 3.0]), size=shape
        )
    values = np.array(values, dtype=np.float64)
    if kind not in ("special", "zero") and values.size and rng.random() < 0.3:
        # Sprinkle non-finite values and zeros into some parts.
        flat = values.reshape(-1)
        picks = rng.integers(0, flat.size, size=max(1, flat.size // 5))
        flat[picks] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0]), size=picks.size)
    return values


def make_complex(
    dtype: str, shape: tuple[int, ...], real_kind: str, imag_kind: str, seed: int
) -> np.ndarray:
    """Complex values whose real and imaginary parts are drawn with the given flavours."""
    rng = np.random.default_rng(seed)
    out = np.empty(shape, dtype=dtype)
    # Assign the parts separately: re + 1j * im would turn an infinite im into nan + inf j.
    with np.errstate(over="ignore"):
        out.real = _part(shape, real_kind, rng).astype(_PART_DTYPE[dtype])
        out.imag = _part(shape, imag_kind, rng).astype(_PART_DTYPE[dtype])
    return out


def shapes() -> st.SearchStrategy[tuple[int, ...]]:
    small = st.lists(st.integers(0, 7), min_size=0, max_size=4).map(tuple)
    long_vector = st.integers(995, 1300).map(lambda n: (n,))
    wide_matrix = st.tuples(st.integers(1, 5), st.integers(150, 400))
    big = st.lists(st.integers(2, 13), min_size=3, max_size=4).map(tuple)
    return st.one_of(small, small, long_vector, wide_matrix, big)


def cuda_expected(arr: np.ndarray, device: str, default_float: str = "float32") -> str:
    """PyTorch's text for ``arr`` on ``device``: its value text and its suffix layout routine
    fed the suffixes a CUDA tensor gets (the oracle build has no CUDA)."""
    t = torch.from_numpy(arr.copy(order="C"))
    suffixes = [f"device='{device}'"]
    default_complex = "complex128" if default_float == "float64" else "complex64"
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        suffixes.append(f"dtype=torch.{arr.dtype.name}")
    else:
        body = torch_str._tensor_str(t, len("tensor("))
        if not torch_str.PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        if arr.dtype.name not in (default_float, default_complex, "int64", "bool"):
            suffixes.append(f"dtype=torch.{arr.dtype.name}")
    text = torch_str._add_suffixes("tensor(" + body, suffixes, len("tensor("), False)
    return text.replace("torch.", "gpuarr.")


def gpuarr_tensor(arr: np.ndarray, device: str) -> gpuarr.Tensor:
    """A gpuarr tensor holding ``arr`` (same dtype) on ``device``."""
    t = gpuarr.tensor(arr, device=device)
    assert t.dtype == getattr(gpuarr, arr.dtype.name)
    return t


def check_tensor_repr(arr: np.ndarray, device: str, default_float: str = "float32") -> None:
    """repr/str of the gpuarr tensor match PyTorch: exactly on CPU, with the suffix on CUDA."""
    check_repr_of(gpuarr_tensor(arr, device), arr, device, default_float)


def check_repr_of(
    t: gpuarr.Tensor, arr: np.ndarray, device: str, default_float: str = "float32"
) -> None:
    """repr/str of ``t`` (holding ``arr``'s values on ``device``) match PyTorch's for ``arr``."""
    text = repr(t)
    assert str(t) == text
    if device == "cpu":
        assert text == torch_repr(arr)
    else:
        dev = str(t.device)
        assert dev.startswith("cuda")
        assert text == cuda_expected(arr, dev, default_float)


# --------------------------------------------------------------------------- host arrays


@settings(max_examples=400, deadline=None)
@given(
    dtype=st.sampled_from(COMPLEX_DTYPES),
    shape=shapes(),
    real_kind=st.sampled_from(KINDS),
    imag_kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_torch_repr(
    dtype: str, shape: tuple[int, ...], real_kind: str, imag_kind: str, seed: int
) -> None:
    arr = make_complex(dtype, shape, real_kind, imag_kind, seed)
    assert format_tensor(arr, dtype_name=dtype) == torch_repr(arr)


@settings(max_examples=250, deadline=None)
@given(
    dtype=st.sampled_from(COMPLEX_DTYPES),
    shape=shapes(),
    real_kind=st.sampled_from(KINDS),
    imag_kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
    precision=st.integers(0, 8),
    threshold=st.sampled_from([0, 1, 5, 50, 1000, float("inf")]),
    edgeitems=st.integers(0, 4),
    linewidth=st.integers(10, 160),
    sci_mode=st.sampled_from([None, True, False]),
)
def test_matches_torch_repr_under_printoptions(
    dtype: str,
    shape: tuple[int, ...],
    real_kind: str,
    imag_kind: str,
    seed: int,
    precision: int,
    threshold: float,
    edgeitems: int,
    linewidth: int,
    sci_mode: bool | None,
) -> None:
    arr = make_complex(dtype, shape, real_kind, imag_kind, seed)
    with both_printoptions(
        precision=precision,
        threshold=threshold,
        edgeitems=edgeitems,
        linewidth=linewidth,
        sci_mode=sci_mode,
    ):
        assert format_tensor(arr) == torch_repr(arr)


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(COMPLEX_DTYPES),
    shape=shapes(),
    real_kind=st.sampled_from(KINDS),
    imag_kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
    grad_fn=st.booleans(),
)
def test_autograd_suffixes_match_torch(
    dtype: str, shape: tuple[int, ...], real_kind: str, imag_kind: str, seed: int, grad_fn: bool
) -> None:
    arr = make_complex(dtype, shape, real_kind, imag_kind, seed)
    expected = torch_repr(arr, requires_grad=True, grad_fn=grad_fn)
    got = format_tensor(
        arr, requires_grad=True, grad_fn_name="CloneBackward0" if grad_fn else None
    )
    assert got == expected


C64, C128 = np.complex64, np.complex128
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("arr", "expected"),
    [
        (np.array([1 + 2j, 3 - 4j], C64), "tensor([1.+2.j, 3.-4.j])"),
        (np.array([1 + 2j, 3 - 0.5j], C64), "tensor([1.+2.0000j, 3.-0.5000j])"),
        (np.array([1 + 100j, 2 + 3j], C64), "tensor([1.+100.j, 2.+3.j])"),
        (np.array(1.5 - 2j, C64), "tensor(1.5000-2.j)"),
        (np.array(1.5 - 2j, C128), "tensor(1.5000-2.j, dtype=gpuarr.complex128)"),
        (np.array([complex(0.0, -0.0), complex(-0.0, 0.0)], C64), "tensor([0.-0.j, -0.+0.j])"),
        (
            np.array([complex(NAN, NAN), complex(INF, -INF), complex(-INF, INF)], C64),
            "tensor([nan+nanj, inf-infj, -inf+infj])",
        ),
        (np.array([1e-5 + 1j, 1 + 2j], C64), "tensor([1.0000e-05+1.j, 1.0000e+00+2.j])"),
        (
            np.array([1 + 1e10j, 2.5 - 3j], C64),
            "tensor([1.0000+1.0000e+10j, 2.5000-3.0000e+00j])",
        ),
        (np.zeros((0,), C64), "tensor([], dtype=gpuarr.complex64)"),
        (np.zeros((2, 0), C128), "tensor([], size=(2, 0), dtype=gpuarr.complex128)"),
    ],
)
def test_known_texts(arr: np.ndarray, expected: str) -> None:
    assert format_tensor(arr) == expected
    assert torch_repr(arr) == expected  # the expectations are PyTorch's own output


def test_wrapping_counts_both_parts() -> None:
    # Real width 7 ('23.7500') + 2, imaginary width 7 ('-9.5000') + 1 for the 'j': PyTorch fits
    # floor((80 - 7) / 17) = 4 entries per line, so 20 entries take 5 lines.
    arr = (np.arange(20) * 1.25 - 1j * np.arange(20) * 0.5).astype(C64)
    assert format_tensor(arr) == torch_repr(arr)
    assert format_tensor(arr).count("\n") == 4


def test_summary_uses_shown_values_only() -> None:
    # The big imaginary value sits in the hidden middle: the shown ones stay in fixed mode.
    arr = np.full(2000, 1.5 + 0.25j, C64)
    arr[1000] = 1 + 1e12j
    text = format_tensor(arr)
    assert text == torch_repr(arr)
    assert "e+" not in text and "..." in text


@pytest.mark.parametrize("sci_mode", [True, False])
def test_forced_sci_mode(sci_mode: bool) -> None:
    arr = np.array([[1 + 2j, -3.25 + 0j], [1e-7 - 5e9j, 0j]], C128)
    with both_printoptions(sci_mode=sci_mode, precision=2):
        assert format_tensor(arr) == torch_repr(arr)


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("shape", [(), (3,), (0,), (0, 2)])
def test_dtype_suffix_follows_default_dtype(default: str, dtype: str, shape: tuple) -> None:
    # complex128 is implicit under a float64 default and complex64 otherwise (empty tensors
    # always name a complex dtype).
    arr = make_complex(dtype, shape, "unit", "unit", 3)
    with default_dtype(default):
        assert format_tensor(arr, default_float_dtype=default) == torch_repr(arr)


def test_noncontiguous_input() -> None:
    base = (np.arange(24) / 7 + 1j * np.arange(24)[::-1]).astype(C64).reshape(4, 6)
    view = base.T[::-1, ::2]
    assert format_tensor(view) == torch_repr(view)


@pytest.mark.parametrize("device", ["cuda:0", "cuda:1"])
@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("shape", [(), (3,), (2, 30), (0, 2), (0,)])
def test_device_suffix(device: str, dtype: str, shape: tuple[int, ...]) -> None:
    arr = make_complex(dtype, shape, "unit", "wide", 7)
    got = format_tensor(arr, device=device)
    assert got == cuda_expected(arr, device)


# --------------------------------------------------------------------------- gpuarr tensors


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize(
    "values",
    [
        [1 + 2j, 3 - 4j],
        [[0.5 - 0.25j, -1e-6 + 3j], [complex(NAN, -INF), 0j]],
        2.5 - 1j,
        [complex(0.0, -0.0), complex(-0.0, 0.0), 1e9 + 1j],
        [],
    ],
)
def test_tensor_repr_known_values(device: str, dtype: str, values: object) -> None:
    arr = np.array(values, dtype=dtype)
    check_tensor_repr(arr, device)


# The device fixture only names a device, so sharing it across generated inputs is safe.
_FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=120, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(
    dtype=st.sampled_from(COMPLEX_DTYPES),
    shape=shapes(),
    real_kind=st.sampled_from(KINDS),
    imag_kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_tensor_repr_matches_torch(
    device: str, dtype: str, shape: tuple[int, ...], real_kind: str, imag_kind: str, seed: int
) -> None:
    arr = make_complex(dtype, shape, real_kind, imag_kind, seed)
    check_tensor_repr(arr, device)


@settings(max_examples=60, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(
    dtype=st.sampled_from(COMPLEX_DTYPES),
    shape=shapes(),
    real_kind=st.sampled_from(KINDS),
    imag_kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
    precision=st.integers(0, 8),
    threshold=st.sampled_from([0, 5, 1000]),
    edgeitems=st.integers(0, 4),
    linewidth=st.integers(10, 160),
    sci_mode=st.sampled_from([None, True, False]),
)
def test_tensor_repr_under_printoptions(
    device: str,
    dtype: str,
    shape: tuple[int, ...],
    real_kind: str,
    imag_kind: str,
    seed: int,
    precision: int,
    threshold: float,
    edgeitems: int,
    linewidth: int,
    sci_mode: bool | None,
) -> None:
    arr = make_complex(dtype, shape, real_kind, imag_kind, seed)
    # The public gpuarr.set_printoptions is the one tensors' repr reads.
    old = gpuarr.get_printoptions()
    opts = dict(
        precision=precision,
        threshold=threshold,
        edgeitems=edgeitems,
        linewidth=linewidth,
        sci_mode=sci_mode,
    )
    gpuarr.set_printoptions(**opts)
    try:
        with torch_str.printoptions(**opts):
            check_tensor_repr(arr, device)
    finally:
        gpuarr.set_printoptions(**old)


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
def test_tensor_repr_under_default_dtype(device: str, default: str, dtype: str) -> None:
    for shape in [(), (4,), (0,), (2, 0)]:
        arr = make_complex(dtype, shape, "unit", "integral", 11)
        with default_dtype(default):
            check_tensor_repr(arr, device, default_float=default)


def test_tensor_repr_requires_grad(device: str) -> None:
    arr = np.array([1 + 2j, 0.5 - 1j], C64)
    t = gpuarr_tensor(arr, device).requires_grad_(True)
    text = repr(t)
    if device == "cpu":
        assert text == torch_repr(arr, requires_grad=True)
    else:
        assert text == "tensor([1.0000+2.j, 0.5000-1.j], device='cuda:0', requires_grad=True)"


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
def test_views_and_conj_repr(device: str, dtype: str) -> None:
    # The parts print as real tensors of the matching float dtype; a conjugate prints its
    # conjugated values (PyTorch resolves its lazy conjugate bit before printing).
    arr = make_complex(dtype, (3, 4), "unit", "wide", 5)
    t = gpuarr_tensor(arr, device)
    check_repr_of(t.real, arr.real, device)
    check_repr_of(t.imag, arr.imag, device)
    check_repr_of(t.conj(), np.conj(arr), device)
