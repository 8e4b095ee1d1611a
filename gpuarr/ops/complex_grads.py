"""Which ops differentiate complex tensors, and how (see ``Function._complex_grad``).

An op records a complex node only when its Function says its backward is right for complex
tensors; any other op raises when a complex tensor that needs a gradient meets it, instead
of giving a silently wrong gradient. Two kinds are listed here, by op family:

* ``LINEAR``: ops whose backward moves, sums or copies the incoming gradient (reshapes,
  indexing, concatenation, sums, dtype copies...). A real-linear map's adjoint is the same for
  complex numbers, so these backwards are right as they are.
* ``HOLOMORPHIC``: ops whose backward multiplies the gradient by derivatives
  (``g * b`` for a product, ``g * y`` for exp, ``g @ b.mT`` for matmul). For complex tensors
  torch's gradient is ``g * conj(f'(z))``; the engine gets it by running the same backward on
  ``conj(g)`` and conjugating the result (``conj_backward``).

The complex-only ops (``view_as_real``, ``polar``, ``abs`` of complex...) declare their own
flag in :mod:`gpuarr.ops.complex_ops`, as do ``gpuarr.fft``, ``linalg.eig`` and ``F.linear``.
Autograd on complex tensors is otherwise not supported: e.g. the other linear algebra
decompositions, convolutions and most ``nn`` layers raise.
"""

from __future__ import annotations

from .._core.function import HOLOMORPHIC
from . import conversion as _conv
from . import decompositions as _dec
from . import elementwise as _ew
from . import indexing as _ix
from . import matmul as _mm
from . import reduction as _red
from . import shape as _sh
from . import shape_extra as _shx
from . import stacking as _st

__all__ = ["LINEAR", "HOLOMORPHIC_OPS"]

LINEAR = (
    _sh.View, _sh.Reshape, _sh.Unsqueeze, _sh.Squeeze, _sh.SqueezeDim, _sh.SqueezeDims,
    _sh.Expand, _sh.Permute, _sh.Transpose, _sh._TFn,
    _ix.Slice, _ix.Select, _ix._SliceUnsqueeze, _ix._SliceAlias, _ix.Index, _ix.IndexBackward,
    _ix.IndexSelect, _ix.IndexAddZeros, _ix.Gather, _ix.MaskedFill,
    _st.Cat, _st.Stack, _st.SplitWithSizes, _st.Split, _st.Unbind, _st.Flip, _st.Roll,
    _st.Repeat, _st.Tril, _st.Triu, _st.Diagonal,
    _red.Sum, _red.SumDim, _red.Mean, _red.MeanDim, _red.Cumsum,
    _conv.ToCopy, _conv.Clone, _conv.Relayout, _conv.Contiguous,
    _shx.Unfold, _shx.AsStrided, _mm.Trace,
    _ew.Add, _ew.Sub, _ew.RSub, _ew.Neg, _ew.Where,
)

HOLOMORPHIC_OPS = (
    _ew.Mul, _ew.Div, _ew.PowScalar, _ew.Square, _ew.Rsqrt, _ew.Sigmoid,
    _mm.Matmul,  # and its subclasses (Mm, Bmm, Mv, Dot...), which share its backward
    _dec.Solve,  # gB = A^-T g, gA = -gB X^T (linalg.eig's backward solves complex systems)
    _mm.Einsum, _red.Prod, _red.ProdDim, _red.Cumprod,
    *(getattr(_ew, name).Function for name in (
        "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "reciprocal", "sin", "cos",
        "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan", "asinh", "acosh", "atanh")),
)

for _cls in LINEAR:
    _cls._complex_grad = True
for _cls in HOLOMORPHIC_OPS:
    _cls._complex_grad = HOLOMORPHIC
