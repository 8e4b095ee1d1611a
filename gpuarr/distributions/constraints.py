"""Constraints: the regions where distribution parameters and samples live (torch's API).

A :class:`Constraint` has ``check(value) -> bool tensor`` (one entry per event, i.e. the last
``event_dim`` dims are reduced), ``is_discrete`` and ``event_dim``. Distributions list theirs in
``arg_constraints`` (checked at construction when validation is on) and ``support`` (checked
by ``log_prob`` and friends).

Available: ``boolean``, ``cat``, ``corr_cholesky``, ``dependent``, ``dependent_property``,
``greater_than``, ``greater_than_eq``, ``half_open_interval``, ``independent``,
``integer_interval``, ``interval``, ``is_dependent``, ``less_than``, ``lower_cholesky``,
``lower_triangular``, ``MixtureSameFamilyConstraint``, ``multinomial``, ``nonnegative``,
``nonnegative_integer``, ``one_hot``, ``positive``, ``positive_definite``, ``positive_integer``,
``positive_semidefinite``, ``real``, ``real_vector``, ``simplex``, ``square``, ``stack``,
``symmetric``, ``unit_interval``.

Example:
    >>> from gpuarr.distributions import constraints
    >>> constraints.positive.check(gpuarr.tensor([1.0, -1.0]))
    tensor([ True, False])
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _make
from ..ops.reduction import all as all_
from ..ops.stacking import cat as _cat
from ..ops.stacking import stack as _stack

__all__ = [
    "Constraint", "MixtureSameFamilyConstraint", "boolean", "cat", "corr_cholesky", "dependent",
    "dependent_property", "greater_than",
    "greater_than_eq", "half_open_interval", "independent", "integer_interval", "interval",
    "is_dependent", "less_than", "lower_cholesky", "lower_triangular", "multinomial",
    "nonnegative", "nonnegative_integer", "one_hot", "positive", "positive_definite",
    "positive_integer", "positive_semidefinite", "real", "real_vector", "simplex", "square",
    "stack", "symmetric", "unit_interval",
]


class Constraint:
    """Base class: a region over which a variable is valid.

    Attributes:
        is_discrete: whether the region is discrete.
        event_dim: how many rightmost dims together form one event (``check`` reduces them).
    """

    is_discrete = False
    event_dim = 0

    def check(self, value: Tensor) -> Tensor:
        """A bool tensor of shape ``value.shape[:value.dim() - event_dim]``: True where valid."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.__class__.__name__[1:] + "()"


class _Bounded(Constraint):
    """A constraint with ``lower_bound`` and/or ``upper_bound``: its repr lists them."""

    def __repr__(self) -> str:
        bounds = ", ".join(f"{k}={v}" for k, v in vars(self).items()
                           if k in ("lower_bound", "upper_bound"))
        return f"{self.__class__.__name__[1:]}({bounds})"


class _Dependent(Constraint):
    """A placeholder for values whose support depends on other parameters (not checkable)."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented) -> None:
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented) -> _Dependent:
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, x):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint) -> bool:
    """True if ``constraint`` is a dependent placeholder (it cannot be checked)."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """``@property`` that, read on the class, is a dependent constraint (e.g. ``support``)."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented,
                 event_dim=NotImplemented) -> None:
        property.__init__(self, fn)
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    def __call__(self, fn) -> _DependentProperty:  # type: ignore[override]
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


def _reduce_events(result: Tensor, ndims: int) -> Tensor:
    """AND over the rightmost ``ndims`` dims of a bool tensor."""
    if ndims == 0:
        return result
    lead = tuple(result.shape[: result.dim() - ndims])
    size = 1
    for n in result.shape[result.dim() - ndims:]:
        size *= n
    return all_(result.reshape(lead + (size,)), -1)  # explicit size: works for empty values


