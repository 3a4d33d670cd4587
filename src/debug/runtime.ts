import { GatescopeError } from '../engine/errors';
import { decodeModelFile, type ModelFile } from '../engine/modelfile';
import { decodeText } from '../engine/text';
import { MAX_TRACE_CHARS, traceTokens } from '../engine/trace';
import { CELL_NAMES, GATE_NAMES, isPlainRnn } from '../engine/types';
import type { TokenArray } from '../engine/vocab';
import {
  BreakpointTable, type Breakpoint, type BreakpointStatus, type ExpressionBreakpointSpec, type LineBreakpointSpec,
} from './breakpoints';
import { evaluate, evaluateCondition, type ExprScope, type Value } from './expr/evaluate';
import { parseExpression, type Expr } from './expr/parse';
import { positionAt, TextMap, type CharPosition } from './textmap';
import { Timeline } from './timeline';
import { baseName } from '../protocol/names';

/**
 * The step debugger's runtime: a text run through a model one character at a time, as if it were a program.
 * No vscode, no DAP, no Node I/O (files come through a FileAccessor), so it runs in tests, a worker or a
 * browser. The program counter t is a character (token) index; see Timeline for what "at t" means and how
 * step back stays bit-identical; see BreakpointTable for what breakpoints mean over a text.
 *
 * Long runs (continue, step out, reverse continue) work in slices of `sliceMs` and yield between them, so
 * that the host stays responsive and a pause request is seen while running.
 */

/** Reads files for the runtime (the program text and the model); injected so the runtime does no I/O itself. */
export interface FileAccessor {
  readFile(path: string): Promise<Uint8Array>;
}

/** What to step through: the launch configuration's part the runtime needs. */
export interface LaunchOptions {
  /** The document's path (shown in the stack, matched against breakpoints). */
  readonly program: string;
  /** The model file (.safetensors). */
  readonly model: string;
  /** The text to step through, instead of the file's content (a selection, or an unsaved document). */
  readonly text?: string;
  /** UTF-16 offset of `text` in the document (a selection's start); 0 by default. */
  readonly startOffset?: number;
  /** 0-based line and UTF-16 column of `text` in the document; found from `startOffset` in the file when absent. */
  readonly startLine?: number;
  readonly startColumn?: number;
}

export interface RuntimeOptions {
  /** Memory for step-back checkpoints (default 64 MiB). */
  readonly checkpointBudget?: number;
  /** Memory the launch trace for gradient norms may take (default 512 MiB); longer texts get no gradient norms. */
  readonly gradientBudget?: number;
  /** Longest stretch of work between yields, in ms (default 15). */
  readonly sliceMs?: number;
  /** Lets the host run between slices (default: a zero timeout). */
  readonly yieldToHost?: () => Promise<void>;
  /** Called with console output (logpoints, notes); `t` places it in the text. */
  readonly output?: (text: string, category: 'console' | 'stderr', t?: number) => void;
}

export type StopReason = 'entry' | 'step' | 'breakpoint' | 'function breakpoint' | 'pause' | 'end';

/** Why and where the sequence stopped. */
export interface Stop {
  readonly reason: StopReason;
  /** Shown by VS Code in the call stack ("Paused on …"). */
  readonly description?: string;
  /** More detail, e.g. the breakpoint's expression or a failed condition's error. */
  readonly text?: string;
  readonly breakpointIds?: readonly number[];
}

/** One of the ten likeliest next characters. */
export interface Candidate {
  readonly ch: string;
  readonly p: number;
}

export interface Prediction {
  readonly top: readonly Candidate[];
  /** The character that actually comes next, its probability and loss −ln p; null at the last character. */
  readonly next: { readonly ch: string; readonly p: number; readonly loss: number } | null;
  readonly entropy: number;
}

/** Gradient norms of one layer at t, or why there are none. */
export type GradientNorms =
  | { readonly available: true; readonly gradH: number; readonly gradC: number | null }
  | { readonly available: false; readonly reason: string };

/** The state at t, copied (SequenceRuntime.stateAt); each vector (H). */
export interface StateCopy {
  readonly layers: readonly {
    readonly h: Float32Array | Float64Array; readonly c: Float32Array | Float64Array | null;
    readonly gates: Readonly<Record<string, Float32Array | Float64Array>>;
    readonly hPrev: Float32Array | Float64Array; readonly cPrev: Float32Array | Float64Array | null;
  }[];
  /** The probability step t − 1 gave the character at t; null at t = 0. */
  readonly pChar: number | null;
}

