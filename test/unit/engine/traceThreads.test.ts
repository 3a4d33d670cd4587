import * as assert from 'node:assert/strict';
import { Network } from '../../../src/engine/network';
import { rowHelpers } from '../../../src/engine/backend';
import { nodeThreads } from '../../../src/engine/parallel/nodeThreads';
import { type LstmRun, RUN_WORDS, runAlone, runShared } from '../../../src/engine/parallel/recurrence';
import { RowSplit } from '../../../src/engine/parallel/rowSplit';
import { Rng } from '../../../src/engine/rng';
import { traceTokens, type Trace } from '../../../src/engine/trace';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';
import { Unroll } from '../../../src/engine/unroll';
import { WasmKernels } from '../../../src/engine/wasm/wasmKernels';

function net(cell: CellType, hidden: number): Network {
  const n = new Network({ cell, vocabSize: 11, embed: 5, hidden, layers: 2 }, Float32Array, new WasmKernels());
  n.initialize(new Rng(3));
  return n;
}

function tokens(T: number): Int32Array {
  const t = new Int32Array(T);
  for (let i = 0; i < T; i++) t[i] = (i * 7 + (i >> 3)) % 11;
  return t;
}

function assertSameTrace(a: Trace, b: Trace): void {
  assert.equal(Object.is(a.loss, b.loss), true, `loss ${a.loss} vs ${b.loss}`);
  assert.equal(a.probs === null, b.probs === null, 'both keep the whole distribution, or neither');
  assert.deepEqual(a.probs, b.probs);
  assert.deepEqual(a.predictions, b.predictions);
  a.layers.forEach((la, l) => {
    const lb = b.layers[l]!;
    assert.deepEqual(la.h, lb.h);
    assert.deepEqual(la.c, lb.c);
    assert.deepEqual(la.gates, lb.gates);
    assert.deepEqual(la.gradH, lb.gradH);
    assert.deepEqual(la.gradC, lb.gradC);
  });
  assert.deepEqual(a.paramGrads, b.paramGrads);
}

/** A batch-1 unroll of T ≥ FUSED_MIN_STEPS steps after its forward, and its first layer's fused forward run. */
function fusedForward(n: Network, T: number): { u: Unroll; run: LstmRun } {
  const u = new Unroll(n, T, 1);
  u.inputs.set(tokens(T));
  u.resetState();
  u.forward();
  const run = (u as unknown as { lstmRun(backward: boolean, l: number): LstmRun | null }).lstmRun(false, 0);
  assert.ok(run !== null, 'batch-1 LSTM on wasm kernels runs fused');
  return { u, run };
}

