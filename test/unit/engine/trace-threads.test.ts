import * as assert from 'node:assert/strict';
import { Network } from '../../../src/engine/network';
import { nodeThreads } from '../../../src/engine/parallel/nodeThreads';
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
  assert.deepEqual(a.probs, b.probs);
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
      const a = traceTokens(n, ids, { paramGrads: true });
      const b = traceTokens(n, ids, { paramGrads: true, threads: nodeThreads, waitForHelperMs: 60_000, threadsAtAnySize: true });
      const c = traceTokens(n, ids, { threads: nodeThreads, threadsAtAnySize: true }); // the helper joins part-way (or not at all)
      assertSameTrace(b, a);
      const d = traceTokens(n, ids);
      assertSameTrace(c, d);
    });
  }

  it('falls back to one thread where there are no row threads or no wasm kernels', () => {
    const n = net('lstm', 24);
    assert.equal(RowSplit.start(n.kernels, { startShardThread: () => ({ terminate: () => undefined }) }), null);
    assert.equal(RowSplit.start(n.kernels, null), null);
    const js = new Network({ cell: 'lstm', vocabSize: 11, embed: 5, hidden: 24, layers: 1 }, Float64Array);
    assert.equal(RowSplit.start(js.kernels, nodeThreads), null);
    const ids = tokens(50);
    assertSameTrace(traceTokens(n, ids, { threads: { startShardThread: () => ({ terminate: () => undefined }) }, threadsAtAnySize: true }), traceTokens(n, ids));
  });
});
