"""Regression on a tabular data set, in the style of the tabular-data tutorials and Kaggle
notebooks: categorical columns through a ``ModuleList`` of ``nn.Embedding``s concatenated with
the numeric columns, ``BatchNorm1d`` and ``Dropout`` in an MLP; a ``Dataset`` whose
``__getitem__`` returns a dict, served by a ``DataLoader`` with a custom ``collate_fn`` and a
``BatchSampler`` (training, over a sampler that shuffles with NumPy) or a
``SubsetRandomSampler`` (validation, where the order does not matter); k-fold cross-validation
through ``Subset``; ``F.huber_loss`` for training and ``MSELoss`` for validation; metrics from
``torch.quantile``, ``median``, ``std`` and ``corrcoef`` with a ``torch.isnan`` guard;
``OneCycleLR`` stepped per batch; early stopping that keeps ``copy.deepcopy(state_dict())``
and restores it with ``load_state_dict``; and the best model written with ``torch.save`` and
read back with ``torch.load``.

The table and the initial weights come from seeded NumPy generators, the training order from a
seeded NumPy permutation, and dropout is 0 for comparisons (``--dropout``), so the program
prints the same numbers under any library.
"""

import argparse
import copy
import math
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler, Subset, SubsetRandomSampler

CARDINALITIES = (7, 5, 12)
NUMERIC = 6


def make_table(n, rng):
    """Categorical codes, numeric columns and a target with a few heavy-tailed outliers."""
    cats = np.stack([rng.integers(0, c, n) for c in CARDINALITIES], axis=1)
    num = rng.normal(0, 1, (n, NUMERIC)) * np.array([1, 2, 0.5, 1, 3, 1]) + np.arange(NUMERIC)
    effects = [rng.normal(0, 1, c) for c in CARDINALITIES]
    y = (np.sin(num[:, 0]) + 0.3 * num[:, 1] * num[:, 2] - 0.2 * (num[:, 4] - 4) ** 2 / 3
         + sum(e[cats[:, j]] for j, e in enumerate(effects)) + 0.2 * rng.standard_normal(n))
    outliers = rng.random(n) < 0.03
    y = y + outliers * rng.standard_t(2, n) * 4
    return cats, num.astype(np.float32), y.astype(np.float32)


class TableDataset(Dataset):
    def __init__(self, cats, num, y, mean, std):
        self.cats, self.num, self.y = cats, (num - mean) / std, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"cat": self.cats[i], "num": self.num[i], "target": self.y[i]}


def collate(rows):
    return {
        "cat": torch.from_numpy(np.stack([r["cat"] for r in rows])).long(),
        "num": torch.from_numpy(np.stack([r["num"] for r in rows])).float(),
        "target": torch.tensor([float(r["target"]) for r in rows]),
    }


class NumpyShuffle(Sampler):
    """The given indices in a fresh NumPy permutation each epoch."""

    def __init__(self, indices, seed):
        self.indices, self.rng = np.asarray(indices), np.random.default_rng(seed)

    def __iter__(self):
        return iter(self.rng.permutation(self.indices).tolist())

    def __len__(self):
        return len(self.indices)


