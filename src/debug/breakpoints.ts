import { ExprError } from './expr/error';
import { evaluateCondition, type ExprScope } from './expr/evaluate';
import { hitMatches, parseHitCondition, type HitCondition } from './expr/hitConditions';
import { parseLogMessage, renderLogMessage, type LogTemplate } from './expr/logpoints';
import { parseExpression, type Expr } from './expr/parse';
import type { TextMap } from './textmap';

/**
 * Breakpoints over the text. Each character is one "execution" of its line, so:
 *  - a line breakpoint without a condition stops when the sequence reaches the line (its first character);
 *  - with a condition, it stops at every character of the line where the condition holds;
 *  - an expression breakpoint (DAP's function breakpoint: its name is the expression) stops at any t where
 *    the expression holds, anywhere in the text;
 *  - the hit count counts the characters where the breakpoint applies; a logpoint prints instead of stopping.
 * Hits are remembered by t, so stepping back rewinds them and replaying forward counts the same hits again.
 */

export interface LineBreakpointSpec {
  readonly line: number; // document line, 0-based
  readonly condition?: string;
  readonly hitCondition?: string;
  readonly logMessage?: string;
}

export interface ExpressionBreakpointSpec {
  readonly expression: string;
  readonly condition?: string;
  readonly hitCondition?: string;
}

export interface BreakpointStatus {
  readonly id: number;
  readonly verified: boolean;
  readonly line?: number;
  readonly message?: string;
}

export interface Breakpoint {
  readonly id: number;
  readonly kind: 'line' | 'expression';
  readonly line: number | null;
  /** What the user typed, for messages: "line 3", "max(abs(c)) > 3". */
  readonly label: string;
  readonly conditions: readonly { readonly source: string; readonly expr: Expr }[];
  readonly hit: HitCondition | null;
  readonly log: LogTemplate | null;
  readonly hits: number[]; // the t of every hit so far, increasing
}

/** A breakpoint whose evaluation failed at t (e.g. a computed index out of range): it stops, with the message. */
export interface BreakpointFailure {
  readonly bp: Breakpoint;
  readonly message: string;
}

export interface Arrival {
  readonly stop: readonly Breakpoint[];
  readonly logs: readonly { readonly bp: Breakpoint; readonly text: string }[];
  readonly failures: readonly BreakpointFailure[];
}

/** Checks an expression against the loaded model (names, indexes, vocabulary); throws ExprError. */
export type Validate = (expr: Expr, asCondition: boolean) => void;

export class BreakpointTable {
  private nextId = 1;
  private lineBps: Breakpoint[] = [];
  private exprBps: Breakpoint[] = [];

  get all(): readonly Breakpoint[] {
    return [...this.lineBps, ...this.exprBps];
  }

  /** Replaces the line breakpoints of the stepped text. A bad expression leaves the breakpoint unverified with the reason. */
  setLineBreakpoints(specs: readonly LineBreakpointSpec[], map: TextMap | null, validate: Validate | null): BreakpointStatus[] {
    const statuses: BreakpointStatus[] = [];
    this.lineBps = [];
    for (const spec of specs) {
      const id = this.nextId++;
      const label = `line ${spec.line + 1}`;
      const fail = (message: string): void => void statuses.push({ id, verified: false, line: spec.line, message });
      if (map && map.firstTokenOnLine(spec.line) === undefined) {
        fail(`no character of the stepped text is on line ${spec.line + 1}`);
        continue;
      }
      const compiled = compile([spec.condition], spec.hitCondition, spec.logMessage, validate);
      if (typeof compiled === 'string') {
        fail(compiled);
        continue;
      }
      this.lineBps.push({ id, kind: 'line', line: spec.line, label, ...compiled, hits: [] });
      statuses.push({ id, verified: true, line: spec.line });
    }
    return statuses;
  }

  /** Replaces the expression breakpoints. */
  setExpressionBreakpoints(specs: readonly ExpressionBreakpointSpec[], validate: Validate | null): BreakpointStatus[] {
    const statuses: BreakpointStatus[] = [];
    this.exprBps = [];
    for (const spec of specs) {
      const id = this.nextId++;
      const compiled = compile([spec.expression, spec.condition], spec.hitCondition, undefined, validate);
      if (typeof compiled === 'string') {
        statuses.push({ id, verified: false, message: compiled });
        continue;
      }
      this.exprBps.push({ id, kind: 'expression', line: null, label: spec.expression, ...compiled, hits: [] });
      statuses.push({ id, verified: true });
    }
    return statuses;
  }

