"""One training step of an MLP: gpuarr vs PyTorch vs hand-written NumPy (CuPy on CUDA).

A step is forward, cross-entropy loss, backward and an SGD-with-momentum update. All three
start from the same weights and batch; the first losses are checked to agree before timing.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import numpy as np
from _timing import fmt_time, table

import gpuarr
import gpuarr.optim

LR, MOMENTUM = 0.01, 0.9


def _config(device: str) -> tuple[list[int], int]:
    if device == "cuda":
        return [784, 1024, 1024, 10], 1024
    return [784, 256, 256, 10], 256


def _init(sizes: list[int], batch: int, seed: int = 0):
    """Weights (torch layout: [out, in]), biases, a batch and labels, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return params, x, y


# ---- hand-written reference (NumPy or CuPy) ----


class _RawMLP:
    """Forward, cross-entropy, backward and SGD-momentum written directly with ``xp``."""

    def __init__(self, xp, params, x, y) -> None:
        self.xp = xp
        self.p = [xp.array(a) for a in params]  # copies: the step updates them in place
        self.v = [xp.zeros_like(a) for a in self.p]
        self.x = xp.asarray(x)
        self.y = xp.asarray(y)
        self.rows = xp.arange(len(y))

    def step(self) -> float:
        xp = self.xp
        p = self.p
        n_layers = len(p) // 2
        acts, pre = [self.x], []
        h = self.x
        for k in range(n_layers):
            z = h @ p[2 * k].T
            z += p[2 * k + 1]
            if k < n_layers - 1:
                pre.append(z)
                h = xp.maximum(z, 0)
                acts.append(h)
            else:
                h = z
        # cross-entropy on logits h
        h = h - h.max(1, keepdims=True)
        e = xp.exp(h)
        s = e.sum(1, keepdims=True)
        loss = -(h[self.rows, self.y] - xp.log(s[:, 0])).mean()
        g = e / s
        g[self.rows, self.y] -= 1
        g /= len(self.y)
        grads = [None] * len(p)
        for k in range(n_layers - 1, -1, -1):
            grads[2 * k] = g.T @ acts[k]
            grads[2 * k + 1] = g.sum(0)
            if k > 0:
                g = g @ p[2 * k]
                g *= pre[k - 1] > 0
        for w, v, gr in zip(p, self.v, grads):
            v *= MOMENTUM
            v += gr
            w -= LR * v
        return loss


# ---- gpuarr and torch ----


def gpuarr_mlp(params, device):
    """The gpuarr MLP (Linear/ReLU stack) holding the NumPy ``params`` (weight, bias, ...)."""
    from gpuarr import nn

    sizes = [params[0].shape[1]] + [params[i].shape[0] for i in range(0, len(params), 2)]
    layers: list = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).to(device)
    with gpuarr.no_grad():
        for p, a in zip(model.parameters(), params):
            p.copy_(gpuarr.tensor(a, device=device))
    return model


def _gpuarr_step_fn(params, x, y, device):
    from gpuarr import nn

    model = gpuarr_mlp(params, device)
    opt = gpuarr.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    xb = gpuarr.tensor(x, device=device)
    yb = gpuarr.tensor(y, device=device)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    step.zero_grad = opt.zero_grad
    return step


def torch_mlp(torch, params, device):
    """The PyTorch MLP (Linear/ReLU stack) holding the NumPy ``params`` (weight, bias, ...)."""
    layers: list = []
    n = len(params) // 2
    for k in range(n):
        out_f, in_f = params[2 * k].shape
        layers.append(torch.nn.Linear(in_f, out_f))
        if k < n - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(device)
    with torch.no_grad():
        for p, a in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(a))
    return model


def _torch_step_fn(torch, params, x, y, device):
    model = torch_mlp(torch, params, device)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    xb = torch.from_numpy(x).to(device)
    yb = torch.from_numpy(y).to(device)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    step.zero_grad = opt.zero_grad
    return step


