import { DiagnosticsProbe, gateSaturation, historyRow, HistoryRecorder } from './diagnostics';
import { GatescopeError } from './errors';
import type { Network } from './network';
import { Adam, ADAM_DEFAULTS, clipGradients } from './optim';
import { Rng } from './rng';
import type { FloatArray, StepDiagnostics, TensorHistory, TrainOptions } from './types';
import { Unroll } from './unroll';
import type { TokenArray } from './vocab';
export type { TrainOptions };

/** The defaults of every hyperparameter (settings.ts and the CLI start from them). */
export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  cell: 'lstm', layers: 1, hidden: 128, embed: 64, seq: 64, batch: 32,
  lr: 2e-3, clip: 5, clipMode: 'norm', steps: 1000, valFrac: 0.05, seed: 1,
};

/**
 * Steps between two diagnostics steps unless the options say: a stats step costs a few passes over the P parameters
 * and one over the gates (bench/diagnostics.mjs measured it), so that every DEFAULT_STATS_EVERY-th step keeps the
 * cost well under 2% of training.
 */
export const DEFAULT_STATS_EVERY = 25;

/** The largest initScale a run may ask for (the explode preset uses a few). */
export const MAX_INIT_SCALE = 100;

/** The shortest truncated-BPTT length the trainer shrinks to before it calls a text too short. */
export const MIN_SEQ = 8;

/** The most optimisation steps a run may take (--steps, or --epochs turned into steps). */
export const MAX_STEPS = 1e9;

export function validateTrainOptions(o: TrainOptions): void {
  const int = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new GatescopeError(`${name} must be a whole number from ${lo} to ${hi}, not ${v}`);
    }
  };
  int('seq', o.seq, 1, 100_000);
  int('batch', o.batch, 1, 100_000);
  int('steps', o.steps, 0, MAX_STEPS);
  int('seed', o.seed, 0, 0xffffffff);
  if (!Number.isFinite(o.lr) || o.lr <= 0) throw new GatescopeError(`the learning rate must be a positive number, not ${o.lr}`);
  if (!Number.isFinite(o.clip) || o.clip < 0) throw new GatescopeError(`clip must be 0 (off) or a positive number, not ${o.clip}`);
  if (o.statsEvery !== undefined) int('statsEvery', o.statsEvery, 1, MAX_STEPS);
  if (o.initScale !== undefined && !(Number.isFinite(o.initScale) && o.initScale > 0 && o.initScale <= MAX_INIT_SCALE)) {
    throw new GatescopeError(`initScale must be a number above 0 and at most ${MAX_INIT_SCALE}, not ${o.initScale}`);
  }
  if (o.clipMode !== 'norm' && o.clipMode !== 'value') throw new GatescopeError(`clip mode must be norm or value, not ${String(o.clipMode)}`);
  if (!Number.isFinite(o.valFrac) || o.valFrac < 0 || o.valFrac >= 0.5) {
    throw new GatescopeError(`the validation fraction must be from 0 to 0.5 (exclusive), not ${o.valFrac}`);
  }
}

/** How the text is cut into lanes, after shrinking batch and seq to fit a short text. */
export interface DataPlan {
  readonly seq: number;
  readonly batch: number;
  readonly trainLength: number; // tokens [0, trainLength) train
  readonly valLength: number;   // tokens [trainLength, trainLength + valLength) validate
  readonly laneLength: number;  // tokens per lane
  readonly stepsPerEpoch: number;
  readonly warnings: readonly string[];
}

/**
 * Cuts n tokens into B contiguous lanes of the training part (as word_language_model's batchify), with the
 * last valFrac of the text held out. A short text shrinks the batch first, then seq (down to MIN_SEQ), each
 * with a warning; shorter still is an error that says how long the text must be.
 */
