"""gpuarr.utils.data.DataLoader with real worker processes, next to torch's DataLoader.

Every test here starts processes; each one is bounded in time: the loaders that could wait get a
``timeout``, waits for processes have deadlines, and a SIGALRM guard fails any test that runs
longer than a minute instead of hanging CI.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import dl_helpers as H
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import gpuarr
from gpuarr.utils.data import (
    DataLoader,
    Subset,
    TensorDataset,
    _worker,
    default_collate,
    get_worker_info,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LOAD_TIMEOUT = 30  # seconds: a loader that should deliver but does not fails instead of hanging


@pytest.fixture(autouse=True)
def _deadline():
    """Fail (instead of hanging) any test of this module that runs past 60 s."""

    def expired(signum, frame):
        raise TimeoutError("test ran past its 60 s deadline")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        import psutil

        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    except ImportError:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False


def _wait_gone(pids, within: float = 5.0) -> list[int]:
    """The pids still alive after waiting up to ``within`` seconds for them to go."""
    deadline = time.monotonic() + within
    while True:
        alive = [p for p in pids if _alive(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _plain(batch):
    """A batch as plain Python values (with dtype names), for comparisons."""
    if isinstance(batch, (gpuarr.Tensor, torch.Tensor, np.ndarray)):
        return (str(batch.dtype).split(".")[-1], list(batch.shape), batch.tolist())
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [_plain(v) for v in batch]
    return batch


def _epoch(loader) -> list:
    return [_plain(b) for b in loader]


def _rows(loader) -> list:
    """The batches of H.Pids: [[indices], [pids]] each."""
    return [[t.tolist() for t in b] for b in loader]


class TorchSharded(tud.IterableDataset):
    """dl_helpers.Sharded for torch's DataLoader (asks torch's get_worker_info)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        info = tud.get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


# ---- order and values ----


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_batches_in_order_and_equal_to_single_process(workers):
    ds = H.Samples(23)
    ref = _epoch(DataLoader(ds, batch_size=4))
    assert _epoch(DataLoader(ds, batch_size=4, num_workers=workers)) == ref
    # shuffled with a generator: the same order whatever the number of workers, every epoch
    mk = lambda w: DataLoader(ds, batch_size=4, shuffle=True, num_workers=w,  # noqa: E731
                              generator=gpuarr.Generator().manual_seed(7))
    single, multi = mk(0), mk(workers)
    assert [_epoch(single) for _ in range(2)] == [_epoch(multi) for _ in range(2)]
    # shuffled by the default generator: gpuarr.manual_seed fixes it, for any number of workers
    gpuarr.manual_seed(3)
    e0 = [_epoch(DataLoader(ds, batch_size=5, shuffle=True)) for _ in range(2)]
    gpuarr.manual_seed(3)
    ew = [_epoch(DataLoader(ds, batch_size=5, shuffle=True, num_workers=workers))
          for _ in range(2)]
    assert e0 == ew and e0[0] != e0[1]
    # no batching, custom collate, drop_last
    assert (list(DataLoader(H.Pids(5), batch_size=None, num_workers=workers))
            == [[i, os.getpid()] for i in range(5)]) == (workers == 0)
    assert _epoch(DataLoader(ds, batch_size=None, num_workers=workers)) == _epoch(
        DataLoader(ds, batch_size=None))
    raw = list(DataLoader(H.Samples(5), batch_size=2, collate_fn=H.collate_ids,
                          num_workers=workers, drop_last=True))
    assert [[s["i"] for s in b] for b in raw] == [[0, 1], [2, 3]]


def test_batches_match_torch_dataloader_with_workers():
    ds = H.Raising(11, bad=-1)  # plain ints
    ours = [b.tolist() for b in DataLoader(ds, batch_size=3, num_workers=2)]
    ref = [b.tolist() for b in tud.DataLoader(ds, batch_size=3, num_workers=2)]
    assert ours == ref == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10]]
    # an IterableDataset sharded with get_worker_info, as in torch's docs
    for drop_last in (False, True):
        ours = [b.tolist() for b in DataLoader(H.Sharded(10), batch_size=3, num_workers=2,
                                                drop_last=drop_last)]
        ref = [b.tolist() for b in tud.DataLoader(TorchSharded(10), batch_size=3,
                                                   num_workers=2, drop_last=drop_last)]
        assert ours == ref
    assert ours == [[0, 2, 4], [1, 3, 5]]


