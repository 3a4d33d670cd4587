import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { EngineClient } from '../host/engineClient';
import { Messenger } from '../protocol/messenger';
import { langOfFile } from '../engine/features';
import type { ReachView } from '../protocol/reach';
import type { TraceData } from '../protocol/trace';
import { bothSizes, traceExportSize, type TraceExportFormat } from '../protocol/traceExport';
import { featureSpecOf, type UnitsView } from '../protocol/units';
import {
  checkWebviewToHost, editedStepOf, INSPECTOR_VIEW_TYPE, type HostReplies,
  type CompareData, type DebuggerStep, type ExportResult, type HostToWebview, type InspectorSnapshot, type InspectorTarget, type ModelFacts,
  type PanelStatus, type SearchState, type StepRange, type TraceView, type TrainingHistory, type ViewState, type WebviewToHost,
} from '../protocol/webview';
import type { ModelSummary, TrainProgress } from '../protocol/worker';
import type { DidStepBody } from '../protocol/debug';
import { defaultExportUri, vscodeExportUi, type ExportUi } from './exportFiles';
import { writeAtomically, writeStreamAtomically } from '../host/files';
import { formatBytes, LARGE_EXPORT_BYTES, largeJsonQuestion } from './exportSize';
import { inspectorHtml, makeNonce } from './html';
import { OffsetMap } from './offsets';
import { PanelReach } from './reach';
import { runComparison, type ComparisonOutcome, type ComparisonUi } from './comparison';
import { modelFacts, prepareTraceText } from './traceInput';
import { historyFromModel, type TrainingRecorder } from './training';
import type { RunOutcome, TrainRequest } from '../host/training';
import { baseName } from '../protocol/names';
import { emptyTrace, fillSegment, finishTrace } from '../protocol/trace';

/** Ids of streamed traces and of exports, unique in this extension host (the worker is shared by every panel). */
let nextTraceId = 1;
let nextExportId = 1;

/** What a panel needs from the inspector that owns it. */
export interface PanelServices {
  readonly engine: EngineClient;
  readonly output: vscode.OutputChannel;
  readonly extensionUri: vscode.Uri;
  readModel(uri: vscode.Uri): Promise<Uint8Array>;
  /** Most characters traced at once (gatescope.inspector.maxCharacters). */
  maxCharacters(): number;
  /** Bytes a trace may hold in the webview and the engine together (gatescope.inspector.memoryMB). */
  memoryBytes(): number;
  recorder(runId: number): TrainingRecorder | undefined;
  /** The recorder of a run, made now if it has none yet (a comparison's dashboard opens before its first report). */
  record(runId: number, title: string): TrainingRecorder;
  /** Starts a run in the window's one training lifecycle (the comparison trains there). */
  train(req: TrainRequest): Promise<RunOutcome | null>;
  /** The webview's view state changed (Colour Text by Unit follows it). */
  viewChanged(panel: InspectorPanel): void;
  /** A new trace arrived. */
  traced(panel: InspectorPanel): void;
  /** The user hovered or picked timestep t in the webview. */
  cursorMoved(panel: InspectorPanel, t: number): void;
  /** The last step of the newest live Gatescope debug session on the panel's document, and whether it runs the panel's model. */
  debugStep(panel: InspectorPanel): { readonly body: DidStepBody; readonly sameModel: boolean } | null;
  colourEditor(panel: InspectorPanel): void;
  disposed(panel: InspectorPanel): void;
}


/**
 * One "Gatescope Inspector" panel: a model on a document (or a training run). Owns the webview, answers its
 * messages, traces the text in the engine worker (never on the extension host thread) and keeps what the
 * webview shows, so that a webview re-created after being hidden gets the full state again after `ready`.
 */
