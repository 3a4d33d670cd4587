import { GatescopeError } from './errors';
import { BUILTIN_FEATURES, LANGS, type FeatureKind, type FeatureSpec, type Lang } from './types';
export { BUILTIN_FEATURES, LANGS, type FeatureKind, type FeatureSpec, type Lang };

/**
 * Per-character features of a text, to find the units that track them (Karpathy, Johnson & Fei-Fei 2015: cells
 * that count the column, follow bracket depth, switch on inside quotes and comments). The value at position t is
 * the feature after reading character t; positions are code points, as the model's tokens are.
 *
 * Dimension legend: T characters.
 */

/** Whether a feature takes only the values 0 and 1 (then the mean of a unit inside and outside is reported). */
export function isBinary(spec: FeatureSpec): boolean {
  return spec.kind === 'string' || spec.kind === 'comment' || spec.kind === 'regex' || spec.kind === 'ranges';
}

/** A readable name: `column`, `depth (python)`, `regex /…/`, `ranges 3:9,12:20`. */
export function featureName(spec: FeatureSpec): string {
  switch (spec.kind) {
    case 'depth': case 'string': case 'comment': return `${spec.kind} (${spec.lang})`;
    case 'regex': return `regex /${spec.source}/`;
    case 'ranges': return `ranges ${spec.ranges.map(([a, b]) => `${a}:${b}`).join(',')}`;
    default: return spec.kind;
  }
}

/** The language of a file from its name's extension; `plain` when unknown. */
export function langOfFile(name: string): Lang {
  const ext = /\.([^./\\]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';
  if (['py', 'pyi', 'pyw'].includes(ext)) return 'python';
  if (['c', 'h', 'cc', 'cpp', 'cxx', 'hpp', 'hh', 'java', 'cs', 'go', 'rs', 'swift', 'kt', 'scala'].includes(ext)) return 'c';
  if (['js', 'mjs', 'cjs', 'ts', 'mts', 'cts', 'jsx', 'tsx'].includes(ext)) return 'js';
  if (['sh', 'bash', 'zsh', 'ksh'].includes(ext)) return 'shell';
  return 'plain';
}

/** Parses `a:b,c:d` (half-open, 0-based code-point positions) and checks the ranges lie in a T-character text. */
export function parseRanges(s: string, T: number): [number, number][] {
  const out: [number, number][] = [];
  for (const part of s.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^(\d+):(\d+)$/.exec(part);
    if (!m) throw new GatescopeError(`a range is start:end (0-based, end excluded), not ${JSON.stringify(part)}`);
    const a = Number(m[1]), b = Number(m[2]);
    if (b <= a) throw new GatescopeError(`the range ${part} is empty: its end must be after its start`);
    if (b > T) throw new GatescopeError(`the range ${part} ends after the text, which has ${T} characters`);
    out.push([a, b]);
  }
  if (out.length === 0) throw new GatescopeError('no ranges given: write them as start:end,start:end');
  return out;
}

/** The feature's value at every position of `chars` (one code point each). */
export function computeFeature(chars: readonly string[], spec: FeatureSpec): Float64Array {
  const T = chars.length;
  const x = new Float64Array(T);
  switch (spec.kind) {
    case 'column': {
      let col = 0;
      for (let t = 0; t < T; t++) {
        x[t] = col;
        col = chars[t] === '\n' ? 0 : col + 1;
      }
      return x;
    }
    case 'line-length':
    case 'indent': {
      let start = 0;
      for (let t = 0; t <= T; t++) {
        if (t < T && chars[t] !== '\n') continue;
        // the line is [start, t]; its break is \n at t, with a \r before it
        const end = t < T && t > start && chars[t - 1] === '\r' ? t - 1 : t;
        let v = end - start;
        if (spec.kind === 'indent') {
          v = 0;
          while (start + v < end && (chars[start + v] === ' ' || chars[start + v] === '\t')) v++;
        }
        x.fill(v, start, Math.min(t + 1, T));
        start = t + 1;
      }
      return x;
    }
    case 'depth':
    case 'string':
    case 'comment': {
      const cls = lexClasses(chars, spec.lang);
      if (spec.kind !== 'depth') {
        const want = spec.kind === 'string' ? STRING : COMMENT;
        for (let t = 0; t < T; t++) x[t] = cls[t] === want ? 1 : 0;
        return x;
      }
      let depth = 0;
      for (let t = 0; t < T; t++) {
        if (cls[t] === CODE) {
          const c = chars[t];
          if (c === '(' || c === '[' || c === '{') depth++;
          else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
        }
        x[t] = depth;
      }
      return x;
    }
    case 'regex': {
      let re: RegExp;
      try {
        re = new RegExp(spec.source, 'gmu');
      } catch (e) {
        throw new GatescopeError(`the regular expression is not valid: ${(e as Error).message}`);
      }
      const text = chars.join('');
      // UTF-16 offset → code-point position
      const pos = new Int32Array(text.length + 1);
      for (let t = 0, u = 0; t < T; t++) {
        for (let k = 0; k < chars[t]!.length; k++) pos[u + k] = t;
        u += chars[t]!.length;
        pos[u] = t + 1;
      }
      for (const m of text.matchAll(re)) {
        const a = pos[m.index!]!, b = pos[m.index! + m[0].length]!;
        x.fill(1, a, b);
      }
      return x;
    }
    case 'ranges':
      for (const [a, b] of spec.ranges) {
        if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b > a && b <= T)) {
          throw new GatescopeError(`the range ${a}:${b} is not inside the text, which has ${T} characters`);
        }
        x.fill(1, a, b);
      }
      return x;
  }
}

