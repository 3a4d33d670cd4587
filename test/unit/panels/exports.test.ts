import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModelFile } from '../../../src/engine/modelfile';
import { traceTokens } from '../../../src/engine/trace';
import { EngineClient } from '../../../src/host/engineClient';
import { formatBytes, LARGE_EXPORT_BYTES, largeJsonQuestion } from '../../../src/panels/exportSize';
import { PanelReach } from '../../../src/panels/reach';
import type * as WorkspaceFiles from '../../../src/commands/workspaceFiles';
import type { TraceData } from '../../../src/protocol/trace';
import { traceJsonBytesEstimate, traceToJson } from '../../../src/protocol/traceJson';

/**
 * Export JSON's parts outside VS Code: the size estimate it shows before writing (exact when it measures every
 * number, within 1% from its sample), the question over 50 MB, byte counts a person reads, and the JSON the engine
 * worker builds from the trace it keeps — the same bytes as the CLI's schema written on the host, also after the
 * worker dropped the trace (traced again) — against the real worker bundle (npm test builds dist/ first).
 */
const ROOT = path.join(__dirname, '../../..');
const WORKER = path.join(ROOT, 'dist/worker.js');
const read = (p: string): Uint8Array => new Uint8Array(readFileSync(path.join(ROOT, p)));
const TEXTWRAP = readFileSync(path.join(ROOT, 'examples/python-stdlib/textwrap.py'), 'utf8');

/** A trace as the worker sends it. */
function traced(model: Uint8Array, text: string): TraceData {
  const m = decodeModelFile(model);
  const t = traceTokens(m.net, m.vocab.encode(text));
  return { cell: m.net.cfg.cell, vocab: m.vocab.chars, hidden: m.net.cfg.hidden, tokens: t.tokens, loss: t.loss, predictions: t.predictions, probs: t.probs, layers: t.layers };
}

const utf8 = (s: string): number => new TextEncoder().encode(s).length;

describe('panels: Export JSON, its size and where it is built', function () {
  this.timeout(60_000);

  it('says byte counts as a person reads them, never 0.0 MB for something', () => {
    assert.deepEqual([0, 1, 12, 999, 1000, 1234, 8_400, 99_499, 123_456, 1_000_000, 45_600, 108_872_502, 1.2e9].map(formatBytes),
      ['0 bytes', '1 byte', '12 bytes', '999 bytes', '1 kB', '1.2 kB', '8.4 kB', '99 kB', '123 kB', '1 MB', '46 kB', '109 MB', '1.2 GB']);
  });

  it('estimates the JSON\'s size: exactly when it measures every number, within 1% from a sample', () => {
    for (const f of ['lstm', 'gru', 'rnn_tanh']) {
      const tr = traced(read(`test/fixtures/golden/${f}.safetensors`), 'ab é.x '.repeat(30));
      const json = traceToJson(tr, tr.vocab, tr.cell, tr.hidden);
      assert.equal(traceJsonBytesEstimate(tr, tr.vocab, tr.cell, Infinity), utf8(json), `${f}: every number measured`);
      assert.ok(Math.abs(traceJsonBytesEstimate(tr, tr.vocab, tr.cell, 16) / utf8(json) - 1) < 0.03, `${f}: from 16 samples`);
    }
    const tr = traced(read('examples/models/stdlib-lstm.safetensors'), TEXTWRAP.slice(0, 3000));
    const actual = utf8(traceToJson(tr, tr.vocab, tr.cell, tr.hidden));
    const estimate = traceJsonBytesEstimate(tr, tr.vocab, tr.cell);
    assert.ok(Math.abs(estimate / actual - 1) < 0.01, `estimate ${estimate}, actual ${actual}`);
  });

  it('asks before a large export, saying its size and what it holds', () => {
    const tr = traced(read('examples/models/stdlib-lstm.safetensors'), TEXTWRAP.slice(0, 100));
    const q = largeJsonQuestion(tr, 108_872_502);
    assert.equal(q.message, 'The trace as JSON is about 109 MB. Export it?');
    assert.match(q.detail, /^100 characters × 793 numbers each: the 10 most likely next characters, the 4 gates, c and h of 1 layer × 128 units/);
    assert.equal(LARGE_EXPORT_BYTES, 50e6);
  });

  describe('through the engine worker', () => {
    let engine: EngineClient;
    before(function () { if (!existsSync(WORKER)) this.skip(); });
    beforeEach(() => { engine = new EngineClient(WORKER); });
    afterEach(() => engine.dispose());

    it('builds the JSON of the kept trace: the bytes of the CLI\'s schema, also after the reach and units asked of it', async () => {
      const model = read('examples/models/stdlib-lstm.safetensors');
      const text = TEXTWRAP.slice(0, 1500);
      const panel = new PanelReach(engine);
      const tr = await engine.trace(model, text, panel.modelKey);
      await panel.at({ at: 700, maxK: 100, layer: 0 }, { text, model, vocab: tr.vocab, compare: null });
      const bytes = await panel.traceJson({ text, model });
      assert.ok(bytes instanceof Uint8Array);
      assert.equal(new TextDecoder().decode(bytes), traceToJson(tr, tr.vocab, tr.cell, tr.hidden), 'the same JSON as the host would write');
      // the worker dropped it (other panels' traces): traced again on the way
      for (const key of ['a', 'b', 'c', 'd']) await engine.trace(model, 'print(1)\n', key);
      assert.equal(await engine.traceJson(panel.modelKey), null, 'dropped');
      const again = await panel.traceJson({ text, model });
      assert.equal(again.length, bytes.length);
    });
  });
});

describe('commands: the question before training on the workspace', () => {
  // workspaceFiles.ts imports vscode for its file search; its question is pure: load it with a stand-in for vscode
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Module = require('node:module') as { _load: (request: string, ...rest: unknown[]) => unknown };
  let question: typeof WorkspaceFiles.workspaceQuestion;
  before(() => {
    const load = Module._load;
    Module._load = (request, ...rest) => (request === 'vscode' ? {} : load(request, ...rest));
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ({ workspaceQuestion: question } = require('../../../src/commands/workspaceFiles') as typeof WorkspaceFiles);
    } finally {
      Module._load = load;
    }
  });

  it('says how much text, never 0.0 MB for a small selection', () => {
    assert.equal(question({ files: 1, bytes: 812, leftOut: [] }, 20e6).message, 'Train on 1 file (812 bytes of text) of the workspace?');
    assert.equal(question({ files: 3, bytes: 42_300, leftOut: [] }, 20e6).message, 'Train on 3 files (42 kB of text) of the workspace?');
    assert.equal(formatBytes(20e6), '20 MB');
    assert.equal(formatBytes(1_250_000), '1.3 MB');
  });

  it('names the files left out, by reason, a few each', () => {
    const leftOut = [
      { path: 'logo.png', reason: 'not-text' as const },
      ...Array.from({ length: 7 }, (_, k) => ({ path: `z/big${k}.txt`, reason: 'max-bytes' as const })),
      { path: 'build/out.js', reason: 'gitignore' as const },
    ];
    const { detail } = question({ files: 12, bytes: 19_900_000, leftOut }, 20e6);
    assert.deepEqual(detail.split('\n'), [
      'Left out, binary or not UTF-8: 1 file (logo.png).',
      'Left out, past gatescope.workspace.maxBytes (20 MB): 7 files (z/big0.txt, z/big1.txt, z/big2.txt, z/big3.txt, z/big4.txt and 2 more).',
      'Left out, matched by .gitignore: 1 file (build/out.js).',
      'Files come from gatescope.workspace.include, less those of files.exclude and search.exclude.',
    ]);
  });
});
