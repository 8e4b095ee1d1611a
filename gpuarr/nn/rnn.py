"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and the single-step ``RNNCell``, ``LSTMCell``,
``GRUCell``, with torch's arguments, parameter names, shapes, initialisation and errors, so
state dicts move between the two libraries unchanged.

Each layer and direction runs as one raw op over the whole sequence (see
``gpuarr/nn/functional/_rnn.py``): the input projection of all time steps is one matmul, each
step one matmul plus a few fused array ops, and backward runs backpropagation through time on
arrays.
"""

from __future__ import annotations

import math
import numbers
import warnings

from .._creation import empty, zeros
from .._tensor import Tensor
from ..ops._common import dtype_name
from . import init
from .functional._rnn import RNNLayer, Steps, run_layers
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _permute(hx: Tensor | None, perm: Tensor | None) -> Tensor | None:
    if hx is None or perm is None:
        return hx
    return hx.index_select(1, perm)


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: parameters, checks and the forward pass.

    Parameters are created per layer ``k`` and direction as ``weight_ih_l{k}``,
    ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` for a
    projected LSTM), with the suffix ``_reverse`` for the backward direction, all drawn from
    ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))`` as in torch.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}", stacklevel=3)
        for name, v in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(v, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(v).__name__}")
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")
            if v <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        nd = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        names: list = []
        groups: list = []
        for layer in range(num_layers):
            for d in range(nd):
                in_size = input_size if layer == 0 else real_hidden * nd
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                shapes = [(f"weight_ih{sfx}", (gate, in_size)),
                          (f"weight_hh{sfx}", (gate, real_hidden))]
                if bias:
                    shapes += [(f"bias_ih{sfx}", (gate,)), (f"bias_hh{sfx}", (gate,))]
                if proj_size > 0:
                    shapes += [(f"weight_hr{sfx}", (proj_size, hidden_size))]
                for n, shape in shapes:
                    setattr(self, n, Parameter(empty(shape, device=device, dtype=dtype)))
                names += [n for n, _ in shapes]
                groups.append([n for n, _ in shapes])
        self._flat_weights_names = names
        self._all_weights = groups
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters grouped per layer and direction."""
        return [[getattr(self, n) for n in group] for group in self._all_weights]

    def flatten_parameters(self) -> None:
        """Accepted for torch compatibility; a no-op (there is no cuDNN weight buffer)."""

    def reset_parameters(self) -> None:
        """Re-draw every parameter from ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ---- the forward pass shared by the three layers ------------------------------------
    def _layer_weights(self) -> list:
        out = []
        for group in self._all_weights:
            ws = {n.split("_l")[0]: getattr(self, n) for n in group}
            out.append((ws["weight_ih"], ws["weight_hh"], ws.get("bias_ih"), ws.get("bias_hh"),
                        ws.get("weight_hr")))
        return out

    def _check_input(self, input: Tensor, packed: bool) -> None:
        w = self.weight_ih_l0
        if input.dtype != w.dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({w.dtype}). "
                f"Convert input: input.to({w.dtype}), or convert model: model.to({input.dtype})")
        expected = 2 if packed else 3
        if input.ndim != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.ndim}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.shape[-1]}")

    def _check_hidden(self, hx: Tensor, expected: tuple, msg: str) -> None:
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))
        w = self.weight_hh_l0
        if hx.dtype != w.dtype:
            raise RuntimeError(
                f"mat1 and mat2 must have the same dtype, but got {dtype_name(hx.dtype)} and "
                f"{dtype_name(w.dtype)}")

    def _run(self, input, hx):
        """The forward pass; ``hx`` is a tensor, a pair (LSTM) or None."""
        lstm = self.mode == "LSTM"
        nd = 2 if self.bidirectional else 1
        out_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        packed = isinstance(input, PackedSequence)
        name = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            sizes = [int(b) for b in batch_sizes.tolist()]
            self._check_input(data, True)
            steps = Steps(sizes)
            batch = steps.batch
            x = data
            is_batched = True
        else:
            sorted_indices = unsorted_indices = None
            if input.ndim not in (2, 3):
                raise ValueError(
                    f"{name}: Expected input to be 2D or 3D, got {input.ndim}D "
                    + ("tensor instead" if name == "RNN" else "instead"))
            is_batched = input.ndim == 3
            batch_dim = 0 if self.batch_first else 1
            if not is_batched:
                input = input.unsqueeze(batch_dim)
                if hx is not None:
                    if lstm:
                        if hx[0].ndim != 2 or hx[1].ndim != 2:
                            raise RuntimeError(
                                "For unbatched 2-D input, hx and cx should also be 2-D but got "
                                f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors")
                        hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
                    else:
                        if hx.ndim != 2:
                            raise RuntimeError(
                                "For unbatched 2-D input, hx should also be 2-D but got "
                                f"{hx.ndim}-D tensor")
                        hx = hx.unsqueeze(1)
            elif hx is not None:
                if lstm and (hx[0].ndim != 3 or hx[1].ndim != 3):
                    raise RuntimeError(
                        "For batched 3-D input, hx and cx should also be 3-D but got "
                        f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors")
                if not lstm and hx.ndim != 3:
                    raise RuntimeError(
                        f"For batched 3-D input, hx should also be 3-D but got {hx.ndim}-D "
                        "tensor")
            self._check_input(input, False)
            seq = input.transpose(0, 1) if self.batch_first else input
            t_len, batch = seq.shape[0], seq.shape[1]
            if t_len == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            x = seq.reshape(t_len * batch, self.input_size)
            steps = Steps((batch,) * t_len)
        h_shape = (self.num_layers * nd, batch, out_size)
        c_shape = (self.num_layers * nd, batch, self.hidden_size)
        if hx is None:
            h0 = zeros(h_shape, dtype=x.dtype, device=x.device)
            c0 = zeros(c_shape, dtype=x.dtype, device=x.device) if lstm else None
        elif lstm:
            h0, c0 = hx
            self._check_hidden(h0, h_shape, "Expected hidden[0] size {}, got {}")
            self._check_hidden(c0, c_shape, "Expected hidden[1] size {}, got {}")
            h0, c0 = _permute(h0, sorted_indices), _permute(c0, sorted_indices)
        else:
            h0, c0 = hx, None
            self._check_hidden(h0, h_shape, "Expected hidden size {}, got {}")
            h0 = _permute(h0, sorted_indices)
        y, hn, cn = run_layers(self.mode, x, steps, h0, c0, self._layer_weights(),
                               self.num_layers, self.bidirectional, self.dropout, self.training)
        hn, cn = _permute(hn, unsorted_indices), _permute(cn, unsorted_indices)
        hidden = (hn, cn) if lstm else hn
        if packed:
            return PackedSequence(y, batch_sizes, sorted_indices, unsorted_indices), hidden
        y = y.reshape(len(steps.sizes), batch, nd * out_size)
        if self.batch_first:
            y = y.transpose(0, 1)
        if not is_batched:
            y = y.squeeze(batch_dim)
            hidden = (hn.squeeze(1), cn.squeeze(1)) if lstm else hn.squeeze(1)
        return y, hidden


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).

    Args:
        input_size: features of each input step.
        hidden_size: features of the hidden state.
        num_layers: stacked layers.
        nonlinearity: ``'tanh'`` or ``'relu'``.
        bias: use ``b_ih`` and ``b_hh``.
        batch_first: input and output are ``(N, L, *)`` instead of ``(L, N, *)``.
        dropout: dropout on the outputs of every layer but the last (training only).
        bidirectional: also run the sequence backwards and concatenate.
        device, dtype: where and how to create the parameters.

    Inputs: ``input`` ``(L, N, H_in)`` (``(L, H_in)`` unbatched, or a PackedSequence) and an
    optional ``h_0`` ``(D * num_layers, N, H_out)``.

    Returns:
        ``(output, h_n)``: ``output`` ``(L, N, D * H_out)`` (a PackedSequence for packed input),
        ``h_n`` ``(D * num_layers, N, H_out)``.

    Example:
        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, hn = rnn(gpuarr.randn(5, 3, 10), gpuarr.randn(2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(
                f"RNN.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx: Tensor | None = None):
        """Run the RNN; see the class docstring for shapes."""
        return self._run(input, hx)


class LSTM(RNNBase):
    """Long short-term memory: gates ``i, f, g, o`` (torch's order), ``c_t = f c_{t-1} + i g``,
    ``h_t = o tanh(c_t)``, projected by ``W_hr`` when ``proj_size > 0``.

    Args:
        input_size: features of each input step.
        hidden_size: features of the cell state.
        num_layers: stacked layers.
        bias: use ``b_ih`` and ``b_hh``.
        batch_first: input and output are ``(N, L, *)`` instead of ``(L, N, *)``.
        dropout: dropout on the outputs of every layer but the last (training only).
        bidirectional: also run the sequence backwards and concatenate.
        proj_size: if > 0, project ``h_t`` to this size (``H_out``).
        device, dtype: where and how to create the parameters.

    Inputs: ``input`` ``(L, N, H_in)`` (``(L, H_in)`` unbatched, or a PackedSequence) and an
    optional pair ``(h_0, c_0)`` of shapes ``(D * num_layers, N, H_out)`` and
    ``(D * num_layers, N, hidden_size)``.

    Returns:
        ``(output, (h_n, c_n))``.

    Example:
        >>> lstm = nn.LSTM(10, 20, 2)
        >>> output, (hn, cn) = lstm(gpuarr.randn(5, 3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input, hx: tuple[Tensor, Tensor] | None = None):
        """Run the LSTM; see the class docstring for shapes."""
        return self._run(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit: gates ``r, z, n`` (torch's order),
    ``n_t = tanh(W_in x + b_in + r (W_hn h + b_hn))``, ``h_t = (1 - z) n_t + z h_{t-1}``.

    Args:
        input_size: features of each input step.
        hidden_size: features of the hidden state.
        num_layers: stacked layers.
        bias: use ``b_ih`` and ``b_hh``.
        batch_first: input and output are ``(N, L, *)`` instead of ``(L, N, *)``.
        dropout: dropout on the outputs of every layer but the last (training only).
        bidirectional: also run the sequence backwards and concatenate.
        device, dtype: where and how to create the parameters.

    Returns:
        ``(output, h_n)`` as :class:`RNN`.

    Example:
        >>> gru = nn.GRU(10, 20, 2)
        >>> output, hn = gru(gpuarr.randn(5, 3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(
                f"GRU.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)

    def forward(self, input, hx: Tensor | None = None):
        """Run the GRU; see the class docstring for shapes."""
        return self._run(input, hx)


# ---- cells --------------------------------------------------------------------------------


class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` ``(chunks * hidden, input)``, ``weight_hh``
    ``(chunks * hidden, hidden)``, ``bias_ih``, ``bias_hh``, initialised as torch does."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((g, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((g, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(g, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(g, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        """Re-draw every parameter from ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _check(self, input: Tensor, states: list) -> None:
        """torch's checks of a cell's input and hidden states (after batching)."""
        if input.shape[1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[1]} expected "
                f"{self.input_size}")
        for k, h in enumerate(states):
            if input.shape[0] != h.shape[0]:
                raise RuntimeError(
                    f"Input batch size {input.shape[0]} doesn't match hidden{k} batch size "
                    f"{h.shape[0]}")
            if h.ndim < 2 or h.shape[1] != self.hidden_size:
                got = h.shape[1] if h.ndim > 1 else h.shape[0]
                raise RuntimeError(
                    f"hidden{k} has inconsistent hidden_size: got {got}, expected "
                    f"{self.hidden_size}")
        w = self.weight_ih
        for t in (input, *states):
            if t.dtype != w.dtype:
                raise RuntimeError(
                    f"mat1 and mat2 must have the same dtype, but got {dtype_name(t.dtype)} "
                    f"and {dtype_name(w.dtype)}")

    def _step(self, mode: str, input: Tensor, h: Tensor, c: Tensor | None):
        steps = Steps((input.shape[0],))
        return RNNLayer.apply(input, h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                              self.bias_hh, None, mode, False, steps)


def _cell_prep(name: str, input: Tensor, hx, what: str = "hidden"):
    if input.ndim not in (1, 2):
        raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
    if hx is not None and hx.ndim not in (1, 2):
        raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {hx.ndim}D instead")
    return input.ndim == 2


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU).

    Args:
        input_size: features of the input.
        hidden_size: features of the hidden state.
        bias: use ``b_ih`` and ``b_hh``.
        nonlinearity: ``'tanh'`` or ``'relu'``.

    Inputs: ``input`` ``(N, H_in)`` or ``(H_in,)``, optional ``hidden`` ``(N, H)`` or ``(H,)``
    (zeros if omitted).

    Returns:
        ``h'`` with ``hidden``'s shape.

    Example:
        >>> cell = nn.RNNCell(10, 20)
        >>> h = cell(gpuarr.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = _cell_prep("RNNCell", input, hx)
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
        elif not batched:
            hx = hx.unsqueeze(0)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check(input, [hx])
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        h = self._step(mode, input, hx, None)[0]
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns ``(h', c')`` from ``input`` and ``(h, c)``.

    Args:
        input_size: features of the input.
        hidden_size: features of the hidden and cell states.
        bias: use ``b_ih`` and ``b_hh``.

    Inputs: ``input`` ``(N, H_in)`` or ``(H_in,)``, optional ``(h, c)`` each ``(N, H)`` or
    ``(H,)`` (zeros if omitted).

    Returns:
        ``(h', c')``.

    Example:
        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(gpuarr.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if input.ndim not in (1, 2):
            raise ValueError(
                f"LSTMCell: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if hx is not None:
            for k, v in enumerate(hx):
                if v.ndim not in (1, 2):
                    raise ValueError(
                        f"LSTMCell: Expected hx[{k}] to be 1D or 2D, got {v.ndim}D instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            z = zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
            hx = (z, z)
        elif not batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        self._check(input, list(hx))
        h, _hn, c = self._step("LSTM", input, hx[0], hx[1])
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: ``h' = (1 - z) n + z h`` with torch's gate order ``r, z, n``.

    Args:
        input_size: features of the input.
        hidden_size: features of the hidden state.
        bias: use ``b_ih`` and ``b_hh``.

    Returns:
        ``h'`` with ``hidden``'s shape.

    Example:
        >>> cell = nn.GRUCell(10, 20)
        >>> h = cell(gpuarr.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = _cell_prep("GRUCell", input, hx)
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
        elif not batched:
            hx = hx.unsqueeze(0)
        self._check(input, [hx])
        h = self._step("GRU", input, hx, None)[0]
        return h if batched else h.squeeze(0)
