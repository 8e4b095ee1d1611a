"""End to end against PyTorch: the same MLP, initial weights and batches, trained 20 steps in
gpuarr and in torch, gives the same losses and weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpuarr
import gpuarr.optim
from gpuarr import nn
from gpuarr.utils.data import DataLoader, TensorDataset

SIZES = [20, 32, 32, 5]

OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.05)),
    ("RMSprop", dict(lr=1e-3, momentum=0.5, centered=True)),
]


def _models(device):
    g_layers, t_layers = [], []
    for k, (i, o) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        g_layers.append(nn.Linear(i, o))
        t_layers.append(torch.nn.Linear(i, o))
        if k < len(SIZES) - 2:
            g_layers.append(nn.ReLU())
            t_layers.append(torch.nn.ReLU())
    g_model = nn.Sequential(*g_layers).to(device)
    t_model = torch.nn.Sequential(*t_layers)
    with torch.no_grad(), gpuarr.no_grad():
        for gp, tp in zip(g_model.parameters(), t_model.parameters()):
            gp.copy_(gpuarr.tensor(tp.detach().numpy(), device=device))
    return g_model, t_model


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, SIZES[0])).astype(np.float32)
    # labels that depend on x, so that training makes progress
    w = rng.standard_normal((SIZES[0], SIZES[-1])).astype(np.float32)
    y = (x @ w).argmax(1).astype(np.int64)
    return x, y


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS)
def test_mlp_training_matches_torch(name, kwargs, device):
    g_model, t_model = _models(device)
    g_opt = getattr(gpuarr.optim, name)(g_model.parameters(), **kwargs)
    t_opt = getattr(torch.optim, name)(t_model.parameters(), **kwargs)
    g_loss_fn, t_loss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    x, y = _data()
    ds = TensorDataset(gpuarr.tensor(x, device=device), gpuarr.tensor(y, device=device))
    loader = DataLoader(ds, batch_size=16, shuffle=True,
                        generator=gpuarr.Generator().manual_seed(0))
    g_losses, t_losses = [], []
    while len(g_losses) < 20:
        for xb, yb in loader:
            if len(g_losses) == 20:
                break
            g_loss = g_loss_fn(g_model(xb), yb)
            g_opt.zero_grad()
            g_loss.backward()
            g_opt.step()
            g_losses.append(g_loss.item())
            # torch trains on exactly the same batch
            t_loss = t_loss_fn(t_model(torch.from_numpy(xb.cpu().numpy())),
                               torch.from_numpy(yb.cpu().numpy()))
            t_opt.zero_grad()
            t_loss.backward()
            t_opt.step()
            t_losses.append(t_loss.item())
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-4, atol=1e-6)
    assert g_losses[-1] < g_losses[0]  # it did learn
    for gp, tp in zip(g_model.parameters(), t_model.parameters()):
        np.testing.assert_allclose(gp.detach().cpu().numpy(), tp.detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
    # optimizer state checkpoints move across: torch's state dict resumes gpuarr identically
    sd_keys = [sorted(s) for s in g_opt.state_dict()["state"].values()]
    assert sd_keys == [sorted(s) for s in t_opt.state_dict()["state"].values()]
