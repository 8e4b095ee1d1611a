"""Programs written for PyTorch as its tutorials and well-known example repositories teach
(tests/programs/: the autograd and quickstart tutorials, the 60-minute blitz LeNet / CIFAR
classifier, the TensorBoard recipe, a nanoGPT-style GPT, makemore's bigram and MLP models) run
unmodified under real PyTorch and under ``python -m gpuarr.run_torch``, and print the same.

Each program draws its data and initial weights from NumPy, so both libraries compute the same
thing; what they print is compared after a few normalisations (``torch.`` for ``gpuarr.``, no
``device='cuda:0'``, no object addresses). Numbers must agree within ``REL`` (float32 sums
taken in another order differ in the last bits, and a few training steps carry that along) or
to the last printed digit. Lines that follow a library's own random numbers (multinomial
samples) are checked for validity instead, as each test says.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = Path(__file__).resolve().parent / "programs"
REL = 2e-5
_FLOAT = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def _run(args: list[str], cwd: Path) -> str:
    """``python *args`` in ``cwd`` (a fresh directory for the files the program writes), with
    this process's environment; PYTHONPATH entries made absolute so they hold there too."""
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    p = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, f"{' '.join(args)} failed:\n{p.stderr[-4000:]}"
    return p.stdout


_TORCH_OUTPUT: dict[tuple, str] = {}


@pytest.fixture(scope="module")
def torch_output(tmp_path_factory):
    """What a program prints under real PyTorch on the CPU (run once per module)."""

    def get(prog: str, *args: str) -> str:
        key = (prog, *args)
        if key not in _TORCH_OUTPUT:
            cwd = tmp_path_factory.mktemp("torch_" + prog)
            _TORCH_OUTPUT[key] = _run([str(PROGRAMS / f"{prog}.py"), *args], cwd)
        return _TORCH_OUTPUT[key]

    return get


def gpuarr_output(prog: str, cwd: Path, *args: str) -> str:
    """What a program prints under ``python -m gpuarr.run_torch``."""
    return _run(["-m", "gpuarr.run_torch", str(PROGRAMS / f"{prog}.py"), *args], cwd)


def normalise(text: str) -> str:
    """Both outputs in torch's words and on one device: gpuarr's type names read torch's,
    the device the gpuarr run used reads 'cpu', object addresses are dropped."""
    text = text.replace("gpuarr.", "torch.").replace(", device='cuda:0'", "")
    # torch puts a tensor's suffix on its own line when device='cuda:0' made it too long
    text = re.sub(r",\n +(grad_fn|dtype|requires_grad)=", r", \1=", text)
    text = re.sub(r" at 0x[0-9a-f]+>", ">", text)
    return re.sub(r"\bcuda(:0)?\b", "cpu", text)


def split_numbers(text: str) -> tuple[str, list[str]]:
    """The text with every decimal number replaced by '#', and those numbers."""
    return _FLOAT.sub("#", text), _FLOAT.findall(text)


def assert_same_output(got: str, want: str, rel: float = REL, drop: str | None = None) -> None:
    """Same text; decimals within ``rel`` or one unit of their last printed digit.

    ``drop``: a regex; matching parts of lines (e.g. timings) are removed from both first."""
    got, want = normalise(got), normalise(want)
    if drop is not None:
        got, want = re.sub(drop, "", got), re.sub(drop, "", want)
    got_text, got_nums = split_numbers(got)
    want_text, want_nums = split_numbers(want)
    assert got_text.splitlines() == want_text.splitlines()
    bad = []
    for g, w in zip(got_nums, want_nums):
        ulp = 10.0 ** -len(w.split(".")[1].split("e")[0])
        if "e" in w:
            ulp *= 10.0 ** int(w.split("e")[1])
        if abs(float(g) - float(w)) > max(rel * abs(float(w)), 1.01 * ulp):
            bad.append((g, w))
    assert not bad, f"{len(bad)} of {len(want_nums)} numbers differ (got, want): {bad[:10]}"


