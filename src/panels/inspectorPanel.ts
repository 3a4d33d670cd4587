import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { DEFAULT_TRAIN_OPTIONS } from '../engine/trainer';
import type { EngineClient } from '../engineClient';
import { Messenger } from '../protocol/messenger';
import type { TraceData } from '../protocol/trace';
import { traceToJson } from '../protocol/traceJson';
import {
  INSPECTOR_VIEW_TYPE,
  type CompareData, type ExportResult, type HostToWebview, type InspectorSnapshot, type InspectorTarget, type ModelFacts,
  type PanelStatus, type StepRange, type TraceView, type ViewState, type WebviewToHost,
} from '../protocol/webview';
import type { ModelSummary, WorkerNotification } from '../protocol/worker';
import { inspectorHtml, makeNonce } from './html';
import { OffsetMap } from './offsets';
import { modelFacts, prepareTraceText, rnnComparisonOptions } from './traceInput';
import type { TrainingRecorder } from './training';

/** What a panel needs from the inspector that owns it. */
export interface PanelServices {
  readonly engine: EngineClient;
  readonly output: vscode.OutputChannel;
  readonly extensionUri: vscode.Uri;
  readModel(uri: vscode.Uri): Promise<Uint8Array>;
  /** Most characters traced at once (gatescope.inspector.maxCharacters). */
  maxCharacters(): number;
  recorder(runId: number): TrainingRecorder | undefined;
  /** The webview's view state changed (Colour Text by Unit follows it). */
  viewChanged(panel: InspectorPanel): void;
  /** A new trace arrived. */
  traced(panel: InspectorPanel): void;
  /** The user hovered or picked timestep t in the webview. */
  cursorMoved(panel: InspectorPanel, t: number): void;
  colourEditor(panel: InspectorPanel): void;
  disposed(panel: InspectorPanel): void;
}

const basename = (uri: string): string => decodeURIComponent(uri.replace(/[?#].*$/, '').split('/').pop() ?? uri);

/**
 * One "Gatescope Inspector" panel: a model on a document (or a training run). Owns the webview, answers its
 * messages, traces the text in the engine worker (never on the extension host thread) and keeps what the
 * webview shows, so that a webview re-created after being hidden gets the full state again after `ready`.
 */
export class InspectorPanel implements vscode.Disposable {
  private readonly messenger: Messenger<HostToWebview, WebviewToHost>;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private readyWaiters: (() => void)[] = [];
  private modelBytes: Uint8Array | null = null;
  private summary: ModelSummary | null = null;
  private facts: ModelFacts | null = null;
  private traceView: TraceView | null = null;
  private compare: CompareData | null = null;
  private compareRun: number | null = null;
  private status: PanelStatus | null = null;
  private loading: Promise<void> | null = null;
  private staleTimer: NodeJS.Timeout | undefined;
  /** The document version the trace was made from. */
  private tracedVersion = -1;
  offsets: OffsetMap | null = null;
  /** The view state the webview last reported (layer, unit, quantity…). */
  view: ViewState | null = null;
  disposed = false;

  private constructor(private readonly services: PanelServices, readonly panel: vscode.WebviewPanel, public target: InspectorTarget) {
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(services.extensionUri, 'dist'), vscode.Uri.joinPath(services.extensionUri, 'media')],
    };
    panel.iconPath = vscode.Uri.joinPath(services.extensionUri, 'media', 'gatescope.svg');
    this.messenger = new Messenger<HostToWebview, WebviewToHost>({ postMessage: (m) => void webview.postMessage(m) }, {
      onNotification: (n) => this.onNotification(n),
      onRequest: (r) => this.onRequest(r),
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
      this.setStatus({ kind: 'busy', message: `Reading ${basename(t.model)}…` });
      this.modelBytes = await this.services.readModel(vscode.Uri.parse(t.model));
      this.summary = await engine.describe(this.modelBytes);
      this.facts = modelFacts(basename(t.model), this.summary);
      const doc = await openDocument(t.document);
      const input = prepareTraceText(doc.getText(), t.range, this.summary.vocab, this.services.maxCharacters());
      if (!input.text.length) throw new Error('there is no text to trace here');
      this.setStatus({ kind: 'busy', message: `Tracing ${input.text.length.toLocaleString('en-US')} characters with ${basename(t.model)}…` });
      const started = Date.now();
      const trace = await engine.trace(this.modelBytes, input.text);
      this.services.output.appendLine(`[inspector] traced ${trace.tokens.length} characters of ${basename(t.document)} with ${basename(t.model)} in ${Date.now() - started} ms`);
      this.tracedVersion = doc.version;
      this.offsets = new OffsetMap(input.original, input.offset);
      if (this.compare && this.compare.layers[0]?.gradH.length !== trace.tokens.length) this.compare = null;
      this.traceView = { trace, documentName: basename(t.document), first: input.first, total: input.total, notices: input.notices };
      this.setStatus(null);
      this.post({ type: 'didTrace', target: this.target, model: this.facts, trace: this.traceView });
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

  attachRun(runId: number, model: vscode.Uri | null): void {
    this.target = { ...this.target, runId, model: this.target.model ?? model?.toString() ?? null };
    const rec = this.services.recorder(runId);
    if (rec) this.post({ type: 'didStartTraining', training: rec.history() });
    this.updateTitle();
  }

  /** Forwards a training notification of the attached run. */
  training(n: WorkerNotification, rec: TrainingRecorder): void {
    if (this.target.runId !== rec.runId) return;
    if (n.type === 'didProgress') this.post({ type: 'didProgress', runId: rec.runId, progress: n.progress });
    if (n.type === 'didFinish') {
      this.post({ type: 'didFinishTraining', runId: rec.runId, end: rec.finished!, model: rec.model });
      if (rec.model && !this.target.model) this.target = { ...this.target, model: rec.model };
    }
  }

  sampled(runId: number, step: number, text: string): void {
    if (this.target.runId === runId) this.post({ type: 'didSample', runId, sample: { step, text } });
  }

  setCursor(t: number): void {
    this.post({ type: 'setCursor', t });
  }

  selectRange(range: StepRange): void {
    this.post({ type: 'selectRange', range });
  }

  /** Test-only: what the webview shows. Waits for the webview (and a trace under way) first; a busy machine can take a while to load a new webview. */
  async getState(timeoutMs = 45_000): Promise<InspectorSnapshot> {
    const deadline = Date.now() + timeoutMs;
    if (!this.panel.visible) this.reveal(); // only a shown webview answers
    if (!this.ready) await Promise.race([new Promise<void>((r) => this.readyWaiters.push(r)), sleep(timeoutMs)]);
    if (this.loading) await Promise.race([this.loading, sleep(Math.max(0, deadline - Date.now()))]);
    return Promise.race([
      this.messenger.request<InspectorSnapshot>({ type: 'getState' }),
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

  private async onRequest(r: WebviewToHost): Promise<ExportResult | void> {
    switch (r.type) {
      case 'compareWithRnn':
        return this.compareWithRnn();
      case 'exportPng':
        return this.save(`${this.fileStem()}-${r.name}.png`, { 'PNG image': ['png'] }, r.png);
      case 'exportTrace': {
        const tr = this.trace;
        if (!tr) return { path: null };
        return this.save(`${this.fileStem()}-trace.json`, { JSON: ['json'] }, new TextEncoder().encode(traceToJson(tr, tr.vocab, tr.cell, tr.hidden)));
      }
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
      training: rec?.history() ?? null, status: this.status,
    });
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
    const doc = t.document ? basename(t.document) : null;
    this.panel.title = doc ? `Gatescope Inspector: ${doc}` : t.runId !== null ? 'Gatescope Training' : 'Gatescope Inspector';
  }

  private fileStem(): string {
    const m = this.target.model ? basename(this.target.model).replace(/\.safetensors$/, '') : 'gatescope';
    const d = this.target.document ? `-${basename(this.target.document).replace(/\.[^.]*$/, '')}` : '';
    return `${m}${d}`;
  }

  private async save(name: string, filters: Record<string, string[]>, bytes: Uint8Array): Promise<ExportResult> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters, saveLabel: 'Export' });
    if (!uri) return { path: null };
    await vscode.workspace.fs.writeFile(uri, bytes);
    this.services.output.appendLine(`[inspector] exported ${uri.fsPath}`);
    return { path: uri.fsPath };
  }

  // ---- Compare with RNN -------------------------------------------------------------------------------------

  /** Trains (or loads) a vanilla RNN like the model and overlays its gradient norms on the same text. */
  private async compareWithRnn(): Promise<void> {
    const tr = this.trace;
    if (!tr || !this.modelBytes || !this.summary || !this.target.document) return;
    if (this.compareRun !== null) return;
    const options = rnnComparisonOptions(this.modelBytes, this.summary, DEFAULT_TRAIN_OPTIONS);
    const train = {
      label: `$(debug-start) Train a vanilla RNN ${options.layers}×${options.hidden}`,
      description: `${options.steps.toLocaleString('en-US')} steps, seed ${options.seed}, on ${basename(this.target.document)}`,
      detail: 'Same size, seed, step count and text as this model, with tanh units instead of gates.',
    };
    const load = { label: '$(folder-opened) Load an RNN model…', description: 'a .safetensors file', detail: 'Overlay the gradients of a model trained before.' };
    const pick = await vscode.window.showQuickPick([train, load], { title: 'Gatescope: Compare with RNN' });
    if (!pick) return;
    const engine = this.services.engine;
    try {
      let bytes: Uint8Array;
      let label: string;
      if (pick === load) {
        const uri = (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Model (safetensors)': ['safetensors'] }, openLabel: 'Compare' }))?.[0];
        if (!uri) return;
        bytes = await this.services.readModel(uri);
        const s = await engine.describe(bytes);
        label = `${basename(uri.toString())} (${s.config.cell} ${s.config.layers}×${s.config.hidden})`;
      } else {
        const done = await this.trainRnn(options);
        if (!done) return;
        bytes = done;
        label = `vanilla RNN ${options.layers}×${options.hidden}, ${options.steps} steps, seed ${options.seed}`;
      }
      this.setStatus({ kind: 'busy', message: 'Tracing the RNN on the same text…' });
      const text = Array.from(tr.tokens, (id) => tr.vocab[id]!).join('');
      const rt = await engine.trace(bytes, text);
      this.compare = { label, loss: rt.loss, layers: rt.layers.map((l) => ({ gradH: l.gradH, gradC: l.gradC })) };
      this.setStatus(null);
      this.post({ type: 'didCompare', compare: this.compare });
    } catch (e) {
      this.setStatus({ kind: 'error', message: `Compare with RNN failed: ${(e as Error).message}` });
    }
  }

  /** Trains the comparison RNN in the worker with progress in the status line; null when cancelled. */
  private async trainRnn(options: ReturnType<typeof rnnComparisonOptions>): Promise<Uint8Array | null> {
    const engine = this.services.engine;
    const doc = await openDocument(this.target.document!);
    const text = prepareTraceText(doc.getText(), null, this.summary!.vocab, Number.MAX_SAFE_INTEGER).text;
    const runId = engine.newRunId();
    this.compareRun = runId;
    let final: Uint8Array | null = null;
    const finished = new Promise<WorkerNotification & { type: 'didFinish' }>((resolve) => {
      const sub = engine.onNotification((n) => {
        if (!('runId' in n) || n.runId !== runId) return;
        if (n.type === 'didProgress') {
          const p = n.progress;
          this.setStatus({ kind: 'busy', message: `Training a vanilla RNN for comparison: step ${p.step.toLocaleString('en-US')} of ${p.totalSteps.toLocaleString('en-US')}, loss ${p.loss.toFixed(3)}`,
            progress: p.totalSteps ? p.step / p.totalSteps : 0, action: 'cancelCompare' });
        } else if (n.type === 'didCheckpoint' && n.final) {
          final = n.bytes;
        } else if (n.type === 'didFinish') {
          sub.dispose();
          resolve(n);
        }
      });
    });
    try {
      this.setStatus({ kind: 'busy', message: 'Starting the comparison RNN…', progress: 0, action: 'cancelCompare' });
      await engine.train({ runId, text, source: `${basename(this.target.document!)} (RNN comparison)`, options, resume: null,
        evalEvery: Math.max(1, options.steps), checkpointEvery: 0, totalSteps: options.steps });
      const end = await finished;
      if (end.reason === 'cancelled') {
        this.setStatus(null);
        return null;
      }
      if (end.reason === 'error') throw new Error(end.error?.message ?? 'training failed');
      return final;
    } finally {
      this.compareRun = null;
    }
  }
}

async function openDocument(uri: string): Promise<vscode.TextDocument> {
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri) ?? vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
