import { GatescopeError } from './errors';
import type { Network } from './network';
import { isPlainRnn, type FloatArray } from './types';

/**
 * How far back one prediction's gradient reaches: the vanishing-gradient picture of "Understanding LSTM
 * Networks" and the CS231n notes, measured on a real text.
 *
 * The loss of the prediction made at position T alone,
 *   L_T = −log p(x_{T+1} | x_0..x_T),
 * backpropagated through time: per layer ‖∂L_T/∂h_t‖ and (LSTM) ‖∂L_T/∂c_t‖ for t ≤ T, and the saliency
 * ‖∂L_T/∂e_t‖ of each input character's embedding row e_t. Nothing after T influences L_T, so these are zero for
 * t > T; and the gradient at T − k depends only on steps T − k..T, so a backward over those k + 1 steps is exact
 * (not truncated) for every k it reaches.
 *
 * The backward runs in float64 over the forward's kept internals (a trace: gates, c, h), so that ratios of
 * 1e-14 between k = 0 and k = 100 — the tanh RNN's — are numbers, not rounding. It follows Unroll.backward line
 * by line (cells.ts has the per-cell derivations) for one lane, with the loss on one position.
 *
 * Dimension legend: T characters, V vocab, E embedding, H hidden, G gates per cell, L layers, K steps back.
 */

/** What the backward needs of a forward from a zero state: a Trace has it (and so does forwardRecord()). */
export interface ForwardRecord {
  readonly tokens: Int32Array;   // (T)
  /** (V) the next-character distribution at position t (a trace keeps only the top few: see TraceRun.distribution). */
  readonly distribution: (t: number) => FloatArray;
  readonly layers: readonly {
    readonly gates: Readonly<Record<string, FloatArray>>; // each (T, H), post-activation: LSTM i f g o; GRU r z n
    readonly c: FloatArray | null; // (T, H) LSTM
    readonly h: FloatArray;        // (T, H)
  }[];
}

/** Gradients of one prediction's loss, indexed by k = steps back from T (timestep T − k). */
export interface PredictionGradients {
  /** T: the position whose prediction is differentiated (it predicts character T + 1). */
  readonly at: number;
  /** x_{T+1}, the character predicted. */
  readonly target: number;
  /** L_T = −log p(x_{T+1} | x_0..x_T), in nats. */
  readonly loss: number;
  /** K: steps back computed; every array has K + 1 entries. */
  readonly maxK: number;
  readonly layers: readonly {
    readonly gradH: Float64Array;          // (K+1) ‖∂L_T/∂h_{T−k}‖₂
    readonly gradC: Float64Array | null;   // (K+1) ‖∂L_T/∂c_{T−k}‖₂, LSTM
  }[];
  /** (K+1) ‖∂L_T/∂e_{T−k}‖₂, e_t = the embedding row of input character t. */
  readonly saliency: Float64Array;
}

/** Tests: the full gradient vectors, one call per layer and step, as the backward produces them. */
export type VectorSink = (layer: number, k: number, dh: Float64Array, dc: Float64Array | null, de: Float64Array | null) => void;

export interface PredictionOptions {
  /** Steps back to compute (default: all the way to t = 0). */
  readonly maxK?: number;
  /** Compute the saliency (default true; the reach summary does without: the first layer's W_ihᵀ products). */
  readonly saliency?: boolean;
  readonly sink?: VectorSink;
}

/** Checks that position `at` has a prediction to differentiate, with a message that says what to do. */
export function checkPosition(T: number, at: number, maxK?: number): void {
  if (T < 2) throw new GatescopeError(`the text has ${T} character${T === 1 ? '' : 's'}: a prediction needs at least 2 (one to read, one to predict)`);
  if (!Number.isInteger(at) || at < 0 || at > T - 2) {
    const last = at === T - 1 ? ` (position ${at} is the last character: nothing follows it to predict)` : '';
    throw new GatescopeError(`the prediction's position must be from 0 to ${T - 2} in this ${T}-character text, not ${at}${last}`);
  }
  if (maxK !== undefined && (!Number.isInteger(maxK) || maxK < 0)) throw new GatescopeError(`the number of steps back must be a whole number ≥ 0, not ${maxK}`);
}