/** Where the run is: a character, and inside it a layer (0-based) after Step Into (null: the whole timestep). */
export interface Position {
  readonly t: number;
  readonly layer: number | null;
}

interface Loaded {
  readonly options: LaunchOptions;
  readonly model: ModelFile;
  readonly map: TextMap;
  readonly timeline: Timeline;
  readonly gradH: readonly Float32Array[] | null; // per layer (T)
  readonly gradC: readonly (Float32Array | null)[] | null;
  readonly gradientsMissing: string;
}

export class SequenceRuntime {
  private loaded: Loaded | null = null;
  private layerFocus: number | null = null;
  private running = false;
  private pauseRequested = false;
  private cancelled = false;
  readonly breakpoints = new BreakpointTable();
  private readonly sliceMs: number;
  private readonly yieldToHost: () => Promise<void>;

  constructor(private readonly files: FileAccessor, private readonly options: RuntimeOptions = {}) {
    this.sliceMs = options.sliceMs ?? 15;
    this.yieldToHost = options.yieldToHost ?? (() => new Promise((resolve) => setTimeout(resolve, 0)));
  }

  // ---- loading ----------------------------------------------------------------------------------------

  /** Reads the model and the text and runs the launch trace; throws GatescopeError for any user problem. */
  async load(options: LaunchOptions): Promise<{ readonly warnings: readonly string[] }> {
    if (!options.program && options.text === undefined) throw new GatescopeError('the launch configuration has no "program" (the text file to step through)');
    if (!options.model) throw new GatescopeError('the launch configuration has no "model" (a .safetensors file trained by Gatescope)');
    const model = decodeModelFile(await this.read(options.model, 'the model'));
    let text: string;
    let docText: string | null = null;
    if (options.text !== undefined) {
      text = options.text;
      if (text.length === 0) throw new GatescopeError('the selection is empty: select some text to step through', 'not-text');
    } else {
      docText = decodeText(await this.read(options.program, 'the program'), baseName(options.program));
      text = docText;
    }
    const startOffset = options.startOffset ?? 0;
    let origin = { offset: startOffset, line: options.startLine ?? 0, column: options.startColumn ?? startOffset };
    const warnings: string[] = [...model.warnings];
    if (options.startLine === undefined && startOffset > 0) {
      try {
        docText ??= new TextDecoder().decode(await this.files.readFile(options.program));
        origin = { offset: startOffset, ...positionAt(docText, startOffset) };
      } catch {
        warnings.push(`could not read ${options.program} to place the text at offset ${startOffset}; positions assume it starts the file`);
        origin = { offset: startOffset, line: 0, column: 0 };
      }
    }
    const tokens = model.vocab.encodeCompact(text); // 1 byte per character for up to 256 distinct characters
    const map = new TextMap(text, origin);
    const timeline = new Timeline(model.net, tokens, this.options.checkpointBudget);
    const grads = this.gradientNorms(model, tokens);
    if (grads.missing) warnings.push(grads.missing);
    this.loaded = { options, model, map, timeline, gradH: grads.gradH, gradC: grads.gradC, gradientsMissing: grads.missing };
    this.layerFocus = null;
    this.breakpoints.resetHits();
    return { warnings };
  }

  /**
   * ‖∂loss/∂h_t‖ per layer and t from one trace of the whole text (the stepper has no backward). They depend
   * on the whole sequence, and describe the unedited run even after an intervention.
   */
  private gradientNorms(model: ModelFile, tokens: TokenArray): { gradH: Float32Array[] | null; gradC: (Float32Array | null)[] | null; missing: string } {
    const { hidden: H, layers: L, vocabSize: V } = model.net.cfg;
    const T = tokens.length;
    const bytes = T * ((4 * model.net.gates + 6) * H * L + V) * 4;
    const budget = this.options.gradientBudget ?? 512 * 1024 * 1024;
    if (T < 2) return { gradH: null, gradC: null, missing: 'gradient norms need at least 2 characters (a next character to predict)' };
    if (T > MAX_TRACE_CHARS || bytes > budget) {
      const most = Math.min(MAX_TRACE_CHARS, Math.floor(budget / (bytes / T)));
      return { gradH: null, gradC: null, missing: `gradient norms are computed for up to ${most} characters with this model, and the text has ${T}: step through a selection to see them` };
    }
    const trace = traceTokens(model.net, Int32Array.from(tokens));
    return { gradH: trace.layers.map((l) => l.gradH), gradC: trace.layers.map((l) => l.gradC), missing: '' };
  }

