"""torch.cuda's CUDA-graph API (``gpuarr.cuda.CUDAGraph``, ``graph``, ``graph_pool_handle``,
``make_graphed_callables``): a captured block replays with new data copied into its static
inputs, and its static outputs, gradients and parameters then hold what an eager run of the
same batches gives.

CUDA graphs exist on CUDA only: the capture tests run on the 'cuda' device (a GPU, or the
CuPy stand-in with tests/cupy_standin on PYTHONPATH) and skip 'cpu'; the CPU test checks
that capturing CPU work raises.
"""

from __future__ import annotations

import numpy as np
import pytest
from compile_models import snap

import gpuarr
import gpuarr.nn as nn
from gpuarr._compile import cuda_graph
from gpuarr.cuda.graphs import CUDAGraph, graph, graph_pool_handle, make_graphed_callables

TOL = {"rtol": 1e-6, "atol": 1e-6}


def cuda_only(device: str) -> None:
    if device == "cpu":
        pytest.skip("CUDA graphs capture CUDA work only (the CPU case: test_cpu_tensors_raise)")


def mlp(device: str, seed: int = 0) -> nn.Module:
    gpuarr.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to(device)


def batches(n: int, device: str, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    return [(gpuarr.tensor(rng.standard_normal((6, 8)).astype(np.float32), device=device),
             gpuarr.tensor(rng.integers(0, 4, 6), device=device)) for _ in range(n)]


OPTIMIZERS = {
    "sgd_momentum": lambda ps: gpuarr.optim.SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: gpuarr.optim.Adam(ps, lr=1e-2),
    "adam_capturable": lambda ps: gpuarr.optim.Adam(ps, lr=1e-2, capturable=True),
}


def graph_kernels(g: CUDAGraph) -> list:
    """The CUDA graphs of ``g``'s replay plan (empty when it fell back to launches)."""
    (replay,) = g._replay.graph
    assert replay is not None, "graph capture fell back to launch-by-launch"
    return [p for p in replay.plan if not isinstance(p, cuda_graph.Instr)]


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_whole_network_capture_matches_eager(opt_name, device):
    """torch's whole-network example: warm up on a side stream, capture forward, loss,
    backward and optimizer step, then per batch ``static_x.copy_(x); g.replay()``: the losses,
    gradients and parameters equal an eager run of the same batches."""
    cuda_only(device)
    data = batches(8, device)
    loss_fn = nn.CrossEntropyLoss()

    model_e = mlp(device)
    opt_e = OPTIMIZERS[opt_name](model_e.parameters())
    eager_losses = []
    for x, y in data:
        opt_e.zero_grad(set_to_none=True)
        loss = loss_fn(model_e(x), y)
        loss.backward()
        opt_e.step()
        eager_losses.append(snap(loss))

    model = mlp(device)
    opt = OPTIMIZERS[opt_name](model.parameters())
    static_x, static_y = data[0][0].clone(), data[0][1].clone()
    losses = []
    s = gpuarr.cuda.Stream()
    s.wait_stream(gpuarr.cuda.current_stream())
    with gpuarr.cuda.stream(s):
        for x, y in data[:3]:  # warm-up steps (eager), on the same batches as eager's
            static_x.copy_(x)
            static_y.copy_(y)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(static_x), static_y)
            loss.backward()
            opt.step()
            losses.append(snap(loss))
    gpuarr.cuda.current_stream().wait_stream(s)

    g = CUDAGraph()
    opt.zero_grad(set_to_none=True)
    static_x.copy_(data[3][0])
    static_y.copy_(data[3][1])
    with graph(g):  # runs step 4 while recording it
        static_loss = loss_fn(model(static_x), static_y)
        static_loss.backward()
        opt.step()
    losses.append(snap(static_loss))
    for x, y in data[4:]:
        static_x.copy_(x)
        static_y.copy_(y)
        g.replay()
        losses.append(snap(static_loss))

    for k, (a, b) in enumerate(zip(losses, eager_losses)):
        np.testing.assert_allclose(a, b, **TOL, err_msg=f"loss of step {k + 1}")
    for (name, p), q in zip(model.named_parameters(), model_e.parameters()):
        np.testing.assert_allclose(snap(p), snap(q), **TOL, err_msg=name)
        np.testing.assert_allclose(snap(p.grad), snap(q.grad), **TOL, err_msg=f"{name}.grad")
    assert graph_kernels(g), "no CUDA graph in the replay"


