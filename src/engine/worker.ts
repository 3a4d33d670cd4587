import { parentPort, workerData } from 'node:worker_threads';
import { Messenger } from '../protocol/messenger';
import type { PredictionReach, ReachBand, ReachData, ReachSummaryData } from '../protocol/reach';
import { emptyTrace, fillSegment, finishTrace, traceDataBytes, type TraceData, type TraceSegmentData, type TraceShape, type TraceTail } from '../protocol/trace';
import { traceToJson } from '../protocol/traceJson';
import type { UnitsView } from '../protocol/units';
import type { ImportedModel, ModelSummary, TraceStreamEnd, TrainProgress, TrainStarted, WorkerNotification, WorkerRequest } from '../protocol/worker';
import { rowHelpers, traceKernels, useFastKernels } from './backend';
import { GatescopeError } from './errors';
import { importModel, listRecurrentModules, parseVocabFile } from './importModel';
import type { Kernels } from './kernels';
import { decodeModelFile, encodeModelFile } from './modelfile';
import { attachWorkers, type AttachedWorkers } from './parallel/attach';
import { availableCores, isRowWorkerData, isShardWorkerData, nodeThreads } from './parallel/nodeThreads';
import { serveRows } from './parallel/rowSplit';
import { serveShards } from './parallel/shards';
import { Rng } from './rng';
import { prepareRun, type PreparedRun } from './run';
import { sample } from './sample';
import { ValidationWatch } from './schedule';
import type { Network } from './network';
import { gradientReach, predictionGradients, reachPositions, REACH_THRESHOLD, stepFactors } from './reach';
import { releaseTraceResources, traceRecord, traceTokens, type Trace } from './trace';
import { TraceRun, unrollBytes } from './traceRun';
import { DEFAULT_TOP_K, slicePredictions } from './predictions';
import type { ForwardRecord } from './reach';
import { GATE_NAMES, isPlainRnn, type TensorHistoryRow } from './types';
import { historyRow } from './diagnostics';
import { transfersOf } from '../protocol/messenger';
import { traceExportChunks, traceExportSize } from '../protocol/traceExport';
import { searchFeature, UnitStats } from './units';

/**
 * The engine's worker thread: a thin switch over the protocol. Long work runs in slices of SLICE_MS so that
 * `cancel` is seen between two slices; the host does all file I/O and writes the checkpoints it receives.
 */
const SLICE_MS = 50;
const PROGRESS_MS = 250;

