"""Fused CUDA updates for SGD and Adam/AdamW: one elementwise kernel per parameter and step
instead of a chain of CuPy ufuncs (each of which would read and write the whole tensor).

Only used for float32/float64 parameters on CUDA; every other case takes the generic path in
``sgd.py`` / ``adam.py``, whose formulas these kernels repeat term by term. CuPy is imported
when a kernel is first needed.
"""

from __future__ import annotations

import functools

FUSED_DTYPES = ("float32", "float64")


@functools.cache
def _kernels() -> dict:
    import cupy as cp

    sgd_plain = cp.ElementwiseKernel(
        "T g, T lr, T wd, T sign",
        "T p",
        "p -= lr * (sign * g + wd * p);",
        "gpuarr_sgd",
    )
    # ``first`` (0 or 1): the buffer starts as the first direction, undamped (as torch)
    sgd_momentum = cp.ElementwiseKernel(
        "T g, T lr, T wd, T sign, T momentum, T damp1, T first, T nesterov",
        "T p, T buf",
        """
        T d = sign * g + wd * p;
        buf = first != 0 ? d : momentum * buf + damp1 * d;
        T step = nesterov != 0 ? d + momentum * buf : buf;
        p -= lr * step;
        """,
        "gpuarr_sgd_momentum",
    )
    adam = cp.ElementwiseKernel(
        "T g, T sign, T wd, T decay, T w1, T b2, T bc2_sqrt, T eps, T step_size",
        "T p, T m, T v",
        """
        T d = sign * g + wd * p;
        p *= decay;
        m += w1 * (d - m);
        v = b2 * v + (1 - b2) * d * d;
        p -= step_size * m / (sqrt(v) / bc2_sqrt + eps);
        """,
        "gpuarr_adam",
    )
    adam_amsgrad = cp.ElementwiseKernel(
        "T g, T sign, T wd, T decay, T w1, T b2, T bc2_sqrt, T eps, T step_size",
        "T p, T m, T v, T vmax",
        """
        T d = sign * g + wd * p;
        p *= decay;
        m += w1 * (d - m);
        v = b2 * v + (1 - b2) * d * d;
        vmax = vmax > v ? vmax : v;
        p -= step_size * m / (sqrt(vmax) / bc2_sqrt + eps);
        """,
        "gpuarr_adam_amsgrad",
    )
    return {"sgd": sgd_plain, "sgd_momentum": sgd_momentum, "adam": adam,
            "adam_amsgrad": adam_amsgrad}


def fusable(p) -> bool:
    """Whether ``p``'s update can run as one fused kernel (CUDA, float32/64, same-dtype grad)."""
    return (p._device.type == "cuda" and p.dtype.name in FUSED_DTYPES
            and p.grad._data.dtype == p._data.dtype)


def sgd_step(p, buf, lr: float, wd: float, maximize: bool, momentum: float,
             dampening: float, nesterov: bool, first: bool) -> None:
    """One fused SGD update of ``p`` (and its momentum buffer ``buf`` array, if any)."""
    k = _kernels()
    sign = -1.0 if maximize else 1.0
    if buf is None:
        k["sgd"](p.grad._data, lr, wd, sign, p._data)
    else:
        k["sgd_momentum"](p.grad._data, lr, wd, sign, momentum, 1.0 - dampening,
                          1.0 if first else 0.0, 1.0 if nesterov else 0.0, p._data, buf)


def adam_step(p, m, v, vmax, *, sign: float, wd: float, decay: float, beta1: float,
              beta2: float, bc2_sqrt: float, eps: float, step_size: float) -> None:
    """One fused Adam/AdamW update of ``p`` with moment arrays ``m``, ``v`` (``vmax`` with
    amsgrad, else None)."""
    k = _kernels()
    args = (p.grad._data, sign, wd, decay, 1.0 - beta1, beta2, bc2_sqrt, eps, step_size)
    if vmax is None:
        k["adam"](*args, p._data, m, v)
    else:
        k["adam_amsgrad"](*args, p._data, m, v, vmax)
