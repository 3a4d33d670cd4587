"""Gatescope's model file, read and written from PyTorch (src/engine/modelfile.ts).

Tensors: the model's state_dict in layout order (model.py), then the training state under names the model never
uses:
    optim.exp_avg, optim.exp_avg_sq  (P)        Adam's moments in the flat parameter layout
    optim.carry_h, optim.carry_c     (L, B, H)  hidden state carried into the next chunk (c: LSTM only)
Metadata: "cell", "vocab" (JSON array of one-code-point strings, index = token id), "format" ("gatescope/1"),
"gatescope.info" (JSON facts: source, steps, loss, valLoss, trainedChars, created, sources, join, textHash, …) and,
with a training state, "gatescope.train" (JSON: options, step, epoch, position, rng, adamStep, dataLength, dataHash).
Both JSON values are written as JavaScript writes them, so load → save reproduces a Gatescope file byte for byte.

PyTorch's Adam keeps per parameter {step, exp_avg, exp_avg_sq}; Gatescope one step counter (adamStep) and two flat
vectors. adam_to_flat / flat_to_adam map one onto the other, tensor by tensor, by name.
"""
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Optional

import torch

from .data import UserError
from .model import CELLS, GATES, RNNModel, cell_of, param_layout
from .safetensors_io import FormatError, encode_safetensors, js_json, read_safetensors

FORMAT = "gatescope/1"
TRAIN_PREFIX = "optim."
# the fields of gatescope.train in the order Gatescope writes them (Trainer.snapshot without the tensors)
TRAIN_FIELDS = ("options", "step", "epoch", "position", "rng", "adamStep", "dataLength", "dataHash")
ADAM_DEFAULTS = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False}


@dataclass
class TrainingState:
    """Everything besides the parameters that an exact resume needs (trainer.ts TrainingState)."""
    options: dict                  # Gatescope's TrainOptions: cell, layers, hidden, embed, seq, batch, lr, clip, clipMode, valFrac, seed, steps
    step: int                      # optimisation steps done
    epoch: int                     # completed passes over the training text
    position: int                  # offset within each lane of the next chunk
    rng: list                      # Rng state, four uint32 words
    adam_step: int                 # Adam's t (updates taken)
    data_length: int               # tokens of the text, validation part included
    data_hash: str                 # hash_tokens of them
    carry_h: torch.Tensor          # (L, B, H)
    carry_c: Optional[torch.Tensor] = None  # (L, B, H), LSTM
    exp_avg: Optional[torch.Tensor] = None     # (P), when no optimiser is given to save()
    exp_avg_sq: Optional[torch.Tensor] = None  # (P)
    extra: dict = field(default_factory=dict)  # fields of gatescope.train this version does not know, kept
    history: Optional[str] = None  # "gatescope.history" as the file had it (Gatescope's per-tensor diagnostics), kept

    def scalars(self):
        out = {"options": self.options, "step": self.step, "epoch": self.epoch, "position": self.position,
               "rng": self.rng, "adamStep": self.adam_step, "dataLength": self.data_length, "dataHash": self.data_hash}
        out.update(self.extra)
        return out


@dataclass
class Checkpoint:
    model: RNNModel
    vocab: list
    info: dict
    training: Optional[TrainingState]
    metadata: dict       # the raw __metadata__
    warnings: list

    def restore_optimizer(self, optimizer):
        """Loads the file's Adam moments and step into `optimizer` (an Adam over this checkpoint's model)."""
        t = self.training
        if t is None or t.exp_avg is None:
            raise ValueError("the file holds no optimiser state")
        flat_to_adam(self.model, optimizer, t.exp_avg, t.exp_avg_sq, t.adam_step)


def _named_params(model):
    params = dict(model.named_parameters())
    state = model.state_dict(keep_vars=True)
    return {name: params.get(name, state.get(name)) for name in state}


