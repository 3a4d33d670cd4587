// Measures what data-parallel training costs beside the shards' own work, to predict how it scales past the
// cores of the machine it runs on:
//   node --import tsx src/engine/parallel/bench.mjs [--configs A,B] [--seconds S] [--data FILE]
// For configs A (1 × 128) and B (2 × 256), embed 64, seq 64, batch 32 on lib.dom.d.ts, in CPU milliseconds of
// this one thread (process.cpuUsage; no helper threads are running then, so another process on the machine
// lengthens a measurement without inflating it), medians of repeated runs:
//   step(1)  a one-thread training step (forward + backward + clip + Adam);
//   shard(S) forward + backward of one shard of B/S lanes (ShardRunner.run), S = 1, 2, 4, 8, 16;
//   reduce(S) ParallelSteps' reduction of S shard gradients into one (the same loop, on the same sizes);
//   publish  the parameters copied into shared memory; update: clip + Adam (one thread at any worker count).
// And in wall time: sync, the cost of one step's wake-up and wait with one helper thread, from a model so small
// that its shards cost nothing (steps the helper took part in only).
// It then prints step(n) ≈ shard(n) + reduce(n) + publish + update + sync and the speed-up step(1) / step(n):
// what n workers would give on n idle cores.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { ParallelSteps } = await import('./parallelSteps.ts');
const { ShardRunner } = await import('./shards.ts');
const { nodeThreads } = await import('./nodeThreads.ts');
const { useFastKernels } = await import('../backend.ts');
const { prepareRun } = await import('../run.ts');
const { clipGradients } = await import('../optim.ts');
const { DEFAULT_TRAIN_OPTIONS } = await import('../trainer.ts');

useFastKernels();
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const seconds = Number(arg('--seconds', 4));
const configNames = arg('--configs', 'A,B').split(',');
const dataPath = arg('--data', createRequire(import.meta.url).resolve('typescript/lib/lib.dom.d.ts'));
const SHARDS = [1, 2, 4, 8, 16];
const configs = { A: { layers: 1, hidden: 128 }, B: { layers: 2, hidden: 256 } };

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Median CPU ms of one call of fn, over repeated calls for about `budget` seconds (after 2 untimed). */
function timeCpu(fn, budget) {
  fn();
  fn();
  const times = [];
  const end = cpuMs() + budget * 1000;
  while (times.length < 5 || (cpuMs() < end && times.length < 2000)) {
    const t0 = cpuMs();
    fn();
    times.push(cpuMs() - t0);
  }
  return median(times);
}

/** ParallelSteps' reduction (parallelSteps.ts gradients()), copied: the shards' gradients into one, in shard order. */
function reduce(g, all, w, S, P) {
  if (S === 2) {
    const w0 = w[0], w1 = w[1];
    for (let i = 0; i < P; i++) g[i] = Math.fround(0 + w0 * all[i]) + w1 * all[P + i];
  } else {
    for (let i = 0; i < P; i++) {
      let acc = 0;
      for (let s = 0; s < S; s++) acc = Math.fround(acc + w[s] * all[s * P + i]);
      g[i] = acc;
    }
  }
}

const text = readFileSync(dataPath, 'utf8');
const results = {};
for (const name of configNames) {
  const options = { ...DEFAULT_TRAIN_OPTIONS, ...configs[name], embed: 64, seq: 64, batch: 32, lr: 2e-3, clip: 5, valFrac: 0, steps: 1e9 };
  const run = prepareRun(text, options);
  const { trainer, net, tokens } = run;
  const P = net.layout.total;
  const budget = seconds / 8;
  const step1 = timeCpu(() => trainer.trainStep(), budget);
  const shard = {}, reduceMs = {};
  for (const S of SHARDS) {
    const par = new ParallelSteps(net, tokens, trainer.plan, null, { shards: S, helpers: 0 });
    const runner = new ShardRunner(par.spec, net, true);
    shard[S] = timeCpu(() => runner.run(0), budget);
    const all = new Float32Array(new SharedArrayBuffer(4 * S * P)); // (S, P), shared as in ParallelSteps
    for (let i = 0; i < all.length; i++) all[i] = Math.sin(i);
    const g = new Float32Array(P), w = Array.from({ length: S }, () => 1 / S);
    reduceMs[S] = timeCpu(() => reduce(g, all, w, S, P), budget / 2);
    par.dispose();
  }
  const shared = new Float32Array(new SharedArrayBuffer(4 * P));
  const publish = timeCpu(() => shared.set(net.params), budget / 4);
  const update = timeCpu(() => {
    clipGradients(net.grads, 'norm', 5, net.kernels);
    trainer.adam.update(net.params, net.grads);
  }, budget / 4);
  results[name] = { P, step1, shard, reduce: reduceMs, publish, update };
}

// sync: a model whose shards cost microseconds, two shards, one helper; wall time of the steps the helper took part in
const tiny = prepareRun('the cat sat on the mat. '.repeat(400), { ...DEFAULT_TRAIN_OPTIONS, hidden: 2, embed: 2, seq: 2, batch: 2, valFrac: 0, steps: 1e9 });
const par = new ParallelSteps(tiny.net, tiny.tokens, tiny.trainer.plan, nodeThreads, { shards: 2, helpers: 1 });
const solo = new ParallelSteps(tiny.net, tiny.tokens, tiny.trainer.plan, null, { shards: 2, helpers: 0 });
await new Promise((r) => setTimeout(r, 500)); // the helper thread starts
const withHelper = [], alone = [];
const syncEnd = performance.now() + seconds * 250;
while (performance.now() < syncEnd || withHelper.length < 50) {
  const before = par.helperSteps;
  let t0 = performance.now();
  par.gradients(0);
  const wall = performance.now() - t0;
  if (par.helperSteps > before) withHelper.push(wall);
  t0 = performance.now();
  solo.gradients(0);
  alone.push(performance.now() - t0);
  if (withHelper.length > 20_000) break;
}
par.dispose();
solo.dispose();
const sync = Math.max(0, median(withHelper) - median(alone) / 2);

const f = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));
console.log(`sync (wake + wait, one helper): ${(sync * 1000).toFixed(0)} µs per step (median of ${withHelper.length} helper steps)\n`);
for (const [name, r] of Object.entries(results)) {
  console.log(`config ${name}: P = ${r.P.toLocaleString('en-US')} parameters; one-thread step ${f(r.step1)} ms; publish ${f(r.publish)} ms; clip + Adam ${f(r.update)} ms`);
  console.log('| workers n | shard of 32/n lanes ms | reduce(n) ms | predicted step(n) ms | speed-up over 1 | shard-only ideal |');
  console.log('|---|---|---|---|---|---|');
  for (const n of SHARDS) {
    const step = n === 1 ? r.step1 : r.shard[n] + r.reduce[n] + r.publish + r.update + sync;
    console.log(`| ${n} | ${f(r.shard[n])} | ${f(r.reduce[n])} | ${f(step)} | ${(r.step1 / step).toFixed(2)}× | ${(r.shard[1] / r.shard[n]).toFixed(2)}× |`);
  }
  console.log('');
}
console.log(JSON.stringify({ syncMs: sync, results }));
