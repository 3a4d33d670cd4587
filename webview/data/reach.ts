import type { ReachData, ReachView } from '../../src/protocol/reach';
import type { StepRange } from '../../src/protocol/webview';

/**
 * The gradient reach card's data, shaped for drawing: curves of r(k) against k (each normalised by its value at
 * k = 0), the headline that states the contrast, the saliency levels of the text strip. Pure.
 * Dimension legend: K steps back, T characters.
 */

/** Steps back the reach is asked for and drawn. */
export const REACH_K = 100;

export type Point = { readonly x: number; readonly y: number };

export interface ReachCurve {
  readonly label: string;
  /** Which model: the inspected one, or the comparison. */
  readonly model: 'model' | 'compare';
  /** 'prediction': the clicked character's; 'median' over the text, with its 10–90% band in `band`. */
  readonly kind: 'prediction' | 'median';
  readonly quantity: 'h' | 'c';
  readonly layer: number;
  readonly points: readonly Point[];
  readonly band: { readonly lo: readonly Point[]; readonly hi: readonly Point[] } | null;
}

/** The human name of a cell type. */
export function cellName(cell: string): string {
  return cell === 'lstm' ? 'LSTM' : cell === 'gru' ? 'GRU' : cell === 'rnn_tanh' ? 'RNN' : cell === 'rnn_relu' ? 'RNN (ReLU)' : cell;
}

/** 3.0e-3: two significant digits, as the README's tables. */
export function sci(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return x.toExponential(1);
}

/**
 * Positive points of y[k] / y[0] for k = 0..K (a log axis cannot show zeros: a value of exactly 0 ends the
 * curve; the prediction's own curve at k = 0 is 1 by construction).
 */
export function ratioPoints(y: Float64Array, K: number): Point[] {
  const y0 = y[0]!;
  const out: Point[] = [];
  if (!(y0 > 0)) return out;
  for (let k = 0; k <= Math.min(K, y.length - 1); k++) {
    const r = y[k]! / y0;
    if (!(r > 0)) break;
    out.push({ x: k, y: r });
  }
  return out;
}

function positive(a: Float64Array, K: number): Point[] {
  const out: Point[] = [];
  for (let k = 0; k <= Math.min(K, a.length - 1); k++) if (a[k]! > 0) out.push({ x: k, y: a[k]! });
  return out;
}

/** Every curve of a reach view: per model, per layer (all, or one: a model's top one if it has fewer), h (and the LSTM's c); prediction and median. */
export function reachCurves(view: ReachView, K: number, layer: number | null = null): ReachCurve[] {
  const out: ReachCurve[] = [];
  const add = (which: 'model' | 'compare', d: ReachData | null): void => {
    if (!d) return;
    const name = cellName(d.cell);
    // a model with fewer layers (a 1-layer comparison of a 2-layer model) shows its top one
    const n = d.summary?.layers.length ?? d.prediction?.layers.length ?? 0;
    const layers = (l: number): boolean => layer === null || l === Math.min(layer, n - 1);
    d.summary?.layers.forEach((b, l) => {
      if (!layers(l)) return;
      for (const [q, band] of [['h', b.gradH], ['c', b.gradC]] as const) {
        if (!band) continue;
        out.push({ label: `${name} median ‖∂L/∂${q}‖, layer ${l}`, model: which, kind: 'median', quantity: q, layer: l,
          points: positive(band.median, K), band: { lo: positive(band.q10, K), hi: positive(band.q90, K) } });
      }
    });
    d.prediction?.layers.forEach((g, l) => {
      if (!layers(l)) return;
      for (const [q, y] of [['h', g.gradH], ['c', g.gradC]] as const) {
        if (!y) continue;
        out.push({ label: `${name} at t = ${d.prediction!.at} ‖∂L/∂${q}‖, layer ${l}`, model: which, kind: 'prediction', quantity: q, layer: l,
          points: ratioPoints(y, K), band: null });
      }
    });
  };
  add('model', view.model);
  add('compare', view.compare);
  return out;
}

/** The horizon as text: "58 characters" or "> 100 characters". */
export function horizonText(h: number | null, K: number): string {
  return h === null ? `> ${K} characters` : `${h} character${h === 1 ? '' : 's'}`;
}

