"""Trains a character-level model exactly as `gatescope train` does, in PyTorch, on one process or many.

    python -m gatescope_torch.train TEXT... --out MODEL.safetensors [--cell lstm] [--steps N] [--resume MODEL] …
    torchrun --nproc_per_node N -m gatescope_torch.train TEXT... --out MODEL.safetensors …

The run is Gatescope's (src/engine/trainer.ts, optim.ts, run.ts): the text cut into B contiguous lanes, chunks of T
characters taken from every lane at the same offset, the hidden state carried from chunk to chunk and reset at each
epoch, the mean cross-entropy of the T·B predictions, gradients clipped by global norm (as clip_grad_norm_, norm in
float64) or by value, torch.optim.Adam with PyTorch's defaults. Either side resumes the other's file where it stopped.

Under torchrun (DistributedDataParallel: gloo on CPU, NCCL on CUDA), rank r trains lanes [r·B/N, (r+1)·B/N); DDP
averages the ranks' gradients of their mean losses, which is the gradient of the mean over all B lanes, so N
processes train the model one process would (up to the order of float sums). Rank 0 prints and writes; the carried
state of every lane is gathered into the file.

Dimensions: B lanes (all processes), N processes, T chunk length (seq), L layers, H hidden, V vocab.
"""
import argparse
import math
import os
import signal
import sys
import time
from datetime import datetime, timezone
from hashlib import sha256

import torch
import torch.nn.functional as F

from .checkpoint import TrainingState, flat_to_adam, load, lock_output, remove_stale_temporaries, save
from .data import (UserError, encode, hash_tokens, join_texts, lanes, plan_data, read_text, validate,
                   vocabulary_from_text)
from .model import CELLS, RNNModel
from .rng import Rng
from .safetensors_io import FormatError

# trainer.ts DEFAULT_TRAIN_OPTIONS, in the order Gatescope's CLI writes them
DEFAULTS = {"cell": "lstm", "layers": 1, "hidden": 128, "embed": 64, "seq": 64, "batch": 32, "lr": 2e-3, "clip": 5,
            "clipMode": "norm", "valFrac": 0.05, "seed": 1, "steps": 1000}
MAX_STEPS = 10 ** 9
SIZES = {"layers": 16, "hidden": 8192, "embed": 8192}  # network.ts LIMITS


def _int(lo, hi=None):
    def parse(s):
        try:
            n = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
        if n < lo or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(f"must be a whole number from {lo}" + (f" to {hi}" if hi is not None else " up"))
        return n
    return parse


def _num(lo, exclusive=False, hi=None):
    def parse(s):
        try:
            x = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
        if not math.isfinite(x) or (x <= lo if exclusive else x < lo) or (hi is not None and x >= hi):
            raise argparse.ArgumentTypeError(f"must be a number {'>' if exclusive else '≥'} {lo}" + (f" and < {hi}" if hi is not None else ""))
        return x
    return parse


