"""A writer killed with SIGKILL keeps everything it flushed, and its files stay readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from tb_helpers import accumulate, event_files, read_events, subprocess_env

from gpuarr.tensorboard.event_file import iter_records

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from gpuarr.tensorboard import SummaryWriter

    w = SummaryWriter(sys.argv[1], max_queue=5)
    rng = np.random.default_rng(0)
    flushed_at = int(sys.argv[2])
    step = 0
    while True:
        w.add_scalar("loss", float(step), step)
        if step % 100 == 0:
            w.add_image("small", rng.integers(0, 256, (3, 16, 16), dtype=np.uint8), step)
        if step > flushed_at:  # big records keep the writer thread busy until the kill
            w.add_image("big", rng.random((3, 256, 256), dtype=np.float32), step)
        if step == flushed_at:
            w.flush()
            print("FLUSHED", step, flush=True)
        step += 1
    """
)


def test_sigkill_keeps_everything_flushed(tmp_path):
    run = str(tmp_path / "run")
    flushed_at = 1500
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, run, str(flushed_at)],
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = child.stdout.readline()  # blocks until the flush returned (or the child died)
        assert line.strip() == f"FLUSHED {flushed_at}", child.stderr.read()
        (path,) = event_files(run)
        flushed_size = os.path.getsize(path)
        deadline = time.monotonic() + 30
        # Kill while the writer thread is busy appending more: the file is growing.
        while os.path.getsize(path) < flushed_size + 1_000_000 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert child.poll() is None, child.stderr.read()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    data = open(path, "rb").read()
    records = list(iter_records(data))  # raises on any checksum mismatch
    assert sum(16 + len(r) for r in records) <= len(data)
    read_events(path)  # TensorBoard's own reader accepts the file, torn tail included
    acc = accumulate(run)
    steps = [e.step for e in acc.Scalars("loss")]
    assert steps[: flushed_at + 1] == list(range(flushed_at + 1))
    assert steps == list(range(len(steps)))  # in order, no holes
    assert [e.step for e in acc.Images("small")][: flushed_at // 100 + 1] == list(
        range(0, flushed_at + 1, 100)
    )


def test_data_is_written_at_interpreter_exit_without_close(tmp_path):
    run = str(tmp_path / "run")
    child = (
        "import sys\n"
        "from gpuarr.tensorboard import SummaryWriter\n"
        "w = SummaryWriter(sys.argv[1], flush_secs=3600)\n"
        "for step in range(100):\n"
        "    w.add_scalar('x', float(step), step)\n"
    )
    out = subprocess.run([sys.executable, "-c", child, run], env=subprocess_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert [e.step for e in accumulate(run).Scalars("x")] == list(range(100))
