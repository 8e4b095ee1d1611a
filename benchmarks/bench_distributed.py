"""gpuarr.distributed against raw mpi4py (and raw CuPy NCCL) on the same buffers.

``section(device)`` launches ``mpirun -n 2 python benchmarks/bench_distributed.py --worker``
and turns what rank 0 reports into Markdown tables. The worker runs every function in
``WORKER_SECTIONS`` on every rank; each returns a table (title, headers, rows, note) from rank
0. Timings: every rank runs the same fixed number of calls (timing helpers that pick the count
per process would make the ranks disagree); a sample is the slowest rank's time for a batch,
after a barrier; the tables give medians over interleaved gpuarr/raw batches.

Usage: python benchmarks/bench_distributed.py [--device cpu|cuda]   (prints the section)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _timing import fmt_time, table  # noqa: E402

MB = 1 << 20
MARK = "BENCH_DISTRIBUTED_JSON "


# ---- the worker (runs on every rank under mpirun) -------------------------------------------


def _timed(comm, fn, iters: int, repeats: int) -> list[float]:
    """Seconds per call of ``fn``: one sample per repeat, the slowest rank's."""
    from mpi4py import MPI

    fn()
    samples = []
    for _ in range(repeats):
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        dt = (time.perf_counter() - t0) / iters
        samples.append(comm.allreduce(dt, op=MPI.MAX))
    return samples


def _pair(comm, g_fn, r_fn, iters: int, repeats: int) -> tuple[float, float]:
    """Median seconds per call of gpuarr's ``g_fn`` and raw ``r_fn``, measured alternately."""
    g, r = [], []
    for i in range(repeats):
        first, second = (g_fn, r_fn) if i % 2 == 0 else (r_fn, g_fn)
        a = _timed(comm, first, iters, 1)[0]
        b = _timed(comm, second, iters, 1)[0]
        (g if i % 2 == 0 else r).append(a)
        (r if i % 2 == 0 else g).append(b)
    return statistics.median(g), statistics.median(r)


