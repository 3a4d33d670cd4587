import * as assert from 'node:assert/strict';
import type { TensorHistoryRow } from '../../../src/engine/types';
import { historyFromModel, TrainingRecorder } from '../../../src/panels/training';
import type { TrainProgress } from '../../../src/protocol/worker';
import { EXPLOSION_JUMP, layerGradSeries, layerOf, ratioGrid, trainingHints } from '../../../webview/data/diagnostics';
import { History } from '../../../webview/data/history';

const NAMES = ['encoder.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.weight_ih_l1', 'decoder.weight'];

function row(step: number, update: (number | null)[], grad = [1, 2, 2, 3, 4], gradNorm = 5): TensorHistoryRow {
  return { step, loss: 2, gradNorm, clipRatio: 1, grad, update };
}

describe('webview: the training diagnostics as the dashboard shows them', () => {
  it('ratioGrid: log10 of each tensor\'s update ratio, tensor by tensor, NaN where none was measured', () => {
    const g = ratioGrid([row(10, [1e-3, 1e-5, null, 1, 0.1]), row(20, [1e-2, 1e-6, 1e-4, 1, 0])], 5);
    assert.deepEqual(Array.from(g.subarray(0, 2)), [-3, -2]);
    assert.ok(Math.abs(g[2]! + 5) < 1e-6 && Math.abs(g[3]! + 6) < 1e-6);
    assert.ok(Number.isNaN(g[4]!), 'null: not measured');
    assert.equal(g[5], -4);
    assert.ok(Number.isNaN(g[9]!), 'a zero ratio has no logarithm');
  });

  it('groups the tensors by layer: each layer\'s gradient norm is the root of its tensors\' squared norms', () => {
    assert.equal(layerOf('rnn.weight_hh_l12'), 12);
    assert.equal(layerOf('decoder.weight'), null);
    const s = layerGradSeries(NAMES, [row(10, [0, 0, 0, 0, 0])]);
    assert.deepEqual(s.map((x) => x.label), ['embedding (encoder.*)', 'layer 0 (rnn.*_l0)', 'layer 1 (rnn.*_l1)', 'decoder (decoder.*)']);
    assert.ok(Math.abs(s[1]!.points[0]!.y - Math.sqrt(8)) < 1e-12);
  });

  it('says which tensor barely learns (below 1e-5 over the last five measurements) and where the norm exploded, with what clipping did', () => {
    const rows = [0, 1, 2, 3, 4, 5].map((i) => row(10 * i, [1e-3, i === 0 ? 1e-3 : 3e-6, 1e-3, 1e-3, 1e-3]));
    const steps = [10, 20, 30, 40], norms = [0.5, 0.6, 7.2, 7.0], clip = [1, 1, 0.69, 0.71];
    const hints = trainingHints(NAMES, rows, steps, norms, clip, 4);
    assert.equal(hints.length, 2);
    assert.match(hints[0]!.text, /^rnn\.weight_ih_l0 is barely learning: ‖Δθ‖\/‖θ‖ ≈ 3\.0e-6 over the last 5 measurements/);
    assert.match(hints[1]!.text, /^Exploding: the gradient norm jumped 12× at step 30 \(0\.600 → 7\.20\); clipping scaled that step's gradient by 0\.69/);
    // a jump just under the threshold says nothing; a healthy run says nothing
    assert.deepEqual(trainingHints(NAMES, rows.map((r) => ({ ...r, update: [1e-3, 1e-3, 1e-3, 1e-3, 1e-3] })), [1, 2], [1, EXPLOSION_JUMP * 0.99], [1, 1], 2), []);
  });

  it('the host\'s recorder and the webview\'s history gather the rows that come with the reports; a model\'s own history reads as a run', () => {
    const rec = new TrainingRecorder(3, 'run');
    const p = (step: number, rows: TensorHistoryRow[]): TrainProgress => ({
      step, totalSteps: 100, epoch: 0, loss: 2, valLoss: null, gradNorm: 1, clipRatio: 1, charsPerSec: 1, etaSeconds: 1,
      ...(rows.length ? { tensors: { names: NAMES, rows } } : {}),
    });
    rec.add(p(10, [row(10, [1, 1, 1, 1, 1])]));
    rec.add(p(15, []));
    rec.add(p(20, [row(20, [2, 2, 2, 2, 2])]));
    const h = rec.history();
    assert.deepEqual(h.tensors!.tensors, NAMES);
    assert.deepEqual(h.tensors!.rows.map((r) => r.step), [10, 20]);
    const web = new History({ ...h, tensors: null });
    web.push(p(30, [row(30, [3, 3, 3, 3, 3])]));
    assert.deepEqual(web.tensorRows.map((r) => r.step), [30]);
    const fromFile = historyFromModel(0, 'm', { tensors: NAMES, gap: 10, rows: [row(10, [1, 1, 1, 1, 1], undefined, 3), row(20, [1, 1, 1, 1, 1], undefined, 4)] });
    assert.deepEqual(Array.from(fromFile.gradNorm), [3, 4]);
    assert.equal(fromFile.finished?.reason, 'done');
    assert.ok(Number.isNaN(fromFile.valLoss[0]!), 'the file keeps no validation loss per row');
  });
});
