"""gpuarr.utils.data: WeightedRandomSampler, StackDataset, ChainDataset against torch's."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import gpuarr
from gpuarr.utils.data import (
    ChainDataset,
    DataLoader,
    IterableDataset,
    StackDataset,
    TensorDataset,
    WeightedRandomSampler,
)


def raises_like(tfn, gfn):
    """``gfn`` raises what ``tfn`` raises in torch: the same type and message."""
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(type(te.value), match="^" + re.escape(str(te.value)) + "$"):
        gfn()


# ---- WeightedRandomSampler -------------------------------------------------------------------

def test_weighted_sampler_follows_the_weights(device):
    w = gpuarr.tensor([1.0, 0.0, 3.0, 6.0], device=device)
    s = WeightedRandomSampler(w, 20000, generator=gpuarr.Generator(device).manual_seed(1))
    idx = list(s)
    assert len(s) == 20000 and len(idx) == 20000
    assert all(isinstance(i, int) for i in idx[:10])
    freq = np.bincount(idx, minlength=4) / len(idx)
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.3, 0.6], atol=0.02)
    assert s.weights.dtype == gpuarr.float64


def test_weighted_sampler_without_replacement_is_a_draw_of_distinct_indices():
    s = WeightedRandomSampler([0.9, 0.4, 0.05, 0.2, 0.3, 0.1], 6, replacement=False)
    for _ in range(5):
        idx = list(s)
        assert sorted(idx) == list(range(6))
    t = tud.WeightedRandomSampler([0.9, 0.4, 0.05, 0.2, 0.3, 0.1], 6, replacement=False)
    assert sorted(t) == sorted(idx)


def test_weighted_sampler_generator_makes_it_repeatable():
    w = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6]
    a = list(WeightedRandomSampler(w, 7, generator=gpuarr.Generator().manual_seed(3)))
    b = list(WeightedRandomSampler(w, 7, generator=gpuarr.Generator().manual_seed(3)))
    assert a == b
    gpuarr.manual_seed(5)
    c = list(WeightedRandomSampler(w, 7))
    gpuarr.manual_seed(5)
    assert list(WeightedRandomSampler(w, 7)) == c
    assert all(0 <= i < 6 for i in a + c)


@pytest.mark.parametrize("kwargs", [
    dict(weights=[1.0, 2.0], num_samples=0),
    dict(weights=[1.0, 2.0], num_samples=-3),
    dict(weights=[1.0, 2.0], num_samples=2.0),
    dict(weights=[1.0, 2.0], num_samples=True),
    dict(weights=[1.0, 2.0], num_samples=2, replacement=1),
    dict(weights=[[1.0, 2.0]], num_samples=2),
    dict(weights=3.0, num_samples=2),
])
def test_weighted_sampler_argument_errors(kwargs):
    raises_like(lambda: tud.WeightedRandomSampler(**kwargs),
                lambda: WeightedRandomSampler(**kwargs))


def test_weighted_sampler_in_a_dataloader():
    ds = TensorDataset(gpuarr.arange(10))
    s = WeightedRandomSampler([0.0] * 9 + [1.0], 8)
    batches = [b[0].tolist() for b in DataLoader(ds, batch_size=4, sampler=s)]
    assert batches == [[9] * 4, [9] * 4]


# ---- StackDataset ----------------------------------------------------------------------------

def test_stack_dataset_tuple_and_dict_forms(device):
    x = gpuarr.arange(6.0, device=device).reshape(3, 2)
    tds = TensorDataset(x)
    s = StackDataset(tds, [10, 20, 30])
    ts = tud.StackDataset(tud.TensorDataset(torch.arange(6.0).reshape(3, 2)), [10, 20, 30])
    assert len(s) == len(ts) == 3
    (xi,), yi = s[1]
    (txi,), tyi = ts[1]
    np.testing.assert_array_equal(xi.cpu().numpy(), txi.numpy())
    assert yi == tyi == 20
    d = StackDataset(a=[1, 2], b=["x", "y"])
    assert d[1] == tud.StackDataset(a=[1, 2], b=["x", "y"])[1] == {"a": 2, "b": "y"}
    assert d.__getitems__([1, 0]) == [{"a": 2, "b": "y"}, {"a": 1, "b": "x"}]
    assert s.__getitems__([2, 0])[1][1] == 10


class _Batched:
    """A dataset with its own ``__getitems__`` (which may return the wrong number of items)."""

    def __init__(self, n, short=False):
        self.n, self.short = n, short

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return -i

    def __getitems__(self, idx):
        return [100 + i for i in idx][: len(idx) - self.short]


def test_stack_dataset_uses_nested_getitems():
    for S in (StackDataset, tud.StackDataset):
        assert S([5, 6, 7], _Batched(3)).__getitems__([0, 2]) == [(5, 100), (7, 102)]
        assert S(p=_Batched(3)).__getitems__([1]) == [{"p": 101}]
        assert S([5, 6, 7], _Batched(3))[1] == (6, -1)
    raises_like(lambda: tud.StackDataset(_Batched(3, True)).__getitems__([0, 1]),
                lambda: StackDataset(_Batched(3, True)).__getitems__([0, 1]))


def test_stack_dataset_in_a_dataloader():
    ds = StackDataset(x=TensorDataset(gpuarr.arange(4.0)), y=list(range(4)))
    (b,) = list(DataLoader(ds, batch_size=4))
    assert b["y"].tolist() == [0, 1, 2, 3] and b["x"][0].tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("args,kwargs", [
    ((), {}),
    (([1, 2],), {"b": [1, 2]}),
    (([1, 2], [1]), {}),
    ((), {"a": [1, 2], "b": [1]}),
])
def test_stack_dataset_errors(args, kwargs):
    raises_like(lambda: tud.StackDataset(*args, **kwargs),
                lambda: StackDataset(*args, **kwargs))


# ---- ChainDataset ----------------------------------------------------------------------------

class _Count(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class _TCount(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_chain_dataset():
    c = ChainDataset([_Count(2), _Count(3)])
    t = tud.ChainDataset([_TCount(2), _TCount(3)])
    assert list(c) == list(t) == [0, 1, 0, 1, 2]
    assert len(c) == len(t) == 5
    assert isinstance(c, IterableDataset)
    assert [b.tolist() for b in DataLoader(c, batch_size=2)] == [[0, 1], [0, 1], [2]]
    assert list(ChainDataset([])) == []


def test_chain_dataset_rejects_map_style():
    raises_like(lambda: list(tud.ChainDataset([_TCount(1), [1, 2]])),
                lambda: list(ChainDataset([_Count(1), [1, 2]])))
    raises_like(lambda: len(tud.ChainDataset([[1, 2]])), lambda: len(ChainDataset([[1, 2]])))


@pytest.mark.parametrize("args", [([0.0, 0.0], 2), ([1.0, 2.0], 3, False)])
def test_weighted_sampler_bad_distributions_raise_when_drawn(args):
    s = WeightedRandomSampler(*args)  # accepted when made, as in torch
    raises_like(lambda: list(tud.WeightedRandomSampler(*args)), lambda: list(s))


def test_iterable_dataset_add_chains():
    from gpuarr.utils.data import ChainDataset, IterableDataset

    class Count(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    both = Count(2) + Count(3)
    assert isinstance(both, ChainDataset) and list(both) == [0, 1, 0, 1, 2]
