"""The kernels of the recurrent layers (``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` and their cells).

One raw Function, :class:`RNNLayer`, runs one layer in one direction over the whole sequence:

* forward projects the inputs of every time step with ONE matmul, then loops over time with one
  matmul per step (``h @ W_hh.T``) and a handful of in-place NumPy/CuPy ufuncs for the gates;
  it keeps the gate activations and cell states it needs for backward;
* backward runs backpropagation through time on the saved arrays: per step one matmul (two with
  an LSTM projection) and a few ufuncs, with the activation derivatives precomputed for all steps
  at once; the weight gradients are then ONE matmul each over all steps.

Sequences are handled in torch's *packed* layout: the rows of time step ``t`` are
``data[offsets[t] : offsets[t] + sizes[t]]`` with non-increasing ``sizes`` (a padded batch is the
special case of equal sizes). A sequence that ends before the others simply stops taking part,
so its final state is the state at its last step, as in torch.

When a graph of the backward pass is wanted (``create_graph=True``), backward recomputes the layer
with differentiable Tensor ops and differentiates that, so higher-order gradients stay exact.

Gate layouts are torch's: LSTM ``(i, f, g, o)``, GRU ``(r, z, n)``. Sigmoids are computed as
``0.5 * tanh(0.5 * x) + 0.5``, so each step applies one ``tanh`` to all four gates of an LSTM.
"""

from __future__ import annotations

import numpy as np

from ... import autograd
from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import enable_grad, is_grad_enabled
from ...ops.stacking import cat, stack
from ._misc import dropout as _dropout

__all__: list[str] = []

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class Steps:
    """The time schedule of a batch: how many sequences take part in each step.

    Args:
        sizes: batch size of each time step, non-increasing (torch's ``batch_sizes``).

    Attributes:
        sizes, offsets: per step, the number of rows and the first row in the flat data.
        n: total number of rows; batch: the batch size (``sizes[0]``); uniform: all equal.
    """

    __slots__ = ("sizes", "offsets", "n", "batch", "uniform", "_prev")

    def __init__(self, sizes) -> None:
        self.sizes = tuple(int(b) for b in sizes)
        offs, o = [], 0
        for b in self.sizes:
            offs.append(o)
            o += b
        self.offsets = tuple(offs)
        self.n = o
        self.batch = self.sizes[0] if self.sizes else 0
        self.uniform = all(b == self.batch for b in self.sizes)
        self._prev: dict = {}

    def order(self, reverse: bool) -> list:
        """``(first row, rows)`` of the steps in processing order."""
        pairs = list(zip(self.offsets, self.sizes))
        return pairs[::-1] if reverse else pairs

    def prev_index(self, reverse: bool) -> np.ndarray:
        """For each row, the row holding its previous state in ``concat([store, init])``
        (rows ``n + j`` are the initial state of sequence ``j``)."""
        idx = self._prev.get(reverse)
        if idx is None:
            n, sizes, offs = self.n, self.sizes, self.offsets
            idx = np.empty(n, dtype=np.int64)
            for t, (o, b) in enumerate(zip(offs, sizes)):
                j = np.arange(b)
                if not reverse:
                    idx[o:o + b] = n + j if t == 0 else offs[t - 1] + j
                elif t == len(sizes) - 1:
                    idx[o:o + b] = n + j
                else:
                    nb = sizes[t + 1]
                    idx[o:o + b] = np.where(j < nb, offs[t + 1] + j, n + j)
            self._prev[reverse] = idx
        return idx


def _prev_rows(xp, steps: Steps, store, init, reverse: bool):
    """The state each row of ``store`` started from, as one (n, K) array."""
    n, b = steps.n, steps.batch
    if steps.uniform:
        if reverse:
            return xp.concatenate([store[b:], init[:b]])
        return xp.concatenate([init[:b], store[:n - b]])
    ext = xp.concatenate([store, init])
    return xp.take(ext, xp.asarray(steps.prev_index(reverse)), axis=0)


