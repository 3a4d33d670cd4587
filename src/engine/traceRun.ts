import { GatescopeError } from './errors';
import type { Kernels } from './kernels';
import { MAX_TRACE_CHARS } from './limits';
import type { Network } from './network';
import type { ForwardRecord } from './reach';
import { DEFAULT_TOP_K, makePredictions, summarise } from './predictions';
import type { RowHelper } from './speedups';
import { GATE_NAMES, isPlainRnn, type FloatArray, type TracePredictions } from './types';
import { FUSED_MIN_STEPS, Unroll, type StateGradient } from './unroll';

/**
 * A trace run in segments: the text's forward one segment of K timesteps at a time (each from the state the one
 * before it ended in), keeping per position only what the views use of the prediction (predictions.ts) and, per
 * segment, the state it started from — a checkpoint of L·2·H numbers. From those:
 *  - any window's internals (gates, c, h) are recomputed from the checkpoint before it, bit-identical to the
 *    forward's (the same segments run the same way: see fusedFrom);
 *  - the per-timestep gradient norms come from a backward over the segments from the last to the first, each
 *    segment's forward recomputed from its checkpoint unless it was kept (`keep`), the gradient into a segment's
 *    first state carried to the segment before it (Unroll.backward's carry);
 *  - the whole distribution at one position is the decoder on that position's top-layer h.
 * Memory is O(K) for the internals instead of O(T), and the first segments can be shown before the rest exists
 * (the inspector's progressive trace). With `keep`, each segment's unroll stays for the backward: the speed of one
 * unroll over the whole text, its memory too (for texts and models that fit the memory the caller allows).
 *
 * Dimension legend: T characters, K segment length, V vocab, H hidden, G gates per cell, L layers.
 */

/** One segment's or window's internals, positions [start, end): float32 copies, each (end − start, H). */
export interface TraceSegment {
  readonly start: number;
  readonly end: number;
  readonly layers: readonly {
    readonly gates: Readonly<Record<string, Float32Array>>;
    readonly c: Float32Array | null;
    readonly h: Float32Array;
  }[];
}

/** Per layer, ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ (LSTM) for every t: the mean loss's, or one prediction's. */
export interface TraceGradients {
  readonly gradH: Float32Array[];           // per layer (T)
  readonly gradC: (Float32Array | null)[];  // per layer (T)
}

/**
 * Starts a row helper thread for a network's kernels, or returns null where there can be none (kernels whose
 * memory a thread cannot share, a host without threads). The worker and the CLI pass the one backend.ts makes.
 */
export type StartRowHelper = (kernels: Kernels) => RowHelper | null;

export interface TraceRunOptions {
  /** K, timesteps per segment (default: segmentLength of the network). */
  readonly segment?: number;
  /** Most likely characters kept per position (default DEFAULT_TOP_K; at most V). */
  readonly topK?: number;
  /** Also keep the whole (T, V) distribution (scripts that want it: `gatescope trace --full-probs`). */
  readonly fullProbs?: boolean;
  /** Keep every segment's unroll for the backward instead of recomputing its forward (memory: unrollBytes). */
  readonly keep?: boolean;
  /**
   * Runs the recurrent products (and the large products over all timesteps) on two threads, this one and a
   * helper (speedups.ts RowHelper; backend.ts starts it): bit-identical results. Ignored where it cannot run or
   * would not pay (MIN_THREAD_PRODUCT); held from the first segment until dispose().
   */
  readonly rowHelper?: StartRowHelper | null;
  /** Tests: wait up to this many ms for the helper before the first segment (default 0: start at once). */
  readonly waitForHelperMs?: number;
  /** Tests: use the helper for any network and text, not only where it pays. */
  readonly threadsAtAnySize?: boolean;
  /**
   * The length of the whole text when these tokens are its first T characters (`gatescope trace --range`): the run
   * then rounds as a run of the whole text does (see fusedFrom), so its values equal the whole text's. Default T.
   */
  readonly textLength?: number;
}

