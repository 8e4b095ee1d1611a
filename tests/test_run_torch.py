"""``python -m gpuarr.run_torch``: torch's module names resolve to gpuarr, unmodified PyTorch
programs (tests/programs/) print what they print under real PyTorch, and anything gpuarr lacks
fails where it is first used with an error that names it."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch as real_torch

import gpuarr
from gpuarr import run_torch
from gpuarr.run_torch import MissingTorchAPI, MissingTorchImport, MissingTorchModule

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = Path(__file__).resolve().parent / "programs"
MISSING = "is not available in gpuarr (running under gpuarr.run_torch)"


def run(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python *args`` (the venv's interpreter, this process's environment)."""
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def run_ok(*args: str, cwd: Path = ROOT) -> str:
    p = run(*args, cwd=cwd)
    assert p.returncode == 0, p.stderr
    return p.stdout


def numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+\.\d+", text)]


@pytest.fixture
def torch():
    """``torch`` as a program under gpuarr.run_torch sees it (real torch restored after)."""
    with run_torch.installed():
        import torch as t

        yield t


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
            return False
        raise
    return True


# --------------------------------------------------------------------------------------------
# module names

# torch module -> the gpuarr object its names come from
RESOLVED = {
    "torch": "gpuarr",
    "torch.nn": "gpuarr.nn",
    "torch.nn.functional": "gpuarr.nn.functional",
    "torch.nn.init": "gpuarr.nn.init",
    "torch.nn.modules": "gpuarr.nn",
    "torch.nn.modules.module": "gpuarr.nn.module",
    "torch.nn.modules.linear": "gpuarr.nn.linear",
    "torch.nn.modules.loss": "gpuarr.nn.loss",
    "torch.nn.modules.conv": "gpuarr.nn.conv",
    "torch.nn.modules.batchnorm": "gpuarr.nn.normalization",
    "torch.nn.modules.container": "gpuarr.nn.containers",
    "torch.nn.utils": "gpuarr.nn.utils",
    "torch.optim": "gpuarr.optim",
    "torch.optim.lr_scheduler": "gpuarr.optim.lr_scheduler",
    "torch.utils": "gpuarr.utils",
    "torch.utils.data": "gpuarr.utils.data",
    "torch.utils.data.dataloader": "gpuarr.utils.data.dataloader",
    "torch.utils.data.dataset": "gpuarr.utils.data.dataset",
    "torch.utils.data.sampler": "gpuarr.utils.data.sampler",
    "torch.nn.utils.clip_grad": "gpuarr.nn.utils.clip_grad",
    "torch.utils.tensorboard": "gpuarr.utils.tensorboard",
    "torch.distributions": "gpuarr.distributions",
    "torch.distributions.normal": "gpuarr.distributions.normal",
    "torch.autograd": "gpuarr.autograd",
    "torch.autograd.functional": "gpuarr.autograd.functional",
    "torch.cuda": "gpuarr.cuda",
    "torch.linalg": "gpuarr.linalg",
    "torch.onnx": "gpuarr.onnx",
    "torch.accelerator": "gpuarr.accelerator",
    "torch.serialization": "gpuarr.serialization",
    "torch.backends": "gpuarr._torch_backends",
}

# names whose gpuarr counterpart other parts of gpuarr provide (or not yet): either they map to
# it, or they import as a stub whose every use names the missing API
EITHER = {
    "torch.nn.utils.rnn": "gpuarr.nn.utils.rnn",
    "torch.nn.parallel": "gpuarr.nn.parallel",
    "torch.distributed": "gpuarr.distributed",
    "torch.amp": "gpuarr.amp",
    "torch.testing": "gpuarr.testing",
}


@pytest.mark.parametrize("name", sorted(RESOLVED))
def test_torch_module_resolves_to_gpuarr(torch, name):
    mod = importlib.import_module(name)
    assert mod is sys.modules[name]
    assert isinstance(mod, run_torch._TorchModule), type(mod)
    target = importlib.import_module(RESOLVED[name])
    assert mod._gpuarr_targets[0] is target, (mod, RESOLVED[name])
    public = [n for n in dir(target) if not n.startswith("_")
              and not isinstance(getattr(target, n), type(sys))]
    if public:  # the module's names read through the alias
        assert getattr(mod, public[0]) is getattr(target, public[0])


@pytest.mark.parametrize("name", sorted(EITHER))
def test_torch_module_maps_or_fails_on_first_use(torch, name):
    mod = importlib.import_module(name)
    if _importable(EITHER[name]):
        assert mod._gpuarr_targets[0] is importlib.import_module(EITHER[name])
    else:
        assert mod._gpuarr_targets == ()
        with pytest.raises(MissingTorchAPI, match=re.escape(f"{name}.anything {MISSING}")):
            mod.anything  # noqa: B018


