import { MAX_TRACE_CHARS, MAX_TRACE_PROBS, maxTraceLength } from './limits';
import type { Network } from './network';
import type { ForwardRecord } from './reach';
import { GatescopeError } from './errors';
import { layerRecords, segmentLength, TraceRun, unrollBytes, type StartRowHelper, type TraceSegment } from './traceRun';
import type { FloatArray, Trace, TraceLayer } from './types';
import type { Unroll } from './unroll';

export type { Trace, TraceLayer, StartRowHelper };

export { MAX_TRACE_CHARS, MAX_TRACE_PROBS, maxTraceLength };
export { MIN_THREAD_CHARS, MIN_THREAD_PRODUCT, IDLE_HELPER_MS, releaseTraceResources } from './traceRun';

/**
 * Runs a text from a zero state with the full trace, then backward for the gradient norms; ∂loss/∂θ (and the
 * products that compute it) only when `paramGrads` asks for them. net.grads is overwritten only then.
 */
export interface TraceOptions {
  /** Also compute ∂loss/∂θ (overwrites net.grads). */
  readonly paramGrads?: boolean;
  /**
   * Runs the recurrent matrix–vector products (and the large products over all timesteps) on two threads, this
   * one and a helper started for the trace (speedups.ts RowHelper; backend.ts starts it): bit-identical results,
   * about half the time of the products. Ignored where it cannot run (it returns null) or would not pay
   * (MIN_THREAD_PRODUCT); the helper joins once started.
   */
  readonly rowHelper?: StartRowHelper | null;
  /**
   * Differentiate the loss of the one prediction at this position instead of the mean loss: gradient norms and
   * ∂θ are then those of L_T = −log p(x_{T+1} | x_0..x_T) (zero after T); `loss` stays the mean.
   */
  readonly lossAt?: number;
  /** Tests: wait up to this many ms for the helper before the trace starts (default 0: start at once). */
  readonly waitForHelperMs?: number;
  /** Tests: use the helper for any network and text, not only where it pays (see MIN_THREAD_PRODUCT). */
  readonly threadsAtAnySize?: boolean;
  /** Most likely characters kept per position (default 10; at most V). */
  readonly topK?: number;
  /** Also keep the whole (T, V) distribution at every position (`gatescope trace --full-probs`). */
  readonly fullProbs?: boolean;
  /** Timesteps per segment (default: the whole text where its unroll fits MAX_ONE_UNROLL_BYTES, else segmentLength). */
  readonly segment?: number;
}


/** A trace runs in one unroll up to this many bytes of buffers (a 10,000-character trace of a 2 × 256 LSTM: ~260 MB). */
export const MAX_ONE_UNROLL_BYTES = 512 * 2 ** 20;

