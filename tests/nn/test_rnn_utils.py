"""``nn.utils.rnn`` (PackedSequence, pad/pack helpers) against torch: values, index tensors,
gradients and errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from device_helpers import resolved
from nn_helpers import to_np

import gpuarr
from gpuarr.nn.utils import rnn as R

TR = torch.nn.utils.rnn


def _seqs(lengths, rest=(2,), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n,) + rest) for n in lengths]


def _both(arrays, device):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    gs = [gpuarr.tensor(a, device=device, requires_grad=True) for a in arrays]
    return ts, gs


def _backward(t, g, device, seed=1):
    w = np.random.default_rng(seed).standard_normal(tuple(t.shape))
    (t * torch.tensor(w)).sum().backward()
    (g * gpuarr.tensor(w, device=device)).sum().backward()


def _same(g, t, msg=""):
    assert tuple(g.shape) == tuple(t.shape), msg
    np.testing.assert_allclose(to_np(g), t.detach().numpy(), rtol=1e-12, atol=1e-12,
                               err_msg=msg)


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("rest", [(), (2,), (2, 3)])
def test_pad_sequence(device, batch_first, padding_side, rest):
    ts, gs = _both(_seqs([3, 1, 4], rest), device)
    t = TR.pad_sequence(ts, batch_first, -1.5, padding_side)
    g = R.pad_sequence(gs, batch_first, -1.5, padding_side)
    _same(g, t, "padded")
    assert g.device == resolved(device)
    _backward(t, g, device)
    for a, b in zip(gs, ts):
        _same(a.grad, b.grad, "sequence grad")


def test_pad_sequence_integers_and_tensor_input(device):
    seqs = [np.arange(3), np.arange(1)]
    t = TR.pad_sequence([torch.tensor(s) for s in seqs], padding_value=7)
    g = R.pad_sequence([gpuarr.tensor(s, device=device) for s in seqs], padding_value=7)
    assert g.dtype == gpuarr.int64
    np.testing.assert_array_equal(to_np(g), t.numpy())
    stacked = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(
        to_np(R.pad_sequence(gpuarr.tensor(stacked, device=device))),
        TR.pad_sequence(torch.tensor(stacked)).numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[4, 3, 1], [2, 4, 4, 1], [1]])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_pack_padded_sequence(device, lengths, batch_first, as_tensor):
    rng = np.random.default_rng(2)
    b, t_len = len(lengths), max(lengths)
    x = rng.standard_normal((b, t_len, 3) if batch_first else (t_len, b, 3))
    (tx,), (gx,) = _both([x], device)
    enforce = lengths == sorted(lengths, reverse=True)
    tl = torch.tensor(lengths) if as_tensor else lengths
    gl = gpuarr.tensor(lengths) if as_tensor else lengths
    tp = TR.pack_padded_sequence(tx, tl, batch_first, enforce_sorted=enforce)
    gp = R.pack_padded_sequence(gx, gl, batch_first, enforce_sorted=enforce)
    assert isinstance(gp, R.PackedSequence) and isinstance(gp, tuple)
    _same(gp.data, tp.data, "packed data")
    assert gp.batch_sizes.device.type == "cpu" and gp.batch_sizes.dtype == gpuarr.int64
    assert gp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for name in ("sorted_indices", "unsorted_indices"):
        a, e = getattr(gp, name), getattr(tp, name)
        assert (a is None) == (e is None), name
        if a is not None:
            assert a.tolist() == e.tolist() and a.device == resolved(device)
    _backward(tp.data, gp.data, device)
    _same(gx.grad, tx.grad, "input grad")


@pytest.mark.parametrize("total_length", [None, 6])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pad_packed_sequence(device, batch_first, total_length, enforce_sorted):
    lengths = [4, 3, 1] if enforce_sorted else [1, 4, 3]
    seqs = _seqs(lengths, (2,), seed=3)
    ts, gs = _both(seqs, device)
    tp = TR.pack_sequence(ts, enforce_sorted=enforce_sorted)
    gp = R.pack_sequence(gs, enforce_sorted=enforce_sorted)
    _same(gp.data, tp.data, "pack_sequence")
    t, tl = TR.pad_packed_sequence(tp, batch_first, 0.25, total_length)
    g, gl = R.pad_packed_sequence(gp, batch_first, 0.25, total_length)
    _same(g, t, "padded")
    assert gl.tolist() == tl.tolist() and gl.device.type == "cpu"
    _backward(t, g, device)
    for a, b in zip(gs, ts):
        _same(a.grad, b.grad, "sequence grad")
    for a, b in zip(R.unpack_sequence(gp), TR.unpack_sequence(tp)):
        _same(a, b, "unpack_sequence")


def test_unpad_sequence(device):
    seqs = _seqs([2, 5, 3], (2,), seed=4)
    for bf in (False, True):
        padded = R.pad_sequence([gpuarr.tensor(s, device=device) for s in seqs], bf)
        out = R.unpad_sequence(padded, gpuarr.tensor([2, 5, 3]), batch_first=bf)
        for a, s in zip(out, seqs):
            np.testing.assert_array_equal(to_np(a), s)


def test_invert_permutation(device):
    p = gpuarr.tensor([2, 0, 3, 1], device=device)
    assert R.invert_permutation(p).tolist() == TR.invert_permutation(
        torch.tensor([2, 0, 3, 1])).tolist()
    assert R.invert_permutation(None) is None


def test_packed_sequence_construction(device):
    data = gpuarr.randn(3, 2, device=device)
    bs = gpuarr.tensor([2, 1])
    p = R.PackedSequence(data, bs)
    assert p.sorted_indices is None and p.unsorted_indices is None
    q = R.PackedSequence((data, bs))
    assert q.data is data and q.batch_sizes is bs
    si = gpuarr.tensor([1, 0], device=device)
    assert R.PackedSequence(data, bs, si).unsorted_indices.tolist() == [1, 0]
    d, b, s, u = p  # a named tuple, as in torch
    assert d is data and b is bs
    if resolved(device).type == "cuda":
        with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
            R.PackedSequence(data, bs.to(device))


def _torch_error(fn):
    with pytest.raises(Exception) as info:
        fn(torch)
    return type(info.value), str(info.value)


ERRORS = {
    "unsorted": lambda L: L.nn.utils.rnn.pack_padded_sequence(L.randn(5, 3, 2), [5, 3, 4]),
    "zero_length": lambda L: L.nn.utils.rnn.pack_padded_sequence(L.randn(5, 3, 2), [5, 3, 0]),
    "length_count": lambda L: L.nn.utils.rnn.pack_padded_sequence(L.randn(5, 3, 2), [5, 3]),
    "total_length": lambda L: L.nn.utils.rnn.pad_packed_sequence(
        L.nn.utils.rnn.pack_padded_sequence(L.randn(5, 3, 2), [5, 3, 1]), total_length=3),
    "padding_side": lambda L: L.nn.utils.rnn.pad_sequence(
        [L.randn(3, 2), L.randn(2, 2)], padding_side="middle"),
    "empty": lambda L: L.nn.utils.rnn.pad_sequence([]),
    "not_iterable": lambda L: L.nn.utils.rnn.pad_sequence(3),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_like_torch(case):
    etype, text = _torch_error(ERRORS[case])
    with pytest.raises(etype, match=re.escape(text)):
        ERRORS[case](gpuarr)


def test_more_errors():
    with pytest.raises(RuntimeError, match="same trailing dims"):
        R.pad_sequence([gpuarr.randn(3, 2), gpuarr.randn(2, 3)])
    with pytest.raises(RuntimeError, match="at most the padded sequence length 5"):
        R.pack_padded_sequence(gpuarr.randn(5, 3, 2), [6, 3, 1])
