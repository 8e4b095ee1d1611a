"""Uses an API gpuarr lacks (torch.sparse.mm) after some work that runs: under
``python -m gpuarr.run_torch`` it must fail at that line, with an error that names it."""

import torch

x = torch.linspace(0.0, 1.0, 8)
print("before", float(x.sum()))
product = torch.sparse.mm(x.reshape(1, 8), x.reshape(8, 1))
print("after", product)
