"""The op registry: one declaration gives the Tensor method, its aliases and the in-place
form, whose gradient is the out-of-place op's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr.ops import _registry

MODULE = "tests.ops.test_registry.fake_family"


def _double_plus(input, other=1.0):
    return input * 2 + other


_registry.op(_double_plus, inplace=True, aliases=("_dp",))
_registry.register(MODULE, {"_twice": lambda self: self * 2})
Family = _registry.mixin("Family", _double_plus.__module__)
Other = _registry.mixin("Other", MODULE)


def test_one_declaration_gives_method_alias_and_in_place():
    assert Family._double_plus is _double_plus and Family._dp is _double_plus
    assert Family._double_plus_.__name__ == "_double_plus_"
    assert Family._dp_.__doc__ == "In-place :func:`_dp`; returns self."
    assert Family.__slots__ == () and Other.__slots__ == ()
    assert Other._twice(gpuarr.ones(2)).tolist() == [2.0, 2.0]


def test_in_place_writes_into_self_and_moves_the_version(device):
    x = gpuarr.tensor([1.0, 2.0], device=device)
    v = x._version_value()
    assert Family._double_plus_(x, 3.0) is x
    assert x.tolist() == [5.0, 7.0] and x._version_value() == v + 1


def test_in_place_gradient_is_the_out_of_place_ops(device):
    a = gpuarr.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = a * a
    Family._double_plus_(y)  # y = 2 * a**2 + 1 in place
    y.sum().backward()
    ta = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = ta * ta
    ty.mul_(2).add_(1)
    ty.sum().backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), ta.grad.numpy())


def test_in_place_on_a_leaf_that_requires_grad_raises_as_torch():
    a = gpuarr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        Family._double_plus_(a)


def test_a_name_declared_twice_is_an_error():
    with pytest.raises(ValueError, match="declared twice"):
        _registry.register(MODULE, {"_twice": lambda self: self})


def test_every_tensor_method_of_a_family_is_its_declaration():
    from gpuarr.ops import elementwise, shape

    assert gpuarr.Tensor.expm1.__qualname__ == "Tensor.expm1"
    assert gpuarr.Tensor.expm1_.__name__ == "expm1_"
    assert gpuarr.Tensor.arctanh is gpuarr.Tensor.atanh
    assert gpuarr.Tensor.view is shape.view
    assert gpuarr.Tensor.__add__ is elementwise.ElementwiseMethods.__add__
