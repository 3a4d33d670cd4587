import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GatescopeError } from '../../../src/engine/errors';
import { importModel, listRecurrentModules, parseVocabFile } from '../../../src/engine/importModel';
import { decodeModelFile } from '../../../src/engine/modelfile';
import { traceTokens } from '../../../src/engine/trace';
import type { CellType } from '../../../src/engine/types';

/** Models as PyTorch users save them (test/fixtures/pytorch-import/gen_import.py) and PyTorch's loss on a text. */
const DIR = path.join(__dirname, '../../fixtures/pytorch-import');
interface Expected {
  text: string;
  vocab: string[];
  models: Record<string, { loss?: number; vocab?: string[]; cell?: CellType; note?: string; args?: string[]; refused?: string;
    then?: { args: string[]; loss: number } }>;
}
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Expected;
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(DIR, name)));

/** The mean next-character loss of the imported model on the text, traced by Gatescope. */
function gatescopeLoss(model: Uint8Array): { loss: number; cell: CellType } {
  const m = decodeModelFile(model);
  return { loss: traceTokens(m.net, m.vocab.encode(expected.text)).loss, cell: m.net.cfg.cell };
}

describe('gatescope import: PyTorch models as users save them', () => {
  for (const [name, want] of Object.entries(expected.models)) {
    if (want.loss === undefined) continue;
    it(`${name}: imports, and Gatescope's loss on the text is PyTorch's (${want.note ?? want.cell})`, () => {
      // the vocabulary: the file's own where it has one (a checkpoint's vocab / itos), else given
      const own = want.note === 'vocab in the checkpoint' || name === 'pad.pt';
      const cell = want.args?.[0] === '--cell' ? want.args[1] as CellType : null;
      const r = importModel(bytesOf(name), { fileName: name, vocab: own ? null : want.vocab!, cell });
      const { loss, cell: got } = gatescopeLoss(r.bytes);
      assert.equal(got, want.cell);
      assert.ok(Math.abs(loss - want.loss!) <= 2e-6 * want.loss!, `Gatescope ${loss} vs PyTorch ${want.loss} (${r.notes.join('; ')})`);
      assert.deepEqual(r.vocab, want.vocab);
      const from = new Map(r.mapping.map((m) => [m.to, m.from]));
      if (name === 'named.safetensors') assert.equal(from.get('decoder.weight'), 'fc.weight');
      if (name === 'ddp.pt') assert.equal(from.get('encoder.weight'), 'module.encoder.weight');
      if (name === 'nobias.pt') assert.match(from.get('rnn.bias_ih_l1')!, /zeros/);
      if (name === 'nodecbias.pt') assert.match(from.get('decoder.bias')!, /zeros/);
      if (name === 'onehot.pt') assert.match(from.get('encoder.weight')!, /identity/);
      if (name === 'wlm_tied.pt') assert.ok(r.notes.some((n) => /tied/.test(n)), r.notes.join('; '));
      if (name === 'pad.pt') assert.ok(r.notes.some((n) => /special tokens? \(<pad>, <unk>\)/.test(n)), r.notes.join('; '));
    });
  }

  for (const [name, want] of Object.entries(expected.models)) {
    if (want.refused === undefined) continue;
    it(`${name}: refused by name (${want.refused}), with the tensors found`, () => {
      assert.throws(() => importModel(bytesOf(name), { fileName: name, vocab: expected.vocab }),
        (e: GatescopeError) => e instanceof GatescopeError && e.message.includes(want.refused!) && /the file holds \d+ tensors/.test(e.message));
      if (want.then) {
        const r = importModel(bytesOf(name), { fileName: name, vocab: expected.vocab, map: [[want.then.args[1]!.split('=')[0]!, '']] });
        const { loss } = gatescopeLoss(r.bytes);
        assert.ok(Math.abs(loss - want.then.loss) <= 2e-6 * want.then.loss, `${loss} vs ${want.then.loss}`);
        assert.ok(r.notes.some((n) => /left out 4 tensors as --map asked/.test(n)), r.notes.join('; '));
      }
    });
  }

  it('several recurrent modules: listed for the user to choose (code choose-module), and the chosen one imported', () => {
    assert.throws(() => importModel(bytesOf('two_rnns.pt'), { fileName: 't', vocab: expected.vocab }), (e: GatescopeError) => e.code === 'choose-module');
    assert.deepEqual(listRecurrentModules(bytesOf('two_rnns.pt')), [
      { name: 'rnn', detail: '1 layer, weight_hh [64, 16]' }, { name: 'rnn2', detail: '1 layer, weight_hh [64, 16]' }]);
    const r = importModel(bytesOf('two_rnns.pt'), { fileName: 't', vocab: expected.vocab, module: 'rnn' });
    const want = expected.models['two_rnns.pt']!.then!.loss;
    assert.ok(Math.abs(gatescopeLoss(r.bytes).loss - want) <= 2e-6 * want);
    assert.ok(r.notes.some((n) => /used the recurrent module "rnn" of 2/.test(n)), r.notes.join('; '));
    assert.throws(() => importModel(bytesOf('two_rnns.pt'), { fileName: 't', vocab: expected.vocab, module: 'lstm' }), /no recurrent module "lstm" \(the file's are "rnn", "rnn2"\)/);
  });

  it('refuses integer weights by name', () => {
    assert.throws(() => importModel(bytesOf('int_weights.pt'), { fileName: 'i', vocab: expected.vocab }), /rnn\.weight_hh_l0 is I64: a model's weights are floating point/);
  });

  it('says what is missing: no vocabulary, a vocabulary of another size (both numbers), a cell the rows contradict', () => {
    const V = expected.vocab.length;
    assert.throws(() => importModel(bytesOf('wlm.pt'), { fileName: 'wlm.pt' }), /the file has no vocabulary .* pass one with --vocab/);
    assert.throws(() => importModel(bytesOf('wlm.pt'), { fileName: 'wlm.pt', vocab: expected.vocab.slice(1) }),
      new RegExp(`has ${V - 1} tokens but the model has ${V}`));
    assert.throws(() => importModel(bytesOf('wlm.pt'), { fileName: 'wlm.pt', vocab: expected.vocab, cell: 'gru' }), /--cell gru has 3 gate blocks .* has 4/);
  });

  it('renames with --map, and refuses two tensors that would become one', () => {
    const r = importModel(bytesOf('named.safetensors'), { fileName: 'n', vocab: expected.vocab, map: [['fc.weight', 'decoder.weight'], ['embed.', 'encoder.']] });
    assert.equal(new Map(r.mapping.map((m) => [m.to, m.from])).get('encoder.weight'), 'embed.weight');
    assert.throws(() => importModel(bytesOf('named.safetensors'), { fileName: 'n', vocab: expected.vocab, map: [['fc.weight', 'embed.weight']] }),
      /two tensors become embed\.weight: embed\.weight and fc\.weight/);
  });

  it('reads vocabulary files: a JSON list, a JSON object token → id, one token per line with escapes', () => {
    assert.deepEqual(parseVocabFile('["a", "\\n", "<pad>"]', 'v.json'), ['a', '\n', '<pad>']);
    assert.deepEqual(parseVocabFile('{"b": 1, "a": 0}', 'v.json'), ['a', 'b']);
    assert.deepEqual(parseVocabFile('a\n\\n\n\\s\n\\t\n\\\\\n<unk>\n', 'v.txt'), ['a', '\n', ' ', '\t', '\\', '<unk>']);
    assert.throws(() => parseVocabFile('{"a": 0, "b": 0}', 'v.json'), /not a list of tokens or an object token → id/);
    assert.throws(() => parseVocabFile('a\n\nb\n', 'v.txt'), /v\.txt line 2 is empty: write a space as \\s/);
  });

  it('refuses what is not a model: a malicious pickle, a whole pickled module, an empty file, a bare tensor dict without a recurrent module', () => {
    const pt = (n: string): Uint8Array => new Uint8Array(readFileSync(path.join(__dirname, '../../fixtures/pytorch', n)));
    assert.throws(() => importModel(pt('malicious.pt'), { fileName: 'malicious.pt' }), /posix\.system.*nothing from the file was run/);
    assert.throws(() => importModel(pt('whole_model.pt'), { fileName: 'whole_model.pt' }), /torch\.save\(model\.state_dict\(\), PATH\)/);
    assert.throws(() => importModel(new Uint8Array(0), { fileName: 'e.pt' }), /the file is empty/);
    assert.throws(() => importModel(pt('dtypes.pt'), { fileName: 'dtypes.pt', vocab: ['a'] }), /found no recurrent module .* the file holds \d+ tensors/);
  });
});
