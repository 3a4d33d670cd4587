import * as assert from 'node:assert/strict';
import { Network } from '../../../src/engine/network';
import { JsKernels } from '../../../src/engine/kernels';
import { summarise, makePredictions } from '../../../src/engine/predictions';
import { Rng } from '../../../src/engine/rng';
import { forwardRecord, traceTokens } from '../../../src/engine/trace';
import { Unroll } from '../../../src/engine/unroll';
import { TraceRun } from '../../../src/engine/traceRun';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';
import { WasmKernels } from '../../../src/engine/wasm/wasmKernels';
import { GatescopeError } from '../../../src/engine/errors';

const V = 13;

function net(cell: CellType, hidden: number, wasm = true): Network {
  const n = new Network({ cell, vocabSize: V, embed: 5, hidden, layers: 2 }, Float32Array, wasm ? new WasmKernels() : new JsKernels());
  n.initialize(new Rng(5));
  return n;
}

function tokens(T: number): Int32Array {
  const t = new Int32Array(T);
  for (let i = 0; i < T; i++) t[i] = (i * 7 + (i >> 2) + (i % 5 === 0 ? 3 : 0)) % V;
  return t;
}

/** Largest |a − b| / (|b| + floor) over two arrays. */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + floor));
  return m;
}

describe('TraceRun: a trace in segments from checkpoints', function () {
  this.timeout(120_000);

  for (const cell of CELL_TYPES) {
    for (const wasm of [true, false]) {
      it(`${cell} (${wasm ? 'wasm' : 'TypeScript'} kernels): windows recomputed from checkpoints are bit-identical to a full trace`, () => {
        const n = net(cell, 24, wasm);
        const T = 333; // ≥ FUSED_MIN_STEPS: an LSTM on wasm runs the fused recurrence; 333 = 5·64 + 13
        const ids = tokens(T);
        const full = traceTokens(n, ids, { fullProbs: true });
        const run = new TraceRun(n, ids, { segment: 64 });
        try {
          let s;
          while ((s = run.next()) !== null) {
            // each streamed segment equals the full trace's rows
            s.layers.forEach((l, li) => assert.deepEqual(l.h, full.layers[li]!.h.subarray(s!.start * 24, s!.end * 24)));
          }
          for (const [a, b] of [[0, 1], [10, 200], [63, 65], [128, 192], [300, 333], [0, 333]] as const) {
            const w = run.window(a, b);
            w.layers.forEach((l, li) => {
              const f = full.layers[li]!;
              assert.deepEqual(l.h, f.h.subarray(a * 24, b * 24), `h layer ${li} [${a}, ${b})`);
              if (f.c) assert.deepEqual(l.c, f.c.subarray(a * 24, b * 24), `c layer ${li}`);
              for (const g of Object.keys(f.gates)) assert.deepEqual(l.gates[g], f.gates[g]!.subarray(a * 24, b * 24), `${g} layer ${li}`);
            });
          }
          // the whole distribution on demand, bit-identical to the full trace's row
          for (const t of [0, 64, 200, T - 1]) assert.deepEqual(run.distribution(t), full.probs!.subarray(t * V, (t + 1) * V));
          assert.deepEqual(run.predictions.topIds, full.predictions.topIds);
          assert.deepEqual(run.predictions.pNext, full.predictions.pNext);
          assert.ok(Math.abs(run.loss - full.loss) < 1e-6 * full.loss, `loss ${run.loss} vs ${full.loss}`);
          // the backward in segments, each recomputed: the same norms to float32 rounding
          const g = run.gradients();
          full.layers.forEach((f, l) => {
            assert.ok(maxRel(g.gradH[l]!, f.gradH) < 2e-4, `gradH layer ${l}: ${maxRel(g.gradH[l]!, f.gradH)}`);
            if (f.gradC) assert.ok(maxRel(g.gradC[l]!, f.gradC) < 2e-4, `gradC layer ${l}`);
          });
          // one prediction's gradients: zero after it, equal to the one-unroll trace's before
          const at = 150;
          const one = traceTokens(n, ids, { lossAt: at });
          const ga = run.gradients({ lossAt: at });
          one.layers.forEach((f, l) => {
            assert.ok(maxRel(ga.gradH[l]!, f.gradH, 1e-7) < 2e-4, `gradH(lossAt) layer ${l}: ${maxRel(ga.gradH[l]!, f.gradH, 1e-7)}`);
            for (let t = at + 1; t < T; t++) assert.equal(ga.gradH[l]![t], 0);
          });
        } finally {
          run.dispose();
        }
      });
    }
  }

  it('keeps the segments\' unrolls with keep: the same norms as recomputing them, and parameter gradients as one unroll\'s', () => {
    const n = net('lstm', 20);
    const ids = tokens(300);
    const full = traceTokens(n, ids, { paramGrads: true });
    const kept = new TraceRun(n, ids, { segment: 100, keep: true });
    try {
      kept.finish();
      const g = kept.gradients({ paramGrads: true });
      assert.ok(maxRel(g.gradH[0]!, full.layers[0]!.gradH) < 2e-4);
      for (const t of n.layout.tensors) {
        const mine = n.grads.subarray(t.offset, t.offset + t.size);
        assert.ok(maxRel(mine, full.paramGrads!.get(t.name)!, 1e-5) < 1e-3, `${t.name}: ${maxRel(mine, full.paramGrads!.get(t.name)!, 1e-5)}`);
      }
    } finally {
      kept.dispose();
    }
  });

  it('traceTokens in segments (a text whose unroll would not fit) returns the whole text\'s internals, the same bits as in one unroll', () => {
    for (const cell of ['lstm', 'gru'] as const) {
      const n = net(cell, 16);
      const ids = tokens(300);
      const one = traceTokens(n, ids), parts = traceTokens(n, ids, { segment: 64 });
      one.layers.forEach((l, i) => {
        const p = parts.layers[i]!;
        assert.deepEqual(p.h, l.h, `${cell} h layer ${i}`);
        assert.deepEqual(p.c, l.c);
        assert.deepEqual(p.gates, l.gates);
        assert.ok(maxRel(p.gradH, l.gradH) < 2e-4);
      });
      assert.deepEqual(parts.predictions.topIds, one.predictions.topIds);
    }
  });

  it('a large vocabulary of which the text uses few tokens: only their input-table rows, the same bits as a plain unroll with the whole table', () => {
    for (const cell of ['lstm', 'rnn_tanh'] as const) {
      const n = new Network({ cell, vocabSize: 400, embed: 6, hidden: 16, layers: 1 }, Float32Array, new WasmKernels());
      n.initialize(new Rng(9));
      const ids = Int32Array.from(tokens(300), (x) => x * 31); // 13 of the 400 tokens
      const u = new Unroll(n, 300, 1);
      u.inputs.set(ids);
      u.resetState();
      u.forward();
      const plain = forwardRecord(u);
      const run = new TraceRun(n, ids, { segment: 64 });
      try {
        run.finish();
        const w = run.window(0, 300);
        assert.deepEqual(w.layers[0]!.h, Float32Array.from(plain.layers[0]!.h), `${cell} h`);
        assert.deepEqual(run.distribution(123), Float32Array.from(plain.distribution(123)), `${cell} distribution`);
      } finally {
        run.dispose();
      }
    }
  });

  it('keeps the top k, p of the next character and the entropy of every distribution', () => {
    const n = net('gru', 16);
    const ids = tokens(90);
    const full = traceTokens(n, ids, { fullProbs: true, topK: 4 });
    const p = full.predictions;
    assert.equal(p.k, 4);
    for (let t = 0; t < 90; t++) {
      const row = Array.from(full.probs!.subarray(t * V, (t + 1) * V));
      const order = row.map((x, v) => [x, v] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
      assert.deepEqual(Array.from(p.topIds.subarray(t * 4, t * 4 + 4)), order.slice(0, 4).map((o) => o[1]));
      assert.deepEqual(Array.from(p.topProbs.subarray(t * 4, t * 4 + 4)), order.slice(0, 4).map((o) => Math.fround(o[0])));
      const h = -row.reduce((s, x) => s + (x > 0 ? x * Math.log(x) : 0), 0);
      assert.ok(Math.abs(p.entropy[t]! - h) < 1e-6, `entropy at ${t}`);
      if (t + 1 < 90) assert.equal(p.pNext[t], row[ids[t + 1]!]);
      else assert.ok(Number.isNaN(p.pNext[t]));
    }
  });

  it('summarise: ties keep the lower id first; k is at most V', () => {
    const out = makePredictions(1, 3);
    summarise(Float32Array.from([0.25, 0.25, 0.5, 0]), 1, 4, [3], out, 0);
    assert.deepEqual(Array.from(out.topIds), [2, 0, 1]);
    assert.equal(out.pNext[0], 0);
    const n = net('rnn_tanh', 8);
    const t = traceTokens(n, tokens(20), { topK: 1000 });
    assert.equal(t.predictions.k, V);
  });

  it('refuses a window outside the text and a position outside it', () => {
    const n = net('lstm', 8);
    const run = new TraceRun(n, tokens(50), { segment: 16 });
    try {
      run.finish();
      assert.throws(() => run.window(40, 60), (e: Error) => e instanceof GatescopeError && /not inside the text's 50 characters/.test(e.message));
      assert.throws(() => run.window(-1, 3), GatescopeError);
      assert.throws(() => run.window(5, 5), GatescopeError);
      assert.throws(() => run.distribution(50), GatescopeError);
      assert.throws(() => run.gradients({ lossAt: 49 }), /last character predicts nothing/);
    } finally {
      run.dispose();
    }
    assert.throws(() => run.next(), /after dispose/);
  });
});
