"""What torch programs call at the top, matched against PyTorch 2.13: device and backend probes,
``compile``, ``onnx``, the per-process default seed, ``serialization.safe_globals``,
``tensor()`` from any sequence, and the legacy typed constructors."""

from __future__ import annotations

import array
import collections
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import gpuarr

# --------------------------------------------------------------------------------------------
# device and backend probes


def test_accelerator_probes_follow_cuda():
    avail = gpuarr.cuda.is_available()
    assert gpuarr.accelerator.is_available() is avail
    acc = gpuarr.accelerator.current_accelerator()
    assert acc == (gpuarr.device("cuda") if avail else None)
    assert gpuarr.accelerator.current_accelerator(check_available=True) == acc
    assert gpuarr.accelerator.device_count() == gpuarr.cuda.device_count()
    if avail:
        assert acc.type == "cuda" and acc.index is None  # as torch's: no index
        assert gpuarr.accelerator.current_device_index() == gpuarr.cuda.current_device()
        with gpuarr.accelerator.device_index(0):
            assert gpuarr.accelerator.current_device_index() == 0
        gpuarr.accelerator.synchronize()
        assert gpuarr.accelerator.memory_allocated() >= 0


def test_accelerator_without_one_raises_torchs_error(monkeypatch):
    monkeypatch.setattr(gpuarr.cuda, "is_available", lambda: False)
    monkeypatch.setattr(gpuarr.cuda, "device_count", lambda: 0)
    assert gpuarr.accelerator.current_accelerator() is None
    assert not gpuarr.accelerator.is_available() and gpuarr.accelerator.device_count() == 0
    if not torch.accelerator.is_available():  # the CPU build torch CI installs
        assert torch.accelerator.current_accelerator() is None
        for name, args in [("current_device_index", ()), ("set_device_index", (0,)),
                           ("synchronize", ()), ("empty_cache", ()),
                           ("memory_allocated", ())]:
            with pytest.raises(RuntimeError) as te:
                getattr(torch.accelerator, name)(*args)
            with pytest.raises(RuntimeError) as ge:
                getattr(gpuarr.accelerator, name)(*args)
            assert str(ge.value) == str(te.value)


def test_backend_flags_defaults_match_torch():
    g, t = gpuarr.backends, torch.backends
    assert g.mps.is_available() is t.mps.is_available() is False
    assert g.mps.is_built() is t.mps.is_built() is False
    for flag in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(g.cudnn, flag) == getattr(t.cudnn, flag), flag
    assert g.cudnn.is_available() is False and g.cudnn.version() is None
    assert g.cuda.matmul.allow_tf32 == t.cuda.matmul.allow_tf32 is False
    assert g.cuda.is_built() is True  # gpuarr ships its CUDA backend (torch's CPU build: False)
    assert gpuarr.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    assert gpuarr.are_deterministic_algorithms_enabled() is False
    assert gpuarr.cuda.is_bf16_supported() is False


def test_backend_flags_are_settable_and_linked():
    cudnn, matmul = gpuarr.backends.cudnn, gpuarr.backends.cuda.matmul
    try:
        cudnn.benchmark = True
        cudnn.deterministic = True
        assert cudnn.benchmark and cudnn.deterministic
        with cudnn.flags(enabled=False, benchmark=False):
            assert not cudnn.enabled and not cudnn.benchmark
        assert cudnn.enabled and cudnn.benchmark
        gpuarr.set_float32_matmul_precision("high")
        assert matmul.allow_tf32 is True
        matmul.allow_tf32 = False
        assert gpuarr.get_float32_matmul_precision() == "highest"
        matmul.allow_tf32 = True
        assert gpuarr.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            gpuarr.set_float32_matmul_precision("fastest")
        assert gpuarr.get_float32_matmul_precision() == "high"
        sdp = gpuarr.backends.cuda
        sdp.enable_flash_sdp(False)
        assert sdp.flash_sdp_enabled() is False and sdp.math_sdp_enabled() is True
    finally:
        cudnn.benchmark = cudnn.deterministic = False
        gpuarr.set_float32_matmul_precision("highest")
        gpuarr.backends.cuda.enable_flash_sdp(True)


def test_use_deterministic_algorithms():
    try:
        gpuarr.use_deterministic_algorithms(True, warn_only=True)
        assert gpuarr.are_deterministic_algorithms_enabled() is True
        assert gpuarr.is_deterministic_algorithms_warn_only_enabled() is True
        with pytest.raises(TypeError, match="must be bool, not int"):
            gpuarr.use_deterministic_algorithms(1)
        with pytest.raises(TypeError, match="must be bool, not int"):
            torch.use_deterministic_algorithms(1)
    finally:
        gpuarr.use_deterministic_algorithms(False)
    assert gpuarr.are_deterministic_algorithms_enabled() is False


