"""``vmap``: the batching transform, as a loop over the mapped dimension.

``vmap(f)(x)`` calls ``f`` once per index ``i`` of the mapped dimension on ``x.select(dim,
i)`` and stacks the results along ``out_dims``. Slicing and stacking are differentiable, so
the result composes with autograd, with nested ``vmap`` and with the differentiation
transforms (``vmap(grad(f))`` gives per-sample gradients). Semantics follow torch.func.vmap,
including its error messages; the cost is one call of ``f`` per sample.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from .. import cuda
from .._creation import zeros
from .._random import get_rng_state, set_rng_state
from .._tensor import Tensor
from ..ops.stacking import stack
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

__all__ = ["vmap", "check_randomness", "rng_guard"]

_RANDOMNESS = ("error", "different", "same")


def check_randomness(randomness: str) -> None:
    """torch's check of the ``randomness`` argument."""
    if randomness not in _RANDOMNESS:
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")


def _rng_states() -> list:
    """Snapshots of the default generators (CPU, and every CUDA device when there is one)."""
    states = [get_rng_state()]
    if cuda.is_available():
        states.extend(cuda.get_rng_state_all())
    return states


def _set_rng_states(states: list) -> None:
    set_rng_state(states[0])
    if len(states) > 1:
        cuda.set_rng_state_all(states[1:])


def _same_states(a: list, b: list) -> bool:
    # the snapshots are small CPU tensors: comparing them reads no device memory
    return all(x.numpy().tobytes() == y.numpy().tobytes() for x, y in zip(a, b))


class _Randomness:
    """Applies a ``randomness`` mode around each per-sample call."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.start = _rng_states() if mode != "different" else None

    @contextlib.contextmanager
    def sample(self):
        if self.mode == "same":
            _set_rng_states(self.start)  # every sample draws what the first one drew
        yield
        if self.mode == "error" and not _same_states(self.start, _rng_states()):
            _set_rng_states(self.start)
            raise RuntimeError(
                "vmap: called random operation while in randomness error mode. Please either "
                "use the 'same' or 'different' randomness flags on vmap or perform the "
                "randomness operation out of vmap")


@contextlib.contextmanager
def rng_guard(randomness: str):
    """One call of a function under a vmap-style ``randomness`` mode (for ``jacfwd``)."""
    with _Randomness(randomness).sample():
        yield


def _name(func) -> str:
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


def _check_out_dims(out_dims, func) -> None:
    if isinstance(out_dims, int):
        return
    for d in tree_flatten(out_dims)[0]:
        if d is not None and not isinstance(d, int):
            raise ValueError(
                f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, "
                "None or a python collection of ints representing where in the outputs the "
                "vmapped dimension should appear.")


def _flat_in_dims(in_dims, args: tuple, func) -> tuple[int, list, list, Any]:
    """Validate ``in_dims`` against ``args`` as torch does. Returns (batch size, in_dim per
    flat argument (non-negative or None), flat arguments, their structure)."""
    name = _name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or "
            "a (potentially nested) tuple matching the structure of inputs, got: "
            f"{type(in_dims)}.")
    if len(args) == 0:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
            "are trying to vmap over a function with no inputs. The latter is unsupported.")
    flat_args, spec = tree_flatten(args)
    dims = broadcast_prefix(in_dims, args)
    if dims is None:
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
            f"the structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but "
            f"inputs has structure {spec}.")
    prefix = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={{}}"
    for i, (arg, d) in enumerate(zip(flat_args, dims)):
        if d is not None and not isinstance(d, int):
            raise ValueError(prefix.format(d) + " for an input but in_dim must be either an "
                             "integer dimension or None.")
        if d is None:
            continue
        if not isinstance(arg, Tensor):
            raise ValueError(prefix.format(d) + f" for an input but the input is of type "
                             f"{type(arg)}. We cannot vmap over non-Tensor arguments, please "
                             "use None as the respective in_dim")
        n = arg.dim()
        if not -n <= d < n:
            raise ValueError(prefix.format(d) + " for some input, but that input is a Tensor "
                             f"of dimensionality {n} so expected in_dim to satisfy -{n} <= "
                             f"in_dim < {n}.")
        dims[i] = d % n
    sizes = [arg.shape[d] for arg, d in zip(flat_args, dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0], dims, flat_args, spec


def _flat_out_dims(out_dims, out, func) -> list:
    flat_out, spec = tree_flatten(out)
    if isinstance(out, Tensor):
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            return list(out_dims)
        if out_dims is None or isinstance(out_dims, int):
            return [out_dims]
        dims = None
    else:
        dims = broadcast_prefix(out_dims, out)
    if dims is None:
        raise ValueError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            "compatible with the structure of `outputs`. out_dims has structure "
            f"{tree_flatten(out_dims)[1]} but outputs has structure {spec}.")
    return dims


def _sample_args(flat_args, dims, spec, i):
    """The arguments of the call for batch index ``i`` (``None``: a zero-filled stand-in
    for a sample of an empty batch)."""
    def one(x, d):
        if d is None:
            return x
        if i is None:
            shape = tuple(x.shape[:d]) + tuple(x.shape[d + 1:])
            return zeros(shape, dtype=x.dtype, device=x.device)
        return x.select(d, i)

    return tree_unflatten([one(x, d) for x, d in zip(flat_args, dims)], spec)


def _combine(name: str, per_sample: list, out_dim, batch: int):
    """One output leaf's per-sample values joined along ``out_dim``."""
    first = per_sample[0]
    if out_dim is None:
        if isinstance(first, Tensor) and any(o is not first for o in per_sample):
            # a tensor made anew in each call is taken to depend on the mapped inputs
            raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor "
                             "when out_dim is None")
        return first
    if not isinstance(first, Tensor):
        raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                         f"{type(first)}. Did you mean to set out_dims= to None for output?")
    res = stack(per_sample, dim=out_dim)
    return res if batch else res.narrow(out_dim, 0, 0)


