"""Checkpoints: gpuarr.save / gpuarr.load round trips, integrity, atomicity and safety."""

from __future__ import annotations

import collections
import io
import json
import math
import os
import pickle
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from device_helpers import resolved

import gpuarr
from gpuarr import _safetensors as st
from gpuarr._safetensors import CheckpointError
from gpuarr.serialization import load, save

REPO = Path(__file__).resolve().parents[1]
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
_NAN_BITS = {  # quiet, signalling and negative NaNs with payloads: must survive bit for bit
    "float16": [0x7E01, 0x7C01, 0xFE05],
    "float32": [0x7FC00001, 0x7F800001, 0xFFC12345],
    "float64": [0x7FF8000000000001, 0x7FF0000000000001, 0xFFF80000DEADBEEF],
}


def cuda_available() -> bool:
    return bool(gpuarr.cuda.is_available())


def special_values(dtype: str) -> np.ndarray:
    """A 1-d array with the edge values of ``dtype`` (NaN payloads, -0.0, inf, extremes)."""
    if dtype == "bool":
        return np.array([True, False, True])
    if dtype.startswith("float"):
        info = np.finfo(dtype)
        base = np.array(
            [0.0, -0.0, np.inf, -np.inf, info.max, -info.max, info.tiny, info.smallest_subnormal,
             1 / 3, -2.5],
            dtype=dtype,
        )
        uint = {"float16": np.uint16, "float32": np.uint32, "float64": np.uint64}[dtype]
        nans = np.array(_NAN_BITS[dtype], dtype=uint).view(dtype)
        return np.concatenate([base, nans])
    info = np.iinfo(dtype)
    return np.array([info.min, info.max, 0, 1, info.max // 3], dtype=dtype)


def sample_arrays(dtype: str) -> dict[str, np.ndarray]:
    """Arrays of one dtype in every layout worth checking."""
    values = special_values(dtype)
    grid = np.resize(values, 24).reshape(2, 3, 4)
    return {
        "vector": values,
        "scalar": np.array(values[-1]),
        "empty": np.zeros((0,), dtype),
        "empty2d": np.zeros((0, 3), dtype),
        "grid": grid,
        "transposed": grid.transpose(2, 0, 1),
        "strided": grid[:, ::2, ::-1],
    }


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Identical dtype, shape and bytes (so NaN payloads and -0.0 count)."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and a.reshape(-1).view(np.uint8).tobytes() == b.reshape(-1).view(np.uint8).tobytes()
    )


def host(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy()


def assert_same_tree(expected: Any, got: Any) -> None:
    """Deep equality that also checks types, dict key order and bit-exact arrays."""
    assert type(got) is type(expected), (type(expected), type(got))
    if isinstance(expected, dict):
        assert list(got.keys()) == list(expected.keys())
        assert [type(k) for k in got] == [type(k) for k in expected]
        for key in expected:
            assert_same_tree(expected[key], got[key])
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            assert_same_tree(e, g)
    elif isinstance(expected, np.ndarray):
        assert same_bits(expected, got)
    elif isinstance(expected, np.generic):
        assert same_bits(np.asarray(expected), np.asarray(got))
    elif isinstance(expected, gpuarr.Tensor):
        assert got.dtype == expected.dtype
        assert str(got.device) == str(expected.device)
        assert got.requires_grad == expected.requires_grad
        assert same_bits(host(expected), host(got))
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected
        if isinstance(expected, float):
            assert math.copysign(1.0, got) == math.copysign(1.0, expected)


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def rewrite_devices(path: Path, location: str) -> None:
    """Make a checkpoint look as if its tensors had been saved on ``location``.

    Re-encodes the structure and re-signs the file, as a GPU machine would have written it.
    """
    with open(path, "rb") as fh:
        arrays, metadata = st.read(fh, source=str(path))
    structure = metadata["gpuarr.structure"].replace('"device":"cpu"', f'"device":"{location}"')
    metadata["gpuarr.structure"] = structure
    st.save_file(arrays, path, metadata=metadata)


# ---------------------------------------------------------------- round trips


def test_public_names() -> None:
    assert gpuarr.save is save and gpuarr.load is load


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_arrays_round_trip_bit_exact(tmp_path: Path, dtype: str) -> None:
    arrays = sample_arrays(dtype)
    save(arrays, tmp_path / "a.ckpt")
    back = load(tmp_path / "a.ckpt")
    assert_same_tree(arrays, back)
    for arr in back.values():
        assert arr.flags.c_contiguous and arr.flags.writeable and arr.dtype.isnative


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensors_round_trip_bit_exact(tmp_path: Path, device: str, dtype: str) -> None:
    tensors = {
        name: gpuarr.from_numpy(arr).to(device) for name, arr in sample_arrays(dtype).items()
    }
    save(tensors, tmp_path / "t.ckpt")
    back = load(tmp_path / "t.ckpt")
    assert_same_tree(tensors, back)
    for name, t in back.items():
        assert isinstance(t, gpuarr.Tensor)
        assert t.dtype == getattr(gpuarr, dtype)
        assert str(t.device) == str(tensors[name].device)
        assert not t.requires_grad


def test_single_tensor_and_file_objects(device: str) -> None:
    t = gpuarr.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4)).to(device)
    buf = io.BytesIO()
    save(t, buf)
    buf.seek(0)
    back = load(buf)
    assert_same_tree(t, back)


