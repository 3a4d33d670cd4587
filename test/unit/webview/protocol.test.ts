import * as assert from 'node:assert/strict';
import { History } from '../../../webview/data/history';
import type { TraceData } from '../../../src/protocol/trace';
import { makePredictions, summarise } from '../../../src/engine/predictions';
import { displayChar, probabilityOfActual, topPredictions, traceText, unitReadout } from '../../../src/protocol/traceQuery';
import { Messenger } from '../../../src/protocol/messenger';
import type { DidStepBody } from '../../../src/protocol/debug';
import { checkWebviewToHost, editedStepOf, quantitiesOf, quantityRange, quantityValues, type WebviewToHost } from '../../../src/protocol/webview';
import type { TrainProgress } from '../../../src/protocol/worker';

/** A tiny LSTM trace: T 3, V 3, H 2, one layer; values encode (t, unit) so that reads can be checked. */
function trace(): TraceData {
  const T = 3, H = 2;
  const f = (base: number): Float32Array => Float32Array.from({ length: T * H }, (_, k) => base + Math.floor(k / H) * 0.1 + (k % H) * 0.01);
  const tokens = Int32Array.from([0, 2, 1]);
  // what a trace keeps (the top 3 of V 3, p of the next character) of these distributions, not the distributions
  const predictions = makePredictions(T, 3);
  summarise(Float32Array.from([0.2, 0.5, 0.3, 0.6, 0.1, 0.3, 1 / 3, 1 / 3, 1 / 3]), T, 3, [2, 1, -1], predictions, 0);
  return {
    cell: 'lstm', vocab: ['a', 'b', '\n'], hidden: H, tokens, loss: 1, predictions, probs: null,
    layers: [{ gates: { i: f(0), f: f(1), g: f(2), o: f(3) }, c: f(4), h: f(5), gradH: new Float32Array(T), gradC: new Float32Array(T) }],
  };
}