def build_parser():
    d = DEFAULTS
    p = argparse.ArgumentParser(prog="python -m gatescope_torch.train",
                                description="Train a character-level LSTM/GRU/RNN as `gatescope train` does, in PyTorch "
                                            "(one process, or many under torchrun); the file resumes in either.")
    p.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text files (concatenated)")
    p.add_argument("-o", "--out", required=True, help="where to write the model (.safetensors)")
    p.add_argument("--cell", choices=CELLS, help=f"recurrent cell (default {d['cell']})")
    p.add_argument("--layers", type=_int(1, SIZES["layers"]), help=f"recurrent layers (default {d['layers']})")
    p.add_argument("--hidden", type=_int(1, SIZES["hidden"]), help=f"hidden units per layer (default {d['hidden']})")
    p.add_argument("--embed", type=_int(1, SIZES["embed"]), help=f"embedding size (default {d['embed']})")
    p.add_argument("--seq", type=_int(1, 100_000), help=f"truncated-BPTT length (default {d['seq']})")
    p.add_argument("--batch", type=_int(1, 100_000), help=f"lanes trained in parallel, over all processes (default {d['batch']})")
    p.add_argument("--lr", type=_num(0, exclusive=True), help=f"Adam learning rate (default {d['lr']})")
    p.add_argument("--clip", type=_num(0), help=f"gradient clipping threshold, 0 = off (default {d['clip']})")
    p.add_argument("--clip-mode", choices=("norm", "value"), help="global norm or element-wise value (default norm)")
    p.add_argument("--steps", type=_int(0, MAX_STEPS), help=f"optimisation steps, total, counting a resumed run's (default {d['steps']})")
    p.add_argument("--epochs", type=_num(0, exclusive=True), help="passes over the text instead of --steps")
    p.add_argument("--val-frac", type=_num(0, hi=0.5), help=f"fraction held out for validation (default {d['valFrac']})")
    p.add_argument("--seed", type=_int(0, 0xFFFFFFFF), help=f"random seed (default {d['seed']})")
    p.add_argument("--eval-every", type=_int(1), default=100, help="validate every n steps (default 100)")
    p.add_argument("--save-every", type=_int(0), default=500, help="write a checkpoint every n steps, 0 = only at the end (default 500)")
    p.add_argument("--resume", metavar="MODEL", help="continue training this model (Gatescope's or this package's): "
                   "architecture, vocabulary, optimiser state, data position, carried state; settings not given come from it")
    p.add_argument("--log-every", type=_int(0), default=10, help="print step and loss every n steps, 0 = never (default 10)")
    p.add_argument("--quiet", action="store_true", help="no per-step lines")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA when there is one (default)")
    p.add_argument("--init", choices=("gatescope", "torch"), default="gatescope",
                   help="gatescope: the initial weights Gatescope draws for the seed (a Python loop: slow beyond a few million "
                        "parameters); torch: the same distributions from torch's generator (default gatescope)")
    return p


class NonFinite(Exception):
    pass


