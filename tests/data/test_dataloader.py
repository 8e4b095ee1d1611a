"""gpuarr.utils.data: datasets, samplers, DataLoader ordering and collation."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import gpuarr
from gpuarr.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    random_split,
)


class _Range(Dataset):
    """Sample i is the int i."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i


def _order(loader) -> list[int]:
    return [int(v) for batch in loader for v in batch.tolist()]


def _gen(seed: int) -> gpuarr.Generator:
    return gpuarr.Generator().manual_seed(seed)


# ---- ordering under a seed ----


def test_same_seed_same_order_and_is_a_permutation():
    a = _order(DataLoader(_Range(50), batch_size=8, shuffle=True, generator=_gen(3)))
    b = _order(DataLoader(_Range(50), batch_size=8, shuffle=True, generator=_gen(3)))
    c = _order(DataLoader(_Range(50), batch_size=8, shuffle=True, generator=_gen(4)))
    assert a == b
    assert a != c
    assert sorted(a) == sorted(c) == list(range(50))
    assert a == gpuarr.randperm(50, generator=_gen(3)).tolist()


def test_epochs_reshuffle_and_replay_with_the_generator():
    loader = DataLoader(_Range(30), batch_size=30, shuffle=True, generator=_gen(1))
    e1, e2 = _order(loader), _order(loader)
    assert e1 != e2 and sorted(e1) == sorted(e2)
    loader.generator.manual_seed(1)
    assert _order(loader) == e1


def test_default_generator_is_seeded_by_manual_seed():
    loader = DataLoader(_Range(40), batch_size=5, shuffle=True)
    gpuarr.manual_seed(7)
    a = _order(loader)
    gpuarr.manual_seed(7)
    b = _order(loader)
    gpuarr.manual_seed(8)
    c = _order(loader)
    assert a == b != c
    assert a != list(range(40))


def test_no_shuffle_is_sequential_and_drop_last():
    loader = DataLoader(_Range(10), batch_size=4)
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(loader) == 3
    dl = DataLoader(_Range(10), batch_size=4, drop_last=True)
    assert [b.tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(dl) == 2
    shuffled = DataLoader(_Range(10), batch_size=4, shuffle=True, drop_last=True,
                          generator=_gen(0))
    sizes = [len(b) for b in shuffled]
    assert sizes == [4, 4] and len(shuffled) == 2


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    rs = RandomSampler(range(6), generator=_gen(2))
    assert sorted(rs) == list(range(6)) and len(rs) == 6
    more = list(RandomSampler(range(4), num_samples=10, generator=_gen(2)))
    assert len(more) == 10 and sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3]
    rep = list(RandomSampler(range(3), replacement=True, num_samples=100, generator=_gen(2)))
    assert len(rep) == 100 and set(rep) == {0, 1, 2}
    sub = list(SubsetRandomSampler([10, 20, 30], generator=_gen(5)))
    assert sorted(sub) == [10, 20, 30]
    assert list(BatchSampler(range(5), 2, False)) == [[0, 1], [2, 3], [4]]
    assert list(BatchSampler(range(5), 2, True)) == [[0, 1], [2, 3]]
    assert len(BatchSampler(range(5), 2, False)) == 3
    with pytest.raises(ValueError, match="positive integer value, but got batch_size=0"):
        BatchSampler(range(5), 0, False)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)


def test_sampler_and_batch_sampler_options():
    ds = _Range(6)
    loader = DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [b.tolist() for b in loader] == [[5, 4], [3, 2], [1, 0]]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [1], [2, 3, 4]])
    assert [b.tolist() for b in loader] == [[0, 5], [1], [2, 3, 4]]
    loader = DataLoader(ds, batch_size=None)
    assert list(loader) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=[0])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=3, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    # num_workers is accepted and loading stays in this process
    assert _order(DataLoader(ds, batch_size=4, num_workers=2)) == list(range(6))


# ---- collation ----


Point = collections.namedtuple("Point", ["x", "y"])