describe('protocol: trace queries shared by the webview and the host', () => {
  it('top predictions, most likely first, and the probability of the actual character', () => {
    const tr = trace();
    assert.deepEqual(topPredictions(tr, 0, 2), [{ char: 'b', p: Math.fround(0.5) }, { char: '\n', p: Math.fround(0.3) }]);
    assert.deepEqual(topPredictions(tr, 1, 5).map((p) => p.char), ['a', '\n', 'b'], 'at most the k the trace kept');
    assert.deepEqual(topPredictions(tr, 2, 3).map((p) => p.char), ['a', 'b', '\n'], 'ties: the lower id first');
    assert.equal(probabilityOfActual(tr, 0), null);
    assert.equal(probabilityOfActual(tr, 1), Math.fround(0.3), 'P(newline) after reading "a"');
    assert.equal(probabilityOfActual(tr, 2), Math.fround(0.1), 'P(b) after reading newline');
    assert.equal(probabilityOfActual(tr, 3), null, 'past the text');
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

describe('protocol: what the host accepts from the inspector webview (issue 14 item 14)', () => {
  const search = { mode: 'regex', feature: 'column', lang: null, regex: 'def ', ranges: [{ start: 1, end: 4 }], quantity: 'all', layer: null };
  const view = { tab: 'inspect', layer: 0, quantity: 'c', unit: 3, units: [3, 5], window: null, cursor: 10, selection: { start: 2, end: 9 }, threshold: 0.5, showStates: false, search };
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);

  it('every message of the protocol, as the webview sends it', () => {
    for (const m of [{ type: 'ready' }, { type: 'didMoveCursor', t: 5 }, { type: 'didChangeView', view }, { type: 'compareWithRnn' }, { type: 'cancelCompare' },
      { type: 'retrace' }, { type: 'colourEditor' }, { type: 'reach', at: 700, maxK: 100, layer: 0 }, { type: 'reach', at: 700, maxK: 100, layer: 1, saliencyFrom: 250 },
      { type: 'units', search, selection: null, top: 30, pick: { layer: 0, unit: 114, quantity: 'tanh(c)' } }, { type: 'exportPng', name: 'gradient-reach', png },
      { type: 'exportTrace' }, { type: 'exportLossCsv' }]) {
      assert.equal(checkWebviewToHost(m), m, JSON.stringify(m));
    }
  });

  it('refuses a message whose fields are not what the protocol says', () => {
    for (const m of [null, 'ready', [], { type: 'nope' }, { type: 5 }, { type: 'didMoveCursor' }, { type: 'didMoveCursor', t: -1 }, { type: 'didMoveCursor', t: 1.5 },
      { type: 'didMoveCursor', t: '3' }, { type: 'didChangeView', view: { ...view, quantity: 'x' } }, { type: 'didChangeView', view: { ...view, units: Array(100).fill(1) } },
      { type: 'didChangeView', view: { ...view, search: { ...search, regex: 'x'.repeat(20_000) } } }, { type: 'didChangeView', view: { ...view, window: { start: 9, end: 2 } } },
      { type: 'didChangeView', view: { ...view, threshold: 2 } }, { type: 'reach', at: 7, maxK: 0, layer: 0 }, { type: 'reach', at: 7, maxK: 100, layer: 0, saliencyFrom: 'x' },
      { type: 'units', search: { ...search, mode: 'eval' }, selection: null, top: 30, pick: null }, { type: 'units', search, selection: null, top: 1e9, pick: null },
      { type: 'units', search, selection: null, top: 30, pick: { layer: 0, unit: 1, quantity: 'constructor' } },
      { type: 'exportPng', name: '../../.bashrc', png }, { type: 'exportPng', name: 'text', png: Uint8Array.from([1, 2, 3]) }, { type: 'exportPng', name: 'text', png: [0x89, 0x50] },
      { type: 'exportPng', name: 'text' }]) {
      assert.equal(checkWebviewToHost(m), null, JSON.stringify(m)?.slice(0, 120));
    }
  });

  it('the messenger answers a request that does not follow the protocol with an error and drops such a notification', async () => {
    const sent: unknown[] = [];
    const seen: unknown[] = [];
    const refused: unknown[] = [];
    const m = new Messenger<{ type: 'x' }, WebviewToHost>({ postMessage: (x) => sent.push(x) }, {
      onRequest: (r) => { seen.push(r); return 1; }, onNotification: (n) => seen.push(n), check: checkWebviewToHost, onRefused: (b) => refused.push(b),
    });
    await m.receive({ id: 1, body: { type: 'reach', at: 'x' } });
    await m.receive({ body: { type: 'didMoveCursor', t: -5 } });
    await m.receive('not an envelope');
    await m.receive({ id: 2, body: { type: 'didMoveCursor', t: 5 } });
    assert.deepEqual(seen, [{ type: 'didMoveCursor', t: 5 }]);
    assert.equal(refused.length, 2);
    assert.deepEqual(sent[0], { inReplyTo: 1, error: { message: 'the request does not follow the protocol', user: false } });
    assert.deepEqual(sent[1], { inReplyTo: 2, result: 1 });
  });
});

describe('protocol: the debugger\'s edited state in the inspector\'s terms', () => {
  const H = 2;
  const layer = { h: [0.1, -1], c: [0.5, 0.6], hPrev: [0, 0.2], cPrev: [0.3, 0.4], gates: { i: [0.1, 0.2], f: [0.3, 0.4], g: [0.5, 0.6], o: [0.7, 0.8] } };
  const body = (state: DidStepBody['state'], diverged = true): DidStepBody => ({
    program: '/a.txt', model: '/m.safetensors', t: 2, length: 3, layer: null, char: 'b', line: 0, column: 2, endColumn: 3, offset: 2,
    top: [{ ch: 'a', p: 0.283 }], next: { ch: 'a', p: 0.283, loss: 1.26 }, diverged, state, reason: 'setValue',
  });
  const state = (l: unknown = layer): DidStepBody['state'] => ({
    layers: [l as never], pChar: 0.25, edits: [{ t: 2, offset: 2, layer: 0, state: 'h', unit: 1, value: -1 }],
  });

  it('turns the event\'s numbers into typed arrays, names predictions as the trace does, and places the edits', () => {
    const e = editedStepOf(body(state()), 'lstm', 1, H, (o) => o + 10)!;
    assert.ok(e.layers[0]!.h instanceof Float32Array);
    assert.deepEqual(Array.from(e.layers[0]!.h), [Math.fround(0.1), -1]);
    assert.deepEqual(Object.keys(e.layers[0]!.gates), ['i', 'f', 'g', 'o']);
    assert.deepEqual(e.top, [{ char: 'a', p: 0.283 }]);
    assert.deepEqual(e.next, { char: 'a', p: 0.283 });
    assert.equal(e.pChar, 0.25);
    assert.deepEqual(e.edits, [{ t: 12, layer: 0, state: 'h', unit: 1, value: -1 }]);
  });

  it('is null when not diverged, and when the state does not fit the trace (layers, H, the cell\'s gates, numbers)', () => {
    assert.equal(editedStepOf(body(null, false), 'lstm', 1, H, () => 0), null);
    assert.equal(editedStepOf(body(state(), false), 'lstm', 1, H, () => 0), null);
    assert.equal(editedStepOf(body(state()), 'lstm', 2, H, () => 0), null, 'two layers traced');
    assert.equal(editedStepOf(body(state()), 'lstm', 1, 3, () => 0), null, 'H 3 traced');
    assert.equal(editedStepOf(body(state()), 'gru', 1, H, () => 0), null, 'a GRU has r, z, n');
    assert.equal(editedStepOf(body(state({ ...layer, h: [0.1, 'x'] })), 'lstm', 1, H, () => 0), null);
    assert.equal(editedStepOf(body(state({ ...layer, c: null })), 'lstm', 1, H, () => 0), null);
    const rnn = editedStepOf(body(state({ h: [1, 2], c: null, hPrev: [0, 0], cPrev: null, gates: {} })), 'rnn_tanh', 1, H, () => 0)!;
    assert.equal(rnn.layers[0]!.c, null);
  });
});
