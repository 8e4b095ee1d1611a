"""Run every benchmark section and write the results as Markdown.

Each ``benchmarks/bench_*.py`` module exposes ``section(device) -> str``; sections are
measured in one process, side by side with raw NumPy/CuPy and PyTorch where installed.

Usage: python benchmarks/run.py [--device cpu|cuda] [--out benchmarks/RESULTS.md] [--only NAME]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import pathlib
import platform
import sys
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
        f"PyTorch {torch_v}, {threads}. Times are medians of repeated runs in one process; a "
        "time ratio below 1.0 means gpuarr is faster, a throughput ratio above 1.0 likewise.",
        "",
    ]
    parts, failed = [], 0
    for name in names:
        print(f"== {name}", flush=True)
        try:
            mod = importlib.import_module(name)
            text = mod.section(args.device)
        except Exception:
            failed += 1
            text = f"## {name}\n\nFAILED:\n\n```\n{traceback.format_exc()}```\n"
        print(text, flush=True)
        parts.append(text.rstrip() + "\n")
    pathlib.Path(args.out).write_text("\n".join(header) + "\n" + "\n".join(parts))
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