class AppendOnlyStream:
    """A write-only, non-seekable binary stream (like a pipe or socket)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(self.chunks[-1])

    def seekable(self) -> bool:
        return False


def test_non_seekable_streams() -> None:
    obj = {"x": gpuarr.from_numpy(np.arange(5, dtype=np.int16)), "k": {1: "one"}}
    stream = AppendOnlyStream()
    save(obj, stream)
    assert_same_tree(obj, load(io.BytesIO(b"".join(stream.chunks))))


def test_open_file_handles(tmp_path: Path) -> None:
    obj = {"x": np.arange(3.0), "y": [1, 2]}
    with open(tmp_path / "f.ckpt", "wb") as fh:
        save(obj, fh)
    with open(tmp_path / "f.ckpt", "rb") as fh:
        assert_same_tree(obj, load(fh))


def test_large_tensor_streams_in_chunks(tmp_path: Path) -> None:
    big = np.random.default_rng(0).standard_normal(5_000_000).astype(np.float32)  # 20 MB
    save({"big": gpuarr.from_numpy(big)}, tmp_path / "big.ckpt")
    assert same_bits(big, host(load(tmp_path / "big.ckpt")["big"]))


def optimizer_like_state(device: str) -> dict[str, Any]:
    def t(*shape: int) -> Any:
        return gpuarr.from_numpy(np.random.default_rng(sum(shape)).random(shape)).to(device)

    model = collections.OrderedDict(
        [("fc1.weight", t(4, 3)), ("fc1.bias", t(4)), ("bn.num_batches_tracked",
                                                       gpuarr.from_numpy(np.array(7)))]
    )
    optimizer = {
        "state": {
            0: {"step": 3, "exp_avg": t(4, 3), "exp_avg_sq": t(4, 3)},
            1: {"step": 3, "exp_avg": t(4), "exp_avg_sq": t(4)},
        },
        "param_groups": [
            {
                "lr": 1e-3,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "weight_decay": 0,
                "amsgrad": False,
                "foreach": None,
                "params": [0, 1],
            }
        ],
    }
    return {
        "model": model,
        "optimizer": optimizer,
        "epoch": 12,
        "best": -0.0,
        "limits": (float("inf"), float("-inf"), float("nan")),
        "huge": 2**80,
        "name": "run \u2603 \"quoted\"",
        "nested": [[], {}, (), [None, True, False]],
        (1, "a"): "tuple key",
        None: "none key",
        2.5: "float key",
        True: "bool key",
    }


def test_state_dicts_round_trip(tmp_path: Path, device: str) -> None:
    state = optimizer_like_state(device)
    save(state, tmp_path / "state.ckpt")
    back = load(tmp_path / "state.ckpt")
    assert_same_tree(state, back)
    assert list(back["optimizer"]["state"]) == [0, 1]  # int keys stay ints
    assert type(back["model"]) is collections.OrderedDict
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_same_object_twice_loads_as_one(tmp_path: Path) -> None:
    w = gpuarr.from_numpy(np.ones((2, 2), np.float32))
    arr = np.arange(3)
    save({"enc": w, "dec": w, "a": [arr, arr]}, tmp_path / "tied.ckpt")
    back = load(tmp_path / "tied.ckpt")
    assert back["enc"] is back["dec"]
    assert back["a"][0] is back["a"][1]
    # stored once in the file
    assert list(st.load_file(tmp_path / "tied.ckpt")) == ["enc", "a.0"]


def test_requires_grad_is_kept_like_torch(tmp_path: Path) -> None:
    # torch.save/torch.load keep requires_grad on a leaf; gradients are not saved.
    x = gpuarr.from_numpy(np.array([1.0, 2.0], np.float32)).requires_grad_()
    (x * x).sum().backward()
    save({"x": x, "plain": x.detach()}, tmp_path / "g.ckpt")
    back = load(tmp_path / "g.ckpt")
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    buf = io.BytesIO()
    torch.save(tx, buf)
    buf.seek(0)
    assert back["x"].requires_grad == torch.load(buf).requires_grad is True
    assert back["x"].grad is None and back["x"].is_leaf
    assert not back["plain"].requires_grad


def test_numpy_scalars_and_key_collisions(tmp_path: Path) -> None:
    obj = {
        "s": [np.float64(1.5), np.int8(-3), np.bool_(True), np.float16(np.nan)],
        "a.b": np.arange(2),
        "a": {"b": np.arange(3)},
        "__metadata__": np.zeros(1),
    }
    save(obj, tmp_path / "n.ckpt")
    back = load(tmp_path / "n.ckpt")
    assert_same_tree(obj, back)
    assert set(st.load_file(tmp_path / "n.ckpt")) == {
        "s.0", "s.1", "s.2", "s.3", "a.b", "a.b#1", "__metadata__#1",
    }


@pytest.mark.parametrize(
    ("obj", "where"),
    [
        ({"model": {"w": {1, 2}}}, "obj['model']['w']"),
        ([object()], "obj[0]"),
        ({"c": np.zeros(2, np.complex64)}, "obj['c']"),
        ({"b": b"bytes"}, "obj['b']"),
        ({"k": {frozenset(): 1}}, "obj['k']"),
    ],
)
def test_unsupported_objects_raise_type_error(tmp_path: Path, obj: Any, where: str) -> None:
    with pytest.raises(TypeError) as info:
        save(obj, tmp_path / "bad.ckpt")
    assert where in str(info.value)
    assert leftovers(tmp_path, set()) == []  # nothing was written


# ---------------------------------------------------------------- map_location


@pytest.fixture()
def cuda_checkpoint(tmp_path: Path) -> Path:
    """A checkpoint whose tensors were saved on cuda:0 (re-signed copy of a CPU one)."""
    path = tmp_path / "cuda.ckpt"
    save({"w": gpuarr.from_numpy(np.arange(4, dtype=np.float32)), "n": 3}, path)
    rewrite_devices(path, "cuda:0")
    return path


@pytest.mark.parametrize(
    "map_location",
    ["cpu", "device", {"cuda:0": "cpu"}, {"cuda:0": "device"}, "lambda"],
)
def test_map_location_to_cpu(cuda_checkpoint: Path, map_location: Any) -> None:
    if map_location == "device":
        map_location = gpuarr.device("cpu")
    elif map_location == "lambda":
        map_location = lambda storage, loc: storage  # noqa: E731 - torch's idiom
    elif isinstance(map_location, dict) and map_location["cuda:0"] == "device":
        map_location = {"cuda:0": gpuarr.device("cpu")}
    back = load(cuda_checkpoint, map_location=map_location)
    assert str(back["w"].device) == "cpu"
    assert same_bits(host(back["w"]), np.arange(4, dtype=np.float32))
    assert back["n"] == 3


def test_map_location_callable_sees_recorded_location(cuda_checkpoint: Path) -> None:
    seen = []

    def fn(t: Any, location: str) -> Any:
        seen.append((str(t.device), location))
        return t * 2

    back = load(cuda_checkpoint, map_location=fn)
    assert seen == [("cpu", "cuda:0")]
    assert same_bits(host(back["w"]), np.arange(4, dtype=np.float32) * 2)


@pytest.mark.parametrize(
    "map_location", [None, {"cuda:1": "cpu"}, "lambda_none", "cuda", "cuda:0"]
)
def test_cuda_locations_without_cuda_explain_map_location(
    cuda_checkpoint: Path, map_location: Any
) -> None:
    if map_location == "lambda_none":
        map_location = lambda storage, loc: None  # noqa: E731 - None means "default"
    if cuda_available():
        back = load(cuda_checkpoint, map_location=map_location)
        assert back["w"].device.type == "cuda"
        return
    with pytest.raises(RuntimeError) as info:
        load(cuda_checkpoint, map_location=map_location)
    text = str(info.value)
    assert "map_location='cpu'" in text and "is_available() is False" in text
    assert str(cuda_checkpoint) in text


def test_map_location_moves_cpu_checkpoint(tmp_path: Path, device: str) -> None:
    save({"w": gpuarr.from_numpy(np.ones(3, np.float64))}, tmp_path / "c.ckpt")
    back = load(tmp_path / "c.ckpt", map_location=device)
    assert back["w"].device == resolved(device)
    assert back["w"].dtype == gpuarr.float64


def test_bad_map_location_type(tmp_path: Path) -> None:
    save({"w": gpuarr.from_numpy(np.ones(3))}, tmp_path / "c.ckpt")
    with pytest.raises(TypeError, match="map_location"):
        load(tmp_path / "c.ckpt", map_location=3)
    with pytest.raises(TypeError, match="must return a Tensor or None"):
        load(tmp_path / "c.ckpt", map_location=lambda s, loc: "cpu")


def test_weights_only_flag_is_accepted(tmp_path: Path) -> None:
    save({"a": 1}, tmp_path / "w.ckpt")
    assert load(tmp_path / "w.ckpt", weights_only=False) == {"a": 1}
    assert load(tmp_path / "w.ckpt", weights_only=True) == {"a": 1}


# ---------------------------------------------------------------- integrity


@pytest.fixture()
def small_checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "small.ckpt"
    save(
        {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "step": 4, "b": np.array([True])},
        path,
    )
    return path


def header_length(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[:8], "little")


def test_truncated_files_raise_clear_errors(small_checkpoint: Path) -> None:
    data = small_checkpoint.read_bytes()
    n = header_length(small_checkpoint)
    cuts = [0, 3, 8, 8 + n // 2, 8 + n, 8 + n + 5, len(data) - 1]
    for cut in cuts:
        small_checkpoint.write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as info:
            load(small_checkpoint)
        text = str(info.value)
        assert str(small_checkpoint) in text
        assert "truncated" in text or "empty" in text, text
        assert isinstance(info.value, RuntimeError)


def test_every_flipped_byte_is_detected(small_checkpoint: Path) -> None:
    data = small_checkpoint.read_bytes()
    n = header_length(small_checkpoint)
    for pos in range(len(data)):
        for mask in (0x01, 0x80):
            corrupt = bytearray(data)
            corrupt[pos] ^= mask
            small_checkpoint.write_bytes(bytes(corrupt))
            with pytest.raises(CheckpointError) as info:
                load(small_checkpoint)
            if pos >= 8 + n:  # in the tensor bytes: only the digest can tell
                assert "tensor data does not match its SHA-256 digest" in str(info.value)


def test_trailing_garbage_is_rejected(small_checkpoint: Path) -> None:
    small_checkpoint.write_bytes(small_checkpoint.read_bytes() + b"\0\0\0\0")
    with pytest.raises(CheckpointError, match="trailing bytes"):
        load(small_checkpoint)


def test_layout_errors_name_the_problem(tmp_path: Path) -> None:
    def raw_file(header: dict[str, Any], data: bytes) -> Path:
        body = json.dumps(header).encode()
        path = tmp_path / "raw.safetensors"
        path.write_bytes(len(body).to_bytes(8, "little") + body + data)
        return path

    cases = [
        # The safetensors package's messages for what it rejects; gpuarr's for the rest.
        ({"x": {"dtype": "Q8", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "variant `Q8`"),
        (
            {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}},
            b"\0" * 4,
            "invalid shape, data type, or offset",
        ),
        ({"x": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 0]}}, b"", "expected usize"),
        (
            {"x": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}},
            b"\0\0",
            "invalid offset for tensor `x`",
        ),
        ({"x": {"dtype": "U8", "shape": [1]}}, b"\0", "data_offsets"),
        ({"x": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}}, b"\x07", "BOOL"),
        ({"__metadata__": {"a": 1}}, b"", "expected a string"),
    ]
    for header, data, message in cases:
        path = raw_file(header, data)
        with pytest.raises(CheckpointError, match=message):
            load(path)
    path = tmp_path / "list.safetensors"
    path.write_bytes((2).to_bytes(8, "little") + b"[]")
    with pytest.raises(CheckpointError, match="invalid type: sequence"):
        load(path)


def test_missing_gpuarr_metadata_in_a_gpuarr_file_is_corruption(small_checkpoint: Path) -> None:
    with open(small_checkpoint, "rb") as fh:
        arrays, metadata = st.read(fh)
    del metadata["gpuarr.structure"]
    st.save_file(arrays, small_checkpoint, metadata=metadata)
    with pytest.raises(CheckpointError, match="gpuarr.structure missing"):
        load(small_checkpoint)


def test_future_format_version_is_reported(small_checkpoint: Path) -> None:
    with open(small_checkpoint, "rb") as fh:
        arrays, metadata = st.read(fh)
    metadata["gpuarr.format_version"] = "99"
    st.save_file(arrays, small_checkpoint, metadata=metadata)
    with pytest.raises(CheckpointError, match="version '99'"):
        load(small_checkpoint)


# ---------------------------------------------------------------- no code execution


class _Exploit:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def test_pickle_files_are_rejected_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _Exploit(str(marker))}, protocol=4))
    with pytest.raises(CheckpointError, match="pickle") as info:
        load(path)
    assert "arbitrary code" in str(info.value)
    assert not marker.exists()


def test_torch_save_files_are_rejected_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match=r"torch\.save"):
        load(path)


# ---------------------------------------------------------------- atomic writes


def test_failed_rename_keeps_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ckpt"
    save({"version": 1, "w": np.zeros(3)}, path)
    before = path.read_bytes()

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        save({"version": 2, "w": np.ones(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"ckpt"}) == []
    assert load(path)["version"] == 1


def test_unsupported_object_keeps_previous_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "ckpt"
    save({"version": 1}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save({"version": 2, "bad": object()}, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"ckpt"}) == []


def _run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX-only")
def test_disk_full_mid_write_keeps_previous_checkpoint(tmp_path: Path) -> None:
    # A real failing write: the OS refuses to grow any file past 64 KiB (EFBIG), partway
    # through the 800 KB tensor data of the new checkpoint.
    path = tmp_path / "ckpt"
    save({"version": 1, "w": np.zeros(10)}, path)
    before = path.read_bytes()
    result = _run_python(
        f"""
        import resource, signal, numpy as np
        from gpuarr.serialization import save
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        try:
            save({{"version": 2, "w": np.ones(100_000)}}, {str(path)!r})
        except OSError as exc:
            print("failed:", exc.errno)
        else:
            print("saved")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("failed:"), result.stdout
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"ckpt"}) == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only")
def test_process_killed_mid_save_keeps_previous_checkpoint(tmp_path: Path) -> None:
    # The process dies (SIGKILL: no cleanup runs) after writing the new data but before the
    # rename: the destination must still be the old, loadable checkpoint.
    path = tmp_path / "ckpt"
    save({"version": 1, "w": np.zeros(10)}, path)
    before = path.read_bytes()
    result = _run_python(
        f"""
        import os, signal, numpy as np
        from gpuarr.serialization import save
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        save({{"version": 2, "w": np.ones(100_000)}}, {str(path)!r})
        print("not killed")
        """,
        tmp_path,
    )
    assert result.returncode == -9, (result.returncode, result.stdout, result.stderr)
    assert path.read_bytes() == before
    assert load(path)["version"] == 1
    stale = leftovers(tmp_path, {"ckpt"})  # the half-built temp file may stay behind
    assert all(name.startswith(".ckpt.") and name.endswith(".tmp") for name in stale)


