import { Worker } from 'node:worker_threads';
import { Messenger, RemoteError } from '../protocol/messenger';
import type { ReachData } from '../protocol/reach';
import type { UnitsQuery, UnitsView } from '../protocol/units';
import type { TraceData, TraceSegmentData, TraceShape } from '../protocol/trace';
import type { TraceExportFormat } from '../protocol/traceExport';
import type { ImportedModel, ModelSummary, TraceStreamEnd, TrainProgress, TrainStarted, WorkerNotification, WorkerReplies, WorkerRequest } from '../protocol/worker';
import type { CellType } from '../engine/types';

/** The worker died (a crash, an out-of-memory kill, or terminate()); the next request starts a fresh one. */
export class WorkerCrashedError extends Error {
  constructor(detail: string) {
    super(`the Gatescope engine stopped unexpectedly (${detail}); the next command starts it again`);
    this.name = 'WorkerCrashedError';
  }
}

interface Disposable { dispose(): void }

/** What a streamed trace's caller hears before the reply: its shape, then its segments in order. */
export interface TraceStreamListener {
  start(shape: TraceShape, segments: number): void;
  segment(segment: TraceSegmentData): void;
}

/** A checkpoint of a run: the model file's bytes (the host writes them), at `step`; `final` at the end. */
export interface Checkpoint {
  readonly step: number;
  readonly bytes: Uint8Array;
  readonly final: boolean;
  /** The best validation loss so far: held by the host in case the user stops at overfitting, not written. */
  readonly best: boolean;
}

/** How a run ended: done, cancelled, or stopped by an error (the worker's, or its crash: `user` false). */
export interface RunEnd {
  readonly reason: 'done' | 'cancelled' | 'error';
  readonly error?: { readonly message: string; readonly user: boolean };
  /** The last progress report, when the worker sent one with the end. */
  readonly progress: TrainProgress | null;
}

/**
 * One training run in the worker, as every caller sees it: `started` (the worker's summary, or why it could not
 * start), progress reports, checkpoints, `finished` (exactly once, also when the worker crashes), and cancel.
 */
export class TrainingRun {
  private readonly progressListeners = new Set<(p: TrainProgress) => void>();
  private readonly checkpointListeners = new Set<(c: Checkpoint) => void>();
  private settle!: (e: RunEnd) => void;
  private ended = false;
  /** Resolves once, when the run ends; a run that could not start ends with its error. */
  readonly finished: Promise<RunEnd> = new Promise((r) => { this.settle = r; });
  /** The worker's summary once the run has started; rejects when it cannot start (the text, the options). */
  readonly started: Promise<TrainStarted>;

  constructor(readonly runId: number, start: Promise<TrainStarted>, private readonly cancelRun: () => Promise<void>) {
    this.started = start;
    start.catch((e: unknown) => this.end({ reason: 'error', error: { message: (e as Error).message, user: true }, progress: null }));
  }

  onProgress(l: (p: TrainProgress) => void): Disposable {
    this.progressListeners.add(l);
    return { dispose: () => this.progressListeners.delete(l) };
  }

  onCheckpoint(l: (c: Checkpoint) => void): Disposable {
    this.checkpointListeners.add(l);
    return { dispose: () => this.checkpointListeners.delete(l) };
  }

  /** Asks the worker to stop between two steps; it sends a final checkpoint, then `finished` resolves. */
  cancel(): Promise<void> {
    return this.ended ? Promise.resolve() : this.cancelRun();
  }

  /** The client routes this run's notifications here. */
  deliver(n: WorkerNotification): void {
    switch (n.type) {
      case 'didProgress': for (const l of this.progressListeners) l(n.progress); break;
      case 'didCheckpoint': for (const l of this.checkpointListeners) l({ step: n.step, bytes: n.bytes, final: n.final, best: n.best ?? false }); break;
      case 'didFinish': this.end({ reason: n.reason, ...(n.error ? { error: n.error } : {}), progress: n.progress }); break;
      default: break;
    }
  }

  /** Ends the run once (its finish, a failed start, or the worker's crash). */
  end(e: RunEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.progressListeners.clear();
    this.checkpointListeners.clear();
    this.settle(e);
  }
}

/**
 * The extension host's handle on the engine worker (dist/worker.js). Starts the worker on first use, routes each
 * run's notifications to its TrainingRun and each sample's text to its caller, and turns a dead worker into rejected
 * requests, ended runs and an `onCrash` call, so that no caller waits forever. Imports nothing from vscode
 * (unit-tested in plain Node).
 */
