"""torch's top-level functional recurrent cells (``rnn_tanh_cell``, ``rnn_relu_cell``,
``lstm_cell``, ``gru_cell``) and its "native" normalisation ops (``native_layer_norm``,
``native_group_norm``, ``native_batch_norm``, ``native_dropout``, ``native_norm``).

The cells are written with gpuarr's differentiable Tensor ops (one step is two matmuls and a
few elementwise ops, so a fused kernel buys little), which gives exact higher derivatives too.
The normalisation ops reuse ``nn.functional``'s layer/group/batch norm for the output and add
the statistics torch returns alongside it; those statistics are computed without a graph,
like torch, whose derivative formulas only flow through the first output.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._creation import empty
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.functional import _misc as _Fmisc
from ..nn.functional import _norm as _Fnorm
from ._common import dtype_name
from ._out import _CPP_NAMES

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "native_layer_norm",
           "native_group_norm", "native_batch_norm", "native_dropout", "native_norm"]


def _scalar_name(t: Tensor) -> str:
    """torch's C++ scalar-type name (``float``, ``double``) used in matmul dtype errors."""
    return _CPP_NAMES.get(t.dtype.name, t.dtype.name)


def _check_cell(input: Tensor, hxs: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor) -> None:
    """torch's checks of a functional cell's arguments, with its messages."""
    for t in (input, *hxs):
        if t.ndim < 2:
            raise IndexError(
                "Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(
            f"input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}")
    for k, h in enumerate(hxs):
        if input.shape[0] != h.shape[0]:
            raise RuntimeError(
                f"Input batch size {input.shape[0]} doesn't match hidden{k} batch size "
                f"{h.shape[0]}")
        if h.shape[1] != w_hh.shape[1]:
            raise RuntimeError(
                f"hidden{k} has inconsistent hidden_size: got {h.shape[1]}, expected "
                f"{w_hh.shape[1]}")
    for a, w in ((input, w_ih), *((h, w_hh) for h in hxs)):
        if a.dtype != w.dtype:
            raise RuntimeError(
                f"expected m1 and m2 to have the same dtype, but got: {_scalar_name(a)} != "
                f"{_scalar_name(w)}")


def _gates(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    y = x.matmul(w.t())
    return y if b is None else y + b


def _simple_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
                 b_hh: Tensor | None, relu: bool) -> Tensor:
    _check_cell(input, [hx], w_ih, w_hh)
    pre = _gates(input, w_ih, b_ih) + _gates(hx, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step: ``tanh(input @ w_ih.T + b_ih + hx @ w_hh.T + b_hh)``.

    Args:
        input: ``(N, input_size)``.
        hx: hidden state ``(N, hidden_size)``.
        w_ih: ``(hidden_size, input_size)``; w_hh: ``(hidden_size, hidden_size)``.
        b_ih, b_hh: ``(hidden_size,)`` biases, each optional.

    Returns:
        The next hidden state ``(N, hidden_size)``.

    Example:
        >>> h = gpuarr.rnn_tanh_cell(x, h, w_ih, w_hh, b_ih, b_hh)
    """
    return _simple_cell(input, hx, w_ih, w_hh, b_ih, b_hh, relu=False)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step with ReLU: ``relu(input @ w_ih.T + b_ih + hx @ w_hh.T + b_hh)``.

    Args:
        input, hx, w_ih, w_hh, b_ih, b_hh: as :func:`rnn_tanh_cell`.

    Returns:
        The next hidden state ``(N, hidden_size)``.

    Example:
        >>> h = gpuarr.rnn_relu_cell(x, h, w_ih, w_hh)
    """
    return _simple_cell(input, hx, w_ih, w_hh, b_ih, b_hh, relu=True)


def lstm_cell(input: Tensor, hx: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor,
              b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step with torch's gate order ``i, f, g, o``.

    Args:
        input: ``(N, input_size)``.
        hx: ``(h, c)``, each ``(N, hidden_size)``.
        w_ih: ``(4 * hidden_size, input_size)``; w_hh: ``(4 * hidden_size, hidden_size)``.
        b_ih, b_hh: ``(4 * hidden_size,)`` biases, each optional.

    Returns:
        ``(h', c')``.

    Example:
        >>> h, c = gpuarr.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    """
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    h, c = hx
    _check_cell(input, [h, c], w_ih, w_hh)
    i, f, g, o = (_gates(input, w_ih, b_ih) + _gates(h, w_hh, b_hh)).chunk(4, 1)
    c2 = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c2.tanh(), c2


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step with torch's gate order ``r, z, n``:
    ``n = tanh(x_n + r * h_n)``, ``h' = (1 - z) * n + z * hx``.

    Args:
        input: ``(N, input_size)``.
        hx: ``(N, hidden_size)``.
        w_ih: ``(3 * hidden_size, input_size)``; w_hh: ``(3 * hidden_size, hidden_size)``.
        b_ih, b_hh: ``(3 * hidden_size,)`` biases, each optional.

    Returns:
        The next hidden state ``(N, hidden_size)``.

    Example:
        >>> h = gpuarr.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)
    """
    _check_cell(input, [hx], w_ih, w_hh)
    xr, xz, xn = _gates(input, w_ih, b_ih).chunk(3, 1)
    hr, hz, hn = _gates(hx, w_hh, b_hh).chunk(3, 1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    # n + z * (hx - n) == (1 - z) * n + z * hx, one op fewer
    return n + z * (hx - n)


def _stats(x: Tensor, axes: tuple[int, ...], eps: float) -> tuple[Tensor, Tensor]:
    """Mean and ``1/sqrt(var + eps)`` (biased variance) over ``axes``, kept as size-1 dims."""
    with no_grad():
        d = x.detach()
        mean = d.mean(axes, keepdim=True)
        rstd = (d.var(axes, correction=0, keepdim=True) + eps).rsqrt()
    return mean, rstd


def native_layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None,
                      bias: Tensor | None, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """Layer norm that also returns its statistics.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: the trailing dims to normalise over.
        weight, bias: optional affine parameters of shape ``normalized_shape``.
        eps: added to the variance.

    Returns:
        ``(out, mean, rstd)``: ``mean`` and ``rstd`` have input's leading dims and a 1 for each
        normalised dim.

    Example:
        >>> out, mean, rstd = gpuarr.native_layer_norm(x, [4], None, None, 1e-5)
    """
    out = _Fnorm.layer_norm(input, normalized_shape, weight, bias, eps)
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    mean, rstd = _stats(input, tuple(range(input.ndim - k, input.ndim)), eps)
    return out, mean, rstd


def native_group_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, N: int,
                      C: int, HxW: int, group: int,
                      eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """Group norm that also returns its statistics.

    Args:
        input: ``(N, C, *)`` with ``HxW`` elements per channel.
        weight, bias: optional ``(C,)`` affine parameters.
        N, C, HxW: input's batch size, channels and elements per channel.
        group: number of groups (divides ``C``).
        eps: added to the variance.

    Returns:
        ``(out, mean, rstd)``, the statistics of shape ``(N, group)``.

    Example:
        >>> out, mean, rstd = gpuarr.native_group_norm(x, None, None, 2, 6, 4, 3, 1e-5)
    """
    if input.numel() != N * C * HxW:
        raise RuntimeError(
            "Expected X.numel() == N * C * HxW to be true, but got false.")
    if input.ndim < 2 or C % group:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(input.shape)} and num_groups={group}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != C):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape "
                f"{list(input.shape)}")
    out = _Fnorm.group_norm(input, group, weight, bias, eps)
    if N * group == 0:
        mean = empty((N, group), dtype=input.dtype, device=input.device)
        return out, mean, mean.clone()
    mean, rstd = _stats(input.reshape(N, group, -1), (2,), eps)
    return out, mean.reshape(N, group), rstd.reshape(N, group)


