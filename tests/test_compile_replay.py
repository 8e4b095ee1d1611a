"""How ``gpuarr.compile`` replays: CUDA graphs, fused kernels, buffers, recorded checks.

``tests/test_compile.py`` checks what a user sees (compiled == eager, retraces, fallbacks);
these tests look one level down, at the replay the compiler built: that the CUDA-graph mode
really replays through graphs (and recaptures when a learning rate changes), that elementwise
chains on CUDA really became fused kernels, that CPU buffers are reused without changing a
bit, that value checks recorded in a trace still raise at replay, and that the compiler's
fallbacks (capture failure, ``fullgraph=True``) behave as documented.
"""

from __future__ import annotations

import operator
import re

import numpy as np
import pytest
from compile_models import (
    assert_same,
    assert_same_params,
    batches,
    compile_warnings,
    make_train_step,
    mlp,
    recorded_warnings,
    run_steps,
    snap,
    twin_models,
)

import gpuarr
import gpuarr.nn.functional as F
from gpuarr._compile import cuda_graph


def _replay(compiled):
    """The replay object of a compiled function's only cache entry."""
    (entry,) = compiled._cache.values()
    assert entry.replay is not None, "no verified program"
    return entry.replay


def _train(device, mode, steps=12, opt="sgd", schedule=True):
    """Twin MLPs trained eagerly and compiled (``mode``) on the same batches, with a StepLR
    schedule; returns both loss lists, the models and the compiled step."""
    model_c, model_e = twin_models(mlp, device)

    def setup(model):
        o = (gpuarr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt == "sgd"
             else gpuarr.optim.AdamW(model.parameters(), lr=1e-2))
        sched = gpuarr.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)
        return make_train_step(model, o), sched

    step_c, sched_c = setup(model_c)
    step_c = gpuarr.compile(step_c, mode=mode)
    step_e, sched_e = setup(model_e)
    data = batches(steps, (16,), device, seed=3)
    losses = []
    for step, sched in ((step_e, sched_e), (step_c, sched_c)):
        out = []
        for x, y in data:
            out.append(snap(step(x, y)))
            if schedule:
                sched.step()
        losses.append(out)
    return losses[1], losses[0], model_c, model_e, step_c


@pytest.mark.parametrize("opt", ["sgd", "adamw"])
def test_reduce_overhead_mode_matches_eager(opt, device):
    """mode="reduce-overhead": on CUDA the replay runs through CUDA graphs (matrix products
    by gpuarr's GEMM kernel inside them; ``test_compile_graph_gemm.py`` looks closer),
    captured again when the LR schedule changes the learning rate; on the CPU it is the plain
    replay. Either way losses and parameters equal eager's."""
    lc, le, model_c, model_e, step = _train(device, "reduce-overhead", opt=opt)
    for k, (a, b) in enumerate(zip(lc, le)):
        assert_same(a, b, device, what=f"loss of step {k + 1}")
    assert_same_params(model_c, model_e, device)
    st = step.stats()
    assert st["eager_calls"] == 0 and st["replays"] >= 9, st
    replay = _replay(step)
    if device == "cpu":
        assert hasattr(replay, "source")  # generated code, no graphs on the CPU
        return
    graph = replay.graph
    assert graph is not None, "graph capture fell back"
    graphs = [p for p in graph.plan if not isinstance(p, cuda_graph.Instr)]
    assert graphs, "no CUDA graph in the plan"
    # lr 0.1 for steps 1-4 (replays from step 4), then three halvings: a capture for each
    # learning rate the replays met
    assert graph.captures == 3, graph.captures


def test_graph_capture_failure_falls_back_with_one_warning(device, monkeypatch):
    """When CuPy refuses a capture, the function replays without graphs, says so once, and
    still equals eager."""
    if device == "cpu":
        pytest.skip("CUDA graphs exist on CUDA only")

    def refuse(self, instrs, env):
        raise NotImplementedError("refused for the test")

    monkeypatch.setattr(cuda_graph.GraphReplay, "_graph", refuse)
    with recorded_warnings() as rec:
        lc, le, model_c, model_e, step = _train(device, "reduce-overhead", steps=8,
                                                schedule=False)
    msgs = [m for m in compile_warnings(rec) if "CUDA graph capture failed" in m]
    assert len(msgs) == 1, msgs
    for a, b in zip(lc, le):
        assert_same(a, b, device)
    assert_same_params(model_c, model_e, device)


