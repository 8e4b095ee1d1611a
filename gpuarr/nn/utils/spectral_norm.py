"""Spectral normalization by a forward pre-hook (torch.nn.utils.spectral_norm): before each
forward, ``<name>`` is recomputed as ``<name>_orig / sigma`` with ``sigma`` estimated by power
iteration on the buffers ``<name>_u`` and ``<name>_v``. The parametrization form is
:func:`gpuarr.nn.utils.parametrizations.spectral_norm`."""

from __future__ import annotations

from typing import Any

from ... import linalg
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from .. import functional as F
from ..conv_transpose import ConvTranspose1d, ConvTranspose2d
from ..conv_transpose3d import ConvTranspose3d
from ..module import Module
from ..parameter import Parameter

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook",
           "spectral_norm", "remove_spectral_norm"]


class SpectralNorm:
    """The forward pre-hook of :func:`spectral_norm` for one parameter.

    Args:
        name: the parameter's name.
        n_power_iterations: power-iteration steps per forward in training mode.
        dim: the dim giving the rows of the weight seen as a matrix.
        eps: added to norms in normalizations.
    """

    _version: int = 1  # the state_dict layout: <name>_orig, <name>_u, <name>_v

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """``weight`` as a matrix whose rows run along ``dim``."""
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        """``<name>_orig / sigma``; with ``do_power_iteration`` the ``u``/``v`` buffers first
        take ``n_power_iterations`` steps (in place)."""
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(F.normalize(weight_mat.t().mv(u), dim=0, eps=self.eps))
                    u.copy_(F.normalize(weight_mat.mv(v), dim=0, eps=self.eps))
                # clones: backward must see the vectors of this forward, not later updates
                u = u.clone()
                v = v.clone()
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        """Put the normalized weight back as a plain parameter."""
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat: Tensor, u: Tensor, target_sigma) -> Tensor:
        """The ``v`` with ``u = normalize(W v)`` and ``u . W v = target_sigma`` (for
        checkpoints older than the ``_v`` buffer): ``v = pinv(W^T W) W^T u``, rescaled."""
        gram = weight_mat.t().mm(weight_mat)
        vals, vecs = linalg.eigh(gram)
        tol = vals.abs().amax() * max(gram.shape) * _float_eps(vals)
        inv = (vals.abs() > tol).to(vals.dtype) / vals.where(vals.abs() > tol, 1.0)
        v = (vecs * inv) @ vecs.t() @ weight_mat.t().mv(u)
        return v * (target_sigma / u.dot(weight_mat.mv(v)))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> SpectralNorm:
        """Move ``module.<name>`` to ``<name>_orig``, add the ``u``/``v`` buffers and register
        the hooks."""
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        with no_grad():
            weight_mat = fn.reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            u = F.normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=fn.eps)
            v = F.normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        module.register_state_dict_post_hook(SpectralNormStateDictHook(fn))
        module.register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


def _float_eps(t: Tensor) -> float:
    import numpy as np  # the dtype's machine epsilon (host constant)
    return float(np.finfo(t._data.dtype).eps)


class SpectralNormLoadStateDictPreHook:
    """Loads checkpoints of the layout before the ``<name>_v`` buffer (``<name>``,
    ``<name>_orig`` and ``<name>_u``), solving for ``v``."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs) -> None:
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        if version is None and weight_key not in state_dict and all(
                weight_key + s in state_dict for s in ("_orig", "_u", "_v")):
            return  # the current layout
        missing = [weight_key + s for s in ("_orig", "", "_u") if weight_key + s not in state_dict]
        if missing:
            if strict:
                missing_keys.extend(missing)
            return
        with no_grad():
            weight_orig = state_dict[weight_key + "_orig"]
            weight = state_dict.pop(weight_key)
            sigma = (weight_orig / weight).mean()
            weight_mat = fn.reshape_weight_to_matrix(weight_orig)
            u = state_dict[weight_key + "_u"]
            state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(weight_mat, u, sigma)


class SpectralNormStateDictHook:
    """Records the spectral-norm layout version in the state_dict metadata."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata) -> None:
        meta = local_metadata.setdefault("spectral_norm", {})
        key = self.fn.name + ".version"
        if key in meta:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        meta[key] = self.fn._version


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Spectral normalization by a hook: before every forward ``module.<name>`` becomes
    ``<name>_orig / sigma``, ``sigma`` the largest singular value estimated by power
    iteration (training mode: ``n_power_iterations`` steps updating the buffers ``<name>_u``
    and ``<name>_v``; eval mode: the stored vectors).

    Args:
        module: the module.
        name: the parameter's name.
        n_power_iterations: power-iteration steps per forward in training mode.
        eps: added to norms in normalizations.
        dim: the dim giving the rows (default 0, 1 for ConvTranspose).

    Returns:
        ``module``.

    Example:
        >>> m = spectral_norm(nn.Linear(20, 40))
        >>> m.weight_u.shape
        gpuarr.Size([40])
    """
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) \
            else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`spectral_norm`: ``module.<name>`` becomes a plain parameter again.

    Raises:
        ValueError: if ``module`` has no spectral_norm on ``name``.

    Example:
        >>> remove_spectral_norm(spectral_norm(nn.Linear(20, 40)))
        Linear(in_features=20, out_features=40, bias=True)
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            break
    else:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    for store, cls in ((module._state_dict_hooks, SpectralNormStateDictHook),
                       (module._load_state_dict_pre_hooks, SpectralNormLoadStateDictPreHook)):
        for k, hook in store.items():
            if isinstance(hook, cls) and hook.fn.name == name:
                del store[k]
                break
    return module
