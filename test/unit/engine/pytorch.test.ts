import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { GatescopeError } from '../../../src/engine/errors';
import { readTorchSave } from '../../../src/engine/pytorch/torchSave';
import { isTorchTensor } from '../../../src/engine/pytorch/values';
import type { TorchTensor, TorchValue } from '../../../src/engine/pytorch/values';
import { crc32, ZipArchive } from '../../../src/engine/pytorch/zip';
import { Rng } from '../../../src/engine/rng';
import { concat, craftZip, f32Bytes, PickleWriter, stateDictPickle, torchZip } from '../../fixtures/pytorch/craft';

/**
 * The torch.save reader against files PyTorch 1.13 wrote (test/fixtures/pytorch/gen_pytorch.py, which also wrote
 * expected.json from torch.load), and against files crafted to lie. Every refusal is the project's own error
 * (GatescopeError, code bad-model-file) — never a RangeError, a TypeError, a hang or anything run from the file.
 */
const FIXTURES = path.join(__dirname, '../../fixtures/pytorch');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(FIXTURES, name)));

interface Expected {
  readonly marker: string;
  readonly files: Record<string, Node>;
}
type Node =
  | { type: 'dict'; items: [string | number, Node][] }
  | { type: 'list' | 'tuple'; items: Node[] }
  | { type: 'none' }
  | { type: 'bool'; value: boolean }
  | { type: 'int'; value: number }
  | { type: 'bigint'; value: string }
  | { type: 'float'; value: number }
  | { type: 'str'; value: string }
  | { type: 'bytes'; hex: string }
  | { type: 'tensor'; dtype: string; shape: number[]; storage: string; sha256: string; bits?: string[]; ints?: string[] };

const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

function rawBytes(t: TorchTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Compares what the reader returned with what PyTorch loaded, exactly: float32 bits, int widths, key order. */
function assertSame(actual: TorchValue, node: Node, at: string): void {
  switch (node.type) {
    case 'dict': {
      assert.ok(actual instanceof Map, `${at} should be a dict`);
      assert.deepEqual([...actual.keys()], node.items.map(([k]) => k), `${at}: keys in order`);
      for (const [k, v] of node.items) assertSame(actual.get(k)!, v, `${at}[${JSON.stringify(k)}]`);
      return;
    }
    case 'list':
    case 'tuple':
      assert.ok(Array.isArray(actual), `${at} should be a ${node.type}`);
      assert.equal(actual.length, node.items.length, `${at}: length`);
      node.items.forEach((v, i) => assertSame(actual[i]!, v, `${at}[${i}]`));
      return;
    case 'none':
      assert.equal(actual, null, at);
      return;
    case 'bool':
    case 'str':
      assert.equal(actual, node.value, at);
      return;
    case 'int':
      assert.equal(typeof actual, 'number', `${at} should be a number`);
      assert.equal(actual, node.value, at);
      return;
    case 'float':
      assert.ok(Object.is(actual, node.value), `${at}: ${String(actual)} should be ${node.value}`);
      return;
    case 'bigint':
      assert.equal(actual, BigInt(node.value), at);
      return;
    case 'bytes':
      assert.ok(actual instanceof Uint8Array, `${at} should be bytes`);
      assert.equal(hex(actual), node.hex, at);
      return;
    case 'tensor': {
      assert.ok(isTorchTensor(actual), `${at} should be a tensor`);
      assert.equal(actual.dtype, node.dtype, `${at}: dtype`);
      assert.deepEqual(actual.shape, node.shape, `${at}: shape`);
      assert.equal(actual.storageKey, node.storage, `${at}: storage`);
      assert.equal(actual.data.length, node.shape.reduce((a, b) => a * b, 1), `${at}: element count`);
      if (node.bits !== undefined) {
        assert.ok(actual.data instanceof Float32Array, `${at}: floats come as Float32Array`);
        assert.deepEqual([...new Uint32Array(actual.data.buffer, actual.data.byteOffset, actual.data.length)].map((b) => b.toString(16).padStart(8, '0')), node.bits, `${at}: float32 bits`);
      }
      if (node.ints !== undefined) assert.deepEqual([...actual.data].map(String), node.ints, `${at}: values`);
      assert.equal(createHash('sha256').update(rawBytes(actual)).digest('hex'), node.sha256, `${at}: SHA-256 of the values`);
      return;
    }
  }
}

function refusal(fn: () => unknown): GatescopeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, 'expected a GatescopeError, but the file was read');
  assert.ok(caught instanceof GatescopeError, `expected a GatescopeError, got ${String(caught)}${caught instanceof Error ? `\n${caught.stack}` : ''}`);
  assert.equal(caught.code, 'bad-model-file');
  return caught;
}