def gelu_chain(x):
    """GELU written as its tanh formula: nine elementwise ops."""
    return 0.5 * x * (1.0 + ((x + 0.044715 * x * x * x) * 0.7978845608).tanh())


def test_elementwise_chain_is_one_fused_kernel_on_cuda(device):
    """On CUDA the GELU chain replays as one generated kernel (one line of the replay); on the
    CPU as NumPy calls; both equal eager (exactly on the CPU)."""
    x = gpuarr.tensor(np.random.default_rng(0).standard_normal((64, 33)).astype(np.float32),
                      device=device)
    f = gpuarr.compile(gelu_chain)
    for _ in range(3):
        got = f(x)
    assert_same(snap(got), snap(gelu_chain(x)), device)
    replay = _replay(f)
    calls = [ln for ln in replay.source.splitlines() if re.search(r"= f\d+\(", ln)]
    names = [getattr(replay.__globals__[re.search(r"(f\d+)\(", ln).group(1)], "__name__", "")
             for ln in calls]
    if device == "cpu":  # the NumPy calls themselves, one per op
        assert len(calls) == 9 and not any(n.startswith("fused[") for n in names), names
    else:  # one kernel call, nothing else
        assert len(calls) == 1 and names[0].startswith("fused["), names


def wide_mlp():
    """An MLP whose activations (batch x 256 floats) are big enough for buffer reuse."""
    return gpuarr.nn.Sequential(gpuarr.nn.Linear(16, 256), gpuarr.nn.ReLU(),
                                gpuarr.nn.Linear(256, 5))


def test_cpu_buffers_are_reused_and_results_stay_exact():
    """On the CPU, intermediate ufunc results are written into buffers kept between replays
    and NumPy's Python wrappers are rewritten as the call they make; the results stay
    bit-identical to eager's for 10 steps. (Nesterov momentum: its update needs scratch
    arrays, which become buffers kept between replays.)"""
    model_c, model_e = twin_models(wide_mlp, "cpu")
    steps = []
    for model in (model_c, model_e):
        opt = gpuarr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        steps.append(make_train_step(model, opt))
    step = gpuarr.compile(steps[0])
    data = batches(10, (16,), "cpu", batch=32, seed=4)
    for a, b in zip(run_steps(step, data), run_steps(steps[1], data)):
        np.testing.assert_array_equal(a, b)
    assert_same_params(model_c, model_e, "cpu")
    src = _replay(step).source
    assert "out=k" in src, "no ufunc writes into a kept buffer"
    names = {getattr(v, "__name__", "") for v in _replay(step).__globals__.values()}
    # kept arrays (scratch buffers, ReLU's zeros) are bound by name, without a call
    assert re.search(r"^    s\d+ = k\d+$", src, re.M), src
    # cross_entropy's take_along_axis/put_along_axis/expand_dims run as the indexing/reshape
    # they make
    assert not names & {"take_along_axis", "put_along_axis", "expand_dims"}, names


