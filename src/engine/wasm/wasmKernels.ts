import { JsKernels, type AdamStep, type Kernels } from '../kernels';
import { runAlone } from '../parallel/recurrence';
import type { FusedLstm } from '../speedups';
import type { FloatArray, FloatArrayConstructor } from '../types';
import { WasmHeap } from './heap';
import { bestVariant, instantiate, type KernelExports, type KernelVariant } from './module';

/**
 * The kernels in WebAssembly SIMD (AssemblyScript in ./assembly), float32 only; JsKernels stays the reference
 * they are tested against, and runs everything they do not take.
 *
 * Each instance owns a WebAssembly memory (see WasmHeap for why its views never go stale) and hands it out
 * through the allocation hook: Network, Unroll and Stepper allocate their float32 buffers there, and then every
 * kernel works on them in place. Operands elsewhere still work:
 * - matrix products copy them into scratch in the memory and the result back, O(size) against O(size·K);
 * - elementwise and row-wise steps, which are O(size) themselves, run in TypeScript instead;
 * - float64 operands (gradient checks) always run in TypeScript.
 * Scratch is one block per operand role, grown to the largest size seen: no allocation in steady state.
 */
export class WasmKernels implements Kernels {
  readonly variant: KernelVariant;
  readonly heap: WasmHeap;
  private readonly x: KernelExports;
  private readonly js = new JsKernels();
  private readonly slots: ({ ptr: number; bytes: number } | null)[] = [null, null, null, null, null, null];
  private readonly addresses = new WeakMap<FloatArray, number>();
  private f32: Float32Array = new Float32Array(0); // the whole memory, re-derived after it grows
  private i32: Int32Array = new Int32Array(0);
  /** A WebAssembly memory never shrinks: traces keep their buffers for the next one (Kernels.retainsMemory). */
  readonly retainsMemory = true;
  /** The batch-1 LSTM recurrence in fused per-step calls on this memory (parallel/recurrence.ts). */
  readonly fusedLstm: FusedLstm = {
    packedFloats: (H) => Math.max(this.x.packedForwardFloats(H), this.x.packedBackwardFloats(H)),
    addressOf: (a, off) => this.at(a, off),
    pack: (backward, H, whh, packed) => {
      if (backward) this.x.packBackward(H, whh, packed);
      else this.x.packForward(H, whh, packed);
    },
    run: (run) => runAlone(this.x, run),
  };

  /** Throws when the variant cannot run here; createKernels() picks one that can. */
  constructor(variant: KernelVariant | null = bestVariant()) {
    const inst = variant === null ? null : instantiate(variant);
    if (inst === null) throw new Error(`WebAssembly ${variant ?? 'SIMD'} kernels are not available on this host`);
    this.variant = inst.variant;
    this.x = inst.exports;
    this.heap = new WasmHeap(inst.memory, this.x.heapBase());
  }

  allocate(Float: FloatArrayConstructor, n: number): FloatArray {
    if (Float !== Float32Array) return new Float(n);
    return this.heap.allocate(n) ?? new Float32Array(n);
  }