/**
 * The helper thread is started only for recurrent products of at least this many multiply-adds (G·H·H: a
 * 256-unit LSTM or GRU, a 512-unit RNN) and texts of at least MIN_THREAD_CHARS: below that the product fits one
 * core's L2 and takes a few µs, and the handshakes and the helper's start (~50 ms) cost what the split saves.
 */
export const MIN_THREAD_PRODUCT = 1 << 17;
export const MIN_THREAD_CHARS = 1000;

/**
 * The default segment length: about 4·10⁸ multiply-adds of forward per segment (a fraction of a second), so the
 * first segment paints quickly for any model and the per-segment costs (packing W_hh for the fused recurrence,
 * the calls) stay small: 1024 steps for a 1 × 128 LSTM, 768 for 2 × 256, 64 for 2 × 1024 and for a 1 × 256 LSTM
 * with a vocabulary of 65,536 (its decoder dominates). A multiple of 64.
 */
export function segmentLength(net: Network): number {
  const { hidden: H, layers: L, vocabSize: V } = net.cfg;
  const perStep = L * net.gates * H * H + V * H;
  // a segment's probabilities and their gradient (K·V floats each) within SEGMENT_PROBS_BYTES: 128 steps at V = 65,536
  const byVocab = Math.floor(SEGMENT_PROBS_BYTES / (8 * V));
  return Math.max(64, Math.min(1024, byVocab, Math.floor(4e8 / perStep)) & ~63);
}

/** Bytes a segment's (K, V) probabilities and their gradient may take together (segmentLength). */
export const SEGMENT_PROBS_BYTES = 64 * 2 ** 20;

/**
 * Bytes of a batch-1 unroll's per-timestep buffers for T steps: per layer xp and act (G·H each; the GRU one
 * more), h, c, tanh(c), ∂L/∂h through the output (the GRU one more), ∂L/∂c, and the probabilities and their
 * gradient (V each). An upper bound, for deciding what to keep.
 */
export function unrollBytes(net: Network, T: number): number {
  const { hidden: H, layers: L, vocabSize: V } = net.cfg;
  return 4 * T * ((3 * net.gates + 6) * H * L + 2 * V + H);
}

export class TraceRun {
  readonly T: number;
  /** Timesteps per segment; segment s covers [s·K, min(T, (s+1)·K)). */
  readonly K: number;
  readonly segments: number;
  readonly predictions: TracePredictions;
  /** (T, V) when asked for (fullProbs), filled as the segments run. */
  readonly probs: Float32Array | null;
  /** Positions whose forward has run (segments in order). */
  forwarded = 0;

  private readonly V: number;
  private readonly L: number;
  private readonly H: number;
  /** Per segment, the state it starts from: (L, 2, H), h then c (c zero without a cell state). */
  private readonly states: FloatArray[] = [];
  /** Float64 sum of the forward's per-position losses (the mean is over T − 1 positions). */
  private lossSum = 0;
  /** With `keep`, each segment's unroll after its forward. */
  private readonly kept: (Unroll | null)[];
  /** The unroll segments run on when they are not kept. */
  private scratch: Unroll | null = null;
  /** Which segment's forward `scratch` (or a kept unroll) holds, for the backward and windows to reuse. */
  private scratchHolds = -1;
  /** Every segment's unroll runs the fused recurrence (batch-1 LSTM) when the whole text would: see UnrollOptions. */
  private readonly fusedFrom: number;
  private rows: RowHelper | null = null;
  /** (V, G·H) the first layer's input projection per token, made by the first segment's forward for all of them. */
  private table: FloatArray | null = null;
  /** Whether the row helper pays for this run (see MIN_THREAD_PRODUCT). */
  private readonly threads: boolean;
  private disposed = false;

