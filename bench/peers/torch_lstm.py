#!/usr/bin/env python3
"""PyTorch peer for `npm run bench`: char-level LSTM LM on lib.dom.d.ts.

Run with Debian's interpreter (/usr/bin/python3), which has python3-torch.
Prints exactly one JSON line on stdout; everything else goes to stderr.
The workload must stay identical to bench/peers/tfjs_lstm.mjs and to the
engine's own benchmark (see bench/peers/README.md).
"""

import argparse
import math
import json
import os
import resource
import statistics
import sys
import time

PEER = "pytorch"

CONFIGS = {
    "A": {"E": 64, "L": 1, "H": 128},
    "B": {"E": 64, "L": 2, "H": 256},
}
BATCH = 32
SEQ = 64
LR = 2e-3
CLIP = 5.0
SEED = 1234


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def emit(result):
    print(json.dumps(result), flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", choices=sorted(CONFIGS), default="A")
    p.add_argument("--seconds", type=float, default=8.0,
                   help="timing budget per measurement (split into 3 windows)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=None,
                   help="text file (default: typescript's lib.dom.d.ts)")
    return p.parse_args()


def default_data_path():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "node_modules", "typescript", "lib",
                        "lib.dom.d.ts")


def blas_info():
    """Describe the BLAS torch really loaded (Debian resolves libblas.so.3
    through update-alternatives, so the package name alone says nothing)."""
    coretype = os.environ.get("OPENBLAS_CORETYPE") or "unset"
    path = None
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                name = line.split()[-1]
                if "blas" in os.path.basename(name) and name.startswith("/"):
                    path = os.path.realpath(name)
                    break
    except OSError:
        pass
    core = None
    if path:
        try:
            import ctypes
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            core = lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            pass  # not OpenBLAS: no corename to report
    # Thread wait policy decides whether 2 threads survive a busy 2-core box.
    extra = "".join(f", {k}={v}" for k, v in sorted(os.environ.items())
                    if k.startswith(("OPENBLAS_", "OMP_", "GOMP_")) and k != "OPENBLAS_CORETYPE")
    return (f"BLAS {path or 'unknown'} (OpenBLAS core {core or 'n/a'}), "
            f"OPENBLAS_CORETYPE={coretype}{extra}")


def load_tokens(path, np, torch):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # UTF-32 gives one uint32 per code point, i.e. Python's str indexing,
    # without a 1.9 M-entry Python loop.
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    vocab = np.unique(cps)  # sorted unique code points
    ids = np.searchsorted(vocab, cps).astype(np.int64)
    return torch.from_numpy(ids), len(vocab)


def batchify(ids, lanes):
    """Cut the stream into `lanes` contiguous segments -> [steps, lanes]."""
    n = ids.numel() // lanes
    return ids[: n * lanes].view(lanes, n).t().contiguous()


def measure(call, chars_per_call, seconds, warm_calls):
    """Warm up, then return (median rate, rates) over 3 windows of seconds/3.
    Every window runs at least one call, so slow peers still report."""
    t0 = time.perf_counter()
    n = 0
    while n < warm_calls and (n == 0 or time.perf_counter() - t0 < 0.25 * seconds):
        call()
        n += 1
    rates = []
    for _ in range(3):
        n = 0
        t0 = time.perf_counter()
        while True:
            call()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds / 3:
                break
        rates.append(n * chars_per_call / elapsed)
    return statistics.median(rates), rates


REACH_CHARS, REACH_POSITIONS, REACH_K = 10_000, 40, 100
UNITS_CHARS, UNITS_REGEX = 10_000, r"\w+\?:"


def reach_positions(T, count, K):
    """Gatescope's rule (src/engine/reach.ts reachPositions): count positions spread over [K, T − 2]."""
    lo, hi = K, T - 2
    n = min(count, hi - lo + 1)
    if n == 1:
        return [hi]
    return [lo + int(math.floor(i * (hi - lo) / (n - 1) + 0.5)) for i in range(n)]


