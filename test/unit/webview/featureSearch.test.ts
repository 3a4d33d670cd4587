import * as assert from 'node:assert/strict';
import { featureSpecOf, searchQuantities, searchRanges, viewQuantity } from '../../../src/protocol/units';
import { DEFAULT_SEARCH, type SearchState } from '../../../src/protocol/webview';
import { scatterPoints } from '../../../webview/data/featureSearch';

/** The unit search's shapes on both sides of the boundary: what the webview asks for, and the scatter it draws. */
describe('unit search: the feature the webview asks for', () => {
  const s = (patch: Partial<SearchState>): SearchState => ({ ...DEFAULT_SEARCH, ...patch });

  it('ranges: those added and the selection, clipped to the text, sorted, merged where they overlap or touch', () => {
    assert.deepEqual(searchRanges([{ start: 10, end: 20 }], { start: 15, end: 30 }, 100), [{ start: 10, end: 30 }]);
    assert.deepEqual(searchRanges([{ start: 40, end: 50 }, { start: 0, end: 5 }], null, 100), [{ start: 0, end: 5 }, { start: 40, end: 50 }]);
    assert.deepEqual(searchRanges([{ start: 0, end: 5 }], { start: 5, end: 8 }, 100), [{ start: 0, end: 8 }], 'touching ranges are one');
    assert.deepEqual(searchRanges([{ start: 90, end: 120 }, { start: 130, end: 140 }], null, 100), [{ start: 90, end: 100 }], 'outside the text: clipped, or gone');
    assert.deepEqual(searchRanges([], { start: 7, end: 7 }, 100), [], 'an empty selection is no range');
  });

  it('each mode\'s feature; nothing to search without a regex, without ranges, and in threshold mode', () => {
    assert.deepEqual(featureSpecOf(s({ feature: 'column' }), 'python', null, 50), { kind: 'column' });
    assert.deepEqual(featureSpecOf(s({ feature: 'depth' }), 'c', null, 50), { kind: 'depth', lang: 'c' });
    assert.deepEqual(featureSpecOf(s({ feature: 'comment', lang: 'shell' }), 'shell', null, 50), { kind: 'comment', lang: 'shell' });
    assert.deepEqual(featureSpecOf(s({ mode: 'regex', regex: 'def \\w+' }), 'python', null, 50), { kind: 'regex', source: 'def \\w+' });
    assert.equal(featureSpecOf(s({ mode: 'regex', regex: '' }), 'python', null, 50), null);
    assert.deepEqual(featureSpecOf(s({ mode: 'ranges', ranges: [{ start: 1, end: 3 }] }), 'plain', { start: 10, end: 12 }, 50),
      { kind: 'ranges', ranges: [[1, 3], [10, 12]] }, 'the selection counts until it is added');
    assert.equal(featureSpecOf(s({ mode: 'ranges' }), 'plain', null, 50), null);
    assert.equal(featureSpecOf(s({ mode: 'threshold' }), 'plain', { start: 1, end: 2 }, 50), null);
  });

  it('the quantities searched per cell, and the view that shows a result', () => {
    assert.deepEqual(searchQuantities('lstm'), ['c', 'tanh(c)', 'h', 'i', 'f', 'g', 'o']);
    assert.deepEqual(searchQuantities('gru'), ['h', 'r', 'z', 'n']);
    assert.deepEqual(searchQuantities('rnn_tanh'), ['h']);
    assert.equal(viewQuantity('tanh(c)'), 'c');
    assert.equal(viewQuantity('f'), 'f');
  });
});

describe('unit search: the scatter', () => {
  it('a graded feature: every point up to the limit, the mean at each value, the axes around the data', () => {
    const x = Float32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const y = Float32Array.from([0, 2, 4, 1, 3, 5, 2, 4, 6]);
    const p = scatterPoints(x, y, false);
    assert.deepEqual(Array.from(p.x), Array.from(x));
    assert.deepEqual(Array.from(p.y), Array.from(y));
    assert.deepEqual([p.xLo, p.xHi, p.yLo, p.yHi], [0, 2, 0, 6]);
    assert.deepEqual(p.means, [{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]);
  });

  it('at most `max` points, evenly strided; a 0/1 feature jittered by the same amount every time; flat data still has an axis', () => {
    const T = 10_000;
    const x = Float32Array.from({ length: T }, (_, t) => (t % 3 === 0 ? 1 : 0));
    const y = Float32Array.from({ length: T }, (_, t) => (t % 3 === 0 ? 0.8 : -0.2));
    const p = scatterPoints(x, y, true, 1000);
    const inside = Array.from(p.x).filter((v) => v > 0.5).length;
    assert.ok(p.x.length <= 1000 && inside <= 500 && p.x.length - inside <= 500, `${inside} inside, ${p.x.length - inside} outside`);
    assert.ok(inside > 450 && p.x.length - inside > 450, 'each side strided to about half the points');
    assert.deepEqual([p.xLo, p.xHi], [-0.5, 1.5]);
    assert.ok(Array.from(p.x).every((v) => Math.abs(v - Math.round(v)) <= 0.3 + 1e-6), 'jitter within ±0.3');
    assert.ok(new Set(Array.from(p.x)).size > 100, 'the jitter spreads the columns');
    assert.deepEqual(Array.from(scatterPoints(x, y, true, 1000).x), Array.from(p.x), 'deterministic');
    assert.deepEqual(p.means.map((m) => [m.x, Math.round(m.y * 1e6) / 1e6]), [[0, -0.2], [1, 0.8]]);
    // a rare match keeps every one of its points
    const rare = Float32Array.from({ length: T }, (_, t) => (t % 1000 === 7 ? 1 : 0));
    const q = scatterPoints(rare, y, true, 1000);
    assert.equal(Array.from(q.x).filter((v) => v > 0.5).length, 10);
    assert.ok(q.x.length <= 510);
    const flat = scatterPoints(Float32Array.from([3, 3]), Float32Array.from([1, 1]), false);
    assert.ok(flat.xHi > flat.xLo && flat.yHi > flat.yLo);
  });
});