def _step_prev(xp, store, init, prev, b: int):
    """The previous state of the ``b`` rows of a step (``prev``: the previous step's rows)."""
    if prev is None:
        return init[:b]
    p0, pb = prev
    if b <= pb:
        return store[p0:p0 + b]
    return xp.concatenate([store[p0:p0 + pb], init[pb:b]])


def _final(xp, store, steps: Steps, reverse: bool, width: int):
    """Each sequence's last state: the rows of its last step."""
    if reverse:
        o = steps.offsets[0]
        return store[o:o + steps.batch].copy()
    if steps.uniform:
        o = steps.offsets[-1]
        return store[o:o + steps.batch].copy()
    out = xp.empty((steps.batch, width), dtype=store.dtype)
    sizes = steps.sizes
    for t, (o, b) in enumerate(zip(steps.offsets, sizes)):
        nb = sizes[t + 1] if t + 1 < len(sizes) else 0
        if b > nb:
            out[nb:b] = store[o + nb:o + b]
    return out


# ---- forward ------------------------------------------------------------------------------


def _input_projection(xp, x, w_ih, bias):
    """``x @ w_ih.T + bias`` for every step at once (one matmul)."""
    xw = xp.matmul(x, w_ih.T)
    if bias is not None:
        xw += bias
    return xw


def _recurrent(xp, w, h, buf):
    """``(h @ w.T).T`` as ``w @ h.T`` into the flat buffer ``buf``: no transposed copy of the
    weight is made, and BLAS runs this small-by-large product at full speed."""
    out = buf[:w.shape[0] * h.shape[0]].reshape(w.shape[0], h.shape[0])
    return xp.matmul(w, h.T, out=out)


def _rnn_forward(xp, x, h0, w_ih, w_hh, b_ih, b_hh, relu, steps, reverse):
    bias = None if b_ih is None else b_ih + b_hh
    y = _input_projection(xp, x, w_ih, bias)  # becomes the output in place
    buf = xp.empty(steps.batch * w_hh.shape[0], dtype=x.dtype)
    prev = None
    zero = x.dtype.type(0)
    for r0, b in steps.order(reverse):
        hp = _step_prev(xp, y, h0, prev, b)
        yt = y[r0:r0 + b]
        yt += _recurrent(xp, w_hh, hp, buf).T
        if relu:
            xp.maximum(yt, zero, out=yt)
        else:
            xp.tanh(yt, out=yt)
        prev = (r0, b)
    return y, _final(xp, y, steps, reverse, y.shape[1])


def _lstm_forward(xp, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps, reverse):
    hid = w_hh.shape[0] // 4
    n, bmax = steps.n, steps.batch
    bias = None if b_ih is None else b_ih + b_hh
    acts = _input_projection(xp, x, w_ih, bias)  # (n, 4H): gate activations in place
    a3 = acts.reshape(n, 4, hid)
    # sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5 for i, f, o; tanh for g: one tanh for all gates
    mul = xp.asarray(np.array([0.5, 0.5, 1.0, 0.5], dtype=x.dtype)[:, None])  # (4, 1)
    add = xp.asarray(np.array([0.5, 0.5, 0.0, 0.5], dtype=x.dtype)[:, None])
    out_w = hid if w_hr is None else w_hr.shape[0]
    y = xp.empty((n, out_w), dtype=x.dtype)
    c = xp.empty((n, hid), dtype=x.dtype)
    tc = xp.empty((n, hid), dtype=x.dtype)
    r = None if w_hr is None else xp.empty((n, hid), dtype=x.dtype)
    buf = xp.empty(bmax * 4 * hid, dtype=x.dtype)
    tmp_h = xp.empty((bmax, hid), dtype=x.dtype)
    prev = None
    for r0, b in steps.order(reverse):
        r1 = r0 + b
        hp = _step_prev(xp, y, h0, prev, b)
        cp = _step_prev(xp, c, c0, prev, b)
        at = acts[r0:r1]
        at += _recurrent(xp, w_hh, hp, buf).T
        at3 = a3[r0:r1]
        at3 *= mul
        xp.tanh(at, out=at)
        at3 *= mul
        at3 += add
        ct = c[r0:r1]
        xp.multiply(at3[:, 1], cp, out=ct)
        th = tmp_h[:b]
        xp.multiply(at3[:, 0], at3[:, 2], out=th)
        ct += th
        tct = tc[r0:r1]
        xp.tanh(ct, out=tct)
        if r is None:
            xp.multiply(at3[:, 3], tct, out=y[r0:r1])
        else:
            rt = r[r0:r1]
            xp.multiply(at3[:, 3], tct, out=rt)
            y[r0:r1] = _recurrent(xp, w_hr, rt, buf).T
        prev = (r0, b)
    hn = _final(xp, y, steps, reverse, out_w)
    cn = _final(xp, c, steps, reverse, hid)
    return y, hn, cn, acts, c, tc, r