def check_adam(optimizer):
    """Gatescope's Adam is torch.optim.Adam with its defaults but the learning rate; anything else cannot resume there."""
    if not isinstance(optimizer, torch.optim.Adam):
        raise ValueError(f"Gatescope trains with Adam, not {type(optimizer).__name__}")
    for group in optimizer.param_groups:
        for key, want in ADAM_DEFAULTS.items():
            got = tuple(group[key]) if key == "betas" else group[key]
            if got != want:
                raise ValueError(f"Gatescope's Adam has {key}={want}; this optimiser has {got}")


def adam_to_flat(model, optimizer, layout=None):
    """PyTorch's per-parameter Adam state → (exp_avg (P), exp_avg_sq (P), step) in the flat layout. A parameter
    without state (never updated) contributes zeros; the step is the largest of the parameters' (they are equal
    whenever every parameter gets a gradient at every step, as here)."""
    check_adam(optimizer)
    layout = layout or model.layout()
    named = _named_params(model)
    total = layout[-1][2] + layout[-1][3]
    m, v = torch.zeros(total), torch.zeros(total)
    step = 0
    for name, _, offset, size in layout:
        st = optimizer.state.get(named[name], {})
        if "exp_avg" in st:
            m[offset:offset + size] = st["exp_avg"].detach().reshape(-1).float().cpu()
            v[offset:offset + size] = st["exp_avg_sq"].detach().reshape(-1).float().cpu()
            step = max(step, int(float(st["step"])))
    return m, v, step


def flat_to_adam(model, optimizer, exp_avg, exp_avg_sq, step, layout=None):
    """The flat moments and step → PyTorch's per-parameter Adam state (step as the tensor torch ≥ 1.12 keeps)."""
    check_adam(optimizer)
    layout = layout or model.layout()
    named = _named_params(model)
    for name, shape, offset, size in layout:
        p = named[name]
        if step == 0:
            optimizer.state.pop(p, None)
            continue
        optimizer.state[p] = {
            "step": torch.tensor(float(step)),
            "exp_avg": exp_avg[offset:offset + size].reshape(shape).to(p.device, p.dtype).clone(),
            "exp_avg_sq": exp_avg_sq[offset:offset + size].reshape(shape).to(p.device, p.dtype).clone(),
        }


def save(model, vocab, path, optimizer=None, training=None, info=None, cell=None, extra_metadata=None):
    """Writes `model` (this package's RNNModel, or any module with word_language_model's state_dict names, tied weights
    included) as a Gatescope model file, atomically. `training` (a TrainingState) makes it resumable; its Adam moments
    come from `optimizer` when given (else from training.exp_avg/exp_avg_sq), its carried state from training.carry_*.
    `info` is gatescope.info (a dict; keys with value None are left out)."""
    cell = cell or getattr(model, "cell", None) or cell_of(model)
    if cell not in CELLS:
        raise ValueError("cannot tell the cell type: pass cell='lstm', 'gru', 'rnn_tanh' or 'rnn_relu'")
    state = model.state_dict()
    V, E = state["encoder.weight"].shape
    H = state["rnn.weight_hh_l0"].shape[1]
    L = sum(1 for k in state if re.fullmatch(r"rnn\.weight_ih_l\d+", k))
    if len(vocab) != V:
        raise ValueError(f"a vocabulary of {len(vocab)} for a model of {V}")
    if not all(isinstance(c, str) and len(c) == 1 for c in vocab):
        raise ValueError("the vocabulary must be single characters (one code point each), index = token id")
    layout = param_layout(cell, V, E, H, L)
    tensors = [(name, state[name]) for name, *_ in layout]
    metadata = {"cell": cell, "vocab": js_json(list(vocab)), "format": FORMAT,
                "gatescope.info": js_json({k: v for k, v in (info or {}).items() if v is not None})}
    if training is not None:
        if optimizer is not None:
            m, v, adam_step = adam_to_flat(model, optimizer, layout)
            training.adam_step = adam_step
        else:
            m, v = training.exp_avg, training.exp_avg_sq
            if m is None or v is None:
                raise ValueError("a training state needs the Adam moments: pass the optimizer, or set exp_avg and exp_avg_sq")
        P = layout[-1][2] + layout[-1][3]
        if m.numel() != P or v.numel() != P:
            raise ValueError(f"Adam moments of {m.numel()} values for a model of {P} parameters")
        tensors += [("optim.exp_avg", m.reshape(-1)), ("optim.exp_avg_sq", v.reshape(-1)), ("optim.carry_h", training.carry_h)]
        if training.carry_c is not None and cell == "lstm":
            tensors.append(("optim.carry_c", training.carry_c))
        metadata["gatescope.train"] = js_json(training.scalars())
        # the training history travels with the training state (a run resumed from here continues it)
        if training.history is not None:
            metadata["gatescope.history"] = training.history
    elif optimizer is not None:
        raise ValueError("an optimiser state resumes only with the rest of the training state: pass training= too")
    for k, val in (extra_metadata or {}).items():
        metadata.setdefault(k, val)
    write_atomic(path, encode_safetensors(tensors, metadata))


