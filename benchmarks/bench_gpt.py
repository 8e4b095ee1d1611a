"""One training step of a small GPT (nanoGPT's shakespeare-char model): gpuarr vs PyTorch.

The model is nanoGPT's: token + position embeddings, 6 pre-LayerNorm blocks (causal
self-attention through ``scaled_dot_product_attention``, GELU MLP), a final LayerNorm and a
head tied to the token embedding; n_layer=6, n_head=6, n_embd=384, block_size=256, dropout 0.2,
no biases, vocab 65. A step is forward, cross-entropy, backward and AdamW (nanoGPT's settings:
lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on the matrices only). The same class
definition builds both models (gpuarr mirrors torch's API), gpuarr's gets torch's initial
weights through ``load_state_dict``, and the eval-mode losses are checked to agree before the
training steps (with dropout, whose random draws differ) are timed.

nanoGPT trains with batch 64 on a GPU; on the CPU this uses a batch of 4 sequences (1024
tokens per step), or 64 on CUDA.
"""

from __future__ import annotations

import time

import numpy as np
from _timing import fmt_time, table

import gpuarr
import gpuarr.optim

N_LAYER, N_HEAD, N_EMBD, BLOCK, VOCAB, DROPOUT = 6, 6, 384, 256, 65, 0.2
LR, BETAS, WD = 1e-3, (0.9, 0.99), 0.1


def make_gpt(lib):
    """nanoGPT's GPT class written against ``lib`` (``torch`` or ``gpuarr``)."""
    nn, F = lib.nn, lib.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = nn.Linear(N_EMBD, 3 * N_EMBD, bias=False)
            self.c_proj = nn.Linear(N_EMBD, N_EMBD, bias=False)
            self.resid_dropout = nn.Dropout(DROPOUT)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(x).split(N_EMBD, dim=2)
            hs = C // N_HEAD
            k = k.view(B, T, N_HEAD, hs).transpose(1, 2)
            q = q.view(B, T, N_HEAD, hs).transpose(1, 2)
            v = v.view(B, T, N_HEAD, hs).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                               dropout_p=DROPOUT if self.training else 0.0,
                                               is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_fc = nn.Linear(N_EMBD, 4 * N_EMBD, bias=False)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * N_EMBD, N_EMBD, bias=False)
            self.dropout = nn.Dropout(DROPOUT)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(N_EMBD, bias=False)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(N_EMBD, bias=False)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, N_EMBD)
            self.wpe = nn.Embedding(BLOCK, N_EMBD)
            self.drop = nn.Dropout(DROPOUT)
            self.h = nn.ModuleList([Block() for _ in range(N_LAYER)])
            self.ln_f = nn.LayerNorm(N_EMBD, bias=False)

        def forward(self, idx, targets):
            t = idx.shape[1]
            pos = lib.arange(0, t, dtype=lib.long, device=idx.device)
            x = self.drop(self.wte(idx) + self.wpe(pos))
            for block in self.h:
                x = block(x)
            logits = F.linear(self.ln_f(x), self.wte.weight)  # the tied head
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    return GPT


