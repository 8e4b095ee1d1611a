"""Run every benchmark section and write the results as Markdown.

Each ``benchmarks/bench_*.py`` module exposes ``section(device) -> str``. Every section runs
in a fresh process of its own (what an earlier section leaves behind, such as a fragmented
heap after the GPT model, slowed later ones by up to 20%), its implementations side by side
with raw NumPy/CuPy and PyTorch where installed.

Usage: python benchmarks/run.py [--device cpu|cuda] [--out benchmarks/RESULTS.md] [--only NAME]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import traceback

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

ORDER = ["bench_core", "bench_autograd", "bench_training", "bench_tensorboard", "bench_dataloader",
         "bench_distributed"]
ORDER += ["bench_rnn"]
ORDER.append("bench_ddp")  # 2-rank DistributedDataParallel step (mpirun + torch gloo workers)
ORDER.insert(ORDER.index("bench_training") + 1, "bench_gpt")  # GPT (nanoGPT) training step
ORDER.append("bench_conv")  # MNIST CNN conv stack forward + backward vs PyTorch
ORDER.append("bench_compile")  # gpuarr.compile: captured MLP step, fused GELU and Adam


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--only", default=None, help="run only this module (e.g. bench_core)")
    args = ap.parse_args(argv)

    import numpy as np

    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    names = [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]
    if args.only:
        names = [n for n in names if n == args.only]
    try:
        import torch

        torch_v = torch.__version__
        # One thread each: NumPy's BLAS pool and PyTorch's pool otherwise fight over the same few
        # cores and the timings stop meaning anything (seen on 2-core machines).
        torch.set_num_threads(1)
    except ImportError:
        torch_v = "not installed"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        threads = "one thread for NumPy's BLAS and for PyTorch"
    except ImportError:
        threads = "library default thread counts (threadpoolctl missing)"
    header = [
        f"# gpuarr benchmarks ({args.device})",
        "",
        f"Measured {datetime.date.today().isoformat()} on {platform.machine()} with "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, NumPy {np.__version__}, "
        f"PyTorch {torch_v}, {threads}. Each section runs in a fresh process; times are medians "
        "(or best rounds, where a section says so) of repeated runs in that process; a "
        "time ratio below 1.0 means gpuarr is faster, a throughput ratio above 1.0 likewise.",
        "",
    ]
    parts, failed = [], 0
    for name in names:
        print(f"== {name}", flush=True)
        if args.only:
            try:
                mod = importlib.import_module(name)
                text = mod.section(args.device)
            except Exception:
                failed += 1
                text = f"## {name}\n\nFAILED:\n\n```\n{traceback.format_exc()}```\n"
            print(text, flush=True)
        else:
            text, ok = _run_alone(name, args.device)
            failed += not ok
        parts.append(text.rstrip() + "\n")
    pathlib.Path(args.out).write_text("\n".join(header) + "\n" + "\n".join(parts))
    print(f"wrote {args.out}")
    return 1 if failed else 0


def _run_alone(name: str, device: str) -> tuple[str, bool]:
    """Run one section in a fresh interpreter; returns its Markdown and whether it passed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "section.md"
        p = subprocess.run([sys.executable, __file__, "--device", device, "--only", name,
                            "--out", str(out)])
        text = out.read_text() if out.exists() else ""
    body = text[text.find("\n## ") + 1:] if "\n## " in text else ""
    if not body:
        body = f"## {name}\n\nFAILED: the section's process exited with {p.returncode}\n"
    return body, p.returncode == 0


if __name__ == "__main__":
    sys.exit(main())
