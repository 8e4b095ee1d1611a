"""DataParallel and gpuarr.nn.parallel's helpers across two CUDA devices.

These run where two CUDA devices exist: on a multi-GPU machine, and on the CuPy stand-in with
``CUPY_SIM_NDEV=2``, whose arrays refuse, as CuPy does without peer access, to take part in a
kernel launched on another device, so a replica that ran on the wrong device, or a gradient
that was not moved back, fails here. The current device stays 0 between tests.
Values and gradients are compared with one device and with torch on the CPU.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr import nn
from gpuarr.nn.parallel import (
    DataParallel,
    comm,
    data_parallel,
    gather,
    parallel_apply,
    replicate,
    scatter,
)

pytestmark = pytest.mark.skipif(gpuarr.cuda.device_count() < 2, reason="needs 2 CUDA devices")

C0, C1, CPU = gpuarr.device("cuda:0"), gpuarr.device("cuda:1"), gpuarr.device("cpu")


def on(t, index: int) -> bool:
    """The tensor says cuda:index and its array really lives there."""
    return t.device == gpuarr.device("cuda", index) and t._data.device.id == index


@pytest.fixture(autouse=True)
def _current_is_0():
    gpuarr.cuda.set_device(0)
    yield
    gpuarr.cuda.set_device(0)


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(5, 8), lib.nn.Tanh(), lib.nn.Linear(8, 3))


def cnn(lib):
    return lib.nn.Sequential(
        lib.nn.Conv2d(2, 4, 3, padding=1), lib.nn.BatchNorm2d(4), lib.nn.ReLU(),
        lib.nn.MaxPool2d(2), lib.nn.Flatten(), lib.nn.Linear(16, 3))


def twins(build):
    """The same float64 model in torch and gpuarr (gpuarr's on cuda:0)."""
    torch.manual_seed(0)
    tm = build(torch).double()
    gm = build(gpuarr).double()
    gm.load_state_dict({k: gpuarr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return gm.to(C0), tm


def rnd(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def step(model, device_ids, x, w):
    """One forward/backward of DataParallel(model); returns the output and the input grad."""
    gx = gpuarr.tensor(x, requires_grad=True)
    out = DataParallel(model, device_ids=device_ids)(gx)
    (out * gpuarr.tensor(w, device=out.device)).sum().backward()
    return out, gx.grad


@pytest.mark.parametrize("build", [mlp, cnn])
def test_two_devices_match_one_device_and_torch(build):
    g2, tm = twins(build)
    g1 = copy.deepcopy(g2)
    x = rnd(6, 5) if build is mlp else rnd(6, 2, 4, 4)
    w = rnd(6, 3, seed=7)
    out2, gx2 = step(g2, [0, 1], x, w)
    assert on(out2, 0) and out2.grad_fn is not None
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.cat([tm(c) for c in tx.chunk(2)])  # what the two replicas compute
    (tout * torch.tensor(w)).sum().backward()
    close(to_np(out2), tout.detach().numpy())
    close(to_np(gx2), tx.grad.numpy())
    tparams = dict(tm.named_parameters())
    for name, p in g2.named_parameters():
        assert on(p, 0) and on(p.grad, 0)
        close(to_np(p.grad), tparams[name].grad.numpy())
    # one device gives the same numbers (BatchNorm in eval mode: in training mode each
    # replica normalises its own piece, as in torch)
    two = copy.deepcopy(g1)
    for m in (g1, two):
        m.train(build is mlp)
    out1, gx1 = step(g1, [0], x, w)
    out2, gx2 = step(two, [0, 1], x, w)
    close(to_np(out1), to_np(out2))
    close(to_np(gx1), to_np(gx2))
    for p1, p2 in zip(g1.parameters(), two.parameters()):
        close(to_np(p1.grad), to_np(p2.grad))


def test_batchnorm_running_stats_come_from_device_0():
    gm, tm = twins(cnn)
    x = rnd(6, 2, 4, 4)
    DataParallel(gm, device_ids=[0, 1])(gpuarr.tensor(x))
    tm(torch.tensor(x[:3]))  # torch: only device_ids[0]'s replica shares the buffers
    bn = gm[1]
    assert on(bn.running_mean, 0) and int(to_np(bn.num_batches_tracked)) == 1
    close(to_np(bn.running_mean), tm[1].running_mean.numpy())
    close(to_np(bn.running_var), tm[1].running_var.numpy())


def test_training_steps_match_single_device():
    g2, _ = twins(mlp)
    g1 = copy.deepcopy(g2)
    opts = [gpuarr.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (g1, g2)]
    nets = [DataParallel(g1, device_ids=[0]), DataParallel(g2, device_ids=[0, 1])]
    target = gpuarr.tensor([0, 2, 1, 0, 1, 2, 0])
    for i in range(3):
        x = gpuarr.tensor(rnd(7, 5, seed=i))  # 7 rows: pieces of 4 and 3
        for net, opt in zip(nets, opts):
            opt.zero_grad()
            gpuarr.nn.functional.cross_entropy(net(x), target.to(C0)).backward()
            opt.step()
    for p1, p2 in zip(g1.parameters(), g2.parameters()):
        close(to_np(p1), to_np(p2))


def test_replicas_run_on_their_devices():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(gpuarr.ones(3, dtype=gpuarr.float64))
            self.register_buffer("b", gpuarr.zeros(3, dtype=gpuarr.float64))
            self.log = seen

        def forward(self, x, *, shift):
            made = gpuarr.zeros(1, device="cuda")  # lands on the current device
            self.log.append((gpuarr.cuda.current_device(), x.device.index, self.w.device.index,
                             self.b.device.index, shift.device.index, made.device.index))
            return x * self.w + self.b + shift

    m = Probe().to(C0)
    x = gpuarr.randn(4, 3, dtype=gpuarr.float64, device=C1)
    out = DataParallel(m, device_ids=[0, 1], output_device=1)(x, shift=gpuarr.ones(4, 3))
    assert seen == [(0,) * 6, (1,) * 6] and on(out, 1)
    assert gpuarr.cuda.current_device() == 0  # restored
    np.testing.assert_allclose(to_np(out), to_np(x) + 1)


def test_device_ids_in_another_order():
    gm, tm = twins(mlp)
    gm.to(C1)
    x = rnd(4, 5)
    out = DataParallel(gm, device_ids=[1, 0])(gpuarr.tensor(x))
    assert on(out, 1)
    close(to_np(out), tm(torch.tensor(x)).detach().numpy())
    out.sum().backward()
    assert all(on(p.grad, 1) for p in gm.parameters())


def test_module_not_on_device_ids_0():
    gm, _ = twins(mlp)
    gm.to(C1)
    x = gpuarr.ones(2, 5, dtype=gpuarr.float64)
    msg = ("module must have its parameters and buffers on device cuda:0 (device_ids[0]) but "
           "found one of them on device: cuda:1")
    with pytest.raises(RuntimeError) as e:
        DataParallel(gm, device_ids=[0, 1])(x)
    assert str(e.value) == msg
    with pytest.raises(RuntimeError) as e:
        data_parallel(gm, x, device_ids=[0, 1])
    assert str(e.value) == msg


def test_fewer_pieces_than_devices_and_scalars():
    gm, tm = twins(mlp)
    x = rnd(1, 5)
    out = data_parallel(gm, gpuarr.tensor(x), device_ids=[0, 1], output_device=1)
    assert on(out, 1)
    close(to_np(out), tm(torch.tensor(x)).detach().numpy())

    class Mean(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = gm

        def forward(self, x):
            return self.m(x).mean()

    with pytest.warns(UserWarning, match="will instead unsqueeze and return a vector"):
        v = DataParallel(Mean(), device_ids=[0, 1])(gpuarr.tensor(rnd(4, 5)))
    assert v.shape == (2,) and on(v, 0)


def test_no_grad_forward():
    gm, _ = twins(mlp)
    with gpuarr.no_grad():
        out = DataParallel(gm, device_ids=[0, 1])(gpuarr.randn(4, 5, dtype=gpuarr.float64))
    assert not out.requires_grad


def test_replicate_across_devices():
    gm, _ = twins(cnn)
    r0, r1 = replicate(gm, [0, 1])
    assert on(r0[0].weight, 0) and on(r1[0].weight, 1) and on(r1[1].running_mean, 1)
    assert r0[1].running_mean is gm[1].running_mean
    assert list(r1.parameters()) == [] and not r1[0].weight.is_leaf
    x = gpuarr.randn(2, 2, 4, 4, dtype=gpuarr.float64, device=C1)
    r1(x).sum().backward()
    g = gm[0].weight.grad
    assert on(g, 0)
    ref = copy.deepcopy(gm).to(C1)
    ref.zero_grad()
    ref(x).sum().backward()
    close(to_np(g), to_np(ref[0].weight.grad))
    gm.to(C1)
    with pytest.raises(RuntimeError, match=r"All tensors must be on devices\[0\]: 0"):
        replicate(gm, [0, 1])


def test_scatter_gather_across_devices():
    x = gpuarr.tensor(rnd(5, 4), requires_grad=True, device=C0)
    pieces = scatter({"x": x, "k": 3}, [0, 1])
    assert on(pieces[0]["x"], 0) and on(pieces[1]["x"], 1) and pieces[1]["k"] == 3
    assert [tuple(p["x"].shape) for p in pieces] == [(3, 4), (2, 4)]

    def f(x, to=0):
        a, b = scatter(x, [0, 1], dim=1)
        return gather([a.sin(), b * b], to, dim=1)

    y = f(x, "cpu")
    assert y.device == CPU
    y.sum().backward()
    xn = to_np(x)
    assert on(x.grad, 0)
    close(to_np(x.grad), np.c_[np.cos(xn[:, :2]), 2 * xn[:, 2:]])
    assert gpuarr.autograd.gradcheck(f, (x,))
    assert gpuarr.autograd.gradgradcheck(f, (x,))
    g = lambda t: gather(list(scatter(t, [1, 0])), 1) * 2  # noqa: E731
    xc = gpuarr.tensor(rnd(3, 2), requires_grad=True)
    assert on(g(xc), 1)
    assert gpuarr.autograd.gradcheck(g, (xc,)) and gpuarr.autograd.gradgradcheck(g, (xc,))


def test_parallel_apply_across_devices():
    lin0 = nn.Linear(3, 2).to(C0)
    lin1 = copy.deepcopy(lin0).to(C1)
    x = gpuarr.randn(4, 3)
    outs = parallel_apply([lin0, lin1], [x.to(C0), x.to(C1)])  # devices from the inputs
    assert on(outs[0], 0) and on(outs[1], 1)
    np.testing.assert_allclose(to_np(outs[0]), to_np(outs[1]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="^Caught RuntimeError in replica 1 on device 1"):
        parallel_apply([lin0, lin0], [(x.to(C0),), (x.to(C1),)], None, [0, 1])
    assert gpuarr.cuda.current_device() == 0


def test_comm_across_devices():
    x = gpuarr.arange(6.0, device=C0).reshape(3, 2)
    a, b = comm.broadcast(x, [0, 1])
    assert a is x and on(b, 1)
    np.testing.assert_array_equal(to_np(b), to_np(x))
    xg = x.clone().requires_grad_()
    comm.broadcast(xg, [1, 0])[0].sum().backward()  # differentiable, as torch's
    assert on(xg.grad, 0)
    out = [gpuarr.zeros(3, 2, device=C1), gpuarr.zeros(3, 2, device=C0)]
    comm.broadcast(x, out=out)
    np.testing.assert_array_equal(to_np(out[0]), to_np(x))
    with pytest.raises(RuntimeError, match="Expected all output tensors to be CUDA tensors, "
                                           "but output tensor at index 0 has device 'cpu'"):
        comm.broadcast(x, out=[gpuarr.zeros(3, 2)])
    (p0, q0), (p1, q1) = comm.broadcast_coalesced([x, x * 2], [0, 1])
    assert p0 is x and on(p1, 1) and on(q1, 1)
    np.testing.assert_array_equal(to_np(q1), 2 * to_np(x))
    with pytest.raises(RuntimeError, match=r"All tensors must be on devices\[0\]: 1"):
        comm.broadcast_coalesced([x], [1, 0])
    s = comm.reduce_add([x, b * 2], destination=1)
    assert on(s, 1)
    np.testing.assert_array_equal(to_np(s), 3 * to_np(x))
    with pytest.raises(RuntimeError, match="reduce_add expects destination to be on the same "
                                           "GPU with one of the tensors"):
        comm.reduce_add([x, x], destination=1)
    r0, r1 = comm.reduce_add_coalesced([[x, x], [b, b]], destination=0)
    assert on(r0, 0) and not r0.requires_grad
    np.testing.assert_array_equal(to_np(r1), 2 * to_np(x))
    pieces = comm.scatter(gpuarr.arange(5.0), [1, 0], chunk_sizes=[4, 1])
    assert on(pieces[0], 1) and on(pieces[1], 0) and pieces[0].shape == (4,)
    outs = [gpuarr.zeros(2, device=C1), gpuarr.zeros(3, device=C0)]
    comm.scatter(gpuarr.arange(5.0), out=outs)
    np.testing.assert_array_equal(to_np(outs[1]), [2.0, 3.0, 4.0])
    with pytest.raises(RuntimeError, match="Total size for output tensors along scatter dim 0 "
                                           "does not match the source tensor size at dim 0. "
                                           "Expected 4, but got total size 5"):
        comm.scatter(gpuarr.arange(4.0), out=outs)
    g = comm.gather(pieces, 0, destination=1)
    assert on(g, 1)
    np.testing.assert_array_equal(to_np(g), [0.0, 1.0, 2.0, 3.0, 4.0])
    dst = gpuarr.zeros(5)
    assert comm.gather(pieces, out=dst) is dst
    np.testing.assert_array_equal(to_np(dst), [0.0, 1.0, 2.0, 3.0, 4.0])
    with pytest.raises(RuntimeError, match=r"Expected out tensor to have shape \[5\], but got "
                                           r"\[4\]"):
        comm.gather(pieces, out=gpuarr.zeros(4))
