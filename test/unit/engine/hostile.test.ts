import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GatescopeError } from '../../../src/engine/errors';
import { parseUntrustedJson, type JsonLimits } from '../../../src/engine/json';
import { decodeModelFile, encodeModelFile, MAX_VOCAB } from '../../../src/engine/modelfile';
import { prepareRun } from '../../../src/engine/run';
import { parseSafetensors, serializeSafetensors, tensorToFloat32 } from '../../../src/engine/safetensors';
import { checkTextLength, decodeText, firstInvalidUtf8, MAX_TEXT_LENGTH } from '../../../src/engine/text';
import { traceTokens } from '../../../src/engine/trace';
import { DEFAULT_TRAIN_OPTIONS } from '../../../src/engine/trainer';
import { CELL_TYPES, isPlainRnn } from '../../../src/engine/types';
import { checkJsonSize, jsonNumbers, jsonNumbersPerChar } from '../../../src/protocol/traceJson';
import { joinPieces } from '../../../src/models/provenance';
import { rawSafetensors } from '../../fixtures/hostile/raw';

/**
 * Hostile model files (issue 14): the cases a fuzzing probe found, each a regression test. Every one is refused with
 * the project's own error (GatescopeError, code bad-model-file) that says what is wrong — never a RangeError, a
 * TypeError or a hang.
 */
class Refused extends Error {}
const refuse = (reason: string): never => { throw new Refused(reason); };
const LIMITS: JsonLimits = { maxDepth: 3, maxArrayLength: 64, maxKeys: 100, maxStringLength: 200 };
const reason = (text: string, limits = LIMITS): string => {
  try {
    parseUntrustedJson(text, limits, refuse);
  } catch (e) {
    if (e instanceof Refused) return e.message;
    throw e;
  }
  return 'accepted';
};

const rawFile = rawSafetensors;

function badModel(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught instanceof GatescopeError && caught.code === 'bad-model-file', `expected the project's own error, got ${String(caught)}`);
  assert.match(caught.message, pattern);
}

describe('untrusted JSON: refused by its shape before any recursion', () => {
  it('depth, array length, keys, string length and duplicate keys; valid JSON within the limits is parsed as JSON.parse does', () => {
    assert.deepEqual(parseUntrustedJson('{"a": [1, "x,]}", {"c": 2}], "b": null}', LIMITS, refuse), { a: [1, 'x,]}', { c: 2 }], b: null });
    assert.equal(reason('[[[[1]]]]'), 'nests deeper than 3 levels');
    assert.equal(reason(`[${'0,'.repeat(64)}0]`), 'holds an array of more than 64 elements');
    assert.equal(reason(`[${'0,'.repeat(63)}0]`), 'accepted', '64 elements is the limit, not over it');
    assert.equal(reason('{"a": 1, "b": {"a": 2}}'), 'accepted', 'the same key in two objects');
    assert.equal(reason('{"a": 1, "\\u0061": 2}'), 'has the key "a" twice in one object', 'escapes are decoded before comparing');
    assert.equal(reason(JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, k) => [`k${k}`, k])))), 'has more than 100 keys');
    assert.equal(reason(JSON.stringify('x'.repeat(199))), 'holds a string of 201 characters (at most 200)');
    assert.equal(reason('["a\\\\", "b\\""]'), 'accepted', 'escaped backslashes and quotes end strings where JSON says');
    assert.throws(() => parseUntrustedJson('{"a": }', LIMITS, refuse), SyntaxError, 'not JSON: left to JSON.parse');
  });

  it('100,000 levels of nesting and a million-element array: refused in linear time, no RangeError', () => {
    const t0 = performance.now();
    assert.equal(reason('['.repeat(100_000) + ']'.repeat(100_000)), 'nests deeper than 3 levels');
    assert.equal(reason(`[${'1,'.repeat(1_000_000)}1]`, { ...LIMITS, maxArrayLength: 64 }), 'holds an array of more than 64 elements');
    // not a timed assertion: a bound a hundred times what this takes anywhere, only to catch a quadratic relapse
    assert.ok(performance.now() - t0 < 20_000);
  });
});

