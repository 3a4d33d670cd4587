import type { FloatArray } from '../types';
import { instantiateOn } from '../wasm/module';
import { WasmKernels } from '../wasm/wasmKernels';
import type { Kernels } from '../kernels';
import type { RowHelper } from '../speedups';
import { type LstmRun, readRun, RUN_WORDS, runAlone, runShared, writeRun } from './recurrence';
import type { RowSplitSpec, ShardThread, ThreadHost } from './threads';

/**
 * Batch-1 matrix–vector products (and a trace's large products over all timesteps, gemm()) split by output rows
 * over two threads: the trace's recurrent products
 * (W_hh·h forward, W_hhᵀ·da backward) are sequential in time, so the second core can only help inside a step.
 * This thread computes rows [0, s) and a helper thread rows [s, N) with the same wasm kernel on the same
 * memory (the network's shared WebAssembly.Memory, instantiated a second time in the helper). Each output
 * element is computed by the same code on the same inputs whichever thread computes it, and s is a multiple of
 * the kernel's 8-row block, so the result is bit-identical to the one-thread product. Each thread touches only
 * its half of the weights: 512 KB of a 256-unit LSTM's W_hh, which stays in the core's L2 across a layer's steps.
 *
 * Handshake per product (~15 µs of work a side): this thread writes the arguments, bumps SEQ (and notifies, for a
 * helper that went to sleep), computes its rows, and spins until DONE = SEQ. The helper spins on SEQ for up to
 * SPIN_MS between products, then sleeps in Atomics.wait until the next one.
 *
 * Fallback: until the helper reports READY (it is still starting), and for good once it failed or stopped
 * answering, this thread computes every row itself. The numbers are the same either way.
 */

/**
 * Control words (Int32Array indices); a shared LSTM run (recurrence.ts) keeps its arguments and claim words from
 * index 16 on. GEN is odd while the coordinator writes a command's arguments: a helper that finds it changed
 * across its reading of them skips the command (only a run, which the coordinator never waits for, can be
 * overtaken by the next command while a late helper reads it).
 */
const C = { SEQ: 0, DONE: 1, READY: 2, OP: 3, M: 4, N: 5, K: 6, A: 7, B: 8, C: 9, ACC: 10, SLEEPING: 11, GEN: 12, HELPED: 13, SIZE: RUN_WORDS.SIZE } as const;
/** OP values: the kernel the helper runs on its rows, or its side of a shared LSTM run (M = the run's base). */
const OP = { GEMV: 0, GEMM_NT: 1, GEMM_NN: 2, LSTM: 3 } as const;
/** Claim values of shared runs grow by T + 1 a run; they are reset (with the helper idle) past this. */
const MAX_RUN_BASE = 1 << 30;
/** Products split by rows of M are cut at a multiple of this: gemmNT's 2-row and gemmNN's 4-row blocks. */
const M_BLOCK = 8;
const STOP = -1;
/** READY values: the helper's kernels failed to start. */
const FAILED = -1;
/** How long the helper spins for the next product before it sleeps. */
const SPIN_MS = 2;
/**
 * The back-off when the helper lags (another process has its core, so this thread spins while it is off the
 * CPU): over a window of WINDOW split products, spinning for the helper more than LAG of the window's wall time
 * sends the next products to this thread alone (MIN_SOLO, doubling on each consecutive lagging window up to
 * MAX_SOLO); then the helper is tried again. Normally the spinning is about 5% (the helper's half ends at about
 * the time this thread's does); a lagging window is mostly the helper preempted for a few milliseconds.
 */
const WINDOW = 256, LAG = 0.3, MIN_SOLO = 256, MAX_SOLO = 8192;
/** A window ends early once this much was spun in it: a helper off the CPU is noticed within a timeslice. */
const LONG_WAIT_MS = 1;
/** Longest wait for the helper's rows before it is given up (its rows are then computed here). */
const HELPER_TIMEOUT_MS = 2000;