def main():
    args = parse_args()
    base = {"peer": PEER, "version": None, "config": args.config,
            "threads": args.threads}
    try:
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        emit({**base, "trainCharsPerSec": None, "fwd64CharsPerSec": None,
              "fwd1CharsPerSec": None, "rssMB": None,
              "skipped": f"missing dependency: {e} (run with /usr/bin/python3, python3-torch)",
              "notes": ""})
        return

    base["version"] = torch.__version__
    data_path = args.data or default_data_path()
    if not os.path.exists(data_path):
        emit({**base, "trainCharsPerSec": None, "fwd64CharsPerSec": None,
              "fwd1CharsPerSec": None, "rssMB": None,
              "skipped": f"data file not found: {data_path}", "notes": ""})
        return

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    cfg = CONFIGS[args.config]
    E, L, H = cfg["E"], cfg["L"], cfg["H"]

    ids, V = load_tokens(data_path, np, torch)
    log(f"[torch] {data_path}: {ids.numel()} chars, vocab {V}; config {args.config} "
        f"E={E} L={L} H={H}; threads {torch.get_num_threads()}")

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, E)
            self.lstm = nn.LSTM(E, H, L)  # [T, B, *] layout, like batchify
            self.dec = nn.Linear(H, V)

        def forward(self, x, state):
            out, state = self.lstm(self.emb(x), state)
            return self.dec(out), out, state

    model = CharLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    params = list(model.parameters())

    # ---- training: truncated BPTT over 32 contiguous lanes ----
    data = batchify(ids, BATCH)  # [steps, BATCH]
    chunks = (data.size(0) - 1) // SEQ
    train = {"i": 0, "state": None, "loss": float("nan")}

    def zero_state(b):
        return (torch.zeros(L, b, H), torch.zeros(L, b, H))

    def train_step():
        i = train["i"]
        if i == 0:
            train["state"] = zero_state(BATCH)  # new pass over the data
        x = data[i * SEQ:(i + 1) * SEQ]
        y = data[i * SEQ + 1:(i + 1) * SEQ + 1]
        h, c = train["state"]
        state = (h.detach(), c.detach())  # truncate BPTT at the chunk edge
        opt.zero_grad(set_to_none=True)
        logits, _, state = model(x, state)
        loss = F.cross_entropy(logits.view(-1, V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        train["state"] = state
        train["loss"] = loss.item()  # also a sync point, as in a real trainer
        train["i"] = (i + 1) % chunks

    model.train()
    train_rate, train_rates = measure(train_step, BATCH * SEQ, args.seconds, warm_calls=5)
    log(f"[torch] train windows {[round(r) for r in train_rates]} chars/s, "
        f"{train['i']} chunks into the pass, last loss {train['loss']:.3f}")

    # ---- batch-1 forward (the inspector path), state carried ----
    model.eval()
    stream = ids[: 1 << 20]
    fwd = {"pos": 0, "state": zero_state(1)}

    def next_slice(n):
        p = fwd["pos"]
        if p + n > stream.numel():
            p = 0
        fwd["pos"] = p + n
        return stream[p:p + n].view(n, 1)

    def forward_call(n):
        with torch.inference_mode():
            logits, out, state = model(next_slice(n), fwd["state"])
            probs = torch.softmax(logits, dim=-1)
            fwd["state"] = state
            # Hand back host arrays, as the inspector needs them (zero-copy on CPU).
            return out.numpy(), state[0].numpy(), state[1].numpy(), probs.numpy()

    fwd64_rate, fwd64_rates = measure(lambda: forward_call(SEQ), SEQ, args.seconds, warm_calls=20)
    fwd["state"] = zero_state(1)
    fwd1_rate, fwd1_rates = measure(lambda: forward_call(1), 1, args.seconds, warm_calls=200)
    log(f"[torch] fwd64 windows {[round(r) for r in fwd64_rates]}, "
        f"fwd1 windows {[round(r) for r in fwd1_rates]} chars/s")

    # ---- gradient reach: the loss of each of REACH_POSITIONS predictions alone, backpropagated REACH_K steps ----
    # As a PyTorch user would write it: a no-grad forward over the text in segments captures each window's
    # initial state; the windows then run as one batch of manual LSTM cells (nn.LSTM hides the per-step
    # states whose gradients are wanted), with the embedded inputs as leaves and retain_grad on h and c.
    def reach_once():
        x = ids[:REACH_CHARS]
        T = x.numel()
        positions = reach_positions(T, REACH_POSITIONS, REACH_K)
        starts = [p - REACH_K for p in positions]
        N = len(positions)
        with torch.no_grad():
            emb_all = model.emb(x.view(T, 1))
            state, pos, h0, c0 = zero_state(1), 0, [], []
            for s in starts:
                if s > pos:
                    _, state = model.lstm(emb_all[pos:s], state)
                    pos = s
                h0.append(state[0])
                c0.append(state[1])
            h0, c0 = torch.cat(h0, dim=1), torch.cat(c0, dim=1)  # [L, N, H]
        win = torch.stack([x[s:s + REACH_K + 1] for s in starts], dim=1)  # [K+1, N]
        targets = torch.stack([x[p + 1] for p in positions])
        inp = [model.emb(win[t]).detach().requires_grad_() for t in range(REACH_K + 1)]
        per_layer = []
        for l in range(L):
            Wih, Whh = getattr(model.lstm, f"weight_ih_l{l}"), getattr(model.lstm, f"weight_hh_l{l}")
            b = getattr(model.lstm, f"bias_ih_l{l}") + getattr(model.lstm, f"bias_hh_l{l}")
            h, c, hs, cs = h0[l], c0[l], [], []
            for t in range(REACH_K + 1):
                ai, af, ag, ao = (inp[t] @ Wih.t() + h @ Whh.t() + b).chunk(4, dim=1)
                c = torch.sigmoid(af) * c + torch.sigmoid(ai) * torch.tanh(ag)
                h = torch.sigmoid(ao) * torch.tanh(c)
                h.retain_grad()
                c.retain_grad()
                hs.append(h)
                cs.append(c)
            inp = hs
            per_layer.append((hs, cs))
        loss = F.cross_entropy(model.dec(per_layer[-1][0][-1]), targets, reduction="sum")
        loss.backward()
        hs = per_layer[0][0]
        g = torch.stack([h.grad.norm(dim=1) for h in hs])  # [K+1, N], t = T − K .. T
        ratio = (g / g[-1]).flip(0)  # [K+1 (k), N]
        return ratio.median(dim=1).values

    for p in model.parameters():
        p.requires_grad_(False)
    reach_times = []
    for _ in range(4):
        t0 = time.perf_counter()
        med = reach_once()
        reach_times.append(time.perf_counter() - t0)
    reach_seconds = sorted(reach_times[1:])[1]
    log(f"[torch] reach {REACH_POSITIONS} × {REACH_K}: {[round(t, 3) for t in reach_times]} s; "
        f"median r(50) layer 0 {float(med[50]):.2e}")

    # ---- unit search: Pearson r of every layer, unit and quantity (c, tanh(c), h, i, f, g, o) against a regex ----
    # The internals of UNITS_CHARS characters from manual cells (untimed), one [T, N] matrix as a PyTorch user
    # would hold them; timed: the feature from the regex, then r as one vectorised pass in float64 (as Gatescope
    # sums), the top 10 by |r| — first with every unit's moments, then again with them kept (each keystroke).
    import re
    with torch.no_grad():
        x_ids = ids[:UNITS_CHARS]
        T = x_ids.numel()
        inp = model.emb(x_ids.view(T, 1))[:, 0, :]
        cols = []
        for l in range(L):
            Wih, Whh = getattr(model.lstm, f"weight_ih_l{l}"), getattr(model.lstm, f"weight_hh_l{l}")
            b = getattr(model.lstm, f"bias_ih_l{l}") + getattr(model.lstm, f"bias_hh_l{l}")
            pre = inp @ Wih.t() + b
            h, c = torch.zeros(H), torch.zeros(H)
            q = {k: torch.empty(T, H) for k in ("c", "h", "i", "f", "g", "o")}
            for t in range(T):
                ai, af, ag, ao = (pre[t] + Whh @ h).chunk(4)
                i, f, g, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
                c = f * c + i * g
                h = o * torch.tanh(c)
                for k, v in (("c", c), ("h", h), ("i", i), ("f", f), ("g", g), ("o", o)):
                    q[k][t] = v
            cols += [q["c"], torch.tanh(q["c"]), q["h"], q["i"], q["f"], q["g"], q["o"]]
            inp = q["h"]
        values = torch.cat(cols, dim=1).contiguous()  # [T, L·7·H] float32
    with open(data_path, encoding="utf-8") as fh:
        text = fh.read()
    chars = text[:UNITS_CHARS]  # Python's str indexing is by code point, as the tokens are

    def feature():
        x = np.zeros(T)
        for m in re.finditer(UNITS_REGEX, chars, re.M):
            x[m.start():m.end()] = 1
        return torch.from_numpy(x)

    def rank(x, moments):
        xc = x - x.mean()
        v, s, spread = moments
        r = (v.t() @ x - x.mean() * s) / (spread * xc.norm())
        return torch.topk(r.abs(), 10)

    def moments():
        v = values.double()
        s = v.sum(0)
        return v, s, (v - s / T).norm(dim=0)

    first_times, again_times = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        kept = moments()
        rank(feature(), kept)
        first_times.append(time.perf_counter() - t0)
        for _ in range(5):
            t0 = time.perf_counter()
            top = rank(feature(), kept)
            again_times.append(time.perf_counter() - t0)
    units_first, units_again = sorted(first_times)[1], sorted(again_times)[7]
    log(f"[torch] unit search {UNITS_CHARS} chars × {values.shape[1]} columns: first {units_first * 1000:.1f} ms, "
        f"again {units_again * 1000:.1f} ms; best |r| {float(top.values[0]):.2f}")

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit({**base,
          "unitsFirstSeconds": round(units_first, 5),
          "unitsAgainSeconds": round(units_again, 5),
          "reachSeconds": round(reach_seconds, 4),
          "trainCharsPerSec": round(train_rate, 1),
          "fwd64CharsPerSec": round(fwd64_rate, 1),
          "fwd1CharsPerSec": round(fwd1_rate, 1),
          "rssMB": round(rss_mb, 1),
          "notes": f"nn.Embedding+nn.LSTM+nn.Linear, Adam+clip_grad_norm_; "
                   f"{blas_info()}; median of 3 windows"})


if __name__ == "__main__":
    main()
