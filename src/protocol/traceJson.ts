import { GatescopeError } from '../engine/errors';

/**
 * The trace as JSON, the schema of `gatescope trace --json` and of the inspector's "Export trace as JSON":
 * cell, vocab, text, tokens, loss, probs [T][V], layers with [T][H] arrays per gate and state and [T] gradient
 * norms (layers[l] is layer l, 0-based: layers[0] is the bottom layer, PyTorch's `_l0`, the inspector's "layer 0"),
 * and optionally paramGrads {name: flat array}. Numbers are float32 values written with 9 significant
 * digits, enough to read back the same float32. Pure: the CLI (engine traces) and the host (TraceData) share it.
 */
export interface TraceJsonInput {
  readonly tokens: ArrayLike<number>;  // (T)
  readonly loss: number;
  readonly probs: Float32Array;        // (T, V)
  /** One entry per layer, bottom first: index l is layer l (0-based, as PyTorch's `_l0` names). */
  readonly layers: readonly {
    readonly gates: Readonly<Record<string, Float32Array>>; // each (T, H)
    readonly c: Float32Array | null;   // (T, H)
    readonly h: Float32Array;          // (T, H)
    readonly gradH: Float32Array;      // (T)
    readonly gradC: Float32Array | null; // (T)
  }[];
  readonly paramGrads?: ReadonlyMap<string, Float32Array> | null;
  /** With `--loss-at`: the layers' gradient norms are those of this one prediction's loss. */
  readonly prediction?: PredictionJson;
}

/** The one prediction a trace's gradients were taken of (`gatescope trace --loss-at T`). */
export interface PredictionJson {
  /** T: the position of the prediction (it predicts character T + 1). */
  readonly at: number;
  /** L_T = −log p(x_{T+1} | x_0..x_T). */
  readonly loss: number;
  readonly saliency: Float32Array; // (T) ‖∂L_T/∂e_t‖, zero after T
}

/**
 * Numbers a JSON trace may hold: written with 9 significant digits, a number and its comma take at most 16
 * characters ("-1.23456789e-38,"), so 32 million stay below the ~537 million a JavaScript string can hold (beyond it
 * the export failed with "Invalid string length"). A 10,000-character trace of a 2 × 256 LSTM with a 100-character
 * vocabulary holds 31.8 million; with a vocabulary of 65,536, 488 characters fit.
 */
export const MAX_JSON_NUMBERS = 32_000_000;

/** How many numbers the JSON of a trace holds: the distributions, every layer's gates and states, the norms. */
export function jsonNumbers(trace: TraceJsonInput): number {
  let n = trace.probs.length + trace.tokens.length;
  for (const l of trace.layers) {
    for (const a of Object.values(l.gates)) n += a.length;
    n += (l.c?.length ?? 0) + l.h.length + l.gradH.length + (l.gradC?.length ?? 0);
  }
  for (const g of trace.paramGrads?.values() ?? []) n += g.length;
  return n;
}

/** Refuses, before anything is traced, a JSON trace of T characters holding `perChar` numbers each that no string can hold. */
export function checkJsonSize(T: number, perChar: number, V: number): void {
  const numbers = T * perChar;
  if (numbers > MAX_JSON_NUMBERS) {
    throw new GatescopeError(`the trace as JSON would hold ${(numbers / 1e6).toFixed(1)} million numbers (${T.toLocaleString('en-US')} characters × ` +
      `${Math.round(perChar).toLocaleString('en-US')} each: the next-character distribution over ${V.toLocaleString('en-US')} characters and every gate and state), ` +
      `more than one JSON text can hold (${MAX_JSON_NUMBERS / 1e6} million); trace at most ${Math.floor(MAX_JSON_NUMBERS / perChar).toLocaleString('en-US')} characters`, 'invalid-input');
  }
}

/** The numbers per character of a trace's JSON: the distribution, each layer's gates (none for a plain RNN), c, h and norms, the token. */
export function jsonNumbersPerChar(V: number, layers: number, H: number, gates: number, hasC: boolean): number {
  return V + 1 + layers * ((gates + (hasC ? 1 : 0) + 1) * H + (hasC ? 2 : 1));
}