/** A helper thread's whole life: instantiate the kernels on the memory, serve products until STOP. */
export function serveRows(spec: RowSplitSpec): void {
  const { ctrl } = spec;
  let inst;
  try {
    inst = instantiateOn(spec.variant, spec.memory);
  } catch {
    inst = null;
  }
  if (inst === null) {
    Atomics.store(ctrl, C.READY, FAILED);
    return;
  }
  const x = inst.exports;
  Atomics.store(ctrl, C.READY, 1);
  let seen = 0;
  for (;;) {
    let s = Atomics.load(ctrl, C.SEQ);
    if (s === seen) {
      const until = performance.now() + SPIN_MS;
      for (let i = 0; s === seen; i++) {
        if ((i & 255) === 255 && performance.now() > until) {
          // SLEEPING before the wait, which rechecks SEQ: a product published after this store is notified
          Atomics.store(ctrl, C.SLEEPING, 1);
          Atomics.wait(ctrl, C.SEQ, seen);
          Atomics.store(ctrl, C.SLEEPING, 0);
        }
        s = Atomics.load(ctrl, C.SEQ);
      }
    }
    if (s === STOP) return;
    seen = s;
    const gen = Atomics.load(ctrl, C.GEN);
    const op = ctrl[C.OP]!, M = ctrl[C.M]!, N = ctrl[C.N]!, K = ctrl[C.K]!, acc = ctrl[C.ACC] !== 0;
    const run = op === OP.LSTM ? readRun(ctrl) : null;
    if ((gen & 1) !== 0 || Atomics.load(ctrl, C.GEN) !== gen) {
      // overtaken while reading: a newer command is (being) published; SEQ shows it next
    } else if (run !== null) {
      const ran = runShared(x, run, { ctrl, me: 1, base: M, stalled: () => Atomics.load(ctrl, C.SEQ) === STOP });
      if (ran > 0) Atomics.add(ctrl, C.HELPED, ran);
    } else if (op === OP.GEMV) x.gemv(N, K, ctrl[C.A]!, ctrl[C.B]!, ctrl[C.C]!, acc);
    else if (op === OP.GEMM_NT) x.gemmNT(M, N, K, ctrl[C.A]!, ctrl[C.B]!, ctrl[C.C]!, acc);
    else x.gemmNN(M, N, K, ctrl[C.A]!, ctrl[C.B]!, ctrl[C.C]!, acc);
    Atomics.store(ctrl, C.DONE, s);
  }
}