def test_tensor_dataset_and_dtypes_through_workers():
    x = gpuarr.arange(40, dtype=gpuarr.float32).reshape(20, 2)
    y = gpuarr.arange(20)
    ds = TensorDataset(x, y)
    for (xb, yb), (xr, yr) in zip(DataLoader(ds, batch_size=6, num_workers=2),
                                  DataLoader(ds, batch_size=6)):
        assert xb.dtype == gpuarr.float32 and yb.dtype == gpuarr.int64
        assert xb.device == gpuarr.device("cpu")
        assert xb.tolist() == xr.tolist() and yb.tolist() == yr.tolist()
        xb += 1  # the unpickled batch owns writable memory


def test_prefetch_factor_bounds_the_batches_in_flight():
    it = iter(DataLoader(H.Pids(40), batch_size=2, num_workers=2, timeout=LOAD_TIMEOUT))
    assert len(it._task_worker) == 2 * 2  # torch's default prefetch_factor=2, per worker
    next(it)
    assert len(it._task_worker) == 4
    it = iter(DataLoader(H.Pids(40), batch_size=2, num_workers=2, prefetch_factor=3))
    assert len(it._task_worker) == 6
    it = iter(DataLoader(H.Pids(6), batch_size=2, num_workers=2, prefetch_factor=5))
    assert len(it._task_worker) == 3 == len(it)  # only three batches exist
    assert len(list(it)) == 3


# ---- worker info and seeding ----


def _who(generator=None, workers=2):
    loader = DataLoader(H.WhoAmI(8), batch_size=2, num_workers=workers,
                        worker_init_fn=H.record_init, generator=generator, timeout=LOAD_TIMEOUT)
    return [{k: v.tolist() for k, v in b.items()} for b in loader]


def test_get_worker_info_and_worker_init_fn():
    assert get_worker_info() is None
    batches = _who()
    for k, b in enumerate(batches):
        wid = k % 2  # round robin: batch k comes from worker k % 2
        assert b["id"] == [wid, wid] and b["num_workers"] == [2, 2]
        assert b["init"] == [wid, wid]  # worker_init_fn(worker_id) ran in that process
        assert b["same_dataset"] == [True, True]
        assert b["pid"][0] != os.getpid()
    seeds = {b["id"][0]: b["seed"][0] for b in batches}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id, as torch


def test_worker_seeds_are_reproducible_and_seed_every_rng():
    a = _who(gpuarr.Generator().manual_seed(5))
    b = _who(gpuarr.Generator().manual_seed(5))
    c = _who(gpuarr.Generator().manual_seed(6))
    assert a == [dict(x, pid=y["pid"]) for x, y in zip(b, a)]  # all equal but the pids
    assert a[0]["seed"] != c[0]["seed"]
    gpuarr.manual_seed(11)
    d = _who()
    gpuarr.manual_seed(11)
    e = _who()
    assert [x["seed"] for x in d] == [x["seed"] for x in e]
    assert [x["ga"] for x in d] == [x["ga"] for x in e]
    # a worker's first draws are those of random / numpy / gpuarr seeded as torch seeds them
    import random

    from torch.utils.data._utils.worker import _generate_state

    first = a[0]  # worker 0's first two samples
    seed = first["seed"][0]
    random.seed(seed)
    assert first["py"] == [random.random(), random.random()]
    np.random.seed(_generate_state(seed, 0))  # torch's NumPy seed for (base_seed, id 0)
    assert first["np"] == [np.random.rand(), np.random.rand()]
    gpuarr.manual_seed(seed)
    assert first["ga"] == [gpuarr.rand(()).item(), gpuarr.rand(()).item()]
    assert a[1]["py"][0] != first["py"][0]  # worker 1 draws other numbers


# ---- failures ----


def test_timeout_raises_torch_error_and_stops_the_workers():
    loader = DataLoader(H.Blocking(8, bad=3, seconds=30), batch_size=2, num_workers=2,
                        timeout=1)
    it = iter(loader)
    pids = it.worker_pids
    assert next(it).tolist() == [0, 1]
    t0 = time.monotonic()
    with pytest.raises(RuntimeError) as info:
        next(it)
    assert str(info.value) == "DataLoader timed out after 1 seconds"  # torch's text
    assert time.monotonic() - t0 < 5
    assert _wait_gone(pids) == []
    with pytest.raises(StopIteration):
        next(it)
    # torch: a timeout needs worker processes
    for lib_loader in (DataLoader, tud.DataLoader):
        with pytest.raises(AssertionError, match="requires timeout == 0"):
            next(iter(lib_loader(H.Pids(2), timeout=1)))