export function planData(n: number, seq: number, batch: number, valFrac: number): DataPlan {
  const warnings: string[] = [];
  if (n < MIN_SEQ + 1) {
    throw new GatescopeError(`the text is too short to train on: it has ${n} character${n === 1 ? '' : 's'}, and at least ${MIN_SEQ + 1} are needed`, 'too-short');
  }
  let valLength = Math.floor(n * valFrac);
  if (valLength > 0 && (valLength < MIN_SEQ + 1 || n - valLength < seq + 1)) {
    warnings.push(`the text is too short to hold out ${Math.round(valFrac * 100)}% for validation (${n} characters); training without a validation loss`);
    valLength = 0;
  }
  const trainLength = n - valLength;
  let T = seq;
  if (trainLength < T + 1) {
    T = trainLength - 1;
    warnings.push(`the text has only ${trainLength} characters, fewer than seq + 1 = ${seq + 1}: seq shrunk to ${T}`);
  }
  let B = batch;
  const maxLanes = Math.floor(trainLength / (T + 1));
  if (maxLanes < B) {
    B = Math.max(1, maxLanes);
    warnings.push(`the text is too short for ${batch} lanes of ${T + 1} characters: batch shrunk to ${B}`);
  }
  const laneLength = Math.floor(trainLength / B);
  return { seq: T, batch: B, trainLength, valLength, laneLength, stepsPerEpoch: Math.floor((laneLength - 1) / T), warnings };
}

/** One optimisation step's numbers. */
export interface StepReport {
  readonly step: number;      // steps done after this one
  readonly epoch: number;     // completed passes over the training text
  readonly loss: number;      // mean cross-entropy of the batch before the update (nats per character)
  readonly gradNorm: number;  // global gradient norm before clipping
  readonly clipRatio: number;
  readonly chars: number;     // characters consumed by this step (B·T)
  /** Per-tensor norms and gate saturation on a stats step (every statsEvery steps, or when asked), else null. */
  readonly diagnostics: StepDiagnostics | null;
}

/**
 * Where the forward + backward of a step runs when it is not this thread's own Unroll: parallel/ParallelSteps
 * splits the lanes over threads. The engine keeps the carried state while it is attached.
 */
export interface StepEngine {
  /** ∂L/∂θ of the chunk at `position` of every lane into net.grads (overwritten); returns the mean loss. */
  gradients(position: number): number;
  /** Makes the final state of the last gradients() the carried state. */
  commitState(): void;
  resetState(): void;
  /** Copies the carried state out of (read) or into (write) (L, B, H) arrays; c only for the LSTM. */
  readState(h: FloatArray, c: FloatArray | null): void;
  writeState(h: FloatArray, c: FloatArray | null): void;
}

/** Everything besides the parameters that an exact resume needs. */
export interface TrainingState {
  readonly options: TrainOptions;
  readonly step: number;
  readonly epoch: number;
  readonly position: number;   // offset within each lane of the next chunk
  readonly rng: readonly number[];
  readonly adamStep: number;
  readonly m: FloatArray;      // (P) Adam first moment
  readonly v: FloatArray;      // (P) Adam second moment
  readonly carryH: FloatArray; // (L, B, H) hidden state carried into the next chunk
  readonly carryC: FloatArray | null; // (L, B, H) LSTM cell state carried
  readonly dataLength: number;
  readonly dataHash: string;   // FNV-1a of the token ids, to notice a resume on different text
  /** The stats steps so far (bounded); a resume continues it. Absent in files from before it was recorded. */
  readonly history?: TensorHistory;
}

/**
 * Trains a network on a token stream with truncated BPTT: B lanes, chunks of T, hidden state carried from
 * chunk to chunk (and reset at each epoch), Adam, gradient clipping, a guard against non-finite numbers.
 * The caller drives the loop one step() at a time, so it can report progress and stop between steps.
 */
export class Trainer {
  readonly plan: DataPlan;
  readonly adam: Adam;
  readonly rng: Rng;
  step = 0;
  epoch = 0;
  private position = 0;
  private readonly unroll: Unroll;
  private valUnroll: Unroll | null = null;
  private engine: StepEngine | null = null;
  private readonly dataHash: string;
  private readonly probe: DiagnosticsProbe;
  private readonly history: HistoryRecorder;
  readonly statsEvery: number;
  /** Warnings about the resume, for the user. */
  readonly notices: string[] = [];

