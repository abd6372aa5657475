"""The RNN backbone (an LSTM or GRU, :class:`RNN`) and its K-member form: K independent LSTMs or
GRUs run together, the recurrent layer of ``RNN(members=K)``.

Torch's ``nn.LSTM`` and ``nn.GRU`` hold one set of weights, so K members would be K calls per
batch. :class:`StackedRecurrent` holds every layer's weights with a leading member axis and runs
the K members' cells with one batched matmul per time step (and one for the input projections
of all steps), with torch's gate order and equations: member k computes what ``nn.LSTM``
(``nn.GRU``) loaded with member k's weights computes, and :meth:`StackedRecurrent.member_state`
names and shapes its parameters as theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import torch
from torch import nn

from rlsuite.nets.backbones import as_float
from rlsuite.nets.checks import check_members, check_positive_int, choose
from rlsuite.nets.stacked import StackedLayer, require_member_axis, stack_members

RECURRENT_CELLS: dict[str, type[nn.LSTM] | type[nn.GRU]] = {"lstm": nn.LSTM, "gru": nn.GRU}

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class StackedRecurrent(StackedLayer):
    """K LSTMs or GRUs of ``num_layers`` layers over batch-first sequences with a member axis:
    (K, B, T, input_size) → ((K, B, T, hidden_size), state), the state (``(h, c)`` for an LSTM,
    ``h`` for a GRU) each (K, num_layers, B, hidden_size).

    Layer l's parameters are ``weight_ih_l{l}`` (K, in, G·H), ``weight_hh_l{l}`` (K, H, G·H) and
    the biases ``bias_ih_l{l}``, ``bias_hh_l{l}`` (K, 1, G·H), G = 4 gates (i, f, g, o) for an
    LSTM and 3 (r, z, n) for a GRU; they start uninitialised, filled from single-member twins.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int, members: int) -> None:
        super().__init__()
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.members = check_members(members)
        width = (4 if cell == "lstm" else 3) * hidden_size
        for layer in range(num_layers):
            inputs = input_size if layer == 0 else hidden_size
            for name, shape in (
                ("weight_ih", (inputs, width)),
                ("weight_hh", (hidden_size, width)),
                ("bias_ih", (1, width)),
                ("bias_hh", (1, width)),
            ):
                self.register_parameter(f"{name}_l{layer}", nn.Parameter(torch.empty(members, *shape)))

    def _member_state(self, k: int) -> dict[str, torch.Tensor]:
        return {
            name: (p[k].T if name.startswith("weight") else p[k, 0]).clone(memory_format=torch.contiguous_format)
            for name, p in self.named_parameters()
        }

    @torch.no_grad()
    def _load_member_(self, k: int, state: Mapping[str, torch.Tensor]) -> None:
        for name, p in self.named_parameters():
            if name.startswith("weight"):
                p[k].copy_(state[name].T)
            else:
                p[k, 0].copy_(state[name])

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        members, batch = x.shape[:2]
        lstm = self.cell == "lstm"
        if state is None:
            zeros = x.new_zeros(members, self.num_layers, batch, self.hidden_size)
            state = (zeros, zeros.clone()) if lstm else zeros
        out, last_h = x, []
        if lstm:
            h_all, c_all = state
            last_c = []
            for layer in range(self.num_layers):
                out, h, c = self._lstm_layer(layer, out, h_all[:, layer], c_all[:, layer])
                last_h.append(h)
                last_c.append(c)
            return out, (torch.stack(last_h, dim=1), torch.stack(last_c, dim=1))
        # a GRU's state is h alone
        h_all = cast(torch.Tensor, state)
        for layer in range(self.num_layers):
            out, h = self._gru_layer(layer, out, h_all[:, layer])
            last_h.append(h)
        return out, torch.stack(last_h, dim=1)

    def _input_gates(self, layer: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(the input's share of every gate for all steps at once, (K, B, T, G·H); layer's weight_hh; its bias_hh)."""
        members, batch, steps = x.shape[:3]
        weight_ih, weight_hh, bias_ih, bias_hh = (
            getattr(self, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        gates_x = torch.baddbmm(bias_ih, x.reshape(members, batch * steps, -1), weight_ih)
        return gates_x.reshape(members, batch, steps, -1), weight_hh, bias_hh

    def _lstm_layer(
        self, layer: int, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(every step's output, the last h, the last c) of LSTM ``layer`` over ``x`` from state (h, c)."""
        gates_x, weight_hh, bias_hh = self._input_gates(layer, x)
        outputs = []
        for t in range(x.shape[2]):
            gates_h = torch.baddbmm(bias_hh, h, weight_hh)
            i, f, g, o = (gates_x[:, :, t] + gates_h).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=2), h, c

    def _gru_layer(self, layer: int, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(every step's output, the last h) of GRU ``layer`` over ``x`` from state h."""
        gates_x, weight_hh, bias_hh = self._input_gates(layer, x)
        outputs = []
        for t in range(x.shape[2]):
            gates_h = torch.baddbmm(bias_hh, h, weight_hh)
            (x_r, x_z, x_n), (h_r, h_z, h_n) = gates_x[:, :, t].chunk(3, dim=-1), gates_h.chunk(3, dim=-1)
            r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
            h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
            outputs.append(h)
        return torch.stack(outputs, dim=2), h

    def extra_repr(self) -> str:
        return f"{self.cell}, hidden_size={self.hidden_size}, num_layers={self.num_layers}, members={self.members}"


RecurrentState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class RNN(nn.Module):
    """An LSTM or GRU over batch-first sequences.

    ``forward(x, state)`` takes (B, T, input_size) and an optional state from a previous call,
    and returns the features of every step, (B, T, hidden_size), and the new state (``(h, c)``
    for an LSTM, ``h`` for a GRU, each (num_layers, B, hidden_size)). To classify a whole
    sequence, put a head on ``features[..., -1, :]``. With ``members=K`` every tensor has a
    leading member axis: (K, B, T, input_size) in, (K, B, T, hidden_size) and states
    (K, num_layers, B, hidden_size) out; member k computes what a single RNN with its weights does.

    Biases start at zero, except an LSTM's forget gate, which starts at 1: cells then keep
    what they hold until training teaches them to forget, which lets gradients reach early
    steps and spares long-memory tasks a plateau at chance (Jozefowicz et al., 2015).
    """

    def __init__(
        self, input_size: int, hidden_size: int = 64, cell: str = "lstm", num_layers: int = 1, members: int = 1
    ) -> None:
        super().__init__()
        self.cell = choose("recurrent cell", cell, tuple(RECURRENT_CELLS))
        sizes = (
            check_positive_int("input_size", input_size),
            check_positive_int("hidden_size", hidden_size),
            check_positive_int("num_layers", num_layers),
        )
        self.members = check_members(members)
        self.out_features = hidden_size
        self.recurrent: StackedRecurrent | nn.LSTM | nn.GRU
        if members > 1:
            self.recurrent = StackedRecurrent(self.cell, *sizes, members)
            stack_members(self, [RNN(*sizes[:2], cell, num_layers) for _ in range(members)])
            return
        self.recurrent = RECURRENT_CELLS[self.cell](*sizes[:2], num_layers=sizes[2], batch_first=True)
        self._initialize_biases()

    def _initialize_biases(self) -> None:
        hidden = self.out_features
        with torch.no_grad():
            for name, bias in self.recurrent.named_parameters():
                if not name.startswith("bias"):
                    continue
                bias.zero_()
                # Gate order is (input, forget, cell, output); the two bias vectors are summed,
                # so only one of them carries the forget offset.
                if self.cell == "lstm" and name.startswith("bias_ih"):
                    bias[hidden : 2 * hidden] = 1.0

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> RecurrentState:
        """The all-zero state a fresh sequence starts from ((K, num_layers, B, H) for K members)."""
        shape: tuple[int, ...] = (self.recurrent.num_layers, batch_size, self.out_features)
        shape = shape if self.members == 1 else (self.members, *shape)
        zeros = torch.zeros(shape, device=device)
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros

    def forward(self, x: torch.Tensor, state: RecurrentState | None = None) -> tuple[torch.Tensor, RecurrentState]:
        """(B, T, input_size) → ((B, T, hidden_size), state), each with a leading member axis K for K members."""
        if self.members > 1:
            require_member_axis(x, self.members, "RNN", min_dim=4, max_dim=4)
        return self.recurrent(as_float(x), state)