export function traceToJson(trace: TraceJsonInput, vocab: readonly string[], cell: string, H: number): string {
  const T = trace.tokens.length;
  checkJsonSize(T, jsonNumbers(trace) / Math.max(1, T), vocab.length);
  const f = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(9)) : x);
  const rows = (a: Float32Array, n: number): number[][] => {
    const out: number[][] = [];
    for (let t = 0; t < a.length / n; t++) out.push(Array.from(a.subarray(t * n, t * n + n), f));
    return out;
  };
  const V = vocab.length;
  let text = '';
  for (let t = 0; t < trace.tokens.length; t++) text += vocab[trace.tokens[t]!]!;
  return JSON.stringify({
    cell,
    vocab,
    text,
    tokens: Array.from(trace.tokens),
    loss: trace.loss,
    probs: rows(trace.probs, V),
    layers: trace.layers.map((l) => {
      const o: Record<string, unknown> = {};
      for (const [name, a] of Object.entries(l.gates)) o[name] = rows(a, H);
      if (l.c) o['c'] = rows(l.c, H);
      o['h'] = rows(l.h, H);
      o['gradH'] = Array.from(l.gradH, f);
      if (l.gradC) o['gradC'] = Array.from(l.gradC, f);
      return o;
    }),
    ...(trace.prediction ? { lossAt: trace.prediction.at, lossAtValue: trace.prediction.loss, saliency: Array.from(trace.prediction.saliency, f) } : {}),
    ...(trace.paramGrads ? { paramGrads: Object.fromEntries([...trace.paramGrads].map(([k, v]) => [k, Array.from(v, f)])) } : {}),
  });
}

/**
 * About how many bytes traceToJson's text takes in UTF-8, without writing it (to ask before writing a large file):
 * the text, vocabulary, tokens and keys exactly, the numbers' formatted lengths measured on up to `sample` evenly
 * spaced values of each array — exact when every array is that short, within a few per cent otherwise.
 */
export function traceJsonBytesEstimate(trace: TraceJsonInput, vocab: readonly string[], cell: string, sample = 4096): number {
  const V = vocab.length;
  const T = trace.tokens.length;
  let text = '';
  for (let t = 0; t < T; t++) text += vocab[trace.tokens[t]!]!;
  // the arrays left empty: what remains is every key, the vocabulary and the text, exactly
  const skeleton = JSON.stringify({
    cell, vocab, text, tokens: [], loss: trace.loss, probs: [],
    layers: trace.layers.map((l) => ({ ...Object.fromEntries(Object.keys(l.gates).map((k) => [k, []])), ...(l.c ? { c: [] } : {}), h: [], gradH: [], ...(l.gradC ? { gradC: [] } : {}) })),
    ...(trace.prediction ? { lossAt: trace.prediction.at, lossAtValue: trace.prediction.loss, saliency: [] } : {}),
    ...(trace.paramGrads ? { paramGrads: Object.fromEntries([...trace.paramGrads.keys()].map((k) => [k, []])) } : {}),
  });
  let bytes = utf8Length(skeleton);
  let tokens = Math.max(0, T - 1);
  for (let t = 0; t < T; t++) tokens += String(trace.tokens[t]).length;
  bytes += tokens;
  // an array's numbers, their commas and (for T rows of n) the rows' brackets and commas, less the "[]" counted above
  const numbers = (a: Float32Array): number => {
    if (a.length === 0) return 0;
    const stride = Math.max(1, Math.floor(a.length / sample));
    let len = 0, n = 0;
    for (let i = 0; i < a.length; i += stride, n++) len += numberLength(a[i]!);
    return (len / n) * a.length + (a.length - 1);
  };
  const rows = (a: Float32Array, n: number): number => (a.length === 0 ? 0 : numbers(a) + (a.length / n) * 2);
  bytes += rows(trace.probs, V);
  for (const l of trace.layers) {
    const H = l.h.length / Math.max(1, T);
    for (const a of Object.values(l.gates)) bytes += rows(a, H);
    if (l.c) bytes += rows(l.c, H);
    bytes += rows(l.h, H) + numbers(l.gradH) + (l.gradC ? numbers(l.gradC) : 0);
  }
  if (trace.prediction) bytes += numbers(trace.prediction.saliency);
  for (const g of trace.paramGrads?.values() ?? []) bytes += numbers(g);
  return Math.round(bytes);
}

/** Characters of a number as traceToJson writes it (9 significant digits; null when not finite). */
function numberLength(x: number): number {
  return Number.isFinite(x) ? String(Number(x.toPrecision(9))).length : 4;
}

/** Bytes of a string in UTF-8. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}
