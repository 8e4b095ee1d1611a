"""Module-level datasets and functions for the multi-process DataLoader tests: the 'spawn' and
'forkserver' start methods pickle them by reference, so they cannot live inside a test.

Nothing here imports torch, so a spawned worker only imports gpuarr and NumPy.
"""

from __future__ import annotations

import os
import random
import signal
import time

import numpy as np

import gpuarr
from gpuarr.utils.data import Dataset, IterableDataset, get_worker_info


class Samples(Dataset):
    """Sample i: a float32 tensor of 3 copies of i, the int i, and a NumPy int64 scalar."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return {"x": gpuarr.full((3,), float(i)), "i": i, "a": np.arange(2) + i}


class WhoAmI(Dataset):
    """Sample i: i, and the loading worker's id, pid, seeds and first random draws."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        info = get_worker_info()
        return {
            "i": i,
            "id": -1 if info is None else info.id,
            "num_workers": -1 if info is None else info.num_workers,
            "seed": -1 if info is None else info.seed,
            "same_dataset": info is not None and info.dataset is self,
            "pid": os.getpid(),
            "init": INIT_CALLS.get(os.getpid(), -1),
            "py": random.random(),
            "np": float(np.random.rand()),
            "ga": gpuarr.rand(()).item(),
        }


INIT_CALLS: dict[int, int] = {}


def record_init(worker_id: int) -> None:
    """A worker_init_fn: remembers which worker id this process got."""
    INIT_CALLS[os.getpid()] = worker_id


class Raising(Dataset):
    """Raises ``exc`` at index ``bad``, else returns i."""

    def __init__(self, n: int, bad: int, kind: str = "value") -> None:
        self.n, self.bad, self.kind = n, bad, kind

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            if self.kind == "value":
                raise ValueError(f"bad sample {i}")
            if self.kind == "key":
                raise KeyError("missing-key")
            if self.kind == "twoargs":
                raise TwoArgError("a", "b")
            if self.kind == "stop":
                raise StopIteration
        return i


class TwoArgError(Exception):
    """An exception that cannot be rebuilt from one message string."""

    def __init__(self, a, b) -> None:
        super().__init__(a, b)


class Dying(Dataset):
    """The worker process dies at index ``bad``: ``os._exit(3)`` or SIGKILL."""

    def __init__(self, n: int, bad: int, how: str) -> None:
        self.n, self.bad, self.how = n, bad, how

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            if self.how == "exit":
                os._exit(3)
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
        return i


class Blocking(Dataset):
    """Index ``bad`` blocks (sleeps ``seconds``) before returning."""

    def __init__(self, n: int, bad: int, seconds: float = 60.0) -> None:
        self.n, self.bad, self.seconds = n, bad, seconds

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            time.sleep(self.seconds)
        return i


class Pids(Dataset):
    """Sample i: (i, pid of the process that loaded it); optionally slow."""

    def __init__(self, n: int, delay: float = 0.0) -> None:
        self.n, self.delay = n, delay

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        return [i, os.getpid()]


class Sharded(IterableDataset):
    """range(n), split between the workers by get_worker_info (as torch's docs do)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def _info(self):
        return get_worker_info()

    def __iter__(self):
        info = self._info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self) -> int:
        return self.n


def failing_init(worker_id: int) -> None:
    """A worker_init_fn that raises."""
    raise ValueError(f"init failed in worker {worker_id}")


def collate_ids(samples: list) -> list:
    """A collate_fn that keeps the raw samples."""
    return list(samples)
