import * as assert from 'node:assert/strict';
import { type GatescopeError } from '../../../src/engine/errors';
import { decodeModelFile, encodeModelFile } from '../../../src/engine/modelfile';
import { prepareRun } from '../../../src/engine/run';
import { Rng } from '../../../src/engine/rng';
import { sample } from '../../../src/engine/sample';
import { Stepper } from '../../../src/engine/stepper';
import { traceTokens } from '../../../src/engine/trace';
import { DEFAULT_TRAIN_OPTIONS, MIN_SEQ, planData, type TrainOptions } from '../../../src/engine/trainer';
import { CELL_TYPES } from '../../../src/engine/types';

const TEXT = 'the cat sat on the mat. the dog sat on the log. 🙂 '.repeat(30);
const small: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, hidden: 12, embed: 6, layers: 2, seq: 10, batch: 4, steps: 20, valFrac: 0.1, seed: 5 };

describe('training', () => {
  for (const cell of CELL_TYPES) {
    it(`exact resume (${cell}): N steps, save, load, N more == 2N steps, bit for bit`, () => {
      const o = { ...small, cell };
      const straight = prepareRun(TEXT, o);
      for (let i = 0; i < 12; i++) straight.trainer.trainStep();

      const first = prepareRun(TEXT, o);
      for (let i = 0; i < 6; i++) first.trainer.trainStep();
      const bytes = encodeModelFile(first.net, first.vocab, {}, first.trainer.snapshot());
      const resumed = prepareRun(TEXT, o, decodeModelFile(bytes));
      assert.deepEqual(resumed.warnings, []);
      assert.equal(resumed.trainer.step, 6);
      for (let i = 0; i < 6; i++) resumed.trainer.trainStep();

      assert.deepEqual(resumed.net.params, straight.net.params);
      assert.deepEqual(resumed.trainer.adam.m, straight.trainer.adam.m);
      // and the run really moved: the parameters differ from the 6-step ones
      assert.notDeepEqual(first.net.params, straight.net.params);
    });
  }

  it('crosses epoch boundaries (state reset, position wraps) and the same seed gives the same run', () => {
    const o = { ...small, steps: 0 };
    const a = prepareRun(TEXT, o);
    const steps = a.trainer.plan.stepsPerEpoch * 2 + 3;
    let last = 0;
    for (let i = 0; i < steps; i++) last = a.trainer.trainStep().loss;
    assert.equal(a.trainer.epoch, 2);
    const b = prepareRun(TEXT, o);
    for (let i = 0; i < steps; i++) b.trainer.trainStep();
    assert.deepEqual(a.net.params, b.net.params);
    const c = prepareRun(TEXT, { ...o, seed: 6 });
    assert.notDeepEqual(a.net.params, c.net.params);
    assert.ok(Number.isFinite(last));
  });

  it('learns: the loss falls well below uniform guessing, and validation follows', () => {
    const run = prepareRun(TEXT, { ...small, layers: 1, hidden: 32, lr: 1e-2 });
    const uniform = Math.log(run.vocab.size);
    const before = run.trainer.validate();
    let loss = Infinity;
    for (let i = 0; i < 150; i++) loss = run.trainer.trainStep().loss;
    const after = run.trainer.validate();
    assert.ok(loss < 0.5 * uniform, `training loss ${loss} vs uniform ${uniform}`);
    assert.ok(after < before - 1, `validation ${before} → ${after}`);
  });

  it('stops on a non-finite loss, names the tensor, and keeps the last good parameters', () => {
    const run = prepareRun(TEXT, small);
    run.trainer.trainStep();
    const good = run.net.params.slice();
    const t = run.net.layout.byName.get('rnn.weight_hh_l1')!;
    run.net.params[t.offset + 3] = NaN;
    good[t.offset + 3] = NaN;
    assert.throws(() => run.trainer.trainStep(), (e: GatescopeError) =>
      e.code === 'non-finite' && /step 2/.test(e.message) && /rnn\.weight_hh_l1\[3\] = NaN/.test(e.message));
    assert.deepEqual(run.net.params, good, 'no update after a non-finite gradient');
    assert.equal(run.trainer.step, 1);
  });

  it('clips element-wise when asked', () => {
    const run = prepareRun(TEXT, { ...small, clipMode: 'value', clip: 1e-3 });
    const r = run.trainer.trainStep();
    assert.ok(r.clipRatio < 1);
    assert.ok(run.net.grads.every((g) => Math.abs(g) <= Math.fround(1e-3)), 'float32 holds the clip bound rounded');
  });

  describe('short texts and bad options', () => {
    it('shrinks the batch, then seq, with warnings', () => {
      const p = planData(100, 64, 32, 0);
      assert.equal(p.seq, 64);
      assert.equal(p.batch, 1);
      assert.match(p.warnings.join(), /batch shrunk to 1/);
      const q = planData(30, 64, 32, 0.05);
      assert.equal(q.seq, 29);
      assert.match(q.warnings.join(), /seq shrunk to 29/);
      assert.match(q.warnings.join(), /training without a validation loss/);
      assert.ok(q.stepsPerEpoch >= 1);
    });
    it('refuses a text shorter than the minimum, saying how long it must be', () => {
      assert.throws(() => planData(MIN_SEQ, 64, 32, 0), (e: GatescopeError) =>
        e.code === 'too-short' && e.message.includes(`at least ${MIN_SEQ + 1}`));
      assert.throws(() => prepareRun('abc', small), /too short to train on: it has 3 characters/);
    });
    it('refuses NaN learning rates, negative and fractional sizes', () => {
      assert.throws(() => prepareRun(TEXT, { ...small, lr: NaN }), /learning rate must be a positive number, not NaN/);
      assert.throws(() => prepareRun(TEXT, { ...small, hidden: -3 }), /hidden size must be a whole number from 1/);
      assert.throws(() => prepareRun(TEXT, { ...small, seq: 2.5 }), /seq must be a whole number/);
      assert.throws(() => prepareRun(TEXT, { ...small, valFrac: 0.7 }), /validation fraction/);
      assert.throws(() => prepareRun(TEXT, { ...small, cell: 'transformer' as never }), /unknown cell type "transformer"/);
    });
    it('refuses to resume on text with characters outside the model\'s vocabulary', () => {
      const run = prepareRun(TEXT, small);
      const model = decodeModelFile(encodeModelFile(run.net, run.vocab, {}, run.trainer.snapshot()));
      assert.throws(() => prepareRun(TEXT + 'Z', small, model), (e: GatescopeError) => e.code === 'unknown-chars' && e.message.includes("'Z'"));
    });
  });
});

