import type { TraceData } from '../../src/protocol/trace';

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
  const units = unit === null ? Array.from({ length: H }, (_, j) => j) : [unit];
  const mean = (f: (j: number) => number): number => units.reduce((s, j) => s + f(j), 0) / units.length;
  const at = (a: Float32Array, tt: number, j: number): number => (tt < 0 ? 0 : a[tt * H + j]!); // the zero initial state
  const char = trace.vocab[trace.tokens[t]!] ?? '';
  const hPrev = mean((j) => at(l.h, t - 1, j));
  const h = mean((j) => at(l.h, t, j));
  let values: CellValues;
  if (trace.cell === 'lstm') {
    const { i: gi, f: gf, g: gg, o: go } = l.gates as Record<'i' | 'f' | 'g' | 'o', Float32Array>;
    const c = l.c!;
    values = {
      cell: 'lstm', cPrev: mean((j) => at(c, t - 1, j)), hPrev,
      i: mean((j) => at(gi, t, j)), f: mean((j) => at(gf, t, j)), g: mean((j) => at(gg, t, j)), o: mean((j) => at(go, t, j)),
      forgotten: mean((j) => (1 - at(gf, t, j)) * at(c, t - 1, j)),
      written: mean((j) => at(gi, t, j) * at(gg, t, j)),
      c: mean((j) => at(c, t, j)), tanhC: mean((j) => Math.tanh(at(c, t, j))), h,
    };
  } else if (trace.cell === 'gru') {
    const { r: gr, z: gz, n: gn } = l.gates as Record<'r' | 'z' | 'n', Float32Array>;
    values = {
      cell: 'gru', hPrev, r: mean((j) => at(gr, t, j)), z: mean((j) => at(gz, t, j)), n: mean((j) => at(gn, t, j)),
      kept: mean((j) => at(gz, t, j) * at(l.h, t - 1, j)), replaced: mean((j) => (1 - at(gz, t, j)) * at(gn, t, j)), h,
    };
  } else {
    values = { cell: trace.cell === 'rnn_relu' ? 'rnn_relu' : 'rnn_tanh', hPrev, h };
  }
  return { t, layer, unit, char, values };
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