def load(path, device="cpu"):
    """Reads a Gatescope model file (or a PyTorch one saved with cell and vocab metadata) into this package's RNNModel
    (load_state_dict(strict=True)), with its vocabulary, gatescope.info and, when the file is resumable, the training
    state (Adam moments in the flat layout: checkpoint.restore_optimizer(adam) loads them)."""
    tensors, meta = read_safetensors(path)

    def bad(msg):
        raise FormatError(f"{path}: not a usable Gatescope/PyTorch model: {msg}")

    cell = meta.get("cell")
    if cell not in CELLS:
        bad(f'metadata "cell" is {cell!r}, expected one of {", ".join(CELLS)}')
    try:
        vocab = json.loads(meta.get("vocab", "null"))
    except ValueError:
        bad('metadata "vocab" is not valid JSON')
    if not isinstance(vocab, list) or not all(isinstance(c, str) and len(c) == 1 for c in vocab) or len(set(vocab)) != len(vocab):
        bad('metadata "vocab" must be a JSON array of distinct single characters (index = token id)')
    for need in ("encoder.weight", "rnn.weight_hh_l0", "rnn.weight_ih_l0"):
        if need not in tensors:
            bad(f"tensor {need} is missing")
    V, E = tensors["encoder.weight"].shape
    GH, H = tensors["rnn.weight_hh_l0"].shape
    if V != len(vocab):
        bad(f"encoder.weight has {V} rows but the vocabulary has {len(vocab)} characters")
    if GH != GATES[cell] * H:
        bad(f"rnn.weight_hh_l0 has shape [{GH}, {H}], expected [{GATES[cell]}·H, H] for cell {cell}")
    L = 0
    while f"rnn.weight_ih_l{L}" in tensors:
        L += 1
    model = RNNModel(cell, V, E, H, L)
    layout = model.layout()
    for name, shape, _, _ in layout:
        if name not in tensors:
            bad(f"tensor {name} is missing")
        if tuple(tensors[name].shape) != tuple(shape):
            bad(f"tensor {name} has shape {list(tensors[name].shape)}, expected {list(shape)}")
    known = {name for name, *_ in layout}
    warnings = [f"ignored tensor {k}, which the model does not use" for k in tensors if k not in known and not k.startswith(TRAIN_PREFIX)]
    model.load_state_dict({k: tensors[k] for k in known}, strict=True)
    model.to(device)
    info = _json_object(meta, "gatescope.info", bad) or {}
    training = _read_training(tensors, meta, model, warnings, bad)
    return Checkpoint(model, vocab, info, training, meta, warnings)


def _json_object(meta, key, bad):
    s = meta.get(key)
    if s is None:
        return None
    try:
        v = json.loads(s)
    except ValueError:
        bad(f'metadata "{key}" is not valid JSON')
    if not isinstance(v, dict):
        bad(f'metadata "{key}" is not a JSON object')
    return v


