"""``gpuarr.compile``: a captured training step and fused elementwise work.

Cases (CPU, float32):

* an MLP 784-256-256-10 training step with SGD(lr=0.01) (zero_grad, forward, cross-entropy,
  backward, step) at batch 16, 64 and 256: the whole step wrapped in ``gpuarr.compile`` against
  eager gpuarr, PyTorch eager, ``torch.compile`` of the same torch step, and the step's floor:
  its eight matrix products alone in NumPy (forward 3; backward 5, the first layer's input
  gradient is not needed), same shapes, into preallocated outputs;
* a GELU (tanh form) chain of elementwise ops on 16M elements and an Adam update of 10M
  parameters: compiled gpuarr against PyTorch eager, as bandwidth over the minimum bytes moved.

With a real GPU (not the CuPy stand-in) the CUDA rows run the MLP at batch 64 and
784-1024-1024-10 at batch 1024: compiled gpuarr with ``mode="reduce-overhead"`` (replay through
a CUDA graph) against eager gpuarr, PyTorch eager, the same torch step captured in a CUDA graph
by hand, and the matrix products in CuPy. ``section('cpu')`` runs the CPU cases, plus the CUDA
rows when a real GPU is present; ``section('cuda')`` runs the CUDA rows alone.

``torch.compile`` takes about 20-30 s per batch size on a small CPU: it compiles once per batch
size (its compile time is reported separately), and ``GPUARR_BENCH_TORCH_COMPILE=0`` skips it.

The code is written against the compile API of torch (``gpuarr.compile(fn, mode=...)``,
``step.stats()``, ``step.eager_reason``) and reads the optional parts defensively, so it runs
the same whether ``gpuarr.compile`` captures or (as before the compiler) returns the function
unchanged; the section says which it saw.

Run alone: ``python benchmarks/run.py --only bench_compile --out /tmp/compile.md``.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings

import numpy as np
from _timing import fmt_time, table
from bench_training import _init, _interleaved, _single_threaded, gpuarr_mlp, torch_mlp

import gpuarr
import gpuarr.optim
from gpuarr._compile.trace import Instr
from gpuarr.backends import cpu_native

LR = 0.01
CPU_SIZES = [784, 256, 256, 10]
CPU_BATCHES = (16, 64, 256)
CUDA_CASES = (([784, 256, 256, 10], 64), ([784, 1024, 1024, 10], 1024))
WARMUP = 5  # calls before anything is timed (the compiled step traces, then replays)
GELU_N = 16 * 2**20
ADAM_N = 10 * 2**20
BIG_ROUNDS = 5  # the elementwise cases take 10-200 ms a call on a CPU: few rounds of one call

# The targets for the compiled CPU step (ratio of times, compiled / other).
FLOOR_TARGET = 1.3
TORCH_EAGER_TARGET = {16: 0.45, 64: 0.7}
EAGER_TARGET_BATCH = 256  # never slower than eager here


# ---- compile helpers ----


def _compile(fn, **kw):
    """``gpuarr.compile(fn, **kw)`` and the warnings it raised (the pass-through warns)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = gpuarr.compile(fn, **kw)
    return compiled, [str(w.message) for w in caught]


def _call_warm(fn, n, *args, collect=None):
    """Call ``fn(*args)`` ``n`` times, recording the warnings raised (a fall back to eager
    says why) and, with ``collect``, what ``collect`` makes of each result."""
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(n):
            r = fn(*args)
            if collect is not None:
                out.append(collect(r))
    return out, [str(w.message) for w in caught]