/**
 * Backward from the prediction at `at` over the steps at − K..at (K = maxK, at most `at`).
 */
export function predictionGradients(net: Network, rec: ForwardRecord, at: number, options: PredictionOptions = {}): PredictionGradients {
  checkPosition(rec.tokens.length, at, options.maxK);
  const K = Math.min(options.maxK ?? at, at);
  const b = backwardLanes(net, rec, [at], K, options.saliency ?? true, options.sink);
  return {
    at, target: rec.tokens[at + 1]!, loss: b.loss[0]!, maxK: K,
    layers: b.gradH.map((h, l) => ({ gradH: h, gradC: b.gradC[l] ?? null })),
    saliency: b.saliency ?? new Float64Array(K + 1),
  };
}

/** What backwardLanes gives: per layer (N, K+1) norms, lane n's value k steps back at n·(K+1) + k. */
interface LaneGradients {
  readonly loss: Float64Array;                 // (N)
  readonly gradH: Float64Array[];              // L × (N, K+1)
  readonly gradC: (Float64Array | null)[];     // L × (N, K+1), LSTM
  readonly saliency: Float64Array | null;      // (N, K+1)
}

/**
 * A lane's state is rescaled by 2^±RESCALE_BITS when its largest value leaves [2^−RESCALE_BITS, 2^RESCALE_BITS]:
 * the backward is linear in the gradient, so a power-of-two scale is exact, and float32 lanes keep their
 * precision where the tanh RNN's gradient falls by 1e-18 over 100 steps (or an exploding one grows as much).
 */
const RESCALE_BITS = 60;

/**
 * The backward from N predictions at once, K + 1 steps each: lane n runs timesteps positions[n] − k for
 * k = 0..K. Each step's matrix products are one (N, G·H)-row product on the network's kernels (WebAssembly SIMD
 * for float32 networks, float64 TypeScript for gradient checks); the cells' derivatives, the carried ∂L/∂c and
 * every norm are float64. Lanes are independent: each position's own L_T, exactly as predictionGradients defines.
 */