class TabularNet(nn.Module):
    def __init__(self, cardinalities, n_numeric, hidden=(32, 16), dropout=0.1):
        super().__init__()
        self.embeddings = nn.ModuleList(
            [nn.Embedding(c, min(6, (c + 1) // 2)) for c in cardinalities])
        self.bn_in = nn.BatchNorm1d(n_numeric)
        n_in = sum(e.embedding_dim for e in self.embeddings) + n_numeric
        layers = []
        for h in hidden:
            # batch norm after the activation: a shift it would remove right after the linear
            # layer would leave that layer's bias without a gradient
            layers += [nn.Linear(n_in, h), nn.ReLU(), nn.BatchNorm1d(h), nn.Dropout(dropout)]
            n_in = h
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(n_in, 1)

    def forward(self, cat, num):
        emb = [e(cat[:, i]) for i, e in enumerate(self.embeddings)]
        x = torch.cat(emb + [self.bn_in(num)], dim=1)
        return self.out(self.mlp(x)).squeeze(-1)


def init_weights(model, rng):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bn" in name or name.startswith("mlp") and p.dim() == 1 and "weight" in name:
                continue  # batch norms keep their ones and zeros
            if p.dim() > 1:
                std = 1.0 if name.startswith("embeddings") else 1 / math.sqrt(p.shape[1])
                p.copy_(torch.from_numpy(rng.normal(0, std, tuple(p.shape))))
            else:
                p.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, tuple(p.shape))))


@torch.no_grad()
def predict(model, loader, device):
    model.eval()
    preds, targets = [], []
    for batch in loader:
        preds.append(model(batch["cat"].to(device), batch["num"].to(device)))
        targets.append(batch["target"].to(device))
    return torch.cat(preds), torch.cat(targets)


def metrics(pred, target):
    err = pred - target
    if torch.isnan(err).any():
        raise RuntimeError("NaN in predictions")
    abs_err = err.abs()
    return {
        "rmse": F.mse_loss(pred, target).sqrt().item(),
        "mae": abs_err.mean().item(),
        "median ae": abs_err.median().item(),
        "q90 ae": torch.quantile(abs_err, 0.9).item(),
        "resid std": err.std().item(),
        "corr": torch.corrcoef(torch.stack([pred, target]))[0, 1].item(),
    }


def fmt(m):
    return " ".join(f"{k} {v:.4f}" for k, v in m.items())


def main():
    parser = argparse.ArgumentParser(description="tabular regression with k-fold CV")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-2)
    parser.add_argument("--dropout", type=float, default=0.1)
    args = parser.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(31)
    cats, num, y = make_table(480, rng)
    mean, std = num.mean(0), num.std(0)
    dataset = TableDataset(cats, num, y, mean, std)
    folds = np.array_split(rng.permutation(len(dataset)), args.folds)
    val_loss_fn = nn.MSELoss()
    results = []

    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.folds):
            train_idx = np.concatenate([f for j, f in enumerate(folds) if j != k])
            train_set = Subset(dataset, train_idx.tolist())
            batches = BatchSampler(NumpyShuffle(range(len(train_set)), seed=k),
                                   batch_size=args.batch_size, drop_last=True)
            train_loader = DataLoader(train_set, batch_sampler=batches, collate_fn=collate)
            g = torch.Generator().manual_seed(k)
            val_loader = DataLoader(dataset, batch_size=64, collate_fn=collate,
                                    sampler=SubsetRandomSampler(folds[k].tolist(), generator=g))

            model = TabularNet(CARDINALITIES, NUMERIC, dropout=args.dropout).to(device)
            init_weights(model, rng)
            opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train_loader),
                pct_start=0.25)
            best, best_state, bad_epochs = math.inf, None, 0
            for epoch in range(args.epochs):
                model.train()
                total, count = 0.0, 0
                for batch in train_loader:
                    pred = model(batch["cat"].to(device), batch["num"].to(device))
                    loss = F.huber_loss(pred, batch["target"].to(device), delta=1.0)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
                    total += loss.item() * len(pred)
                    count += len(pred)
                pred, target = predict(model, val_loader, device)
                val = val_loss_fn(pred, target).item()
                print(f"fold {k} epoch {epoch}: train huber {total / count:.5f} val mse "
                      f"{val:.5f} lr {sched.get_last_lr()[0]:.6f}")
                if val < best - 1e-4:
                    best, bad_epochs = val, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    bad_epochs += 1
                    if bad_epochs >= args.patience:
                        print(f"fold {k}: early stop at epoch {epoch}")
                        break
            model.load_state_dict(best_state)
            path = os.path.join(tmp, f"best_fold{k}.pt")
            torch.save({"state_dict": model.state_dict(), "val_mse": best}, path)

            restored = TabularNet(CARDINALITIES, NUMERIC, dropout=args.dropout).to(device)
            ckpt = torch.load(path, map_location=device)
            restored.load_state_dict(ckpt["state_dict"])
            m = metrics(*predict(restored, val_loader, device))
            print(f"fold {k} best val mse {ckpt['val_mse']:.5f} restored: {fmt(m)}")
            bn = restored.bn_in
            print(f"fold {k} bn_in running mean {bn.running_mean.abs().sum().item():.5f} "
                  f"var {bn.running_var.mean().item():.5f} batches "
                  f"{bn.num_batches_tracked.item()}")
            results.append(m)

    summary = {k: float(np.mean([r[k] for r in results])) for k in results[0]}
    print(f"cv mean: {fmt(summary)}")
    emb = restored.embeddings[2].weight.detach()
    print(f"last fold embedding norms: {emb.norm(dim=1).median().item():.5f} "
          f"{torch.quantile(emb.norm(dim=1), torch.tensor([0.25, 0.75], device=device)).tolist()}")


if __name__ == "__main__":
    main()
