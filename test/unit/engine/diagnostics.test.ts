import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { combinedNorm, decodeHistory, encodeHistory, gateSaturation, HistoryRecorder, historyRow } from '../../../src/engine/diagnostics';
import { GatescopeError } from '../../../src/engine/errors';
import { decodeModelFile, encodeModelFile } from '../../../src/engine/modelfile';
import { prepareRun } from '../../../src/engine/run';
import { DEFAULT_TRAIN_OPTIONS, validateTrainOptions, type TrainOptions } from '../../../src/engine/trainer';
import { MAX_HISTORY_ROWS } from '../../../src/engine/types';
import { EXPLODE_PRESET } from '../../../src/cli/train';

const TEXT = 'the cat sat on the mat. the dog sat on the log. '.repeat(40);
const small: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, hidden: 12, embed: 6, layers: 2, seq: 10, batch: 4, steps: 50, valFrac: 0.1, seed: 5, statsEvery: 3 };

/** ‖x‖₂ in float64, the plain way. */
const norm = (xs: ArrayLike<number>): number => Math.sqrt(Array.from(xs).reduce((s, x) => s + x * x, 0));

describe('training diagnostics', () => {
  for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
    it(`per-tensor norms and update ratios match a direct computation (${cell}); √Σ grad² is the global norm`, () => {
      const run = prepareRun(TEXT, { ...small, cell, clip: 0.01 });
      const { net, trainer } = run;
      trainer.trainStep();
      trainer.trainStep();
      const before = Float64Array.from(net.params);
      // the unclipped gradient of step 3 is what a stats step reports: recompute it with the trainer's own unroll
      const r = trainer.trainStep();
      assert.ok(r.diagnostics, 'step 3 is a stats step (statsEvery 3)');
      const d = r.diagnostics;
      assert.equal(d.step, 3);
      const grads = Float64Array.from(net.grads); // clipped (0.5 < the norm): the reported grads are before clipping
      for (const t of net.layout.tensors) {
        const s = d.tensors[t.name]!;
        const after = net.params.subarray(t.offset, t.offset + t.size);
        const old = before.subarray(t.offset, t.offset + t.size);
        assert.ok(Math.abs(s.weight - norm(after)) <= 1e-12 * norm(after), `${t.name} weight`);
        const delta = Array.from(after, (x, i) => x - old[i]!);
        if (norm(old) > 0) assert.ok(Math.abs(s.update - norm(delta) / norm(old)) <= 1e-9 * s.update, `${t.name} update`);
        // the clipped gradient is the unclipped one times clipRatio
        const clipped = norm(grads.subarray(t.offset, t.offset + t.size));
        assert.ok(Math.abs(s.grad * r.clipRatio - clipped) <= 1e-6 * clipped + 1e-12, `${t.name} grad`);
      }
      assert.ok(r.clipRatio < 1, 'the test clips');
      const combined = combinedNorm(Object.values(d.tensors).map((s) => s.grad));
      assert.ok(Math.abs(combined - r.gradNorm) <= 1e-6 * r.gradNorm, `√Σ grad² = ${combined}, gradNorm ${r.gradNorm}`);
      assert.equal(d.saturation === null, cell === 'rnn_tanh');
      if (d.saturation) {
        assert.equal(d.saturation.length, 2);
        for (const s of d.saturation) assert.ok(s >= 0 && s <= 1);
      }
    });
  }

  it('the global-norm identity holds in float32 with the fast kernels, on every stats step', () => {
    const { trainer } = prepareRun(TEXT, { ...small, cell: 'lstm', hidden: 40, statsEvery: 1 });
    for (let i = 0; i < 10; i++) {
      const r = trainer.trainStep();
      const combined = combinedNorm(Object.values(r.diagnostics!.tensors).map((s) => s.grad));
      assert.ok(Math.abs(combined - r.gradNorm) <= 1e-6 * r.gradNorm, `step ${r.step}: ${combined} vs ${r.gradNorm}`);
    }
  });

  it('statsEvery must be a whole number ≥ 1 (commander refuses --stats-every 0 with the same rule)', () => {
    assert.throws(() => validateTrainOptions({ ...small, statsEvery: 0 }), /statsEvery must be a whole number from 1/);
    assert.throws(() => validateTrainOptions({ ...small, initScale: 0 }), /initScale/);
  });

  it('stats steps every statsEvery steps or when asked, none in between', () => {
    const { trainer } = prepareRun(TEXT, { ...small, statsEvery: 4 });
    const got = Array.from({ length: 9 }, (_, i) => trainer.trainStep(i === 5).diagnostics?.step ?? null);
    assert.deepEqual(got, [null, null, null, 4, null, 6, null, 8, null]);
  });

  it('gate saturation counts σ outside (0.05, 0.95) and |tanh| > 0.95 over the batch', () => {
    const { trainer } = prepareRun(TEXT, { ...small, cell: 'lstm', layers: 1 });
    trainer.trainStep();
    const u = (trainer as unknown as { unroll: Parameters<typeof gateSaturation>[0] }).unroll;
    const act = u.layers[0]!.act!;
    const H = u.net.cfg.hidden;
    // all i, f, o at 0.5 and g at 0: nothing saturated; then every g at 0.99: a quarter
    for (let r = 0; r < u.T * u.B; r++) for (let g = 0; g < 4; g++) act.fill(g === 2 ? 0 : 0.5, (r * 4 + g) * H, (r * 4 + g + 1) * H);
    assert.deepEqual(gateSaturation(u), [0]);
    for (let r = 0; r < u.T * u.B; r++) act.fill(-0.99, (r * 4 + 2) * H, (r * 4 + 3) * H);
    assert.deepEqual(gateSaturation(u), [0.25]);
  });

  it('the history is bounded: past MAX_HISTORY_ROWS every other row goes, spread over the whole run', () => {
    const names = ['a', 'b'];
    const h = new HistoryRecorder(names);
    for (let step = 1; step <= 5000; step++) {
      h.push(historyRow({ step, tensors: { a: { grad: 1, weight: 2, update: 1e-3 }, b: { grad: 1, weight: 2, update: NaN } }, saturation: null }, names, 1, 1, 1));
    }
    const rows = h.snapshot().rows;
    assert.ok(rows.length < MAX_HISTORY_ROWS && rows.length > MAX_HISTORY_ROWS / 4, `${rows.length} rows`);
    assert.equal(rows[0]!.step, 1);
    assert.ok(rows[rows.length - 1]!.step > 4900);
    assert.equal(rows[0]!.update[1], null);
  });

  it('the history travels with the model file, is checked when read, and a resume continues it', () => {
    const o = { ...small, statsEvery: 2 };
    const first = prepareRun(TEXT, o);
    for (let i = 0; i < 6; i++) first.trainer.trainStep();
    const file = decodeModelFile(encodeModelFile(first.net, first.vocab, {}, first.trainer.snapshot()));
    assert.deepEqual(file.history!.rows.map((r) => r.step), [2, 4, 6]);
    assert.deepEqual(file.history!.tensors, first.net.layout.tensors.map((t) => t.name));
    const resumed = prepareRun(TEXT, o, file);
    for (let i = 0; i < 4; i++) resumed.trainer.trainStep();
    assert.deepEqual(resumed.trainer.historySnapshot().rows.map((r) => r.step), [2, 4, 6, 8, 10]);

    const names = file.history!.tensors;
    const bad = (m: string): never => { throw new GatescopeError(m, 'bad-model-file'); };
    const good = JSON.parse(encodeHistory(file.history!)) as { rows: unknown[][] };
    assert.doesNotThrow(() => decodeHistory(JSON.stringify(good), names, bad));
    const hostile: [string, string][] = [
      ['[]', 'not a JSON object'],
      [JSON.stringify({ ...good, tensors: ['x'] }), 'tensors'],
      [JSON.stringify({ ...good, gap: -1 }), 'gap'],
      [JSON.stringify({ ...good, rows: [good.rows[1], good.rows[0]] }), 'step'],
      [JSON.stringify({ ...good, rows: [[1, 'x', 1, 1, [], []]] }), 'loss'],
      [JSON.stringify({ ...good, rows: [[1, 1, 1, 1, [1], []]] }), 'gradient norms'],
      [JSON.stringify({ ...good, rows: Array.from({ length: MAX_HISTORY_ROWS + 1 }, (_, i) => [i, 1, 1, 1, names.map(() => 1), names.map(() => 1)]) }), 'gatescope.history'],
      ['{"rows": [[[[[1]]]]]}', 'deeper'],
      ['{', 'not valid JSON'],
    ];
    for (const [json, want] of hostile) assert.throws(() => decodeHistory(json, names, bad), (e: Error) => e.message.includes(want), `${json.slice(0, 60)} → ${want}`);
  });

  it('the explode preset: without clipping the gradient norm jumps by ≥ 10× in a step; clipped at 1 it does not', function () {
    this.timeout(120_000);
    // a fixed text from the installed typescript package (a plain-text corpus the repository does not edit)
    const text = readFileSync(path.join(__dirname, '../../../node_modules/typescript/lib/lib.es5.d.ts'), 'utf8').slice(0, 60_000);
    const p = EXPLODE_PRESET;
    const norms = (clip: number): number[] => {
      const { trainer } = prepareRun(text, { ...DEFAULT_TRAIN_OPTIONS, cell: p.cell, layers: p.layers, hidden: p.hidden, embed: p.embed, seq: p.seq, batch: p.batch, lr: p.lr, initScale: p.initScale, clip, steps: p.steps, seed: 1 });
      const out: number[] = [];
      for (let i = 0; i < p.steps; i++) out.push(trainer.trainStep().gradNorm);
      return out;
    };
    const maxJump = (n: number[]): number => Math.max(...n.slice(1).map((x, i) => x / n[i]!));
    const free = norms(0), clipped = norms(p.clip);
    assert.ok(maxJump(free) >= 10, `unclipped: largest step-to-step jump ${maxJump(free)}`);
    assert.ok(maxJump(clipped) < 10, `clipped: largest step-to-step jump ${maxJump(clipped)}`);
  });
});
