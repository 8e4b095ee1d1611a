"""TFRecord framing and event files, read back with TensorBoard's own record reader."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap

import pytest
from tb_helpers import accumulate, event_files, read_events, subprocess_env
from tensorboard.compat.proto import event_pb2

from gpuarr.tensorboard import SummaryWriter
from gpuarr.tensorboard.event_file import (
    EventFile,
    encode_records,
    iter_records,
)


def _event(step: int, tag: str = "x", value: float = 1.0) -> bytes:
    e = event_pb2.Event(wall_time=100.0 + step, step=step)
    e.summary.value.add(tag=tag, simple_value=value)
    return e.SerializeToString()


def test_encode_records_layout():
    # 8-byte length, 4-byte crc, payload, 4-byte crc
    assert len(encode_records([b"abc"])) == 19
    assert encode_records([]) == b""
    payloads = [b"", b"a", b"abcd", bytes(600), b"x" * 5000]
    assert list(iter_records(encode_records(payloads))) == payloads


def test_event_file_read_by_tensorboard(tmp_path):
    f = EventFile(str(tmp_path), filename_suffix=".v2")
    f.append(encode_records([_event(i, value=i * 0.5) for i in range(50)]))
    f.close()
    f.close()  # closing twice is fine
    (path,) = event_files(tmp_path)
    name = os.path.basename(path)
    assert re.fullmatch(
        rf"events\.out\.tfevents\.\d{{10}}\.{re.escape(socket.gethostname())}\.{os.getpid()}\.\d+\.v2",
        name,
    )
    events = read_events(path)
    assert events[0].file_version == "brain.Event:2"
    assert [e.step for e in events[1:]] == list(range(50))
    assert [e.summary.value[0].simple_value for e in events[1:]] == [i * 0.5 for i in range(50)]
    with pytest.raises(ValueError):
        f.append(b"")


def test_corruption_is_detected_and_truncation_tolerated(tmp_path):
    data = encode_records([_event(i) for i in range(3)])
    assert len(list(iter_records(data[:-5]))) == 2  # a cut last record is simply not there
    corrupted = bytearray(data)
    corrupted[20] ^= 0x01  # inside the first payload
    with pytest.raises(ValueError, match="data checksum"):
        list(iter_records(bytes(corrupted)))
    corrupted = bytearray(data)
    corrupted[0] ^= 0x01  # the first length header
    with pytest.raises(ValueError, match="header checksum"):
        list(iter_records(bytes(corrupted)))


def test_two_writers_same_dir_get_distinct_files(tmp_path):
    with SummaryWriter(str(tmp_path)) as a, SummaryWriter(str(tmp_path)) as b:
        a.add_scalar("a", 1.0, 0)
        b.add_scalar("b", 2.0, 0)
    assert len(event_files(tmp_path)) == 2
    acc = accumulate(tmp_path)
    assert acc.Scalars("a")[0].value == 1.0
    assert acc.Scalars("b")[0].value == 2.0


def test_purge_step_hides_steps_of_a_crashed_run(tmp_path):
    run = str(tmp_path / "run")
    with SummaryWriter(run) as first:
        for step in range(10):
            first.add_scalar("loss", float(step), step)
    with SummaryWriter(run, purge_step=5) as resumed:
        for step in range(5, 8):
            resumed.add_scalar("loss", 100.0 + step, step)
    values = [(s.step, s.value) for s in accumulate(run).Scalars("loss")]
    assert values == [(s, float(s)) for s in range(5)] + [(s, 100.0 + s) for s in range(5, 8)]
    header = read_events(event_files(run)[-1])
    assert header[2].session_log.status == event_pb2.SessionLog.START
    assert header[2].step == 5


DISK_FULL_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    import numpy as np
    from gpuarr.tensorboard import SummaryWriter

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    w = SummaryWriter(sys.argv[1], max_queue=1)
    w.add_scalar("before", 1.0, 0)
    w.flush()
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
    rng = np.random.default_rng(0)
    try:
        for step in range(20):  # ~50 kB of PNG each: the file soon hits the size limit
            w.add_image("noise", rng.integers(0, 256, (3, 128, 128), dtype=np.uint8), step)
            w.flush()
    except RuntimeError as exc:
        print("FLUSH-FAILED", exc)
    w.add_scalar("after", 2.0, 0)  # this file refuses data: each flush reports the loss
    try:
        w.close()
    except RuntimeError as exc:
        print("CLOSE-REPORTED", exc)
    print("DONE")
    """
)


def test_full_disk_leaves_a_readable_file(tmp_path):
    run = str(tmp_path / "run")
    out = subprocess.run(
        [sys.executable, "-c", DISK_FULL_CHILD, run],
        env=subprocess_env(), capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "FLUSH-FAILED" in out.stdout and "File too large" in out.stdout
    assert re.search(r"CLOSE-REPORTED .*1 event\(s\) dropped", out.stdout)
    assert "DONE" in out.stdout
    (path,) = event_files(run)
    data = open(path, "rb").read()
    assert 0 < len(data) <= 60_000
    # Every byte of the file belongs to a complete, checksummed record: no torn tail.
    records = list(iter_records(data))
    assert sum(16 + len(r) for r in records) == len(data)
    acc = accumulate(run)
    assert acc.Scalars("before")[0].value == 1.0
    assert len(acc.Images("noise")) >= 1