# ---- timing ----


def _interleaved(fns: dict, rounds: int = 7, round_time: float = 0.15) -> dict:
    """Seconds per call of each ``fn`` (``name -> (fn, sync)``): the implementations take
    turns, round after round, and each keeps its fastest round, so that load from other
    processes on the machine affects all of them alike instead of whichever ran last."""
    counts = {}
    for name, (fn, sync) in fns.items():
        fn()
        if sync:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        counts[name] = max(1, int(round_time / max(time.perf_counter() - t0, 1e-6)))
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, (fn, sync) in fns.items():
            n = counts[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            if sync:
                sync()
            best[name] = min(best[name], (time.perf_counter() - t0) / n)
    return best


# ---- memory ----


def _host_peak(step) -> int:
    """Peak bytes allocated through Python's tracked allocators (NumPy registers its array
    data with tracemalloc) during one step, above what was live before it."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _torch_cpu_peak(torch, step) -> int:
    """Peak of the running sum of the allocations/frees torch's profiler records during one
    step (its CPU allocator is invisible to tracemalloc)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    # self_*: an op's own allocations, not those of the ops it calls (no double counting)
    events = [e for e in prof.events() if getattr(e, "self_cpu_memory_usage", 0)]
    events.sort(key=lambda e: e.time_range.start)
    cur = peak = 0
    for e in events:
        cur += e.self_cpu_memory_usage
        peak = max(peak, cur)
    return peak


class _CupyPeak:
    """Peak bytes in use in CuPy's memory pool during a block, from a memory hook."""

    def __init__(self) -> None:
        from cupy.cuda import memory_hook

        outer = self

        class Hook(memory_hook.MemoryHook):
            name = "gpuarr_bench_peak"

            def malloc_postprocess(self, **kw):
                outer.cur += kw["mem_size"]
                outer.peak = max(outer.peak, outer.cur)

            def free_postprocess(self, **kw):
                outer.cur -= kw["mem_size"]

        self.hook = Hook()
        self.cur = self.peak = 0

    def measure(self, step) -> int:
        self.cur = self.peak = 0
        with self.hook:
            step()
        return self.peak


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:.1f} MiB"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "n/a"