def _gru_forward(xp, x, h0, w_ih, w_hh, b_ih, b_hh, steps, reverse):
    hid = w_hh.shape[0] // 3
    n = steps.n
    half = x.dtype.type(0.5)
    acts = _input_projection(xp, x, w_ih, b_ih)  # (n, 3H): r, z, n in place
    a3 = acts.reshape(n, 3, hid)
    buf = xp.empty(steps.batch * 3 * hid, dtype=x.dtype)
    gh = xp.empty((n, 3 * hid), dtype=x.dtype)  # h @ W_hh.T + b_hh, kept for backward
    gh3 = gh.reshape(n, 3, hid)
    y = xp.empty((n, hid), dtype=x.dtype)
    prev = None
    for r0, b in steps.order(reverse):
        r1 = r0 + b
        hp = _step_prev(xp, y, h0, prev, b)
        ght = gh[r0:r1]
        gt = _recurrent(xp, w_hh, hp, buf).T
        if b_hh is not None:
            xp.add(gt, b_hh, out=ght)
        else:
            ght[...] = gt
        at = acts[r0:r1]
        rz = at[:, :2 * hid]  # r, z = sigmoid(.) = 0.5 * tanh(0.5 * .) + 0.5
        rz += ght[:, :2 * hid]
        rz *= half
        xp.tanh(rz, out=rz)
        rz *= half
        rz += half
        at3 = a3[r0:r1]
        nt = at3[:, 2]
        tmp = at3[:, 0] * gh3[r0:r1, 2]
        nt += tmp
        xp.tanh(nt, out=nt)
        yt = y[r0:r1]
        xp.subtract(hp, nt, out=yt)
        yt *= at3[:, 1]
        yt += nt
        prev = (r0, b)
    return y, _final(xp, y, steps, reverse, hid), acts, gh


# ---- backward -----------------------------------------------------------------------------


def _weight_grads(xp, dg, x, hp, w_ih, nig):
    """Input, W_ih, W_hh and bias gradients from the pre-activation grads of all steps."""
    gx = xp.matmul(dg, w_ih) if nig[0] else None
    gwi = xp.matmul(dg.T, x) if nig[3] else None
    gwh = xp.matmul(dg.T, hp) if nig[4] else None
    gb = dg.sum(axis=0) if nig[5] or nig[6] else None
    return gx, gwi, gwh, gb


def _copy(a):
    """A separate array for the second of two equal gradients (b_ih's and b_hh's), so the two
    ``.grad`` tensors never share memory."""
    return None if a is None else a.copy()


def _rnn_backward(xp, gy, ghn, x, h0, w_ih, w_hh, y, relu, steps, reverse, nig):
    dt = y.dtype.type
    if relu:
        d = (y > 0).astype(y.dtype)
    else:
        d = y * y
        xp.subtract(dt(1), d, out=d)
    dg = xp.empty_like(y)
    dh = ghn.copy()
    for r0, b in steps.order(not reverse):
        r1 = r0 + b
        dgt = dg[r0:r1]
        xp.add(dh[:b], gy[r0:r1], out=dgt)
        dgt *= d[r0:r1]
        xp.matmul(dgt, w_hh, out=dh[:b])
    hp = _prev_rows(xp, steps, y, h0, reverse) if nig[4] else None
    gx, gwi, gwh, gb = _weight_grads(xp, dg, x, hp, w_ih, nig)
    return gx, dh, None, gwi, gwh, gb, _copy(gb), None


