import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GatescopeError } from '../../../src/engine/errors';
import { decodeModelFile, encodeModelFile } from '../../../src/engine/modelfile';
import { prepareRun } from '../../../src/engine/run';
import { parseSafetensors, serializeSafetensors, tensorToFloat32, type TensorToWrite } from '../../../src/engine/safetensors';
import { traceTokens } from '../../../src/engine/trace';
import { DEFAULT_TRAIN_OPTIONS } from '../../../src/engine/trainer';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';

const TEXT = 'abc abd é🙂 '.repeat(20);

function trained(cell: CellType = 'lstm') {
  const run = prepareRun(TEXT, { ...DEFAULT_TRAIN_OPTIONS, cell, hidden: 5, embed: 3, layers: 2, seq: 8, batch: 2, valFrac: 0 });
  run.trainer.trainStep();
  return run;
}

/** The tensors and metadata of a valid file, to be broken one way at a time. */
function parts(cell: CellType = 'lstm'): { tensors: TensorToWrite[]; meta: Record<string, string> } {
  const run = trained(cell);
  const file = parseSafetensors(encodeModelFile(run.net, run.vocab, {}, null));
  const tensors = [...file.tensors].map(([name, t]) => ({ name, shape: t.shape, data: tensorToFloat32(name, t) }));
  return { tensors, meta: { ...file.metadata } };
}

function loadError(tensors: TensorToWrite[], meta: Record<string, string>): string {
  try {
    decodeModelFile(serializeSafetensors(tensors, meta));
  } catch (e) {
    assert.ok(e instanceof GatescopeError && e.code === 'bad-model-file', `unexpected ${e}`);
    return e.message;
  }
  assert.fail('the file loaded');
}

