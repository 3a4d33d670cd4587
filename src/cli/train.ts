import { SingleBar } from 'cli-progress';
import { EXPLODE_PRESET } from '../engine/presets';
import * as path from 'node:path';
import { GatescopeError } from '../engine/errors';
import { encodeModelFile, type ModelFile } from '../engine/modelfile';
import { estimateRun } from '../engine/limits';
import { prepareRun, type PreparedRun } from '../engine/run';
import { Vocabulary } from '../engine/vocab';
import { DEFAULT_TRAIN_OPTIONS, MAX_STEPS, type StepReport, type TrainOptions } from '../engine/trainer';
import { attachWorkers } from '../engine/parallel/attach';
import { availableCores, nodeThreads } from '../engine/parallel/nodeThreads';
import { resolveWorkers, resumeWorkers } from '../engine/parallel/workers';
import { joinPieces, resumeProvenance, sha256Hex, type Provenance } from '../models/provenance';
import { describeSizedDefaults, sizedDefaults } from '../engine/schedule';
import { MetricsWriter } from './metrics';
import { lockOutput, outputName, prepareOutput, readModelFile, readTextFile, STDOUT, writeOutput } from './files';

export interface TrainCliOptions {
  out: string;
  cell: TrainOptions['cell'];
  layers: number; hidden: number; embed: number; seq: number; batch: number;
  lr: number; clip: number; clipMode: TrainOptions['clipMode'];
  steps?: number; epochs?: number; valFrac: number; seed: number;
  evalEvery: number; saveEvery: number; resume?: string; quiet?: boolean;
  /** Threads that split each batch, or 'auto' (parallel/workers.ts: the cores; on a resume, the model's count). */
  workers: number | 'auto';
  /** Print the result as JSON on standard output (the model, steps, losses, speed). */
  json?: boolean;
  /** Steps between two diagnostics steps (per-tensor norms; trainer.ts DEFAULT_STATS_EVERY when absent). */
  statsEvery?: number;
  /** Where to log the diagnostics steps as the run goes: FILE.jsonl or FILE.csv (metrics.ts). */
  metrics?: string;
  /** A ready-made run: `explode` (EXPLODE_PRESET). */
  preset?: string;
  /** Recurrent weight scale at initialisation (TrainOptions.initScale; the presets set it). */
  initScale?: number;
  /**
   * The options the command line named (the rest are defaults). A resume takes the run's own settings for the
   * others, so that `--resume M --steps N` continues the run as it was, not with the defaults.
   */
  given?: ReadonlySet<string>;
}

/** The settings a resume keeps from the run it continues unless the command line names them. */
const RUN_SETTINGS = ['seq', 'batch', 'lr', 'clip', 'clipMode', 'valFrac', 'seed'] as const;

/** Time the loop runs before it yields to the event loop (Ctrl-C, progress output). */
const SLICE_MS = 100;

/** What one training run leaves for a caller that compares runs (the explode preset). */
export interface RunRecord {
  /** The global gradient norm (before clipping) of every step taken. */
  readonly norms: number[];
  finalLoss: number | null;
  /** The error that stopped the run early (non-finite numbers), else null. */
  stopped: string | null;
}

export async function runTrain(files: string[], o: TrainCliOptions): Promise<number> {
  if (o.preset !== undefined) {
    if (o.preset !== 'explode') throw new GatescopeError(`unknown preset ${o.preset}: the one preset is explode`);
    return runExplode(files, o);
  }
  return trainOnce(files, o, { norms: [], finalLoss: null, stopped: null });
}

