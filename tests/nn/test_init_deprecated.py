"""gpuarr/nn/init_deprecated.py: torch.nn.init's deprecated names without the underscore warn
as torch's do (same FutureWarning text, pointing at the caller) and give what the in-place
initialiser gives, on every device.

``test_wired_*`` use ``gpuarr.nn.init.<name>``, which exists once gpuarr.nn.init defines them
with ``deprecated``.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import gpuarr
import gpuarr.nn.init as init
import gpuarr.nn.init_deprecated as dep

# name -> (shape, positional args after the tensor, keyword args), torch-valid for both
CASES = {
    "uniform": ((3, 4), (-2.0, 3.0), {"generator": True}),
    "normal": ((3, 4), (1.0, 0.5), {"generator": True}),
    "constant": ((3, 4), (0.25,), {}),
    "eye": ((3, 4), (), {}),
    "dirac": ((4, 2, 3), (), {"groups": 2}),
    "xavier_uniform": ((3, 4), (2.0,), {"generator": True}),
    "xavier_normal": ((3, 4), (), {"gain": 0.5, "generator": True}),
    "kaiming_uniform": ((3, 4), (0.1,), {"mode": "fan_out", "generator": True}),
    "kaiming_normal": ((3, 4), (), {"nonlinearity": "leaky_relu", "generator": True}),
    "orthogonal": ((3, 4), (1.5,), {"generator": True}),
    "sparse": ((6, 4), (0.5,), {"std": 0.1, "generator": True}),
}


def _call(fn, mod, shape, args, kw, device=None):
    t = mod.zeros(*shape) if device is None else mod.zeros(*shape, device=device)
    kw = dict(kw)
    if kw.pop("generator", False):
        gen = mod.Generator() if device is None else mod.Generator(device=device)
        kw["generator"] = gen.manual_seed(5)
    return t, fn(t, *args, **kw)


@pytest.mark.parametrize("name", sorted(CASES))
def test_deprecated_alias_warns_like_torch_and_calls_the_inplace_version(device, name):
    shape, args, kw = CASES[name]
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        _call(getattr(torch.nn.init, name), torch, shape, args, kw)
    with warnings.catch_warnings(record=True) as gw:
        warnings.simplefilter("always")
        t, out = _call(dep.deprecated(getattr(init, name + "_")), gpuarr, shape, args, kw,
                       device)
    assert [(w.category, str(w.message)) for w in gw] == [
        (w.category, str(w.message)) for w in tw if w.category is FutureWarning]
    assert gw[0].category is FutureWarning and gw[0].filename == __file__
    assert out is t
    _, want = _call(getattr(init, name + "_"), gpuarr, shape, args, kw, device)
    assert out.tolist() == want.tolist()
    assert out.device == want.device


def test_names_docs_and_errors_follow_the_inplace_version():
    assert dep.DEPRECATED_NAMES == tuple(CASES)
    assert set(dep.DEPRECATED_NAMES) == {n for n in dir(torch.nn.init) if n + "_" in dir(
        torch.nn.init) and not n.startswith("_")}
    for name in CASES:
        fn = dep.deprecated(getattr(init, name + "_"))
        assert fn.__name__ == name and f"{name}_" in fn.__doc__
        assert fn.__wrapped__ is getattr(init, name + "_")
    eye = dep.deprecated(init.eye_)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="Only tensors with 2 "):
        eye(gpuarr.zeros(2, 2, 2))


def test_wired_init_namespace():
    for name in CASES:
        fn = getattr(init, name)
        assert fn.__name__ == name and fn.__wrapped__ is getattr(init, name + "_")
        assert name in init.__all__
    with pytest.warns(FutureWarning, match="`nn.init.uniform` is now deprecated"):
        assert init.uniform(gpuarr.zeros(2)).shape == (2,)
