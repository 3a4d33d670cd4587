import type { TraceData } from '../../src/protocol/trace';
import type { EditedStep } from '../../src/protocol/webview';

/**
 * The numbers on the cell diagram for one timestep: what "Understanding LSTM Networks" draws, with a real
 * network's values. Pure (a trace in, numbers out); views/cellDiagram.ts draws them.
 *
 * LSTM:  c_t = f⊙c_{t−1} + i⊙g,  h_t = o⊙tanh(c_t)   — forgotten = (1 − f)⊙c_{t−1}, written = i⊙g, so that
 *        c_t = c_{t−1} − forgotten + written holds for one unit and for the mean over units alike.
 * GRU:   h_t = (1 − z)⊙n + z⊙h_{t−1}                  — kept = z⊙h_{t−1}, replaced by = (1 − z)⊙n.
 * RNN:   h_t = tanh(W_ih·x_t + W_hh·h_{t−1} + b)      — one tanh layer (ReLU for rnn_relu: max(0, ·)).
 * Dimension legend: T time, H units.
 */
export type CellValues =
  | { readonly cell: 'lstm'; readonly cPrev: number; readonly hPrev: number; readonly i: number; readonly f: number; readonly g: number;
      readonly o: number; readonly forgotten: number; readonly written: number; readonly c: number; readonly tanhC: number; readonly h: number }
  | { readonly cell: 'gru'; readonly hPrev: number; readonly r: number; readonly z: number; readonly n: number;
      readonly kept: number; readonly replaced: number; readonly h: number }
  | { readonly cell: 'rnn_tanh' | 'rnn_relu'; readonly hPrev: number; readonly h: number };

export interface CellStep {
  readonly t: number;
  readonly layer: number;
  /** The unit shown, or null for the mean over the layer's units. */
  readonly unit: number | null;
  /** x_t, the character read at this step. */
  readonly char: string;
  readonly values: CellValues;
}

/** The values of one unit at step t (unit null: the mean over units of every term). */
export function cellStep(trace: TraceData, layer: number, t: number, unit: number | null): CellStep {
  const H = trace.hidden, T = trace.tokens.length;
  if (t < 0 || t >= T) throw new RangeError(`step ${t} is outside the trace (0..${T - 1})`);
  const l = trace.layers[layer];
  if (!l) throw new RangeError(`layer ${layer} does not exist`);
  const at = (a: Float32Array | null | undefined, tt: number, j: number): number => (tt < 0 || !a ? 0 : a[tt * H + j]!); // the zero initial state
  const char = trace.vocab[trace.tokens[t]!] ?? '';
  const values = cellValues(trace.cell, H, unit, {
    hPrev: (j) => at(l.h, t - 1, j), h: (j) => at(l.h, t, j), cPrev: (j) => at(l.c, t - 1, j), c: (j) => at(l.c, t, j),
    gate: (q, j) => at(l.gates[q], t, j),
  });
  return { t, layer, unit, char, values };
}

/**
 * The same numbers from the debugger's edited state at step t (its vectors after the step and before it), for the
 * diagram to show what the debugger holds after Set Value.
 */
export function editedCellStep(cell: TraceData['cell'], edited: EditedStep, layer: number, t: number, unit: number | null, char: string): CellStep {
  const l = edited.layers[layer];
  if (!l) throw new RangeError(`layer ${layer} does not exist`);
  const at = (a: Float32Array | null | undefined, j: number): number => a?.[j] ?? 0;
  const values = cellValues(cell, l.h.length, unit, {
    hPrev: (j) => at(l.hPrev, j), h: (j) => at(l.h, j), cPrev: (j) => at(l.cPrev, j), c: (j) => at(l.c, j), gate: (q, j) => at(l.gates[q], j),
  });
  return { t, layer, unit, char, values };
}

/** Unit j's vectors at one step: after it, before it, and its gates by name. */
interface StepReader {
  hPrev(j: number): number;
  h(j: number): number;
  cPrev(j: number): number;
  c(j: number): number;
  gate(q: string, j: number): number;
}

function cellValues(cell: TraceData['cell'], H: number, unit: number | null, r: StepReader): CellValues {
  const units = unit === null ? Array.from({ length: H }, (_, j) => j) : [unit];
  const mean = (f: (j: number) => number): number => units.reduce((s, j) => s + f(j), 0) / units.length;
  const hPrev = mean(r.hPrev);
  const h = mean(r.h);
  if (cell === 'lstm') {
    const g = (q: string) => (j: number): number => r.gate(q, j);
    return {
      cell: 'lstm', cPrev: mean(r.cPrev), hPrev,
      i: mean(g('i')), f: mean(g('f')), g: mean(g('g')), o: mean(g('o')),
      forgotten: mean((j) => (1 - r.gate('f', j)) * r.cPrev(j)),
      written: mean((j) => r.gate('i', j) * r.gate('g', j)),
      c: mean(r.c), tanhC: mean((j) => Math.tanh(r.c(j))), h,
    };
  }
  if (cell === 'gru') {
    return {
      cell: 'gru', hPrev, r: mean((j) => r.gate('r', j)), z: mean((j) => r.gate('z', j)), n: mean((j) => r.gate('n', j)),
      kept: mean((j) => r.gate('z', j) * r.hPrev(j)), replaced: mean((j) => (1 - r.gate('z', j)) * r.gate('n', j)), h,
    };
  }
  return { cell: cell === 'rnn_relu' ? 'rnn_relu' : 'rnn_tanh', hPrev, h };
}

/** How the values of one quantity spread over the layer's units at step t: `bins` equal bins over [lo, hi]. */
export function unitHistogram(values: Float32Array, H: number, t: number, lo: number, hi: number, bins: number): number[] {
  const out = new Array<number>(bins).fill(0);
  for (let j = 0; j < H; j++) {
    const v = values[t * H + j]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)));
    out[b]! += 1;
  }
  return out;
}

/** A screen reader's sentence for the step: every number on the diagram, in the order the articles explain. */
export function describeStep(s: CellStep): string {
  const n = (x: number): string => x.toFixed(3);
  const who = `${s.unit === null ? 'mean over units' : `unit ${s.unit}`}, layer ${s.layer}, step ${s.t} reading ${JSON.stringify(s.char)}`;
  const v = s.values;
  switch (v.cell) {
    case 'lstm':
      return `${who}: forget gate f ${n(v.f)} keeps c from ${n(v.cPrev)} (forgets ${n(v.forgotten)}); input gate i ${n(v.i)} ` +
        `times candidate g ${n(v.g)} writes ${n(v.written)}; new cell state c ${n(v.c)}; output gate o ${n(v.o)} times ` +
        `tanh(c) ${n(v.tanhC)} gives h ${n(v.h)}.`;
    case 'gru':
      return `${who}: update gate z ${n(v.z)} keeps ${n(v.kept)} of h_prev ${n(v.hPrev)}; reset gate r ${n(v.r)}; ` +
        `new gate n ${n(v.n)} adds ${n(v.replaced)}; h ${n(v.h)}.`;
    case 'rnn_tanh':
    case 'rnn_relu':
      return `${who}: one ${v.cell === 'rnn_relu' ? 'ReLU' : 'tanh'} layer turns h_prev ${n(v.hPrev)} and the character into h ${n(v.h)}.`;
  }
}