async function trainOnce(files: string[], o: TrainCliOptions, record: RunRecord): Promise<number> {
  if (o.steps !== undefined && o.epochs !== undefined) throw new GatescopeError('give --steps or --epochs, not both');
  if (o.out === STDOUT && o.json) throw new GatescopeError('--out - writes the model to standard output: --json cannot share it; write the model to a file');
  prepareOutput(o.out, files, '--out');
  const text = joinTexts(files.map((f) => readTextFile(f)));
  const resume: ModelFile | undefined = o.resume ? readModelFile(o.resume) : undefined;
  let provenance = sourcesOf(files, o.out, text);
  if (resume) {
    const kept = resumeProvenance(resume.info, provenance, (p) => path.basename(p));
    // the old record's paths are relative to the old model's folder: keep them only when the model stays there
    const sameFolder = path.dirname(path.resolve(o.resume!)) === path.dirname(path.resolve(o.out));
    if (sameFolder || kept.provenance.textHash !== provenance.textHash) provenance = kept.provenance;
    if (kept.warning) warn(kept.warning);
  }
  let options: TrainOptions = {
    cell: o.cell, layers: o.layers, hidden: o.hidden, embed: o.embed, seq: o.seq, batch: o.batch,
    lr: o.lr, clip: o.clip, clipMode: o.clipMode, valFrac: o.valFrac, seed: o.seed,
    steps: o.steps ?? DEFAULT_TRAIN_OPTIONS.steps,
    ...(o.statsEvery !== undefined ? { statsEvery: o.statsEvery } : {}),
    ...(o.initScale !== undefined ? { initScale: o.initScale } : {}),
  };
  // a fresh run the command line did not size: steps (and, for a small text, hidden units) sized to the text
  if (!resume && o.steps === undefined && o.epochs === undefined) {
    const d = sizedDefaults(text.length, options.batch, options.seq);
    options = { ...options, steps: d.steps, ...(o.given && !o.given.has('hidden') ? { hidden: d.hidden } : {}) };
    process.stderr.write(`note: sized to the text: ${describeSizedDefaults(text.length, options)}; --steps, --epochs and --hidden choose others\n`);
  }
  const was = resume?.training?.options;
  if (was && o.given) {
    const kept = RUN_SETTINGS.filter((k) => !o.given!.has(k) && was[k] !== options[k]);
    options = { ...options, ...Object.fromEntries(kept.map((k) => [k, was[k]])) };
    const changed = RUN_SETTINGS.filter((k) => o.given!.has(k) && was[k] !== options[k]);
    if (changed.length) warn(`the resume changes ${changed.map((k) => `${k} ${was[k]} → ${options[k]}`).join(', ')} from the run it continues`);
  }
  // before anything is allocated: a model that will take minutes a step (or gigabytes) says so first
  const shape = resume ? resume.net.cfg : { ...options, vocabSize: Vocabulary.fromText(text).size };
  const estimate = estimateRun(shape, options.seq, options.batch).warning;
  if (estimate) warn(estimate);
  const run = prepareRun(text, options, resume);
  const { trainer, net, vocab } = run;
  let total = resume ? o.steps ?? DEFAULT_TRAIN_OPTIONS.steps : options.steps;
  if (o.epochs !== undefined) {
    total = Math.max(1, Math.round(o.epochs * trainer.plan.stepsPerEpoch)) + (resume ? trainer.step : 0);
    if (total > MAX_STEPS) {
      throw new GatescopeError(`--epochs ${o.epochs} is ${total.toExponential(1)} steps on this text, more than the ${MAX_STEPS.toExponential(0)} a run may take; give fewer epochs`);
    }
  }
  for (const w of resume?.warnings ?? []) warn(w);
  for (const w of run.warnings) warn(w);
  const c = net.cfg;
  const log = (s: string): void => { process.stderr.write(s + '\n'); };
  if (trainer.step >= total) {
    log(`the model has already trained ${trainer.step} steps (≥ ${total}); nothing to do`);
    return 0;
  }
  // against the batch the text allows (a short text shrinks it), so that auto always splits it
  const cores = availableCores();
  const recorded = resume?.training?.options.workers;
  // a model without a training state starts its optimiser afresh: there is no run to continue exactly
  const asked = resume?.training
    ? resumeWorkers(o.workers, recorded, cores, trainer.plan.batch)
    : { workers: resolveWorkers(o.workers, cores, trainer.plan.batch), note: null, warning: null };
  if (asked.note) log(`note: ${asked.note}`);
  if (asked.warning) warn(asked.warning);
  const parallel = attachWorkers(run, asked.workers, nodeThreads, Math.min(asked.workers, cores));
  if (parallel.warning) warn(parallel.warning);
  const why = o.workers !== 'auto' ? '' : asked.workers === recorded ? ' (auto: the model\'s count)' : ` (auto: ${cores} core${cores === 1 ? '' : 's'})`;
  log(`${c.cell} ${c.layers}×${c.hidden}, embed ${c.embed}, vocab ${vocab.size}, ${net.params.length.toLocaleString('en-US')} parameters, ` +
    `${parallel.workers} worker${parallel.workers === 1 ? '' : 's'}${why}; ` +
    `${run.tokens.length.toLocaleString('en-US')} characters (${trainer.plan.valLength.toLocaleString('en-US')} held out), seq ${trainer.plan.seq} × batch ${trainer.plan.batch}`);
  // the metrics file opens before training starts, so a bad path stops the run before a step is taken
  const metrics = o.metrics === undefined ? null
    : new MetricsWriter(o.metrics, net.layout.tensors.map((t) => t.name), [o.out, ...files, ...(o.resume ? [o.resume] : [])], resume !== undefined,
      (s) => log(`note: ${s}`));
  const unlock = lockOutput(o.out);
  // one writer per model file: a second run training into it is refused with the first one's pid
  try {

    let interrupted = false;
    const onSigint = (): void => { interrupted = true; };
    process.on('SIGINT', onSigint);
    const bar = o.quiet ? null : new SingleBar({
      format: 'step {value}/{total} |{bar}| loss {loss} | val {val} | {speed} chars/s | ETA {eta_formatted}',
      barsize: 24, etaBuffer: 50, fps: 5, noTTYOutput: true, notTTYSchedule: 5000, hideCursor: true, stream: process.stderr,
    });
    let valLoss = NaN;
    let last: StepReport | null = null;
    let chars = 0;
    const started = performance.now();
    bar?.start(total, trainer.step, { loss: '—', val: '—', speed: '—' });
    const save = (final = false): void => {
      // on standard output only the final model: checkpoints would be concatenated files
      if (o.out === STDOUT && !final) return;
      writeOutput(o.out, encodeModelFile(net, vocab, {
        ...provenance, source: files.map((f) => path.basename(f)).join(', '), steps: trainer.step, loss: last?.loss, valLoss: Number.isNaN(valLoss) ? undefined : valLoss,
        trainedChars: (resume?.info.trainedChars ?? 0) + chars, created: new Date().toISOString(),
      }, parallel.snapshot()));
    };
    try {
      while (trainer.step < total && !interrupted) {
        const sliceEnd = performance.now() + SLICE_MS;
        while (trainer.step < total && performance.now() < sliceEnd) {
          last = trainer.trainStep(trainer.step + 1 === total);
          chars += last.chars;
          record.norms.push(last.gradNorm);
          record.finalLoss = last.loss;
          const validated = trainer.step % o.evalEvery === 0 || trainer.step === total;
          if (validated) valLoss = trainer.validate();
          if (metrics && last.diagnostics) {
            metrics.add({ step: last.step, loss: last.loss, valLoss: validated && !Number.isNaN(valLoss) ? valLoss : null, gradNorm: last.gradNorm, clipRatio: last.clipRatio, diagnostics: last.diagnostics });
          }
          if (o.saveEvery > 0 && trainer.step % o.saveEvery === 0 && trainer.step < total) save();
        }
        const seconds = (performance.now() - started) / 1000;
        bar?.update(trainer.step, { loss: last!.loss.toFixed(3), val: Number.isNaN(valLoss) ? '—' : valLoss.toFixed(3), speed: Math.round(chars / seconds).toLocaleString('en-US') });
        await new Promise((r) => setImmediate(r));
      }
    } catch (e) {
      bar?.stop();
      if (e instanceof GatescopeError && e.code === 'non-finite') record.stopped = e.message;
      if (e instanceof GatescopeError && e.code === 'non-finite' && trainer.step > 0) {
        save(true); // the parameters are still the last good ones
        log(`saved the last good model (step ${trainer.step}) to ${outputName(o.out)}`);
      }
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
      parallel.detach();
      metrics?.close();
    }
    bar?.stop();
    save(true);
    const seconds = (performance.now() - started) / 1000;
    const summary = `step ${trainer.step}: loss ${last?.loss.toFixed(4) ?? '—'}, validation ${Number.isNaN(valLoss) ? '—' : valLoss.toFixed(4)}; ` +
      `${Math.round(chars / seconds).toLocaleString('en-US')} chars/s over ${seconds.toFixed(1)} s`;
    if (o.json) {
      process.stdout.write(JSON.stringify({
        model: path.resolve(o.out), interrupted, step: trainer.step, totalSteps: total, loss: last?.loss ?? null,
        valLoss: Number.isNaN(valLoss) ? null : valLoss, chars, seconds, charsPerSecond: Math.round(chars / seconds),
        config: c, parameters: net.params.length, vocab: vocab.size, workers: parallel.workers,
      }, null, 2) + '\n');
    }
    if (interrupted) {
      log(`interrupted at ${summary}\ncheckpoint saved to ${outputName(o.out)}${o.out === STDOUT ? '' : `; continue with --resume ${o.out}`}`);
      return 130;
    }
    log(`${summary}\nmodel saved to ${outputName(o.out)}`);
    return 0;
  } finally {
    unlock();
  }
}

