import { GatescopeError } from '../engine/errors';

/**
 * The trace as JSON, the schema of `gatescope trace --json` and of the inspector's "Export trace as JSON":
 * cell, vocab, text, tokens, loss, probs [T][V], layers with [T][H] arrays per gate and state and [T] gradient
 * norms, and optionally paramGrads {name: flat array}. Numbers are float32 values written with 9 significant
 * digits, enough to read back the same float32. Pure: the CLI (engine traces) and the host (TraceData) share it.
 */
export interface TraceJsonInput {
  readonly tokens: ArrayLike<number>;  // (T)
  readonly loss: number;
  readonly probs: Float32Array;        // (T, V)
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