  constructor(readonly net: Network, readonly tokens: Int32Array, private readonly options: TraceRunOptions = {}) {
    const T = tokens.length;
    if (T === 0) throw new GatescopeError('there is no text to trace', 'not-text');
    if (T > MAX_TRACE_CHARS) {
      throw new GatescopeError(`the text has ${T} characters; trace at most ${MAX_TRACE_CHARS} at a time (select a part of it)`, 'invalid-input');
    }
    const { vocabSize: V, layers: L, hidden: H } = net.cfg;
    const topK = options.topK ?? DEFAULT_TOP_K;
    if (!Number.isInteger(topK) || topK < 1) throw new GatescopeError(`top-k must be a whole number ≥ 1, not ${topK}`, 'invalid-input');
    this.T = T;
    this.V = V;
    this.L = L;
    this.H = H;
    const K = options.segment ?? segmentLength(net);
    if (!Number.isInteger(K) || K < 1) throw new Error(`TraceRun: segment length ${K}`);
    this.K = Math.min(K, T);
    this.segments = Math.ceil(T / this.K);
    this.predictions = makePredictions(T, Math.min(topK, V));
    this.probs = options.fullProbs ? new Float32Array(T * V) : null;
    this.kept = new Array(this.segments).fill(null);
    this.fusedFrom = Math.max(T, options.textLength ?? T) >= FUSED_MIN_STEPS ? 1 : Infinity;
    this.states.push(new net.Float(L * 2 * H));
    this.threads = !!options.threadsAtAnySize || (T >= MIN_THREAD_CHARS && net.gates * H * H >= MIN_THREAD_PRODUCT);
    if (this.threads) {
      this.rows = helperFor(net.kernels, options.rowHelper);
      if (this.rows !== null && options.waitForHelperMs) this.rows.waitReady(options.waitForHelperMs);
    }
  }

  get done(): boolean {
    return this.forwarded === this.T;
  }

  /** Mean cross-entropy of the T − 1 next-character predictions (NaN for a one-character text); after the forward. */
  get loss(): number {
    if (!this.done) throw new Error('TraceRun.loss: the forward has not finished');
    return this.T > 1 ? this.lossSum / (this.T - 1) : NaN;
  }

  private bounds(s: number): [number, number] {
    return [s * this.K, Math.min(this.T, (s + 1) * this.K)];
  }

  /** Runs the next segment's forward; returns its internals (float32 copies), or null when all have run. */
  next(): TraceSegment | null {
    this.check();
    const s = this.forwarded / this.K;
    if (this.done) return null;
    const u = this.forwardSegment(s, this.options.keep ?? false);
    const [a, b] = this.bounds(s);
    // the state it ended in starts the next segment
    if (s + 1 < this.segments) this.states.push(this.stateOf(u, b - a));
    this.lossSum += u.loss * u.count;
    const next = u.targets.subarray(0, b - a);
    summarise(u.probs, b - a, this.V, next, this.predictions, a);
    this.probs?.set(u.probs.subarray(0, (b - a) * this.V), a * this.V);
    this.forwarded = b;
    return { start: a, end: b, layers: layerRecords(u, (n) => new Float32Array(n)) };
  }

  /** Runs every remaining segment's forward (their internals dropped). */
  finish(): void {
    while (!this.done) this.next();
  }

