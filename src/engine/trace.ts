import { GatescopeError } from './errors';
import type { Network } from './network';
import { RowSplit } from './parallel/rowSplit';
import type { ThreadHost } from './parallel/shards';
import { GATE_NAMES } from './types';
import { Unroll } from './unroll';

/** One layer of a trace; every (T, H) array is row-major: value of unit j at time t at t·H + j. */
export interface TraceLayer {
  /** Post-activation gates by name: LSTM i, f, g, o; GRU r, z, n. Empty for the plain RNN. */
  readonly gates: Readonly<Record<string, Float32Array>>; // each (T, H)
  readonly c: Float32Array | null; // (T, H) LSTM cell state
  readonly h: Float32Array;        // (T, H)
  readonly gradH: Float32Array;    // (T) ‖∂loss/∂h_t‖₂
  readonly gradC: Float32Array | null; // (T) ‖∂loss/∂c_t‖₂, LSTM
}

/** Everything the inspector, the debugger and `gatescope trace` show about one text. */
export interface Trace {
  readonly tokens: Int32Array;  // (T)
  /** Mean cross-entropy of the T − 1 next-character predictions (the last position has no target). */
  readonly loss: number;
  readonly probs: Float32Array; // (T, V) next-character distribution at every position
  readonly layers: readonly TraceLayer[];
  /** ∂loss/∂θ per tensor in the model file's layout, when asked for. */
  readonly paramGrads: ReadonlyMap<string, Float32Array> | null;
}

/** Longest text traced in one piece; memory grows ~(4G + 6)·H·L·4 bytes per character. */
export const MAX_TRACE_CHARS = 200_000;

/**
 * Runs a text from a zero state with the full trace, then backward for the gradient norms; ∂loss/∂θ (and the
 * products that compute it) only when `paramGrads` asks for them. net.grads is overwritten only then.
 */
export interface TraceOptions {
  /** Also compute ∂loss/∂θ (overwrites net.grads). */
  readonly paramGrads?: boolean;
  /**
   * Runs the recurrent matrix–vector products (and the large products over all timesteps) on two threads, this
   * one and a helper the host starts for the trace (parallel/rowSplit.ts): bit-identical results, about half the
   * time of the products. Ignored where it cannot run (TypeScript kernels, a host without row threads) or would
   * not pay (MIN_THREAD_PRODUCT); the helper joins once started.
   */
  readonly threads?: ThreadHost | null;
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
  if (T === 0) throw new GatescopeError('there is no text to trace', 'not-text');
  if (T > MAX_TRACE_CHARS) {
    throw new GatescopeError(`the text has ${T} characters; trace at most ${MAX_TRACE_CHARS} at a time (select a part of it)`, 'invalid-input');
  }
  const { cell, hidden: H, vocabSize: V } = net.cfg;
  const u = new Unroll(net, T, 1);
  u.inputs.set(tokens);
  for (let t = 0; t + 1 < T; t++) u.targets[t] = tokens[t + 1]!;
  u.targets[T - 1] = -1;
  u.resetState();
  const worth = options.threadsAtAnySize || (T >= MIN_THREAD_CHARS && net.gates * H * H >= MIN_THREAD_PRODUCT);
  const rows = worth ? RowSplit.start(net.kernels, options.threads) : null;
  let loss: number;
  const wantGrads = options.paramGrads ?? false;
  try {
    if (rows !== null && options.waitForHelperMs) rows.waitReady(options.waitForHelperMs);
    u.rows = rows;
    loss = u.forward();
    if (wantGrads) net.zeroGrad();
    u.backward({ paramGrads: wantGrads });
  } finally {
    rows?.dispose();
  }
  const G = net.gates;
  const names = cell === 'rnn_tanh' ? [] : GATE_NAMES[cell];
  // copies through the typed-array constructor and set(): native copies (converting float64 networks' numbers)
  const layers = u.layers.map((c): TraceLayer => {
    const gates: Record<string, Float32Array> = {};
    const act = c.act;
    names.forEach((name, gi) => {
      const out = new Float32Array(T * H);
      for (let t = 0; t < T; t++) {
        const src = t * G * H + gi * H;
        out.set(act!.subarray(src, src + H), t * H);
      }
      gates[name] = out;
    });
    return {
      gates,
      c: c.cs ? new Float32Array(c.cs.subarray(H)) : null,
      h: new Float32Array(c.hs.subarray(H)),
      gradH: new Float32Array(c.gradH),
      gradC: c.gradC ? new Float32Array(c.gradC) : null,
    };
  });
  let paramGrads: Map<string, Float32Array> | null = null;
  if (wantGrads) {
    paramGrads = new Map(net.layout.tensors.map((t) => [t.name, new Float32Array(net.grads.subarray(t.offset, t.offset + t.size))]));
  }
  return { tokens: tokens.slice(), loss: T > 1 ? loss : NaN, probs: new Float32Array(u.probs.subarray(0, T * V)), layers, paramGrads };
}
