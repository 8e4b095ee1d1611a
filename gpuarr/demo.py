"""Train a digit classifier end to end: ``python -m gpuarr.demo`` (or ``make demo``).

The data is scikit-learn's bundled 8x8 handwritten digits (1,797 images, nothing is
downloaded). A small MLP (64-128-10) is trained with Adam and a cosine learning-rate schedule;
a tqdm bar shows the loss and accuracy. Scalars (loss, accuracy, learning rate), weight
histograms and sample input images go to TensorBoard through gpuarr's ``SummaryWriter``, and
a checkpoint (model, optimizer, epoch) is written after every epoch, so ``--resume`` continues
an interrupted run exactly where it stopped.

With ``--distributed`` the same training runs data-parallel, one process per rank, launched by
``mpirun``: ``gpuarr.distributed.init_process_group('mpi')`` (NCCL for CUDA devices), a
``DistributedSampler`` gives every rank its share of each epoch, ``DistributedDataParallel``
averages the gradients, and only rank 0 logs to TensorBoard, writes the checkpoint, shows the
progress bar and prints the result. ``--batch-size`` is then per process (as in torch).

With ``--compile`` the training step (forward, loss, backward, optimizer step) is wrapped in
``gpuarr.compile``, and before training the demo times that step eager and compiled on one
batch, on throwaway copies of the model, and prints both times.

Example:
    $ python -m gpuarr.demo --epochs 20 --device auto
    $ tensorboard --logdir runs/digits
    $ mpirun -n 2 python -m gpuarr.demo --distributed
    $ python -m gpuarr.demo --compile
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import gpuarr
from gpuarr import nn
from gpuarr.nn.parallel import DistributedDataParallel
from gpuarr.optim import Adam
from gpuarr.optim.lr_scheduler import CosineAnnealingLR
from gpuarr.utils.data import DataLoader, TensorDataset
from gpuarr.utils.data.distributed import DistributedSampler

__all__ = ["main", "build_model", "load_digits_tensors"]

CHECKPOINT = "checkpoint.safetensors"
STEP_WARMUP, STEP_TIMED = 5, 20  # --compile: steps before timing, steps timed (median)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m gpuarr.demo",
        description="Train an MLP on scikit-learn's 8x8 digits with gpuarr, logging to "
                    "TensorBoard.",
    )
    p.add_argument("--epochs", type=int, default=20, help="total epochs to train (default 20)")
    p.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default 32)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    p.add_argument("--hidden", type=int, default=128, help="hidden units (default 128)")
    p.add_argument("--device", default="cpu",
                   help="'cpu' (default), 'cuda', 'cuda:N' or 'auto' (CUDA when available)")
    p.add_argument("--logdir", default=os.path.join("runs", "digits"),
                   help="TensorBoard run directory; the checkpoint is saved there too "
                        "(default runs/digits)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--resume", action="store_true",
                   help=f"continue from <logdir>/{CHECKPOINT} up to --epochs")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--distributed", action="store_true",
                   help="train data-parallel, one process per rank: launch with "
                        "`mpirun -n N python -m gpuarr.demo --distributed` (--batch-size is "
                        "per process; rank 0 logs, checkpoints and prints)")
    p.add_argument("--compile", action="store_true",
                   help="wrap the training step in gpuarr.compile, and print the step's time "
                        "eager and compiled")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error("--epochs must be at least 1")
    return args


def _device(name: str) -> gpuarr.device:
    if name == "auto":
        return gpuarr.device("cuda" if gpuarr.cuda.is_available() else "cpu")
    dev = gpuarr.device(name)
    if dev.type == "cuda":
        try:  # the factories raise the explanatory error (what is missing, what to install)
            gpuarr.zeros(1, device=dev)
        except RuntimeError as e:
            raise SystemExit(f"--device {name}: {e}") from None
    return dev


def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits as (pixels [1797, 64] in 0..16, labels).

    The CSV that ``sklearn.datasets.load_digits`` parses is read directly when it is where
    scikit-learn keeps it: importing scikit-learn (and SciPy with it) takes several seconds,
    longer than training.
    """
    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(root, "datasets", "data", "digits.csv.gz")
        if os.path.exists(path):
            table = np.loadtxt(path, delimiter=",")
            return table[:, :-1], table[:, -1]
    from sklearn.datasets import load_digits  # lazy: scikit-learn (with SciPy) takes seconds

    digits = load_digits()
    return digits.data, digits.target