  /**
   * The internals of positions [a, b), recomputed from the checkpoint of the segment a is in: the same bits as
   * the forward's (and as a trace of the whole text in one unroll). Needs the forward to have reached b.
   */
  window(a: number, b: number): TraceSegment {
    this.check();
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > this.T || a >= b) {
      throw new GatescopeError(`the window [${a}, ${b}) is not inside the text's ${this.T} characters`, 'invalid-input');
    }
    if (b > this.forwarded) throw new Error(`TraceRun.window: the forward has reached ${this.forwarded}, not ${b}`);
    const { L, H } = this;
    const out = Array.from({ length: L }, () => ({
      gates: Object.fromEntries(this.gateNames().map((g) => [g, new Float32Array((b - a) * H)])) as Record<string, Float32Array>,
      c: this.net.cfg.cell === 'lstm' ? new Float32Array((b - a) * H) : null,
      h: new Float32Array((b - a) * H),
    }));
    for (let s = Math.floor(a / this.K); s * this.K < b; s++) {
      const [sa, sb] = this.bounds(s);
      const u = this.segmentUnroll(s);
      const from = Math.max(a, sa), to = Math.min(b, sb);
      layerRecords(u, (n) => new Float32Array(n)).forEach((r, l) => {
        const o = out[l]!;
        const piece = (src: Float32Array, dst: Float32Array): void => dst.set(src.subarray((from - sa) * H, (to - sa) * H), (from - a) * H);
        for (const g of Object.keys(r.gates)) piece(r.gates[g]!, o.gates[g]!);
        if (r.c && o.c) piece(r.c, o.c);
        piece(r.h, o.h);
      });
    }
    return { start: a, end: b, layers: out };
  }

  /**
   * The whole next-character distribution at position t: the decoder and softmax on t's top-layer h, as the
   * forward computed it (the same kernels, one row).
   */
  distribution(t: number): Float32Array {
    this.check();
    if (!Number.isInteger(t) || t < 0 || t >= this.forwarded) throw new GatescopeError(`position ${t} is not inside the traced text`, 'invalid-input');
    if (this.probs !== null) return this.probs.slice(t * this.V, (t + 1) * this.V);
    const s = Math.floor(t / this.K);
    const u = this.segmentUnroll(s);
    const out = new Float32Array(this.V);
    const r = (t - s * this.K) * this.V;
    for (let v = 0; v < this.V; v++) out[v] = u.probs[r + v]!;
    return out;
  }

  /**
   * The forward of a one-segment run as views into its unroll (no copies), for the backwards of reach.ts and the
   * unit search: valid until the run's next call or dispose().
   */
  record(): ForwardRecord {
    this.check();
    if (this.segments !== 1) throw new Error('TraceRun.record: one-segment runs only');
    this.finish();
    const u = this.segmentUnroll(0);
    return { tokens: this.tokens, distribution: (t) => this.distribution(t), layers: layerRecords(u, (n) => new this.net.Float(n), true) };
  }

  /**
   * Per-timestep gradient norms of the mean loss (or, with `lossAt`, of the one prediction at that position),
   * backward over the segments from the last to the first. With `paramGrads`, ∂loss/∂θ accumulates into net.grads
   * (zeroed first). Runs the rest of the forward first when it has not finished.
   */
  gradients(options: { readonly lossAt?: number; readonly paramGrads?: boolean } = {}): TraceGradients {
    const steps = this.gradientSteps(options);
    let r = steps.next();
    while (!r.done) r = steps.next();
    return r.value;
  }

  /**
   * gradients() one segment at a time: yields the segment just done (from the last to the first), returns the
   * norms. A caller that must stay responsive (the engine worker) handles its messages between two segments.
   */
  *gradientSteps(options: { readonly lossAt?: number; readonly paramGrads?: boolean } = {}): Generator<number, TraceGradients, void> {
    this.check();
    this.finish();
    const { T, L, H, net } = this;
    const lossAt = options.lossAt;
    if (lossAt !== undefined && (!Number.isInteger(lossAt) || lossAt < 0 || lossAt >= T - 1)) {
      throw new GatescopeError(`the prediction at ${lossAt} is not inside the text (0…${T - 2}: the last character predicts nothing)`, 'invalid-input');
    }
    const paramGrads = options.paramGrads ?? false;
    if (paramGrads) net.zeroGrad();
    const carry: StateGradient = {
      dh: Array.from({ length: L }, () => new net.Float(H)),
      dc: Array.from({ length: L }, () => (net.cfg.cell === 'lstm' ? new net.Float(H) : null)),
    };
    const gradH = Array.from({ length: L }, () => new Float32Array(T));
    const gradC = Array.from({ length: L }, () => (net.cfg.cell === 'lstm' ? new Float32Array(T) : null));
    const count = lossAt === undefined ? T - 1 : 1;
    for (let s = this.segments - 1; s >= 0; s--) {
      const [a, b] = this.bounds(s);
      if (lossAt !== undefined && a > lossAt) continue; // nothing after the prediction reaches it: zero
      const u = this.segmentUnroll(s);
      // ∂L/∂logits is (p − onehot)/count on the positions with a target: all of them, or the one prediction
      for (let t = a; t < b; t++) u.targets[t - a] = t + 1 < T && (lossAt === undefined || t === lossAt) ? this.tokens[t + 1]! : -1;
      // the backward leaves what windows and distributions read (gates, states, probabilities) as they were
      u.backward({ paramGrads, count, carry });
      for (let l = 0; l < L; l++) {
        const c = u.layers[l]!;
        for (let t = 0; t < b - a; t++) gradH[l]![a + t] = c.gradH[t]!;
        if (c.gradC) for (let t = 0; t < b - a; t++) gradC[l]![a + t] = c.gradC[t]!;
      }
      yield s;
    }
    return { gradH, gradC };
  }

  /**
   * Gives the row helper back (kept a while for the next trace) between two uses of a run that stays (a trace the
   * worker keeps for windows): its next segment takes it again.
   */
  pause(): void {
    if (this.rows !== null) releaseHelper(this.net.kernels, this.rows);
    this.rows = null;
  }

  /** Stops using the row helper (kept a while for the next trace) and lets the unrolls go. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.rows !== null) releaseHelper(this.net.kernels, this.rows);
    this.rows = null;
    const k = keptFor(this.net.kernels);
    // the unrolls serve the next trace of a network of this shape (their pages are touched already)
    if (this.net.kernels.retainsMemory) {
      if (this.scratch !== null && unrollBytes(this.net, this.scratch.capacity) <= MAX_KEPT_BYTES) k.unroll = this.scratch;
      const kept = this.kept.filter((u): u is Unroll => u !== null);
      if (kept.length > 0 && unrollBytes(this.net, this.T) <= MAX_KEPT_BYTES) k.segments = kept;
    }
    this.scratch = null;
    this.kept.fill(null);
  }

  private check(): void {
    if (this.disposed) throw new Error('TraceRun: used after dispose()');
  }

  private gateNames(): readonly string[] {
    return isPlainRnn(this.net.cfg.cell) ? [] : GATE_NAMES[this.net.cfg.cell];
  }

  /** The unroll holding segment s's forward: kept, already in scratch, or recomputed from its checkpoint. */
  private segmentUnroll(s: number): Unroll {
    const kept = this.kept[s] ?? (this.scratchHolds === s ? this.scratch : null);
    if (!kept) return this.forwardSegment(s, false);
    // a backward runs its products with the helper too (paused runs take it again)
    if (this.rows === null && this.threads) this.rows = helperFor(this.net.kernels, this.options.rowHelper);
    kept.rows = this.rows;
    return kept;
  }

  /** Runs segment s's forward from its checkpoint on a kept unroll (`keep`) or the scratch one. */
  private forwardSegment(s: number, keep: boolean): Unroll {
    const [a, b] = this.bounds(s);
    const n = b - a;
    let u: Unroll;
    if (keep) {
      u = this.takeKeptSegment(n) ?? this.newUnroll(n);
      this.kept[s] = u;
    } else {
      if (this.scratch === null || !this.scratch.reuse(this.net, n)) this.scratch = this.takeKeptUnroll(n) ?? this.newUnroll(this.K);
      if (this.scratch.T !== n && !this.scratch.reuse(this.net, n)) throw new Error('TraceRun: scratch unroll too short');
      u = this.scratch;
      this.scratchHolds = s;
    }
    // the first layer's input table once for all segments (V·E·G·H multiply-adds: 4.3·10⁹ at V = 65,536, E = 64, H = 256)
    if (this.table === null) {
      this.table = this.net.kernels.allocate(this.net.Float, this.V * this.net.gates * this.H);
      // a large vocabulary of which the text uses few tokens: only their rows (2,000 characters use ≤ 2,000 of 65,536)
      const used = distinct(this.tokens, this.V);
      if (used.length * 2 < this.V) this.net.inputTableRows(this.table, used);
      else this.net.inputTable(this.table);
    }
    u.inputTable = this.table;
    u.inputs.set(this.tokens.subarray(a, b));
    for (let t = 0; t < n; t++) u.targets[t] = a + t + 1 < this.T ? this.tokens[a + t + 1]! : -1;
    const st = this.states[s]!;
    const { H } = this;
    u.layers.forEach((c, l) => {
      c.hs.set(st.subarray((2 * l) * H, (2 * l + 1) * H), 0);
      c.cs?.set(st.subarray((2 * l + 1) * H, (2 * l + 2) * H), 0);
    });
    if (this.rows === null && this.threads) this.rows = helperFor(this.net.kernels, this.options.rowHelper);
    u.rows = this.rows;
    try {
      u.forward();
    } finally {
      u.rows = null;
    }
    // the backward reads the helper too
    u.rows = this.rows;
    return u;
  }

  private newUnroll(T: number): Unroll {
    return new Unroll(this.net, T, 1, { fusedFrom: this.fusedFrom });
  }

  /** The unroll a finished trace of these kernels left (TraceRun.dispose), when it fits this run's segments. */
  private takeKeptUnroll(n: number): Unroll | null {
    const k = keptFor(this.net.kernels);
    const u = k.unroll;
    if (u === null || u.capacity < this.K || u.fusedFrom !== this.fusedFrom || !u.reuse(this.net, n)) return null;
    k.unroll = null;
    return u;
  }

  /** An unroll a finished trace kept with `keep` (TraceRun.dispose), long enough for a segment of n steps. */
  private takeKeptSegment(n: number): Unroll | null {
    const k = keptFor(this.net.kernels);
    for (let i = 0; i < k.segments.length; i++) {
      const u = k.segments[i]!;
      if (u.capacity >= n && u.fusedFrom === this.fusedFrom && u.reuse(this.net, n)) {
        k.segments.splice(i, 1);
        return u;
      }
    }
    return null;
  }

  /** The state segment s's forward ended in (slot n of each layer's h and c), as the next segment's start. */
  private stateOf(u: Unroll, n: number): FloatArray {
    const { L, H } = this;
    const st = new this.net.Float(L * 2 * H);
    u.layers.forEach((c, l) => {
      st.set(c.hs.subarray(n * H, (n + 1) * H), 2 * l * H);
      if (c.cs) st.set(c.cs.subarray(n * H, (n + 1) * H), (2 * l + 1) * H);
    });
    return st;
  }
}

