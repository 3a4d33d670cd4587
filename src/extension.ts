import * as vscode from 'vscode';
import { recentMessages, showError, showInfo } from './notify';
import { registerModelCommands, createPickModel } from './commands/models';
import { Commands } from './commands/ids';
import { registerSampleCommand } from './commands/sample';
import { registerTrainCommands } from './commands/train';
import { EngineClient } from './engineClient';
import { describeModel, ModelStore } from './models/modelStore';
import { ModelsView } from './models/modelsView';
import { ModelEditorProvider } from './models/modelEditor';
import { TrainingController } from './training';
import { baseName } from './commands/input';
import { registerDebugger } from './debug/activation';

/** What the extension hands to its tests (through the activate() return value). */
export interface GatescopeApi {
  readonly engine: EngineClient;
  readonly training: TrainingController;
  readonly store: ModelStore;
  readonly modelsView: ModelsView;
}

/** Builds the services and registers everything once, in context.subscriptions. */
export function activate(context: vscode.ExtensionContext): GatescopeApi {
  const output = vscode.window.createOutputChannel('Gatescope');
  const engine = new EngineClient(context.asAbsolutePath('dist/worker.js'));
  const store = new ModelStore(context, engine);
  const modelsView = new ModelsView(store);
  const treeView = vscode.window.createTreeView('gatescope.models', { treeDataProvider: modelsView, showCollapseAll: false });
  // called only after activation, once `training` exists
  const pickModel = createPickModel(store, () => training.lastModel);

  const showModel = async (uri: vscode.Uri): Promise<void> => {
    const entry = await store.entry(uri);
    if (!entry.summary) {
      void showError(`cannot use ${baseName(uri)}: ${entry.error}`);
      return;
    }
    const s = entry.summary;
    const choice = await showInfo(
      `${baseName(uri)}: ${describeModel(s)}, vocabulary ${s.config.vocabSize}, ${s.parameters.toLocaleString('en-US')} parameters` +
      (s.info.source ? `, trained on ${s.info.source}` : ''), 'Sample', 'Resume Training');
    if (choice === 'Sample') void vscode.commands.executeCommand(Commands.sample, uri);
    if (choice === 'Resume Training') void vscode.commands.executeCommand(Commands.resumeTraining, uri);
  };

  const training = new TrainingController(engine, store, output, {
    inspect: (m) => void showModel(m),
    sample: (m) => void vscode.commands.executeCommand(Commands.sample, m),
    stepThrough: (m) => void vscode.commands.executeCommand('gatescope.stepThrough', undefined, m),
  });

  registerDebugger(context, { pickModel: () => pickModel(), output });
  context.subscriptions.push(
    output, engine, store, modelsView, treeView, training,
    ...registerTrainCommands(training, store, pickModel),
    ...registerModelCommands(store, modelsView, pickModel, showModel),
    registerSampleCommand(engine, store, pickModel),
    vscode.window.registerCustomEditorProvider(ModelEditorProvider.viewType, new ModelEditorProvider(store)),
    vscode.commands.registerCommand(Commands.testState, () => ({
      training: training.running, activeRunId: training.activeRunId, lastModel: training.lastModel?.toString() ?? null,
      modelsShown: modelsView.lastShown.map((e) => e.uri.toString()), modelsFolder: store.folder.toString(),
      messages: recentMessages(),
    })),
  );
  return { engine, training, store, modelsView };
}

export function deactivate(): void {
  // everything is disposed through context.subscriptions
}
