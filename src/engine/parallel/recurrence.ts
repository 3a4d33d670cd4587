import type { LstmRun } from '../speedups';
import type { KernelExports } from '../wasm/module';

export type { LstmRun };

/**
 * A batch-1 LSTM layer's recurrence (a trace's, or any long batch-1 sequence's) on two threads, each owning
 * half of the hidden units. A timestep needs all of h_{t-1} (forward) or all of ∂L/∂a_{t+1} (backward), so the
 * threads meet once per timestep, and in between each runs one fused kernel call on its half: its units' 4
 * gate rows of W_hh against h_{t-1} and their cell (lstmForwardUnits), or its units' rows of W_hhᵀ against
 * ∂L/∂a_{t+1} and their cell's backward (lstmBackwardUnits). Each thread's half of W_hh is 512 KB for a
 * 256-unit layer: it stays in that core's L2 across the layer's steps, where the whole 1 MB does not.
 *
 * Work is claimed, not assigned: per half, CLAIM holds the last step claimed and DONE the last step finished.
 * A thread claims its own half of step k with a compare-and-swap from k − 1, then the other half if that is
 * still unclaimed, then waits until both halves of k are done. A helper that is off its core (another process
 * took it, or it is still starting) therefore costs nothing but one failed claim per step: this thread does
 * both halves. The values are base + k with a base that only grows from run to run, so a late helper still
 * looping over an old run can never claim a step of a new one.
 *
 * Results do not depend on who runs what: a unit's numbers come from the same kernel on the same inputs, the
 * split is the same with and without a helper, and the per-timestep gradient norms are summed as
 * half 0 + half 1. Every output has a slot per timestep, so running a half-step again writes the same bits.
 */

/** Where a run's words live in the control block (Int32 indices): each on a cache line of its own. */
export const RUN_WORDS = { ARGS: 16, SOLO: 32, WAITERS: 48, CLAIM: [64, 80] as const, DONE: [96, 112] as const, SIZE: 128 } as const;

/** The split point: units [0, s) are half 0, [s, H) half 1; a multiple of 8 (the kernels go 4 units at a time). */
export function unitSplit(H: number): number {
  return Math.floor(H / 16) * 8;
}

const FIELDS = ['T', 'H', 'whh', 'bhh', 'xp', 'hs', 'cs', 'act', 'actGate', 'tc', 'dhOut', 'dc', 'sq'] as const;

export function writeRun(ctrl: Int32Array, run: LstmRun): void {
  const o = RUN_WORDS.ARGS;
  ctrl[o] = run.backward ? 1 : 0;
  FIELDS.forEach((f, i) => { ctrl[o + 1 + i] = run[f]; });
}

/** The run writeRun wrote, as an object literal (one fixed shape: the helper reads it at every half-step). */
export function readRun(ctrl: Int32Array): LstmRun {
  const a = (f: (typeof FIELDS)[number]): number => ctrl[RUN_WORDS.ARGS + 1 + FIELDS.indexOf(f)]!;
  return {
    backward: ctrl[RUN_WORDS.ARGS] === 1, T: a('T'), H: a('H'), whh: a('whh'), bhh: a('bhh'), xp: a('xp'), hs: a('hs'),
    cs: a('cs'), act: a('act'), actGate: a('actGate'), tc: a('tc'), dhOut: a('dhOut'), dc: a('dc'), sq: a('sq'),
  };
}

/** Step k of a run for one half: forward timestep k, backward timestep T − 1 − k. */
export function halfStep(x: KernelExports, r: LstmRun, half: number, k: number): void {
  const { T, H } = r;
  const s = unitSplit(H);
  const j0 = half === 0 ? 0 : s, j1 = half === 0 ? s : H;
  if (j0 === j1) return;
  const h4 = H * 4, g4 = 16 * H; // bytes per (H) and per (4H) row
  if (!r.backward) {
    const t = k;
    x.lstmForwardUnits(H, j0, j1, r.hs + t * h4, r.whh, r.bhh, r.xp + t * g4,
      r.cs + t * h4, r.act + t * h4, r.actGate, r.cs + (t + 1) * h4, r.tc + t * h4, r.hs + (t + 1) * h4);
  } else {
    const t = T - 1 - k;
    x.lstmBackwardUnits(H, j0, j1, r.xp + (t + 1) * g4, t < T - 1, r.whh,
      r.dhOut + t * h4, r.act + t * h4, r.actGate, r.cs + t * h4, r.tc + t * h4, r.dc + (t + 1) * h4, r.dc + t * h4,
      r.xp + t * g4, r.sq + (t * 2 + half) * 16);
  }
}

/** The whole run on this thread: both halves of each step, in the order the split run would do them. */
export function runAlone(x: KernelExports, r: LstmRun): void {
  for (let k = 0; k < r.T; k++) {
    halfStep(x, r, 0, k);
    halfStep(x, r, 1, k);
  }
}

/** What a thread running its side of a shared run needs besides the kernels. */
export interface SharedSide {
  readonly ctrl: Int32Array;
  /** This thread's half: the coordinator 0, the helper 1. */
  readonly me: number;
  readonly base: number;
  /**
   * Called while waiting for the other thread's claimed half of step k; returning true means it was given up
   * (the coordinator then runs that half itself and the rest of the run alone). The helper passes one that
   * returns true once the coordinator has stopped it.
   */
  readonly stalled: (spunMs: number) => boolean;
}