function refused(bytes: Uint8Array, pattern: RegExp): GatescopeError {
  const e = refusal(() => readTorchSave(bytes));
  assert.match(e.message, pattern);
  return e;
}

/** Either reads or refuses with GatescopeError: nothing else may escape. */
function readsOrRefuses(bytes: Uint8Array, what: string): 'read' | 'refused' {
  try {
    readTorchSave(bytes);
    return 'read';
  } catch (e) {
    if (e instanceof GatescopeError && e.code === 'bad-model-file') return 'refused';
    assert.fail(`${what}: ${String(e)}${e instanceof Error ? `\n${e.stack}` : ''}`);
  }
}

const dict = (v: TorchValue): Map<string | number, TorchValue> => {
  assert.ok(v instanceof Map);
  return v;
};
const tensor = (v: TorchValue | undefined): TorchTensor => {
  assert.ok(isTorchTensor(v));
  return v;
};

const READABLE = Object.keys(expected.files);

describe('readTorchSave: files PyTorch wrote', () => {
  for (const name of READABLE) {
    it(`${name} reads to exactly what torch.load gives`, () => {
      assertSame(readTorchSave(fixture(name)), expected.files[name]!, name);
    });
  }

  it('reads the word_language_model state_dict with its names, shapes and LSTM gate blocks', () => {
    const sd = dict(readTorchSave(fixture('lstm.pt')));
    assert.deepEqual([...sd.keys()], [
      'encoder.weight',
      ...[0, 1].flatMap((k) => [`rnn.weight_ih_l${k}`, `rnn.weight_hh_l${k}`, `rnn.bias_ih_l${k}`, `rnn.bias_hh_l${k}`]),
      'decoder.weight', 'decoder.bias',
    ]);
    assert.deepEqual(tensor(sd.get('encoder.weight')).shape, [11, 6]);
    assert.deepEqual(tensor(sd.get('rnn.weight_ih_l0')).shape, [32, 6]);
    assert.deepEqual(tensor(sd.get('rnn.weight_hh_l1')).shape, [32, 8]);
    assert.deepEqual(tensor(sd.get('decoder.weight')).shape, [11, 8]);
    assert.ok(tensor(sd.get('decoder.bias')).data instanceof Float32Array);
  });

  it('reads the ZIP64 re-pack of lstm.pt to the same values', () => {
    const a = dict(readTorchSave(fixture('lstm.pt')));
    const b = dict(readTorchSave(fixture('zip64.pt')));
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [k, v] of a) assert.deepEqual(tensor(b.get(k)).data, tensor(v).data, String(k));
  });

  it('reads the same values from unaligned storages (a copy at an odd offset, and a re-pack without padding)', () => {
    const bytes = fixture('lstm.pt');
    const aligned = dict(readTorchSave(bytes));
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const zip = new ZipArchive(bytes);
    const repacked = craftZip([...zip.entries.values()].map((e) => ({ name: e.name, data: bytes.slice(e.dataOffset, e.dataOffset + e.size) })));
    for (const other of [shifted.subarray(1), repacked]) {
      const v = dict(readTorchSave(other));
      for (const [k, t] of aligned) assert.deepEqual(tensor(v.get(k)).data, tensor(t).data, String(k));
    }
  });

  it('reads tied weights as two names over one storage, with equal values', () => {
    const sd = dict(readTorchSave(fixture('tied.pt')));
    const enc = tensor(sd.get('encoder.weight'));
    const dec = tensor(sd.get('decoder.weight'));
    assert.equal(enc.storageKey, dec.storageKey);
    assert.deepEqual(dec.shape, enc.shape);
    assert.deepEqual(dec.data, enc.data);
  });

  it('applies offsets and strides: t, slices, every other column, a column and an expanded row', () => {
    const v = dict(readTorchSave(fixture('views.pt')));
    const w = tensor(v.get('w'));
    const at = (t: TorchTensor, i: number, j: number): number => (t.data as Float32Array)[i * t.shape[1]! + j]!;
    assert.deepEqual(w.shape, [6, 4]);
    const t = tensor(v.get('t'));
    assert.deepEqual(t.shape, [4, 6]);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) assert.equal(at(t, j, i), at(w, i, j));
    const slice = tensor(v.get('slice'));
    assert.deepEqual(slice.data, (w.data as Float32Array).slice(8, 20));
    const every = tensor(v.get('every_other'));
    for (let i = 0; i < 6; i++) for (let j = 0; j < 2; j++) assert.equal(at(every, i, j), at(w, i, 2 * j));
    const column = tensor(v.get('column'));
    assert.deepEqual([...column.data], [1, 2, 3, 4, 5].map((i) => at(w, i, 1)));
    const row = tensor(v.get('row'));
    const expanded = tensor(v.get('expanded'));
    assert.deepEqual(expanded.shape, [3, 4]);
    for (let i = 0; i < 3; i++) assert.deepEqual(expanded.data.slice(4 * i, 4 * i + 4), row.data);
    for (const name of ['t', 'slice', 'every_other', 'column']) assert.equal(tensor(v.get(name)).storageKey, w.storageKey);
  });

  it('converts every float16 to float32 exactly (all 65,536, against the definition)', () => {
    // one F16 storage of all bit patterns, read through the whole reader
    const all = new Uint16Array(65536).map((_, i) => i);
    const p = new PickleWriter().proto().tensor('HalfStorage', '0', 65536, 0, [65536], [1]).stop().done();
    const t = tensor(readTorchSave(torchZip(p, { '0': new Uint8Array(all.buffer) })));
    const bits = new Uint32Array((t.data as Float32Array).buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const got = (t.data as Float32Array)[h]!;
      if (e === 0x1f && m !== 0) {
        // NaN: payload kept, made quiet, as PyTorch's conversion does
        assert.equal(bits[h], ((h & 0x8000) << 16 | 0x7fc00000 | (m << 13)) >>> 0, `0x${h.toString(16)}`);
        continue;
      }
      const want = e === 0x1f ? sign * Infinity : e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15);
      assert.ok(Object.is(got, want), `0x${h.toString(16)}: ${got} should be ${want}`);
    }
  });

  it('reads a checkpoint: the model, the optimizer state keyed by integers, and a Parameter', () => {
    const ck = dict(readTorchSave(fixture('checkpoint.pt')));
    assert.equal(ck.get('epoch'), 3);
    const state = dict(dict(ck.get('optimizer')!).get('state')!);
    assert.deepEqual([...state.keys()], [...Array(state.size).keys()]);
    assert.equal(tensor(dict(state.get(0)!).get('exp_avg')).shape.length, 2);
    const scale = tensor(ck.get('scale'));
    assert.equal(scale.requiresGrad, true);
    assert.deepEqual([...scale.data], [1.5, -0.5]);
    assert.equal(tensor(dict(ck.get('model')!).get('encoder.weight')).requiresGrad, false);
  });
});

