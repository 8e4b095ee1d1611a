"""A small PyTorch regression program, run unmodified under real PyTorch and under
``python -m gpuarr.run_torch`` by tests/test_run_torch.py, which compares the losses it prints.

Randomness comes from NumPy (data and initial weights), so both libraries start from the same
numbers; the shuffle-free DataLoader gives both the same batches.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class MLP(nn.Module):
    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--epochs", type=int, default=6)
    args = p.parse_args()
    torch.manual_seed(0)
    torch.backends.cudnn.deterministic = True
    device = torch.device(args.device)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 4)).astype(np.float32)
    w_true = np.array([[1.5], [-2.0], [0.5], [1.0]], dtype=np.float32)
    y = np.sin(x @ w_true) + 0.1 * rng.standard_normal((96, 1)).astype(np.float32)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                        batch_size=16, shuffle=False)

    model = MLP(4, 8)
    with torch.no_grad():
        for p_ in model.parameters():
            w = 0.5 * rng.standard_normal(tuple(p_.shape))
            p_.copy_(torch.from_numpy(w.astype(np.float32)))
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    loss_fn = nn.MSELoss()

    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            total += loss.item() * len(xb)
        sched.step()
        model.eval()
        with torch.no_grad():
            xs = torch.from_numpy(x).to(device)
            val = F.l1_loss(model(xs), torch.from_numpy(y).to(device)).item()
        print(f"epoch {epoch} train_loss {total / len(x):.8f} val_l1 {val:.8f} "
              f"lr {sched.get_last_lr()[0]:.5f}")


if __name__ == "__main__":
    main()
