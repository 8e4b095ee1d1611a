"""A writer inherited by a forked child (multiprocessing 'fork') works there.

The child gets its own writer thread and its own event files (the file names carry the
child's pid); what the parent had queued before the fork is written once, by the parent.
"""

from __future__ import annotations

import multiprocessing
import os
import sys

import pytest
from tb_helpers import accumulate, event_files, read_events

from gpuarr.tensorboard import SummaryWriter

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
    reason="needs the 'fork' start method",
)

N = 100


def _log_in_child(writer: SummaryWriter, finish: str, queue) -> None:
    queue.put(os.getpid())
    for step in range(N):
        writer.add_scalar("child", float(step), step)
    writer.add_scalars("multi", {"a": float(N)}, N)
    if finish == "flush":
        writer.flush()
    elif finish == "close":
        writer.close()
    # "exit": neither; the process's exit writes what is pending


def _steps(acc, tag: str) -> list[int]:
    return [e.step for e in acc.Scalars(tag)]


@pytest.mark.parametrize("finish", ["flush", "close", "exit"])
def test_forked_child_writes_its_own_file(tmp_path, finish):
    run = str(tmp_path / "run")
    writer = SummaryWriter(run, max_queue=1_000_000, flush_secs=3600)
    try:
        for step in range(N):  # still queued in the parent when it forks
            writer.add_scalar("before", float(step), step)
        writer.add_scalars("multi", {"a": 0.0}, 0)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.SimpleQueue()
        child = ctx.Process(target=_log_in_child, args=(writer, finish, queue))
        child.start()
        child_pid = queue.get()
        child.join(60)
        assert child.exitcode == 0
        for step in range(N):  # the parent's writer is unaffected by the fork
            writer.add_scalar("after", float(step), step)
        writer.add_scalars("multi", {"a": 2.0 * N}, 2 * N)
    finally:
        writer.close()

    files = event_files(run)
    assert len(files) == 2
    (child_file,) = [f for f in files if f".{child_pid}." in os.path.basename(f)]
    child_tags = {v.tag for e in read_events(child_file) for v in e.summary.value}
    assert child_tags == {"child"}
    acc = accumulate(run)
    assert _steps(acc, "before") == list(range(N))  # written once: not again by the child
    assert _steps(acc, "after") == list(range(N))
    assert _steps(acc, "child") == list(range(N))
    sub_run = os.path.join(run, "multi_a")
    assert len(event_files(sub_run)) == 2  # the child opened its own sub-run file too
    assert sorted(_steps(accumulate(sub_run), "multi")) == [0, N, 2 * N]


def test_writer_closed_before_fork_stays_closed(tmp_path):
    writer = SummaryWriter(str(tmp_path / "run"))
    writer.close()
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_expect_closed, args=(writer,))
    child.start()
    child.join(60)
    assert child.exitcode == 0


def _expect_closed(writer: SummaryWriter) -> None:
    try:
        writer.add_scalar("x", 1.0, 0)
    except RuntimeError as exc:
        if "closed" in str(exc):
            return
    raise SystemExit(3)
