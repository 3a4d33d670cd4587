import * as assert from 'node:assert/strict';
import type { ReachData, ReachView } from '../../../src/protocol/reach';
import {
  actualFactorPoints, factorRange, factorSentence, horizonText, mostSalient, plainLogTick, ratioPoints, reachRange, reachCurves, reachHeadline, saliencyCovers, saliencyFrom,
  saliencyLevels, sci,
} from '../../../webview/data/reach';

/** A reach as the worker sends it: medians falling by `decay` per step (c by `decayC`), one layer, K = 100. */
function data(cell: string, decay: number, decayC: number | null, horizon: number | null): ReachData {
  const K = 100;
  const curve = (d: number): Float64Array => Float64Array.from({ length: K + 1 }, (_, k) => d ** k);
  const band = (d: number) => ({ median: curve(d), q10: curve(d * 0.98), q90: curve(Math.min(1, d * 1.02)) });
  return {
    cell,
    prediction: { at: 300, maxK: 300, loss: 1.2, target: 4,
      layers: [{ gradH: Float64Array.from(curve(decay), (v) => 0.5 * v), gradC: decayC === null ? null : curve(decayC) }], saliency: curve(decay) },
    predictionNote: null,
    summary: { positions: 40, maxK: K, layers: [{ gradH: band(decay), gradC: decayC === null ? null : band(decayC) }], horizon: [horizon], horizonC: null, threshold: 1e-3 },
    summaryNote: null,
    factors: { layer: 0, kind: cell === 'lstm' ? 'f' : 'sigma', factor: new Float64Array(K + 1).fill(0.9), product: curve(0.9) },
  };
}

