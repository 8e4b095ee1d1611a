"""Data-parallel training step: gpuarr ``DistributedDataParallel`` on 2 ranks (MPI) vs the same
step in one process vs PyTorch's DDP with its gloo backend on the same cores.

The model and data are those of ``bench_training`` (MLP 784-256-256-10, global batch 256, SGD
with momentum): two ranks take 128 samples each. Ranks are separate processes: gpuarr's are
started by ``mpirun -n 2`` (``gpuarr.distributed`` on mpi4py), PyTorch's by this script with
``MASTER_ADDR``/``MASTER_PORT`` (``torch.distributed`` with gloo over loopback TCP). Each
process uses one thread for NumPy's BLAS and for PyTorch.

Usage: ``python benchmarks/bench_ddp.py`` prints the section; ``--worker gpuarr|torch`` is the
per-rank entry point the section starts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

from _timing import fmt_time, table

SIZES, BATCH = [784, 256, 256, 10], 256
WORLD = 2
WARMUP, ROUNDS, STEPS, LAUNCHES = 5, 7, 40, 3
HERE = os.path.dirname(os.path.abspath(__file__))
TAG = "BENCH_DDP_JSON "


def _limit_threads(torch=None) -> None:
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    if torch is not None:
        torch.set_num_threads(1)


def _time_steps(step, barrier) -> tuple[float, list[float]]:
    """Best seconds per step over ``ROUNDS`` rounds of ``STEPS`` steps (every rank runs the
    same count; a barrier starts each round), and the losses of the warm-up steps."""
    losses = [float(step().item()) for _ in range(WARMUP)]
    best = float("inf")
    for _ in range(ROUNDS):
        barrier()
        t0 = time.perf_counter()
        for _ in range(STEPS):
            step()
        best = min(best, (time.perf_counter() - t0) / STEPS)
    return best, losses


# ---- per-rank workers ----


def _gpuarr_worker() -> dict:
    import bench_training as bt

    import gpuarr
    import gpuarr.distributed as dist
    from gpuarr import nn
    from gpuarr.nn.parallel import DistributedDataParallel as DDP

    _limit_threads()
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    params, x, y = bt._init(SIZES, BATCH)
    per = BATCH // world
    layers: list = []
    for k in range(len(SIZES) - 1):
        layers.append(nn.Linear(SIZES[k], SIZES[k + 1]))
        if k < len(SIZES) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    with gpuarr.no_grad():
        for p, a in zip(model.parameters(), params):
            p.copy_(gpuarr.tensor(a))
    ddp = DDP(model)
    opt = gpuarr.optim.SGD(ddp.parameters(), lr=bt.LR, momentum=bt.MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    xb = gpuarr.tensor(x[rank * per:(rank + 1) * per])
    yb = gpuarr.tensor(y[rank * per:(rank + 1) * per])

    def step():
        opt.zero_grad()
        loss = loss_fn(ddp(xb), yb)
        loss.backward()
        opt.step()
        return loss

    t, losses = _time_steps(step, dist.barrier)
    dist.barrier()
    return {"rank": rank, "time": t, "losses": losses}


def _torch_worker() -> dict:
    import bench_training as bt
    import torch
    import torch.distributed as tdist
    from torch.nn.parallel import DistributedDataParallel as DDP

    _limit_threads(torch)
    tdist.init_process_group("gloo")  # RANK, WORLD_SIZE, MASTER_ADDR/PORT from the env
    rank, world = tdist.get_rank(), tdist.get_world_size()
    params, x, y = bt._init(SIZES, BATCH)
    per = BATCH // world
    layers: list = []
    n = len(params) // 2
    for k in range(n):
        out_f, in_f = params[2 * k].shape
        layers.append(torch.nn.Linear(in_f, out_f))
        if k < n - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for p, a in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(a))
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=bt.LR, momentum=bt.MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    xb = torch.from_numpy(x[rank * per:(rank + 1) * per])
    yb = torch.from_numpy(y[rank * per:(rank + 1) * per])

    def step():
        opt.zero_grad()
        loss = loss_fn(ddp(xb), yb)
        loss.backward()
        opt.step()
        return loss

    t, losses = _time_steps(step, tdist.barrier)
    tdist.barrier()
    tdist.destroy_process_group()
    return {"rank": rank, "time": t, "losses": losses}


# ---- launching ----


def _child_env() -> dict:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = "1"
    env["PYTHONPATH"] = os.pathsep.join([HERE, os.path.dirname(HERE),
                                         env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _parse(out: str) -> dict:
    for line in out.splitlines():
        if line.startswith(TAG):
            return json.loads(line[len(TAG):])
    raise RuntimeError("no result in the worker output:\n" + out[-3000:])


def _run_gpuarr() -> dict:
    mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if not os.access(mpirun, os.X_OK):
        mpirun = shutil.which("mpirun")
    if mpirun is None:
        raise RuntimeError("mpirun not found (pip install mpi4py mpich)")
    r = subprocess.run([mpirun, "-n", str(WORLD), sys.executable, os.path.abspath(__file__),
                        "--worker", "gpuarr"], env=_child_env(), capture_output=True, text=True,
                       timeout=600)
    if r.returncode:
        raise RuntimeError(f"mpirun exited with {r.returncode}:\n{(r.stdout + r.stderr)[-3000:]}")
    return _parse(r.stdout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_torch() -> dict:
    env = _child_env()
    env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), WORLD_SIZE=str(WORLD))
    procs = []
    for r in range(WORLD):
        procs.append(subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", "torch"],
            env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=600)
        if p.returncode:
            raise RuntimeError(f"torch worker exited with {p.returncode}:\n{out[-3000:]}")
        outs.append(out)
    return _parse(outs[0])


def _one_process_times() -> dict:
    """gpuarr and PyTorch on the whole batch in this process (taking turns, as
    bench_training does), and gpuarr on one rank's half batch without communication."""
    import bench_training as bt

    params, x, y = bt._init(SIZES, BATCH)
    fns = {"gpuarr": (bt._gpuarr_step_fn(params, x, y, "cpu"), None),
           "gpuarr_half": (bt._gpuarr_step_fn(params, x[:BATCH // WORLD], y[:BATCH // WORLD],
                                              "cpu"), None)}
    try:
        import torch

        fns["torch"] = (bt._torch_step_fn(torch, params, x, y, "cpu"), None)
    except ImportError:
        torch = None
    ctx, _ = bt._single_threaded(torch)
    with ctx:
        return bt._interleaved(fns)


def section(device: str) -> str:
    """Benchmark a 2-rank DDP training step on the CPU; returns Markdown."""
    title = f"## Data-parallel training step: MLP {'-'.join(map(str, SIZES))}, 2 ranks"
    if device != "cpu":
        return f"{title}\n\nCPU only (the GPU variant needs NCCL and two GPUs).\n"
    results: dict = {}
    errors: dict = {}
    for _ in range(LAUNCHES):  # alternate, keep each one's best: load elsewhere hits both alike
        for name, run in (("gpuarr", _run_gpuarr), ("torch", _run_torch)):
            try:
                res = run()
            except Exception as e:  # report, don't lose the other rows
                errors[name] = str(e).strip().splitlines()[-1][:200]
                continue
            if name not in results or res["time"] < results[name]["time"]:
                results[name] = res
    one = _one_process_times()
    g = results.get("gpuarr", {}).get("time")

    def ratio(t):
        return f"{g / t:.2f}" if g and t else "n/a"

    def cell(name):
        return fmt_time(results[name]["time"]) if name in results else \
            f"failed: {errors.get(name, '?')}"

    per = BATCH // WORLD
    rows = [
        ["gpuarr DDP (mpi4py/MPICH)", f"{WORLD} x {per}", cell("gpuarr"), ratio(g)],
        ["PyTorch DDP (gloo)", f"{WORLD} x {per}", cell("torch"),
         ratio(results.get("torch", {}).get("time"))],
        ["gpuarr, one process", f"1 x {BATCH}", fmt_time(one["gpuarr"]), ratio(one["gpuarr"])],
    ]
    if "torch" in one:
        rows.append(["PyTorch, one process", f"1 x {BATCH}", fmt_time(one["torch"]),
                     ratio(one["torch"])])
    rows.append(["gpuarr, one process, half batch (no communication)", f"1 x {per}",
                 fmt_time(one["gpuarr_half"]), ratio(one["gpuarr_half"])])
    agree = "n/a"
    if "gpuarr" in results and "torch" in results:
        la, lb = results["gpuarr"]["losses"], results["torch"]["losses"]
        ok = all(abs(a - b) <= 1e-4 * max(1.0, abs(b)) for a, b in zip(la, lb))
        agree = ("agree" if ok else "DISAGREE") + f" (gpuarr {la[-1]:.6f}, PyTorch {lb[-1]:.6f})"
    return "\n".join([
        title,
        "",
        f"One step = forward, cross-entropy, backward with the gradients averaged over the "
        f"ranks, SGD with momentum 0.9, float32; each of {WORLD} ranks trains on {per} of the "
        f"{BATCH} samples, a process with one thread for BLAS and PyTorch each, on "
        f"{os.cpu_count()} CPU cores. DDP time is rank 0's best of {ROUNDS} rounds of {STEPS} "
        f"steps (after a barrier), the best of {LAUNCHES} launches taken in turns; one-process "
        "rows take turns as in the training section. Rank 0's losses after "
        f"{WARMUP} steps from the same weights and data {agree}.",
        "",
        table(["implementation", "ranks x batch", "time / step", "gpuarr DDP / this (time)"],
              rows),
        "",
    ])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--worker", choices=["gpuarr", "torch"], default=None)
    args = ap.parse_args(argv)
    if args.worker:
        res = _gpuarr_worker() if args.worker == "gpuarr" else _torch_worker()
        if res["rank"] == 0:
            print(TAG + json.dumps(res), flush=True)
        return 0
    print(section("cpu"))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main())
