"""``gpuarr.optim``: optimizers and learning-rate schedulers with PyTorch's API.

Example:
    >>> opt = gpuarr.optim.Adam(model.parameters(), lr=1e-3)
    >>> sched = gpuarr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    >>> opt.zero_grad(); loss.backward(); opt.step(); sched.step()
"""

from __future__ import annotations

from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad", "Adamax", "Muon",
           "Adafactor", "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS", "lr_scheduler", "swa_utils"]
