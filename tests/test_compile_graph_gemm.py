"""Matrix products inside CUDA graphs (``gpuarr._compile.graph_gemm``) and one-graph steps.

- the GEMM kernel's source compiles with the real NVRTC for sm_90 and sm_80 (one subprocess
  running ``tests/cuda_compile.py --raw``; skipped when the real CuPy/NVRTC is missing, failed
  then under GPUARR_REQUIRE_NVRTC=1);
- its numbers (``cuda`` in the test names: on the stand-in, which compiles the same source for
  the CPU and runs it thread by thread; on a GPU, on the GPU) against float64 products: 2-D and
  batched, transposed and strided views, batch broadcasting, empty axes, ``out=``; bad
  operands raise;
- which recorded calls it takes over (``accepts``);
- in ``mode="reduce-overhead"`` a training step without value checks replays as exactly one
  graph launch, and a step with ``cross_entropy`` as a small graph for the target check, the
  check, and one graph for the rest (SGD, and AdamW with ``capturable=True``); a bad target
  still raises before anything changes; ``options={"graph_matmul": False}`` keeps cuBLAS
  between graphs.
"""

from __future__ import annotations

import operator

import cuda_compile as cc
import numpy as np
import pytest
from compile_models import (
    CASES,
    assert_same,
    assert_same_params,
    batches,
    make_train_step,
    mlp,
    snap,
    twin_models,
)
from real_cupy_scripts import compile_sets

import gpuarr
from gpuarr._compile import cuda_graph
from gpuarr._compile.graph_gemm import KERNEL_NAMES, MAX_MACS, GraphMatmul, accepts
from gpuarr._compile.trace import Instr, Slot

# ---- NVRTC ----------------------------------------------------------------------------------


def test_graph_gemm_kernel_compiles_with_nvrtc_for_sm90_and_sm80():
    (results,) = compile_sets("--raw", "gpuarr._compile.graph_gemm:RAW_KERNELS",
                              timeout=600).values()
    got = {(r["kernel"], r["arch"]) for r in results}
    assert got == {(n, a) for n in KERNEL_NAMES.values() for a in cc.ARCHS}
    bad = [f"{r['kernel']} {r['arch']}:\n{r['error']}" for r in results if not r["ok"]]
    assert not bad, "NVRTC rejected the GEMM kernel:\n" + "\n".join(bad)


# ---- the kernel's numbers -------------------------------------------------------------------


def _exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


def _check(got, a, b, dt):
    """Within one rounding (in ``dt``) of the product, plus the double accumulation's error
    bound: the kernel accumulates in double and rounds once."""
    ex = _exact(a, b)
    got = got.get() if hasattr(got, "get") else got
    assert got.dtype == dt and got.shape == ex.shape
    k = a.shape[-1]
    scale = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    bound = np.finfo(dt).eps * np.abs(ex) + 2 * k * np.finfo(np.float64).eps * scale
    assert np.all(np.abs(got - ex) <= bound), np.max(np.abs(got - ex) - bound)


