import * as assert from 'node:assert/strict';
import { History } from '../../../webview/data/history';
import type { TraceData } from '../../../src/protocol/trace';
import { displayChar, probabilityOfActual, topPredictions, traceText, unitReadout } from '../../../src/protocol/traceQuery';
import { quantitiesOf, quantityRange, quantityValues } from '../../../src/protocol/webview';
import type { TrainProgress } from '../../../src/protocol/worker';

/** A tiny LSTM trace: T 3, V 3, H 2, one layer; values encode (t, unit) so that reads can be checked. */
function trace(): TraceData {
  const T = 3, H = 2;
  const f = (base: number): Float32Array => Float32Array.from({ length: T * H }, (_, k) => base + Math.floor(k / H) * 0.1 + (k % H) * 0.01);
  return {
    cell: 'lstm', vocab: ['a', 'b', '\n'], hidden: H, tokens: Int32Array.from([0, 2, 1]), loss: 1,
    probs: Float32Array.from([0.2, 0.5, 0.3, 0.6, 0.1, 0.3, 1 / 3, 1 / 3, 1 / 3]),
    layers: [{ gates: { i: f(0), f: f(1), g: f(2), o: f(3) }, c: f(4), h: f(5), gradH: new Float32Array(T), gradC: new Float32Array(T) }],
  };
}

describe('protocol: trace queries shared by the webview and the host', () => {
  it('top predictions, most likely first, and the probability of the actual character', () => {
    const tr = trace();
    assert.deepEqual(topPredictions(tr, 0, 2).map((p) => p.char), ['b', '\n']);
    assert.deepEqual(topPredictions(tr, 1, 5).map((p) => p.char), ['a', '\n', 'b']);
    assert.equal(probabilityOfActual(tr, 0), null);
    assert.equal(probabilityOfActual(tr, 1), Math.fround(0.3), 'P(newline) after reading "a"');
  });

  it('reads every quantity of a unit in display order', () => {
    const r = unitReadout(trace(), 0, 1, 2);
    assert.deepEqual(r.map((x) => x.q), ['i', 'f', 'g', 'o', 'c', 'h']);
    assert.equal(r[1]!.value, Math.fround(1 + 0.2 + 0.01));
    assert.deepEqual(unitReadout(trace(), 3, 0, 0), []);
  });

  it('names quantities, their ranges and values per cell type', () => {
    assert.deepEqual(quantitiesOf('gru'), ['r', 'z', 'n', 'h']);
    assert.deepEqual(quantitiesOf('rnn_tanh'), ['h']);
    assert.deepEqual(quantityRange('z'), { lo: 0, hi: 1 });
    assert.deepEqual(quantityRange('n'), { lo: -1, hi: 1 });
    assert.equal(quantityRange('c'), null);
    assert.equal(quantityValues(trace().layers[0]!, 'r'), null);
    assert.equal(traceText(trace()), 'a\nb');
    assert.deepEqual(['\n', ' ', '\t', '\u0001', 'é'].map(displayChar), ['↵', '␣', '⇥', '␁', 'é']);
  });
});

describe('webview data: training history', () => {
  const p = (step: number): TrainProgress => ({ step, totalSteps: 1000, epoch: 0, loss: 2, valLoss: step % 20 ? null : 2.5, gradNorm: 1, clipRatio: 1, charsPerSec: 10, etaSeconds: 1 });

  it('grows as reports arrive and gives chart points, skipping unmeasured validation', () => {
    const empty = new Float32Array(0);
    const h = new History({ runId: 1, title: 'r', step: new Float64Array(0), loss: empty, valLoss: empty, gradNorm: empty, clipRatio: empty,
      charsPerSec: empty, latest: null, samples: [], finished: null });
    for (let s = 10; s <= 1000; s += 10) h.push(p(s));
    h.push(p(1000));
    assert.equal(h.length, 100);
    assert.equal(h.points('loss').length, 100);
    assert.equal(h.points('valLoss').length, 50);
    assert.equal(h.latest?.step, 1000);
  });
});
