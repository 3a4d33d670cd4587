import * as assert from 'node:assert/strict';
import { ExprError } from '../../../src/debug/expr/error';
import { evaluate, evaluateCondition, type ExprScope, type Value } from '../../../src/debug/expr/evaluate';
import { formatNumber, formatValue, quoteChar } from '../../../src/debug/expr/format';
import { hitMatches, parseHitCondition } from '../../../src/debug/expr/hitConditions';
import { parseLogMessage, renderLogMessage } from '../../../src/debug/expr/logpoints';
import { parseExpression } from '../../../src/debug/expr/parse';
import { tokenize } from '../../../src/debug/expr/tokenize';
import { Rng } from '../../../src/engine/rng';

/** Two LSTM layers of 4 units with hand-picked values, and a prediction over 'a', 'b', 'e'. */
const LAYERS: readonly Readonly<Record<string, Value>>[] = [
  { h: [0.1, -0.2, 0.3, -0.4], c: [1, -2, 3, -4], i: [0.5, 0.5, 0.5, 0.5], f: [0.9, 0.05, 0.2, 0.99], g: [0, 0, 0, 0], o: [0.1, 0.2, 0.3, 0.95], gradH: 1.5, gradC: 0.5 },
  { h: [0.7, 0.1, -0.9, 0], c: [0.5, 2.5, -3.5, 0], i: [0, 0, 0, 0], f: [0.01, 0.02, 0.03, 0.04], g: [0, 0, 0, 0], o: [0.2, 0.4, 0.6, 0.91], gradH: 0.25, gradC: 2 },
];
const GLOBALS: Readonly<Record<string, Value>> = { t: 42, ch: 'x', next: 'e', top1: 'e', loss: 4.5, entropy: 0.6, probs: [0.2, 0.03, 0.77] };
const PROBS: Readonly<Record<string, number>> = { a: 0.2, b: 0.03, e: 0.77 };
const NAMES = ['t', 'ch', 'next', 'top1', 'loss', 'entropy', 'probs', 'h', 'c', 'i', 'f', 'g', 'o', 'gradH', 'gradC'];

/** The state behind Maps, as ExprScope asks: a user's name finds only what is there. */
function fakeScope(defaultLayer = 1): ExprScope {
  const layers = LAYERS.map((l) => new Map(Object.entries(l)));
  const globals = new Map(Object.entries(GLOBALS));
  const probs = new Map(Object.entries(PROBS));
  return {
    layerCount: 2,
    defaultLayer,
    layerValue: (l, name) => layers[l]!.get(name),
    globalValue: (name) => globals.get(name),
    probOf: (ch) => probs.get(ch),
    logitOf: (ch) => {
      const p = probs.get(ch);
      return p === undefined ? undefined : Math.log(p);
    },
    names: () => NAMES,
  };
}

/** The same state indexed as plain objects, as a careless host would: `constructor` finds Object. */
function plainObjectScope(): ExprScope {
  return {
    ...fakeScope(),
    layerValue: (l, name) => (LAYERS[l] as Record<string, Value | undefined>)[name],
    globalValue: (name) => (GLOBALS as Record<string, Value | undefined>)[name],
  };
}

const run = (src: string, scope = fakeScope()): Value => evaluate(parseExpression(src), scope);
const cond = (src: string, scope = fakeScope()): boolean => evaluateCondition(parseExpression(src), scope);
/** The error an expression raises: its reason and 1-based column. */
function errorOf(src: string, scope = fakeScope()): { reason: string; column: number; end: number } {
  try {
    evaluateCondition(parseExpression(src), scope);
  } catch (e) {
    assert.ok(e instanceof ExprError, `not an ExprError: ${e}`);
    return { reason: e.reason, column: e.start + 1, end: e.end + 1 };
  }
  throw new Error(`${src} did not fail`);
}

