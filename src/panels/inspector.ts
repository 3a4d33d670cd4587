import * as vscode from 'vscode';
import type { EngineClient } from '../host/engineClient';
import { INSPECTOR_VIEW_TYPE, type ExportResult, type InspectorSnapshot, type InspectorTarget, type PersistedState, type SearchState, type StepRange } from '../protocol/webview';
import type { ComparisonOutcome, ComparisonUi } from './comparison';
import type { ExportUi } from './exportFiles';
import { InspectorPanel, type PanelServices } from './inspectorPanel';
import type { RunOutcome, TrainRequest } from '../host/training';
import { TrainingRecorder } from './training';
import { UnitColouring } from './unitColours';
import { config } from '../host/config';
import { Commands, ContextKeys } from '../host/ids';
import { modelArg, TEXT_FILTERS } from '../host/input';
import { baseName } from '../protocol/names';
import type { DidStepBody } from '../protocol/debug';

/** The inspector's command ids (all ids live in host/ids.ts). */
export const InspectorCommands = {
  inspect: Commands.inspect,
  inspectSelection: Commands.inspectSelection,
  colourTextByUnit: Commands.colourTextByUnit,
  clearUnitColours: Commands.clearUnitColours,
  findUnits: Commands.findUnits,
} as const;

export interface InspectorDeps {
  readonly engine: EngineClient;
  readonly output: vscode.OutputChannel;
  readModel(uri: vscode.Uri): Promise<Uint8Array>;
  /** The window's training lifecycle (TrainingController.start), which the comparison trains through. */
  train(req: TrainRequest): Promise<RunOutcome | null>;
}

export interface InspectorApi {
  /** Opens (or reveals) the inspector for a model on a document (the active editor's when omitted), or a range of it. */
  open(model: vscode.Uri, document?: vscode.TextDocument, range?: vscode.Range): Promise<void>;
  /** Opens (or reveals) the live training dashboard of a run; `model` is the file it writes, when known. */
  showTraining(runId: number, model: vscode.Uri | null, compareWith?: number, title?: string): void;
  /** Moves the inspector cursor of every panel on `document` to the character at a UTF-16 offset. */
  setCursor(document: vscode.Uri, offset: number): void;
  /**
   * A Gatescope debug session stopped (or Set Value changed its state) on `document` with `model`: every panel on the
   * document follows its t, now and whenever it opens, is revealed or traces again while the session lives; panels
   * of the same model also show its edited state (DidStepBody.state) at that step.
   */
  debuggerStepped(session: string, document: vscode.Uri, model: vscode.Uri, body: DidStepBody): void;
  /** The debug session ended: its panels drop its step and edited state (or follow another live session on the document). */
  debuggerEnded(session: string): void;
  /**
   * Sets the unit search of the inspector on (model, document) — the walkthrough preselects a feature; tests drive
   * the search with it. False when there is no such panel.
   */
  searchUnits(model: vscode.Uri, document: vscode.Uri, search: Partial<SearchState>): boolean;
  /** Test-only: what the inspector on (model, document) shows — the most recently opened panel when omitted. */
  getState(model?: vscode.Uri, document?: vscode.Uri): Promise<InspectorSnapshot | null>;
  /** Test-only: "Compare with RNN" on the inspector of (model, document), `ui` answering its questions; null without such a panel. */
  compare(model: vscode.Uri, document: vscode.Uri, ui: ComparisonUi): Promise<ComparisonOutcome | null>;
  /** Test-only: the comparison model's bytes the inspector of (model, document) holds. */
  compareModel(model: vscode.Uri, document: vscode.Uri): Uint8Array | null;
  /** Test-only: "Export JSON" on the inspector of (model, document), `ui` answering its questions; null without such a panel. */
  exportTrace(model: vscode.Uri, document: vscode.Uri, ui: ExportUi): Promise<ExportResult | null>;
}

