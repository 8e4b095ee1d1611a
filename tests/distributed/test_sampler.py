"""``DistributedSampler`` against torch's: unshuffled partitions equal; shuffled ones with
torch's lengths, padding and cutting, the same on every rank, reshuffled by ``set_epoch``.

Most tests pass ``num_replicas``/``rank`` explicitly and run in the ordinary test run; the
last one takes them from ``gpuarr.distributed`` under ``mpirun -n 2``.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
from ddp_helpers import init_dist, requires_mpi

import gpuarr
from gpuarr.utils.data import DataLoader, DistributedSampler, TensorDataset

torch = pytest.importorskip("torch")
from torch.utils.data.distributed import DistributedSampler as TorchSampler  # noqa: E402

SIZES = [0, 1, 2, 3, 5, 7, 10, 17, 100]
REPLICAS = [1, 2, 3, 4, 8]


def _ranks(cls, n, replicas, shuffle, drop_last, seed=0, epoch=0):
    out = []
    for r in range(replicas):
        s = cls(range(n), num_replicas=replicas, rank=r, shuffle=shuffle, seed=seed,
                drop_last=drop_last)
        s.set_epoch(epoch)
        out.append((len(s), list(s)))
    return out


def _shared_list(parts: list[list[int]]) -> list[int]:
    """Interleave the ranks' lists back into the list they were split from."""
    return [parts[i % len(parts)][i // len(parts)] for i in range(sum(map(len, parts)))]


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("replicas", REPLICAS)
@pytest.mark.parametrize("n", SIZES)
def test_unshuffled_partitions_equal_torch(n, replicas, drop_last):
    assert _ranks(DistributedSampler, n, replicas, False, drop_last) == \
        _ranks(TorchSampler, n, replicas, False, drop_last)


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("replicas", REPLICAS)
@pytest.mark.parametrize("n", SIZES)
def test_shuffled_lengths_padding_and_cutting_as_torch(n, replicas, drop_last):
    for seed, epoch in [(0, 0), (3, 5)]:
        mine = _ranks(DistributedSampler, n, replicas, True, drop_last, seed, epoch)
        theirs = _ranks(TorchSampler, n, replicas, True, drop_last, seed, epoch)
        assert [len(p) for _, p in mine] == [len(p) for _, p in theirs]
        assert [k for k, _ in mine] == [k for k, _ in theirs]
        full = _shared_list([p for _, p in mine])
        tfull = _shared_list([p for _, p in theirs])
        if drop_last:  # a cut permutation: no index twice
            assert len(set(full)) == len(full) == len(tfull)
            assert set(full) <= set(range(n))
        else:  # a permutation, then its start repeated as padding
            assert sorted(full[:n]) == list(range(n))
            pad = len(full) - n
            reps = (full[:n] * (pad // max(n, 1) + 1))[:pad]
            assert full[n:] == reps
        # every index is repeated (or dropped) as often as in torch's
        assert sorted(collections.Counter(full).values()) == \
            sorted(collections.Counter(tfull).values())


def test_shuffled_same_for_every_rank_and_set_epoch_reshuffles():
    n, replicas = 103, 4
    parts = [p for _, p in _ranks(DistributedSampler, n, replicas, True, False, seed=7)]
    again = [p for _, p in _ranks(DistributedSampler, n, replicas, True, False, seed=7)]
    assert parts == again  # deterministic for a seed and epoch
    full = _shared_list(parts)
    assert sorted(full[:n]) == list(range(n))  # the ranks' shares come from one permutation
    assert full != sorted(full)  # and it is shuffled
    e1 = [p for _, p in _ranks(DistributedSampler, n, replicas, True, False, seed=7, epoch=1)]
    assert e1 != parts
    assert sorted(_shared_list(e1)[:n]) == list(range(n))
    other_seed = [p for _, p in _ranks(DistributedSampler, n, replicas, True, False, seed=8)]
    assert other_seed != parts
    s = DistributedSampler(range(n), num_replicas=2, rank=1, seed=7)
    first = list(s)
    assert list(s) == first  # no set_epoch: the same order again (as torch)
    s.set_epoch(1)
    assert list(s) != first
    s.set_epoch(0)
    assert list(s) == first


def test_invalid_rank_and_defaults_like_torch():
    for cls in (DistributedSampler, TorchSampler):
        with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval "
                                             r"\[0, 1\]"):
            cls(range(4), num_replicas=2, rank=2)
        with pytest.raises(ValueError, match="Invalid rank -1"):
            cls(range(4), num_replicas=2, rank=-1)
    s = DistributedSampler(range(4), num_replicas=2, rank=0)
    assert (s.shuffle, s.seed, s.drop_last, s.epoch) == (True, 0, False, 0)


def test_dataloader_with_sampler_gives_each_rank_its_share():
    x = gpuarr.arange(20.0).reshape(10, 2)
    ds = TensorDataset(x, gpuarr.arange(10))
    seen = []
    for r in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=r, shuffle=True, seed=1)
        sampler.set_epoch(3)
        loader = DataLoader(ds, batch_size=2, sampler=sampler)
        assert len(loader) == 3
        ys = [int(v) for _, yb in loader for v in yb.tolist()]
        assert ys == list(sampler)
        seen += ys
    assert sorted(seen) == list(range(10))


def test_import_paths():
    import importlib

    import gpuarr.utils.data as data

    mod = importlib.import_module("gpuarr.utils.data.distributed")
    from gpuarr.utils.data.distributed import DistributedSampler as again

    assert again is DistributedSampler
    assert mod.DistributedSampler is DistributedSampler is data.DistributedSampler
    assert data.distributed is mod


@requires_mpi
def test_defaults_from_the_process_group_and_ranks_agree():
    dist = init_dist()
    rank, world = dist.get_rank(), dist.get_world_size()
    s = DistributedSampler(range(101), seed=5)
    assert (s.num_replicas, s.rank) == (world, rank)
    s.set_epoch(2)
    mine = gpuarr.tensor(list(s))
    parts = [gpuarr.zeros_like(mine) for _ in range(world)]
    dist.all_gather(parts, mine)
    lists = [p.tolist() for p in parts]
    assert lists[rank] == list(s)
    full = _shared_list(lists)
    # every process drew the same permutation: together the shares cover the dataset
    assert sorted(full[:101]) == list(range(101))
    assert full[101:] == full[:len(full) - 101]
    assert np.array_equal(np.sort(np.unique(full)), np.arange(101))