def _torchify(obj):
    """Turn gpuarr tensors inside a batch into NumPy for comparison with torch's collate."""
    if isinstance(obj, (gpuarr.Tensor, torch.Tensor)):
        return ("T", str(obj.dtype).split(".")[-1], obj.detach().cpu().numpy().tolist())
    if isinstance(obj, dict):
        return {k: _torchify(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, *[_torchify(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_torchify(v) for v in obj])
    return obj


def _samples(lib):
    t = (lambda a: torch.tensor(a)) if lib is torch else (lambda a: gpuarr.tensor(a))
    return [
        {"img": t(np.full((2, 2), i, np.float32)), "label": i, "w": 0.5 * i, "name": f"s{i}",
         "pair": (t([i, i + 1]), np.float32(i)), "arr": np.arange(3) + i,
         "pt": Point(i, float(i)), "flag": i % 2 == 0, "lst": [i, 2 * i]}
        for i in range(3)
    ]


def test_default_collate_matches_torch():
    ours = default_collate(_samples(gpuarr))
    ref = tud.default_collate(_samples(torch))
    assert _torchify(ours) == _torchify(ref)
    assert isinstance(ours["pair"], list)  # tuples come back as lists, as in torch
    assert ours["img"].shape == (3, 2, 2) and ours["w"].dtype == gpuarr.float64
    assert ours["label"].dtype == gpuarr.int64 and ours["flag"].dtype == gpuarr.bool


def test_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([gpuarr.ones(2), gpuarr.ones(3)])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_collate_of_tensors_that_require_grad_is_differentiable():
    a = gpuarr.ones(2, requires_grad=True)
    b = gpuarr.ones(2, requires_grad=True)
    out = default_collate([a, b])
    (out * 3).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]


def test_loader_with_dicts_and_custom_collate():
    class DictDs(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": gpuarr.full((3,), float(i)), "y": i}

    batches = list(DataLoader(DictDs(), batch_size=2))
    assert [b["y"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["x"].tolist() == [[0.0] * 3, [1.0] * 3]
    raw = list(DataLoader(DictDs(), batch_size=2, collate_fn=lambda s: [d["y"] for d in s]))
    assert raw == [[0, 1], [2, 3], [4]]


# ---- TensorDataset / Subset / random_split ----


def test_tensor_dataset_batches(device):
    x = gpuarr.arange(20, dtype=gpuarr.float32, device=device).reshape(10, 2)
    y = gpuarr.arange(10, device=device)
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert xi.tolist() == [6.0, 7.0] and yi.item() == 3
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=_gen(0))
    slow = DataLoader(ds, batch_size=4, shuffle=True, generator=_gen(0),
                      collate_fn=lambda s: default_collate(s))
    for (xb, yb), (xs, ys) in zip(loader, slow):
        assert xb.device == x.device and xb.dtype == gpuarr.float32 and yb.dtype == gpuarr.int64
        assert xb.tolist() == xs.tolist() and yb.tolist() == ys.tolist()
        assert xb.cpu().numpy()[:, 0].tolist() == [2.0 * v for v in yb.tolist()]
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(gpuarr.ones(3), gpuarr.ones(4))


def test_subset_and_concat():
    ds = _Range(10)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [7, 2, 5]
    cat = ConcatDataset([_Range(3), _Range(2)])
    assert len(cat) == 5 and [cat[i] for i in range(5)] == [0, 1, 2, 0, 1] and cat[-1] == 1
    assert len(_Range(2) + _Range(4)) == 6


def test_random_split_lengths_and_fractions_match_torch():
    ds = _Range(11)
    for lengths in ([0.5, 0.3, 0.2], [0.7, 0.3], [3, 8]):
        ours = random_split(ds, lengths, generator=_gen(0))
        ref = tud.random_split(range(11), lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in ours] == [len(s) for s in ref]
        items = [ds[i] for s in ours for i in s.indices]
        assert sorted(items) == list(range(11))


def test_random_split_is_seeded():
    ds = _Range(20)
    a = [s.indices for s in random_split(ds, [15, 5], generator=_gen(1))]
    b = [s.indices for s in random_split(ds, [15, 5], generator=_gen(1))]
    c = [s.indices for s in random_split(ds, [15, 5], generator=_gen(2))]
    assert a == b != c
    gpuarr.manual_seed(5)
    d = [s.indices for s in random_split(ds, [0.75, 0.25])]
    gpuarr.manual_seed(5)
    e = [s.indices for s in random_split(ds, [0.75, 0.25])]
    assert d == e


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(_Range(5), [2, 2])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(_Range(5), [0.5, 1.5, -1.0])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(_Range(2), [0.9, 0.1])


def test_random_split_then_loader_uses_fast_path_consistently():
    x = gpuarr.arange(30, dtype=gpuarr.float32).reshape(15, 2)
    y = gpuarr.arange(15)
    train, _ = random_split(TensorDataset(x, y), [10, 5], generator=_gen(0))
    xb, yb = next(iter(DataLoader(train, batch_size=10)))
    assert yb.tolist() == train.indices
    assert xb.tolist() == [[2.0 * i, 2.0 * i + 1] for i in train.indices]


# ---- iterable datasets ----


class _Stream(IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n


def test_iterable_dataset():
    assert [b.tolist() for b in DataLoader(_Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in DataLoader(_Stream(5), batch_size=2, drop_last=True)] == [
        [0, 1], [2, 3]]
    assert len(DataLoader(_Stream(5), batch_size=2)) == 3
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(_Stream(5), shuffle=True)