interface ActiveRun {
  readonly run: PreparedRun;
  /** Its workers: the training state to save (with their count), and detach() when it ends. */
  readonly parallel: AttachedWorkers;
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
    case 'traceStream':
      return traceStream(req);
    case 'cancelTrace': {
      const s = streams.get(req.traceId);
      if (s) s.cancelled = true;
      return null;
    }
    case 'reach':
      await streaming.get(req.key);
      return reach(req);
    case 'units':
      await streaming.get(req.key);
      return units(req);
    case 'traceJson':
      await streaming.get(req.key);
      return traceJson(req.key);
    case 'exportOpen':
      await streaming.get(req.key);
      return exportOpen(req);
    case 'exportNext': {
      const e = exports.get(req.exportId);
      const r = e?.next();
      if (!r || r.done) {
        exports.delete(req.exportId);
        return null;
      }
      return r.value;
    }
    case 'exportClose':
      exports.delete(req.exportId);
      return null;
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
  // "auto" never splits a batch unevenly: a short text's smaller batch lowers the count to its largest divisor
  let workers = req.workers ?? 1;
  if (req.workersAuto) while (workers > 1 && run.trainer.plan.batch % workers !== 0) workers--;
  const parallel = attachWorkers(run, workers, nodeThreads, Math.min(workers, availableCores()));
  const active: ActiveRun = { run, parallel, priorChars: resume?.info.trainedChars ?? 0, cancelled: false };
  runs.set(req.runId, active);
  // start after the reply is posted, so the reply describes the run before its first step
  setImmediate(() => { void trainLoop(req, active).finally(() => { active.parallel.detach(); runs.delete(req.runId); }); });
  const { net, trainer, tokens } = run;
  return {
    config: net.cfg, parameters: net.params.length, characters: tokens.length, heldOut: trainer.plan.valLength,
    seq: trainer.plan.seq, batch: trainer.plan.batch, startStep: trainer.step,
    warnings: [...(resume?.warnings ?? []), ...run.warnings, ...(parallel.warning ? [parallel.warning] : [])],
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
    // the diagnostics rows since the last report go with it, once
    const rows = tensorRows.splice(0);
    return {
      step: trainer.step, totalSteps: total, epoch, loss, valLoss, gradNorm, clipRatio, charsPerSec: cps, etaSeconds: cps > 0 ? left / cps : NaN, bestVal, overfitSince,
      ...(rows.length ? { tensors: { names: tensorNames, rows } } : {}),
    };
  };
  const tensorNames = net.layout.tensors.map((t) => t.name);
  const tensorRows: TensorHistoryRow[] = [];
  const checkpoint = (final: boolean, best = false): void => {
    const bytes = encodeModelFile(net, vocab, {
      ...req.info, source: req.source, steps: trainer.step, loss: Number.isFinite(loss) ? loss : undefined, valLoss: valLoss ?? undefined,
      trainedChars: active.priorChars + chars, created: new Date().toISOString(),
    }, active.parallel.snapshot());
    messenger.notify({ type: 'didCheckpoint', runId: req.runId, step: trainer.step, bytes, final, ...(best ? { best } : {}) }, [bytes.buffer as ArrayBuffer]);
  };
  try {
    while (trainer.step < total && !active.cancelled) {
      const end = performance.now() + SLICE_MS;
      while (trainer.step < total && performance.now() < end) {
        const r = trainer.trainStep();
        ({ loss, gradNorm, clipRatio, epoch } = r);
        if (r.diagnostics) tensorRows.push(historyRow(r.diagnostics, tensorNames, r.loss, r.gradNorm, r.clipRatio));
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
  /** The trace with its internals; null when the memory budget left them out (`run` recomputes windows). */
  readonly trace: Trace | null;
  /** A streamed trace's checkpoints (traceRun.ts): windows, distributions. */
  readonly run: TraceRun | null;
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
  const m = decodeModelFile(model, Float32Array, traceKernelsInUse());
  const t = traceTokens(m.net, m.vocab.encode(text), { rowHelper: traceRows });
  if (key !== undefined) keep(key, { net: m.net, trace: t, run: null, chars: Array.from(t.tokens, (id) => m.vocab.chars[id]!), vocab: m.vocab.chars, summary: null, stats: null });
  // the reply's arrays are transferred to the host: a kept trace sends copies (its norms too: traceJson reads them)
  const own = <A extends Float32Array | Int32Array | null>(a: A): A => (key === undefined || a === null ? a : a.slice() as A);
  const p = t.predictions;
  return {
    cell: m.net.cfg.cell, vocab: m.vocab.chars, hidden: m.net.cfg.hidden, tokens: t.tokens.slice(), loss: t.loss, probs: null,
    predictions: { k: p.k, topIds: own(p.topIds), topProbs: own(p.topProbs), pNext: own(p.pNext), entropy: own(p.entropy) },
    layers: t.layers.map((l) => ({
      gates: Object.fromEntries(Object.entries(l.gates).map(([g, a]) => [g, own(a)])), c: own(l.c), h: own(l.h), gradH: own(l.gradH), gradC: own(l.gradC),
    })),
  };
}

/** Keeps a trace under `key` (the least recently used of more than MAX_KEPT_TRACES goes). */
function keep(key: string, k: KeptTrace): void {
  dropKept(key);
  keptTraces.set(key, k);
  while (keptTraces.size > MAX_KEPT_TRACES) dropKept(keptTraces.keys().next().value!);
}

function dropKept(key: string): void {
  keptTraces.get(key)?.run?.dispose();
  keptTraces.delete(key);
}

/** Streamed traces under way, by id, and the keys they will be kept under (requests on a key wait for its trace). */
const streams = new Map<number, { cancelled: boolean }>();
const streaming = new Map<string, Promise<unknown>>();

function traceStream(req: Extract<WorkerRequest, { type: 'traceStream' }>): Promise<TraceStreamEnd> {
  const done = streamTrace(req);
  const waiting = done.catch(() => undefined);
  streaming.set(req.key, waiting);
  void waiting.then(() => { if (streaming.get(req.key) === waiting) streaming.delete(req.key); });
  return done;
}

/**
 * A trace in segments (traceRun.ts): each segment's internals and predictions go to the host as soon as they exist
 * (the inspector paints the first while the rest run), then the gradient norms from a segmented backward. Between
 * two segments the worker handles its messages: cancelTrace, and the requests of other panels.
 */
async function streamTrace(req: Extract<WorkerRequest, { type: 'traceStream' }>): Promise<TraceStreamEnd> {
  const bytes = req.model instanceof Uint8Array ? req.model : takeHeld(req.model.held);
  const m = decodeModelFile(bytes, Float32Array, traceKernelsInUse());
  const { net, vocab } = m;
  const tokens = vocab.encode(req.text);
  const T = tokens.length;
  if (T === 0) throw new GatescopeError('there is no text to trace', 'not-text');
  const shape: TraceShape = {
    cell: net.cfg.cell, vocab: vocab.chars, hidden: net.cfg.hidden, layers: net.cfg.layers,
    gates: isPlainRnn(net.cfg.cell) ? [] : GATE_NAMES[net.cfg.cell], tokens, k: Math.min(DEFAULT_TOP_K, net.cfg.vocabSize),
  };
  // what the webview will hold; the worker holds as much again to keep the internals, and its unrolls to keep those
  const data = traceDataBytes(shape, T, shape.k);
  if (data > req.budgetBytes) {
    const mb = (n: number): string => `${Math.ceil(n / 2 ** 20).toLocaleString('en-US')} MB`;
    throw new GatescopeError(`this trace would hold ${mb(data)} (${T.toLocaleString('en-US')} characters × ${net.cfg.layers} layers of ${net.cfg.hidden} units, ` +
      `every gate and state), more than the ${mb(req.budgetBytes)} the setting gatescope.inspector.memoryMB allows: inspect a part of the text (select it), ` +
      `raise the setting, or write the whole trace to a file with \`gatescope trace --out trace.safetensors\``, 'too-large');
  }
  const keepInternals = 2 * data <= req.budgetBytes;
  const keepUnrolls = keepInternals && 2 * data + unrollBytes(net, T) <= req.budgetBytes;
  dropKept(req.key);
  const run = new TraceRun(net, tokens, { keep: keepUnrolls, rowHelper: traceRows });
  const own = keepInternals ? emptyTrace(shape) : null;
  const state = { cancelled: false };
  streams.set(req.traceId, state);
  let kept = false;
  try {
    messenger.notify({ type: 'didTraceStart', traceId: req.traceId, shape: { ...shape, tokens: tokens.slice() }, segments: run.segments });
    for (let seg = run.next(); seg !== null; seg = run.next()) {
      const segment: TraceSegmentData = { ...seg, predictions: slicePredictions(run.predictions, seg.start, seg.end) };
      if (own !== null) fillSegment(own, segment);
      messenger.notify({ type: 'didTraceSegment', traceId: req.traceId, segment }, transfersOf(segment));
      await tick();
      if (state.cancelled) return { cancelled: true, forwarded: run.forwarded };
    }
    const steps = run.gradientSteps();
    let r = steps.next();
    while (!r.done) {
      await tick();
      if (state.cancelled) return { cancelled: true, forwarded: run.forwarded };
      r = steps.next();
    }
    const g = r.value;
    const tail: TraceTail = { loss: run.loss, gradH: g.gradH, gradC: g.gradC };
    const trace: Trace | null = own === null ? null : { ...finishTrace(own, tail), paramGrads: null };
    keep(req.key, { net, trace, run, chars: Array.from(tokens, (id) => vocab.chars[id]!), vocab: vocab.chars, summary: null, stats: null });
    kept = true;
    // the reply transfers its arrays: the kept trace keeps its own
    return { cancelled: false, kept: keepInternals ? 'internals' : 'checkpoints', loss: tail.loss, gradH: g.gradH.map((a) => a.slice()), gradC: g.gradC.map((a) => a?.slice() ?? null) };
  } finally {
    streams.delete(req.traceId);
    if (kept) run.pause();
    else run.dispose();
  }
}

/** The kernels traces run on, kept until TRACE_IDLE_MS pass without a trace. */
function traceKernelsInUse(): Kernels {
  tracing ??= traceKernels();
  if (traceIdle !== null) clearTimeout(traceIdle);
  traceIdle = setTimeout(() => {
    if (tracing !== null) releaseTraceResources(tracing);
    tracing = null;
    traceIdle = null;
    for (const key of [...keptTraces.keys()]) dropKept(key);
    heldModels.clear();
  }, TRACE_IDLE_MS);
  traceIdle.unref();
  return tracing;
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
  if (k.trace === null) throw new GatescopeError(withoutInternals('the unit search'), 'too-large');
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
  if (k.trace === null) throw new GatescopeError(withoutInternals('an export'), 'too-large');
  return new TextEncoder().encode(traceToJson(k.trace, k.vocab, k.net.cfg.cell, k.net.cfg.hidden));
}

/** Exports under way: the pieces of each file still to hand out (the host asks for one at a time). */
const exports = new Map<number, Generator<Uint8Array, void, void>>();

function exportOpen(req: Extract<WorkerRequest, { type: 'exportOpen' }>): { size: number } | null {
  const k = kept(req.key);
  if (k === undefined) return null;
  if (k.trace === null) throw new GatescopeError(withoutInternals('an export from the inspector') + ', or write it with `gatescope trace --out FILE.safetensors`', 'too-large');
  const { cell, hidden } = k.net.cfg;
  exports.set(req.exportId, traceExportChunks(k.trace, k.vocab, cell, hidden, req.format));
  return { size: traceExportSize(k.trace, k.vocab, cell, hidden, req.format) };
}

/** Why a trace kept as checkpoints only cannot answer what needs every internal at once. */
function withoutInternals(what: string): string {
  return `${what} needs every gate and state of the trace, which the memory budget (gatescope.inspector.memoryMB) did not let the engine keep ` +
    'beside the inspector\'s copy: raise the setting, or inspect a part of the text (select it)';
}

/**
 * What the reach reads of a kept trace around position `at`, `back` steps back: the whole trace when its internals
 * are kept, else the window [at − back − 1, at + 1) recomputed from checkpoints, with `offset` its first position.
 */
function reachRecord(k: KeptTrace, at: number, back: number): { rec: ForwardRecord; offset: number } {
  if (k.trace !== null) {
    const run = k.run;
    const rec = traceRecord(k.net, k.trace);
    return { rec: run === null ? rec : { ...rec, distribution: (t) => run.distribution(t) }, offset: 0 };
  }
  const run = k.run!;
  const a = Math.max(0, at - back - 1), b = at + 1;
  const w = run.window(a, b);
  return { rec: { tokens: run.tokens.subarray(a, Math.min(run.T, b + 1)), layers: w.layers, distribution: (t) => run.distribution(a + t) }, offset: a };
}

/** Positions the reach summary of a trace kept as checkpoints only is measured over: its first ones. */
const SUMMARY_WINDOW = 2000;

function reach(req: Extract<WorkerRequest, { type: 'reach' }>): ReachData | null {
  const k = kept(req.key);
  if (k === undefined) return null;
  const { net } = k;
  const T = k.trace?.tokens.length ?? k.run!.T;
  let prediction: PredictionReach | null = null, predictionNote: string | null = null;
  if (req.at >= T - 1 || req.at < 0) {
    predictionNote = req.at === T - 1 ? 'The last character has no next character to predict: pick an earlier one.' : `Position ${req.at} is outside the text.`;
  } else {
    // the chart shows maxK steps; the saliency strip, back to the start of its window
    const from = req.saliencyFrom === undefined ? req.at - req.maxK : Math.max(0, Math.min(req.at - req.maxK, req.saliencyFrom));
    const maxK = Math.max(0, req.at - from);
    const { rec, offset } = reachRecord(k, req.at, maxK);
    const g = predictionGradients(net, rec, req.at - offset, { maxK });
    prediction = { at: g.at + offset, maxK: g.maxK, loss: g.loss, target: g.target, layers: g.layers, saliency: g.saliency };
  }
  if (k.summary === null || k.summary.maxK !== req.maxK) {
    // a trace kept as checkpoints is measured over its first SUMMARY_WINDOW characters (one window recomputed)
    const span = k.trace !== null ? T : Math.min(T, SUMMARY_WINDOW);
    const K = Math.min(req.maxK, span - 2);
    if (K < 1) {
      k.summary = { maxK: req.maxK, data: null, note: `The text has ${T} characters: too short to measure how far gradients reach.` };
    } else {
      const { rec } = k.trace !== null ? reachRecord(k, 0, 0) : reachRecord(k, span - 1, span);
      const r = gradientReach(net, rec, reachPositions(span, SUMMARY_POSITIONS, K), K);
      const notes = [
        ...(K < req.maxK ? [`The text has ${T} characters: the reach is measured ${K} steps back, not ${req.maxK}.`] : []),
        ...(span < T ? [`Measured over the first ${span.toLocaleString('en-US')} characters: this trace is kept as checkpoints (memory budget).`] : []),
      ];
      k.summary = {
        maxK: req.maxK,
        data: { positions: r.positions.length, maxK: K, layers: r.layers, horizon: r.horizon, horizonC: r.horizonC, threshold: REACH_THRESHOLD },
        note: notes.length ? notes.join(' ') : null,
      };
    }
  }
  const layer = Math.max(0, Math.min(net.cfg.layers - 1, req.layer));
  const at = Math.max(0, Math.min(T - 1, req.at));
  const fr = reachRecord(k, at, req.maxK);
  const f = stepFactors(net, fr.rec, layer, at - fr.offset, Math.min(req.maxK, at - fr.offset));
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
    resumableFrom: m.training?.step ?? null, trainOptions: m.training?.options ?? null, warnings: m.warnings, history: m.history ?? null,
  };
}