def test_constant_arrays_are_kept_only_when_the_program_only_reads_them():
    """``keep_constants`` makes a fixed array once (read-only) when every use reads it: a
    ufunc's input, an index, the values stored by an indexed assignment. An array written in
    place, passed as out=, indexed into (a view), given to an unknown call, or leaving the
    replay is made afresh every replay, as eager does."""
    from gpuarr._compile.buffers import _Static, keep_constants
    from gpuarr._compile.trace import ConstArray, Instr, Slot

    f32 = np.dtype(np.float32)
    shape = (4, 3)
    s = [Slot(i) for i in range(20)]
    meta = {i: (np.ndarray, shape, f32) for i in range(20)}
    meta[3] = meta[13] = (np.ndarray, (4,), np.dtype(np.int64))
    user = np.ones(shape, f32)
    instrs = [
        Instr(np.zeros, (shape, f32), {}, s[1]),               # kept: a ufunc input
        Instr(np.maximum, (s[0], s[1]), {}, s[2]),
        Instr(np.arange, (4,), {}, s[3]),                      # kept: an index
        Instr(operator.getitem, (s[2], (s[3], 0)), {}, s[4]),
        Instr(np.full, ((), 1.0, f32), {}, s[5]),              # kept: values stored
        Instr(operator.setitem, (s[2], (s[3], 1), s[5]), {}, None),
        Instr(np.zeros, (shape, f32), {}, s[6]),               # written by setitem
        Instr(operator.setitem, (s[6], (s[3], 1), s[5]), {}, None),
        Instr(np.zeros, (shape, f32), {}, s[7]),               # written in place
        Instr(operator.iadd, (s[7], s[0]), {}, s[7]),
        Instr(np.zeros, (shape, f32), {}, s[8]),               # an out= target
        Instr(np.add, (s[0], s[0]), {"out": s[8]}, s[8]),
        Instr(np.ones, (shape, f32), {}, s[9]),                # indexed into: a view
        Instr(operator.getitem, (s[9], 0), {}, s[10]),
        Instr(np.ones, (shape, f32), {}, s[11]),               # an unknown call
        Instr(np.where, (s[0], s[11], s[0]), {}, s[12]),
        Instr(np.arange, (4,), {}, s[13]),                     # leaves the replay
        Instr(ConstArray(user), (), {}, s[14]),                # kept: a copy, frozen
        Instr(np.multiply, (s[0], s[14]), {}, s[15]),
    ]
    out = keep_constants(instrs, needed={13}, meta=meta)
    kept = {ins.outs.index: ins.fn.buf for ins in out if type(ins.fn) is _Static}
    assert set(kept) == {1, 3, 5, 14}, sorted(kept)
    maker = {ins.outs.index: ins for ins in instrs if type(ins.outs) is Slot}
    for i, arr in kept.items():
        want = maker[i].fn(*maker[i].args)
        np.testing.assert_array_equal(arr, want)
        assert not arr.flags.writeable, i
    assert user.flags.writeable and kept[14] is not user  # the caller's array is untouched


def test_value_checks_recorded_in_the_trace_raise_at_replay(device):
    """cross_entropy checks its targets; the check is part of the recorded program, so a
    replay with an out-of-range target raises eager's IndexError (and a valid one does not)."""
    model_c, _ = twin_models(mlp, device)
    opt = gpuarr.optim.SGD(model_c.parameters(), lr=0.1)
    step = gpuarr.compile(make_train_step(model_c, opt))
    data = batches(4, (16,), device, seed=5)
    run_steps(step, data)
    assert step.stats()["replays"] >= 1
    x, y = data[0]
    bad = gpuarr.full(y.shape, 99, dtype=gpuarr.int64, device=device)
    with pytest.raises(IndexError, match="Target 99 is out of bounds"):
        step(x, bad)
    assert snap(step(x, y)).shape == ()


def test_fullgraph_raises_instead_of_falling_back(device):
    """fullgraph=True turns the eager fallback into an error naming the line."""
    w = gpuarr.ones(3, device=device)

    def f(x):
        return x * w if (x.sum() > 0).item() else x - w

    g = gpuarr.compile(f, fullgraph=True)
    with pytest.raises(RuntimeError,
                       match=r" at test_compile_replay\.py:\d+.*fullgraph=True"):
        g(gpuarr.ones(3, device=device))


def test_adam_bias_correction_follows_the_step_count(device):
    """Adam's bias correction depends on the step count; the replay reads the count at each
    call, so 15 compiled Adam steps equal eager's (exactly on the CPU)."""
    lc, le, model_c, model_e, step = _train(device, None, steps=15, opt="adamw",
                                            schedule=False)
    for k, (a, b) in enumerate(zip(lc, le)):
        assert_same(a, b, device, what=f"loss of step {k + 1}")
    assert_same_params(model_c, model_e, device)
    assert step.stats()["replays"] == 12


def test_replay_does_not_build_tensors_or_graph_nodes(device, monkeypatch):
    """A replay runs backend calls only: no Function.apply, no graph Node."""
    *_, step = _train(device, None, steps=5, schedule=False)
    x, y = batches(1, (16,), device, seed=9)[0]
    from gpuarr._core import function

    def boom(*a, **k):
        raise AssertionError("a replay ran an op through Function.apply")

    monkeypatch.setattr(function.Function, "apply", classmethod(boom))
    monkeypatch.setattr(function, "record_one_output", boom)
    before = step.stats()["replays"]
    loss = step(x, y)
    assert loss.shape == () and step.stats()["replays"] == before + 1


