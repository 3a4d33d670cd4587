#!/usr/bin/env node
// The cost of a diagnostics step (engine/diagnostics.ts: per-tensor norms, θ copy, update ratios, gate saturation)
// against a plain training step, for the bench configs A (LSTM 1×128) and B (LSTM 2×256), embed 64, seq 64,
// batch 32, on one thread with the kernels the CLI uses. Plain and stats steps alternate in pairs, so drift (heat,
// other load) hits both alike; the cost is the median of the pairs' differences.
//
//   node --import tsx bench/diagnostics.mjs [--steps 60]
//
// It also reports the size of the `gatescope.history` metadata after 3000 steps of config B's layout (synthetic
// rows: the history's size depends on the row count and the tensors, not on the numbers' values beyond digits).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useFastKernels } from '../src/engine/backend.ts';
import { encodeHistory, historyRow, HistoryRecorder } from '../src/engine/diagnostics.ts';
import { prepareRun } from '../src/engine/run.ts';
import { DEFAULT_STATS_EVERY, DEFAULT_TRAIN_OPTIONS } from '../src/engine/trainer.ts';

const root = join(import.meta.dirname, '..');
const arg = process.argv.indexOf('--steps');
const pairs = arg > 0 ? Number(process.argv[arg + 1]) : 60;
useFastKernels();
const text = readFileSync(join(root, 'node_modules/typescript/lib/lib.dom.d.ts'), 'utf8').slice(0, 2_000_000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const configs = { A: { layers: 1, hidden: 128 }, B: { layers: 2, hidden: 256 } };
const results = {};
for (const [name, size] of Object.entries(configs)) {
  const o = { ...DEFAULT_TRAIN_OPTIONS, ...size, cell: 'lstm', embed: 64, seq: 64, batch: 32, steps: 1e6, statsEvery: 1e9 };
  const { trainer, net } = prepareRun(text, o);
  for (let i = 0; i < 5; i++) trainer.trainStep(i % 2 === 0); // warm up both paths
  const plain = [], stats = [];
  for (let i = 0; i < pairs; i++) {
    let t = performance.now();
    trainer.trainStep(false);
    plain.push(performance.now() - t);
    t = performance.now();
    trainer.trainStep(true);
    stats.push(performance.now() - t);
  }
  const step = median(plain), extra = median(stats.map((s, i) => s - plain[i]));
  results[name] = { parameters: net.params.length, stepMs: step, statsExtraMs: extra, perStatsStep: extra / step,
    atDefault: extra / step / DEFAULT_STATS_EVERY };
  console.log(`${name} (${size.layers}×${size.hidden}, P = ${net.params.length}): plain step ${step.toFixed(1)} ms, a stats step costs ` +
    `${extra.toFixed(2)} ms more (${(100 * extra / step).toFixed(2)}% of a step); every ${DEFAULT_STATS_EVERY} steps: ` +
    `${(100 * extra / step / DEFAULT_STATS_EVERY).toFixed(3)}% of training`);
}

// the history after 3000 steps of config B at the default statsEvery, plus the final step
const { net } = prepareRun(text.slice(0, 20_000), { ...DEFAULT_TRAIN_OPTIONS, layers: 2, hidden: 256, embed: 64, seq: 64, batch: 32, steps: 1 });
const names = net.layout.tensors.map((t) => t.name);
const h = new HistoryRecorder(names);
let x = 1.2345678;
const next = () => (x = (x * 7.77 + 0.123) % 10);
for (let step = DEFAULT_STATS_EVERY; step <= 3000; step += DEFAULT_STATS_EVERY) {
  const tensors = Object.fromEntries(names.map((n) => [n, { grad: next() / 3, weight: next() * 10, update: next() * 1e-4 }]));
  h.push(historyRow({ step, tensors, saturation: null }, names, next() / 4, next(), Math.min(1, next() / 5)));
}
const json = encodeHistory(h.snapshot());
console.log(`history of config B after 3000 steps (every ${DEFAULT_STATS_EVERY}): ${h.snapshot().rows.length} rows, ${json.length.toLocaleString('en-US')} bytes of JSON`);
