import { ExprError } from './error';

export interface HitCondition {
  readonly op: '==' | '>=' | '>' | '<' | '<=' | '%';
  readonly n: number;
}

export function parseHitCondition(s: string): HitCondition {
  const m = /^\s*(==|=|>=|>|<=|<|%)?\s*(\d+)\s*$/.exec(s);
  if (!m) throw new ExprError(`the hit count ${JSON.stringify(s)} is not a number, optionally after ==, >, >=, <, <= or % (e.g. "5", ">= 5", "% 10")`, 0, s.length);
  const op = (m[1] === undefined || m[1] === '=' ? '==' : m[1]) as HitCondition['op'];
  const n = Number(m[2]);
  if (op === '%' && n === 0) throw new ExprError('% 0 never matches: use % 1 for every hit', 0, s.length);
  return { op, n };
}

export function hitMatches(h: HitCondition, hits: number): boolean {
  switch (h.op) {
    case '==': return hits === h.n;
    case '>=': return hits >= h.n;
    case '>': return hits > h.n;
    case '<': return hits < h.n;
    case '<=': return hits <= h.n;
    case '%': return hits % h.n === 0;
  }
}
