import * as assert from 'node:assert/strict';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { traceTokens } from '../../../src/engine/trace';
import { CELL_TYPES } from '../../../src/engine/types';

describe('trace without parameter gradients', () => {
  for (const cell of CELL_TYPES) {
    it(`${cell}: the same trace and gradient norms as with them, and net.grads untouched`, () => {
      const net = new Network({ cell, vocabSize: 9, embed: 5, hidden: 7, layers: 2 });
      net.initialize(new Rng(3));
      const rng = new Rng(4);
      const tokens = Int32Array.from({ length: 40 }, () => Math.floor(rng.uniform(0, 9)));
      const full = traceTokens(net, tokens, { paramGrads: true });
      const before = net.grads.slice();
      const norms = traceTokens(net, tokens);
      assert.equal(norms.paramGrads, null);
      assert.deepEqual(net.grads, before);
      // the skipped products never feed the norms: bit-identical
      assert.equal(norms.loss, full.loss);
      assert.deepEqual(norms.probs, full.probs);
      norms.layers.forEach((l, i) => {
        assert.deepEqual(l.gradH, full.layers[i]!.gradH);
        assert.deepEqual(l.gradC, full.layers[i]!.gradC);
        assert.deepEqual(l.h, full.layers[i]!.h);
      });
    });
  }
});
