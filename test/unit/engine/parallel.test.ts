import * as assert from 'node:assert/strict';
import { decodeModelFile, encodeModelFile } from '../../../src/engine/modelfile';
import { nodeThreads } from '../../../src/engine/parallel/nodeThreads';
import { ParallelSteps } from '../../../src/engine/parallel/parallelSteps';
import { prepareRun, type PreparedRun } from '../../../src/engine/run';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../../src/engine/trainer';
import { CELL_TYPES } from '../../../src/engine/types';

const TEXT = 'the cat sat on the mat. the dog sat on the log. 🙂 '.repeat(10);
const small: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, hidden: 12, embed: 6, layers: 2, seq: 10, batch: 4, steps: 40, valFrac: 0.1, seed: 7 };

/** A run whose steps go through ParallelSteps: with a helper thread, or (host null) all shards on this thread. */
function parallelRun(o: TrainOptions, threads: boolean, resume?: Uint8Array): { run: PreparedRun; par: ParallelSteps } {
  const run = prepareRun(TEXT, o, resume ? decodeModelFile(resume) : undefined);
  const par = new ParallelSteps(run.net, run.tokens, run.trainer.plan, threads ? nodeThreads : null);
  run.trainer.useEngine(par);
  return { run, par };
}

describe('parallel training (data-parallel over lanes)', function () {
  this.timeout(120_000);
  const steps = 13; // crosses an epoch boundary: state reset and position wrap

  for (const cell of CELL_TYPES) {
    it(`${cell}: deterministic, the same with or without the helper thread, and close to one thread`, () => {
      const o = { ...small, cell };
      const a = parallelRun(o, true), b = parallelRun(o, true), solo = parallelRun(o, false);
      const one = prepareRun(TEXT, o);
      assert.ok(steps > a.run.trainer.plan.stepsPerEpoch, 'the test should cross an epoch');
      try {
        for (let i = 0; i < steps; i++) {
          const ra = a.run.trainer.trainStep(), rb = b.run.trainer.trainStep(), rs = solo.run.trainer.trainStep();
          const r1 = one.trainer.trainStep();
          assert.equal(ra.loss, rb.loss);
          assert.equal(ra.loss, rs.loss);
          // float32 sums in another order: relative 1e-4 on the loss after a dozen Adam steps
          assert.ok(Math.abs(ra.loss - r1.loss) <= 1e-4 * Math.abs(r1.loss), `step ${i}: ${ra.loss} vs ${r1.loss}`);
        }
        assert.deepEqual(a.run.net.params, b.run.net.params);
        assert.deepEqual(a.run.net.params, solo.run.net.params);
        let worst = 0;
        for (let i = 0; i < one.net.params.length; i++) worst = Math.max(worst, Math.abs(a.run.net.params[i]! - one.net.params[i]!));
        // Adam moves each parameter by ≤ lr per step; summation-order noise stays far below one step's move
        assert.ok(worst < 1e-4, `largest parameter difference ${worst}`);
        assert.ok(a.par.helperSteps + a.par.soloSteps === steps);
      } finally {
        a.par.dispose();
        b.par.dispose();
        solo.par.dispose();
      }
    });
  }

  it('exact resume: N parallel steps, save, load, N more == 2N parallel steps, bit for bit', () => {
    const straight = parallelRun(small, true);
    const first = parallelRun(small, true);
    try {
      for (let i = 0; i < 12; i++) straight.run.trainer.trainStep();
      for (let i = 0; i < 6; i++) first.run.trainer.trainStep();
      const bytes = encodeModelFile(first.run.net, first.run.vocab, {}, first.run.trainer.snapshot());
      const resumed = parallelRun(small, true, bytes);
      try {
        for (let i = 0; i < 6; i++) resumed.run.trainer.trainStep();
        assert.deepEqual(resumed.run.net.params, straight.run.net.params);
        assert.deepEqual(resumed.run.trainer.adam.m, straight.run.trainer.adam.m);
      } finally {
        resumed.par.dispose();
      }
    } finally {
      straight.par.dispose();
      first.par.dispose();
    }
  });

  it('detaching hands the carried state back: the next single-thread step continues the same chunk stream', () => {
    const a = parallelRun(small, false);
    try {
      for (let i = 0; i < 3; i++) a.run.trainer.trainStep();
      const carried = a.run.trainer.snapshot().carryH;
      a.run.trainer.useEngine(null);
      assert.deepEqual(a.run.trainer.snapshot().carryH, carried);
      assert.ok(carried.some((x) => x !== 0));
      assert.ok(Number.isFinite(a.run.trainer.trainStep().loss));
    } finally {
      a.par.dispose();
    }
  });

  it('refuses a batch that does not split into equal shards', () => {
    const run = prepareRun(TEXT, { ...small, batch: 3 });
    assert.throws(() => new ParallelSteps(run.net, run.tokens, run.trainer.plan, null), /equal shards/);
  });
});