/** The distinct token ids of a text, ascending. */
function distinct(tokens: Int32Array, V: number): Int32Array {
  const seen = new Uint8Array(V);
  for (let t = 0; t < tokens.length; t++) seen[tokens[t]!] = 1;
  const out: number[] = [];
  for (let v = 0; v < V; v++) if (seen[v]) out.push(v);
  return Int32Array.from(out);
}

/**
 * Per layer of a batch-1 unroll, the gates by name, c and h as (T, H) arrays: copies into arrays from `make`, or
 * with `views`, subarrays of the unroll's buffers wherever they are contiguous.
 */
export function layerRecords<A extends FloatArray>(u: Unroll, make: (n: number) => A, views = false):
  { gates: Record<string, A>; c: A | null; h: A }[] {
  const { T, net } = u;
  const { cell, hidden: H } = net.cfg;
  const G = net.gates;
  const names = isPlainRnn(cell) ? [] : GATE_NAMES[cell];
  const copyOf = (a: FloatArray, start: number, end: number): A => {
    if (views) return a.subarray(start, end) as A;
    const out = make(end - start);
    out.set(a.subarray(start, end));
    return out;
  };
  return u.layers.map((c) => {
    const gates: Record<string, A> = {};
    const act = c.act;
    names.forEach((name, gi) => {
      if (c.actByGate) {
        const src = gi * u.capacity * H; // gate-major: the gate's (T, H) in one piece
        gates[name] = copyOf(act!, src, src + T * H);
        return;
      }
      const out = make(T * H);
      for (let t = 0; t < T; t++) {
        const src = t * G * H + gi * H;
        out.set(act!.subarray(src, src + H), t * H);
      }
      gates[name] = out;
    });
    return { gates, c: c.cs ? copyOf(c.cs, H, (T + 1) * H) : null, h: copyOf(c.hs, H, (T + 1) * H) };
  });
}