describe('two-thread trace (recurrent products split by rows)', function () {
  this.timeout(120_000);

  for (const cell of CELL_TYPES) {
    // 20: rows that are not a multiple of the kernel's 8-row block on either side of the split
    for (const hidden of [20, 48]) {
      it(`${cell}, H=${hidden}: bit-identical to one thread, with the helper doing its rows`, () => {
        const n = net(cell, hidden);
        const T = 300;
        const ids = tokens(T);
        const run = (rows: RowSplit | null): Unroll => {
          const u = new Unroll(n, T, 1);
          u.inputs.set(ids);
          for (let t = 0; t + 1 < T; t++) u.targets[t] = ids[t + 1]!;
          u.resetState();
          u.rows = rows;
          u.forward();
          n.zeroGrad();
          u.backward();
          return u;
        };
        const one = run(null);
        const grads1 = Float32Array.from(n.grads);
        const rows = RowSplit.start(n.kernels, nodeThreads);
        assert.ok(rows !== null);
        let two: Unroll;
        try {
          assert.ok(rows.waitReady(60_000), 'the row helper should start');
          two = run(rows);
          // products after a lagging window run here alone (the back-off): the same numbers either way
          assert.ok(rows.split > 0, 'the helper should take part');
          if (cell === 'lstm') {
            // the LSTM's recurrences run as shared runs, half the units each (recurrence.ts); the helper joins
            // when it is on its core in time (these steps take well under a microsecond): give it a few tries
            assert.equal(rows.runs, 4, 'forward and backward of both layers');
            for (let tries = 0; tries < 20 && rows.helperHalfSteps === 0; tries++) {
              const again = run(rows);
              again.layers.forEach((c, l) => assert.deepEqual(c.hs, one.layers[l]!.hs));
            }
            assert.ok(rows.helperHalfSteps > 0, 'the helper should run half-steps');
          }
        } finally {
          rows.dispose();
        }
        assert.equal(two.loss, one.loss);
        assert.deepEqual(two.probs, one.probs);
        two.layers.forEach((c, l) => {
          const d = one.layers[l]!;
          assert.deepEqual(c.hs, d.hs);
          assert.deepEqual(c.cs, d.cs);
          assert.deepEqual(c.act, d.act);
          assert.deepEqual(c.gradH, d.gradH);
          assert.deepEqual(c.gradC, d.gradC);
          assert.deepEqual(c.dxp, d.dxp);
        });
        assert.deepEqual(n.grads, grads1);
      });
    }

    it(`${cell}: traceTokens with threads equals traceTokens without`, () => {
      const n = net(cell, 40);
      const ids = tokens(257);
      // the whole distributions too (a and b), and what a trace keeps of them without (c and d)
      const a = traceTokens(n, ids, { paramGrads: true, fullProbs: true });
      const b = traceTokens(n, ids, { paramGrads: true, fullProbs: true, rowHelper: rowHelpers(nodeThreads), waitForHelperMs: 60_000, threadsAtAnySize: true });
      const c = traceTokens(n, ids, { rowHelper: rowHelpers(nodeThreads), threadsAtAnySize: true }); // the helper joins part-way (or not at all)
      assertSameTrace(b, a);
      const d = traceTokens(n, ids);
      assertSameTrace(c, d);
    });
  }

  it('a helper that claims a half-step and stops answering is given up: the run ends here, with the same numbers', () => {
    const n = net('lstm', 37); // a split at 16 and a last, partial block of one unit
    const { u, run } = fusedForward(n, 300);
    const c = u.layers[0]!;
    const want = { hs: Float32Array.from(c.hs), cs: Float32Array.from(c.cs!), act: Float32Array.from(c.act!) };
    const x = (n.kernels as WasmKernels).exports;
    const clear = (): void => { c.hs.fill(0, 37); c.cs!.fill(0, 37); c.act!.fill(0); };
    clear();
    runAlone(x, run);
    assert.deepEqual(c.hs, want.hs);
    assert.deepEqual(c.act, want.act);
    // a phantom helper has claimed its half of step 0 and never finishes it
    clear();
    const ctrl = new Int32Array(new SharedArrayBuffer(RUN_WORDS.SIZE * 4));
    const base = 10;
    for (const w of [...RUN_WORDS.CLAIM, ...RUN_WORDS.DONE]) ctrl[w] = base - 1;
    ctrl[RUN_WORDS.CLAIM[1]] = base;
    let waited = 0;
    const ran = runShared(x, run, { ctrl, me: 0, base, stalled: () => ++waited >= 3 });
    assert.equal(ran, -1, 'given up');
    assert.equal(waited, 3);
    assert.deepEqual(c.hs, want.hs);
    assert.deepEqual(c.cs, want.cs);
    assert.deepEqual(c.act, want.act);
  });

  it('a helper kept out (the coordinator backing off) claims nothing, and one that is late runs only the steps left', () => {
    const n = net('lstm', 24);
    const T = 300;
    const { run } = fusedForward(n, T);
    const x = (n.kernels as WasmKernels).exports;
    const ctrl = new Int32Array(new SharedArrayBuffer(RUN_WORDS.SIZE * 4));
    const base = 1;
    const reset = (done: number): void => {
      for (const w of RUN_WORDS.CLAIM) ctrl[w] = base - 1 + done;
      for (const w of RUN_WORDS.DONE) ctrl[w] = base - 1 + done;
    };
    // kept out: it sleeps until let in or stopped, and claims nothing
    reset(0);
    ctrl[RUN_WORDS.SOLO] = 1;
    let polls = 0;
    assert.equal(runShared(x, run, { ctrl, me: 1, base, stalled: () => ++polls >= 3 }), -1);
    for (const w of RUN_WORDS.CLAIM) assert.equal(ctrl[w], base - 1, 'no step claimed');
    // late: the coordinator has done steps 0…199, so the helper runs from step 200 on
    ctrl[RUN_WORDS.SOLO] = 0;
    reset(200);
    const ran = runShared(x, run, { ctrl, me: 1, base, stalled: () => false });
    assert.equal(ran, 2 * (T - 200), 'alone, it runs both halves of the steps left, and only those');
    for (const w of RUN_WORDS.DONE) assert.equal(ctrl[w], base + T - 1);
  });

  it('a trace reusing the buffers of an earlier, longer trace of another model equals one on fresh buffers', () => {
    for (const cell of CELL_TYPES) {
      const kernels = new WasmKernels();
      const cfg = { cell, vocabSize: 11, embed: 5, hidden: 24, layers: 2 };
      const make = (k: WasmKernels, seed: number): Network => {
        const m = new Network(cfg, Float32Array, k);
        m.initialize(new Rng(seed));
        return m;
      };
      const first = traceTokens(make(kernels, 1), tokens(300), { paramGrads: true, fullProbs: true });
      const ids = Int32Array.from(tokens(280).map((t) => (t * 3) % 11)); // shorter, and still ≥ FUSED_MIN_STEPS
      const reused = traceTokens(make(kernels, 2), ids, { paramGrads: true, fullProbs: true });
      const fresh = traceTokens(make(new WasmKernels(), 2), ids, { paramGrads: true, fullProbs: true });
      assertSameTrace(reused, fresh);
      assert.equal(reused.probs!.length, 280 * 11);
      assert.equal(reused.predictions.pNext.length, 280);
      assert.notDeepEqual(first.layers[0]!.h.subarray(0, 24), reused.layers[0]!.h.subarray(0, 24));
    }
  });

  it('falls back to one thread where there are no row threads or no wasm kernels', () => {
    const n = net('lstm', 24);
    assert.equal(RowSplit.start(n.kernels, { startShardThread: () => ({ terminate: () => undefined }) }), null);
    assert.equal(RowSplit.start(n.kernels, null), null);
    const js = new Network({ cell: 'lstm', vocabSize: 11, embed: 5, hidden: 24, layers: 1 }, Float64Array);
    assert.equal(RowSplit.start(js.kernels, nodeThreads), null);
    const ids = tokens(50);
    assertSameTrace(traceTokens(n, ids, { rowHelper: rowHelpers({ startShardThread: () => ({ terminate: () => undefined }) }), threadsAtAnySize: true, fullProbs: true }), traceTokens(n, ids, { fullProbs: true }));
    assertSameTrace(traceTokens(js, ids, { rowHelper: rowHelpers(nodeThreads), threadsAtAnySize: true }), traceTokens(js, ids));
  });
});
