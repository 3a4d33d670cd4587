import {
  BreakpointEvent, CompletionItem, Event, Handles, InitializedEvent, InvalidatedEvent, Logger, logger, LoggingDebugSession, OutputEvent,
  Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread, Variable,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { isGatescopeError } from '../engine/errors';
import { CELL_NAMES, type CellType } from '../engine/types';
import type { BreakpointStatus } from './breakpoints';
import { DID_STEP_EVENT, type DidStepBody, type DidStepState } from '../protocol/debug';
import { samePath } from './launchConfig';
import { ExprError } from './expr/error';
import { FUNCTIONS, type Vector } from './expr/evaluate';
import { formatNumber, formatValue, quoteChar } from './expr/format';
import { SequenceRuntime, type FileAccessor, type LaunchOptions, type RuntimeOptions, type Stop } from './runtime';
import { baseName } from '../protocol/names';

/** The launch configuration of a `gatescope` debug session (package.json's configurationAttributes). */
export interface GatescopeLaunchArguments extends DebugProtocol.LaunchRequestArguments, LaunchOptions {
  /** Stop at the first character (default true). */
  readonly stopOnEntry?: boolean;
  /** Log the DAP traffic. */
  readonly trace?: boolean;
}

/** What a variablesReference points to. Layer vectors are read live, so Set Value shows up everywhere at once. */
type VarRef =
  | { readonly kind: 'prediction' }
  | { readonly kind: 'probs' }
  | { readonly kind: 'gates'; readonly layer: number }
  | { readonly kind: 'layerVector'; readonly layer: number; readonly name: string }
  | { readonly kind: 'gradients'; readonly layer: number }
  | { readonly kind: 'interventions' }
  | { readonly kind: 'value'; readonly data: Vector; readonly expression: string };

const THREAD_ID = 1;
const TIMESTEP_FRAME = 1;
const LAYER_FRAME_BASE = 2; // frame id of layer l (0-based) is 2 + l
const GATE_TITLES: Readonly<Record<string, string>> = {
  i: 'input gate', f: 'forget gate', g: 'candidate', o: 'output gate', r: 'reset gate', z: 'update gate', n: 'candidate',
};
/** Expressions the launch banner suggests, in the cell's own terms (a ReLU unit is silent at exactly 0). */
const EXAMPLES: Readonly<Record<CellType, string>> = {
  lstm: 'f[3] < 0.1, max(abs(c)) > 3',
  gru: 'z[3] > 0.9, max(abs(h)) > 0.9',
  rnn_tanh: 'h[3] > 0.9, max(abs(h)) > 0.99',
  rnn_relu: 'h[3] == 0, sum(h > 0) < 4',
};

const ERR_LAUNCH = 1001;
const ERR_RUNNING = 1002;
const ERR_EXPRESSION = 1003;
const ERR_SET = 1004;

/**
 * The Gatescope debug adapter: DAP over a SequenceRuntime, with no vscode import. One thread (the text);
 * the top stack frame is the character just read, "t=42 'x'", placed on that character so the editor
 * highlights it; Step Into adds a frame per layer. Files come through the injected FileAccessor.
 */
export class GatescopeDebugSession extends LoggingDebugSession {
  private readonly runtime: SequenceRuntime;
  private readonly handles = new Handles<VarRef>();
  private configured!: () => void;
  private readonly configurationDone = new Promise<void>((resolve) => (this.configured = resolve));
  private launchArgs: GatescopeLaunchArguments | null = null;
  /** Bumped by restart and terminate, so that a run that was interrupted does not report a stale stop. */
  private generation = 0;

  constructor(files: FileAccessor, options: RuntimeOptions = {}) {
    super();
    this.setDebuggerLinesStartAt1(false);
    this.setDebuggerColumnsStartAt1(false);
    this.runtime = new SequenceRuntime(files, {
      ...options,
      output: (text, category, t) => {
        options.output?.(text, category, t);
        this.output(text, category, t);
      },
    });
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      ...response.body,
      supportsConfigurationDoneRequest: true,
      supportsStepBack: true,
      supportsSetVariable: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsFunctionBreakpoints: true,
      supportsEvaluateForHovers: true,
      supportsRestartRequest: true,
      supportsTerminateRequest: true,
      supportsCompletionsRequest: true,
      completionTriggerCharacters: ['.', '('],
      supportsClipboardContext: true,
    };
    this.sendResponse(response);
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.configured();
  }

  /** Loads the model and the text, takes the breakpoints (validated against the model), then starts. */
  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: GatescopeLaunchArguments): Promise<void> {
    logger.setup(args.trace ? Logger.LogLevel.Verbose : Logger.LogLevel.Stop, false);
    this.launchArgs = args;
    try {
      await this.load(args);
    } catch (err) {
      this.sendErrorResponse(response, { id: ERR_LAUNCH, format: '{_message}', variables: { _message: messageOf(err) }, showUser: true });
      return;
    }
    this.sendEvent(new InitializedEvent());
    // VS Code sends the breakpoints and then configurationDone; older clients never do
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.configurationDone, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    // answer first: without stopOnEntry the run to the first breakpoint may be long, and must be pausable
    this.sendResponse(response);
    this.startRun(args.stopOnEntry ?? true);
  }

  /** Reads the first character and stops there (entry) or runs on, reporting the stop unless a restart overtook it. */
  private startRun(stopOnEntry: boolean): void {
    const gen = this.generation;
    this.runtime.start(stopOnEntry).then((stop) => {
      if (gen === this.generation) this.reportStop(stop);
    }, (err: unknown) => {
      this.output(`${messageOf(err)}\n`, 'stderr');
      this.sendEvent(new TerminatedEvent());
    });
  }

  private async load(args: LaunchOptions): Promise<void> {
    const { warnings } = await this.runtime.load(args);
    for (const w of warnings) this.output(`Note: ${w}\n`, 'console');
    const { cell, layers, hidden } = this.runtime.model.net.cfg;
    this.output(`Stepping through ${baseName(args.program)} (${this.runtime.length} characters) with ${baseName(args.model)}: ` +
      `${CELL_NAMES[cell]}, ${layers} layer${layers > 1 ? 's' : ''} of ${hidden} units. Expressions: ${EXAMPLES[cell]}, top1 == 'e', p('e'), layer(0).h[0] (layers from 0).\n`, 'console');
  }

  protected override async restartRequest(response: DebugProtocol.RestartResponse, args: DebugProtocol.RestartArguments): Promise<void> {
    this.generation++;
    const next = (args.arguments as GatescopeLaunchArguments | undefined) ?? this.launchArgs!;
    this.launchArgs = next;
    let changed: BreakpointStatus[];
    try {
      const result = await this.runtime.restart(next);
      for (const w of result.warnings) this.output(`Note: ${w}\n`, 'console');
      changed = result.changed;
    } catch (err) {
      this.sendErrorResponse(response, { id: ERR_LAUNCH, format: '{_message}', variables: { _message: messageOf(err) }, showUser: true });
      return;
    }
    for (const s of changed) this.sendEvent(new BreakpointEvent('changed', this.toDapBreakpoint(s)));
    this.sendResponse(response);
    this.startRun(next.stopOnEntry ?? true);
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.generation++;
    this.runtime.cancel();
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse, args: DebugProtocol.DisconnectArguments, request?: DebugProtocol.Request): void {
    this.generation++;
    this.runtime.cancel();
    super.disconnectRequest(response, args, request); // responds, and ends a stdin/stdout adapter process
  }

  // ---- breakpoints ------------------------------------------------------------------------------------

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const requested: DebugProtocol.SourceBreakpoint[] = args.breakpoints ?? (args.lines ?? []).map((line) => ({ line }));
    if (!this.isProgram(args.source)) {
      response.body = {
        breakpoints: requested.map((b) => ({ verified: false, line: b.line, message: 'Gatescope stops only in the text it steps through' })),
      };
      this.sendResponse(response);
      return;
    }
    const statuses = this.runtime.setLineBreakpoints(requested.map((b) => ({
      line: this.convertClientLineToDebugger(b.line),
      ...(b.condition !== undefined ? { condition: b.condition } : {}),
      ...(b.hitCondition !== undefined ? { hitCondition: b.hitCondition } : {}),
      ...(b.logMessage !== undefined ? { logMessage: b.logMessage } : {}),
    })));
    response.body = { breakpoints: statuses.map((s) => this.toDapBreakpoint(s)) };
    this.sendResponse(response);
  }

  /** Function breakpoints are expression breakpoints: the "function name" is a condition checked at every character. */
  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const statuses = this.runtime.setExpressionBreakpoints(args.breakpoints.map((b) => ({
      expression: b.name,
      ...(b.condition !== undefined ? { condition: b.condition } : {}),
      ...(b.hitCondition !== undefined ? { hitCondition: b.hitCondition } : {}),
    })));
    response.body = { breakpoints: statuses.map((s) => this.toDapBreakpoint(s)) };
    this.sendResponse(response);
  }

  private toDapBreakpoint(s: BreakpointStatus): DebugProtocol.Breakpoint {
    return {
      id: s.id,
      verified: s.verified,
      ...(s.line !== undefined ? { line: this.convertDebuggerLineToClient(s.line), source: this.source() } : {}),
      ...(s.message ? { message: s.message } : {}),
    };
  }

  private isProgram(source: DebugProtocol.Source): boolean {
    if (!this.runtime.isLoaded || !source.path) return false;
    return samePath(this.convertClientPathToDebugger(source.path), this.runtime.launchOptions.program);
  }

  // ---- execution --------------------------------------------------------------------------------------

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.execute(response, () => this.runtime.continue());
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    this.execute(response, () => this.runtime.next());
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    this.execute(response, () => this.runtime.stepIn());
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.execute(response, () => this.runtime.stepOut());
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse): void {
    this.execute(response, () => this.runtime.stepBack());
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    this.execute(response, () => this.runtime.reverseContinue());
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.runtime.pause();
    this.sendResponse(response);
  }

  /** Answers at once, then reports the stop when the (possibly long, sliced) run ends. */
  private execute(response: DebugProtocol.Response, run: () => Promise<Stop>): void {
    if (!this.runtime.isLoaded || this.runtime.isRunning) {
      this.sendErrorResponse(response, { id: ERR_RUNNING, format: this.runtime.isLoaded ? 'The sequence is running: pause it first' : 'Nothing is loaded', showUser: false });
      return;
    }
    const gen = this.generation;
    const done = run();
    this.sendResponse(response);
    done.then((stop) => {
      if (gen === this.generation) this.reportStop(stop);
    }, (err: unknown) => {
      this.output(`${messageOf(err)}\n`, 'stderr');
      if (gen === this.generation) this.reportStop({ reason: 'pause', description: 'Stopped by an error', text: messageOf(err) });
    });
  }

  private reportStop(stop: Stop): void {
    this.handles.reset();
    const event = new StoppedEvent(stop.reason, THREAD_ID, stop.text) as DebugProtocol.StoppedEvent;
    event.body.allThreadsStopped = true;
    if (stop.description) event.body.description = stop.description;
    if (stop.breakpointIds) event.body.hitBreakpointIds = [...stop.breakpointIds];
    this.sendEvent(event);
    this.sendEvent(new Event(DID_STEP_EVENT, this.didStepBody(stop.reason)));
  }

  private didStepBody(reason: string): DidStepBody {
    const { t, layer } = this.runtime.position;
    const pos = this.runtime.positionOf(t);
    const prediction = this.runtime.prediction(5);
    const diverged = this.runtime.timeline.diverged;
    return {
      program: this.runtime.launchOptions.program,
      model: this.runtime.launchOptions.model,
      t,
      length: this.runtime.length,
      layer,
      char: this.runtime.map.charAt(t),
      line: pos.line,
      column: pos.column,
      endColumn: pos.endColumn,
      offset: pos.offset,
      top: prediction.top,
      next: prediction.next,
      diverged,
      state: diverged ? this.stepState() : null,
      reason,
    };
  }

  /** The state at t as numbers (DAP is JSON), for the inspector to show the edited run. */
  private stepState(): DidStepState {
    const { t } = this.runtime.position;
    const copy = this.runtime.stateAt();
    const list = (v: ArrayLike<number> | null): number[] | null => (v ? Array.from(v) : null);
    return {
      layers: copy.layers.map((l) => ({
        h: Array.from(l.h), c: list(l.c), hPrev: Array.from(l.hPrev), cPrev: list(l.cPrev),
        gates: Object.fromEntries(Object.entries(l.gates).map(([name, g]) => [name, Array.from(g)])),
      })),
      pChar: copy.pChar,
      edits: this.runtime.timeline.interventions().filter((e) => e.t <= t)
        .map((e) => ({ t: e.t, offset: this.runtime.positionOf(e.t).offset, layer: e.layer, state: e.state, unit: e.unit, value: e.value })),
    };
  }

  // ---- stack, scopes, variables -----------------------------------------------------------------------

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const name = this.runtime.isLoaded ? `${baseName(this.runtime.launchOptions.program)} · ${baseName(this.runtime.launchOptions.model)}` : 'text';
    response.body = { threads: [new Thread(THREAD_ID, name)] };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse): void {
    if (!this.runtime.isLoaded || this.runtime.position.t < 0) {
      response.body = { stackFrames: [], totalFrames: 0 };
      this.sendResponse(response);
      return;
    }
    const { t, layer } = this.runtime.position;
    const label = `t=${t} ${quoteChar(this.runtime.map.charAt(t))}`;
    const frames = [this.frame(TIMESTEP_FRAME, label, t)];
    if (layer !== null) frames.unshift(this.frame(LAYER_FRAME_BASE + layer, `layer ${layer} · ${label}`, t));
    response.body = { stackFrames: frames, totalFrames: frames.length };
    this.sendResponse(response);
  }

  /**
   * A frame at character t: line and column only. With an end column VS Code would *select* the character,
   * and its selection highlight would then box every other occurrence of that character in the document
   * at each step (seen in the workbench screenshots); without one it puts its frame marker right before the
   * character, and the extension's decoration highlights the character itself (DidStepBody has its range).
   */
  private frame(id: number, name: string, t: number): DebugProtocol.StackFrame {
    const pos = this.runtime.positionOf(t);
    return new StackFrame(id, name, this.source(), this.convertDebuggerLineToClient(pos.line), this.convertDebuggerColumnToClient(pos.column));
  }

  private source(): Source {
    const program = this.runtime.launchOptions.program;
    const isUri = /^[a-z][a-z0-9+.-]+:/i.test(program) && !/^[a-z]:[\\/]/i.test(program);
    return new Source(baseName(program), isUri ? program : this.convertDebuggerPathToClient(program));
  }

  private frameLayer(frameId: number | undefined): number | null {
    return frameId !== undefined && frameId >= LAYER_FRAME_BASE ? frameId - LAYER_FRAME_BASE : null;
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const L = this.runtime.model.net.cfg.layers;
    const H = this.runtime.model.net.cfg.hidden;
    const focus = this.frameLayer(args.frameId);
    const layers = focus === null ? Array.from({ length: L }, (_, l) => l) : [focus];
    const scopes: DebugProtocol.Scope[] = [];
    const suffix = (l: number): string => (L > 1 && focus === null ? ` · layer ${l}` : '');
    const prediction = new Scope('Prediction', this.handles.create({ kind: 'prediction' }));
    if (focus === null) scopes.push(prediction);
    for (const l of layers) {
      const gates = this.runtime.gateNames;
      if (gates.length > 0) {
        scopes.push({ ...new Scope(`Gates${suffix(l)}`, this.handles.create({ kind: 'gates', layer: l })), namedVariables: gates.length });
      }
      if (this.runtime.model.net.cfg.cell === 'lstm') {
        scopes.push({ ...new Scope(`Cell state c${suffix(l)}`, this.handles.create({ kind: 'layerVector', layer: l, name: 'c' })), indexedVariables: H });
      }
      scopes.push({ ...new Scope(`Hidden h${suffix(l)}`, this.handles.create({ kind: 'layerVector', layer: l, name: 'h' })), indexedVariables: H });
      scopes.push(new Scope(`Gradient norms${suffix(l)}`, this.handles.create({ kind: 'gradients', layer: l })));
    }
    if (focus !== null) scopes.push(prediction);
    if (this.runtime.timeline.interventions().length > 0) scopes.push(new Scope('Interventions', this.handles.create({ kind: 'interventions' })));
    response.body = { scopes };
    this.sendResponse(response);
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const ref = this.handles.get(args.variablesReference);
    let variables: DebugProtocol.Variable[] = [];
    if (ref && this.runtime.isLoaded && !this.runtime.isRunning) {
      switch (ref.kind) {
        case 'prediction': variables = this.predictionVariables(); break;
        case 'probs': variables = this.probsVariables(args); break;
        case 'gates': variables = this.gateVariables(ref.layer); break;
        case 'layerVector': variables = this.unitVariables(this.layerVector(ref.layer, ref.name), `${this.layerPrefix(ref.layer)}${ref.name}`, args, ref.name !== 'h' && ref.name !== 'c'); break;
        case 'gradients': variables = this.gradientVariables(ref.layer); break;
        case 'interventions': variables = this.interventionVariables(); break;
        case 'value': variables = this.unitVariables(ref.data, `(${ref.expression})`, args, true); break;
      }
    }
    response.body = { variables };
    this.sendResponse(response);
  }

  /** `layer(1).` (0-based) when the model has several layers, so that every evaluateName means one thing. */
  private layerPrefix(layer: number): string {
    return this.runtime.model.net.cfg.layers > 1 ? `layer(${layer}).` : '';
  }

  private layerVector(layer: number, name: string): Vector {
    const v = this.runtime.layerVectors(layer);
    return name === 'h' ? v.h : name === 'c' ? v.c! : v.gates[name]!;
  }

  private predictionVariables(): DebugProtocol.Variable[] {
    const p = this.runtime.prediction(10);
    const V = this.runtime.model.vocab.size;
    const vars: DebugProtocol.Variable[] = [];
    const named = (name: string, value: string, evaluateName?: string): DebugProtocol.Variable =>
      ({ ...new Variable(name, value), ...(evaluateName ? { evaluateName } : {}), presentationHint: { attributes: ['readOnly'] } });
    vars.push(named('next (actual)', p.next ? `${quoteChar(p.next.ch)}  p=${formatNumber(p.next.p)}  loss=${formatNumber(p.next.loss)}` : '(end of the text)', 'next'));
    vars.push(named('loss', p.next ? formatNumber(p.next.loss) : 'n/a (nothing follows)', 'loss'));
    p.top.forEach((c, k) => vars.push(named(`#${k + 1} ${quoteChar(c.ch)}`, formatNumber(c.p), `p(${quoteChar(c.ch)})`)));
    vars.push(named('entropy', formatNumber(p.entropy), 'entropy'));
    vars.push({ ...new Variable('probs', `(${V}) next-character distribution`, this.handles.create({ kind: 'probs' }), V), evaluateName: 'probs' });
    return vars;
  }

  private probsVariables(args: DebugProtocol.VariablesArguments): DebugProtocol.Variable[] {
    const { chars } = this.runtime.model.vocab;
    const probs = this.runtime.timeline.stepper.probs;
    const [start, end] = range(args, chars.length);
    const vars: DebugProtocol.Variable[] = [];
    for (let v = start; v < end; v++) {
      vars.push({ ...new Variable(quoteChar(chars[v]!), formatNumber(probs[v]!)), evaluateName: `p(${quoteChar(chars[v]!)})`, presentationHint: { attributes: ['readOnly'] } });
    }
    return vars;
  }

  private gateVariables(layer: number): DebugProtocol.Variable[] {
    const H = this.runtime.model.net.cfg.hidden;
    return this.runtime.gateNames.map((name) => {
      const data = this.layerVector(layer, name);
      return {
        ...new Variable(name, `${GATE_TITLES[name] ?? 'gate'} ${formatValue(data)}`, this.handles.create({ kind: 'layerVector', layer, name }), H),
        evaluateName: `${this.layerPrefix(layer)}${name}`,
      };
    });
  }

  /** Units of a vector, paged: VS Code asks for ranges of indexed variables of a large array. */
  private unitVariables(data: Vector, evaluatePrefix: string, args: DebugProtocol.VariablesArguments, readOnly: boolean): DebugProtocol.Variable[] {
    if (args.filter === 'named') return [];
    const [start, end] = range(args, data.length);
    const vars: DebugProtocol.Variable[] = [];
    for (let j = start; j < end; j++) {
      vars.push({
        ...new Variable(String(j), formatNumber(data[j]!)),
        evaluateName: `${evaluatePrefix}[${j}]`,
        ...(readOnly ? { presentationHint: { attributes: ['readOnly'] } } : {}),
      });
    }
    return vars;
  }

  private gradientVariables(layer: number): DebugProtocol.Variable[] {
    const g = this.runtime.gradients(layer);
    const prefix = this.layerPrefix(layer);
    const readOnly: Pick<DebugProtocol.Variable, 'presentationHint'> = { presentationHint: { attributes: ['readOnly'] } };
    if (!g.available) return [{ ...new Variable('note', g.reason), ...readOnly }];
    const vars: DebugProtocol.Variable[] = [{ ...new Variable('gradH', formatNumber(g.gradH)), evaluateName: `${prefix}gradH`, ...readOnly }];
    if (g.gradC !== null) vars.push({ ...new Variable('gradC', formatNumber(g.gradC)), evaluateName: `${prefix}gradC`, ...readOnly });
    const note = this.runtime.timeline.interventions().length > 0
      ? '‖∂loss/∂h_t‖ of the mean loss over the whole text, from the ORIGINAL run: Set Value interventions are not reflected'
      : '‖∂loss/∂h_t‖ of the mean loss over the whole text (they depend on the characters after t too)';
    vars.push({ ...new Variable('note', note), ...readOnly });
    return vars;
  }

  private interventionVariables(): DebugProtocol.Variable[] {
    return this.runtime.timeline.interventions().map((e) => ({
      ...new Variable(`t=${e.t} ${this.layerPrefix(e.layer)}${e.state}[${e.unit}]`, formatNumber(e.value)),
      presentationHint: { attributes: ['readOnly'] },
    }));
  }

  /** Set Value on a unit of c or h: an intervention; the steps after it, and the prediction, use the edited state. */
  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    const ref = this.handles.get(args.variablesReference);
    const fail = (msg: string): void => this.sendErrorResponse(response, { id: ERR_SET, format: '{_message}', variables: { _message: msg }, showUser: true });
    if (!ref || ref.kind !== 'layerVector' || (ref.name !== 'h' && ref.name !== 'c')) {
      fail('Only units of the cell state c and the hidden state h can be set: the gates and predictions are computed from them');
      return;
    }
    const unit = Number(args.name);
    try {
      const value = this.runtime.evaluate(args.value, ref.layer);
      if (typeof value !== 'number') throw new Error(`the new value must be a number, but ${JSON.stringify(args.value)} is ${typeof value === 'string' ? 'a character' : 'not a number'}`);
      const stored = this.runtime.setUnit(ref.layer, ref.name, unit, value);
      response.body = { value: formatNumber(stored) };
      const { t } = this.runtime.position;
      const top = ref.layer === this.runtime.model.net.cfg.layers - 1;
      this.output(`Set ${this.layerPrefix(ref.layer) || ''}${ref.name}[${unit}] = ${formatNumber(stored)} at t=${t}: ` +
        `${ref.name === 'h' && top ? 'the prediction is recomputed now; ' : ''}the steps from here on use the edited state. ` +
        'Gradient norms still describe the original run.\n', 'console', t);
    } catch (err) {
      fail(err instanceof ExprError ? `bad value: ${err.describe(args.value)}` : messageOf(err));
      return;
    }
    this.sendResponse(response);
    this.sendEvent(new InvalidatedEvent(['variables']));
    this.sendEvent(new Event(DID_STEP_EVENT, this.didStepBody('setValue')));
  }

  // ---- evaluate, completions --------------------------------------------------------------------------

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const fail = (msg: string, showUser: boolean): void =>
      this.sendErrorResponse(response, { id: ERR_EXPRESSION, format: '{_message}', variables: { _message: msg }, showUser });
    if (!this.runtime.isLoaded || this.runtime.isRunning || this.runtime.position.t < 0) {
      fail('The sequence is running: pause it to evaluate', false);
      return;
    }
    const expression = args.expression.trim();
    try {
      const value = this.runtime.evaluate(expression, this.frameLayer(args.frameId) ?? this.runtime.position.layer);
      const isVector = typeof value === 'object' && 'length' in value;
      response.body = {
        result: isVector && args.context === 'clipboard' ? `[${Array.from(value, formatNumber).join(', ')}]` : formatValue(value),
        variablesReference: isVector ? this.handles.create({ kind: 'value', data: value, expression }) : 0,
        ...(isVector ? { indexedVariables: value.length } : {}),
      };
      this.sendResponse(response);
    } catch (err) {
      if (err instanceof ExprError) {
        fail(args.context === 'repl' ? `${err.describe(expression)}\n${err.pointer(expression)}` : err.describe(expression), args.context !== 'hover');
      } else {
        fail(messageOf(err), args.context !== 'hover');
      }
    }
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    const col = this.convertClientColumnToDebugger(args.column);
    const before = args.text.slice(0, col);
    const word = /[A-Za-z_][A-Za-z_0-9]*$/.exec(before)?.[0] ?? '';
    const names = this.runtime.isLoaded && this.runtime.position.t >= 0 ? this.runtime.scope(null).names() : [];
    const items = [
      ...names.map((n) => ({ label: n, type: 'variable' as const })),
      ...Object.entries(FUNCTIONS).map(([f, detail]) => ({ label: f, text: `${f}(`, detail, type: 'function' as const })),
    ].filter((i) => i.label.startsWith(word));
    response.body = {
      targets: items.map((i) => ({ ...new CompletionItem(i.label, col - word.length, word.length), ...i })),
    };
    this.sendResponse(response);
  }

  // ---- output -----------------------------------------------------------------------------------------

  private output(text: string, category: 'console' | 'stderr', t?: number): void {
    const e = new OutputEvent(text, category) as DebugProtocol.OutputEvent;
    if (t !== undefined && this.runtime.isLoaded) {
      const pos = this.runtime.positionOf(t);
      e.body.source = this.source();
      e.body.line = this.convertDebuggerLineToClient(pos.line);
      e.body.column = this.convertDebuggerColumnToClient(pos.column);
    }
    this.sendEvent(e);
  }
}

/** [start, end) of the requested page of an indexed list of n items. */
function range(args: DebugProtocol.VariablesArguments, n: number): [number, number] {
  const start = Math.max(0, Math.min(n, args.start ?? 0));
  const end = args.count ? Math.min(n, start + args.count) : n;
  return [start, end];
}

function messageOf(err: unknown): string {
  if (isGatescopeError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}