function backwardLanes(net: Network, rec: ForwardRecord, positions: readonly number[], K: number, wantSaliency: boolean, sink?: VectorSink): LaneGradients {
  const { cell, hidden: H, vocabSize: V, layers: L, embed: E } = net.cfg;
  const G = net.gates, GH = G * H;
  const N = positions.length, K1 = K + 1;
  const k8 = net.kernels;
  const F = (n: number): FloatArray => k8.allocate(net.Float, n);

  // ∂L_T/∂logits_T = p_T − onehot(x_{T+1}) per lane; through the decoder, ∂L_T/∂h_T of the top layer
  const loss = new Float64Array(N);
  const dlogits = F(N * V); // (N, V)
  positions.forEach((at, n) => {
    const target = rec.tokens[at + 1]!;
    const p = rec.distribution(at);
    loss[n] = -Math.log(p[target]!);
    for (let v = 0; v < V; v++) dlogits[n * V + v] = p[v]! - (v === target ? 1 : 0);
  });
  let dOut = F(K1 * N * H);             // (K+1, N, H) ∂L_T/∂h_{T−k} through the layer's output (or the layer above)
  let dOutExp = new Int32Array(K1 * N); // (K+1, N) its power-of-two scale per lane (stored = true · 2^exp)
  k8.gemmNN(N, H, V, dlogits, 0, net.p.decoderW, 0, dOut, 0, false); // (N, V)·(V, H); zero for k > 0

  const gradH: Float64Array[] = new Array(L);
  const gradC: (Float64Array | null)[] = new Array(L).fill(null);
  const saliency = wantSaliency || sink ? new Float64Array(N * K1) : null;
  const exp = new Int32Array(N);          // (N) the lanes' current scales
  const dh = new Float64Array(N * H);     // (N, H) total ∂L_T/∂h_t
  const dhRec = F(N * H);                 // (N, H) ∂L_T/∂h_t through h_{t+1}
  const dc = new Float64Array(N * H);     // (N, H) ∂L_T/∂c_t through c_{t+1}: f_{t+1}⊙dc_{t+1}
  const dct = new Float64Array(N * H);    // (N, H) total ∂L_T/∂c_t (LSTM)
  const da = F(N * GH);                   // (N, G·H) ∂L_T/∂a_t for the input projection (dxp)
  const dhp = cell === 'gru' ? F(N * GH) : da; // … for the recurrent one (GRU: r scales hp_n)
  const hPrev = cell === 'gru' ? F(N * H) : null; // (N, H) GRU h_{t−1}, for hp_n
  const hpn = cell === 'gru' ? F(N * H) : null;   // (N, H) GRU W_hn·h_{t−1} + b_hn (a trace does not keep it)
  const de = saliency ? F(N * E) : null;  // (N, E) ∂L_T/∂e_t

  for (let l = L - 1; l >= 0; l--) {
    const r = rec.layers[l]!;
    const w = net.p.layers[l]!;
    const gh = gradH[l] = new Float64Array(N * K1);
    const gc = gradC[l] = cell === 'lstm' ? new Float64Array(N * K1) : null;
    const below = l > 0 ? F(K1 * N * H) : null; // (K+1, N, H) ∂L_T/∂h^{l−1}, through this layer's input
    const belowExp = l > 0 ? new Int32Array(K1 * N) : null;
    dhRec.fill(0);
    dc.fill(0);
    exp.set(dOutExp.subarray(0, N));
    for (let k = 0; k <= K; k++) {
      // total ∂L_T/∂h_t = through the output + through h_{t+1}, at the lane's scale
      for (let n = 0; n < N; n++) {
        const s = 2 ** (exp[n]! - dOutExp[k * N + n]!), o = (k * N + n) * H;
        let sq = 0;
        for (let j = 0; j < H; j++) {
          const v = dOut[o + j]! * s + dhRec[n * H + j]!;
          dh[n * H + j] = v;
          sq += v * v;
        }
        gh[n * K1 + k] = Math.sqrt(sq) * 2 ** -exp[n]!;
      }
      if (cell === 'lstm') {
        const ig = r.gates['i']!, fg = r.gates['f']!, gg = r.gates['g']!, og = r.gates['o']!, c = r.c!;
        for (let n = 0; n < N; n++) {
          const cur = (positions[n]! - k) * H, prev = cur - H; // prev < 0: the zero initial state
          const x = n * H, a = n * GH;
          let sq = 0;
          for (let j = 0; j < H; j++) {
            const i = ig[cur + j]!, f = fg[cur + j]!, g = gg[cur + j]!, o = og[cur + j]!;
            const tc = Math.tanh(c[cur + j]!);
            const cPrev = prev >= 0 ? c[prev + j]! : 0;
            const d = dc[x + j]! + dh[x + j]! * o * (1 - tc * tc); // backprop through h = o⊙tanh(c), plus the carried path
            dct[x + j] = d;
            sq += d * d;
            da[a + j] = d * g * i * (1 - i);                 // di, through σ
            da[a + H + j] = d * cPrev * f * (1 - f);         // df, through σ
            da[a + 2 * H + j] = d * i * (1 - g * g);         // dg, through tanh
            da[a + 3 * H + j] = dh[x + j]! * tc * o * (1 - o); // do, through σ
            dc[x + j] = d * f;                               // to c_{t−1}: the forget gate's path
          }
          gc![n * K1 + k] = Math.sqrt(sq) * 2 ** -exp[n]!;
        }
        k8.gemmNN(N, H, GH, da, 0, w.whh, 0, dhRec, 0, false);   // dh_{t−1} = da·W_hh  (N, 4H)·(4H, H)
      } else if (cell === 'gru') {
        const rg = r.gates['r']!, zg = r.gates['z']!, ng = r.gates['n']!, h = r.h;
        for (let n = 0; n < N; n++) {
          const prev = (positions[n]! - k - 1) * H;
          for (let j = 0; j < H; j++) hPrev![n * H + j] = prev >= 0 ? h[prev + j]! : 0;
        }
        k8.gemmNT(N, H, H, hPrev!, 0, w.whh, 2 * H * H, hpn!, 0, false); // hp_n = h_{t−1}·W_hnᵀ (+ b_hn below)
        for (let n = 0; n < N; n++) {
          const cur = (positions[n]! - k) * H, x = n * H, a = n * GH;
          for (let j = 0; j < H; j++) {
            const rr = rg[cur + j]!, z = zg[cur + j]!, nn = ng[cur + j]!;
            const dhj = dh[x + j]!;
            const dan = dhj * (1 - z) * (1 - nn * nn);                       // through h = (1−z)n + …, then tanh
            const dar = dan * (hpn![x + j]! + w.bhh[2 * H + j]!) * rr * (1 - rr); // through r⊙hp_n, then σ
            const daz = dhj * (hPrev![x + j]! - nn) * z * (1 - z);           // through z, then σ
            da[a + j] = dar; da[a + H + j] = daz; da[a + 2 * H + j] = dan;
            dhp[a + j] = dar; dhp[a + H + j] = daz; dhp[a + 2 * H + j] = dan * rr;
          }
        }
        k8.gemmNN(N, H, GH, dhp, 0, w.whh, 0, dhRec, 0, false);  // dh_{t−1} = dhp·W_hh …
        for (let n = 0; n < N; n++) {
          const cur = (positions[n]! - k) * H;
          for (let j = 0; j < H; j++) dhRec[n * H + j] += zg[cur + j]! * dh[n * H + j]!; // … + z⊙dh, the path that skips W_hh
        }
      } else if (cell === 'rnn_relu') {
        const h = r.h;
        for (let n = 0; n < N; n++) {
          const cur = (positions[n]! - k) * H;
          for (let j = 0; j < H; j++) {
            da[n * H + j] = h[cur + j]! <= 0 ? 0 : dh[n * H + j]!; // backprop through relu (0 at 0, as cells.ts)
          }
        }
        k8.gemmNN(N, H, GH, da, 0, w.whh, 0, dhRec, 0, false);
      } else {
        const h = r.h;
        for (let n = 0; n < N; n++) {
          const cur = (positions[n]! - k) * H;
          for (let j = 0; j < H; j++) {
            const y = h[cur + j]!;
            da[n * H + j] = dh[n * H + j]! * (1 - y * y);      // backprop through tanh
          }
        }
        k8.gemmNN(N, H, GH, da, 0, w.whh, 0, dhRec, 0, false);
      }
      if (below !== null) {
        k8.gemmNN(N, H, GH, da, 0, w.wih, 0, below, k * N * H, false); // dx = da·W_ih: ∂L_T/∂h_t of the layer below
        belowExp!.set(exp, k * N);
      } else if (de !== null) {
        k8.gemmNN(N, E, GH, da, 0, w.wih, 0, de, 0, false);           // ∂L_T/∂e_t = da·W_ih0
        for (let n = 0; n < N; n++) {
          let sq = 0;
          for (let e = 0; e < E; e++) sq += de[n * E + e]! * de[n * E + e]!;
          saliency![n * K1 + k] = Math.sqrt(sq) * 2 ** -exp[n]!;
        }
      }
      for (let n = 0; sink && n < N; n++) {
        const e = exp[n]!;
        sink(l, k, unscaled(dh, n * H, H, e), cell === 'lstm' ? unscaled(dct, n * H, H, e) : null, de && l === 0 ? unscaled(de, n * E, E, e) : null);
      }
      rescale(N, H, dhRec, dc, exp);
    }
    if (below !== null) {
      dOut = below;
      dOutExp = belowExp!;
    }
  }
  return { loss, gradH, gradC, saliency: wantSaliency ? saliency : null };
}

