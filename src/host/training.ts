import * as vscode from 'vscode';
import { showError, showInfo, showWarning } from './notify';
import { Commands, ContextKeys } from './ids';
import type { Checkpoint, EngineClient, RunEnd, WorkerCrashedError } from './engineClient';
import type { ComparisonOf, ModelInfo, TextJoin, TrainingSource } from '../engine/modelfile';
import { estimateRun } from '../engine/limits';
import { availableCores } from '../engine/parallel/nodeThreads';
import { resolveWorkers, resumeWorkers } from '../engine/parallel/workers';
import type { TrainOptions } from '../engine/trainer';
import type { ModelStore } from '../models/modelStore';
import { provenanceOf, resumeProvenance, type Provenance } from '../models/provenance';
import { RemoteError } from '../protocol/messenger';
import type { TrainProgress } from '../protocol/worker';
import { config } from './config';

/** Cores that `workers: auto` leaves to the editor (its extension host, renderer and language servers). */
const EDITOR_CORES = 1;

export interface TrainRequest {
  readonly text: string;
  /** What the text is, for names and messages: a file name, "x.ts (selection)", "workspace (12 files)". */
  readonly source: string;
  readonly options: TrainOptions;
  /** What was sized to the text (steps, hidden units) and why, when the user left them at their defaults. */
  readonly sized?: string;
  /** Continue this model instead of starting a fresh one; its file is updated in place. */
  readonly resume?: { readonly uri: vscode.Uri; readonly bytes: Uint8Array };
  /** Where the text came from: recorded in the model with the text's SHA-256, so that the text can be found again. */
  readonly origin?: { readonly sources: TrainingSource[]; readonly join: TextJoin };
  /** Train a comparison model for the inspector instead of a model of the user's own (see ComparisonRun). */
  readonly comparison?: ComparisonRun;
}

/**
 * A comparison model's run: written to `target` only when it completes (a cancelled or failed one leaves nothing
 * behind), with `of` in its metadata and the compared model's vocabulary; no "Inspect / Sample" message at the
 * end (the inspector that asked shows it), and it does not become the last model.
 */
export interface ComparisonRun {
  readonly target: vscode.Uri;
  readonly of: ComparisonOf;
  readonly vocab: readonly string[];
  /** The run has started (the inspector attaches its dashboard and its cancel button to it). */
  started(runId: number): void;
}

/** What happened to a run, for the caller (commands and tests). */
export interface RunOutcome {
  readonly reason: 'done' | 'cancelled' | 'error';
  readonly model: vscode.Uri | null;
  readonly progress: TrainProgress | null;
  readonly error?: string;
  /** A completed comparison run's model (also written to its target when the folder is writable). */
  readonly bytes?: Uint8Array;
}

interface ActiveRun {
  readonly runId: number;
  readonly target: vscode.Uri;
  readonly source: string;
  readonly comparison: ComparisonRun | null;
  /** A comparison run's final checkpoint, held until the run turns out to have completed. */
  finalBytes: Uint8Array | null;
  progress: TrainProgress | null;
  /** Checkpoint writes, chained so that a final checkpoint is never overtaken by an earlier one. */
  writes: Promise<void>;
  wroteAny: boolean;
  /** The file the run trained on, when it was one (a file or a selection of one): what Inspect opens. */
  readonly text: vscode.Uri | null;
  /** The best-validation checkpoint so far (not written unless the user keeps it). */
  best: { step: number; bytes: Uint8Array } | null;
  /** The user was told the validation loss turned up; and chose to stop and keep the best model. */
  toldOverfit: boolean;
  keepBest: boolean;
  finish(o: RunOutcome): void;
  reportProgress(p: TrainProgress): void;
}

export interface FinishedActions {
  /** The inspector on the model and `text` (the run's training file), else the active editor's text. */
  inspect(model: vscode.Uri, text?: vscode.Uri): void;
  /** The live training dashboard of a run. */
  watch(runId: number, model: vscode.Uri, compareWith?: number, title?: string): void;
  sample(model: vscode.Uri): void;
  stepThrough(model: vscode.Uri): void;
}

