import * as vscode from 'vscode';
import { recentMessages, showError } from './host/notify';
import { registerModelCommands, createPickModel } from './commands/models';
import { Commands, TestCommands } from './host/ids';
import { registerSampleCommand } from './commands/sample';
import { registerWalkthroughCommands } from './commands/walkthrough';
import { registerTrainCommands } from './commands/train';
import { EngineClient } from './host/engineClient';
import { ModelStore } from './models/modelStore';
import { ModelsView } from './models/modelsView';
import { ModelEditorProvider } from './models/modelEditor';
import { TrainingController } from './host/training';
import { registerDebugger } from './debug/activation';
import { DID_STEP_EVENT, type DidStepBody } from './protocol/debug';
import { useFastKernels } from './engine/backend';
import { registerInspector, type InspectorApi } from './panels/inspector';
import { baseName } from './protocol/names';

/** What the extension hands to its tests (through the activate() return value). */
export interface GatescopeApi {
  readonly engine: EngineClient;
  readonly inspector: InspectorApi;
  readonly training: TrainingController;
  readonly store: ModelStore;
  readonly modelsView: ModelsView;
}

/** Builds the services and registers everything once, in context.subscriptions. */
export function activate(context: vscode.ExtensionContext): GatescopeApi {
  // the debugger steps its networks in this process: on the engine's WebAssembly kernels, as the worker does
  useFastKernels();
  const output = vscode.window.createOutputChannel('Gatescope');
  const engine = new EngineClient(context.asAbsolutePath('dist/worker.js'));
  const store = new ModelStore(context, engine);
  const modelsView = new ModelsView(store);
  const treeView = vscode.window.createTreeView('gatescope.models', { treeDataProvider: modelsView, showCollapseAll: false });
  // called only after activation, once `training` exists
  const pickModel = createPickModel(store, () => training.lastModel);

  // `training` is made below (it opens the inspector's dashboards); the inspector starts runs only after activation
  const inspector = registerInspector(context, { engine, output, readModel: async (u) => store.read(u), train: (req) => training.start(req) });
  /** "Show" a model: the inspector on the active text editor's document (or a file the user picks). */
  const showModel = async (uri: vscode.Uri, text?: vscode.Uri): Promise<void> => {
    const entry = await store.entry(uri);
    if (!entry.summary) {
      void showError(`cannot use ${baseName(uri)}: ${entry.error}`);
      return;
    }
    // the text it was trained on when that is known (the finished message, the status bar), else the active editor's
    const doc = text ? await vscode.workspace.openTextDocument(text).then((d) => d, () => undefined) : undefined;
    await inspector.open(uri, doc ?? vscode.window.activeTextEditor?.document);
  };

  const training = new TrainingController(engine, store, output, {
    inspect: (m, text) => void showModel(m, text),
    watch: (runId, m, compareWith, title) => inspector.showTraining(runId, m, compareWith, title),
    sample: (m) => void vscode.commands.executeCommand(Commands.sample, m),
    stepThrough: (m) => void vscode.commands.executeCommand(Commands.stepThrough, undefined, m),
  });

  // the Models view shows the run in progress
  context.subscriptions.push(
    training.onDidStart(({ model }) => modelsView.setTraining({ model, step: 0, total: 0, loss: null })),
    training.onDidProgress(({ model, progress: p }) => modelsView.setTraining({ model, step: p.step, total: p.totalSteps, loss: p.loss })),
    training.onDidEnd(() => { if (!training.running) modelsView.setTraining(null); }),
  );
  registerDebugger(context, { pickModel: () => pickModel(), output });
  // the inspector follows the debugger: its program counter, and its state when Set Value edited it, while the session lives
  context.subscriptions.push(
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== 'gatescope' || e.event !== DID_STEP_EVENT) return;
      const body = e.body as DidStepBody;
      const program = /^[a-z][\w+.-]+:/i.test(body.program) && !/^[a-z]:[\\/]/i.test(body.program) ? vscode.Uri.parse(body.program) : vscode.Uri.file(body.program);
      inspector.debuggerStepped(e.session.id, program, vscode.Uri.file(body.model), body);
    }),
    vscode.debug.onDidTerminateDebugSession((s) => { if (s.type === 'gatescope') inspector.debuggerEnded(s.id); }),
  );
  context.subscriptions.push(
    output, engine, store, modelsView, treeView, training,
    ...registerTrainCommands(training, store, pickModel),
    ...registerModelCommands(store, modelsView, pickModel, showModel, engine, output),
    registerSampleCommand(engine, store, pickModel, context.globalState),
    ...registerWalkthroughCommands(context.extensionUri, inspector),
    vscode.window.registerCustomEditorProvider(ModelEditorProvider.viewType, new ModelEditorProvider(store)),
    vscode.commands.registerCommand(TestCommands.testState, () => ({
      training: training.running, activeRunId: training.activeRunId, lastModel: training.lastModel?.toString() ?? null,
      modelsShown: modelsView.lastShown.map((e) => e.uri.toString()), modelsFolder: store.folder.toString(),
      messages: recentMessages(),
    })),
  );
  return { engine, inspector, training, store, modelsView };
}

export function deactivate(): void {
  // everything is disposed through context.subscriptions
}
