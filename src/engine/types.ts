/**
 * Shared engine types. Dimension legend used in shape comments throughout the engine:
 *   V vocab, E embedding, H hidden, L layers, G gates per cell (LSTM 4, GRU 3, RNN 1),
 *   T time (sequence length), B batch (lanes), P total parameter count.
 */

/** Recurrent cell types, named as PyTorch's modules are (nn.LSTM, nn.GRU, nn.RNN with tanh). */
export type CellType = 'lstm' | 'gru' | 'rnn_tanh';

export const CELL_TYPES: readonly CellType[] = ['lstm', 'gru', 'rnn_tanh'];

/** Gates per cell, in PyTorch's order: LSTM i, f, g, o; GRU r, z, n; RNN a single pre-activation. */
export const GATE_NAMES: Readonly<Record<CellType, readonly string[]>> = {
  lstm: ['i', 'f', 'g', 'o'],
  gru: ['r', 'z', 'n'],
  rnn_tanh: ['a'],
};

export function gateCount(cell: CellType): number {
  return GATE_NAMES[cell].length;
}

export function isCellType(s: unknown): s is CellType {
  return typeof s === 'string' && (CELL_TYPES as readonly string[]).includes(s);
}

/** The architecture: everything needed to lay out the parameters. */
export interface ModelConfig {
  readonly cell: CellType;
  readonly vocabSize: number; // V
  readonly embed: number;     // E
  readonly hidden: number;    // H
  readonly layers: number;    // L
}

/** Engine buffers are float32 in production and float64 in gradient checks; kernels accept both. */
export type FloatArray = Float32Array | Float64Array;
export type FloatArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor;
