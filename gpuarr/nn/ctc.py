"""CTCLoss."""

from __future__ import annotations

from .._tensor import Tensor
from .functional._ctc import ctc_loss
from .loss import _Loss

__all__ = ["CTCLoss"]


class CTCLoss(_Loss):
    """The Connectionist Temporal Classification loss: the negative log-likelihood of a label
    sequence summed over all its alignments to an unsegmented input sequence.

    Args:
        blank: the blank label.
        reduction: 'none', 'mean' (each sample's loss divided by its target length, then
            averaged) or 'sum'.
        zero_infinity: give impossible alignments (infinite loss) 0 loss and 0 gradient.

    Shapes (see :func:`gpuarr.nn.functional.ctc_loss`): ``log_probs`` (T, N, C) or (T, C),
    ``targets`` (N, S) or concatenated, ``input_lengths`` and ``target_lengths`` (N,).

    Example:
        >>> ctc = nn.CTCLoss()
        >>> lp = gpuarr.randn(50, 16, 20).log_softmax(2).requires_grad_()
        >>> tg = gpuarr.randint(1, 20, (16, 30))
        >>> ctc(lp, tg, gpuarr.full((16,), 50), gpuarr.randint(10, 30, (16,))).backward()
    """

    def __init__(self, blank: int = 0, reduction: str = "mean",
                 zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs: Tensor, targets: Tensor, input_lengths,
                target_lengths) -> Tensor:
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                        self.reduction, self.zero_infinity)
