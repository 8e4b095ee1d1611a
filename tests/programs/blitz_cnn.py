"""The 60-minute blitz, "Neural Networks" and "Training a Classifier": LeNet with
``nn.Conv2d`` / ``F.max_pool2d``, its parameters and a backward with a given gradient,
``MSELoss`` and a hand-written SGD update, then a CIFAR10-style classifier (``nn.MaxPool2d``,
``torch.flatten``, ``CrossEntropyLoss``, SGD with momentum, a DataLoader with worker
processes), saving and reloading it, and overall and per-class accuracy.

CIFAR10 is replaced by small synthetic 3x32x32 images (a colour and a blob per class, plus
noise) and every random number comes from NumPy, so PyTorch and gpuarr compute the same
thing; tests/test_programs_tutorials.py runs it under both and compares the output.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

p = argparse.ArgumentParser()
p.add_argument("--device", default="cuda:0" if torch.cuda.is_available() else "cpu")
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--workers", type=int, default=2)
args = p.parse_args()
device = torch.device(args.device)
rng = np.random.default_rng(0)


def numpy_init(module):
    """Overwrite every parameter with NumPy draws (same numbers under any library)."""
    with torch.no_grad():
        for prm in module.parameters():
            fan_in = prm[0].numel() if prm.dim() > 1 else prm.numel()
            w = rng.uniform(-1, 1, tuple(prm.shape)) / np.sqrt(fan_in)
            prm.copy_(torch.from_numpy(w.astype(np.float32)))


# --- Neural Networks: LeNet ------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 - the tutorial's spelling
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        output = self.fc3(f6)
        return output


net = Net()
numpy_init(net)
net.to(device)
print(net)
params = list(net.parameters())
print(len(params))
print(params[0].size())

input = torch.from_numpy(rng.standard_normal((1, 1, 32, 32)).astype(np.float32)).to(device)
out = net(input)
print(out)
net.zero_grad()
out.backward(torch.from_numpy(rng.standard_normal((1, 10)).astype(np.float32)).to(device))
print(f"conv1.weight.grad sum: {net.conv1.weight.grad.sum().item():.6f}")

output = net(input)
target = torch.arange(1, 11, device=device)
target = target.view(1, -1)
criterion = nn.MSELoss()
loss = criterion(output, target)
print(loss)

net.zero_grad()
print('conv1.bias.grad before backward')
print(net.conv1.bias.grad)
loss.backward()
print('conv1.bias.grad after backward')
print(net.conv1.bias.grad)

learning_rate = 0.01
for f in net.parameters():
    f.data.sub_(f.grad.data * learning_rate)
print(f"after manual SGD: {criterion(net(input), target).item():.6f}")

optimizer = optim.SGD(net.parameters(), lr=0.01)
optimizer.zero_grad()
output = net(input)
loss = criterion(output, target)
loss.backward()
optimizer.step()
print(f"after optim.SGD: {criterion(net(input), target).item():.6f}")


# --- Training a classifier -------------------------------------------------------------------
classes = ('plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')


def make_images(n, seed):
    r = np.random.default_rng(seed)
    colour = np.random.default_rng(99).uniform(-1, 1, (10, 3, 1, 1))
    yy, xx = np.mgrid[0:32, 0:32]
    labels = r.integers(0, 10, size=n)
    cy, cx = 6 + 2 * (labels // 5)[:, None, None] * 5, 4 + 5 * (labels % 5)[:, None, None]
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18.0)[:, None]
    images = colour[labels] * (0.5 + blob) + 0.3 * r.uniform(-1, 1, (n, 3, 32, 32))
    return torch.from_numpy(images.astype(np.float32)), torch.from_numpy(labels)


trainset = TensorDataset(*make_images(96, seed=1))
testset = TensorDataset(*make_images(40, seed=2))
order = rng.permutation(len(trainset)).tolist()  # a fixed "shuffle"
trainloader = DataLoader(trainset, batch_size=4, sampler=order, num_workers=args.workers)
testloader = DataLoader(testset, batch_size=4, shuffle=False)

dataiter = iter(trainloader)
images, labels = next(dataiter)
print(' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))


class CifarNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = CifarNet()
numpy_init(net)
net.to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.02, momentum=0.9)

for epoch in range(args.epochs):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data[0].to(device), data[1].to(device)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % 6 == 5:
            print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 6:.6f}')
            running_loss = 0.0
print('Finished Training')

PATH = './cifar_net.pth'
torch.save(net.state_dict(), PATH)

dataiter = iter(testloader)
images, labels = next(dataiter)
print('GroundTruth: ', ' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))
net = CifarNet()
net.load_state_dict(torch.load(PATH, weights_only=True))
net.to(device)
outputs = net(images.to(device))
_, predicted = torch.max(outputs, 1)
print('Predicted: ', ' '.join(f'{classes[predicted[j]]:5s}' for j in range(4)))

correct = 0
total = 0
with torch.no_grad():
    for data in testloader:
        images, labels = data[0].to(device), data[1].to(device)
        outputs = net(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
print(f'Accuracy of the network on the {total} test images: {100 * correct // total} %')

correct_pred = {classname: 0 for classname in classes}
total_pred = {classname: 0 for classname in classes}
with torch.no_grad():
    for data in testloader:
        images, labels = data[0].to(device), data[1].to(device)
        outputs = net(images)
        _, predictions = torch.max(outputs, 1)
        for label, prediction in zip(labels, predictions):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1
for classname, correct_count in correct_pred.items():
    if total_pred[classname]:
        accuracy = 100 * float(correct_count) / total_pred[classname]
        print(f'Accuracy for class: {classname:5s} is {accuracy:.1f} %')
print(device)
