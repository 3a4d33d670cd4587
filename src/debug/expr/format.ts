import type { Value, Vector } from './evaluate';
import { LayerRef } from './evaluate';

/** How the debugger shows values: numbers, characters, vectors. */

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const f = Math.fround(x);
  for (let p = 1; p < 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return String(s);
  }
  return String(Number(f.toPrecision(9)));
}

const QUOTED: ReadonlyMap<string, string> = new Map([['\n', '\\n'], ['\t', '\\t'], ['\r', '\\r'], ['\\', '\\\\'], ["'", "\\'"], ['\0', '\\0']]);

/** A character as an expression literal: 'e', '\n', '\''. */
export function quoteChar(ch: string): string {
  let s = '';
  for (const c of ch) {
    const cp = c.codePointAt(0)!;
    s += QUOTED.get(c) ?? (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ? `\\u{${cp.toString(16)}}` : c);
  }
  return `'${s}'`;
}

/** One line for a value in the Variables view, a hover or the REPL. */
export function formatValue(v: Value): string {
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return quoteChar(v);
  if (v instanceof LayerRef) return `layer ${v.index}`;
  return summarizeVector(v);
}

/** "(16) min -0.93 max 0.99 mean 0.0412" — a vector's shape at a glance; the units are its children. */
export function summarizeVector(v: Vector): string {
  if (v.length === 0) return '(0)';
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (let j = 0; j < v.length; j++) {
    const x = v[j]!;
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
    sum += x;
  }
  const short = (x: number): string => String(Number(x.toPrecision(3)));
  return `(${v.length}) min ${short(lo)} max ${short(hi)} mean ${short(sum / v.length)}`;
}

/**
 * A logpoint message: text with {expression} holes ({{ and }} for literal braces). Parsed once when the
 * breakpoint is set, so a bad expression is reported at the breakpoint, with its column in the message.
 */
