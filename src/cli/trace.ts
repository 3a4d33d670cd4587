import * as path from 'node:path';
import { rowHelpers } from '../engine/backend';
import { GatescopeError } from '../engine/errors';
import { nodeThreads } from '../engine/parallel/nodeThreads';
import { DEFAULT_TOP_K } from '../engine/predictions';
import { checkPosition, predictionGradients } from '../engine/reach';
import { TraceRun } from '../engine/traceRun';
import { GATE_NAMES, isPlainRnn } from '../engine/types';
import type { Vocabulary } from '../engine/vocab';
import type { Trace } from '../engine/trace';
import { traceToJson as sharedTraceToJson, type PredictionJson } from '../protocol/traceJson';
import type { TraceFileShape } from '../protocol/traceFile';
import { outputName, prepareOutput, readModelFile, readTextFile, STDOUT } from './files';
import { openTraceSink, type TraceFormat, type TraceSink } from './traceOut';

export interface TraceCliOptions {
  model: string;
  input: string;
  /** The output; its extension says the format (.json or .safetensors); `-` is JSON on standard output. */
  out?: string;
  /** The output as JSON whatever its name (`--json`, kept from before `--out`). */
  json?: string;
  /** Most likely characters kept per position (default DEFAULT_TOP_K). */
  topK?: number;
  /** Also the whole (T, V) distribution. */
  fullProbs?: boolean;
  /** The layers written, "0,1" (0-based; default all). */
  layers?: string;
  /** "a:b", positions [a, b) of the text (either may be left out). */
  range?: string;
  paramGrads?: boolean;
  lossAt?: number;
  /** Tests: timesteps per segment (default: the engine's segmentLength). */
  segment?: number;
}

/**
 * `gatescope trace`: the text through the model in segments (engine/traceRun.ts), each segment's internals written
 * to the output as it comes (traceOut.ts), then the gradient norms from a second, segmented pass: memory stays that
 * of a segment plus the per-position predictions, whatever the text's length.
 *
 * With `--range a:b` the text is traced from its start to b (the states at a carry everything before it, and every
 * value equals a trace of the whole text's), only positions a…b−1 are written, and nothing after b is computed:
 * the loss and the gradient norms are those of the text up to b (pNext at b − 1 is still the probability of the
 * character at b, which the text has).
 *
 * Returns the exit code: 0, or 130 when Ctrl-C stopped it (nothing written, no temporary file left).
 */
