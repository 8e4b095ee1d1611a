"""A tiny vision transformer trained with the boilerplate of current PyTorch training scripts:
``torch.backends.cudnn.benchmark``, ``set_float32_matmul_precision``, a gradient scaler and
autocast that are switched off unless asked for, patch embedding by a strided convolution, a
class token and learned position embeddings as ``nn.Parameter``s, pre-norm encoder layers
(``nn.TransformerEncoderLayer(batch_first=True, norm_first=True)``), label smoothing, AdamW with
parameter groups (no weight decay on norms and biases), a linear warm-up then cosine schedule
through ``LambdaLR``, and evaluation with ``torch.inference_mode``.

The 12x12 images (oriented stripes of 4 classes) and the initial weights come from seeded NumPy
generators, and dropout is 0, so the program prints the same numbers under any library.
"""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES, PATCH, DIM = 4, 4, 16


class ViT(nn.Module):
    def __init__(self, image=12, depth=2, heads=2):
        super().__init__()
        self.patch = nn.Conv2d(1, DIM, PATCH, stride=PATCH)
        n = (image // PATCH) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, DIM))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, DIM))
        layer = nn.TransformerEncoderLayer(DIM, heads, dim_feedforward=2 * DIM, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(DIM)
        self.head = nn.Linear(DIM, CLASSES)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)  # (B, patches, DIM)
        cls = self.cls.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos
        x = self.encoder(x)
        return self.head(self.norm(x[:, 0]))


def make_data(n, rng):
    labels = rng.integers(0, CLASSES, n)
    yy, xx = np.mgrid[0:12, 0:12]
    ang = labels[:, None, None] * np.pi / CLASSES + rng.normal(0, 0.1, (n, 1, 1))
    img = np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 1.2 + rng.uniform(0, 6, (n, 1, 1)))
    img = img + 0.3 * rng.standard_normal(img.shape)
    return img.astype(np.float32)[:, None], labels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--amp", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    torch.set_float32_matmul_precision("high")
    rng = np.random.default_rng(11)
    x_np, y_np = make_data(256, rng)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)

    model = ViT().to(device)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel() if name != "pos" and name != "cls" else DIM
                p.copy_(torch.from_numpy(rng.normal(0, 1 / math.sqrt(fan_in), tuple(p.shape))))
            elif name.endswith("bias"):  # layer norms keep their ones and zeros
                p.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, tuple(p.shape))))
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
    warmup = 4

    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, args.steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * t))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    scaler = torch.amp.GradScaler(device.type, enabled=args.amp)
    print("parameters:", sum(p.numel() for p in model.parameters()),
          "in", len(list(model.parameters())), "tensors")

    for step in range(args.steps):
        idx = torch.from_numpy(rng.integers(0, 256, 32)).to(device)
        model.train()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=args.amp):
            logits = model(x[idx])
            loss = F.cross_entropy(logits, y[idx], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        gn = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        sched.step()
        if step % 4 == 3:
            model.eval()
            with torch.inference_mode():
                pred = model(x).argmax(dim=-1)
                acc = (pred == y).float().mean().item()
            print(f"step {step + 1}: loss {loss.item():.5f} grad norm {gn.item():.4f} "
                  f"lr {sched.get_last_lr()[0]:.6f} train accuracy {acc:.4f}")
    probs = model(x[:4]).softmax(-1)
    print("first probabilities:", " ".join(f"{v:.4f}" for v in probs[0].tolist()))


if __name__ == "__main__":
    main()