/**
 * What traces keep between calls, per set of kernels (a network's memory): the last trace's scratch unroll, whose
 * buffers the next trace of a network of the same shape reuses (a long trace's buffers are hundreds of MB whose
 * first touch costs the operating system a page fault every 4 KB; kept only on kernels whose memory never
 * shrinks, Kernels.retainsMemory), and the row helper thread, kept IDLE_HELPER_MS after a trace so the next one
 * does not pay its start (~50–90 ms).
 */
interface Kept {
  unroll: Unroll | null;
  /** The per-segment unrolls of the last trace run with `keep`. */
  segments: Unroll[];
  helper: RowHelper | null;
  /** Stops the kept helper after IDLE_HELPER_MS without a trace. */
  idle: ReturnType<typeof setTimeout> | null;
}
const keptByKernels = new WeakMap<Kernels, Kept>();
export const IDLE_HELPER_MS = 30_000;
/**
 * Unrolls of more bytes than this are not kept (a 10,000-character trace of a 2 × 256 LSTM is ~260 MB). Keeping
 * them costs no memory the process would otherwise give back (a WebAssembly memory never shrinks, and freed
 * blocks stay mapped), but their blocks then serve only traces.
 */
const MAX_KEPT_BYTES = 512 * 2 ** 20;

function keptFor(kernels: Kernels): Kept {
  let k = keptByKernels.get(kernels);
  if (k === undefined) keptByKernels.set(kernels, k = { unroll: null, segments: [], helper: null, idle: null });
  return k;
}