def test_backends_package_keeps_its_dispatch_names():
    # the torch-style flags are added beside the dispatch layer, not instead of it
    assert gpuarr.backends.backend_for("cpu") is gpuarr.backends.NUMPY
    from gpuarr.backends import cudnn, mps  # noqa: F401 - importable by name

    assert cudnn is gpuarr.backends.cudnn
    with pytest.raises(AttributeError):
        gpuarr.backends.no_such_name  # noqa: B018


# --------------------------------------------------------------------------------------------
# compile, onnx


def test_compile_accepts_torch_call_forms_and_options():
    """torch.compile's call forms and keyword options are accepted; compiling does not warn
    (tests/test_compile.py covers what the compiled function does)."""
    def f(x):
        return x * 2

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cf = gpuarr.compile(f, mode="max-autotune", fullgraph=True, dynamic=False)
        assert cf.__wrapped__ is f and cf.__name__ == "f"

        @gpuarr.compile
        def g(x):
            return x + 1

        @gpuarr.compile(mode="reduce-overhead", dynamic=False)
        def h(x):
            return x - 1

        model = gpuarr.nn.Linear(2, 2)
        cm = gpuarr.compile(model)
        assert cm._orig_mod is model and cm.weight is model.weight
    for _ in range(3):
        assert g(gpuarr.ones(1)).item() == 2.0 and h(gpuarr.ones(1)).item() == 0.0
    assert g.stats()["replays"] == 1
    with pytest.raises(RuntimeError, match="expects a callable"):
        gpuarr.compile(3)


def test_compile_disable_and_eager_backend_return_the_function():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gpuarr.compile(len, disable=True) is len
        assert gpuarr.compile(len, backend="eager") is len


def test_onnx_fails_clearly_on_use():
    assert gpuarr.onnx.is_in_onnx_export() is False
    with pytest.raises(NotImplementedError, match=r"gpuarr\.onnx\.export is not available"):
        gpuarr.onnx.export(gpuarr.nn.Linear(2, 2), (gpuarr.ones(1, 2),), "m.onnx")
    with pytest.raises(NotImplementedError, match="dynamo_export"):
        gpuarr.onnx.dynamo_export(None)
    with pytest.raises(AttributeError, match=r"gpuarr\.onnx\.TrainingMode is not available"):
        gpuarr.onnx.TrainingMode  # noqa: B018


# --------------------------------------------------------------------------------------------
# the default generator's seed

_SEED_CODE = ("import gpuarr\n{}print(gpuarr.initial_seed(), gpuarr.rand(3).tolist(), "
              "gpuarr.Generator().initial_seed())\n")


