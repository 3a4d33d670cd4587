import { GatescopeError } from '../errors';
import type { Network } from '../network';
import type { StepEngine } from '../trainer';
import type { FloatArray } from '../types';
import type { TokenArray } from '../vocab';
import { CTRL, STOP_SEQ, ShardRunner, shardDataBytes, shardViews, type ShardViews } from './shards';
import type { ShardSpec, ShardThread, ThreadHost } from './threads';

/**
 * The coordinator of data-parallel training (see shards.ts for the shard cut and why results do not depend on
 * timing): a StepEngine for Trainer.useEngine. This thread publishes a step, runs shards itself (it claims the
 * first one at once), waits for the rest, and reduces the shard gradients into net.grads in shard order; the
 * trainer then clips and takes the Adam step once, here, on the one authoritative copy of the parameters.
 *
 * One synchronisation per step: the helpers sleep in Atomics.wait on SEQ and are woken once; shards are claimed
 * with one Atomics.add each; this thread sleeps on DONE. Nothing waits inside a step's numeric work.
 *
 * Fallback to one thread. Because a shard is claimed, not assigned, this thread takes every shard no helper has
 * claimed yet, so a helper that wakes late costs nothing. What can cost is a helper that claims a shard and then
 * runs slowly (another process has its core): the step then waits for it. So the coordinator compares, over a
 * window of WINDOW helper steps, the wall time of each step against what this thread alone would have needed
 * (S × its own time per shard in that step). When the helper did not win by at least 5%, it stops waking the
 * helper for a back-off (16 steps, doubling on each consecutive loss up to 512) and then probes again. The
 * worst case is one lost window per back-off: under 1/3 of a window's time over ≥ 16 solo steps. Solo steps run
 * the very same shards in the same order on this thread, so the switch never changes a number.
 */
export interface ParallelOptions {
  /** Shards per step; must divide the batch. 2 = one per thread on a 2-core machine. */
  readonly shards?: number;
  /** Helper threads (beside this one). */
  readonly helpers?: number;
}

const WINDOW = 8;
const MIN_BACKOFF = 16, MAX_BACKOFF = 512;
/** A helper step must beat the solo estimate by this factor to keep the helper. */
const KEEP_RATIO = 0.95;
/** Longest wait for a helper's shard before the run is declared broken (a helper that died mid-shard). */
const HELPER_TIMEOUT_MS = 120_000;

export class ParallelSteps implements StepEngine {
  readonly spec: ShardSpec;
  /** Steps run with the helper(s) awake, and alone: for reports and tests. */
  helperSteps = 0;
  soloSteps = 0;
  private readonly views: ShardViews;
  private readonly own: ShardRunner;
  private readonly threads: ShardThread[] = [];
  private seq = 0;
  private version = 0;
  // fallback policy state
  private windowWall = 0;
  private windowSolo = 0;
  private windowSteps = 0;
  private soloLeft = 0;
  private backoff = MIN_BACKOFF;

  constructor(readonly net: Network, tokens: TokenArray, plan: { seq: number; batch: number; laneLength: number },
    host: ThreadHost | null, options: ParallelOptions = {}) {
    const S = options.shards ?? 2;
    const { seq: T, batch: B, laneLength } = plan;
    if (net.Float !== Float32Array) throw new GatescopeError('parallel training runs float32 networks only');
    if (!Number.isInteger(S) || S < 1 || B % S !== 0) throw new GatescopeError(`the batch (${B}) must split into ${S} equal shards`);
    const { hidden: H, layers: L } = net.cfg;
    const P = net.layout.total;
    const shared = new Int32Array(new SharedArrayBuffer(tokens.length * 4));
    shared.set(tokens);
    this.spec = {
      cfg: net.cfg, T, B, shards: S, laneLength, tokens: shared,
      ctrl: new Int32Array(new SharedArrayBuffer(CTRL.SIZE * 4)),
      data: new SharedArrayBuffer(shardDataBytes(P, S, L, B, H)),
    };
    this.views = shardViews(this.spec, P);
    this.own = new ShardRunner(this.spec, net, true);
    const helpers = host === null ? 0 : options.helpers ?? 1;
    for (let i = 0; i < helpers; i++) this.threads.push(host!.startShardThread(this.spec));
  }

