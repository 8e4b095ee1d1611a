"""Weight normalization by a forward pre-hook (torch.nn.utils.weight_norm, the form torch
deprecates in favour of :func:`gpuarr.nn.utils.parametrizations.weight_norm`): the weight is
recomputed from ``<name>_g`` and ``<name>_v`` before each forward."""

from __future__ import annotations

import warnings
from typing import Any

from ..module import Module
from ..parameter import Parameter
from ._weight_norm_fn import norm_except_dim, weight_norm_apply

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]

_DEPRECATED = ("`torch.nn.utils.weight_norm` is deprecated in favor of "
               "`torch.nn.utils.parametrizations.weight_norm`.")


class WeightNorm:
    """The forward pre-hook of :func:`weight_norm` for one parameter.

    Args:
        name: the parameter's name.
        dim: the dim the norm keeps apart (-1 or None: the norm of the whole tensor).
    """

    name: str
    dim: int

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Any:
        """The weight from the module's ``<name>_g`` and ``<name>_v``."""
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return weight_norm_apply(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        """Split ``module.<name>`` into ``<name>_g`` and ``<name>_v`` and register the hook."""
        warnings.warn(_DEPRECATED, FutureWarning, stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g",
                                  Parameter(norm_except_dim(weight, 2, fn.dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        """Put the computed weight back as a plain parameter."""
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalization by a hook: ``module.<name> = g * v / ||v||``, recomputed before
    every forward from the parameters ``<name>_g`` (magnitude) and ``<name>_v`` (direction).
    Deprecated in torch (a ``FutureWarning``), as here: prefer
    ``nn.utils.parametrizations.weight_norm``.

    Args:
        module: the module.
        name: the parameter's name.
        dim: the dim the norm keeps apart (None: the norm of the whole tensor).

    Returns:
        ``module``.

    Example:
        >>> m = weight_norm(nn.Linear(20, 40), name="weight")
        >>> m.weight_g.shape, m.weight_v.shape
        (gpuarr.Size([40, 1]), gpuarr.Size([40, 20]))
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`weight_norm`: ``module.<name>`` becomes a plain parameter again.

    Raises:
        ValueError: if ``module`` has no weight_norm on ``name``.

    Example:
        >>> remove_weight_norm(weight_norm(nn.Linear(20, 40)))
        Linear(in_features=20, out_features=40, bias=True)
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
