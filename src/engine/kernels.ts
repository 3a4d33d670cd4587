import { gruBackward, gruForward, lstmBackward, lstmForward, rnnBackward, rnnForward, rnnReluBackward, rnnReluForward } from './cells';
import type { FusedLstm } from './speedups';
import type { FloatArray, FloatArrayConstructor } from './types';

/**
 * The engine's numeric work behind one interface, so faster implementations (WebAssembly SIMD) can replace the
 * TypeScript reference ones and be tested against them: the matrix products, the cells' elementwise steps and
 * the row-wise loops around them. All matrices are row-major and contiguous; each operand is an (array, offset)
 * pair so callers pass slices of larger buffers without allocating views. `accumulate` selects C += A·B
 * (gradients, always accumulated into explicitly zeroed buffers) or C = A·B.
 *
 * Dimension legend: rows × n blocks; M, N, K for products; B lanes, H hidden, V vocab as in the cells.
 */
export interface Kernels {
  /**
   * The allocation hook: a zero-filled array of n numbers for an engine buffer. Implementations may place it
   * where their kernels work fastest (WasmKernels: float32 buffers in its WebAssembly memory); every kernel
   * still accepts any array.
   */
  allocate(Float: FloatArrayConstructor, n: number): FloatArray;

  /** C[M,N] (+)= A[M,K] · B[N,K]ᵀ — the forward projection x·Wᵀ with W stored as PyTorch does, [out, in]. */
  gemmNT(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void;
  /** C[M,N] (+)= A[M,K] · B[K,N] — backprop to the input, dx = da·W. */
  gemmNN(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void;
  /** C[M,N] (+)= A[K,M]ᵀ · B[K,N] — weight gradients, dW = daᵀ·x summed over all K = T·B rows. */
  gemmTN(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void;

  /** dst[r, j] += bias[j] over a (rows, n) block: a projection's bias, broadcast. */
  addBias(rows: number, n: number, dst: FloatArray, dOff: number, bias: FloatArray, bOff: number): void;
  /** dst[j] += Σ_r src[r, j] over a (rows, n) block, rows in order: a bias gradient. */
  addColumnSums(rows: number, n: number, src: FloatArray, sOff: number, dst: FloatArray, dOff: number): void;
  /** dst[r, :] = table[ids[r], :] for r < rows: a lookup of (·, n) rows by token. */
  gatherRows(rows: number, n: number, ids: Int32Array, table: FloatArray, dst: FloatArray, dOff: number): void;
  /** dst[ids[r], :] += src[r, :] for r < rows, in order: the gradient of gatherRows. */
  scatterAddRows(rows: number, n: number, ids: Int32Array, src: FloatArray, sOff: number, dst: FloatArray): void;
  /** dst = a + b over n entries; returns Σ dst² (the squared norm, accumulated in float64). */
  addNorm(n: number, a: FloatArray, aOff: number, b: FloatArray, bOff: number, dst: FloatArray, dOff: number): number;
  /**
   * Softmax cross-entropy forward over (rows, V), in place: logits ← softmax(logits + bias) row by row. Returns
   * Σ −log p_target over the rows whose target is ≥ 0.
   */
  softmaxXent(rows: number, V: number, logits: FloatArray, bias: FloatArray, targets: Int32Array): number;
  /** ∂L/∂logits (rows, V) = (p − onehot(target))·scale on rows with a target, 0 on the others. */
  softmaxXentBackward(rows: number, V: number, probs: FloatArray, targets: Int32Array, scale: number, dlogits: FloatArray): void;

  /** Σ a[k]² over n entries, in float64: the squared global norm of a gradient for clipping. */
  sumSquares(n: number, a: FloatArray, aOff: number): number;
  /** a[k] ← a[k]·s over n entries (the product in float64, then stored): clipping by the global norm. */
  scale(n: number, a: FloatArray, aOff: number, s: number): void;
  /**
   * One Adam step over n parameters θ with gradient g and moments m, v of the same layout (optim.ts, Adam):
   *   m ← β1·m + (1 − β1)·g    v ← β2·v + (1 − β2)·g²    θ ← θ − stepSize·m / (√v / bc2Sqrt + ε)
   * with stepSize = lr / (1 − β1^t) and bc2Sqrt = √(1 − β2^t), every operation in float64 and each of θ, m, v
   * rounded once when stored; θ uses the unrounded m, v.
   */
  adamUpdate(n: number, params: FloatArray, grads: FloatArray, m: FloatArray, v: FloatArray, step: AdamStep): void;

  /** The cells' elementwise steps, exactly as (and specified by) the functions of the same names in cells.ts. */
  lstmForward: typeof lstmForward;
  lstmBackward: typeof lstmBackward;
  gruForward: typeof gruForward;
  gruBackward: typeof gruBackward;
  rnnForward: typeof rnnForward;
  rnnBackward: typeof rnnBackward;
  rnnReluForward: typeof rnnReluForward;
  rnnReluBackward: typeof rnnReluBackward;

  /** The batch-1 LSTM recurrence fused per step (speedups.ts), where these kernels offer it. */
  readonly fusedLstm?: FusedLstm;
  /**
   * Whether allocate() hands out a memory that never shrinks (WebAssembly's): a trace then keeps its buffers for
   * the next one (trace.ts), since giving them up would not give the memory back.
   */
  readonly retainsMemory?: boolean;
}

/**
 * The kernels a network gets when its maker names none: the TypeScript reference, unless the wiring module
 * (backend.ts, called by the worker, the CLI and the extension) installed faster ones. The core never imports
 * the fast kernels itself.
 */
let preferred: ((Float: FloatArrayConstructor) => Kernels) | null = null;

/** Installs the kernels networks get by default (backend.ts); null restores the reference. */
export function setDefaultKernels(make: ((Float: FloatArrayConstructor) => Kernels) | null): void {
  preferred = make;
}

export function defaultKernels(Float: FloatArrayConstructor): Kernels {
  return preferred !== null ? preferred(Float) : new JsKernels();
}

/** The scalars of one Adam step (see Kernels.adamUpdate). */
export interface AdamStep {
  readonly stepSize: number;
  readonly bc2Sqrt: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/**
 * The reference kernels in TypeScript, for float32 and float64 alike. One tuned kernel does the matrix work:
 * gemmNT, a 4×4 register-blocked dot-product GEMM whose operands are both contiguous along K. gemmNN and gemmTN
 * transpose their operands into scratch (O(size) work against O(size·K) for the product) and call it, so all
 * three run at its speed. Scratch grows to the largest size seen and is then reused: no allocation in steady
 * state. The elementwise steps are the cells.ts functions; the row-wise loops are plain loops.
 */
export class JsKernels implements Kernels {
  private scratchA32 = new Float32Array(0);
  private scratchB32 = new Float32Array(0);
  private scratchA64 = new Float64Array(0);
  private scratchB64 = new Float64Array(0);

  readonly lstmForward = lstmForward;
  readonly lstmBackward = lstmBackward;
  readonly gruForward = gruForward;
  readonly gruBackward = gruBackward;
  readonly rnnForward = rnnForward;
  readonly rnnBackward = rnnBackward;
  readonly rnnReluForward = rnnReluForward;
  readonly rnnReluBackward = rnnReluBackward;

  allocate(Float: FloatArrayConstructor, n: number): FloatArray {
    return new Float(n);
  }

  gemmNT(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void {
    gemmNT(M, N, K, A, aOff, B, bOff, C, cOff, accumulate);
  }

  gemmNN(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void {
    const Bt = this.scratch(B, 'B', K * N); // (N, K)
    transpose(K, N, B, bOff, Bt, 0);
    gemmNT(M, N, K, A, aOff, Bt, 0, C, cOff, accumulate);
  }

  gemmTN(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void {
    const At = this.scratch(A, 'A', K * M); // (M, K)
    const Bt = this.scratch(B, 'B', K * N); // (N, K)
    transpose(K, M, A, aOff, At, 0);
    transpose(K, N, B, bOff, Bt, 0);
    gemmNT(M, N, K, At, 0, Bt, 0, C, cOff, accumulate);
  }

  addBias(rows: number, n: number, dst: FloatArray, dOff: number, bias: FloatArray, bOff: number): void {
    for (let r = 0; r < rows; r++) addRow(dst, dOff + r * n, bias, bOff, n);
  }

  addColumnSums(rows: number, n: number, src: FloatArray, sOff: number, dst: FloatArray, dOff: number): void {
    for (let r = 0; r < rows; r++) addRow(dst, dOff, src, sOff + r * n, n);
  }

  gatherRows(rows: number, n: number, ids: Int32Array, table: FloatArray, dst: FloatArray, dOff: number): void {
    for (let r = 0; r < rows; r++) {
      const s = ids[r]! * n, d = dOff + r * n;
      for (let j = 0; j < n; j++) dst[d + j] = table[s + j]!;
    }
  }

  scatterAddRows(rows: number, n: number, ids: Int32Array, src: FloatArray, sOff: number, dst: FloatArray): void {
    for (let r = 0; r < rows; r++) addRow(dst, ids[r]! * n, src, sOff + r * n, n);
  }

  addNorm(n: number, a: FloatArray, aOff: number, b: FloatArray, bOff: number, dst: FloatArray, dOff: number): number {
    let sq = 0;
    for (let k = 0; k < n; k++) {
      const d = a[aOff + k]! + b[bOff + k]!;
      dst[dOff + k] = d;
      sq += d * d;
    }
    return sq;
  }

  softmaxXent(rows: number, V: number, logits: FloatArray, bias: FloatArray, targets: Int32Array): number {
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const o = r * V;
      addRow(logits, o, bias, 0, V);
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[o + v]!);
      let z = 0;
      for (let v = 0; v < V; v++) {
        const e = Math.exp(logits[o + v]! - max);
        logits[o + v] = e;
        z += e;
      }
      const target = targets[r]!;
      // −log p_target computed from the logits, exact even where p_target underflows float32
      if (target >= 0) sum += Math.log(z) - Math.log(logits[o + target]!);
      const inv = 1 / z;
      for (let v = 0; v < V; v++) logits[o + v] *= inv;
    }
    return sum;
  }

  sumSquares(n: number, a: FloatArray, aOff: number): number {
    let sq = 0;
    for (let k = aOff; k < aOff + n; k++) sq += a[k]! * a[k]!;
    return sq;
  }

  scale(n: number, a: FloatArray, aOff: number, s: number): void {
    for (let k = aOff; k < aOff + n; k++) a[k] *= s;
  }

  adamUpdate(n: number, params: FloatArray, grads: FloatArray, m: FloatArray, v: FloatArray, step: AdamStep): void {
    const { stepSize, bc2Sqrt, beta1, beta2, eps } = step;
    for (let i = 0; i < n; i++) {
      const g = grads[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] -= (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    }
  }

  softmaxXentBackward(rows: number, V: number, probs: FloatArray, targets: Int32Array, scale: number, dlogits: FloatArray): void {
    for (let r = 0; r < rows; r++) {
      const o = r * V;
      const target = targets[r]!;
      if (target < 0) {
        dlogits.fill(0, o, o + V);
        continue;
      }
      for (let v = 0; v < V; v++) dlogits[o + v] = probs[o + v]! * scale;
      dlogits[o + target] -= scale;
    }
  }

  private scratch(like: FloatArray, which: 'A' | 'B', size: number): FloatArray {
    if (like instanceof Float64Array) {
      if (which === 'A') return this.scratchA64.length >= size ? this.scratchA64 : (this.scratchA64 = new Float64Array(grow(size)));
      return this.scratchB64.length >= size ? this.scratchB64 : (this.scratchB64 = new Float64Array(grow(size)));
    }
    if (which === 'A') return this.scratchA32.length >= size ? this.scratchA32 : (this.scratchA32 = new Float32Array(grow(size)));
    return this.scratchB32.length >= size ? this.scratchB32 : (this.scratchB32 = new Float32Array(grow(size)));
  }
}

function grow(size: number): number {
  return Math.max(size, 1024);
}

/** dst[dOff : dOff+n] += src[sOff : sOff+n] */
function addRow(dst: FloatArray, dOff: number, src: FloatArray, sOff: number, n: number): void {
  for (let j = 0; j < n; j++) dst[dOff + j] += src[sOff + j]!;
}

/** dst[C,R] = src[R,C]ᵀ, in 8×8 tiles so both sides stay in cache. */
export function transpose(R: number, Cc: number, src: FloatArray, sOff: number, dst: FloatArray, dOff: number): void {
  const TILE = 8;
  for (let r0 = 0; r0 < R; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, R);
    for (let c0 = 0; c0 < Cc; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, Cc);
      for (let r = r0; r < r1; r++) {
        const s = sOff + r * Cc;
        for (let c = c0; c < c1; c++) dst[dOff + c * R + r] = src[s + c]!;
      }
    }
  }
}

/** C[M,N] (+)= A[M,K]·B[N,K]ᵀ. 4×4 blocks of C live in 16 locals; each k loads 8 values for 16 multiply-adds. */
export function gemmNT(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
  C: FloatArray, cOff: number, accumulate: boolean): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = aOff + i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    const r0 = cOff + i * N, r1 = r0 + N, r2 = r1 + N, r3 = r2 + N;
    for (let j = 0; j < N4; j += 4) {
      const b0 = bOff + j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
        const y0 = B[b0 + k]!, y1 = B[b1 + k]!, y2 = B[b2 + k]!, y3 = B[b3 + k]!;
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      if (accumulate) {
        C[r0 + j] += c00; C[r0 + j + 1] += c01; C[r0 + j + 2] += c02; C[r0 + j + 3] += c03;
        C[r1 + j] += c10; C[r1 + j + 1] += c11; C[r1 + j + 2] += c12; C[r1 + j + 3] += c13;
        C[r2 + j] += c20; C[r2 + j + 1] += c21; C[r2 + j + 2] += c22; C[r2 + j + 3] += c23;
        C[r3 + j] += c30; C[r3 + j + 1] += c31; C[r3 + j + 2] += c32; C[r3 + j + 3] += c33;
      } else {
        C[r0 + j] = c00; C[r0 + j + 1] = c01; C[r0 + j + 2] = c02; C[r0 + j + 3] = c03;
        C[r1 + j] = c10; C[r1 + j + 1] = c11; C[r1 + j + 2] = c12; C[r1 + j + 3] = c13;
        C[r2 + j] = c20; C[r2 + j + 1] = c21; C[r2 + j + 2] = c22; C[r2 + j + 3] = c23;
        C[r3 + j] = c30; C[r3 + j + 1] = c31; C[r3 + j + 2] = c32; C[r3 + j + 3] = c33;
      }
    }
    for (let j = N4; j < N; j++) {
      const b0 = bOff + j * K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const y = B[b0 + k]!;
        s0 += A[a0 + k]! * y; s1 += A[a1 + k]! * y; s2 += A[a2 + k]! * y; s3 += A[a3 + k]! * y;
      }
      if (accumulate) { C[r0 + j] += s0; C[r1 + j] += s1; C[r2 + j] += s2; C[r3 + j] += s3; }
      else { C[r0 + j] = s0; C[r1 + j] = s1; C[r2 + j] = s2; C[r3 + j] = s3; }
    }
  }
  // leftover rows: one row of A against four rows of B at a time (this is also the batch-1 matrix-vector path)
  for (let i = M4; i < M; i++) {
    const a0 = aOff + i * K;
    const r0 = cOff + i * N;
    for (let j = 0; j < N4; j += 4) {
      const b0 = bOff + j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a0 + k]!;
        s0 += x * B[b0 + k]!; s1 += x * B[b1 + k]!; s2 += x * B[b2 + k]!; s3 += x * B[b3 + k]!;
      }
      if (accumulate) { C[r0 + j] += s0; C[r0 + j + 1] += s1; C[r0 + j + 2] += s2; C[r0 + j + 3] += s3; }
      else { C[r0 + j] = s0; C[r0 + j + 1] = s1; C[r0 + j + 2] = s2; C[r0 + j + 3] = s3; }
    }
    for (let j = N4; j < N; j++) {
      const b0 = bOff + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k]! * B[b0 + k]!;
      if (accumulate) C[r0 + j] += s; else C[r0 + j] = s;
    }
  }
}