export class EngineClient {
  private worker: Worker | null = null;
  private messenger: Messenger<WorkerRequest, WorkerNotification, WorkerReplies> | null = null;
  /** Runs not yet ended, by id: their notifications go to their handles. */
  private readonly runs = new Map<number, TrainingRun>();
  private readonly runListeners = new Set<(run: TrainingRun) => void>();
  /** Samples streaming to a caller, by id. */
  private readonly sampleListeners = new Map<number, (chunk: string) => void>();
  private readonly traceListeners = new Map<number, TraceStreamListener>();
  private readonly crashListeners = new Set<(e: WorkerCrashedError) => void>();
  private nextRunId = 1;
  private disposed = false;

  constructor(private readonly workerPath: string) {}

  /** Every run started through this client, as it starts (the inspector records them all for its dashboards). */
  onRun(l: (run: TrainingRun) => void): Disposable {
    this.runListeners.add(l);
    return { dispose: () => this.runListeners.delete(l) };
  }

  onCrash(l: (e: WorkerCrashedError) => void): { dispose(): void } {
    this.crashListeners.add(l);
    return { dispose: () => this.crashListeners.delete(l) };
  }

  newRunId(): number {
    return this.nextRunId++;
  }

  /** Starts a training run; subscribe to the handle before awaiting `started` (or after: reports come later). */
  train(req: Omit<Extract<WorkerRequest, { type: 'train' }>, 'type'>): TrainingRun {
    const run = new TrainingRun(req.runId, this.request({ type: 'train', ...req }), () => this.cancel(req.runId));
    this.runs.set(req.runId, run);
    void run.finished.then(() => { if (this.runs.get(req.runId) === run) this.runs.delete(req.runId); });
    for (const l of this.runListeners) l(run);
    return run;
  }

  cancel(runId: number): Promise<void> {
    return this.worker ? this.request({ type: 'cancel', runId }) : Promise.resolve();
  }

  /** With `key`, the worker keeps the trace for `reach` (see WorkerRequest). */
  trace(model: Uint8Array, text: string, key?: string): Promise<TraceData> {
    return this.request({ type: 'trace', model, text, ...(key !== undefined ? { key } : {}) });
  }

  /**
   * Traces with the model a `describe(model, hold)` just held in the worker, so that its bytes cross once; sends
   * them again only when the worker no longer holds them (it restarted in between).
   */
  async traceHeld(hold: string, model: Uint8Array, text: string, key?: string): Promise<TraceData> {
    try {
      return await this.request({ type: 'trace', model: { held: hold }, text, ...(key !== undefined ? { key } : {}) });
    } catch (e) {
      if (!(e instanceof RemoteError && e.wire.code === 'not-held')) throw e;
      return this.trace(model, text, key);
    }
  }

  /**
   * A trace in segments (see WorkerRequest 'traceStream'): `listener` gets its shape, then each segment as the
   * worker makes it; the reply is the loss and gradient norms (or where it stopped, when cancelled). With `hold`,
   * the model a describe(model, hold) just held (its bytes sent again only when the worker lost them).
   */
  async traceStream(traceId: number, model: Uint8Array, hold: string | null, text: string, key: string, budgetBytes: number,
    listener: TraceStreamListener): Promise<TraceStreamEnd> {
    this.traceListeners.set(traceId, listener);
    try {
      if (hold !== null) {
        try {
          return await this.request({ type: 'traceStream', traceId, model: { held: hold }, text, key, budgetBytes });
        } catch (e) {
          if (!(e instanceof RemoteError && e.wire.code === 'not-held')) throw e;
        }
      }
      return await this.request({ type: 'traceStream', traceId, model, text, key, budgetBytes });
    } finally {
      this.traceListeners.delete(traceId);
    }
  }

  /** Stops a streamed trace between two segments (its reply then says where). */
  cancelTrace(traceId: number): Promise<void> {
    return this.worker ? this.request({ type: 'cancelTrace', traceId }) : Promise.resolve();
  }

  /** The gradient reach at `at` on the trace kept under `key` (see WorkerRequest); null when it is no longer kept. */
  reach(key: string, at: number, maxK: number, layer: number, saliencyFrom?: number): Promise<ReachData | null> {
    return this.request({ type: 'reach', key, at, maxK, layer, ...(saliencyFrom !== undefined ? { saliencyFrom } : {}) });
  }

  /** The units of the trace kept under `key` ranked against a feature; null when the worker no longer keeps it. */
  units(key: string, query: UnitsQuery): Promise<UnitsView | null> {
    return this.request({ type: 'units', key, query });
  }

  /** The trace kept under `key` as JSON bytes (the CLI's trace schema), built in the worker; null when it is no longer kept. */
  traceJson(key: string): Promise<Uint8Array | null> {
    return this.request({ type: 'traceJson', key });
  }

