"""Fit a degree-4 polynomial with one linear layer, written for PyTorch: features x..x^4 built
with torch.cat, a smooth-L1 loss, plain gradient steps on ``param.data``, a loop that runs until
the loss is small, and the learned and true polynomials printed with format specs on tensors.

The target polynomial and the batches come from a seeded NumPy generator, and the layer starts
from zeros, so any library that runs this program sees the same numbers.
"""

import argparse
from itertools import count

import numpy as np
import torch
import torch.nn.functional as F

POLY_DEGREE = 4


def make_features(x):
    """Columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def poly_desc(W, b):
    result = "y = "
    for i, w in enumerate(W):
        result += f"{w:+.4f} x^{i + 1} "
    result += f"{b[0]:+.4f}"
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--max-batches", type=int, default=400)
    parser.add_argument("--log-interval", type=int, default=50)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)

    rng = np.random.default_rng(args.seed)
    W_target = torch.from_numpy(rng.standard_normal((POLY_DEGREE, 1)).astype(np.float32)).to(device)
    b_target = torch.from_numpy(rng.standard_normal(1).astype(np.float32)).to(device)

    def f(x):
        return x.mm(W_target) + b_target.item()

    def get_batch(batch_size=32):
        random = torch.from_numpy(rng.uniform(-1, 1, batch_size).astype(np.float32)).to(device)
        x = make_features(random)
        return x, f(x)

    fc = torch.nn.Linear(W_target.size(0), 1).to(device)
    torch.nn.init.zeros_(fc.weight)
    torch.nn.init.zeros_(fc.bias)

    for batch_idx in count(1):
        batch_x, batch_y = get_batch()
        fc.zero_grad()
        output = F.smooth_l1_loss(fc(batch_x), batch_y)
        loss = output.item()
        output.backward()
        for param in fc.parameters():
            param.data.add_(-args.lr * param.grad)
        if batch_idx % args.log_interval == 0:
            print(f"batch {batch_idx} loss {loss:.8f}")
        if loss < 1e-3 or batch_idx >= args.max_batches:
            break

    print(f"Loss: {loss:.6f} after {batch_idx} batches")
    print("==> Learned function:\t" + poly_desc(fc.weight.view(-1), fc.bias))
    print("==> Actual function:\t" + poly_desc(W_target.view(-1), b_target))


if __name__ == "__main__":
    main()
