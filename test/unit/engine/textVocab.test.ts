import * as assert from 'node:assert/strict';
import { GatescopeError } from '../../../src/engine/errors';
import { clampToCodePoint, codePointLength, codePointStarts, countCodePoints, decodeText, isPairAt, utf8Boundary } from '../../../src/engine/text';
import { Vocabulary } from '../../../src/engine/vocab';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const code = (fn: () => unknown): string | undefined => {
  try { fn(); } catch (e) { assert.ok(e instanceof GatescopeError, `not a GatescopeError: ${e}`); return e.code; }
  return undefined;
};

describe('vocabulary of code points', () => {
  const text = 'naïve café 🙂 — 日本語 👩‍👩‍👧 tab\there\r\n';

  it('round-trips any text exactly, an emoji being one token', () => {
    const v = Vocabulary.fromText(text);
    assert.equal(v.decode(v.encode(text)), text);
    assert.equal(v.decode(v.encodeCompact(text)), text);
    assert.equal(v.encode('🙂').length, 1);
    assert.equal(v.encode(text).length, codePointLength(text));
    assert.equal(codePointLength(text), [...text].length);
  });

  it('is sorted by code point and unique', () => {
    const v = Vocabulary.fromText('cba🙂a');
    assert.deepEqual(v.chars, ['a', 'b', 'c', '🙂']);
  });

  it('picks the narrowest token array', () => {
    assert.ok(Vocabulary.fromText('abc').encodeCompact('abc') instanceof Uint8Array);
    const wide = Vocabulary.fromText(Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join(''));
    assert.ok(wide.encodeCompact(wide.chars.join('')) instanceof Uint16Array);
  });

  it('lists the unknown characters, named readably', () => {
    const v = Vocabulary.fromText('abc');
    assert.throws(() => v.encode('abxd\tx🙂'), (e: GatescopeError) =>
      e.code === 'unknown-chars' && /4 characters are not in the model's vocabulary/.test(e.message) &&
      e.message.includes("'x' (U+0078)") && e.message.includes('tab (U+0009)') && e.message.includes('U+1F642'));
    assert.equal(code(() => v.encodeCompact('zz')), 'unknown-chars');
  });

  it('takes special tokens of several code points (<pad>), which no text encodes to; refuses empty, overlong, broken or duplicate entries', () => {
    const v = new Vocabulary(['<pad>', 'a', '<', 'p', '🙂<unk>']);
    assert.equal(v.specials, 2);
    assert.deepEqual(Array.from(v.encode('<pa')), [2, 3, 1], 'text is read one code point at a time');
    assert.equal(v.decode([0, 1]), '<pad>a', 'a special token shows as written');
    assert.equal(code(() => new Vocabulary(['a', ''])), 'bad-model-file');
    assert.equal(code(() => new Vocabulary(['a', 'x'.repeat(33)])), 'bad-model-file');
    assert.equal(code(() => new Vocabulary(['a', '<\ud800>'])), 'bad-model-file');
    assert.equal(code(() => new Vocabulary(['a', '<\udc00>'])), 'bad-model-file');
    assert.equal(code(() => new Vocabulary(['a', 'a'])), 'bad-model-file');
    assert.equal(code(() => new Vocabulary([])), 'invalid-input');
  });
});

describe('decoding input files', () => {
  it('accepts UTF-8 and drops a byte-order mark', () => {
    assert.equal(decodeText(utf8('\uFEFFhé🙂'), 'f'), 'hé🙂');
  });
  it('refuses an empty file', () => {
    assert.throws(() => decodeText(new Uint8Array(0), 'a.txt'), /a\.txt is empty/);
    assert.throws(() => decodeText(utf8('\uFEFF'), 'a.txt'), /a\.txt is empty/);
  });
  it('refuses binary data, saying where the NUL byte is', () => {
    assert.throws(() => decodeText(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]), 'x.zip'), /x\.zip is not a text file \(it contains a NUL byte at offset 4\)/);
  });
  it('refuses invalid UTF-8, saying where', () => {
    assert.throws(() => decodeText(new Uint8Array([0x61, 0x62, 0xe9, 0x61]), 'latin1.txt'), /latin1\.txt is not valid UTF-8 \(first bad byte at offset 2\)/);
    assert.throws(() => decodeText(new Uint8Array([0x61, 0xf0, 0x9f]), 'cut.txt'), /offset 1/);
  });
});

describe('cutting UTF-8 at a character boundary', () => {
  it('never splits a sequence, and every cut decodes', () => {
    const bytes = utf8('aé🙂日b');
    const cuts = Array.from({ length: bytes.length + 2 }, (_, n) => utf8Boundary(bytes, n));
    assert.deepEqual(cuts, [0, 1, 1, 3, 3, 3, 3, 7, 7, 7, 10, 11, 11]);
    for (const k of cuts) assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, k)));
  });
});

describe('text coordinates: code points against UTF-16 units (one module for the inspector, the debugger, the trace input)', () => {
  it('pairs, counts, starts and clamping, with emoji, lone surrogates and ranges that cut a pair', () => {
    const s = 'a🙂b\ud800c\udc00🙂';
    // units:   a 🙂(2) b \ud800 c \udc00 🙂(2)  = 9 units, 7 code points (lone surrogates count one each)
    assert.equal(s.length, 9);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => isPairAt(s, i)), [false, true, false, false, false, false, false, true]);
    assert.equal(isPairAt(s, 1, 2), false, 'a pair cut by the range end is not a pair');
    assert.equal(countCodePoints(s), 7);
    assert.equal(codePointLength(s), 7);
    assert.equal(countCodePoints(s, 1, 2), 1, 'half a pair is one');
    assert.deepEqual(Array.from(codePointStarts(s)), [0, 1, 3, 4, 5, 6, 7, 9]);
    assert.deepEqual(Array.from(codePointStarts('')), [0]);
    assert.equal(clampToCodePoint(s, 2), 1, 'inside the emoji: onto its start');
    assert.equal(clampToCodePoint(s, 6), 6, 'a lone low surrogate after a non-surrogate stays');
    assert.equal(clampToCodePoint(s, 99), 9);
    assert.equal(clampToCodePoint(s, -3), 0);
  });
});
