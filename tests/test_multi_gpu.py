"""Two CUDA devices: every op on a ``cuda:N`` tensor runs and allocates on device N.

These run where two CUDA devices exist: on a multi-GPU machine, and in ``make test``'s
multi-GPU pass on the CuPy stand-in with ``CUPY_SIM_NDEV=2``, whose arrays remember their
device and refuse, as CuPy does without peer access, to take part in a kernel launched on
another device. The current device stays 0 throughout, so an op that forgot to switch to its
tensors' device fails there.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import gpuarr

pytestmark = pytest.mark.skipif(gpuarr.cuda.device_count() < 2, reason="needs 2 CUDA devices")

D1 = "cuda:1"


def on(t, index: int) -> bool:
    """The tensor says cuda:index and its array really lives there."""
    return t.device == gpuarr.device("cuda", index) and t._data.device.id == index


@pytest.fixture(autouse=True)
def _current_is_0():
    gpuarr.cuda.set_device(0)
    yield
    gpuarr.cuda.set_device(0)


def test_creation_lands_on_the_named_device():
    assert on(gpuarr.rand(3, device=D1), 1)
    assert on(gpuarr.randn(2, 2, device=D1), 1)
    assert on(gpuarr.arange(5, device=D1), 1)
    assert on(gpuarr.zeros(2, device=D1), 1)
    assert on(gpuarr.ones(2, device=D1), 1)
    assert on(gpuarr.full((2,), 3.0, device=D1), 1)
    assert on(gpuarr.empty(2, device=D1), 1)
    assert on(gpuarr.eye(3, device=D1), 1)
    assert on(gpuarr.linspace(0, 1, 4, device=D1), 1)
    assert on(gpuarr.tensor([1, 2], device=D1), 1)
    assert on(gpuarr.randint(0, 5, (3,), device=D1), 1)
    assert on(gpuarr.randperm(6, device=D1), 1)
    assert on(gpuarr.zeros(2, device="cuda"), 0)
    assert gpuarr.cuda.current_device() == 0


def test_copies_land_on_the_source_device():
    t = gpuarr.rand(3, device=D1)
    gpuarr.ones(1, device="cuda:0") + 1  # leave device 0 as the last one used
    assert on(t.clone(), 1)
    assert on(gpuarr.tensor(t), 1)
    assert on(copy.deepcopy(t), 1)
    assert on(t.detach().clone(), 1)
    assert on(t.to(gpuarr.float64), 1)
    assert on(gpuarr.tensor(t._data), 1)  # a CuPy array on device 1
    assert on(t.to("cuda:0"), 0) and on(t.to("cuda:0").to(D1), 1)
    assert on(gpuarr.zeros_like(t), 1) and on(gpuarr.rand_like(t), 1)


def test_ops_and_backward_run_on_the_tensors_device():
    gpuarr.ones(1, device="cuda:0") + 1
    w = gpuarr.randn(4, 3, device=D1, requires_grad=True)
    x = gpuarr.randn(5, 4, device=D1)
    gpuarr.ones(1, device="cuda:0") * 2
    y = gpuarr.nn.functional.relu(x @ w).sum(dim=0).softmax(0)
    assert on(y, 1)
    gpuarr.ones(1, device="cuda:0") * 2
    (y * y).sum().backward()
    assert on(w.grad, 1)
    idx = gpuarr.tensor([0, 2], device=D1)
    assert on(x[idx], 1) and on(x[x > 0], 1) and on(x.sort(dim=1).values, 1)
    assert on(gpuarr.cat([x, x]), 1) and on(x.sum(), 1) and on(x.mean(1), 1)
    assert on(gpuarr.linalg.inv(gpuarr.eye(3, device=D1) * 2), 1)


def test_training_step_on_device_1():
    model = gpuarr.nn.Sequential(gpuarr.nn.Linear(4, 8), gpuarr.nn.ReLU(),
                                 gpuarr.nn.Linear(8, 2)).to(D1)
    for opt in (gpuarr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                gpuarr.optim.Adam(model.parameters(), lr=0.01)):
        for _ in range(2):
            gpuarr.ones(1, device="cuda:0") + 1
            opt.zero_grad()
            loss = gpuarr.nn.functional.cross_entropy(
                model(gpuarr.randn(6, 4, device=D1)), gpuarr.tensor([0, 1, 0, 1, 1, 0], device=D1))
            loss.backward()
            opt.step()
    assert all(on(p, 1) for p in model.parameters())


def test_generators_per_device():
    gpuarr.manual_seed(5)
    a = gpuarr.rand(4, device=D1)
    g = gpuarr.Generator(D1).manual_seed(5)
    gpuarr.ones(1, device="cuda:0") + 1
    b = gpuarr.rand(4, device=D1, generator=g)
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    s = g.get_state()
    c = gpuarr.rand(4, device=D1, generator=g)
    g.set_state(s)
    np.testing.assert_array_equal(gpuarr.rand(4, device=D1, generator=g).cpu().numpy(),
                                  c.cpu().numpy())


def test_devices_do_not_mix():
    with pytest.raises(RuntimeError, match="found at least two devices, cuda:0 and cuda:1"):
        gpuarr.ones(2, device="cuda:0") + gpuarr.ones(2, device=D1)


def test_current_device_and_context():
    assert gpuarr.cuda.device_count() == 2
    gpuarr.cuda.set_device(1)
    assert gpuarr.cuda.current_device() == 1
    assert on(gpuarr.zeros(1, device="cuda"), 1)
    assert on(gpuarr.ones(1).cuda(), 1)
    gpuarr.cuda.set_device(0)
    with gpuarr.cuda.device(1):
        assert on(gpuarr.zeros(1, device="cuda"), 1)
    assert gpuarr.cuda.current_device() == 0
    bk = gpuarr.device("cuda")._backend()
    with bk.device_ctx(None):  # None means the current device
        assert bk.xp.cuda.Device().id == 0
    gpuarr.cuda.synchronize(1)
    gpuarr.cuda.synchronize("cuda:0")


def test_memory_counters_honour_the_index():
    gpuarr.cuda.empty_cache()
    base0, base1 = gpuarr.cuda.memory_allocated(0), gpuarr.cuda.memory_allocated(1)
    big = gpuarr.zeros(1 << 20, device=D1)  # 4 MiB on device 1
    assert gpuarr.cuda.memory_allocated(1) >= base1 + (4 << 20)
    assert gpuarr.cuda.memory_allocated(0) == base0
    assert gpuarr.cuda.memory_reserved(1) >= gpuarr.cuda.memory_allocated(1)
    assert gpuarr.cuda.max_memory_allocated(1) >= base1 + (4 << 20)
    del big
    assert gpuarr.cuda.memory_allocated(1) == base1