/** The kernels' row helper: the kept one, or a new one (null where there can be none). */
function helperFor(kernels: Kernels, start: StartRowHelper | null | undefined): RowHelper | null {
  const k = keptFor(kernels);
  stopIdleTimer(k);
  if (k.helper !== null && !k.helper.stopped) return k.helper;
  k.helper = start ? start(kernels) : null;
  return k.helper;
}

/** Keeps the helper for the next trace, and stops it after IDLE_HELPER_MS without one. */
function releaseHelper(kernels: Kernels, rows: RowHelper): void {
  const k = keptFor(kernels);
  stopIdleTimer(k);
  k.idle = setTimeout(() => {
    k.idle = null;
    k.helper = null;
    rows.dispose();
  }, IDLE_HELPER_MS);
  // a kept helper must not keep a process (the CLI) alive: Node's timers can be unreferenced
  (k.idle as { unref?: () => void }).unref?.();
}

function stopIdleTimer(k: Kept): void {
  if (k.idle !== null) clearTimeout(k.idle);
  k.idle = null;
}

/** Stops the kept row helper of these kernels now and drops the kept unroll (tests; a host shutting the engine down). */
export function releaseTraceResources(kernels: Kernels): void {
  const k = keptByKernels.get(kernels);
  if (k === undefined) return;
  stopIdleTimer(k);
  k.helper?.dispose();
  keptByKernels.delete(kernels);
}
