"""Checkpoint fault handling: stale temporaries of killed saves, crafted (malicious or corrupt)
files, and safetensors dtypes that gpuarr tensors cannot hold.

Every malformed file must raise :class:`gpuarr._safetensors.CheckpointError` naming the file and
the problem, never a bare ``RecursionError``/``ValueError``/``OverflowError``/``TypeError``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gpuarr
from gpuarr import _safetensors as st
from gpuarr._safetensors import CheckpointError
from gpuarr.serialization import load, save

REPO = Path(__file__).resolve().parents[1]
MARKERS = {"gpuarr.format": "gpuarr-checkpoint", "gpuarr.format_version": "1"}


# ---------------------------------------------------------------- helpers


def raw_file(path: Path, header: str | dict[str, Any], data: bytes = b"") -> Path:
    """A safetensors file with exactly this header text (or object) and data section."""
    text = header if isinstance(header, str) else json.dumps(header)
    body = text.encode()
    path.write_bytes(len(body).to_bytes(8, "little") + body + data)
    return path


def signed_checkpoint(path: Path, structure: str, arrays: dict[str, np.ndarray]) -> Path:
    """A gpuarr checkpoint with this structure document, with valid digests.

    The digests only prove the file was not damaged in transit; a crafted file passes them,
    so everything the structure says must still be validated.
    """
    st.save_file(arrays, path, metadata={**MARKERS, "gpuarr.structure": structure})
    return path


def assert_checkpoint_error(path: Path, *fragments: str) -> str:
    """``load(path)`` raises CheckpointError naming ``path`` and containing ``fragments``."""
    with pytest.raises(CheckpointError) as info:
        load(path)
    text = str(info.value)
    assert str(path) in text, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text


def nested(depth: int, leaf: str = "0") -> str:
    return "[" * depth + leaf + "]" * depth


# ---------------------------------------------------------------- 1. stale temporaries

_WRITER = """
import sys

import numpy as np

from gpuarr import _safetensors as st
from gpuarr.serialization import save

path, version = sys.argv[1], int(sys.argv[2])
real = st._little_endian_bytes  # called once per tensor, right before its bytes are written
calls = 0


def pausing(arr, entry):
    global calls
    calls += 1
    if calls == 3:  # two 8 MB tensors are in the temporary file now
        print("mid-save", flush=True)
        sys.stdin.readline()  # the parent SIGKILLs us here, or lets us finish
    return real(arr, entry)


