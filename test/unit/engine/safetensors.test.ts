import * as assert from 'node:assert/strict';
import { GatescopeError } from '../../../src/engine/errors';
import {
  parseSafetensors,
  serializeSafetensors,
  tensorToFloat32,
  tensorToFloat64,
} from '../../../src/engine/safetensors';
import type { TensorEntry, TensorToWrite } from '../../../src/engine/safetensors';

/** Builds a file by hand from header text and data, so tests can say things a correct writer never would. */
function rawFile(header: string, data: Uint8Array | number = 0, pad = true): Uint8Array {
  let json = new TextEncoder().encode(header);
  if (pad) {
    const padded = new Uint8Array(json.length + ((8 - ((8 + json.length) % 8)) % 8)).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function headerFile(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  return rawFile(JSON.stringify(header), dataBytes);
}

/** A file with only a length prefix, for lengths no test could afford to back with real bytes. */
function lengthOnly(length: bigint, extra = 0): Uint8Array {
  const out = new Uint8Array(8 + extra);
  new DataView(out.buffer).setBigUint64(0, length, true);
  return out;
}

function assertBad(fn: () => unknown, pattern: RegExp, code = 'bad-model-file'): GatescopeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a GatescopeError matching ${pattern}, but nothing was thrown`);
  assert.ok(caught instanceof GatescopeError, `expected a GatescopeError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.match(caught.message, pattern);
  return caught;
}

/** Little-endian bytes of 16-bit patterns, as an F16/BF16 tensor stores them. */
function u16Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    out[2 * i] = v & 0xff;
    out[2 * i + 1] = v >>> 8;
  });
  return out;
}

function entry(dtype: string, shape: number[], bytes: Uint8Array): TensorEntry {
  return { dtype, shape, bytes };
}

/** Equal as floats: same bits except that any NaN equals any NaN; -0 and subnormals must match exactly. */
function assertSameFloats(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) assert.ok(Number.isNaN(a), `index ${i}: expected NaN, got ${a}`);
    else assert.ok(Object.is(a, e), `index ${i}: expected ${e}, got ${a}`);
  }
}

