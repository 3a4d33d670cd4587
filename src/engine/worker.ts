import { parentPort, workerData } from 'node:worker_threads';
import { Messenger } from '../protocol/messenger';
import type { PredictionReach, ReachBand, ReachData, ReachSummaryData } from '../protocol/reach';
import type { TraceData } from '../protocol/trace';
import { traceToJson } from '../protocol/traceJson';
import type { UnitsView } from '../protocol/units';
import type { ImportedModel, ModelSummary, TrainProgress, TrainStarted, WorkerNotification, WorkerRequest } from '../protocol/worker';
import { rowHelpers, traceKernels, useFastKernels } from './backend';
import { GatescopeError } from './errors';
import { importModel, listRecurrentModules, parseVocabFile } from './importModel';
import type { Kernels } from './kernels';
import { decodeModelFile, encodeModelFile } from './modelfile';
import { attachWorkers } from './parallel/attach';
import { isRowWorkerData, isShardWorkerData, nodeThreads } from './parallel/nodeThreads';
import { serveRows } from './parallel/rowSplit';
import { serveShards } from './parallel/shards';
import { Rng } from './rng';
import { prepareRun, type PreparedRun } from './run';
import { sample } from './sample';
import { ValidationWatch } from './schedule';
import type { Network } from './network';
import { gradientReach, predictionGradients, reachPositions, REACH_THRESHOLD, stepFactors } from './reach';
import { releaseTraceResources, traceTokens, type Trace } from './trace';
import { searchFeature, UnitStats } from './units';

/**
 * The engine's worker thread: a thin switch over the protocol. Long work runs in slices of SLICE_MS so that
 * `cancel` is seen between two slices; the host does all file I/O and writes the checkpoints it receives.
 */
const SLICE_MS = 50;
const PROGRESS_MS = 250;

interface ActiveRun {
  readonly run: PreparedRun;
  /** Hands the carried state back and stops the helper threads of a parallel run. */
  readonly detach: (() => void) | null;
  /** Characters the model had trained on before this run (a resumed model's count goes on). */
  readonly priorChars: number;
  cancelled: boolean;
}

const runs = new Map<number, ActiveRun>();
const samples = new Map<number, { cancelled: boolean }>();
const port = parentPort!;
// the engine's speed-ups (backend.ts): WebAssembly SIMD kernels for every network made here, helper threads included
useFastKernels();
const messenger = new Messenger<WorkerNotification, WorkerRequest>(port, { onRequest: handle });
// the same bundle serves as a helper thread of parallel training (parallel/nodeThreads.ts starts it so)
if (isShardWorkerData(workerData)) serveShards(workerData.spec);
else if (isRowWorkerData(workerData)) serveRows(workerData.spec);
else port.on('message', (m) => { void messenger.receive(m); });

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.type) {
    case 'train':
      return startTraining(req);
    case 'cancel': {
      const r = runs.get(req.runId);
      if (r) r.cancelled = true;
      return null;
    }
    case 'trace':
      return trace(req.model instanceof Uint8Array ? req.model : takeHeld(req.model.held), req.text, req.key);
    case 'reach':
      return reach(req);
    case 'units':
      return units(req);
    case 'traceJson':
      return traceJson(req.key);
    case 'sample':
      return streamSample(req);
    case 'cancelSample': {
      const s = samples.get(req.sampleId);
      if (s) s.cancelled = true;
      return null;
    }
    case 'describe':
      return describe(req.model, req.hold);
    case 'import': {
      const vocab = req.vocab ? parseVocabFile(req.vocab.text, req.vocab.fileName) : null;
      const r = importModel(req.model, { fileName: req.fileName, vocab, cell: req.cell, module: req.module });
      return { bytes: r.bytes, config: r.config, format: r.format, mapping: r.mapping, notes: r.notes } satisfies ImportedModel;
    }
    case 'recurrentModules':
      return listRecurrentModules(req.model);
    case 'crash':
      setImmediate(() => { throw new Error('crash requested by a test'); });
      return null;
  }
}