/**
 * Runs at most one training run per window in the engine worker, and shows it: a cancellable progress
 * notification, a status bar item, lines in the "Gatescope" output channel, and a message with actions when
 * it ends. Checkpoints arrive as bytes and are written atomically, so the last one survives a closed window.
 */
export class TrainingController implements vscode.Disposable {
  private active: ActiveRun | null = null;
  private readonly status: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly progressed = new vscode.EventEmitter<{ runId: number; progress: TrainProgress; model: vscode.Uri }>();
  /** Fires a few times a second while a run trains (the inspector's live dashboard listens). */
  readonly onDidProgress = this.progressed.event;
  private readonly started = new vscode.EventEmitter<{ runId: number; model: vscode.Uri }>();
  readonly onDidStart = this.started.event;
  lastModel: vscode.Uri | null = null;
  /** The text the last model trained on, when it was one file: Show Model opens the inspector on it. */
  lastText: vscode.Uri | null = null;

  constructor(
    private readonly engine: EngineClient,
    private readonly store: ModelStore,
    private readonly output: vscode.OutputChannel,
    private readonly actions: FinishedActions,
  ) {
    this.status = vscode.window.createStatusBarItem('gatescope.status', vscode.StatusBarAlignment.Left, 50);
    this.status.name = 'Gatescope';
    this.disposables.push(this.status, this.progressed, this.started,
      engine.onCrash((e) => this.onCrash(e)));
  }

  get running(): boolean {
    return this.active !== null;
  }

  get activeRunId(): number | null {
    return this.active?.runId ?? null;
  }

