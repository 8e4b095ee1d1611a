"""DataLoader with worker processes: one epoch of decoding small images, gpuarr vs torch."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time

import numpy as np
from _timing import fmt_time, table

import gpuarr
from gpuarr.utils.data import DataLoader, Dataset

N_IMAGES = 256
SIZE = 128  # pixels per side
BATCH = 32
REPEATS = 5
WORKERS = (0, 2)
MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)


def _make_images(root: str) -> list[str]:
    """N_IMAGES smooth random RGB images, every other one JPEG, the rest PNG."""
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    paths = []
    for i in range(N_IMAGES):
        f = rng.uniform(1, 6, size=(3, 2))
        phase = rng.uniform(0, 6.3, size=3)
        chans = [np.sin(f[c, 0] * 6.3 * xx + f[c, 1] * 6.3 * yy + phase[c]) for c in range(3)]
        img = np.stack(chans, -1) * 100 + 128 + rng.normal(0, 12, (SIZE, SIZE, 3))
        img = np.clip(img, 0, 255).astype(np.uint8)
        path = os.path.join(root, f"img{i:04d}.{'jpg' if i % 2 == 0 else 'png'}")
        Image.fromarray(img).save(path, quality=90) if i % 2 == 0 else Image.fromarray(
            img).save(path)
        paths.append(path)
    return paths


def _decode(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class GpuarrImages(Dataset):
    """Decode, to a float tensor in [0, 1] (C, H, W), normalize with gpuarr ops."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.mean = gpuarr.tensor(MEAN)
        self.std = gpuarr.tensor(STD)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        x = gpuarr.from_numpy(_decode(self.paths[i])).permute(2, 0, 1).float() / 255.0
        return (x - self.mean) / self.std, i % 10


class TorchImages:
    """The same for torch's DataLoader, with torch ops."""

    def __init__(self, paths: list[str]) -> None:
        import torch

        self.paths = paths
        self.mean = torch.from_numpy(MEAN)
        self.std = torch.from_numpy(STD)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        import torch

        x = torch.from_numpy(_decode(self.paths[i]).copy()).permute(2, 0, 1).float() / 255.0
        return (x - self.mean) / self.std, i % 10


def _epoch(loader_cls, dataset, workers: int) -> float:
    """Seconds for one epoch, worker start-up included (a new iterator each epoch)."""
    kwargs = {"num_workers": workers}
    loader = loader_cls(dataset, batch_size=BATCH, shuffle=False, **kwargs)
    t0 = time.perf_counter()
    n = 0
    for xb, _ in loader:
        n += xb.shape[0]
    dt = time.perf_counter() - t0
    assert n == N_IMAGES
    return dt


def section(device: str) -> str:
    try:
        import torch
        from torch.utils.data import DataLoader as TorchLoader
    except ImportError:
        torch = None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    tmp = tempfile.mkdtemp(prefix="bench_dataloader_")
    try:
        paths = _make_images(tmp)
        cases = [("gpuarr", DataLoader, GpuarrImages(paths))]
        if torch is not None:
            cases.append(("PyTorch", TorchLoader, TorchImages(paths)))
        times: dict[tuple[str, int], list[float]] = {}
        for _name, cls, ds in cases:  # warm-up: page cache, imports, first fork
            for w in WORKERS:
                _epoch(cls, ds, w)
        for _ in range(REPEATS):  # implementations and worker counts take turns
            for name, cls, ds in cases:
                for w in WORKERS:
                    times.setdefault((name, w), []).append(_epoch(cls, ds, w))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = []
    for name, _, _ in cases:
        for w in WORKERS:
            t = med[(name, w)]
            speedup = med[(name, WORKERS[0])] / t
            vs_t = med[("gpuarr", w)] / med[("PyTorch", w)] if torch is not None else None
            rows.append([name, w, fmt_time(t), f"{N_IMAGES / t:,.0f}", f"{speedup:.2f}",
                         f"{vs_t:.2f}" if vs_t is not None else "n/a"])
    headers = ["loader", "num_workers", "time / epoch", "images / s", "speedup vs 0 workers",
               "gpuarr / PyTorch (time)"]
    note = (
        f"One epoch over {N_IMAGES} {SIZE}x{SIZE} RGB images on disk (half JPEG, half PNG), "
        f"batch {BATCH}: `__getitem__` decodes with Pillow, converts to a float CHW tensor and "
        "normalizes with each library's own ops; default collation. Every epoch is a new "
        "iterator, so worker start-up (fork) is included. Median of "
        f"{REPEATS} epochs, the configurations taking turns; {os.cpu_count()} CPU cores, load "
        f"average {load:.2f} when the section started (workers only pay off when cores are "
        "free for them). "
        "gpuarr's workers send batches through pipes (pickled NumPy data); torch's through "
        "shared memory. The batches stay on the CPU (the device option does not apply here)."
    )
    return f"## DataLoader workers: image decoding ({device})\n\n{note}\n\n{table(headers, rows)}\n"
