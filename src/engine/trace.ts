import { MAX_TRACE_CHARS, MAX_TRACE_PROBS, maxTraceLength } from './limits';
import { GatescopeError } from './errors';
import type { Kernels } from './kernels';
import type { Network } from './network';
import { checkPosition, type ForwardRecord } from './reach';
import type { RowHelper } from './speedups';
import { GATE_NAMES, isPlainRnn, type FloatArray, type Trace, type TraceLayer } from './types';
import { Unroll } from './unroll';

export type { Trace, TraceLayer };

export { MAX_TRACE_CHARS, MAX_TRACE_PROBS, maxTraceLength };

/**
 * Starts a row helper thread for a network's kernels, or returns null where there can be none (kernels whose
 * memory a thread cannot share, a host without threads). The worker and the CLI pass the one backend.ts makes.
 */
export type StartRowHelper = (kernels: Kernels) => RowHelper | null;

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
}

/**
 * The helper thread is started only for recurrent products of at least this many multiply-adds (G·H·H: a
 * 256-unit LSTM or GRU, a 512-unit RNN) and texts of at least MIN_THREAD_CHARS: below that the product fits one
 * core's L2 and takes a few µs, and the handshakes and the helper's start (~50 ms) cost what the split saves.
 */
export const MIN_THREAD_PRODUCT = 1 << 17;
export const MIN_THREAD_CHARS = 1000;

export function traceTokens(net: Network, tokens: Int32Array, options: TraceOptions = {}): Trace {
  const T = tokens.length;
  const V = net.cfg.vocabSize;
  const wantGrads = options.paramGrads ?? false;
  if (options.lossAt !== undefined) checkPosition(T, options.lossAt);
  return unrolled(net, tokens, options, (u, loss) => {
    if (options.lossAt !== undefined) {
      // ∂L_T/∂logits is (p − onehot)/count on the positions with a target: keep one, counted once
      u.targets.fill(-1, 0, T);
      u.targets[options.lossAt] = tokens[options.lossAt + 1]!;
      u.count = 1;
    }
    if (wantGrads) net.zeroGrad();
    u.backward({ paramGrads: wantGrads });
    // copies through set(): native copies (converting float64 networks' numbers)
    const layers = layerRecords(u, (n) => new Float32Array(n)).map((r, l): TraceLayer => ({
      ...r,
      gradH: new Float32Array(u.layers[l]!.gradH.subarray(0, T)),
      gradC: u.layers[l]!.gradC ? new Float32Array(u.layers[l]!.gradC!.subarray(0, T)) : null,
    }));
    let paramGrads: Map<string, Float32Array> | null = null;
    if (wantGrads) {
      paramGrads = new Map(net.layout.tensors.map((t) => [t.name, new Float32Array(net.grads.subarray(t.offset, t.offset + t.size))]));
    }
    return { tokens: tokens.slice(), loss: T > 1 ? loss : NaN, probs: new Float32Array(u.probs.subarray(0, T * V)), layers, paramGrads };
  });
}

/**
 * The forward alone of a trace, without the backward over the whole text that a trace adds: `body` gets its
 * internals as a ForwardRecord of views into the unroll's buffers, copied only where the layout needs it (gates
 * kept interleaved), and valid only while `body` runs (the next trace reuses the buffers). What the gradient reach
 * and the unit search need: copying a long text's record costs more than the reach itself (fresh pages).
 */
export function withForwardRecord<R>(net: Network, tokens: Int32Array, options: TraceOptions, body: (rec: ForwardRecord) => R): R {
  return unrolled(net, tokens, options, (u) => {
    const V = net.cfg.vocabSize;
    return body({ tokens: u.inputs.subarray(0, u.T), probs: u.probs.subarray(0, u.T * V), layers: layerRecords(u, (n) => new net.Float(n), true) });
  });
}

