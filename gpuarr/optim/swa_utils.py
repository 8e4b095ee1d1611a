"""``gpuarr.optim.swa_utils``: weight averaging of a model over training (stochastic weight
averaging, exponential moving averages), the SWA learning-rate schedule, and recomputing batch
norm statistics for averaged weights, with torch's names and behaviour.

Example:
    >>> model = gpuarr.nn.Linear(4, 2)
    >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
    >>> opt = gpuarr.optim.SGD(model.parameters(), lr=0.1)
    >>> for _ in range(3):
    ...     opt.zero_grad(); model(gpuarr.randn(8, 4)).sum().backward(); opt.step()
    ...     ema.update_parameters(model)
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from .. import _dtype as D
from .._core.grad_mode import no_grad
from .._creation import tensor
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from .lr_scheduler import LRScheduler, _format_param
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """An in-place exponential moving average over lists of tensors:
    ``ema += (1 - decay) * (current - ema)``.

    Args:
        decay: the weight of the running average, in [0, 1].

    Returns:
        ``update(ema_list, current_list, num_averaged)``.

    Example:
        >>> AveragedModel(gpuarr.nn.Linear(2, 2), multi_avg_fn=get_ema_multi_avg_fn(0.9))
    """
    _check_decay(decay)

    def ema_update(ema_params: list, current_params: list, _num_averaged) -> None:
        with no_grad():
            for ema, cur in zip(ema_params, current_params, strict=True):
                if ema.is_floating_point():
                    ema.lerp_(cur, 1 - decay)
                else:
                    ema.copy_(ema * decay + cur * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """An in-place running mean over lists of tensors:
    ``avg += (current - avg) / (num_averaged + 1)``.

    Returns:
        ``update(avg_list, current_list, num_averaged)``.

    Example:
        >>> AveragedModel(gpuarr.nn.Linear(2, 2), multi_avg_fn=get_swa_multi_avg_fn())
    """

    def swa_update(avg_params: list, current_params: list, num_averaged) -> None:
        with no_grad():
            for avg, cur in zip(avg_params, current_params, strict=True):
                if avg.is_floating_point():
                    avg.lerp_(cur, 1.0 / (float(num_averaged) + 1))
                else:
                    avg.add_((cur - avg) / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """An exponential moving average of one tensor: returns ``decay * ema + (1 - decay) *
    current``.

    Args:
        decay: the weight of the running average, in [0, 1].

    Returns:
        ``avg_fn(ema, current, num_averaged) -> Tensor``.

    Example:
        >>> AveragedModel(gpuarr.nn.Linear(2, 2), avg_fn=get_ema_avg_fn(0.9))
    """
    _check_decay(decay)

    def ema_update(ema, current, num_averaged):
        with no_grad():
            return decay * ema + (1 - decay) * current

    return ema_update


def get_swa_avg_fn() -> Callable:
    """The running mean of one tensor: returns ``avg + (current - avg) / (num_averaged + 1)``.

    Returns:
        ``avg_fn(avg, current, num_averaged) -> Tensor``.

    Example:
        >>> AveragedModel(gpuarr.nn.Linear(2, 2), avg_fn=get_swa_avg_fn())
    """

    def swa_update(avg, current, num_averaged):
        with no_grad():
            return avg + (current - avg) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are an average of ``model``'s over the calls of
    :meth:`update_parameters` (the plain mean by default: stochastic weight averaging).

    Args:
        model: the model to average (deep-copied).
        device: where the copy lives (default: where ``model`` is).
        avg_fn: ``avg_fn(averaged, current, num_averaged) -> Tensor``, one tensor at a time.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, num_averaged)``, in place.
        use_buffers: average the buffers too (else they are copied from ``model``).

    Example:
        >>> swa = AveragedModel(model)
        >>> swa.update_parameters(model)   # after each epoch of SWA training
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=D.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """Run the averaged copy."""
        return self.module(*args, **kwargs)

    def _pairs(self, model: Module):
        if self.use_buffers:
            return (itertools.chain(self.module.parameters(), self.module.buffers()),
                    itertools.chain(model.parameters(), model.buffers()))
        return self.parameters(), model.parameters()

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average (the first call copies them).

        Args:
            model: the model being trained (same architecture).
        """
        mine, theirs = self._pairs(model)
        averaged, current = [], []
        first = int(self.n_averaged) == 0
        with no_grad():
            for p_avg, p_model in zip(mine, theirs):
                cur = p_model.detach().to(p_avg.device)
                averaged.append(p_avg.detach())
                current.append(cur)
                if first:
                    p_avg.detach().copy_(cur)
            if not first:
                n = self.n_averaged
                if self.avg_fn is None:
                    (self.multi_avg_fn or get_swa_multi_avg_fn())(averaged, current, n)
                else:
                    for p_avg, cur in zip(averaged, current, strict=True):
                        p_avg.copy_(self.avg_fn(p_avg, cur, n.to(p_avg.device)))
            if not self.use_buffers:  # buffers (batch-norm statistics) follow the model
                for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_avg.detach().copy_(b_model.detach().to(b_avg.device))
            self.n_averaged += 1


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute the running statistics of ``model``'s batch-norm layers with one pass over
    ``loader`` (a cumulative average: each layer's momentum is None during the pass).

    Args:
        loader: batches; a list/tuple batch contributes its first element.
        model: the model (for example an :class:`AveragedModel`).
        device: where to move each batch first.

    Example:
        >>> update_bn(train_loader, swa_model)
    """
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` steps (cosine or
    linear), then hold it there.

    Args:
        optimizer: the optimizer.
        swa_lr: the target learning rate (or one per param group).
        anneal_epochs: steps of annealing (0: jump to ``swa_lr``).
        anneal_strategy: 'cos' or 'linear'.
        last_epoch: the index of the last epoch (-1 to start).

    Example:
        >>> sched = SWALR(opt, swa_lr=0.05, anneal_epochs=5)
        >>> sched.step()   # after each epoch of the SWA phase
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        for lr, group in zip(_format_param("swa_lr", optimizer, swa_lr),
                             optimizer.param_groups, strict=True):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        # the learning rate the annealing started from, recovered from the current one
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, strategy: str) -> None:
        self._anneal_strategy = strategy
        self.anneal_func = self._cosine_anneal if strategy == "cos" else self._linear_anneal

    def get_lr(self) -> list:
        """The learning rates of this step."""
        self._warn_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        starts = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha)
                  for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / span)))
        return [g["swa_lr"] * alpha + lr * (1 - alpha)
                for g, lr in zip(self.optimizer.param_groups, starts, strict=True)]

    def state_dict(self) -> dict:
        """The scheduler's state (without the optimizer and the annealing function)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict`."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