def lines_starting(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def without_lines(text: str, prefix: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(prefix))


# --------------------------------------------------------------------------------------------


def test_autograd_tutorial(device, tmp_path, torch_output):
    """grad_fn names and the next_functions walk, .grad after backward / backward(gradient=v)
    and its accumulation, no_grad / detach / requires_grad_, frozen parameters,
    autograd.grad with create_graph and functional.jacobian: all printed, all equal."""
    want = torch_output("autograd_tutorial", "--device", "cpu")
    got = gpuarr_output("autograd_tutorial", tmp_path, "--device", device)
    assert "MseLossBackward0 -> AddmmBackward0 -> torch::autograd::AccumulateGrad" in want
    assert_same_output(got, want)


def test_quickstart(device, tmp_path, torch_output):
    """Dataset / DataLoader / Flatten + Sequential / CrossEntropyLoss / SGD: the same losses,
    test accuracy and average loss every epoch; the state_dict saved with torch.save and
    loaded with torch.load(weights_only=True) predicts the same classes."""
    want = torch_output("quickstart", "--device", "cpu")
    got = gpuarr_output("quickstart", tmp_path, "--device", device)
    assert (tmp_path / "model.pth").is_file()
    assert len(lines_starting(want, "loss:")) == 9 and "Accuracy: 100.0%" in want
    assert_same_output(got, want)


def test_blitz_cnn(device, tmp_path, torch_output):
    """LeNet (print, parameters, backward with a given gradient, MSELoss, hand-written and
    optim.SGD updates) and the CIFAR-style classifier trained through a two-worker DataLoader:
    the same outputs, running losses, predictions and per-class accuracies."""
    want = torch_output("blitz_cnn", "--device", "cpu")
    got = gpuarr_output("blitz_cnn", tmp_path, "--device", device)
    assert (tmp_path / "cifar_net.pth").is_file()
    assert len(lines_starting(want, "[")) == 16
    assert_same_output(got, want)


def test_tensorboard_recipe(device, tmp_path, torch_output):
    """add_scalar (given the loss tensor) / flush / close; TensorBoard's EventAccumulator reads
    back the same steps and values from gpuarr's event file as from torch's."""
    want = torch_output("tensorboard_recipe", "--device", "cpu")
    got = gpuarr_output("tensorboard_recipe", tmp_path, "--device", device)
    assert "Loss/train [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in got
    assert_same_output(got, want)


def test_makemore(device, tmp_path, torch_output):
    """Bigram counts in an int32 matrix, keepdims normalisation and the NLL, the one-hot
    bigram net trained by hand, the embedding MLP with F.cross_entropy: all printed numbers
    equal. Names drawn with multinomial(generator=g) follow each library's generator, so for
    those (lines starting 'sample') only their alphabet is checked, and that a reseeded
    generator repeats its draws ('reseeded generator repeats: True', compared as text)."""
    want = torch_output("makemore", "--device", "cpu")
    got = gpuarr_output("makemore", tmp_path, "--device", device)
    for line in lines_starting(got, "sample"):
        names = line.split(": ", 1)[1].split(" ")  # a name may be empty
        assert len(names) == 5 and all(re.fullmatch("[a-z]*", n) for n in names), line
    assert "reseeded generator repeats: True" in got
    assert len(lines_starting(want, "bigram net step")) == 10
    assert_same_output(without_lines(got, "sample"), without_lines(want, "sample"))


# nanoGPT's log lines carry the wall time and MFU; everything else is compared
_TIMING = r", time [\d.]+ms, mfu -?[\d.]+%"


def _check_nanogpt_sample(got: str) -> None:
    """The top-k sample follows the library's own generator: check its form only (the
    prompt, 24 new characters, all from the program's text)."""
    source = (PROGRAMS / "nanogpt.py").read_text()
    vocabulary = set(re.search(r'TEXT = """\\\n(.*?)"""', source, re.S).group(1))
    (line,) = lines_starting(got, "sample:")
    text = ast.literal_eval(line.split(":", 1)[1].strip())
    assert text.startswith("The keeper") and len(text) == len("The keeper") + 24
    assert set(text) <= vocabulary, set(text) - vocabulary


def test_nanogpt(device, tmp_path, torch_output):
    """The tiny GPT in float32: the same evaluation losses, training losses, gradient norms
    and learning rates every iteration, the checkpoint reloaded into a fresh model and
    optimizer, and the same greedy (top_k=1) text. Needs torch.amp.autocast (on CUDA) and
    torch.cuda.amp.GradScaler."""
    want = torch_output("nanogpt", "--device=cpu", "--dtype=float32")
    got = gpuarr_output("nanogpt", tmp_path, f"--device={device}", "--dtype=float32")
    assert len(lines_starting(want, "iter ")) == 13 and len(lines_starting(want, "step ")) == 4
    _check_nanogpt_sample(got)
    assert_same_output(without_lines(got, "sample:"), without_lines(want, "sample:"),
                       drop=_TIMING)


def test_nanogpt_compiled(device, tmp_path, torch_output):
    """With --compile=True, gpuarr's torch.compile (the model's forward: in training it needs
    autograd afterwards, so it runs eagerly with a warning; under no_grad, in estimate_loss
    and generation, it replays) gives the eager numbers: compared with PyTorch's eager run."""
    want = torch_output("nanogpt", "--device=cpu", "--dtype=float32")
    got = gpuarr_output("nanogpt", tmp_path, f"--device={device}", "--dtype=float32",
                        "--compile=True")
    got = "\n".join(line for line in got.splitlines()
                    if line not in ("overriding compile = True", "compiling the model..."))
    assert_same_output(without_lines(got, "sample:"), without_lines(want, "sample:"),
                       drop=_TIMING)


def test_nanogpt_mixed_precision(device, tmp_path, torch_output):
    """nanoGPT's default dtype: bfloat16 (float16 without bf16 support) under autocast on
    CUDA, with a GradScaler enabled for float16; on the CPU the context is a nullcontext and
    the scaler disables itself without CUDA, so the float32 numbers come out. Low-precision
    losses follow the float32 curve only loosely (5%)."""
    want = torch_output("nanogpt", "--device=cpu", "--dtype=float32")
    got = gpuarr_output("nanogpt", tmp_path, f"--device={device}")
    _check_nanogpt_sample(got)
    if device == "cpu":
        want = without_lines(without_lines(want, "sample:"), "overriding dtype")
        assert_same_output(without_lines(got, "sample:"), want, drop=_TIMING)
        return
    losses = [float(v) for v in re.findall(r"^iter \d+: loss ([\d.]+)", got, re.M)]
    ref = [float(v) for v in re.findall(r"^iter \d+: loss ([\d.]+)", want, re.M)]
    assert len(losses) == len(ref) == 13
    assert losses == pytest.approx(ref, rel=5e-2)
    assert losses[-1] < losses[0] - 0.3


# --------------------------------------------------------------------------------------------
# the gaps these programs found, checked directly against torch


def test_reductions_take_numpys_keepdims_as_torch_does(device):
    import torch

    import gpuarr

    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    g, t = gpuarr.tensor(x, device=device), torch.tensor(x)
    assert g.sum(1, keepdims=True).shape == tuple(t.sum(1, keepdims=True).shape) == (2, 1)
    assert gpuarr.sum(g, 0, keepdims=True).shape == (1, 3)
    np.testing.assert_allclose(g.mean(1, keepdims=True).cpu().numpy(),
                               t.mean(1, keepdims=True).numpy())
    assert g.sum(1, keepdims=False).shape == (2,)


def test_zero_dim_tensors_format_as_numbers_like_torch(device):
    import torch

    import gpuarr

    def show(lib, dev):
        a = lib.tensor(2.5, device=dev)
        w = lib.tensor(1.25, device=dev, requires_grad=True)
        return (f"{a}|{lib.tensor(3, device=dev)}|{a:.3f}|{w * 2}|{lib.tensor(True, device=dev)}"
                f"|{lib.tensor([1.0, 2.0], device=dev).sum()}|{lib.nn.Parameter(lib.tensor(1.5))}")

    assert show(gpuarr, device) == show(torch, "cpu") == (
        "2.5|3|2.500|2.5|True|3.0|Parameter containing:\ntensor(1.5000, requires_grad=True)")


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_takes_torchs_fused_capturable_differentiable(name, device):
    import torch

    import gpuarr

    assert "fused" in inspect.signature(getattr(gpuarr.optim, name)).parameters

    def groups(lib, dev, **kw):
        p = lib.nn.Parameter(lib.ones(3, device=dev))
        opt = getattr(lib.optim, name)([p], lr=0.1, **kw)
        p.grad = lib.full((3,), 0.5, device=dev)
        opt.step()
        sd = opt.state_dict()
        return sd["param_groups"], sd["state"][0]["step"].device.type, p.detach().cpu().tolist()

    for kw in ({}, {"fused": True}, {"capturable": False, "foreach": None}):
        g_groups, g_step_dev, g_p = groups(gpuarr, device, **kw)
        t_groups, _, t_p = groups(torch, "cpu", **kw)
        assert g_groups == t_groups
        assert g_p == pytest.approx(t_p, rel=1e-6)
        assert g_step_dev == (device if kw.get("fused") else "cpu")
    p = gpuarr.nn.Parameter(gpuarr.ones(2))
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        getattr(gpuarr.optim, name)([p], fused=True, foreach=True)


def test_mse_loss_with_an_integer_target_is_one_node(device):
    import torch

    import gpuarr

    def run(lib, dev):
        x = lib.tensor([[0.5, 1.0, 4.0]], device=dev, requires_grad=True)
        loss = lib.nn.MSELoss()(x, lib.arange(1, 4, device=dev).view(1, -1))
        loss.backward()
        return loss.grad_fn.name(), loss.item(), x.grad.cpu().tolist()

    assert run(gpuarr, device) == run(torch, "cpu")


def test_graph_walk_ends_at_accumulate_grad(device):
    import gpuarr

    w = gpuarr.ones(2, device=device, requires_grad=True)
    fn = (w * 3).sum().grad_fn
    names = []
    while fn is not None:
        names.append(fn.name())
        fn = fn.next_functions[0][0] if fn.next_functions else None
    assert names == ["SumBackward0", "MulBackward0", "torch::autograd::AccumulateGrad"]


def test_pin_memory_needs_an_accelerator_as_in_torch(device):
    import gpuarr

    x = gpuarr.arange(6).view(2, 3)
    if not gpuarr.cuda.is_available():
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is "
                                               "available."):
            x.pin_memory()
        return
    pinned = x.pin_memory()
    assert pinned is not x and pinned.device.type == "cpu" and pinned.tolist() == x.tolist()
    assert pinned.to(device, non_blocking=True).cpu().tolist() == x.tolist()
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        x.to("cuda").pin_memory()
