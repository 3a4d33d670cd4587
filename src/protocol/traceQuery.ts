import type { TraceData } from './trace';
import { quantitiesOf, quantityValues, type Quantity } from './webview';

/**
 * Small read-outs of a trace shared by the webview (tooltips, readout) and the host (editor hover): what the
 * model predicted at a timestep and the values of one unit. Pure; T, V, H as in TraceData.
 */

export interface Prediction {
  readonly char: string;
  readonly p: number;
}

/**
 * The k most likely next characters after timestep t, most likely first: the trace keeps the top
 * predictions.k of each distribution (engine/predictions.ts), so k is at most that.
 */
export function topPredictions(trace: TraceData, t: number, k = 5): Prediction[] {
  const p = trace.predictions;
  const n = Math.min(k, p.k);
  const out: Prediction[] = [];
  for (let i = 0; i < n; i++) out.push({ char: trace.vocab[p.topIds[t * p.k + i]!]!, p: p.topProbs[t * p.k + i]! });
  return out;
}

/** The probability the model gave to character t when it read character t − 1 (null for t = 0). */
export function probabilityOfActual(trace: TraceData, t: number): number | null {
  if (t <= 0 || t >= trace.tokens.length) return null;
  const p = trace.predictions.pNext[t - 1]!;
  return Number.isNaN(p) ? null : p;
}

/** Every quantity of one unit at timestep t, in display order (i, f, g, o, c, h for an LSTM). */
export function unitReadout(trace: TraceData, layer: number, unit: number, t: number): { readonly q: Quantity; readonly value: number }[] {
  const L = trace.layers[layer];
  if (!L) return [];
  const H = trace.hidden;
  const out: { q: Quantity; value: number }[] = [];
  for (const q of quantitiesOf(trace.cell)) {
    const a = quantityValues(L, q);
    if (a) out.push({ q, value: a[t * H + unit]! });
  }
  return out;
}

/** A character as a label: whitespace and control characters get visible symbols. */
export function displayChar(ch: string): string {
  if (ch === '\n') return '↵';
  if (ch === '\r') return '␍';
  if (ch === '\t') return '⇥';
  if (ch === ' ') return '␣';
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20) return String.fromCodePoint(0x2400 + cp);
  if (cp === 0x7f) return '␡';
  return ch;
}

/** The traced text (tokens decoded through the vocabulary). */
export function traceText(trace: TraceData): string {
  let s = '';
  for (let t = 0; t < trace.tokens.length; t++) s += trace.vocab[trace.tokens[t]!]!;
  return s;
}

/**
 * The q-quantile of |v| over an array, from at most `maxSamples` evenly strided samples: the colour scale of the
 * unbounded cell state (a few outliers should not wash out the heatmap). At least `floor`.
 */
export function robustMaxAbs(values: Float32Array, q = 0.99, maxSamples = 65536, floor = 1e-6): number {
  const n = values.length;
  if (n === 0) return 1;
  const stride = Math.max(1, Math.floor(n / maxSamples));
  const sample = new Float32Array(Math.ceil(n / stride));
  let k = 0;
  for (let i = 0; i < n; i += stride) {
    const v = Math.abs(values[i]!);
    sample[k++] = Number.isFinite(v) ? v : 0;
  }
  const s = sample.subarray(0, k).sort();
  return Math.max(floor, s[Math.min(k - 1, Math.floor(q * (k - 1)))]!);
}