describe('readTorchSave: what it refuses, and why', () => {
  const marker = expected.marker;

  it('refuses the malicious pickle by naming os.system, and runs nothing', () => {
    rmSync(marker, { force: true });
    const e = refused(fixture('malicious.pt'), /posix\.system/);
    assert.match(e.message, /which a state_dict never needs; nothing from the file was run/);
    assert.equal(existsSync(marker), false, 'the marker file must not exist');
  });

  it('refuses a whole pickled model with the one-line fix', () => {
    refused(fixture('whole_model.pt'), /__main__\.RNNModel.*save the weights instead: torch\.save\(model\.state_dict\(\), PATH\)/);
    refused(fixture('whole_lstm.pt'), /torch\.nn\.modules\.rnn\.LSTM.*save the weights instead: torch\.save\(model\.state_dict\(\), PATH\)/);
  });

  it('refuses the legacy format, saying how to re-save it', () => {
    refused(fixture('legacy.pt'), /^This is an old-format PyTorch file: re-save it with torch\.save\(torch\.load\(PATH\), NEW_PATH\) in PyTorch ≥ 1\.6\.$/);
  });

  it('refuses TorchScript, saying to save the state_dict', () => {
    refused(fixture('torchscript.pt'), /TorchScript.*torch\.save\(model\.state_dict\(\), PATH\)/);
  });

  it('refuses a recompressed (deflated) file, saying how to re-save it', () => {
    refused(fixture('deflated.pt'), /recompressed.*deflated.*torch\.save\(torch\.load\(PATH\), NEW_PATH\)/);
  });

  it('refuses other globals by name: builtins.eval, os.system through STACK_GLOBAL, subprocess', () => {
    const call = (p: PickleWriter): Uint8Array => torchZip(p.str('1+1').tuple1().reduce().stop().done());
    refused(call(new PickleWriter().proto().global('builtins', 'eval')), /"builtins\.eval", which a state_dict never needs; nothing from the file was run/);
    refused(call(new PickleWriter().proto(4).stackGlobal('os', 'system')), /"os\.system", which a state_dict never needs/);
    refused(call(new PickleWriter().proto().global('subprocess', 'Popen')), /"subprocess\.Popen", which a state_dict never needs/);
  });

  it('refuses the opcodes that build arbitrary objects (INST, OBJ) and sets', () => {
    refused(torchZip(new PickleWriter().proto().mark().raw(0x69, ...new TextEncoder().encode('os\nsystem\n')).stop().done()), /opcode INST, which a state_dict never needs/);
    refused(torchZip(new PickleWriter().proto().mark().global('os', 'system').raw(0x6f).stop().done()), /"os\.system"/);
    refused(torchZip(new PickleWriter().proto(4).raw(0x8f).stop().done()), /opcode EMPTY_SET/);
  });

  it('refuses allow-listed globals used in ways a state_dict never uses them', () => {
    // _codecs.encode with another codec, a storage class called, OrderedDict with arguments
    refused(torchZip(new PickleWriter().proto().global('_codecs', 'encode').str('x').str('rot13').tuple2().reduce().stop().done()), /_codecs\.encode in a way a state_dict never does/);
    refused(torchZip(new PickleWriter().proto().global('torch', 'FloatStorage').emptyTuple().reduce().stop().done()), /torch\.FloatStorage in a way a state_dict never does/);
    refused(torchZip(new PickleWriter().proto().global('collections', 'OrderedDict').str('x').tuple1().reduce().stop().done()), /OrderedDict gets arguments/);
    // a global itself as a value
    refused(torchZip(new PickleWriter().proto().global('torch', 'FloatStorage').stop().done()), /puts torch\.FloatStorage itself into the loaded value/);
  });

  it('refuses big-endian files, a zip without data.pkl, and what is not a zip', () => {
    const sd = stateDictPickle([{ name: 'w', key: '0', shape: [2] }]);
    const big = torchZip(sd, { '0': f32Bytes([1, 2]) }, [{ name: 'archive/byteorder', data: new TextEncoder().encode('big') }]);
    refused(big, /big-endian/);
    const little = torchZip(sd, { '0': f32Bytes([1, 2]) }, [{ name: 'archive/byteorder', data: new TextEncoder().encode('little') }]);
    assert.deepEqual([...tensor(dict(readTorchSave(little)).get('w')).data], [1, 2]);
    refused(craftZip([{ name: 'archive/version', data: new Uint8Array([0x33]) }]), /not a torch\.save file \(it has no data\.pkl\)/);
    refused(new TextEncoder().encode('hello, world'), /not a PyTorch torch\.save file/);
    refused(new PickleWriter().proto().none().stop().done(), /plain pickle/);
    refused(new Uint8Array(0), /not a PyTorch torch\.save file/);
  });

  it('refuses a tensor that reaches outside its storage, and a storage of the wrong size', () => {
    const one = (size: number[], stride: number[], offset = 0, numel = 4): Uint8Array =>
      torchZip(new PickleWriter().proto().tensor('FloatStorage', '0', numel, offset, size, stride).stop().done(), { '0': f32Bytes([1, 2, 3, 4]) });
    assert.deepEqual([...tensor(readTorchSave(one([2, 2], [1, 2]))).data], [1, 3, 2, 4]);
    assert.deepEqual([...tensor(readTorchSave(one([2], [1], 2))).data], [3, 4]);
    refused(one([5], [1]), /reaches element 4 of storage 0, which has 4 elements/);
    refused(one([2], [1], 3), /reaches element 4 of storage 0/);
    refused(one([2, 2], [3, 1]), /reaches element 4 of storage 0/);
    refused(one([4], [1], 0, 5), /storage 0 holds 16 bytes, not the 5 × 4/);
    refused(one([2], [-1]), /stride is the number -1/);
    refused(one([2, 2], [1]), /2 sizes but 1 strides/);
    // an empty tensor reaches no element, wherever it starts
    assert.equal(tensor(readTorchSave(one([0, 3], [3, 1], 4))).data.length, 0);
  });

  it('refuses an expanded view that claims more elements than the file could hold, quickly', () => {
    const started = Date.now();
    refused(torchZip(new PickleWriter().proto().tensor('FloatStorage', '0', 1, 0, [1_000_000, 1_000_000], [0, 0]).stop().done(), { '0': f32Bytes([1]) }), /more elements than the file could/);
    assert.ok(Date.now() - started < 1000);
  });

  it('refuses a bare storage or a storage under two types', () => {
    refused(torchZip(new PickleWriter().proto().storage('FloatStorage', '0', 1).stop().done(), { '0': f32Bytes([1]) }), /puts a bare FloatStorage itself into the loaded value/);
    const two = new PickleWriter().proto().mark()
      .tensor('FloatStorage', '0', 1, 0, [1], [1])
      .tensor('IntStorage', '0', 1, 0, [1], [1]).tuple().stop().done();
    refused(torchZip(two, { '0': f32Bytes([1]) }), /storage 0 is used with two different types/);
  });
});

