import { GatescopeError } from './errors';
import { codePointLength } from './text';

/** Token ids of a text; the narrowest type that fits the vocabulary. */
export type TokenArray = Uint8Array | Uint16Array | Int32Array;

/**
 * The largest vocabulary: 65,536 characters, more than any character-level corpus uses (the whole of Python's
 * standard library has under 300). Memory grows with it: a trace keeps every position's distribution over the
 * vocabulary (T × V floats).
 */
export const MAX_VOCAB = 65_536;

/** The longest special token, in code points (`<|endoftext|>` is 13). */
export const MAX_TOKEN_LENGTH = 32;

/** A UTF-16 surrogate without its other half: no UTF-8 text holds one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A vocabulary of Unicode code points (not UTF-16 units): an emoji outside the BMP is one token, and
 * decode(encode(text)) === text for every text whose characters are in the vocabulary.
 * Token id = index in `chars`; the order is the sorted order of code points when built from text. A model from
 * elsewhere may also have special tokens of several code points (`<pad>`, `<unk>`): text never encodes to them
 * (it is read one code point at a time), and they are shown as written where the model predicts them.
 */
export class Vocabulary {
  private readonly index = new Map<string, number>();
  /** Entries of more than one code point: special tokens (`<pad>`, `<unk>`), which no text encodes to. */
  readonly specials: number;

  constructor(readonly chars: readonly string[]) {
    if (chars.length === 0) throw new GatescopeError('the vocabulary is empty');
    if (chars.length > MAX_VOCAB) {
      throw new GatescopeError(`the vocabulary has ${chars.length.toLocaleString('en-US')} characters, more than the ${MAX_VOCAB.toLocaleString('en-US')} a model may have`, 'bad-model-file');
    }
    chars.forEach((ch, id) => {
      const length = typeof ch === 'string' ? [...ch].length : 0;
      if (typeof ch !== 'string' || length === 0 || length > MAX_TOKEN_LENGTH) {
        throw new GatescopeError(`vocabulary entry ${id} is ${JSON.stringify(ch)}, not a character (one code point) or a special token of up to ${MAX_TOKEN_LENGTH}`, 'bad-model-file');
      }
      // a lone surrogate is no character: no UTF-8 text holds one
      if (LONE_SURROGATE.test(ch)) {
        throw new GatescopeError(`vocabulary entry ${id} ${JSON.stringify(ch)} holds a lone surrogate, which no text holds`, 'bad-model-file');
      }
      if (this.index.has(ch)) {
        throw new GatescopeError(`vocabulary entry ${id} ${JSON.stringify(ch)} appears twice`, 'bad-model-file');
      }
      this.index.set(ch, id);
    });
    this.specials = chars.filter((ch) => [...ch].length > 1).length;
  }

  /** Sorted unique code points of a text. */
  static fromText(text: string): Vocabulary {
    const set = new Set<number>();
    for (const ch of text) set.add(ch.codePointAt(0)!);
    if (set.size > MAX_VOCAB) {
      throw new GatescopeError(`the text has ${set.size.toLocaleString('en-US')} different characters, more than the ${MAX_VOCAB.toLocaleString('en-US')} a model may have: ` +
        'train on text in fewer scripts, or on a part of it', 'invalid-input');
    }
    return new Vocabulary([...set].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp)));
  }

  get size(): number {
    return this.chars.length;
  }

  idOf(ch: string): number | undefined {
    return this.index.get(ch);
  }

  has(ch: string): boolean {
    return this.index.has(ch);
  }

  /** Characters of `text` outside the vocabulary, each once, in order of first appearance. */
  unknownChars(text: string): string[] {
    const seen = new Set<string>();
    for (const ch of text) if (!this.index.has(ch)) seen.add(ch);
    return [...seen];
  }

  /** Token ids of `text`; unknown characters are an error that lists them. */
  encode(text: string): Int32Array {
    const unknown = this.unknownChars(text);
    if (unknown.length > 0) {
      const shown = unknown.slice(0, 20).map(describeChar).join(', ');
      const more = unknown.length > 20 ? ` and ${unknown.length - 20} more` : '';
      throw new GatescopeError(
        `${unknown.length} character${unknown.length === 1 ? ' is' : 's are'} not in the model's vocabulary: ${shown}${more}. ` +
          'Remove them from the input, or train a model on text that contains them.',
        'unknown-chars',
      );
    }
    const ids: number[] = [];
    for (const ch of text) ids.push(this.index.get(ch)!);
    return Int32Array.from(ids);
  }

  /**
   * Token ids in the smallest array that holds them (1 byte per character for up to 256 distinct
   * characters): a 100 MB text costs 100 MB of tokens, not 400.
   */
  encodeCompact(text: string): TokenArray {
    const unknown = this.unknownChars(text);
    if (unknown.length > 0) this.encode(text); // throws the message that lists them
    const n = codePointLength(text);
    const ids: TokenArray = this.size <= 256 ? new Uint8Array(n) : this.size <= 65536 ? new Uint16Array(n) : new Int32Array(n);
    let k = 0;
    for (const ch of text) ids[k++] = this.index.get(ch)!;
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let k = 0; k < ids.length; k++) s += this.chars[ids[k]!]!;
    return s;
  }
}

/** A character as a person can read it in an error message: 'x' (U+0078), or a named control character. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const hex = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  const names: Record<number, string> = { 9: 'tab', 10: 'newline', 13: 'carriage return', 32: 'space' };
  if (names[cp] !== undefined) return `${names[cp]} (${hex})`;
  if (cp < 32 || (cp >= 0x7f && cp < 0xa0)) return `control character ${hex}`;
  return `'${ch}' (${hex})`;
}

