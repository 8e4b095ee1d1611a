"""Result types of ops that return several tensors (``torch.return_types``).

Each type is a named tuple with torch's class name and field names, so that both
``values, indices = x.max(0)`` and ``x.max(0).values`` work, and so that
``isinstance(r, gpuarr.return_types.max)`` holds for what ``gpuarr.max`` returns. Every op of
gpuarr that returns one of these uses the class defined here (there is one class per name).

As in torch, a type can also be built from one sequence: ``return_types.max((v, i))``, and
each has an ``<name>_out`` twin for the ``out=`` form of its op.

Example:
    >>> r = gpuarr.tensor([[1., 5.], [7., 2.]]).max(1)
    >>> type(r) is gpuarr.return_types.max, r.indices
    (True, tensor([1, 0]))
"""

from __future__ import annotations

import collections
from typing import Any

all_return_types: list[type] = []


def _make(name: str, fields: tuple[str, ...]) -> type:
    """A named-tuple class ``name`` with ``fields``, printed and built the way torch's are."""
    base = collections.namedtuple(name, fields)
    n = len(fields)

    def __new__(cls, *args: Any, **kwargs: Any):
        # torch's structseq types are built from one sequence; namedtuple's from the fields
        if len(args) == 1 and not kwargs and n > 1 and isinstance(args[0], (tuple, list)):
            args = tuple(args[0])
            if len(args) != n:
                raise TypeError(f"gpuarr.return_types.{name}() takes a {n}-sequence "
                                f"({len(args)}-sequence given)")
        return base.__new__(cls, *args, **kwargs)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"gpuarr.return_types.{name}(\n{body})"

    cls = type(name, (base,), {
        "__slots__": (), "__new__": __new__, "__repr__": __repr__, "__module__": __name__,
        "__qualname__": name,
        "__doc__": f"Result of ``{name}``: a named tuple ``({', '.join(fields)})``.",
    })
    all_return_types.append(cls)
    return cls


_VI = ("values", "indices")

# ops over one dim that return the picked values and their positions
max = _make("max", _VI)  # shadows the builtin here, as torch.return_types.max does
min = _make("min", _VI)
sort = _make("sort", _VI)
topk = _make("topk", _VI)
kthvalue = _make("kthvalue", _VI)
median = _make("median", _VI)
nanmedian = _make("nanmedian", _VI)
mode = _make("mode", _VI)
cummax = _make("cummax", _VI)
cummin = _make("cummin", _VI)
aminmax = _make("aminmax", ("min", "max"))
frexp = _make("frexp", ("mantissa", "exponent"))
histogram = _make("histogram", ("hist", "bin_edges"))
histogramdd = _make("histogramdd", ("hist", "bin_edges"))

# linear algebra
slogdet = _make("slogdet", ("sign", "logabsdet"))
qr = _make("qr", ("Q", "R"))
svd = _make("svd", ("U", "S", "V"))
geqrf = _make("geqrf", ("a", "tau"))
triangular_solve = _make("triangular_solve", ("solution", "cloned_coefficient"))
lu_unpack = _make("lu_unpack", ("P", "L", "U"))
linalg_slogdet = _make("linalg_slogdet", ("sign", "logabsdet"))
linalg_svd = _make("linalg_svd", ("U", "S", "Vh"))
linalg_eigh = _make("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_eig = _make("linalg_eig", ("eigenvalues", "eigenvectors"))
linalg_qr = _make("linalg_qr", ("Q", "R"))
linalg_cholesky_ex = _make("linalg_cholesky_ex", ("L", "info"))
linalg_inv_ex = _make("linalg_inv_ex", ("inverse", "info"))
linalg_solve_ex = _make("linalg_solve_ex", ("result", "info"))
linalg_lstsq = _make("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
linalg_lu = _make("linalg_lu", ("P", "L", "U"))
linalg_lu_factor = _make("linalg_lu_factor", ("LU", "pivots"))
linalg_lu_factor_ex = _make("linalg_lu_factor_ex", ("LU", "pivots", "info"))
linalg_ldl_factor = _make("linalg_ldl_factor", ("LD", "pivots"))
linalg_ldl_factor_ex = _make("linalg_ldl_factor_ex", ("LD", "pivots", "info"))

# the types of the ``out=`` forms (``torch.max(x, 0, out=(v, i))`` is a ``max_out``): same
# fields; torch has one for every type above but histogramdd
for _cls in list(all_return_types):
    if _cls.__name__ != "histogramdd":
        globals()[f"{_cls.__name__}_out"] = _make(f"{_cls.__name__}_out", _cls._fields)
del _cls

__all__ = [c.__name__ for c in all_return_types] + ["all_return_types"]
