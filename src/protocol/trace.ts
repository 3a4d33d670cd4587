import type { CellType, Trace, TraceLayer, TracePredictions } from '../engine/types';

/**
 * A trace as it crosses a boundary (worker → host → webview): the engine's Trace (every array a typed array,
 * row-major) without the parameter gradients, with what a reader needs to read it — the cell, the vocabulary
 * (token id = index) and H. One shape, named once in engine/types.ts.
 * Dimension legend: T characters, V vocabulary, H hidden units, L layers.
 */
export interface TraceData extends Omit<Trace, 'paramGrads'> {
  readonly cell: CellType;
  readonly vocab: readonly string[];
  readonly hidden: number;          // H
}

/** One layer of a trace: gates by name (LSTM i, f, g, o; GRU r, z, n), c, h, each (T, H); the norms, each (T). */
export type TraceLayerData = TraceLayer;

/**
 * A trace that arrives in pieces (the worker's `traceStream`): first its shape, then each segment's internals and
 * predictions in order, then the loss and the gradient norms. Host and webview each build their TraceData from
 * these with the functions below, so a view can paint the first segments while the rest are computed.
 */
export interface TraceShape {
  readonly cell: CellType;
  readonly vocab: readonly string[];
  readonly hidden: number;             // H
  readonly layers: number;             // L
  readonly gates: readonly string[];   // gate names per layer (none for a plain RNN)
  readonly tokens: Int32Array;         // (T)
  /** Most likely characters kept per position. */
  readonly k: number;
}

/** One segment of a streamed trace: positions [start, end). */
export interface TraceSegmentData {
  readonly start: number;
  readonly end: number;
  /** Per layer: gates by name, c (LSTM), h, each (end − start, H). */
  readonly layers: readonly { readonly gates: Readonly<Record<string, Float32Array>>; readonly c: Float32Array | null; readonly h: Float32Array }[];
  readonly predictions: TracePredictions; // its positions only
}

/** What completes a streamed trace: the mean loss and, per layer, the gradient norms (T). */
export interface TraceTail {
  readonly loss: number;
  readonly gradH: readonly Float32Array[];
  readonly gradC: readonly (Float32Array | null)[];
}

/** Bytes a TraceData of this shape holds (the (T, H) internals, the norms, the predictions). */
export function traceDataBytes(shape: { readonly layers: number; readonly gates: readonly string[]; readonly hidden: number; readonly cell: CellType }, T: number, k: number): number {
  const perLayer = (shape.gates.length + (shape.cell === 'lstm' ? 1 : 0) + 1) * shape.hidden + 2;
  return 4 * T * (shape.layers * perLayer + 2 * k + 3);
}

/** A TraceData of this shape with every array allocated (zeros; no loss, p of the next character NaN) to be filled. */
export function emptyTrace(shape: TraceShape): TraceData {
  const T = shape.tokens.length, H = shape.hidden;
  const layers = Array.from({ length: shape.layers }, () => ({
    gates: Object.fromEntries(shape.gates.map((g) => [g, new Float32Array(T * H)])),
    c: shape.cell === 'lstm' ? new Float32Array(T * H) : null,
    h: new Float32Array(T * H),
    gradH: new Float32Array(T),
    gradC: shape.cell === 'lstm' ? new Float32Array(T) : null,
  }));
  return {
    cell: shape.cell, vocab: shape.vocab, hidden: H, tokens: shape.tokens, loss: NaN, probs: null, layers,
    predictions: { k: shape.k, topIds: new Int32Array(T * shape.k), topProbs: new Float32Array(T * shape.k), pNext: new Float32Array(T).fill(NaN), entropy: new Float32Array(T) },
  };
}

/** Copies a segment into a trace made by emptyTrace (in place). */
export function fillSegment(trace: TraceData, seg: TraceSegmentData): void {
  const H = trace.hidden, { start } = seg;
  seg.layers.forEach((l, i) => {
    const d = trace.layers[i]!;
    for (const [g, a] of Object.entries(l.gates)) d.gates[g]?.set(a, start * H);
    if (l.c && d.c) d.c.set(l.c, start * H);
    d.h.set(l.h, start * H);
  });
  const p = trace.predictions, s = seg.predictions;
  p.topIds.set(s.topIds, start * p.k);
  p.topProbs.set(s.topProbs, start * p.k);
  p.pNext.set(s.pNext, start);
  p.entropy.set(s.entropy, start);
}

/** The trace with its loss and gradient norms (the same arrays otherwise). */
export function finishTrace(trace: TraceData, tail: TraceTail): TraceData {
  return {
    ...trace, loss: tail.loss,
    layers: trace.layers.map((l, i) => ({ ...l, gradH: tail.gradH[i]!, gradC: tail.gradC[i] ?? null })),
  };
}