  /**
   * Starts a run (asking first whether to stop one that is running). Resolves when the run ends, or with
   * null when the user declined or it could not start (the reason has been shown).
   */
  async start(req: TrainRequest): Promise<RunOutcome | null> {
    if (this.active) {
      const stop = 'Stop and Start New';
      const choice = await vscode.window.showWarningMessage(`Gatescope is already training on ${this.active.source}. Stop that run and start a new one?`, { modal: true }, stop);
      if (choice !== stop) return null;
      await this.stop();
    }
    const o = req.options;
    if (!req.resume) {
      // before anything is allocated: a model whose step takes minutes (or that needs gigabytes) asks first; the
      // vocabulary is left out of the estimate (counting it would read the whole text on this thread)
      const warning = estimateRun({ ...o, vocabSize: 0 }, o.seq, o.batch).warning;
      const go = 'Train Anyway';
      if (warning && await vscode.window.showWarningMessage(`Gatescope: ${warning}.`, { modal: true }, go) !== go) return null;
    }
    const target = req.comparison?.target ?? req.resume?.uri ?? await this.store.freshUri(req.source, o.cell, o.layers, o.hidden);
    const runId = this.engine.newRunId();
    let finish!: (o: RunOutcome) => void;
    const outcome = new Promise<RunOutcome>((r) => { finish = r; });
    let reportProgress: (p: TrainProgress) => void = () => undefined;
    const run: ActiveRun = {
      runId, target, source: req.source, comparison: req.comparison ?? null, finalBytes: null, progress: null, writes: Promise.resolve(), wroteAny: false,
      best: null, toldOverfit: false, keepBest: false, text: textOf(req),
      finish: (x) => finish(x), reportProgress: (p) => reportProgress(p),
    };
    this.active = run;
    void vscode.commands.executeCommand('setContext', ContextKeys.training, true);
    let totalSteps = o.steps;
    const warnings: string[] = [];
    const asked = config.workers(), cores = availableCores();
    let workers = resolveWorkers(asked, cores, o.batch, EDITOR_CORES);
    let told: { note: string | null; warning: string | null } = { note: null, warning: null };
    try {
      let provenance: Provenance | undefined = req.origin ? await provenanceOf(req.text, req.origin.sources, req.origin.join) : undefined;
      if (req.resume) {
        const before = await this.engine.describe(req.resume.bytes);
        // `steps` more than the model has: a resumed run counts on from where it stopped
        totalSteps += before.resumableFrom ?? before.info.steps ?? 0;
        if (provenance) {
          const kept = resumeProvenance(before.info, provenance, (u) => vscode.Uri.parse(u).path.split('/').pop() ?? u);
          provenance = kept.provenance;
          if (kept.warning) warnings.push(kept.warning);
        }
        // a model without a training state starts its optimiser afresh: there is no run to continue exactly
        if (before.trainOptions) ({ workers, ...told } = resumeWorkers(asked, before.trainOptions.workers, cores, o.batch, EDITOR_CORES));
      }
      const info: ModelInfo = { ...provenance, ...(req.comparison ? { comparisonOf: req.comparison.of } : {}) };
      const handle = this.engine.train({
        runId, text: req.text, source: req.source, options: o, resume: req.resume?.bytes ?? null, info, vocab: req.comparison?.vocab,
        evalEvery: config.evalEvery(), checkpointEvery: req.comparison ? 0 : config.checkpointEvery(), totalSteps, workers, workersAuto: asked === 'auto',
      });
      handle.onProgress((p) => this.progressOf(run, p));
      handle.onCheckpoint((c) => this.checkpointOf(run, c));
      const s = await handle.started;
      void handle.finished.then((end) => this.finishOf(run, end));
      const c = s.config;
      this.log(`training ${c.cell} ${c.layers}×${c.hidden} (embed ${c.embed}, vocab ${c.vocabSize}, ${s.parameters.toLocaleString('en-US')} parameters) ` +
        `on ${req.source}: ${s.characters.toLocaleString('en-US')} characters, ${s.heldOut.toLocaleString('en-US')} held out; seq ${s.seq} × batch ${s.batch}; ` +
        `${workers} worker${workers === 1 ? '' : 's'}${asked === 'auto' ? ` (auto, of ${cores} core${cores === 1 ? '' : 's'})` : ''}; ` +
        `steps ${s.startStep} → ${totalSteps}; saving to ${target.fsPath || target.toString()}`);
      if (req.sized) this.log(`sized to the text: ${req.sized}`);
      // the worker count's consequences go to the log only: the user chose the setting, the model cannot change
      if (told.note) this.log(`note: ${told.note}`);
      if (told.warning) this.log(`warning: ${told.warning}`);
      for (const w of [...warnings, ...s.warnings]) {
        this.log(`warning: ${w}`);
        void showWarning(w);
      }
    } catch (e) {
      this.active = null;
      void vscode.commands.executeCommand('setContext', ContextKeys.training, false);
      this.showError(e);
      return null;
    }
    this.started.fire({ runId, model: target });
    req.comparison?.started(runId);
    this.updateStatus();
    void vscode.window.withProgress({
      location: vscode.ProgressLocation.Notification, title: `Training on ${req.source}`, cancellable: true,
    }, async (progress, token) => {
      token.onCancellationRequested(() => { void this.engine.cancel(runId); }); // the run's own cancel, by id
      let reported = 0;
      reportProgress = (p): void => {
        const pct = (100 * p.step) / Math.max(1, p.totalSteps);
        progress.report({ increment: pct - reported, message: formatProgress(p) });
        reported = pct;
      };
      await outcome;
    });
    return outcome;
  }

  /** Opens the live dashboard of the running run; with `compareWith`, that run's gradient norm drawn beside. */
  watch(compareWith?: number): void {
    if (this.active) this.actions.watch(this.active.runId, this.active.target, compareWith, `Training on ${this.active.source}`);
  }

  /** Stops the running run (it keeps its last checkpoint) and waits until it has ended. */
  async stop(): Promise<void> {
    const run = this.active;
    if (!run) return;
    const ended = new Promise<void>((r) => {
      const sub = this.onDidEnd((id) => { if (id === run.runId) { sub.dispose(); r(); } });
    });
    await this.engine.cancel(run.runId).catch(() => undefined);
    await ended;
  }

  private readonly ended = new vscode.EventEmitter<number>();
  /** Fires when a run has ended (done, stopped, failed), with its id, after its last write. */
  readonly onDidEnd = this.ended.event;

  private progressOf(run: ActiveRun, p: TrainProgress): void {
    run.progress = p;
    run.reportProgress(p);
    this.progressed.fire({ runId: run.runId, progress: p, model: run.target });
    this.updateStatus();
    // still overfitting (no new best since it was said): tell once
    if (p.overfitSince != null && p.bestVal && p.overfitSince > p.bestVal.step && !run.toldOverfit && !run.comparison) {
      run.toldOverfit = true;
      this.warnOverfitting(run, p, p.bestVal);
    }
  }

