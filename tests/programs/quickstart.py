"""The beginner "Quickstart": a Dataset and DataLoader, an ``nn.Flatten`` + ``nn.Sequential``
classifier, ``CrossEntropyLoss`` and SGD, train and test loops, then ``torch.save`` of the
state_dict and ``torch.load`` into a fresh model for a prediction.

FashionMNIST is replaced by a small synthetic set of 28x28 "garments" made with NumPy (a fixed
stripe pattern per class plus noise), and the initial weights are a state_dict of NumPy arrays,
so that PyTorch and gpuarr start from the same numbers and print the same losses.
tests/test_programs_tutorials.py runs it under both and compares the output.
"""

import argparse

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

p = argparse.ArgumentParser()
p.add_argument("--device", default=torch.accelerator.current_accelerator().type
               if torch.accelerator.is_available() else "cpu")
p.add_argument("--epochs", type=int, default=3)
args = p.parse_args()

classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class SyntheticFashion(Dataset):
    """Ten classes of 1x28x28 images in [0, 1], like ``ToTensor()`` makes of FashionMNIST."""

    def __init__(self, n, seed, transform=None, target_transform=None):
        rng = np.random.default_rng(seed)
        proto = np.random.default_rng(1234).random((10, 28, 28)) > 0.7
        self.labels = rng.integers(0, 10, size=n)
        noise = rng.random((n, 28, 28))
        self.images = (0.6 * proto[self.labels] + 0.4 * noise).astype(np.float32)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        image = torch.from_numpy(self.images[idx]).unsqueeze(0)
        label = int(self.labels[idx])
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


training_data = SyntheticFashion(320, seed=0)
test_data = SyntheticFashion(128, seed=1)

batch_size = 64
train_dataloader = DataLoader(training_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

device = args.device
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork()
rng = np.random.default_rng(7)
init = {k: torch.from_numpy((rng.standard_normal(tuple(v.shape)) / np.sqrt(v.shape[-1]))
                            .astype(np.float32))
        for k, v in model.state_dict().items()}
print(model.load_state_dict(init))
model = model.to(device)
print(model)
print("parameters:", sum(p.numel() for p in model.parameters() if p.requires_grad))

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=5e-2)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        pred = model(X)
        loss = loss_fn(pred, y)

        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 2 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


for t in range(args.epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")

torch.save(model.state_dict(), "model.pth")
print("Saved PyTorch Model State to model.pth")

model = NeuralNetwork().to(device)
model.load_state_dict(torch.load("model.pth", weights_only=True))

model.eval()
for i in range(4):
    x, y = test_data[i][0], test_data[i][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
        print(f'Predicted: "{predicted}", Actual: "{actual}"')
