"""Uses an API gpuarr lacks (torch.fft.rfft) after some work that runs: under
``python -m gpuarr.run_torch`` it must fail at that line, with an error that names it."""

import torch

x = torch.linspace(0.0, 1.0, 8)
print("before", float(x.sum()))
spectrum = torch.fft.rfft(x)
print("after", spectrum)
