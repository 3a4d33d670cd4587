import type { FloatArray, FloatArrayConstructor } from './types';

/** Gradient clipping, as PyTorch's torch.nn.utils.clip_grad_norm_ (global) or clip_grad_value_ (element-wise). */
export type ClipMode = 'norm' | 'value';

export interface ClipReport {
  /** Global L2 norm of the gradient before clipping (what clip_grad_norm_ returns). */
  readonly gradNorm: number;
  /** Factor the gradient was scaled by (1 = untouched); for element-wise clipping, the fraction of entries left unclipped. */
  readonly clipRatio: number;
}

export function globalNorm(g: FloatArray): number {
  let sq = 0;
  for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  return Math.sqrt(sq);
}

/**
 * Clips g in place. 'norm': g ← g · min(1, max / (‖g‖ + 1e-6)), the 1e-6 exactly as PyTorch has it.
 * 'value': every entry into [−max, max]. max = 0 or Infinity disables clipping.
 */
export function clipGradients(g: FloatArray, mode: ClipMode, max: number): ClipReport {
  const gradNorm = globalNorm(g);
  if (!(max > 0) || max === Infinity) return { gradNorm, clipRatio: 1 };
  if (mode === 'norm') {
    const coef = max / (gradNorm + 1e-6);
    if (coef < 1) for (let i = 0; i < g.length; i++) g[i] *= coef;
    return { gradNorm, clipRatio: Math.min(1, coef) };
  }
  let clipped = 0;
  for (let i = 0; i < g.length; i++) {
    const x = g[i]!;
    if (x > max) { g[i] = max; clipped++; } else if (x < -max) { g[i] = -max; clipped++; }
  }
  return { gradNorm, clipRatio: g.length > 0 ? 1 - clipped / g.length : 1 };
}

export interface AdamOptions {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/** PyTorch's torch.optim.Adam defaults (weight decay 0, no AMSGrad). */
export const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/**
 * Adam (Kingma & Ba 2015, Algorithm 1) as torch.optim.Adam computes it:
 *   m ← β1·m + (1 − β1)·g        v ← β2·v + (1 − β2)·g²
 *   θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * The moments m, v share the parameters' flat layout.
 */
export class Adam {
  readonly m: FloatArray; // (P)
  readonly v: FloatArray; // (P)
  /** Number of updates taken (t in the equations). */
  step = 0;

  constructor(size: number, public options: AdamOptions, Float: FloatArrayConstructor = Float32Array) {
    this.m = new Float(size);
    this.v = new Float(size);
  }

  update(params: FloatArray, grads: FloatArray): void {
    const { lr, beta1, beta2, eps } = this.options;
    this.step++;
    const stepSize = lr / (1 - Math.pow(beta1, this.step));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, this.step));
    const { m, v } = this;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] -= (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    }
  }
}