export class InspectorPanel implements vscode.Disposable {
  private readonly messenger: Messenger<HostToWebview, WebviewToHost, HostReplies>;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private readyWaiters: (() => void)[] = [];
  /** A unit search asked for before the webview listened. */
  private pendingSearch: Partial<SearchState> | null = null;
  private modelBytes: Uint8Array | null = null;
  private summary: ModelSummary | null = null;
  private facts: ModelFacts | null = null;
  private traceView: TraceView | null = null;
  private compare: CompareData | null = null;
  /** The comparison model's file, set with `compare` (the gradient-reach view traces it too). */
  compareModel: Uint8Array | null = null;
  private readonly reach: PanelReach;
  private compareRun: number | null = null;
  private status: PanelStatus | null = null;
  private loading: Promise<void> | null = null;
  private staleTimer: NodeJS.Timeout | undefined;
  /** The document version the trace was made from. */
  private tracedVersion = -1;
  /** The run drawn beside this panel's on its dashboard (sent again after a reload). */
  private comparedRun: TrainingRecorder | null = null;
  /** The streamed trace under way or last made (its segments and end are this panel's only while it is the last). */
  private traceId: number | null = null;
  offsets: OffsetMap | null = null;
  /** The view state the webview last reported (layer, unit, quantity…). */
  view: ViewState | null = null;
  disposed = false;

