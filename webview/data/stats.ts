/**
 * Summary statistics of trace arrays. Pure.
 * Dimension legend: T time, H units.
 */

/** Per unit, the fraction of timesteps a σ gate (T, H) is below `lo` (left-saturated) or above `hi` (right). */
export function saturation(values: Float32Array, T: number, H: number, lo = 0.1, hi = 0.9): { left: Float32Array; right: Float32Array } {
  const left = new Float32Array(H);  // (H)
  const right = new Float32Array(H); // (H)
  for (let t = 0; t < T; t++) {
    const row = t * H;
    for (let j = 0; j < H; j++) {
      const v = values[row + j]!;
      if (v < lo) left[j]! += 1;
      else if (v > hi) right[j]! += 1;
    }
  }
  if (T > 0) {
    for (let j = 0; j < H; j++) {
      left[j]! /= T;
      right[j]! /= T;
    }
  }
  return { left, right };
}

/** The k units whose values vary most over time (standard deviation), most variable first. */
export function mostVariableUnits(values: Float32Array, T: number, H: number, k: number): number[] {
  const sum = new Float64Array(H), sq = new Float64Array(H); // (H)
  for (let t = 0; t < T; t++) {
    const row = t * H;
    for (let j = 0; j < H; j++) {
      const v = values[row + j]!;
      sum[j]! += v;
      sq[j]! += v * v;
    }
  }
  const variance = (j: number): number => (T ? sq[j]! / T - (sum[j]! / T) ** 2 : 0);
  return Array.from({ length: H }, (_, j) => j).sort((a, b) => variance(b) - variance(a) || a - b).slice(0, k);
}
