import * as vscode from 'vscode';
import type { EngineClient } from '../host/engineClient';
import { DEFAULT_SAMPLE_OPTIONS } from '../engine/sample';
import type { ModelStore } from '../models/modelStore';
import { Commands } from '../host/ids';
import { showUserError } from '../host/notify';
import type { PickModel } from './train';
import { baseName } from '../protocol/names';

let nextSampleId = 1;

/** "Sample from Model": streams generated text into a new untitled editor, cancellable from a notification. */
export function registerSampleCommand(engine: EngineClient, store: ModelStore, pickModel: PickModel): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.sample, async (arg?: unknown, opts?: { prime?: string; length?: number; temperature?: number; seed?: number }) => {
    const model = await pickModel(arg);
    if (!model) return undefined;
    const prime = opts?.prime ?? await vscode.window.showInputBox({
      title: `Sample from ${baseName(model)}`, prompt: 'Text to start from (optional), then Enter', placeHolder: 'e.g. The ',
    });
    if (prime === undefined) return undefined;
    const temperature = opts?.temperature ?? 0.8;
    const length = opts?.length ?? 2000;
    const doc = await vscode.workspace.openTextDocument({ content: prime, language: 'plaintext' });
    const editor = await vscode.window.showTextDocument(doc, { preview: false });
    const sampleId = nextSampleId++;
    const bytes = await store.read(model);
    let pending = Promise.resolve();
    // the text streams into the editor as it is sampled, edit after edit
    const append = (chunk: string): void => {
      pending = pending.then(async () => {
        await editor.edit((e) => e.insert(doc.positionAt(doc.getText().length), chunk), { undoStopBefore: false, undoStopAfter: false });
      });
    };
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Sampling from ${baseName(model)} (temperature ${temperature})`, cancellable: true },
        async (_p, token) => {
          token.onCancellationRequested(() => { void engine.cancelSample(sampleId); });
          const text = await engine.sample(sampleId, bytes, { ...DEFAULT_SAMPLE_OPTIONS, prime, length, temperature }, opts?.seed ?? Date.now() % 2 ** 32, append);
          await pending;
          return prime + text;
        });
    } catch (e) {
      return showUserError(e);
    }
  });
}