function startTraining(req: Extract<WorkerRequest, { type: 'train' }>): TrainStarted {
  const resume = req.resume ? decodeModelFile(req.resume) : undefined;
  const run = prepareRun(req.text, req.options, resume, req.vocab);
  const parallel = attachWorkers(run, req.workers ?? 1, nodeThreads);
  const active: ActiveRun = { run, detach: parallel?.detach ?? null, priorChars: resume?.info.trainedChars ?? 0, cancelled: false };
  runs.set(req.runId, active);
  // start after the reply is posted, so the reply describes the run before its first step
  setImmediate(() => { void trainLoop(req, active).finally(() => { active.detach?.(); runs.delete(req.runId); }); });
  const { net, trainer, tokens } = run;
  return {
    config: net.cfg, parameters: net.params.length, characters: tokens.length, heldOut: trainer.plan.valLength,
    seq: trainer.plan.seq, batch: trainer.plan.batch, startStep: trainer.step,
    warnings: [...(resume?.warnings ?? []), ...run.warnings, ...(parallel?.warning ? [parallel.warning] : [])],
  };
}

async function trainLoop(req: Extract<WorkerRequest, { type: 'train' }>, active: ActiveRun): Promise<void> {
  const { trainer, net, vocab } = active.run;
  const total = req.totalSteps;
  let chars = 0;
  let loss = NaN, gradNorm = 0, clipRatio = 1, epoch = trainer.epoch;
  let valLoss: number | null = null;
  const watch = new ValidationWatch();
  let bestVal: { step: number; loss: number } | null = null;
  let overfitSince: number | null = null;
  const started = performance.now();
  let lastProgress = 0;
  const progress = (): TrainProgress => {
    const seconds = (performance.now() - started) / 1000;
    const cps = seconds > 0 ? chars / seconds : 0;
    const left = (total - trainer.step) * trainer.charsPerStep;
    return { step: trainer.step, totalSteps: total, epoch, loss, valLoss, gradNorm, clipRatio, charsPerSec: cps, etaSeconds: cps > 0 ? left / cps : NaN, bestVal, overfitSince };
  };
  const checkpoint = (final: boolean, best = false): void => {
    const bytes = encodeModelFile(net, vocab, {
      ...req.info, source: req.source, steps: trainer.step, loss: Number.isFinite(loss) ? loss : undefined, valLoss: valLoss ?? undefined,
      trainedChars: active.priorChars + chars, created: new Date().toISOString(),
    }, trainer.snapshot());
    messenger.notify({ type: 'didCheckpoint', runId: req.runId, step: trainer.step, bytes, final, ...(best ? { best } : {}) }, [bytes.buffer as ArrayBuffer]);
  };
  try {
    while (trainer.step < total && !active.cancelled) {
      const end = performance.now() + SLICE_MS;
      while (trainer.step < total && performance.now() < end) {
        const r = trainer.trainStep();
        ({ loss, gradNorm, clipRatio, epoch } = r);
        chars += r.chars;
        if (trainer.step % req.evalEvery === 0 || trainer.step === total) {
          const v = trainer.validate();
          valLoss = Number.isNaN(v) ? null : v;
          const w = watch.push(trainer.step, v);
          bestVal = w.best;
          // the latest step at which it was called overfitting, kept once said (reports are throttled: one could miss it)
          if (w.overfitting) overfitSince = trainer.step;
          // the best-validation model so far, for the host to keep if the user stops at overfitting (not written)
          if (w.improved && req.checkpointEvery > 0 && trainer.step < total) checkpoint(false, true);
        }
        if (req.checkpointEvery > 0 && trainer.step % req.checkpointEvery === 0 && trainer.step < total) checkpoint(false);
      }
      if (performance.now() - lastProgress >= PROGRESS_MS) {
        lastProgress = performance.now();
        messenger.notify({ type: 'didProgress', runId: req.runId, progress: progress() });
      }
      await tick();
    }
    checkpoint(true);
    messenger.notify({ type: 'didFinish', runId: req.runId, reason: active.cancelled ? 'cancelled' : 'done', progress: progress() });
  } catch (e) {
    // the parameters are still the last good ones (the trainer checks before it updates): keep them
    if (trainer.step > 0) checkpoint(true);
    const user = e instanceof GatescopeError;
    messenger.notify({ type: 'didFinish', runId: req.runId, reason: 'error', error: { message: (e as Error).message, user }, progress: progress() });
  }
}

/**
 * The kernels every trace runs on: one memory, so a trace reuses the buffers of the one before when the model
 * has the same shape (a newer checkpoint of the same run), and the row helper thread it keeps (trace.ts). A
 * WebAssembly memory never shrinks: after TRACE_IDLE_MS without a trace the kernels are dropped, and with them
 * the memory (hundreds of MB after a long trace of a large model).
 */
let tracing: Kernels | null = null;
/** Row helper threads for traces (backend.ts). */
const traceRows = rowHelpers(nodeThreads);
let traceIdle: ReturnType<typeof setTimeout> | null = null;
const TRACE_IDLE_MS = 60_000;

