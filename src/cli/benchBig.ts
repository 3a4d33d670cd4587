import { rowHelpers } from '../engine/backend';
import { GatescopeError } from '../engine/errors';
import { Network } from '../engine/network';
import { nodeThreads } from '../engine/parallel/nodeThreads';
import { gradientReach, reachPositions } from '../engine/reach';
import { Rng } from '../engine/rng';
import { withForwardRecord } from '../engine/trace';
import { TraceRun } from '../engine/traceRun';
import { Vocabulary } from '../engine/vocab';
import { WasmKernels } from '../engine/wasm/wasmKernels';
import { readTextFile } from './files';

/**
 * The big-model rows of `gatescope bench` (issue 17): traces of a large LSTM and of a large vocabulary, each
 * variant in a process of its own (so that its peak RSS is its own), side by side with PyTorch's forward + backward
 * of the same sequence (bench/peers/torch_big.py). Untrained weights from the engine's initialiser: a trace does
 * the same work whatever the weights.
 *
 *  - deep: 2 × 1024 LSTM, embedding 64, the bench text's characters as the vocabulary (102 for lib.dom.d.ts);
 *  - wide: 1 × 256 LSTM, embedding 64, a vocabulary of 65,536 tokens: synthetic ids, a hash of each character and
 *    the one before it (bigTokens; torch_big.py computes the same), so that the ids vary as a text's do.
 */
export const BIG_MODELS = {
  deep: { cell: 'lstm', layers: 2, hidden: 1024, embed: 64, vocab: null },
  wide: { cell: 'lstm', layers: 1, hidden: 256, embed: 64, vocab: 65_536 },
} as const;
export type BigModel = keyof typeof BIG_MODELS;

/**
 * What each variant measures:
 *  - trace: the whole text in one unroll, forward + backward (gradient norms, no ∂θ): traceTokens' path for a text
 *    whose unroll fits its limit, run here as a one-segment TraceRun whatever the size, so the row stays the
 *    one-unroll figure (memory: unrollBytes);
 *  - run: TraceRun in segments of segmentLength(net), keep false (memory bounded by a segment, the backward
 *    recomputes each segment's forward from its checkpoint): forward (next() until done), then gradients();
 *  - reach: the gradient reach of BIG_REACH.positions predictions × BIG_REACH.maxK steps back, after the forward
 *    (withForwardRecord), as `gatescope reach` runs it.
 */
export const BIG_VARIANTS = ['trace', 'run', 'reach'] as const;
export type BigVariant = (typeof BIG_VARIANTS)[number];

export const BIG_REACH = { positions: 40, maxK: 100 } as const;

/** Which rows `gatescope bench --big` runs: short = the 2,000-character ones, all = also 10,000 characters. */
export const BIG_SETS = ['none', 'short', 'all'] as const;
export type BigSet = (typeof BIG_SETS)[number];

export interface BigJob {
  readonly model: BigModel;
  readonly chars: number;
  /** Gatescope's variants for this workload; PyTorch runs forward + backward (and the reach when it is here). */
  readonly variants: readonly BigVariant[];
}

export function bigJobs(set: BigSet): BigJob[] {
  if (set === 'none') return [];
  const jobs: BigJob[] = [
    { model: 'deep', chars: 2000, variants: ['trace', 'run', 'reach'] },
    { model: 'wide', chars: 2000, variants: ['trace', 'run'] },
  ];
  if (set === 'all') jobs.splice(1, 0, { model: 'deep', chars: 10_000, variants: ['trace', 'run'] });
  return jobs;
}

