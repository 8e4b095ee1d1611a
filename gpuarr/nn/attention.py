"""``MultiheadAttention`` (torch's ``nn.MultiheadAttention``: same parameters, state-dict keys,
defaults, masks and return values)."""

from __future__ import annotations

from .._creation import empty
from .._tensor import Tensor
from . import functional as F
from .functional._attention import _canonical_mask, _none_or_dtype
from .init import constant_, xavier_normal_, xavier_uniform_
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A :class:`Linear` (the class of ``MultiheadAttention.out_proj``, named as in torch)."""


class MultiheadAttention(Module):
    """Multi-head attention: ``concat(head_1..head_h) @ W_out^T``, each head
    ``softmax(q k^T / sqrt(d) + mask) v`` on its slice of the projected q, k, v.

    Args:
        embed_dim: model dim E (divisible by ``num_heads``).
        num_heads: number of heads.
        dropout: dropout on the attention weights (training mode only).
        bias: in/out projection biases.
        add_bias_kv: learn a bias key/value appended to the keys and values.
        add_zero_attn: append a zero key/value.
        kdim, vdim: key/value feature dims (default E); when they differ from E the
            projections are separate ``q_proj_weight``/``k_proj_weight``/``v_proj_weight``
            instead of the packed ``in_proj_weight``.
        batch_first: inputs and output are ``(N, L, E)`` instead of ``(L, N, E)``.
        device, dtype: where and how to create the parameters.

    Forward:
        ``forward(query, key, value, key_padding_mask=None, need_weights=True,
        attn_mask=None, average_attn_weights=True, is_causal=False)`` returns
        ``(attn_output, attn_weights)``; see
        :func:`gpuarr.nn.functional.multi_head_attention_forward`. Boolean masks use True for
        "may not attend" (the opposite of ``scaled_dot_product_attention``'s).

    Example:
        >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = gpuarr.randn(2, 5, 16)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        (gpuarr.Size([2, 5, 16]), gpuarr.Size([2, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None,
                 dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead")
        fk = {"device": device, "dtype": dtype}
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty((embed_dim, embed_dim), **fk))
            self.k_proj_weight = Parameter(empty((embed_dim, self.kdim), **fk))
            self.v_proj_weight = Parameter(empty((embed_dim, self.vdim), **fk))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty((3 * embed_dim, embed_dim), **fk))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **fk))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **fk)
        if add_bias_kv:
            self.bias_k = Parameter(empty((1, 1, embed_dim), **fk))
            self.bias_v = Parameter(empty((1, 1, embed_dim), **fk))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            xavier_uniform_(self.in_proj_weight)
        else:
            xavier_uniform_(self.q_proj_weight)
            xavier_uniform_(self.k_proj_weight)
            xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            constant_(self.in_proj_bias, 0.0)
            constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value``.

        Args:
            query: ``(L, N, E)``, ``(N, L, E)`` with batch_first, or unbatched ``(L, E)``.
            key: ``(S, N, kdim)`` (``(N, S, kdim)``, ``(S, kdim)``).
            value: ``(S, N, vdim)`` (``(N, S, vdim)``, ``(S, vdim)``).
            key_padding_mask: ``(N, S)`` (``(S,)`` unbatched): bool, True ignores that key;
                or float, added to the scores.
            need_weights: also return the attention weights (the fused attention op runs
                either way; with weights, fully masked rows are NaN as in torch).
            attn_mask: ``(L, S)`` or ``(N * num_heads, L, S)``: bool, True is not allowed;
                or float, added to the scores.
            average_attn_weights: average the returned weights over the heads.
            is_causal: hint that ``attn_mask`` is the causal mask (``attn_mask`` is required).

        Returns:
            ``(attn_output, attn_weights)``: output shaped like ``query`` with E features;
            weights ``(N, L, S)`` (averaged) or ``(N, num_heads, L, S)``, without the batch
            dim for unbatched input, or None when ``need_weights`` is False.
        """
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                           _none_or_dtype(attn_mask), "attn_mask", query.dtype)
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        common = dict(training=self.training, key_padding_mask=key_padding_mask,
                      need_weights=need_weights, attn_mask=attn_mask,
                      average_attn_weights=average_attn_weights, is_causal=is_causal,
                      batch_first=self.batch_first)
        if not self._qkv_same_embed_dim:
            return F.multi_head_attention_forward(
                query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
                self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
                self.out_proj.weight, self.out_proj.bias, use_separate_proj_weight=True,
                q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
                v_proj_weight=self.v_proj_weight, **common)
        return F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, **common)

    def merge_masks(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None,
                    query: Tensor) -> tuple[Tensor | None, int | None]:
        """Combine masks as torch's fast path does: returns ``(merged_mask, mask_type)`` with
        type 0 (attn_mask), 1 (key_padding_mask) or 2 (both, ``(N, heads, L, L)``)."""
        mask_type = None
        merged = None
        if key_padding_mask is not None:
            mask_type = 1
            merged = key_padding_mask
        if attn_mask is not None:
            batch_size, seq_len, _ = query.shape
            mask_type = 2
            if attn_mask.dim() == 3:
                expanded = attn_mask.view(batch_size, -1, seq_len, seq_len)
            else:
                expanded = attn_mask.view(1, 1, seq_len, seq_len).expand(
                    batch_size, self.num_heads, -1, -1)
            merged = expanded
            if key_padding_mask is not None:
                merged = expanded + key_padding_mask.view(batch_size, 1, 1, seq_len).expand(
                    -1, self.num_heads, -1, -1)
        return merged, mask_type