  /**
   * The validation loss has turned up while the training loss goes on falling: the model memorises the text. Says
   * so with the numbers, and offers to stop keeping the best-validation model, to stop, or to go on.
   */
  private warnOverfitting(run: ActiveRun, p: TrainProgress, best: { step: number; loss: number }): void {
    const message = `validation loss is rising: ${fmt(p.valLoss ?? NaN)} at step ${p.step} against ${fmt(best.loss)} at step ${best.step}, ` +
      `while the training loss is ${fmt(p.loss)}. The model is memorising ${run.source} rather than learning what generalises.`;
    this.log(`warning: ${message}`);
    const keep = `Stop and Keep Step ${best.step}`, stop = 'Stop Now', go = 'Keep Training';
    void showWarning(message, keep, stop, go).then((c) => {
      if (this.active !== run) return;
      if (c === keep) run.keepBest = true;
      if (c === keep || c === stop) void this.engine.cancel(run.runId);
    });
  }

  /** Writes a checkpoint atomically, in order after the ones before (a comparison keeps only its final one, to decide later). */
  private checkpointOf(run: ActiveRun, c: Checkpoint): void {
    if (c.best) {
      run.best = { step: c.step, bytes: c.bytes };
      return;
    }
    // stopped at overfitting, keeping the best model: it replaces the final checkpoint (its training state resumes from there)
    if (c.final && run.keepBest && run.best) {
      const best = run.best;
      this.log(`keeping the best-validation model of step ${best.step} instead of step ${c.step}`);
      c = { ...c, step: best.step, bytes: best.bytes };
    }
    if (run.comparison) {
      if (c.final) run.finalBytes = c.bytes;
      return;
    }
    run.writes = run.writes.then(() => this.store.write(run.target, c.bytes)).then(() => {
      run.wroteAny = true;
      if (c.final) this.log(`saved ${run.target.fsPath || run.target.toString()} (step ${c.step})`);
    }, (e: unknown) => {
      this.log(`could not save the checkpoint of step ${c.step}: ${(e as Error).message}`);
      void showError(`could not save the model to ${run.target.fsPath || run.target.toString()}: ${(e as Error).message}. ` +
        'Check that the folder is writable and the disk has space, or change gatescope.modelsDir.');
    });
  }

  /** The run ended (done, cancelled, an error, or the worker's crash): after its writes, say how. */
  private finishOf(run: ActiveRun, end: RunEnd): void {
    if (run.comparison && end.reason === 'done' && run.finalBytes) this.writeComparison(run, run.finalBytes);
    void run.writes.then(() => this.end(run, {
      reason: end.reason, model: run.wroteAny ? run.target : null, progress: end.progress ?? run.progress,
      error: end.error?.message, bytes: end.reason === 'done' ? run.finalBytes ?? undefined : undefined,
    }, end.error));
  }

  /** Keeps a completed comparison beside its model; a folder that cannot be written only costs the next comparison its head start. */
  private writeComparison(run: ActiveRun, bytes: Uint8Array): void {
    run.writes = run.writes.then(() => this.store.write(run.target, bytes)).then(() => {
      run.wroteAny = true;
      this.log(`kept the comparison model as ${run.target.fsPath || run.target.toString()}`);
    }, (e: unknown) => {
      this.log(`could not keep the comparison model as ${run.target.fsPath || run.target.toString()}: ${(e as Error).message}; it is used, but not kept`);
    });
  }

  /** A crash ends the active run through its handle (finishOf); without one, it is only said. */
  private onCrash(e: WorkerCrashedError): void {
    this.log(e.message);
    if (!this.active) void showError(e.message);
  }