SHAPES = [
    ((16, 784), (784, 256)),      # an MLP's first layer at batch 16
    ((7, 1), (1, 9)),             # K = 1
    ((5, 0), (0, 3)),             # K = 0: zeros
    ((0, 4), (4, 3)),             # M = 0
    ((3, 4, 5), (3, 5, 2)),       # batched
    ((3, 4, 5), (1, 5, 2)),       # b broadcast along the batch
    ((1, 4, 5), (3, 5, 17)),      # a broadcast along the batch
    ((1, 4, 9), (8, 1, 9, 6)),    # a convolution's weight @ columns: ranks 3 and 4
    ((2, 3, 5, 4), (2, 3, 4, 5)),  # attention's scores: two batch axes
    ((5, 4), (2, 3, 4, 2)),       # a 2-D operand against two batch axes
]


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("sa,sb", SHAPES, ids=[f"{a}@{b}" for a, b in SHAPES])
def test_cuda_graph_gemm_matches_float64(cp, dt, sa, sb):
    rng = np.random.default_rng(len(sa) * 10 + sa[-1])
    a = rng.standard_normal(sa).astype(dt)
    b = rng.standard_normal(sb).astype(dt)
    _check(GraphMatmul()(cp.asarray(a), cp.asarray(b)), a, b, np.dtype(dt))


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
def test_cuda_graph_gemm_strided_views_and_out(cp, dt):
    """Transposed operands (the backward's ``x.T @ g``), a column slice, and ``out=`` a
    transposed view: every stride goes through."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((30, 20)).astype(dt)
    g = rng.standard_normal((30, 12)).astype(dt)
    mm = GraphMatmul()
    cx, cg = cp.asarray(x), cp.asarray(g)
    out = cp.zeros((12, 20), dtype=dt)
    r = mm(cx.T, cg[:, ::2], out=out.T[:, ::2])
    assert r is not None
    _check(out.T[:, ::2], x.T, g[:, ::2], np.dtype(dt))
    assert float(abs(out.T[:, 1::2]).max()) == 0.0  # untouched
    c4 = cp.asarray(rng.standard_normal((3, 4, 6, 5)).astype(dt))
    d4 = cp.asarray(rng.standard_normal((4, 3, 2, 5)).astype(dt))
    # transposed batch axes and a transposed matrix: strides in every position
    _check(mm(c4.transpose(1, 0, 2, 3), d4.transpose(0, 1, 3, 2)),
           c4.get().transpose(1, 0, 2, 3), d4.get().transpose(0, 1, 3, 2), np.dtype(dt))
    c3 = cp.asarray(rng.standard_normal((4, 6, 5)).astype(dt))
    d3 = cp.asarray(rng.standard_normal((4, 5, 3)).astype(dt))
    _check(mm(c3.transpose(0, 2, 1).transpose(0, 2, 1), d3), c3.get(), d3.get(), np.dtype(dt))


def test_cuda_graph_gemm_rejects_what_it_does_not_cover(cp):
    mm = GraphMatmul()
    a32 = cp.ones((3, 4), dtype=np.float32)
    with pytest.raises(TypeError, match="unsupported operands"):
        mm(a32, cp.ones((4, 2), dtype=np.float64))
    with pytest.raises(TypeError, match="unsupported operands"):
        mm(a32, cp.ones((5, 2), dtype=np.float32))  # inner sizes differ
    with pytest.raises(TypeError, match="unsupported operands"):
        mm(cp.ones((3, 4), dtype=np.int64), cp.ones((4, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="out has"):
        mm(a32, cp.ones((4, 2), dtype=np.float32), out=cp.empty((2, 3), dtype=np.float32))


def test_cuda_accepts_float_products_of_rank_2_and_3(cp):
    nd = type(cp.empty(1))

    def meta(*entries):
        return {i: (nd, shape, np.dtype(dt)) for i, (shape, dt) in enumerate(entries)}

    mm = cp.matmul
    m = meta(((4, 3), "float32"), ((3, 2), "float32"), ((4, 2), "float32"),
             ((4, 3), "float16"), ((2, 4, 3), "float64"), ((2, 3, 2), "float64"),
             ((2, 2, 2, 4, 3), "float32"), ((3, 2), "float64"))
    s = [Slot(i) for i in range(8)]
    assert accepts(Instr(mm, (s[0], s[1]), {}, Slot(9)), m)
    assert accepts(Instr(operator.matmul, (s[0], s[1]), {}, Slot(9)), m)
    assert accepts(Instr(mm, (s[0], s[1]), {"out": s[2]}, s[2]), m)
    assert accepts(Instr(mm, (s[4], s[5]), {}, Slot(9)), m)
    assert not accepts(Instr(mm, (s[3], s[3]), {}, Slot(9)), m)  # float16: cuBLAS
    assert not accepts(Instr(mm, (s[0], s[7]), {}, Slot(9)), m)  # mixed dtypes
    assert not accepts(Instr(mm, (s[6], s[6]), {}, Slot(9)), m)  # rank 5
    assert not accepts(Instr(mm, (s[0], s[1]), {"out": s[0]}, s[0]), m)  # wrong out shape
    assert not accepts(Instr(cp.dot, (s[0], s[1]), {}, Slot(9)), m)
    big = meta(((1024, 784), "float32"), ((784, 1024), "float32"))  # 822M multiply-adds
    assert 1024 * 784 * 1024 > MAX_MACS
    assert not accepts(Instr(mm, (s[0], s[1]), {}, Slot(9)), big)  # cuBLAS, between graphs
    host = {0: (np.ndarray, (4, 3), np.dtype("float32")),
            1: (np.ndarray, (3, 2), np.dtype("float32"))}
    assert not accepts(Instr(np.matmul, (s[0], s[1]), {}, Slot(9)), host)


# ---- whole steps ----------------------------------------------------------------------------


def _mse_step(model, opt):
    """A step that reads nothing back: MSE against the label, as a float, in every column."""

    def loss_fn(out, y):
        return gpuarr.nn.functional.mse_loss(out, y.to(out.dtype).unsqueeze(1).expand_as(out))

    return make_train_step(model, opt, loss_fn)


def _sgd(params):
    return gpuarr.optim.SGD(params, lr=0.1, momentum=0.9)


def _train(device, loss="ce", steps=8, options=None, opt=_sgd, adaptive=False):
    """The MLP trained ``steps`` steps compiled (reduce-overhead) and eagerly; returns the
    compiled step, its model and the batches.

    Compiled equals eager (``assert_same``: exactly on the CPU). An adaptive optimizer (Adam,
    NAdam...) divides by the root of each gradient element's running square, so where a
    gradient element is near zero it turns the GEMM kernel's rounding (not cuBLAS's) into
    visible parameter differences: for those (``adaptive``), the parameters are compared on
    a second run with ``graph_matmul`` off, and the graph-GEMM run's losses to 1e-5."""
    kernel = device == "cuda" and (options or {}).get("graph_matmul", True)
    runs = [options, {**(options or {}), "graph_matmul": False}] if adaptive and kernel \
        else [options]
    for k, opts in enumerate(runs):
        model_c, model_e = twin_models(mlp, device)
        make = _mse_step if loss == "mse" else make_train_step
        step_c = gpuarr.compile(make(model_c, opt(model_c.parameters())),
                                mode="reduce-overhead", options=opts)
        step_e = make(model_e, opt(model_e.parameters()))
        data = batches(steps, (16,), device, seed=4)
        loose = len(runs) == 2 and k == 0
        for x, y in data:
            a, b = snap(step_c(x, y)), snap(step_e(x, y))
            if loose:
                np.testing.assert_allclose(a, b, rtol=1e-5)
            else:
                assert_same(a, b, device)
        if not loose:
            assert_same_params(model_c, model_e, device)
        assert step_c.stats()["replays"] >= steps - 3
        if k == 0:
            first = (step_c, model_c, data)
    return first