/** Keeps each lane's carried state (dhRec, dc) within 2^±RESCALE_BITS, by exact powers of two. */
function rescale(N: number, H: number, dhRec: FloatArray, dc: Float64Array, exp: Int32Array): void {
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let j = n * H; j < (n + 1) * H; j++) m = Math.max(m, Math.abs(dhRec[j]!), Math.abs(dc[j]!));
    const shift = m === 0 ? 0 : m < 2 ** -RESCALE_BITS ? RESCALE_BITS : m > 2 ** RESCALE_BITS ? -RESCALE_BITS : 0;
    if (shift === 0) continue;
    const s = 2 ** shift;
    for (let j = n * H; j < (n + 1) * H; j++) {
      dhRec[j] *= s;
      dc[j] *= s;
    }
    exp[n] += shift;
  }
}

/** A lane's vector at its true scale (tests' sink). */
function unscaled(a: FloatArray, off: number, n: number, e: number): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = a[off + j]! * 2 ** -e;
  return out;
}

// ---- the reach over many positions ---------------------------------------------------------------------------

/** The memory horizon: the smallest k where the median ratio falls below this. */
export const REACH_THRESHOLD = 1e-3;

/** A curve over k summarised over positions. */
export interface Band {
  readonly median: Float64Array; // (K+1)
  readonly q10: Float64Array;    // (K+1)
  readonly q90: Float64Array;    // (K+1)
}