  constructor(readonly net: Network, readonly tokens: TokenArray, readonly options: TrainOptions, resume?: TrainingState) {
    validateTrainOptions(options);
    this.plan = planData(tokens.length, options.seq, options.batch, options.valFrac);
    this.unroll = new Unroll(net, this.plan.seq, this.plan.batch);
    this.adam = new Adam(net.params.length, { ...ADAM_DEFAULTS, lr: options.lr }, net.Float, net.kernels);
    this.rng = new Rng(options.seed);
    this.dataHash = hashTokens(tokens);
    this.statsEvery = options.statsEvery ?? DEFAULT_STATS_EVERY;
    this.probe = new DiagnosticsProbe(net);
    this.history = new HistoryRecorder(net.layout.tensors.map((t) => t.name), resume?.history);
    if (resume) this.restore(resume);
  }

  /**
   * Runs the steps' forward + backward on `engine` from now on (null: back on this thread); the carried state
   * moves with it, so attaching and detaching between steps changes nothing but where the work runs.
   */
  useEngine(engine: StepEngine | null): void {
    const { h, c } = this.carried();
    this.engine = engine;
    if (engine) engine.writeState(h, c);
    else this.setCarried(h, c);
  }

  get charsPerStep(): number {
    return this.plan.seq * this.plan.batch;
  }