@pytest.mark.parametrize("grads", ["set_to_none_inside", "zeroed_inside", "accumulate"])
def test_gradient_handling_in_captured_step(grads, device):
    """How the block treats existing gradients is what replays do: ``zero_grad()`` inside the
    block (set to None, or zeroed in place) gives fresh gradients each replay; a block that
    starts with gradients and does not clear them accumulates into them at every replay, as
    eager calls do."""
    cuda_only(device)
    data = batches(6, device)
    loss_fn = nn.CrossEntropyLoss()

    def run(model, opt, x, y, first):
        if grads != "accumulate" or first:
            opt.zero_grad(set_to_none=grads != "zeroed_inside")
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    model_e = mlp(device)
    opt_e = OPTIMIZERS["sgd_momentum"](model_e.parameters())
    eager = [snap(run(model_e, opt_e, x, y, k == 0)) for k, (x, y) in enumerate(data)]

    model = mlp(device)
    opt = OPTIMIZERS["sgd_momentum"](model.parameters())
    static_x, static_y = data[0][0].clone(), data[0][1].clone()
    losses = [snap(run(model, opt, static_x, static_y, True))]  # warm-up: momentum exists
    static_x.copy_(data[1][0])
    static_y.copy_(data[1][1])
    g = CUDAGraph()
    with graph(g):
        static_loss = run(model, opt, static_x, static_y, False)
    losses.append(snap(static_loss))
    for x, y in data[2:]:
        static_x.copy_(x)
        static_y.copy_(y)
        g.replay()
        losses.append(snap(static_loss))
    np.testing.assert_allclose(np.array(losses), np.array(eager), **TOL)
    for p, q in zip(model.parameters(), model_e.parameters()):
        np.testing.assert_allclose(snap(p), snap(q), **TOL)
        np.testing.assert_allclose(snap(p.grad), snap(q.grad), **TOL)


def test_dropout_draws_new_numbers_each_replay(device):
    """Random ops in the graph draw new numbers at each replay, and a ``manual_seed`` before
    a replay makes it repeatable (as torch's graph-safe generators)."""
    cuda_only(device)
    x = gpuarr.ones(2000, device=device)
    g = CUDAGraph()
    with graph(g):
        y = gpuarr.nn.functional.dropout(x, 0.5)
    masks = []
    for _ in range(2):
        g.replay()
        masks.append(snap(y))
    assert set(np.unique(masks[1]).tolist()) == {0.0, 2.0}
    assert (masks[0] != masks[1]).mean() > 0.3
    seeded = []
    for _ in range(2):
        gpuarr.manual_seed(5)
        g.replay()
        seeded.append(snap(y))
    np.testing.assert_array_equal(seeded[0], seeded[1])


def test_compiled_function_inside_capture(device):
    """A ``gpuarr.compile``d function called inside the block runs as part of the capture."""
    cuda_only(device)
    f = gpuarr.compile(lambda t: (t * 2).exp())
    x = gpuarr.zeros(3, device=device)
    g = CUDAGraph()
    with graph(g):
        y = f(x) + 1
    x.fill_(1.0)
    g.replay()
    np.testing.assert_allclose(snap(y), np.full(3, np.exp(2.0) + 1, np.float32), rtol=1e-6)


def test_partial_network_capture_forward_only(device):
    """Capturing a forward alone: after each replay ``static_out`` holds the model's output
    for the batch copied into ``static_in`` (and the block's own run gave real values)."""
    cuda_only(device)
    model = mlp(device)
    data = batches(4, device)
    static_in = data[0][0].clone()
    g = CUDAGraph()
    with gpuarr.no_grad(), graph(g):
        static_out = model(static_in).softmax(-1)
    with gpuarr.no_grad():
        np.testing.assert_allclose(snap(static_out), snap(model(data[0][0]).softmax(-1)), **TOL)
        for x, _ in data[1:]:
            static_in.copy_(x)
            g.replay()
            np.testing.assert_allclose(snap(static_out), snap(model(x).softmax(-1)), **TOL)
    assert graph_kernels(g)


