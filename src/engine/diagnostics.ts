import { GatescopeError } from './errors';
import { parseUntrustedJson } from './json';
import type { ParamLayout } from './layout';
import type { Network } from './network';
import type { Unroll } from './unroll';
import { MAX_HISTORY_ROWS, type FloatArray, type TensorHistoryRow, type StepDiagnostics, type TensorStats, type TensorHistory } from './types';

/**
 * Per-tensor training diagnostics, taken on a stats step of the trainer (every statsEvery steps):
 *   grad    ‖g_k‖₂ of tensor k before clipping, so √Σ_k grad_k² is the global norm clipGradients reports
 *   weight  ‖θ_k‖₂ after the update
 *   update  ‖θ_k − θ_k,before‖₂ / ‖θ_k,before‖₂, the step's relative change (CS231n's "ratio of weights:updates";
 *           around 1e-3 is healthy); NaN when the tensor was all zeros before the step
 * and, for LSTM and GRU layers, the share of saturated gate activations over the step's batch: σ < 0.05 or > 0.95,
 * tanh |g| > 0.95. Sums run in float64. Only a stats step copies θ (P floats); other steps cost nothing.
 *
 * Dimension legend: T time, B lanes, H hidden, G gates per cell, L layers, P parameters, K tensors.
 */

/** A sigmoid gate is saturated below LOW or above 1 − LOW; a tanh one when |g| > TANH. */
export const SATURATION_LOW = 0.05;
export const SATURATION_TANH = 0.95;

/** ‖·‖₂ of every tensor of `layout` in the flat buffer `flat`, float64 sums, in the layout's order. */
export function tensorNorms(layout: ParamLayout, flat: FloatArray): Float64Array {
  const out = new Float64Array(layout.tensors.length); // (K)
  layout.tensors.forEach((t, k) => {
    let s = 0;
    for (let i = t.offset, end = t.offset + t.size; i < end; i++) s += flat[i]! * flat[i]!;
    out[k] = Math.sqrt(s);
  });
  return out;
}

/** √Σ_k norms_k²: the global norm from the per-tensor ones. */
export function combinedNorm(norms: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < norms.length; k++) s += norms[k]! * norms[k]!;
  return Math.sqrt(s);
}

/**
 * One stats step, in the order the trainer's step runs: begin() after backward and before clipping (gradient norms,
 * and a copy of θ), finish() after the update (weight norms, update ratios, saturation).
 */
export class DiagnosticsProbe {
  private before: Float64Array | null = null; // (P) θ before the update, allocated on the first stats step
  private gradNorms: Float64Array | null = null; // (K)

  constructor(private readonly net: Network) {}

  /** Records the gradient norms (net.grads, unclipped) and copies θ. */
  begin(): void {
    const { layout, grads, params } = this.net;
    this.gradNorms = tensorNorms(layout, grads);
    this.before ??= new Float64Array(params.length);
    for (let i = 0; i < params.length; i++) this.before[i] = params[i]!;
  }

  /** After the update: the step's diagnostics, with the saturation gateSaturation measured after the forward. */
  finish(step: number, saturation: readonly number[] | null): StepDiagnostics {
    const { layout, params } = this.net;
    const before = this.before!;
    const grads = this.gradNorms!;
    const tensors: Record<string, TensorStats> = {};
    layout.tensors.forEach((t, k) => {
      let w = 0, d = 0, b = 0;
      for (let i = t.offset, end = t.offset + t.size; i < end; i++) {
        const x = params[i]!, x0 = before[i]!;
        w += x * x;
        d += (x - x0) * (x - x0);
        b += x0 * x0;
      }
      tensors[t.name] = { grad: grads[k]!, weight: Math.sqrt(w), update: b > 0 ? Math.sqrt(d / b) : NaN };
    });
    this.gradNorms = null;
    return { step, tensors, saturation };
  }
}

/**
 * Per layer, the share of the last forward's gate activations that are saturated; null for the plain RNNs (no gates).
 * Only the thread's own Unroll has them: a step split over workers (engine/parallel) measures none.
 * Reads LayerCache.act: (T, B, G·H) time-major, or (G, capacity, H) gate-major when the layer ran fused (batch 1).
 * Gates by cell: LSTM i, f, o σ and g tanh; GRU r, z σ and n tanh.
 */
export function gateSaturation(u: Unroll): number[] | null {
  const { cell, hidden: H } = u.net.cfg;
  if (cell !== 'lstm' && cell !== 'gru') return null;
  const G = u.net.gates;
  const tanhGate = 2; // the third gate is the tanh one in both: LSTM g of i, f, g, o; GRU n of r, z, n
  const { T, B } = u;
  return u.layers.map((c) => {
    const act = c.act!;
    let saturated = 0;
    // in memory order: (t, b) rows of G blocks of H, time-major; gate blocks of T rows when fused (B = 1)
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        for (let g = 0; g < G; g++) {
          const off = c.actByGate ? (g * u.capacity + t) * H : ((t * B + b) * G + g) * H; // gate g's H values at (t, b)
          // the comparisons counted without branches: saturation is a coin flip per value, which no predictor guesses
          const lo = g === tanhGate ? -SATURATION_TANH : SATURATION_LOW;
          const hi = g === tanhGate ? SATURATION_TANH : 1 - SATURATION_LOW;
          for (let j = off; j < off + H; j++) saturated += +(act[j]! < lo) + +(act[j]! > hi);
        }
      }
    }
    return saturated / (T * B * G * H);
  });
}