def load_digits_tensors(seed: int, device, test_fraction: float = 0.2):
    """The digits as gpuarr tensors, split at random (seeded) into train and test sets.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: float32 inputs of shape ``[N, 64]`` scaled to
        [0, 1], int64 labels.
    """
    pixels, labels = _read_digits()
    x = (pixels / 16.0).astype(np.float32)
    y = labels.astype(np.int64)
    perm = gpuarr.randperm(len(x), generator=gpuarr.Generator().manual_seed(seed)).numpy()
    n_test = int(round(len(x) * test_fraction))
    test, train = perm[:n_test], perm[n_test:]

    def put(a: np.ndarray) -> gpuarr.Tensor:
        return gpuarr.from_numpy(np.ascontiguousarray(a)).to(device)

    return put(x[train]), put(y[train]), put(x[test]), put(y[test])


def build_model(hidden: int = 128) -> nn.Module:
    """The classifier: Linear(64, hidden) - ReLU - Linear(hidden, 10)."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def _evaluate(model: nn.Module, loss_fn, x: gpuarr.Tensor, y: gpuarr.Tensor):
    model.eval()
    with gpuarr.no_grad():
        logits = model(x)
        loss = loss_fn(logits, y).item()
    model.train()
    pred = logits.cpu().numpy().argmax(1)
    return loss, float((pred == y.cpu().numpy()).mean())


def _log_images(writer, x: gpuarr.Tensor, y: gpuarr.Tensor) -> None:
    imgs = x.cpu().numpy()[:32].reshape(-1, 1, 8, 8)  # NCHW, values in [0, 1]
    writer.add_images("inputs/train_digits", imgs, 0)
    labels = " ".join(str(v) for v in y.cpu().numpy()[:32].tolist())
    writer.add_text("inputs/train_labels", labels, 0)


def _init_distributed(dev: gpuarr.device) -> tuple[Any, bool, gpuarr.device]:
    """Join the process group (unless this process already has): MPI for CPU tensors, NCCL
    for CUDA ones, each rank on its own GPU. Returns (gpuarr.distributed, whether this call
    created the group, the device)."""
    dist = gpuarr.distributed
    own = not dist.is_initialized()
    if own:
        dist.init_process_group("nccl" if dev.type == "cuda" else "mpi")
    if dev.type == "cuda" and dev.index is None:
        dev = gpuarr.device(f"cuda:{dist.get_rank() % max(gpuarr.cuda.device_count(), 1)}")
    return dist, own, dev


def _make_step(net: nn.Module, loss_fn, opt):
    """One training step on a batch, tensor work only (no ``.item()``: a compiled step stays
    one capture). Returns the detached loss and logits."""
    def train_step(xb: gpuarr.Tensor, yb: gpuarr.Tensor):
        logits = net(xb)
        loss = loss_fn(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach(), logits.detach()

    return train_step


def _step_times(model: nn.Module, loss_fn, lr: float, xb: gpuarr.Tensor, yb: gpuarr.Tensor,
                warmup: int = STEP_WARMUP, steps: int = STEP_TIMED) -> dict[str, float]:
    """Median seconds of the training step, eager and wrapped in ``gpuarr.compile``, on one
    batch, each on its own copy of ``model`` with a fresh optimizer (the model being trained
    is left alone). ``warmup`` calls come first (a compiled step traces on its first calls)."""
    cuda = xb.device.type == "cuda"
    times = {}
    for name in ("eager", "compiled"):
        scratch = copy.deepcopy(model)
        step = _make_step(scratch, loss_fn, Adam(scratch.parameters(), lr=lr))
        if name == "compiled":
            step = gpuarr.compile(step)
        for _ in range(warmup):
            step(xb, yb)
        samples = []
        for _ in range(steps):
            if cuda:
                gpuarr.cuda.synchronize()
            t0 = time.perf_counter()
            step(xb, yb)
            if cuda:
                gpuarr.cuda.synchronize()
            samples.append(time.perf_counter() - t0)
        times[name] = statistics.median(samples)
    return times


def _compile_summary(step) -> str:
    """What ``gpuarr.compile`` did with the training step, from its ``stats()`` when it has
    them (a function handed back unchanged has none)."""
    stats = getattr(step, "stats", None)
    if stats is None:
        return "gpuarr.compile returned the step unchanged: it ran eagerly"
    s = stats()
    text = "gpuarr.compile: " + ", ".join(f"{s[k]} {k.replace('_', ' ')}" for k in
                                          ("traces", "replays", "eager_calls",
                                           "cache_entries") if k in s)
    reason = getattr(step, "eager_reason", None)
    return text + (f"; ran eagerly because {reason}" if reason else "")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the demo with command-line style arguments.

    Args:
        argv: the arguments (default ``sys.argv[1:]``), e.g. ``['--epochs', '5']``.

    Returns:
        ``{'test_accuracy', 'test_loss', 'epoch', 'checkpoint', 'logdir', 'seconds'}``; with
        ``--distributed`` also ``'rank'`` and ``'world_size'`` (every rank returns the same
        accuracy: the replicas stay equal); with ``--compile`` also ``'step_seconds'``
        (``{'eager', 'compiled'}``, median seconds per training step on one batch).
    """
    from tqdm.auto import tqdm  # lazy: only when the demo runs, not for its helpers

    from gpuarr.utils.tensorboard import SummaryWriter  # lazy: protobuf, as tqdm

    args = _parse(argv)
    t0 = time.perf_counter()
    dev = _device(args.device)
    dist, own_group, rank, world = None, False, 0, 1
    if args.distributed:
        dist, own_group, dev = _init_distributed(dev)
        rank, world = dist.get_rank(), dist.get_world_size()
    main_rank = rank == 0
    gpuarr.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_digits_tensors(args.seed, dev)
    model = build_model(args.hidden).to(dev)
    loss_fn = nn.CrossEntropyLoss()
    opt = Adam(model.parameters(), lr=args.lr)
    ckpt_path = os.path.join(args.logdir, CHECKPOINT)

    start = 0
    if args.resume:
        if not os.path.exists(ckpt_path):
            raise SystemExit(f"--resume: no checkpoint at {ckpt_path}; run without --resume "
                             "first (or pass the --logdir of that run)")
        ckpt = gpuarr.load(ckpt_path, map_location=dev)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        start = int(ckpt["epoch"])
    # resuming sets the schedule to where it stopped: the optimizer already holds the lr
    sched = CosineAnnealingLR(opt, T_max=args.epochs, last_epoch=start - 1)

    net: nn.Module = model
    train_set = TensorDataset(x_train, y_train)
    loader_gen = gpuarr.Generator()
    sampler = None
    if args.distributed:
        net = DistributedDataParallel(model)  # rank 0's weights everywhere; averaged grads
        sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True,
                                     seed=args.seed)
        loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    else:
        loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                            generator=loader_gen)
    steps_per_epoch = len(loader)
    train_step = _make_step(net, loss_fn, opt)
    step_seconds = None
    if args.compile:
        # timed on throwaway copies of the plain model, before training touches the weights
        step_seconds = _step_times(model, loss_fn, args.lr, x_train[:args.batch_size],
                                   y_train[:args.batch_size])
        train_step = gpuarr.compile(train_step)
    writer = None
    if main_rank:
        writer = SummaryWriter(args.logdir,
                               purge_step=start * steps_per_epoch if start else None)
        if start == 0:
            _log_images(writer, x_train, y_train)

    bar = tqdm(total=(args.epochs - start) * steps_per_epoch,
               disable=args.no_progress or not main_rank, unit="step", dynamic_ncols=True)
    test_loss, test_acc = _evaluate(model, loss_fn, x_test, y_test)
    done = start
    for epoch in range(start, args.epochs):
        # the shuffle depends on (seed, epoch) only, so a resumed run sees the same batches
        if sampler is not None:
            sampler.set_epoch(epoch)  # the same permutation on every rank, a share each
        else:
            loader_gen.manual_seed(args.seed * 100_003 + epoch)
        bar.set_description(f"epoch {epoch + 1}/{args.epochs}")
        for i, (xb, yb) in enumerate(loader):
            loss, logits = train_step(xb, yb)
            step = epoch * steps_per_epoch + i
            loss_v = loss.item()
            acc = float((logits.cpu().numpy().argmax(1) == yb.cpu().numpy()).mean())
            if writer is not None:  # rank 0 logs its own batches' loss and accuracy
                writer.add_scalar("train/loss", loss_v, step)
                writer.add_scalar("train/accuracy", acc, step)
            bar.set_postfix(loss=f"{loss_v:.3f}", acc=f"{acc:.2f}", test_acc=f"{test_acc:.3f}",
                            refresh=False)
            bar.update()
        lr = sched.get_last_lr()[0]
        sched.step()
        test_loss, test_acc = _evaluate(model, loss_fn, x_test, y_test)
        if writer is not None:
            writer.add_scalar("train/learning_rate", lr, epoch)
            writer.add_scalar("test/loss", test_loss, epoch)
            writer.add_scalar("test/accuracy", test_acc, epoch)
            for name, p in model.named_parameters():
                writer.add_histogram(f"weights/{name}", p.detach().cpu().numpy(), epoch)
            # the plain model's state dict: the checkpoint also resumes without --distributed
            gpuarr.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                         "epoch": epoch + 1}, ckpt_path)
        bar.set_postfix(loss=f"{loss_v:.3f}", acc=f"{acc:.2f}", test_acc=f"{test_acc:.3f}",
                            refresh=False)
        done = epoch + 1
    bar.close()
    if writer is not None:
        writer.close()
    if dist is not None:
        dist.barrier()  # the checkpoint of the last epoch is complete for every rank
        if own_group:
            dist.destroy_process_group()
    seconds = time.perf_counter() - t0
    if main_rank:
        where = f"{dev}" if world == 1 else f"{dev}, {world} processes"
        print(f"final test accuracy: {test_acc:.4f} ({len(y_test)} held-out digits, "
              f"{args.epochs} epoch{'s' if args.epochs > 1 else ''} on {where}, "
              f"{seconds:.1f} s)")
        if step_seconds is not None:
            eager_s, comp_s = step_seconds["eager"], step_seconds["compiled"]
            print(f"training step (batch {args.batch_size}, median of {STEP_TIMED} after "
                  f"{STEP_WARMUP} warm-up steps): eager {eager_s * 1e3:.3f} ms, "
                  f"compiled {comp_s * 1e3:.3f} ms "
                  f"(compiled runs at {eager_s / comp_s:.2f}x eager speed)")
            print(_compile_summary(train_step))
        print(f"checkpoint: {ckpt_path}")
        print(f"view the run with: tensorboard --logdir {args.logdir}")
        sys.stdout.flush()
    out = {"test_accuracy": test_acc, "test_loss": test_loss, "epoch": done,
           "checkpoint": ckpt_path, "logdir": args.logdir, "seconds": seconds}
    if args.distributed:
        out.update(rank=rank, world_size=world)
    if step_seconds is not None:
        out["step_seconds"] = step_seconds
    return out


if __name__ == "__main__":
    main()