function warn(s: string): void {
  process.stderr.write(`warning: ${s}\n`);
}

/** Concatenates texts, with a newline between two where the first does not end with one. */
export function joinTexts(texts: string[]): string {
  return joinPieces(texts, 'newline-if-missing');
}

/**
 * What the model records of its text: the files as '/'-separated paths relative to the model's folder (so that a
 * repository's models find their texts on any machine; absolute when on another drive), the join, the hash.
 */
export function sourcesOf(files: readonly string[], out: string, text: string): Provenance {
  const dir = path.dirname(path.resolve(out));
  const sources = files.map((f) => {
    const rel = path.relative(dir, path.resolve(f));
    return { uri: (path.isAbsolute(rel) ? rel : rel.split(path.sep).join('/')) };
  });
  return { sources, join: 'newline-if-missing', textHash: sha256Hex(text) };
}

export type { PreparedRun };

/**
 * `--preset explode`: a tanh RNN whose recurrent weights start EXPLODE_PRESET.initScale times PyTorch's scale, trained
 * with a high learning rate, first without clipping (into --out) and then the same run with clipping at 1 (into --out
 * with "-clipped" before the extension; --metrics likewise), each with its gradient norms summarised. Options given
 * on the command line override the preset's.
 */
export { EXPLODE_PRESET };