st._little_endian_bytes = pausing
save({"version": version, "w": [np.full(1_000_000, i, np.float64) for i in range(4)]}, path)
print("saved", flush=True)
"""


class Writer:
    """A child process saving 32 MB to ``target``, stopped halfway (16 MB written)."""

    def __init__(self, script: Path, target: Path, version: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [sys.executable, str(script), str(target), str(version)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env,
        )
        self._watchdog = threading.Timer(180, self.process.kill)  # never hang the test run
        self._watchdog.daemon = True
        self._watchdog.start()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line != "mid-save\n":
            self._watchdog.cancel()
            self.process.kill()
            _, err = self.process.communicate()
            raise AssertionError(f"writer did not reach mid-save: {line!r} {err}")

    def sigkill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.communicate(timeout=60)
        self._watchdog.cancel()
        assert self.process.returncode == -signal.SIGKILL

    def finish(self) -> str:
        out, err = self.process.communicate("\n", timeout=120)
        self._watchdog.cancel()
        assert self.process.returncode == 0, err
        return out


def temps_of(directory: Path, target: str) -> dict[str, int]:
    """Temporary files of saves to ``target`` (any naming scheme), with their sizes."""
    return {
        p.name: p.stat().st_size
        for p in directory.iterdir()
        if p.name.startswith(f".{target}.") and p.name.endswith(".tmp") and p.name != NOTES
    }


NOTES = ".ckpt.notes.tmp"  # a user's file that merely looks like a temporary: never touched


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX-only")
def test_sigkilled_saves_leave_no_stale_temps_and_spare_live_writers(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(_WRITER))
    path, other = tmp_path / "ckpt", tmp_path / "other"
    save({"version": 1}, path)
    (tmp_path / NOTES).write_text("mine")

    # Three saves of `ckpt` and one of `other` are SIGKILLed in the middle of writing. They
    # run at the same time (each save cleans up after the dead ones before it, so killing them
    # one after the other would leave only the last temporary).
    writers = [Writer(script, target, 2) for target in (path, path, path, other)]
    for writer in writers:
        writer.sigkill()
    stale = temps_of(tmp_path, "ckpt")
    assert len(stale) == 3 and all(size > 16_000_000 for size in stale.values()), stale
    other_stale = temps_of(tmp_path, "other")
    assert len(other_stale) == 1
    assert load(path) == {"version": 1}  # the destination itself was never damaged

    # A live writer of `ckpt` is halfway through its save while another save runs.
    live = Writer(script, path, 99)
    live_temp = set(temps_of(tmp_path, "ckpt")) - set(stale)
    assert len(live_temp) == 1
    save({"version": 3}, path)
    assert load(path) == {"version": 3}
    assert set(temps_of(tmp_path, "ckpt")) == live_temp  # stale ones gone, the live one kept
    assert temps_of(tmp_path, "other") == other_stale  # another target's: not this save's job
    assert (tmp_path / NOTES).read_text() == "mine"

    # The live writer was not disturbed: it completes and its checkpoint is the latest.
    assert live.finish().endswith("saved\n")
    assert load(path)["version"] == 99
    assert temps_of(tmp_path, "ckpt") == {}
    save({"version": 4}, other)
    assert temps_of(tmp_path, "other") == {}
    assert (tmp_path / NOTES).read_text() == "mine"


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX-only")
def test_cleanup_racing_a_starting_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another save's cleanup runs between the moment this save creates its temporary file and
    # the moment it locks it: the cleanup sees an unlocked file and deletes it. The save must
    # notice and start over under a new name instead of renaming a deleted file.
    import fcntl

    real_flock = fcntl.flock
    raced: list[str] = []

    def flock(fd: Any, operation: int) -> None:
        if not raced:
            raced.extend(temps_of(tmp_path, "ckpt"))
            st._remove_stale_temps(str(tmp_path), "ckpt")
            assert temps_of(tmp_path, "ckpt") == {}  # the fresh temporary was taken for stale
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    save({"version": 1, "w": np.arange(10.0)}, tmp_path / "ckpt")
    monkeypatch.undo()
    assert len(raced) == 1
    assert load(tmp_path / "ckpt")["version"] == 1
    assert temps_of(tmp_path, "ckpt") == {}


# ---------------------------------------------------------------- 2. crafted files: header


def _header_cases() -> Iterator[tuple[str, str | dict[str, Any], bytes, tuple[str, ...]]]:
    entry = {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}
    # The safetensors package's words where it rejects the file (its JSON schema errors name a
    # position, not the tensor); gpuarr's where the package lets it through (too many dims,
    # empty but huge, a duplicate tensor).
    yield "deep nesting", '{"x": ' + nested(100_000) + "}", b"", ("recursion limit",)
    yield "deep metadata", '{"__metadata__": ' + nested(5000, "{}") + "}", b"", ("expected a map",)
    yield (
        "huge offset",
        '{"x": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1' + "0" * 5000 + "]}}",
        b"\0",
        ("number out of range",),
    )
    yield (
        "huge shape",
        '{"x": {"dtype": "U8", "shape": [' + "9" * 5000 + '], "data_offsets": [0, 1]}}',
        b"\0",
        ("number out of range",),
    )
    yield (
        "dim past 2**63",
        {"x": {"dtype": "U8", "shape": [0, 2**64], "data_offsets": [0, 0]}},
        b"",
        ("expected usize",),
    )
    yield (
        "too many dims",
        {"x": {"dtype": "U8", "shape": [1] * 65, "data_offsets": [0, 1]}},
        b"\0",
        ("'x'", "dimensions"),
    )
    yield (
        "empty but huge",
        {"x": {"dtype": "F64", "shape": [0, 2**40, 2**40], "data_offsets": [0, 0]}},
        b"",
        ("'x'", "invalid shape"),
    )
    yield (
        "negative dim",
        {"x": {"dtype": "U8", "shape": [2, -2], "data_offsets": [0, 0]}},
        b"",
        ("expected usize",),
    )
    yield (
        "float dim",
        {"x": {"dtype": "U8", "shape": [1.0], "data_offsets": [0, 1]}},
        b"\0",
        ("expected usize",),
    )
    yield (
        "bool dim",
        {"x": {"dtype": "U8", "shape": [True], "data_offsets": [0, 1]}},
        b"\0",
        ("expected usize",),
    )
    yield (
        "product mismatch",
        {"x": {"dtype": "F32", "shape": [3, 5], "data_offsets": [0, 8]}},
        b"\0" * 8,
        ("invalid shape, data type, or offset",),
    )
    yield (
        "offsets past the data",
        {"x": {"dtype": "U8", "shape": [2**40], "data_offsets": [0, 2**40]}},
        b"\0",
        ("truncated",),
    )
    yield (
        "negative offset",
        {"x": {"dtype": "U8", "shape": [1], "data_offsets": [-1, 0]}},
        b"\0",
        ("expected usize",),
    )
    yield (
        "reversed offsets",
        {"x": {"dtype": "U8", "shape": [1], "data_offsets": [1, 0]}},
        b"\0",
        ("invalid offset for tensor `x`",),
    )
    yield (
        "offsets not ints",
        {"x": {"dtype": "U8", "shape": [1], "data_offsets": "0-1"}},
        b"\0",
        ("expected a tuple of size 2",),
    )
    yield (
        "dtype is a list",
        {"x": {"dtype": ["U8"], "shape": [1], "data_offsets": [0, 1]}},
        b"\0",
        ("expected string or map",),
    )
    yield (
        "dtype is an object",
        {"x": {"dtype": {}, "shape": [1], "data_offsets": [0, 1]}},
        b"\0",
        ("expected map with a single key",),
    )
    yield "entry is a list", {"x": [entry]}, b"\0", ("expected map with a single key",)
    yield (  # the package takes the dtype as {"U8": null} too
        "dtype as a map",
        {"x": {"dtype": {"U8": None}, "shape": [1], "data_offsets": [0, 1]}},
        b"\0",
        ("'x'", "not a string"),
    )
    yield (
        "duplicate tensor",
        '{"x": ' + json.dumps(entry) + ', "x": ' + json.dumps(entry) + "}",
        b"\0",
        ("twice",),
    )
    yield (
        "overlapping tensors",
        {"x": entry, "y": entry},
        b"\0",
        ("invalid offset for tensor",),  # `x` or `y`: the package's hash order
    )
    yield "NaN in the header", '{"x": NaN}', b"", ("expected value",)


@pytest.mark.parametrize(
    ("header", "data", "fragments"),
    [case[1:] for case in _header_cases()],
    ids=[case[0] for case in _header_cases()],
)
def test_crafted_headers_raise_checkpoint_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, header: str | dict[str, Any], data: bytes,
    fragments: tuple[str, ...],
) -> None:
    path = raw_file(tmp_path / "crafted.safetensors", header, data)
    allocations: list[Any] = []
    real_empty = np.empty

    def spy(shape: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        allocations.append(shape)
        return real_empty(shape, *args, **kwargs)

    monkeypatch.setattr(np, "empty", spy)  # what the reader allocates tensors with
    assert_checkpoint_error(path, *fragments)
    with pytest.raises(CheckpointError):  # the codec on its own, too
        st.load_file(path)
    assert allocations == []  # rejected before any tensor memory was allocated


def test_zero_size_tensors_with_large_dims_still_load(tmp_path: Path) -> None:
    path = raw_file(
        tmp_path / "empty.safetensors",
        {"x": {"dtype": "F32", "shape": [0, 2**40], "data_offsets": [0, 0]}},
    )
    assert tuple(load(path)["x"].shape) == (0, 2**40)


# ---------------------------------------------------------------- 2. crafted files: structure

ARRAYS = {
    "f": np.arange(3, dtype=np.float32),
    "i": np.arange(4, dtype=np.int64),
    "v": np.arange(2, dtype=np.float64),
    "s": np.array(2.5),
    "u": np.arange(3, dtype=np.uint16),
}


@pytest.mark.parametrize(
    ("structure", "fragments"),
    [
        (nested(100_000), ("nested",)),
        (nested(900), ("nested",)),  # parses as JSON; rebuilding it would recurse too deep
        ('{"$tuple": [' * 400 + "]}" * 400, ("nested",)),
        ("1" * 5000, ("digits",)),
        ('{"$dict": [["k", -' + "7" * 4500 + "]]}", ("digits",)),
        ('{"$npscalar": "f"}', ("'f'", "0-d")),
        ('{"$tensor": "i", "requires_grad": true}', ("'i'", "requires_grad")),
        ('{"$tensor": "f", "requires_grad": "yes"}', ("'f'", "requires_grad")),
        ('{"$tensor": "f", "parameter": 1}', ("'f'", "parameter")),
        ('{"$tensor": "i", "parameter": true, "requires_grad": true}', ("'i'", "requires_grad")),
        ('{"$tensor": "f", "device": "banana"}', ("'f'", "banana")),
        ('{"$tensor": "f", "device": "cuda:x"}', ("'f'", "cuda:x")),
        ('{"$tensor": "f", "device": 7}', ("'f'", "device")),
        ('{"$tensor": ["f"]}', ("missing tensor",)),
        ('{"$dict": [["a", 1]], "$dict": [["b", 2]]}', ("twice",)),
        ('{"$dict": [[[1], 2]]}', ("unhashable",)),
        ('{"$dict": [["a"]]}', ("dict",)),
        ('{"$float": "nope"}', ("$float",)),
        ("{}", ("malformed",)),
        ("[1, 2", ("not valid JSON",)),
    ],
)
def test_crafted_structures_raise_checkpoint_errors(
    tmp_path: Path, structure: str, fragments: tuple[str, ...]
) -> None:
    path = signed_checkpoint(tmp_path / "crafted.ckpt", structure, ARRAYS)
    assert_checkpoint_error(path, *fragments)


def test_nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    obj: Any = 1
    for i in range(60):
        obj = {"k": [obj]} if i % 2 else (obj,)
    save(obj, tmp_path / "deep.ckpt")
    assert load(tmp_path / "deep.ckpt") == obj


def test_save_refuses_what_load_would_refuse(tmp_path: Path) -> None:
    deep: Any = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(ValueError, match="nested"):
        save(deep, tmp_path / "deep.ckpt")
    deep_dicts: Any = 0
    for _ in range(80):  # 80 dicts are 240 levels of JSON
        deep_dicts = {"k": deep_dicts}
    with pytest.raises(ValueError, match="nested"):
        save(deep_dicts, tmp_path / "deep.ckpt")
    assert list(tmp_path.iterdir()) == []  # nothing written


def _random_node(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(12 if depth < 6 else 6)
    if kind == 0:
        return rng.choice([None, True, False, "", "f", "$tensor"])
    if kind == 1:
        return rng.choice([0, -1, 2**63, -(2**70), 10**30, 1.5, -0.0, 1e308])
    if kind == 2:
        return {"$float": rng.choice(["nan", "inf", "-inf", "NaN", 1.0, None])}
    if kind in (3, 4, 5):
        node: dict[str, Any] = {rng.choice(["$tensor", "$ndarray", "$npscalar"]):
                                rng.choice([*ARRAYS, "missing", 3, None, ["f"]])}
        for key, values in (
            ("device", ["cpu", "cpu:0", "banana", "", 3, None, ["cpu"]]),
            ("requires_grad", [True, False, 1, "x", None]),
            ("parameter", [True, False, 0, "x"]),
        ):
            if rng.random() < 0.3:
                node[key] = rng.choice(values)
        return node
    if kind in (6, 7):
        return [_random_node(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 8:
        return {"$tuple": [_random_node(rng, depth + 1) for _ in range(rng.randrange(3))]}
    if kind in (9, 10):
        pairs: list[Any] = [
            [_random_node(rng, depth + 1), _random_node(rng, depth + 1)]
            for _ in range(rng.randrange(3))
        ]
        if rng.random() < 0.2:
            pairs.append(rng.choice([["only"], "pair", [1, 2, 3], None]))
        node = {"$dict": pairs}
        if rng.random() < 0.3:
            node["ordered"] = rng.choice([True, False, "yes"])
        return node
    return {rng.choice(["$tensor", "$bogus", "ordered", "$dict", "$tuple"]): rng.choice(
        [[], {}, "f", 1, None])}


def test_fuzzed_structures_load_or_raise_checkpoint_errors(tmp_path: Path) -> None:
    rng = random.Random(1234)
    path = tmp_path / "fuzz.ckpt"
    outcomes = {"loaded": 0, "rejected": 0}
    for _ in range(400):
        structure = json.dumps(_random_node(rng, 0))
        signed_checkpoint(path, structure, ARRAYS)
        try:
            load(path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
            outcomes["rejected"] += 1
        else:
            outcomes["loaded"] += 1
    assert min(outcomes.values()) > 20, outcomes  # both paths were exercised


def test_fuzzed_headers_load_or_raise_checkpoint_errors(tmp_path: Path) -> None:
    rng = random.Random(99)
    path = tmp_path / "fuzz.safetensors"
    codes = ["U8", "F32", "BOOL", "U16", "BF16", "Q8", "", 7, None, ["F32"]]
    ints = [0, 1, 2, 3, 4, -1, 2**31, 2**63, 2**64, 10**40, 1.0, True, None, "1"]
    rejected = 0
    for _ in range(600):
        header: dict[str, Any] = {}
        for n in range(rng.randrange(1, 4)):
            info = {
                "dtype": rng.choice(codes),
                "shape": [rng.choice(ints) for _ in range(rng.randrange(4))],
                "data_offsets": [rng.choice(ints) for _ in range(rng.choice([2, 2, 2, 1, 3]))],
            }
            if rng.random() < 0.1:
                info.pop(rng.choice(list(info)))
            header[f"t{n}"] = info if rng.random() > 0.05 else rng.choice([[], 1, "x"])
        data = bytes(rng.randrange(2) for _ in range(rng.randrange(8)))
        raw_file(path, header, data)
        try:
            load(path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
            rejected += 1
    assert rejected > 100


# ---------------------------------------------------------------- 3. dtypes


@pytest.mark.parametrize(("np_dtype", "code"), [("uint16", "U16"), ("uint32", "U32"),
                                                ("uint64", "U64")])
def test_unsigned_tensors_from_the_safetensors_package(
    tmp_path: Path, np_dtype: str, code: str
) -> None:
    import safetensors.numpy

    values = np.array([0, 1, np.iinfo(np_dtype).max], dtype=np_dtype)
    path = tmp_path / "hub.safetensors"
    safetensors.numpy.save_file({"w": np.ones(2, np.float32), "counts": values}, str(path))
    # gpuarr has torch's limited-support uint16/uint32/uint64 tensors: loaded bit for bit
    back = load(path)
    assert back["counts"].dtype == getattr(gpuarr, np_dtype)
    assert np.array_equal(back["counts"].numpy(), values)
    # and saved back as the same safetensors code
    save(back, tmp_path / "again.safetensors")
    assert st.load_file(tmp_path / "again.safetensors")["counts"].dtype == np.dtype(np_dtype)
    assert code in (tmp_path / "again.safetensors").read_bytes()[:400].decode("latin-1")


@pytest.mark.parametrize("np_dtype", ["uint16", "uint32", "uint64"])
def test_unsigned_numpy_arrays_round_trip(tmp_path: Path, np_dtype: str) -> None:
    values = np.array([0, 7, np.iinfo(np_dtype).max], dtype=np_dtype)
    save({"a": values}, tmp_path / "u.ckpt")
    back = load(tmp_path / "u.ckpt")["a"]
    assert back.dtype == np.dtype(np_dtype) and np.array_equal(back, values)


@pytest.mark.parametrize(
    ("torch_dtype", "code"),
    [("float8_e4m3fn", "F8_E4M3"), ("float8_e5m2", "F8_E5M2"), ("complex64", "C64")],
)
def test_exotic_dtypes_name_file_tensor_and_dtype(
    tmp_path: Path, torch_dtype: str, code: str
) -> None:
    torch = pytest.importorskip("torch")
    import safetensors.torch

    path = tmp_path / "model.safetensors"
    safetensors.torch.save_file({"layer.weight": torch.zeros(3, dtype=getattr(torch,
                                                                              torch_dtype))},
                                str(path))
    assert_checkpoint_error(path, "'layer.weight'", f"unsupported dtype '{code}'")
    with pytest.raises(CheckpointError, match=f"unsupported dtype '{code}'"):
        st.load_file(path)


def test_unknown_dtype_codes_are_named(tmp_path: Path) -> None:
    path = raw_file(tmp_path / "q.safetensors",
                    {"q": {"dtype": "Q8", "shape": [1], "data_offsets": [0, 1]}}, b"\0")
    assert_checkpoint_error(path, "unknown variant `Q8`")  # the safetensors package's words


def test_supported_plain_files_still_load(tmp_path: Path) -> None:
    import safetensors.numpy

    path = tmp_path / "ok.safetensors"
    safetensors.numpy.save_file({"a": np.arange(6, dtype=np.int16).reshape(2, 3)}, str(path))
    back = load(path)
    assert isinstance(back["a"], gpuarr.Tensor) and back["a"].dtype == gpuarr.int16
