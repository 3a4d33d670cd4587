import type { StepRange } from '../../src/protocol/webview';
import { lutIndex } from './colour';

/**
 * Units × time heatmaps as RGBA pixels, computed at the resolution they are shown at: one column per screen
 * column (the mean of the timesteps it covers) or per timestep when zoomed in, one row per unit. Pure.
 * Dimension legend: T time, H units, C columns.
 */

/** Columns to compute for a window shown `pixels` wide: one per timestep, at most one per pixel. */
export function heatmapColumns(window: StepRange, pixels: number): number {
  return Math.max(1, Math.min(window.end - window.start, Math.floor(pixels)));
}

/**
 * Paints values (T, H) over the window into `out` (H rows × C columns × RGBA, row-major; allocated when absent).
 * Column c covers timesteps [start + c·w/C, start + (c+1)·w/C). Values map through the LUT over [lo, hi];
 * non-finite values are transparent.
 */
export function heatmapImage(values: Float32Array, H: number, window: StepRange, cols: number,
  lut: Uint8ClampedArray, lo: number, hi: number, out?: Uint8ClampedArray<ArrayBuffer>): Uint8ClampedArray<ArrayBuffer> {
  const img = out ?? new Uint8ClampedArray(H * cols * 4);
  const n = lut.length / 4;
  const acc = new Float64Array(H); // (H) sum of the column's timesteps
  const width = window.end - window.start;
  for (let c = 0; c < cols; c++) {
    const a = window.start + Math.floor((c * width) / cols);
    const b = Math.max(a + 1, window.start + Math.floor(((c + 1) * width) / cols));
    acc.fill(0);
    for (let t = a; t < b; t++) {
      const row = t * H;
      for (let j = 0; j < H; j++) acc[j]! += values[row + j]!;
    }
    const inv = 1 / (b - a);
    for (let j = 0; j < H; j++) {
      const k = lutIndex(acc[j]! * inv, lo, hi, n);
      const p = (j * cols + c) * 4;
      if (k < 0 || !Number.isFinite(acc[j]!)) {
        img[p + 3] = 0;
        continue;
      }
      img[p] = lut[k * 4]!;
      img[p + 1] = lut[k * 4 + 1]!;
      img[p + 2] = lut[k * 4 + 2]!;
      img[p + 3] = 255;
    }
  }
  return img;
}
