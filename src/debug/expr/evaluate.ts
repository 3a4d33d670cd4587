import { ExprError } from './error';
import type { Expr } from './parse';

/** The tree-walking evaluator of the expression language (parse.ts) over the debugger's state at one timestep. */

export type Vector = ArrayLike<number>;

/** A layer picked with layer(k) (0-based); its members are that layer's vectors and gradient norms. */
export class LayerRef {
  constructor(readonly index: number) {}
}

export type Value = number | boolean | string | Vector | LayerRef;

/**
 * What the expression can see: the state at the current timestep. Layers are 0-based, here and in the language
 * (`layer(0)` is the first, as in the inspector, the CLI and PyTorch's `_l0` names). Lookups return undefined
 * for a name that does not exist; they throw (any Error) for a name that exists but has no value now (e.g.
 * gradients of a long text).
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
  sqrt: 'sqrt(x)', exp: 'exp(x)', log: 'log(x): natural logarithm', tanh: 'tanh(x)', sigmoid: 'sigmoid(x)', relu: 'relu(x): max(0, x)',
  p: "p('e'): probability that the next character is 'e'",
  logit: "logit('e'): the decoder's logit for 'e'",
  layer: 'layer(k): layer k, numbered from 0 (layer(0) is the first), e.g. layer(1).o[5]',
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
  if (v instanceof LayerRef) return `layer ${v.index}`;
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
    if (!Number.isInteger(k) || k < 0 || k >= scope.layerCount) {
      fail(node, scope.layerCount === 1 ? `the model has 1 layer: layer(0) is the only one, not layer(${k})`
        : `layers are numbered from 0 to ${scope.layerCount - 1}, not ${k}`);
    }
    return k;
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
    const where = inLayer === null ? '' : ` in layer ${inLayer}`;
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
        if (!(obj instanceof LayerRef)) return fail(node.object, `'.${node.name}' needs a layer, e.g. layer(0).${node.name}, but this is ${describeType(obj)}`);
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
      case 'relu': return elementwise((x) => Math.max(0, x));
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
  if (v instanceof LayerRef) throw new ExprError('a condition must be true or false, but this is a layer: pick a value, e.g. layer(0).h[0] > 0.5', e.start, e.end);
  throw new ExprError(`a condition must be true or false, but this is a vector of ${v.length}: use any(…), all(…), max(…) or pick a unit with [k]`, e.start, e.end);
}

/**
 * The shortest decimal that reads back as the same float32: exact for every engine value (they are float32),
 * and float32 precision (7–9 digits) for values computed in double (loss, mean, …).
 */