def native_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                      running_mean: Tensor | None, running_var: Tensor | None, training: bool,
                      momentum: float, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """Batch norm that also returns the batch statistics it saved.

    Args:
        input: ``(N, C, *)``.
        weight, bias: optional ``(C,)`` affine parameters.
        running_mean, running_var: ``(C,)`` running statistics, updated in place when
            training; required in eval mode.
        training: use (and return) batch statistics.
        momentum: weight of the new batch statistic in the running update.
        eps: added to the variance.

    Returns:
        ``(out, save_mean, save_invstd)``: ``(C,)`` batch mean and ``1/sqrt(var + eps)`` when
        training; in eval mode both are empty ``(0,)`` tensors.

    Example:
        >>> out, m, invstd = gpuarr.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)
    """
    out = _Fnorm.batch_norm(input, running_mean, running_var, weight, bias, training,
                            momentum, eps)
    if not training:
        e = empty((0,), dtype=input.dtype, device=input.device)
        return out, e, e.clone()
    axes = (0,) + tuple(range(2, input.ndim))
    mean, rstd = _stats(input, axes, eps)
    return out, mean.reshape(-1), rstd.reshape(-1)


def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple[Tensor, Tensor]:
    """Dropout that also returns its keep mask.

    Args:
        input: a floating tensor.
        p: probability of zeroing an element.
        train: drop when true or None; otherwise return a copy of ``input`` and an all-true
            mask.

    Returns:
        ``(out, mask)``: ``out = input * mask / (1 - p)``, ``mask`` boolean of input's shape.

    Example:
        >>> out, mask = gpuarr.native_dropout(x, 0.5, True)
    """
    if train is not None and not train:
        return input.clone(), input.new_ones(input.shape).bool()
    if p < 0.0 or p > 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={1.0 - p}")
    if not input.is_floating_point():
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type "
            f"{dtype_name(input.dtype)}")
    # scaled keep mask: 1/(1-p) where kept, 0 where dropped (all 0 when p == 1)
    scaled = _Fmisc._keep_mask(input, input.shape, p)
    return input * scaled, scaled != 0


def native_norm(input: Tensor, p: float | None = 2, dim: int | Sequence[int] | None = None,
                keepdim: bool = False, dtype=None) -> Tensor:
    """The ``p``-norm of ``input``'s elements (over ``dim`` when given).

    torch implements this op only for sparse tensors; on gpuarr's dense tensors it is the
    vector norm of the elements.

    Args:
        input: a floating tensor.
        p: the order (``None`` means 2).
        dim: dims to reduce (all when None).
        keepdim: keep reduced dims as size 1.
        dtype: compute and return in this dtype.

    Returns:
        The norm (a 0-dim tensor when reducing all dims).

    Example:
        >>> gpuarr.native_norm(gpuarr.tensor([3., 4.]))   # tensor(5.)
    """
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point() and not input.is_complex():
        raise RuntimeError(
            f"norm(): input dtype should be either floating point or complex. Got "
            f"{dtype_name(input.dtype)} instead.")
    if isinstance(dim, int):
        dim = (dim,)
    return input.norm(2 if p is None else p, dim=dim, keepdim=keepdim)