def _compile_state(step) -> str:
    """What ``gpuarr.compile`` did with ``step``: its stats and eager reason, or that it
    handed the function back unchanged."""
    stats = getattr(step, "stats", None)
    if stats is None:
        return "passed through unchanged (no `stats()`: eager)"
    s = stats()
    text = ", ".join(f"{k} {s[k]}" for k in ("traces", "replays", "eager_calls",
                                              "cache_entries") if k in s)
    reason = getattr(step, "eager_reason", None)
    if reason:
        text += f"; eager because: {reason}"
    for entry in getattr(step, "_cache", {}).values():
        graph = getattr(entry.replay, "graph", None)
        if graph is not None and graph.plan is not None:
            n = sum(not isinstance(p, Instr) for p in graph.plan)
            text += (f"; a replay is {n} CUDA graph launch{'es' * (n != 1)} and "
                     f"{len(graph.plan) - n} call(s) between them")
    return text


def _first_warning(warns) -> str:
    w = next((w for w in warns if "compile" in w), None)
    return f"`gpuarr.compile` warned: \"{w}\"" if w else ""


def _real_gpu() -> tuple[bool, str]:
    """Whether a real CUDA GPU (not the CuPy stand-in) is usable, and why not."""
    if not gpuarr.cuda.is_available():
        return False, gpuarr.cuda.unavailable_reason() or "CUDA is not available"
    import cupy

    if getattr(cupy, "_IS_STANDIN", False):
        return False, "CuPy is the test stand-in (NumPy on the CPU), not a GPU"
    return True, ""


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _ratio(a, b) -> str:
    return f"{a / b:.2f}" if a and b else "n/a"


def _versus(a, b, op: str | None = None, target: float | None = None) -> str:
    """``a / b`` with its target: ``'0.93 (target <= 1.3: met)'``."""
    r = _ratio(a, b)
    if target is None or r == "n/a":
        return r
    met = a / b <= (target if op == "<=" else 1.1 * target)
    sign = "<=" if op == "<=" else "about"
    return f"{r} (target {sign} {target}: {'met' if met else 'not met'})"


# ---- the MLP step ----


def _gpuarr_mlp(params, device):
    model = gpuarr_mlp(params, device)
    opt = gpuarr.optim.SGD(model.parameters(), lr=LR)

    def step(x, y):
        opt.zero_grad()
        loss = gpuarr.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _torch_mlp(torch, params, device):
    model = torch_mlp(torch, params, device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, model, opt


def _torch_cuda_graph_step(torch, params, x, y):
    """The torch step captured whole in a CUDA graph, as in PyTorch's CUDA-graphs recipe:
    warm up on a side stream, capture with the gradients set to None (so that each replay
    writes them afresh), then replay. Returns (step, losses of the calls made so far)."""
    _, model, opt = _torch_mlp(torch, params, "cuda")
    sx, sy = x.clone(), y.clone()
    losses = []
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(sx), sy)
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = torch.nn.functional.cross_entropy(model(sx), sy)
        static_loss.backward()
        opt.step()

    def step(*_):
        graph.replay()
        return static_loss

    return step, losses


class _Floor:
    """The step's matrix products alone (forward: one per layer; backward: each weight's
    gradient and, except for the first layer, the input gradient), into preallocated outputs
    with ``xp`` (NumPy or CuPy). Shapes and dtype are the step's; the values are random."""

    def __init__(self, xp, sizes, batch) -> None:
        rng = np.random.default_rng(1)

        def arr(*shape):
            return xp.asarray(rng.standard_normal(shape).astype(np.float32))

        n = len(sizes) - 1
        self.xp = xp
        self.w = [arr(sizes[k + 1], sizes[k]) for k in range(n)]  # torch layout [out, in]
        self.acts = [arr(batch, sizes[0])] + [arr(batch, sizes[k + 1]) for k in range(n)]
        self.gacts = [None] + [arr(batch, sizes[k + 1]) for k in range(n)]  # dL/d(out of k)
        self.gw = [arr(sizes[k + 1], sizes[k]) for k in range(n)]
        self.count = 2 * n + (n - 1)

    def weight_grads(self) -> None:
        """The floor's weight-gradient products alone (NumPy's, into the same outputs)."""
        for k in range(len(self.w)):
            self.xp.matmul(self.gacts[k + 1].T, self.acts[k], out=self.gw[k])

    def weight_grads_kernel(self) -> None:
        """The same products by gpuarr's CPU kernel, which eager and compiled gpuarr use for
        float32 batches up to ``cpu_native.WGRAD_MAX_K`` on x86-64 with AVX2/FMA."""
        for k in range(len(self.w)):
            cpu_native.linear_weight_grad(self.gacts[k + 1], self.acts[k])

    def kernel_fits(self) -> bool:
        return self.xp is np and cpu_native.wgrad_fits(self.gacts[1], self.acts[0])

    def __call__(self) -> None:
        mm = self.xp.matmul
        w, acts, gacts, gw = self.w, self.acts, self.gacts, self.gw
        n = len(w)
        for k in range(n):
            mm(acts[k], w[k].T, out=acts[k + 1])
        for k in range(n - 1, -1, -1):
            mm(gacts[k + 1].T, acts[k], out=gw[k])
            if k > 0:
                mm(gacts[k + 1], w[k], out=gacts[k])


