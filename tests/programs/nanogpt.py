"""A character-level GPT trained the way nanoGPT's train.py trains one, then sampled the way
its sample.py samples, at a tiny size (2 layers, 2 heads, n_embd 32, block 16).

The habits kept: globals overridden by ``--key=value`` arguments, the text encoded once into
``train.bin`` / ``val.bin`` (uint16) plus ``meta.pkl`` and read back through ``np.memmap``,
``get_batch`` with ``pin_memory().to(device, non_blocking=True)`` on CUDA, the ``nullcontext``
/ ``torch.amp.autocast`` context, ``torch.cuda.amp.GradScaler(enabled=dtype == 'float16')``,
gradient accumulation, ``clip_grad_norm_``, a warmup + cosine learning rate written into the
param groups, ``estimate_loss`` under ``@torch.no_grad()``, checkpoints with the optimizer
state, the optional ``torch.compile``, and generation with top-k + ``torch.multinomial``.

Differences from nanoGPT, for comparing runs under PyTorch and gpuarr: batch positions come
from a seeded NumPy generator, the initial weights are NumPy draws following nanoGPT's init
scheme, and dropout is 0. ``top_k=1`` generation is greedy and so deterministic; the
``sample:`` line follows each library's own random numbers.
"""

import math
import os
import pickle
import sys
import time
from ast import literal_eval
from contextlib import nullcontext

import numpy as np
import torch
from nanogpt_model import GPT, GPTConfig

# -----------------------------------------------------------------------------
# default config values
out_dir = 'out-tiny'
eval_interval = 4
log_interval = 1
eval_iters = 3
always_save_checkpoint = False
dataset = 'tiny_text'
gradient_accumulation_steps = 2
batch_size = 4
block_size = 16
n_layer = 2
n_head = 2
n_embd = 32
dropout = 0.0
bias = True
learning_rate = 5e-3
max_iters = 12
weight_decay = 1e-1
beta1 = 0.9
beta2 = 0.99
grad_clip = 1.0
decay_lr = True
warmup_iters = 3
lr_decay_iters = 12
min_lr = 5e-4
device = 'cuda' if torch.cuda.is_available() else 'cpu'
dtype = 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else 'float16'
compile = False
seed = 1337
# -----------------------------------------------------------------------------
config_keys = [k for k, v in globals().items()
               if not k.startswith('_') and isinstance(v, (int, float, bool, str))]
for arg in sys.argv[1:]:  # a small configurator: --key=value overrides a global
    assert arg.startswith('--') and '=' in arg, arg
    key, val = arg[2:].split('=', 1)
    assert key in globals(), f"unknown config key {key}"
    try:
        attempt = literal_eval(val)
    except (SyntaxError, ValueError):
        attempt = val
    assert type(attempt) is type(globals()[key]), f"{key}: {attempt!r}"
    print(f"overriding {key} = {attempt}")
    globals()[key] = attempt
config = {k: globals()[k] for k in config_keys}
# -----------------------------------------------------------------------------

ddp = int(os.environ.get('RANK', -1)) != -1
assert not ddp, "this example runs in one process"
master_process = True
tokens_per_iter = gradient_accumulation_steps * batch_size * block_size
print(f"tokens per iteration will be: {tokens_per_iter:,}")
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(seed)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
device_type = 'cuda' if 'cuda' in device else 'cpu'
ptdtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype]
ctx = nullcontext() if device_type == 'cpu' else torch.amp.autocast(device_type=device_type,
                                                                     dtype=ptdtype)

# --- prepare: encode the text once, as data/<dataset>/prepare.py does ----------------------------
TEXT = """\
The lighthouse keeper wrote the weather into a ledger every evening. Wind from the west,
a long swell, rain before midnight. Ships passed far out and did not stop; their lights
slid along the horizon like beads on a wire. In winter the lamp burned fourteen hours, and
the keeper climbed the stairs with oil and a rag, counting the steps out loud so that he
would not lose his place. One hundred and twelve steps up, one hundred and twelve down.
On clear nights he could see the next light along the coast, and he liked to think that
its keeper was counting too. In spring the gulls came back and argued on the gallery rail.
The supply boat came every second Thursday with flour, tea, paraffin, letters and news.
He read the letters slowly and the news quickly, and then went back to the weather.
"""
data_dir = os.path.join(out_dir, 'data', dataset)
if not os.path.exists(os.path.join(data_dir, 'meta.pkl')):
    os.makedirs(data_dir, exist_ok=True)
    chars = sorted(list(set(TEXT)))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}
    n = len(TEXT)
    train_ids = np.array([stoi[c] for c in TEXT[:int(n * 0.9)]], dtype=np.uint16)
    val_ids = np.array([stoi[c] for c in TEXT[int(n * 0.9):]], dtype=np.uint16)
    print(f"train has {len(train_ids):,} tokens, val has {len(val_ids):,} tokens")
    train_ids.tofile(os.path.join(data_dir, 'train.bin'))
    val_ids.tofile(os.path.join(data_dir, 'val.bin'))
    with open(os.path.join(data_dir, 'meta.pkl'), 'wb') as f:
        pickle.dump({'vocab_size': len(chars), 'itos': itos, 'stoi': stoi}, f)

batch_rng = np.random.default_rng(seed)


def get_batch(split):
    # a fresh memmap per batch, as nanoGPT does to avoid a memory leak
    name = 'train.bin' if split == 'train' else 'val.bin'
    data = np.memmap(os.path.join(data_dir, name), dtype=np.uint16, mode='r')
    ix = torch.from_numpy(batch_rng.integers(len(data) - block_size, size=(batch_size,)))
    x = torch.stack([torch.from_numpy((data[i:i + block_size]).astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + block_size]).astype(np.int64))
                     for i in ix])
    if device_type == 'cuda':
        x, y = x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(
            device, non_blocking=True)
    else:
        x, y = x.to(device), y.to(device)
    return x, y


