import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as path from 'node:path';
import { EngineClient } from '../host/engineClient';
import { rowHelpers } from '../engine/backend';
import { nodeThreads } from '../engine/parallel/nodeThreads';
import { ParallelSteps } from '../engine/parallel/parallelSteps';
import { prepareRun } from '../engine/run';
import { Stepper } from '../engine/stepper';
import { gradientReach, reachPositions } from '../engine/reach';
import { traceTokens, withForwardRecord } from '../engine/trace';
import { DEFAULT_TRAIN_OPTIONS } from '../engine/trainer';
import { searchFeature, UnitStats } from '../engine/units';
import { Unroll } from '../engine/unroll';
import { WasmKernels } from '../engine/wasm/wasmKernels';
import { readTextFile } from './files';

/** The benchmark's two workloads (ANCHORS.md): config A = 1 × 128, config B = 2 × 256; embed 64, seq 64, batch 32. */
export const BENCH_CONFIGS = {
  A: { layers: 1, hidden: 128 },
  B: { layers: 2, hidden: 256 },
} as const;
export type BenchConfig = keyof typeof BENCH_CONFIGS;

export interface BenchResult {
  peer: string;
  version: string;
  config: BenchConfig;
  threads: number;
  trainCharsPerSec: number | null;
  /** Gatescope only: training with two workers (data-parallel over lanes, parallel/). */
  train2CharsPerSec?: number | null;
  /** Gatescope only: seconds for traceTokens (forward + backward, gradient norms) of 10,000 characters. */
  trace10kSeconds?: number | null;
  /** Gatescope only: the same trace in steady state, buffers and helper thread kept (median of traces 4–8). */
  trace10kAgainSeconds?: number | null;
  /**
   * Seconds for the gradient reach of REACH.positions predictions × REACH.maxK steps back over the first
   * REACH.chars characters, the forward included (median of 3 after one untimed); Gatescope and PyTorch.
   */
  reachSeconds?: number | null;
  /**
   * The unit search on UNITS.chars characters: seconds for the first search of a trace (every unit's moments, then
   * the regex UNITS.regex ranked) and for each search after it (the regex again, as on every keystroke); Gatescope
   * and PyTorch.
   */
  unitsFirstSeconds?: number | null;
  unitsAgainSeconds?: number | null;
  /**
   * The extension host's event-loop delay (p50, p99 in ms) while the engine worker trains, as the extension runs it:
   * this process stands for the host thread, the same worker bundle trains, progress and checkpoints arrive as
   * messages. Gatescope only.
   */
  hostDelayMs?: { readonly p50: number; readonly p99: number; readonly max: number } | null;
  fwd64CharsPerSec: number | null;
  fwd1CharsPerSec: number | null;
  rssMB: number;
  notes: string;
  skipped?: string;
}

/** The reach workload: `gatescope reach --positions 40 --max-k 100` on 10,000 characters. */
export const REACH = { chars: 10_000, positions: 40, maxK: 100 } as const;

/** The unit search workload: Pearson r of every layer, unit and quantity against a regex over 10,000 characters. */
export const UNITS = { chars: 10_000, regex: '\\w+\\?:' } as const;

/** The event-loop delay of this thread while the engine worker (dist/worker.js, beside this bundle) trains. */
async function hostDelay(text: string, config: BenchConfig, seconds: number): Promise<BenchResult['hostDelayMs']> {
  const engine = new EngineClient(path.join(__dirname, 'worker.js'));
  try {
    const h = monitorEventLoopDelay({ resolution: 10 });
    const run = engine.train({
      runId: 1, text, source: 'bench', resume: null, evalEvery: 50, checkpointEvery: 20, totalSteps: 1e9,
      options: { ...DEFAULT_TRAIN_OPTIONS, ...BENCH_CONFIGS[config], embed: 64, seq: 64, batch: 32, lr: 2e-3, clip: 5, steps: 1e9 },
    });
    await run.started;
    h.enable();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    h.disable();
    await run.cancel();
    await run.finished;
    return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  } finally {
    engine.dispose();
  }
}

/** Repeats fn until `seconds` have passed; returns calls per second (after `warmup` untimed calls). */
function rate(seconds: number, warmup: number, fn: () => void): number {
  for (let i = 0; i < warmup; i++) fn();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) { fn(); n++; }
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Measures Gatescope's engine in this process: training (forward + backward + clip + Adam, steady state) on
 * one worker and on two,
 * batch-1 forward with every internal kept in 64-character calls (the trace path) and 1-character calls
 * (the debugger's and sampler's path). Prints one JSON line.
 */