/** Characters traced at once, and how often the dashboard samples during training (steps). */

/**
 * Registers the Inspector: its commands, the panel serializer (panels come back after a window reload), the
 * editor ↔ inspector cursor sync, Colour Text by Unit with its hover, and the recording of training runs for
 * the live dashboard. Everything registered is disposed with the extension.
 */
export function registerInspector(context: vscode.ExtensionContext, deps: InspectorDeps): InspectorApi {
  const { engine, output } = deps;
  const panels = new Map<string, InspectorPanel>();
  const recorders = new Map<number, TrainingRecorder>();
  const lastSample = new Map<number, number>();
  let recent: InspectorPanel | null = null;
  /** The last step of each live Gatescope debug session, the newest last: session id → document, model and step. */
  const debugSteps = new Map<string, { readonly document: string; readonly model: vscode.Uri; readonly body: DidStepBody }>();
  const colouring = new UnitColouring();
  const cursorDecoration = vscode.window.createTextEditorDecorationType({
    border: '1px solid', borderColor: new vscode.ThemeColor('editorCursor.foreground'), borderRadius: '2px',
    overviewRulerColor: new vscode.ThemeColor('editorCursor.foreground'), overviewRulerLane: vscode.OverviewRulerLane.Center,
  });

  const services: PanelServices = {
    engine, output, extensionUri: context.extensionUri, readModel: deps.readModel,
    maxCharacters: () => config.inspectorMaxCharacters(),
    memoryBytes: () => config.inspectorMemoryBytes(),
    recorder: (runId) => recorders.get(runId),
    record: (runId, title) => recorders.get(runId) ?? newRecorder(runId, title),
    train: (req) => deps.train(req),
    // a panel the user works in becomes the recent one; a background panel saving its view state does not
    viewChanged: (p) => { if (p.panel.active) recent = p; colouring.refresh(p); },
    traced: (p) => colouring.refresh(p, true),
    cursorMoved: (p, t) => highlight(p, t),
    debugStep: (p) => {
      const d = [...debugSteps.values()].reverse().find((x) => x.document === p.target.document);
      return d ? { body: d.body, sameModel: !!p.target.model && sameFile(d.model, vscode.Uri.parse(p.target.model)) } : null;
    },
    colourEditor: (p) => void colourText(p),
    disposed: (p) => {
      if (panels.get(p.key) === p) panels.delete(p.key);
      if (recent === p) recent = null;
      setOpenContext();
      colouring.forget(p);
      clearHighlight(p);
    },
  };

  const setOpenContext = (): void => {
    void vscode.commands.executeCommand('setContext', ContextKeys.inspectorOpen, [...panels.values()].some((p) => p.target.document));
  };
  const track = (p: InspectorPanel): InspectorPanel => {
    panels.set(p.key, p);
    recent = p;
    setOpenContext();
    p.panel.onDidChangeViewState((e) => { if (e.webviewPanel.active) recent = p; });
    return p;
  };

  /** Highlights timestep t in the editors showing the panel's document, scrolling only when it is out of view. */
  function highlight(p: InspectorPanel, t: number): void {
    if (!p.offsets || !p.target.document) return;
    const { start, end } = p.offsets.rangeOf(t);
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() !== p.target.document) continue;
      const range = new vscode.Range(editor.document.positionAt(start), editor.document.positionAt(Math.max(end, start + 1)));
      editor.setDecorations(cursorDecoration, [range]);
      if (!editor.visibleRanges.some((r) => r.contains(range))) editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
  }

  function clearHighlight(p: InspectorPanel): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === p.target.document) editor.setDecorations(cursorDecoration, []);
    }
  }

  async function open(model: vscode.Uri, document?: vscode.TextDocument, range?: vscode.Range): Promise<void> {
    const doc = document ?? (await pickDocument(model));
    if (!doc) return;
    const offsets = range && !range.isEmpty ? { start: doc.offsetAt(range.start), end: doc.offsetAt(range.end) } : null;
    const target: InspectorTarget = { model: model.toString(), document: doc.uri.toString(), range: offsets, runId: null };
    const existing = panels.get(InspectorPanel.keyOf(target));
    if (existing) {
      existing.reveal();
      recent = existing;
      if (JSON.stringify(existing.target.range) !== JSON.stringify(offsets) || !existing.trace) await existing.retarget(offsets);
      return;
    }
    await track(InspectorPanel.create(services, target)).load();
  }

  /** The text to inspect a model on when none was given: the active text editor's, else one the user picks. */
  async function pickDocument(model: vscode.Uri): Promise<vscode.TextDocument | undefined> {
    const active = vscode.window.activeTextEditor?.document;
    if (active && !active.uri.path.endsWith('.safetensors')) return active;
    const uri = (await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Inspect', filters: TEXT_FILTERS,
      title: `Gatescope: choose a text to inspect ${baseName(model)} on` }))?.[0];
    return uri ? vscode.workspace.openTextDocument(uri) : undefined;
  }

  function showTraining(runId: number, model: vscode.Uri | null, compareWith?: number, title?: string): void {
    const rec = recorders.get(runId) ?? newRecorder(runId);
    if (model) rec.model = model.toString();
    if (title) rec.title = title;
    const other = compareWith !== undefined ? recorders.get(compareWith) : undefined;
    const attached = [...panels.values()].find((p) => p.target.runId === runId);
    if (attached) {
      attached.attachRun(runId, model, other);
      attached.reveal();
      return;
    }
    const p = track(InspectorPanel.create(services, { model: null, document: null, range: null, runId }));
    p.attachRun(runId, model, other);
  }

  function newRecorder(runId: number, title = `Training run ${runId}`): TrainingRecorder {
    const rec = new TrainingRecorder(runId, title);
    recorders.set(runId, rec);
    return rec;
  }

  /** Samples a checkpoint for the dashboards of its run, at most every `sampleEvery` steps (and at the end). */
  async function sampleCheckpoint(runId: number, step: number, bytes: Uint8Array, final: boolean): Promise<void> {
    const every = config.inspectorSampleEvery();
    const last = lastSample.get(runId) ?? -Infinity;
    if (!final && step - last < every) return;
    if (![...panels.values()].some((p) => p.target.runId === runId)) return;
    lastSample.set(runId, step);
    const model = bytes.slice(); // our copy: whoever else listens may hand the checkpoint's buffer on
    try {
      const text = await engine.sample(engine.newRunId(), model, { prime: '', length: 240, temperature: 0.8, topK: 0, greedy: false }, step);
      recorders.get(runId)?.samples.push({ step, text });
      for (const p of panels.values()) p.sampled(runId, step, text);
    } catch (e) {
      output.appendLine(`[inspector] sampling at step ${step} failed: ${(e as Error).message}`);
    }
  }

  // every run is recorded from its first report, so that a dashboard opened later shows its whole history
  const engineSub = engine.onRun((run) => {
    run.onProgress((progress) => {
      const rec = recorders.get(run.runId) ?? newRecorder(run.runId);
      rec.add(progress);
      for (const p of panels.values()) p.trainingProgressed(rec, progress);
    });
    run.onCheckpoint((c) => { if (!c.best && recorders.has(run.runId)) void sampleCheckpoint(run.runId, c.step, c.bytes, c.final); });
    void run.finished.then((end) => {
      const rec = recorders.get(run.runId);
      if (!rec) return;
      if (end.progress) rec.add(end.progress);
      rec.finished = { reason: end.reason, message: end.error?.message ?? null };
      for (const p of panels.values()) {
        // the dashboard ends on the numbers the finished message says (the last report may be a few steps earlier)
        if (end.progress) p.trainingProgressed(rec, end.progress);
        p.trainingFinished(rec);
      }
    });
  });

  async function colourText(p: InspectorPanel | null): Promise<void> {
    if (!p || !p.trace || !p.target.document) {
      void vscode.window.showInformationMessage('Open the Gatescope Inspector on this file first (Gatescope: Inspect Model on File).');
      return;
    }
    const uri = vscode.Uri.parse(p.target.document);
    const visible = vscode.window.visibleTextEditors.some((e) => e.document.uri.toString() === p.target.document);
    if (!visible) await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    colouring.activate(p);
  }

  /** The panel a command on the active editor refers to: the last one used on that document. */
  function panelForEditor(): InspectorPanel | null {
    const doc = vscode.window.activeTextEditor?.document.uri.toString();
    if (recent && (!doc || recent.target.document === doc)) return recent;
    return [...panels.values()].find((p) => p.target.document === doc) ?? recent;
  }

  /**
   * Find Units for Selection: the editor's selections (several with multiple cursors) become the ranges of the
   * inspector's unit search on this document, ranked by r.
   */
  function findUnitsForSelection(): void {
    const editor = vscode.window.activeTextEditor;
    const doc = editor?.document;
    const p = doc && [...panels.values()].find((x) => x.target.document === doc.uri.toString() && x.offsets);
    if (!editor || !doc || !p?.offsets) {
      void vscode.window.showInformationMessage('Find Units for Selection works on a text the inspector shows: open it first with Gatescope: Inspect Model on File.');
      return;
    }
    const offsets = p.offsets;
    const ranges = editor.selections.filter((s) => !s.isEmpty)
      .map((s) => offsets.stepsIn(doc.offsetAt(s.start), doc.offsetAt(s.end)))
      .filter((r): r is StepRange => r !== null);
    if (!ranges.length) {
      void vscode.window.showInformationMessage(editor.selections.some((s) => !s.isEmpty)
        ? 'The selection is outside the part of the file the inspector traced.'
        : 'Select the text whose units you want to find (several selections with Alt+click), then run Find Units for Selection.');
      return;
    }
    p.reveal();
    p.searchUnits({ mode: 'ranges', ranges });
  }

  // a Uri argument is the model when it is a .safetensors file, else the document to inspect
  const inspectedModel = (a: unknown): vscode.Uri | undefined => {
    const u = modelArg(a);
    return u?.path.endsWith('.safetensors') ? u : undefined;
  };
  const docArg = (a: unknown): vscode.Uri | undefined => (a instanceof vscode.Uri && !a.path.endsWith('.safetensors') ? a : undefined);

  /** Inspect: from a model (Models view), a file (Explorer), or the active editor; asks for whatever is missing. */
  async function inspectCommand(arg: unknown, selection: boolean): Promise<void> {
    let model = inspectedModel(arg);
    const docUri = docArg(arg);
    const editor = vscode.window.activeTextEditor;
    const doc = docUri ? await vscode.workspace.openTextDocument(docUri) : editor && !editor.document.uri.path.endsWith('.safetensors') ? editor.document : undefined;
    model ??= await vscode.commands.executeCommand<vscode.Uri | undefined>(Commands.pickModel);
    if (!model) return;
    const range = selection && editor && doc === editor.document && !editor.selection.isEmpty ? editor.selection : undefined;
    if (selection && !range) {
      void vscode.window.showInformationMessage('Select some text first, then run Inspect Model on Selection.');
      return;
    }
    await open(model, doc, range);
  }

  context.subscriptions.push(
    engineSub, colouring, cursorDecoration,
    vscode.commands.registerCommand(InspectorCommands.inspect, (arg?: unknown) => inspectCommand(arg, false)),
    vscode.commands.registerCommand(InspectorCommands.inspectSelection, (arg?: unknown) => inspectCommand(arg, true)),
    vscode.commands.registerCommand(InspectorCommands.colourTextByUnit, () => colourText(panelForEditor())),
    vscode.commands.registerCommand(InspectorCommands.clearUnitColours, () => colouring.clear()),
    vscode.commands.registerCommand(InspectorCommands.findUnits, () => findUnitsForSelection()),
    vscode.window.registerWebviewPanelSerializer(INSPECTOR_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const target = (state as PersistedState | undefined)?.target;
        if (!target?.model || !target.document) {
          panel.dispose(); // a training dashboard: its run ended with the window
          return;
        }
        const key = InspectorPanel.keyOf(target);
        if (panels.has(key)) {
          panel.dispose();
          return;
        }
        await track(InspectorPanel.restore(services, panel, target)).load();
      },
    }),
    // the editor cursor moves the inspector cursor; an editor selection feeds the unit search
    vscode.window.onDidChangeTextEditorSelection((e) => {
      const uri = e.textEditor.document.uri.toString();
      for (const p of panels.values()) {
        if (p.target.document !== uri || !p.offsets) continue;
        const sel = e.selections[0]!;
        const doc = e.textEditor.document;
        const t = p.offsets.stepAt(doc.offsetAt(sel.active));
        if (t !== null) p.setCursor(t);
        if (!sel.isEmpty) {
          const steps = p.offsets.stepsIn(doc.offsetAt(sel.start), doc.offsetAt(sel.end));
          if (steps) p.selectRange(steps);
        }
      }
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (!e.contentChanges.length) return;
      const uri = e.document.uri.toString();
      for (const p of panels.values()) if (p.target.document === uri) p.documentChanged(e.document);
    }),
    { dispose: () => { for (const p of [...panels.values()]) p.dispose(); } },
  );

  return {
    open,
    showTraining,
    setCursor(document, offset) {
      for (const p of panels.values()) {
        if (p.target.document !== document.toString() || !p.offsets) continue;
        const t = p.offsets.stepAt(offset);
        if (t !== null) p.setCursor(t);
      }
    },
    debuggerStepped(session, document, model, body) {
      debugSteps.delete(session); // re-inserted: the newest session wins
      debugSteps.set(session, { document: document.toString(), model, body });
      for (const p of panels.values()) if (p.target.document === document.toString()) p.followDebugger();
    },
    debuggerEnded(session) {
      const d = debugSteps.get(session);
      if (!d) return;
      debugSteps.delete(session);
      for (const p of panels.values()) if (p.target.document === d.document) p.followDebugger();
    },
    async getState(model, document) {
      const p = model || document
        ? [...panels.values()].find((x) => (!model || x.target.model === model.toString()) && (!document || x.target.document === document.toString()))
        : recent ?? [...panels.values()].pop();
      return p ? p.getState() : null;
    },
    compare(model, document, ui) {
      return panels.get(InspectorPanel.keyOf({ model: model.toString(), document: document.toString(), runId: null }))?.compareWith(ui) ?? Promise.resolve(null);
    },
    searchUnits(model, document, search) {
      const p = panels.get(InspectorPanel.keyOf({ model: model.toString(), document: document.toString(), runId: null }));
      if (!p) return false;
      p.reveal();
      p.searchUnits(search);
      return true;
    },
    compareModel(model, document) {
      return panels.get(InspectorPanel.keyOf({ model: model.toString(), document: document.toString(), runId: null }))?.compareModel ?? null;
    },
    exportTrace(model, document, ui) {
      return panels.get(InspectorPanel.keyOf({ model: model.toString(), document: document.toString(), runId: null }))?.exportTrace(ui) ?? Promise.resolve(null);
    },
  };
}

/** The same file: the debugger names its model by path, the inspector by URI (Windows paths ignore case). */
function sameFile(a: vscode.Uri, b: vscode.Uri): boolean {
  if (a.scheme !== b.scheme) return false;
  return process.platform === 'win32' ? a.fsPath.toLowerCase() === b.fsPath.toLowerCase() : a.toString() === b.toString();
}