  private async read(path: string, what: string): Promise<Uint8Array> {
    try {
      return await this.files.readFile(path);
    } catch (err) {
      throw new GatescopeError(`cannot read ${what} ${path}: ${(err as Error).message}`, 'invalid-input');
    }
  }

  private get L(): Loaded {
    if (!this.loaded) throw new Error('no text is loaded');
    return this.loaded;
  }

  get isLoaded(): boolean {
    return this.loaded !== null;
  }

  get launchOptions(): LaunchOptions {
    return this.L.options;
  }

  get model(): ModelFile {
    return this.L.model;
  }

  get map(): TextMap {
    return this.L.map;
  }

  get timeline(): Timeline {
    return this.L.timeline;
  }

  get length(): number {
    return this.L.map.length;
  }

  get position(): Position {
    return { t: this.L.timeline.t, layer: this.layerFocus };
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Why gradient norms are missing ('' when they exist). */
  get gradientsMissing(): string {
    return this.L.gradientsMissing;
  }

  // ---- execution --------------------------------------------------------------------------------------

  /** Reads the first character; stops there on entry, else runs to the first breakpoint. */
  async start(stopOnEntry: boolean): Promise<Stop> {
    const { timeline } = this.L;
    timeline.reset(true);
    this.breakpoints.resetHits();
    this.layerFocus = null;
    timeline.goTo(0);
    const hit = this.arrive();
    if (stopOnEntry) return { reason: 'entry', description: 'Paused on the first character' };
    if (hit) return hit;
    return this.continue();
  }

  /** Step Over: one timestep (inside a layer: the next layer, then the next timestep). */
  async next(): Promise<Stop> {
    return this.exclusive(async () => {
      const L = this.L.model.net.cfg.layers;
      if (this.layerFocus !== null && this.layerFocus < L - 1) {
        this.layerFocus++;
        return { reason: 'step' };
      }
      this.layerFocus = null;
      return this.stepForward();
    });
  }

  /** Step Into: into the layers of this timestep, one layer at a time, then into the next timestep's first layer. */
  async stepIn(): Promise<Stop> {
    return this.exclusive(async () => {
      const L = this.L.model.net.cfg.layers;
      if (this.layerFocus === null) {
        this.layerFocus = 0;
        return { reason: 'step' };
      }
      if (this.layerFocus < L - 1) {
        this.layerFocus++;
        return { reason: 'step' };
      }
      const stop = this.stepForward();
      if (stop.reason !== 'end') this.layerFocus = 0;
      return stop;
    });
  }

  /** Step Out: out of a layer to its timestep; at a timestep, to the end of the current line (breakpoints stop it). */
  async stepOut(): Promise<Stop> {
    return this.exclusive(async () => {
      if (this.layerFocus !== null) {
        this.layerFocus = null;
        return { reason: 'step' };
      }
      const { map, timeline } = this.L;
      let target = map.lastTokenOnLineOf(timeline.t);
      if (target === timeline.t && target + 1 < map.length) target = map.lastTokenOnLineOf(target + 1);
      return this.runForward(target);
    });
  }

  /** Continue: to the next breakpoint, or the end of the text. */
  async continue(): Promise<Stop> {
    return this.exclusive(async () => {
      this.layerFocus = null;
      return this.runForward(null);
    });
  }

  /** Step Back: the inverse of Step Over/Into; restores the previous state bit for bit. */
  async stepBack(): Promise<Stop> {
    return this.exclusive(async () => {
      if (this.layerFocus !== null) {
        this.layerFocus = this.layerFocus > 0 ? this.layerFocus - 1 : null;
        return { reason: 'step' };
      }
      const t = this.L.timeline.t;
      if (t === 0) return { reason: 'entry', description: 'At the first character' };
      this.moveBack(t - 1);
      return { reason: 'step' };
    });
  }

  /** Reverse Continue: back to the previous place a breakpoint would stop (hit counts aside), or the start. */
  async reverseContinue(): Promise<Stop> {
    return this.exclusive(async () => {
      this.layerFocus = null;
      const { timeline, map } = this.L;
      const t0 = timeline.t;
      const span = Math.max(timeline.interval, 256);
      let deadline = Date.now() + this.sliceMs;
      // scan back segment by segment; within one, replay forward and keep the last place that would stop
      for (let end = t0 - 1; end >= 0;) {
        const start = Math.max(0, end - span + 1);
        let found: { t: number; bps: Breakpoint[] } | null = null;
        for (let t = start; t <= end; t++) {
          timeline.goTo(t);
          const bps = this.breakpoints.wouldStop(t, map, this.scope(null));
          if (bps.length > 0) found = { t, bps };
          if (Date.now() >= deadline) {
            await this.yieldToHost();
            deadline = Date.now() + this.sliceMs;
            if (this.pauseRequested || this.cancelled) {
              this.moveBack(t);
              return { reason: 'pause' };
            }
          }
        }
        if (found) {
          this.moveBack(found.t);
          return this.breakpointStop(found.bps);
        }
        end = start - 1;
      }
      this.moveBack(0);
      return { reason: 'entry', description: 'Back at the first character' };
    });
  }

  /** Asks a running continue to stop at the next slice boundary. */
  pause(): void {
    if (this.running) this.pauseRequested = true;
  }

  /** Stops any run for good (the session is ending). */
  cancel(): void {
    this.cancelled = true;
  }

  /** Resolves when no run is in progress (after pause(), to restart on a quiet runtime). */
  async settle(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }

  private inFlight: Promise<Stop> | null = null;

  private async exclusive(f: () => Promise<Stop>): Promise<Stop> {
    if (this.running) throw new GatescopeError('the sequence is running: pause it first');
    this.running = true;
    this.pauseRequested = false;
    const run = (async () => {
      try {
        return await f();
      } finally {
        this.running = false;
      }
    })();
    this.inFlight = run;
    return run;
  }

  private stepForward(): Stop {
    const { timeline } = this.L;
    if (timeline.t >= timeline.length - 1) return this.endStop();
    timeline.advance();
    return this.arrive() ?? { reason: 'step' };
  }

  /** Runs forward until a breakpoint, the end, `target` (step out) or a pause, yielding between slices. */
  private async runForward(target: number | null): Promise<Stop> {
    const { timeline } = this.L;
    let deadline = Date.now() + this.sliceMs;
    for (;;) {
      if (timeline.t >= timeline.length - 1) return this.endStop();
      timeline.advance();
      const hit = this.arrive();
      if (hit) return hit;
      if (timeline.t === target) return { reason: 'step' };
      if (Date.now() >= deadline) {
        await this.yieldToHost();
        deadline = Date.now() + this.sliceMs;
        if (this.pauseRequested || this.cancelled) return { reason: 'pause' };
      }
    }
  }

  private moveBack(t: number): void {
    this.L.timeline.goTo(t);
    this.breakpoints.rewind(t);
  }

  private endStop(): Stop {
    return { reason: 'end', description: `End of the text (${this.L.timeline.length} characters)` };
  }

  /** Breakpoints at the character just reached: logpoints print, hits count; returns a stop if one fires. */
  private arrive(): Stop | null {
    if (this.breakpoints.all.length === 0) return null;
    const { timeline, map } = this.L;
    const t = timeline.t;
    const result = this.breakpoints.arrive(t, map, this.scope(null));
    for (const log of result.logs) this.options.output?.(log.text + '\n', 'console', t);
    if (result.failures.length > 0) {
      for (const f of result.failures) this.options.output?.(f.message + '\n', 'stderr', t);
      return {
        reason: result.failures.some((f) => f.bp.kind === 'line') ? 'breakpoint' : 'function breakpoint',
        description: 'A breakpoint condition failed', text: result.failures[0]!.message,
        breakpointIds: result.failures.map((f) => f.bp.id),
      };
    }
    return result.stop.length > 0 ? this.breakpointStop(result.stop) : null;
  }

  private breakpointStop(bps: readonly Breakpoint[]): Stop {
    const line = bps.some((b) => b.kind === 'line');
    const labels = bps.map((b) => (b.kind === 'line' ? b.label + (b.conditions.length ? ` if ${b.conditions[0]!.source}` : '') : b.label));
    return {
      reason: line ? 'breakpoint' : 'function breakpoint',
      description: `Paused on ${labels.join('; ')}`,
      text: labels.join('; '),
      breakpointIds: bps.map((b) => b.id),
    };
  }

  /** Reloads (the same or new launch options) and starts over; interventions and hit counts are forgotten. */
  async restart(options?: LaunchOptions): Promise<{ warnings: readonly string[]; changed: BreakpointStatus[] }> {
    this.pause();
    await this.settle();
    const { warnings } = await this.load(options ?? this.L.options);
    this.L.timeline.goTo(0);
    const changed = this.breakpoints.revalidate(this.L.map, this.validator());
    return { warnings, changed };
  }

  // ---- breakpoints ------------------------------------------------------------------------------------

  setLineBreakpoints(specs: readonly LineBreakpointSpec[]): BreakpointStatus[] {
    return this.breakpoints.setLineBreakpoints(specs, this.loaded?.map ?? null, this.loaded ? this.validator() : null);
  }

  setExpressionBreakpoints(specs: readonly ExpressionBreakpointSpec[]): BreakpointStatus[] {
    return this.breakpoints.setExpressionBreakpoints(specs, this.loaded ? this.validator() : null);
  }

  /** Checks an expression against the model by evaluating it on the current state (it has no side effects). */
  private validator(): (expr: Expr, asCondition: boolean) => void {
    return (expr, asCondition) => {
      if (this.L.timeline.t < 0) this.L.timeline.goTo(0);
      const scope = this.scope(null);
      if (asCondition) evaluateCondition(expr, scope);
      else evaluate(expr, scope);
    };
  }

  // ---- state ------------------------------------------------------------------------------------------

  /** Evaluates an expression at the current state; vectors come back as copies. Throws ExprError. */
  evaluate(source: string, layer: number | null = this.layerFocus): Value {
    const v = evaluate(parseExpression(source), this.scope(layer));
    return v instanceof Float32Array || v instanceof Float64Array ? v.slice() : v;
  }

  /** The gate names of the model's cell (LSTM i f g o, GRU r z n, none for the plain RNNs, tanh or ReLU). */
  get gateNames(): readonly string[] {
    const cell = this.L.model.net.cfg.cell;
    return isPlainRnn(cell) ? [] : GATE_NAMES[cell];
  }

  /** Live views of one layer's vectors at t (valid until the next move): h, c (LSTM) and each gate. */
  layerVectors(layer: number): { h: Float32Array | Float64Array; c: Float32Array | Float64Array | null; gates: Record<string, Float32Array | Float64Array> } {
    const s = this.L.timeline.stepper.layers[layer];
    if (!s) throw new Error(`there is no layer ${layer}`);
    const H = this.L.model.net.cfg.hidden;
    const gates: Record<string, Float32Array | Float64Array> = {};
    this.gateNames.forEach((name, k) => {
      gates[name] = s.act!.subarray(k * H, (k + 1) * H);
    });
    return { h: s.h, c: s.c, gates };
  }

  gradients(layer: number): GradientNorms {
    const { gradH, gradC, gradientsMissing, timeline } = this.L;
    if (!gradH) return { available: false, reason: gradientsMissing };
    return { available: true, gradH: gradH[layer]![timeline.t]!, gradC: gradC?.[layer]?.[timeline.t] ?? null };
  }

  /** The ten (or k) likeliest next characters, the actual next one with its loss, and the entropy. */
  prediction(k = 10): Prediction {
    const { timeline, model, map } = this.L;
    const probs = timeline.stepper.probs;
    const V = probs.length;
    const best: number[] = [];
    for (let v = 0; v < V; v++) {
      if (best.length === k && probs[v]! <= probs[best[k - 1]!]!) continue;
      let pos = best.length === k ? k - 1 : best.length;
      while (pos > 0 && probs[best[pos - 1]!]! < probs[v]!) pos--;
      best.splice(pos, 0, v);
      if (best.length > k) best.pop();
    }
    let entropy = 0;
    for (let v = 0; v < V; v++) if (probs[v]! > 0) entropy -= probs[v]! * Math.log(probs[v]!);
    const t = timeline.t;
    let next: Prediction['next'] = null;
    if (t + 1 < timeline.length) {
      const id = timeline.tokens[t + 1]!;
      next = { ch: map.charAt(t + 1), p: probs[id]!, loss: -Math.log(probs[id]!) };
    }
    return { top: best.map((v) => ({ ch: model.vocab.chars[v]!, p: probs[v]! })), next, entropy };
  }

  /**
   * Copies of the state at t for another view of it (the inspector, after Set Value): per layer h, c and the gates of
   * step t, and h, c after step t − 1 (zeros at t = 0) with the probability step t − 1 gave the character at t. Going
   * to t − 1 and back replays at most a checkpoint interval, and restores the state at t bit for bit (Timeline).
   */
  stateAt(): StateCopy {
    const { timeline } = this.L;
    const t = timeline.t;
    if (t < 0) throw new Error('no step has run yet');
    if (this.running) throw new GatescopeError('the sequence is running: pause it first');
    const L = this.L.model.net.cfg.layers;
    const layers = Array.from({ length: L }, (_, l) => {
      const v = this.layerVectors(l);
      const gates: Record<string, Float32Array | Float64Array> = {};
      for (const [name, g] of Object.entries(v.gates)) gates[name] = g.slice();
      return { h: v.h.slice(), c: v.c?.slice() ?? null, gates, hPrev: v.h.slice().fill(0), cPrev: v.c?.slice().fill(0) ?? null };
    });
    let pChar: number | null = null;
    if (t > 0) {
      timeline.goTo(t - 1);
      layers.forEach((x, l) => {
        const s = timeline.stepper.layers[l]!;
        x.hPrev.set(s.h);
        if (s.c) x.cPrev?.set(s.c);
      });
      pChar = timeline.stepper.probs[timeline.tokens[t]!]!;
      timeline.goTo(t);
    }
    return { layers, pChar };
  }

  /** Where character t is in the document. */
  positionOf(t: number): CharPosition {
    return this.L.map.position(t);
  }

  /** An intervention: sets unit j of layer `layer`'s h or c at the current t; returns the value stored. */
  setUnit(layer: number, state: 'h' | 'c', j: number, value: number): number {
    if (this.running) throw new GatescopeError('the sequence is running: pause it first');
    if (!Number.isFinite(value)) throw new GatescopeError(`a unit's value must be a finite number, not ${value}`);
    const stored = this.L.timeline.setUnit(layer, state, j, value);
    this.breakpoints.rewind(this.L.timeline.t);
    return stored;
  }

  /** The expression language's view of the state at t; unqualified names refer to `layer` (default: the top one). */
  scope(layer: number | null): ExprScope {
    const { model, timeline, map } = this.L;
    const L = model.net.cfg.layers;
    const stepper = timeline.stepper;
    const cell = model.net.cfg.cell;
    const gates = this.gateNames;
    const layerNames = ['h', ...(cell === 'lstm' ? ['c'] : []), ...gates, 'gradH', ...(cell === 'lstm' ? ['gradC'] : [])];
    const globalNames = ['t', 'ch', 'next', 'top1', 'loss', 'entropy', 'probs', 'logits'];
    const argmax = (): number => {
      let best = 0;
      for (let v = 1; v < stepper.probs.length; v++) if (stepper.probs[v]! > stepper.probs[best]!) best = v;
      return best;
    };
    return {
      layerCount: L,
      defaultLayer: layer ?? L - 1,
      layerValue: (l, name) => {
        if (name === 'gradH' || name === 'gradC') {
          if (name === 'gradC' && cell !== 'lstm') throw new Error(`gradC is the gradient norm of an LSTM's cell state; this model is ${cell}`);
          const g = this.gradients(l);
          if (!g.available) throw new Error(g.reason);
          return name === 'gradH' ? g.gradH : g.gradC!;
        }
        if (!layerNames.includes(name)) {
          if (name === 'c') throw new Error(`c is an LSTM's cell state; this model is ${cell}: use h`);
          if (['i', 'f', 'g', 'o', 'r', 'z', 'n'].includes(name)) {
            throw new Error(`${name} is not a gate of ${isPlainRnn(cell)
              ? `a plain RNN (it has none: h = ${cell === 'rnn_relu' ? 'relu' : 'tanh'}(W_ih·x + b_ih + W_hh·h + b_hh))`
              : `a ${CELL_NAMES[cell]} (its gates are ${gates.join(', ')})`}`);
          }
          return undefined;
        }
        const v = this.layerVectors(l);
        if (name === 'h') return v.h;
        if (name === 'c') return v.c!;
        return v.gates[name];
      },
      globalValue: (name) => {
        const t = timeline.t;
        switch (name) {
          case 't': return t;
          case 'ch': return map.charAt(t);
          case 'next': return t + 1 < timeline.length ? map.charAt(t + 1) : '';
          case 'top1': return model.vocab.chars[argmax()]!;
          case 'loss': return t + 1 < timeline.length ? -Math.log(stepper.probs[timeline.tokens[t + 1]!]!) : NaN;
          case 'entropy': return this.prediction(1).entropy;
          case 'probs': return stepper.probs;
          case 'logits': return stepper.logits;
          default: return undefined;
        }
      },
      probOf: (ch) => {
        const id = model.vocab.idOf(ch);
        return id === undefined ? undefined : stepper.probs[id]!;
      },
      logitOf: (ch) => {
        const id = model.vocab.idOf(ch);
        return id === undefined ? undefined : stepper.logits[id]!;
      },
      names: () => [...globalNames, ...layerNames],
    };
  }
}