export async function runTrace(o: TraceCliOptions): Promise<number> {
  const out = outputOf(o);
  const rangeAsked = o.range === undefined ? null : parseRange(o.range);
  const layersAsked = o.layers === undefined ? null : parseLayers(o.layers);
  prepareOutput(out.target, [o.model, o.input], out.option);
  const m = readModelFile(o.model);
  const all = m.vocab.encode(readTextFile(o.input));
  const net = m.net;
  const c = net.cfg;
  const [a, b] = rangeAsked === null ? [0, all.length] : checkRange(o.range!, rangeAsked, all.length);
  const layers = layersAsked === null ? Array.from({ length: c.layers }, (_, l) => l) : checkLayers(o.layers!, layersAsked, c.layers);
  const k = o.topK ?? DEFAULT_TOP_K;
  if (k > c.vocabSize) {
    throw new GatescopeError(`--top-k ${k} is more than the model's vocabulary of ${c.vocabSize} characters (V = ${c.vocabSize}): use at most ${c.vocabSize}`);
  }
  const lossAt = o.lossAt ?? null;
  if (lossAt !== null) checkLossAt(lossAt, a, b, all.length, rangeAsked !== null ? o.range! : null);
  const H = c.hidden;
  const shape: TraceFileShape = {
    cell: c.cell, vocab: m.vocab.chars, hidden: H, modelLayers: c.layers, layers,
    gates: isPlainRnn(c.cell) ? [] : GATE_NAMES[c.cell], hasC: c.cell === 'lstm', T: b - a, k,
    fullProbs: !!o.fullProbs, saliency: lossAt !== null,
    paramGrads: o.paramGrads ? net.layout.tensors.map((t) => ({ name: t.name, shape: t.shape })) : null,
  };
  const known = { text: m.vocab.decode(all.subarray(a, b)), range: rangeAsked === null ? null : [a, b] as const, lossAt };

  const run = new TraceRun(net, all.subarray(0, b), { segment: o.segment, topK: k, rowHelper: rowHelpers(nodeThreads), textLength: all.length });
  let sink: TraceSink | null = null;
  let stop: ReturnType<typeof interruption> | null = null;
  const interrupted = (): number => {
    sink?.abort();
    process.stderr.write(out.target === STDOUT ? 'interrupted\n' : `interrupted: ${out.target} not written\n`);
    return 130;
  };
  try {
    const file = sink = openTraceSink(out.format, out.target, shape, known);
    const ctrlC = stop = interruption();
    // the forward, segment by segment: the rows inside the range as they come
    for (let s = run.next(); s !== null; s = run.next()) {
      const from = Math.max(a, s.start), to = Math.min(b, s.end);
      if (from < to) {
        for (const l of layers) {
          const r = s.layers[l]!;
          const rows = (q: string, x: Float32Array): void => file.rows(`layers.${l}.${q}`, x.subarray((from - s!.start) * H, (to - s!.start) * H), from - a, to - a);
          for (const g of shape.gates) rows(g, r.gates[g]!);
          if (r.c) rows('c', r.c);
          rows('h', r.h);
        }
        if (shape.fullProbs) {
          const V = c.vocabSize;
          const probs = new Float32Array((to - from) * V); // (to − from, V)
          for (let t = from; t < to; t++) probs.set(run.distribution(t), (t - from) * V);
          file.rows('probs', probs, from - a, to - a);
        }
      }
      await ctrlC.breathe();
      if (ctrlC.requested) return interrupted();
    }
    const p = run.predictions;
    const pNext = p.pNext.slice(a, b);
    // the prediction at b − 1 is of the character at b: the text has it, though the trace stops before it
    if (b < all.length) pNext[b - 1 - a] = run.distribution(b - 1)[all[b]!]!;
    file.whole('tokens', all.slice(a, b));
    file.whole('top_ids', p.topIds.subarray(a * p.k, b * p.k));
    file.whole('top_probs', p.topProbs.subarray(a * p.k, b * p.k));
    file.whole('p_next', pNext);
    file.whole('entropy', p.entropy.subarray(a, b));

    // the backward in segments, Ctrl-C heard between two of them
    const steps = run.gradientSteps({ lossAt: lossAt ?? undefined, paramGrads: !!o.paramGrads });
    let step = steps.next();
    while (!step.done) {
      await ctrlC.breathe();
      if (ctrlC.requested) return interrupted();
      step = steps.next();
    }
    const g = step.value;
    for (const l of layers) {
      file.whole(`layers.${l}.grad_h`, g.gradH[l]!.subarray(a, b));
      if (g.gradC[l]) file.whole(`layers.${l}.grad_c`, g.gradC[l]!.subarray(a, b));
    }
    let lossAtValue: number | null = null;
    if (lossAt !== null) {
      const pg = ctrlC.blocking(() => saliencyOf(run, all.subarray(0, b), lossAt));
      file.whole('saliency', pg.saliency.subarray(a, b));
      lossAtValue = pg.loss;
    }
    if (o.paramGrads) {
      for (const t of net.layout.tensors) file.whole(`param_grads.${t.name}`, net.grads.subarray(t.offset, t.offset + t.size) as Float32Array);
    }
    const loss = run.loss;
    if (!(await file.finish({ ...known, loss, lossAtValue }, () => ctrlC.requested))) return interrupted();

    const what = rangeAsked === null ? `${all.length} characters` : `positions ${a}…${b - 1} of ${all.length} characters (the text up to ${b})`;
    const at = lossAt === null ? '' : `; gradients of the prediction at ${lossAt} (loss ${lossAtValue!.toFixed(4)} nats)`;
    process.stderr.write(`traced ${what}: loss ${loss.toFixed(4)} nats/char${at}; wrote ${outputName(out.target)}\n`);
    return 0;
  } catch (e) {
    sink?.abort();
    throw e;
  } finally {
    run.dispose();
    stop?.dispose();
  }
}

/**
 * The saliency ‖∂L_T/∂e_t‖ of every character before the prediction at T, and L_T, from reach.ts's float64
 * backward over the internals of positions 0…T, recomputed from the run's checkpoints: the one part of a trace
 * whose memory grows with the text, (T + 1)·L·(G + 2)·H floats, and only with `--loss-at`.
 */
function saliencyOf(run: TraceRun, tokens: Int32Array, at: number): { saliency: Float32Array; loss: number } {
  const w = run.window(0, at + 1);
  const g = predictionGradients(run.net, { tokens, distribution: (t) => run.distribution(t), layers: w.layers }, at);
  const saliency = new Float32Array(tokens.length);
  for (let k = 0; k <= g.maxK; k++) saliency[at - k] = g.saliency[k]!;
  return { saliency, loss: g.loss };
}

/**
 * Ctrl-C (and SIGTERM) while a trace is written: seen between segments and chunks, where the event loop runs, so
 * the temporary files are removed before exiting 130. The backward is one synchronous call (TraceRun.gradients);
 * during it the handlers are off and a Ctrl-C ends the process at once, as it would without them: a handler could
 * only run once the backward returned, up to a minute later on a long text. The temporary files it leaves are
 * named as prepareOutput recognises a dead writer's and removed the next time that output is written.
 */