def _plan(step):
    (entry,) = step._cache.values()
    return entry.replay.graph.plan


def test_cuda_step_without_checks_is_one_graph(cp):
    step, *_ = _train("cuda", loss="mse")
    plan = _plan(step)
    assert len(plan) == 1 and not isinstance(plan[0], cuda_graph.Instr), plan


def test_cuda_cross_entropy_check_runs_first_then_one_graph(cp):
    """The target-range check reads only the targets, so it moves to the front: a small graph
    computes it, the host reads it, and one graph runs the rest of the step. A bad target
    raises before that graph: the parameters stay as they were."""
    step, model, data = _train("cuda")
    plan = _plan(step)
    kinds = ["call" if isinstance(p, cuda_graph.Instr) else "graph" for p in plan]
    assert kinds == ["graph", "call", "graph"], plan
    assert "check" in type(plan[1].fn).__name__.lower()
    before = {k: snap(v) for k, v in model.state_dict().items()}
    x, y = data[0]
    bad = y.clone()
    bad[3] = 99
    with pytest.raises(IndexError, match="out of bounds"):
        step(x, bad)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(snap(v), before[k], err_msg=k)


def test_cuda_graph_matmul_off_keeps_cublas_between_graphs(cp):
    step, *_ = _train("cuda", loss="mse", options={"graph_matmul": False})
    plan = _plan(step)
    calls = [p for p in plan if isinstance(p, cuda_graph.Instr)]
    assert len(calls) == 8 and all(getattr(p.fn, "__name__", "") == "matmul" for p in calls)