export class RowSplit implements RowHelper {
  /** Products computed with the helper, and alone: for tests and reports. */
  split = 0;
  solo = 0;
  /** Shared LSTM runs started (tests and reports). */
  runs = 0;
  /** Half-steps of shared runs the helper has run so far (tests and reports). */
  get helperHalfSteps(): number {
    return Atomics.load(this.ctrl, C.HELPED);
  }
  private runBase = 1;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(C.SIZE * 4));
  private readonly thread: ShardThread;
  private seq = 0;
  private broken = false;
  /** Milliseconds spun for the helper: over the current window, and in all (for reports). */
  private windowWait = 0;
  private windowCount = 0;
  private windowStart = 0;
  private soloLeft = 0;
  private backoff = MIN_SOLO;
  waitedMs = 0;

  /** Starts the helper thread; throws when the host cannot (the caller then stays on one thread). */
  constructor(readonly kernels: WasmKernels, host: ThreadHost & Required<Pick<ThreadHost, 'startRowThread'>>) {
    this.thread = host.startRowThread({ variant: kernels.variant, memory: kernels.heap.memory, ctrl: this.ctrl });
  }

  /**
   * A RowSplit for a network's kernels when they are the wasm kernels and the host can start a row thread,
   * else null (one thread).
   */
  static start(kernels: Kernels, host: ThreadHost | null | undefined): RowSplit | null {
    if (!(kernels instanceof WasmKernels) || !host?.startRowThread) return null;
    try {
      return new RowSplit(kernels, host as ThreadHost & Required<Pick<ThreadHost, 'startRowThread'>>);
    } catch {
      return null;
    }
  }

  /** Waits up to `ms` for the helper to be ready; true when it is. */
  waitReady(ms: number): boolean {
    const end = performance.now() + ms;
    for (let r = Atomics.load(this.ctrl, C.READY); r === 0; r = Atomics.load(this.ctrl, C.READY)) {
      const left = end - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.ctrl, C.READY, 0, Math.min(left, 10));
    }
    return Atomics.load(this.ctrl, C.READY) === 1;
  }

  /**
   * C[cOff…] (+)= W·x for the batch-1 gemmNT(1, N, K, x, xOff, W, wOff, C, cOff): false when the operands are not
   * all in the kernels' memory (the caller then runs the kernel itself); otherwise the product is done.
   */
  gemv(N: number, K: number, x: FloatArray, xOff: number, w: FloatArray, wOff: number, y: FloatArray, yOff: number,
    accumulate: boolean): boolean {
    const k = this.kernels;
    const px = k.addressOf(x, xOff), pw = k.addressOf(w, wOff), py = k.addressOf(y, yOff);
    if (px < 0 || pw < 0 || py < 0) return false;
    const s = (N >> 4) << 3; // this thread's rows: half, rounded down to the kernel's 8-row block
    const ctrl = this.ctrl;
    // An accumulating product is never split: were a slow helper given up on (await) while still writing its rows,
    // redoing them here would add them twice. Overwriting products are safe to redo: both write the same bits.
    if (accumulate || this.broken || s === 0 || this.soloLeft > 0 || Atomics.load(ctrl, C.READY) !== 1) {
      if (Atomics.load(ctrl, C.READY) === FAILED) this.broken = true;
      if (this.soloLeft > 0) this.soloLeft--;
      this.solo++;
      k.gemvAt(N, K, px, pw, py, accumulate);
      return true;
    }
    const seq = this.publish(OP.GEMV, 0, N - s, K, px, pw + s * K * 4, py + s * 4, accumulate);
    k.gemvAt(s, K, px, pw, py, accumulate);
    if (Atomics.load(ctrl, C.DONE) !== seq) {
      const t0 = performance.now();
      this.await(seq);
      this.windowWait += performance.now() - t0;
    }
    this.split++;
    if (this.windowCount++ === 0) this.windowStart = performance.now();
    else if (this.windowCount === WINDOW || this.windowWait > LONG_WAIT_MS) {
      if (this.windowWait > LAG * (performance.now() - this.windowStart)) {
        this.soloLeft = this.backoff;
        this.backoff = Math.min(MAX_SOLO, this.backoff * 2);
      } else {
        this.backoff = MIN_SOLO;
      }
      this.waitedMs += this.windowWait;
      this.windowWait = this.windowCount = 0;
    }
    return true;
  }

  /**
   * The large products of a trace, C (+)= A·Bᵀ (nt) or A·B (nn) with A (M, K), split by rows of A and C: false
   * when not split (operands outside the memory, too few rows, no helper); the caller then runs it itself.
   */
  gemm(nt: boolean, M: number, N: number, K: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
    Cm: FloatArray, cOff: number, accumulate: boolean): boolean {
    const k = this.kernels;
    const s = Math.floor(M / (2 * M_BLOCK)) * M_BLOCK;
    if (accumulate || this.broken || s === 0 || Atomics.load(this.ctrl, C.READY) !== 1) return false; // see gemv
    const pa = k.addressOf(A, aOff), pb = k.addressOf(B, bOff), pc = k.addressOf(Cm, cOff);
    if (pa < 0 || pb < 0 || pc < 0) return false;
    const seq = this.publish(nt ? OP.GEMM_NT : OP.GEMM_NN, M - s, N, K, pa + s * K * 4, pb, pc + s * N * 4, accumulate);
    if (nt) k.gemmNTAt(s, N, K, pa, pb, pc, accumulate);
    else k.gemmNNAt(s, N, K, pa, pb, pc, accumulate);
    if (Atomics.load(this.ctrl, C.DONE) !== seq) this.await(seq);
    this.split++;
    return true;
  }

  /**
   * One layer's batch-1 LSTM recurrence (forward or backward), half the units on each thread, or all on this
   * one when there is no helper (yet): the same numbers either way (recurrence.ts).
   */
  lstm(run: LstmRun): void {
    const x = this.kernels.exports, ctrl = this.ctrl;
    if (this.runBase > MAX_RUN_BASE && Atomics.load(ctrl, C.DONE) === this.seq) this.runBase = 1; // helper idle
    if (this.broken || this.runBase > MAX_RUN_BASE || Atomics.load(ctrl, C.READY) !== 1) {
      if (Atomics.load(ctrl, C.READY) === FAILED) this.broken = true;
      runAlone(x, run);
      return;
    }
    const base = this.runBase;
    this.runBase += run.T + 1;
    for (const w of [...RUN_WORDS.CLAIM, ...RUN_WORDS.DONE]) Atomics.store(ctrl, w, base - 1);
    Atomics.store(ctrl, RUN_WORDS.SOLO, 0);
    this.publish(OP.LSTM, base, 0, 0, 0, 0, 0, false, run);
    if (runShared(x, run, { ctrl, me: 0, base, stalled: (ms) => ms > HELPER_TIMEOUT_MS }) < 0) this.dispose();
    this.runs++;
  }

  private publish(op: number, M: number, N: number, K: number, a: number, b: number, c: number, accumulate: boolean,
    run: LstmRun | null = null): number {
    const ctrl = this.ctrl;
    Atomics.add(ctrl, C.GEN, 1); // odd: arguments being written
    if (run !== null) writeRun(ctrl, run);
    ctrl[C.OP] = op;
    ctrl[C.M] = M;
    ctrl[C.N] = N;
    ctrl[C.K] = K;
    ctrl[C.A] = a;
    ctrl[C.B] = b;
    ctrl[C.C] = c;
    ctrl[C.ACC] = accumulate ? 1 : 0;
    Atomics.add(ctrl, C.GEN, 1);
    const seq = ++this.seq;
    Atomics.store(ctrl, C.SEQ, seq);
    if (Atomics.load(ctrl, C.SLEEPING) !== 0) Atomics.notify(ctrl, C.SEQ);
    return seq;
  }

  /** Spins for the helper's rows; gives the helper up (and computes its rows here) when it stops answering. */
  private await(seq: number): void {
    const ctrl = this.ctrl;
    let end = 0;
    for (let i = 0; Atomics.load(ctrl, C.DONE) !== seq; i++) {
      if ((i & 1023) !== 1023) continue;
      const now = performance.now();
      if (end === 0) end = now + HELPER_TIMEOUT_MS;
      else if (now > end) {
        // its rows are ours now (a helper that never woke for them is stopped before it can)
        this.dispose();
        const op = ctrl[C.OP]!, M = ctrl[C.M]!, N = ctrl[C.N]!, K = ctrl[C.K]!, acc = ctrl[C.ACC] !== 0;
        const a = ctrl[C.A]!, b = ctrl[C.B]!, c = ctrl[C.C]!, k = this.kernels;
        if (op === OP.GEMV) k.gemvAt(N, K, a, b, c, acc);
        else if (op === OP.GEMM_NT) k.gemmNTAt(M, N, K, a, b, c, acc);
        else k.gemmNNAt(M, N, K, a, b, c, acc);
        return;
      }
    }
  }

  /** Whether the helper was stopped or given up (products then run on this thread alone). */
  get stopped(): boolean {
    return this.broken;
  }

  /** Stops the helper thread; later products run on this thread alone. */
  dispose(): void {
    this.broken = true;
    Atomics.store(this.ctrl, C.SEQ, STOP);
    Atomics.notify(this.ctrl, C.SEQ);
    this.thread.terminate();
  }
}
