/** The limits of the debugger's expression language and the error every part of it raises. */

/** Longest expression accepted, in UTF-16 code units: a condition is a line, not a program. */
export const MAX_EXPRESSION_LENGTH = 1000;
/**
 * Deepest nesting accepted; each bracket, call, unary sign, index and '.' is one level. Far above what a person
 * writes (`layer(1).o[5] > 0.9` and `max(abs(c - h)) > 1` are 2) and far below the stack: the parser uses about
 * 10 frames per level.
 */
export const MAX_NESTING = 64;

export const thousands = (n: number): string => n.toLocaleString('en-US');

/** A problem in an expression: `start`/`end` are UTF-16 offsets into the expression text. */
export class ExprError extends Error {
  constructor(readonly reason: string, readonly start: number, readonly end: number = start + 1) {
    super(reason);
    this.name = 'ExprError';
  }

  /** One line: the reason and where, e.g. `expected ']' after the index (column 9 of "f[3 < 0.1")`. */
  describe(source: string): string {
    return `${this.reason} (column ${this.start + 1} of ${JSON.stringify(source)})`;
  }

  /** Two lines for a monospace console: the expression and a caret line under the problem. */
  pointer(source: string): string {
    const width = Math.max(1, Math.min(this.end, source.length + 1) - this.start);
    return `  ${source}\n  ${' '.repeat(this.start)}${'^'.repeat(width)}`;
  }
}
