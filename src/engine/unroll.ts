import type { Network } from './network';
import type { FusedLstm, LstmRun, RowHelper } from './speedups';
import { isPlainRnn, type FloatArray } from './types';

/**
 * The network unrolled over T timesteps for B lanes: forward with every intermediate kept, and truncated
 * backpropagation through time. All buffers are allocated once here, through the network's kernels (so they can
 * live where the kernels work on them in place); forward and backward allocate nothing.
 * Time-major layout: row (t, b) of a (T, B, n) buffer starts at (t·B + b)·n, so one timestep is one
 * contiguous (B, n) block for the recurrent matrix product.
 *
 * Dimension legend: T time, B lanes, V vocab, E embed, H hidden, G gates per cell, L layers.
 */
export interface LayerCache {
  readonly xp: FloatArray;          // (T, B, G·H)  W_ih·x_t + b_ih (until backward overwrites it with dxp)
  readonly hs: FloatArray;          // (T+1, B, H)  slot 0 = h_{-1}, the initial state; slot t+1 = h_t
  readonly cs: FloatArray | null;   // (T+1, B, H)  LSTM cell state, same slots
  readonly act: FloatArray | null;  // (T, B, G·H)  post-activation gates (LSTM i,f,g,o; GRU r,z,n); see actByGate
  /**
   * The last forward ran this layer as a fused recurrence (batch-1 LSTM, speedups.ts FusedLstm), which keeps act
   * gate-major instead: (G, capacity, H), gate g's value of unit j at time t at (g·capacity + t)·H + j, so the
   * trace hands out each gate's (T, H) with one copy.
   */
  actByGate: boolean;
  readonly tc: FloatArray | null;   // (T, B, H)    LSTM tanh(c_t)
  readonly hpn: FloatArray | null;  // (T, B, H)    GRU W_hn·h_{t-1} + b_hn
  readonly dxp: FloatArray;         // (T, B, G·H)  ∂L/∂xp: the same buffer as xp, which backward no longer reads
  readonly dhp: FloatArray;         // (T, B, G·H)  ∂L/∂hp (the same buffer as dxp except for the GRU)
  readonly dhOut: FloatArray;       // (T, B, H)    ∂L/∂h_t through the layer's output (decoder or layer above)
  readonly gradH: Float64Array;     // (T)  ‖∂L/∂h_t‖₂ over B·H, total (output and recurrence)
  readonly gradC: Float64Array | null; // (T) ‖∂L/∂c_t‖₂ over B·H, total (through h_t and c_{t+1})
}

/** Test hook for finite differences: add `delta` to one unit of h_t or c_t of a layer during the forward. */
export interface StateProbe {
  readonly layer: number;
  readonly t: number;
  readonly which: 'h' | 'c';
  readonly index: number; // b·H + j
  readonly delta: number;
}

/**
 * Batch-1 LSTM unrolls of at least this many steps run the fused recurrence: below, packing W_hh for it (per
 * layer and pass) is not paid back on one thread, and only long traces get the second.
 */
export const FUSED_MIN_STEPS = 256;

/**
 * The gradient that crosses the boundary between two pieces of one text run as consecutive unrolls (a trace in
 * segments, traceRun.ts), per layer, batch 1: on entry to backward, ∂L/∂h and ∂L/∂c of this piece's last state
 * through the pieces after it (zeros for the last piece); on return, those of the state before its first step,
 * for the piece before it. dc is null for cells without a cell state.
 */
export interface StateGradient {
  readonly dh: FloatArray[]; // per layer (H)
  readonly dc: (FloatArray | null)[]; // per layer (H)
}

export interface UnrollOptions {
  /**
   * A batch-1 LSTM runs the fused recurrence when its T is at least this (default FUSED_MIN_STEPS). The fused and
   * the step-by-step recurrences round differently: a text run in pieces passes 1 (or Infinity) for every piece
   * so that each runs the way the whole text would.
   */
  readonly fusedFrom?: number;
}

