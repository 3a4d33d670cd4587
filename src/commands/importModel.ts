import * as vscode from 'vscode';
import type { CellType } from '../engine/types';
import type { EngineClient } from '../host/engineClient';
import { showError, showInfo } from '../host/notify';
import { RemoteError } from '../protocol/messenger';
import { baseName } from '../protocol/names';
import type { ModelStore } from '../models/modelStore';

/** What Open Model… takes from a script or test instead of asking: the model, its vocabulary file, the cell. */
export interface ImportArgs {
  readonly model: vscode.Uri;
  readonly vocab?: vscode.Uri;
  readonly cell?: CellType;
  /** The recurrent module to import where the file has several (else the user is asked). */
  readonly module?: string;
}

/** Files Open Model… makes Gatescope models of: PyTorch's torch.save (any extension users give them). */
export const TORCH_EXTENSIONS = ['pt', 'pth', 'bin', 'ckpt'];

export function isTorchFile(uri: vscode.Uri): boolean {
  return TORCH_EXTENSIONS.includes(uri.path.split('.').pop()?.toLowerCase() ?? '');
}

/**
 * Makes a PyTorch model a Gatescope model in the models folder (the worker reads and maps it; nothing in the
 * file runs): asks for the vocabulary when the file has none, says what became what in the output channel, and
 * returns the new model's URI (undefined when the user gave up, after saying why when it failed).
 */
export async function importForeignModel(args: ImportArgs, engine: EngineClient, store: ModelStore, output: vscode.OutputChannel): Promise<vscode.Uri | undefined> {
  const name = baseName(args.model);
  const bytes = await store.read(args.model);
  let vocabUri = args.vocab;
  for (;;) {
    const vocab = vocabUri ? { text: new TextDecoder().decode(await vscode.workspace.fs.readFile(vocabUri)), fileName: baseName(vocabUri) } : null;
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Importing ${name}…` },
        () => engine.importModel(bytes, name, vocab, args.cell ?? null, args.module ?? null));
      const c = r.config;
      const target = await store.freshUri(`${name.replace(/\.[^.]*$/, '')}-imported`, c.cell, c.layers, c.hidden);
      await store.write(target, r.bytes);
      output.appendLine(`[import] ${args.model.toString()} (${r.format}) → ${target.toString()}: ${c.cell}, ${c.layers} × ${c.hidden}, embedding ${c.embed}, vocabulary ${c.vocabSize}`);
      for (const m of r.mapping) output.appendLine(`[import]   ${m.to} ← ${m.from}`);
      for (const n of r.notes) output.appendLine(`[import]   note: ${n}`);
      const notes = r.notes.length ? ` ${r.notes.length} note${r.notes.length > 1 ? 's' : ''} in the Gatescope output (e.g. ${r.notes[0]}).` : '';
      void showInfo(`Imported ${name} as ${baseName(target)}: ${c.cell}, ${c.layers} layer${c.layers > 1 ? 's' : ''} × ${c.hidden}, vocabulary ${c.vocabSize}.${notes}`);
      return target;
    } catch (e) {
      const code = e instanceof RemoteError ? e.wire.code : undefined;
      if (code === 'choose-module' && args.module === undefined) {
        const modules = await engine.recurrentModules(bytes);
        const pick = await vscode.window.showQuickPick(modules.map((m) => ({ label: m.name || '(top level)', description: m.detail, name: m.name })),
          { title: `${name} has ${modules.length} recurrent modules: which one is the language model's?` });
        if (!pick) return undefined;
        args = { ...args, module: pick.name };
        continue;
      }
      if (code !== 'needs-vocabulary' || args.vocab) {
        void showError(`could not import ${name}: ${(e as Error).message}`);
        return undefined;
      }
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false, openLabel: 'Use This Vocabulary', title: `${name} has no vocabulary: choose the file that lists its tokens`,
        filters: { 'Vocabulary (JSON list or object, or one token per line)': ['json', 'txt', 'vocab'], 'All files': ['*'] },
      });
      if (!picked?.[0]) return undefined;
      vocabUri = picked[0];
      args = { ...args, vocab: vocabUri };
    }
  }
}