def test_outputs_follow_parameters_changed_outside(device):
    """Parameters are inputs read at every replay: an in-place change made between replays
    (outside the graph) is what the next replay computes with."""
    cuda_only(device)
    model = mlp(device)
    x = batches(1, device)[0][0]
    g = CUDAGraph()
    with gpuarr.no_grad(), graph(g):
        out = model(x)
    with gpuarr.no_grad():
        model[2].bias.add_(1.0)
        expected = snap(model(x))
    g.replay()
    np.testing.assert_allclose(snap(out), expected, **TOL)


def test_reset_then_replay_raises_and_capture_again(device):
    """As torch: replay before a capture or after ``reset()`` raises; a captured instance
    refuses a second capture until reset; after reset it captures anew."""
    cuda_only(device)
    x = gpuarr.ones(3, device=device)
    g = CUDAGraph()
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()
    with graph(g):
        y = x * 2
    with pytest.raises(RuntimeError, match="already owns a captured graph"):
        with graph(g):
            x + 1
    g.reset()
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()
    with graph(g):
        z = x * 3
    x.fill_(2.0)
    g.replay()
    np.testing.assert_array_equal(snap(z), np.full(3, 6, np.float32))
    np.testing.assert_array_equal(snap(y), np.full(3, 2, np.float32))  # not the new graph's


@pytest.mark.parametrize("read", ["item", "bool", "print"])
def test_reading_a_value_into_python_raises(read, device, capsys):
    """``.item()``, ``bool(t)`` or printing inside the block cannot be replayed: it raises at
    once (torch: "operation not permitted when stream is capturing"), the graph stays empty,
    and capturing works again afterwards."""
    cuda_only(device)
    x = gpuarr.ones(3, device=device)
    g = CUDAGraph()
    with pytest.raises(RuntimeError, match="operation not permitted when stream is capturing"):
        with graph(g):
            y = (x * 2).sum()
            {"item": lambda: y.item(), "bool": lambda: bool(y > 0),
             "print": lambda: print(y)}[read]()
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()
    with graph(g):  # the failed capture left nothing behind
        z = x + 1
    g.replay()
    np.testing.assert_array_equal(snap(z), np.full(3, 2, np.float32))


def test_error_in_block_propagates_and_leaves_no_graph(device):
    cuda_only(device)
    g = CUDAGraph()
    with pytest.raises(ValueError, match="boom"):
        with graph(g):
            gpuarr.ones(2, device=device) * 2
            raise ValueError("boom")
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()


def test_graph_pool_handle_shared_by_two_graphs(device):
    """Two graphs captured with one pool token (``graph_pool_handle()``, then the first
    graph's ``pool()``) each replay their own work on the shared static input."""
    cuda_only(device)
    pool = graph_pool_handle()
    x = gpuarr.arange(4.0, device=device)
    g1, g2 = CUDAGraph(), CUDAGraph()
    with graph(g1, pool=pool):
        a = x * 2
    assert g1.pool() == pool
    with graph(g2, pool=g1.pool()):
        b = a + x
    assert g2.pool() == pool
    x.copy_(gpuarr.tensor([1.0, 1.0, 1.0, 1.0], device=device))
    g1.replay()
    g2.replay()
    np.testing.assert_array_equal(snap(a), np.full(4, 2, np.float32))
    np.testing.assert_array_equal(snap(b), np.full(4, 3, np.float32))
    assert graph_pool_handle() != pool


def test_explicit_capture_stream_and_begin_end(device):
    """``stream=`` makes that stream current inside the block; ``capture_begin`` /
    ``capture_end`` called directly capture as the context manager does."""
    cuda_only(device)
    s = gpuarr.cuda.Stream()
    x = gpuarr.ones(2, device=device)
    g = CUDAGraph()
    with graph(g, stream=s):
        assert gpuarr.cuda.current_stream() == s
        y = x + 1
    assert gpuarr.cuda.current_stream() != s
    g2 = CUDAGraph()
    g2.capture_begin()
    z = y * x
    g2.capture_end()
    x.fill_(3.0)
    g.replay()
    g2.replay()
    np.testing.assert_array_equal(snap(y), np.full(2, 4, np.float32))
    np.testing.assert_array_equal(snap(z), np.full(2, 12, np.float32))
    with pytest.raises(RuntimeError, match="capture error mode"):
        with graph(CUDAGraph(), capture_error_mode="everywhere"):
            pass


