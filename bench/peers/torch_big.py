#!/usr/bin/env python3
"""PyTorch peer for the big-model rows of `gatescope bench` (src/cli/benchBig.ts).

One forward + backward of a batch-1 sequence through nn.Embedding -> nn.LSTM -> nn.Linear -> cross-entropy (mean),
the same work as Gatescope's trace (forward, then the backward of the whole recurrence for the per-timestep
gradient norms), and optionally the gradient reach on the same text (`--reach`, as torch_lstm.py does it).

Models (untrained, PyTorch's initialisation; the work does not depend on the weights):
  deep: E=64, 2 layers x 1024, vocabulary = the text's code points (sorted unique);
  wide: E=64, 1 layer x 256, vocabulary 65,536: token t = a hash of code points t-1 and t (benchBig.ts wideId).

Run with Debian's interpreter (/usr/bin/python3), which has python3-torch.
Prints exactly one JSON line on stdout per measurement (the forward + backward, then the reach if asked); everything
else goes to stderr. A missing dependency gives the same line with "skipped".
"""

import argparse
import json
import math
import os
import resource
import sys
import time

PEER = "pytorch"
MODELS = {
    "deep": {"E": 64, "L": 2, "H": 1024, "V": None},
    "wide": {"E": 64, "L": 1, "H": 256, "V": 65536},
}
SEED = 1234
REACH_POSITIONS, REACH_K = 40, 100


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def emit(result):
    print(json.dumps(result), flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", choices=sorted(MODELS), default="deep")
    p.add_argument("--chars", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=None, help="text file (default: typescript's lib.dom.d.ts)")
    p.add_argument("--reach", action="store_true",
                   help=f"also the gradient reach: {REACH_POSITIONS} predictions x {REACH_K} steps back")
    p.add_argument("--param-grads", action="store_true",
                   help="let the backward compute the parameters' gradients too (a plain loss.backward())")
    return p.parse_args()


def default_data_path():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "node_modules", "typescript", "lib", "lib.dom.d.ts")


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wide_ids(codes):
    """benchBig.ts wideId: x = prev*31 + cur (mod 2^32), id = (x * 0x9E3779B1 mod 2^32) >> 16."""
    out, prev = [], 0
    for c in codes:
        x = (prev * 31 + c) & 0xFFFFFFFF
        out.append(((x * 0x9E3779B1) & 0xFFFFFFFF) >> 16)
        prev = c
    return out


def reach_positions(T, count, K):
    """Gatescope's rule (src/engine/reach.ts reachPositions): count positions spread over [K, T - 2]."""
    lo, hi = K, T - 2
    n = min(count, hi - lo + 1)
    if n == 1:
        return [hi]
    return [lo + int(math.floor(i * (hi - lo) / (n - 1) + 0.5)) for i in range(n)]