  /**
   * forward → zeroGrad → backward → check → clip → update, then carry the state to the next chunk. A stats step
   * (every statsEvery steps, or `stats`) also measures the diagnostics and adds them to the history.
   */
  trainStep(stats = false): StepReport {
    stats ||= (this.step + 1) % this.statsEvery === 0;
    const { seq: T, batch: B, laneLength } = this.plan;
    const u = this.unroll;
    if (this.position + T + 1 > laneLength) {
      this.position = 0;
      this.epoch++;
      u.resetState();
      this.engine?.resetState();
    }
    let loss: number;
    let saturation: number[] | null = null;
    if (this.engine) {
      loss = this.engine.gradients(this.position);
    } else {
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const src = b * laneLength + this.position + t;
          u.inputs[t * B + b] = this.tokens[src]!;
          u.targets[t * B + b] = this.tokens[src + 1]!;
        }
      }
      loss = u.forward();
      if (stats) saturation = gateSaturation(u);
      this.net.zeroGrad();
      u.backward();
    }
    if (stats) this.probe.begin(); // the gradient before clipping, θ before the update
    const clip = clipGradients(this.net.grads, this.options.clipMode, this.options.clip, this.net.kernels);
    if (!Number.isFinite(loss) || !Number.isFinite(clip.gradNorm)) {
      // nothing has been updated yet: the parameters are still the last good ones
      throw new GatescopeError(this.describeNonFinite(loss), 'non-finite');
    }
    this.adam.update(this.net.params, this.net.grads);
    if (this.engine) this.engine.commitState();
    else u.carryState();
    this.position += T;
    this.step++;
    const diagnostics = stats ? this.probe.finish(this.step, saturation) : null;
    if (diagnostics) this.history.push(historyRow(diagnostics, this.history.tensors, loss, clip.gradNorm, clip.clipRatio));
    return { step: this.step, epoch: this.epoch, loss, gradNorm: clip.gradNorm, clipRatio: clip.clipRatio, chars: T * B, diagnostics };
  }

  /**
   * Mean loss on the held-out text (at most maxChars of it), from a zero state with the state carried across
   * chunks; NaN when there is no validation part. Leaves the training state untouched.
   */
  validate(maxChars = 32_768): number {
    const { valLength, trainLength, seq: T } = this.plan;
    if (valLength === 0) return NaN;
    const n = Math.min(valLength, maxChars);
    const B = Math.max(1, Math.min(this.plan.batch, Math.floor(n / (T + 1))));
    const lane = Math.floor(n / B);
    if (this.valUnroll === null || this.valUnroll.B !== B) this.valUnroll = new Unroll(this.net, T, B);
    const u = this.valUnroll;
    u.resetState();
    let sum = 0;
    let count = 0;
    for (let p = 0; p + 1 < lane; p += T) {
      const len = Math.min(T, lane - 1 - p);
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const src = trainLength + b * lane + p + t;
          u.inputs[t * B + b] = t < len ? this.tokens[src]! : 0;
          u.targets[t * B + b] = t < len ? this.tokens[src + 1]! : -1;
        }
      }
      const loss = u.forward();
      sum += loss * u.count;
      count += u.count;
      u.carryState();
    }
    return count > 0 ? sum / count : NaN;
  }

  /** The stats steps recorded so far, this run's and (on a resume) the earlier ones'. */
  historySnapshot(): TensorHistory {
    return this.history.snapshot();
  }

  /** The state an exact resume needs (copies, so the trainer can go on). */
  snapshot(): TrainingState {
    const { h: carryH, c: carryC } = this.carried();
    return {
      options: this.options, step: this.step, epoch: this.epoch, position: this.position, rng: this.rng.getState(),
      adamStep: this.adam.step, m: this.adam.m.slice(), v: this.adam.v.slice(), carryH, carryC,
      dataLength: this.tokens.length, dataHash: this.dataHash, history: this.history.snapshot(),
    };
  }

  /** A copy of the carried state: (L, B, H) hidden and (LSTM) cell state. */
  private carried(): { h: FloatArray; c: FloatArray | null } {
    const { hidden: H, layers: L } = this.net.cfg;
    const B = this.plan.batch;
    const h = new this.net.Float(L * B * H);
    const c = this.net.cfg.cell === 'lstm' ? new this.net.Float(L * B * H) : null;
    if (this.engine) {
      this.engine.readState(h, c);
      return { h, c };
    }
    this.unroll.layers.forEach((u, l) => {
      h.set(u.hs.subarray(0, B * H), l * B * H);
      if (c) c.set(u.cs!.subarray(0, B * H), l * B * H);
    });
    return { h, c };
  }

  private setCarried(h: FloatArray, c: FloatArray | null): void {
    const n = this.plan.batch * this.net.cfg.hidden;
    this.unroll.layers.forEach((u, l) => {
      u.hs.set(h.subarray(l * n, (l + 1) * n), 0);
      if (u.cs && c) u.cs.set(c.subarray(l * n, (l + 1) * n), 0);
    });
  }

  private restore(s: TrainingState): void {
    const { hidden: H, layers: L } = this.net.cfg;
    this.step = s.step;
    this.epoch = s.epoch;
    this.adam.step = s.adamStep;
    this.adam.m.set(s.m);
    this.adam.v.set(s.v);
    this.rng.setState(s.rng);
    const B = this.plan.batch;
    const sameData = s.dataLength === this.tokens.length && s.dataHash === this.dataHash;
    if (!sameData) {
      this.notices.push('resuming on a different text: the optimiser state is kept, the data position and hidden state start afresh');
      return;
    }
    if (s.carryH.length !== L * B * H) {
      this.notices.push('the batch size differs from the checkpoint: the hidden state starts afresh');
      return;
    }
    this.position = s.position;
    this.unroll.layers.forEach((c, l) => {
      c.hs.set(s.carryH.subarray(l * B * H, (l + 1) * B * H), 0);
      if (c.cs && s.carryC) c.cs.set(s.carryC.subarray(l * B * H, (l + 1) * B * H), 0);
    });
  }

  private describeNonFinite(loss: number): string {
    // a non-finite parameter is the root cause when there is one; otherwise the gradient that overflowed
    const bad = firstNonFinite(this.net, 'params') ?? firstNonFinite(this.net, 'grads');
    const what = !Number.isFinite(loss) ? `the loss became ${loss}` : 'the gradient became non-finite';
    return `training stopped at step ${this.step + 1}: ${what}` +
      (bad ? ` (first non-finite tensor: ${bad})` : '') +
      '. The model keeps its last good parameters; lower the learning rate or enable gradient clipping.';
  }
}

/** Name of the first tensor (in state_dict order) holding a NaN or ±Infinity, with the index of the entry. */
export function firstNonFinite(net: Network, which: 'params' | 'grads'): string | null {
  const flat = which === 'params' ? net.params : net.grads;
  for (const t of net.layout.tensors) {
    for (let i = 0; i < t.size; i++) {
      const x = flat[t.offset + i]!;
      if (!Number.isFinite(x)) return `${which === 'grads' ? 'gradient of ' : ''}${t.name}[${i}] = ${x}`;
    }
  }
  return null;
}

/** FNV-1a over the token ids: a cheap fingerprint of the training text. */
export function hashTokens(tokens: TokenArray): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < tokens.length; i++) {
    h = Math.imul(h ^ (tokens[i]! & 0xff), 0x01000193);
    h = Math.imul(h ^ ((tokens[i]! >>> 8) & 0xffffff), 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
