import { GatescopeError } from '../engine/errors';
import type { TracePredictions } from '../engine/types';
import { formatNumber, jsonRows, traceJsonParts, type TraceFileFacts, type TraceFileShape } from './traceFile';

/**
 * A whole in-memory trace as JSON, in the schema of `gatescope trace --out FILE.json` and of the inspector's
 * "Export trace as JSON" (traceFile.ts traceJsonParts: format, version, cell, vocab, text, tokens, loss, the
 * predictions — top {k, ids [T][k], probs [T][k]}, pNext [T], entropy [T] — probs [T][V] when the trace kept them,
 * layers with [T][H] arrays per gate and state and [T] gradient norms (layers[l] is layer l, 0-based: layers[0] is
 * the bottom layer, PyTorch's `_l0`, the inspector's "layer 0"), optionally lossAt/lossAtValue/saliency and
 * paramGrads {name: flat array}). Numbers are float32 values written with 6 significant digits.
 * Pure: the engine worker (engine Traces) and the host (TraceData) share it; the CLI streams the same parts to a
 * file instead of building the string (src/cli/traceOut.ts), so it has no size limit but the disk's.
 */
export interface TraceJsonInput {
  readonly tokens: ArrayLike<number>;  // (T)
  readonly loss: number;
  readonly predictions: TracePredictions;
  /** (T, V) the whole distribution at every position, when the trace kept it. */
  readonly probs: Float32Array | null;
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
 * Numbers a JSON trace built as one string may hold: written with 6 significant digits, a number with its comma
 * and, in a row of one, its brackets takes at most 15 characters ("[-1.23457e-38],"), so 32 million stay below the
 * ~537 million a JavaScript string can hold (beyond it the export failed with "Invalid string length"). A
 * 10,000-character trace of a 2 × 256 LSTM holds 30.8 million. The CLI streams its JSON and has no such limit.
 */
export const MAX_JSON_NUMBERS = 32_000_000;

/** How many numbers the JSON of a trace holds: the predictions, every layer's gates, states and norms, and the rest. */
export function jsonNumbers(trace: TraceJsonInput): number {
  const T = trace.tokens.length;
  let n = T + 2 * trace.predictions.k * T + 2 * T + (trace.probs?.length ?? 0);
  for (const l of trace.layers) {
    for (const a of Object.values(l.gates)) n += a.length;
    n += (l.c?.length ?? 0) + l.h.length + l.gradH.length + (l.gradC?.length ?? 0);
  }
  n += trace.prediction?.saliency.length ?? 0;
  for (const g of trace.paramGrads?.values() ?? []) n += g.length;
  return n;
}

/** Refuses, before anything is traced, a JSON trace of T characters holding `perChar` numbers each that no string can hold. */
export function checkJsonSize(T: number, perChar: number, V: number): void {
  const numbers = T * perChar;
  if (numbers > MAX_JSON_NUMBERS) {
    throw new GatescopeError(`the trace as JSON would hold ${(numbers / 1e6).toFixed(1)} million numbers (${T.toLocaleString('en-US')} characters × ` +
      `${Math.round(perChar).toLocaleString('en-US')} each: the predictions over a vocabulary of ${V.toLocaleString('en-US')} characters and every gate and state), ` +
      `more than one JSON text can hold (${MAX_JSON_NUMBERS / 1e6} million); trace at most ${Math.floor(MAX_JSON_NUMBERS / perChar).toLocaleString('en-US')} characters`, 'invalid-input');
  }
}

/**
 * The numbers per character of a trace's JSON: the token, the predictions (the top k ids and probabilities, pNext,
 * the entropy; the whole distribution of V with `fullProbs`), each layer's gates (none for a plain RNN), c, h and
 * norms. k is the trace's (engine/predictions.ts DEFAULT_TOP_K, 10, unless asked otherwise), at most V.
 */
export function jsonNumbersPerChar(V: number, layers: number, H: number, gates: number, hasC: boolean, k = 10, fullProbs = false): number {
  return 1 + 2 * Math.min(k, V) + 2 + (fullProbs ? V : 0) + layers * ((gates + (hasC ? 1 : 0) + 1) * H + (hasC ? 2 : 1));
}

/** A whole in-memory trace as the shape, facts and named blocks of traceFile.ts. */
export function traceJsonBlocks(trace: TraceJsonInput, vocab: readonly string[], cell: string, H: number):
  { shape: TraceFileShape; facts: TraceFileFacts; blocks: ReadonlyMap<string, ArrayLike<number>> } {
  const T = trace.tokens.length;
  const first = trace.layers[0];
  const gates = first ? Object.keys(first.gates) : [];
  const hasC = !!first?.c;
  const shape: TraceFileShape = {
    cell, vocab, hidden: H, modelLayers: trace.layers.length, layers: trace.layers.map((_, l) => l), gates, hasC, T,
    k: trace.predictions.k, fullProbs: trace.probs !== null, saliency: !!trace.prediction,
    paramGrads: trace.paramGrads ? [...trace.paramGrads].map(([name, g]) => ({ name, shape: [g.length] })) : null,
  };
  let text = '';
  for (let t = 0; t < T; t++) text += vocab[trace.tokens[t]!]!;
  const p = trace.prediction;
  const facts: TraceFileFacts = { text, loss: trace.loss, range: null, lossAt: p ? p.at : null, lossAtValue: p ? p.loss : null };
  const blocks = new Map<string, ArrayLike<number>>([
    ['tokens', trace.tokens instanceof Int32Array ? trace.tokens : Int32Array.from(trace.tokens)],
    ['top_ids', trace.predictions.topIds],
    ['top_probs', trace.predictions.topProbs],
    ['p_next', trace.predictions.pNext],
    ['entropy', trace.predictions.entropy],
  ]);
  if (trace.probs) blocks.set('probs', trace.probs);
  trace.layers.forEach((l, i) => {
    for (const [g, a] of Object.entries(l.gates)) blocks.set(`layers.${i}.${g}`, a);
    if (l.c) blocks.set(`layers.${i}.c`, l.c);
    blocks.set(`layers.${i}.h`, l.h);
    blocks.set(`layers.${i}.grad_h`, l.gradH);
    if (l.gradC) blocks.set(`layers.${i}.grad_c`, l.gradC);
  });
  if (p) blocks.set('saliency', p.saliency);
  for (const [name, g] of trace.paramGrads ?? []) blocks.set(`param_grads.${name}`, g);
  return { shape, facts, blocks };
}

/**
 * The trace as one JSON string (the inspector's export, built in the engine worker). Refuses what no string can
 * hold (checkJsonSize). The same bytes `gatescope trace --out FILE.json` streams for the same trace.
 */
export function traceToJson(trace: TraceJsonInput, vocab: readonly string[], cell: string, H: number): string {
  const T = trace.tokens.length;
  checkJsonSize(T, jsonNumbers(trace) / Math.max(1, T), vocab.length);
  const { shape, facts, blocks } = traceJsonBlocks(trace, vocab, cell, H);
  return traceJsonParts(shape, facts).map((part) => {
    if (typeof part === 'string') return part;
    const a = blocks.get(part.block)!;
    return jsonRows(a, part.cols, 0, part.cols ? a.length / part.cols : a.length);
  }).join('');
}

/**
 * About how many bytes traceToJson's text takes in UTF-8, without writing it (to ask before writing a large file):
 * the text, vocabulary, integers and keys exactly, the floats' formatted lengths measured on up to `sample` evenly
 * spaced values of each array — exact when every array is that short, within a few per cent otherwise.
 */
export function traceJsonBytesEstimate(trace: TraceJsonInput, vocab: readonly string[], cell: string, sample = 4096): number {
  const H = trace.layers[0] ? trace.layers[0].h.length / Math.max(1, trace.tokens.length) : 0;
  const { shape, facts, blocks } = traceJsonBlocks(trace, vocab, cell, H);
  // an array's numbers and their commas, and (for rows of n) the rows' brackets and commas
  const numbers = (a: ArrayLike<number>): number => {
    if (a.length === 0) return 0;
    if (a instanceof Int32Array) {
      let len = 0;
      for (let i = 0; i < a.length; i++) len += String(a[i]).length;
      return len + a.length - 1;
    }
    const stride = Math.max(1, Math.floor(a.length / sample));
    let len = 0, n = 0;
    for (let i = 0; i < a.length; i += stride, n++) len += formatNumber(a[i]!).length;
    return (len / n) * a.length + (a.length - 1);
  };
  let bytes = 0;
  for (const part of traceJsonParts(shape, facts)) {
    if (typeof part === 'string') bytes += utf8Length(part);
    else {
      const a = blocks.get(part.block)!;
      bytes += numbers(a) + (part.cols && a.length ? (a.length / part.cols) * 2 : 0);
    }
  }
  return Math.round(bytes);
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