@pytest.mark.parametrize("name", ["torch.backends.cudnn", "torch.backends.cuda",
                                  "torch.backends.mps"])
def test_torch_backends_are_the_flag_namespaces(torch, name):
    mod = importlib.import_module(name)
    leaf = name.rsplit(".", 1)[1]
    assert mod._gpuarr_targets[0] is getattr(gpuarr.backends, leaf)
    assert getattr(torch.backends, leaf) is mod


def test_names_read_through(torch):
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    assert torch.Tensor is gpuarr.Tensor and torch.float32 is gpuarr.float32
    assert nn.Linear is gpuarr.nn.Linear and F.relu is gpuarr.nn.functional.relu
    assert DataLoader is gpuarr.utils.data.DataLoader
    assert torch.nn is nn and torch.nn.functional is F
    assert isinstance(torch.ones(2), torch.Tensor)
    assert torch.__version__.startswith("2.13.0+gpuarr.") and torch.__gpuarr__ is True
    assert torch.version.__version__ == torch.__version__ and torch.version.cuda is None
    assert torch.return_types.cummax is gpuarr.return_types.cummax
    assert "Linear" in dir(nn)


def test_flag_writes_reach_gpuarr(torch):
    old = gpuarr.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = not old
        assert gpuarr.backends.cudnn.benchmark is (not old)
        assert torch.backends.cudnn.benchmark is (not old)
    finally:
        gpuarr.backends.cudnn.benchmark = old


def test_missing_attribute_names_the_api(torch):
    assert not hasattr(torch, "no_such_function")
    assert getattr(torch.nn, "NoSuchLayer", None) is None
    with pytest.raises(MissingTorchAPI) as e:
        torch.sparse.mm(torch.ones(2, 2), torch.ones(2, 2))
    assert str(e.value) == f"torch.sparse.mm {MISSING}"
    assert isinstance(e.value, NotImplementedError) and isinstance(e.value, AttributeError)
    assert e.value.api == "torch.sparse.mm"


def test_missing_from_import_is_an_import_error(torch):
    with pytest.raises(MissingTorchImport) as e:
        from torch.sparse import mm  # noqa: F401
    assert str(e.value) == f"torch.sparse.mm {MISSING}"
    assert isinstance(e.value, ImportError) and isinstance(e.value, NotImplementedError)
    with pytest.raises(ImportError, match=re.escape(f"torch.nn.NoSuchLayer {MISSING}")):
        from torch.nn import NoSuchLayer  # noqa: F401
    from torch.nn import Linear  # present names still import

    assert Linear is gpuarr.nn.Linear


def test_known_torch_module_imports_as_stub(torch):
    import torch.utils.dlpack as dl

    with pytest.raises(MissingTorchAPI, match=re.escape(
            f"torch.utils.dlpack.from_dlpack {MISSING}")):
        dl.from_dlpack(torch.ones(2))


def test_unknown_torch_module_fails_at_import(torch):
    with pytest.raises(MissingTorchModule) as e:
        import torch.no_such_module  # noqa: F401
    assert isinstance(e.value, ModuleNotFoundError)
    assert str(e.value) == f"torch.no_such_module {MISSING}"


def test_missing_tensor_method_names_the_api(torch):
    x = torch.ones(3)
    with pytest.raises(MissingTorchAPI, match=re.escape(f"torch.Tensor.no_such_method {MISSING}")):
        x.no_such_method(1)
    assert not hasattr(x, "no_such_method")
    with pytest.raises(AttributeError) as e:
        x._no_such_private  # noqa: B018
    assert not isinstance(e.value, MissingTorchAPI)


def test_uninstall_restores_real_torch():
    before = sys.modules["torch"]
    assert before is real_torch
    with run_torch.installed():
        import torch as t

        assert t is not real_torch and run_torch.is_installed()
    assert sys.modules["torch"] is real_torch and not run_torch.is_installed()
    assert "__getattr__" not in vars(gpuarr.Tensor)
    assert all(not isinstance(m, run_torch._TorchModule) for n, m in sys.modules.items()
               if n.startswith("torch"))


