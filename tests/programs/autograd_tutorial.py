"""Autograd, the way the beginner tutorials teach it: ``requires_grad``, the graph that
``grad_fn`` and ``next_functions`` show, ``backward`` on a scalar and with a ``gradient``
(vector-Jacobian products), accumulation into ``.grad``, ``no_grad`` / ``detach`` /
``requires_grad_``, frozen parameters and ``torch.autograd.grad`` / ``functional.jacobian``.

Written for PyTorch; tests/test_programs_tutorials.py runs it under real PyTorch and under
``python -m gpuarr.run_torch`` and compares what it prints. The "random" inputs come from NumPy,
so both libraries print the same numbers.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
device = torch.device(p.parse_args().device)
rng = np.random.default_rng(42)


def randn(*shape, **kw):
    return torch.tensor(rng.standard_normal(shape), dtype=torch.float32, device=device, **kw)


# --- a one-layer network and its loss -----------------------------------------------------
x = torch.ones(5, device=device)  # input tensor
y = torch.zeros(3, device=device)  # expected output
w = randn(5, 3, requires_grad=True)
b = randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = F.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}")
print(f"Gradient function for loss = {loss.grad_fn}")
print("leaf:", w.is_leaf, z.is_leaf, w.grad_fn is None)

loss.backward()
print(w.grad)
print(b.grad)

# --- turning tracking off ------------------------------------------------------------------
z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad, torch.is_grad_enabled())

# --- vector-Jacobian products and accumulation ----------------------------------------------
inp = torch.eye(4, 5, requires_grad=True, device=device)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

# --- the 60-minute blitz version -------------------------------------------------------------
x = torch.ones(2, 2, requires_grad=True, device=device)
print(x)
y = x + 2
print(y)
print(y.grad_fn)
z = y * y * 3
out = z.mean()
print(z, out)

a = randn(2, 2)
a = ((a * 3) / (a - 1))
print(a.requires_grad)
a.requires_grad_(True)
print(a.requires_grad)
b = (a * a).sum()
print(b.grad_fn)

out.backward()
print(x.grad)

x = randn(3, requires_grad=True)
y = x * 2
n_doublings = 0
while y.data.norm() < 1000:
    y = y * 2
    n_doublings += 1
print(n_doublings, y)
gradients = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float, device=device)
y.backward(gradients)
print(x.grad)
print(x.requires_grad)
print((x ** 2).requires_grad)
with torch.no_grad():
    print((x ** 2).requires_grad)

a = torch.tensor([2., 3.], requires_grad=True, device=device)
b = torch.tensor([6., 4.], requires_grad=True, device=device)
Q = 3 * a ** 3 - b ** 2
external_grad = torch.tensor([1., 1.], device=device)
Q.backward(gradient=external_grad)
print(9 * a ** 2 == a.grad)
print(-2 * b == b.grad)

# --- following the graph backwards ------------------------------------------------------------
net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).to(device)
with torch.no_grad():
    for prm in net.parameters():
        prm.copy_(torch.from_numpy(rng.standard_normal(tuple(prm.shape)).astype(np.float32)))
target = torch.arange(1, 3, dtype=torch.float32, device=device).view(1, -1)
loss = nn.MSELoss()(net(randn(1, 4)), target)
print(loss)
print(loss.grad_fn.name())
fn = loss.grad_fn
names = []
while fn is not None:
    names.append(fn.name())
    nxt = [f for f, _ in fn.next_functions if f is not None]
    fn = nxt[0] if nxt else None
print(" -> ".join(names))
net.zero_grad()
print("bias grad before backward:", net[0].bias.grad)
loss.backward()
print("bias grad after backward:", net[0].bias.grad)

# --- frozen parameters: only the new head trains ----------------------------------------------
for param in net.parameters():
    param.requires_grad = False
net[2] = nn.Linear(3, 2).to(device)
with torch.no_grad():
    net[2].weight.copy_(torch.from_numpy(rng.standard_normal((2, 3)).astype(np.float32)))
    net[2].bias.zero_()
trainable = [n for n, prm in net.named_parameters() if prm.requires_grad]
print("trainable:", trainable)
opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
loss = nn.MSELoss()(net(randn(8, 4)), randn(8, 2))
loss.backward()
opt.step()
print("frozen grad:", net[0].weight.grad, f"head grad norm: {net[2].weight.grad.norm().item():.6f}")

# --- torch.autograd.grad and the functional API --------------------------------------------------
u = randn(3, requires_grad=True)
f = (u.sin() * u).sum()
(g,) = torch.autograd.grad(f, u, create_graph=True)
(gg,) = torch.autograd.grad(g.sum(), u)
print(g.detach(), gg)
print(torch.allclose(g, u.sin() + u * u.cos()))
J = torch.autograd.functional.jacobian(lambda v: v.exp() * v.sum(), randn(3))
print(J)