export class Unroll {
  readonly inputs: Int32Array;   // (T, B) token ids
  readonly targets: Int32Array;  // (T, B) next-token ids; −1 where a position has no target
  readonly layers: readonly LayerCache[];
  readonly probs: FloatArray;    // (T, B, V) softmax of the logits
  readonly dlogits: FloatArray;  // (T, B, V)
  /** Mean cross-entropy over the positions that have a target, from the last forward. */
  loss = NaN;
  /** How many positions had a target in the last forward. */
  count = 0;
  probe: StateProbe | null = null;
  /**
   * Batch 1 only: the recurrent matrix–vector products, and the input-projection, decoder and dx products over
   * all timesteps, split by rows with a helper thread (bit-identical to one thread; speedups.ts RowHelper).
   * The caller starts and disposes it. Not used for the parameter-gradient products.
   */
  rows: RowHelper | null = null;
  /**
   * (V, G·H) the first layer's input projection per token for the network's current parameters, made by the caller
   * once for many forwards (a trace's segments: net.inputTable, the same numbers); null: each forward makes it.
   */
  inputTable: FloatArray | null = null;

  private readonly table: FloatArray;  // (V, G·H) first layer's input projection per token
  private readonly dtable: FloatArray; // (V, G·H)
  private readonly hp: FloatArray;     // (B, G·H) W_hh·h_{t-1} + b_hh of the current step
  private readonly dh: FloatArray;     // (B, H)   total ∂L/∂h_t of the current step
  private readonly dc: FloatArray;     // (B, H)   ∂L/∂c carried back one step
  private readonly dhRec: FloatArray;  // (B, H)   ∂L/∂h_{t-1} through the recurrence
  /**
   * (H, G·H) W_hhᵀ of the layer being backpropagated, batch 1 only: the backward recurrent product
   * da·W_hh is then a matrix–vector product over contiguous rows (gemmNT with M = 1, the forward's kernel)
   * instead of an outer-product sweep down W_hh's columns. Made once per layer per backward call.
   */
  private readonly whhT: FloatArray | null;
  /**
   * Batch-1 LSTM on kernels with a fused recurrence (Kernels.fusedLstm): each layer's recurrence runs as fused
   * per-step kernel calls, on two threads when `rows` has a helper. dcs (T+1, H) holds ∂L/∂c per timestep
   * (slot T zero) and sqs (T, 2, 2) the float64 halves of the squared gradient norms.
   */
  private readonly fused: FusedLstm | null;
  private readonly dcs: FloatArray | null;
  private readonly sqs: FloatArray | null;
  /** The layer being run's W_hh packed for its pass (FusedLstm.pack). */
  private readonly packed: FloatArray | null;

  /** Timesteps the next forward runs: at most `capacity`, the T the buffers were made for (see reuse()). */
  T: number;
  readonly capacity: number;

  /** See UnrollOptions.fusedFrom. */
  readonly fusedFrom: number;

  constructor(public net: Network, T: number, readonly B: number, options: UnrollOptions = {}) {
    this.T = this.capacity = T;
    this.fusedFrom = options.fusedFrom ?? FUSED_MIN_STEPS;
    const { cell, hidden: H, vocabSize: V, layers: L } = net.cfg;
    const F = (n: number): FloatArray => net.kernels.allocate(net.Float, n);
    const GH = net.gates * H;
    this.inputs = new Int32Array(T * B);
    this.targets = new Int32Array(T * B).fill(-1);
    const layers: LayerCache[] = [];
    for (let l = 0; l < L; l++) {
      // xp is read only by the forward's cells (their outputs keep all the backward needs), so ∂L/∂xp
      // overwrites it: a third less memory for the (T, B, G·H) buffers, the bulk of a long trace's
      const dxp = F(T * B * GH);
      layers.push({
        xp: dxp,
        hs: F((T + 1) * B * H),
        cs: cell === 'lstm' ? F((T + 1) * B * H) : null,
        act: isPlainRnn(cell) ? null : F(T * B * GH),
        tc: cell === 'lstm' ? F(T * B * H) : null,
        hpn: cell === 'gru' ? F(T * B * H) : null,
        dxp,
        dhp: cell === 'gru' ? F(T * B * GH) : dxp,
        dhOut: F(T * B * H),
        gradH: new Float64Array(T),
        gradC: cell === 'lstm' ? new Float64Array(T) : null,
        actByGate: false,
      });
    }
    this.layers = layers;
    this.probs = F(T * B * V);
    this.dlogits = F(T * B * V);
    this.table = F(V * GH);
    this.dtable = F(V * GH);
    this.hp = F(B * GH);
    this.dh = F(B * H);
    this.dc = F(B * H);
    this.dhRec = F(B * H);
    this.whhT = B === 1 ? F(GH * H) : null;
    const fused = B === 1 && cell === 'lstm' && T >= this.fusedFrom ? net.kernels.fusedLstm ?? null : null;
    this.fused = fused;
    this.dcs = fused ? F((T + 1) * H) : null;
    this.sqs = fused ? F(8 * T) : null;
    this.packed = fused ? F(fused.packedFloats(H)) : null;
  }

