import type { CellType } from '../engine/types';

/**
 * A trace as it crosses a boundary (worker → host → webview): every array a typed array, row-major.
 * Dimension legend: T characters, V vocabulary, H hidden units, L layers.
 */
export interface TraceData {
  readonly cell: CellType;
  readonly vocab: readonly string[];
  readonly hidden: number;          // H
  readonly tokens: Int32Array;      // (T)
  readonly loss: number;            // mean cross-entropy of the T − 1 next-character predictions
  readonly probs: Float32Array;     // (T, V)
  readonly layers: readonly TraceLayerData[];
}

export interface TraceLayerData {
  readonly gates: Readonly<Record<string, Float32Array>>; // each (T, H): LSTM i, f, g, o; GRU r, z, n
  readonly c: Float32Array | null;   // (T, H)
  readonly h: Float32Array;          // (T, H)
  readonly gradH: Float32Array;      // (T) ‖∂loss/∂h_t‖₂
  readonly gradC: Float32Array | null; // (T) ‖∂loss/∂c_t‖₂
}
