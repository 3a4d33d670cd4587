import { Network } from '../network';
import { Unroll } from '../unroll';
import type { ShardSpec } from './threads';

/**
 * Data-parallel training over batch lanes: the B lanes of a step are cut into S shards of B/S contiguous lanes,
 * and each shard's forward + backward runs on whichever thread claims it first. The numerics are fixed by the
 * shard cut, not by who computes a shard: every shard runs the same code on the same inputs (its lanes, its
 * carried state, the step's parameters), its gradient lands in its own slot of shared memory, and the
 * coordinator sums the slots in shard order. So a run is bit-identical whatever the timing, whichever thread
 * took which shard, and with or without a helper thread at all (see ParallelSteps for the fallback).
 *
 * Porting note: a shard's Unroll scales its loss gradient by 1/count of its own positions; the reduction weighs
 * shard s by count_s / Σcount, so the sum is the gradient of the mean loss over all B·T positions, as the
 * single-thread trainer computes it, up to float summation order (not bit for bit).
 *
 * Dimension legend: S shards, Bs = B/S lanes per shard, T time, L layers, H hidden, P parameters.
 *
 * Shared memory (one SharedArrayBuffer for numbers, one for control words):
 *   params  (P)          the step's parameters, written by the coordinator before it publishes a step
 *   grads   (S, P)       ∂L_s/∂θ of shard s
 *   carryH  (L, B, H)    hidden state carried into the step; carryC the same for the LSTM cell state
 *   nextH   (L, B, H)    final state of the step, made the carried state by commit (nextC likewise)
 *   losses  (S) float64  Σ −log p over shard s's positions, and counts (S) of those positions
 */

/** Control words (Int32Array indices). */
export const CTRL = {
  SEQ: 0,        // step sequence number; the helpers sleep on it; STOP_SEQ ends them
  NEXT: 1,       // next unclaimed shard of the current step (Atomics.add claims one)
  DONE: 2,       // shards finished in the current step; the coordinator sleeps on it
  POSITION: 3,   // offset within each lane of the step's chunk
  VERSION: 4,    // bumped whenever params change; a helper copies them in when its copy is older
  FAILED: 5,     // set by a helper whose shard threw
  SIZE: 8,
} as const;
export const STOP_SEQ = -1;


/** Named views of ShardSpec.data. */
export interface ShardViews {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly carryH: Float32Array;
  readonly carryC: Float32Array;
  readonly nextH: Float32Array;
  readonly nextC: Float32Array;
  readonly losses: Float64Array;
  readonly counts: Float64Array;
}

export function shardDataBytes(P: number, S: number, L: number, B: number, H: number): number {
  return 4 * (P + S * P + 4 * L * B * H) + 8 * 2 * S + 64;
}

export function shardViews(spec: ShardSpec, P: number): ShardViews {
  const { cfg, B, shards: S } = spec;
  const LBH = cfg.layers * B * cfg.hidden;
  let off = 0;
  const f32 = (n: number): Float32Array => {
    const v = new Float32Array(spec.data, off, n);
    off += n * 4;
    return v;
  };
  const params = f32(P), grads = f32(S * P), carryH = f32(LBH), carryC = f32(LBH), nextH = f32(LBH), nextC = f32(LBH);
  off = Math.ceil(off / 8) * 8;
  const losses = new Float64Array(spec.data, off, S);
  const counts = new Float64Array(spec.data, off + 8 * S, S);
  return { params, grads, carryH, carryC, nextH, nextC, losses, counts };
}

/**
 * Runs shards on one thread: an Unroll of Bs lanes on a network whose parameters are the shared ones (copied in
 * when they changed, or the coordinator's own network, which holds them already).
 */
export class ShardRunner {
  private readonly unroll: Unroll;
  private readonly views: ShardViews;
  private version = -1;

  constructor(readonly spec: ShardSpec, readonly net: Network, private readonly ownsParams: boolean) {
    this.unroll = new Unroll(net, spec.T, spec.B / spec.shards);
    this.views = shardViews(spec, net.layout.total);
  }

  /** Forward + backward of shard s of the current step: gradient, loss and final state into shared memory. */
  run(s: number): void {
    const { T, B, shards: S, laneLength, tokens, ctrl } = this.spec;
    const { hidden: H, layers: L } = this.net.cfg;
    const v = this.views;
    const u = this.unroll;
    const Bs = B / S, b0 = s * Bs;
    if (!this.ownsParams) {
      const version = Atomics.load(ctrl, CTRL.VERSION);
      if (version !== this.version) {
        this.net.params.set(v.params);
        this.version = version;
      }
    }
    const position = Atomics.load(ctrl, CTRL.POSITION);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < Bs; b++) {
        const src = (b0 + b) * laneLength + position + t;
        u.inputs[t * Bs + b] = tokens[src]!;
        u.targets[t * Bs + b] = tokens[src + 1]!;
      }
    }
    // this shard's lanes of the carried state: lanes b0…b0+Bs of each layer's (B, H) block
    const lane = (l: number): number => (l * B + b0) * H;
    for (let l = 0; l < L; l++) {
      const c = u.layers[l]!;
      c.hs.set(v.carryH.subarray(lane(l), lane(l) + Bs * H), 0);
      c.cs?.set(v.carryC.subarray(lane(l), lane(l) + Bs * H), 0);
    }
    const loss = u.forward();
    this.net.zeroGrad();
    u.backward();
    const P = this.net.layout.total;
    v.grads.set(this.net.grads, s * P);
    v.losses[s] = loss * u.count;
    v.counts[s] = u.count;
    for (let l = 0; l < L; l++) {
      const c = u.layers[l]!;
      v.nextH.set(c.hs.subarray(T * Bs * H, (T + 1) * Bs * H), lane(l));
      if (c.cs) v.nextC.set(c.cs.subarray(T * Bs * H, (T + 1) * Bs * H), lane(l));
    }
  }

  /** Claims and runs shards of the current step until none is left; returns how many it ran. */
  claimAll(): number {
    const { ctrl, shards: S } = this.spec;
    let ran = 0;
    for (let s = Atomics.add(ctrl, CTRL.NEXT, 1); s < S; s = Atomics.add(ctrl, CTRL.NEXT, 1)) {
      ran++;
      try {
        this.run(s);
      } catch {
        Atomics.store(ctrl, CTRL.FAILED, 1);
      }
      Atomics.add(ctrl, CTRL.DONE, 1);
      Atomics.notify(ctrl, CTRL.DONE);
    }
    return ran;
  }
}

/**
 * A helper thread's whole life: sleep on SEQ, claim shards of each new step, until SEQ becomes STOP_SEQ. One
 * wake-up per step, never one per operation: the only synchronisation is the claim counter and DONE.
 */
export function serveShards(spec: ShardSpec): void {
  const net = new Network(spec.cfg);
  const runner = new ShardRunner(spec, net, false);
  let seen = 0;
  for (;;) {
    Atomics.wait(spec.ctrl, CTRL.SEQ, seen);
    const seq = Atomics.load(spec.ctrl, CTRL.SEQ);
    if (seq === STOP_SEQ) return;
    seen = seq;
    runner.claimAll();
  }
}