iter_num = 0
best_val_loss = 1e9
with open(os.path.join(data_dir, 'meta.pkl'), 'rb') as f:
    meta = pickle.load(f)
meta_vocab_size = meta['vocab_size']
print(f"found vocab_size = {meta_vocab_size} (inside {os.path.join(data_dir, 'meta.pkl')})")

model_args = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size,
                  bias=bias, vocab_size=meta_vocab_size, dropout=dropout)
gptconf = GPTConfig(**model_args)
model = GPT(gptconf)

# nanoGPT's initial distribution, drawn by NumPy so that every library starts the same
init_rng = np.random.default_rng(seed)
with torch.no_grad():
    for pn, p in model.named_parameters():
        if pn.endswith('c_proj.weight'):
            w = init_rng.normal(0.0, 0.02 / math.sqrt(2 * n_layer), tuple(p.shape))
        elif pn.endswith('ln_1.weight') or pn.endswith('ln_2.weight') or pn.endswith('ln_f.weight'):
            w = np.ones(tuple(p.shape))
        elif p.dim() >= 2:
            w = init_rng.normal(0.0, 0.02, tuple(p.shape))
        else:
            w = np.zeros(tuple(p.shape))
        p.copy_(torch.from_numpy(w.astype(np.float32)))
print("tied:", model.lm_head.weight is model.transformer.wte.weight)
model.to(device)

scaler = torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))
optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
checkpoint = None

if compile:
    print("compiling the model...")
    unoptimized_model = model
    model = torch.compile(model)
raw_model = model


@torch.no_grad()
def estimate_loss():
    out = {}
    model.eval()
    for split in ['train', 'val']:
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            X, Y = get_batch(split)
            with ctx:
                logits, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out


def get_lr(it):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


X, Y = get_batch('train')
t0 = time.time()
local_iter_num = 0
running_mfu = -1.0
while True:
    lr = get_lr(iter_num) if decay_lr else learning_rate
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr

    if iter_num % eval_interval == 0 and master_process:
        losses = estimate_loss()
        print(f"step {iter_num}: train loss {losses['train']:.6f}, val loss {losses['val']:.6f}")
        if losses['val'] < best_val_loss or always_save_checkpoint:
            best_val_loss = losses['val']
            if iter_num > 0:
                checkpoint = {
                    'model': raw_model.state_dict(),
                    'optimizer': optimizer.state_dict(),
                    'model_args': model_args,
                    'iter_num': iter_num,
                    'best_val_loss': best_val_loss,
                    'config': config,
                }
                print(f"saving checkpoint to {out_dir}")
                torch.save(checkpoint, os.path.join(out_dir, 'ckpt.pt'))

    for _micro_step in range(gradient_accumulation_steps):
        with ctx:
            logits, loss = model(X, Y)
            loss = loss / gradient_accumulation_steps
        X, Y = get_batch('train')
        scaler.scale(loss).backward()
    if grad_clip != 0.0:
        scaler.unscale_(optimizer)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)

    t1 = time.time()
    dt = t1 - t0
    t0 = t1
    if iter_num % log_interval == 0 and master_process:
        lossf = loss.item() * gradient_accumulation_steps
        if local_iter_num >= 5:
            mfu = raw_model.estimate_mfu(batch_size * gradient_accumulation_steps, dt)
            running_mfu = mfu if running_mfu == -1.0 else 0.9 * running_mfu + 0.1 * mfu
        print(f"iter {iter_num}: loss {lossf:.6f}, grad norm {norm.item():.6f}, "
              f"lr {lr:.6f}, time {dt * 1000:.2f}ms, mfu {running_mfu * 100:.2f}%")
    iter_num += 1
    local_iter_num += 1
    if iter_num > max_iters:
        break

# --- sample.py: load the checkpoint into a fresh model and generate ------------------------------
ckpt_path = os.path.join(out_dir, 'ckpt.pt')
checkpoint = torch.load(ckpt_path, map_location=device)
print("checkpoint from iter", checkpoint['iter_num'],
      f"best val loss {float(checkpoint['best_val_loss']):.6f}")
gptconf = GPTConfig(**checkpoint['model_args'])
model = GPT(gptconf)
state_dict = checkpoint['model']
unwanted_prefix = '_orig_mod.'
for k in list(state_dict):
    if k.startswith(unwanted_prefix):
        state_dict[k[len(unwanted_prefix):]] = state_dict.pop(k)
model.load_state_dict(state_dict)
model.eval()
model.to(device)
resumed = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
resumed.load_state_dict(checkpoint['optimizer'])
print("optimizer groups:", len(resumed.param_groups),
      "steps:", sorted({int(s['step']) for s in resumed.state.values()}))

stoi, itos = meta['stoi'], meta['itos']


def encode(s):
    return [stoi[c] for c in s]


def decode(ids):
    return ''.join([itos[i] for i in ids])


start_ids = encode("The keeper")
x = (torch.tensor(start_ids, dtype=torch.long, device=device)[None, ...])
with torch.no_grad():
    with ctx:
        y = model.generate(x, 24, temperature=1.0, top_k=1)
        print("greedy:", repr(decode(y[0].tolist())))
        y = model.generate(x, 24, temperature=0.8, top_k=5)
        print("sample:", repr(decode(y[0].tolist())))