class _IndependentConstraint(Constraint):
    """A constraint whose rightmost ``reinterpreted_batch_ndims`` dims form one event."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        if not isinstance(base_constraint, Constraint):
            raise TypeError("base_constraint must be a Constraint")
        if not isinstance(reinterpreted_batch_ndims, int) or reinterpreted_batch_ndims < 0:
            raise ValueError("reinterpreted_batch_ndims must be a non-negative int")
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value: Tensor) -> Tensor:
        result = self.base_constraint.check(value)
        if result.dim() < self.reinterpreted_batch_ndims:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        return _reduce_events(result, self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__[1:]}({self.base_constraint!r}, "
                f"{self.reinterpreted_batch_ndims})")


class MixtureSameFamilyConstraint(Constraint):
    """The support of a ``MixtureSameFamily``: the component support checked with the
    component dim added back (``value.unsqueeze(-1 - event_dim)``)."""

    def __init__(self, base_constraint: Constraint) -> None:
        if not isinstance(base_constraint, Constraint):
            raise AssertionError("base_constraint must be a Constraint, got "
                                 f"{type(base_constraint).__name__}")
        self.base_constraint = base_constraint

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim

    def check(self, value):
        if value.dim() < self.event_dim:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        result = self.base_constraint.check(value.unsqueeze(-1 - self.event_dim))
        keep = value.dim() - self.event_dim
        return _reduce_events(result, result.dim() - keep)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.base_constraint!r})"


class _Boolean(Constraint):
    """The two values {0, 1}."""

    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    """One-hot vectors along the last dim."""

    is_discrete = True
    event_dim = 1

    def check(self, value):
        is_boolean = all_((value == 0) | (value == 1), -1)
        return is_boolean & (value.sum(-1) == 1)


class _IntegerInterval(_Bounded):
    """Integers in ``[lower_bound, upper_bound]``."""

    is_discrete = True

    def __init__(self, lower_bound, upper_bound) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound) & (value <= self.upper_bound)


class _IntegerGreaterThan(_Bounded):
    """Integers in ``[lower_bound, inf)``."""

    is_discrete = True

    def __init__(self, lower_bound) -> None:
        self.lower_bound = lower_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound)


class _Real(Constraint):
    """The extended real line (anything but NaN)."""

    def check(self, value):
        return value == value


class _GreaterThan(_Bounded):
    """``(lower_bound, inf]``."""

    def __init__(self, lower_bound) -> None:
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound


class _GreaterThanEq(_Bounded):
    """``[lower_bound, inf)``."""

    def __init__(self, lower_bound) -> None:
        self.lower_bound = lower_bound

    def check(self, value):
        return value >= self.lower_bound


class _LessThan(_Bounded):
    """``[-inf, upper_bound)``."""

    def __init__(self, upper_bound) -> None:
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound


class _Interval(_Bounded):
    """``[lower_bound, upper_bound]``."""

    def __init__(self, lower_bound, upper_bound) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value <= self.upper_bound)


class _HalfOpenInterval(_Interval):
    """``[lower_bound, upper_bound)``."""

    def check(self, value):
        return (value >= self.lower_bound) & (value < self.upper_bound)


class _Simplex(Constraint):
    """Probability vectors along the last dim: ``x >= 0`` and ``|x.sum(-1) - 1| < 1e-6``."""

    event_dim = 1

    def check(self, value):
        return all_(value >= 0, -1) & ((value.sum(-1) - 1).abs() < 1e-6)


class _Multinomial(Constraint):
    """Non-negative integer count vectors summing to at most ``upper_bound``."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound) -> None:
        self.upper_bound = upper_bound

    def check(self, x):
        return all_(x >= 0, -1) & (x.sum(-1) <= self.upper_bound)


