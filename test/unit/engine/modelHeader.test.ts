import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModelFile, describeModelHeader } from '../../../src/engine/modelfile';
import { parseSafetensorsHeader, safetensorsHeaderBytes } from '../../../src/engine/safetensors';
import { type GatescopeError } from '../../../src/engine/errors';

/** The model editor reads a model's header only: the same facts as reading the whole file, from its first bytes. */
const file = (p: string): Uint8Array => new Uint8Array(readFileSync(path.join(__dirname, '../../..', p)));

describe('a model described from its header alone', () => {
  for (const p of ['examples/models/stdlib-lstm.safetensors', 'examples/models/stdlib-rnn.safetensors', 'test/fixtures/golden/gru.safetensors']) {
    it(`${path.basename(p)}: the header's facts are the whole file's`, () => {
      const bytes = file(p);
      const n = safetensorsHeaderBytes(bytes.subarray(0, 8));
      assert.ok(n < bytes.length, 'the header is a part of the file');
      const h = describeModelHeader(parseSafetensorsHeader(bytes.subarray(0, n), bytes.length));
      const m = decodeModelFile(bytes);
      assert.deepEqual(h.config, m.net.cfg);
      assert.equal(h.parameters, m.net.params.length);
      assert.deepEqual(h.vocab, m.vocab.chars);
      assert.deepEqual(h.info, m.info);
      assert.equal(h.resumableFrom, m.training?.step ?? null);
    });
  }

  it('says what is wrong from the header: a file shorter than its tensors claim, a foreign layout, not safetensors', () => {
    const bytes = file('examples/models/stdlib-lstm.safetensors');
    const n = safetensorsHeaderBytes(bytes.subarray(0, 8));
    assert.throws(() => parseSafetensorsHeader(bytes.subarray(0, n), n + 100), (e: GatescopeError) => e.code === 'bad-model-file' && /truncated or corrupt/.test(e.message));
    const named = file('test/fixtures/pytorch-import/named.safetensors');
    const k = safetensorsHeaderBytes(named.subarray(0, 8));
    assert.throws(() => describeModelHeader(parseSafetensorsHeader(named.subarray(0, k), named.length)), /no "cell" key|tensor encoder\.weight is missing/);
    assert.throws(() => safetensorsHeaderBytes(new TextEncoder().encode('PK\x03\x04 not at all')), /header length is \d+ bytes, more than/);
  });
});
