import { GatescopeError } from './errors';

/** The longest string JavaScript holds (V8: 2^29 − 24 UTF-16 units): no text may be longer. */
export const MAX_TEXT_LENGTH = 2 ** 29 - 24;

/** Refuses a text of `length` UTF-16 units (joined from pieces, say) that no JavaScript string can hold. */
export function checkTextLength(length: number, source: string): void {
  if (length > MAX_TEXT_LENGTH) throw tooLong(source);
}

function tooLong(source: string): GatescopeError {
  return new GatescopeError(`${source} holds more text than one JavaScript string can (${MAX_TEXT_LENGTH.toLocaleString('en-US')} ` +
    'UTF-16 units, about 512 MB of ASCII): train on a part of it', 'invalid-input');
}

/**
 * Turns file bytes into text for training or tracing, refusing what is not text: an empty file, NUL bytes
 * (binary), or bytes that are not valid UTF-8. A leading byte-order mark is dropped. `source` names the
 * input in messages (a file name, "the selection").
 */
export function decodeText(bytes: Uint8Array, source: string): string {
  if (bytes.length === 0) {
    throw new GatescopeError(`${source} is empty: there is nothing to learn from`, 'not-text');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new GatescopeError(`${source} is not a text file (it contains a NUL byte at offset ${nul}); choose a UTF-8 text file`, 'not-text');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    // valid UTF-8 that does not decode is too long for a string (a UTF-8 byte is at most one UTF-16 unit)
    if (at === bytes.length) throw tooLong(source);
    throw new GatescopeError(`${source} is not valid UTF-8 (first bad byte at offset ${at}); convert it to UTF-8 first`, 'not-text');
  }
  if (text.length === 0) throw new GatescopeError(`${source} is empty: there is nothing to learn from`, 'not-text');
  return text;
}

// ---- text coordinates: code points (the model's characters, timesteps) and UTF-16 units (editors, strings) ----
// The one place that knows a surrogate pair; the inspector's offsets, the debugger's text map and the trace input
// build on these.

/** Whether a surrogate pair (one code point, two UTF-16 units) starts at UTF-16 offset i, within [0, end). */
export function isPairAt(s: string, i: number, end = s.length): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < end && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
}

/** Code points in s[from, to) (characters as the vocabulary sees them), not UTF-16 units. */
export function countCodePoints(s: string, from = 0, to = s.length): number {
  let n = 0;
  for (let i = from; i < to; i += isPairAt(s, i, to) ? 2 : 1) n++;
  return n;
}

/** Counts code points of the whole text. */
export function codePointLength(text: string): number {
  return countCodePoints(text);
}

/** The UTF-16 offset where each code point of `text` starts, and text.length last: (T + 1). */
export function codePointStarts(text: string): Uint32Array {
  const starts = new Uint32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length; i += isPairAt(text, i) ? 2 : 1) starts[n++] = i;
  starts[n] = text.length;
  return starts.slice(0, n + 1);
}

/** An offset moved off the second half of a surrogate pair (onto the pair's start), clamped to [0, s.length]. */
export function clampToCodePoint(s: string, offset: number): number {
  const o = Math.max(0, Math.min(s.length, offset));
  const c = s.charCodeAt(o);
  return o > 0 && c >= 0xdc00 && c <= 0xdfff && (s.charCodeAt(o - 1) & 0xfc00) === 0xd800 ? o - 1 : o;
}

/**
 * The offset of the first byte that starts no well-formed UTF-8 sequence (b.length when all are well formed), as
 * Unicode's Table 3-7 defines them: the second byte's range is narrower after E0 (no overlong forms), ED (no
 * surrogates), F0 (no overlong forms) and F4 (nothing beyond U+10FFFF).
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const x = b[i]!;
    const n = x < 0x80 ? 0 : x >= 0xc2 && x <= 0xdf ? 1 : x >= 0xe0 && x <= 0xef ? 2 : x >= 0xf0 && x <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    if (n > 0) {
      const lo = x === 0xe0 ? 0xa0 : x === 0xf0 ? 0x90 : 0x80;
      const hi = x === 0xed ? 0x9f : x === 0xf4 ? 0x8f : 0xbf;
      const y = b[i + 1];
      if (y === undefined || y < lo || y > hi) return i;
    }
    for (let k = 2; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return i;
}

/** The largest k ≤ n at which bytes can be cut without splitting a UTF-8 sequence (bytes[k] is not a continuation byte). */
export function utf8Boundary(bytes: Uint8Array, n: number): number {
  let k = Math.min(n, bytes.length);
  while (k > 0 && k < bytes.length && (bytes[k]! & 0xc0) === 0x80) k--;
  return k;
}