  /** Starts writing the trace kept under `key` as a file (see WorkerRequest 'exportOpen'); null when it is no longer kept. */
  exportOpen(exportId: number, key: string, format: TraceExportFormat): Promise<{ readonly size: number } | null> {
    return this.request({ type: 'exportOpen', exportId, key, format });
  }

  /** The next piece of an export's file; null at its end. */
  exportNext(exportId: number): Promise<Uint8Array | null> {
    return this.request({ type: 'exportNext', exportId });
  }

  /** Drops an export left unfinished (a failed write). */
  exportClose(exportId: number): Promise<void> {
    return this.worker ? this.request({ type: 'exportClose', exportId }) : Promise.resolve();
  }

  /** Generates text; `onText` gets it in chunks as it streams (the reply is all of it). */
  async sample(sampleId: number, model: Uint8Array, options: Extract<WorkerRequest, { type: 'sample' }>['options'], seed: number,
    onText?: (chunk: string) => void): Promise<string> {
    if (onText) this.sampleListeners.set(sampleId, onText);
    try {
      return await this.request({ type: 'sample', sampleId, model, options, seed });
    } finally {
      this.sampleListeners.delete(sampleId);
    }
  }

  cancelSample(sampleId: number): Promise<void> {
    return this.worker ? this.request({ type: 'cancelSample', sampleId }) : Promise.resolve();
  }

  /** Makes a PyTorch model a Gatescope model file (see WorkerRequest 'import'). */
  importModel(model: Uint8Array, fileName: string, vocab: { text: string; fileName: string } | null, cell: CellType | null,
    module: string | null = null): Promise<ImportedModel> {
    return this.request({ type: 'import', model, fileName, vocab, cell, module });
  }

  /** The recurrent modules of a PyTorch model (to ask which one to import). */
  recurrentModules(model: Uint8Array): Promise<{ readonly name: string; readonly detail: string }[]> {
    return this.request({ type: 'recurrentModules', model });
  }

  /** Checks and describes a model file; with `hold`, the worker keeps its bytes for a traceHeld(hold, …). */
  describe(model: Uint8Array, hold?: string): Promise<ModelSummary> {
    return this.request({ type: 'describe', model, ...(hold !== undefined ? { hold } : {}) });
  }

  /** Test hook: make the worker throw outside any request, as a bug would. */
  crashForTest(): Promise<void> {
    return this.request({ type: 'crash' });
  }

  get running(): boolean {
    return this.worker !== null;
  }

  /** Stops the worker (its requests fail with WorkerCrashedError). */
  async terminate(): Promise<void> {
    const w = this.worker;
    if (w) await w.terminate();
  }

  dispose(): void {
    this.disposed = true;
    void this.terminate();
    this.runListeners.clear();
    this.sampleListeners.clear();
    this.traceListeners.clear();
    this.crashListeners.clear();
  }

  /** Model bytes are copied, not transferred: the host keeps its copy. */
  private request<K extends WorkerRequest['type']>(req: Extract<WorkerRequest, { type: K }>): Promise<WorkerReplies[K]> {
    if (this.disposed) return Promise.reject(new Error('the engine client is disposed'));
    return this.ensure().request(req);
  }

  private ensure(): Messenger<WorkerRequest, WorkerNotification, WorkerReplies> {
    if (this.messenger) return this.messenger;
    const worker = new Worker(this.workerPath, { resourceLimits: { maxOldGenerationSizeMb: 8192 } });
    const messenger = new Messenger<WorkerRequest, WorkerNotification, WorkerReplies>(worker, {
      onNotification: (n) => {
        if (n.type === 'didSample') this.sampleListeners.get(n.sampleId)?.(n.text);
        else if (n.type === 'didTraceStart') this.traceListeners.get(n.traceId)?.start(n.shape, n.segments);
        else if (n.type === 'didTraceSegment') this.traceListeners.get(n.traceId)?.segment(n.segment);
        else this.runs.get(n.runId)?.deliver(n);
      },
    });
    worker.on('message', (m) => { void messenger.receive(m); });
    let reason = 'it exited';
    worker.on('error', (e) => { reason = e.message; });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.messenger = null;
      const err = new WorkerCrashedError(code === 1 && reason === 'it exited' ? 'exit code 1' : reason);
      messenger.rejectAll(err);
      for (const run of [...this.runs.values()]) run.end({ reason: 'error', error: { message: err.message, user: false }, progress: null });
      this.runs.clear();
      if (!this.disposed) for (const l of this.crashListeners) l(err);
    });
    this.worker = worker;
    this.messenger = messenger;
    return messenger;
  }
}
