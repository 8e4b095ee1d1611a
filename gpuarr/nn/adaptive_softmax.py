"""AdaptiveLogSoftmaxWithLoss (Grave et al., "Efficient softmax approximation for GPUs")."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

from .. import _dtype as D
from .._tensor import Tensor
from ..ops.elementwise import where
from ..ops.stacking import cat
from . import functional as F
from .containers import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """A softmax over many classes that spends less work on rare ones.

    Classes ``[0, cutoffs[0])`` (the frequent ones) are scored by the ``head``, which also
    scores one entry per cluster ``[cutoffs[i], cutoffs[i+1])``; a class in a cluster gets the
    cluster's head log-probability plus its log-probability within the cluster, computed by a
    smaller projection ``tail[i]`` (hidden size ``in_features // div_value ** (i + 1)``).

    Args:
        in_features: features per input sample.
        n_classes: number of classes.
        cutoffs: increasing class boundaries of the clusters, each in [1, n_classes - 1].
        div_value: how much smaller each cluster's hidden size is than the previous one's.
        head_bias: give the head a bias.
        device, dtype: where and how to create the parameters.

    Returns (``forward``):
        A named tuple ``(output, loss)``: each target's log-probability (N,) and the mean
        negative log-likelihood (0-d).

    Example:
        >>> asm = nn.AdaptiveLogSoftmaxWithLoss(64, 1000, cutoffs=[10, 100])
        >>> out, loss = asm(gpuarr.randn(32, 64), gpuarr.randint(0, 1000, (32,)))
        >>> out.shape, loss.shape
        (gpuarr.Size([32]), gpuarr.Size([]))
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int],
                 div_value: float = 4.0, head_bias: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError(
                "cutoffs should be a sequence of unique, positive integers sorted in an "
                "increasing order, where each value is between 1 and n_classes-1")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        kw = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, **kw),
                                        Linear(hsz, osz, bias=False, **kw)))

    def reset_parameters(self) -> None:
        """Re-draw every weight with its default initialisation."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        """Each target's log-probability and the mean negative log-likelihood.

        Args:
            input_: (N, in_features), or (in_features,) with a 0-d target.
            target_: (N,) class indices in [0, n_classes), or 0-d.
        """
        self._check_shapes(input_, target_)
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)
        output = input.new_zeros(target.shape[0])
        used_rows = 0
        bounds = [0] + self.cutoffs
        for i in range(self.n_clusters + 1):
            mask = (target >= bounds[i]) & (target < bounds[i + 1])
            rows = mask.nonzero().reshape(-1)  # reads the count to the host, as torch
            used_rows += rows.numel()
            if i == 0 or rows.numel() == 0:
                continue
            relative = target.index_select(0, rows) - bounds[i]
            cluster_logprob = F.log_softmax(self.tail[i - 1](input.index_select(0, rows)), 1)
            local = cluster_logprob.gather(1, relative.unsqueeze(1)).squeeze(1)
            output = output.index_add(0, rows, local)
        if used_rows != target.shape[0]:
            raise RuntimeError(
                f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{target.min().item()}, {target.max().item()}] were found. ")
        head_logprob = F.log_softmax(self.head(input), 1)
        output = output + head_logprob.gather(1, self._head_index(target).unsqueeze(1))[:, 0]
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _check_shapes(self, input_: Tensor, target_: Tensor) -> None:
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError(
                    "Input and target should have the same size in the batch dimension.")
            if input_.ndim != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found "
                                   f"inputs with size {input_.shape}")
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found "
                                   f"inputs with size {input_.shape}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")

    def _head_index(self, target: Tensor) -> Tensor:
        """The head entry of each target: itself in the shortlist, else its cluster's."""
        cluster = target.new_zeros(target.shape)
        for c in self.cutoffs[1:-1]:
            cluster = cluster + (target >= c).to(D.int64)
        return where(target < self.shortlist_size, target, self.shortlist_size + cluster)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        head_logprob = F.log_softmax(head_output, 1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), 1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i:
                                                        self.shortlist_size + i + 1])
        return cat(parts, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of all ``n_classes`` classes.

        Args:
            input: (N, in_features).

        Returns:
            (N, n_classes).
        """
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most probable class of each sample: ``log_prob(input).argmax(1)``, computing
        the clusters only for the samples whose head prediction is a cluster.

        Args:
            input: (N, in_features).

        Returns:
            (N,) int64 class indices.
        """
        head_output = self.head(input)
        output = head_output.argmax(1)
        not_in_shortlist = output >= self.shortlist_size
        if not bool(not_in_shortlist.any()):  # host reads, as torch's
            return output
        if bool(not_in_shortlist.all()):
            return self._get_full_log_prob(input, head_output).argmax(1)
        log_prob = self._get_full_log_prob(input[not_in_shortlist],
                                           head_output[not_in_shortlist])
        output[not_in_shortlist] = log_prob.argmax(1)
        return output
