import * as vscode from 'vscode';
import type { TrainOptions } from '../engine/types';
import { showError, showInfo, showUserError } from '../host/notify';
import { config } from '../host/config';
import type { ModelStore } from '../models/modelStore';
import type { RunOutcome, TrainingController } from '../host/training';
import { Commands } from '../host/ids';
import { readTrainingText, TEXT_FILTERS } from '../host/input';
import { collectWorkspaceText, workspaceQuestion } from './workspaceFiles';
import { baseName } from '../protocol/names';
import { EXPLODE_PRESET } from '../engine/presets';

/** The model a command acts on: its argument (from a menu), or one the user picks. */
export type PickModel = (arg?: unknown) => Promise<vscode.Uri | undefined>;

export function registerTrainCommands(training: TrainingController, store: ModelStore, pickModel: PickModel): vscode.Disposable[] {
  /** A fresh run's options for this text: the settings, steps and size the user left at their defaults sized to it. */
  const sizedFor = (text: string, scope?: vscode.Uri): { options: TrainOptions; sized?: string } => {
    const { options, sized } = config.trainOptionsFor(text.length, scope);
    return sized ? { options, sized } : { options };
  };

  /** The file a command trains on: its argument, else the active editor's; undefined (and said) without either. */
  const trainingTarget = (uri: vscode.Uri | undefined): vscode.Uri | undefined => {
    const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
    if (!target) void showError('open or select a text file to train on.');
    return target;
  };

  const trainUri = async (uri: vscode.Uri | undefined): Promise<RunOutcome | null | undefined> => {
    const target = trainingTarget(uri);
    if (!target) return undefined;
    try {
      const read = await readTrainingText(target);
      if (read === null) return undefined;
      return await training.start({ text: read.text, source: baseName(target), ...sizedFor(read.text, target),
        origin: { sources: [read.source], join: 'newline-between' } });
    } catch (e) {
      return showUserError(e);
    }
  };

  /**
   * "Watch Gradients Explode": the explode preset (engine/presets.ts) on a text, twice — without clipping, then the
   * same run clipped — each with its live dashboard open (both stay, both models are kept), the clipped run's
   * gradient-norm chart drawing the unclipped run's beside its own; the "Which weights learn" card's hints say it.
   * Resolves with both outcomes (tests).
   */
  const watchExplosion = async (uri: vscode.Uri | undefined, steps?: number): Promise<RunOutcome[] | undefined> => {
    const target = trainingTarget(uri);
    if (!target) return undefined;
    try {
      const read = await readTrainingText(target);
      if (read === null) return undefined;
      const p = EXPLODE_PRESET;
      const base: TrainOptions = { ...config.trainOptionsFor(read.text.length, target).options, cell: p.cell, layers: p.layers, hidden: p.hidden, embed: p.embed,
        seq: p.seq, batch: p.batch, lr: p.lr, initScale: p.initScale, steps: steps ?? p.steps };
      const outcomes: RunOutcome[] = [];
      let first: number | undefined;
      for (const [clip, label] of [[0, 'no clipping'], [p.clip, `clipped at ${p.clip}`]] as const) {
        // the run's dashboard as soon as it starts (one run at a time: the second starts when the first ends), the
        // clipped run's with the unclipped run's gradient norm drawn beside its own
        const shown = training.onDidStart(({ runId }) => { shown.dispose(); training.watch(first); first ??= runId; });
        const outcome = await training.start({ text: read.text, source: `${baseName(target)} (explode, ${label})`, options: { ...base, clip },
          origin: { sources: [read.source], join: 'newline-between' } });
        shown.dispose();
        if (!outcome) return outcomes;
        outcomes.push(outcome);
        if (outcome.reason !== 'done') return outcomes;
      }
      return outcomes;
    } catch (e) {
      void showUserError(e);
      return undefined;
    }
  };

  return [
    vscode.commands.registerCommand(Commands.trainFile, (uri?: vscode.Uri) => trainUri(uri)),

    vscode.commands.registerCommand(Commands.trainSelection, async () => {
      const editor = vscode.window.activeTextEditor;
      const selected = editor?.selections.map((s) => editor.document.getText(s)).join('\n') ?? '';
      if (!editor || selected.length === 0) {
        void showError('the selection is empty. Select the text to train on, or use "Train LSTM on File".');
        return undefined;
      }
      const doc = editor.document;
      const sources = editor.selections.map((s) => ({ uri: doc.uri.toString(), range: { start: doc.offsetAt(s.start), end: doc.offsetAt(s.end) } }));
      return training.start({ text: selected, source: `${baseName(doc.uri)} (selection)`, ...sizedFor(selected, doc.uri),
        origin: { sources, join: 'newline-between' } });
    }),

    vscode.commands.registerCommand(Commands.trainWorkspace, async () => {
      try {
        const ws = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Gatescope: collecting workspace text…', cancellable: true },
          (_p, token) => collectWorkspaceText(token));
        const go = 'Train';
        const q = workspaceQuestion(ws, config.workspaceMaxBytes());
        const choice = await vscode.window.showInformationMessage(q.message, { modal: true, detail: q.detail }, go);
        if (choice !== go) return undefined;
        const name = vscode.workspace.name ?? 'workspace';
        return await training.start({ text: ws.text, source: `${name} (${ws.files} files)`, ...sizedFor(ws.text),
          origin: { sources: ws.uris.map((u) => ({ uri: u.toString() })), join: 'newline-after-each' } });
      } catch (e) {
        return showUserError(e);
      }
    }),

    vscode.commands.registerCommand(Commands.watchExplosion, (uri?: vscode.Uri, opts?: { steps?: unknown }) =>
      watchExplosion(uri, typeof opts?.steps === 'number' && Number.isInteger(opts.steps) && opts.steps > 0 ? opts.steps : undefined)),

    vscode.commands.registerCommand(Commands.watchTraining, () => {
      if (training.running) training.watch();
      else void showInfo('Gatescope is not training.');
    }),

    vscode.commands.registerCommand(Commands.stopTraining, async () => {
      if (!training.running) {
        void showInfo('Gatescope is not training.');
        return;
      }
      await training.stop();
    }),

    vscode.commands.registerCommand(Commands.resumeTraining, async (arg?: unknown, textUri?: vscode.Uri) => {
      const model = await pickModel(arg);
      if (!model) return undefined;
      let source = textUri ?? vscode.window.activeTextEditor?.document.uri;
      if (!source || source.path.endsWith('.safetensors')) {
        const picked = await vscode.window.showOpenDialog({ title: 'Resume training on which text?', canSelectMany: false, openLabel: 'Resume Training', filters: TEXT_FILTERS });
        source = picked?.[0];
      }
      if (!source) return undefined;
      try {
        const read = await readTrainingText(source);
        if (read === null) return undefined;
        const bytes = await store.read(model);
        return await training.start({ text: read.text, source: baseName(source), options: config.trainOptions(source), resume: { uri: model, bytes },
          origin: { sources: [read.source], join: 'newline-between' } });
      } catch (e) {
        return showUserError(e);
      }
    }),
  ];
}