class _LowerTriangular(Constraint):
    """Lower-triangular square matrices."""

    event_dim = 2

    def check(self, value):
        v = value.detach()
        return _reduce_events(v.tril() == v, 2)


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal."""

    event_dim = 2

    def check(self, value):
        v = value.detach()
        return _LowerTriangular().check(v) & all_(v.diagonal(dim1=-2, dim2=-1) > 0, -1)


class _CorrCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal and rows of unit length (Cholesky
    factors of correlation matrices); row norms within ``10 n eps`` of 1."""

    event_dim = 2

    def check(self, value):
        v = value.detach()
        tol = float(np.finfo(v.dtype.np).eps) * v.shape[-1] * 10  # 10: torch's fudge factor
        row_norm = (v * v).sum(-1).sqrt()
        return _LowerCholesky().check(v) & all_((row_norm - 1.0).abs() <= tol, -1)


class _Square(Constraint):
    """Square matrices."""

    event_dim = 2

    def check(self, value):
        xp = value._device._xp()
        ok = value.shape[-2] == value.shape[-1]
        return _make(xp.full(tuple(value.shape[:-2]), ok, dtype=bool), value._device)


class _Symmetric(_Square):
    """Symmetric square matrices (to within ``atol=1e-6``)."""

    def check(self, value):
        sq = super().check(value)
        if not bool(all_(sq)):
            return sq
        v = value.detach()
        xp = v._device._xp()
        close = xp.isclose(v._data, v._data.swapaxes(-1, -2), atol=1e-6)
        return _make(xp.all(close, axis=(-2, -1)), v._device)


class _PositiveSemidefinite(_Symmetric):
    """Symmetric matrices with non-negative eigenvalues."""

    def _eigenvalues_ok(self, ev):
        return ev >= 0

    def check(self, value):
        sym = super().check(value)
        if not bool(all_(sym)):
            return sym
        xp = value._device._xp()
        ev = xp.linalg.eigvalsh(value.detach()._data)
        return _make(xp.all(self._eigenvalues_ok(ev), axis=-1), value._device)


class _PositiveDefinite(_PositiveSemidefinite):
    """Symmetric matrices with positive eigenvalues."""

    def _eigenvalues_ok(self, ev):
        return ev > 0


def _check_dim_in_range(value: Tensor, dim: int) -> None:
    if not -value.dim() <= dim < value.dim():
        raise AssertionError(f"dim {dim} out of range for value with {value.dim()} dimensions")


class _Cat(Constraint):
    """``cseq[i]`` on the ``i``-th block (``lengths[i]`` entries) along ``dim`` (the layout
    of :func:`gpuarr.cat`)."""

    def __init__(self, cseq, dim: int = 0, lengths=None) -> None:
        if not all(isinstance(c, Constraint) for c in cseq):
            raise AssertionError("All elements of cseq must be Constraint instances")
        self.cseq = list(cseq)
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.cseq)
        if len(self.lengths) != len(self.cseq):
            raise AssertionError(
                f"lengths ({len(self.lengths)}) must match cseq ({len(self.cseq)})")
        self.dim = dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        _check_dim_in_range(value, self.dim)
        checks, start = [], 0
        for constr, length in zip(self.cseq, self.lengths):
            checks.append(constr.check(value.narrow(self.dim, start, length)))
            start += length
        return _cat(checks, self.dim)


class _Stack(Constraint):
    """``cseq[i]`` on the ``i``-th slice along ``dim`` (the layout of :func:`gpuarr.stack`)."""

    def __init__(self, cseq, dim: int = 0) -> None:
        if not all(isinstance(c, Constraint) for c in cseq):
            raise AssertionError("All elements of cseq must be Constraint instances")
        self.cseq = list(cseq)
        self.dim = dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        dim = max(c.event_dim for c in self.cseq)
        if self.dim + dim < 0:
            dim += 1
        return dim

    def check(self, value):
        _check_dim_in_range(value, self.dim)
        vs = [value.select(self.dim, i) for i in range(value.shape[self.dim])]
        return _stack([c.check(v) for v, c in zip(vs, self.cseq)], self.dim)


dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack
