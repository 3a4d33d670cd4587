import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import { DID_STEP_EVENT, type DidStepBody } from '../protocol/debug';
import {
  DEBUG_TYPE, DebugCommands, DebugTestCommands, INITIAL_CONFIGURATION, inlineValueSpan, inlineValueText, launchConfigFor, samePath,
  stepDecoration, type EditorState, type GatescopeDebugConfiguration, type LineSpan,
} from './launchConfig';

/** What the debugger needs from the rest of the extension. */
export interface DebuggerDeps {
  /** Lets the user choose a model (the Models view's picker); undefined when cancelled. */
  pickModel(): Thenable<vscode.Uri | string | undefined>;
  output: vscode.OutputChannel;
}

/**
 * The VS Code wiring of the `gatescope` debugger: adapter factory, configuration providers, the Step Through
 * with LSTM command, the current-character decoration and inline values. Everything is registered in
 * context.subscriptions.
 *
 * Where the session runs: in a worker_thread (dist/debugAdapter.js), behind a DebugAdapterInlineImplementation
 * that relays DAP messages. The runtime already slices long runs and yields, but two things cannot be sliced
 * without changing the engine: the launch trace for gradient norms (one forward and backward pass over the
 * whole text, seconds for a long text and a large model) and each step's matrix products for large models.
 * In a worker none of it can ever freeze the extension host, and the host stays free for the editor, the
 * inspector and training. The slicing still matters inside the worker: it lets pause and disconnect through.
 */
export function registerDebugger(context: vscode.ExtensionContext, deps: DebuggerDeps): void {
  const adapterScript = context.asAbsolutePath(path.join('dist', 'debugAdapter.js'));
  const sync = new StepSync();
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
      createDebugAdapterDescriptor: () => new vscode.DebugAdapterInlineImplementation(new WorkerDebugAdapter(adapterScript, deps.output)),
    }),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new ConfigurationProvider(deps), vscode.DebugConfigurationProviderTriggerKind.Initial),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
      provideDebugConfigurations: () => [{ ...INITIAL_CONFIGURATION, name: 'Step through the current file with LSTM' }],
    }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.commands.registerCommand(DebugCommands.stepThrough, (uri?: vscode.Uri, model?: vscode.Uri) => stepThrough(deps, uri, model)),
    sync,
  );
  if (context.extensionMode !== vscode.ExtensionMode.Production) {
    context.subscriptions.push(vscode.commands.registerCommand(DebugTestCommands.editorState, () => sync.editorState()));
  }
}

/** Relays DAP messages between VS Code and the session in a worker_thread. */
class WorkerDebugAdapter implements vscode.DebugAdapter {
  private readonly emitter = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.emitter.event;
  private readonly worker: Worker;
  private ended = false;

  constructor(script: string, private readonly output: vscode.OutputChannel) {
    this.worker = new Worker(script);
    this.worker.on('message', (m: vscode.DebugProtocolMessage) => this.emitter.fire(m));
    this.worker.on('error', (err) => this.fail(`the debug adapter failed: ${err.stack ?? err.message}`));
    this.worker.on('exit', (code) => {
      if (!this.ended) this.fail(`the debug adapter stopped unexpectedly (exit code ${code})`);
    });
  }

  handleMessage(message: vscode.DebugProtocolMessage): void {
    this.worker.postMessage(message);
  }

  private fail(message: string): void {
    this.output.appendLine(`Gatescope debugger: ${message}`);
    if (this.ended) return;
    this.ended = true;
    this.emitter.fire({ seq: 0, type: 'event', event: 'output', body: { category: 'stderr', output: `Gatescope: ${message}\n` } } as vscode.DebugProtocolMessage);
    this.emitter.fire({ seq: 0, type: 'event', event: 'terminated' } as vscode.DebugProtocolMessage);
  }

  dispose(): void {
    this.ended = true;
    void this.worker.terminate();
    this.emitter.dispose();
  }
}

/** F5 on a text file without launch.json offers the debugger; a configuration without a model asks for one. */
class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly deps: DebuggerDeps) {}

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [INITIAL_CONFIGURATION];
  }

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    if (!config.type && !config.request && !config.name) {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc) {
        void vscode.window.showErrorMessage('Gatescope: open a text file to step through it with a model');
        return undefined;
      }
      return { ...INITIAL_CONFIGURATION, program: programOf(doc), ...(isUnsaved(doc) ? { text: doc.getText() } : {}) };
    }
    if (!config.program) config.program = '${file}';
    return config;
  }

  async resolveDebugConfigurationWithSubstitutedVariables(_folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    if (!config.model) {
      const model = await modelPath(await this.deps.pickModel());
      if (!model) return undefined; // cancelled: no session, no error
      config.model = model;
    }
    // an unsaved or untitled document: the adapter gets its text rather than the file on disk
    const doc = vscode.workspace.textDocuments.find((d) => samePath(programOf(d), String(config.program)) || d.fileName === config.program);
    if (doc && config.text === undefined && isUnsaved(doc)) {
      config.program = programOf(doc);
      config.text = doc.getText();
    }
    return config;
  }
}

/** Step Through with LSTM: the selection of the active editor, or the whole file (from the context menu, or with a model from the Models view). */
async function stepThrough(deps: DebuggerDeps, uri?: vscode.Uri, modelUri?: vscode.Uri): Promise<void> {
  const active = vscode.window.activeTextEditor;
  const doc = uri && uri.toString() !== active?.document.uri.toString() ? await vscode.workspace.openTextDocument(uri) : active?.document;
  if (!doc) {
    void vscode.window.showErrorMessage('Gatescope: open a text file (or select some text) to step through it with a model');
    return;
  }
  const model = await modelPath(modelUri ?? await deps.pickModel());
  if (!model) return;
  const sel = active && active.document === doc && !active.selection.isEmpty ? active.selection : null;
  const editor: EditorState = {
    program: programOf(doc),
    fileName: path.basename(doc.fileName),
    unsaved: isUnsaved(doc),
    text: doc.getText(),
    selection: sel ? { text: doc.getText(sel), startOffset: doc.offsetAt(sel.start), startLine: sel.start.line, startColumn: sel.start.character } : null,
  };
  const config: GatescopeDebugConfiguration = launchConfigFor(editor, model);
  await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(doc.uri), config);
}

function programOf(doc: vscode.TextDocument): string {
  return doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString();
}

function isUnsaved(doc: vscode.TextDocument): boolean {
  return doc.isUntitled || doc.isDirty || doc.uri.scheme !== 'file';
}

/** The adapter reads the model with Node's file system, so it needs a local path. */
async function modelPath(m: vscode.Uri | string | undefined): Promise<string | undefined> {
  if (m === undefined || m === '') return undefined;
  if (typeof m === 'string') return m.startsWith('file:') ? vscode.Uri.parse(m).fsPath : m;
  if (m.scheme !== 'file') {
    void vscode.window.showErrorMessage(`Gatescope: the debugger reads models from local files; ${m.toString()} is not one`);
    return undefined;
  }
  return m.fsPath;
}

/** What the editor shows of the current step, for tests: the last decorations and inline values given to VS Code. */
export interface DebugEditorState {
  readonly decorations: readonly { readonly document: string; readonly range: LineSpan; readonly hover: string; readonly afterText: string | null }[];
  readonly inlineValues: readonly { readonly document: string; readonly range: LineSpan; readonly text: string }[];
}

/**
 * Follows the adapter's didStep events: highlights the current character (its readout as a hover), and provides
 * the readout as an inline value after the end of its line while a session runs on that document. No text goes
 * inside the line, where it would split a word (stepDecoration).
 */