describe('model file', () => {
  it('round-trips parameters, vocabulary, info and training state exactly', () => {
    const run = trained();
    const bytes = encodeModelFile(run.net, run.vocab, { source: 'x.txt', steps: 1 }, run.trainer.snapshot());
    const m = decodeModelFile(bytes);
    assert.deepEqual(m.net.params, run.net.params);
    assert.deepEqual(m.vocab.chars, run.vocab.chars);
    assert.deepEqual(m.info, { source: 'x.txt', steps: 1 });
    assert.equal(m.training?.step, 1);
    assert.deepEqual(m.training?.m, run.trainer.adam.m);
    assert.deepEqual(m.training?.carryC, run.trainer.snapshot().carryC);
    // the file is a PyTorch state_dict plus optim.* tensors
    const names = [...parseSafetensors(bytes).tensors.keys()];
    assert.deepEqual(names.filter((n) => !n.startsWith('optim.')), run.net.layout.tensors.map((t) => t.name));
  });

  it('names a missing cell or vocab key', () => {
    const { tensors, meta } = parts();
    const { cell: _c, ...noCell } = meta;
    assert.match(loadError(tensors, noCell), /no "cell" key/);
    const { vocab: _v, ...noVocab } = meta;
    assert.match(loadError(tensors, noVocab), /no "vocab" key/);
    assert.match(loadError(tensors, { ...meta, cell: 'lstm2' }), /"cell" is "lstm2"/);
    assert.match(loadError(tensors, { ...meta, vocab: '{"a":1}' }), /"vocab" must be a JSON array of strings/);
    assert.match(loadError(tensors, { ...meta, vocab: '[not json' }), /"vocab" is not valid JSON/);
  });

  it('round-trips the training provenance and a comparison\'s origin, and loads files without them', () => {
    const run = trained();
    const hash = 'ab'.repeat(32);
    const info = {
      source: 'a.txt, b.txt', steps: 1, sources: [{ uri: 'file:///w/a.txt', range: { start: 3, end: 9 } }, { uri: '../b.txt', bytes: 100 }],
      join: 'newline-if-missing' as const, textHash: hash, comparisonOf: { modelHash: 'cd'.repeat(32), textHash: hash, likeForLike: true },
    };
    assert.deepEqual(decodeModelFile(encodeModelFile(run.net, run.vocab, info, null)).info, info);
    assert.deepEqual(decodeModelFile(encodeModelFile(run.net, run.vocab, { source: 'old.txt' }, null)).info, { source: 'old.txt' });
  });

  it('checks the types of the metadata\'s info fields, and reads an older file\'s null loss as not measured', () => {
    const { tensors, meta } = parts();
    const info = (o: Record<string, unknown>): Record<string, string> => ({ ...meta, 'gatescope.info': JSON.stringify(o) });
    assert.match(loadError(tensors, info({ textHash: 'abc' })), /field "textHash" must be a SHA-256 hex string/);
    assert.match(loadError(tensors, info({ textHash: 'AB'.repeat(32) })), /field "textHash"/);
    assert.match(loadError(tensors, info({ join: 'comma' })), /field "join" must be one of newline-between/);
    assert.match(loadError(tensors, info({ sources: 'a.txt' })), /field "sources" must be an array/);
    assert.match(loadError(tensors, info({ sources: [{ uri: 1 }] })), /field "sources"/);
    assert.match(loadError(tensors, info({ sources: [{ uri: 'a', range: { start: 5, end: 2 } }] })), /field "sources"/);
    assert.match(loadError(tensors, info({ sources: [{ uri: 'a', bytes: -1 }] })), /field "sources"/);
    assert.match(loadError(tensors, info({ comparisonOf: { modelHash: 'ab'.repeat(32), textHash: 'ab'.repeat(32) } })), /field "comparisonOf"/);
    assert.match(loadError(tensors, info({ steps: '30' })), /field "steps" must be a non-negative integer/);
    assert.match(loadError(tensors, info({ loss: 'low' })), /field "loss" must be a number/);
    assert.match(loadError(tensors, info({ source: 3 })), /field "source" must be a string/);
    const old = decodeModelFile(serializeSafetensors(tensors, info({ source: 'x', loss: null, valLoss: null, future: [1] })));
    assert.deepEqual(old.info, { source: 'x', future: [1] }, 'null means not measured; unknown fields are kept');
  });

  it('names a missing tensor and a wrong shape', () => {
    const { tensors, meta } = parts();
    assert.match(loadError(tensors.filter((t) => t.name !== 'rnn.bias_hh_l1'), meta), /tensor rnn\.bias_hh_l1 is missing/);
    assert.match(loadError(tensors.filter((t) => t.name !== 'decoder.weight'), meta), /tensor decoder\.weight is missing/);
    const wrong = tensors.map((t) => (t.name === 'rnn.weight_ih_l1' ? { ...t, shape: [t.shape[1]!, t.shape[0]!] } : t));
    assert.match(loadError(wrong, meta), /rnn\.weight_ih_l1 has shape \[5, 20\], expected \[20, 5\]/);
  });

  it('suggests the right cell when the gate count does not match', () => {
    const { tensors, meta } = parts('lstm');
    assert.match(loadError(tensors, { ...meta, cell: 'gru' }), /looks like a cell with 4 gates: is "cell" right\?/);
  });

  it('refuses a vocabulary that does not match the encoder', () => {
    const { tensors, meta } = parts();
    const vocab = JSON.parse(meta['vocab']!) as string[];
    assert.match(loadError(tensors, { ...meta, vocab: JSON.stringify(vocab.slice(1)) }), /encoder\.weight has \d+ rows but the vocabulary has/);
  });

  it('converts F64 tensors and warns about tensors it does not use', () => {
    const { tensors, meta } = parts();
    const f64 = tensors.map((t) => (t.name === 'decoder.bias' ? { ...t, data: Float64Array.from(t.data) } : t));
    const m = decodeModelFile(serializeSafetensors([...f64, { name: 'extra.thing', shape: [2], data: new Float32Array(2) }], meta));
    assert.deepEqual(m.warnings, ['ignored tensor extra.thing, which the model does not use']);
  });

  it('refuses integer tensors and truncated files with GatescopeErrors', () => {
    const { tensors, meta } = parts();
    const ints = tensors.map((t) => (t.name === 'decoder.bias' ? { ...t, data: Int32Array.from(t.data) } : t));
    assert.match(loadError(ints, meta), /decoder\.bias/);
    const bytes = serializeSafetensors(tensors, meta);
    for (const cut of [0, 7, 100, bytes.length - 1]) {
      assert.throws(() => decodeModelFile(bytes.subarray(0, cut)), (e: GatescopeError) => e.code === 'bad-model-file');
    }
  });

  it('loads a file without training state for inference only', () => {
    const run = trained();
    const m = decodeModelFile(encodeModelFile(run.net, run.vocab, {}, null));
    assert.equal(m.training, null);
  });

  const torchPython = '/usr/bin/python3';
  const hasTorch = existsSync(torchPython) && spawnSync(torchPython, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  for (const cell of CELL_TYPES) {
    (hasTorch ? it : it.skip)(`PyTorch loads Gatescope's ${cell} file (strict state_dict) and predicts the same`, () => {
      const run = trained(cell);
      const dir = mkdtempSync(path.join(tmpdir(), 'gatescope-'));
      const file = path.join(dir, `${cell}.safetensors`);
      writeFileSync(file, encodeModelFile(run.net, run.vocab, {}, run.trainer.snapshot()));
      const text = 'abd é🙂 abc';
      const r = spawnSync(torchPython, [path.join(__dirname, '../../fixtures/golden/torch_load.py'), file, text], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const ref = JSON.parse(r.stdout) as { loss: number; probs: number[][] };
      const trace = traceTokens(run.net, run.vocab.encode(text), { fullProbs: true });
      assert.ok(Math.abs(trace.loss - ref.loss) < 1e-5, `loss ${trace.loss} vs PyTorch ${ref.loss}`);
      const V = run.vocab.size;
      const probs = trace.probs;
      assert.ok(probs !== null, 'fullProbs keeps the whole distribution');
      assert.equal(probs.length, ref.probs.length * V);
      ref.probs.forEach((row, t) => row.forEach((p, v) => assert.ok(Math.abs(probs[t * V + v]! - p) < 1e-5, `p[${t}][${v}] ${probs[t * V + v]} vs PyTorch ${p}`)));
    });
  }
});
