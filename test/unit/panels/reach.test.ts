import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EngineClient } from '../../../src/host/engineClient';
import { decodeModelFile, encodeModelFile } from '../../../src/engine/modelfile';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { Vocabulary } from '../../../src/engine/vocab';
import { PanelReach } from '../../../src/panels/reach';

/**
 * The host side of the Gradient reach card against the real worker bundle (npm test builds dist/ first): a panel's
 * model and its comparison kept in the worker under the panel's keys, traced again when the worker dropped them,
 * and a comparison of another vocabulary refused in one line.
 */
const ROOT = path.join(__dirname, '../../..');
const WORKER = path.join(ROOT, 'dist/worker.js');
const read = (p: string): Uint8Array => new Uint8Array(readFileSync(path.join(ROOT, p)));

describe('panels: the gradient reach and the unit search of a panel, through the engine worker', function () {
  this.timeout(60_000);
  const lstm = read('examples/models/stdlib-lstm.safetensors');
  const rnn = read('examples/models/stdlib-rnn.safetensors');
  const text = readFileSync(path.join(ROOT, 'examples/python-stdlib/textwrap.py'), 'utf8').slice(0, 2000);
  const vocab = decodeModelFile(lstm).vocab.chars;
  let engine: EngineClient;
  before(function () { if (!existsSync(WORKER)) this.skip(); });
  beforeEach(() => { engine = new EngineClient(WORKER); });
  afterEach(() => engine.dispose());

  it('measures the model and its comparison at the cursor, tracing what the worker does not keep', async () => {
    const panel = new PanelReach(engine);
    const subject = { text, model: lstm, vocab, compare: { bytes: rnn, label: 'RNN 1×128' } };
    // nothing was traced under the panel's keys yet: both are traced on the way
    const v = await panel.at({ at: 700, maxK: 100, layer: 0 }, subject);
    assert.equal(v.at, 700);
    assert.equal(v.compareNote, null);
    assert.equal(v.model.cell, 'lstm');
    assert.equal(v.compare!.cell, 'rnn_tanh');
    assert.equal(v.compareLabel, 'RNN 1×128');
    assert.equal(v.model.prediction!.maxK, 100, 'without saliencyFrom: the chart\'s K');
    assert.ok(v.model.prediction!.saliency instanceof Float64Array && v.model.summary!.layers[0]!.gradC!.median instanceof Float64Array);
    assert.equal(v.model.summary!.maxK, 100);
    assert.equal(v.compare!.summary!.positions, 40);
    const at50 = (d: typeof v.model): number => d.summary!.layers[0]!.gradH.median[50]!;
    assert.ok(at50(v.model) > 100 * at50(v.compare!), `50 back: LSTM ${at50(v.model)}, RNN ${at50(v.compare!)}`);
    assert.equal(v.model.factors!.kind, 'f');
    assert.equal(v.compare!.factors!.kind, 'sigma');

    // the saliency back to the start of the strip's window
    const s = await panel.at({ at: 700, maxK: 100, layer: 0, saliencyFrom: 250 }, subject);
    assert.equal(s.model.prediction!.maxK, 450);
    assert.equal(s.model.prediction!.saliency.length, 451);
    assert.deepEqual(Array.from(s.model.prediction!.layers[0]!.gradH.subarray(0, 101)), Array.from(v.model.prediction!.layers[0]!.gradH),
      'the first K steps are the same numbers however far back the backward goes');

    // other panels' traces push this panel's out of the worker (it keeps 4): the next click traces again
    for (const key of ['a', 'b', 'c', 'd']) await engine.trace(rnn, 'print(1)\n', key);
    assert.equal(await engine.reach(panel.modelKey, 700, 100, 0), null, 'dropped');
    const again = await panel.at({ at: 700, maxK: 100, layer: 0 }, subject);
    assert.deepEqual(Array.from(again.model.summary!.layers[0]!.gradH.median), Array.from(v.model.summary!.layers[0]!.gradH.median));
    assert.deepEqual(Array.from(again.compare!.summary!.layers[0]!.gradH.median), Array.from(v.compare!.summary!.layers[0]!.gradH.median));
  });

  it('refuses a comparison of another vocabulary in one line, and still measures the model', async () => {
    const other = new Vocabulary([...vocab, 'é']);
    const net = new Network({ cell: 'rnn_tanh', vocabSize: other.size, embed: 8, hidden: 8, layers: 1 });
    net.initialize(new Rng(3));
    const panel = new PanelReach(engine);
    const v = await panel.at({ at: 500, maxK: 100, layer: 0 }, { text, model: lstm, vocab, compare: { bytes: encodeModelFile(net, other, {}, null), label: 'tiny RNN' } });
    assert.equal(v.compare, null);
    assert.match(v.compareNote!, /^The comparison model \(tiny RNN\) has another vocabulary than the model \(\d+ characters against \d+; it has "é"\).*its reach is not shown\.$/);
    assert.ok(!v.compareNote!.includes('\n'));
    assert.equal(v.model.prediction!.at, 500);
  });

  it('says why at the last character and on a text too short to measure, instead of failing', async () => {
    const panel = new PanelReach(engine);
    const short = 'x = 1\n';
    const v = await panel.at({ at: short.length - 1, maxK: 100, layer: 0 }, { text: short, model: lstm, vocab, compare: { bytes: rnn, label: 'RNN' } });
    assert.equal(v.model.prediction, null);
    assert.match(v.model.predictionNote!, /last character has no next character to predict/);
    assert.equal(v.model.summary!.maxK, 4);
    assert.match(v.model.summaryNote!, /The text has 6 characters: the reach is measured 4 steps back, not 100/);
    assert.equal(v.compare!.summary!.maxK, 4);
    const at2 = await panel.at({ at: 2, maxK: 100, layer: 5 }, { text: short, model: lstm, vocab, compare: null });
    assert.equal(at2.model.prediction!.maxK, 2, 'K larger than T: as far back as there is');
    assert.equal(at2.model.factors!.layer, 0, 'a layer the model lacks: its only one');
  });

  it('ranks the units of the kept trace against a feature, with the scatter\'s unit, tracing again when the worker dropped it', async () => {
    const panel = new PanelReach(engine);
    const subject = { text, model: lstm };
    const q = { feature: { kind: 'column' } as const, quantity: 'all' as const, layer: null, top: 30, pick: null };
    const v = await panel.units(q, subject);
    assert.equal(v.feature, 'column');
    assert.equal(v.units.length, 30);
    const best = v.units[0]!;
    // the bundled LSTM's column counter (README "Finding interpretable cells": unit 114, raw c)
    assert.ok(best.quantity === 'c' && best.r > 0.6, JSON.stringify(best));
    assert.ok(v.x instanceof Float32Array && v.x.length === [...text].length);
    assert.deepEqual({ ...v.scatter, values: undefined }, { layer: best.layer, unit: best.unit, quantity: best.quantity, values: undefined });
    assert.equal(v.scatter!.values.length, v.x!.length);

    // the scatter of the unit the user picked, while it is listed
    const other = v.units[5]!;
    const picked = await panel.units({ ...q, pick: { layer: other.layer, unit: other.unit, quantity: other.quantity } }, subject);
    assert.deepEqual([picked.scatter!.unit, picked.scatter!.quantity], [other.unit, other.quantity]);
    assert.deepEqual(Array.from(picked.units, (u) => u.r), Array.from(v.units, (u) => u.r), 'the same ranking');

    // a regex as typed: matches counted, inside/outside means; an invalid one and one matching nothing say why
    const re = await panel.units({ ...q, feature: { kind: 'regex', source: 'def ' }, quantity: 'tanh(c)' }, subject);
    assert.equal(re.binary, true);
    assert.equal(re.matches, 4 * (text.match(/def /g) ?? []).length);
    assert.ok(re.units.every((u) => u.quantity === 'tanh(c)' && u.meanIn !== undefined));
    const bad = await panel.units({ ...q, feature: { kind: 'regex', source: 'def (' } }, subject);
    assert.deepEqual([bad.x, bad.units.length, bad.scatter], [null, 0, null]);
    assert.match(bad.message!, /^The regular expression is not valid/);
    const none = await panel.units({ ...q, feature: { kind: 'regex', source: 'zzzzq' } }, subject);
    assert.equal(none.matches, 0);
    assert.match(none.message!, /matches nothing\): r is undefined/);

    // dropped by other panels' traces: traced again on the way
    for (const key of ['a', 'b', 'c', 'd']) await engine.trace(rnn, 'print(1)\n', key);
    assert.equal(await engine.units(panel.modelKey, q), null, 'dropped');
    const again = await panel.units(q, subject);
    assert.deepEqual(Array.from(again.units, (u) => u.r), Array.from(v.units, (u) => u.r));
  });
});

