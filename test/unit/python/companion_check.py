#!/usr/bin/env python3
"""What companion.test.ts asks of PyTorch, in one process (importing torch takes a second or two):

    PYTHONPATH=python companion_check.py OUT_DIR SEED TEXT MODEL... -- TRAIN_FLAGS...

1. writes OUT_DIR/init-{cell}.safetensors for every cell: RNNModel(cell, V=7, E=5, H=6, L=2).initialize(SEED);
2. writes OUT_DIR/tied.safetensors: word_language_model's RNNModel with tied weights, saved with save();
3. trains OUT_DIR/rt-companion-{cell}.safetensors for every cell with `python -m gatescope_torch.train TEXT
   TRAIN_FLAGS --cell {cell}` (its main(), in this process);
4. for those and every MODEL: a fresh RNNModel takes the model tensors with load_state_dict(strict=True); load() →
   Adam (restore_optimizer) → save(optimizer=…) writes OUT_DIR/roundtrip-<name>;
and prints, as its last line, JSON {path: {identical, tensors, differentTensors, metadata, differentMetadata,
warnings}} for step 4.
"""
import json
import os
import sys

import torch
import torch.nn as nn

from gatescope_torch import RNNModel, load, save
from gatescope_torch.train import main as train
from gatescope_torch.safetensors_io import read_safetensors

VOCAB = ["a", "b", "é", " ", ".", "x", "🙂"]


def init(out_dir, seed):
    for cell in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
        model = RNNModel(cell, len(VOCAB), 5, 6, 2).initialize(seed)
        save(model, VOCAB, os.path.join(out_dir, f"init-{cell}.safetensors"))


def roundtrip(out_dir, paths):
    report = {}
    for path in paths:
        tensors, meta = read_safetensors(path)
        ck = load(path)
        fresh = RNNModel(ck.model.cell, ck.model.vocab_size, ck.model.embed, ck.model.hidden, ck.model.layers)
        fresh.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optim.")}, strict=True)
        opt = torch.optim.Adam(ck.model.parameters(), lr=ck.training.options["lr"])
        ck.restore_optimizer(opt)  # the moments go through PyTorch's per-parameter state and back
        out = os.path.join(out_dir, "roundtrip-" + os.path.basename(path))
        save(ck.model, ck.vocab, out, optimizer=opt, training=ck.training, info=ck.info)
        tensors2, meta2 = read_safetensors(out)
        with open(path, "rb") as a, open(out, "rb") as b:
            same = a.read() == b.read()
        report[path] = {
            "identical": same,
            "tensors": list(tensors),
            "differentTensors": [k for k in set(tensors) | set(tensors2)
                                 if k not in tensors or k not in tensors2 or not torch.equal(tensors[k], tensors2[k])],
            "metadata": list(meta),
            "differentMetadata": [k for k in set(meta) | set(meta2) if meta.get(k) != meta2.get(k)],
            "strict": True,
            "warnings": ck.warnings,
        }
    return report


class WordLanguageModel(nn.Module):
    """pytorch/examples word_language_model RNNModel (LSTM), with --tied."""

    def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=True):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight


def tied(out):
    torch.manual_seed(0)
    model = WordLanguageModel(len(VOCAB), 6, 6, 2)
    assert model.decoder.weight.data_ptr() == model.encoder.weight.data_ptr()
    save(model, VOCAB, out)
    ck = load(out)
    assert torch.equal(ck.model.decoder.weight, model.encoder.weight)


def main(argv):
    split = argv.index("--")
    (out_dir, seed, text, *models), flags = argv[:split], argv[split + 1:]
    init(out_dir, int(seed))
    tied(os.path.join(out_dir, "tied.safetensors"))
    mine = []
    for cell in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
        mine.append(os.path.join(out_dir, f"rt-companion-{cell}.safetensors"))
        if train([text, *flags, "--cell", cell, "--log-every", "0", "--out", mine[-1]]) != 0:
            sys.exit(f"training the {cell} failed")
    print(json.dumps(roundtrip(out_dir, mine + models)))


if __name__ == "__main__":
    main(sys.argv[1:])
