"""Module-level functions for the process tests of tests/test_torch_modules.py: 'spawn' pickles
them by reference, so they cannot live inside a test. Nothing here imports torch, so a spawned
gpuarr child only imports gpuarr."""

from __future__ import annotations

import os
import signal
import sys

import gpuarr


def put_tensor(i: int, q, device: str) -> None:
    """Send a tensor made on ``device`` back to the parent."""
    q.put((i, gpuarr.full((2, 3), float(i), device=device)))


def raise_in_one(i: int) -> None:
    """Process 1 raises; the others return."""
    if i == 1:
        raise ValueError(f"boom in process {i}")


def exit_with_3(i: int) -> None:
    sys.exit(3)


def kill_self(i: int) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def do_nothing(i: int) -> None:
    pass
