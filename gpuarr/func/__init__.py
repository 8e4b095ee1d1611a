"""``gpuarr.func``: composable function transforms (PyTorch's ``torch.func``).

``grad``, ``vjp``, ``jacrev`` and ``hessian`` run on gpuarr's reverse-mode autograd graph and
nest (``grad(grad(f))``, ``jacfwd(jacrev(f))``); ``jvp``, ``jacfwd`` and ``linearize`` give
exact forward-mode results with the double-vjp trick; ``vmap`` maps a function over a
dimension by looping over it (see its docstring), and composes with all of them.

Example:
    >>> from gpuarr.func import grad, vmap, functional_call
    >>> model = gpuarr.nn.Linear(3, 1)
    >>> params = {k: v.detach() for k, v in model.named_parameters()}
    >>> def loss(p, x, y):
    ...     return ((functional_call(model, p, (x[None],)) - y) ** 2).mean()
    >>> per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, gpuarr.randn(8, 3),
    ...                                                       gpuarr.randn(8, 1))
    >>> per_sample["weight"].shape
    gpuarr.Size([8, 1, 3])
"""

from .batch_norm_replacement import replace_all_batch_norm_modules_
from .eager_transforms import (
    functionalize,
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    vjp,
)
from .functional_call import functional_call, stack_module_state
from .vmap import vmap

__all__ = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian",
           "linearize", "functional_call", "stack_module_state", "functionalize",
           "replace_all_batch_norm_modules_"]
