import type { CellType, Trace, TraceLayer } from '../engine/types';

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
