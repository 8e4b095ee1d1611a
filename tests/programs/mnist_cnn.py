"""A small convolutional digit classifier, written for PyTorch: two conv layers, max-pooling,
dropout, a two-layer head, Adadelta with a StepLR schedule, a train/test loop and a saved and
reloaded state_dict.

The "digits" are 14x14 images drawn by NumPy (a noisy blurred stroke pattern per class), and
the initial weights come from a seeded NumPy generator, so any library that runs this program
starts from the same numbers. Shuffling is a Sampler driven by NumPy for the same reason.
Dropout draws from the library's own generator: run with --dropout 0 to compare loss curves.
"""

import argparse
import math
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset, Sampler

SIDE = 14


class Net(nn.Module):
    def __init__(self, p1=0.25, p2=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(p1)
        self.dropout2 = nn.Dropout(p2)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def make_digits(n, seed):
    """n noisy images of 10 fixed patterns, values in [0, 1]."""
    templates = np.random.default_rng(1234).random((10, SIDE, SIDE)) > 0.6
    kernel = np.array([0.25, 0.5, 0.25])
    smooth = templates.astype(np.float64)
    for axis in (1, 2):
        smooth = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), axis, smooth)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    images = smooth[labels] + 0.3 * rng.standard_normal((n, SIDE, SIDE))
    return np.clip(images, 0.0, 1.0).astype(np.float32)[:, None], labels


class Digits(Dataset):
    def __init__(self, n, seed, transform=None):
        self.images, self.labels = make_digits(n, seed)
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = torch.from_numpy(self.images[i])
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.labels[i])


class NumpyShuffle(Sampler):
    """A new permutation every epoch, from a seeded NumPy generator."""

    def __init__(self, n, seed):
        self.n = n
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        return iter(self.rng.permutation(self.n).tolist())

    def __len__(self):
        return self.n


def normalize(img):
    return (img - 0.1307) / 0.3081


def init_weights(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            bound = 1.0 / math.sqrt(fan_in)
            w = rng.uniform(-bound, bound, size=tuple(p.shape)).astype(np.float32)
            p.copy_(torch.from_numpy(w))


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)} "
                  f"({100.0 * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}")
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    n = len(test_loader.dataset)
    print(f"Test set: Average loss: {test_loss:.6f}, Accuracy: {correct}/{n} "
          f"({100.0 * correct / n:.0f}%)")
    return test_loss


def main():
    parser = argparse.ArgumentParser(description="PyTorch digits CNN")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--test-batch-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--dropout", type=float, default=1.0,
                        help="scale of the dropout rates (0 turns dropout off)")
    parser.add_argument("--no-accel", action="store_true", help="disables accelerator")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=256)
    parser.add_argument("--save-model", action="store_true")
    args = parser.parse_args()

    use_accel = not args.no_accel and torch.accelerator.is_available()
    torch.manual_seed(args.seed)
    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")
    print(f"Using device: {device}")

    train_kwargs = {"batch_size": args.batch_size}
    test_kwargs = {"batch_size": args.test_batch_size}
    if use_accel:
        accel_kwargs = {"num_workers": 1, "pin_memory": True, "persistent_workers": True}
        train_kwargs.update(accel_kwargs)
        test_kwargs.update(accel_kwargs)

    dataset1 = Digits(args.train_size, seed=args.seed, transform=normalize)
    dataset2 = Digits(200, seed=args.seed + 1, transform=normalize)
    train_loader = DataLoader(dataset1, sampler=NumpyShuffle(len(dataset1), args.seed),
                              **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net(0.25 * args.dropout, 0.5 * args.dropout)
    init_weights(model, args.seed)
    model = model.to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test(model, device, test_loader)
        scheduler.step()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mnist_cnn.pt")
        torch.save(model.state_dict(), path)
        reloaded = Net().to(device)
        reloaded.load_state_dict(torch.load(path, map_location=device, weights_only=True))
        print("reloaded:", end=" ")
        test(reloaded, device, test_loader)


if __name__ == "__main__":
    main()