describe('stepper, trace and sampling', () => {
  for (const cell of CELL_TYPES) {
    it(`the stepper's one-character path equals the trace (${cell})`, () => {
      const run = prepareRun(TEXT, { ...small, cell });
      for (let i = 0; i < 5; i++) run.trainer.trainStep();
      const tokens = run.vocab.encode('the dog 🙂 sat');
      const trace = traceTokens(run.net, tokens, { fullProbs: true });
      const probs = trace.probs;
      assert.ok(probs !== null, 'fullProbs keeps the whole distribution');
      const s = new Stepper(run.net);
      const H = run.net.cfg.hidden, V = run.vocab.size;
      tokens.forEach((tok, t) => {
        s.step(tok);
        for (let j = 0; j < H; j++) {
          trace.layers.forEach((layer, l) => {
            assert.ok(Math.abs(layer.h[t * H + j]! - s.layers[l]!.h[j]!) < 1e-6);
            if (layer.c) assert.ok(Math.abs(layer.c[t * H + j]! - s.layers[l]!.c![j]!) < 1e-6);
          });
        }
        for (let v = 0; v < V; v++) assert.ok(Math.abs(probs[t * V + v]! - s.probs[v]!) < 1e-6);
      });
      // the last position has no target, so nothing flows back into the top layer's last state
      assert.equal(trace.layers[1]!.gradH[tokens.length - 1], 0);
      assert.ok(trace.layers[1]!.gradH[0]! > 0);
    });
  }

  it('samples deterministically per seed; greedy ignores the seed; top-1 equals greedy', () => {
    const run = prepareRun(TEXT, { ...small, layers: 1 });
    for (let i = 0; i < 30; i++) run.trainer.trainStep();
    const gen = (o: Partial<Parameters<typeof sample>[2]>, seed: number): string =>
      [...sample(run.net, run.vocab, { prime: 'the ', length: 40, temperature: 1, topK: 0, greedy: false, ...o }, new Rng(seed))].join('');
    assert.equal(gen({}, 1), gen({}, 1));
    assert.notEqual(gen({}, 1), gen({}, 2));
    assert.equal(gen({ greedy: true }, 1), gen({ greedy: true }, 2));
    assert.equal(gen({ topK: 1 }, 3), gen({ greedy: true }, 9));
    assert.equal([...gen({ temperature: 0.7 }, 4)].length, 40);
    assert.ok([...gen({}, 5)].every((ch) => run.vocab.has(ch)));
    assert.throws(() => gen({ temperature: 0 }, 1), /temperature must be a positive number/);
    assert.throws(() => gen({ prime: 'Q' }, 1), /not in the model's vocabulary/);
  });
});