  /**
   * A layer's fused recurrence run (see `fused`), or null where it does not apply: other cells or batch sizes,
   * kernels without one, a probe (tests) to apply between steps, or a buffer outside the kernels' memory.
   */
  private lstmRun(backward: boolean, l: number): LstmRun | null {
    const k = this.fused;
    if (k === null || this.probe !== null || this.T < this.fusedFrom) return null;
    const c = this.layers[l]!, p = this.net.p.layers[l]!;
    const at = (a: FloatArray | null): number => (a === null ? -1 : k.addressOf(a, 0));
    const run: LstmRun = {
      backward, T: this.T, H: this.net.cfg.hidden,
      whh: at(this.packed), bhh: at(p.bhh), xp: at(c.xp), hs: at(c.hs), cs: at(c.cs), act: at(c.act), actGate: this.capacity * this.net.cfg.hidden * 4,
      tc: at(c.tc), dhOut: at(c.dhOut), dc: at(this.dcs), sq: at(this.sqs),
    };
    if (Object.values(run).some((v) => typeof v === 'number' && v < 0)) return null;
    const w = k.addressOf(p.whh, 0);
    if (w < 0) return null;
    k.pack(backward, run.H, w, run.whh);
    return run;
  }

  /**
   * Makes this unroll run `T` ≤ capacity timesteps of `net`, a network of the same configuration on the same
   * kernels as the one it was made for (a trace of another text, or of a newer model): the buffers are reused
   * as they are, since every one holds only what a forward or backward writes before reading it. False when
   * it cannot (then make a new one).
   */
  reuse(net: Network, T: number): boolean {
    const a = this.net.cfg, b = net.cfg;
    const same = net.kernels === this.net.kernels && net.Float === this.net.Float && a.cell === b.cell && a.hidden === b.hidden &&
      a.layers === b.layers && a.embed === b.embed && a.vocabSize === b.vocabSize;
    if (!same || T < 1 || T > this.capacity) return false;
    this.net = net;
    this.T = T;
    this.targets.fill(-1);
    this.probe = null;
    this.rows = null;
    this.inputTable = null;
    return true;
  }

  /** Zeroes the initial state (h_{-1}, c_{-1}) of every layer. */
  resetState(): void {
    const n = this.B * this.net.cfg.hidden;
    for (const l of this.layers) {
      l.hs.fill(0, 0, n);
      l.cs?.fill(0, 0, n);
    }
  }

  /** Makes the final state of the last forward the initial state of the next: hidden state carried across chunks. */
  carryState(): void {
    const n = this.B * this.net.cfg.hidden;
    for (const l of this.layers) {
      l.hs.copyWithin(0, this.T * n, (this.T + 1) * n);
      l.cs?.copyWithin(0, this.T * n, (this.T + 1) * n);
    }
  }

