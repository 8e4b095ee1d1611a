"""``gpuarr.utils``: data loading (:mod:`gpuarr.utils.data`) and TensorBoard logging
(:mod:`gpuarr.utils.tensorboard`, imported only when first used so that ``import gpuarr``
does not load the TensorBoard packages).

Example:
    >>> from gpuarr.utils.data import DataLoader, TensorDataset
    >>> from gpuarr.utils.tensorboard import SummaryWriter
"""

from __future__ import annotations

import importlib
import sys

from . import data
from . import distributed_sampler as _distributed_sampler

# ``gpuarr.utils.data.distributed`` (torch's ``torch.utils.data.distributed``) while
# ``gpuarr.utils.data`` is a single module rather than a package: the sampler module is
# registered under that name, and ``DistributedSampler`` is reachable from ``data`` as in torch.
sys.modules[data.__name__ + ".distributed"] = _distributed_sampler
data.distributed = _distributed_sampler
data.DistributedSampler = _distributed_sampler.DistributedSampler

__all__ = ["data", "tensorboard"]


def __getattr__(name: str):
    # ``gpuarr.utils.tensorboard`` without an explicit import: load it on first access.
    if name == "tensorboard":
        return importlib.import_module(".tensorboard", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