/** One measurement (Gatescope's or PyTorch's), one JSON line from its process. */
export interface BigResult {
  peer: string;
  version: string | null;
  model: BigModel;
  chars: number;
  /** Gatescope: trace, run or reach; PyTorch: fwdbwd (forward + backward) or reach. */
  variant: string;
  threads: number;
  /** Wall seconds of the whole measured work (trace: forward + backward; reach: forward + reach). */
  seconds: number | null;
  /** Seconds of the forward alone (run: every segment's; PyTorch: nn.LSTM and decoder and loss). */
  forwardSeconds?: number | null;
  /** run only: seconds until the first segment's internals are out of next() (the inspector's first paint). */
  firstPaintSeconds?: number | null;
  /** run only: timesteps per segment. */
  segment?: number;
  /** PyTorch only: reach seconds, measured in the same process after the forward + backward (its RSS not counted). */
  reachSeconds?: number | null;
  /** Peak RSS of the process, MB. */
  rssMB: number | null;
  vocab: number;
  notes: string;
  skipped?: string;
}

/** 32-bit hash of a character and the one before it, to 16 bits: the wide model's token ids (torch_big.py: the same). */
function wideId(prev: number, cur: number): number {
  const x = (Math.imul(prev, 31) + cur) >>> 0;
  return Math.imul(x, 0x9e3779b1) >>> 16;
}

/** The first `chars` tokens of the text for a model, and its vocabulary size. */
export function bigTokens(text: string, model: BigModel, chars: number): { tokens: Int32Array; V: number } {
  const codes: number[] = [];
  for (const ch of text) {
    if (codes.length === chars) break;
    codes.push(ch.codePointAt(0)!);
  }
  if (codes.length < chars) throw new GatescopeError(`the benchmark text has ${codes.length} characters, fewer than ${chars}`);
  if (model === 'wide') {
    const V = BIG_MODELS.wide.vocab;
    return { tokens: Int32Array.from(codes, (c, i) => wideId(i > 0 ? codes[i - 1]! : 0, c)), V };
  }
  const vocab = Vocabulary.fromText(text);
  return { tokens: Int32Array.from(vocab.encode(String.fromCodePoint(...codes))), V: vocab.size };
}

/** The measurement in this process: one variant, one run (after the untimed setup), one result. */
export async function benchBigRun(model: BigModel, variant: BigVariant, chars: number, dataPath: string, version: string): Promise<BigResult> {
  const text = readTextFile(dataPath);
  const { tokens, V } = bigTokens(text, model, chars);
  const m = BIG_MODELS[model];
  const net = new Network({ cell: m.cell, vocabSize: V, embed: m.embed, hidden: m.hidden, layers: m.layers });
  net.initialize(new Rng(1234));
  const rowHelper = rowHelpers(nodeThreads);
  const base = {
    peer: 'gatescope', version, model, chars, variant, threads: 1, vocab: V,
    notes: `${net.kernels instanceof WasmKernels ? `WebAssembly ${net.kernels.variant} kernels` : 'TypeScript kernels'}, row helper thread`,
  };
  let seconds: number, forwardSeconds: number | null = null, firstPaintSeconds: number | null = null, segment: number | undefined;
  const t0 = performance.now();
  if (variant === 'trace' || variant === 'run') {
    // trace: one segment of the whole text, as traceTokens runs it; run: segments of segmentLength(net)
    const run = new TraceRun(net, tokens, { rowHelper, keep: false, ...(variant === 'trace' ? { segment: chars } : {}) });
    try {
      segment = run.K;
      if (run.next() === null) throw new Error('bench: no first segment');
      if (variant === 'run') firstPaintSeconds = (performance.now() - t0) / 1000;
      run.finish();
      forwardSeconds = (performance.now() - t0) / 1000;
      run.gradients();
      seconds = (performance.now() - t0) / 1000;
    } finally {
      run.dispose();
    }
  } else {
    withForwardRecord(net, tokens, { rowHelper },
      (rec) => gradientReach(net, rec, reachPositions(chars, BIG_REACH.positions, BIG_REACH.maxK), BIG_REACH.maxK));
    seconds = (performance.now() - t0) / 1000;
  }
  return { ...base, seconds, forwardSeconds, firstPaintSeconds, segment, rssMB: process.resourceUsage().maxRSS / 1024 };
}