@pytest.mark.parametrize("how,detail", [("exit", "exited unexpectedly with exit code 3"),
                                        ("kill", "is killed by signal: Killed")])
def test_dead_worker_is_reported_promptly(how, detail):
    it = iter(DataLoader(H.Dying(16, bad=5, how=how), batch_size=2, num_workers=2))
    pids = it.worker_pids
    t0 = time.monotonic()
    with pytest.raises(RuntimeError) as info:
        for _ in it:
            pass
    assert time.monotonic() - t0 < 5
    msg = str(info.value)
    dead_pid = int(msg.split("pid(s) ")[1].split(")")[0])
    assert dead_pid in pids
    assert msg.startswith(f"DataLoader worker (pid(s) {dead_pid}) exited unexpectedly")
    assert f"(pid {dead_pid}) {detail}" in msg
    assert _wait_gone(pids) == []  # the other worker was stopped too
    # torch reports the same way (collating to lists: torch passes tensors as file descriptors
    # through a socket of the worker, which races with the worker's death)
    t_it = iter(tud.DataLoader(H.Dying(16, bad=5, how=how), batch_size=2, num_workers=2,
                               collate_fn=H.collate_ids))
    try:
        # torch's SIGCHLD handler may raise its own per-worker text ("(pid N) is killed by
        # signal: ...") before its poll loop wraps it as "(pid(s) N) exited unexpectedly"
        with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid(\(s\))? \d+\) "):
            for _ in t_it:
                pass
    finally:
        # unregisters its pids from torch's SIGCHLD handler, which would otherwise raise
        # about the dead worker later, anywhere, whenever some child process exits
        t_it._shutdown_workers()


def _outcomes(loader) -> list:
    it = iter(loader)
    out = []
    for _ in range(len(loader) + 1):
        try:
            out.append(next(it).tolist())
        except StopIteration:
            break
        except Exception as e:
            out.append(e)
    return out


def test_worker_exception_is_reraised_with_traceback_and_index():
    ours = _outcomes(DataLoader(H.Raising(10, bad=5), batch_size=2, num_workers=2))
    ref = _outcomes(tud.DataLoader(H.Raising(10, bad=5), batch_size=2, num_workers=2))
    # the same batches come, the same one fails and iteration goes on after it, as in torch
    assert [o if isinstance(o, list) else type(o) for o in ours] == [
        o if isinstance(o, list) else type(o) for o in ref] == [
        [0, 1], [2, 3], ValueError, [6, 7], [8, 9]]
    err, terr = ours[2], ref[2]
    msg = str(err)
    assert msg.splitlines()[0] == str(terr).splitlines()[0] == (
        "Caught ValueError in DataLoader worker process 0.")
    assert msg.splitlines()[1] == "While loading dataset index 5 (batch indices [4, 5])."
    assert "Original Traceback (most recent call last):" in msg
    assert "dl_helpers.py" in msg and "ValueError: bad sample 5" in msg


def test_worker_exception_types():
    with pytest.raises(KeyError) as info:
        list(DataLoader(H.Raising(4, bad=2, kind="key"), batch_size=2, num_workers=1))
    assert "Caught KeyError in DataLoader worker process 0." in str(info.value)
    assert "\\n" not in str(info.value)  # readable, not a repr of the message
    # an exception that cannot be rebuilt from one string comes back as a RuntimeError
    with pytest.raises(RuntimeError, match="Caught TwoArgError in DataLoader worker process 0"):
        list(DataLoader(H.Raising(4, bad=2, kind="twoargs"), batch_size=2, num_workers=1))
    with pytest.raises(ValueError, match="While running worker_init_fn") as info:
        list(DataLoader(H.Pids(4), num_workers=1, worker_init_fn=H.failing_init))
    assert "init failed in worker 0" in str(info.value)
    # StopIteration from a map-style dataset must not end the epoch silently: a RuntimeError,
    # with or without workers
    for workers in (0, 1):
        with pytest.raises(RuntimeError):
            list(DataLoader(H.Raising(4, bad=2, kind="stop"), batch_size=2, num_workers=workers))


# ---- shutdown ----


