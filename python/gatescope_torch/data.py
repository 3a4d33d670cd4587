"""The text as Gatescope trains on it: read, joined, tokenised, cut into lanes (src/engine/text.ts, vocab.ts,
trainer.ts planData, cli/train.ts joinTexts), so that a run continues the other side's batches exactly.

Dimensions: B lanes (batch), T chunk length (seq), n tokens.
"""
import math
from dataclasses import dataclass, field

import torch

MIN_SEQ = 8  # the shortest truncated-BPTT length a short text shrinks seq to
MAX_VOCAB = 65_536


class UserError(Exception):
    """A problem with the user's input, reported as one line."""


def read_text(path):
    """A UTF-8 text file as Gatescope reads it: empty, NUL-holding and invalid UTF-8 files refused, a BOM dropped."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    if not raw:
        raise UserError(f"{path} is empty: there is nothing to learn from")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise UserError(f"{path} is not a text file (it contains a NUL byte at offset {nul}); choose a UTF-8 text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not valid UTF-8 (first bad byte at offset {e.start}); convert it to UTF-8 first") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text:
        raise UserError(f"{path} is empty: there is nothing to learn from")
    return text


def join_texts(texts):
    """Concatenates texts with a newline between two where the first does not end with one ("newline-if-missing")."""
    out = ""
    for t in texts:
        out = t if out == "" else out + t if out.endswith("\n") else out + "\n" + t
    return out


def code_points(text):
    """(n) int32 code points of a text."""
    return torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32).clone() if text else torch.zeros(0, dtype=torch.int32)


def vocabulary_from_text(text):
    """Sorted unique code points, as one-character strings (token id = index): Vocabulary.fromText."""
    cps = torch.unique(code_points(text)).tolist()  # sorted
    if len(cps) > MAX_VOCAB:
        raise UserError(f"the text has {len(cps):,} different characters, more than the {MAX_VOCAB:,} a model may have")
    return [chr(c) for c in cps]


def describe_char(ch):
    cp = ord(ch)
    names = {9: "tab", 10: "newline", 13: "carriage return", 32: "space"}
    hexa = f"U+{cp:04X}"
    if cp in names:
        return f"{names[cp]} ({hexa})"
    if cp < 32 or 0x7F <= cp < 0xA0:
        return f"control character {hexa}"
    return f"'{ch}' ({hexa})"


def encode(vocab, text):
    """(n) int32 token ids; characters outside the vocabulary are an error that lists them."""
    cps = code_points(text)
    if cps.numel() == 0:
        return cps
    top = max(int(cps.max()), max(ord(c) for c in vocab)) + 1
    table = torch.full((top,), -1, dtype=torch.int32)
    table[torch.tensor([ord(c) for c in vocab], dtype=torch.long)] = torch.arange(len(vocab), dtype=torch.int32)
    ids = torch.empty_like(cps)
    step = 1 << 22  # bounded temporaries for long texts
    for i in range(0, cps.numel(), step):
        ids[i:i + step] = table[cps[i:i + step].long()]
    if bool((ids < 0).any()):
        unknown = []
        seen = set()
        for cp in cps[ids < 0].tolist():  # in order of first appearance
            if cp not in seen:
                seen.add(cp)
                unknown.append(chr(cp))
        shown = ", ".join(describe_char(c) for c in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise UserError(f"{len(unknown)} character{' is' if len(unknown) == 1 else 's are'} not in the model's vocabulary: "
                        f"{shown}{more}. Remove them from the input, or train a model on text that contains them.")
    return ids


def hash_tokens(ids):
    """FNV-1a over the token ids (trainer.ts hashTokens): how a resume notices another text."""
    M, P = 0xFFFFFFFF, 0x01000193
    h = 0x811C9DC5
    step = 1 << 20
    if ids.numel() == 0 or int(ids.max()) < 256:
        # every id < 256: its high part is 0, so the two rounds per token fold into one multiplication by P²
        P2 = (P * P) & M
        for i in range(0, ids.numel(), step):
            for a in ids[i:i + step].tolist():
                h = ((h ^ a) * P2) & M
    else:
        for i in range(0, ids.numel(), step):
            for x in ids[i:i + step].tolist():
                h = ((h ^ (x & 0xFF)) * P) & M
                h = ((h ^ ((x >> 8) & 0xFFFFFF)) * P) & M
    return f"{h:08x}"


@dataclass
class DataPlan:
    """How the text is cut into lanes, after shrinking batch and seq to fit a short text (trainer.ts planData)."""
    seq: int
    batch: int
    train_length: int  # tokens [0, train_length) train
    val_length: int    # tokens [train_length, train_length + val_length) validate
    lane_length: int   # tokens per lane
    steps_per_epoch: int
    warnings: list = field(default_factory=list)


def plan_data(n, seq, batch, val_frac):
    warnings = []
    if n < MIN_SEQ + 1:
        raise UserError(f"the text is too short to train on: it has {n} character{'' if n == 1 else 's'}, and at least {MIN_SEQ + 1} are needed")
    val_length = math.floor(n * val_frac)
    if val_length > 0 and (val_length < MIN_SEQ + 1 or n - val_length < seq + 1):
        warnings.append(f"the text is too short to hold out {math.floor(val_frac * 100 + 0.5)}% for validation ({n} characters); "
                        "training without a validation loss")
        val_length = 0
    train_length = n - val_length
    T = seq
    if train_length < T + 1:
        T = train_length - 1
        warnings.append(f"the text has only {train_length} characters, fewer than seq + 1 = {seq + 1}: seq shrunk to {T}")
    B = batch
    max_lanes = train_length // (T + 1)
    if max_lanes < B:
        B = max(1, max_lanes)
        warnings.append(f"the text is too short for {batch} lanes of {T + 1} characters: batch shrunk to {B}")
    lane_length = train_length // B
    return DataPlan(T, B, train_length, val_length, lane_length, (lane_length - 1) // T, warnings)


def lanes(ids, plan):
    """(B, lane_length) the training text cut into B contiguous lanes, as word_language_model's batchify."""
    return ids[:plan.batch * plan.lane_length].view(plan.batch, plan.lane_length)


@torch.no_grad()
def validate(model, ids, plan, device, max_chars=32_768):
    """Mean loss on the held-out text (at most max_chars of it), from a zero state carried across chunks of T, in
    lanes as trainer.ts validate() cuts them; NaN without a validation part."""
    if plan.val_length == 0:
        return math.nan
    T = plan.seq
    n = min(plan.val_length, max_chars)
    B = max(1, min(plan.batch, n // (T + 1)))
    lane = n // B
    val = ids[plan.train_length:plan.train_length + B * lane].view(B, lane).to(device=device, dtype=torch.long)
    hidden = model.init_hidden(B)
    total, count = 0.0, 0
    for p in range(0, lane - 1, T):
        length = min(T, lane - 1 - p)
        x = val[:, p:p + length].t()          # (len, B)
        y = val[:, p + 1:p + 1 + length].t()  # (len, B)
        logits, hidden = model(x, hidden)
        total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).double(), y.reshape(-1),
                                                   reduction="sum").item()
        count += length * B
    return total / count if count else math.nan
