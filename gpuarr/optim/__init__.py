"""``gpuarr.optim``: optimizers and learning-rate schedulers with PyTorch's API.

Example:
    >>> opt = gpuarr.optim.Adam(model.parameters(), lr=1e-3)
    >>> sched = gpuarr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    >>> opt.zero_grad(); loss.backward(); opt.step(); sched.step()
"""

from __future__ import annotations

from . import lr_scheduler
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
