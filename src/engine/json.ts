/**
 * JSON from an untrusted file (a safetensors header, a model's metadata): one iterative pass over the text refuses
 * what no valid file holds — nesting deeper than the format has, arrays longer than it allows, too many keys, too
 * long strings, a key twice in one object (JSON.parse would silently keep the last) — before JSON.parse or any
 * recursive code (validators, error messages) sees it. Linear in the text's length; no recursion.
 */

export interface JsonLimits {
  /** Containers nested at most this deep (the outermost object or array is level 1). */
  readonly maxDepth: number;
  /** Elements of one array at most. */
  readonly maxArrayLength: number;
  /** Keys of all objects together at most. */
  readonly maxKeys: number;
  /** UTF-16 code units of one string (key or value) at most, quotes and escapes included. */
  readonly maxStringLength: number;
}

interface Frame {
  readonly array: boolean;
  /** Commas so far (an array has one element more). */
  commas: number;
  /** Keys so far (objects). */
  readonly keys: Set<string> | null;
}

/**
 * Parses `text` after checking it against `limits`; every refusal calls `fail` with the reason as a phrase
 * ("nests deeper than 3 levels"), which the caller words for its format. Text that is not JSON at all is left to
 * JSON.parse, whose SyntaxError the caller handles as before.
 */
export function parseUntrustedJson(text: string, limits: JsonLimits, fail: (reason: string) => never): unknown {
  const stack: Frame[] = [];
  let keys = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i;
      for (i++; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) i++;
        else if (c === 0x22) break;
      }
      if (i - start + 1 > limits.maxStringLength) fail(`holds a string of ${i - start + 1} characters (at most ${limits.maxStringLength})`);
      // a key is a string followed by a colon
      let j = i + 1;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      const top = stack[stack.length - 1];
      if (j < n && text.charCodeAt(j) === 0x3a /* : */ && top?.keys) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          continue; // not JSON: JSON.parse below says so
        }
        if (top.keys.has(key)) fail(`has the key ${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key)} twice in one object`);
        top.keys.add(key);
        if (++keys > limits.maxKeys) fail(`has more than ${limits.maxKeys} keys`);
      }
    } else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      const array = ch === 0x5b;
      stack.push({ array, commas: 0, keys: array ? null : new Set() });
      if (stack.length > limits.maxDepth) fail(`nests deeper than ${limits.maxDepth} level${limits.maxDepth > 1 ? 's' : ''}`);
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) {
      stack.pop();
    } else if (ch === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.array && ++top.commas + 1 > limits.maxArrayLength) fail(`holds an array of more than ${limits.maxArrayLength} elements`);
    }
  }
  return JSON.parse(text) as unknown;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