def _agree(a: list[float], b: list[float], rtol: float = 1e-4) -> bool:
    return len(a) == len(b) and all(abs(u - v) <= rtol * max(1.0, abs(v)) for u, v in zip(a, b))


def _mlp_case(torch, sizes, batch, device, *, torch_compile: str | None, mode=None) -> dict:
    """Times per step of every implementation of one MLP configuration, and the checks.
    ``torch_compile``: a scratch folder for torch.compile's caches, None to skip it."""
    params, x, y = _init(sizes, batch)
    cuda = device == "cuda"
    gsync = gpuarr.cuda.synchronize if cuda else None
    tsync = torch.cuda.synchronize if (torch and cuda) else None
    xg, yg = gpuarr.tensor(x, device=device), gpuarr.tensor(y, device=device)

    def loss_of(r):
        return float(r.item())

    eager = _gpuarr_mlp(params, device)
    compiled, warns = _compile(_gpuarr_mlp(params, device), mode=mode)
    losses = {}
    losses["compiled"], w2 = _call_warm(compiled, WARMUP, xg, yg, collect=loss_of)
    losses["eager"], _ = _call_warm(eager, WARMUP, xg, yg, collect=loss_of)
    fns = {"compiled": (lambda: compiled(xg, yg), gsync), "eager": (lambda: eager(xg, yg), gsync)}
    compile_s = None
    if torch:
        xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        t_eager, _, _ = _torch_mlp(torch, params, device)
        losses["torch"], _ = _call_warm(t_eager, WARMUP, xt, yt, collect=loss_of)
        fns["torch"] = (lambda: t_eager(xt, yt), tsync)
        if torch_compile:
            # cold, as a user's first run: nothing in memory, and inductor's on-disk cache
            # (kept between processes) pointed at an empty folder
            torch._dynamo.reset()
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(
                prefix=f"inductor-b{batch}-", dir=torch_compile)
            t_step, _, _ = _torch_mlp(torch, params, device)
            t_comp = torch.compile(t_step)
            t0 = time.perf_counter()
            first = loss_of(t_comp(xt, yt))
            compile_s = time.perf_counter() - t0
            more, _ = _call_warm(t_comp, WARMUP - 1, xt, yt, collect=loss_of)
            losses["torch.compile"] = [first] + more
            fns["torch.compile"] = (lambda: t_comp(xt, yt), tsync)
        if cuda:
            g_step, g_losses = _torch_cuda_graph_step(torch, params, xt, yt)
            more, _ = _call_warm(g_step, WARMUP - len(g_losses), collect=loss_of)
            losses["torch CUDA graph"] = g_losses + more
            fns["torch CUDA graph"] = (g_step, tsync)
    floor = _Floor(_xp(device), sizes, batch)
    fns["floor"] = (floor, (lambda: floor.xp.cuda.Device().synchronize()) if cuda else None)
    if floor.kernel_fits():  # what gpuarr's weight-gradient kernel takes off the floor's time
        fns["weight grads, NumPy"] = (floor.weight_grads, None)
        fns["weight grads, gpuarr kernel"] = (floor.weight_grads_kernel, None)
    times = _interleaved(fns)
    return {"times": times, "losses": losses, "state": _compile_state(compiled),
            "warns": warns + w2, "compile_s": compile_s, "floor_count": floor.count,
            "identical": losses["compiled"] == losses["eager"],
            "torch_agree": all(_agree(v, losses["eager"]) for k, v in losses.items()
                               if k not in ("compiled", "eager"))}