def _read_training(tensors, meta, model, warnings, bad):
    scalars = _json_object(meta, "gatescope.train", bad)
    if scalars is None:
        return None
    P = sum(size for *_, size in model.layout())
    m, v, h = tensors.get("optim.exp_avg"), tensors.get("optim.exp_avg_sq"), tensors.get("optim.carry_h")
    if m is None or v is None or h is None:
        warnings.append("the training state is incomplete; the model loads for inference, but cannot resume exactly")
        return None
    for name, t in (("optim.exp_avg", m), ("optim.exp_avg_sq", v)):
        if t.numel() != P:
            bad(f"training tensor {name} has {t.numel()} values, expected {P}")
    L, H = model.layers, model.hidden
    if h.numel() % (L * H):
        bad(f"optim.carry_h has {h.numel()} values, not a multiple of L·H = {L * H}")
    h = h.reshape(L, -1, H)
    c = tensors.get("optim.carry_c")
    if c is not None:
        if c.numel() != h.numel():
            bad(f"training tensor optim.carry_c has {c.numel()} values, expected {h.numel()}")
        c = c.reshape(h.shape)
    if not isinstance(scalars.get("options"), dict):
        bad('metadata "gatescope.train" has no "options" object (the training settings)')
    for k in ("step", "position", "adamStep"):
        x = scalars.get(k)
        if not isinstance(x, int) or isinstance(x, bool) or x < 0:
            bad(f'metadata "gatescope.train" field "{k}" is {x!r}, not a non-negative integer')
    rng = scalars.get("rng")
    if not (isinstance(rng, list) and len(rng) == 4 and all(isinstance(w, int) and 0 <= w <= 0xFFFFFFFF for w in rng) and any(rng)):
        bad('metadata "gatescope.train" field "rng" must be four 32-bit unsigned integers, not all zero')
    extra = {k: x for k, x in scalars.items() if k not in TRAIN_FIELDS}
    return TrainingState(options=scalars["options"], step=scalars["step"], epoch=scalars.get("epoch", 0),
                         position=scalars["position"], rng=rng, adam_step=scalars["adamStep"],
                         data_length=scalars.get("dataLength", -1), data_hash=scalars.get("dataHash", ""),
                         carry_h=h, carry_c=c if model.cell == "lstm" else None, exp_avg=m, exp_avg_sq=v, extra=extra,
                         history=meta.get("gatescope.history"))


# ---- files -----------------------------------------------------------------------------------------------------

def write_atomic(path, data):
    """Writes to a temporary file beside `path` (named as Gatescope names its own, so either side cleans up after a
    killed writer), flushed to disk, then renamed over it: a crash leaves the previous file whole."""
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _running(pid):
    try:
        os.kill(pid, 0)
        return True
    except PermissionError:
        return True  # alive, someone else's
    except OSError:
        return False


def remove_stale_temporaries(path):
    """Deletes temporary files that killed writers (of either side) left beside `path`."""
    folder, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"^\.{re.escape(name)}\.(\d+)\.[0-9a-f]{{8}}\.tmp$")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for n in names:
        m = pattern.match(n)
        if m and not _running(int(m.group(1))):
            try:
                os.unlink(os.path.join(folder, n))
            except OSError:
                pass


def lock_output(path):
    """Takes Gatescope's write lock of `path` (.<name>.lock holding the writer's pid): a live writer of either side is
    refused, a dead one's lock taken over. Returns the release."""
    folder, name = os.path.split(os.path.abspath(path))
    lock = os.path.join(folder, f".{name}.lock")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))

            def release():
                try:
                    os.unlink(lock)
                except OSError:
                    pass
            return release
        except FileExistsError:
            try:
                with open(lock) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                pid = 0
            if pid > 0 and pid != os.getpid() and _running(pid):
                raise UserError(f"another process (pid {pid}) is writing {path}; wait for it to finish or choose another --out")
            try:
                os.unlink(lock)
            except OSError:
                pass
    raise UserError(f"cannot lock {path} for writing: another process keeps taking the lock")