export async function benchRun(config: BenchConfig, seconds: number, dataPath: string, version: string): Promise<BenchResult> {
  const text = readTextFile(dataPath);
  const run = prepareRun(text, { ...DEFAULT_TRAIN_OPTIONS, ...BENCH_CONFIGS[config], embed: 64, seq: 64, batch: 32, lr: 2e-3, clip: 5, valFrac: 0, steps: 1e9 });
  const { trainer, net, tokens } = run;
  const steps = rate(seconds, 3, () => { trainer.trainStep(); });
  // the same run on two workers: this thread and one helper, lanes split in two
  const par = new ParallelSteps(net, tokens, trainer.plan, nodeThreads);
  trainer.useEngine(par);
  const steps2 = rate(seconds, 3, () => { trainer.trainStep(); });
  trainer.useEngine(null);
  par.dispose();
  const fwd = new Unroll(net, 64, 1);
  let pos = 0;
  const calls64 = rate(seconds / 2, 3, () => {
    for (let t = 0; t < 64; t++) fwd.inputs[t] = tokens[(pos + t) % tokens.length]!;
    pos += 64;
    fwd.forward();
    fwd.carryState();
  });
  const stepper = new Stepper(net);
  const calls1 = rate(seconds / 2, 64, () => { stepper.step(tokens[pos++ % tokens.length]!); });
  const traced = Int32Array.from(tokens.subarray(0, 10_000));
  // the trace as the engine worker runs it: each layer's recurrence shared with a helper thread, which a
  // 1000-character trace starts first; the first 10,000-character trace then makes its buffers (first touch of
  // ~270 MB for config B), and later ones reuse them, as the inspector's and debugger's repeated traces do. Each
  // trace is a task of its own, as in the worker, so the collector can run between them.
  const task = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
  traceTokens(net, traced.subarray(0, 1000), { rowHelper: rowHelpers(nodeThreads), waitForHelperMs: 5000 });
  await task();
  let t0 = performance.now();
  traceTokens(net, traced, { rowHelper: rowHelpers(nodeThreads) });
  const trace10kSeconds = (performance.now() - t0) / 1000;
  // steady state: the median of traces 4–8 (the first few after the first still run partly unoptimised code)
  const again: number[] = [];
  for (let r = 0; r < 7; r++) {
    await task();
    t0 = performance.now();
    traceTokens(net, traced, { rowHelper: rowHelpers(nodeThreads) });
    if (r >= 2) again.push((performance.now() - t0) / 1000);
  }
  const trace10kAgainSeconds = again.sort((a, b) => a - b)[2]!;
  // the gradient reach as `gatescope reach` runs it: one forward keeping the internals, then short backwards
  const reachTimes: number[] = [];
  for (let r = 0; r < 4; r++) {
    await task();
    t0 = performance.now();
    withForwardRecord(net, traced.subarray(0, REACH.chars), { rowHelper: rowHelpers(nodeThreads) },
      (rec) => gradientReach(net, rec, reachPositions(REACH.chars, REACH.positions, REACH.maxK), REACH.maxK));
    if (r >= 1) reachTimes.push((performance.now() - t0) / 1000);
  }
  const reachSeconds = reachTimes.sort((a, b) => a - b)[1]!;
  // the unit search as the engine worker runs it on a kept trace: the first search computes every unit's moments
  const chars = Array.from(traced.subarray(0, UNITS.chars), (id) => run.vocab.chars[id]!);
  const { unitsFirstSeconds, unitsAgainSeconds } = withForwardRecord(net, traced.subarray(0, UNITS.chars), { rowHelper: rowHelpers(nodeThreads) }, (rec) => {
    const first: number[] = [], again: number[] = [];
    for (let r = 0; r < 3; r++) {
      let t1 = performance.now();
      const stats = new UnitStats(rec, UNITS.chars, net.cfg.hidden);
      const s = searchFeature(stats, chars, { kind: 'regex', source: UNITS.regex });
      if (!s.ranking) throw new Error(`bench: the unit search's regex ranked nothing: ${s.message}`);
      first.push((performance.now() - t1) / 1000);
      for (let k = 0; k < 5; k++) {
        t1 = performance.now();
        searchFeature(stats, chars, { kind: 'regex', source: UNITS.regex });
        again.push((performance.now() - t1) / 1000);
      }
    }
    return { unitsFirstSeconds: first.sort((a, b) => a - b)[1]!, unitsAgainSeconds: again.sort((a, b) => a - b)[7]! };
  });
  const hostDelayMs = await hostDelay(text, config, seconds);
  return {
    peer: 'gatescope', version, config, threads: 1, hostDelayMs,
    trainCharsPerSec: steps * trainer.charsPerStep, train2CharsPerSec: steps2 * trainer.charsPerStep, trace10kSeconds, trace10kAgainSeconds, reachSeconds,
    unitsFirstSeconds, unitsAgainSeconds,
    fwd64CharsPerSec: calls64 * 64, fwd1CharsPerSec: calls1,
    rssMB: process.resourceUsage().maxRSS / 1024,
    notes: net.kernels instanceof WasmKernels ? `WebAssembly ${net.kernels.variant} kernels` : 'TypeScript kernels',
  };
}
