// Measures the kernels and the engine, TypeScript against WebAssembly:
//   node --import tsx src/engine/wasm/bench.mjs [kernels|train|trace|step|profile|all] [--seconds S]
// kernels: GFLOP/s of every matrix product of the LSTM on config A (E 64, H 128, V 102, T 64, B 32) and
//          config B (2 layers × 256), operands in wasm memory as the engine places them;
// train:   training chars/s on lib.dom.d.ts (forward + backward + clip + Adam), configs A and B;
// trace:   traceTokens chars/s on 4096 characters (forward with every internal, backward for gradient norms);
// step:    batch-1 chars/s, one character per Stepper.step, as the debugger and sampling run it.
// profile: wall ms per training step of config B (wasm, one thread) split by kernel call class, clip and Adam
//          (not part of 'all': the timers wrap every kernel call).
// Each figure is the median of 5 timed runs of ≥ 0.2 s (kernels) or S/5 s (train, step) after a warm-up, timed
// in CPU seconds of this process (process.cpuUsage), not wall time: on a shared machine another process taking
// the core then lengthens a run without lowering its rate.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { JsKernels } = await import('../kernels.ts');
const { Network } = await import('../network.ts');
const { Rng } = await import('../rng.ts');
const { Stepper } = await import('../stepper.ts');
const { Adam, ADAM_DEFAULTS, clipGradients } = await import('../optim.ts');
const { Unroll } = await import('../unroll.ts');
const { traceTokens } = await import('../trace.ts');
const { DEFAULT_TRAIN_OPTIONS, Trainer } = await import('../trainer.ts');
const { Vocabulary } = await import('../vocab.ts');
const { WasmKernels, createKernels } = await import('./wasmKernels.ts');

const what = process.argv[2] ?? 'all';
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 10);
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
/** CPU milliseconds used by this process so far. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Runs fn in batches of `reps` until a batch takes ≥ minMs, 5 times; returns the median rate in units/s. */
function rate(fn, units, minMs) {
  let reps = 1;
  for (;;) {
    const t0 = cpuMs();
    for (let i = 0; i < reps; i++) fn();
    if (cpuMs() - t0 >= minMs) break;
    reps *= 2;
  }
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = cpuMs();
    for (let i = 0; i < reps; i++) fn();
    runs.push((units * reps) / ((cpuMs() - t0) / 1000));
  }
  return median(runs);
}

function kernels() {
  const shapes = {
    A: [['NT', 32, 512, 128, 'h·W_hhᵀ per step'], ['NT', 2048, 102, 128, 'decoder'], ['NT', 102, 512, 64, 'input table'],
      ['NT', 1, 512, 128, 'batch-1 h·W_hhᵀ'], ['NT', 1, 102, 128, 'batch-1 decoder'],
      ['NN', 32, 128, 512, 'da·W_hh per step'], ['NN', 2048, 128, 102, 'dlogits·W_dec'],
      ['TN', 512, 128, 2048, 'dW_hh'], ['TN', 102, 128, 2048, 'dW_dec']],
    B: [['NT', 32, 1024, 256, 'h·W_hhᵀ per step'], ['NT', 2048, 1024, 256, 'layer-2 input'], ['NT', 1, 1024, 256, 'batch-1 h·W_hhᵀ'],
      ['NN', 32, 256, 1024, 'da·W_hh per step'], ['NN', 2048, 256, 1024, 'dx = dxp·W_ih'],
      ['TN', 1024, 256, 2048, 'dW_hh, dW_ih']],
  };
  const wasm = new WasmKernels(), js = new JsKernels();
  const rng = new Rng(1);
  console.log(`| config | product | M×N×K | JS GFLOP/s | wasm (${wasm.variant}) GFLOP/s | × |`);
  console.log('|---|---|---|---|---|---|');
  for (const [config, list] of Object.entries(shapes)) {
    for (const [op, M, N, K, role] of list) {
      const fill = (a) => { for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-1, 1); return a; };
      const A = fill(wasm.allocate(Float32Array, M * K)), B = fill(wasm.allocate(Float32Array, N * K)), C = wasm.allocate(Float32Array, M * N);
      const run = (k) => () => k[`gemm${op}`](M, N, K, A, 0, B, 0, C, 0, false);
      const flop = 2 * M * N * K;
      const g = [run(js), run(wasm)].map((f) => rate(f, flop, 200) / 1e9);
      console.log(`| ${config} | gemm${op} ${role} | ${M}×${N}×${K} | ${g[0].toFixed(2)} | ${g[1].toFixed(1)} | ${(g[1] / g[0]).toFixed(1)} |`);
    }
  }
}