@pytest.mark.parametrize("capturable", [False, True])
def test_adamw_step_graphs(device, capturable):
    """AdamW's bias corrections come from its step count. Read on the host (the default) they
    split the CUDA graphs at every parameter; with ``capturable=True`` they are computed on the
    device and the step is one graph after the target check, as SGD's. Compiled equals eager
    on both devices either way (exactly on the CPU)."""
    step, *_ = _train(device, adaptive=True, opt=lambda ps: gpuarr.optim.AdamW(
        ps, lr=1e-2, capturable=capturable))
    if device == "cpu":
        return
    kinds = ["call" if isinstance(p, cuda_graph.Instr) else "graph" for p in _plan(step)]
    if capturable:
        assert kinds == ["graph", "call", "graph"], kinds
    else:
        assert kinds.count("graph") > 3, kinds


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam"])
def test_capturable_step_is_one_graph_after_the_check(device, name):
    """Adamax, NAdam and RAdam with ``capturable=True`` compute their step-dependent factors
    on the device (RAdam's switch at step 6 included): one graph after the target check, and
    compiled equals eager (exactly on the CPU)."""
    step, *_ = _train(device, steps=10, adaptive=True, opt=lambda ps: getattr(
        gpuarr.optim, name)(ps, lr=1e-2, capturable=True))
    if device == "cuda":
        kinds = ["call" if isinstance(p, cuda_graph.Instr) else "graph" for p in _plan(step)]
        assert kinds == ["graph", "call", "graph"], kinds


def test_rmsprop_step_is_one_graph_after_the_check(device):
    """RMSprop counts its steps but never reads the count: nothing reaches the host, so the
    step is one graph after the target check (and compiled equals eager)."""
    step, *_ = _train(device, opt=lambda ps: gpuarr.optim.RMSprop(ps, lr=1e-3, momentum=0.5))
    if device == "cuda":
        (entry,) = step._cache.values()
        meta = entry.replay.graph.meta
        # the step counters' host increments run after the graphs: no device call between
        kinds = ["graph" if not isinstance(p, cuda_graph.Instr) else
                 "host" if cuda_graph._on_host(p, meta) else "call" for p in _plan(step)]
        assert kinds == ["graph", "call", "graph"] + ["host"] * 6, kinds


@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_models_train_as_two_graphs_with_capturable_optimizers(cp, name):
    """The four models of the compile tests (MLP, CNN, LSTM, attention block), their
    optimizers made capturable: each step replays as the target check's small graph, the
    check, and one graph (convolutions' and attention's batched products included); losses
    and parameters agree with eager over 10 steps. One exception: the attention block's key
    bias has an exactly-zero gradient (softmax ignores a shift shared by all keys), so AdamW
    turns rounding noise into lr-sized steps there, and the GEMM kernel's rounding is not
    cuBLAS's; it is compared with ``graph_matmul`` off, where the runs agree bit for bit."""
    case = CASES[name]
    for graph_matmul in (True, False):
        model_c, model_e = twin_models(case.build, "cuda")

        def opt(ps):
            o = case.make_opt(ps)
            if "capturable" in o.defaults:
                for group in o.param_groups:
                    group["capturable"] = True
            return o

        step = gpuarr.compile(make_train_step(model_c, opt(model_c.parameters())),
                              mode="reduce-overhead", options={"graph_matmul": graph_matmul})
        eager = make_train_step(model_e, opt(model_e.parameters()))
        for x, y in batches(10, case.x_shape, "cuda", seed=5):
            assert_same(snap(step(x, y)), snap(eager(x, y)), "cuda", what=name)
        assert step.stats()["replays"] == 7, step.stats()
        kinds = ["call" if isinstance(p, cuda_graph.Instr) else "graph" for p in _plan(step)]
        if not graph_matmul:
            assert_same_params(model_c, model_e, "cuda")
            continue
        assert kinds == ["graph", "call", "graph"], kinds
        if name != "attention_adamw":
            assert_same_params(model_c, model_e, "cuda")