  gemmNT(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void {
    if (!(A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) || M * N === 0) {
      this.js.gemmNT(M, N, K, A, aOff, B, bOff, C, cOff, accumulate);
      return;
    }
    const a = this.input(A, aOff, M * K, SLOT_A), b = this.input(B, bOff, N * K, SLOT_B);
    const c = this.output(C, cOff, M * N, accumulate);
    if (Math.min(a, b, c) < 0) {
      this.js.gemmNT(M, N, K, A, aOff, B, bOff, C, cOff, accumulate);
      return;
    }
    if (M === 1) this.x.gemv(N, K, a, b, c, accumulate);
    else this.x.gemmNT(M, N, K, a, b, c, accumulate);
    this.writeBack(C, cOff, M * N, c);
  }

  gemmNN(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void {
    if (!(A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) || M * N === 0) {
      this.js.gemmNN(M, N, K, A, aOff, B, bOff, C, cOff, accumulate);
      return;
    }
    const a = this.input(A, aOff, M * K, SLOT_A), b = this.input(B, bOff, K * N, SLOT_B);
    const c = this.output(C, cOff, M * N, accumulate);
    const panels = this.slot(SLOT_PACK_NN, this.x.gemmNNScratchBytes(N) / 4);
    if (Math.min(a, b, c, panels) < 0) {
      this.js.gemmNN(M, N, K, A, aOff, B, bOff, C, cOff, accumulate);
      return;
    }
    this.x.gemmNNPacked(M, N, K, a, b, c, accumulate, panels);
    this.writeBack(C, cOff, M * N, c);
  }

  gemmTN(M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    C: FloatArray, cOff: number, accumulate: boolean): void {
    if (!(A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) || M * N * K === 0) {
      this.js.gemmTN(M, N, K, A, aOff, B, bOff, C, cOff, accumulate);
      return;
    }
    const a = this.input(A, aOff, K * M, SLOT_A), b = this.input(B, bOff, K * N, SLOT_B);
    const c = this.output(C, cOff, M * N, accumulate);
    const panels = this.slot(SLOT_PACK, this.x.gemmTNScratchBytes(M) / 4);
    if (Math.min(a, b, c, panels) < 0) {
      this.js.gemmTN(M, N, K, A, aOff, B, bOff, C, cOff, accumulate);
      return;
    }
    this.x.gemmTN(M, N, K, a, b, c, accumulate, panels);
    this.writeBack(C, cOff, M * N, c);
  }

  addBias(rows: number, n: number, dst: FloatArray, dOff: number, bias: FloatArray, bOff: number): void {
    const d = this.at(dst, dOff), b = this.at(bias, bOff);
    if (d < 0 || b < 0) this.js.addBias(rows, n, dst, dOff, bias, bOff);
    else this.x.addBias(rows, n, d, b);
  }

  addColumnSums(rows: number, n: number, src: FloatArray, sOff: number, dst: FloatArray, dOff: number): void {
    const s = this.at(src, sOff), d = this.at(dst, dOff);
    if (s < 0 || d < 0) this.js.addColumnSums(rows, n, src, sOff, dst, dOff);
    else this.x.addColumnSums(rows, n, s, d);
  }

  gatherRows(rows: number, n: number, ids: Int32Array, table: FloatArray, dst: FloatArray, dOff: number): void {
    const t = this.at(table, 0), d = this.at(dst, dOff), i = t < 0 || d < 0 ? -1 : this.ids(ids, rows);
    if (i < 0) this.js.gatherRows(rows, n, ids, table, dst, dOff);
    else this.x.gatherRows(rows, n, i, t, d);
  }

  scatterAddRows(rows: number, n: number, ids: Int32Array, src: FloatArray, sOff: number, dst: FloatArray): void {
    const s = this.at(src, sOff), d = this.at(dst, 0), i = s < 0 || d < 0 ? -1 : this.ids(ids, rows);
    if (i < 0) this.js.scatterAddRows(rows, n, ids, src, sOff, dst);
    else this.x.scatterAddRows(rows, n, i, s, d);
  }

  addNorm(n: number, a: FloatArray, aOff: number, b: FloatArray, bOff: number, dst: FloatArray, dOff: number): number {
    const pa = this.at(a, aOff), pb = this.at(b, bOff), pd = this.at(dst, dOff);
    if (pa < 0 || pb < 0 || pd < 0) return this.js.addNorm(n, a, aOff, b, bOff, dst, dOff);
    return this.x.addNorm(n, pa, pb, pd);
  }

  softmaxXent(rows: number, V: number, logits: FloatArray, bias: FloatArray, targets: Int32Array): number {
    const l = this.at(logits, 0), b = this.at(bias, 0), t = l < 0 || b < 0 ? -1 : this.ids(targets, rows);
    if (t < 0) return this.js.softmaxXent(rows, V, logits, bias, targets);
    return this.x.softmaxXent(rows, V, l, b, t);
  }

  softmaxXentBackward(rows: number, V: number, probs: FloatArray, targets: Int32Array, scale: number, dlogits: FloatArray): void {
    const p = this.at(probs, 0), d = this.at(dlogits, 0), t = p < 0 || d < 0 ? -1 : this.ids(targets, rows);
    if (t < 0) this.js.softmaxXentBackward(rows, V, probs, targets, scale, dlogits);
    else this.x.softmaxXentBackward(rows, V, p, t, scale, d);
  }

  sumSquares(n: number, a: FloatArray, aOff: number): number {
    const p = this.at(a, aOff);
    return p < 0 ? this.js.sumSquares(n, a, aOff) : this.x.sumSquares(n, p);
  }

  scale(n: number, a: FloatArray, aOff: number, s: number): void {
    const p = this.at(a, aOff);
    if (p < 0) this.js.scale(n, a, aOff, s);
    else this.x.scale(n, p, s);
  }

  adamUpdate(n: number, params: FloatArray, grads: FloatArray, m: FloatArray, v: FloatArray, step: AdamStep): void {
    const pp = this.at(params, 0), pg = this.at(grads, 0), pm = this.at(m, 0), pv = this.at(v, 0);
    if (Math.min(pp, pg, pm, pv) < 0) this.js.adamUpdate(n, params, grads, m, v, step);
    else this.x.adamUpdate(n, pp, pg, pm, pv, step.stepSize, step.bc2Sqrt, step.beta1, step.beta2, step.eps);
  }

  lstmForward(B: number, H: number, xp: FloatArray, xpOff: number, hp: FloatArray, hpOff: number,
    cPrev: FloatArray, cPrevOff: number, act: FloatArray, actOff: number, c: FloatArray, cOff: number,
    tc: FloatArray, tcOff: number, h: FloatArray, hOff: number): void {
    const px = this.at(xp, xpOff), ph = this.at(hp, hpOff), pcp = this.at(cPrev, cPrevOff), pa = this.at(act, actOff);
    const pc = this.at(c, cOff), pt = this.at(tc, tcOff), pho = this.at(h, hOff);
    if (Math.min(px, ph, pcp, pa, pc, pt, pho) < 0) {
      this.js.lstmForward(B, H, xp, xpOff, hp, hpOff, cPrev, cPrevOff, act, actOff, c, cOff, tc, tcOff, h, hOff);
    } else {
      this.x.lstmForward(B, H, px, ph, pcp, pa, pc, pt, pho);
    }
  }

  lstmBackward(B: number, H: number, act: FloatArray, actOff: number, cPrev: FloatArray, cPrevOff: number,
    tc: FloatArray, tcOff: number, dh: FloatArray, dc: FloatArray, da: FloatArray, daOff: number): number {
    const pa = this.at(act, actOff), pcp = this.at(cPrev, cPrevOff), pt = this.at(tc, tcOff);
    const pdh = this.at(dh, 0), pdc = this.at(dc, 0), pda = this.at(da, daOff);
    if (Math.min(pa, pcp, pt, pdh, pdc, pda) < 0) {
      return this.js.lstmBackward(B, H, act, actOff, cPrev, cPrevOff, tc, tcOff, dh, dc, da, daOff);
    }
    return this.x.lstmBackward(B, H, pa, pcp, pt, pdh, pdc, pda);
  }

  gruForward(B: number, H: number, xp: FloatArray, xpOff: number, hp: FloatArray, hpOff: number,
    hPrev: FloatArray, hPrevOff: number, act: FloatArray, actOff: number, hpn: FloatArray, hpnOff: number,
    h: FloatArray, hOff: number): void {
    const px = this.at(xp, xpOff), ph = this.at(hp, hpOff), php = this.at(hPrev, hPrevOff), pa = this.at(act, actOff);
    const pn = this.at(hpn, hpnOff), pho = this.at(h, hOff);
    if (Math.min(px, ph, php, pa, pn, pho) < 0) {
      this.js.gruForward(B, H, xp, xpOff, hp, hpOff, hPrev, hPrevOff, act, actOff, hpn, hpnOff, h, hOff);
    } else {
      this.x.gruForward(B, H, px, ph, php, pa, pn, pho);
    }
  }

  gruBackward(B: number, H: number, act: FloatArray, actOff: number, hpn: FloatArray, hpnOff: number,
    hPrev: FloatArray, hPrevOff: number, dh: FloatArray, dxp: FloatArray, dxpOff: number, dhp: FloatArray,
    dhpOff: number, dhDirect: FloatArray): void {
    const pa = this.at(act, actOff), pn = this.at(hpn, hpnOff), php = this.at(hPrev, hPrevOff), pdh = this.at(dh, 0);
    const pdx = this.at(dxp, dxpOff), pdr = this.at(dhp, dhpOff), pdd = this.at(dhDirect, 0);
    if (Math.min(pa, pn, php, pdh, pdx, pdr, pdd) < 0) {
      this.js.gruBackward(B, H, act, actOff, hpn, hpnOff, hPrev, hPrevOff, dh, dxp, dxpOff, dhp, dhpOff, dhDirect);
    } else {
      this.x.gruBackward(B, H, pa, pn, php, pdh, pdx, pdr, pdd);
    }
  }

  rnnForward(B: number, H: number, xp: FloatArray, xpOff: number, hp: FloatArray, hpOff: number,
    h: FloatArray, hOff: number): void {
    const px = this.at(xp, xpOff), ph = this.at(hp, hpOff), pho = this.at(h, hOff);
    if (Math.min(px, ph, pho) < 0) this.js.rnnForward(B, H, xp, xpOff, hp, hpOff, h, hOff);
    else this.x.rnnForward(B * H, px, ph, pho);
  }

  rnnBackward(B: number, H: number, h: FloatArray, hOff: number, dh: FloatArray, da: FloatArray, daOff: number): void {
    const ph = this.at(h, hOff), pdh = this.at(dh, 0), pda = this.at(da, daOff);
    if (Math.min(ph, pdh, pda) < 0) this.js.rnnBackward(B, H, h, hOff, dh, da, daOff);
    else this.x.rnnBackward(B * H, ph, pdh, pda);
  }

  /**
   * The ReLU RNN's elementwise steps run in TypeScript, on the buffers in this memory in place: they are O(B·H)
   * against the O(B·H·(E + H)) products around them, and a wasm kernel would give the same bits (the sum of two
   * float32 numbers is exact in float64 and rounded once when stored, as float32 addition rounds it; the rest
   * are comparisons).
   */
  rnnReluForward(B: number, H: number, xp: FloatArray, xpOff: number, hp: FloatArray, hpOff: number,
    h: FloatArray, hOff: number): void {
    this.js.rnnReluForward(B, H, xp, xpOff, hp, hpOff, h, hOff);
  }

  rnnReluBackward(B: number, H: number, h: FloatArray, hOff: number, dh: FloatArray, da: FloatArray, daOff: number): void {
    this.js.rnnReluBackward(B, H, h, hOff, dh, da, daOff);
  }

  /** Byte address of a[off] in this memory when a is a float32 buffer of it, else −1 (for a helper thread). */
  addressOf(a: FloatArray, off: number): number {
    return this.at(a, off);
  }

  /** y (+)= W·x on byte addresses in this memory: N rows of K (the batch-1 product of gemmNT). */
  gemvAt(N: number, K: number, x: number, w: number, y: number, accumulate: boolean): void {
    this.x.gemv(N, K, x, w, y, accumulate);
  }

  /** gemmNT on byte addresses in this memory. */
  gemmNTAt(M: number, N: number, K: number, a: number, b: number, c: number, accumulate: boolean): void {
    if (M === 1) this.x.gemv(N, K, a, b, c, accumulate);
    else this.x.gemmNT(M, N, K, a, b, c, accumulate);
  }

  /** gemmNN on byte addresses in this memory. */
  gemmNNAt(M: number, N: number, K: number, a: number, b: number, c: number, accumulate: boolean): void {
    this.x.gemmNN(M, N, K, a, b, c, accumulate);
  }

  /** The module's exports, for code that drives kernels on byte addresses itself (parallel/recurrence.ts). */
  get exports(): KernelExports {
    return this.x;
  }

  /**
   * Byte address of a[off] when a is a float32 buffer of this memory, else −1. Where an array lives never
   * changes (blocks never move), so the answer is cached per array object: a WeakMap lookup instead of the
   * buffer and byteOffset getters and the heap's lookup, a third of the JavaScript cost of a batch-1 step.
   */
  private at(a: FloatArray, off: number): number {
    let base = this.addresses.get(a);
    if (base === undefined) {
      base = a instanceof Float32Array && this.heap.owns(a.buffer) ? a.byteOffset : -1;
      this.addresses.set(a, base);
    }
    return base < 0 ? -1 : base + off * 4;
  }

  /** Address of the n floats a[off…] for reading: in place, or copied into the role's scratch; −1 if full. */
  private input(a: Float32Array, off: number, n: number, role: number): number {
    const p = this.at(a, off);
    if (p >= 0) return p;
    const s = this.slot(role, n);
    if (s >= 0) this.memory().set(a.subarray(off, off + n), s / 4);
    return s;
  }

  /** Address of the n floats C[off…] for writing: in place, or scratch (holding C when accumulating). */
  private output(c: Float32Array, off: number, n: number, accumulate: boolean): number {
    const p = this.at(c, off);
    if (p >= 0) return p;
    const s = this.slot(SLOT_C, n);
    if (s >= 0 && accumulate) this.memory().set(c.subarray(off, off + n), s / 4);
    return s;
  }

  private writeBack(c: Float32Array, off: number, n: number, p: number): void {
    if (this.at(c, off) >= 0) return;
    c.set(this.memory().subarray(p / 4, p / 4 + n), off);
  }

  /** Token ids (i32) copied into scratch, as the engine keeps them in ordinary Int32Arrays; −1 if full. */
  private ids(ids: Int32Array, rows: number): number {
    const p = this.slot(SLOT_IDS, rows);
    if (p < 0) return p;
    if (this.i32.buffer !== this.heap.memory.buffer) this.i32 = new Int32Array(this.heap.memory.buffer);
    const base = p / 4;
    for (let r = 0; r < rows; r++) this.i32[base + r] = ids[r]!;
    return p;
  }

  /** The scratch block of a role, at least n floats, or −1 when the memory cannot hold it. */
  private slot(role: number, n: number): number {
    const bytes = Math.max(n, 1024) * 4;
    const s = this.slots[role];
    if (s !== null && s !== undefined && s.bytes >= bytes) return s.ptr;
    if (s) this.heap.release(s);
    const block = this.heap.reserve(bytes);
    this.slots[role] = block;
    return block === null ? -1 : block.ptr;
  }

  private memory(): Float32Array {
    if (this.f32.buffer !== this.heap.memory.buffer) this.f32 = new Float32Array(this.heap.memory.buffer);
    return this.f32;
  }
}

/** Scratch roles: the operands of a product copied in from outside the memory, gemmTN's and gemmNN's panels, token ids. */
const SLOT_A = 0, SLOT_B = 1, SLOT_C = 2, SLOT_PACK = 3, SLOT_IDS = 4, SLOT_PACK_NN = 5;

export type KernelsChoice = 'auto' | 'wasm' | 'js';

/**
 * Kernels for a float32 network. 'auto' (the default): WebAssembly SIMD where the host runs it (relaxed SIMD if
 * it validates), else the TypeScript kernels. 'wasm' insists (and throws where it cannot run); 'js' is the
 * reference. A float64 network gets the TypeScript kernels either way: only they compute in float64.
 */
export function createKernels(choice: KernelsChoice = 'auto', Float: FloatArrayConstructor = Float32Array): Kernels {
  if (choice === 'js' || Float !== Float32Array) return new JsKernels();
  if (choice === 'wasm') return new WasmKernels();
  const variant = bestVariant();
  return variant === null ? new JsKernels() : new WasmKernels(variant);
}
