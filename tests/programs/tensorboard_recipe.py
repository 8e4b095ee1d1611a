"""The "How to use TensorBoard with PyTorch" recipe: a linear regression whose loss goes to a
``SummaryWriter`` with ``add_scalar`` every epoch (the loss tensor itself is passed), then
``flush()`` and ``close()``; afterwards the event file is read back with TensorBoard's own
``EventAccumulator``, as a user checking the run would, and the logged values are printed.

The noise and the initial weights come from NumPy, so PyTorch and gpuarr log the same values;
tests/test_programs_tutorials.py runs it under both and compares the output.
"""

import argparse
import glob
import os

import numpy as np
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

p = argparse.ArgumentParser()
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
p.add_argument("--logdir", default="runs/recipe")
args = p.parse_args()
device = torch.device(args.device)

writer = SummaryWriter(args.logdir)

rng = np.random.default_rng(3)
x = torch.arange(-5, 5, 0.1).view(-1, 1)
noise = torch.from_numpy(rng.standard_normal(tuple(x.size())).astype(np.float32))
y = -5 * x + 0.1 * noise
x, y = x.to(device), y.to(device)

model = torch.nn.Linear(1, 1)
with torch.no_grad():
    model.weight.fill_(0.25)
    model.bias.fill_(-0.5)
model.to(device)
criterion = torch.nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.02)


def train_model(iter):
    for epoch in range(iter):
        y1 = model(x)
        loss = criterion(y1, y)
        writer.add_scalar("Loss/train", loss, epoch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        writer.add_scalar("Weight/w", model.weight.item(), epoch)


print("points:", x.shape[0])
train_model(10)
writer.flush()
writer.add_text("notes", "linear regression, SGD lr=0.02", 0)
writer.close()
print(f"weight {model.weight.item():.6f} bias {model.bias.item():.6f}")

files = glob.glob(os.path.join(args.logdir, "events.out.tfevents.*"))
print("event files:", len(files))
acc = EventAccumulator(args.logdir)
acc.Reload()
print("scalar tags:", sorted(acc.Tags()["scalars"]))
for tag in sorted(acc.Tags()["scalars"]):
    events = acc.Scalars(tag)
    print(tag, [e.step for e in events])
    print(tag, " ".join(f"{e.value:.6f}" for e in events))
