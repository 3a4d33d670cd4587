import type { CellType } from '../engine/types';
import { quantityRange, type Quantity } from '../protocol/webview';

/**
 * The few colours of "Colour Text by Unit" (editor decorations): values binned over the quantity's range, zero
 * (or 0 for σ gates) left uncoloured. Colours are translucent so that they read on light and dark themes alike,
 * in the webview's hues (blue negative, orange positive, teal for σ gates). No vscode.
 */
export interface BinScheme {
  /** Background colour of each bin; null for the bin left plain. */
  readonly colours: readonly (string | null)[];
  readonly lo: number;
  readonly hi: number;
}

export function binScheme(q: Quantity, cScale: number, cell?: CellType): BinScheme {
  // a ReLU RNN's h is [0, ∞): binned as the σ gates are, over [0, its scale]
  const r = quantityRange(q, cell) ?? (q === 'h' ? { lo: 0, hi: cScale } : null);
  if (r && r.lo === 0) {
    return { lo: 0, hi: r.hi, colours: [null, 'rgba(45, 127, 184, 0.18)', 'rgba(45, 127, 184, 0.34)', 'rgba(45, 160, 170, 0.5)', 'rgba(230, 190, 60, 0.6)'] };
  }
  const s = r ? r.hi : cScale;
  return {
    lo: -s, hi: s,
    colours: ['rgba(59, 130, 246, 0.6)', 'rgba(59, 130, 246, 0.38)', 'rgba(59, 130, 246, 0.18)', null,
      'rgba(249, 115, 22, 0.18)', 'rgba(249, 115, 22, 0.38)', 'rgba(249, 115, 22, 0.6)'],
  };
}

/** The bin of v: equal bins over [lo, hi], values outside clamped. */
export function binIndex(v: number, lo: number, hi: number, bins: number): number {
  const x = (v - lo) / (hi - lo);
  if (!(x > 0)) return 0;
  if (x >= 1) return bins - 1;
  return Math.min(bins - 1, Math.floor(x * bins));
}
