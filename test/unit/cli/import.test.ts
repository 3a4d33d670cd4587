import * as assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModelFile } from '../../../src/engine/modelfile';
import { cliHarness, CLI, expectUserError } from './run';

const FIXTURES = path.join(__dirname, '../../fixtures/pytorch-import');
const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { vocab: string[]; text: string };

describe('gatescope import (CLI)', function () {
  this.timeout(60_000);
  const { dir, file, run } = cliHarness('gatescope-import-');
  before(function () {
    if (!existsSync(CLI)) this.skip();
  });

  it('makes a torch.save state_dict a Gatescope model, says what became what, and the model traces', () => {
    const vocab = file('vocab.txt', expected.vocab.map((t) => t.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/^ $/, '\\s')).join('\n') + '\n');
    const out = path.join(dir, 'models', 'wlm.safetensors');
    const r = run('import', path.join(FIXTURES, 'wlm.pt'), '--vocab', vocab, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\(torch\.save\) → .*wlm\.safetensors/);
    assert.match(r.stdout, /lstm, 2 layers × 16 hidden, embedding 12, vocabulary 52 \(gate order i, f, g, o, as PyTorch's\)/);
    assert.match(r.stdout, /rnn\.weight_hh_l1 +← rnn\.weight_hh_l1/);
    const m = decodeModelFile(new Uint8Array(readFileSync(out)));
    assert.equal(m.info.source, 'imported from wlm.pt (torch.save)');
    const text = file('text.txt', expected.text);
    const t = run('trace', '-m', out, '-i', text, '--json', path.join(dir, 'trace.json'));
    assert.equal(t.status, 0, t.stderr);
    const j = run('import', path.join(FIXTURES, 'named.safetensors'), '--vocab', vocab, '--out', path.join(dir, 'models', 'n.safetensors'), '--json');
    assert.equal(JSON.parse(j.stdout).mapping.find((x: { to: string }) => x.to === 'decoder.weight').from, 'fc.weight');
  });

  it('bad input: a clear error and nothing written — a refused model, no vocabulary, a bad --map, the output over the input, a missing file', () => {
    const out = path.join(dir, 'bad', 'x.safetensors');
    expectUserError(run('import', path.join(FIXTURES, 'proj.pt'), '--vocab', file('v.json', JSON.stringify(expected.vocab)), '--out', out), /proj\.pt: .*proj_size = 8/);
    expectUserError(run('import', path.join(FIXTURES, 'wlm.pt'), '--out', out), /wlm\.pt: the file has no vocabulary/);
    expectUserError(run('import', path.join(FIXTURES, 'wlm.pt'), '--map', 'nothing', '--out', out), /--map nothing: write FROM=TO/);
    expectUserError(run('import', path.join(FIXTURES, 'wlm.pt'), '--out', path.join(dir, 'bad', 'x.bin')), /a Gatescope model is a \.safetensors file/);
    const copy = path.join(dir, 'bad', 'same.safetensors');
    copyFileSync(path.join(FIXTURES, 'named.safetensors'), copy);
    expectUserError(run('import', copy, '--out', copy), /is .*one of the inputs/);
    expectUserError(run('import', path.join(dir, 'missing.pt'), '--out', out), /no such file/);
    assert.deepEqual(readdirSync(path.join(dir, 'bad')).sort(), ['same.safetensors'], 'nothing written');
  });
});
