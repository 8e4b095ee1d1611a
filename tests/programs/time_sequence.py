"""Sine-wave prediction in the style of PyTorch's time-sequence example: two stacked
``LSTMCell``s in float64 unrolled by hand over each sequence, trained with L-BFGS (a closure
that re-evaluates the loss), then asked to continue the waves past the data.

The waves and the initial weights come from seeded NumPy generators, so the program prints the
same numbers under any library that runs it.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

HIDDEN = 16


class Sequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, HIDDEN)
        self.lstm2 = nn.LSTMCell(HIDDEN, HIDDEN)
        self.linear = nn.Linear(HIDDEN, 1)

    def forward(self, input, future=0):
        outputs = []
        n = input.size(0)
        h_t = torch.zeros(n, HIDDEN, dtype=torch.double, device=input.device)
        c_t = torch.zeros(n, HIDDEN, dtype=torch.double, device=input.device)
        h_t2 = torch.zeros(n, HIDDEN, dtype=torch.double, device=input.device)
        c_t2 = torch.zeros(n, HIDDEN, dtype=torch.double, device=input.device)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for _ in range(future):  # predict the future from the model's own outputs
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


def make_waves(n, length, rng):
    x = np.arange(length) + rng.integers(-20, 20, (n, 1))
    return np.sin(x / 6.0).astype(np.float64)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(3)
    data = make_waves(12, 40, rng)
    input = torch.from_numpy(data[3:, :-1]).to(device)
    target = torch.from_numpy(data[3:, 1:]).to(device)
    test_input = torch.from_numpy(data[:3, :-1]).to(device)
    test_target = torch.from_numpy(data[:3, 1:]).to(device)

    seq = Sequence().double().to(device)
    with torch.no_grad():
        for p in seq.parameters():
            bound = 1.0 / np.sqrt(HIDDEN)
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape))))
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=10)

    evals = []

    def closure():
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        evals.append(loss.item())
        loss.backward()
        return loss

    for i in range(args.steps):
        evals.clear()
        optimizer.step(closure)
        print(f"step {i}: {len(evals)} evaluations, first loss {evals[0]:.8f}, "
              f"last loss {evals[-1]:.8f}")
        with torch.no_grad():
            future = 10
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print(f"  test loss: {loss.item():.8f}")
            y = pred.detach().cpu().numpy()
        print("  predicted continuation:", " ".join(f"{v:.4f}" for v in y[0, -future:]))
    state = optimizer.state[optimizer._params[0]]
    print("optimizer function evaluations:", state["func_evals"], "iterations:", state["n_iter"])


if __name__ == "__main__":
    main()
