import * as assert from 'node:assert/strict';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { traceTokens } from '../../../src/engine/trace';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';
import type { TraceData } from '../../../src/protocol/trace';
import { cellStep, describeStep, unitHistogram } from '../../../webview/data/cellDiagram';

/** A real engine trace of a small 2-layer model, as it crosses to the webview. */
function traceOf(cell: CellType): TraceData {
  const rng = new Rng(4);
  const net = new Network({ cell, vocabSize: 5, embed: 3, hidden: 6, layers: 2 });
  net.initialize(rng);
  for (let i = 0; i < net.params.length; i++) net.params[i] *= 3;
  const tokens = Int32Array.from({ length: 12 }, () => rng.nextUint32() % 5);
  const t = traceTokens(net, tokens);
  return { cell, vocab: ['a', 'b', '🙂', ' ', '\n'], hidden: 6, tokens: t.tokens, loss: t.loss, probs: t.probs, layers: t.layers };
}

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

describe('cell diagram data', () => {
  for (const cell of CELL_TYPES) {
    it(`${cell}: one unit's numbers are the trace's, and the step's equations hold`, () => {
      const tr = traceOf(cell);
      const H = 6, t = 7, j = 4, l = tr.layers[1]!;
      const s = cellStep(tr, 1, t, j);
      assert.equal(s.char, tr.vocab[tr.tokens[t]!]);
      const v = s.values;
      close(v.h, l.h[t * H + j]!, 'h');
      close(v.hPrev, l.h[(t - 1) * H + j]!, 'h_prev');
      if (v.cell === 'lstm') {
        for (const g of ['i', 'f', 'g', 'o'] as const) close(v[g], l.gates[g]![t * H + j]!, g);
        close(v.cPrev, l.c![(t - 1) * H + j]!, 'c_prev');
        close(v.c, l.c![t * H + j]!, 'c');
        close(v.c, v.f * v.cPrev + v.i * v.g, 'c = f·c_prev + i·g');
        close(v.c, v.cPrev - v.forgotten + v.written, 'c = c_prev − forgotten + written');
        close(v.h, v.o * Math.tanh(v.c), 'h = o·tanh(c)');
      } else if (v.cell === 'gru') {
        for (const g of ['r', 'z', 'n'] as const) close(v[g], l.gates[g]![t * H + j]!, g);
        close(v.h, v.kept + v.replaced, 'h = z·h_prev + (1 − z)·n');
      } else {
        assert.equal(v.cell, cell, 'a vanilla RNN says which activation it has');
        if (cell === 'rnn_relu') assert.ok(l.h.every((x) => x >= 0), 'h = max(0, ·)');
        assert.match(describeStep(s), new RegExp(`one ${cell === 'rnn_relu' ? 'ReLU' : 'tanh'} layer`));
      }
    });
  }

  it('the mean over units keeps the LSTM identity; step 0 reads the zero initial state', () => {
    const tr = traceOf('lstm');
    const m = cellStep(tr, 0, 5, null).values;
    assert.equal(m.cell, 'lstm');
    if (m.cell !== 'lstm') return;
    close(m.c, m.cPrev - m.forgotten + m.written, 'mean identity');
    const first = cellStep(tr, 0, 0, 2).values;
    assert.ok(first.cell === 'lstm' && first.cPrev === 0 && first.hPrev === 0 && first.forgotten === 0);
    assert.throws(() => cellStep(tr, 0, 12, 0), /outside the trace/);
    assert.throws(() => cellStep(tr, 2, 0, 0), /layer 2 does not exist/);
  });

  it('histograms a quantity over units, and says every number in one sentence', () => {
    const f = Float32Array.from([0.05, 0.5, 0.95, 1, 0, 0.51]);
    assert.deepEqual(unitHistogram(f, 6, 0, 0, 1, 4), [2, 0, 2, 2]);
    const s = describeStep(cellStep(traceOf('lstm'), 1, 3, 0));
    assert.match(s, /^unit 0, layer 1, step 3 reading ".*": forget gate f -?\d\.\d{3} keeps c from .* gives h -?\d\.\d{3}\.$/u);
  });
});