def _xp(device: str):
    """The array module under gpuarr on ``device``: CuPy for 'cuda', else NumPy."""
    if device == "cuda":
        import cupy

        return cupy
    return np


def _mlp_table(cases: dict, device: str) -> str:
    """One row per batch size: times, then ratios of the compiled step (with targets on CPU)."""
    impls = ["compiled", "eager", "torch", "torch.compile", "torch CUDA graph", "floor"]
    present = [i for i in impls if any(i in c["times"] for c in cases.values())]
    names = {"compiled": "gpuarr compiled", "eager": "gpuarr eager", "torch": "PyTorch eager",
             "torch.compile": "torch.compile", "torch CUDA graph": "PyTorch CUDA graph",
             "floor": "floor (matmuls)"}
    headers = ["config"] + [names[i] for i in present]
    ratio_cols = [i for i in ["torch", "torch.compile", "torch CUDA graph", "floor", "eager"]
                  if i in present]
    headers += [f"compiled / {names[i]}" for i in ratio_cols]
    rows = []
    for label, c in cases.items():
        t = c["times"]
        batch = c["batch"]
        row = [label] + [fmt_time(t[i]) if i in t else "skipped" for i in present]
        for i in ratio_cols:
            target = op = None
            if device == "cpu" and i == "floor":
                op, target = "<=", FLOOR_TARGET
            elif device == "cpu" and i == "torch" and batch in TORCH_EAGER_TARGET:
                op, target = "about", TORCH_EAGER_TARGET[batch]
            elif device == "cpu" and i == "eager" and batch == EAGER_TARGET_BATCH:
                op, target = "<=", 1.0
            row.append(_versus(t["compiled"], t.get(i), op, target))
        rows.append(row)
    return table(headers, rows)


def _mlp_notes(cases: dict) -> list[str]:
    out = []
    for label, c in cases.items():
        checks = ("compiled and eager gpuarr losses identical over the first "
                  f"{WARMUP} steps" if c["identical"] else
                  "compiled and eager gpuarr losses DIFFER: "
                  f"{c['losses']['compiled']} vs {c['losses']['eager']}")
        if len(c["losses"]) > 2:
            checks += ("; PyTorch's " + ("agree" if c["torch_agree"] else "DISAGREE")
                       + " (rtol 1e-4)")
        extra = (f"; torch.compile's first call (compiling, cold caches): "
                 f"{c['compile_s']:.1f} s" if c["compile_s"] is not None else "")
        t = c["times"]
        if "torch" in t and "floor" in t and c["batch"] in TORCH_EAGER_TARGET:
            # the 'about' targets assume the machine's floor / PyTorch eager ratio
            share = t["floor"] / t["torch"]
            extra += (f"; here the floor is {share:.2f}x PyTorch eager's step, so "
                      f"{FLOOR_TARGET}x the floor is {FLOOR_TARGET * share:.2f}x PyTorch "
                      f"eager (the 'about {TORCH_EAGER_TARGET[c['batch']]}' target assumes "
                      f"{TORCH_EAGER_TARGET[c['batch']] / FLOOR_TARGET:.2f}x)")
        if "weight grads, NumPy" in t:
            extra += (f"; the floor's {len(CPU_SIZES) - 1} weight-gradient products take "
                      f"{fmt_time(t['weight grads, NumPy'])} in NumPy and "
                      f"{fmt_time(t['weight grads, gpuarr kernel'])} in the CPU kernel that "
                      "gpuarr (eager and compiled) uses for them at this batch, so here the "
                      "compiled step's products are faster than the floor's")
        out.append(f"- {label}: `gpuarr.compile`: {c['state']}; {checks}{extra}.")
    return out