describe('readTorchSave: damaged and crafted zips', () => {
  const lstm = fixture('lstm.pt');

  it('detects a flipped byte in a tensor storage by its CRC-32', () => {
    const zip = new ZipArchive(lstm);
    const entry = zip.entries.get('lstm/data/0')!;
    const bad = lstm.slice();
    bad[entry.dataOffset + 5]! ^= 0x01;
    refused(bad, /the zip entry "lstm\/data\/0" fails its CRC-32 check/);
  });

  it('computes CRC-32 as zip does', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  it('refuses an entry that claims 4 GB, quickly', () => {
    const started = Date.now();
    const pkl = stateDictPickle([]);
    refused(craftZip([{ name: 'archive/data.pkl', data: pkl, size: 0xffffffff }]), /claims .* bytes stored for 4294967295 bytes of data/);
    refused(craftZip([{ name: 'archive/data.pkl', data: pkl, size: 0xffffffff, compressedSize: 0xffffffff }]), /claims 4294967295 bytes, more than the whole \d+-byte file/);
    // the same through ZIP64: 2^32 bytes, and 2^62, past any safe integer
    refused(craftZip([{ name: 'archive/data.pkl', data: pkl, size: 2 ** 32, compressedSize: 2 ** 32 }], { zip64: true }), /claims 4294967296 bytes, more than the whole \d+-byte file/);
    refused(craftZip([{ name: 'archive/data.pkl', data: pkl, size: 2 ** 62, compressedSize: 2 ** 62 }], { zip64: true }), /an entry size is 4611686018427387904, past the end of the file/);
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  });

  it('refuses entries that overlap to claim more than the file', () => {
    // data.pkl claims to run on over the entries after it: each entry fits in the file, together they do not
    const others = Array.from({ length: 10 }, (_, i) => ({ name: `archive/data/${i}`, data: new Uint8Array(100) }));
    const pkl = stateDictPickle([]);
    const length = craftZip([{ name: 'archive/data.pkl', data: pkl }, ...others]).length;
    const claim = length - 200;
    refused(craftZip([{ name: 'archive/data.pkl', data: pkl, size: claim, compressedSize: claim }, ...others]), /entries claim \d+ bytes together, more than the whole/);
  });

  it('reads a crafted ZIP64 archive (end record, locator and extra fields)', () => {
    const sd = stateDictPickle([{ name: 'w', key: '0', shape: [3] }]);
    const z = craftZip([{ name: 'archive/data.pkl', data: sd }, { name: 'archive/data/0', data: f32Bytes([1, 2, 3]) }], { zip64: true });
    assert.deepEqual([...tensor(dict(readTorchSave(z)).get('w')).data], [1, 2, 3]);
  });

  it('refuses duplicate names, encrypted entries and unknown compression', () => {
    const pkl = stateDictPickle([]);
    refused(craftZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data.pkl', data: pkl }]), /appears twice/);
    refused(craftZip([{ name: 'archive/data.pkl', data: pkl, method: 12 }]), /compression method 12/);
    const enc = craftZip([{ name: 'archive/data.pkl', data: pkl }]);
    // set the encrypted flag in the central header
    const cd = enc.length - 22 - (46 + 'archive/data.pkl'.length);
    enc[cd + 8] = 1;
    refused(enc, /encrypted/);
  });

  it('refuses files cut short anywhere (every 97 bytes, and near the end), never with another error', () => {
    let cuts = 0;
    for (const name of [...READABLE, 'malicious.pt', 'whole_model.pt', 'torchscript.pt', 'legacy.pt', 'deflated.pt']) {
      const bytes = fixture(name);
      const at = new Set<number>();
      for (let n = 0; n < bytes.length; n += 97) at.add(n);
      for (let k = 1; k <= 64; k++) at.add(bytes.length - k);
      for (const n of at) {
        if (n < 0) continue;
        refusal(() => readTorchSave(bytes.subarray(0, n)));
        cuts++;
      }
    }
    assert.ok(cuts > 1000);
  });
});

describe('readTorchSave: seeded fuzz', () => {
  /** `count` copies of `bytes`, each with 1–4 bytes flipped, set or removed, by a seeded stream. */
  function* mutants(bytes: Uint8Array, rng: Rng, count: number, window?: [number, number]): Generator<Uint8Array> {
    const [lo, hi] = window ?? [0, bytes.length];
    for (let i = 0; i < count; i++) {
      let out: Uint8Array = bytes.slice();
      const edits = 1 + (rng.nextUint32() % 4);
      for (let e = 0; e < edits; e++) {
        const at = lo + (rng.nextUint32() % Math.max(1, Math.min(hi, out.length) - lo));
        const kind = rng.nextUint32() % 8;
        if (kind < 4) out[at]! ^= 1 << (rng.nextUint32() % 8);
        else if (kind < 7) out[at] = rng.nextUint32() & 0xff;
        else out = concat([out.subarray(0, at), out.subarray(at + 1)]);
      }
      yield out;
    }
  }

  it('flipped bytes anywhere in a file: it reads or refuses', () => {
    const rng = new Rng(20240601);
    const counts = { read: 0, refused: 0 };
    for (const name of READABLE) {
      for (const m of mutants(fixture(name), rng, 300)) counts[readsOrRefuses(m, name)]++;
    }
    assert.ok(counts.refused > 0 && counts.read > 0, JSON.stringify(counts));
  });

  it('mutated pickles behind valid CRCs: the unpickler reads or refuses', () => {
    const rng = new Rng(7);
    const counts = { read: 0, refused: 0 };
    for (const name of READABLE) {
      const bytes = fixture(name);
      const zip = new ZipArchive(bytes);
      const entries = [...zip.entries.values()].map((e) => ({ name: e.name, data: bytes.slice(e.dataOffset, e.dataOffset + e.size) }));
      const pkl = entries.findIndex((e) => e.name.endsWith('/data.pkl'));
      for (const m of mutants(entries[pkl]!.data, rng, 400)) {
        const repacked = craftZip(entries.map((e, i) => (i === pkl ? { name: e.name, data: m } : e)));
        counts[readsOrRefuses(repacked, `${name} with a mutated data.pkl`)]++;
      }
    }
    assert.ok(counts.refused > 0 && counts.read > 0, JSON.stringify(counts));
  });

  it('mutated zip directories: the zip reader reads or refuses', () => {
    const rng = new Rng(99);
    const bytes = fixture('views.pt');
    const zip = new ZipArchive(bytes);
    const cdStart = Math.max(...[...zip.entries.values()].map((e) => e.dataOffset + e.size));
    for (const m of mutants(bytes, rng, 1500, [cdStart, bytes.length])) readsOrRefuses(m, 'views.pt with a mutated directory');
  });
});

describe('readTorchSave: pickle bounds', () => {
  const wrap = (p: PickleWriter): Uint8Array => torchZip(p.stop().done());

  it('reads a well-formed value tree with every scalar kind', () => {
    const p = new PickleWriter().proto().emptyDict()
      .str('n').int(-5).setItem()
      .str('big').raw(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1).setItem() // LONG1 2^64
      .str('neg').raw(0x8a, 1, 0xff).setItem() // LONG1 -1
      .str('f').raw(0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0).setItem() // BINFLOAT 1.5
      .str('b').raw(0x43, 2, 0xde, 0xad).setItem() // SHORT_BINBYTES
      .str('t').raw(0x88).setItem() // NEWTRUE
      .str('l').emptyList().int(1).append().mark().int(2).int(3).raw(0x65).setItem(); // APPEND, APPENDS
    const v = dict(readTorchSave(wrap(p)));
    assert.equal(v.get('n'), -5);
    assert.equal(v.get('big'), 2n ** 64n);
    assert.equal(v.get('neg'), -1);
    assert.equal(v.get('f'), 1.5);
    assert.deepEqual(v.get('b'), new Uint8Array([0xde, 0xad]));
    assert.equal(v.get('t'), true);
    assert.deepEqual(v.get('l'), [1, 2, 3]);
  });

  it('reads dtype globals as names, torch.Size as a tuple, and each way a Parameter or tensor is pickled', () => {
    const storage = { '0': f32Bytes([1, 2, 3, 4]) };
    const p = new PickleWriter().proto().emptyDict()
      .str('dtype').global('torch', 'float16').setItem()
      .str('size').global('torch', 'Size').mark().int(2).int(3).tuple().tuple1().reduce().setItem()
      // _rebuild_parameter(tensor, requires_grad, hooks)
      .str('param').global('torch._utils', '_rebuild_parameter').tensor('FloatStorage', '0', 4, 0, [2], [1]).true()
      .global('collections', 'OrderedDict').emptyTuple().reduce().raw(0x87).reduce().setItem() // TUPLE3
      // Parameter.__new__(Parameter, tensor, True)
      .str('new').global('torch.nn.parameter', 'Parameter').tensor('FloatStorage', '0', 4, 2, [2], [1]).true().tuple2().newobj().setItem()
      // _rebuild_from_type_v2(_rebuild_tensor_v2, Parameter, args, {}) — a Parameter with Python attributes
      .str('typed').global('torch._tensor', '_rebuild_from_type_v2').mark().global('torch._utils', '_rebuild_tensor_v2')
      .global('torch.nn.parameter', 'Parameter').tensorArgs('FloatStorage', '0', 4, 1, [3], [1]).emptyDict().tuple().reduce().setItem()
      // the pre-v2 _rebuild_tensor(storage, offset, size, stride)
      .str('v1').global('torch._utils', '_rebuild_tensor').mark().storage('FloatStorage', '0', 4).int(0).mark().int(2).int(2).tuple().mark().int(1).int(2).tuple().tuple().reduce().setItem();
    const v = dict(readTorchSave(torchZip(p.stop().done(), storage)));
    assert.equal(v.get('dtype'), 'torch.float16');
    assert.deepEqual(v.get('size'), [2, 3]);
    const param = tensor(v.get('param'));
    assert.deepEqual([...param.data], [1, 2]);
    assert.equal(param.requiresGrad, true);
    assert.deepEqual([...tensor(v.get('new')).data], [3, 4]);
    assert.equal(tensor(v.get('new')).requiresGrad, true);
    assert.deepEqual([...tensor(v.get('typed')).data], [2, 3, 4]);
    assert.equal(tensor(v.get('typed')).requiresGrad, true);
    assert.deepEqual([...tensor(v.get('v1')).data], [1, 3, 2, 4]);
  });

  it('refuses nesting deeper than 100 levels', () => {
    const p = new PickleWriter().proto();
    for (let i = 0; i < 101; i++) p.emptyList();
    for (let i = 0; i < 100; i++) p.append();
    refused(wrap(p), /nests values more than 100 levels deep/);
    const ok = new PickleWriter().proto();
    for (let i = 0; i < 100; i++) ok.emptyList();
    for (let i = 0; i < 99; i++) ok.append();
    assert.ok(Array.isArray(readTorchSave(wrap(ok))));
  });

  it('refuses a billion laughs (a value shared so often that walking it would never end), quickly', () => {
    const started = Date.now();
    const p = new PickleWriter().proto().emptyList().put(0);
    for (let i = 0; i < 60; i++) p.emptyList().get(0).append().get(0).append().put(0);
    refused(wrap(p), /builds a value of more than \d+ items/);
    assert.ok(Date.now() - started < 1000);
  });

  it('refuses cycles and changes to a list after it was placed inside another', () => {
    refused(wrap(new PickleWriter().proto().emptyList().put(0).get(0).append()), /puts a list inside itself/);
    // a = []; b = [a]; a.append(b)
    const p = new PickleWriter().proto().emptyList().put(0).emptyList().get(0).append().put(1).get(0).get(1).append();
    refused(wrap(p), /changes a list after placing it inside another value/);
  });

  it('refuses memo entries it never stored, an empty stack, a mark never opened, and a STOP with leftovers', () => {
    refused(wrap(new PickleWriter().proto().get(3)), /recalls memo entry 3/);
    refused(wrap(new PickleWriter().proto().append()), /empty stack/);
    refused(wrap(new PickleWriter().proto().tuple()), /closes a mark it never opened/);
    refused(wrap(new PickleWriter().proto().none().none()), /values left on its stack/);
    refused(torchZip(new PickleWriter().proto().none().done()), /ends before its STOP opcode/);
  });

  it('refuses lengths past the end of the pickle before allocating them', () => {
    const huge = (op: number, width: number): Uint8Array => {
      const len = new Uint8Array(width).fill(0xff);
      if (width === 8) len[7] = 0x7f;
      return torchZip(new PickleWriter().proto(4).raw(op, ...len).stop().done());
    };
    refused(huge(0x58, 4), /ends in the middle of an opcode/); // BINUNICODE
    refused(huge(0x8d, 8), /ends in the middle of an opcode/); // BINUNICODE8
    refused(huge(0x8e, 8), /ends in the middle of an opcode/); // BINBYTES8
    refused(huge(0x95, 8), /ends in the middle of an opcode/); // FRAME
    refused(torchZip(new PickleWriter().proto().raw(0x8b, 0, 0, 1, 0).stop().done()), /integer of 65536 bytes/); // LONG4
    refused(torchZip(new PickleWriter().proto().raw(0x58, 2, 0, 0, 0, 0xc3, 0x28).stop().done()), /not valid UTF-8/);
  });

  it('refuses a protocol newer than 5 and bytes that are no opcode', () => {
    refused(wrap(new PickleWriter().proto(6).none()), /protocol 6/);
    refused(wrap(new PickleWriter().proto().raw(0xff)), /0xff, is not a pickle opcode/);
  });

  it('refuses dict keys other than strings and integers', () => {
    refused(wrap(new PickleWriter().proto().emptyDict().emptyTuple().none().setItem()), /dict key that is a list or tuple/);
    refused(wrap(new PickleWriter().proto().emptyDict().none().none().setItem()), /dict key that is None/);
  });

  it('honours the stack, mark, memo and op limits it is given', () => {
    const many = new PickleWriter().proto().mark();
    for (let i = 0; i < 100; i++) many.none();
    const bytes = wrap(many.tuple());
    assert.equal((readTorchSave(bytes) as TorchValue[]).length, 100);
    refusal(() => readTorchSave(bytes, { pickle: { maxStack: 50 } }));
    refusal(() => readTorchSave(bytes, { pickle: { maxOps: 50 } }));
    const marks = new PickleWriter().proto();
    for (let i = 0; i < 20; i++) marks.mark();
    assert.match(refusal(() => readTorchSave(wrap(marks), { pickle: { maxMarks: 10 } })).message, /more than 10 marks/);
    const memo = new PickleWriter().proto().none();
    for (let i = 0; i < 20; i++) memo.put(i);
    assert.match(refusal(() => readTorchSave(wrap(memo), { pickle: { maxMemo: 10 } })).message, /memoizes more than 10 values/);
  });
});
