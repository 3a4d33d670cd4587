import type { StepRange } from '../../src/protocol/webview';

/**
 * Line-chart series shaped from trace arrays: a window of one strided column (a unit of a (T, H) array, or a
 * (T) vector), decimated to at most two points per bucket (the bucket's minimum and maximum, in time order) so
 * that spikes survive and chart.js draws a few thousand points at most. Pure.
 */
export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface SeriesOptions {
  /** Buckets (about the chart's width in pixels); windows no wider than this are not decimated. */
  readonly buckets: number;
  /** For a log scale: values ≤ 0 (or non-finite) become gaps (NaN) instead of points the scale cannot place. */
  readonly positive?: boolean;
}

/** Series of values[offset + t·stride] for t in the window. */
export function stridedSeries(values: ArrayLike<number>, stride: number, offset: number, window: StepRange, o: SeriesOptions): Point[] {
  const { start, end } = window;
  const clean = (y: number): number => (o.positive ? (y > 0 && Number.isFinite(y) ? y : NaN) : y);
  const width = end - start;
  const out: Point[] = [];
  if (width <= 0) return out;
  if (width <= o.buckets * 2) {
    for (let t = start; t < end; t++) out.push({ x: t, y: clean(values[offset + t * stride]!) });
    return out;
  }
  for (let b = 0; b < o.buckets; b++) {
    const a = start + Math.floor((b * width) / o.buckets);
    const z = start + Math.floor(((b + 1) * width) / o.buckets);
    let lo = Infinity, hi = -Infinity, tLo = -1, tHi = -1, gap = false;
    for (let t = a; t < z; t++) {
      const y = clean(values[offset + t * stride]!);
      if (Number.isNaN(y)) { gap = true; continue; }
      if (y < lo) { lo = y; tLo = t; }
      if (y > hi) { hi = y; tHi = t; }
    }
    if (tLo < 0) {
      out.push({ x: a, y: NaN });
      continue;
    }
    if (tLo === tHi) out.push({ x: tLo, y: lo });
    else if (tLo < tHi) out.push({ x: tLo, y: lo }, { x: tHi, y: hi });
    else out.push({ x: tHi, y: hi }, { x: tLo, y: lo });
    if (gap && o.positive) out.push({ x: z - 1, y: NaN });
  }
  return out;
}

/** One unit of a (T, H) array over a window. */
export function unitSeries(values: Float32Array, H: number, unit: number, window: StepRange, o: SeriesOptions): Point[] {
  return stridedSeries(values, H, unit, window, o);
}

/** A (T) vector over a window. */
export function vectorSeries(values: ArrayLike<number>, window: StepRange, o: SeriesOptions): Point[] {
  return stridedSeries(values, 1, 0, window, o);
}

/** Smallest and largest positive finite value of some vectors (the extent of a log axis), or null. */
export function positiveExtent(vectors: readonly ArrayLike<number>[]): { min: number; max: number } | null {
  let min = Infinity, max = -Infinity;
  for (const v of vectors) {
    for (let i = 0; i < v.length; i++) {
      const y = v[i]!;
      if (y > 0 && Number.isFinite(y)) {
        if (y < min) min = y;
        if (y > max) max = y;
      }
    }
  }
  return min <= max ? { min, max } : null;
}

/** Geometric mean of the positive finite values (a summary of a gradient curve on a log scale), or NaN. */
export function geometricMean(v: ArrayLike<number>): number {
  let s = 0, n = 0;
  for (let i = 0; i < v.length; i++) {
    const y = v[i]!;
    if (y > 0 && Number.isFinite(y)) { s += Math.log(y); n++; }
  }
  return n ? Math.exp(s / n) : NaN;
}

/** A log axis labels 1, 2 and 5 × 10^k (as 1e−3, 2e−3, 5e−3) and leaves its other ticks blank. */
export function logTickLabel(v: number): string {
  if (!(v > 0)) return '';
  const e = Math.floor(Math.log10(v) + 1e-9);
  const m = v / 10 ** e;
  const k = Math.round(m);
  return [1, 2, 5].includes(k) && Math.abs(m - k) < 1e-6 ? `${k}e${e}`.replace('-', '−') : '';
}

/**
 * A log axis's tick label among all its ticks (chart.js makes one at every whole mantissa): at most about nine
 * labels, whatever the range — within about a decade 1, 2, 4, 6, 8 × 10^k; up to three decades 1, 2, 5 × 10^k; up
 * to eight the powers of ten; beyond, every n-th power, nine at most. Ticks without a label get no grid line either (charts.ts).
 */
export function logAxisLabel(v: number, all: readonly number[]): string {
  if (!(v > 0)) return '';
  const pos = all.filter((x) => x > 0);
  const decades = pos.length ? Math.log10(Math.max(...pos) / Math.min(...pos)) : 0;
  const e = Math.floor(Math.log10(v) + 1e-9);
  const m = v / 10 ** e;
  const k = Math.round(m);
  if (Math.abs(m - k) > 1e-6) return '';
  const shown = decades <= 1.2 ? [1, 2, 4, 6, 8] : decades <= 3 ? [1, 2, 5] : [1];
  const every = decades > 8 ? Math.ceil(decades / 9) : 1;
  if (!shown.includes(k) || e % every !== 0) return '';
  return `${k}e${e}`.replace('-', '−');
}
