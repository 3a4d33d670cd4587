import type { Quantity, StepRange } from '../../src/protocol/webview';

/**
 * Unit search as LSTMVis does it: the user selects a range of text; a unit matches when it is "on" (its value
 * beyond a threshold) inside the range and "off" outside. Values are first brought to [−1, 1]: σ gates as
 * 2v − 1, the unbounded cell state through tanh (as h = o·tanh(c) sees it); h, g and n are already there.
 * A unit may match with either sign (strongly negative inside is as selective as strongly positive). Pure.
 * Dimension legend: T time, H units.
 */
export interface UnitMatch {
  readonly unit: number;
  /** +1: on means above +threshold; −1: below −threshold. */
  readonly sign: 1 | -1;
  /** Fraction of the range's timesteps where the unit is on. */
  readonly inside: number;
  /** Fraction of the other timesteps where it is on. */
  readonly outside: number;
  /** inside − outside, in (0, 1]. */
  readonly score: number;
}

export function normalise(q: Quantity): (v: number) => number {
  switch (q) {
    case 'i': case 'f': case 'o': case 'r': case 'z': return (v) => 2 * v - 1;
    case 'c': return Math.tanh;
    case 'h': case 'g': case 'n': return (v) => v;
  }
}

/** Units ranked by selectivity for the range (best first, only those with a positive score), at most `limit`. */
export function rankUnits(values: Float32Array, T: number, H: number, q: Quantity, range: StepRange, threshold: number,
  limit = 20): UnitMatch[] {
  const a = Math.max(0, Math.min(T, range.start));
  const b = Math.max(a, Math.min(T, range.end));
  if (b <= a) return [];
  const norm = normalise(q);
  const inPos = new Int32Array(H), inNeg = new Int32Array(H);   // (H) on-counts inside the range
  const outPos = new Int32Array(H), outNeg = new Int32Array(H); // (H) on-counts outside it
  for (let t = 0; t < T; t++) {
    const inside = t >= a && t < b;
    const pos = inside ? inPos : outPos;
    const neg = inside ? inNeg : outNeg;
    const row = t * H;
    for (let j = 0; j < H; j++) {
      const v = norm(values[row + j]!);
      if (v > threshold) pos[j]!++;
      else if (v < -threshold) neg[j]!++;
    }
  }
  const nIn = b - a, nOut = T - nIn;
  const out: UnitMatch[] = [];
  for (let j = 0; j < H; j++) {
    for (const sign of [1, -1] as const) {
      const inside = (sign > 0 ? inPos[j]! : inNeg[j]!) / nIn;
      const outside = nOut > 0 ? (sign > 0 ? outPos[j]! : outNeg[j]!) / nOut : 0;
      const score = inside - outside;
      if (score > 0) out.push({ unit: j, sign, inside, outside, score });
    }
  }
  out.sort((x, y) => y.score - x.score || y.inside - x.inside || x.unit - y.unit);
  const seen = new Set<number>();
  return out.filter((m) => (seen.has(m.unit) ? false : (seen.add(m.unit), true))).slice(0, limit);
}
