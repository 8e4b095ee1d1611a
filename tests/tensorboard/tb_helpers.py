"""Helpers for the SummaryWriter tests: read runs back with TensorBoard's own readers."""

from __future__ import annotations

import glob
import io
import os

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# 0 = keep every event (TensorBoard's default keeps a sample of e.g. 4 images per tag).
KEEP_ALL = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0, "audio": 0,
            "compressedHistograms": 0}


def accumulate(run_dir: str):
    """An ``EventAccumulator`` over one run directory, loaded with everything kept."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance=KEEP_ALL)
    acc.Reload()
    return acc


def event_files(run_dir: str) -> list[str]:
    return sorted(glob.glob(os.path.join(str(run_dir), "events.out.tfevents.*")))


def read_events(path: str) -> list:
    """Every ``Event`` of one file, through TensorBoard's loader (checks both CRCs)."""
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

    return list(LegacyEventFileLoader(path).Load())


def run_events(run_dir: str) -> list:
    """Every ``Event`` of every file of a run, in file order."""
    return [e for path in event_files(run_dir) for e in read_events(path)]


def summary_events(run_dir: str) -> list:
    """The events of a run that carry a summary (drops file headers)."""
    return [e for e in run_events(run_dir) if e.HasField("summary")]


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        return np.asarray(img).copy()


def subprocess_env() -> dict:
    """Environment for child Python processes: they import the same gpuarr as this one."""
    import gpuarr.tensorboard

    package_root = os.path.dirname(os.path.dirname(os.path.dirname(gpuarr.tensorboard.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, REPO_ROOT, env.get("PYTHONPATH", "")) if p
    )
    return env
