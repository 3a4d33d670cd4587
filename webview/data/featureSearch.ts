/**
 * The unit search's scatter: a unit's value against the feature at every character (the worker ranks the units,
 * src/engine/units.ts; this only shapes what the card draws). Pure.
 * Dimension legend: T characters.
 */

export interface ScatterPoints {
  /** Feature values, with a deterministic jitter of ±0.3 for a 0/1 feature so that its two columns show their spread. */
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly xLo: number; readonly xHi: number;
  readonly yLo: number; readonly yHi: number;
  /** Mean of y per feature value (0/1 features: inside and outside; others: at each integer value up to 200). */
  readonly means: readonly { readonly x: number; readonly y: number }[];
}

/**
 * The scatter of a unit's value against the feature, at most `max` points, evenly strided over the text; a 0/1
 * feature's two sides strided apart (half the points each at most), so that a rare match is not thinned away.
 */
export function scatterPoints(x: Float32Array, y: Float32Array, binary: boolean, max = 4000): ScatterPoints {
  const T = x.length;
  let ones = 0;
  if (binary) for (let t = 0; t < T; t++) ones += x[t] === 1 ? 1 : 0;
  // per side of a 0/1 feature (index 1: where it is 1), or for the whole text (index 0)
  const strides = binary
    ? [Math.max(1, Math.ceil((T - ones) / (max / 2))), Math.max(1, Math.ceil(ones / (max / 2)))]
    : [Math.max(1, Math.ceil(T / max))];
  const seen = [0, 0];
  const px: number[] = [], py: number[] = [];
  let xLo = Infinity, xHi = -Infinity, yLo = Infinity, yHi = -Infinity;
  for (let t = 0; t < T; t++) {
    const side = binary && x[t] === 1 ? 1 : 0;
    if (seen[side]!++ % strides[side]! !== 0) continue;
    // a fixed hash of t, not Math.random: the same trace draws the same picture
    const jitter = binary ? (((t * 2654435761) >>> 0) / 4294967296 - 0.5) * 0.6 : 0;
    px.push(x[t]! + jitter);
    py.push(y[t]!);
    xLo = Math.min(xLo, x[t]!); xHi = Math.max(xHi, x[t]!);
    yLo = Math.min(yLo, y[t]!); yHi = Math.max(yHi, y[t]!);
  }
  const sums = new Map<number, { s: number; n: number }>();
  for (let t = 0; t < T; t++) {
    const v = x[t]!;
    if (!Number.isInteger(v) || v > 200) continue;
    const e = sums.get(v) ?? { s: 0, n: 0 };
    e.s += y[t]!;
    e.n++;
    sums.set(v, e);
  }
  const means = [...sums].filter(([, e]) => e.n >= 3).sort((a, b) => a[0] - b[0]).map(([v, e]) => ({ x: v, y: e.s / e.n }));
  if (binary) { xLo = -0.5; xHi = 1.5; }
  if (!(yHi > yLo)) { yLo -= 0.5; yHi += 0.5; }
  if (!(xHi > xLo)) { xLo -= 0.5; xHi += 0.5; }
  return { x: Float32Array.from(px), y: Float32Array.from(py), xLo, xHi, yLo, yHi, means };
}
