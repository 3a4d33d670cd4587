import { JsKernels, type Kernels } from './kernels';
import type { ClipMode, FloatArray, FloatArrayConstructor } from './types';

export type { ClipMode };

export interface ClipReport {
  /** Global L2 norm of the gradient before clipping (what clip_grad_norm_ returns). */
  readonly gradNorm: number;
  /** Factor the gradient was scaled by (1 = untouched); for element-wise clipping, the fraction of entries left unclipped. */
  readonly clipRatio: number;
}

/** The TypeScript kernels: the reference the optimiser runs on unless given the network's. */
const reference = new JsKernels();

/** ‖g‖₂, the sum of squares in float64. */
export function globalNorm(g: FloatArray, kernels: Kernels = reference): number {
  return Math.sqrt(kernels.sumSquares(g.length, g, 0));
}

/**
 * Clips g in place. 'norm': g ← g · min(1, max / (‖g‖ + 1e-6)), the 1e-6 exactly as PyTorch has it.
 * 'value': every entry into [−max, max]. max = 0 or Infinity disables clipping. The norm and the scaling run on
 * `kernels` (the network's, so in WebAssembly where g lives in its memory).
 */
export function clipGradients(g: FloatArray, mode: ClipMode, max: number, kernels: Kernels = reference): ClipReport {
  const gradNorm = globalNorm(g, kernels);
  if (!(max > 0) || max === Infinity) return { gradNorm, clipRatio: 1 };
  if (mode === 'norm') {
    const coef = max / (gradNorm + 1e-6);
    if (coef < 1) kernels.scale(g.length, g, 0, coef);
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
 * The moments m, v share the parameters' flat layout; they are allocated by, and the step runs on, `kernels`
 * (Kernels.adamUpdate: the same float64 arithmetic in TypeScript and WebAssembly, so the same numbers).
 */
export class Adam {
  readonly m: FloatArray; // (P)
  readonly v: FloatArray; // (P)
  /** Number of updates taken (t in the equations). */
  step = 0;

  constructor(size: number, public options: AdamOptions, Float: FloatArrayConstructor = Float32Array,
    private readonly kernels: Kernels = reference) {
    this.m = kernels.allocate(Float, size);
    this.v = kernels.allocate(Float, size);
  }

  update(params: FloatArray, grads: FloatArray): void {
    const { lr, beta1, beta2, eps } = this.options;
    this.step++;
    const stepSize = lr / (1 - Math.pow(beta1, this.step));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, this.step));
    this.kernels.adamUpdate(params.length, params, grads, this.m, this.v, { stepSize, bc2Sqrt, beta1, beta2, eps });
  }
}
