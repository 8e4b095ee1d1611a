"""Models, data and step functions shared by ``tests/test_compile.py`` (import as
``from compile_models import ...``, as the other test helpers are).

Everything here is plain eager gpuarr: the tests build two copies of a model with the same
initial weights, train one eagerly and one through ``gpuarr.compile``, and compare.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import gpuarr
from gpuarr import nn

BATCH = 8
N_CLASSES = 5


def snap(t) -> np.ndarray:
    """A host NumPy *copy* of tensor ``t`` (any device), taken now.

    A copy, not a view: a replayed program may reuse its output buffers on the next call, so
    the tests read every returned value before calling the compiled function again.
    """
    return np.array(t.detach().cpu().numpy(), copy=True)


def assert_same(actual, expected, device: str, what: str = "") -> None:
    """Compiled against eager: bit-identical on the CPU (same ops in the same order); on CUDA
    within 1e-6 of eager relative to each element and to the array's largest magnitude (fused
    kernels, and the GEMM kernel of the CUDA-graph modes, round differently from the eager
    kernels and cuBLAS: a sum that cancels keeps their absolute, not relative, agreement)."""
    a = actual if isinstance(actual, np.ndarray) else snap(actual)
    e = expected if isinstance(expected, np.ndarray) else snap(expected)
    if device == "cpu":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        scale = float(np.abs(e).max()) if e.size and np.isfinite(e).all() else 0.0
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=max(1e-7, 1e-6 * scale), err_msg=what)


def assert_same_params(compiled_model: nn.Module, eager_model: nn.Module, device: str) -> None:
    """Every parameter and buffer (state_dict entry) of the two models agrees."""
    c_sd, e_sd = compiled_model.state_dict(), eager_model.state_dict()
    assert list(c_sd) == list(e_sd)
    for name in e_sd:
        assert_same(c_sd[name], e_sd[name], device, what=name)


# --- models ---------------------------------------------------------------------------------

def mlp() -> nn.Module:
    """16 -> 32 -> 32 -> 5 with ReLUs."""
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, N_CLASSES))


def cnn() -> nn.Module:
    """Two Conv2d/ReLU/MaxPool2d stages on 1x8x8 images, then a Linear classifier."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 2 * 2, N_CLASSES))


class LSTMClassifier(nn.Module):
    """nn.LSTM over (N, T=6, 8) sequences; a Linear head on the last time step."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, N_CLASSES)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class AttentionBlock(nn.Module):
    """A post-norm transformer block (nn.MultiheadAttention, LayerNorm, GELU feed-forward)
    over (N, T=6, 16) tokens, mean-pooled into a Linear head."""

    def __init__(self, d: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln1 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 32), nn.GELU(), nn.Linear(32, d))
        self.ln2 = nn.LayerNorm(d)
        self.head = nn.Linear(d, N_CLASSES)

    def forward(self, x):
        a, _ = self.attn(x, x, x, need_weights=False)
        h = self.ln1(x + a)
        h = self.ln2(h + self.ff(h))
        return self.head(h.mean(1))


def mlp_with_dropout() -> nn.Module:
    """The MLP with nn.Dropout(0.3) after each hidden ReLU (random in training mode)."""
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(32, N_CLASSES))


def mlp_with_batchnorm_dropout() -> nn.Module:
    """Linear, BatchNorm1d, ReLU, Dropout, Linear: both the BatchNorm (batch vs running
    statistics, running-stat updates) and the Dropout depend on the training flag."""
    return nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(32, N_CLASSES))


@dataclass(frozen=True)
class Case:
    """One training set-up: a model builder, the shape of one input sample, an optimizer."""

    build: Callable[[], nn.Module]
    x_shape: tuple
    make_opt: Callable


CASES = {
    "mlp_sgd_momentum": Case(mlp, (16,),
                             lambda ps: gpuarr.optim.SGD(ps, lr=0.1, momentum=0.9)),
    "cnn_adam": Case(cnn, (1, 8, 8), lambda ps: gpuarr.optim.Adam(ps, lr=1e-2)),
    "lstm_sgd": Case(LSTMClassifier, (6, 8), lambda ps: gpuarr.optim.SGD(ps, lr=0.1)),
    "attention_adamw": Case(AttentionBlock, (6, 16),
                            lambda ps: gpuarr.optim.AdamW(ps, lr=1e-2, weight_decay=0.01)),
}


def twin_models(build: Callable[[], nn.Module], device: str, seed: int = 1234):
    """Two models built from the same seed (identical initial weights) on ``device``: the
    first for the compiled run, the second for the eager reference."""
    models = []
    for _ in range(2):
        gpuarr.manual_seed(seed)
        models.append(build().to(device))
    assert_same_params(models[0], models[1], "cpu")  # same init, bit for bit
    return models


def batches(n: int, x_shape: tuple, device: str, batch: int = BATCH, seed: int = 0):
    """``n`` different (x, y) batches: float32 inputs of shape (batch, *x_shape) and int64
    class labels, on ``device``; the labels depend on x so that training makes progress."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((int(np.prod(x_shape)), N_CLASSES)).astype(np.float32)
    out = []
    for _ in range(n):
        x = rng.standard_normal((batch, *x_shape)).astype(np.float32)
        y = (x.reshape(batch, -1) @ w).argmax(1).astype(np.int64)
        out.append((gpuarr.tensor(x, device=device), gpuarr.tensor(y, device=device)))
    return out


def make_train_step(model: nn.Module, opt, loss_fn=None) -> Callable:
    """The canonical step: zero_grad, forward, loss, backward, optimizer step; returns the
    loss."""
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def run_steps(step: Callable, data) -> list:
    """Call ``step(x, y)`` on each batch, snapshotting each returned loss at once."""
    return [snap(step(x, y)) for x, y in data]


@contextlib.contextmanager
def recorded_warnings():
    """Record every warning raised inside the block, duplicates included (filter "always"),
    so that "exactly one warning over several calls" is the compiler's doing, not the
    warnings registry's."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        yield rec


def compile_warnings(rec) -> list[str]:
    """The messages of the UserWarnings in ``rec`` that come from gpuarr.compile."""
    return [str(w.message) for w in rec
            if issubclass(w.category, UserWarning) and "gpuarr.compile" in str(w.message)]
