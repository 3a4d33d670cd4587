#!/usr/bin/env node
// TensorFlow.js (wasm backend) peer for `npm run bench`: char-level LSTM LM
// on lib.dom.d.ts. Prints exactly one JSON line on stdout; diagnostics go to
// stderr. The workload must stay identical to bench/peers/torch_lstm.py and
// to the engine's own benchmark (see bench/peers/README.md).

import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const PEER = 'tfjs-wasm';
const CONFIGS = {
  A: { E: 64, L: 1, H: 128 },
  B: { E: 64, L: 2, H: 256 },
};
const BATCH = 32;
const SEQ = 64;
const LR = 2e-3;
const CLIP = 5;
const SEED = 1234;

// The wasm OneHot kernel ignores a float32 dtype (it writes int32 bits into a
// float buffer: 1 reads as 1.4e-45), so one-hot in int32 and cast.
const oneHotF32 = (idsT, depth) => tf.cast(tf.oneHot(idsT, depth), 'float32');

const log = (...args) => console.error('[tfjs]', ...args);
const emit = (result) => process.stdout.write(JSON.stringify(result) + '\n');

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'A' },
    seconds: { type: 'string', default: '8' },
    threads: { type: 'string' }, // accepted for a uniform CLI; wasm has no threads in Node
    data: { type: 'string' },
  },
});
if (!(args.config in CONFIGS)) throw new Error(`--config must be A or B, got ${args.config}`);
const seconds = Number(args.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${args.seconds}`);
const here = dirname(fileURLToPath(import.meta.url));
const dataPath = args.data ?? join(here, '..', '..', 'node_modules', 'typescript', 'lib', 'lib.dom.d.ts');

const base = { peer: PEER, version: null, config: args.config, threads: 1 };
const skip = (reason) => {
  emit({ ...base, trainCharsPerSec: null, fwd64CharsPerSec: null, fwd1CharsPerSec: null,
    rssMB: null, skipped: reason, notes: '' });
  process.exit(0);
};

// createRequire (not `import`) so that NODE_PATH works for out-of-tree
// installs and a missing package becomes a "skipped" line, not a crash.
// The @tensorflow/tfjs umbrella, not bare tfjs-core: core's CommonJS build
// registers no gradients (the umbrella bundles and registers them).
const require = createRequire(import.meta.url);
let tf;
let tfwasm;
try {
  tf = require('@tensorflow/tfjs');
  tfwasm = require('@tensorflow/tfjs-backend-wasm');
} catch (e) {
  skip(`missing dependency: ${e.message.split('\n')[0]}`);
}
if (!existsSync(dataPath)) skip(`data file not found: ${dataPath}`);

// Load the .wasm binaries from the installed package (a plain filesystem
// prefix works in Node), never from a CDN.
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + '/';
tfwasm.setWasmPaths(wasmDir);
if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
await tf.ready();
if (tf.getBackend() !== 'wasm') throw new Error(`expected wasm backend, got ${tf.getBackend()}`);
const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
const wasmThreads = tf.backend().wasm.tfjs.getThreadsCount();
base.version = `tfjs ${tf.version.tfjs}, tfjs-backend-wasm ${tfwasm.version_wasm}`;
base.threads = wasmThreads;

// ---- data: code points, vocabulary = sorted unique code points ----
const text = readFileSync(dataPath, 'utf8');
const cps = Int32Array.from(text, (ch) => ch.codePointAt(0)); // iterates code points
const vocab = [...new Set(cps)].sort((a, b) => a - b);
const V = vocab.length;
const index = new Map(vocab.map((cp, i) => [cp, i]));
const ids = Int32Array.from(cps, (cp) => index.get(cp));

const { E, L, H } = CONFIGS[args.config];
log(`${dataPath}: ${ids.length} chars, vocab ${V}; config ${args.config} E=${E} L=${L} H=${H}; ` +
  `wasm simd=${simd} threads=${wasmThreads}, wasm files from ${wasmDir}`);

// ---- parameters: PyTorch's default init, seeded ----
let seed = SEED;
const uniform = (shape, k) => tf.variable(tf.randomUniform(shape, -k, k, 'float32', seed++));
const kH = 1 / Math.sqrt(H);
const params = {
  emb: tf.variable(tf.randomNormal([V, E], 0, 1, 'float32', seed++)),
  // Gate columns are ordered [i f o | g] so one sigmoid and one tanh cover all four.
  layers: Array.from({ length: L }, (_, l) => ({
    wx: uniform([l === 0 ? E : H, 4 * H], kH),
    wh: uniform([H, 4 * H], kH),
    b: uniform([4 * H], kH),
  })),
  decW: uniform([H, V], kH),
  decB: uniform([V], kH),
};

// The wasm backend has three traps that the straightforward graph walks into:
// its BatchMatMul is 5-25x slower with transposeA/transposeB (which is how
// tf.matMul's gradient is written), Slice/Unstack/Split copy the *whole* input
// tensor per output slice (so unstacking a [T, B, 4H] projection is O(T^2)),
// and tf.gather's gradient needs UnsortedSegmentSum, which it lacks. So every
// tensor below is built per time step (no slicing of big tensors), and the
// matmul and embedding gradients are written with explicit transposes.

/** a·b whose gradient uses explicit transposes instead of transposed matmuls. */
const mm = tf.customGrad((a, b, save) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy, [a, b]) => [tf.matMul(dy, tf.transpose(b)), tf.matMul(tf.transpose(a), dy)],
  };
});

/** table[ids] whose gradient is onehot(ids)^T · dy (no UnsortedSegmentSum). */
const embed = tf.customGrad((table, ids, save) => {
  save([ids]);
  return {
    value: tf.gather(table, ids),
    gradFunc: (dy, [ids]) => [tf.matMul(tf.transpose(oneHotF32(ids, V)), dy), tf.zerosLike(ids)],
  };
});

/**
 * Run the LSTM over T steps; steps[t] is an int32 [batch] tensor of ids.
 * Returns per-step logits [batch, V] and top-layer outputs [batch, H], and
 * the final states.
 */
function forward(steps, batch, h0, c0, training) {
  // Inference needs no gradients, so it skips the customGrad wrappers.
  const matMul = training ? mm : tf.matMul;
  const lookup = training ? embed : tf.gather;
  const h = [...h0];
  const c = [...c0];
  const logits = [];
  const outs = [];
  for (const ids of steps) {
    let x = lookup(params.emb, ids);
    params.layers.forEach((p, l) => {
      const z = tf.add(tf.add(matMul(x, p.wx), matMul(h[l], p.wh)), p.b);
      const sig = tf.sigmoid(tf.slice(z, [0, 0], [batch, 3 * H]));
      const i = tf.slice(sig, [0, 0], [batch, H]);
      const f = tf.slice(sig, [0, H], [batch, H]);
      const o = tf.slice(sig, [0, 2 * H], [batch, H]);
      const g = tf.tanh(tf.slice(z, [0, 3 * H], [batch, H]));
      c[l] = tf.add(tf.mul(f, c[l]), tf.mul(i, g));
      h[l] = tf.mul(o, tf.tanh(c[l]));
      x = h[l];
    });
    outs.push(x);
    logits.push(tf.add(matMul(x, params.decW), params.decB));
  }
  return { logits, outs, hN: h, cN: c };
}

const zeroState = (batch) => ({
  h: Array.from({ length: L }, () => tf.zeros([batch, H])),
  c: Array.from({ length: L }, () => tf.zeros([batch, H])),
});
const disposeState = (s) => tf.dispose([...s.h, ...s.c]);

/** Warm up, then return the median rate over 3 windows of seconds/3.
 *  Every window runs at least one call, so slow peers still report. */
function measure(call, charsPerCall, warmCalls) {
  let t0 = performance.now();
  for (let n = 0; n < warmCalls && (n === 0 || performance.now() - t0 < 250 * seconds); n++) call();
  const rates = [];
  for (let w = 0; w < 3; w++) {
    let n = 0;
    let elapsed;
    t0 = performance.now();
    do {
      call();
      n++;
      elapsed = (performance.now() - t0) / 1000;
    } while (elapsed < seconds / 3);
    rates.push((n * charsPerCall) / elapsed);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  return { rate: sorted[1], rates };
}

// ---- training: truncated BPTT over 32 contiguous lanes (batchify) ----
const laneLen = Math.floor(ids.length / BATCH);
const chunks = Math.floor((laneLen - 1) / SEQ);
const optimizer = tf.train.adam(LR, 0.9, 0.999, 1e-8);
const train = { i: 0, state: null, loss: NaN };

/** Per-step [BATCH] id tensors of chunk i, shifted by `shift` (0 inputs, 1 targets). */
function chunkSteps(i, shift) {
  return Array.from({ length: SEQ }, (_, t) =>
    tf.tensor1d(Int32Array.from({ length: BATCH }, (_, b) => ids[b * laneLen + i * SEQ + t + shift]), 'int32'));
}

function trainStep() {
  if (train.i === 0) {
    if (train.state) disposeState(train.state);
    train.state = zeroState(BATCH); // new pass over the data
  }
  const prev = train.state;
  let next;
  const lossT = tf.tidy(() => {
    const xs = chunkSteps(train.i, 0);
    const ys = chunkSteps(train.i, 1).map((y) => oneHotF32(y, V));
    // Only variables are differentiated, so the carried state is detached.
    const { value, grads } = tf.variableGrads(() => {
      const r = forward(xs, BATCH, prev.h, prev.c, true);
      next = { h: r.hN.map((t) => tf.keep(t)), c: r.cN.map((t) => tf.keep(t)) };
      // Mean over all SEQ*BATCH targets, summed per step so that no big
      // tensor is ever split in the backward pass (see the traps above).
      const perStep = r.logits.map((logits, t) => tf.losses.softmaxCrossEntropy(ys[t], logits));
      return tf.div(tf.addN(perStep), SEQ);
    });
    // Global-norm clipping like torch.nn.utils.clip_grad_norm_ (no host sync).
    const names = Object.keys(grads);
    const norm = tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k])))));
    const coef = tf.minimum(1, tf.div(CLIP, tf.add(norm, 1e-6)));
    optimizer.applyGradients(names.map((k) => ({ name: k, tensor: tf.mul(grads[k], coef) })));
    return value;
  });
  train.loss = lossT.dataSync()[0]; // also a sync point, as in a real trainer
  lossT.dispose();
  disposeState(prev);
  train.state = next;
  train.i = (train.i + 1) % chunks;
}

const tensorsBefore = tf.memory().numTensors;
const trainRes = measure(trainStep, BATCH * SEQ, 3);
log(`train windows ${trainRes.rates.map(Math.round)} chars/s, ${train.i} chunks into the pass, ` +
  `last loss ${train.loss.toFixed(3)}, tensors ${tensorsBefore} -> ${tf.memory().numTensors}`);
disposeState(train.state);

// ---- batch-1 forward (the inspector path), state carried ----
const stream = ids.subarray(0, 1 << 20);
const fwd = { pos: 0, state: zeroState(1) };

/** Forward n chars; download outputs, final state and softmax probabilities
 *  to JS arrays, since that is what the inspector consumes. */
function forwardCall(n) {
  if (fwd.pos + n > stream.length) fwd.pos = 0;
  const chars = Array.from(stream.subarray(fwd.pos, fwd.pos + n));
  fwd.pos += n;
  const prev = fwd.state;
  const r = tf.tidy(() => {
    const res = forward(chars.map((id) => tf.tensor1d([id], 'int32')), 1, prev.h, prev.c, false);
    const out = n === 1 ? res.outs[0] : tf.concat(res.outs, 0);
    const logits = n === 1 ? res.logits[0] : tf.concat(res.logits, 0);
    return { probs: tf.softmax(logits), out, hN: res.hN, cN: res.cN };
  });
  const h = r.hN.map((t) => t.dataSync());
  const c = r.cN.map((t) => t.dataSync());
  // With n = 1 the top layer's output *is* its final h: keep it alive for the next call.
  const outIsState = r.out === r.hN[L - 1];
  const host = { out: outIsState ? h[L - 1] : r.out.dataSync(), h, c, probs: r.probs.dataSync() };
  tf.dispose(outIsState ? [r.probs] : [r.probs, r.out]);
  disposeState(prev);
  fwd.state = { h: r.hN, c: r.cN };
  return host;
}

const fwd64 = measure(() => forwardCall(SEQ), SEQ, 20);
disposeState(fwd.state);
fwd.state = zeroState(1);
const fwd1 = measure(() => forwardCall(1), 1, 200);
log(`fwd64 windows ${fwd64.rates.map(Math.round)}, fwd1 windows ${fwd1.rates.map(Math.round)} chars/s, ` +
  `tensors now ${tf.memory().numTensors}`);

emit({
  ...base,
  trainCharsPerSec: Math.round(trainRes.rate * 10) / 10,
  fwd64CharsPerSec: Math.round(fwd64.rate * 10) / 10,
  fwd1CharsPerSec: Math.round(fwd1.rate * 10) / 10,
  rssMB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  notes: `hand-written LSTM on tf.variables (gates fused [in,4H]), tf.variableGrads + ` +
    `tf.train.adam, global-norm clip on device; per-time-step tensors and customGrad matmul ` +
    `(explicit transposes) to dodge wasm's slow transposed BatchMatMul and whole-tensor-copying ` +
    `Slice; embedding = tf.gather with customGrad onehot^T.dY (wasm lacks UnsortedSegmentSum); ` +
    `backend ${tf.getBackend()}, simd=${simd}, wasm threads=${wasmThreads} (none in Node); ` +
    `batch-1 results read back with dataSync; median of 3 windows`,
});
