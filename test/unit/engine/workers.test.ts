import * as assert from 'node:assert/strict';
import { GatescopeError } from '../../../src/engine/errors';
import { decodeModelFile, encodeModelFile } from '../../../src/engine/modelfile';
import { attachWorkers } from '../../../src/engine/parallel/attach';
import { nodeThreads } from '../../../src/engine/parallel/nodeThreads';
import { AUTO_WORKERS_CAP, resolveWorkers, resumeWorkers } from '../../../src/engine/parallel/workers';
import { prepareRun } from '../../../src/engine/run';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../../src/engine/trainer';
import { MAX_WORKERS } from '../../../src/engine/types';

const TEXT = 'the cat sat on the mat. the dog sat on the log. 🙂 '.repeat(10);
const small: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, hidden: 12, embed: 6, layers: 2, seq: 10, batch: 4, steps: 40, valFrac: 0.1, seed: 7 };

describe('workers: how many, and recorded for a resume', function () {
  this.timeout(60_000);

  it('resolveWorkers: an explicit count as it is; auto = the cores less the reserve, at most the cap, a divisor of the batch', () => {
    assert.equal(resolveWorkers(3, 2, 32), 3, 'explicit, even when it does not split the batch (attachWorkers warns)');
    assert.equal(resolveWorkers(1, 64, 32), 1);
    assert.equal(resolveWorkers('auto', 2, 32), 2);
    assert.equal(resolveWorkers('auto', 1, 32), 1);
    assert.equal(resolveWorkers('auto', 64, 32), AUTO_WORKERS_CAP, 'capped');
    assert.equal(AUTO_WORKERS_CAP, 8);
    assert.equal(resolveWorkers('auto', 6, 32), 4, 'the largest count ≤ 6 that divides 32');
    assert.equal(resolveWorkers('auto', 8, 6), 6);
    assert.equal(resolveWorkers('auto', 4, 6), 3);
    assert.equal(resolveWorkers('auto', 16, 7), 7);
    assert.equal(resolveWorkers('auto', 6, 7), 1, 'a prime batch larger than the cores: one worker, never a count that does not split it');
    assert.equal(resolveWorkers('auto', 2, 32, 1), 1, 'the editor keeps a core');
    assert.equal(resolveWorkers('auto', 5, 32, 1), 4);
    assert.equal(resolveWorkers('auto', 1, 32, 1), 1, 'at least one worker');
    assert.equal(resolveWorkers('auto', 0, 32), 1, 'os.cpus() can be empty');
    for (let cores = 0; cores <= 70; cores++) {
      for (const batch of [1, 2, 3, 5, 6, 12, 32, 48, 100]) {
        const n = resolveWorkers('auto', cores, batch, cores % 2);
        assert.ok(n >= 1 && n <= AUTO_WORKERS_CAP && batch % n === 0, `cores ${cores}, batch ${batch}: ${n}`);
      }
    }
  });

  it('resumeWorkers: auto continues with the recorded count; a file without one notes it, an explicit other count warns', () => {
    const kept = (workers: number) => ({ workers, note: null, warning: null });
    assert.deepEqual(resumeWorkers('auto', 16, 2, 32), kept(16), 'the recorded count, even above the cap and the cores');
    assert.deepEqual(resumeWorkers('auto', 1, 8, 32), kept(1));
    assert.deepEqual(resumeWorkers('auto', 3, 8, 32), kept(8), 'the batch changed: the recorded count no longer splits it');
    const unknown = resumeWorkers('auto', undefined, 4, 32, 1);
    assert.equal(unknown.workers, 2);
    assert.equal(unknown.warning, null);
    assert.match(unknown.note!, /does not record how many workers trained it.*resuming on 2 \(auto\).*differs by float rounding/);
    const other = resumeWorkers(4, 2, 8, 32);
    assert.equal(other.workers, 4);
    assert.equal(other.note, null);
    assert.match(other.warning!, /resuming on 4 workers a run trained on 2: .*differs by float rounding from an uninterrupted run/);
    assert.deepEqual(resumeWorkers(2, 2, 8, 32), kept(2));
    assert.deepEqual(resumeWorkers(2, undefined, 8, 32), kept(2));
  });

  it('attachWorkers records the count in the training state it saves: the shards, or 1 when the batch does not split', () => {
    for (const [asked, batch, recorded] of [[2, 4, 2], [1, 4, 1], [3, 4, 1]] as const) {
      const run = prepareRun(TEXT, { ...small, batch });
      const parallel = attachWorkers(run, asked, nodeThreads);
      try {
        run.trainer.trainStep();
        assert.equal(parallel.workers, recorded);
        assert.equal(parallel.warning !== null, asked !== recorded, String(parallel.warning));
        const m = decodeModelFile(encodeModelFile(run.net, run.vocab, {}, parallel.snapshot()));
        assert.equal(m.training?.options.workers, recorded);
        assert.equal(m.training?.step, 1);
      } finally {
        parallel.detach();
        parallel.detach();
      }
    }
  });

  it('fewer threads than workers compute the same numbers (a resume on a smaller machine), bit for bit', () => {
    const wide = prepareRun(TEXT, small), narrow = prepareRun(TEXT, small), one = prepareRun(TEXT, small);
    const a = attachWorkers(wide, 4, nodeThreads), b = attachWorkers(narrow, 4, nodeThreads, 2), c = attachWorkers(one, 4, nodeThreads, 1);
    try {
      for (let i = 0; i < 6; i++) {
        wide.trainer.trainStep();
        narrow.trainer.trainStep();
        one.trainer.trainStep();
      }
      assert.deepEqual(narrow.net.params, wide.net.params);
      assert.deepEqual(one.net.params, wide.net.params);
      assert.equal(c.snapshot().options.workers, 4);
    } finally {
      a.detach();
      b.detach();
      c.detach();
    }
  });

  it('a model file\'s worker count is checked when it is read: a whole number from 1 to MAX_WORKERS, or absent (older files)', () => {
    const run = prepareRun(TEXT, small);
    run.trainer.trainStep();
    const state = run.trainer.snapshot();
    assert.equal(decodeModelFile(encodeModelFile(run.net, run.vocab, {}, state)).training?.options.workers, undefined);
    assert.equal(decodeModelFile(encodeModelFile(run.net, run.vocab, {}, { ...state, options: { ...state.options, workers: MAX_WORKERS } })).training?.options.workers, MAX_WORKERS);
    for (const bad of [0, -1, 1.5, MAX_WORKERS + 1, 1e9, '2', null]) {
      const bytes = encodeModelFile(run.net, run.vocab, {}, { ...state, options: { ...state.options, workers: bad as number } });
      assert.throws(() => decodeModelFile(bytes), (e: unknown) => e instanceof GatescopeError && e.code === 'bad-model-file' &&
        /workers is .*, not a whole number from 1 to 64/.test(e.message), String(bad));
    }
  });
});
