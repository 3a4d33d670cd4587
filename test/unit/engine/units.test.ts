import * as assert from 'node:assert/strict';
import { GatescopeError } from '../../../src/engine/errors';
import { computeFeature, langOfFile, lexClasses, parseRanges, type FeatureSpec } from '../../../src/engine/features';
import { searchFeature, UnitStats, type UnitRecord } from '../../../src/engine/units';

const cps = (s: string): string[] => [...s];
const f = (s: string, spec: FeatureSpec): number[] => Array.from(computeFeature(cps(s), spec));
const userError = (fn: () => unknown, re: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof GatescopeError && re.test(e.message));

describe('features: each definition on hand-written texts', () => {
  it('column: characters since the last newline before t; CRLF, tabs, empty lines, emoji', () => {
    assert.deepEqual(f('ab\ncd', { kind: 'column' }), [0, 1, 2, 0, 1]);
    assert.deepEqual(f('a\r\nb', { kind: 'column' }), [0, 1, 2, 0], '\\r and \\n belong to the line they end');
    assert.deepEqual(f('\n\n\tx', { kind: 'column' }), [0, 0, 0, 1]);
    assert.deepEqual(f('🙂a', { kind: 'column' }), [0, 1], 'an emoji is one character');
  });

  it('line-length and indent: of the line t is on, without its break', () => {
    assert.deepEqual(f('ab\ncde', { kind: 'line-length' }), [2, 2, 2, 3, 3, 3]);
    assert.deepEqual(f('ab\r\nc', { kind: 'line-length' }), [2, 2, 2, 2, 1], 'CRLF: the \\r is not counted');
    assert.deepEqual(f('\n\nx', { kind: 'line-length' }), [0, 0, 1], 'empty lines have length 0');
    assert.deepEqual(f('  a\n\tb\nc', { kind: 'indent' }), [2, 2, 2, 2, 1, 1, 1, 0]);
    assert.deepEqual(f('   ', { kind: 'indent' }), [3, 3, 3], 'a line of only blanks, without a final newline');
    assert.deepEqual(f('🙂🙂\n', { kind: 'line-length' }), [2, 2, 2]);
  });

  it('depth: unclosed brackets after reading t, outside strings and comments of the language', () => {
    assert.deepEqual(f('f(a[1])', { kind: 'depth', lang: 'plain' }), [0, 1, 1, 2, 2, 1, 0]);
    assert.deepEqual(f(')(', { kind: 'depth', lang: 'plain' }), [0, 1], 'an unmatched closer never goes below 0');
    assert.deepEqual(f('((', { kind: 'depth', lang: 'plain' }), [1, 2], 'unclosed at the end');
    assert.deepEqual(f('f("(")', { kind: 'depth', lang: 'python' }), [0, 1, 1, 1, 1, 0], 'brackets in strings do not count');
    assert.deepEqual(f('f("(")', { kind: 'depth', lang: 'plain' }), [0, 1, 1, 2, 2, 1], 'plain counts every bracket');
    assert.deepEqual(f('( # )\n)', { kind: 'depth', lang: 'python' }), [1, 1, 1, 1, 1, 1, 0]);
    assert.deepEqual(f('{/*}*/}', { kind: 'depth', lang: 'c' }), [1, 1, 1, 1, 1, 1, 0]);
  });

  it('strings and comments: python triple quotes across lines, escapes, unterminated one-quote strings', () => {
    const classes = (s: string, lang: Parameters<typeof lexClasses>[1]): string => Array.from(lexClasses(cps(s), lang)).join('');
    assert.equal(classes('x="a\\"b"#c', 'python'), '0011111122');
    assert.equal(classes('"""a\n"b"""+1', 'python'), '111111111100');
    assert.equal(classes("'ab\nx", 'python'), '11100', 'a one-quote string ends at its line');
    assert.equal(classes("a='#'#x\ny", 'python'), '001112200');
    assert.equal(classes('a//b\n"c"/*d\ne*/', 'c'), '022201112222222');
    assert.equal(classes('`a\n${b}`', 'js'), '11111111');
    assert.equal(classes('`a`', 'c'), '000', 'template literals are JavaScript only');
    assert.equal(classes("a#b 'c\nd' #e", 'shell'), '000011111022');
    assert.equal(classes('"a"#b', 'plain'), '00000');
    assert.deepEqual(f('# é\nx', { kind: 'comment', lang: 'python' }), [1, 1, 1, 0, 0]);
    assert.deepEqual(f("s='🙂'", { kind: 'string', lang: 'python' }), [0, 0, 1, 1, 1]);
  });

  it('regex (JavaScript syntax, multiline, by code point) and ranges', () => {
    assert.deepEqual(f('ab🙂ab', { kind: 'regex', source: 'b.' }), [0, 1, 1, 0, 0], 'the match b🙂 covers two characters; the last b has nothing after it');
    assert.deepEqual(f('x\ny', { kind: 'regex', source: '^y' }), [0, 0, 1], 'multiline: ^ at every line');
    assert.deepEqual(f('aaa', { kind: 'regex', source: 'x*' }), [0, 0, 0], 'empty matches mark nothing and end');
    userError(() => f('a', { kind: 'regex', source: '(' }), /the regular expression is not valid: Invalid regular expression: \/\(\/gmu: Unterminated group/);
    assert.deepEqual(f('abcdef', { kind: 'ranges', ranges: parseRanges('1:3, 4:5', 6) }), [0, 1, 1, 0, 1, 0]);
    userError(() => parseRanges('3:9', 6), /the range 3:9 ends after the text, which has 6 characters/);
    userError(() => parseRanges('4:2', 6), /the range 4:2 is empty/);
    userError(() => parseRanges('a-b', 6), /a range is start:end/);
    userError(() => parseRanges('', 6), /no ranges given/);
  });

  it('language from the file name', () => {
    assert.equal(langOfFile('/x/textwrap.py'), 'python');
    assert.equal(langOfFile('stdio.H'), 'c');
    assert.equal(langOfFile('a.test.ts'), 'js');
    assert.equal(langOfFile('run.sh'), 'shell');
    assert.equal(langOfFile('LICENSE'), 'plain');
  });
});

describe('unit ranking by correlation', () => {
  /** A made-up trace: layer 0 unit 2 of c is 3·column + 1, unit 0 of f is −column + noise; the rest noise. */
  function trace(T: number, H: number, x: Float64Array): UnitRecord {
    let seed = 7;
    const noise = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    const arr = (fill: (t: number, j: number) => number): Float32Array => Float32Array.from({ length: T * H }, (_, k) => fill(Math.floor(k / H), k % H));
    const layer = (l: number) => ({
      c: arr((t, j) => (l === 0 && j === 2 ? 3 * x[t]! + 1 : noise())),
      h: arr(() => noise()),
      gates: { i: arr(() => noise()), f: arr((t, j) => (l === 0 && j === 0 ? -x[t]! + 0.3 * noise() : noise())), g: arr(() => noise()), o: arr(() => 0.5) },
    });
    return { layers: [layer(0), layer(1)] };
  }

  it('matches a direct computation of Pearson r, ranks by |r|, leaves constant units out', () => {
    const text = 'def f(x):\n    return x + 1\n\n# a comment\nprint(f(2))\n';
    const x = computeFeature(cps(text), { kind: 'column' });
    const T = x.length, H = 4;
    const rec = trace(T, H, x);
    const stats = new UnitStats(rec, T, H);
    const r = stats.rank(x, { top: 0 });
    assert.equal(r.searched, 2 * 7 * H);
    assert.equal(r.constant, 2 * H, 'the o gate is 0.5 everywhere: r undefined');
    assert.equal(r.units.length, r.searched - r.constant);
    assert.deepEqual({ ...r.units[0]!, r: Math.round(r.units[0]!.r * 1e6) / 1e6 }, { layer: 0, unit: 2, quantity: 'c', r: 1 });
    const second = r.units[1]!;
    assert.ok(second.layer === 0 && second.quantity === 'f' && second.unit === 0 && second.r < -0.9, JSON.stringify(second));
    for (let k = 1; k < r.units.length; k++) assert.ok(Math.abs(r.units[k - 1]!.r) >= Math.abs(r.units[k]!.r));
    // direct: r = cov / (σ_v σ_x) in plain float64 sums, for every ranked unit
    for (const u of r.units) {
      const l = rec.layers[u.layer]!;
      const col = u.quantity === 'c' ? l.c! : u.quantity === 'tanh(c)' ? l.c!.map(Math.tanh) : u.quantity === 'h' ? l.h : l.gates[u.quantity]!;
      const v = Array.from({ length: T }, (_, t) => col[t * H + u.unit]!);
      const mv = v.reduce((a, b) => a + b) / T, mx = x.reduce((a, b) => a + b) / T;
      let sxy = 0, sxx = 0, syy = 0;
      for (let t = 0; t < T; t++) { sxy += (v[t]! - mv) * (x[t]! - mx); sxx += (x[t]! - mx) ** 2; syy += (v[t]! - mv) ** 2; }
      assert.ok(Math.abs(u.r - sxy / Math.sqrt(sxx * syy)) < 1e-9, `${u.quantity} ${u.layer}:${u.unit}`);
    }
    assert.equal(stats.rank(x).units.length, 10, 'top 10 by default');
    assert.ok(stats.rank(x, { layer: 1, top: 0 }).units.every((u) => u.layer === 1));
    assert.ok(stats.rank(x, { quantities: ['tanh(c)'], top: 3 }).units.every((u) => u.quantity === 'tanh(c)'));
  });

  it('0/1 features: the mean inside and outside; a feature that never changes is an error that says why', () => {
    const text = 'ab"cd"ef';
    const x = computeFeature(cps(text), { kind: 'string', lang: 'python' });
    const T = x.length, H = 3;
    const c = Float32Array.from({ length: T * H }, (_, k) => (k % H === 1 ? x[Math.floor(k / H)]! * 2 - 0.5 : (k % 5) / 5));
    const stats = new UnitStats({ layers: [{ c, h: c, gates: {} }] }, T, H);
    const best = stats.rank(x, { binary: true, quantities: ['c'] }).units[0]!;
    assert.equal(best.unit, 1);
    assert.ok(Math.abs(best.meanIn! - 1.5) < 1e-6 && Math.abs(best.meanOut! + 0.5) < 1e-6, JSON.stringify(best));
    userError(() => stats.rank(new Float64Array(T), { binary: true }), /the feature is 0 at every character \(it matches nothing\): r is undefined/);
    userError(() => stats.rank(new Float64Array(T).fill(1), { binary: true }), /covers the whole text/);
    userError(() => stats.rank(new Float64Array(T).fill(4)), /the feature is 4 at every character of the text: r is undefined/);
  });

  it('searchFeature: the inspector\'s search — the ranking, or the user\'s mistake as a sentence with what could be computed', () => {
    const text = 'x = "a(b"\nif (y):\n    z = [1, 2]\n';
    const chars = cps(text);
    const x = computeFeature(chars, { kind: 'column' });
    const T = x.length, H = 4;
    const stats = new UnitStats(trace(T, H, x), T, H);
    const col = searchFeature(stats, chars, { kind: 'column' }, { top: 3 });
    assert.equal(col.feature, 'column');
    assert.equal(col.binary, false);
    assert.equal(col.matches, null);
    assert.equal(col.message, null);
    assert.deepEqual(Array.from(col.x!), Array.from(x));
    assert.deepEqual(col.ranking!.units.map((u) => [u.layer, u.unit, u.quantity]).slice(0, 1), [[0, 2, 'c']]);
    assert.equal(col.ranking!.units.length, 3);
    assert.equal(col.ranking!.units[0]!.meanIn, undefined, 'a graded feature has no inside and outside');

    const re = searchFeature(stats, chars, { kind: 'regex', source: '\\(' });
    assert.equal(re.feature, 'regex /\\(/');
    assert.equal(re.binary, true);
    assert.equal(re.matches, 2, 'the two ( of the text');
    assert.ok(re.ranking!.units.every((u) => u.meanIn !== undefined && u.meanOut !== undefined));

    const bad = searchFeature(stats, chars, { kind: 'regex', source: '(a' });
    assert.equal(bad.x, null);
    assert.equal(bad.ranking, null);
    assert.match(bad.message!, /^The regular expression is not valid: .*/);

    const none = searchFeature(stats, chars, { kind: 'regex', source: 'QQQ' });
    assert.equal(none.matches, 0);
    assert.ok(none.x && none.x.every((v) => v === 0), 'a regex matching nothing: its feature is still there to show');
    assert.match(none.message!, /^The feature is 0 at every character \(it matches nothing\): r is undefined/);
    assert.match(searchFeature(stats, chars, { kind: 'regex', source: '[^]' }).message!, /covers the whole text/);
    assert.match(searchFeature(stats, chars, { kind: 'ranges', ranges: [[3, T + 2]] }).message!, /^The range 3:\d+ is not inside the text, which has \d+ characters/);
    assert.match(searchFeature(stats, cps('abc'.repeat(T).slice(0, T)), { kind: 'depth', lang: 'python' }).message!, /the feature is 0 at every character of the text/i);
    // a bug is not a user's mistake: it still throws
    assert.throws(() => searchFeature(stats, chars.slice(1), { kind: 'column' }), (e: unknown) => !(e instanceof GatescopeError));
  });

  it('series: one unit\'s values over the text, tanh(c) squashed', () => {
    const x = computeFeature(cps('ab\ncd\n'), { kind: 'column' });
    const T = x.length, H = 4;
    const rec = trace(T, H, x);
    const stats = new UnitStats(rec, T, H);
    assert.deepEqual(Array.from(stats.series(0, 2, 'c')), Array.from({ length: T }, (_, t) => rec.layers[0]!.c![t * H + 2]!));
    assert.deepEqual(Array.from(stats.series(1, 3, 'tanh(c)')), Array.from({ length: T }, (_, t) => Math.fround(Math.tanh(rec.layers[1]!.c![t * H + 3]!))));
    assert.throws(() => stats.series(2, 0, 'h'), /no h of unit 0 in layer 2/);
  });
});