class Run:
    """One process's part of a training run (the whole of it without torchrun)."""

    def __init__(self, args, world, rank, local_rank):
        self.args, self.world, self.rank = args, world, rank
        self.main = rank == 0
        self.warnings = []
        if args.steps is not None and args.epochs is not None:
            raise UserError("give --steps or --epochs, not both")
        want = args.device
        if want == "auto":
            want = "cuda" if torch.cuda.is_available() else "cpu"
        if want == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda, but torch sees no CUDA device")
        self.device = torch.device(f"cuda:{local_rank}" if want == "cuda" and world > 1 else want)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.backend = "nccl" if self.device.type == "cuda" else "gloo"

        out = os.path.abspath(args.out)
        for f in args.files:
            if os.path.abspath(f) == out or (os.path.exists(out) and os.path.exists(f) and os.path.samefile(f, out)):
                raise UserError(f"--out {args.out} is {f}, one of the inputs: writing it would destroy it; choose another file")
        self.text = join_texts([read_text(f) for f in args.files])
        self.text_hash = sha256(self.text.encode("utf-8")).hexdigest()
        ckpt = load(args.resume) if args.resume else None
        self.resumed_info = ckpt.info if ckpt else {}
        training = ckpt.training if ckpt else None
        self.warnings += ckpt.warnings if ckpt else []

        # settings: the command line's, else (resuming) the file's, else Gatescope's defaults; the steps always count anew
        base = dict(DEFAULTS, **(training.options if training else {}))
        given = {"cell": args.cell, "layers": args.layers, "hidden": args.hidden, "embed": args.embed, "seq": args.seq,
                 "batch": args.batch, "lr": args.lr, "clip": args.clip, "clipMode": args.clip_mode,
                 "valFrac": args.val_frac, "seed": args.seed}
        o = {k: (given[k] if given.get(k) is not None else base[k]) for k in DEFAULTS}
        o["steps"] = args.steps if args.steps is not None else DEFAULTS["steps"]
        if ckpt:
            m = ckpt.model
            for k, have in (("cell", m.cell), ("layers", m.layers), ("hidden", m.hidden), ("embed", m.embed)):
                if given[k] is not None and given[k] != have:
                    self.warnings.append(f"--{k} {given[k]} ignored: the resumed model has {k} {have}")
                o[k] = have
            self.model, self.vocab = m, ckpt.vocab
        else:
            self.vocab = vocabulary_from_text(self.text)
            self.model = RNNModel(o["cell"], len(self.vocab), o["embed"], o["hidden"], o["layers"])
            if args.init == "gatescope":
                self.model.initialize(o["seed"])
            else:
                self.model.initialize_torch(o["seed"])
        self.options = o
        self.ids = encode(self.vocab, self.text)
        if self.ids.numel() < 2:
            raise UserError("the text has fewer than 2 characters: nothing to predict")
        self.plan = plan_data(self.ids.numel(), o["seq"], o["batch"], o["valFrac"])
        self.data_hash = hash_tokens(self.ids)
        B = self.plan.batch
        if B % world:
            raise UserError(f"the batch of {B} lanes does not split evenly over {world} processes; choose a multiple of {world}")
        self.local = B // world
        L, H = self.model.layers, self.model.hidden

        # the trainer's state (Trainer.restore)
        self.step, self.epoch, self.position = 0, 0, 0
        self.rng = Rng(o["seed"])
        carry_h = torch.zeros(L, B, H)
        carry_c = torch.zeros(L, B, H) if self.model.cell == "lstm" else None
        if training:
            self.step, self.epoch = training.step, training.epoch
            self.rng.set_state(training.rng)
            if training.data_length != self.ids.numel() or training.data_hash != self.data_hash:
                self.warnings.append("resuming on a different text: the optimiser state is kept, the data position and hidden state start afresh")
            elif training.carry_h.numel() != L * B * H:
                self.warnings.append("the batch size differs from the checkpoint: the hidden state starts afresh")
            else:
                self.position = training.position
                carry_h = training.carry_h.reshape(L, B, H).clone()
                if carry_c is not None and training.carry_c is not None:
                    carry_c = training.carry_c.reshape(L, B, H).clone()
        elif ckpt:
            self.warnings.append("the model has no training state: resuming with fresh optimiser moments")

        total = o["steps"]
        if args.epochs is not None:
            total = max(1, math.floor(args.epochs * self.plan.steps_per_epoch + 0.5)) + (self.step if ckpt else 0)
            if total > MAX_STEPS:
                raise UserError(f"--epochs {args.epochs} is {total:.1e} steps on this text, more than the {MAX_STEPS:.0e} a run may take; give fewer epochs")
            o["steps"] = total
        self.total = total

        self.model.to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=o["lr"])
        if training:
            flat_to_adam(self.model, self.optimizer, training.exp_avg, training.exp_avg_sq, training.adam_step)
        lo, hi = rank * self.local, (rank + 1) * self.local
        self.lanes = lanes(self.ids, self.plan)[lo:hi].to(self.device, torch.long)  # (B/N, lane_length)
        self.carry = self._hidden(carry_h[:, lo:hi], None if carry_c is None else carry_c[:, lo:hi])
        self.net = self.model
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel
            self.net = DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.stop = False
        self.chars = 0

    def _hidden(self, h, c):
        h = h.to(self.device).contiguous()
        return (h, c.to(self.device).contiguous()) if self.model.cell == "lstm" else h

    def train_step(self):
        """forward → zeroGrad → backward → check → clip → update, then carry the state to the next chunk."""
        T, lane_length = self.plan.seq, self.plan.lane_length
        if self.position + T + 1 > lane_length:
            self.position = 0
            self.epoch += 1
            self.carry = self.model.init_hidden(self.local)
        x = self.lanes[:, self.position:self.position + T].t()          # (T, B/N)
        y = self.lanes[:, self.position + 1:self.position + T + 1].t()  # (T, B/N)
        logits, hidden = self.net(x, self.carry)                         # (T, B/N, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # under DDP the gradients arrive averaged over the ranks
        # one collective per step: the mean loss over every lane, and whether any rank was asked to stop
        stats = torch.tensor([loss.item(), 1.0 if self.stop else 0.0], dtype=torch.float64)
        if self.world > 1:
            import torch.distributed as dist
            stats = stats.to(self.device)
            dist.all_reduce(stats)
            stats = stats.cpu()
            stats[0] /= self.world
        mean_loss, self.stop = float(stats[0]), bool(stats[1] > 0)
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        grad_norm = float(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g, dtype=torch.float64) for g in grads]))) if grads else 0.0
        # Porting note: the global norm is summed in float64, as Gatescope's clipGradients does; clip_grad_norm_ sums
        # in the gradients' dtype. The scaling and the 1e-6 are clip_grad_norm_'s.
        clip, mode = self.options["clip"], self.options["clipMode"]
        if clip > 0 and math.isfinite(clip):
            if mode == "norm":
                coef = clip / (grad_norm + 1e-6)  # the 1e-6 as clip_grad_norm_
                if coef < 1:
                    for g in grads:
                        g.mul_(coef)
            else:
                for g in grads:
                    g.clamp_(-clip, clip)
        if not math.isfinite(mean_loss) or not math.isfinite(grad_norm):
            raise NonFinite(self._describe_non_finite(mean_loss))  # nothing updated: the parameters are the last good ones
        self.optimizer.step()
        self.carry = tuple(s.detach() for s in hidden) if isinstance(hidden, tuple) else hidden.detach()
        self.position += T
        self.step += 1
        self.chars += T * self.plan.batch
        return mean_loss, grad_norm

    def _describe_non_finite(self, loss):
        bad = None
        for which in ("params", "grads"):
            for name, p in self.model.named_parameters():
                t = p if which == "params" else p.grad
                if t is None:
                    continue
                flat = t.detach().reshape(-1)
                idx = (~torch.isfinite(flat)).nonzero()
                if idx.numel():
                    i = int(idx[0])
                    bad = f"{'gradient of ' if which == 'grads' else ''}{name}[{i}] = {float(flat[i])}"
                    break
            if bad:
                break
        what = f"the loss became {loss}" if not math.isfinite(loss) else "the gradient became non-finite"
        return (f"training stopped at step {self.step + 1}: {what}" + (f" (first non-finite tensor: {bad})" if bad else "") +
                ". The model keeps its last good parameters; lower the learning rate or enable gradient clipping.")

    def carried(self):
        """The carried state of all B lanes, (L, B, H) each, gathered from every rank (a collective under torchrun)."""
        parts = self.carry if isinstance(self.carry, tuple) else (self.carry,)
        out = []
        for s in parts:
            if self.world > 1:
                import torch.distributed as dist
                pieces = [torch.empty_like(s) for _ in range(self.world)]
                dist.all_gather(pieces, s.contiguous())
                s = torch.cat(pieces, dim=1)
            out.append(s.detach().float().cpu())
        return out[0], (out[1] if len(out) > 1 else None)

    def save(self, last_loss, val_loss, provenance, sources_label, trained_before):
        h, c = self.carried()
        if not self.main:
            return
        training = TrainingState(options=self.options, step=self.step, epoch=self.epoch, position=self.position,
                                 rng=self.rng.get_state(), adam_step=0, data_length=self.ids.numel(),
                                 data_hash=self.data_hash, carry_h=h, carry_c=c)
        now = datetime.now(timezone.utc)
        info = dict(provenance)
        info.update({"source": sources_label, "steps": self.step, "loss": last_loss,
                     "valLoss": None if val_loss is None or math.isnan(val_loss) else val_loss,
                     "trainedChars": trained_before + self.chars,
                     "created": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"})
        save(self.model, self.vocab, self.args.out, optimizer=self.optimizer, training=training, info=info)


def provenance_of(files, out, text_hash):
    """What the model records of its text, as Gatescope's CLI does: paths relative to the model's folder, the join, the hash."""
    folder = os.path.dirname(os.path.abspath(out))
    sources = []
    for f in files:
        try:
            rel = os.path.relpath(os.path.abspath(f), folder)
            uri = rel.replace(os.sep, "/")
        except ValueError:  # another drive
            uri = os.path.abspath(f)
        sources.append({"uri": uri})
    return {"sources": sources, "join": "newline-if-missing", "textHash": text_hash}


def resume_provenance(old, fresh, same_folder):
    """provenance.ts resumeProvenance, as cli/train.ts applies it: the model's record when the text is the same one
    (unless the model moved to another folder), the new text's (with a warning) when it is another."""
    if not old.get("textHash") or not old.get("sources") or not old.get("join"):
        return fresh, None
    if old["textHash"] == fresh["textHash"]:
        return ({"sources": old["sources"], "join": old["join"], "textHash": old["textHash"]} if same_folder else fresh), None
    return fresh, "resuming on another text than the model was trained on (the SHA-256 of the text differs): the model now records the new text"


def run(args, world, rank, local_rank):
    r = Run(args, world, rank, local_rank)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if r.main else (lambda s: None)
    provenance = provenance_of(args.files, args.out, r.text_hash)
    if args.resume:
        same_folder = os.path.dirname(os.path.abspath(args.resume)) == os.path.dirname(os.path.abspath(args.out))
        provenance, warning = resume_provenance(r.resumed_info, provenance, same_folder)
        if warning:
            r.warnings.append(warning)
    for w in r.warnings + r.plan.warnings:
        log(f"warning: {w}")
    if r.step >= r.total:
        log(f"the model has already trained {r.step} steps (≥ {r.total}); nothing to do")
        return 0
    m, plan = r.model, r.plan
    P = sum(p.numel() for p in m.parameters())
    log(f"{m.cell} {m.layers}×{m.hidden}, embed {m.embed}, vocab {m.vocab_size}, {P:,} parameters; "
        f"{r.ids.numel():,} characters ({plan.val_length:,} held out), seq {plan.seq} × batch {plan.batch}"
        + (f", {world} processes ({r.backend}, {r.local} lanes each)" if world > 1 else "") + f", {r.device}")

    if r.main:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create the folder for --out {args.out}: {e.strerror or e}") from None
        remove_stale_temporaries(args.out)
    unlock = lock_output(args.out) if r.main else (lambda: None)

    def on_signal(signum, frame):
        r.stop = True
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    trained_before = int(r.resumed_info.get("trainedChars") or 0)
    label = ", ".join(os.path.basename(f) for f in args.files)
    last_loss, val_loss = None, math.nan
    started = time.perf_counter()
    try:
        while r.step < r.total:
            try:
                last_loss, grad_norm = r.train_step()
            except NonFinite as e:
                if r.step > 0:
                    r.save(last_loss, val_loss, provenance, label, trained_before)
                    log(f"saved the last good model (step {r.step}) to {args.out}")
                raise UserError(str(e)) from None
            measured = r.step % args.eval_every == 0 or r.step == r.total
            if measured and r.main:
                val_loss = validate(m, r.ids, plan, r.device)
            if r.main and not args.quiet and args.log_every and (r.step % args.log_every == 0 or r.step == r.total or r.stop):
                line = f"step {r.step}/{r.total} loss {last_loss:.10f} grad-norm {grad_norm:.6f}"
                if measured and not math.isnan(val_loss):
                    line += f" val {val_loss:.6f}"
                print(line, flush=True)
            if r.stop:
                break
            if args.save_every and r.step % args.save_every == 0 and r.step < r.total:
                r.save(last_loss, val_loss, provenance, label, trained_before)
        r.save(last_loss, val_loss, provenance, label, trained_before)
        seconds = time.perf_counter() - started
        summary = (f"step {r.step}: loss {last_loss:.4f}, validation {'—' if math.isnan(val_loss) else f'{val_loss:.4f}'}; "
                   f"{round(r.chars / max(seconds, 1e-9)):,} chars/s over {seconds:.1f} s")
        if r.stop:
            log(f"interrupted at {summary}\ncheckpoint saved to {args.out}; continue with --resume {args.out}")
            return 130
        log(f"{summary}\nmodel saved to {args.out}")
        return 0
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        unlock()


def main(argv=None):
    args = build_parser().parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1:
        import torch.distributed as dist
        cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
        if cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if cuda else "gloo")
    try:
        return run(args, world, rank, local_rank)
    except (UserError, FormatError) as e:
        if rank == 0:
            print(f"gatescope_torch: {e}", file=sys.stderr)
        return 1
    finally:
        if world > 1:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
