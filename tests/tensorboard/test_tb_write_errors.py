"""A failing disk is reported to the caller: at the next ``add_*`` call, and on stderr at exit.

The child processes get a real "disk full": ``RLIMIT_FSIZE`` makes every write past the limit
fail with ``EFBIG`` ("File too large") once ``SIGXFSZ`` is ignored. No root needed.
"""

from __future__ import annotations

import errno
import re
import subprocess
import sys
import textwrap

from tb_helpers import accumulate, event_files, subprocess_env

from gpuarr.tensorboard.event_file import iter_records

LIMIT = 20_000  # bytes an event file may grow to: a few hundred scalars

PRELUDE = textwrap.dedent(
    f"""
    import resource, signal, sys, time
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    from gpuarr.tensorboard import SummaryWriter
    resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT}, resource.RLIM_INFINITY))
    """
)


def _run(tmp_path, body: str) -> tuple[subprocess.CompletedProcess, str]:
    run = str(tmp_path / "run")
    out = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body), run],
        env=subprocess_env(), capture_output=True, text=True, timeout=120,
    )
    return out, run


def _kept_prefix(run: str, tag: str) -> int:
    """Number of ``tag`` scalars on disk; checks they are steps 0..n-1 in a clean file."""
    (path,) = event_files(run)
    data = open(path, "rb").read()
    assert len(data) <= LIMIT
    assert sum(16 + len(r) for r in iter_records(data)) == len(data)  # no torn tail
    acc = accumulate(run)
    steps = [e.step for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []
    assert steps == list(range(len(steps)))
    return len(steps)


def test_script_on_a_full_disk_says_what_was_lost(tmp_path):
    # The reported case: log 20,000 scalars, never call close(). It used to exit 0 with an
    # empty stderr and not a single scalar on disk.
    out, run = _run(tmp_path, """
        w = SummaryWriter(sys.argv[1])
        for step in range(20000):
            w.add_scalar("loss", float(step), step)
        """)
    (path,) = event_files(run)
    # Either add_scalar raised in the loop (a traceback) or the exit hook reported the loss.
    assert path in out.stderr, out.stderr
    assert "File too large" in out.stderr, out.stderr
    assert 0 < _kept_prefix(run, "loss") < 20000  # what fit before the failure stays


def test_error_is_raised_at_the_next_add_call(tmp_path):
    out, run = _run(tmp_path, """
        w = SummaryWriter(sys.argv[1], max_queue=10)
        step, deadline = 0, time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                w.add_scalar("loss", float(step), step)
                step += 1
                if step % 200 == 0:
                    time.sleep(0.002)  # let the writer thread run into the limit
            print("NEVER-RAISED")
        except OSError as exc:
            print("RAISED-AT", step, exc.errno, isinstance(exc, RuntimeError))
            print("MESSAGE", exc)
        try:  # events queued before the report are dropped too: reported here, once
            w.flush()
        except OSError as exc:
            print("FLUSH", exc)
        w.add_scalar("after", 1.0, 0)  # nothing is pending now: accepted (then dropped)
        try:
            w.close()
        except OSError as exc:
            print("CLOSE", exc)
        """)
    assert out.returncode == 0, out.stderr
    (path,) = event_files(run)
    m = re.search(r"RAISED-AT (\d+) (\d+) True", out.stdout)
    assert m, out.stdout + out.stderr
    assert int(m.group(2)) == errno.EFBIG
    message = out.stdout.split("MESSAGE ", 1)[1].splitlines()[0]
    assert path in message and "[Errno 27] File too large" in message, message
    assert re.search(r"\d+ event\(s\) (dropped|lost)", message), message
    kept = _kept_prefix(run, "loss")
    assert 0 < kept <= int(m.group(1))
    # The event logged after the report is reported as lost too.
    assert re.search(r"CLOSE .*\(1 event\(s\) dropped\)", out.stdout), out.stdout


def test_exit_without_close_reports_the_loss_on_stderr(tmp_path):
    # Nothing is written before exit (huge max_queue): the exit hook writes what fits and
    # says on stderr how many events did not.
    out, run = _run(tmp_path, """
        w = SummaryWriter(sys.argv[1], max_queue=1_000_000, flush_secs=3600)
        for step in range(20000):
            w.add_scalar("loss", float(step), step)
        print("LOGGED")
        """)
    assert "LOGGED" in out.stdout, out.stderr
    (path,) = event_files(run)
    kept = _kept_prefix(run, "loss")
    assert 0 < kept < 20000
    assert path in out.stderr and "File too large" in out.stderr, out.stderr
    assert f"{20000 - kept} event(s)" in out.stderr, out.stderr


def test_error_at_exit_after_flushed_data_keeps_the_flushed_data(tmp_path):
    out, run = _run(tmp_path, """
        w = SummaryWriter(sys.argv[1], max_queue=1_000_000, flush_secs=3600)
        w.add_scalar("loss", 0.0, 0)
        w.flush()
        for step in range(1, 5000):
            w.add_scalar("loss", float(step), step)
        """)
    assert "File too large" in out.stderr, out.stderr
    assert _kept_prefix(run, "loss") >= 1
