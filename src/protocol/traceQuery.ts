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

/** The k most likely next characters after timestep t, most likely first. */
export function topPredictions(trace: TraceData, t: number, k = 5): Prediction[] {
  const V = trace.vocab.length;
  const best: Prediction[] = [];
  const row = t * V;
  for (let v = 0; v < V; v++) {
    const p = trace.probs[row + v]!;
    if (best.length === k && p <= best[k - 1]!.p) continue;
    let at = best.length < k ? best.length : k - 1;
    while (at > 0 && best[at - 1]!.p < p) at--;
    best.splice(at, 0, { char: trace.vocab[v]!, p });
    if (best.length > k) best.pop();
  }
  return best;
}

/** The probability the model gave to character t when it read character t − 1 (null for t = 0). */
export function probabilityOfActual(trace: TraceData, t: number): number | null {
  if (t <= 0 || t >= trace.tokens.length) return null;
  return trace.probs[(t - 1) * trace.vocab.length + trace.tokens[t]!]!;
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
