import * as vscode from 'vscode';
import { showError } from '../host/notify';
import { describeModel, type ModelStore } from '../models/modelStore';
import type { ModelsView } from '../models/modelsView';
import { Commands } from '../host/ids';
import { modelArg } from '../host/input';
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
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Model (safetensors)': ['safetensors'] }, openLabel: 'Open Model' });
    if (picked?.[0]) await store.addOpened(picked[0]);
    return picked?.[0];
  };
}

export function registerModelCommands(store: ModelStore, view: ModelsView, pickModel: PickModel,
  showModel: (uri: vscode.Uri) => Promise<void>): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(Commands.pickModel, () => pickModel()),
    vscode.commands.registerCommand(Commands.refreshModels, () => view.refresh()),

    vscode.commands.registerCommand(Commands.openModel, async (arg?: unknown) => {
      const uri = modelArg(arg) ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Model (safetensors)': ['safetensors'] }, openLabel: 'Open Model' }))?.[0];
      if (!uri) return undefined;
      const entry = await store.entry(uri);
      if (!entry.summary) {
        void showError(`cannot use ${baseName(uri)}: ${entry.error}`);
        return undefined;
      }
      await store.addOpened(uri);
      await showModel(uri);
      return uri;
    }),

    vscode.commands.registerCommand(Commands.showModel, async (arg?: unknown) => {
      const uri = await pickModel(arg);
      if (uri) await showModel(uri);
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

    vscode.commands.registerCommand(Commands.revealModel, async (arg?: unknown) => {
      const uri = modelArg(arg);
      if (!uri) return;
      await vscode.commands.executeCommand('revealInExplorer', uri);
    }),
  ];
}
