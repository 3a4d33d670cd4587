import type { StepRange } from '../../src/protocol/webview';

/**
 * The time window shared by every time-axis view (heatmaps, trajectories, gradients): zooming, panning and
 * the mapping between timesteps and pixels. Pure.
 */

/** The window clamped into [0, T), at least `minWidth` wide (or T). */
export function clampWindow(w: StepRange, T: number, minWidth = 16): StepRange {
  const width = Math.min(T, Math.max(minWidth, Math.round(w.end - w.start)));
  let start = Math.round(w.start);
  start = Math.max(0, Math.min(T - width, start));
  return { start, end: start + width };
}

/** Zooms by `factor` (< 1 zooms in) keeping timestep `at` at the same place on screen. */
export function zoomWindow(w: StepRange, T: number, factor: number, at: number, minWidth = 16): StepRange {
  const width = w.end - w.start;
  const next = Math.max(Math.min(minWidth, T), Math.min(T, width * factor));
  const frac = width > 0 ? (at - w.start) / width : 0.5;
  return clampWindow({ start: at - frac * next, end: at - frac * next + next }, T, minWidth);
}

/** Pans by `delta` timesteps. */
export function panWindow(w: StepRange, T: number, delta: number, minWidth = 16): StepRange {
  return clampWindow({ start: w.start + delta, end: w.end + delta }, T, minWidth);
}

/** The window moved just enough to contain timestep t. */
export function follow(w: StepRange, T: number, t: number): StepRange {
  if (t >= w.start && t < w.end) return w;
  const width = w.end - w.start;
  return t < w.start ? clampWindow({ start: t, end: t + width }, T, 1) : clampWindow({ start: t - width + 1, end: t + 1 }, T, 1);
}

/** Pixel x (from the plot's left edge) of the centre of timestep t in a window drawn `width` pixels wide. */
export function xOf(t: number, w: StepRange, width: number): number {
  return ((t + 0.5 - w.start) / (w.end - w.start)) * width;
}

/** The timestep under pixel x, clamped to the window. */
export function tAt(x: number, w: StepRange, width: number): number {
  const t = Math.floor(w.start + (x / width) * (w.end - w.start));
  return Math.max(w.start, Math.min(w.end - 1, t));
}
