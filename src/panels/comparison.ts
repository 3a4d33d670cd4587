import * as vscode from 'vscode';
import { readSourceText, TEXT_FILTERS } from '../host/input';
import type { TextJoin, TrainingSource } from '../engine/modelfile';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../engine/trainer';
import type { CellType } from '../engine/types';
import type { EngineClient } from '../host/engineClient';
import {
  comparisonName, keptComparisonMismatch, resolveTrainingText, sha256HexYielding, vocabularyDifference, type TextResolution,
} from '../models/provenance';
import type { CompareData, PanelStatus } from '../protocol/webview';
import type { ModelSummary } from '../protocol/worker';
import type { RunOutcome, TrainRequest } from '../host/training';
import { prepareTraceText, rnnComparisonOptions } from './traceInput';
import { baseName } from '../protocol/names';

/**
 * "Compare with RNN": a network without the model's gates (a tanh RNN, or a GRU for an LSTM), trained like the
 * model — the same size, seed and steps, on the model's own training text, found again from the sources its
 * metadata records and checked against the recorded SHA-256 — then traced on the inspected text so that its
 * gradients can be laid over the model's. The run goes through the window's one training lifecycle (cancellable
 * notification, the panel's live dashboard); the finished comparison is kept beside the model as
 * `<stem>.compare-<cell>.safetensors` and reused while it still matches the model and its text.
 */

/** What the comparison needs from the inspector panel that runs it. */
export interface ComparisonHost {
  readonly engine: EngineClient;
  readonly output: vscode.OutputChannel;
  readonly model: vscode.Uri;
  readonly modelBytes: Uint8Array;
  readonly summary: ModelSummary;
  /** The inspected document, and the text of its trace (the comparison is traced on the same characters). */
  readonly document: vscode.Uri;
  readonly tracedText: string;
  readModel(uri: vscode.Uri): Promise<Uint8Array>;
  /** Starts a run in the window's training lifecycle; null when it did not start (the user kept another run). */
  train(req: TrainRequest): Promise<RunOutcome | null>;
  setStatus(status: PanelStatus | null): void;
  /** A comparison run started: show its dashboard, route the panel's cancel button to it. */
  runStarted(runId: number, title: string): void;
  /** The comparison run ended (any way): the panel goes back to how it was. */
  runEnded(): void;
  /** The comparison to show, with its model's bytes. */
  compared(compare: CompareData, model: Uint8Array): void;
}

/** One choice in the picker. */
export interface ComparisonItem extends vscode.QuickPickItem {
  readonly choice: { readonly kind: 'train' | 'kept'; readonly cell: CellType } | { readonly kind: 'load' };
}

/** The questions the comparison asks; tests answer them in place of the quick pick and dialogs. */
export interface ComparisonUi {
  pick(items: readonly ComparisonItem[], title: string): Promise<ComparisonItem | undefined>;
  /** The training text is not at hand (`message` says why): pick it, train on the inspected text instead, or give up. */
  textMissing(message: string, inspected: string): Promise<'pick' | 'inspected' | undefined>;
  pickText(): Promise<vscode.Uri | undefined>;
  pickModel(): Promise<vscode.Uri | undefined>;
}

/** What a comparison did, for tests. */
export interface ComparisonOutcome {
  readonly how: 'trained' | 'kept' | 'loaded';
  readonly cell: CellType;
  readonly label: string;
  readonly likeForLike: boolean;
  /** Where the comparison is kept (null for a loaded model, or when it could not be written). */
  readonly kept: string | null;
}

const CELL_NAMES: Record<CellType, string> = { rnn_tanh: 'vanilla RNN', rnn_relu: 'vanilla RNN (ReLU)', gru: 'GRU', lstm: 'LSTM' };

/** The comparisons offered for a model of `cell`: networks with fewer gates than it. */
export function comparisonCells(cell: CellType): CellType[] {
  return cell === 'lstm' ? ['rnn_tanh', 'gru'] : cell === 'gru' ? ['rnn_tanh'] : [];
}