  /** Runs the forward over `inputs` from the initial state in slot 0; returns the mean loss. */
  forward(): number {
    const net = this.net;
    const { cell, hidden: H, vocabSize: V, layers: L } = net.cfg;
    const { T, B } = this;
    const GH = net.gates * H;
    const k = net.kernels;
    const rows = B === 1 ? this.rows : null;

    const table = this.inputTable ?? this.table;
    if (this.inputTable === null) net.inputTable(this.table);
    for (let l = 0; l < L; l++) {
      const c = this.layers[l]!;
      const p = net.p.layers[l]!;
      // input projection of all timesteps at once: a table lookup for the first layer, one GEMM above it
      if (l === 0) {
        k.gatherRows(T * B, GH, this.inputs, table, c.xp, 0);
      } else {
        const below = this.layers[l - 1]!.hs;
        if (rows === null || !rows.gemm(true, T * B, GH, H, below, B * H, p.wih, 0, c.xp, 0, false)) {
          k.gemmNT(T * B, GH, H, below, B * H, p.wih, 0, c.xp, 0, false); // (T·B, H)·(H, G·H)
        }
        k.addBias(T * B, GH, c.xp, 0, p.bih, 0);
      }
      const run = this.lstmRun(false, l);
      c.actByGate = run !== null;
      if (run !== null) {
        if (rows !== null) rows.lstm(run);
        else this.fused!.run(run);
        continue;
      }
      for (let t = 0; t < T; t++) {
        const prev = t * B * H, cur = (t + 1) * B * H;
        // hp = h_{t-1}·W_hhᵀ  (B, G·H)
        if (rows === null || !rows.gemv(GH, H, c.hs, prev, p.whh, 0, this.hp, 0, false)) k.gemmNT(B, GH, H, c.hs, prev, p.whh, 0, this.hp, 0, false);
        k.addBias(B, GH, this.hp, 0, p.bhh, 0);
        const xpOff = t * B * GH;
        if (cell === 'lstm') {
          k.lstmForward(B, H, c.xp, xpOff, this.hp, 0, c.cs!, prev, c.act!, xpOff, c.cs!, cur, c.tc!, t * B * H, c.hs, cur);
        } else if (cell === 'gru') {
          k.gruForward(B, H, c.xp, xpOff, this.hp, 0, c.hs, prev, c.act!, xpOff, c.hpn!, t * B * H, c.hs, cur);
        } else if (cell === 'rnn_relu') {
          k.rnnReluForward(B, H, c.xp, xpOff, this.hp, 0, c.hs, cur);
        } else {
          k.rnnForward(B, H, c.xp, xpOff, this.hp, 0, c.hs, cur);
        }
        if (this.probe !== null && this.probe.layer === l && this.probe.t === t) this.applyProbe(c, t);
      }
    }

    // decoder and softmax cross-entropy: logits (T·B, V) = h_top·W_decᵀ + b_dec, softmax in place
    const top = this.layers[L - 1]!.hs;
    if (rows === null || !rows.gemm(true, T * B, V, H, top, B * H, net.p.decoderW, 0, this.probs, 0, false)) {
      k.gemmNT(T * B, V, H, top, B * H, net.p.decoderW, 0, this.probs, 0, false);
    }
    const sum = k.softmaxXent(T * B, V, this.probs, net.p.decoderB, this.targets);
    let count = 0;
    for (let r = 0; r < T * B; r++) if (this.targets[r]! >= 0) count++;
    this.count = count;
    this.loss = count > 0 ? sum / count : NaN;
    return this.loss;
  }

  private applyProbe(c: LayerCache, t: number): void {
    const { index, delta, which } = this.probe!;
    const H = this.net.cfg.hidden;
    const cur = (t + 1) * this.B * H + index;
    if (which === 'h') {
      c.hs[cur] += delta;
      return;
    }
    // perturb c_t before h_t reads it: recompute tanh(c_t) and h_t = o⊙tanh(c_t) for this unit
    c.cs![cur] += delta;
    const b = Math.floor(index / H), j = index % H;
    const th = Math.tanh(c.cs![cur]!);
    c.tc![t * this.B * H + index] = th;
    c.hs[cur] = c.act![(t * this.B + b) * 4 * H + 3 * H + j]! * th;
  }