def vmap(func: Callable, in_dims: int | tuple = 0, out_dims: int | tuple = 0,
         randomness: str = "error", *, chunk_size: int | None = None) -> Callable:
    """Vectorise ``func`` over a dimension of its inputs.

    ``vmap(func)(x)`` equals ``stack([func(x[0]), func(x[1]), ...])``. This implementation
    loops: it calls ``func`` once per index of the mapped dimension (on ``x.select(dim, i)``)
    and stacks the results, so ``func`` may use any gpuarr op, nest further ``vmap`` s and
    differentiation transforms, and results are differentiable.

    Args:
        func: a function of Tensors (pytrees allowed) returning Tensors (pytrees allowed).
        in_dims: the mapped dimension of each positional argument: an int for all, or a
            (nested) tuple matching the arguments with ints or None (not mapped). Keyword
            arguments are never mapped.
        out_dims: where the mapped dimension goes in each output (an int, None for outputs
            that do not depend on the mapped inputs, or a tuple matching the outputs).
        randomness: ``'error'`` (raise if ``func`` draws random numbers), ``'different'``
            (independent draws per sample) or ``'same'`` (every sample draws the same
            numbers; the generator advances as for one sample).
        chunk_size: validated as torch does; with a loop it does not change the result.

    Returns:
        The batched function.

    Raises:
        ValueError: for in_dims/out_dims that do not fit the inputs/outputs, and for mapped
            dimensions of different sizes.
        RuntimeError: for a bad ``randomness``, or random draws under ``'error'``.

    Example:
        >>> x = gpuarr.randn(5, 3); y = gpuarr.randn(5, 3)
        >>> vmap(gpuarr.dot)(x, y).shape              # one dot product per row
        gpuarr.Size([5])
        >>> vmap(gpuarr.mv, in_dims=(None, 0))(gpuarr.randn(2, 3), x).shape
        gpuarr.Size([5, 2])
    """
    check_randomness(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        _check_out_dims(out_dims, func)
        batch, dims, flat_args, spec = _flat_in_dims(in_dims, args, func)
        rng = _Randomness(randomness)
        before = _rng_states() if not batch else None
        outs = []
        for i in range(batch) if batch else (None,):
            with rng.sample():
                outs.append(func(*_sample_args(flat_args, dims, spec, i), **kwargs))
        if not batch:  # the stand-in call of an empty batch draws nothing
            _set_rng_states(before)
        flat0, out_spec = tree_flatten(outs[0])
        flat_dims = _flat_out_dims(out_dims, outs[0], func)
        per_leaf = list(zip(*[tree_flatten(o)[0] for o in outs])) if flat0 else []
        name = _name(func)
        return tree_unflatten([_combine(name, list(p), d, batch)
                               for p, d in zip(per_leaf, flat_dims)], out_spec)

    return wrapped
