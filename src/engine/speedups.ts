import type { FloatArray } from './types';

/**
 * What the engine's core asks of its speed-ups, and nothing more. The core (network, unroll, trace, reach, …)
 * computes on the `Kernels` interface (kernels.ts) and these two optional interfaces; the implementations — the
 * WebAssembly SIMD kernels and their fused recurrence (wasm/), the helper threads (parallel/) — depend on the
 * core, never the other way round, and reach it through the wiring module backend.ts, which the worker and the
 * CLI call. `npm run lint` enforces the direction.
 */

/**
 * One layer's batch-1 LSTM forward or backward over T steps, for a fused recurrence: every buffer is a byte
 * address in the kernels' memory (see FusedLstm.addressOf).
 */
export interface LstmRun {
  readonly backward: boolean;
  readonly T: number;
  readonly H: number;
  readonly whh: number;   // W_hh packed for the pass (FusedLstm.pack)
  readonly bhh: number;   // (4H), forward only
  readonly xp: number;    // (T, 4H) forward: W_ih·x_t + b_ih; backward: ∂L/∂a_t written here
  readonly hs: number;    // (T+1, H) slot 0 = h_{-1}; forward writes slots 1…T
  readonly cs: number;    // (T+1, H) the same for c
  readonly act: number;   // (4, capacity, H) gate-major i, f, g, o: gate blocks actGate bytes apart, step t at t·H
  readonly actGate: number;
  readonly tc: number;    // (T, H) tanh(c_t)
  readonly dhOut: number; // (T, H) backward: ∂L/∂h_t through the output
  readonly dc: number;    // (T+1, H) backward: slot t+1 = ∂L/∂c_t through c_{t+1}; slot T must be zero
  readonly sq: number;    // (T, 2 halves, 2) float64 backward: Σ dh², Σ dc² per half
}

/**
 * A batch-1 LSTM layer's whole recurrence in fused per-step kernel calls (each step's W_hh product and cell in
 * one call, W_hh packed for the pass): what kernels that offer it expose as `Kernels.fusedLstm`. The numbers are
 * the cells' of cells.ts; the per-timestep gradient norms come out in `sq` as float64 halves.
 */
export interface FusedLstm {
  /** Floats a packed W_hh of an H-unit layer needs, for either pass. */
  packedFloats(H: number): number;
  /** The byte address of a[off] in the kernels' memory, or −1 when a lies outside it. */
  addressOf(a: FloatArray, off: number): number;
  /** Packs the (4H, H) W_hh at byte address `whh` for the forward or the backward pass into `packed`. */
  pack(backward: boolean, H: number, whh: number, packed: number): void;
  /** Runs the layer's recurrence on this thread. */
  run(run: LstmRun): void;
}

/**
 * A helper thread that takes half the rows of a batch-1 trace's products (bit-identical to one thread). Each
 * method returns false (gemv, gemm) when it did not take the product — operands outside the kernels' memory, a
 * helper not ready or given up — and the caller then runs the kernel itself.
 */
export interface RowHelper {
  /** Whether the helper was stopped or given up (products then run on the calling thread). */
  readonly stopped: boolean;
  /** Waits up to `ms` for the helper to be ready; true when it is. */
  waitReady(ms: number): boolean;
  /** y[yOff…] (+)= W·x: the batch-1 gemmNT(1, N, K, x, xOff, W, wOff, y, yOff). */
  gemv(N: number, K: number, x: FloatArray, xOff: number, w: FloatArray, wOff: number, y: FloatArray, yOff: number,
    accumulate: boolean): boolean;
  /** C (+)= A·Bᵀ (nt) or A·B with A (M, K), split by rows of A and C. */
  gemm(nt: boolean, M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    Cm: FloatArray, cOff: number, accumulate: boolean): boolean;
  /** A fused LSTM recurrence, half the units on each thread (or all on this one while the helper is not there). */
  lstm(run: LstmRun): void;
  /** Stops the helper thread. */
  dispose(): void;
}
