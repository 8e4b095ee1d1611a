"""``replace_all_batch_norm_modules_``: make batch norm modules stop tracking running
statistics, so that a model can run under :func:`vmap` without updating shared buffers."""

from __future__ import annotations

from ..nn.module import Module
from ..nn.normalization import _BatchNorm

__all__ = ["replace_all_batch_norm_modules_"]


def _without_running_stats(module: Module) -> None:
    if isinstance(module, _BatchNorm) and module.track_running_stats:
        module.running_mean = None
        module.running_var = None
        module.num_batches_tracked = None
        module.track_running_stats = False


def replace_all_batch_norm_modules_(root: Module) -> Module:
    """In place: every batch norm module in ``root`` gets ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` set to None and ``track_running_stats`` to
    False (it then normalises with the batch's own statistics, also in eval mode).

    Args:
        root: the model (itself a batch norm module, or containing some).

    Returns:
        ``root``.

    Example:
        >>> net = gpuarr.nn.Sequential(gpuarr.nn.Linear(3, 4), gpuarr.nn.BatchNorm1d(4))
        >>> replace_all_batch_norm_modules_(net)[1].running_mean is None
        True
    """
    for module in root.modules():  # includes root itself
        _without_running_stats(module)
    return root