const MODEL_LABEL: Record<BigModel, string> = { deep: '2 × 1024 LSTM', wide: '1 × 256 LSTM, V = 65,536' };
const VARIANT_LABEL: Record<string, string> = {
  trace: 'Gatescope one unroll',
  run: 'Gatescope TraceRun',
  reach: 'Gatescope reach',
};

const sec = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const mb = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const times = (a: number | null | undefined, b: number | null | undefined): string => (a && b ? `${(a / b).toFixed(2)}×` : '—');

/** Targets of issue 17 (stated, not asserted). */
export const BIG_TARGETS = { deepPeakMB: 1024, widePeakMB: 600, deepVsTorch: 1, trace10kAgainSeconds: 0.5 } as const;

/**
 * The big-model table: per workload, Gatescope's variants and PyTorch's forward + backward at 1 and 2 threads; the
 * ratio columns are Gatescope's seconds and peak RSS ÷ PyTorch's (below 1: Gatescope takes less).
 */
export function formatBigTable(results: BigResult[], trace10kAgain?: number | null): string {
  const lines = [
    'Big models and long texts (issue 17): one run of each, each in a process of its own (peak RSS its own); untrained weights.',
    '',
    '| workload | peer | seconds | first paint s | forward s | peak RSS MB | Gatescope s ÷ PyTorch s, 1 thr / 2 thr | RSS ÷ PyTorch 1 thr |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const notes: string[] = [];
  const key = (r: BigResult): string => `${r.model}/${r.chars}`;
  const workloads = [...new Set(results.map(key))];
  for (const w of workloads) {
    const rows = results.filter((r) => key(r) === w);
    const { model, chars } = rows[0]!;
    const label = `${MODEL_LABEL[model]}, ${chars.toLocaleString('en-US')} chars`;
    const torch = (threads: number, variant = 'fwdbwd'): BigResult | undefined => rows.find((r) => r.peer !== 'gatescope' && r.threads === threads && r.variant === variant && !r.skipped);
    const t1 = torch(1), t2 = torch(2);
    for (const r of rows.filter((x) => x.peer === 'gatescope' && x.variant !== 'reach')) {
      if (r.skipped) { lines.push(`| ${label} | ${VARIANT_LABEL[r.variant] ?? r.variant} | skipped: ${r.skipped} | | | | | |`); continue; }
      const name = r.variant === 'run' ? `${VARIANT_LABEL.run} (segments of ${r.segment}, recomputed)` : VARIANT_LABEL[r.variant] ?? r.variant;
      lines.push(`| ${label} | ${name} | ${sec(r.seconds)} | ${sec(r.firstPaintSeconds)} | ${sec(r.forwardSeconds)} | ${mb(r.rssMB)} | ` +
        `${times(r.seconds, t1?.seconds)} / ${times(r.seconds, t2?.seconds)} | ${times(r.rssMB, t1?.rssMB)} |`);
    }
    for (const r of rows.filter((x) => x.peer !== 'gatescope')) {
      if (r.skipped) { lines.push(`| ${label} | PyTorch ${r.threads} thr | skipped: ${r.skipped} | | | | | |`); continue; }
      lines.push(`| ${label} | PyTorch ${r.threads} thr nn.LSTM fwd + bwd | ${sec(r.seconds)} | | ${sec(r.forwardSeconds)} | ${mb(r.rssMB)} | | |`);
    }
    const reach = rows.find((x) => x.peer === 'gatescope' && x.variant === 'reach');
    if (reach) {
      const what = `reach ${BIG_REACH.positions} × ${BIG_REACH.maxK}`;
      const r1 = rows.find((x) => x.peer !== 'gatescope' && x.threads === 1 && x.reachSeconds);
      const r2 = rows.find((x) => x.peer !== 'gatescope' && x.threads === 2 && x.reachSeconds);
      lines.push(reach.skipped ? `| ${label} | Gatescope ${what} | skipped: ${reach.skipped} | | | | | |`
        : `| ${label} | Gatescope ${what} | ${sec(reach.seconds)} | | | ${mb(reach.rssMB)} | ${times(reach.seconds, r1?.reachSeconds)} / ${times(reach.seconds, r2?.reachSeconds)} | |`);
      for (const r of [r1, r2]) if (r) lines.push(`| ${label} | PyTorch ${r.threads} thr ${what} | ${sec(r.reachSeconds)} | | | | | |`);
    }
  }
  const tFor = (model: BigModel, chars: number, variant: string): BigResult | undefined => results.find((r) => r.peer === 'gatescope' && r.model === model && r.chars === chars && r.variant === variant && !r.skipped);
  const best = (model: BigModel, chars: number): number | null => {
    const s = results.filter((r) => r.peer !== 'gatescope' && r.model === model && r.chars === chars && r.variant === 'fwdbwd' && r.seconds).map((r) => r.seconds!);
    return s.length ? Math.min(...s) : null;
  };
  const mark = (ok: boolean | null): string => (ok === null ? '(not measured)' : ok ? '(met)' : '(not met)');
  const deepTargets = (['trace', 'run'] as const).map((v) => {
    const r = tFor('deep', 2000, v), pt = best('deep', 2000);
    return `${v === 'trace' ? 'one unroll' : 'TraceRun'} ${sec(r?.seconds)} s = ${times(r?.seconds, pt)} PyTorch's best ${mark(r?.seconds && pt ? r.seconds <= pt * BIG_TARGETS.deepVsTorch : null)}, ` +
      `peak ${mb(r?.rssMB)} MB ${mark(r?.rssMB ? r.rssMB < BIG_TARGETS.deepPeakMB : null)}`;
  });
  notes.push('Targets (issue 17; stated, not asserted):');
  notes.push(`- 2 × 1024 LSTM, 2,000 characters, no slower than PyTorch's forward + backward and peak < 1 GB: ${deepTargets.join('; ')}.`);
  const wideRun = tFor('wide', 2000, 'run'), wideTrace = tFor('wide', 2000, 'trace');
  notes.push(`- V = 65,536, 2,000 characters, peak < ${BIG_TARGETS.widePeakMB} MB (a trace keeps the top predictions, not the (T, V) distribution): ` +
    `TraceRun ${mb(wideRun?.rssMB)} MB ${mark(wideRun?.rssMB ? wideRun.rssMB < BIG_TARGETS.widePeakMB : null)}; one unroll ${mb(wideTrace?.rssMB)} MB ` +
    `${mark(wideTrace?.rssMB ? wideTrace.rssMB < BIG_TARGETS.widePeakMB : null)} (it holds the (T, V) probabilities and ∂logits: 2·4·T·V bytes = 1 GB at T = 2,000).`);
  if (trace10kAgain !== undefined) {
    notes.push(`- Config B (2 × 256), 10,000-character trace, repeated, < ${BIG_TARGETS.trace10kAgainSeconds} s: ${sec(trace10kAgain)} s ` +
      `${mark(trace10kAgain ? trace10kAgain < BIG_TARGETS.trace10kAgainSeconds : null)}.`);
  }
  notes.push('', 'One unroll: the whole text as one segment (traceTokens\' path when the unroll fits its limit), every internal kept for the backward. ' +
    'TraceRun: the inspector\'s streamed trace, segments of segmentLength(net), only each segment\'s starting state kept, each segment\'s forward run ' +
    'again for the backward; first paint = the first segment\'s internals out of next() (messaging not included). ' +
    'Gatescope computes ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ of every layer and keeps the top 10 predictions per position; PyTorch runs nn.Embedding → ' +
    'nn.LSTM → nn.Linear → cross-entropy (mean) at batch 1, then backward from the loss with the parameters frozen and the embedded input a leaf ' +
    'that requires grad (so the backward runs the whole recurrence, as Gatescope\'s does, without ∂θ), retain_grad on the output sequence ' +
    '(nn.LSTM keeps its per-step states inside, so out.grad is ∂L/∂h_t through the decoder alone).');
  return [...lines, '', ...notes].join('\n');
}
