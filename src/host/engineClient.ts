import { Worker } from 'node:worker_threads';
import { Messenger } from '../protocol/messenger';
import type { ReachData } from '../protocol/reach';
import type { UnitsQuery, UnitsView } from '../protocol/units';
import type { TraceData } from '../protocol/trace';
import type { ModelSummary, TrainStarted, WorkerNotification, WorkerRequest } from '../protocol/worker';

/** The worker died (a crash, an out-of-memory kill, or terminate()); the next request starts a fresh one. */
export class WorkerCrashedError extends Error {
  constructor(detail: string) {
    super(`the Gatescope engine stopped unexpectedly (${detail}); the next command starts it again`);
    this.name = 'WorkerCrashedError';
  }
}

type Listener = (n: WorkerNotification) => void;

/**
 * The extension host's handle on the engine worker (dist/worker.js). Starts the worker on first use,
 * forwards notifications to listeners, and turns a dead worker into rejected requests plus an `onCrash`
 * call, so that no caller waits forever. Imports nothing from vscode (unit-tested in plain Node).
 */
export class EngineClient {
  private worker: Worker | null = null;
  private messenger: Messenger<WorkerRequest, WorkerNotification> | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly crashListeners = new Set<(e: WorkerCrashedError) => void>();
  private nextRunId = 1;
  private disposed = false;

  constructor(private readonly workerPath: string) {}

  onNotification(l: Listener): { dispose(): void } {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  }

  onCrash(l: (e: WorkerCrashedError) => void): { dispose(): void } {
    this.crashListeners.add(l);
    return { dispose: () => this.crashListeners.delete(l) };
  }

  newRunId(): number {
    return this.nextRunId++;
  }

  train(req: Omit<Extract<WorkerRequest, { type: 'train' }>, 'type'>): Promise<TrainStarted> {
    return this.request<TrainStarted>({ type: 'train', ...req });
  }

  cancel(runId: number): Promise<void> {
    return this.worker ? this.request<void>({ type: 'cancel', runId }) : Promise.resolve();
  }

  /** With `key`, the worker keeps the trace for `reach` (see WorkerRequest). */
  trace(model: Uint8Array, text: string, key?: string): Promise<TraceData> {
    return this.request<TraceData>({ type: 'trace', model, text, ...(key !== undefined ? { key } : {}) });
  }

  /** The gradient reach at `at` on the trace kept under `key` (see WorkerRequest); null when it is no longer kept. */
  reach(key: string, at: number, maxK: number, layer: number, saliencyFrom?: number): Promise<ReachData | null> {
    return this.request<ReachData | null>({ type: 'reach', key, at, maxK, layer, ...(saliencyFrom !== undefined ? { saliencyFrom } : {}) });
  }

  /** The units of the trace kept under `key` ranked against a feature; null when the worker no longer keeps it. */
  units(key: string, query: UnitsQuery): Promise<UnitsView | null> {
    return this.request<UnitsView | null>({ type: 'units', key, query });
  }

  sample(sampleId: number, model: Uint8Array, options: Extract<WorkerRequest, { type: 'sample' }>['options'], seed: number): Promise<string> {
    return this.request<string>({ type: 'sample', sampleId, model, options, seed });
  }

  cancelSample(sampleId: number): Promise<void> {
    return this.worker ? this.request<void>({ type: 'cancelSample', sampleId }) : Promise.resolve();
  }

  describe(model: Uint8Array): Promise<ModelSummary> {
    return this.request<ModelSummary>({ type: 'describe', model });
  }

  /** Test hook: make the worker throw outside any request, as a bug would. */
  crashForTest(): Promise<void> {
    return this.request<void>({ type: 'crash' });
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
    this.listeners.clear();
    this.crashListeners.clear();
  }

  /** Model bytes are copied, not transferred: the host keeps its copy. */
  private request<R>(req: WorkerRequest): Promise<R> {
    if (this.disposed) return Promise.reject(new Error('the engine client is disposed'));
    return this.ensure().request<R>(req);
  }

  private ensure(): Messenger<WorkerRequest, WorkerNotification> {
    if (this.messenger) return this.messenger;
    const worker = new Worker(this.workerPath, { resourceLimits: { maxOldGenerationSizeMb: 8192 } });
    const messenger = new Messenger<WorkerRequest, WorkerNotification>(worker, {
      onNotification: (n) => { for (const l of this.listeners) l(n); },
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
      if (!this.disposed) for (const l of this.crashListeners) l(err);
    });
    this.worker = worker;
    this.messenger = messenger;
    return messenger;
  }
}