export const vscodeComparisonUi: ComparisonUi = {
  pick: async (items, title) => vscode.window.showQuickPick(items, { title }),
  async textMissing(message, inspected) {
    const pick = 'Pick the Training Text…';
    const here = `Train on ${inspected}`;
    const choice = await vscode.window.showWarningMessage(message, {
      modal: true, detail: `Pick the training text, or train the comparison on ${inspected} instead — the comparison is then not like for like.`,
    }, pick, here);
    return choice === pick ? 'pick' : choice === here ? 'inspected' : undefined;
  },
  pickText: async () => (await vscode.window.showOpenDialog({ canSelectMany: false, filters: TEXT_FILTERS, openLabel: 'Train the Comparison on It', title: 'Gatescope: the model\'s training text' }))?.[0],
  pickModel: async () => (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Model (safetensors)': ['safetensors'] }, openLabel: 'Compare' }))?.[0],
};

/** Asks which comparison, then trains, reuses or loads it and shows it. Resolves with what happened, or null when nothing changed. */
export async function runComparison(host: ComparisonHost, ui: ComparisonUi = vscodeComparisonUi): Promise<ComparisonOutcome | null> {
  const { engine, summary, model } = host;
  const cells = comparisonCells(summary.config.cell);
  if (!cells.length) return null;
  host.setStatus({ kind: 'busy', message: 'Looking for the model\'s training text and kept comparisons…' });
  let resolution: TextResolution, modelHash: string, kept: Map<CellType, Uint8Array>;
  try {
    modelHash = await sha256HexYielding(host.modelBytes);
    resolution = await resolveTrainingText(summary.info, model.toString(), readSourceText, baseName);
    kept = new Map();
    for (const cell of cells) {
      const bytes = await keptComparison(host, cell, modelHash);
      if (bytes) kept.set(cell, bytes);
    }
  } finally {
    host.setStatus(null);
  }

  const items: ComparisonItem[] = cells.map((cell) => {
    const o = rnnComparisonOptions(summary, DEFAULT_TRAIN_OPTIONS, cell);
    const size = `${CELL_NAMES[cell]} ${o.layers}×${o.hidden}, ${o.steps.toLocaleString('en-US')} steps, seed ${o.seed}`;
    if (kept.has(cell)) {
      return { label: `$(history) Compare with ${cell === 'gru' ? 'GRU' : 'RNN'}`, description: `${size}: kept from before, opens at once`,
        detail: `Trained earlier for this model on ${resolution.ok ? resolution.sources : 'the text it records'}.`, choice: { kind: 'kept', cell } };
    }
    return {
      label: `$(debug-start) Compare with ${cell === 'gru' ? 'GRU' : 'RNN'}`,
      description: `train a ${size} on ${resolution.ok ? `${resolution.sources}, the model's training text` : 'a text you pick'}`,
      detail: resolution.ok
        ? `Same size, seed, step count and text as this model, with ${cell === 'gru' ? 'the GRU\'s two gates' : 'tanh units instead of gates'}.`
        : `${resolution.message} You pick the text next.`,
      choice: { kind: 'train', cell },
    };
  });
  items.push({ label: '$(folder-opened) Load a model…', description: 'a .safetensors file', detail: 'Overlay the gradients of a model trained before (same vocabulary).', choice: { kind: 'load' } });
  const pick = await ui.pick(items, 'Gatescope: Compare with RNN');
  if (!pick) return null;
  const c = pick.choice;
  try {
    if (c.kind === 'load') return await loadComparison(host, ui);
    if (c.kind === 'kept') {
      const bytes = kept.get(c.cell)!;
      const s = await engine.describe(bytes);
      const label = labelOf(c.cell, s, resolution.ok ? resolution.sources : s.info.source ?? 'its text', s.info.comparisonOf?.likeForLike ?? false, true);
      await show(host, bytes, label);
      return { how: 'kept', cell: c.cell, label, likeForLike: s.info.comparisonOf?.likeForLike ?? false, kept: comparisonUri(model, c.cell).toString() };
    }
    return await trainComparison(host, ui, c.cell, modelHash, resolution);
  } catch (e) {
    host.setStatus({ kind: 'error', message: `The comparison failed: ${(e as Error).message}` });
    return null;
  }
}

export function comparisonUri(model: vscode.Uri, cell: CellType): vscode.Uri {
  return model.with({ path: comparisonName(model.path, cell) });
}

/** The kept comparison's bytes when it still stands for the model (and its text); null otherwise (the reason goes to the log). */
async function keptComparison(host: ComparisonHost, cell: CellType, modelHash: string): Promise<Uint8Array | null> {
  const uri = comparisonUri(host.model, cell);
  let bytes: Uint8Array;
  try {
    bytes = await host.readModel(uri);
  } catch {
    return null; // none kept
  }
  try {
    const s = await host.engine.describe(bytes);
    // a model without a recorded text: a comparison made for this very model file stands (its label says what it was trained on)
    const textHash = host.summary.info.textHash ?? null;
    const why = keptComparisonMismatch({ cell: s.config.cell, vocab: s.vocab, info: s.info }, { cell, modelHash, vocab: host.summary.vocab, textHash });
    if (why === null) return bytes;
    host.output.appendLine(`[inspector] not reusing ${baseName(uri.toString())}: ${why}`);
  } catch (e) {
    host.output.appendLine(`[inspector] not reusing ${baseName(uri.toString())}: ${(e as Error).message}`);
  }
  return null;
}

/** The text to train on: the model's verified training text, or (asked, with the reason) one the user picks or the inspected file. */
async function comparisonText(host: ComparisonHost, ui: ComparisonUi, resolution: TextResolution):
  Promise<{ text: string; what: string; sources: TrainingSource[]; join: TextJoin; textHash: string; likeForLike: boolean } | null> {
  const recorded = host.summary.info;
  if (resolution.ok) return { text: resolution.text, what: resolution.sources, sources: recorded.sources!, join: recorded.join!, textHash: recorded.textHash!, likeForLike: true };
  const inspected = baseName(host.document.toString());
  const answer = await ui.textMissing(`${resolution.message} Pick the training text, or train the comparison on ${inspected} instead — the comparison is then not like for like.`, inspected);
  if (!answer) return null;
  const uri = answer === 'pick' ? await ui.pickText() : host.document;
  if (!uri) return null;
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  const text = open ? open.getText() : await readSourceText(uri.toString(), undefined);
  const textHash = await sha256HexYielding(text);
  return { text, what: baseName(uri.toString()), sources: [{ uri: uri.toString() }], join: 'newline-between', textHash, likeForLike: textHash === recorded.textHash };
}

async function trainComparison(host: ComparisonHost, ui: ComparisonUi, cell: CellType, modelHash: string, resolution: TextResolution): Promise<ComparisonOutcome | null> {
  const got = await comparisonText(host, ui, resolution);
  if (!got) return null;
  const vocab = host.summary.vocab;
  // the comparison shares the model's vocabulary: a picked text's other characters become the stand-in the trace uses
  const input = prepareTraceText(got.text, null, vocab, Number.MAX_SAFE_INTEGER);
  const options: TrainOptions = rnnComparisonOptions(host.summary, DEFAULT_TRAIN_OPTIONS, cell);
  const target = comparisonUri(host.model, cell);
  const title = `${CELL_NAMES[cell]} comparison of ${baseName(host.model.toString())} on ${got.what}`;
  host.setStatus({ kind: 'busy', message: `Training a ${CELL_NAMES[cell]} ${options.layers}×${options.hidden} on ${got.what} for comparison (the Training tab shows it)…`, action: 'cancelCompare' });
  let started = false;
  let outcome: RunOutcome | null;
  try {
    outcome = await host.train({
      text: input.text, source: `${got.what} (${CELL_NAMES[cell]} comparison)`, options, origin: { sources: got.sources, join: got.join },
      comparison: {
        target, vocab, of: { modelHash, textHash: got.textHash, likeForLike: got.likeForLike },
        started: (runId) => { started = true; host.runStarted(runId, title); },
      },
    });
  } finally {
    if (started) host.runEnded();
    host.setStatus(null);
  }
  if (!outcome || outcome.reason === 'cancelled') return null;
  if (outcome.reason === 'error' || !outcome.bytes) throw new Error(outcome.error ?? 'the comparison did not train');
  const s = await host.engine.describe(outcome.bytes);
  const label = labelOf(cell, s, got.what, got.likeForLike, false) + (input.notices.length ? ' (characters outside the model\'s vocabulary replaced)' : '');
  await show(host, outcome.bytes, label);
  return { how: 'trained', cell, label, likeForLike: got.likeForLike, kept: outcome.model?.toString() ?? null };
}

async function loadComparison(host: ComparisonHost, ui: ComparisonUi): Promise<ComparisonOutcome | null> {
  const uri = await ui.pickModel();
  if (!uri) return null;
  const bytes = await host.readModel(uri);
  const s = await host.engine.describe(bytes);
  const name = baseName(uri.toString());
  const differs = vocabularyDifference(host.summary.vocab, s.vocab, name);
  if (differs) throw new Error(differs);
  const label = `${name} (${s.config.cell} ${s.config.layers}×${s.config.hidden})`;
  await show(host, bytes, label);
  return { how: 'loaded', cell: s.config.cell, label, likeForLike: !!s.info.textHash && s.info.textHash === host.summary.info.textHash, kept: null };
}

function labelOf(cell: CellType, s: ModelSummary, what: string, likeForLike: boolean, kept: boolean): string {
  const c = s.config;
  return `${CELL_NAMES[cell]} ${c.layers}×${c.hidden}, ${(s.info.steps ?? 0).toLocaleString('en-US')} steps, trained on ${what}` +
    `${likeForLike ? '' : ' — not the model\'s training text, not like for like'}${kept ? ' (kept)' : ''}`;
}

/** Traces the comparison on the inspected characters and hands it to the panel. */
async function show(host: ComparisonHost, bytes: Uint8Array, label: string): Promise<void> {
  host.setStatus({ kind: 'busy', message: 'Tracing the comparison on the same text…' });
  try {
    const rt = await host.engine.trace(bytes, host.tracedText);
    host.compared({ label, loss: rt.loss, layers: rt.layers.map((l) => ({ gradH: l.gradH, gradC: l.gradC })) }, bytes);
  } finally {
    host.setStatus(null);
  }
}
