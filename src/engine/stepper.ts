import type { Network } from './network';
import { isPlainRnn, type FloatArray } from './types';

/** One layer's state and the internals of its last step, batch 1. */
export interface StepLayer {
  readonly h: FloatArray;          // (H)
  readonly c: FloatArray | null;   // (H) LSTM only
  readonly act: FloatArray | null; // (G·H) post-activation gates of the last step (LSTM i,f,g,o; GRU r,z,n)
  readonly xp: FloatArray;         // (G·H) W_ih·x + b_ih of the last step
  readonly hp: FloatArray;         // (G·H) W_hh·h_{t-1} + b_hh of the last step
  readonly tc: FloatArray | null;  // (H) LSTM tanh(c)
  readonly hpn: FloatArray | null; // (H) GRU hp_n
}

/** A copy of the recurrent state, for step back and interventions. */
export interface StepState {
  readonly h: FloatArray[];
  readonly c: (FloatArray | null)[];
}

/**
 * Runs the network one character at a time (batch 1), keeping every internal of the last step: the path of
 * the debugger and of sampling. Allocates nothing per step; its buffers come from the network's kernels. The
 * first layer's input projections are looked up in a table computed from the parameters at construction; call
 * refresh() after the parameters change.
 */
export class Stepper {
  readonly layers: readonly StepLayer[];
  readonly logits: FloatArray; // (V)
  readonly probs: FloatArray;  // (V)
  private readonly table: FloatArray; // (V, G·H)
  private readonly token = new Int32Array(1); // the id being fed, as the kernels' lookup takes ids

  constructor(readonly net: Network) {
    const { cell, hidden: H, vocabSize: V } = net.cfg;
    const F = (n: number): FloatArray => net.kernels.allocate(net.Float, n);
    const GH = net.gates * H;
    this.layers = Array.from({ length: net.cfg.layers }, () => ({
      h: F(H),
      c: cell === 'lstm' ? F(H) : null,
      act: isPlainRnn(cell) ? null : F(GH),
      xp: F(GH),
      hp: F(GH),
      tc: cell === 'lstm' ? F(H) : null,
      hpn: cell === 'gru' ? F(H) : null,
    }));
    this.logits = F(V);
    this.probs = F(V);
    this.table = F(V * GH);
    this.refresh();
  }

  refresh(): void {
    this.net.inputTable(this.table);
  }

  reset(): void {
    for (const l of this.layers) {
      l.h.fill(0);
      l.c?.fill(0);
    }
  }

  /** Feeds one token through every layer and the decoder; probs then hold the next-character distribution. */
  step(token: number): void {
    const net = this.net;
    const { cell, hidden: H, vocabSize: V } = net.cfg;
    const GH = net.gates * H;
    const k = net.kernels;
    for (let l = 0; l < this.layers.length; l++) {
      const s = this.layers[l]!;
      const p = net.p.layers[l]!;
      if (l === 0) {
        this.token[0] = token;
        k.gatherRows(1, GH, this.token, this.table, s.xp, 0);
      } else {
        k.gemmNT(1, GH, H, this.layers[l - 1]!.h, 0, p.wih, 0, s.xp, 0, false);
        k.addBias(1, GH, s.xp, 0, p.bih, 0);
      }
      k.gemmNT(1, GH, H, s.h, 0, p.whh, 0, s.hp, 0, false);
      k.addBias(1, GH, s.hp, 0, p.bhh, 0);
      // in place: each unit reads its previous h/c before writing the new one
      if (cell === 'lstm') k.lstmForward(1, H, s.xp, 0, s.hp, 0, s.c!, 0, s.act!, 0, s.c!, 0, s.tc!, 0, s.h, 0);
      else if (cell === 'gru') k.gruForward(1, H, s.xp, 0, s.hp, 0, s.h, 0, s.act!, 0, s.hpn!, 0, s.h, 0);
      else if (cell === 'rnn_relu') k.rnnReluForward(1, H, s.xp, 0, s.hp, 0, s.h, 0);
      else k.rnnForward(1, H, s.xp, 0, s.hp, 0, s.h, 0);
    }
    const top = this.layers[this.layers.length - 1]!.h;
    k.gemmNT(1, V, H, top, 0, net.p.decoderW, 0, this.logits, 0, false);
    k.addBias(1, V, this.logits, 0, net.p.decoderB, 0);
    softmaxInto(this.logits, this.probs, 1);
  }

  /**
   * Recomputes the predictions from the current top-layer h (after an edit of the state); an edit of c
   * changes h only through the next step, as in the network itself.
   */
  repredict(): void {
    const net = this.net;
    const { hidden: H, vocabSize: V } = net.cfg;
    net.kernels.gemmNT(1, V, H, this.layers[this.layers.length - 1]!.h, 0, net.p.decoderW, 0, this.logits, 0, false);
    net.kernels.addBias(1, V, this.logits, 0, net.p.decoderB, 0);
    softmaxInto(this.logits, this.probs, 1);
  }

  saveState(): StepState {
    return { h: this.layers.map((l) => l.h.slice()), c: this.layers.map((l) => l.c?.slice() ?? null) };
  }

  loadState(s: StepState): void {
    this.layers.forEach((l, i) => {
      l.h.set(s.h[i]!);
      if (l.c && s.c[i]) l.c.set(s.c[i]!);
    });
  }
}

/** out ← softmax(logits / temperature), computed stably. */
export function softmaxInto(logits: FloatArray, out: FloatArray, temperature: number): void {
  let max = -Infinity;
  for (let v = 0; v < logits.length; v++) max = Math.max(max, logits[v]!);
  let z = 0;
  for (let v = 0; v < logits.length; v++) {
    const e = Math.exp((logits[v]! - max) / temperature);
    out[v] = e;
    z += e;
  }
  for (let v = 0; v < logits.length; v++) out[v] /= z;
}