export function traceTokens(net: Network, tokens: Int32Array, options: TraceOptions = {}): Trace {
  const T = tokens.length;
  const wantGrads = options.paramGrads ?? false;
  if (options.fullProbs && T * net.cfg.vocabSize > MAX_TRACE_PROBS) {
    const V = net.cfg.vocabSize;
    throw new GatescopeError(`the whole next-character distribution at every position is ${T.toLocaleString('en-US')} characters × ` +
      `${V.toLocaleString('en-US')} in the vocabulary, ${((T * V * 4) / 2 ** 20).toFixed(0)} MB, more than the ${MAX_TRACE_PROBS * 4 / 2 ** 20} MB a trace may hold; ` +
      `keep the top predictions instead (leave out the full probabilities) or trace at most ${maxTraceLength(V).toLocaleString('en-US')} characters`, 'too-large');
  }
  // the whole text in one unroll where it fits MAX_ONE_UNROLL_BYTES (its internals stay for the backward); else in
  // segments, each recomputed for the backward from its checkpoint: memory bounded, the same numbers
  const one = unrollBytes(net, T) <= MAX_ONE_UNROLL_BYTES;
  const run = new TraceRun(net, tokens, { ...options, segment: options.segment ?? (one ? Math.max(1, T) : segmentLength(net)) });
  try {
    const first = run.next()!;
    // one segment: its arrays are the trace's; several: each copied into the whole text's
    const whole = run.segments === 1 ? first.layers : first.layers.map((r) => ({
      gates: Object.fromEntries(Object.keys(r.gates).map((g) => [g, new Float32Array(T * net.cfg.hidden)])) as Record<string, Float32Array>,
      c: r.c ? new Float32Array(T * net.cfg.hidden) : null,
      h: new Float32Array(T * net.cfg.hidden),
    }));
    const H = net.cfg.hidden;
    for (let seg: TraceSegment | null = first; seg !== null && run.segments > 1; seg = run.next()) {
      seg.layers.forEach((r, l) => {
        const d = whole[l]!;
        for (const [g, a] of Object.entries(r.gates)) d.gates[g]!.set(a, seg!.start * H);
        if (r.c) d.c!.set(r.c, seg!.start * H);
        d.h.set(r.h, seg!.start * H);
      });
    }
    const g = run.gradients({ lossAt: options.lossAt, paramGrads: wantGrads });
    const layers = whole.map((r, l): TraceLayer => ({ ...r, gradH: g.gradH[l]!, gradC: g.gradC[l]! }));
    let paramGrads: Map<string, Float32Array> | null = null;
    if (wantGrads) {
      paramGrads = new Map(net.layout.tensors.map((t) => [t.name, new Float32Array(net.grads.subarray(t.offset, t.offset + t.size))]));
    }
    return { tokens: tokens.slice(), loss: run.loss, predictions: run.predictions, probs: run.probs, layers, paramGrads };
  } finally {
    run.dispose();
  }
}

/**
 * The forward alone of a trace, without the backward over the whole text that a trace adds: `body` gets its
 * internals as a ForwardRecord of views into the unroll's buffers, copied only where the layout needs it (gates
 * kept interleaved), and valid only while `body` runs (the next trace reuses the buffers). What the gradient reach
 * and the unit search need: copying a long text's record costs more than the reach itself (fresh pages).
 */
export function withForwardRecord<R>(net: Network, tokens: Int32Array, options: TraceOptions, body: (rec: ForwardRecord) => R): R {
  const run = new TraceRun(net, tokens, { ...options, segment: Math.max(1, tokens.length), topK: 1 });
  try {
    return body(run.record());
  } finally {
    run.dispose();
  }
}

/**
 * A trace's forward as the backwards of reach.ts read it: the distribution at a position is the trace's own when
 * it kept them all, else the decoder and softmax on that position's top-layer h (computed when asked).
 */
export function traceRecord(net: Network, trace: Trace): ForwardRecord {
  const { vocabSize: V, hidden: H } = net.cfg;
  const probs = trace.probs;
  const top = trace.layers[trace.layers.length - 1]!.h;
  const k = net.kernels;
  let h: FloatArray | null = null, row: FloatArray | null = null;
  const none = new Int32Array(1).fill(-1);
  const decode = (t: number): FloatArray => {
    h ??= k.allocate(net.Float, H);
    row ??= k.allocate(net.Float, V);
    h.set(top.subarray(t * H, (t + 1) * H));
    k.gemmNT(1, V, H, h, 0, net.p.decoderW, 0, row, 0, false); // logits (1, V) = h·W_decᵀ
    k.softmaxXent(1, V, row, net.p.decoderB, none);            // + b_dec, softmax in place
    return row.slice();
  };
  return {
    tokens: trace.tokens,
    distribution: probs !== null ? (t) => probs.subarray(t * V, (t + 1) * V) : decode,
    layers: trace.layers,
  };
}

/**
 * The last forward's internals as (T, H) arrays of the network's own float type (float64 for gradient checks),
 * copied out of the unroll: what a backward from one prediction (reach.ts) reads. Batch-1 unrolls only.
 */
export function forwardRecord(u: Unroll): ForwardRecord {
  if (u.B !== 1) throw new Error('forwardRecord: batch-1 unrolls only');
  const { T } = u;
  const V = u.net.cfg.vocabSize;
  const probs = u.probs.slice(0, T * V);
  return { tokens: u.inputs.slice(0, T), distribution: (t) => probs.subarray(t * V, (t + 1) * V), layers: layerRecords(u, (n) => new u.net.Float(n)) };
}