const text = readFileSync(createRequire(import.meta.url).resolve('typescript/lib/lib.dom.d.ts'), 'utf8');
const vocab = Vocabulary.fromText(text);
const tokens = vocab.encode(text);
const configs = { A: { hidden: 128, layers: 1 }, B: { hidden: 256, layers: 2 } };

function network(config, kind) {
  const net = new Network({ cell: 'lstm', vocabSize: vocab.size, embed: 64, ...configs[config] }, Float32Array, createKernels(kind));
  net.initialize(new Rng(1));
  return net;
}

function train() {
  console.log('| config | JS train chars/s | wasm train chars/s | × |');
  console.log('|---|---|---|---|');
  for (const config of ['A', 'B']) {
    const cps = ['js', 'wasm'].map((kind) => {
      const tr = new Trainer(network(config, kind), tokens, { ...DEFAULT_TRAIN_OPTIONS, ...configs[config], steps: 1e9 });
      tr.trainStep();
      const runs = [];
      for (let r = 0; r < 5; r++) {
        const t0 = cpuMs();
        let chars = 0;
        while (cpuMs() - t0 < (seconds * 1000) / 5 || chars === 0) chars += tr.trainStep().chars;
        runs.push(chars / ((cpuMs() - t0) / 1000));
      }
      return median(runs);
    });
    console.log(`| ${config} | ${cps[0].toFixed(0)} | ${cps[1].toFixed(0)} | ${(cps[1] / cps[0]).toFixed(1)} |`);
  }
}

/**
 * Traces yield to the event loop between calls, as the worker does between requests: a trace's buffers are
 * reused only after the collector has found them unreachable and the registry's callback has run, which
 * happens between tasks (see WasmHeap).
 */
async function trace() {
  console.log('| config | JS trace chars/s | wasm trace chars/s | × |');
  console.log('|---|---|---|---|');
  const text = Int32Array.from(tokens.subarray(0, 4096));
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  for (const config of ['A', 'B']) {
    const cps = [];
    for (const kind of ['js', 'wasm']) {
      const net = network(config, kind);
      traceTokens(net, text);
      const runs = [];
      for (let r = 0; r < 5; r++) {
        let cpu = 0, chars = 0;
        while (cpu < (seconds * 1000) / 10) {
          await tick();
          const t0 = cpuMs();
          traceTokens(net, text);
          cpu += cpuMs() - t0;
          chars += text.length;
        }
        runs.push(chars / (cpu / 1000));
      }
      cps.push(median(runs));
    }
    console.log(`| ${config} | ${cps[0].toFixed(0)} | ${cps[1].toFixed(0)} | ${(cps[1] / cps[0]).toFixed(1)} |`);
  }
}

function step() {
  console.log('| config | JS step chars/s | wasm step chars/s | × |');
  console.log('|---|---|---|---|');
  for (const config of ['A', 'B']) {
    const cps = ['js', 'wasm'].map((kind) => {
      const s = new Stepper(network(config, kind));
      let i = 0;
      return rate(() => s.step(tokens[i++ % tokens.length]), 1, (seconds * 1000) / 10);
    });
    console.log(`| ${config} | ${cps[0].toFixed(0)} | ${cps[1].toFixed(0)} | ${(cps[1] / cps[0]).toFixed(1)} |`);
  }
}