  /** Revalidates every breakpoint against a new text or model (after a restart); returns the ones whose status changed. */
  revalidate(map: TextMap, validate: Validate): BreakpointStatus[] {
    const changed: BreakpointStatus[] = [];
    const keep = (bp: Breakpoint): boolean => {
      let message: string | undefined;
      if (bp.line !== null && map.firstTokenOnLine(bp.line) === undefined) message = `no character of the stepped text is on line ${bp.line + 1}`;
      for (const c of bp.conditions) {
        if (message) break;
        try {
          validate(c.expr, true);
        } catch (err) {
          message = describeError(err, c.source, 'bad condition');
        }
      }
      bp.hits.length = 0;
      if (message) changed.push({ id: bp.id, verified: false, ...(bp.line !== null ? { line: bp.line } : {}), message });
      return !message;
    };
    this.lineBps = this.lineBps.filter(keep);
    this.exprBps = this.exprBps.filter(keep);
    return changed;
  }

  /**
   * The sequence arrived at t going forward: counts hits, renders logpoints, and says which breakpoints stop.
   * A condition that fails to evaluate stops, so that the problem is seen where it happens.
   */
  arrive(t: number, map: TextMap, scope: ExprScope): Arrival {
    const stop: Breakpoint[] = [];
    const logs: { bp: Breakpoint; text: string }[] = [];
    const failures: BreakpointFailure[] = [];
    for (const bp of this.all) {
      let applies: boolean;
      try {
        applies = this.applies(bp, t, map, scope);
      } catch (err) {
        failures.push({ bp, message: (err as Error).message });
        continue;
      }
      if (!applies) continue;
      if (bp.hits[bp.hits.length - 1] !== t) bp.hits.push(t);
      if (bp.hit && !hitMatches(bp.hit, bp.hits.length)) continue;
      if (bp.log) logs.push({ bp, text: renderLogMessage(bp.log, scope) });
      else stop.push(bp);
    }
    return { stop, logs, failures };
  }

  /** Going backward (reverse continue): would a breakpoint stop at t? Hit counts and logpoints do not apply. */
  wouldStop(t: number, map: TextMap, scope: ExprScope): Breakpoint[] {
    return this.all.filter((bp) => {
      if (bp.log) return false;
      try {
        return this.applies(bp, t, map, scope);
      } catch {
        return true;
      }
    });
  }

  /** Forgets hits after t (the sequence went back to t). */
  rewind(t: number): void {
    for (const bp of this.all) while (bp.hits.length > 0 && bp.hits[bp.hits.length - 1]! > t) bp.hits.pop();
  }

  resetHits(): void {
    for (const bp of this.all) bp.hits.length = 0;
  }

  private applies(bp: Breakpoint, t: number, map: TextMap, scope: ExprScope): boolean {
    if (bp.line !== null) {
      if (map.lineOf(t) !== bp.line) return false;
      if (bp.conditions.length === 0) return map.startsLine(t);
    }
    for (const c of bp.conditions) {
      try {
        if (!evaluateCondition(c.expr, scope)) return false;
      } catch (err) {
        throw new Error(describeError(err, c.source, `the condition of the breakpoint at ${bp.label} failed at t=${t}`));
      }
    }
    return true;
  }
}

function compile(conditionSources: readonly (string | undefined)[], hitCondition: string | undefined, logMessage: string | undefined,
  validate: Validate | null): Pick<Breakpoint, 'conditions' | 'hit' | 'log'> | string {
  const conditions: { source: string; expr: Expr }[] = [];
  for (const source of conditionSources) {
    if (!source?.trim()) continue;
    try {
      const expr = parseExpression(source);
      validate?.(expr, true);
      conditions.push({ source, expr });
    } catch (err) {
      return describeError(err, source, 'bad condition');
    }
  }
  let hit: HitCondition | null = null;
  if (hitCondition?.trim()) {
    try {
      hit = parseHitCondition(hitCondition);
    } catch (err) {
      return `bad hit count: ${(err as ExprError).reason ?? (err as Error).message}`;
    }
  }
  let log: LogTemplate | null = null;
  if (logMessage !== undefined && logMessage !== '') {
    try {
      log = parseLogMessage(logMessage);
      for (const p of log.parts) if (typeof p !== 'string') validate?.(p.expr, false);
    } catch (err) {
      if (!log) return describeError(err, logMessage, 'bad log message');
      // a hole that does not fit the model: its error's positions are within the hole
      const hole = log.parts.find((p) => typeof p !== 'string' && isFailing(p.expr, validate));
      return describeError(err, hole && typeof hole !== 'string' ? hole.source : logMessage, 'bad log message');
    }
  }
  return { conditions, hit, log };
}

function isFailing(expr: Expr, validate: Validate | null): boolean {
  try {
    validate?.(expr, false);
    return false;
  } catch {
    return true;
  }
}

/** "bad condition: expected ']' after the index (column 4)" plus the expression with a caret under the problem. */
export function describeError(err: unknown, source: string, prefix: string): string {
  if (err instanceof ExprError) return `${prefix}: ${err.describe(source)}`;
  return `${prefix}: ${(err as Error).message}`;
}