# ---- fused elementwise: GELU chain, Adam ----


def _gelu_chain(lib, x):
    """GELU, tanh form, written as separate elementwise ops (what a fuser collapses)."""
    inner = (x + 0.044715 * x * x * x) * 0.7978845608028654
    return 0.5 * x * (1.0 + lib.tanh(inner))


def _adam_pair(n):
    """Equal float32 parameters and gradients for gpuarr and PyTorch."""
    rng = np.random.default_rng(2)
    p = rng.standard_normal(n, dtype=np.float32)
    g = (rng.standard_normal(n, dtype=np.float32) * 0.01).astype(np.float32)
    return p, g


def _gpuarr_adam(p, g):
    param = gpuarr.nn.Parameter(gpuarr.tensor(p))
    param.grad = gpuarr.tensor(g)
    opt = gpuarr.optim.Adam([param], lr=1e-3)

    def step():
        opt.step()

    return step, param


def _torch_adam(torch, p, g, **kw):
    param = torch.nn.Parameter(torch.from_numpy(p.copy()))
    param.grad = torch.from_numpy(g.copy())
    opt = torch.optim.Adam([param], lr=1e-3, **kw)
    return opt.step, param


def _elementwise(torch) -> tuple[str, list[str]]:
    """GELU chain and Adam rows (CPU): time, GB/s of the minimum bytes, compiled / this."""
    rows, notes = [], []
    copy_src = np.ones(GELU_N, np.float32)
    copy_dst = np.empty_like(copy_src)

    # GELU: read x, write y
    x_np = np.random.default_rng(3).standard_normal(GELU_N, dtype=np.float32)
    gelu_bytes = 2 * 4 * GELU_N
    xg = gpuarr.from_numpy(x_np)
    compiled, warns = _compile(lambda t: _gelu_chain(gpuarr, t))
    (ref_c,), w2 = _call_warm(compiled, 1, xg, collect=lambda r: r.numpy().copy())
    _call_warm(compiled, WARMUP - 1, xg)
    eager_out = _gelu_chain(gpuarr, xg).numpy()
    fns = {"gpuarr compiled": (lambda: compiled(xg), None),
           "gpuarr eager": (lambda: _gelu_chain(gpuarr, xg), None)}
    agree = [f"compiled vs eager gpuarr max |diff| {np.abs(ref_c - eager_out).max():.1e}"]
    if torch:
        xt = torch.from_numpy(x_np)
        fns["PyTorch eager (same chain)"] = (lambda: _gelu_chain(torch, xt), None)
        fns["PyTorch F.gelu(approximate='tanh') (one fused op)"] = (
            lambda: torch.nn.functional.gelu(xt, approximate="tanh"), None)
        agree.append(f"vs PyTorch {np.abs(ref_c - _gelu_chain(torch, xt).numpy()).max():.1e}")
    fns["NumPy copy, same bytes (bandwidth reference)"] = (
        lambda: np.copyto(copy_dst, copy_src), None)
    times = _interleaved(fns, rounds=BIG_ROUNDS, round_time=0.0)
    for name, t in times.items():
        rows.append([f"GELU chain, {GELU_N // 2**20}M", name, fmt_time(t),
                     f"{gelu_bytes / t / 1e9:.1f}", _ratio(times["gpuarr compiled"], t)])
    notes.append(f"- GELU: `gpuarr.compile`: {_compile_state(compiled)}; "
                 + ", ".join(agree) + ".")

    # Adam: read p, g, m, v; write p, m, v
    p, g = _adam_pair(ADAM_N)
    adam_bytes = 7 * 4 * ADAM_N
    c_step, c_param = _gpuarr_adam(p, g)
    compiled, warns = _compile(c_step)
    _, w2 = _call_warm(compiled, WARMUP)
    e_step, e_param = _gpuarr_adam(p, g)
    _call_warm(e_step, WARMUP)
    fns = {"gpuarr compiled": (compiled, None), "gpuarr eager": (e_step, None)}
    diff = np.abs(c_param.detach().numpy() - e_param.detach().numpy()).max()
    agree = [f"parameters after {WARMUP} steps: compiled vs eager gpuarr max |diff| {diff:.1e}"]
    if torch:
        t_step, t_param = _torch_adam(torch, p, g)
        _call_warm(t_step, WARMUP)
        diff = np.abs(c_param.detach().numpy() - t_param.detach().numpy()).max()
        agree.append(f"vs PyTorch {diff:.1e}")
        fns["PyTorch eager (default: for-loop)"] = (t_step, None)
        try:
            f_step, _ = _torch_adam(torch, p, g, fused=True)
            f_step()
            fns["PyTorch eager, fused=True"] = (f_step, None)
        except (RuntimeError, TypeError) as e:  # an older torch without the CPU fused Adam
            notes.append(f"- PyTorch's fused Adam is unavailable here: {e}")
    big_src = np.ones(adam_bytes // 8, np.float32)  # a copy reads and writes: same bytes
    big_dst = np.empty_like(big_src)
    fns["NumPy copy, same bytes (bandwidth reference)"] = (
        lambda: np.copyto(big_dst, big_src), None)
    times = _interleaved(fns, rounds=BIG_ROUNDS, round_time=0.0)
    for name, t in times.items():
        rows.append([f"Adam step, {ADAM_N // 2**20}M params", name, fmt_time(t),
                     f"{adam_bytes / t / 1e9:.1f}", _ratio(times["gpuarr compiled"], t)])
    notes.append(f"- Adam: `gpuarr.compile`: {_compile_state(compiled)}; "
                 + ", ".join(agree) + ".")
    headers = ["case", "implementation", "time / call", "GB/s (minimum bytes)",
               "compiled / this (time)"]
    return table(headers, rows), notes


# ---- the section ----


def section(device: str) -> str:
    """Benchmark ``gpuarr.compile`` (see the module docstring); returns Markdown."""
    torch = _torch()
    parts = []
    if device != "cuda":
        ctx, threads = _single_threaded(torch)
        with ctx:
            parts.append(_cpu_part(torch, threads))
    gpu, why = _real_gpu()
    if gpu:
        parts.append(_cuda_part(torch))
    elif device == "cuda":
        parts.append(f"## gpuarr.compile (cuda)\n\nskipped: no real GPU ({why}).\n")
    return "\n".join(parts)


def _cpu_part(torch, threads: str) -> str:
    want_tc = os.environ.get("GPUARR_BENCH_TORCH_COMPILE", "1") != "0"
    tc_note = ""
    if torch is None:
        tc_note = "PyTorch is not installed: its columns are skipped. "
    elif not want_tc:
        tc_note = "torch.compile skipped (GPUARR_BENCH_TORCH_COMPILE=0). "
    cases = {}
    saved = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="gpuarr-bench-compile-") as scratch:
        try:
            for batch in CPU_BATCHES:
                c = _mlp_case(torch, CPU_SIZES, batch, "cpu",
                              torch_compile=scratch if torch and want_tc else None)
                c["batch"] = batch
                cases[f"batch {batch}"] = c
        finally:
            if saved is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = saved
    arch = "-".join(str(s) for s in CPU_SIZES)
    floor_count = next(iter(cases.values()))["floor_count"]
    warns = next((c["warns"] for c in cases.values() if c["warns"]), [])
    mlp_text = [
        f"## gpuarr.compile: training step, MLP {arch} (cpu)",
        "",
        "One step = `zero_grad`, forward, `cross_entropy`, backward, SGD(lr=0.01), float32; "
        "every implementation starts from the same weights and batch. `gpuarr compiled` is "
        "the whole step function wrapped in `gpuarr.compile`, called with the batch as "
        f"arguments; every implementation makes {WARMUP} calls before timing. The floor is "
        f"the step's {floor_count} matrix products alone in NumPy (same shapes, preallocated "
        "outputs); gpuarr computes the weight gradients of float32 batches up to "
        f"{cpu_native.WGRAD_MAX_K} with its own CPU kernel where this machine has AVX2 and FMA "
        "(see the notes), otherwise with NumPy's products. Times are the best of 7 rounds in "
        f"which the implementations take turns. {tc_note}Threads: {threads}. Targets for the "
        f"compiled step: within {FLOOR_TARGET}x the floor at every batch size (about "
        + ", ".join(f"{v}x PyTorch eager at batch {k}" for k, v in TORCH_EAGER_TARGET.items())
        + f"), and never slower than eager gpuarr at batch {EAGER_TARGET_BATCH}; an 'about' "
        "target counts as met up to 10% above it.",
        "",
        _mlp_table(cases, "cpu"),
        "",
        *_mlp_notes(cases),
    ]
    if _first_warning(warns):
        mlp_text.append(f"- {_first_warning(warns)}")
    ew_table, ew_notes = _elementwise(torch)
    ew_text = [
        "",
        "## gpuarr.compile: fused elementwise work (cpu)",
        "",
        "GELU (tanh form) written as separate elementwise ops, `0.5 * x * (1 + tanh(0.79788 * "
        f"(x + 0.044715 * x * x * x)))`, on {GELU_N // 2**20}M float32 (minimum bytes: read x, "
        f"write y = {2 * 4 * GELU_N / 1e6:.0f} MB), and one Adam step (lr 1e-3) on "
        f"{ADAM_N // 2**20}M float32 parameters with a fixed gradient (minimum bytes: read "
        f"parameter, gradient and both moments, write parameter and moments = "
        f"{7 * 4 * ADAM_N / 1e6:.0f} MB). GB/s is that minimum over the time: an op-by-op chain "
        "moves several times those bytes, a fused kernel about them. NumPy copying the same "
        "number of bytes gives this machine's bandwidth for reference, not as a ceiling (an "
        "in-place update can beat it: a copy's writes to another buffer cost an extra read). "
        f"{WARMUP} calls each before timing; best of {BIG_ROUNDS} single calls taken in turns.",
        "",
        ew_table,
        "",
        *ew_notes,
    ]
    return "\n".join(mlp_text + ew_text) + "\n"