function interruption(): { readonly requested: boolean; breathe(): Promise<void>; blocking<T>(f: () => T): T; dispose(): void } {
  let requested = false;
  const on = (): void => { requested = true; };
  const attach = (): void => { process.on('SIGINT', on); process.on('SIGTERM', on); };
  const detach = (): void => { process.off('SIGINT', on); process.off('SIGTERM', on); };
  attach();
  return {
    get requested() { return requested; },
    breathe: () => new Promise((r) => setImmediate(r)),
    blocking(f) {
      detach();
      try {
        return f();
      } finally {
        attach();
      }
    },
    dispose: detach,
  };
}

/** The output, its format and the option that named it. */
function outputOf(o: TraceCliOptions): { target: string; format: TraceFormat; option: string } {
  if (o.out !== undefined && o.json !== undefined) throw new GatescopeError('--out and --json both name the output: give one (--json FILE is --out with JSON under any name)');
  if (o.json !== undefined) return { target: o.json, format: 'json', option: '--json' };
  if (o.out === undefined) throw new GatescopeError('say where to write the trace: --out FILE.json or FILE.safetensors (- for JSON on standard output)');
  if (o.out === STDOUT) return { target: o.out, format: 'json', option: '--out' };
  const ext = path.extname(o.out).toLowerCase();
  if (ext === '.json') return { target: o.out, format: 'json', option: '--out' };
  if (ext === '.safetensors') return { target: o.out, format: 'safetensors', option: '--out' };
  throw new GatescopeError(`--out ${o.out}: the format comes from the extension, .json or .safetensors${ext ? `, not ${ext}` : ''} (--json FILE writes JSON under any name)`);
}

/** `--range a:b` as written: either end may be left out (the text's start, its end). */
function parseRange(s: string): { a: number | null; b: number | null } {
  const m = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(s);
  if (!m || (m[1] !== '' && !Number.isSafeInteger(Number(m[1]))) || (m[2] !== '' && !Number.isSafeInteger(Number(m[2])))) {
    throw new GatescopeError(`--range ${s}: write a:b, the positions from a to b (b excluded, 0-based), e.g. 100:600; either may be left out (:600, 100:)`);
  }
  return { a: m[1] === '' ? null : Number(m[1]), b: m[2] === '' ? null : Number(m[2]) };
}

function checkRange(s: string, r: { a: number | null; b: number | null }, T: number): [number, number] {
  const a = r.a ?? 0, b = r.b ?? T;
  const positions = `the text has ${T.toLocaleString('en-US')} character${T === 1 ? '' : 's'} (positions 0…${T - 1})`;
  if (b > T) throw new GatescopeError(`--range ${s} ends beyond the text: ${positions}; the end may be at most ${T}`);
  if (a >= T) throw new GatescopeError(`--range ${s} starts beyond the text: ${positions}`);
  if (a >= b) throw new GatescopeError(`--range ${s} is empty: its start (${a}) must come before its end (${b}, excluded)`);
  return [a, b];
}

/** `--layers 0,1` as written: 0-based layer numbers, each once, ascending. */
function parseLayers(s: string): number[] {
  const parts = s.split(',').map((x) => x.trim());
  if (parts.some((x) => !/^\d+$/.test(x))) throw new GatescopeError(`--layers ${s}: write layer numbers separated by commas, 0-based, e.g. 0,1`);
  return [...new Set(parts.map(Number))].sort((x, y) => x - y);
}

function checkLayers(s: string, asked: number[], L: number): number[] {
  const outside = asked.filter((l) => l >= L);
  if (outside.length) {
    throw new GatescopeError(`--layers ${s}: this model has ${L} layer${L === 1 ? '' : 's'}, ${L === 1 ? 'layer 0' : `0…${L - 1}`} (0-based); there is no layer ${outside.join(', ')}`);
  }
  return asked;
}

/** The prediction differentiated must be inside the text traced and, with a range, inside it with its target. */
function checkLossAt(at: number, a: number, b: number, T: number, range: string | null): void {
  if (range === null) return checkPosition(T, at);
  if (at < a || at > b - 2) {
    const inside = b - 2 >= a ? `the predictions inside it are at ${a}…${b - 2}` : 'it holds no prediction of a character inside it';
    throw new GatescopeError(`--loss-at ${at} is outside --range ${range}: ${inside} (the one at ${b - 1} predicts the character after the range)`);
  }
}

/** The trace as JSON, in the schema the inspector exports too (src/protocol/traceJson.ts). */
export function traceToJson(trace: Trace & { prediction?: PredictionJson }, vocab: Vocabulary, cell: string, H: number): string {
  return sharedTraceToJson(trace, vocab.chars, cell, H);
}
