import type { TensorHistoryRow } from '../../src/protocol/worker';

/**
 * What the dashboard shows of the per-tensor diagnostics (engine/diagnostics.ts): the update ratio ‖Δθ‖/‖θ‖ of every
 * tensor at every stats step as a heatmap on a log scale, the gradient norm per layer, and hints in words. Pure.
 * Dimension legend: K tensors, M stats rows.
 *
 * The rule of thumb: an update ratio around 1e-3 is healthy (Karpathy, CS231n "Neural Networks Part 3", ratio of
 * weights:updates); far below it a tensor barely learns ("lethargic" weights, near the input of a deep or plain
 * recurrent network), far above it moves too fast.
 */

/** The heatmap's colour scale: log10 of the update ratio from 1e-7 to 1e-1. */
export const RATIO_LOG_MIN = -7;
export const RATIO_LOG_MAX = -1;
/** Below this a tensor "barely learns". */
export const LETHARGIC_RATIO = 1e-5;
/** A global gradient norm this many times the step before is an explosion. */
export const EXPLOSION_JUMP = 10;

/** (K, M) log10 update ratios, row k = tensor k in time order; NaN where not measured. */
export function ratioGrid(rows: readonly TensorHistoryRow[], K: number): Float32Array {
  const M = rows.length;
  const out = new Float32Array(K * M).fill(NaN);
  rows.forEach((r, m) => {
    for (let k = 0; k < K; k++) {
      const u = r.update[k];
      if (u !== null && u !== undefined && u > 0) out[k * M + m] = Math.log10(u);
    }
  });
  return out;
}

/** The layer a tensor belongs to: rnn.*_l{l} → l; the embedding and the decoder stand apart (null). */
export function layerOf(name: string): number | null {
  const m = /_l(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Per layer (and the embedding and decoder), points {x: step, y: ‖∂L/∂θ‖ of the layer's tensors together}. */
export function layerGradSeries(names: readonly string[], rows: readonly TensorHistoryRow[]): { label: string; points: { x: number; y: number }[] }[] {
  const groups = new Map<string, number[]>();
  names.forEach((n, k) => {
    const l = layerOf(n);
    const label = l !== null ? `layer ${l} (rnn.*_l${l})` : n.startsWith('encoder') ? 'embedding (encoder.*)' : n.startsWith('decoder') ? 'decoder (decoder.*)' : n;
    groups.set(label, [...(groups.get(label) ?? []), k]);
  });
  return [...groups].map(([label, ks]) => ({
    label,
    points: rows.map((r) => ({ x: r.step, y: Math.sqrt(ks.reduce((s, k) => s + (r.grad[k] ?? 0) ** 2, 0)) })).filter((p) => p.y > 0 && Number.isFinite(p.y)),
  }));
}

export interface TrainingHint {
  readonly kind: 'lethargic' | 'exploding';
  readonly text: string;
}

/**
 * Hints in words: each tensor whose update ratio stayed below LETHARGIC_RATIO over the last `recent` stats rows
 * ("barely learning"), and the last step at which the global gradient norm jumped EXPLOSION_JUMP× from the report
 * before ("exploding"), with what clipping did to it.
 */
export function trainingHints(names: readonly string[], rows: readonly TensorHistoryRow[], steps: ArrayLike<number>,
  gradNorm: ArrayLike<number>, clipRatio: ArrayLike<number>, n: number, recent = 5): TrainingHint[] {
  const hints: TrainingHint[] = [];
  const last = rows.slice(-recent);
  if (last.length === recent) {
    names.forEach((name, k) => {
      const ratios = last.map((r) => r.update[k]).filter((u): u is number => typeof u === 'number');
      if (ratios.length === recent && ratios.every((u) => u < LETHARGIC_RATIO)) {
        const mean = ratios.reduce((s, u) => s + u, 0) / ratios.length;
        hints.push({ kind: 'lethargic', text: `${name} is barely learning: ‖Δθ‖/‖θ‖ ≈ ${mean.toExponential(1)} over the last ${recent} measurements (healthy ≈ 1e-3).` });
      }
    });
  }
  for (let i = n - 1; i >= 1; i--) {
    const before = gradNorm[i - 1]!, now = gradNorm[i]!;
    if (before > 0 && Number.isFinite(now) && now >= EXPLOSION_JUMP * before) {
      const c = clipRatio[i]!;
      const clip = c < 1 ? `clipping scaled that step's gradient by ${c.toFixed(2)} (to norm ${(now * c).toPrecision(3)})` : 'it was not clipped';
      hints.push({ kind: 'exploding', text: `Exploding: the gradient norm jumped ${(now / before).toFixed(0)}× at step ${steps[i]} (${before.toPrecision(3)} → ${now.toPrecision(3)}); ${clip}.` });
      break;
    }
  }
  return hints;
}
