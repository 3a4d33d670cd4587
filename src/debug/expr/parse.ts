import { ExprError, MAX_NESTING } from './error';
import { tokenize, type Token } from './tokenize';

/**
 * The debugger's expression language, for breakpoint conditions, logpoints, watch, hover and the REPL:
 *   f[3] < 0.1    max(abs(c)) > 3    gradH > 1    top1 == 'e'    p('e') < 0.05    layer(1).o[5] > 0.9
 * A hand-written tokenizer, a recursive-descent parser and a tree-walking evaluator; nothing is ever passed
 * to eval. Every error carries the position of the problem in the expression.
 *
 * Grammar (lowest precedence first):
 *   or      := and ('||' and)*
 *   and     := eq ('&&' eq)*
 *   eq      := rel (('==' | '!=') rel)*
 *   rel     := add (('<' | '<=' | '>' | '>=') add)*
 *   add     := mul (('+' | '-') mul)*
 *   mul     := unary (('*' | '/' | '%') unary)*
 *   unary   := ('-' | '+' | '!') unary | postfix
 *   postfix := primary ('[' or ']' | '.' NAME)*
 *   primary := NUMBER | STRING | NAME | NAME '(' (or (',' or)*)? ')' | '(' or ')'
 * Values are numbers, booleans, one-character strings, vectors (a layer's h, c, gates; probs) and layers.
 * Arithmetic and comparisons work elementwise on vectors (a comparison gives 0/1 per unit), so
 * `sum(abs(c) > 2)` counts saturated units; && || ! need scalars.
 *
 * Expressions come from users (and from launch configurations and shared workspaces), so the language is
 * closed: a name is looked up only in Maps and switches, never by indexing a plain object, where `constructor`
 * or `__proto__` would reach JavaScript's built-ins; and the parser refuses an expression longer than
 * MAX_EXPRESSION_LENGTH or nested deeper than MAX_NESTING before its recursion could overflow the stack.
 */

export type Expr =
  | { readonly type: 'num'; readonly value: number; readonly start: number; readonly end: number }
  | { readonly type: 'str'; readonly value: string; readonly start: number; readonly end: number }
  | { readonly type: 'name'; readonly name: string; readonly start: number; readonly end: number }
  | { readonly type: 'unary'; readonly op: string; readonly arg: Expr; readonly start: number; readonly end: number }
  | { readonly type: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr; readonly start: number; readonly end: number }
  | { readonly type: 'index'; readonly object: Expr; readonly index: Expr; readonly start: number; readonly end: number }
  | { readonly type: 'member'; readonly object: Expr; readonly name: string; readonly nameStart: number; readonly start: number; readonly end: number }
  | { readonly type: 'call'; readonly callee: string; readonly args: readonly Expr[]; readonly start: number; readonly end: number };

const BINARY_LEVELS: readonly (readonly string[])[] = [['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/', '%']];

/** Parses a whole expression; throws ExprError at the first problem. */
export function parseExpression(src: string): Expr {
  const tokens = tokenize(src);
  if (tokens.length === 1) throw new ExprError('the expression is empty', 0);
  let k = 0;
  const peek = (): Token => tokens[k]!;
  const next = (): Token => tokens[k++]!;
  const isOp = (t: Token, ...ops: string[]): boolean => t.kind === 'op' && ops.includes(t.text);
  const describeToken = (t: Token): string => (t.kind === 'end' ? 'the end of the expression' : `'${src.slice(t.start, t.end)}'`);
  const expect = (op: string, what: string): Token => {
    const t = peek();
    if (!isOp(t, op)) throw new ExprError(`expected '${op}' ${what}, found ${describeToken(t)}`, t.start, t.end);
    return next();
  };

  // Every cycle in the parser's recursion passes through nest(), so the stack it uses is bounded by
  // MAX_NESTING whatever the input. The evaluator recurses along the tree, whose depth is at most the nesting
  // plus the binary operators on one path, and those are bounded by MAX_EXPRESSION_LENGTH (at most 500; a sum
  // of 500 terms, the deepest case, needs under 250 KB of stack, a quarter of Node's default).
  let depth = 0;
  const nest = (t: Token): void => {
    if (++depth > MAX_NESTING) {
      throw new ExprError(`the expression nests deeper than ${MAX_NESTING} levels (each bracket, call, unary sign, index and '.' is one): `
        + 'remove redundant parentheses and signs', t.start, t.end);
    }
  };

  const binary = (level: number): Expr => {
    if (level === BINARY_LEVELS.length) return unary();
    let left = binary(level + 1);
    while (isOp(peek(), ...BINARY_LEVELS[level]!)) {
      const op = next().text;
      const right = binary(level + 1);
      left = { type: 'binary', op, left, right, start: left.start, end: right.end };
    }
    return left;
  };
  const unary = (): Expr => {
    const t = peek();
    if (isOp(t, '-', '+', '!')) {
      nest(next());
      const arg = unary();
      depth--;
      return { type: 'unary', op: t.text, arg, start: t.start, end: arg.end };
    }
    return postfix();
  };
  const postfix = (): Expr => {
    let e = primary();
    // Each step deepens the tree the evaluator walks by one, so a long chain (h[0][0]… or layer(0).o.o…) nests.
    let steps = 0;
    for (;;) {
      if (isOp(peek(), '[') || isOp(peek(), '.')) {
        nest(peek());
        steps++;
      }
      if (isOp(peek(), '[')) {
        next();
        if (isOp(peek(), ']')) throw new ExprError('expected an index between [ and ]', peek().start);
        const index = binary(0);
        const close = expect(']', 'after the index');
        e = { type: 'index', object: e, index, start: e.start, end: close.end };
      } else if (isOp(peek(), '.')) {
        next();
        const name = peek();
        if (name.kind !== 'name') throw new ExprError(`expected a name after '.', found ${describeToken(name)}`, name.start, name.end);
        next();
        e = { type: 'member', object: e, name: name.text, nameStart: name.start, start: e.start, end: name.end };
      } else {
        depth -= steps;
        return e;
      }
    }
  };
  const primary = (): Expr => {
    const t = next();
    switch (t.kind) {
      case 'num':
        return { type: 'num', value: t.value, start: t.start, end: t.end };
      case 'str':
        return { type: 'str', value: t.text, start: t.start, end: t.end };
      case 'name': {
        if (!isOp(peek(), '(')) return { type: 'name', name: t.text, start: t.start, end: t.end };
        next();
        nest(t);
        const args: Expr[] = [];
        if (!isOp(peek(), ')')) {
          for (;;) {
            args.push(binary(0));
            if (!isOp(peek(), ',')) break;
            next();
          }
        }
        const close = expect(')', `to close the call of ${t.text}(`);
        depth--;
        return { type: 'call', callee: t.text, args, start: t.start, end: close.end };
      }
      case 'op':
        if (t.text === '(') {
          nest(t);
          const inner = binary(0);
          expect(')', 'to close (');
          depth--;
          return inner;
        }
        throw new ExprError(`expected a number, a name or '(', found ${describeToken(t)}`, t.start, t.end);
      case 'end':
        throw new ExprError('the expression ends too early', t.start);
    }
  };

  const e = binary(0);
  const rest = peek();
  if (rest.kind !== 'end') throw new ExprError(`unexpected ${describeToken(rest)} after a complete expression`, rest.start, rest.end);
  return e;
}

/** A vector of unit values; views into live engine buffers are copied before they outlive a stop. */