/**
 * A trace kept for `reach` and `units` requests, with what they compute once per trace: the reach summary (the
 * same for every click) and the units' moments (every search of a feature then costs one pass over the values).
 */
interface KeptTrace {
  readonly net: Network;
  readonly trace: Trace;
  /** The traced text, one character per timestep. */
  readonly chars: readonly string[];
  /** The model's vocabulary (token id = index). */
  readonly vocab: readonly string[];
  summary: { readonly maxK: number; readonly data: ReachSummaryData | null; readonly note: string | null } | null;
  stats: UnitStats | null;
}
/** Kept traces by key, least recently used first: a panel's model and its comparison, for a few panels. */
const keptTraces = new Map<string, KeptTrace>();
const MAX_KEPT_TRACES = 4;

function trace(model: Uint8Array, text: string, key?: string): TraceData {
  tracing ??= traceKernels();
  if (traceIdle !== null) clearTimeout(traceIdle);
  traceIdle = setTimeout(() => {
    if (tracing !== null) releaseTraceResources(tracing);
    tracing = null;
    traceIdle = null;
    keptTraces.clear();
    heldModels.clear();
  }, TRACE_IDLE_MS);
  traceIdle.unref();
  const m = decodeModelFile(model, Float32Array, tracing);
  const t = traceTokens(m.net, m.vocab.encode(text), { rowHelper: traceRows });
  if (key !== undefined) {
    keptTraces.delete(key);
    keptTraces.set(key, { net: m.net, trace: t, chars: Array.from(t.tokens, (id) => m.vocab.chars[id]!), vocab: m.vocab.chars, summary: null, stats: null });
    while (keptTraces.size > MAX_KEPT_TRACES) keptTraces.delete(keptTraces.keys().next().value!);
  }
  // the reply's arrays are transferred to the host: a kept trace sends copies (its norms too: traceJson reads them)
  const own = <A extends Float32Array | null>(a: A): A => (key === undefined || a === null ? a : a.slice() as A);
  return {
    cell: m.net.cfg.cell, vocab: m.vocab.chars, hidden: m.net.cfg.hidden, tokens: t.tokens.slice(), loss: t.loss, probs: own(t.probs),
    layers: t.layers.map((l) => ({
      gates: Object.fromEntries(Object.entries(l.gates).map(([g, a]) => [g, own(a)])), c: own(l.c), h: own(l.h), gradH: own(l.gradH), gradC: own(l.gradC),
    })),
  };
}

/** Predictions the reach summary is taken over. */
const SUMMARY_POSITIONS = 40;

/** The trace kept under `key`, now the most recently used; undefined when it was dropped. */
function kept(key: string): KeptTrace | undefined {
  const k = keptTraces.get(key);
  if (k === undefined) return undefined;
  keptTraces.delete(key);
  keptTraces.set(key, k);
  return k;
}

function units(req: Extract<WorkerRequest, { type: 'units' }>): UnitsView | null {
  const k = kept(req.key);
  if (k === undefined) return null;
  const q = req.query;
  const T = k.trace.tokens.length;
  k.stats ??= new UnitStats(k.trace, T, k.net.cfg.hidden);
  const layer = q.layer !== null && q.layer < k.net.cfg.layers ? q.layer : undefined;
  const s = searchFeature(k.stats, k.chars, q.feature, {
    ...(q.quantity === 'all' ? {} : { quantities: [q.quantity] }), ...(layer === undefined ? {} : { layer }), top: q.top,
  });
  const listed = s.ranking?.units ?? [];
  const p = q.pick;
  const shown = (p && listed.find((u) => u.layer === p.layer && u.unit === p.unit && u.quantity === p.quantity)) || listed[0];
  return {
    feature: s.feature, binary: s.binary, x: s.x && Float32Array.from(s.x), matches: s.matches, units: listed,
    searched: s.ranking?.searched ?? 0, constant: s.ranking?.constant ?? 0, message: s.message,
    scatter: shown ? { layer: shown.layer, unit: shown.unit, quantity: shown.quantity, values: k.stats.series(shown.layer, shown.unit, shown.quantity) } : null,
  };
}

/** The kept trace as the JSON of `gatescope trace --json`, in UTF-8 (the reply transfers the bytes). */
function traceJson(key: string): Uint8Array | null {
  const k = kept(key);
  if (k === undefined) return null;
  return new TextEncoder().encode(traceToJson(k.trace, k.vocab, k.net.cfg.cell, k.net.cfg.hidden));
}