export interface ReachSummary {
  readonly cell: string;
  /** The positions T whose predictions were differentiated. */
  readonly positions: readonly number[];
  readonly maxK: number;
  /**
   * Per layer, r(k) = ‖∂L_T/∂h_{T−k}‖ / ‖∂L_T/∂h_T‖ (and the same for c, normalised by its own value at k = 0),
   * summarised over positions.
   */
  readonly layers: readonly { readonly gradH: Band; readonly gradC: Band | null }[];
  /** Per layer: the smallest k where the median of r(k) for h falls below REACH_THRESHOLD; null: not within K. */
  readonly horizon: readonly (number | null)[];
  /** The same for c (LSTM); null for other cells. */
  readonly horizonC: readonly (number | null)[] | null;
}

/**
 * `count` positions spread evenly over the ones that have K steps before them and a character after them
 * (K ≤ T' ≤ T − 2), first and last included.
 */
export function reachPositions(T: number, count: number, K: number): number[] {
  if (!Number.isInteger(count) || count < 1) throw new GatescopeError(`--positions must be a whole number ≥ 1, not ${count}`);
  if (!Number.isInteger(K) || K < 1) throw new GatescopeError(`--max-k must be a whole number ≥ 1, not ${K}`);
  if (T < K + 2) {
    throw new GatescopeError(`the text has ${T} characters: reaching ${K} steps back needs at least ${K + 2} (use a longer text or a smaller --max-k)`);
  }
  const lo = K, hi = T - 2;
  const n = Math.min(count, hi - lo + 1);
  if (n === 1) return [hi];
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(lo + Math.round((i * (hi - lo)) / (n - 1)));
  return out;
}

/**
 * The reach of the predictions at `positions`, K steps back each: one short backward per position over the
 * forward the record keeps.
 */
export function gradientReach(net: Network, rec: ForwardRecord, positions: readonly number[], K: number): ReachSummary {
  const { cell } = net.cfg;
  const T = rec.tokens.length;
  for (const at of positions) {
    if (!Number.isInteger(at) || at < K || at > T - 2) throw new GatescopeError(`position ${at} cannot reach ${K} steps back in a ${T}-character text (${K} ≤ T ≤ ${T - 2})`);
  }
  // ratios[l][k][position], h and c: every position's backward at once, one lane each
  const N = positions.length, K1 = K + 1;
  const g = backwardLanes(net, rec, positions, K, false);
  const ratios = (norms: Float64Array): Float64Array[] => Array.from({ length: K1 }, (_, k) => {
    const out = new Float64Array(N);
    for (let n = 0; n < N; n++) out[n] = ratio(norms[n * K1 + k]!, norms[n * K1]!);
    return out;
  });
  const rh = g.gradH.map(ratios);
  const rc = cell === 'lstm' ? g.gradC.map((c) => ratios(c!)) : null;
  const layers = rh.map((perK, l) => ({ gradH: band(perK), gradC: rc ? band(rc[l]!) : null }));
  return {
    cell, positions: [...positions], maxK: K, layers,
    horizon: layers.map((b) => horizonOf(b.gradH.median)),
    horizonC: rc ? layers.map((b) => horizonOf(b.gradC!.median)) : null,
  };
}

