"""A variational autoencoder, written for PyTorch: fully connected encoder and decoder, the
reparameterisation trick, a binary cross-entropy + KL loss with the continuous-Bernoulli
normalising constant, Adam, a train/test loop and samples decoded from the prior.

The 8x8 "images" are drawn by NumPy, the initial weights come from a seeded NumPy generator,
and so do the reparameterisation noise and the prior samples (``--numpy-noise``, on by
default), so that any library running this program sees the same numbers.
"""

import argparse
import math

import numpy as np
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F

PIXELS = 64
LATENT = 4


class VAE(nn.Module):
    def __init__(self, noise=None):
        super().__init__()
        self.fc1 = nn.Linear(PIXELS, 32)
        self.fc21 = nn.Linear(32, LATENT)
        self.fc22 = nn.Linear(32, LATENT)
        self.fc3 = nn.Linear(LATENT, 32)
        self.fc4 = nn.Linear(32, PIXELS)
        self.noise = noise  # a NumPy Generator, or None for torch.randn_like

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        if self.noise is None:
            eps = torch.randn_like(std)
        else:
            eps = torch.from_numpy(self.noise.standard_normal(tuple(std.shape)).astype(np.float32))
            eps = eps.to(std.device)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.clamp(torch.sigmoid(self.fc4(h3)), min=1e-4, max=1.0 - 1e-4)

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, PIXELS))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def atanh(x):
    return 0.5 * (torch.log(1.0 + x) - torch.log(1.0 - x))


def cont_bern_log_norm(lam, l_lim=0.49, u_lim=0.51):
    """log C(lam) of the continuous Bernoulli, with a Taylor expansion near 1/2."""
    outside = torch.max(torch.le(lam, l_lim), torch.gt(lam, u_lim))
    cut_lam = torch.where(outside, lam, l_lim * torch.ones_like(lam))
    log_norm = (torch.log(torch.abs(2.0 * atanh(1 - 2.0 * cut_lam)))
                - torch.log(torch.abs(1 - 2.0 * cut_lam)))
    taylor = (torch.log(torch.tensor(2.0)) + 4.0 / 3.0 * torch.pow(lam - 0.5, 2)
              + 104.0 / 45.0 * torch.pow(lam - 0.5, 4))
    return torch.where(outside, log_norm, taylor)


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, PIXELS), reduction="sum")
    nlnc = -torch.sum(cont_bern_log_norm(recon_x))
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + nlnc + kld


def make_images(n, seed):
    """Soft blobs at random places on an 8x8 grid, values in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:8, 0:8]
    centres = rng.uniform(1.5, 6.5, size=(n, 2))
    widths = rng.uniform(1.0, 2.5, size=(n, 1, 1))
    d2 = (yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2
    img = np.exp(-d2 / (2 * widths ** 2))
    return img.astype(np.float32)[:, None]


def main():
    parser = argparse.ArgumentParser(description="VAE example")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-cuda", action="store_true", default=False)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=2)
    parser.add_argument("--torch-noise", action="store_true",
                        help="draw the noise with torch.randn_like instead of NumPy")
    args = parser.parse_args()
    args.cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if args.cuda else "cpu")
    kwargs = {"num_workers": 0, "pin_memory": True} if args.cuda else {}

    train_set = torch.utils.data.TensorDataset(torch.from_numpy(make_images(192, args.seed)),
                                               torch.zeros(192, dtype=torch.long))
    test_set = torch.utils.data.TensorDataset(torch.from_numpy(make_images(64, args.seed + 1)),
                                              torch.zeros(64, dtype=torch.long))
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size,
                                               shuffle=False, **kwargs)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=args.batch_size,
                                              shuffle=False, **kwargs)

    noise = None if args.torch_noise else np.random.default_rng(args.seed + 100)
    model = VAE(noise)
    rng = np.random.default_rng(args.seed)
    with torch.no_grad():
        for p in model.parameters():
            bound = 1.0 / math.sqrt(p.shape[-1])
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape))).float())
    model = model.to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)

    def train(epoch):
        model.train()
        train_loss = 0
        for batch_idx, (data, _) in enumerate(train_loader):
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/"
                      f"{len(train_loader.dataset)} ({100.0 * batch_idx / len(train_loader):.0f}%)]"
                      f"\tLoss: {loss.item() / len(data):.6f}")
        print(f"====> Epoch: {epoch} Average loss: {train_loss / len(train_loader.dataset):.6f}")

    def test(epoch):
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for i, (data, _) in enumerate(test_loader):
                data = data.to(device)
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
                if i == 0:
                    n = min(data.size(0), 4)
                    comparison = torch.cat([data[:n],
                                            recon_batch.view(args.batch_size, 1, 8, 8)[:n]])
                    assert comparison.shape == (2 * n, 1, 8, 8)
        test_loss /= len(test_loader.dataset)
        print(f"====> Test set loss: {test_loss:.6f}")

    for epoch in range(1, args.epochs + 1):
        train(epoch)
        test(epoch)
        with torch.no_grad():
            if noise is None:
                sample = torch.randn(16, LATENT).to(device)
            else:
                sample = torch.from_numpy(noise.standard_normal((16, LATENT))).float().to(device)
            sample = model.decode(sample).cpu()
            grid = sample.view(16, 1, 8, 8).numpy()
            print(f"====> Sample mean: {grid.mean():.6f} max: {grid.max():.6f}")


if __name__ == "__main__":
    main()