function reach(req: Extract<WorkerRequest, { type: 'reach' }>): ReachData | null {
  const k = kept(req.key);
  if (k === undefined) return null;
  const { net, trace: tr } = k;
  const T = tr.tokens.length;
  let prediction: PredictionReach | null = null, predictionNote: string | null = null;
  if (req.at >= T - 1 || req.at < 0) {
    predictionNote = req.at === T - 1 ? 'The last character has no next character to predict: pick an earlier one.' : `Position ${req.at} is outside the text.`;
  } else {
    // the chart shows maxK steps; the saliency strip, back to the start of its window
    const from = req.saliencyFrom === undefined ? req.at - req.maxK : Math.max(0, Math.min(req.at - req.maxK, req.saliencyFrom));
    const g = predictionGradients(net, tr, req.at, { maxK: Math.max(0, req.at - from) });
    prediction = { at: g.at, maxK: g.maxK, loss: g.loss, target: g.target, layers: g.layers, saliency: g.saliency };
  }
  if (k.summary === null || k.summary.maxK !== req.maxK) {
    const K = Math.min(req.maxK, T - 2);
    if (K < 1) {
      k.summary = { maxK: req.maxK, data: null, note: `The text has ${T} characters: too short to measure how far gradients reach.` };
    } else {
      const r = gradientReach(net, tr, reachPositions(T, SUMMARY_POSITIONS, K), K);
      k.summary = {
        maxK: req.maxK,
        data: { positions: r.positions.length, maxK: K, layers: r.layers, horizon: r.horizon, horizonC: r.horizonC, threshold: REACH_THRESHOLD },
        note: K < req.maxK ? `The text has ${T} characters: the reach is measured ${K} steps back, not ${req.maxK}.` : null,
      };
    }
  }
  const layer = Math.max(0, Math.min(net.cfg.layers - 1, req.layer));
  const at = Math.max(0, Math.min(T - 1, req.at));
  const f = stepFactors(net, tr, layer, at, req.maxK);
  // replies transfer their arrays: the kept summary goes out as a copy
  const band = (b: ReachBand): ReachBand => ({ median: b.median.slice(), q10: b.q10.slice(), q90: b.q90.slice() });
  const s = k.summary.data;
  const summary = s && { ...s, layers: s.layers.map((l) => ({ gradH: band(l.gradH), gradC: l.gradC && band(l.gradC) })) };
  return {
    cell: net.cfg.cell, prediction, predictionNote, summary, summaryNote: k.summary.note,
    factors: { layer, kind: f.kind, factor: f.factor, product: f.product },
  };
}

async function streamSample(req: Extract<WorkerRequest, { type: 'sample' }>): Promise<string> {
  const m = decodeModelFile(req.model);
  const state = { cancelled: false };
  samples.set(req.sampleId, state);
  try {
    const gen = sample(m.net, m.vocab, req.options, new Rng(req.seed));
    let all = '';
    let chunk = '';
    let last = performance.now();
    for (const ch of gen) {
      chunk += ch;
      if (performance.now() - last > SLICE_MS) {
        messenger.notify({ type: 'didSample', sampleId: req.sampleId, text: chunk });
        all += chunk;
        chunk = '';
        await tick();
        last = performance.now();
        if (state.cancelled) break;
      }
    }
    if (chunk) messenger.notify({ type: 'didSample', sampleId: req.sampleId, text: chunk });
    return all + chunk;
  } finally {
    samples.delete(req.sampleId);
  }
}

/**
 * Model files held by `describe` for the `trace` that follows (an inspector's load: the bytes cross once), by
 * name; a few, the oldest dropped first. A trace takes its model out.
 */
const heldModels = new Map<string, Uint8Array>();
const MAX_HELD_MODELS = 4;

function takeHeld(name: string): Uint8Array {
  const bytes = heldModels.get(name);
  if (bytes === undefined) throw Object.assign(new Error(`the worker no longer holds the model ${JSON.stringify(name)}: send its bytes`), { code: 'not-held' });
  heldModels.delete(name);
  return bytes;
}

function describe(model: Uint8Array, hold?: string): ModelSummary {
  const m = decodeModelFile(model);
  if (hold !== undefined) {
    heldModels.delete(hold);
    heldModels.set(hold, model);
    for (const old of heldModels.keys()) if (heldModels.size > MAX_HELD_MODELS) heldModels.delete(old);
  }
  return {
    config: m.net.cfg, parameters: m.net.params.length, vocab: m.vocab.chars, info: m.info,
    resumableFrom: m.training?.step ?? null, trainOptions: m.training?.options ?? null, warnings: m.warnings,
  };
}
