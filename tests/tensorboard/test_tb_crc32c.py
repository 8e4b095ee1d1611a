"""The vectorised CRC32C against published check values and TensorBoard's own implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c as tb_crc32c
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked

from gpuarr.tensorboard._crc32c import (
    crc32c,
    crc32c_loop,
    crc32c_many,
    crc32c_reference,
    crc32c_rows,
    crc32c_segments,
    masked_crc32c,
)

# RFC 3720 (iSCSI) appendix B.4 test vectors, plus the usual "123456789" check value.
KNOWN = [
    (b"123456789", 0xE3069283),
    (b"", 0x00000000),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
]


@pytest.mark.parametrize("data,expected", KNOWN)
def test_known_vectors(data, expected):
    assert crc32c_reference(data) == expected
    assert crc32c_loop(data) == expected
    assert crc32c(data) == expected
    assert crc32c_many([data])[0] == expected


@pytest.mark.parametrize(
    "n", [4, 5, 7, 8, 9, 2047, 2048, 2049, 2050, 2051, 4096, 4097, 65535, 65536, 1 << 20]
)
def test_lane_sizes_match_tensorboard(n):
    # sizes around every switch: Python loop / lanes, lane counts, padding of the last lane
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    if n <= 4096:
        assert crc32c(data) == tb_crc32c(data)
    else:  # TensorBoard's pure-Python loop is slow on large inputs: compare with ours
        assert crc32c(data) == crc32c_reference(data)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=700), min_size=0, max_size=40))
def test_many_matches_tensorboard(chunks):
    assert crc32c_many(chunks) == [tb_crc32c(c) for c in chunks]


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=3000))
def test_single_and_masked_match_tensorboard(data):
    assert crc32c(data) == tb_crc32c(data)
    assert crc32c_loop(data) == tb_crc32c(data)
    assert masked_crc32c(data) == tb_masked(data)


def test_segments_and_rows():
    rng = np.random.default_rng(0)
    lengths = np.array([0, 3, 4, 9, 16, 17, 200, 513, 5000, 8, 8])
    flat = rng.integers(0, 256, int(lengths.sum()), dtype=np.uint8)
    expected, pos = [], 0
    for n in lengths:
        expected.append(tb_crc32c(flat[pos : pos + n].tobytes()))
        pos += n
    assert crc32c_segments(flat, lengths).tolist() == expected
    for shape in [(3, 8), (50, 8), (20, 13)]:  # few rows: Python; more: NumPy
        rows = rng.integers(0, 256, shape, dtype=np.uint8)
        assert crc32c_rows(rows).tolist() == [tb_crc32c(r.tobytes()) for r in rows]
    with pytest.raises(ValueError):
        crc32c_rows(rows[:, :3])