def test_cached_arrays_do_not_leak_between_traces(device):
    """Causal attention caches its mask array; a trace must neither leave its traced array in
    that cache nor take one an earlier trace left there as its own value (both showed up as a
    wrong program on the second trace). Replays equal eager's, shape after shape."""
    rng = np.random.default_rng(7)

    def attend(q):
        return F.scaled_dot_product_attention(q, q, q, is_causal=True) * 2.0

    f = gpuarr.compile(attend)
    for length in (6,) * 5 + (9,) * 5 + (6,):
        q = gpuarr.tensor(rng.standard_normal((2, 3, length, 4)).astype(np.float32),
                          device=device)
        with gpuarr.no_grad():
            assert_same(snap(f(q)), snap(attend(q)), device, what=f"length {length}")
    # (a length's first traces may differ: the eager reference call fills the cache between
    # them, and the next trace reads the mask from there)
    assert f.stats()["replays"] >= 5 and f.eager_reason is None, f.stats()


def test_compiled_function_called_inside_a_trace_is_inlined(device):
    """A compiled model called inside a compiled step is part of the step's program (no
    nested trace, no deadlock); the step replays and equals eager."""
    model_c, model_e = twin_models(mlp, device)
    inner = gpuarr.compile(model_c)
    opt_c = gpuarr.optim.SGD(model_c.parameters(), lr=0.1)
    opt_e = gpuarr.optim.SGD(model_e.parameters(), lr=0.1)

    def make(fwd, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(fwd(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    step = gpuarr.compile(make(inner, opt_c))
    data = batches(6, (16,), device, seed=11)
    for a, b in zip(run_steps(step, data), run_steps(make(model_e, opt_e), data)):
        assert_same(a, b, device)
    assert_same_params(model_c, model_e, device)
    assert step.stats()["replays"] >= 3 and inner.stats()["traces"] == 0


def test_other_threads_are_not_recorded():
    """A trace records its own thread only: a thread that makes tensors, reads their arrays
    and calls NumPy meanwhile (as a SummaryWriter's or a DataLoader's does) sees plain arrays,
    and the compiled step still equals eager."""
    import threading

    stop = threading.Event()
    seen: list = []
    shared = gpuarr.ones(4)

    def worker():
        while not stop.is_set():
            t = gpuarr.ones(3) * 2 + shared[:3]
            seen.append((type(t._data), float(np.asarray(t._data).sum()),
                         type(shared._data)))

    th = threading.Thread(target=worker)
    th.start()
    try:
        lc, le, model_c, model_e, step = _train("cpu", None, steps=8, schedule=False)
    finally:
        stop.set()
        th.join()
    for a, b in zip(lc, le):
        np.testing.assert_array_equal(a, b)
    assert seen and all(k is np.ndarray and v == 9.0 and ks is np.ndarray
                        for k, v, ks in seen), seen[:3]


OPTIMIZERS = {
    "Adam": lambda p: gpuarr.optim.Adam(p, lr=1e-2),
    "AdamW-amsgrad": lambda p: gpuarr.optim.AdamW(p, lr=1e-2, amsgrad=True),
    "RMSprop": lambda p: gpuarr.optim.RMSprop(p, lr=1e-2, momentum=0.5),
    "Adagrad": lambda p: gpuarr.optim.Adagrad(p, lr=1e-2),
    "Adamax": lambda p: gpuarr.optim.Adamax(p, lr=1e-2),
    "Adadelta": lambda p: gpuarr.optim.Adadelta(p),
    "Rprop": lambda p: gpuarr.optim.Rprop(p, lr=1e-2),
    "SGD-nesterov": lambda p: gpuarr.optim.SGD(p, lr=1e-2, momentum=0.9, nesterov=True),
    # RAdam switches to the rectified update at step 6 (a branch on the step count); NAdam
    # reads its momentum product each step: both follow their state at every replay
    "RAdam": lambda p: gpuarr.optim.RAdam(p, lr=1e-2),
    "NAdam": lambda p: gpuarr.optim.NAdam(p, lr=1e-2),
    # eta and mu read at every replay; with t0=3 mu is 1 up to step 5, then 1/2, 1/3...
    "ASGD": lambda p: gpuarr.optim.ASGD(p, lr=1e-2, t0=3),
    "ASGD-decay": lambda p: gpuarr.optim.ASGD(p, lr=1e-2, lambd=0.1, weight_decay=0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_compiles_or_falls_back_correctly(name, device):
    """Each optimizer's compiled step equals eager over 12 steps: the step count is read by
    every replay (bias corrections and RAdam's rectification follow it, across RAdam's switch
    at step 6; ASGD's eta, and its mu, which leaves 1 at step 6)."""
    model_c, model_e = twin_models(mlp, device)
    steps = [make_train_step(m, OPTIMIZERS[name](m.parameters())) for m in (model_c, model_e)]
    step = gpuarr.compile(steps[0])
    data = batches(12, (16,), device, seed=12)
    with recorded_warnings() as rec:
        losses_c = run_steps(step, data)
    for k, (a, b) in enumerate(zip(losses_c, run_steps(steps[1], data))):
        assert_same(a, b, device, what=f"{name}, step {k + 1}")
    assert_same_params(model_c, model_e, device)
    msgs = compile_warnings(rec)
    assert step.eager_reason is None and msgs == [], (step.eager_reason, msgs)
    assert step.stats()["replays"] == 9, step.stats()


batch_x = None  # rebound by test_rebound_global_and_closure_tensors_are_read_at_replay


def test_rebound_global_and_closure_tensors_are_read_at_replay(device):
    """A function that reads its batch from a global or a closure variable, rebound to a new
    tensor before every call (notebook style), replays on the new tensor: the program reads
    whatever the variable holds, not the tensor the trace saw."""
    global batch_x
    w = gpuarr.tensor(np.arange(12, dtype=np.float32).reshape(4, 3), device=device)

    def from_global():
        return (batch_x @ w).tanh().sum(0)

    compiled = gpuarr.compile(from_global)
    rng = np.random.default_rng(3)
    for _ in range(6):
        batch_x = gpuarr.tensor(rng.standard_normal((5, 4)).astype(np.float32), device=device)
        assert_same(snap(compiled()), snap(from_global()), device)
    assert compiled.stats()["replays"] == 4, compiled.stats()

    y = gpuarr.zeros(3, device=device)

    def from_closure():
        return y * 2 + 1

    compiled = gpuarr.compile(from_closure)
    for k in range(5):
        y = gpuarr.full((3,), float(k), device=device)
        assert_same(snap(compiled()), snap(from_closure()), device)
    assert compiled.stats()["replays"] == 3, compiled.stats()


def test_changing_a_module_setting_retraces(device):
    """A Dropout's p is part of the signature: changing it between calls retraces instead of
    replaying the old probability (outputs equal eager with the same seed)."""
    model = gpuarr.nn.Sequential(gpuarr.nn.Linear(16, 16), gpuarr.nn.Dropout(0.1)).to(device)
    f = gpuarr.compile(model)
    x = batches(1, (16,), device, seed=2)[0][0]
    for p in (0.1, 0.1, 0.1, 0.5, 0.5, 0.5):
        model[1].p = p
        with gpuarr.no_grad():
            gpuarr.manual_seed(5)
            got = snap(f(x))
            gpuarr.manual_seed(5)
            assert_same(got, snap(model(x)), device, what=f"p={p}")
    assert f.stats()["cache_entries"] == 2 and f.stats()["replays"] == 2, f.stats()


def test_autocast_and_default_dtype_are_part_of_the_signature():
    """Entering autocast (bfloat16 on the CPU) or changing the default dtype between calls
    retraces instead of replaying the other program; under autocast the replays cast the
    current weights (the trace does not use autocast's cast cache) and equal eager."""
    x = gpuarr.ones(4, 8)
    w = gpuarr.nn.Parameter(gpuarr.full((8, 3), 0.5))

    def f(x):
        return (x @ w).sum() + gpuarr.ones(2).sum()

    g = gpuarr.compile(f)
    for _ in range(3):
        assert g(x).dtype == gpuarr.float32
    for k in range(4):
        with gpuarr.no_grad():
            w.add_(0.25)  # the weights change between calls
        with gpuarr.autocast("cpu", dtype=gpuarr.bfloat16):
            got = g(x)
        with gpuarr.autocast("cpu", dtype=gpuarr.bfloat16):
            want = f(x)
        assert got.dtype == want.dtype
        assert_same(snap(got.float()), snap(want.float()), "cpu", what=f"call {k}")
    assert g.stats()["cache_entries"] == 2, g.stats()

    def h():
        return gpuarr.tensor([1.5, 2.5]) * 2

    hc = gpuarr.compile(h)
    for _ in range(3):
        assert hc().dtype == gpuarr.float32
    prev = gpuarr.get_default_dtype()
    try:
        gpuarr.set_default_dtype(gpuarr.float64)
        for _ in range(3):
            assert hc().dtype == h().dtype == gpuarr.float64
    finally:
        gpuarr.set_default_dtype(prev)
    assert hc.stats()["cache_entries"] == 2, hc.stats()


class _GRUNet(gpuarr.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = gpuarr.nn.Embedding(30, 8)
        self.rnn = gpuarr.nn.GRU(8, 12, num_layers=2, batch_first=True, dropout=0.1)
        self.fc = gpuarr.nn.Linear(12, 5)

    def forward(self, x):
        h, _ = self.rnn(self.emb(x))
        return self.fc(h.mean(1))


class _Encoder(gpuarr.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = gpuarr.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
        self.fc = gpuarr.nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.layer(x).mean(1))


def _conv_bn():
    nn = gpuarr.nn
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))


MORE_MODELS = {
    "gru": (_GRUNet, lambda dev: gpuarr.randint(0, 30, (4, 7), device=dev)),
    "conv_bn": (_conv_bn, lambda dev: gpuarr.randn(4, 2, 6, 6, device=dev)),
    "transformer": (_Encoder, lambda dev: gpuarr.randn(4, 6, 16, device=dev)),
}


@pytest.mark.parametrize("name", sorted(MORE_MODELS))
def test_step_with_clipping_and_label_smoothing_matches_eager(name, device):
    """A fuller step: AdamW with weight decay, cross_entropy with label smoothing,
    clip_grad_norm_ before the update, on a 2-layer GRU with dropout, a Conv+BatchNorm net and
    a Transformer encoder layer: the compiled step replays (clipping and the smoothed mean
    stay arrays while tracing) and equals eager exactly on the CPU."""
    build, make_x = MORE_MODELS[name]
    runs = []
    for compiled in (False, True):
        gpuarr.manual_seed(0)
        model = build().to(device)
        opt = gpuarr.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            loss.backward()
            gpuarr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return loss

        fn = gpuarr.compile(step) if compiled else step
        gpuarr.manual_seed(1)
        x, y = make_x(device), gpuarr.randint(0, 5, (4,), device=device)
        runs.append(([snap(fn(x, y)) for _ in range(8)], model, fn))
    (le, model_e, _), (lc, model_c, fn) = runs
    for k, (a, b) in enumerate(zip(lc, le)):
        assert_same(a, b, device, what=f"{name}, step {k + 1}")
    assert_same_params(model_c, model_e, device)
    assert fn.eager_reason is None and fn.stats()["replays"] == 5, fn.stats()


def test_dead_calls_are_dropped_on_both_devices(device):
    """A result nothing uses is not computed at replay: NumPy's and CuPy's ufuncs and array
    methods count as side-effect free alike."""
    def f(x):
        gpuarr.exp(x).sum()  # computed eagerly, used by nothing
        return x + 1

    compiled = gpuarr.compile(f, options={"fuse": False})  # the calls as recorded
    x = gpuarr.randn(8, device=device)
    for _ in range(3):
        out = compiled(x)
    np.testing.assert_array_equal(out.cpu().numpy(), (x + 1).cpu().numpy())
    replay = _replay(compiled)
    called = {getattr(replay.__globals__[n], "__name__", "")
              for n in re.findall(r"\b(f\d+)\(", replay.source)}
    assert not called & {"exp", "sum"}, called