/**
 * Where a config-B step's time goes: every kernel method of the network is wrapped with a wall-clock timer keyed
 * by method and shape, and the step is run as Trainer.trainStep runs it (forward → zeroGrad → backward → clip →
 * Adam). Prints ms per step per call class, with GFLOP/s for the products.
 */
function profile() {
  const config = process.argv[3] === 'A' ? 'A' : 'B';
  const net = network(config, 'wasm');
  const o = { ...DEFAULT_TRAIN_OPTIONS, ...configs[config] };
  const T = o.seq, B = o.batch;
  const u = new Unroll(net, T, B);
  const adam = new Adam(net.params.length, { ...ADAM_DEFAULTS, lr: o.lr }, Float32Array, net.kernels);
  // Adam and clip run on the kernels too (adamUpdate, sumSquares, scale): timed as a whole, not wrapped
  const times = new Map();
  const time = (key, flop, f) => {
    const t0 = performance.now();
    const r = f();
    const e = times.get(key) ?? { ms: 0, calls: 0, flop: 0 };
    e.ms += performance.now() - t0;
    e.calls++;
    e.flop += flop;
    times.set(key, e);
    return r;
  };
  const k = net.kernels;
  const names = ['gemmNT', 'gemmNN', 'gemmTN', 'addBias', 'addColumnSums', 'gatherRows', 'scatterAddRows', 'addNorm',
    'softmaxXent', 'softmaxXentBackward', 'lstmForward', 'lstmBackward'];
  for (const name of names) {
    if (typeof k[name] !== 'function') continue;
    const f = k[name].bind(k);
    k[name] = (...a) => {
      if (name.startsWith('gemm')) return time(`${name} ${a[0]}×${a[1]}×${a[2]}`, 2 * a[0] * a[1] * a[2], () => f(...a));
      return time(name, 0, () => f(...a));
    };
  }
  const lane = Math.floor(tokens.length / B);
  let pos = 0;
  const step = () => {
    if (pos + T + 1 > lane) pos = 0;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        u.inputs[t * B + b] = tokens[b * lane + pos + t];
        u.targets[t * B + b] = tokens[b * lane + pos + t + 1];
      }
    }
    time('(step)', 0, () => {
      time('(forward)', 0, () => u.forward());
      time('zeroGrad', 0, () => net.zeroGrad());
      time('(backward)', 0, () => u.backward());
      time('clip', 0, () => clipGradients(net.grads, o.clipMode, o.clip, net.kernels));
      time('adam', 0, () => adam.update(net.params, net.grads));
      u.carryState();
    });
    pos += T;
  };
  for (let i = 0; i < 3; i++) step();
  times.clear();
  const steps = Math.max(5, Math.round(seconds * 4));
  for (let i = 0; i < steps; i++) step();
  console.log(`config ${config}, ${steps} steps, kernels ${k.variant}`);
  console.log('| part | calls/step | ms/step | GFLOP/s |');
  console.log('|---|---|---|---|');
  const rows = [...times.entries()].sort((a, b) => b[1].ms - a[1].ms);
  let inner = 0;
  for (const [key, e] of rows) {
    if (!key.startsWith('(')) inner += e.ms;
    const g = e.flop > 0 ? (e.flop / (e.ms / 1000) / 1e9).toFixed(1) : '';
    console.log(`| ${key} | ${(e.calls / steps).toFixed(0)} | ${(e.ms / steps).toFixed(2)} | ${g} |`);
  }
  const total = times.get('(step)').ms;
  console.log(`| (outside kernels, clip, Adam: JS loops and call overhead) | | ${((total - inner) / steps).toFixed(2)} | |`);
  console.log(`chars/s ${(T * B * steps / (total / 1000)).toFixed(0)}`);
}

if (what === 'profile') profile();
if (what === 'kernels' || what === 'all') kernels();
if (what === 'train' || what === 'all') train();
if (what === 'trace' || what === 'all') await trace();
if (what === 'step' || what === 'all') step();
