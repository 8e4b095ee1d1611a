"""Differential tests: gpuarr's tensor text against PyTorch's ``repr`` of the same values."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import _tensor_str as torch_str

from gpuarr import _tensor_str as ours
from gpuarr._tensor_str import format_tensor

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
FLOAT_DTYPES = ["float16", "float32", "float64"]


@contextlib.contextmanager
def both_printoptions(**kwargs: object) -> Iterator[None]:
    """Apply the same print options to PyTorch and gpuarr for the duration of a block."""
    with torch_str.printoptions(**kwargs), ours.printoptions(**kwargs):
        yield


def torch_repr(arr: np.ndarray, requires_grad: bool = False, grad_fn: bool = False) -> str:
    """PyTorch's repr of ``arr`` with 'torch.' spelled 'gpuarr.'."""
    t = torch.from_numpy(arr.copy(order="C"))
    if requires_grad or grad_fn:
        t = t.clone().requires_grad_(True)
    if grad_fn:
        t = t * 1
    return repr(t).replace("torch.", "gpuarr.")


def make_values(dtype: str, shape: tuple[int, ...], kind: str, seed: int) -> np.ndarray:
    """Values of one 'flavour' (see ``kind``) drawn with a seeded generator."""
    return np.asarray(_raw_values(dtype, shape, kind, seed))


def _raw_values(dtype: str, shape: tuple[int, ...], kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype[0] in "iu":
        info = np.iinfo(dtype)
        if kind == "extreme":
            return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        low = 0 if dtype == "uint8" else -120
        return rng.integers(low, 120, size=shape).astype(dtype)
    if kind == "integral":
        values = rng.integers(-5000, 5000, size=shape).astype(np.float64)
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
    else:  # 'special': zeros, signed zeros and non-finite values mixed in
        values = rng.choice(
            np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -2.5, 3.0]), size=shape
        )
    values = np.asarray(values)
    if kind != "special" and values.size and rng.random() < 0.3:
        # Sprinkle non-finite values and zeros into some arrays.
        flat = values.reshape(-1)
        picks = rng.integers(0, flat.size, size=max(1, flat.size // 5))
        flat[picks] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0]), size=picks.size)
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def shapes() -> st.SearchStrategy[tuple[int, ...]]:
    small = st.lists(st.integers(0, 7), min_size=0, max_size=4).map(tuple)
    long_vector = st.integers(995, 1300).map(lambda n: (n,))
    wide_matrix = st.tuples(st.integers(1, 5), st.integers(150, 400))
    big = st.lists(st.integers(2, 13), min_size=3, max_size=4).map(tuple)
    return st.one_of(small, small, long_vector, wide_matrix, big)


KINDS = ["integral", "unit", "positive", "wide", "tiny", "huge", "special", "extreme"]


@settings(max_examples=400, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    shape=shapes(),
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_torch_repr(dtype: str, shape: tuple[int, ...], kind: str, seed: int) -> None:
    arr = make_values(dtype, shape, kind, seed)
    assert format_tensor(arr, dtype_name=dtype) == torch_repr(arr)


@settings(max_examples=150, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    shape=shapes(),
    kind=st.sampled_from(KINDS),
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
    kind: str,
    seed: int,
    precision: int,
    threshold: float,
    edgeitems: int,
    linewidth: int,
    sci_mode: bool | None,
) -> None:
    arr = make_values(dtype, shape, kind, seed)
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
    dtype=st.sampled_from(FLOAT_DTYPES),
    shape=shapes(),
    kind=st.sampled_from(KINDS[:-1]),
    seed=st.integers(0, 2**32 - 1),
    grad_fn=st.booleans(),
)
def test_autograd_suffixes_match_torch(
    dtype: str, shape: tuple[int, ...], kind: str, seed: int, grad_fn: bool
) -> None:
    arr = make_values(dtype, shape, kind, seed)
    expected = torch_repr(arr, requires_grad=True, grad_fn=grad_fn)
    got = format_tensor(
        arr, requires_grad=True, grad_fn_name="MulBackward0" if grad_fn else None
    )
    assert got == expected