describe('webview data: gradient reach', () => {
  const lstm = data('lstm', 0.88, 0.95, 58);
  const rnn = data('rnn_tanh', 0.7, null, 20);
  const view: ReachView = { at: 300, model: lstm, compare: rnn, compareLabel: 'vanilla RNN', compareNote: null };

  it('states the contrast 50 characters back in numbers, from the medians', () => {
    assert.equal(sci(0.88 ** 50), '1.7e-3');
    assert.equal(reachHeadline(view),
      `50 characters back the LSTM keeps 1.7e-3 of the gradient, its cell state 7.7e-2, the RNN 1.8e-8 (${sci(0.88 ** 50 / 0.7 ** 50)}× more; medians over 40 predictions). Horizons: 58 characters against 20 characters.`);
    assert.equal(reachHeadline({ ...view, compare: null }),
      '50 characters back the LSTM keeps 1.7e-3 of the gradient, its cell state 7.7e-2 (median over 40 predictions); its memory horizon is 58 characters.');
    const short = { ...lstm, summary: { ...lstm.summary!, maxK: 20 } };
    assert.match(reachHeadline({ ...view, model: short, compare: null }), /^20 characters back/, 'a short text: the largest k measured');
    assert.equal(horizonText(null, 100), '> 100 characters');
    assert.equal(reachHeadline({ ...view, model: { ...lstm, summary: null, summaryNote: 'too short' } }), 'too short');
  });

  it('shapes one curve per model, quantity and kind, normalised, with the median\'s band', () => {
    const curves = reachCurves(view, 100);
    assert.deepEqual(curves.map((c) => `${c.model}:${c.kind}:${c.quantity}`),
      ['model:median:h', 'model:median:c', 'model:prediction:h', 'model:prediction:c', 'compare:median:h', 'compare:prediction:h']);
    const pred = curves.find((c) => c.model === 'model' && c.kind === 'prediction' && c.quantity === 'h')!;
    assert.equal(pred.points.length, 101, 'K + 1 points though the prediction reaches 300 back');
    assert.equal(pred.points[0]!.y, 1, 'normalised by k = 0 (gradH[0] was 0.5)');
    assert.ok(Math.abs(pred.points[10]!.y - 0.88 ** 10) < 1e-12);
    assert.ok(curves.find((c) => c.kind === 'median')!.band!.lo.length === 101);
    assert.deepEqual(reachCurves(view, 100, 1).map((c) => `${c.model}:${c.layer}`), ['model:0', 'model:0', 'model:0', 'model:0', 'compare:0', 'compare:0'],
      'layer 1 asked of one-layer models: their only layer');
  });

  it('ends a curve at the first zero (a log axis has none), and skips what is not positive', () => {
    const y = Float64Array.from([2, 1, 0.5, 0, 0.1]);
    assert.deepEqual(ratioPoints(y, 10), [{ x: 0, y: 1 }, { x: 1, y: 0.5 }, { x: 2, y: 0.25 }]);
    assert.deepEqual(ratioPoints(Float64Array.from([0, 1]), 10), []);
    assert.deepEqual(actualFactorPoints(Float64Array.from([1, 0.5, 0.25, 0.5]), 10), [{ x: 1, y: 0.5 }, { x: 2, y: 0.5 }, { x: 3, y: 2 }]);
  });

  it('maps saliency to 4 decades below the largest, only before the prediction', () => {
    const s = Float64Array.from([1, 0.1, 1e-2, 1e-5, 0]); // k = 0..4 → t = 10..6
    const levels = saliencyLevels(s, 10, 14);
    assert.deepEqual(Array.from(levels.subarray(6, 14)), [-1, -1, 0.5, 0.75, 1, -1, -1, -1]);
    assert.equal(levels[5], -1, 'before T − K');
    assert.ok(saliencyLevels(new Float64Array(3), 2, 5).every((v) => v === -1), 'no saliency at all');
  });

  it('names the characters the prediction depends on most, with their saliency', () => {
    const s = Float64Array.from([0.4, 0, 0.03, 0.5, 0.03]); // k = 0..4 → t = 10..6
    assert.equal(mostSalient(s, 10, (t) => 'abcdefghijk'[t]!), 't = 7 "h" 5.0e-1, t = 10 "k" 4.0e-1, t = 8 "i" 3.0e-2');
    assert.equal(mostSalient(s, 2, (t) => 'abc'[t]!, 5), 't = 2 "c" 4.0e-1, t = 0 "a" 3.0e-2', 'nothing before t = 0');
  });

  it('wants the saliency back to the start of the strip\'s window, and knows when a reach already has it', () => {
    assert.equal(saliencyFrom(null, 963), 0, 'the whole text is shown');
    assert.equal(saliencyFrom({ start: 564, end: 964 }, 963), 564);
    assert.equal(saliencyFrom({ start: 2000, end: 2400 }, 963), 963, 'a window after the cursor: nothing before T is shown');
    const at300 = (maxK: number): ReachView => ({ ...view, model: { ...lstm, prediction: { ...lstm.prediction!, maxK } } });
    assert.equal(saliencyCovers(at300(300), 0), true);
    assert.equal(saliencyCovers(at300(100), 0), false, 'the chart\'s 100 steps do not reach t = 0');
    assert.equal(saliencyCovers(at300(100), 200), true);
    assert.equal(saliencyCovers({ ...view, model: { ...lstm, prediction: null } }, 0), true, 'the last character: nothing to ask for');
  });

  it('puts the per-step factors on a log axis of whole decades around 1, and says them in words', () => {
    assert.deepEqual(factorRange([[{ x: 0, y: 0.7 }, { x: 1, y: 1.2 }]]), { min: 0.1, max: 10 }, 'at least 0.1..10');
    assert.deepEqual(factorRange([[{ x: 0, y: 0.004 }], [{ x: 0, y: 45 }, { x: 1, y: 0 }]]), { min: 1e-3, max: 100 }, 'zeros are not on a log axis');
    assert.deepEqual(factorRange([[{ x: 0, y: 1e-9 }, { x: 1, y: 1e9 }]]), { min: 1e-4, max: 1e4 }, 'clipped beyond');
    assert.deepEqual([0.01, 0.05, 0.3, 1, 2, 5, 7, 10, 20].map(plainLogTick), ['0.01', '0.05', '', '1', '2', '5', '', '10', '20']);
    const factor = Float64Array.from({ length: 101 }, (_, k) => (k < 90 ? 0.5 : 2));
    assert.equal(factorSentence('σ_max', '∏ σ_max', 963, factor, Float64Array.from(factor, (_, k) => 0.5 ** k), 100),
      'σ_max over the 100 steps before t = 963: median 0.50, below 1 at 90 of 101 steps; ∏ σ_max 100 steps back: 7.9e-31');
    assert.match(factorSentence('f', '∏f', 5, factor.subarray(0, 6), new Float64Array(6).fill(1), 100), /over the 5 steps before t = 5: median 0\.50, below 1 at 6 of 6 steps; ∏f 5 steps back: 1\.0e\+0$/);
    assert.deepEqual(reachRange([[{ x: 0, y: 1 }, { x: 1, y: 0.01 }]]), { min: 1e-6, max: 10 }, 'the horizon\'s 1e-3 always in view');
    assert.deepEqual(reachRange([[{ x: 0, y: 1 }, { x: 1, y: 3e-19 }]]), { min: 1e-19, max: 10 }, 'the RNN\'s 1e-19 is drawn, not clipped');
    assert.deepEqual(reachRange([[{ x: 0, y: 1e-40 }]]), { min: 1e-30, max: 10 });
  });
});