/**
 * One sentence with the numbers: how much of the gradient is left k characters back (k = 50, or K when shorter),
 * from the medians over the text, for the model and the comparison, e.g. "50 characters back the LSTM keeps
 * 3.0e-3 of the gradient, the RNN 1.8e-7".
 */
export function reachHeadline(view: ReachView, layer = 0): string {
  const m = view.model.summary;
  if (!m) return view.model.summaryNote ?? '';
  const c = view.compare?.summary ?? null;
  const K = Math.min(m.maxK, c?.maxK ?? m.maxK);
  const k = Math.min(50, K);
  const l = Math.min(layer, m.layers.length - 1);
  const mine = m.layers[l]!.gradH.median[k]!;
  const name = cellName(view.model.cell);
  const cell = m.layers[l]!.gradC ? `, its cell state ${sci(m.layers[l]!.gradC!.median[k]!)}` : '';
  if (!c) {
    return `${k} characters back the ${name} keeps ${sci(mine)} of the gradient${cell} (median over ${m.positions} predictions); ` +
      `its memory horizon is ${horizonText(m.horizon[l]!, m.maxK)}.`;
  }
  const cl = Math.min(layer, c.layers.length - 1);
  const other = c.layers[cl]!.gradH.median[k]!;
  const ratio = other > 0 ? mine / other : Infinity;
  const factor = ratio >= 1 ? `${sci(ratio)}× more` : `${sci(1 / ratio)}× less`;
  return `${k} characters back the ${name} keeps ${sci(mine)} of the gradient${cell}, the ${cellName(view.compare!.cell)} ${sci(other)} ` +
    `(${factor}; medians over ${m.positions} predictions). Horizons: ${horizonText(m.horizon[l]!, m.maxK)} against ${horizonText(c.horizon[cl]!, c.maxK)}.`;
}

/**
 * Saliency levels for the text strip: for t = T − k (k = 0..K), log10 ‖∂L_T/∂e_t‖ mapped to [0, 1] over the
 * `decades` below the largest; −1 where there is none (after T, before T − K, or below the range).
 */
export function saliencyLevels(saliency: Float64Array, at: number, T: number, decades = 4): Float32Array {
  const out = new Float32Array(T).fill(-1);
  let max = 0;
  for (const s of saliency) if (s > max) max = s;
  if (!(max > 0)) return out;
  const top = Math.log10(max);
  for (let k = 0; k < saliency.length && at - k >= 0; k++) {
    const s = saliency[k]!;
    if (!(s > 0)) continue;
    const level = 1 + (Math.log10(s) - top) / decades;
    if (level >= 0 && at - k < T) out[at - k] = level;
  }
  return out;
}

/** The first timestep the saliency of the prediction at `at` is wanted from: the start of the strip's window (none: 0). */
export function saliencyFrom(window: StepRange | null, at: number): number {
  return Math.max(0, Math.min(at, window?.start ?? 0));
}

/** Whether a reach's saliency already reaches back to timestep `from` (or there is no prediction to reach from). */
export function saliencyCovers(view: ReachView, from: number): boolean {
  const p = view.model.prediction;
  return p === null || p.at - p.maxK <= from;
}

/** The per-step factor's points: factor[k] is how step T − k scales the gradient passing through it to T − k − 1. */
export function factorPoints(factor: Float64Array, K: number): Point[] {
  const out: Point[] = [];
  for (let k = 0; k <= Math.min(K, factor.length - 1); k++) out.push({ x: k, y: factor[k]! });
  return out;
}

/**
 * What each step back actually did to this prediction's gradient: ‖∂L_T/∂h_{T−k−1}‖ / ‖∂L_T/∂h_{T−k}‖ for
 * k = 0..K−1 (the point at x = k + 1). A bound such as the RNN's σ_max can sit above 1 while the gradient still
 * shrinks at nearly every step: this is the factor the learner can check against the line at 1.
 */