def _single_threaded(torch):
    """Context that runs NumPy's BLAS and PyTorch on one thread each, when threadpoolctl is
    installed (returns (context, description))."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext(), "library default thread counts (threadpoolctl missing)"

    @contextlib.contextmanager
    def limit():
        prev = torch.get_num_threads() if torch else None
        if torch:
            torch.set_num_threads(1)
        try:
            with threadpool_limits(1):
                yield
        finally:
            if torch:
                torch.set_num_threads(prev)

    return limit(), "one thread for NumPy's BLAS and for PyTorch"


def section(device: str) -> str:
    """Benchmark one training step on ``device`` ('cpu' or 'cuda'); returns Markdown."""
    if device != "cuda":
        try:
            import torch
        except ImportError:
            torch = None
        ctx, threads = _single_threaded(torch)
        with ctx:
            return _section(device, threads)
    return _section(device, "")


def _section(device: str, threads: str) -> str:
    sizes, batch = _config(device)
    params, x, y = _init(sizes, batch)
    try:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None

    if device == "cuda":
        import cupy as xp

        def sync():
            xp.cuda.Device().synchronize()

        tsync = torch.cuda.synchronize if torch else None
        raw_label = "raw CuPy"
    else:
        xp = np
        sync = tsync = None
        raw_label = "raw NumPy"

    g_step = _gpuarr_step_fn(params, x, y, device)
    raw = _RawMLP(xp, params, x, y)
    losses = {"gpuarr": float(g_step().item()), raw_label: float(raw.step())}
    t_step = None
    if torch:
        t_step = _torch_step_fn(torch, params, x, y, device)
        losses["PyTorch"] = float(t_step().item())
    ref = losses[raw_label]
    agree = all(abs(v - ref) <= 1e-4 * max(1.0, abs(ref)) for v in losses.values())

    fns = {"gpuarr": (g_step, sync), raw_label: (raw.step, sync)}
    if t_step:
        fns["PyTorch"] = (t_step, tsync)
    times = _interleaved(fns)

    # Memory is measured from a state without gradients (as after ``zero_grad()``), so that
    # every implementation starts from its parameters and optimizer state only.
    g_step.zero_grad()
    if t_step:
        t_step.zero_grad()
    mem: dict[str, int | None] = {}
    if device == "cuda":
        peak = _CupyPeak()
        mem["gpuarr"] = peak.measure(lambda: (g_step(), sync()))
        mem[raw_label] = peak.measure(lambda: (raw.step(), sync()))
        if torch:
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            t_step()
            torch.cuda.synchronize()
            mem["PyTorch"] = torch.cuda.max_memory_allocated() - base
    else:
        mem["gpuarr"] = _host_peak(g_step)
        mem[raw_label] = _host_peak(raw.step)
        if torch:
            mem["PyTorch"] = _torch_cpu_peak(torch, t_step)

    rows = []
    for name in ["gpuarr", "PyTorch", raw_label]:
        if name not in times:
            continue
        rows.append([name, fmt_time(times[name]), _ratio(times["gpuarr"], times[name]),
                     _mib(mem.get(name)), _ratio(mem.get("gpuarr"), mem.get(name))])
    arch = "-".join(str(s) for s in sizes)
    # A floor for any implementation: when the first layer's weight gradient is computed, every
    # parameter gradient (float32) and the gradient flowing into that layer (batch x hidden)
    # are alive at once.
    n_params = sum(sizes[k] * sizes[k + 1] + sizes[k + 1] for k in range(len(sizes) - 1))
    floor = 4 * (n_params + batch * sizes[1])
    rows.append(["floor: all parameter grads + one batch x hidden grad", "", "", _mib(floor),
                 _ratio(mem.get("gpuarr"), floor)])
    headers = ["implementation", "time / step", "gpuarr / this (time)", "peak extra memory",
               "gpuarr / this (memory)"]
    if device == "cuda":
        mem_note = (
            "Memory is the peak of device memory in use during one step above what was in use "
            "before it (parameters and optimizer state; no gradients): for gpuarr and raw CuPy "
            "from a CuPy memory hook on the pool's allocations, for PyTorch from "
            "`torch.cuda.max_memory_allocated()`."
        )
    else:
        mem_note = (
            "Memory is the peak of bytes allocated during one step above what was live before "
            "it (parameters and optimizer state; no gradients). For gpuarr and raw NumPy it "
            "comes from `tracemalloc` (NumPy reports its array buffers to it). PyTorch's CPU "
            "allocator is invisible to `tracemalloc`, so its "
            "number is the peak of the running sum of the allocations and frees recorded by "
            "`torch.profiler` with `profile_memory=True`: the same quantity, measured by a "
            "different tool; the profiler does not see every free and allocation outside "
            "its recorded ops, so the last row gives the bytes any implementation must hold at "
            "its peak, which the PyTorch figure falls below. "
            f"Threads: {threads}; with several threads per library on a small machine, "
            "NumPy's and PyTorch's thread pools compete for the same cores and the timings "
            "stop meaning anything."
        )
    return "\n".join([
        f"## Training step: MLP {arch}, batch {batch} ({device})",
        "",
        "One step = forward, cross-entropy, backward, SGD with momentum 0.9, float32; time is "
        "the best of 7 rounds in which the implementations take turns. The three "
        "implementations start from the same weights and batch; their first losses "
        + ("agree" if agree else "DISAGREE")
        + f" ({', '.join(f'{k} {v:.6f}' for k, v in losses.items())}). "
        + mem_note,
        "",
        table(headers, rows),
        "",
    ])


if __name__ == "__main__":
    print(section("cpu"))
