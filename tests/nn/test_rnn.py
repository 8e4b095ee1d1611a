"""Recurrent layers (RNN, LSTM, GRU and the cells) against PyTorch with the same weights:
outputs, final states and the gradients of inputs, initial states and every parameter, for
every combination of layers, directions, batch_first, projection and packed input; float64
gradchecks; torch's errors for bad input."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from device_helpers import resolved
from nn_helpers import load_from_torch, to_np

import gpuarr
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.nn.utils import rnn as R

TR = torch.nn.utils.rnn
T_LEN, BATCH, IN, HID, PROJ = 4, 3, 3, 4, 2
LENGTHS = [4, 2, 3]  # unsorted: packing sorts them (enforce_sorted=False)

MODES = {
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "lstm_proj": ("LSTM", {"proj_size": PROJ}),
    "gru": ("GRU", {}),
}


def _pair(mode: str, device, dtype=torch.float64, **kw):
    cls, extra = MODES[mode]
    tm = getattr(torch.nn, cls)(IN, HID, **extra, **kw).to(dtype)
    gm = getattr(nn, cls)(IN, HID, **extra, **kw)
    gm.to(device=device, dtype=gpuarr.float64 if dtype == torch.float64 else gpuarr.float32)
    load_from_torch(gm, tm, device)
    return tm, gm


def _states(mode: str, num_layers: int, nd: int, rng, batch=BATCH):
    out = PROJ if mode == "lstm_proj" else HID
    h = rng.standard_normal((num_layers * nd, batch, out))
    if mode.startswith("lstm"):
        return [h, rng.standard_normal((num_layers * nd, batch, HID))]
    return [h]


def _close(a, b, msg, tol=1e-10):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=msg)


def _flat_hidden(h):
    return list(h) if isinstance(h, tuple) else [h]


def _backward_both(touts, gouts, device, rng):
    """sum(out * w) over all outputs with the same random weights, backward in both."""
    tl, gl = 0, 0
    for t, g in zip(touts, gouts):
        w = rng.standard_normal(tuple(t.shape))
        tl = tl + (t * torch.tensor(w, dtype=t.dtype)).sum()
        gl = gl + (g * gpuarr.tensor(w, dtype=g.dtype, device=device)).sum()
    tl.backward()
    gl.backward()


def _check_params(gm, tm, tol=1e-10):
    tp = dict(tm.named_parameters())
    names = [n for n, _ in gm.named_parameters()]
    assert names == list(tp)
    for name, p in gm.named_parameters():
        _close(to_np(p.grad), tp[name].grad.numpy(), f"grad of {name}", tol)


@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seqfirst", "batchfirst"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("mode", list(MODES))
def test_matches_torch(device, mode, num_layers, bidirectional, batch_first, packed):
    rng = np.random.default_rng(0)
    tm, gm = _pair(mode, device, num_layers=num_layers, bidirectional=bidirectional,
                   batch_first=batch_first)
    nd = 2 if bidirectional else 1
    shape = (BATCH, T_LEN, IN) if batch_first else (T_LEN, BATCH, IN)
    x = rng.standard_normal(shape)
    tx = torch.tensor(x, requires_grad=True)
    gx = gpuarr.tensor(x, device=device, requires_grad=True)
    with_hx = not batch_first  # both paths: given states, and zeros
    st = _states(mode, num_layers, nd, rng)
    ts = [torch.tensor(s, requires_grad=True) for s in st]
    gs = [gpuarr.tensor(s, device=device, requires_grad=True) for s in st]
    thx = (tuple(ts) if len(ts) == 2 else ts[0]) if with_hx else None
    ghx = (tuple(gs) if len(gs) == 2 else gs[0]) if with_hx else None
    if packed:
        tin = TR.pack_padded_sequence(tx, LENGTHS, batch_first=batch_first, enforce_sorted=False)
        gin = R.pack_padded_sequence(gx, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    else:
        tin, gin = tx, gx
    tout, th = tm(tin, thx)
    gout, gh = gm(gin, ghx)
    if packed:
        assert isinstance(gout, R.PackedSequence)
        assert gout.batch_sizes.tolist() == tout.batch_sizes.tolist()
        assert gout.sorted_indices.tolist() == tout.sorted_indices.tolist()
        assert gout.unsorted_indices.tolist() == tout.unsorted_indices.tolist()
        tout, gout = tout.data, gout.data
    touts = [tout, *_flat_hidden(th)]
    gouts = [gout, *_flat_hidden(gh)]
    for name, t, g in zip(["output", "h_n", "c_n"], touts, gouts):
        assert tuple(g.shape) == tuple(t.shape), name
        assert g.device == resolved(device)
        _close(to_np(g), t.detach().numpy(), name)
    _backward_both(touts, gouts, device, rng)
    _close(to_np(gx.grad), tx.grad.numpy(), "input grad")
    if with_hx:
        for k, (t, g) in enumerate(zip(ts, gs)):
            _close(to_np(g.grad), t.grad.numpy(), f"hx[{k}] grad")
    _check_params(gm, tm)


@pytest.mark.parametrize("mode", list(MODES))
def test_unbatched_input(device, mode):
    rng = np.random.default_rng(1)
    tm, gm = _pair(mode, device, num_layers=2, bidirectional=True)
    x = rng.standard_normal((T_LEN, IN))
    st = [s[:, 0] for s in _states(mode, 2, 2, rng)]
    tx, gx = torch.tensor(x, requires_grad=True), gpuarr.tensor(x, device=device,
                                                                  requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in st]
    gs = [gpuarr.tensor(s, device=device, requires_grad=True) for s in st]
    tout, th = tm(tx, tuple(ts) if len(ts) == 2 else ts[0])
    gout, gh = gm(gx, tuple(gs) if len(gs) == 2 else gs[0])
    touts, gouts = [tout, *_flat_hidden(th)], [gout, *_flat_hidden(gh)]
    for t, g in zip(touts, gouts):
        assert tuple(g.shape) == tuple(t.shape)
        _close(to_np(g), t.detach().numpy(), "unbatched output")
    _backward_both(touts, gouts, device, rng)
    _close(to_np(gx.grad), tx.grad.numpy(), "input grad")
    for t, g in zip(ts, gs):
        _close(to_np(g.grad), t.grad.numpy(), "state grad")
    _check_params(gm, tm)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_float32(device, mode):
    rng = np.random.default_rng(2)
    tm, gm = _pair(mode, device, dtype=torch.float32, num_layers=2)
    x = rng.standard_normal((6, 5, IN)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    gx = gpuarr.tensor(x, device=device, requires_grad=True)
    tout, th = tm(tx)
    gout, gh = gm(gx)
    assert gout.dtype == gpuarr.float32
    touts, gouts = [tout, *_flat_hidden(th)], [gout, *_flat_hidden(gh)]
    for t, g in zip(touts, gouts):
        _close(to_np(g), t.detach().numpy(), "float32 output", 1e-5)
    _backward_both(touts, gouts, device, rng)
    _close(to_np(gx.grad), tx.grad.numpy(), "input grad", 1e-4)
    _check_params(gm, tm, 1e-4)


# ---- cells ------------------------------------------------------------------------------

CELLS = {
    "rnn_tanh": ("RNNCell", {}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "lstm": ("LSTMCell", {}),
    "gru": ("GRUCell", {}),
}


@pytest.mark.parametrize("case", ["batched", "unbatched", "no_hx", "no_bias"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_cells_match_torch(device, cell, case):
    rng = np.random.default_rng(3)
    cls, kw = CELLS[cell]
    if case == "no_bias":
        kw = {**kw, "bias": False}
    tm = getattr(torch.nn, cls)(IN, HID, **kw).double()
    gm = getattr(nn, cls)(IN, HID, **kw).to(device=device, dtype=gpuarr.float64)
    load_from_torch(gm, tm, device)
    lead = () if case == "unbatched" else (BATCH,)
    x = rng.standard_normal(lead + (IN,))
    n_states = 2 if cell == "lstm" else 1
    st = [rng.standard_normal(lead + (HID,)) for _ in range(n_states)]
    tx = torch.tensor(x, requires_grad=True)
    gx = gpuarr.tensor(x, device=device, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in st]
    gs = [gpuarr.tensor(s, device=device, requires_grad=True) for s in st]
    if case == "no_hx":
        tout, gout = tm(tx), gm(gx)
    else:
        tout = tm(tx, tuple(ts) if n_states == 2 else ts[0])
        gout = gm(gx, tuple(gs) if n_states == 2 else gs[0])
    touts, gouts = _flat_hidden(tout), _flat_hidden(gout)
    for t, g in zip(touts, gouts):
        assert tuple(g.shape) == tuple(t.shape)
        assert g.device == resolved(device)
        _close(to_np(g), t.detach().numpy(), "cell output")
    _backward_both(touts, gouts, device, rng)
    _close(to_np(gx.grad), tx.grad.numpy(), "input grad")
    if case != "no_hx":
        for t, g in zip(ts, gs):
            _close(to_np(g.grad), t.grad.numpy(), "state grad")
    _check_params(gm, tm)


def test_cell_repr_and_parameters():
    for cls, kw in CELLS.values():
        tm = getattr(torch.nn, cls)(5, 7, bias=False, **kw)
        gm = getattr(nn, cls)(5, 7, bias=False, **kw)
        assert repr(gm) == repr(tm)
        assert [(n, tuple(p.shape)) for n, p in gm.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
        assert gm.bias_ih is None and gm.bias_hh is None


# ---- gradcheck (float64, central differences) --------------------------------------------


def _f64(device, *shape, seed=0):
    rng = np.random.default_rng(seed)
    return gpuarr.tensor(rng.standard_normal(shape) * 0.5, device=device, requires_grad=True)


@pytest.mark.parametrize("cell", list(CELLS))
def test_cell_gradcheck(device, cell):
    cls, kw = CELLS[cell]
    m = getattr(nn, cls)(3, 2, **kw).to(device=device, dtype=gpuarr.float64)
    x, h, c = _f64(device, 2, 3, seed=1), _f64(device, 2, 2, seed=2), _f64(device, 2, 2, seed=3)
    if cell == "lstm":
        def fn(x, h, c, *ps):
            return m(x, (h, c))
        assert gradcheck(fn, (x, h, c, *m.parameters()))
    else:
        assert gradcheck(lambda x, h, *ps: m(x, h), (x, h, *m.parameters()))


def test_lstm_gradcheck_bidirectional_two_layers(device):
    m = nn.LSTM(2, 2, num_layers=2, bidirectional=True).to(device=device, dtype=gpuarr.float64)
    x = _f64(device, 3, 2, 2, seed=4)
    h, c = _f64(device, 4, 2, 2, seed=5), _f64(device, 4, 2, 2, seed=6)

    def fn(x, h, c, *ps):
        y, (hn, cn) = m(x, (h, c))
        return y, hn, cn

    assert gradcheck(fn, (x, h, c, *m.parameters()))


@pytest.mark.parametrize("mode", ["lstm_proj", "gru", "rnn_tanh"])
def test_packed_gradcheck(device, mode):
    """Sequences ending at different steps, in both directions, with projection."""
    cls, extra = MODES[mode]
    extra = {**extra, "proj_size": 1} if mode == "lstm_proj" else extra
    m = getattr(nn, cls)(2, 2, bidirectional=True, **extra).to(device=device,
                                                                 dtype=gpuarr.float64)
    x = _f64(device, 4, 3, 2, seed=7)
    out = 1 if mode == "lstm_proj" else 2
    h = _f64(device, 2, 3, out, seed=8)
    c = _f64(device, 2, 3, 2, seed=9)

    def fn(x, h, c, *ps):
        p = R.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        y, hid = m(p, (h, c) if cls == "LSTM" else h)
        return (y.data, *_flat_hidden(hid))

    assert gradcheck(fn, (x, h, c, *m.parameters()))


@pytest.mark.parametrize("mode", ["lstm_proj", "gru"])
def test_double_backward(device, mode):
    """create_graph=True: backward recomputes with Tensor ops, so grad-of-grad is exact."""
    cls, extra = MODES[mode]
    extra = {**extra, "proj_size": 1} if mode == "lstm_proj" else extra
    m = getattr(nn, cls)(2, 2, **extra).to(device=device, dtype=gpuarr.float64)
    x = _f64(device, 3, 2, 2, seed=10)
    w = list(m.parameters())[1]  # weight_hh_l0

    def fn(x, w):
        p = R.pack_padded_sequence(x, [3, 2])
        return m(p)[0].data

    assert gradgradcheck(fn, (x, w))


def test_grads_match_reference_implementation(device):
    """The array-level BPTT equals autograd through the step-by-step Tensor-op version."""
    from gpuarr.nn.functional._rnn import Steps, reference_layer

    m = nn.LSTM(3, 4, proj_size=2).to(device=device, dtype=gpuarr.float64)
    x = _f64(device, 6, 3, seed=11)
    h0, c0 = _f64(device, 3, 2, seed=12), _f64(device, 3, 4, seed=13)
    steps = Steps([3, 2, 1])
    ws = list(m.parameters())
    p = R.PackedSequence(x, gpuarr.tensor([3, 2, 1]))
    y, (hn, cn) = m(p, (h0[None], c0[None]))
    ry, rh, rc = reference_layer(x, h0, c0, *ws, "LSTM", False, steps)
    for a, b in [(y.data, ry), (hn[0], rh), (cn[0], rc)]:
        _close(to_np(a), to_np(b), "reference")


# ---- modules: construction, dropout, state dicts, errors ---------------------------------


def test_state_dict_interchange_and_init():
    for cls, kw in [("RNN", {}), ("LSTM", {"proj_size": 3}), ("GRU", {})]:
        tm = getattr(torch.nn, cls)(5, 6, num_layers=2, bidirectional=True, **kw)
        gm = getattr(nn, cls)(5, 6, num_layers=2, bidirectional=True, **kw)
        tsd, gsd = tm.state_dict(), gm.state_dict()
        assert list(gsd) == list(tsd)
        for k in tsd:
            assert tuple(gsd[k].shape) == tuple(tsd[k].shape), k
            assert np.abs(to_np(gsd[k])).max() <= 1 / np.sqrt(6)
        assert repr(gm) == repr(tm)
        # and back: torch loads gpuarr's state dict
        tm.load_state_dict({k: torch.tensor(to_np(v)) for k, v in gsd.items()})
        assert [[tuple(p.shape) for p in g] for g in gm.all_weights] == \
            [[tuple(p.shape) for p in g] for g in tm.all_weights]
        gm.flatten_parameters()


def test_extra_repr_like_torch():
    kw = dict(num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True,
              proj_size=2)
    assert repr(nn.LSTM(4, 3, **kw)) == repr(torch.nn.LSTM(4, 3, **kw))
    assert repr(nn.RNN(4, 3, nonlinearity="relu")) == repr(torch.nn.RNN(4, 3, nonlinearity="relu"))


def test_dropout_between_layers(device):
    """p=1 drops every output of layer 0 in training (deterministic, so torch can check it);
    eval mode and the last layer are untouched."""
    rng = np.random.default_rng(14)
    tm, gm = _pair("lstm", device, num_layers=2, dropout=1.0)
    x = rng.standard_normal((T_LEN, BATCH, IN))
    for train in (True, False):
        tm.train(train)
        gm.train(train)
        tout = tm(torch.tensor(x))[0]
        gout = gm(gpuarr.tensor(x, device=device))[0]
        _close(to_np(gout), tout.detach().numpy(), f"dropout, train={train}")
    gm.train()
    gm.dropout = 0.5
    gpuarr.manual_seed(0)
    a = to_np(gm(gpuarr.tensor(x, device=device))[0])
    gpuarr.manual_seed(1)
    b = to_np(gm(gpuarr.tensor(x, device=device))[0])
    assert not np.allclose(a, b)  # dropout is drawn in training mode


def test_dropout_warning_and_no_grad(device):
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)
    m = nn.GRU(3, 4).to(device)
    with gpuarr.no_grad():
        y, h = m(gpuarr.randn(5, 2, 3, device=device))
    assert y.grad_fn is None and not y.requires_grad and tuple(h.shape) == (1, 2, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.2)


def test_hidden_grads_flow_through_time(device):
    """Detach semantics: carrying h_n into the next call chains the graph, as in torch."""
    m = nn.LSTM(3, 4).to(device=device, dtype=gpuarr.float64)
    x = gpuarr.randn(2, 1, 3, device=device, dtype=gpuarr.float64)
    _, hid = m(x)
    y, _ = m(x, hid)
    y.sum().backward()
    assert m.weight_hh_l0.grad is not None
    assert float(m.weight_hh_l0.grad.abs().sum()) > 0


def _torch_error(fn):
    with pytest.raises(Exception) as info:
        fn(torch)
    return type(info.value), str(info.value).replace("torch.", "gpuarr.")


ERROR_CASES = {
    "input_size": lambda L: L.nn.LSTM(4, 3, 2)(L.randn(5, 2, 5)),
    "input_4d": lambda L: L.nn.LSTM(4, 3)(L.randn(5, 2, 4, 1)),
    "rnn_input_1d": lambda L: L.nn.RNN(4, 3)(L.randn(4)),
    "gru_input_4d": lambda L: L.nn.GRU(4, 3)(L.randn(1, 5, 2, 4)),
    "h0_layers": lambda L: L.nn.LSTM(4, 3, 2)(L.randn(5, 2, 4),
                                              (L.randn(1, 2, 3), L.randn(2, 2, 3))),
    "c0_batch": lambda L: L.nn.LSTM(4, 3, 2)(L.randn(5, 2, 4),
                                             (L.randn(2, 2, 3), L.randn(2, 3, 3))),
    "rnn_h0_batch": lambda L: L.nn.RNN(4, 3)(L.randn(5, 2, 4), L.randn(1, 3, 3)),
    "gru_h0_2d_for_3d": lambda L: L.nn.GRU(4, 3)(L.randn(5, 2, 4), L.randn(2, 3)),
    "rnn_h0_3d_for_2d": lambda L: L.nn.RNN(4, 3)(L.randn(5, 4), L.randn(1, 1, 3)),
    "lstm_hx_dims": lambda L: L.nn.LSTM(4, 3)(L.randn(5, 2, 4), (L.randn(1, 2, 3),
                                                                L.randn(2, 3))),
    "lstm_hx_dims_unbatched": lambda L: L.nn.LSTM(4, 3)(L.randn(5, 4),
                                                        (L.randn(1, 3), L.randn(1, 1, 3))),
    "dtype": lambda L: L.nn.RNN(4, 3)(L.randn(5, 2, 4).double()),
    "hidden_dtype": lambda L: L.nn.GRU(4, 3)(L.randn(5, 2, 4), L.randn(1, 2, 3).double()),
    "empty_sequence": lambda L: L.nn.RNN(4, 3)(L.randn(0, 2, 4)),
    "nonlinearity": lambda L: L.nn.RNN(4, 3, nonlinearity="sigmoid"),
    "proj_rnn": lambda L: L.nn.RNN(4, 3, proj_size=2),
    "proj_gru": lambda L: L.nn.GRU(4, 3, proj_size=2),
    "proj_too_big": lambda L: L.nn.LSTM(4, 3, proj_size=3),
    "proj_negative": lambda L: L.nn.LSTM(4, 3, proj_size=-1),
    "dropout_range": lambda L: L.nn.LSTM(4, 3, dropout=2),
    "num_layers": lambda L: L.nn.LSTM(4, 3, num_layers=0),
    "input_size_type": lambda L: L.nn.LSTM(4.0, 3),
    "hidden_size_zero": lambda L: L.nn.GRU(4, 0),
    "bias_type": lambda L: L.nn.GRU(4, 3, bias=1),
    "cell_input_size": lambda L: L.nn.RNNCell(4, 3)(L.randn(2, 5)),
    "cell_batch": lambda L: L.nn.RNNCell(4, 3)(L.randn(2, 4), L.randn(3, 3)),
    "cell_hidden_size": lambda L: L.nn.GRUCell(4, 3)(L.randn(2, 4), L.randn(2, 5)),
    "cell_input_3d": lambda L: L.nn.GRUCell(4, 3)(L.randn(1, 2, 4)),
    "cell_hidden_3d": lambda L: L.nn.RNNCell(4, 3)(L.randn(2, 4), L.randn(1, 2, 3)),
    "lstm_cell_c": lambda L: L.nn.LSTMCell(4, 3)(L.randn(2, 4), (L.randn(2, 3),
                                                                 L.randn(2, 4))),
    "lstm_cell_hx_3d": lambda L: L.nn.LSTMCell(4, 3)(L.randn(2, 4), (L.randn(2, 3),
                                                                     L.randn(1, 2, 3))),
    "cell_dtype": lambda L: L.nn.RNNCell(4, 3)(L.randn(2, 4).double()),
    "cell_unbatched_batched_hidden": lambda L: L.nn.RNNCell(4, 3)(L.randn(4), L.randn(2, 3)),
    "packed_input_size": lambda L: L.nn.GRU(4, 3)(L.nn.utils.rnn.pack_sequence(
        [L.randn(3, 5), L.randn(2, 5)])),
    "packed_hidden_batch": lambda L: L.nn.GRU(4, 3)(L.nn.utils.rnn.pack_sequence(
        [L.randn(3, 4), L.randn(2, 4)]), L.randn(1, 3, 3)),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_like_torch(case):
    fn = ERROR_CASES[case]
    etype, text = _torch_error(fn)
    with pytest.raises(etype, match=re.escape(text)):
        fn(gpuarr)


def test_packed_sequence_moves(device):
    p = R.pack_padded_sequence(gpuarr.randn(4, 3, 2), [4, 1, 2], enforce_sorted=False)
    q = p.to(device)
    assert q.data.device == resolved(device) and q.batch_sizes.device.type == "cpu"
    assert q.sorted_indices.device == resolved(device)
    assert q.is_cuda == (resolved(device).type == "cuda")
    assert q.double().data.dtype == gpuarr.float64
    assert q.cpu().data.device.type == "cpu"
    assert p.to(gpuarr.float32) is p
    assert not q.is_pinned()
    m = nn.GRU(2, 3).to(device)
    y, h = m(q)
    assert y.data.device == resolved(device) and h.device == resolved(device)