/**
 * Runs `tokens` forward from a zero state on an unroll (kept for the next trace where it can be) with the row
 * helper where it pays, then `body` on it while the helper is still attached.
 */
function unrolled<R>(net: Network, tokens: Int32Array, options: TraceOptions, body: (u: Unroll, loss: number) => R): R {
  const T = tokens.length;
  if (T === 0) throw new GatescopeError('there is no text to trace', 'not-text');
  if (T > MAX_TRACE_CHARS) {
    throw new GatescopeError(`the text has ${T} characters; trace at most ${MAX_TRACE_CHARS} at a time (select a part of it)`, 'invalid-input');
  }
  const V = net.cfg.vocabSize;
  if (T * V > MAX_TRACE_PROBS) {
    throw new GatescopeError(`a trace keeps the next-character distribution at every position: ${T.toLocaleString('en-US')} characters × ` +
      `${V.toLocaleString('en-US')} in the vocabulary is ${((T * V * 4) / 2 ** 20).toFixed(0)} MB, more than the ${MAX_TRACE_PROBS * 4 / 2 ** 20} MB a trace may hold; ` +
      `trace at most ${maxTraceLength(V).toLocaleString('en-US')} characters with this model (a part of the text)`, 'invalid-input');
  }
  const H = net.cfg.hidden;
  const u = unrollFor(net, T);
  u.inputs.set(tokens);
  for (let t = 0; t + 1 < T; t++) u.targets[t] = tokens[t + 1]!;
  u.targets[T - 1] = -1;
  u.resetState();
  const worth = options.threadsAtAnySize || (T >= MIN_THREAD_CHARS && net.gates * H * H >= MIN_THREAD_PRODUCT);
  const rows = worth ? helperFor(net.kernels, options.rowHelper) : null;
  try {
    if (rows !== null && options.waitForHelperMs) rows.waitReady(options.waitForHelperMs);
    u.rows = rows;
    return body(u, u.forward());
  } finally {
    u.rows = null;
    if (rows !== null) releaseHelper(net.kernels, rows);
  }
}

/**
 * The last forward's internals as (T, H) arrays of the network's own float type (float64 for gradient checks),
 * copied out of the unroll: what a backward from one prediction (reach.ts) reads. Batch-1 unrolls only.
 */
export function forwardRecord(u: Unroll): ForwardRecord {
  if (u.B !== 1) throw new Error('forwardRecord: batch-1 unrolls only');
  const { T } = u;
  const V = u.net.cfg.vocabSize;
  return { tokens: u.inputs.slice(0, T), probs: u.probs.slice(0, T * V), layers: layerRecords(u, (n) => new u.net.Float(n)) };
}

/**
 * Per layer of a batch-1 unroll, the gates by name, c and h as (T, H) arrays: copies into arrays from `make`, or
 * with `views`, subarrays of the unroll's buffers wherever they are contiguous.
 */
function layerRecords<A extends FloatArray>(u: Unroll, make: (n: number) => A, views = false):
  { gates: Record<string, A>; c: A | null; h: A }[] {
  const { T, net } = u;
  const { cell, hidden: H } = net.cfg;
  const G = net.gates;
  const names = isPlainRnn(cell) ? [] : GATE_NAMES[cell];
  const copyOf = (a: FloatArray, start: number, end: number): A => {
    if (views) return a.subarray(start, end) as A;
    const out = make(end - start);
    out.set(a.subarray(start, end));
    return out;
  };
  return u.layers.map((c) => {
    const gates: Record<string, A> = {};
    const act = c.act;
    names.forEach((name, gi) => {
      if (c.actByGate) {
        const src = gi * u.capacity * H; // gate-major: the gate's (T, H) in one piece
        gates[name] = copyOf(act!, src, src + T * H);
        return;
      }
      const out = make(T * H);
      for (let t = 0; t < T; t++) {
        const src = t * G * H + gi * H;
        out.set(act!.subarray(src, src + H), t * H);
      }
      gates[name] = out;
    });
    return { gates, c: c.cs ? copyOf(c.cs, H, (T + 1) * H) : null, h: copyOf(c.hs, H, (T + 1) * H) };
  });
}