def test_successful_save_replaces_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "ckpt"
    save({"version": 1}, path)
    os.chmod(path, 0o640)
    save({"version": 2}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert load(path) == {"version": 2}
    assert leftovers(tmp_path, {"ckpt"}) == []


def test_new_file_permissions_follow_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        save({"a": 1}, tmp_path / "new")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o640


def test_save_through_symlink_updates_target(tmp_path: Path) -> None:
    target = tmp_path / "real.ckpt"
    link = tmp_path / "latest.ckpt"
    save({"v": 1}, target)
    link.symlink_to(target)
    save({"v": 2}, link)
    assert link.is_symlink()
    assert load(target) == {"v": 2}


def test_headers_too_long_for_safetensors_readers_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ckpt"
    save({"version": 1}, path)
    before = path.read_bytes()
    monkeypatch.setattr(st, "_MAX_HEADER_BYTES", 2000)  # the package's limit is 100 MB
    with pytest.raises(ValueError, match="refuse headers over 2000 bytes"):
        save({"version": 2, "notes": "x" * 3000}, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"ckpt"}) == []
    save({"version": 3, "notes": "x" * 1000}, path)
    assert load(path)["version"] == 3


def test_missing_parent_directory(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist"):
        save({"a": 1}, tmp_path / "nope" / "ckpt")


# ---------------------------------------------------------------- interoperability


def test_files_open_with_the_safetensors_package(tmp_path: Path) -> None:
    import safetensors
    import safetensors.numpy

    state = {"fc.weight": np.arange(6, dtype=np.float16).reshape(2, 3), "steps": np.int64(4)}
    for dtype in DTYPES:
        state[f"x.{dtype}"] = sample_arrays(dtype)["transposed"]
    path = tmp_path / "model.safetensors"
    save(state, path)
    loaded = safetensors.numpy.load_file(str(path))
    assert set(loaded) == set(state)
    for name, value in state.items():
        assert same_bits(np.asarray(value), loaded[name])
    with safetensors.safe_open(str(path), "np") as fh:
        assert fh.metadata()["gpuarr.format"] == "gpuarr-checkpoint"
    import safetensors.torch

    for name, t in safetensors.torch.load_file(str(path)).items():
        assert same_bits(np.asarray(state[name]), t.numpy())


def test_plain_safetensors_files_load_as_tensor_dicts(tmp_path: Path) -> None:
    import safetensors.numpy

    arrays = {"w": np.arange(6, dtype=np.float32).reshape(3, 2), "mask": np.array([True, False])}
    path = tmp_path / "hub.safetensors"
    safetensors.numpy.save_file(arrays, str(path), metadata={"format": "np"})
    back = load(path)
    assert set(back) == set(arrays)
    for name, arr in arrays.items():
        assert isinstance(back[name], gpuarr.Tensor)
        assert same_bits(arr, host(back[name]))
    assert st.load_file(path).keys() == arrays.keys()


# A checkpoint written by an earlier gpuarr (before it read files through the safetensors
# package), {"w": float32 [0, 1, 2], "mask": [True, False], "step": 4, "name": "caf\u00e9"}: it
# pins the digest definitions, so that checkpoints already on disk keep verifying.
_EARLIER_CHECKPOINT = (
    "GAIAAAAAAAB7InciOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlswLDEyXX0sIm1h"
    "c2siOnsiZHR5cGUiOiJCT09MIiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMTIsMTRdfSwiX19tZXRhZGF0"
    "YV9fIjp7ImdwdWFyci5mb3JtYXQiOiJncHVhcnItY2hlY2twb2ludCIsImdwdWFyci5mb3JtYXRfdmVyc2lvbiI6"
    "IjEiLCJncHVhcnIuc3RydWN0dXJlIjoie1wiJGRpY3RcIjpbW1wid1wiLHtcIiR0ZW5zb3JcIjpcIndcIixcImRl"
    "dmljZVwiOlwiY3B1XCJ9XSxbXCJtYXNrXCIse1wiJG5kYXJyYXlcIjpcIm1hc2tcIn1dLFtcInN0ZXBcIiw0XSxb"
    "XCJuYW1lXCIsXCJjYWZcXHUwMGU5XCJdXX0iLCJncHVhcnIuZGF0YV9zaGEyNTYiOiJjZjA4NmIzMGM1MzE0NGQ4"
    "NTE4NWNjMGI5NGM3ZmJmNTk3MDIyOGMzNWU5NWJlZDJjNDZlMDI0YzU0MGY1ZDgwIiwiZ3B1YXJyLmhlYWRlcl9z"
    "aGEyNTYiOiI2MWJmMWE1ZmUyNmM5MDQ0NjkyZTAwM2JiMGMzYWQxNTQyNjQzNTc2MTBjYzIwYmFiNzYxYzQ4NDFl"
    "YjMyNzMzIn19ICAgICAgIAAAAAAAAIA/AAAAQAEA"
)


def test_checkpoints_of_earlier_gpuarr_versions_still_verify(tmp_path: Path) -> None:
    import base64

    data = base64.b64decode(_EARLIER_CHECKPOINT)
    path = tmp_path / "old.ckpt"
    path.write_bytes(data)
    back = load(path)
    assert back["step"] == 4 and back["name"] == "caf\u00e9"
    assert same_bits(host(back["w"]), np.arange(3, dtype=np.float32))
    assert same_bits(back["mask"], np.array([True, False]))
    assert list(st.load_file(path)) == ["w", "mask"]  # data-section order: the save order
    # Both digests are checked: a changed header value and a changed tensor byte are caught.
    text = data.replace(b'\\"step\\",4', b'\\"step\\",5')
    assert text != data
    path.write_bytes(text)
    with pytest.raises(CheckpointError, match="header does not match its SHA-256"):
        load(path)
    path.write_bytes(data[:-3] + bytes([data[-3] ^ 1]) + data[-2:])
    with pytest.raises(CheckpointError, match="tensor data does not match its SHA-256"):
        load(path)


def test_file_replaced_while_opening_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gpuarr reads the header itself and the tensors through the package, which opens the
    # file again: a save renaming a new file over the path in between must not mix the two.
    import safetensors

    path, newer = tmp_path / "ckpt", tmp_path / "newer"
    save({"v": 1, "w": np.zeros(2)}, path)
    save({"v": 2, "w": np.ones(2)}, newer)
    real_open = safetensors.safe_open

    def replacing_open(*args: Any, **kwargs: Any) -> Any:
        os.replace(newer, path)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(safetensors, "safe_open", replacing_open)
    with pytest.raises(CheckpointError, match="replaced while it was being opened"):
        load(path)
    monkeypatch.undo()
    assert load(path)["v"] == 2