def _lstm_backward(xp, gy, ghn, gcn, x, h0, c0, w_ih, w_hh, w_hr, y, acts, c, tc, r, steps,
                   reverse, nig):
    n = steps.n
    hid = c.shape[1]
    dt = y.dtype.type
    one = dt(1)
    a3 = acts.reshape(n, 4, hid)
    # q: d(pre-activation)/d(c) per gate (d/dh for o), all steps at once; k: dc/dh
    q = one - acts
    q *= acts
    q3 = q.reshape(n, 4, hid)
    gate_g = a3[:, 2]
    xp.multiply(gate_g, gate_g, out=q3[:, 2])
    xp.subtract(one, q3[:, 2], out=q3[:, 2])
    q3[:, 0] *= gate_g
    q3[:, 1] *= _prev_rows(xp, steps, c, c0, reverse)
    q3[:, 2] *= a3[:, 0]
    q3[:, 3] *= tc
    k = tc * tc
    xp.subtract(one, k, out=k)
    k *= a3[:, 3]
    dg = xp.empty_like(acts)
    dg3 = dg.reshape(n, 4, hid)
    dh = ghn.copy()
    dc = gcn.copy()
    bmax = steps.batch
    proj = w_hr is not None
    dhs = xp.empty_like(y) if proj else xp.empty((bmax, hid), dtype=y.dtype)
    dr = xp.empty((bmax, hid), dtype=y.dtype) if proj else None
    tmp = xp.empty((bmax, hid), dtype=y.dtype)
    for r0, b in steps.order(not reverse):
        r1 = r0 + b
        dht = dhs[r0:r1] if proj else dhs[:b]
        xp.add(dh[:b], gy[r0:r1], out=dht)
        if proj:
            drt = dr[:b]
            xp.matmul(dht, w_hr, out=drt)
        else:
            drt = dht
        dct = dc[:b]
        t = tmp[:b]
        xp.multiply(drt, k[r0:r1], out=t)
        dct += t
        dgt3 = dg3[r0:r1]
        xp.multiply(dct[:, None, :], q3[r0:r1, :3], out=dgt3[:, :3])
        xp.multiply(drt, q3[r0:r1, 3], out=dgt3[:, 3])
        dct *= a3[r0:r1, 1]
        xp.matmul(dg[r0:r1], w_hh, out=dh[:b])
    hp = _prev_rows(xp, steps, y, h0, reverse) if nig[4] else None
    gx, gwi, gwh, gb = _weight_grads(xp, dg, x, hp, w_ih, nig)
    ghr = xp.matmul(dhs.T, r) if proj and nig[7] else None
    return gx, dh, dc, gwi, gwh, gb, _copy(gb), ghr


def _gru_backward(xp, gy, ghn, x, h0, w_ih, w_hh, y, acts, gh, steps, reverse, nig):
    n = steps.n
    hid = y.shape[1]
    one = y.dtype.type(1)
    a3 = acts.reshape(n, 3, hid)
    rr, zz, nn_ = a3[:, 0], a3[:, 1], a3[:, 2]
    hp = _prev_rows(xp, steps, y, h0, reverse)
    # per-step factors, all steps at once
    kn = (one - zz) * (one - nn_ * nn_)  # dh -> d(n pre-activation)
    kr = gh.reshape(n, 3, hid)[:, 2] * rr * (one - rr)  # d(n pre) -> d(r pre)
    kz = (hp - nn_) * zz * (one - zz)  # dh -> d(z pre)
    dgi = xp.empty_like(acts)
    dgi3 = dgi.reshape(n, 3, hid)
    dgh = xp.empty_like(acts)
    dgh3 = dgh.reshape(n, 3, hid)
    dh = ghn.copy()
    bmax = steps.batch
    dhs = xp.empty((bmax, hid), dtype=y.dtype)
    tmp = xp.empty((bmax, hid), dtype=y.dtype)
    for r0, b in steps.order(not reverse):
        r1 = r0 + b
        dht = dhs[:b]
        xp.add(dh[:b], gy[r0:r1], out=dht)
        dn = dgi3[r0:r1, 2]
        xp.multiply(dht, kn[r0:r1], out=dn)
        dght3 = dgh3[r0:r1]
        xp.multiply(dn, kr[r0:r1], out=dght3[:, 0])
        xp.multiply(dht, kz[r0:r1], out=dght3[:, 1])
        xp.multiply(dn, rr[r0:r1], out=dght3[:, 2])
        t = tmp[:b]
        xp.multiply(dht, zz[r0:r1], out=t)
        xp.matmul(dgh[r0:r1], w_hh, out=dh[:b])
        dh[:b] += t
    dgi3[:, :2] = dgh3[:, :2]
    gx = xp.matmul(dgi, w_ih) if nig[0] else None
    gwi = xp.matmul(dgi.T, x) if nig[3] else None
    gwh = xp.matmul(dgh.T, hp) if nig[4] else None
    gbi = dgi.sum(axis=0) if nig[5] else None
    gbh = dgh.sum(axis=0) if nig[6] else None
    return gx, dh, None, gwi, gwh, gbi, gbh, None


