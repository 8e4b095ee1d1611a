"""The classic "learning PyTorch with examples" progression, as a course homework would have it:
one two-layer ReLU network fitted to random data seven ways, from hand-written backprop on bare
tensors to autograd, a custom autograd Function, nn.Sequential with hand-written updates,
torch.optim, a dynamic-graph module, and a third-order polynomial fitted to sin(x).

Data and initial weights come from NumPy (seeded), the dynamic network's depth from Python's
``random`` (seeded), so any library that runs this program sees the same numbers.
"""

import argparse
import math
import random

import numpy as np
import torch


def numpy_data(seed, n, d_in, h, d_out):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d_in)).astype(np.float32)
    y = rng.standard_normal((n, d_out)).astype(np.float32)
    w1 = (rng.standard_normal((d_in, h)) / math.sqrt(d_in)).astype(np.float32)
    w2 = (rng.standard_normal((h, d_out)) / math.sqrt(h)).astype(np.float32)
    return x, y, w1, w2


class MyReLU(torch.autograd.Function):
    """ReLU with a hand-written backward."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class LegendreP3(torch.autograd.Function):
    """P3(x) = (5x^3 - 3x) / 2, with its derivative written out."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class DynamicNet(torch.nn.Module):
    """Reuses its middle layer a random number of times per forward pass."""

    def __init__(self, d_in, h, d_out):
        super().__init__()
        self.input_linear = torch.nn.Linear(d_in, h)
        self.middle_linear = torch.nn.Linear(h, h)
        self.output_linear = torch.nn.Linear(h, d_out)

    def forward(self, x):
        h_relu = self.input_linear(x).clamp(min=0)
        for _ in range(random.randint(0, 3)):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        return self.output_linear(h_relu)


def load_numpy_weights(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for param in model.parameters():
            scale = 1.0 / math.sqrt(param.shape[-1])
            param.copy_(torch.from_numpy(
                (scale * rng.standard_normal(param.shape)).astype(np.float32)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    device = torch.device(args.device)
    dtype = torch.float

    N, D_in, H, D_out = 64, 100, 32, 10
    xn, yn, w1n, w2n = numpy_data(args.seed, N, D_in, H, D_out)
    x = torch.from_numpy(xn).to(device)
    y = torch.tensor(yn, device=device, dtype=dtype)

    # 1. tensors only: forward and backward written by hand
    # (copies: from_numpy shares the array's memory, and .to("cpu") is a no-op)
    w1 = torch.from_numpy(w1n).clone().to(device)
    w2 = torch.from_numpy(w2n).clone().to(device)
    learning_rate = 1e-3
    for t in range(args.steps):
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum().item()
        if t % args.every == args.every - 1:
            print("tensors", t, loss)
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2

    # 2. autograd, updates under no_grad, gradients zeroed by hand
    w1 = torch.tensor(w1n, device=device, requires_grad=True)
    w2 = torch.tensor(w2n, device=device, requires_grad=True)
    for t in range(args.steps):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        if t % args.every == args.every - 1:
            print("autograd", t, loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()

    # 3. a custom autograd Function; gradients dropped with grad = None
    w1 = torch.from_numpy(w1n.copy()).to(device).requires_grad_()
    w2 = torch.from_numpy(w2n.copy()).to(device).requires_grad_()
    for t in range(args.steps):
        relu = MyReLU.apply
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        if t % args.every == args.every - 1:
            print("function", t, loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad = None
            w2.grad = None

    # 4. nn.Sequential, parameters updated by hand
    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out),
    )
    load_numpy_weights(model, args.seed + 1)
    model.to(device)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    for t in range(args.steps):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        if t % args.every == args.every - 1:
            print("nn", t, loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad

    # 5. the same network with torch.optim
    model = torch.nn.Sequential(torch.nn.Linear(D_in, H), torch.nn.ReLU(),
                                torch.nn.Linear(H, D_out)).to(device)
    load_numpy_weights(model, args.seed + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for t in range(args.steps):
        loss = loss_fn(model(x), y)
        if t % args.every == args.every - 1:
            print("optim", t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # 6. a dynamic graph: the depth changes every step
    model = DynamicNet(D_in, H, D_out)
    load_numpy_weights(model, args.seed + 2)
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    for t in range(args.steps):
        loss = loss_fn(model(x), y)
        if t % args.every == args.every - 1:
            print("dynamic", t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # 7. y = sin(x) with a polynomial: nn.Flatten, indexing a Sequential, RMSprop, then
    # y = a + b * P3(c + d x) with scalar parameters and a custom Function
    xs = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    ys = torch.sin(xs)
    p = torch.tensor([1, 2, 3], device=device)
    xx = xs.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1)).to(device)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -0.2, 0.05]]))
        model[0].bias.fill_(0.3)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for t in range(args.steps):
        loss = loss_fn(model(xx), ys)
        if t % args.every == args.every - 1:
            print("poly", t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    layer = model[0]
    print(f"Result: y = {layer.bias.item():.6f} + {layer.weight[:, 0].item():.6f} x + "
          f"{layer.weight[:, 1].item():.6f} x^2 + {layer.weight[:, 2].item():.6f} x^3")

    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    for t in range(args.steps):
        P3 = LegendreP3.apply
        y_pred = a + b * P3(c + d * xs)
        loss = (y_pred - ys).pow(2).sum()
        if t % args.every == args.every - 1:
            print("legendre", t, loss.item())
        loss.backward()
        with torch.no_grad():
            for w in (a, b, c, d):
                w -= learning_rate * w.grad
                w.grad = None
    print(f"Result: y = {a.item():.6f} + {b.item():.6f} * P3({c.item():.6f} + {d.item():.6f} x)")


if __name__ == "__main__":
    main()
