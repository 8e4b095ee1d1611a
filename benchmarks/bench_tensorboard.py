"""SummaryWriter throughput and its cost inside a training step, next to torch's writer."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time

import numpy as np
from _timing import fmt_time, table

import gpuarr
from gpuarr.tensorboard import SummaryWriter

N_SCALARS = {"gpuarr": 50_000, "torch": 5_000}
N_IMAGES = 12
N_STEPS = 300  # training steps with scalar logging
N_IMAGE_STEPS = 20  # training steps that also log an image (torch's writer is slow there)
REPEATS = 5


def _scalars(writer_cls, logdir: str, n: int) -> tuple[float, float]:
    """(seconds per add_scalar on the caller's side, seconds per scalar until on disk)."""
    w = writer_cls(logdir)
    t0 = time.perf_counter()
    for i in range(n):
        w.add_scalar("loss", 0.5, i)
    t1 = time.perf_counter()
    w.flush()
    t2 = time.perf_counter()
    w.close()
    return (t1 - t0) / n, (t2 - t0) / n


def _images(writer_cls, logdir: str, image, sync) -> tuple[float, float]:
    """(seconds per add_image call, seconds per image until written and flushed)."""
    w = writer_cls(logdir)
    sync()
    t0 = time.perf_counter()
    for i in range(N_IMAGES):
        w.add_image("sample", image, i)
    t1 = time.perf_counter()
    w.flush()
    t2 = time.perf_counter()
    w.close()
    return (t1 - t0) / N_IMAGES, (t2 - t0) / N_IMAGES


def _make_step(lib, device: str):
    """A small training-like step (forward, backward, SGD update) written for gpuarr or torch."""
    x = lib.randn(256, 512, device=device)
    target = lib.randn(256, 512, device=device)
    w = lib.randn(512, device=device, requires_grad=True)
    b = lib.zeros(512, device=device, requires_grad=True)

    def step():
        y = (x * w + b).relu()
        d = y - target
        loss = (d * d).mean()
        loss.backward()
        with lib.no_grad():
            w.sub_(w.grad * 0.01)
            b.sub_(b.grad * 0.01)
        w.grad = None
        b.grad = None
        return loss

    return step


def _training(writer_cls, logdir: str, step, image, sync, log_image: bool) -> tuple[float]:
    """Seconds per step: train, log the loss tensor and two numbers (and an image)."""
    n_steps = N_IMAGE_STEPS if log_image else N_STEPS
    w = writer_cls(logdir)
    step()
    sync()
    t0 = time.perf_counter()
    for i in range(n_steps):
        loss = step()
        w.add_scalar("train/loss", loss, i)
        w.add_scalar("train/lr", 0.01, i)
        w.add_scalar("train/epoch", i // 10, i)
        if log_image:
            w.add_image("train/sample", image, i)
    sync()
    t = (time.perf_counter() - t0) / n_steps
    w.close()
    return (t,)


def _plain(step, sync) -> tuple[float]:
    step()
    sync()
    t0 = time.perf_counter()
    for _ in range(N_STEPS):
        step()
    sync()
    return ((time.perf_counter() - t0) / N_STEPS,)


def section(device: str) -> str:
    try:
        import torch
        from torch.utils.tensorboard import SummaryWriter as TorchWriter

        if device == "cuda" and not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None
    gsync = gpuarr.cuda.synchronize if device == "cuda" else (lambda: None)
    tsync = torch.cuda.synchronize if (torch and device == "cuda") else (lambda: None)
    tmp = tempfile.mkdtemp(prefix="bench_tensorboard_")
    counter = iter(range(10**6))

    def fresh() -> str:
        return os.path.join(tmp, f"run{next(counter)}")

    rng = np.random.default_rng(0)
    image_np = rng.random((3, 512, 512), dtype=np.float32)
    g_image = gpuarr.tensor(image_np, device=device)
    g_step = _make_step(gpuarr, device)
    cases = {
        "scalar": lambda W, n, img, step, sync: _scalars(W, fresh(), n),
        "image": lambda W, n, img, step, sync: _images(W, fresh(), img, sync),
        "plain": lambda W, n, img, step, sync: _plain(step, sync),
        "train": lambda W, n, img, step, sync: _training(W, fresh(), step, img, sync, False),
        "train_img": lambda W, n, img, step, sync: _training(W, fresh(), step, img, sync, True),
    }
    contenders = [("g", SummaryWriter, N_SCALARS["gpuarr"], g_image, g_step, gsync)]
    if torch:
        contenders.append(("t", TorchWriter, N_SCALARS["torch"], torch.from_numpy(image_np).to(
            device), _make_step(torch, device), tsync))
    runs: dict[str, list[tuple]] = {}
    try:
        # Interleaved (gpuarr, torch, gpuarr, ...) so that a change in machine load during
        # the run affects both sides alike; medians over the repeats.
        for _ in range(REPEATS):
            for name, case in cases.items():
                for suffix, writer_cls, n, image, step, sync in contenders:
                    runs.setdefault(f"{name}_{suffix}", []).append(
                        case(writer_cls, n, image, step, sync))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results = {
        key: tuple(statistics.median(r[i] for r in values) for i in range(len(values[0])))
        for key, values in runs.items()
    }

    def rate(seconds: float) -> str:
        return f"{fmt_time(seconds)} ({1 / seconds:,.0f}/s)"

    def row(label, g, t, show=fmt_time):
        return [label, show(g), show(t) if t is not None else "n/a",
                f"{g / t:.3f}" if t else "n/a"]

    def get(key, i):
        return results[key][i] if key in results else None

    overhead_g = get("train_g", 0) - get("plain_g", 0)
    overhead_img_g = get("train_img_g", 0) - get("plain_g", 0)
    overhead_t = get("train_t", 0) - get("plain_t", 0) if torch else None
    overhead_img_t = get("train_img_t", 0) - get("plain_t", 0) if torch else None
    rows = [
        row("add_scalar, caller's side (per scalar)", get("scalar_g", 0), get("scalar_t", 0), rate),
        row("add_scalar until fsync-ed (per scalar)", get("scalar_g", 1), get("scalar_t", 1), rate),
        row("add_image 3x512x512 float, caller's side", get("image_g", 0), get("image_t", 0)),
        row("add_image 3x512x512 until flushed", get("image_g", 1), get("image_t", 1)),
        row("training step, no logging", get("plain_g", 0), get("plain_t", 0)),
        row("training step + 3 scalars (loss tensor)", get("train_g", 0), get("train_t", 0)),
        row("  logging cost per step", overhead_g, overhead_t),
        row("training step + 3 scalars + 512x512 image", get("train_img_g", 0),
            get("train_img_t", 0)),
        row("  logging cost per step", overhead_img_g, overhead_img_t),
    ]
    headers = ["case", "gpuarr", "torch.utils.tensorboard", "gpuarr / torch (time)"]
    note = (
        f"Writers log to a temporary directory on local disk. Scalars: {N_SCALARS['gpuarr']:,} "
        f"(gpuarr) and {N_SCALARS['torch']:,} (torch) calls of `add_scalar(tag, float, step)`; "
        "\"until fsync-ed\" includes `flush()` (gpuarr's flush fsyncs; torch's only flushes to "
        f"the OS). Images: {N_IMAGES} random float32 images of 3x512x512 (on the benchmark "
        "device), PNG-encoded by Pillow. The training step is an elementwise model on "
        "256x512 inputs (forward, backward, SGD update) in each library, on the benchmark "
        f"device; medians of {REPEATS} runs of {N_STEPS} steps ({N_IMAGE_STEPS} with images). "
        "\"Logging cost\" is the difference to the same step without logging. gpuarr encodes "
        "and writes on a background thread, torch's writer builds and encodes on the caller's "
        "thread."
    )
    return f"## TensorBoard SummaryWriter ({device})\n\n{note}\n\n{table(headers, rows)}\n"


if __name__ == "__main__":
    print(section("cpu"))
