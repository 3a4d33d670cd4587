import { ExprError, MAX_EXPRESSION_LENGTH, thousands } from './error';

/** The expression language's tokenizer (see parse.ts for the grammar). */

type TokenKind = 'num' | 'str' | 'name' | 'op' | 'end';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;   // the operator or name; for strings, the decoded value
  readonly value: number;  // numbers only
  readonly start: number;
  readonly end: number;
}

/** The escapes a string literal may use after a backslash. */
const ESCAPES: ReadonlyMap<string, string> = new Map([['n', '\n'], ['t', '\t'], ['r', '\r'], ['\\', '\\'], ["'", "'"], ['"', '"'], ['0', '\0']]);

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '!', '(', ')', '[', ']', ',', '.'];

export function tokenize(src: string): Token[] {
  if (src.length > MAX_EXPRESSION_LENGTH) {
    throw new ExprError(`the expression is longer than ${thousands(MAX_EXPRESSION_LENGTH)} characters (it has ${thousands(src.length)}): `
      + 'shorten it, e.g. any(c > 1) instead of c[0] > 1 || c[1] > 1 || …', MAX_EXPRESSION_LENGTH, src.length);
  }
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i))!;
      i += m[0].length;
      if (/[A-Za-z_]/.test(src[i] ?? '')) throw new ExprError(`unexpected '${src[i]}' after the number ${m[0]}`, i);
      out.push({ kind: 'num', text: m[0], value: Number(m[0]), start, end: i });
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z_0-9]*/.exec(src.slice(i))!;
      i += m[0].length;
      out.push({ kind: 'name', text: m[0], value: NaN, start, end: i });
      continue;
    }
    if (ch === "'" || ch === '"') {
      i++;
      let s = '';
      for (;;) {
        if (i >= src.length) throw new ExprError(`the string has no closing ${ch}`, start, src.length);
        const c = src[i]!;
        if (c === ch) {
          i++;
          break;
        }
        if (c === '\\') {
          const e = src[i + 1];
          const simple = e === undefined ? undefined : ESCAPES.get(e);
          if (simple !== undefined) {
            s += simple;
            i += 2;
            continue;
          }
          const u = /^\\u(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(src.slice(i));
          if (u) {
            const cp = parseInt(u[1] ?? u[2]!, 16);
            if (cp > 0x10ffff) throw new ExprError(`\\u{${u[1]}} is not a Unicode code point`, i, i + u[0].length);
            s += String.fromCodePoint(cp);
            i += u[0].length;
            continue;
          }
          throw new ExprError(`unknown escape \\${e ?? ''} (use \\n, \\t, \\r, \\\\, \\', \\" or \\u{…})`, i, i + 2);
        }
        s += c;
        i++;
      }
      out.push({ kind: 'str', text: s, value: NaN, start, end: i });
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) {
      const hint = ch === '=' ? " (compare with ==; values are set in the Variables view)" : ch === '&' || ch === '|' ? ` (use ${ch}${ch})` : '';
      throw new ExprError(`unexpected character '${ch}'${hint}`, i);
    }
    i += op.length;
    out.push({ kind: 'op', text: op, value: NaN, start, end: i });
  }
  out.push({ kind: 'end', text: '', value: NaN, start: src.length, end: src.length + 1 });
  return out;
}

/** The syntax tree; every node knows the span it came from, for error messages. */
