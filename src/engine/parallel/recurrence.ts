import type { KernelExports } from '../wasm/module';

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
export const RUN_WORDS = { ARGS: 16, CLAIM: [64, 80] as const, DONE: [96, 112] as const, SIZE: 128 } as const;

/** The split point: units [0, s) are half 0, [s, H) half 1; a multiple of 8, the backward kernel's block. */
export function unitSplit(H: number): number {
  return Math.floor(H / 16) * 8;
}

/** One layer's forward or backward over T steps; every buffer is a byte address in the kernels' memory. */
export interface LstmRun {
  readonly backward: boolean;
  readonly T: number;
  readonly H: number;
  readonly whh: number;   // forward: W_hh (4H, H); backward: W_hhᵀ (H, 4H)
  readonly bhh: number;   // (4H), forward only
  readonly xp: number;    // (T, 4H) forward: W_ih·x_t + b_ih; backward: ∂L/∂a_t written here
  readonly hs: number;    // (T+1, H) slot 0 = h_{-1}; forward writes slots 1…T
  readonly cs: number;    // (T+1, H) the same for c
  readonly act: number;   // (T, 4H) i, f, g, o
  readonly tc: number;    // (T, H) tanh(c_t)
  readonly dhOut: number; // (T, H) backward: ∂L/∂h_t through the output
  readonly dc: number;    // (T+1, H) backward: slot t+1 = ∂L/∂c_t through c_{t+1}; slot T must be zero
  readonly sq: number;    // (T, 2 halves, 2) float64 backward: Σ dh², Σ dc² per half
}

const FIELDS = ['T', 'H', 'whh', 'bhh', 'xp', 'hs', 'cs', 'act', 'tc', 'dhOut', 'dc', 'sq'] as const;

export function writeRun(ctrl: Int32Array, run: LstmRun): void {
  const o = RUN_WORDS.ARGS;
  ctrl[o] = run.backward ? 1 : 0;
  FIELDS.forEach((f, i) => { ctrl[o + 1 + i] = run[f]; });
}

export function readRun(ctrl: Int32Array): LstmRun {
  const o = RUN_WORDS.ARGS;
  const r: Record<string, number | boolean> = { backward: ctrl[o] === 1 };
  FIELDS.forEach((f, i) => { r[f] = ctrl[o + 1 + i]!; });
  return r as unknown as LstmRun;
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
      r.cs + t * h4, r.act + t * g4, r.cs + (t + 1) * h4, r.tc + t * h4, r.hs + (t + 1) * h4);
  } else {
    const t = T - 1 - k;
    x.lstmBackwardUnits(H, j0, j1, r.xp + (t + 1) * g4, t < T - 1, r.whh,
      r.dhOut + t * h4, r.act + t * g4, r.cs + t * h4, r.tc + t * h4, r.dc + (t + 1) * h4, r.dc + t * h4,
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

/**
 * This thread's side of a run shared with another thread (see the top of the file). Returns how many
 * half-steps this thread ran, or −1 when the other thread was given up (`stalled`); the run is complete either
 * way, unless this is the helper and it was stopped.
 */
export function runShared(x: KernelExports, r: LstmRun, side: SharedSide): number {
  const { ctrl, me, base } = side;
  let ran = 0;
  const other = 1 - me;
  const claimMe = RUN_WORDS.CLAIM[me]!, claimOther = RUN_WORDS.CLAIM[other]!;
  const doneMe = RUN_WORDS.DONE[me]!, doneOther = RUN_WORDS.DONE[other]!;
  for (let k = 0; k < r.T; k++) {
    const v = base + k;
    if (Atomics.compareExchange(ctrl, claimMe, v - 1, v) === v - 1) {
      halfStep(x, r, me, k);
      Atomics.store(ctrl, doneMe, v);
      ran++;
    }
    if (Atomics.compareExchange(ctrl, claimOther, v - 1, v) === v - 1) {
      halfStep(x, r, other, k);
      Atomics.store(ctrl, doneOther, v);
      ran++;
    }
    // both halves of step k before step k + 1: the other's, if it claimed it, may still be running
    let t0 = 0;
    for (let i = 0; Atomics.load(ctrl, doneOther) < v || Atomics.load(ctrl, doneMe) < v; i++) {
      if ((i & 1023) !== 1023) continue;
      const now = performance.now();
      if (t0 === 0) t0 = now;
      else if (side.stalled(now - t0)) {
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
    }
  }
  return ran;
}