class StepSync implements vscode.Disposable {
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.wordHighlightStrongBackground'),
    border: '1px solid',
    borderColor: new vscode.ThemeColor('focusBorder'),
  });
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly last = new Map<string, DidStepBody>(); // session id → last step
  private readonly providers = new Map<string, vscode.Disposable>(); // session id → inline values provider
  private readonly subscriptions: vscode.Disposable[];
  private rendered: DebugEditorState = { decorations: [], inlineValues: [] };

  constructor() {
    this.subscriptions = [
      vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
        if (e.session.type !== DEBUG_TYPE || e.event !== DID_STEP_EVENT) return;
        const body = e.body as DidStepBody;
        if (!this.providers.has(e.session.id)) this.providers.set(e.session.id, this.registerInlineValues(e.session.id, body.program));
        this.last.set(e.session.id, body);
        this.render();
        this.changed.fire();
      }),
      vscode.debug.onDidTerminateDebugSession((s) => {
        this.last.delete(s.id);
        this.providers.get(s.id)?.dispose();
        this.providers.delete(s.id);
        this.rendered = { ...this.rendered, inlineValues: [] };
        this.render();
      }),
      vscode.debug.onDidChangeActiveDebugSession(() => this.render()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.render()),
    ];
  }

  /** The step of the active gatescope session (or of any, when another kind of session is active). */
  private current(): DidStepBody | undefined {
    const active = vscode.debug.activeDebugSession;
    if (active?.type === DEBUG_TYPE) return this.last.get(active.id);
    return [...this.last.values()].pop();
  }

  /** The decorations and inline values last given to VS Code (the test hook's answer). */
  editorState(): DebugEditorState {
    return this.rendered;
  }

  private render(): void {
    const body = this.current();
    const decorations: DebugEditorState['decorations'][number][] = [];
    for (const editor of vscode.window.visibleTextEditors) {
      if (!body || !samePath(programOf(editor.document), body.program)) {
        editor.setDecorations(this.decoration, []);
        continue;
      }
      const d = stepDecoration(body);
      const options: vscode.DecorationOptions = { range: toRange(d.current), hoverMessage: d.hover };
      editor.setDecorations(this.decoration, [options]);
      decorations.push({ document: editor.document.uri.toString(), range: d.current, hover: d.hover, afterText: options.renderOptions?.after?.contentText ?? null });
    }
    this.rendered = { ...this.rendered, decorations };
  }

  private registerInlineValues(sessionId: string, program: string): vscode.Disposable {
    // only this document, so that other debuggers keep VS Code's own inline values elsewhere
    const isUri = /^[a-z][a-z0-9+.-]+:/i.test(program) && !/^[a-z]:[\\/]/i.test(program);
    const name = path.basename(program);
    const selector: vscode.DocumentSelector = isUri ? { scheme: vscode.Uri.parse(program).scheme }
      : /[[\]{}*?]/.test(name) ? { scheme: 'file' }
        : { scheme: 'file', pattern: new vscode.RelativePattern(vscode.Uri.file(path.dirname(program)), name) };
    return vscode.languages.registerInlineValuesProvider(selector, {
      onDidChangeInlineValues: this.changed.event,
      provideInlineValues: (document, _viewPort, context) => {
        const body = this.last.get(sessionId);
        if (!body || !samePath(programOf(document), body.program)) return undefined;
        const line = Math.min(context.stoppedLocation.end.line, document.lineCount - 1);
        const span = inlineValueSpan(line, document.lineAt(line).text);
        const text = inlineValueText(body);
        this.rendered = { ...this.rendered, inlineValues: [{ document: document.uri.toString(), range: span, text }] };
        return [new vscode.InlineValueText(toRange(span), text)];
      },
    });
  }

  dispose(): void {
    for (const d of [...this.subscriptions, ...this.providers.values(), this.decoration, this.changed]) d.dispose();
  }
}

function toRange(s: LineSpan): vscode.Range {
  return new vscode.Range(s.line, s.start, s.line, s.end);
}