def test_workers_stop_when_the_iterator_ends_or_is_dropped():
    loader = DataLoader(H.Pids(40, delay=0.01), batch_size=2, num_workers=2,
                        timeout=LOAD_TIMEOUT)
    it = iter(loader)
    list(it)
    assert [p for p in it.worker_pids if _alive(p)] == []  # joined when exhausted
    it = iter(loader)
    next(it)
    pids = it.worker_pids
    assert all(_alive(p) for p in pids)
    del it
    gc.collect()
    assert _wait_gone(pids) == []
    for batch in loader:  # break out of a for loop: the iterator is dropped
        pids = [int(batch[1][0])]
        break
    gc.collect()
    assert _wait_gone(pids) == []
    try:
        import psutil
    except ImportError:
        return
    names = [c.name() for c in psutil.Process().children()]
    assert not [n for n in names if "dataloader" in n]


_EXIT_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{here!r}, {root!r}]
    import dl_helpers as H
    from gpuarr.utils.data import DataLoader
    if __name__ == "__main__":
        mode, context = sys.argv[1:]
        loader = DataLoader(H.Pids(100, delay=0.01), batch_size=2, num_workers=2,
                            persistent_workers=(mode == "persistent"),
                            multiprocessing_context=context)
        it = iter(loader)
        next(it)
        print("PIDS", *it.worker_pids, flush=True)
        if mode == "raise":
            raise ValueError("main process fails")
        if mode == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        print("done", flush=True)