# ---- the Function -------------------------------------------------------------------------


class RNNLayer(Function):
    """One recurrent layer in one direction over a (packed) sequence.

    Inputs: ``x`` (n, input), ``h0`` (batch, out), ``c0`` (batch, hidden; LSTM only, else None),
    ``w_ih``, ``w_hh``, ``b_ih``, ``b_hh`` (None without bias), ``w_hr`` (LSTM projection or
    None), then ``mode`` (one of :data:`MODES`), ``reverse`` and the :class:`Steps`.

    Outputs: ``y`` (n, out) and ``h_n`` (batch, out), plus ``c_n`` (batch, hidden) for an LSTM.
    """

    _raw = True

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, reverse, steps):
        xp = ctx.xp
        ctx.mode, ctx.reverse, ctx.steps = mode, reverse, steps
        if mode == "LSTM":
            y, hn, cn, acts, c, tc, r = _lstm_forward(xp, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
                                                      w_hr, steps, reverse)
            ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, y, acts, c, tc, r)
            return y, hn, cn
        if mode == "GRU":
            y, hn, acts, gh = _gru_forward(xp, x, h0, w_ih, w_hh, b_ih, b_hh, steps, reverse)
            ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, y, acts, gh)
            return y, hn
        y, hn = _rnn_forward(xp, x, h0, w_ih, w_hh, b_ih, b_hh, mode == "RNN_RELU", steps,
                             reverse)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, y)
        return y, hn

    @staticmethod
    def backward(ctx, gy, ghn, gcn=None):
        saved = ctx.saved_tensors
        if is_grad_enabled():  # create_graph=True: differentiate a Tensor-op recomputation
            return _graph_backward(ctx, saved[:8], (gy, ghn, gcn))
        xp = ctx.xp
        a = [None if s is None else s._data for s in saved]
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = a[:8]
        mode, reverse, steps = ctx.mode, ctx.reverse, ctx.steps
        nig = ctx.needs_input_grad
        gyd, ghd = gy._data, ghn._data
        if mode == "LSTM":
            res = _lstm_backward(xp, gyd, ghd, gcn._data, x, h0, c0, w_ih, w_hh, w_hr, *a[8:],
                                 steps, reverse, nig)
        elif mode == "GRU":
            res = _gru_backward(xp, gyd, ghd, x, h0, w_ih, w_hh, *a[8:], steps, reverse, nig)
        else:
            res = _rnn_backward(xp, gyd, ghd, x, h0, w_ih, w_hh, a[8], mode == "RNN_RELU",
                                steps, reverse, nig)
        dev = ctx.device
        grads = tuple(_make(g, dev) if g is not None and need else None
                      for g, need in zip(res, nig[:8]))
        return grads + (None, None, None)


