"""Parametrizations built on :mod:`.parametrize` (torch.nn.utils.parametrizations):
:func:`orthogonal`, :func:`weight_norm` and :func:`spectral_norm`."""

from __future__ import annotations

from enum import Enum, auto

from ... import linalg
from ..._creation import arange, eye, zeros
from ..._dtype import finfo, int32
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.random import randn
from ...ops.stacking import cat
from .. import functional as F
from ..conv_transpose import ConvTranspose1d, ConvTranspose2d
from ..conv_transpose3d import ConvTranspose3d
from ..module import Module
from . import parametrize
from ._weight_norm_fn import norm_except_dim, weight_norm_apply

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _is_orthogonal(Q: Tensor) -> bool:
    """Whether ``Q``'s columns are orthonormal (a host check, as torch makes it)."""
    n, k = Q.shape[-2], Q.shape[-1]
    ident = eye(k, dtype=Q.dtype, device=Q.device)
    eps = 10.0 * n * finfo(Q.dtype).eps
    return bool((Q.mH @ Q - ident).abs().le(eps).all().item())


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of ``A``'s QR decomposition whose R has a positive diagonal (torch makes it from
    geqrf + householder_product; that Q is the one LAPACK's QR gives, up to those signs)."""
    Q, R = linalg.qr(A)
    return Q * R.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """``torch.linalg.householder_product``: the first ``k`` columns of
    ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^H`` with ``v_i`` column ``i`` of ``A`` below
    the diagonal and 1 on it; built from differentiable ops (``k`` rank-one updates)."""
    n, k = A.shape[-2], A.shape[-1]
    rows = arange(n, device=A.device)
    Q = eye(n, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], n, n)
    for i in range(k):
        v = A[..., :, i].where(rows > i, 0.0) + (rows == i).to(A.dtype)
        Q = Q - tau[..., i, None, None] * ((Q @ v.unsqueeze(-1)) @ v.conj().unsqueeze(-2))
    return Q[..., :, :k]


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    """Maps a matrix (or a batch) to an orthogonal / unitary one; with trivialization, to
    ``base @ map(X)`` for a stored orthogonal ``base``."""

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *,
                 use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex "
                             "tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                pad = zeros(n, n - k, dtype=X.dtype, device=X.device)
                X = cat([X, pad.expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = linalg.matrix_exp(A)
            else:
                ident = eye(n, dtype=A.dtype, device=A.device)
                Q = linalg.solve(ident - 0.5 * A, ident + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            # the diagonal holds the signs (+-1) of the columns, as torch reads them
            Q = Q * X.diagonal(dim1=-2, dim2=-1).to(int32).unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley "
                    "parametrizations when use_trivialization=False.")
            raise NotImplementedError(
                "gpuarr cannot assign to the householder parametrization when "
                "use_trivialization=False (it needs geqrf)")
        if n == k:
            Q = _make_orthogonal(Q) if not _is_orthogonal(Q) else Q.clone()
        else:
            N = randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(cat([Q, N], dim=-1))
        self.base = Q
        # -Id: the map gives Q = base @ (-Id) ... with X's diagonal read as the signs
        neg_id = -eye(Q_init.shape[-2], Q_init.shape[-1], dtype=Q_init.dtype,
                      device=Q_init.device)
        return neg_id.expand(Q_init.shape).clone()


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain ``module.<name>`` (a matrix or a batch of them) to orthogonal (unitary)
    matrices: ``Q^H Q = I`` for tall ones, ``Q Q^H = I`` for wide ones.

    ``orthogonal_map`` chooses the map from the unconstrained original: ``"matrix_exp"``
    (default for square or complex matrices), ``"cayley"`` or ``"householder"`` (default
    otherwise). With ``use_trivialization`` (default) a stored orthogonal ``base`` buffer
    multiplies the map's result, and assigning an orthogonal matrix to ``module.<name>`` sets
    it exactly.

    Args:
        module: the module.
        name: the tensor's name.
        orthogonal_map: "matrix_exp", "cayley" or "householder".
        use_trivialization: keep the ``base`` buffer (see above).

    Returns:
        ``module``.

    Raises:
        ValueError: for a tensor with fewer than 2 dims, a missing tensor, an unknown map,
            or householder with ``use_trivialization=False`` (which gpuarr cannot set up).

    Example:
        >>> m = orthogonal(nn.Linear(20, 40))
        >>> Q = m.weight
        >>> bool(((Q.T @ Q) - gpuarr.eye(20)).abs().max() < 1e-5)
        True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    if orth_enum == _OrthMaps.householder and not use_trivialization:
        raise ValueError("orthogonal_map='householder' with use_trivialization=False needs "
                         "geqrf, which gpuarr does not have")
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    """``weight = g * v / ||v||``, from ``original0 = g`` and ``original1 = v``."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_norm_apply(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalization as a parametrization: ``module.<name>`` becomes
    ``g * v / ||v||`` with magnitude ``g`` (``parametrizations.<name>.original0``) and
    direction ``v`` (``original1``), the norm taken over every dim but ``dim`` (over the whole
    tensor with ``dim=None``).

    Old checkpoints with ``<name>_g`` / ``<name>_v`` keys load into it.

    Args:
        module: the module.
        name: the weight's name.
        dim: the dim kept apart by the norm.

    Returns:
        ``module``.

    Example:
        >>> m = weight_norm(nn.Linear(20, 40))
        >>> m.parametrizations.weight.original0.shape
        gpuarr.Size([40, 1])
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _weight_norm_compat_hook(state_dict, prefix, local_metadata, strict, missing_keys,
                                 unexpected_keys, error_msgs) -> None:
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module.register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


def _reshape_weight_to_matrix(weight: Tensor, dim: int) -> Tensor:
    """``weight`` as a matrix with dim ``dim`` as its rows."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.flatten(1)


class _SpectralNorm(Module):
    """``weight / sigma``, ``sigma`` the largest singular value estimated by power iteration
    on the buffers ``_u`` and ``_v`` (run in training mode only)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = _reshape_weight_to_matrix(weight, self.dim)
            h, w = weight_mat.shape
            with no_grad():
                u = weight_mat.new_empty(h).normal_(0, 1)
                v = weight_mat.new_empty(w).normal_(0, 1)
                self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """Update ``_u`` and ``_v`` in place (they are buffers the state_dict holds)."""
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(weight_mat.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(weight_mat.H.mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = _reshape_weight_to_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = u.vdot(weight_mat.mv(v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Spectral normalization as a parametrization: ``module.<name>`` becomes
    ``W / sigma(W)``, ``sigma`` the spectral norm of ``W`` seen as a matrix whose rows run
    along ``dim``, estimated by ``n_power_iterations`` power-iteration steps per access in
    training mode (the vectors are the buffers ``parametrizations.<name>.0._u`` / ``_v``); in
    eval mode the stored vectors are used as they are.

    Args:
        module: the module.
        name: the weight's name.
        n_power_iterations: power-iteration steps per access in training mode.
        eps: added to norms in normalizations.
        dim: the dim giving the rows (default 0, 1 for ConvTranspose).

    Returns:
        ``module``.

    Raises:
        ValueError: if ``module`` has no tensor ``name``; for ``n_power_iterations <= 0``.

    Example:
        >>> m = spectral_norm(nn.Linear(20, 40))
        >>> m.parametrizations.weight.original.shape
        gpuarr.Size([40, 20])
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) \
            else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
