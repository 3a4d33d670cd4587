import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { traceToJson as cliTraceToJson } from '../../../src/cli/trace';
import { decodeModelFile, encodeModelFile } from '../../../src/engine/modelfile';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { traceTokens } from '../../../src/engine/trace';
import { DEFAULT_TRAIN_OPTIONS, Trainer } from '../../../src/engine/trainer';
import { Vocabulary } from '../../../src/engine/vocab';
import { binIndex, binScheme } from '../../../src/panels/colourBins';
import { hoverMarkdown } from '../../../src/panels/hoverText';
import { inspectorCsp, inspectorHtml, makeNonce } from '../../../src/panels/html';
import { OffsetMap } from '../../../src/panels/offsets';
import { modelFacts, prepareTraceText, rnnComparisonOptions } from '../../../src/panels/traceInput';
import { TrainingRecorder } from '../../../src/panels/training';
import type { TraceData } from '../../../src/protocol/trace';
import { traceToJson } from '../../../src/protocol/traceJson';
import { displayChar } from '../../../src/protocol/traceQuery';
import type { ModelSummary, TrainProgress } from '../../../src/protocol/worker';

const GOLDEN = path.join(__dirname, '../../fixtures/golden');

/** A trace as the worker sends it (TraceData) for the golden LSTM on a text. */
function golden(text: string): { data: TraceData; json: string } {
  const m = decodeModelFile(new Uint8Array(readFileSync(path.join(GOLDEN, 'lstm.safetensors'))));
  const t = traceTokens(m.net, m.vocab.encode(text));
  const data: TraceData = {
    cell: m.net.cfg.cell, vocab: m.vocab.chars, hidden: m.net.cfg.hidden, tokens: t.tokens, loss: t.loss, predictions: t.predictions, probs: t.probs,
    layers: t.layers.map((l) => ({ gates: l.gates, c: l.c, h: l.h, gradH: l.gradH, gradC: l.gradC })),
  };
  return { data, json: cliTraceToJson(t, m.vocab, m.net.cfg.cell, m.net.cfg.hidden) };
}

describe('panels: timesteps ↔ editor offsets', () => {
  it('counts an emoji as one timestep of two UTF-16 units', () => {
    const m = new OffsetMap('a🙂b', 10);
    assert.equal(m.length, 3);
    assert.deepEqual([0, 1, 2, 3].map((t) => m.offsetOf(t)), [10, 11, 13, 14]);
    assert.deepEqual(m.rangeOf(1), { start: 11, end: 13 });
    assert.equal(m.stepAt(12), 1, 'the second half of the emoji');
    assert.equal(m.stepAt(13), 2);
    assert.equal(m.stepAt(9), null);
    assert.equal(m.stepAt(14), null);
  });

  it('maps an editor selection to the timesteps it overlaps', () => {
    const m = new OffsetMap('hello world', 100);
    assert.deepEqual(m.stepsIn(106, 111), { start: 6, end: 11 });
    assert.deepEqual(m.stepsIn(50, 102), { start: 0, end: 2 });
    assert.equal(m.stepsIn(0, 50), null);
  });
});