/** The smallest k whose value is below REACH_THRESHOLD; null when none is. */
export function horizonOf(median: ArrayLike<number>): number | null {
  for (let k = 0; k < median.length; k++) if (median[k]! < REACH_THRESHOLD) return k;
  return null;
}

/** a / b, 0 where both are 0 (a prediction that does not depend on this state at all). */
function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

function band(perK: readonly Float64Array[]): Band {
  const K1 = perK.length;
  const median = new Float64Array(K1), q10 = new Float64Array(K1), q90 = new Float64Array(K1);
  for (let k = 0; k < K1; k++) {
    const s = Float64Array.from(perK[k]!).sort();
    median[k] = quantile(s, 0.5);
    q10[k] = quantile(s, 0.1);
    q90[k] = quantile(s, 0.9);
  }
  return { median, q10, q90 };
}

/** The q-quantile of sorted values, interpolating linearly between order statistics (NumPy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const x = q * (n - 1), lo = Math.floor(x), hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (x - lo) * (sorted[hi]! - sorted[lo]!);
}

// ---- why it happens: the factor the gradient is multiplied by at each step ------------------------------------

/**
 * The factor a gradient flowing back from step t to step t − 1 is multiplied by, per timestep, for one layer.
 *   LSTM: the cell path c_t = f_t⊙c_{t−1} + …  ⇒  ∂c_t/∂c_{t−1} = diag(f_t): per unit, the forget gate f_t.
 *   GRU: h_t = (1 − z_t)⊙n_t + z_t⊙h_{t−1}   ⇒  the path that skips W_hh is diag(z_t): per unit, z_t.
 *   RNN (tanh): h_t = tanh(W_ih·x_t + W_hh·h_{t−1} + b)  ⇒  ∂h_t/∂h_{t−1} = diag(1 − h_t²)·W_hh, whose largest
 *        singular value (power iteration) bounds how much any gradient can grow or shrink in one step.
 *   RNN (ReLU): h_t = relu(W_ih·x_t + W_hh·h_{t−1} + b)  ⇒  ∂h_t/∂h_{t−1} = diag(h_t > 0)·W_hh (relu′ is 1 where
 *        the pre-activation is positive, which is where h_t is, and 0 elsewhere, at 0 included): W_hh with the
 *        rows of the silent units zeroed, and its σ_max the same bound. Where tanh′ = 1 − h² ≤ 1 only shrinks
 *        rows, the mask keeps a row whole or drops it: σ_max(W_hh) when every unit is active (nothing squashes the
 *        gradient, so a W_hh with σ_max > 1 explodes it), 0 when none is (the gradient stops there).
 * Below 1 at every step, a product of k of them vanishes exponentially in k; above 1, it explodes.
 */
export interface StepFactors {
  /** What the factor is: 'f' (LSTM forget gate), 'z' (GRU update gate), 'sigma' (RNN Jacobian's ‖·‖₂, tanh or ReLU). */
  readonly kind: 'f' | 'z' | 'sigma';
  readonly at: number;
  readonly maxK: number;
  /** (K+1) the factor of step T − k: gated cells the mean over units, the RNN σ_max. */
  readonly factor: Float64Array;
  /**
   * (K+1) product[k] = the product of the factors of steps T − k + 1..T, what the gradient reaching T − k has
   * been multiplied by along this path (product[0] = 1): gated cells the largest over units of each unit's product
   * (the unit that remembers longest: the gradient reaches far back through such units, however many forget), the
   * RNN the product of σ_max (an upper bound on ‖∂h_T/∂h_{T−k}‖₂).
   */
  readonly product: Float64Array;
}

/**
 * Power iteration per timestep, warm-started from the previous step's vector: until σ changes by less than
 * POWER_TOL relatively, at most POWER_ITERATIONS times (a few where consecutive Jacobians are alike).
 */
const POWER_ITERATIONS = 200;
const POWER_TOL = 1e-10;