""")


@pytest.mark.parametrize("mode,context", [("raise", "fork"), ("persistent", "fork"),
                                          ("sigkill", "fork"), ("persistent", "spawn")])
def test_no_orphan_workers_after_the_main_process_exits(tmp_path, mode, context):
    script = tmp_path / "main.py"
    script.write_text(_EXIT_SCRIPT.format(here=HERE, root=ROOT))
    with open(tmp_path / "out.txt", "w+") as out:  # not a pipe: workers would hold it open
        proc = subprocess.run([sys.executable, str(script), mode, context], stdout=out,
                              stderr=subprocess.STDOUT, timeout=40)
        out.seek(0)
        text = out.read()
    pids = [int(p) for p in text.split("PIDS")[1].split("\n")[0].split()]
    assert len(pids) == 2
    expected_rc = {"raise": 1, "persistent": 0, "sigkill": -signal.SIGKILL}[mode]
    assert proc.returncode == expected_rc, text
    # normal and failing exits stop the workers on the way out; after a SIGKILL the workers
    # notice within a second or two that their parent is gone
    assert _wait_gone(pids, within=5.0) == []
    assert "leaked" not in text  # e.g. the resource tracker's semaphore warnings under spawn
    assert text.count("Traceback") == (1 if mode == "raise" else 0), text
    assert ("ValueError: main process fails" in text) == (mode == "raise")


def test_a_forked_copy_of_an_iterator_leaves_the_parents_workers_alone():
    it = iter(DataLoader(H.Pids(12), batch_size=2, num_workers=2, timeout=LOAD_TIMEOUT))
    assert next(it)[0].tolist() == [0, 1]
    pid = os.fork()
    if pid == 0:  # the child drops its copy of the iterator and runs our exit hook
        try:  # (not all of atexit: multiprocessing's own hook would kill its inherited children)
            del it
            gc.collect()
            _worker._shutdown_all_at_exit()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert [b[0].tolist() for b in it] == [[2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]


def test_persistent_workers_are_reused_across_epochs():
    loader = DataLoader(H.Pids(8), batch_size=2, num_workers=2, persistent_workers=True,
                        timeout=LOAD_TIMEOUT)
    e1 = _rows(loader)
    it1 = loader._iterator
    e2 = _rows(loader)
    assert loader._iterator is it1
    assert [b[0] for b in e1] == [b[0] for b in e2] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert [b[1] for b in e1] == [b[1] for b in e2]  # same batch, same worker pid
    pids = it1.worker_pids
    assert {b[1][0] for b in e1} == set(pids) and all(_alive(p) for p in pids)
    # an epoch left half-way: the next one still starts from the beginning
    it = iter(loader)
    next(it)
    assert [b[0] for b in _rows(loader)] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert loader._iterator.worker_pids == pids
    # iterable datasets restart in every worker
    stream = DataLoader(H.Sharded(7), batch_size=2, num_workers=2, persistent_workers=True)
    assert [b.tolist() for b in stream] == [b.tolist() for b in stream] == [
        [0, 2], [1, 3], [4, 6], [5]]
    del loader, it, it1
    gc.collect()
    assert _wait_gone(pids) == []


@pytest.mark.parametrize("context", ["fork", "spawn", "forkserver-object"])
def test_multiprocessing_contexts(context):
    if context.endswith("-object"):
        context = multiprocessing.get_context(context.split("-")[0])
    ds = H.Samples(10)
    loader = DataLoader(ds, batch_size=3, num_workers=2, multiprocessing_context=context,
                        worker_init_fn=H.record_init, timeout=LOAD_TIMEOUT)
    assert _epoch(loader) == _epoch(DataLoader(ds, batch_size=3))
    who = [b["init"].tolist() for b in DataLoader(H.WhoAmI(4), batch_size=2, num_workers=2,
                                                   multiprocessing_context=context,
                                                   worker_init_fn=H.record_init,
                                                   timeout=LOAD_TIMEOUT)]
    assert who == [[0, 0], [1, 1]]


def test_unpicklable_dataset_under_spawn_fails_with_a_hint_and_leaks_nothing():
    class Local(H.Pids):  # a local class: spawn cannot pickle it
        pass

    def n_fds() -> int:
        return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0

    loader = DataLoader(Local(4), num_workers=2, multiprocessing_context="spawn")
    counts = []
    for _ in range(3):  # the first try may open multiprocessing's process-wide resources
        with pytest.warns(UserWarning, match="Got pickle error when attempting to start a "):
            with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
                iter(loader)
        gc.collect()
        counts.append(n_fds())
    # no pipe or queue left open per attempt: the count never grows (a busy machine may close
    # an earlier attempt's descriptor a little late, so it can shrink)
    assert counts[2] <= counts[1]
    assert not [p for p in _worker._live_pools if not p.closed]


# ---- arguments ----


@pytest.mark.parametrize("kwargs", [
    {"num_workers": -1},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"num_workers": 2, "prefetch_factor": -1},
    {"persistent_workers": True},
    {"num_workers": 2, "multiprocessing_context": "bogus"},
    {"num_workers": 2, "multiprocessing_context": 3},
    {"multiprocessing_context": "fork"},
])
def test_argument_errors_match_torch(kwargs):
    with pytest.raises(Exception) as ref:
        tud.DataLoader(range(4), **kwargs)
    with pytest.raises(Exception) as ours:
        DataLoader(H.Pids(4), **kwargs)
    assert type(ours.value) is type(ref.value)
    assert str(ours.value) == str(ref.value)


def test_more_workers_than_cpus_warns_like_torch():
    n = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    with pytest.warns(UserWarning) as ours:
        DataLoader(H.Pids(4), num_workers=n + 1)
    with pytest.warns(UserWarning) as ref:
        tud.DataLoader(range(4), num_workers=n + 1)
    assert str(ours[0].message) == str(ref[0].message)


# ---- pin_memory ----


@pytest.mark.skipif(gpuarr.cuda.is_available(), reason="checks the CPU-only behaviour")
@pytest.mark.parametrize("workers", [0, 2])
def test_pin_memory_without_accelerator_warns_like_torch(workers):
    with warnings.catch_warnings(record=True) as ref:
        warnings.simplefilter("always")
        list(tud.DataLoader(range(4), batch_size=2, pin_memory=True, num_workers=workers))
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        batches = _rows(DataLoader(H.Pids(4), batch_size=2, pin_memory=True,
                                   num_workers=workers))
    texts = [str(w.message) for w in ours]
    assert texts == [str(w.message) for w in ref if "pin_memory" in str(w.message)]
    assert texts == ["'pin_memory' argument is set as true but no accelerator is found, then "
                     "device pinned memory won't be used."]
    assert ours[0].filename == __file__  # points at the caller
    assert [b[0] for b in batches] == [[0, 1], [2, 3]]


class _FakePinned:
    """Stands in for the CUDA backend's ``pinned_empty(shape, dtype)``."""

    def __init__(self) -> None:
        self.made: list[np.ndarray] = []

    def __call__(self, shape, dtype) -> np.ndarray:
        arr = np.empty(shape, dtype)
        self.made.append(arr)
        return arr


