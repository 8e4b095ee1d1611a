"""TFRecord framing checksums against published check values and TensorBoard's own
(pure-Python) implementation."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c as tb_crc32c
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked

from gpuarr.tensorboard._checksum import crc32c, mask, masked_crc32c
from gpuarr.tensorboard.event_file import encode_records, iter_records

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
    assert crc32c(data) == expected
    assert masked_crc32c(data) == mask(expected) == tb_masked(data)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=3000))
def test_single_and_masked_match_tensorboard(data):
    assert crc32c(data) == tb_crc32c(data)
    assert masked_crc32c(data) == tb_masked(data)


def _tb_frame(data: bytes) -> bytes:
    """One record framed with TensorBoard's own checksum code."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", tb_masked(header)) + data
            + struct.pack("<I", tb_masked(data)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=700), min_size=0, max_size=40))
def test_framing_matches_tensorboard_and_reads_back(chunks):
    framed = encode_records(chunks)
    assert framed == b"".join(_tb_frame(c) for c in chunks)
    assert list(iter_records(framed)) == chunks


def test_corrupted_record_is_detected():
    framed = bytearray(encode_records([b"hello", b"world"]))
    framed[14] ^= 0x01  # a payload bit of the first record
    with pytest.raises(ValueError, match="data checksum mismatch"):
        list(iter_records(bytes(framed)))
    framed = bytearray(encode_records([b"hello"]))
    framed[0] ^= 0x01  # the length header
    with pytest.raises(ValueError, match="header checksum mismatch"):
        list(iter_records(bytes(framed)))
