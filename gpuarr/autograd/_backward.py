"""``autograd.backward`` and ``autograd.grad``: check the roots, make their gradients, run
the core's engine."""

from __future__ import annotations

from .._core.engine import (
    _accumulate_leaf,
    _accumulate_via_node,
    _Owner,
    _run_post_acc_hooks,
    run_backward,
)
from .._core.tensor import TensorBase
from .._creation import ones_like, zeros_like

__all__ = ["backward", "grad"]


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return (x,)


def _make_root_grads(outputs, grad_outputs, create_graph: bool):
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind not in "fV":
                raise RuntimeError(
                    "grad can be implicitly created only for real scalar outputs but got "
                    f"{out.dtype}"
                )
            g = ones_like(out)
        elif not isinstance(g, TensorBase):
            raise TypeError(f"gradient must be a Tensor or None, got {type(g).__name__}")
        else:
            if g.shape != out.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                    f"has a shape of {out.shape}."
                )
            if g._device is not out._device:
                raise RuntimeError(
                    f"Mismatch in device: grad_output[{i}] is on {g.device} and output[{i}] is on "
                    f"{out.device}."
                )
            if not create_graph:
                g = g.detach()
        grads.append(g)
    return grads


def _check_outputs(outputs) -> None:
    for i, t in enumerate(outputs):
        if not t._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves.

    Args:
        tensors: a Tensor or sequence of Tensors to differentiate.
        grad_tensors: matching gradients (may be None for one-element tensors).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the backward pass for higher-order derivatives.
        inputs: if given, accumulate only into these tensors.

    Example:
        >>> x = gpuarr.tensor(2.0, requires_grad=True)
        >>> gpuarr.autograd.backward(x * x); x.grad
        tensor(4.)
    """
    outputs = _as_tuple(tensors)
    gouts = _as_tuple(grad_tensors)
    if gouts is not None and len(gouts) != len(outputs):
        raise RuntimeError(
            f"grad_tensors has {len(gouts)} elements but tensors has {len(outputs)}"
        )
    _check_outputs(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_root_grads(outputs, gouts, create_graph)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        grads = run_backward(outputs, roots, retain_graph, create_graph, inputs=inputs,
                             allow_unused=True, accumulate=False, run_input_nodes=True)
        owner = _Owner(roots)
        for t, g in zip(inputs, grads):
            if g is None:
                continue
            if t._gfn is None and getattr(t, "_acc_hooks", None) is not None:
                # a leaf with AccumulateGrad hooks: they run around the accumulation
                _accumulate_via_node(t, g, create_graph, owner)
                continue
            _accumulate_leaf(t, g, create_graph, owner)
            if t._gfn is None and t._post_acc_hooks:
                _run_post_acc_hooks(t)
        return
    run_backward(outputs, roots, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False, is_grads_batched: bool = False, materialize_grads=False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned rather than accumulated.

    Args:
        outputs: Tensor(s) to differentiate.
        inputs: Tensor(s) to differentiate with respect to.
        grad_outputs: d(loss)/d(outputs); may be None for one-element outputs.
        retain_graph: keep the graph (default: ``create_graph``).
        create_graph: make the result differentiable (for grad of grad).
        allow_unused: return None for inputs that do not affect the outputs.
        materialize_grads: return zeros instead of None for unused inputs.

    Returns:
        A tuple with one gradient per input.

    Example:
        >>> x = gpuarr.tensor(3.0, requires_grad=True)
        >>> (g,) = gpuarr.autograd.grad(x ** 3, x, create_graph=True)   # 27
        >>> gpuarr.autograd.grad(g, x)                                   # (18,)
    """
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    for i, t in enumerate(ins):
        if not t._rg:
            raise RuntimeError(
                f"One of the differentiated Tensors does not require grad (input {i})"
            )
    gouts = _as_tuple(grad_outputs)
    _check_outputs(outs)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_root_grads(outs, gouts, create_graph)
    res = run_backward(outs, roots, retain_graph, create_graph, inputs=ins,
                       allow_unused=allow_unused or materialize_grads, accumulate=False)
    if materialize_grads:
        res = tuple(zeros_like(t) if g is None else g for t, g in zip(ins, res))
    return res