describe('panels: preparing a text to trace', () => {
  const vocab = ['a', 'b', ' ', '\n'];

  it('keeps the range, counts code points before it and in the document', () => {
    const doc = '🙂🙂 ab ba\nab';
    const r = prepareTraceText(doc, { start: 5, end: 10 }, vocab, 1000);
    assert.equal(r.text, 'ab ba');
    assert.equal(r.offset, 5);
    assert.equal(r.first, 3);
    assert.equal(r.total, 11);
    assert.deepEqual(r.notices, []);
  });

  it('replaces characters outside the vocabulary one for one and says so', () => {
    const r = prepareTraceText('ab🙂xx', null, vocab, 1000);
    assert.equal(r.text, 'ab   ');
    assert.equal(r.original, 'ab🙂xx');
    assert.equal(new OffsetMap(r.original).length, [...r.text].length, 'timesteps still line up with the document');
    assert.match(r.notices[0]!, /3 characters are not in the model's vocabulary.*"🙂"×1, "x"×2/);
  });

  it('caps the length and never splits a surrogate pair', () => {
    const r = prepareTraceText('ab'.repeat(100), null, vocab, 10);
    assert.equal(r.text.length, 10);
    assert.match(r.notices[0]!, /first 10 of 200 characters/);
    const s = prepareTraceText('a🙂b', { start: 2, end: 4 }, ['a', 'b', '🙂'], 100);
    assert.equal(s.text, '🙂b', 'a range starting inside the emoji starts at the emoji');
  });
});

describe('panels: the model header and the RNN comparison', () => {
  const text = 'the cat sat on the mat. '.repeat(20);
  const vocab = Vocabulary.fromText(text);
  const options = { ...DEFAULT_TRAIN_OPTIONS, cell: 'lstm' as const, layers: 2, hidden: 8, embed: 4, seq: 16, batch: 2, steps: 3, seed: 42, lr: 0.01 };
  const net = new Network({ cell: 'lstm', vocabSize: vocab.size, embed: 4, hidden: 8, layers: 2 });
  net.initialize(new Rng(42));
  const trainer = new Trainer(net, vocab.encodeCompact(text), options);
  for (let k = 0; k < 3; k++) trainer.trainStep();
  const bytes = encodeModelFile(net, vocab, { source: 'cat.txt', steps: 3, loss: 2.5 }, trainer.snapshot());
  // as the worker describes the file
  const m = decodeModelFile(bytes);
  const summary: ModelSummary = { config: net.cfg, parameters: net.params.length, vocab: vocab.chars, info: m.info, resumableFrom: 3, trainOptions: m.training!.options, warnings: [] };

  it('trains the comparison RNN with the model’s size, seed, data options and steps', () => {
    const o = rnnComparisonOptions(summary, DEFAULT_TRAIN_OPTIONS);
    assert.deepEqual({ cell: o.cell, layers: o.layers, hidden: o.hidden, embed: o.embed, seed: o.seed, seq: o.seq, batch: o.batch, lr: o.lr, steps: o.steps },
      { cell: 'rnn_tanh', layers: 2, hidden: 8, embed: 4, seed: 42, seq: 16, batch: 2, lr: 0.01, steps: 3 });
    const bare = rnnComparisonOptions({ ...summary, info: {}, resumableFrom: null, trainOptions: null }, DEFAULT_TRAIN_OPTIONS);
    assert.equal(bare.seed, DEFAULT_TRAIN_OPTIONS.seed, 'without a training state: the defaults');
    assert.equal(bare.steps, DEFAULT_TRAIN_OPTIONS.steps);
    assert.equal(bare.hidden, 8);
    const gru = rnnComparisonOptions(summary, DEFAULT_TRAIN_OPTIONS, 'gru');
    assert.deepEqual({ cell: gru.cell, hidden: gru.hidden, seed: gru.seed, steps: gru.steps }, { cell: 'gru', hidden: 8, seed: 42, steps: 3 }, 'the GRU comparison: the same but the cell');
  });

  it('header facts', () => {
    assert.deepEqual(modelFacts('cat.safetensors', summary), {
      name: 'cat.safetensors', cell: 'lstm', layers: 2, hidden: 8, embed: 4, vocabSize: vocab.size, parameters: net.params.length,
      steps: 3, trainLoss: 2.5, valLoss: null, source: 'cat.txt',
    });
  });
});

describe('panels: exports', () => {
  it('the inspector’s trace JSON is the CLI’s, byte for byte', () => {
    const { data, json } = golden('ab é.x🙂 ba');
    assert.equal(traceToJson(data, data.vocab, data.cell, data.hidden), json);
    const parsed = JSON.parse(json);
    assert.deepEqual(Object.keys(parsed), ['format', 'version', 'cell', 'vocab', 'text', 'tokens', 'loss', 'top', 'pNext', 'entropy', 'layers']);
    assert.equal(parsed.text, 'ab é.x🙂 ba');
    assert.deepEqual(Object.keys(parsed.layers[0]), ['i', 'f', 'g', 'o', 'c', 'h', 'gradH', 'gradC']);
    assert.equal(parsed.layers[0].f.length, 10);
  });

  it('records a run and writes its loss history as CSV', () => {
    const rec = new TrainingRecorder(7, 'run');
    const p = (step: number, valLoss: number | null): TrainProgress => ({ step, totalSteps: 100, epoch: 0, loss: 3 - step / 100, valLoss, gradNorm: 1.5,
      clipRatio: 1, charsPerSec: 1234.4, etaSeconds: NaN });
    rec.add(p(10, null));
    rec.add(p(20, 2.9));
    rec.add(p(20, 2.8));
    const h = rec.history();
    assert.deepEqual([...h.step], [10, 20], 'a repeated step replaces the report');
    assert.ok(Number.isNaN(h.valLoss[0]!));
    assert.ok(h.loss instanceof Float32Array, 'columns cross as typed arrays');
    assert.equal(rec.csv(), 'step,epoch,loss,val_loss,grad_norm,clip_ratio,chars_per_sec\n10,0,2.9,,1.5,1,1234\n20,0,2.8,2.8,1.5,1,1234\n');
  });
});

describe('panels: Colour Text by Unit', () => {
  it('bins σ gates from 0 and signed values around 0, leaving the middle plain', () => {
    const s = binScheme('f', 1);
    assert.equal(s.colours[binIndex(0.05, s.lo, s.hi, s.colours.length)], null);
    assert.notEqual(s.colours[binIndex(0.95, s.lo, s.hi, s.colours.length)], null);
    const d = binScheme('h', 1);
    assert.equal(d.colours[binIndex(0.01, d.lo, d.hi, d.colours.length)], null);
    assert.match(d.colours[binIndex(-0.99, d.lo, d.hi, d.colours.length)]!, /59, 130, 246/);
    assert.match(d.colours[binIndex(0.99, d.lo, d.hi, d.colours.length)]!, /249, 115, 22/);
    const c = binScheme('c', 4);
    assert.deepEqual([c.lo, c.hi], [-4, 4], 'the cell state uses its robust scale');
    assert.equal(binIndex(7, -1, 1, 7), 6);
    assert.equal(binIndex(NaN, -1, 1, 7), 0);
  });

  it('the hover shows t, the character, every gate and state of the unit, and the top-5 predictions', () => {
    const { data } = golden('ab é.x🙂 ba');
    const md = hoverMarkdown(data, 1, 2, 'f', 6);
    assert.match(md, /^\*\*Gatescope\*\* · t = 6 · `🙂` · p\(`🙂`\) = 0\.\d{3}, the probability the model gave this character before reading it/);
    assert.match(md, /unit 2, layer 1 \(coloured by f, forget gate\)/);
    assert.match(md, /\| i \| \*\*f\*\* \| g \| o \| c \| h \|/);
    const top5 = md.match(/next character, the model's top 5 with their probabilities: (.*)$/m)![1]!;
    assert.equal((top5.match(/ · /g) ?? []).length, 4, 'five predictions');
    // the trace's: p of the character at t, and its top 5 at t, most likely first
    const { k, topIds, topProbs, pNext } = data.predictions;
    assert.ok(md.includes(`p(\`🙂\`) = ${pNext[5]!.toFixed(3)},`), 'p of the character that came');
    const want = Array.from({ length: 5 }, (_, i) => `${displayChar(data.vocab[topIds[6 * k + i]!]!)} ${topProbs[6 * k + i]!.toFixed(2)}`);
    assert.deepEqual(top5.split(' · ').map((x) => x.replace(/`/g, '')), want);
  });
});

describe('panels: webview HTML', () => {
  it('has a strict CSP: scripts only with the nonce, no inline or eval, nothing remote', () => {
    const nonce = makeNonce((n) => new Uint8Array(n).fill(7));
    assert.equal(nonce.length, 32);
    const html = inspectorHtml({ cspSource: 'https://x.vscode-cdn.net', nonce, scriptUri: 'https://x.vscode-cdn.net/dist/webview.js',
      styleUri: 'https://x.vscode-cdn.net/media/inspector.css', title: 'T' });
    const csp = inspectorCsp({ cspSource: 'https://x.vscode-cdn.net', nonce });
    assert.ok(html.includes(`content="${csp}"`));
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(csp, /^default-src 'none'; /);
    assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'`));
    const scripts = html.match(/<script[^>]*>/g)!;
    assert.equal(scripts.length, 1);
    assert.ok(scripts.every((s) => s.includes(`nonce="${nonce}"`)));
    assert.doesNotMatch(html, /style="|<style|onclick|javascript:/i);
  });
});