def test_dtypes_shapes_and_layouts_print_as_torchs_under_the_hook():
    with run_torch.installed():
        import torch as t

        x = t.ones(2, 3, dtype=t.float16)
        shown = [repr(x.dtype), str(x.shape), repr(t.channels_last), repr(t.strided),
                 repr(t.tensor([1, 2], dtype=t.int32))]
    want = [repr(real_torch.float16), str(real_torch.Size([2, 3])),
            repr(real_torch.channels_last), repr(real_torch.strided),
            repr(real_torch.tensor([1, 2], dtype=real_torch.int32))]
    assert shown == want
    # gpuarr's own names again once the hook is gone
    assert repr(gpuarr.float16) == "gpuarr.float16" and str(x.shape) == "gpuarr.Size([2, 3])"


# --------------------------------------------------------------------------------------------
# whole programs, in fresh processes


def test_regression_program_prints_torchs_losses(device):
    prog = str(PROGRAMS / "regression.py")
    want = numbers(run_ok(prog, "--device", "cpu"))
    got = numbers(run_ok("-m", "gpuarr.run_torch", prog, "--device", device))
    assert len(got) == len(want) == 18
    for g, w in zip(got, want):
        assert g == pytest.approx(w, rel=1e-5, abs=1e-7), (got, want)


def _normalise(text: str) -> str:
    """gpuarr's output as torch's on the CPU, whichever device the tutorial picked (dtypes and
    shapes already print as torch's under the hook)."""
    text = text.replace(", device='cuda:0'", "")
    return text.replace("Using cuda device", "Using cpu device")


def test_tensors_tutorial_prints_what_torch_prints():
    prog = str(PROGRAMS / "tensors_tutorial.py")
    want = run_ok(prog)
    got = run_ok("-m", "gpuarr.run_torch", prog)
    assert _normalise(got) == want


def test_run_module_form():
    want = numbers(run_ok("regression.py", "--epochs", "1", "--device", "cpu", cwd=PROGRAMS))
    got = numbers(run_ok("-m", "gpuarr.run_torch", "-m", "regression", "--epochs", "1",
                         "--device", "cpu", cwd=PROGRAMS))
    assert len(got) == 3 and got == pytest.approx(want, rel=1e-5)


def test_program_sees_argv_path_and_main(tmp_path):
    prog = tmp_path / "show.py"
    prog.write_text("import sys, torch\n"
                    "print(repr(sys.argv)); print(sys.path[0]); print(__name__)\n"
                    "print(type(torch.ones(1)).__module__)\n")
    out = run_ok("-m", "gpuarr.run_torch", str(prog), "a", "--b").splitlines()
    assert out == [repr([str(prog), "a", "--b"]), str(tmp_path), "__main__", "gpuarr._tensor"]
    out = run_ok("-m", "gpuarr.run_torch", "-c",
                 "import sys, torch; print(sys.argv, torch.__gpuarr__)", "x").splitlines()
    assert out == ["['-c', 'x'] True"]


def test_missing_api_fails_at_first_use_with_its_name():
    p = run("-m", "gpuarr.run_torch", str(PROGRAMS / "missing_api.py"))
    assert p.returncode == 1
    assert p.stdout == "before 4.0\n"
    assert p.stderr.strip().splitlines()[-1] == (
        f"gpuarr.run_torch.MissingTorchAPI: torch.sparse.mm {MISSING}")
    assert "missing_api.py\", line 8" in p.stderr  # the program's line, not the hook's


def test_spawned_child_gets_gpuarr_too():
    out = run_ok("-m", "gpuarr.run_torch", str(PROGRAMS / "spawn_child.py")).splitlines()
    assert out == ["parent True", "child True gpuarr._tensor 3.0", "exitcode 0"]


def test_usage_without_a_program():
    p = run("-m", "gpuarr.run_torch")
    assert p.returncode == 2 and "usage: python -m gpuarr.run_torch" in p.stderr
    p = run("-m", "gpuarr.run_torch", "-m")
    assert p.returncode == 2 and "Argument expected for the -m option" in p.stderr



def test_newer_torch_modules_map_to_gpuarr(torch):
    import torch.cuda.memory
    import torch.nn.utils.parametrize
    import torch.optim.swa_utils
    import torch.random
    import torch.utils.checkpoint

    import gpuarr

    assert torch.utils.checkpoint.checkpoint is gpuarr.utils.checkpoint.checkpoint
    assert torch.random.fork_rng is gpuarr.random.fork_rng
    assert torch.optim.swa_utils.AveragedModel is gpuarr.optim.swa_utils.AveragedModel
    assert torch.nn.utils.parametrize.register_parametrization is \
        gpuarr.nn.utils.parametrize.register_parametrization
    assert torch.cuda.memory.mem_get_info is gpuarr.cuda.mem_get_info
