import { SingleBar } from 'cli-progress';
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

export async function runTrain(files: string[], o: TrainCliOptions): Promise<number> {
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
          last = trainer.trainStep();
          chars += last.chars;
          if (trainer.step % o.evalEvery === 0 || trainer.step === total) valLoss = trainer.validate();
          if (o.saveEvery > 0 && trainer.step % o.saveEvery === 0 && trainer.step < total) save();
        }
        const seconds = (performance.now() - started) / 1000;
        bar?.update(trainer.step, { loss: last!.loss.toFixed(3), val: Number.isNaN(valLoss) ? '—' : valLoss.toFixed(3), speed: Math.round(chars / seconds).toLocaleString('en-US') });
        await new Promise((r) => setImmediate(r));
      }
    } catch (e) {
      bar?.stop();
      if (e instanceof GatescopeError && e.code === 'non-finite' && trainer.step > 0) {
        save(true); // the parameters are still the last good ones
        log(`saved the last good model (step ${trainer.step}) to ${outputName(o.out)}`);
      }
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
      parallel.detach();
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