def _graph_backward(ctx, inputs, grads):
    """Backward with a graph (``create_graph=True``): recompute the layer with Tensor ops from
    the saved inputs and differentiate that, so second derivatives are exact."""
    nig = ctx.needs_input_grad
    wanted = [i for i in range(8) if nig[i]]
    with enable_grad():
        outs = reference_layer(*inputs, ctx.mode, ctx.reverse, ctx.steps)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
        got = autograd.grad([o for o, _ in pairs], [inputs[i] for i in wanted],
                            [g for _, g in pairs], create_graph=True, allow_unused=True)
    res: list = [None] * 11
    for i, g in zip(wanted, got):
        res[i] = g if g is not None else inputs[i] * 0
    return tuple(res)


def reference_layer(x: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                    b_ih: Tensor | None, b_hh: Tensor | None, w_hr: Tensor | None, mode: str,
                    reverse: bool, steps: Steps) -> tuple:
    """:class:`RNNLayer` written with differentiable Tensor ops, one step at a time (slow; used
    for higher-order gradients). Returns ``(y, h_n)`` or ``(y, h_n, c_n)``."""
    hid = w_hh.shape[0] // GATES[mode]
    xw = x @ w_ih.T
    if b_ih is not None:
        xw = xw + b_ih
    h, c = h0, c0
    bmax = steps.batch
    ys: dict = {}
    for r0, b in steps.order(reverse):
        hp = h[:b]
        gi = xw[r0:r0 + b]
        gh = hp @ w_hh.T
        if b_hh is not None:
            gh = gh + b_hh
        if mode == "LSTM":
            pre = gi + gh
            i = pre[:, :hid].sigmoid()
            f = pre[:, hid:2 * hid].sigmoid()
            g = pre[:, 2 * hid:3 * hid].tanh()
            o = pre[:, 3 * hid:].sigmoid()
            cn = f * c[:b] + i * g
            hn = o * cn.tanh()
            if w_hr is not None:
                hn = hn @ w_hr.T
            c = cn if b == bmax else cat([cn, c[b:]])
        elif mode == "GRU":
            r = (gi[:, :hid] + gh[:, :hid]).sigmoid()
            z = (gi[:, hid:2 * hid] + gh[:, hid:2 * hid]).sigmoid()
            nt = (gi[:, 2 * hid:] + r * gh[:, 2 * hid:]).tanh()
            hn = nt + z * (hp - nt)
        else:
            pre = gi + gh
            hn = pre.relu() if mode == "RNN_RELU" else pre.tanh()
        ys[r0] = hn
        h = hn if b == bmax else cat([hn, h[b:]])
    y = cat([ys[o] for o in steps.offsets])
    return (y, h, c) if mode == "LSTM" else (y, h)


def run_layers(mode: str, x: Tensor, steps: Steps, hx: Tensor, cx: Tensor | None,
               weights: list, num_layers: int, bidirectional: bool, dropout: float,
               training: bool) -> tuple:
    """Run a stack of recurrent layers on packed rows ``x`` (n, input).

    Args:
        mode: one of :data:`MODES`.
        x: the rows of all time steps, time-major (see :class:`Steps`).
        hx: initial hidden states ``(num_layers * directions, batch, out)``.
        cx: initial cell states (LSTM) or None.
        weights: per layer and direction, ``(w_ih, w_hh, b_ih, b_hh, w_hr)`` (None for absent).
        dropout: probability of dropping the outputs of every layer but the last (training).

    Returns:
        ``(y, h_n, c_n)``: ``y`` (n, directions * out), ``h_n`` like ``hx``, ``c_n`` like
        ``cx`` (None unless LSTM).
    """
    nd = 2 if bidirectional else 1
    hs, cs = [], []
    inp = x
    for layer in range(num_layers):
        outs = []
        for d in range(nd):
            k = layer * nd + d
            res = RNNLayer.apply(inp, hx[k], None if cx is None else cx[k], *weights[k], mode,
                                 d == 1, steps)
            outs.append(res[0])
            hs.append(res[1])
            if cx is not None:
                cs.append(res[2])
        inp = outs[0] if nd == 1 else cat(outs, 1)
        if dropout > 0 and training and layer < num_layers - 1:
            inp = _dropout(inp, dropout, True)
    hn = stack(hs, 0)
    cn = stack(cs, 0) if cx is not None else None
    return inp, hn, cn