describe('hostile model files (issue 14 items 1-4, 12)', () => {
  const run = prepareRun('abc abd é🙂 '.repeat(20), { ...DEFAULT_TRAIN_OPTIONS, hidden: 5, embed: 3, layers: 1, seq: 8, batch: 2, valFrac: 0 });
  run.trainer.trainStep();
  const good = encodeModelFile(run.net, run.vocab, { source: 'x.txt', loss: 1.5 }, run.trainer.snapshot());
  const file = parseSafetensors(good);
  /** The valid file with its metadata changed. */
  const withMeta = (patch: Record<string, string>): Uint8Array => serializeSafetensors(
    [...file.tensors].map(([name, t]) => ({ name, shape: t.shape, data: tensorToFloat32(name, t) })), { ...file.metadata, ...patch });

  it('a shape or data_offsets nested 5,000 deep (a 10 KB file)', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    badModel(() => decodeModelFile(rawFile(`{"w": {"dtype": "F32", "shape": ${deep}, "data_offsets": [0, 0]}}`)), /header nests deeper than 3 levels/);
    badModel(() => decodeModelFile(rawFile(`{"w": {"dtype": "F32", "shape": [1], "data_offsets": ${deep}}}`)), /header nests deeper than 3 levels/);
  });

  it('a shape of 60,000 dimensions (a 0.5 MB file)', () => {
    badModel(() => decodeModelFile(rawFile(`{"w": {"dtype": "F32", "shape": [${Array(60_000).fill(1).join(',')}], "data_offsets": [0, 4]}}`, 4)),
      /holds an array of more than 64 elements/);
  });

  it('a tensor named twice in the header (JSON.parse would keep the last)', () => {
    badModel(() => parseSafetensors(rawFile('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', 4)),
      /has the key "w" twice in one object/);
  });

  it('gatescope.info and gatescope.train nested 5,000 deep', () => {
    const deep = `{"a": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    badModel(() => decodeModelFile(withMeta({ 'gatescope.info': deep })), /metadata "gatescope\.info" nests deeper than 4 levels/);
    badModel(() => decodeModelFile(withMeta({ 'gatescope.train': deep })), /metadata "gatescope\.train" nests deeper than 4 levels/);
  });

  it('info fields of the wrong type: "loss": "x", a string valLoss', () => {
    badModel(() => decodeModelFile(withMeta({ 'gatescope.info': '{"loss": "x"}' })), /field "loss" must be a number/);
    badModel(() => decodeModelFile(withMeta({ 'gatescope.info': '{"valLoss": "0.5"}' })), /field "valLoss" must be a number/);
    assert.equal(decodeModelFile(withMeta({ 'gatescope.info': '{"loss": null}' })).info.loss, undefined, 'null: not measured');
  });

  it('a malformed random-generator state or position in the resume data', () => {
    const train = JSON.parse(file.metadata['gatescope.train']!) as Record<string, unknown>;
    for (const rng of [[1, 2, 3], [0, 0, 0, 0], [1, 2, 3, -4], [1, 2, 3, 2 ** 32], 'abcd', null]) {
      badModel(() => decodeModelFile(withMeta({ 'gatescope.train': JSON.stringify({ ...train, rng }) })), /field "rng" must be the random generator's state: four 32-bit unsigned integers/);
    }
    badModel(() => decodeModelFile(withMeta({ 'gatescope.train': JSON.stringify({ ...train, position: -1_000_000 }) })), /field "position" is -1000000, not a non-negative integer/);
    badModel(() => decodeModelFile(withMeta({ 'gatescope.train': JSON.stringify({ ...train, options: [] }) })), /no "options" object/);
    assert.ok(decodeModelFile(good).training, 'the valid file still resumes');
  });

  it(`a vocabulary of more than ${MAX_VOCAB.toLocaleString('en-US')} characters`, () => {
    const chars = Array.from({ length: MAX_VOCAB + 1 }, (_, k) => String.fromCodePoint(0x10000 + k)); // planes 1-2: no surrogates
    badModel(() => decodeModelFile(withMeta({ vocab: JSON.stringify(chars) })), /metadata "vocab" holds an array of more than 65536 elements; it is a JSON array of at most 65,536 characters \(or special tokens of up to 32\)/);
    assert.throws(() => prepareRun(chars.join(''), { ...DEFAULT_TRAIN_OPTIONS, hidden: 4, embed: 2, seq: 4, batch: 1 }),
      (e: unknown) => e instanceof GatescopeError && /the text has 65,537 different characters, more than the 65,536 a model may have/.test(e.message));
  });

  it('a lone surrogate as a vocabulary entry', () => {
    const chars = JSON.parse(file.metadata['vocab']!) as string[];
    badModel(() => decodeModelFile(withMeta({ vocab: JSON.stringify([...chars.slice(0, -1), '\ud800']) })), /vocabulary entry \d+ "\\ud800" holds a lone surrogate, which no text holds/);
  });
});

describe('texts the probe broke (issue 14 items 6, 7)', () => {
  it('reports the first bad byte of invalid UTF-8 where it is: a surrogate, an overlong form, beyond U+10FFFF', () => {
    const at = (bytes: number[]): number => firstInvalidUtf8(Uint8Array.from(bytes));
    assert.equal(at([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0xed, 0xa0, 0x80]), 6, 'ED A0 80 would be the surrogate U+D800');
    assert.equal(at([0x61, 0x62, 0xe0, 0x80, 0x80, 0x63, 0x64]), 2, 'E0 80 80: an overlong NUL');
    assert.equal(at([0xf0, 0x80, 0x80, 0x80]), 0, 'F0 80: overlong');
    assert.equal(at([0x41, 0xf4, 0x90, 0x80, 0x80]), 1, 'F4 90: beyond U+10FFFF');
    assert.equal(at([0xed, 0x9f, 0xbf, 0xf4, 0x8f, 0xbf, 0xbf]), 7, 'U+D7FF and U+10FFFF are fine');
    assert.throws(() => decodeText(Uint8Array.from([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0xed, 0xa0, 0x80]), 'x.txt'), /x\.txt is not valid UTF-8 \(first bad byte at offset 6\)/);
    assert.throws(() => decodeText(Uint8Array.from([0x61, 0x62, 0xe0, 0x80, 0x80, 0x63, 0x64]), 'y.txt'), /first bad byte at offset 2\)/);
  });

  it('agrees with the platform\'s strict decoder on 20,000 random byte strings: well formed up to the offset, and only there', () => {
    let seed = 12345;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    // bytes drawn mostly from UTF-8's interesting ranges: ASCII, continuations, every lead byte
    const pick = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
    const strict = new TextDecoder('utf-8', { fatal: true });
    const decodes = (b: Uint8Array): boolean => { try { strict.decode(b); return true; } catch { return false; } };
    for (let k = 0; k < 20_000; k++) {
      const b = Uint8Array.from({ length: 1 + (next() % 8) }, () => pick[next() % pick.length]!);
      const at = firstInvalidUtf8(b);
      assert.equal(at === b.length, decodes(b), `${Array.from(b, (x) => x.toString(16))}: offset ${at}`);
      assert.ok(decodes(b.subarray(0, at)), `${Array.from(b, (x) => x.toString(16))}: the bytes before ${at} are well formed`);
    }
  });

  it('a text longer than a JavaScript string can be: refused by size with the reason, also when joined from pieces', () => {
    assert.throws(() => checkTextLength(MAX_TEXT_LENGTH + 1, 'big.txt'),
      (e: unknown) => e instanceof GatescopeError && /big\.txt holds more text than one JavaScript string can \(536,870,888 UTF-16 units/.test(e.message));
    checkTextLength(MAX_TEXT_LENGTH, 'just.txt');
    // two 270 MB files (only their lengths are read before the refusal)
    const pieces = [{ length: 270e6 }, { length: 270e6 }] as unknown as string[];
    assert.throws(() => joinPieces(pieces, 'newline-if-missing'), /the text joined from 2 pieces holds more text than one JavaScript string can/);
  });
});

describe('the size of a JSON trace, known before tracing (issue 14 item 5)', () => {
  it('jsonNumbersPerChar is exactly what a trace of each cell writes per character', () => {
    for (const cell of CELL_TYPES) {
      const run = prepareRun('abcabd'.repeat(10), { ...DEFAULT_TRAIN_OPTIONS, cell, hidden: 5, embed: 3, layers: 2, seq: 8, batch: 2, valFrac: 0 });
      const tr = traceTokens(run.net, Int32Array.from(run.vocab.encode('abcab')));
      const c = run.net.cfg;
      assert.equal(jsonNumbersPerChar(c.vocabSize, c.layers, c.hidden, isPlainRnn(cell) ? 0 : run.net.gates, cell === 'lstm') * 5, jsonNumbers(tr), cell);
    }
    assert.throws(() => checkJsonSize(1000, 65_536 + 50, 65_536), (e: unknown) => e instanceof GatescopeError && /trace at most 487 characters/.test(e.message));
    checkJsonSize(488, 65_536, 65_536);
  });
});

describe('the regression corpus of hostile model files (test/fixtures/hostile, generate.ts)', () => {
  const dir = path.join(__dirname, '../../fixtures/hostile');
  const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<string, string>;

  it('holds every file generate.ts writes, and each is refused with its message', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    assert.deepEqual(files, Object.keys(expected).sort());
    assert.ok(files.length >= 13);
    for (const f of files) {
      let caught: unknown;
      try { decodeModelFile(new Uint8Array(readFileSync(path.join(dir, f)))); } catch (e) { caught = e; }
      assert.ok(caught instanceof GatescopeError && caught.code === 'bad-model-file', `${f}: ${String(caught)}`);
      assert.ok(caught.message.startsWith(expected[f]!), `${f}: ${caught.message}`);
    }
  });
});
