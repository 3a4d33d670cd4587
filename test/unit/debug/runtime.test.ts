import * as assert from 'node:assert/strict';
import { ExprError } from '../../../src/debug/expr/error';
import { SequenceRuntime, type Stop } from '../../../src/debug/runtime';
import { positionAt, TextMap } from '../../../src/debug/textmap';
import { Timeline } from '../../../src/debug/timeline';
import { traceTokens } from '../../../src/engine/trace';
import { Fixture, nodeFiles, TEXT } from './helpers';

const CHARS = [...TEXT];

describe('debugger text map: characters to document positions', () => {
  it('counts code points as steps and UTF-16 units as columns', () => {
    const m = new TextMap('a🙂b\ncd');
    assert.equal(m.length, 6);
    assert.deepEqual(m.position(1), { line: 0, column: 1, endColumn: 3, offset: 1 });
    assert.deepEqual(m.position(2), { line: 0, column: 3, endColumn: 4, offset: 3 });
    assert.deepEqual(m.position(3), { line: 0, column: 4, endColumn: 4, offset: 4 }); // the newline: end of its line, no width
    assert.deepEqual(m.position(4), { line: 1, column: 0, endColumn: 1, offset: 5 });
    assert.equal(m.charAt(1), '🙂');
    assert.equal(m.offsetOf(6), 7);
  });

  it('ends lines at \\n, \\r\\n and a lone \\r, as VS Code does', () => {
    const m = new TextMap('ab\r\ncd\ref\n');
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((t) => m.lineOf(t)), [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    assert.deepEqual(m.position(2), { line: 0, column: 2, endColumn: 2, offset: 2 }); // \r of \r\n
    assert.deepEqual(m.position(3), { line: 0, column: 2, endColumn: 2, offset: 3 }); // \n of \r\n
    assert.equal(m.firstTokenOnLine(1), 4);
    assert.equal(m.firstTokenOnLine(2), 7);
    assert.equal(m.firstTokenOnLine(3), undefined); // after the final newline: no character
    assert.equal(m.lastTokenOnLineOf(0), 3);
    assert.equal(m.lastTokenOnLineOf(8), 9);
    assert.ok(m.startsLine(4) && !m.startsLine(5));
    assert.deepEqual(positionAt('ab\r\ncd\ref', 8), { line: 2, column: 1 });
  });

  it('places a selection in its document', () => {
    const m = new TextMap('dog\nab', { offset: 30, line: 1, column: 4 });
    assert.deepEqual(m.position(0), { line: 1, column: 4, endColumn: 5, offset: 30 });
    assert.deepEqual(m.position(4), { line: 2, column: 0, endColumn: 1, offset: 34 });
    assert.equal(m.firstTokenOnLine(1), 0);
    assert.equal(m.firstTokenOnLine(0), undefined);
  });
});

describe('debugger timeline: step back is bit-identical, memory is bounded', () => {
  let fx: Fixture;
  before(() => (fx = new Fixture('lstm', 2)));
  after(() => fx.dispose());

  /** Every buffer of the stepper, copied: states, all internals of the last step, logits and probs. */
  const capture = (tl: Timeline): Float32Array[] => [
    ...tl.stepper.layers.flatMap((l) => [l.h, l.c!, l.act!, l.xp, l.hp, l.tc!].map((a) => Float32Array.from(a))),
    Float32Array.from(tl.stepper.logits), Float32Array.from(tl.stepper.probs),
  ];
  const bits = (arrays: Float32Array[]): number[] => arrays.flatMap((a) => Array.from(new Uint32Array(a.buffer)));

  it('going back to any t by checkpoint and replay gives the very same bits as the first pass', () => {
    const tokens = fx.file.vocab.encode(TEXT);
    const tl = new Timeline(fx.file.net, tokens, 3000);
    assert.ok(tl.interval > 1, `K = ${tl.interval}`);
    const firstPass: number[][] = [];
    for (let t = 0; t < tokens.length; t++) {
      tl.advance();
      firstPass.push(bits(capture(tl)));
    }
    for (const t of [0, 5, tl.interval - 1, tl.interval, 2 * tl.interval + 1, tokens.length - 2, 3, tokens.length - 1]) {
      tl.goTo(t);
      assert.deepEqual(bits(capture(tl)), firstPass[t], `t=${t}`);
    }
  });

  it('keeps checkpoints within the budget for a long text', () => {
    const tokens = fx.file.vocab.encode(TEXT.repeat(50));
    const budget = 16 * 1024;
    const tl = new Timeline(fx.file.net, tokens, budget);
    tl.goTo(tokens.length - 1);
    assert.ok(tl.checkpointBytes <= budget, `${tl.checkpointBytes} bytes`);
    assert.ok(tl.checkpointBytes > budget / 4);
    tl.goTo(17);
    tl.goTo(tokens.length - 1);
    assert.ok(tl.checkpointBytes <= budget);
  });

  it('replays interventions after their step, and drops the checkpoints they make stale', () => {
    const tokens = fx.file.vocab.encode(TEXT);
    const tl = new Timeline(fx.file.net, tokens, 3000);
    tl.goTo(20);
    const plain = bits(capture(tl));
    tl.goTo(10);
    assert.equal(tl.setUnit(1, 'h', 2, 0.3), Math.fround(0.3));
    assert.equal(tl.diverged, true);
    tl.goTo(20);
    const edited = bits(capture(tl));
    assert.notDeepEqual(edited, plain);
    tl.goTo(4);
    assert.equal(tl.diverged, false);
    tl.goTo(20);
    assert.deepEqual(bits(capture(tl)), edited);
    tl.goTo(10);
    assert.equal(tl.stepper.layers[1]!.h[2], Math.fround(0.3));
    assert.deepEqual(tl.interventions(), [{ t: 10, layer: 1, state: 'h', unit: 2, value: 0.3 }]);
    assert.throws(() => tl.setUnit(0, 'c', 16, 1), /unit 16 is out of range/);
  });
});

describe('debugger runtime', () => {
  let fx: Fixture;
  before(() => (fx = new Fixture('lstm', 2)));
  after(() => fx.dispose());

  const load = async (rt: SequenceRuntime, extra = {}): Promise<SequenceRuntime> => {
    await rt.load({ program: fx.program, model: fx.model, ...extra });
    return rt;
  };

  it('runs a long continue in slices, yielding to the host between them', async () => {
    let yields = 0;
    const rt = await load(new SequenceRuntime(nodeFiles, { sliceMs: 0, yieldToHost: async () => void yields++ }));
    await rt.start(true);
    const stop = await rt.continue();
    assert.equal(stop.reason, 'end');
    assert.equal(rt.position.t, CHARS.length - 1);
    assert.ok(yields >= CHARS.length - 2, `${yields} yields`);
  });

  it('pauses a run at the next slice boundary and refuses other commands while running', async () => {
    const rt: SequenceRuntime = await load(new SequenceRuntime(nodeFiles, {
      sliceMs: 0,
      yieldToHost: async () => {
        if (rt.position.t === 10) {
          await assert.rejects(rt.next(), /running: pause it first/);
          assert.throws(() => rt.setUnit(0, 'h', 0, 1), /running/);
          rt.pause();
        }
      },
    }));
    await rt.start(true);
    const stop: Stop = await rt.continue();
    assert.equal(stop.reason, 'pause');
    assert.equal(rt.position.t, 10);
  });

  it('reverse continue goes back to the previous place a breakpoint would stop', async () => {
    const rt = await load(new SequenceRuntime(nodeFiles));
    await rt.start(true);
    const line2 = CHARS.indexOf('\n') + 1;
    const statuses = rt.setLineBreakpoints([{ line: 1 }]);
    assert.equal(statuses[0]!.verified, true);
    const stop = await rt.continue();
    assert.equal(stop.reason, 'breakpoint');
    assert.equal(rt.position.t, line2);
    await rt.continue();
    assert.equal(rt.position.t, CHARS.length - 1);
    const back = await rt.reverseContinue();
    assert.equal(back.reason, 'breakpoint');
    assert.equal(rt.position.t, line2);
    rt.setExpressionBreakpoints([{ expression: "ch == 'c'" }]);
    await rt.reverseContinue();
    assert.equal(rt.position.t, CHARS.indexOf('c'));
    assert.equal((await rt.reverseContinue()).reason, 'entry');
    assert.equal(rt.position.t, 0);
  });

  it('step out runs to the end of the line; step into walks the layers; step back undoes both', async () => {
    const rt = await load(new SequenceRuntime(nodeFiles));
    await rt.start(true);
    await rt.stepIn();
    assert.deepEqual(rt.position, { t: 0, layer: 0 });
    await rt.next();
    assert.deepEqual(rt.position, { t: 0, layer: 1 });
    await rt.next();
    assert.deepEqual(rt.position, { t: 1, layer: null });
    await rt.stepIn();
    await rt.stepBack();
    assert.deepEqual(rt.position, { t: 1, layer: null });
    await rt.stepOut();
    assert.deepEqual(rt.position, { t: CHARS.indexOf('\n'), layer: null });
    await rt.stepBack();
    assert.deepEqual(rt.position, { t: CHARS.indexOf('\n') - 1, layer: null });
  });

  it('evaluates over the live state: values agree with the trace, vectors are copies', async () => {
    const rt = await load(new SequenceRuntime(nodeFiles));
    await rt.start(true);
    for (let k = 0; k < 7; k++) await rt.next();
    const trace = traceTokens(fx.file.net, fx.file.vocab.encode(TEXT));
    const c = rt.evaluate('layer(0).c') as Float32Array;
    assert.deepEqual(Array.from(c), Array.from(trace.layers[0]!.c!.subarray(7 * 16, 8 * 16)));
    await rt.next();
    assert.deepEqual(Array.from(c), Array.from(trace.layers[0]!.c!.subarray(7 * 16, 8 * 16)), 'a copy, not a live view');
    assert.equal(rt.evaluate('t'), 8);
    assert.equal(rt.evaluate('ch'), CHARS[8]);
    assert.equal(rt.evaluate('next'), CHARS[9]);
    const p = rt.prediction(3);
    assert.equal(p.top.length, 3);
    assert.ok(p.top[0]!.p >= p.top[1]!.p && p.top[1]!.p >= p.top[2]!.p);
    assert.equal(rt.evaluate('top1'), p.top[0]!.ch);
    assert.equal(p.next!.loss, rt.evaluate('loss'));
    assert.throws(() => rt.evaluate('gradC[0]'), ExprError);
  });

  it('says why gradient norms are missing when the text is too long for the launch trace', async () => {
    const rt = await load(new SequenceRuntime(nodeFiles, { gradientBudget: 1000 }));
    await rt.start(true);
    const g = rt.gradients(0);
    assert.equal(g.available, false);
    assert.match(rt.gradientsMissing, /gradient norms are computed for up to \d+ characters with this model, and the text has 68: step through a selection/);
    assert.throws(() => rt.evaluate('gradH > 1'), /gradient norms are computed for up to/);
    const statuses = rt.setExpressionBreakpoints([{ expression: 'gradH > 1' }]);
    assert.match(statuses[0]!.message!, /^bad condition: gradient norms are computed/);
  });

  it('names the problem with a launch: a missing file, an empty selection, unknown characters', async () => {
    const rt = new SequenceRuntime(nodeFiles);
    await assert.rejects(rt.load({ program: fx.program, model: '/nope/m.safetensors' }), /cannot read the model \/nope\/m\.safetensors/);
    await assert.rejects(rt.load({ program: fx.program, model: fx.model, text: '' }), /the selection is empty/);
    await assert.rejects(rt.load({ program: fx.program, model: fx.model, text: 'cat\tdog' }), /1 character is not in the model's vocabulary: tab \(U\+0009\)/);
    await assert.rejects(rt.load({ program: fx.program, model: fx.program }), /not a usable Gatescope\/PyTorch model|safetensors/);
  });

  it('places a selection by reading the document when only its offset is given', async () => {
    const start = TEXT.indexOf('ate');
    const rt = await load(new SequenceRuntime(nodeFiles), { text: 'ate the', startOffset: start });
    assert.deepEqual(rt.positionOf(0), { line: 1, column: 11, endColumn: 12, offset: start }); // 'the dog 🙂 ' is 11 UTF-16 units
  });

  for (const cell of ['gru', 'rnn_tanh', 'rnn_relu'] as const) {
    it(`speaks the ${cell} cell's language: its gates, no c`, async () => {
      const other = new Fixture(cell, 1, TEXT, 5);
      try {
        const rt = new SequenceRuntime(nodeFiles);
        await rt.load({ program: other.program, model: other.model });
        await rt.start(true);
        assert.deepEqual(rt.gateNames, cell === 'gru' ? ['r', 'z', 'n'] : []);
        if (cell === 'gru') assert.equal(typeof rt.evaluate('z[0] + r[1] + n[2]'), 'number');
        assert.throws(() => rt.evaluate('c[0]'), new RegExp(`c is an LSTM's cell state; this model is ${cell}: use h`));
        assert.throws(() => rt.evaluate('f[0]'), cell === 'gru' ? /f is not a gate of a GRU \(its gates are r, z, n\)/
          : new RegExp(`not a gate of a plain RNN \\(it has none: h = ${cell === 'rnn_relu' ? 'relu' : 'tanh'}\\(`));
        if (cell === 'rnn_relu') assert.equal(rt.evaluate('min(h) >= 0'), true);
        assert.throws(() => rt.setUnit(0, 'c', 0, 1), /only LSTM layers have a cell state/);
        assert.equal(typeof rt.evaluate('gradH'), 'number');
      } finally {
        other.dispose();
      }
    });
  }
});