def _seed_run(prefix: str = "") -> list[str]:
    p = subprocess.run([sys.executable, "-c", _SEED_CODE.format(prefix)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.split(" ", 1)


def test_default_generator_is_seeded_per_process():
    a, b = _seed_run(), _seed_run()
    assert a[0] != b[0] and a[1] != b[1]  # seed and draws differ, as in torch 2.13
    assert 0 <= int(a[0]) < 2**64
    # a hand-made Generator starts from torch's fixed default seed in both
    assert a[1].split()[-1] == b[1].split()[-1] == "67280421310721"


def test_manual_seed_makes_processes_reproducible():
    a = _seed_run("gpuarr.manual_seed(123)\n")
    b = _seed_run("gpuarr.manual_seed(123)\n")
    assert a == b and a[0] == "123"


def test_suite_runs_seeded():
    # tests/conftest.py seeds every test (autouse fixture), so the suite stays deterministic
    assert gpuarr.initial_seed() == 0
    first = gpuarr.rand(3).tolist()
    gpuarr.manual_seed(0)
    assert gpuarr.rand(3).tolist() == first


# --------------------------------------------------------------------------------------------
# serialization: safe globals are accepted (nothing is ever unpickled)


class _Config:
    pass


def test_safe_globals_are_accepted(tmp_path):
    ser = gpuarr.serialization
    ser.clear_safe_globals()
    try:
        ser.add_safe_globals([_Config, (len, "builtins.len")])
        assert ser.get_safe_globals() == [_Config, (len, "builtins.len")]
        with pytest.raises(TypeError):
            ser.add_safe_globals(_Config)  # torch: a list is required
        path = tmp_path / "ckpt.safetensors"
        gpuarr.save({"w": gpuarr.ones(2)}, path)
        with ser.safe_globals([int]) as ctx:
            assert int in ser.get_safe_globals() and ctx.safe_globals == [int]
            ckpt = gpuarr.load(path, weights_only=True)
        assert int not in ser.get_safe_globals() and _Config in ser.get_safe_globals()
        assert ckpt["w"].tolist() == [1.0, 1.0]
    finally:
        ser.clear_safe_globals()
    assert ser.get_safe_globals() == []


# --------------------------------------------------------------------------------------------
# tensor() from any sequence torch accepts

SEQUENCES = [
    collections.deque([1, 2, 3]), range(5), range(0), range(2, 9, 3), bytearray(b"ab"),
    array.array("f", [1.5, 2.5]), array.array("q", [7, -8]), [range(2), range(2)],
    collections.deque([[1.0, 2.0], [3.0, 4.0]]), [collections.deque([1, 2])],
    (collections.deque([True, False]),), [bytearray(b"xy")],
]


@pytest.mark.parametrize("data", SEQUENCES, ids=lambda d: type(d).__name__)
def test_tensor_from_sequences_matches_torch(device, data):
    t = torch.tensor(data)
    g = gpuarr.tensor(data, device=device)
    assert g.dtype.name == str(t.dtype)[6:] and tuple(g.shape) == tuple(t.shape)
    np.testing.assert_array_equal(g.cpu().numpy(), t.numpy())
    g64 = gpuarr.tensor(data, dtype=gpuarr.float64, device=device)
    np.testing.assert_array_equal(g64.cpu().numpy(), torch.tensor(data, dtype=torch.float64))


@pytest.mark.parametrize("data", [(i for i in range(3)), {1, 2}, {"a": 1}, iter([1]), None,
                                  {1: 2}.values(), object(), "ab", b"ab"],
                         ids=lambda d: type(d).__name__)
def test_tensor_refuses_what_torch_refuses(data):
    with pytest.raises(Exception) as te:
        torch.tensor(data)
    with pytest.raises(te.type) as ge:
        gpuarr.tensor(data)
    assert str(ge.value) == str(te.value)


def test_unconvertible_argument_is_still_a_type_error_for_ops():
    with pytest.raises(TypeError):
        gpuarr.add(gpuarr.ones(2), None)


# --------------------------------------------------------------------------------------------
# legacy typed constructors

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
          "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_constructor_matches_torch(name):
    G, T = getattr(gpuarr, name), getattr(torch, name)
    for args in [(2, 3), (4,), (0,), (), ([1, 2],), ([[1.7, 0.0], [3.0, 4.0]],), ((2, 3),),
                 (range(3),), (np.int64(2),), (np.array([1, 0]),)]:
        t = T(*args)
        g = G(*args)
        assert g.dtype.name == str(t.dtype)[6:] and tuple(g.shape) == tuple(t.shape), args
        if args and not (len(args) > 1 or isinstance(args[0], (int, np.integer))):
            np.testing.assert_array_equal(g.numpy(), t.numpy())  # data, not uninitialised
    assert tuple(G(gpuarr.Size([2, 1])).shape) == tuple(T(torch.Size([2, 1])).shape)
    assert isinstance(G(2), G) and isinstance(G(2), gpuarr.Tensor)
    for dt in ("float32", "float64", "int64", "bool", "uint8"):
        t = torch.zeros(2, dtype=getattr(torch, dt))
        g = gpuarr.zeros(2, dtype=getattr(gpuarr, dt))
        assert isinstance(g, G) is isinstance(t, T), (name, dt)
    assert not issubclass(G, gpuarr.Tensor) and G.__name__ == name and G.dtype.name == (
        str(T.dtype)[6:])


def test_legacy_constructor_errors_match_torch():
    cases = [lambda m: m.FloatTensor(2.5), lambda m: m.FloatTensor(2, 3.5),
             lambda m: m.FloatTensor(True), lambda m: m.FloatTensor(-1),
             lambda m: m.FloatTensor(m.ones(2, dtype=m.int64)),
             lambda m: m.FloatTensor(2, device="cuda"), lambda m: m.FloatTensor(np.float32(2))]
    for case in cases:
        with pytest.raises(Exception) as te:
            case(torch)
        with pytest.raises(te.type):
            case(gpuarr)


def test_legacy_constructor_shares_a_tensor_and_type_casts():
    src = gpuarr.ones(2)
    same = gpuarr.FloatTensor(src)
    same[0] = 5
    assert src.tolist() == [5.0, 1.0]
    x, tx = gpuarr.tensor([1.5, 2.5]), torch.tensor([1.5, 2.5])
    for arg_g, arg_t in [(gpuarr.LongTensor, torch.LongTensor), ("torch.IntTensor",
                                                                  "torch.IntTensor"),
                         ("gpuarr.DoubleTensor", "torch.DoubleTensor"),
                         (gpuarr.float16, torch.float16)]:
        g, t = x.type(arg_g), tx.type(arg_t)
        assert g.dtype.name == str(t.dtype)[6:] and g.tolist() == t.tolist()
    assert x.type() == "gpuarr.FloatTensor"