/** `model.safetensors` → `model-clipped.safetensors`. */
export function clippedName(file: string): string {
  const ext = path.extname(file);
  return file.slice(0, file.length - ext.length) + '-clipped' + ext;
}

async function runExplode(files: string[], o: TrainCliOptions): Promise<number> {
  if (o.resume) throw new GatescopeError('--preset explode trains two fresh runs: it cannot --resume');
  if (o.out === STDOUT) throw new GatescopeError('--preset explode writes two models: give --out a file');
  const given = o.given ?? new Set<string>();
  const p = EXPLODE_PRESET;
  const pick = <K extends keyof typeof p>(k: K): TrainCliOptions[K] => (given.has(k) ? o[k] : p[k]) as TrainCliOptions[K];
  const base: TrainCliOptions = {
    ...o, preset: undefined, cell: pick('cell'), layers: pick('layers'), hidden: pick('hidden'), embed: pick('embed'), seq: pick('seq'),
    batch: pick('batch'), lr: pick('lr'), initScale: given.has('initScale') ? o.initScale : p.initScale, clipMode: 'norm',
    steps: o.steps ?? (o.epochs === undefined ? p.steps : undefined), given: new Set([...given, 'hidden']),
  };
  const clipAt = given.has('clip') && o.clip > 0 ? o.clip : p.clip;
  const runs = [
    { label: 'without clipping', o: { ...base, clip: 0 } },
    { label: `clipped at ${clipAt}`, o: { ...base, clip: clipAt, out: clippedName(o.out), ...(o.metrics ? { metrics: clippedName(o.metrics) } : {}) } },
  ];
  const records: RunRecord[] = [];
  for (const r of runs) {
    process.stderr.write(`--preset explode: ${r.label} → ${r.o.out}\n`);
    const record: RunRecord = { norms: [], finalLoss: null, stopped: null };
    try {
      const code = await trainOnce(files, r.o, record);
      if (code !== 0) return code;
    } catch (e) {
      if (!(e instanceof GatescopeError && e.code === 'non-finite')) throw e;
      process.stderr.write(`${e.message}\n`);
    }
    records.push(record);
  }
  process.stderr.write('\ngradient norms (global, before clipping):\n');
  records.forEach((rec, i) => process.stderr.write(`  ${runs[i]!.label.padEnd(18)} ${describeNorms(rec)}\n`));
  return 0;
}

/** max, median, the steps above 10× the median, the final loss (or how the run stopped). */
export function describeNorms(r: RunRecord): string {
  const n = r.norms;
  if (n.length === 0) return 'no steps';
  const median = [...n].sort((a, b) => a - b)[Math.floor(n.length / 2)]!;
  let max = 0, at = 0;
  n.forEach((x, i) => { if (x > max) { max = x; at = i + 1; } });
  const spikes = n.filter((x) => x > 10 * median).length;
  return `max ${max.toPrecision(3)} at step ${at}, median ${median.toPrecision(3)}, ${spikes} step${spikes === 1 ? '' : 's'} above 10× the median, ` +
    (r.stopped ? `stopped at step ${n.length + 1} (non-finite)` : `final loss ${r.finalLoss?.toFixed(3) ?? '—'}`);
}
