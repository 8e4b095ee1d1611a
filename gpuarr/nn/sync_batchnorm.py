"""``SyncBatchNorm``: batch normalisation whose statistics span every rank of a process group.

In training mode with an initialised default process group of more than one rank, each rank
computes its own per-channel mean, biased variance and element count; one ``all_gather``
gives every rank all of them, and the global mean and variance follow from the parallel
(Chan et al.) combination, as torch's ``batch_norm_gather_stats_with_counts`` does. The layer
is a composite of differentiable gpuarr ops around two small differentiable collectives, so
its backward all-reduces the gradients of the statistics (torch's ``sum_dy`` and
``sum_dy_xmu``): each rank's input gradient is BatchNorm's gradient on the concatenated global
batch, and double backward works too. Otherwise (no process group, one rank, eval mode) it is
plain batch normalisation.
"""

from __future__ import annotations

from typing import Any

from .. import _dtype as D
from .. import distributed as dist
from .._creation import empty, full
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..ops import elementwise as E
from ..ops.stacking import cat
from . import functional as F
from .module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class _AllReduceSum(Function):
    """``all_reduce(SUM)`` into a new tensor; its own adjoint, so the backward is one too."""

    @staticmethod
    def forward(ctx, t, group):
        out = t.clone()
        dist.all_reduce(out, dist.ReduceOp.SUM, group)
        ctx.group = group
        return out

    @staticmethod
    def backward(ctx, g):
        return _AllReduceSum.apply(g, ctx.group), None


class _AllGatherRows(Function):
    """Every rank's 1-D ``t`` stacked into ``(world_size, K)``, in group-rank order.

    The backward sums the gradient over the ranks (each rank's row feeds every rank's
    result) and keeps this rank's row.
    """

    @staticmethod
    def forward(ctx, t, group, world_size):
        out = empty((world_size, t.shape[0]), dtype=t.dtype, device=t.device)
        dist.all_gather_into_tensor(out, t.contiguous(), group)
        ctx.group = group
        ctx.rank = dist.get_rank(group)
        return out

    @staticmethod
    def backward(ctx, g):
        return _AllReduceSum.apply(g.contiguous(), ctx.group)[ctx.rank], None, None


def _global_stats(x: Tensor, axes: tuple, pshape: tuple, group, world_size: int):
    """(mean, biased variance, element count) per channel over ``x`` of every rank.

    ``x`` is already in the statistics' dtype. The count is a (1,) tensor on ``x``'s device:
    no host round trip.
    """
    c = x.shape[1]
    n = x.numel() // c
    if n > 0:
        mean = x.mean(axes)
        xc = x - mean.reshape(pshape)
        var = (xc * xc).mean(axes)
    else:
        # an empty share: zero statistics weighted by a zero count, still computed from x so
        # that this rank joins the backward's all_reduce as the others do
        mean = var = x.sum(axes)
    count = full((1,), n, dtype=x.dtype, device=x.device)
    rows = _AllGatherRows.apply(cat([mean, var, count]), group, world_size)
    means, vars_, counts = rows[:, :c], rows[:, c:2 * c], rows[:, 2 * c:].detach()
    total = counts.sum(0)
    g_mean = (counts * means).sum(0) / total
    dev = means - g_mean
    g_var = (counts * (vars_ + dev * dev)).sum(0) / total
    return g_mean, g_var, total


def _update_running(running_mean, running_var, mean, var, total, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch``, with the unbiased variance
    over the global count (on the device, as torch's kernel)."""
    with no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype) * momentum)
        if running_var is not None:
            unbiased = var * (total / (total - 1))
            running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype) * momentum)