def test_debug_dump(device, tmp_path):
    """``debug_dump`` warns (and writes nothing) unless ``enable_debug_mode`` was called, as
    torch; then it writes the recorded program."""
    cuda_only(device)
    x = gpuarr.ones(2, device=device)
    g = CUDAGraph()
    with graph(g):
        (x * 2).exp()
    path = tmp_path / "graph.txt"
    with pytest.warns(UserWarning, match="debug not enabled"):
        g.debug_dump(str(path))
    assert not path.exists()
    g.enable_debug_mode()
    g.debug_dump(str(path))
    text = path.read_text()
    assert "exp" in text and "mul" in text


def test_cpu_tensors_raise(device):
    """CUDA graphs need CUDA: without it ``CUDAGraph()`` raises saying why (torch raises on
    a build without CUDA too); with CUDA, a block that ran only CPU work raises."""
    if device != "cpu":
        pytest.skip("the CPU case")
    if not gpuarr.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            CUDAGraph()
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            graph_pool_handle()
        return
    g = CUDAGraph()
    x = gpuarr.ones(2)
    with pytest.raises(RuntimeError, match="CUDA tensors only"):
        with graph(g):
            x * 2
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()


def test_make_graphed_callables_matches_eager(device):
    """A graphed Module and a graphed function give the eager outputs and gradients, call
    after call (the recorded forward and backward replay)."""
    cuda_only(device)
    model_e, model_g = mlp(device), mlp(device)
    data = batches(5, device)
    w = gpuarr.randn(8, 3, device=device, requires_grad=True)

    def head(h):
        return (h @ w).tanh()

    x0 = data[0][0].clone().requires_grad_(True)
    graphed_model, graphed_head = make_graphed_callables((model_g, head), ((x0,), (x0,)))
    assert graphed_model is model_g
    for x, _ in data:
        for fn_e, fn_g, params_e, params_g in ((model_e, graphed_model, list(model_e.parameters()),
                                                list(model_g.parameters())),
                                               (head, graphed_head, [w], [w])):
            xe = x.clone().requires_grad_(True)
            xg = x.clone().requires_grad_(True)
            out_e = fn_e(xe)
            out_e.square().sum().backward()
            grads_e = [snap(p.grad) for p in params_e]
            for p in params_e + params_g:
                p.grad = None
            out_g = fn_g(xg)
            out_g.square().sum().backward()
            np.testing.assert_allclose(snap(out_g), snap(out_e), **TOL)
            np.testing.assert_allclose(snap(xg.grad), snap(xe.grad), **TOL)
            for p, ge in zip(params_g, grads_e):
                np.testing.assert_allclose(snap(p.grad), ge, **TOL)
                p.grad = None
    assert model_g.forward.__name__ == "new_forward"
    st = graphed_head.stats()
    assert st["replays"] >= 2 and st["eager_calls"] == 0, st
    with gpuarr.no_grad():  # outside training with grad, the module's own forward runs
        np.testing.assert_allclose(snap(model_g(data[0][0])), snap(model_e(data[0][0])), **TOL)


def test_make_graphed_callables_bad_input(device):
    """torch's checks: non-tensor sample args, an input that gets no gradient (unless
    ``allow_unused_input``), a Module with hooks."""
    cuda_only(device)
    with pytest.raises(AssertionError, match="must contain only Tensors"):
        make_graphed_callables(lambda a, b: a * b, (gpuarr.ones(2, device=device), 3))
    a = gpuarr.ones(2, device=device, requires_grad=True)
    b = gpuarr.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        make_graphed_callables(lambda a, b: a * 2, (a, b))
    f = make_graphed_callables(lambda a, b: a * 2, (a, b), allow_unused_input=True)
    np.testing.assert_array_equal(snap(f(a, b)), np.full(2, 2, np.float32))
    model = mlp(device)
    model.register_forward_hook(lambda m, i, o: None)
    with pytest.raises(AssertionError, match="must not have hooks"):
        make_graphed_callables(model, (gpuarr.ones(3, 8, device=device),))