/**
 * What traces keep between calls, per set of kernels (a network's memory): the last trace's unroll, whose
 * buffers the next trace of a network of the same shape reuses while it is long enough (a long trace's
 * buffers are hundreds of MB whose first touch costs the operating system a page fault every 4 KB; kept only
 * on kernels whose memory never shrinks, Kernels.retainsMemory), and the row helper thread, kept
 * IDLE_HELPER_MS after a trace so the next one does not pay its start (~50–90 ms).
 */
interface Kept {
  unroll: Unroll | null;
  helper: RowHelper | null;
  /** Stops the kept helper after IDLE_HELPER_MS without a trace. */
  idle: ReturnType<typeof setTimeout> | null;
}
const kept = new WeakMap<Kernels, Kept>();
/**
 * Unrolls of more bytes than this are not kept (a 10,000-character trace of a 2 × 256 LSTM is ~260 MB). Keeping
 * one costs no memory the process would otherwise give back (a WebAssembly memory never shrinks, and freed
 * blocks stay mapped), but its blocks then serve only traces.
 */
const MAX_KEPT_BYTES = 512 * 2 ** 20;
export const IDLE_HELPER_MS = 30_000;

function keptFor(kernels: Kernels): Kept {
  let k = kept.get(kernels);
  if (k === undefined) kept.set(kernels, k = { unroll: null, helper: null, idle: null });
  return k;
}

function unrollFor(net: Network, T: number): Unroll {
  if (!net.kernels.retainsMemory) return new Unroll(net, T, 1);
  const k = keptFor(net.kernels);
  if (k.unroll !== null && k.unroll.reuse(net, T)) return k.unroll;
  const u = new Unroll(net, T, 1);
  k.unroll = unrollBytes(net, T) <= MAX_KEPT_BYTES ? u : null;
  return u;
}

/**
 * An upper bound on the bytes of a batch-1 unroll's per-timestep buffers: per layer xp and act (G·H each; the GRU
 * one more), h, c, tanh(c), ∂L/∂h through the output (the GRU one more), ∂L/∂c, and the probabilities and their
 * gradient (V each).
 */
function unrollBytes(net: Network, T: number): number {
  const { hidden: H, layers: L, vocabSize: V } = net.cfg;
  return 4 * T * ((3 * net.gates + 6) * H * L + 2 * V + H);
}

/** The kernels' row helper: the kept one, or a new one (null where there can be none). */
function helperFor(kernels: Kernels, start: StartRowHelper | null | undefined): RowHelper | null {
  const k = keptFor(kernels);
  stopIdleTimer(k);
  if (k.helper !== null && !k.helper.stopped) return k.helper;
  k.helper = start ? start(kernels) : null;
  return k.helper;
}

/** Keeps the helper for the next trace, and stops it after IDLE_HELPER_MS without one. */
function releaseHelper(kernels: Kernels, rows: RowHelper): void {
  const k = keptFor(kernels);
  k.idle = setTimeout(() => {
    k.idle = null;
    k.helper = null;
    rows.dispose();
  }, IDLE_HELPER_MS);
  // a kept helper must not keep a process (the CLI) alive: Node's timers can be unreferenced
  (k.idle as { unref?: () => void }).unref?.();
}

function stopIdleTimer(k: Kept): void {
  if (k.idle !== null) clearTimeout(k.idle);
  k.idle = null;
}

/** Stops the kept row helper of these kernels now (tests; a host shutting the engine down). */
export function releaseTraceResources(kernels: Kernels): void {
  const k = kept.get(kernels);
  if (k === undefined) return;
  stopIdleTimer(k);
  k.helper?.dispose();
  kept.delete(kernels);
}
