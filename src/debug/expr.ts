/**
 * The debugger's expression language, for breakpoint conditions, logpoints, watch, hover and the REPL:
 *   f[3] < 0.1    max(abs(c)) > 3    gradH > 1    top1 == 'e'    p('e') < 0.05    layer(2).o[5] > 0.9
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

/** Longest expression accepted, in UTF-16 code units: a condition is a line, not a program. */
export const MAX_EXPRESSION_LENGTH = 1000;
/**
 * Deepest nesting accepted; each bracket, call, unary sign, index and '.' is one level. Far above what a person
 * writes (`layer(2).o[5] > 0.9` and `max(abs(c - h)) > 1` are 2) and far below the stack: the parser uses about
 * 10 frames per level.
 */
export const MAX_NESTING = 64;

const thousands = (n: number): string => n.toLocaleString('en-US');

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

type TokenKind = 'num' | 'str' | 'name' | 'op' | 'end';

interface Token {
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
    // Each step deepens the tree the evaluator walks by one, so a long chain (h[0][0]… or layer(1).o.o…) nests.
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
export type Vector = ArrayLike<number>;

/** A layer picked with layer(k); its members are that layer's vectors and gradient norms. */
export class LayerRef {
  constructor(readonly index: number) {}
}

export type Value = number | boolean | string | Vector | LayerRef;

/**
 * What the expression can see: the state at the current timestep. Layers are 0-based here, 1-based in the
 * language (`layer(1)` is the first, as in the UI). Lookups return undefined for a name that does not exist;
 * they throw (any Error) for a name that exists but has no value now (e.g. gradients of a long text).
 * Names are whatever the user typed (`constructor`, `__proto__`): answer with a switch or a Map, not by
 * indexing a plain object. The evaluator ignores an answer that is not a Value, but a getter would still run.
 */
export interface ExprScope {
  readonly layerCount: number;
  /** The layer unqualified names refer to: the selected frame's layer, else the top layer. */
  readonly defaultLayer: number;
  /** Per-layer names: h, c, gates (i f g o / r z n), gradH, gradC. */
  layerValue(layer: number, name: string): Value | undefined;
  /** Global names: t, ch, next, top1, loss, entropy, probs, logits. */
  globalValue(name: string): Value | undefined;
  /** Probability and logit of the next character being `ch`; undefined when ch is not in the vocabulary. */
  probOf(ch: string): number | undefined;
  logitOf(ch: string): number | undefined;
  /** All names, for completions and "unknown name" messages. */
  names(): readonly string[];
}

export const FUNCTIONS: Readonly<Record<string, string>> = {
  abs: 'abs(x): absolute value, elementwise',
  min: 'min(v) smallest unit, or min(a, b, …)',
  max: 'max(v) largest unit, or max(a, b, …)',
  mean: 'mean(v)',
  sum: 'sum(v)',
  norm: 'norm(v): Euclidean norm',
  argmax: 'argmax(v): index of the largest unit',
  argmin: 'argmin(v): index of the smallest unit',
  any: 'any(v): some unit is non-zero',
  all: 'all(v): every unit is non-zero',
  len: 'len(v): number of units',
  sqrt: 'sqrt(x)', exp: 'exp(x)', log: 'log(x): natural logarithm', tanh: 'tanh(x)', sigmoid: 'sigmoid(x)',
  p: "p('e'): probability that the next character is 'e'",
  logit: "logit('e'): the decoder's logit for 'e'",
  layer: 'layer(k): layer k (from 1), e.g. layer(2).o[5]',
};

/** FUNCTIONS for lookups by a user's name: own entries only, so `constructor` is not a function. */
const FUNCTION_HELP: ReadonlyMap<string, string> = new Map(Object.entries(FUNCTIONS));

const isVector = (v: Value): v is Vector => typeof v === 'object' && !(v instanceof LayerRef);

/** Whether a scope's answer is a value of the language, not a built-in reached through a plain object. */
function isValue(v: unknown): v is Value {
  switch (typeof v) {
    case 'number':
    case 'boolean':
    case 'string':
      return true;
    case 'object':
      return v instanceof LayerRef || (v !== null && typeof (v as { length?: unknown }).length === 'number');
    default:
      return false;
  }
}

export function describeType(v: Value): string {
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'true/false';
  if (typeof v === 'string') return 'a character';
  if (v instanceof LayerRef) return `layer ${v.index + 1}`;
  return `a vector of ${v.length}`;
}

/** Evaluates a parsed expression against the current state. Throws ExprError (with a span) for any problem. */
export function evaluate(e: Expr, scope: ExprScope): Value {
  const fail = (node: { start: number; end: number }, msg: string): never => {
    throw new ExprError(msg, node.start, node.end);
  };
  const scalar = (node: Expr, v: Value, what: string): number => {
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (isVector(v)) return fail(node, `${what} needs a single number, but this is ${describeType(v)}: pick a unit with [k] or reduce it with max(…), mean(…), any(…)`);
    return fail(node, `${what} needs a number, but this is ${describeType(v)}`);
  };
  const truth = (node: Expr, v: Value, what: string): boolean => {
    if (typeof v === 'boolean') return v;
    const x = scalar(node, v, what);
    return x !== 0 && !Number.isNaN(x);
  };
  const numeric = (node: Expr, v: Value, what: string): number | Vector => {
    if (isVector(v)) return v;
    return scalar(node, v, what);
  };
  const map = (v: number | Vector, f: (x: number) => number): number | Vector => {
    if (typeof v === 'number') return f(v);
    const out = new Float64Array(v.length);
    for (let j = 0; j < v.length; j++) out[j] = f(v[j]!);
    return out;
  };
  const zip = (node: Expr, a: number | Vector, b: number | Vector, f: (x: number, y: number) => number): number | Vector => {
    if (typeof a === 'number' && typeof b === 'number') return f(a, b);
    if (typeof a !== 'number' && typeof b !== 'number' && a.length !== b.length) {
      fail(node, `the vectors have different lengths (${a.length} and ${b.length})`);
    }
    const n = typeof a === 'number' ? (b as Vector).length : a.length;
    const out = new Float64Array(n);
    for (let j = 0; j < n; j++) out[j] = f(typeof a === 'number' ? a : a[j]!, typeof b === 'number' ? b : b[j]!);
    return out;
  };
  const layerIndex = (node: Expr, v: Value): number => {
    const k = scalar(node, v, 'layer(…)');
    if (!Number.isInteger(k) || k < 1 || k > scope.layerCount) {
      fail(node, scope.layerCount === 1 ? `the model has 1 layer: layer(1) is the only one, not layer(${k})`
        : `layers are numbered from 1 to ${scope.layerCount}, not ${k}`);
    }
    return k - 1;
  };
  /** The scopes' first answer that is a Value, else the language's "unknown name" error. */
  const lookup = (node: Expr, gets: readonly (() => Value | undefined)[], name: string, inLayer: number | null): Value => {
    for (const get of gets) {
      let v: unknown;
      try {
        v = get();
      } catch (err) {
        return fail(node, (err as Error).message);
      }
      if (isValue(v)) return v;
    }
    const help = FUNCTION_HELP.get(name);
    if (help !== undefined) return fail(node, `${name} is a function: call it, e.g. ${help.split(':')[0]}`);
    const known = scope.names();
    const near = known.find((n) => n.toLowerCase() === name.toLowerCase());
    const where = inLayer === null ? '' : ` in layer ${inLayer + 1}`;
    return fail(node, `unknown name '${name}'${where}${near ? ` (did you mean '${near}'?)` : ''}; names: ${known.join(', ')}; functions: ${[...FUNCTION_HELP.keys()].join(', ')}`);
  };

  const ev = (node: Expr): Value => {
    switch (node.type) {
      case 'num':
        return node.value;
      case 'str':
        return node.value;
      case 'name': {
        if (node.name === 'true' || node.name === 'false') return node.name === 'true';
        return lookup(node, [() => scope.globalValue(node.name), () => scope.layerValue(scope.defaultLayer, node.name)], node.name, null);
      }
      case 'member': {
        const obj = ev(node.object);
        if (!(obj instanceof LayerRef)) return fail(node.object, `'.${node.name}' needs a layer, e.g. layer(1).${node.name}, but this is ${describeType(obj)}`);
        const span = { start: node.nameStart, end: node.end };
        try {
          return lookup(node, [() => scope.layerValue(obj.index, node.name)], node.name, obj.index);
        } catch (err) {
          if (err instanceof ExprError) throw new ExprError(err.reason, span.start, span.end);
          throw err;
        }
      }
      case 'index': {
        const obj = ev(node.object);
        if (!isVector(obj)) return fail(node.object, `only vectors can be indexed, but this is ${describeType(obj)}`);
        const k = scalar(node.index, ev(node.index), 'an index');
        if (!Number.isInteger(k)) return fail(node.index, `an index must be a whole number, not ${k}`);
        if (k < 0 || k >= obj.length) return fail(node.index, `index ${k} is out of range: units are numbered 0 to ${obj.length - 1}`);
        return obj[k]!;
      }
      case 'unary': {
        const v = ev(node.arg);
        if (node.op === '!') return !truth(node.arg, v, "'!'");
        const x = numeric(node.arg, v, `'${node.op}'`);
        return node.op === '-' ? map(x, (a) => -a) : x;
      }
      case 'binary':
        return binaryOp(node);
      case 'call':
        return call(node);
    }
  };

  const binaryOp = (node: Extract<Expr, { type: 'binary' }>): Value => {
    const { op } = node;
    if (op === '&&' || op === '||') {
      const a = truth(node.left, ev(node.left), `'${op}'`);
      if (op === '&&' ? !a : a) return a;
      return truth(node.right, ev(node.right), `'${op}'`);
    }
    const a = ev(node.left);
    const b = ev(node.right);
    if (op === '==' || op === '!=') {
      if (typeof a === 'string' || typeof b === 'string') {
        if (typeof a !== 'string' || typeof b !== 'string') {
          const other = typeof a === 'string' ? node.right : node.left;
          return fail(other, `cannot compare a character with ${describeType(typeof a === 'string' ? b : a)}; write the character in quotes, e.g. 'e'`);
        }
        return (a === b) === (op === '==');
      }
    }
    if (typeof a === 'string' || typeof b === 'string') {
      return fail(typeof a === 'string' ? node.left : node.right, `'${op}' does not apply to characters; compare them with == or !=`);
    }
    const x = numeric(node.left, a, `'${op}'`);
    const y = numeric(node.right, b, `'${op}'`);
    const cmp = (f: (p: number, q: number) => boolean): Value => {
      const r = zip(node, x, y, (p, q) => (f(p, q) ? 1 : 0));
      return typeof r === 'number' ? r === 1 : r;
    };
    switch (op) {
      case '+': return zip(node, x, y, (p, q) => p + q);
      case '-': return zip(node, x, y, (p, q) => p - q);
      case '*': return zip(node, x, y, (p, q) => p * q);
      case '/': return zip(node, x, y, (p, q) => p / q);
      case '%': return zip(node, x, y, (p, q) => p % q);
      case '<': return cmp((p, q) => p < q);
      case '<=': return cmp((p, q) => p <= q);
      case '>': return cmp((p, q) => p > q);
      case '>=': return cmp((p, q) => p >= q);
      case '==': return cmp((p, q) => p === q);
      case '!=': return cmp((p, q) => p !== q);
      default: return fail(node, `unknown operator ${op}`);
    }
  };

  const call = (node: Extract<Expr, { type: 'call' }>): Value => {
    const name = node.callee;
    const arity = (n: number): void => {
      if (node.args.length !== n) fail(node, `${name}(…) takes ${n} argument${n === 1 ? '' : 's'}, not ${node.args.length}`);
    };
    const vectorArg = (): Vector => {
      arity(1);
      const v = ev(node.args[0]!);
      if (!isVector(v)) return fail(node.args[0]!, `${name}(…) needs a vector such as c or h, but this is ${describeType(v)}`);
      if (v.length === 0) return fail(node.args[0]!, `${name}(…) of an empty vector`);
      return v;
    };
    const charArg = (): string => {
      arity(1);
      const v = ev(node.args[0]!);
      if (typeof v !== 'string') return fail(node.args[0]!, `${name}(…) needs a character in quotes, e.g. ${name}('e'), but this is ${describeType(v)}`);
      return v;
    };
    const elementwise = (f: (x: number) => number): Value => {
      arity(1);
      return map(numeric(node.args[0]!, ev(node.args[0]!), `${name}(…)`), f);
    };
    const reduce = (v: Vector, init: number, f: (acc: number, x: number) => number): number => {
      let acc = init;
      for (let j = 0; j < v.length; j++) acc = f(acc, v[j]!);
      return acc;
    };
    switch (name) {
      case 'abs': return elementwise(Math.abs);
      case 'sqrt': return elementwise(Math.sqrt);
      case 'exp': return elementwise(Math.exp);
      case 'log': return elementwise(Math.log);
      case 'tanh': return elementwise(Math.tanh);
      case 'sigmoid': return elementwise((x) => 1 / (1 + Math.exp(-x)));
      case 'min':
      case 'max': {
        const pick = name === 'min' ? Math.min : Math.max;
        if (node.args.length === 0) return fail(node, `${name}(…) needs a vector or at least one number`);
        const vals = node.args.map((a) => ({ a, v: ev(a) }));
        if (vals.length === 1 && isVector(vals[0]!.v)) {
          const v = vals[0]!.v;
          if (v.length === 0) return fail(node.args[0]!, `${name}(…) of an empty vector`);
          return reduce(v, name === 'min' ? Infinity : -Infinity, pick);
        }
        return vals.reduce((acc, { a, v }) => pick(acc, scalar(a, v, `${name}(…) of several values`)), name === 'min' ? Infinity : -Infinity);
      }
      case 'sum': return reduce(vectorArg(), 0, (s, x) => s + x);
      case 'mean': {
        const v = vectorArg();
        return reduce(v, 0, (s, x) => s + x) / v.length;
      }
      case 'norm': return Math.sqrt(reduce(vectorArg(), 0, (s, x) => s + x * x));
      case 'len': return vectorArg().length;
      case 'any': return reduce(vectorArg(), 0, (s, x) => (s || (x !== 0 && !Number.isNaN(x)) ? 1 : 0)) === 1;
      case 'all': return reduce(vectorArg(), 1, (s, x) => (s && x !== 0 && !Number.isNaN(x) ? 1 : 0)) === 1;
      case 'argmax':
      case 'argmin': {
        const v = vectorArg();
        let best = 0;
        for (let j = 1; j < v.length; j++) if (name === 'argmax' ? v[j]! > v[best]! : v[j]! < v[best]!) best = j;
        return best;
      }
      case 'p':
      case 'logit': {
        const ch = charArg();
        if ([...ch].length !== 1) return fail(node.args[0]!, `${name}(…) needs exactly one character, not ${JSON.stringify(ch)}`);
        const x = name === 'p' ? scope.probOf(ch) : scope.logitOf(ch);
        if (x === undefined) return fail(node.args[0]!, `${JSON.stringify(ch)} is not in the model's vocabulary`);
        return x;
      }
      case 'layer': {
        arity(1);
        return new LayerRef(layerIndex(node.args[0]!, ev(node.args[0]!)));
      }
      default: {
        const near = [...FUNCTION_HELP.keys()].find((f) => f.toLowerCase() === name.toLowerCase());
        return fail({ start: node.start, end: node.start + name.length },
          `unknown function ${name}(…)${near ? ` (did you mean ${near}?)` : ''}; functions: ${[...FUNCTION_HELP.keys()].join(', ')}`);
      }
    }
  };

  return ev(e);
}

/** Evaluates a breakpoint condition: it must come out as true/false or a number (non-zero is true). */
export function evaluateCondition(e: Expr, scope: ExprScope): boolean {
  const v = evaluate(e, scope);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'string') throw new ExprError(`a condition must be true or false, but this is a character: compare it, e.g. ${e.type === 'name' ? e.name : 'top1'} == 'e'`, e.start, e.end);
  if (v instanceof LayerRef) throw new ExprError('a condition must be true or false, but this is a layer: pick a value, e.g. layer(1).c[0] > 1', e.start, e.end);
  throw new ExprError(`a condition must be true or false, but this is a vector of ${v.length}: use any(…), all(…), max(…) or pick a unit with [k]`, e.start, e.end);
}

/**
 * The shortest decimal that reads back as the same float32: exact for every engine value (they are float32),
 * and float32 precision (7–9 digits) for values computed in double (loss, mean, …).
 */
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
  if (v instanceof LayerRef) return `layer ${v.index + 1}`;
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