  private end(run: ActiveRun, outcome: RunOutcome, error?: { message: string; user: boolean }): void {
    if (this.active !== run) return;
    this.active = null;
    void vscode.commands.executeCommand('setContext', ContextKeys.training, false);
    if (outcome.model && !run.comparison) {
      this.lastModel = outcome.model;
      this.lastText = run.text;
    }
    const p = outcome.progress;
    const summary = p ? `step ${p.step}, loss ${fmt(p.loss)}${p.valLoss !== null ? `, validation ${fmt(p.valLoss)}` : ''}` : '';
    if (outcome.reason === 'error') {
      this.log(`training stopped: ${error?.message ?? 'unknown error'}`);
      const kept = outcome.model ? ` The last good checkpoint (${summary}) is saved.` : '';
      void showError(`${error?.message ?? 'training failed'}.${kept}`, 'Show Log').then((c) => { if (c) this.output.show(); });
    } else {
      this.log(`${outcome.reason === 'cancelled' ? 'stopped' : 'finished'} at ${summary}`);
      if (outcome.model && !run.comparison) {
        const model = outcome.model;
        const kept = run.keepBest && run.best ? ` It kept the best-validation model, of step ${run.best.step}.` : '';
        void showInfo(
          `Gatescope ${outcome.reason === 'cancelled' ? 'stopped' : 'finished'} training on ${run.source} (${summary}).${kept}`,
          'Inspect', 'Sample', 'Step Through',
        ).then((c) => {
          if (c === 'Inspect') this.actions.inspect(model, run.text ?? undefined);
          else if (c === 'Sample') this.actions.sample(model);
          else if (c === 'Step Through') this.actions.stepThrough(model);
        });
      }
    }
    this.updateStatus(p);
    this.ended.fire(run.runId);
    run.finish(outcome);
  }

  private updateStatus(last?: TrainProgress | null): void {
    const run = this.active;
    if (run) {
      const p = run.progress;
      this.status.text = p ? `$(sync~spin) LSTM ${p.step}/${p.totalSteps} · loss ${fmt(p.loss)}` : '$(sync~spin) LSTM starting…';
      this.status.tooltip = p ? `Gatescope is training on ${run.source}\n${formatProgress(p)}\nClick for the live dashboard` : `Gatescope is training on ${run.source}`;
      this.status.command = { command: Commands.watchTraining, title: 'Show Training Dashboard' };
      this.status.show();
      return;
    }
    if (this.lastModel) {
      const name = this.lastModel.path.split('/').pop()!.replace(/\.safetensors$/, '');
      this.status.text = `$(circuit-board) ${name}${last ? ` · loss ${fmt(last.loss)} · ${Math.round(last.charsPerSec).toLocaleString('en-US')} chars/s` : ''}`;
      this.status.tooltip = 'Gatescope: the last trained model. Click to inspect it.';
      this.status.command = { command: Commands.showModel, title: 'Show Model', arguments: [this.lastModel, this.lastText ?? undefined] };
      this.status.show();
    } else {
      this.status.hide();
    }
  }

  /** Shows an error from the engine: a user error as it is; anything else with a pointer to the log. */
  showError(e: unknown): void {
    const user = e instanceof RemoteError && e.wire.user;
    const message = (e as Error).message;
    this.log(`error: ${message}`);
    if (user) void showError(message);
    else void showError(message, 'Show Log').then((c) => { if (c) this.output.show(); });
  }

  private log(s: string): void {
    this.output.appendLine(`[${new Date().toLocaleTimeString()}] ${s}`);
  }

  dispose(): void {
    if (this.active) void this.engine.cancel(this.active.runId).catch(() => undefined);
    for (const d of this.disposables) d.dispose();
    this.ended.dispose();
  }
}

export function formatProgress(p: TrainProgress): string {
  const eta = Number.isFinite(p.etaSeconds) ? ` · ETA ${formatSeconds(p.etaSeconds)}` : '';
  const val = p.valLoss !== null ? ` · val ${fmt(p.valLoss)}` : '';
  return `step ${p.step}/${p.totalSteps} · loss ${fmt(p.loss)}${val} · ${Math.round(p.charsPerSec).toLocaleString('en-US')} chars/s${eta}`;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : '—';
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** The one file a run trains on (a file, or selections of one), else null (a workspace, a comparison). */
function textOf(req: TrainRequest): vscode.Uri | null {
  const uris = new Set(req.origin?.sources.map((s) => s.uri) ?? []);
  if (req.comparison || uris.size !== 1) return null;
  const u = [...uris][0]!;
  return /^[a-z][\w+.-]+:/i.test(u) ? vscode.Uri.parse(u) : vscode.Uri.file(u);
}