export function stepFactors(net: Network, rec: ForwardRecord, layer: number, at: number, maxK: number): StepFactors {
  const T = rec.tokens.length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= net.cfg.layers) throw new GatescopeError(`layer ${layer} does not exist: the model has layers 0 to ${net.cfg.layers - 1}`);
  if (!Number.isInteger(at) || at < 0 || at >= T) throw new GatescopeError(`position ${at} is outside the ${T}-character text`);
  const K = Math.min(maxK, at);
  const { cell, hidden: H } = net.cfg;
  const factor = new Float64Array(K + 1);
  const product = new Float64Array(K + 1);
  if (isPlainRnn(cell)) {
    const W = net.p.layers[layer]!.whh, h = rec.layers[layer]!.h; // W (H, H)
    const v = new Float64Array(H).fill(1 / Math.sqrt(H)), u = new Float64Array(H), s = new Float64Array(H);
    const relu = cell === 'rnn_relu';
    let prod = 1;
    for (let k = 0; k <= K; k++) {
      const cur = (at - k) * H;
      // s = the activation's derivative per unit: relu′ = [h > 0], tanh′ = 1 − h²
      if (relu) for (let j = 0; j < H; j++) s[j] = h[cur + j]! <= 0 ? 0 : 1;
      else for (let j = 0; j < H; j++) s[j] = 1 - h[cur + j]! * h[cur + j]!;
      let sigma = 0;
      // power iteration on JᵀJ with J = diag(s)·W: u = J·v, v = Jᵀu / ‖Jᵀu‖, σ = ‖J·v‖
      for (let it = 0; it < POWER_ITERATIONS; it++) {
        matVec(H, H, W, v, u);
        for (let j = 0; j < H; j++) u[j] *= s[j]!;
        const before = sigma;
        sigma = norm(u, H);
        if (Math.abs(sigma - before) <= POWER_TOL * sigma) break;
        for (let j = 0; j < H; j++) u[j] *= s[j]!;
        matTVec(H, H, W, u, v);
        const nv = norm(v, H);
        if (nv === 0) break;
        for (let j = 0; j < H; j++) v[j] /= nv;
      }
      factor[k] = sigma;
      product[k] = prod;
      prod *= sigma;
    }
    return { kind: 'sigma', at, maxK: K, factor, product };
  }
  const gate = rec.layers[layer]!.gates[cell === 'lstm' ? 'f' : 'z']!;
  const perUnit = new Float64Array(H).fill(1);
  for (let k = 0; k <= K; k++) {
    const cur = (at - k) * H;
    let best = 0;
    for (let j = 0; j < H; j++) best = Math.max(best, perUnit[j]!);
    product[k] = best;
    let sum = 0;
    for (let j = 0; j < H; j++) {
      const f = gate[cur + j]!;
      sum += f;
      perUnit[j] *= f;
    }
    factor[k] = sum / H;
  }
  return { kind: cell === 'lstm' ? 'f' : 'z', at, maxK: K, factor, product };
}

// ---- small dense helpers, float64 accumulation over the model's float32 (or float64) weights -----------------

/** y[off..off+n) += a · W[row..row+n) */
function axpy(n: number, a: number, W: FloatArray, row: number, y: Float64Array, off: number): void {
  for (let j = 0; j < n; j++) y[off + j] += a * W[row + j]!;
}

/** y (n) ← Wᵀ·x for a row-major W (m, n): a sum of W's rows, each read once in order. */
function matTVec(m: number, n: number, W: FloatArray, x: Float64Array, y: Float64Array, yOff = 0): void {
  y.fill(0, yOff, yOff + n);
  for (let r = 0; r < m; r++) {
    const a = x[r]!;
    if (a !== 0) axpy(n, a, W, r * n, y, yOff);
  }
}

/** y (m) ← W·x for a row-major W (m, n). */
function matVec(m: number, n: number, W: FloatArray, x: Float64Array, y: Float64Array): void {
  for (let r = 0; r < m; r++) {
    let s = 0;
    for (let j = 0, o = r * n; j < n; j++) s += W[o + j]! * x[j]!;
    y[r] = s;
  }
}

function norm(x: Float64Array, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += x[j]! * x[j]!;
  return Math.sqrt(s);
}
