import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../src/engine/trainer';
import { EngineClient } from '../../src/host/engineClient';
import { modelFacts, prepareTraceText, rnnComparisonOptions } from '../../src/panels/traceInput';
import { TrainingRecorder } from '../../src/panels/training';
import type { CompareData, HostToWebview, TrainingSample } from '../../src/protocol/webview';
import type { TrainProgress } from '../../src/protocol/worker';

/**
 * Real fixtures for the standalone page, made by the engine in its worker (dist/worker.js) exactly as the
 * extension makes them: a model trained on examples/memory.md (progress reports and samples recorded), its
 * trace, and a vanilla RNN trained the same way for the gradient comparison. Models are cached in
 * test/artifacts/webview/cache/ so that only the first run trains.
 */
export const ROOT = path.join(__dirname, '../..');
const CACHE = path.join(ROOT, 'test/artifacts/webview/cache');

export interface Scenario {
  readonly init: Extract<HostToWebview, { type: 'init' }>;
  readonly compare: CompareData | null;
  /** Progress of the training run, replayed by the fake host for the live dashboard. */
  readonly replay: { readonly progress: readonly TrainProgress[]; readonly samples: readonly TrainingSample[] } | null;
}

interface Spec {
  readonly name: string;
  readonly text: () => string;
  readonly options: TrainOptions;
  readonly compare: boolean;
  readonly evalEvery: number;
  readonly checkpointEvery: number;
}

const memory = (): string => readFileSync(path.join(ROOT, 'examples/memory.md'), 'utf8');

export const SPECS: Record<string, Spec> = {
  demo: { name: 'memory-lstm-2x64', text: memory, compare: true, evalEvery: 25, checkpointEvery: 100,
    options: { ...DEFAULT_TRAIN_OPTIONS, cell: 'lstm', layers: 2, hidden: 64, embed: 32, seq: 64, batch: 16, steps: 600, seed: 1, valFrac: 0.1 } },
  gru: { name: 'memory-gru-1x48', text: memory, compare: false, evalEvery: 25, checkpointEvery: 100,
    options: { ...DEFAULT_TRAIN_OPTIONS, cell: 'gru', layers: 1, hidden: 48, embed: 24, seq: 64, batch: 16, steps: 300, seed: 2, valFrac: 0.1 } },
  rnn: { name: 'memory-rnn-1x48', text: memory, compare: false, evalEvery: 25, checkpointEvery: 100,
    options: { ...DEFAULT_TRAIN_OPTIONS, cell: 'rnn_tanh', layers: 1, hidden: 48, embed: 24, seq: 64, batch: 16, steps: 300, seed: 2, valFrac: 0.1 } },
  // the speed target: 10,000 characters on a 2-layer × 256 LSTM (a few steps of training: the numbers are real)
  bench: { name: 'bench-lstm-2x256', text: () => memory().repeat(3).slice(0, 10_000), compare: false, evalEvery: 10, checkpointEvery: 0,
    options: { ...DEFAULT_TRAIN_OPTIONS, cell: 'lstm', layers: 2, hidden: 256, embed: 64, seq: 64, batch: 8, steps: 20, seed: 3, valFrac: 0.05 } },
};

interface Trained {
  readonly bytes: Uint8Array;
  readonly progress: TrainProgress[];
  readonly samples: TrainingSample[];
}

/** Trains (or loads from the cache) a model; records progress and a sample at each checkpoint. */
async function train(engine: EngineClient, key: string, text: string, options: TrainOptions, spec: Spec, log: (s: string) => void): Promise<Trained> {
  const file = path.join(CACHE, `${key}.safetensors`);
  const meta = path.join(CACHE, `${key}.json`);
  if (existsSync(file) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { progress: TrainProgress[]; samples: TrainingSample[] };
    return { bytes: new Uint8Array(readFileSync(file)), ...m };
  }
  log(`training ${key} (${options.cell} ${options.layers}×${options.hidden}, ${options.steps} steps)…`);
  const runId = engine.newRunId();
  const progress: TrainProgress[] = [];
  const samples: TrainingSample[] = [];
  const pending: Promise<void>[] = [];
  let final: Uint8Array | null = null;
  const run = engine.train({ runId, text, source: path.basename(spec.name), options, resume: null, evalEvery: spec.evalEvery,
    checkpointEvery: spec.checkpointEvery, totalSteps: options.steps });
  run.onProgress((p) => progress.push(p));
  run.onCheckpoint((c) => {
    if (c.final) final = c.bytes;
    pending.push(engine.sample(engine.newRunId(), c.bytes, { prime: '', length: 180, temperature: 0.8, topK: 0, greedy: false }, c.step)
      .then((s) => { samples.push({ step: c.step, text: s }); }));
  });
  await run.started;
  const end = await run.finished;
  if (end.progress) progress.push(end.progress);
  if (end.reason === 'error') throw new Error(end.error?.message);
  await Promise.all(pending);
  samples.sort((a, b) => a.step - b.step);
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(file, final!);
  writeFileSync(meta, JSON.stringify({ progress, samples }));
  return { bytes: final!, progress, samples };
}

export async function buildScenario(name: string, log: (s: string) => void = () => {}): Promise<Scenario> {
  const spec = SPECS[name];
  if (!spec) throw new Error(`no scenario ${name}`);
  const engine = new EngineClient(path.join(ROOT, 'dist/worker.js'));
  try {
    const text = spec.text();
    const model = await train(engine, spec.name, text, spec.options, spec, log);
    const summary = await engine.describe(model.bytes);
    const input = prepareTraceText(text, null, summary.vocab, 200_000);
    const t0 = performance.now();
    const trace = await engine.trace(model.bytes, input.text);
    log(`traced ${input.text.length} characters in ${(performance.now() - t0).toFixed(0)} ms`);
    const rec = new TrainingRecorder(1, `Training ${spec.name}.safetensors`);
    for (const p of model.progress) rec.add(p);
    rec.samples.push(...model.samples);
    rec.finished = { reason: 'done', message: null };
    let compare: CompareData | null = null;
    if (spec.compare) {
      const options = rnnComparisonOptions(summary, DEFAULT_TRAIN_OPTIONS);
      const rnn = await train(engine, `${spec.name}-rnn-compare`, text, options, spec, log);
      const rt = await engine.trace(rnn.bytes, input.text);
      compare = { label: `vanilla RNN ${options.layers}×${options.hidden}, ${options.steps} steps, seed ${options.seed}`, loss: rt.loss,
        layers: rt.layers.map((l) => ({ gradH: l.gradH, gradC: l.gradC })) };
    }
    const docName = name === 'bench' ? 'bench-10k.txt' : 'memory.md';
    return {
      init: {
        type: 'init',
        target: { model: `file:///fixtures/${spec.name}.safetensors`, document: `file:///fixtures/${docName}`, range: null, runId: 1 },
        model: modelFacts(`${spec.name}.safetensors`, summary),
        trace: { trace, documentName: docName, first: input.first, total: input.total, notices: input.notices },
        compare: null,
        training: rec.history(),
        status: null,
      },
      compare,
      replay: { progress: model.progress, samples: model.samples },
    };
  } finally {
    engine.dispose();
  }
}
