"""gpuarr's custom CUDA kernels, declared as data.

Every kernel gpuarr launches on CUDA is listed once in :data:`ELEMENTWISE` as an
:class:`ElementwiseSpec`. The CuPy backend builds ``cupy.ElementwiseKernel`` objects from these
specs on first use; the test suite compiles every spec with NVRTC (for sm_80 and sm_90, every
dtype and array layout) on machines without a GPU, so a kernel that does not compile fails CI
before it reaches one.

The fused optimizer kernels repeat the generic update formulas of ``optim/sgd.py`` and
``optim/adam.py`` term by term. Every constant that depends only on the hyper-parameters
(``1 - beta1``, ``1 - beta2``, the bias corrections) is computed on the host in double
precision and passed in, so that float32 parameters see the same constants as the generic path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ElementwiseSpec", "ELEMENTWISE", "FUSED_DTYPES", "spec"]

FUSED_DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class ElementwiseSpec:
    """One ``cupy.ElementwiseKernel``.

    Attributes:
        name: the kernel's name (also its CUDA symbol).
        in_params / out_params / operation / preamble: as ``cupy.ElementwiseKernel`` takes them.
        dtypes: the dtypes ``T`` is instantiated with.
        array_inputs: input parameters that callers pass as arrays; the others are passed as
            Python scalars (this decides the generated kernel's signature).
    """

    name: str
    in_params: str
    out_params: str
    operation: str
    preamble: str = ""
    dtypes: tuple = FUSED_DTYPES
    array_inputs: frozenset = field(default_factory=lambda: frozenset({"g"}))


# The two-sided lerp torch uses for ``m.lerp_(d, w)``: exact at both ends of the weight range.
_LERP = """
T diff = d - m;
m = w1 < 0.5 ? m + w1 * diff : d - diff * (1 - w1);
"""

ELEMENTWISE: tuple = (
    ElementwiseSpec(
        "gpuarr_sgd",
        "T g, T lr, T wd, T sign",
        "T p",
        "p -= lr * (sign * g + wd * p);",
    ),
    # ``first`` (0 or 1): the buffer starts as the first direction, undamped (as torch)
    ElementwiseSpec(
        "gpuarr_sgd_momentum",
        "T g, T lr, T wd, T sign, T momentum, T damp1, T first, T nesterov",
        "T p, T buf",
        """
        T d = sign * g + wd * p;
        buf = first != 0 ? d : momentum * buf + damp1 * d;
        T step = nesterov != 0 ? d + momentum * buf : buf;
        p -= lr * step;
        """,
    ),
    ElementwiseSpec(
        "gpuarr_adam",
        "T g, T sign, T wd, T decay, T w1, T b2, T w2, T bc2_sqrt, T eps, T step_size",
        "T p, T m, T v",
        "T d = sign * g + wd * p;\np *= decay;\n" + _LERP + """
        v = v * b2 + (d * d) * w2;
        p -= step_size * (m / (sqrt(v) / bc2_sqrt + eps));
        """,
    ),
    ElementwiseSpec(
        "gpuarr_adam_amsgrad",
        "T g, T sign, T wd, T decay, T w1, T b2, T w2, T bc2_sqrt, T eps, T step_size",
        "T p, T m, T v, T vmax",
        "T d = sign * g + wd * p;\np *= decay;\n" + _LERP + """
        v = v * b2 + (d * d) * w2;
        vmax = vmax > v ? vmax : v;
        p -= step_size * (m / (sqrt(vmax) / bc2_sqrt + eps));
        """,
    ),
)

_BY_NAME = {s.name: s for s in ELEMENTWISE}


def spec(name: str) -> ElementwiseSpec:
    """The spec of kernel ``name``."""
    return _BY_NAME[name]