@pytest.mark.parametrize(
    ("arr", "expected"),
    [
        (np.array([0.0, 1.0], dtype=np.float32), "tensor([0., 1.])"),
        (np.array([1, 2, 3]), "tensor([1, 2, 3])"),
        (np.array([True, False]), "tensor([ True, False])"),
        (np.array(3.5, dtype=np.float32), "tensor(3.5000)"),
        (np.zeros((0, 3), dtype=np.float32), "tensor([], size=(0, 3))"),
        (np.array([1.0, 2.0]), "tensor([1., 2.], dtype=gpuarr.float64)"),
        (np.array([], dtype=np.int64), "tensor([], dtype=gpuarr.int64)"),
        (np.array([np.nan, -0.0, 2.0], dtype=np.float32), "tensor([nan, -0., 2.])"),
        (np.array([np.inf, 1e10], dtype=np.float32), "tensor([       inf, 1.0000e+10])"),
        (np.array([1e-5, 1.0], dtype=np.float32), "tensor([1.0000e-05, 1.0000e+00])"),
    ],
)
def test_known_texts(arr: np.ndarray, expected: str) -> None:
    assert format_tensor(arr) == expected
    assert torch_repr(arr) == expected  # the expectations are PyTorch's own output


def test_blank_lines_between_blocks_and_summary() -> None:
    arr = np.arange(2 * 2 * 2, dtype=np.int64).reshape(2, 2, 2)
    assert format_tensor(arr) == (
        "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])"
    )
    big = np.arange(2000, dtype=np.int64)
    assert format_tensor(big) == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"


@pytest.mark.parametrize("device", ["cuda:0", "cuda:1"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 30), (0, 2), (0,)])
def test_device_suffix(device: str, dtype: str, shape: tuple[int, ...]) -> None:
    # PyTorch prints CUDA tensors with the device first; the CPU-only oracle is PyTorch's own
    # value text plus its suffix layout routine, fed the suffixes a CUDA tensor gets.
    arr = make_values(dtype, shape, "unit", 7)
    t = torch.from_numpy(arr.copy(order="C"))
    suffixes = [f"device='{device}'"]
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype != "float32":
            suffixes.append(f"dtype=torch.{dtype}")
    else:
        body = torch_str._tensor_str(t, len("tensor("))
        if dtype in ("float64",):
            suffixes.append(f"dtype=torch.{dtype}")
    expected = torch_str._add_suffixes("tensor(" + body, suffixes, len("tensor("), False)
    got = format_tensor(arr, device=device)
    assert got == expected.replace("torch.", "gpuarr.")
    assert got.startswith("tensor(") and f"device='{device}'" in got


def test_cuda_example_text() -> None:
    arr = np.array([1.0, 2.0], dtype=np.float32)
    assert format_tensor(arr, device="cuda:0") == "tensor([1., 2.], device='cuda:0')"
    assert (
        format_tensor(arr, device="cuda:0", requires_grad=True)
        == "tensor([1., 2.], device='cuda:0', requires_grad=True)"
    )
    assert format_tensor(arr, device="cpu") == "tensor([1., 2.])"


def test_default_float_dtype_float64() -> None:
    arr32 = np.array([1.5, 2.0], dtype=np.float32)
    arr64 = arr32.astype(np.float64)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for arr in (arr32, arr64, np.zeros((0,), np.float32), np.zeros((0,), np.float64)):
            assert format_tensor(arr, default_float_dtype="float64") == torch_repr(arr)
    finally:
        torch.set_default_dtype(old)


def test_noncontiguous_input() -> None:
    base = np.arange(24, dtype=np.float32).reshape(4, 6) / 7
    view = base.T[::-1, ::2]
    assert format_tensor(view) == torch_repr(view)


def test_prefix_sets_indentation() -> None:
    arr = np.arange(4, dtype=np.float32).reshape(2, 2)
    assert format_tensor(arr, prefix="Param(") == "Param([[0., 1.],\n       [2., 3.]])"


def test_printoptions_roundtrip_and_profiles() -> None:
    before = ours.get_printoptions()
    with ours.printoptions(precision=2, threshold=5):
        assert format_tensor(np.array([1.12345], np.float32)) == "tensor([1.12])"
        assert format_tensor(np.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    assert ours.get_printoptions() == before
    ours.set_printoptions(profile="full")
    try:
        assert "..." not in format_tensor(np.arange(5000))
    finally:
        ours.set_printoptions(profile="default")
    assert ours.get_printoptions() == before
    with pytest.raises(ValueError, match="unknown profile"):
        ours.set_printoptions(profile="tiny")