def _optimizer(lib, model):
    """AdamW as nanoGPT configures it: weight decay on the matrices only."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": WD},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return lib.optim.AdamW(groups, lr=LR, betas=BETAS)


def _init(torch, device: str):
    """torch's model with nanoGPT's initialisation: N(0, 0.02), residual projections scaled
    by 1/sqrt(2 * n_layer)."""
    torch.manual_seed(0)
    model = make_gpt(torch)()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("c_proj.weight"):
                p.normal_(0.0, 0.02 / (2 * N_LAYER) ** 0.5)
            elif p.dim() == 2:
                p.normal_(0.0, 0.02)
    return model.to(device)


def _step_fn(lib, model, idx, tgt):
    opt = _optimizer(lib, model)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(idx, tgt)
        loss.backward()
        opt.step()
        return loss

    return step


def _interleaved(fns: dict, rounds: int) -> dict:
    """Seconds per step of each ``fn`` (``name -> (fn, sync)``): one warm-up step each, then
    ``rounds`` rounds in which the implementations take turns; each keeps its fastest step,
    so that load from other processes affects both alike."""
    for fn, sync in fns.values():
        fn()
        if sync:
            sync()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, (fn, sync) in fns.items():
            t0 = time.perf_counter()
            fn()
            if sync:
                sync()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def measure(device: str = "cpu", batch: int | None = None, rounds: int = 5) -> dict:
    """Run the comparison; returns a dict with the times, losses and settings."""
    import torch

    if batch is None:
        batch = 64 if device == "cuda" else 4
    rng = np.random.default_rng(0)
    data = rng.integers(0, VOCAB, (batch, BLOCK + 1)).astype(np.int64)
    tmodel = _init(torch, device)
    gmodel = make_gpt(gpuarr)().to(device)
    sd = {k: gpuarr.tensor(v.detach().cpu().numpy(), device=device)
          for k, v in tmodel.state_dict().items()}
    res = gmodel.load_state_dict(sd)
    assert not res.missing_keys and not res.unexpected_keys, res
    x, y = np.ascontiguousarray(data[:, :-1]), np.ascontiguousarray(data[:, 1:])
    t_idx, t_tgt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    g_idx, g_tgt = gpuarr.tensor(x, device=device), gpuarr.tensor(y, device=device)

    # the same function: eval-mode losses (no dropout) agree
    tmodel.eval()
    gmodel.eval()
    with torch.no_grad():
        t_loss = float(tmodel(t_idx, t_tgt))
    with gpuarr.no_grad():
        g_loss = float(gmodel(g_idx, g_tgt))
    tmodel.train()
    gmodel.train()

    sync = gpuarr.cuda.synchronize if device == "cuda" else None
    tsync = torch.cuda.synchronize if device == "cuda" else None
    fns = {"gpuarr": (_step_fn(gpuarr, gmodel, g_idx, g_tgt), sync),
           "PyTorch": (_step_fn(torch, tmodel, t_idx, t_tgt), tsync)}
    times = _interleaved(fns, rounds)
    n_params = sum(p.numel() for p in tmodel.parameters())
    return {"times": times, "losses": (g_loss, t_loss), "batch": batch, "params": n_params}


def section(device: str) -> str:
    """Benchmark the GPT training step on ``device``; returns Markdown."""
    try:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            return f"## GPT training step ({device})\n\nskipped: PyTorch has no CUDA here.\n"
    except ImportError:
        return f"## GPT training step ({device})\n\nskipped: PyTorch is not installed.\n"
    r = measure(device)
    tg, tt = r["times"]["gpuarr"], r["times"]["PyTorch"]
    g_loss, t_loss = r["losses"]
    agree = abs(g_loss - t_loss) <= 1e-4 * max(1.0, abs(t_loss))
    rows = [["gpuarr", fmt_time(tg), f"{tg / tt:.2f}", "<= 1.2"],
            ["PyTorch", fmt_time(tt), "1.00", ""]]
    headers = ["implementation", "time / step", "gpuarr / PyTorch (time)", "target"]
    note = (
        f"nanoGPT shakespeare-char model ({r['params'] / 1e6:.2f}M parameters: {N_LAYER} "
        f"pre-LN blocks, {N_HEAD} heads, n_embd {N_EMBD}, block size {BLOCK}, dropout "
        f"{DROPOUT}, causal `scaled_dot_product_attention`, GELU MLP, tied head), batch "
        f"{r['batch']} x {BLOCK} tokens (nanoGPT uses 64; {r['batch']} keeps a CPU step "
        "around a second), float32. One step = forward, cross-entropy, backward, AdamW "
        "(lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on matrices). Both models start from "
        "torch's initial weights; their eval-mode losses "
        + ("agree" if agree else "DISAGREE")
        + f" (gpuarr {g_loss:.6f}, PyTorch {t_loss:.6f}). Times are the fastest of 5 training "
        "steps (dropout on) taken in turns."
    )
    return f"## GPT training step ({device})\n\n{note}\n\n{table(headers, rows)}\n"


if __name__ == "__main__":
    import sys

    dev = sys.argv[1] if len(sys.argv) > 1 else "cpu"
    try:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(1)
        threadpool_limits(1)
    except ImportError:
        pass
    print(section(dev))