describe('debugger expressions: parsing and evaluation', () => {
  it('evaluates every example of the spec against the state', () => {
    assert.equal(cond('f[3] < 0.1'), true);          // top layer (the default): f[3] = 0.04
    assert.equal(cond('c[1] > 2'), true);            // 2.5
    assert.equal(cond('max(abs(c)) > 3'), true);     // 3.5
    assert.equal(cond('gradH > 1'), false);          // 0.25 in the top layer
    assert.equal(cond("top1 == 'e'"), true);
    assert.equal(cond("p('e') < 0.05"), false);
    assert.equal(cond("p('b') < 0.05"), true);
    assert.equal(cond('loss > 4'), true);
    assert.equal(cond('layer(1).o[3] > 0.9'), true);
    assert.equal(cond('layer(0).o[3] > 0.9 && layer(0).gradH > 1'), true);
  });

  it('unqualified names follow the selected layer', () => {
    assert.equal(run('gradH', fakeScope(0)), 1.5);
    assert.equal(run('gradH', fakeScope(1)), 0.25);
    assert.equal(run('layer(1).gradH', fakeScope(0)), 0.25);
  });

  it('has the usual precedence and associativity, short-circuit && and ||, and !', () => {
    assert.equal(run('1 + 2 * 3'), 7);
    assert.equal(run('(1 + 2) * 3'), 9);
    assert.equal(run('10 - 4 - 3'), 3);
    assert.equal(run('2 * 3 % 4'), 2);
    assert.equal(run('-2 * -3'), 6);
    assert.equal(run('1 < 2 == 2 < 3'), true);
    assert.equal(run('!(1 > 2) && 3'), true);
    assert.equal(run('0 || 0'), false);
    assert.equal(run('1 || c[99]'), true);  // the right side is never evaluated
    assert.equal(run('0 && c[99]'), false);
    assert.equal(run('1e-3 * 1000'), 1);
    assert.equal(run('.5 + 0.25'), 0.75);
    assert.equal(run('true && !false'), true);
  });

  it('works elementwise on vectors and reduces them', () => {
    assert.equal(run('sum(abs(layer(0).c) > 2)'), 2);     // 3 and -4
    assert.equal(run('mean(layer(0).c)'), -0.5);
    assert.equal(run('min(layer(0).c)'), -4);
    assert.equal(run('max(1, 5, 3)'), 5);
    assert.equal(run('argmax(probs)'), 2);
    assert.equal(run('argmin(layer(0).c)'), 3);
    assert.equal(run('len(h)'), 4);
    assert.equal(run('norm(layer(0).c)'), Math.sqrt(30));
    assert.equal(run('any(h > 0.5)'), true);
    assert.equal(run('all(h > 0.5)'), false);
    assert.deepEqual(Array.from(run('layer(0).c * 2 - 1') as Float64Array), [1, -5, 5, -9]);
    assert.deepEqual(Array.from(run('layer(0).c + layer(1).c') as Float64Array), [1.5, 0.5, -0.5, -4]);
    assert.equal(run('(layer(0).c * 2)[3]'), -8);
    assert.equal(run('sigmoid(0)'), 0.5);
    assert.deepEqual([run('relu(-2)'), run('relu(0)'), run('relu(1.5)')], [0, 0, 1.5]);
    assert.deepEqual(Array.from(run('relu(layer(0).c)') as Float64Array), [1, 0, 3, 0]);
    assert.equal(run("logit('e')"), Math.log(0.77));
    assert.equal(run("ch == 'x' && next != 'x'"), true);
  });

  it('reads strings with escapes, one code point per character', () => {
    assert.equal(run("'\\n'"), '\n');
    assert.equal(run('"\\u{1F642}"'), '🙂');
    assert.equal(run("'\\u00e9'"), 'é');
    assert.equal(run("'\\''"), "'");
    assert.equal(quoteChar('\n'), "'\\n'");
    assert.equal(quoteChar("'"), "'\\''");
    assert.equal(quoteChar('\u0007'), "'\\u{7}'");
    for (const ch of ['\n', "'", '\\', 'é', '🙂', '\t', '\u0001']) assert.equal(run(quoteChar(ch)), ch);
  });

  it('reports syntax errors with the column of the problem', () => {
    assert.deepEqual(errorOf('f[3 < 0.1'), { reason: "expected ']' after the index, found the end of the expression", column: 10, end: 11 });
    assert.equal(errorOf('c[17] >').reason, 'the expression ends too early');
    assert.equal(errorOf('').reason, 'the expression is empty');
    assert.deepEqual(errorOf('c = 1'), { reason: "unexpected character '=' (compare with ==; values are set in the Variables view)", column: 3, end: 4 });
    assert.match(errorOf('h[0] & 1').reason, /unexpected character '&' \(use &&\)/);
    assert.match(errorOf("top1 == 'e").reason, /the string has no closing '/);
    assert.equal(errorOf("p('\\q')").column, 4);
    assert.deepEqual(errorOf('max(c) 3'), { reason: "unexpected '3' after a complete expression", column: 8, end: 9 });
    assert.equal(errorOf('3abc').reason, "unexpected 'a' after the number 3");
    assert.match(errorOf('layer(0).').reason, /expected a name after '\.'/);
    assert.match(errorOf('max(c,)').reason, /expected a number, a name or '\(', found '\)'/);
  });

  it('reports errors of meaning at the sub-expression responsible', () => {
    assert.deepEqual(errorOf('c[17] > 2'), { reason: 'index 17 is out of range: units are numbered 0 to 3', column: 3, end: 5 });
    assert.equal(errorOf('c[1.5] > 2').reason, 'an index must be a whole number, not 1.5');
    assert.match(errorOf('foo > 1').reason, /^unknown name 'foo'; names: t, ch, .*; functions: abs, /);
    assert.match(errorOf('C[0] > 1').reason, /unknown name 'C' \(did you mean 'c'\?\)/);
    assert.match(errorOf('layer(1).xx > 1').reason, /unknown name 'xx' in layer 1/);
    assert.equal(errorOf('layer(1).xx > 1').column, 10);
    assert.deepEqual(errorOf('layer(2).h[0] > 1'), { reason: 'layers are numbered from 0 to 1, not 2', column: 7, end: 8 });
    assert.deepEqual(errorOf('layer(-1).h[0] > 1'), { reason: 'layers are numbered from 0 to 1, not -1', column: 7, end: 9 });
    assert.deepEqual(errorOf('layer(1).h[0] > 1', { ...fakeScope(0), layerCount: 1 }),
      { reason: 'the model has 1 layer: layer(0) is the only one, not layer(1)', column: 7, end: 8 }, 'a 1-layer model');
    assert.match(errorOf('top1 == 5').reason, /cannot compare a character with a number/);
    assert.match(errorOf("top1 > 'a'").reason, /'>' does not apply to characters/);
    assert.match(errorOf("p('z') < 0.1").reason, /"z" is not in the model's vocabulary/);
    assert.match(errorOf("p('ab') < 0.1").reason, /exactly one character/);
    assert.match(errorOf('p(3) < 0.1').reason, /needs a character in quotes/);
    assert.match(errorOf('c > 1').reason, /a condition must be true or false, but this is a vector of 4: use any\(…\)/);
    assert.match(errorOf('top1').reason, /compare it, e.g. top1 == 'e'/);
    assert.match(errorOf('c[0] && h').reason, /'&&' needs a single number, but this is a vector of 4/);
    assert.match(errorOf('mean(3) > 1').reason, /mean\(…\) needs a vector such as c or h/);
    assert.match(errorOf('maxx(c) > 1').reason, /unknown function maxx\(…\)/);
    assert.match(errorOf('Max(c) > 1').reason, /did you mean max\?/);
    assert.match(errorOf('max > 1').reason, /max is a function: call it/);
    assert.match(errorOf('h.o > 1').reason, /'\.o' needs a layer, e.g. layer\(0\)\.o/);
    assert.match(errorOf('3[0] > 1').reason, /only vectors can be indexed/);
    assert.match(errorOf('layer(0).c + probs').reason, /different lengths \(4 and 3\)/);
    assert.match(errorOf('layer(0) > 1').reason, /needs a number, but this is layer 0/);
  });

  it('never evaluates code: what looks like JavaScript is a clear error', () => {
    for (const src of ['process.exit(1)', 'constructor', "this['x']", 'globalThis', '__proto__', 'require("fs")', '`x`', 'a => 1']) {
      assert.throws(() => cond(src), ExprError, src);
    }
  });

  it('describes an error on one line, and points at it on two more', () => {
    const src = 'f[3 < 0.1';
    try {
      parseExpression(src);
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof ExprError);
      assert.equal(e.describe(src), "expected ']' after the index, found the end of the expression (column 10 of \"f[3 < 0.1\")");
      assert.equal(e.pointer(src), '  f[3 < 0.1\n           ^');
    }
  });

  it('tokenizes numbers, names, strings and two-character operators', () => {
    assert.deepEqual(tokenize("layer(2).o[5]>=0.9&&p('e')!=1e-3").map((t) => t.text),
      ['layer', '(', '2', ')', '.', 'o', '[', '5', ']', '>=', '0.9', '&&', 'p', '(', 'e', ')', '!=', '1e-3', '']);
  });
});

describe('debugger expressions: hostile input', () => {
  const BUILTINS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__'];
  const FUNCTION_LIST = 'abs, min, max, mean, sum, norm, argmax, argmin, any, all, len, sqrt, exp, log, tanh, sigmoid, relu, p, logit, layer';
  const TOO_DEEP = "the expression nests deeper than 64 levels (each bracket, call, unary sign, index and '.' is one): remove redundant parentheses and signs";
  const tooLong = (n: string): string => `the expression is longer than 1,000 characters (it has ${n}): shorten it, e.g. any(c > 1) instead of c[0] > 1 || c[1] > 1 || …`;

  it("names from Object.prototype are unknown names, on their own and in a layer, whatever the scope indexes", () => {
    for (const [label, scope] of [['Maps', fakeScope()], ['plain objects', plainObjectScope()]] as const) {
      for (const name of BUILTINS) {
        assert.deepEqual(errorOf(`${name} > 0`, scope), {
          reason: `unknown name '${name}'; names: ${NAMES.join(', ')}; functions: ${FUNCTION_LIST}`, column: 1, end: name.length + 1,
        }, `${name} (${label})`);
        assert.deepEqual(errorOf(`layer(0).${name} > 0`, scope), {
          reason: `unknown name '${name}' in layer 0; names: ${NAMES.join(', ')}; functions: ${FUNCTION_LIST}`, column: 10, end: name.length + 10,
        }, `layer(0).${name} (${label})`);
      }
    }
  });

  it('names from Object.prototype are unknown functions', () => {
    for (const name of BUILTINS) {
      assert.deepEqual(errorOf(`${name}(1) > 0`), { reason: `unknown function ${name}(…); functions: ${FUNCTION_LIST}`, column: 1, end: name.length + 1 }, name);
      assert.deepEqual(errorOf(`${name}(c, 'e')`), { reason: `unknown function ${name}(…); functions: ${FUNCTION_LIST}`, column: 1, end: name.length + 1 }, name);
    }
  });

  it('member access to a built-in name on a vector or a missing layer is the usual error', () => {
    assert.deepEqual(errorOf('c.constructor > 0'), { reason: "'.constructor' needs a layer, e.g. layer(0).constructor, but this is a vector of 4", column: 1, end: 2 });
    assert.deepEqual(errorOf('layer(2).__proto__ > 0'), { reason: 'layers are numbered from 0 to 1, not 2', column: 7, end: 8 });
    assert.deepEqual(errorOf('layer(1).constructor(1)'), { reason: "unexpected '(' after a complete expression", column: 21, end: 22 });
  });

  it('refuses an expression longer than 1,000 characters before parsing it, never with RangeError', () => {
    assert.deepEqual(errorOf(`${'1+'.repeat(49_999)}11`), { reason: tooLong('100,000'), column: 1001, end: 100_001 });
    assert.equal(errorOf(`${'('.repeat(10_000)}1${')'.repeat(10_000)}`).reason, tooLong('20,001'));
    assert.equal(errorOf(`${'-'.repeat(10_000)}1`).reason, tooLong('10,001'));
    // The longest accepted expression is also the deepest tree the evaluator can be given: 500 terms of one sum.
    assert.equal(run(`${'1+'.repeat(499)}1 `), 500);
    assert.equal(cond(`${'c[0]<9&&'.repeat(110)}c[0]<9 `.slice(0, 1000)), true);
  });

  it('refuses nesting deeper than 64 levels on every recursive path, at the level that goes too deep', () => {
    const cases: readonly (readonly [string, number])[] = [
      [`${'('.repeat(65)}1${')'.repeat(65)}`, 65],               // parentheses
      [`${'('.repeat(499)}1${')'.repeat(499)}`, 65],
      [`${'-'.repeat(65)}1`, 65],                                // unary signs
      [`${'-'.repeat(999)}1`, 65],
      [`${'!+-'.repeat(22)}1`, 65],
      [`${'abs('.repeat(65)}1${')'.repeat(65)}`, 257],           // call arguments
      [`max(1, ${'max(1, '.repeat(64)}2${')'.repeat(65)}`, 449],
      [`${'g['.repeat(65)}0${']'.repeat(65)}`, 130],             // index expressions
      [`h${'[0]'.repeat(65)}`, 194],                             // index chains
      [`layer(0)${'.o'.repeat(65)}`, 137],                      // member chains
      [`${'-(abs('.repeat(22)}1${'))'.repeat(22)}`, 128],        // mixed: sign, paren, call
    ];
    for (const [src, column] of cases) {
      const e = errorOf(src);
      assert.equal(e.reason, TOO_DEEP, src.slice(0, 40));
      assert.equal(e.column, column, src.slice(0, 40));
    }
    assert.throws(() => parseLogMessage(`x {${'-'.repeat(65)}1}`), (e: ExprError) => e instanceof ExprError && e.reason === TOO_DEEP && e.start === 67);
  });

  it('evaluates nesting up to the limit: 30 parentheses as a person might, 64 of each kind', () => {
    assert.equal(run(`${'('.repeat(30)}c[1] + 1${')'.repeat(30)}`), 3.5);
    assert.equal(cond(`${'('.repeat(30)}max(abs(layer(0).c - c)) > 3${')'.repeat(30)}`), true);  // |-4 - 0|
    assert.equal(run(`${'('.repeat(64)}1${')'.repeat(64)}`), 1);
    assert.equal(run(`${'-'.repeat(64)}2`), 2);
    assert.equal(run(`${'-'.repeat(63)}2`), -2);
    assert.equal(run(`${'abs('.repeat(64)}1 - 3${')'.repeat(64)}`), 2);
    assert.equal(run(`${'g['.repeat(64)}0${']'.repeat(64)}`), 0);
    assert.doesNotThrow(() => parseExpression(`layer(0)${'.o'.repeat(64)}`));
    assert.doesNotThrow(() => parseExpression(`h${'[0]'.repeat(64)}`));
  });
});

describe('debugger expressions: formatting, logpoints, hit counts', () => {
  it('formats every float32 with the shortest decimal that reads back as the same float32', () => {
    const rng = new Rng(3);
    const buf = new Float32Array(1);
    const u32 = new Uint32Array(buf.buffer);
    for (let k = 0; k < 5000; k++) {
      u32[0] = rng.nextUint32();
      const x = buf[0]!;
      if (!Number.isFinite(x)) continue;
      const s = formatNumber(x);
      assert.equal(Math.fround(Number(s)), x, `${s} for ${x}`);
      if (!Number.isInteger(x)) assert.ok(Number(s).toExponential().split('e')[0]!.replace(/[-.]/g, '').length <= 9, s);
    }
    assert.equal(formatNumber(Math.fround(0.1)), '0.1');
    assert.equal(formatNumber(3), '3');
    assert.equal(formatNumber(NaN), 'NaN');
    assert.equal(formatNumber(-Infinity), '-Infinity');
    assert.equal(formatValue(true), 'true');
    assert.equal(formatValue('e'), "'e'");
    assert.equal(formatValue([1, -2, 3]), '(3) min -2 max 3 mean 0.667');
  });

  it('renders logpoint messages with {expression} holes and {{ }} braces', () => {
    const t = parseLogMessage("t={t} top1={top1} p={p('e')} c0={layer(0).c[0]} {{literal}} {p('}')}");
    const out = renderLogMessage(t, fakeScope());
    assert.equal(out, "t=42 top1='e' p=0.77 c0=1 {literal} <p('}'): \"}\" is not in the model's vocabulary>");
  });

  it('reports a bad logpoint hole with its column in the whole message', () => {
    assert.throws(() => parseLogMessage('at {t} value {c[}'), (e: ExprError) => e.start === 16 && /ends too early/.test(e.reason));
    assert.throws(() => parseLogMessage('open {t'), (e: ExprError) => e.start === 5 && /no closing '}'/.test(e.reason));
    assert.throws(() => parseLogMessage('close }'), (e: ExprError) => /unmatched '}'/.test(e.reason));
  });

  it('parses hit counts as VS Code users write them', () => {
    assert.deepEqual(parseHitCondition('5'), { op: '==', n: 5 });
    assert.deepEqual(parseHitCondition('= 5'), { op: '==', n: 5 });
    assert.deepEqual(parseHitCondition('>=10'), { op: '>=', n: 10 });
    assert.deepEqual(parseHitCondition(' % 3 '), { op: '%', n: 3 });
    assert.throws(() => parseHitCondition('often'), /not a number/);
    assert.throws(() => parseHitCondition('% 0'), /never matches/);
    const matches = (s: string): number[] => [1, 2, 3, 4, 5, 6].filter((n) => hitMatches(parseHitCondition(s), n));
    assert.deepEqual(matches('3'), [3]);
    assert.deepEqual(matches('> 4'), [5, 6]);
    assert.deepEqual(matches('<= 2'), [1, 2]);
    assert.deepEqual(matches('% 2'), [2, 4, 6]);
  });
});