export function actualFactorPoints(gradH: Float64Array, K: number): Point[] {
  const out: Point[] = [];
  for (let k = 0; k < Math.min(K, gradH.length - 1); k++) {
    const a = gradH[k]!, b = gradH[k + 1]!;
    if (a > 0 && b > 0) out.push({ x: k + 1, y: b / a });
  }
  return out;
}

/**
 * A log axis of whole decades holding every positive value of `series`, at least [least.min, least.max], at most
 * [most.min, most.max] (beyond, points are clipped).
 */
export function logRange(series: readonly (readonly Point[])[], least: { min: number; max: number }, most: { min: number; max: number }): { readonly min: number; readonly max: number } {
  let lo = least.min, hi = least.max;
  for (const pts of series) for (const p of pts) if (p.y > 0 && Number.isFinite(p.y)) { lo = Math.min(lo, p.y); hi = Math.max(hi, p.y); }
  const decade = (e: number): number => Number(`1e${e}`); // the double nearest 10^e (10 ** −4 is not)
  const e = (x: number): number => Math.round(Math.log10(x));
  return {
    min: decade(Math.max(e(most.min), Math.floor(Math.log10(lo) + 1e-9))),
    max: decade(Math.min(e(most.max), Math.ceil(Math.log10(hi) - 1e-9))),
  };
}

/** The per-step factor chart's axis: at least 0.1..10 (1 in the middle: vanishing below, exploding above), at most 1e-4..1e4. */
export function factorRange(series: readonly (readonly Point[])[]): { readonly min: number; readonly max: number } {
  return logRange(series, { min: 0.1, max: 10 }, { min: 1e-4, max: 1e4 });
}

/** The reach chart's axis: at least 1e-6..10 (the horizon's 1e-3 in view), at most 1e-30..1e4. */
export function reachRange(series: readonly (readonly Point[])[]): { readonly min: number; readonly max: number } {
  return logRange(series, { min: 1e-6, max: 10 }, { min: 1e-30, max: 1e4 });
}

/** A log axis tick as a plain number (0.01, 0.5, 1, 2, 10) at 1, 2 and 5 times a power of ten, else none. */
export function plainLogTick(v: number): string {
  if (!(v > 0)) return '';
  const e = Math.floor(Math.log10(v) + 1e-9);
  const m = Math.round(v / 10 ** e);
  if (![1, 2, 5].includes(m) || Math.abs(v / 10 ** e - m) > 1e-6) return '';
  return e >= 0 ? String(m * 10 ** e) : (m * 10 ** e).toFixed(-e);
}

/**
 * The per-step factor in words, for the chart's aria-label: its median over the K steps before T, at how many of
 * them it is below 1, and the product K steps back, e.g. "forget gate f (mean over units) over the 100 steps
 * before t = 963: median 0.71, below 1 at 101 of 101 steps; ∏ f of the unit that remembers longest 100 steps back: 3.2e-1".
 */
export function factorSentence(label: string, productLabel: string, at: number, factor: Float64Array, product: Float64Array, K: number): string {
  const n = Math.min(K, factor.length - 1) + 1;
  const sorted = Float64Array.from(factor.subarray(0, n)).sort();
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  let below = 0;
  for (let k = 0; k < n; k++) if (factor[k]! < 1) below++;
  return `${label} over the ${n - 1} steps before t = ${at}: median ${median.toFixed(2)}, below 1 at ${below} of ${n} steps; ` +
    `${productLabel} ${n - 1} steps back: ${sci(product[n - 1]!)}`;
}

/**
 * The characters the prediction at `at` depends on most, largest ‖∂L_T/∂e_t‖ first (saliency[k] is that of t = at − k),
 * in words for the text strip's aria-label: "t = 962 'e' 4.1e-1, t = 950 'w' 3.0e-2".
 */
export function mostSalient(saliency: Float64Array, at: number, charAt: (t: number) => string, n = 3): string {
  const ks = Array.from(saliency.keys()).filter((k) => saliency[k]! > 0 && at - k >= 0);
  ks.sort((a, b) => saliency[b]! - saliency[a]! || a - b);
  return ks.slice(0, n).map((k) => `t = ${at - k} ${JSON.stringify(charAt(at - k))} ${sci(saliency[k]!)}`).join(', ');
}