def _cuda_part(torch) -> str:
    if torch is not None and not torch.cuda.is_available():
        torch = None
    cases = {}
    for sizes, batch in CUDA_CASES:
        c = _mlp_case(torch, sizes, batch, "cuda", torch_compile=None, mode="reduce-overhead")
        c["batch"] = batch
        cases[f"{'-'.join(map(str, sizes))}, batch {batch}"] = c
    warns = next((c["warns"] for c in cases.values() if c["warns"]), [])
    lines = [
        "## gpuarr.compile: training step, MLP (cuda)",
        "",
        "The step as on the CPU; `gpuarr compiled` uses `mode=\"reduce-overhead\"` (replay "
        "through a CUDA graph); `PyTorch CUDA graph` is the torch step captured whole with "
        "`torch.cuda.graph` (PyTorch's recipe: warm-up on a side stream, capture with the "
        "gradients set to None, `replay()`); the floor is the step's matrix products in CuPy. "
        "Every timing ends with a device synchronize."
        + ("" if torch else " PyTorch has no CUDA here: its columns are skipped."),
        "",
        _mlp_table(cases, "cuda"),
        "",
        *_mlp_notes(cases),
    ]
    if _first_warning(warns):
        lines.append(f"- {_first_warning(warns)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(section("cpu"))