/** Spins of a wait before it sleeps (a half-step is ~10 µs; a sleeping thread costs a wake-up of ~10–50 µs). */
const SPIN = 4096;
/** Longest single sleep of a wait; the waits re-check (and `stalled`) between sleeps. */
const SLEEP_MS = 1;
/**
 * The coordinator's back-off, as for the row products (rowSplit.ts): over a window of WINDOW steps (~10 ms at
 * H = 256), waiting for the helper more than LAG of the window's wall time (another process has a core, so the
 * threads take turns on one) keeps the helper out for the next `backoff` steps (MIN_SOLO, doubling on each
 * consecutive lagging window up to MAX_SOLO); then it is let in again. The window is long enough that a helper
 * preempted once for a millisecond (on an otherwise idle machine) does not send a thousand steps to one thread.
 */
const WINDOW = 1024, LAG = 0.35, MIN_SOLO = 1024, MAX_SOLO = 16384;

/** Waits until ctrl[word] ≥ v: spins, then sleeps on the word. False when `stalled` gave up. */
function waitFor(ctrl: Int32Array, word: number, v: number, stalled: (ms: number) => boolean): boolean {
  for (let i = 0; i < SPIN; i++) if (Atomics.load(ctrl, word) >= v) return true;
  const t0 = performance.now();
  for (let seen = Atomics.load(ctrl, word); seen < v; seen = Atomics.load(ctrl, word)) {
    Atomics.add(ctrl, RUN_WORDS.WAITERS, 1);
    Atomics.wait(ctrl, word, seen, SLEEP_MS);
    Atomics.sub(ctrl, RUN_WORDS.WAITERS, 1);
    if (Atomics.load(ctrl, word) < v && stalled(performance.now() - t0)) return false;
  }
  return true;
}

/** Marks a half-step done and wakes a thread sleeping on it. */
function finish(ctrl: Int32Array, word: number, v: number): void {
  Atomics.store(ctrl, word, v);
  if (Atomics.load(ctrl, RUN_WORDS.WAITERS) !== 0) Atomics.notify(ctrl, word);
}

/**
 * This thread's side of a run shared with another thread (see the top of the file). Returns how many
 * half-steps this thread ran, or −1 when the other thread was given up (`stalled`); the run is complete either
 * way, unless this is the helper and it was stopped. A helper that falls behind skips to the first step not
 * yet done; one kept out (SOLO) sleeps until it is let in again or the run is over.
 */
export function runShared(x: KernelExports, r: LstmRun, side: SharedSide): number {
  const { ctrl, me, base, stalled } = side;
  let ran = 0;
  const other = 1 - me;
  const claimMe = RUN_WORDS.CLAIM[me]!, claimOther = RUN_WORDS.CLAIM[other]!;
  const doneMe = RUN_WORDS.DONE[me]!, doneOther = RUN_WORDS.DONE[other]!;
  // the coordinator's back-off state
  let windowStart = performance.now(), waited = 0, soloUntil = -1, backoff = MIN_SOLO;
  for (let k = 0; k < r.T; k++) {
    if (me !== 0) {
      k = Math.max(k, Math.min(Atomics.load(ctrl, doneMe), Atomics.load(ctrl, doneOther)) - base + 1);
      if (k >= r.T) break;
      if (Atomics.load(ctrl, RUN_WORDS.SOLO) !== 0) {
        Atomics.wait(ctrl, RUN_WORDS.SOLO, 1, SLEEP_MS);
        if (stalled(0)) return -1;
        k--;
        continue;
      }
    } else if (k === soloUntil) {
      Atomics.store(ctrl, RUN_WORDS.SOLO, 0);
      Atomics.notify(ctrl, RUN_WORDS.SOLO);
    }
    const v = base + k;
    if (Atomics.compareExchange(ctrl, claimMe, v - 1, v) === v - 1) {
      halfStep(x, r, me, k);
      finish(ctrl, doneMe, v);
      ran++;
    }
    if (Atomics.compareExchange(ctrl, claimOther, v - 1, v) === v - 1) {
      halfStep(x, r, other, k);
      finish(ctrl, doneOther, v);
      ran++;
    }
    // both halves of step k before step k + 1: the other's, if it claimed it, may still be running
    const t0 = me === 0 && Atomics.load(ctrl, doneOther) < v ? performance.now() : 0;
    if (!waitFor(ctrl, doneOther, v, stalled) || !waitFor(ctrl, doneMe, v, stalled)) {
      if (me !== 0) return -1;
      // the coordinator takes the rest: the unfinished halves of step k (again, if the helper is midway: their
      // outputs have slots of their own) and every later step
      if (Atomics.load(ctrl, doneMe) < v) halfStep(x, r, me, k);
      if (Atomics.load(ctrl, doneOther) < v) halfStep(x, r, other, k);
      for (let kk = k + 1; kk < r.T; kk++) {
        halfStep(x, r, 0, kk);
        halfStep(x, r, 1, kk);
      }
      return -1;
    }
    if (me === 0 && (k + 1) % WINDOW === 0) {
      const now = performance.now();
      if (t0 !== 0) waited += now - t0;
      if (waited > LAG * (now - windowStart) && soloUntil < k) {
        Atomics.store(ctrl, RUN_WORDS.SOLO, 1);
        soloUntil = k + backoff;
        backoff = Math.min(MAX_SOLO, backoff * 2);
      } else if (soloUntil < k) {
        backoff = MIN_SOLO;
      }
      windowStart = now;
      waited = 0;
    } else if (t0 !== 0) {
      waited += performance.now() - t0;
    }
  }
  return ran;
}