def _iters(nbytes: int) -> int:
    return max(3, min(200, (64 * MB) // max(nbytes, 1) * 3))


def allreduce_section(ctx) -> dict:
    """All-reduce (SUM) of float32 buffers: gpuarr vs raw on the same memory."""
    import numpy as np
    from mpi4py import MPI

    import gpuarr
    import gpuarr.distributed as dist

    comm, device, n = ctx["comm"], ctx["device"], ctx["n"]
    nccl = dist.get_backend() != "mpi" and device == "cuda"
    rows = []

    def bw(nbytes, s):
        return f"{nbytes / s / 1e9:.2f} GB/s"

    def row(label, nbytes, g, r, target):
        rows.append([label, fmt_time(g), fmt_time(r), bw(nbytes, g), bw(nbytes, r),
                     f"{r / g:.2f}", target])

    for nbytes in (4096, 1 * MB, 64 * MB):
        numel = nbytes // 4
        label = f"{nbytes // MB} MB" if nbytes >= MB else f"{nbytes // 1024} KB"
        t = gpuarr.zeros(numel, device=device)
        if nccl:
            import cupy
            from cupy.cuda import nccl as cnccl

            dist.all_reduce(t)  # makes the group's NCCL communicator
            raw_comm = dist.group.WORLD._nccl[1].comm  # ... which raw calls use too
            arr = t._data

            def raw(arr=arr, raw_comm=raw_comm):
                raw_comm.allReduce(arr.data.ptr, arr.data.ptr, arr.size, cnccl.NCCL_FLOAT32,
                                   cnccl.NCCL_SUM, cupy.cuda.get_current_stream().ptr)
                cupy.cuda.get_current_stream().synchronize()

            def ours(t=t):
                dist.all_reduce(t)
                gpuarr.cuda.synchronize()
        else:
            raw_c = dist.group.WORLD._comm  # gpuarr's own communicator (a Dup of WORLD)
            arr = t._data if device == "cpu" else np.zeros(numel, np.float32)

            def raw(arr=arr, raw_c=raw_c):
                raw_c.Allreduce(MPI.IN_PLACE, [arr, MPI.FLOAT], MPI.SUM)

            def ours(t=t):
                dist.all_reduce(t)

        it = _iters(nbytes)
        g, r = _pair(comm, ours, raw, it, ctx["repeats"])
        target = ">= 0.9" if nbytes >= MB else "(per-call overhead)"
        row(f"all_reduce {label} float32", nbytes, g, r, target)
        if nbytes <= MB:
            dist.set_debug_level("DETAIL")
            gd, rd = _pair(comm, ours, raw, it, ctx["repeats"])
            dist.set_debug_level("OFF")
            row(f"all_reduce {label} float32, DETAIL debug check", nbytes, gd, rd,
                f"check costs {fmt_time(max(gd - g, 0.0))}/call")
        if nbytes == 64 * MB and not nccl:
            def ours_async(t=t):
                dist.all_reduce(t, async_op=True).wait()

            ga, ra = _pair(comm, ours_async, raw, it, ctx["repeats"])
            row(f"all_reduce {label} float32, async_op + wait", nbytes, ga, ra, "info")
        del t
    engine = "NCCL" if nccl else ("MPI, host staging" if device == "cuda" else "MPI")
    if device == "cuda" and getattr(sys.modules.get("cupy"), "_IS_STANDIN", False):
        engine += " on the CuPy STAND-IN (NumPy over MPI: not a GPU's numbers)"
    headers = ["case", "gpuarr", "raw", "gpuarr bw", "raw bw", "raw time / gpuarr time",
               "target"]
    note = (f"{n} ranks, {engine}; raw = "
            + ("CuPy's NcclCommunicator.allReduce on the same device buffer"
               if nccl else "mpi4py `Allreduce(IN_PLACE, [array, FLOAT], SUM)` on the tensor's "
               "own NumPy array, over the same communicator") +
            ". bw = bytes / time (algorithm bandwidth). A ratio >= 1.0 means gpuarr is as fast.")
    return {"title": f"all_reduce ({device})", "headers": headers, "rows": rows, "note": note}


def float16_section(ctx) -> dict:
    """float16 all-reduce over MPI: MPI's float16 type (the default where MPI has one) vs a
    float32 staging buffer (``GPUARR_MPI_FLOAT16=stage``, what MPIs without float16 get)."""
    if ctx["device"] != "cpu":
        return {}
    from mpi4py import MPI

    import gpuarr
    import gpuarr.distributed as dist

    comm = ctx["comm"]
    f16 = getattr(MPI, "FLOAT16_T", MPI.DATATYPE_NULL)
    if f16 == MPI.DATATYPE_NULL:
        return {}
    rows = []
    for nbytes in (1 * MB, 64 * MB):
        t = gpuarr.zeros(nbytes // 2, dtype=gpuarr.float16)
        arr = t._data
        raw_c = dist.group.WORLD._comm
        it = max(3, _iters(nbytes) // 4)

        def native(t=t):
            dist.all_reduce(t)

        def staged(t=t):
            os.environ["GPUARR_MPI_FLOAT16"] = "stage"
            try:
                dist.all_reduce(t)
            finally:
                os.environ.pop("GPUARR_MPI_FLOAT16", None)

        def raw(arr=arr, raw_c=raw_c):
            raw_c.Allreduce(MPI.IN_PLACE, [arr, f16], MPI.SUM)

        gn, r = _pair(comm, native, raw, it, ctx["repeats"])
        gs, _ = _pair(comm, staged, raw, it, ctx["repeats"])
        rows.append([f"{nbytes // MB} MB float16", fmt_time(gn), fmt_time(gs), fmt_time(r),
                     f"{r / gn:.2f}", f"{gn / gs:.2f}"])
        del t, arr
    headers = ["case", "gpuarr (MPI float16, default)", "gpuarr (GPUARR_MPI_FLOAT16=stage)",
               "raw mpi4py, MPI float16", "raw / default time", "default / staged time"]
    note = ("float16 is not a standard MPI type; MPICH has MPIX_C_FLOAT16 (mpi4py's FLOAT16_T), "
            "which gpuarr uses where it exists. Elsewhere float16 goes through a float32 buffer "
            "(convert, reduce, convert back): the staged column measures that path. Timings of "
            "this size swing with the machine's load; the last column > 1 means staging is "
            "faster.")
    return {"title": "float16 all_reduce over MPI (cpu)", "headers": headers, "rows": rows,
            "note": note}


# The DDP step benchmark goes here: add a function taking ``ctx`` (keys: comm, device, n, rank,
# repeats) and returning {"title", "headers", "rows", "note"} (or {} to skip) to this list.
WORKER_SECTIONS = [allreduce_section, float16_section]


def worker(device: str, repeats: int) -> None:
    import gpuarr
    import gpuarr.distributed as dist

    if device == "cuda":
        n_dev = gpuarr.cuda.device_count()
        rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
        gpuarr.cuda.set_device(rank % n_dev)
        backend = "nccl" if dist.is_nccl_available() and n_dev >= 2 else "mpi"
    else:
        backend = "mpi"
    dist.init_process_group(backend)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    ctx = {"comm": comm, "device": device, "n": dist.get_world_size(),
           "rank": dist.get_rank(), "repeats": repeats}
    out = []
    for fn in WORKER_SECTIONS:
        res = fn(ctx)
        if res:
            out.append(res)
    if dist.get_rank() == 0:
        print(MARK + json.dumps(out), flush=True)
    dist.destroy_process_group()


# ---- the section (runs in benchmarks/run.py's process) -------------------------------------


def _mpirun() -> str | None:
    cand = Path(sys.executable).parent / "mpirun"
    return str(cand) if cand.exists() else shutil.which("mpirun")


def run_workers(device: str, nranks: int = 2, repeats: int = 7) -> list[dict]:
    """Launch the worker under mpirun and return rank 0's tables."""
    mpirun = _mpirun()
    if mpirun is None:
        raise RuntimeError("mpirun not found: pip install 'gpuarr[mpi]'")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent)] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    cmd = [mpirun, "-n", str(nranks), sys.executable, str(Path(__file__).resolve()),
           "--worker", "--device", device, "--repeats", str(repeats)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError(f"the benchmark workers failed (exit {proc.returncode}):\n"
                       f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def section(device: str) -> str:
    parts = [f"## Distributed ({device}, 2 ranks under mpirun)\n"]
    for res in run_workers(device):
        parts.append(f"### {res['title']}\n\n{res['note']}\n\n"
                     f"{table(res['headers'], res['rows'])}\n")
    return "\n".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--worker", action="store_true", help="(internal) run as an MPI rank")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.device, args.repeats)
        return 0
    print(section(args.device))
    return 0


if __name__ == "__main__":
    sys.exit(main())
