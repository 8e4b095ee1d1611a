"""The demo trains data-parallel: ``mpirun -n 2 python -m gpuarr.demo --distributed``.

Only rank 0 writes TensorBoard logs and checkpoints and prints; both ranks end with the same
model. The first test runs under ``mpirun -n 2`` (launched by
``test_ddp.py::test_mpi_suite_under_mpirun``); the second launches the command line itself.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import subprocess
import sys

import pytest
from ddp_helpers import (
    init_dist,
    mpi_env,
    mpirun_path,
    not_under_mpi,
    requires_mpi,
)

import gpuarr
from gpuarr import demo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _scalars(logdir: str) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(logdir, size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@requires_mpi
def test_distributed_demo_rank0_logs_and_checkpoints(tmp_path, capsys):
    dist = init_dist()
    rank = dist.get_rank()
    # each rank gets its own --logdir: rank 1's must stay empty
    logdir = str(tmp_path / f"rank{rank}")
    out = demo.main(["--distributed", "--epochs", "2", "--no-progress", "--seed", "0",
                     "--logdir", logdir])
    printed = capsys.readouterr().out
    assert (out["rank"], out["world_size"], out["epoch"]) == (rank, 2, 2)
    acc = gpuarr.tensor([out["test_accuracy"]], dtype=gpuarr.float64)
    both = [gpuarr.zeros_like(acc) for _ in range(2)]
    dist.all_gather(both, acc)
    assert both[0].item() == both[1].item()  # the replicas stayed equal
    if rank == 0:
        assert out["test_accuracy"] >= 0.85
        assert "final test accuracy" in printed and "2 processes" in printed
        assert len(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))) == 1
        ckpt = gpuarr.load(os.path.join(logdir, demo.CHECKPOINT))
        assert ckpt["epoch"] == 2
        assert set(ckpt["model"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}  # plain keys
        scalars = _scalars(logdir)
        # 1437 training digits, half per rank, batches of 32: 23 steps per epoch
        assert [s for s, _ in scalars["train/loss"]] == list(range(46))
        assert [s for s, _ in scalars["test/accuracy"]] == [0, 1]
    else:
        assert printed == ""
        assert not os.path.exists(logdir)


@not_under_mpi
@pytest.mark.slow
def test_distributed_demo_command_line(tmp_path):
    mpirun = mpirun_path()
    if mpirun is None:
        pytest.fail("mpirun not found: install the test extras (mpi4py, mpich) into the venv")
    if importlib.util.find_spec("mpi4py") is None:
        pytest.fail("mpi4py not installed: install the test extras (mpi4py, mpich) into the venv")
    logdir = str(tmp_path / "run")
    args = ["--distributed", "--epochs", "1", "--no-progress", "--logdir", logdir]
    cmd = [sys.executable, "-m", "gpuarr.demo", *args]
    r = subprocess.run([mpirun, "-n", "2", *cmd], cwd=ROOT, env=mpi_env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    assert r.stdout.count("final test accuracy") == 1, r.stdout  # printed by rank 0 only
    assert "on cpu, 2 processes" in r.stdout
    assert len(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))) == 1
    assert gpuarr.load(os.path.join(logdir, demo.CHECKPOINT))["epoch"] == 1