// ---- a small lexer: which characters are code, string or comment ----------------------------------------------

export const CODE = 0, STRING = 1, COMMENT = 2;

/**
 * The class of every character. Rules per language (documented in the README's "Finding interpretable cells"):
 * - python: `#` to the end of the line; strings '…', "…", '''…''', """…""" (a one-quote string also ends at the
 *   end of its line), backslash escapes;
 * - c: `//` to the end of the line, `/* … *\/`; strings '…' and "…" with backslash escapes, ending at the line's end;
 * - js: as c, plus template literals `…` (across lines; `${…}` inside them counted as string);
 * - shell: `#` at the start of a word to the end of the line; '…' (no escapes, across lines), "…" (escapes);
 * - plain: everything is code.
 */
export function lexClasses(chars: readonly string[], lang: Lang): Uint8Array {
  const T = chars.length;
  const cls = new Uint8Array(T);
  if (lang === 'plain') return cls;
  let t = 0;
  const mark = (from: number, to: number, c: number): void => { cls.fill(c, from, Math.min(to, T)); };
  const toEol = (from: number): number => { let u = from; while (u < T && chars[u] !== '\n') u++; return u; };
  /** End (exclusive) of a quoted string opened at `from` by `q` (q.length 1 or 3). */
  const stringEnd = (from: number, q: string, escapes: boolean, multiline: boolean): number => {
    let u = from + q.length;
    while (u < T) {
      const c = chars[u]!;
      if (escapes && c === '\\') { u += 2; continue; }
      if (c === '\n' && !multiline) return u;
      if (q.length === 1 ? c === q : c === q[0] && chars[u + 1] === q[0] && chars[u + 2] === q[0]) return u + q.length;
      u++;
    }
    return T;
  };
  while (t < T) {
    const c = chars[t]!, next = chars[t + 1];
    let end = -1, kind = CODE;
    if (lang === 'python') {
      if (c === '#') { end = toEol(t); kind = COMMENT; }
      else if (c === '"' || c === "'") {
        const triple = next === c && chars[t + 2] === c;
        end = stringEnd(t, triple ? c + c + c : c, true, triple);
        kind = STRING;
      }
    } else if (lang === 'c' || lang === 'js') {
      if (c === '/' && next === '/') { end = toEol(t); kind = COMMENT; }
      else if (c === '/' && next === '*') {
        let u = t + 2;
        while (u < T && !(chars[u] === '*' && chars[u + 1] === '/')) u++;
        end = Math.min(T, u + 2); kind = COMMENT;
      } else if (c === '"' || c === "'") { end = stringEnd(t, c, true, false); kind = STRING; }
      else if (c === '`' && lang === 'js') { end = stringEnd(t, c, true, true); kind = STRING; }
    } else if (lang === 'shell') {
      const wordStart = t === 0 || /\s/.test(chars[t - 1]!);
      if (c === '#' && wordStart) { end = toEol(t); kind = COMMENT; }
      else if (c === "'") { end = stringEnd(t, c, false, true); kind = STRING; }
      else if (c === '"') { end = stringEnd(t, c, true, true); kind = STRING; }
    }
    if (end < 0) { t++; continue; }
    mark(t, end, kind);
    t = Math.max(end, t + 1);
  }
  return cls;
}