@pytest.mark.parametrize("workers", [0, 2])
def test_pin_memory_copies_batches_into_the_backends_pinned_buffers(monkeypatch, workers):
    fake = _FakePinned()
    monkeypatch.setattr(gpuarr.cuda, "is_available", lambda: True)
    monkeypatch.setattr("gpuarr.utils.data.dataloader._pinned_allocator", lambda: fake)
    loader = DataLoader(H.Samples(4), batch_size=2, pin_memory=True, num_workers=workers)
    batches = list(loader)
    ref = _epoch(DataLoader(H.Samples(4), batch_size=2))
    assert [_plain(b) for b in batches] == ref
    pinned = [b[k]._data for b in batches for k in ("x", "i", "a")]
    assert len(fake.made) == len(pinned) and all(
        p is m for p, m in zip(pinned, fake.made))
    # no allocator on the backend: batches stay where they are
    monkeypatch.setattr("gpuarr.utils.data.dataloader._pinned_allocator", lambda: None)
    assert _epoch(DataLoader(H.Samples(4), batch_size=2, pin_memory=True)) == ref


def test_pin_memory_keeps_the_batch_structure():
    fake = _FakePinned()
    batch = default_collate([{"x": gpuarr.ones(2), "n": (1, "a")}] * 2)
    out = _worker.pin_memory({"b": batch, "t": (gpuarr.zeros(1), [gpuarr.ones(1)]), "s": "k"},
                             fake)
    assert _plain(out) == _plain({"b": batch, "t": (gpuarr.zeros(1), [gpuarr.ones(1)]),
                                  "s": "k"})
    assert isinstance(out["t"], tuple) and isinstance(out["t"][1], list)
    assert len(fake.made) == 4


# ---- the pipe protocol ----


def test_frames_survive_partial_writes_and_never_block():
    r, w = multiprocessing.Pipe(duplex=False)
    reader = _worker._FrameReader(r)
    try:
        batch = {"x": gpuarr.arange(100000, dtype=gpuarr.float32), "y": [1, "two"],
                 "z": np.zeros((0, 3)), "t": gpuarr.tensor(2.5)}
        pieces = _worker._dumps((7, batch))
        data = b"".join(bytes(p) for p in pieces)
        cut = len(data) // 2
        fd = w.fileno()
        os.set_blocking(fd, False)  # the pipe buffer may be small: write what fits
        sent = 0
        while sent < cut:
            try:
                sent += os.write(fd, data[sent:cut])
            except BlockingIOError:
                reader.pump()
        reader.pump()
        assert not reader.frames  # half a message: nothing yet, and no waiting for the rest
        os.set_blocking(fd, True)
        rest = memoryview(data)[sent:]
        while len(rest):
            try:
                os.set_blocking(fd, False)
                n = os.write(fd, rest)
                rest = rest[n:]
            except BlockingIOError:
                pass
            reader.pump()
        reader.pump()
        idx, out = _worker._loads(*reader.frames.popleft())
        assert idx == 7 and _plain(out) == _plain(batch)
        assert out["x"]._data.flags.writeable and out["x"].device == gpuarr.device("cpu")
        assert out["z"].shape == (0, 3)
    finally:
        reader.close()
        w.close()


# ---- Subset with non-integer indices ----


@pytest.mark.parametrize("workers", [0, 2])
def test_subset_with_float_indices_raises_index_error_like_torch(workers):
    ds = TensorDataset(gpuarr.arange(5) * 10)
    tds = tud.TensorDataset(torch.arange(5) * 10)
    with pytest.raises(IndexError) as ref:
        list(tud.DataLoader(tud.Subset(tds, [0.9, 2.7]), batch_size=2))
    with pytest.raises(IndexError) as ours:
        list(DataLoader(Subset(ds, [0.9, 2.7]), batch_size=2, num_workers=workers))
    assert str(ref.value) in str(ours.value)
    with pytest.raises(IndexError):  # a sampler giving floats: the same
        list(DataLoader(ds, batch_size=2, sampler=[0.5, 1.0], num_workers=workers))
    # integer indices (Python or NumPy) still take the fast path and give the right rows
    sub = Subset(ds, np.array([4, 0, 2]))
    assert [b[0].tolist() for b in DataLoader(sub, batch_size=2, num_workers=workers)] == [
        [40, 0], [20]]
    nested = Subset(Subset(ds, [4, 3, 2, 1]), [3, 0])
    assert next(iter(DataLoader(nested, batch_size=2)))[0].tolist() == [10, 40]
    with pytest.raises(IndexError):
        list(DataLoader(Subset(ds, [0, 9]), batch_size=2))
