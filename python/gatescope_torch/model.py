"""The model Gatescope reads: PyTorch word_language_model's RNNModel without dropout.

Dimensions: V vocab, E embedding, H hidden, L layers, G gates per cell (LSTM 4, GRU 3, RNN 1), T time, B batch.
The state_dict is exactly the tensors of a Gatescope model file (src/engine/layout.ts), in this order:
    encoder.weight      (V, E)
    rnn.weight_ih_l{k}  (G·H, E for k = 0, else H)
    rnn.weight_hh_l{k}  (G·H, H)
    rnn.bias_ih_l{k}    (G·H)
    rnn.bias_hh_l{k}    (G·H)
    decoder.weight      (V, H)
    decoder.bias        (V)
Rows of G·H are blocks of H in PyTorch's gate order, which is Gatescope's: LSTM i, f, g, o; GRU r, z, n.
"""
import math

import torch
import torch.nn as nn

from .rng import Rng

CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def param_layout(cell, vocab_size, embed, hidden, layers):
    """[(name, shape, offset, size)]: the flat layout of parameters, gradients and Adam moments (layout.ts)."""
    V, E, H, L = vocab_size, embed, hidden, layers
    GH = GATES[cell] * H
    shapes = [("encoder.weight", (V, E))]
    for k in range(L):
        shapes += [(f"rnn.weight_ih_l{k}", (GH, E if k == 0 else H)), (f"rnn.weight_hh_l{k}", (GH, H)),
                   (f"rnn.bias_ih_l{k}", (GH,)), (f"rnn.bias_hh_l{k}", (GH,))]
    shapes += [("decoder.weight", (V, H)), ("decoder.bias", (V,))]
    out, offset = [], 0
    for name, shape in shapes:
        size = math.prod(shape)
        out.append((name, shape, offset, size))
        offset += size
    return out


def cell_of(module):
    """The Gatescope cell of a model's `rnn` (nn.LSTM, nn.GRU, nn.RNN with tanh or relu), or None."""
    rnn = getattr(module, "rnn", None)
    if isinstance(rnn, nn.LSTM):
        return "lstm"
    if isinstance(rnn, nn.GRU):
        return "gru"
    if isinstance(rnn, nn.RNN):
        return {"tanh": "rnn_tanh", "relu": "rnn_relu"}.get(rnn.nonlinearity)
    return None


class RNNModel(nn.Module):
    """encoder nn.Embedding(V, E) → rnn nn.LSTM / nn.GRU / nn.RNN(tanh / relu) (E, H, L), time-major → decoder nn.Linear(H, V)."""

    def __init__(self, cell, vocab_size, embed, hidden, layers=1):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}: use lstm, gru, rnn_tanh or rnn_relu")
        self.cell = cell
        self.vocab_size, self.embed, self.hidden, self.layers = vocab_size, embed, hidden, layers
        self.encoder = nn.Embedding(vocab_size, embed)
        if cell == "lstm":
            self.rnn = nn.LSTM(embed, hidden, layers)
        elif cell == "gru":
            self.rnn = nn.GRU(embed, hidden, layers)
        else:
            self.rnn = nn.RNN(embed, hidden, layers, nonlinearity="relu" if cell == "rnn_relu" else "tanh")
        self.decoder = nn.Linear(hidden, vocab_size)

    def forward(self, inputs, hidden=None):
        """inputs (T, B) token ids, hidden (L, B, H) (LSTM: a pair h, c) → logits (T, B, V), final hidden."""
        out, hidden = self.rnn(self.encoder(inputs), hidden)  # (T, B, H)
        return self.decoder(out), hidden

    def init_hidden(self, batch):
        """The zero state: (L, B, H), a pair (h, c) for the LSTM."""
        w = self.decoder.weight
        h = w.new_zeros(self.layers, batch, self.hidden)
        return (h, h.clone()) if self.cell == "lstm" else h

    def layout(self):
        return param_layout(self.cell, self.vocab_size, self.embed, self.hidden, self.layers)

    @torch.no_grad()
    def initialize(self, seed):
        """Gatescope's initialisation (network.ts), value for value for the same seed: every recurrent weight and bias
        U(−1/√H, 1/√H) as nn.LSTM/GRU/RNN's reset_parameters, encoder and decoder weights U(−0.1, 0.1) and decoder
        bias 0 as word_language_model's init_weights, drawn in float64 from Rng(seed) in layout order."""
        rng = Rng(seed)
        k = 1 / math.sqrt(self.hidden)
        state = self.state_dict()
        for name, shape, _, size in self.layout():
            if name == "decoder.bias":
                state[name].zero_()
                continue
            bound = 0.1 if name in ("encoder.weight", "decoder.weight") else k
            values = [rng.uniform(-bound, bound) for _ in range(size)]
            state[name].copy_(torch.tensor(values, dtype=torch.float64).reshape(shape))
        return self

    @torch.no_grad()
    def initialize_torch(self, seed):
        """The same distributions from torch's generator: for models too large for initialize()'s Python loop."""
        gen = torch.Generator().manual_seed(seed)
        k = 1 / math.sqrt(self.hidden)
        for name, p in self.named_parameters():
            if name == "decoder.bias":
                p.zero_()
                continue
            bound = 0.1 if name in ("encoder.weight", "decoder.weight") else k
            p.copy_(torch.empty(p.shape).uniform_(-bound, bound, generator=gen))
        return self