def sync_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                    running_mean: Tensor | None, running_var: Tensor | None, eps: float,
                    momentum: float, process_group, world_size: int) -> Tensor:
    """Training-mode batch norm with statistics over every rank of ``process_group``.

    Every rank of the group must call it with the same channel count, dtype and
    ``requires_grad``; the batch sizes may differ (zero included).

    Args:
        input: (N, C, *) tensor, this rank's share of the batch.
        weight, bias: (C,) affine parameters or None.
        running_mean, running_var: (C,) buffers updated in place, or None.
        eps: added to the variance.
        momentum: the running statistics' update factor.
        process_group: the group (a ProcessGroup or None for the default one).
        world_size: the group's size.

    Returns:
        The normalised input, same shape and dtype.
    """
    c = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))
    pshape = (1, c) + (1,) * (input.ndim - 2)
    # float16/bfloat16: statistics and the affine map in float32, as torch's kernels
    x = input.float() if input.dtype in (D.float16, D.bfloat16) else input
    mean, var, total = _global_stats(x, axes, pshape, process_group, world_size)
    _update_running(running_mean, running_var, mean.detach(), var.detach(), total, momentum)
    scale = E.rsqrt(var + eps)
    if weight is not None:
        scale = scale * weight.to(x.dtype)
    out = (x - mean.reshape(pshape)) * scale.reshape(pshape)
    if bias is not None:
        out = out + bias.to(x.dtype).reshape(pshape)
    return out if out.dtype == input.dtype else out.to(input.dtype)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over (N, C, *) input with statistics over all ranks of a group.

    In training mode, when a default process group is initialised
    (:func:`gpuarr.distributed.init_process_group`) and ``process_group`` (default: the whole
    world) has more than one rank, the mean and (biased) variance per channel are those of
    the inputs of all ranks together, the running statistics are updated with the unbiased
    variance over the global count, and the backward all-reduces the statistics' gradients,
    so every rank gets BatchNorm's gradient on the concatenated batch. Each rank may hold a
    different batch size. In eval mode, without a process group, or with one rank it is
    :class:`BatchNorm1d`/``2d``/``3d`` (any input of at least 2 dims).

    Unlike torch, which accepts only GPU (and other accelerator) input when it synchronises,
    CPU tensors work too (over MPI); CUDA tensors go over NCCL or MPI as the group's backend
    says. Use :meth:`convert_sync_batchnorm` to turn a model's BatchNorm layers into this.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance. Default: 1e-5.
        momentum: update factor of the running statistics; None for a cumulative average.
            Default: 0.1.
        affine: learn a per-channel weight and bias. Default: True.
        track_running_stats: keep running statistics (else batch statistics in eval mode
            too). Default: True.
        process_group: the group whose ranks share statistics; None: the whole world.
        device, dtype: of the parameters and buffers.
        bias: learn the bias (when ``affine``). Default: True.

    Shape:
        Input (N, C, *), output the same.

    Example:
        >>> # mpirun -n 2 python train.py
        >>> dist.init_process_group("mpi")
        >>> bn = nn.SyncBatchNorm(16)
        >>> y = bn(gpuarr.randn(8, 16, 4, 4))  # statistics over both ranks' 16 samples
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any | None = None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")

    def _check_non_zero_input_channels(self, input: Tensor) -> None:
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def _sync_group(self, bn_training: bool):
        """(group, world size) when the statistics must be synchronised, else None."""
        if not (bn_training and self.training and dist.is_available()
                and dist.is_initialized()):
            return None
        group = self.process_group if self.process_group else dist.group.WORLD
        world_size = dist.get_world_size(group)  # -1 on a rank outside the group
        return (group, world_size) if world_size > 1 else None

    def forward(self, input: Tensor) -> Tensor:
        """Normalise ``input`` (see the class docstring)."""
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            nbt = self.num_batches_tracked
            if nbt is None:
                raise AssertionError("num_batches_tracked must not be None")
            with no_grad():
                nbt.add_(1)
            if self.momentum is None:  # cumulative average: torch reads the count on the host
                factor = 1.0 / float(nbt.item())
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        # the buffers are updated only when tracked, and used whenever not training
        use_buffers = not self.training or self.track_running_stats
        running_mean = self.running_mean if use_buffers else None
        running_var = self.running_var if use_buffers else None
        sync = self._sync_group(bn_training)
        if sync is None:
            return F.batch_norm(input, running_mean, running_var, self.weight, self.bias,
                                bn_training, factor, self.eps)
        return sync_batch_norm(input, self.weight, self.bias, running_mean, running_var,
                               self.eps, factor, *sync)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Replace every ``BatchNorm*d`` layer in ``module`` by a :class:`SyncBatchNorm`.

        The new layers take the old ones' weight and bias (the same Parameter objects),
        running statistics, batch count, training flag and ``qconfig``.

        Args:
            module: a module containing BatchNorm layers (or one itself).
            process_group: the group to synchronise over; None: the whole world.

        Returns:
            ``module`` with its BatchNorm layers converted; a new :class:`SyncBatchNorm` when
            ``module`` itself is a BatchNorm layer.

        Example:
            >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
            >>> net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
            >>> type(net[1]).__name__
            'SyncBatchNorm'
        """
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group,
                      bias=module.bias is not None)
            if module.affine:
                with no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
