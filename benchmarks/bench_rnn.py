"""One training step of an LSTM language model: gpuarr vs PyTorch.

The model is pytorch/examples' word_language_model (medium config): embedding -> 2-layer LSTM
(650 hidden) -> linear decoder, sequence length 35, batch 20, cross-entropy over every position
and a plain SGD update. The example's gradient clipping is left out (it is not part of the
recurrent layers and would blur the comparison), and dropout is 0 so that both libraries compute
the same function (their random streams differ). The hidden state is carried, detached, from
step to step as in the example. Both start from the same weights and tokens; the first losses
are checked to agree before timing.

Run alone: ``python benchmarks/bench_rnn.py [--device cpu|cuda] [--vocab N]``.
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import fmt_time, table

import gpuarr

SEQ, BATCH, HIDDEN, LAYERS, VOCAB = 35, 20, 650, 2, 10000
LR = 0.5


def _init(vocab: int, seed: int = 0):
    """Torch-layout weights (as NumPy float32 arrays, by parameter name) and a token batch."""
    rng = np.random.default_rng(seed)
    w = {"encoder.weight": rng.uniform(-0.1, 0.1, (vocab, HIDDEN))}
    k = 1 / np.sqrt(HIDDEN)
    for layer in range(LAYERS):
        w[f"rnn.weight_ih_l{layer}"] = rng.uniform(-k, k, (4 * HIDDEN, HIDDEN))
        w[f"rnn.weight_hh_l{layer}"] = rng.uniform(-k, k, (4 * HIDDEN, HIDDEN))
        w[f"rnn.bias_ih_l{layer}"] = rng.uniform(-k, k, 4 * HIDDEN)
        w[f"rnn.bias_hh_l{layer}"] = rng.uniform(-k, k, 4 * HIDDEN)
    w["decoder.weight"] = rng.uniform(-0.1, 0.1, (vocab, HIDDEN))
    w["decoder.bias"] = np.zeros(vocab)
    w = {n: a.astype(np.float32) for n, a in w.items()}
    data = rng.integers(0, vocab, (SEQ + 1, BATCH)).astype(np.int64)
    return w, data[:-1], data[1:]


def _gpuarr_step_fn(weights, x, y, device):
    from gpuarr import nn

    class RNNModel(nn.Module):
        def __init__(self, vocab: int) -> None:
            super().__init__()
            self.encoder = nn.Embedding(vocab, HIDDEN)
            self.rnn = nn.LSTM(HIDDEN, HIDDEN, LAYERS)
            self.decoder = nn.Linear(HIDDEN, vocab)

        def forward(self, inp, hidden):
            out, hidden = self.rnn(self.encoder(inp), hidden)
            return self.decoder(out).view(-1, self.decoder.out_features), hidden

    vocab = weights["encoder.weight"].shape[0]
    model = RNNModel(vocab).to(device)
    model.load_state_dict({n: gpuarr.tensor(a, device=device) for n, a in weights.items()})
    loss_fn = nn.CrossEntropyLoss()
    xb = gpuarr.tensor(x, device=device)
    yb = gpuarr.tensor(y, device=device).view(-1)
    zeros = gpuarr.zeros(LAYERS, BATCH, HIDDEN, device=device)
    state = {"hidden": (zeros, zeros)}
    params = list(model.parameters())

    def step():
        model.zero_grad()
        out, hidden = model(xb, state["hidden"])
        state["hidden"] = tuple(h.detach() for h in hidden)
        loss = loss_fn(out, yb)
        loss.backward()
        with gpuarr.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-LR)
        return loss

    def reset():
        state["hidden"] = (zeros, zeros)

    step.reset = reset
    return step


def _torch_step_fn(torch, weights, x, y, device):
    nn = torch.nn

    class RNNModel(nn.Module):
        def __init__(self, vocab: int) -> None:
            super().__init__()
            self.encoder = nn.Embedding(vocab, HIDDEN)
            self.rnn = nn.LSTM(HIDDEN, HIDDEN, LAYERS)
            self.decoder = nn.Linear(HIDDEN, vocab)

        def forward(self, inp, hidden):
            out, hidden = self.rnn(self.encoder(inp), hidden)
            return self.decoder(out).view(-1, self.decoder.out_features), hidden

    vocab = weights["encoder.weight"].shape[0]
    model = RNNModel(vocab).to(device)
    model.load_state_dict({n: torch.from_numpy(a) for n, a in weights.items()})
    loss_fn = nn.CrossEntropyLoss()
    xb = torch.from_numpy(x).to(device)
    yb = torch.from_numpy(y).to(device).view(-1)
    zeros = torch.zeros(LAYERS, BATCH, HIDDEN, device=device)
    state = {"hidden": (zeros, zeros)}
    params = list(model.parameters())

    def step():
        model.zero_grad()
        out, hidden = model(xb, state["hidden"])
        state["hidden"] = tuple(h.detach() for h in hidden)
        loss = loss_fn(out, yb)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-LR)
        return loss

    def reset():
        state["hidden"] = (zeros, zeros)

    step.reset = reset
    return step


def section(device: str, vocab: int | None = None) -> str:
    """Benchmark one LSTM language-model training step on ``device``; returns Markdown."""
    from bench_training import _single_threaded

    try:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None
    if device == "cuda":
        return _section(device, vocab, torch, "")
    ctx, threads = _single_threaded(torch)
    with ctx:
        return _section(device, vocab, torch, threads)


def _section(device: str, vocab: int | None, torch, threads: str) -> str:
    from bench_training import _interleaved

    vocab = vocab or VOCAB
    weights, x, y = _init(vocab)
    sync = tsync = None
    if device == "cuda":
        import cupy

        def sync():
            cupy.cuda.Device().synchronize()

        tsync = torch.cuda.synchronize if torch else None
    g_step = _gpuarr_step_fn(weights, x, y, device)
    losses = {"gpuarr": float(g_step().item())}
    g_step.reset()
    fns = {"gpuarr": (g_step, sync)}
    if torch:
        t_step = _torch_step_fn(torch, weights, x, y, device)
        losses["PyTorch"] = float(t_step().item())
        t_step.reset()
        fns["PyTorch"] = (t_step, tsync)
    ref = losses.get("PyTorch", losses["gpuarr"])
    agree = all(abs(v - ref) <= 1e-4 * max(1.0, abs(ref)) for v in losses.values())
    times = _interleaved(fns, rounds=5, round_time=1.0)
    rows = [[name, fmt_time(t), f"{times['gpuarr'] / t:.2f}"] for name, t in times.items()]
    return "\n".join([
        f"## Training step: LSTM language model ({device})",
        "",
        f"pytorch/examples word_language_model: embedding ({vocab} tokens) -> {LAYERS}-layer "
        f"LSTM ({HIDDEN} hidden) -> linear decoder, sequence {SEQ}, batch {BATCH}, float32; one "
        "step = forward, cross-entropy, backward, SGD (no dropout, no clipping). Time is the "
        "best of 5 rounds in which the implementations take turns. Same weights and tokens; "
        "first losses "
        + ("agree" if agree else "DISAGREE")
        + f" ({', '.join(f'{k} {v:.6f}' for k, v in losses.items())})."
        + (f" Threads: {threads}." if threads else ""),
        "",
        table(["implementation", "time / step", "gpuarr / this (time)"], rows),
        "",
    ])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--vocab", type=int, default=None)
    args = ap.parse_args()
    print(section(args.device, args.vocab))
