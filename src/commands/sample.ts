import * as vscode from 'vscode';
import type { EngineClient } from '../host/engineClient';
import { DEFAULT_SAMPLE_OPTIONS } from '../engine/sample';
import type { ModelStore } from '../models/modelStore';
import { config } from '../host/config';
import { Commands } from '../host/ids';
import { showUserError } from '../host/notify';
import type { PickModel } from './train';
import { baseName } from '../protocol/names';
import { parseLength, parseTemperature } from './sampleInput';

let nextSampleId = 1;

/** The last temperature and length the user sampled with (proposed the next time). */
const LAST_KEY = 'gatescope.sample.last';

/**
 * Asks the temperature and the length (the last ones used proposed, else the settings'), unless the caller gave
 * them; remembers the answers. Undefined when the user cancels.
 */
async function askSettings(model: vscode.Uri, state: vscode.Memento, given?: { length?: number; temperature?: number }):
  Promise<{ temperature: number; length: number } | undefined> {
  const last = state.get<{ temperature: number; length: number }>(LAST_KEY) ?? { temperature: config.sampleTemperature(), length: config.sampleLength() };
  let temperature = given?.temperature;
  if (temperature === undefined) {
    const t = await vscode.window.showInputBox({
      title: `Sample from ${baseName(model)}: temperature`, value: String(last.temperature),
      prompt: 'Temperature divides the logits before the softmax: 1 samples the model\'s own distribution, 0.5 sharpens it, 2 flattens it',
      validateInput: (v) => { const r = parseTemperature(v); return typeof r === 'string' ? r : null; },
    });
    if (t === undefined) return undefined;
    temperature = parseTemperature(t) as number;
  }
  let length = given?.length;
  if (length === undefined) {
    const n = await vscode.window.showInputBox({
      title: `Sample from ${baseName(model)}: length`, value: String(last.length), prompt: 'How many characters to generate (you can stop it sooner)',
      validateInput: (v) => { const r = parseLength(v); return typeof r === 'string' ? r : null; },
    });
    if (n === undefined) return undefined;
    length = parseLength(n) as number;
  }
  if (given?.temperature === undefined || given?.length === undefined) await state.update(LAST_KEY, { temperature, length });
  return { temperature, length };
}

/** "Sample from Model": streams generated text into a new untitled editor, cancellable from a notification. */
export function registerSampleCommand(engine: EngineClient, store: ModelStore, pickModel: PickModel, state: vscode.Memento): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.sample, async (arg?: unknown, opts?: { prime?: string; length?: number; temperature?: number; seed?: number }) => {
    const model = await pickModel(arg);
    if (!model) return undefined;
    const prime = opts?.prime ?? await vscode.window.showInputBox({
      title: `Sample from ${baseName(model)}`, prompt: 'Text to start from (optional), then Enter', placeHolder: 'e.g. The ',
    });
    if (prime === undefined) return undefined;
    const asked = await askSettings(model, state, opts);
    if (!asked) return undefined;
    const { temperature, length } = asked;
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