/** Deterministic generator for the fuzz tests; Math.random would make failures unreproducible. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}

const f32Values = [
  0, -0, 1, -2.5, Math.fround(Math.PI), 2 ** -149, -(2 ** -149), 2 ** -126 * 0.5, 3.4028234663852886e38,
  Infinity, -Infinity, NaN,
];
const f64Values = [0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, Math.PI, 1e300, -Infinity, NaN, 0.1];
const i32Values = [0, 1, -1, 2147483647, -2147483648, 42];

function sampleTensors(): TensorToWrite[] {
  return [
    { name: 'lstm.weight_ih', shape: [3, 4], data: Float32Array.from(f32Values) },
    { name: 'odd', shape: [1], data: Float32Array.from([7]) }, // leaves the next tensor 4 mod 8 into the data
    { name: 'grad.check', shape: [2, 5], data: Float64Array.from(f64Values) },
    { name: 'vocab.ids', shape: [6], data: Int32Array.from(i32Values) },
  ];
}

describe('safetensors', () => {
  describe('round trip', () => {
    it('preserves several tensors bit for bit, with metadata and order', () => {
      const metadata = { format: 'gatescope', vocab: '["a","é","😀"]', empty: '' };
      const file = parseSafetensors(serializeSafetensors(sampleTensors(), metadata));

      assert.deepEqual({ ...file.metadata }, metadata);
      assert.deepEqual([...file.tensors.keys()], ['lstm.weight_ih', 'odd', 'grad.check', 'vocab.ids']);

      const w = file.tensors.get('lstm.weight_ih')!;
      assert.equal(w.dtype, 'F32');
      assert.deepEqual(w.shape, [3, 4]);
      assertSameFloats(tensorToFloat32('lstm.weight_ih', w), f32Values);
      assertSameFloats(tensorToFloat64('lstm.weight_ih', w), f32Values);

      const g = file.tensors.get('grad.check')!;
      assert.equal(g.dtype, 'F64');
      assert.deepEqual(g.shape, [2, 5]);
      assertSameFloats(tensorToFloat64('grad.check', g), f64Values);

      const ids = file.tensors.get('vocab.ids')!;
      assert.equal(ids.dtype, 'I32');
      assert.equal(ids.bytes.length, 24);
      const view = new DataView(ids.bytes.buffer, ids.bytes.byteOffset, ids.bytes.byteLength);
      assert.deepEqual(i32Values.map((_, i) => view.getInt32(4 * i, true)), i32Values);
    });

    it('writes the header a reference reader expects, contiguous with no gaps', () => {
      const bytes = serializeSafetensors(sampleTensors(), { format: 'pt' });
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
      assert.deepEqual(header.__metadata__, { format: 'pt' });
      assert.deepEqual(header['lstm.weight_ih'], { dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] });
      assert.deepEqual(header.odd, { dtype: 'F32', shape: [1], data_offsets: [48, 52] });
      assert.deepEqual(header['grad.check'], { dtype: 'F64', shape: [2, 5], data_offsets: [52, 132] });
      assert.deepEqual(header['vocab.ids'], { dtype: 'I32', shape: [6], data_offsets: [132, 156] });
      assert.equal(bytes.length, 8 + n + 156);
    });

    it('handles scalar (shape []) and zero-size tensors, in any position', () => {
      const bytes = serializeSafetensors([
        { name: 'empty.first', shape: [0], data: new Float32Array(0) },
        { name: 'scalar', shape: [], data: Float32Array.from([-0]) },
        { name: 'empty.middle', shape: [3, 0, 2], data: new Float64Array(0) },
        { name: 'scalar64', shape: [], data: Float64Array.from([5e-324]) },
        { name: 'empty.last', shape: [0, 4], data: new Int32Array(0) },
      ]);
      const file = parseSafetensors(bytes);
      assert.deepEqual([...file.tensors.keys()], ['empty.first', 'scalar', 'empty.middle', 'scalar64', 'empty.last']);
      assert.deepEqual(file.tensors.get('scalar')!.shape, []);
      assertSameFloats(tensorToFloat32('scalar', file.tensors.get('scalar')!), [-0]);
      assertSameFloats(tensorToFloat64('scalar64', file.tensors.get('scalar64')!), [5e-324]);
      const middle = file.tensors.get('empty.middle')!;
      assert.deepEqual(middle.shape, [3, 0, 2]);
      assert.equal(middle.bytes.length, 0);
      assert.equal(tensorToFloat64('empty.middle', middle).length, 0);
      assert.equal(tensorToFloat32('empty.first', file.tensors.get('empty.first')!).length, 0);
      assert.deepEqual({ ...file.metadata }, {});
    });

    it('round-trips an empty file', () => {
      const file = parseSafetensors(serializeSafetensors([]));
      assert.equal(file.tensors.size, 0);
      assert.deepEqual({ ...file.metadata }, {});
    });

    it('keeps data-section order even for integer-like names that JSON objects reorder', () => {
      const names = ['10', 'b', '2', 'a', '0'];
      const bytes = serializeSafetensors(names.map((name, i) => ({ name, shape: [1], data: Float32Array.from([i]) })));
      const file = parseSafetensors(bytes);
      assert.deepEqual([...file.tensors.keys()], names);
      names.forEach((name, i) => assertSameFloats(tensorToFloat32(name, file.tensors.get(name)!), [i]));
    });

    it('returns views into the given bytes, also when the file sits at an odd offset in a larger buffer', () => {
      const file = serializeSafetensors(sampleTensors());
      const host = new Uint8Array(file.length + 5);
      host.set(file, 3);
      const inner = host.subarray(3, 3 + file.length);
      const parsed = parseSafetensors(inner);
      const w = parsed.tensors.get('lstm.weight_ih')!;
      assert.equal(w.bytes.buffer, host.buffer);
      assert.equal((w.bytes.byteOffset - 3) % 8, 0);
      assertSameFloats(tensorToFloat32('lstm.weight_ih', w), f32Values);
      assertSameFloats(tensorToFloat64('grad.check', parsed.tensors.get('grad.check')!), f64Values);
    });
  });

  describe('alignment', () => {
    it('pads the header with spaces so the data section starts 8-byte aligned', () => {
      for (let len = 1; len <= 17; len++) {
        const name = 'x'.repeat(len);
        const bytes = serializeSafetensors([{ name, shape: [2], data: Float32Array.from([1, 2]) }], { k: 'v'.repeat(len % 5) });
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        assert.equal((8 + n) % 8, 0, `header length ${n} for name length ${len}`);
        const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
        assert.match(text, /^\{.*\} *$/);
        assert.equal(bytes.length, 8 + n + 8);
        assert.equal(parseSafetensors(bytes).tensors.get(name)!.bytes.byteOffset % 8, 0);
      }
    });

    it('accepts unpadded headers and leading whitespace from other writers', () => {
      const bytes = rawFile(' \n {"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array([0, 0, 0x80, 0x3f]), false);
      const t = parseSafetensors(bytes).tensors.get('t')!;
      assert.notEqual(t.bytes.byteOffset % 4, 0);
      assertSameFloats(tensorToFloat32('t', t), [1]);
    });
  });

  describe('conversion', () => {
    const f16Cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x3800, 0.5],
      [0x3555, 0.333251953125],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14],
      [0x7bff, 65504],
      [0x0000, 0],
      [0x8000, -0],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
      [0x7e00, NaN],
      [0xfc01, NaN],
    ];
    const bf16Cases: [number, number][] = [
      [0x3f80, 1],
      [0xc000, -2],
      [0x4049, 3.140625],
      [0x0001, 2 ** -133],
      [0x7f7f, 3.3895313892515355e38],
      [0x8000, -0],
      [0x7f80, Infinity],
      [0xff80, -Infinity],
      [0x7fc0, NaN],
    ];

    it('decodes F16 exactly, including subnormals, infinities and NaN', () => {
      const t = entry('F16', [f16Cases.length], u16Bytes(f16Cases.map((c) => c[0])));
      assertSameFloats(tensorToFloat32('h', t), f16Cases.map((c) => c[1]));
      assertSameFloats(tensorToFloat64('h', t), f16Cases.map((c) => c[1]));
    });

    it('decodes BF16 exactly, including subnormals, infinities and NaN', () => {
      const t = entry('BF16', [bf16Cases.length], u16Bytes(bf16Cases.map((c) => c[0])));
      assertSameFloats(tensorToFloat32('b', t), bf16Cases.map((c) => c[1]));
      assertSameFloats(tensorToFloat64('b', t), bf16Cases.map((c) => c[1]));
    });

    it('decodes F16 and BF16 read from a parsed file at an odd offset', () => {
      const data = new Uint8Array(1 + 2 * f16Cases.length + 2 * bf16Cases.length);
      data.set(u16Bytes(f16Cases.map((c) => c[0])), 1);
      data.set(u16Bytes(bf16Cases.map((c) => c[0])), 1 + 2 * f16Cases.length);
      const h0 = 1 + 2 * f16Cases.length;
      const header = {
        pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
        h: { dtype: 'F16', shape: [f16Cases.length], data_offsets: [1, h0] },
        b: { dtype: 'BF16', shape: [bf16Cases.length], data_offsets: [h0, data.length] },
      };
      const file = parseSafetensors(rawFile(JSON.stringify(header), data));
      assert.equal(file.tensors.get('h')!.bytes.byteOffset % 2, 1);
      assertSameFloats(tensorToFloat32('h', file.tensors.get('h')!), f16Cases.map((c) => c[1]));
      assertSameFloats(tensorToFloat32('b', file.tensors.get('b')!), bf16Cases.map((c) => c[1]));
    });

    it('rounds F64 to float32 and keeps it exact for tensorToFloat64', () => {
      const values = [0.1, -0, 1e-50, 5e-324, 3.4028234663852886e38, -Infinity, NaN, 2 ** -149];
      const t = entry('F64', [2, 4], new Uint8Array(Float64Array.from(values).buffer));
      assertSameFloats(tensorToFloat32('w', t), values.map(Math.fround));
      assertSameFloats(tensorToFloat64('w', t), values);
    });

    it('refuses F64 values beyond float32 range, naming the tensor', () => {
      for (const v of [1e300, -3.5e38, Number.MAX_VALUE]) {
        const t = entry('F64', [3], new Uint8Array(Float64Array.from([1, v, 2]).buffer));
        assertBad(() => tensorToFloat32('rnn.big', t), /"rnn\.big".*index 1.*outside the float32 range/);
        assertSameFloats(tensorToFloat64('rnn.big', t), [1, v, 2]);
      }
    });

    it('reads F32 and F64 from unaligned views', () => {
      const f32 = Float32Array.from([1.5, -0, 2 ** -149, NaN, -3]);
      const f64 = Float64Array.from([Math.PI, -0, 5e-324]);
      for (const shift of [1, 2, 3, 5, 7]) {
        const buf = new Uint8Array(shift + f32.byteLength + f64.byteLength);
        buf.set(new Uint8Array(f32.buffer), shift);
        buf.set(new Uint8Array(f64.buffer), shift + f32.byteLength);
        const t32 = entry('F32', [5], buf.subarray(shift, shift + f32.byteLength));
        const t64 = entry('F64', [3], buf.subarray(shift + f32.byteLength));
        const out32 = tensorToFloat32('u32', t32);
        assert.equal(out32.byteOffset, 0);
        assertSameFloats(out32, f32);
        assertSameFloats(tensorToFloat64('u32', t32), f32);
        assertSameFloats(tensorToFloat64('u64', t64), f64);
        assertSameFloats(tensorToFloat32('u64', t64), f64.map(Math.fround));
      }
    });

    it('returns a copy, not a view into the file', () => {
      const bytes = serializeSafetensors([{ name: 'w', shape: [2], data: Float32Array.from([1, 2]) }]);
      const t = parseSafetensors(bytes).tensors.get('w')!;
      const out = tensorToFloat32('w', t);
      out[0] = 99;
      assertSameFloats(tensorToFloat32('w', t), [1, 2]);
      assert.notEqual(out.buffer, bytes.buffer);
    });

    it('refuses integer, bool and other non-float dtypes, naming the tensor and dtype', () => {
      for (const [dtype, size] of [['I32', 4], ['I64', 8], ['U8', 1], ['BOOL', 1], ['I8', 1], ['F8_E4M3', 1], ['C64', 8]] as const) {
        const t = entry(dtype, [2], new Uint8Array(2 * size));
        const pattern = new RegExp(`"embed\\.ids" has dtype "${dtype}".*re-save it as F32`);
        assertBad(() => tensorToFloat32('embed.ids', t), pattern);
        assertBad(() => tensorToFloat64('embed.ids', t), pattern);
      }
    });

    it('refuses a hand-made entry whose bytes do not match its shape', () => {
      assertBad(() => tensorToFloat32('w', entry('F32', [3], new Uint8Array(8))), /"w" with shape \[3\].*12 bytes but has 8/);
      assertBad(() => tensorToFloat64('w', entry('F16', [2, 2], new Uint8Array(6))), /"w".*8 bytes but has 6/);
    });
  });

  describe('validation', () => {
    const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

    it('refuses files shorter than the 8-byte length prefix', () => {
      for (const n of [0, 1, 7]) {
        assertBad(() => parseSafetensors(new Uint8Array(n)), new RegExp(`not a safetensors file: ${n} bytes, shorter than the 8-byte header length`));
      }
    });

    it('refuses a header length larger than the file', () => {
      assertBad(() => parseSafetensors(lengthOnly(100n, 20)), /header claims 100 bytes but only 20 follow.*truncated/);
      assertBad(() => parseSafetensors(lengthOnly(1n)), /header claims 1 bytes but only 0 follow/);
    });

    it('refuses a header length above maxHeaderBytes, and above the 100 MiB default', () => {
      const valid = serializeSafetensors(sampleTensors());
      assert.equal(parseSafetensors(valid, { maxHeaderBytes: 1 << 20 }).tensors.size, 4);
      assertBad(() => parseSafetensors(valid, { maxHeaderBytes: 16 }), /header length is \d+ bytes, more than the 16-byte limit/);
      assertBad(() => parseSafetensors(lengthOnly(100n * 1024n * 1024n + 1n)), /104857601 bytes, more than the 104857600-byte limit/);
    });

    it('reads the u64 header length without losing precision (2^60, 2^64 - 1, 2^53 + 1)', () => {
      assertBad(() => parseSafetensors(lengthOnly(2n ** 60n, 64)), /header length is 1152921504606846976 bytes, more than/);
      assertBad(() => parseSafetensors(lengthOnly(2n ** 64n - 1n, 64)), /header length is 18446744073709551615 bytes/);
      assertBad(
        () => parseSafetensors(lengthOnly(2n ** 53n + 1n, 64), { maxHeaderBytes: Number.MAX_SAFE_INTEGER }),
        /header length is 9007199254740993 bytes/,
      );
      // A length whose low 32 bits are small must not be mistaken for a small header.
      assertBad(() => parseSafetensors(lengthOnly(2n ** 32n + 2n, 64)), /4294967298 bytes/);
    });

    it('refuses an invalid maxHeaderBytes as a caller mistake', () => {
      assertBad(() => parseSafetensors(new Uint8Array(16), { maxHeaderBytes: -1 }), /maxHeaderBytes/, 'invalid-input');
    });

    it('refuses a header that is not UTF-8', () => {
      const bytes = rawFile('{"a":1}');
      bytes[10] = 0xff;
      assertBad(() => parseSafetensors(bytes), /header is not valid UTF-8.*not a safetensors file/);
    });

    it('refuses a header that is not JSON', () => {
      for (const text of ['{"a":', 'hello', '', "{'a': 1}", '{"a":1}\0\0']) {
        assertBad(() => parseSafetensors(rawFile(text, 0, false)), /header is not valid JSON.*corrupt, truncated or not a safetensors file/);
      }
    });

    it('refuses JSON that is not an object', () => {
      for (const [text, what] of [['[]', 'an array'], ['null', 'null'], ['"x"', 'the string "x"'], ['42', 'number 42'], ['true', 'boolean true']]) {
        assertBad(() => parseSafetensors(rawFile(text)), new RegExp(`header is ${what} instead of a JSON object`));
      }
    });

    it('refuses __metadata__ that is not an object of strings, naming the offending key', () => {
      for (const bad of [[], 'text', 3]) {
        assertBad(() => parseSafetensors(headerFile({ __metadata__: bad }, 0)), /"__metadata__" is .* instead of an object of strings/);
      }
      assertBad(
        () => parseSafetensors(headerFile({ __metadata__: { ok: 'yes', 'the.epoch': 3 } }, 0)),
        /"__metadata__" value for key "the\.epoch" is number 3, not a string/,
      );
      assertBad(() => parseSafetensors(headerFile({ __metadata__: { nested: { a: 'b' } } }, 0)), /key "nested" is an object, not a string/);
    });

    it('treats a null __metadata__ as absent, as the reference implementation does', () => {
      assert.deepEqual({ ...parseSafetensors(headerFile({ __metadata__: null }, 0)).metadata }, {});
    });

    it('refuses a tensor entry that is not an object', () => {
      for (const bad of [null, [], 'F32', 4]) {
        assertBad(() => parseSafetensors(headerFile({ w: bad }, 0)), /Tensor "w" is described by .* instead of an object with dtype, shape and data_offsets/);
      }
    });

    it('refuses a tensor entry missing dtype, shape or data_offsets', () => {
      const full = f32(0, 8);
      for (const field of ['dtype', 'shape', 'data_offsets'] as const) {
        const partial: Record<string, unknown> = { ...full };
        delete partial[field];
        assertBad(() => parseSafetensors(headerFile({ 'rnn.w': partial }, 8)), new RegExp(`Tensor "rnn\\.w" has no "${field}"`));
      }
    });

    it('ignores properties inherited from a polluted Object.prototype', () => {
      const proto = Object.prototype as Record<string, unknown>;
      proto.dtype = 'F32';
      try {
        assertBad(() => parseSafetensors(headerFile({ w: { shape: [1], data_offsets: [0, 4] } }, 4)), /Tensor "w" has no "dtype"/);
      } finally {
        delete proto.dtype;
      }
    });

    it('refuses a dtype that is not a string, and names an unknown dtype', () => {
      assertBad(() => parseSafetensors(headerFile({ w: { ...f32(0, 4), dtype: 32 } }, 4)), /"w" has dtype number 32 instead of a string/);
      assertBad(() => parseSafetensors(headerFile({ w: { ...f32(0, 4), dtype: 'F33' } }, 4)), /"w" has unknown dtype "F33"/);
      assertBad(() => parseSafetensors(headerFile({ w: { ...f32(0, 4), dtype: 'f32' } }, 4)), /unknown dtype "f32"/);
      assertBad(() => parseSafetensors(headerFile({ w: { ...f32(0, 4), dtype: 'toString' } }, 4)), /unknown dtype "toString"/);
    });

    it('accepts every standard dtype with its element size', () => {
      const sizes: Record<string, number> = {
        BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
        I32: 4, U32: 4, F32: 4, C64: 8, F64: 8, I64: 8, U64: 8,
      };
      for (const [dtype, size] of Object.entries(sizes)) {
        const t = parseSafetensors(headerFile({ t: { dtype, shape: [3], data_offsets: [0, 3 * size] } }, 3 * size)).tensors.get('t')!;
        assert.equal(t.dtype, dtype);
        assert.equal(t.bytes.length, 3 * size);
      }
      // Sub-byte dtypes pack several elements per byte.
      assert.equal(parseSafetensors(headerFile({ t: { dtype: 'F4', shape: [2, 3], data_offsets: [0, 3] } }, 3)).tensors.get('t')!.bytes.length, 3);
      assert.equal(parseSafetensors(headerFile({ t: { dtype: 'F6_E2M3', shape: [4], data_offsets: [0, 3] } }, 3)).tensors.size, 1);
      assertBad(
        () => parseSafetensors(headerFile({ t: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2)),
        /"t" with shape \[3\] and dtype F4 takes 12 bits, not a whole number of bytes/,
      );
    });

    it('refuses shapes that are not arrays of non-negative safe integers', () => {
      for (const shape of ['2', 2, null, [-1], [1.5], ['2'], [2 ** 53], [1, null]]) {
        assertBad(() => parseSafetensors(headerFile({ w: { ...f32(0, 4), shape } }, 4)), /"w" has shape .* not an array of non-negative integers/);
      }
      // a container inside a shape is a level deeper than any safetensors header: refused before it is read
      assertBad(() => parseSafetensors(headerFile({ w: { ...f32(0, 4), shape: [{}] } }, 4)), /header nests deeper than 3 levels/);
    });

    it('refuses data_offsets that are not two ordered non-negative safe integers', () => {
      for (const offsets of [[0], [0, 4, 8], '0,4', [-4, 0], [0, 4.5], [0, '4'], [0, 2 ** 53], null]) {
        assertBad(
          () => parseSafetensors(headerFile({ w: { dtype: 'F32', shape: [1], data_offsets: offsets } }, 4)),
          /"w" has data_offsets .* instead of two non-negative integers \[begin, end\]/,
        );
      }
      assertBad(
        () => parseSafetensors(headerFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, 8)),
        /"w" has data_offsets \[8, 4\] with begin after end/,
      );
    });

    it('refuses a byte length that does not match shape and dtype, naming all of them', () => {
      assertBad(
        () => parseSafetensors(headerFile({ 'gru.w': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 24)),
        /Tensor "gru\.w" with shape \[2,3\] and dtype F32 should take 24 bytes but its data_offsets span 20.*save_file/,
      );
      assertBad(
        () => parseSafetensors(headerFile({ h: { dtype: 'F16', shape: [], data_offsets: [0, 4] } }, 4)),
        /"h" with shape \[\] and dtype F16 should take 2 bytes but its data_offsets span 4/,
      );
      // A shape whose element count overflows 2^53 must still be compared exactly.
      assertBad(
        () => parseSafetensors(headerFile({ big: { dtype: 'U8', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 0] } }, 0)),
        /"big" .* should take 1237940039285380274899124224 bytes but its data_offsets span 0/,
      );
    });

    it('refuses offsets outside the data section, naming the tensor', () => {
      assertBad(() => parseSafetensors(headerFile({ a: f32(0, 8), tail: f32(8, 16) }, 12)), /"tail" has data_offsets \[8, 16\] outside the 12-byte data section/);
      assertBad(() => parseSafetensors(headerFile({ z: { dtype: 'F32', shape: [0], data_offsets: [20, 20] } }, 12)), /"z" has data_offsets \[20, 20\] outside/);
    });

    it('refuses overlapping tensors, naming both', () => {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ a: f32(0, 8), b: f32(4, 12) }, /"a" \(bytes 0–8\) and "b" \(bytes 4–12\) overlap/],
        [{ a: f32(0, 16), b: f32(4, 8) }, /"a" .* and "b" .* overlap/],
        [{ a: f32(0, 8), b: f32(0, 8) }, /"a" .* and "b" .* overlap|"b" .* and "a" .* overlap/],
        // The overlap is with an earlier tensor, not the (zero-size) one just before.
        [{ long: f32(0, 32), empty: f32(8, 8), late: f32(28, 36) }, /"long" .* and "late" .* overlap/],
      ];
      for (const [header, pattern] of cases) assertBad(() => parseSafetensors(headerFile(header, 64)), pattern);
    });

    it('accepts gaps, trailing bytes and zero-size tensors inside another tensor', () => {
      const file = parseSafetensors(
        headerFile({ a: f32(0, 8), b: f32(16, 24), empty: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, 40),
      );
      assert.deepEqual([...file.tensors.keys()], ['a', 'empty', 'b']);
      assert.equal(file.tensors.get('b')!.bytes.length, 8);
    });

    it('refuses every truncation of a valid file', () => {
      const valid = serializeSafetensors(sampleTensors(), { format: 'gatescope' });
      assertBad(() => parseSafetensors(valid.subarray(0, valid.length >> 1)), /truncated/);
      for (let cut = 0; cut < valid.length; cut++) {
        assertBad(() => parseSafetensors(valid.slice(0, cut)), /not a safetensors file|truncated|corrupt/);
      }
    });

    it('throws only GatescopeError on randomly corrupted headers', () => {
      const valid = serializeSafetensors(sampleTensors(), { format: 'gatescope', note: 'x' });
      const n = Number(new DataView(valid.buffer).getBigUint64(0, true));
      const next = lcg(20240601);
      let refused = 0;
      const trials = 2000;
      for (let trial = 0; trial < trials; trial++) {
        const bytes = valid.slice();
        const flips = 1 + (next() % 3);
        for (let f = 0; f < flips; f++) {
          // Mostly the JSON, sometimes the length prefix.
          const at = next() % 10 === 0 ? next() % 8 : 8 + (next() % n);
          bytes[at] ^= 1 << (next() % 8);
        }
        try {
          parseSafetensors(bytes);
        } catch (e) {
          assert.ok(e instanceof GatescopeError, `trial ${trial}: expected a GatescopeError, got ${String(e)}`);
          assert.equal(e.code, 'bad-model-file');
          refused++;
        }
      }
      // Some flips land in a name or metadata value and leave a valid file; most must be caught.
      assert.ok(refused > trials / 2, `only ${refused} of ${trials} corruptions were refused`);
    });
  });

  describe('prototype pollution', () => {
    it('treats "__proto__" and other Object.prototype names as ordinary tensor and metadata names', () => {
      const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
      const metadata = Object.create(null) as Record<string, string>;
      Object.defineProperty(metadata, '__proto__', { value: 'meta-proto', enumerable: true });
      metadata['constructor'] = 'meta-ctor';
      const bytes = serializeSafetensors(
        names.map((name, i) => ({ name, shape: [1], data: Float32Array.from([i + 1]) })),
        metadata,
      );
      const file = parseSafetensors(bytes);
      assert.deepEqual([...file.tensors.keys()], names);
      names.forEach((name, i) => assertSameFloats(tensorToFloat32(name, file.tensors.get(name)!), [i + 1]));
      assert.equal(Object.getOwnPropertyDescriptor(file.metadata, '__proto__')?.value, 'meta-proto');
      assert.equal(Object.getOwnPropertyDescriptor(file.metadata, 'constructor')?.value, 'meta-ctor');
      assert.deepEqual(Object.keys(file.metadata).sort(), ['__proto__', 'constructor']);
      assert.equal(({} as Record<string, unknown>).dtype, undefined);
    });

    it('does not pollute Object.prototype from a hand-crafted header', () => {
      const header =
        '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"polluted":"yes"},' +
        '"__metadata__":{"__proto__":"x","polluted":"yes"},' +
        '"constructor":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
      const file = parseSafetensors(rawFile(header, new Uint8Array(Float32Array.from([3, 4]).buffer)));
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getPrototypeOf({}), Object.prototype);
      assert.equal(Object.getPrototypeOf(file.metadata), null);
      assert.equal(file.metadata.polluted, 'yes');
      assert.equal(Object.getOwnPropertyDescriptor(file.metadata, '__proto__')?.value, 'x');
      assertSameFloats(tensorToFloat32('__proto__', file.tensors.get('__proto__')!), [3]);
      assertSameFloats(tensorToFloat32('constructor', file.tensors.get('constructor')!), [4]);
    });

    it('returns frozen results', () => {
      const file = parseSafetensors(serializeSafetensors(sampleTensors(), { a: 'b' }));
      assert.ok(Object.isFrozen(file.metadata));
      assert.ok(Object.isFrozen(file.tensors.get('odd')!.shape));
    });
  });

  describe('serialization errors', () => {
    const one = (name: string): TensorToWrite => ({ name, shape: [1], data: Float32Array.from([1]) });

    it('refuses duplicate names and the reserved "__metadata__" name', () => {
      assertBad(() => serializeSafetensors([one('w'), one('v'), one('w')]), /Two tensors are named "w"/, 'invalid-input');
      assertBad(() => serializeSafetensors([one('__metadata__')]), /cannot be named "__metadata__"/, 'invalid-input');
    });

    it('refuses shapes that do not match the data or are not non-negative integers', () => {
      assertBad(
        () => serializeSafetensors([{ name: 'w', shape: [2, 3], data: new Float32Array(5) }]),
        /"w" has shape \[2,3\] \(6 elements\) but 5 values/,
        'invalid-input',
      );
      for (const shape of [[-1], [1.5], [NaN]]) {
        assertBad(() => serializeSafetensors([{ name: 'w', shape, data: new Float32Array(1) }]), /not an array of non-negative integers/, 'invalid-input');
      }
    });

    it('refuses non-string metadata values and unsupported data arrays', () => {
      assertBad(
        () => serializeSafetensors([], { epoch: 3 } as unknown as Record<string, string>),
        /Metadata value for key "epoch" must be a string/,
        'invalid-input',
      );
      assertBad(
        () => serializeSafetensors([{ name: 'w', shape: [1], data: new Uint8Array(1) as unknown as Float32Array }]),
        /Float32Array, Float64Array or Int32Array/,
        'invalid-input',
      );
    });

    it('writes only the viewed part of a typed array that is a window on a larger buffer', () => {
      const big = Float32Array.from([9, 1, 2, 9]);
      const file = parseSafetensors(serializeSafetensors([{ name: 'w', shape: [2], data: big.subarray(1, 3) }]));
      assertSameFloats(tensorToFloat32('w', file.tensors.get('w')!), [1, 2]);
    });
  });
});
