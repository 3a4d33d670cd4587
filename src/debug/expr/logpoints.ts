import { ExprError } from './error';
import { evaluate, type ExprScope } from './evaluate';
import { formatValue } from './format';
import { parseExpression, type Expr } from './parse';

export interface LogTemplate {
  readonly parts: readonly (string | { readonly source: string; readonly expr: Expr })[];
}

export function parseLogMessage(msg: string): LogTemplate {
  const parts: (string | { source: string; expr: Expr })[] = [];
  let text = '';
  let i = 0;
  while (i < msg.length) {
    const ch = msg[i]!;
    if ((ch === '{' || ch === '}') && msg[i + 1] === ch) {
      text += ch;
      i += 2;
      continue;
    }
    if (ch === '}') throw new ExprError("unmatched '}' in the log message (write }} for a literal brace)", i);
    if (ch !== '{') {
      text += ch;
      i++;
      continue;
    }
    const close = findClosingBrace(msg, i + 1);
    if (close < 0) throw new ExprError("'{' has no closing '}' in the log message (write {{ for a literal brace)", i);
    const source = msg.slice(i + 1, close);
    try {
      parts.push(text, { source, expr: parseExpression(source) });
    } catch (err) {
      if (err instanceof ExprError) throw new ExprError(err.reason, err.start + i + 1, err.end + i + 1);
      throw err;
    }
    text = '';
    i = close + 1;
  }
  if (text) parts.push(text);
  return { parts };
}

/** The '}' that ends a hole, skipping braces inside quoted strings such as {p('}')}. */
function findClosingBrace(s: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '}') {
      return i;
    }
  }
  return -1;
}

export function renderLogMessage(t: LogTemplate, scope: ExprScope): string {
  return t.parts.map((p) => {
    if (typeof p === 'string') return p;
    try {
      return formatValue(evaluate(p.expr, scope));
    } catch (err) {
      return `<${p.source}: ${(err as Error).message}>`;
    }
  }).join('');
}

/** A hit count condition: "5" or "== 5" (the 5th hit), ">= 5", "> 5", "< 5", "<= 5", "% 10" (every 10th). */