/**
 * The bounded history the trainer keeps of its stats steps (TensorHistory). A row is kept when it is at least
 * `gap` steps after the last kept one; when MAX_HISTORY_ROWS are kept, every other row goes and the gap doubles.
 */
export class HistoryRecorder {
  private rows: TensorHistoryRow[];
  private gap: number;

  constructor(readonly tensors: readonly string[], from?: TensorHistory | null) {
    const same = from && from.tensors.length === tensors.length && from.tensors.every((n, k) => n === tensors[k]);
    this.rows = same ? [...from.rows] : [];
    this.gap = same ? from.gap : 0;
  }

  push(row: TensorHistoryRow): void {
    const last = this.rows[this.rows.length - 1];
    if (last && (row.step <= last.step || row.step - last.step < this.gap)) return;
    this.rows.push(row);
    if (this.rows.length >= MAX_HISTORY_ROWS) {
      // keep rows 0, 2, 4, …: still the whole run, at half the density; new rows come at twice the spacing
      this.rows = this.rows.filter((_, i) => i % 2 === 0);
      const n = this.rows.length;
      this.gap = Math.max(this.gap * 2, n >= 2 ? this.rows[n - 1]!.step - this.rows[n - 2]!.step : 1);
    }
  }

  /** A copy for the model file. */
  snapshot(): TensorHistory {
    return { tensors: this.tensors, gap: this.gap, rows: [...this.rows] };
  }
}

/** The row a stats step adds to the history. */
export function historyRow(d: StepDiagnostics, tensors: readonly string[], loss: number, gradNorm: number, clipRatio: number): TensorHistoryRow {
  return {
    step: d.step, loss, gradNorm, clipRatio,
    grad: tensors.map((n) => d.tensors[n]!.grad),
    update: tensors.map((n) => (Number.isFinite(d.tensors[n]!.update) ? d.tensors[n]!.update : null)),
  };
}

/** Four significant digits: plenty for a chart, and a third of the bytes of a float64 written out. */
const round = (x: number): number => Number(x.toPrecision(4));

/** `gatescope.history`: {tensors, gap, rows: [[step, loss, gradNorm, clipRatio, [grad…], [update…]], …]}. */
export function encodeHistory(h: TensorHistory): string {
  return JSON.stringify({
    tensors: h.tensors, gap: h.gap,
    rows: h.rows.map((r) => [r.step, round(r.loss), round(r.gradNorm), round(r.clipRatio), r.grad.map(round), r.update.map((u) => (u === null ? null : round(u)))]),
  });
}

/**
 * Reads `gatescope.history` from an untrusted file: JSON within tight limits, then every field's type; the tensors
 * must be the model's own (`names`). Problems go to `bad` with the reason.
 */
export function decodeHistory(json: string, names: readonly string[], bad: (m: string) => never): TensorHistory {
  const K = names.length;
  const what = 'metadata "gatescope.history"';
  let v: unknown;
  try {
    v = parseUntrustedJson(json, { maxDepth: 4, maxArrayLength: Math.max(MAX_HISTORY_ROWS, K), maxKeys: 3, maxStringLength: 1024 },
      (reason) => bad(`${what} ${reason}`));
  } catch (e) {
    if (e instanceof GatescopeError) throw e;
    bad(`${what} is not valid JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(`${what} is not a JSON object`);
  const o = v as Record<string, unknown>;
  const tensors = o['tensors'];
  if (!Array.isArray(tensors) || tensors.length !== K || tensors.some((n, k) => n !== names[k])) {
    bad(`${what} field "tensors" must list the model's ${K} tensors in order`);
  }
  const gap = o['gap'];
  if (!Number.isSafeInteger(gap) || (gap as number) < 0) bad(`${what} field "gap" must be a non-negative integer`);
  const rows = o['rows'];
  if (!Array.isArray(rows) || rows.length > MAX_HISTORY_ROWS) bad(`${what} field "rows" must be an array of at most ${MAX_HISTORY_ROWS} rows`);
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const nonNegative = (x: unknown): x is number => finite(x) && x >= 0;
  let last = -1;
  const out = (rows as unknown[]).map((r, i): TensorHistoryRow => {
    const row = (m: string): never => bad(`${what} row ${i} ${m}`);
    if (!Array.isArray(r) || r.length !== 6) row('must be [step, loss, gradNorm, clipRatio, [grad…], [update…]]');
    const [step, loss, gradNorm, clipRatio, grad, update] = r as unknown[];
    if (!Number.isSafeInteger(step) || (step as number) <= last) row('has a step that is not an integer after the previous row\'s');
    last = step as number;
    if (!finite(loss) || !nonNegative(gradNorm) || !nonNegative(clipRatio) || clipRatio > 1) row('has a loss, gradNorm or clipRatio that is not a finite number in range');
    if (!Array.isArray(grad) || grad.length !== K || !grad.every(nonNegative)) row(`needs ${K} non-negative gradient norms`);
    if (!Array.isArray(update) || update.length !== K || !update.every((u) => u === null || nonNegative(u))) row(`needs ${K} update ratios (non-negative or null)`);
    return { step: step as number, loss: loss as number, gradNorm: gradNorm as number, clipRatio: clipRatio as number, grad: grad as number[], update: update as (number | null)[] };
  });
  return { tensors: names, gap: gap as number, rows: out };
}