  gradients(position: number): number {
    const { ctrl, shards: S } = this.spec;
    const v = this.views;
    const P = this.net.layout.total;
    // publish the step: parameters first (a late helper may still claim a shard), then the claim counter
    v.params.set(this.net.params);
    Atomics.store(ctrl, CTRL.VERSION, ++this.version);
    Atomics.store(ctrl, CTRL.POSITION, position);
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.store(ctrl, CTRL.FAILED, 0);
    Atomics.store(ctrl, CTRL.NEXT, 0);
    const wake = this.threads.length > 0 && this.soloLeft === 0;
    if (wake) {
      Atomics.store(ctrl, CTRL.SEQ, ++this.seq);
      Atomics.notify(ctrl, CTRL.SEQ);
    } else if (this.soloLeft > 0) {
      this.soloLeft--;
    }
    const t0 = performance.now();
    const ran = this.own.claimAll();
    const tOwn = performance.now() - t0;
    for (let d = Atomics.load(ctrl, CTRL.DONE); d < S; d = Atomics.load(ctrl, CTRL.DONE)) {
      if (Atomics.wait(ctrl, CTRL.DONE, d, HELPER_TIMEOUT_MS) === 'timed-out') {
        throw new GatescopeError('a training thread stopped answering');
      }
    }
    const wall = performance.now() - t0;
    if (Atomics.load(ctrl, CTRL.FAILED) !== 0) throw new GatescopeError('a training thread failed on its shard');
    if (wake) {
      this.helperSteps++;
      if (ran > 0) this.judge(wall, (S * tOwn) / ran);
    } else {
      this.soloSteps++;
    }
    // reduce in shard order: grads = Σ_s (count_s / count) · grads_s
    let count = 0, sum = 0;
    for (let s = 0; s < S; s++) {
      count += v.counts[s]!;
      sum += v.losses[s]!;
    }
    // one pass over the parameters, the shards' terms added in shard order and rounded to float32 after each
    // add, as `g[i] += w·g_s[i]` shard after shard would (the same numbers in a third of the memory traffic)
    const g = this.net.grads;
    const w = Array.from({ length: S }, (_, s) => (count > 0 ? v.counts[s]! / count : 0));
    const all = v.grads;
    if (S === 2) {
      const w0 = w[0]!, w1 = w[1]!;
      for (let i = 0; i < P; i++) g[i] = Math.fround(0 + w0 * all[i]!) + w1 * all[P + i]!;
    } else {
      for (let i = 0; i < P; i++) {
        let acc = 0;
        for (let s = 0; s < S; s++) acc = Math.fround(acc + w[s]! * all[s * P + i]!);
        g[i] = acc;
      }
    }
    return count > 0 ? sum / count : NaN;
  }

  /** The fallback policy (see the class comment): keep the helper while it pays, else back off. */
  private judge(wall: number, soloEstimate: number): void {
    this.windowWall += wall;
    this.windowSolo += soloEstimate;
    if (++this.windowSteps < WINDOW) return;
    if (this.windowWall > KEEP_RATIO * this.windowSolo) {
      this.soloLeft = this.backoff;
      this.backoff = Math.min(MAX_BACKOFF, this.backoff * 2);
    } else {
      this.backoff = MIN_BACKOFF;
    }
    this.windowWall = this.windowSolo = this.windowSteps = 0;
  }

  commitState(): void {
    this.views.carryH.set(this.views.nextH);
    this.views.carryC.set(this.views.nextC);
  }

  resetState(): void {
    this.views.carryH.fill(0);
    this.views.carryC.fill(0);
  }

  readState(h: FloatArray, c: FloatArray | null): void {
    h.set(this.views.carryH);
    c?.set(this.views.carryC);
  }

  writeState(h: FloatArray, c: FloatArray | null): void {
    this.views.carryH.set(h);
    if (c) this.views.carryC.set(c);
  }

  /** Stops the helper threads (the engine is unusable afterwards). */
  dispose(): void {
    Atomics.store(this.spec.ctrl, CTRL.SEQ, STOP_SEQ);
    Atomics.notify(this.spec.ctrl, CTRL.SEQ);
    for (const t of this.threads) t.terminate();
    this.threads.length = 0;
  }
}