  private constructor(private readonly services: PanelServices, readonly panel: vscode.WebviewPanel, public target: InspectorTarget) {
    this.reach = new PanelReach(services.engine);
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(services.extensionUri, 'dist'), vscode.Uri.joinPath(services.extensionUri, 'media')],
    };
    panel.iconPath = vscode.Uri.joinPath(services.extensionUri, 'media', 'gatescope.svg');
    this.messenger = new Messenger<HostToWebview, WebviewToHost, HostReplies>({ postMessage: (m) => void webview.postMessage(m) }, {
      onNotification: (n) => this.onNotification(n),
      onRequest: (r) => this.onRequest(r),
      check: checkWebviewToHost,
      onRefused: (m) => services.output.appendLine(`[inspector] ignored a message from the webview that does not follow the protocol (type ${JSON.stringify((m as { type?: unknown } | null)?.type ?? null)?.slice(0, 60)})`),
    });
    this.disposables.push(
      webview.onDidReceiveMessage((m) => void this.messenger.receive(m)),
      panel.onDidDispose(() => this.dispose()),
      // a hidden webview's page is discarded (no retainContextWhenHidden): messages to it are lost until it is
      // shown again and says 'ready', which sends it the whole state (sendInit)
      panel.onDidChangeViewState((e) => { if (!e.webviewPanel.visible) this.ready = false; }),
    );
    this.updateTitle();
    webview.html = inspectorHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce((n) => randomBytes(n)),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(services.extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(services.extensionUri, 'media', 'inspector.css')).toString(),
      title: 'Gatescope Inspector',
    });
  }

  /** A new panel beside the editor. */
  static create(services: PanelServices, target: InspectorTarget): InspectorPanel {
    const panel = vscode.window.createWebviewPanel(INSPECTOR_VIEW_TYPE, 'Gatescope Inspector', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {});
    return new InspectorPanel(services, panel, target);
  }

  /** A panel VS Code restored after a reload (WebviewPanelSerializer). */
  static restore(services: PanelServices, panel: vscode.WebviewPanel, target: InspectorTarget): InspectorPanel {
    return new InspectorPanel(services, panel, { ...target, runId: null });
  }

  get key(): string {
    return InspectorPanel.keyOf(this.target);
  }

  /** One panel per model and document (or per training run without either). */
  static keyOf(t: Pick<InspectorTarget, 'model' | 'document' | 'runId'>): string {
    return t.document || t.model ? `${t.model ?? ''}|${t.document ?? ''}` : `run:${t.runId}`;
  }

  get trace(): TraceData | null {
    return this.traceView?.trace ?? null;
  }

  /** Traces (again) the target's text with its model. Resolves when the trace is shown or failed. */
  load(): Promise<void> {
    this.loading ??= this.doLoad().finally(() => { this.loading = null; });
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    const t = this.target;
    if (!t.model || !t.document) return;
    const engine = this.services.engine;
    try {
      this.setStatus({ kind: 'busy', message: `Reading ${baseName(t.model)}…` });
      const loadStarted = Date.now();
      this.modelBytes = await this.services.readModel(vscode.Uri.parse(t.model));
      const readMs = Date.now() - loadStarted;
      // the worker holds the bytes for the trace below: they cross to it once per load
      this.summary = await engine.describe(this.modelBytes, this.reach.modelKey);
      const describeMs = Date.now() - loadStarted - readMs;
      this.facts = modelFacts(baseName(t.model), this.summary);
      // a finished model's Training tab: the history the file keeps (a run under way in this window has its own)
      const kept = this.target.runId === null ? this.modelHistory() : null;
      if (kept && this.ready) this.post({ type: 'didLoadHistory', training: kept });
      const doc = await openDocument(t.document);
      const input = prepareTraceText(doc.getText(), t.range, this.summary.vocab, this.services.maxCharacters());
      if (!input.text.length) throw new Error('there is no text to trace here');
      const total = input.text.length;
      const tracing = `Tracing ${total.toLocaleString('en-US')} characters with ${baseName(t.model)}`;
      this.setStatus({ kind: 'busy', message: `${tracing}…`, action: 'cancelTrace' });
      const started = Date.now();
      const facts = this.facts;
      const view = { documentName: baseName(t.document), first: input.first, total: input.total, notices: input.notices };
      let data: TraceData | null = null;
      let firstPaint = 0;
      const traceId = this.traceId = nextTraceId++;
      // the trace arrives in segments: the host keeps the whole (a webview made again gets it in `init`) and passes
      // each segment on, so the views paint the text's beginning while the worker computes the rest
      const end = await engine.traceStream(traceId, this.modelBytes, this.reach.modelKey, input.text, this.reach.modelKey, this.services.memoryBytes(), {
        start: (shape) => {
          data = emptyTrace(shape);
          this.tracedVersion = doc.version;
          this.offsets = new OffsetMap(input.original, input.offset);
          if (this.compare && this.compare.layers[0]?.gradH.length !== shape.tokens.length) this.compare = null;
          this.traceView = { trace: data, ...view, pending: { filled: 0, stopped: false } };
          this.post({ type: 'didTraceStart', target: this.target, model: facts, view, shape });
          this.followDebugger(); // a new trace starts at the debugger's step, not at the cursor kept from the old one
        },
        segment: (seg) => {
          if (data === null) return;
          fillSegment(data, seg);
          this.traceView = { trace: data, ...view, pending: { filled: seg.end, stopped: false } };
          this.post({ type: 'didTraceSegment', segment: seg });
          if (!firstPaint) firstPaint = Date.now() - started;
          const T = data.tokens.length;
          this.setStatus({ kind: 'busy', message: `${tracing}: ${seg.end === T ? 'gradients' : `${seg.end.toLocaleString('en-US')} of ${T.toLocaleString('en-US')}`}…`, progress: seg.end / T, action: 'cancelTrace' });
        },
      });
      if (this.traceId !== traceId || data === null) return;
      const got: TraceData = data;
      if (end.cancelled) {
        this.traceView = { trace: got, ...view, pending: { filled: end.forwarded, stopped: true } };
        this.post({ type: 'didTraceEnd', tail: null, stopped: end.forwarded });
        this.services.output.appendLine(`[inspector] stopped tracing ${baseName(t.document)} at ${end.forwarded} of ${got.tokens.length} characters`);
        this.setStatus({ kind: 'notice', message: `Stopped after ${end.forwarded.toLocaleString('en-US')} of ${got.tokens.length.toLocaleString('en-US')} characters: the views show those, without the loss and gradients.`, action: 'retrace' });
        return;
      }
      const trace = finishTrace(got, end);
      this.services.output.appendLine(`[inspector] traced ${trace.tokens.length} characters of ${baseName(t.document)} with ${baseName(t.model)} in ${Date.now() - started} ms ` +
        `(the first segment after ${firstPaint} ms, after reading the model in ${readMs} ms and checking it in ${describeMs} ms; ` +
        `the engine keeps ${end.kept === 'internals' ? 'its copy of the internals' : 'checkpoints only (memory budget)'})`);
      this.traceView = { trace, ...view };
      this.setStatus(null);
      this.post({ type: 'didTraceEnd', tail: { loss: end.loss, gradH: end.gradH, gradC: end.gradC }, stopped: null });
      if (this.compare) this.post({ type: 'didCompare', compare: this.compare });
      this.services.traced(this);
    } catch (e) {
      const message = (e as Error).message;
      this.services.output.appendLine(`[inspector] ${t.model} on ${t.document}: ${message}`);
      this.setStatus({ kind: 'error', message: `Gatescope could not trace this text: ${message}` });
    }
  }

  /** Shows the panel on a (new) range of its document and traces it. */
  async retarget(range: InspectorTarget['range']): Promise<void> {
    this.target = { ...this.target, range };
    this.updateTitle();
    await this.load();
  }

  /** The document changed: trace again after a pause (whole documents), or offer to (ranges, which shift). */
  documentChanged(doc: vscode.TextDocument): void {
    if (doc.version === this.tracedVersion) return;
    clearTimeout(this.staleTimer);
    if (this.target.range) {
      this.setStatus({ kind: 'notice', message: 'The text changed since it was traced.', action: 'retrace' });
      return;
    }
    this.staleTimer = setTimeout(() => void this.load(), 800);
  }

  attachRun(runId: number, model: vscode.Uri | null, compareWith?: TrainingRecorder): void {
    this.target = { ...this.target, runId, model: this.target.model ?? model?.toString() ?? null };
    const rec = this.services.recorder(runId);
    if (rec) this.post({ type: 'didStartTraining', training: rec.history() });
    // another run beside this one on the dashboard (the explosion's unclipped run beside the clipped one)
    this.comparedRun = compareWith ?? null;
    if (compareWith) this.post({ type: 'didCompareTraining', training: compareWith.history() });
    this.updateTitle();
  }

  /** Forwards a training notification of the attached run. */
  /** A progress report of the run this panel shows (its dashboard). */
  trainingProgressed(rec: TrainingRecorder, progress: TrainProgress): void {
    if (this.target.runId === rec.runId) this.post({ type: 'didProgress', runId: rec.runId, progress });
  }

  /** The run this panel shows ended (`rec.finished` says how). */
  trainingFinished(rec: TrainingRecorder): void {
    if (this.target.runId !== rec.runId) return;
    this.post({ type: 'didFinishTraining', runId: rec.runId, end: rec.finished!, model: rec.model });
    if (rec.model && !this.target.model) this.target = { ...this.target, model: rec.model };
  }

  sampled(runId: number, step: number, text: string): void {
    if (this.target.runId === runId) this.post({ type: 'didSample', runId, sample: { step, text } });
  }

  setCursor(t: number): void {
    this.post({ type: 'setCursor', t });
  }

  /**
   * Tells the webview where the debugger is on this text, and its edited state there (services.debugStep). Called
   * at every debugger stop and session end, and after each `init` and trace: a webview that was hidden, reloaded or
   * traced again would otherwise keep the cursor it restored.
   */
  followDebugger(): void {
    this.post({ type: 'didStep', step: this.debuggerStep() });
  }

  private debuggerStep(): DebuggerStep | null {
    const d = this.services.debugStep(this);
    const tr = this.trace, offsets = this.offsets;
    if (!d || !tr || !offsets) return null;
    const t = offsets.stepAt(d.body.offset);
    if (t === null) return null;
    // the debugger's state is the trace's only where both read the same characters from the same start
    const aligned = d.sameModel && t === d.body.t;
    const edited = aligned ? editedStepOf(d.body, tr.cell, tr.layers.length, tr.hidden, (o) => offsets.stepAt(o)) : null;
    return { t, edited };
  }

  selectRange(range: StepRange): void {
    this.post({ type: 'selectRange', range });
  }

  /** Sets the webview's unit search and shows its results (sent once the webview listens, if it does not yet). */
  searchUnits(search: Partial<SearchState>): void {
    if (this.ready && !this.disposed) this.messenger.notify({ type: 'searchUnits', search });
    else this.pendingSearch = search;
  }

  /** Test-only: what the webview shows. Waits for the webview (and a trace under way) first; a busy machine can take a while to load a new webview. */
  async getState(timeoutMs = 45_000): Promise<InspectorSnapshot> {
    const deadline = Date.now() + timeoutMs;
    if (!this.panel.visible) this.reveal(); // only a shown webview answers
    if (!this.ready) await Promise.race([new Promise<void>((r) => this.readyWaiters.push(r)), sleep(timeoutMs)]);
    if (this.loading) await Promise.race([this.loading, sleep(Math.max(0, deadline - Date.now()))]);
    return Promise.race([
      this.messenger.request({ type: 'getState' }),
      sleep(Math.max(1000, deadline - Date.now())).then(() => { throw new Error('the inspector webview did not answer getState'); }),
    ]);
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.staleTimer);
    if (this.compareRun !== null) void this.services.engine.cancel(this.compareRun);
    if (this.traceId !== null) void this.services.engine.cancelTrace(this.traceId);
    this.messenger.rejectAll(new Error('the inspector was closed'));
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
    this.services.disposed(this);
  }

  // ---- webview messages -------------------------------------------------------------------------------------

  private onNotification(n: WebviewToHost): void {
    switch (n.type) {
      case 'ready':
        this.ready = true;
        this.sendInit();
        this.followDebugger(); // after the view state the webview restored: the debugger's t wins
        if (this.pendingSearch) this.messenger.notify({ type: 'searchUnits', search: this.pendingSearch });
        this.pendingSearch = null;
        for (const w of this.readyWaiters.splice(0)) w();
        break;
      case 'didMoveCursor':
        this.services.cursorMoved(this, n.t);
        break;
      case 'didChangeView':
        this.view = n.view;
        this.services.viewChanged(this);
        break;
      case 'cancelCompare':
        if (this.compareRun !== null) void this.services.engine.cancel(this.compareRun);
        break;
      case 'cancelTrace':
        if (this.traceId !== null) void this.services.engine.cancelTrace(this.traceId);
        break;
      case 'retrace':
        void this.load();
        break;
      case 'colourEditor':
        this.services.colourEditor(this);
        break;
      default:
        break;
    }
  }

  private async onRequest(r: WebviewToHost): Promise<ExportResult | ReachView | UnitsView | null | void> {
    switch (r.type) {
      case 'compareWithRnn':
        await this.compareWith();
        return;
      case 'reach': {
        const tr = this.trace;
        if (!tr || !this.modelBytes) throw new Error('there is no trace yet');
        const text = Array.from(tr.tokens, (id) => tr.vocab[id]!).join('');
        const compare = this.compareModel && this.compare ? { bytes: this.compareModel, label: this.compare.label } : null;
        return this.reach.at(r, { text, model: this.modelBytes, vocab: tr.vocab, compare });
      }
      case 'units': {
        const tr = this.trace;
        if (!tr || !this.modelBytes) throw new Error('there is no trace yet');
        const T = tr.tokens.length;
        const lang = r.search.lang ?? langOfFile(this.target.document ? baseName(this.target.document) : '');
        const feature = featureSpecOf(r.search, lang, r.selection, T);
        if (!feature) return null;
        const text = Array.from(tr.tokens, (id) => tr.vocab[id]!).join('');
        return this.reach.units({ feature, quantity: r.search.quantity, layer: r.search.layer, top: r.top, pick: r.pick }, { text, model: this.modelBytes });
      }
      case 'exportPng':
        return this.save(`${this.fileStem()}-${r.name}.png`, { 'PNG image': ['png'] }, r.png);
      case 'exportTrace':
        return this.exportTrace();
      case 'exportLossCsv': {
        const rec = this.target.runId !== null ? this.services.recorder(this.target.runId) : undefined;
        if (!rec) return { path: null };
        return this.save(`${this.fileStem()}-loss.csv`, { CSV: ['csv'] }, new TextEncoder().encode(rec.csv()));
      }
      default:
        throw new Error(`unexpected request ${r.type}`);
    }
  }

  private sendInit(): void {
    const rec = this.target.runId !== null ? this.services.recorder(this.target.runId) : undefined;
    this.messenger.notify({
      type: 'init', target: this.target, model: this.facts, trace: this.traceView, compare: this.compare,
      training: rec?.history() ?? this.modelHistory(), status: this.status,
    });
    if (rec && this.comparedRun) this.messenger.notify({ type: 'didCompareTraining', training: this.comparedRun.history() });
  }

  /**
   * The training history the model file keeps (`gatescope.history`), for the Training tab of a finished model that
   * no run of this window trained; null when it keeps none.
   */
  private modelHistory(): TrainingHistory | null {
    const h = this.summary?.history;
    if (!h || h.rows.length === 0 || !this.target.model) return null;
    return historyFromModel(0, `${baseName(this.target.model)} (its training history, from the file)`, h);
  }

  private post(msg: HostToWebview): void {
    if (this.ready && !this.disposed) this.messenger.notify(msg);
  }

  private setStatus(status: PanelStatus | null): void {
    this.status = status;
    this.post({ type: 'didChangeStatus', status });
  }

  private updateTitle(): void {
    const t = this.target;
    const doc = t.document ? baseName(t.document) : null;
    // the model too: two inspectors of one text with two models must be told apart at a glance
    const model = t.model ? baseName(t.model).replace(/\.safetensors$/, '') : null;
    this.panel.title = doc ? `Gatescope Inspector: ${doc}${model ? ` · ${model}` : ''}` : t.runId !== null ? `Gatescope Training${model ? `: ${model}` : ''}` : 'Gatescope Inspector';
  }

  private fileStem(): string {
    const m = this.target.model ? baseName(this.target.model).replace(/\.safetensors$/, '') : 'gatescope';
    const d = this.target.document ? `-${baseName(this.target.document).replace(/\.[^.]*$/, '')}` : '';
    return `${m}${d}`;
  }

  /** Asks where (beside the text by default) and writes `bytes` there atomically. */
  private async save(name: string, filters: Record<string, string[]>, bytes: Uint8Array, ui: ExportUi = vscodeExportUi): Promise<ExportResult> {
    const uri = await ui.saveTo(defaultExportUri(this.target.document, name), filters, `Export ${name} (${formatBytes(bytes.length)})`);
    if (!uri) return { path: null };
    await writeAtomically(uri, bytes);
    this.services.output.appendLine(`[inspector] exported ${uri.fsPath} (${formatBytes(bytes.length)})`);
    return { path: uri.fsPath };
  }

  /**
   * Export the trace as a file in the CLI's `trace --out` formats, JSON or safetensors (by the name chosen): asks
   * before anything over LARGE_EXPORT_BYTES (with both sizes), asks where (beside the text), then has the engine
   * worker hand out the file in pieces from the trace it keeps, each appended to a temporary file beside the target
   * as it comes and renamed at the end — neither the extension host nor the worker holds the file. `ui` answers
   * the questions in tests.
   */
  async exportTrace(ui: ExportUi = vscodeExportUi): Promise<ExportResult> {
    const tr = this.trace;
    if (!tr || !this.modelBytes) return { path: null };
    if (this.traceView?.pending) {
      this.setStatus({ kind: 'error', message: 'Gatescope can export the trace once it is complete (trace again if it was stopped).' });
      return { path: null };
    }
    const model = this.modelBytes;
    const json = traceExportSize(tr, tr.vocab, tr.cell, tr.hidden, 'json');
    const binary = traceExportSize(tr, tr.vocab, tr.cell, tr.hidden, 'safetensors');
    if (json > LARGE_EXPORT_BYTES) {
      const q = largeJsonQuestion(tr, json);
      const detail = `${q.detail} As safetensors (one tensor per quantity, float32, readable with PyTorch's safetensors) it is ${formatBytes(binary)}.`;
      if (!(await ui.confirmLarge(q.message, detail, `Export ${formatBytes(json)}`))) return { path: null };
    }
    const name = `${this.fileStem()}-trace.json`;
    const uri = await ui.saveTo(defaultExportUri(this.target.document, name), { 'JSON': ['json'], 'safetensors': ['safetensors'] },
      `Export the trace (${bothSizes(json, binary)})`);
    if (!uri) return { path: null };
    const format: TraceExportFormat = uri.path.toLowerCase().endsWith('.safetensors') ? 'safetensors' : 'json';
    const label = format === 'json' ? 'JSON' : 'safetensors';
    const estimate = format === 'json' ? json : binary;
    const status: PanelStatus = { kind: 'busy', message: `Writing the trace as ${label} (about ${formatBytes(estimate)})…` };
    this.setStatus(status);
    const exportId = nextExportId++;
    const engine = this.services.engine;
    try {
      const started = Date.now();
      const text = Array.from(tr.tokens, (id) => tr.vocab[id]!).join('');
      const { size } = await this.reach.exportOpen(exportId, format, { text, model });
      let shown = 0;
      const bytes = await writeStreamAtomically(uri, () => engine.exportNext(exportId), (n) => {
        if (this.status !== status && this.status?.message.startsWith('Writing the trace') !== true) return;
        if (n - shown < size / 50) return;
        shown = n;
        this.setStatus({ ...status, progress: Math.min(1, n / size) });
      });
      this.services.output.appendLine(`[inspector] exported the trace as ${label} to ${uri.fsPath}: ${bytes} bytes in ${Date.now() - started} ms`);
      const done: PanelStatus = { kind: 'notice', message: `Saved the trace as ${label} (${formatBytes(bytes)}): ${uri.fsPath}` };
      this.setStatus(done);
      setTimeout(() => { if (this.status === done && !this.disposed) this.setStatus(null); }, 10_000).unref?.();
      return { path: uri.fsPath };
    } catch (e) {
      void engine.exportClose(exportId);
      const message = (e as Error).message;
      this.services.output.appendLine(`[inspector] exporting the trace as ${label} to ${uri.fsPath} failed: ${message}`);
      this.setStatus({ kind: 'error', message: `Gatescope could not export the trace as ${label}: ${message}` });
      return { path: null };
    }
  }

  // ---- Compare with RNN (comparison.ts) -------------------------------------------------------------------------

  /** Trains, reuses or loads a comparison network and overlays its gradients; `ui` answers its questions in tests. */
  async compareWith(ui?: ComparisonUi): Promise<ComparisonOutcome | null> {
    const tr = this.trace;
    const t = this.target;
    if (!tr || !this.modelBytes || !this.summary || !t.document || !t.model || this.compareRun !== null) return null;
    const before = t.runId;
    return runComparison({
      engine: this.services.engine, output: this.services.output, model: vscode.Uri.parse(t.model), modelBytes: this.modelBytes,
      summary: this.summary, document: vscode.Uri.parse(t.document), tracedText: Array.from(tr.tokens, (id) => tr.vocab[id]!).join(''),
      readModel: (u) => this.services.readModel(u),
      train: (req) => this.services.train(req),
      setStatus: (s) => this.setStatus(s),
      runStarted: (runId, title) => {
        this.compareRun = runId;
        this.services.record(runId, title);
        this.attachRun(runId, null);
        this.post({ type: 'showTab', tab: 'training' });
      },
      runEnded: () => {
        this.compareRun = null;
        this.target = { ...this.target, runId: before };
        if (this.ready) {
          this.sendInit();
          this.followDebugger();
        }
        this.post({ type: 'showTab', tab: 'inspect' });
      },
      compared: (compare, model) => {
        this.compare = compare;
        this.compareModel = model;
        this.post({ type: 'didCompare', compare });
      },
    }, ui);
  }
}

async function openDocument(uri: string): Promise<vscode.TextDocument> {
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri) ?? vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
