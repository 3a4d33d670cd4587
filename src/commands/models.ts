import * as vscode from 'vscode';
import { showError } from '../host/notify';
import { describeModel, type ModelStore } from '../models/modelStore';
import type { ModelsView } from '../models/modelsView';
import { Commands } from '../host/ids';
import { modelArg } from '../host/input';
import type { EngineClient } from '../host/engineClient';
import { ModelEditorProvider } from '../models/modelEditor';
import { importForeignModel, isTorchFile, TORCH_EXTENSIONS, type ImportArgs } from './importModel';
import type { PickModel } from './train';
import { baseName } from '../protocol/names';

export function createPickModel(store: ModelStore, lastModel: () => vscode.Uri | null): PickModel {
  return async (arg?: unknown) => {
    const given = modelArg(arg);
    if (given) return given;
    const entries = (await store.list()).filter((e) => e.summary);
    const browse = { label: '$(folder-opened) Browse…', uri: undefined as vscode.Uri | undefined };
    const items = [
      ...entries.map((e) => ({ label: baseName(e.uri), description: describeModel(e.summary!), uri: e.uri as vscode.Uri | undefined,
        picked: lastModel()?.toString() === e.uri.toString() })),
      browse,
    ];
    const choice = await vscode.window.showQuickPick(items, { title: 'Gatescope: choose a model', placeHolder: entries.length ? 'Trained models' : 'No models yet: browse for a .safetensors file' });
    if (!choice) return undefined;
    if (choice.uri) return choice.uri;
    // Open Model… takes it from here: a PyTorch file is imported first
    return vscode.commands.executeCommand<vscode.Uri | undefined>(Commands.openModel);
  };
}

/** Open Model…'s file types: Gatescope's (and any safetensors), and PyTorch's torch.save files, imported. */
const OPEN_FILTERS = { 'Models (safetensors, PyTorch .pt / .pth)': ['safetensors', ...TORCH_EXTENSIONS], 'All files': ['*'] };

/** Open Model…'s argument: a model (a Uri, a Models view entry) or, from scripts and tests, { model, vocab?, cell? }. */
function importArgs(arg: unknown): ImportArgs | undefined {
  const uri = modelArg(arg);
  if (uri) return { model: uri };
  const a = arg as Partial<ImportArgs> | undefined;
  return a?.model instanceof vscode.Uri ? { model: a.model, ...(a.vocab instanceof vscode.Uri ? { vocab: a.vocab } : {}), ...(typeof a.cell === 'string' ? { cell: a.cell } : {}),
    ...(typeof a.module === 'string' ? { module: a.module } : {}) } : undefined;
}

export function registerModelCommands(store: ModelStore, view: ModelsView, pickModel: PickModel,
  showModel: (uri: vscode.Uri, text?: vscode.Uri) => Promise<void>, engine: EngineClient, output: vscode.OutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(Commands.pickModel, () => pickModel()),
    vscode.commands.registerCommand(Commands.refreshModels, () => view.refresh()),

    vscode.commands.registerCommand(Commands.openModel, async (arg?: unknown) => {
      const given = importArgs(arg);
      let uri = given?.model ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: OPEN_FILTERS, openLabel: 'Open Model' }))?.[0];
      if (!uri) return undefined;
      let entry = isTorchFile(uri) ? null : await store.entry(uri);
      // a PyTorch model (torch.save, or safetensors in other names): made a Gatescope model in the models folder
      if (entry === null || (!entry.summary && /missing|no "cell"|no "vocab"/.test(entry.error ?? ''))) {
        const imported = await importForeignModel({ ...given, model: uri }, engine, store, output);
        if (!imported) return undefined;
        uri = imported;
        entry = await store.entry(uri);
      }
      if (!entry.summary) {
        void showError(`cannot use ${baseName(uri)}: ${entry.error}`);
        return undefined;
      }
      await store.addOpened(uri);
      await showModel(uri);
      return uri;
    }),

    vscode.commands.registerCommand(Commands.showModel, async (arg?: unknown, text?: unknown) => {
      const uri = await pickModel(arg);
      if (uri) await showModel(uri, text instanceof vscode.Uri ? text : undefined);
    }),

    vscode.commands.registerCommand(Commands.deleteModel, async (arg?: unknown) => {
      const uri = modelArg(arg);
      if (!uri) return;
      const comparisons = await store.comparisonsOf(uri);
      const del = comparisons.length ? 'Delete Model Only' : 'Delete';
      const both = 'Delete Model and Comparisons';
      const detail = `${uri.scheme === 'file' ? 'It moves to the trash.' : 'This cannot be undone.'}` +
        (comparisons.length ? ` Its comparison model${comparisons.length > 1 ? 's' : ''} (${comparisons.map(baseName).join(', ')}) can go with it.` : '');
      const choice = await vscode.window.showWarningMessage(`Delete the model ${baseName(uri)}?`, { modal: true, detail }, ...(comparisons.length ? [both, del] : [del]));
      if (choice === del || choice === both) await store.remove(uri);
      if (choice === both) for (const c of comparisons) await store.remove(c);
    }),

    vscode.commands.registerCommand(Commands.openModelEditor, async (arg?: unknown) => {
      const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: unknown } | undefined;
      const uri = modelArg(arg) ?? (tab?.uri instanceof vscode.Uri ? tab.uri : undefined);
      if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, ModelEditorProvider.viewType);
    }),

    vscode.commands.registerCommand(Commands.revealModel, async (arg?: unknown) => {
      const uri = modelArg(arg);
      if (!uri) return;
      await vscode.commands.executeCommand('revealInExplorer', uri);
    }),
  ];
}