def main():
    args = parse_args()
    base = {"peer": PEER, "version": None, "model": args.model, "chars": args.chars, "variant": "fwdbwd",
            "threads": args.threads, "seconds": None, "rssMB": None, "vocab": 0, "notes": ""}
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        emit({**base, "skipped": f"missing dependency: {e} (run with /usr/bin/python3, python3-torch)"})
        return
    base["version"] = torch.__version__
    data_path = args.data or default_data_path()
    if not os.path.exists(data_path):
        emit({**base, "skipped": f"data file not found: {data_path}"})
        return

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    cfg = MODELS[args.model]
    E, L, H = cfg["E"], cfg["L"], cfg["H"]
    with open(data_path, encoding="utf-8") as f:
        text = f.read()
    codes = [ord(ch) for ch in text[: args.chars]]  # str indexing is by code point, as Gatescope's tokens are
    if len(codes) < args.chars:
        emit({**base, "skipped": f"the text has {len(codes)} characters, fewer than {args.chars}"})
        return
    if cfg["V"] is None:
        vocab = sorted(set(text))
        V = len(vocab)
        index = {ch: i for i, ch in enumerate(vocab)}
        ids = torch.tensor([index[chr(c)] for c in codes], dtype=torch.int64)
    else:
        V = cfg["V"]
        ids = torch.tensor(wide_ids(codes), dtype=torch.int64)
    del text
    base["vocab"] = V
    T = ids.numel()
    log(f"[torch-big] {args.model}: E={E} L={L} H={H} V={V}, {T} chars, threads {torch.get_num_threads()}")

    emb = nn.Embedding(V, E)
    lstm = nn.LSTM(E, H, L)  # [T, B, *]
    dec = nn.Linear(H, V)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(dec.parameters())
    for p in params:
        p.requires_grad_(args.param_grads)

    # ---- forward + backward of the whole sequence at batch 1 ----
    t0 = time.perf_counter()
    x = emb(ids.view(T, 1))
    if not args.param_grads:
        # the backward still runs the whole recurrence (to reach this leaf), without any parameter gradient
        x = x.detach().requires_grad_()
    out, _ = lstm(x)
    out.retain_grad()
    loss = F.cross_entropy(dec(out[:-1, 0]), ids[1:])  # mean over the T - 1 predictions
    t1 = time.perf_counter()
    loss.backward()
    norms = out.grad[:, 0].norm(dim=1)  # per timestep: dL/dh_t of the top layer through the decoder
    t2 = time.perf_counter()
    peak = rss_mb()
    log(f"[torch-big] forward {t1 - t0:.2f} s, backward {t2 - t1:.2f} s, peak RSS {peak:.0f} MB; "
        f"loss {float(loss):.3f}, |dL/dh_0| {float(norms[0]):.2e}")
    notes = (f"nn.Embedding+nn.LSTM+nn.Linear, batch 1, cross-entropy mean, backward "
             f"{'with parameter gradients' if args.param_grads else 'without parameter gradients (embedded input a leaf)'}; "
             f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE') or 'unset'}")
    result = {**base, "seconds": round(t2 - t0, 4), "forwardSeconds": round(t1 - t0, 4),
              "backwardSeconds": round(t2 - t1, 4), "rssMB": round(peak, 1), "notes": notes}
    del x, out, loss, norms

    # ---- gradient reach: as torch_lstm.py's reach_once, on this model and text ----
    if args.reach:
        for p in params:
            p.requires_grad_(False)
        t0 = time.perf_counter()
        positions = reach_positions(T, REACH_POSITIONS, REACH_K)
        starts = [p - REACH_K for p in positions]
        with torch.no_grad():
            emb_all = emb(ids.view(T, 1))
            state, pos, h0, c0 = (torch.zeros(L, 1, H), torch.zeros(L, 1, H)), 0, [], []
            for s in starts:
                if s > pos:
                    _, state = lstm(emb_all[pos:s], state)
                    pos = s
                h0.append(state[0])
                c0.append(state[1])
            h0, c0 = torch.cat(h0, dim=1), torch.cat(c0, dim=1)  # [L, N, H]
        win = torch.stack([ids[s:s + REACH_K + 1] for s in starts], dim=1)  # [K+1, N]
        targets = torch.stack([ids[p + 1] for p in positions])
        inp = [emb(win[t]).detach().requires_grad_() for t in range(REACH_K + 1)]
        first = None
        for layer in range(L):
            Wih, Whh = getattr(lstm, f"weight_ih_l{layer}"), getattr(lstm, f"weight_hh_l{layer}")
            b = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
            h, c, hs = h0[layer], c0[layer], []
            for t in range(REACH_K + 1):
                ai, af, ag, ao = (inp[t] @ Wih.t() + h @ Whh.t() + b).chunk(4, dim=1)
                c = torch.sigmoid(af) * c + torch.sigmoid(ai) * torch.tanh(ag)
                h = torch.sigmoid(ao) * torch.tanh(c)
                h.retain_grad()
                c.retain_grad()
                hs.append(h)
            if first is None:
                first = hs
            inp = hs
        loss = F.cross_entropy(dec(inp[-1]), targets, reduction="sum")
        loss.backward()
        g = torch.stack([h.grad.norm(dim=1) for h in first])  # [K+1, N]
        med = (g / g[-1]).flip(0).median(dim=1).values
        result["reachSeconds"] = round(time.perf_counter() - t0, 4)
        log(f"[torch-big] reach {REACH_POSITIONS} x {REACH_K}: {result['reachSeconds']:.2f} s; "
            f"median r(50) layer 0 {float(med[50]):.2e}")
    emit(result)


if __name__ == "__main__":
    main()
