"""Numerical gradient checks: :func:`gradcheck` and :func:`gradgradcheck`.

Both compare the analytical Jacobian (one backward pass per output element) with central
finite differences, and on failure raise ``GradcheckError`` showing both Jacobians. Complex
inputs and outputs are checked as their real and imaginary parts (see :func:`_as_real`).
"""

from __future__ import annotations

import numpy as np

from .._core.grad_mode import enable_grad, no_grad
from .._core.tensor import TensorBase
from .._creation import zeros_like
from .._random import Generator
from ..backends import sync_debug
from ..ops.complex_ops import view_as_complex, view_as_real
from ..ops.random import randn
from ._backward import grad as _grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when numerical and analytical Jacobians differ."""


def _tup(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _diff_inputs(inputs):
    return [i for i, x in enumerate(inputs) if isinstance(x, TensorBase) and x.requires_grad]


def _outputs(fn, inputs):
    return [o for o in _tup(fn(*inputs))
            if isinstance(o, TensorBase) and (o.is_floating_point() or o.is_complex())]


def _as_real(func, inputs: tuple) -> tuple:
    """``(func', inputs')``: ``func`` as a function of real tensors. Complex inputs enter as
    their ``view_as_real`` pairs (fresh leaves) and complex outputs leave as such pairs, so
    the real Jacobian of ``func'`` is the whole derivative of ``func``; view_as_real and
    view_as_complex translate torch's complex gradients to it exactly."""
    cplx = [isinstance(x, TensorBase) and x.is_complex() for x in inputs]
    real_inputs = tuple(
        view_as_real(x.detach()).clone().requires_grad_(x.requires_grad) if c else x
        for x, c in zip(inputs, cplx))

    def real_func(*args):
        outs = func(*[view_as_complex(a) if c else a for a, c in zip(args, cplx)])
        return tuple(view_as_real(o) if isinstance(o, TensorBase) and o.is_complex() else o
                     for o in _tup(outs))

    return real_func, real_inputs


def _numerical(fn, inputs, idx, eps):
    """J[o][i] as float64 NumPy arrays of shape (out.numel(), in.numel())."""
    with no_grad():
        base_outs = _outputs(fn, inputs)
        jac = [[np.zeros((o.numel(), inputs[i].numel())) for i in idx] for o in base_outs]
        for col, i in enumerate(idx):
            x = inputs[i]
            if not x._data.flags.c_contiguous:
                raise GradcheckError(f"gradcheck needs contiguous inputs (input {i} is not)")
            flat = x._data.reshape(-1)  # a view of the input: perturb it in place
            for k in range(flat.size):
                # each write on the input's own device (``fn`` may end on another one)
                x._device._xp()
                sync_debug.check_array(flat)
                orig = flat[k].item()
                flat[k] = orig + eps
                plus = [o._host().astype(np.float64).reshape(-1) for o in _outputs(fn, inputs)]
                x._device._xp()
                flat[k] = orig - eps
                minus = [o._host().astype(np.float64).reshape(-1) for o in _outputs(fn, inputs)]
                x._device._xp()
                flat[k] = orig
                for r, (p, m) in enumerate(zip(plus, minus)):
                    jac[r][col][:, k] = (p - m) / (2 * eps)
    return jac


def _analytical(fn, inputs, idx):
    with enable_grad():
        outs = _outputs(fn, inputs)
        jac = [[np.zeros((o.numel(), inputs[i].numel())) for i in idx] for o in outs]
        for r, o in enumerate(outs):
            flat_n = o.numel()
            for k in range(flat_n):
                go = zeros_like(o)
                go._data.reshape(-1)[k] = 1
                if not o.requires_grad:
                    continue
                gs = _grad(o, [inputs[i] for i in idx], go, retain_graph=True,
                                   allow_unused=True)
                for col, g in enumerate(gs):
                    if g is not None:
                        jac[r][col][k, :] = g._host().astype(np.float64).reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Check ``func``'s gradients against central finite differences.

    Args:
        func: takes ``inputs`` and returns a Tensor or tuple of Tensors.
        inputs: Tensor or tuple; those with ``requires_grad=True`` are checked. Use float64
            (or complex128).
        eps: finite-difference step.
        atol, rtol: tolerances.
        raise_exception: raise GradcheckError on mismatch (else return False).

    Returns:
        True when all Jacobians match.

    Example:
        >>> x = gpuarr.randn(3, dtype=gpuarr.float64, requires_grad=True)
        >>> gpuarr.autograd.gradcheck(gpuarr.sin, (x,))
        True
    """
    func, inputs = _as_real(func, _tup(inputs))
    idx = _diff_inputs(inputs)
    if not idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    num = _numerical(func, inputs, idx, eps)
    ana = _analytical(func, inputs, idx)
    for r, (nrow, arow) in enumerate(zip(num, ana)):
        for col, (n, a) in enumerate(zip(nrow, arow)):
            if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=False):
                if not raise_exception:
                    return False
                with np.printoptions(precision=6, suppress=True, linewidth=100):
                    raise GradcheckError(
                        f"Jacobian mismatch for output {r} with respect to input {idx[col]},\n"
                        f"numerical:{n}\nanalytical:{a}\n"
                        f"max abs difference: {np.max(np.abs(a - n)) if a.size else 0.0}"
                    )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Check second derivatives: gradcheck of ``(inputs, v) -> vjp(func)(inputs, v)``.

    Args:
        func: as for :func:`gradcheck`.
        inputs: float64 tensors.
        grad_outputs: cotangents for func's outputs (random float64 if None).

    Returns:
        True when all second-order Jacobians match.
    """
    func, inputs = _as_real(func, _tup(inputs))
    idx = _diff_inputs(inputs)
    with enable_grad():
        outs = _outputs(func, inputs)
    if grad_outputs is None:
        g = Generator(outs[0].device).manual_seed(0)
        grad_outputs = tuple(
            randn(o.shape, dtype=o.dtype, device=o.device, generator=g).requires_grad_()
            for o in outs
        )
    grad_outputs = _tup(grad_outputs)
    n_in = len(inputs)

    def first_order(*args):
        xs, vs = args[:n_in], args[n_in:]
        with enable_grad():  # the numerical pass runs under no_grad, but needs this graph
            os_ = _outputs(func, xs)
            gs = _grad(os_, [xs[i] for i in idx], vs, create_graph=True,
                               allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_order, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