  /**
   * Backpropagation through time over the last forward. Accumulates ∂L/∂θ into net.grads (zeroed by the
   * caller) and fills every layer's per-timestep gradient norms. No gradient flows into the initial state.
   * With `paramGrads: false` only the norms are wanted: the parameter-gradient products (decoder, W_hh, W_ih,
   * embedding, biases) are skipped, and net.grads is left as it was — a third of the work of a long trace.
   * `count` divides the loss instead of the positions with a target here (a piece of a text: the whole text's);
   * `carry` (batch 1) brings the gradient from the pieces after this one and takes back the one before it.
   */
  backward(options: { readonly paramGrads?: boolean; readonly count?: number; readonly carry?: StateGradient } = {}): void {
    const paramGrads = options.paramGrads ?? true;
    const carry = options.carry ?? null;
    if (carry !== null && this.B !== 1) throw new Error('backward: a carried state gradient needs batch 1');
    const net = this.net;
    const { cell, hidden: H, vocabSize: V, layers: L, embed: E } = net.cfg;
    const { T, B } = this;
    const GH = net.gates * H;
    const TB = T * B;
    const k = net.kernels;
    const rows = B === 1 ? this.rows : null;

    // softmax cross-entropy: ∂L/∂logits = (p − onehot(target)) / count on positions with a target, else 0
    const count = options.count ?? this.count;
    const scale = count > 0 ? 1 / count : 0;
    k.softmaxXentBackward(TB, V, this.probs, this.targets, scale, this.dlogits);
    const topHs = this.layers[L - 1]!.hs;
    if (paramGrads) {
      k.gemmTN(V, H, TB, this.dlogits, 0, topHs, B * H, net.g.decoderW, 0, true);        // dW_dec += dlogitsᵀ·h
      k.addColumnSums(TB, V, this.dlogits, 0, net.g.decoderB, 0);                        // db_dec
    }
    // dh_top, and below dx = dxp·W_ih: split by rows over two threads at batch 1 when there is a helper
    const nn = (M: number, N: number, K: number, A: FloatArray, Bm: FloatArray, Cm: FloatArray): void => {
      if (rows === null || !rows.gemm(false, M, N, K, A, 0, Bm, 0, Cm, 0, false)) k.gemmNN(M, N, K, A, 0, Bm, 0, Cm, 0, false);
    };
    nn(TB, H, V, this.dlogits, net.p.decoderW, this.layers[L - 1]!.dhOut); // dh_top

    for (let l = L - 1; l >= 0; l--) {
      const c = this.layers[l]!;
      const p = net.p.layers[l]!;
      const g = net.g.layers[l]!;
      this.dhRec.fill(0);
      this.dc.fill(0);
      if (carry !== null) {
        // ∂L/∂h_{T−1} through h_T (the next piece) joins the output's: the step's total is their sum as in one unroll
        const dh = carry.dh[l]!, last = (T - 1) * H;
        for (let j = 0; j < H; j++) c.dhOut[last + j] += dh[j]!;
        if (carry.dc[l]) this.dc.set(carry.dc[l]!);
      }
      const run = this.lstmRun(true, l);
      if ((run !== null) !== c.actByGate) throw new Error('backward: the forward ran this layer another way (a probe set in between?)');
      const whhT = this.whhT;
      if (whhT !== null && run === null) transpose(GH, H, p.whh, whhT);
      // ∂L/∂h_{t-1} (+)= da·W_hh: against W_hhᵀ at batch 1, W_hh itself otherwise
      const recurrent = (da: FloatArray, off: number, acc: boolean): void => {
        if (whhT !== null) {
          if (rows === null || !rows.gemv(H, GH, da, off, whhT, 0, this.dhRec, 0, acc)) k.gemmNT(B, H, GH, da, off, whhT, 0, this.dhRec, 0, acc);
        }
        else k.gemmNN(B, H, GH, da, off, p.whh, 0, this.dhRec, 0, acc);
      };
      if (run !== null) {
        if (carry?.dc[l]) this.dcs!.set(carry.dc[l]!, T * H);
        else this.dcs!.fill(0, T * H, (T + 1) * H);
        if (rows !== null) rows.lstm(run);
        else this.fused!.run(run);
        const sq = this.sqs!;
        const halves = new Float64Array(sq.buffer, sq.byteOffset, 4 * T); // (T, 2 halves, [Σ dh², Σ dc²])
        for (let t = 0; t < T; t++) {
          c.gradH[t] = Math.sqrt(halves[4 * t]! + halves[4 * t + 2]!);
          c.gradC![t] = Math.sqrt(halves[4 * t + 1]! + halves[4 * t + 3]!);
        }
      }
      for (let t = run === null ? T - 1 : -1; t >= 0; t--) {
        const prev = t * B * H;
        const outOff = t * B * H;
        const gOff = t * B * GH;
        // total ∂L/∂h_t = through the output + through h_{t+1}
        c.gradH[t] = Math.sqrt(k.addNorm(B * H, c.dhOut, outOff, this.dhRec, 0, this.dh, 0));
        if (cell === 'lstm') {
          c.gradC![t] = Math.sqrt(k.lstmBackward(B, H, c.act!, gOff, c.cs!, prev, c.tc!, t * B * H, this.dh, this.dc, c.dxp, gOff));
          recurrent(c.dxp, gOff, false);                                    // dh_{t-1} = da·W_hh
        } else if (cell === 'gru') {
          k.gruBackward(B, H, c.act!, gOff, c.hpn!, t * B * H, c.hs, prev, this.dh, c.dxp, gOff, c.dhp, gOff, this.dhRec);
          recurrent(c.dhp, gOff, true);                                     // dh_{t-1} = z⊙dh + dhp·W_hh
        } else if (cell === 'rnn_relu') {
          k.rnnReluBackward(B, H, c.hs, (t + 1) * B * H, this.dh, c.dxp, gOff);
          recurrent(c.dxp, gOff, false);
        } else {
          k.rnnBackward(B, H, c.hs, (t + 1) * B * H, this.dh, c.dxp, gOff);
          recurrent(c.dxp, gOff, false);
        }
      }
      if (carry !== null) {
        // back to the piece before: ∂L/∂h_{−1} = da_0·W_hh (the fused run does not keep it), ∂L/∂c_{−1}
        if (run !== null) {
          k.gemmNN(1, H, GH, c.dxp, 0, p.whh, 0, this.dhRec, 0, false); // (1, G·H)·(G·H, H)
          carry.dc[l]!.set(this.dcs!.subarray(0, H));
        } else if (carry.dc[l]) {
          carry.dc[l]!.set(this.dc);
        }
        carry.dh[l]!.set(this.dhRec);
      }
      if (!paramGrads) {
        // only ∂L/∂h of the layer below is still needed: dx = dxp·W_ih
        if (l > 0) nn(TB, H, GH, c.dxp, p.wih, this.layers[l - 1]!.dhOut);
        continue;
      }
      // recurrent weights over all T·B rows at once: dW_hh += dhpᵀ·h_{t-1}
      k.gemmTN(GH, H, TB, c.dhp, 0, c.hs, 0, g.whh, 0, true);
      k.addColumnSums(TB, GH, c.dhp, 0, g.bhh, 0);
      k.addColumnSums(TB, GH, c.dxp, 0, g.bih, 0);
      if (l > 0) {
        const below = this.layers[l - 1]!;
        k.gemmTN(GH, H, TB, c.dxp, 0, below.hs, B * H, g.wih, 0, true);            // dW_ih += dxpᵀ·x
        nn(TB, H, GH, c.dxp, p.wih, below.dhOut);                                   // dx = dxp·W_ih
      } else {
        // the first layer's input came from table = encoder·W_ih0ᵀ + b_ih0: aggregate ∂L/∂xp by token
        this.dtable.fill(0);
        k.scatterAddRows(TB, GH, this.inputs, c.dxp, 0, this.dtable);
        k.gemmTN(GH, E, V, this.dtable, 0, net.p.encoder, 0, g.wih, 0, true);     // dW_ih0 += dtableᵀ·encoder
        k.gemmNN(V, E, GH, this.dtable, 0, p.wih, 0, net.g.encoder, 0, true);     // dencoder += dtable·W_ih0
      }
    }
  }
}

/** dst (cols, rows) ← srcᵀ for a row-major (rows, cols) src. */
function transpose(rows: number, cols: number, src: FloatArray, dst: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) dst[j * rows + r] = src[o + j]!;
  }
}
